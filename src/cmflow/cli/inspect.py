"""``cmflow inspect FILE...``: what each export is, and the ``[[sources]]`` entry that reads it.

The command asks the file sources that can say what a file is (:class:`InspectsFiles`, the
``export`` source among them) and prints their answers; it reads no workflow and writes nothing.
"""

from __future__ import annotations

import re
from pathlib import Path

import click

from cmflow.foundation.errors import EXIT_INVALID, DataFileError
from cmflow.plugins.inspection import FileInspection, InspectedTable, InspectsFiles

CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
"""Characters a file's text could use to rewrite the terminal (escapes, bidirectional overrides)."""
SHOWN_PROBLEMS = 10


@click.command()
@click.argument("files", nargs=-1, required=True, metavar="FILE...", type=click.Path(path_type=Path))
def inspect(files: tuple[Path, ...]) -> None:
    """Say what each export FILE (or each file of a folder) is and how a workflow reads it.

    For each file: its format, the record kind its rows become, how many rows and records,
    the accounts and the date range, the columns read and those ignored, the problems found
    (rows left out, dates without a year ...); then the [[sources]] entries to paste into a
    workflow, one per format (a folder or a glob when several files are of one format). A
    file of no known format gets the known formats and the closest one.

    Exit code 2 when a file cannot be read or is of no known format.
    """
    from cmflow.plugins.registry import get_registry

    registry = get_registry()
    inspectors = sorted((info.cls for info in registry.of_kind("source") if issubclass(info.cls, InspectsFiles)),
                        key=lambda cls: (cls.inspect_order, cls.name))
    if not inspectors:
        click.secho("✗ no installed source can inspect files (the built-in export source is missing?)",
                    fg="red", err=True)
        raise SystemExit(EXIT_INVALID)
    answers: list[tuple[type, FileInspection]] = []
    for path in _files(inspectors[0], files):
        if answers:
            click.echo()
        cls, answer = _answer(inspectors, path) if isinstance(path, Path) else (inspectors[0], path)
        _print(answer)
        answers.append((cls, answer))
    entries = [entry for cls in inspectors
               for entry in cls.source_entries([a for c, a in answers if c is cls and a.readable])]
    if entries:
        click.echo()
        click.echo("Paste into a workflow (paths relative to the workflow file):")
        for entry in entries:
            click.echo()
            for line in entry.rstrip("\n").splitlines():
                click.echo(f"    {_shown(line)}")
    unreadable = sum(not answer.readable and answer.companion is None for _, answer in answers)
    if unreadable:
        click.secho(f"✗ {unreadable} of {len(answers)} file(s) cannot be read as an export", fg="red", err=True)
        raise SystemExit(EXIT_INVALID)


def _files(inspector: type, arguments: tuple[Path, ...]) -> list[Path | FileInspection]:
    """The files to inspect: each FILE, and the files of each folder as the first source reads a
    folder (an empty folder is answered with its error)."""
    files: list[Path | FileInspection] = []
    for path in arguments:
        if not path.is_dir():
            files.append(path)
            continue
        try:
            files += inspector.files_in(path)
        except DataFileError as exc:
            files.append(FileInspection(path, error=str(exc)))
    return files


def _answer(inspectors: list[type], path: Path) -> tuple[type, FileInspection]:
    """The first answer that recognises the file (and its source), else the first source's (its reason)."""
    answers = []
    for cls in inspectors:
        answer = cls.inspect_file(path)
        if answer.readable or answer.companion is not None:
            return cls, answer
        answers.append((cls, answer))
    return answers[0]


def _print(answer: FileInspection) -> None:
    path = _shown(str(answer.path))
    if answer.companion is not None:
        click.secho(f"– {path}", bold=True)
        click.echo(f"  {_shown(answer.companion)}")
        return
    if not answer.readable:
        click.secho(f"✗ {path}", fg="red", bold=True)
        for line in (answer.error or "not an export cmflow knows").splitlines():
            click.echo(f"  {_shown(line)}")
        return
    click.secho(f"✓ {path}", fg="green", bold=True)
    for table in answer.tables:
        _print_table(table)
    for suggestion in answer.suggestions:
        click.echo(f"  hint: {_shown(suggestion)}")


def _counted(kind: str, count: int) -> str:
    from cmflow.foundation.records import RECORD_KINDS

    known = RECORD_KINDS.get(kind)
    return known.counted(count) if known is not None else f"{kind}: {count}"


def _account_required(kind: str) -> bool:
    from cmflow.foundation.records import RECORD_KINDS

    known = RECORD_KINDS.get(kind)
    return known is None or ("account" in known.field_names and known.field("account").required)


def _print_table(table: InspectedTable) -> None:
    where = f', sheet "{_shown(table.sheet)}"' if table.sheet and f"sheet {table.sheet}" not in table.title else ""
    click.echo(f"  {_shown(table.title)}{where}  [{table.format}]")
    header = "line" if table.sheet is None else "row"
    click.echo(f"    records:  {_counted(table.record, table.records)} from {table.rows} row(s) "
               f"(header on {header} {table.header_row})")
    if _account_required(table.record) or table.accounts:  # time entries belong to no account
        accounts = ", ".join(_shown(a) for a in table.accounts) if table.accounts else \
            "not named in the file (set account = \"...\")"
        click.echo(f"    accounts: {accounts}")
    dates = f"{table.first} to {table.last}" if table.first else "none (no record)"
    click.echo(f"    dates:    {dates}")
    click.echo(f"    reads:    {_names(table.used_columns)}")
    click.echo(f"    ignores:  {_names(table.ignored_columns) or '(nothing)'}")
    if table.sum_columns:
        click.echo(f"    sums:     {_names(table.sum_columns)}")
        click.echo("              (each the sum of other columns, not read: adding it would count them twice)")
    if not table.problems:
        click.echo("    problems: none")
    else:
        click.echo(f"    problems: {len(table.problems)}")
        for problem in table.problems[:SHOWN_PROBLEMS]:
            click.echo(f"      - {_shown(problem)}")
        if len(table.problems) > SHOWN_PROBLEMS:
            click.echo(f"      ... and {len(table.problems) - SHOWN_PROBLEMS} more")
    if table.notes:
        click.echo(f"    traps:    {_shown(table.notes)}")


def _names(columns: tuple[str, ...]) -> str:
    """Column names, comma-separated; a name holding a comma or a quote in quotes, as in CSV."""
    return ", ".join('"' + name.replace('"', '""') + '"' if ("," in name or '"' in name) else name
                     for name in map(_shown, columns))


def _shown(text: str) -> str:
    """Text from a file, safe to print: control characters shown as \\x.. escapes."""
    return CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
