"""The ``.env`` file beside a workflow: the values its ``${env:NAME}`` references may name.

Read like the workflow file itself (:mod:`cmflow.foundation.text_files`), so it sits above the
text files and the errors; the values it yields are interpolated (and remembered for redaction)
by :mod:`cmflow.foundation.secrets`.
"""

from __future__ import annotations

import io
from pathlib import Path

from cmflow.foundation.errors import Problem, WorkflowInvalid
from cmflow.foundation.text_files import read_text


def load_dotenv_beside(workflow_file: Path) -> dict[str, str]:
    """Values of the ``.env`` file next to the workflow file, if there is one.

    Read like the workflow file (a byte-order mark is dropped; text that is not UTF-8 is a
    problem naming the .env file, raised as :class:`~cmflow.foundation.errors.WorkflowInvalid`).
    """
    path = workflow_file.parent / ".env"
    if not path.exists():
        return {}
    from dotenv import dotenv_values  # only when there is a file to read

    text = read_text(path)
    unreadable = _unreadable_dotenv_lines(text)
    if unreadable:
        # The line itself is not quoted: it may hold a secret.
        raise WorkflowInvalid([Problem(str(path), "", "cannot read this line", "write NAME=value, one "
                                       "per line; put a value holding spaces, # or quotes in quotes, "
                                       "and close every quote", line=line) for line in unreadable])
    return {k: v for k, v in dotenv_values(stream=io.StringIO(text)).items() if v is not None}


def _unreadable_dotenv_lines(text: str) -> list[int]:
    """Numbers of the lines python-dotenv cannot parse (it would only warn, and skip them)."""
    from dotenv.parser import parse_stream

    lines = []
    for binding in parse_stream(io.StringIO(text)):
        if binding.error:
            chunk = binding.original.string
            leading = chunk[:len(chunk) - len(chunk.lstrip())].count("\n")
            lines.append(binding.original.line + leading)
    return lines
