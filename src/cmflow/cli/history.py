"""``cmflow history``"""

from __future__ import annotations

import click

from .common import store_url


@click.command()
@click.option("--workflow", "workflow_name", help="Only runs of this workflow (its name).")
@click.option("-n", "--limit", default=20, show_default=True, help="How many runs.")
@click.option("--store", "store_option", metavar="URL", help="State store URL.")
def history(workflow_name: str | None, limit: int, store_option: str | None) -> None:
    """Show recent runs from the state store, newest first."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from ..store import open_store

    with open_store(store_url(store_option, None)) as store:
        runs = store.runs(workflow_name, limit)
    table = Table(header_style="bold")
    for column in ("Run", "Workflow", "Started (UTC)", "Period", "Status", "Measurements", "Alerts", "Error"):
        table.add_column(column, overflow="fold")
    for run in runs:
        stats = run.stats or {}
        table.add_row(str(run.id), escape(run.workflow), run.started_at.strftime("%Y-%m-%d %H:%M:%S"),
                      f"{run.period_start}..{run.period_end}", run.status,
                      str(stats.get("measurements", "")), str(stats.get("alerts_firing", "")),
                      escape(run.error or ""))
    Console(highlight=False).print(table if runs else "No run recorded yet.")
