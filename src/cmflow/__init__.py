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
    "hookimpl": "plugins.hookspecs", "Source": "plugins.kinds", "Metric": "plugins.kinds", "Trigger": "plugins.kinds",
    "Output": "plugins.kinds", "PluginOptions": "plugins.kinds", "Notifier": "plugins.kinds", "NotifierOptions": "plugins.kinds",
    # what flows through a run
    "Alert": "foundation.alerts", "DeliveryContext": "plugins.context", "FetchContext": "plugins.context",
    "MetricInput": "plugins.context", "TriggerInput": "plugins.context", "Period": "foundation.periods",
    "RECORD_KINDS": "foundation.records", "RecordTable": "foundation.records", "RunResult": "plugins.result",
    "dimension_columns": "foundation.measurements", "Verdict": "foundation.alerts", "CredentialCheck": "plugins.credentials",
    "RateBudget": "plugins.credentials",
    # notifications: what notifiers compose and send through the outbox
    "DeliveryFailed": "plugins.notifications", "Message": "plugins.notifications", "Notification": "plugins.notifications",
    "NotificationBatch": "plugins.notifications", "SendContext": "plugins.notifications", "Duration": "foundation.durations",
    "PositiveDuration": "foundation.durations",
    # presentation helpers outputs share, so every output shows the same numbers the same way
    "format_change": "presentation.summary", "format_value": "presentation.summary", "kpi_tables": "presentation.summary",
    "metric_label": "presentation.summary", "ranked_posts": "presentation.summary",
    # option types that check at validate what would fail at run time
    "TimeZoneName": "plugins.option_types", "StrftimeFormats": "plugins.option_types", "TextEncoding": "plugins.option_types",
    "WebUrl": "plugins.option_types", "HexColour": "plugins.option_types", "OutputPath": "plugins.option_types",
    "OutputFolder": "plugins.option_types", "InputPath": "plugins.option_types", "UserFacingError": "foundation.errors",
    "InvalidOption": "plugins.option_errors",
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
    from cmflow.foundation.alerts import Alert, Verdict
    from cmflow.foundation.durations import Duration
    from cmflow.plugins.notifications import DeliveryFailed, Message, Notification, NotificationBatch, SendContext
    from cmflow.plugins.context import DeliveryContext, FetchContext, MetricInput, TriggerInput
    from cmflow.plugins.credentials import CredentialCheck, RateBudget
    from cmflow.foundation.errors import UserFacingError
    from cmflow.plugins.hookspecs import hookimpl
    from cmflow.plugins.kinds import Metric, Notifier, NotifierOptions, Output, PluginOptions, Source, Trigger
    from cmflow.foundation.measurements import dimension_columns
    from cmflow.plugins.option_types import (HexColour, InputPath, OutputFolder, OutputPath, StrftimeFormats,
                               TextEncoding, TimeZoneName, WebUrl)
    from cmflow.foundation.periods import Period
    from cmflow.foundation.records import RECORD_KINDS, RecordTable
    from cmflow.plugins.result import RunResult
    from cmflow.presentation.summary import format_change, format_value, kpi_tables, metric_label, ranked_posts

    __version__: str
