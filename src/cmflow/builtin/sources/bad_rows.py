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
    if on_error == "fail" and len(bad) > MAX_ERRORS_SHOWN:
        raise BadRowsError(_failure_message(bad, file, ctx), _failure_details(bad), bad)
    _forget_list(file, ctx.workflow_dir)  # an earlier run's list would describe a file since fixed
    if not bad:
        return
    if on_error == "fail":
        raise BadRowsError(_failure_message(bad, file, ctx), _failure_details(bad) if len(bad) > 1 else (), bad)
    for row in bad:
        ctx.skip(f"{file.name}, {_one_row(row)}")
    ctx.warn(f"{file.name}: {len(bad)} bad row(s) skipped (on_error = \"skip\")")


PLACES_IN_MESSAGE = 3
"""Bad rows whose place the short message names (the details list them all)."""


def _failure_message(bad: list[BadRow], file: Path, ctx: "FetchContext") -> str:
    """One short line (the run history keeps it): the file, how many bad rows and where the first
    are, where the full list was written past :data:`MAX_ERRORS_SHOWN`; a single bad row whole."""
    advice = "fix the file, or set on_error = \"skip\" to leave bad rows out (they are then listed in the " \
             "run summary and the report)"
    if len(bad) == 1:
        return f"{file}, {_one_row(bad[0])}; {advice}"
    places = ", ".join(row.place or row.message.split(":")[0] for row in bad[:PLACES_IN_MESSAGE])
    first = f"{places}{' ...' if len(bad) > PLACES_IN_MESSAGE else ''}"
    if len(bad) <= MAX_ERRORS_SHOWN:
        return f"{file}: {len(bad)} bad rows ({first}), each listed below; {advice}"
    listed = write_bad_rows_list(bad, file, ctx.workflow_dir)
    where = (f"every one is listed in {listed}" if isinstance(listed, Path) else
             f"the full list could not be written ({listed}); set on_error = \"skip\" to see every one "
             "in the report and with cmflow run -v")
    return f"{file}: {len(bad)} bad rows ({first}), {where}, summed up below; {advice}"


def _failure_details(bad: list[BadRow]) -> list[str]:
    """One line per bad row up to :data:`MAX_ERRORS_SHOWN`: its place, the record it holds, then
    each bad cell's column, value and problem (``line 9, post_id "7", column 5 "likes": value
    "n/a" is not a number``); past that, how many more the list file holds. Rows that fail
    alike (more than :data:`ALIKE_SHOWN`) are said once: the first few without their advice,
    ``and N more lines like these``, then the advice they share, once."""
    lines = [_one_row(row) for row in bad]
    keys = [re.sub(_VARYING, "#", line) for line in lines]
    groups: dict[str, list[str]] = {}
    for key, line in zip(keys, lines):
        groups.setdefault(key, []).append(line)
    summed: dict[str, tuple[list[str], str] | None] = {key: alike for key, group in groups.items()
              if len(group) > ALIKE_SHOWN and (alike := _alike(group)) is not None}
    shown: list[str] = []
    rows_shown = accounted = 0  # rows spelt out; rows spelt out or summed up
    for key, line in zip(keys, lines):  # in the file's order; rows failing alike where the first is
        if rows_shown >= MAX_ERRORS_SHOWN:
            break
        if key not in summed:
            shown.append(line)
            rows_shown += 1
            accounted += 1
            continue
        if summed[key] is None:  # said already
            continue
        heads, advice = summed[key]
        summed[key] = None
        count = len(groups[key])
        shown.extend(heads[:ALIKE_SHOWN])
        shown.append(f"and {count - ALIKE_SHOWN} more lines like these"
                     + (" (in the list)" if len(bad) > MAX_ERRORS_SHOWN else ""))
        shown.append(f"for all {count}: {advice}")
        rows_shown += ALIKE_SHOWN
        accounted += count
    if accounted < len(bad):
        shown.append(f"and {len(bad) - accounted} more (in the list)")
    return shown


ALIKE_SHOWN = 3
"""Rows failing alike that the details spell out before "and N more lines like these"."""
_VARYING = r'"[^"]*"|\d+'
"""What differs between rows failing alike: their line numbers, records and values."""
_ADVICE_MIN = 20
"""Characters the shared end of alike rows must have to be said once as their advice."""


def _alike(group: list[str]) -> tuple[list[str], str] | None:
    """The lines of rows failing alike without the advice they end with, and that advice; None
    when they share no advice worth saying once (then each is shown whole)."""
    shortest = min(len(line) for line in group)
    common = 0
    while common < shortest and len({line[len(line) - common - 1] for line in group}) == 1:
        common += 1
    first = group[0]
    value = re.search(r'value "[^"]*"', first)  # the advice comes after the cell and its value
    start = max(len(first) - common, value.end() if value else 0)
    cuts = [at for at in (first.find(": ", start), first.find(" (", start)) if at >= 0]
    if not cuts:
        return None
    cut = min(cuts)
    separator, advice = first[cut:cut + 2], first[cut + 2:]
    if separator == " (" and advice.endswith(")"):
        advice = advice[:-1]
    if len(advice) < _ADVICE_MIN:
        return None
    kept = len(first) - cut  # the shared end cut from each line
    return [line[:len(line) - kept] for line in group], advice


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

