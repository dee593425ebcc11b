"""One run of a workflow: fetch -> measure -> compare -> trigger -> deliver -> record.

A stage that fails is reported and the run goes on where it can: a failing source leaves its
records out (and the run marked failed), a failing output does not stop the others. State is
written in one transaction at the end, so a crash never leaves the store half-updated.
"""

from __future__ import annotations

import logging
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Callable

from cmflow.foundation import periods as periods_module
from cmflow.foundation.alerts import ERROR, FIRING, NO_DATA, PENDING, RESOLVED, Alert
from cmflow.plugins.context import DeliveryContext, FetchContext, MetricInput, SharedHttpClient, TriggerInput
from cmflow.foundation.errors import UserFacingError
from cmflow.stages.incremental import FetchPlan, plan_fetch, remember, with_stored
from cmflow.plugins.kinds import Metric, Notifier, Source
from cmflow.stages.lifecycle import RuleOutcome, RuleSettings, advance, alert_from_state, dimension_key
from cmflow.foundation.measurements import (
    BREAKDOWN_DIMENSIONS, NONE_LABEL, grouping_columns, label_periods, standardise,
    with_series_key,
)
from cmflow.foundation.records import RECORD_KINDS, RecordTable, empty_frame, unique_records
from cmflow.plugins.result import RunResult, StageReport
from cmflow.foundation.secrets import RedactingFilter, redactor
from cmflow.foundation.stopping import RunStopped, StopRequest
from cmflow.store import LockOwner, SlotAlreadyHandled, Store

if TYPE_CHECKING:
    import polars as pl

    from cmflow.foundation.periods import Period
    from cmflow.workflow import Entry, Workflow

RUN_LOCK_TTL = timedelta(hours=6)
"""How long a run's lock holds if its process dies on another host (on the same host a dead
process's lock is taken over at once)."""

log = logging.getLogger("cmflow")
log.addFilter(RedactingFilter())  # the CLI also redacts at its handlers, for child loggers
MAX_PARALLEL_SOURCES = 64
"""Sources fetched at once. The platforms' limits are kept by the HTTP kit's budgets (per
platform and token), not here: a source waiting on its budget must not hold back the sources
of other platforms and tokens (benchmarks/fetch_scale.py)."""


def resolve_period(workflow: "Workflow", spec: str | None = None, as_of: date | None = None,
                   now: datetime | None = None) -> "Period":
    """The run's current period: ``spec`` (or the workflow's) counted from ``as_of`` (or today).

    Raise :class:`~cmflow.foundation.periods.PeriodError` if it, or a period it is compared with, falls
    outside the calendar: before the run starts, not in the middle of it.
    """
    tz = workflow.settings.timezone
    today = as_of or workflow.settings.as_of or periods_module.today_in(tz, now)
    period = periods_module.parse_period(spec or workflow.settings.period, tz, today)
    for which in workflow.settings.compare:
        period.comparison(which)
    return period


def run_workflow(
    workflow: "Workflow",
    *,
    store: Store | None,
    period: "Period | None" = None,
    dry_run: bool = False,
    now: datetime | None = None,
    sleep: "Callable[[float], None] | None" = None,
    slot: datetime | None = None,
    lock_ttl: timedelta = RUN_LOCK_TTL,
    stop: StopRequest | None = None,
) -> RunResult:
    """Run a validated workflow once and return its result.

    With ``dry_run`` it fetches and computes, reads history, but delivers only to outputs with
    no external effect (the console) and writes nothing to the store. ``now`` fixes the run's
    clock (tests); ``sleep`` is how the outbox waits between quick retries. A daemon passes the
    schedule ``slot`` the run belongs to (recorded with it) and a ``lock_ttl`` a little longer
    than the run's timeout. A ``stop`` request (SIGTERM) set before the results are committed
    raises :class:`~cmflow.foundation.stopping.RunStopped`; set later, the messages being sent are finished,
    no other is started, and the run ends ``interrupted``.
    """
    period = period or resolve_period(workflow, now=now)
    comparison_periods = [period.comparison(c) for c in workflow.settings.compare]
    result = RunResult(workflow, period, comparison_periods, now or datetime.now(timezone.utc), dry_run)
    if store is not None:
        _check_workflow_key(workflow, store)
        latest = store.latest_period_end(workflow.key)
        # A back-fill of an older period reports its alerts but leaves the current state alone.
        result.past_period = latest is not None and period.end < latest
    if store is None or dry_run:
        return _run(workflow, store, result, None, period, comparison_periods, now, sleep, stop)
    owner = LockOwner.this_process()
    store.acquire_run_lock(workflow.key, owner, lock_ttl)  # raises WorkflowBusy
    try:
        # Under the lock, no other run of the workflow can finish this slot meanwhile.
        if slot is not None and store.slot_handled(workflow.key, slot):
            raise SlotAlreadyHandled(f"the slot {slot:%Y-%m-%d %H:%M} UTC of {workflow.key!r} was run "
                                     "meanwhile (by a run its killed daemon left behind): not run again")
        result.run_id = store.start_run(workflow.key, str(workflow.file), period.start, period.end, dry_run,
                                        slot=slot)
        return _run(workflow, store, result, result.run_id, period, comparison_periods, now, sleep, stop)
    finally:
        _release_run_lock(store, workflow.key, owner)


def _run(workflow: "Workflow", store: Store | None, result: RunResult, run_id: int | None,
         period: "Period", comparison_periods: list["Period"], now: datetime | None,
         sleep: "Callable[[float], None] | None", stop: StopRequest | None) -> RunResult:
    """Fetch, measure, compare, trigger and compose; commit the state and the queued messages
    in one transaction; then deliver (files, terminal) and send the outbox."""
    writes = store is not None and run_id is not None
    stop = stop or StopRequest()
    try:
        all_periods = [period, *comparison_periods, *period.history(_history_needed(workflow))]
        plans = _fetch(workflow, all_periods, result, store, now or result.started_at)
        stop.check()
        _measure(workflow, all_periods, result)
        _compare(workflow, store, result)
        _trigger(workflow, store, result)
        messages = compose_outbox_messages(workflow, result)
        stop.check()  # past this point the run's results are kept, and its messages queued
        if writes:
            store.commit_run(run_id, workflow=workflow.key, measurements=_to_store(result),
                             alerts=[] if result.past_period else result.alert_changes,
                             messages=messages, now=result.started_at)
    except BaseException as exc:
        if writes:
            _record_crash(store, run_id, exc)
        raise
    _deliver(workflow, result)
    if writes:
        _send_outbox(workflow, store, result, now, sleep, stop)
    if stop.is_set():
        result.stopped = stop.reason
    order = {entry.id: index for index, entry in enumerate(workflow.outputs)}
    result.stages.sort(key=lambda s: (s.kind == "output", order.get(s.id, 0) if s.kind == "output" else 0))
    result.finished_at = datetime.now(timezone.utc)
    if writes and result.status == "ok":  # delivered: what was fetched is not fetched again
        for plan in plans:
            remember(store, plan, result.started_at, run_id)
    if writes:
        failed = [f"{s.kind} {s.id}: {s.error}" for s in result.failed_stages]
        if result.stopped:
            failed.insert(0, f"{result.stopped} while delivering; what was not sent waits in the outbox")
        store.finish_run(run_id, status=result.status, stats=result.stats(),
                         error=redactor("; ".join(failed)) or None)
    return result


def _record_crash(store: Store, run_id: int, exc: BaseException) -> None:
    """Keep why the run stopped in its history row. When the store refuses even that (still
    locked, gone), say so and let the original error go on: the row stays ``running`` until
    the next run marks it interrupted."""
    error = redactor(_one_line(exc))
    log.info("run %s stopped: %s; recording it in the run history", run_id, error)
    stopped = isinstance(exc, (RunStopped, KeyboardInterrupt))
    if stopped:
        reason = str(exc) if isinstance(exc, RunStopped) else "stopped by SIGINT"
        error = f"{reason} before its results were kept: nothing was delivered"
    try:
        store.finish_run(run_id, status="interrupted" if stopped else "crashed", stats={}, error=error)
    except Exception as failure:
        log.warning("could not record why run %s stopped: %s", run_id, redactor(_one_line(failure)))


def _release_run_lock(store: Store, workflow_key: str, owner: LockOwner) -> None:
    """Give the run lock back; a store that refuses (locked, gone) must not hide how the run
    ended: the lock of a process that has ended is taken over by the next run."""
    try:
        store.release_run_lock(workflow_key, owner)
    except Exception as failure:
        log.warning("could not release the run lock of %s: %s; the next run takes it over",
                    workflow_key, redactor(_one_line(failure)))


def _history_needed(workflow: "Workflow") -> int:
    return max([entry.plugin.history_needed() for entry in workflow.triggers] or [0])


class WorkflowKeyConflict(RuntimeError):
    """Another workflow file already keeps its history under this workflow's key."""


def _check_workflow_key(workflow: "Workflow", store: Store) -> None:
    """Refuse to mix two workflows' history and alerts because they share a name.

    A workflow file that moved is fine: the earlier file no longer exists.
    """
    from pathlib import Path

    last = store.runs(workflow.key, limit=1)
    if not last:
        return
    earlier = Path(last[0].workflow_file)
    if earlier.resolve() != workflow.file.resolve() and earlier.exists():
        raise WorkflowKeyConflict(
            f"the store already keeps the history of a workflow {workflow.key!r} from {earlier}; "
            f"give this one its own id in [workflow] (id = \"...\") so their alerts and history stay apart")


def _to_store(result: RunResult) -> "pl.DataFrame | None":
    """What to remember of a run's measurements.

    Nothing when a source failed: partial figures must not replace good ones. Otherwise the
    current period, and comparison periods where they have a value: a comparison period the
    fetched records do not cover (an export holding only the latest week) measures as "no
    value", and storing that would overwrite what an earlier run stored.
    """
    import polars as pl

    if result.measurements is None or result.failed_sources:
        return None
    return result.measurements.filter(
        (pl.col("period") == periods_module.CURRENT) | pl.col("value").is_not_null())


# -- fetch ----------------------------------------------------------------------------------
def _fetch(workflow: "Workflow", all_periods: list["Period"], result: RunResult, store: Store | None,
           now: datetime) -> list[FetchPlan]:
    """Fetch every source (concurrently), each account of a multi-account source on its own;
    incremental ones only what the store lacks. Returns the plans of the parts that succeeded,
    for :func:`remember` once the outputs are delivered."""
    import polars as pl

    result.all_periods = all_periods
    window_start = min(p.start_utc for p in all_periods) - timedelta(days=1)  # baselines
    window_end = max(p.end_utc for p in all_periods)
    units = [_Part(entry, part, plan_fetch(store, workflow, entry, part, window_start, window_end, now))
             for entry in workflow.sources for part in _parts(entry)]

    http = SharedHttpClient()  # one client, hence one budget per platform and token, for all sources

    def fetch_one(unit: _Part) -> None:
        """One part's records, conformed by kind as they come (the source's own frames are
        dropped at once: a year of an agency's posts is held once, not three times)."""
        plan = unit.plan
        start = plan.fetch_start if plan is not None else window_start
        ctx = FetchContext(start, window_end, all_periods, workflow.directory,
                           log.getChild(f"source.{unit.entry.id}"), unit.problems, http,
                           skipped=unit.skipped)
        if plan is not None and not plan.fetches:
            return
        by_kind: dict[str, list[pl.DataFrame]] = {}
        try:
            for table in unit.part.fetch(ctx) or []:
                if not isinstance(table, RecordTable) or table.kind not in RECORD_KINDS:
                    raise TypeError(f"fetch() must yield cmflow.RecordTable objects, got {table!r}")
                by_kind.setdefault(table.kind, []).append(table.conformed())
        except Exception as exc:
            unit.error = redactor(_one_line(exc))
            log.debug("source %s failed:\n%s", unit.entry.id, redactor(traceback.format_exc()))
            return
        unit.frames = {kind: pl.concat(parts, rechunk=False) for kind, parts in by_kind.items()}

    try:
        with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL_SOURCES, max(1, len(units)))) as pool:
            list(pool.map(fetch_one, units))
    finally:
        http.close()

    collected: dict[str, list[pl.DataFrame]] = {}
    succeeded = []
    for entry in workflow.sources:
        report = StageReport("source", entry.id, entry.info.name)
        parts = [unit for unit in units if unit.entry is entry]
        failed = [unit for unit in parts if unit.error is not None]
        if failed:  # the other accounts' records still count; the stage (and the run) failed
            report.ok = False
            report.error = failed[0].error if len(parts) == 1 else "; ".join(
                f"{unit.account}: {unit.error}" for unit in failed) + f" ({len(failed)} of {len(parts)} accounts)"
        notes, own = [], {}
        for unit in parts:
            report.problems.extend(unit.problems)
            report.skipped.extend(unit.skipped)
            frames, plan = unit.frames, unit.plan
            if plan is not None and unit.error is None:
                plan.fetched = frames  # kept once the outputs are delivered
                frames = {kind: frame for kind in sorted(set(frames) | unit.part.produces())
                          if (frame := with_stored(store, plan, kind, frames.get(kind))) is not None}
                notes.append(plan.describe())
                succeeded.append(plan)
            for kind, frame in frames.items():
                own.setdefault(kind, []).append(frame.with_columns(pl.lit(entry.id).alias("source_id")))
            unit.frames = {}
        report.note = next((n for n in notes if n), None)
        for kind, frames in own.items():
            frame = pl.concat(frames, rechunk=False)
            if len(frames) > 1 and RECORD_KINDS[kind].identity:  # one story in two feeds counts once
                frame = unique_records(kind, frame, keep="first")
            collected.setdefault(kind, []).append(frame)
            report.counts[kind] = frame.height
            if note := _outside_period_note(kind, frame, all_periods[0]):
                report.problems.append(note)
        result.stages.append(report)
    result.records = {kind: pl.concat(frames, rechunk=False) for kind, frames in collected.items()}
    return succeeded


@dataclass
class _Part:
    """One source, or one account of a multi-account source, as this run fetches it."""

    entry: "Entry"
    part: "Source"
    plan: FetchPlan | None
    frames: dict[str, "pl.DataFrame"] = field(default_factory=dict)
    error: str | None = None
    problems: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def account(self) -> str:
        name = self.part.per_account_option
        values = getattr(self.part.options, name, None) if name else None
        return str(values[0]) if values else self.entry.id


def _parts(entry: "Entry") -> list["Source"]:
    try:
        return entry.plugin.parts()
    except Exception:  # a third-party split that fails: fetch the source whole
        log.debug("source %s could not be split by account:\n%s", entry.id, traceback.format_exc())
        return [entry.plugin]


def _outside_period_note(kind_name: str, frame: "pl.DataFrame", period: "Period") -> str | None:
    """Say so when a source returned records but none in the period: a wrong period or export."""
    import polars as pl

    kind = RECORD_KINDS[kind_name]
    times = frame.get_column(kind.time_field).drop_nulls()
    if times.len() == 0:
        return None
    if kind.field(kind.time_field).type == "date":
        inside = ((times >= period.start) & (times <= period.end)).any()
        first, last = times.min(), times.max()
    else:
        inside = ((times >= period.start_utc) & (times < period.end_utc)).any()
        local = times.dt.convert_time_zone(period.tz)
        first, last = local.min().date(), local.max().date()
    if inside:
        return None
    return (f"none of its {times.len()} {kind_name} records falls in {period} "
            f"(they cover {first}..{last})")


# -- measure --------------------------------------------------------------------------------
def _measure(workflow: "Workflow", all_periods: list["Period"], result: RunResult) -> None:
    default_sources = [s.id for s in workflow.sources]
    requests = [MetricRequest(entry.plugin, entry.common.by, entry.common.sources or default_sources,
                              entry.id) for entry in workflow.metrics]
    result.measurements = compute_measurements(requests, result.records, all_periods, result.stages)


@dataclass
class MetricRequest:
    """One metric to compute: the configured plugin, its breakdowns and the sources it reads."""

    plugin: Metric
    by: list
    source_ids: list[str]
    entry_id: str = ""


def compute_measurements(requests: list[MetricRequest], records: dict[str, "pl.DataFrame"],
                         all_periods: list["Period"], stages: list[StageReport] | None = None) -> "pl.DataFrame":
    """The metric stage: every metric over every period, as one measurement frame.

    ``records`` holds one frame per record kind with a ``source_id`` column (the id of the source entry).
    A metric that raises is reported in ``stages`` and left out; the others are computed.
    """
    import polars as pl

    stages = stages if stages is not None else []
    bounds = {p.label: (p.start, p.end) for p in all_periods}
    frames = []
    labelled_cache: dict[tuple[str, ...], MetricInput] = {}
    for request in requests:
        report = StageReport("metric", request.entry_id or request.plugin.name, request.plugin.name)
        stages.append(report)
        key = tuple(request.source_ids)
        if key not in labelled_cache:
            labelled_cache[key] = _metric_input(records, request.source_ids, all_periods)
        base = labelled_cache[key]
        data = MetricInput(base.records, base.all_records, base.periods, grouping_columns(request.by))
        try:
            frame = request.plugin.compute(data)
            frames.append(frame)
            report.counts["measurements"] = frame.height
        except Exception as exc:
            report.ok, report.error = False, redactor(_one_line(exc))
            log.debug("metric %s failed:\n%s", report.id, redactor(traceback.format_exc()))
    measurements = standardise(frames)
    labels = pl.DataFrame({"period": list(bounds), "period_start": [b[0] for b in bounds.values()],
                           "period_end": [b[1] for b in bounds.values()]},
                          schema={"period": pl.String, "period_start": pl.Date, "period_end": pl.Date})
    measurements = measurements.join(labels, on="period", how="left")
    return with_series_key(measurements)


def _metric_input(records: dict[str, "pl.DataFrame"], source_ids: list[str],
                  all_periods: list["Period"]) -> MetricInput:
    import polars as pl

    selected, labelled = {}, {}
    for kind_name, kind in RECORD_KINDS.items():
        frame = records.get(kind_name)
        if frame is None:  # no source produced this kind (or it failed): an empty frame
            frame = empty_frame(kind).with_columns(pl.lit(None, dtype=pl.String).alias("source_id"))
        if frame.height == 0:
            selected[kind_name] = labelled[kind_name] = frame.lazy().with_columns(
                pl.lit(None, dtype=pl.String).alias("period"))
            continue
        if set(frame["source_id"].unique().to_list()) - set(source_ids):
            frame = frame.filter(pl.col("source_id").is_in(source_ids))
        # A post without a pillar is grouped under "(none)": left null, its group would carry
        # no dimension at all and be taken for the overall row.
        unlabelled = [d for d in BREAKDOWN_DIMENSIONS if d in frame.columns and frame[d].null_count()]
        if unlabelled:
            frame = frame.with_columns(pl.col(d).fill_null(NONE_LABEL) for d in unlabelled)
        selected[kind_name] = frame.lazy()
        # Labelled once (many periods: one label column; few: small filtered copies), shared
        # lazily by every metric reading these sources, which then reads only its columns.
        labelled[kind_name] = label_periods(frame, kind.time_field, all_periods,
                                            by_date=kind.field(kind.time_field).type == "date")
    return MetricInput(labelled, selected, all_periods, [])


# -- compare --------------------------------------------------------------------------------
def _compare(workflow: "Workflow", store: Store | None, result: RunResult) -> None:
    import polars as pl

    measurements = result.measurements
    assert measurements is not None
    # Rankings (top posts) have no meaningful period-over-period change.
    comparable = measurements.filter(pl.col("rank").is_null())
    current = comparable.filter(pl.col("period") == "current")
    parts = []
    for period in result.comparison_periods:
        before = comparable.filter(pl.col("period") == period.label).select("metric", "series_key", "value")
        if store is not None:
            before = _fill_from_history(before, workflow, store, period, current)
        joined = current.join(before.rename({"value": "previous_value"}),
                              on=["metric", "series_key"], how="left")
        parts.append(joined.with_columns(pl.lit(period.label).alias("comparison")))
    if not parts:
        result.comparisons = current.head(0)
        return
    compared = pl.concat(parts)
    value, previous = pl.col("value"), pl.col("previous_value")
    result.comparisons = compared.with_columns(
        (value - previous).alias("change"),
        pl.when(previous != 0).then((value - previous) / previous.abs() * 100).alias("change_pct"),
        pl.when(value.is_null()).then(pl.lit("no value this period"))
        .when(previous.is_null()).then(pl.lit("no value for the comparison period"))
        .when(previous == 0).then(pl.lit("comparison value is 0"))
        .otherwise(None).alias("change_reason"),
    )


def _fill_from_history(before: "pl.DataFrame", workflow: "Workflow", store: Store,
                       period: "Period", current: "pl.DataFrame") -> "pl.DataFrame":
    """Series the fetched records do not cover take the value stored by an earlier run."""
    import polars as pl

    metrics = current["metric"].unique().to_list()
    history = store.measurement_history(workflow.key, metrics, [(period.start, period.end)])
    if history.height == 0:
        return before
    history = history.select("metric", "series_key", pl.col("value").cast(pl.Float64))
    missing = history.join(before.filter(pl.col("value").is_not_null()),
                           on=["metric", "series_key"], how="anti")
    kept = before.join(missing, on=["metric", "series_key"], how="anti")
    return pl.concat([kept, missing])


# -- trigger --------------------------------------------------------------------------------
def _trigger(workflow: "Workflow", store: Store | None, result: RunResult) -> None:
    """Evaluate every rule, then move the alert lifecycle one run forward."""
    import polars as pl

    previous = store.alert_states(workflow.key) if store is not None else {}
    assert result.measurements is not None and result.comparisons is not None
    current = result.measurements.filter(pl.col("period") == periods_module.CURRENT)
    outcomes = [_evaluate_rule(workflow, entry, store, result, current, previous)
                for entry in workflow.triggers]
    if result.past_period:  # a back-fill reports what held then, and changes nothing
        result.alerts = [a for o in outcomes for a in o.holding]
        return
    silences = store.silences(active_at=result.started_at) if store is not None else []
    moved = advance(outcomes, previous, result.started_at, silences, workflow.key, result.period.end)
    result.alert_changes = moved.changed
    result.notifications = moved.notifications
    changed = {a.fingerprint: a for a in moved.changed}
    for state in previous.values():  # alerts this run said nothing new about keep their state
        if state.fingerprint not in changed and state.state in (FIRING, PENDING):
            changed[state.fingerprint] = alert_from_state(state)
    alerts = list(changed.values())
    result.alerts = [a for a in alerts if a.state == FIRING]
    result.pending = [a for a in alerts if a.state == PENDING]
    result.resolved = [a for a in alerts if a.state == RESOLVED]


def _evaluate_rule(workflow: "Workflow", entry: "Entry", store: Store | None, result: RunResult,
                   current: "pl.DataFrame", previous: dict) -> RuleOutcome:
    """One trigger entry at this run: what holds, what was measured, or why it could not say."""
    import polars as pl

    common = entry.common
    settings = RuleSettings(common.for_runs, common.keep_firing_for, common.repeat_every)
    report = StageReport("trigger", entry.id, entry.info.name)
    result.stages.append(report)
    where = _where(common.metric, common.where)
    rows = current.filter(where)
    unmatched = _unmatched_where(entry, current)
    report.problems.extend(unmatched)
    error = _upstream_failure(workflow, common.metric, result)
    alerts: list[Alert] = []
    if error is None:
        data = TriggerInput(rows, result.comparisons.filter(where), result.period,
                            _history(workflow, entry, store, result, where), [], result.started_at)
        try:
            alerts = list(entry.plugin.evaluate(data) or [])
            result.verdicts.extend(data.verdicts)
            report.problems.extend(redactor(" ".join(str(note).split())) for note in data.notes)
        except Exception as exc:
            report.ok, report.error = False, redactor(_one_line(exc))
            log.debug("trigger %s failed:\n%s", entry.id, redactor(traceback.format_exc()))
            error = f"the trigger failed: {report.error}"
    if error is not None:
        holding = [_condition_alert(entry, ERROR, f"{entry.id} cannot be evaluated: {error}")] \
            if common.on_error == "alert" else []
        report.counts["alerts"] = len(holding)
        return RuleOutcome(entry.id, settings, holding, evaluated=False)
    for alert in alerts:
        alert.rule, alert.severity = entry.id, common.severity
    measured = {(row["metric"], dimension_key(row)) for row in
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
                                           f"for {result.period}{why}"))
        elif common.no_data == "ok":  # nothing to watch counts as fine: this rule's alerts resolve
            measured = {(s.metric, dimension_key(s.dimensions)) for s in previous.values() if s.rule == entry.id}
    report.counts["alerts"] = len(alerts)
    return RuleOutcome(entry.id, settings, alerts, measured, cleared)


def _condition_alert(entry: "Entry", condition: str, summary: str) -> Alert:
    return Alert(entry.id, entry.common.metric, {}, summary, entry.common.severity, None, condition=condition)


def _upstream_failure(workflow: "Workflow", metric: str, result: RunResult) -> str | None:
    """Why a rule watching ``metric`` cannot be trusted this run: a metric producing it, or a
    source such a metric reads, failed."""
    failed = {(s.kind, s.id): s for s in result.failed_stages}
    for entry in workflow.metrics:
        if metric not in entry.plugin.produces():
            continue
        if stage := failed.get(("metric", entry.id)):
            return f"metric {entry.id} failed: {stage.error}"
        for source_id in entry.common.sources or [s.id for s in workflow.sources]:
            if stage := failed.get(("source", source_id)):
                return f"source {source_id} failed: {stage.error}"
    return None


def _history(workflow: "Workflow", entry: "Entry", store: Store | None, result: RunResult,
             where: "pl.Expr") -> "pl.DataFrame":
    """The trigger's metric over the periods before the current one, filled from the store."""
    import polars as pl

    assert result.measurements is not None
    if entry.plugin.history_needed() <= 0:
        return result.measurements.head(0)
    frame = result.measurements.filter(pl.col("period").str.starts_with(periods_module.HISTORY) & where)
    if store is None:
        return frame
    periods = [p for p in result.all_periods if p.label.startswith(periods_module.HISTORY)]
    stored = store.measurement_history(workflow.key, [entry.common.metric], [(p.start, p.end) for p in periods])
    if stored.height == 0:
        return frame
    labels = pl.DataFrame({"period": [p.label for p in periods], "period_start": [p.start for p in periods],
                           "period_end": [p.end for p in periods]})
    stored = stored.join(labels, on=["period_start", "period_end"], how="inner")
    missing = stored.join(frame.filter(pl.col("value").is_not_null()), on=["period", "series_key"], how="anti")
    if missing.height == 0:
        return frame
    kept = frame.join(missing.select("period", "series_key"), on=["period", "series_key"], how="anti")
    return pl.concat([kept, missing.select([c for c in frame.columns if c in missing.columns])],
                     how="diagonal_relaxed").filter(where)


def _unmatched_where(entry: "Entry", current: "pl.DataFrame") -> list[str]:
    """For each ``where`` value no series of the metric has this period (a misspelt account):
    what was measured instead, so the rule does not silently watch nothing."""
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
        for value in [wanted] if isinstance(wanted, str) else wanted:
            if value in present or not present:
                continue
            suggestion = closest(value, present)
            notes.append(f"{entry.path}.where.{key}: no series of {common.metric} has {key} = {value!r} "
                         f"this period; " + (f"did you mean {suggestion!r}?" if suggestion else
                                              f"measured: {', '.join(present[:5])}"
                                              + (" ..." if len(present) > 5 else "")))
    return notes


def _where(metric: str, where: dict[str, str | list[str]]) -> "pl.Expr":
    import polars as pl

    condition = pl.col("metric") == metric
    for key, wanted in where.items():
        values = [wanted] if isinstance(wanted, str) else list(wanted)
        condition &= pl.col(key).is_in(values)
    return condition


# -- deliver --------------------------------------------------------------------------------
def compose_outbox_messages(workflow: "Workflow", result: RunResult) -> list:
    """The messages of the notifier outputs, to queue with the run's state."""
    from cmflow.delivery.outbox import compose_messages, notifications_for, when_applies

    queued = []
    for entry in workflow.outputs:
        if not isinstance(entry.plugin, Notifier):
            continue
        report = StageReport("output", entry.id, entry.info.name)
        result.stages.append(report)
        if not when_applies(entry, result, notifications_for(entry, result)):
            report.note = f"nothing to send (when = {entry.common.when or entry.plugin.default_when!r})"
            continue
        if result.dry_run:
            report.note = "skipped (dry run)"
            continue
        ctx = DeliveryContext(workflow.directory, log.getChild(f"output.{entry.id}"), result.dry_run)
        try:
            messages = compose_messages(workflow, entry, result, ctx)
        except Exception as exc:
            report.ok, report.error = False, redactor(_one_line(exc))
            log.debug("output %s failed:\n%s", entry.id, redactor(traceback.format_exc()))
            continue
        report.counts["messages"] = len(messages)
        report.note = f"{len(messages)} message(s) queued"
        queued.extend(messages)
    return queued


def _send_outbox(workflow: "Workflow", store: Store, result: RunResult, now: datetime | None,
                 sleep: "Callable[[float], None] | None", stop: StopRequest) -> None:
    """Send this workflow's due messages (this run's, and earlier ones still waiting); on a
    ``stop`` request, finish the messages being sent and leave the rest in the outbox."""
    import time
    from collections import Counter

    from cmflow.delivery.outbox import dispatch
    from cmflow.store import PENDING as PENDING_MESSAGE

    clock = (lambda: now) if now is not None else None
    try:
        sent = dispatch(store, workflow=workflow, clock=clock, sleep=sleep or time.sleep, stop=stop.is_set)
    except Exception as exc:  # the store itself: the messages stay queued
        error = redactor(_one_line(exc))
        log.warning("could not send the outbox: %s", error)
        for report in result.stages:  # the run is undelivered, and its history says why
            if report.kind == "output" and isinstance(_entry(workflow, report.id), Notifier):
                report.ok, report.error = False, f"the outbox could not be sent: {error}"
        return
    for report in result.stages:
        if report.kind != "output" or not isinstance(_entry(workflow, report.id), Notifier):
            continue
        delivered, problems = sent.for_output(report.id)
        if delivered:
            notes = "; ".join(note for note in delivered if note)
            report.note = f"{len(delivered)} message(s) delivered" + (f": {notes}" if notes else "")
        if problems:
            report.ok, report.error = False, "; ".join(problems)
    if stop.is_set():
        left = Counter(m.output_id for m in store.outbox(status=PENDING_MESSAGE, workflow=workflow.key,
                                                         limit=1_000_000))
        for report in result.stages:
            if report.kind == "output" and left[report.id]:
                report.note = "; ".join(filter(None, [report.note, (
                    f"{stop.reason}: {left[report.id]} message(s) left in the outbox for the next run "
                    "or `cmflow outbox flush`")]))


def _entry(workflow: "Workflow", output_id: str):
    return next((e.plugin for e in workflow.outputs if e.id == output_id), None)


def _deliver(workflow: "Workflow", result: RunResult) -> None:
    """Outputs that deliver themselves: the terminal, files."""
    from cmflow.delivery.outbox import when_applies

    for entry in workflow.outputs:
        if isinstance(entry.plugin, Notifier):
            continue
        report = StageReport("output", entry.id, entry.info.name)
        if not when_applies(entry, result, result.notifications):
            report.note = f"skipped (when = {entry.common.when or entry.plugin.default_when!r})"
            result.stages.append(report)
            continue
        if result.dry_run and entry.plugin.delivers_externally:
            report.note = "skipped (dry run)"
            result.stages.append(report)
            continue
        ctx = DeliveryContext(workflow.directory, log.getChild(f"output.{entry.id}"), result.dry_run)
        try:
            report.note = entry.plugin.deliver(result, ctx)
        except Exception as exc:
            report.ok, report.error = False, redactor(_one_line(exc))
            log.debug("output %s failed:\n%s", entry.id, redactor(traceback.format_exc()))
        result.stages.append(report)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    if text and isinstance(exc, UserFacingError):  # written for the user: no class name
        return text[0]
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__

