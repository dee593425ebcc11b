"""The planned and the published mix of formats and pillars, side by side: ``content_mix``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field

from cmflow import Metric, PluginOptions, hookimpl, measurement_rows, ratio

from cmflow.builtin.metrics.calendar_matching import not_cancelled
from cmflow.builtin.metrics.common import labelled_text

if TYPE_CHECKING:
    from cmflow import MetricInput


class ContentMixOptions(PluginOptions):
    of: list[Literal["format", "pillar"]] = Field(
        ["format", "pillar"], min_length=1, description="What the mix is the shares of: formats, pillars, or both "
        "(rows then carry one of the two).", examples=[["pillar"]])
    cancelled_statuses: list[str] = Field(
        default_factory=list, description="Other item statuses that mean the content was dropped (compared "
        "without case or accents), besides cancelled and the words that stand for it (Annulé, canceled, "
        "abandonné ...): such items are not planned.", examples=[["on hold"]])


class ContentMix(Metric):
    """The planned and the published mix side by side: ``planned_mix`` (%) is the share of the
    period's planned items (cancelled ones left out) of each format or pillar, ``published_mix``
    (%) the share of the period's published posts on the platforms the calendar plans (a post
    on a platform with no item planned in the period, not cancelled, is left out: the calendar
    does not plan it, as ``posts_unplanned`` counts only against a calendar), both within each
    breakdown (e.g. per platform). A value planned but not published (or the reverse) gets 0 %
    on the other side; a side with no item or no post at all has no value, and so has the
    published side where nothing is planned (an account the calendar does not plan). Items or
    posts without a format or pillar are the "(none)" share.
    """

    name = "content_mix"
    description = "Shares of formats and pillars among the planned items and among the published posts."
    Options = ContentMixOptions
    needs = ("calendar_item", "post")
    groupings = ("overall", "client", "platform", "account", "campaign")
    default_polarity = "neutral"

    def produces(self) -> dict[str, str]:
        return {"planned_mix": "%", "published_mix": "%"}

    def compute(self, data: "MetricInput"):
        import polars as pl

        dims = sorted({d for group in data.grouping_sets for d in group})
        items = data.records["calendar_item"]
        planned = not_cancelled(items, tuple(self.options.cancelled_statuses))
        platform = pl.col("platform").cast(pl.String).str.strip_chars().str.to_lowercase().alias("_platform")
        planned_platforms = planned.select("period", platform).unique()
        posts = (data.records["post"].with_columns(platform)
                 .join(planned_platforms, on=["period", "_platform"], how="semi").drop("_platform"))
        parts = []
        for mix in self.options.of:
            sides = []
            for side, frame in (("planned", planned), ("published", posts)):
                sides.append(frame.select("period", *labelled_text(frame, [*dims, mix]))
                             .with_columns(pl.lit(side).alias("_side")).collect())
            rows = pl.concat(sides, how="diagonal_relaxed")
            for group in data.grouping_sets:
                keys = ["period", *[d for d in group if d != mix]]
                if mix in group:
                    continue  # a mix of formats within one format is 100 %: nothing to say
                counted = rows.group_by([*keys, mix]).agg(
                    (pl.col("_side") == "planned").sum().alias("_planned"),
                    (pl.col("_side") == "published").sum().alias("_published"))
                parts.append(counted.with_columns(
                    pl.col("_planned").sum().over(keys).alias("_planned_total"),
                    pl.col("_published").sum().over(keys).alias("_published_total")))
        if not parts:
            return pl.DataFrame()
        figures = pl.concat(parts, how="diagonal_relaxed")
        nothing_planned = pl.col("_planned_total") == 0
        return pl.concat([
            measurement_rows(figures, metric="planned_mix", unit="%",
                             value=ratio(pl.col("_planned"), pl.col("_planned_total")),
                             reason=pl.when(nothing_planned).then(pl.lit("no planned item in this period"))),
            measurement_rows(figures, metric="published_mix", unit="%",
                             value=pl.when(~nothing_planned).then(ratio(pl.col("_published"), pl.col("_published_total"))),
                             reason=pl.when(nothing_planned).then(pl.lit(
                                 "no calendar item is planned here in this period: the published mix is "
                                 "compared only against a calendar"))
                             .when(pl.col("_published_total") == 0).then(pl.lit("no post published in this period"))),
        ], how="diagonal_relaxed")


@hookimpl
def register_metrics(register):
    register(ContentMix)
