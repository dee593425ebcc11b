"""The daemon's logs: one line per event, as text (default) or JSON, secrets redacted.

Every line about a run carries its id (``workflow@slot``, e.g. ``weekly@2026-11-23T08:00Z``)
and, once the store has given it one, the run number ``cmflow history`` shows. Fields are
passed as ``extra={...}`` by the code that logs; those named in :data:`FIELDS` are printed.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone

from cmflow.foundation.secrets import redactor

FIELDS = ("event", "workflow", "run", "run_id", "slot", "status", "settled", "pid", "file", "seconds", "next_slot",
          "daemon", "host")
"""Structured fields a log call may pass in ``extra``, in the order text lines print them."""


class _RunContext(logging.Filter):
    """Stamps every record of a run's process with the run's id."""

    def __init__(self, run: str) -> None:
        super().__init__()
        self.run = run

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "run", None):
            record.run = self.run
        return True


class TextFormatter(logging.Formatter):
    """``2026-11-24T08:00:02Z INFO started weekly@2026-11-24T08:00Z workflow=weekly ...``"""

    def format(self, record: logging.LogRecord) -> str:
        when = datetime.fromtimestamp(record.created, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        fields = " ".join(f"{name}={_text(getattr(record, name))}" for name in FIELDS
                          if getattr(record, name, None) not in (None, ""))
        line = f"{when} {record.levelname} {record.getMessage()}" + (f" [{fields}]" if fields else "")
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return redactor(line)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the structured fields, error."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redactor(record.getMessage()),
        }
        for name in FIELDS:
            value = getattr(record, name, None)
            if value not in (None, ""):
                entry[name] = redactor(value) if isinstance(value, str) else _json_value(value)
        if record.exc_info:
            entry["error"] = redactor(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(log_format: str = "text", level: int = logging.INFO, *, run: str | None = None,
                      stream=None) -> logging.Handler:
    """Send every logger's records to ``stream`` (stderr) in ``log_format``; return the handler."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    if run is not None:
        handler.addFilter(_RunContext(run))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("httpx", "httpcore"):  # one line per request is the HTTP kit's job, at DEBUG
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
    return handler


def _text(value: object) -> str:
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, float):
        return f"{value:.3f}"
    text = str(value)
    return json.dumps(text) if (" " in text or not text) else text


def _json_value(value: object) -> object:
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat()
    if isinstance(value, (int, float, bool)):
        return value
    return str(value)
