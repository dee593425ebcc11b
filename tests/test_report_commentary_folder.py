"""A report's commentary: a missing file is a period without commentary (nothing said), a
missing folder a misspelt path, said in the output's line of the run summary."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cmflow.testing import run_workflow_file

FIXTURE = Path(__file__).parent / "fixtures" / "where" / "agency-posts.csv"
WORKFLOW = '''
[workflow]
name = "Agency weekly"
timezone = "Europe/Paris"

[[sources]]
id = "agency"
plugin = "csv"
path = "agency-posts.csv"
datetime_format = "%m/%d/%Y %H:%M"
thousands = ","
columns = {{ published_at = "Date", platform = "Network", account = "Profile", post_id = "Post ID", likes = "Likes", reach = "Reach" }}

[[metrics]]
plugin = "totals"
counters = ["likes"]
by = ["overall"]

[[outputs]]
plugin = "report"
path = "reports/{{period}}.{{format}}"
formats = ["json"]
commentary = "{commentary}"
'''


@pytest.mark.parametrize("commentary, said", [
    ("commentaires/{period}.md", None),  # the folder exists, this period's file does not: normal
    ("commentaries/{period}.md", "no commentary: folder {folder} does not exist"),
])
def test_a_missing_commentary_folder_is_said_a_missing_file_is_not(tmp_path, write_workflow, store_url,
                                                                   commentary, said):
    shutil.copy(FIXTURE, tmp_path / "agency-posts.csv")
    (tmp_path / "commentaires").mkdir()
    path = write_workflow(WORKFLOW.format(commentary=commentary))
    result = run_workflow_file(path, store_url=store_url, period="2026-11-16..2026-11-22")
    [report] = [s for s in result.stages if s.kind == "output"]
    assert report.ok, report.error
    if said is None:
        assert "commentary" not in report.note
    else:
        assert said.format(folder=tmp_path / "commentaries") in report.note
        assert "commentary = 'commentaries/{period}.md'" in report.note
