"""What cmflow hands to each plugin kind's method: the run's context, typed."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

if TYPE_CHECKING:
    import polars as pl

    from .periods import Period


@dataclass
class FetchContext:
    """Given to :meth:`Source.fetch`: what to fetch and where the workflow lives."""

    window_start: datetime
    """First instant (UTC) of the earliest period the run needs."""
    window_end: datetime
    """First instant (UTC) after the latest period the run needs."""
    periods: Sequence["Period"]
    workflow_dir: Path
    log: logging.Logger
    problems: list[str] = field(default_factory=list)
    """Non-fatal problems (e.g. skipped rows) the source reports; shown in the run summary."""

    def resolve_path(self, value: str) -> Path:
        """Resolve a path option: relative to the workflow file, ``builtin:`` for bundled data."""
        return resolve_input_path(value, self.workflow_dir)

    def warn(self, message: str) -> None:
        self.problems.append(message)
        self.log.warning(message)


def resolve_input_path(value: str, base: Path) -> Path:
    if value.startswith("builtin:"):
        from importlib.resources import files

        return Path(str(files("cmflow").joinpath("data", value.removeprefix("builtin:"))))
    path = Path(value).expanduser()
    return path if path.is_absolute() else base / path


@dataclass
class MetricInput:
    """Given to :meth:`Metric.compute`: this metric's records, placed in periods.

    ``records[kind]`` holds the records of the metric's sources that fall in one of the run's
    periods, with a ``period`` column (a record in two periods appears twice);
    ``all_records[kind]`` holds everything the sources returned, unlabelled (for baselines
    such as the follower count the day before a period).
    """

    records: dict[str, "pl.LazyFrame"]
    all_records: dict[str, "pl.LazyFrame"]
    periods: Sequence["Period"]
    grouping_sets: list[tuple[str, ...]]


@dataclass
class TriggerInput:
    """Given to :meth:`Trigger.evaluate`.

    ``measurements`` holds every measurement of the run's current period; ``comparisons``
    the same rows with, per comparison period, ``previous_value``, ``change`` and ``change_pct``
    (``comparison`` says which period).
    """

    measurements: "pl.DataFrame"
    comparisons: "pl.DataFrame"
    period: "Period"


@dataclass
class DeliveryContext:
    """Given to :meth:`Output.deliver`: where the workflow lives, a logger, and whether this
    is a dry run (outputs that deliver externally are not called in one)."""

    workflow_dir: Path
    log: logging.Logger
    dry_run: bool = False
