"""Business hours: when a team answers, and how much of that time lies between two instants.

A response-time SLA of "2h" counts the hours the team is open, in its time zone: opening hours
per weekday (several ranges a day allowed), the public holidays of a country or subdivision
(from the ``holidays`` library) and extra closed days. The time between two instants is the
length of the open intervals between them, each interval being real instants (a day of a DST
change is as long as the clock says: 09:00-18:00 is 9 hours on either side of it).
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator

from cmflow.foundation.periods import check_timezone

if TYPE_CHECKING:
    import polars as pl

WEEKDAYS: tuple[str, ...] = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
"""Day names an ``opening`` table takes (also their first three letters, and ranges ``mon-fri``)."""
_RANGE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
_OFFICE = {"mon-fri": ["09:00-18:00"]}


def _weekday(name: str) -> int:
    key = name.strip().lower()
    for index, day in enumerate(WEEKDAYS):
        if key in (day, day[:3]):
            return index
    raise ValueError(f"{name!r} is no day; write monday ... sunday, mon ... sun, or a range such as \"mon-fri\"")


def _days_of(key: str) -> list[int]:
    """``monday`` -> [0]; ``mon-fri`` -> [0, 1, 2, 3, 4]."""
    if "-" in key:
        first, last = (_weekday(part) for part in key.split("-", 1))
        if last < first:
            raise ValueError(f"{key!r}: the range runs backwards; write e.g. \"mon-fri\"")
        return list(range(first, last + 1))
    return [_weekday(key)]


def _minutes(hours: str, minutes: str, text: str) -> int:
    value = int(hours) * 60 + int(minutes)
    if int(minutes) > 59 or value > 24 * 60:
        raise ValueError(f"{text!r}: {hours}:{minutes} is no time of day (00:00 to 24:00)")
    return value


def parse_time_range(text: str) -> tuple[int, int]:
    """``"09:00-18:00"`` as minutes after midnight, ``(540, 1080)``; ``24:00`` ends a day."""
    match = _RANGE.match(text) if isinstance(text, str) else None
    if not match:
        raise ValueError(f"{text!r} is no time range; write e.g. \"09:00-18:00\"")
    start = _minutes(match.group(1), match.group(2), text)
    end = _minutes(match.group(3), match.group(4), text)
    if end <= start:
        raise ValueError(f"{text!r} ends before it starts; a range lies within one day, e.g. \"09:00-18:00\"")
    return start, end


class ServiceHours(BaseModel):
    """When a team answers: opening hours per weekday in a time zone, public holidays and closed
    days. An option type (``hours = {...}`` in a metric's table), validated with its key paths."""

    model_config = ConfigDict(extra="forbid")

    timezone: str | None = Field(
        None, description="IANA time zone of the opening hours; default: the workflow's `timezone`.",
        examples=["Europe/Paris"])
    opening: dict[str, list[str]] = Field(
        default_factory=lambda: dict(_OFFICE),
        description="Opening hours per weekday: day names (monday, or mon) or ranges (mon-fri) to lists of "
        "\"HH:MM-HH:MM\" ranges; a day not listed is closed. Default: Monday to Friday, 09:00-18:00.",
        examples=[{"mon-fri": ["09:00-12:30", "13:30-18:00"], "saturday": ["10:00-13:00"]}])
    holidays: str | None = Field(
        None, description="Public holidays to close on: a country code, or country-subdivision "
        "(\"FR\", \"US-CA\", \"DE-BY\"), from the `holidays` library; none by default.", examples=["FR"])
    closed: list[date] = Field(
        default_factory=list, description="Extra days closed (YYYY-MM-DD), e.g. a company holiday.",
        examples=[["2026-12-24", "2026-12-31"]])

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        return value if value is None else check_timezone(value.strip())

    @field_validator("opening")
    @classmethod
    def _valid_opening(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        seen: dict[int, str] = {}
        for key, ranges in value.items():
            for day in _days_of(key):
                if day in seen:
                    raise ValueError(f"{WEEKDAYS[day]} is given twice (in {seen[day]!r} and {key!r})")
                seen[day] = key
            spans = sorted(parse_time_range(text) for text in ranges)
            for (_, end), (start, _) in zip(spans, spans[1:]):
                if start < end:
                    raise ValueError(f"{key!r}: the ranges {', '.join(ranges)} overlap")
        return value

    @field_validator("holidays")
    @classmethod
    def _known_country(cls, value: str | None) -> str | None:
        if value is None:
            return value
        country, _, subdivision = value.strip().partition("-")
        if country.upper() not in _holiday_countries():
            raise ValueError(f"{value!r}: the holidays library knows no country {country!r}; write an "
                             "ISO 3166 code such as \"FR\", \"DE\" or \"US\"")
        if subdivision:  # only then: listing subdivisions imports every country's module (~300)
            import holidays

            supported = holidays.list_supported_countries()
        if subdivision and subdivision.upper() not in supported[country.upper()]:
            raise ValueError(f"{value!r}: {country.upper()} has no subdivision {subdivision!r}; known: "
                             f"{', '.join(supported[country.upper()][:40])}")
        return value

    def ranges_of(self, weekday: int) -> list[tuple[int, int]]:
        """The opening ranges of a weekday (0 = Monday), as minutes after midnight, in order."""
        for key, ranges in self.opening.items():
            if weekday in _days_of(key):
                return sorted(parse_time_range(text) for text in ranges)
        return []

    def closed_days(self, first: date, last: date) -> set[date]:
        """The public holidays and closed days from ``first`` to ``last``."""
        days = {d for d in self.closed if first <= d <= last}
        if self.holidays:
            country, _, subdivision = self.holidays.strip().partition("-")
            for year in range(first.year, last.year + 1):
                days.update(d for d in _public_holidays(country.upper(), subdivision.upper(), year)
                            if first <= d <= last)
        return days

    def open_intervals(self, tz: str, first: date, last: date) -> list[tuple[datetime, datetime]]:
        """The open intervals of the local days ``first`` to ``last``, as UTC instants, in order."""
        zone = ZoneInfo(self.timezone or tz)
        closed = self.closed_days(first, last)
        intervals = []
        day = first
        while day <= last:
            if day not in closed:
                for start, end in self.ranges_of(day.weekday()):
                    intervals.append((_instant(day, start, zone), _instant(day, end, zone)))
            day += timedelta(days=1)
        return intervals


@cache
def _holiday_countries() -> frozenset[str]:
    """The country codes the holidays library knows (read once: a workflow may name several).

    Read from the ``COUNTRIES`` table of its ``registry.py`` without importing the library:
    importing ``holidays`` costs ``cmflow validate`` about a tenth of its CPU (dateutil, every
    calendar); listing its countries would import each country's module (some 300). If the
    library is laid out otherwise, it is asked."""
    codes = _registry_country_codes()
    if codes is not None:
        return frozenset(codes)
    import holidays

    return frozenset(holidays.list_supported_countries())


_REGISTRY_TABLE = "COUNTRIES: RegistryDict = "


def _registry_country_codes() -> set[str] | None:
    """The codes in the holidays library's ``registry.COUNTRIES`` (``"france": ("France", "FR",
    "FRA")``: the class name, then codes and aliases), read as a literal; None if not found."""
    import ast
    from importlib.util import find_spec

    try:
        spec = find_spec("holidays")
        folder = Path(next(iter(spec.submodule_search_locations or ())))
        source = (folder / "registry.py").read_text(encoding="utf-8")
        start = source.index(_REGISTRY_TABLE) + len(_REGISTRY_TABLE)
        table = ast.literal_eval(source[start:source.index("\n}\n", start) + 2])
        return {code for names in table.values() for code in names[1:]  # codes, not class aliases
                if 2 <= len(code) <= 3 and code.isalpha() and code.isupper()}
    except (AttributeError, ImportError, OSError, StopIteration, ValueError, SyntaxError, TypeError, IndexError):
        return None


@cache
def _public_holidays(country: str, subdivision: str, year: int) -> frozenset[date]:
    """The public holidays of a country (and subdivision, "" for none) in one year, computed
    once per process: the holidays library builds its calendar afresh at each call (about a
    tenth of a second), and each response-time metric of a run asks for the same years."""
    import holidays

    return frozenset(holidays.country_holidays(country, subdiv=subdivision or None, years=year))


def _instant(day: date, minutes: int, zone: ZoneInfo) -> datetime:
    """The UTC instant of a local wall-clock time (``24:00`` is the next midnight)."""
    local = datetime.combine(day + timedelta(days=minutes // 1440), time(minutes % 1440 // 60, minutes % 60),
                             tzinfo=zone)
    return local.astimezone(timezone.utc)


def business_seconds(hours: ServiceHours, tz: str, starts: "pl.Series", ends: "pl.Series") -> "pl.Series":
    """Business time between each ``starts[i]`` and ``ends[i]`` (UTC datetimes), in seconds:
    the part of the open intervals between them. Null where either is null; 0 where the end is
    not after the start. Vectorised: the open intervals of the days spanned are built once, and
    each instant is placed on them by binary search."""
    import polars as pl

    utc = pl.Datetime("us", "UTC")
    frame = pl.DataFrame({"start": starts.cast(utc), "end": ends.cast(utc)})
    zone = hours.timezone or tz
    known = pl.concat([frame["start"], frame["end"]]).drop_nulls()
    if known.is_empty():
        return pl.Series("business_seconds", [None] * frame.height, dtype=pl.Float64)
    first, last = (instant.astimezone(ZoneInfo(zone)).date() for instant in (known.min(), known.max()))
    intervals = hours.open_intervals(tz, first - timedelta(days=1), last)
    table = pl.DataFrame({"open": [s for s, _ in intervals], "length": [(e - s).total_seconds() for s, e in intervals]},
                         schema={"open": utc, "length": pl.Float64})
    table = table.with_columns((pl.col("length").cum_sum() - pl.col("length")).alias("before"))
    if table.is_empty():  # never open in these days: no business time passes
        return frame.select(pl.when(pl.col("start").is_null() | pl.col("end").is_null()).then(None)
                            .otherwise(0.0).alias("business_seconds"))["business_seconds"]

    def clock(column: str) -> pl.Series:
        """Business seconds from the first open interval to each instant: the interval each
        instant falls in or after is found by binary search on the sorted interval starts."""
        at = frame[column]
        position = table["open"].search_sorted(at.fill_null(table["open"][0]), side="right").cast(pl.Int64) - 1
        found = pl.concat([pl.DataFrame({"at": at, "position": position}),
                           table[position.clip(0, None)]], how="horizontal")
        into = ((pl.col("at") - pl.col("open")).dt.total_microseconds() / 1e6).clip(0, None)
        return found.select(pl.when(pl.col("at").is_null()).then(None)
                            .when(pl.col("position") < 0).then(0.0)  # before the first open interval
                            .otherwise(pl.col("before") + pl.min_horizontal(into, pl.col("length"))).alias("clock"))["clock"]

    elapsed = (clock("end") - clock("start")).clip(0, None)
    return elapsed.alias("business_seconds")


def business_time_between(hours: ServiceHours, tz: str, start: datetime, end: datetime) -> timedelta:
    """Business time from ``start`` to ``end`` (aware datetimes); 0 if ``end`` is not after ``start``."""
    import polars as pl

    seconds = business_seconds(hours, tz, pl.Series([start.astimezone(timezone.utc)]),
                               pl.Series([end.astimezone(timezone.utc)]))[0]
    return timedelta(seconds=seconds)

