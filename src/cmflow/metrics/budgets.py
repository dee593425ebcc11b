"""API budget left per platform, from whatever keeps the budgets (shared in Redis, issue 19).

The collector is handed a snapshot function yielding ``(platform, remaining, reset_at)``, one
per budget (a platform has one per token); it never sees tokens. Per platform it exposes the
budget closest to running out: the one whose requests will be throttled first. A reading serves
scrapes for :data:`~cmflow.metrics.outbox.CACHE_SECONDS`, as the outbox's does.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Callable, Iterable, Iterator

from cmflow.metrics.outbox import CACHE_SECONDS
from cmflow.metrics.server import said

BudgetSnapshot = Callable[[], Iterable[tuple[str, "float | None", "datetime | float | None"]]]
"""Yields ``(platform, requests remaining, when the budget resets)``, read-only: remaining None
when the budget has no count (the platform's headers pace it); the reset a datetime, Unix
seconds, or None (none pending)."""

log = logging.getLogger("cmflow.metrics")


def no_budgets() -> Iterable[tuple[str, float | None, datetime | float | None]]:
    """The snapshot when no shared budgets are known: none."""
    return ()


def shared_budgets_reader(url: str | None = None) -> BudgetSnapshot:
    """The snapshot of the budgets shared in Redis at ``url`` (else ``CMFLOW_SHARED_BUDGETS``), or
    :func:`no_budgets` when the runs share none."""
    from cmflow.http.shared_budget import shared_budgets_prefix, shared_budget_snapshot, shared_budgets_url

    redis_url = shared_budgets_url(url)
    if not redis_url:
        return no_budgets

    def snapshot() -> Iterable[tuple[str, float | None, datetime | float | None]]:
        return [(budget.platform, budget.remaining, budget.reset_at)
                for budget in shared_budget_snapshot(redis_url, prefix=shared_budgets_prefix())]

    return snapshot


class BudgetCollector:
    """``cmflow_api_budget_remaining{platform}``, ``cmflow_api_budget_reset_timestamp_seconds{platform}``
    and ``cmflow_api_budgets{platform}``, read from ``snapshot`` at each scrape."""

    def __init__(self, snapshot: BudgetSnapshot = no_budgets, cache_seconds: float = CACHE_SECONDS) -> None:
        self.snapshot = snapshot
        self.cache_seconds = cache_seconds
        self._failing = False
        self._read: tuple[float, list] | None = None

    def collect(self) -> Iterator[object]:
        from prometheus_client.core import GaugeMetricFamily

        tightest: dict[str, tuple[float, datetime | float | None]] = {}
        counts: dict[str, int] = {}
        try:
            for platform, remaining, reset_at in self._reading():
                counts[platform] = counts.get(platform, 0) + 1
                if remaining is not None and (platform not in tightest or remaining < tightest[platform][0]):
                    tightest[platform] = (float(remaining), reset_at)
        except Exception as exc:  # Redis down: no budget samples, said once per outage
            if not self._failing:
                log.warning("metrics: cannot read the API budgets: %s", said(exc),
                            extra={"event": "metrics"})
            self._failing = True
            return
        self._failing = False
        remaining = GaugeMetricFamily("cmflow_api_budget_remaining", "Requests left in the platform's budget "
                                      "closest to running out (one budget per token).", labels=["platform"])
        resets = GaugeMetricFamily("cmflow_api_budget_reset_timestamp_seconds", "When that budget may be used "
                                   "again while the platform holds it (Unix time).", labels=["platform"])
        budgets = GaugeMetricFamily("cmflow_api_budgets", "Budgets (tokens) known for the platform.",
                                    labels=["platform"])
        for platform in sorted(counts):
            budgets.add_metric([platform], counts[platform])
            if platform not in tightest:
                continue
            left, reset_at = tightest[platform]
            remaining.add_metric([platform], left)
            if reset_at is not None:
                resets.add_metric([platform], reset_at.timestamp() if isinstance(reset_at, datetime)
                                  else float(reset_at))
        yield from (remaining, resets, budgets)

    def _reading(self) -> list:
        """The snapshot, from the cache when it is fresh (a failed reading is not cached)."""
        now = time.monotonic()
        if self._read is None or now - self._read[0] >= self.cache_seconds:
            self._read = (now, list(self.snapshot()))
        return self._read[1]
