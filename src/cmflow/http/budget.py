"""One request budget per platform and token, shared by every source of a run.

A budget bounds how many requests are in flight at once (a semaphore), how fast they start (a
token bucket: ``requests_per_second`` sustained, ``burst`` at once), and slows down when the
platform's usage headers say the wall is near (a hold until a reset time, or a spacing between
requests). Once an answer's rate headers tell the requests left in the window, they decide the
pace until its reset, and the static bucket (a guess made before any answer) stands aside. Quota-priced APIs (YouTube's units, GA4's tokens) can also cap the units a run spends.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator

from cmflow.http.platforms import Pace, Platform


class WaitTooLong(Exception):
    """Starting the next request would mean waiting longer than the caller allows."""

    def __init__(self, wait: float, reason: str, retry_at: float | None) -> None:
        self.wait, self.reason, self.retry_at = wait, reason, retry_at
        super().__init__(reason)


@dataclass(frozen=True)
class BudgetLimits:
    max_concurrency: int = 4
    requests_per_second: float | None = None
    burst: int = 1
    unit_limit: int | None = None
    """Units (e.g. YouTube quota units) the run may spend; ``None`` = not counted."""


class Budget(ABC):
    """A request budget for one platform and token, kept in the process (:class:`RequestBudget`)
    or in Redis for every worker (:class:`cmflow.http.shared_budget.SharedRequestBudget`).

    Both hold a request the same way (:meth:`slot`: the run's units, a concurrency slot, the
    start time booked, the wait); they differ in where the slots and the booking live."""

    name: str
    limits: BudgetLimits

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.units_spent = 0
        """Units this run spent (checked against ``limits.unit_limit``)."""
        self.in_flight = 0
        self.max_in_flight = 0
        """Most requests seen in flight at once in this process (for tests and the benchmark)."""

    @contextmanager
    def slot(self, *, max_wait: float, cost: int = 1) -> Iterator[float]:
        """Hold one request slot: wait for concurrency, rate and holds; yield the seconds waited.

        Raises :class:`WaitTooLong` (without waiting) when the wait would pass ``max_wait``."""
        self._spend(cost)
        holder = self._take_slot()
        try:
            wait, reason = self._reserve(cost)
            if wait > max_wait:
                raise WaitTooLong(wait, reason, self._now() + wait)
            if wait > 0:
                self._pause(wait)
            with self._lock:
                self.in_flight += 1
                self.max_in_flight = max(self.max_in_flight, self.in_flight)
            try:
                yield wait
            finally:
                with self._lock:
                    self.in_flight -= 1
        finally:
            self._give_slot(holder)

    def _spend(self, cost: int) -> None:
        with self._lock:
            limit = self.limits.unit_limit
            if limit is not None and self.units_spent + cost > limit:
                raise WaitTooLong(float("inf"), f"the run's budget of {limit} units is spent "
                                                f"({self.units_spent} used, this request costs {cost})", None)
            self.units_spent += cost

    @abstractmethod
    def _take_slot(self) -> object:
        """Wait for one of the ``max_concurrency`` slots; return what gives it back."""

    @abstractmethod
    def _give_slot(self, holder: object) -> None:
        """Give back the slot :meth:`_take_slot` took."""

    @abstractmethod
    def _reserve(self, cost: int) -> tuple[float, str]:
        """Book the next start time; return how long to wait for it and why."""

    @abstractmethod
    def _now(self) -> float: ...

    @abstractmethod
    def _pause(self, seconds: float) -> None: ...

    @abstractmethod
    def observe(self, pace: Pace | None) -> None:
        """Apply what an answer's usage headers asked for to every later request."""

    @abstractmethod
    def hold(self, until: float, reason: str) -> None:
        """No request starts before ``until`` (a reset time, a platform's wait)."""


class RequestBudget(Budget):
    """Concurrency, rate and pacing for one platform and token. Thread-safe."""

    def __init__(self, name: str, limits: BudgetLimits, *, clock: Callable[[], float],
                 sleep: Callable[[float], None]) -> None:
        super().__init__()
        self.name = name
        self.limits = limits
        self._clock, self._sleep = clock, sleep
        self._slots = threading.BoundedSemaphore(max(1, limits.max_concurrency))
        self._tokens = float(max(1, limits.burst))
        self._refilled_at = clock()
        self._hold_until = 0.0
        """No request starts before this (a reset time, a platform's wait)."""
        self._hold_reason = ""
        self._last_start = 0.0
        self._spacing: tuple[float, float | None, str] | None = None
        """(seconds between starts, until when, why)."""
        self._headers_known_until = 0.0
        """Until then the platform's rate headers pace requests, not the token bucket."""

    def _take_slot(self) -> None:
        self._slots.acquire()

    def _give_slot(self, holder: object) -> None:
        self._slots.release()

    def _now(self) -> float:
        return self._clock()

    def _pause(self, seconds: float) -> None:
        self._sleep(seconds)

    def _reserve(self, cost: int = 1) -> tuple[float, str]:
        """Book the next start time (the units are counted by the run); how long to wait and why."""
        with self._lock:
            now = self._clock()
            start, reason = now, ""
            if self._hold_until > start:
                start, reason = self._hold_until, self._hold_reason
            if self._spacing is not None:
                interval, until, why = self._spacing
                if until is not None and now >= until:
                    self._spacing = None
                elif self._last_start + interval > start:
                    start, reason = self._last_start + interval, why
            rate = self.limits.requests_per_second
            if rate and now >= self._headers_known_until:
                self._tokens = min(float(max(1, self.limits.burst)), self._tokens + (now - self._refilled_at) * rate)
                self._refilled_at = now
                self._tokens -= 1  # may go negative: a reservation later requests wait behind
                if self._tokens < 0 and now - self._tokens / rate > start:
                    start, reason = now - self._tokens / rate, f"{rate:g} requests/s"
            self._last_start = start
            return start - now, reason

    def observe(self, pace: Pace | None) -> None:
        """Apply what an answer's usage headers asked for to every later request."""
        if pace is None:
            return
        with self._lock:
            if pace.calm:
                self._spacing = None
            if pace.hold_until is not None and pace.hold_until > self._hold_until:
                self._hold_until, self._hold_reason = pace.hold_until, pace.reason
            if pace.interval is not None:
                self._spacing = (pace.interval, pace.until, pace.reason)
            if pace.known_until is not None and pace.known_until > self._headers_known_until:
                self._headers_known_until = pace.known_until
                self._tokens, self._refilled_at = float(max(1, self.limits.burst)), self._clock()

    def hold(self, until: float, reason: str) -> None:
        """No request starts before ``until`` (epoch seconds)."""
        self.observe(Pace(hold_until=until, reason=reason))


def token_fingerprint(token: str | None) -> str:
    """A short, non-reversible name for a token: budgets are keyed on it, never on the token."""
    return hashlib.sha256(token.encode()).hexdigest()[:12] if token else "anonymous"


class BudgetRegistries(ABC):
    """Where a client's budgets come from: one per platform and token, created on first use with
    the platform's defaults, kept in the process (:class:`BudgetRegistry`) or in Redis
    (:class:`cmflow.http.shared_budget.SharedBudgetRegistry`)."""

    def __init__(self) -> None:
        self._budgets: dict[tuple[str, str], Budget] = {}
        self._lock = threading.Lock()

    def get(self, platform: Platform, token: str | None, limits: BudgetLimits | None = None) -> Budget:
        """The budget of ``platform`` and ``token``; ``limits`` apply only when it is created here."""
        key = (platform.name, token_fingerprint(token))
        with self._lock:
            budget = self._budgets.get(key)
            if budget is None:
                limits = limits or BudgetLimits(platform.max_concurrency, platform.requests_per_second,
                                                platform.burst)
                budget = self._budgets[key] = self._new_budget(platform, key[1], limits)
            return budget

    @abstractmethod
    def _new_budget(self, platform: Platform, fingerprint: str, limits: BudgetLimits) -> Budget:
        """The budget of ``platform`` and the token named ``fingerprint``, made with ``limits``."""

    @abstractmethod
    def close(self) -> None:
        """Let go of what the budgets hold (connections, threads)."""


class BudgetRegistry(BudgetRegistries):
    """The budgets of one client, in this process."""

    def __init__(self, *, clock: Callable[[], float], sleep: Callable[[float], None]) -> None:
        super().__init__()
        self._clock, self._sleep = clock, sleep

    def _new_budget(self, platform: Platform, fingerprint: str, limits: BudgetLimits) -> RequestBudget:
        return RequestBudget(f"{platform.title} ({fingerprint})", limits, clock=self._clock, sleep=self._sleep)

    def close(self) -> None:
        """Nothing to let go of: the budgets live and die with the process."""
