"""UTM traffic exports read by the ``export`` source: GA4's traffic acquisition download (``#``
lines above the header, a totals row, `€1,234.50`, CRLF, a byte-order mark) and the neutral
`utm_*` CSV as a French spreadsheet writes it (`;`, `1 234,50 €` with narrow no-break spaces,
18/11/2026). Fixtures: tests/fixtures/exports/ga4-traffic-acquisition.csv and utm-traffic-fr.csv,
invented figures; every expected figure below is read off them by hand.
"""

from __future__ import annotations

import logging
import shutil
from datetime import date, datetime, timezone
from pathlib import Path

import polars as pl
import pytest

from cmflow import DataFileError
from cmflow.builtin.sources.export_detection import identify
from cmflow.builtin.sources.export_source import ExportOptions, ExportSource
from cmflow.plugins.context import FetchContext
from cmflow.testing import run_workflow_file

FIXTURES = Path(__file__).parent / "fixtures" / "exports"
GA4_CSV = FIXTURES / "ga4-traffic-acquisition.csv"
UTM_CSV = FIXTURES / "utm-traffic-fr.csv"
COLUMNS = ["date", "source", "medium", "campaign", "content", "platform", "sessions", "users", "conversions", "revenue"]


def read(path: Path, **options) -> tuple[pl.DataFrame, FetchContext]:
    ctx = FetchContext(datetime(2026, 11, 1, tzinfo=timezone.utc), datetime(2026, 12, 1, tzinfo=timezone.utc), [],
                       path.parent, logging.getLogger("test"))
    source = ExportSource(ExportOptions(path=str(path), **options), entry_id="traffic")
    tables = {table.kind: table.frame for table in source.fetch(ctx)}
    assert list(tables) == ["traffic"]
    return tables["traffic"], ctx


def test_both_exports_are_recognised_by_their_header() -> None:
    [ga4] = identify(GA4_CSV).tables
    assert (ga4.format.name, ga4.header_row) == ("ga4_traffic", 11)  # under nine # lines and a blank one
    [utm] = identify(UTM_CSV).tables
    assert (utm.format.name, utm.header_row) == ("utm_traffic", 1)


def test_a_ga4_download_reads_without_its_comments_and_totals_row() -> None:
    traffic, ctx = read(GA4_CSV)
    rows = traffic.sort("sessions").select(COLUMNS).rows()
    assert rows == [
        (date(2026, 11, 19), "l.instagram.com", "referral", "black_friday", None, "instagram", 10, 9, 3, 150.0),
        (date(2026, 11, 19), "lnkd.in", "social", "Black Friday", None, "linkedin", 85, 80, 2, 99.9),
        (date(2026, 11, 18), "ig", "social", "black_friday", None, "instagram", 100, 92, 1, 40.0),
        (date(2026, 11, 19), "newsletter", "email", "nov_digest", None, None, 300, 251, 3, 290.0),
        (date(2026, 11, 18), "(direct)", "(none)", "(not set)", None, None, 1200, 980, 20, 1934.5),
    ]
    # The totals row (1,695 sessions) is not a record: the sessions add up to it once, not twice.
    assert traffic["sessions"].sum() == 1695 and traffic["revenue"].sum() == pytest.approx(2514.40)
    assert ctx.problems == [] and ctx.skipped == []


def test_a_french_utm_sheet_reads_with_its_separator_decimal_commas_and_day_first_dates() -> None:
    traffic, _ = read(UTM_CSV)
    rows = traffic.sort("sessions").select(COLUMNS).rows()
    assert rows == [
        (date(2026, 11, 19), "t.co", "social", "soldes_hiver", None, "x", 40, None, 0, 0.0),
        (date(2026, 11, 18), "instagram", "social", "soldes_hiver", "reel_1", "instagram", 120, 110, 2, 89.9),
        (date(2026, 11, 19), "fb", "paid", "soldes_hiver", "carrousel; v2", "facebook", 1050, 980, 12, 1234.5),
    ]  # users left empty stay unknown (None), never 0; the "Total" row is left out


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


HEADER = "utm_source,utm_medium,utm_campaign,date,sessions,conversions,revenue\n"


def test_a_bad_amount_names_the_file_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "utm.csv", HEADER + "ig,social,bf,2026-11-18,100,1,€40.00\nig,social,bf,2026-11-19,12,1,€4O.00\n")
    with pytest.raises(DataFileError) as caught:
        read(path)
    message = str(caught.value)
    assert message.startswith(f"{path}, line 3, column \"revenue\": value \"€4O.00\" is not a number")
    assert "on_error = \"skip\"" in message and "\n" not in message


def test_skipped_bad_rows_are_listed_and_the_others_read(tmp_path: Path) -> None:
    path = write(tmp_path, "utm.csv", HEADER + "ig,social,bf,2026-11-18,100,1,40\nig,social,bf,19/13/2026,12,1,4\n")
    traffic, ctx = read(path, on_error="skip")
    assert traffic["sessions"].to_list() == [100]
    assert ctx.skipped == ['utm.csv, line 3, column "date": value "19/13/2026" is not a date (expected '
                           '2026-11-18 or 20261118 or 18/11/2026 or 11/18/2026)']


def test_decimal_points_and_commas_in_one_file_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "utm.csv", HEADER + 'ig,social,bf,2026-11-18,100,1,"1,234.50"\nig,social,bf,2026-11-19,12,1,"2,5"\n')
    with pytest.raises(DataFileError, match='line 2 writes "1,234.50" with a decimal point and line 3 "2,5" with a '
                                            'decimal comma'):
        read(path)


def test_thousands_alone_follow_the_files_locale(tmp_path: Path) -> None:
    """`1,234` has no decimal part: thousands in a `,` file; in a `;` file, `1.234` is."""
    comma = write(tmp_path, "a.csv", HEADER + 'ig,social,bf,2026-11-18,"1,234",1,"1,000"\n')
    semicolon = write(tmp_path, "b.csv", HEADER.replace(",", ";") + "ig;social;bf;2026-11-18;1.234;1;12,5\n")
    assert read(comma)[0].select("sessions", "revenue").row(0) == (1234, 1000.0)
    assert read(semicolon)[0].select("sessions", "revenue").row(0) == (1234, 12.5)


def test_rows_split_by_a_column_cmflow_does_not_read_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "ga4.csv", "Session source / medium,Session campaign,Country,Date,Sessions\n"
                 "ig / social,bf,France,20261118,100\nig / social,bf,Belgium,20261118,20\n")
    with pytest.raises(DataFileError, match='line 3 has the same day, source, medium and campaign as line 2: the '
                                            'export is broken down by a column cmflow does not read \\("Country"\\?\\)'):
        read(path)


def test_a_ga4_download_without_dates_says_how_to_get_them(tmp_path: Path) -> None:
    path = write(tmp_path, "ga4.csv", "# Traffic acquisition\n\nSession source / medium,Session campaign,Sessions\n"
                 "ig / social,bf,100\n")
    with pytest.raises(DataFileError, match='has no "Date" column, which gives each record\'s date: add the Date '
                                            'dimension to the report or exploration'):
        read(path)


# -- end to end: traffic from the GA4 download, time from a tracker's CSV -----------------------------
def test_a_workflow_measures_conversions_cost_and_roi_per_campaign_and_client(tmp_path: Path) -> None:
    shutil.copy(GA4_CSV, tmp_path / "ga4.csv")
    (tmp_path / "time.csv").write_text(
        "date,person,campaign,client,hours\n"
        "2026-11-17,Léa,Black Friday,Maison Lumen,2.5\n"
        "2026-11-18,Hugo,black-friday,Maison Lumen,2\n"
        "2026-11-18,Zoé,nov_digest,Maison Lumen,1.5\n", encoding="utf-8")
    workflow = tmp_path / "conversions.toml"
    workflow.write_text("""
[workflow]
name = "Return on effort"
period = "2026-11-16..2026-11-22"

[production]
currency = "EUR"
rates = { "Léa" = 60, "designer" = 45 }
roles = { "Hugo" = "designer" }
default_rate = 30

[[clients]]
id = "lumen"
name = "Maison Lumen"
accounts = ["maison.lumen"]
language = "fr"

[[sources]]
id = "ga4_download"
plugin = "export"
path = "ga4.csv"

[[sources]]
id = "tracker"
plugin = "csv"
path = "time.csv"
record = "time_entry"

[[metrics]]
plugin = "conversion_rate"
by = ["overall", "campaign", "platform", "client"]

[[metrics]]
plugin = "cost_per_conversion"
by = ["campaign", "client"]

[[metrics]]
plugin = "roi"
by = ["campaign"]

[[metrics]]
plugin = "traffic_totals"
by = ["campaign"]
""", encoding="utf-8")
    result = run_workflow_file(workflow, store_url=f"sqlite:///{tmp_path}/s.db", dry_run=True)
    assert result.failed_stages == []
    # One campaign, shown as the earliest record writes it: Léa's time entry of the 17th, "Black Friday".
    # black_friday: ig 100 + l.instagram.com 10 + lnkd.in ("Black Friday") 85 sessions, 1 + 3 + 2 key events.
    assert result.value("conversion_rate", campaign="Black Friday") == pytest.approx(6 / 195 * 100)
    assert result.value("conversion_rate") == pytest.approx(29 / 1695 * 100)
    assert result.value("conversion_rate", platform="instagram") == pytest.approx(4 / 110 * 100)
    # Maison Lumen's time names black_friday and nov_digest: its traffic is theirs, not (direct)'s.
    assert result.value("conversion_rate", client="lumen") == pytest.approx((6 + 3) / (195 + 300) * 100)
    # (2.5 x 60 + 2 x 45) / 6 conversions; nov_digest: 1.5 h x 30 (default rate) / 3.
    assert result.value("cost_per_conversion", campaign="Black Friday") == pytest.approx(240 / 6)
    assert result.value("cost_per_conversion", campaign="nov_digest") == pytest.approx(15.0)
    assert result.value("cost_per_conversion", client="lumen") == pytest.approx(285 / 9)
    assert result.value("roi", campaign="Black Friday") == pytest.approx(40 + 150 + 99.9 - 240)
    assert result.value("roi_pct", campaign="nov_digest") == pytest.approx((290 - 45) / 45 * 100)
    # The report's return section: one row per campaign with what it cost and brought back.
    from cmflow.builtin.reports.document import build_document
    from cmflow.builtin.reports.scopes import ReportScope

    document = build_document(result, ReportScope(), title="Return on effort")
    rows = {row.name: {m: f.value for m, f in row.figures.items()} for row in document.campaigns}
    assert rows["Black Friday"]["total_sessions"] == 195 and rows["Black Friday"]["total_conversions"] == 6
    assert rows["Black Friday"]["roi"] == pytest.approx(289.9 - 240)
    assert rows["nov_digest"]["cost_per_conversion"] == pytest.approx(15.0)
    assert document.campaign_metrics == ["total_sessions", "total_conversions", "conversion_rate", "total_revenue",
                                         "cost_per_conversion", "roi"]
    from cmflow.builtin.reports.html import render_html
    from cmflow.presentation.language import language

    page = render_html(document, language("fr"))
    assert "Coût par conversion" in page and "Retour sur effort" in page and "Black Friday" in page
    assert "49,90\u00a0€" in page or "49,90 €" in page  # black_friday's return, in the currency


def test_traffic_belongs_to_the_one_client_whose_records_name_its_campaign(tmp_path: Path) -> None:
    (tmp_path / "utm.csv").write_text(
        "utm_source,utm_medium,utm_campaign,date,sessions,conversions\n"
        "ig,social,soldes_hiver,2026-11-18,100,4\n"   # Lumen's time names it
        "ig,social,black_friday,2026-11-18,60,3\n"    # both clients' time names it: no client's
        "fb,social,noel,2026-11-19,30,1\n"            # a post of Atelier's account names it
        "google,organic,(organic),2026-11-19,500,9\n", encoding="utf-8")
    (tmp_path / "time.csv").write_text(
        "date,person,campaign,client,hours\n"
        "2026-11-17,Léa,Soldes hiver,lumen,1\n"
        "2026-11-17,Léa,Black Friday,lumen,1\n"
        "2026-11-17,Hugo,black-friday,Atelier Bois,1\n", encoding="utf-8")
    (tmp_path / "posts.csv").write_text(
        "platform,account,post_id,published_at,campaign,likes\n"
        "facebook,atelier.bois,p1,2026-11-18T10:00:00Z,Noël,5\n", encoding="utf-8")
    workflow = tmp_path / "clients.toml"
    workflow.write_text("""
[workflow]
name = "Clients' traffic"
period = "2026-11-16..2026-11-22"

[[clients]]
id = "lumen"
name = "Maison Lumen"
accounts = ["maison.lumen"]
language = "fr"

[[clients]]
id = "atelier"
name = "Atelier Bois"
accounts = ["atelier.bois"]
language = "fr"

[[sources]]
id = "utm"
plugin = "export"
path = "utm.csv"

[[sources]]
id = "tracker"
plugin = "csv"
path = "time.csv"
record = "time_entry"

[[sources]]
id = "posts"
plugin = "csv"
path = "posts.csv"

[[metrics]]
plugin = "traffic_totals"
counters = ["sessions"]
by = ["overall", "client"]
sources = ["utm"]
""", encoding="utf-8")
    result = run_workflow_file(workflow, store_url=f"sqlite:///{tmp_path}/s.db", dry_run=True)
    assert result.failed_stages == []
    assert result.value("total_sessions") == 100 + 60 + 30 + 500
    assert result.value("total_sessions", client="lumen") == 100
    # "noel" is Atelier's through its post's "Noël" (accents set aside); (organic) is no campaign.
    assert result.value("total_sessions", client="atelier") == 30


def test_amounts_in_two_currencies_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "utm.csv", HEADER + "ig,social,bf,2026-11-18,100,1,€40.00\nfb,social,bf,2026-11-18,50,1,40.00 EUR\n"
                 "li,social,bf,2026-11-19,12,1,$5.00\n")
    with pytest.raises(DataFileError, match='line 2 writes "€40.00" \\(EUR\\) and line 4 "\\$5.00" \\(\\$\\) in one column'):
        read(path)


def test_slashed_dates_are_day_first_in_a_semicolon_file_and_month_first_in_a_comma_one(tmp_path: Path) -> None:
    comma = write(tmp_path, "us.csv", HEADER + "ig,social,bf,11/10/2026,1,0,0\nig,social,bf,11/18/2026,2,0,0\n")
    semicolon = write(tmp_path, "fr.csv", HEADER.replace(",", ";") + "ig;social;bf;11/10/2026;1;0;0\n")
    assert read(comma)[0].sort("sessions")["date"].to_list() == [date(2026, 11, 10), date(2026, 11, 18)]
    assert read(semicolon)[0]["date"].to_list() == [date(2026, 10, 11)]  # 11 October, as France writes it


def test_ga4_and_the_traffic_exports_name_platforms_with_one_helper():
    """The GA4 API source and the traffic exports read a utm_source's platform the same way."""
    from cmflow.builtin.sources import ga4, traffic_exports

    assert ga4.with_platforms is traffic_exports.with_platforms
    rows = traffic_exports.with_platforms([{"source": "ig"}, {"source": "newsletter"}, {"source": "ig"}])
    assert [r["platform"] for r in rows] == ["instagram", None, "instagram"]
