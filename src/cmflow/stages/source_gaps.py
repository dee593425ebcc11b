"""The source_gaps stage: a figure a source's records cannot tell has no value, with the reason,
in the series those records may be in; every other figure keeps its value.

Three gaps, all said by the fetch stage's reports:

- **days an API could no longer return** (X's recent search reaches 7 days back:
  :meth:`cmflow.Source.reaches_back`) that no run fetched in time (the fetch warning
  ``older_than_reach``, :mod:`cmflow.stages.incremental`): a period within them has no value in
  the source's series, rather than 0. Its accounts are those its options name, never those of
  its records (an account that posted only in the gap has none): else every client may hold them;
- **a period after a table's range** (YouTube Studio's table counts over its export's range,
  :meth:`~cmflow.plugins.context.FetchContext.counts_over`): the table cannot hold the videos
  published then, so the period has no value in its series, rather than 0, unless another
  table of its platform and accounts reaches the period's end or another source reads them
  without a range (October's and November's tables: November is November's table's);
- **counters a table cannot tell**: a video published outside the range has there its figures
  within the range, not to date. A figure that reads them has no value; one that does not
  (posts published, their publish times, an engagement rate by reach when videos have no reach)
  keeps it. Which is which is found by the metrics themselves: the metrics that read such a
  table are measured once more with those counters set to a figure no export holds; a figure
  that changes reads them. One more measure in all, whatever the number of tables, compared by
  a join; every period is checked, the current one too. A metric that fails measured so could
  not be checked: its figures of those periods have no value in the tables' series, with the
  reason.

The series a source's records may be in is :func:`~cmflow.stages.source_series.series_may_hold`
(the rule failed_sources uses): its platform, its accounts, their clients, and only for a metric
that reads the source (its ``sources``, the kinds it needs) whose ``where`` leaves them in.

Takes the workflow, the metric requests, the records, the periods, the measurements as the
measure stage made them (measured again, the figures compare alike) and the fetch stage's
reports; returns the measurements so changed (the same frame when there is no gap).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from cmflow.foundation.listening import account_key
from cmflow.foundation.measurements import dimension_columns
from cmflow.stages.incremental import span_in_words
from cmflow.stages.source_series import series_may_hold, where_admits, with_account_keys
from cmflow.stages.uncovered_periods import UNCOVERED_REASON

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    import polars as pl

    from cmflow.foundation.periods import Period
    from cmflow.foundation.production import Production
    from cmflow.plugins.context import CountedRange
    from cmflow.plugins.result import StageReport
    from cmflow.stages.measure import MetricRequest
    from cmflow.workflow import Workflow

UNTOLD = 1_000_000_007
"""The figure a counter a table cannot tell is set to when the metrics are measured again: no
export holds it, so a figure that reads the counter changes."""

_KEYS = ["metric", "period_start", "period_end", "series_key"]


@dataclass(frozen=True)
class _Gap:
    """Periods with no value in the series of one source's records (of ``kinds``), and why."""

    source_id: str
    kinds: frozenset[str]
    platforms: tuple[str, ...] | None
    accounts: tuple[str, ...] | None
    spans: frozenset[tuple]
    """(first day, last day) of each period of the gap."""
    reason: str


def source_gaps(workflow: "Workflow", requests: list["MetricRequest"], records: dict[str, "pl.DataFrame"],
                periods: list["Period"], measurements: "pl.DataFrame", reports: "Sequence[StageReport]",
                *, as_of: "datetime | None" = None, production: "Production | None" = None) -> "pl.DataFrame":
    """``measurements`` with no value, and the reason, where a source's records cannot tell the
    figure (``as_of`` and ``production`` as the measure stage had them)."""
    import polars as pl

    ranges = [(report.id, r) for report in reports if report.kind == "source" for r in report.ranges]
    gaps = [*_unreached_days(workflow, reports, periods), *_after_ranges(ranges, periods, reports)]
    if measurements.height == 0 or not (gaps or any(r.counters for _, r in ranges)):
        return measurements
    dimensions = [d for d in dimension_columns(measurements) if d != "rank"]
    rows = with_account_keys(measurements) if "account" in dimensions else measurements
    said = _untold_counters(workflow, requests, records, periods, rows, ranges, dimensions, as_of, production)
    conditions = []
    for gap in gaps:
        for request in requests:
            needed = {kind for group in request.plugin.needed_records() for kind in group}
            if gap.source_id not in request.source_ids or (needed and not needed & gap.kinds):
                continue
            conditions.append(pl.when(
                pl.col("metric").is_in(sorted(request.plugin.produces()))
                & pl.struct("period_start", "period_end").is_in(_spans(gap.spans))
                & series_may_hold(workflow.clients, gap.platforms, gap.accounts, request.where, dimensions)
            ).then(pl.lit(gap.reason)))
    if conditions:
        said = pl.coalesce(*conditions, said)
    gone = pl.col("__said").is_not_null()
    return rows.with_columns(said.alias("__said")).with_columns(
        pl.when(gone).then(None).otherwise(pl.col("value")).cast(measurements.schema["value"]).alias("value"),
        pl.when(gone).then(pl.col("__said")).otherwise(pl.col("reason")).alias("reason")).select(measurements.columns)


def _spans(spans: "frozenset[tuple]") -> "pl.Series":
    """The (first day, last day) of periods, as ``is_in`` reads a list of period bounds."""
    import polars as pl

    ordered = sorted(spans)
    return pl.DataFrame({"period_start": [s for s, _ in ordered], "period_end": [e for _, e in ordered]},
                        schema={"period_start": pl.Date, "period_end": pl.Date}).to_struct().implode()


def _unreached_days(workflow: "Workflow", reports: "Sequence[StageReport]", periods: list["Period"]) -> list[_Gap]:
    """The periods within days a source's platform no longer returned and no run fetched in
    time (the fetch stage's ``older_than_reach`` warnings); a period only partly within them
    keeps its figure (the warning names the days it lacks)."""
    sources = {entry.id: entry.plugin for entry in workflow.sources}
    gaps = []
    for report in reports:
        if report.kind != "source" or report.id not in sources:
            continue
        for warning in report.warnings:
            if getattr(warning, "code", None) != "older_than_reach":
                continue
            back = span_in_words(warning.values["reach"])
            accounts = workflow.source_accounts(report.id)  # its options': its records may lack one
            for first, last in warning.values["days"]:
                spans = frozenset((p.start, p.end) for p in periods if p.start >= first and p.end <= last)
                if spans:
                    gaps.append(_Gap(
                        report.id, frozenset(sources[report.id].produces()), tuple(report.platforms) or None,
                        tuple(sorted(accounts)) if accounts is not None else None, spans,
                        f"{UNCOVERED_REASON}: source {report.id} returns records {back} back only, and no run "
                        f"fetched {first:%Y-%m-%d}..{last:%Y-%m-%d} in time"))
    return gaps


def _after_ranges(ranges: "list[tuple[str, CountedRange]]", periods: list["Period"],
                  reports: "Sequence[StageReport]") -> list[_Gap]:
    """The periods that end after a table's range: it cannot hold the videos published then,
    unless another table of its platform and accounts reaches the period's end (November's
    table beside October's: it lists what was published in November) or another source of
    them reads records without a range (an API, a file of posts)."""
    gaps = []
    for source_id, counted in ranges:
        if _read_elsewhere(counted, reports):
            continue
        # the last day another table of its series reaches (it lists what was published up to it)
        reached = max((other.last for _, other in ranges if other is not counted and other.kind == counted.kind
                       and other.last > counted.last and _same_series(other, counted.platform, counted.accounts)),
                      default=counted.last)
        spans = frozenset((p.start, p.end) for p in periods if p.end > reached)
        if spans:
            gaps.append(_Gap(source_id, frozenset({counted.kind}), (counted.platform,), counted.accounts or None, spans,
                             f"{UNCOVERED_REASON}: source {source_id} reads a {counted.platform} table of "
                             f"{counted.first:%Y-%m-%d}..{counted.last:%Y-%m-%d} (its export's range), which "
                             "cannot hold what was published after it: add a table whose range reaches this "
                             "period's end"))
    return gaps


def _same_series(other: "CountedRange", platform: str, accounts: "Sequence[str] | None") -> bool:
    """Whether ``other``'s records may be those of ``platform`` and ``accounts`` (none: any)."""
    if other.platform.lower() != platform.lower():
        return False
    return not accounts or not other.accounts or bool(
        {account_key(a) for a in accounts} & {account_key(a) for a in other.accounts})


def _read_elsewhere(counted: "CountedRange", reports: "Sequence[StageReport]") -> bool:
    """Whether a source that read its records without a range (no table of this platform) reads
    the table's platform and accounts too: it holds what was published after the range."""
    for report in reports:
        if report.kind != "source" or not report.ok or any(
                r.platform.lower() == counted.platform.lower() for r in report.ranges):
            continue
        if counted.platform.lower() not in {p.lower() for p in report.platforms}:
            continue
        if not counted.accounts or report.accounts is None or {account_key(a) for a in counted.accounts} & {
                account_key(a) for a in report.accounts}:
            return True
    return False


def _untold_counters(workflow: "Workflow", requests: list["MetricRequest"], records: dict[str, "pl.DataFrame"],
                     periods: list["Period"], rows: "pl.DataFrame", ranges: "list[tuple[str, CountedRange]]",
                     dimensions: list[str], as_of: "datetime | None", production: "Production | None") -> "pl.Expr":
    """The reason of each row whose figure reads a counter a range-counting table cannot tell
    (null for the others): the metrics reading such a table measured again with those counters
    set to :data:`UNTOLD`, over the periods holding such records, and compared by a join."""
    import polars as pl

    from cmflow.stages.measure import measure

    ranges = [(s, r) for s, r in ranges if r.counters]
    untold = _with_untold(records, ranges, periods[0].tz) if ranges else {}
    if not untold:
        return pl.lit(None, dtype=pl.String)
    kinds = set(untold)
    asked = [r for r in requests if any(
        s in r.source_ids and where_admits(r.where, {counted.platform.lower()},
                                           {account_key(a) for a in counted.accounts} or None)
        for s, counted in ranges)
        and (not r.plugin.needed_records() or kinds & {k for g in r.plugin.needed_records() for k in g})]
    # the current period too: a table whose range starts within it lists a video published
    # earlier in it with the range's figures only
    within = [p for p in periods if any(p.start < r.first or p.end > r.last for _, r in ranges)]
    if not asked or not within:
        return pl.lit(None, dtype=pl.String)
    # over every period, as the measure stage: a metric may read the neighbouring periods' records
    # (a calendar item matched with a post published the day after)
    measured = measure(asked, {**records, **untold}, periods, as_of=as_of, production=production)
    again = measured.measurements
    # a metric that failed measured again could not be checked: its figures of those periods
    # have no value in the tables' series (below), rather than kept as they may be wrong
    names = sorted({name for r, report in zip(asked, measured.reports) if report.ok for name in r.plugin.produces()})
    failed = sorted({name for r, report in zip(asked, measured.reports) if not report.ok
                     for name in r.plugin.produces()} - set(names))
    spans = _spans(frozenset((p.start, p.end) for p in within))
    compared = rows.select(*_KEYS, "value").filter(
        pl.col("metric").is_in(names) & pl.struct("period_start", "period_end").is_in(spans)).join(
        again.select(*_KEYS, pl.col("value").alias("__again"), pl.lit(True).alias("__found")),
        on=_KEYS, how="left")
    a, b = pl.col("value"), pl.col("__again")
    same = pl.col("__found").fill_null(False) & ((a.is_null() & b.is_null()) | (
        (a - b).abs() <= 1e-9 * pl.max_horizontal(pl.lit(1.0), a.abs(), b.abs())).fill_null(False))
    changed = compared.filter(~same).select(_KEYS).unique().with_columns(pl.lit(True).alias("__changed"))
    if changed.height == 0 and not failed:
        return pl.lit(None, dtype=pl.String)
    # Whose: the table whose series the row may be (tables of one range said together)
    tables: dict[tuple, list[str]] = {}
    for source_id, counted in ranges:
        tables.setdefault((counted.platform, counted.first, counted.last), []).extend(counted.accounts)
    series = {key: series_may_hold(workflow.clients, (key[0],), accounts or None, {}, dimensions)
              for key, accounts in tables.items()}
    said = pl.lit(None, dtype=pl.String)
    if changed.height:
        marked = rows.select(_KEYS).join(changed, on=_KEYS, how="left", maintain_order="left")["__changed"]
        reasons = {key: f"{UNCOVERED_REASON}: a {key[0]} table counts its videos' figures over {key[1]:%Y-%m-%d}.."
                   f"{key[2]:%Y-%m-%d} (its export's range), so those published before it are not their figures "
                   "to date: export a table whose range reaches back to the oldest video and ends on the "
                   "period's last day" for key in tables}
        said = pl.when(marked.fill_null(False)).then(pl.coalesce(
            *(pl.when(series[key]).then(pl.lit(reasons[key])) for key in tables),
            pl.lit(next(iter(reasons.values())))))
    if failed:
        unchecked = pl.col("metric").is_in(failed) & pl.struct("period_start", "period_end").is_in(spans)
        said = pl.coalesce(said, *(pl.when(unchecked & series[key]).then(pl.lit(
            f"{UNCOVERED_REASON}: could not be checked against the {key[0]} table's range {key[1]:%Y-%m-%d}.."
            f"{key[2]:%Y-%m-%d} (its export's range: the metric failed when measured with the figures the table "
            "cannot tell), so it may count videos published before the range over the range only")) for key in tables))
    return said


def _with_untold(records: dict[str, "pl.DataFrame"], ranges: "list[tuple[str, CountedRange]]", tz: str
                 ) -> dict[str, "pl.DataFrame"]:
    """The record kinds of range-counting tables, each counter a table cannot tell (a record of
    its source, platform and account published outside its range) set to :data:`UNTOLD`: one
    join of the records with the tables, not a pass per table."""
    import polars as pl

    from cmflow.foundation.listening import account_keys
    from cmflow.foundation.records import RECORD_KINDS

    changed = {}
    for kind in sorted({r.kind for _, r in ranges}):
        frame = records.get(kind)
        if frame is None or frame.height == 0 or "source_id" not in frame.columns:
            continue
        table = pl.DataFrame(
            [(s, r.platform.lower(), account_key(account) if account is not None else None, r.first, r.last,
              list(r.counters))
             for s, r in ranges if r.kind == kind for account in (r.accounts or (None,))],
            schema={"source_id": pl.String, "__platform": pl.String, "__account": pl.String, "__first": pl.Date,
                    "__last": pl.Date, "__counters": pl.List(pl.String)}, orient="row")
        time = pl.col(RECORD_KINDS[kind].time_field)
        day = time.dt.date() if frame.schema[RECORD_KINDS[kind].time_field] == pl.Date else \
            time.dt.convert_time_zone(tz).dt.date()
        outside = frame.lazy().with_row_index("__row").select(
            "__row", pl.col("source_id").cast(pl.String), pl.col("platform").cast(pl.String).str.to_lowercase()
            .alias("__platform"), account_keys(pl.col("account").cast(pl.String)).alias("__record_account"),
            day.alias("__day")
        ).join(table.lazy(), on=["source_id", "__platform"], how="inner").filter(
            (pl.col("__account").is_null() | (pl.col("__account") == pl.col("__record_account")))
            & ~pl.col("__day").is_between(pl.col("__first"), pl.col("__last"))
        ).select("__row", "__counters").explode("__counters").collect()
        if outside.height == 0:
            continue
        counters = [c for c in outside["__counters"].unique().to_list() if c in frame.columns]
        indexed = frame.with_row_index("__row")
        changed[kind] = indexed.with_columns(
            pl.when(pl.col("__row").is_in(outside.filter(pl.col("__counters") == c)["__row"].implode()))
            .then(pl.lit(UNTOLD).cast(frame.schema[c])).otherwise(pl.col(c)).alias(c) for c in counters
        ).drop("__row")
    return changed
