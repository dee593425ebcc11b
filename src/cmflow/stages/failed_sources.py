"""The failed_sources stage: a figure of 0 that only a failed source's missing records may make
has no value.

When a source cannot be read, its records are missing, and a count over them reads 0: a workflow
whose only Instagram source failed would report "0 posts published" on Instagram, a claim the run
cannot make. After the measure stage, a figure of 0 (or one without a value for want of records:
"no posts in this period") has no value, with the reason "source X could not be read: ...", when
the records it counts could have come from a failed source, series by series:

- the metric entry reads that source (its ``sources``, else every source), and the source returns
  a record kind the metric reads;
- the series could hold the source's records (:func:`~cmflow.stages.source_series.series_may_hold`,
  the rule the source_gaps stage shares), by its platforms and accounts when known (its options,
  else its records at its last run the store remembers:
  :attr:`~cmflow.plugins.result.StageReport.platforms`, ``accounts``), else by the values the
  records of the sources that were read have (of the kinds the metric reads, any day): a series
  of theirs (Facebook's rows, an account of theirs on that platform) has a true 0, which stays;
  and the metric's ``where`` leaves the source's records in. The overall row may hold them.

A figure other than 0 stays, as the incomplete report describes it (its figures leave the missing
records out). Takes the workflow, the records the metrics read, the fetch stage's reports and what
the measure stage made; returns the measurements so changed (the same object when every source
was read).
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING

from cmflow.foundation.measurements import dimension_columns
from cmflow.foundation.tracked_time import NO_TIME_ENTRIES
from cmflow.stages.measure import Measured, MetricRequest
from cmflow.stages.source_series import RecordsRead, series_may_hold, with_account_keys
from cmflow.stages.uncovered_periods import NO_RECORDS_REASON, UNCOVERED_REASON

if TYPE_CHECKING:
    import polars as pl

    from cmflow.plugins.result import StageReport
    from cmflow.workflow import Workflow

NOTHING_REASON = rf"{NO_RECORDS_REASON}|^{re.escape(NO_TIME_ENTRIES)}|^{re.escape(UNCOVERED_REASON)}"
"""The reasons of a figure without a value for want of records ("no posts in this period", "no
time entries in this period", or no record reaching the period): a claim that nothing happened,
as 0 is, or one a failed source may have made untrue."""


def failed_sources(workflow: "Workflow", records: dict[str, "pl.DataFrame"], reports: list["StageReport"],
                   measured: Measured) -> Measured:
    """``measured`` without the zeros a failed source's missing records may have made."""
    import polars as pl

    failed = {r.id: r for r in reports if r.kind == "source" and not r.ok}
    frame = measured.measurements
    if not failed or frame.is_empty():
        return measured
    sources = {entry.id: entry for entry in workflow.sources}
    dimensions = [d for d in dimension_columns(frame) if d != "rank"]
    nothing = ((pl.col("value") == 0)
               | (pl.col("value").is_null() & pl.col("reason").str.contains(NOTHING_REASON))).fill_null(False)
    holding: dict[tuple, "pl.Expr"] = {}  # most metrics read the same sources and kinds: worked out once
    blanked: dict[tuple, set[str]] = {}  # the metrics each of them may blank
    for request in MetricRequest.of(workflow):
        kinds = {kind for group in request.plugin.needed_records() for kind in group}
        for source_id in request.source_ids:
            report, entry = failed.get(source_id), sources.get(source_id)
            if report is None or (entry is not None and kinds and not kinds & set(entry.plugin.produces())):
                continue
            key = (source_id, tuple(request.source_ids), frozenset(kinds), repr(sorted(request.where.items())))
            if key not in holding:
                known = bool(report.platforms) or report.accounts is not None
                read = None if known else RecordsRead.of(_read_records(records, request.source_ids, failed, kinds))
                holding[key] = series_may_hold(workflow.clients, report.platforms, report.accounts, request.where,
                                               dimensions, read)
            blanked.setdefault(key, set()).update(request.plugin.produces())
    if not holding:
        return measured
    # one boolean column per distinct key, worked out in one pass; the rows a failed source may
    # have emptied then say which (the last entry's source, as each entry's reason replaced the last)
    keys = list(holding)
    columns = [f"__holds_{i}" for i in range(len(keys))]
    held = with_account_keys(frame) if "account" in dimensions else frame
    held = held.with_columns(*(expr.alias(name) for expr, name in zip(holding.values(), columns)))
    why = pl.coalesce(*(pl.when(pl.col("metric").is_in(sorted(blanked[key])) & pl.col(name)).then(
        pl.lit(f"source {key[0]} could not be read: its records may be missing from this figure"))
        for key, name in reversed(list(zip(keys, columns)))))
    blank = nothing & why.is_not_null()
    changed = held.with_columns(
        pl.when(blank).then(None).otherwise(pl.col("value")).cast(frame.schema["value"]).alias("value"),
        pl.when(blank).then(why).otherwise(pl.col("reason")).alias("reason")).select(frame.columns)
    return replace(measured, measurements=changed)


def _read_records(records: dict[str, "pl.DataFrame"], source_ids: list[str], failed: dict, kinds: set[str]
                  ) -> list["pl.DataFrame"]:
    """The records of the sources a metric reads that were read, of the kinds it reads."""
    import polars as pl

    read = [s for s in source_ids if s not in failed]
    return [frame.filter(pl.col("source_id").is_in(read)) for kind, frame in records.items()
            if (not kinds or kind in kinds) and frame.height and "source_id" in frame.columns]
