"""How a stage reports an entry (a source, metric, trigger or output) that raised: one redacted
line for the run's summary and history, the traceback in the debug log."""

from __future__ import annotations

import logging
import traceback

from cmflow.foundation.errors import UserFacingError
from cmflow.foundation.secrets import redactor

log = logging.getLogger("cmflow")


def one_line(exc: BaseException) -> str:
    """The error as one line: its class and first line, or only the line when it was written for
    the user (:class:`~cmflow.foundation.errors.UserFacingError`)."""
    text = str(exc).strip().splitlines()
    if text and isinstance(exc, UserFacingError):  # written for the user: no class name
        return text[0]
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def failure(kind: str, entry_id: str, exc: BaseException) -> str:
    """What to report of an entry that raised ``exc`` (call it in the ``except`` block: the
    traceback being handled goes to the debug log)."""
    log.debug("%s %s failed:\n%s", kind, entry_id, redactor(traceback.format_exc()))
    return redactor(one_line(exc))
