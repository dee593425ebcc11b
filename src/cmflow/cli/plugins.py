"""``cmflow plugins`` and ``cmflow plugins show NAME``"""

from __future__ import annotations

import json
import sys

import click

from cmflow.foundation.errors import EXIT_INVALID
from cmflow.cli.common import rich_console
from cmflow.plugins.hookspecs import HOOK_OF_KIND


@click.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def plugins(ctx: click.Context, as_json: bool) -> None:
    """List installed plugins: kind, name, package, version, module and description.

    Plugins that failed to load are listed too, with the reason; the others still work.
    """
    if ctx.invoked_subcommand is not None:
        return
    from cmflow.plugins.registry import get_registry

    registry = get_registry()
    registry.load_all()  # before reading its problems
    if as_json:
        click.echo(json.dumps({
            "plugins": [{"kind": i.kind, "name": i.name, "package": i.package, "version": i.version,
                         "module": i.cls.__module__, "description": i.description} for i in registry],
            "problems": [{"source": p.source, "package": p.package, "version": p.version,
                          "message": p.message} for p in registry.problems],
        }, indent=2))
        return
    from rich.markup import escape
    from rich.table import Table

    table = Table(header_style="bold")
    for column in ("Kind", "Name", "Package", "Version", "Module", "Description"):
        # Names and modules are read whole (and copied): the description wraps instead.
        table.add_column(column, overflow="fold", no_wrap=column in ("Kind", "Name", "Module"))
    for info in registry:
        table.add_row(info.kind, info.name, escape(info.package), escape(info.version), escape(info.cls.__module__),
                      escape(info.description))
    console = rich_console()
    console.print(table)
    if registry.problems:
        console.print(f"[red]{len(registry.problems)} plugin module(s) could not be loaded:[/red]")
        for problem in registry.problems:
            console.print(f"  [red]✗[/red] {escape(problem.source)} ({escape(problem.package)} "
                          f"{escape(problem.version)}): {escape(problem.message)}")
    console.print("Details of one plugin: cmflow plugins show NAME")


@plugins.command()
@click.argument("name")
@click.option("--kind", type=click.Choice(list(HOOK_OF_KIND)),
              help="When several kinds share the name.")
@click.option("--json", "as_json", is_flag=True, help="The options as JSON Schema.")
def show(name: str, kind: str | None, as_json: bool) -> None:
    """Show a plugin's options (type, default, description, example) and a sample TOML block."""
    from cmflow.plugins.docs import plugin_option_docs, sample_toml
    from cmflow.foundation.names import closest
    from cmflow.plugins.registry import get_registry

    registry = get_registry()
    found = [i for i in registry.find(name) if kind is None or i.kind == kind]
    if not found:
        suggestion = closest(name, {i.name for i in registry})
        click.secho(f"✗ no plugin named {name!r}" + (f"; did you mean {suggestion!r}?" if suggestion
                                                      else "; `cmflow plugins` lists them"),
                    fg="red", err=True)
        sys.exit(EXIT_INVALID)
    if len(found) > 1:
        click.secho(f"✗ {name!r} names plugins of several kinds ({', '.join(i.kind for i in found)}); add --kind",
                    fg="red", err=True)
        sys.exit(EXIT_INVALID)
    info = found[0]
    if as_json:
        from cmflow.workflow_schema import json_schema_bounds

        click.echo(json.dumps(json_schema_bounds(info.cls.Options.model_json_schema()), indent=2))
        return
    from rich.markup import escape
    from rich.table import Table

    console = rich_console()
    console.print(f"[bold]{info.name}[/bold] ({info.kind}) — {escape(info.description)}")
    console.print(f"from {escape(info.package)} {escape(info.version)}, module {escape(info.cls.__module__)}")
    doc = (info.cls.__doc__ or "").strip()
    if doc:
        console.print()
        console.print(escape(_dedent(doc)))
    table = Table(title="Options", title_justify="left", header_style="bold")
    for column in ("Option", "Type", "Default", "Description", "Example"):
        table.add_column(column, overflow="fold")
    for option in plugin_option_docs(info):
        default = "required" if option.required else ("" if option.default is None else json.dumps(option.default, ensure_ascii=False))
        example = json.dumps(option.examples[0], ensure_ascii=False) if option.examples else ""
        description = option.description + (" (any entry)" if option.common else "")
        table.add_row(option.name, escape(option.type), escape(default), escape(description), escape(example))
    console.print(table)
    console.print("Sample:")
    click.echo(sample_toml(info))


def _dedent(text: str) -> str:
    import textwrap

    first, _, rest = text.partition("\n")
    return (first + "\n" + textwrap.dedent(rest)).strip()
