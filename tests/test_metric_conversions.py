"""The conversion metrics (``traffic_totals``, ``conversion_rate``, ``cost_per_conversion``,
``roi``) through the runner's metric stage, with figures worked out by hand.

The week is Monday 16 to Sunday 22 November 2026. Black Friday's two days of Instagram traffic
convert at 1 % and 30 %: the week's rate is 4 / 110, not the mean of the two (15.5 %).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl
import pytest

from cmflow import Period, RecordTable
from cmflow.builtin.metrics.conversions import ConversionRate, CostPerConversion, Roi, TrafficTotals
from cmflow.foundation.campaign_names import campaign_key
from cmflow.foundation.measurements import DIMENSIONS
from cmflow.foundation.production import Production
from cmflow.stages.measure import MetricRequest, measure as measure_stage

WEEK = Period(date(2026, 11, 16), date(2026, 11, 22), "UTC")
PREVIOUS = Period(date(2026, 11, 9), date(2026, 11, 15), "UTC", label="previous_period")
RATES = Production(rates={"Léa": 60.0, "designer": 45.0}, roles={"Hugo": "designer"})


def visit(day: int, source: str, platform: str | None, campaign: str, sessions: int, conversions: int,
          revenue: float, medium: str = "social") -> dict[str, Any]:
    return {"date": date(2026, 11, day), "source": source, "platform": platform, "medium": medium,
            "campaign": campaign, "sessions": sessions, "conversions": conversions, "revenue": revenue}


def entry(day: int, person: str, campaign: str | None, hours: float, number: int) -> dict[str, Any]:
    return {"date": date(2026, 11, day), "entry_id": f"t{number}", "person": person, "campaign": campaign,
            "hours": hours}


TRAFFIC = [
    visit(18, "instagram", "instagram", "black_friday", 100, 1, 40.0),
    visit(19, "l.instagram.com", "instagram", "black_friday", 10, 3, 150.0),
    visit(19, "newsletter", None, "nov_digest", 50, 0, 0.0, medium="email"),
    visit(18, "google", None, "(organic)", 200, 2, 80.0, medium="organic"),
    visit(12, "instagram", "instagram", "black_friday", 40, 2, 60.0),  # the week before
]
ENTRIES = [
    entry(17, "Léa", "Black Friday", 2.5, 1),    # 2.5 h x 60 = 150
    entry(18, "Hugo", "black-friday", 2.0, 2),   # designer: 2 h x 45 = 90
    entry(18, "Zoé", "Nov digest", 1.5, 3),      # no rate of hers, no default rate
    entry(19, "Léa", "Winter sale", 1.0, 4),     # 60, a campaign with no traffic yet
    entry(20, "Léa", None, 3.0, 5),              # no campaign: in no campaign's cost
]


def measure(metric_class: type, by: list, production: Production = RATES,
            traffic: list[dict] = TRAFFIC, entries: list[dict] = ENTRIES, **options) -> pl.DataFrame:
    data = {"traffic": RecordTable.from_rows("traffic", traffic).conformed().with_columns(source_id=pl.lit("ga4")),
            "time_entry": RecordTable.from_rows("time_entry", entries).conformed().with_columns(
                source_id=pl.lit("toggl"))}
    plugin = metric_class(metric_class.Options(**options), entry_id="x")
    measured = measure_stage([MetricRequest(plugin, by, ["ga4", "toggl"])], data, [WEEK, PREVIOUS],
                             production=production)
    assert [(s.ok, s.error) for s in measured.reports] == [(True, None)]
    return measured.measurements


def rows(frame: pl.DataFrame, metric: str, period: str = "current") -> dict[tuple, tuple]:
    """(value, reason) per series (the tuple of its non-empty dimensions)."""
    selected = frame.filter((pl.col("period") == period) & (pl.col("metric") == metric))
    return {tuple(row[d] for d in DIMENSIONS if row[d] is not None): (row["value"], row["reason"])
            for row in selected.iter_rows(named=True)}


def values(frame: pl.DataFrame, metric: str, period: str = "current") -> dict[tuple, float | None]:
    return {key: value for key, (value, _) in rows(frame, metric, period).items()}


# -- conversion rate --------------------------------------------------------------------------------
def test_the_conversion_rate_is_a_ratio_of_the_weeks_sums_not_a_mean_of_daily_rates() -> None:
    frame = measure(ConversionRate, ["overall", "campaign", "platform"])
    rates = values(frame, "conversion_rate")
    # Black Friday: 1 of 100 sessions on the 18th (1 %), 3 of 10 on the 19th (30 %): 4 / 110.
    assert rates[("black_friday",)] == pytest.approx(4 / 110 * 100)  # 3.64 %, not 15.5 %
    assert rates[()] == pytest.approx(6 / 360 * 100)
    assert rates[("instagram",)] == pytest.approx(4 / 110 * 100)
    assert rates[("(none)",)] == pytest.approx(2 / 250 * 100)  # newsletter and search: no platform
    # nov_digest is shown as the earliest record names it: the time entry of the 18th, "Nov digest".
    assert rates[("Nov digest",)] == 0.0  # 50 sessions, no conversion: a true 0 %
    assert values(frame, "conversion_rate", "previous_period")[("black_friday",)] == pytest.approx(5.0)
    assert frame.filter(pl.col("metric") == "conversion_rate")["unit"].unique().to_list() == ["%"]


def test_a_campaign_without_sessions_has_no_conversion_rate_and_says_why() -> None:
    traffic = [visit(18, "ig", "instagram", "teaser", 0, 0, 0.0), visit(12, "ig", "instagram", "old", 10, 1, 5.0)]
    frame = measure(ConversionRate, ["campaign"], traffic=traffic)
    assert rows(frame, "conversion_rate")[("teaser",)] == (None, "no sessions")
    assert rows(frame, "conversion_rate")[("old",)] == (None, "no traffic in this period")


# -- totals ---------------------------------------------------------------------------------------------
def test_traffic_totals_add_up_sessions_conversions_and_revenue() -> None:
    traffic = [*TRAFFIC, visit(19, "t.co", "x", "black_friday", 7, 0, 0.0) | {"users": 6}]
    frame = measure(TrafficTotals, ["overall", "campaign"], production=Production(currency="CHF"), traffic=traffic)
    assert values(frame, "total_sessions")[()] == 100 + 10 + 50 + 200 + 7
    assert values(frame, "total_conversions")[("black_friday",)] == 4
    assert values(frame, "total_revenue")[()] == 40 + 150 + 0 + 80
    # Only the t.co row reports users: the others are unknown, not 0.
    assert rows(frame, "total_users")[("Nov digest",)] == (None, "no traffic record reports users")
    assert values(frame, "total_users")[("black_friday",)] == 6
    units = dict(frame.select("metric", "unit").unique().iter_rows())
    assert units["total_revenue"] == "CHF" and units["total_sessions"] == "sessions"


def test_totals_points_at_traffic_totals_for_sessions() -> None:
    from cmflow.builtin.metrics.totals import TotalsOptions

    with pytest.raises(ValueError, match="sessions is a traffic figure: the traffic_totals metric totals it"):
        TotalsOptions(counters=["likes", "sessions"])


# -- cost per conversion and ROI ------------------------------------------------------------------------
def test_cost_per_conversion_per_campaign_with_production_rates() -> None:
    frame = measure(CostPerConversion, ["campaign"])
    found = rows(frame, "cost_per_conversion")
    # "Black Friday" and "black-friday" in the tracker are the links' black_friday: (150 + 90) / 4.
    assert found[("black_friday",)] == (pytest.approx(60.0), None)
    assert found[("Nov digest",)] == (None, "no conversion: a cost per conversion is not defined")
    assert found[("Winter sale",)] == (None, "no traffic names the campaign (utm_campaign) in this period")
    assert ("(organic)",) not in found and ("(none)",) not in found  # no campaign: in no campaign's figures
    assert frame["unit"].unique().to_list() == ["EUR"]


def test_unpriced_time_gives_no_cost_and_says_how_many_hours() -> None:
    frame = measure(CostPerConversion, ["overall"])
    # The week's campaigns: Zoé's 1.5 h have no rate, so their whole cost is unknown (never free).
    assert rows(frame, "cost_per_conversion")[()] == (
        None, "1.5\u00a0h of time has no rate (Zoé): add a rate for each person or their role, or default_rate, "
              "to [production]")


def test_with_a_default_rate_the_overall_cost_per_conversion_adds_every_campaign() -> None:
    production = Production(rates={"Léa": 60.0, "designer": 45.0}, roles={"Hugo": "designer"}, default_rate=30.0)
    frame = measure(CostPerConversion, ["overall"], production=production)
    # (150 + 90 + 1.5 x 30 + 60) / (4 + 0): the untagged search traffic and the 3 h of no campaign left out.
    assert values(frame, "cost_per_conversion")[()] == pytest.approx(345 / 4)


def test_roi_is_revenue_minus_cost_and_its_percentage_of_the_cost() -> None:
    production = Production(rates={"Léa": 60.0, "designer": 45.0}, roles={"Hugo": "designer"}, default_rate=30.0)
    frame = measure(Roi, ["overall", "campaign"], production=production)
    roi, pct = values(frame, "roi"), values(frame, "roi_pct")
    assert roi[("black_friday",)] == pytest.approx(190 - 240)
    assert pct[("black_friday",)] == pytest.approx(-50 / 240 * 100)
    assert roi[("Nov digest",)] == pytest.approx(-45.0) and pct[("Nov digest",)] == pytest.approx(-100.0)
    assert roi[()] == pytest.approx(190 - 345)
    assert pct[()] == pytest.approx(-155 / 345 * 100)
    assert rows(frame, "roi")[("Winter sale",)] == (
        None, "no traffic names the campaign (utm_campaign) in this period")


def test_roi_without_rates_is_unknown_not_the_whole_revenue() -> None:
    frame = measure(Roi, ["campaign"], production=Production())
    value, reason = rows(frame, "roi")[("black_friday",)]
    assert value is None and reason.startswith("4.5\u00a0h of time has no rate (Hugo, Léa)")


def test_campaign_keys_set_case_accents_spaces_hyphens_and_underscores_aside() -> None:
    keys = pl.DataFrame({"c": ["Black Friday", "black-friday", " BLACK_FRIDAY ", "(not set)", "(none)", None,
                               "Soldes d'hiver", "Noël"]}).select(campaign_key(pl.col("c")))["c"].to_list()
    assert keys == ["black_friday"] * 3 + [None, None, None, "soldes_d_hiver", "noel"]


def test_each_measurement_says_which_way_is_good() -> None:
    pairs = {(cls.name, m): cls(cls.Options(), entry_id="x").polarity(m)
             for cls in (TrafficTotals, ConversionRate, CostPerConversion, Roi)
             for m in cls(cls.Options(), entry_id="x").produces()}
    assert pairs == {
        ("traffic_totals", "total_sessions"): "up", ("traffic_totals", "total_users"): "up",
        ("traffic_totals", "total_conversions"): "up", ("traffic_totals", "total_revenue"): "up",
        ("conversion_rate", "conversion_rate"): "up",
        ("cost_per_conversion", "cost_per_conversion"): "down",
        ("roi", "roi"): "up", ("roi", "roi_pct"): "up",
    }
