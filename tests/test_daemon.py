"""The daemon's decisions, on an injectable clock: slots across DST changes, no drift, catch-up,
busy workflows, hot reload, timeouts, concurrency, crash recovery and health alerts.

The store is a real SQLite file. Most tests run the real workflow runs in-process
(:class:`InlineExecutor`); where a thousand slots are simulated, :class:`RecordingExecutor`
stands in for the runs (it records each slot's run in the store as a run would, without
fetching); timeouts and concurrency use the real process pool.
"""

from __future__ import annotations

import email
import email.policy
import logging
import os
import random
import sqlite3
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from cmflow.daemon.service import Daemon, SlotQueue
from cmflow.daemon.settings import load_daemon_settings
from cmflow.daemon.executor import Executor, InlineExecutor, LocalProcessPool
from cmflow.daemon.health import assess
from cmflow.daemon.settings import HealthOptions
from cmflow.daemon.worker import RunOutcome, RunRequest
from cmflow.store import LockOwner, RunRecord, open_store
from cmflow.testing import FakeClock

UTC = timezone.utc

SOURCE = """
[[sources]]
id = "meta"
plugin = "csv"
path = "{path}"
record = "post"
datetime_format = "%m/%d/%Y %H:%M"
columns = {{ platform = "Platform", account = "Account", post_id = "Post ID", published_at = "Publish time", reach = "Reach", impressions = "Views", likes = "Likes", comments = "Comments", shares = "Shares", saves = "Saves" }}

[[metrics]]
plugin = "engagement_rate_by_reach"
by = ["overall"]
"""


def write_workflow(folder: Path, name: str, schedule: str, *, tz: str = "Europe/Paris", extra: str = "",
                   source: str = "builtin:demo/meta_posts.csv", body: str = "") -> Path:
    file = folder / f"{name}.toml"
    file.write_text(f'[workflow]\nname = "{name}"\ntimezone = "{tz}"\nperiod = "last_week"\n'
                    f'schedule = "{schedule}"\n{extra}\n' + SOURCE.format(path=source) + body, encoding="utf-8")
    return file


RECORDED_STATS = {"records": {"post": 24}}
"""What a run of the demo export records (see ``RunRecord.records``)."""


class RecordingExecutor(Executor):
    """Stands in for the runs where thousands of slots are simulated: each request is recorded
    in the store as a finished run of its slot, the way a real run records it (with the records
    the demo export brings: a healthy workflow, whose assessment reads its last few runs)."""

    def __init__(self, store_url: str) -> None:
        self.store = open_store(store_url)
        self.requests: list[RunRequest] = []
        self._ended: list[RunOutcome] = []

    def free(self) -> int:
        return 1

    def submit(self, request: RunRequest) -> None:
        self.requests.append(request)
        run_id = self.store.start_run(request.workflow_key, request.workflow_file, date(2026, 1, 1),
                                      date(2026, 1, 7), False, slot=request.slot)
        self.store.finish_run(run_id, status="ok", stats=RECORDED_STATS, error=None)
        self._ended.append(RunOutcome(request, "ok", run_id))

    def poll(self, now: datetime) -> list[RunOutcome]:
        ended, self._ended = self._ended, []
        return ended

    def stop(self, deadline, clock) -> list[RunOutcome]:
        return self.poll(clock())


def make_daemon(folder: Path, store_url: str, clock: FakeClock, executor: Executor | None = None,
                settings_text: str | None = None, elapsed: Callable[[], float] | None = None) -> Daemon:
    """A started daemon on ``clock``; ``elapsed`` (seconds, for the scheduling lease) real unless given."""
    settings_file = None
    if settings_text is not None:
        settings_file = folder / "cmflow-daemon.toml"
        settings_file.write_text(settings_text, encoding="utf-8")
    daemon = Daemon(folder, load_daemon_settings(settings_file), store_url,
                    executor=executor or InlineExecutor(), clock=clock,
                    **({} if elapsed is None else {"elapsed": elapsed}))
    daemon.start()
    return daemon


def run_until(daemon: Daemon, clock: FakeClock, end: datetime, step: timedelta | None = None) -> None:
    """Tick the daemon from the clock's now to ``end``, ``step`` (10 minutes) at a time."""
    while clock.now < end:
        daemon.tick()
        daemon.tick()
        clock.now = min(clock.now + (step or timedelta(minutes=10)), end)
    daemon.tick()


def slots_run(store_url: str, key: str) -> list[datetime]:
    with open_store(store_url) as store:
        return sorted(r.slot for r in store.runs(key, limit=100_000) if r.slot is not None)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# -- slots ------------------------------------------------------------------------------------
HEALTH_CHECKED_WEEKLY = '[health]\ncheck_every = "1w"\n'
"""For the simulations of days of ticks that judge only which slots are handed to the executor:
the default check, every 5 minutes, came due at each 10-minute step, and assessing health (which
decides no slot) was three quarters of their time. The health tests below check it."""


@pytest.mark.parametrize("tz, start, expected", [
    # Paris springs forward on 2026-03-29 (09:00 is 08:00 UTC before, 07:00 UTC after) ...
    ("Europe/Paris", utc(2026, 3, 27, 12), [utc(2026, 3, 28, 8), utc(2026, 3, 29, 7), utc(2026, 3, 30, 7)]),
    # ... and falls back on 2026-10-25.
    ("Europe/Paris", utc(2026, 10, 23, 12), [utc(2026, 10, 24, 7), utc(2026, 10, 25, 8), utc(2026, 10, 26, 8)]),
    # New York: 2026-03-08 and 2026-11-01.
    ("America/New_York", utc(2026, 3, 6, 18), [utc(2026, 3, 7, 14), utc(2026, 3, 8, 13), utc(2026, 3, 9, 13)]),
    ("America/New_York", utc(2026, 10, 30, 18), [utc(2026, 10, 31, 13), utc(2026, 11, 1, 14), utc(2026, 11, 2, 14)]),
])
def test_a_daily_job_runs_exactly_once_on_daylight_saving_change_days(tmp_path, store_url, tz, start, expected):
    write_workflow(tmp_path, "daily", "every day at 09:00", tz=tz)
    clock = FakeClock(start)
    executor = RecordingExecutor(store_url)
    daemon = make_daemon(tmp_path, store_url, clock, executor, settings_text=HEALTH_CHECKED_WEEKLY)
    run_until(daemon, clock, start + timedelta(days=3), step=timedelta(minutes=10))
    assert [r.slot for r in executor.requests] == expected


def test_no_drift_over_a_thousand_slots_whatever_the_ticks(tmp_path, store_url):
    """Slots come from the schedule, not from when the loop woke up or a run ended: with ticks
    at random intervals (1 s to 5 minutes apart), every 15-minute slot runs once, on the grid."""
    write_workflow(tmp_path, "often", "every 15 minutes", tz="Europe/Paris")
    start = utc(2026, 10, 20)  # the run crosses Paris's fall-back day
    clock = FakeClock(start)
    executor = RecordingExecutor(store_url)
    daemon = make_daemon(tmp_path, store_url, clock, executor,  # scheduling only: no health, no reload
                         settings_text='[daemon]\nreload_every = "1w"\n' + HEALTH_CHECKED_WEEKLY)
    rng = random.Random(7)
    end = start + timedelta(minutes=15 * 1000)
    while clock.now < end:
        daemon.tick()
        clock.now = min(clock.now + timedelta(seconds=rng.uniform(1, 300)), end)
    daemon.tick()
    slots = [r.slot for r in executor.requests]
    assert slots == [start + timedelta(minutes=15 * i) for i in range(1001)]


def test_a_new_workflow_runs_from_its_next_slot(tmp_path, store_url):
    write_workflow(tmp_path, "weekly", "every monday at 09:00")
    clock = FakeClock(utc(2026, 11, 24, 12))  # a Tuesday: Monday's slot was before the daemon knew it
    executor = RecordingExecutor(store_url)
    daemon = make_daemon(tmp_path, store_url, clock, executor, settings_text=HEALTH_CHECKED_WEEKLY)
    run_until(daemon, clock, utc(2026, 12, 1, 9))
    assert [r.slot for r in executor.requests] == [utc(2026, 11, 30, 8)]
    assert daemon.scheduler.job("weekly").next_run == utc(2026, 12, 7, 8)


# -- catch-up ---------------------------------------------------------------------------------
def down_for_three_days(tmp_path: Path, store_url: str, extra: str) -> tuple[RecordingExecutor, Daemon]:
    """A daily 09:00 workflow last run on Friday 2026-01-09; the daemon comes back Monday 11:00."""
    write_workflow(tmp_path, "daily", "every day at 09:00", extra=extra)
    with open_store(store_url) as store:
        run_id = store.start_run("daily", str(tmp_path / "daily.toml"), date(2026, 1, 1), date(2026, 1, 7),
                                 False, slot=utc(2026, 1, 9, 8))
        store.finish_run(run_id, status="ok", stats={}, error=None)
    clock = FakeClock(utc(2026, 1, 12, 10))
    executor = RecordingExecutor(store_url)
    daemon = make_daemon(tmp_path, store_url, clock, executor)
    daemon.tick()
    daemon.tick()
    return executor, daemon


def missed(store_url: str) -> list[tuple[datetime, datetime, int, str]]:
    with open_store(store_url) as store:
        return sorted((m.first_slot, m.last_slot, m.count, m.reason) for m in store.missed_slots("daily"))


def test_catch_up_latest_runs_the_most_recent_missed_slot_and_records_the_others(tmp_path, store_url):
    executor, _ = down_for_three_days(tmp_path, store_url, "")
    assert [r.slot for r in executor.requests] == [utc(2026, 1, 12, 8)]
    assert missed(store_url) == [(utc(2026, 1, 10, 8), utc(2026, 1, 11, 8), 2,
                                  "superseded: a later slot runs instead")]


def test_catch_up_skip_runs_nothing_missed(tmp_path, store_url):
    executor, daemon = down_for_three_days(tmp_path, store_url, 'catch_up = "skip"')
    assert executor.requests == []
    assert missed(store_url) == [(utc(2026, 1, 10, 8), utc(2026, 1, 12, 8), 3,
                                  "the catch-up policy is skip: missed slots are not run")]
    assert daemon.scheduler.job("daily").next_run == utc(2026, 1, 13, 8)


def test_catch_up_all_runs_each_missed_slot_oldest_first_up_to_the_cap(tmp_path, store_url):
    executor, _ = down_for_three_days(tmp_path, store_url, 'catch_up = "all"\ncatch_up_cap = 2')
    assert [r.slot for r in executor.requests] == [utc(2026, 1, 11, 8), utc(2026, 1, 12, 8)]
    assert missed(store_url) == [(utc(2026, 1, 10, 8), utc(2026, 1, 10, 8), 1,
                                  "over the catch-up cap of 2: the most recent 2 run")]


def test_catch_up_grace_skips_slots_too_old_to_be_worth_running(tmp_path, store_url):
    executor, _ = down_for_three_days(tmp_path, store_url, 'catch_up = "all"\ncatch_up_grace = "1h"')
    assert executor.requests == []
    assert missed(store_url) == [(utc(2026, 1, 10, 8), utc(2026, 1, 12, 8), 3,
                                  "older than the grace window (1h)")]


def test_missed_slots_are_shown_by_cmflow_history(tmp_path, store_url):
    from click.testing import CliRunner

    from cmflow.cli import main

    down_for_three_days(tmp_path, store_url, "")
    result = CliRunner().invoke(main, ["history", "--store", store_url], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "Slots the daemon did not run" in result.output
    assert "2026-01-10 08:00 .. 2026-01-11 08:00" in result.output and "superseded" in result.output


# -- real runs, one at a time -----------------------------------------------------------------
def test_a_workflow_busy_elsewhere_is_retried_later(tmp_path, store_url):
    """A `cmflow run` by hand holds the lock: the daemon's run is refused, then retried."""
    write_workflow(tmp_path, "daily", "every day at 09:00")
    clock = FakeClock(utc(2026, 11, 24, 8, 0, 5))  # five seconds after the slot
    with open_store(store_url) as store:
        by_hand = LockOwner.this_process()
        store.acquire_run_lock("daily", by_hand, timedelta(hours=1))
    daemon = make_daemon(tmp_path, store_url, clock)
    daemon.tick()
    daemon.tick()
    assert slots_run(store_url, "daily") == []
    job = daemon.scheduler.job("daily")
    assert job.next_run == clock.now + daemon.options.busy_retry
    for _ in range(3):  # still busy a minute and a half later: the slot is not forgotten
        clock.advance(seconds=31)
        daemon.tick()
        daemon.tick()
    assert slots_run(store_url, "daily") == []
    with open_store(store_url) as store:
        store.release_run_lock("daily", by_hand)
    clock.advance(seconds=31)
    daemon.tick()
    daemon.tick()
    assert slots_run(store_url, "daily") == [utc(2026, 11, 24, 8)]


def test_an_invalid_edit_keeps_the_previous_version_running(tmp_path, store_url, caplog):
    file = write_workflow(tmp_path, "often", "every 15 minutes")
    clock = FakeClock(utc(2026, 11, 24, 8, 0, 5))
    daemon = make_daemon(tmp_path, store_url, clock)
    daemon.tick()
    file.write_text(file.read_text(encoding="utf-8") + "\n[[metrics]\n", encoding="utf-8")
    os.utime(file, ns=(1, 1))  # a different mtime even on a coarse file system clock
    clock.advance(minutes=15)
    with caplog.at_level(logging.ERROR, logger="cmflow.daemon"):
        daemon.tick()
        daemon.tick()
    assert any("often.toml is invalid (its previous version keeps running)" in r.getMessage()
               for r in caplog.records)
    assert file.resolve() in daemon.catalog.problems
    with open_store(store_url) as store:
        runs = store.runs("often")
    assert [(r.slot, r.status) for r in reversed(runs)] == [
        (utc(2026, 11, 24, 8), "ok"), (utc(2026, 11, 24, 8, 15), "ok")]


def test_added_changed_and_removed_files_are_picked_up(tmp_path, store_url):
    clock = FakeClock(utc(2026, 11, 24, 8, 0, 5))
    executor = RecordingExecutor(store_url)
    daemon = make_daemon(tmp_path, store_url, clock, executor)
    assert daemon.scheduler.jobs == []
    file = write_workflow(tmp_path, "later", "every hour")
    clock.advance(seconds=6)
    daemon.tick()
    assert daemon.scheduler.job("later") is not None
    file.write_text(file.read_text(encoding="utf-8").replace("every hour", "every 2 hours"), encoding="utf-8")
    os.utime(file, ns=(2, 2))
    daemon.request_reload()  # SIGHUP: no need to wait for reload_every
    daemon.tick()
    assert str(daemon.catalog.by_key("later").timetable) == "every 2 hours"
    file.unlink()
    daemon.request_reload()
    daemon.tick()
    assert daemon.scheduler.jobs == [] and daemon.catalog.by_key("later") is None


@pytest.mark.parametrize("extra, problem", [
    ('as_of = "2026-11-24"', "workflow.as_of"),
    ('[store]\nurl = "sqlite:///elsewhere.db"', "store.url"),
    ('id = "cmflow-daemon"', "workflow.id"),  # the daemon's own health alerts live there
])
def test_the_daemon_refuses_what_would_misbehave_under_it(tmp_path, store_url, extra, problem):
    write_workflow(tmp_path, "daily", "every day at 09:00", extra=extra)
    daemon = make_daemon(tmp_path, store_url, FakeClock())
    [problems] = daemon.catalog.problems.values()
    assert [p.path for p in problems] == [problem]
    assert daemon.scheduler.jobs == []


def test_two_files_with_one_workflow_id_are_refused(tmp_path, store_url):
    write_workflow(tmp_path, "a", "every day at 09:00", extra='id = "shared"')
    write_workflow(tmp_path, "b", "every day at 09:00", extra='id = "shared"')
    daemon = make_daemon(tmp_path, store_url, FakeClock())
    [(path, problems)] = daemon.catalog.problems.items()
    assert path.name == "b.toml" and "a.toml already has the workflow id 'shared'" in problems[0].message
    (tmp_path / "a.toml").unlink()  # the other file gone, b.toml is fine as it is
    daemon.request_reload()
    daemon.tick()
    assert daemon.catalog.problems == {} and daemon.catalog.by_key("shared").file.name == "b.toml"
    assert daemon.scheduler.job("shared") is not None


def test_a_run_cut_short_by_a_crash_is_closed_and_its_slot_run_again(tmp_path, store_url):
    """kill -9 mid-run leaves a run 'running' and (maybe) its lock: the next start closes it as
    interrupted and the slot, still owed, runs."""
    write_workflow(tmp_path, "daily", "every day at 09:00")
    with open_store(store_url) as store:
        store.start_run("daily", str(tmp_path / "daily.toml"), date(2026, 11, 17), date(2026, 11, 23),
                        False, slot=utc(2026, 11, 24, 8))
    clock = FakeClock(utc(2026, 11, 24, 8, 20))
    daemon = make_daemon(tmp_path, store_url, clock)
    daemon.tick()
    daemon.tick()
    with open_store(store_url) as store:
        runs = store.runs("daily")
    assert [(r.slot, r.status) for r in reversed(runs)] == [
        (utc(2026, 11, 24, 8), "interrupted"), (utc(2026, 11, 24, 8), "ok")]


# -- real processes ---------------------------------------------------------------------------
def test_runs_over_their_timeout_are_stopped_and_recorded(tmp_path, store_url):
    """The feed's server takes the connection and never answers: the run hangs until its
    timeout stops it. The timeout leaves room for the run to start and record itself on a loaded
    machine (1 s was sometimes over before the run's row was written: nothing to assert on)."""
    import socket

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # connections queue up; none is ever answered
    feed = f"http://127.0.0.1:{silent.getsockname()[1]}/feed.xml"
    write_workflow(tmp_path, "stuck", "every minute", extra='timeout = "5s"',
                   body=f'\n[[sources]]\nid = "press"\nplugin = "rss"\nfeeds = ["{feed}"]\nallow_private_network = true\n')
    daemon = Daemon(tmp_path, load_daemon_settings(None), store_url, executor=LocalProcessPool(2))
    daemon.start()
    try:
        deadline = datetime.now(UTC) + timedelta(seconds=60)
        while datetime.now(UTC) < deadline:
            daemon._wait(daemon.tick())
            with open_store(store_url) as store:
                runs = store.runs("stuck")
            if runs and runs[0].status != "running":
                break
    finally:
        daemon.shutdown()
        silent.close()
    assert runs[0].status == "timeout" and runs[0].error == "stopped after its timeout of 5s"
    assert sqlite3.connect(store_url.removeprefix("sqlite:///")).execute(
        "SELECT COUNT(*) FROM run_locks").fetchone() == (0,)


def test_runs_never_exceed_the_concurrency_limit(tmp_path, store_url):
    for name in ("one", "two", "three"):
        write_workflow(tmp_path, name, "every minute")
    settings = load_daemon_settings(None)
    settings.daemon.max_parallel_runs = 1
    daemon = Daemon(tmp_path, settings, store_url, executor=LocalProcessPool(1))
    daemon.start()
    try:
        deadline = datetime.now(UTC) + timedelta(seconds=90)
        while datetime.now(UTC) < deadline:
            daemon._wait(daemon.tick())
            with open_store(store_url) as store:
                runs = [r for r in store.runs() if r.status != "running"]
            if len({r.workflow for r in runs}) == 3:
                break
    finally:
        daemon.shutdown()
    spans = sorted((r.started_at, r.finished_at) for r in runs)
    assert len({r.workflow for r in runs}) == 3
    assert all(earlier[1] <= later[0] for earlier, later in zip(spans, spans[1:]))


# -- health -----------------------------------------------------------------------------------
def history(*statuses: tuple[str, int], start: datetime, every: timedelta) -> list[RunRecord]:
    """Runs (newest first) with these statuses and record counts, one per slot."""
    runs = []
    for i, (status, records) in enumerate(statuses):
        slot = start + every * i
        runs.append(RunRecord(i + 1, "w", "w.toml", status, slot, slot, date(2026, 1, 1), date(2026, 1, 7),
                              False, None, {"records": {"post": records}}, slot))
    return list(reversed(runs))


@pytest.fixture
def hourly(tmp_path, store_url):
    write_workflow(tmp_path, "w", "every hour")
    daemon = make_daemon(tmp_path, store_url, FakeClock())
    return daemon.catalog.by_key("w")


@pytest.mark.parametrize("statuses, state, alerting", [
    ([("ok", 5), ("ok", 3)], "ok", False),
    ([("ok", 5)] + [("ok", 0)] * 4, "quiet", False),      # the platform answers, nothing new
    ([("ok", 5), ("failed", 0)], "failing", False),       # one failure: shown, no alert yet
    ([("ok", 5)] + [("failed", 0)] * 3, "failing", True),  # three in a row: alert
    ([("ok", 5), ("timeout", 0)], "failing", False),
])
def test_health_tells_quiet_from_broken(hourly, statuses, state, alerting):
    start = utc(2026, 11, 24, 8)
    runs = history(*statuses, start=start, every=timedelta(hours=1))
    now = start + timedelta(hours=len(statuses) - 1, minutes=5)
    report = assess(hourly, runs, now, HealthOptions(), last_handled=now - timedelta(minutes=5))
    assert (report.state, report.alerting) == (state, alerting)


def test_a_run_under_way_shows_as_running_not_overdue(tmp_path, store_url, hourly):
    """A long run holding the lock past the overdue delay is running, as `cmflow status` sees it
    from another process; once its process is gone, it is not."""
    import subprocess
    import sys

    from cmflow.daemon.health import assess_in_store
    from cmflow.store import this_host

    clock_now = utc(2026, 11, 24, 9, 40)
    with open_store(store_url) as store:
        done = store.start_run("w", "w.toml", date(2026, 11, 17), date(2026, 11, 23), False, slot=utc(2026, 11, 24, 8))
        store.finish_run(done, status="ok", stats={"records": {"post": 5}}, error=None)
        store.start_run("w", "w.toml", date(2026, 11, 17), date(2026, 11, 23), False, slot=utc(2026, 11, 24, 9))
        mine = LockOwner.this_process()
        store.acquire_run_lock("w", mine, timedelta(hours=1))
        report = assess_in_store(hourly, store, clock_now, HealthOptions(), store.last_handled_slot(hourly.key))
        assert report.state == "running" and report.detail.startswith("run under way since")
        dead_pid = int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                                      capture_output=True, text=True, check=True).stdout)
        store.release_run_lock("w", mine)
        store.acquire_run_lock("w", LockOwner(this_host(), dead_pid, "killed"), timedelta(hours=1))
        report = assess_in_store(hourly, store, clock_now, HealthOptions(), store.last_handled_slot(hourly.key))
    assert report.state == "overdue"


def sqlite_steps_to_assess(hourly, store_url: str, runs: int) -> tuple[int, object]:
    """The SQLite virtual-machine steps (about the rows read) one health assessment of ``hourly``
    takes when it has ``runs`` hourly runs, each a success that brought records; and the report."""

    from cmflow.daemon.health import assess_in_store
    from cmflow.store.tables import runs as runs_table

    first = utc(2026, 1, 1)
    with open_store(store_url) as store:
        with store.engine.begin() as connection:  # one transaction: thousands of start/finish pairs are slow
            connection.execute(runs_table.insert(), [
                dict(workflow="w", workflow_file="w.toml", status="ok", started_at=first + timedelta(hours=i),
                     finished_at=first + timedelta(hours=i, minutes=1), period_start=date(2026, 1, 1),
                     period_end=date(2026, 1, 7), dry_run=False, stats={"records": {"post": 5}},
                     slot=first + timedelta(hours=i)) for i in range(runs)])
        steps = [0]

        def count(connection, record, proxy) -> None:
            def step() -> int:
                steps[0] += 1
                return 0
            connection.set_progress_handler(step, 1)

        sa.event.listen(store.engine, "checkout", count)
        report = assess_in_store(hourly, store, first + timedelta(hours=runs - 1, minutes=20), HealthOptions(),
                                 store.last_handled_slot(hourly.key))
        counted = steps[0]
    return counted, report


def test_a_health_assessment_reads_no_more_with_a_longer_history(tmp_path, hourly):
    """Issue 16: the daemon assesses a workflow at each run's end; reading its whole history (or a
    fixed window of it) each time made the daemon's work grow with the square of the runs. Counted
    in SQLite's own steps, not in seconds: 2000 runs cost what 20 do (within B-tree depth)."""
    short, short_report = sqlite_steps_to_assess(hourly, f"sqlite:///{tmp_path / 'short.db'}", 20)
    long, long_report = sqlite_steps_to_assess(hourly, f"sqlite:///{tmp_path / 'long.db'}", 2000)
    assert short > 0
    assert long < short * 1.3, (short, long)
    assert (long_report.state, long_report.detail) == ("ok", "last data 20m ago")
    assert long_report.last_success == utc(2026, 1, 1) + timedelta(hours=1999, minutes=1)
    assert short_report.last_data == utc(2026, 1, 1) + timedelta(hours=19)


def statements_of(daemon: Daemon, step) -> list[str]:
    """The SQL statements the daemon's own store issues during ``step()`` (runs record
    themselves through stores of their own), counted on the real SQLite file by SQLAlchemy."""
    seen: list[str] = []

    def note(connection, cursor, statement, *_):
        seen.append(" ".join(statement.split()))

    sa.event.listen(daemon.store.engine, "before_cursor_execute", note)
    try:
        step()
    finally:
        sa.event.remove(daemon.store.engine, "before_cursor_execute", note)
    return seen


def writes(statements: list[str]) -> list[str]:
    return [s for s in statements if s.split()[0].upper() in ("INSERT", "UPDATE", "DELETE", "REPLACE")]


def test_a_quiet_tick_and_a_healthy_runs_end_write_nothing_to_the_store(tmp_path):
    """Issue 16: the loop's store work is what made a thousand simulated slots take a minute. A
    tick with nothing due reads and writes nothing; the tick that hears of a healthy run's end
    assesses its health by reading only (the health run's lock, two writes, is taken only when
    an alert moves)."""
    store_url = f"sqlite:///{tmp_path / 'state.db'}"
    for name in ("a", "b", "c"):
        write_workflow(tmp_path, name, "every 15 minutes")
    clock = FakeClock(utc(2026, 10, 20, 12, 14, 50))
    executor = RecordingExecutor(store_url)
    # the scheduling lease is renewed every third of a lease of elapsed time: stopped here, so that a slow
    # machine sees no lease write inside a measured tick
    daemon = make_daemon(tmp_path, store_url, clock, executor, elapsed=lambda: 1000.0)
    daemon.tick()  # planned (the first heartbeat, the first assessment); nothing due yet
    clock.now += timedelta(seconds=5)
    assert statements_of(daemon, daemon.tick) == []
    clock.now = utc(2026, 10, 20, 12, 15)  # three slots due: their runs start (and, here, end)
    daemon.tick()
    assert len(executor.requests) == 3
    clock.now += timedelta(seconds=11)  # their ends are heard and assessed; no heartbeat is due
    seen = statements_of(daemon, daemon.tick)
    assert daemon.health["a"].state == "ok" and not daemon._assess
    assert seen and writes(seen) == []
    clock.now += timedelta(seconds=5)
    assert statements_of(daemon, daemon.tick) == []


def test_no_successful_run_for_stale_after_intervals_is_stale(hourly):
    start = utc(2026, 11, 24, 8)
    runs = history(("ok", 5), start=start, every=timedelta(hours=1))
    report = assess(hourly, runs, start + timedelta(hours=3), HealthOptions(failures=10), start)
    assert report.state == "stale" and report.alerting
    assert report.detail == "no successful run for 3h (2+ slots)"


@pytest.mark.parametrize("schedule, last_success, now, state", [
    # Friday's run, Monday 08:30 Paris: the weekend is no gap.
    ("every weekday at 09:00", utc(2026, 11, 20, 8), utc(2026, 11, 23, 7, 30), "ok"),
    # ... but Tuesday evening, two weekday slots later, it is.
    ("every weekday at 09:00", utc(2026, 11, 20, 8), utc(2026, 11, 24, 17), "stale"),
    # A first-quarter schedule is not stale all summer ...
    ("0 9 * 1-3 *", utc(2026, 3, 31, 7), utc(2026, 7, 1, 12), "ok"),
    # ... but it is after two missed January days.
    ("0 9 * 1-3 *", utc(2026, 3, 31, 7), utc(2027, 1, 2, 12), "stale"),
])
def test_staleness_counts_the_schedules_own_slots(tmp_path, store_url, schedule, last_success, now, state):
    write_workflow(tmp_path, "w", schedule)
    sw = make_daemon(tmp_path, store_url, FakeClock()).catalog.by_key("w")
    runs = history(("ok", 5), start=last_success, every=timedelta(days=1))
    report = assess(sw, runs, now, HealthOptions(), last_handled=now - timedelta(minutes=20))
    assert report.state == state, report.detail


def health_settings(failures: int, mail: Path) -> str:
    """Daemon settings whose health alerts are e-mailed as .eml files into ``mail``."""
    return f"""
[health]
failures = {failures}

[[outputs]]
plugin = "email"
to = ["ops@example.com"]
from_address = "cmflow@example.com"
transport = "file"
directory = "{mail}"
"""


def test_failing_workflows_raise_a_health_alert_to_the_operators_output(tmp_path, store_url):
    """A workflow whose export is missing fails run after run: at the third failure a health
    alert fires and is e-mailed (file transport) once; when the file is back it resolves."""
    export = tmp_path / "export.csv"
    write_workflow(tmp_path, "client", "every hour", source=str(export))
    mail = tmp_path / "mail"
    clock = FakeClock(utc(2026, 11, 24, 8, 0, 5))
    daemon = make_daemon(tmp_path, store_url, clock, settings_text=health_settings(failures=3, mail=mail))
    for _ in range(3):
        daemon.tick()
        daemon.tick()
        clock.advance(hours=1)
    daemon.flush_outbox()
    with open_store(store_url) as store:
        [alert] = store.alerts("cmflow-daemon")
    assert (alert.rule, alert.state, alert.dimensions) == ("workflow_failing", "firing", {"workflow_id": "client"})
    [sent] = list(mail.glob("*.eml"))
    message = email.message_from_bytes(sent.read_bytes(), policy=email.policy.default)
    assert message["Subject"] == "[cmflow] cmflow daemon health: 1 alert firing"  # about runs: no period
    text = message.get_body(("plain",)).get_content()
    assert "client: 3 failed runs in a row" in text and "Period" not in text

    export.write_text((Path(__file__).parents[1] / "src/cmflow/data/demo/meta_posts.csv").read_text(
        encoding="utf-8"), encoding="utf-8")
    daemon.tick()
    daemon.tick()
    daemon.flush_outbox()
    with open_store(store_url) as store:
        [alert] = store.alerts("cmflow-daemon")
    assert alert.state == "resolved"
    assert len(list(mail.glob("*.eml"))) == 2


def test_cmflow_outbox_flush_sends_the_daemons_health_messages(tmp_path, store_url):
    """A health alert the daemon queued is sent by `cmflow outbox flush`, which reads its output
    from the daemon's settings file, not from a workflow file."""
    from click.testing import CliRunner

    from cmflow.cli import main

    write_workflow(tmp_path, "client", "every hour", source=str(tmp_path / "missing.csv"))
    mail = tmp_path / "mail"
    clock = FakeClock(utc(2026, 11, 24, 8, 0, 5))
    daemon = make_daemon(tmp_path, store_url, clock, settings_text=health_settings(failures=3, mail=mail))
    for _ in range(3):  # three failed runs: the alert is queued (the daemon's own sending not run)
        daemon.tick()
        daemon.tick()
        clock.advance(hours=1)
    with open_store(store_url) as store:
        [queued] = store.outbox(status="pending")
    assert queued.workflow == "cmflow-daemon" and queued.workflow_file.endswith("cmflow-daemon.toml")

    flushed = CliRunner().invoke(main, ["outbox", "flush", "--now", "--store", store_url])

    assert flushed.exit_code == 0, flushed.output
    assert "1 delivered" in flushed.output and len(list(mail.glob("*.eml"))) == 1
    with open_store(store_url) as store:
        [sent] = store.outbox(status=None)
    assert sent.status == "delivered"


def test_settings_mistakes_are_reported_with_the_key_path(tmp_path):
    from cmflow.foundation.errors import WorkflowInvalid

    file = tmp_path / "cmflow-daemon.toml"
    file.write_text('[daemon]\nmax_paralel_runs = 2\n\n[healt]\n\n[[outputs]]\nplugin = "html_report"\n',
                    encoding="utf-8")
    with pytest.raises(WorkflowInvalid) as caught:
        load_daemon_settings(file)
    found = {(p.path, p.message, p.hint) for p in caught.value.problems}
    assert ("daemon.max_paralel_runs", "unknown setting 'max_paralel_runs'", "did you mean 'max_parallel_runs'?") in found
    assert ("healt", "unknown section 'healt'", "did you mean 'health'?") in found
    assert any(p.startswith("outputs[0].plugin") and "not a notifier" in m for p, m, _ in found)


def test_settings_numbers_refuse_quotes(tmp_path):
    """A settings file's numbers are TOML numbers, as a workflow file's are: "4" is refused with
    the line to write, not read as 4."""
    from cmflow.foundation.errors import WorkflowInvalid

    file = tmp_path / "cmflow-daemon.toml"
    file.write_text('[daemon]\nmax_parallel_runs = "4"\n\n[health]\nstale_after = "1.5"\n', encoding="utf-8")
    with pytest.raises(WorkflowInvalid) as caught:
        load_daemon_settings(file)
    assert {(p.path, p.hint.split(":")[0]) for p in caught.value.problems} == {
        ("daemon.max_parallel_runs", "write max_parallel_runs = 4"), ("health.stale_after", "write stale_after = 1.5")}


def test_command_line_values_win_over_the_settings_file_across_reloads(tmp_path, store_url, caplog):
    """`--max-parallel 1` over a file saying 3: a health edit reloads without claiming that
    [daemon] changed; an edit of a [daemon] value not given on the command line says it waits
    for the next start."""
    file = tmp_path / "cmflow-daemon.toml"
    file.write_text("[daemon]\nmax_parallel_runs = 3\n", encoding="utf-8")
    settings = load_daemon_settings(file)
    settings.override(max_parallel_runs=1, log_format=None)
    assert (settings.daemon.max_parallel_runs, settings.daemon.log_format) == (1, "text")
    daemon = Daemon(tmp_path, settings, store_url, executor=InlineExecutor(), clock=FakeClock())
    daemon.start()
    with caplog.at_level(logging.INFO, logger="cmflow.daemon"):
        file.write_text("[daemon]\nmax_parallel_runs = 3\n\n[health]\nfailures = 5\n", encoding="utf-8")
        daemon.reload()
        assert daemon.settings.health.failures == 5 and daemon.options.max_parallel_runs == 1
        assert not any("take effect at the next start" in r.getMessage() for r in caplog.records)
        file.write_text("[daemon]\nmax_parallel_runs = 4\nrun_timeout = \"5m\"\n\n[health]\nfailures = 5\n",
                        encoding="utf-8")
        daemon.reload()
    assert any("[daemon] settings take effect at the next start" in r.getMessage() for r in caplog.records)
    assert daemon.options.max_parallel_runs == 1


def test_a_failing_step_of_the_loop_is_logged_and_retried_without_stopping_the_rest(tmp_path, store_url, caplog,
                                                                                     monkeypatch):
    """The folder cannot be read for a moment (a mount gone away): the tick logs it, asks to be
    woken again shortly, and still runs the slot that is due; the next reload succeeds."""
    from cmflow.daemon.service import TROUBLE_BACKOFF

    write_workflow(tmp_path, "daily", "every day at 09:00")
    clock = FakeClock(utc(2026, 11, 24, 7, 59))
    daemon = make_daemon(tmp_path, store_url, clock)
    daemon.tick()  # the 08:00 UTC slot is now planned
    real_refresh = daemon.catalog.refresh
    monkeypatch.setattr(daemon.catalog, "refresh", lambda: (_ for _ in ()).throw(OSError(5, "Input/output error")))
    clock.advance(minutes=2)
    daemon.request_reload()
    with caplog.at_level(logging.ERROR, logger="cmflow.daemon"):
        wait = daemon.tick()
        daemon.tick()
    assert wait <= TROUBLE_BACKOFF
    assert any(r.getMessage() == "failed while reloading the folder; trying again shortly" and r.exc_info
               for r in caplog.records)
    assert slots_run(store_url, "daily") == [utc(2026, 11, 24, 8)]  # the due slot ran all the same
    monkeypatch.setattr(daemon.catalog, "refresh", real_refresh)
    write_workflow(tmp_path, "weekly", "every monday at 09:00")
    daemon.request_reload()
    daemon.tick()
    assert daemon.catalog.by_key("weekly") is not None


def test_a_daemon_stopping_keeps_its_heartbeat_while_runs_finish(tmp_path, store_url, monkeypatch):
    """SIGTERM with a run under way: while it may still finish, `cmflow status` must not call the
    daemon dead; at the deadline the run is stopped and recorded as interrupted."""
    import socket

    from cmflow.daemon import service

    monkeypatch.setattr(service, "HEARTBEAT_EVERY", timedelta(milliseconds=200))
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    feed = f"http://127.0.0.1:{silent.getsockname()[1]}/feed.xml"
    write_workflow(tmp_path, "stuck", "every minute",
                   body=f'\n[[sources]]\nid = "press"\nplugin = "rss"\nfeeds = ["{feed}"]\nallow_private_network = true\n')
    settings = load_daemon_settings(None)
    settings.override(stop_timeout=timedelta(seconds=2))
    daemon = Daemon(tmp_path, settings, store_url, executor=LocalProcessPool(1))
    daemon.start()
    try:
        deadline = datetime.now(UTC) + timedelta(seconds=60)
        while not daemon.running and datetime.now(UTC) < deadline:
            daemon._wait(daemon.tick())
        assert daemon.running
        with open_store(store_url) as store:
            [before] = store.daemons()
        daemon.request_stop()
    finally:
        daemon.shutdown()
        silent.close()
    with open_store(store_url) as store:
        [after] = store.daemons()
        [run] = store.runs("stuck")
    assert after.heartbeat_at - before.heartbeat_at >= timedelta(seconds=1)  # it kept beating while waiting
    assert after.stopped_at is not None
    assert (run.status, run.error) == ("interrupted", "stopped: the daemon was shutting down")


def test_the_shipped_daemon_example_folder_is_valid(store_url):
    folder = Path(__file__).parents[1] / "workflows" / "daemon"
    settings = load_daemon_settings(folder / "cmflow-daemon.toml")
    assert [e.plugin.name for e in settings.health_workflow.outputs] == ["email"]
    daemon = Daemon(folder, settings, store_url, executor=RecordingExecutor(store_url), clock=FakeClock())
    daemon.start()
    assert daemon.catalog.problems == {}
    assert [str(s.timetable) for s in daemon.catalog.workflows] == ["every monday at 09:00"]


def test_a_silence_on_workflow_id_mutes_that_workflows_health_alert(tmp_path, store_url):
    from cmflow.foundation.silences import Silence

    for name in ("client", "other"):
        write_workflow(tmp_path, name, "every hour", source=str(tmp_path / "missing.csv"))
    clock = FakeClock(utc(2026, 11, 24, 8, 0, 5))
    with open_store(store_url) as store:
        store.add_silence(Silence("s1", {"workflow_id": "client"}, clock.now, clock.now + timedelta(days=1),
                                  "exports paused", "ops", clock.now))
    daemon = make_daemon(tmp_path, store_url, clock, settings_text=health_settings(failures=1, mail=tmp_path / "mail"))
    for _ in range(3):
        daemon.tick()
    with open_store(store_url) as store:
        alerts = {a.dimensions["workflow_id"]: a.state for a in store.alerts("cmflow-daemon")}
        [message] = store.outbox()
    assert alerts == {"client": "firing", "other": "firing"}  # a silenced alert still fires ...
    assert "1 alert firing" in message.summary  # ... unannounced: only the other one is sent
    body = str(message.payload)
    assert "other: 1 failed run in a row" in body and "client:" not in body


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_log_lines_carry_the_run_id_and_never_a_secret(tmp_path, monkeypatch, log_format):
    """A workflow's ${env:} secret is redacted from the message, the structured fields and the
    traceback, in both formats; lines of a run's process carry the run's id."""
    import io
    import json

    from cmflow.daemon.logs import configure_logging
    from cmflow.workflow import load_workflow

    monkeypatch.setenv("HOOK_TOKEN", "s3cr3t-hook-token")
    write_workflow(tmp_path, "hooked", "every hour", body='\n[[outputs]]\nplugin = "webhook"\n'
                   'url = "https://hooks.example.com/${env:HOOK_TOKEN}"\n')
    load_workflow(tmp_path / "hooked.toml")  # reading the secret makes it known to the redactor
    stream = io.StringIO()
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    for noisy in ("httpx", "httpcore"):  # configure_logging quietens them: restored below
        monkeypatch.setattr(logging.getLogger(noisy), "level", logging.getLogger(noisy).level)
    try:
        configure_logging(log_format, logging.INFO, run="hooked@2026-11-24T08:00Z", stream=stream)
        try:
            raise RuntimeError("POST https://hooks.example.com/s3cr3t-hook-token refused")
        except RuntimeError:
            logging.getLogger("cmflow.output.hook").warning(
                "could not send to %s", "https://hooks.example.com/s3cr3t-hook-token", exc_info=True,
                extra={"event": "delivery", "file": "/srv/s3cr3t-hook-token.toml"})
    finally:
        root.handlers[:], _ = saved
        root.setLevel(saved[1])
    output = stream.getvalue()
    assert "s3cr3t-hook-token" not in output and "***" in output
    if log_format == "json":
        entry = json.loads(output.splitlines()[0])
        assert (entry["run"], entry["event"], entry["level"]) == ("hooked@2026-11-24T08:00Z", "delivery", "warning")
        assert "***" in entry["file"] and "RuntimeError" in entry["error"]
    else:
        assert "run=hooked@2026-11-24T08:00Z" in output and "event=delivery" in output


def test_a_schedule_edit_does_not_catch_up_slots_that_never_existed(tmp_path, store_url):
    file = write_workflow(tmp_path, "daily", "every day at 09:00", extra='catch_up = "all"')
    clock = FakeClock(utc(2026, 11, 24, 8, 0, 5))
    executor = RecordingExecutor(store_url)
    daemon = make_daemon(tmp_path, store_url, clock, executor)
    daemon.tick()
    clock.advance(hours=6, minutes=30)  # 14:30 in Paris: switch to hourly
    file.write_text(file.read_text(encoding="utf-8").replace("every day at 09:00", "every hour"), encoding="utf-8")
    os.utime(file, ns=(3, 3))
    daemon.request_reload()
    daemon.tick()
    daemon.tick()
    assert [r.slot for r in executor.requests] == [utc(2026, 11, 24, 8)]  # not 10:00 .. 14:00
    clock.advance(minutes=30)
    daemon.tick()
    daemon.tick()
    assert [r.slot for r in executor.requests][-1] == utc(2026, 11, 24, 15)


def test_the_run_queue_gives_the_oldest_slot_first_whatever_the_order_slots_were_queued() -> None:
    at = datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc)
    queue = SlotQueue()
    queue.push("weekly", at + timedelta(hours=2))
    queue.push("daily", at)
    queue.push("hourly", at + timedelta(hours=1))
    queue.push("gone", at - timedelta(hours=1))
    queue.push("other-daily", at)  # the same slot as daily's, queued later: after it
    queue.keep_only({"weekly", "daily", "hourly", "other-daily"})
    assert queue.keys() == {"weekly", "daily", "hourly", "other-daily"}
    assert queue.peek() == ("daily", at) and len(queue) == 4
    assert list(queue) == [("daily", at), ("other-daily", at), ("hourly", at + timedelta(hours=1)),
                           ("weekly", at + timedelta(hours=2))]
    assert [queue.pop() for _ in range(len(queue))] == list(
        zip(["daily", "other-daily", "hourly", "weekly"], [at, at, at + timedelta(hours=1), at + timedelta(hours=2)]))
    assert not queue


def test_the_fork_servers_warm_up_succeeds_and_importing_the_worker_does_not_run_it(caplog) -> None:
    """The warm-up only logs a warning when it fails (runs then start colder): it must not fail
    with the built-in plugins; and it belongs to the fork server, not to whoever imports the
    worker (the daemon's own process, the tests)."""
    import gc
    import logging
    import subprocess
    import sys

    from cmflow.daemon.worker import warm_up

    with caplog.at_level(logging.WARNING, logger="cmflow"):
        try:
            warm_up()
        finally:
            gc.unfreeze()
    assert [r.getMessage() for r in caplog.records if "warming up" in r.getMessage()] == []
    frozen = subprocess.run([sys.executable, "-c", "import gc, cmflow.daemon.worker; print(gc.get_freeze_count())"],
                            capture_output=True, text=True, check=True).stdout.strip()
    assert frozen == "0"
