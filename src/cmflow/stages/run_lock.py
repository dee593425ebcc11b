"""The workflow's run lock, held while a run runs: taken with a short lease and renewed by a
heartbeat, so that a run whose process dies anywhere (kill -9, its machine gone) lets go of its
workflow within the lease, not hours later.

The lock also has a longest hold (the run's timeout and a margin, under the daemon): past it the
heartbeat stops renewing and the run is asked to stop, so that a run hung for good cannot keep
its workflow for ever. A run whose lock was taken over, or that could not renew it until it was
about to run out (its store out of reach or busy, a renewal hanging), is asked to stop too (its
``stop`` request). Whatever the run has not yet seen (its machine paused past its lease), the
store fences its writes: the transaction that keeps its results checks, on the database's
clock, that the lock is still its own, so that a slot is never recorded twice.
"""

from __future__ import annotations

import logging
import threading
import time
from contextlib import contextmanager
from datetime import timedelta
from typing import TYPE_CHECKING, Iterator

from cmflow.foundation.heartbeat import Heartbeat
from cmflow.foundation.secrets import redactor
from cmflow.foundation.stopping import StopRequest
from cmflow.stages.failures import one_line
from cmflow.store import LockOwner, LockTenure, RunLockHold

if TYPE_CHECKING:
    from cmflow.store import Store

log = logging.getLogger("cmflow")

RUN_LOCK_LEASE = timedelta(seconds=30)
"""How long a run's lock lasts unless renewed (every third of it, while the run runs)."""


@contextmanager
def held_run_lock(store: "Store", workflow_key: str, *, lease: timedelta, longest: timedelta,
                  stop: StopRequest) -> Iterator[RunLockHold]:
    """Take ``workflow_key``'s run lock (raises :class:`~cmflow.store.WorkflowBusy`), renew it
    every third of ``lease`` for at most ``longest`` in all, and give it back at the end. Yields
    the hold to hand to :meth:`~cmflow.store.Store.start_run`: the run's fenced writes extend
    the lock too, and while one is under way (it holds the lock's row) the lock is not renewed
    and the run is not stopped for want of a renewal.

    ``stop`` is set when the run may no longer hold it: another run took it over, a renewal
    failed or hung until the lock was about to run out (a sixth of the lease before: the run
    then cannot know it still holds it), or ``longest`` is over. The store's fence
    (:class:`~cmflow.store.RunLockHold`) keeps a run that has not yet seen its stop from
    committing anything."""
    owner = LockOwner.this_process()
    started = time.monotonic()
    first = min(lease, longest)
    store.acquire_run_lock(workflow_key, owner, first)
    tenure = LockTenure(started + first.total_seconds(), started + longest.total_seconds())
    lost = threading.Event()
    margin = lease.total_seconds() / 6  # the run is told this long before its lock runs out

    def beat() -> None:
        asked = time.monotonic()
        left = longest.total_seconds() - (asked - started)
        if left <= 0 or lost.is_set() or tenure.writing:
            return  # held long enough (the lock runs out on its own), held by another run now, or being written under
        ttl = min(lease, timedelta(seconds=left))
        try:
            held = store.renew_run_lock(workflow_key, owner, ttl, timeout=timedelta(seconds=margin))
        except Exception as exc:  # a busy or unreachable store: the next beat tries again
            log.warning("could not renew the run lock of %s: %s", workflow_key, redactor(one_line(exc)))
            return
        if held:
            tenure.extended(asked, ttl)
        elif lost.is_set():
            return
        else:
            lost.set()
            _lost(stop, workflow_key, held_longest(asked) or
                  "its run lock expired and another run of the workflow took it over")

    def held_longest(now: float) -> str | None:
        """Why the run stops when its longest hold is (about to be) over; None before."""
        if now - started >= longest.total_seconds() - margin:
            return f"it held its run lock for its longest hold ({_seconds(longest)})"
        return None

    def watch() -> None:
        """Apart from the beats (one may hang in the store): stop the run before its lock runs out
        (not while the run's own write holds it: that write extends it when it commits)."""
        now = time.monotonic()
        longest_over = held_longest(now)
        if lost.is_set() or (longest_over is None and (tenure.writing or now < tenure.held_until - margin)):
            return
        lost.set()
        _lost(stop, workflow_key, longest_over or f"its run lock could not be renewed within its lease "
                                                  f"({_seconds(lease)}): another run may take it over")

    try:
        with Heartbeat(beat, lease.total_seconds() / 3, "cmflow-run-lock"), \
                Heartbeat(watch, min(margin / 2, 1.0), "cmflow-run-lock-watch"):
            yield RunLockHold(owner, first, tenure)
    finally:
        _release_run_lock(store, workflow_key, owner)


def _seconds(duration: timedelta) -> str:
    return f"{duration.total_seconds():.0f} s"


def _lost(stop: StopRequest, workflow_key: str, why: str) -> None:
    if not stop.is_set():
        log.error("%s stops: %s", workflow_key, why)
        stop.stop_because(f"stopped: {why}")


def _release_run_lock(store: "Store", workflow_key: str, owner: LockOwner) -> None:
    """Give the run lock back; a store that refuses (locked, gone) must not hide how the run
    ended: the lock is taken over by the next run once its lease has run out (it is no longer
    renewed) or this process has ended; until then, a run of the workflow finds it busy."""
    try:
        store.release_run_lock(workflow_key, owner)
    except Exception as failure:
        log.warning("could not release the run lock of %s: %s; the next run takes it over once its lease "
                    "runs out or this process ends", workflow_key, redactor(one_line(failure)))
