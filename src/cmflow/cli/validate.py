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
def validate(files: tuple[str, ...]) -> None:
    """Check workflow files: syntax, plugins, options, references, environment variables.

    Every problem of every file is listed at once; nothing is fetched or delivered. A daemon
    settings file (cmflow-daemon.toml) is checked as one.
    """
    from cmflow.daemon.settings_file import is_daemon_settings
    from cmflow.workflow import load_workflow

    invalid = 0
    for file in files:
        try:
            if is_daemon_settings(file):
                from cmflow.daemon.settings import load_daemon_settings

                settings = load_daemon_settings(file)
                outputs = len(settings.health_workflow.outputs) if settings.health_workflow else 0
                click.secho(f"✓ {file}: daemon settings ({outputs} health output{'s' if outputs != 1 else ''})",
                            fg="green")
                continue
            workflow = load_workflow(file)
        except WorkflowInvalid as error:
            invalid += 1
            print_problems(error, file)
            continue
        counts = ", ".join(f"{len(workflow.entries(k))} {k}{'s' if len(workflow.entries(k)) != 1 else ''}"
                           for k in HOOK_OF_KIND if k != "classifier" or workflow.classifiers)
        click.secho(f"✓ {file}: {workflow.name} ({counts})", fg="green")
    sys.exit(EXIT_INVALID if invalid else EXIT_OK)
