"""What the calendar sources (``calendar_sheet``, ``ics``) share: the names people give a
calendar's columns and labelled lines, and the dates and times they type.

Dates are read in the forms people type in a sheet, in French or English: ``12/11/2026``,
``12/11/26``, ``12/11``, ``2026-11-12`` (with a UTC offset or ``Z`` after a time, as tools
export them), ``12 nov. 2026``, ``12 novembre``, ``mardi 12
novembre``, ``1er décembre``, ``Nov 12, 2026``, ``Tuesday, November 12``, each optionally
followed by a time. Times: ``10:00``, ``10:00:00``, ``10h``, ``10h30``, ``10 h 30``, ``9:30
AM``, ``9 pm``. A date written without a year takes the year that puts it nearest the
period reported on (see :func:`nearest_year`); a weekday written with it must be that date's weekday.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Optional

CALENDAR_FIELD_NAMES: dict[str, tuple[str, ...]] = {
    # Field of a calendar item -> the names a team gives it, best first.
    "date": ("Date de publication", "Date publication", "Date de parution", "Date de diffusion", "Date prévue",
             "Publication date", "Publish date", "Publishing date", "Post date", "Planned date",
             "Scheduled date", "Date", "Jour", "Day"),
    "time": ("Heure de publication", "Heure publication", "Heure", "Horaire", "Publish time", "Publication time",
             "Posting time", "Time", "Hour"),
    "platform": ("Réseau social", "Réseaux sociaux", "Réseau", "Réseaux", "Plateforme", "Plateformes", "Platform",
                 "Platforms", "Channel", "Channels", "Canal", "Network", "Social network"),
    "format": ("Format", "Formats", "Type de contenu", "Type de post", "Type de publication", "Content type",
               "Post type", "Type"),
    "pillar": ("Pilier", "Pilier éditorial", "Piliers", "Pillar", "Content pillar", "Pillars", "Thématique",
               "Thème", "Rubrique"),
    "campaign": ("Campagne", "Campagnes", "Campaign", "Campaigns", "Opération"),
    "status": ("Statut", "Status", "État", "State", "Avancement"),
    "owner": ("Responsable", "Owner", "Assignee", "Assigné", "Assigné à", "Assigned to", "Attribué à",
              "Rédacteur", "Rédactrice", "Auteur", "Author", "Qui", "Who"),
    "title": ("Titre", "Sujet", "Title", "Subject", "Topic", "Idée", "Idea", "Nom", "Name", "Accroche"),
    "url": ("Lien", "URL", "Link", "Lien du post", "Lien de la publication", "Permalink", "Post URL", "Post link"),
    "item_id": ("ID", "Identifiant", "Ref", "Référence", "Item ID", "N°", "No", "Numéro"),
    "post_id": ("Post ID", "ID du post", "ID de la publication", "ID publication"),
    "account": ("Compte", "Account", "Page", "Handle"),
    "updated_at": ("Modifié le", "Dernière modification", "Mis à jour le", "Last modified", "Updated at",
                   "Updated", "Modified"),
}
"""The one table of the names a calendar's fields go by, for every calendar source: a calendar
sheet's column headers and an event description's labelled lines (``calendar_sheet``, ``ics``),
and the custom fields or properties of a Trello board, an Asana project or a Notion database
(``calendar_common.DEFAULT_NAMES`` takes its fields from here). Names are compared without case,
accents or punctuation. ``date`` and ``time`` together make ``planned_at``."""


MONTHS: dict[str, int] = {}
for _number, _names in enumerate((
        ("janvier", "janv", "jan", "january"), ("fevrier", "fevr", "fev", "feb", "february"),
        ("mars", "mar", "march"), ("avril", "avr", "apr", "april"), ("mai", "may"),
        ("juin", "jun", "june"), ("juillet", "juil", "jul", "july"), ("aout", "aou", "aug", "august"),
        ("septembre", "sept", "sep", "september"), ("octobre", "oct", "october"),
        ("novembre", "nov", "november"), ("decembre", "dec", "december")), start=1):
    MONTHS.update({name: _number for name in _names})

WEEKDAYS: dict[str, int] = {}
for _number, _names in enumerate((
        ("lundi", "lun", "monday", "mon"), ("mardi", "mar", "tuesday", "tue", "tues"),
        ("mercredi", "mer", "wednesday", "wed"), ("jeudi", "jeu", "thursday", "thu", "thur", "thurs"),
        ("vendredi", "ven", "friday", "fri"), ("samedi", "sam", "saturday", "sat"),
        ("dimanche", "dim", "sunday", "sun"))):
    WEEKDAYS.update({name: _number for name in _names})
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

_TIME = r"(?P<hour>\d{1,2})(?:\s*(?::|h)\s*(?P<minute>\d{2})?(?::(?P<second>\d{2}))?)?\s*(?P<half>am|pm|a\.?m\.?|p\.?m\.?)?"
_TIME_RE = re.compile(rf"^{_TIME}$")
_AFTER_DATE = re.compile(rf"^(?:,|a|at|-|–|@|t)?\s*{_TIME}$")
_ISO = re.compile(r"^(?P<year>\d{4})(?P<sep>[-/.])(?P<month>\d{1,2})(?P=sep)(?P<day>\d{1,2})(?:[ t](?P<rest>.+?))?"
                  r"(?P<offset>z|[+-]\d{2}:?\d{2})?$")
_NUMERIC = re.compile(r"^(?P<first>\d{1,2})[/.-](?P<second>\d{1,2})(?:[/.-](?P<year>\d{4}|\d{2}))?(?:\s+(?P<rest>.+))?$")
_WORD = re.compile(r"[a-z]+|\d+(?:er|st|nd|rd|th)?|[:h]|\S")
EXCEL_SERIAL = re.compile(r"^\d{5}(?:\.\d+)?$")
"""A date cell a workbook stores as a number of days since 1899-12-30 (``46338`` is 2026-11-12)."""
EXCEL_EPOCH = date(1899, 12, 30)


def statuses_option() -> Any:
    """The ``statuses`` option of every calendar source (``calendar_sheet``, ``ics``, ``trello``,
    ``asana``, ``notion``): a team's own status words, with the same name and meaning everywhere."""
    from pydantic import Field

    return Field(default_factory=dict, description="The team's own status words -> the status they stand for "
                 "(matched without case or accents), besides the built-in synonyms (Publié -> published, "
                 "Programmé -> scheduled ...). The same option on every calendar source.",
                 examples=[{"En attente client": "idea", "Go": "approved"}])


def pillars_option(labels: str, note: str) -> Any:
    """The ``pillars`` option of the calendar sources that read labels (``ics``: an event's
    categories; ``trello``: a card's labels): which of them are editorial pillars, under the same
    name everywhere (``pillar_labels``, Trello's first name for it, is accepted too)."""
    from pydantic import AliasChoices, Field

    return Field(default_factory=list, validation_alias=AliasChoices("pillars", "pillar_labels"),
                 description=f"Editorial pillars, as the calendar names them (compared without case or accents): "
                 f"an item without a pillar field takes the first of its {labels} that is one. {note} "
                 "`pillar_labels` is another name for this option.",
                 examples=[["Savoir-faire", "Coulisses", "Offres"]])


class NotADate(ValueError):
    """A value that is no date (or time) cmflow reads; the message says what was expected."""


@dataclass(frozen=True)
class WrittenDate:
    """A date as written: its day and month, its year if written, the weekday if named, and
    the time if the same cell holds one."""

    day: int
    month: int
    year: Optional[int] = None
    weekday: Optional[int] = None
    time: Optional[time] = None
    offset: Optional[timedelta] = None
    """The UTC offset written with the time (``2026-11-12T10:00:00+01:00``, ``...Z``): then the
    time is that instant, whatever the time zone."""


def plain(text: str) -> str:
    """``text`` as names are compared: lower case, without accents, blanks as one space."""
    folded = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return " ".join(folded.casefold().replace("\u00a0", " ").replace("\u202f", " ").split())


def header_key(text: str) -> str:
    """A column name as it is compared with :data:`CALENDAR_FIELD_NAMES`: :func:`plain`,
    punctuation as spaces (``Date de publication :`` and ``N°`` are ``date de publication`` and ``n``)."""
    return " ".join(re.sub(r"[^a-z0-9]+", " ", plain(text)).split())


FIELD_KEYS: dict[str, tuple[str, ...]] = {field: tuple(header_key(n) for n in names)
                                          for field, names in CALENDAR_FIELD_NAMES.items()}
""":data:`CALENDAR_FIELD_NAMES` as compared (:func:`header_key` of each name), in the same order."""


def field_of_label(label: str) -> Optional[str]:
    """The field a column name or a description's label names, or None."""
    key = header_key(label)
    return next((field for field, names in FIELD_KEYS.items() if key in names), None)


DATE_FORMS = ("12/11/2026, 12/11/26, 12/11, 2026-11-12, 12 nov. 2026, 12 novembre, mardi 12 novembre, "
              "Nov 12, 2026")
TIME_FORMS = "10:00, 10h, 10h30, 9:30 AM"


def read_date(text: str, month_first: bool = False, excel_serials: bool = False) -> WrittenDate:
    """The date (and time, if any) ``text`` writes; :class:`NotADate` otherwise. Numeric dates
    are day first unless ``month_first``; a two-digit year is in 2000-2099. ``excel_serials``:
    a whole number of five digits is an Excel serial date (its fraction, a time of day)."""
    value = plain(text).replace("\u2019", "'")
    if excel_serials and EXCEL_SERIAL.match(value):
        serial = float(value)
        instant = datetime.combine(EXCEL_EPOCH, time()) + timedelta(days=serial)
        at = instant.time() if serial % 1 else None
        return WrittenDate(instant.day, instant.month, instant.year, time=at)
    if match := _ISO.match(value):
        written = _checked(int(match["day"]), int(match["month"]), int(match["year"]), None,
                           _time_after(match["rest"], text))
        if match["offset"] and written.time is not None:
            sign, digits = (1, "0000") if match["offset"] == "z" else (
                -1 if match["offset"][0] == "-" else 1, match["offset"][1:].replace(":", ""))
            offset = sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
            return WrittenDate(written.day, written.month, written.year, None, written.time, offset)
        return written
    if match := _NUMERIC.match(value):
        first, second = int(match["first"]), int(match["second"])
        day, month = (second, first) if month_first else (first, second)
        if month > 12 and day <= 12:
            order = "day first (dd/mm)" if month_first else "month first (mm/dd)"
            option = 'date_order = "day_first"' if month_first else 'date_order = "month_first"'
            raise NotADate(f"has no month {month}: is the sheet's date {order}? then set {option}")
        year = match["year"]
        return _checked(day, month, _full_year(year) if year else None, None, _time_after(match["rest"], text))
    weekday = re.match(r"^([a-z]+)\.?,?\s+(?=\d)", value)
    if weekday and weekday[1] in WEEKDAYS and _NUMERIC.match(value[weekday.end():]):
        written = read_date(value[weekday.end():], month_first)  # jeu. 12/11
        return _checked(written.day, written.month, written.year, WEEKDAYS[weekday[1]], written.time)
    return _worded_date(value, text)


def swapped_order(text: str, month_first: bool) -> bool:
    """Whether ``text`` is a numeric date that reads only with day and month the other way round
    (``11/18/2026`` read day first): in a column of such dates, those that read both ways
    (``11/05/2026``) would be read wrong, so the whole column's order is in question."""
    match = _NUMERIC.match(plain(text))
    if not match:
        return False
    first, second = int(match["first"]), int(match["second"])
    day, month = (second, first) if month_first else (first, second)
    return month > 12 and day <= 12


def _worded_date(value: str, text: str) -> WrittenDate:
    """``mardi 12 novembre 2026 à 10h``, ``Tuesday, November 12 at 9:30 AM``, ``12 nov.``."""
    tokens = [t for t in _WORD.findall(value) if t not in (".", ",", "le", "the", "'")]
    weekday = None
    if tokens and tokens[0] in WEEKDAYS and len(tokens) > 1 and not tokens[1].isalpha():
        weekday = WEEKDAYS[tokens.pop(0)]
    elif tokens and tokens[0] in WEEKDAYS and len(tokens) > 1 and tokens[1] in MONTHS:
        weekday = WEEKDAYS[tokens.pop(0)]  # Tuesday November 12
    if len(tokens) >= 2 and _ordinal(tokens[0]) is not None and tokens[1] in MONTHS:
        day, month, rest = _ordinal(tokens[0]), MONTHS[tokens[1]], tokens[2:]
    elif len(tokens) >= 2 and tokens[0] in MONTHS and _ordinal(tokens[1]) is not None:
        month, day, rest = MONTHS[tokens[0]], _ordinal(tokens[1]), tokens[2:]
    else:
        raise NotADate(f"is not a date (expected a form such as {DATE_FORMS})")
    year = None
    if rest and rest[0].isdigit() and len(rest[0]) == 4:
        year = int(rest.pop(0))
    after = " ".join(rest)
    return _checked(day, month, year, weekday, _time_after(after.replace(" : ", ":").replace(" h ", "h"), text))


def _ordinal(token: str) -> Optional[int]:
    digits = re.match(r"^(\d{1,2})(?:er|st|nd|rd|th)?$", token)
    return int(digits[1]) if digits else None


def _full_year(year: str) -> int:
    return 2000 + int(year) if len(year) == 2 else int(year)


def _time_after(rest: Optional[str], text: str) -> Optional[time]:
    if not rest:
        return None
    squeezed = re.sub(r"\s*([:h])\s*", r"\1", rest.strip())
    match = _AFTER_DATE.match(squeezed) or _AFTER_DATE.match(rest.strip())
    if not match or (match["minute"] is None and match["half"] is None and "h" not in squeezed
                     and ":" not in squeezed):
        raise NotADate(f"is not a date, or a date and a time (expected a form such as {DATE_FORMS}, "
                       f"a time such as {TIME_FORMS} after it)")
    return _time_of(match)


def _checked(day: int, month: int, year: Optional[int], weekday: Optional[int], at: Optional[time]) -> WrittenDate:
    probe_year = year if year is not None else 2000  # 2000 has a February 29
    try:
        date(probe_year, month, day)
    except ValueError:
        raise NotADate(f"is no day of the calendar (day {day} of month {month}"
                       + (f" {year}" if year else "") + ")") from None
    if year is not None and weekday is not None and date(year, month, day).weekday() != weekday:
        actual = WEEKDAY_NAMES[date(year, month, day).weekday()]
        raise NotADate(f"names a {WEEKDAY_NAMES[weekday]}, but {date(year, month, day).isoformat()} is a {actual}: "
                       "correct the day or the weekday")
    return WrittenDate(day, month, year, weekday, at)


def read_time(text: str) -> time:
    """The time of day ``text`` writes (``10:00``, ``10h``, ``10h30``, ``9:30 AM``, ``10`` alone
    in a time column; of a slot, ``10h-11h`` or ``9:00 to 9:30``, its start); :class:`NotADate` otherwise. A workbook's time cell read as a fraction of
    a day (``0.4375``) is 10:30."""
    value = plain(text)
    if re.match(r"^0?\.\d+$", value):  # a spreadsheet time stored as a fraction of a day
        seconds = round(float(value) * 86400)
        return time(seconds // 3600, seconds % 3600 // 60, seconds % 60)
    if re.match(r"^1899-12-3[01] \d{2}:\d{2}:\d{2}$", value):  # a time cell a reader wrote as a date-time
        return time.fromisoformat(value[11:])
    match = _TIME_RE.match(re.sub(r"\s*([:h])\s*", r"\1", value))
    if not match:
        span = re.match(r"^(.+?)\s*(?:-|–|\ba\b|\bto\b)\s*(.+)$", value)  # a slot, 10h-11h: its start
        if span and not re.search(r"(?:-|–|\ba\b|\bto\b)", span[1]):
            try:
                read_time(span[2])
                return read_time(span[1])
            except NotADate:
                pass
        raise NotADate(f"is not a time of day (expected a form such as {TIME_FORMS})")
    return _time_of(match)


def _time_of(match: re.Match[str]) -> time:
    hour, minute, second = int(match["hour"]), int(match["minute"] or 0), int(match["second"] or 0)
    half = (match["half"] or "").replace(".", "")
    if half:
        if not 1 <= hour <= 12:
            raise NotADate(f"has hour {hour} with {half.upper()}: write 1 to 12 with AM/PM, or 0 to 23 without")
        hour = hour % 12 + (12 if half == "pm" else 0)
    if hour > 23 or minute > 59 or second > 59:
        raise NotADate(f"is no time of day (hour {hour}, minute {minute}); expected a form such as {TIME_FORMS}")
    return time(hour, minute, second)


def nearest_year(month: int, day: int, window: tuple[date, date], weekday: Optional[int] = None) -> int:
    """The year of a date written without one: of the year before, the year of and the year after
    the middle of ``window`` (the first and last day of the period the run reports on), the one
    that puts the date nearest the window (inside it: distance 0; a tie goes to the earlier year). With a
    ``weekday`` named, only years where the date falls on it compete; :class:`NotADate` when
    none of the three does."""
    start, end = window
    middle = start + (end - start) / 2
    candidates = []
    for year in (middle.year - 1, middle.year, middle.year + 1):
        try:
            day_of = date(year, month, day)
        except ValueError:  # February 29 outside a leap year
            continue
        if weekday is not None and day_of.weekday() != weekday:
            continue
        distance = 0 if start <= day_of <= end else min(abs((day_of - start).days), abs((day_of - end).days))
        candidates.append((distance, year))
    if not candidates:
        years = f"{middle.year - 1} to {middle.year + 1}"
        raise NotADate(f"names a {WEEKDAY_NAMES[weekday]}, but day {day} of month {month} is no "  # type: ignore[index]
                       f"{WEEKDAY_NAMES[weekday]} in {years}: write the year, or correct the day")  # type: ignore[index]
    return min(candidates)[1]


def stable_item_id(prefix: str, day: date, platform: Optional[str], title: Optional[str]) -> str:
    """An id for a calendar row that has none: the same for the same planned day, platform and
    title whatever line the row is on (rows inserted above it do not change it), as
    ``<prefix>:<16 hex digits of a SHA-256 of "YYYY-MM-DD|platform|title">``: the platform as
    read (``instagram``, ``IG + FB`` as ``instagram+facebook``), the title as :func:`plain`
    text (lower case, no accents, blanks as one space)."""
    key = f"{day.isoformat()}|{plain(platform or '')}|{plain(title or '')}"
    return f"{prefix}:{hashlib.sha256(key.encode()).hexdigest()[:16]}"


PLATFORM_SEPARATORS = r"\s*(?:,|/|\+|&|;|\n|\bet\b|\band\b)\s*"
"""What separates the platforms of an item planned on several (``IG + FB``, ``Instagram, LinkedIn``)."""


def platforms_named(text: str) -> Optional[list[str]]:
    """The platforms ``text`` names: one (``IG``), or several when every part between
    separators names one (``IG + FB``, ``Instagram, LinkedIn et TikTok``); None when it names
    none (``Newsletter``)."""
    from cmflow import platform_of

    known = platform_of(text)
    if known:
        return [known]
    parts = [p for p in re.split(PLATFORM_SEPARATORS, text.strip(), flags=re.IGNORECASE) if p.strip()]
    named = [platform_of(p) for p in parts]
    if len(parts) > 1 and all(named):
        return list(dict.fromkeys(n for n in named if n))
    return None


def platforms_in(text: Optional[str]) -> list[str]:
    """The platforms a calendar's cell, field or property names, the same way for every calendar
    source: those of :func:`platforms_named` (``IG + FB`` is instagram and facebook), else the
    text itself in lower case, blanks as one space (a platform cmflow does not know, such as
    ``Newsletter``, or a list mixing known and unknown names); none for an empty text."""
    if not text or not text.strip():
        return []
    return platforms_named(text) or [" ".join(text.strip().lower().split())]


def web_link(text: Optional[str]) -> Optional[str]:
    """``text`` when it is one http(s) address, else None (a ``javascript:`` link written in a
    calendar must never reach a report)."""
    if not text:
        return None
    value = text.strip()
    if value.lower().startswith(("https://", "http://")) and not any(c.isspace() for c in value):
        return value
    return None


def labelled_lines(text: str) -> dict[str, str]:
    """The fields an event's description names in lines such as ``Plateforme: Instagram``,
    ``Pilier : Savoir-faire`` or ``Campaign - Noël`` (labels as in :data:`CALENDAR_FIELD_NAMES`; the
    first line naming a field wins; other lines are ignored)."""
    found: dict[str, str] = {}
    for line in text.replace("\r\n", "\n").split("\n"):
        match = re.match(r"^\s*[-*•]?\s*([^:=\n]{1,40}?)\s*[:=]\s*(.+?)\s*$", line)
        if not match or match[1].lower().startswith(("http", "https")):
            continue
        field = field_of_label(match[1])
        if field and field not in found and field not in ("date", "time"):
            found[field] = match[2]
    return found


def one_per_platform(item: dict[str, Any], platforms: list[Optional[str]]) -> list[dict[str, Any]]:
    """The calendar items of one entry: one per platform it names, each with its own ``item_id``
    (``<id>#<platform>``) when it names several, so that each meets its own published post."""
    if len(platforms) <= 1:
        return [{**item, "platform": platforms[0] if platforms else None}]
    return [{**item, "item_id": f"{item['item_id']}#{platform}", "platform": platform} for platform in platforms]
