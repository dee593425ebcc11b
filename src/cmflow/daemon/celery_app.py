"""cmflow's Celery app: the task set ``cmflow worker`` runs and the daemon's celery executor sends to.

One task, ``cmflow.run``: it runs one :class:`~cmflow.daemon.worker.RunRequest` (carried as JSON,
:mod:`cmflow.daemon.run_messages`) with :func:`~cmflow.daemon.worker.execute`, in a process of
the worker's pool, and returns the :class:`~cmflow.daemon.worker.RunOutcome` as JSON. Its
message is acknowledged late, once the run has ended: a worker killed mid-run leaves it
unacknowledged, and Redis hands it to another worker once its visibility timeout has passed. The
run lock and the slot check in the store make that second delivery run the slot only if the first
did not finish it (``done`` otherwise). A pool process that dies alone (the run killed itself, e.g.
out of memory) is another matter: the worker records the run ``interrupted`` and acknowledges its
message, and the daemon hears ``interrupted`` at once and tries the slot again as it does with the
local executor (after ``busy_retry``, a few times at most), rather than the message coming straight
back to kill the next pool process, for hours. Its task
id is the run's label (``workflow@slot``). A run past its timeout is killed by the worker (a hard
time limit) and recorded ``timeout`` in the store, as the local pool does.

A pool process serves several runs, as a local run process does, with the same reset between
them (:class:`~cmflow.daemon.worker.ProcessBaseline`, :func:`~cmflow.daemon.worker.after_run`)
and the same rule for its replacement: Celery replaces it after ``runs_per_process`` runs (its
own ``worker_max_tasks_per_child``); after a run that leaves it unfit (above its memory limit, a
thread left running, a run ``crashed`` or ``interrupted``) it leaves by itself once the run's
outcome is stored (:class:`RunTask`), and Celery starts a fresh one.

Everything cmflow keeps in Redis (the queue, messages not yet acknowledged, results) is under
the prefix ``cmflow:queue:QUEUE:`` (apart from the shared budgets' ``cmflow:budget:``, whatever the
queue is called), so that daemons with queues of their own share one Redis server
without seeing each other's runs. Only JSON crosses the broker, never pickle.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from celery import Celery, Task, states
from celery.exceptions import TimeLimitExceeded, WorkerLostError
from celery.worker.request import Request

from cmflow.daemon.settings import MAX_MEMORY_PER_PROCESS_MB, RUNS_PER_PROCESS
from cmflow.daemon.worker import ProcessBaseline, RunOutcome, after_run, execute, own_deadline
from cmflow.foundation.durations import format_duration
from cmflow.foundation.secrets import redactor

log = logging.getLogger("cmflow.worker")

TASK_NAME = "cmflow.run"
DEFAULT_QUEUE = "cmflow"
DEFAULT_VISIBILITY_TIMEOUT = timedelta(hours=2)
RESULTS_KEPT = timedelta(days=1)
"""How long Redis keeps a run's outcome for the daemon to collect (it deletes it when it does)."""
RESTORE_EVERY = 5
"""Seconds between a worker's looks for messages whose visibility timeout passed (a dead
worker's runs), to be delivered again."""
REDIS_SECONDS = 5
"""Seconds a connection to Redis may take to open before it counts as unreachable."""
DEAD_CHILD_WAIT = 5.0
"""Seconds a worker waits for the pool process it killed to die before it records its run."""


@dataclass(frozen=True)
class CeleryOptions:
    """What the daemon and its workers must agree on: the broker, the queue and the
    visibility timeout; and, for a worker, the store it records runs in and its log format."""

    broker: str
    queue: str = DEFAULT_QUEUE
    visibility_timeout: timedelta = DEFAULT_VISIBILITY_TIMEOUT
    store: str | None = None
    """A worker's own store (None: the one each message names)."""
    log_format: str = "text"
    runs_per_process: int = RUNS_PER_PROCESS
    """A worker's pool process serves this many runs, then Celery replaces it
    (``worker_max_tasks_per_child``), as ``[daemon] runs_per_process`` does for local runs."""
    max_memory_mb: float | None = MAX_MEMORY_PER_PROCESS_MB
    """A pool process resident above this after a run leaves before the next (None: no limit)."""


def key_prefix(queue: str) -> str:
    """The prefix of every key cmflow keeps in Redis for ``queue``."""
    return f"cmflow:queue:{queue}:"


def celery_app(options: CeleryOptions, *, worker: bool = False) -> Celery:
    """A Celery app with cmflow's task set. A ``worker`` app waits out a Redis outage to store
    an outcome; the daemon's never blocks on Redis (its loop must go on)."""
    app = Celery("cmflow", broker=options.broker, backend=options.broker, set_as_current=False)
    prefix = key_prefix(options.queue)
    app.conf.update(
        task_serializer="json", result_serializer="json", accept_content=["json"],
        result_accept_content=["json"],
        task_acks_late=True, task_reject_on_worker_lost=False, task_acks_on_failure_or_timeout=True,
        task_track_started=True,  # the daemon sees a run start on a worker
        worker_prefetch_multiplier=1,  # a worker holds no more runs than it runs
        task_default_queue=options.queue,
        result_expires=RESULTS_KEPT,
        broker_connection_timeout=REDIS_SECONDS,
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,  # a worker waits out a Redis outage however long
        broker_transport_options={
            "visibility_timeout": int(options.visibility_timeout.total_seconds()),
            "global_keyprefix": prefix,
            "unacked_restore_interval": RESTORE_EVERY, "unacked_restore_throttle": 1,
            "socket_connect_timeout": REDIS_SECONDS,
        },
        task_publish_retry_policy={"max_retries": 2, "interval_start": 0, "interval_step": 0.5,
                                   "interval_max": 1},
        result_backend_transport_options={"global_keyprefix": prefix},
        redis_socket_connect_timeout=REDIS_SECONDS,
        redis_socket_timeout=REDIS_SECONDS * 2,  # a Redis that hangs must not hold the daemon's loop long
        result_backend_always_retry=worker,
        result_backend_max_sleep_between_retries_ms=5000,
        worker_hijack_root_logger=False,
        worker_cancel_long_running_tasks_on_connection_loss=False,
        # Celery's own count of runs per pool process, the same rule as a local run process's.
        # Not worker_max_memory_per_child: it reads the process's peak resident memory
        # (ru_maxrss), where a local run process is judged by what it holds after the run;
        # after_run applies that rule, the same code for both.
        worker_max_tasks_per_child=options.runs_per_process,
    )
    app.cmflow_options = options  # type: ignore[attr-defined]

    @app.task(name=TASK_NAME, bind=True, base=RunTask, Request=RunTaskRequest, acks_late=True,
              reject_on_worker_lost=False, shared=False)  # this app's own: another app (a test's) keeps its own options
    def run(task, message: dict[str, Any]) -> dict[str, Any]:
        """Run one slot of one workflow (a RunRequest as JSON); answer its RunOutcome as JSON."""
        return run_message(message, task.app.cmflow_options)

    return app


def run_message(message: dict[str, Any], options: CeleryOptions) -> dict[str, Any]:
    """The task's body, in a process of the worker's pool: never raises. In a worker's pool
    process, what the run changed in it is put back after it (:class:`PoolProcess`)."""
    from cmflow.daemon.logs import configure_logging
    from cmflow.daemon.run_messages import WrongStore, outcome_message, request_of

    pool_process = PoolProcess.this_one()  # before the first run changes anything
    try:
        request = request_of(message, options.store)
    except (WrongStore, KeyError, ValueError) as exc:
        log.error("refused a run: %s", exc)
        return {"status": "crashed", "run_id": None, "records": 0, "error": redactor(str(exc))}
    configure_logging(options.log_format, request.log_level, run=request.label)
    from cmflow.metrics.worker import worker_metrics  # counts nothing unless the worker serves metrics

    with own_deadline(request):  # should the worker that would stop it at its time limit be gone
        outcome = worker_metrics().measure(lambda: execute(request))
    if pool_process is not None:
        pool_process.after(outcome, options.max_memory_mb)
    return outcome_message(outcome)


class PoolProcess:
    """A pool process of a ``cmflow worker`` between the runs it serves: what it looked like
    before its first run, put back after each, and why it must leave, if it must."""

    _started_in: int | None = None
    """The pid of this pool process once Celery's ``worker_process_init`` said it started."""
    _current: "PoolProcess | None" = None

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.baseline = ProcessBaseline()
        self.leaving: str | None = None

    @staticmethod
    def started(**_: object) -> None:
        """A receiver of ``worker_process_init`` (connected by :func:`~cmflow.daemon.celery_worker.start_worker`)."""
        PoolProcess._started_in = os.getpid()

    @classmethod
    def this_one(cls) -> "PoolProcess | None":
        """This pool process (its baseline taken before its first run: by then billiard has set
        its signal handling), or None outside a worker's pool (a test calling the task)."""
        if cls._started_in != os.getpid():
            return None
        if cls._current is None or cls._current.pid != os.getpid():
            cls._current = PoolProcess()
        return cls._current

    def after(self, outcome: RunOutcome, max_memory_mb: float | None) -> None:
        """Put back what the run changed; note why the process must leave (:class:`RunTask`)."""
        self.leaving = after_run(outcome, self.baseline, max_memory_mb)
        if self.leaving:
            label = outcome.request.label
            log.info("%s: its pool process %d leaves after it (%s)", label, self.pid, self.leaving,
                     extra={"run": label})


LEAVING = "cmflow: the pool process leaves after its run"
"""The code of the SystemExit by which a pool process leaves after a run whose outcome is stored
(:class:`RunTask`); its request (:class:`RunTaskRequest`) counts the run succeeded."""


class RunTask(Task):
    """The class of ``cmflow.run``. After a run that left its pool process unfit for another
    (:func:`~cmflow.daemon.worker.after_run`), the process leaves once the run's outcome is stored:
    Celery's ``after_return`` comes after it, and a pool process that exits there is one Celery
    knows (its request finds the outcome stored, acknowledges the message and starts a fresh
    process); the run's outcome reaches the daemon as any other."""

    def after_return(self, status, retval, task_id, args, kwargs, einfo) -> None:
        pool_process = PoolProcess.this_one()
        if pool_process is not None and pool_process.leaving:
            # An outcome not stored (never, as run_message never raises) is left to Celery's
            # handling of a lost pool process.
            raise SystemExit(LEAVING if status == states.SUCCESS else 1)


class RunTaskRequest(Request):
    """A run's task as the worker's main process sees it: when a run reaches its time limit, or
    its pool process dies, the run could not record how it ended; this records it in the store
    (and drops its lock) before the outcome goes back, so that the daemon never finds the slot's
    row still ``running`` and owes the slot again. It also counts such a run in the worker's
    metrics: the pool process that would have counted it is dead."""

    def on_timeout(self, soft: bool, timeout: float) -> None:
        if not soft:
            self._stopped_at_time_limit(timeout)
        super().on_timeout(soft, timeout)

    def on_failure(self, exc_info, send_failed_event: bool = True, return_ok: bool = False) -> None:
        pid = self.worker_pid
        lost = getattr(exc_info.exception, "exc", exc_info.exception)  # billiard wraps it with its traceback
        if isinstance(lost, SystemExit) and lost.code == LEAVING:
            # The run ended and its outcome is stored; then its process left (RunTask): the run
            # succeeded, as a task, and Celery starts a fresh process.
            return self.on_success((False, None, None))
        if isinstance(lost, TimeLimitExceeded):
            # billiard reports a hard time limit as this failure (which tells the daemon) before it
            # calls on_timeout: the run is recorded first, or the daemon could find its row still
            # running and send the slot again.
            self._stopped_at_time_limit(lost.args[0] if lost.args else None)
        elif isinstance(lost, WorkerLostError) and pid is not None:
            _end_run(self, pid, "interrupted", f"the worker's process running it died ({lost})")
            _count(self, "interrupted")
        super().on_failure(exc_info, send_failed_event=send_failed_event, return_ok=return_ok)

    def _stopped_at_time_limit(self, timeout: float | None) -> None:
        """Kill the run's pool process and record the run ``timeout`` (once)."""
        pid = self.worker_pid
        if pid is None or getattr(self, "_timeout_recorded", False):
            return
        self._timeout_recorded = True
        limit = timeout if isinstance(timeout, (int, float)) else self.time_limits[0]
        _kill(pid)  # the pool would, right after this; first, so that the run writes no more
        _end_run(self, pid, "timeout", f"stopped after its timeout of {format_duration(timedelta(seconds=limit))}")
        _count(self, "timeout")


def _count(task_request: Request, status: str) -> None:
    """Count a run its dead pool process could not count, from the worker's main process."""
    from cmflow.metrics.worker import worker_metrics

    started = task_request.time_start  # time.time() when the pool process accepted it
    worker_metrics().count(status, time.time() - started if started else None)


def _kill(pid: int) -> None:
    """SIGKILL a pool process and wait (a moment) until it has died."""
    import os

    from cmflow.foundation.processes import process_alive

    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + DEAD_CHILD_WAIT
    while process_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.02)


def _end_run(task_request: Request, pid: int, status: str, error: str) -> None:
    """Mark the run the dead pool process ``pid`` left open (if any) ``status`` in the store and
    drop its lock; a store that refuses is logged (the next run of the workflow ends the row)."""
    from cmflow.daemon.run_messages import store_of
    from cmflow.store import open_store, this_host

    try:
        options = task_request.task.app.cmflow_options
        with open_store(store_of(task_request.args[0], options.store)) as store:
            ended = store.end_dead_runs(this_host(), pid=pid, status=status, error=error)
    except Exception as exc:
        log.warning("could not record how %s ended (%s): %s", task_request.id, status,
                    redactor(f"{type(exc).__name__}: {exc}"), extra={"run": task_request.id})
        return
    for dead in ended:
        after = ("its results were kept before: its slot counts as run" if dead.committed
                 else "the daemon tries its slot again" if status == "interrupted" else "")
        log.warning("%s: %s; recorded %s%s", task_request.id, error, status, f"; {after}" if after else "",
                    extra={"workflow": dead.workflow, "run": task_request.id, "status": status})
