"""The where_misses stage: each ``where`` value (of a source, a metric, a trigger or an output)
that matches nothing, told as a warning when the workflow has never seen it, as a note otherwise.

A value matches nothing when no row it is applied to has it: no record of the source (any day
of its files), no record of the metric's sources, no series of its metric in the period for a
trigger (which then watches nothing of it), no measurement row of the period for an output. That happens to a misspelt account (``"maison-lumeire"``), and to an account that
simply did not post this month. The two are told apart by what the workflow has **seen**:

- a value that some record of this run has (of any source, kind or day), that some measurement
  of this run has (of any period), or that a measurement kept in the store by an earlier run of
  the workflow has, is seen: its filter is right and the data has no row of it here. A note
  says so; the run stays ``ok``.
- a value seen nowhere is most likely misspelt, and its filter's figures are empty: a warning
  naming the file, the key path and the closest value; the run ends ``warning`` (exit code 5).

Takes the workflow, the store, the records as the sources returned them (before their
``where``), the records the metrics read and the measurements; returns one report of kind
``where`` per entry with such a value. (A trigger whose metric measured nothing at all is left
to its "no data" alert, as a metric or output with no row at all is left to theirs.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterator

from cmflow.foundation.run_warnings import RunWarning
from cmflow.foundation.where_filters import UnmatchedValue, compared, unmatched_values
from cmflow.plugins.result import StageReport
from cmflow.stages.measure import MetricRequest

if TYPE_CHECKING:
    import polars as pl

    from cmflow.store import Store
    from cmflow.workflow import Entry, Workflow


def where_misses(workflow: "Workflow", store: "Store | None", read: dict[str, "pl.DataFrame"],
                 records: dict[str, "pl.DataFrame"], measurements: "pl.DataFrame | None") -> list[StageReport]:
    """A report per entry whose ``where`` has a value no row has: a warning if never seen, else a note."""
    misses = [*_source_misses(workflow, read), *_metric_misses(workflow, records),
              *_trigger_misses(workflow, measurements), *_output_misses(workflow, measurements)]
    if not misses:
        return []
    seen = SeenValues(workflow.key, store, [*read.values(), *records.values()], measurements)
    reports: dict[str, StageReport] = {}
    for entry, miss in misses:
        report = reports.setdefault(entry.path, StageReport("where", entry.id, entry.info.name))
        place = f"{entry.path}.{miss.note}"
        if seen.has(miss.key, miss.value):
            report.problems.append(f"{place} ({miss.value!r} is known from other rows or earlier runs: "
                                   "none here this time)")
        else:
            trigger = entry.kind == "trigger"
            empty = "the rule watches nothing of it" if trigger else "its figures are empty"
            report.warnings.append(RunWarning(
                f"{workflow.file.name}: {place}; {miss.value!r} is in no record and no earlier run: check its "
                f"spelling ({empty})", "where_unmatched" + ("_trigger" if trigger else "") + ("_near" if miss.closest else ""),
                {"file": workflow.file.name, "place": f"{entry.path}.where.{miss.key}", "value": str(miss.value),
                 **({"closest": miss.closest} if miss.closest else {})}))
    return list(reports.values())


class SeenValues:
    """The values a dimension or field has anywhere the workflow has looked: this run's
    records and measurements, and the measurements its earlier runs kept in the store."""

    def __init__(self, workflow_key: str, store: "Store | None", frames: list["pl.DataFrame"],
                 measurements: "pl.DataFrame | None") -> None:
        self.workflow_key, self.store = workflow_key, store
        self.frames = [f for f in [*frames, measurements] if f is not None and f.height]
        self.known: dict[str, set[str]] = {}

    def has(self, key: str, value: str) -> bool:
        if key not in self.known:
            values = {str(v) for f in self.frames if key in f.columns and not f.schema[key].is_temporal()
                      for v in f.get_column(key).drop_nulls().unique().to_list()}
            if self.store is not None:
                values |= self.store.dimension_values(self.workflow_key, key)
            self.known[key] = {compared(key, v) for v in values}
        return compared(key, value) in self.known[key]


def _source_misses(workflow: "Workflow", read: dict[str, "pl.DataFrame"]) -> Iterator[tuple["Entry", UnmatchedValue]]:
    """Values of a source's ``where`` that none of its records has (any day of its input)."""
    import polars as pl

    for entry in workflow.sources:
        if not entry.common.where:
            continue
        for kind_name in sorted(read):
            own = read[kind_name].filter(pl.col("source_id") == entry.id) if read[kind_name].height else None
            if own is not None and own.height:
                for miss in unmatched_values(entry.common.where, [own], f"{kind_name} record"):
                    yield entry, miss


def _metric_misses(workflow: "Workflow", records: dict[str, "pl.DataFrame"]) -> Iterator[tuple["Entry", UnmatchedValue]]:
    """Values of a metric's ``where`` that no record of its sources has."""
    import polars as pl

    for entry, request in zip(workflow.metrics, MetricRequest.of(workflow)):
        if not request.where:
            continue
        read = {kind: frame.filter(pl.col("source_id").is_in(request.source_ids))
                for group in request.plugin.needed_records() for kind in group
                if (frame := records.get(kind)) is not None and "source_id" in frame.columns}
        kinds = " or ".join(kind for kind, frame in read.items() if frame.height) or " or ".join(read)
        for miss in unmatched_values(request.where, list(read.values()), f"{kinds} record of its sources"):
            yield entry, miss


def _trigger_misses(workflow: "Workflow", measurements: "pl.DataFrame | None"
                    ) -> Iterator[tuple["Entry", UnmatchedValue]]:
    """Values of a trigger's ``where`` that no series of its metric has in the period: the rule
    would watch nothing of them."""
    import polars as pl

    if measurements is None or not measurements.width:
        return
    current = measurements.filter(pl.col("period") == "current")
    for entry in workflow.triggers:
        where = getattr(entry.common, "where", None)
        if where:
            metric = entry.common.metric
            for miss in unmatched_values(where, [current.filter(pl.col("metric") == metric)], f"series of {metric}"):
                yield entry, miss


def _output_misses(workflow: "Workflow", measurements: "pl.DataFrame | None") -> Iterator[tuple["Entry", UnmatchedValue]]:
    """Values of an output's ``where`` that no measurement row of the period has: the output
    would show nothing of them."""
    import polars as pl

    if measurements is None or not measurements.width:
        return
    current = measurements.filter(pl.col("period") == "current")
    for entry in workflow.outputs:
        where = getattr(entry.common, "where", None)
        if where:
            for miss in unmatched_values(where, [current], "measurement row"):
                yield entry, miss
