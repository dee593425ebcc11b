"""Helpers the built-in triggers share."""

from __future__ import annotations

from typing import Any


SINGULAR_UNITS = {"posts": "post", "followers": "follower", "comments": "comment", "mentions": "mention",
                  "conversations": "conversation", "people": "person", "minutes": "minute",
                  "items": "item"}
"""The built-in metrics' units in the singular, for a value of exactly 1 (``1 conversation``)."""


def value_text(value: float | None, unit: str) -> str:
    """``4.25%``, ``€236.67``, ``54.5 h``, ``1,234 followers``, ``1 follower``: a value as a
    summary reads it (every output's format, then the unit where the value does not show it)."""
    from cmflow import format_value, shows_unit

    if value is None:
        return "no value"
    text = format_value(value, unit)
    if shows_unit(unit) or unit in ("count", ""):
        return text
    return f"{text} {SINGULAR_UNITS.get(unit, unit) if abs(value) == 1 else unit}"


def where_text(dimensions: dict[str, Any]) -> str:
    """``for instagram / trailhead.outfitters`` (``... / post 1789``), or ``overall``."""
    values = " / ".join(f"post {v}" if name == "post_id" else str(v) for name, v in dimensions.items())
    return f"for {values}" if values else "overall"
