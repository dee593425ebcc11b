"""What the triggers that read their measurement's past (``data.history``) share.

The runner hands such a trigger the periods before the current one labelled ``history-1``
(the period just before) to ``history-N``; these helpers pick baseline periods out of them by
that number and describe them in alert summaries.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import polars as pl

    from cmflow import Period, TriggerInput

HISTORY_LABEL = "history-"
"""What the labels of ``data.history``'s periods start with (see :attr:`cmflow.TriggerInput.history`)."""


def history_index() -> "pl.Expr":
    """N of a ``history-N`` period label (1: the period just before the current one), else null."""
    import polars as pl

    return pl.col("period").cast(pl.String).str.strip_prefix(HISTORY_LABEL).cast(pl.Int64, strict=False)


def keyed(frame: "pl.DataFrame") -> "pl.DataFrame":
    """The frame with a ``series_key`` column, built the runner's way if it has none."""
    from cmflow import with_series_key

    return frame if "series_key" in frame.columns else with_series_key(frame)


def history_frame(data: "TriggerInput") -> "pl.DataFrame":
    """``data.history`` with series keys; an empty frame shaped like the measurements if none."""
    if data.history is None or data.history.height == 0:
        return keyed(data.measurements).head(0)
    return keyed(data.history)


def periods_text(period: "Period", count: int) -> str:
    """``8 days``, ``4 weeks``, ``3 months``, ``2 periods of 7 days``: ``count`` periods like ``period``."""
    plural = "" if count == 1 else "s"
    if period.unit in ("week", "month", "quarter", "year"):
        return f"{count} {period.unit}{plural}"
    if period.days == 1:
        return f"{count} day{plural}"
    return f"{count} period{plural} of {period.days} days"


def when_text(period: "Period") -> str:
    """``on 2026-11-23`` for a one-day period, ``in 2026-11-16..2026-11-22`` otherwise."""
    return f"on {period.start.isoformat()}" if period.days == 1 else f"in {period}"
