"""Secrets kept out of log lines: a logging filter over :data:`cmflow.foundation.secrets.redactor`.

Apart from the secrets themselves so that reading a workflow (``cmflow validate``) does not import
:mod:`logging`; the run, the CLI's handlers and the HTTP kit attach it."""

from __future__ import annotations

import logging
from typing import Callable

from cmflow.foundation.secrets import redactor


class RedactingFilter(logging.Filter):
    """A logging filter that redacts secrets from every record's final message.

    ``redact`` is the function applied; the HTTP kit passes one that also masks tokens in URLs.
    """

    def __init__(self, redact: Callable[[str], str] | None = None) -> None:
        super().__init__()
        self.redact = redact or redactor

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = self.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True
