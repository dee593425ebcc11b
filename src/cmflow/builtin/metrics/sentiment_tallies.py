"""What the built-in metrics that read a sentiment share: the sentiment of a record as compared
(:func:`normalised_sentiment`), the tallies per group (:func:`sentiment_tallies`), the count rows
(:func:`sentiment_count_rows`) and why a group has none (:func:`unclassified_reason`).

A module of helpers, not a plugin: plugins import it, never each other.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cmflow import SENTIMENTS, aggregate, measurement_rows
from cmflow.builtin.metrics.item_rows import item_rows

if TYPE_CHECKING:
    import polars as pl

    from cmflow import MetricInput

NOUNS = {"mention": "mentions", "conversation": "comments", "post": "posts"}
"""What a record kind's items are called in measurement names (``negative_comments``)."""


def normalised_sentiment(frame: "pl.LazyFrame") -> "pl.Expr":
    """A record's sentiment in lower case without surrounding blanks (exports write "Negative "),
    null where the records have no ``sentiment`` column at all (posts no classifier labelled)."""
    import polars as pl

    if "sentiment" not in frame.collect_schema().names():
        return pl.lit(None, dtype=pl.String)
    return pl.col("sentiment").str.strip_chars().str.to_lowercase()


def sentiment_tallies(data: "MetricInput", kind: str) -> "pl.DataFrame":
    """Per period and group: ``records``, ``classified`` (records labelled negative, neutral or
    positive) and one count per sentiment (``negative`` ...); null counts in a period where the
    group has no record."""
    import polars as pl

    frame = data.records[kind]
    sentiment = normalised_sentiment(frame)
    return aggregate(frame, data.grouping_sets, [
        pl.len().cast(pl.Int64).alias("records"),  # signed: net sentiment subtracts counts
        sentiment.is_in(SENTIMENTS).fill_null(False).sum().cast(pl.Int64).alias("classified"),
        *[(sentiment == value).fill_null(False).sum().cast(pl.Int64).alias(value) for value in SENTIMENTS],
    ], periods=[p.label for p in data.periods])


def negative_items(data: "MetricInput", kind: str) -> "pl.DataFrame":
    """The records of ``kind`` of the current period whose sentiment is negative, as
    :func:`~cmflow.builtin.metrics.item_rows.item_rows`."""
    import polars as pl

    from cmflow import RECORD_KINDS

    frame = data.records[kind]
    current = data.periods[0].label if data.periods else None
    negative = frame.filter((pl.col("period").cast(pl.String) == current) & (normalised_sentiment(frame) == "negative"))
    return item_rows(negative, RECORD_KINDS[kind].time_field)


def unclassified_reason(kind: str) -> str:
    """Why a group has no sentiment figure."""
    return (f"no {NOUNS[kind].removesuffix('s')} of the period has a sentiment: add a [[classifiers]] entry, "
            "or map the export's sentiment column")


def sentiment_count_rows(tallies: "pl.DataFrame", kind: str, sentiment: str, metric: str, unit: str) -> "pl.DataFrame":
    """The number of ``sentiment`` records per group: 0 in a period without records, no value
    where the group's records of the period have no sentiment."""
    import polars as pl

    unclassified = pl.col("records").is_not_null() & (pl.col("classified") == 0)
    return measurement_rows(tallies, metric=metric, unit=unit,
                            value=pl.when(unclassified).then(None).otherwise(pl.col(sentiment).fill_null(0)),
                            reason=pl.when(unclassified).then(pl.lit(unclassified_reason(kind))))
