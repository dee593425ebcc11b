"""The ``calendar_sheet`` source: an editorial calendar kept in a spreadsheet, as calendar items.

Agencies keep their editorial calendar in Google Sheets or Excel, each with its own columns,
in French or English, and export it as CSV or .xlsx. The file is decoded by the export
machinery (:mod:`export_text`: byte-order marks, encodings) or opened as a workbook
(:mod:`workbooks`, as the ``xlsx`` source does), the header is found by the names people give a calendar's columns
(:data:`calendar_values.CALENDAR_FIELD_NAMES`), and each row is read with the dates and times people
type (:mod:`calendar_values`). Rows are few (a calendar holds hundreds, not millions), so they
are read one by one, each problem named by its line and column.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Literal, Optional
from zoneinfo import ZoneInfo

from pydantic import AliasChoices, Field, field_validator, model_validator

from cmflow import (DataFileError, InputPath, InvalidOption, PluginOptions, RecordTable, Source, TextEncoding,
                    TimeZoneName, WholeNumber, format_of, hookimpl, status_of, whole_day_instant)

from cmflow.builtin.sources.bad_rows import BadCell, BadRow, report_bad_rows
from cmflow.builtin.sources.calendar_values import (FIELD_KEYS, NotADate, header_key, nearest_year,
                                                    platforms_in, platforms_named, read_date, read_time,
                                                    one_per_platform, stable_item_id, statuses_option,
                                                    swapped_order, web_link)
from cmflow.builtin.sources.export_text import WORKBOOK_MAGIC, read_export, read_export_bytes_head

if TYPE_CHECKING:
    from cmflow import FetchContext

HEADER_SEARCH_ROWS = 30
"""Rows looked through for the header (a title and a legend often sit above it)."""
DELIMITERS = (";", ",", "\t", "|")
"""Field separators tried, in order, when `delimiter` is not given: the one whose rows hold the header wins."""
TEXT_FIELDS = ("title", "account", "pillar", "campaign", "owner", "post_id")
NOT_CONTENT = ("date", "time", "item_id", "updated_at")
"""Fields a template fills on every row (its days, its row numbers): a row with only these plans nothing."""
LINES_SHOWN = 10
"""Lines a warning about skipped rows names before "and N more"."""


class CalendarSheetOptions(PluginOptions):
    path: InputPath = Field(description="The calendar exported as CSV (Google Sheets: File > Download > "
                            "CSV; Excel: Save as CSV) or a workbook (.xlsx, .xlsm, .xls, .ods): relative "
                            "to the workflow file, or absolute.", examples=["calendrier-editorial.csv"])
    sheet: int | str | None = Field(
        None, description="In a workbook, the sheet to read: its name, or its position from 1. Default: the "
        "first sheet. Not used for CSV.", examples=["Novembre", 2])
    delimiter: Optional[str] = Field(
        None, description="CSV field separator, one character. Default: the first of \";\", \",\", tab and "
        "\"|\" whose rows hold the header (French Excel writes \";\", Google Sheets \",\").", examples=[";"])
    encoding: TextEncoding = Field("utf-8", description="Text encoding of a CSV file. A byte-order mark wins "
                                   "over it.", examples=["cp1252"])
    header_row: Optional[WholeNumber] = Field(
        None, ge=1, le=1000, description="Line (CSV) or row (workbook) of the column names, counted from 1. "
        "Default: the first of the first 30 holding a date column and another column cmflow knows (see the "
        "page: the names looked for), so title lines and legends above the header are skipped.", examples=[3])
    field_names: dict[str, str] = Field(
        default_factory=dict, validation_alias=AliasChoices("field_names", "columns"),
        description="Field -> the sheet's column name, for columns cmflow does not recognise by name (the "
        "option of the same name of the trello, asana and notion sources). Fields: date, time, title, "
        "platform, account, format, pillar, campaign, status, owner, url, item_id, post_id, updated_at. A "
        "date column may hold the time too. `columns` is another name for this option.",
        examples=[{"date": "Jour J", "title": "Post", "owner": "CM"}])
    constants: dict[str, str] = Field(
        default_factory=dict, description="Field -> a value for rows that give none, e.g. platform = "
        "\"instagram\" for a calendar kept for one platform. Fields: title, platform, account, format, "
        "pillar, campaign, status, owner.", examples=[{"platform": "instagram", "account": "maisonlumiere"}])
    date_order: Literal["day_first", "month_first"] = Field(
        "day_first", validation_alias=AliasChoices("date_order", "month_first"),
        description="The order of numeric dates (the option of the same name of the export source): "
        "day_first (12/11/2026 is November 12), as French and British sheets write them, or month_first "
        "(11/12/2026 is November 12), as US sheets do. `month_first = true`, an older way to write it, is "
        "taken too.", examples=["month_first"])
    timezone: Optional[TimeZoneName] = Field(
        None, description="Time zone of the sheet's dates and times. Default: the workflow's.",
        examples=["Europe/Paris"])
    statuses: dict[str, str] = statuses_option()
    on_error: Literal["fail", "skip"] = Field(
        "fail", description="fail: a row whose date or time cannot be read stops the source with an error "
        "naming its line and column; skip: such rows are left out, and each is listed with its line and "
        "reason in the run summary and the report's footer.")

    @field_validator("field_names")
    @classmethod
    def _sheet_fields(cls, value: dict[str, str]) -> dict[str, str]:
        return _known_fields(value, tuple(FIELD_KEYS))

    @model_validator(mode="before")
    @classmethod
    def _older_names(cls, data: Any) -> Any:
        """An option given under one name only; ``month_first = true`` / ``false``, the older
        way to write ``date_order``, as ``date_order``."""
        if not isinstance(data, dict):
            return data
        for name, older in (("field_names", "columns"), ("date_order", "month_first")):
            if name in data and older in data:
                raise InvalidOption(older, f"{older} is another name for {name}: keep {name} only")
        if "month_first" in data:
            if not isinstance(data["month_first"], bool):
                raise InvalidOption("month_first", f"month_first is true or false, not {data['month_first']!r}; "
                                    "or write date_order = \"month_first\" (or \"day_first\")")
            data = {**data, "month_first": "month_first" if data["month_first"] else "day_first"}
        return data

    @property
    def month_first(self) -> bool:
        """Whether numeric dates are read month first."""
        return self.date_order == "month_first"

    @field_validator("constants")
    @classmethod
    def _constant_fields(cls, value: dict[str, str]) -> dict[str, str]:
        return _known_fields(value, ("title", "platform", "account", "format", "pillar", "campaign", "status", "owner"))

    @field_validator("delimiter")
    @classmethod
    def _one_character(cls, value: Optional[str]) -> Optional[str]:
        if value is not None and (len(value) != 1 or value in "\"\r\n"):
            raise ValueError(f"{value!r} is not a field separator: write one character such as \";\", \",\" "
                             "or \"\\t\" (tab), or leave it out to let cmflow find it")
        return value


def _known_fields(value: dict[str, str], known: tuple[str, ...]) -> dict[str, str]:
    from cmflow import closest

    unknown = [k for k in value if k not in known]
    if unknown:
        hints = [f"{k!r}" + (f" (did you mean {closest(k, list(known))!r}?)" if closest(k, list(known)) else "")
                 for k in unknown]
        raise ValueError(f"not fields of a calendar sheet: {', '.join(hints)}; they are {', '.join(known)}")
    return value


@dataclass(frozen=True)
class SheetRow:
    """One row under the header: where it is (``line 7`` / ``sheet "Nov", row 7``), its number
    in the file for ordering, and its cells by column position."""

    number: int
    place: str
    cells: tuple[str, ...]


@dataclass(frozen=True)
class Sheet:
    """A calendar's rows under its header, and how to name a cell in a message."""

    file: Path
    header: tuple[str, ...]
    header_place: str
    rows: tuple[SheetRow, ...]
    workbook: bool

    def cell_place(self, row: SheetRow, position: int) -> str:
        """``line 7, column 2 "Date"`` (CSV) or ``sheet "Nov", row 7, column "Date"`` (workbook)."""
        name = self.header[position]
        return f'{row.place}, column "{name}"' if self.workbook else f'{row.place}, column {position + 1} "{name}"'


class CalendarSheetSource(Source):
    """Reads an editorial calendar kept in a spreadsheet (CSV or workbook) as calendar items.

    - **Columns** are found by their names, in French or English, whatever their case, accents
      and punctuation: the date (`Date de publication`, `Date`, `Jour`, `Publish date` ...), the
      time (`Heure`, `Time` ...), `Réseau`/`Plateforme`/`Platform`/`Channel`, `Format`/`Type`,
      `Pilier`/`Pillar`, `Campagne`/`Campaign`, `Statut`/`Status`, `Responsable`/`Owner`/`Assignee`,
      `Titre`/`Sujet`/`Title`, `Lien`/`URL`/`Link`, `ID` (the row's id), `Post ID` (the published
      post's), `Compte`/`Account`. `field_names` names any other (`columns` is another name for
      it). Without a date column the error lists the header's columns.
    - **Dates** are day first (`12/11/2026`; `date_order = "month_first"` for US sheets: a date that reads
      only the other way round, `11/18/2026`, fails the whole file, since `11/05/2026` would be
      read wrong) or written
      out (`2026-11-12`, `12 nov. 2026`, `mardi 12 novembre`, `Nov 12, 2026`), or workbook dates;
      a date without a year takes the year (of the three around the run's period) that puts it
      nearest the period reported on, and a weekday written with it must match. The time may be in the date
      cell or a column of its own (`10:00`, `10h`, `10h30`, `9:30 AM`). Times are local to
      `timezone` (default: the workflow's) and stored in UTC.
    - **A row without a time** plans its content for the day: its `planned_at` is that day's
      00:00 in the workflow's time zone (see calendar_item in docs/concepts.md).
    - **Values**: platforms by name or abbreviation (`IG`, `Insta`, `LinkedIn`); a row naming
      several (`IG + FB`) is one item per platform (item id + `#instagram` ...). Formats in French
      or English (`Carrousel`, `Réel`, `Visuel` ...), statuses lower-cased with synonyms
      (`Publié` -> published, `Validé` -> approved, `À faire` -> idea, `Programmé` -> scheduled,
      `Annulé` -> cancelled, and `statuses`). Unknown platforms and formats are kept lower-cased,
      with a warning. Links other than http(s) are left out, with a warning.
    - **Ids**: the `ID` column, else `<source id>:<hash of the date, platform and title>`, which
      does not change when rows are inserted above (two rows of one date, platform and title get
      `-2`, `-3` ... in file order, with a warning: give the sheet an ID column).
    - **Rows skipped, and said**: blank rows, section titles (one filled cell: `Semaine 46`,
      `NOVEMBRE`), dated rows with nothing planned (only the date filled), and rows without a
      date (ideas not planned yet). A row whose date or time cannot be read is a bad row
      naming its line and column (`on_error`); two rows with one ID are too.
    """

    name = "calendar_sheet"
    description = "Read an editorial calendar kept in a spreadsheet (CSV or Excel) as calendar items."
    Options = CalendarSheetOptions
    record_kinds = ("calendar_item",)

    def fetch(self, ctx: FetchContext) -> Iterable[RecordTable]:
        options: CalendarSheetOptions = self.options
        path = ctx.resolve_path(options.path)
        sheet = read_calendar_file(path, options)
        tz = options.timezone or (ctx.periods[0].tz if ctx.periods else "UTC")
        rows = CalendarRows(sheet, options, ctx, tz, self.entry_id).items()
        yield RecordTable.from_rows("calendar_item", rows)

    def check_credentials(self, ctx: FetchContext) -> list[Any]:
        """The calendar exists and its header holds a date column (`validate` does not read it)."""
        from cmflow import CredentialCheck

        check = CredentialCheck.for_file(self, ctx, self.options.path)
        if check.status == "ok":
            try:
                read_calendar_file(ctx.resolve_path(self.options.path), self.options)
            except DataFileError as exc:
                return [check.flag("fail", str(exc))]
        return [check]


def read_calendar_file(path: Path, options: CalendarSheetOptions) -> Sheet:
    """The calendar's header and rows, from a CSV file or a workbook (told apart by content: a
    CSV file named .xlsx is read as CSV; a file named .xlsx that is neither is no workbook)."""
    from cmflow.builtin.sources.workbooks import WORKBOOK_SUFFIXES, looks_like_text

    head = read_export_bytes_head(path, 4096)
    if head.startswith(WORKBOOK_MAGIC):
        return _workbook_rows(path, options)
    if path.suffix.lower() in WORKBOOK_SUFFIXES and head.strip() and not looks_like_text(head):
        raise DataFileError(f"{path} is not a readable workbook: it does not start as an .xlsx, .xls or .ods "
                            "file does, and it is not text (a CSV file) either; the file is damaged or is "
                            "something else: export the calendar again as .xlsx or CSV")
    return _csv_rows(path, options)


def _csv_rows(path: Path, options: CalendarSheetOptions) -> Sheet:
    from cmflow.builtin.sources.steady_files import read_steadily

    text = read_steadily(path, lambda: read_export(path, options.encoding))
    tried: list[tuple[str, list[tuple[int, list[str]]]]] = []
    for delimiter in ([options.delimiter] if options.delimiter else DELIMITERS):
        records = _csv_records(text, delimiter, path)
        at = _header_at(records, options)
        if at is not None:
            header_line = records[at][0]
            rows = tuple(SheetRow(line, f"line {line}", tuple(cells)) for line, cells in records[at + 1:])
            return Sheet(path, tuple(c.strip() for c in records[at][1]), f"line {header_line}", rows, False)
        tried.append((delimiter, records))
    delimiter, records = max(tried, key=lambda t: max((len(c) for _, c in t[1][:HEADER_SEARCH_ROWS]), default=0))
    raise DataFileError(_no_date_column(path, records, "line {}", options))


def _csv_records(text: str, delimiter: str, path: Path) -> list[tuple[int, list[str]]]:
    """Every record of ``text`` with the line it starts on (a quoted cell may span lines)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    records, line_before = [], 0
    try:
        for cells in reader:
            if cells:
                records.append((line_before + 1, cells))
            line_before = reader.line_num
    except csv.Error as exc:
        raise DataFileError(f"{path}, line {reader.line_num}: cannot be read as CSV ({exc}): a quote opened "
                            "and never closed? fix the file, or export it again") from None
    return records


def _workbook_rows(path: Path, options: CalendarSheetOptions) -> Sheet:
    from cmflow.builtin.sources.workbooks import sheet_cells

    _, _, name, cells = sheet_cells(path, options.sheet)
    records = [(number, [v if v is not None else "" for v in cells.row(number - 1)])
               for number in range(1, cells.height + 1)]
    records = [(n, c) for n, c in records if any(v.strip() for v in c)]
    at = _header_at(records, options)
    if at is None:
        raise DataFileError(_no_date_column(path, records, f'sheet "{name}", row {{}}', options))
    rows = tuple(SheetRow(n, f'sheet "{name}", row {n}', tuple(c)) for n, c in records[at + 1:])
    return Sheet(path, tuple(c.strip() for c in records[at][1]), f'sheet "{name}", row {records[at][0]}', rows, True)


def _header_at(records: list[tuple[int, list[str]]], options: CalendarSheetOptions) -> Optional[int]:
    """Index in ``records`` (the file's non-blank rows, with their line or row numbers) of the
    header: the row numbered `header_row`, else the first holding the date column."""
    if options.header_row is not None:
        return next((i for i, (number, _) in enumerate(records) if number == options.header_row), None)
    wanted = options.field_names.get("date")
    known = {header_key(n) for n in options.field_names.values()} | {
        n for field, names in FIELD_KEYS.items() if field != "date" for n in names}
    dated = []
    for index, (_, cells) in enumerate(records[:HEADER_SEARCH_ROWS]):
        keys = [header_key(c) for c in cells]
        if (header_key(wanted) in keys) if wanted else any(k in FIELD_KEYS["date"] for k in keys):
            if sum(1 for k in keys if k in known) >= 1:
                return index
            dated.append(index)
    # A row naming the date alone ("Date :" then the day the sheet was exported) is a legend
    # above the header when a lower row names other columns too; else it is the header.
    return dated[0] if dated else None


def _no_date_column(path: Path, records: list[tuple[int, list[str]]], place: str,
                    options: CalendarSheetOptions) -> str:
    """Why no header was found: the header row named is blank or missing, or no row of the first
    ones holds a date column (listing the first row that looks like a header)."""
    wanted = options.field_names.get("date")
    if options.header_row is not None and not any(n == options.header_row for n, _ in records):
        last = records[-1][0] if records else 0
        return (f"{path}, {place.format(options.header_row)} (header_row = {options.header_row}): "
                + ("is blank" if options.header_row <= last else f"is not in the file, which ends at {place.format(last)}")
                + "; give the row of the column names")
    header = next(((place.format(n), cells) for n, cells in records[:HEADER_SEARCH_ROWS]
                   if sum(1 for c in cells if c.strip()) >= 2), None)
    found = (f"the header ({header[0]}) holds " + ", ".join(f'"{c.strip()}"' for c in header[1] if c.strip())
             if header else "no row holds two cells or more")
    looked = f'column "{wanted}" (field_names.date)' if wanted else "date column (" + ", ".join(
        f'"{n}"' for n in ("Date", "Date de publication", "Jour", "Publish date", "Day")) + " ...)"
    return (f"{path}: found no {looked} in the first {HEADER_SEARCH_ROWS} rows; {found}; name the column that "
            "holds the planned date with field_names.date = \"<its name>\" (and header_row if the header is lower)")


def reported_days(ctx: "FetchContext", tz: str) -> tuple[date, date]:
    """The first and last day of the period the run reports on: the latest of its periods (not
    the earlier ones it compares with, a year back for `previous_year`), else the fetch window's
    days in ``tz``."""
    if ctx.periods:
        latest = max(ctx.periods, key=lambda p: p.end)
        return latest.start, latest.end
    zone = ZoneInfo(tz)
    end = ctx.window_end - timedelta(microseconds=1)
    return ctx.window_start.astimezone(zone).date(), end.astimezone(zone).date()


class CalendarRows:
    """Reads a calendar's rows into calendar items: finds the columns, reads each row, and
    reports the rows skipped and the bad ones."""

    def __init__(self, sheet: Sheet, options: CalendarSheetOptions, ctx: "FetchContext", tz: str,
                 source_id: str) -> None:
        self.sheet, self.options, self.ctx, self.tz, self.source_id = sheet, options, ctx, tz, source_id
        self.positions = self._columns()
        self.window = reported_days(ctx, tz)
        self.workflow_tz = ctx.periods[0].tz if ctx.periods else "UTC"
        """Whole-day plans are midnight in the workflow's zone, whatever ``timezone`` says: the
        adherence metrics look for them there (docs/concepts.md#calendar_item)."""
        self.statuses = options.statuses
        self.bad: list[BadRow] = []
        self.skipped: dict[str, list[str]] = {}
        self.unknown: dict[str, set[str]] = {}

    def _columns(self) -> dict[str, int]:
        """Field -> position of its column in the header."""
        keys = [header_key(name) for name in self.sheet.header]
        positions: dict[str, int] = {}
        for field, name in self.options.field_names.items():
            matches = [i for i, key in enumerate(keys) if key == header_key(name)]
            if not matches:
                from cmflow import closest

                near = closest(name, [h for h in self.sheet.header if h])
                raise DataFileError(
                    f'{self.sheet.file}: no column "{name}" (field_names.{field}) in the header '
                    f"({self.sheet.header_place})" + (f'; did you mean "{near}"?' if near else "")
                    + "; the header holds " + ", ".join(f'"{h}"' for h in self.sheet.header if h))
            positions[field] = self._one(matches, name)
        for field, names in FIELD_KEYS.items():
            if field in positions:
                continue
            for name in names:
                matches = [i for i, key in enumerate(keys) if key == name and i not in positions.values()]
                if matches:
                    positions[field] = self._one(matches, self.sheet.header[matches[0]])
                    break
        if "date" not in positions:  # a header_row given that holds no date column
            raise DataFileError(f"{self.sheet.file}, {self.sheet.header_place}: the header holds no date column; it "
                                "holds " + ", ".join(f'"{h}"' for h in self.sheet.header if h) + "; name the column "
                                "that holds the planned date with field_names.date = \"<its name>\"")
        return positions

    def _one(self, matches: list[int], name: str) -> int:
        if len(matches) > 1:
            raise DataFileError(f'{self.sheet.file}, {self.sheet.header_place}: the header has column "{name}" '
                                f"{len(matches)} times (columns {', '.join(str(m + 1) for m in matches)}): cmflow "
                                "cannot tell which to read; rename one in the sheet, or name the other column "
                                "in `field_names`")
        return matches[0]

    def _check_day_month_order(self) -> None:
        """A numeric date that reads only with day and month swapped fails the whole file, even
        with ``on_error = "skip"``: the dates before it that read both ways would be wrong."""
        position = self.positions["date"]
        for row in self.sheet.rows:
            value = self._value(row, "date")
            if value and swapped_order(value, self.options.month_first):
                order, option = (("month first", 'date_order = "day_first"') if self.options.month_first
                                 else ("day first", 'date_order = "month_first"'))
                raise DataFileError(
                    f'{self.sheet.file}, {self.sheet.cell_place(row, position)}: "{value}" does not read {order}, '
                    f"so day and month are the other way round in this sheet, and its dates that read both ways "
                    f"(such as 05/11) would be wrong; set {option}")

    def items(self) -> list[dict[str, Any]]:
        """The calendar items of every row, after reporting bad rows (``on_error``) and warning of skipped ones."""
        self._check_day_month_order()
        items: list[dict[str, Any]] = []
        ids: dict[str, SheetRow] = {}
        for row in self.sheet.rows:
            for item in self._row_items(row):
                first = ids.setdefault(item["item_id"], row)
                if first is row:
                    items.append(item)
                elif item.pop("_hashed"):
                    number = 2
                    while f"{item['item_id']}-{number}" in ids:
                        number += 1
                    item["item_id"] = f"{item['item_id']}-{number}"
                    ids[item["item_id"]] = row
                    items.append(item)
                    self._skip("same date, platform and title as another row (numbered -2, -3 ... in file "
                               "order: give the sheet an ID column so that ids survive a reordering)", row,
                               kind="renumbered")
                else:
                    self.bad.append(BadRow(row.number, f'{row.place}: ID "{item["item_id"]}" is also on {first.place}: '
                                           "two rows cannot be one calendar entry", row.place,
                                           f'item_id "{item["item_id"]}"'))
        for item in items:
            item.pop("_hashed", None)
        report_bad_rows(self.bad, self.sheet.file, self.options.on_error, self.ctx)
        self._warn()
        bad_lines = {b.order for b in self.bad}
        return [i for i in items if i.pop("_row") not in bad_lines]

    def _value(self, row: SheetRow, field: str) -> str:
        position = self.positions.get(field)
        if position is None or position >= len(row.cells):
            return ""
        return " ".join(row.cells[position].split())

    def _row_items(self, row: SheetRow) -> list[dict[str, Any]]:
        filled = [c for c in row.cells if c.strip()]
        if not filled:
            return []
        when = self._value(row, "date")
        content = [f for f in self.positions if f not in NOT_CONTENT and self._value(row, f)]
        if len(filled) == 1 and (not when or not self._reads_as_date(when)):
            self._skip("section title", row, kind="section")
            return []
        if not when:
            self._skip("no date", row, kind="undated")
            return []
        if not content:
            self._skip("nothing planned", row, kind="empty")
            return []
        planned_at, day = self._planned_at(row, when)
        if planned_at is None:
            return []
        values = {field: self._value(row, field) or self.options.constants.get(field, "") for field in FIELD_KEYS}
        item: dict[str, Any] = {"planned_at": planned_at, "_row": row.number}
        for field in TEXT_FIELDS:
            item[field] = values[field] or None
        item["format"] = self._named(values["format"], format_of, "format")
        item["status"] = status_of(values["status"], self.statuses)
        item["url"] = self._link(values["url"], row)
        item["updated_at"] = self._updated_at(row, values["updated_at"])
        platforms = self._platforms(values["platform"])
        given_id = values["item_id"]
        item_id = given_id or stable_item_id(self.source_id, day, "+".join(p or "" for p in platforms),
                                             values["title"])
        return one_per_platform(dict(item, item_id=item_id, _hashed=not given_id), platforms)

    def _reads_as_date(self, text: str) -> bool:
        try:
            read_date(text, self.options.month_first, self.sheet.workbook)
        except NotADate:
            return False
        return True

    def _planned_at(self, row: SheetRow, when: str) -> tuple[Optional[datetime], date]:
        try:
            written = read_date(when, self.options.month_first, self.sheet.workbook)
            year = written.year or nearest_year(written.month, written.day, self.window, written.weekday)
        except NotADate as problem:
            return self._bad_cell(row, self.positions["date"], when, str(problem)), date.min
        day = date(year, written.month, written.day)
        at = written.time
        time_text = self._value(row, "time")
        if time_text:
            try:
                at = read_time(time_text)
            except NotADate as problem:
                return self._bad_cell(row, self.positions["time"], time_text, str(problem)), day
        if written.offset is not None and not time_text:  # an instant written with its offset
            return datetime.combine(day, at, timezone(written.offset)).astimezone(timezone.utc), day
        if at is None or (at.hour, at.minute, at.second) == (0, 0, 0):
            return whole_day_instant(day, self.workflow_tz), day
        position = self.positions["time"] if time_text else self.positions["date"]
        return self._instant(row, day, at, position), day

    def _instant(self, row: SheetRow, day: date, at: Any, position: int) -> Optional[datetime]:
        """The UTC instant of local ``day`` at ``at``; a bad row for a time the clocks skip."""
        zone = ZoneInfo(self.tz)
        local = datetime.combine(day, at, zone)
        instant = local.astimezone(timezone.utc)
        if instant.astimezone(zone).replace(tzinfo=None) != local.replace(tzinfo=None):
            cell = row.cells[position].strip()
            return self._bad_cell(row, position, cell, f"{day.isoformat()} {at.strftime('%H:%M')} does not exist in "
                                  f"{self.tz} (the clocks go forward that night): correct the time, or set `timezone`")
        return instant

    def _bad_cell(self, row: SheetRow, position: int, value: str, problem: str) -> None:
        """Note a bad value of ``row`` (the cell at ``position``); None, for the callers to return."""
        place = self.sheet.cell_place(row, position)
        self.bad.append(BadRow(row.number, f'{place}: "{value}" {problem}', row.place, "",
                               (BadCell(self.sheet.header[position], value, problem),)))

    def _updated_at(self, row: SheetRow, text: str) -> Optional[datetime]:
        if not text or "updated_at" not in self.positions:
            return None
        try:
            written = read_date(text, self.options.month_first, self.sheet.workbook)
            year = written.year or nearest_year(written.month, written.day, self.window)
        except NotADate as problem:
            return self._bad_cell(row, self.positions["updated_at"], text, str(problem))
        local = datetime.combine(date(year, written.month, written.day), written.time or datetime.min.time(),
                                 ZoneInfo(self.tz))
        return local.astimezone(timezone.utc)

    def _platforms(self, text: str) -> list[Optional[str]]:
        """The platforms a cell names: one, several (``IG + FB``: every part must name one), or
        none (an empty cell); an unknown name is kept lower-cased."""
        if not text:
            return [None]
        if platforms_named(text) is None:
            self.unknown.setdefault("platform", set()).add(text)
        return list(platforms_in(text))

    def _named(self, text: str, reader: Any, field: str) -> Optional[str]:
        if not text:
            return None
        canonical = reader(text)
        if canonical is None:
            self.unknown.setdefault(field, set()).add(text)
            return text.lower()
        return canonical

    def _link(self, text: str, row: SheetRow) -> Optional[str]:
        if not text or web_link(text):
            return web_link(text)
        self._skip("link left out: not an http(s) address", row, kind="link")
        return None

    def _skip(self, what: str, row: SheetRow, kind: str) -> None:
        self.skipped.setdefault(kind, []).append(row.place)
        self.ctx.log.debug("%s: %s: %s", self.sheet.file.name, row.place, what)

    def _warn(self) -> None:
        said = {
            "section": "section title(s) skipped (one filled cell, no date)",
            "empty": "dated row(s) with nothing planned skipped (only the date filled)",
            "undated": "row(s) without a date skipped (ideas not planned yet?)",
            "renumbered": "row(s) share a date, platform and title with an earlier row: their ids end in -2, -3 "
                          "... in file order; give the sheet an ID column so that ids survive a reordering",
            "link": "link(s) left out: not http(s) addresses",
        }
        for kind, places in self.skipped.items():
            shown = ", ".join(places[:LINES_SHOWN]) + (f" and {len(places) - LINES_SHOWN} more"
                                                       if len(places) > LINES_SHOWN else "")
            self.ctx.warn(f"{self.sheet.file.name}: {len(places)} {said[kind]}: {shown}")
        for field, values in self.unknown.items():
            shown = ", ".join(f'"{v}"' for v in sorted(values)[:LINES_SHOWN])
            what = "platform" if field == "platform" else "format (image, video, reel, carousel, text, link, story)"
            self.ctx.warn(f"{self.sheet.file.name}: {len(values)} value(s) of column "
                          f'"{self.sheet.header[self.positions[field]] if field in self.positions else field}" name no known '
                          f"{what}, kept lower-cased: {shown}")


@hookimpl
def register_sources(register):
    register(CalendarSheetSource)
