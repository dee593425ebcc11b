"""The seam between scheduling and running: an :class:`Executor` starts runs and reports them.

The daemon decides *when* a workflow runs and hands a :class:`RunRequest` to its executor; the
executor decides *where*. Two ship with cmflow:

- :class:`LocalProcessPool` (the daemon's default): runs in processes of their own, forked from
  a warm server that has cmflow and its plugins imported, at most ``max_parallel`` at once; a
  process serves up to ``runs_per_process`` runs one after the other, then is replaced (sooner
  above a memory limit). A run that outlives its timeout is stopped (SIGTERM, then SIGKILL) and
  its process replaced; one that crashes or leaks memory takes no other run down.
- :class:`InlineExecutor`: each run in the caller's thread, to completion, before ``submit``
  returns. No timeout can be enforced; for tests and debugging.

A later executor can hand runs to a distributed engine: it only has to implement the four
methods below; the worker side is :func:`cmflow.daemon.worker.execute`.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable

from cmflow.foundation.durations import format_duration
from cmflow.daemon.settings import MAX_MEMORY_PER_PROCESS_MB, RUNS_PER_PROCESS
from cmflow.daemon.worker import RunOutcome, RunRequest, Served, execute, serve_runs

log = logging.getLogger("cmflow.daemon")
KILL_AFTER = 5.0
"""Seconds a stopped run has to exit on SIGTERM before it is killed."""
IDLE_PROCESS_LIFETIME = 300.0
"""Seconds a run process of the pool waits for its next run before it is retired: after a burst,
the processes it needed do not hold their memory and store connections for ever."""


class ExecutorUnavailable(RuntimeError):
    """The executor cannot start runs for now (its broker does not answer): the daemon keeps the
    request's slot queued and tries again, and the slot is not counted as a failed try."""


class Executor(ABC):
    """Starts runs and says when they are over."""

    @abstractmethod
    def free(self) -> int:
        """How many more runs can start now."""

    @abstractmethod
    def submit(self, request: RunRequest) -> None:
        """Start a run (only when :meth:`free` is above 0); raise :class:`ExecutorUnavailable`
        when it cannot for now."""

    @abstractmethod
    def poll(self, now: datetime) -> list[RunOutcome]:
        """Runs that ended since the last poll; a run past its timeout is stopped and reported
        with status ``timeout``."""

    @abstractmethod
    def stop(self, deadline: datetime, clock: Callable[[], datetime]) -> list[RunOutcome]:
        """Wait for the runs under way until ``deadline``, then stop the rest (status
        ``interrupted``); report them all."""

    def waitables(self) -> list:
        """What the daemon's loop may wait on besides its timer (a run ending); none by default."""
        return []

    starts_on_submit: bool = True
    """Whether a run starts as it is submitted. False (runs on workers): a run may wait to be
    taken, :meth:`started` says when it starts and :meth:`waiting` how many wait."""

    def started(self) -> list[RunRequest]:
        """Runs submitted earlier that started since the last call (after a :meth:`poll`); none
        when runs start as they are submitted."""
        return []

    def waiting(self) -> int:
        """Runs submitted and not started yet (may be read from any thread)."""
        return 0


class InlineExecutor(Executor):
    """Runs each request at once, in this thread (no timeout): for tests and debugging."""

    def __init__(self) -> None:
        self._ended: list[RunOutcome] = []

    def free(self) -> int:
        return 1

    def submit(self, request: RunRequest) -> None:
        self._ended.append(execute(request))

    def poll(self, now: datetime) -> list[RunOutcome]:
        ended, self._ended = self._ended, []
        return ended

    def stop(self, deadline: datetime, clock: Callable[[], datetime]) -> list[RunOutcome]:
        return self.poll(clock())


@dataclass
class _RunProcess:
    """A run process of the pool, and the run it is running (None: idle)."""

    process: multiprocessing.process.BaseProcess
    connection: "multiprocessing.connection.Connection"
    request: RunRequest | None = None
    started_at: float = 0.0
    """time.monotonic() at the run's start: a wall-clock step (NTP, a resumed VM) times nothing out."""
    served: Served | None = field(default=None)
    idle_since: float = 0.0
    """time.monotonic() when it last went idle."""


class LocalProcessPool(Executor):
    """At most ``max_parallel`` runs at once, in processes of their own, each process serving
    up to ``runs_per_process`` runs one after the other (1: a fresh process per run), and
    retired sooner once it holds more than ``max_memory_mb`` after a run, or once it has waited
    ``idle_lifetime`` seconds for its next run."""

    def __init__(self, max_parallel: int, runs_per_process: int = RUNS_PER_PROCESS,
                 max_memory_mb: float | None = MAX_MEMORY_PER_PROCESS_MB,
                 idle_lifetime: float = IDLE_PROCESS_LIFETIME) -> None:
        self.max_parallel = max_parallel
        self.runs_per_process = runs_per_process
        self.max_memory_mb = max_memory_mb
        self.idle_lifetime = idle_lifetime
        self._context = multiprocessing.get_context("forkserver")
        # The server imports these once; each run process is then a cheap fork of a warm process.
        # The main script (the `cmflow` command) too: without it, every process would run it again
        # as it starts, importing the CLI.
        self._context.set_forkserver_preload(["__main__", "cmflow.daemon.fork_server"])
        self._running: dict[int, _RunProcess] = {}
        self._idle: list[_RunProcess] = []
        self._exiting: list[multiprocessing.process.BaseProcess] = []

    def free(self) -> int:
        return self.max_parallel - len(self._running)

    def waitables(self) -> list:
        """What the daemon's loop waits on besides its timer: a run ending or reporting."""
        return [w for r in self._running.values() for w in (r.process.sentinel, r.connection)]

    def submit(self, request: RunRequest) -> None:
        while self._idle:  # the most recently used first: its pages are the warmest
            worker = self._idle.pop()
            try:
                if worker.process.is_alive():
                    worker.connection.send(request)
                    break
            except OSError:  # it died while idle (killed): another one takes the run
                pass
            self._retire(worker)
        else:
            worker = self._start_process()
            try:
                worker.connection.send(request)
            except OSError:  # it died as it started: poll() reports the run interrupted (tried again)
                pass
        worker.request, worker.started_at, worker.served = request, time.monotonic(), None
        self._running[worker.process.pid] = worker
        log.debug("started %s in process %s", request.label, worker.process.pid,
                  extra={"run": request.label, "workflow": request.workflow_key, "pid": worker.process.pid})

    def _start_process(self) -> _RunProcess:
        mine, theirs = self._context.Pipe(duplex=True)
        process = self._context.Process(target=serve_runs, args=(theirs, self.runs_per_process, self.max_memory_mb),
                                        name="cmflow-run", daemon=False)
        process.start()
        theirs.close()  # the child holds the other copy: EOF here means the child is gone
        return _RunProcess(process, mine)

    def poll(self, now: datetime) -> list[RunOutcome]:
        self._retire_idle()
        self._reap()
        ended = []
        for pid, running in list(self._running.items()):
            assert running.request is not None
            self._receive(running)
            if running.served is None and not running.process.is_alive():
                running.process.join()
                self._receive(running)
            if running.served is not None or not running.process.is_alive():
                ended.append(running.served.outcome if running.served else self._died(running))
                self._forget(pid)
            elif time.monotonic() - running.started_at > running.request.timeout.total_seconds():
                self._terminate(running)
                ended.append(RunOutcome(running.request, "timeout", pid=pid, error=(
                    f"stopped after its timeout of {format_duration(running.request.timeout)}")))
                self._forget(pid)
        return ended

    def stop(self, deadline: datetime, clock: Callable[[], datetime]) -> list[RunOutcome]:
        ended = []
        self._close_idle()
        while self._running and clock() < deadline:
            ended += self.poll(clock())
            self._close_idle()
            if self._running:
                time.sleep(0.05)
        for pid, running in list(self._running.items()):
            assert running.request is not None
            self._terminate(running)
            ended.append(RunOutcome(running.request, "interrupted", pid=pid,
                                    error="stopped: the daemon was shutting down"))
            self._forget(pid)
        self._close_idle()
        for process in self._exiting:
            process.join(timeout=KILL_AFTER)
        self._reap()
        return ended

    def _receive(self, running: _RunProcess) -> None:
        try:
            if running.served is None and running.connection.poll():
                running.served = running.connection.recv()
        except (EOFError, OSError):
            pass

    def _died(self, running: _RunProcess) -> RunOutcome:
        from cmflow.foundation.processes import process_alive

        if process_alive(running.process.pid):
            # Its fork server died, so it looks gone while it still runs: stop it for real
            # before its lock is released, or two runs of the workflow would overlap.
            os.kill(running.process.pid, signal.SIGKILL)
            while process_alive(running.process.pid):
                time.sleep(0.05)
        code = running.process.exitcode
        how = f"killed by signal {-code}" if code is not None and code < 0 else f"exit code {code}"
        assert running.request is not None
        return RunOutcome(running.request, "interrupted", pid=running.process.pid,
                          error=f"the run's process ended before the run finished ({how})")

    def _terminate(self, running: _RunProcess) -> None:
        process = running.process
        if process.is_alive():
            process.terminate()
            process.join(timeout=KILL_AFTER)
        if process.is_alive():
            os.kill(process.pid, signal.SIGKILL)
            process.join()

    def _forget(self, pid: int) -> None:
        """Done with a run: its process waits for the next run, or (retired, killed, timed out)
        is reaped later."""
        running = self._running.pop(pid)
        served = running.served
        running.request = running.served = None
        if served is not None and served.retiring is None and running.process.is_alive():
            running.idle_since = time.monotonic()
            self._idle.append(running)
        else:
            if served is not None:
                log.debug("run process %s retired: %s", pid, served.retiring, extra={"pid": pid})
            self._retire(running)

    def _retire(self, worker: _RunProcess) -> None:
        """Close a run process's connection (an idle one exits on it) and reap it later."""
        worker.connection.close()
        self._exiting.append(worker.process)
        self._reap()

    def _retire_idle(self) -> None:
        """Retire the processes that waited longer than ``idle_lifetime`` for a run (the least
        recently used are first in the list)."""
        while self._idle and time.monotonic() - self._idle[0].idle_since > self.idle_lifetime:
            worker = self._idle.pop(0)
            log.debug("run process %s retired: idle for %s", worker.process.pid,
                      f"{self.idle_lifetime:g} s", extra={"pid": worker.process.pid})
            self._retire(worker)

    def _close_idle(self) -> None:
        while self._idle:
            self._retire(self._idle.pop())

    def _reap(self) -> None:
        """Collect the processes of ended runs that have exited (no zombie is left behind)."""
        for process in list(self._exiting):
            if process.exitcode is not None or not process.is_alive():
                process.join(timeout=0)
                process.close()
                self._exiting.remove(process)


