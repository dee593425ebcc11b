"""What several platforms' sources share: instants, the run's days, language codes, answer shapes.

Small helpers that mean the same on every platform: reading an ISO 8601 instant, the days of the
fetch window in the workflow's time zone, the day a current follower count stands for when the
platform keeps no history, a two-letter language code, and a clear error for an HTTP 200 answer
that is not the documented shape. A platform's own conventions stay in its source module (or in
``meta_graph`` and ``google_api`` for the sources that share an API family).
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone, tzinfo
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from cmflow import FetchContext
    from cmflow.http import PlatformSession

CURRENT_COUNT_GRACE = timedelta(days=7)
"""How long after a window the current follower count still stands for its last day."""


def parse_instant(text: str) -> datetime:
    """An ISO 8601 / RFC 3339 instant as an aware UTC datetime (``2026-11-20T10:00:00.000Z``,
    ``...+0000``; digits past microseconds dropped; no offset is read as UTC)."""
    instant = datetime.fromisoformat(text)
    return (instant if instant.tzinfo else instant.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)


def run_zone(ctx: FetchContext) -> tzinfo:
    """The workflow's time zone (that of the run's periods); UTC for a run without periods."""
    return ZoneInfo(ctx.periods[0].tz) if ctx.periods else timezone.utc


def window_dates(ctx: FetchContext, zone: tzinfo) -> tuple[date, date]:
    """The first and last day (both included, in ``zone``) the fetch window touches."""
    first = ctx.window_start.astimezone(zone).date()
    last = (ctx.window_end - timedelta(microseconds=1)).astimezone(zone).date()
    return first, last


def snapshot_day(ctx: FetchContext, now: float) -> date | None:
    """The day a follower count read now stands for: today inside the window, the window's last
    day within a week after it, else none (the platform keeps no history); none in a part of the
    window asked before the latest (:attr:`cmflow.FetchContext.latest_segment`)."""
    if not ctx.latest_segment:
        return None
    zone = run_zone(ctx)
    today = datetime.fromtimestamp(now, zone).date()
    first, last = window_dates(ctx, zone)
    if first <= today <= last:
        return today
    if last < today <= last + CURRENT_COUNT_GRACE:
        return last
    return None


def current_count_day(ctx: FetchContext, now: float, platform: str) -> date | None:
    """:func:`snapshot_day`, telling the run summary when there is none (a window too old for
    the current count of ``platform``, e.g. ``"Mastodon"``, to stand for any of its days)."""
    day = snapshot_day(ctx, now)
    if day is None and ctx.latest_segment:  # said once, by the part that reads the count
        ctx.warn(f"no account snapshot: {platform} gives only the current follower count, which stands "
                 f"for no day of a window that ended more than {CURRENT_COUNT_GRACE.days} days ago")
    return day


def distinct_handles(given: list[str], pattern: re.Pattern[str], refusal: str) -> list[str]:
    """The handles of an option without their leading @, each once whatever its letter case.
    One that does not match ``pattern`` is refused with ``refusal`` (``{given!r}`` names it)."""
    names: list[str] = []
    for value in given:
        name = value.strip().removeprefix("@")
        if not pattern.match(name):
            raise ValueError(refusal.format(given=value))
        if name.lower() not in {n.lower() for n in names}:
            names.append(name)
    return names


def shares(reposts: Any, quotes: Any, *, count_quotes: bool) -> Any:
    """The shares of a post: its reposts, plus its quotes when the option says so (absent quotes
    add nothing; absent reposts stay empty unless there are quotes to count)."""
    if count_quotes and quotes is not None:
        return (reposts or 0) + quotes
    return reposts


def iso_language(tag: Any) -> str | None:
    """``en`` from ``en``/``en-GB``; None when unknown (X's ``und``, ``zxx``, ``qme`` ... included)."""
    if not isinstance(tag, str):
        return None
    primary = tag.split("-")[0].lower()
    return primary if len(primary) == 2 else None


def https_url(value: Any) -> str | None:
    """A link a platform gives (a post's image or a video's cover, on its CDN), kept only when
    it is https."""
    return value if isinstance(value, str) and value.startswith("https://") else None


def dig(body: Any, *keys: str) -> Any:
    """``body[k1][k2]...`` through nested JSON objects; None where a level is missing or not an object."""
    for key in keys:
        if not isinstance(body, dict):
            return None
        body = body.get(key)
    return body


def bad_answer(session: "PlatformSession", path: str, what: str, *, hint: str) -> Exception:
    """A :class:`~cmflow.http.BadResponse` for an HTTP 200 answer of ``path`` that ``what`` (e.g.
    "has no data.videos list"): nothing of it is used."""
    from cmflow.http import BadResponse

    return BadResponse(f"{path} answered HTTP 200 but {what}: not the documented shape, so nothing of "
                       "it is used", platform=session.platform.title, source=session.source, status=200,
                       hint=hint)
