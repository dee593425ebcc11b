"""The durable outbox: notifications are queued with the run's state, then sent until acknowledged.

:func:`compose_messages` turns a run's due notifications into one message per notifier output and
group; the record stage queues them in the store in the same transaction as the alert state. After
that commit, :func:`dispatch` sends what is due: a message the receiver takes is *delivered*; a
temporary failure (timeout, refused connection, 429, 5xx) is retried with backoff, honouring the
receiver's Retry-After, until the message's ``max_age`` is up; anything else goes to the
dead-letter list, where ``cmflow outbox`` shows it and ``cmflow outbox retry`` re-queues it.

Each message carries a deterministic idempotency key (``Message.key``), sent as the
Idempotency-Key header or the e-mail Message-ID, so a receiver can drop a duplicate. Messages are
claimed by the process sending them, a batch at a time (:data:`CLAIM_BATCH`), and a claim lives
only as long as that process: any number of processes share one outbox without sending a message
twice, delivery is at least once, and twice at most for a message in flight when its sender died.
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Callable, Sequence

from cmflow.plugins.kinds import Notifier
from cmflow.plugins.context import SharedHttpClient
from cmflow.plugins.notifications import (
    DeliveryFailed, Message, Notification, NotificationBatch, SendContext, batch_key, group_labels,
    send_client_options,
)
from cmflow.foundation.heartbeat import Heartbeat
from cmflow.foundation.secrets import redactor
from cmflow.store import DEAD, DELIVERED, PENDING, LockOwner, OutboxMessage, QueuedMessage

if TYPE_CHECKING:
    from cmflow.plugins.context import DeliveryContext
    from cmflow.plugins.result import RunResult
    from cmflow.store import Store
    from cmflow.workflow import Entry, Workflow

    WorkflowLoader = Callable[[str], Workflow]
    """Reads the workflow a queued message's output is in, from the file the message names."""

log = logging.getLogger("cmflow.outbox")

FIRST_RETRY = timedelta(seconds=30)
"""Wait before the first retry when the receiver names none; doubles at each attempt."""
LONGEST_RETRY = timedelta(hours=1)
INLINE_RETRIES = 2
"""Retries made at once, within the run, when the wait is short (a brief 503, a Retry-After: 2)."""
INLINE_MAX_WAIT = 10.0
"""Seconds: a longer wait leaves the message in the outbox for a later run or ``cmflow outbox flush``."""


def when_applies(entry: "Entry", result: "RunResult", notifications: list[Notification]) -> bool:
    """Whether an output runs at this run, by its ``when``; an output ``cmflow resend`` names
    always does (the CM asked for its messages)."""
    if entry.id in result.resend:
        return True
    when = entry.common.when or entry.plugin.default_when
    if when == "alerts":
        return bool(result.alerts)
    if when == "change":
        return bool(notifications)
    return True


def notifications_for(entry: "Entry", result: "RunResult") -> list[Notification]:
    """The run's notifications this output announces (resolutions only if it sends them); an
    output keeping an item per alert (:attr:`cmflow.Notifier.closes_superseded`) also gets the
    resolution of each alert resolved without a word, to close its item."""
    options = entry.plugin.options
    if not getattr(options, "send_resolved", True):
        return [n for n in result.notifications if n.event != "resolved"]
    notifications = list(result.notifications)
    if getattr(entry.plugin, "closes_superseded", False):
        notifications += [Notification(alert, "resolved") for alert in result.resolved if alert.superseded]
    return notifications


def compose_messages(workflow: "Workflow", entry: "Entry", result: "RunResult",
                     ctx: "DeliveryContext") -> list[QueuedMessage]:
    """One message per group of the output's notifications (one in all when there are none), or the
    messages a notifier composes for a group (one per client of a report e-mail)."""
    plugin: Notifier = entry.plugin
    notifications = notifications_for(entry, result)
    groups: dict[tuple, tuple[dict[str, str], list[Notification]]] = {}
    for notification in notifications:
        labels = group_labels(notification.alert, plugin.options.group_by, workflow.name)
        groups.setdefault(tuple(sorted(labels.items())), (labels, []))[1].append(notification)
    if not groups:
        groups[()] = ({"workflow": workflow.name}, [])
    run_marker = str(result.run_id if result.run_id is not None else result.started_at.isoformat())
    queued = []
    now = result.started_at
    for labels, members in groups.values():
        key = batch_key(workflow.key, entry.id, labels, members, run_marker)
        composed = plugin.compose(NotificationBatch(result, members, labels, key), ctx)
        for message_key, message in _keyed(plugin.name, key, composed):
            queued.append(QueuedMessage(message_key, str(workflow.file), entry.id, plugin.name,
                                        redactor(message.summary), message.payload,
                                        now + plugin.options.max_age, client=message.client))
    return queued


def _keyed(plugin: str, key: str, composed: "Message | list[Message]") -> list[tuple[str, Message]]:
    """The messages one ``compose`` returned, each with its idempotency key: the batch's for a
    single message; for a list (one message per client ...), each message's own key, which the
    notifier derives from the batch's, so that a re-run queues none of them twice."""
    if isinstance(composed, Message):
        return [(key, composed)]
    if not isinstance(composed, list) or not all(isinstance(m, Message) for m in composed):
        raise TypeError(f"{plugin}.compose() must return a cmflow.Message or a list of them, got {composed!r}")
    keys = [m.key for m in composed]
    if not all(keys) or len(set(keys)) != len(keys):
        raise TypeError(f"{plugin}.compose() returned several messages: each needs its own key, "
                        f"derived from the batch's (got {keys!r})")
    return list(zip(keys, composed))


@dataclass
class DispatchReport:
    """What one :func:`dispatch` did, message by message."""

    delivered: list[OutboxMessage] = field(default_factory=list)
    retrying: list[tuple[OutboxMessage, str, datetime]] = field(default_factory=list)
    dead: list[tuple[OutboxMessage, str]] = field(default_factory=list)
    notes: dict[int, str] = field(default_factory=dict)

    def for_output(self, output_id: str) -> tuple[list[str | None], list[str]]:
        """What one output's delivered messages say (their notes, if any), and the others' problems."""
        delivered = [self.notes.get(m.id) for m in self.delivered if m.output_id == output_id]
        problems = [f"{m.summary}: {error} (kept in the outbox, retrying at {at:%Y-%m-%d %H:%M} UTC)"
                    for m, error, at in self.retrying if m.output_id == output_id]
        problems += [f"{m.summary}: {error} (dead-lettered; see `cmflow outbox`)"
                     for m, error in self.dead if m.output_id == output_id]
        return delivered, problems


CLAIM_LEASE = timedelta(minutes=2)
"""How long a sender's claim on a message lasts unless renewed; it renews every third of it
while it sends. Only a sender on another host (or in another container) waits this out after a
crash: on the same host a claim whose process is gone is free at once."""
CLAIM_BATCH = 50
"""Messages one dispatch claims at a time, in one transaction; it claims the next batch when
these are sent, so that several processes sharing one outbox each take a share of it."""
MAX_SENDERS = 8
"""Messages in flight at once in one dispatch, all receivers together (each lane has its own
bound: :meth:`Notifier.lane`)."""


def dispatch(store: "Store", *, workflow: "Workflow | None" = None, ids: Sequence[int] | None = None,
             clock: Callable[[], datetime] | None = None, sleep: Callable[[float], None] = time.sleep,
             only_workflow: bool = True, lease: timedelta = CLAIM_LEASE,
             stop: Callable[[], bool] | None = None, load: "WorkflowLoader") -> DispatchReport:
    """Send the outbox's due messages: ``workflow``'s (or every workflow's), or these ``ids``.

    Messages are claimed for this process a batch at a time (those due when the dispatch
    starts), their claims renewed every third of ``lease`` while the dispatch lasts and given
    back when it ends, so that another process never sends a message claimed here, and a
    process killed mid-delivery holds nothing. Messages to one receiver go out oldest first, as
    many at once as its notifier's lane allows. Once ``stop()`` is true (SIGTERM), the messages
    being sent are finished and recorded, and no other is started.

    A workflow's notifier is rebuilt from its file for messages of other workflows, so that
    secrets are read from the environment at send time, never from the store: ``load`` reads
    that file (a run passes :func:`cmflow.workflow.load_workflow`; the daemon and the CLI pass
    :func:`cmflow.daemon.settings.outputs_workflow_of`, which also reads the daemon settings'
    health outputs).
    """
    clock = clock or (lambda: datetime.now(timezone.utc))
    stopping = stop or (lambda: False)
    report = DispatchReport()
    key = workflow.key if (workflow is not None and only_workflow) else None
    due_at = clock()  # a message put off during this dispatch waits for the next one
    claimer = LockOwner.this_process()
    taken: set[int] = set()

    def claim_batch() -> list[OutboxMessage]:
        batch = store.claim_due_messages(claimer, now=due_at, lease=lease, limit=CLAIM_BATCH, workflow=key,
                                         ids=ids, skip=taken)
        taken.update(message.id for message in batch)
        return batch

    with contextlib.ExitStack() as holding:
        try:
            batch = claim_batch()
            if not batch:  # nothing claimed, nothing held: no heartbeat, nothing to give back (most runs)
                return report
            holding.enter_context(_ClaimHeartbeat(store, claimer, lease))  # gives the claims back on leaving
        except BaseException:  # a claim whose commit was cut may have been kept, or the heartbeat
            _release_claims(store, claimer)  # did not start: what was claimed is given back
            raise
        resolver = _NotifierResolver(workflow, load)
        http = SharedHttpClient(**send_client_options())  # made only if a notifier speaks HTTP
        sender = _Sender(store, claimer, clock, sleep, report, http)
        try:
            while batch and not stopping():
                _run_lanes(_lanes(batch, resolver), sender.send, stopping)
                batch = [] if stopping() else claim_batch()
        finally:
            http.close()
    return report


@dataclass
class _Job:
    """One message to send, through its notifier (or why it cannot be sent)."""

    message: OutboxMessage
    plugin: Notifier | None
    directory: "object"
    error: str | None = None


def _lanes(messages: list[OutboxMessage], resolver: "_NotifierResolver") -> dict[str, tuple[int, deque[_Job]]]:
    """The messages by lane (oldest first in each), with the number sent at once in each."""
    lanes: dict[str, tuple[int, deque[_Job]]] = {}
    for message in messages:
        try:
            plugin, directory = resolver.get(message)
        except LookupError as exc:
            job, (lane, width) = _Job(message, None, None, redactor(str(exc))), ("unsendable", 1)
        else:
            job, (lane, width) = _Job(message, plugin, directory), plugin.lane()
        known_width, jobs = lanes.get(lane, (max(1, width), deque()))
        lanes[lane] = (min(known_width, max(1, width)), jobs)  # outputs sharing a receiver: the smallest
        jobs.append(job)
    return lanes


def _run_lanes(lanes: dict[str, tuple[int, deque[_Job]]], send: Callable[[_Job], None],
               stopping: Callable[[], bool]) -> None:
    """Send every lane's jobs, each lane with at most its width of workers, all in parallel,
    until they are sent or ``stopping()`` says to start no more."""
    queues = [jobs for width, jobs in lanes.values() for _ in range(min(width, len(jobs)))]
    if len(queues) == 1:
        while queues[0] and not stopping():
            send(queues[0].popleft())
        return
    stop = threading.Event()

    def work(jobs: deque[_Job]) -> None:
        try:
            while not stop.is_set() and not stopping():
                try:
                    job = jobs.popleft()
                except IndexError:
                    return
                send(job)
        except BaseException:
            stop.set()  # the store failed: the other workers stop taking messages too
            raise

    with ThreadPoolExecutor(max_workers=min(len(queues), MAX_SENDERS), thread_name_prefix="cmflow-outbox") as pool:
        futures = [pool.submit(work, jobs) for jobs in queues]
        try:
            for future in futures:
                future.result()
        finally:
            stop.set()


class _ClaimHeartbeat:
    """Renews a sender's claims every third of the lease while it sends; releases what it still
    holds when it stops, normally or not."""

    def __init__(self, store: "Store", claimer: LockOwner, lease: timedelta) -> None:
        self._store, self._claimer, self._lease = store, claimer, lease
        self._heartbeat = Heartbeat(self._beat, lease.total_seconds() / 3, "cmflow-outbox-claims")

    def __enter__(self) -> "_ClaimHeartbeat":
        self._heartbeat.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._heartbeat.__exit__(*exc)
        _release_claims(self._store, self._claimer)

    def _beat(self) -> None:
        try:
            self._store.renew_claims(self._claimer, self._lease)
        except Exception as exc:  # a busy store: the next beat tries again, within the lease
            log.warning("outbox: could not renew the claims on messages being sent: %s",
                        redactor(f"{type(exc).__name__}: {exc}"))


def _release_claims(store: "Store", claimer: LockOwner) -> None:
    """Give back the claims ``claimer`` still holds; a failure is logged (they run out on their own)."""
    try:
        store.release_claims(claimer)
    except Exception as error:  # keep the first error, if any
        log.warning("outbox: could not release the claims on messages being sent: %s",
                    redactor(f"{type(error).__name__}: {error}"))


@dataclass
class _Sender:
    """Sends one claimed message at a time, in whichever worker thread calls it."""

    store: "Store"
    claimer: LockOwner
    clock: Callable[[], datetime]
    sleep: Callable[[float], None]
    report: DispatchReport
    http: SharedHttpClient

    def send(self, job: _Job) -> None:
        message = job.message
        if job.error is not None:
            if self.store.record_attempt(message.id, now=self.clock(), status=DEAD, attempts=message.attempts,
                                         error=job.error, claimer=self.claimer):
                self.report.dead.append((message, job.error))
            return
        _send_one(self.store, self.claimer, message, job.plugin, job.directory, self.clock, self.sleep,
                  self.report, self.http)


def _send_one(store: "Store", claimer: LockOwner, message: OutboxMessage, plugin: Notifier, directory: "object",
              clock: Callable[[], datetime], sleep: Callable[[float], None], report: DispatchReport,
              http: SharedHttpClient) -> None:
    """Send one claimed message (with quick retries) and record how it went, which frees its claim.
    The report's lists are appended to from several threads (``list.append`` is atomic)."""

    def record(**how) -> bool:
        if store.record_attempt(message.id, claimer=claimer, **how):
            return True
        log.warning("outbox: %s: this sender's claim lapsed and another took the message over; "
                    "what this one did is not recorded over theirs", message.summary)
        return False

    attempt = message.attempts
    for inline in range(INLINE_RETRIES + 1):
        attempt += 1
        ctx = SendContext(directory, log.getChild(message.output_id), clock(), attempt, http_source=http)
        try:
            note = plugin.send(Message(message.summary, message.payload, message.key), ctx)
        except DeliveryFailed as exc:
            retryable, retry_after, error = exc.retryable, exc.retry_after, redactor(str(exc))
        except (OSError, TimeoutError) as exc:  # the network, not the message
            retryable, retry_after, error = True, None, redactor(f"{type(exc).__name__}: {exc}")
        except Exception as exc:  # a fault in the notifier: retrying will not mend it
            retryable, retry_after, error = False, None, redactor(f"{type(exc).__name__}: {exc}")
        else:
            note = redactor(note or "") or None
            if record(now=clock(), status=DELIVERED, attempts=attempt, note=note):
                report.delivered.append(message)
                if note:
                    report.notes[message.id] = note
            return
        now = clock()
        if not retryable:
            if record(now=now, status=DEAD, attempts=attempt, error=error):
                report.dead.append((message, error))
                log.warning("outbox: %s not delivered, dead-lettered: %s", message.summary, error)
            return
        wait = retry_delay(attempt, retry_after)
        retry_at = now + wait
        if retry_at > message.expires_at:
            error = f"{error}; gave up after {attempt} attempt(s), the message's max_age is over"
            if record(now=now, status=DEAD, attempts=attempt, error=error):
                report.dead.append((message, error))
                log.warning("outbox: %s", error)
            return
        if inline < INLINE_RETRIES and wait.total_seconds() <= INLINE_MAX_WAIT:
            sleep(wait.total_seconds())
            continue
        if record(now=now, status=PENDING, attempts=attempt, error=error, next_attempt_at=retry_at):
            report.retrying.append((message, error, retry_at))
            log.warning("outbox: %s not delivered yet (%s); retrying at %s", message.summary, error,
                        f"{retry_at:%Y-%m-%d %H:%M:%S} UTC")
        return


def retry_delay(attempt: int, retry_after: float | None) -> timedelta:
    """The receiver's Retry-After if it gave one, else exponential backoff with jitter."""
    if retry_after is not None and retry_after >= 0:
        return timedelta(seconds=min(retry_after, LONGEST_RETRY.total_seconds()))
    backoff = min(FIRST_RETRY * (2 ** (attempt - 1)), LONGEST_RETRY)
    return backoff + timedelta(seconds=random.uniform(0, backoff.total_seconds() * 0.1))


@dataclass(frozen=True)
class Backlog:
    """What the outbox still holds: messages waiting to be sent, and dead-lettered ones."""

    waiting: list[OutboxMessage]
    """Pending messages, oldest first."""
    dead: int

    @property
    def next_due(self) -> datetime | None:
        """When the next waiting message is due (it may be now, or past)."""
        return min((m.next_attempt_at for m in self.waiting), default=None)

    @property
    def being_sent(self) -> list[OutboxMessage]:
        """Waiting messages a live sender (another process) holds now."""
        return [m for m in self.waiting if m.claim is not None and m.claim.live]


def backlog(store: "Store") -> Backlog:
    """The outbox's pending messages and how many are dead-lettered."""
    return Backlog(store.outbox(status=PENDING, limit=1_000_000), len(store.outbox(status=DEAD, limit=1_000_000)))


REQUEUE_UNKNOWN_MAX_AGE = timedelta(hours=24)
"""A re-queued message whose output cannot be read now gets this long (sending will say why)."""


def requeue_dead(store: "Store", ids: Sequence[int] | None, now: datetime, *, load: "WorkflowLoader") -> int:
    """Put dead-lettered messages (these ids, or all) back in the queue, due now, each with its
    output's ``max_age`` to be delivered in again; return how many. ``load`` reads a message's
    workflow file, as for :func:`dispatch`."""
    resolver = _NotifierResolver(None, load)
    by_expiry: dict[datetime, list[int]] = {}
    for message in store.outbox(status=DEAD, limit=1_000_000):
        if ids is not None and message.id not in ids:
            continue
        try:
            max_age = resolver.get(message)[0].options.max_age
        except LookupError:
            max_age = REQUEUE_UNKNOWN_MAX_AGE
        by_expiry.setdefault(now + max_age, []).append(message.id)
    return sum(store.requeue(chosen, now=now, expires_at=expiry) for expiry, chosen in by_expiry.items())


class _NotifierResolver:
    """The notifier plugin a message goes out through, from the run's workflow or its file."""

    def __init__(self, workflow: "Workflow | None", load: "WorkflowLoader") -> None:
        self._load = load
        self._workflows: dict[str, "Workflow | Exception"] = {}
        if workflow is not None:
            self._workflows[str(workflow.file)] = workflow

    def get(self, message: OutboxMessage) -> tuple[Notifier, "object"]:
        loaded = self._workflows.get(message.workflow_file)
        if loaded is None:
            try:
                loaded = self._load(message.workflow_file)
            except Exception as exc:  # gone, or invalid now
                loaded = exc
            self._workflows[message.workflow_file] = loaded
        if isinstance(loaded, Exception):
            raise LookupError(f"cannot send: its workflow file {message.workflow_file} cannot be "
                              f"loaded ({str(loaded).splitlines()[0]})")
        entry = next((e for e in loaded.outputs if e.id == message.output_id), None)
        if entry is None or not isinstance(entry.plugin, Notifier) or entry.plugin.name != message.plugin:
            raise LookupError(f"cannot send: workflow {loaded.name!r} has no {message.plugin} output "
                              f"{message.output_id!r} any more")
        return entry.plugin, loaded.directory
