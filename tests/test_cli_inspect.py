"""`cmflow inspect FILE...` through the real command on each export fixture (tests/fixtures/exports):
what it says the file is, and that the entry it prints reads it. Most tests run the command in this
process (click's CliRunner on ``cmflow.cli.main``), a first hour end to end too; those about exit
codes and what reaches a terminal run it in a process of its own."""

from __future__ import annotations

import csv
import functools
import logging
import subprocess
import tomllib
from datetime import datetime, timezone
from pathlib import Path

import pytest

from cmflow import FetchContext
from cmflow.builtin.sources.export_source import ExportSource
from tests.cmflow_command import cmflow_in_process, cmflow_process

EXPORTS = Path(__file__).parent / "fixtures" / "exports"


def inspect(*files: Path | str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """``cmflow inspect FILES...`` in this process."""
    return cmflow_in_process("inspect", *files, cwd=cwd)


def inspect_in_a_process(*files: Path | str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """``cmflow inspect FILES...`` in a process of its own."""
    return cmflow_process("inspect", *files, cwd=cwd)


@functools.cache
def inspect_fixture(name: str) -> subprocess.CompletedProcess:
    """``cmflow inspect`` on one file of tests/fixtures/exports, run once for the tests that read
    its output (the files never change during a run)."""
    return inspect(EXPORTS / name)


def entry_of(output: str) -> dict:
    """The [[sources]] entry the output says to paste, parsed as TOML."""
    block = output[output.index("[[sources]]"):]
    lines = [line.strip() for line in block.splitlines() if line.strip()]
    return tomllib.loads("\n".join(lines))["sources"][0]


def columns(output: str, label: str) -> list[str]:
    """The column names the first line starting with ``label`` lists (CSV-quoted when they hold a comma)."""
    line = next(line for line in output.splitlines() if line.strip().startswith(label))
    return next(csv.reader([line.split(label, 1)[1].strip()], skipinitialspace=True))


CASES = [
    # file, format, "records: ...", dates, account in the entry (None: the placeholder, "": none, the file
    # names it, X's in its post links), columns read / ignored
    ("youtube_studio_content/Table data.csv", "youtube_studio_table", "4 posts from 5 row(s)",
     "2026-10-03 to 2026-10-31", None, "Comments added", "Watch time (hours)"),
    ("youtube-studio-table-data-2025.csv", "youtube_studio_table", "2 posts from 3 row(s)",
     "2026-11-02 to 2026-11-09", None, "Thumbnail impressions", "Thumbnail click-through rate (%)"),
    ("account_analytics_content_2026-10-01_2026-10-31.csv", "x_posts", "3 posts from 3 row(s)",
     "2026-10-02 to 2026-10-22", "", "Bookmarks", "Engagements"),
    ("tweet_activity_metrics_atelierlumen_20230301_20230401_en.csv", "x_tweet_activity",
     "3 posts from 3 row(s)", "2023-03-02 to 2023-03-20", "", "retweets", "engagement rate"),
    ("meta-facebook-posts.csv", "meta_facebook_posts", "4 posts from 4 row(s)",
     "2026-11-10 to 2026-11-20", "", "Reactions", "Reactions, Comments and Shares"),
    ("meta-instagram-posts.csv", "meta_instagram_posts", " posts from ", "2026-11", "", "Saves", "Follows"),
    ("tiktok-overview-2026-11a.csv", "tiktok_overview", "9 daily activity records from 9 row(s)",
     "2026-11-14 to 2026-11-22", None, "Profile Views", None),
    ("tiktok-follower-history.csv", "tiktok_follower_history", " account snapshots from ", "2026-11", None,
     "Followers", "Difference in followers from previous day"),
    ("linkedin-content.xlsx", "linkedin_content_posts", "4 posts from 4 row(s)",
     "2026-11-10 to 2026-11-20", None, "Created date", "Click through rate (CTR)"),
    ("account_overview_analytics_2026-10-01_2026-10-03.csv", "x_account_overview",
     "3 daily activity records from 3 row(s)", "2026-10-01 to 2026-10-03", None, "Unfollows", "Create Post"),
    ("linkedin-followers.xlsx", "linkedin_followers", " daily activity records from ", "2026-11", None,
     "Total followers", "Organic followers"),
    ("ga4-traffic-acquisition.csv", "ga4_traffic", "5 traffic records from 6 row(s) (header on line 11)",
     "2026-11-18 to 2026-11-19", "", "Session source / medium", None),
    ("utm-traffic-fr.csv", "utm_traffic", "3 traffic records from 4 row(s)", "2026-11-18 to 2026-11-19", "",
     "utm_campaign", None),
]


@pytest.mark.parametrize("name, format, records, dates, account, read, ignored", CASES,
                         ids=[case[0] for case in CASES])
def test_inspect_says_what_each_fixture_is(name, format, records, dates, account, read, ignored):
    path = EXPORTS / name
    done = inspect_fixture(name)
    out = done.stdout
    assert done.returncode == 0, done.stderr + out
    assert f"✓ {path}" in out and f"[{format}]" in out
    assert records in out and dates in out
    table = out[out.index(f"[{format}]"):]
    read_names, ignored_names = columns(table, "reads:"), columns(table, "ignores:")
    assert read in read_names and read not in ignored_names
    if ignored:
        assert ignored in ignored_names
    entry = entry_of(out)
    assert entry["plugin"] == "export" and entry["path"] == str(path)
    if account == "":  # the file names its account: the entry has none
        assert "account" not in entry
    else:
        assert entry["account"] == (account or "..."), out


@pytest.mark.parametrize("name", ["youtube_studio_content/Table data.csv",
                                  "account_analytics_content_2026-10-01_2026-10-31.csv"])
def test_the_entry_printed_reads_the_file_as_inspect_counted(name):
    out = inspect_fixture(name).stdout
    entry = entry_of(out)
    options = {k: v for k, v in entry.items() if k not in ("id", "plugin")}
    options["account"] = "atelierlumen"
    source = ExportSource(ExportSource.Options(**options), entry_id=entry["id"])
    now = datetime(2026, 12, 6, tzinfo=timezone.utc)
    ctx = FetchContext(datetime(2020, 1, 1, tzinfo=timezone.utc), now, [], Path("."), logging.getLogger("t"))
    frames = {table.kind: table.frame for table in source.fetch(ctx)}
    counted = int(out.split("records:")[1].split()[0])
    assert frames["post"].height == counted


def test_a_traffic_export_has_no_account_line_and_its_totals_row_is_said():
    out = inspect_fixture("ga4-traffic-acquisition.csv").stdout
    assert "accounts:" not in out
    assert '1 row(s) are not records ("Total" in "Session source / medium"' in out and "dimensions empty" in out


def test_the_youtube_total_row_and_a_yearless_date_are_said():
    out = inspect_fixture("youtube_studio_content/Table data.csv").stdout
    assert '1 row(s) are not records ("Total" in "Content"' in out
    out = inspect_fixture("tiktok-overview-2026-11a.csv").stdout
    assert "dates have no year" in out and "default_year" in out


@pytest.mark.parametrize("name, column", [
    ("meta-facebook-posts.csv", "Reactions, Comments and Shares"),
    ("account_analytics_content_2026-10-01_2026-10-31.csv", "Engagements"),
    ("tweet_activity_metrics_atelierlumen_20230301_20230401_en.csv", "engagements")])
def test_a_sum_column_is_said_not_read(name, column):
    out = inspect_fixture(name).stdout
    assert column in columns(out, "sums:") and "the sum of other columns, not read" in out
    assert column in columns(out, "ignores:")
    assert "problems: none" in out  # a healthy file: the sum is a note, not a problem


def test_bad_rows_are_listed_with_their_line_and_the_file_still_inspected(tmp_path):
    path = tmp_path / "account_analytics_content.csv"
    path.write_text("Post id,Date,Post text,Post Link,Impressions,Likes,Replies,Reposts\n"
                    '1,"Fri, Oct 2, 2026",One,https://x.com/atelierlumen/status/1,100,5,1,0\n'
                    '2,"Sat, Oct 3, 2026",Two,https://x.com/atelierlumen/status/2,200,-3,0,0\n'
                    '3,"Sun, Oct 4, 2026",Three,https://x.com/atelierlumen/status/3,,2,0,0\n', encoding="utf-8")
    done = inspect(path)
    assert done.returncode == 0, done.stderr
    assert "2 posts from 3 row(s)" in done.stdout
    assert 'line 3, post_id "https://x.com/atelierlumen/status/2", column 6 "Likes"' in done.stdout and "negative" in done.stdout
    assert "on_error" not in done.stdout  # inspect's own setting, not the user's


def test_an_unknown_file_gets_the_known_formats_and_the_closest(tmp_path):
    unknown = tmp_path / "per-day.csv"
    unknown.write_text("Date,Content,Video title,Views\n2026-10-03,a1B2c3D4e5F,One,310\n", encoding="utf-8")
    done = inspect_in_a_process(unknown)
    assert done.returncode == 2
    assert "not an export cmflow knows" in done.stdout
    assert "the closest known format is youtube_studio_table" in done.stdout
    assert '"Video publish time"' in done.stdout
    for name in ("meta_facebook_posts", "tiktok_overview", "linkedin_followers", "x_posts", "x_tweet_activity"):
        assert name in done.stdout
    assert "cannot be read" in done.stderr


@pytest.mark.parametrize("separator", [";", ","])
def test_an_unknown_file_under_excels_separator_line_is_shown_by_its_header(tmp_path, separator):
    """``sep=;`` is Excel's separator directive, not the file's header: the answer shows the
    columns named on line 2, split by the separator the directive names."""
    unknown = tmp_path / "agency.csv"
    unknown.write_text(f"\ufeffsep={separator}\nJour{separator}Publication{separator}J'aime\n"
                       f"2026-11-02{separator}Hello{separator}3\n", encoding="utf-8")
    done = inspect(unknown)
    assert done.returncode == 2
    assert 'line 2 holds "Jour", "Publication", "J\'aime"' in done.stdout
    assert "its first line holds" not in done.stdout and '"sep=' not in done.stdout


def test_youtube_companion_files_are_said_to_be_passed_over():
    folder = EXPORTS / "youtube_studio_content"
    done = inspect(folder / "Chart data.csv", folder / "Totals.csv", folder / "Table data.csv")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Chart data.csv: YouTube Studio's Chart data.csv" in done.stdout
    assert "Totals.csv: YouTube Studio's Totals.csv" in done.stdout
    assert done.stdout.count("passed over") == 2
    assert "4 posts from 5 row(s)" in done.stdout


def test_every_file_is_inspected_and_one_unreadable_file_fails_the_command(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    folder = tmp_path / "empty-folder"
    folder.mkdir()
    done = inspect_in_a_process(EXPORTS / "meta-facebook-posts.csv", tmp_path / "missing.csv", empty, folder)
    assert done.returncode == 2
    assert "✓ " + str(EXPORTS / "meta-facebook-posts.csv") in done.stdout
    assert f"✗ {tmp_path / 'missing.csv'}" in done.stdout and "not found" in done.stdout
    assert "workflow file" not in done.stdout.split("Paste")[0]  # no workflow here
    assert f"✗ {empty}" in done.stdout
    assert f"{folder} is an empty folder" in done.stdout
    assert "3 of 4 file(s) cannot be read" in done.stderr
    assert "Traceback" not in done.stdout + done.stderr


def test_text_from_the_file_cannot_drive_the_terminal(tmp_path):
    path = tmp_path / "content.csv"
    path.write_text("Post id,Date,Post text,Post Link,Impressions,Likes,Note\x1b[2J\n"
                    '1,"Fri, Oct 2, 2026",One,https://x.com/atelierlumen/status/1,100,5,x\n', encoding="utf-8")
    done = inspect_in_a_process(path)
    assert done.returncode == 0, done.stderr
    assert "\x1b" not in done.stdout and "Note\\x1b[2J" in done.stdout


def test_the_entries_pasted_into_a_workflow_give_the_figures_worked_out_by_hand(tmp_path):
    """A community manager's first hour: inspect the exports, paste the entries, fill in the
    account, run. Figures by hand from the fixtures (see test_export_youtube_x.py)."""
    import shutil

    # the table in its download's folder, named as Studio names it (its range: October)
    download = tmp_path / "Content 2026-10-01_2026-10-31 Atelier Lumen"
    download.mkdir()
    shutil.copy(EXPORTS / "youtube_studio_content" / "Table data.csv", download / "Table data.csv")
    shutil.copy(EXPORTS / "account_analytics_content_2026-10-01_2026-10-31.csv", tmp_path / "x.csv")
    done = inspect(f"{download.name}/Table data.csv", "x.csv", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    pasted = [line[4:] for line in done.stdout.splitlines() if line.startswith("    ") and
              (line[4:].startswith(("[[sources]]", "id = ", "plugin = ", "path = ", "account = ")))]
    entries = "\n".join(pasted).replace('account = "..."', 'account = "atelierlumen"')
    (tmp_path / "workflow.toml").write_text(
        '[workflow]\nname = "first hour"\nperiod = "last_month"\ntimezone = "UTC"\n\n' + entries
        + '\n\n[[metrics]]\nplugin = "totals"\ncounters = ["likes", "comments", "shares", "saves", "impressions",'
        ' "clicks"]\nby = ["platform"]\n\n[[outputs]]\nplugin = "console"\n', encoding="utf-8")
    run = cmflow_in_process("run", "workflow.toml", "--period", "2026-10-01..2026-10-31", "--dry-run",
                            "--store", f"sqlite:///{tmp_path / 'state.db'}", cwd=tmp_path, env={"COLUMNS": "160"})
    assert run.returncode == 0, run.stdout + run.stderr
    rows = {cells[0]: cells[1:] for line in run.stdout.splitlines()
            if (cells := [c.strip() for c in line.strip("│ ").split("│")]) and cells[0] in ("x", "youtube")}
    # likes, comments, shares, saves, impressions, clicks; "–" is no value (YouTube has no saves or clicks)
    assert rows["x"] == ["121", "32", "23", "16", "7,622", "58"]
    assert rows["youtube"] == ["301", "58", "44", "–", "61,200", "–"]


def test_a_long_list_of_problems_is_cut_after_ten(tmp_path):
    path = tmp_path / "account_analytics_content.csv"
    rows = "".join(f'{n},"Fri, Oct 2, 2026",Post {n},https://x.com/atelierlumen/status/{n},100,-{n}\n'
                   for n in range(1, 16))
    path.write_text("Post id,Date,Post text,Post Link,Impressions,Likes\n" + rows, encoding="utf-8")
    out = inspect(path).stdout
    assert "0 posts from 15 row(s)" in out
    listed = [line for line in out.splitlines() if line.startswith("      - ")]
    assert len(listed) == 10
    problems = int(out.split("problems:")[1].split()[0])
    assert problems >= 15 and f"... and {problems - 10} more" in out


def entries_of(output: str) -> list[dict]:
    """Every [[sources]] entry the output says to paste, parsed as TOML."""
    block = output[output.index("[[sources]]"):]
    return tomllib.loads("\n".join(line.strip() for line in block.splitlines()))["sources"]


def test_files_of_one_format_get_one_entry_whose_glob_reads_them_each_day_once(tmp_path):
    import shutil

    for name in ("tiktok-overview-2026-11a.csv", "tiktok-overview-2026-11b.csv", "meta-facebook-posts.csv"):
        shutil.copy(EXPORTS / name, tmp_path / name)
    done = inspect("tiktok-overview-2026-11a.csv", "tiktok-overview-2026-11b.csv", "meta-facebook-posts.csv",
                   cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    entries = entries_of(done.stdout)
    assert [(e["id"], e["path"]) for e in entries] == [("tiktok", "tiktok-overview-2026-11*.csv"),
                                                       ("facebook", "meta-facebook-posts.csv")]
    options = {k: v for k, v in entries[0].items() if k not in ("id", "plugin")} | {"account": "maison"}
    source = ExportSource(ExportSource.Options(**options), entry_id="tiktok")
    now = datetime(2026, 12, 6, tzinfo=timezone.utc)
    ctx = FetchContext(datetime(2020, 1, 1, tzinfo=timezone.utc), now, [], tmp_path, logging.getLogger("t"))
    days = {table.kind: table.frame for table in source.fetch(ctx)}["account_activity"]["date"]
    assert days.n_unique() == days.len() and days.len() < 9 + 5  # the overlapping days once


def test_a_folder_is_inspected_file_by_file_and_read_by_one_entry_per_format(tmp_path):
    import shutil

    folder = tmp_path / "exports"
    folder.mkdir()
    for name in ("linkedin-content.xlsx", "linkedin-followers.xlsx", "tiktok-overview-2026-11a.csv",
                 "tiktok-overview-2026-11b.csv"):
        shutil.copy(EXPORTS / name, folder / name)
    (folder / ".DS_Store").write_bytes(b"\x00\x01")
    done = inspect(folder)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("✓ ") == 4 and ".DS_Store" not in done.stdout
    ids = [e["id"] for e in entries_of(done.stdout)]
    assert len(ids) == len(set(ids)) == 3  # two LinkedIn workbooks, the TikTok files: no id twice
    tiktok = [e for e in entries_of(done.stdout) if e["id"] == "tiktok"]
    assert tiktok[0]["path"] == str(folder / "tiktok-overview-2026-11") + "*.csv"


def test_a_sheet_named_in_the_title_is_not_named_twice():
    out = inspect_fixture("linkedin-content.xlsx").stdout
    assert "sheet Metrics (xlsx)  [linkedin_content_metrics]" in out and 'sheet "Metrics"' not in out


def test_dates_without_a_year_are_placed_on_or_before_today(tmp_path):
    """TikTok's overview from November 20 to January 5, inspected on 2026-12-07: January 5 has not
    come yet in 2027, so the file is 2025-11-20 to 2026-01-05 (it once read 2026-11-20 to
    2027-01-05: a month into the future)."""
    from datetime import datetime, timezone

    from cmflow.builtin.sources.export_inspection import inspect_export
    from cmflow.builtin.sources.export_source import ExportOptions, read_table

    path = tmp_path / "overview.csv"
    days = ["November 20", "November 21", "December 31", "January 1", "January 5"]
    path.write_text("\ufeff" + '"Date","Video Views","Profile Views","Likes","Comments","Shares"\n'
                    + "\n".join(f'"{day}","100","4","10","1","0"' for day in days), encoding="utf-8")
    answer = inspect_export(path, read_table, ExportOptions, now=datetime(2026, 12, 7, 12, tzinfo=timezone.utc))
    [table] = answer.tables
    assert (str(table.first), str(table.last)) == ("2025-11-20", "2026-01-05")
