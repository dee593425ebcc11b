"""``cmflow silence``: mute some alerts' notifications until a time."""

from __future__ import annotations

import click

from cmflow.cli.common import opened_store, rich_console, store_url


@click.group(invoke_without_command=True)
@click.option("--store", "store_option", metavar="URL", help="State store URL.")
@click.pass_context
def silence(ctx: click.Context, store_option: str | None) -> None:
    """List silences (active and past); `cmflow silence add` creates one, `end` ends one early.

    A silenced alert still fires, resolves and shows in `cmflow alerts` and the reports; only
    its messages are held back. If it still fires when the silence ends, it is announced at the
    next run, once.
    """
    if ctx.invoked_subcommand is not None:
        return
    from datetime import datetime, timezone

    from rich.markup import escape
    from rich.table import Table

    now = datetime.now(timezone.utc)
    with opened_store(store_url(store_option, None), read_only=True) as store:
        silences = store.silences()
    table = Table(header_style="bold")
    for column in ("Id", "State", "Matches", "Workflow", "Until (UTC)", "Comment", "By"):
        table.add_column(column, overflow="fold")
    for item in silences:
        state = "active" if item.active(now) else ("ended" if item.ends_at <= now else "pending")
        table.add_row(item.id, state, escape(item.describe()), escape(item.workflow or "all"),
                      f"{item.ends_at:%Y-%m-%d %H:%M}", escape(item.comment), escape(item.created_by))
    rich_console().print(table if silences else "No silence.")


@silence.command()
@click.argument("matchers", nargs=-1, required=True)
@click.option("--for", "duration", metavar="DURATION", help='How long, e.g. "2h", "3d", "1w".')
@click.option("--until", "until", metavar="TIME", help="Until this UTC time: 2026-12-01 or 2026-12-01T18:00.")
@click.option("-c", "--comment", default="", help="Why (shown in `cmflow silence`).")
@click.option("--workflow", "workflow_id", help="Only this workflow's alerts (its id). Default: every workflow's.")
@click.option("--store", "store_option", metavar="URL", help="State store URL.")
def add(matchers: tuple[str, ...], duration: str | None, until: str | None, comment: str,
        workflow_id: str | None, store_option: str | None) -> None:
    """Mute alerts matching MATCHERS: a fingerprint (from `cmflow alerts`) or label=value pairs,
    all of which must match (rule, metric, severity, condition, account, platform ...; values may
    use * wildcards).

    \b
    Examples:
      cmflow silence add rule=err_drop account=maisonlumiere --for 3d -c "campaign pause"
      cmflow silence add 3f9c2a1b7d4e5f60 --until 2026-12-01
    """
    import getpass
    import uuid
    from datetime import datetime, timezone

    from cmflow.foundation.durations import parse_positive_duration
    from cmflow.foundation.errors import EXIT_INVALID
    from cmflow.foundation.silences import Silence, SilenceError, parse_matchers, parse_until

    now = datetime.now(timezone.utc)
    try:
        parsed = parse_matchers(list(matchers))
        if bool(duration) == bool(until):
            raise SilenceError("give either --for DURATION or --until TIME")
        if duration:
            ends = now + parse_positive_duration(duration)
        else:
            ends = parse_until(until)
        if ends <= now:
            raise SilenceError(f"the silence would end in the past ({ends:%Y-%m-%d %H:%M} UTC)")
    except ValueError as exc:  # SilenceError, a bad duration or time
        option = "" if isinstance(exc, SilenceError) else f"--for {duration}: " if duration else ""
        click.secho(f"✗ {option}{exc}", fg="red", err=True)
        raise SystemExit(EXIT_INVALID) from None
    item = Silence(uuid.uuid4().hex[:12], parsed, now, ends, comment, getpass.getuser(), now, workflow_id)
    with opened_store(store_url(store_option, None)) as store:
        store.add_silence(item)
    click.echo(f"Silence {item.id}: {item.describe()} until {ends:%Y-%m-%d %H:%M} UTC.")


@silence.command()
@click.argument("silence_id")
@click.option("--store", "store_option", metavar="URL", help="State store URL.")
def end(silence_id: str, store_option: str | None) -> None:
    """End the silence SILENCE_ID (or a unique start of it) now."""
    from datetime import datetime, timezone

    from cmflow.foundation.errors import EXIT_INVALID

    with opened_store(store_url(store_option, None)) as store:
        if not store.end_silence(silence_id, datetime.now(timezone.utc)):
            click.secho(f"✗ no silence (or more than one) has the id {silence_id!r}; see `cmflow silence`",
                        fg="red", err=True)
            raise SystemExit(EXIT_INVALID)
    click.echo(f"Silence {silence_id} ended.")
