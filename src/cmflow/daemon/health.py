"""Is each workflow healthy? What ``cmflow status`` shows, and the daemon's health alerts.

A workflow's health is read from its run history against its own slots (a weekday schedule's
weekend is no gap), and tells *quiet* from *broken*:

- ``ok``: the last run succeeded and brought records recently.
- ``quiet``: the runs succeed (the platforms answer) but no record came for ``stale_after``
  slots: the account is not posting, nothing is broken. No alert.
- ``failing``: the latest runs failed (failed, crashed, timed out, interrupted); at
  ``failures`` in a row it raises a health alert.
- ``stale``: no run succeeded for ``stale_after`` slots: data is not coming in. Alert.
- ``overdue``: a slot passed and was not run (is the daemon running?).
- ``running``: a run is under way now (and nothing above is wrong).
- ``waiting``: scheduled, never run yet; ``manual``: no schedule; ``invalid``: the file does not
  validate (its previous version may still run).

Health alerts go through the same lifecycle, store and outbox as every alert, under the
workflow key ``cmflow-daemon``, to the outputs of the daemon's settings file.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Sequence

from cmflow.foundation.alerts import Alert
from cmflow.foundation.durations import format_duration
from cmflow.stages.lifecycle import RuleOutcome, RuleSettings, advance, dimension_key
from cmflow.foundation.schedules import slots_between
from cmflow.store import FAILED_STATUSES, RunRecord
from cmflow.daemon.settings import HEALTH_WORKFLOW_ID, HealthOptions

if TYPE_CHECKING:
    from cmflow.store import RunLockHold, Store
    from cmflow.workflow import Workflow
    from cmflow.daemon.catalog import ScheduledWorkflow

log = logging.getLogger("cmflow.daemon")

SUCCESS_STATUSES = ("ok", "warning", "undelivered")
"""The data came in (an undelivered message is the outbox's business, not the data's)."""
OVERDUE_AFTER = timedelta(minutes=15)
"""A slot not run this long after it passed makes the workflow overdue."""
RUNS_READ = 200
"""How much run history an assessment reads at most."""
RUNS_READ_FIRST = 10
"""How many runs an assessment reads first: enough when they hold a success and a run that brought
records, as a healthy workflow's do; only otherwise does it read :data:`RUNS_READ` (issue 16:
reading the whole window at each run's end made the daemon's work grow with the history)."""
FAILING_RULE, STALE_RULE = "workflow_failing", "workflow_stale"


@dataclass
class WorkflowHealth:
    """One workflow's health at one instant."""

    key: str
    name: str
    file: str
    schedule: str | None
    state: str
    detail: str
    last_run: RunRecord | None = None
    last_success: datetime | None = None
    last_data: datetime | None = None
    next_slot: datetime | None = None
    consecutive_failures: int = 0
    alerting: bool = False
    """Whether this state raises a health alert (failing enough times, or stale)."""


def slots_passed(sw: "ScheduledWorkflow", since: datetime, until: datetime, enough: int) -> int:
    """How many of the workflow's slots fell in ``(since, until]``, counting no further than ``enough``."""
    assert sw.timetable is not None
    count, slot = 0, since
    while count < enough:
        slot = sw.timetable.next_after(slot, sw.tz)
        if slot > until:
            break
        count += 1
    return count


def assess(sw: "ScheduledWorkflow", runs: Sequence[RunRecord], now: datetime, options: HealthOptions,
           last_handled: datetime | None = None, under_way: RunRecord | None = None) -> WorkflowHealth:
    """The health of one workflow from its runs (newest first); ``under_way``: a run holding the
    workflow's lock now (``running`` instead of ``ok``, ``quiet``, ``waiting`` or ``overdue``)."""
    health = _assess_finished(sw, runs, now, options, last_handled)
    if under_way is not None:
        since = f"run under way since {under_way.started_at:%H:%M} UTC ({_age(now - under_way.started_at)})"
        if health.state in ("ok", "quiet", "waiting", "overdue"):
            health.state, health.detail = "running", since
        else:
            health.detail += f"; {since}"
    return health


def _assess_finished(sw: "ScheduledWorkflow", runs: Sequence[RunRecord], now: datetime, options: HealthOptions,
                     last_handled: datetime | None) -> WorkflowHealth:
    finished = _finished(runs)
    health = WorkflowHealth(sw.key, sw.workflow.name, str(sw.file),
                            str(sw.timetable) if sw.timetable else None, "ok", "")
    health.last_run = finished[0] if finished else None
    health.consecutive_failures = next((i for i, r in enumerate(finished) if r.status not in FAILED_STATUSES),
                                       len(finished))
    success = next((r for r in finished if r.status in SUCCESS_STATUSES), None)
    data = next((r for r in finished if r.records > 0), None)
    # When the data came in, not the slot the run was for: a run that starts late (a backlog)
    # brings fresh data all the same.
    health.last_success = (success.finished_at or success.started_at) if success else None
    health.last_data = data.started_at if data else None
    if sw.timetable is None:
        health.state, health.detail = "manual", "no schedule: runs only by hand"
        return health
    health.next_slot = sw.timetable.next_after(now, sw.tz)
    # Stale and quiet count the schedule's own slots (a weekday schedule's weekend, a schedule
    # for the first quarter only, are no missing data); each slot's run gets OVERDUE_AFTER.
    needed, settled = math.ceil(options.stale_after), now - OVERDUE_AFTER
    failures = health.consecutive_failures
    last_error = (health.last_run.error or health.last_run.status) if health.last_run else ""
    owed = slots_between(sw.timetable, last_handled, now - OVERDUE_AFTER, sw.tz)[:1] if last_handled else []
    if not finished:
        health.state, health.detail = "waiting", "not run yet"
        if owed:
            health.state, health.detail = "overdue", f"slot {owed[0]:%Y-%m-%d %H:%M} UTC was not run"
        return health
    since_success = now - (health.last_success or finished[-1].started_at)
    stale = slots_passed(sw, health.last_success or finished[-1].started_at, settled, needed) >= needed
    if failures >= options.failures:
        health.state, health.alerting = "failing", True
        health.detail = f"{failures} failed run{'s' if failures > 1 else ''} in a row; last: {last_error}"
    elif stale:
        health.state, health.alerting = "stale", True
        health.detail = f"no successful run for {_age(since_success)} ({needed}+ slots)"
    elif failures:
        health.state = "failing"
        health.detail = f"{failures} failed run{'s' if failures > 1 else ''}; last: {last_error}"
    elif owed:
        health.state, health.detail = "overdue", f"slot {owed[0]:%Y-%m-%d %H:%M} UTC was not run"
    elif health.last_data is None or slots_passed(sw, health.last_data, settled, needed) >= needed:
        health.state = "quiet"
        health.detail = ("the sources answer but brought no record for "
                         + (_age(now - health.last_data) if health.last_data else "any run so far"))
    else:
        health.detail = f"last data {_age(now - health.last_data)} ago"
    return health


def assess_in_store(sw: "ScheduledWorkflow", store: "Store", now: datetime, options: HealthOptions,
                    last_handled: "datetime | None") -> WorkflowHealth:
    """:func:`assess` with the workflow's recent runs and lock read from ``store``; its
    ``last_handled`` slot is given, as read for many workflows at once
    (:meth:`~cmflow.store.Store.last_handled_slots`)."""
    from cmflow.store import this_host

    runs = store.runs(sw.key, RUNS_READ_FIRST)
    if len(runs) == RUNS_READ_FIRST and not _answers(runs):
        runs = store.runs(sw.key, RUNS_READ)
    newest = runs[0] if runs else None
    under_way = newest if newest is not None and newest.status == "running" and not newest.dry_run \
        and store.run_lock_held(sw.key, this_host()) else None
    return assess(sw, runs, now, options, last_handled, under_way)


def _finished(runs: Sequence[RunRecord]) -> list[RunRecord]:
    """The runs health is read from: ended, not dry."""
    return [r for r in runs if not r.dry_run and r.status != "running"]


def _answers(runs: Sequence[RunRecord]) -> bool:
    """Whether the newest ``runs`` assess as the whole window would: they hold the last success
    (which ends the failures in a row and makes the oldest run's date unused) and the last data."""
    finished = _finished(runs)
    return any(r.status in SUCCESS_STATUSES for r in finished) and any(r.records > 0 for r in finished)


@dataclass
class HealthAlerts:
    """What one assessment changed in the health alerts, to record and announce."""

    changed: list[Alert]
    notifications: list
    firing: list[Alert]


def health_alerts(store: "Store", reports: Sequence[WorkflowHealth], now: datetime,
                  options: HealthOptions, watched: set[str]) -> HealthAlerts:
    """Move the health alerts of the workflows assessed one step through the alert lifecycle;
    those of workflows no longer ``watched`` (their file is gone) resolve."""
    from cmflow.foundation.alerts import FIRING

    previous = store.alert_states(HEALTH_WORKFLOW_ID)
    failing, stale = [], []
    measured = set()
    for report in reports:
        dims = {"workflow_id": report.key}  # ("workflow" is the label of the alert's own workflow)
        measured.add(("consecutive_failures", dimension_key(dims)))
        measured.add(("hours_since_success", dimension_key(dims)))
        if report.alerting and report.state == "failing":
            failing.append(Alert(FAILING_RULE, "consecutive_failures", dims,
                                 f"{report.name}: {report.detail}", options.severity,
                                 float(report.consecutive_failures)))
        elif report.alerting and report.state == "stale":
            age = (now - report.last_success).total_seconds() / 3600 if report.last_success else None
            stale.append(Alert(STALE_RULE, "hours_since_success", dims, f"{report.name}: {report.detail}",
                               options.severity, age))
    for state in previous.values():  # a workflow no longer watched resolves its health alerts
        if state.dimensions.get("workflow_id") not in watched:
            measured.add((state.metric, dimension_key(state.dimensions)))
    if not (failing or stale or previous):  # nothing holds and nothing was: nothing can move
        return HealthAlerts([], [], [])
    outcomes = [RuleOutcome(FAILING_RULE, RuleSettings(), failing, measured),
                RuleOutcome(STALE_RULE, RuleSettings(), stale, measured)]
    moved = advance(outcomes, previous, now, store.silences(active_at=now), HEALTH_WORKFLOW_ID)
    # Only transitions are written: an alert still firing at each check is not news (and would
    # add a run to the history every few minutes).
    announced = {n.alert.fingerprint for n in moved.notifications}
    changed = [a for a in moved.changed if a.fingerprint in announced or a.fingerprint not in previous
               or previous[a.fingerprint].state != a.state]
    firing = [a for a in changed if a.state == FIRING]
    return HealthAlerts(changed, moved.notifications, firing)


HEALTH_RUN_LONGEST = timedelta(minutes=5)
"""The longest a health run holds the ``cmflow-daemon`` run lock (it takes milliseconds): a
daemon hung in one lets the next check, on any daemon, go after this long."""


def advance_health(store: "Store", workflow: "Workflow | None", settings_file: str,
                   reports: Sequence[WorkflowHealth], now: datetime, options: HealthOptions, watched: set[str],
                   *, lease: timedelta) -> HealthAlerts | None:
    """Move the health alerts on (:func:`health_alerts`) and record what changed
    (:func:`record_health_alerts`), as one run of the ``cmflow-daemon`` workflow under its run
    lock, held with ``lease`` (``[daemon] run_lock_lease``): the health run writes alert states
    and queues messages from the states it read, like any run, so two daemons that both think
    they schedule (one paused past its lease, then resumed) never both move the same alerts on
    and announce them twice, and a health run that lost its lock keeps nothing (its writes are
    fenced as a workflow run's are). Returns what changed and was recorded; when nothing would
    change, the preview read without the lock (its ``changed`` empty, its ``firing`` current);
    None when another daemon's health run holds the lock, or this one lost it: the next check
    does it.

    The alerts are first moved on without the lock, reading only: when nothing would change
    (the common case, healthy workflows), nothing is written, not even the lock (issue 16: the
    lock's two writes after every run were most of what a quiet daemon wrote)."""
    from cmflow.foundation.stopping import StopRequest
    from cmflow.stages.run_lock import held_run_lock
    from cmflow.store import RunLockLost, WorkflowBusy

    preview = health_alerts(store, reports, now, options, watched)
    if not preview.changed:
        return preview
    try:
        with held_run_lock(store, HEALTH_WORKFLOW_ID, lease=lease, longest=HEALTH_RUN_LONGEST,
                           stop=StopRequest()) as hold:
            alerts = health_alerts(store, reports, now, options, watched)
            record_health_alerts(store, workflow, settings_file, alerts, now, lock=hold)
    except WorkflowBusy as busy:
        log.info("health alerts not moved on this time: %s", busy, extra={"event": "health_busy"})
        return None
    except RunLockLost as lost:
        log.warning("health alerts not recorded: %s; the next check records them", lost,
                    extra={"event": "health_busy"})
        return None
    return alerts


def record_health_alerts(store: "Store", workflow: "Workflow | None", settings_file: str,
                         alerts: HealthAlerts, now: datetime, *, lock: "RunLockHold | None" = None) -> int | None:
    """Write the changed health alerts (and their messages, if the daemon has outputs) in one
    transaction, as a run of the ``cmflow-daemon`` workflow; return the run's id. With the
    ``cmflow-daemon`` run ``lock`` (see :func:`advance_health`), its writes are fenced by it:
    once lost, nothing is kept, the run is recorded ``interrupted`` and
    :class:`~cmflow.store.RunLockLost` raised."""
    if not alerts.changed:
        return None
    from cmflow.foundation.periods import Period
    from cmflow.plugins.result import RunResult
    from cmflow.stages.compose import compose
    from cmflow.store import RunLockLost

    today = now.date()
    run_id = store.start_run(HEALTH_WORKFLOW_ID, settings_file, today, today, False, lock=lock)
    messages = []
    if workflow is not None:
        result = RunResult(workflow, Period(today, today, "UTC"), [], now, False, run_id=run_id)
        result.alerts = alerts.firing
        result.resolved = [a for a in alerts.changed if a.state == "resolved"]
        result.alert_changes = alerts.changed
        result.notifications = alerts.notifications
        messages = compose(workflow, result).messages
    try:
        store.commit_run(run_id, workflow=HEALTH_WORKFLOW_ID, measurements=None, alerts=alerts.changed,
                         messages=messages, now=now)
    except RunLockLost as lost:
        store.finish_run(run_id, status="interrupted", stats={}, error=str(lost))
        raise
    store.finish_run(run_id, status="ok", stats={"alerts_firing": len(alerts.firing),
                                                 "notifications": len(alerts.notifications)}, error=None)
    return run_id


def _age(delta: timedelta) -> str:
    rounded = timedelta(minutes=round(delta.total_seconds() / 60)) if delta < timedelta(days=2) \
        else timedelta(hours=round(delta.total_seconds() / 3600))
    return format_duration(rounded) if rounded else "0m"
