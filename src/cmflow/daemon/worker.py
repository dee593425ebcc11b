"""The worker side of a daemon run: what happens where an executor runs a request.

:func:`execute` loads the workflow file as it is now, opens the store, runs the slot's period
and answers a :class:`RunOutcome`; it never raises. :func:`serve_runs` is a run process of the
local executor: it runs the requests it is sent one after the other, each with what earlier
runs changed in the process undone, for ``runs_per_process`` runs at most. Importing this module
imports everything a run needs, plugins included, so that a fork server that preloads it hands
each run process a warm start.
"""

from __future__ import annotations

import gc
import logging
import os
import signal
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Iterator

from cmflow import runner as _runner  # noqa: F401  (preloaded for the fork server)
from cmflow.foundation.errors import WorkflowInvalid
from cmflow.daemon.settings import MAX_MEMORY_PER_PROCESS_MB, RUNS_PER_PROCESS
from cmflow.foundation.secrets import redactor
from cmflow.stages.run_lock import RUN_LOCK_LEASE

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

    from cmflow.store import Store

LOCK_MARGIN = timedelta(minutes=5)
"""A run renews its lock until its timeout and this much more at most, so that a run killed at
its timeout (or a hung one, by its own deadline) always lets go of its lock."""

log = logging.getLogger("cmflow.daemon")


@dataclass(frozen=True)
class RunRequest:
    """One run the daemon wants: this workflow file, for this slot, with this store."""

    workflow_file: str
    workflow_key: str
    slot: datetime
    store_url: str
    timeout: timedelta
    workflow_text: str | None = None
    """The file's content the daemon validated (None: read the file as it is now)."""
    log_format: str = "text"
    log_level: int = logging.INFO
    store_identity: str | None = None
    """The id of the daemon's store (:meth:`~cmflow.store.Store.identity`): a worker elsewhere
    runs the request only on a store with that id (None: not checked)."""
    lock_lease: timedelta = RUN_LOCK_LEASE
    """How long the run's lock lasts unless its process renews it (``[daemon] run_lock_lease``):
    a run that dies anywhere lets its workflow go within it."""

    @property
    def label(self) -> str:
        """The run's id in logs: the workflow's key and its slot, e.g. ``weekly@2026-11-23T08:00Z``."""
        return f"{self.workflow_key}@{self.slot:%Y-%m-%dT%H:%MZ}"


@dataclass(frozen=True)
class RunOutcome:
    """How a run ended: ``ok``, ``failed``, ``undelivered`` (as in run history); ``busy`` (another
    run of the workflow held its lock: nothing ran), ``done`` (the slot was run meanwhile by
    another process, e.g. the orphaned run of a killed daemon: nothing ran, nothing is owed),
    ``invalid`` (the file no longer validates: nothing ran), ``crashed``, ``timeout`` or
    ``interrupted`` (stopped or killed)."""

    request: RunRequest
    status: str
    run_id: int | None = None
    records: int = 0
    error: str | None = None
    pid: int | None = None
    committed: bool = False
    """An ``interrupted`` run whose results the store says were committed before its process
    died (:attr:`cmflow.store.RunRecord.committed_at`): its slot counts as run."""

    @property
    def ran(self) -> bool:
        """Whether the slot was run (whatever it found), so it is not owed any more."""
        return self.committed or self.status not in ("busy", "invalid", "interrupted", "not started")

    @property
    def settled(self) -> bool:
        """Whether the store now says the slot is handled: a run of it recorded (a timeout is
        recorded by the daemon, as is a run that died after its commit), or found done by
        another process."""
        return self.ran and (self.run_id is not None or self.committed or self.status in ("timeout", "done"))


def execute(request: RunRequest, stores: "dict[str, Store] | None" = None) -> RunOutcome:
    """Run one request to the end and say how it went; never raises. With ``stores``, the
    store is taken from it (opened and kept there the first time): a process that serves many
    runs keeps one engine per store, its statements compiled once; without it, the store is
    opened for this run and closed after it."""
    from cmflow.runner import run_workflow
    from cmflow.stages.run_periods import resolve_period
    from cmflow.foundation.stopping import RunStopped
    from cmflow.store import SlotAlreadyHandled, StoreError, WorkflowBusy, open_store
    from cmflow.workflow import load_workflow

    try:
        workflow = load_workflow(request.workflow_file, text=request.workflow_text)
    except WorkflowInvalid as exc:
        return RunOutcome(request, "invalid", error=redactor(f"{len(exc.problems)} problem(s): {exc.problems[0]}"))
    if workflow.key != request.workflow_key:
        return RunOutcome(request, "invalid", error=f"the file's workflow id is now {workflow.key!r}")
    try:
        if stores is not None and request.store_url not in stores:
            stores[request.store_url] = open_store(request.store_url)
        with (nullcontext(stores[request.store_url]) if stores is not None else open_store(request.store_url)) as store:
            result = run_workflow(workflow, store=store, period=resolve_period(workflow, now=request.slot),
                                  slot=request.slot, lock_ttl=request.timeout + LOCK_MARGIN,
                                  lock_lease=request.lock_lease)
    except WorkflowBusy as exc:
        return RunOutcome(request, "busy", error=str(exc))
    except SlotAlreadyHandled as exc:
        return RunOutcome(request, "done", error=str(exc))
    except RunStopped as exc:  # it lost its run lock (recorded interrupted by the runner)
        log.error("%s %s", request.label, exc, extra={"run": request.label})
        return RunOutcome(request, "interrupted", error=str(exc))
    except StoreError as exc:  # busy, unreachable, read-only ...: its message says it all
        log.error("%s stopped: %s", request.label, redactor(str(exc)), extra={"run": request.label})
        return RunOutcome(request, "crashed", error=redactor(str(exc)))
    except Exception as exc:  # recorded as crashed in run history by the runner
        log.error("%s crashed", request.label, exc_info=True, extra={"run": request.label})
        return RunOutcome(request, "crashed", error=redactor(f"{type(exc).__name__}: {exc}"))
    failed = [f"{s.kind} {s.id}: {s.error}" for s in result.failed_stages]
    records = sum(frame.height for frame in result.records.values())
    return RunOutcome(request, result.status, result.run_id, records, redactor("; ".join(failed)) or None)


KEEPS_THE_PROCESS = ("ok", "warning", "failed", "undelivered", "busy", "done", "invalid")
"""Outcomes after which a run process may serve another run: the run ended as runs do and
recorded itself. After any other (``crashed``, ``interrupted``: its store refused, it lost its
lock) the process is retired: the daemon closes such a run's row by its process id, which must
not be running another run by then."""


@dataclass(frozen=True)
class Served:
    """What a run process sends back after each run: the outcome, and why the process stops
    serving now (None: it waits for the next request)."""

    outcome: RunOutcome
    retiring: str | None = None


RESTORED_SIGNALS = tuple(getattr(signal, name) for name in ("SIGALRM", "SIGTERM", "SIGINT", "SIGHUP", "SIGCHLD")
                         if hasattr(signal, name))
"""Signals whose handling a run may change (a plugin's own timeout, a library ignoring SIGTERM)
and :class:`ProcessBaseline` puts back: the run's deadline (SIGALRM) and the daemon's stop
(SIGTERM) must end the next run's process as they end the first's."""


@dataclass(frozen=True)
class _LoggerState:
    level: int
    handlers: tuple
    propagate: bool
    disabled: bool

    @classmethod
    def of(cls, logger: logging.Logger) -> "_LoggerState":
        return cls(logger.level, tuple(logger.handlers), logger.propagate, logger.disabled)

    def put_back(self, logger: logging.Logger) -> None:
        if _LoggerState.of(logger) != self:
            logger.setLevel(self.level)
            logger.handlers[:] = self.handlers
            logger.propagate, logger.disabled = self.propagate, self.disabled


_NEW_LOGGER = _LoggerState(logging.NOTSET, (), True, False)
"""How a logger first made by a run is left after it: as :func:`logging.getLogger` makes one."""


def _loggers() -> dict[str, logging.Logger]:
    found = {name: logger for name, logger in logging.root.manager.loggerDict.items()
             if isinstance(logger, logging.Logger)}
    found[""] = logging.root
    return found


class ProcessBaseline:
    """What a run process looks like before its first run, and restores after each: its
    environment (and time zone), working directory, umask, the secrets it masks, the handling
    of :data:`RESTORED_SIGNALS`, its loggers' levels, handlers and propagation, and its threads.
    Not put back: module globals and files a run left open (docs/daemon.md, "Run processes")."""

    def __init__(self) -> None:
        import threading

        self.environment = dict(os.environ)
        self.directory = os.getcwd()
        self.umask = _current_umask()
        self.secrets = redactor.known()
        self.signals = {number: signal.getsignal(number) for number in RESTORED_SIGNALS}
        self.logging_disabled = logging.root.manager.disable
        self.loggers = {name: _LoggerState.of(logger) for name, logger in _loggers().items()}
        self.threads = {t.ident for t in threading.enumerate()}

    def restore(self) -> str | None:
        """Undo what a run changed; say why the process cannot serve another run (a thread the
        run left behind may still act), or None."""
        import threading
        import time

        if os.environ != self.environment:
            time_zone = os.environ.get("TZ")
            os.environ.clear()
            os.environ.update(self.environment)
            if time_zone != os.environ.get("TZ"):
                time.tzset()
        if os.getcwd() != self.directory:
            os.chdir(self.directory)
        os.umask(self.umask)
        for number, handler in self.signals.items():
            if handler is not None and signal.getsignal(number) is not handler:
                signal.signal(number, handler)
        logging.disable(self.logging_disabled)
        for name, logger in _loggers().items():
            self.loggers.get(name, _NEW_LOGGER).put_back(logger)
        redactor.forget_all_but(self.secrets)
        gc.collect()
        left = [t.name for t in threading.enumerate() if t.ident not in self.threads and t.is_alive()]
        return f"the run left {len(left)} thread(s) running ({', '.join(left[:3])})" if left else None


def _current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def resident_megabytes() -> float:
    """This process's resident memory (RSS) in MiB, read from ``/proc`` (Linux; 0 elsewhere,
    where no limit is applied)."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1024 / 1024
    except (OSError, ValueError, IndexError):
        return 0.0


@contextmanager
def own_deadline(request: RunRequest) -> Iterator[None]:
    """The run's own deadline, for both executors' processes: should the process that would
    stop the run at its timeout be gone (a daemon or a Celery worker killed), SIGALRM ends the
    run's process a little after its timeout (half of :data:`LOCK_MARGIN`), so an orphan never
    outlives its lock and overlaps the next run of its workflow. Cleared as the run ends."""
    signal.alarm(int((request.timeout + LOCK_MARGIN / 2).total_seconds()) or 1)
    try:
        yield
    finally:
        signal.alarm(0)


def serve_runs(connection: "Connection", runs_per_process: int = RUNS_PER_PROCESS,
               max_memory_mb: float | None = MAX_MEMORY_PER_PROCESS_MB) -> None:
    """A run process: :func:`execute` each request received through ``connection``, one at a
    time, and send back a :class:`Served`; stop after ``runs_per_process`` runs, after a run
    that leaves the process resident above ``max_memory_mb`` or with a thread of its own still
    running, after an outcome not in :data:`KEEPS_THE_PROCESS`, or when the daemon closes its
    end (or is gone). Between runs, what a run may change in the process is put back
    (:class:`ProcessBaseline`); the store engines stay open for the next run."""
    from cmflow.daemon.logs import configure_logging
    from cmflow.foundation.urls import mark_url_secrets

    # Ctrl-C in a terminal reaches the whole process group: the daemon decides when runs stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    baseline = ProcessBaseline()
    stores: dict[str, "Store"] = {}
    try:
        for served in range(1, runs_per_process + 1):
            try:
                request: RunRequest = connection.recv()
            except (EOFError, OSError):  # the daemon closed this process, or is gone
                return
            configure_logging(request.log_format, request.log_level, run=request.label)
            with own_deadline(request):
                outcome = replace(execute(request, stores), pid=os.getpid())
            retiring = _retiring(outcome, baseline, served, runs_per_process, max_memory_mb)
            for url in stores:  # the kept engines' credentials stay masked, though the run's secrets are forgotten
                mark_url_secrets(url)
            try:
                connection.send(Served(outcome, retiring))
            except OSError:  # the daemon is gone (killed): the run is recorded in the store all the same
                return
            if retiring is not None:
                return
    finally:
        for store in stores.values():
            store.close()


def _retiring(outcome: RunOutcome, baseline: ProcessBaseline, served: int, runs_per_process: int,
              max_memory_mb: float | None) -> str | None:
    """Why the process serves no more runs after this one (None: it serves the next)."""
    left_behind = after_run(outcome, baseline, max_memory_mb)
    if served >= runs_per_process:
        return f"it served its {served} run(s)"
    return left_behind


def after_run(outcome: RunOutcome, baseline: ProcessBaseline, max_memory_mb: float | None) -> str | None:
    """What every process that serves several runs does after each, whatever sends it the runs
    (a local run process, a Celery pool process): put back what the run changed
    (:meth:`ProcessBaseline.restore`), then say why the process must not serve another run (an
    outcome not in :data:`KEEPS_THE_PROCESS`, a thread the run left running, resident memory
    above ``max_memory_mb``), or None. How many runs it served is its server's count."""
    left_behind = baseline.restore()
    if outcome.status not in KEEPS_THE_PROCESS:
        return f"its run ended {outcome.status}"
    if left_behind:
        return left_behind
    if max_memory_mb is not None and (resident := resident_megabytes()) > max_memory_mb:
        return f"it holds {resident:.0f} MiB, above max_memory_per_process_mb ({max_memory_mb:g})"
    return None


def warm_up() -> None:
    """Import every plugin and the libraries a run loads lazily now, so that a fork server
    preloading this module hands each run a process with nothing left to import (a run that
    imports Polars and SQLAlchemy itself spends nine tenths of its time doing so)."""
    import polars  # noqa: F401
    import sqlalchemy.dialects.sqlite  # noqa: F401

    from cmflow.delivery import outbox  # noqa: F401
    from cmflow import store  # noqa: F401
    from cmflow.plugins.registry import get_registry
    from cmflow.store import sql  # noqa: F401

    get_registry().load_all()
    try:  # only speed depends on these: a failure must not keep the daemon from starting
        _warm_store_statements()
        _warm_workflow_loading()
    except Exception:
        log.warning("warming up the fork server failed; runs start colder", exc_info=True)
    # A run's collections would walk every object inherited from the server, writing to each
    # one's header and so copying every page of the server into the run (copy-on-write):
    # frozen, they are left out of collections.
    gc.collect()
    gc.freeze()


WARM_UP_WORKFLOW = """\
[workflow]
name = "warm-up"
id = "warm-up"
timezone = "UTC"
period = "7d"
schedule = "every minute"

[[sources]]
plugin = "csv"
path = "posts.csv"

[[metrics]]
plugin = "engagement_rate_by_reach"
"""
"""A workflow like most: loaded once in the fork server so that what validation builds on
first use (option models, schedule grammar, regular expressions) is built there."""


def _warm_store_statements() -> None:
    """Send the statements a run sends (open, lock, start, alerts, commit, finish, release) to
    a throwaway in-memory store: SQLAlchemy builds and memoises a great deal per table and per
    statement class on first use (a fifth of a cold run's time), and a fork of a warm server
    inherits it. No connection outlives this function, so none crosses a fork.

    Its run is fenced by its run lock as a real run is (``start_run(lock=...)``), not because
    anyone else could see it (the store is in this process's memory, no other process shares
    it, nothing it writes is kept), but so that the statements warmed are the fenced ones a real
    run sends: the lock's check and extension in the same transaction as each write."""
    from datetime import date, timezone

    from cmflow.store import LockOwner, RunLockHold, open_store

    now = datetime.now(timezone.utc)
    owner = LockOwner.this_process()
    with open_store("sqlite://") as store:
        store.latest_period_end("warm-up")
        store.runs("warm-up", 1)
        store.acquire_run_lock("warm-up", owner, LOCK_MARGIN)
        store.renew_run_lock("warm-up", owner, LOCK_MARGIN)  # the run's heartbeat
        store.slot_handled("warm-up", now)
        run_id = store.start_run("warm-up", "warm-up.toml", date.today(), date.today(), False, slot=now,
                                 lock=RunLockHold(owner, LOCK_MARGIN))
        store.alert_states("warm-up")
        store.silences(active_at=now)
        store.commit_run(run_id, workflow="warm-up", measurements=None, alerts=[], messages=[], now=now)
        store.due_messages(now, workflow="warm-up")
        store.finish_run(run_id, status="ok", stats={}, error=None)
        store.release_run_lock("warm-up", owner)


def _warm_workflow_loading() -> None:
    """Validate :data:`WARM_UP_WORKFLOW` once (nothing is read or fetched)."""
    from cmflow.workflow import load_workflow

    try:
        load_workflow("warm-up.toml", text=WARM_UP_WORKFLOW)
    except WorkflowInvalid:  # a plugin missing from this install: only speed is lost
        pass
