"""How a figure is written, one rule per unit, in any locale: every output (terminal tables,
alert summaries, e-mails, chat and webhook messages, task titles, reports) writes a value
through :func:`format_value`, so that ``54 h`` never sits next to ``100.0 h`` or ``236.67 EUR``
next to ``€236.67``.

The rules, whatever the language (Babel writes the separators, signs and symbols from the
Unicode CLDR data: ``6,143`` / ``6 143``, ``3.12%`` / ``3,12 %``, ``€236.67`` / ``236,67 €``):

- a rate (unit ``%``): two decimals;
- an amount (an ISO 4217 unit such as ``EUR``): the locale's currency form, with its decimals;
- hours (unit ``h``): at most one decimal, none when it rounds to a whole hour, and `` h``;
  under one hour two significant digits (``0.05 h``, ``0.33 h``: a few minutes are not
  ``0 h``), to the thousandth of an hour (under 2 seconds is ``0 h``, float noise too);
- any other figure (a count, minutes, a score): whole numbers and numbers from 100 up without
  decimals, others with two; its unit is the sentence's to say (``1 post``, ``3 mentions``).

Figures are rounded half away from zero, as a reader does (``2.25 h`` is ``2.3 h``,
``-2.25 h`` is ``-2.3 h``), from their shortest decimal form (``2.675`` is ``2.68``), not
half to even as Babel would. No value (None, NaN, infinite) is an en dash. A change against an earlier period
(:func:`format_change`) is signed: a rate's in percentage points with two decimals
(``+0.84 pt``), another figure's in percent, one decimal under 10% (``+12%``, ``-4.5%``), or,
when the earlier value was 0 (or none), as the figure itself written by the unit's rule, signed
(``+€236.67``, ``+2.5 h``, ``+3``); ``±`` for what rounds to no change.
"""

from __future__ import annotations

import math
from copy import copy
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import TYPE_CHECKING, Literal, Union

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


def _half_up(value: float | int, decimals: int) -> Decimal:
    """``value`` rounded half away from zero to ``decimals`` places, from its shortest decimal
    form (``str``: 2.675 is 2.68, not the 2.67 its binary value gives): Babel then has no tie
    to round half to even."""
    if isinstance(value, int):
        return Decimal(value)  # nothing to round
    return Decimal(str(value)).quantize(_quantum(decimals), rounding=ROUND_HALF_UP)


@lru_cache(maxsize=16)
def _quantum(decimals: int) -> Decimal:
    return Decimal(1).scaleb(-decimals)


@lru_cache(maxsize=256)
def _currency_pattern(tag: str, currency: str):
    """The locale's currency pattern for ``currency``, made once (as :func:`_pattern` makes the
    decimal ones): its symbol written in, its decimals the currency's (2 for EUR, 0 for JPY).
    Babel's ``format_currency`` looks the locale's pattern, the currency's symbol, decimals and
    plural name up at every call: a table of amounts took twice a plain figure's time."""
    from babel.numbers import get_currency_precision, get_currency_symbol

    babel = _locale(tag)
    pattern = copy(babel.currency_formats["standard"])
    symbol = get_currency_symbol(currency, babel)

    def written(affixes: tuple[str, str]) -> tuple[str, str]:
        return tuple(a.replace("¤¤", currency).replace("¤", symbol) for a in affixes)  # type: ignore[return-value]

    pattern.prefix, pattern.suffix = written(pattern.prefix), written(pattern.suffix)
    digits = get_currency_precision(currency)
    pattern.frac_prec = (digits, digits)
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
    precision = _precision(number_decimals(value) if decimals is None else decimals)
    pattern = _pattern(str(babel), "decimal", precision)
    return _without_negative_zero(pattern.apply(_half_up(value, precision[1]), babel), babel)


def format_percent(value: float | None, decimals: int | tuple[int, int] = 2, locale: LocaleLike = "en") -> str:
    """A percentage given in percent (``3.12`` is ``3.12%`` / ``3,12 %``), with ``decimals``
    digits (or between ``(least, most)``); no value is a dash; never ``-0``."""
    if _missing(value):
        return NO_VALUE
    babel = _as_locale(locale)
    precision = _precision(decimals)
    pattern = _pattern(str(babel), "percent", precision)
    return _without_negative_zero(pattern.apply(_half_up(value, precision[1]).scaleb(-2), babel), babel)


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
        pattern = _currency_pattern(str(babel), unit)
        return _without_negative_zero(pattern.apply(_half_up(value, pattern.frac_prec[1]), babel), babel)
    if unit == "h":
        return format_number(value, hours_decimals(value), babel) + HOURS_SUFFIX
    return format_number(value, locale=babel)


def hours_decimals(value: float) -> tuple[int, int]:
    """The decimals of a number of hours, as ``(least, most)``: at most one from 1 h up; under
    1 h two significant digits (``0.05``, ``0.33``), at most three (a thousandth of an hour)."""
    size = abs(value)
    if size >= 1 or size == 0:
        return (0, 1)
    return (0, min(3, max(2, 1 - math.floor(math.log10(size)))))


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
    ``+0.84 pt`` for a rate (unit ``%``), ``+12%`` / ``-4.5%`` for other figures; when the
    earlier value was 0 (no percent), the change as :func:`format_value` writes its unit, signed
    (``+3``, ``+€236.67``, ``+2.5 h``); empty when unknown. ``signed=False``: its size alone,
    for a sentence that says the direction itself (``dropped 34%``)."""
    babel = _as_locale(locale)
    basis, amount = change_basis(change, change_pct, unit)
    if _missing(amount):
        return ""
    if basis == "points":
        return _signed(amount, format_number(abs(amount), 2, babel), babel, signed) + POINTS_SUFFIX
    if basis == "percent":
        magnitude = format_percent(abs(amount), (0, relative_change_decimals(amount)), babel)
        return _signed(amount, magnitude, babel, signed)
    return _signed(amount, format_value(abs(amount), unit, babel), babel, signed)


def change_basis(change: float | None, change_pct: float | None,
                 unit: str) -> tuple[Literal["points", "percent", "absolute"], float | None]:
    """How a change is said, the one rule of every output (:func:`format_change`, the workbook's
    change column): a rate (unit ``%``) by its difference in percentage ``points``; another
    figure by its relative change in ``percent``; when the earlier value was 0 (no percent),
    by its ``absolute`` difference in the figure's unit. The amount is None when unknown."""
    if unit == "%":
        return "points", change
    if not _missing(change_pct):
        return "percent", change_pct
    return "absolute", change
