"""The number of posts published: ``posts_published``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cmflow import Metric, aggregate, hookimpl, measurement_rows

if TYPE_CHECKING:
    from cmflow import MetricInput


class PostsPublished(Metric):
    """Number of posts published in the period (0 when an account posted nothing)."""

    name = "posts_published"
    description = "Number of posts published in the period."
    unit = "posts"

    def compute(self, data: MetricInput):
        import polars as pl

        rows = aggregate(data.records["post"], data.grouping_sets, [pl.len().alias("posts")],
                         periods=[p.label for p in data.periods])
        return measurement_rows(rows, metric=self.name, unit=self.unit,
                                value=pl.col("posts").fill_null(0))


@hookimpl
def register_metrics(register):
    register(PostsPublished)
