"""The failure_reasons stage: a figure without a value because what it reads failed says so.

Takes the workflow, the measurements and the reports of the stages before; returns the
measurements with the ``reason`` of each row without a value replaced, for a measurement whose
source, metric or classifier failed (:func:`~cmflow.stages.failures.upstream_failure`), by
``source a failed this run`` rather than what the metric says of a group without records
(``no posts in this period``), which would send the reader looking for posts that exist.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from cmflow.stages.failures import upstream_failure

if TYPE_CHECKING:
    import polars as pl

    from cmflow.plugins.result import StageReport
    from cmflow.workflow import Workflow


def failure_reasons(workflow: "Workflow", measurements: "pl.DataFrame",
                    upstream: "Sequence[StageReport]") -> "pl.DataFrame":
    """``measurements`` with the reason of each row without a value of a measurement whose
    inputs failed saying which failed (the error itself is the run summary's)."""
    import polars as pl

    failed = {(s.kind, s.id): s for s in upstream if not s.ok}
    if not failed or measurements.height == 0:
        return measurements
    reasons = {}
    for name in measurements["metric"].unique().to_list():
        failure = upstream_failure(workflow, failed, name)
        if failure is not None:  # "source a failed: <its error>": the error is in the summary
            reasons[name] = f"{failure.split(':', 1)[0]} this run"
    if not reasons:
        return measurements
    replaced = pl.col("metric").replace_strict(reasons, default=None, return_dtype=pl.String)
    return measurements.with_columns(
        pl.when(pl.col("value").is_null() & replaced.is_not_null()).then(replaced)
        .otherwise(pl.col("reason")).alias("reason"))
