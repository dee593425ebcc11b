"""Reporting periods: what "last week" means, in the workflow's time zone, and what to compare with.

A period is a range of whole local days, ``start`` to ``end`` inclusive, in an IANA time zone.
Records are placed in it by their instant (posts) or by their local date (daily snapshots).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

CURRENT = "current"
PREVIOUS_PERIOD = "previous_period"
SAME_PERIOD_LAST_YEAR = "same_period_last_year"
COMPARISONS = (PREVIOUS_PERIOD, SAME_PERIOD_LAST_YEAR)
HISTORY = "history-"
"""Label prefix of the periods before the current one a trigger reads: history-1, history-2 ..."""

# Patterns, compiled by re on first use: only a period of days or dates needs them.
_DAYS = r"^(\d{1,4})d$"
_RANGE = r"^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$"

PERIOD_HELP = (
    "last_week, last_month, last_quarter, last_year, yesterday, Nd (the last N complete days, "
    "e.g. 7d) or YYYY-MM-DD..YYYY-MM-DD (both days included)"
)


FIRST_DAY = date(1, 1, 2)
LAST_DAY = date(9999, 12, 30)
"""A period lies within these days, so that its bounds exist as instants in every time zone."""
CALENDAR = "the calendar cmflow counts in (years 1 to 9999)"


class PeriodError(ValueError):
    """A period or time zone that cannot be understood, or one outside the calendar."""


@dataclass(frozen=True)
class Period:
    """Whole local days from ``start`` to ``end`` (inclusive) in time zone ``tz``."""

    start: date
    end: date
    tz: str
    label: str = CURRENT
    unit: str = "days"
    """week, month, quarter, year or days: how the previous period is found."""

    @classmethod
    def parse(cls, spec: str, tz: str, today: date) -> Period:
        """The period a workflow's ``period`` spec (``last_week``, ``yesterday`` ...) names,
        relative to ``today`` (a local date); see :func:`parse_period`."""
        return parse_period(spec, tz, today)

    def __post_init__(self) -> None:
        if self.start < FIRST_DAY or self.end > LAST_DAY:
            raise PeriodError(f"the period {self} falls outside {CALENDAR}")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def start_utc(self) -> datetime:
        return datetime.combine(self.start, time(), ZoneInfo(self.tz)).astimezone(timezone.utc)

    @property
    def end_utc(self) -> datetime:
        """The first instant after the period (exclusive bound)."""
        next_day = self.end + timedelta(days=1)
        return datetime.combine(next_day, time(), ZoneInfo(self.tz)).astimezone(timezone.utc)

    def __str__(self) -> str:
        return f"{self.start.isoformat()}..{self.end.isoformat()}"

    def history(self, count: int) -> list["Period"]:
        """The ``count`` periods before this one, latest first, labelled ``history-1`` ..."""
        periods, period = [], self
        for index in range(1, count + 1):
            try:
                period = replace(period.comparison(PREVIOUS_PERIOD), label=f"{HISTORY}{index}")
            except PeriodError:  # the calendar's first days: there is no history before them
                break
            periods.append(period)
        return periods

    def comparison(self, which: str) -> "Period":
        """The period to compare with: ``previous_period`` or ``same_period_last_year``.

        Raise :class:`PeriodError` when it would fall outside the calendar (a period in year 1).
        """
        if which not in COMPARISONS:
            raise PeriodError(f"unknown comparison {which!r}; use one of {', '.join(COMPARISONS)}")
        try:
            return self._comparison(which)
        except (OverflowError, ValueError):
            raise PeriodError(f"the {which.replace('_', ' ')} of {self} would fall outside {CALENDAR}; "
                              f"choose a later period or remove {which!r} from compare") from None

    def _comparison(self, which: str) -> "Period":
        if which == PREVIOUS_PERIOD:
            if self.unit == "month":
                start = _add_months(self.start, -1)
                return replace(self, start=start, end=_month_end(start), label=which)
            if self.unit == "quarter":
                start = _add_months(self.start, -3)
                return replace(self, start=start, end=_month_end(_add_months(start, 2)), label=which)
            if self.unit == "year":
                start = self.start.replace(year=self.start.year - 1)
                return replace(self, start=start, end=date(start.year, 12, 31), label=which)
            shift = timedelta(days=self.days)
            return replace(self, start=self.start - shift, end=self.end - shift, label=which)
        if which == SAME_PERIOD_LAST_YEAR:
            if self.unit == "week":
                # 52 weeks back keeps weekdays aligned: Monday compares with a Monday.
                shift = timedelta(weeks=52)
                return replace(self, start=self.start - shift, end=self.end - shift, label=which)
            if self.unit in ("month", "quarter", "year"):
                # Whole months stay whole: February 2025 compares with all of February 2024.
                end = _month_end(_minus_year(self.end.replace(day=1)))
                return replace(self, start=_minus_year(self.start), end=end, label=which)
        return replace(self, start=_minus_year(self.start), end=_minus_year(self.end), label=which)


def check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        import difflib
        from zoneinfo import available_timezones

        close = difflib.get_close_matches(name, sorted(available_timezones()), n=1, cutoff=0.6)
        hint = f"did you mean {close[0]!r}?" if close else "use an IANA name such as Europe/Paris"
        raise PeriodError(f"unknown time zone {name!r} ({hint})") from exc
    return name


def today_in(tz: str, now: datetime | None = None) -> date:
    now = now or datetime.now(timezone.utc)
    return now.astimezone(ZoneInfo(tz)).date()


def check_period_spec(spec: str) -> None:
    """Raise :class:`PeriodError` if ``spec`` is not a period cmflow understands."""
    parse_period(spec, "UTC", date(2000, 1, 1))


def parse_period(spec: str, tz: str, today: date) -> Period:
    """Resolve a period spec such as ``last_week`` relative to ``today`` (a local date).

    Raise :class:`PeriodError` for a spec cmflow does not know or a period outside the calendar.
    """
    spec = spec.strip()
    try:
        return _parse_period(spec, tz, today)
    except PeriodError:
        raise
    except (OverflowError, ValueError):  # e.g. last_week counted from 0001-01-03
        raise PeriodError(f"period {spec!r} counted from {today} falls outside {CALENDAR}") from None


def _parse_period(spec: str, tz: str, today: date) -> Period:
    if spec == "last_week":
        monday = today - timedelta(days=today.weekday())
        return Period(monday - timedelta(days=7), monday - timedelta(days=1), tz, unit="week")
    if spec == "last_month":
        first = today.replace(day=1)
        start = _add_months(first, -1)
        return Period(start, first - timedelta(days=1), tz, unit="month")
    if spec == "last_quarter":
        first = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
        start = _add_months(first, -3)
        return Period(start, first - timedelta(days=1), tz, unit="quarter")
    if spec == "last_year":
        return Period(date(today.year - 1, 1, 1), date(today.year - 1, 12, 31), tz, unit="year")
    if spec == "yesterday":
        day = today - timedelta(days=1)
        return Period(day, day, tz)
    if match := re.match(_DAYS, spec):
        days = int(match.group(1))
        if days < 1:
            raise PeriodError(f"period {spec!r} must cover at least one day")
        return Period(today - timedelta(days=days), today - timedelta(days=1), tz)
    if match := re.match(_RANGE, spec):
        try:
            start, end = date.fromisoformat(match.group(1)), date.fromisoformat(match.group(2))
        except ValueError as exc:
            raise PeriodError(f"period {spec!r}: {exc}") from exc
        if end < start:
            raise PeriodError(f"period {spec!r} ends before it starts; did you mean "
                              f"{end.isoformat()}..{start.isoformat()}?")
        return Period(start, end, tz, unit=_unit_of_range(start, end))
    raise PeriodError(f"unknown period {spec!r}; use {PERIOD_HELP}")


def _unit_of_range(start: date, end: date) -> str:
    """An explicit range that is exactly a calendar month compares with the previous month."""
    if start.day == 1 and end == _month_end(start):
        return "month"
    if start.weekday() == 0 and (end - start).days == 6:
        return "week"
    return "days"


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def _month_end(day: date) -> date:
    return date(day.year, day.month, calendar.monthrange(day.year, day.month)[1])


def _minus_year(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)
