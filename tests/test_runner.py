"""One run of a workflow, end to end on small CSV files: history, failures, alerts, outputs, secrets.

Every run goes through :func:`cmflow.testing.run_workflow_file` against a real SQLite file.
"""

from __future__ import annotations

import csv
import types
from pathlib import Path

import pytest

from pydantic import Field

from cmflow import Alert, Metric, Output, PluginOptions, Source, Trigger, hookimpl
from cmflow.store import open_store
from cmflow.testing import registered_plugin, run_workflow_file
from store_rows import raw_rows

WEEK_A = "2026-11-09..2026-11-15"
WEEK_B = "2026-11-16..2026-11-22"
POST_COLUMNS = ("platform", "account", "post_id", "published_at", "likes", "comments", "shares",
                "saves", "reach")


def write_posts(path: Path, posts: list[tuple]) -> Path:
    """Write posts (tuples in POST_COLUMNS order) as a CSV export, replacing the file."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(POST_COLUMNS)
        writer.writerows(posts)
    return path


# Week A: account "a" has ERR (10+2+3+5)/400 = 5%; week B: (6+1+1+0)/400 = 2%.
WEEK_A_POSTS = [("instagram", "a", "a1", "2026-11-10T10:00:00Z", 10, 2, 3, 5, 400)]
WEEK_B_POSTS = [("instagram", "a", "b1", "2026-11-17T10:00:00Z", 6, 1, 1, 0, 400)]


def workflow_text(*, sources: str = '[[sources]]\nid = "posts"\nplugin = "csv"\npath = "posts.csv"\n',
                  extra: str = "") -> str:
    return f"""
[workflow]
name = "Runner test"
timezone = "UTC"
period = "last_week"
compare = ["previous_period"]

{sources}

[[metrics]]
plugin = "engagement_rate_by_reach"
by = ["overall", "account"]

[[metrics]]
plugin = "totals"
counters = ["reach"]
by = ["account"]

[[metrics]]
plugin = "posts_published"
by = ["account"]
{extra}
"""


def comparison_of(result, metric: str, **dimensions) -> dict:
    """The previous_period comparison row of one current series."""
    rows = result.current(metric)
    for name in ("platform", "account"):
        wanted = dimensions.get(name)
        rows = rows.filter(rows[name].is_null() if wanted is None else rows[name] == wanted)
    assert rows.height == 1, rows
    return rows.row(0, named=True)


def stage(result, kind: str, entry_id: str):
    [report] = [s for s in result.stages if s.kind == kind and s.id == entry_id]
    return report


# -- (a) history ---------------------------------------------------------------------------
@pytest.mark.parametrize("store_url", ["sqlite", "postgresql"], indirect=True)
def test_second_run_compares_with_the_value_stored_by_the_first(tmp_path, write_workflow, store_url):
    posts = write_posts(tmp_path / "posts.csv", WEEK_A_POSTS)
    path = write_workflow(workflow_text())
    first = run_workflow_file(path, store_url=store_url, period=WEEK_A)
    assert first.status == "ok"
    assert first.value("engagement_rate_by_reach", platform="instagram", account="a") == pytest.approx(5.0)

    write_posts(posts, WEEK_B_POSTS)  # the export now holds week B only
    second = run_workflow_file(path, store_url=store_url, period=WEEK_B)
    assert str(second.period) == "2026-11-16..2026-11-22"
    assert [str(p) for p in second.comparison_periods] == [WEEK_A]
    # The records of this run cannot give week A: the previous value comes from the store.
    assert second.records["post"].height == 1
    row = comparison_of(second, "engagement_rate_by_reach", platform="instagram", account="a")
    assert row["value"] == pytest.approx(2.0)
    assert row["previous_period.previous_value"] == pytest.approx(5.0)
    assert row["previous_period.change"] == pytest.approx(-3.0)
    assert row["previous_period.change_pct"] == pytest.approx(-60.0)
    reach = comparison_of(second, "total_reach", platform="instagram", account="a")
    assert reach["previous_period.previous_value"] == pytest.approx(400.0)

    # Running week B again still finds week A: the second run must not have overwritten the
    # stored week A value with the empty one its own records gave.
    again = run_workflow_file(path, store_url=store_url, period=WEEK_B)
    row = comparison_of(again, "engagement_rate_by_reach", platform="instagram", account="a")
    assert row["previous_period.previous_value"] == pytest.approx(5.0)


def test_without_history_the_comparison_says_why_there_is_no_change(tmp_path, write_workflow, store_url):
    write_posts(tmp_path / "posts.csv", WEEK_B_POSTS)
    result = run_workflow_file(write_workflow(workflow_text()), store_url=store_url, period=WEEK_B)
    row = comparison_of(result, "engagement_rate_by_reach", platform="instagram", account="a")
    assert row["previous_period.previous_value"] is None
    assert row["previous_period.change"] is None
    assert row["previous_period.change_reason"] == "no value for the comparison period"


# -- (b), (c) failures ---------------------------------------------------------------------
def test_failing_source_is_reported_and_the_other_is_still_measured(tmp_path, write_workflow, store_url):
    write_posts(tmp_path / "posts.csv", WEEK_B_POSTS)
    sources = ('[[sources]]\nid = "posts"\nplugin = "csv"\npath = "posts.csv"\n\n'
               '[[sources]]\nid = "gone"\nplugin = "csv"\npath = "exports/vanished.csv"\n')
    result = run_workflow_file(write_workflow(workflow_text(sources=sources)), store_url=store_url, period=WEEK_B)
    assert result.status == "failed"
    gone = stage(result, "source", "gone")
    assert not gone.ok and "vanished.csv" in gone.error and "not found" in gone.error
    assert stage(result, "source", "posts").ok
    assert stage(result, "source", "posts").counts == {"post": 1}
    assert result.value("posts_published", platform="instagram", account="a") == 1
    assert result.value("engagement_rate_by_reach", platform="instagram", account="a") == pytest.approx(2.0)
    with open_store(store_url) as store:
        [run] = store.runs()
    assert run.status == "failed" and "vanished.csv" in run.error


class ExplodingMetric(Metric):
    """A metric whose formula has a bug."""

    name = "exploding_metric"
    description = "Always raises, to show a failing metric does not stop the others."

    def compute(self, data):
        raise ZeroDivisionError("the formula divided by zero")


exploding_plugin = types.ModuleType("exploding_plugin")


@hookimpl
def _register_exploding(register):
    register(ExplodingMetric)


exploding_plugin.register_metrics = _register_exploding


def test_failing_metric_is_reported_and_the_others_computed(tmp_path, write_workflow, store_url):
    write_posts(tmp_path / "posts.csv", WEEK_B_POSTS)
    path = write_workflow(workflow_text(extra='\n[[metrics]]\nplugin = "exploding_metric"\n'))
    with registered_plugin(exploding_plugin):
        result = run_workflow_file(path, store_url=store_url, period=WEEK_B)
    failed = stage(result, "metric", "exploding_metric")
    assert not failed.ok and "ZeroDivisionError" in failed.error and "divided by zero" in failed.error
    assert result.status == "failed"
    assert result.value("engagement_rate_by_reach", platform="instagram", account="a") == pytest.approx(2.0)
    assert result.value("total_reach", platform="instagram", account="a") == 400
    assert "exploding_metric" not in set(result.measurements["metric"].to_list())
    assert all(s.ok for s in result.stages if s.id != "exploding_metric")


# -- (d), (e) alerts and when outputs fire --------------------------------------------------
BIG_REACH = """
[[triggers]]
id = "big_reach"
plugin = "threshold"
metric = "total_reach"
above = 1000
"""
ALERTING_OUTPUTS = BIG_REACH + """
[[outputs]]
id = "on_alerts"
plugin = "html_report"
when = "alerts"
path = "{dir}/on_alerts.html"

[[outputs]]
id = "on_change"
plugin = "html_report"
when = "change"
path = "{dir}/on_change.html"

[[outputs]]
id = "every_time"
plugin = "html_report"
path = "{dir}/every_time.html"
"""


class Outputs:
    """The three report files of ALERTING_OUTPUTS: which were written by the last run."""

    names = ("on_alerts", "on_change", "every_time")

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(exist_ok=True)

    def clear(self) -> None:
        for name in self.names:
            (self.directory / f"{name}.html").unlink(missing_ok=True)

    def written(self) -> set[str]:
        return {name for name in self.names if (self.directory / f"{name}.html").exists()}


def alert_run(path: Path, posts_file: Path, posts: list[tuple], outputs: Outputs, store_url: str):
    write_posts(posts_file, posts)
    outputs.clear()
    return run_workflow_file(path, store_url=store_url, period=WEEK_B)


@pytest.mark.parametrize("store_url", ["sqlite", "postgresql"], indirect=True)
def test_alert_lifecycle_and_when_outputs_fire(tmp_path, write_workflow, store_url):
    outputs = Outputs(tmp_path / "reports")
    posts_file = tmp_path / "posts.csv"
    path = write_workflow(workflow_text(extra=ALERTING_OUTPUTS.format(dir=outputs.directory)))
    high = [("instagram", "a", "b1", "2026-11-17T10:00:00Z", 6, 1, 1, 0, 1500),
            ("instagram", "z", "z1", "2026-11-18T10:00:00Z", 1, 0, 0, 0, 200)]
    low = [("instagram", "a", "b1", "2026-11-17T10:00:00Z", 6, 1, 1, 0, 900),
           ("instagram", "z", "z1", "2026-11-18T10:00:00Z", 1, 0, 0, 0, 200)]

    first = alert_run(path, posts_file, high, outputs, store_url)
    [alert] = first.alerts
    assert (alert.rule, alert.metric, alert.dimensions) == ("big_reach", "total_reach",
                                                             {"platform": "instagram", "account": "a"})
    assert alert.is_new and alert.state == "firing" and alert.value == 1500
    assert first.resolved == []
    assert outputs.written() == {"on_alerts", "on_change", "every_time"}

    second = alert_run(path, posts_file, high, outputs, store_url)
    [alert] = second.alerts
    assert not alert.is_new and alert.state == "firing"
    assert second.resolved == []
    assert outputs.written() == {"on_alerts", "every_time"}  # nothing started or resolved
    assert stage(second, "output", "on_change").note == "skipped (when = 'change')"

    third = alert_run(path, posts_file, low, outputs, store_url)
    assert third.alerts == []
    [resolved] = third.resolved
    assert resolved.fingerprint == alert.fingerprint and resolved.state == "resolved"
    assert outputs.written() == {"on_change", "every_time"}
    assert stage(third, "output", "on_alerts").note == "skipped (when = 'alerts')"
    assert [s.ok for s in third.stages] == [True] * len(third.stages)

    with open_store(store_url) as store:
        states = store.alert_states("Runner test")
        runs = store.runs()
    assert list(states) == [alert.fingerprint]
    assert states[alert.fingerprint].state == "resolved"
    assert states[alert.fingerprint].resolved_at is not None
    assert [r.stats["alerts_new"] for r in runs] == [0, 0, 1]  # newest first
    assert [r.stats["alerts_resolved"] for r in runs] == [1, 0, 0]


def test_no_alert_skips_alert_and_change_outputs(tmp_path, write_workflow, store_url):
    outputs = Outputs(tmp_path / "reports")
    path = write_workflow(workflow_text(extra=ALERTING_OUTPUTS.format(dir=outputs.directory)))
    result = alert_run(path, tmp_path / "posts.csv", WEEK_B_POSTS, outputs, store_url)
    assert result.alerts == [] and result.resolved == []
    assert outputs.written() == {"every_time"}
    assert stage(result, "output", "on_alerts").note == "skipped (when = 'alerts')"
    assert stage(result, "output", "on_change").note == "skipped (when = 'change')"
    assert result.status == "ok"


# -- (f) dry run -----------------------------------------------------------------------------
@pytest.mark.parametrize("store_url", ["sqlite", "postgresql"], indirect=True)
def test_dry_run_stores_nothing_and_only_runs_the_console(tmp_path, write_workflow, store_url, capsys):
    write_posts(tmp_path / "posts.csv", WEEK_B_POSTS)
    report = tmp_path / "report.html"
    outputs = f'\n[[outputs]]\nplugin = "console"\n\n[[outputs]]\nplugin = "html_report"\npath = "{report}"\n'
    path = write_workflow(workflow_text(extra=outputs))
    result = run_workflow_file(path, store_url=store_url, period=WEEK_B, dry_run=True)

    assert result.dry_run and result.run_id is None
    assert result.value("engagement_rate_by_reach", platform="instagram", account="a") == pytest.approx(2.0)
    assert stage(result, "output", "html_report").note == "skipped (dry run)"
    assert not report.exists()
    console = stage(result, "output", "console")
    assert console.ok and console.note is None
    printed = capsys.readouterr().out
    assert "Runner test" in printed and "2.00%" in printed
    assert raw_rows(store_url, "SELECT COUNT(*) FROM runs") == [(0,)]
    assert raw_rows(store_url, "SELECT COUNT(*) FROM measurements") == [(0,)]

    # The same workflow for real writes both.
    real = run_workflow_file(path, store_url=store_url, period=WEEK_B)
    assert report.exists() and real.run_id is not None
    assert raw_rows(store_url, "SELECT COUNT(*) FROM runs") == [(1,)]


# -- (g) secrets -----------------------------------------------------------------------------
def test_secret_in_an_error_message_is_redacted(tmp_path, write_workflow, store_url, monkeypatch):
    secret_dir = tmp_path / "customer-4f9c2e-private-exports"
    monkeypatch.setenv("SECRET_DIR", str(secret_dir))
    write_posts(tmp_path / "posts.csv", WEEK_B_POSTS)
    sources = ('[[sources]]\nid = "posts"\nplugin = "csv"\npath = "posts.csv"\n\n'
               '[[sources]]\nid = "private"\nplugin = "csv"\npath = "${env:SECRET_DIR}/missing.csv"\n')
    result = run_workflow_file(write_workflow(workflow_text(sources=sources)), store_url=store_url, period=WEEK_B)

    failed = stage(result, "source", "private")
    assert not failed.ok
    assert "***/missing.csv" in failed.error
    assert str(secret_dir) not in failed.error and "4f9c2e" not in failed.error
    with open_store(store_url) as store:
        [run] = store.runs()
    assert run.status == "failed"
    assert "***/missing.csv" in run.error and "4f9c2e" not in run.error
    assert all("4f9c2e" not in str(item) for item in run.stats["failed"])
    assert all("4f9c2e" not in (error or "") for (error,) in raw_rows(store_url, "SELECT error FROM runs"))


class PostsPerPlatformBelow(Trigger):
    """A third-party trigger: fires when fewer posts than `minimum` were published."""

    name = "too_few_posts"
    description = "Alert when an account published fewer posts than a minimum."

    class Options(PluginOptions):
        minimum: int = Field(description="Fewest posts expected per period.")

    def evaluate(self, data):
        data.note(f"judged {data.measurements.height} series against a minimum of {self.options.minimum} posts")
        return [Alert(self.entry_id, row["metric"], {"platform": row["platform"], "account": row["account"]},
                      f"only {row['value']:.0f} posts", value=row["value"])
                for row in data.measurements.iter_rows(named=True)
                if row["account"] is not None and row["value"] < self.options.minimum]


@hookimpl
def _register_too_few_posts(register):
    register(PostsPerPlatformBelow)


def test_a_registered_trigger_plugin_gets_this_periods_measurements_and_fires(
        tmp_path, write_workflow, store_url):
    """register_triggers: a plugin's trigger sees only its metric and its `where` series."""
    plugin = types.SimpleNamespace(register_triggers=_register_too_few_posts)
    write_posts(tmp_path / "posts.csv", WEEK_B_POSTS + [
        ("instagram", "b", "b2", "2026-11-18T10:00:00Z", 1, 0, 0, 0, 100),
        ("instagram", "b", "b3", "2026-11-19T10:00:00Z", 1, 0, 0, 0, 100)])
    path = write_workflow(workflow_text(extra='''
[[triggers]]
plugin = "too_few_posts"
metric = "posts_published"
where = { platform = "instagram" }
minimum = 2
severity = "critical"
'''))
    with registered_plugin(plugin):
        result = run_workflow_file(path, store_url=store_url, period=WEEK_B)
    assert [(a.rule, a.dimensions, a.severity, a.summary) for a in result.alerts] == [
        ("too_few_posts_posts_published", {"platform": "instagram", "account": "a"}, "critical",
         "only 1 posts")]
    # What the trigger says that is no alert reaches its stage (the run summary and the report).
    [rule] = [s for s in result.stages if s.kind == "trigger"]
    assert (rule.ok, rule.problems) == (True, ["judged 2 series against a minimum of 2 posts"])


def test_a_records_own_source_field_is_kept_apart_from_the_source_entry_id(
        tmp_path, write_workflow, store_url):
    """Traffic records have a canonical `source` (utm_source); the entry id lives in source_id."""
    (tmp_path / "traffic.csv").write_text("date,source,medium,sessions\n2026-11-17,instagram,social,120\n")
    path = write_workflow(workflow_text(sources='''
[[sources]]
id = "ga"
plugin = "csv"
path = "traffic.csv"
record = "traffic"

[[sources]]
id = "posts"
plugin = "csv"
path = "posts.csv"
'''))
    write_posts(tmp_path / "posts.csv", WEEK_B_POSTS)
    result = run_workflow_file(path, store_url=store_url, period=WEEK_B)
    traffic = result.records["traffic"].to_dicts()
    assert [(t["source"], t["medium"], t["sessions"], t["source_id"]) for t in traffic] == [
        ("instagram", "social", 120, "ga")]


# -- what a failed, misplaced or past run must not change ------------------------------------
HIGH = [("instagram", "a", "b1", "2026-11-17T10:00:00Z", 6, 1, 1, 0, 1500)]
LOW = [("instagram", "a", "b1", "2026-11-17T10:00:00Z", 6, 1, 1, 0, 900)]


def firing_and_new(result) -> tuple[int, int, int]:
    return len(result.alerts), sum(a.is_new for a in result.alerts), len(result.resolved)


@pytest.mark.parametrize("store_url", ["sqlite", "postgresql"], indirect=True)
def test_a_failed_source_neither_resolves_alerts_nor_overwrites_history(tmp_path, write_workflow, store_url):
    outputs = Outputs(tmp_path / "reports")
    posts_file = tmp_path / "posts.csv"
    path = write_workflow(workflow_text(extra=ALERTING_OUTPUTS.format(dir=outputs.directory)))
    assert firing_and_new(alert_run(path, posts_file, HIGH, outputs, store_url)) == (1, 1, 0)

    posts_file.unlink()  # the export went missing: no data is not "reach went down"
    broken = run_workflow_file(path, store_url=store_url, period=WEEK_B)
    # The alert keeps firing as it was, and the failure is an alert of its own, not a silent pass.
    assert broken.status == "failed" and firing_and_new(broken) == (2, 1, 0)
    assert sorted((a.condition, a.is_new) for a in broken.alerts) == [("error", True), ("value", False)]
    [error] = [a for a in broken.alerts if a.condition == "error"]
    assert "source posts failed" in error.summary and "posts.csv" in error.summary
    with open_store(store_url) as store:
        history = store.measurement_history("Runner test", ["total_reach"], [(broken.period.start,
                                                                              broken.period.end)])
    assert history.filter(history["series_key"] == '{"account":"a","platform":"instagram"}')["value"].to_list() \
        == [1500.0]  # the failed run stored nothing over it

    again = alert_run(path, posts_file, HIGH, outputs, store_url)
    assert firing_and_new(again) == (1, 0, 1)  # still the same episode, not NEW again
    assert [a.condition for a in again.resolved] == ["error"]  # the failure is over


def test_a_series_without_a_value_now_is_not_resolved(tmp_path, write_workflow, store_url):
    outputs = Outputs(tmp_path / "reports")
    posts_file = tmp_path / "posts.csv"
    path = write_workflow(workflow_text(extra=ALERTING_OUTPUTS.format(dir=outputs.directory)))
    alert_run(path, posts_file, HIGH, outputs, store_url)
    quiet = alert_run(path, posts_file, [("instagram", "z", "z1", "2026-11-18T10:00:00Z", 1, 0, 0, 0, 200)],
                      outputs, store_url)  # account a did not post at all this time
    assert firing_and_new(quiet) == (1, 0, 0)  # still firing as it was: not measured, not resolved
    assert quiet.alerts[0].dimensions["account"] == "a" and not quiet.notifications
    assert firing_and_new(alert_run(path, posts_file, LOW, outputs, store_url)) == (0, 0, 1)


def test_a_past_period_reports_alerts_but_leaves_the_alert_state(tmp_path, write_workflow, store_url):
    outputs = Outputs(tmp_path / "reports")
    posts_file = tmp_path / "posts.csv"
    path = write_workflow(workflow_text(extra=ALERTING_OUTPUTS.format(dir=outputs.directory)))
    alert_run(path, posts_file, HIGH, outputs, store_url)  # week B fires
    write_posts(posts_file, [("instagram", "a", "a1", "2026-11-10T10:00:00Z", 1, 0, 0, 0, 100)])
    backfill = run_workflow_file(path, store_url=store_url, period=WEEK_A)
    assert backfill.past_period and firing_and_new(backfill) == (0, 0, 0)
    assert firing_and_new(alert_run(path, posts_file, HIGH, outputs, store_url)) == (1, 0, 0)


@pytest.mark.parametrize("store_url", ["sqlite", "postgresql"], indirect=True)
def test_two_workflow_files_with_one_name_do_not_share_a_history(tmp_path, write_workflow, store_url):
    from cmflow.stages.run_history import WorkflowKeyConflict

    write_posts(tmp_path / "posts.csv", WEEK_B_POSTS)
    client_a = write_workflow(workflow_text(), name="client_a.toml")
    client_b = write_workflow(workflow_text(), name="client_b.toml")
    run_workflow_file(client_a, store_url=store_url, period=WEEK_B)
    with pytest.raises(WorkflowKeyConflict, match="give this one its own id"):
        run_workflow_file(client_b, store_url=store_url, period=WEEK_B)

    client_b.write_text(client_b.read_text().replace('name = "Runner test"',
                                                     'name = "Runner test"\nid = "client-b"'))
    assert run_workflow_file(client_b, store_url=store_url, period=WEEK_B).status == "ok"
    moved = tmp_path / "moved.toml"
    client_a.rename(moved)  # a workflow file that moved keeps its history
    assert run_workflow_file(moved, store_url=store_url, period=WEEK_B).status == "ok"


def test_a_source_with_records_but_none_in_the_period_says_so(tmp_path, write_workflow, store_url):
    write_posts(tmp_path / "posts.csv", WEEK_B_POSTS)
    result = run_workflow_file(write_workflow(workflow_text()), store_url=store_url, period=WEEK_A)
    assert stage(result, "source", "posts").problems == [
        "none of its 1 post falls in 2026-11-09..2026-11-15 (they cover 2026-11-17..2026-11-17)"]
    in_period = run_workflow_file(write_workflow(workflow_text()), store_url=store_url, period=WEEK_B)
    assert stage(in_period, "source", "posts").problems == []


class HttpProbe(Source):
    """A source that only looks at the run's HTTP client."""

    name = "http_probe"
    description = "Records which HTTP client it was given."
    record_kinds = ("post",)
    seen: list = []

    def fetch(self, ctx):
        HttpProbe.seen.append(ctx.http)
        return []


@hookimpl
def _register_http_probe(register):
    register(HttpProbe)


def test_every_source_of_a_run_shares_one_http_client_closed_after_the_sources(
        tmp_path, write_workflow, store_url):
    """One client means one request budget per platform and token across the run's sources."""
    HttpProbe.seen = []
    sources = '[[sources]]\nid = "one"\nplugin = "http_probe"\n\n[[sources]]\nid = "two"\nplugin = "http_probe"\n'
    with registered_plugin(types.SimpleNamespace(register_sources=_register_http_probe)):
        run_workflow_file(write_workflow(workflow_text(sources=sources)), store_url=store_url, period=WEEK_B)
        first, second = HttpProbe.seen
        assert first is second
        assert first.httpx.is_closed
        run_workflow_file(write_workflow(workflow_text(sources=sources)), store_url=store_url, period=WEEK_B)
    assert HttpProbe.seen[2] is not first  # the next run has its own


class StageProbe(Output):
    """An output that keeps what it saw of the run's stage reports when it delivered."""

    name = "stage_probe"
    description = "Keeps the stage reports it is handed."
    seen: list[tuple[str, str, str | None]] = []

    def deliver(self, result, ctx) -> str:
        StageProbe.seen = [(s.kind, s.id, s.note) for s in result.stages]
        return "probed"


@hookimpl
def _register_stage_probe(register) -> None:
    register(StageProbe)


def test_outputs_that_deliver_themselves_see_what_the_notifiers_queued(tmp_path, write_workflow, store_url):
    """A report written after the messages were composed can say what was queued for sending."""
    plugin = types.SimpleNamespace(register_outputs=_register_stage_probe)
    write_posts(tmp_path / "posts.csv", [("instagram", "a", "b1", "2026-11-17T10:00:00Z", 6, 1, 1, 0, 1500)])
    path = write_workflow(workflow_text(extra=BIG_REACH + f'''
[[outputs]]
id = "mail"
plugin = "email"
to = ["team@example.com"]
from_address = "cmflow@example.com"
transport = "file"
directory = "{tmp_path / 'mail'}"

[[outputs]]
plugin = "stage_probe"
'''))
    with registered_plugin(plugin):
        result = run_workflow_file(path, store_url=store_url, period=WEEK_B)
    assert ("output", "mail", "1 message(s) queued") in StageProbe.seen
    assert stage(result, "output", "mail").note.startswith("1 message(s) delivered")
    assert [s.kind for s in result.stages].count("output") == 2
