"""Totals of counters, from posts or daily account activity: ``totals``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field, field_validator

from cmflow import COUNTERS, hookimpl, measurement_rows

from cmflow.builtin.metrics.common import ENGAGEMENT_COUNTERS, interaction_column, reporting_column
from cmflow.builtin.metrics.views import (ViewMetric, ViewOptions, basis, by_basis, from_view_aggregates,
                                          no_counters_reason, no_records_reason, view_aggregates)

if TYPE_CHECKING:
    from cmflow import Aggregate, MetricInput

DEFAULT_TOTALS = (*COUNTERS, "interactions")
TOTALS = (*DEFAULT_TOTALS, "profile_views")
"""What ``counters`` accepts: the post counters, interactions, and profile views (daily activity only)."""
TRAFFIC_FIGURES = ("sessions", "users", "conversions", "revenue")
"""Figures of traffic records: ``traffic_totals`` adds them up (``totals`` reads posts and activity)."""


class TotalsOptions(ViewOptions):
    counters: list[str] = Field(
        default_factory=lambda: list(DEFAULT_TOTALS),
        description="Counters to total; each gives a measurement named total_<counter>. "
        "interactions = likes + comments + shares + saves; profile_views (not a default) is "
        "reported by daily account activity only.",
        examples=[["likes", "comments", "reach"]])

    @field_validator("counters")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        from cmflow import closest

        for name in value:
            if name in TRAFFIC_FIGURES:
                raise ValueError(f"{name} is a traffic figure: the traffic_totals metric totals it "
                                 f"(plugin = \"traffic_totals\", counters = [\"{name}\"]); totals adds up "
                                 "the counters of posts and of daily account activity")
            if name not in TOTALS:
                hint = closest(name, list(TOTALS))
                raise ValueError(f"unknown counter {name!r}" + (f"; did you mean {hint!r}?" if hint else
                                 f"; counters: {', '.join(TOTALS)}"))
        return value


class Totals(ViewMetric):
    """Sum of each counter over the period's posts, or over the daily activity of the accounts
    without a post list (``total_likes``, ``total_impressions`` ...), as ``view`` says.

    Post reach adds up per post: a person reached by two posts counts twice; daily reach adds up
    per day likewise. A counter no record of the group reports (saves on LinkedIn) has no value
    rather than 0; so have interactions when no record reports any of their counters. A group of accounts (overall, per platform) adds up each account's figures
    from its own view (posts for the accounts with posts, activity for the others), which is
    what a community manager compiling the exports by hand does; its ``basis`` is then
    ``posts+activity``. Breakdowns by format, pillar or campaign read posts only.
    """

    name = "totals"
    default_polarity = "up"  # every counter totalled is reach or interaction
    description = ("Totals of counters over the period's posts or daily account activity: total_likes, "
                   "total_reach, total_interactions ...")
    Options = TotalsOptions

    def produces(self) -> dict[str, str]:
        return {f"total_{c}": "count" for c in self.options.counters}

    def aggregates(self, data: MetricInput) -> dict[str, "Aggregate"]:
        import polars as pl

        options: TotalsOptions = self.options
        column, summed = interaction_column(*ENGAGEMENT_COUNTERS)
        reports, reporting = reporting_column(*ENGAGEMENT_COUNTERS)
        aggregations = []
        for counter in options.counters:
            counted = pl.col(column if counter == "interactions" else counter)
            # Interactions are known where a record reports any of their counters.
            known = pl.col(reports).sum() if counter == "interactions" else counted.is_not_null().sum()
            aggregations += [counted.sum().alias(f"sum_{counter}"), known.alias(f"known_{counter}")]
        return view_aggregates(data, options.view, aggregations, {column: summed, reports: reporting})

    def from_aggregates(self, data: MetricInput, grouped):
        import polars as pl

        options: TotalsOptions = self.options
        rows = from_view_aggregates(data, grouped)
        parts = []
        for counter in options.counters:
            unknown = (no_counters_reason(*ENGAGEMENT_COUNTERS) if counter == "interactions"
                       else no_counters_reason(counter))
            reason = no_records_reason().when(pl.col(f"known_{counter}") == 0).then(unknown)
            value = pl.when(pl.col(f"known_{counter}") > 0).then(pl.col(f"sum_{counter}"))
            parts.append(measurement_rows(rows, metric=f"total_{counter}", unit="count",
                                          value=value, reason=reason, basis=basis()))
        return pl.concat(parts)


@hookimpl
def register_metrics(register):
    register(Totals)
