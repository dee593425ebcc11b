"""cmflow: automation for community managers.

This module is the stable public API a plugin author imports::

    from cmflow import hookimpl, Source, Metric, Trigger, Output, PluginOptions, RecordTable

Everything else inside the package may move between releases.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from .alerts import Alert
from .context import DeliveryContext, FetchContext, MetricInput, TriggerInput
from .hookspecs import hookimpl
from .kinds import Metric, Output, PluginOptions, Source, Trigger
from .periods import Period
from .records import RECORD_KINDS, RecordTable
from .result import RunResult

try:
    __version__ = version("cmflow")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"

__all__ = [
    "Alert", "DeliveryContext", "FetchContext", "Metric", "MetricInput", "Output", "Period",
    "PluginOptions", "RECORD_KINDS", "RecordTable", "RunResult", "Source", "Trigger",
    "TriggerInput", "hookimpl", "__version__",
]
