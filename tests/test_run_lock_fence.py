"""The run lock fences a run's writes (``Store.start_run(lock=...)``): a run paused past its lease
(SIGSTOP: a VM pause, swap) whose lock another run took meanwhile commits nothing when it
resumes, even before its heartbeat notices; leases are judged on the database's clock. On a real
SQLite file and the real PostgreSQL server, the paused run in a process of its own."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import date, datetime, timedelta, timezone

import pytest

from cmflow.store import LockOwner, QueuedMessage, RunLockHold, WorkflowBusy, open_store
from test_run_lock_heartbeat import ELSEWHERE, takes, wait_until

LEASE = timedelta(seconds=3)  # the shortest lease [daemon] allows
"""A run on another machine: only the lease decides whether its lock is live."""

PAUSED_RUN = """
import sys
from datetime import date, datetime, timedelta, timezone
from cmflow.foundation.stopping import StopRequest
from cmflow.stages.run_lock import held_run_lock
from cmflow.store import QueuedMessage, RunLockLost, open_store

url, lease = sys.argv[1], timedelta(seconds=3)
stop = StopRequest()
with open_store(url) as store:
    with held_run_lock(store, "weekly", lease=lease, longest=timedelta(hours=1), stop=stop) as hold:
        run_id = store.start_run("weekly", "weekly.toml", date.today(), date.today(), False, lock=hold)
        stop.check()  # the runner's last check before it records: it passes, then the process pauses
        print("checked", run_id, flush=True)
        sys.stdin.readline()  # resumed: record at once, before the heartbeat can tell
        expires = datetime.now(timezone.utc) + timedelta(days=1)
        try:
            store.commit_run(run_id, workflow="weekly", measurements=None, alerts=[], messages=[
                QueuedMessage("paused-run", "weekly.toml", "mail", "email", "from the paused run", {}, expires)])
            print("committed", flush=True)
        except RunLockLost as lost:
            print("lost:", lost, flush=True)
        try:
            store.finish_run(run_id, status="ok", stats={}, error=None)
            print("finished ok", flush=True)
        except RunLockLost as lost:
            print("finish lost:", lost, flush=True)
"""


def test_a_run_paused_past_its_lease_commits_nothing_once_another_run_took_its_lock(any_store_url, tmp_path):
    with open_store(any_store_url) as store:
        pass  # created and migrated before the run starts
    script = tmp_path / "paused_run.py"
    script.write_text(PAUSED_RUN)
    run = subprocess.Popen([sys.executable, str(script), any_store_url], stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE, text=True)
    try:
        checked, run_id = run.stdout.readline().split()
        assert checked == "checked"
        os.kill(run.pid, signal.SIGSTOP)
        with open_store(any_store_url) as store:
            assert wait_until(lambda: takes(store, "weekly"), 4 * LEASE.total_seconds())  # its lease ran out
            os.kill(run.pid, signal.SIGCONT)
            out, _ = run.communicate("go\n", timeout=60)
            assert "lost: its run lock expired or another run of the workflow took it over" in out
            assert "finish lost:" in out
            assert store.outbox() == []  # nothing of the paused run was kept
            (mine,) = [r for r in store.runs("weekly") if r.id == int(run_id)]
            assert mine.status == "interrupted"
            assert "its run lock expired or another run of the workflow took it over" in mine.error
            with pytest.raises(WorkflowBusy):  # the other run still holds its lock
                store.acquire_run_lock("weekly", LockOwner("host-c#0", 5, "third"), LEASE)
    finally:
        if run.poll() is None:
            os.kill(run.pid, signal.SIGCONT)
            run.kill()
            run.wait()


def test_a_run_that_still_holds_its_lock_commits_and_finishes(any_store_url):
    mine = LockOwner("host-a#0", 1, "mine")
    with open_store(any_store_url) as store:
        store.acquire_run_lock("weekly", mine, LEASE)
        run_id = store.start_run("weekly", "weekly.toml", date.today(), date.today(), False,
                                 lock=RunLockHold(mine, LEASE))
        expires = datetime.now(timezone.utc) + timedelta(days=1)
        store.commit_run(run_id, workflow="weekly", measurements=None, alerts=[], messages=[
            QueuedMessage("kept", "weekly.toml", "mail", "email", "kept", {}, expires)])
        store.finish_run(run_id, status="ok", stats={}, error=None)
        assert [m.key for m in store.outbox()] == ["kept"]
        assert store.runs("weekly")[0].status == "ok"


def test_starting_a_run_leaves_the_row_of_a_run_whose_lock_is_live_alone(any_store_url):
    """A run marked running whose holder's lock is live is running, not interrupted, whoever
    starts a run of that workflow without its lock."""
    with open_store(any_store_url) as store:
        store.acquire_run_lock("weekly", ELSEWHERE, timedelta(hours=1))
        theirs = store.start_run("weekly", "weekly.toml", date.today(), date.today(), False,
                                 lock=RunLockHold(ELSEWHERE, timedelta(hours=1)))
        store.start_run("weekly", "weekly.toml", date.today(), date.today(), False)
        assert {r.id: r.status for r in store.runs("weekly")}[theirs] == "running"
        store.release_run_lock("weekly", ELSEWHERE)
        store.start_run("weekly", "weekly.toml", date.today(), date.today(), False)
        assert {r.id: r.status for r in store.runs("weekly")}[theirs] == "interrupted"  # its holder is gone


def test_run_locks_are_judged_on_the_database_clock_not_the_callers(postgres_url, monkeypatch):
    """Two hosts sharing a PostgreSQL store, one's clock 31 s ahead: it neither takes a lock
    renewed a moment ago (lease 30 s) nor judges it lapsed."""
    import cmflow.store.sql as sql

    mine = LockOwner("host-a#0", 1, "mine")
    with open_store(postgres_url) as store:
        store.acquire_run_lock("weekly", mine, timedelta(seconds=30))
        real = sql._now
        monkeypatch.setattr(sql, "_now", lambda: real() + timedelta(seconds=31))
        with pytest.raises(WorkflowBusy):
            store.acquire_run_lock("weekly", ELSEWHERE, timedelta(seconds=30))
        assert store.run_lock_held("weekly", "host-daemon#0")
        assert store.renew_run_lock("weekly", mine, timedelta(seconds=30))
