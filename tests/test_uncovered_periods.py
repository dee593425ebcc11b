"""A period the files read do not reach has no value, not 0 (stages/uncovered_periods.py).

The export below (Meta Business Suite's posts shape: byte-order mark, US dates with times) starts
on 2 October 2026. A report for November 2026 compared with October and with November 2025:

    period          posts (hand count)          what the report must say
    2026-11         3 (ig-3, ig-4, fb-2)        3
    2026-10         2 (ig-1, fb-1)              2: the file covers October
      instagram in October: ig-1 only           1; facebook: fb-1 only, 1
    2025-11         none: the file starts later no value, "no record read reaches this period"

and a platform that posted nothing in a period the file covers keeps its 0 (LinkedIn's page
posted in November only: October is 0, not "no value").
"""

from __future__ import annotations

import types
from datetime import datetime, timezone

from cmflow import RecordTable, Source, hookimpl
from cmflow.presentation.language import language
from cmflow.stages.uncovered_periods import UNCOVERED_REASON
from cmflow.testing import registered_plugin, run_workflow_file

EXPORT = "\ufeff" + "\r\n".join([
    "Post ID,Page name,Platform,Publish time,Reactions,Comments,Shares,Reach",
    "ig-1,Lumen,instagram,10/02/2026 09:05,120,4,2,1500",
    "fb-1,Lumen,facebook,10/20/2026 18:30,40,1,0,900",
    "ig-3,Lumen,instagram,11/03/2026 12:00,200,9,5,2600",
    "ig-4,Lumen,instagram,11/17/2026 08:45,180,6,1,2100",
    "fb-2,Lumen,facebook,11/25/2026 19:10,55,2,3,1200",
    "li-1,Lumen,linkedin,11/28/2026 10:00,30,2,1,800",
]) + "\r\n"

WORKFLOW = """
[workflow]
name = "Lumen monthly"
timezone = "Europe/Paris"
period = "2026-11-01..2026-11-30"
compare = ["previous_period", "same_period_last_year"]

[[sources]]
id = "posts"
plugin = "csv"
path = "posts.csv"
datetime_format = "%m/%d/%Y %H:%M"
columns = { post_id = "Post ID", account = "Page name", platform = "Platform", published_at = "Publish time", likes = "Reactions", comments = "Comments", shares = "Shares", reach = "Reach" }

[[metrics]]
plugin = "posts_published"
by = ["overall", "platform"]
"""


def posts(result, period: str) -> dict[str, tuple[float | None, str | None]]:
    rows = result.measurements.filter((result.measurements["metric"] == "posts_published")
                                      & (result.measurements["period"] == period))
    return {row["platform"] or "overall": (row["value"], row["reason"]) for row in rows.iter_rows(named=True)}


def comparison(result, versus: str) -> dict[str, tuple[float | None, str | None]]:
    rows = result.comparisons.filter((result.comparisons["metric"] == "posts_published")
                                     & (result.comparisons["comparison"] == versus))
    return {row["platform"] or "overall": (row["previous_value"], row["change_reason"])
            for row in rows.iter_rows(named=True)}


def test_counts_before_the_files_start_have_no_value_and_counts_they_cover_keep_their_zeros(tmp_path, store_url):
    (tmp_path / "posts.csv").write_text(EXPORT, encoding="utf-8", newline="")
    (tmp_path / "workflow.toml").write_text(WORKFLOW, encoding="utf-8")
    result = run_workflow_file(tmp_path / "workflow.toml", store_url=store_url)

    current = posts(result, "current")
    assert {k: v for k, (v, _) in current.items()} == {"overall": 4, "instagram": 2, "facebook": 1, "linkedin": 1}
    before = posts(result, "previous_period")
    assert {k: v for k, (v, _) in before.items()} == {"overall": 2, "instagram": 1, "facebook": 1, "linkedin": 0}
    last_year = posts(result, "same_period_last_year")
    assert set(last_year) == {"overall", "instagram", "facebook", "linkedin"}
    for value, reason in last_year.values():
        assert value is None
        assert reason == f"{UNCOVERED_REASON}: the records read start on 2026-10-02 (posts)"

    assert comparison(result, "previous_period")["linkedin"] == (0, "comparison value is 0")
    assert comparison(result, "same_period_last_year")["overall"] == (None, "no value for the comparison period")


def test_a_report_tells_a_client_the_period_is_outside_the_data_in_their_language():
    reason = f"{UNCOVERED_REASON}: the records read start on 2026-10-02 (posts)"
    assert language("en").reason(reason) == "Outside the days the data read covers"
    assert language("fr").reason(reason) == "Hors des jours couverts par les données lues"


class WindowPosts(Source):
    """Posts of the window asked for, as an API hands them over: November 2026 only."""

    name = "window_posts_for_uncovered_test"
    description = "Posts of the window asked for (a test's stand-in for an API)."
    record_kinds = ("post",)
    window_only = True

    def fetch(self, ctx):
        published = datetime(2026, 11, 10, 9, tzinfo=timezone.utc)
        rows = [{"platform": "instagram", "account": "lumen", "post_id": "ig-9", "published_at": published,
                 "likes": 10}] if ctx.window_start <= published < ctx.window_end else []
        return [RecordTable.from_rows("post", rows)]


@hookimpl
def register_sources(register):
    register(WindowPosts)


def test_a_source_that_hands_over_the_window_asked_covers_every_period(tmp_path, store_url):
    """Its records start in November, but it was asked for last year too and had none: 0, not no value."""
    module = types.ModuleType("uncovered_window_source")
    module.register_sources = register_sources
    text = WORKFLOW.split("[[sources]]")[0] + f"""
[[sources]]
id = "posts"
plugin = "{WindowPosts.name}"

[[metrics]]
plugin = "posts_published"
by = ["overall"]
"""
    (tmp_path / "workflow.toml").write_text(text, encoding="utf-8")
    with registered_plugin(module):
        result = run_workflow_file(tmp_path / "workflow.toml", store_url=store_url)
    assert posts(result, "current")["overall"][0] == 1
    assert posts(result, "same_period_last_year")["overall"] == (0, None)
