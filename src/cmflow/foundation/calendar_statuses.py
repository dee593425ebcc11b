"""What an editorial calendar's statuses mean to cmflow: which ones say a content was dropped.

Calendar items keep their tool's own words for where a content stands (lower case: idea,
approved, scheduled, published ...). Only one meaning matters to the adherence metrics and to
``cmflow utm``: a dropped item is no longer planned.
"""

from __future__ import annotations

CANCELLED_STATUSES: tuple[str, ...] = ("cancelled", "canceled", "annulé", "annule", "abandoned", "abandonné")
"""Statuses of a calendar item that was dropped (English and French spellings): it is not
planned any more."""


def is_cancelled(status: str | None, cancelled: tuple[str, ...] = CANCELLED_STATUSES) -> bool:
    """Whether ``status`` (any case, blanks around) is one of ``cancelled``."""
    return status is not None and status.strip().lower() in cancelled
