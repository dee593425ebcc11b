"""Counts of records received: mentions found by monitoring, comments and messages received.

What the ``spike`` trigger watches for a bad buzz. A group seen in any period counts 0 in the
periods it has no record in: a quiet day is 0 mentions, not "no value".
"""

from __future__ import annotations

from cmflow import Metric, MetricInput, hookimpl
from cmflow.measurements import aggregate, measurement_rows


class _RecordCount(Metric):
    """The number of records of one kind in each period and group."""

    record_kind = ""

    def compute(self, data: MetricInput):
        import polars as pl

        rows = aggregate(data.records[self.record_kind], data.grouping_sets, [pl.len().alias("records")],
                         periods=[p.label for p in data.periods])
        return measurement_rows(rows, metric=self.name, unit=self.unit,
                                value=pl.col("records").fill_null(0))


class Mentions(_RecordCount):
    """Number of mentions (``mention`` records) published in the period.

    Mention records have a platform but no account (monitoring finds them anywhere), hence
    no breakdown by account.
    """

    name = "mentions"
    description = "Number of mentions found by monitoring in the period."
    needs = ("mention",)
    groupings = ("overall", "platform")
    unit = "mentions"
    record_kind = "mention"


class CommentsReceived(_RecordCount):
    """Number of comments and messages (``conversation`` records) received in the period."""

    name = "comments_received"
    description = "Number of comments and messages received in the period."
    needs = ("conversation",)
    groupings = ("overall", "platform", "account")
    unit = "comments"
    record_kind = "conversation"


@hookimpl
def register_metrics(register):
    register(Mentions)
    register(CommentsReceived)
