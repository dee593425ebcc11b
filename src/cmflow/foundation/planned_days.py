"""Calendar items planned for a day rather than a time: how they are written and recognised.

A calendar row without a time, or an all-day iCalendar event, plans a content for a day. A
calendar item has one instant, ``planned_at``; such an item's ``planned_at`` is the **start of
that day (00:00) in the workflow's time zone**, stored in UTC like every instant. Read back in
the workflow's time zone, an item whose ``planned_at`` is exactly local midnight is a
whole-day plan: it is on time when its post is published that local day, whatever the hour.
A time of ``00:00`` written in a calendar is read the same way (nobody plans a post for the
stroke of midnight and means it more precisely than "that day").
"""

from __future__ import annotations

from datetime import date, datetime, time, timezone
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    import polars as pl


def whole_day_instant(day: date, tz: str) -> datetime:
    """The ``planned_at`` of an item planned for ``day`` without a time: local midnight in
    ``tz``, in UTC."""
    return datetime.combine(day, time(0, 0), ZoneInfo(tz)).astimezone(timezone.utc)


def is_whole_day(planned_at: datetime, tz: str) -> bool:
    """Whether ``planned_at`` (aware) plans a whole day in ``tz``: local midnight exactly."""
    local = planned_at.astimezone(ZoneInfo(tz))
    return (local.hour, local.minute, local.second, local.microsecond) == (0, 0, 0, 0)


def whole_day_plan(planned_at: "pl.Expr", tz: str) -> "pl.Expr":
    """True where the UTC instants of ``planned_at`` are whole-day plans in ``tz`` (the
    vectorised :func:`is_whole_day`, for the adherence metrics)."""
    local = planned_at.dt.convert_time_zone(tz)
    return (local.dt.hour() == 0) & (local.dt.minute() == 0) & (local.dt.second() == 0) \
        & (local.dt.nanosecond() == 0)
