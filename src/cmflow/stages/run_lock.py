"""The workflow's run lock, held while a run runs: taken with a short lease and renewed by a
heartbeat, so that a run whose process dies anywhere (kill -9, its machine gone) lets go of its
workflow within the lease, not hours later.

The lock also has a longest hold (the run's timeout and a margin, under the daemon): past it the
heartbeat stops renewing, so that a run hung for good cannot keep its workflow for ever. A run
that cannot renew its lock for a whole lease (its store out of reach, its machine paused) may
have lost it to another run: it is asked to stop before it commits anything (its ``stop``
request), so that a slot is never recorded twice.
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
from cmflow.store import LockOwner

if TYPE_CHECKING:
    from cmflow.store import Store

log = logging.getLogger("cmflow")

RUN_LOCK_LEASE = timedelta(seconds=30)
"""How long a run's lock lasts unless renewed (every third of it, while the run runs)."""


@contextmanager
def held_run_lock(store: "Store", workflow_key: str, *, lease: timedelta, longest: timedelta,
                  stop: StopRequest) -> Iterator[LockOwner]:
    """Take ``workflow_key``'s run lock (raises :class:`~cmflow.store.WorkflowBusy`), renew it
    every third of ``lease`` for at most ``longest`` in all, and give it back at the end. Losing
    it (another run took it over after it expired) sets ``stop``."""
    owner = LockOwner.this_process()
    started = time.monotonic()
    store.acquire_run_lock(workflow_key, owner, min(lease, longest))
    renewed = [started]  # time.monotonic() before the last renewal that held
    lost = threading.Event()

    def beat() -> None:
        asked = time.monotonic()
        left = longest.total_seconds() - (asked - started)
        if left <= 0 or lost.is_set():
            return  # held long enough (the lock runs out on its own), or held by another run now
        try:
            held = store.renew_run_lock(workflow_key, owner, min(lease, timedelta(seconds=left)))
        except Exception as exc:  # a busy or unreachable store: the next beat tries again
            log.warning("could not renew the run lock of %s: %s", workflow_key, redactor(one_line(exc)))
            if asked - renewed[0] >= lease.total_seconds():
                lost.set()
                _lost(stop, workflow_key, f"its run lock could not be renewed for {lease.total_seconds():.0f} s")
            return
        if held:
            renewed[0] = asked
        else:
            lost.set()
            _lost(stop, workflow_key, "its run lock expired and another run of the workflow took it over")

    try:
        with Heartbeat(beat, lease.total_seconds() / 3, "cmflow-run-lock"):
            yield owner
    finally:
        _release_run_lock(store, workflow_key, owner)


def _lost(stop: StopRequest, workflow_key: str, why: str) -> None:
    if not stop.is_set():
        log.error("%s stops: %s", workflow_key, why)
        stop.stop_because(f"stopped: {why}")


def _release_run_lock(store: "Store", workflow_key: str, owner: LockOwner) -> None:
    """Give the run lock back; a store that refuses (locked, gone) must not hide how the run
    ended: the lock of a process that has ended is taken over by the next run."""
    try:
        store.release_run_lock(workflow_key, owner)
    except Exception as failure:
        log.warning("could not release the run lock of %s: %s; the next run takes it over",
                    workflow_key, redactor(one_line(failure)))
