"""The terminal: one way to make a console for tables, for the CLI and the console output."""

from __future__ import annotations

import shutil
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

PIPED_WIDTH = 140
"""Columns when the output is not a terminal (a file, a pager, CI logs): rich would use 80."""


def table_console(width: int | None = None) -> "Console":
    """A rich console: the given width, the terminal's, or PIPED_WIDTH when piped."""
    from rich.console import Console

    if width is None and not sys.stdout.isatty():
        width = max(shutil.get_terminal_size((PIPED_WIDTH, 24)).columns, PIPED_WIDTH)
    return Console(width=width, highlight=False, soft_wrap=False)
