"""The SQLAlchemy Core implementation of :class:`cmflow.store.Store`: SQLite by default,
PostgreSQL for several daemons and workers sharing one store (:mod:`cmflow.store.postgres`).

Claims are row locks that skip locked rows on PostgreSQL (``FOR UPDATE SKIP LOCKED``), so any
number of processes share the outbox and the run locks without waiting on each other or doing
the same work twice; on SQLite every write transaction takes the file's write lock at once
(``BEGIN IMMEDIATE``), which serialises them.
"""

from __future__ import annotations

import functools
import json
import logging
import math
from time import monotonic
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
import contextlib
from contextlib import contextmanager, nullcontext
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, Callable, Collection, Iterator, Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.dialects.sqlite import dialect as sqlite_dialect

from cmflow.store.interface import (
    DEAD, DELIVERED, FINISHED_STATUSES, PENDING, SLOT_COUNTS_AS_RUN, AlertState, DaemonRecord, DeadRun, Lease, LeaseAnswer, LeaseHolder,
    LockOwner, MissedSlots, RunLockHold, RunLockLost, OutboxClaim, OutboxDepth, OutboxMessage, QueuedMessage, RunRecord, SourceCursor, Store,
    WorkflowBusy,
    same_host, this_host,
)
from cmflow.foundation.processes import process_alive
from cmflow.store.creation import create_latest
from cmflow.store.errors import StoreError, StoreMissing, StoreUnreachable, explain
from cmflow.store.migrations import LATEST_VERSION, MIGRATIONS
from cmflow.store.postgres import RECONNECT_SECONDS, is_postgres, lock_migrations, postgres_engine
from cmflow.store.sqlite import merge_cache, sqlite_engine
from cmflow.store.tables import (
    alerts, cached_records, daemons, leases, measurements, missed_slots, outbox, run_locks, runs, schema_migrations,
    silences, source_cursors, store_identity,
)

if TYPE_CHECKING:
    import polars as pl

    from cmflow.foundation.alerts import Alert
    from cmflow.foundation.silences import Silence


MANY_ROWS = 5_000
"""A merge of more records than this into the record store has a page cache to match (SQLite:
:func:`~cmflow.store.sqlite.merge_cache`); a smaller one keeps the connection's warm cache."""


def _now() -> datetime:
    return datetime.now(timezone.utc)


log = logging.getLogger("cmflow.store")


def _has_version_table(connection: sa.Connection) -> bool:
    """Whether the store has its ``schema_migrations`` table (asked of the dialect directly: an
    inspector would be built for the one question)."""
    return connection.dialect.has_table(connection, schema_migrations.name)


def _version_in(connection: sa.Connection) -> int:
    """The store's schema version: 0 when it has no cmflow tables yet."""
    if not _has_version_table(connection):
        return 0
    return connection.execute(sa.select(sa.func.max(schema_migrations.c.version))).scalar() or 0


def _utc(value: datetime | None) -> datetime | None:
    """A stored time in UTC: SQLite returns naive datetimes (they were stored in UTC),
    PostgreSQL aware ones in the session's time zone."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


class SqlStore(Store):
    """State in any database SQLAlchemy speaks; SQLite files get WAL and a busy timeout."""

    def __init__(self, url: str, *, migrate_to: int | None = None, read_only: bool = False) -> None:
        from cmflow.foundation.urls import mark_url_secrets

        mark_url_secrets(url)  # a driver's error may repeat the password: masked wherever it is said
        self.url = url
        self.busy_seconds: float | None = None
        # Runs started under their run lock, by id: their writes are fenced by it (see start_run).
        self._fenced: dict[int, tuple[str, RunLockHold]] = {}
        self._run_locks_table = migrate_to is None or migrate_to >= 3  # (a table since v3)
        self._committed_column = migrate_to is None or migrate_to >= 13  # (runs.committed_at since v13)
        self._alert_details_column = migrate_to is None or migrate_to >= 14  # (alerts.details since v14)
        self._scope_column = migrate_to is None or migrate_to >= 15  # (measurements.scope since v15)
        self._handled_statements: dict[int, Any] = {}
        self._handled_per_statement: int | None = None
        self._unfinished_statements: dict[bool, Any] = {}
        self._statements: dict[str, Any] = {}
        self.sqlite_path: Path | None = None
        self.writable = True
        """False when the store was opened read-only (this user may not write it)."""
        self._opened = False
        parsed = sa.make_url(url)
        self.postgres = is_postgres(parsed)
        if parsed.get_backend_name() == "sqlite":
            self.engine, file, self.writable = sqlite_engine(url, read_only=read_only)
            self.busy_seconds, self.sqlite_path = file.busy_seconds, file.path
        elif self.postgres:
            # Reaching the server is tried again for a while once the store was open (a restart),
            # never while opening it (an unreachable server is said at once).
            self.engine = postgres_engine(url, self.display_url, lambda: self._opened)
            self.writable = not read_only  # reading commands create and upgrade nothing
        else:
            self.engine = sa.create_engine(url)
        sa.event.listen(self.engine, "handle_error", self._explain_error, retval=True)
        if self.writable:
            self._migrate(LATEST_VERSION if migrate_to is None else migrate_to)
        else:
            self._check_version_for_reading()
        self._opened = True

    def _explain_error(self, context: Any) -> BaseException | None:
        """A database error the user can act on (busy, read-only, not a database ...) becomes a
        :class:`StoreError` saying so; any other error goes on as it is."""
        waited = context.connection.get_execution_options().get("cmflow_busy_seconds") if context.connection else None
        return explain(context.original_exception, self.url, path=self.sqlite_path,
                       busy_seconds=self.busy_seconds if waited is None else waited, opening=not self._opened,
                       cut=context.is_disconnect)

    @contextmanager
    def _writing(self, timeout: float | None = None, *, many_rows: bool = False) -> Iterator[sa.Connection]:
        """A write transaction that takes the write lock when it starts (SQLite: BEGIN
        IMMEDIATE), so that concurrent writers queue up instead of failing half-way; with
        ``timeout`` (seconds), one that waits that long at most for locks and statements; with
        ``many_rows``, on SQLite, one with a page cache large enough for them (:func:`~cmflow.
        store.sqlite.merge_cache`).

        A connection cut before the commit raises :class:`StoreUnreachable` (nothing was kept:
        the store method is tried again, see :func:`_tried_again_when_cut`); one cut during the
        commit raises a plain :class:`StoreError`, since the change may have been kept."""
        committing = False
        try:
            options: dict[str, Any] = dict(cmflow_begin="IMMEDIATE")
            if timeout is not None and not self.postgres:
                options["cmflow_busy_seconds"] = timeout
            with self.engine.connect().execution_options(**options) as connection:
                try:
                    with (merge_cache(connection) if many_rows and not self.postgres else nullcontext()), \
                            connection.begin():
                        if timeout is not None and self.postgres:
                            for setting in ("lock_timeout", "statement_timeout"):
                                connection.exec_driver_sql(f"SET LOCAL {setting} = {max(1, int(timeout * 1000))}")
                        yield connection
                        committing = True
                finally:
                    if "cmflow_busy_seconds" in options and self.busy_seconds is not None:  # back for the pool
                        connection.exec_driver_sql(f"PRAGMA busy_timeout={int(self.busy_seconds * 1000)}")
        except StoreUnreachable as error:
            if not committing:
                raise
            raise StoreError(f"the connection to the state store {self.display_url} was cut while a change was "
                             "being committed (the server restarted or cannot be reached): it may or may not have "
                             "been kept") from error

    # -- schema --------------------------------------------------------------------------
    def schema_version(self) -> int:
        with self.engine.connect() as connection:
            return _version_in(connection)

    def _migrate(self, target: int) -> None:
        current = self.schema_version()
        self._refuse_if_newer(current)
        if current >= target:
            return
        # An existing store is upgraded one transaction per migration, so that a long upgrade
        # keeps the steps it finished. A new store is created in one transaction: it has nothing
        # to keep half-way (a failure leaves it empty, as it was), and at the latest version it is
        # created from the tables' definitions at once (cmflow.store.creation), not step by step.
        # Each transaction holds the write lock: another process opening the same store waits,
        # then finds the steps done (the version is re-read inside).
        steps = range(current + 1, target + 1)
        batches = [steps] if current == 0 else [range(version, version + 1) for version in steps]
        for batch in batches:
            with self._writing() as connection:
                lock_migrations(connection)  # PostgreSQL: one process at a time, until the commit
                if not _has_version_table(connection):
                    if target == LATEST_VERSION:
                        create_latest(connection)
                        continue
                    schema_migrations.create(connection)
                done = connection.execute(sa.select(sa.func.max(schema_migrations.c.version))).scalar() or 0
                for version in batch:
                    if done >= version:
                        continue
                    description, step = MIGRATIONS[version - 1]
                    step(connection)
                    connection.execute(schema_migrations.insert().values(
                        version=version, description=description, applied_at=_now()))

    def _refuse_if_newer(self, current: int) -> None:
        if current > LATEST_VERSION:
            raise StoreError(f"cannot open the state store {self.display_url}: it is at schema version {current}, "
                             f"newer than this cmflow understands ({LATEST_VERSION}); upgrade cmflow")

    def _check_version_for_reading(self) -> None:
        """A store opened read-only is not migrated: one at another version cannot be read."""
        current = self.schema_version()
        self._refuse_if_newer(current)
        if current == 0 and self.postgres:
            raise StoreMissing(f"the state store {self.display_url} holds no cmflow tables yet: nothing has been "
                               "recorded there; the first `cmflow run` or the daemon creates them")
        if current < LATEST_VERSION and self.postgres:
            raise StoreError(
                f"cannot read the state store {self.display_url}: it is at schema version {current}, older than "
                f"this cmflow ({LATEST_VERSION}); a command that writes (cmflow run, the daemon) upgrades it: "
                "run one first, or read it with the cmflow version that wrote it")
        if current < LATEST_VERSION:
            raise StoreError(
                f"cannot read the state store {self.display_url}: it is at schema version {current}, older "
                f"than this cmflow ({LATEST_VERSION}), and this user may not write to it to upgrade it; run "
                "any cmflow command once as the store's owner (it upgrades the store), or read it with the "
                "cmflow version that wrote it")

    def identity(self) -> str:
        with self.engine.connect() as connection:
            return str(connection.execute(sa.select(store_identity.c.id)).scalar_one())

    @property
    def display_url(self) -> str:
        from cmflow.store.urls import display_url

        return display_url(self.url)

    # -- runs ----------------------------------------------------------------------------
    def start_run(self, workflow: str, workflow_file: str, period_start: date, period_end: date,
                  dry_run: bool, slot: datetime | None = None, lock: RunLockHold | None = None) -> int:
        with self._fenced_writing(workflow, lock) as (connection, held):
            if not held:
                raise RunLockLost(_LOCK_LOST)
            # A run of this workflow still marked running was killed (or lost its lock): say so
            # rather than lie; not while another holder's lock says its run is running.
            if lock is not None or not (self._run_locks_table and self._locked_by_another(connection, workflow)):
                for statement in self._statement("runs_cut_short", self._cut_short_statements):
                    connection.execute(statement, {"of_workflow": workflow, "new_finished_at": _now()})
            values = dict(workflow=workflow, workflow_file=workflow_file, status="running", started_at=_now(),
                          period_start=period_start, period_end=period_end, dry_run=dry_run, stats={})
            if slot is not None:  # (a column since v5)
                values["slot"] = slot
            inserted = connection.execute(self._statement("insert_run", runs.insert), values)
            run_id = int(inserted.inserted_primary_key[0])
        if lock is not None:
            self._fenced[run_id] = (workflow, lock)
        return run_id

    def _cut_short_statements(self) -> tuple[Any, ...]:
        """The runs of a workflow still marked running are interrupted: first those whose results
        were kept (their slot is run, their messages are queued), saying so."""
        cut_short = (runs.c.workflow == sa.bindparam("of_workflow", type_=sa.Text)) & (runs.c.status == "running")
        finished_at = sa.bindparam("new_finished_at", type_=runs.c.finished_at.type)
        interrupted = runs.update().where(cut_short).values(status="interrupted", finished_at=finished_at)
        if not self._committed_column:
            return (interrupted,)
        return (runs.update().where(cut_short & runs.c.committed_at.is_not(None)).values(
                status="interrupted", finished_at=finished_at, error=_ENDED_AFTER_COMMIT), interrupted)

    def _locked_by_another(self, connection: sa.Connection, workflow: str) -> bool:
        held = connection.execute(sa.select(run_locks).where(run_locks.c.workflow == workflow)).first()
        return held is not None and _lock_live(held, this_host(), _database_now(connection))

    @contextmanager
    def _fenced_writing(self, workflow: str, hold: RunLockHold | None) -> Iterator[tuple[sa.Connection, bool]]:
        """A write transaction of a run of ``workflow``, and whether the run may write in it: a
        run without its lock (``hold`` None) always may; one under it while it still holds it.

        The lock is extended by its lease when the transaction starts (the fence) and again just
        before it commits, so that a long write (a year of measurements on a loaded machine)
        leaves the lock a whole lease from its end; the run's :class:`LockTenure` hears of it
        once committed, and knows the write is under way meanwhile (its transaction holds the
        lock's row: nobody can take the lock over, and the heartbeat need not wait for it)."""
        tenure = hold.tenure if hold is not None else None

        def lease(asked: float) -> timedelta:
            return tenure.lease_from(asked, hold.lease) if tenure is not None else hold.lease

        writing = False  # whether this transaction holds the lock's row (from the fence on)
        try:
            with self._writing() as connection:
                held = hold is None or _extend_run_lock(connection, workflow, hold.owner, lease(monotonic()))
                if tenure is not None and held:
                    tenure.write_started()
                    writing = True
                yield connection, held
                asked = monotonic()
                if hold is not None and held:  # held since the fence: extended even if past its end by now
                    _set_run_lock_expiry(connection, workflow, hold.owner, lease(asked))
            if tenure is not None and held:
                tenure.extended(asked, lease(asked))
        finally:
            if writing:
                tenure.write_ended()

    def _run_writing(self, run_id: int, workflow: str | None = None) -> "contextlib.AbstractContextManager[tuple[sa.Connection, bool]]":
        """:meth:`_fenced_writing` for the run ``run_id`` (fenced if it started under its lock)."""
        fenced = self._fenced.get(run_id)
        return self._fenced_writing(fenced[0] if fenced else workflow or "", fenced[1] if fenced else None)

    def commit_run(self, run_id: int, *, workflow: str, measurements: "pl.DataFrame | None",
                   alerts: Sequence["Alert"], messages: Sequence[QueuedMessage] = (),
                   now: datetime | None = None) -> list[int | None]:
        now = now or _now()
        queued = []
        with self._run_writing(run_id, workflow) as (connection, held):
            if not held:
                raise RunLockLost(_LOCK_LOST + ": its results were not kept")
            if measurements is not None and measurements.height:
                self._upsert_measurements(connection, workflow, run_id, measurements, now)
            for alert in alerts:
                self._record_alert(connection, workflow, run_id, alert, now)
            for message in messages:
                if connection.execute(sa.select(outbox.c.id).where(outbox.c.key == message.key)).first():
                    queued.append(None)  # the same events were queued by an earlier attempt or run
                    continue
                result = connection.execute(outbox.insert().values(
                    key=message.key, workflow=workflow, workflow_file=message.workflow_file,
                    output_id=message.output_id, plugin=message.plugin, summary=message.summary,
                    payload=message.payload, status=PENDING, attempts=0, created_at=now,
                    next_attempt_at=now, expires_at=message.expires_at, run_id=run_id))
                queued.append(int(result.inserted_primary_key[0]))
            if self._committed_column:  # in the fenced transaction: the slot is this run's, whatever comes next
                connection.execute(self._statement("run_committed", lambda: runs.update().where(
                    runs.c.id == sa.bindparam("run_id", type_=runs.c.id.type)).values(
                    committed_at=sa.bindparam("new_committed_at", type_=runs.c.committed_at.type))),
                    {"run_id": run_id, "new_committed_at": _now()})
        return queued

    def finish_run(self, run_id: int, *, status: str, stats: dict[str, Any], error: str | None) -> None:
        lost = False
        with self._run_writing(run_id) as (connection, held):
            # A run that lost its lock before it committed: its slot is another run's now, not
            # finished by this one. Once committed, the slot was this run's: its end is recorded.
            if not held and not self._committed(connection, run_id):
                lost = status != "interrupted"
                if lost:
                    status, error = "interrupted", f"{_LOCK_LOST} before it ended (it would have ended {status})"
            connection.execute(self._statement("finish_run", lambda: runs.update().where(
                runs.c.id == sa.bindparam("run_id", type_=runs.c.id.type)).values(
                status=sa.bindparam("new_status", type_=runs.c.status.type),
                finished_at=sa.bindparam("new_finished_at", type_=runs.c.finished_at.type),
                stats=sa.bindparam("new_stats", type_=runs.c.stats.type),
                error=sa.bindparam("new_error", type_=runs.c.error.type))),
                {"run_id": run_id, "new_status": status, "new_finished_at": _now(), "new_stats": stats,
                 "new_error": error})
        self._fenced.pop(run_id, None)
        if lost:
            raise RunLockLost(_LOCK_LOST + " before it ended: it is recorded as interrupted")

    def _committed(self, connection: sa.Connection, run_id: int) -> bool:
        """Whether the run's results were committed (in ``connection``'s transaction)."""
        if not self._committed_column:
            return False
        query = sa.select(runs.c.committed_at).where(runs.c.id == run_id)
        return connection.execute(query).scalar() is not None

    def _upsert_measurements(self, connection: sa.Connection, workflow: str, run_id: int,
                             frame: "pl.DataFrame", now: datetime) -> None:
        from cmflow.foundation.measurements import dimension_columns

        dims = [c for c in dimension_columns(frame) if c != "rank"]
        # Which records each figure comes from (since v9) and the filters it was measured with
        # (since v15); a frame without them writes none.
        extra = tuple(c for c in ("basis", "scope") if c in frame.columns
                      and (c != "scope" or self._scope_column))
        rows = []
        for row in frame.iter_rows(named=True):
            dimensions = {d: row[d] for d in dims if row[d] is not None}
            rows.append({
                "workflow": workflow, "metric": row["metric"], "period_start": row["period_start"],
                "period_end": row["period_end"], "series_key": row["series_key"],
                "dimensions": dimensions, "unit": row["unit"], "value": row["value"],
                "reason": row["reason"], "run_id": run_id, "recorded_at": now,
                **{c: row[c] for c in extra},
            })
        insert = _dialect_insert(connection)(measurements)
        statement = insert.on_conflict_do_update(
            index_elements=["workflow", "metric", "period_start", "period_end", "series_key"],
            set_={c: insert.excluded[c] for c in ("dimensions", "unit", "value", "reason", *extra,
                                                   "run_id", "recorded_at")},
        )
        for start in range(0, len(rows), 5000):
            connection.execute(statement, rows[start:start + 5000])

    def _record_alert(self, connection: sa.Connection, workflow: str, run_id: int, alert: "Alert",
                      now: datetime) -> None:
        key = (alerts.c.workflow == workflow) & (alerts.c.fingerprint == alert.fingerprint)
        existing = connection.execute(sa.select(alerts.c.state).where(key)).first()
        values = dict(rule=alert.rule, metric=alert.metric, dimensions=alert.dimensions,
                      state=alert.state, severity=alert.severity, summary=alert.summary,
                      value=alert.value, last_seen=now, last_run_id=run_id,
                      resolved_at=now if alert.state == "resolved" else None,
                      condition=alert.condition, active_since=alert.active_since, streak=alert.streak,
                      clear_streak=alert.clear_streak, notified_at=alert.notified_at,
                      reminders=alert.reminders, period_end=alert.period_end)
        if self._alert_details_column:
            values["details"] = json_safe(alert.details) or None
        if existing is None:
            connection.execute(alerts.insert().values(workflow=workflow, fingerprint=alert.fingerprint,
                                                      first_seen=now, **values))
        else:
            if existing.state not in ("firing", "pending") and alert.state in ("firing", "pending"):
                values["first_seen"] = now  # a new episode of the same alert
            connection.execute(alerts.update().where(key).values(**values))

    # -- reads ---------------------------------------------------------------------------
    def measurement_history(self, workflow: str, metrics: Sequence[str],
                            periods: Sequence[tuple[date, date]],
                            scopes: Mapping[tuple[str, ...], Mapping[str, str]] | None = None) -> "pl.DataFrame":
        import polars as pl

        from cmflow.foundation.measurement_scopes import ROW_KEYS

        if not metrics or not periods:
            return pl.DataFrame()
        condition = sa.or_(*[(measurements.c.period_start == s) & (measurements.c.period_end == e)
                             for s, e in periods])
        columns = [c for c in measurements.c if c.name not in ("workflow", "run_id", "recorded_at", "scope")]
        if scopes is not None and self._scope_column:
            # Compared here, in one statement: a figure kept with another scope than its metric's
            # now, for its shape of row (with or without account, platform, client), is marked (a filter
            # changed since); one kept before v15 (no scope) is not.
            same = [measurements.c.scope.is_(None)]
            for shape, by_metric in scopes.items():
                shaped = [measurements.c.dimensions[key].as_string().is_not(None) if key in shape
                          else measurements.c.dimensions[key].as_string().is_(None) for key in ROW_KEYS]
                by_scope: dict[str, list[str]] = {}
                for metric in metrics:
                    if metric in by_metric:
                        by_scope.setdefault(by_metric[metric], []).append(metric)
                same += [sa.and_(*shaped, measurements.c.metric.in_(names), measurements.c.scope == scope)
                         for scope, names in by_scope.items()]
            columns.append(sa.case((sa.or_(*same), False), else_=True).label("other_scope"))
        query = sa.select(*columns).where(measurements.c.workflow == workflow,
                                          measurements.c.metric.in_(list(metrics)), condition)
        with self.engine.connect() as connection:
            rows = [dict(r._mapping) for r in connection.execute(query)]
        if not rows:
            return pl.DataFrame()
        for row in rows:
            dims = row.pop("dimensions")
            row.update(json.loads(dims) if isinstance(dims, str) else dims)
            if "other_scope" in row:
                row["other_scope"] = bool(row["other_scope"])
        return pl.DataFrame(rows, infer_schema_length=None)

    def dimension_values(self, workflow: str, dimension: str) -> set[str]:
        value = measurements.c.dimensions[dimension].as_string()
        query = sa.select(value).where(measurements.c.workflow == workflow, value.is_not(None)).distinct()
        with self.engine.connect() as connection:
            return {row[0] for row in connection.execute(query)}

    def alert_states(self, workflow: str) -> dict[str, AlertState]:
        return {state.fingerprint: state for state in self.alerts(workflow)}

    def alerts(self, workflow: str | None = None) -> list[AlertState]:
        def build() -> sa.Select:
            columns = [c for c in alerts.c if c.name != "details" or self._alert_details_column]
            query = sa.select(*columns).order_by((alerts.c.state == "firing").desc(),
                                                 (alerts.c.state == "pending").desc(), alerts.c.last_seen.desc())
            of_workflow = sa.bindparam("of_workflow", type_=sa.Text)
            return query if workflow is None else query.where(alerts.c.workflow == of_workflow)

        query = self._statement(f"alerts:{workflow is None}", build)
        with self.engine.connect() as connection:
            return [AlertState(rule=r.rule, metric=r.metric, dimensions=r.dimensions, summary=r.summary,
                               severity=r.severity, value=r.value, state=r.state,
                               fingerprint=r.fingerprint, workflow=r.workflow, first_seen=_utc(r.first_seen),
                               last_seen=_utc(r.last_seen), resolved_at=_utc(r.resolved_at),
                               condition=r.condition, active_since=_utc(r.active_since),
                               streak=r.streak, clear_streak=r.clear_streak, notified_at=_utc(r.notified_at),
                               reminders=r.reminders, period_end=r.period_end,
                               details=r._mapping.get("details") or {})
                    for r in connection.execute(query, {"of_workflow": workflow})]

    def runs(self, workflow: str | None = None, limit: int = 20) -> list[RunRecord]:
        def build() -> sa.Select:
            columns = [c for c in runs.c if c.name != "committed_at" or self._committed_column]
            query = sa.select(*columns).order_by(runs.c.id.desc()).limit(sa.bindparam("row_limit", type_=sa.Integer))
            of_workflow = sa.bindparam("of_workflow", type_=sa.Text)
            return query if workflow is None else query.where(runs.c.workflow == of_workflow)

        query = self._statement(f"runs:{workflow is None}", build)
        with self.engine.connect() as connection:
            return [RunRecord(r.id, r.workflow, r.workflow_file, r.status, _utc(r.started_at),
                              _utc(r.finished_at), r.period_start, r.period_end, r.dry_run, r.error,
                              r.stats or {}, _utc(r.slot), _utc(r._mapping.get("committed_at")))
                    for r in connection.execute(query, {"row_limit": limit, "of_workflow": workflow})]

    def acquire_run_lock(self, workflow: str, owner: LockOwner, ttl: timedelta) -> None:
        try:
            self._acquire_run_lock(workflow, owner, ttl)
        except sa.exc.DBAPIError as error:  # PostgreSQL: the row stayed locked past the wait
            if getattr(error.orig, "sqlstate", None) not in _LOCK_WAIT_OVER:
                raise
            raise WorkflowBusy(f"workflow {workflow!r} is being written by another run (its run lock's row stayed "
                               f"locked for {RUN_LOCK_ROW_WAIT:g} s); try again when it is done") from None

    def _acquire_run_lock(self, workflow: str, owner: LockOwner, ttl: timedelta) -> None:
        # PostgreSQL waits for a row another transaction locks (a run's own write under way, a
        # paused process) for RUN_LOCK_ROW_WAIT at most; SQLite for its busy timeout, as ever.
        with self._writing(RUN_LOCK_ROW_WAIT if self.postgres else None) as connection:
            now = _database_now(connection)  # once this transaction may write (SQLite: it waited for that)
            values = dict(owner=owner.id, host=owner.host, pid=owner.pid, acquired_at=now, expires_at=now + ttl)
            # A free lock is taken by inserting its row: of processes inserting it at once, one
            # does (PostgreSQL makes the others wait for its commit, then do nothing). A held
            # one is read under a row lock, so that taking over a dead holder's is race-free too.
            take = _dialect_insert(connection)(run_locks).values(workflow=workflow, **values)
            while connection.execute(take.on_conflict_do_nothing(index_elements=["workflow"])).rowcount != 1:
                held = connection.execute(_RUN_LOCK_ROW, {"lock_workflow": workflow}).first()
                if held is None:  # released meanwhile: insert again
                    continue
                if held.owner != owner.id and _lock_live(held, owner.host, now):
                    raise WorkflowBusy(
                        f"workflow {workflow!r} is already running (process {held.pid} on {held.host}, "
                        f"since {_utc(held.acquired_at):%Y-%m-%d %H:%M:%S} UTC); try again when it is done")
                connection.execute(run_locks.update().where(run_locks.c.workflow == workflow).values(**values))
                return

    def renew_run_lock(self, workflow: str, owner: LockOwner, ttl: timedelta,
                       timeout: timedelta | None = None) -> bool:
        with self._writing(None if timeout is None else timeout.total_seconds()) as connection:
            return _extend_run_lock(connection, workflow, owner, ttl)

    def release_run_lock(self, workflow: str, owner: LockOwner) -> None:
        with self._writing() as connection:
            connection.execute(self._statement("release_run_lock", lambda: run_locks.delete().where(
                run_locks.c.workflow == sa.bindparam("lock_workflow", type_=sa.Text),
                run_locks.c.owner == sa.bindparam("lock_owner", type_=sa.Text))),
                {"lock_workflow": workflow, "lock_owner": owner.id})

    def run_lock_held(self, workflow: str, here: str, grace: timedelta = timedelta(0)) -> bool:
        with self.engine.connect() as connection:
            held = connection.execute(sa.select(run_locks).where(run_locks.c.workflow == workflow)).first()
            now = _database_now(connection)
        return held is not None and _lock_live(held, here, now - grace)

    def latest_period_end(self, workflow: str) -> date | None:
        query = self._statement("latest_period_end", lambda: sa.select(sa.func.max(runs.c.period_end)).where(
            runs.c.workflow == sa.bindparam("of_workflow", type_=sa.Text), runs.c.dry_run.is_(False),
            runs.c.status.in_(["ok", "warning", "undelivered", "failed"])))
        with self.engine.connect() as connection:
            return connection.execute(query, {"of_workflow": workflow}).scalar()

    # -- the daemon ------------------------------------------------------------------------
    def last_handled_slot(self, workflow: str) -> datetime | None:
        return self.last_handled_slots([workflow])[workflow]

    def last_handled_slots(self, workflows: Sequence[str]) -> dict[str, datetime | None]:
        # One row per workflow: its own latest slot of each kind, each a subquery on one status
        # that reads the index by (workflow, status, slot) down to one entry, so that a long
        # history costs nothing more (a GROUP BY, or a status IN (...), reads every run). Rows
        # are joined by UNION ALL, as many workflows per statement as SQLite's variables allow.
        handled: dict[str, datetime | None] = {}
        wanted = list(dict.fromkeys(workflows))
        per_statement = self._workflows_per_statement()
        with self.engine.connect() as connection:
            for start in range(0, len(wanted), per_statement):
                chunk = wanted[start:start + per_statement]
                query = self._handled_statement(len(chunk))
                for row in connection.execute(query, {f"w{i}": workflow for i, workflow in enumerate(chunk)}):
                    slots = [_utc(slot) for slot in row[1:]]
                    handled[row[0]] = max((slot for slot in slots if slot is not None), default=None)
        return handled

    def _statement(self, name: str, build: "Callable[[], Any]") -> Any:
        """The statement ``name``, built by ``build`` the first time (its values bound by name): a
        run sends the same few statements every time, and building one cost SQLAlchemy several
        times what sending it does (what it builds may depend on this store's schema version)."""
        statement = self._statements.get(name)
        if statement is None:
            statement = self._statements[name] = build()
        return statement

    def _workflows_per_statement(self) -> int:
        """Workflows one statement of :meth:`last_handled_slots` reads: as many as fit in
        :data:`_SQLITE_MAX_VARIABLES` placeholders (SQLite repeats a workflow's for each use)."""
        if self._handled_per_statement is None:
            row = self._handled_row(sa.bindparam("w0", type_=sa.Text))
            placeholders = len(row.compile(dialect=sqlite_dialect()).positiontup)
            self._handled_per_statement = max(1, _SQLITE_MAX_VARIABLES // placeholders)
        return self._handled_per_statement

    def _handled_statement(self, count: int) -> Any:
        """The statement of :meth:`last_handled_slots` for ``count`` workflows (bound as w0, w1 ...),
        built once per size: building it cost more than running it, at every planned slot."""
        statement = self._handled_statements.get(count)
        if statement is None:
            rows = [self._handled_row(sa.bindparam(f"w{i}", type_=sa.Text)) for i in range(count)]
            statement = self._handled_statements[count] = rows[0] if count == 1 else sa.union_all(*rows)
        return statement

    def _handled_row(self, workflow: Any) -> sa.Select:
        """``workflow`` (a bound value) with its latest slot run, cut short after committing, and missed."""
        ran = [sa.select(sa.func.max(runs.c.slot)).where(runs.c.workflow == workflow, condition).scalar_subquery()
               for condition in self._slot_run(per_status=True)]
        missed = sa.select(sa.func.max(missed_slots.c.last_slot)).where(
            missed_slots.c.workflow == workflow).scalar_subquery()
        return sa.select(workflow.label("workflow"), *ran, missed)

    def slot_handled(self, workflow: str, slot: datetime) -> bool:
        queries = self._statement("slot_handled", self._slot_handled_statements)
        with self.engine.connect() as connection:
            return any(connection.execute(query, {"of_workflow": workflow, "of_slot": slot}).first() is not None
                       for query in queries)

    def _slot_handled_statements(self) -> tuple[Any, ...]:
        workflow, slot = sa.bindparam("of_workflow", type_=sa.Text), sa.bindparam("of_slot", type_=runs.c.slot.type)
        ran = [sa.select(runs.c.id).where(runs.c.workflow == workflow, runs.c.slot == slot, condition).limit(1)
               for condition in self._slot_run()]
        missed = sa.select(missed_slots.c.id).where(
            missed_slots.c.workflow == workflow, missed_slots.c.first_slot <= slot,
            missed_slots.c.last_slot >= slot).limit(1)
        return (*ran, missed)

    def _slot_run(self, *, per_status: bool = False) -> list[Any]:
        """The conditions, each enough, for a run whose slot counts as run: it finished (whatever
        it found), or it was cut short (its process died, or lost its lock) after its results
        were committed. One query each (the runs cut short are few). ``per_status``: one
        condition per status instead, for ``max(slot)``: each then reads the index by workflow
        and status down to the latest slot, where a ``status IN (...)`` made PostgreSQL read
        every finished run of the workflow (a cost growing with the history)."""
        def statuses(names: Sequence[str]) -> list[Any]:
            return [runs.c.status == name for name in names] if per_status else [runs.c.status.in_(names)]

        finished = statuses(FINISHED_STATUSES)
        if not self._committed_column:
            return finished
        return [*finished, *(cut & runs.c.committed_at.is_not(None) for cut in statuses(_CUT_SHORT))]

    def earliest_unfinished_slot(self, workflow: str, after: datetime | None) -> datetime | None:
        query = self._unfinished_statements.get(after is not None)
        if query is None:  # built once (as the last handled slots' statement, read at every planned slot)
            query = sa.select(sa.func.min(runs.c.slot)).where(
                runs.c.workflow == sa.bindparam("workflow", type_=sa.Text), runs.c.status.in_(_CUT_SHORT))
            if self._committed_column:
                query = query.where(runs.c.committed_at.is_(None))
            if after is not None:
                query = query.where(runs.c.slot > sa.bindparam("after", type_=runs.c.slot.type))
            self._unfinished_statements[after is not None] = query
        with self.engine.connect() as connection:
            return _utc(connection.execute(query, {"workflow": workflow, "after": after}).scalar())

    def record_missed_slots(self, workflow: str, groups: Sequence[Any], now: datetime) -> None:
        if not groups:
            return
        with self._writing() as connection:
            connection.execute(missed_slots.insert(), [
                dict(workflow=workflow, first_slot=g.first, last_slot=g.last, count=g.count,
                     reason=g.reason, recorded_at=now) for g in groups])

    def missed_slots(self, workflow: str | None = None, limit: int = 20) -> list[MissedSlots]:
        query = sa.select(missed_slots).order_by(missed_slots.c.id.desc()).limit(limit)
        if workflow is not None:
            query = query.where(missed_slots.c.workflow == workflow)
        with self.engine.connect() as connection:
            return [MissedSlots(r.workflow, _utc(r.first_slot), _utc(r.last_slot), r.count, r.reason,
                                _utc(r.recorded_at)) for r in connection.execute(query)]

    def end_dead_runs(self, host: str, *, pid: int | None = None, status: str = "interrupted",
                      error: str | None = None) -> list[DeadRun]:
        ended = []
        with self._writing() as connection:
            committed = runs.c.committed_at if self._committed_column else sa.null()
            running = connection.execute(sa.select(runs.c.id, runs.c.workflow, committed.label("committed_at"))
                                         .where(runs.c.status == "running")).all()
            for run_id, workflow, committed_at in running:
                lock = connection.execute(sa.select(run_locks).where(run_locks.c.workflow == workflow)).first()
                if pid is not None:
                    dead = lock is not None and same_host(lock.host, host) and lock.pid == pid
                else:
                    dead = lock is None or (same_host(lock.host, host) and not process_alive(lock.pid))
                if not dead:
                    continue
                cause = error or "the run's process ended before the run finished"
                connection.execute(runs.update().where(runs.c.id == run_id).values(
                    status=status, finished_at=_now(),
                    error=f"{_ENDED_AFTER_COMMIT} ({cause})" if committed_at is not None else cause))
                if lock is not None:
                    connection.execute(run_locks.delete().where(run_locks.c.workflow == workflow,
                                                                run_locks.c.owner == lock.owner))
                ended.append(DeadRun(workflow, int(run_id), committed_at is not None))
        return ended

    # -- incremental fetching ----------------------------------------------------------------
    def source_cursor(self, source_key: str) -> SourceCursor | None:
        query = sa.select(source_cursors).where(source_cursors.c.source_key == source_key)
        with self.engine.connect() as connection:
            row = connection.execute(query).first()
        return None if row is None else SourceCursor(_utc(row.covered_from), _utc(row.covered_until),
                                                     _utc(row.updated_at))

    def cached_records(self, source_key: str, kind: str, start: datetime, end: datetime) -> list[str]:
        query = sa.select(cached_records.c.payload).where(
            cached_records.c.source_key == source_key, cached_records.c.kind == kind,
            cached_records.c.at >= start, cached_records.c.at < end).order_by(cached_records.c.at)
        with self.engine.connect() as connection:
            return list(connection.execute(query).scalars())

    def remember_records(self, source_key: str, records: Sequence[Any], covered: SourceCursor,
                         run_id: int | None, forget: Sequence[tuple[str, str]] = ()) -> None:
        with self._writing(many_rows=len(records) > MANY_ROWS) as connection:
            for kind, record_key in forget:
                connection.execute(cached_records.delete().where(
                    cached_records.c.source_key == source_key, cached_records.c.kind == kind,
                    cached_records.c.record_key == record_key))
            if records:
                insert = _dialect_insert(connection)(cached_records)
                statement = insert.on_conflict_do_update(
                    index_elements=["source_key", "kind", "record_key"],
                    set_={c: insert.excluded[c] for c in ("at", "payload", "fetched_at")})
                rows = [dict(source_key=source_key, kind=r.kind, record_key=r.record_key, at=r.at,
                             payload=r.payload, fetched_at=covered.updated_at) for r in records]
                for start in range(0, len(rows), 5000):
                    connection.execute(statement, rows[start:start + 5000])
            values = dict(covered_from=covered.covered_from, covered_until=covered.covered_until,
                          updated_at=covered.updated_at, run_id=run_id)
            insert = _dialect_insert(connection)(source_cursors)
            connection.execute(insert.values(source_key=source_key, **values).on_conflict_do_update(
                index_elements=["source_key"], set_=values))

    def register_daemon(self, daemon: DaemonRecord) -> None:
        with self._writing() as connection:
            connection.execute(daemons.insert().values(
                id=daemon.id, host=daemon.host, pid=daemon.pid, directory=daemon.directory,
                started_at=daemon.started_at, heartbeat_at=daemon.heartbeat_at, stopped_at=None))

    def daemon_heartbeat(self, daemon_id: str, now: datetime, *, stopped: bool = False) -> None:
        # Built once (values bound by name): a daemon beats at every pass its clock says is due.
        def build() -> Any:
            at = sa.bindparam("at", type_=daemons.c.heartbeat_at.type)
            statement = daemons.update().where(daemons.c.id == sa.bindparam("daemon", type_=daemons.c.id.type))
            return statement.values(heartbeat_at=at, **({"stopped_at": at} if stopped else {}))

        with self._writing() as connection:
            connection.execute(self._statement(f"daemon_heartbeat:{stopped}", build), {"daemon": daemon_id, "at": now})

    def daemons(self) -> list[DaemonRecord]:
        query = sa.select(daemons).order_by(daemons.c.heartbeat_at.desc())
        with self.engine.connect() as connection:
            return [DaemonRecord(r.id, r.host, r.pid, r.directory, _utc(r.started_at),
                                 _utc(r.heartbeat_at), _utc(r.stopped_at)) for r in connection.execute(query)]

    # -- leases ----------------------------------------------------------------------------
    def acquire_lease(self, name: str, holder: LeaseHolder, duration: timedelta) -> LeaseAnswer:
        mine = dict(holder=holder.id, host=holder.host, pid=holder.pid)
        here = this_host()
        # The row is locked while it is judged (SQLite: the whole store, BEGIN IMMEDIATE), so
        # two callers never both find it free.
        with self._writing() as connection:
            select = sa.select(leases).where(leases.c.name == name).with_for_update()
            row = connection.execute(select).first()
            if row is None:  # a new lease: whoever inserts first holds it; the others judge that row
                now = _database_now(connection)
                insert = _dialect_insert(connection)(leases).values(
                    name=name, acquired_at=now, renewed_at=now, expires_at=now + duration, **mine)
                connection.execute(insert.on_conflict_do_nothing(index_elements=["name"]))
                row = connection.execute(select).one()
                if row.holder == holder.id:
                    return LeaseAnswer(True, _lease(row._mapping, here, now))
            now = _database_now(connection)
            current = _lease(row._mapping, here, now)
            if row.holder == holder.id:  # a renewal (even late: nobody took the lease meanwhile)
                values = dict(renewed_at=now, expires_at=now + duration, host=holder.host, pid=holder.pid)
            elif current.live:
                return LeaseAnswer(False, current)
            else:
                values = dict(acquired_at=now, renewed_at=now, expires_at=now + duration, **mine)
            connection.execute(leases.update().where(leases.c.name == name).values(**values))
        taken = _lease({**row._mapping, **values}, here, now)
        return LeaseAnswer(True, taken, None if row.holder == holder.id else current)

    def release_lease(self, name: str, holder: LeaseHolder) -> bool:
        with self._writing() as connection:
            return connection.execute(leases.delete().where(leases.c.name == name,
                                                            leases.c.holder == holder.id)).rowcount > 0

    def lease(self, name: str) -> Lease | None:
        with self.engine.connect() as connection:
            row = connection.execute(sa.select(leases).where(leases.c.name == name)).first()
            now = _database_now(connection)
        return None if row is None else _lease(row._mapping, this_host(), now)

    # -- outbox ----------------------------------------------------------------------------
    def outbox(self, *, status: str | None = None, workflow: str | None = None,
               limit: int = 100) -> list[OutboxMessage]:
        query = sa.select(outbox).order_by(outbox.c.id).limit(limit)
        if status is not None:
            query = query.where(outbox.c.status == status)
        if workflow is not None:
            query = query.where(outbox.c.workflow == workflow)
        with self.engine.connect() as connection:
            rows = list(connection.execute(query))
        here, wall = this_host(), _now()
        return [_message(r, here, wall) for r in rows]

    def outbox_depth(self) -> OutboxDepth:
        # Delivered messages are history, not depth: left out, the query reads the status index only.
        query = (sa.select(outbox.c.status, sa.func.count(), sa.func.min(outbox.c.created_at))
                 .where(outbox.c.status.in_([PENDING, DEAD])).group_by(outbox.c.status))
        with self.engine.connect() as connection:
            found = {status: (count, oldest) for status, count, oldest in connection.execute(query)}
        pending, oldest = found.get(PENDING, (0, None))
        return OutboxDepth(pending, found.get(DEAD, (0, None))[0], _utc(oldest))

    def due_messages(self, now: datetime, *, workflow: str | None = None,
                     ids: Sequence[int] | None = None) -> list[OutboxMessage]:
        due = (outbox.c.status == PENDING) & (outbox.c.next_attempt_at <= now)
        if workflow is not None:
            due &= outbox.c.workflow == workflow
        if ids is not None:
            due &= outbox.c.id.in_(list(ids))
        with self.engine.connect() as connection:
            rows = list(connection.execute(sa.select(outbox).where(due).order_by(outbox.c.id)))
        here, wall = this_host(), _now()
        messages = [_message(row, here, wall) for row in rows]
        return [message for message in messages if message.claim is None or not message.claim.live]

    def claim_message(self, message_id: int, claimer: LockOwner, *, now: datetime,
                      lease: timedelta) -> OutboxMessage | None:
        with self._writing() as connection:
            # A row another sender is claiming right now is skipped, not waited for: it is theirs.
            row = connection.execute(sa.select(outbox).where(outbox.c.id == message_id)
                                     .with_for_update(skip_locked=True)).first()
            if row is None or row.status != PENDING or _utc(row.next_attempt_at) > now:
                return None
            wall = _now()
            if row.claim_owner != claimer.id and _claim_live(row, claimer.host, wall):
                return None
            values = dict(claim_owner=claimer.id, claim_host=claimer.host, claim_pid=claimer.pid,
                          claimed_at=wall, claimed_until=wall + lease)
            connection.execute(outbox.update().where(outbox.c.id == message_id).values(**values))
        return _message(SimpleNamespace(**{**row._mapping, **values}), claimer.host, wall)

    def claim_due_messages(self, claimer: LockOwner, *, now: datetime, lease: timedelta, limit: int,
                           workflow: str | None = None, ids: Sequence[int] | None = None,
                           skip: Collection[int] = ()) -> list[OutboxMessage]:
        due = (outbox.c.status == PENDING) & (outbox.c.next_attempt_at <= now)
        if workflow is not None:
            due &= outbox.c.workflow == workflow
        if ids is not None:
            due &= outbox.c.id.in_(list(ids))
        if skip:
            due &= outbox.c.id.not_in(list(skip))
        wall, here = _now(), claimer.host
        free = sa.or_(outbox.c.claimed_until.is_(None), outbox.c.claimed_until <= wall,
                      outbox.c.claim_owner == claimer.id)
        # A claim not yet expired held by another process in this process space is free when that
        # process is gone: only this process can tell, so those rows are read and judged here.
        # Any other unexpired claim (another host, another container) is live.
        judged = (~free & outbox.c.claim_pid.is_not(None)
                  & outbox.c.claim_host.in_([here, here.split("#", 1)[0]]))
        values = dict(claim_owner=claimer.id, claim_host=claimer.host, claim_pid=claimer.pid,
                      claimed_at=wall, claimed_until=wall + lease)
        with self._writing() as connection:
            orphans = [row for row in connection.execute(
                sa.select(outbox).where(due & judged).order_by(outbox.c.id).with_for_update(skip_locked=True))
                if not _claim_live(row, here, wall)][:limit]
            rows = orphans + list(connection.execute(
                sa.select(outbox).where(due & free).order_by(outbox.c.id).limit(limit - len(orphans))
                .with_for_update(skip_locked=True))) if len(orphans) < limit else orphans
            rows.sort(key=lambda row: row.id)
            if rows:
                connection.execute(outbox.update().where(outbox.c.id.in_([row.id for row in rows])).values(**values))
        return [_message(SimpleNamespace(**{**row._mapping, **values}), here, wall) for row in rows]

    def renew_claims(self, claimer: LockOwner, lease: timedelta) -> int:
        with self._writing() as connection:
            return connection.execute(outbox.update().where(outbox.c.claim_owner == claimer.id)
                                      .values(claimed_until=_now() + lease)).rowcount

    def release_claims(self, claimer: LockOwner) -> int:
        with self._writing() as connection:
            return connection.execute(outbox.update().where(outbox.c.claim_owner == claimer.id)
                                      .values(**_NO_CLAIM)).rowcount

    def record_attempt(self, message_id: int, *, now: datetime, status: str, attempts: int,
                       error: str | None = None, note: str | None = None,
                       next_attempt_at: datetime | None = None, claimer: LockOwner | None = None) -> bool:
        values: dict[str, Any] = dict(status=status, attempts=attempts, last_error=error, note=note, **_NO_CLAIM)
        if status == DELIVERED:
            values["delivered_at"] = now
        if next_attempt_at is not None:
            values["next_attempt_at"] = next_attempt_at
        condition = outbox.c.id == message_id
        if claimer is not None:
            condition &= outbox.c.status == PENDING
            if status != DELIVERED:  # a delivery is a fact; a retry or dead letter is the holder's call
                condition &= outbox.c.claim_owner == claimer.id
        with self._writing() as connection:
            return connection.execute(outbox.update().where(condition).values(**values)).rowcount > 0

    def requeue(self, ids: Sequence[int] | None, *, now: datetime, expires_at: datetime) -> int:
        condition = outbox.c.status == DEAD
        if ids is not None:
            condition &= outbox.c.id.in_(list(ids))
        with self._writing() as connection:
            result = connection.execute(outbox.update().where(condition).values(
                status=PENDING, next_attempt_at=now, expires_at=expires_at, **_NO_CLAIM))
            return result.rowcount

    def make_due(self, *, now: datetime) -> int:
        later = (outbox.c.status == PENDING) & (outbox.c.next_attempt_at > now)
        with self._writing() as connection:
            return connection.execute(outbox.update().where(later).values(next_attempt_at=now)).rowcount

    # -- silences --------------------------------------------------------------------------
    def add_silence(self, silence: "Silence") -> None:
        with self._writing() as connection:
            connection.execute(silences.insert().values(
                id=silence.id, workflow=silence.workflow, matchers=silence.matchers,
                starts_at=silence.starts_at, ends_at=silence.ends_at, comment=silence.comment,
                created_by=silence.created_by, created_at=silence.created_at or _now()))

    def silences(self, *, active_at: datetime | None = None) -> list["Silence"]:
        from cmflow.foundation.silences import Silence

        def build() -> sa.Select:
            query = sa.select(silences).order_by(silences.c.ends_at.desc())
            if active_at is None:
                return query
            at = sa.bindparam("active_at", type_=silences.c.starts_at.type)
            return query.where(silences.c.starts_at <= at, silences.c.ends_at > at)

        query = self._statement(f"silences:{active_at is None}", build)
        with self.engine.connect() as connection:
            return [Silence(r.id, r.matchers, _utc(r.starts_at), _utc(r.ends_at), r.comment, r.created_by,
                            _utc(r.created_at), r.workflow)
                    for r in connection.execute(query, {"active_at": active_at})]

    def end_silence(self, silence_id: str, now: datetime) -> bool:
        with self._writing() as connection:
            ids = [r.id for r in connection.execute(
                sa.select(silences.c.id).where(silences.c.id.startswith(silence_id, autoescape=True)))]
            if len(ids) != 1:
                return False
            connection.execute(silences.update().where(silences.c.id == ids[0]).values(ends_at=now))
            return True

    def close(self) -> None:
        self.engine.dispose()


_SQLITE_MAX_VARIABLES = 999
"""Placeholders one SQLite statement may hold on builds before 3.32 (SQLITE_MAX_VARIABLE_NUMBER;
32,766 since); :meth:`SqlStore.last_handled_slots` sizes its statements to it, on every database."""


def json_safe(value: Any) -> Any:
    """``value`` as JSON keeps it on every database: a number that is not finite (NaN, which
    PostgreSQL's JSON refuses) null, dates in ISO 8601, anything else not JSON its text."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(value)


def _tried_again_when_cut(method: Any) -> Any:
    """``method``, tried again each time the connection to the database was cut before its
    transaction committed (:class:`StoreUnreachable`): nothing of that try was kept, and the new
    connection waits for the server to be back (:mod:`cmflow.store.postgres`). Restarts in a row
    (a fail-over, a restart during the retry) are waited out for up to
    :data:`~cmflow.store.postgres.RECONNECT_SECONDS` from the first try; then the cut is reported.
    A call given its own ``timeout`` (a run-lock renewal) is not tried again: its caller has a
    deadline of its own and tries again itself."""

    @functools.wraps(method)
    def tried_again(self: SqlStore, *args: Any, **kwargs: Any) -> Any:
        deadline = monotonic() + RECONNECT_SECONDS
        while True:
            try:
                return method(self, *args, **kwargs)
            except StoreUnreachable as error:
                if kwargs.get("timeout") is not None or monotonic() >= deadline:
                    raise
                log.warning("%s; trying again", error)

    return tried_again


for _name in sorted(Store.__abstractmethods__ - {"close"}):
    setattr(SqlStore, _name, _tried_again_when_cut(getattr(SqlStore, _name)))


_NO_CLAIM: dict[str, Any] = dict(claim_owner=None, claim_host=None, claim_pid=None, claimed_at=None,
                                 claimed_until=None)


def _message(row: Any, here: str, now: datetime) -> OutboxMessage:
    """An outbox row as a message, its claim (if any) judged from this process space at ``now``."""
    payload = row.payload
    claim = None
    if row.claimed_until is not None:
        claim = OutboxClaim(row.claim_host, row.claim_pid, _utc(row.claimed_at), _utc(row.claimed_until),
                            _claim_live(row, here, now))
    return OutboxMessage(row.id, row.key, row.workflow, row.workflow_file, row.output_id, row.plugin,
                         row.summary, json.loads(payload) if isinstance(payload, str) else payload,
                         row.status, row.attempts, _utc(row.created_at), _utc(row.next_attempt_at),
                         _utc(row.expires_at), row.last_error, row.note, _utc(row.delivered_at), row.run_id,
                         claim)


def _claim_live(row: Any, here: str, now: datetime) -> bool:
    """An outbox claim is live as a run lock is (a claim without a holder, from before v8, until
    its time is up)."""
    if row.claimed_until is None:
        return False
    if row.claim_host is None or row.claim_pid is None:
        return _utc(row.claimed_until) > now
    return _holder_live(row.claim_host, row.claim_pid, _utc(row.claimed_until), here, now)


_LOCK_LOST = "its run lock expired or another run of the workflow took it over"

RUN_LOCK_ROW_WAIT = 10.0
"""Seconds taking a run lock waits on PostgreSQL for its row, locked by another transaction (a
run's own write under way, a process paused in one), before the workflow counts as busy: a
daemon's loop never hangs on it."""
_LOCK_WAIT_OVER = ("55P03", "57014")  # lock_not_available, query_canceled (statement_timeout)
_CUT_SHORT = ("running", "interrupted")
"""Statuses of runs that did not finish (still running, or cut short): their slot is owed unless
they committed their results."""
_ENDED_AFTER_COMMIT = f"its process ended after its results were kept, before it finished: {SLOT_COUNTS_AS_RUN}"


_RUN_LOCK_ROW = sa.select(run_locks).where(run_locks.c.workflow == sa.bindparam("lock_workflow", type_=sa.Text)) \
    .with_for_update()
"""A workflow's run lock row, locked for the transaction (PostgreSQL). This statement and the
next are built once: a run sends them at every fenced write, and building a statement cost
SQLAlchemy several times what running it does."""
_RUN_LOCK_EXPIRY = run_locks.update().where(
    run_locks.c.workflow == sa.bindparam("lock_workflow", type_=sa.Text),
    run_locks.c.owner == sa.bindparam("lock_owner", type_=sa.Text)).values(
    expires_at=sa.bindparam("new_expiry", type_=run_locks.c.expires_at.type))
"""An owner's run lock on a workflow ends at a new time."""
_CLOCK = sa.select(sa.func.clock_timestamp(type_=sa.DateTime(timezone=True)))


def _extend_run_lock(connection: sa.Connection, workflow: str, owner: LockOwner, ttl: timedelta) -> bool:
    """In ``connection``'s write transaction: extend ``owner``'s run lock on ``workflow`` to
    ``ttl`` from now on the database's clock, if it still holds it and it has not expired (an
    expired lock is not revived: another run may have judged it free). Whether it did."""
    held = connection.execute(_RUN_LOCK_ROW, {"lock_workflow": workflow}).first()
    now = _database_now(connection)
    if held is None or held.owner != owner.id or _utc(held.expires_at) <= now:
        return False
    _set_run_lock_expiry(connection, workflow, owner, ttl, now)
    return True


def _set_run_lock_expiry(connection: sa.Connection, workflow: str, owner: LockOwner, ttl: timedelta,
                         now: datetime | None = None) -> None:
    """``owner``'s run lock on ``workflow`` ends ``ttl`` from ``now`` (the database's clock)."""
    now = _database_now(connection) if now is None else now
    connection.execute(_RUN_LOCK_EXPIRY, {"lock_workflow": workflow, "lock_owner": owner.id, "new_expiry": now + ttl})


def _lock_live(held: Any, here: str, now: datetime) -> bool:
    """A run lock not expired whose holder, when it runs in this process space, is still alive."""
    return _holder_live(held.host, held.pid, _utc(held.expires_at), here, now)


def _holder_live(host: str, pid: int, until: datetime, here: str, now: datetime) -> bool:
    """A hold (a run lock, an outbox claim) not expired whose holder, when it runs in this
    process space (``here``: :func:`this_host`), is still alive."""
    expired = until <= now
    gone = same_host(host, here) and not process_alive(pid)
    return not (expired or gone)


def _lease(row: Any, here: str, now: datetime) -> Lease:
    """A lease row (a mapping) as a :class:`Lease`, judged from this process space at ``now``."""
    expires_at = _utc(row["expires_at"])
    return Lease(row["name"], row["holder"], row["host"], row["pid"], _utc(row["acquired_at"]),
                 _utc(row["renewed_at"]), expires_at, _holder_live(row["host"], row["pid"], expires_at, here, now))


def _database_now(connection: sa.Connection) -> datetime:
    """The time on the database server where there is one (PostgreSQL: hosts sharing a store
    then judge leases on one clock), else on this machine (SQLite: the store is on it)."""
    if connection.dialect.name == "postgresql":
        return connection.execute(_CLOCK).scalar()
    return _now()


def _dialect_insert(connection: sa.Connection) -> Any:
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert
