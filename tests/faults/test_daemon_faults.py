"""Daemon faults found with real processes: a loop that spun after a run ended, and a slot run
twice after kill -9 of the daemon.

Each test starts ``cmflow daemon`` as a process of its own (see ``tests/daemon_process.py``) and
judges it from outside: the kernel's CPU accounting of the daemon process, the store's run rows,
and the e-mails its runs write (sent, received, duplicated, lost).
"""

from __future__ import annotations

import os
import signal
import time

from cmflow.daemon.service import ASSESS_ENDED_EVERY
from daemon_process import (  # noqa: F401  (fixtures: daemon_folder, start_daemon, gated_feed)
    daemon_folder, daily_slot_this_minute, early_in_the_minute, email_writes, emails, gated_feed, parse_slot,
    run_locks, runs_of, start_daemon, workflow_text, write)
from store_locker import locker  # noqa: F401  (fixture)

IDLE_CPU_LIMIT = 0.05
"""Share of one core an idle daemon may use at most (it measures about 0.01)."""
IDLE_WINDOW = 5.0
"""Seconds over which the idle daemon's CPU time is measured."""


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of one process so far (not its children), from /proc."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def test_the_daemon_sleeps_once_a_run_has_ended(tmp_path, daemon_folder, start_daemon):
    """After a run ends, the daemon's loop waits for its next step instead of spinning."""
    schedule = daily_slot_this_minute()  # this minute's slot is due when the daemon starts
    write(daemon_folder / "daily.toml", workflow_text("Daily", tmp_path / "mail", schedule=schedule))
    daemon = start_daemon()
    daemon.wait_for("finished", workflow="Daily", status="ok")  # and nothing due for a day
    # The ended run is assessed at once, and the assessment's next turn passes unused: the
    # loop once spun from then on, until another run ended.
    time.sleep(ASSESS_ENDED_EVERY.total_seconds() + 1.0)
    before, started = cpu_seconds(daemon.pid), time.monotonic()
    time.sleep(IDLE_WINDOW)
    share = (cpu_seconds(daemon.pid) - before) / (time.monotonic() - started)
    assert daemon.alive(), daemon.tail()
    assert share < IDLE_CPU_LIMIT, f"the idle daemon used {share:.0%} of a core\n{daemon.tail()}"


def test_a_slot_finished_by_an_orphaned_run_is_not_run_again(tmp_path, daemon_folder, store_url, start_daemon,
                                                               gated_feed):
    """kill -9 of the daemon alone while its run waits on a feed: the run lives on (an orphan)
    and finishes the slot. The restarted daemon, refused as busy meanwhile, retries that slot;
    the retry finds it done and runs nothing. One run, one e-mail: none duplicated, none lost."""
    mail = tmp_path / "mail"
    schedule = daily_slot_this_minute()  # the retry is for that slot; no next one comes due meanwhile
    write(daemon_folder / "slow.toml", workflow_text("Slow", mail, feed=gated_feed.url, schedule=schedule))
    first = start_daemon()
    started = first.wait_for("started", workflow="Slow")
    slot = parse_slot(started["slot"])
    gated_feed.wait_for_request(first)
    os.kill(first.pid, signal.SIGKILL)
    first.wait_exit()

    second = start_daemon()
    busy = second.wait_for("finished", workflow="Slow", status="busy")
    assert busy["run"] == started["run"]  # the slot the orphan is running, owed again
    gated_feed.open_gate()
    retried = second.wait_for("finished", workflow="Slow", run=started["run"], status="done")
    assert "not run again" in retried["message"]

    second.signal(signal.SIGTERM)
    assert second.wait_exit() == 0, second.tail()
    history = runs_of(store_url, "Slow")
    assert [(r.slot, r.status) for r in history] == [(slot, "ok")], history
    sent = len(email_writes([first, second], "Slow", mail))
    received = len(emails(mail, "Slow"))
    assert (sent, received) == (1, 1)  # not duplicated, not lost
    assert run_locks(store_url) == []


def test_a_daemon_whose_store_is_locked_for_a_while_says_busy_and_runs_the_slot_once_it_is_free(
        tmp_path, daemon_folder, store_url, locker):
    """Another process (a backup, a sqlite3 shell) holds the store's write lock for a few seconds
    just as a workflow becomes due. The daemon says the store is busy (no traceback), keeps
    running, and runs the slot once the lock is gone: one run, one e-mail, no slot missed."""
    from cmflow.store import open_store

    from daemon_process import DaemonProcess

    path = tmp_path / "state.db"
    open_store(store_url).close()
    schedule = daily_slot_this_minute(latest_second=35)  # the slot that comes due is the only one
    daemon = DaemonProcess(daemon_folder, f"{store_url}?timeout=1", tmp_path / "daemon.log", tmp_path)
    try:
        daemon.wait_for("daemon_started")
        held = locker(path)
        mail = tmp_path / "mail"
        write(daemon_folder / "locked.toml", workflow_text("Locked", mail, schedule=schedule))
        daemon.wait_until(lambda: "busy (locked by another process) after 1 s" in daemon.log.read_text(),
                          "the daemon saying the store is busy")
        time.sleep(2.0)  # a few seconds of a store locked by someone else, in all
        assert daemon.alive(), daemon.tail()
        held.release()
        daemon.wait_for("finished", workflow="Locked", status="ok")
        daemon.signal(signal.SIGTERM)
        assert daemon.wait_exit() == 0, daemon.tail()
    finally:
        daemon.kill_group()
    log = daemon.log.read_text()
    assert "Traceback" not in log, log
    assert [r.status for r in runs_of(store_url, "Locked")] == ["ok"], daemon.tail()
    with open_store(store_url) as store:
        assert store.missed_slots("Locked") == []
    assert (len(email_writes([daemon], "Locked", mail)), len(emails(mail, "Locked"))) == (1, 1)
    assert run_locks(store_url) == []


def test_sighup_then_sigterm_during_a_run_let_the_run_finish_and_stop_the_daemon(tmp_path, daemon_folder,
                                                                                 store_url, start_daemon,
                                                                                 gated_feed):
    """A reload and a stop asked for at once while a run waits on its feed: the daemon reloads (or
    not: it is stopping), lets the run end, exits 0. One run recorded, one e-mail, none twice."""
    mail = tmp_path / "mail"
    write(daemon_folder / "slow.toml", workflow_text("Slow", mail, feed=gated_feed.url))
    early_in_the_minute()
    daemon = start_daemon()
    started = daemon.wait_for("started", workflow="Slow")
    gated_feed.wait_for_request(daemon)
    daemon.signal(signal.SIGHUP)
    daemon.signal(signal.SIGTERM)
    daemon.wait_for("stopping")
    gated_feed.open_gate()
    assert daemon.wait_exit() == 0, daemon.tail()
    assert daemon.events("finished", workflow="Slow", run=started["run"], status="ok"), daemon.tail()
    assert "Traceback" not in daemon.log.read_text()
    assert [r.status for r in runs_of(store_url, "Slow")] == ["ok"]
    assert gated_feed.requests == 1
    assert (len(email_writes([daemon], "Slow", mail)), len(emails(mail, "Slow"))) == (1, 1)
    assert run_locks(store_url) == []


def test_a_run_killed_after_its_commit_counts_as_run_and_is_not_tried_again(tmp_path, daemon_folder, store_url,
                                                                             start_daemon, monkeypatch):
    """kill -9 of a daemon's run process while it delivers its webhook messages, after its
    results were committed: the daemon records it interrupted and says its slot counts as run;
    it never sends the slot again (a retry used to find it done), and its outbox pump delivers the
    messages the run had not sent: all eight received, none lost."""
    from outbox_helpers import HOOK_VARIABLE, drill_workflow, slow_receiver, tally, wait_for
    from store_rows import raw_rows

    receiver = slow_receiver(delay=1.0)
    try:
        monkeypatch.setenv(HOOK_VARIABLE, receiver.url + "/hooks/fault-drill-7c2e9b1d4a60")
        schedule = daily_slot_this_minute()  # the only slot for a day: nothing else comes due
        text = drill_workflow(tmp_path, max_concurrency=1).read_text(encoding="utf-8")
        write(daemon_folder / "drill.toml", text.replace("compare = []\n", f'compare = []\nschedule = "{schedule}"\n'))
        daemon = start_daemon()
        started = daemon.wait_for("started", workflow="Fault drill")
        daemon.wait_until(lambda: len(receiver.requests) >= 1, "the run's first message")  # sent after the commit
        [(pid,)] = raw_rows(store_url, "SELECT pid FROM run_locks WHERE workflow = ?", "Fault drill")
        assert pid != daemon.pid
        os.kill(pid, signal.SIGKILL)

        ended = daemon.wait_for("finished", workflow="Fault drill", status="interrupted")
        assert "its slot counts as run" in ended["message"], ended
        assert ended["settled"] is True, ended  # the daemon's word: the slot is not tried again
        wait_for(lambda: len(tally(store_url, receiver).delivered) == 8, "the pump delivering the rest", 60)
        assert len(daemon.events("started", workflow="Fault drill")) == 1, daemon.tail()
        assert daemon.events("finished", workflow="Fault drill", status="done") == []
        assert daemon.alive(), daemon.tail()
        [run] = runs_of(store_url, "Fault drill")
        assert (run.slot, run.status, run.committed_at is not None) == (parse_slot(started["slot"]), "interrupted",
                                                                         True)
        assert run.error.startswith("its process ended after its results were kept"), run.error
        drill = tally(store_url, receiver)
        assert drill.lost == 0 and drill.duplicated <= 1, drill  # at most the message in flight at the kill
    finally:
        receiver.stop()


def test_a_daemon_starting_after_a_run_killed_past_its_commit_says_it_counts_as_run(tmp_path, daemon_folder,
                                                                                    store_url, start_daemon):
    """``cmflow run`` killed with SIGKILL while it delivers, after its results were committed; a
    daemon starting on the store then closes its row: it says the run's slot counts as run (not
    "owed again"), and records why."""
    from outbox_helpers import cmflow_env, drill_workflow, slow_receiver, start_cmflow, wait_for

    receiver = slow_receiver(delay=1.0)
    try:
        run = start_cmflow("run", str(drill_workflow(tmp_path, max_concurrency=1)),
                           env=cmflow_env(store_url, receiver), cwd=tmp_path)
        try:
            wait_for(lambda: len(receiver.requests) >= 1 or run.poll() is not None, "the run's first message")
            assert run.poll() is None, f"the run ended before it could be killed:\n{run.communicate()[1]}"
            os.kill(run.pid, signal.SIGKILL)
        finally:
            run.kill()
            run.communicate()
        [killed] = runs_of(store_url, "Fault drill")
        assert (killed.status, killed.committed_at is not None) == ("running", True)

        daemon = start_daemon()
        recovered = daemon.wait_for("recovered", workflow="Fault drill")
        assert "after its results were kept" in recovered["message"] and "its slot counts as run" in recovered["message"]
        [closed] = runs_of(store_url, "Fault drill")
        assert closed.status == "interrupted"
        assert closed.error.startswith("its process ended after its results were kept"), closed.error
    finally:
        receiver.stop()
