"""Outbox depth and the age of the oldest pending message, read from the store when scraped.

The daemon's loop does not know the outbox (runs fill it, the outbox thread empties it), so the
store is asked, in one query on the status index, at most every :data:`CACHE_SECONDS`: several
Prometheus servers scraping every few seconds cost the store one query.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timezone
from typing import Callable, Iterator

from cmflow.metrics.server import said

CACHE_SECONDS = 5.0
"""How long one reading of the store answers scrapes."""

log = logging.getLogger("cmflow.metrics")


class OutboxCollector:
    """A prometheus-client collector of ``cmflow_outbox_messages{status}``,
    ``cmflow_outbox_oldest_pending_age_seconds`` and ``cmflow_store_up``."""

    def __init__(self, store_url: str, cache_seconds: float = CACHE_SECONDS,
                 clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)) -> None:
        self.store_url = store_url
        self.cache_seconds = cache_seconds
        self.clock = clock
        self._store = None
        self._lock = threading.Lock()
        self._read_at: float | None = None
        self._depth = None
        self._failing = False

    def collect(self) -> Iterator[object]:
        from prometheus_client.core import GaugeMetricFamily

        depth = self._reading()
        up = GaugeMetricFamily("cmflow_store_up", "1 when the state store answered the last outbox reading.")
        up.add_metric([], 0 if depth is None else 1)
        yield up
        if depth is None:
            return
        messages = GaugeMetricFamily("cmflow_outbox_messages", "Outbox messages not delivered, by status "
                                     "(pending: waiting to be sent or retried; dead: given up).",
                                     labels=["status"])
        messages.add_metric(["pending"], depth.pending)
        messages.add_metric(["dead"], depth.dead)
        yield messages
        age = GaugeMetricFamily("cmflow_outbox_oldest_pending_age_seconds",
                                "Seconds since the oldest pending message was queued (0: none pending).")
        age.add_metric([], 0.0 if depth.oldest_pending is None
                       else max(0.0, (self.clock() - depth.oldest_pending).total_seconds()))
        yield age

    def close(self) -> None:
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None

    def _reading(self):
        """The outbox's depth, from the cache or the store; None when the store fails."""
        with self._lock:  # concurrent scrapes: one query
            now = time.monotonic()
            if self._read_at is not None and now - self._read_at < self.cache_seconds:
                return self._depth
            try:
                if self._store is None:
                    from cmflow.store import open_store

                    self._store = open_store(self.store_url, read_only=True)
                self._depth = self._store.outbox_depth()
            except Exception as exc:  # said once per outage, not at every scrape
                if not self._failing:
                    log.warning("metrics: cannot read the outbox: %s", said(exc),
                                extra={"event": "metrics"})
                self._failing, self._depth = True, None
            else:
                self._failing = False
            self._read_at = now
            return self._depth
