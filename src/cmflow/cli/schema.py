"""``cmflow schema``"""

from __future__ import annotations

import json

import click


@click.command()
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), help="Write to a file.")
def schema(output: str | None) -> None:
    """Print the JSON Schema of workflow files, built from the installed plugins.

    Point your editor's TOML language server at it (Taplo / Even Better TOML: add
    `#:schema ./cmflow.schema.json` as the first line of a workflow) to get validation and
    completion as you type.
    """
    from cmflow.plugins.registry import get_registry
    from cmflow.workflow_schema import workflow_schema

    text = json.dumps(workflow_schema(get_registry()), indent=2, ensure_ascii=False)
    if output:
        with open(output, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text)
