"""Listening (veille): the brands a workflow watches, and how a mention's text is matched to them.

A workflow's ``[listen]`` section becomes a :class:`Listen`: the brand and its competitors (each a
:class:`WatchedBrand` with its terms), the exclusions and the languages. Terms match a text
case- and accent-insensitively, as whole words (``Lumière`` does not match ``Lumières``), and
every term also matches its hashtag and its @handle written in one word: ``Maison Lumière``
matches ``maison lumiere``, ``#MaisonLumiere`` and ``@maisonlumiere`` (``@maisonlumiere.bsky.social``
too). The watch stage (:mod:`cmflow.stages.watch`) applies it to the mentions of a run.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Iterable


def folded_text(text: str) -> str:
    """``text`` in lower case without accents (NFKD, combining marks dropped, casefolded):
    what terms and texts are compared as (``Lumière`` -> ``lumiere``)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def term_pattern(terms: Iterable[str]) -> "re.Pattern[str] | None":
    """One regular expression matching any of ``terms`` in a :func:`folded_text` text, as a whole word
    (blanks inside a term match any run of blanks) or as a one-word hashtag or @handle; None for
    no term."""
    alternatives: list[str] = []
    for term in terms:
        words = folded_text(term).split()
        if not words:
            continue
        alternatives.append(r"\s+".join(re.escape(w) for w in words))
        compact = re.sub(r"[^\w]", "", "".join(words))
        if compact:
            alternatives.append(r"[#@]" + re.escape(compact))
    if not alternatives:
        return None
    # Whole words: no letter or digit just before or after (a term of its own starting with # or
    # @ is preceded by anything but a word character, too).
    return re.compile(r"(?<!\w)(?:" + "|".join(alternatives) + r")(?!\w)")


@dataclass(frozen=True)
class WatchedBrand:
    """The brand or one competitor: its id (the ``brand`` breakdown of the metrics), its name and
    the terms that name it."""

    id: str
    name: str
    terms: tuple[str, ...]
    """The words that name it (the name itself, hashtags, handles, products); the name is one."""
    exclude: tuple[str, ...] = ()
    """Terms that make a mention not about this brand (it may still be about another)."""
    competitor: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "_pattern", term_pattern(self.terms))
        object.__setattr__(self, "_excluded", term_pattern(self.exclude))

    def named_in(self, text: str) -> bool:
        """Whether a :func:`folded_text` text names this brand (one of its terms, none of its exclusions)."""
        pattern, excluded = getattr(self, "_pattern"), getattr(self, "_excluded")
        return (pattern is not None and pattern.search(text) is not None
                and (excluded is None or excluded.search(text) is None))


@dataclass(frozen=True)
class Listen:
    """A workflow's ``[listen]`` section: what the watch stage keeps, labels and merges."""

    brands: tuple[WatchedBrand, ...]
    """The brand first, then the competitors in the file's order."""
    exclude: tuple[str, ...] = ()
    """Terms that drop a mention whatever brand it names ("lumière du jour")."""
    languages: tuple[str, ...] = ()
    """ISO 639-1 codes; empty: every language. A mention whose language is not known is kept."""
    sources: tuple[str, ...] = ()
    """Ids of the sources whose mentions are watched; empty: every source of mentions."""
    duplicate_window: timedelta = timedelta(hours=1)
    """Two mentions by one author with the same text this close in time are one."""
    _excluded: "re.Pattern[str] | None" = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_excluded", term_pattern(self.exclude))

    @property
    def brand_ids(self) -> list[str]:
        return [b.id for b in self.brands]

    def brands_named(self, text: str | None) -> list[str]:
        """The ids of the brands ``text`` names, in the section's order (empty for none)."""
        if not text:
            return []
        folded = folded_text(text)
        return [b.id for b in self.brands if b.named_in(folded)]

    def excluded(self, text: str | None) -> bool:
        """Whether ``text`` holds one of the section's exclusions."""
        return bool(text) and self._excluded is not None and self._excluded.search(folded_text(text)) is not None


_TRACKING = re.compile(r"^(utm_[a-z]+|fbclid|gclid|mc_[a-z]+|ref|ref_src|s|si)$", re.IGNORECASE)


def normalised_url(url: str | None) -> str | None:
    """``url`` as two copies of one page are compared: scheme and ``www.`` dropped, host in
    lower case, no fragment, no tracking parameters (``utm_*``, ``fbclid`` ...), no trailing
    slash; None for no URL."""
    from urllib.parse import parse_qsl, urlencode, urlsplit

    if not url or not url.strip():
        return None
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower().removeprefix("www.")
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING.match(k)])
    path = parts.path.rstrip("/")
    return f"{host}{path}" + (f"?{query}" if query else "")


def normalised_author(author: str | None) -> str | None:
    """An author handle as two sources may write it: folded, without a leading ``@``."""
    if not author or not author.strip():
        return None
    return folded_text(author.strip()).lstrip("@")


def normalised_text(text: str | None) -> str | None:
    """A text as two copies of one post are compared: folded, links removed, blanks collapsed."""
    if not text or not text.strip():
        return None
    without_links = re.sub(r"https?://\S+", " ", folded_text(text))
    return " ".join(without_links.split()) or None
