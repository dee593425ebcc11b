"""The ``calendar_items`` metric: the editorial calendar's items of the period in a given status,
counted, and one by one, so that a trigger can raise one alert per item (an idea approved: design
its visual). With ``ahead``, the items planned that long after the period count too (periods
are in the past; an idea approved for next week needs its visual now).

Two measurements: ``<measurement>`` counts the items in the status per breakdown (0 where a group
has items but none in it), and ``<measurement>_each`` gives every item of the period a row of its
own, valued 1 while it is in the status and 0 once it is not, with the item's dimensions
(``item_id``, ``title``, ``platform``, ``account``). A ``threshold`` with ``above = 0`` on the
``_each`` measurement fires once per item, keeps firing (without a new notification) while the
item stays in the status, and resolves once it leaves it: its row is then measured at 0. An item
that leaves the period, or the calendar, is no longer measured: its alert stays as it is.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from pydantic import Field, field_validator

from cmflow import Duration, Metric, PluginOptions, aggregate, hookimpl, measurement_rows

if TYPE_CHECKING:
    from cmflow import MetricInput

ITEM_DIMENSIONS = ("item_id", "title", "platform", "account")
"""What identifies an item's series (its alert's fingerprint): renaming an item makes it a new
one. Fields that change along the way (owner, url, status) are left out."""


class CalendarItemsOptions(PluginOptions):
    status: list[str] = Field(
        None, validate_default=True,  # required, with a message saying what to write when it is missing
        description="Required: the statuses counted (a calendar item's `status`, compared without regard to "
        "case or surrounding spaces); one status may be written alone (status = \"approved\").",
        examples=[["approved"], ["approved", "validé"]])
    measurement: str = Field(
        "calendar_items", pattern=r"^[a-z][a-z0-9_]*$",
        description="Name of the count measurement; the per-item one is this name followed by `_each`. "
        "Two entries of this metric (approved, scheduled) need two names.", examples=["approved_items"])

    ahead: Duration = Field(
        timedelta(0), description="Also count the items planned up to this long after the period's end "
        "(\"14d\"): an idea approved today for next week needs its visual now. The sources' fetch window "
        "is extended by as much.", examples=["14d"])

    @field_validator("status", mode="before")
    @classmethod
    def _a_list(cls, value: object) -> object:
        if value is None or value == []:
            raise ValueError('list the statuses to count, e.g. status = ["approved"]')
        return [value] if isinstance(value, str) else value

    @field_validator("status")
    @classmethod
    def _folded(cls, value: list[str]) -> list[str]:
        folded = [" ".join(status.split()).casefold() for status in value]
        if not all(folded):
            raise ValueError("a status is empty")
        return folded


class CalendarItems(Metric):
    """Counts the period's calendar items in the given statuses, and gives each item of the period
    a row (1 in the status, 0 out of it) carrying ``item_id``, ``title``, ``platform`` and
    ``account``: what a trigger needs to raise one alert, and a task output one task, per item."""

    name = "calendar_items"
    description = "Calendar items of the period in a status, counted and one by one (for one task per item)."
    Options = CalendarItemsOptions
    needs = ("calendar_item",)
    groupings = ("overall", "platform", "account", "format", "pillar", "campaign", "owner")
    row_dimensions = ITEM_DIMENSIONS
    unit = "items"
    sample_options = {"status": ["approved"]}

    def lookahead(self):
        return self.options.ahead

    def produces(self) -> dict[str, str]:
        name = self.options.measurement
        return {name: self.unit, f"{name}_each": self.unit}

    def compute(self, data: "MetricInput"):
        import polars as pl

        options: CalendarItemsOptions = self.options
        status = pl.col("status").cast(pl.String).str.replace_all(r"\s+", " ").str.strip_chars().str.to_lowercase()
        items = self._items(data).with_columns(
            status.is_in(options.status).fill_null(False).cast(pl.Int64).alias("_in_status"))
        counts = aggregate(items, data.grouping_sets, [pl.col("_in_status").sum().alias("_count")])
        count_rows = measurement_rows(counts, metric=options.measurement, unit=self.unit, value=pl.col("_count"))
        each = (items.select("period", *[pl.col(name).cast(pl.String) for name in ITEM_DIMENSIONS], "_in_status")
                .unique(subset=["period", "item_id"], keep="last", maintain_order=True).collect())
        each_rows = measurement_rows(each, metric=f"{options.measurement}_each", unit=self.unit,
                                     value=pl.col("_in_status"), extra_dimensions=["item_id", "title"])
        return pl.concat([count_rows, each_rows], how="diagonal_relaxed")

    def _items(self, data: "MetricInput") -> "pl.LazyFrame":
        """The calendar items of each period, and with ``ahead`` those planned that long after it."""
        import polars as pl

        ahead = self.options.ahead
        if not ahead:
            return data.records["calendar_item"]
        every = data.all_records["calendar_item"]
        planned = pl.col("planned_at")
        return pl.concat([every.filter((planned >= period.start_utc) & (planned < period.end_utc + ahead))
                          .with_columns(pl.lit(period.label).alias("period")) for period in data.periods],
                         how="diagonal_relaxed")


@hookimpl
def register_metrics(register):
    register(CalendarItems)
