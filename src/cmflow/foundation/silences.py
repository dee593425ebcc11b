"""Silences: mute the notifications of some alerts until a time.

A silence matches alerts by fingerprint, or by labels (rule, metric, severity, condition, a
dimension such as account or platform), each written ``label=value`` where value may use shell
wildcards (``account=acme-*``). A silenced alert keeps its lifecycle (it still fires, resolves
and shows in ``cmflow alerts`` and the reports); only its messages are held back. When the
silence ends and the alert still fires, it is announced at the next run, once.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cmflow.foundation.alerts import Alert

ALERT_LABELS = ("fingerprint", "workflow", "rule", "metric", "severity", "condition")
HEALTH_LABELS = ("workflow_id",)
"""The dimension of the daemon's health alerts: the workflow they are about."""


class SilenceError(ValueError):
    """A silence that cannot be understood (a matcher without ``=``, an end in the past ...)."""


@dataclass
class Silence:
    """Mutes matching alerts' notifications from ``starts_at`` until ``ends_at``."""

    id: str
    matchers: dict[str, str]
    starts_at: datetime
    ends_at: datetime
    comment: str = ""
    created_by: str = ""
    created_at: datetime | None = None
    workflow: str | None = None
    """Only this workflow's alerts (its id); None: every workflow's."""

    def active(self, now: datetime) -> bool:
        return self.starts_at <= now < self.ends_at

    def matches(self, alert: "Alert", workflow: str) -> bool:
        """Whether every matcher holds for the alert (of the workflow with this id)."""
        if self.workflow is not None and self.workflow != workflow:
            return False
        labels = alert_labels(alert, workflow)
        return all(fnmatch.fnmatchcase(labels.get(name, ""), pattern)
                   for name, pattern in self.matchers.items())

    def describe(self) -> str:
        """``rule=er_low account=acme`` (or the fingerprint)."""
        return " ".join(f"{name}={value}" for name, value in self.matchers.items())


def alert_labels(alert: "Alert", workflow: str) -> dict[str, str]:
    """What a silence can match an alert on."""
    labels = {name: str(value) for name, value in alert.dimensions.items() if value is not None}
    labels.update(fingerprint=alert.fingerprint, workflow=workflow, rule=alert.rule,
                  metric=alert.metric, severity=alert.severity, condition=alert.condition)
    return labels


def parse_until(text: str) -> datetime:
    """``--until``: a UTC date (midnight) or date and time, ``2026-12-01`` or ``2026-12-01T18:00``."""
    from datetime import timezone

    try:
        ends = datetime.fromisoformat(text.strip())
    except ValueError:
        raise SilenceError(f"--until {text}: write a UTC date or date and time, e.g. 2026-12-01 "
                           "or 2026-12-01T18:00") from None
    return ends if ends.tzinfo else ends.replace(tzinfo=timezone.utc)


def parse_matchers(items: list[str]) -> dict[str, str]:
    """``["rule=er_low", "account=acme-*"]`` or a bare fingerprint as matchers."""
    matchers: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep:
            if all(c in "0123456789abcdef" for c in item) and len(item) >= 6:
                matchers["fingerprint"] = item + ("*" if len(item) < 16 else "")
                continue
            raise SilenceError(f"{item!r} is neither label=value nor an alert fingerprint "
                               "(see `cmflow alerts`)")
        name, value = name.strip(), value.strip()
        if not name or not value:
            raise SilenceError(f"{item!r}: write label=value, e.g. rule=er_low or account=acme")
        _check_matcher(name, value)
        matchers[name] = value
    if not matchers:
        raise SilenceError("a silence needs at least one matcher (label=value or a fingerprint)")
    return matchers


def _check_matcher(name: str, value: str) -> None:
    """A label alerts have, and for closed sets (severity, condition) a value they can take: a
    silence matching nothing would hold nothing back, and say nothing."""
    from cmflow.foundation.alerts import ERROR, NO_DATA, SEVERITIES, VALUE
    from cmflow.foundation.measurements import DIMENSIONS
    from cmflow.foundation.names import closest

    labels = [*ALERT_LABELS, *DIMENSIONS, *HEALTH_LABELS]
    if name not in labels:
        suggestion = closest(name, labels)
        raise SilenceError(f"{name}={value}: alerts have no label {name!r}; "
                           + (f"did you mean {suggestion!r}?" if suggestion else f"labels: {', '.join(labels)}"))
    choices = {"severity": SEVERITIES, "condition": (VALUE, NO_DATA, ERROR)}.get(name)
    if choices and not any(c in value for c in "*?[") and value not in choices:
        suggestion = closest(value, list(choices))
        raise SilenceError(f"{name}={value}: {name} is one of {', '.join(choices)}"
                           + (f"; did you mean {suggestion!r}?" if suggestion else ""))


def silencing(silences: list[Silence], alert: "Alert", workflow: str, now: datetime) -> Silence | None:
    """The first active silence that matches the alert, if any."""
    return next((s for s in silences if s.active(now) and s.matches(alert, workflow)), None)

