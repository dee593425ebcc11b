"""Measurements kept by earlier runs, for the series this run's records do not reach (an export
holding only the latest week): the compare and evaluate stages fill their gaps from the store."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import polars as pl

    from cmflow.foundation.periods import Period
    from cmflow.store import Store


def with_stored_measurements(frame: "pl.DataFrame", store: "Store", workflow_key: str, metrics: list[str],
                             periods: list["Period"], on: list[str]) -> "pl.DataFrame":
    """``frame`` (measurements of ``periods``) with every series it has no value for taken from
    what the store kept of these metrics and periods; ``on`` are the columns naming a series."""
    import polars as pl

    stored = store.measurement_history(workflow_key, metrics, [(p.start, p.end) for p in periods])
    if stored.height == 0:
        return frame
    labels = pl.DataFrame({"period": [p.label for p in periods], "period_start": [p.start for p in periods],
                           "period_end": [p.end for p in periods]})
    stored = stored.join(labels, on=["period_start", "period_end"], how="inner").with_columns(
        pl.col("value").cast(pl.Float64))
    missing = stored.join(frame.filter(pl.col("value").is_not_null()), on=on, how="anti")
    if missing.height == 0:
        return frame
    kept = frame.join(missing.select(on), on=on, how="anti")
    return pl.concat([kept, missing.select([c for c in frame.columns if c in missing.columns])],
                     how="diagonal_relaxed")
