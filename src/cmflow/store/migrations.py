"""The store's schema history, as an ordered list of migrations.

Each migration brings the schema from version N-1 to N inside one transaction, and the version
is recorded in ``schema_migrations``. A migration holds its own frozen copy of the DDL it runs
(never the live definitions of ``tables.py``), so that a later change to a table cannot change
what an old step does: never edit a released migration, append a new one. Written with
SQLAlchemy Core constructs only, so they run unchanged on SQLite and PostgreSQL.

We keep this list instead of Alembic because an embedded store must migrate itself on open,
with no migration scripts directory to ship or configure.
"""

from __future__ import annotations

from typing import Callable

import sqlalchemy as sa

from .tables import schema_migrations

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


MIGRATIONS: list[tuple[str, Callable[[sa.Connection], None]]] = [
    ("runs and measurement history", _v1_runs_and_measurements),
    ("alert state", _v2_alert_state),
    ("one run of a workflow at a time", _v3_run_locks),
]
"""Migration N is ``MIGRATIONS[N - 1]``."""

LATEST_VERSION = len(MIGRATIONS)
