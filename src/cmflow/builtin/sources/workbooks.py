"""Reading workbooks (.xlsx, .xlsm, .xls, .ods): opening one and choosing its sheet
(:func:`open_sheet`), a sheet's cells as text (:func:`sheet_cells`), and a sheet as a table
under its header (:func:`read_sheet`), shared by the ``xlsx``, ``export`` and ``calendar_sheet``
sources, which may not import each other's plugin modules.

The workbook is read by fastexcel (calamine) with every cell as text, then mapped and parsed by
the same code as the ``csv`` source (:mod:`cmflow.builtin.sources.tabular`). A cell holding an
Excel date or date-time reads as an ISO date (``2026-11-18 09:30:00``), whatever the workflow
declares for dates written as text, so one column may hold both.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Optional, Union

from pydantic import Field

from cmflow import InputPath, RECORD_KINDS, WholeNumber

from cmflow.builtin.sources.export_text import WORKBOOK_MAGIC, binary_kind, read_export_bytes, zip_advice
from cmflow.builtin.sources.steady_files import read_steadily
from cmflow.builtin.sources.tabular import (DataFileError, MappingOptions, RowPlaces, as_list, column_name,
                                            parse_records)

if TYPE_CHECKING:
    import polars as pl

    from cmflow import FetchContext

log = logging.getLogger(__name__)
HEADER_SEARCH_ROWS = 50
"""Rows looked through for the header when `header_row` is not given."""
EXCEL_DATETIME = r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d+)?$"
"""How the reader writes a cell holding an Excel date or date-time."""
EXCEL_DATETIME_FORMATS = ("%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d %H:%M:%S")


class XlsxOptions(MappingOptions):
    path: InputPath = Field(description="Workbook to read (.xlsx, .xlsm, .xls or .ods): relative to "
                            "the workflow file, absolute, or builtin:demo/... for the bundled demo data.",
                            examples=["exports/linkedin-content.xlsx"])
    sheet: int | str | None = Field(  # not Optional[Union[...]]: typing caches that by its members, in either order
        None, description="Sheet to read: its name, or its position from 1. Default: the first sheet.",
        examples=["All posts", 2])
    header_row: Optional[WholeNumber] = Field(
        None, ge=1, le=1000, description="Row (from 1) holding the column names; the rows above it are "
        "not read. Default: the first row (of the first 50) holding a column for every field `columns` "
        "maps (one of its columns for a field mapped to a list), so a notice sentence above the header, "
        "as LinkedIn writes, is skipped; or the first row of two cells or more when `columns` maps none.",
        examples=[2])
    on_error: Literal["fail", "skip"] = Field(
        "fail", description="fail: a bad value stops the source with an error naming the sheet, row "
        "and column; skip: bad rows are left out, and each is listed with its row and reason in the "
        "run summary and the report's footer.")


class XlsxPlaces(RowPlaces):
    """Rows by their number in the sheet (as Excel shows it), cells by column name."""

    def __init__(self, sheet: str, rows: list[int], ambiguous: dict[str, str]) -> None:
        self.sheet = sheet
        self.rows = rows
        self.ambiguous = ambiguous

    def row(self, index: int) -> str:
        return f'sheet "{self.sheet}", row {self.rows[index]}'

    def cell(self, index: int, column: str) -> str:
        return f'{self.row(index)}, column "{column}"'

    def order(self, index: int) -> int:
        return self.rows[index]


@dataclass
class XlsxTable:
    frame: "pl.DataFrame"
    places: XlsxPlaces
    options: XlsxOptions
    """The options the frame is parsed with (Excel date formats added where a column holds some)."""


def read_sheet(path: Path, options: XlsxOptions) -> XlsxTable:
    """The sheet's rows under its header as text columns, with their row numbers."""
    import polars as pl

    reader, index, name, cells = sheet_cells(path, options.sheet)
    header_at = _header_index(cells, options, path, name)
    header = [column_name(v or "") for v in cells.row(header_at)]
    names, ambiguous = [], {}
    for number, label in enumerate(header, start=1):
        names.append(label if label and label not in names else f"{label or '(no name)'} (column {number})")
        if label and header.count(label) > 1:
            ambiguous[label] = (f'row {header_at + 1}: the header has column "{label}" more than once: '
                                "cmflow cannot tell which to read; rename or remove one in the sheet")
    body = cells.slice(header_at + 1)
    if options.decimal == ",":
        body = _decimal_commas(body, reader, index, header_at, f'{path}, sheet "{name}"')
    body = body.rename(dict(zip(cells.columns, names)))
    rows = pl.int_range(header_at + 2, header_at + 2 + body.height, eager=True)
    filled = body.select(pl.any_horizontal(pl.col(c).str.strip_chars().fill_null("") != ""
                                           for c in names)).to_series() if names else rows.is_null()
    body, rows = body.filter(filled), rows.filter(filled)
    body, parse_options = _excel_dates(body, options)
    return XlsxTable(body, XlsxPlaces(name, rows.to_list(), ambiguous), parse_options)


def _decimal_commas(body: "pl.DataFrame", reader: Any, index: int, header_at: int, where: str) -> "pl.DataFrame":
    """With `decimal = ","`, every cell stored as a number written with a decimal comma, as numbers
    stored as text are in that workbook: the reader writes 12.345, which `thousands = "."` would read
    as 12345. Cells are told apart one by one, so a column may mix both: read as booleans, a number
    cell gives true or false, a text cell (even "12.345") gives nothing. A cell holding true or false
    gives one too, and is left as it is."""
    import polars as pl

    typed = reader.load_sheet(index, header_row=None, skip_rows=0, dtypes="boolean").to_polars()
    if typed.height != body.height + header_at + 1 or typed.width != body.width:  # pragma: no cover
        raise DataFileError(f"{where}: cannot tell numbers stored as numbers from text (the reader's two "
                            "readings of the sheet differ); report this to cmflow's maintainers")
    typed = typed.slice(header_at + 1)
    number = [typed.to_series(i).is_not_null() & ~body.to_series(i).is_in(["true", "false"])
              for i in range(body.width)]
    return body.with_columns(
        pl.when(number[i]).then(pl.col(c).str.replace(".", ",", literal=True)).otherwise(pl.col(c)).alias(c)
        for i, c in enumerate(body.columns) if number[i].any())


WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods")
"""File names of workbooks."""


def looks_like_text(head: bytes) -> bool:
    """Whether the first bytes of a file are text in some encoding (a CSV file saved under a
    workbook's name), rather than binary data: a byte-order mark, or no NUL byte and at least
    nine bytes in ten printable ASCII or blanks (French text in cp1252 or mac_roman has a few
    others; random or encrypted bytes have about six in ten others)."""
    import codecs

    if head.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return True
    if not head or b"\0" in head:
        return False
    plain = sum(1 for byte in head if 32 <= byte < 127 or byte in (9, 10, 13))
    return plain >= 0.9 * len(head)


def sheet_cells(path: Path, sheet: Union[int, str, None]) -> tuple[Any, int, str, "pl.DataFrame"]:
    """The workbook's reader, the chosen sheet's index and name, and its cells as text (row 1
    of the sheet is row 0 of the frame; an empty cell is null). A workbook that changes while it
    is read is an error (:mod:`steady_files`)."""
    return read_steadily(path, lambda: _sheet_cells(path, sheet))


def _sheet_cells(path: Path, sheet: Union[int, str, None]) -> tuple[Any, int, str, "pl.DataFrame"]:
    reader, index, name = open_sheet(path, sheet)
    try:
        cells = reader.load_sheet(index, header_row=None, skip_rows=0, dtypes="string").to_polars()
    except Exception as exc:  # fastexcel's errors: a damaged sheet
        raise DataFileError(f'{path}, sheet "{name}": cannot be read ({_first_line(exc)}): the workbook is '
                            "damaged; export it again, or open and save it again in a spreadsheet") from None
    return reader, index, name, _with_error_cells(cells, path, name)


def _with_error_cells(cells: "pl.DataFrame", path: Path, sheet: str) -> "pl.DataFrame":
    """The cells with each spreadsheet error (``#DIV/0!``) and formula without a stored result
    written in as text, where the reader leaves them empty (:mod:`workbook_errors`): an empty
    counter cell is "no value", so an error read as empty would drop a figure in silence."""
    import polars as pl

    from cmflow.builtin.sources.workbook_errors import error_cells

    found = error_cells(read_export_bytes(path), sheet)
    by_column: dict[int, dict[int, str]] = {}
    for (row, column), text in found.items():
        if row < cells.height and column < cells.width:
            by_column.setdefault(column, {})[row] = text
    if not by_column:
        return cells
    columns = []
    for column, texts in by_column.items():
        series = cells.to_series(column)
        rows = [row for row in sorted(texts) if series[row] is None]
        if rows:
            columns.append(series.scatter(rows, [texts[row] for row in rows]))
    return cells.with_columns(columns) if columns else cells


def open_sheet(path: Path, sheet: Union[int, str, None]) -> tuple[Any, int, str]:
    """The workbook's reader, and the chosen sheet's index and name."""
    import fastexcel

    data = read_export_bytes(path)
    if not data.strip():
        raise DataFileError(f"{path} is empty ({len(data)} bytes): a failed or interrupted export looks "
                            "like this; export it again")
    if not data.startswith(WORKBOOK_MAGIC):
        head = data[:2000]
        text = b"," in head or b";" in head or b"\t" in head
        raise DataFileError(f"{path} is not an Excel workbook (it does not start as an .xlsx, .xls or "
                            ".ods file does)" + (": it looks like text, a CSV file? read it with "
                                                 "plugin = \"csv\"" if text and b"\0" not in head else
                                                 ": export it again as .xlsx"))
    kind, entries = binary_kind(data)
    if kind == "zip":
        csv = any(e.lower().endswith(".csv") for e in entries)
        raise DataFileError(f"{path} is a zip archive, not a workbook: " + zip_advice(
            entries, 'the CSV file inside, with plugin = "csv"' if csv else "the workbook inside"))
    try:
        reader = fastexcel.read_excel(data)
    except Exception as exc:  # fastexcel's errors: a damaged archive, an encrypted workbook
        log.debug("%s: the workbook reader says %s", path, _first_line(exc))
        raise DataFileError(f"{path} cannot be read as a workbook: it starts as one does, but it is "
                            "damaged (cut short by a download or a copy), password-protected, or not a "
                            "workbook; export it again, or open it in a spreadsheet and save it again "
                            "as .xlsx") from None
    names = list(reader.sheet_names)
    listed = ", ".join(f'"{n}"' for n in names)
    if not names:
        raise DataFileError(f"{path} holds no sheet: export it again")
    if sheet is None:
        return reader, 0, names[0]
    if isinstance(sheet, int):
        if not 1 <= sheet <= len(names):
            raise DataFileError(f"{path}: no sheet {sheet} (sheet = {sheet}; positions count from 1); "
                                f"the workbook has {len(names)} sheet(s): {listed}")
        return reader, sheet - 1, names[sheet - 1]
    if sheet not in names:
        near = next((n for n in names if n.strip().casefold() == sheet.strip().casefold()), None)
        if near is None:
            from cmflow import closest

            near = closest(sheet, names)
        raise DataFileError(f"{path}: no sheet \"{sheet}\" (sheet = \"{sheet}\")"
                            + (f'; did you mean "{near}"?' if near else "") + f"; the workbook's sheets: {listed}")
    return reader, names.index(sheet), sheet


def _header_index(cells: "pl.DataFrame", options: XlsxOptions, path: Path, sheet: str) -> int:
    """The index of the header row in ``cells`` (row 1 is index 0)."""
    if options.header_row is not None:
        if options.header_row > cells.height:
            raise DataFileError(f'{path}, sheet "{sheet}": no row {options.header_row} (header_row = '
                                f"{options.header_row}); the sheet has {cells.height} row(s)")
        return options.header_row - 1
    # A field mapped to a list of columns (the first non-empty wins) needs one of them.
    groups = [{column_name(c) for c in as_list(value, ())} for value in options.columns.values()]
    wanted = set().union(*groups)
    first_wide = None
    for index in range(min(HEADER_SEARCH_ROWS, cells.height)):
        row = {column_name(v) for v in cells.row(index) if v is not None and v.strip()}
        if wanted and all(group & row for group in groups):
            return index
        if first_wide is None and len(row) >= 2:
            first_wide = index
    if not wanted and first_wide is not None:
        return first_wide
    if first_wide is None:
        raise DataFileError(f'{path}, sheet "{sheet}": holds no header row (no row of two cells or more '
                            "in the first rows): is it the right sheet? set `sheet`")
    shown = ", ".join(f'"{c}"' for c in sorted(wanted))
    header = ", ".join(f'"{column_name(v)}"' for v in cells.row(first_wide) if v is not None and v.strip())
    raise DataFileError(f'{path}, sheet "{sheet}": no row holds every mapped column ({shown}); row '
                        f"{first_wide + 1} holds {header}: check `columns`, or give the header's row "
                        "with header_row")


def _excel_dates(body: "pl.DataFrame", options: XlsxOptions) -> tuple["pl.DataFrame", XlsxOptions]:
    """Excel dates in date columns as the date alone, and, where a date column holds Excel dates and
    `date_format`/`datetime_format` is declared, the options reading them as well."""
    import polars as pl

    kind = RECORD_KINDS[options.record]
    updates: dict[str, list[str]] = {}
    for field in kind.fields:
        if field.type not in ("date", "datetime") or field.name in options.constants:
            continue
        # A field mapped to a list of columns (the first non-empty wins): every one of them.
        columns = [c if c in body.columns else column_name(c)
                   for c in as_list(options.columns.get(field.name), ()) or [field.name]]
        found = False
        for column in dict.fromkeys(c for c in columns if c in body.columns):
            excel = body[column].str.contains(EXCEL_DATETIME).fill_null(False)
            if not excel.any():
                continue
            found = True
            if field.type == "date":
                body = body.with_columns(pl.when(excel).then(pl.col(column).str.slice(0, 10))
                                         .otherwise(pl.col(column)).alias(column))
        if not found:
            continue
        key = "date_format" if field.type == "date" else "datetime_format"
        declared = getattr(options, key)
        if declared is not None:
            extra = ("%Y-%m-%d",) if field.type == "date" else EXCEL_DATETIME_FORMATS
            updates[key] = [*as_list(declared, ()), *[f for f in extra if f not in as_list(declared, ())]]
    return body, (options.model_copy(update=updates) if updates else options)


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
