"""Notifications: what a notifier output turns into messages, and what the outbox keeps.

A run decides which alert events are due (an alert started firing, is still firing and due a
reminder, or resolved), groups them per notifier output (one message per group, so a bad buzz
on 30 posts is one message, not 30), and asks the output to :meth:`Notifier.compose` each group
into a :class:`Message`. Messages are written to the store's outbox in the same transaction as
the alert state, and sent after it commits by :meth:`Notifier.send`; a message that could not
be sent stays in the outbox and is retried, so a notification is neither lost nor sent twice.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from cmflow.foundation.alerts import Notification

if TYPE_CHECKING:
    import logging

    from cmflow.foundation.alerts import Alert
    from cmflow.foundation.periods import Period
    from cmflow.plugins.result import RunResult

@dataclass
class NotificationBatch:
    """What a notifier turns into one message: the run, and its notifications for one group.

    ``notifications`` is empty for an output that sends on every run (``when = "always"``,
    e.g. the weekly report by email) when no alert event is due.
    """

    result: "RunResult"
    notifications: list[Notification]
    group: dict[str, str]
    """The group's labels (``group_by`` of the output), e.g. ``{"workflow": "Weekly KPIs"}``."""
    key: str
    """Deterministic idempotency key: the same events give the same key, on every retry."""

    @property
    def firing(self) -> list["Alert"]:
        """Alerts that started firing, or are still firing and due a reminder."""
        return [n.alert for n in self.notifications if n.event != "resolved"]

    @property
    def resolved(self) -> list["Alert"]:
        return [n.alert for n in self.notifications if n.event == "resolved"]

    @property
    def period(self) -> "Period | None":
        """The reporting period the message is about; None for a workflow without sources (the
        daemon's health alerts are about runs, not a period)."""
        return self.result.period if self.result.workflow.sources else None

    @property
    def title(self) -> str:
        """A one-line subject: ``Weekly KPIs: 2 alerts firing, 1 resolved (2026-11-16..2026-11-22)``."""
        parts = []
        if firing := self.firing:
            parts.append(f"{len(firing)} alert{'s' if len(firing) != 1 else ''} firing")
        if resolved := self.resolved:
            parts.append(f"{len(resolved)} resolved")
        what = ", ".join(parts) or "report"
        period = f" ({self.period})" if self.period else ""
        return f"{self.result.workflow.name}: {what}{period}"


@dataclass
class Message:
    """A composed notification as the outbox keeps it, until the receiver acknowledges it.

    ``payload`` is what :meth:`Notifier.send` needs (JSON-serialisable). It never holds a
    secret: tokens, passwords and webhook URLs are read from the output's options when the
    message is sent, so a rotated secret is used by the retries too.
    """

    summary: str
    """One line for ``cmflow outbox`` (no secret, no private data beyond the alert summaries)."""
    payload: dict[str, Any]
    key: str = ""
    """Set by cmflow: the batch's idempotency key (send it as Idempotency-Key / Message-ID)."""
    client: str | None = None
    """The id of the client whose report the message carries (a client's report e-mail), if any:
    what ``cmflow resend`` records as sent again."""


class DeliveryFailed(Exception):
    """Raised by :meth:`Notifier.send`: the receiver did not take the message.

    ``retryable`` (timeouts, refused connections, 429, 5xx): the outbox tries again later, after
    ``retry_after`` seconds when the receiver said so. Not retryable (a 4xx other than 429, a
    rejected recipient): the message goes to the dead-letter list at once.
    """

    def __init__(self, message: str, *, retryable: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after


@dataclass
class SendContext:
    """Given to :meth:`Notifier.send`."""

    workflow_dir: Path
    log: logging.Logger
    now: datetime
    attempt: int
    """1 for the first attempt."""
    http_client: Any = field(default=None, repr=False)
    http_source: Callable[[], Any] | None = field(default=None, repr=False)
    """Where :attr:`http` comes from when no ``http_client`` is given: the outbox passes one
    client shared by all the messages it sends."""

    @property
    def http(self) -> Any:
        """A :class:`cmflow.http.HttpClient` for webhook-style notifiers, made on first use."""
        if self.http_client is None:
            if self.http_source is not None:
                self.http_client = self.http_source()
            else:
                from cmflow.http import make_client

                self.http_client = make_client(**send_client_options())
        return self.http_client


def send_client_options() -> dict[str, Any]:
    """HTTP client options for notifiers: one attempt per send, since the outbox does the
    retrying (across runs if need be), and no long wait for a receiver's hold: a message held
    longer than the outbox's quick retries (10 s) waits in the outbox instead."""
    from cmflow.http import RetryPolicy

    return {"retry": RetryPolicy(max_attempts=1, max_total_wait=10.0)}


GROUP_LABELS = ("rule", "severity", "metric")
"""Alert attributes a notifier can group by, besides ``workflow`` and the dimensions."""


def group_labels(alert: "Alert", group_by: list[str], workflow_name: str) -> dict[str, str]:
    """The labels an alert is grouped by for one output."""
    labels = {}
    for name in group_by:
        if name == "workflow":
            labels[name] = workflow_name
        elif name in GROUP_LABELS:
            labels[name] = str(getattr(alert, name))
        else:
            value = alert.dimensions.get(name)
            labels[name] = "" if value is None else str(value)
    return labels


def batch_key(workflow_key: str, output_id: str, group: dict[str, str],
              notifications: list[Notification], run_marker: str) -> str:
    """The idempotency key of a batch.

    Alert events make it: the same events for the same output and group give the same key, so a
    re-run after a crash is recognised by the outbox and by receivers that de-duplicate. A batch
    without events (a report sent on every run) is keyed by ``run_marker`` (the run).
    """
    events = sorted(n.id for n in notifications) or [f"run:{run_marker}"]
    payload = json.dumps([workflow_key, output_id, sorted(group.items()), events],
                         ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()[:32]
