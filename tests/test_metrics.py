"""The built-in metric formulas, checked against values computed by hand on tiny record sets.

Metrics run through :func:`cmflow.stages.measure.measure`, the run's measure stage, on
records built with :meth:`cmflow.RecordTable.from_rows`. The current period is the week of
Monday 16 to Sunday 22 November 2026 (UTC); the previous period the week before. Period-over-
period changes go through a whole run of a small workflow on a CSV file.
"""

from __future__ import annotations

import csv
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Iterable

import polars as pl
import pytest
from pydantic import ValidationError

from cmflow import Period, RecordTable
from cmflow.builtin.metrics.follower_growth import FollowerGrowth
from cmflow.builtin.metrics.followers import Followers, FollowersGained
from cmflow.builtin.metrics.engagement import (
    EngagementRateByFollowers,
    EngagementRateByImpressions,
    EngagementRateByReach,
)
from cmflow.builtin.metrics.top_posts import TopPosts
from cmflow.builtin.metrics.posts_published import PostsPublished
from cmflow.builtin.metrics.totals import Totals
from cmflow.foundation.measurements import DIMENSIONS
from cmflow.stages.measure import MetricRequest, measure as measure_stage
from cmflow.testing import run_workflow_file

UTC = timezone.utc
SOURCE = "export"
CURRENT = Period(date(2026, 11, 16), date(2026, 11, 22), "UTC", unit="week")
PREVIOUS = CURRENT.comparison("previous_period")  # 9 to 15 November
PERIODS = [CURRENT, PREVIOUS]
ALL_METRICS = (EngagementRateByReach, EngagementRateByImpressions, EngagementRateByFollowers,
               FollowerGrowth, Totals, PostsPublished, TopPosts, Followers, FollowersGained)


# -- helpers ---------------------------------------------------------------------------------
def post(post_id: str, account: str = "a", platform: str = "instagram", day: int = 17,
         month: int = 11, **fields: Any) -> dict[str, Any]:
    """A post published at 10:00 UTC on the given day of 2026."""
    return {"platform": platform, "account": account, "post_id": post_id,
            "published_at": datetime(2026, month, day, 10, tzinfo=UTC), **fields}


def snapshot(account: str, day: int, followers: int | None, platform: str = "instagram") -> dict[str, Any]:
    return {"platform": platform, "account": account, "date": date(2026, 11, day), "followers": followers}


def records(posts: Iterable[dict] = (), snapshots: Iterable[dict] = (),
            source: str = SOURCE) -> dict[str, pl.DataFrame]:
    """Record frames as the runner hands them to the metric stage: canonical columns + source."""
    frames = {}
    for kind, rows in (("post", list(posts)), ("account_snapshot", list(snapshots))):
        if rows:
            frames[kind] = RecordTable.from_rows(kind, rows).conformed().with_columns(source_id=pl.lit(source))
    return frames


def measure(metric_class: type, data: dict[str, pl.DataFrame], by: Iterable = ("overall",),
            periods: list[Period] = PERIODS, sources: Iterable[str] = (SOURCE,), **options: Any) -> pl.DataFrame:
    """Run one metric through the metric stage; it must not fail."""
    plugin = metric_class(metric_class.Options(**options), entry_id="x")
    measured = measure_stage([MetricRequest(plugin, list(by), list(sources))], data, periods)
    assert [(s.ok, s.error) for s in measured.reports] == [(True, None)]
    return measured.measurements


def rows_of(frame: pl.DataFrame, metric: str, period: str = "current", **dimensions: str) -> pl.DataFrame:
    """Rows of one metric and period whose dimensions are exactly those given (others empty)."""
    rows = frame.filter((pl.col("metric") == metric) & (pl.col("period") == period))
    for column in DIMENSIONS:
        wanted = dimensions.get(column)
        rows = rows.filter(pl.col(column).is_null() if wanted is None else pl.col(column) == wanted)
    return rows


def one(frame: pl.DataFrame, metric: str, period: str = "current", **dimensions: str) -> dict[str, Any]:
    rows = rows_of(frame, metric, period, **dimensions)
    assert rows.height == 1, rows
    return rows.row(0, named=True)


def value(frame: pl.DataFrame, metric: str, period: str = "current", **dimensions: str) -> float | None:
    return one(frame, metric, period, **dimensions)["value"]


def no_value(frame: pl.DataFrame, metric: str, period: str = "current", **dimensions: str) -> str:
    """The reason a measurement has no value (and check it has none)."""
    row = one(frame, metric, period, **dimensions)
    assert row["value"] is None, row
    assert row["reason"], row
    return row["reason"]


# -- engagement rate by reach ----------------------------------------------------------------
ERR_POSTS = [
    post("p1", likes=30, comments=5, shares=3, saves=2, reach=1000),   # 40 interactions: 4%
    post("p2", likes=8, comments=1, shares=1, saves=0, reach=100),      # 10 interactions: 10%
    post("p3", likes=100, comments=9, shares=9, saves=9, reach=None),   # no reach: left out
]


def test_posts_that_reached_no_one_are_left_out_of_both_sides() -> None:
    """50 likes on a post with reach 0 is bad data, not an infinite rate: ERR = 10 / 1000."""
    data = records([post("z", likes=50, reach=0), post("r", likes=10, reach=1000)])
    assert value(measure(EngagementRateByReach, data), "engagement_rate_by_reach") == pytest.approx(1.0)
    assert value(measure(EngagementRateByReach, data, aggregate="mean_of_posts"),
                 "engagement_rate_by_reach") == pytest.approx(1.0)


def test_posts_without_a_breakdown_value_form_their_own_group_not_the_overall_row() -> None:
    """Two posts without a campaign: grouped as "(none)", never mistaken for the overall row."""
    data = records([post("c1", likes=10, reach=100, campaign="Noël"), post("c2", likes=1, reach=100),
                    post("c3", likes=3, reach=100)])
    frame = measure(EngagementRateByReach, data, by=["overall", "campaign"])
    metric = "engagement_rate_by_reach"
    assert value(frame, metric) == pytest.approx(14 / 300 * 100)
    assert value(frame, metric, campaign="Noël") == pytest.approx(10.0)
    assert value(frame, metric, campaign="(none)") == pytest.approx(2.0)
    keys = frame.filter(pl.col("period") == "current")["series_key"].to_list()
    assert len(keys) == len(set(keys)) == 3


def test_err_is_the_ratio_of_sums() -> None:
    frame = measure(EngagementRateByReach, records(ERR_POSTS))
    row = one(frame, "engagement_rate_by_reach")
    # (40 + 10) / (1000 + 100) x 100, not the mean of 4% and 10%.
    assert row["value"] == pytest.approx(50 / 1100 * 100)
    assert row["unit"] == "%" and row["reason"] is None
    assert (row["period_start"], row["period_end"]) == (date(2026, 11, 16), date(2026, 11, 22))


def test_err_mean_of_posts_averages_each_posts_own_rate() -> None:
    frame = measure(EngagementRateByReach, records(ERR_POSTS), aggregate="mean_of_posts")
    assert value(frame, "engagement_rate_by_reach") == pytest.approx((4.0 + 10.0) / 2)


def test_err_counts_likes_comments_shares_and_saves() -> None:
    frame = measure(EngagementRateByReach, records([post("p", likes=1, comments=2, shares=3, saves=4, reach=50)]))
    assert value(frame, "engagement_rate_by_reach") == pytest.approx(20.0)


def test_missing_counters_count_as_zero_in_the_numerator() -> None:
    data = records([post("p1", likes=10, reach=200),  # comments, shares, saves unknown
                    post("p2", likes=None, comments=None, shares=6, saves=None, reach=100, impressions=300)])
    err = measure(EngagementRateByReach, data)
    assert value(err, "engagement_rate_by_reach") == pytest.approx(16 / 300 * 100)
    by_impressions = measure(EngagementRateByImpressions, data)
    assert value(by_impressions, "engagement_rate_by_impressions") == pytest.approx(6 / 300 * 100)


def test_err_reach_zero_has_no_value_with_reason() -> None:
    data = records([post("p1", likes=5, reach=0), post("p2", likes=1, reach=0)])
    for aggregate in ("ratio_of_sums", "mean_of_posts"):
        frame = measure(EngagementRateByReach, data, aggregate=aggregate)
        assert no_value(frame, "engagement_rate_by_reach") == "reach is 0"


def test_err_without_reach_data_says_so() -> None:
    frame = measure(EngagementRateByReach, records([post("p1", likes=5), post("p2", likes=7)]))
    assert no_value(frame, "engagement_rate_by_reach") == "no post has reach data"


def test_err_without_posts_in_the_period_says_so() -> None:
    frame = measure(EngagementRateByReach, records([post("p1", likes=5, reach=100)]), by=["overall", "account"])
    assert value(frame, "engagement_rate_by_reach") == pytest.approx(5.0)
    assert no_value(frame, "engagement_rate_by_reach", "previous_period") == "no posts in this period"
    assert no_value(frame, "engagement_rate_by_reach", "previous_period",
                    platform="instagram", account="a") == "no posts in this period"


# -- engagement by impressions ---------------------------------------------------------------
def test_engagement_by_impressions_leaves_saves_out() -> None:
    data = records([post("p1", likes=20, comments=5, shares=5, saves=100, impressions=600),
                    post("p2", likes=10, comments=0, shares=0, saves=50, impressions=400)])
    frame = measure(EngagementRateByImpressions, data)
    # (20 + 5 + 5 + 10) / (600 + 400) x 100; saves are not counted.
    assert value(frame, "engagement_rate_by_impressions") == pytest.approx(4.0)
    mean = measure(EngagementRateByImpressions, data, aggregate="mean_of_posts")
    assert value(mean, "engagement_rate_by_impressions") == pytest.approx((5.0 + 2.5) / 2)


def test_engagement_by_impressions_zero_and_missing_impressions() -> None:
    zero = measure(EngagementRateByImpressions, records([post("p", likes=3, impressions=0)]))
    assert no_value(zero, "engagement_rate_by_impressions") == "impressions is 0"
    missing = measure(EngagementRateByImpressions, records([post("p", likes=3, reach=100)]))
    assert no_value(missing, "engagement_rate_by_impressions") == "no post has impressions data"


# -- engagement rate by followers ------------------------------------------------------------
ER_POSTS = [
    post("p1", account="brand_a", format="image", likes=30, comments=5, shares=3, saves=2),  # 40
    post("p2", account="brand_a", format="reel", likes=8, comments=1, shares=1, saves=0),    # 10
    post("p3", account="brand_b", format="image", likes=50, comments=10, saves=10),          # 70
    post("p4", account="brand_a", platform="linkedin", format="text", likes=20, comments=4, shares=6),  # 30
]
ER_SNAPSHOTS = [
    snapshot("brand_a", 20, 1900), snapshot("brand_a", 22, 2000),  # the last day counts: 2000
    snapshot("brand_b", 21, 1000),                                  # last snapshot in the period
    snapshot("brand_a", 22, 500, platform="linkedin"),
    snapshot("brand_c", 22, 1500),                                  # an account that did not post
    snapshot("brand_a", 14, 1800),                                  # previous week: not this one
]


def test_er_by_followers_divides_by_followers_at_period_end_of_every_account() -> None:
    frame = measure(EngagementRateByFollowers, records(ER_POSTS, ER_SNAPSHOTS),
                    by=["overall", "platform", "account"])
    metric = "engagement_rate_by_followers"
    # 150 interactions / (2000 + 1000 + 500 + 1500) followers, brand_c included though it did not post.
    assert value(frame, metric) == pytest.approx(150 / 5000 * 100)
    assert value(frame, metric, platform="instagram") == pytest.approx(120 / 4500 * 100)
    assert value(frame, metric, platform="linkedin") == pytest.approx(30 / 500 * 100)
    assert value(frame, metric, platform="instagram", account="brand_a") == pytest.approx(50 / 2000 * 100)
    assert value(frame, metric, platform="instagram", account="brand_b") == pytest.approx(7.0)
    assert value(frame, metric, platform="linkedin", account="brand_a") == pytest.approx(6.0)
    # brand_c's followers count overall, but an account that did not post has no rate of its
    # own: "no posts" is not "engaging at 0 %" (a threshold must not fire on it).
    assert no_value(frame, metric, platform="instagram", account="brand_c") == "no posts in this period"


def test_er_by_followers_per_format_uses_the_accounts_that_posted_in_it() -> None:
    frame = measure(EngagementRateByFollowers, records(ER_POSTS, ER_SNAPSHOTS), by=["format"])
    metric = "engagement_rate_by_followers"
    assert value(frame, metric, format="image") == pytest.approx((40 + 70) / (2000 + 1000) * 100)
    assert value(frame, metric, format="reel") == pytest.approx(10 / 2000 * 100)
    assert value(frame, metric, format="text") == pytest.approx(30 / 500 * 100)


def test_er_by_followers_without_follower_counts_says_so() -> None:
    frame = measure(EngagementRateByFollowers, records(ER_POSTS, ER_SNAPSHOTS), by=["overall", "account"])
    metric = "engagement_rate_by_followers"
    # The previous week has one snapshot (brand_a, 1800 followers) and no posts: no rate.
    assert no_value(frame, metric, "previous_period") == "no posts in this period"
    assert no_value(frame, metric, "previous_period", platform="instagram", account="brand_b") == \
        "no posts in this period"
    no_snapshots = measure(EngagementRateByFollowers, records(ER_POSTS), by=["overall", "account"])
    assert no_value(no_snapshots, metric) == "no follower count for this period"
    assert no_value(no_snapshots, metric, platform="instagram", account="brand_a") == \
        "no follower count for this period"


def test_er_by_followers_of_a_group_with_an_account_without_a_follower_count_has_no_value() -> None:
    """10 / 200 would be "known"'s rate passed off as the group's, 90 interactions left out."""
    data = records([post("p1", account="known", likes=10), post("p2", account="unknown", likes=90)],
                   [snapshot("known", 22, 200)])
    frame = measure(EngagementRateByFollowers, data, by=["overall", "account"])
    assert no_value(frame, "engagement_rate_by_followers") == (
        "no follower count for 1 of the 2 accounts with posts or activity: a rate of the others would be "
        "taken for the group's")
    assert value(frame, "engagement_rate_by_followers", platform="instagram", account="known") == \
        pytest.approx(10 / 200 * 100)


def test_er_by_followers_zero_followers_has_no_value() -> None:
    data = records([post("p1", likes=10)], [snapshot("a", 22, 0)])
    frame = measure(EngagementRateByFollowers, data, by=["overall", "account"])
    assert no_value(frame, "engagement_rate_by_followers") == "followers is 0"
    assert no_value(frame, "engagement_rate_by_followers", platform="instagram", account="a") == "followers is 0"


# -- follower growth -------------------------------------------------------------------------
GROWTH_SNAPSHOTS = [
    snapshot("a", 15, 1000),  # the day before the period: the baseline
    snapshot("a", 16, 1010), snapshot("a", 22, 1100),
    snapshot("b", 17, 500), snapshot("b", 19, None), snapshot("b", 22, 450),  # no baseline: first in period
]


def test_follower_growth_from_the_day_before_the_period() -> None:
    frame = measure(FollowerGrowth, records(snapshots=GROWTH_SNAPSHOTS), by=["overall", "account"],
                    periods=[CURRENT])  # the baseline day is in no period: read from all records
    a = {"platform": "instagram", "account": "a"}
    assert value(frame, "follower_growth", **a) == 100.0           # 1100 - 1000
    assert value(frame, "follower_growth_pct", **a) == pytest.approx(10.0)
    assert one(frame, "follower_growth", **a)["unit"] == "followers"
    assert one(frame, "follower_growth_pct", **a)["unit"] == "%"


def test_follower_growth_falls_back_to_the_first_snapshot_in_the_period() -> None:
    frame = measure(FollowerGrowth, records(snapshots=GROWTH_SNAPSHOTS), by=["overall", "account"])
    b = {"platform": "instagram", "account": "b"}
    assert value(frame, "follower_growth", **b) == -50.0            # 450 - 500
    assert value(frame, "follower_growth_pct", **b) == pytest.approx(-10.0)
    # Overall adds accounts up before dividing: (1100 + 450) - (1000 + 500) = 50 on 1500.
    assert value(frame, "follower_growth") == 50.0
    assert value(frame, "follower_growth_pct") == pytest.approx(50 / 1500 * 100)


def test_follower_growth_without_snapshots_or_from_zero() -> None:
    frame = measure(FollowerGrowth, records(snapshots=GROWTH_SNAPSHOTS), by=["account"])
    # Previous week: a has one snapshot (15th) and none the day before: growth is unknown.
    for metric in ("follower_growth", "follower_growth_pct"):
        assert no_value(frame, metric, "previous_period", platform="instagram", account="a") == \
            "one follower count only: growth needs two days"
    for metric in ("follower_growth", "follower_growth_pct"):
        assert no_value(frame, metric, "previous_period", platform="instagram", account="b") == \
            "no follower count for this period"
    new_account = measure(FollowerGrowth, records(snapshots=[snapshot("n", 15, 0), snapshot("n", 22, 40)]))
    assert value(new_account, "follower_growth") == 40.0
    assert no_value(new_account, "follower_growth_pct") == "followers at start is 0"


# -- totals and posts published --------------------------------------------------------------
TOTALS_POSTS = [
    post("i1", likes=10, comments=2, shares=1, saves=3, reach=100),
    post("i2", likes=5, comments=None, shares=0, saves=1, reach=50),
    post("l1", platform="linkedin", likes=7, comments=1, shares=2, impressions=900),
]


def test_totals_sum_each_counter_and_interactions() -> None:
    frame = measure(Totals, records(TOTALS_POSTS))
    expected = {"total_likes": 22, "total_comments": 3, "total_shares": 3, "total_saves": 4,
                "total_reach": 150, "total_impressions": 900,
                "total_interactions": (10 + 2 + 1 + 3) + (5 + 0 + 0 + 1) + (7 + 1 + 2 + 0)}
    for metric, total in expected.items():
        row = one(frame, metric)
        assert (row["value"], row["unit"]) == (total, "count"), metric
    assert no_value(frame, "total_clicks") == "no post reports clicks"
    assert no_value(frame, "total_video_views") == "no post reports video_views"


def test_a_counter_no_post_of_a_group_reports_has_no_value() -> None:
    frame = measure(Totals, records(TOTALS_POSTS), by=["platform"], counters=["saves", "reach", "impressions"])
    assert no_value(frame, "total_saves", platform="linkedin") == "no post reports saves"
    assert no_value(frame, "total_reach", platform="linkedin") == "no post reports reach"
    assert no_value(frame, "total_impressions", platform="instagram") == "no post reports impressions"
    assert value(frame, "total_saves", platform="instagram") == 4.0
    assert set(frame["metric"].unique()) == {"total_saves", "total_reach", "total_impressions"}


# Interactions follow the group rule (docs/concepts.md): a group in which no post reports any of
# likes, comments, shares or saves has no interactions; otherwise empty counters count as 0 and
# every post's reach, impressions and followers stay in the denominator.
NO_INTERACTIONS = "no post reports likes, comments, shares or saves"


def test_a_post_with_empty_counter_cells_stays_in_err_and_engagement_per_post() -> None:
    from cmflow.builtin.metrics.publishing_pace import EngagementPerPost

    posts = records([post("p1", likes=10, reach=100), post("p2", reach=900)])
    # What a CM's SUM(interactions) / SUM(reach) gives: 10 / 1000, not 10 / 100.
    assert value(measure(EngagementRateByReach, posts), "engagement_rate_by_reach") == pytest.approx(1.0)
    assert value(measure(EngagementPerPost, posts), "engagement_per_post") == pytest.approx(5.0)  # 10 / 2 posts


def test_an_export_with_reach_only_has_no_interactions_not_zero() -> None:
    from cmflow.builtin.metrics.publishing_pace import EngagementPerPost

    posts = [post("s1", reach=100, impressions=200), post("s2", reach=300, impressions=400),
             post("s0", day=10, reach=50, impressions=60)]
    data = records(posts, [snapshot("a", 22, 1000), snapshot("a", 15, 990)])
    assert no_value(measure(Totals, data, counters=["interactions"]), "total_interactions") == NO_INTERACTIONS
    assert no_value(measure(EngagementRateByReach, data), "engagement_rate_by_reach") == NO_INTERACTIONS
    assert no_value(measure(EngagementRateByImpressions, data), "engagement_rate_by_impressions") == \
        "no post reports likes, comments or shares"
    assert no_value(measure(EngagementRateByFollowers, data), "engagement_rate_by_followers") == NO_INTERACTIONS
    assert no_value(measure(EngagementPerPost, data), "engagement_per_post") == NO_INTERACTIONS
    # The previous week has no interactions either: no comparison, not a change from 0.
    assert no_value(measure(Totals, data, counters=["interactions"]), "total_interactions",
                    "previous_period") == NO_INTERACTIONS
    # Per account: the silent account says so; the one that reports its likes has its figure.
    both = records([*posts, post("t1", account="b", likes=8, comments=2, reach=200)])
    by = ["overall", "account"]
    err = measure(EngagementRateByReach, both, by=by)
    assert no_value(err, "engagement_rate_by_reach", platform="instagram", account="a") == NO_INTERACTIONS
    assert value(err, "engagement_rate_by_reach", platform="instagram", account="b") == pytest.approx(5.0)
    assert value(err, "engagement_rate_by_reach") == pytest.approx(10 / 600 * 100)  # every post's reach
    assert value(measure(Totals, both, counters=["interactions"]), "total_interactions") == 10


def test_a_rate_whose_posts_with_reach_report_no_counter_has_no_value_not_zero() -> None:
    # The only post with a reach reports no counter; the one that reports likes has no reach (so it
    # is in neither side of the rate): nothing was measured, so no value rather than 0 %.
    posts = records([post("p1", reach=100, impressions=200), post("p2", likes=50, comments=5)])
    assert no_value(measure(EngagementRateByReach, posts), "engagement_rate_by_reach") == NO_INTERACTIONS
    assert no_value(measure(EngagementRateByImpressions, posts), "engagement_rate_by_impressions") == \
        "no post reports likes, comments or shares"


def test_er_keeps_the_followers_of_an_account_whose_posts_report_no_counter() -> None:
    data = records([post("s1", account="silent", reach=100), post("t1", account="talks", likes=8, comments=2)],
                   [snapshot("silent", 22, 1000), snapshot("talks", 22, 500)])
    # 10 interactions over both accounts' 1,500 followers, not over the 500 of the one that talks.
    assert value(measure(EngagementRateByFollowers, data), "engagement_rate_by_followers") == \
        pytest.approx(10 / 1500 * 100)


def test_totals_without_posts_in_the_period() -> None:
    frame = measure(Totals, records(TOTALS_POSTS), counters=["likes", "interactions"])
    assert no_value(frame, "total_likes", "previous_period") == "no posts in this period"
    assert no_value(frame, "total_interactions", "previous_period") == "no posts in this period"


def test_totals_reject_an_unknown_counter_with_a_hint() -> None:
    with pytest.raises(ValidationError, match="did you mean 'likes'"):
        Totals.Options(counters=["like"])


def test_posts_published_is_zero_for_an_account_that_posted_only_before() -> None:
    data = records([post("a1", account="a"), post("a2", account="a", day=20),
                    post("c1", account="c", day=10)])  # c posted in the previous week only
    frame = measure(PostsPublished, data, by=["overall", "account"])
    assert value(frame, "posts_published") == 2.0
    assert value(frame, "posts_published", "previous_period") == 1.0
    assert value(frame, "posts_published", platform="instagram", account="a") == 2.0
    c_now = one(frame, "posts_published", platform="instagram", account="c")
    assert (c_now["value"], c_now["reason"], c_now["unit"]) == (0.0, None, "posts")
    assert value(frame, "posts_published", "previous_period", platform="instagram", account="a") == 0.0


# -- top and bottom posts --------------------------------------------------------------------
TOP_POSTS = [
    post("t1", day=18, likes=50, reach=1000),   # 5 %, published after t4
    post("t2", likes=20, reach=200),            # 10 %
    post("t3", likes=25, reach=50),             # 50 %, but reached fewer than 100 people
    post("t4", day=17, likes=50, reach=1000),   # 5 %, ties with t1 and was published first
    post("t5", likes=999),                      # no reach: not ranked by ERR
    post("t6", likes=5, reach=500),             # 1 %
    post("t7", platform="facebook", account="f", likes=1, reach=10),  # 10 %
]


def ranking(frame: pl.DataFrame, metric: str = "top_posts", period: str = "current",
            within: str = "overall") -> list[tuple[int, str, float]]:
    rows = frame.filter((pl.col("metric") == metric) & (pl.col("period") == period)
                        & (pl.col("ranked_within") == within)).sort("rank")
    return [(r["rank"], r["post_id"], r["value"]) for r in rows.iter_rows(named=True)]


def test_top_posts_by_err_in_rank_order_with_min_reach_and_ties() -> None:
    frame = measure(TopPosts, records(TOP_POSTS), n=3, min_reach=100)
    assert ranking(frame) == [(1, "t2", pytest.approx(10.0)), (2, "t4", pytest.approx(5.0)),
                              (3, "t1", pytest.approx(5.0))]
    row = frame.filter(pl.col("post_id") == "t2").row(0, named=True)
    assert (row["platform"], row["account"], row["unit"]) == ("instagram", "a", "%")


def test_top_posts_without_min_reach_and_default_n() -> None:
    frame = measure(TopPosts, records(TOP_POSTS))
    assert [post_id for _, post_id, _ in ranking(frame)] == ["t3", "t2", "t7", "t4", "t1"]


def test_bottom_posts_are_the_lowest_first() -> None:
    frame = measure(TopPosts, records(TOP_POSTS), direction="bottom", n=2, min_reach=100)
    assert set(frame["metric"].unique()) == {"bottom_posts"}
    assert ranking(frame, "bottom_posts") == [(1, "t6", pytest.approx(1.0)), (2, "t4", pytest.approx(5.0))]


def test_a_post_that_reports_no_counter_is_not_ranked_as_zero() -> None:
    # "silent" reached 5,000 people but its export row has empty counter cells: nothing was
    # measured, so it is not the worst post at 0 %, nor ranked by interactions.
    posts = records([post("p1", likes=10, comments=4, reach=100), post("silent", reach=5000)])
    for rank_by in ("engagement_rate_by_reach", "interactions"):
        bottom = measure(TopPosts, posts, direction="bottom", rank_by=rank_by)
        assert [post_id for _, post_id, _ in ranking(bottom, "bottom_posts")] == ["p1"], rank_by
    # A post that reports one counter keeps its empty ones as 0.
    some = records([post("p1", likes=10, comments=4, reach=100), post("p2", likes=3, reach=100)])
    assert ranking(measure(TopPosts, some), "top_posts") == [(1, "p1", pytest.approx(14.0)),
                                                             (2, "p2", pytest.approx(3.0))]


def test_top_posts_by_a_counter_within_each_account() -> None:
    frame = measure(TopPosts, records(TOP_POSTS), by=["account"], rank_by="likes", n=2)
    within = "platform+account"
    rows = frame.filter(pl.col("ranked_within") == within).sort("platform", "rank")
    assert [(r["platform"], r["account"], r["rank"], r["post_id"], r["value"])
            for r in rows.iter_rows(named=True)] == [
        ("facebook", "f", 1, "t7", 1.0),
        ("instagram", "a", 1, "t5", 999.0),
        ("instagram", "a", 2, "t4", 50.0),  # ties with t1 (50 likes), published first
    ]
    assert set(frame["unit"].unique()) == {"count"}


def test_top_posts_of_an_empty_period_are_no_rows() -> None:
    frame = measure(TopPosts, records(TOP_POSTS))
    assert frame.filter(pl.col("period") == "previous_period").height == 0


# -- dimensions ------------------------------------------------------------------------------
DIMENSION_POSTS = [
    post("p1", account="brand", format="image", pillar="product", likes=40, reach=1000),  # 4 %
    post("p2", account="brand", format="reel", pillar="team", likes=10, reach=100),       # 10 %
    post("p3", account="shop", format="image", pillar="product", likes=70, reach=700),    # 10 %
    # Same account name on another platform: a different account.
    post("p4", account="brand", platform="linkedin", format="text", pillar="team", likes=30, reach=300),
]


def test_err_by_every_dimension() -> None:
    frame = measure(EngagementRateByReach, records(DIMENSION_POSTS),
                    by=["overall", "platform", "account", "format", "pillar", ["platform", "format"]])
    metric = "engagement_rate_by_reach"
    assert value(frame, metric) == pytest.approx(150 / 2100 * 100)
    assert value(frame, metric, platform="instagram") == pytest.approx(120 / 1800 * 100)
    assert value(frame, metric, platform="linkedin") == pytest.approx(10.0)
    assert value(frame, metric, platform="instagram", account="brand") == pytest.approx(50 / 1100 * 100)
    assert value(frame, metric, platform="instagram", account="shop") == pytest.approx(10.0)
    assert value(frame, metric, platform="linkedin", account="brand") == pytest.approx(10.0)
    assert value(frame, metric, format="image") == pytest.approx(110 / 1700 * 100)
    assert value(frame, metric, format="reel") == pytest.approx(10.0)
    assert value(frame, metric, format="text") == pytest.approx(10.0)
    assert value(frame, metric, pillar="product") == pytest.approx(110 / 1700 * 100)
    assert value(frame, metric, pillar="team") == pytest.approx(40 / 400 * 100)
    assert value(frame, metric, platform="instagram", format="image") == pytest.approx(110 / 1700 * 100)
    current = frame.filter(pl.col("period") == "current")
    # 1 overall + 2 platforms + 3 accounts + 3 formats + 2 pillars + 3 platform/format pairs.
    assert current.height == 14


def test_every_breakdown_appears_in_every_period() -> None:
    frame = measure(PostsPublished, records(DIMENSION_POSTS), by=["pillar"])
    previous = frame.filter(pl.col("period") == "previous_period")
    assert sorted(previous["pillar"].to_list()) == ["product", "team"]
    assert previous["value"].to_list() == [0.0, 0.0]


def test_a_metric_reads_only_its_sources() -> None:
    data = records(DIMENSION_POSTS)
    other = records([post("x1", likes=1000, reach=1000)], source="other")
    combined = {"post": pl.concat([data["post"], other["post"]])}
    only_export = measure(EngagementRateByReach, combined)
    assert value(only_export, "engagement_rate_by_reach") == pytest.approx(150 / 2100 * 100)
    both = measure(EngagementRateByReach, combined, sources=[SOURCE, "other"])
    assert value(both, "engagement_rate_by_reach") == pytest.approx(1150 / 3100 * 100)


# -- never silently 0, never a crash ---------------------------------------------------------
@pytest.mark.parametrize("metric_class", ALL_METRICS, ids=lambda c: c.name)
def test_no_records_at_all_give_reasons_not_zeros(metric_class: type) -> None:
    frame = measure(metric_class, {}, by=["overall", "account"])
    for row in frame.iter_rows(named=True):
        if row["metric"] == "posts_published":
            assert row["value"] == 0.0  # a count of nothing is a real 0
        else:
            assert row["value"] is None and row["reason"], row
    if metric_class is not TopPosts:
        assert set(frame.filter(pl.col("account").is_null())["period"]) == {"current", "previous_period"}


@pytest.mark.parametrize("metric_class", ALL_METRICS, ids=lambda c: c.name)
def test_every_missing_value_has_a_reason(metric_class: type) -> None:
    posts = [*ER_POSTS, *TOTALS_POSTS, post("zero", account="z", likes=3, reach=0, impressions=0),
             post("old", account="old", day=10, likes=1, reach=10)]
    snapshots = [*ER_SNAPSHOTS, snapshot("z", 22, 0), snapshot("old", 15, 30)]
    by = [g for g in ("overall", "platform", "account", "format") if g in metric_class.groupings]
    frame = measure(metric_class, records(posts, snapshots), by=by)
    assert frame.height > 0
    missing = frame.filter(pl.col("value").is_null())
    assert missing.filter(pl.col("reason").is_null()).height == 0, missing
    assert frame.filter(pl.col("value").is_not_null() & pl.col("reason").is_not_null()).height == 0


# -- period-over-period change, through a run ------------------------------------------------
CHANGE_POSTS = [
    # platform, account, post_id, published_at, likes, reach
    ("instagram", "a", "a-now", "2026-11-17T10:00:00Z", 30, 1000),
    ("instagram", "b", "b-now", "2026-11-18T10:00:00Z", 10, 500),
    ("instagram", "a", "a-before", "2026-11-10T10:00:00Z", 20, 1000),
    ("instagram", "b", "b-before", "2026-11-11T10:00:00Z", 0, 500),
    ("instagram", "c", "c-before", "2026-11-12T10:00:00Z", 5, 100),
    ("instagram", "a", "a-last-year", "2025-11-18T10:00:00Z", 15, 1000),  # 52 weeks before a-now
]
CHANGE_WORKFLOW = """
[workflow]
name = "Changes"
timezone = "UTC"
period = "2026-11-16..2026-11-22"
compare = ["previous_period", "same_period_last_year"]

[[sources]]
id = "posts"
plugin = "csv"
path = "posts.csv"

[[metrics]]
plugin = "totals"
counters = ["likes"]
by = ["account"]

[[metrics]]
plugin = "posts_published"
by = ["account"]

[[metrics]]
plugin = "engagement_rate_by_reach"
by = ["overall"]

[[metrics]]
plugin = "top_posts"
n = 2
by = ["overall"]
"""


@pytest.fixture
def change_result(tmp_path: Path, write_workflow, store_url: str):
    with (tmp_path / "posts.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["platform", "account", "post_id", "published_at", "likes", "reach"])
        writer.writerows(CHANGE_POSTS)
    result = run_workflow_file(write_workflow(CHANGE_WORKFLOW), store_url=store_url, dry_run=True)
    assert result.status == "ok", result.failed_stages
    return result


def change(result, metric: str, comparison: str, account: str | None = None) -> dict[str, Any]:
    rows = result.comparisons.filter((pl.col("metric") == metric) & (pl.col("comparison") == comparison))
    rows = rows.filter(pl.col("account").is_null() if account is None else pl.col("account") == account)
    assert rows.height == 1, rows
    row = rows.row(0, named=True)
    return {k: row[k] for k in ("value", "previous_value", "change", "change_pct", "change_reason")}


def test_change_and_change_pct_against_the_previous_week(change_result) -> None:
    assert change(change_result, "total_likes", "previous_period", "a") == {
        "value": 30.0, "previous_value": 20.0, "change": 10.0, "change_pct": pytest.approx(50.0),
        "change_reason": None}
    assert change(change_result, "posts_published", "previous_period", "c") == {
        "value": 0.0, "previous_value": 1.0, "change": -1.0, "change_pct": pytest.approx(-100.0),
        "change_reason": None}
    err = change(change_result, "engagement_rate_by_reach", "previous_period")
    now, before = 40 / 1500 * 100, 25 / 1600 * 100
    assert err["value"] == pytest.approx(now) and err["previous_value"] == pytest.approx(before)
    assert err["change"] == pytest.approx(now - before)  # percentage points
    assert err["change_pct"] == pytest.approx((now - before) / before * 100)


def test_change_from_zero_has_no_percentage_but_a_reason(change_result) -> None:
    assert change(change_result, "total_likes", "previous_period", "b") == {
        "value": 10.0, "previous_value": 0.0, "change": 10.0, "change_pct": None,
        "change_reason": "comparison value is 0"}


def test_change_without_a_value_on_either_side(change_result) -> None:
    no_value_now = change(change_result, "total_likes", "previous_period", "c")
    assert no_value_now == {"value": None, "previous_value": 5.0, "change": None, "change_pct": None,
                            "change_reason": "no value this period"}
    no_value_before = change(change_result, "total_likes", "same_period_last_year", "b")
    assert no_value_before == {"value": 10.0, "previous_value": None, "change": None, "change_pct": None,
                               "change_reason": "no value for the comparison period"}


def test_change_against_the_same_week_last_year(change_result) -> None:
    last_year = change_result.comparison_periods[1]
    assert (last_year.start, last_year.end) == (date(2025, 11, 17), date(2025, 11, 23))
    assert change(change_result, "total_likes", "same_period_last_year", "a") == {
        "value": 30.0, "previous_value": 15.0, "change": 15.0, "change_pct": pytest.approx(100.0),
        "change_reason": None}
    err = change(change_result, "engagement_rate_by_reach", "same_period_last_year")
    assert err["previous_value"] == pytest.approx(1.5)
    assert err["change_pct"] == pytest.approx((40 / 1500 * 100 - 1.5) / 1.5 * 100)


def test_rankings_are_not_compared(change_result) -> None:
    top = change_result.measurements.filter(pl.col("metric") == "top_posts")
    assert top.group_by("period").len().sort("period").rows() == [
        ("current", 2), ("previous_period", 2), ("same_period_last_year", 1)]
    assert change_result.comparisons.filter(pl.col("metric") == "top_posts").height == 0
