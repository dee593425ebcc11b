"""The daemon's executor for runs on Celery workers (``[daemon] executor = "celery"``).

:class:`CeleryExecutor` sends each :class:`~cmflow.daemon.worker.RunRequest` to the broker as the
``cmflow.run`` task (:mod:`cmflow.daemon.celery_app`), at most ``max_parallel_runs`` in flight,
and reads each run's outcome back from the Redis result backend, as the local pool reports it.

When Redis does not answer, nothing is lost and nothing crashes: a run that cannot be sent raises
:class:`~cmflow.daemon.executor.ExecutorUnavailable`, so the daemon keeps its slot queued and tries
again; runs already sent go on on their workers, whose outcomes wait in Redis (workers retry
storing them until Redis is back) or, failing that, are read from the store's run history for
the run's slot. A run whose outcome never comes (its worker died and its message did not come
back in time) is reported ``interrupted``, and its slot is owed again, unless the store says the
run had committed its results before it died: its slot then counts as run, and is not sent again.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Callable

from cmflow.foundation.urls import display_url
from cmflow.daemon.celery_app import TASK_NAME, CeleryOptions, celery_app
from cmflow.daemon.executor import Executor, ExecutorUnavailable
from cmflow.daemon.run_messages import outcome_of, request_message
from cmflow.daemon.worker import RunOutcome, RunRequest
from cmflow.foundation.durations import format_duration
from cmflow.foundation.secrets import redactor

if TYPE_CHECKING:
    from cmflow.store import Store

log = logging.getLogger("cmflow.daemon")

SEND_AGAIN_AFTER = 5.0
"""Seconds the executor waits after Redis refused a run before it offers room again."""
STORE_CHECK_EVERY = 30.0
"""Seconds between looks in the store's run history for a run whose outcome has not come."""
OUTCOME_GRACE = timedelta(minutes=1)
"""Beyond the longest a run may take (see :meth:`CeleryExecutor.gives_up_after`)."""


@dataclass
class _InFlight:
    request: RunRequest
    sent_at: float
    """time.monotonic() when sent."""
    started: bool = False
    store_checked_at: float = field(default=0.0)
    newest_run_before: int | None = None
    """The id of the workflow's newest run row before it was sent (0: none; None: the store could
    not be read): a row up to it belongs to an earlier try. Ids, not clocks: the daemon's and the
    workers' wall clocks may disagree."""


class CeleryExecutor(Executor):
    """Runs on Celery workers, reached through a Redis broker; ``max_parallel`` in flight at once.
    A run sent waits in Redis until a worker takes it: it starts then (:meth:`started`)."""

    starts_on_submit = False

    def __init__(self, options: CeleryOptions, max_parallel: int) -> None:
        self.options = options
        self.max_parallel = max_parallel
        self.app = celery_app(options)
        self.task = self.app.tasks[TASK_NAME]
        self._in_flight: dict[str, _InFlight] = {}
        self._unavailable_until = 0.0
        self._unreachable: str | None = None
        """Why Redis did not answer last, while it does not (logged once per outage)."""
        self._store: "Store | None" = None
        self._started: list[RunRequest] = []
        """Runs seen started (or ended, having started) since :meth:`started` was last called."""

    def free(self) -> int:
        if time.monotonic() < self._unavailable_until:
            return 0
        return self.max_parallel - len(self._in_flight)

    def gives_up_after(self, request: RunRequest) -> timedelta:
        """How long after sending a run its outcome may still come: two tries of its timeout
        (the first on a worker that died) and a visibility timeout between them."""
        return 2 * request.timeout + self.options.visibility_timeout + OUTCOME_GRACE

    def submit(self, request: RunRequest) -> None:
        task_id = request.label
        newest_run_before = self._newest_run(request)  # before the send: a worker may start it at once
        try:
            self.app.backend.forget(task_id)  # an outcome of an earlier try of this slot is stale
            self.task.apply_async(args=[request_message(request)], task_id=task_id, queue=self.options.queue,
                                  time_limit=max(1, round(request.timeout.total_seconds())))
        except Exception as exc:  # the broker refused or did not answer: the daemon keeps the slot
            self._unavailable_until = time.monotonic() + SEND_AGAIN_AFTER
            self._broker_down(exc)
            raise ExecutorUnavailable(f"could not send {task_id} to the broker "
                                      f"{display_url(self.options.broker)}: {_reason(exc)}") from None
        self._broker_back()
        if request.timeout >= self.options.visibility_timeout:
            log.warning("%s may run %s, longer than the broker's visibility timeout (%s): should it run that "
                        "long, Redis hands it to a second worker, which finds the workflow busy; raise "
                        "[daemon] visibility_timeout", request.label, format_duration(request.timeout),
                        format_duration(self.options.visibility_timeout),
                        extra={"workflow": request.workflow_key, "run": request.label})
        now = time.monotonic()
        self._in_flight[task_id] = _InFlight(request, now, store_checked_at=now, newest_run_before=newest_run_before)
        log.debug("sent %s to queue %s", task_id, self.options.queue,
                  extra={"run": task_id, "workflow": request.workflow_key})

    def started(self) -> list[RunRequest]:
        started, self._started = self._started, []
        return started

    def waiting(self) -> int:
        return sum(1 for flight in list(self._in_flight.values()) if not flight.started)

    def poll(self, now: datetime) -> list[RunOutcome]:
        ended = []
        for task_id, flight in list(self._in_flight.items()):
            outcome = self._outcome(task_id, flight)
            if outcome is not None:
                ended.append(outcome)
                del self._in_flight[task_id]
                self._forget(task_id)
        return ended

    def stop(self, deadline: datetime, clock: Callable[[], datetime]) -> list[RunOutcome]:
        """Wait for the runs in flight until ``deadline``; the rest are reported ``interrupted``
        but go on: a worker that has a run finishes it and records it in the store, where the
        daemon finds its slot done at its next start."""
        ended = self.poll(clock())
        while self._in_flight and clock() < deadline:
            time.sleep(0.5)
            ended += self.poll(clock())
        for flight in self._in_flight.values():
            ended.append(RunOutcome(flight.request, "interrupted", error=(
                "the daemon stopped before the run ended; a worker that has it finishes it and records it "
                "in the store")))
        self._in_flight.clear()
        if self._store is not None:
            self._store.close()
            self._store = None
        return ended

    # -- one run's outcome ---------------------------------------------------------------------
    def _outcome(self, task_id: str, flight: _InFlight) -> RunOutcome | None:
        """The run's outcome if it has ended, else None."""
        from celery import states

        try:
            meta = self.app.backend.get_task_meta(task_id, cache=False)
        except Exception as exc:  # Redis down: read the store for runs that ended meanwhile
            self._broker_down(exc)
            return self._from_store(flight)
        self._broker_back()
        status = meta.get("status")
        if status in (states.SUCCESS, states.FAILURE) and not flight.started:
            self._mark_started(flight)  # started and ended between two polls
        if status == states.SUCCESS and isinstance(meta.get("result"), dict):
            return outcome_of(flight.request, meta["result"])
        if status == states.FAILURE:
            failed = self._failed(flight.request, meta.get("result"))
            if failed.status == "interrupted":  # its worker died: after its commit, the slot was run
                return self._committed(flight) or failed
            return failed
        if status == states.STARTED and not flight.started:
            self._mark_started(flight)
            worker = (meta.get("result") or {}).get("hostname") if isinstance(meta.get("result"), dict) else None
            log.debug("%s started on %s", task_id, worker or "a worker",
                      extra={"run": task_id, "workflow": flight.request.workflow_key})
        return self._from_store(flight)

    def _mark_started(self, flight: _InFlight) -> None:
        flight.started = True
        self._started.append(flight.request)

    def _failed(self, request: RunRequest, error: Any) -> RunOutcome:
        name = type(error).__name__
        if name == "TimeLimitExceeded":
            return RunOutcome(request, "timeout", error=f"stopped after its timeout of {format_duration(request.timeout)}")
        if name == "WorkerLostError":
            return RunOutcome(request, "interrupted", error=f"the worker's process running it died: {error}")
        return RunOutcome(request, "crashed", error=redactor(f"{name}: {error}"))

    def _from_store(self, flight: _InFlight) -> RunOutcome | None:
        """Every STORE_CHECK_EVERY, and once the outcome is overdue: the run's slot as the store's
        run history has it (a run that ended while Redis was down, or whose outcome Redis lost);
        overdue with nothing there, the run is reported interrupted."""
        now = time.monotonic()
        overdue = now - flight.sent_at > self.gives_up_after(flight.request).total_seconds()
        # A run under way is looked at every run lock lease too: one whose worker died lets its
        # lock lapse within it, and is reported interrupted then, not after the visibility timeout.
        every = min(STORE_CHECK_EVERY, flight.request.lock_lease.total_seconds()) if flight.started \
            else STORE_CHECK_EVERY
        if not overdue and now - flight.store_checked_at < every:
            return None
        flight.store_checked_at = now
        try:
            recorded = self._recorded(flight)
        except Exception as exc:
            log.warning("could not read the run history of %s: %s", flight.request.label,
                        redactor(f"{type(exc).__name__}: {exc}"), extra={"run": flight.request.label})
            recorded = None
        if recorded is not None and not flight.started:
            self._mark_started(flight)
        if recorded is not None or not overdue:
            return recorded
        return RunOutcome(flight.request, "interrupted", error=(
            f"no outcome from the workers within {format_duration(self.gives_up_after(flight.request))}: the "
            "worker that had it died and it was not delivered again in time, or no worker is running"))

    def _newest_run(self, request: RunRequest) -> int | None:
        """The id of the newest run row of the request's workflow, 0 when it has none, None when
        the store cannot be read (the run's row is then not told from an earlier try's)."""
        from cmflow.store import open_store

        try:
            if self._store is None:
                self._store = open_store(request.store_url)
            newest = self._store.runs(request.workflow_key, limit=1)
        except Exception as exc:
            log.warning("could not read the run history of %s: %s", request.label,
                        redactor(f"{type(exc).__name__}: {exc}"), extra={"run": request.label})
            return None
        return newest[0].id if newest else 0

    def _recorded(self, flight: _InFlight) -> RunOutcome | None:
        """How the run of the flight's slot ended, from the store, once it has ended (its row
        finished and its lock released); ``interrupted`` when this try's run is still marked
        running but its lock has lapsed for a lease: its process (its worker, its machine) died,
        since a live run renews its lock every third of its lease, and a commit of its own that
        outlasts the lease extends it as it commits (it is given that long)."""
        from cmflow.store import FINISHED_STATUSES, open_store, this_host

        request = flight.request
        if self._store is None:
            self._store = open_store(request.store_url)
        if self._store.run_lock_held(request.workflow_key, this_host(), grace=request.lock_lease):
            return None
        for run, this_try in self._slot_runs(flight):
            if run.status in FINISHED_STATUSES:
                counts = (run.stats or {}).get("records") or {}
                records = sum(counts.values()) if isinstance(counts, dict) else 0
                return RunOutcome(request, run.status, run.id, records, run.error)
            if run.committed_at is not None and this_try and (run.status == "interrupted" or flight.started):
                return _ended_after_commit(request, run)
            if run.status == "running" and flight.started and this_try:
                return RunOutcome(request, "interrupted", run.id, error=(
                    f"its run stopped renewing its lock (lease {format_duration(request.lock_lease)}): the worker "
                    "running it died or lost the store; its slot is tried again"))
        return None

    def _committed(self, flight: _InFlight) -> RunOutcome | None:
        """The outcome of this try's run if its process died after its results were committed (the
        store says so): its slot counts as run. None otherwise, or when the store cannot be read."""
        from cmflow.store import open_store

        request = flight.request
        try:
            if self._store is None:
                self._store = open_store(request.store_url)
            history = self._slot_runs(flight)
        except Exception as exc:
            log.warning("could not read the run history of %s: %s", request.label,
                        redactor(f"{type(exc).__name__}: {exc}"), extra={"run": request.label})
            return None
        for run, this_try in history:
            if this_try and run.committed_at is not None and run.status in ("running", "interrupted"):
                return _ended_after_commit(request, run)
        return None

    def _slot_runs(self, flight: _InFlight) -> list[tuple[Any, bool]]:
        """The recent runs of the flight's slot, newest first, each with whether this try
        started it (it is newer than the newest run before the try was sent)."""
        assert self._store is not None
        request, before = flight.request, flight.newest_run_before
        return [(run, before is not None and run.id > before)
                for run in self._store.runs(request.workflow_key, limit=20) if run.slot == request.slot]

    def _forget(self, task_id: str) -> None:
        try:
            self.app.backend.forget(task_id)
        except Exception:  # kept a day at most; the next try of this slot forgets it first
            pass

    # -- Redis outages -------------------------------------------------------------------------
    def _broker_down(self, exc: BaseException) -> None:
        if self._unreachable is None:
            self._unreachable = _reason(exc)
            log.error("Redis at %s does not answer (%s): runs wait in the daemon's queue; runs on workers go on",
                      display_url(self.options.broker), self._unreachable, extra={"event": "broker"})

    def _broker_back(self) -> None:
        if self._unreachable is not None:
            self._unreachable = None
            log.warning("Redis at %s answers again: runs are sent to the workers",
                        display_url(self.options.broker), extra={"event": "broker"})


def _reason(exc: BaseException) -> str:
    return redactor(str(exc) or type(exc).__name__)


def _ended_after_commit(request: RunRequest, run: Any) -> RunOutcome:
    """A run whose worker died after it committed its results: its slot counts as run."""
    from cmflow.store import SLOT_COUNTS_AS_RUN

    return RunOutcome(request, "interrupted", run.id, committed=True,
                      error=f"the worker running it died after its results were kept: {SLOT_COUNTS_AS_RUN}")
