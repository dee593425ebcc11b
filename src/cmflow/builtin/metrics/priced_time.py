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
