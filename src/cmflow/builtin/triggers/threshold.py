"""The ``threshold`` trigger: a measurement above or below a fixed value."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field, model_validator

from cmflow import Alert, InvalidOption, Number, PluginOptions, Trigger, hookimpl, row_dimensions

from cmflow.builtin.triggers.common import series_text, value_text, where_text

if TYPE_CHECKING:
    from cmflow import Language, TriggerInput


class ThresholdOptions(PluginOptions):
    above: Number | None = Field(None, description="Fire when the value is greater than this.",
                                examples=[10000])
    below: Number | None = Field(None, description="Fire when the value is less than this.",
                                examples=[2.0])

    @model_validator(mode="after")
    def _one_bound(self) -> "ThresholdOptions":
        if self.above is None and self.below is None:
            raise ValueError("set `above`, `below` or both")
        if self.above is not None and self.below is not None and self.below > self.above:
            raise InvalidOption("below", f"`below` ({self.below:g}) is greater than `above` "
                                f"({self.above:g}): every value would fire; did you swap them?")
        return self


class Threshold(Trigger):
    """Fires for each series of the metric whose current value crosses a fixed bound.

    Series without a value (e.g. no posts) do not fire: "no data" is not "low".
    """

    name = "threshold"
    description = "Alert when a metric is above or below a fixed value."
    Options = ThresholdOptions
    sample_options = {"below": 2.0}

    def evaluate(self, data: TriggerInput) -> list[Alert]:
        from cmflow import metric_label

        options: ThresholdOptions = self.options
        alerts = []
        for row in data.measurements.iter_rows(named=True):
            value = row["value"]
            if value is None:
                continue
            if options.above is not None and value > options.above:
                side, bound = "above", options.above
            elif options.below is not None and value < options.below:
                side, bound = "below", options.below
            else:
                continue
            dimensions = row_dimensions(row)
            summary = (self.metric_sentence(row["metric"], value, row["unit"], series_text(dimensions))
                       or f"{metric_label(row['metric'])} is {value_text(value, row['unit'])} "
                          f"{where_text(dimensions)}, {side} {value_text(bound, row['unit'])}")
            alerts.append(Alert(self.entry_id, row["metric"], dimensions, summary, value=value,
                                details={"bound": bound, "side": side, "unit": row["unit"]}))
        return alerts

    @staticmethod
    def metric_sentence(metric: str, value: float, unit: str, series: str, lang: "Language | None" = None) -> str | None:
        """How an alert on ``metric`` reads when its catalogue says what the value means (``Planned
        post not published (due 59 h ago): …``: a missing post's value is how long ago it was due,
        not hours missing), in ``lang`` (English when not given); None for a metric without one."""
        if lang is None:  # loaded once an alert fires (Babel and the catalogue; cached)
            from cmflow import language

            lang = language("en")
        key = f"metric_{metric}_alert"
        return lang.text(key, value=value_text(value, unit, lang), series=series) if lang.has(key) else None

    def told(self, alert: Alert, lang: "Language", unit: str, where: str | None = None,
             series: str | None = None) -> str | None:
        """The alert's summary in ``lang``'s words (a French client's task card); the bound
        crossed comes from the options, so an alert read back from the store is told too. A bound
        of 0 above is not said ("Posts published: 0 for …", not "…, above 0"). A metric whose
        catalogue says what its value means is said by that sentence, about ``series`` (the
        series as the reports name it; as the data writes it when not given): "Publication
        prévue non publiée (prévue il y a 59 h) : …"."""
        options: ThresholdOptions = self.options
        value = alert.value
        if value is None:
            return None
        sentence = self.metric_sentence(alert.metric, value, unit,
                                        series if series is not None else series_text(alert.dimensions), lang)
        if sentence is not None:
            return sentence
        side = alert.details.get("side") or ("above" if options.above is not None and value > options.above
                                             else "below" if options.below is not None else "above")
        bound = options.above if side == "above" else options.below
        if bound is None:
            return None
        # above 0 (any missing post, any message waiting) is the rule's setting, not news: the value says it
        told = "any" if side == "above" and bound == 0 else side
        return lang.text(f"alert_told_threshold_{told}", metric=lang.metric_label(alert.metric),
                         value=value_text(value, unit, lang), where=where if where is not None else where_text(alert.dimensions, lang),
                         bound=value_text(bound, unit, lang))


@hookimpl
def register_triggers(register):
    register(Threshold)
