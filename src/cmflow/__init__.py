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
from .measurements import dimension_columns
from .periods import Period
from .records import RECORD_KINDS, RecordTable
from .result import RunResult
from .summary import format_change, format_value, kpi_tables, metric_label, ranked_posts

try:
    __version__ = version("cmflow")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"

__all__ = [
    # the contract
    "hookimpl", "Source", "Metric", "Trigger", "Output", "PluginOptions",
    # what flows through a run
    "Alert", "DeliveryContext", "FetchContext", "MetricInput", "Period", "RECORD_KINDS",
    "RecordTable", "RunResult", "TriggerInput", "dimension_columns",
    # presentation helpers outputs share, so every output shows the same numbers the same way
    "format_change", "format_value", "kpi_tables", "metric_label", "ranked_posts",
    "__version__",
]
