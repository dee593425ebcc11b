"""Closest-name suggestions: the "did you mean" of every message about a misspelt name.

A plugin, an option, a column, a label: whatever the user can misspell, cmflow answers with the
nearest valid name, through this one function, so that hints read the same everywhere.
"""

from __future__ import annotations

import difflib
from typing import Iterable


def closest(name: str, candidates: Iterable[str]) -> str | None:
    """The candidate closest to ``name`` (for "did you mean" hints), or None when none is close."""
    matches = difflib.get_close_matches(name, sorted(candidates), n=1, cutoff=0.5)
    return matches[0] if matches else None
