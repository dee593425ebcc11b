"""The ``target`` trigger: a KPI against an objective declared in the workflow.

Each series gets a verdict, on track, at risk or off track, that reports show next to the KPI
("ERR >= 3% this month", "+500 followers this quarter"); off-track series (and, if asked,
at-risk ones) also raise an alert. docs/triggers/target.md explains it with a worked example.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from cmflow import Alert, Number, PluginOptions, Trigger, Verdict, dimension_columns, hookimpl

from cmflow.builtin.triggers.common import value_text, where_text
from cmflow.builtin.triggers.history import keyed

if TYPE_CHECKING:
    import polars as pl

    from cmflow import Language, Period, TriggerInput


class TargetOptions(PluginOptions):
    objective: Number = Field(description="The objective, in the metric's unit: 3.0 for an ERR of "
                             "3%, 500 for +500 followers.", examples=[3.0])
    direction: Literal["at_least", "at_most"] = Field(
        "at_least", description="at_least: the KPI should reach the objective (ERR, growth); "
        "at_most: it should stay under it (response time, unanswered messages).")
    kind: Literal["level", "cumulative"] = Field(
        "level", description="level: the KPI itself is held to the objective (ERR >= 3%); "
        "cumulative: a total built up over the period (+500 followers), held to the objective "
        "times the elapsed share of the period while the period is still running.")
    at_risk_margin: Number = Field(10, ge=0, lt=100, description="Within this many percent of "
                                  "the objective on the wrong side, the KPI is at risk rather "
                                  "than off track (10: an ERR of 2.8% against 3% is at risk).",
                                  examples=[5])
    alert_on: Literal["off_track", "at_risk"] = Field(
        "off_track", description="Raise an alert for series off track (off_track), or for those "
        "at risk too (at_risk). Every series gets its verdict either way.")


class Target(Trigger):
    """Judges each series against the objective and appends a :class:`cmflow.Verdict` per series.

    expected = objective for a ``level`` KPI, and for a ``cumulative`` one objective x the
    elapsed share of the period at evaluation time (1 once the period is over, as it is in
    normal runs of a past period). at_least: on track when value >= expected, at risk down to
    expected - margin% of |expected|, off track below; at_most mirrors it. A series without a
    value gets no verdict ("no data" is the lifecycle's business, not a miss).
    """

    name = "target"
    description = "Judge a KPI against an objective: on track, at risk or off track."
    Options = TargetOptions

    def assess(self, data: TriggerInput) -> "pl.DataFrame":
        """Every current series with a value, plus ``expected``, ``gap_pct`` (how far from
        expected on the wrong side, in % of it) and ``status``."""
        import polars as pl

        options: TargetOptions = self.options
        expected = options.objective * self._elapsed(data)
        band = abs(expected) * options.at_risk_margin / 100
        value = pl.col("value")
        if options.direction == "at_least":
            on_track, at_risk, miss = value >= expected, value >= expected - band, expected - value
        else:
            on_track, at_risk, miss = value <= expected, value <= expected + band, value - expected
        gap = miss / abs(expected) * 100 if expected else pl.lit(None, dtype=pl.Float64)
        return (keyed(data.measurements).filter(value.is_not_null())
                .with_columns(pl.lit(expected).alias("expected"),
                              pl.when(on_track).then(pl.lit(Verdict.ON_TRACK))
                              .when(at_risk).then(pl.lit(Verdict.AT_RISK))
                              .otherwise(pl.lit(Verdict.OFF_TRACK)).alias("status"),
                              pl.when(~on_track).then(gap).alias("gap_pct")))

    def evaluate(self, data: TriggerInput) -> list[Alert]:
        options: TargetOptions = self.options
        alerting = {Verdict.OFF_TRACK} if options.alert_on == "off_track" else {Verdict.OFF_TRACK, Verdict.AT_RISK}
        elapsed = self._elapsed(data)
        dimensions = dimension_columns(keyed(data.measurements))
        alerts = []
        for row in self.assess(data).iter_rows(named=True):
            where = {d: row[d] for d in dimensions if row[d] is not None}
            summary = self._summary(row, where, elapsed, data.period)
            paced = row["expected"] if options.kind == "cumulative" else None
            data.verdicts.append(Verdict(self.entry_id, row["metric"], where, row["status"], row["value"],
                                         options.objective, summary, expected=paced))
            if row["status"] in alerting:
                alerts.append(Alert(self.entry_id, row["metric"], where, summary, value=row["value"],
                                    details={"status": row["status"], "objective": options.objective,
                                             "expected": row["expected"], "direction": options.direction,
                                             "kind": options.kind, "elapsed": elapsed,
                                             "gap_pct": row["gap_pct"], "unit": row["unit"]}))
        return alerts

    def _elapsed(self, data: TriggerInput) -> float:
        """Share of the period gone by at evaluation time: 1 for a level KPI or a past period."""
        if self.options.kind == "level":
            return 1.0
        return elapsed_share(data.period, data.now or datetime.now(timezone.utc))

    def _summary(self, row: dict, where: dict, elapsed: float, period: "Period") -> str:
        from cmflow import format_change, metric_label

        options: TargetOptions = self.options
        unit = row["unit"]
        bound = "at least" if options.direction == "at_least" else "at most"
        parts = [f"objective {bound} {value_text(options.objective, unit)}"]
        if elapsed < 1:
            parts.append(f"expected {value_text(row['expected'], unit)} by now, "
                         f"{elapsed:.0%} of {period} gone")
        if row["gap_pct"] is not None:
            gap = format_change(None, row["gap_pct"], "", signed=False)
            parts.append(f"{gap} {'short' if options.direction == 'at_least' else 'over'}")
        return (f"{metric_label(row['metric'])} {where_text(where)}: {value_text(row['value'], unit)}, "
                f"{row['status'].replace('_', ' ')} ({('; ' if elapsed < 1 else ', ').join(parts)})")


    def told(self, alert: Alert, lang: "Language", unit: str, where: str | None = None) -> str | None:
        """The alert's summary in ``lang``'s words (a French client's task card), from the
        verdict its details carry (kept by the store since v14); None for one stored without them
        (its summary stays as written)."""
        from cmflow import format_change

        details = alert.details
        if alert.value is None or details.get("status") is None or details.get("objective") is None:
            return None
        at_least = details.get("direction", self.options.direction) == "at_least"
        parts = [lang.text("alert_told_target_at_least" if at_least else "alert_told_target_at_most",
                           objective=value_text(details["objective"], unit, lang))]
        elapsed = details.get("elapsed", 1.0)
        if elapsed < 1 and details.get("expected") is not None:
            parts.append(lang.text("alert_told_target_expected", expected=value_text(details["expected"], unit, lang),
                                   elapsed=lang.percent(elapsed * 100, 0)))
        if details.get("gap_pct") is not None:
            parts.append(lang.text("alert_told_target_short" if at_least else "alert_told_target_over",
                                   gap=format_change(None, details["gap_pct"], "", lang.locale, signed=False)))
        return lang.text("alert_told_target", metric=lang.metric_label(alert.metric),
                         where=where if where is not None else where_text(alert.dimensions, lang), value=value_text(alert.value, unit, lang),
                         status=lang.text(f"alert_told_target_{details['status']}"),
                         terms=("; " if elapsed < 1 else ", ").join(parts))


def elapsed_share(period: "Period", now: datetime) -> float:
    """How much of ``period`` has gone by at ``now``, from 0 (not started) to 1 (over)."""
    start, end = period.start_utc, period.end_utc
    if now >= end:
        return 1.0
    if now <= start:
        return 0.0
    return (now - start) / (end - start)


@hookimpl
def register_triggers(register):
    register(Target)
