"""The ``cmflow`` command line. Commands stay thin: they call the library and print.

Subcommands are imported only when invoked, so ``cmflow --help`` loads no plugin and no
heavy library.

Exit codes: 0 ok; 1 the run failed (a source, metric or trigger failed); 2 invalid input
(workflow file, option, period, usage): nothing ran; 3 computed, but an output could not deliver;
4 another run of the same workflow is under way; 5 everything ran, but a ``where`` value matches
nothing ever seen.
"""

from __future__ import annotations

import importlib

import click

COMMANDS = {
    "run": ("cmflow.cli.run", "run", "Run a workflow once."),
    "resend": ("cmflow.cli.run", "resend", "Send a period's client reports again after a fix (send_once)."),
    "validate": ("cmflow.cli.validate", "validate", "Check workflow files without running them."),
    "doctor": ("cmflow.cli.doctor", "doctor", "Check each source's credentials: valid, scopes, expiry, rate budget."),
    "plugins": ("cmflow.cli.plugins", "plugins", "List installed plugins, or show one's options."),
    "init": ("cmflow.cli.init", "init", "Write a commented starter workflow."),
    "inspect": ("cmflow.cli.inspect", "inspect", "Say what export files are, and the [[sources]] entry reading them."),
    "classify": ("cmflow.cli.classify", "classify", "Label a CSV file's texts with sentiment and language."),
    "utm": ("cmflow.cli.utm", "utm", "Build UTM-tagged links for an address or a workflow's calendar."),
    "schema": ("cmflow.cli.schema", "schema", "Print the JSON Schema of workflow files."),
    "history": ("cmflow.cli.history", "history", "Show recent runs from the state store."),
    "alerts": ("cmflow.cli.alerts", "alerts", "Show firing and pending (and resolved) alerts from the state store."),
    "silence": ("cmflow.cli.silence", "silence", "Mute some alerts' notifications until a time; list silences."),
    "outbox": ("cmflow.cli.outbox", "outbox", "Show notifications waiting or dead-lettered; retry or flush them."),
    "daemon": ("cmflow.cli.daemon", "daemon", "Run every workflow in a folder on its schedule."),
    "status": ("cmflow.cli.status", "status", "Health of a daemon's workflows: last run, last data, next run."),
    "worker": ("cmflow.cli.worker", "worker", "Take runs from a daemon with executor = celery (a Celery worker)."),
}

EPILOG = """\b
Exit codes:
  0  ok
  1  the run failed (a source, metric or trigger failed)
  2  invalid input (workflow file, option, period, usage): nothing ran
  3  everything was computed but an output could not deliver
  4  another run of the same workflow is under way: nothing ran
  5  everything ran, but a where value matches nothing ever seen (a misspelling?)
"""


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, attribute, _ = COMMANDS[name]
        return getattr(importlib.import_module(module), attribute)

    def resolve_command(self, ctx: click.Context, args: list[str]):  # type: ignore[override]
        name = args[0] if args else ""
        if name and not name.startswith("-") and name not in COMMANDS:
            import difflib

            close = difflib.get_close_matches(name, list(COMMANDS), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            ctx.fail(f"No such command {name!r}.{hint} See `cmflow --help`.")
        return super().resolve_command(ctx, args)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, help_text) for name, (_, _, help_text) in COMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="cmflow")
def main() -> None:
    """cmflow: social-media KPIs, alerts and reports from workflow files.

    A workflow (TOML) chains sources -> metrics -> triggers -> outputs. Start with
    `cmflow init`, check with `cmflow validate`, run with `cmflow run`.
    """
