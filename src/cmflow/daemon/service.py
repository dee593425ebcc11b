"""The daemon: every workflow of a folder on its schedule, for months, on a server.

One loop, in one thread, does the deciding (:meth:`Daemon.tick`): it picks up edited files,
hears which runs ended, asks each due workflow's job what it owes (catch-up from the store's
last handled slot), starts runs up to the concurrency limit through the executor, and assesses
health. Runs happen elsewhere (the executor: a process per run by default); the outbox is sent
from a thread of its own so that a slow receiver never delays a slot. Everything the daemon
needs to resume after a crash is in the store: slots run or missed, run locks, the outbox.
Several daemons may share a store: only the one holding its scheduling lease plans, starts runs,
assesses health and sends the outbox; the others stand by (:mod:`.leadership`).
"""

from __future__ import annotations

import heapq
import logging
import os
import signal
import threading
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Callable
from zoneinfo import ZoneInfo

from cmflow.foundation.durations import format_duration
from cmflow.foundation.schedules import ON_TIME, catch_up
from cmflow.foundation.secrets import redactor
from cmflow.store import SLOT_COUNTS_AS_RUN, DaemonRecord, LeaseHolder, StoreError, open_store, this_host
from cmflow.daemon.catalog import ScheduledWorkflow, WorkflowCatalog, file_signature
from cmflow.daemon.executor import Executor, ExecutorUnavailable
from cmflow.daemon.executors import executor_for
from cmflow.daemon.health import WorkflowHealth, advance_health, assess_in_store
from cmflow.daemon.jobs import Clock, SlotJob, SlotScheduler, system_clock
from cmflow.daemon.leadership import Leadership, elapsed_seconds
from cmflow.daemon.observer import DaemonObserver, QuietObserver
from cmflow.daemon.settings import DaemonSettings
from cmflow.daemon.worker import RunOutcome, RunRequest

if TYPE_CHECKING:
    from cmflow.store import DeadRun, Store

log = logging.getLogger("cmflow.daemon")

HEARTBEAT_EVERY = timedelta(seconds=30)
OUTBOX_EVERY = timedelta(seconds=30)
UNRECORDED_ATTEMPTS = 3
"""Tries of a slot whose run could not even be recorded (store down, file now invalid) before
the slot is given up and recorded as missed."""
ASSESS_ENDED_EVERY = timedelta(seconds=10)
"""Workflows whose runs ended are assessed together, at most this often (not run by run)."""
WORKFLOWS_BETWEEN_LOOKS = 16
"""Workflows assessed (or planned) before the loop looks for ended runs to replace."""
TROUBLE_BACKOFF = 5.0
"""Seconds before the loop tries again after one of its steps failed."""
LONGEST_WAIT = 60.0
"""Seconds the loop sleeps at most, even with nothing due: a clock jump is noticed within it."""


@dataclass
class _Attempts:
    slot: datetime
    count: int = 0


@dataclass
class Daemon:
    """Runs the workflows of ``directory`` on their schedules (see ``docs/daemon.md``)."""

    directory: Path
    settings: DaemonSettings
    store_url: str
    executor: Executor | None = None
    clock: Clock = system_clock
    log_level: int = logging.INFO
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    elapsed: Callable[[], float] = elapsed_seconds
    """Where the scheduling lease's time is measured (a clock that never jumps); tests pass one
    that only moves when told to."""
    observer: DaemonObserver = field(default_factory=QuietObserver)
    """Told of runs started and ended (the operator metrics, :mod:`cmflow.metrics`)."""

    def __post_init__(self) -> None:
        self.directory = Path(self.directory).resolve()
        self.options = self.settings.daemon
        self.store_identity: str | None = None
        if self.options.shared_budgets:  # before the first run: runs (and their fork server) inherit it
            from cmflow.http.shared_budget import SHARED_BUDGETS_VARIABLE

            os.environ[SHARED_BUDGETS_VARIABLE] = self.options.shared_budgets
        self.executor = self.executor or executor_for(self.options)
        self.catalog = WorkflowCatalog.for_daemon(self.directory, self.store_url, self.options)
        self.scheduler = SlotScheduler(self.clock)
        self.queue = SlotQueue()
        """Slots waiting for the executor: the oldest slot starts first."""
        self.running: dict[str, RunRequest] = {}
        self.health: dict[str, WorkflowHealth] = {}
        self.store: "Store | None" = None
        self.host = this_host()
        self._attempts: dict[str, _Attempts] = {}
        self._assess: set[str] = set()
        self._stopping = threading.Event()
        self._reload_requested = threading.Event()
        self._wake_reader, self._wake_writer = os.pipe()
        os.set_blocking(self._wake_reader, False)
        os.set_blocking(self._wake_writer, False)
        self._next: dict[str, datetime] = {}
        self._settings_signature: tuple | None = None
        self._announced: set[str] = set()
        self._queued: set[str] = set()
        self._retries: dict[str, tuple[datetime, datetime]] = {}
        """Per workflow: a slot to run again (refused as busy, or its run not recorded), and when."""
        self._pump: OutboxPump | None = None
        self._unrecorded: list[RunOutcome] = []
        """Runs that ended without recording it, whose end the store refused to record so far."""
        self._ended_after_commit: dict[int, DeadRun] = {}
        """Runs of killed processes (by pid) that the store says had committed their results."""
        self._watched_since: dict[str, datetime] = {}
        """When this daemon first saw each workflow: a workflow never run owes its slots from then."""
        self._backlog_pass = False
        """Whether the next pass plans workflows just (re)loaded, whose owed slots are not known yet."""
        self.leadership: Leadership | None = None
        """Whether this daemon schedules, or stands by while another does (see :mod:`.leadership`)."""
        self._edits_seen_standing_by: dict[str, datetime] = {}
        """Workflows whose schedule changed while this daemon stood by, and when it saw the change
        last: taking over, it records what the scheduler (which may not have seen it) would have."""

    @property
    def is_leader(self) -> bool:
        """Whether this daemon schedules now (holds the store's scheduling lease)."""
        return self.leadership is not None and self.leadership.holds()

    @property
    def scheduling(self) -> bool:
        """Whether this daemon schedules runs (the operator metrics' ``cmflow_daemon_scheduling``)."""
        return self.is_leader

    # -- life cycle ----------------------------------------------------------------------
    def start(self) -> None:
        """Open the store, close runs a crash left open, register, load the folder."""
        now = self.clock()
        self.store = open_store(self.store_url)
        self.store_identity = self.store.identity()  # a worker elsewhere compares its store's with it
        self._close_dead_runs()
        self.store.register_daemon(DaemonRecord(self.id, self.host, os.getpid(), str(self.directory), now, now))
        self.leadership = Leadership(self.store, LeaseHolder(self.id, self.host, os.getpid()), self.options.lease,
                                     self.elapsed)
        self.reload()
        self._guarded("taking the scheduling lease", self._follow_leadership)
        self.observer.watching(self)
        log.info("daemon started on %s: %d workflow(s), %d scheduled, at most %d run(s) at once%s",
                 self.directory, len(self.catalog.by_file),
                 sum(1 for s in self.catalog.workflows if s.timetable), self.options.max_parallel_runs,
                 " (on Celery workers)" if self.options.executor == "celery" else "",
                 extra={"event": "daemon_started"})

    def run_forever(self, install_signals: bool = True) -> None:
        """Start, loop until SIGTERM/SIGINT (:meth:`request_stop`), then shut down gracefully."""
        if install_signals:
            self._install_signals()
        self.start()
        self.leadership.keep_in_background(self._wake)
        self._pump = OutboxPump(self.store_url, self.clock, self.options.stop_timeout, lambda: self.is_leader)
        self._pump.start()
        try:
            while not self._stopping.is_set():
                self._wait(self.tick())
        finally:
            self.shutdown()

    def request_stop(self) -> None:
        """Stop taking runs; :meth:`run_forever` then shuts down."""
        self._stopping.set()
        self._wake()

    def request_reload(self) -> None:
        """Read the folder again at the next tick (SIGHUP)."""
        self._reload_requested.set()
        self._wake()

    def shutdown(self) -> None:
        """Let runs under way finish until ``stop_timeout``, stop the rest, send the outbox,
        mark the daemon stopped. Locks of stopped runs are released with them."""
        assert self.store is not None
        deadline = self.clock() + self.options.stop_timeout
        self._guarded("handing scheduling over", self._hand_over)
        if self.running:
            log.info("stopping: waiting up to %s for %d run(s) under way", format_duration(self.options.stop_timeout),
                     len(self.running), extra={"event": "stopping"})
        while self.running and self.clock() < deadline:  # still alive for `cmflow status` meanwhile
            now = self.clock()
            self._guarded("collecting ended runs", self._collect, now, False)
            if self._due("heartbeat", now, HEARTBEAT_EVERY):
                self._guarded("writing the heartbeat", self.store.daemon_heartbeat, self.id, now)
            if self.running:
                self._wait(min(1.0, max(0.0, (deadline - self.clock()).total_seconds())))
        for outcome in self.executor.stop(deadline, self.clock):
            self._ended(outcome, reschedule=False)
        if self._pump is not None:
            self._pump.stop()  # a last pass over the outbox first
        self._guarded("recording how runs ended", self._record_unrecorded)
        self._guarded("recording the stop", lambda: self.store.daemon_heartbeat(self.id, self.clock(), stopped=True))
        self.store.close()
        os.close(self._wake_reader)
        os.close(self._wake_writer)
        self.observer.stopped()
        log.info("daemon stopped", extra={"event": "daemon_stopped"})

    # -- one pass ------------------------------------------------------------------------
    def tick(self) -> float:
        """Do what is due now; return how many seconds the loop may sleep."""
        assert self.store is not None
        now = self.clock()
        troubled = False
        # One phase failing (the store locked past its busy timeout, a full process table) is
        # logged and tried again shortly; it never stops the daemon or the other phases.
        if self._reload_requested.is_set() or self._due("reload", now, self.options.reload_every):
            self._reload_requested.clear()
            troubled |= not self._guarded("reloading the folder", self.reload)
        troubled |= not self._guarded("keeping the scheduling lease", self._follow_leadership)
        troubled |= not self._guarded("collecting ended runs", self._collect, now)
        if self._unrecorded:
            troubled |= not self._guarded("recording how runs ended", self._record_unrecorded)
        leading = self.is_leader  # standing by, the files are watched, nothing is planned or started
        if leading:
            troubled |= self._schedule(now)
        if self._due("heartbeat", now, HEARTBEAT_EVERY):
            troubled |= not self._guarded("writing the heartbeat", self.store.daemon_heartbeat, self.id, now)
        # The assessment of ended runs is due only while some wait for it: once they are assessed
        # its time stays in the past, and counting it would make the loop spin until a run ends.
        # Standing by, only the watch of the folder and the heartbeat are kept.
        steps = [at for name, at in self._next.items()
                 if (name != "assess" or self._assess) and (leading or name in ("reload", "heartbeat"))]
        waits = [LONGEST_WAIT, self.leadership.seconds_until_due(),
                 *((at - self.clock()).total_seconds() for at in steps)]
        if troubled:
            waits.append(TROUBLE_BACKOFF)
        if leading and self.scheduler.idle_seconds is not None:
            waits.append(self.scheduler.idle_seconds)
        if self.running:
            waits.append(1.0)  # timeouts are checked at least every second
        return max(0.0, min(waits))

    def _schedule(self, now: datetime) -> bool:
        """Plan the due slots, start runs, assess health (the scheduling daemon's part of a
        pass); return whether a step failed."""
        troubled = False
        # Planning a thousand due workflows reads the store for each: runs that end meanwhile
        # are replaced as it goes, except in the pass after a (re)load, which plans every
        # workflow's backlog before the first starts, so that the oldest slot starts first.
        between = None if self._backlog_pass else self._keep_runs_going
        if between is not None:  # the runs that the plans to come cannot precede start now
            troubled |= not self._guarded("starting runs", self._start_queued, self.scheduler.earliest_due())
        troubled |= not self._guarded("looking at due slots", self.scheduler.run_pending,
                                     between, WORKFLOWS_BETWEEN_LOOKS)
        self._backlog_pass = False
        troubled |= not self._guarded("starting runs", self._start_queued)
        if self._due("health", now, self.settings.health.check_every):
            troubled |= not self._guarded("assessing health", self.check_health, None, self._keep_runs_going)
        elif self._assess and self._due("assess", now, ASSESS_ENDED_EVERY):
            troubled |= not self._guarded("assessing health", self.check_health, set(self._assess),
                                          self._keep_runs_going)
        return troubled

    def _follow_leadership(self) -> None:
        """Renew the scheduling lease, or take it when it is free, and act on a change of role:
        what was queued is dropped either way (the store says what is owed); a daemon taking
        over closes the runs a crash left and plans every workflow at once, as at a start."""
        assert self.store is not None and self.leadership is not None
        change = self.leadership.update()
        if change is None:
            return
        self.queue, self._queued = SlotQueue(), set()
        self._retries.clear()
        self._attempts.clear()
        if not change.leading:
            return
        self.reload()  # the files as they are now: the one last looked at may be a few seconds old
        self._record_edits_seen_standing_by()
        self._close_dead_runs()
        self._announced.clear()
        for job in self.scheduler.jobs:
            job.due_now()
        self._backlog_pass = True
        self._next.pop("health", None)  # health is assessed at the next pass
        if self._pump is not None:
            self._pump.poke()

    def _hand_over(self) -> None:
        """Stopping: give the scheduling lease back, so that a daemon standing by takes over at once."""
        if self.leadership is not None and self.leadership.release():
            log.info("stopping: the scheduling lease is given back; a daemon standing by takes over",
                     extra={"event": "handed_over"})

    def _record_edits_seen_standing_by(self) -> None:
        """Taking over: record, for each schedule edited while this daemon stood by, the slots
        the new schedule does not owe, as of when the edit was seen (the scheduler may have died
        or been paused before it saw it; if it did see it, the store already says so, and
        nothing more is recorded)."""
        edits, self._edits_seen_standing_by = self._edits_seen_standing_by, {}
        for key, seen_at in edits.items():
            sw = self.catalog.by_key(key)
            if sw is not None and sw.timetable is not None:
                self._schedule_changed(sw, seen_at)

    def _close_dead_runs(self) -> None:
        """Record the runs a crash cut short (their process gone, on this host) as interrupted."""
        assert self.store is not None
        for dead in self.store.end_dead_runs(self.host):
            if dead.committed:
                log.warning("a run of %s was cut short by a crash after its results were kept: recorded as "
                            "interrupted; %s", dead.workflow, SLOT_COUNTS_AS_RUN, extra={"event": "recovered", "workflow": dead.workflow})
            else:
                log.warning("a run of %s was cut short by a crash: recorded as interrupted; its slot is "
                            "owed again (the workflow's catch_up policy decides if it runs)", dead.workflow,
                            extra={"event": "recovered", "workflow": dead.workflow})

    def _schedule_changed(self, sw: ScheduledWorkflow, seen_at: datetime | None = None) -> None:
        """A new schedule owes nothing from before it was written (``seen_at``, now by default):
        its past slots are recorded as not run, so that catch-up does not run slots that never
        existed."""
        from cmflow.foundation.schedules import SkippedSlots, slots_between

        assert self.store is not None
        handled = self.store.last_handled_slot(sw.key)
        if handled is None:
            return
        past = slots_between(sw.timetable, handled, (seen_at or self.clock()) - timedelta(minutes=1), sw.tz)
        if past:
            self.store.record_missed_slots(sw.key, [SkippedSlots(
                "the schedule changed: the new schedule's slots before the change are not owed",
                past[0], past[-1], len(past))], self.clock())

    def _collect(self, now: datetime, reschedule: bool = True) -> None:
        ended = self.executor.poll(now)
        for request in self.executor.started():  # runs that waited (for a worker): late as they start
            self.observer.run_started(request, (now - request.slot).total_seconds())
        for outcome in ended:  # the executor forgets them once polled:
            try:  # one run's end failing to be handled must not lose the rest of the batch
                self._ended(outcome, reschedule)
            except Exception:
                log.error("failed while handling the end of %s", outcome.request.label, exc_info=True,
                          extra={"event": "error", "workflow": outcome.request.workflow_key})

    def _guarded(self, what: str, step, *args) -> bool:
        """Run one step of the loop; log a failure (redacted) instead of raising it."""
        try:
            step(*args)
        except StoreError as exc:  # busy, unreachable ...: its message says it all
            log.error("failed while %s: %s; trying again shortly", what, exc, extra={"event": "error"})
            return False
        except Exception:
            log.error("failed while %s; trying again shortly", what, exc_info=True, extra={"event": "error"})
            return False
        return True

    def reload(self) -> None:
        """Pick up added, changed and removed workflow files, and edited health settings."""
        self._reload_settings()
        before = {sw.key: (str(sw.timetable), sw.tz) for sw in self.catalog.workflows}
        changes = self.catalog.refresh()
        for sw in changes.changed:
            schedule = (str(sw.timetable), sw.tz)
            if sw.timetable is not None and before.get(sw.key, schedule) != schedule:
                if self.is_leader:
                    self._schedule_changed(sw)
                else:  # recorded by the scheduler; by this daemon too, should it take over
                    self._edits_seen_standing_by[sw.key] = self.clock()
        for path, problems in changes.invalid.items():
            keeps = " (its previous version keeps running)" if path in self.catalog.by_file else ""
            log.error("%s is invalid%s: %s", path, keeps, "; ".join(str(p) for p in problems),
                      extra={"event": "invalid", "file": str(path)})
        for sw in changes.removed:
            log.info("%s removed: %s is no longer scheduled", sw.file, sw.key,
                     extra={"event": "removed", "workflow": sw.key, "file": str(sw.file)})
        for sw in changes.added:
            self._watched_since.setdefault(sw.key, self.clock() - ON_TIME)  # a slot due now is owed
        for sw in changes.added + changes.changed:
            self._announced.discard(sw.key)
            self.scheduler.clear(sw.key)
            if sw.timetable is not None:
                self.scheduler.add(sw.key, self.clock(), self._guarded_slot_due)  # due at once: catch-up decides
                self._backlog_pass = True
            if sw in changes.changed:
                log.info("%s reloaded", sw.file, extra={"event": "reloaded", "workflow": sw.key, "file": str(sw.file)})
        keys = {sw.key for sw in self.catalog.workflows if sw.timetable is not None}
        for job in list(self.scheduler.jobs):
            if not (job.tags & keys):
                self.scheduler.cancel_job(job)
        self.queue.keep_only(keys)
        self._queued = self.queue.keys()

    def _reload_settings(self) -> None:
        """Health thresholds and outputs follow edits of the settings file; the [daemon] limits
        (parallel runs, store, log format) are read at start only."""
        from cmflow.foundation.errors import WorkflowInvalid
        from cmflow.daemon.settings import load_daemon_settings

        file = self.settings.file
        if file is None:
            return
        signature = file_signature(file)  # its .env too: the outputs may read secrets from it
        if self._settings_signature in (None, signature):
            self._settings_signature = signature
            return
        self._settings_signature = signature
        try:
            fresh = load_daemon_settings(file)
        except WorkflowInvalid as exc:
            log.error("%s is invalid (the previous settings stay): %s", file,
                      "; ".join(str(p) for p in exc.problems), extra={"event": "invalid", "file": str(file)})
            return
        self.settings.health, self.settings.health_workflow = fresh.health, fresh.health_workflow
        if self.settings.effective(fresh.daemon) != self.options:
            log.warning("%s: [daemon] settings take effect at the next start", file,
                        extra={"event": "reloaded", "file": str(file)})
        log.info("%s reloaded: health settings and outputs", file, extra={"event": "reloaded", "file": str(file)})

    def check_health(self, only: set[str] | None = None,
                     between: Callable[[], bool] | None = None) -> list[WorkflowHealth]:
        """Assess the workflows (or ``only`` these) and move the health alerts on. ``between``
        is called every few workflows (the loop passes what keeps runs going, so that a long
        assessment leaves no worker idle); it does nothing else."""
        assert self.store is not None
        now = self.clock()
        self._assess -= only or self._assess
        reports = []
        catching_up = set(self.running) | self._queued
        assessed = [sw for sw in self.catalog.workflows if only is None or sw.key in only]
        for start in range(0, len(assessed), WORKFLOWS_BETWEEN_LOOKS):
            if between is not None and start:
                between()
            group = assessed[start:start + WORKFLOWS_BETWEEN_LOOKS]
            handled = self.store.last_handled_slots([sw.key for sw in group])  # one read for the group
            for sw in group:
                report = assess_in_store(sw, self.store, now, self.settings.health, handled[sw.key])
                if report.state == "stale" and sw.key in catching_up:  # after downtime: data is on its way
                    report.alerting = False
                    report.detail += "; a run is under way"
                reports.append(report)
        self.health.update({r.key: r for r in reports})
        watched = {sw.key for sw in self.catalog.workflows}
        settings_file = str(self.settings.file or self.directory)
        alerts = advance_health(self.store, self.settings.health_workflow, settings_file, reports, now,
                                self.settings.health, watched, lease=self.options.run_lock_lease)
        if alerts is not None and alerts.changed:
            for alert in alerts.changed:
                if alert.state in ("firing", "resolved"):
                    log.warning("health alert %s: %s", alert.state, alert.summary,
                                extra={"event": f"health_{alert.state}", "workflow": alert.dimensions.get("workflow_id")})
            if self._pump is not None:
                self._pump.poke()
        return reports

    def flush_outbox(self) -> None:
        """Send what is due in the outbox now, in this thread."""
        from cmflow.daemon.settings import outputs_workflow_of
        from cmflow.delivery.outbox import dispatch

        assert self.store is not None
        dispatch(self.store, clock=self.clock, load=outputs_workflow_of)

    # -- slots and runs ------------------------------------------------------------------
    def _guarded_slot_due(self, job: SlotJob) -> datetime | None:
        """:meth:`_slot_due`, but a failure for one workflow is logged and retried shortly."""
        try:
            return self._slot_due(job)
        except Exception:
            log.error("failed while planning %s; trying again shortly", next(iter(job.tags)), exc_info=True,
                      extra={"event": "error", "workflow": next(iter(job.tags))})
            return self.clock() + timedelta(seconds=30)

    def _slot_due(self, job: SlotJob) -> datetime | None:
        """A workflow's job is due: queue what it owes; say when to look again."""
        assert self.store is not None
        key = next(iter(job.tags))
        sw = self.catalog.by_key(key)
        if sw is None or sw.timetable is None:
            return None
        now = self.clock()
        if not self.is_leader:  # the lease ran out mid-pass: planned when this daemon schedules again
            return now
        if key in self.running or key in self._queued:
            return sw.timetable.next_after(now, sw.tz)  # looked at again when the run ends
        retry = self._retries.get(key)
        if retry is not None:  # a slot refused (busy) or not recorded: that very slot, again
            slot, at = retry
            if now < at:
                return at
            del self._retries[key]
            self.queue.push(key, slot)
            self._queued.add(key)
            return sw.timetable.next_after(now, sw.tz)
        settings = sw.workflow.settings
        handled = self.store.last_handled_slot(key)
        if cut_short := self.store.earliest_unfinished_slot(key, handled):
            handled = cut_short - timedelta(microseconds=1)  # its run never finished: still owed
        elif handled is None:  # never run: owed are the slots since the daemon started watching
            handled = self._watched_since.get(key)  # it (a first slot noticed late still runs)
        plan = catch_up(sw.timetable, handled, now, sw.tz, settings.catch_up, settings.catch_up_cap,
                        settings.catch_up_grace)
        if plan.skipped:
            self.store.record_missed_slots(key, plan.skipped, now)
            for group in plan.skipped:
                log.warning("%s: %d slot(s) from %s to %s not run: %s", key, group.count,
                            _utc(group.first), _utc(group.last), group.reason,
                            extra={"event": "missed", "workflow": key})
        if plan.run:
            self.queue.push(key, plan.run[0])
            self._queued.add(key)
            if len(plan.run) > 1:
                log.info("%s: catching up %d missed slots, oldest first", key, len(plan.run),
                         extra={"event": "catching_up", "workflow": key})
        if key not in self._announced:  # once per (re)load: when the operator can expect a run
            self._announced.add(key)
            local = plan.next_slot.astimezone(ZoneInfo(sw.tz))
            log.info("%s (%s): next run %s", key, sw.timetable, local.strftime(f"%a %Y-%m-%d %H:%M {sw.tz}"),
                     extra={"event": "scheduled", "workflow": key, "next_slot": plan.next_slot})
        return plan.next_slot

    def _keep_runs_going(self) -> bool:
        """Between long steps of a pass: hear which runs ended and start queued ones in their
        place, so that the executor does not sit idle while the loop plans or assesses. False
        when a step failed (logged, tried again at the next look)."""
        kept = self._guarded("keeping the scheduling lease", self._follow_leadership)
        collected = self._guarded("collecting ended runs", self._collect, self.clock())
        started = self._guarded("starting runs", self._start_queued, self.scheduler.earliest_due())
        return kept and collected and started

    def _start_queued(self, up_to: datetime | None = None) -> None:
        """Start queued runs, oldest slot first, while the executor has room; with ``up_to``,
        only those of slots no later than it (a workflow due since then, not planned yet, may
        owe an older slot)."""
        while self.queue and self.executor.free() > 0 and self.is_leader:
            if up_to is not None and self.queue.peek()[1] > up_to:
                return
            key, slot = self.queue.pop()
            self._queued.discard(key)
            sw = self.catalog.by_key(key)
            if sw is None:
                continue
            request = self._request(sw, slot)
            late = (self.clock() - slot).total_seconds()
            try:
                self.executor.submit(request)
            except ExecutorUnavailable as exc:  # its broker is down: the slot waits, not a failed try
                self.queue.push(key, slot)
                self._queued.add(key)
                log.debug("%s waits: %s", request.label, exc, extra={"workflow": key, "run": request.label})
                return
            except Exception as exc:  # no process could be started: the slot is tried again
                self._ended(RunOutcome(request, "not started", error=f"{type(exc).__name__}: {exc}"))
                raise
            self.running[key] = request
            if self.executor.starts_on_submit:
                self.observer.run_started(request, late)
            log.info("starting %s (%.1f s after its slot)", request.label, late,
                     extra={"event": "started", "workflow": key, "run": request.label, "slot": slot,
                            "seconds": late})

    def _request(self, sw: ScheduledWorkflow, slot: datetime) -> RunRequest:
        log_format = self.options.log_format
        return RunRequest(str(sw.file), sw.key, slot, self.store_url, sw.timeout(self.options.run_timeout),
                          sw.text, log_format, self.log_level, self.store_identity, self.options.run_lock_lease)

    def _ended(self, outcome: RunOutcome, reschedule: bool = True) -> None:
        assert self.store is not None
        request = outcome.request
        key = request.workflow_key
        self.running.pop(key, None)
        # A run that could not record its own end (killed; or its store refused, e.g. locked)
        # gets it recorded here, with its cause. One killed after its results were committed
        # ran its slot: it is not tried again.
        if outcome.status in ("timeout", "interrupted", "crashed") and outcome.pid is not None:
            self._unrecorded.append(outcome)
            self._guarded(f"recording how {request.label} ended", self._record_unrecorded)
            dead = self._ended_after_commit.pop(outcome.pid, None)
            self._ended_after_commit.clear()  # those of runs handled before (their store refused): retried already
            if dead is not None:
                outcome = replace(outcome, run_id=dead.run_id, committed=True, error=(
                    f"its process ended after its results were kept ({outcome.error}): {SLOT_COUNTS_AS_RUN}"))
        self.observer.run_ended(outcome)
        level = logging.INFO if outcome.status in ("ok", "done") else logging.WARNING
        run = f" (run {outcome.run_id})" if outcome.run_id else ""
        log.log(level, "%s %s%s%s", request.label, outcome.status, run,
                f": {outcome.error}" if outcome.error else "",
                extra={"event": "finished", "workflow": key, "run": request.label, "run_id": outcome.run_id,
                       "status": outcome.status, "settled": outcome.settled, "pid": outcome.pid})
        self._assess.add(key)
        job = self.scheduler.job(key)
        if not reschedule or job is None:
            return
        if outcome.settled:
            self._attempts.pop(key, None)
            # More slots owed (catch-up "all"), or nothing: the job says, at once, planned
            # among the due workflows as of the slot just run (the longest due first).
            job.due_by(request.slot)
            return
        attempts = self._attempts.get(key)
        if attempts is None or attempts.slot != request.slot:
            attempts = self._attempts[key] = _Attempts(request.slot)
        if outcome.status != "busy":
            attempts.count += 1
        if attempts.count >= UNRECORDED_ATTEMPTS:
            from cmflow.foundation.schedules import SkippedSlots

            reason = f"could not run after {attempts.count} tries: {outcome.error or outcome.status}"
            missed = [SkippedSlots(reason, request.slot, request.slot, 1)]
            # Given up only once the store says so; until then the slot is tried again.
            if self._guarded(f"recording {request.label} as missed", self.store.record_missed_slots, key, missed,
                             self.clock()):
                log.error("%s: slot given up: %s", request.label, reason, extra={"event": "missed", "workflow": key})
                self._attempts.pop(key, None)
                job.due_now()
                return
        at = self.clock() + self.options.busy_retry * max(1, attempts.count)
        self._retries[key] = (request.slot, at)
        job.due_by(at)

    def _record_unrecorded(self) -> None:
        """Record the end of runs that could not record it themselves (kept until the store
        takes it: a busy store must not lose how a run ended)."""
        assert self.store is not None
        while self._unrecorded:
            outcome = self._unrecorded[0]
            ended = self.store.end_dead_runs(self.host, pid=outcome.pid, status=outcome.status, error=outcome.error)
            if any(dead.committed for dead in ended) and outcome.pid is not None:
                self._ended_after_commit[outcome.pid] = next(dead for dead in ended if dead.committed)
            self._unrecorded.pop(0)

    # -- what observers read (any thread) ---------------------------------------------------
    def queued_slots(self) -> int:
        """Slots due and waiting for a free run."""
        return len(self.queue)

    def runs_in_flight(self) -> int:
        """Runs under way: handed to the executor, started, and not ended yet."""
        return max(0, len(self.running) - self.executor.waiting())

    def runs_waiting_for_a_worker(self) -> int:
        """Runs handed to the executor that no worker has started yet (0 with local runs)."""
        return self.executor.waiting()

    # -- plumbing ------------------------------------------------------------------------
    def _due(self, name: str, now: datetime, every: timedelta) -> bool:
        if now >= self._next.get(name, now):
            self._next[name] = now + every
            return True
        return False

    def _wait(self, seconds: float) -> None:
        from multiprocessing.connection import wait

        waitables = [self._wake_reader, *self.executor.waitables()]
        if self._wake_reader in wait(waitables, timeout=seconds):
            try:
                os.read(self._wake_reader, 512)
            except BlockingIOError:
                pass

    def _wake(self) -> None:
        try:
            os.write(self._wake_writer, b"!")
        except (BlockingIOError, OSError):
            pass

    def _install_signals(self) -> None:
        signal.signal(signal.SIGTERM, lambda *_: self.request_stop())
        signal.signal(signal.SIGINT, lambda *_: self.request_stop())
        signal.signal(signal.SIGHUP, lambda *_: self.request_reload())


class SlotQueue:
    """Slots waiting for a free run, oldest slot first (ties: first queued first), whatever
    the order their workflows were planned in: a backlog drains in the order it fell due."""

    def __init__(self) -> None:
        self._heap: list[tuple[datetime, int, str]] = []
        self._pushed = 0

    def push(self, key: str, slot: datetime) -> None:
        """Queue ``key``'s ``slot``."""
        self._pushed += 1
        heapq.heappush(self._heap, (slot, self._pushed, key))

    def peek(self) -> tuple[str, datetime]:
        """The oldest slot queued, left in the queue."""
        slot, _, key = self._heap[0]
        return key, slot

    def pop(self) -> tuple[str, datetime]:
        """The oldest slot queued, as (workflow key, slot)."""
        slot, _, key = heapq.heappop(self._heap)
        return key, slot

    def keep_only(self, keys: set[str]) -> None:
        """Drop the slots of workflows not in ``keys`` (their files are gone)."""
        self._heap = [entry for entry in self._heap if entry[2] in keys]
        heapq.heapify(self._heap)

    def keys(self) -> set[str]:
        """The workflows with a slot queued."""
        return {key for _, _, key in self._heap}

    def __len__(self) -> int:
        return len(self._heap)

    def __iter__(self):
        """(workflow key, slot), oldest slot first."""
        return iter([(key, slot) for slot, _, key in sorted(self._heap)])


class OutboxPump(threading.Thread):
    """Sends the outbox's due messages every 30 s (and when poked), with a store of its own."""

    def __init__(self, store_url: str, clock: Clock, final_pass: timedelta,
                 sending: Callable[[], bool] = lambda: True) -> None:
        super().__init__(name="cmflow-outbox", daemon=True)
        self.store_url = store_url
        self.clock = clock
        self.final_pass = final_pass
        self.sending = sending
        """Whether to send at a regular pass: the daemon that schedules sends, those standing by
        do not. The last pass, at a stop, sends whatever the role (see :meth:`stop`)."""
        self._poked = threading.Event()
        self._stopping = threading.Event()

    def poke(self) -> None:
        self._poked.set()

    def stop(self) -> None:
        """One last pass, then end. A daemon that just handed scheduling over makes it too: the
        outbox's claims keep it and the new scheduler from sending one message twice, as they
        do for ``cmflow outbox flush`` run by hand."""
        self._stopping.set()
        self._poked.set()
        self.join(timeout=self.final_pass.total_seconds())

    def run(self) -> None:
        from cmflow.daemon.settings import outputs_workflow_of
        from cmflow.delivery.outbox import dispatch

        while True:  # the store may be unreachable at first: keep trying, never die silently
            try:
                store = open_store(self.store_url)
                break
            except Exception as exc:
                log.error("the outbox cannot open the store: %s", redactor(f"{type(exc).__name__}: {exc}"),
                          extra={"event": "outbox"})
                if self._stopping.wait(OUTBOX_EVERY.total_seconds()):
                    return
        with store:
            while True:
                self._poked.wait(OUTBOX_EVERY.total_seconds())
                self._poked.clear()
                if not (self.sending() or self._stopping.is_set()):
                    continue
                try:
                    report = dispatch(store, clock=self.clock, load=outputs_workflow_of)
                except Exception as exc:  # the store or a notifier: the messages stay queued
                    log.warning("could not send the outbox: %s", redactor(f"{type(exc).__name__}: {exc}"),
                                extra={"event": "outbox"})
                else:
                    for message in report.delivered:
                        log.info("delivered: %s", message.summary,
                                 extra={"event": "delivered", "workflow": message.workflow})
                if self._stopping.is_set():
                    return


def _utc(instant: datetime) -> str:
    return instant.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")

