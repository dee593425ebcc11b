"""The run lock's heartbeat (``cmflow.stages.run_lock``): a run holds its workflow's lock with a
short lease that it renews while it runs, so that a run that dies on another machine lets its
workflow go within the lease; a run that loses its lock is asked to stop; a hung run lets go
after its longest hold. On SQLite and PostgreSQL; the holders are "on another host" (a host name
that is neither this one nor the other's), so that only the lease, never a process check, decides."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from cmflow.foundation.stopping import StopRequest
from cmflow.stages.run_lock import held_run_lock
from cmflow.store import LockOwner, WorkflowBusy, open_store

LEASE = timedelta(seconds=1.5)
ELSEWHERE = LockOwner("host-b#0", 4242, "other")
"""A run on another machine: a lock holder on a third one is judged by its lease alone."""


def wait_until(condition, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_renewing_a_run_lock_extends_it_for_its_holder_only(any_store_url):
    mine = LockOwner("host-a#0", 1, "mine")
    with open_store(any_store_url) as store:
        store.acquire_run_lock("weekly", mine, timedelta(seconds=-1))  # expired at once
        assert store.renew_run_lock("weekly", mine, timedelta(hours=1))  # nobody took it: renewed
        with pytest.raises(WorkflowBusy):
            store.acquire_run_lock("weekly", ELSEWHERE, timedelta(hours=1))
        assert not store.renew_run_lock("weekly", ELSEWHERE, timedelta(hours=1))  # not its holder
        assert not store.renew_run_lock("daily", mine, timedelta(hours=1))  # no lock at all


def test_a_running_run_keeps_its_lock_past_its_lease_and_a_dead_one_lets_go_within_it(any_store_url):
    """Held for three leases by a live run, the lock is never free; left by a run that stopped
    beating (its process died on another host), it is free a lease later."""
    stop = StopRequest()
    with open_store(any_store_url) as store:
        with held_run_lock(store, "weekly", lease=LEASE, longest=timedelta(hours=1), stop=stop):
            deadline = time.monotonic() + 3 * LEASE.total_seconds()
            while time.monotonic() < deadline:
                with pytest.raises(WorkflowBusy):
                    store.acquire_run_lock("weekly", ELSEWHERE, timedelta(hours=1))
                time.sleep(LEASE.total_seconds() / 4)
        assert not stop.is_set()
        store.acquire_run_lock("weekly", ELSEWHERE, timedelta(hours=1))  # given back at the end
        store.release_run_lock("weekly", ELSEWHERE)

        dead = LockOwner("host-c#0", 77, "dead")  # took it with the same lease, then died
        store.acquire_run_lock("daily", dead, LEASE)
        taken_at = time.monotonic()
        assert wait_until(lambda: _takes(store, "daily"))
        assert time.monotonic() - taken_at < 5 * LEASE.total_seconds()


def test_a_run_whose_lock_is_taken_over_is_asked_to_stop(any_store_url, caplog):
    """The run's lock lapsed (its machine paused) and another run took it: the next beat finds
    it gone and sets the run's stop request, so that it commits nothing."""
    stop = StopRequest()
    with open_store(any_store_url) as store:
        with held_run_lock(store, "weekly", lease=LEASE, longest=timedelta(hours=1), stop=stop) as owner:
            store.release_run_lock("weekly", owner)  # as if it had expired ...
            store.acquire_run_lock("weekly", ELSEWHERE, timedelta(hours=1))  # ... and been taken over
            assert wait_until(stop.is_set)
        assert stop.reason == "stopped: its run lock expired and another run of the workflow took it over"
        with pytest.raises(WorkflowBusy):  # the other run's lock is left alone
            store.acquire_run_lock("weekly", LockOwner("host-d#0", 5, "third"), timedelta(hours=1))
    assert "weekly stops: its run lock expired" in caplog.text


def test_a_run_asked_to_stop_by_a_signal_keeps_its_lock_while_it_finishes(any_store_url):
    """SIGTERM asks a run to stop; it may still be sending messages: its lock stays renewed."""
    import signal

    stop = StopRequest()
    with open_store(any_store_url) as store:
        with held_run_lock(store, "weekly", lease=LEASE, longest=timedelta(hours=1), stop=stop):
            stop.set(signal.SIGTERM)
            time.sleep(2 * LEASE.total_seconds())
            assert not _takes(store, "weekly")


def test_a_run_hung_past_its_longest_hold_lets_its_lock_expire(any_store_url):
    stop = StopRequest()
    with open_store(any_store_url) as store:
        with held_run_lock(store, "weekly", lease=LEASE, longest=LEASE, stop=stop):
            assert wait_until(lambda: _takes(store, "weekly"))  # free while the run is still "running"
        assert not stop.is_set()


def _takes(store, workflow: str) -> bool:
    try:
        store.acquire_run_lock(workflow, ELSEWHERE, timedelta(hours=1))
    except WorkflowBusy:
        return False
    return True
