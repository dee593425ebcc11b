"""The uncovered_periods stage: a period the files read do not reach has no value, not 0.

A count is 0 for an account that posted nothing in a period its data covers. When the data does
not reach the period at all (the exports start in October 2026 and the comparison is November
2025), 0 would be a change from nothing: "Posts 5, +5 vs last year". Sums (likes, reach) already
have no value there (no record to sum); counts, which every group gets in every period, would say
0. This stage gives them no value too, with the reason, so the comparison says there is nothing to
compare with, and the compare stage fills them from what earlier runs kept (an export holding
only the latest week is compared with the week an earlier run read).

What a metric's sources cover: a source that calls an API (:attr:`cmflow.Source.incremental`) or
hands over the window it was asked for (:attr:`cmflow.Source.window_only`) is taken to cover every
period of the run (the fetch window spans them), but for the days older than its platform returns
(:meth:`cmflow.Source.reaches_back`: X's recent search, 7 days) that no run fetched in time, which
the fetch stage's gap warning names (:mod:`cmflow.stages.incremental`): a period within them has
no value, with the reason, rather than 0; a file (an export, a sheet) covers the days from its
first record on. Coverage is worked out per series: the records the metric reads (its sources,
its ``where``) of the series' client, else all of them, start on a day; a period that ends before
it is uncovered for that series (an account of a covered client that had not posted yet posted 0). For each group
of kinds the metric needs (:meth:`cmflow.Metric.needed_records`: posts, or the daily activity of
accounts without a post list; calendar items and posts), the group's own first day counts. A
period after the last record is left as it is: the export may well have been downloaded after
it, and nothing was posted since. A sum already without a value there ("no posts in this
period") gets the same reason: nothing says nothing happened.

Takes the workflow, the records (one frame per kind, with ``source_id``), the periods, the
measurements and the fetch stage's reports (their gap warnings); returns the measurements with
the uncovered periods' values made null and their reason said.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cmflow.foundation.records import RECORD_KINDS
from cmflow.foundation.where_filters import rows_condition
from cmflow.stages.incremental import span_in_words

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import date

    import polars as pl

    from cmflow.plugins.result import StageReport

    from cmflow.foundation.periods import Period
    from cmflow.stages.measure import MetricRequest
    from cmflow.workflow import Workflow

UNCOVERED_REASON = "no record read reaches this period"
"""The start of an uncovered period's reason; the rest names the day the records start (reports match on it)."""

NO_RECORDS_REASON = r"^no \w+( or \w+)? (in|this) "
"""The reasons a metric gives a group without records ("no posts in this period"): a claim that
nothing happened, untrue where no record reaches (the failed_sources stage reads it too)."""

SERIES_LEVELS = (("client",), ())
"""What a series' first day is looked up by: its client's records (an agency onboards a client on
a day, and its exports start then), else every record the metric reads. Not the account's: within
what a client's records cover, an account that posted nothing yet (a page opened later) posted 0."""


def uncovered_periods(workflow: "Workflow", requests: list["MetricRequest"], records: dict[str, "pl.DataFrame"],
                      periods: list["Period"], measurements: "pl.DataFrame",
                      reports: "Sequence[StageReport]" = ()) -> "pl.DataFrame":
    """``measurements`` with no value, and the reason, in each period a series' files do not
    reach, or that lies in days an API source could no longer return (``reports``' gap warnings)."""
    import polars as pl

    if measurements.height == 0:
        return measurements
    sources = {entry.id: entry.plugin for entry in workflow.sources}
    unreached, ranges = _unreached_days(reports), _ranges(reports)
    firsts: dict[tuple, "pl.DataFrame | None"] = {}
    parts, done, gaps = [], [], []  # gaps: (metric names, reason, rows it applies to)
    indexed = measurements.with_row_index("_order")  # the rows keep their order
    for request in requests:
        names = list(request.plugin.produces())
        rows = indexed.filter(pl.col("metric").is_in(names))
        starts = []
        for group in request.plugin.needed_records():
            ids = [i for i in request.source_ids if i in sources and sources[i].produces() & set(group)]
            reading = [sources[i] for i in ids]
            gaps += [(names, *_out_of_range(i, table, periods[0])) for i in ids for table in ranges.get(i, ())
                     if table[0] in group]
            if not reading or any(s.incremental or s.window_only for s in reading):
                # an API's fetch window spans every period of the run, but for the days it could not return
                gaps += [(names, said, (pl.col("period_start") >= first) & (pl.col("period_end") <= last))
                         for i in ids for said, first, last in unreached.get(i, ())]
                continue
            found = []  # the kinds of a group are alternatives: whichever starts first covers
            for kind in group:
                key = (kind, tuple(request.source_ids), repr(sorted(request.where.items())))
                if key not in firsts:
                    firsts[key] = _first_days(records.get(kind), kind, request, periods)
                if firsts[key] is not None:
                    found.append((kind, firsts[key]))
            if found:
                starts.append((" or ".join(RECORD_KINDS[k].counted(2).split(" ", 1)[1] for k, _ in found),
                               pl.concat([f for _, f in found], how="diagonal_relaxed")))
        if not starts or rows.height == 0:
            continue
        parts.append(_blanked(rows, starts))
        done += names
    if parts:
        untouched = indexed.filter(~pl.col("metric").is_in(done))
        measurements = pl.concat([untouched, *parts], how="vertical_relaxed").sort("_order").drop("_order")
    return _gaps_blanked(measurements, gaps) if gaps else measurements


def _ranges(reports: "Sequence[StageReport]") -> dict[str, list[tuple[str, str, "date", "date"]]]:
    """Source id -> (record kind, platform, first, last) of each of its tables whose counters cover an
    export's range (:attr:`~cmflow.plugins.result.StageReport.ranges`)."""
    return {report.id: list(report.ranges) for report in reports if report.kind == "source" and report.ranges}


def _out_of_range(source_id: str, table: tuple[str, str, "date", "date"], current: "Period") -> tuple[str, "pl.Expr"]:
    """The reason, and the rows it applies to, of the periods a range-counting table does not
    cover (YouTube Studio's: each video's views over the export's range): any but its range and
    the run's own period (whose figures the table gives, said by the fetch warning when the range
    differs), in the series of its platform and the overall rows."""
    import polars as pl

    _, platform, first, last = table
    said = (f"{UNCOVERED_REASON}: source {source_id} reads a {platform} table whose figures are over "
            f"{first:%Y-%m-%d}..{last:%Y-%m-%d} (its export's range), not this period's: export the table for this period")
    outside = ~(((pl.col("period_start") == first) & (pl.col("period_end") == last))
                | ((pl.col("period_start") == current.start) & (pl.col("period_end") == current.end)))
    return said, outside & (pl.col("platform").is_null() | (pl.col("platform") == platform))


def _unreached_days(reports: "Sequence[StageReport]") -> dict[str, list[tuple[str, "date", "date"]]]:
    """Source id -> the spans of days (said, first, last) its platform no longer returned and no
    run fetched in time, from the fetch stage's gap warnings (``older_than_reach``)."""
    unreached: dict[str, list[tuple[str, "date", "date"]]] = {}
    for report in reports:
        if report.kind != "source":
            continue
        for warning in report.warnings:
            if getattr(warning, "code", None) != "older_than_reach":
                continue
            back = span_in_words(warning.values["reach"])
            for first, last in warning.values["days"]:
                said = (f"{UNCOVERED_REASON}: source {report.id} returns records {back} back only, and no run "
                        f"fetched {first:%Y-%m-%d}..{last:%Y-%m-%d} in time")
                unreached.setdefault(report.id, []).append((said, first, last))
    return unreached


def _gaps_blanked(measurements: "pl.DataFrame", gaps: list[tuple[list[str], str, "pl.Expr"]]) -> "pl.DataFrame":
    """``measurements`` with no value, and the reason, in the rows of each gap's metrics it
    applies to: a period within days one of its API sources could no longer return (a period
    partly within them keeps its value: the gap warning says which of its days are missing), or
    one a range-counting table does not cover."""
    import polars as pl

    if "platform" not in measurements.columns:
        measurements = measurements.with_columns(pl.lit(None, dtype=pl.String).alias("platform"))
        return _gaps_blanked(measurements, gaps).drop("platform")
    said = pl.lit(None, dtype=pl.String)
    for names, reason, rows in gaps:
        within = pl.col("metric").is_in(names) & rows
        said = pl.when(within.fill_null(False)).then(pl.lit(reason)).otherwise(said)
    value, reason = pl.col("value"), pl.col("reason")
    nothing = value.is_null() & (reason.is_null() | reason.str.contains(NO_RECORDS_REASON)).fill_null(True)
    uncovered = said.is_not_null()
    return measurements.with_columns(
        pl.when(uncovered).then(None).otherwise(value).alias("value"),
        pl.when(uncovered & (value.is_not_null() | nothing)).then(said).otherwise(reason).alias("reason"))


def _first_days(frame: "pl.DataFrame | None", kind: str, request: "MetricRequest",
                periods: list["Period"]) -> "pl.DataFrame | None":
    """The first day of ``kind``'s records the request reads, per account (with its platform and
    client): one pass over the records; None when it reads none."""
    import polars as pl

    if frame is None or frame.height == 0 or "source_id" not in frame.columns:
        return None
    record = RECORD_KINDS[kind]
    lazy = frame.lazy().filter(pl.col("source_id").is_in(request.source_ids))
    applicable = {k: v for k, v in request.where.items()
                  if k in record.field_names and k not in record.not_selected_by_where}
    if applicable:
        lazy = lazy.filter(rows_condition(applicable, frame.columns))
    time = pl.col(record.time_field)
    if frame.schema[record.time_field] != pl.Date:
        time = time.dt.convert_time_zone(periods[0].tz).dt.date()
    dims = [c for c in ("platform", "account", "client") if c in frame.columns]
    first = lazy.group_by(dims).agg(time.min().alias("first")).with_columns(
        pl.col(c).cast(pl.String) for c in dims).collect()
    return None if first.height == 0 else first


def _blanked(rows: "pl.DataFrame", starts: list[tuple[str, "pl.DataFrame"]]) -> "pl.DataFrame":
    """``rows`` (one metric's measurements), each with no value and the reason where its series'
    records of one group of kinds (named in words, with the first days of its records) start
    after its period ends."""
    import polars as pl

    uncovered = pl.lit(False)
    said = pl.lit(None, dtype=pl.String)
    columns = []
    for n, (nouns, first) in enumerate(starts):
        name = f"_first_{n}"
        rows = rows.with_columns(_series_first(rows, first).alias(name))
        late = (pl.col("period_end") < pl.col(name)).fill_null(False)
        said = pl.when(late).then(pl.format(f"{UNCOVERED_REASON}: the records read start on {{}} ({nouns})",
                                            pl.col(name).dt.to_string("%Y-%m-%d"))).otherwise(said)
        uncovered = uncovered | late
        columns.append(name)
    value, reason = pl.col("value"), pl.col("reason")
    nothing = value.is_null() & (reason.is_null() | reason.str.contains(NO_RECORDS_REASON)).fill_null(True)
    return rows.with_columns(
        pl.when(uncovered).then(None).otherwise(value).alias("value"),
        pl.when(uncovered & (value.is_not_null() | nothing)).then(said).otherwise(reason).alias("reason"),
    ).drop(columns)


def _series_first(rows: "pl.DataFrame", first: "pl.DataFrame") -> "pl.Series":
    """Each row's first day (:data:`SERIES_LEVELS`): its client's, else the earliest."""
    import polars as pl

    looked = []
    for level in SERIES_LEVELS:
        if any(c not in first.columns or c not in rows.columns for c in level):
            continue
        if not level:
            looked.append(pl.repeat(first["first"].min(), rows.height, eager=True))
            continue
        by = first.filter(pl.all_horizontal(pl.col(c).is_not_null() for c in level)).group_by(list(level)).agg(
            pl.col("first").min())
        known = pl.all_horizontal(pl.col(c).is_not_null() for c in level)
        wanted = rows.select(*[pl.col(c).cast(pl.String) for c in level], known.alias("_known"))
        joined = wanted.with_row_index("_row").join(by, on=list(level), how="left").sort("_row")
        looked.append(joined.select(pl.when(pl.col("_known")).then(pl.col("first"))).to_series())
    if not looked:
        return pl.repeat(None, rows.height, dtype=pl.Date, eager=True)
    return pl.select(pl.coalesce(looked)).to_series()
