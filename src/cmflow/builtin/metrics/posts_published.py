"""The number of posts published: ``posts_published``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cmflow import hookimpl, measurement_rows

from cmflow.builtin.metrics.views import ACTIVITY, ViewMetric, from_view_aggregates, view_aggregates

if TYPE_CHECKING:
    from cmflow import Aggregate, MetricInput


class PostsPublished(ViewMetric):
    """Number of posts published in the period (0 when an account posted nothing, or when its
    export's list of posts is there but empty: LinkedIn's ``All posts`` sheet with its header only).

    An account known only from its daily activity (``account_activity`` records: TikTok Studio's
    overview, LinkedIn's Metrics sheet) has no post list: its count is no value, with the reason
    "activity only: no post list", never one post per day and never 0. A group of accounts
    (overall, per platform) that includes such an account has no value either, since its count
    would leave that account's posts out; ``view = "posts"`` counts the posts of the accounts
    that have a post list and ignores the others.
    """

    name = "posts_published"
    default_polarity = "neutral"  # publishing more is not better by itself
    description = "Number of posts published in the period (no value for accounts known only from their activity)."
    unit = "posts"

    def aggregates(self, data: MetricInput) -> dict[str, "Aggregate"]:
        return view_aggregates(data, self.options.view, [])  # the view counts alone

    def from_aggregates(self, data: MetricInput, grouped):
        import polars as pl

        rows = from_view_aggregates(data, grouped)
        activity_only = pl.col("_ever_from_activity") > 0  # in any period: the series stays no value
        posts = pl.col("_ever_from_posts") > 0
        reason = (pl.when(activity_only & ~posts).then(pl.lit(f"{ACTIVITY} only: no post list"))
                  .when(activity_only).then(pl.lit(
                      "includes accounts known only from their activity (no post list): "
                      'per account, or view = "posts" to count the others')))
        value = pl.when(~activity_only).then(pl.col("_from_posts").fill_null(0))
        return measurement_rows(rows, metric=self.name, unit=self.unit, value=value, reason=reason,
                                basis=pl.lit("posts"))


@hookimpl
def register_metrics(register):
    register(PostsPublished)
