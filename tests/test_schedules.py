"""Schedules: parsing, slots on the local clock across DST changes, no drift, and catch-up.

Instants are passed in, so no test waits or reads the real clock. Expected slots are written
out by hand or built with ``datetime(..., tzinfo=ZoneInfo(...))`` for wall times that exist
once, independently of the code under test.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import date, datetime, timedelta, timezone

import pytest
from zoneinfo import ZoneInfo

from cmflow.foundation.errors import WorkflowInvalid
from cmflow.foundation.schedules import (FORMS, CatchUp, ScheduleError, ScheduleSet, catch_up, parse_schedule,
                              parse_schedules, slots_between)
from cmflow.workflow import load_workflow

UTC = timezone.utc
PARIS, NEW_YORK = "Europe/Paris", "America/New_York"
# 2026 change days: clocks go forward on the first, back on the second.
DST_DAYS = {PARIS: (date(2026, 3, 29), date(2026, 10, 25)),
            NEW_YORK: (date(2026, 3, 8), date(2026, 11, 1))}


def local(tz: str, *fields: int, fold: int = 0) -> datetime:
    """An aware UTC instant from a local wall time."""
    return datetime(*fields, tzinfo=ZoneInfo(tz), fold=fold).astimezone(UTC)  # type: ignore[misc]


def shown(instants: list[datetime], tz: str) -> list[str]:
    """Instants as the local clock shows them, with the offset: ``2026-03-29T03:00+02:00``."""
    return [i.astimezone(ZoneInfo(tz)).isoformat(timespec="minutes") for i in instants]


def next_slots(text: str, start: datetime, tz: str, count: int) -> list[datetime]:
    schedule, slots = parse_schedule(text), []
    for _ in range(count):
        start = schedule.next_after(start, tz)
        slots.append(start)
    return slots


# -- parsing ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, same_as", [
    ("  Every   MONDAY at 09:00 ", "every monday at 09:00"),
    ("every mondays at 9:00", "every monday at 09:00"),
    ("every mon at 09:00", "every monday at 09:00"),
    ("every Monday, Thursday at 09:00", "every monday and thursday at 09:00"),
    ("every day at 08:30", "30 8 * * *"),
    ("every weekday at 07:45", "45 7 * * 1-5"),
    ("every weekend at 10:00", "0 10 * * sat,sun"),
    ("every month on day 1 at 09:00", "0 9 1 * *"),
    ("every 6 hours", "0 */6 * * *"),
    ("every 15 minutes", "*/15 * * * *"),
    ("every 15 min", "*/15 * * * *"),
    ("every hour", "0 * * * *"),
    ("every minute", "* * * * *"),
    ("@daily", "0 0 * * *"),
    ("@weekly", "0 0 * * 0"),
    ("0 9 * * 7", "0 9 * * 0"),  # cron's Sunday is 0 or 7
    ("0 9 * * SUN", "0 9 * * 0"),
])
def test_equivalent_forms_give_the_same_schedule(text, same_as):
    a, b = parse_schedule(text), parse_schedule(same_as)
    assert (a.times_of_day, a.months, a.days_of_month, a.weekdays, a.repeating, a.either_day) == \
        (b.times_of_day, b.months, b.days_of_month, b.weekdays, b.repeating, b.either_day)
    assert str(a) == text


@pytest.mark.parametrize("form", FORMS)
def test_every_documented_form_parses(form):
    assert parse_schedule(form).times_of_day


@pytest.mark.parametrize("text, expected", [
    ("every mondy at 09:00", "unknown day 'mondy' (did you mean 'monday'?)"),
    ("every wensday at 09:00", "did you mean 'wednesday'?"),
    ("every weekdya at 07:45", "did you mean 'weekday'?"),
    ("every mondy", "did you mean 'monday'?"),
    ("every 6 hourz", "did you mean 'every 6 hours'?"),
    ("every monday", "says which days but not at what time: e.g. 'every monday at 09:00'"),
    ("every day at 9am", "write the time '9am' as HH:MM on the 24-hour clock"),
    ("every day at 24:00", "'24:00' is not a time of day"),
    ("every 7 minutes", "use 'every 6 minutes' or 'every 8 minutes'"),
    ("every 5 hours", "use 'every 4 hours' or 'every 6 hours'"),
    ("every 24 hours", "shorter than a day"),
    ("every 0 minutes", "at least 1"),
    ("every 2 days", "intervals are counted in minutes or hours"),
    ("every month on day 31 at 09:00", "a number from 1 to 28"),
    ("every month at 09:00", "'every month on day 1 at 09:00'"),
    ("every day and monday at 09:00", "'day' cannot be combined"),
    ("0 9 * *", "has 4 fields"),
    ("0 0 9 * * 1", "has 6 fields"),
    ("0 25 * * *", "hour 25 is out of range 0-23"),
    ("0 9 * * 8", "day of week 8 is out of range 0-7"),
    ("0 9 * foo *", "'foo' is not a month (1-12 or jan..dec)"),
    ("*/0 * * * *", "the step in '*/0' must be a whole number of at least 1"),
    ("5-1 * * * *", "the range '5-1' runs backwards"),
    ("0 0 30 2 *", "never fires"),
    ("@reboot", "unknown cron macro"),
    ("whenever", "cannot read schedule 'whenever'"),
    ("on mondays at 9 am", "cannot read schedule"),
    ("", "empty schedule"),
])
def test_unreadable_schedules_say_what_would_work(text, expected):
    with pytest.raises(ScheduleError) as caught:
        parse_schedule(text)
    message = str(caught.value)
    assert expected in message
    examples = [quoted for quoted in re.findall(r"'([^']+)'", message) if _parses(quoted)]
    assert examples, f"no working example in: {message}"


def _parses(text: str) -> bool:
    try:
        parse_schedule(text)
    except ScheduleError:
        return False
    return True


def test_unknown_text_lists_every_accepted_form():
    with pytest.raises(ScheduleError) as caught:
        parse_schedule("daily please")
    for form in FORMS:
        assert f"'{form}'" in str(caught.value)
    assert "'0 9 * * 1'" in str(caught.value)


def test_a_schedule_is_a_value_error_so_pydantic_reports_it():
    assert issubclass(ScheduleError, ValueError)


def test_unknown_time_zone_is_a_schedule_error_with_a_suggestion():
    with pytest.raises(ScheduleError, match="did you mean 'Europe/Paris'"):
        parse_schedule("every hour").next_after(datetime(2026, 1, 1, tzinfo=UTC), "Europe/Pari")


def test_naive_instants_are_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        parse_schedule("every hour").next_after(datetime(2026, 1, 1), PARIS)


# -- next slot, each form ---------------------------------------------------------------------------
START = local(PARIS, 2026, 1, 7, 12, 0)  # a Wednesday noon, winter time (+01:00)


@pytest.mark.parametrize("text, expected", [
    ("every monday at 09:00", ["2026-01-12T09:00+01:00", "2026-01-19T09:00+01:00"]),
    ("every monday and thursday at 09:00", ["2026-01-08T09:00+01:00", "2026-01-12T09:00+01:00"]),
    ("every day at 08:30", ["2026-01-08T08:30+01:00", "2026-01-09T08:30+01:00"]),
    ("every day at 12:00", ["2026-01-08T12:00+01:00", "2026-01-09T12:00+01:00"]),  # strictly after
    ("every weekday at 07:45", ["2026-01-08T07:45+01:00", "2026-01-09T07:45+01:00",
                                "2026-01-12T07:45+01:00"]),
    ("every weekend at 10:00", ["2026-01-10T10:00+01:00", "2026-01-11T10:00+01:00",
                                "2026-01-17T10:00+01:00"]),
    ("every month on day 1 at 09:00", ["2026-02-01T09:00+01:00", "2026-03-01T09:00+01:00",
                                       "2026-04-01T09:00+02:00"]),
    ("every 6 hours", ["2026-01-07T18:00+01:00", "2026-01-08T00:00+01:00", "2026-01-08T06:00+01:00"]),
    ("every 90 minutes", ["2026-01-07T13:30+01:00", "2026-01-07T15:00+01:00"]),
    ("every 15 minutes", ["2026-01-07T12:15+01:00", "2026-01-07T12:30+01:00"]),
    ("every hour", ["2026-01-07T13:00+01:00", "2026-01-07T14:00+01:00"]),
    ("0 9 * * 1", ["2026-01-12T09:00+01:00", "2026-01-19T09:00+01:00"]),
    ("*/20 13-14 * * *", ["2026-01-07T13:00+01:00", "2026-01-07T13:20+01:00", "2026-01-07T13:40+01:00",
                          "2026-01-07T14:00+01:00", "2026-01-07T14:20+01:00", "2026-01-07T14:40+01:00",
                          "2026-01-08T13:00+01:00"]),
    ("0 9 * feb mon-fri", ["2026-02-02T09:00+01:00", "2026-02-03T09:00+01:00"]),
    # Both day fields restricted: cron runs on the 15th and on every Friday.
    ("0 9 15 * 5", ["2026-01-09T09:00+01:00", "2026-01-15T09:00+01:00", "2026-01-16T09:00+01:00"]),
    # A day field starting with * narrows instead: days 1, 11, 21, 31 that are Sundays.
    ("0 9 */10 * 0", ["2026-01-11T09:00+01:00", "2026-02-01T09:00+01:00"]),
    ("0 0 29 2 *", ["2028-02-29T00:00+01:00", "2032-02-29T00:00+01:00"]),
    ("@monthly", ["2026-02-01T00:00+01:00", "2026-03-01T00:00+01:00"]),
])
def test_next_after_each_form(text, expected):
    assert shown(next_slots(text, START, PARIS, len(expected)), PARIS) == expected


def test_next_after_is_strictly_after_and_returns_aware_utc():
    schedule = parse_schedule("every day at 09:00")
    slot = local(PARIS, 2026, 1, 8, 9, 0)
    assert schedule.next_after(slot - timedelta(microseconds=1), PARIS) == slot
    later = schedule.next_after(slot, PARIS)
    assert later == local(PARIS, 2026, 1, 9, 9, 0) and later.tzinfo is UTC
    # Any aware instant will do; the answer is the same.
    assert schedule.next_after(slot.astimezone(ZoneInfo("Asia/Tokyo")), PARIS) == later


def test_the_same_schedule_in_two_time_zones():
    schedule = parse_schedule("every day at 09:00")
    start = datetime(2026, 1, 7, 12, tzinfo=UTC)
    assert schedule.next_after(start, "Asia/Tokyo") == datetime(2026, 1, 8, 0, tzinfo=UTC)
    assert schedule.next_after(start, NEW_YORK) == datetime(2026, 1, 7, 14, tzinfo=UTC)


def test_a_schedule_set_is_the_union_of_its_schedules():
    both = parse_schedules(["every monday at 09:00", "every day at 18:00"])
    assert isinstance(both, ScheduleSet)
    slots = slots_between(both, START, local(PARIS, 2026, 1, 13, 0, 0), PARIS)
    assert shown(slots, PARIS) == [
        "2026-01-07T18:00+01:00", "2026-01-08T18:00+01:00", "2026-01-09T18:00+01:00",
        "2026-01-10T18:00+01:00", "2026-01-11T18:00+01:00", "2026-01-12T09:00+01:00",
        "2026-01-12T18:00+01:00"]
    with pytest.raises(ScheduleError, match="empty list"):
        parse_schedules([])


# -- daylight saving ----------------------------------------------------------------------------------
def slots_on_local_days(text: str, tz: str, first: date, last: date) -> dict[date, list[str]]:
    """The slots whose local date is in first..last, by local date, as HH:MM+offset."""
    zone = ZoneInfo(tz)
    start = datetime.combine(first - timedelta(days=1), datetime.min.time(), zone).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=2), datetime.min.time(), zone).astimezone(UTC)
    by_day: dict[date, list[str]] = {}
    for slot in slots_between(parse_schedule(text), start, end, tz):
        wall = slot.astimezone(zone)
        if first <= wall.date() <= last:
            by_day.setdefault(wall.date(), []).append(wall.isoformat(timespec="minutes")[11:])
    return by_day


@pytest.mark.parametrize("tz", [PARIS, NEW_YORK])
@pytest.mark.parametrize("change", [0, 1], ids=["spring-forward", "fall-back"])
def test_daily_0900_runs_exactly_once_on_change_days_and_around_them(tz, change):
    day = DST_DAYS[tz][change]
    by_day = slots_on_local_days("every day at 09:00", tz, day - timedelta(days=3), day + timedelta(days=3))
    assert sorted(by_day) == [day + timedelta(days=n) for n in range(-3, 4)]
    for each, times in by_day.items():
        assert [t[:5] for t in times] == ["09:00"], each
        assert times == [local(tz, each.year, each.month, each.day, 9, 0)
                         .astimezone(ZoneInfo(tz)).isoformat(timespec="minutes")[11:]]


@pytest.mark.parametrize("tz, day, expected", [
    (PARIS, date(2026, 3, 29), "03:00+02:00"),     # 02:00 -> 03:00: 02:30 does not exist
    (NEW_YORK, date(2026, 3, 8), "03:00-04:00"),
])
def test_a_time_the_clock_skips_runs_once_just_after_the_gap(tz, day, expected):
    by_day = slots_on_local_days("every day at 02:30", tz, day - timedelta(days=1), day + timedelta(days=1))
    assert by_day[day] == [expected]
    assert [t[:5] for t in by_day[day - timedelta(days=1)]] == ["02:30"]
    assert [t[:5] for t in by_day[day + timedelta(days=1)]] == ["02:30"]


@pytest.mark.parametrize("text", ["every day at 02:00", "every day at 02:59", "30 2 * * *"])
def test_every_skipped_fixed_time_lands_on_the_first_instant_after_the_gap(text):
    day = date(2026, 3, 29)
    by_day = slots_on_local_days(text, PARIS, day, day)
    assert by_day[day] == ["03:00+02:00"]
    slot = next_slots(text, local(PARIS, 2026, 3, 29, 0, 0), PARIS, 1)[0]
    assert slot == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)


def test_a_skipped_time_and_the_first_time_after_the_gap_run_once_together():
    day = date(2026, 3, 29)
    by_day = slots_on_local_days("every day at 02:30", PARIS, day, day)
    assert by_day == slots_on_local_days("every day at 03:00", PARIS, day, day) == {day: ["03:00+02:00"]}
    both = parse_schedules(["every day at 02:30", "every day at 03:00"])
    assert shown(slots_between(both, local(PARIS, 2026, 3, 29, 0, 0), local(PARIS, 2026, 3, 29, 12, 0),
                               PARIS), PARIS) == ["2026-03-29T03:00+02:00"]


@pytest.mark.parametrize("tz, day, time_, expected", [
    (PARIS, date(2026, 10, 25), (2, 30), "02:30+02:00"),   # 03:00 -> 02:00: 02:30 shown twice
    (NEW_YORK, date(2026, 11, 1), (1, 30), "01:30-04:00"),
])
def test_a_time_the_clock_shows_twice_runs_once_the_first_time(tz, day, time_, expected):
    text = f"every day at {time_[0]:02d}:{time_[1]:02d}"
    by_day = slots_on_local_days(text, tz, day - timedelta(days=1), day + timedelta(days=1))
    assert by_day[day] == [expected]
    assert len(by_day[day - timedelta(days=1)]) == len(by_day[day + timedelta(days=1)]) == 1
    # From inside the repeated hour (after the first showing), the next slot is the next day.
    second_showing = local(tz, day.year, day.month, day.day, time_[0], 0, fold=1)
    following = parse_schedule(text).next_after(second_showing, tz)
    assert following == local(tz, day.year, day.month, day.day + 1, *time_)


@pytest.mark.parametrize("tz", [PARIS, NEW_YORK])
@pytest.mark.parametrize("text", ["every 15 minutes", "*/15 * * * *"])
def test_every_15_minutes_stays_15_real_minutes_apart_through_both_changes(tz, text):
    for day in DST_DAYS[tz]:
        start = local(tz, day.year, day.month, day.day, 0, 0)
        slots = slots_between(parse_schedule(text), start, start + timedelta(hours=6), tz)
        assert len(slots) == 24
        assert all(b - a == timedelta(minutes=15) for a, b in zip([start, *slots], slots))
        assert all(s.astimezone(ZoneInfo(tz)).minute % 15 == 0 for s in slots)


@pytest.mark.parametrize("text", ["every hour", "0 * * * *"])
def test_hourly_follows_the_clock_23_and_25_runs_on_change_days(text):
    spring, autumn = DST_DAYS[NEW_YORK]
    by_day = slots_on_local_days(text, NEW_YORK, spring, spring)
    assert len(by_day[spring]) == 23 and "02:00-05:00" not in by_day[spring]
    by_day = slots_on_local_days(text, NEW_YORK, autumn, autumn)
    assert len(by_day[autumn]) == 25
    assert Counter(t[:5] for t in by_day[autumn])["01:00"] == 2  # 01:00 EDT then 01:00 EST


@pytest.mark.parametrize("text", ["every 2 hours", "0 */2 * * *"])
def test_repeating_slots_in_the_skipped_hour_are_skipped_and_repeat_in_the_repeated_hour(text):
    spring, autumn = DST_DAYS[PARIS]
    assert slots_on_local_days(text, PARIS, spring, spring)[spring][:3] == \
        ["00:00+01:00", "04:00+02:00", "06:00+02:00"]
    assert slots_on_local_days(text, PARIS, autumn, autumn)[autumn][:4] == \
        ["00:00+02:00", "02:00+02:00", "02:00+01:00", "04:00+01:00"]


def test_every_6_hours_is_aligned_to_local_midnight_on_change_days():
    for day in DST_DAYS[PARIS]:
        by_day = slots_on_local_days("every 6 hours", PARIS, day, day)
        assert [t[:5] for t in by_day[day]] == ["00:00", "06:00", "12:00", "18:00"]


def walk_the_clock(tz: str, start: datetime, end: datetime, matches, repeating: bool) -> list[datetime]:
    """The slots in (start, end] found by looking at the local clock every minute: the rules of
    docs/schedules.md applied literally, as an independent check of ``next_after``."""
    zone, minute = ZoneInfo(tz), timedelta(minutes=1)
    slots, seen, previous, instant = [], set(), None, start
    while instant <= end:
        wall = instant.astimezone(zone).replace(tzinfo=None)
        skipped = [previous + minute * k for k in range(1, (wall - previous) // minute)] if previous else []
        if repeating:
            fires = matches(wall)
        else:  # once, the first time the clock shows it, or just after a gap that skipped it
            fires = (matches(wall) and wall not in seen) or any(matches(w) for w in skipped)
        if fires and instant > start:
            slots.append(instant)
        seen.add(wall)
        previous, instant = wall, instant + minute
    return slots


@pytest.mark.parametrize("text, matches, repeating", [
    ("every 15 minutes", lambda w: w.minute % 15 == 0, True),
    ("every 90 minutes", lambda w: (w.hour * 60 + w.minute) % 90 == 0, True),
    ("0 */2 * * *", lambda w: w.minute == 0 and w.hour % 2 == 0, True),
    ("30 1,2 * * *", lambda w: w.minute == 30 and w.hour in (1, 2), False),
    ("every day at 02:00", lambda w: (w.hour, w.minute) == (2, 0), False),
], ids=lambda value: value if isinstance(value, str) else "")
@pytest.mark.parametrize("tz, day", [(PARIS, d) for d in DST_DAYS[PARIS]] + [(NEW_YORK, d) for d in DST_DAYS[NEW_YORK]]
                         + [("Australia/Lord_Howe", date(2026, 4, 5)), ("Australia/Lord_Howe", date(2026, 10, 4))])
def test_slots_agree_with_walking_the_clock_minute_by_minute(text, matches, repeating, tz, day):
    """Lord Howe Island moves its clocks by 30 minutes, at 02:00 local."""
    start = local(tz, day.year, day.month, day.day, 0, 0) - timedelta(hours=1)
    end = start + timedelta(hours=6)
    expected = walk_the_clock(tz, start, end, matches, repeating)
    assert expected  # the window holds slots
    assert slots_between(parse_schedule(text), start, end, tz) == expected


def test_weekly_cron_keeps_its_local_time_across_the_change():
    slots = next_slots("0 9 * * 1", local(NEW_YORK, 2026, 2, 28, 0, 0), NEW_YORK, 3)
    assert shown(slots, NEW_YORK) == ["2026-03-02T09:00-05:00", "2026-03-09T09:00-04:00",
                                      "2026-03-16T09:00-04:00"]
    assert slots[1] - slots[0] == timedelta(days=7, hours=-1)


def test_fixed_cron_times_follow_the_fixed_time_rules():
    """Like cron itself: a job at 02:30 runs after the gap, a job at 01:30 once on fall-back day."""
    assert slots_on_local_days("30 2 * * *", NEW_YORK, date(2026, 3, 8), date(2026, 3, 8)) == \
        {date(2026, 3, 8): ["03:00-04:00"]}
    assert slots_on_local_days("30 1 * * *", NEW_YORK, date(2026, 11, 1), date(2026, 11, 1)) == \
        {date(2026, 11, 1): ["01:30-04:00"]}


# -- no drift -------------------------------------------------------------------------------------------
def every_day_at(tz: str, first: date, hour: int, minute: int, weekdays: set[int]) -> list[datetime]:
    """The expected slots, built from dates alone (times that exist exactly once)."""
    days = (first + timedelta(days=n) for n in range(10_000))
    return [local(tz, d.year, d.month, d.day, hour, minute) for d in days if d.weekday() in weekdays]


@pytest.mark.parametrize("text, tz, weekdays", [
    ("every day at 09:00", PARIS, set(range(7))),
    ("every monday at 09:00", PARIS, {0}),
    ("0 9 * * 1-5", NEW_YORK, set(range(5))),
])
@pytest.mark.parametrize("run_takes", [timedelta(0), timedelta(minutes=7, seconds=13)])
def test_no_drift_over_1000_daily_or_weekly_slots(text, tz, weekdays, run_takes):
    """Each next slot is asked for when the previous run ended; the slots stay on the schedule."""
    schedule, now = parse_schedule(text), local(tz, 2026, 1, 1, 0, 0)
    slots = []
    for _ in range(1000):
        slot = schedule.next_after(now, tz)
        slots.append(slot)
        now = slot + run_takes
    assert slots == every_day_at(tz, date(2026, 1, 1), 9, 0, weekdays)[:1000]


@pytest.mark.parametrize("tz", [PARIS, NEW_YORK])
def test_no_drift_over_1000_fifteen_minute_slots_across_a_change(tz):
    schedule = parse_schedule("every 15 minutes")
    spring = DST_DAYS[tz][0]
    first = local(tz, spring.year, spring.month, spring.day - 5, 0, 0)
    now, slots = first, []
    for _ in range(1000):  # about 10 days, across the spring change
        slot = schedule.next_after(now, tz)
        slots.append(slot)
        now = slot + timedelta(minutes=4, seconds=59)
    assert slots == [first + timedelta(minutes=15 * n) for n in range(1, 1001)]


# -- catch-up ----------------------------------------------------------------------------------------------
DAILY = parse_schedule("every day at 09:00")


def at_nine(day: int) -> datetime:
    return local(PARIS, 2026, 1, day, 9, 0)


def test_catch_up_without_a_last_slot_runs_nothing_and_says_when_next():
    result = catch_up(DAILY, None, local(PARIS, 2026, 1, 10, 12, 0), PARIS)
    assert result == CatchUp([], [], at_nine(11))


@pytest.mark.parametrize("policy", ["skip", "latest", "all"])
def test_a_new_workflow_runs_the_slot_due_now(policy):
    """A workflow never run before still runs at its first slot (it has missed nothing)."""
    result = catch_up(DAILY, None, at_nine(10) + timedelta(seconds=20), PARIS, policy)
    assert result == CatchUp([at_nine(10)], [], at_nine(11))


@pytest.mark.parametrize("policy", ["skip", "latest", "all"])
def test_a_slot_due_now_runs_under_every_policy(policy):
    result = catch_up(DAILY, at_nine(9), at_nine(10) + timedelta(seconds=20), PARIS, policy,
                      cap=3, grace=timedelta(0))
    assert result == CatchUp([at_nine(10)], [], at_nine(11))


@pytest.mark.parametrize("policy", ["skip", "latest", "all"])
def test_nothing_missed_nothing_run(policy):
    result = catch_up(DAILY, at_nine(10), at_nine(10) + timedelta(hours=3), PARIS, policy, cap=3)
    assert result == CatchUp([], [], at_nine(11))


def test_skip_runs_none_of_the_missed_slots():
    now = at_nine(10) + timedelta(hours=2)  # down since the 6th: missed the 7th to the 10th
    result = catch_up(DAILY, at_nine(6), now, PARIS, "skip", cap=10, grace=timedelta(days=1))
    assert result.run == []
    assert [(g.first, g.last, g.count) for g in result.skipped] == [(at_nine(7), at_nine(10), 4)]
    assert "skip" in result.skipped[0].reason
    assert result.next_slot == at_nine(11)


def test_latest_runs_the_most_recent_missed_slot_within_grace():
    now = at_nine(10) + timedelta(hours=2)
    grace = timedelta(days=2, hours=2)  # back to 09:00 on the 8th, included
    result = catch_up(DAILY, at_nine(6), now, PARIS, "latest", cap=10, grace=grace)
    assert result.run == [at_nine(10)]
    assert [(g.reason, g.first, g.last, g.count) for g in result.skipped] == [
        ("older than the grace window (2d 2h)", at_nine(7), at_nine(7), 1),
        ("superseded: a later slot runs instead", at_nine(8), at_nine(9), 2)]


def test_latest_runs_nothing_when_the_latest_slot_is_past_grace():
    now = at_nine(10) + timedelta(hours=5)
    result = catch_up(DAILY, at_nine(8), now, PARIS, "latest", cap=10, grace=timedelta(hours=4))
    assert result.run == []
    assert [(g.first, g.last, g.count) for g in result.skipped] == [(at_nine(9), at_nine(10), 2)]
    assert result.skipped[0].reason == "older than the grace window (4h)"
    assert result.skipped_count == 2


def test_latest_without_a_grace_window_always_runs_the_latest():
    result = catch_up(DAILY, at_nine(1), at_nine(30) + timedelta(hours=10), PARIS, "latest")
    assert result.run == [at_nine(30)]
    assert result.skipped_count == 28


def test_all_runs_every_missed_slot_oldest_first_up_to_the_cap():
    now = at_nine(10) + timedelta(hours=2)
    result = catch_up(DAILY, at_nine(2), now, PARIS, "all", cap=3, grace=timedelta(days=5))
    assert result.run == [at_nine(8), at_nine(9), at_nine(10)]
    assert [(g.reason, g.first, g.last, g.count) for g in result.skipped] == [
        ("older than the grace window (5d)", at_nine(3), at_nine(5), 3),
        ("over the catch-up cap of 3: the most recent 3 run", at_nine(6), at_nine(7), 2)]


def test_all_under_the_cap_runs_everything_within_grace():
    now = at_nine(10) + timedelta(minutes=30)
    result = catch_up(DAILY, at_nine(7), now, PARIS, "all", cap=10, grace=timedelta(days=7))
    assert result.run == [at_nine(8), at_nine(9), at_nine(10)]
    assert result.skipped == []


def test_all_counts_the_slot_due_now_in_the_cap():
    now = at_nine(10) + timedelta(seconds=5)
    result = catch_up(DAILY, at_nine(5), now, PARIS, "all", cap=2, grace=timedelta(days=30))
    assert result.run == [at_nine(9), at_nine(10)]
    assert result.skipped[0].count == 3


def test_the_on_time_allowance_covers_only_the_slot_due_now():
    every_minute = parse_schedule("every minute")
    last, now = at_nine(10) - timedelta(minutes=5), at_nine(10) + timedelta(minutes=3, seconds=30)
    result = catch_up(every_minute, last, now, PARIS, "all", cap=10, grace=timedelta(0),
                      on_time=timedelta(minutes=5))
    assert result.run == [at_nine(10) + timedelta(minutes=3)]
    assert [(g.first, g.last, g.count) for g in result.skipped] == [
        (at_nine(10) - timedelta(minutes=4), at_nine(10) + timedelta(minutes=2), 7)]


def test_catch_up_counts_every_missed_slot_of_a_fast_schedule_across_a_change():
    schedule = parse_schedule("every 15 minutes")
    last = local(PARIS, 2026, 10, 24, 0, 0)
    now = local(PARIS, 2026, 10, 26, 0, 5)
    result = catch_up(schedule, last, now, PARIS, "all", cap=4, grace=timedelta(hours=1))
    # 24 + 25 hours of real time between the two local midnights: 196 quarter hours.
    assert len(result.run) + result.skipped_count == 196
    assert result.run == [now - timedelta(minutes=5 + 15 * n) for n in (3, 2, 1, 0)]


def test_catch_up_after_the_clock_went_back_runs_nothing_and_never_repeats_a_slot():
    result = catch_up(DAILY, at_nine(10), at_nine(9), PARIS, "all", cap=5)
    assert result == CatchUp([], [], at_nine(11))


def test_catch_up_across_several_schedules():
    schedules = parse_schedules(["every day at 09:00", "every day at 18:00"])
    now = at_nine(10) + timedelta(hours=10)  # 19:00 on the 10th
    result = catch_up(schedules, at_nine(9), now, PARIS, "all", cap=5, grace=timedelta(days=2))
    assert shown(result.run, PARIS) == ["2026-01-09T18:00+01:00", "2026-01-10T09:00+01:00",
                                        "2026-01-10T18:00+01:00"]
    assert shown([result.next_slot], PARIS) == ["2026-01-11T09:00+01:00"]


@pytest.mark.parametrize("arguments, message", [
    (dict(policy="sometimes"), "unknown catch-up policy 'sometimes'"),
    (dict(cap=0), "at least 1"),
    (dict(grace=timedelta(hours=-1)), "cannot be negative"),
])
def test_catch_up_refuses_bad_settings(arguments, message):
    with pytest.raises(ValueError, match=message):
        catch_up(DAILY, at_nine(1), at_nine(3), PARIS, **arguments)


# -- the workflow file ------------------------------------------------------------------------------------
WORKFLOW = """[workflow]
name = "Test"
timezone = "Europe/Paris"
schedule = {schedule}

[[sources]]
plugin = "csv"
path = "posts.csv"
"""


def test_a_bad_schedule_is_a_validation_error_at_workflow_schedule(write_workflow):
    with pytest.raises(WorkflowInvalid) as caught:
        load_workflow(write_workflow(WORKFLOW.format(schedule='"every mondy at 09:00"')))
    [problem] = caught.value.problems
    assert problem.path == "workflow.schedule"
    assert problem.message == ("schedule 'every mondy at 09:00': unknown day 'mondy' (did you mean "
                               "'monday'?); e.g. 'every monday at 09:00'")
    with pytest.raises(WorkflowInvalid) as caught:
        load_workflow(write_workflow(WORKFLOW.format(schedule='["every monday at 09:00", "0 9 * *"]')))
    [problem] = caught.value.problems
    assert problem.path == "workflow.schedule" and "'0 9 * *' has 4 fields" in problem.message


def test_good_schedules_load(write_workflow):
    workflow = load_workflow(write_workflow(WORKFLOW.format(
        schedule='["Every Monday at 09:00", "*/30 9-17 * * mon-fri"]')))
    assert workflow.settings.schedule == ["Every Monday at 09:00", "*/30 9-17 * * mon-fri"]
    assert len(parse_schedules(workflow.settings.schedule).schedules) == 2
