"""``cmflow doctor FILE``"""

from __future__ import annotations

import sys
from datetime import datetime, timezone

import click

from cmflow.foundation.errors import EXIT_INVALID, EXIT_OK, EXIT_RUN_FAILED, WorkflowInvalid
from cmflow.cli.common import print_problems, rich_console

EPILOG = """\b
Exit codes:
  0  every source is ok (or only warns)
  1  at least one source will fail
  2  invalid workflow: nothing was checked
"""
STATUS_STYLE = {"ok": "green", "warning": "yellow", "fail": "bold red"}
STATUS_MARK = {"ok": "✓ ok", "warning": "! warning", "fail": "✗ fail"}


@click.command(epilog=EPILOG)
# readable=False: the workflow loader says why a file cannot be read, in its own words.
@click.argument("file", type=click.Path(path_type=str, readable=False))
def doctor(file: str) -> None:
    """Check every source's credentials: valid, scopes, expiry, rate budget left.

    Each source makes a few cheap requests (no records are fetched, nothing is written) and
    says what will fail at the next run, and what to do about it. Secrets are never shown.
    """
    from cmflow.doctor import check_workflow, exit_status
    from cmflow.workflow import load_workflow

    try:
        workflow = load_workflow(file)
    except WorkflowInvalid as error:
        print_problems(error, file)
        sys.exit(EXIT_INVALID)
    rows = check_workflow(workflow)
    _print_table(rows, workflow.name)
    sys.exit(EXIT_RUN_FAILED if exit_status(rows) == "fail" else EXIT_OK)


def _print_table(rows, name: str) -> None:
    from rich.markup import escape
    from rich.table import Table

    from cmflow.http import redact

    table = Table(header_style="bold", title=f"Credentials of {escape(name)}", title_justify="left")
    for column in ("Source", "Plugin", "Account", "Status", "Expires", "Scopes", "Budget", "What to do"):
        table.add_column(column, overflow="fold")
    now = datetime.now(timezone.utc)
    for row in rows:
        table.add_row(escape(row.source), escape(row.plugin), escape(redact(row.account)),
                      f"[{STATUS_STYLE[row.status]}]{STATUS_MARK[row.status]}[/]",
                      escape(_expires(row, now)), _scopes(row), escape(redact(row.budget) or "—"),
                      escape(redact(row.message) or ("nothing to do" if row.status == "ok" else "")))
    console = rich_console()
    console.print(table if rows else "The workflow has no sources.")
    counts = {status: sum(1 for row in rows if row.status == status) for status in STATUS_MARK}
    console.print(f"{counts['ok']} ok, {counts['warning']} warning{'s' if counts['warning'] != 1 else ''}, "
                  f"{counts['fail']} failing")


def _expires(row, now: datetime) -> str:
    if row.expires_at is None:
        return row.expiry_note or "unknown"
    left = (row.expires_at - now).total_seconds()
    when = f"{row.expires_at:%Y-%m-%d %H:%M} UTC"
    if left <= 0:
        return f"{when} (expired)"
    from cmflow.plugins.credentials import format_left

    return f"{when} (in {format_left(left)})"


def _scopes(row) -> str:
    from rich.markup import escape

    from cmflow.plugins.credentials import short_scope as short

    missing = [short(s) for s in row.scopes_missing]
    granted = [short(s) for s in row.scopes_granted if s not in row.scopes_missing]
    parts = [escape(", ".join(granted))] if granted else []
    if missing:
        parts.append(f"[red]missing: {escape(', '.join(missing))}[/]")
    return "\n".join(parts) or "—"
