"""How much of each campaign's budget is spent: ``budget_consumed``, with ``campaign_spend`` and
``campaign_budget``.

budget consumed = campaign spend / campaign budget x 100, the spend being the cost of the
campaign's time entries from ``since`` (else the earliest the sources return) to the end of
the period, priced as ``production_cost`` prices them, the budget ``[production.budgets]``'s.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING

from pydantic import Field

from cmflow import (Metric, PluginOptions, UserFacingError, campaign_key, campaign_key_of, closest, hookimpl,
                    measurement_rows, ratio)

from cmflow.builtin.metrics.priced_time import (CURRENCY_UNIT, cost_aggregations, cost_counted, priced_entries,
                                                unpriced_reason)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from cmflow import MetricInput, Source


class BudgetOptions(PluginOptions):
    since: date | None = Field(
        None, description="The day campaign spend is counted from (the campaigns' start): time entries "
        "of that day on, up to the end of each period, and the sources are asked for time from that "
        "day. Required when a source is a tracker's API (Toggl, Clockify): without it an API "
        "is asked for the run's periods only, which is no spend to date. Default: every time entry "
        "the sources return up to the end of the period (a CSV export's whole file).",
        examples=["2026-09-01"])


class BudgetConsumed(Metric):
    """Budget consumed = campaign spend / campaign budget x 100, per campaign with a budget in
    ``[production.budgets]``; also gives ``campaign_spend`` and ``campaign_budget`` (in
    [production]'s currency) for reports.

    The spend is the campaign's cost so far: its time entries from ``since`` (else as far back
    as the sources go) up to the end of the period, each priced by its own ``cost`` or its
    person's rate. A campaign with time no rate prices has no spend and no percentage, with the
    reason (how many hours, whose, what to add). A campaign with a budget and no time yet has
    spent 0, unless the time entries name a campaign close to it (``soldes-hiver`` budgeted,
    ``soldes-hivr`` tracked): then a misspelling is more likely than a campaign not started,
    and it has no value, with the closest name. Campaigns are matched by their key
    (:func:`~cmflow.campaign_key`: ``Soldes hiver`` time counts for a ``soldes-hiver``
    budget) and shown as ``[production.budgets]`` writes them. A tracker's amount in another
    currency than [production]'s is never added: no value, with the reason. Over budget is above
    100: a ``threshold`` trigger with ``above = 100`` tells.

    A source that reads a tracker's API (Toggl, Clockify) needs ``since``: the API is asked for
    the run's periods only, and a week's time is not the spend to date.
    """

    name = "budget_consumed"
    default_polarity = "down"  # the same campaign for less of its budget
    measurement_polarities = {"campaign_spend": "down", "campaign_budget": "neutral"}
    description = "Share of each campaign's budget ([production.budgets]) spent so far, in %, with the spend and the budget."
    needs = ("time_entry",)
    groupings = ("campaign",)
    needs_production = ("budgets",)
    default_by = ("campaign",)
    unit = "%"
    Options = BudgetOptions

    def produces(self) -> dict[str, str]:
        return {"budget_consumed": "%", "campaign_spend": CURRENCY_UNIT, "campaign_budget": CURRENCY_UNIT}

    def source_problems(self, sources: "Mapping[str, Source]") -> list[tuple[str, str]]:
        """Without ``since``, a source calling a tracker's API (:attr:`Source.window_only`)
        returns the run's periods only: the spend would be the week's, not the campaign's."""
        if self.options.since is not None:
            return []
        apis = [entry_id for entry_id, source in sources.items()
                if "time_entry" in source.produces() and source.window_only]
        if not apis:
            return []
        return [(f"metric 'budget_consumed' reads time entries from the API of source(s) {', '.join(map(repr, apis))}, "
                 "which return the run's periods only: the spend would not be the spend to date",
                 "set since = \"YYYY-MM-DD\" (the campaigns' start) on this metric")]

    def lookback(self) -> timedelta:
        options: BudgetOptions = self.options
        if options.since is None:
            return timedelta(0)
        # Reaching back from today reaches at least as far back from any earlier period.
        return max(timedelta(0), datetime.now(timezone.utc).date() - options.since)

    def compute(self, data: MetricInput):
        import polars as pl

        options: BudgetOptions = self.options
        budgets = data.production.budgets
        if not budgets:
            raise UserFacingError("budget_consumed: [production] gives no campaign budget: add "
                                  "budgets = { <campaign> = <amount> } to [production]")
        read = data.all_records["time_entry"]
        if options.since is not None:
            read = read.filter(pl.col("date") >= options.since)
        # Read once, then cut at each period's end (the periods' spends overlap: to date).
        # Matched by key: "Soldes hiver" time counts for the "soldes-hiver" budget.
        keys = {name: campaign_key_of(name) for name in budgets}
        entries = (priced_entries(data, read).with_columns(campaign_key(pl.col("campaign")).alias("_key"))
                   .filter(pl.col("_key").is_in([k for k in keys.values() if k is not None]))
                   .select("date", "_key", "person", "hours", "cost", "_foreign").collect())
        read_days = read.select(pl.col("date").min().alias("first")).collect().item()
        named = dict(read.select(campaign_key(pl.col("campaign")).alias("key"), pl.col("campaign").cast(pl.String))
                     .drop_nulls("key").unique("key", keep="first").collect().iter_rows())
        planned = pl.DataFrame({"campaign": list(budgets), "_key": list(keys.values()),
                                "budget": [float(b) for b in budgets.values()],
                                "misnamed": [_misnamed(name, keys[name], named) for name in budgets]},
                               schema_overrides={"_key": pl.String, "misnamed": pl.String})
        parts = []
        for period in data.periods:
            spent = entries.filter(pl.col("date") <= period.end).group_by("_key").agg(cost_aggregations())
            # No entry of any campaign up to then: an export that could not be read, not 0 spent.
            any_entry = read_days is not None and read_days <= period.end
            parts.append(planned.join(spent, on="_key", how="left")
                         .with_columns(pl.lit(period.label).alias("period"), pl.lit(any_entry).alias("any_entry")))
        rows = pl.concat(parts, how="diagonal_relaxed")
        unknown = pl.col("misnamed").is_not_null()
        currency = data.production.currency
        counted = cost_counted() & ~unknown & pl.col("any_entry")
        spend = pl.when(counted).then(pl.col("cost").fill_null(0))
        reason = (pl.when(~pl.col("any_entry")).then(pl.lit("no time entries up to the end of this period"))
                  .when(unknown).then(pl.col("misnamed")).otherwise(unpriced_reason(currency)))
        return pl.concat([
            measurement_rows(rows, metric="budget_consumed", unit="%",
                             reason=pl.when(pl.col("budget") == 0).then(pl.lit("the budget is 0")).otherwise(reason),
                             value=pl.when(counted).then(ratio(pl.col("cost").fill_null(0), pl.col("budget")))),
            measurement_rows(rows, metric="campaign_spend", unit=currency, value=spend, reason=reason),
            measurement_rows(rows, metric="campaign_budget", unit=currency, value=pl.col("budget")),
        ])


def _misnamed(campaign: str, key: str | None, named: dict[str, str]) -> str | None:
    """What to say of a budgeted campaign no time entry names while one names a campaign close
    to it (``soldes-hivr`` for ``soldes-hiver``; ``named``: the entries' campaigns by key,
    compared by key, so ``Soldes hiver`` is the same campaign, not a close one): its spend is
    unknown, not 0. None otherwise (a campaign not started yet has spent 0)."""
    if key is None or key in named:
        return None
    hint = closest(key, list(named))
    if hint is None:
        return None
    return (f"no time entry names campaign {campaign!r} of [production.budgets]; did you mean {named[hint]!r}? "
            "Write the campaign as the time entries do")


@hookimpl
def register_metrics(register):
    register(BudgetConsumed)
