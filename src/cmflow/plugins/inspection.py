"""What ``cmflow inspect`` says of a file: the capability a file source offers, and its answer.

A community manager's first contact with cmflow is often "here are my exports". A source that
reads local files may subclass :class:`InspectsFiles` (beside :class:`cmflow.Source`) and say, for
one file, what it is and how a workflow reads it, without a workflow: ``cmflow inspect`` asks
every such source and prints the answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import ClassVar, Optional


@dataclass(frozen=True)
class InspectedTable:
    """One table of an inspected file (a CSV file holds one, a workbook one per useful sheet)."""

    format: str
    """The format's short name (``youtube_studio_table``)."""
    title: str
    """What a community manager calls it: where it is downloaded from."""
    record: str
    """The record kind its rows become."""
    sheet: Optional[str]
    """The workbook's sheet; None in a CSV file."""
    header_row: int
    """The line (CSV) or row (workbook) holding the header, from 1."""
    rows: int
    """Rows under the header that are not blank."""
    records: int
    """Records read from them (rows left out, repeated or not records are not counted)."""
    accounts: tuple[str, ...]
    """The accounts the records belong to; empty when the file does not name its account."""
    first: Optional[date]
    """The earliest record's day (publish day or activity day); None without records."""
    last: Optional[date]
    used_columns: tuple[str, ...]
    """Header columns read, in the file's order."""
    ignored_columns: tuple[str, ...]
    """Header columns not read (sums, rates, durations, text cmflow does not use)."""
    problems: tuple[str, ...] = ()
    """What the reading found: rows left out and why, warnings, dates without a year ..."""
    notes: str = ""
    """The traps of this format, as its documentation states them."""
    sum_columns: tuple[str, ...] = ()
    """Ignored columns holding the sum of others (Meta's `Reactions, Comments and Shares`): not
    read, since adding them would count the others twice."""


@dataclass(frozen=True)
class FileInspection:
    """What one file is, and the ``[[sources]]`` entry that reads it, or why it cannot be read."""

    path: Path
    tables: tuple[InspectedTable, ...] = ()
    source_entry: str = ""
    """A ``[[sources]]`` TOML entry to paste into a workflow; empty when the file cannot be read."""
    error: Optional[str] = None
    """Why the file cannot be read (missing, empty, damaged), or, for a file of no known format,
    the known formats and the closest one."""
    account_needed: bool = False
    """True when the file does not name its account: the entry's ``account`` is a placeholder."""
    suggestions: tuple[str, ...] = field(default_factory=tuple)
    """Hints for the entry (the account found in the post links ...)."""
    companion: Optional[str] = None
    """Set when the file comes in one download with a known export and is passed over, never
    read (YouTube Studio's `Chart data.csv` beside `Table data.csv`): what it is, and why."""

    @property
    def readable(self) -> bool:
        """True when the file was recognised and read."""
        return self.error is None and bool(self.tables)


class InspectsFiles:
    """A capability a file source adds to :class:`cmflow.Source`: saying what a file is.

    Subclass it beside ``Source`` and implement :meth:`inspect_file`; ``cmflow inspect FILE``
    then asks the source. It must never raise for a bad file: the answer's ``error`` says why.
    """

    inspect_order: ClassVar[int] = 100
    """Sources are asked in this order (lowest first); the first that recognises a file answers."""

    @classmethod
    def inspect_file(cls, path: Path) -> FileInspection:
        """What the file at ``path`` is, as this source reads it (see :class:`FileInspection`)."""
        raise NotImplementedError

    @classmethod
    def files_in(cls, folder: Path) -> list[Path]:
        """The files of ``folder`` this source reads when its path is the folder, each then
        inspected (``cmflow inspect FOLDER``); default: every file in it, by name."""
        return sorted(p for p in folder.iterdir() if p.is_file())

    @classmethod
    def source_entries(cls, answers: list[FileInspection]) -> list[str]:
        """The ``[[sources]]`` entries reading the files of ``answers`` (each recognised by this
        source) together: each file counted once. Default: each answer's entry."""
        return [answer.source_entry for answer in answers]
