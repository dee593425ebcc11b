"""The missing_days stage: a day missing from an account's daily activity is said, not summed as 0.

Daily account activity (TikTok Studio's overview, LinkedIn's Metrics sheet, an export of one row
per day) is summed over a period: a day the export lacks lowers the period's impressions and likes
without a word, and the comparison with a full week reads as a fall (-27 % for one day of seven).
For each account of each source, the days of the run's period, between the account's first and
last day of activity, that have no record are a warning on the source: the account, the days, and
what to do, when the account's rows are a daily series (at most a quarter of the days from its
first row to its last absent); rows scattered over the days (only the days an account lost
followers) are not. It runs after the sources' and clients' filters: an account a ``where`` leaves
out is not said. Days before the account's first or after its last record are not said: a period the
data does not reach has no value (:mod:`cmflow.stages.uncovered_periods`), and an export may end
before the period does. The periods compared with are not looked at: an agency folder often holds
exports of separate ranges (last November's, this quarter's), whose in-between days are no
export's, not missing from one.

Takes the workflow, the periods and what the filter_rows and clients stages made; returns it with
the warnings added to the sources' reports.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import TYPE_CHECKING

from cmflow.foundation.periods import CURRENT
from cmflow.foundation.records import ACCOUNT_ACTIVITY
from cmflow.foundation.run_warnings import RunWarning
from cmflow.stages.fetch import Fetched

if TYPE_CHECKING:
    from cmflow.foundation.periods import Period
    from cmflow.workflow import Workflow


def missing_days(workflow: "Workflow", periods: list["Period"], fetched: Fetched) -> Fetched:
    """``fetched`` with a warning on each source whose accounts' daily activity misses days of the periods."""
    import polars as pl

    frame = fetched.records.get(ACCOUNT_ACTIVITY.name)
    current = [period for period in periods if period.label == CURRENT]
    if frame is None or frame.height == 0 or not current:
        return fetched
    days = (frame.lazy().filter(pl.col("date").is_not_null())
            .group_by("source_id", "platform", "account", maintain_order=True)
            .agg(pl.col("date").unique().sort()).collect())
    warnings: dict[str, list[RunWarning]] = {}
    for source_id, platform, account, dates in days.iter_rows():
        missing = _missing(dates, current)
        if missing:
            warnings.setdefault(source_id, []).append(_warning(workflow, source_id, platform, account, missing))
    if not warnings:
        return fetched
    reports = [replace(report, warnings=[*report.warnings, *warnings[report.id]]) if report.id in warnings else report
               for report in fetched.reports]
    return replace(fetched, reports=reports)


SCATTERED_SHARE = 0.25
"""Above this share of the days from the account's first row to its last missing, its rows are
taken for the days something happened (a tool listing the days an account lost followers), not
for a daily series that lost days: nothing is said."""


def _missing(dates: list[date], periods: list["Period"]) -> list[tuple[date, date]]:
    """The runs of days from ``dates``' first to last without a date, within one of ``periods``;
    none when the dates are scattered over the account's whole span (:data:`SCATTERED_SHARE`)."""
    first, last, present = dates[0], dates[-1], set(dates)
    if (last - first).days + 1 - len(present) > SCATTERED_SHARE * ((last - first).days + 1):
        return []
    within = set()
    for period in periods:
        start, end = max(period.start, first), min(period.end, last)
        within.update(start + timedelta(days=n) for n in range((end - start).days + 1))
    absent = within - present
    if not absent:
        return []
    gaps: list[tuple[date, date]] = []
    for day in sorted(absent):
        if gaps and gaps[-1][1] + timedelta(days=1) == day:
            gaps[-1] = (gaps[-1][0], day)
        else:
            gaps.append((day, day))
    return gaps


def _warning(workflow: "Workflow", source_id: str, platform: str | None, account: str | None,
             gaps: list[tuple[date, date]]) -> RunWarning:
    days = ", ".join(f"{a:%Y-%m-%d}" if a == b else f"{a:%Y-%m-%d}..{b:%Y-%m-%d}" for a, b in gaps)
    count = sum((b - a).days + 1 for a, b in gaps)
    who = " ".join(part for part in (platform, account) if part) or "an account"
    return RunWarning(
        f"{workflow.file.name}: source {source_id!r}: {who} has no daily activity on {days} ({count} "
        f"day{'s' if count != 1 else ''} missing between its first and last day): the totals of the periods "
        "holding these days leave them out, as a missing day is not a 0; export those days again",
        "missing_activity_days",
        {"file": workflow.file.name, "source": source_id, "account": who, "days": gaps, "count": count})
