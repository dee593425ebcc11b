"""A new, empty store created in one step from the tables' definitions.

A store that holds no cmflow tables yet gets them all at once from :mod:`cmflow.store.tables`
(the tables queries are written against), stamped with every migration's version, instead of
being taken through the fifteen steps of :mod:`cmflow.store.migrations` one after the other:
building each step's frozen tables, compiling their DDL and, on PostgreSQL, reflecting every
column (migration 11) cost a new store most of its CPU (SQLite: 74 ms against 16 ms created at
once; PostgreSQL's client: 205 ms against 41 ms; ``benchmarks/new_store.py``), paid by every
user's first run and by about one test in three. A store of an older version still goes through the migrations: its
schema is what they made, and ``tests/test_store.py`` checks that both ways end with the same
schema, on SQLite and PostgreSQL.

The DDL is compiled once per process and kind of database (:func:`_ddl`): a process that creates
several stores (a test run, a benchmark) compiles it once.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

import sqlalchemy as sa

from cmflow.store.migrations import MIGRATIONS
from cmflow.store.tables import metadata, schema_migrations, store_identity


def create_latest(connection: sa.Connection) -> None:
    """Create every table and index of the latest schema in ``connection``'s transaction, record
    every migration as applied, and give the store its identity (what migration 12 does).

    The caller holds the write lock (SQLite) or the migration lock (PostgreSQL) and has found no
    ``schema_migrations`` table under it, so no other process is creating the same store."""
    for statement in _ddl(connection.dialect):
        connection.exec_driver_sql(statement)
    now = datetime.now(timezone.utc)
    connection.execute(schema_migrations.insert(), [
        {"version": version, "description": description, "applied_at": now}
        for version, (description, _step) in enumerate(MIGRATIONS, start=1)])
    connection.execute(store_identity.insert().values(id=uuid.uuid4().hex, created_at=now))


def _ddl(dialect: sa.Dialect) -> tuple[str, ...]:
    """The CREATE TABLE and CREATE INDEX statements of :data:`~cmflow.store.tables.metadata`,
    tables in the order their foreign keys need, compiled once per process for each kind (and
    version) of database."""
    key = (type(dialect), dialect.server_version_info)
    if key not in _COMPILED:
        statements = []
        for table in metadata.sorted_tables:
            statements.append(str(sa.schema.CreateTable(table).compile(dialect=dialect)).strip())
            statements.extend(str(sa.schema.CreateIndex(index).compile(dialect=dialect)).strip()
                              for index in sorted(table.indexes, key=lambda index: index.name or ""))
        _COMPILED[key] = tuple(statements)
    return _COMPILED[key]


_COMPILED: dict[tuple, tuple[str, ...]] = {}
