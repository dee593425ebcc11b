"""The ``spike`` trigger: a count against the mean of the periods just before it.

The trigger's input is built as the runner hands it over (``current``, ``history-1`` ...),
except the last test, which runs a workflow on a JSON export of comments.
"""

from __future__ import annotations

import json
import re
from contextlib import ExitStack
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import polars as pl
import pytest
from pydantic import ValidationError

from cmflow import Period, TriggerInput
from cmflow.builtin.metrics import conversation_counts
from cmflow.builtin.triggers import spike
from cmflow.builtin.triggers.spike import Spike
from cmflow.foundation.measurements import standardise, with_series_key
from cmflow.testing import registered_plugin, run_workflow_file
from cmflow.workflow import load_workflow

MONDAY = date(2026, 11, 23)
DOCS_PAGE = Path(__file__).resolve().parent.parent / "docs" / "triggers" / "spike.md"


def counts_input(series: dict[str | None, list[float | None]], *, period: Period | None = None,
                 metric: str = "mentions", unit: str = "mentions") -> TriggerInput:
    """Counts per platform (None: overall), oldest first, the last one the current period's.
    None leaves the series out of that period (it had no row)."""
    period = period or Period(MONDAY, MONDAY, "UTC")
    rows = []
    for platform, values in series.items():
        for back, value in enumerate(reversed(values)):
            if value is not None:
                rows.append({"period": "current" if back == 0 else f"history-{back}", "metric": metric,
                             "unit": unit, "value": float(value), "reason": None, "platform": platform})
    frame = with_series_key(standardise([pl.DataFrame(rows, schema_overrides={"platform": pl.String})]))
    current = frame.filter(pl.col("period") == "current")
    return TriggerInput(current, current.head(0), period, history=frame.filter(pl.col("period") != "current"))


def trigger(**options) -> Spike:
    return Spike(Spike.Options(**options), entry_id="spike_mentions")


def fired(data: TriggerInput, **options) -> list[str | None]:
    return [a.dimensions.get("platform") for a in trigger(**options).evaluate(data)]


def test_a_burst_of_mentions_fires_with_its_baseline_in_the_summary() -> None:
    data = counts_input({"x": [3, 4, 2, 3, 30], "bluesky": [1, 0, 2, 1, 2]})
    (alert,) = trigger().evaluate(data)
    assert alert.summary == ("Mentions spiked for x: 30 mentions on 2026-11-23 vs an average of "
                             "3 mentions over the previous 4 days (x10.0)")
    assert alert.dimensions == {"platform": "x"} and alert.value == 30 and alert.metric == "mentions"
    assert alert.details == {"count": 30, "baseline_mean": 3, "baseline_periods": 4, "increase": 27,
                             "ratio": 10, "unit": "mentions", "period_start": "2026-11-23",
                             "period_end": "2026-11-23", "period_unit": "days"}
    assert alert.summary in DOCS_PAGE.read_text(encoding="utf-8")  # the worked example


def test_below_min_count_nothing_fires_however_quiet_the_baseline() -> None:
    data = counts_input({"x": [0, 1, 0, 1, 9]})  # 18 times the mean, but 9 mentions
    assert fired(data) == []
    assert fired(data, min_count=9) == ["x"]


def test_the_count_must_reach_factor_times_the_mean() -> None:
    assert fired(counts_input({"x": [10, 10, 10, 10, 19]})) == []
    assert fired(counts_input({"x": [10, 10, 10, 10, 20]})) == ["x"]  # inclusive
    assert fired(counts_input({"x": [10, 10, 10, 10, 29]}), factor=3) == []
    assert fired(counts_input({"x": [10, 10, 10, 10, 30]}), factor=3) == ["x"]


def test_min_increase_replaces_factor_unless_both_are_set() -> None:
    data = counts_input({"x": [100, 90, 110, 100, 140]})  # mean 100: +40, x1.4
    assert fired(data) == []
    assert fired(data, min_increase=30) == ["x"]
    assert fired(data, min_increase=50) == []
    assert fired(data, min_increase=30, factor=2) == []  # both set: both must hold
    assert fired(data, min_increase=30, factor=1.3) == ["x"]


def test_a_series_new_in_the_current_period_rises_from_zero() -> None:
    """A post with no comments before (no row in the measured days) that gets 12 today."""
    data = counts_input({"x": [5, 4, 6, 5, 5], "bluesky": [None, None, None, None, 12]})
    (alert,) = trigger().evaluate(data)
    assert alert.dimensions == {"platform": "bluesky"}
    assert alert.summary == "Mentions spiked for bluesky: 12 mentions on 2026-11-23 vs none in the previous 4 days"
    assert alert.details["baseline_mean"] == 0 and alert.details["ratio"] is None


def test_a_missing_series_counts_zero_only_in_periods_that_were_measured() -> None:
    """Days that nothing was measured for do not pull the mean down."""
    data = counts_input({"x": [None, None, 10, 10, 25], "bluesky": [None, None, None, 2, 2]})
    row = trigger().assess(data).filter(pl.col("platform") == "x").row(0, named=True)
    assert (row["baseline_periods"], row["baseline_mean"]) == (2, 10)
    bluesky = trigger().assess(data).filter(pl.col("platform") == "bluesky").row(0, named=True)
    assert bluesky["baseline_mean"] == 1  # 2 mentions over the 2 measured days


def test_without_any_measured_baseline_nothing_fires() -> None:
    """A first run with no history: there is nothing to call the count a spike against."""
    assert fired(counts_input({"x": [500]})) == []


def test_only_the_baseline_window_is_read() -> None:
    data = counts_input({"x": [1000, 1000, 10, 10, 10, 10, 25]})  # history-5, -6 are huge
    assert fired(data) == ["x"]
    assert trigger(baseline_periods=6).assess(data)["baseline_mean"][0] == pytest.approx(2040 / 6)
    assert fired(data, baseline_periods=6) == []
    assert trigger(baseline_periods=6).history_needed() == 6 and trigger().history_needed() == 4


def test_a_count_equal_to_the_mean_is_not_a_spike() -> None:
    assert fired(counts_input({"x": [0, 0, 0, 0, 0]}), min_count=0) == []
    assert fired(counts_input({"x": [0, 0, 0, 0, 1]}), min_count=0) == ["x"]


def test_scores_overall_and_every_platform_at_once() -> None:
    data = counts_input({None: [10, 12, 11, 9, 60], "x": [8, 10, 9, 7, 55], "bluesky": [2, 2, 2, 2, 5]})
    assert sorted(fired(data), key=str) == [None, "x"]
    summaries = [a.summary for a in trigger().evaluate(data)]
    assert any(s.startswith("Mentions spiked overall: 60 mentions") for s in summaries)


def test_weekly_periods_read_as_weeks() -> None:
    week = Period(date(2026, 11, 16), date(2026, 11, 22), "UTC", unit="week")
    (alert,) = trigger().evaluate(counts_input({"x": [20, 22, 18, 20, 80]}, period=week))
    assert alert.summary == ("Mentions spiked for x: 80 mentions in 2026-11-16..2026-11-22 vs an "
                             "average of 20 mentions over the previous 4 weeks (x4.0)")


def test_options_are_checked() -> None:
    for bad in ({"factor": 1.0}, {"min_count": -1}, {"baseline_periods": 0}, {"min_increase": 0}):
        with pytest.raises(ValidationError):
            Spike.Options(**bad)


def run_buzz(tmp_path, store_url, rows: list[dict], *, metric: str, by: list[str], trigger_extra: str = ""):
    """Run a daily bad-buzz workflow (yesterday, 2026-11-23) over these conversation records:
    ``metric`` by ``by``, and a ``spike`` on it."""
    (tmp_path / "comments.json").write_text(json.dumps(rows), encoding="utf-8")
    (tmp_path / "buzz.toml").write_text(f"""
[workflow]
name = "Bad buzz"
period = "yesterday"
as_of = "2026-11-24"

[[sources]]
plugin = "json"
path = "comments.json"
record = "conversation"

[[metrics]]
plugin = "{metric}"
by = {json.dumps(by)}

[[triggers]]
plugin = "spike"
metric = "{metric}"
{trigger_extra}
""", encoding="utf-8")
    with ExitStack() as stack:
        stack.enter_context(registered_plugin(conversation_counts))
        stack.enter_context(registered_plugin(spike))
        return run_workflow_file(tmp_path / "buzz.toml", store_url=store_url)


def test_a_run_on_comments_fires_for_the_account_in_a_bad_buzz(tmp_path, store_url) -> None:
    """Account "a" gets 45 comments on Monday after 4 to 6 a day; "b" stays at its usual 10."""
    per_day = {"a": [5, 4, 6, 5, 45], "b": [10, 9, 11, 10, 10]}
    rows = []
    for account, values in per_day.items():
        for back, count in enumerate(reversed(values)):
            day = datetime.combine(MONDAY - timedelta(days=back), datetime.min.time(), timezone.utc)
            rows += [{"platform": "instagram", "account": account, "message_id": f"{account}{back}-{i}",
                      "received_at": (day + timedelta(minutes=10 * i)).isoformat(), "post_id": "p1"}
                     for i in range(count)]
    result = run_buzz(tmp_path, store_url, rows, metric="comments_received", by=["account"],
                      trigger_extra='severity = "critical"')
    assert result.status == "ok", [s.error for s in result.failed_stages]
    (alert,) = result.alerts
    assert alert.summary == ("Comments received spiked for instagram / a: 45 comments on 2026-11-23 vs "
                             "an average of 5 comments over the previous 4 days (x9.0)")
    assert alert.severity == "critical" and alert.rule == "spike_comments_received"


def test_a_run_on_one_posts_negative_comments_names_that_post(tmp_path, store_url) -> None:
    """Post p2 draws 30 negative comments on Monday; the account's other post and its direct
    messages stay as usual. The alert names the post, not the whole account."""
    rows = []
    for back in range(5):
        day = datetime.combine(MONDAY - timedelta(days=back), datetime.min.time(), timezone.utc)
        usual = [("p1", "positive"), ("p1", "negative"), ("p2", "neutral"), ("p2", "negative"), (None, "negative")]
        burst = [("p2", "negative")] * 30 if back == 0 else []
        rows += [{"platform": "instagram", "account": "a", "message_id": f"{back}-{i}", "post_id": post,
                  "sentiment": sentiment, "received_at": (day + timedelta(minutes=i)).isoformat()}
                 for i, (post, sentiment) in enumerate(usual + burst)]
    result = run_buzz(tmp_path, store_url, rows, metric="negative_comments", by=["account", "post"])
    assert result.status == "ok", [s.error for s in result.failed_stages]
    # The account as a whole: 33 against 3 a day also spikes; the post is named on its own.
    assert sorted(a.summary for a in result.alerts) == [
        "Negative comments spiked for instagram / a / post p2: 31 comments on 2026-11-23 vs an average "
        "of 1 comment over the previous 4 days (x31.0)",
        "Negative comments spiked for instagram / a: 33 comments on 2026-11-23 vs an average of 3 "
        "comments over the previous 4 days (x11.0)"]
    [post_alert] = [a for a in result.alerts if "post_id" in a.dimensions]
    assert post_alert.dimensions == {"platform": "instagram", "account": "a", "post_id": "p2"}


def test_the_docs_example_validates(tmp_path) -> None:
    blocks = re.findall(r"^```toml\n(.*?)^```$", DOCS_PAGE.read_text(encoding="utf-8"), re.MULTILINE | re.DOTALL)
    assert blocks
    for block in blocks:
        (tmp_path / "example.toml").write_text(block, encoding="utf-8")
        with ExitStack() as stack:
            stack.enter_context(registered_plugin(conversation_counts))
            stack.enter_context(registered_plugin(spike))
            workflow = load_workflow(tmp_path / "example.toml")
        assert {t.info.name for t in workflow.triggers} == {"spike"}
