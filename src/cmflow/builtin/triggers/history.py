"""What the triggers that read their measurement's past (``data.history``) share.

The runner hands such a trigger the periods before the current one labelled ``history-1``
(the period just before) to ``history-N``; these helpers pick baseline periods out of them by
that number and describe them in alert summaries.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import polars as pl

    from cmflow import Language, Period, TriggerInput

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


def period_details(period: "Period") -> dict[str, str]:
    """What an alert's details keep of its run's period, so that it can be told again later
    (:func:`told_period`): its first and last days and its unit."""
    return {"period_start": period.start.isoformat(), "period_end": period.end.isoformat(),
            "period_unit": period.unit}


def told_period(details: dict) -> "Period | None":
    """The period :func:`period_details` kept in ``details``; None when it holds none (an
    alert stored before it did)."""
    from datetime import date

    from cmflow import Period

    try:
        return Period(date.fromisoformat(details["period_start"]), date.fromisoformat(details["period_end"]),
                      "UTC", unit=str(details.get("period_unit") or "days"))
    except (KeyError, TypeError, ValueError):
        return None


def told_when(period: "Period", lang: "Language") -> str:
    """:func:`when_text` in ``lang``'s words (``le 23 nov. 2026``, ``sur la période 16–22 nov. 2026``)."""
    if period.days == 1:
        return lang.text("alert_told_when_day", date=lang.date(period.start))
    return lang.text("alert_told_when_period", period=lang.period(period.start, period.end))


def told_before(period: "Period", count: int, lang: "Language") -> str:
    """The ``count`` periods before ``period`` in ``lang``'s words, with their article (``les
    4 jours précédents``, ``la semaine précédente``, ``les 2 périodes de 7 jours précédentes``)."""
    if period.unit in ("week", "month", "quarter", "year"):
        return lang.text(f"alert_told_before_{period.unit}", n=count)
    if period.days == 1:
        return lang.text("alert_told_before_day", n=count)
    return lang.text("alert_told_before_periods", n=count, days=period.days)
