"""Time spent, as time trackers and spreadsheets write it, in hours.

Toggl Track exports ``02:30:00``, Clockify ``PT2H30M`` in its API and ``2.50`` beside
``02:30:00`` in its CSV, a French sheet ``2,5`` or ``2h30``, someone's own sheet ``1h 05min``
or ``45 min``. :func:`hours_of` reads every one of these forms into a number of hours, and
refuses anything else with a message listing the forms it reads: a duration misread is a
wrong cost, so nothing is guessed.
"""

from __future__ import annotations

import re

DURATION_FORMS = ("02:30:00, 2:30, 150:00:00 (hours:minutes[:seconds]), 2.5 or 2,5 (hours), 2h30, 2 h 30, "
                  "2h30m, 1h 05min, 45 min, 90m, or ISO 8601 PT2H30M")
"""The forms :func:`hours_of` reads, as messages list them."""

NO_TIME_ENTRIES = "no time entries in this period"
"""The reason of a time figure of a period without any time entry (a claim that nothing was
tracked: the failed_sources stage replaces it when the time tracker could not be read)."""

_SPACES = re.compile(r"[\s\u00a0\u202f]+")
_CLOCK = re.compile(r"^(\d+):([0-5]\d)(?::([0-5]\d(?:[.,]\d+)?))?$")
_CLOCK_OVERFLOW = re.compile(r"^\d+:(?:[6-9]\d(?::\d{2}(?:[.,]\d+)?)?|[0-5]\d:[6-9]\d(?:[.,]\d+)?)$")
"""A clock time with 60 minutes or more (``0:75``), or 60 seconds or more (``1:05:75``)."""
_DECIMAL = re.compile(r"^(\d*[.,]?\d+)$")
_NUMBER = r"\d+(?:[.,]\d+)?(?![\d.,])"
"""A number read whole (``3600s`` is not ``360`` minutes and ``0`` seconds)."""
_UNITS = re.compile(
    rf"^(?:(?P<h>{_NUMBER})\s*(?:h|hr|hrs|hour|hours|heure|heures)\.?)?"
    rf"\s*(?:(?P<m>{_NUMBER})\s*(?P<m_unit>m|mn|min|mins|minute|minutes)?\.?)?"
    rf"\s*(?:(?P<s>{_NUMBER})\s*(?:s|sec|secs|second|seconds|secondes?)\.?)?$", re.IGNORECASE)
_ISO = re.compile(rf"^P(?:(?P<d>{_NUMBER})D)?(?:T(?:(?P<h>{_NUMBER})H)?(?:(?P<m>{_NUMBER})M)?"
                  rf"(?:(?P<s>{_NUMBER})S)?)?$", re.IGNORECASE)


def hours_of(text: str) -> float:
    """The hours ``text`` says were spent: ``"02:30:00"``, ``"2,5"``, ``"2h30"``, ``"PT2H30M"``
    are all 2.5. Raises ValueError naming the accepted forms for anything else, a negative
    duration included (an empty text is no duration either: the caller decides what empty means)."""
    cleaned = _SPACES.sub(" ", str(text)).strip()
    if cleaned.startswith(("-", "\u2212")):
        raise ValueError(f"{text!r} is a negative duration: time spent is 0 or more; write it as "
                         f"{DURATION_FORMS}")
    hours = _read(cleaned)
    if hours == _OVERFLOW:
        raise ValueError(f"{text!r} is not a duration: it has 60 minutes or more after the hours (or 60 seconds "
                         f"or more after the minutes), which 2h90 and 0:75 both are: a typo? write the minutes under 60 (3h30, not 2h90), or "
                         f"minutes alone (210 min); forms: {DURATION_FORMS}")
    if hours is None:
        raise ValueError(f"{text!r} is not a duration; write it as {DURATION_FORMS}")
    return hours


def hours_or_none(text: str | None) -> float | None:
    """:func:`hours_of`, or None for an empty or unreadable text (for vectorised reading, where
    the caller flags the None of a text that was not empty)."""
    if text is None:
        return None
    try:
        return hours_of(text)
    except ValueError:
        return None


_OVERFLOW = -1.0
"""What :func:`_read` returns for ``2h90`` and ``0:75``: minutes of 60 or more after hours
(seconds of 60 or more after minutes), refused alike, never read as 3.5 hours."""


def _number(text: str | None) -> float:
    return float(text.replace(",", ".")) if text else 0.0


def _read(text: str) -> float | None:
    if not text:
        return None
    if _CLOCK_OVERFLOW.match(text):
        return _OVERFLOW
    if match := _CLOCK.match(text):
        hours, minutes, seconds = match.groups()
        return int(hours) + int(minutes) / 60 + _number(seconds) / 3600
    if _DECIMAL.match(text):
        return _number(text)
    if (match := _ISO.match(text)) and text.upper() not in ("P", "PT") and not text.upper().endswith("T"):
        parts = match.groupdict()
        return (_number(parts["d"]) * 24 + _number(parts["h"]) + _number(parts["m"]) / 60
                + _number(parts["s"]) / 3600)
    if match := _UNITS.match(text):
        parts = match.groupdict()
        # A number needs a unit, except minutes right after hours ("2h30"): "30" alone is hours,
        # read above, and "h" alone is nothing.
        if not (parts["h"] or parts["m_unit"] or parts["s"]) or not any((parts["h"], parts["m"], parts["s"])):
            return None
        if (parts["h"] and _number(parts["m"]) >= 60) or ((parts["h"] or parts["m"]) and _number(parts["s"]) >= 60):
            return _OVERFLOW
        return _number(parts["h"]) + _number(parts["m"]) / 60 + _number(parts["s"]) / 3600
    return None
