"""What ``cmflow inspect`` says of one file, as the ``export`` source reads it: its known format(s),
what the rows become, the columns read and ignored, the problems the reading finds, and the
``[[sources]]`` entry that reads it. Never raises for a bad file: the answer says why."""

from __future__ import annotations

import glob
import json
import logging
import os
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Optional

from cmflow import RECORD_KINDS, DataFileError, FetchContext, FileInspection, InspectedTable

from cmflow.builtin.sources.export_detection import IdentifiedTable, UnknownExport, identify
from cmflow.builtin.sources.export_formats import ExportFormat, format_named

PLACEHOLDER_ACCOUNT = "..."
"""The account the records of a file that does not name it are read under, and the entry's value."""
YEARLESS_DIRECTIVES = ("%B %d", "%d %B", "%b %d", "%d %b")
SKIP_SUMMARY = 'skipped (on_error = "skip")'
"""The end of the run's warning counting the bad rows left out: not shown, inspect reads with
on_error = "skip" by itself and lists each row."""


def inspect_export(path: Path, read_table: Callable[..., Any], options_of: Callable[..., Any], *,
                   now: Optional[datetime] = None) -> FileInspection:
    """What the file at ``path`` is, read as the export source reads it: each table by
    ``read_table(path, table, options, ctx)`` with the options ``options_of(path=, account=,
    on_error="skip")`` (so that every bad row is listed; the export source hands both, this module
    imports nothing of it), dates without a year placed by ``now`` (default: now)."""
    now = now or datetime.now(timezone.utc)
    if path.is_dir():
        return FileInspection(path, error=f"{path} is a folder: inspect the files in it "
                                          f"(cmflow inspect {path}/*)")
    if not path.exists():
        return FileInspection(path, error=f"{path}: file not found; check the name and the folder")
    try:
        identified = identify(path)
    except UnknownExport as exc:  # one line in a run's summary; here, one part a line
        return FileInspection(path, error="\n".join(str(exc).split("; ")))
    except DataFileError as exc:  # missing, empty, damaged
        return FileInspection(path, error=str(exc))
    if identified.companion is not None:
        return FileInspection(path, companion=identified.companion.note(path.name))
    account_needed = not all(t.names_account for t in identified.tables)
    options = options_of(path=str(path), account=PLACEHOLDER_ACCOUNT if account_needed else None,
                         on_error="skip")
    tables = []
    for table in identified.tables:
        ctx = FetchContext(now - timedelta(days=3650), now, [], path.parent, logging.getLogger("cmflow.inspect"),
                           as_of=now)  # dates without a year: on or before today, as a run's as-of day
        try:
            read = read_table(path, table, options, ctx)
        except DataFileError as exc:  # a problem no row can be skipped for (day and month swapped ...)
            return FileInspection(path, error=str(exc))
        tables.append(_inspected(path, table, read.frame, read.not_records, read.rows, ctx))
    return FileInspection(path, tuple(tables), source_entry(path, identified.tables[0].format, account_needed),
                          account_needed=account_needed)


def _inspected(path: Path, table: IdentifiedTable, frame, not_records: int, rows: int, ctx: FetchContext
               ) -> InspectedTable:
    known = table.format
    kind = RECORD_KINDS[known.record]
    mapped = known.mapped_columns()
    used = tuple(name for name in table.header if name in mapped)
    ignored = table.unread_columns
    times = frame[kind.time_field].drop_nulls() if frame.height else None
    first = _day(times.min()) if times is not None and len(times) else None
    last = _day(times.max()) if times is not None and len(times) else None
    named = table.names_account and "account" in frame.columns  # traffic has no accounts
    accounts = tuple(sorted(frame["account"].drop_nulls().unique())) if named else ()
    problems = []
    if not_records:
        marks = ", ".join(f'"{value}" in "{column}"' for column, values in known.not_records.items()
                          for value in values)
        if known.reader == "traffic":
            marks += ", or its dimensions empty"
        problems.append(f"{not_records} row(s) are not records ({marks}: the sum of the others), left out")
    if any(f in YEARLESS_DIRECTIVES for f in (*known.date_format, *known.datetime_format)) and first:
        problems.append(f"dates have no year: read as {first} to {last}, the latest years that put them on or "
                        "before today, in the rows' order; in a run, on or before today, or 31 days after its as-of day "
                        "or its period's last day if that comes first; set default_year = ... if the file is older")
    sums = tuple(column for column in known.sums if column in table.header)
    # the run's "N bad row(s) skipped (on_error = "skip")" is inspect's own setting: each row is listed
    problems += [p for p in ctx.problems if SKIP_SUMMARY not in p] + ctx.skipped
    from cmflow.builtin.sources.table_ranges import range_unknown_note, table_range

    if known.counters_over_range and frame.height and table_range(path) is None:
        problems.append(range_unknown_note(path.name, known.title))
    return InspectedTable(format=known.name, title=known.title, record=known.record, sheet=table.sheet,
                          header_row=table.header_row, rows=rows if table.rows is None else table.rows, records=frame.height,
                          accounts=accounts, first=first, last=last, used_columns=used,
                          ignored_columns=ignored, problems=tuple(problems), notes=known.notes,
                          sum_columns=sums)


def source_entry(path: Path | str, known: ExportFormat, account_needed: bool, entry_id: Optional[str] = None,
                 comment: str = "") -> str:
    """The ``[[sources]]`` TOML entry reading ``path`` (a file, a folder or a glob)."""
    lines = ["[[sources]]", f"id = {_toml(entry_id or known.platform)}", 'plugin = "export"',
             f"path = {_toml(str(path))}" + (f"  # {comment}" if comment else "")]
    if account_needed:
        lines.append(f"account = {_toml(PLACEHOLDER_ACCOUNT)}  # the file does not name its account: "
                     "write its handle")
    return "\n".join(lines) + "\n"


def source_entries(answers: list[FileInspection], files_of: Callable[[str, Path], list[Path]]) -> list[str]:
    """The entries reading the recognised files of ``answers`` together, each file once: one per
    format (and folder), whose path is the folder when the group is every file the source reads
    in it (``files_of(folder, base)``, the export source's rule), else a glob matching the group's
    files and no other; one per file when no glob does. Ids are the platforms, or the format's
    name where two entries would share one (two sources with one id are refused)."""
    groups: dict[tuple[Path, tuple[str, ...], bool], list[Path]] = {}
    for answer in answers:
        if answer.readable:
            key = (answer.path.parent, tuple(t.format for t in answer.tables), answer.account_needed)
            groups.setdefault(key, []).append(answer.path)
    planned: list[tuple[str, ExportFormat, bool, str]] = []
    for (folder, formats, account_needed), paths in groups.items():
        known = format_named(formats[0])
        covering = _covering_path(folder, paths, files_of)
        if covering is not None:
            comment = f"{len(paths)} files: " + ", ".join(p.name for p in paths) if len(paths) > 1 else ""
            planned.append((covering, known, account_needed, comment))
        else:
            planned += [(str(path), known, account_needed, "") for path in paths]
    platforms = Counter(known.platform for _, known, _, _ in planned)
    seen: Counter[str] = Counter()
    entries = []
    for path, known, account_needed, comment in planned:
        entry_id = known.platform if platforms[known.platform] == 1 else known.name
        seen[entry_id] += 1
        if seen[entry_id] > 1:
            entry_id = f"{entry_id}_{seen[entry_id]}"
        entries.append(source_entry(path, known, account_needed, entry_id, comment))
    return entries


def _covering_path(folder: Path, paths: list[Path], files_of: Callable[[str, Path], list[Path]]) -> Optional[str]:
    """A path reading exactly ``paths`` (files of ``folder``): the file, the folder or a glob."""
    if len(paths) == 1:
        return str(paths[0])
    wanted = {p.resolve() for p in paths}

    def reads_exactly(value: str) -> bool:
        try:
            return {p.resolve() for p in files_of(value, Path("."))} == wanted
        except DataFileError:
            return False

    if reads_exactly(str(folder)):
        return str(folder) + "/" if str(folder) != "." else "."
    names = [p.name for p in paths]
    prefix = os.path.commonprefix(names)
    suffix = os.path.commonprefix([n[::-1] for n in names])[::-1][:min(map(len, names)) - len(prefix)]
    pattern = str(folder / (glob.escape(prefix) + "*" + glob.escape(suffix)))
    return pattern if reads_exactly(pattern) else None


def _toml(value: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(value, ensure_ascii=False)


def _day(value) -> Optional[date]:
    return value.date() if isinstance(value, datetime) else value
