"""A source's (or a metric's) `where` changed between runs: a figure kept under the old filter is
never compared with the new scope's in silence (foundation/measurement_scopes.py,
stages/stored_measurements.py, stages/changed_scopes.py).

Each case runs a real workflow twice on a real store (SQLite, and PostgreSQL where the store's
SQL decides): the second run's export holds only its own week, so the previous week can only
come from what the first run kept. Figures by hand: alpha's weeks reach 1000 then 1100, beta's
5000 then 5200."""

from __future__ import annotations

import csv
import subprocess
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from cmflow_command import cmflow_in_process

from cmflow.foundation.measurement_scopes import SCOPE_CHANGED_REASON, canonical_where, scope_hash
from cmflow.testing import run_workflow_file

FIRST_WEEK = """post_id,platform,account,published_at,reach,likes
a1,instagram,alpha,2026-11-10T10:00:00+01:00,1000,100
b1,instagram,beta,2026-11-11T10:00:00+01:00,5000,500
"""
SECOND_WEEK = """post_id,platform,account,published_at,reach,likes
a2,instagram,alpha,2026-11-17T10:00:00+01:00,1100,110
b2,instagram,beta,2026-11-18T10:00:00+01:00,5200,520
"""
MONDAY_16 = datetime(2026, 11, 16, 8, tzinfo=timezone.utc)  # last_week: 9 to 15 November
MONDAY_23 = datetime(2026, 11, 23, 8, tzinfo=timezone.utc)  # last_week: 16 to 22 November, compared with 9-15

BOTH_STORES = pytest.mark.parametrize("store_url", ["sqlite", "postgresql"], indirect=True)


def workflow(folder: Path, where: str, *, source_id: str = "posts", metric_where: str = "") -> Path:
    path = folder / "weekly.toml"
    path.write_text(f"""[workflow]
name = "where change"
id = "{folder.name.replace('_', '-')}"
timezone = "Europe/Paris"
period = "last_week"
compare = ["previous_period"]

[[sources]]
id = "{source_id}"
plugin = "csv"
path = "posts.csv"
{where}

[[metrics]]
plugin = "totals"
counters = ["reach"]
by = ["overall"]
{metric_where}
""", encoding="utf-8")
    return path


def two_runs(folder: Path, store_url: str, first_where: str, second_where: str, *, second_id: str = "posts",
             first_metric_where: str = "", second_metric_where: str = "", second_file: str = SECOND_WEEK):
    (folder / "posts.csv").write_text(FIRST_WEEK, encoding="utf-8")
    first = run_workflow_file(workflow(folder, first_where, metric_where=first_metric_where),
                              store_url=store_url, now=MONDAY_16)
    assert first.status == "ok", first.warnings
    (folder / "posts.csv").write_text(second_file, encoding="utf-8")
    later = workflow(folder, second_where, source_id=second_id, metric_where=second_metric_where)
    second = run_workflow_file(later, store_url=store_url, now=MONDAY_23)
    third = run_workflow_file(later, store_url=store_url, now=MONDAY_23)
    return second, third


def reach_compared(result) -> tuple[float, float | None, str | None]:
    row = result.comparisons.filter(result.comparisons["metric"] == "total_reach").row(0, named=True)
    return row["value"], row["previous_value"], row["change_reason"]


def notes(result) -> list[str]:
    return [p for s in result.stages if s.kind == "where" for p in s.problems]


@BOTH_STORES
def test_an_unchanged_where_compares_with_the_week_the_store_kept(tmp_path: Path, store_url: str) -> None:
    second, third = two_runs(tmp_path, store_url, 'where = { account = "alpha" }', 'where = { account = "alpha" }')
    assert reach_compared(second) == (1100, 1000, None)  # alpha's week, filled from the store
    assert second.warnings == [] and third.warnings == [] and notes(second) == []


@BOTH_STORES
def test_a_changed_where_is_not_compared_with_figures_kept_under_the_old_one(tmp_path: Path, store_url: str) -> None:
    """alpha's week (1000) kept by the first run is no previous week for beta's (5200): a silent
    comparison would say reach +420 %."""
    second, third = two_runs(tmp_path, store_url, 'where = { account = "alpha" }', 'where = { account = "beta" }')
    assert reach_compared(second) == (5200, None, SCOPE_CHANGED_REASON)
    [warning] = second.warnings
    assert warning == ('weekly.toml: the filters changed since the last run (sources[0].where is { account = "beta" }): '
                       "the figures kept before were measured on other records, so those of total_reach the change concerns "
                       "are not compared with them (an account's, a platform's or a client's row both filters keep still is); a "
                       "period this run's files reach is measured again and compared; this is said once")
    assert warning.code == "scope_changed"
    assert second.status == "warning"
    assert notes(second) == ["1 comparison(s) of total_reach with previous_period have no value: the figure kept for "
                             "that period was measured with another where; give this run the files of that period "
                             "to measure it again with the current one"]
    # The next run: still not compared (the store kept only alpha's week), said as a note, not again as a warning.
    assert reach_compared(third) == (5200, None, SCOPE_CHANGED_REASON)
    assert third.warnings == [] and third.status == "ok" and len(notes(third)) == 1


@BOTH_STORES
def test_spellings_that_keep_the_same_records_are_the_same_filter(tmp_path: Path, store_url: str) -> None:
    second, _ = two_runs(tmp_path, store_url, 'where = { account = "alpha" }',
                         'where = { account = ["@Alpha"], platform = "Instagram" }\n')
    # platform = "Instagram" is a new key: a change, even though every record here is Instagram's
    assert reach_compared(second)[1] is None
    other = tmp_path / "same"
    other.mkdir()
    second, _ = two_runs(other, store_url, 'where = { account = "alpha" }', 'where = { account = ["@Alpha", "alpha"] }')
    assert reach_compared(second) == (1100, 1000, None)
    assert second.warnings == []
    third = tmp_path / "order"
    third.mkdir()
    second, _ = two_runs(third, store_url, 'where = { account = ["beta", "alpha"] }',
                         'where = { account = ["alpha", "beta"] }')
    assert reach_compared(second) == (6300, 6000, None) and second.warnings == []


def test_a_source_renamed_keeps_its_figures_and_one_renamed_with_its_where_does_not(tmp_path: Path,
                                                                                   store_url: str) -> None:
    second, _ = two_runs(tmp_path, store_url, 'where = { account = "alpha" }', 'where = { account = "alpha" }',
                         second_id="alpha_posts")
    assert reach_compared(second) == (1100, 1000, None) and second.warnings == []
    other = tmp_path / "both"
    other.mkdir()
    second, _ = two_runs(other, store_url, 'where = { account = "alpha" }', 'where = { account = "beta" }',
                         second_id="beta_posts")
    assert reach_compared(second) == (5200, None, SCOPE_CHANGED_REASON)
    assert "sources[0].where is { account = \"beta\" }" in second.warnings[0]


def test_an_account_added_to_a_where_list_keeps_each_accounts_comparison(tmp_path: Path, store_url: str) -> None:
    """alpha's row is alpha's records whether beta's are kept too: compared (1100 against 1000);
    the overall row was alpha's alone and is now alpha's and beta's: not compared."""
    (tmp_path / "posts.csv").write_text(FIRST_WEEK, encoding="utf-8")

    def by_account(where: str) -> Path:
        path = workflow(tmp_path, where)
        path.write_text(path.read_text(encoding="utf-8").replace('by = ["overall"]', 'by = ["overall", "account"]'),
                        encoding="utf-8")
        return path

    assert run_workflow_file(by_account('where = { account = "alpha" }'), store_url=store_url,
                             now=MONDAY_16).status == "ok"
    (tmp_path / "posts.csv").write_text(SECOND_WEEK, encoding="utf-8")
    second = run_workflow_file(by_account('where = { account = ["alpha", "beta"] }'), store_url=store_url,
                               now=MONDAY_23)
    rows = {row["account"]: (row["value"], row["previous_value"], row["change_reason"])
            for row in second.comparisons.filter(second.comparisons["metric"] == "total_reach").iter_rows(named=True)}
    assert rows == {None: (6300, None, SCOPE_CHANGED_REASON), "alpha": (1100, 1000, None),
                    "beta": (5200, None, "no value for the comparison period")}


@BOTH_STORES
def test_a_client_onboarded_into_a_where_keeps_the_other_clients_comparisons(tmp_path: Path, store_url: str) -> None:
    """Three clients, one account each: gamma's account added to the where (client g onboarded)
    changes the overall row's scope, not client a's or b's, which are their accounts' records
    whichever others are kept: compared (1100 against 1000, 5200 against 5000)."""
    clients = "".join(f'[[clients]]\nid = "{c}"\nname = "{c.upper()}"\nlanguage = "en"\naccounts = ["{a}"]\n\n'
                      for c, a in (("a", "alpha"), ("b", "beta"), ("g", "gamma")))

    def by_client(where: str) -> Path:
        path = workflow(tmp_path, where)
        text = path.read_text(encoding="utf-8").replace('by = ["overall"]', 'by = ["overall", "client"]')
        path.write_text(text.replace("[[sources]]", clients + "[[sources]]", 1), encoding="utf-8")
        return path

    (tmp_path / "posts.csv").write_text(FIRST_WEEK + "g1,instagram,gamma,2026-11-12T10:00:00+01:00,700,70\n",
                                        encoding="utf-8")
    assert run_workflow_file(by_client('where = { account = ["alpha", "beta"] }'), store_url=store_url,
                             now=MONDAY_16).status == "ok"
    (tmp_path / "posts.csv").write_text(SECOND_WEEK + "g2,instagram,gamma,2026-11-19T10:00:00+01:00,900,90\n",
                                        encoding="utf-8")
    second = run_workflow_file(by_client('where = { account = ["alpha", "beta", "gamma"] }'), store_url=store_url,
                               now=MONDAY_23)
    rows = {row["client"]: (row["value"], row["previous_value"], row["change_reason"])
            for row in second.comparisons.filter(second.comparisons["metric"] == "total_reach").iter_rows(named=True)}
    assert rows == {None: (7200, None, SCOPE_CHANGED_REASON), "a": (1100, 1000, None), "b": (5200, 5000, None),
                    "g": (900, None, "no value for the comparison period")}


def test_a_where_added_or_a_metrics_where_changed_is_a_change(tmp_path: Path, store_url: str) -> None:
    second, _ = two_runs(tmp_path, store_url, "", 'where = { account = ["alpha", "beta"] }')
    assert reach_compared(second) == (6300, None, SCOPE_CHANGED_REASON)
    assert 'sources[0].where is { account = ["alpha", "beta"] }' in second.warnings[0]
    other = tmp_path / "metric"
    other.mkdir()
    second, _ = two_runs(other, store_url, "", "", first_metric_where='where = { account = "alpha" }',
                         second_metric_where='where = { account = "beta" }')
    assert reach_compared(second) == (5200, None, SCOPE_CHANGED_REASON)
    assert 'metrics[0].where is { account = "beta" }' in second.warnings[0]


def test_a_period_the_files_reach_is_measured_again_with_the_new_where(tmp_path: Path, store_url: str) -> None:
    """The second export holds both weeks: beta's previous week is measured from it (5000), not
    taken from alpha's kept figure, and replaces that figure in the store."""
    second, third = two_runs(tmp_path, store_url, 'where = { account = "alpha" }', 'where = { account = "beta" }',
                             second_file=FIRST_WEEK + SECOND_WEEK.split("\n", 1)[1])
    assert reach_compared(second) == (5200, 5000, None)
    assert notes(second) == []
    # said once, though nothing was left uncompared: the figures kept before are of the old filter
    assert len(second.warnings) == 1
    assert third.warnings == []


@BOTH_STORES
def test_the_store_compares_scopes_in_its_query_and_a_figure_kept_before_scopes_is_of_any(
        tmp_path: Path, store_url: str) -> None:
    """measurement_history marks a figure of another scope than its metric's (other_scope), not
    one of the same scope, nor one kept before v15 (scope NULL), however old its run."""
    import sqlalchemy as sa

    from cmflow.store import open_store
    from cmflow.store.sql import SqlStore

    week = (date(2026, 11, 9), date(2026, 11, 15))
    old = SqlStore(store_url, migrate_to=13)
    run = old.start_run("w", "w.toml", *week, False)
    frame = _frame([("total_reach", 1000.0), ("total_likes", 100.0)], week)
    old.commit_run(run, workflow="w", measurements=frame, alerts=[])
    old.finish_run(run, status="ok", stats={}, error=None)
    old.close()
    with open_store(store_url) as store:
        kept = store.measurement_history("w", ["total_reach", "total_likes"], [week], {(): {"total_reach": "s1"}})
        assert sorted(kept.select("metric", "other_scope").rows()) == [("total_likes", False), ("total_reach", False)]
        run = store.start_run("w", "w.toml", *week, False)
        frame = _frame([("total_reach", 1000.0), ("total_likes", 100.0)], week)
        store.commit_run(run, workflow="w", measurements=frame.with_columns(
            scope=frame["metric"].replace_strict({"total_reach": "s1", "total_likes": "s2"})), alerts=[])
        kept = store.measurement_history("w", ["total_reach", "total_likes"], [week],
                                         {(): {"total_reach": "s1", "total_likes": "s3"}})
        assert sorted(kept.select("metric", "other_scope").rows()) == [("total_likes", True), ("total_reach", False)]
        # the scope is that of the row's shape: an overall row (no account, no platform) is not a per-account one
        kept = store.measurement_history("w", ["total_reach"], [week], {("account",): {"total_reach": "s1"}})
        assert kept["other_scope"].to_list() == [True]
        assert "other_scope" not in store.measurement_history("w", ["total_reach"], [week]).columns
    engine = sa.create_engine(store_url, poolclass=sa.pool.NullPool)
    with engine.connect() as connection:
        assert sorted(connection.execute(sa.text("SELECT metric, scope FROM measurements"))) == [
            ("total_likes", "s2"), ("total_reach", "s1")]
    engine.dispose()


def _frame(values: list[tuple[str, float]], week: tuple[date, date]):
    import polars as pl

    return pl.DataFrame({"metric": [m for m, _ in values], "period": ["current"] * len(values),
                         "period_start": [week[0]] * len(values), "period_end": [week[1]] * len(values),
                         "series_key": ["{}"] * len(values), "unit": [""] * len(values),
                         "value": [v for _, v in values], "reason": [None] * len(values)},
                        schema_overrides={"reason": pl.String})


def test_canonical_filters_hash_equal_spellings_alike() -> None:
    same = [{"account": "alpha"}, {"account": ["alpha"]}, {"account": ["@Alpha", "alpha "]}]
    assert len({scope_hash([canonical_where(w)], {}) for w in same}) == 1
    assert canonical_where({"platform": "Instagram", "campaign": "Soldes d'hiver"}) == \
        canonical_where({"campaign": ["SOLDES_D_HIVER"], "platform": ["instagram"]})
    assert canonical_where({"date": "2026-11-01..2026-11-30"}) == {"date": ["2026-11-01..2026-11-30"]}
    assert canonical_where({"published_at": " 2026-11-05 "}, ["published_at"]) == {"published_at": ["2026-11-05"]}
    assert scope_hash([{}], {}) != scope_hash([canonical_where({"account": "alpha"})], {})
    assert scope_hash([{}, {}], {}) == scope_hash([{}], {})  # a second source of the same scope


def test_cmflow_run_twice_with_a_changed_where_as_a_user_would(tmp_path: Path) -> None:
    """The command line, two weeks, the where changed in between: the CSV report's comparison
    column is empty with the reason, the terminal says it once (exit 5), then as a note (exit 0)."""
    store = f"sqlite:///{tmp_path / 'state.db'}"
    report = '\n[[outputs]]\nplugin = "report"\nformats = ["csv"]\npath = "out/{period}.{format}"\n'

    def cmflow_run(where: str, day: str) -> subprocess.CompletedProcess:
        path = workflow(tmp_path, where)
        path.write_text(path.read_text(encoding="utf-8") + report, encoding="utf-8")
        return cmflow_in_process("run", path, "--as-of", day, "--store", store, cwd=tmp_path)

    (tmp_path / "posts.csv").write_text(FIRST_WEEK, encoding="utf-8")
    first = cmflow_run('where = { account = "alpha" }', "2026-11-16")
    assert first.returncode == 0, first.stderr
    (tmp_path / "posts.csv").write_text(SECOND_WEEK, encoding="utf-8")
    second = cmflow_run('where = { account = "beta" }', "2026-11-23")
    assert second.returncode == 5, second.stderr
    assert "the filters changed since the last run" in second.stderr
    rows = _current_rows(tmp_path / "out" / "2026-11-16..2026-11-22.csv")
    assert rows["total_reach"]["value"] == "5200"
    assert rows["total_reach"]["previous_period_value"] == ""
    assert rows["total_reach"]["change_reason_vs_previous_period"] == SCOPE_CHANGED_REASON
    third = cmflow_run('where = { account = "beta" }', "2026-11-23")
    assert third.returncode == 0, third.stderr
    assert "the filters changed" not in third.stderr
    assert "measured with another where" in third.stderr


def _current_rows(path: Path) -> dict[str, dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return {row["metric"]: row for row in csv.DictReader(handle) if row["period"] == "current"}


def test_the_warning_and_the_reason_in_a_french_report(tmp_path: Path, store_url: str) -> None:
    from cmflow.presentation.language import language

    second, _ = two_runs(tmp_path, store_url, 'where = { account = "alpha" }', 'where = { account = "beta" }')
    fr = language("fr")
    said = fr.run_warning(second.warnings[0])
    assert said.startswith("weekly.toml\u00a0: les filtres ont changé depuis la dernière exécution "
                           '(sources[0].where = { account = "beta" })'), said  # as the file writes it: no English "is"
    assert "ceux de portée que le changement concerne ne sont pas comparés" in said  # the metric's French label
    for english in (" is ", "none", "the sources", "total_reach"):
        assert english not in said, said
    assert fr.reason(SCOPE_CHANGED_REASON) == "Non comparable\u00a0: les chiffres portaient alors sur d'autres comptes ou filtres"
    assert language("en").reason(SCOPE_CHANGED_REASON).startswith("Not comparable")


@BOTH_STORES
def test_a_triggers_history_leaves_out_figures_kept_under_another_where(tmp_path: Path, store_url: str) -> None:
    """A spike rule over reach, baseline the week before: beta's 5200 against alpha's kept 1000
    would be a spike (5.2x); without a baseline of beta's own, nothing fires. The control: the
    same where kept, beta's 12000 against beta's kept 5000 fires (2.4x), so the kept history is read."""
    spike = '\n[[triggers]]\nplugin = "spike"\nmetric = "total_reach"\nbaseline_periods = 1\nmin_count = 10\n'

    def runs(folder: Path, first_where: str, second_where: str, second_week: str = SECOND_WEEK):
        (folder / "posts.csv").write_text(FIRST_WEEK, encoding="utf-8")
        path = workflow(folder, first_where)
        path.write_text(path.read_text(encoding="utf-8") + spike, encoding="utf-8")
        assert run_workflow_file(path, store_url=store_url, now=MONDAY_16).alerts == []
        (folder / "posts.csv").write_text(second_week, encoding="utf-8")
        path = workflow(folder, second_where)
        path.write_text(path.read_text(encoding="utf-8") + spike, encoding="utf-8")
        return run_workflow_file(path, store_url=store_url, now=MONDAY_23)

    assert runs(tmp_path, 'where = { account = "alpha" }', 'where = { account = "beta" }').alerts == []
    same = tmp_path / "same"
    same.mkdir()
    fired = runs(same, 'where = { account = "beta" }', 'where = { account = "beta" }',
                 SECOND_WEEK.replace("5200,520", "12000,520"))
    assert [a.value for a in fired.alerts] == [12000]


def test_the_scopes_cost_no_store_read_per_trigger(tmp_path: Path) -> None:
    """The run history is read once per run for the warning (not once per stage or trigger), and
    a trigger's history read carries the scopes in its own statement: four spike rules make the
    same reads of the run history as one, and their own history reads (one each, as before
    scopes) compare the scopes in that statement."""
    import sqlalchemy as sa

    from cmflow.runner import run_workflow
    from cmflow.store import open_store
    from cmflow.workflow import load_workflow

    def statements(triggers: int) -> list[str]:
        folder = tmp_path / f"rules{triggers}"
        folder.mkdir()
        (folder / "posts.csv").write_text(FIRST_WEEK + SECOND_WEEK.split("\n", 1)[1], encoding="utf-8")
        path = workflow(folder, 'where = { account = "alpha" }')
        spike = '\n[[triggers]]\nid = "spike{0}"\nplugin = "spike"\nmetric = "total_reach"\nbaseline_periods = 1\n'
        path.write_text(path.read_text(encoding="utf-8") + "".join(spike.format(i) for i in range(triggers)),
                        encoding="utf-8")
        seen: list[str] = []
        with open_store(f"sqlite:///{folder / 'state.db'}") as store:
            run_workflow(load_workflow(path), store=store, now=MONDAY_16)  # a kept run, with its scopes
            sa.event.listen(store.engine, "before_cursor_execute", lambda *args: seen.append(args[2]))
            run_workflow(load_workflow(path), store=store, now=MONDAY_23)
        return seen

    one, four = statements(1), statements(4)
    runs_read = [s for s in one if s.lstrip().upper().startswith("SELECT") and "FROM runs" in s]
    assert len(runs_read) == len([s for s in four if s.lstrip().upper().startswith("SELECT") and "FROM runs" in s])
    history = [s for s in four if "other_scope" in s]
    assert len(history) - len([s for s in one if "other_scope" in s]) == 3  # one per extra rule, as before
