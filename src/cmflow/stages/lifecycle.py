"""The alert lifecycle: from what triggers return at each run to states and notifications.

Per alert fingerprint, at each run where its rule was evaluated:

- the condition holds: the alert is *pending* until it has held for ``for`` consecutive runs,
  then *firing* (announced once). A firing alert is announced again every ``repeat_every`` if
  that is set.
- the condition does not hold (its series was measured and is fine): a pending alert is
  dropped (*inactive*, never announced); a firing one stays firing for ``keep_firing_for``
  more runs, so a flapping series resolves once, then is *resolved* (announced once, if its
  firing was).
- its series has no value this run: nothing changes (no value is not "better").

A series is told apart by its dimensions less its rule's *labels* (:attr:`RuleOutcome.labels`:
a planned post's ``client``, a label of its row, not a series of its own). An alert whose
fingerprint the store does not know continues the ongoing alert of the same series under the
id that one was announced by (an alert stored before the rows gained the label: an upgrade
announces nothing anew, and a task output's item stays the one to close); a second ongoing
alert of that series (one per client series and one overall, as rows were listed before) is
resolved without a word, since the series is announced under the first (an output keeping an
item per alert still closes the item made for it: :attr:`cmflow.Alert.superseded`).

A rule that could not be evaluated (its trigger, metric or a source it reads failed) changes
nothing, and by default raises an *error* alert of its own; a rule whose metric has no value at
all this run raises a *no data* alert (both configurable per trigger: ``on_error``, ``no_data``).
Silenced alerts live the same life; only their announcements are held back, so an alert still
firing when its silence ends is announced at the next run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Iterable

from cmflow.foundation.alerts import FIRING, PENDING, RESOLVED, VALUE, Alert
from cmflow.foundation.measurements import row_dimensions
from cmflow.foundation.alerts import Notification

if TYPE_CHECKING:
    from cmflow.foundation.silences import Silence
    from cmflow.store import AlertState

INACTIVE = "inactive"
"""A pending alert whose condition went away before it fired: kept, never announced."""


@dataclass(frozen=True)
class RuleSettings:
    """A trigger entry's lifecycle options."""

    for_runs: int = 1
    keep_firing_for: int = 0
    repeat_every: timedelta | None = None


@dataclass
class RuleOutcome:
    """What one rule said at this run."""

    rule: str
    settings: RuleSettings
    holding: list[Alert]
    """Alerts whose condition holds now (value alerts, or its no-data / error alert)."""
    measured: set[tuple[str, frozenset]] = field(default_factory=set)
    """(metric, dimensions) of the series measured with a value: those can resolve."""
    conditions_cleared: set[str] = field(default_factory=set)
    """no_data / error when the rule no longer is in that condition (they resolve)."""
    evaluated: bool = True
    """False when the rule could not say anything about its value alerts (an error)."""
    labels: frozenset[str] = frozenset()
    """Dimensions that label a series without telling it apart (``client`` of a metric whose rows
    each name their own: :meth:`cmflow.workflow.Workflow.series_labels_of`); ``measured`` is keyed
    by :func:`series_identity` with these."""


@dataclass
class Advance:
    """The lifecycle's verdict for one run."""

    changed: list[Alert] = field(default_factory=list)
    """Every alert whose stored state changes (to write in the run's transaction)."""
    notifications: list[Notification] = field(default_factory=list)


def dimension_key(row: dict) -> frozenset:
    """A series' dimensions as a comparable set, from a measurement row or an alert's dimensions."""
    return frozenset(row_dimensions(row).items())


def series_identity(metric: str, dimensions: dict, labels: frozenset[str] = frozenset()) -> tuple[str, frozenset]:
    """What tells a series apart: its metric and its dimensions less ``labels``, from a
    measurement row or an alert's (or a stored state's) dimensions."""
    return metric, frozenset((k, v) for k, v in row_dimensions(dimensions).items() if k not in labels)


def advance(outcomes: Iterable[RuleOutcome], previous: dict[str, "AlertState"], now: datetime,
            silences: list["Silence"] = (), workflow: str = "", period_end: date | None = None) -> Advance:
    """Move every alert of the evaluated rules one run forward.

    ``period_end`` is the last day of the period evaluated: running the same period again (a
    re-run, a restarted scheduler) re-evaluates it without counting one more run towards
    ``for`` or ``keep_firing_for``.
    """
    from cmflow.foundation.silences import silencing

    result = Advance()
    silences = list(silences)

    def announce(alert: Alert, event: str, reminder: int = 0) -> None:
        silence = silencing(silences, alert, workflow, now)
        if silence is not None:
            alert.silenced_by = silence.id
            return
        if event != "resolved":
            alert.notified_at = now
        result.notifications.append(Notification(alert, event, reminder))  # type: ignore[arg-type]

    for outcome in outcomes:
        settings = outcome.settings
        labels = outcome.labels
        ongoing_series = {}  # the rule's ongoing value alerts by series, as stored
        for state in previous.values():
            if state.rule == outcome.rule and state.condition == VALUE and state.state in (PENDING, FIRING):
                ongoing_series.setdefault(series_identity(state.metric, state.dimensions, labels), state)
        holding_now, holding_series = set(), set()
        for alert in outcome.holding:
            known = previous.get(alert.fingerprint)
            if alert.condition == VALUE and (known is None or known.state not in (PENDING, FIRING)):
                stored = ongoing_series.get(series_identity(alert.metric, alert.dimensions, labels))
                if stored is not None:  # the same series, stored under the id it was announced by
                    known, alert.key = stored, stored.fingerprint
            holding_now.add(alert.fingerprint)
            if alert.condition == VALUE:
                holding_series.add(series_identity(alert.metric, alert.dimensions, labels))
            ongoing = known is not None and known.state in (PENDING, FIRING)
            alert.rule = outcome.rule
            alert.period_end = period_end
            same_period = known is not None and period_end is not None and known.period_end == period_end
            alert.streak = (known.streak + (0 if same_period else 1)) if ongoing else 1
            alert.active_since = (known.active_since if ongoing and known.active_since else now)
            alert.reminders = known.reminders if ongoing else 0
            alert.notified_at = known.notified_at if ongoing else None
            alert.clear_streak = 0
            if known is not None and known.state == FIRING:
                alert.state, alert.is_new = FIRING, False
                if alert.notified_at is None:  # silenced so far, or fired while muted
                    announce(alert, "firing")
                elif settings.repeat_every is not None and now - alert.notified_at >= settings.repeat_every:
                    alert.reminders += 1
                    announce(alert, "repeat", alert.reminders)
            elif alert.streak >= settings.for_runs:
                alert.state, alert.is_new = FIRING, True
                announce(alert, "firing")
            else:
                alert.state, alert.is_new = PENDING, False
            result.changed.append(alert)

        for state in previous.values():
            if state.rule != outcome.rule or state.fingerprint in holding_now:
                continue
            if state.state not in (PENDING, FIRING):
                continue
            series = series_identity(state.metric, state.dimensions, labels)
            if state.condition == VALUE:
                if not outcome.evaluated or series not in outcome.measured:
                    continue  # not measured this run: nothing is known
            elif state.condition not in outcome.conditions_cleared:
                continue
            alert = alert_from_state(state)
            same_period = period_end is not None and state.period_end == period_end
            alert.period_end = period_end
            if state.state == PENDING:
                alert.state, alert.streak = INACTIVE, 0
            elif state.condition == VALUE and series in holding_series:
                # A second alert of a series announced under another id (rows listed once per
                # client and once overall before they named their client): over, said by none.
                # Its item is closed (task outputs) unless a silence covers it, as for any resolution.
                alert.state, alert.streak = RESOLVED, 0
                silence = silencing(silences, alert, workflow, now) if state.notified_at is not None else None
                alert.silenced_by = silence.id if silence is not None else alert.silenced_by
                alert.superseded = state.notified_at is not None and silence is None
            else:
                # The first run without the condition always counts; re-runs of that period do not.
                alert.clear_streak = state.clear_streak + (0 if same_period and state.clear_streak else 1)
                if alert.clear_streak <= settings.keep_firing_for:
                    alert.state = FIRING  # still firing: flap protection
                else:
                    alert.state, alert.streak = RESOLVED, 0
                    alert.summary = state.summary
                    if state.notified_at is not None:  # only tell about the end of what was told
                        announce(alert, "resolved")
            result.changed.append(alert)
    return result


def alert_from_state(state: "AlertState") -> Alert:
    """A stored alert state as an :class:`Alert` (not new at this run)."""
    return Alert(**state.series_fields(), **state.episode_fields(), is_new=False, key=state.fingerprint)

