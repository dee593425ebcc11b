"""The base classes a plugin subclasses: one per plugin kind.

A plugin is a class with a ``name``, a one-line ``description``, an ``Options`` pydantic model
(which *is* the documentation of its TOML table) and the one method of its kind. cmflow
instantiates it once per workflow entry with the validated options.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Iterable

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    import polars as pl

    from .alerts import Alert
    from .context import DeliveryContext, FetchContext, MetricInput, TriggerInput
    from .records import RecordTable
    from .result import RunResult


class PluginOptions(BaseModel):
    """Base of every plugin's options: unknown keys are errors, never silently ignored."""

    model_config = ConfigDict(extra="forbid")


class Plugin:
    """What every plugin kind has in common."""

    kind: ClassVar[str]
    name: ClassVar[str]
    description: ClassVar[str]
    Options: ClassVar[type[PluginOptions]] = PluginOptions
    sample_options: ClassVar[dict[str, Any]] = {}
    """Options the generated sample TOML block sets (uncommented), so that it works as written
    where no single option is required (e.g. a threshold needs `above` or `below`)."""

    def __init__(self, options: PluginOptions, *, entry_id: str) -> None:
        self.options = options
        self.entry_id = entry_id
        """The workflow entry's id (sources) or a generated one (``metrics[2]``)."""

    def check(self, workflow: Any) -> list[str | tuple[str, str]]:
        """Extra checks against the whole workflow, run at validation.

        Return problems as text, or as (option name, text) to point at one option.
        """
        return []


class Source(Plugin):
    """Fetches records (posts, account snapshots, mentions ...) for a time window."""

    kind = "source"
    record_kinds: ClassVar[tuple[str, ...]] = ("post",)
    """Record kinds this source can produce; override :meth:`produces` when options decide."""

    def produces(self) -> set[str]:
        """The record kinds this configured source will hand over."""
        return set(self.record_kinds)

    def fetch(self, ctx: "FetchContext") -> Iterable["RecordTable"]:
        """Return or yield :class:`cmflow.RecordTable` objects covering ``ctx.window``."""
        raise NotImplementedError


class Metric(Plugin):
    """Turns records into measurements, as vectorised Polars expressions."""

    kind = "metric"
    needs: ClassVar[tuple[str, ...]] = ("post",)
    """Record kinds the metric reads; validation checks its sources provide them."""
    groupings: ClassVar[tuple[str, ...]] = ("overall", "platform", "account", "format", "pillar", "campaign")
    """Breakdowns (values of ``by``) the metric supports."""

    def produces(self) -> dict[str, str]:
        """Measurement names this configured metric emits, each with its unit."""
        return {self.name: getattr(self, "unit", "")}

    def compute(self, data: "MetricInput") -> "pl.DataFrame":
        """Return a measurement frame (see :mod:`cmflow.measurements`) for every period."""
        raise NotImplementedError


class Trigger(Plugin):
    """Turns measurements into alerts."""

    kind = "trigger"

    def evaluate(self, data: "TriggerInput") -> list["Alert"]:
        """Return the alerts whose condition holds now; cmflow tracks firing and resolved."""
        raise NotImplementedError


class Output(Plugin):
    """Delivers a run's result: the terminal, a file, a message."""

    kind = "output"
    delivers_externally: ClassVar[bool] = True
    """False for outputs with no side effect beyond the terminal: they still run in --dry-run."""

    def deliver(self, result: "RunResult", ctx: "DeliveryContext") -> str | None:
        """Deliver the result; return a short note for the run summary (e.g. the file written)."""
        raise NotImplementedError


KINDS: dict[str, type[Plugin]] = {
    "source": Source,
    "metric": Metric,
    "trigger": Trigger,
    "output": Output,
}
