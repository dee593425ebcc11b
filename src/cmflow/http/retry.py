"""Retries with exponential backoff and jitter, honouring the waits platforms ask for.

The loop is tenacity's; cmflow only decides what is worth retrying (:class:`Transient`), how
long to wait (the platform's own wait when it gives one, else backoff with jitter) and when to
give up (attempts, or a maximum total wait so that a daily quota fails fast with a clear error
instead of sleeping until midnight).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable, TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception_type, wait_exponential, wait_random

log = logging.getLogger("cmflow.http")
T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How hard the kit tries before an error reaches the source."""

    max_attempts: int = 6
    backoff_initial: float = 1.0
    """Seconds before the first retry when the platform names no wait; doubles each time."""
    backoff_max: float = 120.0
    jitter: float = 1.0
    """Up to this many seconds are added at random to each backoff, so clients do not retry in step."""
    max_total_wait: float = 900.0
    """Seconds one call may spend waiting (backoff, platform waits, budget holds) before it fails."""


class Transient(Exception):
    """An attempt failed in a way that may pass: a throttle, a server error, a timeout."""

    def __init__(self, reason: str, *, throttled: bool = False, wait: float | None = None,
                 status: int | None = None, code: str | int | None = None) -> None:
        self.reason, self.throttled, self.wait, self.status, self.code = reason, throttled, wait, status, code
        super().__init__(reason)


@dataclass
class CallState:
    """What one call (with all its attempts) has spent so far."""

    waited: float = 0.0
    attempts: int = 0
    gave_up_because: str = ""
    """``"attempts"`` or ``"wait"`` once retries stop."""
    next_wait: float = 0.0
    """The wait that was not taken when retries stopped."""
    log_retry: Callable[[Transient, float, int], None] = field(default=lambda exc, wait, attempt: None)


def call_with_retries(attempt: Callable[[CallState], T], *, policy: RetryPolicy, state: CallState,
                      sleep: Callable[[float], None]) -> T:
    """Run ``attempt`` until it returns, raises a non-:class:`Transient` error, or retries stop.

    When retries stop, the last :class:`Transient` is raised; ``state`` says why."""
    backoff = (wait_exponential(multiplier=policy.backoff_initial, max=policy.backoff_max)
               + wait_random(0, policy.jitter))

    def wait(retry_state: RetryCallState) -> float:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(exc, Transient) and exc.wait is not None:
            return exc.wait
        return backoff(retry_state)

    def stop(retry_state: RetryCallState) -> bool:
        upcoming = retry_state.upcoming_sleep
        state.next_wait = upcoming
        if retry_state.attempt_number >= policy.max_attempts:
            state.gave_up_because = "attempts"
        elif state.waited + upcoming > policy.max_total_wait:
            state.gave_up_because = "wait"
        return bool(state.gave_up_because)

    def sleep_and_count(seconds: float) -> None:
        state.waited += seconds
        sleep(seconds)

    def before_sleep(retry_state: RetryCallState) -> None:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(exc, Transient):
            state.log_retry(exc, retry_state.upcoming_sleep, retry_state.attempt_number)

    def counted_attempt() -> T:
        state.attempts += 1
        return attempt(state)

    retrying = Retrying(sleep=sleep_and_count, wait=wait, stop=stop, reraise=True,
                        retry=retry_if_exception_type(Transient), before_sleep=before_sleep)
    return retrying(counted_attempt)
