"""Rows of an export that cannot be used, listed the way an accountant would list them.

With ``on_error = "fail"`` a source stops on bad rows, and the person fixing the export needs
every one of them, not the first five: the error's message is one short line (the file, how
many rows, where the first are; the run history keeps it), and its details (the run summary
prints them one per line) spell out up to :data:`MAX_ERRORS_SHOWN` rows, each with its place,
record, column, value and problem. When there are more,
the whole list (where, record, column, value, problem) is written as a CSV file in a
``bad-rows`` folder beside the workflow file (under the export's path from the workflow's
folder), which the message names. That folder is never the export's own (a source reading a
folder or a glob of exports would read the list back). The values come from the export, so
from the public: a value a spreadsheet would run as a formula is written with a leading
apostrophe. With ``on_error = "skip"`` every row left out is handed to the run
(``ctx.skip``), which lists them in the run summary and the HTML report's footer.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cmflow import DataFileError, neutralise

if TYPE_CHECKING:
    from cmflow import FetchContext

MAX_ERRORS_SHOWN = 20
"""Bad rows an error message spells out; past that, every one is in the list file it names."""
BAD_ROWS_FOLDER = "bad-rows"
"""Folder, beside the workflow file, where the full list of a file's bad rows is written."""
LIST_HEADER = ("where", "record", "column", "value", "problem")
"""``where`` is the place in the file as messages write it: "line 7" (CSV), "item 3" (JSON),
"sheet \"All posts\", row 7" (a workbook)."""


@dataclass(frozen=True)
class BadCell:
    """One bad value of a row: the file's column it is in, the value as written, what is wrong."""

    column: str
    value: str
    problem: str


@dataclass(frozen=True)
class BadRow:
    """A row that cannot be used: where it is in the file (``order``, to sort by), the message
    shown to people, and for the list file where it is (``place``: "line 7", "item 3"), which
    record it holds (``record``: 'post_id "123"', empty when unknown) and its bad cells (none
    when the whole row is wrong: a field count, copies that disagree)."""

    order: int
    message: str
    place: str = ""
    record: str = ""
    cells: tuple[BadCell, ...] = ()

    def list_rows(self) -> list[tuple[str, str, str, str, str]]:
        """The rows of the list file for this bad row: one per bad cell, or one for the row."""
        if not self.cells:
            return [(self.place, self.record, "", "", self.message)]
        return [(self.place, self.record, cell.column, cell.value, cell.problem) for cell in self.cells]


class BadRowsError(DataFileError):
    """Bad rows stopping a source (``on_error = "fail"``), with the rows themselves, so that a
    reader of several tables of one file (a workbook's sheets) lists every table's at once."""

    def __init__(self, message: str, details: "tuple[str, ...] | list[str]", rows: list[BadRow]) -> None:
        super().__init__(message, details)
        self.rows = tuple(rows)


def report_bad_rows(bad: list[BadRow], file: Path, on_error: str, ctx: "FetchContext") -> None:
    """Stop on ``bad`` rows of ``file`` (``on_error = "fail"``: a :class:`DataFileError` listing
    them, with the full list written to a file past :data:`MAX_ERRORS_SHOWN`) or hand each to
    the run as left out (``"skip"``). Called for every file read, bad rows or none: a list an
    earlier run wrote for the file is removed when this one writes none."""
    bad = sorted(bad, key=lambda b: b.order)
    if on_error == "fail" and bad:
        details, spelt_out = _failure_details(bad)
        if spelt_out < len(bad):
            raise BadRowsError(_failure_message(bad, file, ctx, listed=True), details, bad)
    _forget_list(file, ctx.workflow_dir)  # an earlier run's list would describe a file since fixed
    if not bad:
        return
    if on_error == "fail":
        raise BadRowsError(_failure_message(bad, file, ctx), details if len(bad) > 1 else (), bad)
    for row in bad:
        ctx.skip(f"{file.name}, {_one_row(row)}")
    ctx.warn(f"{file.name}: {len(bad)} bad row(s) skipped (on_error = \"skip\")")


PLACES_IN_MESSAGE = 3
"""Bad rows whose place the short message names (the details list them all)."""


def _failure_message(bad: list[BadRow], file: Path, ctx: "FetchContext", listed: bool = False) -> str:
    """One short line (the run history keeps it): the file, how many bad rows and where the first
    are, where the full list was written when the details do not spell out every row (``listed``:
    past :data:`MAX_ERRORS_SHOWN`, or rows failing alike counted); a single bad row whole."""
    advice = "fix the file, or set on_error = \"skip\" to leave bad rows out (they are then listed in the " \
             "run summary and the report)"
    if len(bad) == 1:
        return f"{file}, {_one_row(bad[0])}; {advice}"
    places = ", ".join(row.place or row.message.split(":")[0] for row in bad[:PLACES_IN_MESSAGE])
    first = f"{places}{' ...' if len(bad) > PLACES_IN_MESSAGE else ''}"
    if not listed:
        return f"{file}: {len(bad)} bad rows ({first}), each listed below; {advice}"
    listed = write_bad_rows_list(bad, file, ctx.workflow_dir)
    where = (f"every one is listed in {listed}" if isinstance(listed, Path) else
             f"the full list could not be written ({listed}); set on_error = \"skip\" to see every one "
             "in the report and with cmflow run -v")
    return f"{file}: {len(bad)} bad rows ({first}), {where}, the first ones below; {advice}"


ALIKE_SHOWN = 3
"""Rows named of bad rows that fail the same way (the same problem in the same columns): past
these, one line counts the others, and the problem and its advice are said once."""


def _failure_details(bad: list[BadRow]) -> tuple[list[str], int]:
    """One line per bad row up to :data:`MAX_ERRORS_SHOWN`: its place, the record it holds, then
    each bad cell's column, value and problem (``line 9, post_id "7", column 5 "likes": value
    "n/a" is not a number``); past that, how many more the list file holds. Rows failing the
    same way as more than :data:`ALIKE_SHOWN` others (every date of a column written another way)
    are one group: its first row in full, the next ones by place and value, then every other
    place on one line ("also lines 5–11, 13–41 like these (N more)"), so one cause takes a few
    lines, not twenty long ones, and each row can still be found. With the lines, how
    many rows they spell out (those counted are in the list file)."""
    alike = Counter(way for way in map(_failing_way, bad) if way is not None)
    grouped = {way for way, count in alike.items() if count > ALIKE_SHOWN + 1}
    seen: Counter = Counter()
    lines: list[str] = []
    told = spelt_out = 0
    for row in bad:
        if spelt_out >= MAX_ERRORS_SHOWN:
            break
        way = _failing_way(row)
        if way not in grouped:
            lines.append(_one_row(row))
            told += 1
        else:
            seen[way] += 1
            if seen[way] > ALIKE_SHOWN:
                continue
            lines.append(_one_row(row) if seen[way] == 1 else _without_problem(row))
            if seen[way] == ALIKE_SHOWN:
                rest = [other for other in bad if _failing_way(other) == way][ALIKE_SHOWN:]
                lines.append(f"also {_places_shown(rest)} like these ({len(rest)} more)")
                told += alike[way] - ALIKE_SHOWN
            told += 1
        spelt_out += 1
    if told < len(bad):
        lines.append(f"and {len(bad) - told} more (in the list)")
    return lines, spelt_out


def _failing_way(row: BadRow) -> object:
    """What rows failing the same way share (the columns and problems of their bad cells); None
    for a row wrong as a whole, told on its own."""
    return tuple((cell.column, cell.problem) for cell in row.cells) or None


def _without_problem(row: BadRow) -> str:
    """A row of a group after its first: its place, record and values, the problem said above."""
    values = ", ".join(f'value "{cell.value}"' for cell in row.cells)
    return f"{row.place}{', ' + row.record if row.record else ''}: {values}"


def _places_shown(rows: list[BadRow]) -> str:
    """Where ``rows`` are, in one line, so that each can be found and fixed: runs of numbers
    ("lines 5–11, 13–21, 23–41") when their places are lines, rows or items, the places one by
    one otherwise."""
    numbered = [re.fullmatch(r"(line|row|item) (\d+)", row.place) for row in rows]
    if not all(numbered) or len({m.group(1) for m in numbered}) != 1:
        return ", ".join(row.place or row.message.split(":")[0] for row in rows)
    numbers = sorted(int(m.group(2)) for m in numbered)
    runs: list[list[int]] = []
    for number in numbers:
        if runs and number == runs[-1][1] + 1:
            runs[-1][1] = number
        else:
            runs.append([number, number])
    shown = ", ".join(f"{first}" if first == last else f"{first}\u2013{last}" for first, last in runs)
    return f"{_rows_word(rows[0]) if len(numbers) > 1 else numbered[0].group(1)} {shown}"


def _rows_word(row: BadRow) -> str:
    """"lines", "items" or "rows", as the place of ``row`` says where it is."""
    place = row.place.split(" ")[0] if row.place else ""
    return {"line": "lines", "item": "items"}.get(place, "rows")


def _one_row(row: BadRow) -> str:
    """A bad row's message with the record it holds after its place."""
    if not row.record or row.record in row.message:
        return row.message
    if row.place and row.message.startswith(row.place):
        rest = row.message[len(row.place):]
        if rest.startswith((",", ":")):
            return f"{row.place}, {row.record}{rest}"
        if ": " in rest:  # a JSON key path goes on from the item: [1].plays, post_id "a2": value ...
            cell, problem = rest.split(": ", 1)
            return f"{row.place}{cell}, {row.record}: {problem}"
    return f"{row.message} [{row.record}]"


def _forget_list(file: Path, workflow_dir: Path) -> None:
    try:
        bad_rows_list_path(file, workflow_dir).unlink(missing_ok=True)
    except OSError:
        pass


def bad_rows_list_path(file: Path, workflow_dir: Path) -> Path:
    """Where the full list of ``file``'s bad rows is written: ``bad-rows/<its path from the
    workflow's folder>.bad-rows.csv`` (two exports of one name in two folders get a list each),
    or for a file outside that folder ``bad-rows/<file name>-<hash of its path>.bad-rows.csv``."""
    import hashlib

    folder = workflow_dir / BAD_ROWS_FOLDER
    try:
        relative = file.resolve().relative_to(workflow_dir.resolve())
    except (ValueError, OSError):
        digest = hashlib.sha1(str(file.resolve()).encode()).hexdigest()[:8]
        return folder / f"{file.name}-{digest}.bad-rows.csv"
    return folder / relative.parent / f"{relative.name}.bad-rows.csv"


def write_bad_rows_list(bad: list[BadRow], file: Path, workflow_dir: Path) -> Path | str:
    """Write every bad row of ``file`` as CSV (UTF-8 with a byte-order mark, so that Excel reads
    accents; formulas neutralised): the path written, or why it could not be."""
    target = bad_rows_list_path(file, workflow_dir)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("w", encoding="utf-8-sig", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(LIST_HEADER)
            for row in bad:
                writer.writerows(tuple(neutralise(v) for v in cells) for cells in row.list_rows())
    except OSError as exc:
        return f"{target}: {exc.strerror or exc}"
    return target

