"""What goes wrong with a state store, said so that a user knows what to do.

Every failure to open or use a store reaches the user as a :class:`StoreError` whose message
names the store (its password hidden) and the way out: a URL that is no database URL, a
driver that is not installed, a folder or a file of something else where the SQLite file
should be, a file this user may not write, a store locked by another process. :func:`explain`
turns what SQLAlchemy, the drivers and the file system raise into one of them.
"""

from __future__ import annotations

import re
from pathlib import Path

from cmflow.foundation.errors import UserFacingError
from cmflow.store.urls import display_url, not_a_database_url, unknown_database_kind

DRIVER_PACKAGES = {
    "psycopg": "psycopg[binary]", "psycopg2": "psycopg2-binary", "asyncpg": "asyncpg", "pg8000": "pg8000",
    "MySQLdb": "mysqlclient", "pymysql": "PyMySQL", "mysql": "mysql-connector-python",
    "oracledb": "oracledb", "cx_Oracle": "oracledb", "pyodbc": "pyodbc", "pymssql": "pymssql",
}
"""The package to install for a database driver module SQLAlchemy could not import."""

class StoreError(UserFacingError, RuntimeError):
    """The state store cannot be opened or used; the message names it and says what to do."""


class StoreBusy(StoreError):
    """Another process held a lock on the store for longer than cmflow waits."""


class StoreMissing(StoreError):
    """A store opened for reading does not exist yet: nothing was ever recorded there."""


class StoreUnreachable(StoreError):
    """The database server could not be reached, or the connection was cut before the
    transaction was committed: nothing of it was kept, and it may be tried again."""


def busy_message(url: str, seconds: float) -> str:
    return (f"the state store {display_url(url)} is busy (locked by another process) after {seconds:g} s; "
            "try again when that process is done, or let cmflow wait longer with ?timeout=SECONDS "
            "at the end of the store URL")


def explain(error: BaseException, url: str, *, path: Path | None = None, busy_seconds: float | None = None,
            opening: bool = False, cut: bool = False) -> StoreError | None:
    """The :class:`StoreError` a user should see for ``error``, raised while opening (``opening``)
    or using the store at ``url`` (a SQLite file at ``path``); None for an error that is not the
    store's (a bug: let it show as such). ``cut``: the connection was lost (a
    :class:`StoreUnreachable`, which may be tried again)."""
    if isinstance(error, StoreError):
        return error
    shown = display_url(url)
    cannot_open = f"cannot open the state store {shown}"
    name = type(error).__name__
    code = getattr(error, "sqlite_errorname", "") or ""
    detail = _first_line(error, url)
    if name == "ArgumentError" and opening:  # SQLAlchemy could not parse the URL
        return StoreError(not_a_database_url(url))
    if name == "NoSuchModuleError":  # an unknown scheme (dialect)
        return StoreError(f"{cannot_open}: {unknown_database_kind(url)}")
    if isinstance(error, ModuleNotFoundError):  # the dialect is known, its driver is not installed
        module = (error.name or "").split(".")[0]
        if module == "psycopg":
            return StoreError(f"{cannot_open}: the PostgreSQL driver (psycopg 3) is not installed; install the "
                              "PostgreSQL extra: pip install 'cmflow[postgres]'")
        package = DRIVER_PACKAGES.get(module, module)
        return StoreError(f"{cannot_open}: its database driver is not installed (no module {module!r}); "
                          f"install it: pip install '{package}'")
    where = str(path) if path is not None else "the store's file"
    if isinstance(error, IsADirectoryError) or (path is not None and path.is_dir()):
        return StoreError(f"{cannot_open}: {where} is a folder, not a SQLite file; name a file inside it, "
                          f"e.g. sqlite:///{path or 'FOLDER'}/state.db")
    if isinstance(error, PermissionError):
        return StoreError(f"{cannot_open}: {detail}; this user ({_user()}) may not write there: run cmflow "
                          "as the user that owns the store, or choose another place")
    if code in ("SQLITE_BUSY", "SQLITE_LOCKED") or "database is locked" in detail:
        return StoreBusy(busy_message(url, busy_seconds if busy_seconds is not None else 0))
    if code == "SQLITE_NOTADB":
        return StoreError(f"{cannot_open}: {where} is not a SQLite database (it holds something else, or is "
                          "damaged); check the path, or move the file away and cmflow starts a new, empty store")
    if code.startswith("SQLITE_READONLY"):
        return StoreError(f"cannot write to the state store {shown}: {where} (or its folder, where SQLite "
                          f"keeps the -wal and -shm files beside it) is read-only for this user ({_user()}); "
                          "run cmflow as the user that owns the store, or make them writable. Reading "
                          "commands (cmflow history, alerts, outbox, status) need no write access")
    if code.startswith("SQLITE_CANTOPEN"):
        return StoreError(f"{cannot_open}: SQLite cannot open {where}; check that its folder exists and that "
                          f"this user ({_user()}) may read and write there")
    if code == "SQLITE_FULL":
        return StoreError(f"cannot write to the state store {shown}: the disk is full; free some space and "
                          "run again (nothing was lost: the last complete write stands)")
    if code.startswith(("SQLITE_IOERR", "SQLITE_CORRUPT")):
        return StoreError(f"the state store {shown} cannot be read ({detail}); check the disk, and restore "
                          "the store from a backup if the file is damaged")
    if type(getattr(error, "orig", None) or error).__module__.startswith("psycopg"):
        from cmflow.store.postgres import explain_postgres  # deferred: SQLite users never need it

        worded = explain_postgres(error, url, shown, opening=opening)
        if worded is not None:
            return (StoreUnreachable if cut or _cut(error) else StoreError)(worded)
    if opening:  # an unreachable server, a refused login, a schema too new ...
        return StoreError(f"{cannot_open}: {detail}")
    return None


def _cut(error: BaseException) -> bool:
    """Whether SQLAlchemy judged the error a lost connection (the pool drops it)."""
    return bool(getattr(error, "connection_invalidated", False))


def _first_line(error: BaseException, url: str) -> str:
    """The driver's own words, one line, without SQLAlchemy's decorations or the password."""
    from cmflow.foundation.secrets import redactor

    text = str(getattr(error, "orig", None) or error).strip()
    text = re.sub(r"^\([\w.]+\)\s*", "", text.splitlines()[0] if text else type(error).__name__)
    return redactor(text).replace(url, display_url(url))


def _user() -> str:
    """Who this process runs as (not $USER, which su and setpriv may leave unchanged)."""
    import os

    try:
        import pwd
    except ImportError:  # Windows
        import getpass

        return getpass.getuser()
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:  # a uid with no name (a container's numeric user)
        return f"uid {os.geteuid()}"
