"""Two daemons on one store (a SQLite file, and a PostgreSQL database), in one process, on
injectable clocks: one schedules, the other stands by and starts nothing; it takes over when
the leader's lease expires (a paused machine) or is handed over (a clean stop); the paused
leader, back, stands by. Each slot is asked for once, by one daemon, and none is lost. The same
with real processes and kill -9 is in ``tests/faults/test_standby_daemon.py``.
"""

from __future__ import annotations

import logging
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from cmflow.daemon.leadership import SCHEDULING_LEASE
from cmflow.daemon.service import Daemon
from cmflow.daemon.settings import load_daemon_settings
from cmflow.foundation.errors import WorkflowInvalid
from cmflow.store import open_store, this_host
from cmflow.testing import FakeClock
from test_daemon import RecordingExecutor, utc, write_workflow

SETTINGS = '[daemon]\nlease = "15s"\n'


class Elapsed:
    """A daemon's never-jumping clock (seconds), moved by the test: a paused machine's stands still."""

    def __init__(self) -> None:
        self.seconds = 1000.0

    def __call__(self) -> float:
        return self.seconds


def start(folder: Path, store_url: str, clock: FakeClock, elapsed: Elapsed) -> tuple[Daemon, RecordingExecutor]:
    executor = RecordingExecutor(store_url)
    daemon = Daemon(folder, load_daemon_settings(folder / "cmflow-daemon.toml"), store_url, executor=executor,
                    clock=clock, elapsed=elapsed)
    daemon.start()
    return daemon, executor


def tick(*daemons: tuple[Daemon, Elapsed], seconds: float = 5.0) -> None:
    """Let ``seconds`` pass on each running daemon's own clock, then tick it twice."""
    for daemon, elapsed in daemons:
        elapsed.seconds += seconds
        daemon.tick()
        daemon.tick()


def lease_expires(store_url: str, daemon: Daemon) -> None:
    """The leader stopped renewing long enough ago that its lease in the store is over."""
    with open_store(store_url) as store:
        store.acquire_lease(SCHEDULING_LEASE, daemon.leadership.holder, timedelta(0))


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "cmflow-daemon.toml").write_text(SETTINGS, encoding="utf-8")
    write_workflow(tmp_path, "hourly", "every hour", extra='catch_up = "all"')
    return tmp_path


def test_one_daemon_schedules_the_other_stands_by_and_takes_over_when_the_lease_expires(folder, any_store_url, caplog):
    caplog.set_level(logging.INFO, logger="cmflow.daemon")
    clock = FakeClock(utc(2026, 11, 24, 8, 0, 5))
    elapsed_a, elapsed_b = Elapsed(), Elapsed()
    a, ran_by_a = start(folder, any_store_url, clock, elapsed_a)
    b, ran_by_b = start(folder, any_store_url, clock, elapsed_b)
    assert (a.is_leader, b.is_leader) == (True, False)
    assert f"standing by: daemon {a.id} on {this_host()} schedules" in caplog.text
    for hour in (8, 9):
        clock.now = utc(2026, 11, 24, hour, 0, 5)
        tick((a, elapsed_a), (b, elapsed_b))
    assert [r.slot for r in ran_by_a.requests] == [utc(2026, 11, 24, 8), utc(2026, 11, 24, 9)]
    assert ran_by_b.requests == []  # standing by: nothing planned, nothing started

    # A's machine pauses at 09:30 (its clock stands still) until its lease is long over.
    lease_expires(any_store_url, a)
    for hour in (10, 11):  # two slots come due while A is paused
        clock.now = utc(2026, 11, 24, hour, 0, 5)
        tick((b, elapsed_b))
    assert b.is_leader
    assert f"taking over scheduling from daemon {a.id} on {this_host()}, whose lease expired at" in caplog.text
    assert [r.slot for r in ran_by_b.requests] == [utc(2026, 11, 24, 10), utc(2026, 11, 24, 11)]

    # A wakes up: its lease ran out by its own clock, and B holds the store's: A stands by.
    clock.now = utc(2026, 11, 24, 12, 0, 5)
    tick((a, elapsed_a), seconds=3600)
    assert not a.is_leader
    assert f"standing by: daemon {b.id} on {this_host()} schedules" in caplog.text
    tick((b, elapsed_b), (a, elapsed_a))
    asked = [r.slot for r in ran_by_a.requests + ran_by_b.requests]
    assert sorted(asked) == [utc(2026, 11, 24, hour) for hour in range(8, 13)]  # each slot once, none lost
    assert len(ran_by_a.requests) == 2


def test_a_daemon_that_stops_hands_scheduling_over_at_once(folder, any_store_url, caplog):
    caplog.set_level(logging.INFO, logger="cmflow.daemon")
    clock = FakeClock(utc(2026, 11, 24, 8, 0, 5))
    elapsed_a, elapsed_b = Elapsed(), Elapsed()
    a, ran_by_a = start(folder, any_store_url, clock, elapsed_a)
    b, ran_by_b = start(folder, any_store_url, clock, elapsed_b)
    tick((a, elapsed_a), (b, elapsed_b))
    a.shutdown()
    assert "the scheduling lease is given back" in caplog.text
    with open_store(any_store_url) as store:
        assert store.lease(SCHEDULING_LEASE) is None
    clock.now = utc(2026, 11, 24, 9, 0, 5)
    tick((b, elapsed_b))  # its next look, a third of the lease later: no wait for an expiry
    assert b.is_leader
    assert f"taking over scheduling from daemon {a.id} on {this_host()}, which handed it over" in caplog.text
    assert [r.slot for r in ran_by_a.requests + ran_by_b.requests] == [utc(2026, 11, 24, 8), utc(2026, 11, 24, 9)]


def test_a_standby_records_nothing_in_the_store(folder, any_store_url):
    """No run, no missed slot, no health alert: the leader does all of that."""
    write_workflow(folder, "broken", "every hour", source="/nowhere/missing.csv")
    clock = FakeClock(utc(2026, 11, 24, 8, 0, 5))
    elapsed_a, elapsed_b = Elapsed(), Elapsed()
    a, _ = start(folder, any_store_url, clock, elapsed_a)  # holds the lease (for 15 s of real time)
    b, ran_by_b = start(folder, any_store_url, clock, elapsed_b)
    for _ in range(6):
        clock.advance(hours=1)
        tick((b, elapsed_b), seconds=0.1)  # B does not look at the lease again: A still holds it
    assert not b.is_leader and ran_by_b.requests == []
    with open_store(any_store_url) as store:
        assert store.runs(limit=100) == [] and store.missed_slots(limit=100) == []
        assert store.alerts() == []


def test_the_lease_setting_is_checked(tmp_path):
    settings = tmp_path / "cmflow-daemon.toml"
    settings.write_text('[daemon]\nlease = "1s"\n', encoding="utf-8")
    with pytest.raises(WorkflowInvalid) as raised:
        load_daemon_settings(settings)
    problem = raised.value.problems[0]
    assert problem.path == "daemon.lease" and "from 3s" in problem.message
    settings.write_text('[daemon]\nlease = "30s"\n', encoding="utf-8")
    assert load_daemon_settings(settings).daemon.lease == timedelta(seconds=30)


def test_cmflow_status_shows_which_daemon_schedules_and_which_stand_by(folder, store_url):
    from click.testing import CliRunner

    from cmflow.cli import main

    clock = FakeClock(datetime.now(timezone.utc))  # heartbeats now: both are running
    a, _ = start(folder, store_url, clock, Elapsed())
    b, _ = start(folder, store_url, clock, Elapsed())
    result = CliRunner().invoke(main, ["status", str(folder), "--store", store_url], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "running" in lines[0] and lines[0].rstrip().endswith("; schedules"), result.output
    assert "scheduling lease renewed" in lines[1]
    assert lines[2].lstrip().startswith(f"stands by: process {os.getpid()} on {this_host()}"), result.output


def test_the_lease_is_renewed_by_its_thread_while_the_loop_is_busy_and_left_to_expire_when_it_hangs(
        store_url, caplog):
    """The loop busy for a while (no :meth:`update`) keeps its lease; a loop that has shown no
    life for HUNG_AFTER lets it expire, so that a standby may take over; back, it takes it again."""
    import threading
    import time

    from cmflow.daemon.leadership import HUNG_AFTER, Leadership
    from cmflow.store import LeaseHolder

    def eventually(condition, what: str) -> None:
        deadline = time.monotonic() + 30
        while not condition():
            assert time.monotonic() < deadline, f"no {what} within 30 s"
            time.sleep(0.05)

    caplog.set_level(logging.INFO, logger="cmflow.daemon")
    elapsed = Elapsed()
    with open_store(store_url) as store:
        leadership = Leadership(store, LeaseHolder.this_process("daemon-a"), timedelta(seconds=3), elapsed)
        assert leadership.update().leading
        changed = threading.Event()
        leadership.keep_in_background(changed.set)
        try:
            taken = store.lease(SCHEDULING_LEASE)
            elapsed.seconds += 2.0  # the loop is busy: no update, but the lease is renewed meanwhile
            eventually(lambda: store.lease(SCHEDULING_LEASE).renewed_at > taken.renewed_at, "renewal")
            assert leadership.holds() and changed.is_set() is False

            elapsed.seconds += HUNG_AFTER + 1  # the loop has not moved for two minutes
            eventually(lambda: "the daemon's loop has not moved" in caplog.text, "log of a hung loop")
            eventually(lambda: not store.lease(SCHEDULING_LEASE).live, "expiry of the lease")
            assert not leadership.holds()

            change = leadership.update()  # the loop moves again: its role is gone, until taken back
            assert change is not None and change.leading is False
            # The thread takes it back and wakes the loop (``changed`` may have been set before, by
            # a renewal racing the clock's jump: waking the loop once too often is harmless).
            eventually(lambda: leadership.holds() and changed.is_set(), "the lease taken back")
            assert leadership.update().leading and store.lease(SCHEDULING_LEASE).live
        finally:
            leadership.release()


@pytest.mark.parametrize("reload_every", ["5s", "1d"])
def test_a_standby_taking_over_schedules_from_the_files_as_they_are_and_owes_no_slot_an_edit_removed(
        tmp_path, any_store_url, reload_every):
    """A daily workflow is switched to ``every hour`` at 14:30 while the leader is paused (it
    never sees the edit) and B stands by: seen by B while standing by (``5s``), or only at
    its takeover (``1d``: B's own look at the folder is not due). B, taking over, schedules the
    hourly file and records the hours from 10:00 to 14:00 as not run ("the schedule changed"),
    as the leader would have at the edit: it runs 15:00, not five hours of the past."""
    (tmp_path / "cmflow-daemon.toml").write_text(f'{SETTINGS}reload_every = "{reload_every}"\n', encoding="utf-8")
    write_workflow(tmp_path, "report", "every day at 09:00", extra='catch_up = "all"')
    clock = FakeClock(utc(2026, 11, 24, 8, 0, 5))  # 09:00 in Paris
    elapsed_a, elapsed_b = Elapsed(), Elapsed()
    a, ran_by_a = start(tmp_path, any_store_url, clock, elapsed_a)
    b, ran_by_b = start(tmp_path, any_store_url, clock, elapsed_b)
    tick((a, elapsed_a), (b, elapsed_b))
    assert [r.slot for r in ran_by_a.requests] == [utc(2026, 11, 24, 8)]

    clock.now = utc(2026, 11, 24, 13, 30)  # 14:30 in Paris; A is paused from now on
    write_workflow(tmp_path, "report", "every hour", extra='catch_up = "all"')
    clock.advance(seconds=10)
    tick((b, elapsed_b), seconds=0.1)  # B looks at the folder (if due), not at the lease yet
    assert not b.is_leader
    lease_expires(any_store_url, a)
    tick((b, elapsed_b))
    assert b.is_leader
    assert ran_by_b.requests == []  # nothing of the past five hours
    with open_store(any_store_url) as store:
        [missed] = store.missed_slots("report")
    assert (missed.first_slot, missed.last_slot, missed.count) == (utc(2026, 11, 24, 9), utc(2026, 11, 24, 13), 5)
    assert "the schedule changed" in missed.reason
    clock.now = utc(2026, 11, 24, 14, 0, 5)  # 15:00 in Paris
    tick((b, elapsed_b))
    assert [r.slot for r in ran_by_b.requests] == [utc(2026, 11, 24, 14)]
