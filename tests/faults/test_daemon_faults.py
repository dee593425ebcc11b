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
    daemon_folder, early_in_the_minute, email_writes, emails, gated_feed, parse_slot, run_locks, runs_of,
    start_daemon, workflow_text, write)

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
    write(daemon_folder / "weekly.toml", workflow_text("Weekly", tmp_path / "mail"))
    early_in_the_minute(latest_second=25)  # no next slot falls in the window measured
    daemon = start_daemon()
    daemon.wait_for("finished", workflow="Weekly", status="ok")
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
    write(daemon_folder / "slow.toml", workflow_text("Slow", mail, feed=gated_feed.url))
    early_in_the_minute()  # the retry must be for the same slot, not the next minute's
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
