"""The ``xlsx`` source on workbooks shaped as LinkedIn's page analytics export: a notice sentence
above the header, an ``All posts`` sheet with Excel date-times and a ``Metrics`` sheet with dates
as text, numbers stored as text in some cells and an empty counter cell. The workbooks are
written with openpyxl (fastexcel only reads); expected figures are worked out by hand below.
"""

from __future__ import annotations

import logging
import zipfile
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from cmflow import FetchContext, Period
from cmflow.builtin.sources.csv_source import CsvSource
from cmflow.builtin.sources.tabular import DataFileError
from cmflow.builtin.sources.xlsx_source import XlsxSource
from cmflow.testing import run_workflow_file

openpyxl = pytest.importorskip("openpyxl")

UTC = timezone.utc
NOTICE = ("All posts data for the selected date range. Impressions and engagement are counted for "
          "organic and sponsored content.")
POSTS_HEADER = ["Post title", "Post link", "Post type", "Campaign name", "Posted by", "Created date",
                "Audience", "Impressions", "Views", "Clicks", "Click through rate (CTR)", "Likes",
                "Comments", "Reposts", "Follows", "Engagement rate", "Content Type"]
LINK = "https://www.linkedin.com/feed/update/urn:li:activity:7400000000000000{}"
POSTS = [
    # Created date is an Excel date-time; "1310" and "41" are numbers stored as text; p3's
    # Comments cell is empty; p3's date is an Excel date without a time; p4 is before the week.
    ["Atelier open day", LINK.format(1), "Organic", "", "Ana", datetime(2026, 11, 16, 9, 0), "All followers",
     1200, 300, 20, 0.0167, 35, 4, 2, 1, 0.05, "Image"],
    ["New collection", LINK.format(2), "Organic", "", "Ana", datetime(2026, 11, 18, 14, 30), "All followers",
     "1310", 410, 31, 0.0237, "41", 5, 3, 0, 0.061, "Video"],
    ["Behind the scenes", LINK.format(3), "Organic", "", "Ana", datetime(2026, 11, 20), "All followers",
     900, 120, 9, 0.01, 18, None, 1, 0, 0.031, "Text"],
    ["Last week's post", LINK.format(4), "Organic", "", "Ana", datetime(2026, 11, 10, 10, 0), "All followers",
     5000, 900, 80, 0.016, 100, 10, 10, 2, 0.04, "Image"],
]
METRICS_HEADER = ["Date", "Impressions (organic)", "Impressions (sponsored)", "Impressions (total)",
                  "Unique impressions (organic)", "Clicks (organic)"]
METRICS = [  # dates as text, month first, as LinkedIn writes them
    ["11/18/2026", 700, 0, 700, 512, 14],
    ["11/19/2026", "1 020", 0, "1020", 811, 9],
]


def linkedin_workbook(path: Path) -> Path:
    book = openpyxl.Workbook()
    posts = book.active
    posts.title = "All posts"
    posts.append([NOTICE])
    posts.append(POSTS_HEADER)
    for row in POSTS:
        posts.append(row)
    metrics = book.create_sheet("Metrics")
    metrics.append(["Aggregated metrics for the selected date range."])
    metrics.append(METRICS_HEADER)
    for row in METRICS:
        metrics.append(row)
    book.save(path)
    return path


POST_COLUMNS = {"post_id": "Post link", "url": "Post link", "published_at": "Created date", "text": "Post title",
                "impressions": "Impressions", "clicks": "Clicks", "likes": "Likes", "comments": "Comments",
                "shares": "Reposts"}
LINKEDIN = {"platform": "linkedin", "account": "lumen"}


def fetch(directory: Path, problems: list[str] | None = None, **options: Any):
    source = XlsxSource(XlsxSource.Options(**options), entry_id="src")
    period = Period(date(2026, 11, 16), date(2026, 11, 22), "UTC", unit="week")
    ctx = FetchContext(period.start_utc, period.end_utc, [period], directory, logging.getLogger("cmflow.test"),
                       problems if problems is not None else [])
    [table] = list(source.fetch(ctx))
    return table.conformed()


def fetch_error(directory: Path, **options: Any) -> str:
    with pytest.raises(DataFileError) as info:
        fetch(directory, **options)
    return str(info.value)


def test_all_posts_sheet_under_a_notice_row(tmp_path: Path) -> None:
    linkedin_workbook(tmp_path / "content.xlsx")
    frame = fetch(tmp_path, path="content.xlsx", sheet="All posts", columns=POST_COLUMNS, constants=LINKEDIN)
    assert frame["post_id"].to_list() == [LINK.format(n) for n in (1, 2, 3, 4)]
    assert frame["published_at"].to_list() == [
        datetime(2026, 11, 16, 9, 0, tzinfo=UTC), datetime(2026, 11, 18, 14, 30, tzinfo=UTC),
        datetime(2026, 11, 20, 0, 0, tzinfo=UTC), datetime(2026, 11, 10, 10, 0, tzinfo=UTC)]
    assert frame["impressions"].to_list() == [1200, 1310, 900, 5000]  # 1310 stored as text
    assert frame["likes"].to_list() == [35, 41, 18, 100]
    assert frame["comments"].to_list() == [4, 5, None, 10]  # the empty cell is no value, not 0
    assert frame["platform"].to_list() == ["linkedin"] * 4


def test_empty_zero_reads_the_empty_comments_cell_as_0_with_a_warning(tmp_path: Path) -> None:
    linkedin_workbook(tmp_path / "content.xlsx")
    problems: list[str] = []
    frame = fetch(tmp_path, problems, path="content.xlsx", sheet="All posts", columns=POST_COLUMNS,
                  constants=LINKEDIN, empty="zero")
    assert frame["comments"].to_list() == [4, 5, 0, 10]
    assert problems == ['content.xlsx: 1 empty counter cell(s) read as 0 (empty = "zero"): 1 in column '
                        '"Comments" (comments)']


def test_metrics_sheet_by_position_with_dates_as_text(tmp_path: Path) -> None:
    linkedin_workbook(tmp_path / "content.xlsx")
    frame = fetch(tmp_path, path="content.xlsx", sheet=2, record="account_snapshot", date_format="%m/%d/%Y",
                  columns={"date": "Date", "impressions": "Impressions (total)"}, constants=LINKEDIN,
                  thousands=" ")
    assert frame["date"].to_list() == [date(2026, 11, 18), date(2026, 11, 19)]
    assert frame["impressions"].to_list() == [700, 1020]


def test_a_date_column_mixing_excel_dates_and_text(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Date", "Followers"])
    sheet.append([datetime(2026, 11, 17), 1500])
    sheet.append(["18/11/2026", "1510"])
    book.save(tmp_path / "audience.xlsx")
    frame = fetch(tmp_path, path="audience.xlsx", record="account_snapshot", date_format="%d/%m/%Y",
                  columns={"date": "Date", "followers": "Followers"}, constants=LINKEDIN)
    assert frame["date"].to_list() == [date(2026, 11, 17), date(2026, 11, 18)]
    assert frame["followers"].to_list() == [1500, 1510]


def test_excel_dates_in_every_column_of_a_list(tmp_path: Path) -> None:
    """A field mapped to several columns (the first non-empty wins) reads Excel dates in each of
    them, beside text in the declared format."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Day", "Day2", "Followers"])
    sheet.append([datetime(2026, 11, 17), None, 5])
    sheet.append([None, datetime(2026, 11, 18), 6])
    sheet.append([None, "19/11/2026", 7])
    book.save(tmp_path / "days.xlsx")
    frame = fetch(tmp_path, path="days.xlsx", record="account_snapshot", date_format="%d/%m/%Y",
                  columns={"date": ["Day", "Day2"], "followers": "Followers"}, constants=LINKEDIN)
    assert frame["date"].to_list() == [date(2026, 11, 17), date(2026, 11, 18), date(2026, 11, 19)]
    assert frame["followers"].to_list() == [5, 6, 7]
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Post", "Created", "Scheduled", "Likes"])
    sheet.append(["a", datetime(2026, 11, 17, 9, 30), None, 5])
    sheet.append(["b", None, datetime(2026, 11, 18, 10, 0), 6])
    sheet.append(["c", "11/19/2026 08:00", None, 7])
    book.save(tmp_path / "posts.xlsx")
    frame = fetch(tmp_path, path="posts.xlsx", datetime_format="%m/%d/%Y %H:%M", constants=LINKEDIN,
                  columns={"post_id": "Post", "published_at": ["Created", "Scheduled"], "likes": "Likes"})
    assert frame["published_at"].to_list() == [datetime(2026, 11, 17, 9, 30, tzinfo=UTC),
                                               datetime(2026, 11, 18, 10, 0, tzinfo=UTC),
                                               datetime(2026, 11, 19, 8, 0, tzinfo=UTC)]


def test_header_row_given(tmp_path: Path) -> None:
    linkedin_workbook(tmp_path / "content.xlsx")
    frame = fetch(tmp_path, path="content.xlsx", header_row=2, constants=LINKEDIN,
                  columns={"post_id": "Post link", "published_at": "Created date"})
    assert frame.height == 4
    message = fetch_error(tmp_path, path="content.xlsx", header_row=1, constants=LINKEDIN,
                          columns={"post_id": "Post link", "published_at": "Created date"})
    assert "no column 'Post link'" in message and "content.xlsx" in message


def test_a_bad_cell_names_the_sheet_row_and_column(tmp_path: Path) -> None:
    path = linkedin_workbook(tmp_path / "content.xlsx")
    book = openpyxl.load_workbook(path)
    book["All posts"]["L5"] = "n/a"  # Likes of the third post: sheet row 5 (notice, header, two posts above)
    book.save(path)
    message = fetch_error(tmp_path, path="content.xlsx", columns=POST_COLUMNS, constants=LINKEDIN)
    assert 'content.xlsx, sheet "All posts", row 5, post_id "https://www.linkedin.com/feed/update/ur…", column "Likes"' in message
    assert "n/a" in message


def test_unknown_sheet_lists_the_sheets(tmp_path: Path) -> None:
    linkedin_workbook(tmp_path / "content.xlsx")
    message = fetch_error(tmp_path, path="content.xlsx", sheet="all posts", columns=POST_COLUMNS,
                          constants=LINKEDIN)
    assert message.endswith('no sheet "all posts" (sheet = "all posts"); did you mean "All posts"?; '
                            'the workbook\'s sheets: "All posts", "Metrics"')
    assert "3" in fetch_error(tmp_path, path="content.xlsx", sheet=3, constants=LINKEDIN)


def test_mapped_columns_found_nowhere(tmp_path: Path) -> None:
    linkedin_workbook(tmp_path / "content.xlsx")
    message = fetch_error(tmp_path, path="content.xlsx", constants=LINKEDIN,
                          columns={"post_id": "Post URL", "published_at": "Created date"})
    assert 'no row holds every mapped column ("Created date", "Post URL"); row 2 holds "Post title"' in message


def test_a_csv_file_named_xlsx_and_a_damaged_workbook(tmp_path: Path) -> None:
    (tmp_path / "posts.xlsx").write_text("platform,account,post_id\nlinkedin,a,1\n")
    message = fetch_error(tmp_path, path="posts.xlsx")
    assert "posts.xlsx is not an Excel workbook" in message and 'plugin = "csv"' in message
    linkedin_workbook(tmp_path / "content.xlsx")
    (tmp_path / "cut.xlsx").write_bytes((tmp_path / "content.xlsx").read_bytes()[:400])
    message = fetch_error(tmp_path, path="cut.xlsx")
    assert "cut.xlsx cannot be read as a workbook" in message and "export it again" in message
    assert "damaged" in message and "calamine" not in message  # the reader's own words are for the log


def test_a_workbook_given_to_the_csv_source(tmp_path: Path) -> None:
    linkedin_workbook(tmp_path / "content.xlsx")
    source = CsvSource(CsvSource.Options(path="content.xlsx"), entry_id="src")
    period = Period(date(2026, 11, 16), date(2026, 11, 22), "UTC", unit="week")
    ctx = FetchContext(period.start_utc, period.end_utc, [period], tmp_path, logging.getLogger("t"), [])
    with pytest.raises(DataFileError, match='looks like an Excel workbook .* plugin = "xlsx"'):
        list(source.fetch(ctx))


def source_error(source_class: Any, directory: Path, **options: Any) -> str:
    source = source_class(source_class.Options(**options), entry_id="src")
    period = Period(date(2026, 11, 16), date(2026, 11, 22), "UTC", unit="week")
    ctx = FetchContext(period.start_utc, period.end_utc, [period], directory, logging.getLogger("t"), [])
    with pytest.raises(DataFileError) as info:
        list(source.fetch(ctx))
    return str(info.value)


def test_a_zip_of_csv_files_and_workbooks_given_to_the_csv_and_json_sources(tmp_path: Path) -> None:
    """YouTube Studio exports a zip of CSV files: it is no workbook; the message lists what it holds."""
    from cmflow.builtin.sources.json_source import JsonSource

    with zipfile.ZipFile(tmp_path / "youtube.zip", "w") as archive:
        archive.writestr("Table data.csv", "Content,Views\nabc,10\n")
        archive.writestr("Chart data.csv", "Date,Views\n2026-11-17,10\n")
    for source_class, kind in ((CsvSource, "CSV"), (JsonSource, "JSON")):
        message = source_error(source_class, tmp_path, path="youtube.zip")
        assert message == (f'{tmp_path / "youtube.zip"} is a zip archive, not {kind} text: it holds '
                           f'"Table data.csv", "Chart data.csv"; unzip it and set `path` to the {kind} file inside')
    message = fetch_error(tmp_path, path="youtube.zip")
    assert message == (f'{tmp_path / "youtube.zip"} is a zip archive, not a workbook: it holds "Table data.csv", '
                       '"Chart data.csv"; unzip it and set `path` to the CSV file inside, with plugin = "csv"')
    # A workbook given to the json source: no advice to save it as CSV.
    linkedin_workbook(tmp_path / "content.xlsx")
    message = source_error(JsonSource, tmp_path, path="content.xlsx")
    assert "looks like an Excel workbook (.xlsx)" in message and 'plugin = "xlsx"' in message
    assert "CSV" not in message
    # An OpenDocument spreadsheet (its zip starts with a "mimetype" entry).
    with zipfile.ZipFile(tmp_path / "stats.ods", "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", "<office:document-content/>")
    message = source_error(CsvSource, tmp_path, path="stats.ods")
    assert "looks like an OpenDocument spreadsheet (.ods)" in message and 'plugin = "xlsx"' in message


def test_a_workflow_over_the_linkedin_workbook(tmp_path: Path, write_workflow, store_url: str) -> None:
    linkedin_workbook(tmp_path / "content.xlsx")
    columns = ", ".join(f'{k} = "{v}"' for k, v in POST_COLUMNS.items())
    path = write_workflow(f"""
[workflow]
name = "LinkedIn week"
period = "2026-11-16..2026-11-22"

[[sources]]
id = "linkedin"
plugin = "xlsx"
path = "content.xlsx"
sheet = "All posts"
constants = {{ platform = "linkedin", account = "lumen" }}
columns = {{ {columns} }}

[[metrics]]
plugin = "totals"
counters = ["likes", "comments", "shares", "impressions"]
by = ["overall"]

[[metrics]]
plugin = "engagement_rate_by_impressions"
by = ["overall"]
""")
    result = run_workflow_file(path, store_url=store_url, dry_run=True)
    # In the week: posts 1-3 (post 4 is from 10 November).
    # likes 35 + 41 + 18 = 94; comments 4 + 5 (post 3's cell is empty) = 9; reposts 2 + 3 + 1 = 6;
    # impressions 1200 + 1310 + 900 = 3410.
    assert result.value("total_likes") == 94
    assert result.value("total_comments") == 9
    assert result.value("total_shares") == 6
    assert result.value("total_impressions") == 3410
    # (likes + comments + shares) / impressions x 100 = (94 + 9 + 6) / 3410 x 100 = 109 / 34.10
    assert result.value("engagement_rate_by_impressions") == pytest.approx(3.196480938)


def test_french_workbook_numbers_as_numbers_and_as_text(tmp_path: Path) -> None:
    """A French tool's workbook: thousands as "." and decimals as "," in text cells, real numbers in
    another column; 1.5 hours stored as a number is 1.5, not 15 (nor 1 500)."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Date", "Heures", "Coût"])
    sheet.append(["17/11/2026", 1.5, "1.234,50"])
    sheet.append(["18/11/2026", 2.25, "987,5"])
    sheet.append(["19/11/2026", 3, None])
    book.save(tmp_path / "temps.xlsx")
    options = dict(path="temps.xlsx", record="time_entry", date_format="%d/%m/%Y", decimal=",", thousands=".",
                   columns={"date": "Date", "hours": "Heures", "cost": "Coût"})
    frame = fetch(tmp_path, **options)
    assert frame["hours"].to_list() == [1.5, 2.25, 3.0]
    assert frame["cost"].to_list() == [1234.5, 987.5, None]
    # A column mixing a number with a fraction and numbers as text: each cell is read as it is
    # stored, the number 1.5 as 1.5 (not 15), the text "3" as 3.
    sheet["B4"] = "3"
    book.save(tmp_path / "temps.xlsx")
    assert fetch(tmp_path, **options)["hours"].to_list() == [1.5, 2.25, 3.0]


def test_a_column_mixing_numbers_with_three_decimals_and_numbers_as_text(tmp_path: Path) -> None:
    """With decimal = "," and thousands = ".", the numbers 12.345 and 0.125 stored as numbers are
    12.345 and 0.125, not 12 345 and 125; the text "1.234,50" is 1 234.50."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Temps"
    sheet.append(["Date", "Heures", "Coût"])
    sheet.append([datetime(2026, 11, 17), 1, "1.234,50"])
    sheet.append([datetime(2026, 11, 18), 1.5, 12.345])
    sheet.append(["19/11/2026", 2, 0.125])
    sheet.append(["20/11/2026", "2,5", "1.000"])  # text: 2.5 and one thousand
    book.save(tmp_path / "time.xlsx")
    frame = fetch(tmp_path, path="time.xlsx", record="time_entry", decimal=",", thousands=".",
                  date_format="%d/%m/%Y", columns={"date": "Date", "hours": "Heures", "cost": "Coût"})
    assert frame["date"].to_list() == [date(2026, 11, 17), date(2026, 11, 18), date(2026, 11, 19),
                                       date(2026, 11, 20)]
    assert frame["hours"].to_list() == [1.0, 1.5, 2.0, 2.5]
    assert frame["cost"].to_list() == [1234.5, 12.345, 0.125, 1000.0]


def test_canonical_header_under_a_notice_and_an_empty_row(tmp_path: Path) -> None:
    """Without `columns`, the header is the first row of two cells or more; an empty row between
    records is ignored, and rows keep the numbers Excel shows (the bad cell is on row 6)."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Posts"
    sheet.append(["Exported on 23 November 2026"])
    sheet.append(["platform", "account", "post_id", "published_at", "likes"])
    sheet.append(["linkedin", "lumen", "a", datetime(2026, 11, 17, 10, 0), 7])
    sheet.append([])
    sheet.append(["linkedin", "lumen", "b", "2026-11-18T08:00:00Z", "12"])
    sheet.append(["linkedin", "lumen", "c", "2026-11-19T08:00:00Z", -3])
    book.save(tmp_path / "posts.xlsx")
    message = fetch_error(tmp_path, path="posts.xlsx")
    assert 'posts.xlsx, sheet "Posts", row 6, post_id "c", column "likes": value "-3"' in message
    frame = fetch(tmp_path, path="posts.xlsx", on_error="skip")
    assert frame["post_id"].to_list() == ["a", "b"]
    assert frame["likes"].to_list() == [7, 12]
    assert frame["published_at"].to_list() == [datetime(2026, 11, 17, 10, 0, tzinfo=UTC),
                                               datetime(2026, 11, 18, 8, 0, tzinfo=UTC)]
