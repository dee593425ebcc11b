"""The ``ics`` source: an editorial calendar kept in a calendar app, read from its iCalendar file.

Google Calendar, Outlook and Apple Calendar export a calendar as an ``.ics`` file and publish it
at a secret address. The file is parsed by icalendar (folded lines, escapes, VTIMEZONE blocks)
and its recurring events are expanded within the run's window by recurring-ical-events. What
the file's structure gets wrong (not iCalendar, a block never closed, an event without a
start) is checked line by line first, so that the error names the line.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Literal, Optional
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from pydantic import Field, SecretStr, field_validator, model_validator

from cmflow import (CALENDAR_STATUSES, DataFileError, InputPath, PluginOptions, RecordTable, Source, TimeZoneName,
                    format_of, hookimpl, status_of, whole_day_instant)
from cmflow.http import allow_private_network_option

from cmflow.builtin.sources.bad_rows import BadRow, report_bad_rows
from cmflow.builtin.sources.calendar_values import (labelled_lines, plain, platforms_in, platforms_named,
                                                    one_per_platform, stable_item_id, pillars_option,
                                                    statuses_option, web_link)
from cmflow.builtin.sources.steady_files import read_steadily

if TYPE_CHECKING:
    from cmflow import FetchContext
    from cmflow.http import Platform

ACCEPT = "text/calendar, application/ics;q=0.9, */*;q=0.5"
RENEW_HINT = ("The calendar's address asks for credentials or is no longer valid: copy its current secret "
              "address (Google Calendar: Settings > the calendar > Secret address in iCal format; Outlook: "
              "Settings > Calendar > Shared calendars > Publish a calendar, the ICS link) into the "
              "environment variable the workflow names")
MARGIN = timedelta(days=1)
"""Recurring events are expanded this far beyond the run's window on each side (an all-day
event's day starts at local midnight, which may be before the window's first UTC instant)."""


def calendar_address(text: str) -> str:
    """A calendar URL cmflow can fetch: ``https://`` or ``webcal://`` (read as https), or
    ``http://`` (for a server on your own network, with allow_private_network); the error never
    quotes the URL, a secret."""
    from cmflow.http import url_problem  # only for a calendar read from an address

    value = text.strip()
    if value.lower().startswith("webcal://"):
        value = "https://" + value[len("webcal://"):]
    problem = url_problem(value)
    if problem:
        raise ValueError(problem)
    return value


class IcsOptions(PluginOptions):
    path: Optional[InputPath] = Field(
        None, description="The calendar exported as an .ics file: relative to the workflow file, or absolute. "
        "Give path or url.", examples=["calendrier-editorial.ics"])
    url: Optional[SecretStr] = Field(
        None, description="The calendar's secret iCal address (Google Calendar: Settings > the calendar > "
        "Secret address in iCal format; Outlook: Publish a calendar > ICS), https:// or webcal://. Anyone "
        "with it reads the calendar, so it is a secret: write url = \"${env:NAME}\". Give path or url.",
        examples=["${env:EDITORIAL_CALENDAR_ICS}"])
    timezone: Optional[TimeZoneName] = Field(
        None, description="Time zone of events written without one (floating times) in a calendar that "
        "does not name its own (X-WR-TIMEZONE). Default: the workflow's.", examples=["Europe/Paris"])
    pillars: list[str] = pillars_option("categories", "Categories that name a platform, a format or a status are read "
                                   "as such whatever this says.")
    statuses: dict[str, str] = statuses_option()
    constants: dict[str, str] = Field(
        default_factory=dict, description="Field -> a value for events that give none, e.g. platform = "
        "\"instagram\" for a calendar kept for one platform. Fields: platform, account, format, pillar, "
        "campaign, status, owner.", examples=[{"platform": "instagram"}])
    on_error: Literal["fail", "skip"] = Field(
        "fail", description="fail: an event without a readable start (DTSTART) stops the source with an "
        "error naming its line; skip: such events are left out, and each is listed with its line in the "
        "run summary and the report's footer.")
    allow_private_network: bool = allow_private_network_option("a calendar address")

    @field_validator("url")
    @classmethod
    def _fetchable(cls, value: Optional[SecretStr]) -> Optional[SecretStr]:
        """An https address; masked in every message as read (``${env:NAME}`` masks the value it
        gives, and a webcal:// address becomes another string)."""
        if value is None:
            return None
        from cmflow import mark_secret

        address = calendar_address(value.get_secret_value())
        mark_secret(address)
        return SecretStr(address)

    @field_validator("constants")
    @classmethod
    def _constant_fields(cls, value: dict[str, str]) -> dict[str, str]:
        known = ("platform", "account", "format", "pillar", "campaign", "status", "owner")
        unknown = [k for k in value if k not in known]
        if unknown:
            raise ValueError(f"not fields an event may lack: {', '.join(map(repr, unknown))}; they are "
                             f"{', '.join(known)}")
        return value

    @model_validator(mode="after")
    def _one_place(self) -> "IcsOptions":
        if (self.path is None) == (self.url is None):
            raise ValueError("give the calendar's path (an .ics file) or its url (${env:NAME}), one of them")
        if self.url is not None and not self.allow_private_network \
                and urlsplit(self.url.get_secret_value()).scheme == "http":
            raise ValueError("url must be https:// or webcal:// (http:// would send the calendar's secret "
                             "address in clear); http:// is for a server on your own network, with "
                             "allow_private_network = true")
        return self


class IcsSource(Source):
    """Reads an iCalendar (.ics) file or published address as calendar items.

    One item per event, and per occurrence of a recurring event in the run's window:

    - `UID` -> item_id; an occurrence of a recurring event (RRULE, RDATE, or one moved with
      RECURRENCE-ID) adds its original start: `UID/20261103T093000Z`. `SUMMARY` -> title.
    - `DTSTART` -> planned_at: with its TZID (Outlook's Windows zone names and VTIMEZONE blocks
      too), in UTC, or floating (no zone: the calendar's X-WR-TIMEZONE, else `timezone`, else the
      workflow's). An all-day event plans its day: its planned_at is that day's 00:00 in the
      workflow's time zone (see calendar_item in docs/concepts.md).
    - Labelled lines of `DESCRIPTION` (`Plateforme: Instagram`, `Format: Carrousel`, `Pilier: ...`,
      `Campagne: ...`, `Statut: Validé`, `Responsable: ...`, `Lien: https://...`, `Compte: ...`,
      `Post ID: ...`, in French or English, the names of a calendar sheet's columns) win over the
      event's properties: they are what the team wrote for this item.
    - `CATEGORIES`: a category naming a platform (`Instagram`, `IG`), a format (`Reel`,
      `Carrousel`), a status (`Validé`, `Publié`) or one of `pillars` is read as such; a category
      `Pilier: X` or `Campagne: X` too. Other categories are ignored.
    - `STATUS`: CANCELLED -> cancelled (always wins); otherwise a status from the description or
      a category wins, else `confirmed` / `tentative` as written.
    - `URL` -> url (http(s) only), `LAST-MODIFIED` -> updated_at, `ORGANIZER`'s CN (else its
      address) -> owner.
    - A platform naming several (`IG + FB`) makes one item per platform (item id + `#facebook` ...).

    A file that is not iCalendar, or whose BEGIN/END blocks do not match, is an error naming the
    line; an event without a readable DTSTART is a bad row naming its line (`on_error`). From a
    `url`, the calendar is fetched through the HTTP kit (timeouts, retries, public addresses
    only unless allow_private_network); messages name its host, never its address.
    """

    name = "ics"
    description = "Read an editorial calendar from an iCalendar (.ics) file or secret address as calendar items."
    Options = IcsOptions
    record_kinds = ("calendar_item",)

    def check(self, workflow: Any) -> list[str | tuple[str, str]]:
        """A url on a literal non-public address or ``localhost`` is refused before anything runs."""
        options: IcsOptions = self.options
        if options.url is None or options.allow_private_network:
            return []
        from cmflow.http import refused_url_problem

        problem = refused_url_problem(options.url.get_secret_value())
        return [("url", problem)] if problem else []

    def fetch(self, ctx: FetchContext) -> Iterable[RecordTable]:
        options: IcsOptions = self.options
        data, where = self._calendar_bytes(ctx)
        tz = options.timezone or (ctx.periods[0].tz if ctx.periods else "UTC")
        events = CalendarEvents(data, where, options, ctx, tz, self.entry_id)
        yield RecordTable.from_rows("calendar_item", events.items())

    def check_credentials(self, ctx: FetchContext) -> list[Any]:
        """The file exists and is iCalendar, or the address answers (its secret still valid)."""
        from cmflow import CredentialCheck
        from cmflow.http import PlatformError

        if self.options.path is not None:
            check = CredentialCheck.for_file(self, ctx, self.options.path)
            if check.status == "ok":
                try:
                    data, where = self._calendar_bytes(ctx)
                    _checked_structure(_decoded(data, where), where)
                except DataFileError as exc:
                    return [check.flag("fail", str(exc))]
            return [check]
        row = CredentialCheck.for_source(self, account=self._host(), expiry_note="—")
        try:
            data, _ = self._calendar_bytes(ctx)
            row.note(f"answers ({len(data)} bytes)")
        except PlatformError as exc:
            row.failed(exc, ctx.http.clock())
        return [row]

    def _host(self) -> str:
        return urlsplit(self.options.url.get_secret_value()).hostname or "the calendar's host"

    def _calendar_bytes(self, ctx: FetchContext) -> tuple[bytes, Path]:
        """The calendar's bytes, and how messages name it (the file, or ``calendar at <host>``)."""
        from cmflow.builtin.sources.export_text import read_export_bytes

        options: IcsOptions = self.options
        if options.path is not None:
            path = ctx.resolve_path(options.path)
            return read_steadily(path, lambda: _whole_calendar(read_export_bytes(path), path)), path
        url = options.url.get_secret_value()
        parts = urlsplit(url)
        session = ctx.http.session(calendar_platform(), base_url=f"{parts.scheme}://{parts.netloc}",
                                   source=self.entry_id, allow_private_network=options.allow_private_network)
        answer = session.request("GET", url, headers={"Accept": ACCEPT})
        return answer.content, Path(f"calendar at {self._host()}")


def _whole_calendar(data: bytes, where: Path) -> bytes:
    """``data`` once it reads as a whole calendar (a file cut by a writer still saving it is an
    error, which :func:`read_steadily` tells apart from the file's own)."""
    _checked_structure(_decoded(data, where), where)
    return data


def calendar_platform() -> "Platform":
    """Published calendars are sites of their own: the shared HTTP rules, and what a 401, 403
    or 404 means for a secret address (it was reset, or the calendar unpublished)."""
    from cmflow.http import Platform

    return Platform("ics", "iCalendar", renew_hint=RENEW_HINT, classify=classify_calendar_refusal)


def classify_calendar_refusal(platform: "Platform", answer: Any) -> Any:
    """401, 403 and 404 as an address to renew; other answers follow the shared HTTP rules."""
    from cmflow.http import AuthExpired, RetryDecision

    if answer.status in (401, 403, 404):
        return RetryDecision("fail", AuthExpired(
            f"{answer.request} refused the calendar (HTTP {answer.status}): its secret address was reset, "
            "or the calendar is no longer published", hint=RENEW_HINT, **answer.details()))
    return None


class CalendarEvents:
    """Reads a calendar's events into calendar items: checks its structure line by line, parses
    it, expands recurring events in the run's window, and reports events without a start."""

    def __init__(self, data: bytes, where: Path, options: IcsOptions, ctx: "FetchContext", tz: str,
                 source_id: str) -> None:
        self.where, self.options, self.ctx, self.tz, self.source_id = where, options, ctx, tz, source_id
        self.text = _decoded(data, where)
        self.event_lines = _checked_structure(self.text, where)
        for number, line in _lines_without_a_value(self.text)[:5]:
            ctx.warn(f"{where.name}, line {number}: {line[:60]!r} is no property (NAME:value), ignored: the "
                     "event it belongs to may lack its title or another field; export the calendar again")
        self.pillars = {plain(p): p for p in options.pillars}
        self.workflow_tz = ctx.periods[0].tz if ctx.periods else "UTC"
        """Whole-day plans are midnight in the workflow's zone, whatever ``timezone`` says: the
        adherence metrics look for them there (docs/concepts.md#calendar_item)."""

    def items(self) -> list[dict[str, Any]]:
        """Every event's and occurrence's calendar items, after reporting events without a start."""
        import icalendar

        try:
            calendar = icalendar.Calendar.from_ical(self.text)
        except ValueError as exc:
            raise DataFileError(self._parse_problem(exc)) from None
        bad = self._events_without_start(calendar)
        report_bad_rows(bad, self.where, self.options.on_error, self.ctx)
        series = {str(e.get("UID")) for e in calendar.walk("VEVENT")
                  if any(k in e for k in ("RRULE", "RDATE", "RECURRENCE-ID"))}
        items: dict[str, dict[str, Any]] = {}
        for event in self._occurrences(calendar):
            for item in self._items(event, series):
                items.setdefault(item["item_id"], item)
        return list(items.values())

    def _parse_problem(self, exc: ValueError) -> str:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        quoted = re.search(r"'([^']{3,})'", message)
        line = next((n for n, text in enumerate(self.text.splitlines(), start=1)
                     if quoted and quoted[1][:60] in text), None)
        return (f"{self.where}" + (f", line {line}" if line else "") + f": cannot be read as iCalendar "
                f"({message[:200]}); export the calendar again")

    def _events_without_start(self, calendar: Any) -> list[BadRow]:
        """Events without a DTSTART, or with one that is no date: bad rows (and out of the calendar)."""
        bad = []
        events = [c for c in calendar.walk("VEVENT")]
        # The parser walks events in file order, as the structure check found their lines; should
        # the two ever disagree (an event nested where none belongs), the error names the line 1.
        lines = self.event_lines if len(self.event_lines) == len(events) else [(1, 1)] * len(events)
        for event, (begin, end) in zip(events, lines):
            start = event.get("DTSTART")
            problem = None
            if start is None:
                problem, line = "has no DTSTART (start): the event cannot be placed in time", begin
            elif any(name == "DTSTART" for name, _ in getattr(event, "errors", [])):
                block = self.text.splitlines()[begin - 1:end]
                offset = next((i for i, t in enumerate(block) if t.upper().startswith("DTSTART")), 0)
                line = begin + offset
                problem = (f"has {block[offset].strip()[:60]!r}, which is not a date or a date-time (expected "
                           "DTSTART;VALUE=DATE:20261112 or DTSTART:20261112T100000Z)")
            if problem is None:
                continue
            summary = str(event.get("SUMMARY", "")).strip()
            uid = str(event.get("UID", "")).strip()
            record = f'UID "{uid}"' if uid else ""
            named = f' "{summary[:40]}"' if summary else ""
            bad.append(BadRow(line, f"line {line}: the event{named} {problem}", f"line {line}", record))
            _remove(calendar, event)
        return bad

    def _occurrences(self, calendar: Any) -> list[Any]:
        import recurring_ical_events

        start, end = self.ctx.window_start - MARGIN, self.ctx.window_end + MARGIN
        try:
            return list(recurring_ical_events.of(calendar).between(start, end))
        except Exception as exc:  # the library's errors on a rule it cannot expand
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise DataFileError(f"{self.where}: its recurring events cannot be expanded ({first[:200]}); "
                                "check the events' repeat rules in the calendar app, or export it again") from None

    def _items(self, event: Any, series: set[str]) -> list[dict[str, Any]]:
        start = event.get("DTSTART").dt
        planned_at = self._instant(start)
        uid = str(event.get("UID", "")).strip()
        title = " ".join(str(event.get("SUMMARY", "")).split()) or None
        labelled = labelled_lines(str(event.get("DESCRIPTION", "")))
        categories = self._categories(event)
        item_id = uid or stable_item_id(self.source_id, planned_at.date(), None, title)
        if uid in series:
            original = event.get("RECURRENCE-ID")
            moment = self._instant(original.dt if original is not None else start)
            item_id = f"{uid}/{moment.strftime('%Y%m%dT%H%M%SZ')}"
        fields = {**categories, **{k: v for k, v in labelled.items() if v}}
        constants = self.options.constants
        status = self._status(event, fields.get("status"))
        written = fields.get("platform") or constants.get("platform")
        platforms: list[Optional[str]] = list(platforms_in(written)) or [None]
        owner = fields.get("owner") or self._organizer(event) or constants.get("owner")
        last_modified = event.get("LAST-MODIFIED")
        item = {
            "planned_at": planned_at, "title": title or fields.get("title"),
            "account": fields.get("account") or constants.get("account"),
            "format": self._format(fields.get("format") or constants.get("format")),
            "pillar": fields.get("pillar") or constants.get("pillar"),
            "campaign": fields.get("campaign") or constants.get("campaign"),
            "status": status or status_of(constants.get("status"), self.options.statuses), "owner": owner,
            "post_id": fields.get("post_id"),
            "url": web_link(str(event.get("URL", ""))) or web_link(fields.get("url")),
            "updated_at": self._instant(last_modified.dt) if last_modified is not None else None,
        }
        return one_per_platform(dict(item, item_id=item_id), platforms)

    def _instant(self, value: Any) -> datetime:
        """A DTSTART's value in UTC: a date is a whole-day plan (midnight in the workflow's time
        zone), a floating time is local to the calendar's zone."""
        if not isinstance(value, datetime):
            day = value if isinstance(value, date) else date.fromisoformat(str(value))
            return whole_day_instant(day, self.workflow_tz)
        if value.tzinfo is None:
            value = value.replace(tzinfo=ZoneInfo(self.tz))
        return value.astimezone(timezone.utc)

    def _categories(self, event: Any) -> dict[str, str]:
        """What the event's categories name: a platform, a format, a status, a pillar, or ``Label: value``."""
        named: dict[str, str] = {}
        values = event.get("CATEGORIES")
        lists = values if isinstance(values, list) else [values] if values is not None else []
        for category in (str(c).strip() for group in lists for c in getattr(group, "cats", [])):
            if not category:
                continue
            labelled = labelled_lines(category)
            guesses = [("platform", category if platforms_named(category) else None),
                       ("format", category if format_of(category) else None),
                       ("status", category if status_of(category, self.options.statuses) in CALENDAR_STATUSES
                        else None),
                       ("pillar", self.pillars.get(plain(category)))]
            for field, value in [*labelled.items(), *guesses]:
                if value and field not in named:
                    named[field] = value
                    break
        return named

    def _status(self, event: Any, written: Optional[str]) -> Optional[str]:
        declared = str(event.get("STATUS", "")).strip()
        if declared.upper() == "CANCELLED":
            return "cancelled"
        return status_of(written, self.options.statuses) or status_of(declared, self.options.statuses)

    def _format(self, text: Optional[str]) -> Optional[str]:
        return (format_of(text) or text.strip().lower()) if text else None

    def _organizer(self, event: Any) -> Optional[str]:
        organizer = event.get("ORGANIZER")
        if organizer is None:
            return None
        name = organizer.params.get("CN") if hasattr(organizer, "params") else None
        if name:
            return str(name).strip().strip('"') or None
        address = re.sub(r"(?i)^mailto:", "", str(organizer)).strip()
        return address or None


def _decoded(data: bytes, where: Path) -> str:
    """The calendar's text: UTF-8 (as RFC 5545 says), with or without a byte-order mark; an
    empty or binary file is an error saying so."""
    from cmflow.builtin.sources.export_text import WORKBOOK_MAGIC, binary_kind, zip_advice

    if not data.strip():
        raise DataFileError(f"{where} is empty ({len(data)} bytes): a failed export or download looks like "
                            "this; export the calendar again")
    if data.startswith(WORKBOOK_MAGIC):
        kind, entries = binary_kind(data)
        if kind == "zip":  # Google Calendar exports every calendar of an account as .ics files in a zip
            raise DataFileError(f"{where} is a zip archive, not an iCalendar file: "
                                + zip_advice(entries, "the calendar's .ics file inside"))
        raise DataFileError(f"{where} is {kind or 'a damaged zip archive'}, not an iCalendar file: read a "
                            "spreadsheet with plugin = \"calendar_sheet\", or export the calendar as .ics")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise DataFileError(f"{where}, line {line}: is not UTF-8 text, as an iCalendar file must be: "
                            "export the calendar again (or save it as UTF-8)") from None
    return text


def _checked_structure(text: str, where: Path) -> list[tuple[int, int]]:
    """The first and last line of each VEVENT, in file order; an error naming the line when
    the text is not iCalendar or its BEGIN/END blocks do not match."""
    lines = text.splitlines()
    first = next(((n, t) for n, t in enumerate(lines, start=1) if t.strip()), (1, ""))
    if first[1].strip().upper() != "BEGIN:VCALENDAR":
        shown = first[1].strip()[:60]
        web_page = shown.startswith("<")
        raise DataFileError(
            f"{where}, line {first[0]}: is not an iCalendar file (it starts with {shown!r}; an iCalendar file "
            "starts with BEGIN:VCALENDAR)" + (": this is a web page: use the calendar's iCal address (Google "
                                              "Calendar: Secret address in iCal format), not its page"
                                              if web_page else ": export the calendar as .ics"))
    open_blocks: list[tuple[str, int]] = []
    events: list[tuple[int, int]] = []
    for number, line in enumerate(lines, start=1):
        if line[:1] in (" ", "\t"):
            continue  # a folded line's continuation
        name, _, value = line.partition(":")
        name = name.split(";", 1)[0].strip().upper()
        if name == "BEGIN":
            open_blocks.append((value.strip().upper(), number))
        elif name == "END":
            block = value.strip().upper()
            if not open_blocks or open_blocks[-1][0] != block:
                expected = f"END:{open_blocks[-1][0]} (for line {open_blocks[-1][1]})" if open_blocks else "nothing"
                raise DataFileError(f"{where}, line {number}: END:{block} where {expected} was expected: the "
                                    "file is cut or damaged; export the calendar again")
            opened, begin = open_blocks.pop()
            if opened == "VEVENT" and len(open_blocks) == 1:
                events.append((begin, number))
    if open_blocks:
        block, number = open_blocks[-1]
        raise DataFileError(f"{where}, line {number}: BEGIN:{block} is never closed (no END:{block}): the file "
                            "is cut (an interrupted download?); export the calendar again")
    return events


def _lines_without_a_value(text: str) -> list[tuple[int, str]]:
    """Content lines (not a folded line's continuation) without the colon of ``NAME:value``,
    with their numbers: icalendar skips them, so say so."""
    return [(number, line.strip()) for number, line in enumerate(text.splitlines(), start=1)
            if line.strip() and line[:1] not in (" ", "\t") and ":" not in line]


def _remove(calendar: Any, event: Any) -> None:
    for component in calendar.walk():
        for index, child in enumerate(component.subcomponents):
            if child is event:
                del component.subcomponents[index]
                return


@hookimpl
def register_sources(register):
    register(IcsSource)
