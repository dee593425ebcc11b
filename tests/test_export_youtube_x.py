"""The export source on YouTube Studio's and X's exports (tests/fixtures/exports, invented channel
and figures in the real shapes of docs/exports.md). Every expected figure is worked out by hand
from the fixture rows, never by the code under test."""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from pathlib import Path

import pytest

from cmflow import DataFileError, FetchContext, Period
from cmflow.builtin.sources.export_source import ExportSource

EXPORTS = Path(__file__).parent / "fixtures" / "exports"
YOUTUBE = EXPORTS / "youtube_studio_content" / "Table data.csv"
YOUTUBE_2025 = EXPORTS / "youtube-studio-table-data-2025.csv"
X_POSTS = EXPORTS / "account_analytics_content_2026-10-01_2026-10-31.csv"
X_CLASSIC = EXPORTS / "tweet_activity_metrics_atelierlumen_20230301_20230401_en.csv"
COUNTERS = ("impressions", "video_views", "likes", "comments", "shares", "saves", "clicks", "reach")


def read(path: Path, **options) -> tuple[dict, FetchContext]:
    """The export source's records of ``path`` by kind, as rows, and the fetch context."""
    source = ExportSource(ExportSource.Options(path=str(path), **options), entry_id="exports")
    period = Period(datetime(2026, 11, 1).date(), datetime(2026, 11, 30).date(), "UTC")
    ctx = FetchContext(datetime(2020, 1, 1, tzinfo=timezone.utc), datetime(2026, 12, 1, tzinfo=timezone.utc),
                       [period], path.parent, logging.getLogger("test.export"))
    return {table.kind: table.conformed().to_dicts() for table in source.fetch(ctx)}, ctx


def totals(posts: list[dict]) -> dict:
    """Each counter summed over the posts; None when no post has it (missing, not 0)."""
    sums = {}
    for name in COUNTERS:
        values = [p[name] for p in posts if p[name] is not None]
        sums[name] = sum(values) if values else None
    return sums


def test_youtube_table_one_post_per_video_and_the_total_row_is_none():
    records, ctx = read(YOUTUBE, account="atelierlumen")
    posts = records["post"]
    assert [p["post_id"] for p in posts] == ["a1B2c3D4e5F", "-Xy9Qw8Er7T", "Zk3LmN0pQr1", "Hh7Gg6Ff5Ee"]
    assert {p["platform"] for p in posts} == {"youtube"} and {p["account"] for p in posts} == {"atelierlumen"}
    assert {p["format"] for p in posts} == {"video"}  # the table lists videos only: not "(none)" by format
    # By hand: views 2950 + 1480 + 400 + 0; impressions 38400 + 19800 + 3000 (the last cell empty);
    # likes 188 + 97 + 16 + 0; comments added 41 + 15 + 2 + 0; shares 30 + 12 + 2 + 0. The Total row
    # says the same sums: read as a post, it would double each.
    assert totals(posts) == {"impressions": 61200, "video_views": 4830, "likes": 301, "comments": 58,
                             "shares": 44, "saves": None, "clicks": None, "reach": None}
    teaser = posts[3]
    assert teaser["impressions"] is None and teaser["video_views"] == 0 and teaser["likes"] == 0
    assert posts[2]["text"] == 'Our studio tour: "behind the pots"'
    assert posts[0]["published_at"] == datetime(2026, 10, 3, tzinfo=timezone.utc)
    # the fixture's folder gives no range: said once, nothing else
    assert [getattr(p, "code", None) for p in ctx.problems] == ["export_range_unknown"] and ctx.skipped == []


def test_youtube_2025_naming_thumbnail_impressions_and_metrics_not_chosen():
    posts = read(YOUTUBE_2025, account="atelierlumen")[0]["post"]
    # Thumbnail impressions "120,100" and "30,300"; Views "9,870" and "2,770". Likes, comments and
    # shares were not chosen in Studio's table: no column, so no value (not 0).
    assert [(p["post_id"], p["impressions"], p["video_views"]) for p in posts] == [
        ("Qw3Er4Ty5Ui", 120100, 9870), ("Op9As8Df7Gh", 30300, 2770)]
    assert all(p["likes"] is None and p["comments"] is None and p["shares"] is None for p in posts)


def test_youtube_bad_value_names_its_own_line_after_the_total_row(tmp_path):
    folder = tmp_path / "yt"
    folder.mkdir()
    (folder / "Table data.csv").write_text(
        "Content,Video title,Video publish time,Views,Likes\n"
        "Total,,,300,7\n"
        'aaaaaaaaaaa,One,"Oct 3, 2026",100,4\n'
        'bbbbbbbbbbb,Two,"Oct 4, 2026",200,-3\n', encoding="utf-8")
    with pytest.raises(DataFileError) as caught:
        read(folder / "Table data.csv", account="atelierlumen")
    assert "line 4" in str(caught.value) and "Likes" in str(caught.value) and "line 2" not in str(caught.value)


def test_youtube_chart_data_alone_is_not_the_table():
    # Chart data.csv is a companion of Table data.csv (the same figures by day): passed over in a
    # folder, but a path naming only it reads nothing, and that is an error saying what to read.
    with pytest.raises(DataFileError) as caught:
        read(EXPORTS / "youtube_studio_content" / "Chart data.csv", account="atelierlumen")
    message = str(caught.value)
    assert "Chart data.csv: YouTube Studio's Chart data.csv" in message and "not read" in message
    assert "point path at the export itself" in message and "Table data.csv" in message


def test_youtube_download_folder_reads_the_table_and_passes_over_its_companions():
    folder = EXPORTS / "youtube_studio_content"
    records, ctx = read(folder, account="atelierlumen")
    # The same four videos as Table data.csv alone: Chart data's per-day rows and Totals' per-day
    # sums are not read again (by hand: views 2950 + 1480 + 400 + 0 = 4830).
    assert list(records) == ["post"] and totals(records["post"])["video_views"] == 4830
    notes = sorted(p for p in ctx.problems if getattr(p, "code", None) != "export_range_unknown")
    assert len(notes) == 2, notes
    assert notes[0].startswith("Chart data.csv: YouTube Studio's Chart data.csv") and "passed over" in notes[0]
    assert notes[1].startswith("Totals.csv: YouTube Studio's Totals.csv") and "passed over" in notes[1]


def test_a_two_column_date_file_not_named_totals_is_still_unknown(tmp_path):
    # `Date,Views` is too plain to tell by itself: only a file named Totals... is passed over.
    other = tmp_path / "daily-views.csv"
    other.write_text("Date,Views\n2026-10-03,310\n", encoding="utf-8")
    with pytest.raises(DataFileError, match="not an export cmflow knows"):
        read(other, account="atelierlumen")
    totals_file = tmp_path / "Totals.csv"
    totals_file.write_text("Date,Views,Likes\n2026-10-03,310,4\n", encoding="utf-8")
    with pytest.raises(DataFileError, match="not an export cmflow knows"):
        read(totals_file, account="atelierlumen")


def test_a_companion_is_an_error_when_another_format_is_asked_for(tmp_path):
    with pytest.raises(DataFileError, match="not a TikTok"):
        read(EXPORTS / "youtube_studio_content" / "Chart data.csv", account="atelierlumen",
             format="tiktok_overview")


def test_a_file_of_another_known_format_than_format_asks_is_named_by_its_own():
    """An overview given to format = "tiktok_follower_history": the message says what the file is
    (the format it was recognised as), not the demanded format as the "closest" one."""
    with pytest.raises(DataFileError) as caught:
        read(EXPORTS / "tiktok-overview-2026-11a.csv", account="atelierlumen", format="tiktok_follower_history")
    message = str(caught.value)
    assert "is not a TikTok Studio follower history (CSV) export (format = 'tiktok_follower_history')" in message
    assert "it is a TikTok Studio overview (CSV) export (tiktok_overview); set format = 'tiktok_overview'" in message
    assert "closest" not in message


def test_youtube_without_account_says_to_name_it():
    with pytest.raises(DataFileError, match=r'does not name its account: set account = "\.\.\."'):
        read(YOUTUBE)


def test_x_post_export():
    posts = read(X_POSTS, account="atelierlumen")[0]["post"]
    assert [p["post_id"] for p in posts] == ["1843000000000000101", "1846000000000000202", "1849000000000000303"]
    # By hand: impressions 5230 + 1980 + 412; likes 84 + 31 + 6; replies 9 + 22 + 1; reposts 17 + 6 + 0;
    # bookmarks 12 + 4 + 0; URL clicks 58 + 0 + 0. Engagements (301, 97, 11) and X's Shares (3, 1, 0)
    # are not read.
    assert totals(posts) == {"impressions": 7622, "video_views": None, "likes": 121, "comments": 32,
                             "shares": 23, "saves": 16, "clicks": 58, "reach": None}
    assert posts[1]["text"] == "Which herb should we feature next?\nReply below 👇"
    assert posts[0]["url"] == "https://x.com/atelierlumen/status/1843000000000000101"
    assert posts[0]["published_at"] == datetime(2026, 10, 2, tzinfo=timezone.utc)


def test_x_post_id_comes_from_the_link_when_a_spreadsheet_mangled_it(tmp_path):
    path = tmp_path / "content.csv"
    path.write_text("Post id,Date,Post text,Post Link,Impressions,Likes,Replies,Reposts\n"
                    '1.84300E+18,"Fri, Oct 2, 2026",Hello,https://x.com/atelierlumen/status/1843000000000000101,'
                    "\"1,234\",5,1,0\n", encoding="utf-8")
    posts = read(path, account="atelierlumen")[0]["post"]
    assert [(p["post_id"], p["impressions"]) for p in posts] == [("1843000000000000101", 1234)]


def test_x_classic_tweet_activity_export():
    posts = read(X_CLASSIC, account="atelierlumen")[0]["post"]
    # By hand: impressions 3120 + 1874 + 205 (written "3120.0"); likes 48 + 29 + 3; replies 5 + 3 + 1;
    # retweets 11 + 7 + 0; url clicks 37 + 0 + 0; no bookmarks in this export. engagements and the
    # promoted columns ("-") are not read.
    assert totals(posts) == {"impressions": 5199, "video_views": None, "likes": 80, "comments": 9,
                             "shares": 18, "saves": None, "clicks": 37, "reach": None}
    assert posts[0]["published_at"] == datetime(2023, 3, 2, 16, 5, tzinfo=timezone.utc)
    assert posts[1]["text"] == '"Pots, not plastic" — our pledge for 2023 #zerowaste'


def test_x_classic_before_2015_says_favorites(tmp_path):
    text = X_CLASSIC.read_text(encoding="utf-8")
    path = tmp_path / "tweet_activity_metrics_old.csv"
    path.write_text(text.replace('"likes"', '"favorites"', 1), encoding="utf-8")
    posts = read(path, account="atelierlumen")[0]["post"]
    assert [p["likes"] for p in posts] == [48, 29, 3]


def test_youtube_id_written_with_a_leading_space_is_the_video_id(tmp_path):
    # Studio is reported to write a space before ids starting with "-" (a spreadsheet would take
    # "-Xy..." for a formula): the id is the video's, without it.
    path = tmp_path / "Table data.csv"
    path.write_text("Content,Video title,Video publish time,Views\nTotal,,,30\n"
                    ' -Xy9Qw8Er7T,Five herbs,"Oct 17, 2026",30\n', encoding="utf-8")
    posts = read(path, account="atelierlumen")[0]["post"]
    assert [(p["post_id"], p["video_views"]) for p in posts] == [("-Xy9Qw8Er7T", 30)]


def test_x_account_overview_is_daily_activity_with_gross_follows_and_unfollows():
    days = read(EXPORTS / "account_overview_analytics_2026-10-01_2026-10-03.csv", account="atelierlumen")[0]
    rows = sorted(days["account_activity"], key=lambda r: r["date"])
    assert [r["date"].isoformat() for r in rows] == ["2026-10-01", "2026-10-02", "2026-10-03"]
    # By hand over the three days: impressions 1385 + 6120 + 2410; likes 18 + 97 + 40; replies 3 + 12 + 11;
    # reposts 2 + 19 + 7; bookmarks 1 + 13 + 3; profile visits 6 + 25 + 14; video views 0 + 845 + 310;
    # new follows 1 + 9 + 5; unfollows 3 + 2 + 1. Engagements (41, 318, 96) are not read.
    sums = {name: sum(r[name] for r in rows) for name in (
        "impressions", "likes", "comments", "shares", "saves", "profile_views", "video_views",
        "followers_gained", "followers_lost")}
    assert sums == {"impressions": 9915, "likes": 155, "comments": 26, "shares": 28, "saves": 17,
                    "profile_views": 45, "video_views": 1155, "followers_gained": 15, "followers_lost": 6}
    assert all(r["reach"] is None and r["clicks"] is None for r in rows)


def test_doctor_lists_the_companion_files_as_passed_over():
    from cmflow import FetchContext

    folder = EXPORTS / "youtube_studio_content"
    ctx = FetchContext(datetime(2026, 11, 16, tzinfo=timezone.utc), datetime(2026, 11, 23, tzinfo=timezone.utc), [],
                       folder.parent, logging.getLogger("test.export"), [])
    [check] = ExportSource(ExportSource.Options(path=str(folder), account="atelierlumen"),
                           entry_id="yt").check_credentials(ctx)
    assert check.status == "ok", check.message
    assert "Chart data.csv (youtube_chart_data, passed over)" in check.message
    assert "Table data.csv (youtube_studio_table)" in check.message
    assert "Totals.csv (youtube_totals, passed over)" in check.message


@pytest.mark.parametrize("path", [X_POSTS, X_CLASSIC], ids=["x_posts", "x_tweet_activity"])
def test_x_posts_without_account_take_it_from_each_post_link(path: Path):
    posts = read(path)[0]["post"]
    assert posts and {p["account"] for p in posts} == {"atelierlumen"}
    assert read(path, account="maison")[0]["post"][0]["account"] == "maison"  # the option wins


def test_x_posts_without_links_nor_account_say_to_name_it(tmp_path: Path):
    import polars as pl

    path = tmp_path / "x.csv"
    pl.read_csv(X_POSTS).drop("Post Link").write_csv(path)
    with pytest.raises(DataFileError, match=r'does not name its account: set account = "\.\.\."'):
        read(path)
    link = tmp_path / "x-link.csv"
    pl.read_csv(X_POSTS).with_columns(pl.lit(None, pl.String).alias("Post Link")).write_csv(link)
    with pytest.raises(DataFileError, match=r"3 post\(s\) have no link naming the account.*set account"):
        read(link)


def test_x_ids_rounded_by_excel_without_links_are_bad_values_not_conflicting_posts(tmp_path: Path):
    import polars as pl

    path = tmp_path / "x.csv"
    frame = pl.read_csv(X_POSTS, infer_schema=False)
    frame.with_columns(pl.lit("1.84300E+18").alias("Post id"), pl.lit("").alias("Post Link")).write_csv(path)
    with pytest.raises(DataFileError) as caught:
        read(path, account="atelierlumen")
    message = " ".join([str(caught.value), *caught.value.details])   # the bad rows are its details
    assert "3 bad rows" in str(caught.value)
    assert "an id Excel rounded to scientific notation" in message and "conflicting" not in message
    # with their links, the ids are taken from the links: nothing lost
    frame.with_columns(pl.lit("1.84300E+18").alias("Post id")).write_csv(path)
    assert len(read(path)[0]["post"]) == 3


def test_two_youtube_tables_with_other_figures_for_one_video_are_refused(tmp_path):
    """YouTube Studio's table counts over the export's date range: an October and a November
    download of one video are two ranges, neither newer than the other (a TikTok or Meta
    re-download is, and replaces the older copy)."""
    table = YOUTUBE.read_text(encoding="utf-8")
    october, november = tmp_path / "october", tmp_path / "november"
    for folder in (october, november):
        folder.mkdir()
    (october / "Table data.csv").write_text(table, encoding="utf-8")
    (november / "Table data.csv").write_text(table.replace(",2950,", ",400,"), encoding="utf-8")
    with pytest.raises(DataFileError, match=r"both hold youtube post_id 'a1B2c3D4e5F' with other figures") as caught:
        read(tmp_path / "*" / "Table data.csv", account="atelierlumen")
    # both files are "Table data.csv": the message tells them apart by their folders
    assert str(caught.value).startswith("october/Table data.csv and november/Table data.csv both hold") or \
        str(caught.value).startswith("november/Table data.csv and october/Table data.csv both hold")
    # the same figures twice (one export saved twice) are one copy, as for any export
    (november / "Table data.csv").write_text(table, encoding="utf-8")
    posts = read(tmp_path / "*" / "Table data.csv", account="atelierlumen")[0]["post"]
    assert len(posts) == 4 and sum(p["video_views"] for p in posts) == 4830


@pytest.mark.parametrize("download, said", [
    ("Content 2026-10-01_2026-10-31 Atelier Lumen", True),  # October's table read for November
    ("Content 2026-11-01_2026-11-30 Atelier Lumen", False),  # the report's own period
    ("Content 2026-09-01_2026-11-30 Atelier Lumen", False),  # reaching back further, ending with it
    ("youtube_studio_content", False),  # no range in the name: nothing to compare (said otherwise)
])
def test_a_table_read_for_another_period_than_its_range_is_said(tmp_path, download, said):
    """Studio's table counts over its download's range: October's views read for a November
    report would be taken for November's. The range is in the download's (folder's) name."""
    folder = tmp_path / download
    folder.mkdir()
    (folder / "Table data.csv").write_bytes(YOUTUBE.read_bytes())
    _, ctx = read(folder / "Table data.csv", account="atelierlumen")
    ranges = [p for p in ctx.problems if getattr(p, "code", "") == "export_range_not_period"]
    if not said:
        assert ranges == []
        return
    assert ranges == ["Table data.csv: YouTube Studio advanced-mode export, Table data.csv (CSV) counts "
                      "each video's figures over its export's range, 2026-10-01..2026-10-31 (the download's name), "
                      "which does not end with this run's period 2026-11-01..2026-11-30: its figures are that "
                      "range's; export the table with a range ending on the period's last day, reaching back to "
                      "the oldest video the report counts"]


@pytest.mark.parametrize("total, said", [
    ("Total,,,,5000,,,,,,330,44,58", "the \"Total\" row counts more than its rows add up to: Views 5,000 in it, "
     "4,830 over the 4 rows read (170 more); Likes 330 in it, 301 over the 4 rows read (29 more): it counts every "
     "video of the range, and the table lists fewer"),
    ("Total,,,,4700,,,,,,301,44,58", "the \"Total\" row counts less than its rows add up to: Views 4,700 in it, "
     "4,830 over the 4 rows read (130 less): rows listed twice or changed after the export would do that"),
    ("Total,,,,4830,212.4417,37,61200,5.11,0:02:38,301,44,58", None),
    # the Total row's figures read as the rows' are: 4830.0 is 4,830 (no note), 5030.0 is 5,030
    ("Total,,,,4830.0,212.4417,37,61200,5.11,0:02:38,301,44,58", None),
    ("Total,,,,5030.0,,,,,,301,44,58", "the \"Total\" row counts more than its rows add up to: Views 5,030 in it, "
     "4,830 over the 4 rows read (200 more): it counts every video of the range"),
])
def test_a_total_row_other_than_its_rows_sum_is_said_more_or_less(tmp_path, total, said):
    """Studio's Total counts views of every video of the range: more than the rows when the
    table lists fewer; less is rows repeated or edited. By hand, the rows: views 2950 + 1480 +
    400 + 0 = 4830, likes 188 + 97 + 16 + 0 = 301. The figures stay the rows'."""
    lines = YOUTUBE.read_text(encoding="utf-8").splitlines()
    path = tmp_path / "Table data.csv"
    path.write_text("\n".join([lines[0], total, *lines[2:]]) + "\n", encoding="utf-8")
    records, ctx = read(path, account="atelierlumen")
    notes = [str(p) for p in ctx.problems if "row counts" in str(p)]
    assert totals(records["post"])["video_views"] == 4830
    if said is None:
        assert notes == []
    else:
        assert len(notes) == 1 and notes[0].startswith(f"Table data.csv: {said}"), notes
