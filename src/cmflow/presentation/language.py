"""The words and number formats of a report in its reader's language.

Every sentence a report, a report e-mail, an alert's message or ``cmflow run``'s summary of
an objective says in a reader's language comes from a message catalogue, one TOML file
per language in ``src/cmflow/catalogues/`` (``en.toml``, ``fr.toml``): adding a language is adding a file.
Numbers, percentages, dates and date ranges are formatted by Babel from the Unicode CLDR data
(``3,12 %``, ``6 143``, ``16–22 nov. 2026``), never by hand-written format strings.

A catalogue is TOML tables whose leaves are messages, reached by their table and name joined by
``_`` (``[section] summary = "Summary"`` is ``section_summary``, ``[metric.followers] label`` is
``metric_followers_label``), the way templates build keys (``"verdict_" ~ verdict``). A message
may hold ``{name}`` placeholders, filled by :meth:`Language.text`, and may be a table of CLDR
plural forms (``{ one = "{n} post", other = "{n} posts" }``) chosen by the value of ``n``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any

try:
    import tomllib
except ModuleNotFoundError:  # Python < 3.11
    import tomli as tomllib  # type: ignore[no-redef]

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_interval, format_skeleton, format_time, get_day_names
from babel.lists import format_list
from babel.units import format_unit
from babel.localedata import locale_identifiers

from cmflow.foundation.report_languages import CATALOGUES, LANGUAGES
from cmflow.presentation.numbers import format_change, format_number, format_percent, format_value

REFERENCE = "en"
"""The catalogue every other one must match key for key."""
RUN_WARNINGS_LANGUAGE = "en"
"""The language the run's stages write their warnings in (:meth:`Language.run_warning`)."""
PLURAL_FORMS = frozenset({"zero", "one", "two", "few", "many", "other"})
"""The CLDR plural categories a plural message may have (``other`` is required)."""
PLACEHOLDER = re.compile(r"\{(\w+)\}")
NO_VALUE = format_value(None, "")
"""What a missing figure shows (an en dash, as in every output)."""
REASONS: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(p, re.IGNORECASE), name) for p, name in (
    (r"^source .+ could not be read", "source_failed"),  # first: a source's id may hold any word below
    (r"measured with another where", "scope_changed"),
    (r"comparison", "no_comparison"),
    (r"^no record read reaches", "not_covered"),
    (r"^no value this period", "no_value"),
    (r"too old", "too_old"),
    (r"follower count|followers (at start )?is 0", "no_followers"),
    (r"sentiment", "no_sentiment"),
    (r"^no (posts?|activity|posts or activity) (in|this) ", "no_posts"),
    (r"\b(has|reports)\b", "not_reported"),
    (r" is 0$", "not_computable"),
    (r"failed|could not", "source_failed"),
))
"""A measurement's reason (the metrics' wording, for the CM) and the message that tells a
client the same: the first pattern found in the reason wins; none, ``reason_unknown``."""


class MessageError(LookupError):
    """A message a report asked for is not in its catalogue, or lacks a value to fill it."""


def language(code: str) -> "Language":
    """The language of ``code``: ``"fr"``, ``"en"``, or a language with a region (``"fr-FR"``,
    ``"en_GB"``), whose words are the language's and whose formats the region's.

    Raises ValueError naming the available languages for one reports are not written in."""
    if not isinstance(code, str) or not code.strip():
        raise ValueError(f"no language given: reports are written in {_available()}")
    return _language(code.strip().replace("_", "-"))


@lru_cache(maxsize=None)
def _language(tag: str) -> "Language":
    base, _, region = tag.partition("-")
    base = base.lower()
    if base not in LANGUAGES:
        raise ValueError(f"unknown language {tag!r}: reports are written in {_available()}; "
                         f"to add one, add a catalogue (docs/reports.md, \"Languages\")")
    try:
        locale = Locale.parse(f"{base}_{region.upper()}" if region else base)
    except (UnknownLocaleError, ValueError):
        regions = sorted(i.replace("_", "-") for i in locale_identifiers() if re.fullmatch(fr"{base}_[A-Z]{{2}}", i))
        raise ValueError(f"unknown region in language {tag!r}: write {base!r}, or {base} with a region "
                         f"CLDR knows ({', '.join(regions[:4])} ...)") from None
    return Language(base, locale, load_catalogue(base))


def _available() -> str:
    return ", ".join(f"{code} ({Locale.parse(code).get_display_name('en')})" for code in LANGUAGES)


def load_catalogue(code: str) -> dict[str, str | dict[str, str]]:
    """The messages of the ``code`` catalogue by key; a plural message is a dict of its forms. Raises ValueError for a catalogue that is missing or not valid TOML."""
    path = CATALOGUES / f"{code}.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"no catalogue {code}.toml in {CATALOGUES}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"catalogue {code}.toml is not valid TOML: {exc}") from None
    return _flatten(data, code)


def _flatten(table: dict[str, Any], code: str, prefix: str = "", path: str = "",
             messages: dict[str, str | dict[str, str]] | None = None,
             paths: dict[str, str] | None = None) -> dict[str, str | dict[str, str]]:
    messages = {} if messages is None else messages
    paths = {} if paths is None else paths
    for name, value in table.items():
        key, where = f"{prefix}{name}", f"{path}{name}"
        if isinstance(value, dict) and not (value and set(value) <= PLURAL_FORMS and "other" in value):
            _flatten(value, code, key + "_", where + ".", messages, paths)
            continue
        if not isinstance(value, (str, dict)):
            raise ValueError(f"catalogue {code}.toml: {where} is a {type(value).__name__}, not text")
        if key in paths:
            raise ValueError(f"catalogue {code}.toml: {where} and {paths[key]} are both message {key!r}: "
                             f"rename one")
        messages[key], paths[key] = (dict(value) if isinstance(value, dict) else value), where
    return messages


def placeholders(message: str | dict[str, str]) -> set[str]:
    """The ``{names}`` a message holds (in any of its plural forms)."""
    forms = message.values() if isinstance(message, dict) else [message]
    return {name for form in forms for name in PLACEHOLDER.findall(form)}


def catalogue_differences(code: str, reference: str = REFERENCE) -> list[str]:
    """What the ``code`` catalogue lacks or has too many against ``reference``, one line each:
    missing keys, unknown keys, and keys whose placeholders differ. Empty when they match."""
    ours, theirs = load_catalogue(code), load_catalogue(reference)
    problems = [f"{code}: missing {key}" for key in theirs if key not in ours]
    problems += [f"{code}: {key} is not in {reference}.toml" for key in ours if key not in theirs]
    for key in theirs.keys() & ours.keys():
        if placeholders(ours[key]) != placeholders(theirs[key]):
            problems.append(f"{code}: {key} has placeholders {sorted(placeholders(ours[key]))}, "
                            f"{reference}.toml {sorted(placeholders(theirs[key]))}")
    return sorted(problems)


@dataclass(frozen=True)
class Language:
    """A report's language: its catalogue's words and its locale's number and date formats."""

    code: str
    """The catalogue's language, ``"fr"`` or ``"en"`` (also the HTML ``lang`` of a page)."""
    locale: Locale = field(compare=False)
    """Babel's locale for numbers and dates (``fr``, ``en_GB`` ...)."""
    messages: dict[str, str | dict[str, str]] = field(repr=False, compare=False)

    @property
    def tag(self) -> str:
        """The BCP 47 tag of the locale (``fr``, ``en-GB``)."""
        return str(self.locale).replace("_", "-")

    @property
    def name(self) -> str:
        """The language's name in itself (``français``, ``English``)."""
        return self.locale.get_language_name(self.code) or self.code

    # -- words ---------------------------------------------------------------------------

    def has(self, key: str) -> bool:
        """Whether the catalogue has a message ``key``."""
        return key in self.messages

    def text(self, key: str, **values: Any) -> str:
        """The message ``key`` with its ``{placeholders}`` filled from ``values``.

        Numbers are formatted as :meth:`number` does; strings are inserted as they are (format
        figures with :meth:`value` or :meth:`change` first). A plural message picks its form
        by ``n``. Raises MessageError for an unknown key or a placeholder without a value."""
        message = self.messages.get(key)
        if message is None:
            raise MessageError(_unknown_key(key, self.code, self.messages))
        if isinstance(message, dict):
            if "n" not in values:
                raise MessageError(f"message {key!r} ({self.code}) has plural forms: give n=")
            message = message.get(self.locale.plural_form(abs(values["n"])), message["other"])

        def fill(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in values:
                raise MessageError(f"message {key!r} ({self.code}) needs a value for {{{name}}}")
            return self._inserted(values[name])

        return PLACEHOLDER.sub(fill, message)

    def _inserted(self, value: Any) -> str:
        if isinstance(value, bool) or value is None:
            return NO_VALUE if value is None else str(value)
        if isinstance(value, (int, float)):
            return self.number(value)
        if isinstance(value, datetime):
            return self.date(value)
        if isinstance(value, date):
            return self.date(value)
        if isinstance(value, timedelta):
            return self.duration(value)
        if isinstance(value, tuple) and len(value) == 2 and all(isinstance(v, date) for v in value):
            return self.period(*value)
        if isinstance(value, list):
            return self.join([self._inserted(item) for item in value])
        return str(value)

    def run_warning(self, warning: str) -> str:
        """A run's warning in the report's language: the catalogue's ``run_warning_<code>`` filled
        from its values (:class:`~cmflow.foundation.run_warnings.RunWarning`); the text as it is
        written in an English report (the stages write English: the same words as ``cmflow
        history``), and for a warning without a code or whose code the catalogue does not have
        (a third party's). A value ``metrics`` (metric names) is said by the metrics' labels."""
        code = getattr(warning, "code", None)
        if self.code == RUN_WARNINGS_LANGUAGE or not code or not self.has(f"run_warning_{code}"):
            return str(warning)
        values = dict(getattr(warning, "values", {}))
        if isinstance(values.get("metrics"), list):  # metrics by the names a reader knows them by
            values["metrics"] = [self.metric_label(m).lower() if isinstance(m, str) else m for m in values["metrics"]]
        try:
            return self.text(f"run_warning_{code}", **values)
        except MessageError:  # a value the message needs is missing: the English text says it all
            return str(warning)

    def text_parts(self, key: str) -> list[str]:
        """The literal pieces of message ``key`` around its placeholders, for what fills them
        itself: ``"Page {n} of {total}"`` is ``["Page ", " of ", ""]`` (a PDF's page counters)."""
        message = self.messages.get(key)
        if message is None:
            raise MessageError(_unknown_key(key, self.code, self.messages))
        if isinstance(message, dict):
            raise MessageError(f"message {key!r} ({self.code}) has plural forms: it has no single text")
        return PLACEHOLDER.split(message)[::2]

    def reason(self, reason: str | None) -> str:
        """Why a figure has no value, in words for a client (``Not provided by the platform``),
        from a measurement's reason, which is written for the CM (``no post reports saves``)."""
        for pattern, name in REASONS:
            if reason and pattern.search(reason):
                return self.text(f"reason_{name}")
        return self.text("reason_unknown")

    def _word(self, group: str, name: str, fallback: str) -> str:
        message = self.messages.get(f"{group}_{name}")
        return message if isinstance(message, str) else fallback

    def metric_label(self, metric: str) -> str:
        """What a reader calls a metric (``Taux d'engagement (portée)``); a metric without a
        label (a third party's) is shown by its name in words."""
        return self._word("metric", f"{metric}_label", metric.replace("_", " ").capitalize())

    def metric_help(self, metric: str) -> str:
        """One plain sentence saying what a metric is and how it is computed; empty if unknown."""
        return self._word("metric", f"{metric}_help", "")

    def platform(self, platform: str) -> str:
        """A platform's name as its brand writes it (``LinkedIn``, ``X (Twitter)``)."""
        return self._word("platform", platform, platform[:1].upper() + platform[1:])

    def post_format(self, fmt: str) -> str:
        """A post format in words (``Carrousel``); an unknown one as it is written."""
        return self._word("post_format", fmt, fmt[:1].upper() + fmt[1:])

    # -- numbers -------------------------------------------------------------------------

    def number(self, value: float | int | None, decimals: int | None = None) -> str:
        """``value`` with the locale's separators (``6 143`` / ``6,143``); ``decimals`` digits
        after the point, or by default none for whole numbers and numbers from 100 up, else 2
        (:func:`~cmflow.presentation.numbers.format_number`)."""
        return format_number(value, decimals, self.locale)

    def percent(self, value: float | None, decimals: int = 2) -> str:
        """A percentage given in percent (``3.12`` is ``3,12 %`` / ``3.12%``)."""
        return format_percent(value, decimals, self.locale)

    def value(self, value: float | None, unit: str) -> str:
        """A measurement's value in the locale, by the rule every output follows
        (:func:`~cmflow.presentation.numbers.format_value`): rates (unit ``%``) with two
        decimals, amounts (an ISO 4217 unit such as ``EUR``) in the locale's currency form
        (``1 234,50 €`` / ``€1,234.50``), hours with at most one decimal and an ``h`` (two
        significant digits under an hour: ``0,05 h``), counts as :meth:`number`; halves round
        away from zero; no value is a dash."""
        return format_value(value, unit, self.locale)

    def change(self, change: float | None, change_pct: float | None, unit: str) -> str:
        """A change against an earlier period, by the rule every output follows
        (:func:`~cmflow.presentation.numbers.format_change`): rates in percentage points
        (``+0,84 pt``), other figures in percent (``+12 %``; one decimal under 10 %), or, when
        the earlier value was 0, as the figure by its unit's rule, signed (``+236,67 €``,
        ``+2,5 h``); empty when unknown."""
        return format_change(change, change_pct, unit, self.locale)

    def join(self, items: list[str]) -> str:
        """Items as a sentence lists them (``Instagram, Facebook et TikTok`` / ``Instagram,
        Facebook, and TikTok``)."""
        return format_list([str(item) for item in items], locale=self.locale)

    # -- dates ---------------------------------------------------------------------------

    def date(self, d: date | datetime) -> str:
        """A day (``16 nov. 2026`` / ``Nov 16, 2026``)."""
        return format_date(d.date() if isinstance(d, datetime) else d, "medium", locale=self.locale)

    def period(self, start: date | datetime, end: date | datetime) -> str:
        """A period from ``start`` to ``end`` (both included) as short as it reads: a day, a
        range of days (``16–22 nov. 2026``), a month (``novembre 2026``), a quarter (``T4
        2026``), a range of months, a year, a range of years."""
        start = start.date() if isinstance(start, datetime) else start
        end = end.date() if isinstance(end, datetime) else end
        if end < start:
            raise ValueError(f"a period cannot end ({end}) before it starts ({start})")
        if start == end:
            return self.date(start)
        whole_months = start.day == 1 and (end.month, end.year) != ((end + _DAY).month, (end + _DAY).year)
        if not whole_months:
            return format_interval(start, end, "yMMMd", locale=self.locale)
        if start.month == 1 and (end.month, end.day) == (12, 31):
            if start.year == end.year:
                return format_skeleton("y", start, locale=self.locale)
            return format_interval(start, end, "y", locale=self.locale)
        if (start.year, start.month) == (end.year, end.month):
            return format_skeleton("yMMMM", start, locale=self.locale)
        if start.year == end.year and start.month % 3 == 1 and end.month == start.month + 2:
            return format_skeleton("yQQQ", start, locale=self.locale)
        return format_interval(start, end, "yMMM", locale=self.locale)

    def duration(self, length: timedelta) -> str:
        """A length of time in days, hours and minutes (``7 jours``, ``1 jour, 12 heures`` /
        ``7 days``), each part by CLDR's unit names."""
        minutes = round(length / timedelta(minutes=1))
        days, rest = divmod(minutes, 24 * 60)
        hours, minutes = divmod(rest, 60)
        parts = [format_unit(amount, unit, locale=self.locale) for amount, unit in
                 ((days, "duration-day"), (hours, "duration-hour"), (minutes, "duration-minute")) if amount]
        return format_list(parts or [format_unit(0, "duration-minute", locale=self.locale)],
                           style="unit", locale=self.locale)

    def weekday(self, index: int, width: str = "abbreviated") -> str:
        """The name of a weekday, 0 being Monday; ``width`` is ``abbreviated`` (``lun.``),
        ``wide`` (``lundi``), ``short`` or ``narrow``."""
        if not 0 <= index <= 6:
            raise ValueError(f"weekday {index} is not 0 (Monday) to 6 (Sunday)")
        return get_day_names(width, locale=self.locale)[index]

    def hour(self, h: int) -> str:
        """An hour of the day, as a heat map's axis says it (``9 h`` / ``9 AM``)."""
        if not 0 <= h <= 23:
            raise ValueError(f"hour {h} is not 0 to 23")
        return format_time(time(h), self.text("pattern_hour"), locale=self.locale)


_DAY = date(2000, 1, 2) - date(2000, 1, 1)


def _unknown_key(key: str, code: str, messages: dict) -> str:
    from cmflow.foundation.names import closest

    near = closest(key, list(messages))
    hint = f"; did you mean {near!r}?" if near else ""
    return f"no message {key!r} in the {code} catalogue{hint}"
