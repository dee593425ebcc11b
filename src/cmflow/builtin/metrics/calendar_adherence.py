"""Calendar adherence: planned calendar items against the posts published for them.

``calendar_adherence`` (with ``posts_on_time``, ``posts_late``, ``late_delay_hours``,
``posts_missing``, ``posts_unplanned``), ``missing_planned_posts`` (a row per planned post
due: the hours it has been missing, 0 once published, for a trigger to alert on each) and ``late_planned_posts`` (a row per
planned post published late, for a report to list). Items are matched to posts by :mod:`cmflow.builtin.metrics.calendar_matching` (its rules are in
docs/concepts.md, "Calendar adherence").
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from pydantic import Field

from cmflow import (Duration, Metric, PluginOptions, PositiveDuration, aggregate,
                    hookimpl, measurement_rows, ratio)

from cmflow.builtin.metrics.common import labelled_text
from cmflow.builtin.metrics.calendar_matching import (LATE, MISSING, NOT_DUE, ON_TIME, CalendarMatch, MatchRules,
                                                      match_calendar)

if TYPE_CHECKING:
    import polars as pl

    from cmflow import MetricInput

UNPLANNED = "unplanned"
ITEM_GROUPINGS = ("overall", "client", "platform", "account", "format", "pillar", "campaign", "owner")


class MatchingOptions(PluginOptions):
    """How planned items are matched to posts and judged."""

    window: PositiveDuration = Field(
        timedelta(days=3), description="How far from its planned time (before or after) a post may be "
        "published and still be the item's, when the item names neither its post id nor its post's "
        "link. A post further away is unplanned, and the item missing. The run reads posts this far "
        "before its period.", examples=["2d"])
    on_time_within: Duration = Field(
        timedelta(hours=2), description="How long after its planned time a post is still on time (an early "
        "post is on time). An item planned at 00:00 in the workflow's time zone is planned for the whole "
        "day: any time that day is on time.", examples=["30m"])
    cancelled_statuses: list[str] = Field(
        default_factory=list, description="Other item statuses that mean the content was dropped (compared "
        "without case or accents), besides cancelled and the words that stand for it (Annulé, canceled, "
        "abandonné ...): such items are left out.", examples=[["on hold", "reporté"]])

    def rules(self, data: "MetricInput") -> MatchRules:
        """These options as matching rules, in the time zone of the run's periods."""
        timezone_name = data.periods[0].tz if data.periods else "UTC"
        return MatchRules(self.window, self.on_time_within, timezone_name,
                          tuple(self.cancelled_statuses))


def matched(data: "MetricInput", options: MatchingOptions) -> CalendarMatch:
    """Every item and post the metric's sources returned, matched and judged at the as-of time."""
    as_of = data.as_of or datetime.now(timezone.utc)
    return match_calendar(data.all_records["calendar_item"], data.all_records["post"], options.rules(data), as_of)


def _dims(data: "MetricInput") -> list[str]:
    return sorted({d for group in data.grouping_sets for d in group})


def item_outcomes(data: "MetricInput", match: CalendarMatch, dims: list[str],
                  extra: tuple[str, ...] = ()) -> "pl.DataFrame":
    """The items of the periods (planned in one) with their ``outcome`` and ``delay_hours``."""
    import polars as pl

    items = data.records["calendar_item"]
    names = items.collect_schema().names()
    return (items.select("period", pl.col("item_id").cast(pl.String), *labelled_text(items, dims),
                         *[pl.col(c).cast(pl.String) if c in names else pl.lit(None, dtype=pl.String).alias(c)
                           for c in extra])
            .collect()
            .join(match.items, on="item_id", how="inner"))


def unplanned_posts(data: "MetricInput", match: CalendarMatch, dims: list[str]) -> "pl.DataFrame":
    """The posts of the periods (published in one) that no item planned."""
    import polars as pl

    posts = data.records["post"]
    keys = ["platform", "account", "post_id"]
    key_columns = [pl.col("platform").cast(pl.String).str.strip_chars().str.to_lowercase().alias("_platform"),
                   *[pl.col(k).cast(pl.String).str.strip_chars().alias(f"_{k}") for k in keys[1:]]]
    return (posts.select("period", *key_columns,
                         *labelled_text(posts, dims))
            .collect()
            .join(match.unplanned.rename({k: f"_{k}" for k in keys}), on=[f"_{k}" for k in keys], how="inner")
            .drop([f"_{k}" for k in keys])
            .with_columns(pl.lit(UNPLANNED).alias("outcome"), pl.lit(None, dtype=pl.Float64).alias("delay_hours")))


class CalendarAdherence(Metric):
    """Planned calendar items against the posts published for them.

    ``calendar_adherence`` (%): posts on time / planned items due × 100, where the items due
    are those planned in the period and on time, late or missing at the as-of time (an item
    not due yet counts only once published, early being on time); a ratio of sums in every
    breakdown. ``posts_on_time``, ``posts_late`` and ``posts_missing`` count items of the
    period; ``late_delay_hours`` is the late items' total delay / their number;
    ``posts_unplanned`` counts the period's posts matched to no item (they have no owner:
    by owner they are under "(none)"); where nothing is planned at all (a week before the
    calendar was kept, a platform it does not plan), it has no value rather than every post. Cancelled items are left out. Items are broken down
    by what was planned (their platform, format, pillar ...), unplanned posts by their own.
    How items are matched to posts, and what on time means for a whole-day plan:
    [Calendar adherence](../concepts.md#calendar-adherence).
    """

    name = "calendar_adherence"
    description = "Planned calendar items published on time, late, missing; posts published unplanned."
    Options = MatchingOptions
    needs = ("calendar_item", "post")
    groupings = ITEM_GROUPINGS
    default_polarity = "up"
    measurement_polarities = {"posts_late": "down", "late_delay_hours": "down", "posts_missing": "down",
                              "posts_unplanned": "neutral", "posts_on_time": "up"}

    def produces(self) -> dict[str, str]:
        return {"calendar_adherence": "%", "posts_on_time": "posts", "posts_late": "posts",
                "late_delay_hours": "h", "posts_missing": "posts", "posts_unplanned": "posts"}

    def lookback(self) -> timedelta:
        return self.options.window

    def compute(self, data: "MetricInput"):
        import polars as pl

        dims = _dims(data)
        match = matched(data, self.options)
        rows = pl.concat([item_outcomes(data, match, dims), unplanned_posts(data, match, dims)],
                         how="diagonal_relaxed")
        outcome = pl.col("outcome")
        figures = aggregate(rows, data.grouping_sets, [
            (outcome == ON_TIME).sum().alias("on_time"),
            (outcome == LATE).sum().alias("late"),
            (outcome == MISSING).sum().alias("missing"),
            (outcome == NOT_DUE).sum().alias("not_due"),
            (outcome == UNPLANNED).sum().alias("unplanned"),
            pl.col("delay_hours").filter(outcome == LATE).sum().alias("delay"),
        ], periods=[p.label for p in data.periods])
        count = {name: pl.col(name).fill_null(0) for name in ("on_time", "late", "missing", "not_due", "unplanned")}
        due = count["on_time"] + count["late"] + count["missing"]
        planned = due + count["not_due"]
        no_due = (pl.when(count["not_due"] > 0).then(pl.lit("no planned item was due yet in this period"))
                  .otherwise(pl.lit("no planned item in this period")))
        return pl.concat([
            measurement_rows(figures, metric="calendar_adherence", unit="%", value=ratio(count["on_time"], due),
                             reason=pl.when(due == 0).then(no_due)),
            measurement_rows(figures, metric="posts_on_time", unit="posts", value=count["on_time"]),
            measurement_rows(figures, metric="posts_late", unit="posts", value=count["late"]),
            measurement_rows(figures, metric="late_delay_hours", unit="h",
                             value=ratio(pl.col("delay"), count["late"], scale=1.0),
                             reason=pl.when(count["late"] == 0).then(pl.lit("no late post in this period"))),
            measurement_rows(figures, metric="posts_missing", unit="posts", value=count["missing"]),
            measurement_rows(figures, metric="posts_unplanned", unit="posts",
                             value=pl.when(planned > 0).then(count["unplanned"]),
                             reason=pl.when(planned == 0).then(pl.lit(
                                 "no calendar item is planned here in this period: posts count as unplanned "
                                 "only against a calendar"))),
        ], how="diagonal_relaxed")


class PlannedPostRows(Metric):
    """What the metrics listing planned posts one row each share: their options (the
    matching's), needs, breakdowns, row dimensions and lookback, and their rows: the period's
    items of some outcomes with ``item_id``, ``title`` (on one line), ``platform``, ``account``,
    ``owner`` and ``client`` (those of the item, left out where it has none: the client is the
    one whose accounts list the item's), whatever ``by`` says: each item is listed once."""

    Options = MatchingOptions
    needs = ("calendar_item", "post")
    groupings = ("overall", "client", "platform", "account", "owner")
    row_dimensions = ("item_id", "title", "platform", "account", "owner", "client")
    default_polarity = "down"
    unit = "h"
    outcomes: tuple[str, ...] = ()
    """The outcomes of the items listed."""

    def lookback(self) -> timedelta:
        return self.options.window

    def items(self, data: "MetricInput") -> "pl.DataFrame":
        """The period's items of :attr:`outcomes`, their title on one line."""
        import polars as pl

        return (item_outcomes(data, matched(data, self.options), [], extra=("title", "platform", "account", "owner", "client"))
                .filter(pl.col("outcome").is_in(list(self.outcomes)))
                # One line, whatever the calendar's cell held: alerts and reports show it as a label.
                .with_columns(pl.col("title").str.replace_all(r"\s+", " ").str.strip_chars())
                .drop("reason"))

    def listed(self, rows: "pl.DataFrame", value: "pl.Expr") -> "pl.DataFrame":
        """``rows`` as this metric's measurements of ``value``, one per item."""
        return measurement_rows(rows, metric=self.name, unit=self.unit, value=value,
                                extra_dimensions=["item_id", "title"])


class MissingPlannedPosts(PlannedPostRows):
    """One row per planned post due in the period (an item not cancelled, due at the as-of
    time): for one missing at its time (matched to no post) the hours since it was due (from
    its planned time plus ``on_time_within``, or the end of its day), for one published 0. Rows
    carry ``item_id``, ``title`` (on one line), ``platform``, ``account`` and ``owner`` (those
    of the item, left out where it has none), so that a ``threshold`` trigger with
    ``above = 0`` alerts on each missing post, and the alert resolves once it is published (its
    row goes to 0; cancelled, the item has no row and the alert waits). Every row is one item,
    whatever ``by`` says (its platform, account and owner are on it already), with ``client``
    the client whose accounts list the item's (none for an account no client lists), so that
    with two clients each item is listed, and alerted on, once. Why a post was not
    found (its post id is not among the posts read, deleted?) is in docs/concepts.md; a row's
    identity keeps to what does not change while the item waits. The client labels the row
    without making a series of it: an alert raised before rows named their client continues
    under the id it was announced by (docs/alerts.md, Fingerprints).
    """

    name = "missing_planned_posts"
    description = "A row per planned post missing at its time (hours since it was due), for alerts per item."
    outcomes = (MISSING, ON_TIME, LATE)

    def compute(self, data: "MetricInput"):
        import polars as pl

        as_of = data.as_of or datetime.now(timezone.utc)
        overdue = (pl.lit(as_of, dtype=pl.Datetime("us", "UTC")) - pl.col("due_at")).dt.total_seconds() / 3600
        return self.listed(self.items(data), pl.when(pl.col("outcome") == MISSING).then(overdue).otherwise(pl.lit(0.0)))


class LatePlannedPosts(PlannedPostRows):
    """One row per planned post published late: an item of the period, not cancelled, matched
    to a post published after its on-time limit (its planned time plus ``on_time_within``, or
    the end of its day for a whole-day item). Its value is the delay in hours from its planned
    time (the end of its day), as ``late_delay_hours`` counts it.
    Rows carry ``item_id``, ``title`` (on one line), ``platform``, ``account``, ``owner`` and
    ``client`` (those of the item, left out where it has none), whatever ``by`` says: each item
    is listed once.
    """

    name = "late_planned_posts"
    description = "A row per planned post published late (its delay in hours), for a report to list."
    outcomes = (LATE,)

    def compute(self, data: "MetricInput"):
        import polars as pl

        return self.listed(self.items(data), pl.col("delay_hours"))


@hookimpl
def register_metrics(register):
    register(CalendarAdherence)
    register(MissingPlannedPosts)
    register(LatePlannedPosts)
