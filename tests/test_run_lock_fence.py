"""The run lock fences a run's writes (``Store.start_run(lock=...)``): a run paused past its lease
(SIGSTOP: a VM pause, swap) whose lock another run took meanwhile commits nothing when it
resumes, even before its heartbeat notices; leases are judged on the database's clock. On a real
SQLite file and the real PostgreSQL server, the paused run in a process of its own."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import date, datetime, timedelta, timezone

import pytest

from cmflow.store import LockOwner, QueuedMessage, RunLockHold, WorkflowBusy, open_store
from daemon_process import META_SOURCE
from faults.outbox_helpers import HOOK_PATH, HOOK_VARIABLE, slow_receiver
from store_rows import raw_rows
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


# -- a run that loses its lock after it committed ------------------------------------------------------
COMMITTING_RUN = """
import sys
from datetime import datetime, timedelta, timezone
from cmflow.runner import run_workflow
from cmflow.stages.run_periods import resolve_period
from cmflow.store import open_store
from cmflow.workflow import load_workflow

url, file = sys.argv[1:3]
workflow = load_workflow(file)
slot = datetime(2026, 11, 23, 8, tzinfo=timezone.utc)
with open_store(url) as store:
    result = run_workflow(workflow, store=store, period=resolve_period(workflow, now=slot), slot=slot,
                          lock_lease=timedelta(seconds=float(sys.argv[3])))
    print("ended", result.status, flush=True)
"""

COMMITTING_WORKFLOW = f"""\
[workflow]
name = "Committed"
id = "committed"
timezone = "UTC"
period = "last_week"
schedule = "every monday at 08:00"

{META_SOURCE}
[[metrics]]
plugin = "engagement_rate_by_reach"
by = ["account", "format"]

[[triggers]]
id = "always"
plugin = "threshold"
metric = "engagement_rate_by_reach"
above = -1

[[outputs]]
plugin = "webhook"
url = "${{env:{HOOK_VARIABLE}}}"
allow_private_network = true
group_by = ["account", "format"]
max_concurrency = 1
"""
SLOT = datetime(2026, 11, 23, 8, tzinfo=timezone.utc)
COMMITTING_LEASE = timedelta(seconds=5)


@pytest.mark.parametrize("then", ["resumed", "killed"])
def test_a_run_that_loses_its_lock_after_it_committed_is_not_run_again_for_its_slot(any_store_url, tmp_path, then,
                                                                                     monkeypatch):
    """The run committed its results and was sending its first message when its machine paused
    (SIGSTOP) past its lease; another process then takes the lock for the same slot, as the
    daemon's retry does: it finds the slot done and runs nothing, so no measurement, alert or
    run row is written twice. The paused run, resumed, records how it ended; killed (-9), its
    row is closed by the next run of the workflow, saying its results were kept."""
    from cmflow.daemon.worker import RunRequest, execute

    path = tmp_path / "committed.toml"
    path.write_text(COMMITTING_WORKFLOW, encoding="utf-8")
    open_store(any_store_url).close()  # created and migrated before the run starts
    receiver = slow_receiver(delay=0.5)
    monkeypatch.setenv(HOOK_VARIABLE, receiver.url + HOOK_PATH)  # for both runs
    script = tmp_path / "committing_run.py"
    script.write_text(COMMITTING_RUN)
    # A lease a little longer than the shortest: on a loaded machine a 3 s lease may lapse before
    # the run commits, and this test is about what happens after.
    run = subprocess.Popen([sys.executable, str(script), any_store_url, str(path), str(COMMITTING_LEASE.seconds)],
                           cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_until(lambda: receiver.requests or run.poll() is not None, 60), "the run never sent"
        pause_outside_a_transaction(run.pid, any_store_url)  # committed, delivering: paused before it finishes
        assert run.poll() is None, run.communicate()
        with open_store(any_store_url) as store:
            assert wait_until(lambda: not store.run_lock_held("committed", "host-daemon#0"),
                              4 * COMMITTING_LEASE.total_seconds())
            [first] = store.runs("committed")
            kept = _kept(any_store_url)
            queued = {m.key for m in store.outbox(limit=1000)}
            assert first.status == "running" and first.committed_at is not None and kept[0] > 0 and queued

            again = execute(RunRequest(str(path), "committed", SLOT, any_store_url, timedelta(minutes=5),
                                       lock_lease=LEASE))
            assert again.status == "done", again
            assert [r.id for r in store.runs("committed")] == [first.id]  # no second run of the slot
            assert _kept(any_store_url) == kept  # every measurement and alert still the first run's
            assert store.slot_handled("committed", SLOT) and store.earliest_unfinished_slot("committed", None) is None

            if then == "resumed":
                os.kill(run.pid, signal.SIGCONT)
                out, err = run.communicate(timeout=60)
                [first] = store.runs("committed")
                assert first.status == "interrupted", (out, err)  # stopped while delivering: its lock was gone
                assert "waits in the outbox" in first.error
            else:
                os.kill(run.pid, signal.SIGKILL)
                run.wait()
                later = store.start_run("committed", str(path), SLOT.date(), SLOT.date(), False)
                first = {r.id: r for r in store.runs("committed")}[first.id]
                assert first.status == "interrupted" and "its results were kept" in first.error
                store.finish_run(later, status="ok", stats={}, error=None)
            assert store.slot_handled("committed", SLOT)
            assert {m.key for m in store.outbox(limit=1000)} == queued  # nothing queued twice
            assert _kept(any_store_url) == kept
    finally:
        if run.poll() is None:
            os.kill(run.pid, signal.SIGCONT)
            run.kill()
            run.wait()
        receiver.stop()


def pause_outside_a_transaction(pid: int, store_url: str) -> None:
    """SIGSTOP the process at an instant it holds no lock in the store: paused inside a
    transaction (a lock renewal under way), it would keep its row or file locked, a fault of
    another kind (the database's own lock waits) that would hang the next run here."""
    import sqlite3

    import sqlalchemy as sa

    for _ in range(50):
        os.kill(pid, signal.SIGSTOP)
        try:
            if store_url.startswith("sqlite"):
                probe = sqlite3.connect(store_url.removeprefix("sqlite:///"), timeout=0.2)
                probe.execute("BEGIN IMMEDIATE")
                probe.rollback()
                probe.close()
            else:
                engine = sa.create_engine(store_url.replace("postgresql://", "postgresql+psycopg://", 1),
                                          poolclass=sa.pool.NullPool)
                with engine.begin() as connection:
                    connection.exec_driver_sql("SET LOCAL lock_timeout = 200")
                    connection.exec_driver_sql("SELECT * FROM run_locks FOR UPDATE")
                engine.dispose()
            return
        except (sqlite3.OperationalError, sa.exc.OperationalError):
            os.kill(pid, signal.SIGCONT)
            time.sleep(0.02)
    raise AssertionError("the run never paused outside a transaction")


def _kept(store_url: str) -> tuple[int, int, list]:
    """Measurement rows, alert rows, and the runs the measurements come from."""
    measured = raw_rows(store_url, "SELECT COUNT(*) FROM measurements WHERE workflow = 'committed'")[0][0]
    alerted = raw_rows(store_url, "SELECT COUNT(*) FROM alerts WHERE workflow = 'committed'")[0][0]
    by = sorted({run_id for (run_id,) in raw_rows(
        store_url, "SELECT DISTINCT run_id FROM measurements WHERE workflow = 'committed'")})
    return measured, alerted, by
