"""Incremental fetching: the records of API sources are kept in the store, so that a run
fetches only what the store does not hold yet and fills the rest of its window from it.

- A source's **cursor** (:class:`cmflow.store.SourceCursor`) is the window whose records the
  store holds for it. A source is known by its workflow, its id and its options: change an
  option and it starts afresh.
- A run fetches the parts of its window the cursor does not cover, and again what is within
  ``look_back`` (default 28 days) of now: likes and comments keep coming after publication, so
  recent records are read again and **the newest figures win**. Where the source was asked, its
  answer is the truth (a deleted post leaves the figures, a renamed account counts once); the
  rest of the window comes from the store. Two exceptions read the store over the whole window:
  the kinds a platform shows only the latest items of (:attr:`cmflow.Source.shows_latest_only`:
  a feed, a search), and dated kinds (a day's follower count a platform gives for today only).
- A source that says how far back its platform returns records (:meth:`cmflow.Source.reaches_back`)
  is never asked for older ones: the store gives what earlier runs kept, and the days nobody
  fetched in time are a warning naming the source and the days, never a silent zero. It is
  asked up to now, past the window, so that the next run finds those hours in the store.
- The cursor is one span, but of a source that reaches back only so far, the spans runs fetched
  are kept in the store too (as :data:`FETCHED_SPAN` rows beside the records, joined where they
  touch: one row per separate span, however many runs): the gap warning names only days no run
  fetched, not those of an earlier span the cursor moved away from.
- Records and cursor are written only once the run has delivered its outputs (status ``ok``):
  a run that fails, or whose outputs failed, fetches the same again next time.
- The store keeps every record it was given: day-by-day follower counts that a platform only
  gives for today build up into a history, run after run.

Sources opt in with ``incremental = True`` (:class:`cmflow.Source`); files are read whole.
See docs/concepts.md#incremental-fetching.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, timezone
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from cmflow.foundation.records import RECORD_KINDS, unique_records
from cmflow.foundation.run_warnings import RunWarning
from cmflow.store import CachedRecord, SourceCursor

if TYPE_CHECKING:
    from collections.abc import Sequence

    import polars as pl

    from cmflow.foundation.periods import Period

    from cmflow.plugins.kinds import Source
    from cmflow.store import Store
    from cmflow.workflow import Entry, Workflow

DEFAULT_LOOK_BACK = timedelta(days=28)
"""How far back recent records are fetched again by default (``look_back`` of a source)."""
EDGE = timedelta(days=1)
"""Dated records (a day's follower count) are read from the store a day either side of the
window: the window is in UTC instants, their dates are local."""


Interval = tuple[datetime, datetime]
"""``[start, end)`` in UTC."""
FETCHED_SPAN = "fetched_span"
"""The kind of the rows that keep, beside the records of a source that reaches back only so far,
the spans runs fetched of it (``{"from": ..., "until": ...}``, at the span's end, so that a plan
reads only the spans that end after the gap it looks at): what the store holds, read back
cheaply (no record is read). Spans that overlap or touch are joined into one row."""
EARLIEST = datetime(1970, 1, 1, tzinfo=timezone.utc)
LATEST = datetime(9999, 1, 1, tzinfo=timezone.utc)


@dataclass
class FetchPlan:
    """What one run fetches of one incremental source, and what it reads from the store."""

    key: str
    window_start: datetime
    window_end: datetime
    segments: list[Interval]
    """The parts of the window the source is asked for, oldest first (none: the store holds it all)."""
    cursor: SourceCursor | None
    fetched: dict[str, "pl.DataFrame"] = field(default_factory=dict)
    """The records this run fetched, by kind: what :func:`remember` keeps (set by the fetch stage)."""
    gaps: list[Interval] = field(default_factory=list)
    """Parts of the window older than the platform returns that no earlier run fetched: nobody
    can fill them (:meth:`cmflow.Source.reaches_back`)."""
    reach: timedelta | None = None
    """How far back the platform returns the source's records, if it says."""
    lag: timedelta = timedelta(0)
    """How far behind now the platform is asked (:attr:`cmflow.Source.lags_behind`): the cursor ends there."""
    latest_only: frozenset[str] = frozenset()
    """The record kinds the platform shows only the latest items of (:attr:`cmflow.Source.shows_latest_only`)."""

    def stored_spans(self, kind_name: str) -> list[Interval]:
        """Where the window's records of one kind come from the store: the parts of the window the
        source was not asked for; the whole window for a kind the platform shows only the latest
        items of, and for a dated kind (a day's follower count the platform gives for today only),
        a day either side (:data:`EDGE`)."""
        kind = RECORD_KINDS[kind_name]
        if kind.field(kind.time_field).type == "date":
            return [(self.window_start - EDGE, self.window_end + EDGE)]
        if kind_name in self.latest_only:
            return [(self.window_start, self.window_end)]
        return _minus((self.window_start, self.window_end), self.segments)

    def in_window(self, kind_name: str, frame: "pl.DataFrame") -> "pl.DataFrame":
        """``frame`` without the records fetched past the window (kept for the next run, not
        this run's: see :func:`plan_fetch`)."""
        import polars as pl

        kind = RECORD_KINDS[kind_name]
        if not self.segments or self.segments[-1][1] <= self.window_end or kind.field(kind.time_field).type == "date":
            return frame
        return frame.filter(pl.col(kind.time_field).is_null() | (pl.col(kind.time_field) < self.window_end))

    @property
    def fetches(self) -> bool:
        """Whether the source is called at all (the store may hold the whole window)."""
        return bool(self.segments)

    @property
    def reads_store(self) -> bool:
        """Whether part of the window comes from the store: the cursor covers some of it and the
        source is not asked for all of it."""
        covered = _overlap((self.window_start, self.window_end), _cursor_interval(self.cursor))
        return covered is not None and _minus(covered, self.segments) != []

    def describe(self) -> str:
        """For the run summary: ``fetched from 2026-10-27 00:00 UTC, earlier records from the store``."""
        if not self.reads_store:
            return ""
        if not self.fetches:
            return "every record from the store (already fetched)"
        asked = " and ".join(f"from {start:%Y-%m-%d %H:%M}" if end >= self.window_end
                             else f"{start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M}" for start, end in self.segments)
        only_earlier = len(self.segments) == 1 and self.segments[0][1] >= self.window_end
        return f"fetched {asked} UTC, {'earlier records' if only_earlier else 'the rest'} from the store"

    def gap_warning(self, source: str, periods: "Sequence[Period]") -> RunWarning | None:
        """What the run says of :attr:`gaps`: the source, the days of the run's periods they hold
        (in the workflow's time zone, that of the periods), why, and what to do."""
        if not self.gaps or self.reach is None:
            return None
        zone = ZoneInfo(periods[0].tz) if periods else timezone.utc
        within = sorted(clipped for gap in self.gaps for period in periods
                        if (clipped := _overlap(gap, (period.start_utc, period.end_utc))) is not None)
        spans = _joined(within)  # the periods overlap (a baseline holds the current week)
        if not spans:  # only the margin around the periods: no figure misses a record
            return None
        local = [(start.astimezone(zone), end.astimezone(zone)) for start, end in spans]
        days = ", ".join(_days(start, end) for start, end in local)
        return RunWarning(
            f"{source}: {days} is older than the platform returns ({span_in_words(self.reach)} back) and no earlier "
            "run fetched it: its records of those days are missing from the figures; run the workflow at "
            f"least every {span_in_words(self.reach)} so that the store keeps them", "older_than_reach",
            {"source": source,
             "days": [(start.date(), (end - timedelta(microseconds=1)).date()) for start, end in local],
             "reach": self.reach})


def source_key(workflow: "Workflow", entry: "Entry", part: "Source | None" = None) -> str:
    """``workflow/source-id/options-digest`` of a source (or of one account's part of it):
    another option, another cursor (secrets, which dump as asterisks, do not count: a renewed
    token keeps the records; nor do options added since, at their default:
    :attr:`cmflow.PluginOptions.key_omits_default`)."""
    given = (part or entry.plugin).options
    options = given.model_dump(mode="json")
    at_default = set(options) - set(given.model_dump(mode="json", exclude_defaults=True))
    for name in at_default & type(given).key_omits_default:  # added since: the key stays as it was
        del options[name]
    digest = hashlib.sha256(json.dumps([entry.info.name, options], sort_keys=True, default=str).encode())
    return f"{workflow.key}/{entry.id}/{digest.hexdigest()[:16]}"


def plan_fetch(store: "Store | None", workflow: "Workflow", entry: "Entry", part: "Source",
               window_start: datetime, window_end: datetime, now: datetime) -> FetchPlan | None:
    """The fetch window of one source (one account's part of it) for this run; None when it is
    not incremental (or there is no store to keep records in).

    The source is asked for the parts of the window its cursor does not cover, and again for
    the last ``look_back`` (counters keep growing); never for what is older than the platform
    returns (:meth:`cmflow.Source.reaches_back`). Such a source is asked up to now, past the
    window: what it returns after the window is kept for the next run, which may find it too old
    to ask for (a weekly run at 09:00 then misses none of the hours since midnight)."""
    if store is None or not part.incremental:
        return None
    key = source_key(workflow, entry, part)
    cursor = store.source_cursor(key)
    window = (window_start, window_end)
    reach = _reach(part)
    oldest = now - reach if reach is not None else None
    reaches_window = oldest is not None and window_end > oldest  # a back-fill too old asks for nothing
    asked = (window_start, max(window_end, now - part.lags_behind)) if reaches_window else window
    missing = [asked]
    if cursor is not None:
        look_back = entry.common.look_back or DEFAULT_LOOK_BACK
        stale_from = min(cursor.covered_until, now - look_back)  # fetched again: the newest figures win
        kept = _overlap(asked, (cursor.covered_from, stale_from))
        missing = _minus(asked, [kept] if kept else [])
    segments = [clipped for start, end in missing
                if (clipped := _overlap((start, end), (oldest or start, end))) is not None]
    gaps: list[Interval] = []
    if oldest is not None and (too_old := _overlap(window, (window_start, oldest))) is not None:
        fetched = [span for span in [_cursor_interval(cursor), *_fetched_spans(store, key, too_old)]
                   if span is not None and _overlap(too_old, span) is not None]
        gaps = _minus(too_old, fetched)
    return FetchPlan(key, window_start, window_end, segments, cursor, gaps=gaps, reach=reach,
                     latest_only=frozenset(part.shows_latest_only), lag=part.lags_behind)


def with_stored(store: "Store", plan: FetchPlan, kind_name: str, fetched: "pl.DataFrame | None") -> "pl.DataFrame | None":
    """The window's records of one kind: those fetched now, and those the store holds of the
    parts not asked for (:meth:`FetchPlan.stored_spans`); a record fetched again replaces the
    stored one."""
    import polars as pl

    kind = RECORD_KINDS[kind_name]
    if plan.cursor is None:
        return fetched
    rows = [row for start, end in plan.stored_spans(kind_name)
            for row in store.cached_records(plan.key, kind_name, start, end)]
    if not rows:
        return fetched
    stored = pl.read_ndjson(io.StringIO("\n".join(rows)), schema=kind.polars_schema())
    if fetched is None:
        return stored
    merged = pl.concat([stored, fetched.select(stored.columns)], how="vertical_relaxed")
    return unique_records(kind_name, merged, keep="last")


def remember(store: "Store", plan: FetchPlan, now: datetime, run_id: int | None) -> None:
    """Keep what the run fetched and move the cursor over it (after the outputs were delivered).

    The cursor is one span: what was fetched joins it where they touch; of spans that do not touch,
    the latest is kept, the one the next runs extend (the records of the others are kept all the
    same, and read again by any run whose window holds them). Of a source that reaches back only
    so far, the spans fetched are kept too, joined with those kept before (:data:`FETCHED_SPAN`),
    for the gap warning."""
    asked_until = now - plan.lag
    fetched = [span for start, end in plan.segments if (span := _overlap((start, end), (start, asked_until))) is not None]
    spans = sorted(fetched + ([_cursor_interval(plan.cursor)] if plan.cursor is not None else []))
    if not spans:
        return
    start, until = _joined(spans)[-1]
    records = [record for kind, frame in plan.fetched.items() for record in _encode(kind, frame)]
    forget: list[tuple[str, str]] = []
    if plan.reach is not None and fetched:  # only a source that reaches back so far reads them
        kept = _fetched_spans(store, plan.key, (EARLIEST, LATEST))
        joined = _joined(sorted(fetched + kept))
        forget = [(FETCHED_SPAN, _span_key(span)) for span in kept]  # one row per separate span
        records += [CachedRecord(FETCHED_SPAN, _span_key((a, b)), b,
                                 json.dumps({"from": a.isoformat(), "until": b.isoformat()})) for a, b in joined]
    store.remember_records(plan.key, records, SourceCursor(start, until, now), run_id, forget=forget)


def _joined(spans: list[Interval]) -> list[Interval]:
    """Ordered ``spans`` with those that overlap or touch made one."""
    joined: list[Interval] = []
    for start, end in spans:
        if joined and start <= joined[-1][1]:
            joined[-1] = (joined[-1][0], max(end, joined[-1][1]))
        else:
            joined.append((start, end))
    return joined


def _span_key(span: Interval) -> str:
    return f"{span[0].isoformat()}/{span[1].isoformat()}"


def _fetched_spans(store: "Store", key: str, within: Interval) -> list[Interval]:
    """The spans runs fetched of the source (:data:`FETCHED_SPAN`) that overlap ``within``,
    whichever the cursor holds now; only the rows of spans ending after ``within`` starts are read."""
    spans = []
    for payload in store.cached_records(key, FETCHED_SPAN, within[0], LATEST):
        span = json.loads(payload)
        start, end = datetime.fromisoformat(span["from"]), datetime.fromisoformat(span["until"])
        if start < within[1]:
            spans.append((start, end))
    return spans


def _reach(part: "Source") -> timedelta | None:
    try:
        return part.reaches_back()
    except Exception:  # a third party's that fails: it returns any window, as before
        return None


def _cursor_interval(cursor: SourceCursor | None) -> Interval | None:
    return None if cursor is None else (cursor.covered_from, cursor.covered_until)


def _overlap(a: Interval, b: Interval | None) -> Interval | None:
    if b is None:
        return None
    start, end = max(a[0], b[0]), min(a[1], b[1])
    return (start, end) if start < end else None


def _minus(span: Interval, holes: list[Interval]) -> list[Interval]:
    """``span`` without ``holes``, as ordered spans."""
    left, start = [], span[0]
    for hole_start, hole_end in sorted(holes):
        if hole_start > start:
            left.append((start, min(hole_start, span[1])))
        start = max(start, hole_end)
    if start < span[1]:
        left.append((start, span[1]))
    return [(a, b) for a, b in left if a < b]


def _days(start: datetime, end: datetime) -> str:
    last = (end - timedelta(microseconds=1)).date()
    return f"{start:%Y-%m-%d}" if last == start.date() else f"{start:%Y-%m-%d}..{last:%Y-%m-%d}"


def span_in_words(length: timedelta) -> str:
    """``7 days``, ``36 hours``, ``6 days 23 h 55 min``."""
    if length % timedelta(days=1) == timedelta(0):
        days = length // timedelta(days=1)
        return f"{days} day{'s' if days != 1 else ''}"
    if length < timedelta(days=2) and length % timedelta(hours=1) == timedelta(0):
        hours = length / timedelta(hours=1)
        return f"{hours:g} hour{'s' if hours != 1 else ''}"
    days, rest = divmod(length, timedelta(days=1))
    hours, rest = divmod(rest, timedelta(hours=1))
    minutes = rest // timedelta(minutes=1)
    parts = [f"{days} day{'s' if days != 1 else ''}" if days else "", f"{hours} h" if hours else "",
             f"{minutes} min" if minutes else ""]
    return " ".join(part for part in parts if part)


def _encode(kind_name: str, frame: "pl.DataFrame") -> list[CachedRecord]:
    import polars as pl

    kind = RECORD_KINDS[kind_name]
    if frame.height == 0:
        return []
    columns = list(kind.identity) or list(kind.field_names)
    keys = frame.select(pl.concat_str([pl.col(c).cast(pl.String).fill_null("") for c in columns],
                                      separator="\x1f")).to_series().to_list()
    times = frame.get_column(kind.time_field).to_list()
    payloads = frame.select(kind.field_names).write_ndjson().splitlines()
    return [CachedRecord(kind_name, key, _instant(at), payload)
            for key, at, payload in zip(keys, times, payloads) if at is not None]


def _instant(value: object) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    return datetime.combine(value, time(), tzinfo=timezone.utc)  # type: ignore[arg-type]
