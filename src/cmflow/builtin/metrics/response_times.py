"""Response times of comments and messages (``conversation`` records) against an SLA, counted in
business hours: ``response_times`` (median and 90th-percentile first response time, the share
answered within the SLA, the unanswered ones past it) and ``unanswered_negative`` (negative
items still waiting, for an escalation).

A conversation belongs to the period it was received in; the unanswered counts are the backlog
(every conversation still waiting, whatever its period, within the option ``backlog``). It is
judged at the run's as-of time (the end of the ``cmflow run --as-of`` day, else now): a reply
stamped after it is not known yet. The time it waited is counted in the team's opening hours (option ``hours``: weekdays, public holidays,
closed days, in the workflow's time zone unless it names one), or on the wall clock
(``clock = "wall"``). A reply stamped before its message (an export error) is left out.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from cmflow import (Duration, ListsItems, Metric, PluginOptions, PositiveDuration, ServiceHours, aggregate,
                    business_seconds, hookimpl, measurement_rows, ratio)

from cmflow.builtin.metrics.item_rows import item_rows
from cmflow.builtin.metrics.sentiment_tallies import normalised_sentiment, unclassified_reason

if TYPE_CHECKING:
    import polars as pl

    from cmflow import MetricInput

GROUPINGS = ("overall", "client", "platform", "account")


class ClockOptions(PluginOptions):
    """How the response-time metrics count time, and how far back the backlog goes."""

    clock: Literal["business", "wall"] = Field(
        "business", description="Count time in the opening hours of `hours` (business), or every hour "
        "of the day (wall).", examples=["wall"])
    hours: ServiceHours = Field(
        default_factory=ServiceHours, description="The team's opening hours for `clock = \"business\"`: "
        "`timezone` (default: the workflow's), `opening` per weekday, `holidays` (a country such as "
        "\"FR\" or \"US-CA\") and `closed` days. Default: Monday to Friday 09:00-18:00, no holidays.",
        examples=[{"opening": {"mon-fri": ["09:00-12:30", "13:30-18:00"]}, "holidays": "FR"}])
    client_hours: dict[str, ServiceHours] = Field(
        default_factory=dict, description="Opening hours of their own for some clients of the workflow's "
        "`[[clients]]`, by client id (a client in another time zone, or with other hours or public "
        "holidays): their conversations are counted in them, the others in `hours`. Each is a table like "
        "`hours` (its `timezone` defaults to the workflow's, not to that of `hours`).",
        examples=[{"atelier-nuit": {"timezone": "America/Montreal", "opening": {"mon-sat": ["10:00-19:00"]},
                                    "holidays": "CA-QC"}}])
    backlog: PositiveDuration = Field(
        timedelta(days=14), description="How far back an unanswered conversation still counts as waiting "
        "(wall-clock time before the as-of time, whatever the period; the run fetches this far back). "
        "Default: 14 days.", examples=["30d"])


class ResponseTimesOptions(ClockOptions):
    sla: PositiveDuration = Field(
        timedelta(hours=1), description="The first response time promised: a reply within it meets the SLA "
        "(\"30m\", \"2h\", \"1d\"; business time unless `clock = \"wall\"`). Default: one hour.",
        examples=["2h"])


def _conversations(frame: "pl.LazyFrame", dims: list[str], extra: tuple[str, ...]) -> "pl.LazyFrame":
    """``frame``'s columns the waits read (no ``replied_at`` column: none answered)."""
    import polars as pl

    names = frame.collect_schema().names()
    return frame.select(*dims, "received_at",
                        pl.col("replied_at") if "replied_at" in names
                        else pl.lit(None, dtype=pl.Datetime("us", "UTC")).alias("replied_at"),
                        *[pl.col(c) for c in extra if c in names and c not in dims])


def _with_waited(data: MetricInput, options: ClockOptions, rows: "pl.DataFrame") -> "pl.DataFrame":
    """``rows`` with ``waited``: seconds from ``received_at`` to ``_until`` (dropped), business or
    wall clock; business time in a client's own hours (``client_hours``) for its conversations."""
    import polars as pl

    if options.clock == "wall":
        waited = ((rows["_until"] - rows["received_at"]).dt.total_microseconds() / 1e6).clip(0, None)
        return rows.with_columns(waited.alias("waited")).drop("_until")
    tz = data.periods[0].tz if data.periods else "UTC"
    own = [client for client in options.client_hours if "client" in rows.columns]
    rows = rows.with_row_index("_row")
    parts = [(options.hours, rows.filter(~pl.col("client").is_in(own).fill_null(False)) if own else rows)]
    parts += [(options.client_hours[client], rows.filter(pl.col("client") == client)) for client in own]
    waited = [part.select("_row", business_seconds(hours, tz, part["received_at"], part["_until"]).alias("waited"))
              for hours, part in parts if part.height]
    if not waited:
        return rows.with_columns(pl.lit(None, dtype=pl.Float64).alias("waited")).drop("_row", "_until")
    return rows.join(pl.concat(waited), on="_row", how="left").sort("_row").drop("_row", "_until")


def waits(data: MetricInput, options: ClockOptions, dims: list[str], extra: tuple[str, ...] = ()) -> "pl.DataFrame":
    """The conversations of the periods with ``answered`` (a reply known at the as-of time) and
    ``waited`` (seconds from reception to that reply, else to the as-of time; business or wall
    clock); replies stamped before their message left out."""
    import polars as pl

    as_of = data.as_of or datetime.now(timezone.utc)
    utc = pl.Datetime("us", "UTC")
    rows = _conversations(data.records["conversation"], ["period", *dims], _with_client(options, extra)).collect()
    known = pl.col("replied_at").is_not_null() & (pl.col("replied_at") <= pl.lit(as_of, dtype=utc))
    rows = (rows.filter(~(known & (pl.col("replied_at") < pl.col("received_at"))))
            .with_columns(known.alias("answered"))
            .with_columns(pl.when("answered").then(pl.col("replied_at")).otherwise(pl.lit(as_of, dtype=utc))
                          .alias("_until")))
    return _with_waited(data, options, rows)


def backlog(data: MetricInput, options: ClockOptions, dims: list[str], extra: tuple[str, ...] = ()) -> "pl.DataFrame":
    """The conversations waiting at each period's judging instant (the as-of time for the
    current period, the first; the end of each earlier one): received within ``options.backlog`` before it, whatever period they
    were received in, with no reply known at it; labelled with the ``period`` and ``waited``
    (seconds from reception to that instant)."""
    import polars as pl

    as_of = data.as_of or datetime.now(timezone.utc)
    utc = pl.Datetime("us", "UTC")
    every = _conversations(data.all_records["conversation"], dims, _with_client(options, extra)).collect()
    parts = []
    for index, period in enumerate(data.periods):  # the current period first: judged now
        at = pl.lit(as_of if index == 0 else min(period.end_utc, as_of), dtype=utc)
        waiting = ((pl.col("received_at") <= at) & (pl.col("received_at") > at - pl.lit(options.backlog))
                   & (pl.col("replied_at").is_null() | (pl.col("replied_at") > at)))
        parts.append(every.filter(waiting).with_columns(pl.lit(period.label).alias("period"), at.alias("_until")))
    return _with_waited(data, options, pl.concat(parts) if parts else every.head(0).with_columns(
        pl.lit(None, dtype=pl.String).alias("period"), pl.lit(None, dtype=utc).alias("_until")))


def _with_client(options: ClockOptions, extra: tuple[str, ...]) -> tuple[str, ...]:
    """``extra`` and the client, when some clients have hours of their own."""
    return (*extra, "client") if options.client_hours and "client" not in extra else extra


def client_hours_problems(options: ClockOptions, workflow) -> list[str | tuple[str, str]]:
    """``client_hours`` naming a client the workflow does not declare, or with the wall clock."""
    problems: list[str | tuple[str, str]] = []
    if options.client_hours and options.clock == "wall":
        problems.append(("client_hours", "counts business hours, but clock is \"wall\": remove client_hours or "
                                         "set clock = \"business\""))
    if not getattr(workflow, "clients_complete", True):
        return problems  # the [[clients]] entries have their problems: which exist is not known
    known = [client.id for client in getattr(workflow, "clients", None) or []]
    for client in options.client_hours:
        if client not in known:
            listed = ", ".join(repr(k) for k in known) or "none: add a [[clients]] entry"
            problems.append((f"client_hours.{client}", f"no [[clients]] entry has id {client!r} (the workflow's "
                                                       f"clients: {listed})"))
    return problems


class CountsTheBacklog:
    """What the response-time metrics share as plugins: their ``client_hours`` check and their
    look-back (``backlog``)."""

    options: ClockOptions

    def check(self, workflow) -> list[str | tuple[str, str]]:
        """``client_hours`` names clients of the workflow (and the business clock)."""
        return client_hours_problems(self.options, workflow)

    def lookback(self):
        return self.options.backlog


ITEM_FIELDS = ("author", "platform", "text", "url", "sentiment", "account", "client", "brands", "post_id")
"""What the backlog keeps of a conversation for an alert's list of items."""


def waiting_items(data: MetricInput, options: ClockOptions, longer_than: float, *,
                  negative_only: bool = False) -> "pl.DataFrame":
    """The current period's backlog (:func:`backlog`) that has waited more than ``longer_than``
    seconds (at least, with ``negative_only``: the negative ones), as an alert lists them."""
    import polars as pl

    waiting = backlog(data, options, [], extra=ITEM_FIELDS)
    current = data.periods[0].label if data.periods else None
    late = pl.col("waited") >= longer_than if negative_only else pl.col("waited") > longer_than
    if negative_only:
        late = late & (normalised_sentiment(waiting.lazy()) == "negative").fill_null(False)
    return item_rows(waiting.lazy().filter((pl.col("period") == current) & late), "received_at")


def _dims(data: MetricInput) -> list[str]:
    return sorted({d for group in data.grouping_sets for d in group})


class ResponseTimes(CountsTheBacklog, Metric, ListsItems):
    """First response times of the conversations received in the period, against an SLA.

    ``response_time_median`` and ``response_time_p90`` (minutes): the median and 90th percentile
    of the answered ones (linear interpolation between ranks); ``answered_within_sla`` (%):
    met / (met + breached), where met is answered within ``sla`` and breached is answered later,
    or unanswered for longer than ``sla`` at the as-of time; an unanswered item still inside its
    SLA is neither. ``unanswered_over_sla``: the backlog past its SLA, the conversations without a
    reply at the as-of time (an earlier period: at its end) that have waited longer than ``sla``,
    whatever period they were received in, received within ``backlog``. With
    ``clock = "wall"`` the names start with ``wall_``.
    """

    name = "response_times"
    description = "Median and 90th-percentile first response time, share answered within the SLA, unanswered past it."
    Options = ResponseTimesOptions
    needs = ("conversation",)
    groupings = GROUPINGS
    measurement_polarities = {"answered_within_sla": "up", "wall_answered_within_sla": "up"}
    default_polarity = "down"

    @property
    def _prefix(self) -> str:
        return "wall_" if self.options.clock == "wall" else ""

    def produces(self) -> dict[str, str]:
        return {f"{self._prefix}response_time_median": "minutes", f"{self._prefix}response_time_p90": "minutes",
                f"{self._prefix}answered_within_sla": "%", f"{self._prefix}unanswered_over_sla": "conversations"}

    def items(self, data: MetricInput, measurement: str):
        """An alert on ``unanswered_over_sla`` lists the conversations waiting past the SLA."""
        if measurement != f"{self._prefix}unanswered_over_sla":
            return None
        return waiting_items(data, self.options, self.options.sla.total_seconds())

    def compute(self, data: MetricInput):
        import polars as pl

        sla = self.options.sla.total_seconds()
        dims = _dims(data)
        rows = _with_backlog(waits(data, self.options, dims), backlog(data, self.options, dims))
        received, answered, late = pl.col("_received"), pl.col("answered"), pl.col("waited") > sla
        minutes = pl.when(received & answered).then(pl.col("waited") / 60)
        figures = aggregate(rows, data.grouping_sets, [
            received.sum().alias("received"),
            (received & answered).sum().alias("answered_count"),
            minutes.median().alias("median"),
            minutes.quantile(0.9, interpolation="linear").alias("p90"),
            (received & answered & ~late).sum().alias("met"),
            (received & late).sum().alias("breached"),
            (~received & late).sum().alias("overdue"),
        ], periods=[p.label for p in data.periods])
        none_received = pl.col("received").fill_null(0) == 0
        no_reply = (pl.when(none_received).then(pl.lit("no conversation received in the period"))
                    .when(pl.col("answered_count") == 0).then(pl.lit("no conversation of the period was answered")))
        judged = pl.col("met") + pl.col("breached")
        pending = (pl.when(none_received).then(pl.lit("no conversation received in the period"))
                   .when(judged == 0).then(pl.lit("every conversation of the period is unanswered and still "
                                                 "within its SLA")))
        p = self._prefix
        return pl.concat([
            measurement_rows(figures, metric=f"{p}response_time_median", unit="minutes", value=pl.col("median"),
                             reason=no_reply),
            measurement_rows(figures, metric=f"{p}response_time_p90", unit="minutes", value=pl.col("p90"),
                             reason=no_reply),
            measurement_rows(figures, metric=f"{p}answered_within_sla", unit="%",
                             value=ratio(pl.col("met"), judged), reason=pending),
            measurement_rows(figures, metric=f"{p}unanswered_over_sla", unit="conversations",
                             value=pl.col("overdue").fill_null(0)),
        ], how="diagonal_relaxed")


def _with_backlog(received: "pl.DataFrame", waiting: "pl.DataFrame") -> "pl.DataFrame":
    """The period's conversations (``_received`` true) and the backlog's (false, unanswered)
    as one frame: a group with either has a row."""
    import polars as pl

    return pl.concat([received.with_columns(pl.lit(True).alias("_received")),
                      waiting.with_columns(pl.lit(False).alias("_received"), pl.lit(False).alias("answered"))],
                     how="diagonal_relaxed")


class UnansweredNegativeOptions(ClockOptions):
    older_than: Duration = Field(
        timedelta(0), description="Count a negative conversation once it has waited this long without a "
        "reply (\"0s\": at once; business time unless `clock = \"wall\"`).", examples=["1h"])


class UnansweredNegative(CountsTheBacklog, Metric, ListsItems):
    """Number of negative conversations still unanswered at the as-of time (an earlier period:
    at its end) after waiting ``older_than`` or longer, whatever period they were received in,
    received within ``backlog``: what an escalation watches (a ``threshold`` with ``above = 0``),
    so it stays firing until the message is answered.

    Reads the ``sentiment`` an export or a ``[[classifiers]]`` entry gave. No value (not 0)
    where none of the group's waiting conversations has a sentiment; 0 where none waits.
    """

    name = "unanswered_negative"
    description = "Number of negative comments and messages still unanswered after a wait (the backlog)."
    Options = UnansweredNegativeOptions
    needs = ("conversation",)
    groupings = GROUPINGS
    reads_sentiment = True
    default_polarity = "down"
    unit = "conversations"

    def items(self, data: MetricInput, measurement: str):
        """An alert on it lists the negative conversations it counts."""
        return waiting_items(data, self.options, self.options.older_than.total_seconds(), negative_only=True)

    def compute(self, data: MetricInput):
        import polars as pl

        dims = _dims(data)
        rows = _with_backlog(waits(data, self.options, dims), backlog(data, self.options, dims, extra=("sentiment",)))
        sentiment = normalised_sentiment(rows.lazy())
        waiting = ~pl.col("_received")
        wait = self.options.older_than.total_seconds()
        counts = aggregate(rows.with_columns(sentiment.alias("_sentiment")), data.grouping_sets, [
            waiting.sum().alias("backlog"),
            (waiting & pl.col("_sentiment").is_in(["negative", "neutral", "positive"]).fill_null(False))
            .sum().alias("classified"),
            (waiting & (pl.col("_sentiment") == "negative").fill_null(False) & (pl.col("waited") >= wait))
            .sum().alias("negative"),
        ], periods=[p.label for p in data.periods])
        unclassified = (pl.col("backlog").fill_null(0) > 0) & (pl.col("classified") == 0)
        return measurement_rows(counts, metric=self.name, unit=self.unit,
                                value=pl.when(unclassified).then(None).otherwise(pl.col("negative").fill_null(0)),
                                reason=pl.when(unclassified).then(pl.lit(unclassified_reason("conversation"))))


@hookimpl
def register_metrics(register):
    register(ResponseTimes)
    register(UnansweredNegative)
