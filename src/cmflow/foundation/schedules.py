"""Schedules: when the daemon runs a workflow, counted on the workflow's local clock.

A schedule is read once from its text (:func:`parse_schedule`): a human form such as
``every monday at 09:00`` or a 5-field cron expression. Its slots come from the schedule and the
IANA time zone alone, never from when a run ended, so they do not drift. :func:`catch_up`
decides what to run after downtime. Everything here is pure: instants go in and come out as
aware UTC datetimes, so tests need no clock. The rules are explained in ``docs/schedules.md``.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_left
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Iterator, Literal, Sequence, Union
from zoneinfo import ZoneInfo

from cmflow.foundation.periods import PeriodError, check_timezone

UTC = timezone.utc
MINUTES_PER_DAY = 24 * 60
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
"""In Python's ``date.weekday()`` order: Monday is 0."""
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")

FORMS = (
    "every monday at 09:00", "every monday and thursday at 09:00", "every day at 08:30",
    "every weekday at 07:45", "every weekend at 10:00", "every month on day 1 at 09:00",
    "every 6 hours", "every 15 minutes", "every hour",
)
"""The human forms, as examples; cron expressions are accepted too."""
FORMS_HELP = ", ".join(f"'{form}'" for form in FORMS) + " or a cron expression such as '0 9 * * 1'"

CatchUpPolicy = Literal["skip", "latest", "all"]
CATCH_UP_POLICIES: tuple[str, ...] = ("skip", "latest", "all")
ON_TIME = timedelta(minutes=1)
"""A slot started at most this late counts as on time, not missed: the daemon wakes a little
after each slot, and even the ``skip`` policy must run that slot."""

_SEARCH_DAYS = 9 * 366
"""Far enough ahead to find any slot that exists: 29 February can be 8 years away (2096 -> 2104)."""
_PROBE_STEP = timedelta(days=1)
"""Offset changes are searched day by day; no zone changes its offset twice in one day."""
_CRON_MACROS = {
    "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
}
_CRON_FIELDS = (  # name, lowest, highest, names of the values from the lowest
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of month", 1, 31, ()),
    ("month", 1, 12, MONTHS),
    ("day of week", 0, 7, ("sun", "mon", "tue", "wed", "thu", "fri", "sat")),
)
_CRON_HELP = ("cron expressions have 5 fields: minute hour day-of-month month day-of-week, "
              "e.g. '0 9 * * 1' is every Monday at 09:00")
_DAY_WORDS = ("day", "weekday", "weekend", *WEEKDAYS)
_UNIT_WORDS = ("minutes", "hours", "minute", "hour")


class ScheduleError(ValueError):
    """A schedule (or its time zone) that cannot be understood; the message says what would be."""


@dataclass(frozen=True)
class Schedule:
    """The local wall-clock times a workflow runs at, and how they behave when clocks change.

    Built by :func:`parse_schedule`. A day matches when its month is in ``months`` and its day
    of month and weekday match (or, for a cron expression restricting both, either matches).
    """

    text: str
    """The schedule as written."""
    times_of_day: tuple[int, ...]
    """Sorted local times the schedule fires at on a matching day, in minutes after midnight."""
    months: frozenset[int]
    days_of_month: frozenset[int]
    weekdays: frozenset[int]
    """Monday is 0."""
    either_day: bool = False
    """Cron's rule when both day fields are restricted: a day matches if either field does."""
    repeating: bool = False
    """Interval forms and cron expressions starting their minute or hour field with ``*``. On
    DST change days they follow the clock (a repeated hour repeats them, a skipped hour skips
    them); fixed times run once on both days. See :meth:`next_after`."""

    def __str__(self) -> str:
        return self.text

    def next_after(self, instant: datetime, tz: str) -> datetime:
        """The first slot strictly after ``instant``, counted on the local clock of ``tz``.

        On the spring-forward day a fixed time the clock skips (02:30 in Europe/Paris) runs once,
        at the first instant after the gap (03:00 local); on the fall-back day a fixed time the
        clock shows twice (01:30 in America/New_York) runs once, the first time. Repeating
        schedules follow the clock: they skip the skipped wall times and repeat in the repeated
        hour, so ``every 15 minutes`` stays 15 real minutes apart through both changes.
        """
        zone = _zone(tz)
        lower, inclusive = _as_utc(instant, "instant"), False
        while True:  # once per stretch of constant UTC offset between lower and the slot
            offset = _offset(zone, lower)
            wall_lower = lower.astimezone(zone).replace(tzinfo=None)
            wall = self._first_wall_from(wall_lower if inclusive else wall_lower + _TICK)
            while True:
                candidate = (wall - offset).replace(tzinfo=UTC)
                change = _next_offset_change(zone, lower, candidate, offset)
                if change is not None:
                    break
                if self.repeating or _first_occurrence(zone, wall) == candidate:
                    return candidate
                wall = self._first_wall_from(wall + _TICK)  # a fixed time's second showing
            new_offset = _offset(zone, change)
            if new_offset > offset and not self.repeating:
                # Wall times from change+offset to change+new_offset do not exist that day.
                skipped = self._first_wall_from((change + offset).replace(tzinfo=None))
                if skipped < (change + new_offset).replace(tzinfo=None):
                    return change
            lower, inclusive = change, True

    def _matches_day(self, day: date) -> bool:
        in_month = day.day in self.days_of_month
        on_weekday = day.weekday() in self.weekdays
        return (in_month or on_weekday) if self.either_day else (in_month and on_weekday)

    def _first_wall_from(self, lower: datetime) -> datetime:
        """The first local wall time at or after naive ``lower`` that the schedule names."""
        found = self._search_wall(lower)
        if found is None:  # parse_schedule refuses such schedules; kept as a guard
            raise ScheduleError(f"schedule {self.text!r} never fires")
        return found

    def _search_wall(self, lower: datetime) -> datetime | None:
        start = lower.replace(second=0, microsecond=0)
        if start < lower:
            start += timedelta(minutes=1)
        day, minute = start.date(), start.hour * 60 + start.minute
        for _ in range(_SEARCH_DAYS):
            if day.month not in self.months:
                day, minute = _first_of_next_month(day), 0
                continue
            if self._matches_day(day):
                index = bisect_left(self.times_of_day, minute)
                if index < len(self.times_of_day):
                    hours, minutes = divmod(self.times_of_day[index], 60)
                    return datetime.combine(day, time(hours, minutes))
            day, minute = day + timedelta(days=1), 0
        return None


@dataclass(frozen=True)
class ScheduleSet:
    """Several schedules for one workflow (``schedule = [...]``): the union of their slots."""

    schedules: tuple[Schedule, ...]

    def __str__(self) -> str:
        return "; ".join(str(s) for s in self.schedules)

    def next_after(self, instant: datetime, tz: str) -> datetime:
        """The first slot of any of the schedules strictly after ``instant``."""
        return min(s.next_after(instant, tz) for s in self.schedules)


Timetable = Union[Schedule, ScheduleSet]


def parse_schedule(text: str) -> Schedule:
    """Read a human schedule or a cron expression; raise :class:`ScheduleError` with the fix.

    Case and extra spaces do not matter. The accepted forms are listed in :data:`FORMS`.
    """
    if not isinstance(text, str):
        raise ScheduleError(f"a schedule is text such as 'every monday at 09:00', not {text!r}")
    normal = " ".join(text.lower().split())
    if not normal:
        raise ScheduleError(f"empty schedule: use one of {FORMS_HELP}")
    if normal.startswith("every ") or normal == "every":
        schedule = _parse_human(text, normal)
    elif normal.startswith("@") or _looks_like_cron(normal):
        schedule = _parse_cron(text, _CRON_MACROS.get(normal, normal))
    else:
        raise ScheduleError(f"cannot read schedule {text!r}: use one of {FORMS_HELP}")
    if schedule._search_wall(datetime(2000, 1, 1)) is None:
        raise ScheduleError(f"schedule {text!r} never fires: none of its months has that day "
                            "(e.g. 30 February); " + _CRON_HELP)
    return schedule


def parse_schedules(value: str | Sequence[str]) -> ScheduleSet:
    """The ``schedule`` setting of a workflow, one string or a list of them."""
    texts = [value] if isinstance(value, str) else list(value)
    if not texts:
        raise ScheduleError("empty list of schedules: remove the key, or write e.g. "
                            "schedule = \"every monday at 09:00\"")
    return ScheduleSet(tuple(parse_schedule(text) for text in texts))


def slots_between(schedule: Timetable, start: datetime, end: datetime, tz: str) -> list[datetime]:
    """Every slot in ``(start, end]``, oldest first: what a daemon that was down has missed."""
    return list(_iter_slots(schedule, start, end, tz))


@dataclass(frozen=True)
class SkippedSlots:
    """Consecutive missed slots that were not run, and why (for the log and `cmflow history`)."""

    reason: str
    first: datetime
    last: datetime
    count: int


@dataclass(frozen=True)
class CatchUp:
    """What to do now: the slots to run (oldest first), those skipped, and the next slot."""

    run: list[datetime]
    skipped: list[SkippedSlots]
    next_slot: datetime

    @property
    def skipped_count(self) -> int:
        return sum(group.count for group in self.skipped)


def catch_up(schedule: Timetable, last_completed_slot: datetime | None, now: datetime, tz: str,
             policy: CatchUpPolicy = "latest", cap: int = 10, grace: timedelta | None = None,
             on_time: timedelta = ON_TIME) -> CatchUp:
    """Decide which slots in ``(last_completed_slot, now]`` to run now.

    The most recent slot, if it is at most ``on_time`` old, is due rather than missed and runs
    under every policy. The missed ones run according to ``policy``:

    - ``skip``: none; the workflow waits for its next slot.
    - ``latest``: only the most recent one, if it is within ``grace`` of ``now``.
    - ``all``: every one within ``grace``, at most ``cap`` of them (the most recent), oldest first.

    ``grace=None`` puts no limit on how late a slot may run. Without a last completed slot
    (a workflow never run) nothing is missed, and a slot due now runs.
    """
    if policy not in CATCH_UP_POLICIES:
        raise ValueError(f"unknown catch-up policy {policy!r}; use one of {', '.join(CATCH_UP_POLICIES)}")
    if cap < 1:
        raise ValueError(f"the catch-up cap must be at least 1, not {cap}")
    if grace is not None and grace < timedelta(0):
        raise ValueError("the grace window cannot be negative")
    now = _as_utc(now, "now")
    if last_completed_slot is None:
        # Never run: nothing was missed, but a slot that is due right now still runs.
        due = slots_between(schedule, now - on_time, now, tz)[-1:]
        return CatchUp(due, [], schedule.next_after(now, tz))
    last = _as_utc(last_completed_slot, "last_completed_slot")
    next_slot = schedule.next_after(max(now, last), tz)

    expired = _Group(f"older than the grace window ({_duration(grace)})" if grace is not None else "")
    recent: list[datetime] = []
    limit = None if grace is None else max(grace, on_time)  # a slot due now is never expired
    for slot in _iter_slots(schedule, last, now, tz):
        if limit is not None and now - slot > limit:
            expired.add(slot)
        else:
            recent.append(slot)
    due = recent.pop() if recent and now - recent[-1] <= on_time else None
    while grace is not None and recent and now - recent[0] > grace:
        expired.add(recent.pop(0))

    if policy == "skip":
        everything = _Group("the catch-up policy is skip: missed slots are not run")
        for slot in recent:
            everything.add(slot)
        everything.absorb(expired)
        return CatchUp([due] if due else [], everything.as_list(), next_slot)
    if policy == "latest":
        run = [due] if due else recent[-1:]
        superseded = _Group("superseded: a later slot runs instead")
        for slot in recent if due else recent[:-1]:
            superseded.add(slot)
        return CatchUp(run, expired.as_list() + superseded.as_list(), next_slot)
    candidates = recent + ([due] if due else [])
    over_cap = _Group(f"over the catch-up cap of {cap}: the most recent {cap} run")
    for slot in candidates[:-cap]:
        over_cap.add(slot)
    return CatchUp(candidates[-cap:], expired.as_list() + over_cap.as_list(), next_slot)


# -- parsing -------------------------------------------------------------------------------------
_INTERVAL = re.compile(r"^every (?:(?P<count>\d+) )?(?P<unit>[a-z]+)$")
_MONTHLY = re.compile(r"^every month on day (?P<day>\S+) at (?P<time>\S+)$")
_TIME = re.compile(r"^(?P<hour>\d{1,2}):(?P<minute>\d{2})$")
_CRON_CHARS = re.compile(r"^[0-9a-z*/,\-]+$")
_ALL_MONTHS = frozenset(range(1, 13))
_ALL_DAYS_OF_MONTH = frozenset(range(1, 32))
_ALL_WEEKDAYS = frozenset(range(7))


def _parse_human(text: str, normal: str) -> Schedule:
    monthly = _MONTHLY.match(normal)
    if monthly:
        day = monthly.group("day")
        if not day.isdigit() or not 1 <= int(day) <= 28:
            raise ScheduleError(
                f"schedule {text!r}: the day of the month must be a number from 1 to 28, which "
                "every month has (e.g. 'every month on day 1 at 09:00'); for days 29-31 use a cron "
                "expression such as '0 9 31 * *', which runs only in the months that have that day")
        return Schedule(text, (_parse_time(text, monthly.group("time")),), _ALL_MONTHS,
                        frozenset({int(day)}), _ALL_WEEKDAYS)
    if normal.startswith("every month"):
        raise ScheduleError(f"schedule {text!r}: write a monthly schedule as "
                            "'every month on day 1 at 09:00' (a day from 1 to 28)")

    interval = _INTERVAL.match(normal)
    if interval and interval.group("unit") not in _DAY_WORDS + tuple(w + "s" for w in WEEKDAYS):
        return _parse_interval(text, interval.group("count"), interval.group("unit"))

    days_text, at, time_text = normal.removeprefix("every").strip().rpartition(" at ")
    if not at:
        days_text = normal.removeprefix("every").strip()
        if days_text.endswith(" at") or days_text == "at":
            days_text = days_text.removesuffix("at").strip()
        weekdays = _parse_days(text, days_text)  # a misspelt day is the likelier mistake
        example = "every day" if len(weekdays) == 7 else f"every {days_text}"
        raise ScheduleError(f"schedule {text!r} says which days but not at what time: "
                            f"e.g. '{example} at 09:00'")
    weekdays = _parse_days(text, days_text)
    return Schedule(text, (_parse_time(text, time_text),), _ALL_MONTHS, _ALL_DAYS_OF_MONTH, weekdays)


def _parse_days(text: str, days_text: str) -> frozenset[int]:
    """``day``, ``weekday``, ``weekend`` or weekday names joined by commas and ``and``."""
    words = [w for w in re.split(r"\s*,\s*|\s+and\s+|\s+", days_text) if w]
    if not words:
        raise ScheduleError(f"schedule {text!r}: say which days, e.g. 'every monday at 09:00'; "
                            f"accepted forms: {FORMS_HELP}")
    if words in (["day"], ["days"]):
        return frozenset(range(7))
    if words in (["weekday"], ["weekdays"]):
        return frozenset(range(5))
    if words in (["weekend"], ["weekends"]):
        return frozenset({5, 6})
    days: set[int] = set()
    for word in words:
        day = _weekday(word)
        if day is None:
            if word in ("day", "days", "weekday", "weekdays", "weekend", "weekends"):
                raise ScheduleError(f"schedule {text!r}: {word!r} cannot be combined with other "
                                    "days; name the days instead, e.g. 'every monday and friday at 09:00'")
            import difflib  # a misspelt day only

            suggestion = difflib.get_close_matches(word, _DAY_WORDS + _UNIT_WORDS + ("month",), n=1, cutoff=0.6)
            hint = f"did you mean {suggestion[0]!r}?" if suggestion else \
                f"days are {', '.join(WEEKDAYS)}, day, weekday or weekend"
            raise ScheduleError(f"schedule {text!r}: unknown day {word!r} ({hint}); "
                                f"e.g. 'every monday at 09:00'")
        days.add(day)
    return frozenset(days)


def _weekday(word: str) -> int | None:
    """monday, mondays or mon -> 0."""
    for index, name in enumerate(WEEKDAYS):
        if word in (name, name + "s", name[:3]):
            return index
    return None


def _parse_time(text: str, time_text: str) -> int:
    """``09:00`` -> minutes after midnight."""
    match = _TIME.match(time_text)
    if not match:
        raise ScheduleError(f"schedule {text!r}: write the time {time_text!r} as HH:MM on the "
                            "24-hour clock, e.g. 'every day at 09:00' or 'every day at 18:30'")
    hour, minute = int(match.group("hour")), int(match.group("minute"))
    if hour > 23 or minute > 59:
        raise ScheduleError(f"schedule {text!r}: {time_text!r} is not a time of day "
                            "(00:00 to 23:59), e.g. 'every day at 09:00'")
    return hour * 60 + minute


def _parse_interval(text: str, count_text: str | None, unit: str) -> Schedule:
    if unit in ("minute", "minutes", "min", "mins"):
        per = 1
    elif unit in ("hour", "hours"):
        per = 60
    elif unit in ("days", "week", "weeks", "months"):
        raise ScheduleError(f"schedule {text!r}: intervals are counted in minutes or hours; for "
                            "days use e.g. 'every day at 09:00', 'every monday at 09:00' or a cron "
                            "expression such as '0 9 */2 * *'")
    else:
        count = int(count_text) if count_text else 1
        import difflib  # a misspelt unit only

        suggestion = difflib.get_close_matches(unit, _UNIT_WORDS + _DAY_WORDS, n=1, cutoff=0.6)
        hint = ""
        if suggestion and suggestion[0] in _UNIT_WORDS:
            word = suggestion[0].removesuffix("s") + ("s" if count > 1 else "")
            hint = f"did you mean 'every {count_text + ' ' if count_text else ''}{word}'? "
        elif suggestion:
            hint = f"did you mean {suggestion[0]!r}? "
        raise ScheduleError(f"cannot read schedule {text!r}: {hint}use one of {FORMS_HELP}")
    count = int(count_text) if count_text else 1
    step = count * per
    if step < 1 or step >= MINUTES_PER_DAY or MINUTES_PER_DAY % step:
        raise ScheduleError(f"schedule {text!r}: {_interval_hint(count, per)}")
    return Schedule(text, tuple(range(0, MINUTES_PER_DAY, step)), _ALL_MONTHS, _ALL_DAYS_OF_MONTH,
                    _ALL_WEEKDAYS, repeating=True)


def _interval_hint(count: int, per: int) -> str:
    """Why an interval is refused and the nearest ones that would work."""
    unit = "minutes" if per == 1 else "hours"
    if count * per >= MINUTES_PER_DAY:
        return "an interval must be shorter than a day; use e.g. 'every day at 09:00'"
    if count < 1:
        return f"the interval must be at least 1, e.g. 'every 1 {unit.removesuffix('s')}'"
    fitting = [n for n in range(1, MINUTES_PER_DAY // per) if MINUTES_PER_DAY % (n * per) == 0]
    below = max((n for n in fitting if n < count), default=None)
    above = min((n for n in fitting if n > count), default=None)
    nearest = " or ".join(f"'every {n} {unit}'" for n in (below, above) if n is not None)
    return (f"{count} {unit} does not divide the day evenly (slots are counted from local "
            f"midnight); use {nearest}, or a cron expression")


def _looks_like_cron(normal: str) -> bool:
    """Fields of digits, ``*``, ``/,-`` and names, most of them with a digit or ``*``."""
    fields = normal.split()
    numeric = [f for f in fields if re.search(r"[0-9*]", f)]
    return all(_CRON_CHARS.match(f) for f in fields) and 2 * len(numeric) >= len(fields)


def _parse_cron(text: str, expression: str) -> Schedule:
    if expression.startswith("@"):
        raise ScheduleError(f"schedule {text!r}: unknown cron macro; use one of "
                            f"{', '.join(_CRON_MACROS)}; {_CRON_HELP}")
    fields = expression.split()
    if len(fields) != 5:
        raise ScheduleError(f"cron expression {text!r} has {len(fields)} fields; {_CRON_HELP}")
    minutes, hours, days_of_month, months, days_of_week = (
        _cron_field(text, value, *spec) for value, spec in zip(fields, _CRON_FIELDS))
    weekdays = frozenset((day - 1) % 7 for day in days_of_week)  # cron: Sunday is 0 and 7
    times = tuple(sorted(hour * 60 + minute for hour in hours for minute in minutes))
    return Schedule(text, times, frozenset(months), frozenset(days_of_month), weekdays,
                    either_day=not fields[2].startswith("*") and not fields[4].startswith("*"),
                    repeating=fields[0].startswith("*") or fields[1].startswith("*"))


def _cron_field(text: str, value: str, name: str, lowest: int, highest: int,
                names: tuple[str, ...]) -> set[int]:
    """One cron field: ``*``, ``5``, ``1-5``, ``*/15``, ``0-30/10``, ``mon-fri``, lists of them."""

    def number(part: str) -> int:
        if part in names:
            return lowest + names.index(part)
        if not part.isdigit():
            known = f" or {names[0]}..{names[-1]}" if names else ""
            raise ScheduleError(f"cron expression {text!r}: {part!r} is not a {name} "
                                f"({lowest}-{highest}{known}); {_CRON_HELP}")
        number_ = int(part)
        if not lowest <= number_ <= highest:
            raise ScheduleError(f"cron expression {text!r}: {name} {number_} is out of range "
                                f"{lowest}-{highest}; {_CRON_HELP}")
        return number_

    values: set[int] = set()
    for item in value.split(","):
        base, slash, step_text = item.partition("/")
        step = 1
        if slash:
            if not step_text.isdigit() or int(step_text) < 1:
                raise ScheduleError(f"cron expression {text!r}: the step in {item!r} must be a "
                                    f"whole number of at least 1; {_CRON_HELP}")
            step = int(step_text)
        if base == "*":
            first, last = lowest, highest
        elif "-" in base:
            start, _, end = base.partition("-")
            first, last = number(start), number(end)
            if first > last:
                raise ScheduleError(f"cron expression {text!r}: the range {base!r} runs backwards; "
                                    f"write it from low to high; {_CRON_HELP}")
        else:
            first = number(base)
            last = highest if slash else first
        values.update(range(first, last + 1, step))
    return values


# -- time zones ----------------------------------------------------------------------------------
_TICK = timedelta(microseconds=1)


def _zone(tz: str) -> ZoneInfo:
    try:
        return ZoneInfo(check_timezone(tz))
    except PeriodError as exc:
        raise ScheduleError(str(exc)) from None


def _as_utc(instant: datetime, name: str) -> datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, not {instant!r}")
    return instant.astimezone(UTC)


def _offset(zone: ZoneInfo, instant: datetime) -> timedelta:
    return instant.astimezone(zone).utcoffset()  # type: ignore[return-value]


def _first_occurrence(zone: ZoneInfo, wall: datetime) -> datetime:
    """The first instant the local clock shows ``wall`` (fold 0 is the earlier one)."""
    return wall.replace(tzinfo=zone, fold=0).astimezone(UTC)


def _next_offset_change(zone: ZoneInfo, start: datetime, end: datetime, offset: timedelta) -> datetime | None:
    """The first instant in ``(start, end]`` whose UTC offset is not ``offset``, to the second."""
    probe = start
    while probe < end:
        step_end = min(probe + _PROBE_STEP, end)
        if _offset(zone, step_end) != offset:
            low, high = math.floor(probe.timestamp()), math.ceil(step_end.timestamp())
            while high - low > 1:  # offsets change on whole seconds
                middle = (low + high) // 2
                if datetime.fromtimestamp(middle, zone).utcoffset() == offset:
                    low = middle
                else:
                    high = middle
            return datetime.fromtimestamp(high, UTC)
        probe = step_end
    return None


def _first_of_next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


# -- catch-up helpers ----------------------------------------------------------------------------
def _iter_slots(schedule: Timetable, start: datetime, end: datetime, tz: str) -> Iterator[datetime]:
    slot, end = _as_utc(start, "start"), _as_utc(end, "end")
    while True:
        slot = schedule.next_after(slot, tz)
        if slot > end:
            return
        yield slot


class _Group:
    """Skipped slots sharing a reason, counted as they stream by rather than kept in a list."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        self.first: datetime | None = None
        self.last: datetime | None = None
        self.count = 0

    def add(self, slot: datetime) -> None:
        if self.first is None:
            self.first = slot
        self.last = slot
        self.count += 1

    def absorb(self, older: "_Group") -> None:
        """Take in a group of slots that all precede this group's."""
        if older.count:
            self.first = older.first
            self.last = self.last or older.last
            self.count += older.count

    def as_list(self) -> list[SkippedSlots]:
        if not self.count:
            return []
        return [SkippedSlots(self.reason, self.first, self.last, self.count)]  # type: ignore[arg-type]


def _duration(delta: timedelta | None) -> str:
    """``2h``, ``1d 6h``, ``30min``: for reasons shown to people."""
    if delta is None:
        return "none"
    minutes = int(delta.total_seconds() // 60)
    days, minutes = divmod(minutes, MINUTES_PER_DAY)
    hours, minutes = divmod(minutes, 60)
    parts = [f"{days}d" if days else "", f"{hours}h" if hours else "", f"{minutes}min" if minutes else ""]
    return " ".join(p for p in parts if p) or f"{int(delta.total_seconds())}s"
