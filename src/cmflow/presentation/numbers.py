"""How a figure is written, one rule per unit, in any locale: every output (terminal tables,
alert summaries, e-mails, chat and webhook messages, task titles, reports) writes a value
through :func:`format_value`, so that ``54 h`` never sits next to ``100.0 h`` or ``236.67 EUR``
next to ``€236.67``.

The rules, whatever the language (Babel writes the separators, signs and symbols from the
Unicode CLDR data: ``6,143`` / ``6 143``, ``3.12%`` / ``3,12 %``, ``€236.67`` / ``236,67 €``):

- a rate (unit ``%``): two decimals;
- an amount (an ISO 4217 unit such as ``EUR``): the locale's currency form, with its decimals;
- hours (unit ``h``): at most one decimal, none when it rounds to a whole hour, and `` h``;
- any other figure (a count, minutes, a score): whole numbers and numbers from 100 up without
  decimals, others with two; its unit is the sentence's to say (``1 post``, ``3 mentions``).

No value (None, NaN, infinite) is an en dash. A change against an earlier period
(:func:`format_change`) is signed: a rate's in percentage points with two decimals
(``+0.84 pt``), another figure's in percent, one decimal under 10% (``+12%``, ``-4.5%``), or as
a plain figure when the earlier value was 0; ``±`` for what rounds to no change.
"""

from __future__ import annotations

import math
from copy import copy
from functools import lru_cache
from typing import TYPE_CHECKING, Union

if TYPE_CHECKING:
    from babel import Locale

LocaleLike = Union[str, "Locale"]
NO_VALUE = "–"
"""What a missing figure shows (an en dash)."""
HOURS_SUFFIX = "\u00a0h"
"""What follows a number of hours: a no-break space (the number and its unit stay on one line)
and ``h``, the symbol French and English both write."""
POINTS_SUFFIX = "\u00a0pt"
"""What follows a change of a rate in percentage points (``+0.84 pt``)."""


def is_currency(unit: str) -> bool:
    """Whether a measurement's unit is an amount of money: an ISO 4217 code (``EUR``, ``USD``)."""
    return len(unit) == 3 and unit.isascii() and unit.isalpha() and unit.isupper()


def shows_unit(unit: str) -> bool:
    """Whether :func:`format_value` writes the unit itself (``%``, an amount's currency, ``h``):
    a sentence then adds no unit word after the value."""
    return unit in ("%", "h") or is_currency(unit)


@lru_cache(maxsize=64)
def _locale(tag: str) -> "Locale":
    from babel import Locale

    return Locale.parse(tag.replace("-", "_"))


def _as_locale(locale: LocaleLike) -> "Locale":
    return _locale(locale) if isinstance(locale, str) else locale


def _missing(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and not math.isfinite(value))


@lru_cache(maxsize=64)
def _minus(tag: str) -> str:
    from babel.numbers import get_minus_sign_symbol

    return get_minus_sign_symbol(_locale(tag))


def _without_negative_zero(text: str, locale: "Locale") -> str:
    minus = _minus(str(locale))
    if text.startswith(minus) and not any(c.isdigit() and c != "0" for c in text):
        return text[len(minus):]
    return text


def _precision(decimals: int | tuple[int, int]) -> tuple[int, int]:
    return decimals if isinstance(decimals, tuple) else (decimals, decimals)


@lru_cache(maxsize=256)
def _pattern(tag: str, kind: str, precision: tuple[int, int]):
    """The locale's decimal or percent pattern with ``precision`` decimals, made once: a table
    of thousands of cells formats each value without copying a pattern."""
    babel = _locale(tag)
    pattern = copy((babel.decimal_formats if kind == "decimal" else babel.percent_formats)[None])
    pattern.frac_prec = precision
    return pattern


def number_decimals(value: float) -> int:
    """The decimals of a plain figure: none for a whole number or one from 100 up, else two."""
    return 0 if float(value).is_integer() or abs(value) >= 100 else 2


def format_number(value: float | int | None, decimals: int | tuple[int, int] | None = None,
                  locale: LocaleLike = "en") -> str:
    """``value`` with the locale's separators (``6,143`` / ``6 143``): ``decimals`` digits after
    the point, or between ``(least, most)``, or by default :func:`number_decimals`; no value is
    a dash; never ``-0``."""
    if _missing(value):
        return NO_VALUE
    babel = _as_locale(locale)
    pattern = _pattern(str(babel), "decimal", _precision(number_decimals(value) if decimals is None else decimals))
    return _without_negative_zero(pattern.apply(value, babel), babel)


def format_percent(value: float | None, decimals: int | tuple[int, int] = 2, locale: LocaleLike = "en") -> str:
    """A percentage given in percent (``3.12`` is ``3.12%`` / ``3,12 %``), with ``decimals``
    digits (or between ``(least, most)``); no value is a dash; never ``-0``."""
    if _missing(value):
        return NO_VALUE
    babel = _as_locale(locale)
    pattern = _pattern(str(babel), "percent", _precision(decimals))
    return _without_negative_zero(pattern.apply(value / 100, babel), babel)


def format_value(value: float | None, unit: str, locale: LocaleLike = "en") -> str:
    """A measurement's value as every output writes it (the module's rules): ``3.12%``,
    ``€236.67``, ``54.5 h``, ``6,143`` in English; ``3,12 %``, ``236,67 €``, ``54,5 h``,
    ``6 143`` in French (``locale``: a tag such as ``"fr"``, ``"en-GB"``, or a Babel locale)."""
    if _missing(value):
        return NO_VALUE
    babel = _as_locale(locale)
    if unit == "%":
        return format_percent(value, 2, babel)
    if is_currency(unit):
        from babel.numbers import format_currency

        return _without_negative_zero(format_currency(value, unit, locale=babel), babel)
    if unit == "h":
        return format_number(value, (0, 1), babel) + HOURS_SUFFIX
    return format_number(value, locale=babel)


def relative_change_decimals(change_pct: float) -> int:
    """The decimals of a change in percent: none from 10% up, else one (``+12%``, ``-4.5%``)."""
    return 0 if round(abs(change_pct), 1) >= 10 else 1


def _signed(value: float, magnitude: str, babel: "Locale", signed: bool = True) -> str:
    """``magnitude`` (the text of ``|value|``) with a sign: + or the locale's minus, ± for what
    rounds to zero (none unless ``signed``)."""
    from babel.numbers import get_minus_sign_symbol, get_plus_sign_symbol

    if not signed:
        return magnitude
    if not any(c.isdigit() and c != "0" for c in magnitude):
        return "±" + magnitude
    return (get_plus_sign_symbol(babel) if value > 0 else get_minus_sign_symbol(babel)) + magnitude


def format_change(change: float | None, change_pct: float | None, unit: str, locale: LocaleLike = "en", *,
                  signed: bool = True) -> str:
    """A change against an earlier period as every output writes it (the module's rules):
    ``+0.84 pt`` for a rate (unit ``%``), ``+12%`` / ``-4.5%`` for other figures, ``+3`` when
    the earlier value was 0 (no percent); empty when unknown. ``signed=False``: its size alone,
    for a sentence that says the direction itself (``dropped 34%``)."""
    babel = _as_locale(locale)
    if unit == "%":
        if _missing(change):
            return ""
        return _signed(change, format_number(abs(change), 2, babel), babel, signed) + POINTS_SUFFIX
    if not _missing(change_pct):
        magnitude = format_percent(abs(change_pct), (0, relative_change_decimals(change_pct)), babel)
        return _signed(change_pct, magnitude, babel, signed)
    if _missing(change):
        return ""
    return _signed(change, format_number(abs(change), locale=babel), babel, signed)
