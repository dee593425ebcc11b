"""What UTM-tagged traffic brings back: ``traffic_totals`` (sessions, users, conversions,
revenue), ``conversion_rate``, and, with the production cost of time entries,
``cost_per_conversion`` and ``roi``.

Every rate is a ratio of the period's sums (never a mean of daily rates), and a figure that
cannot be computed (no sessions, no conversion, unpriced time) has no value and a reason, never
0 or infinity. Traffic has a platform (read from utm_source) but no account: its client is the
client whose records name its campaign (see :mod:`cmflow.stages.clients`). A time entry has a
platform when its tracker names one (a tag, project or task: ``IG``); by platform, the cost of
the time naming a platform meets the traffic from that platform, and time naming none is on the
``(none)`` row, never spread over the platforms.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field, field_validator

from cmflow import NONE_LABEL, Metric, PluginOptions, aggregate, hookimpl, measurement_rows

from cmflow.builtin.metrics.priced_time import (CURRENCY_UNIT, cost_aggregations, cost_counted, currency_reason,
                                                priced_entries, unpriced_reason)

if TYPE_CHECKING:
    import polars as pl

    from cmflow import MetricInput

TRAFFIC_COUNTERS = ("sessions", "users", "conversions", "revenue")
"""The traffic figures ``traffic_totals`` adds up."""
TRAFFIC_GROUPINGS = ("overall", "client", "platform", "campaign")
"""The breakdowns of every traffic metric, the costed ones included (time names its platform)."""


def traffic_rows(data: "MetricInput") -> "pl.LazyFrame":
    """The period's traffic records, visits from no platform grouped as ``(none)`` rather than
    with a null platform (which would be taken for the overall row). Campaigns come written one
    way per :func:`~cmflow.campaign_key` (``Black Friday`` and ``black_friday`` are one
    campaign): the measure stage does it for every metric."""
    import polars as pl

    return data.records["traffic"].with_columns(pl.col("platform").cast(pl.String).fill_null(NONE_LABEL))


class TrafficTotalsOptions(PluginOptions):
    counters: list[str] = Field(
        default_factory=lambda: list(TRAFFIC_COUNTERS),
        description="Traffic figures to total; each gives a measurement named total_<counter>: sessions, "
        "users, conversions (key events) and revenue (in the [production] currency).",
        examples=[["sessions", "conversions"]])

    @field_validator("counters")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        from cmflow import closest

        for name in value:
            if name not in TRAFFIC_COUNTERS:
                hint = closest(name, list(TRAFFIC_COUNTERS))
                raise ValueError(f"unknown traffic counter {name!r}" + (
                    f"; did you mean {hint!r}?" if hint else f"; counters: {', '.join(TRAFFIC_COUNTERS)}"))
        return value


class TrafficTotals(Metric):
    """Sum of sessions, users, conversions and revenue of the period's traffic records
    (``total_sessions`` ...), by campaign, platform (read from utm_source) or client.

    Users add up per day and source (GA4 counts a person who came on two days, or from two
    sources, twice in such rows). A figure no traffic record of the group reports has no value
    rather than 0; a group seen in another period but with no traffic in this one has no value,
    "no traffic in this period".
    """

    name = "traffic_totals"
    description = "Totals of UTM traffic: total_sessions, total_users, total_conversions, total_revenue."
    Options = TrafficTotalsOptions
    needs = ("traffic",)
    groupings = TRAFFIC_GROUPINGS
    default_by = ("overall",)  # traffic has no account
    default_polarity = "up"  # more visits, conversions and revenue are good news

    def produces(self) -> dict[str, str]:
        return {f"total_{c}": CURRENCY_UNIT if c == "revenue" else c for c in self.options.counters}

    def compute(self, data: MetricInput):
        import polars as pl

        counters = self.options.counters
        aggregations = [pl.len().alias("records")]
        for counter in counters:
            aggregations += [pl.col(counter).sum().alias(f"sum_{counter}"),
                             pl.col(counter).is_not_null().sum().alias(f"known_{counter}")]
        if "revenue" in counters:
            aggregations.append(pl.col("_foreign_revenue").drop_nulls().unique().sort().alias("foreign_revenue"))
        traffic = traffic_rows(data).with_columns(revenue_foreign(data).alias("_foreign_revenue"))
        rows = aggregate(traffic, data.grouping_sets, aggregations, periods=[p.label for p in data.periods])
        parts = []
        for counter in counters:
            known = pl.col(f"known_{counter}").fill_null(0)
            reason = (pl.when(pl.col("records").fill_null(0) == 0).then(pl.lit("no traffic in this period"))
                      .when(known == 0).then(pl.lit(f"no traffic record reports {counter}")))
            if counter == "revenue":  # amounts in two currencies are never added up
                foreign = currency_reason(data.production.currency, "foreign_revenue", "traffic revenue amounts")
                known = pl.when(foreign.is_null()).then(known).otherwise(0)
                reason = pl.coalesce(foreign, reason)
            unit = data.production.currency if counter == "revenue" else counter
            parts.append(measurement_rows(rows, metric=f"total_{counter}", unit=unit,
                                          value=pl.when(known > 0).then(pl.col(f"sum_{counter}")), reason=reason))
        return pl.concat(parts)


class ConversionRate(Metric):
    """Conversions per 100 sessions: conversion rate = conversions / visitors × 100, where the
    visitors are the sessions (what GA4 and UTM exports count per source, medium and campaign).

    A ratio of the period's sums over the traffic records that report both figures, never the
    mean of daily rates. No value when the group has no session ("no sessions"), no traffic
    record in the period, or no record reporting conversions.
    """

    name = "conversion_rate"
    description = "Conversion rate: conversions / sessions x 100 of the period's UTM traffic (ratio of sums)."
    needs = ("traffic",)
    groupings = TRAFFIC_GROUPINGS
    default_by = ("overall",)  # traffic has no account
    unit = "%"
    default_polarity = "up"

    def compute(self, data: MetricInput):
        import polars as pl

        both = pl.col("sessions").is_not_null() & pl.col("conversions").is_not_null()
        rows = aggregate(traffic_rows(data), data.grouping_sets, [
            pl.len().alias("records"),
            pl.col("sessions").filter(both).sum().alias("sessions"),
            pl.col("conversions").filter(both).sum().alias("conversions"),
            both.sum().alias("known"),
        ], periods=[p.label for p in data.periods])
        reason = (pl.when(pl.col("records").fill_null(0) == 0).then(pl.lit("no traffic in this period"))
                  .when(pl.col("known") == 0).then(pl.lit("no traffic record reports both sessions and conversions"))
                  .when(pl.col("sessions") == 0).then(pl.lit("no sessions")))
        value = pl.when(pl.col("sessions") > 0).then(pl.col("conversions") / pl.col("sessions") * 100)
        return measurement_rows(rows, metric=self.name, unit=self.unit, value=value, reason=reason)


def revenue_foreign(data: "MetricInput") -> "pl.Expr":
    """The currency of a traffic record's revenue when it is another than [production]'s (a
    file's ``$`` amounts in a EUR workflow); null otherwise."""
    import polars as pl

    from cmflow.builtin.metrics.priced_time import foreign_currency

    if "currency" not in data.records["traffic"].collect_schema().names():
        return pl.lit(None, dtype=pl.String)
    return pl.when(pl.col("revenue").is_not_null()).then(foreign_currency("currency", data.production.currency))


def campaign_figures(data: "MetricInput") -> "pl.DataFrame":
    """Per period and group: the cost of the time entries naming a campaign (priced as
    ``production_cost`` prices them: :mod:`~cmflow.builtin.metrics.priced_time`), and the
    conversions and revenue of the traffic naming one, with how many records each sum read.
    Campaigns are matched as the measure stage writes them (one spelling per
    :func:`~cmflow.campaign_key`); rows of no campaign (``(not set)``) are left out. By
    platform, a time entry counts for the platform it names and a visit for the platform it came
    from; entries naming none and visits from no social platform are on the ``(none)`` row."""
    import polars as pl

    from cmflow import campaign_key

    named = campaign_key(pl.col("campaign")).is_not_null()
    labels = [p.label for p in data.periods]
    as_string = pl.col("period").cast(pl.String)  # each frame's own categorical: joined as text
    platform = pl.col("platform").cast(pl.String).fill_null(NONE_LABEL)  # text, joined across frames
    time = data.records["time_entry"]
    if "platform" not in time.collect_schema().names():  # entries stored before time had a platform
        time = time.with_columns(pl.lit(None, dtype=pl.String).alias("platform"))
    entries = priced_entries(data, time.filter(named).with_columns(platform))
    traffic = data.records["traffic"].filter(named).with_columns(
        platform, revenue_foreign(data).alias("_foreign_revenue"))
    parts = []
    for dims in data.grouping_sets:
        costs = aggregate(entries, [dims], cost_aggregations(), periods=labels).with_columns(as_string)
        visits = aggregate(traffic, [dims], [
            pl.len().alias("visits_rows"),
            pl.col("conversions").sum().alias("conversions"),
            pl.col("conversions").is_not_null().sum().alias("known_conversions"),
            pl.col("revenue").sum().alias("revenue"),
            pl.col("revenue").is_not_null().sum().alias("known_revenue"),
            pl.col("_foreign_revenue").drop_nulls().unique().sort().alias("foreign_revenue"),
        ], periods=labels).with_columns(as_string)
        parts.append(costs.join(visits, on=["period", *dims], how="full", coalesce=True, nulls_equal=True))
    return pl.concat(parts, how="diagonal_relaxed")


def by_platform(rows: "pl.DataFrame") -> "pl.Expr":
    """Whether a row of :func:`campaign_figures` is a platform's (``by`` has ``platform``)."""
    import polars as pl

    return pl.col("platform").is_not_null() if "platform" in rows.columns else pl.lit(False)


def no_traffic_reason(rows: "pl.DataFrame") -> "pl.Expr":
    """Why a group has no traffic figure: no visit names its campaign(s) (from its platform)."""
    import polars as pl

    campaign = pl.lit("no traffic names the campaign (utm_campaign) in this period")
    if "platform" not in rows.columns:
        return campaign
    return (pl.when(pl.col("platform") == NONE_LABEL)
            .then(pl.lit("no traffic from another source than the social platforms names a campaign "
                         "(utm_campaign) in this period"))
            .when(by_platform(rows))
            .then(pl.format("no traffic from {} names a campaign (utm_campaign) in this period", pl.col("platform")))
            .otherwise(campaign))


def cost_reason(currency: str, rows: "pl.DataFrame | None" = None) -> "pl.Expr":
    """Why a group's production cost is unknown (else null): no time entry names its
    campaign(s) (or, by platform, that platform), or it cannot be counted
    (:func:`unpriced_reason`: hours without a rate, amounts in another currency)."""
    import polars as pl

    no_entry = pl.lit("no time entry names the campaign: its production cost is unknown")
    if rows is not None and "platform" in rows.columns:
        no_entry = (pl.when(pl.col("platform") == NONE_LABEL)
                    .then(pl.lit("every time entry of the campaigns names a platform: no cost without one"))
                    .when(by_platform(rows))
                    .then(pl.format("no time entry of a campaign names {} (a tag, project or task): its "
                                    "production cost is unknown", pl.col("platform")))
                    .otherwise(no_entry))
    return (pl.when(pl.col("entries").fill_null(0) == 0).then(no_entry)
            .otherwise(unpriced_reason(currency)))


def known_cost() -> "pl.Expr":
    """The group's production cost when it has time entries, every one of them priced in
    [production]'s currency (:func:`cost_counted`)."""
    import polars as pl

    return pl.when((pl.col("entries").fill_null(0) > 0) & cost_counted()).then(pl.col("cost"))


class CostPerConversion(Metric):
    """Production cost of a campaign divided by its conversions.

    The cost is that of the period's time entries naming the campaign, priced by the
    ``[production]`` rates (an entry's own cost wins); the conversions, those of the period's
    traffic whose utm_campaign is that campaign (campaigns matched case, accents, spaces and
    punctuation aside: :func:`~cmflow.campaign_key`). ``overall`` (and a client's whole) adds up
    every campaign's cost and conversions; time and traffic of no campaign are left out.

    By ``platform``: the cost of the time entries naming that platform (the tracker's tag,
    project or task: ``IG``, ``LinkedIn``) over the conversions of the traffic from it
    (utm_source). Time naming no platform is on the ``(none)`` row, with the traffic from no
    social platform (a newsletter, a search engine): it is never spread over the platforms, so
    a platform's cost is only the time tagged for it.

    No value, with a reason, when the group had no conversion (never infinity), no traffic, no
    time entry, time without a rate (never a cost counted as free), or a tracker's amounts in
    another currency than [production]'s.
    """

    name = "cost_per_conversion"
    description = ("Production cost of a campaign's (or platform's) time entries / its UTM traffic's "
                   "conversions.")
    needs = ("traffic", "time_entry")
    groupings = TRAFFIC_GROUPINGS
    default_by = ("campaign",)
    unit = CURRENCY_UNIT
    default_polarity = "down"  # cheaper conversions are better

    def compute(self, data: MetricInput):
        import polars as pl

        rows = campaign_figures(data)
        conversions = pl.when(pl.col("known_conversions").fill_null(0) > 0).then(pl.col("conversions"))
        reason = (pl.when(pl.col("visits_rows").fill_null(0) == 0).then(no_traffic_reason(rows))
                  .when(conversions.is_null()).then(pl.lit("no traffic record reports conversions"))
                  .when(conversions == 0).then(pl.lit("no conversion: a cost per conversion is not defined"))
                  .otherwise(cost_reason(data.production.currency, rows)))
        value = pl.when(conversions > 0).then(known_cost() / conversions)
        return measurement_rows(rows, metric=self.name, unit=data.production.currency, value=value, reason=reason)


class Roi(Metric):
    """Return on a campaign's production effort: ``roi`` = revenue − cost (the seeds'
    definition, in the ``[production]`` currency), and ``roi_pct`` = (revenue − cost) / cost × 100.

    Revenue is the period's traffic revenue of the campaign, cost its time entries' priced
    hours, as :class:`CostPerConversion` reads them. By ``platform``: the revenue of the traffic
    from that platform less the cost of the time entries naming it; time naming no platform is
    on the ``(none)`` row (with the traffic from no social platform), never spread over the
    platforms. No value, with a reason, for a group without traffic reporting revenue, without
    time entries, or with time that has no rate; ``roi_pct`` has none for a cost of 0 either.
    """

    name = "roi"
    description = ("Return on effort per campaign (or platform): roi = revenue - production cost; "
                   "roi_pct = roi / cost x 100.")
    needs = ("traffic", "time_entry")
    groupings = TRAFFIC_GROUPINGS
    default_by = ("campaign",)
    default_polarity = "up"

    def produces(self) -> dict[str, str]:
        return {"roi": CURRENCY_UNIT, "roi_pct": "%"}

    def compute(self, data: MetricInput):
        import polars as pl

        rows = campaign_figures(data)
        currency = data.production.currency
        foreign = currency_reason(currency, "foreign_revenue", "traffic revenue amounts")
        revenue = pl.when((pl.col("known_revenue").fill_null(0) > 0) & foreign.is_null()).then(pl.col("revenue"))
        revenue_reason = (pl.when(pl.col("visits_rows").fill_null(0) == 0).then(no_traffic_reason(rows))
                          .when(foreign.is_not_null()).then(foreign)
                          .when(revenue.is_null()).then(pl.lit("no traffic record reports revenue")))
        reason = pl.coalesce(revenue_reason, cost_reason(currency, rows))
        roi = revenue - known_cost()
        return pl.concat([
            measurement_rows(rows, metric="roi", unit=data.production.currency, value=roi, reason=reason),
            measurement_rows(rows, metric="roi_pct", unit="%", value=pl.when(known_cost() > 0).then(
                roi / known_cost() * 100), reason=pl.coalesce(reason, pl.when(known_cost() == 0).then(
                    pl.lit("the campaign cost nothing: a return in % is not defined")))),
        ])


@hookimpl
def register_metrics(register):
    register(TrafficTotals)
    register(ConversionRate)
    register(CostPerConversion)
    register(Roi)
