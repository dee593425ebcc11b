"""Alerts: what triggers produce, identified by a stable fingerprint, and their lifecycle.

A trigger returns the alerts whose condition holds now. The run compares them with the alert
state kept in the store (see :mod:`cmflow.stages.lifecycle`): a condition that holds is *pending* until
it has held for ``for`` consecutive runs, then *firing*; a firing alert whose condition no
longer holds stays firing for ``keep_firing_for`` runs, then is *resolved*.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, ClassVar, Literal

SEVERITIES: tuple[str, ...] = ("info", "warning", "critical")

PENDING = "pending"
FIRING = "firing"
RESOLVED = "resolved"

VALUE, NO_DATA, ERROR = "value", "no_data", "error"
"""What an alert is about: the watched value, the absence of data, or a failure upstream."""


def fingerprint(rule: str, dimensions: dict[str, Any]) -> str:
    """Stable id of an alert series: the rule (trigger id) and its non-null dimensions."""
    payload = json.dumps(
        {"rule": rule, "dims": {k: v for k, v in sorted(dimensions.items()) if v is not None}},
        sort_keys=True, ensure_ascii=False, separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


@dataclass(kw_only=True)
class AlertEpisode:
    """Where an alert series is in its lifecycle: what the store keeps of it between runs
    (:class:`cmflow.store.AlertState`) and an :class:`Alert` carries during one, written once
    here for both."""

    condition: str = VALUE
    """value (the trigger's condition), no_data or error (see the trigger's ``no_data``/``on_error``)."""
    active_since: datetime | None = None
    """When the condition was first seen holding, for this episode."""
    streak: int = 0
    """Consecutive runs the condition has held (pending: towards ``for``)."""
    clear_streak: int = 0
    """Consecutive runs a firing alert's condition has not held (towards ``keep_firing_for``)."""
    notified_at: datetime | None = None
    """When this episode was last announced; None while it has not been (pending, silenced)."""
    reminders: int = 0
    period_end: date | None = None
    """The last day of the period this state was evaluated for: a re-run of that period is not
    one more run."""

    def episode_fields(self) -> dict[str, Any]:
        """These fields and their values, to carry them from a stored state to an alert."""
        return {name: getattr(self, name) for name in AlertEpisode.__dataclass_fields__}


@dataclass
class AlertSeries:
    """What an alert says of its series: the rule, the measurement and its dimensions, the words,
    the level, the value and its state; what an :class:`Alert` carries during a run and the store
    keeps of it between runs (:class:`cmflow.store.AlertState`), written once here for both."""

    rule: str
    """The id of the trigger entry that produced it."""
    metric: str
    dimensions: dict[str, Any]
    summary: str
    severity: str = "warning"
    value: float | None = None
    details: dict[str, Any] = field(default_factory=dict)
    """What its trigger measured besides the value (the unit, the bound crossed ...), for the
    words an output says it in."""
    state: str = FIRING

    def series_fields(self) -> dict[str, Any]:
        """These fields and their values (``dimensions`` and ``details`` copied), to carry them
        from a stored state to an alert."""
        fields = {name: getattr(self, name) for name in AlertSeries.__dataclass_fields__}
        return {**fields, "dimensions": dict(self.dimensions), "details": dict(self.details)}


@dataclass
class Alert(AlertSeries, AlertEpisode):
    """One alert: a rule whose condition holds for one series (metric + dimensions), said in the
    fields of an :class:`AlertSeries`. Its place in the lifecycle (keyword arguments:
    ``condition``, ``streak`` ...) is an :class:`AlertEpisode`."""

    is_new: bool = True
    """True when it started firing at this run."""
    silenced_by: str | None = None
    """The id of the silence that mutes its notifications, if any."""
    key: str | None = None
    """The fingerprint the store knows this series by, when it is not the one its dimensions
    give now: a series stored before its rows gained a label (a planned post's ``client``)
    keeps the id it was announced under (:func:`cmflow.stages.lifecycle.advance`)."""
    superseded: bool = False
    """Resolved at this run without a word because its series goes on under another alert's id
    (a duplicate stored before an upgrade): no message announces it, but an output keeping an
    item per alert closes its item (:attr:`cmflow.Notifier.closes_superseded`). Not stored."""

    @property
    def episode(self) -> str:
        """Which firing episode of this fingerprint (a new one starts each time it fires anew)."""
        return self.active_since.isoformat() if self.active_since else ""

    @property
    def fingerprint(self) -> str:
        if self.key is not None:
            return self.key
        if self.condition != VALUE:  # "no data" and "error" are alerts of their own
            return fingerprint(self.rule, {**self.dimensions, "~condition": self.condition})
        return fingerprint(self.rule, self.dimensions)



@dataclass(frozen=True)
class AlertItem:
    """One record behind an alert (a negative message still unanswered, a negative mention):
    what an escalation lists. Public text, untrusted: every output cleans and escapes it."""

    at: datetime | None
    """When it was published or received (UTC)."""
    author: str | None
    platform: str | None
    text: str | None
    url: str | None
    """A link to it, where the record has one (a mention's or a comment's ``url``, a comment's
    post's where the platform gives comments none; direct messages have none)."""


ON_TRACK, AT_RISK, OFF_TRACK = "on_track", "at_risk", "off_track"


@dataclass
class Verdict:
    """A KPI against an objective declared in the workflow: on track, at risk or off track."""

    rule: str
    metric: str
    dimensions: dict[str, Any]
    ON_TRACK: ClassVar[str] = ON_TRACK
    AT_RISK: ClassVar[str] = AT_RISK
    OFF_TRACK: ClassVar[str] = OFF_TRACK

    status: str
    """on_track, at_risk or off_track (:attr:`ON_TRACK`, :attr:`AT_RISK`, :attr:`OFF_TRACK`)."""
    value: float | None
    objective: float
    summary: str
    expected: float | None = None
    """Where the KPI should be by now for a cumulative objective (the pace), if it has one."""


EventKind = Literal["firing", "repeat", "resolved"]
"""firing: the alert started firing; repeat: still firing, reminder due; resolved: it is over."""

@dataclass
class Notification:
    """One alert event a receiver is told about."""

    alert: Alert
    event: EventKind
    reminder: int = 0
    """For ``repeat``: which reminder of the episode this is (1, 2 ...)."""

    @property
    def id(self) -> str:
        """Stable across retries and re-runs: fingerprint, event, episode and reminder number."""
        return f"{self.alert.fingerprint}:{self.event}:{self.alert.episode}:{self.reminder}"
