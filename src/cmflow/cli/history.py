"""``cmflow history``"""

from __future__ import annotations

import click

from cmflow.cli.common import opened_store, rich_console, store_of


@click.command()
# readable=False: the workflow loader says why a file cannot be read, in its own words.
@click.argument("file", required=False, type=click.Path(path_type=str, readable=False))
@click.option("--workflow", "workflow_name", help="Only runs of this workflow (its id, by default its name).")
@click.option("-n", "--limit", default=20, show_default=True, type=click.IntRange(min=1), help="How many runs.")
@click.option("--store", "store_option", metavar="URL", help="State store URL.")
def history(file: str | None, workflow_name: str | None, limit: int, store_option: str | None) -> None:
    """Show recent runs from the state store, newest first.

    With a workflow FILE: that workflow's runs, from the store its [store] url names.
    """
    from rich.markup import escape
    from rich.table import Table

    from cmflow.store import display_url

    url, workflow_name = store_of(file, store_option, workflow_name)
    with opened_store(url, read_only=True) as store:
        runs = store.runs(workflow_name, limit)
        missed = store.missed_slots(workflow_name, limit)
    table = Table(header_style="bold")
    for column in ("Run", "Workflow", "Started (UTC)", "Slot (UTC)", "Period", "Status", "Measurements",
                   "Alerts", "Error"):
        table.add_column(column, overflow="fold")
    for run in runs:
        stats = run.stats or {}
        table.add_row(str(run.id), escape(run.workflow), run.started_at.strftime("%Y-%m-%d %H:%M:%S"),
                      run.slot.strftime("%Y-%m-%d %H:%M") if run.slot else (
                          "resend" if stats.get("resent") else "by hand"),
                      f"{run.period_start}..{run.period_end}", run.status_shown,
                      str(stats.get("measurements", "")), str(stats.get("alerts_firing", "")),
                      escape(run.error or ""))
    console = rich_console()
    console.print(f"Runs in {escape(display_url(url))}" + (f" of {escape(workflow_name)}" if workflow_name else ""))
    console.print(table if runs else "No run recorded yet.")
    if missed:
        skipped = Table(header_style="bold", title="Slots the daemon did not run", title_justify="left")
        for column in ("Workflow", "Slots (UTC)", "Count", "Why", "Recorded (UTC)"):
            skipped.add_column(column, overflow="fold")
        for group in missed:
            span = f"{group.first_slot:%Y-%m-%d %H:%M}" + (
                f" .. {group.last_slot:%Y-%m-%d %H:%M}" if group.last_slot != group.first_slot else "")
            skipped.add_row(escape(group.workflow), span, str(group.count), escape(group.reason),
                            f"{group.recorded_at:%Y-%m-%d %H:%M}")
        console.print(skipped)
