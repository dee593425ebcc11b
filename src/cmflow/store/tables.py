"""The store's tables as they are now: what queries are written against.

A new store is created from these definitions in one step (``creation.py``). Migrations
(``migrations.py``) keep their own frozen copy of each step's DDL, so that changing a table here
never changes what an old migration does, and bring older stores to the same schema:
``tests/test_store.py`` checks that a store migrated step by step and a new one have one schema,
these tables'. A change here comes with a migration that makes it, and the reverse. Text columns have no length:
PostgreSQL's are TEXT since migration 11, and SQLite never checked one.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

schema_migrations = sa.Table(
    "schema_migrations", metadata,
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
)

runs = sa.Table(
    "runs", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("workflow", sa.Text, nullable=False, index=True),
    sa.Column("workflow_file", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
    sa.Column("period_start", sa.Date, nullable=False),
    sa.Column("period_end", sa.Date, nullable=False),
    sa.Column("dry_run", sa.Boolean, nullable=False),
    sa.Column("error", sa.Text),
    sa.Column("stats", sa.JSON),
    # v5: the schedule slot a daemon run belongs to (None: run by hand)
    sa.Column("slot", sa.DateTime(timezone=True)),
    # v13: when the run's results were committed (None: not, or before v13); its slot is run then
    sa.Column("committed_at", sa.DateTime(timezone=True)),
)

measurements = sa.Table(
    "measurements", metadata,
    sa.Column("workflow", sa.Text, nullable=False),
    sa.Column("metric", sa.Text, nullable=False),
    sa.Column("period_start", sa.Date, nullable=False),
    sa.Column("period_end", sa.Date, nullable=False),
    sa.Column("series_key", sa.Text, nullable=False),
    sa.Column("dimensions", sa.JSON, nullable=False),
    sa.Column("unit", sa.Text, nullable=False),
    sa.Column("value", sa.Float),
    sa.Column("reason", sa.Text),
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id"), nullable=False),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    # v9: which records the figure comes from: posts, activity or posts+activity (None: neither)
    sa.Column("basis", sa.Text),
    # v15: a hash of the filters the figure was measured with (None: kept before v15)
    sa.Column("scope", sa.Text),
    sa.PrimaryKeyConstraint("workflow", "metric", "period_start", "period_end", "series_key"),
)

alerts = sa.Table(
    "alerts", metadata,
    sa.Column("fingerprint", sa.Text, nullable=False),
    sa.Column("workflow", sa.Text, nullable=False),
    sa.Column("rule", sa.Text, nullable=False),
    sa.Column("metric", sa.Text, nullable=False),
    sa.Column("dimensions", sa.JSON, nullable=False),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("severity", sa.Text, nullable=False),
    sa.Column("summary", sa.Text, nullable=False),
    sa.Column("value", sa.Float),
    sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
    sa.Column("resolved_at", sa.DateTime(timezone=True)),
    sa.Column("last_run_id", sa.Integer, sa.ForeignKey("runs.id"), nullable=False),
    # v4: the lifecycle (pending -> firing -> resolved) and notifications
    sa.Column("condition", sa.Text, nullable=False, server_default="value"),
    sa.Column("active_since", sa.DateTime(timezone=True)),
    sa.Column("streak", sa.Integer, nullable=False, server_default="0"),
    sa.Column("clear_streak", sa.Integer, nullable=False, server_default="0"),
    sa.Column("notified_at", sa.DateTime(timezone=True)),
    sa.Column("reminders", sa.Integer, nullable=False, server_default="0"),
    sa.Column("period_end", sa.Date),
    # v14: what the trigger measured besides the value (a change's previous value, a spike's
    # baseline), so that an alert read back can be said again in its client's language
    sa.Column("details", sa.JSON),
    sa.PrimaryKeyConstraint("workflow", "fingerprint"),
)

measurements_lookup = sa.Index("ix_measurements_lookup", measurements.c.workflow,
                               measurements.c.metric, measurements.c.period_start)

run_locks = sa.Table(
    "run_locks", metadata,
    sa.Column("workflow", sa.Text, primary_key=True),
    sa.Column("owner", sa.Text, nullable=False),
    sa.Column("host", sa.Text, nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
)

outbox = sa.Table(
    "outbox", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("key", sa.Text, nullable=False, unique=True),
    sa.Column("workflow", sa.Text, nullable=False, index=True),
    sa.Column("workflow_file", sa.Text, nullable=False),
    sa.Column("output_id", sa.Text, nullable=False),
    sa.Column("plugin", sa.Text, nullable=False),
    sa.Column("summary", sa.Text, nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("status", sa.Text, nullable=False, index=True),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("claimed_until", sa.DateTime(timezone=True)),
    sa.Column("last_error", sa.Text),
    sa.Column("note", sa.Text),
    sa.Column("delivered_at", sa.DateTime(timezone=True)),
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id")),
    # Who holds the claim of ``claimed_until`` (since v8): the sending process, as run locks name it.
    sa.Column("claim_owner", sa.Text),
    sa.Column("claim_host", sa.Text),
    sa.Column("claim_pid", sa.Integer),
    sa.Column("claimed_at", sa.DateTime(timezone=True)),
)

silences = sa.Table(
    "silences", metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("workflow", sa.Text),
    sa.Column("matchers", sa.JSON, nullable=False),
    sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("comment", sa.Text, nullable=False),
    sa.Column("created_by", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

missed_slots = sa.Table(
    "missed_slots", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("workflow", sa.Text, nullable=False, index=True),
    sa.Column("first_slot", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_slot", sa.DateTime(timezone=True), nullable=False),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
)

daemons = sa.Table(
    "daemons", metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("host", sa.Text, nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("directory", sa.Text, nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("stopped_at", sa.DateTime(timezone=True)),
)

source_cursors = sa.Table(
    "source_cursors", metadata,
    sa.Column("source_key", sa.Text, primary_key=True),
    sa.Column("covered_from", sa.DateTime(timezone=True), nullable=False),
    sa.Column("covered_until", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("run_id", sa.Integer),
)

cached_records = sa.Table(
    "cached_records", metadata,
    sa.Column("source_key", sa.Text, primary_key=True),
    sa.Column("kind", sa.Text, primary_key=True),
    sa.Column("record_key", sa.Text, primary_key=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_cached_records_window", "source_key", "kind", "at"),
)

leases = sa.Table(
    "leases", metadata,
    # v10: a named lease one process holds at a time (the daemon that schedules: "scheduling")
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("holder", sa.Text, nullable=False),
    sa.Column("host", sa.Text, nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("renewed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
)

store_identity = sa.Table(
    "store_identity", metadata,
    # v12: one row, a random id written when the store was created (or upgraded to v12): a
    # worker knows it writes to the daemon's store by this id, however either spells the URL
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

runs_by_slot = sa.Index("ix_runs_workflow_status_slot", runs.c.workflow, runs.c.status, runs.c.slot)
