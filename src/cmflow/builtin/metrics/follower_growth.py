"""Follower growth, from daily account snapshots: ``follower_growth``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from datetime import timedelta

from cmflow import Metric, SharesAggregates, aggregate, hookimpl, measurement_rows, ratio

from cmflow.builtin.metrics.common import follower_counts

if TYPE_CHECKING:
    from cmflow import Aggregate, MetricInput


class FollowerGrowth(SharesAggregates, Metric):
    """Followers gained over the period, as a count and in %.

    growth = followers at the end of the period - followers at its start, where the start is
    the count on the day before the period (the end of the previous day) or, if that day has no
    snapshot, the first snapshot in the period. growth % = growth / start x 100. Groups of
    accounts add their counts up before dividing. An account with a single count in the period
    and none the day before has no growth value (it is unknown, not 0).
    """

    name = "follower_growth"
    default_polarity = "up"
    description = "Follower growth over the period: absolute (follower_growth) and % (follower_growth_pct)."
    needs = ("account_snapshot",)
    groupings = ("overall", "client", "brand", "platform", "account")

    def produces(self) -> dict[str, str]:
        return {"follower_growth": "followers", "follower_growth_pct": "%"}

    def aggregates(self, data: MetricInput) -> dict[str, "Aggregate"]:
        import polars as pl

        return {"in_period": follower_counts(data, (  # each group's first and last day, no sort
            pl.len().alias("snapshots"),
            pl.col("followers").min_by("date").alias("first_in_period"),
            pl.col("followers").max_by("date").alias("end"),
        ))}

    def from_aggregates(self, data: MetricInput, grouped):
        import polars as pl

        account = ["platform", "account"]
        in_period = grouped["in_period"].lazy()
        eve = pl.LazyFrame({"period": [p.label for p in data.periods],
                            "date": [p.start - timedelta(days=1) for p in data.periods]},
                           schema={"period": data.records["account_snapshot"].collect_schema()["period"],
                                   "date": pl.Date})
        day_before = (eve.join(data.all_records["account_snapshot"]
                               .filter(pl.col("followers").is_not_null()), on="date", how="inner")
                      .group_by(["period", *account]).agg(pl.col("followers").last().alias("eve")))
        # One count in the period and none the day before: growth is unknown, not 0.
        first = pl.when(pl.col("snapshots") > 1).then(pl.col("first_in_period"))
        per_account = (in_period.join(day_before, on=["period", *account], how="left")
                       .with_columns(pl.coalesce("eve", first).alias("start"))
                       .with_columns(pl.col("start").is_not_null().alias("known")))
        known = pl.col("known")
        rows = aggregate(per_account, data.grouping_sets, [
            pl.len().alias("accounts"),
            known.sum().alias("known"),
            pl.when(known).then(pl.col("start")).sum().alias("start"),
            pl.when(known).then(pl.col("end")).sum().alias("end"),
        ], periods=[p.label for p in data.periods])
        no_data = (pl.when(pl.col("accounts").is_null()).then(pl.lit("no follower count for this period"))
                   .when(pl.col("known") == 0)
                   .then(pl.lit("one follower count only: growth needs two days")))
        growth = pl.when(pl.col("known") > 0).then(pl.col("end") - pl.col("start"))
        return pl.concat([
            measurement_rows(rows, metric="follower_growth", unit="followers", value=growth, reason=no_data),
            measurement_rows(rows, metric="follower_growth_pct", unit="%",
                             value=ratio(growth, pl.col("start")),
                             reason=no_data.when(pl.col("start") == 0).then(pl.lit("followers at start is 0"))),
        ])


@hookimpl
def register_metrics(register):
    register(FollowerGrowth)
