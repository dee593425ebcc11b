"""The run lock's heartbeat (``cmflow.stages.run_lock``): a run holds its workflow's lock with a
short lease that it renews while it runs, so that a run that dies on another machine lets its
workflow go within the lease; a run that loses its lock is asked to stop; a hung run lets go
after its longest hold. On SQLite and PostgreSQL; the holders are "on another host" (a host name
that is neither this one nor the other's), so that only the lease, never a process check, decides."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from datetime import timedelta

import pytest

from cmflow.foundation.stopping import StopRequest
from cmflow.stages.run_lock import held_run_lock
from cmflow.store import LockOwner, WorkflowBusy, open_store

LEASE = timedelta(seconds=3)  # the shortest lease [daemon] allows
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
        store.acquire_run_lock("weekly", mine, timedelta(hours=1))
        assert store.renew_run_lock("weekly", mine, timedelta(hours=1))
        with pytest.raises(WorkflowBusy):
            store.acquire_run_lock("weekly", ELSEWHERE, timedelta(hours=1))
        assert not store.renew_run_lock("weekly", ELSEWHERE, timedelta(hours=1))  # not its holder
        assert not store.renew_run_lock("daily", mine, timedelta(hours=1))  # no lock at all


def test_an_expired_run_lock_is_not_revived_by_its_holder(any_store_url):
    """Once expired, another run may have judged the lock free: its late holder cannot renew it."""
    mine = LockOwner("host-a#0", 1, "mine")
    with open_store(any_store_url) as store:
        store.acquire_run_lock("weekly", mine, timedelta(seconds=-1))  # expired at once
        assert not store.renew_run_lock("weekly", mine, timedelta(hours=1))
        store.acquire_run_lock("weekly", ELSEWHERE, timedelta(hours=1))  # free for another run


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
        assert wait_until(lambda: takes(store, "daily"))
        assert time.monotonic() - taken_at < 5 * LEASE.total_seconds()


def test_a_run_whose_lock_is_taken_over_is_asked_to_stop(any_store_url, caplog):
    """The run's lock lapsed (its machine paused) and another run took it: the next beat finds
    it gone and sets the run's stop request, so that it commits nothing."""
    stop = StopRequest()
    with open_store(any_store_url) as store:
        with held_run_lock(store, "weekly", lease=LEASE, longest=timedelta(hours=1), stop=stop) as hold:
            store.release_run_lock("weekly", hold.owner)  # as if it had expired ...
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
            deadline = time.monotonic() + 2 * LEASE.total_seconds()
            while time.monotonic() < deadline:
                assert not takes(store, "weekly")
                time.sleep(0.2)


def test_a_run_hung_past_its_longest_hold_lets_its_lock_expire_and_is_asked_to_stop(any_store_url, caplog):
    stop = StopRequest()
    with open_store(any_store_url) as store:
        with held_run_lock(store, "weekly", lease=LEASE, longest=LEASE, stop=stop):
            assert wait_until(stop.is_set)  # told (a sixth of the lease before the lock runs out) ...
            assert wait_until(lambda: takes(store, "weekly"))  # ... which it then does
    assert stop.reason == "stopped: it held its run lock for its longest hold (3 s)"
    assert "weekly stops: it held its run lock for its longest hold" in caplog.text


def test_a_run_whose_own_write_outlasts_its_lease_keeps_its_lock_and_goes_on(any_store_url, caplog):
    """The run's own commit (a year of measurements on a loaded machine) holds the store's write
    lock, or the lock's row, longer than the lease: the heartbeat cannot renew meanwhile, but
    nobody can take the lock either. The run is not stopped, and the write leaves the lock a
    whole lease from its end, so that the run's last write (its end) is its own."""
    from datetime import date

    stop = StopRequest()
    with open_store(any_store_url) as store:
        with held_run_lock(store, "weekly", lease=LEASE, longest=timedelta(hours=1), stop=stop) as hold:
            run_id = store.start_run("weekly", "weekly.toml", date.today(), date.today(), False, lock=hold)
            with store._run_writing(run_id) as (_connection, held):  # the commit's transaction, kept open
                assert held
                time.sleep(1.5 * LEASE.total_seconds())
            assert not stop.is_set(), stop.reason
            assert not takes(store, "weekly")  # extended when the write committed, not when it began
            store.finish_run(run_id, status="ok", stats={}, error=None)
        assert [r.status for r in store.runs("weekly")] == ["ok"]
    assert "stops:" not in caplog.text


def test_a_run_past_its_longest_hold_is_stopped_even_while_it_writes_and_its_write_extends_nothing(
        any_store_url):
    """A run hung in its own write past its longest hold: it is asked to stop all the same, and
    its write leaves the lock no longer than the longest hold (free as soon as it commits)."""
    from datetime import date

    stop = StopRequest()
    with open_store(any_store_url) as store:
        with held_run_lock(store, "weekly", lease=LEASE, longest=LEASE, stop=stop) as hold:
            run_id = store.start_run("weekly", "weekly.toml", date.today(), date.today(), False, lock=hold)
            with store._run_writing(run_id) as (_connection, held):
                assert held
                assert wait_until(stop.is_set, 1.5 * LEASE.total_seconds())  # told while still writing
                time.sleep(1.0)  # and it writes on, past the end of its longest hold
            assert stop.reason == "stopped: it held its run lock for its longest hold (3 s)"
            assert takes(store, "weekly")  # the write extended the lock by nothing past the longest hold


def test_a_run_waiting_for_the_store_before_its_write_is_stopped_before_its_lock_runs_out(any_store_url):
    """Waiting for the store (SQLite: another process's long write; PostgreSQL: another session
    holding the lock's row) is not writing: the run is told to stop before its lock runs out, and
    its write, once it gets the store, finds the lock lapsed and keeps nothing."""
    from datetime import date

    from cmflow.store import RunLockLost

    if any_store_url.startswith("sqlite"):
        path = any_store_url.removeprefix("sqlite:///")
        blocking = (f"import sqlite3, time\nc = sqlite3.connect({path!r}, isolation_level=None)\n"
                    "c.execute('BEGIN IMMEDIATE'); print('held', flush=True); time.sleep(7); c.execute('COMMIT')")
    else:
        import sqlalchemy as sa

        libpq = sa.make_url(any_store_url).set(drivername="postgresql").render_as_string(hide_password=False)
        blocking = (f"import psycopg, time\nc = psycopg.connect({libpq!r})\n"
                    "c.execute(\"SELECT * FROM run_locks WHERE workflow = 'weekly' FOR UPDATE\")\n"
                    "print('held', flush=True); time.sleep(7); c.rollback()")
    stop = StopRequest()
    with open_store(any_store_url) as store:
        with held_run_lock(store, "weekly", lease=LEASE, longest=timedelta(hours=1), stop=stop) as hold:
            run_id = store.start_run("weekly", "weekly.toml", date.today(), date.today(), False, lock=hold)
            blocker = subprocess.Popen([sys.executable, "-c", blocking], stdout=subprocess.PIPE, text=True)
            try:
                assert blocker.stdout.readline().strip() == "held"
                seen = {}
                watcher = threading.Thread(target=lambda: seen.update(
                    stopped=wait_until(stop.is_set, 5.0), writing=hold.tenure.writing))
                watcher.start()
                with pytest.raises(RunLockLost):
                    store.commit_run(run_id, workflow="weekly", measurements=None, alerts=[])
                watcher.join()
            finally:
                blocker.kill()
                blocker.wait()
    assert seen == {"stopped": True, "writing": False}, seen
    assert stop.reason.startswith("stopped: its run lock could not be renewed within its lease (3 s)")


def test_a_reader_judging_a_run_dead_gives_its_own_long_write_a_lease(any_store_url):
    """The Celery executor calls a run dead once its lock has lapsed: while the run's own write
    outlasts the lease, the lock looks lapsed until that write commits, so the executor gives it
    a lease of grace (``run_lock_held(..., grace=lease)``) before calling it interrupted."""
    from datetime import date

    from cmflow.store import this_host

    stop = StopRequest()
    with open_store(any_store_url) as store, open_store(any_store_url) as other:
        with held_run_lock(store, "weekly", lease=LEASE, longest=timedelta(hours=1), stop=stop) as hold:
            run_id = store.start_run("weekly", "weekly.toml", date.today(), date.today(), False, lock=hold)
            with store._run_writing(run_id):
                time.sleep(1.5 * LEASE.total_seconds())
                assert other.run_lock_held("weekly", this_host(), grace=LEASE)
            assert other.run_lock_held("weekly", this_host())  # extended as it committed
            store.finish_run(run_id, status="ok", stats={}, error=None)


class _FailingRenewals:
    """The store, but renewing a run lock raises (``hang`` = False) or hangs until released: a
    fault put between the run and a real store, as a store out of reach would behave."""

    def __init__(self, store, *, hang: bool) -> None:
        self._store, self._hang = store, hang
        self.release = threading.Event()

    def __getattr__(self, name):
        return getattr(self._store, name)

    def renew_run_lock(self, *args, **kwargs):
        if self._hang:
            self.release.wait(60)
        raise ConnectionError("the state store cannot be reached")


@pytest.mark.parametrize("hang", [False, True], ids=["renewal raises", "renewal hangs"])
def test_a_run_that_cannot_renew_its_lock_is_asked_to_stop_before_it_runs_out(any_store_url, hang):
    stop = StopRequest()
    with open_store(any_store_url) as real:
        store = _FailingRenewals(real, hang=hang)
        with held_run_lock(store, "weekly", lease=LEASE, longest=timedelta(hours=1), stop=stop):
            try:
                taken = time.monotonic()
                assert wait_until(stop.is_set)
                assert time.monotonic() - taken < LEASE.total_seconds()  # told before its lock runs out
            finally:
                store.release.set()  # before the lock is let go, which waits for the hanging renewal
    assert stop.reason.startswith("stopped: its run lock could not be renewed within its lease (3 s)")


def test_a_run_whose_store_another_process_keeps_locked_is_asked_to_stop_in_time(store_url, caplog):
    """A real second process holds SQLite's write lock (a big commit, a backup): the renewal waits
    on it; the run is told before its lease is over, not once the busy timeout gives up."""
    path = store_url.removeprefix("sqlite:///")
    stop = StopRequest()
    with open_store(store_url) as store:
        with held_run_lock(store, "weekly", lease=LEASE, longest=timedelta(hours=1), stop=stop):
            writer = subprocess.Popen([sys.executable, "-c", (
                "import sqlite3, sys, time\n"
                f"c = sqlite3.connect({path!r}, timeout=30); c.execute('BEGIN IMMEDIATE')\n"
                "print('locked', flush=True); time.sleep(30)")], stdout=subprocess.PIPE, text=True)
            try:
                assert writer.stdout.readline().strip() == "locked"
                locked = time.monotonic()
                assert wait_until(stop.is_set)
                assert time.monotonic() - locked < LEASE.total_seconds()
            finally:
                writer.kill()
                writer.wait()
    assert stop.reason.startswith("stopped: its run lock could not be renewed")
    # The warning says how long the renewal waited (a sixth of the lease), not the store's busy timeout.
    assert "is busy (locked by another process) after 0.5 s" in caplog.text, caplog.text


def takes(store, workflow: str) -> bool:
    """Whether another owner can take ``workflow``'s run lock now (it takes it if so)."""
    try:
        store.acquire_run_lock(workflow, ELSEWHERE, timedelta(hours=1))
    except WorkflowBusy:
        return False
    return True


def test_a_renewal_waits_its_own_short_timeout_for_a_store_another_process_keeps_locked(any_store_url):
    """A real second process keeps the lock's row (PostgreSQL) or the whole file (SQLite) locked:
    the renewal gives up after its timeout, not the store's busy timeout (10 s); the store's
    other writes still wait as long as they did."""
    mine = LockOwner("host-a#0", 1, "mine")
    with open_store(any_store_url) as store:
        store.acquire_run_lock("weekly", mine, timedelta(hours=1))
        holder = subprocess.Popen([sys.executable, "-c", _LOCKING.format(url=any_store_url)],
                                  stdout=subprocess.PIPE, text=True)
        try:
            assert holder.stdout.readline().strip() == "locked"
            asked = time.monotonic()
            with pytest.raises(Exception):
                store.renew_run_lock("weekly", mine, timedelta(hours=1), timeout=timedelta(seconds=0.5))
            assert time.monotonic() - asked < 5
        finally:
            holder.kill()
            holder.wait()
        assert store.renew_run_lock("weekly", mine, timedelta(hours=1))  # once the other process is gone


_LOCKING = """
import sqlalchemy as sa, sys, time
url = {url!r}
if url.startswith("sqlite"):
    import sqlite3
    c = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=30); c.execute("BEGIN IMMEDIATE")
else:
    c = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1)).connect()
    c.exec_driver_sql("SELECT * FROM run_locks FOR UPDATE")
print("locked", flush=True)
time.sleep(60)
"""


def test_taking_a_lock_whose_row_another_transaction_holds_says_busy_and_does_not_hang(postgres_url, monkeypatch):
    """PostgreSQL: a paused process (or a run's long write) keeps the lock's row locked in an open
    transaction; taking the lock waits a bounded time, then says the workflow is busy, so that a
    daemon's loop (its health run takes a lock too) never hangs on it."""
    import sqlalchemy as sa

    from cmflow.store import sql

    monkeypatch.setattr(sql, "RUN_LOCK_ROW_WAIT", 1.0)
    with open_store(postgres_url) as store:
        store.acquire_run_lock("weekly", ELSEWHERE, timedelta(seconds=-1))  # expired: free to take ...
        libpq = sa.make_url(postgres_url).set(drivername="postgresql").render_as_string(hide_password=False)
        holder = subprocess.Popen([sys.executable, "-c", (
            f"import psycopg, time\nc = psycopg.connect({libpq!r})\n"
            "c.execute(\"SELECT * FROM run_locks WHERE workflow = 'weekly' FOR UPDATE\")\n"
            "print('held', flush=True); time.sleep(30)")], stdout=subprocess.PIPE, text=True)
        try:
            assert holder.stdout.readline().strip() == "held"  # ... but its row is locked
            asked = time.monotonic()
            with pytest.raises(WorkflowBusy, match="being written by another run"):
                store.acquire_run_lock("weekly", LockOwner("host-c#0", 7, "third"), timedelta(seconds=30))
            assert time.monotonic() - asked < 10
        finally:
            holder.kill()
            holder.wait()
        store.acquire_run_lock("weekly", LockOwner("host-c#0", 7, "third"), timedelta(seconds=30))  # free again
