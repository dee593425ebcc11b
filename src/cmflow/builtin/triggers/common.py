"""Helpers the built-in triggers share."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cmflow import Language


SINGULAR_UNITS = {"posts": "post", "followers": "follower", "comments": "comment", "mentions": "mention",
                  "conversations": "conversation", "people": "person", "minutes": "minute",
                  "items": "item"}
"""The built-in metrics' units in the singular, for a value of exactly 1 (``1 conversation``)."""


def value_text(value: float | None, unit: str, lang: "Language | None" = None) -> str:
    """``4.25%``, ``€236.67``, ``54.5 h``, ``1,234 followers``, ``1 follower``: a value as a
    summary reads it (every output's format, then the unit where the value does not show it);
    in ``lang``'s words and formats when given (``3,49 %``, ``1 commentaire ou message``: a
    unit the catalogue has no words for is written as the metric names it)."""
    from cmflow import format_value, shows_unit

    if lang is not None:
        if value is not None and not (shows_unit(unit) or unit in ("count", "")) and lang.has(f"count_{unit}"):
            return lang.text(f"count_{unit}", n=value)
        text = lang.value(value, unit)
        return text if value is None or shows_unit(unit) or unit in ("count", "") else f"{text} {unit}"
    if value is None:
        return "no value"
    text = format_value(value, unit)
    if shows_unit(unit) or unit in ("count", ""):
        return text
    return f"{text} {SINGULAR_UNITS.get(unit, unit) if abs(value) == 1 else unit}"


def series_text(dimensions: dict[str, Any]) -> str:
    """``instagram / trailhead.outfitters`` (``... / post 1789``): a series' values as the data
    writes them. A planned item is named by its title first (``Gift guide, part 1 / facebook /
    Trailhead Outfitters / Maya Chen``): its id (a hash the calendar source derived) and its
    client (its account says it) are left out, what a CM needs to find the post is kept."""
    item = dimensions.get("title") is not None
    shown = dict(dimensions)
    if item:
        shown = {"title": dimensions["title"], **{name: value for name, value in dimensions.items()
                                                 if name not in ("title", "item_id")}}
        if shown.get("account") is not None:
            shown.pop("client", None)
    return " / ".join(f"post {v}" if name == "post_id" else str(v) for name, v in shown.items() if v is not None)


def where_text(dimensions: dict[str, Any], lang: "Language | None" = None) -> str:
    """``for instagram / trailhead.outfitters`` (``... / post 1789``), or ``overall``; in
    ``lang``'s words when given (``pour …``, ``sur l'ensemble``). The values as the data writes
    them (:func:`series_text`)."""
    values = series_text(dimensions)
    if lang is not None:
        return lang.text("alert_told_where", values=values) if values else lang.text("alert_told_overall")
    return f"for {values}" if values else "overall"
