"""Reading CSV exports: the options of a CSV file and the readers that turn it into text
columns with each row's line, shared by the ``csv`` source (:mod:`csv_source`) and the
``export`` source, which may not import each other's plugin modules."""

from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Optional

from pydantic import AliasChoices, Field, field_validator

from cmflow import WholeNumber
from cmflow.builtin.sources.export_text import (NotPlainText, export_lines, plain_utf8_blocks,
                                                read_export, text_lines)
from cmflow.builtin.sources.steady_files import read_steadily, unchanged_while_read
from cmflow.builtin.sources.tabular import (BadRow, DataFileError, RowPlaces, TabularOptions, column_name,
                                            mapped_names)

if TYPE_CHECKING:
    import polars as pl

    from cmflow import FetchContext

OTHER_DELIMITERS = (";", "\t", ",", "|")
CHUNK_ROWS = 4_000
"""Rows the line-by-line reader holds as Python strings before it makes them columns."""
CHUNK_BYTES = 1 << 20
"""How much of a regular file Polars splits at a time: the file's bytes are never all held."""
Kept = Optional[Callable[[list[str]], Optional[list[str]]]]
"""Which columns a reader keeps, given the header's (each named once): those returned, or every
one for None (a reader that is not told keeps them all)."""
Consume = Optional[Callable[[list["pl.DataFrame"], RowPlaces, list[str]], None]]
"""What takes each chunk of rows as a reader reads it, instead of the table holding them all
(:meth:`~cmflow.builtin.sources.tabular.RecordParser.add`): the chunk handed over in a list (so
that the reader keeps no reference to it), the places of its rows (counted from 0 in the chunk),
and every column of the header. It is given at least one chunk (an empty one for a header
alone), every row once, in file order; without the lines the reader sets aside (a repeated
header, a line describing the columns)."""


class CsvOptions(TabularOptions):
    delimiter: str = Field(",", description="Field separator, one character: \",\", \";\" (French "
                           "Excel exports), \"|\" or \"\\t\".", examples=[";"])
    header_row: WholeNumber = Field(1, ge=1, le=1000, validation_alias=AliasChoices("header_row", "header_line"),
                                    description="Line the header is on, counted from 1 (blank lines too); the "
                                    "lines above it are skipped, whatever they hold. 2 for LinkedIn exports "
                                    "saved as CSV, whose first line is a notice. `header_line` is an older "
                                    "name for it.", examples=[2])

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


def read_csv_file(path: Path, encoding: str, delimiter: str, header_line: int = 1, kept: Kept = None,
                  consume: Consume = None, encoding_option: bool = True) -> "CsvTable":
    """The CSV export at ``path`` as the csv and export sources read it: split by Polars a chunk
    at a time while it is regular (:func:`read_regular_csv`), line by line from the first chunk
    that is not (:func:`read_any_csv`, which goes on from there: the rows before it are read,
    and consumed, once). ``kept`` and ``consume`` as :func:`read_regular_csv` takes them;
    ``encoding_option`` as :func:`read_any_csv` does. A file that changes while it is read is
    an error (:mod:`steady_files`); without ``consume``, one whose size and time settle is read
    again first (with it, the caller reads again with a fresh consumer: see :func:`read_steadily`)."""
    if consume is None:
        return read_steadily(path, lambda: _read_csv_file(path, encoding, delimiter, header_line, kept, None,
                                                          encoding_option))
    with unchanged_while_read(path):
        return _read_csv_file(path, encoding, delimiter, header_line, kept, consume, encoding_option)


def _read_csv_file(path: Path, encoding: str, delimiter: str, header_line: int, kept: Kept,
                   consume: Consume, encoding_option: bool) -> "CsvTable":
    so_far = None
    blocks = plain_utf8_blocks(path, encoding)
    if blocks is not None:
        try:
            read = _read_regular(blocks, delimiter, path, header_line, CHUNK_BYTES, kept=kept, consume=consume)
        finally:
            blocks.close()
        if isinstance(read, CsvTable):
            return read
        so_far = read
    return read_any_csv(path, encoding, delimiter, header_line, encoding_option, kept, consume, so_far)


def read_any_csv(path: Path, encoding: str, delimiter: str, header_line: int = 1,
                 encoding_option: bool = True, kept: Kept = None, consume: Consume = None,
                 so_far: Optional["ReadSoFar"] = None) -> "CsvTable":
    """The export read line by line as it is decoded (any CSV file :func:`read_regular_csv`
    declines). A problem with the text itself (bytes not in the encoding, NUL characters) is
    told before one with its rows, as when the whole file was decoded first: after a row's
    error, the rest is decoded to look for one. ``encoding_option`` False: the reading source
    has no `encoding` option (the export source), and a decoding error does not advise one.
    ``kept`` chooses the columns the table holds (see :data:`Kept`); ``consume``, when given,
    takes the rows a chunk at a time instead (see :data:`Consume`). ``so_far``: what the
    regular reader read before a chunk it declined, to go on from its first line."""
    lines = export_lines(path, encoding, encoding_option=encoding_option)
    try:
        return _read_any(lines, delimiter, path, header_line, kept, consume, so_far)
    except DataFileError:
        for _ in lines:
            pass
        raise


@dataclass
class CsvTable:
    """A CSV file split into text columns, with what the reader set aside."""

    frame: Optional["pl.DataFrame"]
    """The rows, as text columns: every column of the file, or those a reader was told to keep;
    None when a :data:`Consume` took them a chunk at a time."""
    places: CsvPlaces
    bad: list[BadRow]
    """Rows whose number of fields does not match the header's."""
    header: list[str]
    header_line: int
    repeated_headers: list[int] = field(default_factory=list)
    """Lines that repeat the header (files pasted together): skipped, they hold no value."""
    description_line: int = 0
    """A line under the header describing the columns, without a digit (older Meta exports): skipped."""

    def take_frame(self) -> "pl.DataFrame":
        """The rows, handed over: the table no longer holds them, so that the one reading them
        can let each column go once it has what it needs (the text of a large export)."""
        frame, self.frame = self.frame, None
        return frame

    @property
    def columns(self) -> list[str]:
        """Every column of the file, each named once (those :attr:`frame` may have left out too)."""
        return list(self.places.positions)

    def warn_lines_set_aside(self, ctx: "FetchContext", path: Path) -> None:
        """Tell the run about the lines read as no record: repeated headers, a description line."""
        for line in self.repeated_headers:
            ctx.warn(f"{path.name}: line {line} repeats the header (exports pasted one after the other?): "
                     "not a record, skipped")
        if self.description_line:
            ctx.warn(f"{path.name}: line {self.description_line} describes the columns (as some Meta "
                     "exports do under the header): not a record, skipped")


@dataclass
class ReadSoFar:
    """What the regular reader read of a file before a chunk it declined (a blank line, a ragged
    row, a quote out of place, bytes not UTF-8): the line-by-line reader goes on from ``line``,
    so that the rows before it are split and consumed once."""

    line: int
    """The physical line the declined chunk starts on (a row's first line)."""
    header: list[str]
    header_line: int
    frames: list["pl.DataFrame"]
    """The chunks read (none when a :data:`Consume` took them)."""
    line_numbers: list["pl.Series"]
    repeated: list[int]
    description_line: int
    row_seen: bool
    """Whether a record row was read: a line describing the columns is looked for before the first only."""


EXCEL_SEPARATOR_LINE = re.compile(r'(?P<quote>"?)sep=(?P<named>[^\r\n"])(?P=quote)'
                                  r'(?P<padding>(?P<pad>[,;\t|])(?P=pad)*)?[ ]*\r?\n?', re.IGNORECASE)
"""Excel's separator directive as line 1 of a CSV file: ``sep=;``, or as Excel writes it again
when the file was saved from a sheet holding it as a cell: padded with the file's separator to
the sheet's width (``sep=;;;;``), quoted since the cell holds the separator (``"sep=;";;;``)."""


def excel_separator(first_line: str) -> Optional[str]:
    """The field separator ``first_line`` says the file uses when it is Excel's separator
    directive (:data:`EXCEL_SEPARATOR_LINE`): the padding's, which Excel writes with the file's
    own separator, else the one the directive names; None for any other line."""
    match = EXCEL_SEPARATOR_LINE.fullmatch(first_line.lstrip("\ufeff"))
    return None if match is None else match.group("pad") or match.group("named")


def past_excel_separator(path: Path, encoding: str, delimiter: str, header_line: int) -> int:
    """The line the header is on: ``header_line``, or 2 when that is 1 and line 1 is the
    separator directive Excel writes and reads (:data:`EXCEL_SEPARATOR_LINE`), which is neither
    a header nor a notice; an error when the file's separator (the padding's, else the one the
    directive names) is not ``delimiter``."""
    if header_line != 1:
        return header_line
    try:
        first = next(export_lines(path, encoding), "")
    except (DataFileError, StopIteration):
        return header_line  # the reader explains a file it cannot decode
    separator = excel_separator(first)
    if separator is None:
        return header_line
    if separator != delimiter:
        shown = "\\t" if separator == "\t" else separator
        directive = EXCEL_SEPARATOR_LINE.fullmatch(first.lstrip("\ufeff"))
        written = ("sep=" + directive.group("named") + (directive.group("padding") or "")).replace("\t", "\\t")
        raise DataFileError(f'{path}, line 1: "{written}", as Excel writes it, says the fields are separated '
                            f'by {shown!r}, not {delimiter!r}; set delimiter = "{shown}"')
    return 2


def read_csv_text(text: str, delimiter: str, path: Path, header_line: int = 1) -> CsvTable:
    """Split CSV text into a frame of text columns, the line each row starts on, and the rows
    whose number of fields does not match the header's. The header is the first line that is
    not blank from ``header_line`` on."""
    read = _read_regular(text.encode(), delimiter, path, header_line)
    return read if isinstance(read, CsvTable) else _read_any(text, delimiter, path, header_line, so_far=read)


def read_regular_csv(path: Path, encoding: str, delimiter: str, header_line: int = 1,
                     kept: Kept = None, consume: Consume = None) -> CsvTable | None:
    """The table :func:`read_csv_text` gives for the export at ``path``, read by Polars straight
    from the file's UTF-8 bytes when the file is regular (every row as many fields as the
    header, no blank line, every quote where CSV puts one); None for any other file, or one
    that is not plainly UTF-8 text, which :func:`read_export` and :func:`read_csv_text` then
    read (and explain) line by line. Both give the same table for a regular file. The file is
    read a block at a time and split a chunk of rows at a time, so the whole file is never held
    in memory besides its columns, and of those only the ones ``kept`` chooses (see :data:`Kept`)
    once each chunk's rows are checked; ``consume``, when given, takes each chunk as it is read
    (see :data:`Consume`), and the table holds none. A file found irregular half-way has had its
    first chunks consumed, and None here loses them: a reader that consumes calls
    :func:`read_csv_file`, which goes on line by line from the chunk declined."""
    blocks = plain_utf8_blocks(path, encoding)
    if blocks is None:
        return None
    try:
        read = _read_regular(blocks, delimiter, path, header_line, CHUNK_BYTES, kept=kept, consume=consume)
    finally:
        blocks.close()
    return read if isinstance(read, CsvTable) else None


def _read_any(text: str | Iterable[str], delimiter: str, path: Path, header_line: int,
              kept: Kept = None, consume: Consume = None, so_far: Optional[ReadSoFar] = None) -> CsvTable:
    """Any CSV text (or its lines, each ending with its line break), record by record with
    Python's reader; the rows become columns a chunk of :data:`CHUNK_ROWS` at a time, so that
    no more than a chunk is ever held as Python strings. With ``so_far``, the lines above its
    ``line`` are passed over (the regular reader read them) and the table goes on from it."""
    import polars as pl

    lines_read = iter(text_lines(text) if isinstance(text, str) else text)
    above = so_far.line - 1 if so_far is not None else header_line - 1
    skipped = 0  # the lines above the header are not CSV: a notice may hold a stray quote
    while skipped < above and next(lines_read, None) is not None:
        skipped += 1
    if skipped < above:
        lines_read = iter(())
    reader = csv.reader(lines_read, delimiter=delimiter, quotechar='"', strict=True)
    header: list[str] | None = None
    names: list[str] = []
    keep: list[str] | None = None
    found_on = 0
    rows: list[list[str]] = []
    lines: list[int] = []
    frames: list[pl.DataFrame] = []
    line_numbers: list[pl.Series] = []
    bad: list[BadRow] = []
    repeated: list[int] = []
    description_line = 0
    previous_end = skipped
    ambiguous: dict[str, str] = {}
    row_seen = False
    if so_far is not None:
        header, found_on, names = so_far.header, so_far.header_line, _unique_names(so_far.header)
        keep, ambiguous = _kept(kept, names), _ambiguous(so_far.header, so_far.header_line)
        frames, line_numbers, repeated = so_far.frames, so_far.line_numbers, so_far.repeated
        description_line, row_seen = so_far.description_line, so_far.row_seen
        so_far = None  # the chunks are the table's now
    while True:
        start = previous_end + 1
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise DataFileError(_csv_syntax_problem(path, start, skipped + reader.line_num, str(exc))) from None
        previous_end = skipped + reader.line_num
        if not fields or (len(fields) == 1 and not fields[0].strip()):
            continue  # a blank line
        if header is None:
            header, found_on = _header(fields, delimiter, path, start), start
            names = _unique_names(header)
            keep = _kept(kept, names)
            ambiguous = _ambiguous(header, found_on)
            continue
        if len(fields) == len(header) and column_name(fields[0]) == header[0] \
                and [column_name(f) for f in fields] == header:
            repeated.append(start)
            continue
        if not row_seen and not bad and _describes_columns(fields):
            description_line = start
            continue
        if len(fields) > len(header) and not any(f.strip() for f in fields[len(header):]):
            fields = fields[:len(header)]  # empty trailing fields: nothing is lost
        if len(fields) != len(header):
            more = len(fields) > len(header)
            why = ("a value holding the delimiter without quotes?" if more else
                   "a missing value, or a line break outside quotes?")
            bad.append(BadRow(start, f"line {start}: {len(fields)} fields where the header (line "
                                     f"{found_on}) has {len(header)}: {why}", f"line {start}"))
            continue
        rows.append(fields)
        lines.append(start)
        row_seen = True
        if len(rows) == CHUNK_ROWS:
            _hand_over(_columns_of(rows, names, keep), pl.Series(lines, dtype=pl.Int64), names, ambiguous,
                       frames, line_numbers, consume)
            rows, lines = [], []
    if header is None:
        where = f" from line {header_line} on" if header_line > 1 else ""
        raise DataFileError(f"{path} holds no header line{where}: export it again"
                            + (" (or check `header_row`)" if header_line > 1 else ""))
    if rows or not line_numbers:
        _hand_over(_columns_of(rows, names, keep), pl.Series(lines, dtype=pl.Int64), names, ambiguous,
                   frames, line_numbers, consume)
    del rows
    frame = None if consume else pl.concat(frames, rechunk=False) if len(frames) > 1 else frames[0]
    return _table(frame, pl.concat(line_numbers) if len(line_numbers) > 1 else line_numbers[0], header, found_on,
                  bad, repeated, description_line)


def _hand_over(rows: "pl.DataFrame", lines: "pl.Series", names: list[str], ambiguous: dict[str, str],
               frames: list["pl.DataFrame"], line_numbers: list["pl.Series"], consume: Consume) -> None:
    """A chunk of rows read, and the line each starts on: to ``consume`` if given, else kept in ``frames``."""
    line_numbers.append(lines)
    if consume is None:
        frames.append(rows)
        return
    handed = [rows]
    del rows
    consume(handed, CsvPlaces(lines, names, ambiguous), names)


def _kept(kept: Kept, names: list[str]) -> list[str] | None:
    """The columns ``kept`` chooses among ``names``; None (all) when it chooses none, since a
    frame without columns would not count its rows."""
    keep = kept(names) if kept is not None else None
    return keep or None


def _columns_of(rows: list[list[str]], names: list[str], keep: list[str] | None = None) -> "pl.DataFrame":
    """Rows of fields as a frame of text columns (those named in ``keep``, if given)."""
    import polars as pl

    columns = list(zip(*rows)) if rows else [() for _ in names]
    wanted = set(names if keep is None else keep)
    return pl.DataFrame({name: pl.Series(name, values, dtype=pl.String)
                         for name, values in zip(names, columns) if name in wanted})



def _read_regular(data: bytes | Iterable[bytes], delimiter: str, path: Path, header_line: int,
                  chunk_bytes: int = CHUNK_BYTES, kept: Kept = None, consume: Consume = None
                  ) -> CsvTable | ReadSoFar | None:
    """A regular CSV file (see :func:`read_regular_csv`), as UTF-8 bytes or blocks of them, read
    by Polars a chunk of about ``chunk_bytes`` at a time (each chunk ends at the end of a row:
    a line break after an even number of quotes); None when anything is unusual before its first
    row; what was read so far (:class:`ReadSoFar`) when a chunk is not regular (or a block holds
    a NUL byte), for the line-by-line reader to go on from that chunk's first line. Each chunk's
    rows are checked whole (a repeated header, a line describing the columns, both left out),
    then only the columns ``kept`` chooses are kept, and the chunk goes to ``consume`` if given
    (see :data:`Consume`)."""
    import polars as pl

    if delimiter == "\0":  # the skeleton's placeholder
        return None
    blocks = iter([data] if isinstance(data, (bytes, bytearray)) else data)
    buffer, more = b"", True
    try:
        while (head := _header_of(buffer, delimiter, header_line, complete=not more)) is MORE:
            block = next(blocks, None)
            buffer, more = (buffer + block, True) if block is not None else (buffer, False)
    except NotPlainText:
        return None
    if head is None:
        return None
    fields, line, end = head
    header = _header(fields, delimiter, path, line)
    if len(header) < 2:
        return None
    names = _unique_names(header)
    keep = _kept(kept, names)
    ambiguous = _ambiguous(header, line)
    buffer = buffer[end + 1:]
    frames: list[pl.DataFrame] = []
    line_numbers: list[pl.Series] = []
    first_line = line + 1
    repeated: list[int] = []
    description_line = 0  # the last prose line before the first row, as _read_any skips them
    before_first_row = True

    def declined() -> ReadSoFar:  # the chunk starting on first_line is not regular
        return ReadSoFar(first_line, header, line, frames, line_numbers, repeated, description_line,
                         not before_first_row)

    while True:
        try:
            while more and (len(buffer) < chunk_bytes or not buffer.strip(b"\n")):
                block = next(blocks, None)
                buffer, more = (buffer + block, True) if block is not None else (buffer, False)
        except NotPlainText:
            return declined()
        cut = _row_boundary(buffer) if more else -1
        if cut < 0 and more:  # one row longer than a chunk: read on
            chunk_bytes *= 2
            continue
        if cut < 0:  # the last chunk: without the blank lines at the end
            chunk, buffer = buffer.rstrip(b"\n"), b""
        else:
            chunk, buffer = buffer[:cut], buffer[cut + 1:]
        if not chunk:
            if cut >= 0:  # a blank line inside the file
                return declined()
            break
        if chunk.startswith(codecs.BOM_UTF8):  # Polars would drop that mark
            return declined()
        read = _read_chunk(chunk, delimiter, names, first_line)
        if read is None:
            return declined()
        rows, chunk_lines = read
        skipped = _repeated_header_rows(rows, header)
        repeated.extend(chunk_lines[index] for index in sorted(skipped))
        for index in range(rows.height if before_first_row else 0):
            if index not in skipped:
                if not _describes_columns(list(rows.row(index))):
                    before_first_row = False
                    break
                skipped.add(index)
                description_line = chunk_lines[index]
        first_line += chunk.count(b"\n") + 1
        del chunk
        if skipped:  # lines that hold no record
            kept_rows = ~pl.int_range(0, rows.height, eager=True).is_in(sorted(skipped))
            rows, chunk_lines = rows.filter(kept_rows), chunk_lines.filter(kept_rows)
        _hand_over(rows if keep is None else rows.select(keep), chunk_lines, names, ambiguous, frames,
                   line_numbers, consume)
        del rows
        if cut < 0:
            break
    if not line_numbers:
        return None
    frame = None if consume else pl.concat(frames, rechunk=False) if len(frames) > 1 else frames[0]
    lines = pl.concat(line_numbers) if len(line_numbers) > 1 else line_numbers[0]
    del frames, line_numbers
    return _table(frame, lines, header, line, [], repeated, description_line)


MORE = object()
"""What :func:`_header_of` says when the header may lie past the bytes it was given."""


def _header_of(data: bytes, delimiter: str, header_line: int, complete: bool) -> Any:
    """The header's fields, its line number and the offset of its line end in ``data`` (the
    first bytes of the file, all of them when ``complete``); None when the file is unusual
    before its first row; :data:`MORE` when the header may lie past ``data``."""
    start, line = 0, header_line
    for _ in range(header_line - 1):
        start = data.find(b"\n", start) + 1
        if start == 0:
            return None if complete else MORE
    try:
        while True:
            end = _line_end(data, start)
            if end == len(data) and not complete:  # the line may go on in the next block
                return MORE
            if data[start:end].decode().strip():
                break
            if end == len(data):  # blank lines to the end
                return None
            start, line = end + 1, line + 1  # a blank line above the header
        data[:start].decode()  # the lines above the header, skipped whatever they hold, but UTF-8
        header_text = data[start:end].decode()
        if header_text.count('"') % 2:
            return None
        fields = next(csv.reader([header_text], delimiter=delimiter, quotechar='"', strict=True))
    except (UnicodeDecodeError, csv.Error):
        return None
    return fields, line, end


def _row_boundary(data: bytes) -> int:
    """The last line break of ``data`` outside quotes (after an even number of them) that is not
    among the line breaks ending it (blank lines at the end of the file stay with the last
    chunk), or -1."""
    stop = len(data)
    while stop and data[stop - 1] == 10:
        stop -= 1
    end = data.rfind(b"\n", 0, stop)
    quotes = data.count(b'"', 0, end) if end >= 0 else 0
    while end >= 0 and quotes % 2:
        previous = data.rfind(b"\n", 0, end)
        quotes -= data.count(b'"', max(previous, 0), end)
        end = previous
    return end


def _read_chunk(chunk: bytes, delimiter: str, names: list[str], first_line: int) -> tuple[Any, Any] | None:
    """Rows of a regular chunk split by Polars, and the line each starts on; None when the
    chunk is not regular."""
    import polars as pl

    records = _regular_records(chunk, delimiter.encode(), len(names))
    if records is None:
        return None
    try:
        frame = pl.read_csv(chunk, has_header=False, schema=dict.fromkeys(names, pl.String),
                            separator=delimiter, quote_char='"', infer_schema=False,
                            empty_string_is_null=False, truncate_ragged_lines=False, raise_if_empty=False)
    except pl.exceptions.PolarsError:  # a longer row, or bytes that are not UTF-8
        return None
    if frame.height != records:
        return None
    lines = pl.int_range(first_line, first_line + records, eager=True)
    if chunk.count(b"\n") != records - 1:  # line breaks inside values: rows start further down
        breaks = frame.select(pl.sum_horizontal(pl.col(n).str.count_matches("\n", literal=True) for n in names))
        lines = lines + breaks.to_series().cum_sum().shift(1, fill_value=0)
    return frame, lines


def _line_end(data: bytes, start: int) -> int:
    end = data.find(b"\n", start)
    return len(data) if end < 0 else end


def _regular_records(data: bytes, delimiter: bytes, width: int) -> int | None:
    """The number of rows of CSV bytes when each may have ``width`` fields, no line is blank and
    every quote opens or closes a value at its edges (or is doubled inside it); None otherwise.

    Between quotes at odd and even positions is quoted text. With each quoted stretch replaced
    by a NUL (the text holds none; two stretches that meet, a doubled quote, make one), the
    skeleton left has one line per row, and a quote out of place shows as a NUL beside
    something other than a delimiter, a line break or the edge of the file. A row has ``width`` fields when the
    skeleton holds ``width - 1`` delimiters per line in all: a short row would need a longer
    one to make up the count, and Polars refuses a row longer than the header
    (``truncate_ragged_lines=False``)."""
    if b'"' in data:
        parts = data.split(b'"')
        if len(parts) % 2 == 0:  # an odd number of quotes: one is never closed
            return None
        outside = parts[::2]
        del parts
        skeleton = b"\0".join([outside[0], *filter(None, outside[1:-1]), outside[-1]])
        del outside
        edges = skeleton.translate(bytes(c if c in (delimiter[0], 10, 0) else 120 for c in range(256)))
        if b"x\0" in edges or b"\0x" in edges:  # a quote beside something else than an edge of a value
            return None
        del edges
    else:
        skeleton = data
    rows = skeleton.count(b"\n") + 1
    return rows if skeleton.count(delimiter) == (width - 1) * rows else None


def _repeated_header_rows(frame: "pl.DataFrame", header: list[str]) -> set[int]:
    """Rows that repeat the header (files pasted together). Only rows whose cell under the
    longest-named column holds that name's first word are compared in full."""
    import polars as pl

    column = max(range(len(header)), key=lambda j: len(header[j].split()[0]) if header[j] else -1)
    if not header[column]:
        candidates = range(frame.height)
    else:
        word = header[column].split()[0]
        # a mark (U+FEFF) can only start a cell, so the word is found in a cell holding one too
        candidates = frame.select(pl.col(frame.columns[column]).str.contains(word, literal=True)) \
            .to_series().arg_true().to_list()
    return {i for i in candidates if [column_name(v) for v in frame.row(i)] == header}


def _header(fields: list[str], delimiter: str, path: Path, line: int) -> list[str]:
    _check_delimiter(fields, delimiter, path, line)
    return [column_name(name) for name in fields]


def _table(frame: Optional["pl.DataFrame"], lines: Any, header: list[str], header_line: int, bad: list[BadRow],
           repeated: list[int], description_line: int) -> CsvTable:
    return CsvTable(frame, CsvPlaces(lines, _unique_names(header), _ambiguous(header, header_line)), bad, header,
                    header_line, repeated, description_line)


def _ambiguous(header: list[str], header_line: int) -> dict[str, str]:
    """The names the header holds more than once, and why such a column cannot be read."""
    return {name: f'line {header_line}: the header has column "{name}" more than once (columns '
                  + " and ".join(str(i) for i, h in enumerate(header, start=1) if h == name)
                  + "): cmflow cannot tell which to read; rename or remove one in the file"
            for name in set(header) if header.count(name) > 1}


def _describes_columns(fields: list[str]) -> bool:
    """A line of prose under the header (older Meta exports: "Lifetime: The number of people
    who ..."): several cells with words and not one digit, so no record and no figure."""
    cells = [f for f in fields if f.strip()]
    return len(cells) >= 3 and not any(c.isdigit() for f in cells for c in f)


def check_header(table: CsvTable, options: CsvOptions, path: Path) -> None:
    """Mapped columns missing from the header but found together on a later line: the file
    starts with a notice or a title (LinkedIn, a report's cover line), so say which line to use."""
    wanted = {column_name(c) for c in mapped_names(options)}
    if not wanted or wanted <= set(table.header):
        return
    text = read_export(path, options.encoding)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=options.delimiter, quotechar='"')
    try:
        for fields in reader:
            if reader.line_num > table.header_line + 20:
                return
            if reader.line_num > table.header_line and wanted <= {column_name(f) for f in fields}:
                raise DataFileError(
                    f"{path}, line {table.header_line}: this is not the header (the mapped columns are "
                    f"on line {reader.line_num}; a notice or title line above the header, as LinkedIn "
                    f"exports have?); set header_row = {reader.line_num}")
    except csv.Error:
        return


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
