"""The workers' metrics: runs executed by status, runs in flight, run duration.

A Celery worker with the prefork pool runs tasks in child processes it forks, and replaces them
as they die; each child counts its own runs. prometheus-client's multiprocess mode adds them up:
every process writes its values to a memory-mapped file in one folder, and the endpoint, served
by the worker's main process, sums the files at each scrape. Counting in the main process from
Celery's signals would not do: the signals that know a task's outcome (``task_postrun``) fire in
the child. A run whose child is killed mid-run (at its time limit, or dying alone) is counted by
the main process instead (:meth:`WorkerMetrics.count`, from ``RunTaskRequest`` in
:mod:`cmflow.daemon.celery_app`), as ``timeout`` or ``interrupted``.

Multiprocess mode is chosen when prometheus-client is first imported, from the environment, so
:func:`serve_worker_metrics` must run in the main process before anything imports it and before
the pool forks (``cmflow worker`` is to call it first thing). A run counted as in flight by a child
killed with ``kill -9`` is dropped at the next scrape: the files of dead processes' live gauges
are removed then (``mark_process_dead``), while their counters and durations stay counted.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Protocol, TypeVar

from cmflow.foundation.processes import process_alive
from cmflow.metrics.server import MetricsServer, MetricsUnavailable, require_prometheus_client

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

DIRECTORY_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
"""prometheus-client's variable naming the folder of the processes' files."""
DURATION_BUCKETS = (1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
"""Seconds: a run fetching a few accounts takes seconds; thousands take minutes."""


class _Ended(Protocol):
    status: str


Outcome = TypeVar("Outcome", bound=_Ended)


class WorkerMetrics:
    """Counts the runs of this process (main process or pool child): :meth:`measure` each run."""

    def __init__(self) -> None:
        from prometheus_client import Counter, Gauge, Histogram

        # Created with the default registry, which multiprocess mode writes to the shared folder.
        self.runs = Counter("cmflow_worker_runs", "Runs executed by this worker, by how they ended.", ["status"])
        self.in_flight = Gauge("cmflow_worker_runs_in_flight", "Runs under way on this worker.",
                               multiprocess_mode="livesum")
        self.duration = Histogram("cmflow_worker_run_duration_seconds", "How long runs took, start to end.",
                                  buckets=DURATION_BUCKETS)

    def measure(self, run: Callable[[], Outcome]) -> Outcome:
        """Call ``run`` (e.g. ``lambda: execute(request)``) and count it: in flight while it runs,
        then its duration and its ``status``; a run that raises counts as ``crashed``."""
        self.in_flight.inc()
        started = time.monotonic()
        status = "crashed"
        try:
            outcome = run()
            status = outcome.status
            return outcome
        finally:
            self.in_flight.dec()
            self.duration.observe(time.monotonic() - started)
            self.runs.labels(status.replace(" ", "_")).inc()

    def count(self, status: str, seconds: float | None = None) -> None:
        """Count a run that ended without :meth:`measure` ending it: its pool process was killed
        (at its time limit, ``timeout``; or it died, ``interrupted``). Called in the worker's
        main process; the dead process's in-flight count is dropped at the next scrape."""
        if seconds is not None:
            self.duration.observe(max(0.0, seconds))
        self.runs.labels(status.replace(" ", "_")).inc()


class _NoMetrics:
    """What :func:`worker_metrics` answers when the worker serves none: runs are just run."""

    def measure(self, run: Callable[[], Outcome]) -> Outcome:
        return run()

    def count(self, status: str, seconds: float | None = None) -> None:
        pass


_current: "WorkerMetrics | None" = None


def worker_metrics() -> "WorkerMetrics | _NoMetrics":
    """This process's counter (in a pool child too), or one that counts nothing when
    :func:`serve_worker_metrics` was not called: a task calls ``worker_metrics().measure(...)``
    either way."""
    if _current is None:
        return _NoMetrics()
    return _current


def serve_worker_metrics(address: str, directory: str | Path | None = None) -> MetricsServer:
    """Serve the worker's metrics on ``address`` from this (the main) process; its pool's
    children count into ``directory`` (default: a fresh temporary folder; it is emptied, as
    prometheus-client requires at each start). Call before prometheus-client is imported
    and before the pool forks; raises :class:`MetricsUnavailable` when it cannot serve."""
    global _current
    import sys

    folder = Path(directory) if directory is not None else Path(tempfile.mkdtemp(prefix="cmflow-worker-metrics-"))
    folder.mkdir(parents=True, exist_ok=True)
    if os.environ.get(DIRECTORY_VARIABLE) != str(folder) and "prometheus_client.values" in sys.modules:
        raise MetricsUnavailable("the worker's metrics must be set up before prometheus-client is imported "
                                 "(serve_worker_metrics first, then the rest)")
    for stale in folder.glob("*.db"):  # a previous worker's counts are not this one's
        stale.unlink()
    os.environ[DIRECTORY_VARIABLE] = str(folder)  # inherited by the pool's children
    require_prometheus_client()
    from prometheus_client import CollectorRegistry

    registry = CollectorRegistry()
    registry.register(_ProcessesCollector(folder))
    server = MetricsServer(registry, address)
    _current = WorkerMetrics()
    return server


_LIVE_FILE = re.compile(r"gauge_live\w*_(\d+)\.db$")


class _ProcessesCollector:
    """Sums every process's file (prometheus-client's MultiProcessCollector), after dropping the
    live gauges of processes that died without saying so (killed)."""

    def __init__(self, folder: Path) -> None:
        from prometheus_client import multiprocess

        self.folder = folder
        self._sum = multiprocess.MultiProcessCollector(None, path=str(folder))

    def collect(self):
        from prometheus_client import multiprocess

        for file in self.folder.glob("gauge_live*.db"):
            match = _LIVE_FILE.search(file.name)
            if match and not process_alive(int(match.group(1))):
                multiprocess.mark_process_dead(int(match.group(1)), str(self.folder))
        return self._sum.collect()

