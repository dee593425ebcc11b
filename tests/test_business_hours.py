"""Business-time arithmetic: hand-computed spans across a weekend, a public holiday, a DST change,
split opening ranges and closed days; and the option model's errors."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import polars as pl
import pytest
from pydantic import ValidationError

from cmflow.foundation.business_hours import ServiceHours, business_seconds, business_time_between

PARIS = "Europe/Paris"
UTC = timezone.utc


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def between(hours: ServiceHours, start: datetime, end: datetime) -> timedelta:
    return business_time_between(hours, PARIS, start, end)


def test_a_weekend_counts_nothing():
    # Friday 2026-12-04 17:30 Paris (16:30 UTC) to Monday 2026-12-07 09:45 Paris (08:45 UTC):
    # 30 minutes on Friday (17:30-18:00) + 45 on Monday (09:00-09:45) = 75 minutes.
    assert between(ServiceHours(), utc(2026, 12, 4, 16, 30), utc(2026, 12, 7, 8, 45)) == timedelta(minutes=75)


def test_a_span_within_one_day_and_outside_hours():
    hours = ServiceHours()
    # Tuesday 2026-12-01 10:00 to 11:20 Paris (09:00 to 10:20 UTC): 80 minutes.
    assert between(hours, utc(2026, 12, 1, 9), utc(2026, 12, 1, 10, 20)) == timedelta(minutes=80)
    # Saturday 2026-12-05 10:00 to 16:00 Paris: closed all day.
    assert between(hours, utc(2026, 12, 5, 9), utc(2026, 12, 5, 15)) == timedelta(0)
    # Tuesday 07:00 to 08:30 Paris (before opening): nothing; 19:00 to Wednesday 08:00: nothing.
    assert between(hours, utc(2026, 12, 1, 6), utc(2026, 12, 1, 7, 30)) == timedelta(0)
    assert between(hours, utc(2026, 12, 1, 18), utc(2026, 12, 2, 7)) == timedelta(0)
    # An end before the start counts 0, not a negative time.
    assert between(hours, utc(2026, 12, 1, 12), utc(2026, 12, 1, 10)) == timedelta(0)


def test_the_armistice_is_closed_with_french_holidays():
    # Tuesday 2026-11-10 17:00 Paris (16:00 UTC) to Thursday 2026-11-12 10:00 (09:00 UTC):
    # 60 minutes on Tuesday, Wednesday 11 November closed, 60 minutes on Thursday = 120.
    start, end = utc(2026, 11, 10, 16), utc(2026, 11, 12, 9)
    assert between(ServiceHours(holidays="FR"), start, end) == timedelta(minutes=120)
    # Without the holidays, Wednesday's 9 hours count: 60 + 540 + 60 = 660 minutes.
    assert between(ServiceHours(), start, end) == timedelta(minutes=660)


def test_across_the_end_of_daylight_saving_time():
    # Friday 2026-10-23 17:00 CEST (15:00 UTC) to Monday 2026-10-26 09:30 CET (08:30 UTC):
    # 60 minutes on Friday + 30 on Monday = 90. (Monday opens at 08:00 UTC, not 07:00.)
    assert between(ServiceHours(), utc(2026, 10, 23, 15), utc(2026, 10, 26, 8, 30)) == timedelta(minutes=90)
    # Open all Sunday 2026-10-25: that local day lasts 25 hours.
    hours = ServiceHours(opening={"sunday": ["00:00-24:00"]})
    assert between(hours, utc(2026, 10, 24, 12), utc(2026, 10, 26, 12)) == timedelta(hours=25)
    # And Sunday 2026-03-29, when the clocks go forward, lasts 23.
    assert between(hours, utc(2026, 3, 28, 12), utc(2026, 3, 30, 12)) == timedelta(hours=23)


def test_split_ranges_a_compact_week_and_closed_days():
    hours = ServiceHours(opening={"mon-fri": ["09:00-12:30", "13:30-18:00"], "sat": ["10:00-13:00"]},
                         closed=["2026-12-24"])
    # Tuesday 2026-12-01 12:00 to 14:00 Paris: 30 minutes before lunch, 30 after.
    assert between(hours, utc(2026, 12, 1, 11), utc(2026, 12, 1, 13)) == timedelta(minutes=60)
    # Friday 2026-12-04 17:00 to Monday 09:30 Paris: 60 + Saturday's 180 + 30 = 270 minutes.
    assert between(hours, utc(2026, 12, 4, 16), utc(2026, 12, 7, 8, 30)) == timedelta(minutes=270)
    # Wednesday 2026-12-23 17:00 to Friday 25th 10:00 Paris: 60 + (24th closed) + 60 = 120.
    assert between(hours, utc(2026, 12, 23, 16), utc(2026, 12, 25, 9)) == timedelta(minutes=120)


def test_a_subdivision_has_its_own_holidays():
    # Tuesday 2026-03-31 is César Chávez Day in California, not a federal holiday.
    california = ServiceHours(timezone="America/Los_Angeles", holidays="US-CA")
    federal = ServiceHours(timezone="America/Los_Angeles", holidays="US")
    # Monday 2026-03-30 17:00 PDT (00:00 UTC on the 31st) to Wednesday 10:00 PDT (17:00 UTC).
    start, end = utc(2026, 3, 31, 0), utc(2026, 4, 1, 17)
    assert between(california, start, end) == timedelta(minutes=120)
    assert between(federal, start, end) == timedelta(minutes=660)


def test_hours_never_open_count_nothing():
    never = ServiceHours(opening={})
    assert between(never, utc(2026, 12, 1, 9), utc(2026, 12, 8, 9)) == timedelta(0)
    # Open on weekdays but the whole span is a closed week: nothing either.
    closed = ServiceHours(closed=[f"2026-12-{day:02d}" for day in range(1, 6)])
    assert between(closed, utc(2026, 11, 30, 20), utc(2026, 12, 6, 9)) == timedelta(0)


def test_a_column_of_spans_with_nulls():
    starts = pl.Series([utc(2026, 12, 4, 16, 30), None, utc(2026, 12, 1, 9)], dtype=pl.Datetime("us", "UTC"))
    ends = pl.Series([utc(2026, 12, 7, 8, 45), utc(2026, 12, 1, 9), None], dtype=pl.Datetime("us", "UTC"))
    assert business_seconds(ServiceHours(), PARIS, starts, ends).to_list() == [75 * 60.0, None, None]


@pytest.mark.parametrize(("options", "message"), [
    ({"opening": {"monday": ["18:00-09:00"]}}, "ends before it starts"),
    ({"opening": {"monday": ["9h-18h"]}}, "no time range"),
    ({"opening": {"mon-fri": ["09:00-18:00"], "friday": ["09:00-12:00"]}}, "friday is given twice"),
    ({"opening": {"munday": ["09:00-18:00"]}}, "'munday' is no day"),
    ({"opening": {"monday": ["09:00-13:00", "12:00-18:00"]}}, "overlap"),
    ({"holidays": "XX"}, "knows no country 'XX'"),
    ({"holidays": "US-ZZ"}, "US has no subdivision 'ZZ'"),
    ({"timezone": "Europe/Pariss"}, "did you mean 'Europe/Paris'?"),
    ({"closed": ["2026-02-30"]}, "closed"),
])
def test_bad_hours_are_refused_with_what_to_write(options, message):
    with pytest.raises(ValidationError) as caught:
        ServiceHours(**options)
    assert message in str(caught.value)


def test_the_countries_validate_knows_are_the_holidays_librarys() -> None:
    """Validation reads the country codes from the library's registry without importing the
    library (importing it costs `cmflow validate` about a tenth of its CPU; listing its countries,
    some 300 modules): the same set the library lists."""
    import holidays

    from cmflow.foundation.business_hours import _holiday_countries, _registry_country_codes

    assert _registry_country_codes() == set(holidays.list_supported_countries())
    assert _holiday_countries() == set(holidays.list_supported_countries())


def test_the_countries_come_from_the_library_when_its_registry_cannot_be_read(monkeypatch) -> None:
    import holidays

    from cmflow.foundation import business_hours

    monkeypatch.setattr(business_hours, "_REGISTRY_TABLE", "COUNTRIES_MOVED = ")
    business_hours._holiday_countries.cache_clear()
    try:
        assert business_hours._registry_country_codes() is None
        assert business_hours._holiday_countries() == set(holidays.list_supported_countries())
        with pytest.raises(ValidationError, match="knows no country 'XX'"):
            business_hours.ServiceHours(holidays="XX")
    finally:
        business_hours._holiday_countries.cache_clear()  # read from the registry again after this test
