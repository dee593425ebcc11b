"""The measure stage: every metric over every period, as one measurement frame.

Takes the metrics to compute (:class:`MetricRequest`, :meth:`MetricRequest.of` a workflow), the
fetched records and the periods; returns :class:`Measured`: the measurements and one report per
metric. A metric that raises is reported and left out; the others are computed. Metrics that share
their aggregates (:class:`cmflow.SharesAggregates`) have them grouped together: each set of
records once per run, in one plan, whatever the number of metrics reading it. The frames each
client's or brand's series reads are made once per run too, and in a small run (:data:`SETTLED_ROWS`)
computed once, so that the thousands of small queries of its metrics start from rows in memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from cmflow.foundation.measurements import (
    BREAKDOWN_DIMENSIONS, CATEGORICAL_DIMENSIONS, NONE_LABEL, grouping_columns, label_periods, standardise, with_series_key,
)
from cmflow.foundation.campaign_names import one_spelling
from cmflow.foundation.listening import BRANDS_COLUMN, Listen, labelled_by_account, unshared_counters
from cmflow.foundation.production import Production
from cmflow.foundation.records import RECORD_KINDS, RecordKind, empty_frame
from cmflow.foundation.where_filters import rows_condition
from cmflow.plugins.context import MetricInput
from cmflow.plugins.kinds import Metric
from cmflow.plugins.result import StageReport
from cmflow.plugins.shared_aggregates import SharesAggregates, checked_aggregates, grouped_aggregates
from cmflow.stages.failures import failure
from cmflow.stages.overlaps import one_copy_per_record

if TYPE_CHECKING:
    from datetime import datetime

    import polars as pl

    from cmflow.foundation.periods import Period
    from cmflow.workflow import Workflow


@dataclass
class MetricRequest:
    """One metric to compute: the configured plugin, its breakdowns, the sources it reads and
    the dimensions of the records it reads (its ``where``)."""

    plugin: Metric
    by: list
    source_ids: list[str]
    entry_id: str = ""
    where: dict = field(default_factory=dict)
    """Only records whose dimensions match are read: every row, the overall one included, is
    computed from them (a kind without one of these fields is read whole)."""
    clients: list[str] = field(default_factory=list)
    """The workflow's client ids: a ``client`` breakdown has rows for each, records or none."""
    listen: Listen | None = None
    """The workflow's ``[listen]`` section: a ``brand`` breakdown has rows for each of its brands,
    compared within its sets; every record of a competitor's ``accounts`` counts in its own
    ``brand`` rows only."""

    @classmethod
    def of(cls, workflow: "Workflow") -> list["MetricRequest"]:
        """The workflow's metric entries; one without ``sources`` reads every source."""
        default_sources = [s.id for s in workflow.sources]
        clients = [client.id for client in workflow.clients]
        return [cls(entry.plugin, entry.common.by, entry.common.sources or default_sources, entry.id,
                    dict(entry.common.where), clients, workflow.listen)
                for entry in workflow.metrics]


@dataclass(frozen=True)
class Measured:
    """What the measure stage made."""

    measurements: "pl.DataFrame"
    """One row per metric, period and series (see :class:`~cmflow.plugins.result.RunResult`)."""
    reports: list[StageReport]
    """One per metric, in the order asked."""
    unshared_counters: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Brand -> the counters left out of its ``brand`` rows because another brand of its set never
    reports them (a competitor's public posts have no shares or saves), for the report to say
    which counters its competitors' table compares."""


def measure(requests: list[MetricRequest], records: dict[str, "pl.DataFrame"],
            all_periods: list["Period"], *, as_of: "datetime | None" = None,
            production: Production | None = None) -> Measured:
    """Compute every metric asked over every period.

    ``records`` holds one frame per record kind with a ``source_id`` column (the id of the source
    entry); ``as_of`` is the instant the run counts as now (metrics read it as ``data.as_of``);
    ``production`` is the run's ``[production]`` section (rates, budgets, currency), the same for
    every metric (none: an empty one).
    """
    production = production if production is not None else Production()
    frames, reports, emptied = _metric_frames(requests, records, all_periods, as_of, production)
    measurements = standardise(frames)
    # Let the metrics' frames go before the output's columns are made (the labelled records went
    # with _metric_frames): their memory is then reused, not added to the peak.
    del frames
    measurements = with_period_bounds(measurements, all_periods)
    return Measured(with_series_key(measurements), reports, {b: tuple(c) for b, c in emptied.items()})


def _metric_frames(requests: list[MetricRequest], records: dict[str, "pl.DataFrame"], all_periods: list["Period"],
                   as_of: "datetime | None", production: Production
                   ) -> tuple[list["pl.DataFrame"], list[StageReport], dict[str, list[str]]]:
    """Each metric's measurements (those that failed left out), every metric's report, and the
    counters left out of each brand's rows (see :attr:`Measured.unshared_counters`)."""
    frames, reports = [], []
    records = metric_records(records, production)
    labelled_cache: dict[tuple[tuple[str, ...], str], MetricInput] = {}
    series_cache: dict[tuple, dict] = {}  # the frames of each series, by what labelled_cache is keyed by
    settle = few_records(records)
    unshared_cache: dict[tuple[tuple[str, ...], str], dict[str, dict[str, list[str]]]] = {}
    emptied: dict[str, list[str]] = {}
    sharing: list[_Sharing] = []
    for request in requests:
        report = StageReport("metric", request.entry_id or request.plugin.name, request.plugin.name)
        reports.append(report)
        key = (tuple(request.source_ids), repr(sorted(request.where.items())))
        if key not in labelled_cache:
            labelled_cache[key] = metric_input(records, request.source_ids, all_periods, request.where, as_of)
        base = labelled_cache[key]
        listen, groupings = request.listen, grouping_columns(request.by)
        frames.append(None)
        try:
            unshared = {}
            if listen is not None and listen.brand_ids and any("brand" in g for g in groupings):
                # Read once per set of sources, not once per metric broken down by brand.
                if key not in unshared_cache:
                    unshared_cache[key] = _unshared_counters(base.all_records, listen.brand_sets)
                unshared = unshared_cache[key]
                for by_brand in unshared.values():
                    for brand, counters in by_brand.items():
                        emptied.setdefault(brand, []).extend(c for c in counters if c not in emptied[brand])
            read = replace(base, production=production,
                           watched_accounts=tuple(listen.brand_of_account) if listen else (),
                           share_sets=tuple(listen.share_sets) if listen else ())
            if "client" in request.plugin.row_dimensions:
                # Its rows carry their record's own client (a row per planned post): computed
                # once, since a client series would list each record again.
                groupings = list(dict.fromkeys(tuple(c for c in g if c != "client") for g in groupings))
            series = _series_inputs(read, groupings, request.clients or _clients_in(records), listen, unshared,
                                    series_cache.setdefault((key, id(listen)), {}), settle)
            if isinstance(request.plugin, SharesAggregates):
                # Grouped below with every other metric's that shares them, then derived.
                sharing.append(_Sharing(len(frames) - 1, request.plugin, report, series, [
                    ((key, id(listen), label, value),
                     checked_aggregates(request.plugin.name, request.plugin.aggregates(data)))
                    for label, value, data in series]))
                continue
            frames[-1] = _labelled([(label, value, request.plugin.compute(data)) for label, value, data in series])
            report.counts["measurements"] = frames[-1].height
        except Exception as exc:
            report.ok, report.error = False, failure("metric", report.id, exc)
    for shared, grouped in _grouped_together(sharing, [p.label for p in all_periods]):
        try:
            if isinstance(grouped, Exception):
                raise grouped
            frame = _labelled([(label, value, shared.plugin.from_aggregates(data, frames_of_input))
                               for (label, value, data), frames_of_input in zip(shared.series, grouped)])
            frames[shared.index] = frame
            shared.report.counts["measurements"] = frame.height
        except Exception as exc:
            shared.report.ok, shared.report.error = False, failure("metric", shared.report.id, exc)
    return [f for f in frames if f is not None], reports, emptied


@dataclass
class _Sharing:
    """A metric whose aggregates are grouped with the others' (:class:`cmflow.SharesAggregates`)."""

    index: int
    """Its place among the measure stage's frames (the order of the requests)."""
    plugin: Metric
    report: StageReport
    series: list[tuple[str | None, str | None, MetricInput]]
    asked: list[tuple[tuple, dict]]
    """Its aggregates for each of ``series``, each with the scope of the rows they read."""


def _grouped_together(sharing: list[_Sharing], periods: list[str]) -> list[tuple[_Sharing, "list | Exception"]]:
    """Each sharing metric with its grouped aggregates (one per series input), grouped in one
    plan for all of them. When that plan fails, each metric's are grouped alone, so that the
    failure is reported on the metric that caused it and the others are computed."""
    if not sharing:
        return []
    try:
        grouped = grouped_aggregates([request for shared in sharing for request in shared.asked], periods)
    except Exception:
        grouped = None
    results, start = [], 0
    for shared in sharing:
        if grouped is not None:
            results.append((shared, grouped[start:start + len(shared.asked)]))
            start += len(shared.asked)
            continue
        try:
            results.append((shared, grouped_aggregates(shared.asked, periods)))
        except Exception as exc:
            results.append((shared, exc))
    return results


def metric_records(records: dict[str, "pl.DataFrame"],
                   production: Production | None) -> dict[str, "pl.DataFrame"]:
    """``records`` as every metric reads them: each campaign written one way, the budget's key as
    ``[production.budgets]`` writes it, else the earliest record's (see
    :mod:`cmflow.foundation.campaign_names`). The alert_items stage reads them the same way."""
    spelled, _ = one_spelling(records, {k: kind.time_field for k, kind in RECORD_KINDS.items()},
                              (production.budgets if production is not None else None) or ())
    return spelled


def with_period_bounds(measurements: "pl.DataFrame", all_periods: list["Period"]) -> "pl.DataFrame":
    """Add each row's ``period_start`` and ``period_end``, and make its ``period`` label a
    string (a categorical from the records): one join with a row per period."""
    import polars as pl

    bounds = {p.label: (p.start, p.end) for p in all_periods}
    labels = pl.DataFrame({"period": list(bounds), "_label": list(bounds),
                           "period_start": [b[0] for b in bounds.values()],
                           "period_end": [b[1] for b in bounds.values()]},
                          schema={"period": measurements.schema["period"], "_label": pl.String,
                                  "period_start": pl.Date, "period_end": pl.Date})
    # Only the label is joined: the other columns are shared, not copied.
    bounded = measurements.select("period").join(labels, on="period", how="left", maintain_order="left")
    return measurements.with_columns(bounded.get_column("_label").alias("period"),
                                     bounded.get_column("period_start"), bounded.get_column("period_end"))


def _series_inputs(base: MetricInput, groupings: list[tuple[str, ...]], clients: list[str],
                   listen: Listen | None = None, unshared: "dict[str, dict[str, list[str]]] | None" = None,
                   made: dict | None = None, settle: bool = False
                   ) -> list[tuple[str | None, str | None, MetricInput]]:
    """What the metric reads for ``groupings``, as (label, value, input): the groupings without
    ``client`` or ``brand`` read ``base`` (label None). A grouping with ``client`` is computed
    once per client, from that client's records alone (its accounts', labelled by the clients
    stage), and its rows labelled with the client: each client's whole is a ratio of its own sums,
    whatever the metric, and no figure mixes two clients. A grouping with ``brand`` likewise, once
    per brand, from the mentions naming it (their ``brands``, labelled by the watch stage): a
    mention naming two brands counts for each, and once in the other rows; every record of a
    competitor's accounts (posts, snapshots, daily activity ...) counts in its ``brand`` rows only,
    less the ``unshared`` counters (:func:`_unshared_counters`).

    ``made`` keeps the frames of each series, made once for every metric reading ``base`` (with
    the same ``listen`` and ``unshared``); with ``settle`` (few records: :func:`few_records`)
    they are computed once, too (:func:`settled`)."""
    brands = listen.brand_ids if listen else []
    brand_sets = listen.brand_sets if listen else []
    made = {} if made is None else made

    def read(label: str | None) -> tuple[dict[str, "pl.LazyFrame"], dict[str, "pl.LazyFrame"]]:
        reading = "brand" if label == "brand" else None  # a client's read what the plain series do
        if reading not in made:
            frames = series_read(base, reading, listen)
            made[reading] = (frames.records, frames.all_records) if not settle or frames is base \
                else settled(frames.records, frames.all_records)
        return made[reading]

    def of(label: str, value: str) -> tuple[dict[str, "pl.LazyFrame"], dict[str, "pl.LazyFrame"]]:
        if (label, value) not in made:
            of_value = _of_client if label == "client" else lambda f, v: _of_brand(f, v, unshared)
            records, all_records = (of_value(frames, value) for frames in read(label))
            made[label, value] = settled(records, all_records) if settle else (records, all_records)
        return made[label, value]

    def reading(frames: tuple[dict[str, "pl.LazyFrame"], dict[str, "pl.LazyFrame"]],
                grouping_sets: list[tuple[str, ...]]) -> MetricInput:
        return replace(base, records=frames[0], all_records=frames[1], grouping_sets=grouping_sets,
                       brand_sets=brand_sets)

    plain = [g for g in groupings if "client" not in g and "brand" not in g]
    inputs = [(None, None, reading(read(None), plain))] if plain else []
    for label, values in (("client", clients), ("brand", brands)):
        labelled = [tuple(c for c in g if c != label) for g in groupings if label in g]
        inputs += [(label, value, reading(of(label, value), labelled)) for value in (values if labelled else ())]
    return inputs


def _labelled(parts: list[tuple[str | None, str | None, "pl.DataFrame"]]) -> "pl.DataFrame":
    """The rows of every series input as one frame, those of a client or brand labelled with it."""
    import polars as pl

    parts = [rows if label is None else rows.with_columns(pl.lit(value, dtype=pl.String).alias(label))
             for label, value, rows in parts]
    parts = [p for p in parts if p.height]
    return pl.concat(parts, how="diagonal_relaxed") if parts else pl.DataFrame()


SERIES_COLUMNS = {"client": "client", "brand": BRANDS_COLUMN}
"""The record column a ``client`` or ``brand`` series is selected by (:func:`series_condition`)."""


def series_read(base: MetricInput, label: str | None, listen: Listen | None) -> MetricInput:
    """What the series labelled ``label`` (``"brand"``, ``"client"`` or None for the others)
    read before :func:`series_condition` selects theirs: a brand's, every record (a competitor's
    accounts' too); any other, the records of the workflow's own accounts, competitors' left out.
    The one rule of the measure and alert_items stages."""
    competitors = listen.competitor_ids if listen else []
    if label == "brand" or not competitors:
        return base
    return replace(base, records=_without_competitors(base.records, competitors),
                   all_records=_without_competitors(base.all_records, competitors))


def series_condition(label: str, value: str) -> "pl.Expr":
    """The records (or items) of the series whose ``label`` (``client`` or ``brand``) is ``value``:
    a client's accounts', the mentions naming a brand (a mention naming two counts for each)."""
    import polars as pl

    if label == "brand":
        return pl.col(BRANDS_COLUMN).list.contains(value)
    return pl.col(SERIES_COLUMNS[label]) == value


def _of_client(frames: dict[str, "pl.LazyFrame"], client: str) -> dict[str, "pl.LazyFrame"]:
    """The records of ``client``'s accounts; none of a kind without accounts (traffic ...)."""
    return {kind: frame.filter(series_condition("client", client)) if "client" in frame.collect_schema().names()
            else frame.head(0) for kind, frame in frames.items()}


def _of_brand(frames: dict[str, "pl.LazyFrame"], brand: str,
              unshared: "dict[str, dict[str, list[str]]] | None" = None) -> dict[str, "pl.LazyFrame"]:
    """The records naming ``brand`` (mentions the watch stage labelled, records of the accounts it
    lists); none of other kinds. The counters of ``unshared`` (kind -> brand -> counters another
    brand of its set does not report) are emptied: a brand row counts what every compared brand's
    records report (a competitor's public posts without shares or saves: the brand's are not counted)."""
    import polars as pl

    def of(kind: str, frame: "pl.LazyFrame") -> "pl.LazyFrame":
        if BRANDS_COLUMN not in frame.collect_schema():
            return frame.head(0)
        frame = frame.filter(series_condition("brand", brand))
        emptied = (unshared or {}).get(kind, {}).get(brand, [])
        schema = frame.collect_schema() if emptied else {}
        return frame.with_columns(pl.lit(None).cast(schema[c]).alias(c) for c in emptied) if emptied else frame

    return {kind: of(kind, frame) for kind, frame in frames.items()}


def _unshared_counters(frames: dict[str, "pl.LazyFrame"], brand_sets: "list[tuple[str, ...]] | tuple"
                       ) -> dict[str, dict[str, list[str]]]:
    """For each record kind labelled by account, :func:`~cmflow.foundation.listening.unshared_counters`
    of its numeric fields among every record the run has (not one period's: a week without a
    competitor's post does not change what its source reports)."""
    unshared = {}
    for kind, frame in frames.items():
        names = frame.collect_schema().names()
        if kind not in RECORD_KINDS or BRANDS_COLUMN not in names or not labelled_by_account(kind, names):
            continue
        counters = [f.name for f in RECORD_KINDS[kind].fields if f.type in ("int", "float")]
        found = unshared_counters(frame.select(BRANDS_COLUMN, *[c for c in counters if c in names]).collect(),
                                  counters, brand_sets)
        if found:
            unshared[kind] = found
    return unshared


def _without_competitors(frames: dict[str, "pl.LazyFrame"], competitors: "list[str] | tuple[str, ...]"
                         ) -> dict[str, "pl.LazyFrame"]:
    """The records without those of the competitors' accounts (every kind with an ``account``)."""
    import polars as pl

    def competitors_own() -> "pl.Expr":
        return pl.col(BRANDS_COLUMN).list.eval(pl.element().is_in(list(competitors))).list.any().fill_null(False)

    return {kind: frame.filter(~competitors_own())
            if labelled_by_account(kind, frame.collect_schema().names())
            and BRANDS_COLUMN in frame.collect_schema().names() else frame
            for kind, frame in frames.items()}


def _clients_in(records: dict[str, "pl.DataFrame"]) -> list[str]:
    """The client labels the clients stage put on the records, sorted."""
    found: set[str] = set()
    for frame in records.values():
        if "client" in frame.columns:
            found.update(v for v in frame["client"].unique().to_list() if v is not None)
    return sorted(found)


def metric_input(records: dict[str, "pl.DataFrame"], source_ids: list[str],
                  all_periods: list["Period"], where: dict | None = None,
                  as_of: "datetime | None" = None) -> MetricInput:
    """What the metrics reading ``source_ids`` with ``where`` read: their records, periods labelled."""
    import polars as pl

    selected, labelled, unread = {}, {}, {}
    for kind_name, kind in RECORD_KINDS.items():
        frame = records.get(kind_name)
        if frame is None:  # no source produced this kind (or it failed): the same empty input every run
            unread[kind_name] = _unread_kind(kind).lazy()
            continue
        if frame.height == 0:
            selected[kind_name] = labelled[kind_name] = _no_rows(frame).lazy()
            continue
        # In a select, not frame["source_id"]: a column of one repeated value stays one value.
        sources = set(frame.select(pl.col("source_id").unique()).to_series().to_list())
        if sources - set(source_ids):
            frame = frame.filter(pl.col("source_id").is_in(source_ids))
        if len(sources & set(source_ids)) > 1:
            frame = one_copy_per_record(kind_name, frame)  # a record two sources read counts once
        # A post without a pillar is grouped under "(none)": left null, its group would carry
        # no dimension at all and be taken for the overall row.
        # Filled lazily: a metric that does not read the column does not pay for it.
        unlabelled = [d for d in BREAKDOWN_DIMENSIONS if d in frame.columns and frame[d].null_count()]
        labelled_nulls = [pl.col(d).fill_null(NONE_LABEL) for d in unlabelled]
        if applicable := {k: v for k, v in (where or {}).items()
                          if k in kind.field_names and k not in kind.not_selected_by_where}:
            # A where on a breakdown reads its "(none)" too: filled before filtering.
            frame = frame.with_columns(pl.col(d).fill_null(NONE_LABEL) for d in unlabelled if d in applicable)
            frame = frame.filter(rows_condition(applicable, frame.columns))
        # Categorical once here, so that every metric groups and joins by integer codes.
        frame = frame.with_columns(pl.col(c).cast(pl.Categorical) for c in CATEGORICAL_DIMENSIONS
                                   if c in frame.columns)
        selected[kind_name] = frame.lazy().with_columns(labelled_nulls)
        # Labelled once (many periods: one label column; few: small filtered copies), shared
        # lazily by every metric reading these sources, which then reads only its columns.
        labelled[kind_name] = label_periods(frame, kind.time_field, all_periods,
                                            by_date=kind.field(kind.time_field).type == "date"
                                            ).with_columns(labelled_nulls)
    if few_records(records):
        labelled, selected = settled(labelled, selected)
    return MetricInput(_in_kind_order({**labelled, **unread}), _in_kind_order({**selected, **unread}),
                       all_periods, [], as_of)


def _in_kind_order(frames: dict[str, "pl.LazyFrame"]) -> dict[str, "pl.LazyFrame"]:
    return {kind_name: frames[kind_name] for kind_name in RECORD_KINDS if kind_name in frames}


def _no_rows(frame: "pl.DataFrame") -> "pl.DataFrame":
    """A kind's input without records: its columns, dimensions categorical, and a null period."""
    import polars as pl

    return frame.with_columns(*[pl.col(c).cast(pl.Categorical) for c in CATEGORICAL_DIMENSIONS if c in frame.columns],
                              pl.lit(None, dtype=pl.Categorical).alias("period"))


_UNREAD_KINDS: dict[RecordKind, "pl.DataFrame"] = {}


def _unread_kind(kind: RecordKind) -> "pl.DataFrame":
    """:func:`_no_rows` of a kind no source produced: the same empty frame every run, so built once
    per process (a daemon's run process serves many runs; most kinds are read by none)."""
    import polars as pl

    if kind not in _UNREAD_KINDS:
        _UNREAD_KINDS[kind] = _no_rows(empty_frame(kind).with_columns(pl.lit(None, dtype=pl.String).alias("source_id")))
    return _UNREAD_KINDS[kind]


SETTLED_ROWS = 100_000
"""Up to this many records in a run (every kind together), the frames the metrics read are
computed once (:func:`settled`): each metric's queries then start from rows in memory, not from
the plan that labels them, which each query would run again. At a demo's or an account's few
hundred records that plan, not the rows, is what a query costs (thousands of queries a run);
above, the plan stays lazy, so that each metric reads only its columns of the records."""


def few_records(records: dict[str, "pl.DataFrame"]) -> bool:
    """Whether the run's ``records`` are few enough to be :func:`settled` (:data:`SETTLED_ROWS`)."""
    return sum(frame.height for frame in records.values()) <= SETTLED_ROWS


def settled(*frames: dict[str, "pl.LazyFrame"]) -> tuple[dict[str, "pl.LazyFrame"], ...]:
    """Each of ``frames`` computed, in one :func:`polars.collect_all`, and lazy again: the same
    rows, read from memory."""
    import polars as pl

    keys = [(i, kind) for i, by_kind in enumerate(frames) for kind in by_kind]
    done = pl.collect_all([frames[i][kind] for i, kind in keys])
    result: tuple[dict[str, "pl.LazyFrame"], ...] = tuple({} for _ in frames)
    for (i, kind), frame in zip(keys, done):
        result[i][kind] = frame.lazy()
    return result
