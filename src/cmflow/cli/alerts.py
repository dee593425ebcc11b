"""``cmflow alerts``"""

from __future__ import annotations

import click

from cmflow.cli.common import opened_store, rich_console, store_of


@click.command()
@click.argument("file", required=False, type=click.Path(path_type=str))
@click.option("--workflow", "workflow_id", help="Only alerts of this workflow (its id, by default its name).")
@click.option("--all", "show_all", is_flag=True, help="Resolved alerts too, not only firing and pending ones.")
@click.option("--store", "store_option", metavar="URL", help="State store URL.")
def alerts(file: str | None, workflow_id: str | None, show_all: bool, store_option: str | None) -> None:
    """Show the alerts firing and pending now (with --all, resolved ones too), from the state store.

    With a workflow FILE: that workflow's alerts, from the store its [store] url names.
    """
    from rich.markup import escape
    from rich.table import Table

    from cmflow.store import display_url

    url, workflow_id = store_of(file, store_option, workflow_id)
    with opened_store(url, read_only=True) as store:
        states = [a for a in store.alerts(workflow_id)
                  if a.state in ("firing", "pending") or (show_all and a.state == "resolved")]
    table = Table(header_style="bold")
    for column in ("State", "Severity", "Workflow", "Rule", "Summary", "Since (UTC)", "Last seen (UTC)",
                   "Fingerprint"):
        table.add_column(column, overflow="fold")
    for alert in states:
        since = alert.resolved_at if alert.state == "resolved" else (alert.active_since or alert.first_seen)
        state = f"pending ({alert.streak} run{'s' if alert.streak != 1 else ''})" if alert.state == "pending" else alert.state
        if alert.condition != "value":
            state += f" · {alert.condition.replace('_', ' ')}"
        table.add_row(state, alert.severity, escape(alert.workflow), escape(alert.rule),
                      escape(alert.summary), since.strftime("%Y-%m-%d %H:%M") if since else "",
                      alert.last_seen.strftime("%Y-%m-%d %H:%M"), alert.fingerprint)
    console = rich_console()
    scope = f" of {escape(workflow_id)}" if workflow_id else ""
    console.print(f"{'Alerts' if show_all else 'Firing and pending alerts'}{scope} in {escape(display_url(url))}")
    console.print(table if states else ("No alert recorded." if show_all else "No alert firing or pending."))
