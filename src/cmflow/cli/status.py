"""``cmflow status``"""

from __future__ import annotations

import click

STATE_STYLES = {"ok": "green", "quiet": "cyan", "failing": "red", "stale": "red", "overdue": "yellow",
                "running": "blue", "waiting": "", "manual": "dim", "invalid": "red"}
DAEMON_SILENT_AFTER_SECONDS = 120
"""A daemon whose last heartbeat is older than this (it beats every 30 s) is not responding."""


@click.command()
@click.argument("directory", required=False, type=click.Path(exists=True, file_okay=False, path_type=str))
@click.option("--store", "store_option", metavar="URL", help="State store URL.")
@click.option("--config", "config_file", type=click.Path(exists=True, dir_okay=False), metavar="FILE",
              help="The daemon's settings file, when it is not DIR/cmflow-daemon.toml.")
def status(directory: str | None, store_option: str | None, config_file: str | None) -> None:
    """Health of each workflow a daemon runs: last run, last success, last data, next run.

    DIR is the daemon's folder (default: the folder of the daemon last seen in the store).
    With several daemons on the store: which one schedules, which stand by.
    States: ok; quiet (the sources answer but bring no record: not broken); failing; stale
    (no successful run for stale_after schedule intervals); overdue (a slot was not run: is
    the daemon running?); running (a run under way); waiting (never run); manual (no schedule);
    invalid.
    """
    import sys
    from datetime import datetime, timedelta, timezone
    from pathlib import Path

    from rich.markup import escape
    from rich.table import Table

    from cmflow.daemon.catalog import WorkflowCatalog
    from cmflow.daemon.health import assess_in_store
    from cmflow.daemon.leadership import SCHEDULING_LEASE, daemon_roles
    from cmflow.daemon.settings import HEALTH_WORKFLOW_ID, load_daemon_settings
    from cmflow.daemon.settings_file import SETTINGS_FILE_NAME
    from cmflow.foundation.errors import EXIT_INVALID, WorkflowInvalid
    from cmflow.store import display_url
    from cmflow.cli.common import opened_store, rich_console, store_url

    def settings_of(folder: Path):
        file = Path(config_file) if config_file else folder / SETTINGS_FILE_NAME
        try:
            return load_daemon_settings(file if file.is_file() else None)
        except WorkflowInvalid as error:
            from cmflow.cli.common import print_problems

            print_problems(error, str(file))
            sys.exit(EXIT_INVALID)

    console = rich_console()
    settings = settings_of(Path(directory or ".")) if directory is not None or config_file else None
    url = store_url(store_option, settings.daemon.store if settings else None)
    now = datetime.now(timezone.utc)
    with opened_store(url, read_only=True) as store:
        daemons = store.daemons()
        lease = store.lease(SCHEDULING_LEASE)
        if directory is None:
            if not daemons:
                click.echo(f"No daemon has run against {display_url(url)} yet; give its folder: "
                           "cmflow status DIR", err=True)
                sys.exit(EXIT_INVALID)
            directory = daemons[0].directory
            settings = settings or settings_of(Path(directory))
        folder = Path(directory).resolve()
        health_options = settings.health
        catalog = WorkflowCatalog.for_daemon(folder, url, settings.daemon)
        catalog.refresh()
        handled = store.last_handled_slots([sw.key for sw in catalog.workflows])
        reports = [assess_in_store(sw, store, now, health_options, handled[sw.key]) for sw in catalog.workflows]
        firing = [a for a in store.alerts(HEALTH_WORKFLOW_ID) if a.state == "firing"]

    def elsewhere(daemon) -> str:
        return "" if Path(daemon.directory) == folder else f", watching {escape(daemon.directory)}"

    # Several daemons may share the store (on other machines, the folder at another path): the
    # one holding the scheduling lease comes first, then those standing by.
    roles = daemon_roles(daemons, lease, now, timedelta(seconds=DAEMON_SILENT_AFTER_SECONDS))
    running = sorted((r for r in roles if r.role in ("schedules", "stands by")),
                     key=lambda r: r.role != "schedules")
    mine = [r for r in roles if Path(r.daemon.directory) == folder]
    if running or mine:
        latest = (running or mine)[0].daemon
        age = (now - latest.heartbeat_at).total_seconds()
        if latest.stopped_at is not None:
            line = f"[dim]not running: stopped {latest.stopped_at:%Y-%m-%d %H:%M} UTC[/dim]"
        elif age > DAEMON_SILENT_AFTER_SECONDS and latest.id != (lease.holder if lease else None):
            line = (f"[red]not responding: last heartbeat {latest.heartbeat_at:%Y-%m-%d %H:%M:%S} UTC "
                    f"(process {latest.pid} on {escape(latest.host)})[/red]")
        else:
            line = (f"[green]running[/green] (process {latest.pid} on {escape(latest.host)}, since "
                    f"{latest.started_at:%Y-%m-%d %H:%M} UTC, heartbeat {age:.0f} s ago{elsewhere(latest)})")
            line += "; [green]schedules[/green]" if running[0].role == "schedules" else \
                "; [yellow]stands by[/yellow]: no daemon holds the scheduling lease now (one takes it within seconds)"
    else:
        line = "[dim]no daemon has run this folder against this store[/dim]"
    console.print(f"Daemon for {escape(str(folder))}: {line}")
    if running and running[0].role == "schedules" and lease is not None:
        console.print(f"  scheduling lease renewed {lease.renewed_at:%H:%M:%S} UTC, "
                      f"until {lease.expires_at:%H:%M:%S} UTC")
    for other in running[1:]:
        standby = other.daemon
        console.print(f"  [yellow]stands by[/yellow]: process {standby.pid} on {escape(standby.host)} (since "
                      f"{standby.started_at:%Y-%m-%d %H:%M} UTC, heartbeat "
                      f"{(now - standby.heartbeat_at).total_seconds():.0f} s ago{elsewhere(standby)}): "
                      "takes over if the scheduler stops")
    console.print(f"State in {escape(display_url(url))}")

    table = Table(header_style="bold")
    for column in ("Workflow", "State", "Schedule", "Last run (UTC)", "Last success", "Last data",
                   "Next run", "Detail"):
        table.add_column(column, overflow="fold")
    when = lambda t: t.strftime("%Y-%m-%d %H:%M") if t else "—"  # noqa: E731
    for report in reports:
        last = report.last_run
        last_text = f"{when(last.slot or last.started_at)} {last.status}" if last else "—"
        style = STATE_STYLES.get(report.state, "")
        state = f"[{style}]{report.state}[/{style}]" if style else report.state
        table.add_row(escape(report.name), state, escape(report.schedule or "—"), last_text,
                      when(report.last_success), when(report.last_data), when(report.next_slot),
                      escape(report.detail))
    for path, problems in sorted(catalog.problems.items()):
        table.add_row(escape(path.name), "[red]invalid[/red]", "", "", "", "", "",
                      escape((f"{problems[0].path}: " if problems[0].path else "") + problems[0].message + (
                          f" (+{len(problems) - 1} more)" if len(problems) > 1 else "")))
    console.print(table if (reports or catalog.problems) else "No workflow file in this folder.")
    for alert in firing:
        console.print(f"[red]health alert[/red] {escape(alert.summary)}")
