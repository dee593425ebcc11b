"""The PostgreSQL store: the URLs users write, what a refused or unreachable store says, times
in UTC, and connections that outlive a server restart (on a private server this test starts,
restarts and stops; the shared test server is never stopped).

The Store interface itself runs on PostgreSQL through ``any_store_url`` (tests/test_store.py,
test_outbox.py, test_incremental.py); processes sharing one store are in
tests/faults/test_shared_store.py.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from cmflow.store import StoreError, open_store
from cmflow.store.urls import store_url_problem
from daemon_process import META_SOURCE
from private_postgres import PrivatePostgres
from shared_servers import unique_name
from store_rows import raw_rows

WEEK = (date(2026, 11, 16), date(2026, 11, 22))


def plain(url: str, **changes) -> str:
    """``url`` as a user writes it (``postgresql://``, no driver), with ``changes`` made."""
    return sa.make_url(url).set(drivername="postgresql", **changes).render_as_string(hide_password=False)


@pytest.fixture
def limited_role(postgres_url):
    """A role that may log in with a password and owns nothing: (name, password)."""
    name, password = unique_name("cmflow_role"), "pg-s3cret-pw"
    raw_rows(postgres_url, f"CREATE ROLE {name} LOGIN PASSWORD '{password}'")
    yield name, password
    raw_rows(postgres_url, f"REASSIGN OWNED BY {name} TO CURRENT_USER")
    raw_rows(postgres_url, f"DROP OWNED BY {name}")
    raw_rows(postgres_url, f"DROP ROLE {name}")


@pytest.mark.parametrize("scheme", ["postgresql", "postgres", "postgresql+psycopg"])
def test_the_urls_users_write_open_with_psycopg_3(postgres_url, scheme):
    url = sa.make_url(postgres_url).set(drivername=scheme).render_as_string(hide_password=False)
    assert store_url_problem(url) is None
    with open_store(url) as store:
        assert store.engine.dialect.driver == "psycopg"
        run_id = store.start_run("weekly", "w.toml", *WEEK, False, slot=datetime(2026, 11, 23, 8, tzinfo=timezone.utc))
        [run] = store.runs()
    assert run.id == run_id
    assert run.slot == datetime(2026, 11, 23, 8, tzinfo=timezone.utc) and run.slot.utcoffset() == timedelta(0)
    assert run.started_at.tzinfo is not None and run.started_at.utcoffset() == timedelta(0)


def test_times_come_back_in_utc_whatever_the_role_s_time_zone(postgres_url, limited_role):
    """A role (or server) set to another time zone must not shift or re-zone stored times."""
    name, password = limited_role
    database = sa.make_url(postgres_url).database
    raw_rows(postgres_url, f'ALTER DATABASE "{database}" OWNER TO {name}')
    raw_rows(postgres_url, f"ALTER ROLE {name} SET timezone = 'Asia/Kolkata'")
    url = plain(postgres_url, username=name, password=password)
    slot = datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc)
    with open_store(url) as store:
        store.start_run("weekly", "w.toml", *WEEK, False, slot=slot)
        [run] = store.runs()
    assert run.slot == slot and run.slot.tzinfo == timezone.utc
    assert raw_rows(postgres_url, "SELECT count(*) FROM runs WHERE slot = ?", slot) == [(1,)]


def test_a_refused_login_names_the_store_hides_the_password_and_says_what_to_do(postgres_url, limited_role):
    name, _ = limited_role
    with pytest.raises(StoreError) as raised:
        open_store(plain(postgres_url, username=name, password="wrong-s3cret"))
    message = str(raised.value)
    assert "wrong-s3cret" not in message and f"{name}:***@" in message
    assert f"the server refused the login of user '{name}'" in message
    assert "check the user and password in the store URL" in message and "\n" not in message


def test_a_missing_database_says_how_to_create_it(postgres_url, limited_role):
    name, password = limited_role
    with pytest.raises(StoreError) as raised:
        open_store(plain(postgres_url, username=name, password=password, database="no_such_db"))
    message = str(raised.value)
    assert "the database 'no_such_db' does not exist" in message
    assert f"CREATE DATABASE no_such_db OWNER {name};" in message and password not in message


def test_a_role_without_privileges_is_told_which_it_needs(postgres_url, limited_role):
    """PostgreSQL 15 gives no one but the owner CREATE on the public schema."""
    name, password = limited_role
    with pytest.raises(StoreError) as raised:
        open_store(plain(postgres_url, username=name, password=password))
    message = str(raised.value)
    assert f"user '{name}' may not do what cmflow needs (permission denied" in message
    assert "must belong to that user" in message and "docs/store.md" in message


def test_an_unreachable_server_is_said_at_once(postgres_url):
    from loopback_smtp import free_port

    url = plain(postgres_url, port=free_port(), password="s3cret-pw")
    with pytest.raises(StoreError) as raised:
        open_store(url)
    message = str(raised.value)
    assert "cannot be reached (Connection refused)" in message and "s3cret-pw" not in message
    assert "check that it runs" in message


def test_validate_accepts_the_postgres_urls_users_write_without_connecting(tmp_path):
    """`cmflow validate` checks a [store] url's form only: nothing listens on port 1."""
    from click.testing import CliRunner

    from cmflow.cli import main

    for scheme in ("postgres", "postgresql", "postgresql+psycopg"):
        path = tmp_path / f"{scheme.replace('+', '_')}.toml"
        path.write_text(f"""[workflow]
name = "Weekly KPIs"
period = "2026-11-16..2026-11-22"
compare = []

[store]
url = "{scheme}://cm:pg-s3cret@127.0.0.1:1/cmflow"

{META_SOURCE}
[[metrics]]
plugin = "engagement_rate_by_reach"
""", encoding="utf-8")
        result = CliRunner().invoke(main, ["validate", str(path)])
        assert result.exit_code == 0 and "pg-s3cret" not in result.output, result.output


def test_without_psycopg_the_extra_to_install_is_named():
    script = ("import sys; sys.modules['psycopg'] = None\n"  # as if it were not installed
              "from cmflow.store import open_store, StoreError\n"
              "try:\n    open_store('postgres://cm:pg-s3cret@db.example/cmflow')\n"
              "except StoreError as error:\n    print(error)\n")
    said = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert said.returncode == 0 and said.stderr == "", said.stderr
    assert said.stdout.strip() == ("cannot open the state store postgres://cm:***@db.example/cmflow: the PostgreSQL "
                                   "driver (psycopg 3) is not installed; install the PostgreSQL extra: "
                                   "pip install 'cmflow[postgres]'")


def test_reading_a_database_cmflow_never_wrote_creates_nothing(postgres_url):
    from cmflow.store import StoreMissing

    with pytest.raises(StoreMissing, match="holds no cmflow tables yet: nothing has been recorded there"):
        open_store(plain(postgres_url), read_only=True)
    assert raw_rows(postgres_url, "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'") \
        == [(0,)]
    with open_store(plain(postgres_url)) as store:  # a writing command creates the tables
        store.start_run("weekly", "w.toml", *WEEK, False)
    with open_store(plain(postgres_url), read_only=True) as store:
        assert [run.workflow for run in store.runs()] == ["weekly"]


# -- a server restarted under a store that is open -----------------------------------------------
@pytest.fixture
def private_server():
    server = PrivatePostgres()
    try:
        server.start()
        server.create_database()
        yield server
    finally:
        server.remove()


def test_connections_recover_after_the_server_restarts(private_server):
    """Every write goes on through restarts: pooled connections are checked before use, one
    cut mid-transaction is tried again, and the server's downtime is waited out. Counted: every
    write that returned is in the store once, and none is there twice."""
    store = open_store(private_server.url)
    written, failures, uncertain, stop = [], [], [], threading.Event()

    def writer() -> None:
        n = 0
        while not stop.is_set() or n < 20:
            workflow = f"wf-{n:04d}"
            try:
                written.append((workflow, store.start_run(workflow, "w.toml", *WEEK, False)))
            except StoreError as error:  # only a cut during the commit may say so: kept or not
                failures.append(str(error))
                uncertain.append(workflow)
            n += 1

    thread = threading.Thread(target=writer)
    try:
        store.start_run("before", "w.toml", *WEEK, False)
        thread.start()
        for _ in range(2):
            private_server.restart()
        stop.set()
        thread.join(timeout=120)
        assert not thread.is_alive()
        private_server.stop()  # down: the next statement waits for the server ...
        threading.Timer(1.0, private_server.start).start()
        after = store.start_run("after", "w.toml", *WEEK, False)  # ... and goes on once it is back
        rows = raw_rows(private_server.url, "SELECT id, workflow FROM runs")
    finally:
        stop.set()
        store.close()
    stored = {workflow: [i for i, w in rows if w == workflow] for _, workflow in rows}
    duplicated = sum(len(ids) - 1 for ids in stored.values())
    lost = [w for w, run_id in written if stored.get(w) != [run_id]]
    assert duplicated == 0 and lost == [], (duplicated, lost)
    assert len(written) + len(failures) >= 20
    assert all("cut while a change was being committed" in f for f in failures), failures
    assert all(len(stored.get(w, [])) <= 1 for w in uncertain)
    assert stored["after"] == [after] and len(stored["before"]) == 1


def test_cuts_in_a_row_are_tried_again_until_the_reconnect_window_ends(monkeypatch):
    """A second restart during the retry is waited out too; cuts that go on past the reconnect
    window (30 s from the first try) are reported, not tried for ever; a call with its own
    ``timeout`` (a run-lock renewal) is not tried again: its caller has its own deadline."""
    from cmflow.store import sql
    from cmflow.store.errors import StoreUnreachable

    clock = [0.0]
    monkeypatch.setattr(sql, "monotonic", lambda: clock[0])
    tries = []

    def cut(_store, times: int, timeout=None):
        tries.append(clock[0])
        clock[0] += 10.0  # each try waits 10 s for the server before it is cut
        if len(tries) <= times:
            raise StoreUnreachable("lost the connection to the state store")
        return "kept"

    tried_again = sql._tried_again_when_cut(cut)
    assert tried_again(None, 2) == "kept" and tries == [0.0, 10.0, 20.0]
    tries.clear()
    with pytest.raises(StoreUnreachable):
        tried_again(None, 100)
    assert len(tries) == 3 and clock[0] - tries[0] == 30.0  # reported 30 s after the first try began
    tries.clear()
    with pytest.raises(StoreUnreachable):
        tried_again(None, 100, timeout=5)
    assert len(tries) == 1


def _rows_read(plan: dict) -> int:
    """The rows every node of an ``EXPLAIN (ANALYZE, FORMAT JSON)`` plan produced, loops counted."""
    own = plan.get("Actual Rows", 0) * plan.get("Actual Loops", 1)
    return own + sum(_rows_read(child) for child in plan.get("Plans", []))


def test_last_handled_slots_read_no_more_with_a_longer_history(postgres_url):
    """Each workflow's last handled slot is read from the index down to one entry per status: the
    plan reads as many rows for a workflow with 20,000 finished runs as for one with 20 (a
    ``status IN (...)`` under ``max(slot)`` read all 20,000). Rows read, not a timing."""
    from sqlalchemy.dialects import postgresql

    from cmflow.store.tables import runs

    start = datetime(2020, 1, 1, tzinfo=timezone.utc)
    statuses = ("ok", "warning", "failed", "undelivered")
    with open_store(postgres_url) as store:
        with store.engine.begin() as connection:
            for workflow, count in (("short", 20), ("long", 20_000)):
                connection.execute(runs.insert(), [dict(
                    workflow=workflow, workflow_file="w.toml", status=statuses[i % len(statuses)],
                    started_at=start, finished_at=start, period_start=WEEK[0], period_end=WEEK[1],
                    dry_run=False, slot=start + timedelta(hours=i), committed_at=start) for i in range(count)])
            connection.exec_driver_sql("ANALYZE runs")
        read = {}
        with store.engine.connect() as connection:
            for workflow in ("short", "long"):
                sql = str(store._handled_row(sa.literal(workflow)).compile(
                    dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
                plan = connection.exec_driver_sql(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}").scalar()
                read[workflow] = _rows_read(plan[0]["Plan"])
        assert store.last_handled_slots(["short", "long"]) == {
            "short": start + timedelta(hours=19), "long": start + timedelta(hours=19_999)}
    assert read["long"] <= read["short"] + 10, read
