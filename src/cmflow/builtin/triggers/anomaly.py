"""The ``anomaly`` trigger: a measurement that departs from its own history.

Each series is compared with its own baseline: the same weekday over the previous weeks (daily
periods, so that a quiet Sunday is compared with Sundays) or the periods just before. The
expected value is the baseline's median; the noise is the MAD of the residuals of the whole
window (each period against the median of the others of its weekday), and the departure is
scored as a robust z-score (Iglewicz and Hoaglin's modified z-score): one past spike in the
baseline neither hides the next one nor makes normal days look unusual, as a mean and standard
deviation would. The method, its floor and a worked example are in docs/triggers/anomaly.md.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Literal

from pydantic import Field, model_validator

from cmflow import (Alert, InvalidOption, Number, Period, PluginOptions, Trigger,
                    WholeNumber, dimension_columns, hookimpl)

from cmflow.builtin.triggers.common import value_text, where_text
from cmflow.builtin.triggers.history import (history_frame, history_index, keyed, period_details, periods_text,
                                             told_before, told_period, told_when, when_text)

if TYPE_CHECKING:
    import polars as pl

    from cmflow import Language, TriggerInput

Z_SCALE = 0.6745
"""z = 0.6745 x (x - median) / MAD: 0.6745 makes the MAD of normal data comparable to a standard
deviation (MAD = 0.6745 sigma), so 3.5 means what it means in Iglewicz and Hoaglin's test."""
MEAN_DEVIATION_TO_MAD = 0.8453
"""When over half the residuals are 0 (MAD = 0), their mean absolute deviation stands in,
scaled to a MAD (1.2533 / 1.4826: the two are equal on normal noise)."""
MAD_FLOOR_SHARE = 0.01
"""The MAD used is at least 1% of |median|: on a perfectly flat history, a change of about 5%
of the level (3.5 / 0.6745 x 1%) reaches the default threshold."""
MAD_FLOOR = 0.001
"""... and at least 0.001 (in the metric's unit), for a history that is 0 every time."""

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class AnomalyOptions(PluginOptions):
    baseline: Literal["same_weekday", "previous_periods"] = Field(
        "same_weekday", description="same_weekday: the same weekday over the previous `weeks` "
        "weeks (daily periods only: a Monday is compared with Mondays); previous_periods: the "
        "`periods` periods just before the current one (any period length).")
    weeks: WholeNumber = Field(8, ge=1, le=53, description="same_weekday: how many previous weeks are "
                       "read: their same weekday gives the expected value (8: the 8 previous "
                       "Mondays for a Monday), all their days the noise.", examples=[12])
    periods: WholeNumber = Field(8, ge=1, le=400, description="previous_periods: how many periods just "
                         "before the current one form the baseline.", examples=[12])
    min_history: WholeNumber = Field(4, ge=2, description="Fewest baseline values a series needs; with "
                             "fewer (a new account, a gap in the data) it never fires.", examples=[6])
    threshold: Number = Field(3.5, gt=0, description="Fire when the robust z-score, 0.6745 x "
                             "(value - median) / MAD, is beyond this (3.5 is the usual cut-off; "
                             "lower finds more and pages more).", examples=[3.0])
    direction: Literal["both", "up", "down"] = Field(
        "both", description="both: unusually high or low; up: only high (a burst of mentions); "
        "down: only low (an engagement drop).")
    min_change: Number = Field(0, ge=0, description="Fire only when the value is at least this "
                              "far from the median, in the metric's unit (percentage points for "
                              "rates), so a small account does not page on 3 likes instead of 1.",
                              examples=[50])
    min_change_pct: Number | None = Field(None, gt=0, description="Fire only when the value is at "
                                         "least this many percent away from the median (relative).",
                                         examples=[20])

    @model_validator(mode="after")
    def _history_can_be_met(self) -> "AnomalyOptions":
        size, key = (self.weeks, "weeks") if self.baseline == "same_weekday" else (self.periods, "periods")
        if self.min_history > size:
            raise InvalidOption("min_history", f"`min_history` ({self.min_history}) is more than the baseline holds "
                             f"(`{key}` = {size}): the rule could never fire")
        return self


class Anomaly(Trigger):
    """Fires for each series whose value is unusual against its own history.

    median = the median of the series' baseline values (missing ones left out); MAD = the
    median absolute deviation of the window's residuals, each period minus the median of the
    other periods of its season (weekday for same_weekday), floored (MEAN_DEVIATION_TO_MAD,
    MAD_FLOOR_SHARE, MAD_FLOOR) so that a flat history does not divide by zero; z = 0.6745 x
    (value - median) / MAD. It fires when z is beyond ``threshold`` in the chosen ``direction``
    and the departure from the median passes ``min_change`` (and ``min_change_pct``). A series
    with fewer than ``min_history`` baseline values, or without a value now, does not fire.
    All series are scored at once, as Polars expressions.
    """

    name = "anomaly"
    description = "Alert when a metric departs from its own history (same weekday, robust z-score)."
    Options = AnomalyOptions

    def history_needed(self) -> int:
        options: AnomalyOptions = self.options
        return 7 * options.weeks if options.baseline == "same_weekday" else options.periods

    def check(self, workflow) -> list[str | tuple[str, str]]:
        if self.options.baseline != "same_weekday":
            return []
        period = Period.parse(workflow.settings.period, "UTC", date(2000, 1, 3))  # any day tells the length
        if period.days != 1:
            return [("baseline", f"\"same_weekday\" compares days, but [workflow] period is "
                     f"{workflow.settings.period!r}; use period = \"yesterday\" or baseline = "
                     "\"previous_periods\"")]
        return []

    def assess(self, data: TriggerInput) -> "pl.DataFrame":
        """Every current series with a value, scored: the measurement's columns plus
        ``baseline_points``, ``median``, ``residual_points``, ``mad`` (floored), ``z``,
        ``departure`` (value - median), ``departure_pct``, ``unusual`` (fires) and ``note``
        (why it cannot be judged)."""
        import polars as pl

        options: AnomalyOptions = self.options
        if options.baseline == "same_weekday" and data.period.days != 1:
            raise ValueError(f"baseline \"same_weekday\" compares days; the period {data.period} is "
                             f"{data.period.days} days long (use baseline = \"previous_periods\")")
        current = keyed(data.measurements).filter(pl.col("value").is_not_null()
                                                  & pl.col("value").is_finite())
        back = history_index()
        if options.baseline == "same_weekday":  # every day of the weeks, classed by weekday
            window, season = back <= 7 * options.weeks, back % 7
        else:
            window, season = back <= options.periods, pl.lit(0)
        history = (history_frame(data)
                   .filter(window & pl.col("value").is_not_null() & pl.col("value").is_finite())
                   .select("metric", "series_key", "value", season.alias("_season")))
        # The expected value: the median of the periods like the current one (season 0).
        expected = history.filter(pl.col("_season") == 0).group_by("metric", "series_key").agg(
            pl.len().alias("baseline_points"), pl.col("value").median().alias("median"))
        # The noise: how far each period of the window sits from the median of the others of
        # its season, pooled over all seasons (56 residuals rather than 8 Mondays).
        residual = pl.col("value") - leave_one_out_median(["metric", "series_key", "_season"])
        deviation = (pl.col("_residual") - pl.col("_residual").median()).abs()
        noise = (history.with_columns(residual.alias("_residual"))
                 .filter(pl.col("_residual").is_not_null())
                 .group_by("metric", "series_key").agg(
                     pl.len().alias("residual_points"),
                     deviation.median().alias("_raw_mad"),
                     deviation.mean().alias("_mean_deviation")))
        stats = expected.join(noise, on=["metric", "series_key"], how="left")
        median = pl.col("median")
        spread = (pl.when(pl.col("_raw_mad") > 0).then(pl.col("_raw_mad"))
                  .otherwise(pl.col("_mean_deviation") * MEAN_DEVIATION_TO_MAD))
        departure = pl.col("value") - median
        z = pl.col("z")
        beyond = {"both": z.abs() > options.threshold, "up": z > options.threshold,
                  "down": z < -options.threshold}[options.direction]
        large_enough = departure.abs() >= options.min_change
        if options.min_change_pct is not None:  # a median of 0: any departure is large enough
            large_enough &= pl.col("departure_pct").is_null() | \
                (pl.col("departure_pct").abs() >= options.min_change_pct)
        enough = pl.col("baseline_points") >= options.min_history
        return (current.join(stats, on=["metric", "series_key"], how="left")
                .with_columns(pl.col("baseline_points").fill_null(0).cast(pl.Int64),
                              pl.max_horizontal(spread, median.abs() * MAD_FLOOR_SHARE,
                                                pl.lit(MAD_FLOOR)).alias("mad"))
                .with_columns((Z_SCALE * departure / pl.col("mad")).alias("z"),
                              departure.alias("departure"),
                              pl.when(median != 0).then(departure / median.abs() * 100)
                              .alias("departure_pct"))
                .with_columns((enough & beyond & large_enough).fill_null(False).alias("unusual"),
                              pl.when(~enough).then(pl.format(
                                  "not enough history: {} of the {} baseline values needed",
                                  pl.col("baseline_points"), pl.lit(options.min_history))).alias("note"))
                .drop("_raw_mad", "_mean_deviation"))

    def evaluate(self, data: TriggerInput) -> list[Alert]:
        import polars as pl

        assessed = self.assess(data)
        dimensions = dimension_columns(keyed(data.measurements))
        short = assessed.filter(pl.col("note").is_not_null()).height
        if short:
            data.note(f"{short} series not judged yet: fewer than {self.options.min_history} baseline "
                      "values (the history builds up run after run)")
        return [self._alert(row, {d: row[d] for d in dimensions if row[d] is not None}, data)
                for row in assessed.filter(pl.col("unusual")).iter_rows(named=True)]

    def _alert(self, row: dict, dimensions: dict, data: TriggerInput) -> Alert:
        from cmflow import metric_label

        options: AnomalyOptions = self.options
        unit = row["unit"]
        points = row["baseline_points"]
        if options.baseline == "same_weekday":
            against = f"median of the last {points} {WEEKDAYS[data.period.start.weekday()]}s"
        else:
            against = f"median of the previous {periods_text(data.period, points)}"
        summary = (f"{metric_label(row['metric'])} {value_text(row['value'], unit)} "
                   f"{when_text(data.period)} is unusually {'high' if row['z'] > 0 else 'low'} "
                   f"{where_text(dimensions)} ({against} {value_text(row['median'], unit)}, "
                   f"z = {row['z']:+.1f})")
        return Alert(self.entry_id, row["metric"], dimensions, summary, value=row["value"],
                     details={"median": row["median"], "mad": row["mad"], "z": row["z"],
                              "baseline_points": points, "baseline": options.baseline,
                              "departure": row["departure"], "departure_pct": row["departure_pct"],
                              "threshold": options.threshold, "unit": unit, **period_details(data.period)})

    def told(self, alert: Alert, lang: "Language", unit: str, where: str | None = None) -> str | None:
        """The alert's summary in ``lang``'s words (a French client's task card and its
        resolution), from the median, z and period its details keep; None for an alert stored
        without them (its summary stays as written)."""
        from babel.numbers import format_decimal

        details = alert.details
        period, median, z = told_period(details), details.get("median"), details.get("z")
        points = details.get("baseline_points")
        if period is None or median is None or z is None or not points or alert.value is None:
            return None
        if details.get("baseline") == "same_weekday":
            before = lang.text("alert_told_same_weekday_before", n=int(points),
                               weekday=lang.weekday(period.start.weekday(), "wide"))
        else:
            before = told_before(period, int(points), lang)
        return lang.text("alert_told_anomaly", metric=lang.metric_label(alert.metric),
                         where=where if where is not None else where_text(alert.dimensions, lang), value=value_text(alert.value, unit, lang),
                         when=told_when(period, lang), before=before, median=value_text(median, unit, lang),
                         direction=lang.text(f"alert_told_anomaly_{'high' if z > 0 else 'low'}"),
                         z=format_decimal(z, "+0.0;-0.0", locale=lang.locale))


def leave_one_out_median(group: list[str]) -> "pl.Expr":
    """Per row, the median of the other values of its group (null in a group of one).

    With the group's values sorted v[0..n-1] and the row's value at rank k, the others are
    v without v[k]: their p-th is v[p] below k, v[p + 1] from k on.
    """
    import polars as pl

    n = pl.len().over(group)
    k = pl.col("value").rank("ordinal").over(group) - 1
    ordered = pl.col("value").sort().over(group, mapping_strategy="join")

    def other(p: "pl.Expr") -> "pl.Expr":
        return ordered.list.get(pl.when(p < k).then(p).otherwise(p + 1), null_on_oob=True)

    middle = (n - 1) // 2  # n - 1 others: their median is other(middle), or the mean of two
    return (pl.when(n < 2).then(None)
            .when(n % 2 == 0).then(other(n // 2 - 1))
            .otherwise((other(middle - 1) + other(middle)) / 2))


@hookimpl
def register_triggers(register):
    register(Anomaly)
