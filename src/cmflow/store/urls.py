"""Store URLs: the default one, how one is shown (no password, no secret), what is wrong
with one before it is opened, and where a SQLite one puts its file."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cmflow.foundation.urls import display_url

if TYPE_CHECKING:
    import sqlalchemy as sa

STORE_VARIABLE = "CMFLOW_STORE"


def default_store_url() -> str:
    """``CMFLOW_STORE`` if set, else a SQLite file under the user's state directory."""
    if url := os.environ.get(STORE_VARIABLE):
        return url
    state_home = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    return f"sqlite:///{state_home / 'cmflow' / 'state.db'}"


EXAMPLE_URLS = ("sqlite:///state/cmflow.db (a file, relative to the current folder), "
                "sqlite:////var/lib/cmflow/state.db (an absolute path) or postgresql://USER@HOST/DATABASE")


DEFAULT_BUSY_SECONDS = 10.0
"""How long a statement waits for another process's lock before the store is called busy."""


@dataclass(frozen=True)
class SqliteFile:
    """Where a SQLite store lives (None: in memory) and how long it waits for locks."""

    path: Path | None
    busy_seconds: float

    @classmethod
    def of(cls, url: sa.URL) -> "SqliteFile":
        """Read a ``sqlite:///`` URL: ``~`` expanded, ``?timeout=`` in seconds. A malformed one
        raises ValueError saying what to write instead."""
        timeout = url.query.get("timeout", str(DEFAULT_BUSY_SECONDS))
        timeout = timeout if isinstance(timeout, str) else timeout[-1]  # given twice: the last one
        try:
            busy = float(timeout)
        except ValueError:
            busy = -1.0
        if not busy >= 0:
            raise ValueError(f"?timeout={timeout} is not a number of seconds to wait for another process's "
                             "lock (e.g. ?timeout=30)")
        if url.host:  # sqlite://state.db: the file name was read as a host
            raise ValueError(f"a SQLite URL has three slashes before a relative path "
                             f"(sqlite:///{url.host}{'/' + url.database if url.database else ''}) and four "
                             "before an absolute one (sqlite:////var/lib/cmflow/state.db)")
        database = url.database or ""
        if database in ("", ":memory:") or database.startswith("file::memory:"):
            return cls(None, busy)
        return cls(Path(database).expanduser(), busy)


_PLAIN_SQLITE_URL = re.compile(r"sqlite:///[^?]*")
"""A SQLite file URL without a query: SQLAlchemy reads it as no host and that database (or memory)."""


def relative_sqlite_path(url: str) -> str | None:
    """The path of a SQLite store URL that names its file relative to the current folder
    (``sqlite:///state.db``), which another process in another folder reads as another file;
    None for any other URL (an absolute path, ``~``, memory, another database)."""
    if not url.startswith("sqlite:///"):
        return None
    path = url[len("sqlite:///"):].split("?", 1)[0]
    if not path or path == ":memory:" or path.startswith(("/", "~", "file:")):
        return None
    return path


def store_url_problem(url: str) -> str | None:
    """What is wrong with a store URL that can be told without opening the store (not a URL,
    an unknown kind of database, a malformed SQLite URL); None when nothing is. A driver that
    is not installed is not told here: that is the machine's, not the URL's."""
    if _PLAIN_SQLITE_URL.fullmatch(url):  # always valid: told without importing SQLAlchemy (~0.15 s)
        return None
    import sqlalchemy as sa

    try:
        parsed = sa.make_url(url)
    except Exception:  # ArgumentError: not a URL at all
        return not_a_database_url(url)
    if parsed.drivername == "postgres":  # as hosting services print it: opened as postgresql://
        parsed = parsed.set(drivername="postgresql")
    try:
        parsed.get_dialect()  # the dialect's module, not its driver
    except Exception:  # NoSuchModuleError
        return unknown_database_kind(url)
    if parsed.get_backend_name() == "sqlite":
        try:
            SqliteFile.of(parsed)
        except ValueError as problem:
            return str(problem)
    return None


def not_a_database_url(url: str) -> str:
    given = display_url(url)
    looks_like_a_path = "@" not in url and "//" not in url and ":" not in url.split("/", 1)[0]
    if looks_like_a_path and ("/" in url or "\\" in url or url.endswith((".db", ".sqlite", ".sqlite3"))):
        return f"{given!r} is not a database URL; for a SQLite file at that path write sqlite:///{given}"
    return f"{given!r} is not a database URL; write a SQLAlchemy URL such as {EXAMPLE_URLS}"


def unknown_database_kind(url: str) -> str:
    scheme = url.split("://", 1)[0]
    return f"{scheme!r} is not a kind of database cmflow knows; write a URL such as {EXAMPLE_URLS}"
