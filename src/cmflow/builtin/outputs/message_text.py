"""Text fit for a message to a person: what every output that posts alert text (webhooks, chats,
task outputs) does to text that comes from the data before showing it."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cmflow import Notification, RunResult

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


COUNTED_UNITS = frozenset({"conversations", "comments", "mentions", "posts", "messages"})
"""Units of a measurement that counts records: an alert on it should list as many items as its value."""


@dataclass(frozen=True)
class ListedItems:
    """The records behind one alert as a message lists them (:func:`listed_items`)."""

    texts: tuple[str, ...] = ()
    """The first :data:`ITEMS_SHOWN`, one clean line each without its link,
    ``@julie · x · 20 Nov 2026 14:05 CET · “the excerpt…”``. Not escaped for any markup."""
    links: tuple[str | None, ...] = ()
    """Each one's link, when it is http(s) (:func:`~cmflow.builtin.reports.html.safe_url`), else None."""
    more: int = 0
    """How many more records are behind the alert than :attr:`texts` shows."""
    counted: int | None = None
    """The alert's value when it counts records and the records listed are not as many
    (a record the listing cannot tell apart): the message says so rather than hide it."""

    @property
    def lines(self) -> tuple[str, ...]:
        """:attr:`texts` with their links: ``… · “the excerpt…” · https://…``."""
        return tuple(" · ".join([text, *([link] if link else [])]) for text, link in zip(self.texts, self.links))

    @property
    def more_text(self) -> str:
        """``…and 21 more``, ``…and 21 more (26 listed of 28)``, ``3 listed of 5``, or empty."""
        listed = len(self.texts) + self.more
        count = f"{listed} listed of {self.counted}" if self.counted is not None else ""
        if not self.more:
            return count
        return f"…and {self.more} more" + (f" ({count})" if count else "")


def listed_items(result: "RunResult", notification: "Notification", zone: str) -> ListedItems:
    """The records behind ``notification``'s alert (:attr:`cmflow.RunResult.alert_items`; none
    for a resolved one) as every message lists them, times in the workflow's ``zone`` with its name."""
    from zoneinfo import ZoneInfo

    from cmflow.builtin.reports.html import safe_url

    alert = notification.alert
    if notification.event == "resolved" or alert.fingerprint not in result.alert_items:
        return ListedItems()
    items = result.alert_items[alert.fingerprint]
    texts = []
    for item in items[:ITEMS_SHOWN]:
        at = item.at.astimezone(ZoneInfo(zone)).strftime("%d %b %Y %H:%M %Z") if item.at else None
        excerpt = f"“{clean_text(item.text, EXCERPT_LIMIT)}”" if item.text else None
        parts = [clean_text(p, 100) for p in (item.author, item.platform, at) if p]
        texts.append(" · ".join([*parts, *([excerpt] if excerpt else [])]))
    unit = str(alert.details.get("unit") or result.workflow.measurement_names().get(alert.metric, ""))
    value = alert.value
    counted = int(value) if (unit in COUNTED_UNITS and value is not None and math.isfinite(value)
                             and value == int(value) and int(value) != len(items)) else None
    return ListedItems(tuple(texts), tuple(safe_url(item.url) for item in items[:ITEMS_SHOWN]),
                       max(0, len(items) - ITEMS_SHOWN), counted)
