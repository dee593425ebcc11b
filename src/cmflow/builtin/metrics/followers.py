"""The audience and the followers won and lost: ``followers`` and ``followers_gained``.

``followers`` is a size (how many people follow the account at the period's end), read from
account snapshots; ``followers_gained`` is a flow (how many started following during the
period), read from daily account activity. The two are never mixed: LinkedIn's "New followers"
sheet gives gains per day, which are not an audience. Net growth from snapshots is
``follower_growth``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from pydantic import Field

from cmflow import Metric, PluginOptions, WholeNumber, aggregate, hookimpl, measurement_rows

if TYPE_CHECKING:
    from cmflow import MetricInput

ACCOUNT = ["platform", "account"]


class FollowersOptions(PluginOptions):
    max_age_days: WholeNumber | None = Field(
        None, ge=0, description="How many days before the period's last day the latest follower "
        "count may be. Default: none older than the day before the period starts (the count at "
        "the end of that day), the start follower_growth uses.", examples=[31])


class Followers(Metric):
    """The audience at the period's end: per account, the last ``followers`` of its account
    snapshots on or before the period's last day.

    That count may come from before the period: by default from the day before it at the
    oldest (the end of that day is the start of the period), or from up to ``max_age_days``
    before the period's last day. An older count gives no value, with the reason naming its
    date: an audience from months ago is not today's. Groups of accounts (overall, per platform)
    add up their accounts' counts, and have no value when one of their accounts has no recent
    count (a sum without it would look like a drop). An account with no follower count at all
    in its sources' records (LinkedIn's "New followers" sheet gives gains, not an audience) is
    not part of it.
    """

    name = "followers"
    default_polarity = "up"
    description = "Followers at the end of the period: the latest account snapshot on or before its last day."
    needs = ("account_snapshot",)
    groupings = ("overall", "client", "brand", "platform", "account")
    Options = FollowersOptions
    unit = "followers"

    def compute(self, data: MetricInput):
        import polars as pl

        options: FollowersOptions = self.options
        oldest = [p.end - timedelta(days=options.max_age_days) if options.max_age_days is not None
                  else p.start - timedelta(days=1) for p in data.periods]
        periods = pl.LazyFrame({"period": [p.label for p in data.periods], "end": [p.end for p in data.periods],
                                "oldest": oldest},
                               schema={"period": pl.String, "end": pl.Date, "oldest": pl.Date})
        counts = (data.all_records["account_snapshot"].filter(pl.col("followers").is_not_null())
                  .select(*ACCOUNT, "date", "followers").sort("date"))
        # Every account ever counted, in every period: one without a recent count stays visible.
        grid = periods.join(counts.select(ACCOUNT).unique(), how="cross").sort("end")
        latest = grid.join_asof(counts, left_on="end", right_on="date", by=ACCOUNT, strategy="backward",
                                check_sortedness=False)  # both sorted above
        recent = pl.col("date").is_not_null() & (pl.col("date") >= pl.col("oldest"))
        per_account = latest.with_columns(recent.alias("recent"))
        rows = aggregate(per_account, data.grouping_sets, [
            pl.len().alias("accounts"),
            pl.col("recent").sum().alias("known"),
            pl.col("followers").filter(pl.col("recent")).sum().alias("followers"),
            pl.col("date").max().alias("latest"),
            pl.col("end").first(), pl.col("oldest").first(),
        ], periods=[p.label for p in data.periods])
        missing = pl.col("accounts") - pl.col("known")
        reason = (pl.when(pl.col("accounts").is_null() | (pl.col("accounts") == 0))
                  .then(pl.lit("no follower count for this period"))
                  .when((pl.col("accounts") == 1) & pl.col("latest").is_null())
                  .then(pl.format("no follower count on or before {}", pl.col("end")))
                  .when(pl.col("accounts") == 1)
                  .then(pl.format("latest follower count is from {}, before {}: too old for this period",
                                  pl.col("latest"), pl.col("oldest")))
                  .otherwise(pl.format("no recent follower count for {} of {} accounts",
                                       missing, pl.col("accounts"))))
        value = pl.when((pl.col("accounts") > 0) & (missing == 0)).then(pl.col("followers"))
        return measurement_rows(rows, metric=self.name, unit=self.unit, value=value, reason=reason)


class FollowersGained(Metric):
    """New followers over the period (gross: unfollows not deducted), the sum of the daily
    ``followers_gained`` of account activity; and ``followers_lost``, the sum of the daily
    unfollows, where the export reports them.

    A flow, not an audience: for the audience at the period's end, see ``followers``. A group
    none of whose activity records of the period reports the counter has no value, never 0.
    """

    name = "followers_gained"
    default_polarity = "up"
    measurement_polarities = {"followers_lost": "down"}
    description = "Followers gained (gross) and lost over the period, from daily account activity."
    needs = ("account_activity",)
    groupings = ("overall", "client", "platform", "account")

    def produces(self) -> dict[str, str]:
        return {"followers_gained": "followers", "followers_lost": "followers"}

    def compute(self, data: MetricInput):
        import polars as pl

        counters = ("followers_gained", "followers_lost")
        rows = aggregate(data.records["account_activity"], data.grouping_sets, [
            pl.len().alias("days"),
            *[pl.col(c).sum().alias(f"sum_{c}") for c in counters],
            *[pl.col(c).is_not_null().sum().alias(f"known_{c}") for c in counters],
        ], periods=[p.label for p in data.periods])
        parts = []
        for counter in counters:
            reason = (pl.when(pl.col("days").is_null() | (pl.col("days") == 0))
                      .then(pl.lit("no activity in this period"))
                      .when(pl.col(f"known_{counter}") == 0)
                      .then(pl.lit(f"no activity record reports {counter}")))
            value = pl.when(pl.col(f"known_{counter}") > 0).then(pl.col(f"sum_{counter}"))
            parts.append(measurement_rows(rows, metric=counter, unit="followers", value=value,
                                          reason=reason, basis="activity"))
        return pl.concat(parts)


@hookimpl
def register_metrics(register):
    register(Followers)
    register(FollowersGained)
