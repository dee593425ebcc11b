"""The count metrics: ``mentions`` and ``comments_received``, through the runner's metric stage.

The current period is Monday 23 November 2026; the history the ``spike`` trigger reads is the
days before it (``history-1`` ...).
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

import polars as pl
import pytest

from cmflow import Period, RecordTable
from cmflow.builtin.metrics import conversation_counts
from cmflow.builtin.metrics.conversation_counts import CommentsReceived, Mentions, NegativeComments, NegativeMentions
from cmflow.foundation.errors import WorkflowInvalid
from cmflow.foundation.measurements import DIMENSIONS
from cmflow.stages.measure import MetricRequest, measure as measure_stage
from cmflow.testing import registered_plugin
from cmflow.workflow import load_workflow

UTC = timezone.utc
DAY = Period(date(2026, 11, 23), date(2026, 11, 23), "UTC")
PERIODS = [DAY, *DAY.history(3)]  # 23, then 22, 21, 20 November


def mention(number: int, day: int, platform: str = "x", hour: int = 10) -> dict[str, Any]:
    return {"platform": platform, "mention_id": f"m{number}", "author": "someone",
            "published_at": datetime(2026, 11, day, hour, tzinfo=UTC)}


def comment(number: int, day: int, account: str = "a", platform: str = "instagram",
            post_id: str | None = "p1") -> dict[str, Any]:
    return {"platform": platform, "account": account, "message_id": f"c{number}", "post_id": post_id,
            "received_at": datetime(2026, 11, day, 10, number % 60, tzinfo=UTC)}


def measure(metric_class: type, kind: str, rows: list[dict], by: list,
            periods: list[Period] = PERIODS) -> pl.DataFrame:
    data = {kind: RecordTable.from_rows(kind, rows).conformed().with_columns(source_id=pl.lit("src"))}
    measured = measure_stage([MetricRequest(metric_class(metric_class.Options(), entry_id="x"), by, ["src"])],
                             data, periods)
    assert [(s.ok, s.error) for s in measured.reports] == [(True, None)]
    return measured.measurements


def values(frame: pl.DataFrame, period: str = "current") -> dict[tuple, float | None]:
    """Value per series (the tuple of its non-empty dimensions) in one period."""
    rows = frame.filter(pl.col("period") == period)
    return {tuple(row[d] for d in DIMENSIONS if row[d] is not None): row["value"]
            for row in rows.iter_rows(named=True)}


def test_mentions_are_counted_per_period_overall_and_per_platform() -> None:
    rows = ([mention(i, 23) for i in range(5)] + [mention(10 + i, 23, "bluesky") for i in range(2)]
            + [mention(20 + i, 22) for i in range(3)] + [mention(30, 20, "bluesky")])
    frame = measure(Mentions, "mention", rows, ["overall", "platform"])
    assert values(frame) == {(): 7, ("x",): 5, ("bluesky",): 2}
    assert values(frame, "history-1") == {(): 3, ("x",): 3, ("bluesky",): 0}
    # A quiet day is 0 mentions, not "no value": the spike baseline needs it.
    assert values(frame, "history-2") == {(): 0, ("x",): 0, ("bluesky",): 0}
    assert values(frame, "history-3") == {(): 1, ("x",): 0, ("bluesky",): 1}
    row = frame.filter(pl.col("period") == "current").row(0, named=True)
    assert (row["metric"], row["unit"], row["reason"]) == ("mentions", "mentions", None)


def test_mentions_fall_in_the_local_day_of_the_workflow() -> None:
    """23:30 UTC is already the next day in Paris (UTC+1 in November)."""
    paris = Period(date(2026, 11, 23), date(2026, 11, 23), "Europe/Paris")
    rows = [mention(1, 22) | {"published_at": datetime(2026, 11, 22, 23, 30, tzinfo=UTC)},  # the 23rd
            mention(2, 23) | {"published_at": datetime(2026, 11, 23, 23, 30, tzinfo=UTC)}]  # the 24th
    frame = measure(Mentions, "mention", rows, ["overall"], periods=[paris, *paris.history(1)])
    assert values(frame) == {(): 1}
    assert values(frame, "history-1") == {(): 0}


def test_comments_received_count_every_conversation_record_per_account() -> None:
    rows = ([comment(i, 23) for i in range(4)] + [comment(10, 23, post_id=None)]  # a direct message
            + [comment(20 + i, 23, account="b", platform="facebook") for i in range(2)]
            + [comment(30, 21, account="b", platform="facebook")])
    frame = measure(CommentsReceived, "conversation", rows, ["overall", "account"])
    assert values(frame) == {(): 7, ("instagram", "a"): 5, ("facebook", "b"): 2}
    assert values(frame, "history-2") == {(): 1, ("instagram", "a"): 0, ("facebook", "b"): 1}
    assert frame["unit"].unique().to_list() == ["comments"]


def test_comments_per_post_leave_out_messages_that_belong_to_no_post() -> None:
    rows = ([comment(i, 23, post_id="p1") for i in range(3)] + [comment(5, 23, post_id=None)]
            + [comment(6, 22, post_id="p2")])
    frame = measure(CommentsReceived, "conversation", rows, ["post"])
    assert values(frame) == {("instagram", "a", "p1"): 3, ("instagram", "a", "p2"): 0}
    assert values(frame, "history-1") == {("instagram", "a", "p1"): 0, ("instagram", "a", "p2"): 1}


def test_negative_counts_read_the_sentiment_and_never_pass_unclassified_records_as_zero() -> None:
    """x: 2 negative of 3 classified today, none negative yesterday; bluesky's mentions carry no
    sentiment (its export has none), so it has no value, with the reason, rather than 0."""
    rows = ([mention(1, 23) | {"sentiment": "Negative "}, mention(2, 23) | {"sentiment": "negative"},
             mention(3, 23) | {"sentiment": "positive"}, mention(4, 23)]
            + [mention(5, 22) | {"sentiment": "neutral"}]
            + [mention(10, 23, "bluesky"), mention(11, 22, "bluesky")])
    frame = measure(NegativeMentions, "mention", rows, ["overall", "platform"])
    assert values(frame) == {(): 2, ("x",): 2, ("bluesky",): None}
    assert values(frame, "history-1") == {(): 0, ("x",): 0, ("bluesky",): None}
    assert values(frame, "history-2") == {(): 0, ("x",): 0, ("bluesky",): 0}  # nothing at all: quiet
    bluesky = frame.filter((pl.col("period") == "current") & (pl.col("platform") == "bluesky")).row(0, named=True)
    assert bluesky["reason"] == ("no mention of the period has a sentiment: add a [[classifiers]] entry, "
                                "or map the export's sentiment column")


def test_negative_comments_per_post() -> None:
    rows = ([comment(i, 23, post_id="p1") | {"sentiment": "negative"} for i in range(4)]
            + [comment(9, 23, post_id="p2") | {"sentiment": "positive"}])
    frame = measure(NegativeComments, "conversation", rows, ["post"])
    assert values(frame) == {("instagram", "a", "p1"): 4, ("instagram", "a", "p2"): 0}


def test_a_source_that_found_nothing_counts_zero_overall() -> None:
    """No mention at all in the window: 0 overall in every period (a quiet brand), and no
    platform row, since no platform was seen."""
    frame = measure(Mentions, "mention", [], ["overall", "platform"])
    assert values(frame) == {(): 0} and values(frame, "history-3") == {(): 0}


@pytest.mark.parametrize(("plugin", "record", "by", "supported"), [
    ("mentions", "mention", '["account"]', "overall, brand, platform"),
    ("comments_received", "conversation", '["format"]', "overall, client, platform, account, post"),
    ("engagement_rate_by_reach", "post", '["post"]', "overall, client, platform, account, format, pillar, campaign, brand"),
])
def test_unsupported_breakdowns_are_refused_at_validation(tmp_path, plugin, record, by, supported) -> None:
    """Mentions have no account (monitoring finds them anywhere), but a brand ([listen]); comments have no format."""
    (tmp_path / "w.toml").write_text(f"""
[workflow]
name = "Counts"

[[sources]]
plugin = "json"
path = "records.json"
record = "{record}"

[[metrics]]
plugin = "{plugin}"
by = {by}
""", encoding="utf-8")
    with registered_plugin(conversation_counts), pytest.raises(WorkflowInvalid) as caught:
        load_workflow(tmp_path / "w.toml")
    (problem,) = caught.value.problems
    assert problem.path == "metrics[0].by[0]" and problem.hint == f"it supports {supported}"


def test_each_metric_needs_its_record_kind(tmp_path) -> None:
    (tmp_path / "w.toml").write_text("""
[workflow]
name = "Counts"

[[sources]]
plugin = "csv"
path = "posts.csv"

[[metrics]]
plugin = "mentions"
by = ["overall"]
""", encoding="utf-8")
    with registered_plugin(conversation_counts), pytest.raises(WorkflowInvalid) as caught:
        load_workflow(tmp_path / "w.toml")
    assert "metric 'mentions' needs mention records" in caught.value.problems[0].message
