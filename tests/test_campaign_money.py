"""Campaigns and currencies read alike by every money figure (review of issue 18, items 1, 2, 4,
6 and 10), with figures worked out by hand.

The week is Monday 16 to Sunday 22 November 2026. Léa logs 4 h on "Soldes hiver" and 2 h on
"soldes-hiver" at the default rate of 50: one campaign that cost 6 x 50 = 300, whatever the
figure: 30 % of a 1000 budget, 300 per post for its one post, 300 / 5 = 60 per conversion and
500 - 300 = 200 of return.
"""

from __future__ import annotations

import shutil
from datetime import date, datetime, timezone
from pathlib import Path
from types import SimpleNamespace

import polars as pl
import pytest

from cmflow import Period, RecordTable, campaign_key, campaign_key_of
from cmflow.builtin.metrics.budgets import BudgetConsumed
from cmflow.builtin.metrics.conversions import CostPerConversion, Roi, TrafficTotals
from cmflow.builtin.metrics.effort import CostPerPost, ProductionCost
from cmflow.foundation.production import Production
from cmflow.foundation.utm_links import tagged, utm_tags, utm_value
from cmflow.stages.measure import MetricRequest, measure as measure_stage
from cmflow.testing import run_workflow_file

FIXTURES = Path(__file__).parent / "fixtures"
WEEK = Period(date(2026, 11, 16), date(2026, 11, 22), "UTC")
BUDGETED = Production(default_rate=50.0, budgets={"soldes-hiver": 1000})

TRAFFIC = [{"date": date(2026, 11, 18), "source": "instagram", "platform": "instagram", "medium": "social",
            "campaign": "soldes-hiver", "sessions": 100, "conversions": 5, "revenue": 500.0}]
ENTRIES = [{"date": date(2026, 11, 17), "entry_id": "t1", "person": "Léa", "campaign": "Soldes hiver", "hours": 4.0},
           {"date": date(2026, 11, 18), "entry_id": "t2", "person": "Léa", "campaign": "soldes-hiver", "hours": 2.0}]
POSTS = [{"platform": "instagram", "account": "a", "post_id": "p1", "format": "image", "likes": 10, "comments": 1,
          "published_at": datetime(2026, 11, 18, 10, tzinfo=timezone.utc), "campaign": "SOLDES HIVER"}]


def measured(metric_class: type, production: Production = BUDGETED, where: dict | None = None,
             entries: list[dict] = ENTRIES, traffic: list[dict] = TRAFFIC) -> dict:
    """{(metric, campaign): (value, reason)} of the week."""
    data = {"traffic": RecordTable.from_rows("traffic", traffic).conformed().with_columns(source_id=pl.lit("ga4")),
            "time_entry": RecordTable.from_rows("time_entry", entries).conformed().with_columns(
                source_id=pl.lit("toggl")),
            "post": RecordTable.from_rows("post", POSTS).conformed().with_columns(source_id=pl.lit("posts"))}
    plugin = metric_class(metric_class.Options(), entry_id="x")
    result = measure_stage([MetricRequest(plugin, ["campaign"], ["ga4", "toggl", "posts"], where=where or {})],
                           data, [WEEK], production=production)
    assert [(r.ok, r.error) for r in result.reports] == [(True, None)]
    return {(row["metric"], row["campaign"]): (row["value"], row["reason"])
            for row in result.measurements.iter_rows(named=True)}


# -- item 1: one campaign, one cost ---------------------------------------------------------------
def test_every_figure_reads_the_campaigns_two_spellings_as_one() -> None:
    assert measured(ProductionCost) == {("production_cost", "soldes-hiver"): (300.0, None)}
    assert measured(BudgetConsumed) == {("budget_consumed", "soldes-hiver"): (30.0, None),
                                        ("campaign_spend", "soldes-hiver"): (300.0, None),
                                        ("campaign_budget", "soldes-hiver"): (1000.0, None)}
    assert measured(CostPerPost) == {("cost_per_post", "soldes-hiver"): (300.0, None)}  # not 100
    assert measured(CostPerConversion) == {("cost_per_conversion", "soldes-hiver"): (60.0, None)}
    roi = measured(Roi)
    assert roi[("roi", "soldes-hiver")] == (200.0, None)
    assert roi[("roi_pct", "soldes-hiver")][0] == pytest.approx(200 / 300 * 100)


def test_the_run_s_production_is_given_once_and_read_by_every_metric() -> None:
    """[production] is the run's, not a metric's: the measure stage takes it once, and every
    metric prices the time and spells the campaign with it (its budget's key)."""
    data = {"traffic": RecordTable.from_rows("traffic", TRAFFIC).conformed().with_columns(source_id=pl.lit("ga4")),
            "time_entry": RecordTable.from_rows("time_entry", ENTRIES).conformed().with_columns(
                source_id=pl.lit("toggl"))}
    requests = [MetricRequest(metric_class(metric_class.Options(), entry_id=name), ["campaign"], ["ga4", "toggl"],
                              entry_id=name) for metric_class, name in ((ProductionCost, "cost"),
                                                                        (CostPerConversion, "per_conversion"))]
    result = measure_stage(requests, data, [WEEK], production=BUDGETED)
    assert {(row["metric"], row["campaign"]): row["value"] for row in result.measurements.iter_rows(named=True)} \
        == {("production_cost", "soldes-hiver"): 300.0, ("cost_per_conversion", "soldes-hiver"): 60.0}
    assert not hasattr(requests[0], "production")  # a metric entry has no [production] of its own


def test_without_a_budget_the_campaign_is_shown_as_the_earliest_record_writes_it() -> None:
    # Léa's entry of the 17th comes before the post and the traffic of the 18th.
    assert measured(ProductionCost, Production(default_rate=50.0)) == {
        ("production_cost", "Soldes hiver"): (300.0, None)}
    assert measured(CostPerPost, Production(default_rate=50.0)) == {("cost_per_post", "Soldes hiver"): (300.0, None)}


def test_a_where_on_a_campaign_reads_every_spelling_of_it() -> None:
    assert measured(ProductionCost, where={"campaign": "Soldes Hiver"}) == {
        ("production_cost", "soldes-hiver"): (300.0, None)}


def test_the_report_shows_one_row_per_campaign(tmp_path: Path) -> None:
    (tmp_path / "time.csv").write_text("date,person,campaign,hours\n2026-11-17,Léa,Soldes hiver,4\n"
                                       "2026-11-18,Léa,soldes-hiver,2\n", encoding="utf-8")
    (tmp_path / "utm.csv").write_text("utm_source,utm_medium,utm_campaign,date,sessions,conversions,revenue\n"
                                      "instagram,social,soldes-hiver,2026-11-18,100,5,500\n", encoding="utf-8")
    (tmp_path / "w.toml").write_text("""
[workflow]
name = "Soldes"
period = "2026-11-16..2026-11-22"

[production]
default_rate = 50
budgets = { soldes-hiver = 1000 }

[[sources]]
id = "time"
plugin = "csv"
path = "time.csv"
record = "time_entry"

[[sources]]
id = "utm"
plugin = "export"
path = "utm.csv"

[[metrics]]
plugin = "production_cost"
sources = ["time"]
by = ["campaign"]

[[metrics]]
plugin = "budget_consumed"

[[metrics]]
plugin = "cost_per_conversion"

[[metrics]]
plugin = "traffic_totals"
by = ["campaign"]
""", encoding="utf-8")
    from cmflow.builtin.reports.document import build_document
    from cmflow.builtin.reports.scopes import ReportScope

    result = run_workflow_file(tmp_path / "w.toml", store_url=f"sqlite:///{tmp_path}/s.db", dry_run=True)
    assert result.failed_stages == []
    document = build_document(result, ReportScope(), title="Soldes")
    assert [row.name for row in document.campaigns] == ["soldes-hiver"]
    figures = {m: f.value for m, f in document.campaigns[0].figures.items() if f is not None}
    assert figures["cost_per_conversion"] == 60.0 and figures["total_sessions"] == 100
    assert result.value("budget_consumed", campaign="soldes-hiver") == 30.0


def test_a_campaign_s_name_is_shown_to_readers_its_key_kept_in_the_data(tmp_path: Path) -> None:
    """``[production] campaigns`` names a campaign for people (the report's campaign table, an
    alert's words, a task's line), while the measurements keep its key."""
    (tmp_path / "time.csv").write_text("date,person,campaign,hours\n2026-11-17,Léa,Soldes hiver,4\n", encoding="utf-8")
    (tmp_path / "w.toml").write_text("""
[workflow]
name = "Soldes"
period = "2026-11-16..2026-11-22"

[production]
default_rate = 50
budgets = { soldes-hiver = 100 }
campaigns = { soldes-hiver = "Soldes d'hiver" }

[[sources]]
id = "time"
plugin = "csv"
path = "time.csv"
record = "time_entry"

[[metrics]]
plugin = "budget_consumed"

[[triggers]]
id = "over_budget"
plugin = "threshold"
metric = "budget_consumed"
above = 100
""", encoding="utf-8")
    from cmflow.builtin.outputs.alert_language import said_summary
    from cmflow.builtin.outputs.work_items import alert_values, describe
    from cmflow.builtin.reports.document import build_document
    from cmflow.presentation.language import language
    from cmflow.builtin.reports.scopes import ReportScope

    result = run_workflow_file(tmp_path / "w.toml", store_url=f"sqlite:///{tmp_path}/s.db", dry_run=True)
    assert result.failed_stages == []
    assert result.value("budget_consumed", campaign="soldes-hiver") == 200.0  # the data keeps the key
    assert [row.name for row in build_document(result, ReportScope(), title="Soldes").campaigns] == ["Soldes d'hiver"]
    [alert] = result.alerts
    fr = language("fr")
    told = said_summary(alert, fr, result.workflow, "%")
    assert told == "Budget consommé\u00a0: 200,00\u00a0% pour Soldes d'hiver, au-dessus de 100,00\u00a0%"
    batch = SimpleNamespace(result=result, period=result.period)
    lines = describe(alert, alert_values(alert, "%", fr, told), batch, fr)
    assert "Campagne\u00a0: Soldes d'hiver" in lines
    from cmflow.builtin.outputs.html_page import _labels

    # the html_report's rows by campaign; without the workflow (no names known), as written
    assert _labels(["soldes-hiver"], ["campaign"], fr, result.workflow) == ["Soldes d'hiver"]
    assert _labels(["soldes-hiver"], ["campaign"], fr) == ["soldes-hiver"]


# -- item 2: one normaliser -----------------------------------------------------------------------
NAMES = ["Soldes d'hiver", "Black Friday", "black-friday", "BLACK_FRIDAY", "Noël 2026", "Soldes -- Hiver!!",
         "Été/Automne", "Straße", "l'été 2026", "Soldes d\u2019hiver"]


def test_a_campaigns_key_is_the_utm_value_cmflow_utm_writes() -> None:
    keys = pl.DataFrame({"c": NAMES}).select(campaign_key(pl.col("c")))["c"].to_list()
    assert keys == [utm_value(n).replace("-", "_") for n in NAMES]
    assert keys[0] == "soldes_d_hiver" and keys[6] == "ete_automne"
    assert keys[9] == "soldes_d_hiver"  # a word processor's apostrophe separates as ' does
    assert [campaign_key_of(n) for n in NAMES] == keys


def test_a_link_cmflow_utm_tags_joins_the_trackers_campaign() -> None:
    link = tagged("https://maisonlumen.fr/soldes", source="instagram", medium="social", campaign="Soldes d'hiver")
    assert utm_tags(link)["utm_campaign"] == "soldes-d-hiver"
    traffic = [{**TRAFFIC[0], "campaign": "soldes-d-hiver"}]
    entries = [{**e, "campaign": "Soldes d'hiver"} for e in ENTRIES]
    # 6 h x 50 / 5 conversions: the links' visits and the tracker's time are one campaign.
    assert measured(CostPerConversion, Production(default_rate=50.0), entries=entries, traffic=traffic) == {
        ("cost_per_conversion", "Soldes d'hiver"): (60.0, None)}


def test_a_name_with_no_latin_letter_keeps_a_key_of_its_own() -> None:
    keys = pl.DataFrame({"c": ["Распродажа", "распродажа ", "(not set)"]}).select(campaign_key(pl.col("c")))
    assert keys["c"].to_list() == ["распродажа", "распродажа", None]


# -- item 4: currencies ---------------------------------------------------------------------------
CLOCKIFY_WORKFLOW = """
[workflow]
name = "Cur"
timezone = "Europe/Paris"
period = "2026-11-01..2026-11-30"

[production]
currency = "{currency}"
default_rate = 40

[[sources]]
id = "time"
plugin = "export"
path = "time.csv"

[[metrics]]
plugin = "production_cost"
"""


@pytest.mark.parametrize("currency, expected", [
    ("EUR", (None, "time tracker amounts are in USD, and [production] currency is EUR: amounts in two currencies "
                   "are never added up; set [production] currency to theirs, or export them in EUR")),
    ("USD", (157.5 + 94.5, None)),  # the two billable amounts of the export, in its currency
])
def test_a_trackers_amounts_in_another_currency_are_refused(tmp_path: Path, currency: str, expected) -> None:
    shutil.copy(FIXTURES / "clockify" / "clockify-detailed-us.csv", tmp_path / "time.csv")
    (tmp_path / "w.toml").write_text(CLOCKIFY_WORKFLOW.format(currency=currency), encoding="utf-8")
    result = run_workflow_file(tmp_path / "w.toml", store_url=f"sqlite:///{tmp_path}/s.db", dry_run=True)
    assert result.failed_stages == []
    row = result.measurements.filter((pl.col("metric") == "production_cost") & (pl.col("period") == "current"))
    assert (row["value"].item(), row["reason"].item()) == expected
    assert row["unit"].item() == currency


def test_revenue_in_dollars_is_not_added_to_a_euro_workflow() -> None:
    traffic = [{**TRAFFIC[0], "currency": "$"}]
    frame = measured(TrafficTotals, Production(default_rate=50.0), traffic=traffic)
    assert frame[("total_revenue", "Soldes hiver")] == (
        None, "traffic revenue amounts are in $, and [production] currency is EUR: amounts in two currencies are "
              "never added up; set [production] currency to theirs, or export them in EUR")
    assert frame[("total_sessions", "Soldes hiver")] == (100, None)
    roi = measured(Roi, Production(default_rate=50.0), traffic=traffic)
    assert roi[("roi", "Soldes hiver")][0] is None and "are in $" in roi[("roi", "Soldes hiver")][1]
    # A dollar workflow adds them up.
    dollars = measured(TrafficTotals, Production(currency="USD", default_rate=50.0), traffic=traffic)
    assert dollars[("total_revenue", "Soldes hiver")] == (500.0, None)


def test_a_traffic_file_says_its_currency(tmp_path: Path) -> None:
    from cmflow.builtin.sources.export_source import ExportOptions, ExportSource
    from source_helpers import fetch_records

    shutil.copy(FIXTURES / "exports" / "utm-traffic-fr.csv", tmp_path / "utm.csv")
    source = ExportSource(ExportOptions(path=str(tmp_path / "utm.csv")), entry_id="utm")
    records, _ = fetch_records(source, None, (WEEK.start_utc, WEEK.end_utc), [WEEK])
    assert [(r["revenue"], r["currency"]) for r in records["traffic"]] == [
        (89.9, "EUR"), (1234.5, "EUR"), (0.0, "EUR")]


# -- item 10: spend to date from an API -----------------------------------------------------------
TOGGL_WORKFLOW = """
[workflow]
name = "Budgets"
period = "last_week"

[production]
default_rate = 40
budgets = { soldes-hiver = 1000 }

[[sources]]
id = "toggl"
plugin = "toggl"
workspace_id = 1234567
token = "${env:TOGGL_API_TOKEN}"

[[metrics]]
plugin = "budget_consumed"
"""


def test_budget_consumed_from_a_trackers_api_needs_since(tmp_path: Path, monkeypatch) -> None:
    from cmflow.foundation.errors import WorkflowInvalid
    from cmflow.workflow import load_workflow

    monkeypatch.setenv("TOGGL_API_TOKEN", "not-a-real-token")
    with pytest.raises(WorkflowInvalid) as caught:
        load_workflow(tmp_path / "w.toml", text=TOGGL_WORKFLOW)
    assert [(p.path, p.message, p.hint) for p in caught.value.problems] == [
        ("metrics[0]", "metric 'budget_consumed' reads time entries from the API of source(s) 'toggl', which "
                       "return the run's periods only: the spend would not be the spend to date",
         'set since = "YYYY-MM-DD" (the campaigns\' start) on this metric')]
    load_workflow(tmp_path / "w.toml", text=TOGGL_WORKFLOW + 'since = "2026-10-01"\n')  # valid
