"""The failed_sources stage: a figure of 0 that only a failed source's missing records may make
has no value.

When a source cannot be read, its records are missing, and a count over them reads 0: a workflow
whose only Instagram source failed would report "0 posts published" on Instagram, a claim the run
cannot make. After the measure stage, a figure of 0 (or one without a value for want of records:
"no posts in this period") has no value, with the reason "source X could not be read: ...", when
the records it counts could have come from a failed source, series by series:

- the metric entry reads that source (its ``sources``, else every source), and the source returns
  a record kind the metric reads;
- the series could hold the source's records: when its platforms or accounts are known (its
  options, else its records at its last run the store remembers:
  :attr:`~cmflow.plugins.result.StageReport.platforms`, ``accounts``), the series' platform,
  account and client (one owning such an account) are among them, where the series has them;
  when neither is known, each value the series has is one the records of the sources that were
  read do not have (of the kinds the metric reads, any day): a series of theirs (Facebook's
  rows, an account of theirs) has a true 0, which stays. The overall row may always hold them.

A figure other than 0 stays, as the incomplete report describes it (its figures leave the missing
records out). Takes the workflow, the records the metrics read, the fetch stage's reports and what
the measure stage made; returns the measurements so changed (the same object when every source
was read).
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING

from cmflow.foundation.listening import account_key, account_keys
from cmflow.foundation.measurements import NONE_LABEL, dimension_columns
from cmflow.foundation.tracked_time import NO_TIME_ENTRIES
from cmflow.stages.measure import Measured, MetricRequest
from cmflow.stages.uncovered_periods import NO_RECORDS_REASON, UNCOVERED_REASON

if TYPE_CHECKING:
    import polars as pl

    from cmflow.plugins.result import StageReport
    from cmflow.workflow import Workflow

NOTHING_REASON = rf"{NO_RECORDS_REASON}|^{re.escape(NO_TIME_ENTRIES)}|^{re.escape(UNCOVERED_REASON)}"
"""The reasons of a figure without a value for want of records ("no posts in this period", "no
time entries in this period", or no record reaching the period): a claim that nothing happened,
as 0 is, or one a failed source may have made untrue."""


_ACCOUNT_KEY_COLUMN = "__account_key"
"""The account's key (:func:`~cmflow.foundation.listening.account_keys`), worked out once a run."""


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
            key = (source_id, tuple(request.source_ids), frozenset(kinds))
            if key not in holding:
                read = _read_records(records, request.source_ids, failed, kinds)
                holding[key] = _may_hold(workflow, report, read, dimensions)
            blanked.setdefault(key, set()).update(request.plugin.produces())
    if not holding:
        return measured
    # one boolean column per distinct key, worked out in one pass; the rows a failed source may
    # have emptied then say which (the last entry's source, as each entry's reason replaced the last)
    keys = list(holding)
    columns = [f"__holds_{i}" for i in range(len(keys))]
    held = frame.with_columns(account_keys(pl.col("account").cast(pl.String)).alias(_ACCOUNT_KEY_COLUMN)
                              if "account" in dimensions else [])
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


def _may_hold(workflow: "Workflow", report: "StageReport", read: list["pl.DataFrame"],
              dimensions: list[str]) -> "pl.Expr":
    """The rows whose series could hold records of the failed source of ``report``."""
    import polars as pl

    known = bool(report.platforms) or report.accounts is not None
    holds = pl.lit(True)
    for dimension in dimensions:
        column = pl.col(dimension).cast(pl.String)
        if dimension == "platform" and report.platforms:
            could = column.str.to_lowercase().is_in([p.lower() for p in report.platforms])
        elif dimension == "account" and report.accounts is not None:
            could = pl.col(_ACCOUNT_KEY_COLUMN).is_in([account_key(a) for a in report.accounts])
        elif dimension == "client" and report.accounts is not None:
            owners = [c.id for c in workflow.clients if any(c.owns(a) for a in report.accounts)]
            could = column.is_in(owners)
        elif known:  # what it reads is known by another dimension, which decides
            continue
        else:  # nothing is known of it: a series of the records read is theirs
            could = ~column.is_in(sorted(_seen(read, dimension)))
        holds = holds & (pl.col(dimension).is_null() | could.fill_null(True))
    return holds


def _seen(read: list["pl.DataFrame"], dimension: str) -> set[str]:
    """The values of ``dimension`` the records read have ("(none)" for a record without one)."""
    import polars as pl

    seen: set[str] = set()
    for frame in read:
        if dimension in frame.columns:
            values = frame.get_column(dimension).cast(pl.String)
            seen.update(v for v in values.unique().to_list() if v is not None)
            if values.null_count():
                seen.add(NONE_LABEL)
    return seen
