"""The response-time metrics, figures computed by hand: ``response_times`` (business and wall
clock) and ``unanswered_negative``, through the runner's metric stage.

The period is the week of Monday 30 November 2026 in Paris (UTC+1); the run counts as of Monday
7 December 10:00 Paris (09:00 UTC). Opening hours: Monday to Friday 09:00-18:00 Paris. SLA 2h.

instagram/a  c1 Mon 10:00 -> 10:30 Paris              30 business minutes   met
             c2 Mon 17:30 -> Tue 09:15                30 + 15 = 45          met
             c3 Tue 10:00 -> 14:00 (negative)         240                   breached
             c4 Fri 17:30 -> Mon 7 Dec 09:45          30 + 45 = 75          met
             c5 Wed 11:00, unanswered (negative)      7h + 9h + 9h + 1h = 26h at the as-of time: breached
             c6 Sat 11:00, unanswered (negative)      60 at the as-of time: inside its SLA
             c7 Sun 11:00, replied Mon 10:30 (after the as-of time: unknown yet)   60: inside
facebook/b   c8 Thu 14:00 -> 16:00                    120, exactly the SLA  met
             c9 Thu 15:00, "replied" 14:00            a reply before its message: left out
             c0 Sun 29 November, unanswered (negative): another period, but still waiting: in
                the backlog (5 x 9h + 1h = 46h at the as-of time: past its SLA)
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

import polars as pl
import pytest

from cmflow import Period, RecordTable
from cmflow.builtin.metrics.response_times import ResponseTimes, UnansweredNegative
from cmflow.stages.measure import MetricRequest, measure as measure_stage

from test_metric_conversation_counts import values

UTC = timezone.utc
WEEK = Period(date(2026, 11, 30), date(2026, 12, 6), "Europe/Paris")
AS_OF = datetime(2026, 12, 7, 9, tzinfo=UTC)


def utc(day: int, hour: int, minute: int = 0, month: int = 12) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def conversation(number: int, platform: str, account: str, received: datetime, replied: datetime | None,
                 sentiment: str | None = None) -> dict[str, Any]:
    return {"platform": platform, "account": account, "message_id": f"c{number}", "received_at": received,
            "replied_at": replied, "sentiment": sentiment, "text": f"message {number}"}


CONVERSATIONS = [
    conversation(1, "instagram", "a", utc(30, 9, month=11), utc(30, 9, 30, month=11), "positive"),
    conversation(2, "instagram", "a", utc(30, 16, 30, month=11), utc(1, 8, 15)),
    conversation(3, "instagram", "a", utc(1, 9), utc(1, 13), "negative"),
    conversation(4, "instagram", "a", utc(4, 16, 30), utc(7, 8, 45)),
    conversation(5, "instagram", "a", utc(2, 10), None, "negative"),
    conversation(6, "instagram", "a", utc(5, 10), None, "Negative "),
    conversation(7, "instagram", "a", utc(6, 10), utc(7, 9, 30)),
    conversation(8, "facebook", "b", utc(3, 13), utc(3, 15)),
    conversation(9, "facebook", "b", utc(3, 14), utc(3, 13)),
    conversation(0, "facebook", "b", utc(29, 10, month=11), None, "negative"),
]


def measure(metric: Any, by: list, rows: list[dict] = CONVERSATIONS, as_of: datetime = AS_OF) -> pl.DataFrame:
    frame = RecordTable.from_rows("conversation", rows).conformed().with_columns(source_id=pl.lit("src"))
    measured = measure_stage([MetricRequest(metric, by, ["src"])], {"conversation": frame}, [WEEK], as_of=as_of)
    assert [(s.ok, s.error) for s in measured.reports] == [(True, None)]
    return measured.measurements


def of(frame: pl.DataFrame, metric: str) -> dict[tuple, float | None]:
    return values(frame.filter(pl.col("metric") == metric))


def response_times(**options: Any) -> ResponseTimes:
    return ResponseTimes(ResponseTimes.Options(sla="2h", **options), entry_id="sla")


def test_business_response_times_per_platform_and_overall() -> None:
    frame = measure(response_times(), ["overall", "platform"])
    # instagram answered: 30, 45, 75, 240 -> median (45 + 75) / 2 = 60; p90 at rank 0.9 x 3 = 2.7:
    # 75 + 0.7 x (240 - 75) = 190.5. Overall adds facebook's 120: 30, 45, 75, 120, 240 ->
    # median 75; p90 at rank 3.6: 120 + 0.6 x 120 = 192.
    assert of(frame, "response_time_median") == {(): 75.0, ("instagram",): 60.0, ("facebook",): 120.0}
    assert of(frame, "response_time_p90") == pytest.approx({(): 192.0, ("instagram",): 190.5, ("facebook",): 120.0})
    # met: c1 c2 c4 (instagram), c8 (facebook); breached: c3 (late), c5 (unanswered for 26h);
    # c6 and c7 are inside their SLA: neither.
    assert of(frame, "answered_within_sla") == pytest.approx({(): 400 / 6, ("instagram",): 60.0, ("facebook",): 100.0})
    # Unanswered past the SLA at the as-of time, whatever period they came in: c5 and c0.
    assert of(frame, "unanswered_over_sla") == {(): 2.0, ("instagram",): 1.0, ("facebook",): 1.0}


def test_by_account_and_public_holidays() -> None:
    # With French holidays nothing changes this week (no holiday): same figures per account.
    frame = measure(response_times(hours={"holidays": "FR"}), ["account"])
    assert of(frame, "response_time_median") == {("instagram", "a"): 60.0, ("facebook", "b"): 120.0}


def test_later_the_items_inside_their_sla_are_judged() -> None:
    # As of Monday 7 December 12:00 Paris (11:00 UTC): c7's reply (10:30) is known, 90 business
    # minutes: met; c6 has waited 3h: breached, unanswered.
    frame = measure(response_times(), ["platform"], as_of=utc(7, 11))
    assert of(frame, "response_time_median") == {("instagram",): 75.0, ("facebook",): 120.0}  # 30 45 75 90 240
    assert of(frame, "answered_within_sla") == pytest.approx({("instagram",): 400 / 7, ("facebook",): 100.0})
    assert of(frame, "unanswered_over_sla") == {("instagram",): 2.0, ("facebook",): 1.0}  # c5 c6; c0


def test_wall_clock_response_times() -> None:
    frame = measure(response_times(clock="wall"), ["overall"])
    # Wall minutes: c1 30, c2 945, c3 240, c4 3,855, c8 120 -> median 240. Within 2h: c1, c8;
    # past it: c2, c3, c4 and the unanswered c5 (119h), c6 (47h), c7 (23h) -> 2 / 8 = 25%.
    assert of(frame, "wall_response_time_median") == {(): 240.0}
    assert of(frame, "wall_answered_within_sla") == {(): 25.0}
    assert of(frame, "wall_unanswered_over_sla") == {(): 4.0}  # c5 c6 c7, and c0 of the week before (191h)
    assert set(frame["metric"]) == set(response_times(clock="wall").produces())


def test_a_period_without_answers_says_why() -> None:
    rows = [conversation(6, "instagram", "a", utc(5, 10), None)]
    frame = measure(response_times(), ["overall"], rows=rows)
    reasons = {row["metric"]: (row["value"], row["reason"]) for row in frame.iter_rows(named=True)}
    assert reasons == {
        "response_time_median": (None, "no conversation of the period was answered"),
        "response_time_p90": (None, "no conversation of the period was answered"),
        "answered_within_sla": (None, "every conversation of the period is unanswered and still within its SLA"),
        "unanswered_over_sla": (0.0, None)}


def test_unanswered_negative_conversations_after_a_wait() -> None:
    at_once = UnansweredNegative(UnansweredNegative.Options(), entry_id="n")
    # c5 (26h) and c6 (1h) are negative and unanswered; c3 was answered; facebook's c0 (the
    # week before, 46h) still waits.
    frame = measure(at_once, ["overall", "platform"])
    assert of(frame, "unanswered_negative") == {(): 3.0, ("instagram",): 2.0, ("facebook",): 1.0}
    after_2h = UnansweredNegative(UnansweredNegative.Options(older_than="2h"), entry_id="n")
    assert of(measure(after_2h, ["overall"]), "unanswered_negative") == {(): 2.0}  # c5, c0
    # A backlog none of whose conversations has a sentiment: no value, not 0 (facebook's c10);
    # nothing waiting is 0 whatever the sentiment (c8, answered, unclassified).
    rows = [CONVERSATIONS[4], CONVERSATIONS[7], conversation(10, "facebook", "c", utc(3, 15), None)]
    frame = measure(at_once, ["account"], rows=rows)
    assert of(frame, "unanswered_negative") == {("instagram", "a"): 1.0, ("facebook", "b"): 0.0,
                                                ("facebook", "c"): None}
    [reason] = frame.filter(pl.col("account") == "c")["reason"].to_list()
    assert reason.startswith("no comment of the period has a sentiment")


def test_by_client_each_from_its_own_accounts_at_the_run_s_as_of_time() -> None:
    frame = RecordTable.from_rows("conversation", CONVERSATIONS).conformed().with_columns(
        source_id=pl.lit("src"), client=pl.when(pl.col("account") == "a").then(pl.lit("lune")).otherwise(pl.lit("soleil")))
    # As of Thursday 3 December 10:00 Paris (09:00 UTC): lune's c1 and c2 met, c3 breached, c5
    # waiting 8h: breached; c4, c6 and c7 not received yet. soleil's c8 and c9 not received yet;
    # its c0 (29 November) has waited 3 x 9h + 1h = 28h: past the SLA.
    measured = measure_stage([MetricRequest(response_times(), ["client"], ["src"], clients=["lune", "soleil"])],
                             {"conversation": frame}, [WEEK], as_of=utc(3, 9))
    rows = measured.measurements.filter(pl.col("metric") == "answered_within_sla")
    assert {row["client"]: (row["value"], row["reason"]) for row in rows.iter_rows(named=True)} == {
        "lune": (50.0, None),
        "soleil": (None, "every conversation of the period is unanswered and still within its SLA")}
    rows = measured.measurements.filter(pl.col("metric") == "unanswered_over_sla")
    assert dict(zip(rows["client"], rows["value"])) == {"lune": 1.0, "soleil": 1.0}


def test_a_period_without_conversations_has_no_times_and_nothing_unanswered() -> None:
    frame = measure(response_times(), ["overall"], rows=[])
    reasons = {row["metric"]: (row["value"], row["reason"]) for row in frame.iter_rows(named=True)}
    assert reasons == {
        "response_time_median": (None, "no conversation received in the period"),
        "response_time_p90": (None, "no conversation received in the period"),
        "answered_within_sla": (None, "no conversation received in the period"),
        "unanswered_over_sla": (0.0, None)}


def test_a_client_in_another_time_zone_is_counted_in_its_own_hours() -> None:
    """soleil's team works Monday to Friday 09:00-18:00 in Montreal (UTC-5): c8, Thursday 08:00
    to 10:00 there, waited 60 business minutes, not the 120 of Paris's hours; lune's stay as in
    Paris (median 60). A workflow whose clients differ in hours sets them per client."""
    frame = RecordTable.from_rows("conversation", CONVERSATIONS).conformed().with_columns(
        source_id=pl.lit("src"), client=pl.when(pl.col("account") == "a").then(pl.lit("lune")).otherwise(pl.lit("soleil")))
    metric = response_times(client_hours={"soleil": {"timezone": "America/Montreal"}})

    def medians(metric):
        measured = measure_stage([MetricRequest(metric, ["client"], ["src"], clients=["lune", "soleil"])],
                                 {"conversation": frame}, [WEEK], as_of=AS_OF)
        assert [(s.ok, s.error) for s in measured.reports] == [(True, None)]
        rows = measured.measurements.filter(pl.col("metric") == "response_time_median")
        return dict(zip(rows["client"], rows["value"]))

    assert medians(metric) == {"lune": 60.0, "soleil": 60.0}
    assert medians(response_times()) == {"lune": 60.0, "soleil": 120.0}  # one schedule: Paris's
    overall = measure(metric, ["overall"], [{**row, "client": None} for row in CONVERSATIONS])
    assert of(overall, "response_time_median") == of(measure(response_times(), ["overall"]), "response_time_median")
