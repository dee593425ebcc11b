"""The fetch stage: every source's records for the run's periods.

Takes the workflow, the periods to measure (the current one first), the store (for incremental
sources, see :mod:`cmflow.stages.incremental`) and the run's clock; returns :class:`Fetched`:
the records by kind, one report per source, and the plans of the incremental parts fetched (their
records and cursors are kept once the outputs are delivered).
"""

from __future__ import annotations

import logging
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from cmflow.foundation.periods import today_in
from cmflow.foundation.records import RECORD_KINDS, RecordTable, unique_records
from cmflow.foundation.run_warnings import RunWarning
from cmflow.plugins.context import CountedRange, FetchContext, SharedHttpClient
from cmflow.plugins.result import StageReport
from cmflow.stages.failures import failure, failure_details
from cmflow.stages.incremental import FetchPlan, plan_fetch, with_stored
from cmflow.stages.overlaps import note_overlaps

if TYPE_CHECKING:
    import polars as pl

    from cmflow.foundation.periods import Period
    from cmflow.plugins.kinds import Source
    from cmflow.store import Store
    from cmflow.workflow import Entry, Workflow

log = logging.getLogger("cmflow")
MAX_PARALLEL_SOURCES = 64
"""Sources fetched at once. The platforms' limits are kept by the HTTP kit's budgets (per
platform and token), not here: a source waiting on its budget must not hold back the sources
of other platforms and tokens (benchmarks/fetch_scale.py)."""
PLATFORM_KINDS = ("post", "account_snapshot", "account_activity", "mention", "conversation")
"""The record kinds whose ``platform`` is where the data comes from (a traffic record's is the
visit's source, a time entry's the platform worked for)."""
PLATFORM_HISTORY_RUNS = 20
"""Runs looked back through for a failed source's platforms and accounts."""


@dataclass(frozen=True)
class Fetched:
    """What the fetch stage made."""

    records: dict[str, "pl.DataFrame"]
    """One frame per record kind, with a ``source_id`` column (the id of the source entry)."""
    reports: list[StageReport]
    """One per source entry, in the workflow's order."""
    plans: list[FetchPlan]
    """The incremental parts fetched without error: what :func:`~cmflow.stages.incremental.remember`
    keeps once the run is delivered."""


def fetch(workflow: "Workflow", all_periods: list["Period"], store: "Store | None", now: datetime,
          as_of_day: "date | None" = None) -> Fetched:
    """Fetch every source (concurrently), each account of a multi-account source on its own;
    incremental ones only what the store lacks. ``as_of_day`` is the day the run counts as today
    (:attr:`FetchContext.as_of_day`; default: the workflow's ``as_of``, else today)."""
    import polars as pl

    as_of_day = as_of_day or workflow.settings.as_of or today_in(workflow.settings.timezone, now)
    lookback = max([timedelta(days=1), *(entry.plugin.lookback() for entry in workflow.metrics)])  # baselines, backlogs
    window_start = min(p.start_utc for p in all_periods) - lookback
    lookahead = max([timedelta(0), *(entry.plugin.lookahead() for entry in workflow.metrics)])  # plans ahead
    window_end = max(p.end_utc for p in all_periods) + lookahead
    units = [_Part(entry, part, plan_fetch(store, workflow, entry, part, window_start, window_end, now))
             for entry in workflow.sources for part in _parts(entry)]

    http = SharedHttpClient()  # one client, hence one budget per platform and token, for all sources

    def fetch_one(unit: _Part) -> None:
        """One part's records, conformed by kind as they come (the source's own frames are
        dropped at once: a year of an agency's posts is held once, not three times)."""
        plan = unit.plan
        segments = plan.segments if plan is not None else [(window_start, window_end)]
        by_kind: dict[str, list[pl.DataFrame]] = {}
        try:
            for index, (start, end) in enumerate(segments):  # two at most: before the cursor, and after it
                ctx = FetchContext(start, end, all_periods, workflow.directory,
                                   log.getChild(f"source.{unit.entry.id}"), unit.problems, http,
                                   skipped=unit.skipped, as_of=now, as_of_day=as_of_day, inputs=unit.inputs,
                                   ranges=unit.ranges,
                                   latest_segment=index == len(segments) - 1)
                for table in unit.part.fetch(ctx) or []:
                    if not isinstance(table, RecordTable) or table.kind not in RECORD_KINDS:
                        raise TypeError(f"fetch() must yield cmflow.RecordTable objects, got {table!r}")
                    by_kind.setdefault(table.kind, []).append(table.conformed())
        except Exception as exc:
            unit.error = failure("source", unit.entry.id, exc)
            unit.details = failure_details(exc)
            return
        unit.frames = {kind: pl.concat(parts, rechunk=False) for kind, parts in by_kind.items()}

    try:
        if len(units) == 1:  # nothing to overlap with: no thread to start (most small workflows)
            fetch_one(units[0])
        else:
            with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL_SOURCES, max(1, len(units)))) as pool:
                list(pool.map(fetch_one, units))
    finally:
        http.close()

    collected: dict[str, list[pl.DataFrame]] = {}
    succeeded, reports = [], []
    for entry in workflow.sources:
        report = StageReport("source", entry.id, entry.info.name)
        parts = [unit for unit in units if unit.entry is entry]
        failed = [unit for unit in parts if unit.error is not None]
        if failed:  # the other accounts' records still count; the stage (and the run) failed
            report.ok = False
            report.error = failed[0].error if len(parts) == 1 else "; ".join(
                f"{unit.account}: {unit.error}" for unit in failed) + f" ({len(failed)} of {len(parts)} accounts)"
            report.details = [detail for unit in failed for detail in unit.details]
        notes, own = [], {}
        for unit in parts:
            for what, paths in unit.inputs.items():
                report.inputs.setdefault(what, []).extend(p for p in paths if p not in report.inputs.get(what, []))
            # once, however many calls (a window asked in two parts) or accounts said it; a
            # RunWarning is a warning of the run (its status, the reports' list), other text a note
            for problem in dict.fromkeys(unit.problems):
                said = report.warnings if isinstance(problem, RunWarning) else report.problems
                if problem not in said:
                    said.append(problem)
            report.skipped.extend(unit.skipped)
            report.ranges.extend(r for r in unit.ranges if r not in report.ranges)
            frames, plan = unit.frames, unit.plan
            if plan is not None and unit.error is None:
                plan.fetched = frames  # kept once the outputs are delivered
                frames = {kind: frame for kind in sorted(set(frames) | unit.part.produces())
                          if (frame := with_stored(store, plan, kind, None if kind not in frames
                                                   else plan.in_window(kind, frames[kind]))) is not None}
                notes.append(plan.describe())
                account = f", {unit.account}" if len(parts) > 1 and unit.account != entry.id else ""
                if warning := plan.gap_warning(f"{workflow.file.name}: {entry.path} ({entry.id}{account})", all_periods):
                    report.warnings.append(warning)
                succeeded.append(plan)
            for kind, frame in frames.items():
                own.setdefault(kind, []).append(frame.with_columns(pl.lit(entry.id).alias("source_id")))
            unit.frames = {}
        report.note = next((n for n in notes if n), None)
        report.platforms = _platforms_read(entry, own, store, workflow.key, failed=bool(failed))
        report.accounts = _accounts_read(workflow, entry, own, store, failed=bool(failed))
        for kind, frames in own.items():
            frame = pl.concat(frames, rechunk=False)
            if len(frames) > 1 and RECORD_KINDS[kind].identity:  # one story in two feeds counts once
                frame = unique_records(kind, frame, keep="first")
            collected.setdefault(kind, []).append(frame)
            report.counts[kind] = frame.height
            if note := _outside_period_note(kind, frame, all_periods[0]):
                report.problems.append(note)
        reports.append(report)
    by_id = {report.id: report for report in reports}
    for kind, frames in collected.items():
        note_overlaps(kind, [(frame["source_id"][0], frame) for frame in frames if frame.height], by_id)
    records = {kind: pl.concat(frames, rechunk=False) for kind, frames in collected.items()}
    return Fetched(records, reports, succeeded)


def _platforms_read(entry: "Entry", frames: dict[str, list["pl.DataFrame"]], store: "Store | None",
                    workflow_key: str, *, failed: bool) -> list[str]:
    """The platforms whose data the source reads: as its class or options say, else those of
    the records it returned, else (it failed) those it returned at its last run in the store."""
    try:
        known = entry.plugin.platforms()
    except Exception:  # a third party's that fails: not known
        log.debug("source %s could not say its platforms:\n%s", entry.id, traceback.format_exc())
        known = None
    if known:
        return sorted(known)
    seen = {platform for kind in PLATFORM_KINDS for frame in frames.get(kind, ())
            if "platform" in frame.columns for platform in frame["platform"].drop_nulls().unique().to_list()}
    if seen or not failed or store is None:
        return sorted(seen)
    return _remembered(store, workflow_key, entry.id, "source_platforms") or []


def _accounts_read(workflow: "Workflow", entry: "Entry", frames: dict[str, list["pl.DataFrame"]],
                   store: "Store | None", *, failed: bool) -> list[str] | None:
    """The accounts whose records the source reads: as its options say, else those of the records
    it returned when every one names its account, else (it failed) those of its last run in the
    store; None when not known (a failed source is then every client's)."""
    try:
        known = workflow.source_accounts(entry.id)
    except Exception:  # a third party's that fails: not known
        log.debug("source %s could not say its accounts:\n%s", entry.id, traceback.format_exc())
        known = None
    if known is not None:
        return sorted(known)
    seen: set[str] = set()
    every_record_says = True
    for kind_frames in frames.values():
        for frame in kind_frames:
            if frame.height and ("account" not in frame.columns or frame["account"].null_count()):
                every_record_says = False
            elif frame.height:
                seen.update(frame["account"].unique().to_list())
    if not failed:
        return sorted(seen) if seen and every_record_says else None
    # What a failed source returned (its other accounts') is not all it reads: add its last run's.
    remembered = _remembered(store, workflow.key, entry.id, "source_accounts")
    return sorted(seen | set(remembered)) if remembered else None


def _remembered(store: "Store | None", workflow_key: str, source_id: str, what: str) -> list[str] | None:
    """What the run history says of a source (``what``: a key of the runs' stats, such as
    ``source_platforms``) at the newest run that names the source there; None if none does, or
    if that run says null (not known: an older run's list may be shorter than what it reads)."""
    if store is None:
        return None
    try:
        runs = store.runs(workflow_key, limit=PLATFORM_HISTORY_RUNS)
    except Exception:  # the history only names platforms and accounts: it must not stop the run
        log.debug("source %s: the run history could not be read:\n%s", source_id, traceback.format_exc())
        return None
    for run in runs:
        said = (run.stats or {}).get(what) or {}
        if source_id in said:
            return list(said[source_id]) if said[source_id] else None
    return None


@dataclass
class _Part:
    """One source, or one account of a multi-account source, as this run fetches it."""

    entry: "Entry"
    part: "Source"
    plan: FetchPlan | None
    frames: dict[str, "pl.DataFrame"] = field(default_factory=dict)
    error: str | None = None
    details: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    inputs: dict[str, list[str]] = field(default_factory=dict)
    ranges: list[CountedRange] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def account(self) -> str:
        name = self.part.per_account_option
        values = getattr(self.part.options, name, None) if name else None
        return str(values[0]) if values else self.entry.id


def _parts(entry: "Entry") -> list["Source"]:
    try:
        return entry.plugin.parts()
    except Exception:  # a third-party split that fails: fetch the source whole
        log.debug("source %s could not be split by account:\n%s", entry.id, traceback.format_exc())
        return [entry.plugin]


def _outside_period_note(kind_name: str, frame: "pl.DataFrame", period: "Period") -> str | None:
    """Say so when a source returned records but none in the period: a wrong period or export."""
    kind = RECORD_KINDS[kind_name]
    times = frame.get_column(kind.time_field).drop_nulls()
    if times.len() == 0:
        return None
    if kind.field(kind.time_field).type == "date":
        inside = ((times >= period.start) & (times <= period.end)).any()
        first, last = times.min(), times.max()
    else:
        inside = ((times >= period.start_utc) & (times < period.end_utc)).any()
        local = times.dt.convert_time_zone(period.tz)
        first, last = local.min().date(), local.max().date()
    if inside:
        return None
    return (f"none of its {kind.counted(times.len())} falls in {period} "
            f"(they cover {first}..{last})")
