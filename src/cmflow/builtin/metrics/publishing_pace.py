"""How often accounts post and how much each post draws: ``posting_frequency`` (posts per week)
and ``engagement_per_post``. With ``by = ["brand"]`` over the public accounts a ``[listen]``
brand and its competitors list, they benchmark the brand against its competitors from public
data (docs/concepts.md, "Competitor benchmarking").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cmflow import Metric, aggregate, hookimpl, measurement_rows, ratio

from cmflow.builtin.metrics.common import (ENGAGEMENT_COUNTERS, counters_reported, interactions, no_post_counters,
                                           no_records_reason)

if TYPE_CHECKING:
    import polars as pl

    from cmflow import MetricInput


def _period_weeks(data: "MetricInput") -> "pl.Expr":
    """The length of each row's period in weeks (its whole days / 7)."""
    import polars as pl

    weeks = {p.label: ((p.end - p.start).days + 1) / 7 for p in data.periods}
    return pl.col("period").cast(pl.String).replace_strict(weeks, return_dtype=pl.Float64)


class _PostsMetric(Metric):
    """A metric of the period's posts, the records every source of a competitor's public account
    gives (its daily activity is private to its owners)."""

    needs = ("post",)
    groupings = (*Metric.groupings, "brand")


class PostingFrequency(_PostsMetric):
    """Posts per week: the period's posts / (its days / 7). A week of 3 posts is 3; a 30-day
    month of 12 posts is 12 / (30 / 7) = 2.8; 0 when the group's accounts posted nothing."""

    name = "posting_frequency"
    default_polarity = "neutral"  # posting more is not better by itself
    description = "Posting frequency: posts per week (the period's posts / its days x 7)."
    unit = "posts/week"

    def compute(self, data: "MetricInput"):
        import polars as pl

        rows = aggregate(data.records["post"], data.grouping_sets, [pl.len().alias("posts")],
                         periods=[p.label for p in data.periods])
        return measurement_rows(rows, metric=self.name, unit=self.unit,
                                value=pl.col("posts").fill_null(0) / _period_weeks(data))


class EngagementPerPost(_PostsMetric):
    """Interactions per post: the period's (likes + comments + shares + saves) / its posts, a
    ratio of sums (a counter a platform does not report counts as 0). No value for a group
    without posts in the period, or in which no post reports any of the counters."""

    name = "engagement_per_post"
    default_polarity = "up"
    description = "Interactions per post: (likes + comments + shares + saves) of the period's posts / their number."
    unit = "interactions"

    def compute(self, data: "MetricInput"):
        import polars as pl

        posts = data.records["post"].with_columns(_interactions=interactions(*ENGAGEMENT_COUNTERS))
        rows = aggregate(posts, data.grouping_sets,
                         [pl.len().alias("posts"), pl.col("_interactions").sum().alias("interactions"),
                          counters_reported(*ENGAGEMENT_COUNTERS).alias("counters_reported")],
                         periods=[p.label for p in data.periods])
        counted = pl.col("counters_reported").fill_null(0) > 0
        reason = (no_records_reason(pl.col("posts")).when(~counted)
                  .then(pl.lit(no_post_counters(*ENGAGEMENT_COUNTERS))))
        return measurement_rows(rows, metric=self.name, unit=self.unit, reason=reason,
                                value=pl.when(counted).then(ratio(pl.col("interactions"), pl.col("posts"), scale=1)))


@hookimpl
def register_metrics(register):
    register(PostingFrequency)
    register(EngagementPerPost)
