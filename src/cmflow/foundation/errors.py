"""Errors a user can act on, and the CLI's exit codes."""

from __future__ import annotations

from dataclasses import dataclass

from cmflow.foundation.secrets import redactor

EXIT_OK = 0
EXIT_RUN_FAILED = 1
"""The run started but a source, metric or trigger failed (or the run crashed, or the store
could not be opened)."""
EXIT_INVALID = 2
"""Invalid input: workflow file, option, period or command-line usage. Nothing ran."""
EXIT_DELIVERY_FAILED = 3
"""Everything was computed but at least one output could not deliver."""
EXIT_BUSY = 4
"""Another run of the same workflow is under way: nothing ran."""
EXIT_WARNING = 5
"""Everything ran and was delivered, but some figures are in doubt: a ``where`` value that
matches nothing the workflow has ever seen (a misspelt account). The summary names each."""
EXIT_SIGINT = 130
EXIT_SIGTERM = 143
"""Stopped by Ctrl-C (SIGINT) or SIGTERM (128 + the signal, as shells say): the messages being
sent were finished, the rest wait in the outbox, the run is recorded interrupted."""


class UserFacingError(Exception):
    """An error whose message is written for the user (what, where, what to do): the run
    summary shows it as it is, without the exception's class name."""


class DataFileError(UserFacingError, ValueError):
    """A data file a source reads (an export) cannot be used as it is. The message is for the
    user as it stands: it names the file and the line and column (or the JSON key path), says
    what is wrong and what to do. ``details`` are lines to show under it, one thing each (a bad
    row each: place, record, column, value, problem), when the message alone would be a long
    line; the run summary prints them one per line, the run history keeps the message."""

    def __init__(self, message: str, details: "tuple[str, ...] | list[str]" = ()) -> None:
        super().__init__(message)
        self.details = tuple(details)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a workflow file: where, what, and what to do."""

    file: str
    path: str
    """TOML key path such as ``sources[0].since``; empty for the whole file."""
    message: str
    hint: str = ""
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}" + (f":{self.column}" if self.column is not None else "")
        if self.path:
            where += f": {self.path}"
        text = f"{where}: {self.message}"
        if self.hint:
            text += f" ({self.hint})"
        return redactor(text)


class WorkflowInvalid(Exception):
    """A workflow failed validation; ``problems`` lists every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))

