"""Time entries priced by the workflow's ``[production]``, and what to say of a cost that cannot
be counted: the pieces ``production_cost``, the cost ratios, ``budget_consumed``,
``cost_per_conversion`` and ``roi`` share, so that every figure prices and refuses alike.

A cost is not counted (no value, with the reason) when some of its hours have no rate, or when a
tracker gives an amount in another currency than ``[production] currency`` (an export's
``Amount (USD)`` in a EUR workflow): amounts in two currencies are never added up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cmflow import NO_TIME_ENTRIES, NONE_LABEL

if TYPE_CHECKING:
    import polars as pl

    from cmflow import MetricInput

CURRENCY_UNIT = "currency"
"""The unit :meth:`Metric.produces` names for amounts; rows carry the ``[production]`` currency."""
DOLLAR_CURRENCIES = ("USD", "CAD", "AUD", "NZD", "SGD", "HKD", "MXN")
"""Currencies written ``$``: a file's ``$`` amounts are taken for any of them."""


def foreign_currency(column: str, currency: str) -> "pl.Expr":
    """The code in ``column`` (an amount's currency as its file or API wrote it) when it is
    another currency than ``currency``; null when it is the same or unknown (``$`` is the same
    as any dollar)."""
    import polars as pl

    code = pl.col(column).cast(pl.String).str.strip_chars().str.to_uppercase()
    same = (code == currency.upper()) | ((code == "$") & pl.lit(currency.upper() in DOLLAR_CURRENCIES))
    return pl.when(code.is_not_null() & (code != "") & ~same).then(code)


def priced_entries(data: "MetricInput", frame: "pl.LazyFrame") -> "pl.LazyFrame":
    """``frame``'s time entries with their ``cost`` as [production] prices them (null when no
    rate applies) and ``_foreign``: the currency of a tracker's amount in another currency than
    [production]'s (null otherwise), whose cost is then not counted."""
    import polars as pl

    currency = data.production.currency
    has_currency = "currency" in frame.collect_schema().names()
    foreign = (pl.when(pl.col("cost").is_not_null()).then(foreign_currency("currency", currency))
               if has_currency else pl.lit(None, dtype=pl.String))
    return frame.with_columns(foreign.alias("_foreign")).with_columns(data.production.priced_hours())


def cost_aggregations() -> list["pl.Expr"]:
    """Per group: the entries, their hours, their priced cost, the hours and people no rate
    prices, and the other currencies of trackers' amounts (``foreign_currencies``)."""
    import polars as pl

    unpriced = pl.col("cost").is_null()
    return [
        pl.len().alias("entries"),
        pl.col("hours").sum().alias("hours"),
        pl.col("cost").sum().alias("cost"),
        pl.when(unpriced).then(pl.col("hours")).sum().alias("unpriced_hours"),
        pl.col("person").cast(pl.String).filter(unpriced).unique().sort().alias("unpriced_people"),
        pl.col("_foreign").drop_nulls().unique().sort().alias("foreign_currencies"),
    ]


def cost_counted() -> "pl.Expr":
    """True for a group whose every entry is priced in [production]'s currency (reads the
    columns :func:`cost_aggregations` makes; a group without entries counts as priced)."""
    import polars as pl

    return ((pl.col("unpriced_hours").fill_null(0) == 0)
            & (pl.col("foreign_currencies").list.len().fill_null(0) == 0))


def currency_reason(currency: str, column: str = "foreign_currencies", what: str = "time tracker amounts") -> "pl.Expr":
    """Why amounts cannot be added up: "time tracker amounts are in USD, and [production]
    currency is EUR: ..."; null when ``column`` (a list of codes) is empty."""
    import polars as pl

    return (pl.when(pl.col(column).list.len().fill_null(0) > 0)
            .then(pl.format(f"{what} are in {{}}, and [production] currency is {currency}: amounts in two "
                            f"currencies are never added up; set [production] currency to theirs, or export "
                            f"them in {currency}", pl.col(column).list.join(", "))))


def unpriced_reason(currency: str | None = None) -> "pl.Expr":
    """Why a cost has no value: a tracker's amounts in another currency (when ``currency``, the
    workflow's, is given), else "2.5 h of time has no rate (Zoé): add ..." (the hours as every
    output writes them); null when every hour is priced. Reads the columns
    :func:`cost_aggregations` makes."""
    import polars as pl

    from cmflow import format_value  # the presentation helpers: a run's, not validate's

    people = (pl.col("unpriced_people").list.eval(
        pl.when(pl.element() == NONE_LABEL).then(pl.lit("entries naming no one")).otherwise(pl.element()))
        .list.join(", "))
    # One call per group and period (a handful of rows), not per record.
    hours = pl.col("unpriced_hours").map_elements(lambda h: format_value(h, "h"), return_dtype=pl.String)
    no_rate = (pl.when(pl.col("unpriced_hours").fill_null(0) > 0)
               .then(pl.format("{} of time has no rate ({}): add a rate for each person or their role, "
                               "or default_rate, to [production]", hours, people)))
    return no_rate if currency is None else pl.coalesce(currency_reason(currency), no_rate)


NO_ENTRIES = NO_TIME_ENTRIES


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
