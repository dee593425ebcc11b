"""The ``export`` source on the fixtures of tests/fixtures/exports (written by its make.py in the
shapes Meta Business Suite, LinkedIn and TikTok Studio write, with invented brands and figures).

Every figure is checked against values worked out by hand from the rows of make.py; the
arithmetic is in the comments. The reporting week is 2026-11-16 .. 2026-11-22 (UTC).
"""

from __future__ import annotations

import shutil
from datetime import date, datetime, timezone
from pathlib import Path

import polars as pl
import pytest

from cmflow import DataFileError
from cmflow.builtin.sources.export_detection import UnknownExport, identify
from cmflow.builtin.sources.export_formats import KNOWN_FORMATS
from cmflow.testing import run_workflow_file

FIXTURES = Path(__file__).parent / "fixtures" / "exports"
WEEK = "2026-11-16..2026-11-22"
UTC = timezone.utc


def exports(folder: Path, *names: str) -> Path:
    """A folder holding copies of the named fixtures."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(FIXTURES / name, folder / name)
    return folder


def workflow_text(path: str, extra: str = "", metrics: str = "") -> str:
    """A workflow of the week reading ``path`` with the export source."""
    return f"""
[workflow]
name = "Exports"
period = "{WEEK}"

[[sources]]
id = "exports"
plugin = "export"
path = "{path}"
{extra}
{metrics}"""


def run(write_workflow, store_url: str, path: str, *, extra: str = "", counters: str = "") -> object:
    """Run a workflow reading ``path`` with the export source (and totals of ``counters`` when
    given); the run must succeed."""
    metrics = (f"""
[[metrics]]
plugin = "totals"
counters = [{counters}]
by = ["overall"]
""" if counters else "")
    workflow = write_workflow(workflow_text(path, extra, metrics))
    result = run_workflow_file(workflow, store_url=store_url, dry_run=True)
    assert result.failed_stages == [], result.failed_stages
    return result


def failure(write_workflow, store_url: str, path: str, extra: str = "") -> str:
    """The error of a run whose export source fails."""
    workflow = write_workflow(workflow_text(path, extra))
    result = run_workflow_file(workflow, store_url=store_url, dry_run=True)
    [failed] = result.failed_sources
    assert "\n" not in failed.error and "Traceback" not in failed.error
    return failed.error


def in_week(frame: pl.DataFrame, column: str = "date") -> pl.DataFrame:
    return frame.filter(pl.col(column).is_between(date(2026, 11, 16), date(2026, 11, 22)))


# -- detection ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "expected"), [
    ("meta-facebook-posts.csv", [("meta_facebook_posts", None, 1, None)]),
    ("meta-facebook-posts-2024.csv", [("meta_facebook_posts", None, 1, None)]),
    ("meta-instagram-posts.csv", [("meta_instagram_posts", None, 1, None)]),
    ("linkedin-content.xlsx", [("linkedin_content_metrics", "Metrics", 2, 3),
                               ("linkedin_content_posts", "All posts", 2, 4)]),
    ("linkedin-followers.xlsx", [("linkedin_followers", "New followers", 1, 4)]),
    ("tiktok-overview-2026-11a.csv", [("tiktok_overview", None, 1, None)]),
    ("tiktok-overview-2026-11b.csv", [("tiktok_overview", None, 1, None)]),
    ("tiktok-follower-history.csv", [("tiktok_follower_history", None, 1, None)]),
])
def test_each_known_export_is_identified(name: str, expected: list) -> None:
    identified = identify(FIXTURES / name)
    assert [(t.format.name, t.sheet, t.header_row, t.rows) for t in identified.tables] == expected
    assert identified.file_type == ("xlsx" if name.endswith(".xlsx") else "csv")


def test_an_identified_table_says_which_columns_are_not_read() -> None:
    [table] = identify(FIXTURES / "meta-facebook-posts.csv").tables
    assert "Reactions, Comments and Shares" in table.unread_columns  # the sum of the next three
    assert "Reactions" not in table.unread_columns and "Title" not in table.unread_columns
    assert len(table.unread_columns) == len(table.header) - 13  # 13 read: Post ID, Page name, Publish time, Post type,
    # Description, Title, Permalink, Views, Reach, Reactions, Comments, Shares, Total clicks


def test_every_known_format_has_a_fixture() -> None:
    """Each known format is recognised in one of the fixtures (a format added without one fails)."""
    folders = (FIXTURES, FIXTURES.parent / "toggl", FIXTURES.parent / "clockify")  # time trackers' own
    found = {t.format.name for folder in folders for f in folder.iterdir() if f.suffix in (".csv", ".xlsx")
             for t in identify(f).tables}
    assert found == {f.name for f in KNOWN_FORMATS}
    assert len({f.name for f in KNOWN_FORMATS}) == len(KNOWN_FORMATS) == len(set(KNOWN_FORMATS))  # hashable
    with pytest.raises(TypeError):
        KNOWN_FORMATS[0].columns["likes"] = "Hearts"  # type: ignore[index]  # presets are read-only


def test_an_unknown_file_names_the_closest_format_and_what_it_lacks(tmp_path: Path) -> None:
    # An Instagram export from a tool that renamed two columns.
    text = (FIXTURES / "meta-instagram-posts.csv").read_text(encoding="utf-8-sig")
    path = tmp_path / "ig.csv"
    path.write_text(text.replace("Saves", "Saved").replace('"Account username"', "Username"), encoding="utf-8")
    with pytest.raises(UnknownExport) as caught:
        identify(path)
    message = str(caught.value)
    assert message.startswith(f"{path} is not an export cmflow knows: its first line holds \"Post ID\"")
    assert 'the closest known format is meta_instagram_posts' in message
    assert '"Account username", "Saves" it lacks' in message
    for known in KNOWN_FORMATS:
        assert known.name in message
    assert caught.value.closest.name == "meta_instagram_posts"
    assert caught.value.missing == ("Account username", "Saves")
    assert "\n" not in message


@pytest.mark.parametrize("start, kind", [(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "a PNG image"),
                                         (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "a PDF document")])
def test_an_image_or_a_pdf_is_named_for_what_it_is(tmp_path: Path, start: bytes, kind: str) -> None:
    """Not "neither UTF-8 text nor a workbook" nor "not UTF-8 text (byte 0xe2)": the csv source
    names these files, and so does the export source (and `cmflow inspect`, which reads its error)."""
    path = tmp_path / "posts.csv"
    path.write_bytes(start + bytes(64))
    with pytest.raises(UnknownExport) as caught:
        identify(path)
    assert str(caught.value) == (f"{path} is not an export cmflow knows: it is not a text file: its first bytes "
                                 f"are those of {kind}; give the export itself, as downloaded from the platform, "
                                 "or move this file out of the exports' folder")


def test_a_format_sharing_one_column_of_five_is_not_called_the_closest(tmp_path: Path) -> None:
    """A plain post CSV shares "impressions" with x_tweet_activity: not close; the formats are listed."""
    path = tmp_path / "posts.csv"
    path.write_text("post_id,platform,account,published_at,likes,impressions\n1,instagram,a,2026-11-17,3,40\n",
                    encoding="utf-8")
    with pytest.raises(UnknownExport) as caught:
        identify(path)
    assert "closest" not in str(caught.value) and "the known formats are meta_facebook_posts" in str(caught.value)
    from cmflow.builtin.outputs.console import _first_sentence

    # the console's headline keeps the first part; the run summary prints the list once
    assert _first_sentence(str(caught.value)) == f'{path} is not an export cmflow knows: its first line holds ' \
        '"post_id", "platform", "account", "published_at", "likes", "impressions" …'


def test_an_export_saved_again_as_a_workbook_gets_one_fix(tmp_path: Path) -> None:
    """Not "give the CSV file ... or read it with xlsx" then "export it again from one of these pages"."""
    import csv

    import openpyxl

    book = openpyxl.Workbook()
    with (FIXTURES / "meta-instagram-posts.csv").open(encoding="utf-8-sig", newline="") as handle:
        for row in csv.reader(handle):
            book.active.append(row)
    book.save(tmp_path / "ig.xlsx")
    with pytest.raises(UnknownExport) as caught:
        identify(tmp_path / "ig.xlsx")
    message = str(caught.value)
    assert "opened and saved again as a workbook: give the CSV file as downloaded" in message
    assert "known formats" not in message and "from one of these pages" not in message


def test_a_column_the_format_reads_missing_is_not_blamed_on_columns(tmp_path: Path, write_workflow,
                                                                     store_url: str) -> None:
    """The export source maps the columns itself: the workflow has no `columns` to fix."""
    import csv

    with (FIXTURES / "meta-facebook-posts.csv").open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    drop = rows[0].index("Permalink")
    with (tmp_path / "fb.csv").open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([c for i, c in enumerate(row) if i != drop] for row in rows)
    message = failure(write_workflow, store_url, str(tmp_path / "fb.csv"))
    assert "no column 'Permalink' (the column this export's format reads url from: " in message
    assert "in `columns`)" not in message


def test_an_unknown_workbook_lists_its_sheets(tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    book.active.title = "Budget"
    book.active.append(["Month", "Spend"])
    book.save(tmp_path / "budget.xlsx")
    with pytest.raises(UnknownExport, match=r'sheet "Budget" holds "Month", "Spend"'):
        identify(tmp_path / "budget.xlsx")


def test_a_forced_format_accepts_no_other(tmp_path: Path, write_workflow, store_url: str) -> None:
    exports(tmp_path / "x", "meta-instagram-posts.csv")
    message = failure(write_workflow, store_url, "x", 'format = "meta_facebook_posts"')
    assert "meta-instagram-posts.csv is not a Meta Business Suite: Facebook page posts (CSV) export" in message
    # the file is named by the format it is, not the one demanded as the closest
    assert "it is a Meta Business Suite: Instagram posts (CSV, English) export (meta_instagram_posts)" in message


def test_an_unknown_file_in_a_folder_is_an_error_naming_it(tmp_path: Path, write_workflow, store_url: str) -> None:
    folder = exports(tmp_path / "exports", "meta-instagram-posts.csv")
    (folder / "notes.csv").write_text("Idea,Owner\nAdvent calendar,Ana\n", encoding="utf-8")
    message = failure(write_workflow, store_url, "exports")
    assert message.startswith(f"{folder / 'notes.csv'} is not an export cmflow knows")


def test_a_file_that_is_not_text_in_a_folder_is_not_an_export(tmp_path: Path, write_workflow, store_url: str) -> None:
    folder = exports(tmp_path / "exports", "tiktok-follower-history.csv")
    (folder / "report.pdf").write_bytes(b"%PDF-1.7\n\xe2\xe3\xcf\xd3\n1 0 obj\n")
    message = failure(write_workflow, store_url, "exports", 'account = "maisonlumen"')
    assert message.startswith(f"{folder / 'report.pdf'} is not an export cmflow knows: it is not a text file: "
                              "its first bytes are those of a PDF document")
    assert "encoding =" not in message  # the export source has no such option
    (folder / "report.pdf").write_bytes(b"")
    assert "report.pdf is empty" in failure(write_workflow, store_url, "exports", 'account = "maisonlumen"')


def test_a_glob_or_folder_naming_no_file_is_an_error(tmp_path: Path, write_workflow, store_url: str) -> None:
    (tmp_path / "empty").mkdir()
    assert "no file matches this pattern (path = 'exports/tiktok-*.csv')" in failure(
        write_workflow, store_url, "exports/tiktok-*.csv")
    assert "empty folder" in failure(write_workflow, store_url, "empty")
    assert "missing.csv does not exist" in failure(write_workflow, store_url, "missing.csv")


# -- Meta Business Suite --------------------------------------------------------------------------

def test_facebook_page_posts(tmp_path: Path, write_workflow, store_url: str) -> None:
    exports(tmp_path, "meta-facebook-posts.csv")
    result = run(write_workflow, store_url, "meta-facebook-posts.csv",
                 counters='"likes", "comments", "shares", "impressions", "reach", "clicks"')
    # In the week: the photo (16th), the reel (18th), the link (20th); the video is from the 10th.
    # likes = Reactions 120 + 410 + 30 = 560 (the "Reactions, Comments and Shares" sums 151, 499 and
    # 45 are not read: 560 + 60 + 75 = 695 interactions, not 1390)
    assert result.value("total_likes") == 560
    assert result.value("total_comments") == 18 + 37 + 5  # 60
    assert result.value("total_shares") == 13 + 52 + 10  # 75
    assert result.value("total_impressions") == 5200 + 12400 + 2100  # Views: 19700
    assert result.value("total_reach") == 3900 + 9800 + 1800  # 15500
    assert result.value("total_clicks") == 240 + 95 + 160  # 495
    posts = result.records["post"].sort("published_at")
    assert posts["platform"].unique().to_list() == ["facebook"]
    assert posts["account"].unique().to_list() == ["Maison Lumen"]  # Page name
    assert posts["format"].to_list() == ["video", "image", "reel", "link"]
    assert posts["saves"].null_count() == 4  # no saves column: missing, not 0
    # US month-first publish times, no seconds
    assert posts["published_at"].to_list()[1:3] == [datetime(2026, 11, 16, 9, 5, tzinfo=UTC),
                                                  datetime(2026, 11, 18, 18, 30, tzinfo=UTC)]
    texts = dict(zip(posts["post_id"], posts["text"]))
    # the photo's caption is its Title (Description empty); the reel's is its Description, over two lines
    assert texts["104400000000001_900001"] == "Our new autumn candles are here, hand-poured in Lyon."
    assert texts["104400000000001_900002"] == ("Behind the scenes at the workshop\nWe pour 400 candles a day, "
                                               "by hand. \"Slow\" is the point.")


def test_an_older_facebook_export_with_impressions(tmp_path: Path, write_workflow, store_url: str) -> None:
    exports(tmp_path, "meta-facebook-posts-2024.csv")
    result = run(write_workflow, store_url, "meta-facebook-posts-2024.csv", counters='"impressions"')
    assert result.value("total_impressions") == 5200 + 12400  # `Impressions`, the photo and the reel


def test_instagram_posts(tmp_path: Path, write_workflow, store_url: str) -> None:
    exports(tmp_path, "meta-instagram-posts.csv")
    result = run(write_workflow, store_url, "meta-instagram-posts.csv",
                 counters='"likes", "comments", "shares", "saves", "impressions", "reach"')
    assert result.value("total_likes") == 310 + 980 + 450  # 1740
    assert result.value("total_comments") == 25 + 64 + 33  # 122
    assert result.value("total_shares") == 12 + 120 + 30  # 162
    assert result.value("total_saves") == 40 + 210 + 95  # 345
    assert result.value("total_impressions") == 4100 + 22000 + 6000  # Views: 32100
    assert result.value("total_reach") == 3000 + 15000 + 4200  # 22200
    posts = result.records["post"].sort("published_at")
    assert posts["account"].unique().to_list() == ["maison.lumen"]
    assert posts["format"].to_list() == ["image", "reel", "carousel"]
    assert posts["text"][0] == "Autumn candles, hand-poured 🍂\n#candles #lyon"


# -- LinkedIn -------------------------------------------------------------------------------------

def test_linkedin_content_workbook_gives_posts_and_daily_activity(tmp_path: Path, write_workflow,
                                                                  store_url: str) -> None:
    exports(tmp_path, "linkedin-content.xlsx")
    result = run(write_workflow, store_url, "linkedin-content.xlsx", extra='account = "maison-lumen"',
                 counters='"likes", "comments", "shares", "impressions", "clicks"')
    # All posts: in the week the posts of the 16th, 18th and 20th (the 10th's is before).
    assert result.value("total_likes") == 35 + 41 + 18  # 94
    assert result.value("total_comments") == 4 + 5  # 9: the third post's cell is empty
    assert result.value("total_shares") == 2 + 3 + 1  # Reposts: 6
    assert result.value("total_impressions") == 1200 + 1310 + 900  # 3410
    assert result.value("total_clicks") == 20 + 31 + 9  # 60
    posts = result.records["post"].sort("published_at")
    assert posts["post_id"].to_list() == [f"urn:li:activity:74000000000000000{n}" for n in (4, 1, 2, 3)]
    assert posts["url"][1] == "https://www.linkedin.com/feed/update/urn:li:activity:740000000000000001/"
    assert posts["format"].to_list() == ["image", "image", "video", "text"]
    assert posts["published_at"][1] == datetime(2026, 11, 16, tzinfo=UTC)  # text, month first
    assert set(posts["account"]) == {"maison-lumen"} and set(posts["platform"]) == {"linkedin"}
    # Metrics: the (total) columns, organic + sponsored
    activity = result.records["account_activity"].sort("date")
    assert activity.select("date", "impressions", "clicks", "likes", "comments", "shares").rows() == [
        (date(2026, 11, 16), 700 + 100, 14 + 2, 30 + 5, 3 + 0, 2 + 0),
        (date(2026, 11, 17), 650, 9, 22, 2, 1),
        (date(2026, 11, 18), 1020 + 200, 25 + 6, 41 + 8, 5 + 1, 3 + 1),
    ]
    assert activity["followers_gained"].null_count() == 3  # not in this export


def test_linkedin_content_and_followers_are_merged_per_day(tmp_path: Path, write_workflow, store_url: str) -> None:
    exports(tmp_path / "linkedin", "linkedin-content.xlsx", "linkedin-followers.xlsx")
    result = run(write_workflow, store_url, "linkedin", extra='account = "maison-lumen"')
    activity = result.records["account_activity"].sort("date")
    # One row per day: Metrics gives 16-18, New followers 16-19; followers_gained is `Total followers`
    # (new followers that day: 7, 5, 11, 3), not the audience size.
    assert activity.select("date", "impressions", "likes", "followers_gained").rows() == [
        (date(2026, 11, 16), 800, 35, 7),
        (date(2026, 11, 17), 650, 22, 5),
        (date(2026, 11, 18), 1220, 49, 11),
        (date(2026, 11, 19), None, None, 3),
    ]
    assert result.records["post"].height == 4


def test_a_file_that_does_not_name_its_account_needs_the_option(tmp_path: Path, write_workflow,
                                                              store_url: str) -> None:
    exports(tmp_path, "linkedin-followers.xlsx")
    message = failure(write_workflow, store_url, "linkedin-followers.xlsx")
    assert "linkedin-followers.xlsx (LinkedIn page followers export, sheet New followers (xlsx)) does not " \
           "name its account: set account = " in message


# -- TikTok Studio --------------------------------------------------------------------------------

def test_tiktok_overview(tmp_path: Path, write_workflow, store_url: str) -> None:
    exports(tmp_path, "tiktok-overview-2026-11a.csv")
    result = run(write_workflow, store_url, "tiktok-overview-2026-11a.csv", extra='account = "maisonlumen"')
    activity = result.records["account_activity"].sort("date")
    # Dates without a year: November of the run's year; 9 days, 14 to 22.
    assert activity["date"].to_list() == [date(2026, 11, d) for d in range(14, 23)]
    week = in_week(activity)
    assert week["impressions"].sum() == 1000 + 1200 + 1500 + 1100 + 950 + 1300 + 1250  # 8300
    assert week["video_views"].sum() == 8300
    assert week["profile_views"].sum() == 20 + 22 + 30 + 18 + 16 + 25 + 21  # 152
    assert week["likes"].sum() == 80 + 95 + 120 + 90 + 75 + 110 + 100  # 670
    assert week["comments"].sum() == 6 + 7 + 10 + 5 + 4 + 9 + 8  # 49
    assert week["shares"].sum() == 4 + 5 + 8 + 3 + 2 + 6 + 5  # 33
    assert week["followers_gained"].null_count() == 7  # no New followers column in this variant
    assert week["reach"].null_count() == 7 and week["saves"].null_count() == 7
    assert set(activity["account"]) == {"maisonlumen"} and set(activity["platform"]) == {"tiktok"}


def test_tiktok_dates_with_abbreviated_months_or_a_year(tmp_path: Path, write_workflow, store_url: str) -> None:
    """Other locales and a re-saved file: `Nov 16`, `17 Nov`, `2026-11-18` in one overview."""
    (tmp_path / "overview.csv").write_text(
        '\ufeff"Date","Video Views","Profile Views","Likes","Comments","Shares"\n'
        '"Nov 16","100","1","10","1","1"\n"17 Nov","200","2","20","2","2"\n"2026-11-18","300","3","30","3","3"',
        encoding="utf-8")
    result = run(write_workflow, store_url, "overview.csv", extra='account = "maisonlumen"')
    activity = result.records["account_activity"].sort("date")
    assert activity["date"].to_list() == [date(2026, 11, 16), date(2026, 11, 17), date(2026, 11, 18)]
    assert activity["impressions"].sum() == 100 + 200 + 300


def test_overlapping_tiktok_exports_through_a_glob_count_each_day_once(tmp_path: Path, write_workflow,
                                                                      store_url: str) -> None:
    exports(tmp_path / "exports", "tiktok-overview-2026-11a.csv", "tiktok-overview-2026-11b.csv",
            "meta-instagram-posts.csv")
    result = run(write_workflow, store_url, "exports/tiktok-overview-*.csv", extra='account = "maisonlumen"')
    assert "post" not in result.records or result.records["post"].height == 0  # the glob left Instagram out
    activity = result.records["account_activity"].sort("date")
    # a: 14..22, b: 20..26 ("20 November" style) -> 14..24 once each; b holds the newest records, so
    # its copies of the 20th-22nd win (980, 1320, 1400), with its New followers.
    assert activity["date"].to_list() == [date(2026, 11, d) for d in range(14, 25)]
    week = in_week(activity)
    assert week["impressions"].sum() == 1000 + 1200 + 1500 + 1100 + 980 + 1320 + 1400  # 8500
    assert week["likes"].sum() == 80 + 95 + 120 + 90 + 78 + 112 + 118  # 693
    assert week["followers_gained"].to_list() == [None, None, None, None, 14, 9, 11]


def test_tiktok_follower_history_is_the_audience_size(tmp_path: Path, write_workflow, store_url: str) -> None:
    exports(tmp_path, "tiktok-follower-history.csv")
    result = run(write_workflow, store_url, "tiktok-follower-history.csv", extra='account = "maisonlumen"')
    snapshots = result.records["account_snapshot"].sort("date")
    assert snapshots.select("date", "followers").rows()[0] == (date(2026, 11, 16), 5120)
    assert snapshots["followers"].to_list()[-1] == 5301  # not the sum of the differences


def test_a_bad_value_names_the_file_line_and_column(tmp_path: Path, write_workflow, store_url: str) -> None:
    text = (FIXTURES / "tiktok-overview-2026-11a.csv").read_bytes().replace(b'"November 17","1200"',
                                                                            b'"November 17","-"')
    (tmp_path / "tiktok.csv").write_bytes(text)
    message = failure(write_workflow, store_url, "tiktok.csv", 'account = "maisonlumen"')
    assert "tiktok.csv" in message and "line 5" in message and '"Video Views"' in message


def test_the_default_year_places_yearless_dates(tmp_path: Path, write_workflow, store_url: str) -> None:
    exports(tmp_path / "x", "tiktok-follower-history.csv", "meta-instagram-posts.csv")
    result = run(write_workflow, store_url, "x", extra='account = "maisonlumen"\ndefault_year = 2025')
    assert result.records["account_snapshot"]["date"].min() == date(2025, 11, 16)
    assert result.records["post"].height == 3  # the year is not asked of Meta's dated exports


def test_linkedin_dates_stored_as_excel_dates_read_too(tmp_path: Path, write_workflow, store_url: str) -> None:
    """A workbook opened and saved in Excel turns the text dates into Excel dates: both read."""
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.load_workbook(FIXTURES / "linkedin-content.xlsx")
    book["All posts"]["F3"] = datetime(2026, 11, 16, 9, 30)  # the first post's Created date
    book["Metrics"]["A3"] = datetime(2026, 11, 16)
    book.save(tmp_path / "content.xlsx")
    result = run(write_workflow, store_url, "content.xlsx", extra='account = "maison-lumen"')
    assert datetime(2026, 11, 16, 9, 30, tzinfo=UTC) in result.records["post"]["published_at"].to_list()
    assert result.records["account_activity"].sort("date")["date"][0] == date(2026, 11, 16)


def test_docs_describe_every_known_format() -> None:
    text = (Path(__file__).parent.parent / "docs" / "exports.md").read_text(encoding="utf-8")
    for known in KNOWN_FORMATS:
        section = text.split(f"### `{known.name}`", 1)
        assert len(section) == 2, f"docs/exports.md has no section for {known.name}"
        body = section[1].split("\n### ", 1)[0]
        identified_by = body.split("**Identified by**", 1)[1].split("- **", 1)[0]
        for name in known.identifying:
            assert f"`{name}`" in identified_by, f"{known.name}: {name} not listed as identifying"


def test_doctor_names_each_file_and_its_format(tmp_path: Path) -> None:
    import logging

    from cmflow import FetchContext
    from cmflow.builtin.sources.export_source import ExportSource

    exports(tmp_path / "x", "meta-instagram-posts.csv", "tiktok-follower-history.csv")
    ctx = FetchContext(datetime(2026, 11, 16, tzinfo=UTC), datetime(2026, 11, 23, tzinfo=UTC), [], tmp_path,
                       logging.getLogger("cmflow.test"), [])
    [check] = ExportSource(ExportSource.Options(path="x", account="maisonlumen"), entry_id="src").check_credentials(ctx)
    assert check.status == "ok"
    assert "2 file(s): meta-instagram-posts.csv (meta_instagram_posts), tiktok-follower-history.csv " \
           "(tiktok_follower_history)" in check.message
    [check] = ExportSource(ExportSource.Options(path="x"), entry_id="src").check_credentials(ctx)
    assert check.status == "fail" and "tiktok-follower-history.csv do(es) not name the account" in check.message
    (tmp_path / "x" / "notes.txt").write_text("Idea,Owner\n", encoding="utf-8")
    [check] = ExportSource(ExportSource.Options(path="x", account="a"), entry_id="src").check_credentials(ctx)
    assert check.status == "fail" and "notes.txt is not an export cmflow knows" in check.message


def test_files_ending_on_the_same_day_the_name_sorting_last_wins(tmp_path: Path, write_workflow,
                                                                 store_url: str) -> None:
    original = (FIXTURES / "tiktok-follower-history.csv").read_bytes()
    folder = tmp_path / "x"
    folder.mkdir()
    (folder / "followers-b.csv").write_bytes(original.replace(b'"5301"', b'"5333"'))  # a later download
    (folder / "followers-a.csv").write_bytes(original)
    result = run(write_workflow, store_url, "x", extra='account = "maisonlumen"')
    snapshots = result.records["account_snapshot"].sort("date")
    assert snapshots.height == 7  # the 16th to the 22nd once
    assert snapshots["followers"][-1] == 5333  # followers-b.csv's copy


def test_on_error_skip_leaves_a_bad_row_out_and_lists_it(tmp_path: Path, write_workflow, store_url: str) -> None:
    text = (FIXTURES / "tiktok-overview-2026-11a.csv").read_bytes().replace(b'"November 17","1200"',
                                                                            b'"November 17","-"')
    (tmp_path / "tiktok.csv").write_bytes(text)
    result = run(write_workflow, store_url, "tiktok.csv", extra='account = "maisonlumen"\non_error = "skip"')
    activity = in_week(result.records["account_activity"])
    assert date(2026, 11, 17) not in activity["date"].to_list()
    assert activity["impressions"].sum() == 8300 - 1200  # the 17th left out, not counted as 0
    [report] = [r for r in result.stages if r.kind == "source"]
    assert any("tiktok.csv" in row and "line 5" in row for row in report.skipped)


def test_a_csv_export_is_identified_from_its_head_only(tmp_path: Path) -> None:
    # The bytes past the head are not looked at: NUL bytes there do not stop the recognising
    # (the reading says what they are), and the rows are not counted before the reading.
    from cmflow.builtin.sources.export_detection import HEAD_BYTES

    data = (FIXTURES / "meta-facebook-posts.csv").read_bytes()
    path = tmp_path / "facebook.csv"
    path.write_bytes(data + b"\n" * HEAD_BYTES + b"\x00" * 64)
    identified = identify(path)
    assert [(t.format.name, t.header_row, t.rows) for t in identified.tables] == [("meta_facebook_posts", 1, None)]


def test_an_export_saved_again_in_cp1252_is_named_with_its_encoding(tmp_path: Path) -> None:
    text = (FIXTURES / "meta-facebook-posts.csv").read_text(encoding="utf-8-sig")
    text = text.replace("Our new autumn candles", "Nos bougies d'automne café")
    path = tmp_path / "facebook.csv"
    path.write_bytes(text.encode("cp1252"))
    with pytest.raises(DataFileError) as caught:
        identify(path)
    message = str(caught.value)
    assert not isinstance(caught.value, UnknownExport)
    assert f"{path}, line 2, column " in message and "not UTF-8 text (byte 0xe9)" in message
    assert "Facebook" in message and "cp1252" in message and "CSV UTF-8" in message


def test_a_file_in_no_encoding_of_an_export_says_where_it_stops_being_utf8(tmp_path: Path) -> None:
    path = tmp_path / "notes.csv"
    path.write_bytes("Nom,Prénom\nA,B\n".encode("cp1252"))
    with pytest.raises(UnknownExport, match=r"line 1, column 7: not UTF-8 text \(byte 0xe9\)"):
        identify(path)


def test_a_linkedin_sheet_saved_as_csv_says_so_and_what_to_do(tmp_path: Path) -> None:
    import fastexcel

    sheet = fastexcel.read_excel(FIXTURES / "linkedin-content.xlsx").load_sheet(
        "All posts", header_row=None, dtypes="string").to_polars()
    path = tmp_path / "linkedin-content.csv"
    sheet.write_csv(path, include_header=False)
    with pytest.raises(UnknownExport) as caught:
        identify(path)
    message = str(caught.value)
    assert 'it is the sheet "All posts" of a LinkedIn page content export workbook saved as CSV' in message
    assert 'give the .xlsx workbook as downloaded, or read this file with plugin = "csv" and header_row = 2' in message
    assert "never has" not in message and "  " not in message


def test_cp1252_past_the_head_is_said_without_an_option_the_source_lacks(tmp_path: Path) -> None:
    from cmflow.builtin.sources.export_detection import HEAD_BYTES

    text = (FIXTURES / "meta-facebook-posts.csv").read_text(encoding="utf-8-sig")
    header, first, rest = text.split("\n", 2)
    long_first = first.replace("Our new autumn candles are here", "Our new autumn candles " + "x" * HEAD_BYTES)
    path = tmp_path / "facebook.csv"
    path.write_bytes("\n".join([header, long_first, rest.replace("Studio tour", "Visite café", 1)]).encode("cp1252"))
    assert identify(path).tables[0].format.name == "meta_facebook_posts"  # the head is plain ASCII
    import logging

    from cmflow import FetchContext
    from cmflow.builtin.sources.export_source import ExportOptions, read_file

    now = datetime(2026, 12, 1, tzinfo=timezone.utc)
    ctx = FetchContext(datetime(2020, 1, 1, tzinfo=timezone.utc), now, [], tmp_path, logging.getLogger("t"))
    with pytest.raises(DataFileError) as caught:
        read_file(path, ExportOptions(path=str(path)), ctx)
    message = str(caught.value)
    assert f"{path}, line 3, column " in message and "not UTF-8 text (byte 0xe9)" in message
    assert "the export source reads UTF-8 only" in message and 'plugin = "csv" and encoding = "cp1252"' in message
    assert 'set encoding' not in message


# -- memory: the columns a format does not read are dropped as the file is read -------------------

def test_a_csv_export_keeps_only_the_columns_its_format_reads(tmp_path: Path) -> None:
    """Meta's Facebook export has 34 columns and the format reads 13 (`Views`, as the file has no
    older `Impressions`): the others (the sum column, click sub-columns, ad figures ...)
    are left out a chunk at a time, as the csv source does; the YouTube table keeps `Content`,
    whose `Total` row is left out by its value."""
    import logging
    from datetime import date

    from cmflow import FetchContext, Period
    from cmflow.builtin.sources.export_detection import identify
    from cmflow.builtin.sources.export_source import ExportOptions, _csv_table, columns_kept, mapping_options

    period = Period(date(2026, 11, 16), date(2026, 11, 22), "UTC")
    ctx = FetchContext(period.start_utc, period.end_utc, [period], tmp_path, logging.getLogger("test"))
    exports(tmp_path, "meta-facebook-posts.csv", "youtube-studio-table-data-2025.csv")

    def read(name: str) -> tuple[list[str], list[str]]:
        path = tmp_path / name
        [table] = identify(path).tables
        mapping = mapping_options(path, table, ExportOptions(path=name, account="atelier"))
        frame, _, _, header = _csv_table(path, table, ctx, kept=lambda names: columns_kept(table.format, mapping, names))
        return frame.columns, header

    kept, header = read("meta-facebook-posts.csv")
    assert len(header) == 34 and "Reactions, Comments and Shares" in header
    assert kept == ["Post ID", "Page name", "Title", "Description", "Publish time", "Permalink", "Post type",
                    "Views", "Reach", "Reactions", "Comments", "Shares", "Total clicks"]
    kept, header = read("youtube-studio-table-data-2025.csv")
    assert kept == ["Content", "Video title", "Video publish time", "Views", "Thumbnail impressions"]
    assert "Watch time (hours)" in header


def test_an_export_caption_reaches_the_run_without_terminal_escapes(tmp_path: Path, write_workflow,
                                                                    store_url: str) -> None:
    """The export source leaves the cleaning of text to the fetch stage (one copy of the text
    fewer): a caption holding ESC [2J still reaches the records without it."""
    text = (FIXTURES / "meta-facebook-posts.csv").read_text(encoding="utf-8-sig")
    marked = text.replace("Our new autumn candles are here", "Our new\x1b[2J autumn candles are here", 1)
    assert marked != text
    (tmp_path / "fb.csv").write_text(marked, encoding="utf-8-sig")
    result = run(write_workflow, store_url, "fb.csv", counters='"likes"')
    texts = [t for t in result.records["post"]["text"].to_list() if t]
    assert any(t.startswith("Our new[2J autumn candles") for t in texts)
    assert not any("\x1b" in t for t in texts)
