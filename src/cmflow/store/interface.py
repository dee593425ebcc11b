"""The store's interface: what the rest of cmflow asks of the state store, and the records it
hands back (runs, cursors, alert states, outbox messages, locks). :class:`cmflow.store.sql.SqlStore`
implements it."""

from __future__ import annotations

import os
import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Collection, Mapping, Sequence

from cmflow.foundation.alerts import AlertEpisode, AlertSeries
from cmflow.foundation.stopping import RunStopped

if TYPE_CHECKING:
    import polars as pl

    from cmflow.foundation.alerts import Alert
    from cmflow.foundation.silences import Silence


def this_host() -> str:
    """This machine as run locks name it: the host name, and on Linux a tag of the boot and of
    the PID namespace (``web1#3fa2c1d0``). Process ids are only compared between holders with the
    same name: two containers sharing a host name (host networking) or one machine before and
    after a reboot never judge each other's process ids; their locks wait for expiry instead."""
    import hashlib
    import socket

    name = socket.gethostname()
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as boot:
            space = boot.read().strip() + os.readlink("/proc/self/ns/pid")
    except OSError:
        return name
    return f"{name}#{hashlib.sha256(space.encode()).hexdigest()[:8]}"


def same_host(held: str, here: str) -> bool:
    """Whether a lock held by ``held`` was taken in this process space (``here``: :func:`this_host`).
    A bare host name (written before the tag existed) matches its own name."""
    return held == here or ("#" not in held and held == here.split("#", 1)[0])


class WorkflowBusy(RuntimeError):
    """Another run of the same workflow holds its run lock."""


class RunLockLost(RunStopped):
    """The run's lock expired, or another run of the workflow took it over: the transaction that
    was to keep the run's results (or its end) checked the lock first and wrote nothing. A
    :class:`~cmflow.foundation.stopping.RunStopped`: the run ends ``interrupted``."""


class LockTenure:
    """How long its holder knows its run lock lasts, on the holder's own never-jumping clock
    (``time.monotonic()``), and whether one of the run's fenced writes is under way.

    The heartbeat renewing the lock and the run's own fenced writes (:meth:`Store.start_run`,
    :meth:`Store.commit_run`, :meth:`Store.finish_run`) both extend the lock, and both say so
    here. While a fenced write is under way, its transaction holds the lock's row (SQLite: the
    store's write lock; PostgreSQL: ``FOR UPDATE``): nobody can take the lock over, and a
    renewal would only wait for that transaction. Thread-safe."""

    def __init__(self, held_until: float, longest_until: float = float("inf")) -> None:
        self._guard = threading.Lock()
        self._held_until = held_until
        self._writes = 0
        self.longest_until = longest_until
        """The monotonic time the run's longest hold ends: no write extends the lock past it."""

    @property
    def held_until(self) -> float:
        """The monotonic time the lock holds until, at least (extended from before it was asked)."""
        return self._held_until

    @property
    def writing(self) -> bool:
        """Whether one of the run's fenced writes holds the lock's row now."""
        return self._writes > 0

    def lease_from(self, now: float, lease: timedelta) -> timedelta:
        """What a write at monotonic ``now`` extends the lock by: ``lease``, or what is left of
        the longest hold when that is less (nothing once it is over)."""
        return max(timedelta(0), min(lease, timedelta(seconds=self.longest_until - now)))

    def extended(self, asked: float, lease: timedelta) -> None:
        """The lock was extended by ``lease`` by a request made at monotonic ``asked``."""
        with self._guard:
            self._held_until = max(self._held_until, asked + lease.total_seconds())

    def write_started(self) -> None:
        with self._guard:
            self._writes += 1

    def write_ended(self) -> None:
        with self._guard:
            self._writes -= 1


@dataclass(frozen=True)
class RunLockHold:
    """A run lock as its run holds it: who holds it, the lease each write under it extends it
    by, and (held by :mod:`cmflow.stages.run_lock`) the tenure the writes report their
    extensions to. Handed to :meth:`Store.start_run`, it fences that run's writes (see there)."""

    owner: LockOwner
    lease: timedelta
    tenure: LockTenure | None = None


class SlotAlreadyHandled(RuntimeError):
    """The schedule slot a run was asked for has been run to the end (or recorded as missed)
    meanwhile, e.g. by the orphaned run of a killed daemon: it is never run twice."""


@dataclass(frozen=True)
class LockOwner:
    """Who holds a run lock: this process, on this host."""

    host: str
    pid: int
    token: str

    @classmethod
    def this_process(cls) -> "LockOwner":
        import uuid

        return cls(this_host(), os.getpid(), uuid.uuid4().hex)

    @property
    def id(self) -> str:
        return f"{self.host}:{self.pid}:{self.token}"


@dataclass
class RunRecord:
    """One row of run history."""

    id: int
    workflow: str
    workflow_file: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    period_start: date
    period_end: date
    dry_run: bool
    error: str | None = None
    stats: dict[str, Any] = field(default_factory=dict)
    slot: datetime | None = None
    """The schedule slot a daemon run belongs to; None for a run started by hand."""
    committed_at: datetime | None = None
    """When the run's results (measurements, alert changes, queued messages) were committed; from
    then on its slot counts as run, even if its process died before it finished."""

    @property
    def status_shown(self) -> str:
        """The status as ``cmflow history`` shows it: ``running (committed)`` or ``interrupted
        (committed)`` for a run whose results were committed before it ended (its slot counts as
        run, and what it had not sent waits in the outbox), else the status."""
        if self.committed_at is not None and self.status not in FINISHED_STATUSES:
            return f"{self.status} (committed)"
        return self.status

    @property
    def records(self) -> int:
        """How many records the run's sources returned, all kinds together."""
        return sum((self.stats or {}).get("records", {}).values())


@dataclass(frozen=True)
class DeadRun:
    """A run :meth:`Store.end_dead_runs` closed: its process was gone before it finished."""

    workflow: str
    run_id: int
    committed: bool
    """Whether its results were committed before its process died: its slot counts as run (it is
    not owed again), and what it had not sent waits in the outbox."""


SLOT_COUNTS_AS_RUN = "its slot counts as run, and what it had not sent waits in the outbox"
"""What logs and errors say of a run cut short after its results were committed
(:attr:`DeadRun.committed`)."""


FINISHED_STATUSES = ("ok", "warning", "undelivered", "failed", "crashed", "timeout")
"""Run statuses that complete a slot: the run happened, whatever it found. ``running`` and
``interrupted`` (its process was killed) do not: the slot is still owed, unless the run's
results were committed (:attr:`RunRecord.committed_at`) before it was cut short."""
FAILED_STATUSES = ("failed", "crashed", "timeout")
"""Run statuses that count towards a workflow's consecutive failures (an ``interrupted`` run,
stopped by a restart, says nothing about the workflow)."""


@dataclass(frozen=True)
class MissedSlots:
    """Consecutive schedule slots a daemon did not run, and why (see ``cmflow history``)."""

    workflow: str
    first_slot: datetime
    last_slot: datetime
    count: int
    reason: str
    recorded_at: datetime


@dataclass(frozen=True)
class SourceCursor:
    """Where a source's records are all in the store: every record whose time falls in
    ``[covered_from, covered_until)`` was fetched by a run that delivered its outputs."""

    covered_from: datetime
    covered_until: datetime
    updated_at: datetime


@dataclass(frozen=True)
class CachedRecord:
    """One record of a source as the store keeps it: its kind, identity, time and JSON row."""

    kind: str
    record_key: str
    at: datetime
    payload: str


@dataclass(frozen=True)
class DaemonRecord:
    """A daemon that runs (or ran) against this store, with its last sign of life."""

    id: str
    host: str
    pid: int
    directory: str
    started_at: datetime
    heartbeat_at: datetime
    stopped_at: datetime | None = None


@dataclass(frozen=True)
class LeaseHolder:
    """Who holds (or asks for) a lease: an id of the caller's choosing (a daemon's id), and its
    process, as run locks name it (:func:`this_host` and the process id)."""

    id: str
    host: str
    pid: int

    @classmethod
    def this_process(cls, holder_id: str) -> "LeaseHolder":
        return cls(holder_id, this_host(), os.getpid())


@dataclass(frozen=True)
class Lease:
    """A named lease as the store holds it: who holds it, since when, until when."""

    name: str
    holder: str
    host: str
    pid: int
    acquired_at: datetime
    renewed_at: datetime
    expires_at: datetime
    live: bool
    """Judged when read: not expired, and its process still runs when it is in this process space."""


@dataclass(frozen=True)
class LeaseAnswer:
    """What :meth:`Store.acquire_lease` found and did."""

    held: bool
    """Whether the caller holds the lease now (taken, or renewed)."""
    lease: Lease
    """The lease as it stands: the caller's, or the live holder's that kept it."""
    replaced: Lease | None = None
    """When the caller took the lease over from another holder (expired, or its process gone):
    that holder's lease as it was."""


@dataclass(kw_only=True)
class AlertState(AlertSeries, AlertEpisode):
    """The last known state of one alert fingerprint: the alert as last seen
    (:class:`~cmflow.foundation.alerts.AlertSeries`: its ``details`` are empty for an alert
    stored before v14), and where it is in its lifecycle
    (:class:`~cmflow.foundation.alerts.AlertEpisode`), the fields an Alert carries too. Its
    ``fingerprint`` is the stored key, by which rows are looked up (rows written by earlier
    versions keep theirs)."""

    fingerprint: str
    workflow: str
    first_seen: datetime
    last_seen: datetime
    resolved_at: datetime | None


@dataclass(frozen=True)
class OutboxClaim:
    """Who is sending an outbox message: a process (as run locks name it) since a time, its
    claim renewed until ``until`` while it sends."""

    host: str | None
    """:func:`this_host` of the sender; None for a claim taken before claims had holders."""
    pid: int | None
    since: datetime | None
    until: datetime
    live: bool
    """Judged when read: not expired, and its process still runs when it is on this host."""


@dataclass
class OutboxMessage:
    """A notification waiting in the outbox, delivered, or dead-lettered."""

    id: int
    key: str
    workflow: str
    workflow_file: str
    output_id: str
    plugin: str
    summary: str
    payload: dict[str, Any]
    status: str
    """pending, delivered or dead."""
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    expires_at: datetime
    last_error: str | None = None
    note: str | None = None
    delivered_at: datetime | None = None
    run_id: int | None = None
    claim: OutboxClaim | None = None
    """The sender holding the message now, if any (see :meth:`Store.claim_message`)."""


PENDING, DELIVERED, DEAD = "pending", "delivered", "dead"
"""Outbox message states."""


@dataclass(frozen=True)
class OutboxDepth:
    """How much the outbox holds that is not delivered: read in one cheap query, for the
    operator metrics."""

    pending: int
    dead: int
    oldest_pending: datetime | None
    """When the oldest pending message was queued; None when none is pending."""


@dataclass
class QueuedMessage:
    """A message to put in the outbox with the run's state (see :meth:`Store.commit_run`)."""

    key: str
    workflow_file: str
    output_id: str
    plugin: str
    summary: str
    payload: dict[str, Any]
    expires_at: datetime
    client: str | None = None
    """The client whose report the message carries (:attr:`cmflow.Message.client`); not stored."""


class Store(ABC):
    """What cmflow needs from a state store. Every write method is one transaction."""

    @abstractmethod
    def identity(self) -> str:
        """The store's id: random, given once when the store was created, the same for every
        process however it spells the store's URL."""

    @abstractmethod
    def start_run(self, workflow: str, workflow_file: str, period_start: date, period_end: date,
                  dry_run: bool, slot: datetime | None = None, lock: RunLockHold | None = None) -> int:
        """Record that a run started (for a schedule ``slot``, or by hand); return its id. Rows of
        the workflow still ``running`` are marked ``interrupted`` (their process died), unless
        another holder's run lock on the workflow is live (its run is running).

        With the run's ``lock``, this write and every :meth:`commit_run` and :meth:`finish_run`
        of the run are fenced: in the same transaction, the lock must still be this holder's and
        not expired on the database's clock (then it is extended by its lease), else nothing is
        written and :class:`RunLockLost` is raised (:meth:`finish_run` then records the run as
        ``interrupted``), except for a :meth:`finish_run` after the run committed: its slot was
        this run's, and its end is recorded as it is."""

    @abstractmethod
    def commit_run(self, run_id: int, *, workflow: str, measurements: "pl.DataFrame | None",
                   alerts: Sequence["Alert"], messages: Sequence[QueuedMessage] = (),
                   now: datetime | None = None) -> list[int | None]:
        """Atomically: upsert the run's measurements, record alert states, and queue its
        messages in the outbox (a message whose key is already there is not queued again).
        Returns one entry per message, in their order: the id it was queued under, or None for
        a message already queued (by an earlier run of the period: a ``send_once`` e-mail). The run stays ``running`` until finished, but
        the same transaction marks it committed: from then on its slot counts as run
        (:meth:`slot_handled`), so that a run that dies or loses its lock before it finishes is
        never run again for that slot and nothing is written twice. A row of a committed run cut
        short is closed ``interrupted`` by the next run, saying its results were kept."""

    @abstractmethod
    def finish_run(self, run_id: int, *, status: str, stats: dict[str, Any], error: str | None) -> None:
        """Close the run with its final status (after its outputs were delivered)."""

    # -- outbox -----------------------------------------------------------------------------
    @abstractmethod
    def outbox(self, *, status: str | None = None, workflow: str | None = None,
               limit: int = 100) -> list[OutboxMessage]:
        """Messages in the outbox, oldest first (all states unless ``status`` is given)."""

    @abstractmethod
    def due_messages(self, now: datetime, *, workflow: str | None = None,
                     ids: Sequence[int] | None = None) -> list[OutboxMessage]:
        """Pending messages due at ``now`` that no live sender holds, oldest first. Nothing is
        claimed: a sender claims each message with :meth:`claim_message` as it sends it."""

    @abstractmethod
    def claim_message(self, message_id: int, claimer: LockOwner, *, now: datetime,
                      lease: timedelta) -> OutboxMessage | None:
        """Claim one message for ``claimer`` while it sends it, if it is still pending, due at
        ``now`` and free; return it as it stands, else None (delivered meanwhile, or another
        sender holds it).

        A claim is free when its time is up or when its holder is judged gone the way run locks
        are (its process no longer runs, for a holder in this process space): a sender killed
        mid-delivery never holds its messages for long. The claim runs ``lease`` from the
        wall clock (``now`` only judges whether the message is due) and is renewed by
        :meth:`renew_claims` while the sender works."""

    @abstractmethod
    def claim_due_messages(self, claimer: LockOwner, *, now: datetime, lease: timedelta, limit: int,
                           workflow: str | None = None, ids: Sequence[int] | None = None,
                           skip: Collection[int] = ()) -> list[OutboxMessage]:
        """Claim for ``claimer``, in one transaction, up to ``limit`` pending messages due at
        ``now`` that no live sender holds (``workflow``'s only, or these ``ids`` only, never
        those in ``skip``), oldest first, and return them claimed, as :meth:`claim_message`
        does for one. Messages another process is claiming at the same moment are passed
        over, not waited for (PostgreSQL: ``FOR UPDATE SKIP LOCKED``): any number of senders
        share one outbox, and no message is claimed by two."""

    @abstractmethod
    def renew_claims(self, claimer: LockOwner, lease: timedelta) -> int:
        """Extend every claim ``claimer`` holds to ``lease`` from now (a sender's heartbeat);
        return how many."""

    @abstractmethod
    def release_claims(self, claimer: LockOwner) -> int:
        """Give back every claim ``claimer`` still holds (a sender that stops); return how many."""

    @abstractmethod
    def record_attempt(self, message_id: int, *, now: datetime, status: str, attempts: int,
                       error: str | None = None, note: str | None = None,
                       next_attempt_at: datetime | None = None, claimer: "LockOwner | None" = None) -> bool:
        """After sending: delivered, still pending (retry at ``next_attempt_at``) or dead, with
        the number of sends made so far (quick retries within one dispatch count too). The
        message's claim is released.

        With the ``claimer`` that sent it, only a message still pending is changed, and a retry
        or dead letter only while that claimer still holds the claim: a sender whose claim lapsed
        (paused, or its store busy past the lease) never undoes what the sender that took the
        message over recorded. Returns whether anything was recorded."""

    @abstractmethod
    def requeue(self, ids: Sequence[int] | None, *, now: datetime, expires_at: datetime) -> int:
        """Put dead messages (these ids, or all) back in the queue, due now; return how many."""

    @abstractmethod
    def make_due(self, *, now: datetime) -> int:
        """Make every pending message waiting for a later try due ``now`` (a receiver is back:
        ``cmflow outbox flush --now``); claims are left alone. Return how many."""

    @abstractmethod
    def outbox_depth(self) -> OutboxDepth:
        """Pending and dead messages, and when the oldest pending one was queued."""

    # -- silences ---------------------------------------------------------------------------
    @abstractmethod
    def add_silence(self, silence: "Silence") -> None:
        """Store a silence."""

    @abstractmethod
    def silences(self, *, active_at: datetime | None = None) -> list["Silence"]:
        """All silences, or those active at a time, latest end first."""

    @abstractmethod
    def end_silence(self, silence_id: str, now: datetime) -> bool:
        """End a silence now; False when no silence has that id (or a unique prefix of it)."""

    @abstractmethod
    def measurement_history(self, workflow: str, metrics: Sequence[str],
                            periods: Sequence[tuple[date, date]],
                            scopes: Mapping[tuple[str, ...], Mapping[str, str]] | None = None) -> "pl.DataFrame":
        """Stored measurements of these metrics for exactly these periods (start, end). With
        ``scopes`` (shape of row -> metric -> its scope now: :meth:`cmflow.workflow.Workflow.row_scopes`),
        a boolean ``other_scope`` column says which figures were kept with another scope (their
        filters changed since); figures kept before scopes were stored are of any scope."""

    @abstractmethod
    def dimension_values(self, workflow: str, dimension: str) -> set[str]:
        """Every value the dimension ``dimension`` (``account``, ``platform`` ...) has in the
        workflow's stored measurements, of any metric and period: what its earlier runs saw."""

    @abstractmethod
    def alert_states(self, workflow: str) -> dict[str, AlertState]:
        """Alert state by fingerprint for one workflow."""

    @abstractmethod
    def alerts(self, workflow: str | None = None) -> list[AlertState]:
        """Alert states of one workflow (or all), firing first, most recently seen first."""

    @abstractmethod
    def runs(self, workflow: str | None = None, limit: int = 20) -> list[RunRecord]:
        """Most recent runs first."""

    @abstractmethod
    def acquire_run_lock(self, workflow: str, owner: "LockOwner", ttl: timedelta) -> None:
        """Take the workflow's run lock, or raise :class:`WorkflowBusy` naming who holds it.

        A lock whose holder is gone (its process no longer runs on this host) or whose time
        is up is taken over: a killed run never blocks the next one for long.
        """

    @abstractmethod
    def renew_run_lock(self, workflow: str, owner: "LockOwner", ttl: timedelta,
                       timeout: timedelta | None = None) -> bool:
        """Extend the lock ``owner`` holds to ``ttl`` from now on the database's clock (the
        running run's heartbeat); False when ``owner`` no longer holds it or it has expired (an
        expired lock is not revived). With ``timeout``, the call waits that long at most for the
        store (a busy SQLite file, a locked row) before it raises."""

    @abstractmethod
    def release_run_lock(self, workflow: str, owner: "LockOwner") -> None:
        """Give the lock back (only if ``owner`` still holds it)."""

    @abstractmethod
    def run_lock_held(self, workflow: str, here: str, grace: timedelta = timedelta(0)) -> bool:
        """Whether a run of the workflow holds its lock now: taken, not expired (``grace`` ago or
        less), and its process still alive when it runs in this process space (``here``:
        :func:`this_host`). A run's own long write extends its lock only as it commits, so a
        reader judging a run dead (not merely the lock free) gives it a ``grace`` of a lease."""

    @abstractmethod
    def latest_period_end(self, workflow: str) -> date | None:
        """The end of the latest period a finished run of this workflow covered."""

    # -- the daemon ---------------------------------------------------------------------------
    @abstractmethod
    def last_handled_slot(self, workflow: str) -> datetime | None:
        """The latest slot of this workflow that was run to the end (or committed its results)
        or recorded as missed."""

    def last_handled_slots(self, workflows: Sequence[str]) -> dict[str, datetime | None]:
        """:meth:`last_handled_slot` of each of ``workflows``, read in as few statements as the
        database allows (the daemon's health check reads them for every workflow at once). By
        default one :meth:`last_handled_slot` each; a store that can read many at once says so."""
        return {workflow: self.last_handled_slot(workflow) for workflow in workflows}

    @abstractmethod
    def slot_handled(self, workflow: str, slot: datetime) -> bool:
        """Whether a run of this very slot finished (whatever it found) or committed its
        results, or the slot was recorded as missed: a slot so handled is not owed any more."""

    @abstractmethod
    def earliest_unfinished_slot(self, workflow: str, after: datetime | None) -> datetime | None:
        """The earliest slot after ``after`` whose run started but neither finished nor
        committed its results (interrupted, or still marked running): owed again."""

    @abstractmethod
    def record_missed_slots(self, workflow: str, groups: Sequence[Any], now: datetime) -> None:
        """Keep groups of slots that were not run (``cmflow.foundation.schedules.SkippedSlots``)."""

    @abstractmethod
    def missed_slots(self, workflow: str | None = None, limit: int = 20) -> list[MissedSlots]:
        """Most recently recorded first."""

    @abstractmethod
    def end_dead_runs(self, host: str, *, pid: int | None = None, status: str = "interrupted",
                      error: str | None = None) -> list[DeadRun]:
        """Close runs still marked running whose process is gone, and drop their locks.

        With ``pid``: the run of that process (the daemon killed it, e.g. at its timeout),
        alive or not. Without: every run on ``host`` whose lock holder no longer runs (a
        daemon starting after a crash). A run that had committed its results gets an error
        saying its slot counts as run (``error`` after it, as the cause). Returns the runs closed.
        """

    # -- incremental fetching ----------------------------------------------------------------
    @abstractmethod
    def source_cursor(self, source_key: str) -> SourceCursor | None:
        """The window whose records the store holds for this source, if any."""

    @abstractmethod
    def cached_records(self, source_key: str, kind: str, start: datetime, end: datetime) -> list[str]:
        """The JSON rows of the source's records of ``kind`` whose time is in ``[start, end)``."""

    @abstractmethod
    def remember_records(self, source_key: str, records: Sequence[CachedRecord], covered: SourceCursor,
                         run_id: int | None, forget: Sequence[tuple[str, str]] = ()) -> None:
        """Keep these records (a record fetched again replaces its older copy), drop the records
        ``forget`` names by ``(kind, record_key)`` (rows the new ones replace) and move the
        source's cursor to ``covered``, in one transaction."""

    @abstractmethod
    def register_daemon(self, daemon: DaemonRecord) -> None:
        """Record a daemon that starts."""

    @abstractmethod
    def daemon_heartbeat(self, daemon_id: str, now: datetime, *, stopped: bool = False) -> None:
        """A daemon's sign of life; ``stopped`` when it exits cleanly."""

    @abstractmethod
    def daemons(self) -> list[DaemonRecord]:
        """Daemons known to this store, latest heartbeat first."""

    # -- leases ------------------------------------------------------------------------------
    @abstractmethod
    def acquire_lease(self, name: str, holder: LeaseHolder, duration: timedelta) -> LeaseAnswer:
        """Take the lease ``name`` for ``duration`` from now, or renew it when ``holder``
        already holds it; a live lease of another holder is left alone (``held`` is False).

        Atomic: of any number of callers at once, one holds the lease. A lease is free when its
        time is up, or at once when its holder is in this process space and its process no
        longer runs (as run locks are judged). Expiry is judged on the database's clock where
        the database has one (PostgreSQL), so that hosts sharing a store need not agree on the
        time; a SQLite store is on one machine, and its time is that machine's."""

    @abstractmethod
    def release_lease(self, name: str, holder: LeaseHolder) -> bool:
        """Give the lease back if ``holder`` holds it (a clean stop); return whether it did."""

    @abstractmethod
    def lease(self, name: str) -> Lease | None:
        """The lease ``name`` as it stands (held, or left to expire), if any."""

    @abstractmethod
    def schema_version(self) -> int:
        """The version of the schema the store is at."""

    @abstractmethod
    def close(self) -> None:
        """Release connections."""

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
