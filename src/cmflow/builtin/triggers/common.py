"""Helpers the built-in triggers share."""

from __future__ import annotations

from typing import Any

EXCLUDED = {"period", "metric", "unit", "value", "reason", "rank", "period_start", "period_end",
            "series_key", "comparison", "previous_value", "change", "change_pct", "change_reason"}


def dimensions_of(row: dict[str, Any]) -> dict[str, Any]:
    """The non-null dimensions of a measurement row."""
    return {k: v for k, v in row.items() if k not in EXCLUDED and v is not None}


def format_value(value: float | None, unit: str) -> str:
    """``4.25%``, ``1,234 followers``: how a value reads in a summary."""
    if value is None:
        return "no value"
    if unit == "%":
        return f"{value:.2f}%"
    number = f"{value:,.0f}" if float(value).is_integer() or abs(value) >= 100 else f"{value:,.2f}"
    return f"{number} {unit}" if unit and unit != "count" else number


def where_text(dimensions: dict[str, Any]) -> str:
    return " / ".join(str(v) for v in dimensions.values()) or "overall"

