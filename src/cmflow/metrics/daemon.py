"""The daemon's metrics: an observer of its loop (:class:`DaemonMetrics`) and the endpoint.

Counted as the loop tells (runs by status, lateness of starts); read when scraped (slots queued,
runs in flight, scheduling, the outbox, API budgets). Labels are bounded: a run's status, an
outbox status, a platform; never a workflow id, file or anything a user typed (see
``docs/metrics.md``).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Protocol

from cmflow.metrics.budgets import BudgetCollector, BudgetSnapshot, no_budgets
from cmflow.metrics.outbox import OutboxCollector
from cmflow.metrics.server import MetricsServer, require_prometheus_client

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

log = logging.getLogger("cmflow.metrics")

LATENESS_BUCKETS = (0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 3600, 6 * 3600, 24 * 3600)
"""Seconds: a healthy start is within a second or two of its slot; a full queue adds minutes;
catch-up after downtime adds hours."""


class WatchedDaemon(Protocol):
    """What is read of the daemon at scrape time (:class:`cmflow.daemon.observer.WatchedDaemon`)."""

    scheduling: bool

    def queued_slots(self) -> int: ...

    def runs_in_flight(self) -> int: ...

    def runs_waiting_for_a_worker(self) -> int: ...


class RunEnded(Protocol):
    status: str


def status_label(status: str) -> str:
    """A run status as a label value: ``not started`` becomes ``not_started``."""
    return status.replace(" ", "_")


class DaemonMetrics:
    """Observes one daemon (``Daemon(observer=...)``) and serves what it counts."""

    def __init__(self, store_url: str, budgets: BudgetSnapshot = no_budgets,
                 registry: "CollectorRegistry | None" = None) -> None:
        require_prometheus_client()
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = registry or CollectorRegistry()
        self.runs = Counter("cmflow_runs", "Runs ended, by how they ended (the status of the daemon's "
                            "`finished` log line; busy, done and invalid: nothing ran).", ["status"],
                            registry=self.registry)
        self.lateness = Histogram("cmflow_run_start_lateness_seconds", "Seconds between a slot and the start "
                                  "of its run.", buckets=LATENESS_BUCKETS, registry=self.registry)
        self.queued = Gauge("cmflow_slots_queued", "Slots due and waiting for a free run.",
                            registry=self.registry)
        self.in_flight = Gauge("cmflow_runs_in_flight", "Runs under way.", registry=self.registry)
        self.waiting = Gauge("cmflow_runs_waiting_for_a_worker", "Runs sent to the Celery workers that no "
                             "worker has started yet.", registry=self.registry)
        self.up = Gauge("cmflow_daemon_up", "1 while the daemon runs.", registry=self.registry)
        self.scheduling = Gauge("cmflow_daemon_scheduling", "1 when this daemon schedules runs, 0 when it "
                                "stands by.", registry=self.registry)
        for status in ("ok", "warning", "failed", "undelivered", "crashed", "timeout", "interrupted"):
            self.runs.labels(status)  # the usual ones at 0 from the start: rate() sees the first run
        self.outbox = OutboxCollector(store_url)
        self.registry.register(self.outbox)
        self.registry.register(BudgetCollector(budgets))
        self.server: MetricsServer | None = None

    def serve(self, address: str) -> MetricsServer:
        """Start the endpoint (raises :class:`~cmflow.metrics.server.MetricsUnavailable`)."""
        self.server = MetricsServer(self.registry, address)
        return self.server

    # -- the observer -------------------------------------------------------------------
    def watching(self, daemon: WatchedDaemon) -> None:
        self.queued.set_function(lambda: daemon.queued_slots())
        self.in_flight.set_function(lambda: daemon.runs_in_flight())
        waiting = getattr(daemon, "runs_waiting_for_a_worker", None)
        self.waiting.set_function(lambda: waiting() if waiting is not None else 0)
        self.scheduling.set_function(lambda: 1 if getattr(daemon, "scheduling", True) else 0)
        self.up.set(1)
        if self.server is not None:
            log.info("metrics served at %s", self.server.url, extra={"event": "metrics"})

    def run_started(self, request: object, late: float) -> None:
        self.lateness.observe(max(0.0, late))

    def run_ended(self, outcome: RunEnded) -> None:
        self.runs.labels(status_label(outcome.status)).inc()

    def stopped(self) -> None:
        self.up.set(0)
        if self.server is not None:
            self.server.close()
        self.outbox.close()


def serve_daemon_metrics(address: str, store_url: str, budgets: BudgetSnapshot = no_budgets) -> DaemonMetrics:
    """The daemon's observer, its endpoint listening on ``address``; ``budgets`` reads the API
    budgets the runs share (:func:`cmflow.metrics.budgets.shared_budgets_reader`)."""
    metrics = DaemonMetrics(store_url, budgets)
    metrics.serve(address)
    return metrics
