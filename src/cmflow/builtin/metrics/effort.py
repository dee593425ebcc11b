"""Effort and what it costs, from time entries priced by the workflow's ``[production]``:
``hours_spent``, ``average_task_time``, ``production_cost``, ``cost_per_post`` and
``cost_per_engagement``.

Formulas (docs/concepts.md):

- hours spent = sum of the period's time entries' ``hours``
- average task time = hours of the period's tasks / number of tasks, a task being the entries
  with the same task description, task type, campaign and client (an entry without a
  description is a task of its own)
- production cost = sum of the entries' cost: their own ``cost``, else hours x the rate of their
  person ([production] rates, roles, default_rate)
- cost per post = production cost / posts published
- cost per engagement = production cost / interactions (likes + comments + shares + saves) of
  the period's posts

Time no rate prices is never counted as free: a cost (and every ratio of it) of a group with
such time has no value, and its reason says how many hours are unpriced, whose, and what to add
to ``[production]``. Nor is a tracker's amount in another currency than ``[production]
currency`` added to the others: the cost has no value and the reason names both currencies.
Campaigns are grouped as the measure stage writes them: one spelling per campaign
(:mod:`cmflow.foundation.campaign_names`), so ``Soldes hiver`` time and ``soldes-hiver`` posts
are one campaign.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cmflow import Metric, aggregate, hookimpl, measurement_rows, ratio

from cmflow.builtin.metrics.common import ENGAGEMENT_COUNTERS, counters_reported, interactions, no_post_counters
from cmflow.builtin.metrics.priced_time import (CURRENCY_UNIT, NO_ENTRIES, cost_aggregations, cost_counted,
                                                priced_entries, unpriced_reason, with_period_entries)

if TYPE_CHECKING:
    import polars as pl

    from cmflow import MetricInput

TIME_GROUPINGS = ("overall", "client", "campaign", "task_type", "person")
"""The breakdowns of time entries: who, on what kind of task, for which campaign and client."""
COST_RATIO_GROUPINGS = ("overall", "client", "campaign")
"""The breakdowns time entries and posts share: a post's campaign is its time entries' campaign."""

def _no_entries() -> "pl.Expr":
    """True in a period the metric read no time entry in (see :func:`with_period_entries`)."""
    import polars as pl

    return pl.col("period_entries") == 0


class HoursSpent(Metric):
    """Hours spent = sum of the period's time entries' ``hours``.

    A group (a person, a campaign) without entries in a period where others have some spent 0
    hours; a period without any time entry has no value ("no time entries in this period"): an
    export that does not cover it, or a tracker nobody used, is not a week of rest.

    ``by = ["task_type"]`` gives the hours per kind of task (blog article, short video ...),
    ``["person"]`` per person, ``["campaign"]`` and ``["client"]`` per campaign and client
    (entries without one are the group ``(none)``).
    """

    name = "hours_spent"
    default_polarity = "neutral"  # more hours is not better or worse by itself: their cost tells
    description = "Hours of production time spent in the period, from time entries."
    needs = ("time_entry",)
    groupings = TIME_GROUPINGS
    default_by = ("overall",)
    unit = "h"  # what every output writes "4 h", "4.5 h"

    def compute(self, data: MetricInput):
        import polars as pl

        entries = data.records["time_entry"]
        rows = with_period_entries(aggregate(entries, data.grouping_sets, [pl.col("hours").sum().alias("hours")],
                                             periods=[p.label for p in data.periods]), entries)
        return measurement_rows(rows, metric=self.name, unit=self.unit,
                                value=pl.when(~_no_entries()).then(pl.col("hours").fill_null(0)),
                                reason=pl.when(_no_entries()).then(pl.lit(NO_ENTRIES)))


class AverageTaskTime(Metric):
    """Average task time = hours of the period's tasks / number of tasks.

    A task is the set of the period's entries with the same task description (spaces around it
    and case aside), task type, campaign and client: its entries add up before the average, so
    an article written in two sittings of 2.5 h and 1.5 h is one task of 4 h. An entry without
    a description is a task of its own. A task worked on across two periods counts in each with
    the hours spent in it. ``by = ["task_type"]`` gives the seeds' table: a blog article about
    4 h, a short video about 6 h.
    """

    name = "average_task_time"
    default_polarity = "down"  # the same kind of task done in fewer hours costs less
    description = "Average hours per task (by task type: a blog article, a short video ...), from time entries."
    needs = ("time_entry",)
    groupings = ("overall", "client", "campaign", "task_type")
    default_by = ("task_type",)
    unit = "h"  # what every output writes "4 h", "4.5 h"

    def compute(self, data: MetricInput):
        import polars as pl

        entries = data.records["time_entry"]
        described = pl.col("task").str.strip_chars().str.to_lowercase()
        untitled = described.is_null() | (described == "")
        # An entry without a description is a task of its own: its row number keeps it apart
        # (null for the others, which a description groups).
        tasks = (entries.with_columns(pl.when(~untitled).then(described).alias("_task"),
                                      pl.when(untitled).then(pl.int_range(pl.len())).alias("_entry"))
                 .group_by(["period", "_task", "_entry", "task_type", "campaign", "client"])
                 .agg(pl.col("hours").sum())
                 .collect())  # once, not once per grouping set
        rows = aggregate(tasks, data.grouping_sets, [pl.col("hours").sum().alias("hours"), pl.len().alias("tasks")],
                         periods=[p.label for p in data.periods])
        reason = pl.when(pl.col("tasks").fill_null(0) == 0).then(pl.lit(NO_ENTRIES))
        return measurement_rows(rows, metric=self.name, unit=self.unit,
                                value=ratio(pl.col("hours"), pl.col("tasks"), scale=1), reason=reason)


class ProductionCost(Metric):
    """Production cost = sum of the period's time entries' cost, in [production]'s currency:
    an entry's own ``cost`` (a tracker's billable amount), else its hours x the rate of its
    person (their own, else their role's, else ``default_rate``).

    A group with time no rate prices has no value (never the priced part passed off as the
    whole): the reason says how many hours are unpriced, whose, and to add their rate. A group
    without entries in a period where others have some costs 0; a period without any time
    entry has no value.
    """

    name = "production_cost"
    default_polarity = "down"  # the same content for less is better
    description = "Cost of the period's production time (hours x hourly rates, or the tracker's cost)."
    needs = ("time_entry",)
    groupings = TIME_GROUPINGS
    default_by = ("overall",)
    unit = CURRENCY_UNIT

    def compute(self, data: MetricInput):
        import polars as pl

        entries = priced_entries(data, data.records["time_entry"])
        rows = with_period_entries(aggregate(entries, data.grouping_sets, cost_aggregations(),
                                             periods=[p.label for p in data.periods]), entries)
        currency = data.production.currency
        return measurement_rows(rows, metric=self.name, unit=currency,
                                value=pl.when(~_no_entries() & cost_counted()).then(pl.col("cost").fill_null(0)),
                                reason=pl.when(_no_entries()).then(pl.lit(NO_ENTRIES)).otherwise(unpriced_reason(currency)))


class _CostRatio(Metric):
    """Production cost over a sum of the same groups' posts (a ratio of sums, never an average of
    per-post costs); what the sum is, :meth:`denominator` says."""

    default_polarity = "down"
    needs = ("time_entry", "post")
    groupings = COST_RATIO_GROUPINGS
    default_by = ("overall",)
    unit = CURRENCY_UNIT
    denominator_name = ""
    """What the denominator counts, for the reason when it is 0 (``posts``, ``interactions``)."""

    def denominator(self) -> "pl.Expr":
        """The sum over the group's posts to divide the cost by."""
        raise NotImplementedError

    def unknown_denominator(self) -> "tuple[pl.Expr, str] | None":
        """An aggregation that is 0 when the group's posts do not report what the denominator
        sums, and the reason then; None when the denominator is always known."""
        return None

    def compute(self, data: MetricInput):
        import polars as pl

        labels = [p.label for p in data.periods]
        as_string = pl.col("period").cast(pl.String)  # each frame's own categorical: joined as text
        unknown = self.unknown_denominator()
        known = unknown[0] if unknown else pl.len()
        parts = []
        for dims in data.grouping_sets:
            costs = aggregate(priced_entries(data, data.records["time_entry"]), [dims], cost_aggregations(),
                              periods=labels).with_columns(as_string)
            posts = aggregate(data.records["post"], [dims],
                              [pl.len().alias("posts"), self.denominator().alias("denominator"),
                               known.alias("denominator_known")],
                              periods=labels).with_columns(as_string)
            # Every group of either side: a campaign with time and no post says so, and the reverse.
            parts.append(costs.join(posts, on=["period", *dims], how="full", coalesce=True, nulls_equal=True))
        rows = pl.concat(parts, how="diagonal_relaxed")
        reason = (pl.when(pl.col("posts").fill_null(0) == 0).then(pl.lit("no posts in this period"))
                  .when(pl.col("entries").fill_null(0) == 0)
                  .then(pl.lit(f"{NO_ENTRIES}: nothing says what these posts cost"))
                  .when(~cost_counted()).then(unpriced_reason(data.production.currency)))
        if unknown:  # else every post counts: a group with posts always knows its denominator
            reason = reason.when(pl.col("denominator_known").fill_null(0) == 0).then(pl.lit(unknown[1]))
        reason = reason.when(pl.col("denominator").fill_null(0) == 0).then(
            pl.lit(f"the period's posts have no {self.denominator_name}"))
        value = (pl.when((pl.col("entries").fill_null(0) > 0) & cost_counted()
                         & (pl.col("denominator_known").fill_null(0) > 0))
                 .then(ratio(pl.col("cost"), pl.col("denominator"), scale=1)))
        return measurement_rows(rows, metric=self.name, unit=data.production.currency, value=value, reason=reason)


class CostPerPost(_CostRatio):
    """Cost per post = production cost / posts published in the period, both of the group.

    A campaign's cost is its time entries' and its posts are those with its ``campaign`` tag;
    a client's, its own entries and its accounts' posts. No value without posts, without time
    entries (nothing says what the posts cost), or with time no rate prices.
    """

    name = "cost_per_post"
    description = "Production cost / posts published in the period, by client and campaign."
    denominator_name = "posts"

    def denominator(self):
        import polars as pl

        return pl.len()


class CostPerEngagement(_CostRatio):
    """Cost per engagement = production cost / interactions (likes + comments + shares + saves)
    of the period's posts, both of the group.

    A counter a platform does not report counts as 0 among the interactions (as in ERR). No
    value without posts, without interactions, when no post reports any of the counters,
    without time entries, or with time no rate prices.
    """

    name = "cost_per_engagement"
    description = ("Production cost / interactions (likes + comments + shares + saves) of the period's "
                   "posts, by client and campaign.")
    denominator_name = "interactions"

    def denominator(self):
        return interactions(*ENGAGEMENT_COUNTERS).sum()

    def unknown_denominator(self):
        return (counters_reported(*ENGAGEMENT_COUNTERS),
                no_post_counters(*ENGAGEMENT_COUNTERS))


@hookimpl
def register_metrics(register):
    register(HoursSpent)
    register(AverageTaskTime)
    register(ProductionCost)
    register(CostPerPost)
    register(CostPerEngagement)
