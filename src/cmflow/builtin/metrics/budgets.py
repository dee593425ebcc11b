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

from cmflow import Metric, PluginOptions, UserFacingError, closest, hookimpl, measurement_rows, ratio

from cmflow.builtin.metrics.priced_time import cost_aggregations, priced_entries, unpriced_reason

if TYPE_CHECKING:
    from cmflow import MetricInput


class BudgetOptions(PluginOptions):
    since: date | None = Field(
        None, description="The day campaign spend is counted from (the campaigns' start): time entries "
        "of that day on, up to the end of each period, and the sources are asked for time from that "
        "day. Default: every time entry the sources return up to the end of the period (a CSV "
        "export's whole file; a tracker's API, the run's periods only).",
        examples=["2026-09-01"])


class BudgetConsumed(Metric):
    """Budget consumed = campaign spend / campaign budget x 100, per campaign with a budget in
    ``[production.budgets]``; also gives ``campaign_spend`` and ``campaign_budget`` (in
    [production]'s currency) for reports.

    The spend is the campaign's cost so far: its time entries from ``since`` (else as far back
    as the sources go) up to the end of the period, each priced by its own ``cost`` or its
    person's rate. A campaign with time no rate prices has no spend and no percentage, with the
    reason (how many hours, whose, what to add). A campaign with a budget and no time yet has
    spent 0, unless the time entries name a campaign close to it (``soldes_hiver`` budgeted,
    ``soldes-hiver`` tracked): then a misspelling is more likely than a campaign not started,
    and it has no value, with the closest name. Over budget is above 100: a ``threshold`` trigger with ``above = 100`` tells.
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
        return {"budget_consumed": "%", "campaign_spend": "currency", "campaign_budget": "currency"}

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
        entries = (priced_entries(data, read).filter(pl.col("campaign").is_in(list(budgets)))
                   .select("date", "campaign", "person", "hours", "cost").collect())
        read_days = read.select(pl.col("date").min().alias("first")).collect().item()
        named = set(read.select(pl.col("campaign").cast(pl.String).unique()).collect().to_series().drop_nulls())
        planned = pl.DataFrame({"campaign": list(budgets), "budget": [float(b) for b in budgets.values()],
                                "misnamed": [_misnamed(name, named) for name in budgets]})
        parts = []
        for period in data.periods:
            spent = entries.filter(pl.col("date") <= period.end).group_by("campaign").agg(cost_aggregations())
            # No entry of any campaign up to then: an export that could not be read, not 0 spent.
            any_entry = read_days is not None and read_days <= period.end
            parts.append(planned.join(spent, on="campaign", how="left")
                         .with_columns(pl.lit(period.label).alias("period"), pl.lit(any_entry).alias("any_entry")))
        rows = pl.concat(parts, how="diagonal_relaxed")
        unknown = pl.col("misnamed").is_not_null()
        counted = (pl.col("unpriced_hours").fill_null(0) == 0) & ~unknown & pl.col("any_entry")
        spend = pl.when(counted).then(pl.col("cost").fill_null(0))
        reason = (pl.when(~pl.col("any_entry")).then(pl.lit("no time entries up to the end of this period"))
                  .when(unknown).then(pl.col("misnamed")).otherwise(unpriced_reason()))
        currency = data.production.currency
        return pl.concat([
            measurement_rows(rows, metric="budget_consumed", unit="%",
                             reason=pl.when(pl.col("budget") == 0).then(pl.lit("the budget is 0")).otherwise(reason),
                             value=pl.when(counted).then(ratio(pl.col("cost").fill_null(0), pl.col("budget")))),
            measurement_rows(rows, metric="campaign_spend", unit=currency, value=spend, reason=reason),
            measurement_rows(rows, metric="campaign_budget", unit=currency, value=pl.col("budget")),
        ])


def _misnamed(campaign: str, named: set[str]) -> str | None:
    """What to say of a budgeted campaign no time entry names while one names a campaign close
    to it (``soldes_hiver`` for ``soldes-hiver``, ``named`` being the entries' campaigns): its
    spend is unknown, not 0. None otherwise (a campaign not started yet has spent 0)."""
    if campaign in named:
        return None
    hint = closest(campaign, named)
    if hint is None:
        return None
    return (f"no time entry names campaign {campaign!r} of [production.budgets]; did you mean {hint!r}? "
            "Write the campaign as the time entries do")


@hookimpl
def register_metrics(register):
    register(BudgetConsumed)
