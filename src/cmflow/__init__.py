"""cmflow: automation for community managers.

This module is the stable public API a plugin author imports::

    from cmflow import hookimpl, Source, Metric, Trigger, Output, PluginOptions, RecordTable

Everything else inside the package may move between releases. Names are imported on first
use (PEP 562), so that ``cmflow --help`` does not pay for pydantic or Polars.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

_PUBLIC = {
    # the contract
    "hookimpl": "hookspecs", "Source": "kinds", "Metric": "kinds", "Trigger": "kinds",
    "Output": "kinds", "PluginOptions": "kinds", "Notifier": "kinds", "NotifierOptions": "kinds",
    # what flows through a run
    "Alert": "alerts", "DeliveryContext": "context", "FetchContext": "context",
    "MetricInput": "context", "TriggerInput": "context", "Period": "periods",
    "RECORD_KINDS": "records", "RecordTable": "records", "RunResult": "result",
    "dimension_columns": "measurements", "Verdict": "alerts", "CredentialCheck": "doctor",
    # notifications: what notifiers compose and send through the outbox
    "DeliveryFailed": "notifications", "Message": "notifications", "Notification": "notifications",
    "NotificationBatch": "notifications", "SendContext": "notifications", "Duration": "durations",
    "PositiveDuration": "durations",
    # presentation helpers outputs share, so every output shows the same numbers the same way
    "format_change": "summary", "format_value": "summary", "kpi_tables": "summary",
    "metric_label": "summary", "ranked_posts": "summary",
    # option types that check at validate what would fail at run time
    "TimeZoneName": "option_types", "StrftimeFormats": "option_types", "TextEncoding": "option_types",
    "WebUrl": "option_types", "HexColour": "option_types", "OutputPath": "option_types",
    "OutputFolder": "option_types", "InputPath": "option_types", "UserFacingError": "errors",
    "InvalidOption": "option_errors",
}

__all__ = [*_PUBLIC, "__version__"]


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            value = version("cmflow")
        except PackageNotFoundError:  # pragma: no cover - running from a source tree
            value = "0+unknown"
    elif name in _PUBLIC:
        value = getattr(import_module(f".{_PUBLIC[name]}", __name__), name)
    else:
        raise AttributeError(f"module 'cmflow' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:  # what type checkers and editors see
    from .alerts import Alert, Verdict
    from .durations import Duration
    from .notifications import DeliveryFailed, Message, Notification, NotificationBatch, SendContext
    from .context import DeliveryContext, FetchContext, MetricInput, TriggerInput
    from .doctor import CredentialCheck
    from .errors import UserFacingError
    from .hookspecs import hookimpl
    from .kinds import Metric, Notifier, NotifierOptions, Output, PluginOptions, Source, Trigger
    from .measurements import dimension_columns
    from .option_types import (HexColour, InputPath, OutputFolder, OutputPath, StrftimeFormats,
                               TextEncoding, TimeZoneName, WebUrl)
    from .periods import Period
    from .records import RECORD_KINDS, RecordTable
    from .result import RunResult
    from .summary import format_change, format_value, kpi_tables, metric_label, ranked_posts

    __version__: str
