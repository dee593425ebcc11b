"""One run of a workflow: fetch -> measure -> compare -> trigger -> deliver -> record.

A stage that fails is reported and the run goes on where it can: a failing source leaves its
records out (and the run marked failed), a failing output does not stop the others. State is
written in one transaction at the end, so a crash never leaves the store half-updated.
"""

from __future__ import annotations

import logging
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING

from . import periods as periods_module
from .alerts import FIRING, RESOLVED, Alert
from .context import DeliveryContext, FetchContext, MetricInput, SharedHttpClient, TriggerInput
from .kinds import Metric
from .measurements import (
    BREAKDOWN_DIMENSIONS, NONE_LABEL, grouping_columns, label_periods, row_dimensions, standardise,
    with_series_key,
)
from .records import RECORD_KINDS, RecordTable, empty_frame
from .result import RunResult, StageReport
from .secrets import RedactingFilter, redactor
from .store import LockOwner, Store

if TYPE_CHECKING:
    import polars as pl

    from .periods import Period
    from .workflow import Entry, Workflow

RUN_LOCK_TTL = timedelta(hours=6)
"""How long a run's lock holds if its process dies on another host (on the same host a dead
process's lock is taken over at once)."""

log = logging.getLogger("cmflow")
log.addFilter(RedactingFilter())  # the CLI also redacts at its handlers, for child loggers
MAX_PARALLEL_SOURCES = 4


def resolve_period(workflow: "Workflow", spec: str | None = None, as_of: date | None = None,
                   now: datetime | None = None) -> "Period":
    """The run's current period: ``spec`` (or the workflow's) counted from ``as_of`` (or today)."""
    tz = workflow.settings.timezone
    today = as_of or workflow.settings.as_of or periods_module.today_in(tz, now)
    return periods_module.parse_period(spec or workflow.settings.period, tz, today)


def run_workflow(
    workflow: "Workflow",
    *,
    store: Store | None,
    period: "Period | None" = None,
    dry_run: bool = False,
    now: datetime | None = None,
) -> RunResult:
    """Run a validated workflow once and return its result.

    With ``dry_run`` it fetches and computes, reads history, but delivers only to outputs with
    no external effect (the console) and writes nothing to the store.
    """
    period = period or resolve_period(workflow, now=now)
    comparison_periods = [period.comparison(c) for c in workflow.settings.compare]
    result = RunResult(workflow, period, comparison_periods, now or datetime.now(timezone.utc), dry_run)
    if store is not None:
        _check_workflow_key(workflow, store)
        latest = store.latest_period_end(workflow.key)
        # A back-fill of an older period reports its alerts but leaves the current state alone.
        result.past_period = latest is not None and period.end < latest
    run_id = None
    owner = LockOwner.this_process()
    if store is not None and not dry_run:
        store.acquire_run_lock(workflow.key, owner, RUN_LOCK_TTL)  # raises WorkflowBusy
        run_id = store.start_run(workflow.key, str(workflow.file), period.start, period.end, dry_run)
    result.run_id = run_id
    try:
        return _run(workflow, store, result, run_id, period, comparison_periods)
    finally:
        if store is not None and not dry_run:
            store.release_run_lock(workflow.key, owner)


def _run(workflow: "Workflow", store: Store | None, result: RunResult, run_id: int | None,
         period: "Period", comparison_periods: list["Period"]) -> RunResult:
    try:
        all_periods = [period, *comparison_periods]
        _fetch(workflow, all_periods, result)
        _measure(workflow, all_periods, result)
        _compare(workflow, store, result)
        _trigger(workflow, store, result)
        _deliver(workflow, result)
    except BaseException as exc:
        if store is not None and run_id is not None:
            store.finish_run(run_id, status="crashed", stats={}, error=redactor(_one_line(exc)),
                             workflow=workflow.key, measurements=None, alerts=[])
        raise
    result.finished_at = datetime.now(timezone.utc)
    if store is not None and run_id is not None:
        failed = [f"{s.kind} {s.id}: {s.error}" for s in result.failed_stages]
        store.finish_run(run_id, status=result.status, stats=result.stats(),
                         error=redactor("; ".join(failed)) or None, workflow=workflow.key,
                         measurements=_to_store(result),
                         alerts=[] if result.past_period else [*result.alerts, *result.resolved])
    return result


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
def _fetch(workflow: "Workflow", all_periods: list["Period"], result: RunResult) -> None:
    import polars as pl

    window_start = min(p.start_utc for p in all_periods) - timedelta(days=1)  # baselines
    window_end = max(p.end_utc for p in all_periods)

    http = SharedHttpClient()  # one client, hence one budget per platform and token, for all sources

    def fetch_one(entry: "Entry") -> tuple[StageReport, list[RecordTable]]:
        report = StageReport("source", entry.id, entry.info.name)
        ctx = FetchContext(window_start, window_end, all_periods, workflow.directory,
                           log.getChild(f"source.{entry.id}"), report.problems, http)
        try:
            tables = list(entry.plugin.fetch(ctx) or [])
            for table in tables:
                if not isinstance(table, RecordTable) or table.kind not in RECORD_KINDS:
                    raise TypeError(f"fetch() must yield cmflow.RecordTable objects, got {table!r}")
            return report, tables
        except Exception as exc:
            report.ok, report.error = False, redactor(_one_line(exc))
            log.debug("source %s failed:\n%s", entry.id, redactor(traceback.format_exc()))
            return report, []

    try:
        with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL_SOURCES, max(1, len(workflow.sources)))) as pool:
            outcomes = list(pool.map(fetch_one, workflow.sources))
    finally:
        http.close()

    collected: dict[str, list[pl.DataFrame]] = {}
    for entry, (report, tables) in zip(workflow.sources, outcomes):
        for table in tables:
            try:
                frame = table.conformed()
            except Exception as exc:
                report.ok, report.error = False, redactor(_one_line(exc))
                continue
            frame = frame.with_columns(pl.lit(entry.id).alias("source_id"))
            collected.setdefault(table.kind, []).append(frame)
            report.counts[table.kind] = report.counts.get(table.kind, 0) + frame.height
            if note := _outside_period_note(table.kind, frame, all_periods[0]):
                report.problems.append(note)
        result.stages.append(report)
    result.records = {kind: pl.concat(frames) for kind, frames in collected.items()}


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
    import polars as pl

    previous = store.alert_states(workflow.key) if store is not None else {}
    assert result.measurements is not None and result.comparisons is not None
    current = result.measurements.filter(pl.col("period") == periods_module.CURRENT)
    evaluated_rules: set[str] = set()
    for entry in workflow.triggers:
        report = StageReport("trigger", entry.id, entry.info.name)
        result.stages.append(report)
        where = _where(entry.common.metric, entry.common.where)
        data = TriggerInput(current.filter(where), result.comparisons.filter(where), result.period)
        try:
            alerts = list(entry.plugin.evaluate(data) or [])
        except Exception as exc:
            report.ok, report.error = False, redactor(_one_line(exc))
            log.debug("trigger %s failed:\n%s", entry.id, redactor(traceback.format_exc()))
            continue
        evaluated_rules.add(entry.id)
        for alert in alerts:
            alert.rule, alert.severity, alert.state = entry.id, entry.common.severity, FIRING
            known = previous.get(alert.fingerprint)
            alert.is_new = known is None or known.state != FIRING
            result.alerts.append(alert)
        report.counts["alerts"] = len(alerts)
    if result.past_period or result.failed_sources:
        return  # an old period, or missing data, says nothing about whether an alert is over
    firing_now = {a.fingerprint for a in result.alerts}
    # Resolved means measured again and fine: a series with no value now is not "better".
    measured = {(row["metric"], _dimension_key(row)) for row in
                current.filter(pl.col("value").is_not_null()).iter_rows(named=True)}
    for state in previous.values():
        if (state.state == FIRING and state.rule in evaluated_rules
                and state.fingerprint not in firing_now
                and (state.metric, _dimension_key(state.dimensions)) in measured):
            result.resolved.append(Alert(state.rule, state.metric, state.dimensions,
                                         f"resolved: {state.summary}", state.severity, None,
                                         state=RESOLVED, is_new=False))


def _dimension_key(row: dict) -> frozenset:
    """A series' dimensions as a comparable set, from a measurement row or an alert."""
    return frozenset(row_dimensions(row).items())


def _where(metric: str, where: dict[str, str | list[str]]) -> "pl.Expr":
    import polars as pl

    condition = pl.col("metric") == metric
    for key, wanted in where.items():
        values = [wanted] if isinstance(wanted, str) else list(wanted)
        condition &= pl.col(key).is_in(values)
    return condition


# -- deliver --------------------------------------------------------------------------------
def _deliver(workflow: "Workflow", result: RunResult) -> None:
    changed = any(a.is_new for a in result.alerts) or bool(result.resolved)
    for entry in workflow.outputs:
        report = StageReport("output", entry.id, entry.info.name)
        when = entry.common.when
        if (when == "alerts" and not result.alerts) or (when == "change" and not changed):
            report.note = f"skipped (when = {when!r})"
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
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__

