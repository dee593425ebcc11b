"""Totals of post counters: ``totals``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field, field_validator

from cmflow import COUNTERS, Metric, PluginOptions, aggregate, hookimpl, measurement_rows

from cmflow.builtin.metrics.common import ENGAGEMENT_COUNTERS, interactions, no_records_reason

if TYPE_CHECKING:
    from cmflow import MetricInput

TOTALS = (*COUNTERS, "interactions")


class TotalsOptions(PluginOptions):
    counters: list[str] = Field(
        default_factory=lambda: list(TOTALS),
        description="Counters to total; each gives a measurement named total_<counter>. "
        "interactions = likes + comments + shares + saves.",
        examples=[["likes", "comments", "reach"]])

    @field_validator("counters")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        from cmflow import closest

        for name in value:
            if name not in TOTALS:
                hint = closest(name, list(TOTALS))
                raise ValueError(f"unknown counter {name!r}" + (f"; did you mean {hint!r}?" if hint else
                                 f"; counters: {', '.join(TOTALS)}"))
        return value


class Totals(Metric):
    """Sum of each counter over the period's posts (``total_likes``, ``total_reach`` ...).

    Post reach adds up per post: a person reached by two posts counts twice. A counter no post
    reports (saves on LinkedIn) has no value rather than 0.
    """

    name = "totals"
    description = "Totals of post counters over the period: total_likes, total_reach, total_interactions ..."
    Options = TotalsOptions

    def produces(self) -> dict[str, str]:
        return {f"total_{c}": "count" for c in self.options.counters}

    def compute(self, data: MetricInput):
        import polars as pl

        posts = data.records["post"].with_columns(interactions=interactions(*ENGAGEMENT_COUNTERS))
        aggregations = [pl.len().alias("posts")]
        for counter in self.options.counters:
            aggregations += [pl.col(counter).sum().alias(f"sum_{counter}"),
                             pl.col(counter).is_not_null().sum().alias(f"known_{counter}")]
        rows = aggregate(posts, data.grouping_sets, aggregations, periods=[p.label for p in data.periods])
        parts = []
        for counter in self.options.counters:
            reason = (no_records_reason(pl.col("posts"))
                      .when(pl.col(f"known_{counter}") == 0).then(pl.lit(f"no post reports {counter}")))
            value = pl.when(pl.col(f"known_{counter}") > 0).then(pl.col(f"sum_{counter}"))
            parts.append(measurement_rows(rows, metric=f"total_{counter}", unit="count",
                                          value=value, reason=reason))
        return pl.concat(parts)


@hookimpl
def register_metrics(register):
    register(Totals)
