"""``cmflow outbox``: the notifications waiting to be sent, and the dead-letter list."""

from __future__ import annotations

import click

from .common import opened_store, rich_console, store_url

STATUSES = ("pending", "dead", "delivered", "all")


@click.group(invoke_without_command=True)
@click.option("--status", type=click.Choice(STATUSES), default=None,
              help="Which messages to list. Default: pending and dead.")
@click.option("--workflow", "workflow_id", help="Only this workflow's messages (its id).")
@click.option("--store", "store_option", metavar="URL", help="State store URL.")
@click.pass_context
def outbox(ctx: click.Context, status: str | None, workflow_id: str | None, store_option: str | None) -> None:
    """List the notifications waiting to be sent and the dead-lettered ones.

    A message is queued with the run that produced it and marked delivered only when its
    receiver took it; temporary failures are retried at later runs (or with `cmflow outbox
    flush`) until the output's max_age, then dead-lettered.
    """
    if ctx.invoked_subcommand is not None:
        return
    from rich.markup import escape
    from rich.table import Table

    from ..store import display_url

    url = store_url(store_option, None)
    with opened_store(url, read_only=True) as store:
        if status is None:
            messages = [*store.outbox(status="pending", workflow=workflow_id),
                        *store.outbox(status="dead", workflow=workflow_id)]
        else:
            messages = store.outbox(status=None if status == "all" else status, workflow=workflow_id,
                                    limit=500)
    table = Table(header_style="bold")
    for column in ("Id", "Status", "Workflow", "Output", "Message", "Attempts", "Queued (UTC)", "Next / done (UTC)", "Last error"):
        table.add_column(column, overflow="fold")
    for message in messages:
        when = message.delivered_at if message.status == "delivered" else (
            message.next_attempt_at if message.status == "pending" else None)
        table.add_row(str(message.id), message.status, escape(message.workflow), escape(message.output_id),
                      escape(message.summary), str(message.attempts), f"{message.created_at:%Y-%m-%d %H:%M}",
                      f"{when:%Y-%m-%d %H:%M}" if when else "", escape(message.last_error or ""))
    console = rich_console()
    console.print(f"Outbox in {escape(display_url(url))}")
    console.print(table if messages else "Nothing waiting: every message was delivered.")


@outbox.command()
@click.argument("ids", nargs=-1, type=int)
@click.option("--all", "all_dead", is_flag=True, help="Every dead-lettered message.")
@click.option("--store", "store_option", metavar="URL", help="State store URL.")
def retry(ids: tuple[int, ...], all_dead: bool, store_option: str | None) -> None:
    """Put dead-lettered messages (IDS, or --all) back in the queue and try to send them now."""
    from datetime import datetime, timezone

    from ..outbox import dispatch, requeue_dead

    if not ids and not all_dead:
        raise click.UsageError("name the message ids to retry (see `cmflow outbox`), or --all")
    now = datetime.now(timezone.utc)
    with opened_store(store_url(store_option, None)) as store:
        # Each re-queued message gets its output's max_age of retries again.
        count = requeue_dead(store, None if all_dead else list(ids), now)
        click.echo(f"{count} message(s) back in the queue.")
        _report(dispatch(store, ids=None if all_dead else list(ids), only_workflow=False))


@outbox.command()
@click.option("--store", "store_option", metavar="URL", help="State store URL.")
def flush(store_option: str | None) -> None:
    """Send every message that is due now (the daemon does this on its own)."""
    from ..outbox import dispatch

    with opened_store(store_url(store_option, None)) as store:
        _report(dispatch(store, only_workflow=False))


def _report(report) -> None:
    from ..errors import EXIT_DELIVERY_FAILED

    click.echo(f"{len(report.delivered)} delivered, {len(report.retrying)} to retry later, "
               f"{len(report.dead)} dead-lettered.")
    for message, error, at in report.retrying:
        click.echo(f"  #{message.id} {message.summary}: {error} (next try {at:%Y-%m-%d %H:%M} UTC)", err=True)
    for message, error in report.dead:
        click.echo(f"  #{message.id} {message.summary}: {error}", err=True)
    if report.retrying or report.dead:
        raise SystemExit(EXIT_DELIVERY_FAILED)
