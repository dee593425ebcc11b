"""``cmflow classify``: a CSV file's texts labelled by a classifier, written back with the file's
rows, so that a community manager can check the classifier on their own data before a workflow
relies on it.

The file is read whole as UTF-8 (a byte-order mark is dropped; anything else that is not UTF-8 is
refused with the line and column where it is not), split by Python's CSV reader (quoted fields
may hold line breaks and delimiters; the delimiter, comma, semicolon or tab, is the one the
header line uses most), and written back with ``sentiment``, ``score`` and ``language``
columns, every text cell passed through :func:`~cmflow.foundation.spreadsheet_formulas.neutralise`
so that a comment reading ``=cmd|...`` is never run by a spreadsheet.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from cmflow.foundation.errors import UserFacingError, WorkflowInvalid
from cmflow.foundation.names import closest
from cmflow.foundation.spreadsheet_formulas import neutralise
from cmflow.foundation.text_files import decode_utf8
from cmflow.stages.classify import labels
from cmflow.stages.failures import failure

if TYPE_CHECKING:
    from cmflow.plugins.kinds import Classifier

OUTPUT_COLUMNS = ("sentiment", "score", "language")
"""The columns ``cmflow classify`` adds (or fills, when the file has columns of these names)."""
DELIMITERS = (",", ";", "\t")
_NUMBER = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?$")


class ClassifyFileError(UserFacingError, ValueError):
    """The file cannot be classified as asked: the message names the file and what to do."""


class ClassifierFailed(UserFacingError):
    """The classifier raised, or answered in another shape than its kind's: one line naming it."""


@dataclass
class ClassifiedFile:
    """A CSV file's rows with their labels, ready to be written."""

    header: list[str]
    rows: list[list[str]]
    delimiter: str
    byte_order_mark: bool
    """The file started with one (Excel's "CSV UTF-8"): the file written starts with one too."""
    counts: Counter = field(default_factory=Counter)
    """Rows by sentiment (``None``: no text, or a text the classifier could not label)."""

    def csv_text(self) -> str:
        """The rows as CSV text, text cells made safe for spreadsheets (numbers left as they are)."""
        out = io.StringIO()
        writer = csv.writer(out, delimiter=self.delimiter, lineterminator="\n")
        writer.writerow([_safe(cell) for cell in self.header])
        writer.writerows([_safe(cell) for cell in row] for row in self.rows)
        return out.getvalue()


def classify_csv(path: Path, text_column: str, classifier: "Classifier", language: str | None = None) -> ClassifiedFile:
    """Label the texts of ``text_column`` of the CSV file at ``path`` with ``classifier``, read
    in ``language`` (``fr``, ``en``) or, None, each in the language the classifier detects.

    Raise :class:`ClassifyFileError` when the file is missing, not UTF-8, empty, has no such
    column (naming its columns and the closest one) or a row of another width than the header;
    :class:`ClassifierFailed` when the classifier raises or answers in another shape (its
    model is loaded from the current folder first).
    """
    import polars as pl

    data = _read_bytes(path)
    try:
        text = decode_utf8(data, str(path))
    except WorkflowInvalid as exc:  # not UTF-8: where, and how to save it as UTF-8
        raise ClassifyFileError(str(exc.problems[0])) from None
    first_line = text.split("\n", 1)[0]
    if not first_line.strip():
        raise ClassifyFileError(f"{path}: the first line is empty: it must name the columns")
    delimiter = max(DELIMITERS, key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
        rows, starts = [], []
        while True:
            start = reader.line_num + 1
            row = next(reader, None)
            if row is None:
                break
            if not row:
                continue  # a blank line
            if len(row) != len(header):
                raise ClassifyFileError(f"{path}: line {start}: {len(row)} fields where the header has "
                                        f"{len(header)}: check the quotes and delimiters ({delimiter!r}) of that row")
            rows.append(row)
            starts.append(start)
    except csv.Error as exc:
        raise ClassifyFileError(f"{path}: line {reader.line_num}: not CSV: {exc}") from None
    column = _column_index(path, header, text_column)
    read = [index for index, row in enumerate(rows) if row[column].strip()]  # rows without text: no label
    texts = pl.Series("text", [rows[index][column] for index in read], dtype=pl.String)
    languages = pl.Series("language", [language] * len(read), dtype=pl.String) if language else None
    try:
        classifier.prepare(Path.cwd())
        answer = labels(classifier, texts, languages)
    except Exception as exc:
        said = failure("classifier", classifier.name, exc)
        raise ClassifierFailed(f"classifier {classifier.name!r} failed: {said}") from None
    places = [header.index(name) if name in header else None for name in OUTPUT_COLUMNS]
    header = header + [name for name, place in zip(OUTPUT_COLUMNS, places) if place is None]
    found_labels = dict(zip(read, answer.iter_rows()))
    counts: Counter = Counter()
    for index, row in enumerate(rows):
        sentiment, score, found = found_labels.get(index, (None, None, None))
        counts[sentiment] += 1
        cells = [sentiment or "", "" if score is None else f"{score:.3f}", found or ""]
        for place, cell in zip(places, cells):
            if place is None:
                row.append(cell)
            else:
                row[place] = cell
    return ClassifiedFile(header, rows, delimiter, data.startswith(b"\xef\xbb\xbf"), counts)


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ClassifyFileError(f"{path}: file not found: check the path (relative to {Path.cwd()})") from None
    except IsADirectoryError:
        raise ClassifyFileError(f"{path}: is a folder, not a file: give the path of a CSV file inside it") from None
    except OSError as exc:
        raise ClassifyFileError(f"{path}: cannot be read: {exc.strerror or exc}") from None


def _column_index(path: Path, header: list[str], name: str) -> int:
    """Where the column ``name`` is (a byte-order mark or blanks around a header cell do not
    count); the file's columns and the closest one otherwise."""
    names = [cell.strip() for cell in header]
    if name.strip() in names:
        return names.index(name.strip())
    suggestion = closest(name, names)
    hint = f"did you mean {suggestion!r}? " if suggestion else ""
    raise ClassifyFileError(f"{path}: no column {name!r}; {hint}its columns: {', '.join(names)}")


def _safe(cell: str) -> str:
    """A cell of the file written: numbers as they are, text made safe for spreadsheets."""
    return cell if _NUMBER.match(cell) else neutralise(cell)
