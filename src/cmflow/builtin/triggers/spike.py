"""The ``spike`` trigger: a count far above its recent average, for bad-buzz detection.

Made for counts (``mentions``, ``comments_received``): this period's count against the mean of
the periods just before (the baseline window). A minimum count keeps 3 mentions after a week
of 1 a day from paging anyone. docs/triggers/spike.md explains it with a worked example.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from cmflow import Alert, Number, PluginOptions, Trigger, WholeNumber, dimension_columns, hookimpl

from cmflow.builtin.triggers.common import value_text, where_text
from cmflow.builtin.triggers.history import (history_frame, history_index, keyed, period_details, periods_text,
                                             told_before, told_period, told_when, when_text)

if TYPE_CHECKING:
    import polars as pl

    from cmflow import Language, TriggerInput

class SpikeOptions(PluginOptions):
    baseline_periods: WholeNumber = Field(4, ge=1, le=400, description="How many periods just before the "
                                  "current one form the baseline window (4 with a daily period: "
                                  "the 4 previous days).", examples=[7])
    min_count: Number = Field(10, ge=0, description="Never fire below this count, however quiet "
                             "the baseline was.", examples=[25])
    factor: Number = Field(2.0, gt=1, description="Fire when the count is at least this many times "
                          "the baseline mean.", examples=[3.0])
    min_increase: Number | None = Field(
        None, gt=0, description="Fire when the count is at least this many above the baseline "
        "mean, instead of `factor` times it (set `factor` too to require both).", examples=[30])

    @property
    def uses_factor(self) -> bool:
        """``factor`` applies unless ``min_increase`` replaces it (a ``factor`` set explicitly stays)."""
        return self.min_increase is None or "factor" in self.model_fields_set


class Spike(Trigger):
    """Fires for each series whose count is a spike against the baseline window.

    baseline mean = the series' total over the baseline periods that were measured / their
    number; a measured period in which the series has no row counts 0 for it (a post had no
    comments before it existed). It fires when count >= ``min_count``, count > baseline mean
    and count >= ``factor`` x baseline mean (or, with ``min_increase``, count - mean >=
    ``min_increase``). With no measured baseline period at all (a first run without stored
    history) nothing fires: there is nothing to call the count a spike against.
    """

    name = "spike"
    description = "Alert when a count (mentions, comments) jumps far above its recent average."
    Options = SpikeOptions

    def history_needed(self) -> int:
        return self.options.baseline_periods

    def assess(self, data: TriggerInput) -> "pl.DataFrame":
        """Every current series with a value: the measurement's columns plus ``baseline_mean``,
        ``baseline_periods`` (measured), ``increase``, ``ratio`` (null over a zero mean) and
        ``spike`` (fires)."""
        import polars as pl

        options: SpikeOptions = self.options
        current = keyed(data.measurements).filter(pl.col("value").is_not_null())
        window = history_frame(data).filter((history_index() <= options.baseline_periods)
                                            & pl.col("value").is_not_null())
        measured = window.group_by("metric").agg(pl.col("period").n_unique().alias("baseline_periods"))
        totals = window.group_by("metric", "series_key").agg(pl.col("value").sum().alias("_total"))
        count, mean = pl.col("value"), pl.col("baseline_mean")
        rise = count > mean
        if options.uses_factor:
            rise &= count >= options.factor * mean
        if options.min_increase is not None:
            rise &= (count - mean) >= options.min_increase
        return (current.join(measured, on="metric", how="left")
                .join(totals, on=["metric", "series_key"], how="left")
                .with_columns(pl.col("baseline_periods").fill_null(0).cast(pl.Int64))
                .with_columns(pl.when(pl.col("baseline_periods") > 0)
                              .then(pl.col("_total").fill_null(0) / pl.col("baseline_periods"))
                              .alias("baseline_mean"))
                .with_columns((count - mean).alias("increase"),
                              pl.when(mean > 0).then(count / mean).alias("ratio"),
                              ((count >= options.min_count) & rise).fill_null(False).alias("spike"))
                .drop("_total"))

    def evaluate(self, data: TriggerInput) -> list[Alert]:
        import polars as pl
        from cmflow import metric_label

        assessed = self.assess(data)
        if assessed.height and assessed["baseline_periods"].max() == 0:
            data.note("no baseline period measured yet: nothing to compare the count with")
        dimensions = dimension_columns(keyed(data.measurements))
        alerts = []
        for row in assessed.filter(pl.col("spike")).iter_rows(named=True):
            where = {d: row[d] for d in dimensions if row[d] is not None}
            unit, mean = row["unit"], row["baseline_mean"]
            before = periods_text(data.period, row["baseline_periods"])
            baseline = (f"an average of {value_text(mean, unit)} over the previous {before} "
                        f"(x{row['ratio']:.1f})" if mean > 0 else f"none in the previous {before}")
            summary = (f"{metric_label(row['metric'])} spiked {where_text(where)}: "
                       f"{value_text(row['value'], unit)} {when_text(data.period)} vs {baseline}")
            alerts.append(Alert(self.entry_id, row["metric"], where, summary, value=row["value"],
                                details={"count": row["value"], "baseline_mean": mean,
                                         "baseline_periods": row["baseline_periods"],
                                         "increase": row["increase"], "ratio": row["ratio"],
                                         "unit": unit, **period_details(data.period)}))
        return alerts

    def told(self, alert: Alert, lang: "Language", unit: str, where: str | None = None) -> str | None:
        """The alert's summary in ``lang``'s words (a French client's task card and its
        resolution), from the count, baseline and period its details keep; None for an alert
        stored without them (its summary stays as written)."""
        details = alert.details
        period, mean, measured = told_period(details), details.get("baseline_mean"), details.get("baseline_periods")
        if period is None or mean is None or not measured or alert.value is None:
            return None
        before = told_before(period, int(measured), lang)
        words = dict(metric=lang.metric_label(alert.metric), where=where if where is not None else where_text(alert.dimensions, lang),
                     value=value_text(alert.value, unit, lang), when=told_when(period, lang), before=before)
        if mean > 0:
            return lang.text("alert_told_spike", **words, mean=value_text(mean, unit, lang),
                             ratio=lang.number(alert.value / mean, 1))
        return lang.text("alert_told_spike_from_none", **words, zero=value_text(0, unit, lang))


@hookimpl
def register_triggers(register):
    register(Spike)
