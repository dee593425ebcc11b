"""Helpers the built-in triggers share."""

from __future__ import annotations

from typing import Any


def value_text(value: float | None, unit: str) -> str:
    """``4.25%``, ``1,234 followers``: a value as a summary reads it (the tables' format + unit)."""
    from cmflow import format_value

    if value is None:
        return "no value"
    text = format_value(value, unit)
    return f"{text} {unit}" if unit not in ("%", "count", "") else text


def where_text(dimensions: dict[str, Any]) -> str:
    """``for instagram / trailhead.outfitters`` (``... / post 1789``), or ``overall``."""
    values = " / ".join(f"post {v}" if name == "post_id" else str(v) for name, v in dimensions.items())
    return f"for {values}" if values else "overall"
