"""The source_gaps stage: a period a source's records do not cover has no value in the series
they may be in, not 0 and not another period's figures.

Two kinds of gap, both said by the fetch stage's reports:

- **days an API could no longer return**: a source that reaches back only so far (X's recent
  search, 7 days: :meth:`cmflow.Source.reaches_back`) and that no run fetched in time (the gap
  warning ``older_than_reach`` names the days, :mod:`cmflow.stages.incremental`). A period
  within those days would count 0 posts, a change from nothing; it has no value, with the
  reason "no record read reaches this period: source x_search returns records 7 days back only,
  and no run fetched 2026-11-09..2026-11-16 in time". A period only partly within them keeps its
  figure (the warning says which days it lacks);
- **a table that counts over one range** (YouTube Studio's: each video's views over the
  export's range, :meth:`~cmflow.plugins.context.FetchContext.counts_over`): a comparison or
  trend period other than that range and the run's own gets no value from it, with the reason
  naming the range, rather than the range's figures under another period's name. The records
  are there, though: a figure they do not change (the overall engagement rate by reach, when the
  videos have no reach) keeps its value; the metrics that read the table are measured again
  without its records, for those periods only, to tell.

Either is blanked only in the series the source's records may be in
(:func:`~cmflow.stages.source_series.series_may_hold`, the rule failed_sources uses): its
platforms, its accounts, the clients owning them, and only for a metric that reads the source's
records (its ``sources``, the kinds it needs) whose ``where`` leaves them in. Facebook's previous
week stays when X's search could not reach it; another client's rows stay when a client's
YouTube table counts over its range.

The gaps are merged by metric, period and source before they touch the measurements: one join
of the measurements with that small table, and one condition per source, whatever the number of
gaps (50 comparison periods of one source are one column, not 50 passes).

Takes the workflow, the metric requests, the records (for a source whose accounts are not known:
what the others read), the periods, the measurements and the fetch stage's reports; returns the
measurements with the gaps' values made null and their reason said.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from cmflow.foundation.measurements import dimension_columns
from cmflow.stages.incremental import span_in_words
from cmflow.stages.source_series import RecordsRead, series_may_hold, with_account_keys
from cmflow.stages.uncovered_periods import NO_RECORDS_REASON, UNCOVERED_REASON

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from datetime import date, datetime

    import polars as pl

    from cmflow.foundation.periods import Period
    from cmflow.foundation.production import Production
    from cmflow.plugins.result import StageReport
    from cmflow.stages.measure import MetricRequest
    from cmflow.workflow import Workflow


@dataclass(frozen=True)
class SourceGap:
    """Periods of one source's records (of ``kinds``; empty: every kind it returns) that have
    no value in the series those records may hold, with the reason."""

    source_id: str
    kinds: frozenset[str]
    platforms: tuple[str, ...] | None
    accounts: tuple[str, ...] | None
    reason: str
    within: "Callable[[date, date], bool]"
    """Whether the period from one day to another (both included) is in the gap."""
    present: bool = False
    """Whether the records are there with figures that are not the period's (a range-counting
    table's), rather than missing: a row whose figure they do not change keeps it."""


def source_gaps(workflow: "Workflow", requests: list["MetricRequest"], records: dict[str, "pl.DataFrame"],
                periods: list["Period"], measurements: "pl.DataFrame", reports: "Sequence[StageReport]",
                *, as_of: "datetime | None" = None, production: "Production | None" = None) -> "pl.DataFrame":
    """``measurements`` with no value, and the reason, in each period a source's records do not
    cover, in the series they may be in (``as_of`` and ``production`` as the measure stage had
    them: a range-counting table's gap measures its metrics again without the table)."""
    import polars as pl

    gaps = [*_unreached_days(reports), *_ranges(reports, periods[0] if periods else None)]
    if not gaps or measurements.height == 0:
        return measurements
    sources = {entry.id: entry.plugin for entry in workflow.sources}
    spans = measurements.select("period_start", "period_end").unique().rows()
    dimensions = [d for d in dimension_columns(measurements) if d != "rank"]
    scopes: dict[tuple, int] = {}  # (source, its kinds and series, the metric's where) -> its condition's column
    conditions: list["pl.Expr"] = []
    reasons: dict[tuple, dict[int, str]] = {}  # (metric, start, end) -> scope -> the first gap's reason
    remeasured: dict[int, tuple[SourceGap, list["MetricRequest"], set]] = {}  # present records: measured without
    for request in requests:
        needed = {kind for group in request.plugin.needed_records() for kind in group}
        for gap in gaps:
            plugin = sources.get(gap.source_id)
            kinds = gap.kinds or (plugin.produces() if plugin is not None else set())
            if gap.source_id not in request.source_ids or (needed and not needed & set(kinds)):
                continue
            within = [(start, end) for start, end in spans if gap.within(start, end)]
            if not within:
                continue
            key = (gap.source_id, gap.kinds, gap.platforms, gap.accounts, repr(sorted(request.where.items())),
                   gap.present)
            if key not in scopes:
                read = None if gap.accounts is not None else RecordsRead.of(_others(records, request, gap, needed))
                scopes[key] = len(conditions)
                conditions.append(series_may_hold(workflow.clients, gap.platforms, gap.accounts, request.where,
                                                  dimensions, read))
            if gap.present:
                _, asked, spans_in = remeasured.setdefault(scopes[key], (gap, [], set()))
                if not any(r is request for r in asked):  # two ranges of one table's series: measured once
                    asked.append(request)
                spans_in.update(within)
            for name in request.plugin.produces():
                for start, end in within:
                    reasons.setdefault((name, start, end), {}).setdefault(scopes[key], gap.reason)
    if not reasons:
        return measurements
    for index, (gap, asked, within) in remeasured.items():
        unchanged = _unchanged(measurements, records, gap, asked, [p for p in periods if (p.start, p.end) in within],
                               periods[0], as_of, production)
        name = f"__same_{index}"
        measurements = measurements.join(unchanged.with_columns(pl.lit(True).alias(name)),
                                         on=["metric", "period_start", "period_end", "series_key"], how="left",
                                         maintain_order="left")
        conditions[index] = conditions[index] & ~pl.col(name).fill_null(False)
    return _blanked(measurements, reasons, conditions).select(
        [c for c in measurements.columns if not c.startswith("__same_")])


def _unchanged(measurements: "pl.DataFrame", records: dict[str, "pl.DataFrame"], gap: SourceGap,
               requests: list["MetricRequest"], within: list["Period"], current: "Period",
               as_of: "datetime | None", production: "Production | None") -> "pl.DataFrame":
    """The rows (metric, period, series) of ``within`` whose figure is the same measured without
    the gap's records: those records do not count in it (a YouTube table's videos have no reach:
    the overall engagement rate by reach is the other platforms'), so it keeps its value."""
    import polars as pl

    from cmflow.stages.measure import measure

    without = {}
    for kind, frame in records.items():
        if gap.kinds and kind not in gap.kinds or "source_id" not in frame.columns:
            without[kind] = frame
            continue
        theirs = pl.col("source_id") == gap.source_id
        if gap.platforms and "platform" in frame.columns:
            theirs = theirs & pl.col("platform").cast(pl.String).str.to_lowercase().is_in(
                [p.lower() for p in gap.platforms])
        if gap.accounts and "account" in frame.columns:
            theirs = theirs & pl.col("account").cast(pl.String).is_in(list(gap.accounts))
        without[kind] = frame.filter(~theirs.fill_null(False))
    again = measure(requests, without, [current, *within], as_of=as_of, production=production).measurements
    keys = ["metric", "period_start", "period_end", "series_key"]
    ours = measurements.select(*keys, "value")
    same = ours.join(again.select(*keys, pl.col("value").alias("_again")), on=keys, how="inner").filter(
        (pl.col("value") == pl.col("_again")) | (pl.col("value").is_null() & pl.col("_again").is_null()))
    return same.select(keys).unique()


def _blanked(measurements: "pl.DataFrame", reasons: dict[tuple, dict[int, str]],
             conditions: list["pl.Expr"]) -> "pl.DataFrame":
    """The measurements with no value, and the reason, where a gap's period and series meet."""
    import polars as pl

    columns = [f"__gap_{i}" for i in range(len(conditions))]
    table = pl.DataFrame(
        [(metric, start, end, *(said.get(i) for i in range(len(conditions))))
         for (metric, start, end), said in reasons.items()],
        schema={"metric": pl.String, "period_start": measurements.schema["period_start"],
                "period_end": measurements.schema["period_end"], **{c: pl.String for c in columns}}, orient="row")
    joined = with_account_keys(measurements) if "account" in measurements.columns else measurements
    joined = joined.join(table, on=["metric", "period_start", "period_end"], how="left", maintain_order="left")
    said = pl.coalesce(*(pl.when(condition).then(pl.col(column)) for condition, column in zip(conditions, columns)))
    value, reason = pl.col("value"), pl.col("reason")
    nothing = value.is_null() & (reason.is_null() | reason.str.contains(NO_RECORDS_REASON)).fill_null(True)
    return joined.with_columns(said.alias("__said")).with_columns(
        pl.when(pl.col("__said").is_not_null()).then(None).otherwise(value).cast(measurements.schema["value"])
        .alias("value"),
        pl.when(pl.col("__said").is_not_null() & (value.is_not_null() | nothing)).then(pl.col("__said"))
        .otherwise(reason).alias("reason")).select(measurements.columns)


def _others(records: dict[str, "pl.DataFrame"], request: "MetricRequest", gap: SourceGap,
            needed: set[str]) -> list["pl.DataFrame"]:
    """The records of the metric's other sources, of the kinds it reads (what they account for)."""
    import polars as pl

    others = [s for s in request.source_ids if s != gap.source_id]
    return [frame.filter(pl.col("source_id").is_in(others)) for kind, frame in records.items()
            if (not needed or kind in needed) and frame.height and "source_id" in frame.columns]


def _unreached_days(reports: "Sequence[StageReport]") -> list[SourceGap]:
    """The days each source's platform no longer returned and no run fetched in time, from the
    fetch stage's gap warnings (``older_than_reach``): a period within them."""
    gaps = []
    for report in reports:
        if report.kind != "source":
            continue
        for warning in report.warnings:
            if getattr(warning, "code", None) != "older_than_reach":
                continue
            back = span_in_words(warning.values["reach"])
            for first, last in warning.values["days"]:
                gaps.append(SourceGap(
                    report.id, frozenset(), tuple(report.platforms) or None,
                    tuple(report.accounts) if report.accounts is not None else None,
                    f"{UNCOVERED_REASON}: source {report.id} returns records {back} back only, and no run "
                    f"fetched {first:%Y-%m-%d}..{last:%Y-%m-%d} in time",
                    lambda start, end, first=first, last=last: start >= first and end <= last))
    return gaps


def _ranges(reports: "Sequence[StageReport]", current: "Period | None") -> list[SourceGap]:
    """Each range-counting table's gap: any period but its range and the run's own (whose
    figures the table gives; the fetch warning says when its range is another)."""
    gaps = []
    for report in reports:
        if report.kind != "source":
            continue
        for kind, platform, accounts, first, last in report.ranges:
            own = {(first, last)} | ({(current.start, current.end)} if current is not None else set())
            gaps.append(SourceGap(
                report.id, frozenset({kind}), (platform,), tuple(accounts) if accounts else None,
                f"{UNCOVERED_REASON}: source {report.id} reads a {platform} table whose figures are over "
                f"{first:%Y-%m-%d}..{last:%Y-%m-%d} (its export's range), not this period's: export the table "
                "for this period",
                lambda start, end, own=frozenset(own): (start, end) not in own, present=True))
    return gaps

