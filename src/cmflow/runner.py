"""One run of a workflow: the stages in order (future_period -> fetch -> ... -> record -> deliver:
docs/architecture.md lists them with what each takes and returns).

Each stage (a module of :mod:`cmflow.stages`) takes what it needs and returns what it made; the
runner orders them, times them (debug log) and keeps the outcome in the run history. A failing
source leaves its records out (and the run failed), a failing output does not stop the others.
State and queued messages are recorded in one transaction before anything is delivered.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Callable, TypeVar

from cmflow.foundation.log_redaction import RedactingFilter
from cmflow.foundation.stopping import StopRequest
from cmflow.plugins.result import RunResult
from cmflow.stages import (alert_items, changed_scopes, classify, clients, compare, compose, deliver, evaluate,
                           failed_sources, fetch, filter_rows, future_period, lost_inputs, measure, missing_days,
                           objectives, record, source_gaps, uncovered_periods, watch, where_misses)
from cmflow.stages.run_history import RUN_LOCK_TTL, close_run, crash_recorded, opened_run
from cmflow.stages.run_lock import RUN_LOCK_LEASE
from cmflow.stages.run_periods import judged_at, past_period, resolve_period, run_periods

if TYPE_CHECKING:
    from cmflow.foundation.periods import Period
    from cmflow.store import Store
    from cmflow.workflow import Workflow

log = logging.getLogger("cmflow")
log.addFilter(RedactingFilter())  # the CLI also redacts at its handlers, for child loggers
T = TypeVar("T")


def run_workflow(workflow: "Workflow", *, store: Store | None, period: "Period | None" = None, dry_run: bool = False,
                 now: datetime | None = None, sleep: "Callable[[float], None] | None" = None,
                 slot: datetime | None = None, lock_ttl: timedelta = RUN_LOCK_TTL,
                 lock_lease: timedelta = RUN_LOCK_LEASE, stop: StopRequest | None = None,
                 as_of: date | None = None, resend: "dict[str, frozenset[str] | None] | None" = None) -> RunResult:
    """Run a validated workflow once and return its result.

    With ``dry_run`` it fetches and computes, reads history, but delivers only to outputs with
    no external effect (the console) and writes nothing to the store. ``now`` fixes the run's
    clock (tests); ``sleep`` is how the outbox waits between quick retries. A daemon passes the
    schedule ``slot`` the run belongs to (recorded with it) and a ``lock_ttl`` a little longer
    than the run's timeout: the run lock is held that long at most, renewed every third of
    ``lock_lease`` while the run runs (a run that loses it stops as if asked to). A ``stop``
    request (SIGTERM) set before the results are committed raises
    :class:`~cmflow.foundation.stopping.RunStopped`; set later, the messages being sent are finished,
    no other is started, and the run ends ``interrupted``. ``as_of`` is the day the run counts as
    today (``cmflow run --as-of``, else the workflow's ``as_of``): the metrics judge at the end of it
    (:func:`judged_at`), so a back-fill does not know the replies made after it. ``resend``
    names outputs whose once-a-period messages this run sends again (:attr:`RunResult.resend`).
    """
    period = period or resolve_period(workflow, now=now)
    comparison_periods, all_periods = run_periods(workflow, period)
    started, as_of_day, stop = now or datetime.now(timezone.utc), as_of or workflow.settings.as_of, stop or StopRequest()
    result = RunResult(workflow, period, comparison_periods, started, dry_run, all_periods=all_periods,
                       past_period=past_period(workflow, period, store, as_of_day, started), resend=dict(resend or {}))
    with opened_run(store, workflow, period, dry_run=dry_run, slot=slot, lock_ttl=lock_ttl, lock_lease=lock_lease,
                    stop=stop) as run_id:
        result.run_id = run_id
        return _run(result, store, now, sleep, stop, judged_at(workflow.settings.timezone, as_of_day, started), as_of_day)


def _run(result: RunResult, store: Store | None, now: datetime | None, sleep: "Callable[[float], None] | None",
         stop: StopRequest, as_of: datetime, as_of_day: date | None) -> RunResult:
    """The stages in order, each handed what the ones before made."""
    workflow, periods, run_id = result.workflow, result.all_periods, result.run_id
    history = store if run_id is not None else None  # None: the run writes nothing
    with crash_recorded(history, run_id):
        ahead = _timed(future_period.future_period, workflow, result.period, as_of_day, result.started_at)
        fetched = _timed(fetch.fetch, workflow, periods, store, result.started_at, as_of_day)
        fetched = _timed(lost_inputs.lost_inputs, workflow, store, fetched)
        read = fetched.records  # as the sources returned them: what a where's values are checked against
        fetched = _timed(filter_rows.filter_rows, workflow, fetched)
        fetched = _timed(clients.clients, workflow, fetched)
        fetched = _timed(missing_days.missing_days, workflow, periods, fetched)
        watched = _timed(watch.watch, workflow, fetched)
        fetched = watched.fetched_and_watched
        classified = _timed(classify.classify, workflow, fetched)
        records = classified.records
        stop.check()
        requests = measure.MetricRequest.of(workflow)
        measured = _timed(measure.measure, requests, records, periods, as_of=as_of, production=workflow.production)
        measured = replace(measured, measurements=_timed(source_gaps.source_gaps, workflow, requests, records, periods,
                                                         measured.measurements, fetched.reports, as_of=as_of,
                                                         production=workflow.production))
        measured = _timed(uncovered_periods.uncovered_periods, workflow, requests, records, periods, measured)
        measured = _timed(failed_sources.failed_sources, workflow, records, fetched.reports, measured)
        measurements = measured.measurements
        comparisons = _timed(compare.compare, workflow, store, measurements, result.comparison_periods)
        scoped = _timed(changed_scopes.changed_scopes, workflow, store, comparisons)
        reported = [*ahead, *fetched.reports, *watched.reports, *classified.reports, *measured.reports]
        judged = _timed(objectives.objectives, workflow, measurements, comparisons, reported)
        evaluated = _timed(evaluate.evaluate, workflow, store, measurements, comparisons, all_periods=periods,
                           upstream=reported, now=result.started_at, past_period=result.past_period)
        listed = _timed(alert_items.alert_items, workflow, records, evaluated.notifications, periods,
                        as_of=as_of, dry_run=result.dry_run)
        missed = _timed(where_misses.where_misses, workflow, store, read, records, measurements)
        upstream = [*reported, *evaluated.reports, *listed.reports, *scoped, *missed]
        result = replace(result, records=records, measurements=measurements, comparisons=comparisons,
                         unshared_counters=measured.unshared_counters, alerts=evaluated.alerts,
                         pending=evaluated.pending, resolved=evaluated.resolved, notifications=evaluated.notifications,
                         alert_items=listed.items, verdicts=evaluated.verdicts, objectives=judged,
                         alert_changes=evaluated.alert_changes, stages=upstream)
        composed = _timed(compose.compose, workflow, result)
        result.stages, result.resent = [*upstream, *composed.reports], composed.resent  # outputs see what was queued
        stop.check()  # past this point the run's results are kept, and its messages queued
        if history is not None:
            _timed(record.record, history, run_id, result, composed)
    outputs = _timed(deliver.deliver, workflow, result, composed.reports, history, now=now, sleep=sleep, stop=stop)
    result.stages = [*upstream, *outputs]
    result.stopped = stop.reason if stop.is_set() else None
    result.finished_at = datetime.now(timezone.utc)
    if history is not None:
        close_run(history, run_id, result, fetched.plans)
    return result


def _timed(run: Callable[..., T], *args, **kwargs) -> T:
    """One stage's entry point (the stage is named after its module); how long it took goes to the debug log."""
    started = time.perf_counter()
    try:
        return run(*args, **kwargs)
    finally:
        log.debug("stage %s: %.3f s", run.__module__.rpartition(".")[2], time.perf_counter() - started)
