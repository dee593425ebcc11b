"""Measurements: the columnar output of metrics, and the helpers metrics build them with.

A measurement frame has one row per (metric, period, dimensions) with these columns:

- ``period``: the period's label (``current``, ``previous_period`` ...) while a run computes;
- ``metric``, ``unit``, ``value`` (float, null when there is no value) and ``reason`` (why
  there is no value, e.g. "reach is 0"): a missing value is never a silent 0;
- ``basis``: which records the figure comes from, ``posts`` (posts published in the period),
  ``activity`` (daily account activity in the period) or ``posts+activity`` (a group of accounts
  counted from both); null for the metrics of other records (follower counts, mentions ...);
- dimension columns (``platform``, ``account``, ``format``, ``pillar``, ``campaign``,
  ``post_id`` ...), null where a row is not split by that dimension; ``rank`` for rankings.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

if TYPE_CHECKING:
    import polars as pl

    from cmflow.foundation.periods import Period

DIMENSIONS: tuple[str, ...] = ("client", "brand", "platform", "account", "format", "pillar", "campaign",
                               "task_type", "person", "owner", "post_id")
"""Known dimension columns, in display order. Metrics may add their own string columns."""

GROUPINGS: dict[str, tuple[str, ...]] = {
    "overall": (),
    "client": ("client",),
    "brand": ("brand",),
    "platform": ("platform",),
    "account": ("platform", "account"),
    "format": ("format",),
    "pillar": ("pillar",),
    "campaign": ("campaign",),
    "task_type": ("task_type",),
    "person": ("person",),
    "owner": ("owner",),
    "post": ("platform", "account", "post_id"),
}
"""Names accepted in a metric's ``by`` option, and the columns each groups by (``post``: the
comments of each post, for the metrics of records that belong to a post; ``brand``: the mentions of
each brand a workflow's ``[listen]`` watches; ``task_type`` and ``person``: the time entries of each
kind of task and of each person; ``owner``: the calendar items each person is responsible for)."""

CORE_COLUMNS: tuple[str, ...] = ("period", "metric", "unit", "value", "reason", "basis")

BREAKDOWN_DIMENSIONS: tuple[str, ...] = ("format", "pillar", "campaign", "task_type", "person", "owner")
"""Optional record fields a metric can break down by: a record without one is labelled NONE_LABEL."""
NONE_LABEL = "(none)"
"""The group of records that have no value for a breakdown (posts without a campaign)."""
CATEGORICAL_DIMENSIONS: tuple[str, ...] = ("platform", "account")
"""Record columns a metric reads as ``pl.Categorical`` (with ``period``): grouped and joined by
integer codes, not strings. Cast to ``pl.String`` before joining them with a frame of strings."""


def grouping_columns(by: Sequence[str | Sequence[str]]) -> list[tuple[str, ...]]:
    """Turn a ``by`` option (``["overall", "account", ["platform", "format"]]``) into column sets."""
    sets: list[tuple[str, ...]] = []
    for item in by:
        names = [item] if isinstance(item, str) else list(item)
        columns: list[str] = []
        for name in names:
            for column in GROUPINGS[name]:
                if column not in columns:
                    columns.append(column)
        if tuple(columns) not in sets:
            sets.append(tuple(columns))
    return sets


def aggregate(
    frame: "pl.DataFrame | pl.LazyFrame",
    grouping_sets: Iterable[tuple[str, ...]],
    aggregations: Sequence["pl.Expr"],
    *,
    periods: Sequence[str] = (),
) -> "pl.DataFrame":
    """Group ``frame`` by period and each grouping set, one aggregation pass per set.

    With ``periods`` (labels), every group seen in any period gets a row in every period, its
    aggregates null where it had no record: "no posts this week" stays visible instead of the
    account silently vanishing from the report.
    """
    import polars as pl

    lazy = frame.lazy()
    parts = []
    for dims in grouping_sets:
        records = lazy.filter(pl.col("post_id").is_not_null()) if "post_id" in dims else lazy  # not DMs
        grouped = records.group_by(["period", *dims]).agg(aggregations)
        parts.append(with_every_period(grouped, dims, periods) if periods else grouped)
    if not parts:
        return pl.DataFrame()
    return pl.concat(pl.collect_all(parts), how="diagonal_relaxed")


def with_every_period(grouped: "pl.DataFrame | pl.LazyFrame", by: Sequence[str],
                      periods: Sequence[str]) -> "pl.DataFrame | pl.LazyFrame":
    """``grouped`` (by ``period`` and ``by``) with a row for every group in every one of
    ``periods`` (labels), its other columns null where the group had none (see :func:`aggregate`)."""
    import polars as pl

    lazy = grouped.lazy()
    labels = pl.LazyFrame({"period": list(periods)}, schema={"period": lazy.collect_schema()["period"]})
    groups = lazy.select(*by).unique() if by else pl.LazyFrame({"_": [0]})
    grid = labels.join(groups, how="cross").drop("_", strict=False)
    complete = grid.join(lazy, on=["period", *by], how="left", nulls_equal=True)
    return complete.collect() if isinstance(grouped, pl.DataFrame) else complete


def ratio(numerator: "pl.Expr", denominator: "pl.Expr", *, scale: float = 100.0) -> "pl.Expr":
    """``numerator / denominator * scale``, null when the denominator is null or zero."""
    import polars as pl

    return pl.when(denominator > 0).then(numerator / denominator * scale).otherwise(None)


def measurement_rows(
    frame: "pl.DataFrame",
    *,
    metric: str,
    unit: str,
    value: "pl.Expr",
    reason: "pl.Expr | None" = None,
    extra_dimensions: Sequence[str] = (),
    basis: "pl.Expr | str | None" = None,
) -> "pl.DataFrame":
    """Select a measurement frame out of an aggregated one: keeps period and dimension columns.

    ``basis`` says which records the figures come from: ``"posts"``, ``"activity"`` or
    ``"posts+activity"`` (a string for every row, or an expression per row); omitted for a
    metric of other records."""
    import polars as pl

    keep = [c for c in frame.columns
            if c == "period" or c in DIMENSIONS or c == "rank" or c in extra_dimensions]
    no_reason = pl.lit(None, dtype=pl.String)
    return frame.select(
        *keep,
        pl.lit(metric).alias("metric"),
        pl.lit(unit).alias("unit"),
        value.cast(pl.Float64).alias("value"),
        (reason if reason is not None else no_reason).cast(pl.String).alias("reason"),
        (pl.lit(basis) if isinstance(basis, str) else basis if basis is not None else no_reason)
        .cast(pl.String).alias("basis"),
    ).with_columns(
        # A reason is only kept where there is no value.
        pl.when(pl.col("value").is_null()).then(pl.col("reason")).otherwise(None).alias("reason")
    )


def standardise(frames: Sequence["pl.DataFrame"]) -> "pl.DataFrame":
    """Concatenate measurement frames into one with every known column, in a stable order.

    Categorical columns stay categorical (:func:`with_series_key` makes them strings)."""
    import polars as pl

    frames = [f for f in frames if f.height]
    if not frames:
        return empty_measurements()
    merged = pl.concat(frames, how="diagonal_relaxed")
    present = set(merged.columns)

    def column(name: str, dtype: "pl.DataType") -> "pl.Expr":
        # basis is missing from a plugin's frame built without measurement_rows. Period and
        # dimensions that come as categoricals from the records (see MetricInput) stay so (the
        # measure stage turns them into strings once per distinct value); others are strings.
        if name not in present:
            return pl.lit(None, dtype=dtype).alias(name)
        coded = dtype == pl.String and isinstance(merged.schema[name], (pl.Categorical, pl.Enum))
        return pl.col(name) if coded else pl.col(name).cast(dtype)

    extra = [c for c in merged.columns if c not in (*CORE_COLUMNS, *DIMENSIONS, "rank")]
    return merged.select(
        column("period", pl.String), *CORE_COLUMNS[1:-1], column("basis", pl.String),
        *[column(c, pl.String) for c in (*DIMENSIONS, *extra)], column("rank", pl.Int64))


def empty_measurements() -> "pl.DataFrame":
    import polars as pl

    schema = {"period": pl.String, "metric": pl.String, "unit": pl.String,
              "value": pl.Float64, "reason": pl.String, "basis": pl.String}
    schema.update({d: pl.String for d in DIMENSIONS})
    schema["rank"] = pl.Int64
    return pl.DataFrame(schema=schema)


NOT_DIMENSIONS = frozenset({
    *CORE_COLUMNS, "rank", "period_start", "period_end", "series_key",
    # the columns a comparison row adds (see RunResult.comparisons)
    "comparison", "previous_value", "change", "change_pct", "change_reason",
})
"""Columns of a measurement or comparison row that are not dimensions."""


def dimension_columns(frame: "pl.DataFrame") -> list[str]:
    """The dimension columns of a measurement frame (known ones first, then extras)."""
    return [c for c in frame.columns if c not in NOT_DIMENSIONS]


def row_dimensions(row: Mapping[str, Any]) -> dict[str, Any]:
    """The non-null dimensions of one measurement or comparison row (or an alert's dimensions)."""
    return {k: v for k, v in row.items() if k not in NOT_DIMENSIONS and v is not None}


def with_series_key(frame: "pl.DataFrame") -> "pl.DataFrame":
    """Add ``series_key``: canonical JSON of each row's non-null dimensions, names sorted.

    The key identifies a series across runs and periods (``{"account":"x","platform":"y"}``),
    so stored history stays comparable when new dimension columns appear. It is built once per
    distinct combination of dimensions, then joined back: far fewer strings than rows.
    Categorical dimension columns come back as strings, made once per combination too.
    """
    import polars as pl

    # A column null on every row (no metric split by it) adds nothing to any key: left out of
    # the unique and the join, which then compare fewer columns.
    dims = sorted(d for d in dimension_columns(frame) if frame[d].null_count() < frame.height)
    coded = [d for d in dimension_columns(frame) if isinstance(frame.schema[d], (pl.Categorical, pl.Enum))]
    if not dims:
        return frame.with_columns(*[pl.col(d).cast(pl.String) for d in coded], pl.lit("{}").alias("series_key"))
    fragments = [
        pl.when(pl.col(d).is_not_null()).then(
            pl.struct(pl.col(d).cast(pl.String)).struct.json_encode().str.slice(1).str.strip_suffix("}"))
        for d in dims
    ]
    body = pl.concat_str(fragments, separator=",", ignore_nulls=True).fill_null("")
    keys = frame.select(dims).unique().with_columns(
        (pl.lit("{") + body + pl.lit("}")).alias("series_key"),
        *[pl.col(d).cast(pl.String).alias(f"_string_{d}") for d in dims if d in coded])
    # Only the dimensions are joined: the other columns (values, reasons ...) are shared, not copied.
    joined = frame.select(dims).join(keys, on=dims, how="left", nulls_equal=True, maintain_order="left")
    return frame.with_columns(*[joined.get_column(f"_string_{c}").alias(c) for c in dims if c in coded],
                              *[pl.col(c).cast(pl.String) for c in coded if c not in dims],
                              joined.get_column("series_key"))


def label_periods(
    frame: "pl.DataFrame | pl.LazyFrame",
    time_column: str,
    periods: Sequence["Period"],
    *,
    by_date: bool,
) -> "pl.LazyFrame":
    """Keep the rows that fall in one of ``periods`` and add their ``period`` label.

    Rows are matched by instant (``start_utc`` <= t < ``end_utc``) or, for daily records
    (``by_date``), by local date. Periods may overlap: a row then appears once per period.
    The label is a ``pl.Categorical``: metrics group by it, an integer code per row.
    """
    import polars as pl

    from cmflow.foundation.literals import instant_literal

    lazy = frame.lazy()
    if not periods:
        return lazy.with_columns(pl.lit(None, dtype=pl.Categorical).alias("period")).head(0)
    col = pl.col(time_column)
    ordered = sorted(periods, key=lambda p: p.start)
    overlapping = any(a.end >= b.start for a, b in zip(ordered, ordered[1:]))
    if overlapping or len(periods) <= 4:
        parts = []
        for period in periods:
            inside = (col >= period.start) & (col <= period.end) if by_date else \
                (col >= instant_literal(period.start_utc)) & (col < instant_literal(period.end_utc))
            parts.append(lazy.filter(inside).with_columns(pl.lit(period.label, dtype=pl.Categorical).alias("period")))
        return pl.concat(parts)
    # Many disjoint periods (history, benchmarks): one binary search of each row's time among
    # the periods' bounds, instead of N filters or a sort and as-of join of the (wide) frame.
    # Starts and (exclusive) ends sorted in one list: a time in period i has exactly 2i + 1
    # bounds at or before it, an odd count; an even count is a time outside every period.
    dtype = pl.Date if by_date else pl.Datetime("us", "UTC")
    bounds = pl.Series([bound for p in ordered for bound in
                        ((p.start, p.end + timedelta(days=1)) if by_date else (p.start_utc, p.end_utc))],
                       dtype=dtype)
    labels = pl.Series([p.label for p in ordered], dtype=pl.Categorical)
    if not isinstance(frame, pl.DataFrame):
        frame = frame.collect()
    times = frame.get_column(time_column)
    count = bounds.search_sorted(times, side="right")
    index = pl.select(pl.when((count % 2 == 1) & times.is_not_null()).then(count // 2)).to_series()
    period = labels.gather(index)
    # One label column is added; the other columns are shared, not copied, and each metric's
    # filter then reads only the columns that metric needs.
    labelled = frame.with_columns(period.alias("period")).lazy()
    # Records fetched for these periods all fall in one: no filter then (a filter copies the
    # columns each metric reads).
    return labelled.filter(pl.col("period").is_not_null()) if period.null_count() else labelled
