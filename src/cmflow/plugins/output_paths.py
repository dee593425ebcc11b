"""Where outputs write their files: path templates with placeholders, kept under their folder.

An output path such as ``reports/{workflow}-{period}.html`` is relative to the directory cmflow
runs in, or absolute when written so on purpose. A relative path may not climb out of that
directory with ``..``, and what a placeholder puts in is made safe for a file name (no ``/``,
no ``..``, no control characters), so a workflow named ``../../etc`` still writes under
``reports/``. An unknown placeholder (``{wrokflow}``) is refused at validate.
"""

from __future__ import annotations

import re
import string
from pathlib import Path, PurePath

from cmflow.foundation.errors import UserFacingError

PLACEHOLDERS = ("workflow", "period", "date")
"""What an output path may contain: {workflow} (the workflow's name), {period} (its first and
last day, 2026-11-16..2026-11-22) and {date} (today, UTC)."""
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class OutputPathError(UserFacingError, ValueError):
    """An output path that cannot be written: an existing folder where a file is meant."""


def check_path_template(template: str, placeholders: tuple[str, ...] = PLACEHOLDERS) -> str:
    """``template`` if it is a usable output path; otherwise a ValueError saying what to change
    (for an options validator: the problem is reported at the option's key path)."""
    from cmflow.foundation.names import closest

    if not template.strip():
        raise ValueError("must not be empty: give a file path such as reports/{workflow}-{period}.html")
    if any(ord(c) < 32 for c in template):
        raise ValueError("holds a control character (a tab or a line break): write the path on one line")
    try:
        parsed = [(name, spec, conversion) for _, name, spec, conversion in string.Formatter().parse(template)
                  if name is not None]
    except ValueError as exc:
        raise ValueError(f"{template!r}: {exc}; placeholders are written {{workflow}}, {{period}}, "
                         "{date}, and a literal brace is doubled ({{ or }})") from None
    fields = [name for name, _, _ in parsed]
    for name, spec, conversion in parsed:
        if spec or conversion:
            raise ValueError(f"placeholder {{{name}}} takes no format: write {{{name.split(':')[0]}}}")
        if name not in placeholders:
            suggestion = closest(name, list(placeholders))
            raise ValueError(f"unknown placeholder {{{name}}}" + (
                f"; did you mean {{{suggestion}}}?" if suggestion else
                f"; placeholders are {', '.join('{' + p + '}' for p in placeholders)}"))
    check_stays_inside(template)
    if not fields and Path(template).expanduser().is_dir():
        raise ValueError(f"{template} is a folder: the output path must name a file, e.g. "
                         f"{PurePath(template) / 'report.html'}")
    return template


def check_stays_inside(path: str) -> str:
    """``path`` if it is absolute or stays under the directory it is relative to (no ``..``)."""
    pure = PurePath(path)
    if not pure.is_absolute() and not path.startswith("~") and ".." in pure.parts:
        raise ValueError(f"{path!r} climbs up with '..': a relative output path stays under the "
                         "directory cmflow runs in; write an absolute path if the file belongs elsewhere")
    return path


def safe_file_name_part(text: str, default: str = "workflow") -> str:
    """``text`` as part of a file name: letters, digits, dot, dash and underscore, never ``..``."""
    cleaned = _UNSAFE.sub("-", text).replace("..", "-").strip(".-").lower()
    return cleaned or default


def fill_path_template(template: str, values: dict[str, str]) -> Path:
    """The path ``template`` names once its placeholders are replaced by file-name-safe ``values``.

    Raise :class:`OutputPathError` if the result is an existing folder.
    """
    safe = {name: safe_file_name_part(value, name) if name != "period" else _safe_period(value)
            for name, value in values.items()}
    filled = "".join(literal + ("" if name is None else safe.get(name, "{" + name + "}"))  # {{ }} stay literal
                     for literal, name, _, _ in string.Formatter().parse(template))
    path = Path(filled).expanduser()
    if path.is_dir():
        raise OutputPathError(f"{path} is a folder: the output path must name a file, "
                              f"e.g. {path / 'report.html'}")
    return path


def _safe_period(value: str) -> str:
    """``2026-11-16..2026-11-22`` stays as it is: its ``..`` sits between two dates, inside a name."""
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}\.\.\d{4}-\d{2}-\d{2}", value):
        return value
    return safe_file_name_part(value, "period")
