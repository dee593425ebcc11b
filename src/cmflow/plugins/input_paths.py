"""Where plugins read the files their options name: relative to the workflow file, or shipped
with cmflow (``builtin:NAME``). Apart from the run's context, so that validating a workflow
checks its input files without building the context's dataclasses."""

from __future__ import annotations

from pathlib import Path

from cmflow.foundation.errors import UserFacingError, WorkflowInvalid
from cmflow.foundation.text_files import read_text


def read_input_file(value: str, directory: Path) -> str:
    """The text of the UTF-8 file an option names (a template, a list): relative paths start at
    ``directory`` (the workflow file's folder), ``builtin:NAME`` is a file cmflow ships.

    Raise :class:`cmflow.UserFacingError` naming the file and what to do when it is missing, a
    folder, unreadable or not UTF-8."""
    try:
        return read_text(resolve_input_path(value, directory))
    except WorkflowInvalid as exc:
        raise UserFacingError(str(exc.problems[0])) from None


def resolve_input_path(value: str, base: Path) -> Path:
    """The path of the file an option names: relative paths start at ``base`` (the workflow
    file's folder), ``builtin:NAME`` is a file cmflow ships. For files that are not text (a
    model); :func:`read_input_file` reads a text file."""
    if value.startswith("builtin:"):
        from importlib.resources import files

        return Path(str(files("cmflow").joinpath("data", value.removeprefix("builtin:"))))
    path = Path(value).expanduser()
    return path if path.is_absolute() else base / path
