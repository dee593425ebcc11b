"""Time entries priced by the workflow's ``[production]``, and what to say of time no rate
prices: the pieces ``production_cost``, the cost ratios and ``budget_consumed`` share, so that
every figure prices and refuses alike."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import polars as pl

    from cmflow import MetricInput

NO_PERSON = "(none)"
"""The person breakdown of entries that name nobody (the measure stage's label)."""


def priced_entries(data: "MetricInput", frame: "pl.LazyFrame") -> "pl.LazyFrame":
    """``frame``'s time entries with their ``cost`` as [production] prices them (null when no
    rate applies)."""
    return frame.with_columns(data.production.priced_hours())


def cost_aggregations() -> list["pl.Expr"]:
    """Per group: the entries, their hours, their priced cost, and the hours and people no rate prices."""
    import polars as pl

    unpriced = pl.col("cost").is_null()
    return [
        pl.len().alias("entries"),
        pl.col("hours").sum().alias("hours"),
        pl.col("cost").sum().alias("cost"),
        pl.when(unpriced).then(pl.col("hours")).sum().alias("unpriced_hours"),
        pl.col("person").cast(pl.String).filter(unpriced).unique().sort().alias("unpriced_people"),
    ]


def unpriced_reason() -> "pl.Expr":
    """Why a cost has no value: "2.0 h of time has no rate (Zoé): add ..."; null when every
    hour is priced. Reads the columns :func:`cost_aggregations` makes."""
    import polars as pl

    people = (pl.col("unpriced_people").list.eval(
        pl.when(pl.element() == NO_PERSON).then(pl.lit("entries naming no one")).otherwise(pl.element()))
        .list.join(", "))
    return (pl.when(pl.col("unpriced_hours").fill_null(0) > 0)
            .then(pl.format("{} h of time has no rate ({}): add a rate for each person or their role, "
                            "or default_rate, to [production]", pl.col("unpriced_hours").round(2), people)))


NO_ENTRIES = "no time entries in this period"


def with_period_entries(rows: "pl.DataFrame", entries: "pl.LazyFrame") -> "pl.DataFrame":
    """``rows`` (aggregated by period) with ``period_entries``: how many time entries the metric
    read in each period, whatever the group. A group without entries in a period where others
    have some spent 0; in a period without any entry (an export that does not cover it, a
    tracker nobody used), nothing says how much was spent."""
    import polars as pl

    counts = (entries.group_by("period").agg(pl.len().alias("period_entries"))
              .with_columns(pl.col("period").cast(pl.String)).collect())
    return (rows.with_columns(pl.col("period").cast(pl.String))
            .join(counts, on="period", how="left").with_columns(pl.col("period_entries").fill_null(0)))
