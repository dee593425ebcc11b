"""The ``csv`` source: posts, snapshots or any record kind from a CSV export."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from pydantic import Field, field_validator

from cmflow import FetchContext, RecordTable, Source, hookimpl

from .export_text import check_export, read_export
from .tabular import BadRow, DataFileError, RowPlaces, TabularOptions, parse_records

if TYPE_CHECKING:
    import polars as pl

OTHER_DELIMITERS = (";", "\t", ",", "|")


class CsvOptions(TabularOptions):
    delimiter: str = Field(",", description="Field separator, one character: \",\", \";\" (French "
                           "Excel exports), \"|\" or \"\\t\".", examples=[";"])

    @field_validator("delimiter")
    @classmethod
    def _one_ascii_character(cls, value: str) -> str:
        names = {";": "semicolon", ",": "comma", "\t": "tab", "|": "pipe"}
        if len(value) != 1 or not value.isascii() or value in "\"\r\n":
            named = {v: k for k, v in names.items()}.get(value.strip().lower())
            raise ValueError(f"{value!r} is not a field separator: write one character such as "
                             + (f"{named!r}" if named else "\",\", \";\", \"|\" or \"\\t\" (tab)"))
        return value


class CsvPlaces(RowPlaces):
    """Rows by the physical line they start on (a quoted caption may span several lines),
    cells by column number and name."""

    def __init__(self, lines: list[int], header: list[str], ambiguous: dict[str, str]) -> None:
        self.lines = lines
        self.positions = {name: number for number, name in enumerate(header, start=1)}
        self.ambiguous = ambiguous

    def row(self, index: int) -> str:
        return f"line {self.lines[index]}"

    def cell(self, index: int, column: str) -> str:
        return f'line {self.lines[index]}, column {self.positions[column]} "{column}"'

    def order(self, index: int) -> int:
        return self.lines[index]


class CsvSource(Source):
    """Reads records from a CSV file, mapping its columns to canonical fields.

    What the file must hold, and what cmflow does otherwise:

    - **The file**: a 0-byte or blank file is an error (a failed export must not look like a
      quiet week); a header line without rows is a period without records. A byte-order mark
      (UTF-8 or UTF-16) decides the encoding; otherwise `encoding` does, and text that is not
      in it is an error naming the line and the encoding it looks like (e.g. cp1252).
    - **The header**: every mapped column must be in it (the error lists the header's columns,
      with the closest name); a column the source reads may not appear twice.
    - **Rows**: errors name the physical line a row starts on (a quoted caption may span
      several lines) and the column by number and name. A row with more or fewer fields than
      the header is a bad row (empty trailing fields, as some spreadsheets add, are allowed);
      blank lines are ignored.
    - **Values**: only an empty cell means "no value"; `-`, `n/a` or `—` in a number column
      are bad values (map them to empty with `values`, e.g. `values.reach = { "-" = "" }`).
      Counts (likes, reach, followers ...) are whole numbers from 0 to 2^63 − 1, written out
      in full: negative, fractional, percentage, scientific (`1E+30`), NaN or infinite values
      are bad. Dates must fall in the years 1990 to 2199; a format without a year (`%B %d`)
      places each date in the latest year that is not after the run's period.
    - **Duplicates**: the same record twice (a post id on two lines) counts once, with a
      warning naming both lines; when the copies' values differ, both are bad rows, and the
      message says which values differ.
    - A bad row stops the source (`on_error = "fail"`, the default) with an error naming the
      first few, or is left out (`on_error = "skip"`): every skipped row is listed with its
      line and reason in the run summary (the first ten; `cmflow run -v` prints all) and in
      the HTML report's footer.
    """

    name = "csv"
    description = "Read posts, account snapshots or other records from a CSV export."
    Options = CsvOptions
    record_kinds = ()

    def produces(self) -> set[str]:
        return {self.options.record}

    def fetch(self, ctx: FetchContext) -> Iterable[RecordTable]:
        options: CsvOptions = self.options
        path = ctx.resolve_path(options.path)
        text = read_export(path, options.encoding)
        raw, places, bad = read_csv_text(text, options.delimiter, path)
        yield RecordTable(options.record, parse_records(raw, options, ctx, path, places, bad))

    def check_credentials(self, ctx: FetchContext) -> list[Any]:
        """The export exists, is not empty and decodes in ``encoding`` (`validate` does not look at it)."""
        return [check_export(self, ctx, self.options.path, self.options.encoding)]


def read_csv_text(text: str, delimiter: str, path: Path) -> tuple["pl.DataFrame", CsvPlaces, list[BadRow]]:
    """Split CSV text into a frame of text columns, the line each row starts on, and the rows
    whose number of fields does not match the header's."""
    import polars as pl

    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"', strict=True)
    header: list[str] | None = None
    header_line = 0
    rows: list[list[str]] = []
    lines: list[int] = []
    bad: list[BadRow] = []
    previous_end = 0
    while True:
        start = previous_end + 1
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise DataFileError(_csv_syntax_problem(path, start, reader.line_num, str(exc))) from None
        previous_end = reader.line_num
        if not fields or (len(fields) == 1 and not fields[0].strip()):
            continue  # a blank line
        if header is None:
            header, header_line = [name.strip() for name in fields], start
            _check_delimiter(header, delimiter, path, start)
            continue
        if len(fields) > len(header) and not any(f.strip() for f in fields[len(header):]):
            fields = fields[:len(header)]  # empty trailing fields: nothing is lost
        if len(fields) != len(header):
            more = len(fields) > len(header)
            why = ("a value holding the delimiter without quotes?" if more else
                   "a missing value, or a line break outside quotes?")
            bad.append(BadRow(start, f"line {start}: {len(fields)} fields where the header (line "
                                     f"{header_line}) has {len(header)}: {why}"))
            continue
        rows.append(fields)
        lines.append(start)
    if header is None:
        raise DataFileError(f"{path} holds no header line: export it again")
    names = _unique_names(header)
    ambiguous = {name: f'line {header_line}: the header has column "{name}" more than once (columns '
                       + " and ".join(str(i) for i, h in enumerate(header, start=1) if h == name)
                       + "): cmflow cannot tell which to read; rename or remove one in the file"
                 for name in set(header) if header.count(name) > 1}
    columns = list(zip(*rows)) if rows else [() for _ in names]
    raw = pl.DataFrame({name: pl.Series(name, list(values), dtype=pl.String)
                        for name, values in zip(names, columns)})
    return raw, CsvPlaces(lines, names, ambiguous), bad


def _unique_names(header: list[str]) -> list[str]:
    """The header with a repeated name kept once: later copies are renamed so the frame can
    hold them, and reading that name is refused (see ``ambiguous``)."""
    seen: dict[str, int] = {}
    names = []
    for number, name in enumerate(header, start=1):
        names.append(name if name not in seen else f"{name} (column {number})")
        seen[name] = number
    return names


def _check_delimiter(header: list[str], delimiter: str, path: Path, line: int) -> None:
    if len(header) != 1:
        return
    other = next((d for d in OTHER_DELIMITERS if d != delimiter and d in header[0]), None)
    if other:
        shown = "\\t" if other == "\t" else other
        raise DataFileError(f"{path}, line {line}: the header is one column holding {shown!r}: the file "
                            f"is separated by {shown!r}, not {delimiter!r}; set delimiter = \"{shown}\"")


def _csv_syntax_problem(path: Path, start: int, end: int, message: str) -> str:
    if "unexpected end of data" in message:
        return (f"{path}, line {start}: a quote opened on this line is never closed (the rest of the "
                "file would be one value); close it, or double a quote inside a quoted value (\"\")")
    if end > start:
        return (f"{path}, line {end}: not valid CSV ({message}) in a value quoted from line {start}: "
                f"a quote on line {start} is not closed, or a quote inside a value is not doubled (\"\")")
    return f"{path}, line {end}: not valid CSV: {message} (a quote inside a value must be doubled: \"\")"


@hookimpl
def register_sources(register):
    register(CsvSource)
