"""The compare stage: each current measurement against the comparison periods (the previous
period, the same period last year ...).

Takes the workflow, the store (series the records do not reach take the value an earlier run
stored, unless it was measured with other filters: then no value, with the reason), the
measurements and the comparison periods; returns the comparisons frame: one row per
current measurement and comparison period, with ``previous_value``, ``change``, ``change_pct`` and
``change_reason`` (see :class:`~cmflow.plugins.result.RunResult`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cmflow.foundation.periods import CURRENT
from cmflow.foundation.measurement_scopes import SCOPE_CHANGED_REASON
from cmflow.stages.stored_measurements import SCOPE_CHANGED, with_stored_measurements

if TYPE_CHECKING:
    import polars as pl

    from cmflow.foundation.periods import Period
    from cmflow.store import Store
    from cmflow.workflow import Workflow


def compare(workflow: "Workflow", store: "Store | None", measurements: "pl.DataFrame",
            comparison_periods: list["Period"]) -> "pl.DataFrame":
    """The change of every current series against each comparison period."""
    import polars as pl

    # Rankings (top posts) have no meaningful period-over-period change.
    comparable = measurements.filter(pl.col("rank").is_null())
    current = comparable.filter(pl.col("period") == CURRENT)
    parts = []
    scopes = workflow.row_scopes() if store is not None and comparison_periods else None
    for period in comparison_periods:
        before = comparable.filter(pl.col("period") == period.label).select("metric", "series_key", "value")
        if store is not None:
            before = with_stored_measurements(before, store, workflow.key, current["metric"].unique().to_list(),
                                              [period], on=["metric", "series_key"], scopes=scopes)
        if SCOPE_CHANGED not in before.columns:
            before = before.with_columns(pl.lit(None, dtype=pl.Boolean).alias(SCOPE_CHANGED))
        joined = current.join(before.rename({"value": "previous_value"}),
                              on=["metric", "series_key"], how="left")
        parts.append(joined.with_columns(pl.lit(period.label).alias("comparison")))
    if not parts:
        return current.head(0)
    compared = pl.concat(parts, how="diagonal_relaxed")
    value, previous = pl.col("value"), pl.col("previous_value")
    return compared.with_columns(
        (value - previous).alias("change"),
        pl.when(previous != 0).then((value - previous) / previous.abs() * 100).alias("change_pct"),
        pl.when(value.is_null()).then(pl.lit("no value this period"))
        .when(previous.is_null() & pl.col(SCOPE_CHANGED).fill_null(False)).then(pl.lit(SCOPE_CHANGED_REASON))
        .when(previous.is_null()).then(pl.lit("no value for the comparison period"))
        .when(previous == 0).then(pl.lit("comparison value is 0"))
        .otherwise(None).alias("change_reason"),
    ).drop(SCOPE_CHANGED)
