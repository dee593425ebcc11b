"""The periods of a run: the current one, those it is compared with, and the earlier ones its
triggers need as history. Resolved before the run starts, so that a period outside the calendar
is refused before anything is fetched or recorded."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from cmflow.foundation.periods import parse_period, today_in

if TYPE_CHECKING:
    from cmflow.foundation.periods import Period
    from cmflow.store import Store
    from cmflow.workflow import Workflow


def resolve_period(workflow: "Workflow", spec: str | None = None, as_of: date | None = None,
                   now: datetime | None = None) -> "Period":
    """The run's current period: ``spec`` (or the workflow's) counted from ``as_of`` (or today).

    Raise :class:`~cmflow.foundation.periods.PeriodError` if it, or a period it is compared with, falls
    outside the calendar: before the run starts, not in the middle of it.
    """
    tz = workflow.settings.timezone
    today = as_of or workflow.settings.as_of or today_in(tz, now)
    period = parse_period(spec or workflow.settings.period, tz, today)
    for which in workflow.settings.compare:
        period.comparison(which)
    return period


def judged_at(tz: str, as_of: date | None, clock: datetime) -> datetime:
    """The instant the metrics count as now: the end of the ``as_of`` day in ``tz`` (midnight
    starting the next day), or the run's ``clock`` when that is earlier or no day is given."""
    if as_of is None:
        return clock
    end = datetime.combine(as_of + timedelta(days=1), datetime.min.time(), ZoneInfo(tz)).astimezone(timezone.utc)
    return min(end, clock)


def run_periods(workflow: "Workflow", period: "Period") -> tuple[list["Period"], list["Period"]]:
    """The comparison periods of the workflow, and every period the run measures: the current
    one first, then the comparison periods, then the history its triggers and outputs ask for."""
    comparison_periods = [period.comparison(c) for c in workflow.settings.compare]
    history = max([entry.plugin.history_needed() for entry in (*workflow.triggers, *workflow.outputs)] or [0])
    return comparison_periods, [period, *comparison_periods, *period.history(history)]


def run_today(workflow: "Workflow", as_of_day: date | None, now: datetime) -> date:
    """The day the run counts as today: the as-of day, else the clock's day in the workflow's zone."""
    return as_of_day or today_in(workflow.settings.timezone, now)


def period_ahead(workflow: "Workflow", period: "Period", as_of_day: date | None, now: datetime) -> bool:
    """Whether ``period`` starts after the run's today (a run of it is no back-fill)."""
    return period.start > run_today(workflow, as_of_day, now)


def past_period(workflow: "Workflow", period: "Period", store: "Store | None", as_of_day: date | None,
                now: datetime) -> bool:
    """Whether the run is a back-fill: ``period`` ends before the latest one the store has
    measured for the workflow, and has begun (a coming period is no past one)."""
    latest = store.latest_period_end(workflow.key) if store is not None else None
    return latest is not None and period.end < latest and not period_ahead(workflow, period, as_of_day, now)
