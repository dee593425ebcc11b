"""Language codes as platforms and exports write them (``fr-FR``, ``EN``, ``en_GB``, ``und``),
made the one form cmflow compares: the ISO 639 primary subtag in lower case (``fr``, ``en``), or
None when the language is not known (empty, ``und`` for "undetermined", ``zxx``, ``mul``)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import polars as pl

UNKNOWN_CODES = frozenset({"", "und", "zxx", "mul", "mis", "unknown", "none", "null", "n/a"})
"""Codes that say the language is not known (BCP 47's ``und`` undetermined, ``zxx`` no linguistic
content, ``mul`` several, ``mis`` uncoded), and what exports write for none."""
_SUBTAG_SEPARATOR = re.compile(r"[-_]")


def language_code(value: object) -> str | None:
    """``value`` (a code such as ``fr-FR``, ``FR``, ``en_GB``, `` en ``) as its primary subtag in
    lower case (``fr``, ``en``); None for None, a blank, or a code of :data:`UNKNOWN_CODES`
    (``und``): the language is then to be detected. Any other value is returned as that
    subtag, whatever it is (``de``, ``1``): the caller decides what it accepts."""
    if value is None:
        return None
    primary = _SUBTAG_SEPARATOR.split(str(value).strip().lower(), maxsplit=1)[0]
    return None if primary in UNKNOWN_CODES else primary


def language_codes(codes: "pl.Expr") -> "pl.Expr":
    """:func:`language_code` of each value of a String expression, vectorised (for a column)."""
    import polars as pl

    primary = codes.str.strip_chars().str.to_lowercase().str.extract(r"^([^-_]*)", 1)
    return pl.when(primary.is_in(list(UNKNOWN_CODES))).then(None).otherwise(primary)
