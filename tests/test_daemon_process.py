"""``cmflow daemon`` as a real process: runs, hot reload, SIGTERM, kill -9 and restart, status.

Each test starts ``cmflow daemon DIR --store sqlite:///... --log-format json`` (the kill -9 tests
also with a PostgreSQL store) with a folder of workflows written in its temporary directory,
reads the daemon's JSON log lines from a file, and checks the state store, the .eml files the
``email`` output writes and ``cmflow status``.

The workflows read the bundled demo posts for a fixed week and run ``every minute``: a daemon
runs the slot of the current minute at once when it starts, so no test waits for a schedule. Their
``threshold`` trigger always fires on engagement_rate_by_reach, so a workflow's first run queues
exactly one e-mail and later runs none (the alert stays firing): every message counts.

A run is kept "under way" by an ``rss`` source whose feed is served on loopback by a server that
holds the request until the test opens its gate: the test signals the daemon while the run is
provably mid-fetch, with no sleep and no timing assumption. Nothing asserts a duration; waits poll
the log with a generous deadline.
"""

from __future__ import annotations

import os
import signal
import time

import pytest
from datetime import datetime, timedelta, timezone

from daemon_process import (  # noqa: F401  (fixtures: daemon_folder, start_daemon, gated_feed)
    daemon_folder, daily_slot_this_minute, email_writes, emails, gated_feed, parse_slot, process_exists,
    run_locks, runs_of, start_daemon, status, status_rows, workflow_text, write)
from cmflow.store import open_store


# -- the tests -------------------------------------------------------------------------------------
def test_runs_every_workflow_and_picks_up_edits_invalid_files_and_removals(
        tmp_path, daemon_folder, store_url, start_daemon):
    mail = tmp_path / "mail"
    alpha, beta = daemon_folder / "alpha.toml", daemon_folder / "beta.toml"
    write(alpha, workflow_text("Alpha", mail))
    write(beta, workflow_text("Beta", mail))
    daemon = start_daemon()

    daemon.wait_for("daemon_started")
    for name in ("Alpha", "Beta"):
        started = daemon.wait_for("started", workflow=name)
        finished = daemon.wait_for("finished", workflow=name)
        assert finished["status"] == "ok", daemon.tail()
        assert finished["run"] == started["run"]
        recorded = [r for r in runs_of(store_url, name) if r.id == finished["run_id"]]
        assert [(r.status, r.slot) for r in recorded] == [("ok", parse_slot(started["slot"]))]
        assert len(emails(mail, name)) == 1

    write(alpha, workflow_text("Alpha", mail, description="Now with a description."))
    reloaded = daemon.wait_for("reloaded", workflow="Alpha")
    assert reloaded["file"] == str(alpha.resolve())

    write(beta, workflow_text("Beta", mail).replace('name = "Beta"', 'name = "Beta'))  # broken TOML
    invalid = daemon.wait_for("invalid", file=str(beta.resolve()))
    assert invalid["level"] == "error"
    assert "previous version keeps running" in invalid["message"]
    time.sleep(1.5)  # one more look at the folder: the broken file is reported once, not each time
    assert daemon.alive(), daemon.tail()
    assert len(daemon.events("invalid")) == 1
    rows = status_rows(status(daemon_folder, store_url))
    assert rows["beta.toml"][1] == "invalid", rows

    alpha.unlink()
    removed = daemon.wait_for("removed", workflow="Alpha")
    assert removed["file"] == str(alpha.resolve())
    assert daemon.alive(), daemon.tail()
    rows = status_rows(status(daemon_folder, store_url))
    assert "Alpha" not in rows and "beta.toml" in rows, rows

    daemon.signal(signal.SIGTERM)
    assert daemon.wait_exit() == 0, daemon.tail()


def test_an_invalid_edit_leaves_the_validated_version_running(tmp_path, daemon_folder, store_url, start_daemon,
                                                              gated_feed):
    """A run that starts after its file was broken runs the version the daemon validated.

    With one run at a time, Alpha's run (held by the feed) keeps Beta's queued; Beta's file is
    broken meanwhile; when Beta's run starts, it must not read the broken file.
    """
    mail = tmp_path / "mail"
    write(daemon_folder / "alpha.toml", workflow_text("Alpha", mail, feed=gated_feed.url))
    beta = daemon_folder / "beta.toml"
    write(beta, workflow_text("Beta", mail))
    daemon = start_daemon("--max-parallel", "1")
    daemon.wait_for("started", workflow="Alpha")
    gated_feed.wait_for_request(daemon)
    assert not daemon.events("started", workflow="Beta")  # queued behind Alpha

    write(beta, "[workflow\nname = 'Beta'\n")
    daemon.wait_for("invalid", file=str(beta.resolve()))
    gated_feed.open_gate()

    assert daemon.wait_for("finished", workflow="Alpha")["status"] == "ok", daemon.tail()
    finished = daemon.wait_for("finished", workflow="Beta")
    assert finished["status"] == "ok", daemon.tail()
    [run] = runs_of(store_url, "Beta")
    assert (run.id, run.status) == (finished["run_id"], "ok")
    assert len(emails(mail, "Beta")) == 1
    daemon.signal(signal.SIGTERM)
    assert daemon.wait_exit() == 0, daemon.tail()


def test_sigterm_exits_0_and_leaves_the_store_clean(tmp_path, daemon_folder, store_url, start_daemon):
    mail = tmp_path / "mail"
    write(daemon_folder / "alpha.toml", workflow_text("Alpha", mail))
    daemon = start_daemon()
    assert daemon.wait_for("finished", workflow="Alpha")["status"] == "ok", daemon.tail()
    with open_store(store_url) as store:
        [record] = store.daemons()
        assert (record.pid, record.stopped_at) == (daemon.pid, None)

    daemon.signal(signal.SIGTERM)

    assert daemon.wait_exit() == 0, daemon.tail()
    assert daemon.events("daemon_stopped"), daemon.tail()
    with open_store(store_url) as store:
        [record] = store.daemons()
        assert record.stopped_at is not None
        assert [r for r in store.runs(limit=100) if r.status == "running"] == []
        assert store.outbox(status="pending") == []
    assert run_locks(store_url) == []


@pytest.mark.parametrize("store_url", ["sqlite", "postgresql"], indirect=True)
def test_kill_9_of_the_daemon_mid_run_then_restart(tmp_path, daemon_folder, store_url, start_daemon,
                                                   gated_feed):
    """kill -9 of the daemon process alone while a run waits on its feed, then a restart.

    The run's own process survives its daemon (an orphan) and still holds the workflow's run
    lock. Proves: the restarted daemon does not start a second run of the workflow while the
    orphan's is under way (its attempt is refused as busy, and no run row is added); the orphan
    finishes the slot (ok, in history, once); the alert's e-mail is written once; and in the end
    no run is left running and no lock is held.
    """
    mail = tmp_path / "mail"
    write(daemon_folder / "slow.toml", workflow_text("Slow", mail, feed=gated_feed.url))
    first = start_daemon()
    started = first.wait_for("started", workflow="Slow")
    slot = parse_slot(started["slot"])
    gated_feed.wait_for_request(first)
    [under_way] = runs_of(store_url, "Slow")
    assert (under_way.status, under_way.slot) == ("running", slot)

    os.kill(first.pid, signal.SIGKILL)
    assert first.wait_exit() == -signal.SIGKILL
    assert not first.events("finished")

    second = start_daemon()
    busy = second.wait_for("finished", workflow="Slow", status="busy")
    assert [r.id for r in runs_of(store_url, "Slow")] == [under_way.id]  # the refused attempt left no row
    gated_feed.open_gate()  # the orphan's fetch completes
    second.wait_until(lambda: runs_of(store_url, "Slow")[-1].status != "running", "the orphan's run to end")
    # The slot the restarted daemon tried is now handled (or, in a new minute, runs once the lock is free).
    if busy["run"] != started["run"]:
        second.wait_for("finished", workflow="Slow", run=busy["run"], status="ok")

    second.signal(signal.SIGTERM)
    assert second.wait_exit() == 0, second.tail()
    history = runs_of(store_url, "Slow")
    assert [(r.id, r.status) for r in history if r.slot == slot] == [(under_way.id, "ok")], history
    assert [r for r in history if r.status == "running"] == []
    assert len(emails(mail, "Slow")) == 1
    assert len(email_writes([first, second], "Slow", mail)) == 1
    with open_store(store_url) as store:
        assert [(m.status, m.attempts) for m in store.outbox(workflow="Slow")] == [("delivered", 1)]
    assert run_locks(store_url) == []


@pytest.mark.parametrize("store_url", ["sqlite", "postgresql"], indirect=True)
def test_kill_9_of_daemon_and_run_mid_run_then_restart(tmp_path, daemon_folder, store_url, start_daemon,
                                                       gated_feed):
    """kill -9 of the daemon's whole process group (daemon, fork server, run) mid-run, as an
    OOM kill or a power cut would, then a restart.

    The killed run's row is left ``running`` and its lock names a dead process. Proves: the
    restarted daemon closes that row as ``interrupted`` (event ``recovered``), the slot is owed
    again and runs to ``ok`` (no lost run), the alert's e-mail is written exactly once (the
    killed run had queued nothing: no duplicate), and no lock or running row is left.
    """
    mail = tmp_path / "mail"
    schedule = daily_slot_this_minute()  # the slot owed again after the restart is the only one
    write(daemon_folder / "slow.toml", workflow_text("Slow", mail, feed=gated_feed.url, schedule=schedule))
    first = start_daemon()
    started = first.wait_for("started", workflow="Slow")
    slot = parse_slot(started["slot"])
    gated_feed.wait_for_request(first)
    [killed] = runs_of(store_url, "Slow")
    assert killed.status == "running"
    [(_, owner)] = run_locks(store_url)
    run_pid = int(owner.split(":")[1])  # host:pid:token

    first.kill_group()
    gated_feed.open_gate()
    # As after a reboot, or systemd's restart (which waits for the whole unit to be gone): the
    # killed run's process no longer exists when the daemon starts again.
    first.wait_until(lambda: not process_exists(run_pid), f"process {run_pid} to be gone", dead_ok=True)
    assert runs_of(store_url, "Slow")[0].status == "running"  # as the kill left it

    second = start_daemon()
    second.wait_for("recovered", workflow="Slow")
    finished = second.wait_for("finished", workflow="Slow", run=started["run"])
    assert finished["status"] == "ok", second.tail()

    second.signal(signal.SIGTERM)
    assert second.wait_exit() == 0, second.tail()
    history = {r.id: r for r in runs_of(store_url, "Slow")}
    assert history[killed.id].status == "interrupted"
    assert history[finished["run_id"]].status == "ok" and history[finished["run_id"]].slot == slot
    assert [r for r in history.values() if r.status == "running"] == []
    assert len(emails(mail, "Slow")) == 1
    assert len(email_writes([first, second], "Slow", mail)) == 1
    assert run_locks(store_url) == []


def test_sigterm_lets_the_run_under_way_finish(tmp_path, daemon_folder, store_url, start_daemon, gated_feed):
    mail = tmp_path / "mail"
    write(daemon_folder / "slow.toml", workflow_text("Slow", mail, feed=gated_feed.url))
    daemon = start_daemon()
    started = daemon.wait_for("started", workflow="Slow")
    gated_feed.wait_for_request(daemon)

    daemon.signal(signal.SIGTERM)
    daemon.wait_for("stopping")
    time.sleep(2)  # the run stays under way a while: the daemon waits for it, it does not cut it short
    assert daemon.alive(), daemon.tail()
    assert not daemon.events("finished")
    gated_feed.open_gate()

    assert daemon.wait_exit() == 0, daemon.tail()
    names = [e.get("event") for e in daemon.lines() if e.get("event") in ("finished", "daemon_stopped")]
    assert names == ["finished", "daemon_stopped"]
    finished = daemon.events("finished")[0]
    assert (finished["run"], finished["status"]) == (started["run"], "ok")
    [run] = runs_of(store_url, "Slow")
    assert (run.id, run.status, run.slot) == (finished["run_id"], "ok", parse_slot(started["slot"]))
    assert len(emails(mail, "Slow")) == 1
    assert run_locks(store_url) == []


def test_status_shows_each_workflow_and_whether_the_daemon_runs(tmp_path, daemon_folder, store_url,
                                                                 start_daemon):
    mail = tmp_path / "mail"
    write(daemon_folder / "alpha.toml", workflow_text("Alpha", mail))
    write(daemon_folder / "team" / "beta.toml", workflow_text("Beta", mail))  # subfolders too
    daemon = start_daemon()
    for name in ("Alpha", "Beta"):
        assert daemon.wait_for("finished", workflow=name)["status"] == "ok", daemon.tail()

    running = status(daemon_folder, store_url)
    header = running.splitlines()[0]
    assert "running" in header and "not running" not in header and f"process {daemon.pid}" in header
    rows = status_rows(running)
    for name in ("Alpha", "Beta"):
        assert rows[name][1] == "ok", running
        assert rows[name][2] == "every minute"
        assert rows[name][3].endswith(" ok")  # last run: its slot and status

    daemon.signal(signal.SIGTERM)
    assert daemon.wait_exit() == 0, daemon.tail()
    stopped = status(daemon_folder, store_url)
    assert "not running: stopped" in stopped.splitlines()[0]
    assert {status_rows(stopped)[name][1] for name in ("Alpha", "Beta")} == {"ok"}


def test_a_backlog_drains_oldest_slot_first(tmp_path, daemon_folder, store_url, start_daemon):
    """Three hourly workflows owe 1, 3 and 2 slots when the daemon starts (catch_up = "all"),
    the one owing the oldest slot (Zeta) last in file order; with one run at a time, the runs
    start in the order their slots fell due, whatever the order the files were read in. Should
    the next hour begin meanwhile, its slots come after the backlog and are left out."""
    from cmflow.foundation.schedules import SkippedSlots

    now = datetime.now(timezone.utc)
    hour = now.replace(minute=0, second=0, microsecond=0)  # Paris is a whole number of hours from UTC
    mail = tmp_path / "mail"
    owed = {"Alpha": 1, "Zeta": 3, "Gamma": 2}
    with open_store(store_url) as store:
        for name, count in owed.items():
            write(daemon_folder / f"{name.lower()}.toml",
                  workflow_text(name, mail, schedule="every hour").replace(
                      'schedule = "every hour"', 'schedule = "every hour"\ncatch_up = "all"'))
            handled = hour - timedelta(hours=count)
            store.record_missed_slots(name, [SkippedSlots("seeded by the test", handled, handled, 1)], now)
    daemon = start_daemon("--max-parallel", "1")

    def backlog_ended() -> bool:
        started = [e["run"] for e in daemon.events("started") if parse_slot(e["slot"]) <= hour]
        ended = {e["run"] for e in daemon.events("finished")}
        return len(started) == sum(owed.values()) and set(started) <= ended

    daemon.wait_until(backlog_ended, "the six runs of the backlog to end")
    daemon.signal(signal.SIGTERM)
    assert daemon.wait_exit() == 0, daemon.tail()

    started = [(parse_slot(e["slot"]), e["workflow"]) for e in daemon.events("started")]
    backlog = [(slot, name) for slot, name in started if slot <= hour]
    assert backlog[0] == (hour - timedelta(hours=2), "Zeta"), started
    assert [slot for slot, _ in backlog] == [hour - timedelta(hours=2)] + [hour - timedelta(hours=1)] * 2 \
        + [hour] * 3, started
    assert sorted(backlog) == sorted([(hour - timedelta(hours=back), name) for name, count in owed.items()
                                      for back in range(count)]), started
    # The store's history says the same: runs recorded in that order, each ok.
    history = sorted((r for name in owed for r in runs_of(store_url, name) if r.slot <= hour), key=lambda r: r.id)
    assert [(r.slot, r.workflow, r.status) for r in history] == [(slot, name, "ok") for slot, name in backlog]
