"""The sentiment an export's word stands for: ``Positif``, ``Négatif`` and ``NEUTRAL`` are
``positive``, ``negative`` and ``neutral``.

Monitoring tools write their sentiment in their user's language and case (Mention, Talkwalker
or Digimind in French: ``Positif``, ``Négative``, ``Neutre``; Talkwalker in English:
``POSITIVE``; some ``pos``/``neg``). A record's ``sentiment`` is read as the calendar's status
is (:func:`~cmflow.foundation.calendar_statuses.status_key`: without case, accents, surrounding
blanks or trailing punctuation) and becomes one of :data:`~cmflow.foundation.records.SENTIMENTS`;
a word a tool writes for no sentiment (``-``, ``N/A``, ``non classé``: :data:`NO_SENTIMENT_WORDS`)
is read as empty; any other word that is none of :data:`SENTIMENT_SYNONYMS` is kept as written
(it counts as not classified) and the source warns, naming it. Read once per distinct value.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from cmflow.foundation.calendar_statuses import status_key

if TYPE_CHECKING:
    import polars as pl

SENTIMENT_SYNONYMS: dict[str, str] = {
    # negative
    "negative": "negative", "negatif": "negative", "negatifs": "negative", "negatives": "negative",
    "neg": "negative",
    # neutral
    "neutral": "neutral", "neutre": "neutral", "neutres": "neutral", "neu": "neutral", "neut": "neutral",
    # positive
    "positive": "positive", "positif": "positive", "positifs": "positive", "positives": "positive",
    "pos": "positive",
}
"""Words (lower case, without accents) that stand for a sentiment."""

NO_SENTIMENT_WORDS = frozenset({
    "", "-", "\u2013", "\u2014", "n/a", "na", "n.a", "non classe", "non classes", "non classee", "non classees",
    "unclassified", "not classified",
})
"""Words (as :func:`~cmflow.foundation.calendar_statuses.status_key` has them) that a tool
writes for no sentiment: read as an empty cell, without a warning."""


def sentiment_of(value: str | None) -> str | None:
    """The sentiment ``value`` stands for (``negative``, ``neutral``, ``positive``), None for an
    empty value, one of :data:`NO_SENTIMENT_WORDS` (``N/A``, ``non classé``) or a word that is
    none of :data:`SENTIMENT_SYNONYMS`."""
    if value is None or not value.strip():
        return None
    return SENTIMENT_SYNONYMS.get(status_key(value))


def read_sentiments(values: "pl.Series") -> tuple["pl.Series", Counter[str]]:
    """``values`` with each known word replaced by the sentiment it stands for, and how many
    times each unknown word (kept as written, stripped) occurs; empty cells stay empty, and
    :data:`NO_SENTIMENT_WORDS` (``-``, ``N/A``, ``non classé``) become empty."""
    import polars as pl

    unknown: Counter[str] = Counter()
    mapping: dict[str, str | None] = {}
    for word, count in values.drop_nulls().value_counts().iter_rows():
        sentiment = sentiment_of(word)
        if sentiment is not None:
            mapping[word] = sentiment
        elif status_key(word) in NO_SENTIMENT_WORDS:
            mapping[word] = None
        else:
            unknown[word.strip()] += count
    return values.replace(mapping) if mapping else values, unknown
