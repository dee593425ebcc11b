"""Durations in workflow files: ``"30m"``, ``"12h"``, ``"2d"``, ``"1w"``."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|min|h|d|w)\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}


LONGEST = timedelta(days=100 * 366)
"""No duration cmflow takes is longer (a silence, a reminder, a retention): more is a typo."""


def parse_duration(value: Any) -> timedelta:
    """``"30m"``, ``"12h"``, ``"2d"``, ``"1w"`` (or a number of seconds) as a timedelta:
    0 or more, and at most 100 years."""
    if isinstance(value, timedelta):
        return value
    seconds: float | None = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str) and (match := _DURATION.match(value)):
        seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds is None or seconds != seconds:  # nan
        raise ValueError(f"{value!r} is not a duration; write e.g. \"30m\", \"12h\", \"2d\" or \"1w\"")
    if seconds < 0:
        raise ValueError(f"{value!r} is negative: a duration is 0 or more, e.g. \"30m\" or \"2d\"")
    if seconds > LONGEST.total_seconds():
        raise ValueError(f"{value!r} is longer than 100 years; write e.g. \"30m\", \"12h\", \"2d\" or \"1w\"")
    return timedelta(seconds=seconds)


def parse_positive_duration(value: Any) -> timedelta:
    """A duration more than 0 (a timeout, an interval): 0 would mean at once, or never."""
    delta = parse_duration(value)
    if delta <= timedelta(0):
        raise ValueError(f"{value!r}: must be more than 0, e.g. \"30s\", \"10m\" or \"1d\"")
    return delta


def format_duration(delta: timedelta) -> str:
    """The shortest exact form of a duration: ``"12h"``, ``"2d"``, ``"90s"``."""
    seconds = int(delta.total_seconds())
    for unit in ("w", "d", "h", "m"):
        if seconds and seconds % _UNIT_SECONDS[unit] == 0:
            return f"{seconds // _UNIT_SECONDS[unit]}{unit}"
    return f"{seconds}s"


Duration = Annotated[timedelta, BeforeValidator(parse_duration), PlainSerializer(format_duration, return_type=str)]
"""An option written as ``"30m"``, ``"12h"``, ``"2d"`` or ``"1w"``."""

PositiveDuration = Annotated[timedelta, BeforeValidator(parse_positive_duration),
                             PlainSerializer(format_duration, return_type=str)]
"""A duration that must be more than 0: a timeout, an interval, a retention."""
