"""``cmflow outbox``: the notifications waiting to be sent, and the dead-letter list."""

from __future__ import annotations

import click

from cmflow.foundation.stopping import stop_on_signals
from cmflow.cli.common import opened_store, rich_console, store_url

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

    from cmflow.store import display_url

    url = store_url(store_option, None)
    with opened_store(url, read_only=True) as store:
        if status is None:
            messages = [*store.outbox(status="pending", workflow=workflow_id),
                        *store.outbox(status="dead", workflow=workflow_id)]
        else:
            messages = store.outbox(status=None if status == "all" else status, workflow=workflow_id,
                                    limit=500)
    table = Table(header_style="bold")
    for column in ("Id", "Status", "Workflow", "Output", "Message", "Attempts", "Queued (UTC)",
                   "Next / done (UTC)", "Being sent by", "Last error"):
        table.add_column(column, overflow="fold")
    for message in messages:
        when = message.delivered_at if message.status == "delivered" else (
            message.next_attempt_at if message.status == "pending" else None)
        table.add_row(str(message.id), message.status, escape(message.workflow), escape(message.output_id),
                      escape(message.summary), str(message.attempts), f"{message.created_at:%Y-%m-%d %H:%M}",
                      f"{when:%Y-%m-%d %H:%M}" if when else "", escape(claim_text(message)),
                      escape(message.last_error or ""))
    console = rich_console()
    console.print(f"Outbox in {escape(display_url(url))}")
    console.print(table if messages else "Nothing waiting: every message was delivered.")


def claim_text(message) -> str:
    """Who holds a message being sent: its process, host, since when and until when (UTC)."""
    claim = message.claim
    if claim is None or message.status != "pending":
        return ""
    who = f"process {claim.pid} on {claim.host}" if claim.pid is not None else "an older cmflow"
    since = f" since {claim.since:%H:%M:%S}" if claim.since else ""
    text = f"{who}{since}, claim until {claim.until:%H:%M:%S}"
    return text if claim.live else f"{text} (sender gone or claim expired: free to send)"


@outbox.command()
@click.argument("ids", nargs=-1, type=int)
@click.option("--all", "all_dead", is_flag=True, help="Every dead-lettered message.")
@click.option("--store", "store_option", metavar="URL", help="State store URL.")
def retry(ids: tuple[int, ...], all_dead: bool, store_option: str | None) -> None:
    """Put dead-lettered messages (IDS, or --all) back in the queue and try to send them now."""
    from datetime import datetime, timezone

    from cmflow.daemon.settings import outputs_workflow_of
    from cmflow.delivery.outbox import backlog, dispatch, requeue_dead
    from cmflow.store import display_url

    if not ids and not all_dead:
        raise click.UsageError("name the message ids to retry (see `cmflow outbox`), or --all")
    now = datetime.now(timezone.utc)
    url = store_url(store_option, None)
    requested = set(ids)
    with opened_store(url) as store:
        if ids and not all_dead:
            dead = {m.id for m in store.outbox(status="dead", limit=1_000_000)}
            ids = tuple(dict.fromkeys(i for i in ids if i in dead))  # only dead ones are retried
            unknown = sorted(requested - dead)
            if unknown:
                listed = ", ".join(f"#{i}" for i in unknown)
                click.echo(f"✗ no dead-lettered message {listed} in {display_url(url)}: `cmflow outbox` lists "
                           "the dead-lettered ones (a pending message is sent by `cmflow outbox flush`).", err=True)
            if not ids:
                from cmflow.foundation.errors import EXIT_INVALID

                raise SystemExit(EXIT_INVALID)
        # Each re-queued message gets its output's max_age of retries again.
        count = requeue_dead(store, None if all_dead else list(ids), now, load=outputs_workflow_of)
        click.echo(f"{count} message(s) back in the queue.")
        with stop_on_signals() as stop:
            report = dispatch(store, ids=None if all_dead else list(ids), only_workflow=False, stop=stop.is_set,
                              load=outputs_workflow_of)
        _report(report, backlog(store), stop)


@outbox.command()
@click.option("--now", "send_now", is_flag=True,
              help="Also send the messages waiting for a later try, at once (the receiver is back).")
@click.option("--store", "store_option", metavar="URL", help="State store URL.")
def flush(send_now: bool, store_option: str | None) -> None:
    """Send every message that is due now (the daemon does this on its own).

    Exits 3 when a message is left waiting (not due yet, to be retried, or being sent by
    another process) or was dead-lettered now, saying how many wait and when the next is due.
    """
    from datetime import datetime, timezone

    from cmflow.daemon.settings import outputs_workflow_of
    from cmflow.delivery.outbox import backlog, dispatch

    with opened_store(store_url(store_option, None)) as store:
        if send_now:
            store.make_due(now=datetime.now(timezone.utc))
        with stop_on_signals() as stop:
            report = dispatch(store, only_workflow=False, stop=stop.is_set, load=outputs_workflow_of)
        _report(report, backlog(store), stop)


def _report(report, left, stop) -> None:
    """What a dispatch did, what is still waiting; exit 3 when anything is left undelivered, 143
    (130) when SIGTERM (Ctrl-C) stopped it."""
    from datetime import datetime, timezone

    from cmflow.foundation.errors import EXIT_DELIVERY_FAILED
    from cmflow.http.errors import format_duration

    click.echo(f"{len(report.delivered)} delivered, {len(report.retrying)} to retry later, "
               f"{len(report.dead)} dead-lettered.")
    for message, error, at in report.retrying:
        click.echo(f"  #{message.id} {message.summary}: {error} (next try {at:%Y-%m-%d %H:%M} UTC)", err=True)
    for message, error in report.dead:
        click.echo(f"  #{message.id} {message.summary}: {error}", err=True)
    if left.waiting:
        now = datetime.now(timezone.utc)
        due = left.next_due
        when = "now" if due <= now else f"at {due:%Y-%m-%d %H:%M} UTC (in {format_duration((due - now).total_seconds())})"
        line = f"{len(left.waiting)} message(s) still waiting in the outbox; the next is due {when}"
        if busy := left.being_sent:
            senders = sorted({f"process {m.claim.pid} on {m.claim.host}" for m in busy})
            line += f"; {len(busy)} being sent now by {', '.join(senders)}"
        click.echo(line + ". `cmflow outbox` lists them.", err=True)
    if left.dead and not report.dead:
        click.echo(f"{left.dead} dead-lettered message(s) wait for `cmflow outbox retry`.", err=True)
    if stop.is_set():
        click.echo(f"{stop.reason}: the messages being sent were finished and recorded; no other was "
                   "started.", err=True)
        raise SystemExit(stop.exit_code)
    if left.waiting or report.retrying or report.dead:
        raise SystemExit(EXIT_DELIVERY_FAILED)
