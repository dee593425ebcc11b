"""The ``change`` trigger: a rise or drop of more than X% against a comparison period."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field, model_validator

from cmflow import Alert, Number, PluginOptions, Trigger, hookimpl, row_dimensions

from cmflow.builtin.triggers.common import value_text, where_text

if TYPE_CHECKING:
    from cmflow import Language, TriggerInput


class ChangeOptions(PluginOptions):
    drop_pct: Number | None = Field(None, gt=0, description="Fire when the value fell by more than "
                                   "this many percent of its comparison value (relative: 4% -> 3% "
                                   "is a 25% drop).", examples=[20])
    rise_pct: Number | None = Field(None, gt=0, description="Fire when the value rose by more than "
                                   "this many percent of its comparison value.", examples=[50])
    compared_to: Literal["previous_period", "same_period_last_year"] = Field(
        "previous_period", description="Which comparison period (it must be listed in the "
        "workflow's `compare`).")
    min_base: Number = Field(0, ge=0, description="Ignore series whose comparison value is below "
                            "this, so small numbers do not page on noise.", examples=[100])

    @model_validator(mode="after")
    def _one_direction(self) -> "ChangeOptions":
        if self.drop_pct is None and self.rise_pct is None:
            raise ValueError("set `drop_pct`, `rise_pct` or both")
        return self


class Change(Trigger):
    """Fires for each series whose relative change vs the comparison period passes a limit.

    change % = (current - comparison) / |comparison| x 100, a relative change: ERR going from
    4% to 3% is a drop of 25% (-1 pt). It fires when the change is strictly beyond the limit. A
    series without a value in either period, or with a comparison value of 0, does not fire.
    """

    name = "change"
    description = "Alert on a rise or drop of more than X% vs the previous period or last year."
    Options = ChangeOptions
    sample_options = {"drop_pct": 20}

    def check(self, workflow) -> list[str]:
        if self.options.compared_to not in workflow.settings.compare:
            return [("compared_to", f"{self.options.compared_to!r} is not in [workflow] compare "
                     f"(now {workflow.settings.compare}); add it there")]
        return []

    def evaluate(self, data: TriggerInput) -> list[Alert]:
        import polars as pl
        from cmflow import format_change, metric_label

        options: ChangeOptions = self.options
        rows = data.comparisons.filter((pl.col("comparison") == options.compared_to)
                                       & pl.col("change_pct").is_not_null()
                                       & (pl.col("previous_value").abs() >= options.min_base))
        alerts = []
        for row in rows.iter_rows(named=True):
            change = row["change_pct"]
            if options.drop_pct is not None and change < -options.drop_pct:
                verb = "dropped"
            elif options.rise_pct is not None and change > options.rise_pct:
                verb = "rose"
            else:
                continue
            dimensions = row_dimensions(row)
            label = options.compared_to.replace("_", " ")
            points = f", {format_change(row['change'], None, '%')}" if row["unit"] == "%" else ""
            size = format_change(None, change, "", signed=False)
            summary = (f"{metric_label(row['metric'])} {verb} {size}{points} "
                       f"{where_text(dimensions)}: {value_text(row['value'], row['unit'])} vs "
                       f"{value_text(row['previous_value'], row['unit'])} ({label})")
            alerts.append(Alert(self.entry_id, row["metric"], dimensions, summary, value=row["value"],
                                details={"change_pct": change, "previous_value": row["previous_value"],
                                         "compared_to": options.compared_to, "unit": row["unit"]}))
        return alerts

    def told(self, alert: Alert, lang: "Language", unit: str, where: str | None = None) -> str | None:
        """The alert's summary in ``lang``'s words (a French client's task card), from the change
        its details carry (kept by the store since v14); None for one stored without them (its
        summary stays as written)."""
        from cmflow import format_change

        change_pct, previous = alert.details.get("change_pct"), alert.details.get("previous_value")
        if change_pct is None or previous is None or alert.value is None:
            return None
        points = f", {format_change(alert.value - previous, None, '%', lang.locale)}" if unit == "%" else ""
        compared = alert.details.get("compared_to") or self.options.compared_to
        return lang.text(f"alert_told_change_{'drop' if change_pct < 0 else 'rise'}",
                         metric=lang.metric_label(alert.metric),
                         size=format_change(None, change_pct, "", lang.locale, signed=False), points=points,
                         where=where if where is not None else where_text(alert.dimensions, lang), value=value_text(alert.value, unit, lang),
                         previous=value_text(previous, unit, lang), compared=lang.text(f"alert_told_{compared}"))


@hookimpl
def register_triggers(register):
    register(Change)
