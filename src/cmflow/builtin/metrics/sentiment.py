"""Sentiment metrics: how many of a period's mentions, comments or posts are negative, neutral or
positive (``sentiment_counts``), their shares (``sentiment_share``), the net sentiment
(``net_sentiment``) and the most negative items (``most_negative``), for the report and a
moderation list.

Each reads the ``sentiment`` of one record kind (option ``records``): as an export gives it, or
as a ``[[classifiers]]`` entry labelled it. A group whose records of the period carry no
sentiment at all has no value, never a reassuring 0.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field

from cmflow import (SENTIMENTS, TEXT_RECORD_KINDS, ListsItems, Metric, PluginOptions, WholeNumber, hookimpl,
                    measurement_rows, ratio)

from cmflow.builtin.metrics.sentiment_tallies import (NOUNS, negative_items, normalised_sentiment, sentiment_count_rows,
                                                      sentiment_tallies, unclassified_reason)

if TYPE_CHECKING:
    import polars as pl

    from cmflow import MetricInput

GROUPINGS = {
    "mention": ("overall", "brand", "platform"),
    "conversation": ("overall", "client", "platform", "account", "post"),
    "post": ("overall", "client", "platform", "account", "format", "pillar", "campaign"),
}
"""The breakdowns of each record kind (mentions have a platform but no account)."""
RANKED_ITEM_IDENTITY = {
    "mention": ("platform", "mention_id"),
    "conversation": ("platform", "account", "post_id", "message_id"),
    "post": ("platform", "account", "post_id"),
}
"""The columns that name one item in a ranking (its identity, and a comment's post)."""


class SentimentOptions(PluginOptions):
    records: Literal[TEXT_RECORD_KINDS] = Field(  # type: ignore[valid-type]
        "mention", description="Which records to read: mention, conversation (comments and messages) "
        "or post.", examples=["conversation"])


class _SentimentMetric(Metric):
    """What the sentiment metrics share: the record kind an option chooses, and its breakdowns."""

    Options = SentimentOptions
    reads_sentiment = True
    groupings = GROUPINGS["post"] + ("post",)
    """Every breakdown some record kind has; an entry accepts those of its ``records``."""

    def __init__(self, options: SentimentOptions, *, entry_id: str) -> None:
        super().__init__(options, entry_id=entry_id)
        self.groupings = GROUPINGS[options.records]  # type: ignore[misc]

    @property
    def noun(self) -> str:
        return NOUNS[self.options.records]

    def needed_records(self) -> list[tuple[str, ...]]:
        return [(self.options.records,)]


class SentimentCounts(_SentimentMetric, ListsItems):
    """Number of negative, neutral and positive records of the period.

    Produces ``negative_<items>``, ``neutral_<items>`` and ``positive_<items>``: items are
    ``mentions``, ``comments`` (conversation records) or ``posts``. ``negative_mentions`` and
    ``negative_comments`` are the figures of the metrics of those names: an entry of this metric
    replaces them. 0 in a period without records; no value where none of them has a sentiment.
    """

    name = "sentiment_counts"
    description = "Number of negative, neutral and positive mentions, comments or posts in the period."

    def produces(self) -> dict[str, str]:
        return {f"{value}_{self.noun}": self.noun for value in SENTIMENTS}

    def polarity(self, measurement: str):
        return "down" if measurement.startswith("negative_") else "up" if measurement.startswith("positive_") \
            else "neutral"

    def compute(self, data: MetricInput):
        import polars as pl

        tallies = sentiment_tallies(data, self.options.records)
        return pl.concat([sentiment_count_rows(tallies, self.options.records, value, f"{value}_{self.noun}", self.noun)
                          for value in SENTIMENTS], how="diagonal_relaxed")

    def items(self, data: MetricInput, measurement: str):
        """An alert on ``negative_<items>`` lists the period's negative records."""
        return negative_items(data, self.options.records) if measurement.startswith("negative_") else None


class SentimentShare(_SentimentMetric):
    """Shares of negative, neutral and positive records among the classified ones.

    ``negative_<items>_share = negative <items> / classified <items> × 100``, where classified
    items are those labelled negative, neutral or positive (``neutral_`` and ``positive_`` alike).
    No value where the group has no record in the period, or none with a sentiment.
    """

    name = "sentiment_share"
    description = "Shares (%) of negative, neutral and positive mentions, comments or posts among those classified."

    def produces(self) -> dict[str, str]:
        return {f"{value}_{self.noun}_share": "%" for value in SENTIMENTS}

    def polarity(self, measurement: str):
        return "down" if measurement.startswith("negative_") else "up" if measurement.startswith("positive_") \
            else "neutral"

    def compute(self, data: MetricInput):
        import polars as pl

        kind = self.options.records
        tallies = sentiment_tallies(data, kind)
        return pl.concat([measurement_rows(tallies, metric=f"{value}_{self.noun}_share", unit="%",
                                           value=ratio(pl.col(value), pl.col("classified")),
                                           reason=_no_share_reason(kind))
                          for value in SENTIMENTS], how="diagonal_relaxed")


class NetSentiment(_SentimentMetric):
    """Net sentiment: ``(positive − negative) / classified × 100``, from −100 (all negative) to
    +100 (all positive); neutral items weigh in the denominator only.

    Produces ``net_sentiment_<items>`` (``net_sentiment_mentions`` ...). No value where the group
    has no record in the period, or none with a sentiment.
    """

    name = "net_sentiment"
    description = "Net sentiment: (positive − negative) / classified × 100, of mentions, comments or posts."
    default_polarity = "up"

    def produces(self) -> dict[str, str]:
        return {f"net_sentiment_{self.noun}": "%"}

    def compute(self, data: MetricInput):
        import polars as pl

        kind = self.options.records
        tallies = sentiment_tallies(data, kind)
        return measurement_rows(tallies, metric=f"net_sentiment_{self.noun}", unit="%",
                                value=ratio(pl.col("positive") - pl.col("negative"), pl.col("classified")),
                                reason=_no_share_reason(kind))


def _no_share_reason(kind: str) -> "pl.Expr":
    import polars as pl

    return (pl.when(pl.col("records").is_null()).then(pl.lit(f"no {NOUNS[kind]} in the period"))
            .when(pl.col("classified") == 0).then(pl.lit(unclassified_reason(kind))))


class MostNegativeOptions(SentimentOptions):
    n: WholeNumber = Field(10, ge=1, le=100, description="How many items to keep per group.")


class MostNegative(_SentimentMetric):
    """The most negative items of the period, ranked within each group: a moderation list.

    Only items whose sentiment is negative are ranked, by score (the lowest first; an item an
    export labelled negative without a score comes after the scored ones), then the larger
    reach first (mentions), then the earlier. Each row is an item, named by its identity
    (``mention_id``; ``account`` and ``message_id`` with the comment's ``post_id``; ``post_id``),
    with its ``rank`` (1 = most negative) and ``ranked_within``; its value is the score.
    """

    name = "most_negative"
    description = "The N most negative mentions, comments or posts of the period, for the report and moderation."
    Options = MostNegativeOptions
    row_dimensions = ("platform", "account", "post_id")
    default_polarity = "neutral"  # a ranking: its values are the items' scores

    def produces(self) -> dict[str, str]:
        return {f"most_negative_{self.noun}": "score"}

    def compute(self, data: MetricInput):
        import polars as pl

        kind, n = self.options.records, self.options.n
        frame = data.records[kind]
        names = frame.collect_schema().names()
        score = pl.col("sentiment_score") if "sentiment_score" in names else pl.lit(None, dtype=pl.Float64)
        reach = pl.col("reach") if "reach" in names else pl.lit(None, dtype=pl.Int64)
        time_field = {"mention": "published_at", "conversation": "received_at", "post": "published_at"}[kind]
        negative = frame.filter(normalised_sentiment(frame) == "negative").with_columns(
            score.cast(pl.Float64).alias("_value"), reach.alias("_reach"))
        item = RANKED_ITEM_IDENTITY[kind]
        parts = []
        for dims in data.grouping_sets:
            group = ["period", *dims]
            records = negative.filter(pl.col("post_id").is_not_null()) if "post_id" in dims else negative
            ranked = (records.sort(["_value", "_reach", time_field], descending=[False, True, False],
                                   nulls_last=True)
                      .with_columns(pl.int_range(1, pl.len() + 1).over(group).alias("rank"))
                      .filter(pl.col("rank") <= n)
                      .select(*group, *[c for c in item if c not in dims], "_value", "rank",
                              pl.lit("+".join(dims) or "overall").alias("ranked_within")))
            parts.append(ranked.collect())
        rows = pl.concat(parts, how="diagonal_relaxed")
        extra = [c for c in item if c not in ("platform", "account", "post_id")]
        return measurement_rows(rows, metric=f"most_negative_{self.noun}", unit="score", value=pl.col("_value"),
                                reason=pl.lit("labelled negative by its source, without a score"),
                                extra_dimensions=["ranked_within", *extra])


@hookimpl
def register_metrics(register):
    register(SentimentCounts)
    register(SentimentShare)
    register(NetSentiment)
    register(MostNegative)
