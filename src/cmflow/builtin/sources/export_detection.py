"""Which known export a file is, told from its header (and, in a workbook, from each sheet's).

A table is of a known format when every one of that format's identifying header names is in
one of its first rows. A CSV file holds one table; a workbook one per sheet, and a sheet that
matches no format (LinkedIn's demographic sheets) is left aside, but a workbook where no sheet
matches is unknown. An unknown file is an error (one line, as
every source error) listing the known formats and naming the closest one with the identifying
columns it lacks.
"""

from __future__ import annotations

import codecs
import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

from cmflow import DataFileError, RECORD_KINDS, binary_file_kind

from cmflow.builtin.sources.csv_tables import excel_separator
from cmflow.builtin.sources.export_formats import KNOWN_COMPANIONS, KNOWN_FORMATS, CompanionFile, ExportFormat
from cmflow.builtin.sources.export_text import (BYTE_ORDER_MARKS, LIKELY_ENCODINGS, WORKBOOK_MAGIC, damaged_by_nul,
                                                 decode_problem, looks_damaged, read_export, read_export_bytes_head,
                                                 unmarked_utf16)
from cmflow.builtin.sources.tabular import column_name

HEADER_SEARCH_ROWS = 5
"""Rows looked through for the header (a notice sentence or a title may come first)."""
HEAD_BYTES = 64 << 10
"""How much of a CSV file is read to tell its format: its first rows, never the whole file."""


@dataclass(frozen=True)
class IdentifiedTable:
    """One table of a file recognised as a known format."""

    format: ExportFormat
    sheet: Optional[str]
    """The workbook's sheet holding it; None in a CSV file."""
    header_row: int
    """The line (CSV) or row (workbook) of its header, from 1."""
    header: tuple[str, ...]
    rows: Optional[int]
    """Rows under the header that are not blank (records, before any check of their values); None
    in a CSV file, told from its head only (its rows are counted as it is read)."""
    delimiter: str = ","
    """A CSV file's separator: "," as exports write it, or ";" when a spreadsheet in a
    decimal-comma locale (French Excel) saved the export again."""

    @property
    def record(self) -> str:
        """The record kind its rows become."""
        return self.format.record

    @property
    def names_account(self) -> bool:
        """Whether the table names its account: in a column (Meta), or in each post's link (X's
        post exports, when they have the link column); else the `account` option must."""
        known = self.format
        if known.account_column is not None or not _account_required(known.record):
            return True
        link = known.columns.get("url")
        links = [link] if isinstance(link, str) else list(link or ())
        return bool(known.account_in_url) and any(name in self.header for name in links)

    @property
    def unread_columns(self) -> tuple[str, ...]:
        """The header's columns the format does not read (sums, rates, sub-columns ...)."""
        read = self.format.mapped_columns()
        return tuple(name for name in self.header if name and name not in read)


@dataclass(frozen=True)
class Identified:
    """A file and the known tables in it (one for a CSV file, one per recognised sheet)."""

    path: Path
    file_type: str
    """csv or xlsx."""
    tables: tuple[IdentifiedTable, ...]
    companion: Optional[CompanionFile] = None
    """Set (and ``tables`` empty) when the file is a companion of a known export (YouTube Studio's
    `Chart data.csv`): it is passed over with a note, never read."""

    @property
    def records(self) -> tuple[str, ...]:
        """The record kinds the file yields, each once."""
        return tuple(dict.fromkeys(table.record for table in self.tables))


class UnknownExport(DataFileError):
    """A file of no known export format; ``closest`` is the format it comes nearest to (most of its
    identifying columns present) and ``missing`` the identifying columns the file lacks."""

    def __init__(self, message: str, closest: Optional[ExportFormat], missing: tuple[str, ...]) -> None:
        super().__init__(message)
        self.closest = closest
        self.missing = missing


def identify(path: Path, format: Optional[str] = None,
             formats: Sequence[ExportFormat] = KNOWN_FORMATS) -> Identified:
    """Which known export ``path`` is: its recognised tables with their format, sheet, header row
    and number of rows. ``format`` names one format to accept, and no other.

    Raises :class:`UnknownExport` when no table of the file is of a (the) known format, and
    :class:`DataFileError` when the file cannot be read (empty, damaged, not text)."""
    candidates = [f for f in formats if format is None or f.name == format]
    if not candidates:
        known = ", ".join(f.name for f in formats)
        raise DataFileError(f"{path}: no known export format is called {format!r}; they are {known}")
    head = read_export_bytes_head(path, HEAD_BYTES)
    if head.startswith(WORKBOOK_MAGIC):
        return _identify_workbook(path, candidates, formats)
    return _identify_csv(path, head, candidates, formats)


def _identify_csv(path: Path, head: bytes, candidates: list[ExportFormat],
                  formats: Sequence[ExportFormat]) -> Identified:
    """The format of a CSV file, told from its first :data:`HEAD_BYTES` bytes only (its rows are
    counted when it is read): decoded as the csv source decodes (a byte-order mark, else UTF-8);
    text that is not UTF-8 is tried in the encodings Excel saves in, to say what it is."""
    if kind := binary_file_kind(head[:16]):  # an image, a PDF: named, as the csv source names it
        raise UnknownExport(f"{path} is not an export cmflow knows: it is not a text file: its first bytes are "
                            f"those of {kind}; give the export itself, as downloaded from the platform, or move "
                            "this file out of the exports' folder", None, ())
    text, problem = _head_text(path, head)
    delimiter = (excel_separator(text.partition("\n")[0]) if text else None) or ","
    rows = _first_rows_of_text(text, delimiter) if text is not None else []
    match = _match([f for f in candidates if f.file_type == "csv"], rows)
    if match is None and text is not None and ";" in text:  # saved again by French Excel
        semicolon_rows = _first_rows_of_text(text, ";")
        match = _match([f for f in candidates if f.file_type == "csv"], semicolon_rows)
        rows, delimiter = (semicolon_rows, ";") if match is not None else (rows, ",")
    if problem is not None:
        _refuse_encoding(path, head, problem, match, formats)
    if text is not None and "\x00" in text:
        near = None
        if match is None:  # the NUL may be in the header: the export it is, told without it, or nearly is
            match = _match([f for f in candidates if f.file_type == "csv"],
                           _first_rows_of_text(text.replace("\x00", ""), delimiter))
            near = _unknown(path, {None: rows}, candidates, formats, "csv").closest if match is None else None
        _refuse_nul(path, text, delimiter, match, near)
    if match is None:
        accepted = {f.name for f in candidates}
        for companion in KNOWN_COMPANIONS:
            if companion.companion_of in accepted and any(companion.matches(path.name, names) for _, names in rows):
                return Identified(path, "csv", (), companion)
        raise _unknown(path, {None: rows}, candidates, formats, "csv")
    chosen, line, header = match
    return Identified(path, "csv", (IdentifiedTable(chosen, None, line, header, None, delimiter),))


def _head_text(path: Path, head: bytes) -> tuple[Optional[str], Optional[str]]:
    """The head's text (its last line possibly cut) and, when it is not UTF-8 text (nor UTF-16
    with a mark), the reason, said as the csv source says it; an empty or blank file raises."""
    if not head.strip(b" \t\r\n\xef\xbb\xbf"):
        read_export(path, "utf-8")  # raises: empty, said as the csv source says it
    if b"\x00" in head and not head.startswith(tuple(mark for mark, _ in BYTE_ORDER_MARKS)):
        encoding = unmarked_utf16(head[:len(head) - len(head) % 2])
        damaged = _text_with_stray_nuls(head) if encoding is None else None
        if damaged is not None:  # a damaged export: told, then refused at its NUL
            return damaged.replace("\r\n", "\n").replace("\r", "\n"), None
        if encoding is None:
            return None, "holds NUL bytes"
    else:
        encoding = next((marked for mark, marked in BYTE_ORDER_MARKS if head.startswith(mark)), "utf-8-sig")
    try:
        text = codecs.getincrementaldecoder(encoding)().decode(head, final=False)
    except UnicodeDecodeError as exc:
        return None, decode_problem(path, head, "utf-8", exc)
    return text.replace("\r\n", "\n").replace("\r", "\n"), None


def _text_with_stray_nuls(head: bytes) -> Optional[str]:
    """The text of ``head`` when it is UTF-8 but for NUL bytes that are damage (a stray one, or a
    tail of zeros: :func:`looks_damaged`), not a PDF, an image or UTF-16; else None. The file is
    then refused at the line and column of its first NUL (:func:`_refuse_nul`)."""
    try:
        text = codecs.getincrementaldecoder("utf-8-sig")().decode(head, final=False)
    except UnicodeDecodeError:
        return None
    return text if looks_damaged(text) else None


def _refuse_nul(path: Path, text: str, delimiter: str,
                match: Optional[tuple[ExportFormat, int, tuple[str, ...]]], near: Optional[ExportFormat]) -> None:
    """Raise the error for an export whose head holds a NUL byte (:func:`damaged_by_nul`): its
    line and column, the name of the column whose cell holds it, and the export it otherwise is
    (or, the NUL spoiling its header, comes nearest to: ``near``)."""
    first, _, rest = text.partition("\n")
    skipped = 1 if excel_separator(first) else 0
    reader = csv.reader(io.StringIO(rest if skipped else text, newline=""), delimiter=delimiter, quotechar='"')
    cell, start = "", 1 + skipped
    try:
        for fields in reader:
            index = next((i for i, field in enumerate(fields) if "\x00" in field), None)
            if index is not None:
                header = match[2] if match is not None and start > match[1] else ()
                cell = header[index] if index < len(header) else ""
                break
            start = reader.line_num + 1 + skipped
    except csv.Error:
        pass
    what = (f"this {match[0].name} export" if match is not None else
            f"the file (nearest known format: {near.name})" if near is not None else "the file")
    raise damaged_by_nul(path, text, what, cell, whole=path.stat().st_size <= HEAD_BYTES)


def _refuse_encoding(path: Path, head: bytes, problem: str,
                     match: Optional[tuple[ExportFormat, int, tuple[str, ...]]],
                     formats: Sequence[ExportFormat]) -> None:
    """Raise the error for a file whose head is not UTF-8 text: the export it is when its head
    reads as one in another encoding (a file saved again from Excel), else what it may be."""
    if match is None:
        for name, label in LIKELY_ENCODINGS[1:]:
            try:
                text = head.decode(name)
            except UnicodeDecodeError:
                continue
            match = _match(list(formats), _first_rows_of_text(text.replace("\r\n", "\n").replace("\r", "\n")))
            if match is not None:
                break
    if match is not None:
        raise DataFileError(f"{problem.split(';')[0]}: it is a {match[0].title} export saved again in another "
                            "encoding (Excel's \"CSV\" on Windows writes cp1252), and the export source reads "
                            "UTF-8 only: download the export again (or save it as \"CSV UTF-8\"), or read it "
                            "with plugin = \"csv\", encoding = \"cp1252\" and a `columns` mapping")
    raise UnknownExport(f"{path} is not an export cmflow knows: it is neither UTF-8 text nor a workbook, as "
                        "every known export is (a PDF, an image, or a CSV file saved again in another "
                        "encoding? save it as CSV UTF-8, or move it out of the folder); "
                        f"{problem.split(';')[0].removeprefix(f'{path}, ')}; the known formats "
                        "are " + ", ".join(f.name for f in formats) + " (docs/exports.md)", None, ())


def _identify_workbook(path: Path, candidates: list[ExportFormat], formats: Sequence[ExportFormat]) -> Identified:
    import polars as pl

    from cmflow.builtin.sources.workbooks import open_sheet

    reader, _, _ = open_sheet(path, None)
    tables = []
    seen: dict[Optional[str], list[tuple[int, list[str]]]] = {}
    for index, name in enumerate(reader.sheet_names):
        try:
            cells = reader.load_sheet(index, header_row=None, skip_rows=0, dtypes="string").to_polars()
        except Exception as exc:  # fastexcel's errors: a damaged sheet
            raise DataFileError(f'{path}, sheet "{name}": cannot be read ({exc}): the workbook is damaged; '
                                "export it again") from None
        rows = [(number, [column_name(v or "") for v in cells.row(number - 1)])
                for number in range(1, min(HEADER_SEARCH_ROWS, cells.height) + 1)]
        seen[name] = rows
        match = _match([f for f in candidates if f.file_type == "xlsx"], rows)
        if match is None:
            continue
        chosen, row, header = match
        body = cells.slice(row)
        filled = body.select(pl.any_horizontal(pl.col(c).str.strip_chars().fill_null("") != ""
                                               for c in body.columns)).to_series().sum() if body.width else 0
        tables.append(IdentifiedTable(chosen, name, row, header, int(filled)))
    if not tables:
        raise _unknown(path, seen, candidates, formats, "xlsx")
    return Identified(path, "xlsx", tuple(tables))


def _first_rows_of_text(text: str, delimiter: str = ",") -> list[tuple[int, list[str]]]:
    """The first non-blank CSV records with the line each starts on, but for comment lines
    (``#``, as GA4 writes its report's name and dates above the header); a notice line may hold
    a stray quote: a line that is not CSV ends the look."""
    first, _, rest = text.partition("\n")
    skipped = 1 if excel_separator(first) else 0  # Excel's "sep=;": no header
    reader = csv.reader(io.StringIO(rest if skipped else text, newline=""), delimiter=delimiter, quotechar='"')
    rows: list[tuple[int, list[str]]] = []
    start = 1 + skipped
    try:
        for fields in reader:
            if fields and any(f.strip() for f in fields) and not fields[0].lstrip().startswith("#"):
                rows.append((start, [column_name(f) for f in fields]))
            start = reader.line_num + 1 + skipped
            if len(rows) >= HEADER_SEARCH_ROWS:
                break
    except csv.Error:
        pass
    return rows


def _match(candidates: list[ExportFormat], rows: list[tuple[int, list[str]]]
           ) -> Optional[tuple[ExportFormat, int, tuple[str, ...]]]:
    """The format whose identifying names are all in one of ``rows`` (the most specific one when
    several are: the one with most identifying names), its header's row number and the header."""
    best: Optional[tuple[ExportFormat, int, tuple[str, ...]]] = None
    for number, names in rows:
        present = set(names)
        for known in candidates:
            fits = set(known.identifying) <= present and not present & set(known.excluding)
            if fits and (best is None or len(known.identifying) > len(best[0].identifying)):
                best = (known, number, tuple(names))
        if best is not None:
            return best
    return None


CLOSE_ENOUGH = 0.5
"""The share of a format's identifying columns a file must hold for the format to be named as the
closest: a file sharing one column of five (``impressions``) is not "close" to it."""


def _unknown(path: Path, seen: dict[Optional[str], list[tuple[int, list[str]]]], candidates: list[ExportFormat],
             formats: Sequence[ExportFormat], file_type: str) -> UnknownExport:
    """The error for a file of no known format: what it holds, the known formats, the closest."""
    closest, present, missing, never, closest_row = None, -1.0, (), (), 0
    for known in sorted(candidates, key=lambda f: f.file_type != file_type):
        for rows in seen.values():
            for number, names in rows:
                found = [n for n in known.identifying if n in names]
                if len(found) / len(known.identifying) > present:
                    present, closest_row = len(found) / len(known.identifying), number
                    closest, missing = known, tuple(n for n in known.identifying if n not in names)
                    never = tuple(n for n in known.excluding if n in names)
    if len(candidates) == 1:
        opening = f"{path} is not a {candidates[0].title} export (format = {candidates[0].name!r})"
        detected = next((match[0] for rows in seen.values()
                         if (match := _match([f for f in formats if f.file_type == file_type], rows))), None)
        if detected is not None:  # another known format: say which, not the demanded one as "closest"
            return UnknownExport(f"{opening}: it is a {detected.title} export ({detected.name}); set format = "
                                 f"{detected.name!r} (or remove `format` to recognise each file), or point path at "
                                 f"the {candidates[0].title} export", detected, ())
    else:
        opening = f"{path} is not an export cmflow knows"
    held = []
    for sheet, rows in seen.items():
        shown = ", ".join(f'"{n}"' for n in (rows[0][1] if rows else [])[:8] if n)
        where = (f'sheet "{sheet}"' if sheet is not None else "its first line" if not rows or rows[0][0] == 1
                 else f"line {rows[0][0]}")
        held.append(f"{where} holds {shown or 'nothing'}" + (", ..." if rows and len(rows[0][1]) > 8 else ""))
    parts = [opening + ": " + "; ".join(held)]
    if closest is not None and present > 0 and not missing and closest.file_type != file_type:
        # the export itself, opened and saved again in another form: one fix, not the list of formats
        parts.append(_saved_again(closest, file_type, closest_row))
        return UnknownExport("; ".join(parts), closest, ())
    if closest is not None and present > CLOSE_ENOUGH and missing:
        parts.append(f"the closest known format is {closest.name} ({closest.title}), whose "
                     + ", ".join(f'"{n}"' for n in missing) + " it lacks")
    elif closest is not None and present > 0 and never:
        parts.append(f"the closest known format is {closest.name} ({closest.title}), which never has "
                     + ", ".join(f'"{n}"' for n in never) + " (another file of the same download?)")
    parts.append("the known formats are " + ", ".join(f.name for f in formats) + " (docs/exports.md)")
    parts.append("export the file again from one of these pages, or read it with plugin = \"csv\" (or \"xlsx\") "
                 "and a `columns` mapping")
    close = present > CLOSE_ENOUGH  # a format sharing one identifying column of four is not "closest"
    return UnknownExport("; ".join(parts), closest if close else None, missing if close else ())


def _saved_again(known: ExportFormat, file_type: str, header_row: int) -> str:
    """What a file holding every identifying column of ``known`` but of the other file type is:
    the export opened and saved again in another form (a workbook's sheet saved as CSV)."""
    if file_type == "csv":
        return (f'it is the sheet "{known.sheet}" of a {known.title.split(",")[0]} workbook saved as CSV: give '
                f'the .xlsx workbook as downloaded, or read this file with plugin = "csv" and header_row = '
                f"{header_row} (and a `columns` mapping)")
    return (f"it is a {known.title} opened and saved again as a workbook: give the CSV file as downloaded, "
            'or read this one with plugin = "xlsx" (and a `columns` mapping)')


def _account_required(record: str) -> bool:
    """Whether records of this kind need an account (posts do; time entries have one at most)."""
    kind = RECORD_KINDS[record]
    return "account" in kind.field_names and kind.field("account").required
