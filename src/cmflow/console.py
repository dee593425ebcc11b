"""What the ``cmflow`` console script runs: ``cmflow validate FILE...`` answered from the
validation cache when every file's answer is remembered, else the command line itself.

Kept outside :mod:`cmflow.cli`, whose import loads click: a remembered answer needs neither
click nor pydantic nor any plugin (see :mod:`cmflow.validation_cache`).
"""

from __future__ import annotations

import sys


def main() -> None:
    """Run the ``cmflow`` command line as ``sys.argv`` gives it."""
    arguments = sys.argv[1:]
    if len(arguments) > 1 and arguments[0] == "validate" and not any(a.startswith("-") for a in arguments[1:]):
        from cmflow.validation_cache import recall

        lines = [recall(file) for file in arguments[1:]]
        if all(line is not None for line in lines) and _printed(lines):
            sys.exit(0)
    from cmflow.cli import main as command_line

    command_line()


def _printed(lines: list[str]) -> bool:
    """Print remembered lines as ``click.secho`` would; False, having printed nothing, if they
    cannot be (a file name the terminal's encoding cannot show is replaced, never a crash)."""
    try:
        green = sys.stdout.isatty()  # as click.secho: colour on a terminal only
        text = "".join(f"\x1b[32m{line}\x1b[0m\n" if green else f"{line}\n" for line in lines)
        data = text.encode(sys.stdout.encoding or "utf-8", errors="replace")
        sys.stdout.flush()
        output = sys.stdout.buffer
    except Exception:  # noqa: BLE001 - the full command line prints it its own way
        return False
    output.write(data)
    output.flush()
    return True
