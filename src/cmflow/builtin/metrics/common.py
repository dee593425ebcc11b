"""Expressions the built-in metrics share, so each formula is written once."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cmflow import NONE_LABEL

if TYPE_CHECKING:
    import polars as pl

    from cmflow import Aggregate, MetricInput


def interactions(*counters: str) -> "pl.Expr":
    """Sum of the given counters per post; a counter the platform does not report counts as 0."""
    import polars as pl

    return pl.sum_horizontal([pl.col(c).fill_null(0) for c in counters])


def interaction_column(*counters: str) -> tuple[str, "pl.Expr"]:
    """A column of :func:`interactions` for an :class:`cmflow.Aggregate`'s ``columns``: its name
    says its counters (``_likes+comments+shares``), so metrics sharing rows compute it once."""
    return "_" + "+".join(counters), interactions(*counters)


def reporting_column(*counters: str) -> tuple[str, "pl.Expr"]:
    """A column for an :class:`cmflow.Aggregate`'s ``columns``: 1 where a record reports at least
    one of ``counters``, else 0. Summed over a group it says whether :func:`interactions` means
    anything there: a group in which no record reports any counter has no interactions, not 0
    (docs/concepts.md); otherwise empty counters count as 0 and every record stays in."""
    import polars as pl

    return ("_reports_" + "+".join(counters),
            pl.any_horizontal([pl.col(c).is_not_null() for c in counters]).cast(pl.Int64))


def counters_reported(*counters: str) -> "pl.Expr":
    """Aggregation: how many records of the group report at least one of ``counters``."""
    return reporting_column(*counters)[1].sum()


def counters_text(*counters: str) -> str:
    """``likes, comments, shares or saves``: the counters a reason names."""
    return ", ".join(counters[:-1]) + f" or {counters[-1]}" if len(counters) > 1 else counters[0]


def no_post_counters(*counters: str) -> str:
    """Why a figure of posts has no value when no post of the group reports any of ``counters``:
    ``no post reports likes, comments, shares or saves``."""
    return f"no post reports {counters_text(*counters)}"


def follower_counts(data: "MetricInput", aggregations: "tuple[pl.Expr, ...]") -> "Aggregate":
    """The account snapshots with a follower count, grouped by period and account: what
    ``follower_growth`` and ``engagement_rate_by_followers`` both read, grouped once."""
    import polars as pl

    from cmflow import Aggregate

    counted = data.records["account_snapshot"].filter(pl.col("followers").is_not_null())
    return Aggregate("account_snapshot:with_followers", counted, ("platform", "account"), aggregations)


ENGAGEMENT_COUNTERS = ("likes", "comments", "shares", "saves")
"""Interactions in ERR and ER (docs/concepts.md): likes + comments + shares + saves."""
IMPRESSION_COUNTERS = ("likes", "comments", "shares")
"""Interactions in engagement by impressions: likes + comments + shares."""


def no_records_reason(count: "pl.Expr", what: str = "posts") -> "pl.Expr":
    import polars as pl

    return pl.when(count.is_null() | (count == 0)).then(pl.lit(f"no {what} in this period"))


def labelled_text(frame: "pl.LazyFrame", dims: list[str]) -> list["pl.Expr"]:
    """``dims`` of ``frame`` as strings, ``(none)`` where a record has no value (or no such field)."""
    import polars as pl

    names = frame.collect_schema().names()
    return [(pl.col(d).cast(pl.String).fill_null(NONE_LABEL) if d in names else pl.lit(NONE_LABEL)).alias(d)
            for d in dims]
