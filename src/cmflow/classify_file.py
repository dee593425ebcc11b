"""``cmflow classify``: a CSV file's texts labelled by a classifier, written back with the file's
rows, so that a community manager can check the classifier on their own data before a workflow
relies on it.

The file is read whole as UTF-8 (a byte-order mark is dropped; UTF-16, as Excel's "Unicode text"
writes it, with or without a byte-order mark, is read as the csv source reads it; anything else
that is not UTF-8 is refused with the line and column where it is not), split by Python's CSV reader (quoted fields
may hold line breaks and delimiters; the delimiter, comma, semicolon or tab, is the one the
header line uses most), and written back with ``sentiment``, ``score`` and ``language``
columns (a file's own columns of those names are filled where empty: a sentiment the file
already has wins and its row is not classified; its ``language`` cells are the classifier's
per-row hint, unless a language is given), every text cell passed through :func:`~cmflow.foundation.spreadsheet_formulas.neutralise`
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
from cmflow.foundation.file_signatures import ZIP_ARCHIVE, binary_file_kind, is_workbook, zip_advice, zip_contents
from cmflow.foundation.names import closest
from cmflow.foundation.spreadsheet_formulas import neutralise
from cmflow.foundation.text_encodings import encoding_in_bytes
from cmflow.foundation.text_files import decode_utf8
from cmflow.stages.classify import LABEL_COLUMNS, labels
from cmflow.stages.failures import failure

if TYPE_CHECKING:
    from cmflow.plugins.kinds import Classifier

OUTPUT_COLUMNS = LABEL_COLUMNS
"""The columns ``cmflow classify`` adds (or fills, when the file has columns of these names):
those of a classifier's answer."""
NO_TEXT, OTHER_LANGUAGE, UNKNOWN_LANGUAGE = "without text", "in another language", "of unknown language"
"""Why a row is not labelled (:attr:`ClassifiedFile.unlabelled`)."""
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
    """Rows the classifier labelled, by sentiment (``None``: the rows not labelled)."""
    unlabelled: Counter = field(default_factory=Counter)
    """The rows not labelled by why: :data:`NO_TEXT`, :data:`OTHER_LANGUAGE` (the file or the
    classifier says which), :data:`UNKNOWN_LANGUAGE` (the classifier could not tell it)."""
    kept: int = 0
    """Rows whose sentiment the file already had: kept as they were, not classified."""
    unknown_language: int = 0
    """Rows labelled although their language could not be told (no language cell)."""

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
    text = _csv_text(path, data)
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
    names = [cell.strip() for cell in header]
    places = [names.index(name) if name in names else None for name in OUTPUT_COLUMNS]
    sentiment_at, _, language_at = places

    def cell(row: list[str], place: int | None) -> str:
        return row[place].strip() if place is not None else ""

    # a sentiment the file already has wins (as in a workflow's classify stage); rows without text: no label
    kept = {index for index, row in enumerate(rows) if cell(row, sentiment_at)}
    read = [index for index, row in enumerate(rows) if row[column].strip() and index not in kept]
    texts = pl.Series("text", [rows[index][column] for index in read], dtype=pl.String)
    hints = [language or cell(rows[index], language_at) or None for index in read]
    languages = pl.Series("language", hints, dtype=pl.String) if any(hints) else None
    try:
        classifier.prepare(Path.cwd())
        answer = labels(classifier, texts, languages)
    except Exception as exc:
        said = failure("classifier", classifier.name, exc)
        raise ClassifierFailed(f"classifier {classifier.name!r} failed: {said}") from None
    width, missing = len(header), [name for name, place in zip(OUTPUT_COLUMNS, places) if place is None]
    sentiment_at, score_at, language_at = (
        place if place is not None else width + missing.index(name) for name, place in zip(OUTPUT_COLUMNS, places))
    found_labels = dict(zip(read, answer.iter_rows()))
    marked = encoding_in_bytes(data) is not None
    classified = ClassifiedFile(header + missing, rows, delimiter, marked, kept=len(kept))
    for index, row in enumerate(rows):
        row.extend("" for _ in missing)  # the file's own cells are kept wherever no label is written
        if index in kept:
            continue
        if index not in found_labels:
            classified.unlabelled[NO_TEXT] += 1
            classified.counts[None] += 1
            continue
        sentiment, score, found = found_labels[index]
        told = row[language_at].strip() or language or found or ""
        classified.counts[sentiment] += 1
        if sentiment is None:
            classified.unlabelled[OTHER_LANGUAGE if told else UNKNOWN_LANGUAGE] += 1
        else:
            row[sentiment_at], row[score_at] = sentiment, "" if score is None else f"{score:.3f}"
            classified.unknown_language += not told
        if not row[language_at].strip():
            row[language_at] = told
    return classified


def _csv_text(path: Path, data: bytes) -> str:
    """The text of the CSV file at ``path`` (its bytes ``data``): UTF-16 or UTF-32 (with a
    byte-order mark or without) in the codec its bytes name, by the rule the csv source reads an
    export with (:func:`~cmflow.foundation.text_encodings.encoding_in_bytes`), anything else as
    UTF-8 (said where it is not); a workbook, an archive or an image is named for what it is,
    with what to give instead."""
    if kind := binary_file_kind(data):
        if is_workbook(kind):
            hint = 'open it in the spreadsheet and save it as "CSV UTF-8" (File, Save as)'
        elif kind == ZIP_ARCHIVE:
            hint = zip_advice(zip_contents(data)[1], "the CSV file inside", give="give")
        else:
            hint = "give the CSV file meant"
        raise ClassifyFileError(f"{path}: is not a text file: its first bytes are those of {kind}: {hint}")
    told = encoding_in_bytes(data)
    if told is not None and told != "utf-8-sig":  # UTF-16 or UTF-32: Excel's "Unicode text"
        try:
            text = data.decode(told)
        except UnicodeDecodeError as exc:
            raise ClassifyFileError(f"{path}: is not {told.upper()} text, as its first bytes say (byte "
                                    f"{exc.start}): save it again as CSV UTF-8") from None
        return text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    try:
        return decode_utf8(data, str(path))
    except WorkflowInvalid as exc:  # not UTF-8: where, and how to save it as UTF-8
        raise ClassifyFileError(str(exc.problems[0])) from None


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
