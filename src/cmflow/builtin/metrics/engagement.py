"""Engagement rates: by reach (ERR), by followers (ER) and by impressions.

Formulas (docs/concepts.md, kept stable):

- ERR = (likes + comments + shares + saves) / reach x 100
- ER  = (likes + comments + shares + saves) / followers x 100, followers at the end of the period
- engagement by impressions = (likes + comments + shares) / impressions x 100

For a group of posts the rate is the ratio of the sums (a weighted rate, so a post reaching
10 people does not weigh as much as one reaching 10,000); ``aggregate = "mean_of_posts"`` gives
the plain average of the posts' own rates instead. A counter the platform does not report counts
as 0 in the numerator; posts without a denominator (no reach, no impressions, or 0) are left out of
both sides. A zero or missing denominator gives no value, with the reason.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field

from cmflow import Metric, PluginOptions, aggregate, hookimpl, measurement_rows, ratio

from cmflow.builtin.metrics.common import ENGAGEMENT_COUNTERS, IMPRESSION_COUNTERS, interactions, no_records_reason

if TYPE_CHECKING:
    from cmflow import MetricInput


class RateOptions(PluginOptions):
    aggregate: Literal["ratio_of_sums", "mean_of_posts"] = Field(
        "ratio_of_sums", description="ratio_of_sums: total interactions / total denominator "
        "(weighted); mean_of_posts: average of each post's own rate.")


class _PostRate(Metric):
    """A rate of post interactions over a per-post denominator."""

    Options = RateOptions
    unit = "%"
    numerator: tuple[str, ...] = ENGAGEMENT_COUNTERS
    denominator = "reach"

    def compute(self, data: MetricInput):
        import polars as pl

        posts = data.records["post"].with_columns(_interactions=interactions(*self.numerator))
        reported = pl.col(self.denominator).is_not_null()
        # A post that reached no one (or whose reach is unknown) has no rate: its interactions
        # are left out of the numerator too, in both aggregations alike.
        has_denominator = pl.col(self.denominator) > 0
        per_post = ratio(pl.col("_interactions"), pl.col(self.denominator))
        rows = aggregate(posts, data.grouping_sets, [
            pl.len().alias("posts"),
            reported.sum().alias("reported"),
            pl.col("_interactions").filter(has_denominator).sum().alias("numerator"),
            pl.col(self.denominator).filter(has_denominator).sum().alias("denominator"),
            per_post.mean().alias("mean_of_posts"),
        ], periods=[p.label for p in data.periods])
        value = (pl.col("mean_of_posts") if self.options.aggregate == "mean_of_posts"
                 else ratio(pl.col("numerator"), pl.col("denominator")))
        reason = (no_records_reason(pl.col("posts"))
                  .when(pl.col("reported") == 0)
                  .then(pl.lit(f"no post has {self.denominator} data"))
                  .when(pl.col("denominator") == 0).then(pl.lit(f"{self.denominator} is 0")))
        return measurement_rows(rows, metric=self.name, unit=self.unit, value=value, reason=reason)


class EngagementRateByReach(_PostRate):
    """ERR = (likes + comments + shares + saves) / reach x 100."""

    name = "engagement_rate_by_reach"
    description = "Engagement rate by reach (ERR): (likes + comments + shares + saves) / reach x 100."


class EngagementRateByImpressions(_PostRate):
    """(likes + comments + shares) / impressions x 100."""

    name = "engagement_rate_by_impressions"
    description = "Engagement by impressions: (likes + comments + shares) / impressions x 100."
    numerator = IMPRESSION_COUNTERS
    denominator = "impressions"


class EngagementRateByFollowers(Metric):
    """ER = (likes + comments + shares + saves) / followers x 100.

    Followers are each account's count on the last day of the period with a snapshot. Overall
    and per-platform rates divide by the followers of every account, including those that did
    not post; per-format or per-pillar rates by the followers of the accounts that posted in it.
    """

    name = "engagement_rate_by_followers"
    description = "Engagement rate by followers (ER): interactions / followers at period end x 100."
    needs = ("post", "account_snapshot")
    unit = "%"

    def compute(self, data: MetricInput):
        import polars as pl

        account = ["platform", "account"]
        followers = (data.records["account_snapshot"].filter(pl.col("followers").is_not_null())
                     .sort("date").group_by(["period", *account]).agg(pl.col("followers").last()))
        posts = data.records["post"].with_columns(_interactions=interactions(*ENGAGEMENT_COUNTERS))
        labels = [p.label for p in data.periods]
        parts = []
        for dims in data.grouping_sets:
            extra = [d for d in dims if d not in account]
            per_account = posts.group_by(["period", *account, *extra]).agg(
                pl.len().alias("posts"), pl.col("_interactions").sum().alias("interactions"))
            if extra:  # a post attribute: the accounts that posted in the group
                base = per_account.join(followers, on=["period", *account], how="left")
            else:  # every account with a follower count, posting or not
                base = followers.join(per_account, on=["period", *account], how="full", coalesce=True)
            with_followers = pl.col("followers").is_not_null()
            rows = aggregate(base, [dims], [
                pl.col("posts").sum().alias("posts"),
                with_followers.sum().alias("with_followers"),
                pl.col("interactions").filter(with_followers).fill_null(0).sum().alias("numerator"),
                pl.col("followers").sum().alias("denominator"),
            ], periods=labels)
            parts.append(rows)
        rows = pl.concat(parts, how="diagonal_relaxed")
        reason = (no_records_reason(pl.col("posts"))
                  .when(pl.col("with_followers").is_null() | (pl.col("with_followers") == 0))
                  .then(pl.lit("no follower count for this period"))
                  .when(pl.col("denominator") == 0).then(pl.lit("followers is 0")))
        # No post in the group: no rate (an account that did not post is not "engaging at 0%").
        value = pl.when(pl.col("posts") > 0).then(ratio(pl.col("numerator"), pl.col("denominator")))
        return measurement_rows(rows, metric=self.name, unit=self.unit, value=value, reason=reason)


@hookimpl
def register_metrics(register):
    register(EngagementRateByReach)
    register(EngagementRateByFollowers)
    register(EngagementRateByImpressions)
