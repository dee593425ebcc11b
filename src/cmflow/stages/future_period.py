"""The future_period stage: a run's period that starts after the day the run counts as today.

No export holds a day after it was made, so the figures of a period that has not begun come from
no record or from wrongly dated ones (a wrong year, day and month swapped), and would be shown as
a quiet month. A warning, not an error: a workflow reading plans (calendar items are dated ahead)
may look at a coming week on purpose, and the run's other figures stand; the run ends
``warning`` and the message names the period, the day and what to change.

Takes the workflow, the run's current period, the day the run counts as today (``cmflow run
--as-of``, the workflow's ``as_of``, else the clock's day in the workflow's time zone) and the
clock; returns a report of kind ``period`` with the warning, or none.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from cmflow.foundation.periods import today_in
from cmflow.foundation.run_warnings import RunWarning
from cmflow.plugins.result import StageReport
from cmflow.stages.run_periods import run_today

if TYPE_CHECKING:
    from cmflow.foundation.periods import Period
    from cmflow.workflow import Workflow


AS_OF_SLACK = timedelta(days=1)
"""How far the run's as-of day may be after the clock's day before it is called ahead of the
clock (a day of time-zone slack)."""


def future_period(workflow: "Workflow", period: "Period", as_of_day: date | None, now: datetime) -> list[StageReport]:
    """A warning when ``period`` starts after the run's today, and one when the as-of day of
    ``cmflow run --as-of`` is more than a day after the clock's (no file read today holds its days)."""
    today = run_today(workflow, as_of_day, now)
    clock_day = today_in(workflow.settings.timezone, now)
    report = StageReport("period", "period", "period")
    # a workflow pinned to a day after the clock (a golden case) is taken at its word; --as-of is not
    if as_of_day is not None and as_of_day != workflow.settings.as_of and as_of_day > clock_day + AS_OF_SLACK:
        report.warnings.append(RunWarning(
            f"{workflow.file.name}: the as-of day {as_of_day.isoformat()} is after {clock_day.isoformat()}, the "
            "clock's day: the files read today hold no day after it, so the figures of the days between are "
            "empty; check --as-of (or the workflow's as_of) and its year",
            "as_of_after_clock", {"file": workflow.file.name, "day": as_of_day, "clock_day": clock_day,
                                    "option": "--as-of", "setting": "as_of"}))
    if period.start > today:
        report.warnings.append(RunWarning(
            f"{workflow.file.name}: the period {period} starts after {today.isoformat()}, the day this run counts "
            "as today: no export holds a day that has not come, so its figures are empty or come from wrongly "
            "dated records; check `period` (or cmflow run --period) and the year, or --as-of",
            "period_after_as_of", {"file": workflow.file.name, "period": [(period.start, period.end)], "day": today}))
    return [report] if report.warnings else []
