"""``cmflow init``"""

from __future__ import annotations

import sys
from importlib.resources import files
from pathlib import Path

import click

from cmflow.foundation.errors import EXIT_INVALID


@click.command()
@click.argument("file", default="workflow.toml", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite the file if it exists.")
def init(file: Path, force: bool) -> None:
    """Write a commented starter workflow (default: workflow.toml)."""
    if file.exists() and not force:
        click.secho(f"✗ {file} exists; use --force to overwrite it", fg="red", err=True)
        sys.exit(EXIT_INVALID)
    text = files("cmflow").joinpath("templates", "starter.toml").read_text(encoding="utf-8")
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(text.replace("{file}", str(file)), encoding="utf-8")
    click.echo(f"wrote {file}; edit its sources, then: cmflow validate {file}")
