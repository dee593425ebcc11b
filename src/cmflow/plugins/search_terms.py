"""The capability of a source that searches its platform for words (Bluesky's search, Mastodon's
hashtag timelines): in a workflow with a ``[listen]`` section, an entry that asks for its search
and gives it no terms of its own searches the section's.

A source subclasses :class:`SearchesTerms` beside :class:`cmflow.Source`. When the workflow is
loaded, each such entry whose :meth:`~SearchesTerms.needs_search_terms` is true is given
:meth:`~SearchesTerms.with_search_terms` of the ``[listen]`` brands' terms (every brand's name and
terms, the own brands first, then the competitors: :attr:`cmflow.foundation.listening.Listen.search_terms`);
without ``[listen]`` (or when ``listen.sources`` leaves the entry out) validation says which option
to fill.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Sequence

if TYPE_CHECKING:
    from cmflow.plugins.kinds import Source


class SearchesTerms:
    """A source that searches for words: the ``[listen]`` terms are its default."""

    search_option: ClassVar[str] = "search"
    """The option holding the source's own terms: where validation points when it has none."""

    def needs_search_terms(self) -> bool:
        """Whether the entry asks for a search (its ``fetch``) and gives it no term."""
        raise NotImplementedError

    def with_search_terms(self, terms: Sequence[str]) -> "Source":
        """A copy of the source, same entry id, that searches ``terms`` (as ``[listen]`` writes
        them: names, phrases, ``#hashtags``, ``@handles``), written as its platform's search reads them."""
        raise NotImplementedError
