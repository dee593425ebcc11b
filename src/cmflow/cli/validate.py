"""``cmflow validate FILE...``"""

from __future__ import annotations

import sys

import click

from cmflow.foundation.errors import EXIT_INVALID, EXIT_OK, WorkflowInvalid
from cmflow.cli.common import print_problems
from cmflow.plugins.hookspecs import HOOK_OF_KIND


@click.command(epilog="Exit codes: 0 every file is valid; 2 at least one is not.")
# readable=False: the workflow loader says why a file cannot be read, in its own words.
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=str, readable=False))
@click.option("--no-cache", is_flag=True,
              help="Validate in full, remember nothing and forget what was (a valid file is otherwise remembered until it "
                   "or anything it depends on changes: see docs/cli.md).")
def validate(files: tuple[str, ...], no_cache: bool) -> None:
    """Check workflow files: syntax, plugins, options, references, environment variables.

    Every problem of every file is listed at once; nothing is fetched or delivered. A daemon
    settings file (cmflow-daemon.toml) is checked as one.
    """
    from cmflow.validation_cache import Recorder, forget, remember

    invalid = 0
    with Recorder() as recorded:  # one for all files: what the first reads once counts for the next
        for file in files:
            try:
                line, expires = _validated(file)
            except WorkflowInvalid as error:
                invalid += 1
                forget(file)
                print_problems(error, file)
                continue
            if no_cache:
                forget(file)
            else:
                remember(file, line, recorded, expires)
            click.secho(line, fg="green")
    sys.exit(EXIT_INVALID if invalid else EXIT_OK)


def _validated(file: str) -> tuple[str, float]:
    """What validate says of a valid ``file``, and until when that may be remembered (the next
    midnight in UTC and in the workflow's time zone: a period is checked against today)."""
    from cmflow.daemon.settings_file import is_daemon_settings

    if is_daemon_settings(file):
        from cmflow.daemon.settings import load_daemon_settings

        settings = load_daemon_settings(file)
        outputs = len(settings.health_workflow.outputs) if settings.health_workflow else 0
        return (f"✓ {file}: daemon settings ({outputs} health output{'s' if outputs != 1 else ''})",
                _next_midnight("UTC"))
    from cmflow.workflow import load_workflow

    workflow = load_workflow(file)
    counts = ", ".join(f"{len(workflow.entries(k))} {k}{'s' if len(workflow.entries(k)) != 1 else ''}"
                       for k in HOOK_OF_KIND if k != "classifier" or workflow.classifiers)
    return (f"✓ {file}: {workflow.name} ({counts})",
            min(_next_midnight("UTC"), _next_midnight(workflow.settings.timezone)))


def _next_midnight(timezone: str) -> float:
    from datetime import datetime, time, timedelta
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(timezone)
    tomorrow = _utc_now().astimezone(zone).date() + timedelta(days=1)
    return datetime.combine(tomorrow, time(0), tzinfo=zone).timestamp()


def _utc_now():  # a seam for the tests' clock
    from datetime import datetime, timezone

    return datetime.now(timezone.utc)
