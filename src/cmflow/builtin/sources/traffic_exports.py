"""Reading web analytics exports of UTM-tagged traffic (formats with ``reader = "traffic"``:
GA4's downloads, the neutral `utm_*` CSV) into ``traffic`` records.

These files come from analytics tools and spreadsheets in the user's locale, so each file is read
as it is written: lines starting with ``#`` above the header (GA4's report name, property and
dates) are passed over; the separator is the file's (``;`` where it outnumbers ``,`` on the header
line); amounts may carry a currency sign or code and thousands separators, and their decimal mark
is the one the file's own values show (``1,234.50``: a point; ``2,5`` or ``1 234,50``: a comma),
else the one its separator implies (a comma in a ``;`` file). The currency they show is each
record's ``currency`` (``€`` -> ``EUR``, a dollar's ``$`` kept as written), which the revenue
metrics compare with ``[production] currency``. A totals row (its dimensions empty,
or ``Total``) is not a record. A value that cannot be read is a bad row naming its line and
column; a figure left empty stays unknown, never 0.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Optional

from cmflow import DataFileError

from cmflow.builtin.sources.bad_rows import BadCell, BadRow, report_bad_rows
from cmflow.builtin.sources.export_formats.format import ExportFormat
from cmflow.builtin.sources.tabular import column_name

if TYPE_CHECKING:
    import polars as pl

    from cmflow import FetchContext

COMMENT = "#"
WHOLE_FIELDS = ("sessions", "users", "conversions")
AMOUNT_FIELDS = ("revenue",)
DIMENSION_FIELDS = ("date", "source", "campaign")
"""The fields a totals row leaves empty."""
CURRENCY = re.compile(r"^(?:[€$£¥]|EUR|USD|GBP|CHF|CAD|AUD|JPY)\s*|\s*(?:[€$£¥]|EUR|USD|GBP|CHF|CAD|AUD|JPY)$",
                      re.IGNORECASE)
CURRENCY_CODES = {"€": "EUR", "£": "GBP", "¥": "JPY", "$": "$"}
"""A currency sign's code (``$`` is several currencies' sign: kept as written)."""
SPACES = re.compile(r"[\s\u00a0\u202f]")
GROUPED = {",": re.compile(r"-?\d{1,3}(,\d{3})+"), ".": re.compile(r"-?\d{1,3}(\.\d{3})+")}
"""A number whose only mark splits it in groups of three digits: the mark may be either."""
PLAIN = re.compile(r"-?\d+(\.\d+)?")


def separator_of(lines: list[str]) -> str:
    """``;`` when it outnumbers ``,`` on the first line that is neither blank nor a comment (the
    header), else ``,``."""
    for line in lines:
        if line.strip() and not line.lstrip().startswith(COMMENT):
            return ";" if line.count(";") > line.count(",") else ","
    return ","


def read_traffic_table(path: Path, known: ExportFormat, header_line: int, on_error: str,
                       ctx: "FetchContext") -> tuple["pl.DataFrame", int, int]:
    """The traffic records of the table whose header is on line ``header_line`` of ``path``, with
    the number of rows that are not records (totals) and of rows read."""
    from cmflow import RecordTable

    from cmflow.builtin.sources.export_text import read_export

    text = read_export(path, "utf-8", encoding_option=False)
    separator = separator_of(text.splitlines()[:200])
    rows = list(_records(path, text, separator))
    header = next((fields for line, fields in rows if line == header_line), None)
    if header is None:
        raise DataFileError(f"{path}: no header on line {header_line}; export the file again")
    names = [column_name(name) for name in header]
    columns = _columns(path, known, names)
    body = _body(rows, header_line, path, ctx)
    table_rows = [(line, fields) for line, fields in body if any(f.strip() for f in fields)]
    records, not_records, bad = [], 0, []
    currency = _refuse_mixed_currencies(path, table_rows, columns, names)
    decimal = _decimal_mark(path, table_rows, columns, separator)
    day_first = _day_first(table_rows, columns.get("date"), separator)
    for line, fields in table_rows:
        cells = {field: _cell(fields, index) for field, index in columns.items()}
        if _is_totals_row(known, names, fields, cells):
            not_records += 1
            continue
        record, problems = _record(known, cells, names, columns, decimal, day_first)
        if problems:
            bad.append(BadRow(line, f"line {line}, " + "; ".join(
                f'column "{cell.column}": value "{cell.value}" {cell.problem}' for cell in problems),
                f"line {line}", "", tuple(problems)))
        else:
            record["_line"] = line
            records.append(record)
    report_bad_rows(bad, path, on_error, ctx)
    _refuse_repeated_rows(path, records, names, known)
    for record in records:
        record.pop("_line")
        record["currency"] = currency if record.get("revenue") is not None else None
    return RecordTable.from_rows("traffic", with_platforms(records)).frame, not_records, len(table_rows)


def _records(path: Path, text: str, separator: str) -> Iterator[tuple[int, list[str]]]:
    """Each CSV record of ``text`` with the line it starts on (a quoted value may span lines)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator, quotechar='"')
    start = 1
    try:
        for fields in reader:
            yield start, fields
            start = reader.line_num + 1
    except csv.Error as exc:
        raise DataFileError(f"{path}, line {start}: not CSV ({exc}); export the file again") from None


def _body(rows: list[tuple[int, list[str]]], header_line: int, path: Path,
          ctx: "FetchContext") -> list[tuple[int, list[str]]]:
    """The rows under the header, up to a comment line (GA4 may put a second table under one)."""
    body = []
    for line, fields in rows:
        if line <= header_line:
            continue
        if fields and fields[0].lstrip().startswith(COMMENT):
            later = [n for n, f in rows if n > line and f and any(x.strip() for x in f)
                     and not f[0].lstrip().startswith(COMMENT)]
            if later:
                ctx.warn(f"{path.name}: line {line} starts another table (a # comment under the rows): "
                         f"only the table above it was read ({len(later)} line(s) after it were not)")
            break
        body.append((line, fields))
    return body


def _columns(path: Path, known: ExportFormat, names: list[str]) -> dict[str, int]:
    """Field -> index of its column in the header; a required field's missing column is an error."""
    columns = {}
    for field, choice in known.columns.items():
        choices = (choice,) if isinstance(choice, str) else tuple(choice)
        index = next((names.index(name) for name in choices if name in names), None)
        if index is not None:
            columns[field] = index
        elif field not in known.optional:
            wanted = " or ".join(f'"{name}"' for name in choices)
            advice = ("add the Date dimension to the report or exploration, then download it again"
                      if field == "date" else "export the file again with that column")
            raise DataFileError(f"{path} ({known.title}) has no {wanted} column, which gives each record's "
                                f"{field}: {advice}")
    return columns


def _cell(fields: list[str], index: int) -> str:
    return fields[index].strip() if index < len(fields) else ""


def _is_totals_row(known: ExportFormat, names: list[str], fields: list[str], cells: dict[str, str]) -> bool:
    """A row summing the others: its dimensions empty, or a totals label where the format says."""
    for column, labels in known.not_records.items():
        if column in names and _cell(fields, names.index(column)).lower() in {v.lower() for v in labels}:
            return True
    return all(not cells.get(field) for field in DIMENSION_FIELDS if field in cells)


def _decimal_mark(path: Path, rows: list[tuple[int, list[str]]], columns: dict[str, int], separator: str) -> str:
    """The file's decimal mark, from the numbers it holds (a value showing one, such as
    ``1,234.50`` or ``2,5``), else from its separator; an error when its values show both."""
    seen: dict[str, tuple[int, str]] = {}
    for line, fields in rows:
        for field in (*WHOLE_FIELDS, *AMOUNT_FIELDS):
            if field in columns:
                value = _cell(fields, columns[field])
                mark = _shown_mark(_bare_number(value))
                if mark is not None:
                    seen.setdefault(mark, (line, value))
    if len(seen) == 2:
        (line_a, a), (line_b, b) = seen["."], seen[","]
        raise DataFileError(f"{path}: line {line_a} writes \"{a}\" with a decimal point and line {line_b} \"{b}\" "
                            "with a decimal comma: one file must use one; export it again from one tool")
    if seen:
        return next(iter(seen))
    return "," if separator == ";" else "."


def _refuse_mixed_currencies(path: Path, rows: list[tuple[int, list[str]]], columns: dict[str, int],
                             names: list[str]) -> Optional[str]:
    """The currency the file's amounts are written in (``EUR`` for `€`, ``$`` for a dollar sign),
    None when they show none; an error for amounts in two currencies in one file (`€` on one
    line, `$` on another), which cannot be added up."""
    seen: dict[str, tuple[int, str]] = {}
    for line, fields in rows:
        for field in AMOUNT_FIELDS:
            if field in columns:
                value = _cell(fields, columns[field])
                match = CURRENCY.search(value.strip())
                if match:
                    code = CURRENCY_CODES.get(match.group().strip().upper(), match.group().strip().upper())
                    seen.setdefault(code, (line, value))
    if len(seen) > 1:
        (code_a, (line_a, a)), (code_b, (line_b, b)) = list(seen.items())[:2]
        raise DataFileError(f"{path}: line {line_a} writes \"{a}\" ({code_a}) and line {line_b} \"{b}\" ({code_b}) "
                            "in one column: amounts in two currencies cannot be added up; export each currency's "
                            "figures (each property, each shop) in a file of its own, converted to one currency")
    return next(iter(seen), None)


def _bare_number(value: str) -> str:
    """``value`` without its currency sign or code and spaces (thousands separators)."""
    return SPACES.sub("", CURRENCY.sub("", value.strip()))


def _shown_mark(number: str) -> Optional[str]:
    """The decimal mark ``number`` shows plainly (None when it has none, or one that may be a
    thousands separator: ``1,234``)."""
    if "," in number and "." in number:
        return "," if number.rfind(",") > number.rfind(".") else "."
    for mark in (",", "."):
        if mark in number and not GROUPED[mark].fullmatch(number):
            return mark
    return None


def _number(value: str, decimal: str) -> float:
    """The number ``value`` writes, in a file whose decimal mark is ``decimal``; ValueError
    saying what is wrong."""
    number = _bare_number(value)
    thousands = "." if decimal == "," else ","
    if thousands in number:
        head = number.split(decimal, 1)[0]
        if not GROUPED[thousands].fullmatch(head):
            raise ValueError(f"is not a number (its {thousands!r} is not a thousands separator in a file whose "
                             f"decimal mark is {decimal!r})")
        number = number.replace(thousands, "")
    number = number.replace(decimal, ".")
    if not PLAIN.fullmatch(number):
        raise ValueError("is not a number")
    return float(number)


def _day_first(rows: list[tuple[int, list[str]]], index: Optional[int], separator: str) -> bool:
    """Whether the file's ``dd/mm/yyyy``-like dates are day first: where a first part is past 12,
    not where a second part is; else as a ``;`` file (European) writes them."""
    if index is None:
        return separator == ";"
    for _, fields in rows:
        parts = _cell(fields, index).split("/")
        if len(parts) == 3 and all(p.isdigit() for p in parts):
            if int(parts[0]) > 12:
                return True
            if int(parts[1]) > 12:
                return False
    return separator == ";"


def _date(value: str, known: ExportFormat, day_first: bool) -> date:
    formats = list(known.date_format)
    if "%d/%m/%Y" in formats and "%m/%d/%Y" in formats and not day_first:
        formats.remove("%m/%d/%Y")
        formats.insert(formats.index("%d/%m/%Y"), "%m/%d/%Y")
    for fmt in formats:
        try:
            return datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    shown = " or ".join(datetime(2026, 11, 18).strftime(f) for f in formats)
    raise ValueError(f"is not a date (expected {shown})")


def _record(known: ExportFormat, cells: dict[str, str], names: list[str], columns: dict[str, int],
            decimal: str, day_first: bool) -> tuple[dict[str, Any], list[BadCell]]:
    """One record from a row's cells, or the row's bad cells."""
    record: dict[str, Any] = {}
    problems: list[BadCell] = []
    for field, value in cells.items():
        column = names[columns[field]]
        try:
            if field == "date":
                record[field] = _date(value, known, day_first) if value else None
                if record[field] is None:
                    raise ValueError("is empty: every row needs its day")
            elif field in WHOLE_FIELDS or field in AMOUNT_FIELDS:
                number = _number(value, decimal) if value else None
                if number is not None and field in WHOLE_FIELDS and not number.is_integer():
                    raise ValueError("is not a whole number")
                if number is not None and number < 0 and field in WHOLE_FIELDS:
                    raise ValueError("is negative")
                record[field] = None if number is None else (int(number) if field in WHOLE_FIELDS else number)
            else:
                record[field] = value or None
        except ValueError as exc:
            problems.append(BadCell(column, value, str(exc)))
    for column, separator in known.split.items():
        fields = [f for f, choice in known.columns.items() if choice == column]
        if len(fields) == 2 and record.get(fields[0]) is not None:
            first, _, second = str(record[fields[0]]).partition(separator)
            record[fields[0]], record[fields[1]] = first.strip() or None, second.strip() or None
    return record, problems


def _refuse_repeated_rows(path: Path, records: list[dict[str, Any]], names: list[str], known: ExportFormat) -> None:
    """Two rows of one day, source, medium, campaign and content: the export is broken down by a
    column cmflow does not read, and keeping either row would drop the other's figures."""
    seen: dict[tuple, int] = {}
    for record in records:
        key = tuple(record.get(f) for f in ("date", "source", "medium", "campaign", "content"))
        if key in seen:
            unread = [n for n in names if n and n not in known.mapped_columns()]
            hint = (" (" + ", ".join(f'"{n}"' for n in unread[:3]) + "?)") if unread else ""
            raise DataFileError(f"{path}: line {record['_line']} has the same day, source, medium and campaign as "
                                f"line {seen[key]}: the export is broken down by a column cmflow does not read"
                                f"{hint}; download it by date, source / medium and campaign only")
        seen[key] = record["_line"]


def with_platforms(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``rows`` (traffic records) with the platform each one's ``source`` (utm_source) names,
    read once per distinct source: the one reading for every traffic source (``ga4`` and the
    exports read here)."""
    from cmflow import platform_of

    platforms = {source: platform_of(source) for source in {row["source"] for row in rows}}
    for row in rows:
        row["platform"] = platforms[row["source"]]
    return rows
