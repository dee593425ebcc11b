"""A record that two sources of one run read counts once, and the run says so.

Two TikTok Studio downloads whose ranges overlap (the custom range is capped, so a month comes
as two files), pasted as two sources instead of one glob; LinkedIn's Metrics sheet and its New
followers sheet read by two sources, each with its own columns of the same days. Real CSV files
through the ``csv`` source, a real SQLite store; figures worked out by hand in the comments.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from cmflow.testing import run_workflow_file

WORKFLOW = """
[workflow]
name = "Overlaps"
timezone = "Europe/Paris"
period = "2026-11-16..2026-11-22"
{sources}
[[metrics]]
plugin = "totals"
counters = ["impressions", "likes"]
by = ["overall"]

[[metrics]]
plugin = "followers_gained"
by = ["overall"]
"""

ACTIVITY_SOURCE = """
[[sources]]
id = "{id}"
plugin = "csv"
path = "{path}"
record = "account_activity"
date_format = "%B %d"
default_year = 2026
constants = {{ platform = "tiktok", account = "lumen.paris" }}
columns = {{ {columns} }}
"""
BOM = "\ufeff"
FIRST = BOM + '"Date","Video Views","Likes"\n"November 16","1000","50"\n"November 17","2000","60"\n"November 18","3000","70"'
SECOND = BOM + '"Date","Video Views","Likes"\n"November 18","3000","70"\n"November 19","4000","80"'
FOLLOWERS = BOM + '"Date","New followers"\n"November 17","12"\n"November 18","8"'
VIEWS = 'date = "Date", impressions = "Video Views", likes = "Likes"'


def run(tmp_path: Path, sources: str):
    workflow = tmp_path / "workflow.toml"
    workflow.write_text(WORKFLOW.format(sources=sources), encoding="utf-8")
    result = run_workflow_file(workflow, store_url=f"sqlite:///{tmp_path / 'state.db'}", dry_run=True)
    assert result.status == "ok", [s.error for s in result.stages if not s.ok]
    return result


def value(result, metric: str) -> float | None:
    frame = result.measurements.filter((pl.col("metric") == metric) & (pl.col("period") == "current"))
    assert frame.height == 1, frame
    return frame["value"][0]


def test_overlapping_downloads_read_by_two_sources_count_each_day_once(tmp_path: Path) -> None:
    (tmp_path / "first.csv").write_text(FIRST, encoding="utf-8")
    (tmp_path / "second.csv").write_text(SECOND, encoding="utf-8")
    result = run(tmp_path, ACTIVITY_SOURCE.format(id="first", path="first.csv", columns=VIEWS)
                 + ACTIVITY_SOURCE.format(id="second", path="second.csv", columns=VIEWS))
    # November 16..19 once each: views 1000 + 2000 + 3000 + 4000 = 10000 (not 13000),
    # likes 50 + 60 + 70 + 80 = 260 (not 330)
    assert value(result, "total_impressions") == 10000
    assert value(result, "total_likes") == 260
    [second] = [s for s in result.stages if s.id == "second"]
    assert any(p.startswith("1 account_activity record(s) are also read by source 'first'") for p in second.problems)
    [first] = [s for s in result.stages if s.id == "first"]
    assert not any("also read by" in p for p in first.problems)


def test_two_sources_with_other_columns_of_the_same_days_are_merged(tmp_path: Path) -> None:
    """LinkedIn's Metrics and New followers sheets: the same account and days, other columns."""
    (tmp_path / "first.csv").write_text(FIRST, encoding="utf-8")
    (tmp_path / "followers.csv").write_text(FOLLOWERS, encoding="utf-8")
    result = run(tmp_path, ACTIVITY_SOURCE.format(id="activity", path="first.csv", columns=VIEWS)
                 + ACTIVITY_SOURCE.format(id="followers", path="followers.csv",
                                          columns='date = "Date", followers_gained = "New followers"'))
    assert value(result, "total_impressions") == 6000  # 1000 + 2000 + 3000
    assert value(result, "followers_gained") == 20  # 12 + 8: kept though the days are the other source's too


def test_each_shared_record_is_said_against_the_first_source_that_read_it(tmp_path: Path) -> None:
    (tmp_path / "first.csv").write_text(FIRST, encoding="utf-8")    # 16, 17, 18
    (tmp_path / "second.csv").write_text(SECOND, encoding="utf-8")  # 18, 19
    (tmp_path / "third.csv").write_text(SECOND, encoding="utf-8")   # 18, 19 again
    result = run(tmp_path, "".join(ACTIVITY_SOURCE.format(id=name, path=f"{name}.csv", columns=VIEWS)
                                   for name in ("first", "second", "third")))
    assert value(result, "total_impressions") == 10000  # 16..19 once each
    notes = {s.id: [p.split(" (")[0] for p in s.problems if "also read by" in p] for s in result.stages
             if s.kind == "source"}
    # the 18th was first read by 'first', the 19th by 'second'
    assert notes == {"first": [],
                     "second": ["1 account_activity record(s) are also read by source 'first'"],
                     "third": ["1 account_activity record(s) are also read by source 'first'",
                               "1 account_activity record(s) are also read by source 'second'"]}
