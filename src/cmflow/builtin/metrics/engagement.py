"""Engagement rates: by reach (ERR), by followers (ER) and by impressions.

Formulas (docs/concepts.md, kept stable):

- ERR = (likes + comments + shares + saves) / reach x 100
- ER  = (likes + comments + shares + saves) / followers x 100, followers at the end of the period
- engagement by impressions = (likes + comments + shares) / impressions x 100

Each account is counted from its posts, or from its daily account activity (``view``, see
:mod:`cmflow.builtin.metrics.views`): a day of activity weighs as a post does, and a group of
accounts adds up each account's interactions and denominators from its own view before dividing.
For a group of posts the rate is the ratio of the sums (a weighted rate, so a post reaching
10 people does not weigh as much as one reaching 10,000); ``aggregate = "mean_of_posts"`` gives
the plain average of the posts' own rates instead. A counter the platform does not report counts
as 0 in the numerator, but a group in which no record reports any of the counters has no value
(no post reports likes, comments, shares or saves): its 0 would be taken for a measured one. Posts
without a denominator (no reach, no impressions, or 0) are left out of
both sides. A zero or missing denominator gives no value, with the reason.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field, model_validator

from cmflow import Aggregate, aggregate, hookimpl, measurement_rows, ratio

from cmflow.builtin.metrics.common import (ENGAGEMENT_COUNTERS, IMPRESSION_COUNTERS, follower_counts,
                                           interaction_column, reporting_column)
from cmflow.builtin.metrics.views import (ViewMetric, ViewOptions, basis, by_basis, for_dimensions,
                                          from_view_aggregates, is_post, no_counters_reason,
                                          no_records_reason, view_aggregates,
                                          view_counts, view_rows_of, with_view_history)

if TYPE_CHECKING:
    import polars as pl

    from cmflow import MetricInput

ACCOUNT = ("platform", "account")


class RateOptions(ViewOptions):
    aggregate: Literal["ratio_of_sums", "mean_of_posts"] = Field(
        "ratio_of_sums", description="ratio_of_sums: total interactions / total denominator "
        "(weighted); mean_of_posts: average of each post's own rate (posts only: a group with "
        "accounts counted from their daily activity has no value then).")

    @model_validator(mode="after")
    def _mean_needs_posts(self) -> "RateOptions":
        if self.aggregate == "mean_of_posts" and self.view == "activity":
            raise ValueError('aggregate = "mean_of_posts" averages the rates of posts, and view = '
                             '"activity" reads no post: use aggregate = "ratio_of_sums"')
        return self


def _mean_of_posts_reason() -> "pl.Expr":
    """Why a mean of posts' rates has no value for a group counted (partly) from activity."""
    import polars as pl

    return (pl.when(pl.col("_from_activity").fill_null(0) > 0).then(by_basis(
        "", 'activity only: no post list to average (aggregate = "mean_of_posts")',
        'accounts counted from their daily activity have no post to average: use aggregate = '
        '"ratio_of_sums" or view = "posts"')))


class _PostRate(ViewMetric):
    """A rate of interactions over a denominator, per post or per day of account activity."""

    Options = RateOptions
    unit = "%"
    default_polarity = "up"
    numerator: tuple[str, ...] = ENGAGEMENT_COUNTERS
    denominator = "reach"

    def aggregates(self, data: MetricInput) -> dict[str, Aggregate]:
        import polars as pl

        options: RateOptions = self.options
        column, summed = interaction_column(*self.numerator)
        reports, reporting = reporting_column(*self.numerator)
        denominator = pl.col(self.denominator)
        # A post (or day) that reached no one, or whose reach is unknown, has no rate: its
        # interactions are left out of the numerator too, in both aggregations alike.
        has_denominator = denominator > 0
        aggregations = [
            denominator.is_not_null().sum().alias("reported"),
            # when/then, not filter: a plain sum or mean of a column runs on Polars' fast path.
            pl.when(has_denominator).then(pl.col(column)).sum().alias("numerator"),
            pl.when(has_denominator).then(denominator).sum().alias("denominator"),
            pl.when(has_denominator).then(pl.col(reports)).sum().alias("counters_reported"),
        ]
        if options.aggregate == "mean_of_posts":
            aggregations.append(pl.when(is_post()).then(ratio(pl.col(column), denominator)).mean()
                                .alias("mean_of_posts"))
        return view_aggregates(data, options.view, aggregations, {column: summed, reports: reporting})

    def from_aggregates(self, data: MetricInput, grouped):
        import polars as pl

        options: RateOptions = self.options
        rows = from_view_aggregates(data, grouped)
        mean = options.aggregate == "mean_of_posts"
        value = (pl.when(pl.col("_from_activity").fill_null(0) == 0).then(pl.col("mean_of_posts")) if mean
                 else ratio(pl.col("numerator"), pl.col("denominator")))
        counted = pl.col("counters_reported").fill_null(0) > 0
        value = pl.when(counted).then(value)
        reason = no_records_reason()
        if mean:
            reason = reason.when(pl.col("_from_activity").fill_null(0) > 0).then(_mean_of_posts_reason())
        reason = (reason.when(pl.col("reported") == 0)
                  .then(by_basis(f"no post has {self.denominator} data",
                                 f"no activity record has {self.denominator} data",
                                 f"no post or activity record has {self.denominator} data"))
                  .when(pl.col("denominator") == 0).then(pl.lit(f"{self.denominator} is 0"))
                  .when(~counted).then(no_counters_reason(*self.numerator)))
        return measurement_rows(rows, metric=self.name, unit=self.unit, value=value, reason=reason,
                                basis=basis())


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


class EngagementRateByFollowers(ViewMetric):
    """ER = (likes + comments + shares + saves) / followers x 100.

    Followers are each account's count on the last day of the period with a snapshot. Overall
    and per-platform rates divide by the followers of every account, including those that did
    not post; per-format or per-pillar rates by the followers of the accounts that posted in it.
    A group in which an account with posts (or activity) has no follower count has no value,
    with the reason: the rate of the others would pass for the group's.
    Interactions are each account's, from its posts or its daily activity as ``view`` says.
    """

    name = "engagement_rate_by_followers"
    default_polarity = "up"
    description = "Engagement rate by followers (ER): interactions / followers at period end x 100."
    needs = ("account_snapshot",)
    unit = "%"

    def aggregates(self, data: MetricInput) -> dict[str, Aggregate]:
        import polars as pl

        column, summed = interaction_column(*ENGAGEMENT_COUNTERS)
        reports, reporting = reporting_column(*ENGAGEMENT_COUNTERS)
        name, rows = view_rows_of(data, self.options.view)
        # Each account's count on the last day of the period with a snapshot.
        wanted = {"followers": follower_counts(data, (pl.col("followers").max_by("date").alias("followers"),))}
        for dims in data.grouping_sets:
            by = (*ACCOUNT, *[d for d in dims if d not in ACCOUNT])
            wanted[f"accounts:{','.join(dims)}"] = Aggregate(
                name, for_dimensions(rows, dims), by,
                (pl.len().alias("records"), pl.col(column).sum().alias("interactions"),
                 pl.col(reports).sum().alias("counters_reported"), *view_counts()),
                {column: summed, reports: reporting})
        return wanted

    def from_aggregates(self, data: MetricInput, grouped):
        import polars as pl

        followers = grouped["followers"].lazy()
        labels = [p.label for p in data.periods]
        parts = []
        for dims in data.grouping_sets:
            extra = [d for d in dims if d not in ACCOUNT]
            per_account = grouped[f"accounts:{','.join(dims)}"].lazy()
            if extra:  # a post attribute: the accounts that posted in the group
                base = per_account.join(followers, on=["period", *ACCOUNT], how="left")
            else:  # every account with a follower count, posting or not
                base = followers.join(per_account, on=["period", *ACCOUNT], how="full", coalesce=True)
            with_followers = pl.col("followers").is_not_null()
            active = pl.col("records").fill_null(0) > 0
            part = aggregate(base, [dims], [
                pl.col("records").sum().alias("records"),
                with_followers.sum().alias("with_followers"),
                active.sum().alias("active"),
                (active & ~with_followers).sum().alias("lacking"),
                pl.when(with_followers).then(pl.col("interactions").fill_null(0)).sum().alias("numerator"),
                pl.col("followers").sum().alias("denominator"),
                pl.col("counters_reported").fill_null(0).sum().alias("counters_reported"),
                pl.col("_from_posts").sum(), pl.col("_from_activity").sum(),
            ], periods=labels)
            parts.append(with_view_history(part, dims))
        rows = pl.concat(parts, how="diagonal_relaxed")
        reason = (no_records_reason()
                  .when(pl.col("with_followers").is_null() | (pl.col("with_followers") == 0))
                  .then(pl.lit("no follower count for this period"))
                  .when(pl.col("lacking") > 0)
                  .then(pl.format("no follower count for {} of the {} accounts with posts or activity: a "
                                  "rate of the others would be taken for the group's", pl.col("lacking"),
                                  pl.col("active")))
                  .when(pl.col("counters_reported") == 0).then(no_counters_reason(*ENGAGEMENT_COUNTERS))
                  .when(pl.col("denominator") == 0).then(pl.lit("followers is 0")))
        # No record in the group: no rate (an account that did not post is not "engaging at 0%");
        # an account that did, without a follower count, would have its interactions left out.
        # No record reporting any counter: no interactions to count, not 0 (docs/concepts.md).
        value = pl.when((pl.col("records") > 0) & (pl.col("lacking") == 0)
                        & (pl.col("counters_reported") > 0)).then(
            ratio(pl.col("numerator"), pl.col("denominator")))
        return measurement_rows(rows, metric=self.name, unit=self.unit, value=value, reason=reason,
                                basis=basis())


@hookimpl
def register_metrics(register):
    register(EngagementRateByReach)
    register(EngagementRateByFollowers)
    register(EngagementRateByImpressions)
