"""Counts of conversation records received: ``mentions`` found by monitoring, ``comments_received``
(comments and messages), and the negative ones among them (``negative_mentions``,
``negative_comments``).

What the ``spike`` trigger watches for a bad buzz. A group seen in any period counts 0 in the
periods it has no record in: a quiet day is 0 mentions, not "no value". The negative counts
read the records' ``sentiment`` (from a monitoring tool's export, or a ``[[classifiers]]``
entry): records none of which is classified give no value, never a reassuring 0. The other
sentiment figures (every class, shares, net sentiment) are in :mod:`.sentiment`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cmflow import ListsItems, Metric, aggregate, hookimpl, measurement_rows

from cmflow.builtin.metrics.sentiment_tallies import negative_items, sentiment_count_rows, sentiment_tallies

if TYPE_CHECKING:
    from cmflow import MetricInput


class _RecordCount(Metric):
    """The number of records of one kind in each period and group."""

    record_kind = ""

    def compute(self, data: MetricInput):
        import polars as pl

        rows = aggregate(data.records[self.record_kind], data.grouping_sets, [pl.len().alias("records")],
                         periods=[p.label for p in data.periods])
        return measurement_rows(rows, metric=self.name, unit=self.unit,
                                value=pl.col("records").fill_null(0))


class _NegativeCount(_RecordCount, ListsItems):
    """The number of records of one kind whose ``sentiment`` is negative (the figure
    ``sentiment_counts`` gives too); an alert on it lists those records."""

    default_polarity = "down"
    reads_sentiment = True

    def compute(self, data: MetricInput):
        tallies = sentiment_tallies(data, self.record_kind)
        return sentiment_count_rows(tallies, self.record_kind, "negative", self.name, self.unit)

    def items(self, data: MetricInput, measurement: str):
        return negative_items(data, self.record_kind)


class Mentions(_RecordCount):
    """Number of mentions (``mention`` records) published in the period.

    Mention records have a platform but no account (monitoring finds them anywhere), hence
    no breakdown by account. ``by = ["brand"]`` counts the mentions of each brand a workflow's
    ``[listen]`` watches (a mention naming two counts for each).
    """

    name = "mentions"
    default_polarity = "neutral"  # buzz may be good or bad news: negative_mentions tells
    description = "Number of mentions found by monitoring in the period."
    needs = ("mention",)
    groupings = ("overall", "brand", "platform")
    unit = "mentions"
    record_kind = "mention"


class CommentsReceived(_RecordCount):
    """Number of comments and messages (``conversation`` records) received in the period.

    ``by = ["post"]`` counts the comments of each post (direct messages, which belong to no
    post, are left out there): what a ``spike`` on one post's comments watches.
    """

    name = "comments_received"
    default_polarity = "up"
    description = "Number of comments and messages received in the period."
    needs = ("conversation",)
    groupings = ("overall", "client", "platform", "account", "post")
    unit = "comments"
    record_kind = "conversation"


class NegativeMentions(_NegativeCount):
    """Number of mentions whose ``sentiment`` is negative, published in the period.

    No value (not 0) for a group whose mentions of the period carry no sentiment at all.
    """

    name = "negative_mentions"
    description = "Number of negative mentions (by their sentiment) in the period."
    needs = ("mention",)
    groupings = ("overall", "brand", "platform")
    unit = "mentions"
    record_kind = "mention"


class NegativeComments(_NegativeCount):
    """Number of comments and messages whose ``sentiment`` is negative, received in the period.

    ``by = ["post"]`` counts them per post (comments without a post, such as direct messages,
    are left out there). No value (not 0) when none of the group's records is classified.
    """

    name = "negative_comments"
    description = "Number of negative comments and messages (by their sentiment) in the period."
    needs = ("conversation",)
    groupings = ("overall", "client", "platform", "account", "post")
    unit = "comments"
    record_kind = "conversation"


@hookimpl
def register_metrics(register):
    register(Mentions)
    register(CommentsReceived)
    register(NegativeMentions)
    register(NegativeComments)
