"""Measurements kept by earlier runs, for the series this run's records do not reach (an export
holding only the latest week): the compare and evaluate stages fill their gaps from the store.

A figure kept with another scope than its metric's now (a source's or the metric's ``where``
changed since: :mod:`cmflow.foundation.measurement_scopes`) is not used: its series has no value,
and ``scope_changed`` says why."""

from __future__ import annotations

from typing import TYPE_CHECKING, Mapping

from cmflow.foundation.measurement_scopes import SCOPE_CHANGED_REASON

if TYPE_CHECKING:
    import polars as pl

    from cmflow.foundation.periods import Period
    from cmflow.store import Store

SCOPE_CHANGED = "scope_changed"
"""The column :func:`with_stored_measurements` marks a series with whose only kept figure is of
another scope (True), in the rows it adds."""


def with_stored_measurements(frame: "pl.DataFrame", store: "Store", workflow_key: str, metrics: list[str],
                             periods: list["Period"], on: list[str],
                             scopes: Mapping[tuple[str, ...], Mapping[str, str]] | None = None
                             ) -> "pl.DataFrame":
    """``frame`` (measurements of ``periods``) with every series it has no value for taken from
    what the store kept of these metrics and periods; ``on`` are the columns naming a series.
    With ``scopes`` (shape of row -> metric -> scope now: :meth:`~cmflow.workflow.Workflow.row_scopes`),
    a kept figure of another scope gives its series no
    value and ``scope_changed`` True instead: it was measured on other records."""
    import polars as pl

    stored = store.measurement_history(workflow_key, metrics, [(p.start, p.end) for p in periods], scopes)
    if stored.height == 0:
        return frame
    labels = pl.DataFrame({"period": [p.label for p in periods], "period_start": [p.start for p in periods],
                           "period_end": [p.end for p in periods]})
    stored = stored.join(labels, on=["period_start", "period_end"], how="inner").with_columns(
        pl.col("value").cast(pl.Float64))
    if "other_scope" in stored.columns:
        other = pl.col("other_scope")
        stored = stored.with_columns(pl.when(other).then(None).otherwise(pl.col("value")).alias("value"),
                                     pl.when(other).then(pl.lit(SCOPE_CHANGED_REASON))
                                     .otherwise(pl.col("reason")).alias("reason"),
                                     other.alias(SCOPE_CHANGED)).drop("other_scope")
    missing = stored.join(frame.filter(pl.col("value").is_not_null()), on=on, how="anti")
    if missing.height == 0:
        return frame
    kept = frame.join(missing.select(on), on=on, how="anti")
    columns = [c for c in frame.columns if c in missing.columns]
    if SCOPE_CHANGED in missing.columns and SCOPE_CHANGED not in columns:
        columns.append(SCOPE_CHANGED)
    return pl.concat([kept, missing.select(columns)], how="diagonal_relaxed")
