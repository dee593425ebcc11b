"""The evaluate stage: every trigger's rule at this run, then the alert lifecycle one run forward.

Takes the workflow, the store (earlier alert states, silences, measurement history), the
measurements and comparisons, the periods measured (the current one first), the reports of the
stages before (a rule whose metric or source failed raises its error alert instead) and the
run's clock; returns :class:`Evaluated`: the alerts by state, the notifications due, the KPI
verdicts, the alert state changes to store and one report per trigger. A back-fill of an older
period (``past_period``) reports what held then and changes no state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from cmflow.foundation.alerts import ERROR, FIRING, NO_DATA, PENDING, RESOLVED, Alert, Verdict
from cmflow.foundation.measurements import DIMENSIONS, grouping_columns
from cmflow.foundation.periods import CURRENT, HISTORY
from cmflow.foundation.secrets import redactor
from cmflow.foundation.where_filters import compared, text_condition, values_of
from cmflow.plugins.context import TriggerInput
from cmflow.foundation.alerts import Notification
from cmflow.plugins.result import StageReport
from cmflow.stages.failures import failure, upstream_failure
from cmflow.stages.lifecycle import RuleOutcome, RuleSettings, advance, alert_from_state, series_identity
from cmflow.stages.stored_measurements import SCOPE_CHANGED, with_stored_measurements

if TYPE_CHECKING:
    import polars as pl

    from cmflow.foundation.periods import Period
    from cmflow.store import AlertState, Store
    from cmflow.workflow import Entry, Workflow


@dataclass(frozen=True)
class Evaluated:
    """What the evaluate stage made (the fields of :class:`~cmflow.plugins.result.RunResult`
    of the same names, and the triggers' reports)."""

    alerts: list[Alert]
    pending: list[Alert]
    resolved: list[Alert]
    notifications: list[Notification]
    verdicts: list[Verdict]
    alert_changes: list[Alert]
    reports: list[StageReport]


def evaluate(workflow: "Workflow", store: "Store | None", measurements: "pl.DataFrame",
             comparisons: "pl.DataFrame", *, all_periods: list["Period"], upstream: list[StageReport],
             now: datetime, past_period: bool = False) -> Evaluated:
    """Evaluate every rule, then move the alert lifecycle one run forward."""
    import polars as pl

    previous = store.alert_states(workflow.key) if store is not None else {}
    current = measurements.filter(pl.col("period") == CURRENT)
    failed = {(s.kind, s.id): s for s in upstream if not s.ok}
    rules = _Rules(workflow, store, measurements, current, comparisons, previous, all_periods, now, failed,
                   workflow.row_scopes() if store is not None else {})
    outcomes, reports, verdicts = [], [], []
    for entry in workflow.triggers:
        outcome, report, judged = rules.evaluate(entry)
        outcomes.append(outcome)
        reports.append(report)
        verdicts.extend(judged)
    if past_period:  # a back-fill reports what held then, and changes nothing
        return Evaluated([a for o in outcomes for a in o.holding], [], [], [], verdicts, [], reports)
    silences = store.silences(active_at=now) if store is not None else []
    moved = advance(outcomes, previous, now, silences, workflow.key, all_periods[0].end)
    changed = {a.fingerprint: a for a in moved.changed}
    for state in previous.values():  # alerts this run said nothing new about keep their state
        if state.fingerprint not in changed and state.state in (FIRING, PENDING):
            changed[state.fingerprint] = alert_from_state(state)
    alerts = list(changed.values())
    return Evaluated([a for a in alerts if a.state == FIRING], [a for a in alerts if a.state == PENDING],
                     [a for a in alerts if a.state == RESOLVED], moved.notifications, verdicts,
                     moved.changed, reports)


@dataclass(frozen=True)
class _Rules:
    """What every rule of the run is evaluated against."""

    workflow: "Workflow"
    store: "Store | None"
    measurements: "pl.DataFrame"
    current: "pl.DataFrame"
    """The measurements of the current period."""
    comparisons: "pl.DataFrame"
    previous: dict[str, "AlertState"]
    """The alert states before this run, by fingerprint."""
    all_periods: list["Period"]
    now: datetime
    failed: dict[tuple[str, str], StageReport]
    """The failed reports of the stages before, by (kind, id)."""
    scopes: dict[tuple[str, ...], dict[str, str]] = field(default_factory=dict)
    """Each measurement's scope now, by shape of row (:meth:`~cmflow.workflow.Workflow.row_scopes`):
    a history figure kept with another is not used."""

    def evaluate(self, entry: "Entry") -> tuple[RuleOutcome, StageReport, list[Verdict]]:
        """One trigger entry at this run: what holds, what was measured, or why it could not say;
        its report, and the KPIs it judged."""
        import polars as pl

        report = StageReport("trigger", entry.id, entry.info.name)
        verdicts: list[Verdict] = []
        current, common = self.current, entry.common
        period = self.all_periods[0]
        settings = RuleSettings(common.for_runs, common.keep_firing_for, common.repeat_every)
        where = _where(common.metric, common.where, common.by, current.columns)
        rows = current.filter(where)
        unmatched = _unmatched_where(entry, current)  # said by the where_misses stage; here, why there is no data
        error = self.upstream_failure(common.metric)
        alerts: list[Alert] = []
        if error is None:
            data = TriggerInput(rows, self.comparisons.filter(where), period, self.history(entry, where),
                                [], self.now)
            try:
                alerts = list(entry.plugin.evaluate(data) or [])
                verdicts.extend(data.verdicts)
                report.problems.extend(redactor(" ".join(str(note).split())) for note in data.notes)
            except Exception as exc:
                report.ok, report.error = False, failure("trigger", entry.id, exc)
                error = f"the trigger failed: {report.error}"
        if error is not None:
            holding = [_condition_alert(entry, ERROR, f"{entry.id} cannot be evaluated: {error}")] \
                if common.on_error == "alert" else []
            report.counts["alerts"] = len(holding)
            return RuleOutcome(entry.id, settings, holding, evaluated=False), report, verdicts
        for alert in alerts:
            alert.rule, alert.severity = entry.id, common.severity
        labels = self.workflow.series_labels_of(common.metric)
        measured = {series_identity(row["metric"], row, labels) for row in
                    rows.filter(pl.col("value").is_not_null()).iter_rows(named=True)}
        cleared = {ERROR}
        if measured or common.no_data == "ok":
            cleared.add(NO_DATA)
        if not measured:
            if common.no_data == "alert":
                reasons = sorted({r for r in rows["reason"].to_list() if r}) if rows.height else []
                why = f" ({'; '.join(reasons[:2])})" if reasons else ""
                why = f" ({unmatched[0]})" if unmatched and not rows.height else why
                alerts.append(_condition_alert(entry, NO_DATA, f"no data: {common.metric} has no value "
                                               f"for {period}{why}"))
            elif common.no_data == "ok":  # nothing to watch counts as fine: this rule's alerts resolve
                measured = {series_identity(s.metric, s.dimensions, labels) for s in self.previous.values()
                            if s.rule == entry.id}
        report.counts["alerts"] = len(alerts)
        return RuleOutcome(entry.id, settings, alerts, measured, cleared, labels=labels), report, verdicts

    def upstream_failure(self, metric: str) -> str | None:
        """Why a rule watching ``metric`` cannot be trusted this run (see :func:`upstream_failure`)."""
        return upstream_failure(self.workflow, self.failed, metric)

    def history(self, entry: "Entry", where: "pl.Expr") -> "pl.DataFrame":
        """The trigger's metric over the periods before the current one, filled from the store."""
        import polars as pl

        if entry.plugin.history_needed() <= 0:
            return self.measurements.head(0)
        frame = self.measurements.filter(pl.col("period").str.starts_with(HISTORY) & where)
        if self.store is None:
            return frame
        periods = [p for p in self.all_periods if p.label.startswith(HISTORY)]
        return with_stored_measurements(frame, self.store, self.workflow.key, [entry.common.metric], periods,
                                        on=["period", "series_key"], scopes=self.scopes
                                        ).filter(where).drop(SCOPE_CHANGED, strict=False)


def _condition_alert(entry: "Entry", condition: str, summary: str) -> Alert:
    return Alert(entry.id, entry.common.metric, {}, summary, entry.common.severity, None, condition=condition)


def _unmatched_where(entry: "Entry", current: "pl.DataFrame") -> list[str]:
    """For each ``where`` value no series of the metric has this period (a misspelt account):
    what was measured instead, for the "no data" alert's reason (the where_misses stage tells
    the run, as for the ``where`` of sources, metrics and outputs)."""
    import polars as pl

    from cmflow.foundation.names import closest

    common = entry.common
    measured = current.filter(pl.col("metric") == common.metric)
    if measured.height == 0:
        return []  # no data at all: the no-data alert says so
    notes = []
    for key, wanted in common.where.items():
        if key not in measured.columns:
            continue
        present = sorted({str(v) for v in measured[key].drop_nulls().to_list()})
        folded = {compared(key, v) for v in present}
        for value in [wanted] if isinstance(wanted, str) else wanted:
            if not present or compared(key, value) in folded:
                continue
            suggestion = closest(value, present)
            notes.append(f"{entry.path}.where.{key}: no series of {common.metric} has {key} = {value!r} "
                         f"this period; " + (f"did you mean {suggestion!r}?" if suggestion else
                                              f"measured: {', '.join(present[:5])}"
                                              + (" ..." if len(present) > 5 else "")))
    return notes


def _where(metric: str, where: dict[str, str | list[str]], by: list | None = None,
           columns: list[str] = ()) -> "pl.Expr":
    """The series of ``metric`` a trigger watches: those whose dimensions match ``where`` and,
    with ``by``, that are of one of those breakdowns (exactly those dimensions, no more)."""
    import polars as pl

    condition = pl.col("metric") == metric
    for key, wanted in where.items():
        condition &= text_condition(key, values_of(wanted))  # the platform whatever its case
    if by:
        dimensions = [d for d in DIMENSIONS if d in columns]
        breakdowns = pl.lit(False)
        for grouping in grouping_columns(by):
            exact = pl.lit(True)
            for d in dimensions:
                exact &= pl.col(d).is_not_null() if d in grouping else pl.col(d).is_null()
            breakdowns |= exact
        condition &= breakdowns
    return condition
