"""Incremental fetching: the records of API sources are kept in the store, so that a run
fetches only what the store does not hold yet and fills the rest of its window from it.

- A source's **cursor** (:class:`cmflow.store.SourceCursor`) is the window whose records the
  store holds for it. A source is known by its workflow, its id and its options: change an
  option and it starts afresh.
- A run whose window starts inside the cursor fetches from the cursor's end, or from
  ``look_back`` (default 28 days) before now if that is earlier: likes and comments keep
  coming after publication, so recent records are read again and **the newest figures win**.
  Older records come from the store. A window starting before the cursor is fetched whole.
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

from cmflow.foundation.records import RECORD_KINDS, unique_records
from cmflow.store import CachedRecord, SourceCursor

if TYPE_CHECKING:
    import polars as pl

    from cmflow.plugins.kinds import Source
    from cmflow.store import Store
    from cmflow.workflow import Entry, Workflow

DEFAULT_LOOK_BACK = timedelta(days=28)
"""How far back recent records are fetched again by default (``look_back`` of a source)."""
EDGE = timedelta(days=1)
"""Dated records (a day's follower count) are read from the store a day either side of the
window: the window is in UTC instants, their dates are local."""


@dataclass
class FetchPlan:
    """What one run fetches of one incremental source, and what it reads from the store."""

    key: str
    window_start: datetime
    window_end: datetime
    fetch_start: datetime
    cursor: SourceCursor | None
    fetched: dict[str, "pl.DataFrame"] = field(default_factory=dict)
    """The records this run fetched, by kind: what :func:`remember` keeps (set by the fetch stage)."""

    @property
    def fetches(self) -> bool:
        """Whether the source is called at all (the store may hold the whole window)."""
        return self.fetch_start < self.window_end

    @property
    def reads_store(self) -> bool:
        return self.fetch_start > self.window_start

    def describe(self) -> str:
        """For the run summary: ``fetched from 2026-10-27, earlier records from the store``."""
        if not self.reads_store:
            return ""
        if not self.fetches:
            return "every record from the store (already fetched)"
        return f"fetched from {self.fetch_start:%Y-%m-%d %H:%M} UTC, earlier records from the store"


def source_key(workflow: "Workflow", entry: "Entry", part: "Source | None" = None) -> str:
    """``workflow/source-id/options-digest`` of a source (or of one account's part of it):
    another option, another cursor (secrets, which dump as asterisks, do not count: a renewed
    token keeps the records)."""
    options = (part or entry.plugin).options.model_dump(mode="json")
    digest = hashlib.sha256(json.dumps([entry.info.name, options], sort_keys=True, default=str).encode())
    return f"{workflow.key}/{entry.id}/{digest.hexdigest()[:16]}"


def plan_fetch(store: "Store | None", workflow: "Workflow", entry: "Entry", part: "Source",
               window_start: datetime, window_end: datetime, now: datetime) -> FetchPlan | None:
    """The fetch window of one source (one account's part of it) for this run; None when it is
    not incremental (or there is no store to keep records in)."""
    if store is None or not part.incremental:
        return None
    key = source_key(workflow, entry, part)
    cursor = store.source_cursor(key)
    fetch_start = window_start
    if cursor is not None and cursor.covered_from <= window_start:
        look_back = entry.common.look_back or DEFAULT_LOOK_BACK
        fetch_start = max(window_start, min(cursor.covered_until, now - look_back))
    return FetchPlan(key, window_start, window_end, fetch_start, cursor)


def with_stored(store: "Store", plan: FetchPlan, kind_name: str, fetched: "pl.DataFrame | None") -> "pl.DataFrame | None":
    """The window's records of one kind: those in the store, replaced by those fetched now."""
    import polars as pl

    kind = RECORD_KINDS[kind_name]
    if not plan.reads_store:
        return fetched
    rows = store.cached_records(plan.key, kind_name, plan.window_start - EDGE, plan.window_end + EDGE)
    if not rows:
        return fetched
    stored = pl.read_ndjson(io.StringIO("\n".join(rows)), schema=kind.polars_schema())
    if fetched is None:
        return stored
    merged = pl.concat([stored, fetched.select(stored.columns)], how="vertical_relaxed")
    return unique_records(kind_name, merged, keep="last")


def remember(store: "Store", plan: FetchPlan, now: datetime, run_id: int | None) -> None:
    """Keep what the run fetched and move the cursor over it (after the outputs were delivered)."""
    covered_until = min(plan.window_end, now)
    if plan.fetches and covered_until > plan.fetch_start:
        start, until = plan.fetch_start, covered_until
        cursor = plan.cursor
        if cursor is not None and cursor.covered_from <= until and start <= cursor.covered_until:
            start, until = min(start, cursor.covered_from), max(until, cursor.covered_until)
    elif plan.cursor is not None:
        start, until = plan.cursor.covered_from, plan.cursor.covered_until
    else:
        return
    records = [record for kind, frame in plan.fetched.items() for record in _encode(kind, frame)]
    store.remember_records(plan.key, records, SourceCursor(start, until, now), run_id)


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
