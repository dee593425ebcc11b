"""Opening a PostgreSQL state store: the psycopg 3 driver, connections that outlive a server
restart, the lock under which migrations run, and what the server's refusals mean.

Users write ``postgresql://USER@HOST/DATABASE`` (or ``postgres://``, as many hosting services
print it); both open with psycopg 3 (``postgresql+psycopg``), which the ``postgres`` extra
installs. Every connection is checked before use (``pool_pre_ping``), so a pool kept across a
server restart never hands out a dead connection, and a store that was reachable once waits up
to :data:`RECONNECT_SECONDS` for its server to come back before it calls it unreachable.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any, Callable

import sqlalchemy as sa

log = logging.getLogger("cmflow.store")

POSTGRES_SCHEMES = ("postgres", "postgresql")
"""URL schemes that name PostgreSQL without a driver: they open with psycopg 3."""
DRIVER = "postgresql+psycopg"

RECONNECT_SECONDS = 30.0
"""How long a store that was reachable waits for its server to accept connections again (a
restart, a fail-over) before a statement fails as unreachable."""
CONNECT_TIMEOUT_SECONDS = 10
"""How long one connection attempt waits for the server (libpq's ``connect_timeout``), unless
the URL says otherwise (``?connect_timeout=N``)."""

MIGRATION_LOCK = 0x636D666C6F77  # "cmflow" in ASCII: a key no other application is likely to use
"""The transaction-level advisory lock every migration step holds on PostgreSQL, so that
processes opening one new store at once apply each step once, one after the other."""


def is_postgres(url: sa.URL) -> bool:
    return url.get_backend_name() in POSTGRES_SCHEMES


def with_driver(url: sa.URL) -> sa.URL:
    """``postgres://`` and ``postgresql://`` as ``postgresql+psycopg://``; a URL naming its
    driver is left as it is."""
    return url.set(drivername=DRIVER) if url.drivername in POSTGRES_SCHEMES else url


def postgres_engine(url: str, shown: str, reconnecting: Callable[[], bool]) -> sa.Engine:
    """An engine for the PostgreSQL store at ``url`` (shown as ``shown``). ``reconnecting()``
    says whether a failed connection attempt should be tried again for a while (the store was
    opened once) or reported at once (the store is being opened)."""
    parsed = with_driver(sa.make_url(url))
    if parsed.drivername == DRIVER:
        import psycopg  # noqa: F401  (not installed: ModuleNotFoundError, which errors.explain words)
    connect_args: dict[str, Any] = {"application_name": "cmflow"}
    if "connect_timeout" not in parsed.query:
        connect_args["connect_timeout"] = CONNECT_TIMEOUT_SECONDS
    # No session settings (``options``): PgBouncer refuses them. Times come back in the role's
    # TimeZone and are read as UTC (``sql._utc``).
    engine = sa.create_engine(parsed, pool_pre_ping=True, connect_args=connect_args)
    sa.event.listen(engine, "do_connect", _connect_with_patience(shown, reconnecting))
    return engine


def _connect_with_patience(shown: str, reconnecting: Callable[[], bool]) -> Callable[..., Any]:
    """A ``do_connect`` hook: once the store was open, a server that cannot be reached is tried
    again, with a growing pause, for up to :data:`RECONNECT_SECONDS`."""

    def connect(dialect: Any, _record: Any, cargs: tuple, cparams: dict) -> Any:
        if not reconnecting():
            return dialect.dbapi.connect(*cargs, **cparams)
        deadline = time.monotonic() + RECONNECT_SECONDS
        pause, warned = 0.2, False
        while True:
            try:
                return dialect.dbapi.connect(*cargs, **cparams)
            except dialect.dbapi.OperationalError as error:
                if time.monotonic() >= deadline or not _unreachable(str(error)):
                    raise
                if not warned:
                    log.warning("the state store %s cannot be reached (%s); trying again for up to %g s",
                                shown, _server_words(str(error)), RECONNECT_SECONDS)
                    warned = True
            time.sleep(pause)
            pause = min(pause * 2, 2.0)

    return connect


def lock_migrations(connection: sa.Connection) -> None:
    """Hold the migration lock until the transaction ends (PostgreSQL); SQLite's BEGIN
    IMMEDIATE already serialises writers."""
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})


_UNREACHABLE = ("connection refused", "could not connect", "timeout expired", "no route to host",
                "could not translate host name", "name or service not known", "the database system is starting up",
                "the database system is shutting down", "server closed the connection", "connection reset",
                "network is unreachable", "terminating connection", "the database system is in recovery mode")


def _unreachable(text: str) -> bool:
    lowered = text.lower()
    return any(phrase in lowered for phrase in _UNREACHABLE)


def _server_words(text: str) -> str:
    """What the server or libpq said, without psycopg's "connection failed: connection to
    server at ... failed:" preamble or the FATAL label."""
    line = text.strip().splitlines()[0] if text.strip() else text
    line = re.sub(r'^connection failed:\s*', "", line)
    line = re.sub(r'^connection to server at "[^"]*"(?: \([^)]*\))?, port \d+ failed:\s*', "", line)
    return re.sub(r"^(FATAL|ERROR):\s+", "", line).strip()


def explain_postgres(error: BaseException, url: str, shown: str, *, opening: bool) -> str | None:
    """A one-line message, naming the store and the way out, for what PostgreSQL or psycopg
    said; None for an error that is not about reaching or using the database (a bug)."""
    original = getattr(error, "orig", None) or error
    if type(original).__module__.split(".")[0] != "psycopg":
        return None
    parsed = sa.make_url(url)
    user = parsed.username or "(this system user)"
    database = parsed.database or user
    where = f"{parsed.host or 'the local socket'}" + (f":{parsed.port}" if parsed.port else "")
    words = _server_words(str(original))
    lowered = words.lower()
    sqlstate = getattr(original, "sqlstate", None) or ""
    cannot_open = f"cannot open the state store {shown}"
    if "password authentication failed" in lowered or "no password supplied" in lowered:
        return (f"{cannot_open}: the server refused the login of user {user!r} ({words}); check the user and "
                "password in the store URL (or in ~/.pgpass or PGPASSWORD)")
    if "no pg_hba.conf entry" in lowered or sqlstate == "28000":
        return (f"{cannot_open}: the server does not let user {user!r} in from this machine ({words}); allow it "
                "in the server's pg_hba.conf")
    if re.search(r'database "[^"]*" does not exist', lowered):
        return (f"{cannot_open}: the database {database!r} does not exist on {where}; create it "
                f"(CREATE DATABASE {database} OWNER {user};) as docs/store.md shows")
    if re.search(r'role "[^"]*" does not exist', lowered):
        return (f"{cannot_open}: the server has no user {user!r}; create it (CREATE ROLE {user} LOGIN PASSWORD "
                "'...';) as docs/store.md shows, or fix the user in the store URL")
    if sqlstate == "42501" or "permission denied" in lowered:
        return (f"the state store {shown}: user {user!r} may not do what cmflow needs ({words}); cmflow creates "
                f"and upgrades its tables, so the database {database!r} and its tables must belong to that user "
                f"(CREATE DATABASE {database} OWNER {user};), as docs/store.md shows")
    if "too many connections" in lowered or sqlstate == "53300":
        return (f"the state store {shown} refuses more connections ({words}); raise the server's "
                "max_connections or run fewer processes against it")
    if _unreachable(words):
        if opening:
            return (f"{cannot_open}: the PostgreSQL server at {where} cannot be reached ({words}); check that it "
                    "runs and that this machine may reach it (host, port, firewall)")
        return (f"lost the connection to the state store {shown} ({words}); the server restarted or cannot "
                f"be reached: nothing of the interrupted change was kept; check that the server runs")
    if opening:
        return f"{cannot_open}: {words}"
    return None
