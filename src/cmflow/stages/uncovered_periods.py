"""The uncovered_periods stage: a period the files read do not reach has no value, not 0.

A count is 0 for an account that posted nothing in a period its data covers. When the data does
not reach the period at all (the exports start in October 2026 and the comparison is November
2025), 0 would be a change from nothing: "Posts 5, +5 vs last year". Sums (likes, reach) already
have no value there (no record to sum); counts, which every group gets in every period, would say
0. This stage gives them no value too, with the reason, so the comparison says there is nothing to
compare with, and the compare stage fills them from what earlier runs kept (an export holding
only the latest week is compared with the week an earlier run read).

What a metric's sources cover: a source that calls an API (:attr:`cmflow.Source.incremental`) or
hands over the window it was asked for (:attr:`cmflow.Source.window_only`) covers every period
of the run (the fetch window spans them); a file (an export, a sheet) covers the days from its
first record of the kinds the metric reads on. For each group of kinds the metric needs
(:meth:`cmflow.Metric.needed_records`: posts, or the daily activity of accounts without a post
list; calendar items and posts), a period that ends before the files of that group start is
uncovered. A period after a file's last record is left as it is: the export may well have been
downloaded after it, and nothing was posted since.

Takes the workflow, the records (one frame per kind, with ``source_id``), the periods and the
measurements; returns the measurements with the uncovered periods' values made null and their
reason said.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from cmflow.foundation.records import RECORD_KINDS

if TYPE_CHECKING:
    import polars as pl

    from cmflow.foundation.periods import Period
    from cmflow.stages.measure import MetricRequest
    from cmflow.workflow import Workflow

UNCOVERED_REASON = "no record read reaches this period"
"""The start of an uncovered period's reason; the rest names the day the files start (reports match on it)."""


def uncovered_periods(workflow: "Workflow", requests: list["MetricRequest"], records: dict[str, "pl.DataFrame"],
                      periods: list["Period"], measurements: "pl.DataFrame") -> "pl.DataFrame":
    """``measurements`` with no value, and the reason, in each period a metric's files do not reach."""
    import polars as pl

    sources = {entry.id: entry.plugin for entry in workflow.sources}
    owners: dict[str, list[MetricRequest]] = {}
    for request in requests:
        for name in request.plugin.produces():
            owners.setdefault(name, []).append(request)
    blanks = []
    for request in requests:
        uncovered = _uncovered(request, sources, records, periods)
        if not uncovered:
            continue
        # A measurement two entries produce (the same metric twice) is blanked only by an entry that owns it alone.
        names = [name for name in request.plugin.produces() if len(owners[name]) == 1]
        blanks += [(name, label, reason) for name in names for label, reason in uncovered.items()]
    if not blanks or measurements.height == 0:
        return measurements
    blank = pl.DataFrame(blanks, schema={"metric": pl.String, "period": pl.String, "_uncovered": pl.String},
                         orient="row")
    joined = measurements.join(blank.with_columns(pl.col("metric").cast(measurements.schema["metric"]),
                                                  pl.col("period").cast(measurements.schema["period"])),
                               on=["metric", "period"], how="left")
    uncovered = pl.col("_uncovered").is_not_null()
    return joined.with_columns(
        pl.when(uncovered).then(None).otherwise(pl.col("value")).alias("value"),
        pl.when(uncovered & pl.col("value").is_not_null()).then(pl.col("_uncovered"))
        .otherwise(pl.col("reason")).alias("reason"),
    ).drop("_uncovered")


def _uncovered(request: "MetricRequest", sources: dict, records: dict[str, "pl.DataFrame"],
               periods: list["Period"]) -> dict[str, str]:
    """Period label -> reason, for the periods that end before the request's files start."""
    import polars as pl

    reading = [sources[i] for i in request.source_ids if i in sources]
    starts: list[tuple[date, str]] = []  # per group of kinds the metric needs: the day its files start
    for group in request.plugin.needed_records():
        providing = [s for s in reading if s.produces() & set(group)]
        if not providing or any(s.incremental or s.window_only for s in providing):
            continue  # an API's fetch window spans every period of the run
        firsts = []
        for kind in group:
            frame = records.get(kind)
            if frame is None or frame.height == 0 or "source_id" not in frame.columns:
                continue
            first = frame.lazy().filter(pl.col("source_id").is_in(request.source_ids)).select(
                pl.col(RECORD_KINDS[kind].time_field).min()).collect().item()
            if first is not None:
                firsts.append((_day(first, periods), kind))
        if firsts:
            starts.append(min(firsts))
    uncovered = {}
    for period in periods:
        before = [(first, kind) for first, kind in starts if period.end < first]
        if before:
            first, kind = max(before)
            uncovered[period.label] = (f"{UNCOVERED_REASON}: the files read start on {first.isoformat()} "
                                       f"({kind.replace('_', ' ')}s)")
    return uncovered


def _day(value: "date | datetime", periods: list["Period"]) -> date:
    """A record's day in the run's time zone (a date as it is)."""
    if isinstance(value, datetime):
        from zoneinfo import ZoneInfo

        return value.astimezone(ZoneInfo(periods[0].tz)).date() if value.tzinfo else value.date()
    return value
