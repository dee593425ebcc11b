"""The ``anomaly`` trigger: a series against its own history, by median and MAD.

Most tests build the trigger's input the way the runner hands it over: the current day's
measurements and the days before labelled ``history-1`` .. ``history-N``, with series keys.
Robust z-scores are recomputed here with the standard library's ``statistics`` as the
reference. The last tests run whole workflows: history measured from a JSON export of mentions.
"""

from __future__ import annotations

import json
import random
import re
import statistics
from contextlib import ExitStack
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import polars as pl
import pytest
from pydantic import ValidationError

from cmflow import Period, TriggerInput, format_value
from cmflow.builtin.metrics import conversation_counts
from cmflow.builtin.triggers import anomaly
from cmflow.builtin.triggers.anomaly import Anomaly
from cmflow.foundation.errors import WorkflowInvalid
from cmflow.foundation.measurements import standardise, with_series_key
from cmflow.testing import registered_plugin, run_workflow_file
from cmflow.workflow import load_workflow

MONDAY = date(2026, 11, 23)
SUNDAY = MONDAY - timedelta(days=1)
DOCS_PAGE = Path(__file__).resolve().parent.parent / "docs" / "triggers" / "anomaly.md"
WEEKLY_PROFILE = (1.0, 1.05, 1.1, 1.05, 1.0, 0.7, 0.6)
"""A weekly cycle: weekdays busy, the weekend 30-40% quieter (index = weekday, Monday 0)."""


def daily_input(series: dict[str, list[float | None]], *, day: date = MONDAY,
                metric: str = "engagement_rate_by_reach", unit: str = "%") -> TriggerInput:
    """Daily measurements per account (values oldest first, the last one is ``day``), as the
    runner hands them to a trigger: ``current`` and ``history-1`` (the day before) ..."""
    rows, dates = [], {}
    for account, values in series.items():
        for back, value in enumerate(reversed(values)):
            label = "current" if back == 0 else f"history-{back}"
            dates[label] = day - timedelta(days=back)
            rows.append({"period": label, "metric": metric, "unit": unit, "value": value,
                         "reason": None if value is not None else "no posts in this period",
                         "platform": "instagram", "account": account})
    frame = standardise([pl.DataFrame(rows, schema_overrides={"value": pl.Float64})])
    bounds = pl.DataFrame({"period": list(dates), "period_start": list(dates.values()),
                           "period_end": list(dates.values())})
    frame = with_series_key(frame.join(bounds, on="period", how="left"))
    current = frame.filter(pl.col("period") == "current")
    return TriggerInput(current, current.head(0), Period(day, day, "UTC"),
                        history=frame.filter(pl.col("period") != "current"))


def weekly_cycle(days: int, level: float, noise: float = 0.0, seed: int = 0, end: date = MONDAY,
                 same_noise_every_day: bool = False) -> list[float]:
    """``days`` daily values ending on ``end``: level x the weekday's profile, times (1 + noise),
    or plus noise x level when the noise is ``same_noise_every_day`` (as the method assumes)."""
    draw = random.Random(seed)
    start = end - timedelta(days=days - 1)
    values = []
    for i in range(days):
        expected = level * WEEKLY_PROFILE[(start + timedelta(days=i)).weekday()]
        error = draw.gauss(0, noise)
        values.append(expected + error * level if same_noise_every_day else expected * (1 + error))
    return values


def small_counts(days: int, typical: int, seed: int) -> list[float]:
    """Small daily counts: ``typical`` give or take 1 or 2."""
    draw = random.Random(seed)
    return [float(max(0, typical + draw.choice((-2, -1, -1, 0, 0, 0, 1, 1, 2)))) for _ in range(days)]


def trigger(**options) -> Anomaly:
    return Anomaly(Anomaly.Options(**options), entry_id="anomaly_err")


def reference(days: list[float | None], today: float, weeks: int = 8) -> tuple[float, float, float]:
    """The method as docs/triggers/anomaly.md states it, written plainly: median, MAD and z for
    ``today`` after ``days`` (oldest first, the last one is yesterday)."""
    window = days[-7 * weeks:]
    seasons: dict[int, list[float]] = {season: [] for season in range(7)}
    for back in range(1, len(window) + 1):  # back 7, 14 ... are the same weekday as today
        if window[-back] is not None:
            seasons[back % 7].append(window[-back])
    median = statistics.median(seasons[0])
    residuals = [value - statistics.median(values[:i] + values[i + 1:])
                 for values in seasons.values() if len(values) > 1 for i, value in enumerate(values)]
    centre = statistics.median(residuals)
    mad = statistics.median([abs(r - centre) for r in residuals])
    if mad == 0:
        mad = statistics.mean([abs(r - centre) for r in residuals]) * 0.8453
    mad = max(mad, 0.01 * abs(median), 0.001)
    return median, mad, 0.6745 * (today - median) / mad


def docs_example() -> tuple[list[float], float]:
    """The worked example's 8 weeks of daily ERR (oldest first) and today's value, read from
    the table in docs/triggers/anomaly.md."""
    text = DOCS_PAGE.read_text(encoding="utf-8")
    weeks = re.findall(r"^\| week -\d \|(.*)\|$", text, re.MULTILINE)
    days = [float(cell) for week in weeks for cell in week.split("|")]
    today = float(re.search(r"^Today, Monday 2026-11-23: (\d+\.\d+)$", text, re.MULTILINE).group(1))
    return days, today


# -- what it catches -------------------------------------------------------------------------
def test_the_docs_worked_example_gives_the_alert_the_page_shows() -> None:
    """A viral Monday in the baseline does not hide the drop."""
    days, today = docs_example()
    assert len(days) == 56
    (alert,) = trigger().evaluate(daily_input({"maisonlumiere": [*days, today]}))
    median, mad, z = reference(days, today)
    assert (median, mad, z) == (pytest.approx(3.5), pytest.approx(0.1), pytest.approx(-7.42, abs=0.01))
    assert alert.summary == ("ERR (reach) 2.40% on 2026-11-23 is unusually low for instagram / "
                             "maisonlumiere (median of the last 8 Mondays 3.50%, z = -7.4)")
    assert alert.summary in DOCS_PAGE.read_text(encoding="utf-8")
    assert alert.dimensions == {"platform": "instagram", "account": "maisonlumiere"}
    assert alert.metric == "engagement_rate_by_reach" and alert.value == 2.4
    assert {k: alert.details[k] for k in ("median", "mad", "z")} == {
        "median": pytest.approx(median), "mad": pytest.approx(mad), "z": pytest.approx(z)}
    assert alert.details["baseline_points"] == 8


def test_scores_every_series_as_the_plain_reference_does() -> None:
    """Vectorised over 30 series, with gaps, equal to the method written as a loop per series."""
    draw = random.Random(5)
    series = {}
    for number in range(30):
        days = weekly_cycle(56, level=draw.uniform(1, 500), noise=draw.uniform(0.02, 0.3), seed=number, end=SUNDAY)
        for _ in range(draw.randrange(0, 6)):  # some days without a value
            days[draw.randrange(0, 56)] = None
        series[f"s{number:02d}"] = [*days, draw.uniform(1, 800)]
    scored = trigger().assess(daily_input(series, metric="total_reach", unit="count"))
    assert scored.height == 30
    for row in scored.iter_rows(named=True):
        values = series[row["account"]]
        median, mad, z = reference(values[:-1], values[-1])
        assert (row["median"], row["mad"], row["z"]) == (
            pytest.approx(median), pytest.approx(mad), pytest.approx(z))
        assert row["baseline_points"] == sum(v is not None for v in values[-57:-1:7])


def test_catches_exactly_the_injected_spikes_and_dips_among_many_series() -> None:
    """40 noisy weekly cycles scored at once; 3 spike today (x2.5) and 2 dip (x0.4).

    (How often noise alone fires, with noise of every shape, is what benchmarks/anomaly_eval.py
    measures: about 0.3 false alerts per series per 90 days at the defaults.)"""
    series = {f"account{i:02d}": weekly_cycle(57, level=100 + 37 * i, noise=0.04, seed=i,
                                              same_noise_every_day=True) for i in range(40)}
    spiked, dipped = {"account03", "account17", "account29"}, {"account08", "account33"}
    for account in spiked:
        series[account][-1] *= 2.5
    for account in dipped:
        series[account][-1] *= 0.4
    alerts = trigger().evaluate(daily_input(series, metric="total_reach", unit="count"))
    assert {a.dimensions["account"] for a in alerts} == spiked | dipped
    assert {a.dimensions["account"] for a in alerts if a.details["z"] > 0} == spiked
    assert all("unusually high" in a.summary for a in alerts if a.dimensions["account"] in spiked)


# -- what it stays quiet on ------------------------------------------------------------------
def test_stays_quiet_on_a_flat_weekly_cycle_every_day_of_90() -> None:
    """A perfectly regular week: each weekday equals its past, whatever the weekend dip."""
    days = weekly_cycle(56 + 90, level=4.0)
    anomaly_rule = trigger()
    for offset in range(90):
        end = MONDAY - timedelta(days=89 - offset)
        data = daily_input({"a": days[offset:offset + 57]}, day=end)
        assert anomaly_rule.evaluate(data) == [], end


def test_stays_quiet_on_a_noisy_weekly_cycle_that_the_previous_days_would_flag() -> None:
    """Sundays run 40% under Mondays: against the previous 14 days a Sunday looks abnormal,
    against previous Sundays it is normal."""
    sunday = MONDAY + timedelta(days=6)
    series = {f"acct{i}": weekly_cycle(57, level=3.0 + i, noise=0.01, seed=100 + i, end=sunday) for i in range(5)}
    data = daily_input(series, day=sunday)
    assert trigger().evaluate(data) == []
    naive = trigger(baseline="previous_periods", periods=14).evaluate(data)
    assert {a.dimensions["account"] for a in naive} == set(series)


def test_small_account_below_min_change_does_not_page() -> None:
    """8 comments where there are usually 0 to 3 is a large z, and not news."""
    days = small_counts(56, typical=1, seed=3)
    data = daily_input({"tiny": [*days, 8.0]}, metric="total_comments", unit="count")
    (alert,) = trigger().evaluate(data)  # what min_change holds back
    assert alert.details["z"] > 3.5 and alert.details["departure"] == 6
    assert trigger(min_change=10).evaluate(data) == []
    assert len(trigger(min_change=6).evaluate(data)) == 1  # the bound is inclusive


def test_min_change_pct_is_relative_to_the_median() -> None:
    days = weekly_cycle(56, level=1000, noise=0.002, seed=9, end=SUNDAY)  # MAD floored at 1% of the median
    data = daily_input({"big": [*days, 1060.0]}, metric="total_reach", unit="count")
    (alert,) = trigger().evaluate(data)
    assert alert.details["mad"] == pytest.approx(0.01 * alert.details["median"])
    assert alert.details["departure_pct"] == pytest.approx(6.0, abs=0.3)
    assert trigger(min_change_pct=10).evaluate(data) == []
    assert len(trigger(min_change_pct=5).evaluate(data)) == 1


def test_direction_limits_which_side_fires() -> None:
    days = weekly_cycle(56, level=3.4, noise=0.03, seed=4, end=SUNDAY)
    low, high = daily_input({"a": [*days, 1.0]}), daily_input({"a": [*days, 6.0]})
    assert len(trigger(direction="down").evaluate(low)) == 1
    assert trigger(direction="down").evaluate(high) == []
    assert trigger(direction="up").evaluate(low) == []
    assert len(trigger(direction="up").evaluate(high)) == 1
    assert len(trigger().evaluate(low)) == len(trigger().evaluate(high)) == 1


def test_threshold_is_strict() -> None:
    days = weekly_cycle(56, level=50, noise=0.05, seed=6, end=SUNDAY)
    median, mad, _ = reference(days, 0)
    at_threshold = median + 3.5 * mad / 0.6745
    assert trigger().assess(daily_input({"a": [*days, at_threshold]}))["z"][0] == pytest.approx(3.5)
    assert trigger().evaluate(daily_input({"a": [*days, at_threshold - 1e-6]})) == []
    assert len(trigger().evaluate(daily_input({"a": [*days, at_threshold + 1e-6]}))) == 1
    # Exactly at the threshold (a flat history: MAD 1, z = 0.6745 x 4 / 1 to the last bit).
    flat = daily_input({"a": [100.0] * 56 + [104.0]}, unit="count")
    assert trigger(threshold=0.6745 * 4).evaluate(flat) == []
    assert len(trigger(threshold=0.6745 * 4 - 1e-9).evaluate(flat)) == 1


# -- the MAD floor, sparse counts and short histories ----------------------------------------
def test_a_perfectly_flat_history_uses_the_mad_floor_of_1pct_of_the_median() -> None:
    def scored(today: float):
        data = daily_input({"a": [100.0] * 56 + [today]}, metric="total_reach", unit="count")
        return trigger().assess(data).row(0, named=True), trigger().evaluate(data)

    row, alerts = scored(100)
    assert (row["mad"], row["z"], alerts) == (1.0, 0.0, [])
    row, alerts = scored(104)  # 4% above: z = 0.6745 x 4 / 1 = 2.7
    assert row["z"] == pytest.approx(2.698) and alerts == []
    row, alerts = scored(106)  # 6% above: z = 4.0
    assert row["z"] == pytest.approx(4.047) and len(alerts) == 1


def test_a_history_of_zeros_gives_a_finite_z() -> None:
    quiet = [0.0] * 56
    assert trigger().evaluate(daily_input({"q": [*quiet, 0.0]}, metric="mentions", unit="mentions")) == []
    (alert,) = trigger().evaluate(daily_input({"q": [*quiet, 2.0]}, metric="mentions", unit="mentions"))
    assert alert.details["mad"] == 0.001 and alert.details["z"] == pytest.approx(0.6745 * 2 / 0.001)
    assert json.dumps(alert.details, allow_nan=False)  # storable: no inf, no NaN


def test_when_most_residuals_are_zero_the_mean_deviation_stands_in() -> None:
    """Eight weeks at 0 but one Monday at 2: the MAD of the residuals is 0, their mean
    absolute deviation is 2 / 56."""
    days = [0.0] * 56
    days[0] = 2.0  # 8 weeks back: a Monday
    row = trigger().assess(daily_input({"a": [*days, 0.0]}, unit="count")).row(0, named=True)
    assert row["mad"] == pytest.approx(2 / 56 * 0.8453)
    assert row["median"] == 0 and row["z"] == 0 and not row["unusual"]


def test_below_min_history_nothing_fires_and_the_note_says_why() -> None:
    days: list[float | None] = weekly_cycle(56, level=3.3, noise=0.03, seed=8, end=SUNDAY)
    for back in (35, 42, 49, 56):  # only 4 of the 8 Mondays known; then 3
        days[-back] = None
    data = daily_input({"new": [*days, 0.5]})
    assert len(trigger().evaluate(data)) == 1
    days[-28] = None
    data = daily_input({"new": [*days, 0.5]})
    assert trigger().evaluate(data) == []
    assert data.notes == ["1 series not judged yet: fewer than 4 baseline values (the history builds up "
                          "run after run)"]
    row = trigger().assess(data).row(0, named=True)
    assert row["baseline_points"] == 3
    assert row["note"] == "not enough history: 3 of the 4 baseline values needed"
    (alert,) = trigger(min_history=3).evaluate(data)
    assert "median of the last 3 Mondays" in alert.summary


def test_no_history_at_all_does_not_fire() -> None:
    data = daily_input({"a": [9.9]})
    assert trigger().evaluate(data) == []
    assert trigger().assess(data)["note"][0] == "not enough history: 0 of the 4 baseline values needed"


def test_same_weekday_reads_only_its_weeks() -> None:
    """A wild week 9 weeks back is outside the baseline; weeks = 4 reads 4 Mondays."""
    days = [1000.0] * 7 + weekly_cycle(56, level=5.0, noise=0.02, seed=2, end=SUNDAY)
    data = daily_input({"a": [*days, 5.0]})
    row = trigger().assess(data).row(0, named=True)
    assert row["baseline_points"] == 8 and not row["unusual"]
    median, mad, _ = reference(days, 5.0)
    assert (row["median"], row["mad"]) == (pytest.approx(median), pytest.approx(mad))
    assert trigger(weeks=4).assess(data)["baseline_points"][0] == 4


def test_previous_periods_reads_the_periods_just_before() -> None:
    days = [100.0] * 10 + [10.0, 11.0, 10.0, 12.0, 11.0]
    row = trigger(baseline="previous_periods", periods=5).assess(
        daily_input({"a": [*days, 11.0]}, unit="count")).row(0, named=True)
    assert (row["baseline_points"], row["median"]) == (5, 11.0)
    spiked = daily_input({"a": [*days, 30.0]}, unit="count")
    (alert,) = trigger(baseline="previous_periods", periods=5).evaluate(spiked)
    assert "median of the previous 5 days 11" in alert.summary


def test_a_series_without_a_value_now_is_left_to_the_no_data_rule() -> None:
    data = daily_input({"a": [*weekly_cycle(56, level=3.0, end=SUNDAY), None]})
    assert trigger().evaluate(data) == [] and trigger().assess(data).height == 0


def test_a_weekly_period_cannot_use_same_weekday() -> None:
    data = daily_input({"a": [1.0]})
    data.period = Period(date(2026, 11, 16), date(2026, 11, 22), "UTC", unit="week")
    with pytest.raises(ValueError, match="same_weekday"):
        trigger().evaluate(data)
    assert trigger(baseline="previous_periods").evaluate(data) == []


# -- options ---------------------------------------------------------------------------------
def test_history_needed_follows_the_baseline() -> None:
    assert trigger().history_needed() == 56
    assert trigger(weeks=12).history_needed() == 84
    assert trigger(baseline="previous_periods", periods=6).history_needed() == 6


def test_min_history_larger_than_the_baseline_is_refused() -> None:
    with pytest.raises(ValidationError, match="could never fire"):
        Anomaly.Options(weeks=3)  # min_history 4 > 3 Mondays
    with pytest.raises(ValidationError, match="could never fire"):
        Anomaly.Options(baseline="previous_periods", periods=5, min_history=6)
    with pytest.raises(ValidationError):
        Anomaly.Options(direction="sideways")


# -- through whole workflows -----------------------------------------------------------------
def write_mentions(path: Path, per_day: dict[date, int]) -> None:
    rows = [{"platform": "x", "mention_id": f"{day}-{i}", "author": "someone",
             "published_at": datetime.combine(day, datetime.min.time(), timezone.utc).isoformat()
             .replace("00:00:00", f"{9 + i % 10:02d}:{i % 60:02d}:00")}
            for day, count in per_day.items() for i in range(count)]
    path.write_text(json.dumps(rows), encoding="utf-8")


WORKFLOW = """
[workflow]
name = "Buzz watch"
period = "{period}"
as_of = "2026-11-24"

[[sources]]
id = "monitoring"
plugin = "json"
path = "mentions.json"
record = "mention"

[[metrics]]
plugin = "mentions"
by = ["platform"]

[[triggers]]
plugin = "anomaly"
metric = "mentions"
direction = "up"
min_change = 10
"""


@pytest.fixture
def plugins():
    with ExitStack() as stack:
        stack.enter_context(registered_plugin(conversation_counts))
        stack.enter_context(registered_plugin(anomaly))
        yield


def test_a_run_measures_eight_weeks_of_history_from_the_records(plugins, tmp_path, store_url) -> None:
    """Mentions run about 20 on Mondays and 8 other days; Monday 2026-11-23 has 45. The
    runner measures the 56 days before from the same export."""
    mondays, others = small_counts(56, typical=20, seed=1), small_counts(56, typical=8, seed=2)
    history = [mondays[i] if (56 - i) % 7 == 0 else others[i] for i in range(56)]  # oldest first
    per_day = {MONDAY - timedelta(days=56 - i): int(count) for i, count in enumerate(history)}
    per_day[MONDAY] = 45
    write_mentions(tmp_path / "mentions.json", per_day)
    (tmp_path / "buzz.toml").write_text(WORKFLOW.format(period="yesterday"), encoding="utf-8")
    result = run_workflow_file(tmp_path / "buzz.toml", store_url=store_url)
    assert result.status == "ok", [s.error for s in result.failed_stages]
    median, mad, z = reference(history, 45)
    (alert,) = result.alerts
    assert alert.summary == (f"Mentions 45 mentions on 2026-11-23 is unusually high for x (median of "
                             f"the last 8 Mondays {format_value(median, 'mentions')} mentions, z = {z:+.1f})")
    assert alert.details["mad"] == pytest.approx(mad) and alert.dimensions == {"platform": "x"}

    per_day[MONDAY] = int(median) + 1  # an ordinary Monday: the alert resolves
    write_mentions(tmp_path / "mentions.json", per_day)
    result = run_workflow_file(tmp_path / "buzz.toml", store_url=store_url)
    assert result.alerts == [] and [a.rule for a in result.resolved] == ["anomaly_mentions"]


def test_same_weekday_with_a_weekly_period_is_a_validation_error(plugins, tmp_path) -> None:
    (tmp_path / "buzz.toml").write_text(WORKFLOW.format(period="last_week"), encoding="utf-8")
    with pytest.raises(WorkflowInvalid) as caught:
        load_workflow(tmp_path / "buzz.toml")
    (problem,) = caught.value.problems
    assert problem.path == "triggers[0].baseline"
    assert "\"same_weekday\" compares days" in problem.message and "previous_periods" in problem.message


def test_the_docs_example_validates(plugins, tmp_path) -> None:
    text = DOCS_PAGE.read_text(encoding="utf-8")
    blocks = re.findall(r"^```toml\n(.*?)^```$", text, re.MULTILINE | re.DOTALL)
    workflows = [b for b in blocks if "[workflow]" in b]
    assert workflows
    for block in workflows:
        (tmp_path / "example.toml").write_text(block, encoding="utf-8")
        workflow = load_workflow(tmp_path / "example.toml")
        assert {t.info.name for t in workflow.triggers} == {"anomaly"}
