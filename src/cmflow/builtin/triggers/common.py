"""Helpers the built-in triggers share."""

from __future__ import annotations

from typing import Any

EXCLUDED = {"period", "metric", "unit", "value", "reason", "rank", "period_start", "period_end",
            "series_key", "comparison", "previous_value", "change", "change_pct", "change_reason"}


def dimensions_of(row: dict[str, Any]) -> dict[str, Any]:
    """The non-null dimensions of a measurement row."""
    return {k: v for k, v in row.items() if k not in EXCLUDED and v is not None}


def value_text(value: float | None, unit: str) -> str:
    """``4.25%``, ``1,234 followers``: a value as a summary reads it (the tables' format + unit)."""
    from cmflow import format_value

    if value is None:
        return "no value"
    text = format_value(value, unit)
    return f"{text} {unit}" if unit not in ("%", "count", "") else text


def where_text(dimensions: dict[str, Any]) -> str:
    """``for instagram / trailhead.outfitters``, or ``overall``."""
    values = " / ".join(str(v) for v in dimensions.values())
    return f"for {values}" if values else "overall"
