"""Reporting periods: what "last week" means from a given day, what each period compares with,
and which UTC instants bound it in the workflow's time zone."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from cmflow.foundation.periods import (
    PREVIOUS_PERIOD,
    SAME_PERIOD_LAST_YEAR,
    Period,
    PeriodError,
    check_period_spec,
    check_timezone,
    parse_period,
    today_in,
)


def span(period: Period) -> tuple[date, date, str]:
    """The parts of a period a test compares: first day, last day, unit."""
    return period.start, period.end, period.unit


# -- relative periods ------------------------------------------------------------------------
@pytest.mark.parametrize("today, start, end", [
    (date(2026, 11, 25), date(2026, 11, 16), date(2026, 11, 22)),  # a Wednesday
    (date(2026, 11, 23), date(2026, 11, 16), date(2026, 11, 22)),  # a Monday: the week just ended
    (date(2026, 11, 22), date(2026, 11, 9), date(2026, 11, 15)),   # a Sunday: its week is not over
    (date(2026, 1, 2), date(2025, 12, 22), date(2025, 12, 28)),    # across the new year
])
def test_last_week_is_the_previous_iso_week_monday_to_sunday(today: date, start: date, end: date) -> None:
    period = parse_period("last_week", "Europe/Paris", today)
    assert span(period) == (start, end, "week")
    assert period.start.weekday() == 0 and period.end.weekday() == 6
    assert period.days == 7
    assert period.tz == "Europe/Paris" and period.label == "current"


@pytest.mark.parametrize("today, start, end", [
    (date(2026, 1, 15), date(2025, 12, 1), date(2025, 12, 31)),  # across the year boundary
    (date(2026, 1, 1), date(2025, 12, 1), date(2025, 12, 31)),
    (date(2026, 3, 31), date(2026, 2, 1), date(2026, 2, 28)),
    (date(2024, 3, 10), date(2024, 2, 1), date(2024, 2, 29)),    # leap February
])
def test_last_month_is_the_previous_calendar_month(today: date, start: date, end: date) -> None:
    assert span(parse_period("last_month", "UTC", today)) == (start, end, "month")


@pytest.mark.parametrize("today, start, end", [
    (date(2026, 2, 10), date(2025, 10, 1), date(2025, 12, 31)),
    (date(2026, 4, 1), date(2026, 1, 1), date(2026, 3, 31)),
    (date(2026, 9, 30), date(2026, 4, 1), date(2026, 6, 30)),
    (date(2026, 12, 31), date(2026, 7, 1), date(2026, 9, 30)),
])
def test_last_quarter_is_the_previous_calendar_quarter(today: date, start: date, end: date) -> None:
    assert span(parse_period("last_quarter", "UTC", today)) == (start, end, "quarter")


def test_last_year_and_yesterday() -> None:
    today = date(2026, 1, 1)
    assert span(parse_period("last_year", "UTC", today)) == (date(2025, 1, 1), date(2025, 12, 31), "year")
    assert span(parse_period("yesterday", "UTC", today)) == (date(2025, 12, 31), date(2025, 12, 31), "days")


@pytest.mark.parametrize("spec, start, end", [
    ("7d", date(2026, 11, 18), date(2026, 11, 24)),
    ("1d", date(2026, 11, 24), date(2026, 11, 24)),
    ("30d", date(2026, 10, 26), date(2026, 11, 24)),
    (" 28d ", date(2026, 10, 28), date(2026, 11, 24)),  # surrounding spaces are ignored
])
def test_last_n_days_are_complete_days_before_today(spec: str, start: date, end: date) -> None:
    period = parse_period(spec, "UTC", date(2026, 11, 25))
    assert span(period) == (start, end, "days")
    assert period.days == (end - start).days + 1


# -- explicit ranges -------------------------------------------------------------------------
@pytest.mark.parametrize("spec, unit", [
    ("2026-02-01..2026-02-28", "month"),   # exactly a calendar month
    ("2024-02-01..2024-02-29", "month"),
    ("2026-11-01..2026-11-30", "month"),
    ("2026-11-16..2026-11-22", "week"),    # Monday to Sunday
    ("2026-11-17..2026-11-23", "days"),    # seven days, not Monday to Sunday
    ("2026-02-01..2026-02-27", "days"),    # one day short of the month
    ("2026-11-03..2026-11-03", "days"),
])
def test_explicit_range_includes_both_days_and_infers_its_unit(spec: str, unit: str) -> None:
    period = parse_period(spec, "UTC", date(2000, 1, 1))
    first, last = spec.split("..")
    assert span(period) == (date.fromisoformat(first), date.fromisoformat(last), unit)


@pytest.mark.parametrize("spec, message", [
    ("2026-02-30..2026-03-01", "2026-02-30..2026-03-01"),  # no such day
    # said once, one colon: not "ends before it starts: the start must be before the end: did you mean"
    ("2026-11-22..2026-11-16", r"^period '2026-11-22\.\.2026-11-16' ends before it starts; did you mean "
                               r"2026-11-16\.\.2026-11-22\?$"),
    ("2026-1-1..2026-1-31", "unknown period"),
    ("2026-11-16", "unknown period"),
    ("lastweek", "unknown period"),
    ("0d", "at least one day"),
    ("", "unknown period"),
])
def test_bad_period_specs_raise_period_error(spec: str, message: str) -> None:
    with pytest.raises(PeriodError, match=message):
        parse_period(spec, "UTC", date(2026, 11, 25))
    with pytest.raises(PeriodError):
        check_period_spec(spec)


def test_unknown_period_lists_the_accepted_forms() -> None:
    with pytest.raises(PeriodError) as info:
        parse_period("last_fortnight", "UTC", date(2026, 11, 25))
    assert "last_week" in str(info.value) and "YYYY-MM-DD..YYYY-MM-DD" in str(info.value)


# -- previous period -------------------------------------------------------------------------
@pytest.mark.parametrize("spec, today, start, end", [
    ("last_week", date(2026, 11, 25), date(2026, 11, 9), date(2026, 11, 15)),
    ("last_week", date(2026, 1, 7), date(2025, 12, 22), date(2025, 12, 28)),
    ("last_month", date(2026, 3, 15), date(2026, 1, 1), date(2026, 1, 31)),   # Feb -> Jan
    ("last_month", date(2026, 4, 15), date(2026, 2, 1), date(2026, 2, 28)),   # Mar -> Feb
    ("last_month", date(2026, 1, 15), date(2025, 11, 1), date(2025, 11, 30)),  # Dec -> Nov
    ("last_month", date(2026, 8, 15), date(2026, 6, 1), date(2026, 6, 30)),    # Jul (31) -> Jun (30)
    ("last_quarter", date(2026, 4, 1), date(2025, 10, 1), date(2025, 12, 31)),
    ("last_quarter", date(2026, 7, 1), date(2026, 1, 1), date(2026, 3, 31)),
    ("last_year", date(2026, 6, 1), date(2024, 1, 1), date(2024, 12, 31)),
    ("7d", date(2026, 11, 25), date(2026, 11, 11), date(2026, 11, 17)),
    ("2026-11-03..2026-11-12", date(2000, 1, 1), date(2026, 10, 24), date(2026, 11, 2)),
    ("2026-03-01..2026-03-31", date(2000, 1, 1), date(2026, 2, 1), date(2026, 2, 28)),
])
def test_previous_period_is_the_same_unit_just_before(spec: str, today: date, start: date, end: date) -> None:
    current = parse_period(spec, "Europe/Paris", today)
    previous = current.comparison(PREVIOUS_PERIOD)
    assert (previous.start, previous.end) == (start, end)
    assert previous.label == PREVIOUS_PERIOD
    assert previous.unit == current.unit and previous.tz == current.tz
    assert previous.end + timedelta(days=1) == current.start  # adjacent, no gap, no overlap


# -- same period last year -------------------------------------------------------------------
def test_same_week_last_year_is_52_weeks_back_and_keeps_the_weekday() -> None:
    week = parse_period("last_week", "UTC", date(2026, 11, 25))
    last_year = week.comparison(SAME_PERIOD_LAST_YEAR)
    assert (last_year.start, last_year.end) == (date(2025, 11, 17), date(2025, 11, 23))
    assert last_year.start.weekday() == 0 and last_year.end.weekday() == 6
    assert last_year.label == SAME_PERIOD_LAST_YEAR


@pytest.mark.parametrize("spec, start, end", [
    ("2026-11-01..2026-11-30", date(2025, 11, 1), date(2025, 11, 30)),
    ("2026-02-01..2026-02-28", date(2025, 2, 1), date(2025, 2, 28)),
    ("2024-02-01..2024-02-29", date(2023, 2, 1), date(2023, 2, 28)),  # 29 Feb has no twin
    ("2025-02-01..2025-02-28", date(2024, 2, 1), date(2024, 2, 29)),  # the whole leap February
    ("2024-02-29..2024-02-29", date(2023, 2, 28), date(2023, 2, 28)),
    ("2026-11-03..2026-11-12", date(2025, 11, 3), date(2025, 11, 12)),
])
def test_same_period_last_year_for_months_and_days(spec: str, start: date, end: date) -> None:
    last_year = parse_period(spec, "UTC", date(2000, 1, 1)).comparison(SAME_PERIOD_LAST_YEAR)
    assert (last_year.start, last_year.end) == (start, end)


def test_same_quarter_and_year_last_year() -> None:
    quarter = parse_period("last_quarter", "UTC", date(2024, 4, 2))  # Q1 2024 (leap)
    assert (quarter.start, quarter.end) == (date(2024, 1, 1), date(2024, 3, 31))
    last_year = quarter.comparison(SAME_PERIOD_LAST_YEAR)
    assert (last_year.start, last_year.end) == (date(2023, 1, 1), date(2023, 3, 31))
    year = parse_period("last_year", "UTC", date(2025, 3, 1)).comparison(SAME_PERIOD_LAST_YEAR)
    assert (year.start, year.end) == (date(2023, 1, 1), date(2023, 12, 31))


def test_unknown_comparison_is_an_error() -> None:
    period = parse_period("last_week", "UTC", date(2026, 11, 25))
    with pytest.raises(PeriodError, match="previous_period"):
        period.comparison("last_century")


# -- time zones ------------------------------------------------------------------------------
UTC = timezone.utc


def test_bounds_in_paris_across_the_october_dst_change() -> None:
    """Summer time ends on 2026-10-25 at 03:00 (CEST +02:00 -> CET +01:00): that week is 1 hour longer."""
    week = parse_period("last_week", "Europe/Paris", date(2026, 10, 28))
    assert (week.start, week.end) == (date(2026, 10, 19), date(2026, 10, 25))
    assert week.start_utc == datetime(2026, 10, 18, 22, 0, tzinfo=UTC)
    assert week.end_utc == datetime(2026, 10, 25, 23, 0, tzinfo=UTC)  # exclusive: Monday 00:00 CET
    assert week.end_utc - week.start_utc == timedelta(days=7, hours=1)
    day = Period(date(2026, 10, 25), date(2026, 10, 25), "Europe/Paris")
    assert day.end_utc - day.start_utc == timedelta(hours=25)
    assert day.start_utc.tzinfo is not None and day.start_utc.utcoffset() == timedelta(0)


def test_bounds_in_paris_on_the_march_dst_change() -> None:
    day = Period(date(2026, 3, 29), date(2026, 3, 29), "Europe/Paris")
    assert day.start_utc == datetime(2026, 3, 28, 23, 0, tzinfo=UTC)
    assert day.end_utc == datetime(2026, 3, 29, 22, 0, tzinfo=UTC)


def test_bounds_in_utc_and_west_of_utc() -> None:
    day = Period(date(2026, 11, 16), date(2026, 11, 22), "UTC")
    assert (day.start_utc, day.end_utc) == (datetime(2026, 11, 16, tzinfo=UTC), datetime(2026, 11, 23, tzinfo=UTC))
    montreal = Period(date(2026, 11, 16), date(2026, 11, 16), "America/Montreal")
    assert montreal.start_utc == datetime(2026, 11, 16, 5, 0, tzinfo=UTC)


def test_today_is_counted_in_the_workflow_time_zone() -> None:
    late_sunday_utc = datetime(2026, 11, 22, 23, 30, tzinfo=UTC)
    assert today_in("UTC", late_sunday_utc) == date(2026, 11, 22)
    assert today_in("Europe/Paris", late_sunday_utc) == date(2026, 11, 23)  # already Monday
    # So "last week" differs: Paris's Monday means the week of the 16th is complete.
    assert parse_period("last_week", "Europe/Paris", today_in("Europe/Paris", late_sunday_utc)).start == date(2026, 11, 16)
    assert parse_period("last_week", "UTC", today_in("UTC", late_sunday_utc)).start == date(2026, 11, 9)


@pytest.mark.parametrize("name", ["Europe/Pariss", "CET+1", "", "../etc/passwd", "Mars/Olympus"])
def test_unknown_time_zone_is_a_period_error_naming_it(name: str) -> None:
    with pytest.raises(PeriodError) as info:
        check_timezone(name)
    message = str(info.value)
    assert repr(name) in message
    assert "did you mean" in message or "Europe/Paris" in message  # a hint either way


def test_misspelt_time_zone_suggests_the_closest_name() -> None:
    with pytest.raises(PeriodError, match="did you mean 'Europe/Paris'"):
        check_timezone("Europe/Pariss")


def test_known_time_zones_are_accepted() -> None:
    for name in ("UTC", "Europe/Paris", "America/Montreal", "Pacific/Noumea"):
        assert check_timezone(name) == name


# -- the ends of the calendar ----------------------------------------------------------------
SPECS = ["last_week", "last_month", "last_quarter", "last_year", "yesterday", "1d", "7d", "9999d"]
EDGE_DAYS = [date(1, 1, 1), date(1, 1, 2), date(1, 1, 8), date(1, 3, 1), date(2, 1, 1),
             date(9999, 12, 31), date(9999, 12, 30), date(9999, 1, 1)]


@pytest.mark.parametrize("today", EDGE_DAYS, ids=str)
@pytest.mark.parametrize("spec", SPECS)
def test_no_period_spec_counted_from_any_day_raises_nothing_but_a_period_error(spec, today) -> None:
    """Counted from the calendar's first or last days, a period either exists (with UTC bounds in
    the zones furthest from UTC, comparisons and history that are periods too) or is a PeriodError
    that says so: never an OverflowError."""
    for tz in ("Pacific/Kiritimati", "Etc/GMT+12", "UTC"):
        try:
            period = parse_period(spec, tz, today)
        except PeriodError as error:
            assert "outside the calendar" in str(error)
            continue
        assert period.start_utc < period.end_utc
        for which in (PREVIOUS_PERIOD, SAME_PERIOD_LAST_YEAR):
            try:
                compared = period.comparison(which)
            except PeriodError as error:
                assert "outside the calendar" in str(error) and which in str(error)
            else:
                assert compared.start_utc < compared.end_utc and compared.end < period.end
        for earlier in period.history(60):
            assert earlier.start_utc < earlier.end_utc


def test_a_range_in_year_1_has_no_previous_period_and_says_which() -> None:
    period = parse_period("0001-01-02..0001-01-08", "UTC", date(2026, 1, 1))
    with pytest.raises(PeriodError, match=r"previous period of 0001-01-02\.\.0001-01-08 would fall outside"):
        period.comparison(PREVIOUS_PERIOD)
    with pytest.raises(PeriodError, match="same period last year"):
        period.comparison(SAME_PERIOD_LAST_YEAR)
    assert period.history(8) == []


def test_history_stops_at_the_calendar_start() -> None:
    period = parse_period("0001-01-22..0001-01-28", "UTC", date(2026, 1, 1))
    assert [str(p) for p in period.history(8)] == ["0001-01-15..0001-01-21", "0001-01-08..0001-01-14"]


@pytest.mark.parametrize("spec", ["0001-01-01..0001-01-07", "9999-12-25..9999-12-31"])
def test_a_range_touching_the_calendar_ends_is_refused(spec) -> None:
    with pytest.raises(PeriodError, match="outside the calendar"):
        parse_period(spec, "UTC", date(2026, 1, 1))


def test_a_relative_period_before_year_1_is_refused_with_the_day_it_was_counted_from() -> None:
    with pytest.raises(PeriodError, match=r"'last_week' counted from 0001-01-03 falls outside"):
        parse_period("last_week", "UTC", date(1, 1, 3))
    with pytest.raises(PeriodError, match="outside the calendar"):
        parse_period("last_year", "UTC", date(1, 6, 1))
