"""The failed_sources stage: a figure of 0 that a failed source's missing records may belong to
has no value.

When a source cannot be read, its records are missing, and a count over them reads 0: a
workflow whose only export is unreadable would report "0 posts published", a claim the run
cannot make. After the measure stage, every measurement of 0 (or without a value for want of
records: "no posts in this period") of a metric entry that reads a failed source, in a group that may hold that source's records (every group when its accounts
are not known; else the overall row, its platforms' rows and its accounts' rows), loses its
value and says why ("source d could not be read"); a figure of other sources' records that is
not 0 stays, as the incomplete report says (its figures leave the missing data out).

Takes the workflow, the fetch stage's reports and what the measure stage made; returns the
measurements so changed (unchanged when every source was read).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from cmflow.stages.measure import Measured, MetricRequest

if TYPE_CHECKING:
    import polars as pl

    from cmflow.plugins.result import StageReport
    from cmflow.workflow import Workflow


def failed_sources(workflow: "Workflow", reports: "list[StageReport]", measured: Measured) -> Measured:
    """``measured`` without the zeros a failed source's missing records may have made."""
    import polars as pl

    failed = {r.id: r for r in reports if r.kind == "source" and not r.ok}
    frame = measured.measurements
    if not failed or frame.is_empty():
        return measured
    missing = pl.lit(False)
    for request in MetricRequest.of(workflow):
        for source_id in (s for s in request.source_ids if s in failed):
            names = list(request.plugin.produces())
            missing = missing | (pl.col("metric").is_in(names) & _may_hold(frame, failed[source_id]))
    # 0, or no value for want of records ("no posts in this period"): both claim nothing happened.
    nothing = (pl.col("value") == 0) | (pl.col("value").is_null()
                                        & pl.col("reason").str.contains(r"^no \w+( or \w+)? in this period$"))
    blank = missing & nothing.fill_null(False)
    return replace(measured, measurements=frame.with_columns(
        pl.when(blank).then(None).otherwise(pl.col("value")).alias("value"),
        pl.when(blank).then(pl.lit("a source of this figure could not be read: its records are missing"))
        .otherwise(pl.col("reason")).alias("reason")))


def _may_hold(frame: "pl.DataFrame", report: "StageReport") -> "pl.Expr":
    """Rows whose group may hold records of the source of ``report``: its accounts' and its
    platforms' groups, and those not broken down by account or platform."""
    import polars as pl

    holds = pl.lit(True)
    columns = frame.columns
    if report.accounts is not None and "account" in columns:
        holds = holds & (pl.col("account").is_null() | pl.col("account").cast(pl.String).is_in(list(report.accounts)))
    if report.platforms and "platform" in columns:
        holds = holds & (pl.col("platform").is_null()
                         | pl.col("platform").cast(pl.String).is_in(list(report.platforms)))
    return holds
