"""The store's schema history, as an ordered list of migrations.

Each migration brings the schema from version N-1 to N inside one transaction, and the version
is recorded in ``schema_migrations``. A migration holds its own frozen copy of the DDL it runs
(never the live definitions of ``tables.py``), so that a later change to a table cannot change
what an old step does: never edit a released migration, append a new one, and change
``tables.py`` to match: a new, empty store is created from ``tables.py`` in one step
(``creation.py``), and ``tests/test_store.py`` checks that both ways end with the same schema.
Written with SQLAlchemy Core constructs only, so they run unchanged on SQLite and PostgreSQL.

We keep this list instead of Alembic because an embedded store must migrate itself on open,
with no migration scripts directory to ship or configure.
"""

from __future__ import annotations

from typing import Callable

import sqlalchemy as sa

from cmflow.store.tables import schema_migrations

__all__ = ["LATEST_VERSION", "MIGRATIONS", "schema_migrations"]


def _v1_runs_and_measurements(connection: sa.Connection) -> None:
    frozen = sa.MetaData()
    sa.Table(
        "runs", frozen,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("workflow", sa.String(200), nullable=False, index=True),
        sa.Column("workflow_file", sa.String(1000), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("period_start", sa.Date, nullable=False),
        sa.Column("period_end", sa.Date, nullable=False),
        sa.Column("dry_run", sa.Boolean, nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("stats", sa.JSON),
    )
    measurements = sa.Table(
        "measurements", frozen,
        sa.Column("workflow", sa.String(200), nullable=False),
        sa.Column("metric", sa.String(200), nullable=False),
        sa.Column("period_start", sa.Date, nullable=False),
        sa.Column("period_end", sa.Date, nullable=False),
        sa.Column("series_key", sa.String(1000), nullable=False),
        sa.Column("dimensions", sa.JSON, nullable=False),
        sa.Column("unit", sa.String(40), nullable=False),
        sa.Column("value", sa.Float),
        sa.Column("reason", sa.String(500)),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id"), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("workflow", "metric", "period_start", "period_end", "series_key"),
    )
    sa.Index("ix_measurements_lookup", measurements.c.workflow, measurements.c.metric,
             measurements.c.period_start)
    frozen.create_all(connection)


def _v2_alert_state(connection: sa.Connection) -> None:
    frozen = sa.MetaData()
    sa.Table("runs", frozen, sa.Column("id", sa.Integer, primary_key=True))  # for the foreign key
    alerts = sa.Table(
        "alerts", frozen,
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("workflow", sa.String(200), nullable=False),
        sa.Column("rule", sa.String(200), nullable=False),
        sa.Column("metric", sa.String(200), nullable=False),
        sa.Column("dimensions", sa.JSON, nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("severity", sa.String(20), nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("value", sa.Float),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True)),
        sa.Column("last_run_id", sa.Integer, sa.ForeignKey("runs.id"), nullable=False),
        sa.PrimaryKeyConstraint("workflow", "fingerprint"),
    )
    alerts.create(connection)


def _v3_run_locks(connection: sa.Connection) -> None:
    frozen = sa.MetaData()
    sa.Table(
        "run_locks", frozen,
        sa.Column("workflow", sa.String(200), primary_key=True),
        sa.Column("owner", sa.String(300), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    ).create(connection)


def _v4_alert_lifecycle_outbox_silences(connection: sa.Connection) -> None:
    for column in (
        sa.Column("condition", sa.String(20), nullable=False, server_default="value"),
        sa.Column("active_since", sa.DateTime(timezone=True)),
        sa.Column("streak", sa.Integer, nullable=False, server_default="0"),
        sa.Column("clear_streak", sa.Integer, nullable=False, server_default="0"),
        sa.Column("notified_at", sa.DateTime(timezone=True)),
        sa.Column("reminders", sa.Integer, nullable=False, server_default="0"),
        sa.Column("period_end", sa.Date),
    ):
        ddl = sa.schema.CreateColumn(column).compile(dialect=connection.dialect)
        connection.execute(sa.text(f"ALTER TABLE alerts ADD COLUMN {ddl}"))
    # Alerts that were firing before v4 were announced then: do not announce them again.
    connection.execute(sa.text("UPDATE alerts SET active_since = first_seen, notified_at = last_seen, "
                               "streak = 1 WHERE state = 'firing'"))
    frozen = sa.MetaData()
    sa.Table("runs", frozen, sa.Column("id", sa.Integer, primary_key=True))  # for the foreign key
    sa.Table(
        "outbox", frozen,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(64), nullable=False, unique=True),
        sa.Column("workflow", sa.String(200), nullable=False, index=True),
        sa.Column("workflow_file", sa.String(1000), nullable=False),
        sa.Column("output_id", sa.String(200), nullable=False),
        sa.Column("plugin", sa.String(200), nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("status", sa.String(20), nullable=False, index=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_until", sa.DateTime(timezone=True)),
        sa.Column("last_error", sa.Text),
        sa.Column("note", sa.Text),
        sa.Column("delivered_at", sa.DateTime(timezone=True)),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id")),
    ).create(connection)
    sa.Table(
        "silences", frozen,
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("workflow", sa.String(200)),
        sa.Column("matchers", sa.JSON, nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("comment", sa.Text, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    ).create(connection)


def _v5_daemon(connection: sa.Connection) -> None:
    ddl = sa.schema.CreateColumn(sa.Column("slot", sa.DateTime(timezone=True))).compile(dialect=connection.dialect)
    connection.execute(sa.text(f"ALTER TABLE runs ADD COLUMN {ddl}"))
    frozen = sa.MetaData()
    sa.Table(
        "missed_slots", frozen,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("workflow", sa.String(200), nullable=False, index=True),
        sa.Column("first_slot", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_slot", sa.DateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    ).create(connection)
    sa.Table(
        "daemons", frozen,
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("directory", sa.String(1000), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stopped_at", sa.DateTime(timezone=True)),
    ).create(connection)


def _v6_runs_by_slot(connection: sa.Connection) -> None:
    # What the daemon asks at every slot and health check: a workflow's latest run slots, by status.
    connection.execute(sa.text("CREATE INDEX ix_runs_workflow_status_slot ON runs (workflow, status, slot)"))


def _v7_incremental_fetching(connection: sa.Connection) -> None:
    frozen = sa.MetaData()
    sa.Table(
        "source_cursors", frozen,
        sa.Column("source_key", sa.String(400), primary_key=True),
        sa.Column("covered_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("covered_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("run_id", sa.Integer),
    ).create(connection)
    sa.Table(
        "cached_records", frozen,
        sa.Column("source_key", sa.String(400), primary_key=True),
        sa.Column("kind", sa.String(40), primary_key=True),
        sa.Column("record_key", sa.String(1000), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Index("ix_cached_records_window", "source_key", "kind", "at"),
    ).create(connection)


def _v8_outbox_claim_holders(connection: sa.Connection) -> None:
    # A claim names its sender, so that a sender that died frees its messages at once. A claim
    # taken before (no holder) stands until its time is up, as a claim from another host does.
    for column in (
        sa.Column("claim_owner", sa.String(300)),
        sa.Column("claim_host", sa.String(255)),
        sa.Column("claim_pid", sa.Integer),
        sa.Column("claimed_at", sa.DateTime(timezone=True)),
    ):
        ddl = sa.schema.CreateColumn(column).compile(dialect=connection.dialect)
        connection.execute(sa.text(f"ALTER TABLE outbox ADD COLUMN {ddl}"))


def _v9_measurement_basis(connection: sa.Connection) -> None:
    # A figure says whether it comes from posts published or from daily account activity; the
    # measurements kept before say nothing (NULL), as those of other records do.
    ddl = sa.schema.CreateColumn(sa.Column("basis", sa.String(40))).compile(dialect=connection.dialect)
    connection.execute(sa.text(f"ALTER TABLE measurements ADD COLUMN {ddl}"))


def _v10_leases(connection: sa.Connection) -> None:
    # One row per named lease (the scheduling daemon's), held by one process until it expires.
    frozen = sa.MetaData()
    sa.Table(
        "leases", frozen,
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("holder", sa.String(300), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("renewed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    ).create(connection)


def _v11_text_of_any_length(connection: sa.Connection) -> None:
    # PostgreSQL refuses a value longer than a VARCHAR's length, which SQLite never checks: a
    # long account name in a series key, a long reason, a deep path would stop a run there
    # only. Every VARCHAR becomes TEXT (the same storage in PostgreSQL, no length to pass).
    # SQLite has no lengths to lift.
    if connection.dialect.name != "postgresql":
        return
    inspector = sa.inspect(connection)
    for table in inspector.get_table_names():
        for column in inspector.get_columns(table):
            if isinstance(column["type"], sa.String) and not isinstance(column["type"], sa.Text):
                connection.execute(sa.text(f'ALTER TABLE "{table}" ALTER COLUMN "{column["name"]}" TYPE TEXT'))


def _v12_store_identity(connection: sa.Connection) -> None:
    # One row: a random id given to the store once, so that processes that spell its URL
    # differently (a driver name, a default port, a password, a relative path) can tell whether
    # they share it. A store upgraded to v12 gets its id here too.
    import uuid
    from datetime import datetime, timezone

    frozen = sa.MetaData()
    table = sa.Table(
        "store_identity", frozen,
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    table.create(connection)
    connection.execute(table.insert().values(id=uuid.uuid4().hex, created_at=datetime.now(timezone.utc)))


def _v13_committed_runs(connection: sa.Connection) -> None:
    # When a run's results were committed (under its run lock): from then on its slot counts as
    # run, even if its process dies or loses its lock before it records how it ended. Runs kept
    # before say nothing (NULL): their status alone decides, as it did.
    ddl = sa.schema.CreateColumn(sa.Column("committed_at", sa.DateTime(timezone=True))).compile(
        dialect=connection.dialect)
    connection.execute(sa.text(f"ALTER TABLE runs ADD COLUMN {ddl}"))


def _v14_alert_details(connection: sa.Connection) -> None:
    # An alert's details (what its trigger measured besides the value: a change's previous value,
    # a spike's baseline): a resolved alert is told again from them in its client's language.
    # Alerts kept before have none (NULL): they are told as written.
    ddl = sa.schema.CreateColumn(sa.Column("details", sa.JSON)).compile(dialect=connection.dialect)
    connection.execute(sa.text(f"ALTER TABLE alerts ADD COLUMN {ddl}"))


def _v15_measurement_scopes(connection: sa.Connection) -> None:
    # A figure keeps the scope it was measured in (a hash of its sources' and metric's filters:
    # cmflow.foundation.measurement_scopes), so that a later run with another where does not
    # compare with it. The figures kept before say nothing (NULL): taken to be of any scope.
    ddl = sa.schema.CreateColumn(sa.Column("scope", sa.Text)).compile(dialect=connection.dialect)
    connection.execute(sa.text(f"ALTER TABLE measurements ADD COLUMN {ddl}"))


MIGRATIONS: list[tuple[str, Callable[[sa.Connection], None]]] = [
    ("runs and measurement history", _v1_runs_and_measurements),
    ("alert state", _v2_alert_state),
    ("one run of a workflow at a time", _v3_run_locks),
    ("alert lifecycle, notification outbox and silences", _v4_alert_lifecycle_outbox_silences),
    ("daemon: schedule slots of runs, missed slots, daemon heartbeats", _v5_daemon),
    ("index of runs by workflow, status and slot", _v6_runs_by_slot),
    ("incremental fetching: source cursors and their records", _v7_incremental_fetching),
    ("outbox claims held by a live sender", _v8_outbox_claim_holders),
    ("measurements say which records they come from (basis)", _v9_measurement_basis),
    ("leases: one daemon schedules, the others stand by", _v10_leases),
    ("text of any length (PostgreSQL)", _v11_text_of_any_length),
    ("store identity: a random id given to the store once", _v12_store_identity),
    ("runs say when their results were committed: their slot is run from then on", _v13_committed_runs),
    ("alerts keep their details: a resolved alert is told again in its client's language", _v14_alert_details),
    ("measurements keep the scope (filters) they were measured in", _v15_measurement_scopes),
]
"""Migration N is ``MIGRATIONS[N - 1]``."""

LATEST_VERSION = len(MIGRATIONS)
