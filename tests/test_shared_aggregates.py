"""Metrics that share their aggregates (:class:`cmflow.SharesAggregates`): the measure stage groups
the rows several metrics read once per run, and every figure is the one each metric computes alone.

The records are built with :meth:`cmflow.RecordTable.from_rows` and measured by the measure stage,
as in tests/test_metrics.py; the periods are the week of Monday 16 November 2026 and the one before.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timezone
from typing import Any

import polars as pl
import pytest

from cmflow import Aggregate, Metric, Period, RecordTable, SharesAggregates, measurement_rows
from cmflow.builtin.metrics.engagement import (EngagementRateByFollowers, EngagementRateByImpressions,
                                               EngagementRateByReach)
from cmflow.builtin.metrics.follower_growth import FollowerGrowth
from cmflow.builtin.metrics.posts_published import PostsPublished
from cmflow.builtin.metrics.totals import Totals
from cmflow.plugins.shared_aggregates import grouped_aggregates
from cmflow.stages.measure import MetricRequest, measure, metric_input

UTC = timezone.utc
CURRENT = Period(date(2026, 11, 16), date(2026, 11, 22), "UTC", unit="week")
PERIODS = [CURRENT, CURRENT.comparison("previous_period")]
BY = ["overall", "account", "format", "client", ["client", "platform"]]


def post(post_id: str, account: str, client: str | None, day: int, platform: str = "instagram",
         **counters: Any) -> dict[str, Any]:
    return {"platform": platform, "account": account, "post_id": post_id, "client": client,
            "published_at": datetime(2026, 11, day, 10, tzinfo=UTC), **counters}


def agency_records() -> dict[str, pl.DataFrame]:
    """Two clients' accounts (lumen on two platforms, verde), an account of no client, a TikTok
    account known only from its daily activity, and daily follower counts: every path of the view
    metrics (posts, activity, mixed groups, a post without reach, a client's own rows)."""
    posts = [
        post("l1", "lumen", "lumen", 17, likes=30, comments=5, shares=2, saves=3, reach=1000, impressions=1500,
             format="image"),
        post("l2", "lumen", "lumen", 18, likes=10, comments=1, reach=500, impressions=800, format="video"),
        post("l3", "lumen", "lumen", 10, platform="facebook", likes=4, comments=1, shares=1, reach=0,
             impressions=100, format="image"),
        post("v1", "verde", "verde", 19, likes=100, comments=20, shares=5, saves=10, reach=2000, impressions=2500,
             format="reel"),
        post("v2", "verde", "verde", 12, likes=7, impressions=90, format="reel"),  # no reach reported
        post("n1", "nobody", None, 20, likes=50, comments=4, reach=900, impressions=1200, format="image"),
    ]
    snapshots = [{"platform": platform, "account": account, "client": client, "date": date(2026, 11, day),
                  "followers": followers + day * step}
                 for platform, account, client, followers, step in (("instagram", "lumen", "lumen", 5000, 10),
                                                                    ("facebook", "lumen", "lumen", 900, -1),
                                                                    ("instagram", "verde", "verde", 20000, 25),
                                                                    ("tiktok", "verde.tt", "verde", 3000, 40))
                 for day in range(8, 23)]
    activity = [{"platform": "tiktok", "account": "verde.tt", "client": "verde", "date": date(2026, 11, day),
                 "impressions": 1000 + day, "likes": 40 + day, "comments": 3, "shares": 1, "profile_views": 9}
                for day in range(9, 23)]
    frames = {kind: RecordTable.from_rows(kind, rows).conformed() for kind, rows in
              (("post", posts), ("account_snapshot", snapshots), ("account_activity", activity))}
    # The clients stage labels every record of a client's accounts.
    clients = {("instagram", "lumen"): "lumen", ("facebook", "lumen"): "lumen", ("instagram", "verde"): "verde",
               ("tiktok", "verde.tt"): "verde"}
    labels = pl.DataFrame({"platform": [p for p, _ in clients], "account": [a for _, a in clients],
                           "client": list(clients.values())})
    return {kind: frame.drop("client", strict=False).join(labels, on=["platform", "account"], how="left")
            .with_columns(source_id=pl.lit("export")) for kind, frame in frames.items()}


def plugin(cls: type, **options: Any) -> Metric:
    return cls(cls.Options(**options), entry_id=cls.name + "".join(f"_{v}" for v in options.values()))


def sharing_metrics() -> list[Metric]:
    return [plugin(EngagementRateByReach), plugin(EngagementRateByImpressions, aggregate="mean_of_posts",
                                                   view="posts"),
            plugin(EngagementRateByFollowers), plugin(FollowerGrowth), plugin(PostsPublished),
            plugin(PostsPublished, view="activity"), plugin(Totals, counters=["interactions", "reach", "profile_views"])]


def request(metric: Metric) -> MetricRequest:
    # Activity has no format: a breakdown by format reads posts.
    by = BY if "format" in metric.groupings and getattr(metric.options, "view", "") != "activity" else \
        [b for b in BY if b != "format"]
    return MetricRequest(metric, by, ["export"], metric.entry_id, clients=["lumen", "verde", "quiet"])


def sorted_rows(frame: pl.DataFrame) -> pl.DataFrame:
    """Rows in one order whatever the order made (two entries of posts_published: one series each)."""
    return frame.sort(frame.columns, nulls_last=True)


def test_metrics_measured_together_give_the_figures_each_gives_alone() -> None:
    """Grouped together, over every client's records, the plain rows and the activity of an
    account without posts, each metric's figures (values, reasons, bases) are those it gives
    measured by itself: sharing never mixes two clients' rows, two views or two breakdowns."""
    records = agency_records()
    metrics = sharing_metrics()
    together = measure([request(m) for m in metrics], records, PERIODS)
    assert [(r.id, r.ok, r.error) for r in together.reports] == [(m.entry_id, True, None) for m in metrics]
    alone = pl.concat([measure([request(m)], records, PERIODS).measurements for m in metrics])
    assert together.measurements.height == alone.height > 250
    assert sorted_rows(together.measurements).equals(sorted_rows(alone))
    # and the figures are a client's own: lumen's ERR this week is (30+5+2+3 + 10+1) / (1000+500)
    err = together.measurements.filter((pl.col("metric") == "engagement_rate_by_reach")
                                       & (pl.col("period") == "current") & (pl.col("client") == "lumen")
                                       & pl.col("platform").is_null())
    assert err["value"].to_list() == [pytest.approx(51 / 1500 * 100)]


def test_a_metric_computed_alone_gives_what_the_measure_stage_gives() -> None:
    """``compute`` of a sharing metric (a test, a plugin author's own use) groups its aggregates
    for itself: the same rows as the measure stage's."""
    records = agency_records()
    data = metric_input(records, ["export"], PERIODS)
    for metric in sharing_metrics():
        alone = metric.compute(replace(data, grouping_sets=[("platform", "account"), ()]))
        staged = measure([MetricRequest(metric, ["account", "overall"], ["export"])], records, PERIODS).measurements
        columns = ["metric", "period", "platform", "account", "value", "reason"]
        expected = staged.select(columns).sort(columns[:4], nulls_last=True)
        got = alone.with_columns(pl.col(c).cast(pl.String) for c in ("period", "platform", "account")) \
            .select(columns).sort(columns[:4], nulls_last=True)
        assert got.equals(expected), metric.entry_id


def counted(frame: pl.LazyFrame, reads: list[str], name: str) -> pl.LazyFrame:
    """``frame``, noting in ``reads`` each time a plan reads it."""
    return frame.map_batches(lambda rows: (reads.append(name), rows)[1], schema=frame.collect_schema())


def posts_frame() -> pl.LazyFrame:
    return pl.LazyFrame({"period": ["current", "current", "previous_period"], "account": ["a", "b", "a"],
                         "likes": [1, 2, 4], "reach": [10, 20, 40]})


def test_two_metrics_naming_the_same_rows_read_them_once() -> None:
    """Aggregates with the same rows name and ``by`` are one group-by: the second metric's frame of
    the same rows is not read at all, and an aggregation both ask (two names, one expression) is
    one column computed once, handed to each under its own name."""
    reads: list[str] = []
    first = Aggregate("posts", counted(posts_frame(), reads, "first"), ("account",),
                      (pl.col("likes").sum().alias("likes"), pl.col("reach").sum().alias("reach")))
    second = Aggregate("posts", counted(posts_frame(), reads, "second"), ("account",),
                       (pl.col("reach").sum().alias("total_reach"), pl.len().alias("posts")))
    (mine,), (theirs,) = (r.values() for r in grouped_aggregates([("run", {"m": first}), ("run", {"m": second})],
                                                                  ["current", "previous_period"]))
    assert reads == ["first"]
    assert mine.sort("period", "account").rows() == [("current", "a", 1, 10), ("current", "b", 2, 20),
                                                      ("previous_period", "a", 4, 40)]
    assert theirs.columns == ["period", "account", "total_reach", "posts"]
    assert theirs.sort("period", "account")["total_reach"].to_list() == [10, 20, 40]


def test_rows_of_two_scopes_or_two_names_are_grouped_apart() -> None:
    """The same rows name in two scopes (two clients' records), or a column name two metrics give
    two expressions, are grouped apart: each metric gets its own figures."""
    reads: list[str] = []
    doubled = Aggregate("posts", counted(posts_frame(), reads, "doubled"), (),
                        (pl.col("_x").sum().alias("x"),), {"_x": pl.col("likes") * 2})
    tripled = Aggregate("posts", counted(posts_frame(), reads, "tripled"), (),
                        (pl.col("_x").sum().alias("x"),), {"_x": pl.col("likes") * 3})
    other = Aggregate("posts", counted(posts_frame().filter(pl.col("account") == "b"), reads, "client b"), (),
                      (pl.col("likes").sum().alias("x"),), every_period=True)
    results = grouped_aggregates([("run", {"m": doubled}), ("run", {"m": tripled}), ("client b", {"m": other})],
                                 ["current", "previous_period"])
    values = [dict(r["m"].select("period", "x").iter_rows()) for r in results]
    assert values == [{"current": 6, "previous_period": 8}, {"current": 9, "previous_period": 12},
                      {"current": 2, "previous_period": None}]  # every period: b has none the week before
    assert sorted(reads) == ["client b", "doubled", "tripled"]


class _BrokenShare(SharesAggregates, Metric):
    """Sums a counter no post has: its plan fails when collected."""

    name = "broken_share"
    description = "A sharing metric whose aggregation names a column the posts do not have."

    def aggregates(self, data):
        return {"all": Aggregate("view_rows:auto", data.records["post"], (),
                                 (pl.col("no_such_counter").sum().alias("n"),))}

    def from_aggregates(self, data, grouped):
        return measurement_rows(grouped["all"], metric=self.name, unit="", value=pl.col("n"))


def test_a_sharing_metric_that_fails_is_reported_and_the_others_are_computed() -> None:
    """One plan groups every sharing metric's aggregates; when it fails, each metric's are grouped
    alone, so the failure is reported on the metric that caused it, not on its neighbours."""
    records = agency_records()
    broken = _BrokenShare(_BrokenShare.Options(), entry_id="broken")
    err = plugin(EngagementRateByReach)
    measured = measure([MetricRequest(err, ["overall"], ["export"], "err"),
                        MetricRequest(broken, ["overall"], ["export"], "broken")], records, PERIODS)
    (ok, failed) = measured.reports
    assert (ok.id, ok.ok, ok.counts) == ("err", True, {"measurements": 2})
    assert (failed.id, failed.ok) == ("broken", False)
    assert "no_such_counter" in failed.error
    assert measured.measurements["metric"].unique().to_list() == ["engagement_rate_by_reach"]
