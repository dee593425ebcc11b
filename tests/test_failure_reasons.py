"""A figure without a value because its source failed says so, not what the metric says of a
period without records ("no posts in this period"), in the run's measurements and the report."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl

from cmflow.testing import run_workflow_file

FIXTURE = Path(__file__).parent / "fixtures" / "where" / "agency-posts.csv"
WORKFLOW = '''
[workflow]
name = "Two sources"
timezone = "Europe/Paris"

[[sources]]
id = "{first}"
plugin = "csv"
path = "agency-posts.csv"
datetime_format = "%m/%d/%Y %H:%M"
thousands = ","
columns = {{ published_at = "Date", platform = "Network", account = "Profile", post_id = "Post ID", likes = "Likes", reach = "Reach" }}

[[metrics]]
plugin = "totals"
counters = ["likes"]
by = ["overall"]
'''


def current_reasons(result) -> list[str | None]:
    rows = result.measurements.filter((pl.col("period") == "current") & (pl.col("metric") == "total_likes"))
    return rows["reason"].to_list()


ACTIVITY = '''
[workflow]
name = "Daily activity"
timezone = "Europe/Paris"

[[sources]]
id = "activity"
plugin = "csv"
record = "account_activity"
path = "activity.csv"

[[metrics]]
plugin = "totals"
counters = ["likes"]
by = ["overall"]
'''


def test_a_failed_sources_figures_give_the_failure_as_their_reason(tmp_path, write_workflow, store_url):
    path = write_workflow(ACTIVITY)  # activity.csv is not there: the source fails
    result = run_workflow_file(path, store_url=store_url, period="2026-11-16..2026-11-22")
    assert [s.id for s in result.failed_stages] == ["activity"]
    assert current_reasons(result) == ["source activity failed this run"]


def test_a_quiet_period_keeps_the_metrics_own_reason(tmp_path, write_workflow, store_url):
    shutil.copy(FIXTURE, tmp_path / "agency-posts.csv")
    path = write_workflow(WORKFLOW.format(first="posts"))
    result = run_workflow_file(path, store_url=store_url, period="2025-11-16..2025-11-22")
    assert result.failed_stages == []
    assert current_reasons(result) == ["no posts in this period"]
