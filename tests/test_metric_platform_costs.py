"""``cost_per_conversion`` and ``roi`` by platform: the cost of the time entries naming a platform
over the conversions (revenue) of the traffic from it, with figures worked out by hand.

One week of Black Friday at 50 an hour: 2 h of time tagged Instagram (100), 1 h tagged LinkedIn
(50) and 3 h naming no platform (150). Instagram brought 4 conversions and 300 of revenue,
LinkedIn 1 conversion and 20. The untagged 150 is never spread over the platforms: it is on the
``(none)`` row, which has no conversion.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl
import pytest

from cmflow import NONE_LABEL, Period, RecordTable
from cmflow.builtin.metrics.conversions import CostPerConversion, Roi
from cmflow.foundation.measurements import DIMENSIONS
from cmflow.foundation.production import Production
from cmflow.stages.measure import MetricRequest, measure as measure_stage

WEEK = Period(date(2026, 11, 16), date(2026, 11, 22), "UTC")
FIFTY = Production(default_rate=50.0)


def entry(number: int, platform: str | None, hours: float, campaign: str = "Black Friday") -> dict[str, Any]:
    return {"date": date(2026, 11, 17), "entry_id": f"t{number}", "person": "Léa", "campaign": campaign,
            "platform": platform, "hours": hours}


def visit(source: str, platform: str | None, conversions: int, revenue: float,
          campaign: str = "black_friday") -> dict[str, Any]:
    return {"date": date(2026, 11, 18), "source": source, "platform": platform, "medium": "social",
            "campaign": campaign, "sessions": 100, "conversions": conversions, "revenue": revenue}


ENTRIES = [entry(1, "instagram", 2.0), entry(2, "linkedin", 1.0), entry(3, None, 3.0)]
TRAFFIC = [visit("ig", "instagram", 4, 300.0), visit("linkedin.com", "linkedin", 1, 20.0)]


def measure(metric_class: type, by: list, traffic: list[dict] = TRAFFIC,
            entries: list[dict] = ENTRIES, where: dict | None = None) -> pl.DataFrame:
    data = {"traffic": RecordTable.from_rows("traffic", traffic).conformed().with_columns(source_id=pl.lit("ga4")),
            "time_entry": RecordTable.from_rows("time_entry", entries).conformed().with_columns(
                source_id=pl.lit("toggl"))}
    plugin = metric_class(metric_class.Options(), entry_id="x")
    request = MetricRequest(plugin, by, ["ga4", "toggl"], where=where or {})
    measured = measure_stage([request], data, [WEEK], production=FIFTY)
    assert [(s.ok, s.error) for s in measured.reports] == [(True, None)]
    return measured.measurements


def rows(frame: pl.DataFrame, metric: str) -> dict[tuple, tuple]:
    """(value, reason) per series (the tuple of its non-empty dimensions)."""
    selected = frame.filter((pl.col("period") == "current") & (pl.col("metric") == metric))
    return {tuple(row[d] for d in DIMENSIONS if row[d] is not None): (row["value"], row["reason"])
            for row in selected.iter_rows(named=True)}


def test_cost_per_conversion_by_platform_counts_only_the_time_naming_it() -> None:
    found = rows(measure(CostPerConversion, ["overall", "platform"]), "cost_per_conversion")
    assert found[("instagram",)] == (pytest.approx(25.0), None)  # 2 h x 50 = 100 / 4 conversions
    assert found[("linkedin",)] == (pytest.approx(50.0), None)  # 1 h x 50 = 50 / 1 conversion
    value, reason = found[(NONE_LABEL,)]  # 3 h x 50 = 150 of untagged time, no traffic to meet it
    assert value is None
    assert reason == ("no traffic from another source than the social platforms names a campaign "
                      "(utm_campaign) in this period")
    # the overall figure is unchanged: all 6 h x 50 = 300 over all 5 conversions
    assert found[()] == (pytest.approx(60.0), None)
    assert rows(measure(CostPerConversion, ["overall"]), "cost_per_conversion")[()] == (pytest.approx(60.0), None)


def test_roi_by_platform() -> None:
    frame = measure(Roi, ["overall", "platform"])
    roi, pct = rows(frame, "roi"), rows(frame, "roi_pct")
    assert roi[("instagram",)] == (pytest.approx(200.0), None)  # 300 - 100
    assert pct[("instagram",)] == (pytest.approx(200.0), None)  # 200 / 100 x 100
    assert roi[("linkedin",)] == (pytest.approx(-30.0), None)  # 20 - 50
    assert pct[("linkedin",)] == (pytest.approx(-60.0), None)  # -30 / 50 x 100
    assert roi[(NONE_LABEL,)][0] is None and "no traffic from another source" in roi[(NONE_LABEL,)][1]
    assert roi[()] == (pytest.approx(20.0), None)  # 320 - 300: the overall figure is unchanged


def test_a_platform_with_traffic_but_no_time_naming_it_has_no_cost() -> None:
    traffic = [*TRAFFIC, visit("tiktok", "tiktok", 2, 90.0)]
    found = rows(measure(CostPerConversion, ["platform"], traffic=traffic), "cost_per_conversion")
    value, reason = found[("tiktok",)]
    assert value is None  # never 0: the time may be untagged
    assert reason == ("no time entry of a campaign names tiktok (a tag, project or task): its production "
                      "cost is unknown")
    assert found[("instagram",)] == (pytest.approx(25.0), None)


def test_untagged_time_meets_the_traffic_from_no_social_platform_on_the_none_row() -> None:
    traffic = [*TRAFFIC, visit("newsletter", None, 2, 60.0)]
    frame = measure(CostPerConversion, ["platform"], traffic=traffic)
    assert rows(frame, "cost_per_conversion")[(NONE_LABEL,)] == (pytest.approx(75.0), None)  # 150 / 2
    roi = rows(measure(Roi, ["platform"], traffic=traffic), "roi")
    assert roi[(NONE_LABEL,)] == (pytest.approx(-90.0), None)  # 60 - 150


def test_every_entry_naming_a_platform_leaves_no_cost_on_the_none_row() -> None:
    entries = [entry(1, "instagram", 2.0), entry(2, "linkedin", 1.0)]
    traffic = [*TRAFFIC, visit("newsletter", None, 2, 60.0)]
    found = rows(measure(CostPerConversion, ["platform"], traffic=traffic, entries=entries),
                 "cost_per_conversion")
    assert found[(NONE_LABEL,)] == (None, "every time entry of the campaigns names a platform: no cost without one")


def test_platform_and_campaign_together() -> None:
    entries = [*ENTRIES, entry(4, "instagram", 4.0, campaign="Noël"), entry(5, "instagram", 1.0, campaign=None)]
    traffic = [*TRAFFIC, visit("instagram", "instagram", 1, 10.0, campaign="noel")]
    found = rows(measure(CostPerConversion, [["campaign", "platform"], "platform"], traffic=traffic,
                         entries=entries), "cost_per_conversion")
    assert found[("instagram", "Black Friday")] == (pytest.approx(25.0), None)  # 100 / 4
    assert found[("instagram", "Noël")] == (pytest.approx(200.0), None)  # 4 h x 50 / 1
    # the hour naming no campaign is left out, as by campaign: (100 + 200) / 5
    assert found[("instagram",)] == (pytest.approx(60.0), None)


def test_a_sheet_maps_the_platform_from_a_column_as_traffic_names_it(tmp_path) -> None:
    """The csv source: a time sheet's "Réseau" column; IG, linkedin.com and Instagram are the
    platforms traffic names, a value naming none (Newsletter) stays as written, in lower case."""
    import logging

    from cmflow import FetchContext
    from cmflow.builtin.sources.csv_source import CsvSource

    (tmp_path / "temps.csv").write_bytes(
        "\ufeffDate;Personne;Réseau;Heures\r\n17/11/2026;Léa;IG;2,5\r\n17/11/2026;Léa;linkedin.com;1\r\n"
        "18/11/2026;Hugo;Instagram;0,5\r\n18/11/2026;Hugo;Newsletter;1\r\n18/11/2026;Hugo;;3\r\n".encode())
    source = CsvSource(CsvSource.Options(
        path="temps.csv", record="time_entry", delimiter=";", decimal=",", date_format="%d/%m/%Y",
        columns={"date": "Date", "person": "Personne", "platform": "Réseau", "hours": "Heures"}), entry_id="sheet")
    ctx = FetchContext(WEEK.start_utc, WEEK.end_utc, [WEEK], tmp_path, logging.getLogger("test.sheet"), [])
    (table,) = list(source.fetch(ctx))
    frame = table.conformed()
    assert frame["platform"].to_list() == ["instagram", "linkedin", "instagram", "newsletter", None]
    assert frame["hours"].to_list() == [2.5, 1.0, 0.5, 1.0, 3.0]


def test_a_where_on_platform_picks_the_traffic_not_the_time() -> None:
    """``where = { platform = "instagram" }`` keeps Instagram's traffic; the cost stays that of all
    the time, as before time entries had a platform (a cost_per_post's where picks posts alike):
    the time naming Instagram is read with by = ["platform"]."""
    found = rows(measure(CostPerConversion, ["overall", "platform"], where={"platform": "instagram"}),
                 "cost_per_conversion")
    assert found[()] == (pytest.approx(75.0), None)  # all 6 h x 50 = 300 / Instagram's 4 conversions
    assert found[("instagram",)] == (pytest.approx(25.0), None)  # 100 / 4
    assert found[("linkedin",)][0] is None  # its hour, without its traffic
