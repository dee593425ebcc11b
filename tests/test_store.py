"""The state store: schema and migrations, run history, measurement history, alert state, run locks.

Each test of the Store interface runs on a real SQLite file in tmp_path and on a database of its
own on the PostgreSQL test server (the ``any_store_url`` fixture); connections of their own
(``store_rows.raw_rows``) check what really reached the database, independently of the store's
read methods. Tests about SQLite files (WAL, the file) take ``store_url`` and say so by name.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

import polars as pl
import pytest

from cmflow.foundation.alerts import Alert
from cmflow.foundation.measurements import with_series_key
from cmflow.store import open_store
from cmflow.store.migrations import LATEST_VERSION, MIGRATIONS
from cmflow.store.sql import SqlStore, StoreError
from store_rows import is_postgres, raw_rows, schema_of

WEEK_A = (date(2026, 11, 9), date(2026, 11, 15))
WEEK_B = (date(2026, 11, 16), date(2026, 11, 22))
WEEK_C = (date(2026, 11, 23), date(2026, 11, 29))


def db_path(url: str) -> Path:
    return Path(url.removeprefix("sqlite:///"))


def table_names(url: str) -> set[str]:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def measurement_frame(rows: list[dict]) -> pl.DataFrame:
    """A measurement frame shaped like the runner's: core columns, dimensions, bounds, series_key.

    Each row dict gives metric, value, period (start, end) and optionally account / unit / reason.
    """
    frame = pl.DataFrame(
        {
            "period": ["current"] * len(rows),
            "metric": [r["metric"] for r in rows],
            "unit": [r.get("unit", "%") for r in rows],
            "value": [r["value"] for r in rows],
            "reason": [r.get("reason") for r in rows],
            "platform": [r.get("platform", "instagram") for r in rows],
            "account": [r.get("account") for r in rows],
            "rank": [None] * len(rows),
            "period_start": [r["period"][0] for r in rows],
            "period_end": [r["period"][1] for r in rows],
        },
        schema={"period": pl.String, "metric": pl.String, "unit": pl.String, "value": pl.Float64,
                "reason": pl.String, "platform": pl.String, "account": pl.String, "rank": pl.Int64,
                "period_start": pl.Date, "period_end": pl.Date},
    )
    return with_series_key(frame)


def finish(store: SqlStore, run_id: int, *, workflow: str = "weekly", measurements=None,
           alerts=(), status: str = "ok", error: str | None = None) -> None:
    store.commit_run(run_id, workflow=workflow, measurements=measurements, alerts=list(alerts))
    store.finish_run(run_id, status=status, stats={"measurements": 0 if measurements is None
                                                   else measurements.height}, error=error)


def start(store: SqlStore, workflow: str = "weekly", period: tuple[date, date] = WEEK_B) -> int:
    return store.start_run(workflow, f"/work/{workflow}.toml", period[0], period[1], False)


# -- schema ----------------------------------------------------------------------------------
def test_new_store_is_created_at_the_latest_version(any_store_url):
    with open_store(any_store_url) as store:
        assert store.schema_version() == LATEST_VERSION
    if any_store_url.startswith("sqlite"):
        assert db_path(any_store_url).is_file()
    versions = raw_rows(any_store_url, "SELECT version, description FROM schema_migrations ORDER BY version")
    assert [v for v, _ in versions] == list(range(1, LATEST_VERSION + 1))
    assert [d for _, d in versions] == [description for description, _ in MIGRATIONS]
    assert {"schema_migrations", "runs", "measurements", "alerts"} <= table_names(any_store_url)


def test_several_new_sqlite_stores_in_one_process_each_get_the_lookup_index(tmp_path):
    """Regression: the second store created by a process failed with "index already exists"."""
    urls = [f"sqlite:///{tmp_path / name}" for name in ("one.db", "two.db", "three.db")]
    for url in urls:
        open_store(url).close()
        indexes = raw_rows(url, "SELECT name FROM sqlite_master WHERE type='index' AND tbl_name='measurements'")
        assert ("ix_measurements_lookup",) in indexes


def test_a_new_store_has_the_schema_migrations_make_which_queries_are_written_against(any_store_url, tmp_path):
    """A new store is created in one step from tables.py (cmflow.store.creation); an older store
    goes through the migrations, each with its frozen DDL. Both must end with one schema (types,
    nullability, defaults, keys, indexes, constraints), the tables' of tables.py: this fails when a
    migration changes a table and tables.py does not, or the reverse."""
    from cmflow.store import tables

    SqlStore(any_store_url, migrate_to=1).close()
    open_store(any_store_url).close()  # v2 to the latest, one transaction each
    migrated = schema_of(any_store_url)
    for table in tables.metadata.sorted_tables:
        columns = {name: nullable for name, _type, nullable, _default, _auto, _collation in migrated[table.name]["columns"]}
        assert list(columns) == [c.name for c in table.columns], table.name
        assert columns == {c.name: c.nullable for c in table.columns}, table.name
        assert (migrated[table.name]["primary key"]["constrained_columns"]
                == [c.name for c in table.primary_key.columns]), table.name
        assert {i.name for i in table.indexes} <= {i[0] for i in migrated[table.name]["indexes"]}, table.name
    assert set(migrated) - {"(sequences)", "(autoincrement)"} == set(tables.metadata.tables)

    if is_postgres(any_store_url):
        from shared_servers import fresh_postgres_database

        new_url, drop = fresh_postgres_database()
    else:
        new_url, drop = f"sqlite:///{tmp_path / 'new.db'}", lambda: None
    try:
        open_store(new_url).close()
        assert schema_of(new_url) == migrated
    finally:
        drop()


def test_sqlite_file_is_in_wal_mode(store_url):
    with open_store(store_url) as store:
        start(store)  # a write, so the file and its journal mode certainly exist
    assert raw_rows(store_url, "PRAGMA journal_mode") == [("wal",)]


def test_opening_twice_does_not_reapply_migrations(any_store_url):
    open_store(any_store_url).close()
    open_store(any_store_url).close()
    assert raw_rows(any_store_url, "SELECT COUNT(*) FROM schema_migrations") == [(LATEST_VERSION,)]


def test_v1_store_is_migrated_and_keeps_its_data(any_store_url):
    old = SqlStore(any_store_url, migrate_to=1)
    assert old.schema_version() == 1
    assert "alerts" not in table_names(any_store_url)
    run_id = start(old)
    finish(old, run_id, measurements=measurement_frame(
        [{"metric": "engagement_rate_by_reach", "value": 4.25, "account": "a", "period": WEEK_B}]))
    old.close()

    with open_store(any_store_url) as store:
        assert store.schema_version() == LATEST_VERSION
        [run] = store.runs()
        assert (run.id, run.status, run.workflow) == (run_id, "ok", "weekly")
        history = store.measurement_history("weekly", ["engagement_rate_by_reach"], [WEEK_B])
        assert history["value"].to_list() == [4.25]
        assert store.alert_states("weekly") == {}  # the table v2 added exists and is usable
    assert [v for (v,) in raw_rows(any_store_url, "SELECT version FROM schema_migrations ORDER BY version")] == \
        list(range(1, LATEST_VERSION + 1))


def test_store_newer_than_this_cmflow_is_refused(any_store_url):
    open_store(any_store_url).close()
    raw_rows(any_store_url, "INSERT INTO schema_migrations (version, description, applied_at) "
                        "VALUES (999, 'from the future', '2030-01-01 00:00:00')")
    with pytest.raises(StoreError) as raised:
        open_store(any_store_url)
    message = str(raised.value)
    assert "999" in message and str(LATEST_VERSION) in message
    assert "upgrade cmflow" in message


# -- runs ------------------------------------------------------------------------------------
def test_run_round_trip_with_measurements_and_alerts(any_store_url):
    alert = Alert("err_drop", "engagement_rate_by_reach", {"platform": "instagram", "account": "a"},
                  "engagement_rate_by_reach dropped 45% for instagram / a", severity="warning", value=2.8)
    frame = measurement_frame([
        {"metric": "engagement_rate_by_reach", "value": 2.8, "account": "a", "period": WEEK_B},
        {"metric": "engagement_rate_by_reach", "value": None, "account": "b", "period": WEEK_B,
         "reason": "reach is 0"},
        {"metric": "posts_published", "value": 3.0, "unit": "posts", "period": WEEK_B},
    ])
    with open_store(any_store_url) as store:
        run_id = start(store)
        [running] = store.runs()
        assert running.status == "running" and running.finished_at is None
        finish(store, run_id, measurements=frame, alerts=[alert], status="failed", error="source x: boom")

        [run] = store.runs()
        assert run.id == run_id
        assert (run.status, run.error, run.dry_run) == ("failed", "source x: boom", False)
        assert (run.period_start, run.period_end) == WEEK_B
        assert run.finished_at is not None and run.finished_at >= run.started_at
        assert run.started_at.tzinfo is not None
        assert run.stats == {"measurements": 3}

        history = store.measurement_history("weekly", ["engagement_rate_by_reach", "posts_published"], [WEEK_B])
        by_key = {(r["metric"], r["series_key"]): r for r in history.iter_rows(named=True)}
        assert len(by_key) == 3
        err_a = by_key[("engagement_rate_by_reach", '{"account":"a","platform":"instagram"}')]
        assert (err_a["value"], err_a["unit"], err_a["account"], err_a["platform"]) == (2.8, "%", "a", "instagram")
        err_b = by_key[("engagement_rate_by_reach", '{"account":"b","platform":"instagram"}')]
        assert err_b["value"] is None and err_b["reason"] == "reach is 0"
        assert by_key[("posts_published", '{"platform":"instagram"}')]["value"] == 3.0

        states = store.alert_states("weekly")
        assert list(states) == [alert.fingerprint]
        state = states[alert.fingerprint]
        assert (state.rule, state.metric, state.state, state.severity, state.value) == \
            ("err_drop", "engagement_rate_by_reach", "firing", "warning", 2.8)
        assert state.dimensions == {"platform": "instagram", "account": "a"}
        assert state.resolved_at is None
    assert raw_rows(any_store_url, "SELECT COUNT(*) FROM measurements WHERE run_id = ?", run_id) == [(3,)]


def test_alert_resolution_and_new_episode(any_store_url):
    dims = {"platform": "facebook", "account": "m"}
    with open_store(any_store_url) as store:
        first = start(store)
        finish(store, first, alerts=[Alert("spike", "total_reach", dims, "reach rose", value=9000.0)])
        first_seen = store.alert_states("weekly")[Alert("spike", "total_reach", dims, "").fingerprint].first_seen

        second = start(store)
        finish(store, second, alerts=[Alert("spike", "total_reach", dims, "resolved: reach rose",
                                            state="resolved", is_new=False)])
        [state] = store.alert_states("weekly").values()
        assert state.state == "resolved" and state.resolved_at is not None
        assert state.first_seen == first_seen

        third = start(store)
        finish(store, third, alerts=[Alert("spike", "total_reach", dims, "reach rose again", value=9500.0)])
        [state] = store.alert_states("weekly").values()
        assert state.state == "firing" and state.resolved_at is None
        assert state.first_seen > first_seen  # a new episode, not the old one carried on
    assert raw_rows(any_store_url, "SELECT COUNT(*), MAX(last_run_id) FROM alerts") == [(1, third)]


def test_runs_are_newest_first_and_filtered_by_workflow(any_store_url):
    with open_store(any_store_url) as store:
        ids = []
        for workflow in ("weekly", "monthly", "weekly", "monthly", "weekly"):
            run_id = start(store, workflow)
            finish(store, run_id, workflow=workflow)
            ids.append(run_id)
        assert [r.id for r in store.runs()] == sorted(ids, reverse=True)
        weekly = store.runs("weekly")
        assert [r.id for r in weekly] == [ids[4], ids[2], ids[0]]
        assert {r.workflow for r in weekly} == {"weekly"}
        assert [r.id for r in store.runs(limit=2)] == [ids[4], ids[3]]
        assert store.runs("nobody") == []


def test_last_handled_slots_of_many_workflows_are_read_at_once(any_store_url):
    """The daemon's health check reads every workflow's last handled slot in one go: each as
    :meth:`last_handled_slot` says it (finished runs, runs cut short after committing, missed
    slots; not runs still running or cut short before committing), for workflows on either side
    of a statement's boundary, named twice or with quotes in their names."""
    from datetime import timedelta

    from cmflow.foundation.schedules import SkippedSlots

    slot = datetime(2026, 1, 5, 8, tzinfo=timezone.utc)

    def run(store, workflow: str, days: int, status: str | None, *, commit: bool = False) -> None:
        run_id = store.start_run(workflow, "w.toml", date(2026, 1, 1), date(2026, 1, 4), False,
                                 slot=slot + timedelta(days=days))
        if commit:
            store.commit_run(run_id, workflow=workflow, measurements=None, alerts=[])
        if status is not None:
            store.finish_run(run_id, status=status, stats={}, error=None)

    with open_store(any_store_url) as store:
        per_statement = store._workflows_per_statement()
        many = [f"w{i}" for i in range(2 * per_statement + 3)]
        expected: dict[str, datetime | None] = dict.fromkeys(many)
        cases = {  # workflow position: (its runs as (days after slot, status, committed), expected days)
            0: ([(0, "ok", True), (1, "failed", True), (2, "interrupted", False)], 1),
            per_statement - 1: ([(0, "ok", True), (3, "interrupted", True)], 3),  # cut short after committing
            per_statement: ([(2, "timeout", False), (4, None, True)], 4),  # still running, committed
            per_statement + 1: ([(5, None, False)], None),  # still running, nothing committed
            len(many) - 1: ([(0, "crashed", False), (1, "warning", True), (2, "undelivered", True)], 2),
        }
        for position, (history, days) in cases.items():
            for run_days, status, commit in history:
                run(store, many[position], run_days, status, commit=commit)
            expected[many[position]] = None if days is None else slot + timedelta(days=days)
        for name in ("o'brien", 'say "hi"'):
            run(store, name, 6, "ok", commit=True)
            expected[name] = slot + timedelta(days=6)
        store.record_missed_slots("missed", [SkippedSlots("down", slot, slot + timedelta(days=9), 10)], slot)
        store.record_missed_slots(many[0], [SkippedSlots("down", slot - timedelta(days=3), slot, 4)], slot)
        expected["missed"] = slot + timedelta(days=9)
        asked = ["missed", *many, "o'brien", many[per_statement], 'say "hi"', "missed"]
        handled = store.last_handled_slots(asked)
        assert handled == expected
        assert {w: store.last_handled_slot(w) for w in expected} == expected
        assert store.last_handled_slots([]) == {}


def test_run_left_running_is_marked_interrupted_by_the_next_run(any_store_url):
    with open_store(any_store_url) as store:
        killed = start(store, "weekly")
        other = start(store, "monthly")  # another workflow: not touched
        restarted = start(store, "weekly")
        runs = {r.id: r for r in store.runs()}
        assert runs[killed].status == "interrupted" and runs[killed].finished_at is not None
        assert runs[other].status == "running" and runs[other].finished_at is None
        assert runs[restarted].status == "running"


# -- measurement history ---------------------------------------------------------------------
def test_upsert_keeps_the_newest_value(any_store_url):
    key = {"metric": "engagement_rate_by_reach", "account": "a", "period": WEEK_B}
    with open_store(any_store_url) as store:
        first = start(store)
        finish(store, first, measurements=measurement_frame([{**key, "value": 3.0}]))
        second = start(store)
        finish(store, second, measurements=measurement_frame([{**key, "value": 3.5}]))
        history = store.measurement_history("weekly", ["engagement_rate_by_reach"], [WEEK_B])
        assert history["value"].to_list() == [3.5]
    assert raw_rows(any_store_url, "SELECT value, run_id FROM measurements") == [(3.5, second)]


def test_same_series_in_another_workflow_is_kept_apart(any_store_url):
    key = {"metric": "engagement_rate_by_reach", "account": "a", "period": WEEK_B}
    with open_store(any_store_url) as store:
        finish(store, start(store, "weekly"), workflow="weekly", measurements=measurement_frame([{**key, "value": 1.0}]))
        finish(store, start(store, "other"), workflow="other", measurements=measurement_frame([{**key, "value": 2.0}]))
        assert store.measurement_history("weekly", [key["metric"]], [WEEK_B])["value"].to_list() == [1.0]
        assert store.measurement_history("other", [key["metric"]], [WEEK_B])["value"].to_list() == [2.0]


def test_measurement_history_returns_exactly_the_requested_periods(any_store_url):
    rows = [{"metric": metric, "value": value, "account": "a", "period": period}
            for metric in ("engagement_rate_by_reach", "posts_published")
            for value, period in ((1.0, WEEK_A), (2.0, WEEK_B), (3.0, WEEK_C))]
    # A period overlapping WEEK_A and WEEK_B but equal to neither must not match either.
    rows.append({"metric": "engagement_rate_by_reach", "value": 9.0, "account": "a",
                 "period": (date(2026, 11, 12), date(2026, 11, 18))})
    with open_store(any_store_url) as store:
        finish(store, start(store), measurements=measurement_frame(rows))
        history = store.measurement_history("weekly", ["engagement_rate_by_reach"], [WEEK_A, WEEK_C])
        got = sorted((r["period_start"], r["period_end"], r["metric"], r["value"]) for r in history.iter_rows(named=True))
        assert got == [(*WEEK_A, "engagement_rate_by_reach", 1.0), (*WEEK_C, "engagement_rate_by_reach", 3.0)]
        assert store.measurement_history("weekly", ["engagement_rate_by_reach"], [(date(2026, 11, 9), date(2026, 11, 22))]).height == 0
        assert store.measurement_history("weekly", [], [WEEK_A]).height == 0
        assert store.measurement_history("weekly", ["engagement_rate_by_reach"], []).height == 0


# -- atomicity -------------------------------------------------------------------------------
def test_finish_run_rolls_back_when_a_later_measurement_chunk_fails(any_store_url):
    """Rows are written in chunks of 5000: the second chunk's NOT NULL violation undoes the first."""
    rows = [{"metric": "engagement_rate_by_reach", "value": float(i), "account": f"acct{i}", "period": WEEK_B}
            for i in range(5003)]
    frame = measurement_frame(rows).with_columns(
        pl.when(pl.col("account") == "acct5001").then(None).otherwise(pl.col("unit")).alias("unit"))
    with open_store(any_store_url) as store:
        run_id = start(store)
        with pytest.raises(Exception, match="(?i)not.null"):
            finish(store, run_id, measurements=frame)
        [run] = store.runs()
        assert run.status == "running" and run.finished_at is None and run.error is None
    assert raw_rows(any_store_url, "SELECT COUNT(*) FROM measurements") == [(0,)]
    assert raw_rows(any_store_url, "SELECT status, finished_at FROM runs WHERE id = ?", run_id) == [("running", None)]


class AlertWithBrokenSummary(Alert):
    """An alert whose summary cannot be read: fails after the measurements were written."""

    @property
    def summary(self) -> str:  # type: ignore[override]
        raise RuntimeError("summary unavailable")

    @summary.setter
    def summary(self, value: str) -> None:
        pass


def test_finish_run_rolls_back_when_recording_an_alert_fails(any_store_url):
    good = Alert("spike", "total_reach", {"account": "m"}, "reach rose", value=10.0)
    broken = AlertWithBrokenSummary("err_drop", "engagement_rate_by_reach", {"account": "a"}, "x")
    frame = measurement_frame([{"metric": "engagement_rate_by_reach", "value": 2.0, "account": "a", "period": WEEK_B}])
    with open_store(any_store_url) as store:
        run_id = start(store)
        with pytest.raises(RuntimeError, match="summary unavailable"):
            finish(store, run_id, measurements=frame, alerts=[good, broken])
        [run] = store.runs()
        assert run.status == "running" and run.finished_at is None
        assert store.alert_states("weekly") == {}
        assert store.measurement_history("weekly", ["engagement_rate_by_reach"], [WEEK_B]).height == 0
    assert raw_rows(any_store_url, "SELECT COUNT(*) FROM measurements") == [(0,)]
    assert raw_rows(any_store_url, "SELECT COUNT(*) FROM alerts") == [(0,)]


def test_processes_opening_one_new_store_at_once_all_succeed(any_store_url):
    """Migrations hold the write lock (SQLite) or an advisory lock (PostgreSQL): concurrent
    first opens queue up, none fails half-way, each step is applied once."""
    import subprocess
    import sys

    from start_gate import WAIT, StartGate

    url = any_store_url
    # Each process imports everything, says it is ready, then waits for the others: they then
    # open the new store within a millisecond of each other.
    script = ("import sys; from datetime import date; from cmflow.store import open_store\n"
              "import cmflow.store.sql\n"
              f"{WAIT}"
              "with open_store(sys.argv[1]) as store:\n"
              "    run = store.start_run('w', 'w.toml', date(2026, 1, 5), date(2026, 1, 11), False)\n"
              "    store.commit_run(run, workflow='w', measurements=None, alerts=[])\n"
              "    store.finish_run(run, status='ok', stats={}, error=None)\n")
    gate = StartGate()
    processes = [subprocess.Popen([sys.executable, "-c", script, url, *gate.arguments], pass_fds=gate.fds,
                                  stderr=subprocess.PIPE, text=True) for _ in range(6)]
    gate.open_when_ready(len(processes))
    errors = [p.communicate(timeout=60)[1] for p in processes]
    assert [p.returncode for p in processes] == [0] * 6, errors
    with open_store(url) as store:
        assert store.schema_version() == LATEST_VERSION
        assert len(store.runs("w")) == 6
    versions = [v for (v,) in raw_rows(url, "SELECT version FROM schema_migrations ORDER BY version")]
    assert versions == list(range(1, LATEST_VERSION + 1))


# -- run locks: one run of a workflow at a time ----------------------------------------------
def test_a_run_lock_is_exclusive_until_released(any_store_url):
    import os
    from datetime import timedelta

    from cmflow.store import LockOwner, WorkflowBusy

    first, second = LockOwner("host-a", os.getpid(), "one"), LockOwner("host-a", os.getpid(), "two")
    with open_store(any_store_url) as store:
        store.acquire_run_lock("weekly", first, timedelta(hours=1))
        store.acquire_run_lock("weekly", first, timedelta(hours=1))  # the holder may take it again
        with pytest.raises(WorkflowBusy, match=rf"'weekly' is already running \(process {os.getpid()} on host-a"):
            store.acquire_run_lock("weekly", second, timedelta(hours=1))
        store.acquire_run_lock("monthly", second, timedelta(hours=1))  # another workflow: free
        store.release_run_lock("weekly", second)  # not the holder: nothing happens
        with pytest.raises(WorkflowBusy):
            store.acquire_run_lock("weekly", second, timedelta(hours=1))
        store.release_run_lock("weekly", first)
        store.acquire_run_lock("weekly", second, timedelta(hours=1))


def test_a_lock_of_a_dead_process_or_past_its_time_is_taken_over(any_store_url):
    import socket
    import subprocess
    import sys
    from datetime import timedelta

    from cmflow.store import LockOwner, WorkflowBusy

    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True)
    dead_pid = int(finished.stdout)
    here = socket.gethostname()
    me = LockOwner(here, 1, "me")
    with open_store(any_store_url) as store:
        store.acquire_run_lock("weekly", LockOwner(here, dead_pid, "killed"), timedelta(hours=6))
        store.acquire_run_lock("weekly", me, timedelta(hours=1))  # its process is gone: taken over
        store.acquire_run_lock("daily", LockOwner("elsewhere", 42, "remote"), timedelta(hours=1))
        with pytest.raises(WorkflowBusy, match="process 42 on elsewhere"):  # cannot check a remote pid
            store.acquire_run_lock("daily", me, timedelta(hours=1))
        store.acquire_run_lock("hourly", LockOwner("elsewhere", 42, "remote"), timedelta(seconds=-1))
        store.acquire_run_lock("hourly", me, timedelta(hours=1))  # expired: taken over


def test_process_ids_are_only_judged_within_one_boot_and_pid_namespace(any_store_url):
    """Two containers sharing a host name (host networking) see different processes under one
    pid: a lock taken in the other one waits for its expiry, whatever our pid table says."""
    import subprocess
    import sys
    from datetime import timedelta

    from cmflow.store import LockOwner, WorkflowBusy, same_host, this_host

    here = this_host()
    name = here.split("#", 1)[0]
    other_container = f"{name}#00000000"
    assert same_host(here, here) and same_host(name, here)  # a lock written before the tag existed
    assert not same_host(other_container, here)
    dead_pid = int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                                  capture_output=True, text=True, check=True).stdout)
    me = LockOwner.this_process()
    with open_store(any_store_url) as store:
        store.acquire_run_lock("weekly", LockOwner(other_container, dead_pid, "theirs"), timedelta(hours=1))
        assert store.run_lock_held("weekly", here)
        with pytest.raises(WorkflowBusy):  # that pid means nothing here: not taken over
            store.acquire_run_lock("weekly", me, timedelta(hours=1))
        store.acquire_run_lock("daily", LockOwner(here, dead_pid, "mine, killed"), timedelta(hours=1))
        assert not store.run_lock_held("daily", here)
        store.acquire_run_lock("daily", me, timedelta(hours=1))  # same process space, dead: taken over
        assert store.run_lock_held("daily", here) and not store.run_lock_held("monthly", here)


def test_v3_firing_alerts_are_taken_as_announced_by_the_v4_migration(any_store_url):
    """An alert firing before the lifecycle existed was notified then: upgrading must not re-send it."""
    old = SqlStore(any_store_url, migrate_to=3)
    run_id = start(old)
    old.close()
    for fingerprint, state in (("f1", "firing"), ("f2", "resolved")):
        raw_rows(any_store_url,
                 "INSERT INTO alerts (fingerprint, workflow, rule, metric, dimensions, state, severity, summary,"
                 " value, first_seen, last_seen, resolved_at, last_run_id) VALUES (?, 'weekly', 'err_drop',"
                 " 'engagement_rate_by_reach', '{}', ?, 'warning', 'ERR dropped', 1.0,"
                 " '2026-11-17 09:00:00', '2026-11-24 09:00:00', NULL, ?)", fingerprint, state, run_id)
    with open_store(any_store_url) as store:
        states = store.alert_states("weekly")
        assert store.outbox() == [] and store.silences() == []
    firing, resolved = states["f1"], states["f2"]
    assert (firing.condition, firing.streak, firing.reminders) == ("value", 1, 0)
    assert firing.active_since == datetime(2026, 11, 17, 9, tzinfo=timezone.utc)
    assert firing.notified_at == datetime(2026, 11, 24, 9, tzinfo=timezone.utc)
    assert resolved.notified_at is None and resolved.active_since is None


def test_text_of_any_length_is_kept_on_every_database(any_store_url):
    """PostgreSQL checks a VARCHAR's length, SQLite never did: since migration 11 neither
    refuses a long series key, reason, workflow file or record key."""
    from datetime import datetime, timezone

    from cmflow.store import SourceCursor

    account = "compte-" + "x" * 1500
    reason = "no posts in the period: " + "y" * 2000
    with open_store(any_store_url) as store:
        run_id = store.start_run("weekly", "/srv/" + "deep/" * 300 + "weekly.toml", *WEEK_B, dry_run=False)
        finish(store, run_id, measurements=measurement_frame([
            {"metric": "engagement_rate_by_reach", "account": account, "period": WEEK_B, "value": None,
             "reason": reason}]))
        history = store.measurement_history("weekly", ["engagement_rate_by_reach"], [WEEK_B])
        assert history["reason"].to_list() == [reason] and account in history["series_key"][0]
        assert store.runs("weekly")[0].workflow_file.endswith("weekly.toml")


def test_last_handled_slots_fit_in_sqlite_999_variables(tmp_path):
    """SQLite before 3.32 takes at most 999 placeholders a statement: the last handled slots of
    many workflows are read on a connection so capped (each workflow takes several)."""
    import sqlite3

    import sqlalchemy as sa

    with open_store(f"sqlite:///{tmp_path / 'state.db'}") as store:
        sa.event.listen(store.engine, "connect", lambda connection, _record: connection.setlimit(
            sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 999))
        store.engine.dispose()
        run_id = start(store, "last")
        finish(store, run_id, workflow="last")
        many = [f"w{i}" for i in range(300)] + ["last"]
        handled = store.last_handled_slots(many)
        assert len(handled) == 301 and handled["w0"] is None and handled["last"] is None  # no slot given
        with store.engine.connect() as connection:  # the cap holds on the connection the store read with
            with pytest.raises(sa.exc.OperationalError, match="too many SQL variables"):
                connection.execute(sa.text("SELECT " + ", ".join(f":v{i}" for i in range(1000))),
                                   {f"v{i}": i for i in range(1000)})


def test_alert_details_are_kept_as_json_and_a_v13_store_s_alerts_have_none(any_store_url):
    """Since v14 an alert's details are stored (a resolved alert is told again from them in its
    client's language); a value JSON cannot hold (NaN: PostgreSQL's JSON refuses it) is null, a
    date its ISO text. Alerts stored before v14 read back with no details."""
    old = SqlStore(any_store_url, migrate_to=13)
    run_id = start(old)
    finish(old, run_id, alerts=[Alert("spike", "mentions", {"brand": "a"}, "Mentions spiked", value=26.0,
                                      details={"baseline_mean": 2.0})])
    assert [state.details for state in old.alerts("weekly")] == [{}]
    old.close()
    details = {"baseline_mean": 2.0, "baseline_periods": 4, "ratio": float("nan"), "period_start": date(2026, 11, 20),
               "nested": {"z": float("inf"), "points": [1, 2.5]}}
    with open_store(any_store_url) as store:
        [before] = store.alerts("weekly")
        assert before.details == {}
        finish(store, start(store), alerts=[Alert("spike", "mentions", {"brand": "b"}, "Mentions spiked", value=30.0,
                                                  details=details)])
        kept = {state.dimensions["brand"]: state.details for state in store.alerts("weekly")}
    assert kept == {"a": {}, "b": {"baseline_mean": 2.0, "baseline_periods": 4, "ratio": None,
                                   "period_start": "2026-11-20", "nested": {"z": None, "points": [1, 2.5]}}}
    assert raw_rows(any_store_url, "SELECT COUNT(*) FROM alerts WHERE details IS NULL") == [(1,)]
