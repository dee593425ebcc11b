"""Opening the state store: what each broken store URL or file says, reading without creating,
and a store locked by another connection (real SQLite files; the processes are in
tests/faults/test_store_faults.py)."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

import pytest

from cmflow.store import StoreBusy, StoreError, StoreMissing, open_store
from cmflow.store.urls import store_url_problem


def test_reading_a_store_that_does_not_exist_creates_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'not' / 'yet' / 'state.db'}"
    with pytest.raises(StoreMissing, match="does not exist yet: nothing has been recorded there"):
        open_store(url, read_only=True)
    assert list(tmp_path.iterdir()) == []


def test_reading_a_store_written_before_works_and_writes_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    with open_store(url) as store:
        store.start_run("weekly", "w.toml", date(2026, 11, 16), date(2026, 11, 22), False)
    before = (tmp_path / "state.db").read_bytes()
    with open_store(url, read_only=True) as store:
        assert [run.workflow for run in store.runs()] == ["weekly"]
    assert (tmp_path / "state.db").read_bytes() == before


@pytest.mark.parametrize(("name", "make", "phrase"), [
    ("folder", lambda path: path.mkdir(), "is a folder, not a SQLite file"),
    ("garbage", lambda path: path.write_bytes(b"PK\x03\x04 a spreadsheet, not a database" * 20),
     "is not a SQLite database"),
])
def test_a_store_path_holding_something_else_is_said_so(tmp_path: Path, name: str, make, phrase: str) -> None:
    path = tmp_path / "state.db"
    make(path)
    for read_only in (False, True):
        with pytest.raises(StoreError, match=phrase) as raised:
            open_store(f"sqlite:///{path}", read_only=read_only)
        assert f"cannot open the state store sqlite:///{path}" in str(raised.value)


def test_a_postgres_store_that_cannot_be_opened_hides_the_password() -> None:
    """(Without psycopg, the extra to install: tests/test_store_postgres.py.)"""
    with pytest.raises(StoreError) as raised:
        open_store("postgresql://cm:pg-s3cret@127.0.0.1:1/cmflow", read_only=True)
    message = str(raised.value)
    assert "postgresql://cm:***@127.0.0.1:1/cmflow" in message and "pg-s3cret" not in message
    assert "cannot be reached" in message


@pytest.mark.parametrize(("url", "phrase"), [
    ("state/cmflow.db", "for a SQLite file at that path write sqlite:///state/cmflow.db"),
    ("my store", "'my store' is not a database URL"),
    ("mongodb://127.0.0.1/cmflow", "'mongodb' is not a kind of database"),
    ("sqlite://state.db", "three slashes before a relative path (sqlite:///state.db)"),
    ("sqlite:///state.db?timeout=soon", "?timeout=soon is not a number of seconds"),
    ("sqlite:///state.db?timeout=-1", "?timeout=-1 is not a number of seconds"),
])
def test_a_malformed_url_is_said_before_anything_opens(url: str, phrase: str) -> None:
    assert phrase in store_url_problem(url)
    with pytest.raises(StoreError, match=phrase.replace("?", r"\?").replace("(", r"\(").replace(")", r"\)")):
        open_store(url)


@pytest.mark.parametrize("url", ["sqlite:///state.db", "sqlite:////var/lib/cmflow/state.db?timeout=30",
                                 "postgresql://cm@db.example/cmflow", "postgres://cm:pw@db.example:5432/cmflow",
                                 "postgresql+psycopg://cm@db.example/cmflow", "sqlite://"])
def test_a_well_formed_url_has_no_problem(url: str) -> None:
    assert store_url_problem(url) is None


def test_opening_a_new_store_another_process_is_writing_waits_for_it(tmp_path: Path) -> None:
    """Switching a new file to WAL needs its write lock, and SQLite does not wait for it there:
    the store waits its timeout all the same (as when several processes create one store)."""
    import threading
    import time

    import cmflow.store.sql  # noqa: F401  (imported now: the time measured below is the store's wait)

    path = tmp_path / "new.db"
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("CREATE TABLE other (x)")  # the write lock on a file still in its first journal mode
    try:
        started = time.monotonic()
        with pytest.raises(StoreBusy, match=r"after 0.3 s"):
            open_store(f"sqlite:///{path}?timeout=0.3")
        assert time.monotonic() - started >= 0.3  # it waited, as it says
        threading.Timer(0.3, holder.execute, ["COMMIT"]).start()
        with open_store(f"sqlite:///{path}") as store:
            assert store.runs() == []
    finally:
        holder.close()
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_a_store_locked_by_another_connection_is_busy_after_its_timeout(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    open_store(f"sqlite:///{path}").close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with open_store(f"sqlite:///{path}?timeout=0.2") as store:
            assert store.runs() == []  # WAL: readers go on
            with pytest.raises(StoreBusy, match=r"is busy \(locked by another process\) after 0.2 s"):
                store.start_run("weekly", "w.toml", date(2026, 11, 16), date(2026, 11, 22), False)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    with open_store(f"sqlite:///{path}") as store:
        assert store.runs() == []  # nothing half-written
