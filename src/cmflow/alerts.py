"""Alerts: what triggers produce, identified by a stable fingerprint.

A trigger returns the alerts whose condition holds now. The run compares them with the alert
state kept in the store: a fingerprint seen for the first time is *firing* (new), one that was
firing and is no longer returned is *resolved*.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Literal

Severity = Literal["info", "warning", "critical"]
SEVERITIES: tuple[str, ...] = ("info", "warning", "critical")

FIRING = "firing"
RESOLVED = "resolved"


def fingerprint(rule: str, dimensions: dict[str, Any]) -> str:
    """Stable id of an alert series: the rule (trigger id) and its non-null dimensions."""
    payload = json.dumps(
        {"rule": rule, "dims": {k: v for k, v in sorted(dimensions.items()) if v is not None}},
        sort_keys=True, ensure_ascii=False, separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


@dataclass
class Alert:
    """One alert: a rule whose condition holds for one series (metric + dimensions)."""

    rule: str
    """The id of the trigger entry that produced it."""
    metric: str
    dimensions: dict[str, Any]
    summary: str
    severity: str = "warning"
    value: float | None = None
    details: dict[str, Any] = field(default_factory=dict)
    state: str = FIRING
    is_new: bool = True
    """False when the same fingerprint was already firing at the previous run."""

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.rule, self.dimensions)

