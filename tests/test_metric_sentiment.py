"""The sentiment metrics, figures computed by hand: ``sentiment_counts``, ``sentiment_share``,
``net_sentiment`` and ``most_negative``, through the runner's metric stage.

The current period is Monday 23 November 2026; ``history-1`` is the 22nd, ``history-2`` the
21st (no mention at all), ``history-3`` the 20th (one mention, not classified).

Mentions of the 23rd:        x: m1 negative −0.9 (reach 100), m2 negative −0.4 (reach 5,000),
m3 "Negative " from the export (no score), m4 neutral, m5 positive, m6 unlabelled; bluesky: m7,
m8 unlabelled, m9 positive. Of the 22nd, on x: m10 positive, m11 and m13 negative −0.6 (reach
100 and 5,000).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import polars as pl
import pytest

from cmflow import RecordTable
from cmflow.builtin.metrics.sentiment import MostNegative, NetSentiment, SentimentCounts, SentimentShare
from cmflow.foundation.errors import WorkflowInvalid
from cmflow.stages.measure import MetricRequest, measure as measure_stage
from cmflow.workflow import load_workflow

from test_metric_conversation_counts import PERIODS, values

UTC = timezone.utc
UNCLASSIFIED = ("no mention of the period has a sentiment: add a [[classifiers]] entry, or map the export's "
                "sentiment column")


def mention(number: int, day: int, platform: str, sentiment: str | None = None, score: float | None = None,
            reach: int | None = None) -> dict[str, Any]:
    return {"platform": platform, "mention_id": f"m{number}", "text": f"text {number}", "reach": reach,
            "published_at": datetime(2026, 11, day, number, tzinfo=UTC), "sentiment": sentiment,
            "sentiment_score": score}


MENTIONS = [
    mention(1, 23, "x", "negative", -0.9, 100), mention(2, 23, "x", "negative", -0.4, 5000),
    mention(3, 23, "x", "Negative ", None, 10), mention(4, 23, "x", "neutral", 0.0),
    mention(5, 23, "x", "positive", 0.8), mention(6, 23, "x"),
    mention(7, 23, "bluesky"), mention(8, 23, "bluesky"), mention(9, 23, "bluesky", "positive", 0.5),
    mention(10, 22, "x", "positive", 0.9), mention(11, 22, "x", "negative", -0.6, 100),
    mention(13, 22, "x", "negative", -0.6, 5000),
    mention(12, 20, "bluesky"),
]


def measure(metric: Any, rows: list[dict], by: list, kind: str = "mention") -> pl.DataFrame:
    """The metric's measurements over the four days; records as the classify stage leaves them."""
    frame = RecordTable.from_rows(kind, rows).conformed().with_columns(source_id=pl.lit("src"))
    if rows and "sentiment_score" in rows[0]:
        frame = frame.with_columns(sentiment_score=pl.Series([r["sentiment_score"] for r in rows], dtype=pl.Float64))
    measured = measure_stage([MetricRequest(metric, by, ["src"])], {kind: frame}, PERIODS)
    assert [(s.ok, s.error) for s in measured.reports] == [(True, None)]
    return measured.measurements


def of(frame: pl.DataFrame, metric: str, period: str = "current") -> dict[tuple, float | None]:
    return values(frame.filter(pl.col("metric") == metric), period)


def reasons(frame: pl.DataFrame, metric: str, period: str) -> dict[tuple, str | None]:
    rows = frame.filter((pl.col("metric") == metric) & (pl.col("period") == period))
    return {(row["platform"],): row["reason"] for row in rows.iter_rows(named=True)}


def test_sentiment_counts_per_class_with_quiet_days_at_0_and_unclassified_days_without_value() -> None:
    counts = SentimentCounts(SentimentCounts.Options(records="mention"), entry_id="x")
    assert counts.produces() == {"negative_mentions": "mentions", "neutral_mentions": "mentions",
                                 "positive_mentions": "mentions"}
    frame = measure(counts, MENTIONS, ["overall", "platform"])
    assert of(frame, "negative_mentions") == {(): 3, ("x",): 3, ("bluesky",): 0}
    assert of(frame, "neutral_mentions") == {(): 1, ("x",): 1, ("bluesky",): 0}
    assert of(frame, "positive_mentions") == {(): 2, ("x",): 1, ("bluesky",): 1}
    assert of(frame, "negative_mentions", "history-1") == {(): 2, ("x",): 2, ("bluesky",): 0}
    assert of(frame, "negative_mentions", "history-2") == {(): 0, ("x",): 0, ("bluesky",): 0}  # no mention: quiet
    assert of(frame, "negative_mentions", "history-3") == {(): None, ("x",): 0, ("bluesky",): None}
    assert reasons(frame, "positive_mentions", "history-3") == {(None,): UNCLASSIFIED, ("x",): None,
                                                                ("bluesky",): UNCLASSIFIED}
    assert [counts.polarity(m) for m in counts.produces()] == ["down", "neutral", "up"]


def test_shares_divide_by_the_classified_mentions_only() -> None:
    share = SentimentShare(SentimentShare.Options(), entry_id="x")
    frame = measure(share, MENTIONS, ["overall", "platform"])
    # overall: 3 negative, 1 neutral, 2 positive of 6 classified (9 mentions, 3 unlabelled)
    assert of(frame, "negative_mentions_share") == {(): 50.0, ("x",): 60.0, ("bluesky",): 0.0}
    assert of(frame, "neutral_mentions_share") == {(): pytest.approx(100 / 6), ("x",): 20.0, ("bluesky",): 0.0}
    assert of(frame, "positive_mentions_share") == {(): pytest.approx(200 / 6), ("x",): 20.0, ("bluesky",): 100.0}
    assert set(frame["unit"].to_list()) == {"%"}
    assert of(frame, "negative_mentions_share", "history-2") == {(): None, ("x",): None, ("bluesky",): None}
    assert reasons(frame, "negative_mentions_share", "history-2") == {
        (None,): "no mentions in the period", ("x",): "no mentions in the period",
        ("bluesky",): "no mentions in the period"}
    assert reasons(frame, "negative_mentions_share", "history-3")[(None,)] == UNCLASSIFIED


def test_net_sentiment_is_positive_minus_negative_over_classified() -> None:
    net = NetSentiment(NetSentiment.Options(records="mention"), entry_id="x")
    frame = measure(net, MENTIONS, ["overall", "platform"])
    # overall (2 − 3) / 6 × 100; x (1 − 3) / 5 × 100; bluesky (1 − 0) / 1 × 100
    assert of(frame, "net_sentiment_mentions") == {(): pytest.approx(-100 / 6), ("x",): -40.0, ("bluesky",): 100.0}
    # the 22nd: x (1 − 2) / 3 × 100
    assert of(frame, "net_sentiment_mentions", "history-1") == {(): pytest.approx(-100 / 3),
                                                                ("x",): pytest.approx(-100 / 3), ("bluesky",): None}
    assert net.polarity("net_sentiment_mentions") == "up"


def test_most_negative_ranks_negative_items_by_score_then_reach_unscored_last() -> None:
    ranking = MostNegative(MostNegative.Options(records="mention", n=3), entry_id="x")
    frame = measure(ranking, MENTIONS, ["overall", "platform"]).filter(pl.col("metric") == "most_negative_mentions")

    def ranked(period: str, within: str) -> list[tuple]:
        rows = frame.filter((pl.col("period") == period) & (pl.col("ranked_within") == within)).sort("rank")
        return rows.select("rank", "mention_id", "platform", "value", "reason").rows()

    unscored = "labelled negative by its source, without a score"
    assert ranked("current", "overall") == [(1, "m1", "x", -0.9, None), (2, "m2", "x", -0.4, None),
                                            (3, "m3", "x", None, unscored)]
    assert ranked("current", "platform") == ranked("current", "overall")  # bluesky has none negative
    # The 22nd: a tie at −0.6, the larger reach (m13, 5,000) first.
    assert ranked("history-1", "overall") == [(1, "m13", "x", -0.6, None), (2, "m11", "x", -0.6, None)]
    two = MostNegative(MostNegative.Options(records="mention", n=2), entry_id="x")
    assert measure(two, MENTIONS, ["overall"]).filter(pl.col("period") == "current")["mention_id"].to_list() \
        == ["m1", "m2"]


def test_comments_rank_with_their_account_and_post() -> None:
    rows = [{"platform": "instagram", "account": "a", "message_id": f"c{i}", "post_id": post,
             "received_at": datetime(2026, 11, 23, 10, i, tzinfo=UTC), "sentiment": sentiment, "sentiment_score": score}
            for i, (post, sentiment, score) in enumerate([("p1", "negative", -0.2), ("p2", "negative", -0.7),
                                                          (None, "negative", -1.0), ("p1", "positive", 0.4)])]
    ranking = MostNegative(MostNegative.Options(records="conversation"), entry_id="x")
    assert ranking.produces() == {"most_negative_comments": "score"}
    frame = measure(ranking, rows, ["overall", "post"], kind="conversation").filter(pl.col("period") == "current")
    overall = frame.filter(pl.col("ranked_within") == "overall").sort("rank")
    assert overall.select("rank", "account", "post_id", "message_id", "value").rows() == [
        (1, "a", None, "c2", -1.0), (2, "a", "p2", "c1", -0.7), (3, "a", "p1", "c0", -0.2)]
    per_post = frame.filter(pl.col("ranked_within") == "platform+account+post_id").sort("post_id")
    assert per_post.select("post_id", "rank", "message_id").rows() == [("p1", 1, "c0"), ("p2", 1, "c1")]


def test_posts_no_classifier_labelled_have_no_sentiment_figure() -> None:
    posts = [{"platform": "instagram", "account": "a", "post_id": "p1", "text": "Nouveau parfum",
              "published_at": datetime(2026, 11, 23, 9, tzinfo=UTC)}]
    counts = SentimentCounts(SentimentCounts.Options(records="post"), entry_id="x")
    frame = measure(counts, posts, ["overall"], kind="post").filter(pl.col("period") == "current")
    assert frame.select("metric", "value", "reason").rows() == [
        (f"{value}_posts", None, "no post of the period has a sentiment: add a [[classifiers]] entry, or map the "
                                 "export's sentiment column") for value in ("negative", "neutral", "positive")]


WORKFLOW = """
[workflow]
name = "Listening"

[[sources]]
plugin = "json"
path = "mentions.json"
record = "mention"

[[metrics]]
plugin = "sentiment_counts"
{options}
"""


@pytest.mark.parametrize(("options", "expected"), [
    ('by = ["overall", "account"]', "metrics[0].by[1]: metric 'sentiment_counts' cannot be broken down by "
                                    "account (it supports overall, platform)"),
    ('records = "conversation"\nby = ["overall"]',
     "metrics[0]: metric 'sentiment_counts' needs conversation records but its sources provide mention"),
    ('by = ["overall"]\n\n[[metrics]]\nplugin = "negative_mentions"\nby = ["overall"]',
     "metrics[1]: measurement 'negative_mentions' is also produced by metrics[0]"),
])
def test_sentiment_metric_entries_are_checked(tmp_path, options, expected) -> None:
    (tmp_path / "mentions.json").write_text("[]", encoding="utf-8")
    path = tmp_path / "w.toml"
    path.write_text(WORKFLOW.format(options=options), encoding="utf-8")
    with pytest.raises(WorkflowInvalid) as raised:
        load_workflow(path)
    assert [str(p).removeprefix(f"{path}: ").split(" (")[0] for p in raised.value.problems] == [expected.split(" (")[0]]
