"""The record stage: the run's state written in one transaction, before anything is delivered.

Takes the store, the run's id, the run's result and what the compose stage made; writes the
measurements worth keeping, the alert state changes and the messages to queue together, so a
crash never leaves the store half-updated and a queued message always has the state it announces.
Returns what :meth:`~cmflow.store.Store.commit_run` does: per message, its outbox id, or None
when an earlier run of the period had queued it; the compose reports then say so
(:func:`say_what_was_queued`).
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from cmflow.foundation.measurement_scopes import ROW_KEYS
from cmflow.foundation.periods import CURRENT

if TYPE_CHECKING:
    import polars as pl

    from cmflow.plugins.result import RunResult, StageReport
    from cmflow.stages.compose import Composed
    from cmflow.store import QueuedMessage, Store


def record(store: "Store", run_id: int, result: "RunResult", composed: "Composed") -> list[int | None]:
    """Commit the run's measurements, alert changes (none for a back-fill) and composed messages;
    per message, its outbox id or None (queued already), which the compose reports then say."""
    ids = store.commit_run(run_id, workflow=result.workflow.key, measurements=_to_store(result),
                           alerts=[] if result.past_period else result.alert_changes,
                           messages=composed.messages, now=result.started_at)
    say_what_was_queued(composed.reports, composed.messages, ids)
    return ids


def say_what_was_queued(reports: list[StageReport], messages: list["QueuedMessage"],
                        ids: list[int | None]) -> None:
    """Each notifier output's note once the record stage queued its messages (``ids``: one per
    message, None for one an earlier run of the period had queued, by its key): a second run of
    the week does not send a ``send_once`` e-mail again, and must not say it queued it. Notes
    are left as they are when ``ids`` does not answer message by message."""
    if len(ids) != len(messages):
        return
    again = Counter(m.output_id for m, queued in zip(messages, ids) if queued is None)
    if not again:
        return
    for report in reports:
        if not again[report.id]:
            continue
        new = report.counts.get("messages", 0) - again[report.id]
        report.counts["messages"] = new
        report.counts["already_queued"] = again[report.id]
        earlier = f"{again[report.id]} already queued by an earlier run for this period: not sent again"
        report.note = f"{new} message(s) queued; {earlier}" if new else f"{earlier}"


def _to_store(result: "RunResult") -> "pl.DataFrame | None":
    """What to remember of a run's measurements.

    Nothing when a source failed: partial figures must not replace good ones. Otherwise the
    current period, and comparison periods where they have a value: a comparison period the
    fetched records do not cover (an export holding only the latest week) measures as "no
    value", and storing that would overwrite what an earlier run stored. Each with its scope.
    """
    import polars as pl

    if result.measurements is None or result.failed_sources:
        return None
    kept = result.measurements.filter((pl.col("period") == CURRENT) | pl.col("value").is_not_null())
    # Each figure keeps the filters it was measured with, so that a run with others does not
    # compare with it (cmflow.foundation.measurement_scopes): the scope of its metric for the
    # row's shape (which of ROW_KEYS it has), looked up by metric and shape in one mapping.
    def shape_key(metric: str, shape: "tuple[str, ...]") -> str:
        return metric + "".join(SHAPE_SEPARATOR + key for key in ROW_KEYS if key in shape)

    scopes = {shape_key(metric, shape): scope for shape, by_metric in result.workflow.row_scopes().items()
              for metric, scope in by_metric.items()}
    shape = pl.concat_str(pl.col("metric"), *[pl.when(pl.col(key).is_not_null()).then(pl.lit(SHAPE_SEPARATOR + key))
                                              .otherwise(pl.lit("")) for key in ROW_KEYS if key in kept.columns])
    return kept.with_columns(shape.replace_strict(scopes, default=None, return_dtype=pl.String).alias("scope"))


SHAPE_SEPARATOR = "\x1f"
"""Between a metric's name and the keys of a row's shape in :func:`_to_store`'s lookup (in no name)."""
