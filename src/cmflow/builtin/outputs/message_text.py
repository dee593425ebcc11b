"""Text fit for a message to a person: what every output that posts alert text (webhooks, chats,
task outputs) does to text that comes from the data before showing it."""

from __future__ import annotations

import re
from typing import Any

CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def clean_text(text: Any, limit: int | None = None) -> str:
    """One line of text fit for a message: no control or bidi-override characters, no line
    breaks, at most ``limit`` characters (cut with an ellipsis). Not escaped for any markup."""
    text = CONTROL_CHARACTERS.sub("", str(text).replace("\r\n", " ").replace("\n", " ").replace("\t", " "))
    if limit is not None and len(text) > limit:
        text = text[:limit - 1].rstrip() + "…"
    return text
