"""The run's row in the store's run history, around the stages: the checks and the workflow's run
lock before them, how the run ended after them (or why it crashed).

The runner opens the run with :func:`opened_run`, records a crash before the state was committed
with :func:`crash_recorded` (around the stages until then), and closes the run with :func:`close_run` once it is delivered.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from cmflow.foundation.secrets import redactor
from cmflow.foundation.stopping import RunStopped, StopRequest
from cmflow.stages.failures import one_line
from cmflow.stages.incremental import FetchPlan, remember
from cmflow.stages.run_lock import RUN_LOCK_LEASE, held_run_lock
from cmflow.store import SlotAlreadyHandled

if TYPE_CHECKING:
    from cmflow.foundation.periods import Period
    from cmflow.plugins.result import RunResult
    from cmflow.store import Store
    from cmflow.workflow import Workflow

log = logging.getLogger("cmflow")
RUN_LOCK_TTL = timedelta(hours=6)
"""The longest a run holds its lock (renewed every third of its lease until then): a run hung
for good lets its workflow go after this long."""


class WorkflowKeyConflict(RuntimeError):
    """Another workflow file already keeps its history under this workflow's key."""


def _check_workflow_key(workflow: "Workflow", store: "Store") -> None:
    """Refuse to mix two workflows' history and alerts because they share a name.

    A workflow file that moved is fine: the earlier file no longer exists.
    """
    last = store.runs(workflow.key, limit=1)
    if not last:
        return
    earlier = Path(last[0].workflow_file)
    if earlier.resolve() != workflow.file.resolve() and earlier.exists():
        raise WorkflowKeyConflict(
            f"the store already keeps the history of a workflow {workflow.key!r} from {earlier}; "
            f"give this one its own id in [workflow] (id = \"...\") so their alerts and history stay apart")


@contextmanager
def opened_run(store: "Store | None", workflow: "Workflow", period: "Period", *, dry_run: bool,
               slot: datetime | None, lock_ttl: timedelta, lock_lease: timedelta = RUN_LOCK_LEASE,
               stop: "StopRequest | None" = None) -> Iterator[int | None]:
    """The run's id in the history, under the workflow's run lock (raises
    :class:`~cmflow.store.WorkflowBusy`), for a run that is not one of ``slot`` handled meanwhile;
    None for a run that writes nothing (no store, or a dry run). Raises
    :class:`WorkflowKeyConflict` first if the store keeps another workflow's history under its key.
    The lock is held with a ``lock_lease`` renewed while the run runs, ``lock_ttl`` at most
    (:mod:`cmflow.stages.run_lock`); should it be lost, ``stop`` is set."""
    if store is not None:
        _check_workflow_key(workflow, store)
    if store is None or dry_run:
        yield None
        return
    with held_run_lock(store, workflow.key, lease=lock_lease, longest=lock_ttl, stop=stop or StopRequest()) as hold:
        # Under the lock, no other run of the workflow can finish this slot meanwhile.
        if slot is not None and store.slot_handled(workflow.key, slot):
            raise SlotAlreadyHandled(f"the slot {slot:%Y-%m-%d %H:%M} UTC of {workflow.key!r} was run "
                                     "meanwhile (by a run its killed daemon left behind): not run again")
        # The lock fences the run's writes: once lost, nothing of the run is kept (RunLockLost).
        yield store.start_run(workflow.key, str(workflow.file), period.start, period.end, dry_run, slot=slot,
                              lock=hold)


@contextmanager
def crash_recorded(store: "Store | None", run_id: int | None) -> Iterator[None]:
    """Around the stages until the run's results are committed: an exception (a crash, a stop
    request) is kept in the run's history row by :func:`record_crash`, then goes on. ``store``
    None (a dry run) records nothing."""
    try:
        yield
    except BaseException as exc:
        if store is not None and run_id is not None:
            record_crash(store, run_id, exc)
        raise


def record_crash(store: "Store", run_id: int, exc: BaseException) -> None:
    """Keep why the run stopped in its history row. When the store refuses even that (still
    locked, gone), say so and let the original error go on: the row stays ``running`` until
    the next run marks it interrupted."""
    error = redactor(one_line(exc))
    log.info("run %s stopped: %s; recording it in the run history", run_id, error)
    stopped = isinstance(exc, (RunStopped, KeyboardInterrupt))
    if stopped:
        reason = str(exc) if isinstance(exc, RunStopped) else "stopped by SIGINT"
        error = f"{reason} before its results were kept: nothing was delivered"
    try:
        store.finish_run(run_id, status="interrupted" if stopped else "crashed", stats={}, error=error)
    except Exception as failure:
        log.warning("could not record why run %s stopped: %s", run_id, redactor(one_line(failure)))


NOTED_IN_HISTORY = ("alert_items",)
"""Stages whose problems the run's history keeps beside its failures, though the run is ``ok``:
what its messages left out (the items behind alerts a metric could not list)."""


def close_run(store: "Store", run_id: int, result: "RunResult", plans: list[FetchPlan]) -> None:
    """Record how the run ended; a delivered run also keeps what it fetched, so that it is not
    fetched again (:func:`~cmflow.stages.incremental.remember`)."""
    if result.status in ("ok", "warning"):
        for plan in plans:
            remember(store, plan, result.started_at, run_id)
    failed = [f"{s.kind} {s.id}: {s.error}" for s in result.failed_stages]
    failed += [f"{s.kind} {s.id}: {problem}" for s in result.stages if s.kind in NOTED_IN_HISTORY
               for problem in s.problems]
    failed += result.warnings
    if result.stopped:
        failed.insert(0, f"{result.stopped} while delivering; what was not sent waits in the outbox")
    store.finish_run(run_id, status=result.status, stats=result.stats(), error=redactor("; ".join(failed)) or None)
