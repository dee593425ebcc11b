"""Text fit for a message to a person: what every output that posts alert text (webhooks, chats,
task outputs) does to text that comes from the data before showing it."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Sequence

if TYPE_CHECKING:
    from cmflow import AlertItem

CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def clean_text(text: Any, limit: int | None = None) -> str:
    """One line of text fit for a message: no control or bidi-override characters, no line
    breaks, at most ``limit`` characters (cut with an ellipsis). Not escaped for any markup."""
    text = CONTROL_CHARACTERS.sub("", str(text).replace("\r\n", " ").replace("\n", " ").replace("\t", " "))
    if limit is not None and len(text) > limit:
        text = text[:limit - 1].rstrip() + "…"
    return text


ITEMS_SHOWN = 5
"""Items of an escalation a message lists under its alert; "and N more" says the rest."""
EXCERPT_LIMIT = 140
"""Characters of an item's text shown."""


def item_texts(items: "Sequence[AlertItem]", zone: str) -> tuple[list[str], int]:
    """The first :data:`ITEMS_SHOWN` items behind an alert (:attr:`cmflow.RunResult.alert_items`)
    as one clean line each, ``@julie · x · 20 Nov 2026 14:05 · “the excerpt…” · https://…`` (the
    time in the workflow's ``zone``, a link only when it is http(s)), and how many more there are.
    Not escaped for any markup: each output escapes the lines for its own."""
    from zoneinfo import ZoneInfo

    from cmflow.builtin.reports.html import safe_url

    lines = []
    for item in items[:ITEMS_SHOWN]:
        at = item.at.astimezone(ZoneInfo(zone)).strftime("%d %b %Y %H:%M") if item.at else None
        excerpt = f"“{clean_text(item.text, EXCERPT_LIMIT)}”" if item.text else None
        parts = [clean_text(p, 100) for p in (item.author, item.platform, at) if p]
        lines.append(" · ".join([*parts, *([excerpt] if excerpt else []), *filter(None, [safe_url(item.url)])]))
    return lines, max(0, len(items) - ITEMS_SHOWN)


def more_items_text(hidden: int) -> str:
    """``…and 3 more``: the items of an alert a message does not list."""
    return f"…and {hidden} more"
