"""With real processes: a ``cmflow daemon`` on Celery and a ``cmflow worker`` that spells the
daemon's PostgreSQL store another way (no driver, no port, the password in the query) run the
slot once; a worker given another store refuses the run (``crashed``) and records nothing there.
The worker tells one from the other by the stores' ids (tests/test_store_identity.py)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from celery_workers import WorkerProcess, celery_settings, runs_per_slot
from daemon_process import (  # noqa: F401  (fixtures: daemon_folder, start_daemon)
    daemon_folder, daily_slot_this_minute, emails, parse_slot, runs_of, start_daemon, workflow_text, write)
from shared_servers import unique_name

pytest.importorskip("celery")


@pytest.fixture
def store_url(postgres_url):
    """The daemon's spelling of its store: the psycopg driver, the port, the password in the user-info."""
    from cmflow.store import open_store

    parsed = sa.make_url(postgres_url)
    url = parsed.set(drivername="postgresql+psycopg", port=parsed.port or 5432).render_as_string(hide_password=False)
    open_store(url).close()  # migrated once here: the worker and the daemon starting together both would
    return url


def worker_spelling(url: str) -> str:
    parsed = sa.make_url(url)
    return parsed.set(drivername="postgresql", password=None, port=None if parsed.port == 5432 else parsed.port,
                      query={"password": parsed.password} if parsed.password else {}).render_as_string(
        hide_password=False)


@pytest.fixture
def worker_on(tmp_path, daemon_folder):
    started: list[WorkerProcess] = []

    def start(store: str) -> WorkerProcess:
        worker = WorkerProcess(f"w{len(started)}", daemon_folder, store, tmp_path / f"worker-{len(started)}.log",
                               tmp_path)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.kill_group()


def test_a_worker_spelling_the_daemons_store_another_way_runs_the_slot_once(
        tmp_path, daemon_folder, store_url, start_daemon, worker_on, redis_url):
    mail = tmp_path / "mail"
    celery_settings(daemon_folder, redis_url, unique_name("cmflow_same_store"))
    schedule = daily_slot_this_minute(latest_second=50)
    spelled = worker_spelling(store_url)
    assert spelled != store_url
    worker = worker_on(spelled)
    write(daemon_folder / "weekly.toml", workflow_text("Weekly", mail, schedule=schedule))
    daemon = start_daemon()
    worker.wait_until_ready()
    started = daemon.wait_for("started", workflow="Weekly")
    finished = daemon.wait_for("finished", workflow="Weekly")
    assert finished["status"] == "ok", worker.tail()
    assert runs_per_slot(store_url, "Weekly") == {parse_slot(started["slot"]): ["ok"]}
    assert len(emails(mail, "Weekly")) == 1
    assert not worker.said("refused")


def test_a_worker_given_another_store_refuses_the_run_and_records_nothing_there(
        tmp_path, daemon_folder, store_url, start_daemon, worker_on, redis_url):
    mail = tmp_path / "mail"
    celery_settings(daemon_folder, redis_url, unique_name("cmflow_other_store"))
    schedule = daily_slot_this_minute(latest_second=50)
    other = f"sqlite:///{tmp_path / 'other.db'}"
    worker = worker_on(other)
    write(daemon_folder / "weekly.toml", workflow_text("Weekly", mail, schedule=schedule))
    daemon = start_daemon()
    worker.wait_until_ready()
    finished = daemon.wait_for("finished", workflow="Weekly")
    assert finished["status"] == "crashed"
    assert worker.said("refused a run", "another store"), worker.tail()
    password = sa.make_url(store_url).password
    assert not password or password not in worker.log.read_text(encoding="utf-8")
    assert runs_of(other, "Weekly") == [] and runs_per_slot(store_url, "Weekly") == {}
    assert emails(mail, "Weekly") == []
