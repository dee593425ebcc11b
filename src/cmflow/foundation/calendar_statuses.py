"""The status a calendar's word stands for: ``Publié``, ``Validé`` and ``À faire`` are
``published``, ``approved`` and ``idea``.

Editorial calendars keep their own words for where a content stands. A calendar item's
``status`` is that word lower-cased without surrounding blanks, except for the synonyms of
:data:`STATUS_SYNONYMS`, which become the word the metrics and triggers look for (``published``,
``approved``, ``idea``, ``scheduled``, ``cancelled``). Read once per distinct value.
"""

from __future__ import annotations

import unicodedata

STATUS_SYNONYMS: dict[str, str] = {
    # published
    "publie": "published", "publiee": "published", "publies": "published", "publiees": "published",
    "en ligne": "published", "poste": "published", "postee": "published", "posted": "published",
    # approved
    "valide": "approved", "validee": "approved", "approuve": "approved", "approuvee": "approved",
    "approved": "approved", "validated": "approved",
    # idea
    "a faire": "idea", "idee": "idea", "idees": "idea", "idea": "idea", "to do": "idea", "todo": "idea",
    "backlog": "idea",
    # scheduled
    "programme": "scheduled", "programmee": "scheduled", "planifie": "scheduled", "planifiee": "scheduled",
    "scheduled": "scheduled",
    # cancelled
    "annule": "cancelled", "annulee": "cancelled", "cancelled": "cancelled", "canceled": "cancelled",
    "abandonne": "cancelled", "abandonnee": "cancelled",
}
"""Words (lower case, without accents) that stand for a canonical status. Any other word is
kept as the calendar writes it, lower-cased."""
CALENDAR_STATUSES: tuple[str, ...] = ("idea", "approved", "scheduled", "published", "cancelled")
"""The statuses the synonyms stand for, in the order a content goes through them."""


def status_of(value: str | None, extra: dict[str, str] | None = None) -> str | None:
    """The status ``value`` stands for: a synonym's canonical word (``extra`` first: a
    workflow's own words -> their status, matched the same way, without case or accents), else
    ``value`` lower-cased and stripped; None for an empty value."""
    if value is None or not value.strip():
        return None
    key = status_key(value)
    for word, status in (extra or {}).items():
        if status_key(word) == key:
            return " ".join(status.split()).lower()
    return STATUS_SYNONYMS.get(key, " ".join(value.split()).lower())


def status_key(value: str) -> str:
    """How a status word is looked up: lower case, no accents, blanks as one space, no
    trailing punctuation (``À faire !`` is ``a faire``)."""
    text = "".join(c for c in unicodedata.normalize("NFKD", value) if not unicodedata.combining(c))
    return " ".join(text.casefold().strip(" .!:;-").split())
