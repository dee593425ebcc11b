"""Closest-name suggestions: the "did you mean" of every message about a misspelt name.

A plugin, an option, a column, a label: whatever the user can misspell, cmflow answers with the
nearest valid name, through this one function, so that hints read the same everywhere.
"""

from __future__ import annotations

from typing import Iterable


def closest(name: str, candidates: Iterable[str]) -> str | None:
    """The candidate closest to ``name`` (for "did you mean" hints), or None when none is close.

    A candidate one slip away (a letter added, dropped, changed, or two swapped: ``cvs`` for
    ``csv``) comes first; else the most similar one, if similar enough."""
    import difflib  # only for a misspelt name: a valid workflow never needs it

    names = sorted(candidates)
    slips = [c for c in names if _one_slip(name.casefold(), c.casefold())]
    if slips:
        return max(slips, key=lambda c: difflib.SequenceMatcher(None, name, c).ratio())
    matches = difflib.get_close_matches(name, names, n=1, cutoff=0.5)
    return matches[0] if matches else None


def _one_slip(typed: str, meant: str) -> bool:
    """Whether ``typed`` is ``meant`` with one letter added, dropped, changed, or two adjacent
    letters swapped."""
    if typed == meant or abs(len(typed) - len(meant)) > 1:
        return False
    if len(typed) == len(meant):
        diff = [i for i, (a, b) in enumerate(zip(typed, meant)) if a != b]
        return len(diff) == 1 or (len(diff) == 2 and diff[1] == diff[0] + 1
                                  and typed[diff[0]] == meant[diff[1]] and typed[diff[1]] == meant[diff[0]])
    shorter, longer = sorted((typed, meant), key=len)
    return any(longer[:i] + longer[i + 1:] == shorter for i in range(len(longer)))
