"""The durable outbox: notifications are queued with the run's state, then sent until acknowledged.

:func:`compose_messages` turns a run's due notifications into one message per notifier output and
group; the runner queues them in the store in the same transaction as the alert state. After
that commit, :func:`dispatch` sends what is due: a message the receiver takes is *delivered*; a
temporary failure (timeout, refused connection, 429, 5xx) is retried with backoff, honouring the
receiver's Retry-After, until the message's ``max_age`` is up; anything else goes to the
dead-letter list, where ``cmflow outbox`` shows it and ``cmflow outbox retry`` re-queues it.

Each message carries a deterministic idempotency key (``Message.key``), sent as the
Idempotency-Key header or the e-mail Message-ID, so a receiver can drop a duplicate.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Callable, Sequence

from .kinds import Notifier
from .context import SharedHttpClient
from .notifications import (
    DeliveryFailed, Message, Notification, NotificationBatch, SendContext, batch_key, group_labels,
    send_client_options,
)
from .secrets import redactor
from .store import DEAD, DELIVERED, PENDING, OutboxMessage, QueuedMessage

if TYPE_CHECKING:
    from .context import DeliveryContext
    from .result import RunResult
    from .store import Store
    from .workflow import Entry, Workflow

log = logging.getLogger("cmflow.outbox")

FIRST_RETRY = timedelta(seconds=30)
"""Wait before the first retry when the receiver names none; doubles at each attempt."""
LONGEST_RETRY = timedelta(hours=1)
INLINE_RETRIES = 2
"""Retries made at once, within the run, when the wait is short (a brief 503, a Retry-After: 2)."""
INLINE_MAX_WAIT = 10.0
"""Seconds: a longer wait leaves the message in the outbox for a later run or ``cmflow outbox flush``."""


def when_applies(entry: "Entry", result: "RunResult", notifications: list[Notification]) -> bool:
    """Whether an output runs at this run, by its ``when``."""
    when = entry.common.when or entry.plugin.default_when
    if when == "alerts":
        return bool(result.alerts)
    if when == "change":
        return bool(notifications)
    return True


def notifications_for(entry: "Entry", result: "RunResult") -> list[Notification]:
    """The run's notifications this output announces (resolutions only if it sends them)."""
    options = entry.plugin.options
    if getattr(options, "send_resolved", True):
        return list(result.notifications)
    return [n for n in result.notifications if n.event != "resolved"]


def compose_messages(workflow: "Workflow", entry: "Entry", result: "RunResult",
                     ctx: "DeliveryContext") -> list[QueuedMessage]:
    """One message per group of the output's notifications (one in all when there are none)."""
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
        message = plugin.compose(NotificationBatch(result, members, labels, key), ctx)
        if not isinstance(message, Message):
            raise TypeError(f"{plugin.name}.compose() must return a cmflow.Message, got {message!r}")
        queued.append(QueuedMessage(key, str(workflow.file), entry.id, plugin.name,
                                    redactor(message.summary), message.payload,
                                    now + plugin.options.max_age))
    return queued


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
        problems = [f"{m.summary}: {error} (retrying at {at:%Y-%m-%d %H:%M} UTC)"
                    for m, error, at in self.retrying if m.output_id == output_id]
        problems += [f"{m.summary}: {error} (dead-lettered; see `cmflow outbox`)"
                     for m, error in self.dead if m.output_id == output_id]
        return delivered, problems


def dispatch(store: "Store", *, workflow: "Workflow | None" = None, ids: Sequence[int] | None = None,
             clock: Callable[[], datetime] | None = None, sleep: Callable[[float], None] = time.sleep,
             only_workflow: bool = True) -> DispatchReport:
    """Send the outbox's due messages: ``workflow``'s (or every workflow's), or these ``ids``.

    A workflow's notifier is rebuilt from its file for messages of other workflows, so that
    secrets are read from the environment at send time, never from the store.
    """
    clock = clock or (lambda: datetime.now(timezone.utc))
    report = DispatchReport()
    key = workflow.key if (workflow is not None and only_workflow) else None
    messages = store.claim_due_messages(clock(), workflow=key, ids=ids)
    if not messages:
        return report
    resolver = _NotifierResolver(workflow)
    http = SharedHttpClient(**send_client_options())  # made only if a notifier speaks HTTP
    try:
        for message in messages:
            _send_one(store, message, resolver, clock, sleep, report, http)
    finally:
        http.close()
    return report


def _send_one(store: "Store", message: OutboxMessage, resolver: "_NotifierResolver",
              clock: Callable[[], datetime], sleep: Callable[[float], None], report: DispatchReport,
              http: SharedHttpClient) -> None:
    try:
        plugin, directory = resolver.get(message)
    except LookupError as exc:
        error = redactor(str(exc))
        store.record_attempt(message.id, now=clock(), status=DEAD, attempts=message.attempts, error=error)
        report.dead.append((message, error))
        return
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
            store.record_attempt(message.id, now=clock(), status=DELIVERED, attempts=attempt, note=note)
            report.delivered.append(message)
            if note:
                report.notes[message.id] = note
            return
        now = clock()
        if not retryable:
            store.record_attempt(message.id, now=now, status=DEAD, attempts=attempt, error=error)
            report.dead.append((message, error))
            log.warning("outbox: %s not delivered, dead-lettered: %s", message.summary, error)
            return
        wait = retry_delay(attempt, retry_after)
        retry_at = now + wait
        if retry_at > message.expires_at:
            error = f"{error}; gave up after {attempt} attempt(s), the message's max_age is over"
            store.record_attempt(message.id, now=now, status=DEAD, attempts=attempt, error=error)
            report.dead.append((message, error))
            log.warning("outbox: %s", error)
            return
        if inline < INLINE_RETRIES and wait.total_seconds() <= INLINE_MAX_WAIT:
            sleep(wait.total_seconds())
            continue
        store.record_attempt(message.id, now=now, status=PENDING, attempts=attempt, error=error,
                             next_attempt_at=retry_at)
        report.retrying.append((message, error, retry_at))
        log.warning("outbox: %s not delivered yet (%s); retrying at %s", message.summary, error, retry_at)
        return


def retry_delay(attempt: int, retry_after: float | None) -> timedelta:
    """The receiver's Retry-After if it gave one, else exponential backoff with jitter."""
    if retry_after is not None and retry_after >= 0:
        return timedelta(seconds=min(retry_after, LONGEST_RETRY.total_seconds()))
    backoff = min(FIRST_RETRY * (2 ** (attempt - 1)), LONGEST_RETRY)
    return backoff + timedelta(seconds=random.uniform(0, backoff.total_seconds() * 0.1))


REQUEUE_UNKNOWN_MAX_AGE = timedelta(hours=24)
"""A re-queued message whose output cannot be read now gets this long (sending will say why)."""


def requeue_dead(store: "Store", ids: Sequence[int] | None, now: datetime) -> int:
    """Put dead-lettered messages (these ids, or all) back in the queue, due now, each with its
    output's ``max_age`` to be delivered in again; return how many."""
    resolver = _NotifierResolver(None)
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

    def __init__(self, workflow: "Workflow | None") -> None:
        self._workflows: dict[str, "Workflow | Exception"] = {}
        if workflow is not None:
            self._workflows[str(workflow.file)] = workflow

    def get(self, message: OutboxMessage) -> tuple[Notifier, "object"]:
        loaded = self._workflows.get(message.workflow_file)
        if loaded is None:
            try:
                loaded = _outputs_of(message.workflow_file)
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


def _outputs_of(file: str) -> "Workflow":
    """The workflow a message's outputs are in: a workflow file, or a daemon settings file
    (whose ``[[outputs]]`` send health alerts)."""
    from .daemon.settings import is_daemon_settings, load_daemon_settings
    from .workflow import load_workflow

    if is_daemon_settings(file):
        health = load_daemon_settings(file).health_workflow
        if health is None:
            raise LookupError("the daemon settings have no [[outputs]] any more")
        return health
    return load_workflow(file)
