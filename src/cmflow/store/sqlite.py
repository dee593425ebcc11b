"""Opening a SQLite state file: its path, how long to wait for a lock, and reading without
write access.

A store is written in WAL mode with a busy timeout (10 s, or ``?timeout=SECONDS`` in the URL).
A file this user may not write (another user's daemon store, a read-only mount) is opened
read-only (``mode=ro``) so that ``cmflow history`` and the other reading commands still work;
when even that cannot be done (a WAL store needs its ``-shm`` file, which a reader may not be
allowed to create), the file is read as it is on disk (``immutable``), which is exact when no
``-wal`` file holds changes not yet copied into it.
"""

from __future__ import annotations

import functools
import os
import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import quote

import sqlalchemy as sa

from cmflow.store.errors import StoreError, StoreMissing, explain
from cmflow.store.urls import SqliteFile

def sqlite_engine(url: str, *, read_only: bool) -> tuple[sa.Engine, SqliteFile, bool]:
    """An engine for the SQLite store at ``url``, its file, and whether it may write.

    With ``read_only``, nothing is created or changed: a missing file raises
    :class:`StoreMissing`, and a file this user cannot write is opened read-only. Without it,
    the file's folder is created as needed and a file this user cannot write is refused.
    """
    parsed = sa.make_url(url)
    shown = parsed.render_as_string(hide_password=True)
    try:
        file = SqliteFile.of(parsed)
    except ValueError as problem:
        raise StoreError(f"cannot open the state store {shown}: {problem}") from None
    path = file.path
    writable = True
    if path is not None:
        if path.is_dir():
            raise explain(IsADirectoryError(str(path)), url, path=path, opening=True)
        blocking = next((folder for folder in path.parents if folder.exists() and not folder.is_dir()), None)
        if blocking is not None:  # sqlite:///notes.txt/state.db
            raise StoreError(f"cannot open the state store {shown}: {blocking} is a file, not a folder, so the "
                             "store cannot be inside it; name another place")
        if read_only and not path.exists():
            raise StoreMissing(f"the state store {shown} does not exist yet: nothing has been recorded there; "
                               "the first `cmflow run` or the daemon creates it")
        if read_only:
            writable = os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)
        else:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise explain(error, url, path=path, opening=True) from error
            if path.exists() and not os.access(path, os.W_OK):
                raise explain(sqlite_error("SQLITE_READONLY"), url, path=path, opening=True)
    if writable:
        engine = sa.create_engine(parsed.set(database=str(path) if path else parsed.database))
        sa.event.listen(engine, "connect", _writer_connect(file.busy_seconds))
    else:
        uri = _read_only_uri(path, url, file.busy_seconds)
        engine = sa.create_engine(parsed.set(database=str(path)), creator=lambda: sqlite3.connect(
            uri, uri=True, timeout=file.busy_seconds, check_same_thread=False))
        sa.event.listen(engine, "connect", _reader_connect)
    sa.event.listen(engine, "begin", _begin)
    return engine, file, writable


def sqlite_error(code: str) -> sqlite3.Error:
    """A sqlite3 error carrying an error name, as the driver raises them (for :func:`explain`)."""
    error = sqlite3.OperationalError(code)
    error.sqlite_errorname = code
    return error


def _read_only_uri(path: Path, url: str, busy_seconds: float) -> str:
    """``mode=ro`` when SQLite can read the file that way, else ``immutable`` when no changes
    wait in a ``-wal`` file (immutable reads the main file alone)."""
    base = f"file:{quote(str(path))}"
    try:
        probe = sqlite3.connect(f"{base}?mode=ro", uri=True, timeout=busy_seconds)
        try:
            probe.execute("SELECT count(*) FROM sqlite_master").fetchone()
        finally:
            probe.close()
        return f"{base}?mode=ro"
    except sqlite3.Error as error:
        code = getattr(error, "sqlite_errorname", "")
        if not code.startswith(("SQLITE_READONLY", "SQLITE_CANTOPEN")):
            raise explain(error, url, path=path, busy_seconds=busy_seconds, opening=True) from error
    wal = path.with_name(path.name + "-wal")
    if wal.exists() and wal.stat().st_size:
        raise StoreError(
            f"cannot read the state store {sa.make_url(url).render_as_string(hide_password=True)}: its latest "
            f"changes wait in {wal}, which a user without write access to {path.parent} cannot apply; run the "
            "command as the store's owner, or once with write access")
    return f"{base}?immutable=1"


def _writer_connect(busy_seconds: float):
    def connect(dbapi_connection: Any, _record: Any) -> None:
        # The driver's own transaction handling would run DDL outside any transaction (Python's
        # sqlite3 only begins one before DML): turn it off and begin explicitly in _begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={int(busy_seconds * 1000)}")
        _switch_to_wal(cursor, busy_seconds)
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return connect


def _switch_to_wal(cursor: sqlite3.Cursor, busy_seconds: float) -> None:
    """``PRAGMA journal_mode=WAL``, waiting up to ``busy_seconds`` for another writer.

    The first switch of a new file writes its header: the pragma takes a read lock, then asks
    for the write lock. When another process holds that (it is switching the same new file at
    the same moment), SQLite fails at once without calling the busy handler, since waiting
    while holding the read lock could deadlock. So the pragma is tried again, its read lock
    let go in between, until the busy timeout runs out, as the busy handler would have waited.
    """
    deadline = time.monotonic() + busy_seconds
    pause = 0.001
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if getattr(error, "sqlite_errorname", "") != "SQLITE_BUSY" or time.monotonic() >= deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.05)


def _reader_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None


MERGE_CACHE_KIB = 256 * 1024
"""The page cache (KiB) of a transaction that writes many records (:func:`merge_cache`), against
SQLite's default of 2,000 KiB."""


@contextmanager
def merge_cache(connection: sa.Connection) -> Iterator[None]:
    """A page cache of up to :data:`MERGE_CACHE_KIB` for the transaction ``connection`` is about
    to begin; after it, the cache is set back and its memory let go (``PRAGMA shrink_memory``,
    then the heap trimmed so the process's RSS falls too).

    Why: the record table's indexes (its key, its time) take a merge's rows in an order of their
    own, so once a store holds some 100,000 records each row lands on an index page that SQLite's
    default 2 MiB cache no longer holds, and a page changed and pushed out of the cache is written
    to the WAL again each time it is changed again: the CPU per record grew with the store (1.45x
    at 300,000 records, 1.99x at 1,000,000, a 734 MB WAL). With the pages of the transaction kept
    in memory, each is written once, at the commit; SQLite takes the memory only as pages are
    used. The merge stays one transaction (all or nothing)."""
    raw = connection.connection.driver_connection  # not through SQLAlchemy: it would begin a transaction
    before = raw.execute("PRAGMA cache_size").fetchone()[0]
    raw.execute(f"PRAGMA cache_size=-{int(MERGE_CACHE_KIB)}")
    try:
        yield
    finally:
        raw.execute(f"PRAGMA cache_size={int(before)}")
        raw.execute("PRAGMA shrink_memory")
        _give_back_freed_memory()


def _give_back_freed_memory() -> None:
    """Hand the heap's free pages back to the system (glibc's ``malloc_trim``): SQLite frees the
    merge's pages, but glibc keeps them in the process (a 300,000-post merge left 318 MiB of RSS
    against 164 MiB trimmed), and a run process or Celery pool process is retired by its RSS
    (``max_memory_per_process_mb``). Nothing on other C libraries (musl, macOS)."""
    if (trim := _malloc_trim()) is not None:
        trim(0)


@functools.cache
def _malloc_trim() -> Any:
    """glibc's ``malloc_trim`` among the process's own symbols, looked up once; None without it."""
    import ctypes

    return getattr(ctypes.CDLL(None), "malloc_trim", None)


def _begin(connection: sa.Connection) -> None:
    options = connection.get_execution_options()
    mode = options.get("cmflow_begin", "")
    if (busy := options.get("cmflow_busy_seconds")) is not None:  # this transaction's own wait (SqlStore._writing)
        connection.exec_driver_sql(f"PRAGMA busy_timeout={int(busy * 1000)}")
    connection.exec_driver_sql(f"BEGIN {mode}".strip())
