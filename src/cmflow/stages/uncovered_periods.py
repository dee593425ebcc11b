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
period of the run (the fetch window spans them; days older than a platform returns are the gap
warning's, :mod:`cmflow.stages.incremental`); a file (an export, a sheet) covers the days from its
first record on. Coverage is worked out per series: the records the metric reads (its sources,
its ``where``) of the series' client, else all of them, start on a day; a period that ends before
it is uncovered for that series (an account of a covered client that had not posted yet posted 0). For each group
of kinds the metric needs (:meth:`cmflow.Metric.needed_records`: posts, or the daily activity of
accounts without a post list; calendar items and posts), the group's own first day counts. A
period after the last record is left as it is: the export may well have been downloaded after
it, and nothing was posted since. A sum already without a value there ("no posts in this
period") gets the same reason: nothing says nothing happened.

Takes the workflow, the metric requests, the records (one frame per kind, with ``source_id``),
the periods and what the measure stage made; returns it with the uncovered periods' values made
null and their reason said.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from cmflow.foundation.records import RECORD_KINDS
from cmflow.foundation.where_filters import rows_condition

if TYPE_CHECKING:
    import polars as pl

    from cmflow.foundation.periods import Period
    from cmflow.stages.measure import Measured, MetricRequest
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
                      periods: list["Period"], measured: "Measured") -> "Measured":
    """``measured``, its measurements with no value, and the reason, in each period a series'
    files do not reach."""
    import polars as pl

    measurements = measured.measurements
    if measurements.height == 0:
        return measured
    sources = {entry.id: entry.plugin for entry in workflow.sources}
    firsts: dict[tuple, "pl.DataFrame | None"] = {}
    parts, done = [], []
    earliest_end = min(p.end for p in periods)  # (a run has at least its current period)
    indexed = None
    for request in requests:
        names = list(request.plugin.produces())
        starts = []
        for group in request.plugin.needed_records():
            reading = [sources[i] for i in request.source_ids if i in sources and sources[i].produces() & set(group)]
            if not reading or any(s.incremental or s.window_only for s in reading):
                continue  # an API's fetch window spans every period of the run
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
        # A series is blanked in a period that ends before its records start: records that all
        # start by the end of the earliest period blank nothing (the usual run), and cost no query.
        starts = [(nouns, first) for nouns, first in starts
                  if (latest := first["first"].max()) is not None and latest > earliest_end]
        if not starts:
            continue
        if indexed is None:
            indexed = measurements.with_row_index("_order")  # the rows keep their order
        rows = indexed.filter(pl.col("metric").is_in(names))
        if rows.height == 0:
            continue
        parts.append(_blanked(rows, starts))
        done += names
    if not parts:
        return measured
    untouched = indexed.filter(~pl.col("metric").is_in(done))
    return replace(measured, measurements=pl.concat([untouched, *parts], how="vertical_relaxed")
                   .sort("_order").drop("_order"))


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
