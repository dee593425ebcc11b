"""The ``target`` trigger: a KPI against its objective, a verdict per series, alerts off track.

Most tests build the current period's measurements directly; the last runs a workflow on a
CSV export and reads the verdicts from the run's result.
"""

from __future__ import annotations

import csv
import re
from contextlib import ExitStack
from datetime import date, datetime, timezone
from pathlib import Path

import polars as pl
import pytest
from pydantic import ValidationError

from cmflow import Period, TriggerInput, Verdict
from cmflow.builtin.triggers import target
from cmflow.builtin.triggers.target import Target, elapsed_share
from cmflow.foundation.measurements import standardise, with_series_key
from cmflow.testing import registered_plugin, run_workflow_file
from cmflow.workflow import load_workflow

NOVEMBER = Period(date(2026, 11, 1), date(2026, 11, 30), "UTC", unit="month")
Q4 = Period(date(2026, 10, 1), date(2026, 12, 31), "UTC", unit="quarter")
AFTER = datetime(2027, 1, 5, 9, tzinfo=timezone.utc)
DOCS_PAGE = Path(__file__).resolve().parent.parent / "docs" / "triggers" / "target.md"


def kpi_input(values: dict[str, float | None], *, period: Period = NOVEMBER, now: datetime = AFTER,
              metric: str = "engagement_rate_by_reach", unit: str = "%") -> TriggerInput:
    """One current measurement per Instagram account."""
    rows = [{"period": "current", "metric": metric, "unit": unit, "value": value, "platform": "instagram",
             "account": account, "reason": None if value is not None else "no posts in this period"}
            for account, value in values.items()]
    frame = with_series_key(standardise([pl.DataFrame(rows, schema_overrides={"value": pl.Float64})]))
    return TriggerInput(frame, frame.head(0), period, now=now)


def judge(data: TriggerInput, **options) -> tuple[dict[str, str], list[str]]:
    """Status per account from the verdicts, and the accounts alerted."""
    alerts = Target(Target.Options(**options), entry_id="target_err").evaluate(data)
    return ({v.dimensions["account"]: v.status for v in data.verdicts},
            [a.dimensions["account"] for a in alerts])


def test_a_level_kpi_is_on_track_at_risk_or_off_track() -> None:
    data = kpi_input({"a": 3.2, "b": 2.8, "c": 2.5, "d": None})
    statuses, alerted = judge(data, objective=3.0)
    assert statuses == {"a": "on_track", "b": "at_risk", "c": "off_track"}  # d has no value: no verdict
    assert alerted == ["c"]
    verdicts = {v.dimensions["account"]: v for v in data.verdicts}
    assert verdicts["c"] == Verdict(
        "target_err", "engagement_rate_by_reach", {"platform": "instagram", "account": "c"}, "off_track",
        2.5, 3.0, "ERR (reach) for instagram / c: 2.50%, off track (objective at least 3.00%, 17% short)")
    assert verdicts["b"].summary == ("ERR (reach) for instagram / b: 2.80%, at risk (objective at "
                                     "least 3.00%, 6.7% short)")
    assert verdicts["a"].summary == "ERR (reach) for instagram / a: 3.20%, on track (objective at least 3.00%)"
    page = DOCS_PAGE.read_text(encoding="utf-8")  # the worked example shows these three lines
    assert all(f"\n{v.summary}\n" in page for v in data.verdicts)


def test_the_alert_carries_the_verdict() -> None:
    data = kpi_input({"c": 2.5})
    (alert,) = Target(Target.Options(objective=3.0), entry_id="target_err").evaluate(data)
    assert alert.summary == data.verdicts[0].summary and alert.value == 2.5
    assert alert.details == {"status": "off_track", "objective": 3.0, "expected": 3.0,
                             "direction": "at_least", "kind": "level", "elapsed": 1.0,
                             "gap_pct": pytest.approx(100 / 6), "unit": "%"}


def test_alert_on_at_risk_alerts_at_risk_series_too() -> None:
    _, alerted = judge(kpi_input({"a": 3.2, "b": 2.8, "c": 2.5}), objective=3.0, alert_on="at_risk")
    assert alerted == ["b", "c"]


def test_the_margin_bounds_are_inclusive() -> None:
    statuses, _ = judge(kpi_input({"exact": 3.0, "edge": 2.7, "past": 2.69}), objective=3.0)
    assert statuses == {"exact": "on_track", "edge": "at_risk", "past": "off_track"}
    statuses, _ = judge(kpi_input({"close": 2.99}), objective=3.0, at_risk_margin=0)
    assert statuses == {"close": "off_track"}


def test_at_most_holds_the_kpi_under_the_objective() -> None:
    """Hours to answer a comment: at most 2."""
    data = kpi_input({"fast": 1.5, "late": 2.1, "slow": 3.0}, metric="response_time", unit="hours")
    statuses, alerted = judge(data, objective=2, direction="at_most")
    assert statuses == {"fast": "on_track", "late": "at_risk", "slow": "off_track"}
    assert alerted == ["slow"]
    slow = next(v for v in data.verdicts if v.dimensions["account"] == "slow")
    assert slow.summary == ("Response time for instagram / slow: 3 hours, off track (objective at most "
                            "2 hours, 50% over)")


def test_a_cumulative_kpi_is_held_to_its_pace_while_the_period_runs() -> None:
    """+500 followers this quarter; on 15 November at noon, 45.5 of its 92 days are gone."""
    now = datetime(2026, 11, 15, 12, tzinfo=timezone.utc)
    assert elapsed_share(Q4, now) == pytest.approx(45.5 / 92)
    expected = 500 * 45.5 / 92  # 247.3
    data = kpi_input({"ahead": 260, "close": 240, "behind": 200}, period=Q4, now=now,
                     metric="follower_growth", unit="followers")
    statuses, alerted = judge(data, objective=500, kind="cumulative")
    assert statuses == {"ahead": "on_track", "close": "at_risk", "behind": "off_track"}
    assert alerted == ["behind"]
    behind = next(v for v in data.verdicts if v.dimensions["account"] == "behind")
    assert behind.expected == pytest.approx(expected) and behind.objective == 500
    assert behind.summary == ("Follower growth for instagram / behind: 200 followers, off track "
                              "(objective at least 500 followers; expected 247 followers by now, 49% "
                              "of 2026-10-01..2026-12-31 gone; 19% short)")
    assert f"\n{behind.summary}\n" in DOCS_PAGE.read_text(encoding="utf-8")


def test_a_cumulative_kpi_of_a_finished_period_is_a_plain_comparison() -> None:
    data = kpi_input({"a": 480}, period=Q4, now=AFTER, metric="follower_growth", unit="followers")
    statuses, alerted = judge(data, objective=500, kind="cumulative")
    assert statuses == {"a": "at_risk"} and alerted == []
    assert data.verdicts[0].expected == 500
    assert data.verdicts[0].summary == ("Follower growth for instagram / a: 480 followers, at risk "
                                        "(objective at least 500 followers, 4% short)")


def test_before_the_period_starts_a_cumulative_kpi_is_on_track() -> None:
    before = datetime(2026, 9, 30, 12, tzinfo=timezone.utc)
    data = kpi_input({"a": 0}, period=Q4, now=before, metric="follower_growth", unit="followers")
    statuses, _ = judge(data, objective=500, kind="cumulative")
    assert statuses == {"a": "on_track"} and data.verdicts[0].expected == 0


def test_a_level_kpi_ignores_how_far_the_period_has_run() -> None:
    early = datetime(2026, 11, 2, tzinfo=timezone.utc)
    statuses, _ = judge(kpi_input({"a": 2.5}, now=early), objective=3.0)
    assert statuses == {"a": "off_track"}


def test_elapsed_share_counts_local_days() -> None:
    paris = Period(date(2026, 10, 1), date(2026, 10, 31), "Europe/Paris", unit="month")
    assert elapsed_share(paris, datetime(2026, 9, 30, 22, 0, tzinfo=timezone.utc)) == 0.0  # midnight in Paris
    assert elapsed_share(paris, datetime(2026, 10, 31, 23, 0, tzinfo=timezone.utc)) == 1.0
    middle = elapsed_share(paris, datetime(2026, 10, 16, 11, 0, tzinfo=timezone.utc))
    assert 0.49 < middle < 0.51


def test_options_are_checked() -> None:
    with pytest.raises(ValidationError):
        Target.Options()  # objective is required
    for bad in ({"at_risk_margin": 100}, {"at_risk_margin": -1}, {"direction": "above"},
                {"kind": "total"}, {"alert_on": "on_track"}):
        with pytest.raises(ValidationError):
            Target.Options(objective=3, **bad)


def test_a_run_puts_a_verdict_per_account_in_the_result(tmp_path, store_url) -> None:
    """Week of 16 November: ERR of account a is 5%, of b 2%; the objective is 3%."""
    with (tmp_path / "posts.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["platform", "account", "post_id", "published_at", "likes", "comments", "shares",
                         "saves", "reach"])
        writer.writerow(["instagram", "a", "a1", "2026-11-17T10:00:00Z", 10, 2, 3, 5, 400])
        writer.writerow(["instagram", "b", "b1", "2026-11-18T10:00:00Z", 6, 1, 1, 0, 400])
    (tmp_path / "kpi.toml").write_text("""
[workflow]
name = "Objectives"
period = "last_week"
as_of = "2026-11-24"

[[sources]]
plugin = "csv"
path = "posts.csv"

[[metrics]]
plugin = "engagement_rate_by_reach"
by = ["account"]

[[triggers]]
plugin = "target"
metric = "engagement_rate_by_reach"
objective = 3.0
""", encoding="utf-8")
    with ExitStack() as stack:
        stack.enter_context(registered_plugin(target))
        result = run_workflow_file(tmp_path / "kpi.toml", store_url=store_url)
    assert result.status == "ok", [s.error for s in result.failed_stages]
    assert {v.dimensions["account"]: (v.status, v.value) for v in result.verdicts} == {
        "a": ("on_track", pytest.approx(5.0)), "b": ("off_track", pytest.approx(2.0))}
    (alert,) = result.alerts
    assert alert.dimensions == {"platform": "instagram", "account": "b"}
    assert alert.rule == "target_engagement_rate_by_reach"


def test_the_docs_example_validates(tmp_path) -> None:
    blocks = re.findall(r"^```toml\n(.*?)^```$", DOCS_PAGE.read_text(encoding="utf-8"), re.MULTILINE | re.DOTALL)
    assert blocks
    for block in blocks:
        (tmp_path / "example.toml").write_text(block, encoding="utf-8")
        with registered_plugin(target):
            workflow = load_workflow(tmp_path / "example.toml")
        assert {t.info.name for t in workflow.triggers} == {"target"}
