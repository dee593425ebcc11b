"""A source's `where` changed between runs: the figures earlier runs kept under the old filter
are not compared with this run's, and the run says so once (stages/changed_filters.py).

Each case runs a real workflow twice on a real SQLite store: the second run's export holds only
its own week, so the previous week can only come from what the first run kept."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from cmflow.builtin.reports.language import language
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


def workflow(folder: Path, where: str) -> Path:
    path = folder / "weekly.toml"
    path.write_text(f"""[workflow]
name = "where change"
timezone = "Europe/Paris"
period = "last_week"
compare = ["previous_period"]

[[sources]]
id = "posts"
plugin = "csv"
path = "posts.csv"
{where}

[[metrics]]
plugin = "totals"
counters = ["reach"]
by = ["overall"]
""", encoding="utf-8")
    return path


def two_runs(tmp_path: Path, first_where: str, second_where: str):
    store = f"sqlite:///{tmp_path / 'state.db'}"
    (tmp_path / "posts.csv").write_text(FIRST_WEEK, encoding="utf-8")
    first = run_workflow_file(workflow(tmp_path, first_where), store_url=store, now=MONDAY_16)
    assert first.status == "ok"
    (tmp_path / "posts.csv").write_text(SECOND_WEEK, encoding="utf-8")  # the export of the latest week only
    second = run_workflow_file(workflow(tmp_path, second_where), store_url=store, now=MONDAY_23)
    third = run_workflow_file(workflow(tmp_path, second_where), store_url=store, now=MONDAY_23)
    return second, third


def reach_compared(result) -> tuple[float, float | None]:
    row = result.comparisons.filter(result.comparisons["metric"] == "total_reach").row(0, named=True)
    return row["value"], row["previous_value"]


def test_an_unchanged_where_compares_with_the_week_the_store_kept(tmp_path: Path) -> None:
    second, third = two_runs(tmp_path, 'where = { account = "alpha" }', 'where = { account = "alpha" }')
    assert reach_compared(second) == (1100, 1000)  # alpha's week, filled from the store
    assert second.warnings == [] and third.warnings == []


def test_a_changed_where_does_not_compare_with_figures_kept_under_the_old_one(tmp_path: Path) -> None:
    """alpha's week (1000) kept by the first run is no previous week for beta's (5200): before,
    the report said reach +420 %."""
    second, third = two_runs(tmp_path, 'where = { account = "alpha" }', 'where = { account = "beta" }')
    assert reach_compared(second) == (5200, None)
    [warning] = second.warnings
    assert warning == ('weekly.toml: sources[0].where is { account = "beta" }, and was { account = "alpha" } at the '
                       "last run: the figures earlier runs kept were measured with the old filter, so they are not "
                       "compared with this run's (a comparison or history period this run's records do not reach "
                       "has no value); to compare, give the files of those periods too; this is said once")
    assert language("fr").run_warning(warning).startswith(
        'weekly.toml, sources[0].where vaut { account = "beta" } et valait { account = "alpha" } lors de la dernière '
        "exécution\u00a0: les chiffres conservés par les exécutions précédentes ont été mesurés avec l'ancien filtre")
    assert language("en").run_warning(warning) == warning
    assert second.status == "warning"
    assert reach_compared(third) == (5200, None)  # still not compared, and said once only
    assert third.warnings == []


def test_a_where_added_is_a_change_and_values_in_another_order_are_not(tmp_path: Path) -> None:
    second, _ = two_runs(tmp_path, "", 'where = { account = ["alpha", "beta"] }')
    assert reach_compared(second) == (6300, None)
    assert "sources[0].where is { account = [\"alpha\", \"beta\"] }, and was none at the last run" in second.warnings[0]
    other = tmp_path / "other"
    other.mkdir()
    second, _ = two_runs(other, 'where = { account = ["beta", "alpha"] }', 'where = { account = ["alpha", "beta"] }')
    assert reach_compared(second) == (6300, 6000) and second.warnings == []
