"""A store's identity: a random id given once, by which a Celery worker knows it records runs in
the daemon's store however either spells its URL, and refuses when it is another store."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from cmflow.daemon.run_messages import WrongStore, request_message, request_of
from cmflow.daemon.worker import RunRequest
from cmflow.store import open_store
from cmflow.store.sql import SqlStore


def message_for(store_url: str, identity: str) -> dict:
    sent = RunRequest("/srv/flows/weekly.toml", "weekly", datetime(2026, 11, 23, 8, tzinfo=timezone.utc), store_url,
                      timedelta(minutes=30), '[workflow]\nname = "weekly"\n', store_identity=identity)
    return json.loads(json.dumps(request_message(sent)))  # as it travels through Redis


def identity_of(url: str) -> str:
    with open_store(url) as store:
        return store.identity()


def test_a_store_has_one_identity_for_good(any_store_url):
    first = identity_of(any_store_url)
    assert len(first) == 32 and int(first, 16) >= 0
    assert identity_of(any_store_url) == first


def test_two_stores_have_two_identities(tmp_path):
    assert identity_of(f"sqlite:///{tmp_path / 'a.db'}") != identity_of(f"sqlite:///{tmp_path / 'b.db'}")


def test_a_store_made_before_identities_gets_one_when_upgraded(any_store_url):
    old = SqlStore(any_store_url, migrate_to=11)
    with old.engine.connect() as connection:
        assert not sa.inspect(connection).has_table("store_identity")
    old.close()
    upgraded = identity_of(any_store_url)
    assert upgraded and identity_of(any_store_url) == upgraded


def postgres_spellings(url: str) -> tuple[str, str]:
    """The daemon's spelling (driver, password in the user-info) and a worker's (no driver,
    no port, the password in the query): the same store."""
    parsed = sa.make_url(url)
    daemon = parsed.set(drivername="postgresql+psycopg", port=parsed.port or 5432)
    worker = parsed.set(drivername="postgresql", password=None, port=None if parsed.port == 5432 else parsed.port,
                        query={"password": parsed.password} if parsed.password else {})
    return daemon.render_as_string(hide_password=False), worker.render_as_string(hide_password=False)


def test_a_worker_runs_on_the_daemons_postgresql_store_however_its_url_is_spelled(postgres_url):
    daemon_url, worker_url = postgres_spellings(postgres_url)
    assert daemon_url != worker_url
    message = message_for(daemon_url, identity_of(daemon_url))
    assert request_of(message, worker_url).store_url == worker_url


def test_a_worker_refuses_another_postgresql_store(postgres_url, tmp_path):
    daemon_url, _ = postgres_spellings(postgres_url)
    message = message_for(daemon_url, identity_of(daemon_url))
    other = f"sqlite:///{tmp_path / 'other.db'}"
    with pytest.raises(WrongStore) as refused:
        request_of(message, other)
    said = str(refused.value)
    assert "other.db" in said and "another store" in said and identity_of(other) in said
    password = sa.make_url(postgres_url).password
    assert not password or password not in said  # both stores named, passwords hidden


def test_a_worker_runs_on_the_daemons_sqlite_store_named_relative_to_its_folder(tmp_path, monkeypatch):
    daemon_url = f"sqlite:///{tmp_path / 'state.db'}"
    message = message_for(daemon_url, identity_of(daemon_url))
    monkeypatch.chdir(tmp_path)
    assert request_of(message, "sqlite:///state.db").store_url == "sqlite:///state.db"


def test_a_worker_in_another_folder_refuses_the_file_a_relative_url_names_there(tmp_path, monkeypatch):
    daemon_url = f"sqlite:///{tmp_path / 'state.db'}"
    message = message_for(daemon_url, identity_of(daemon_url))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    with pytest.raises(WrongStore, match="another store"):
        request_of(message, "sqlite:///state.db")
    with pytest.raises(WrongStore, match="another store"):  # the URL as it travelled, read here
        request_of({**message, "store": "sqlite:///state.db"}, None)


def test_a_refused_run_comes_back_crashed_and_records_nothing_in_the_wrong_store(tmp_path):
    pytest.importorskip("celery")
    from cmflow.daemon.celery_app import CeleryOptions, run_message

    daemon_url = f"sqlite:///{tmp_path / 'daemon.db'}"
    worker_url = f"sqlite:///{tmp_path / 'worker.db'}"
    message = message_for(daemon_url, identity_of(daemon_url))
    outcome = run_message(message, CeleryOptions("redis://127.0.0.1:1/0", "cmflow", timedelta(hours=1),
                                                 store=worker_url))
    assert outcome["status"] == "crashed" and "another store" in outcome["error"]
    with open_store(worker_url) as store:
        assert store.runs() == []


def test_the_daemon_puts_its_store_identity_in_each_request(tmp_path):
    from cmflow.daemon.service import Daemon
    from cmflow.daemon.settings import load_daemon_settings

    url = f"sqlite:///{tmp_path / 'state.db'}"
    daemon = Daemon(tmp_path, load_daemon_settings(None), url)
    daemon.start()
    try:
        assert daemon.store_identity == identity_of(url)
    finally:
        daemon.shutdown()


def test_celery_refuses_a_sqlite_store_named_relative_to_the_current_folder(tmp_path, monkeypatch):
    pytest.importorskip("celery")
    from cmflow.cli import main
    from cmflow.foundation.errors import EXIT_INVALID

    monkeypatch.chdir(tmp_path)
    (tmp_path / "cmflow-daemon.toml").write_text(
        '[daemon]\nexecutor = "celery"\nbroker = "redis://127.0.0.1:1/0"\nstore = "sqlite:///state.db"\n',
        encoding="utf-8")
    result = CliRunner().invoke(main, ["daemon", str(tmp_path)])
    assert result.exit_code == EXIT_INVALID
    assert "relative to the current folder" in result.output and f"sqlite:///{tmp_path / 'state.db'}" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "state.db").exists()


@pytest.mark.parametrize("url, relative", [("sqlite:///state.db", "state.db"), ("sqlite:///data/s.db?timeout=3", "data/s.db"),
                                           ("sqlite:////var/lib/s.db", None), ("sqlite:///~/s.db", None),
                                           ("sqlite://", None), ("sqlite:///:memory:", None),
                                           ("postgresql://u@h/db", None)])
def test_which_sqlite_urls_are_relative(url, relative):
    from cmflow.store.urls import relative_sqlite_path

    assert relative_sqlite_path(url) == relative
