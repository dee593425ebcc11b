"""The markdown_summary output, end to end: sample export -> built-in metrics -> Markdown file."""

from __future__ import annotations

import json
from pathlib import Path

import pydantic
import pytest

from cmflow.testing import run_workflow_file

from cmflow_example.markdown_summary import MarkdownSummaryOptions

WORKFLOW = """
[workflow]
name = "Mastodon weekly"
timezone = "UTC"
period = "last_week"
compare = ["previous_period"]
as_of = "2026-11-24"

[[sources]]
id = "mastodon"
plugin = "mastodon_archive"
path = "{outbox}"
{account}

[[metrics]]
plugin = "engagement_rate_by_reach"
by = ["overall"]

[[metrics]]
plugin = "posts_published"
by = ["overall", "account", "format"]

[[metrics]]
plugin = "totals"
counters = ["likes", "interactions"]
by = ["overall"]

[[metrics]]
plugin = "top_posts"
rank_by = "likes"

[[outputs]]
plugin = "markdown_summary"
path = "{summary}"
title = "Maison Lumière on Mastodon"
{options}
"""


def write_workflow(tmp_path: Path, outbox: Path, account: str = "", options: str = "") -> tuple[Path, Path]:
    summary = tmp_path / "reports" / "summary.md"
    path = tmp_path / "workflow.toml"
    account_line = f"account = {json.dumps(account)}" if account else ""  # a JSON string is a TOML string
    path.write_text(WORKFLOW.format(outbox=outbox.as_posix(), summary=summary.as_posix(), account=account_line,
                                    options=options), encoding="utf-8")
    return path, summary


def test_writes_kpi_tables_with_changes_and_missing_values(example_plugins, sample_outbox, tmp_path, store_url):
    workflow, summary = write_workflow(tmp_path, sample_outbox)

    result = run_workflow_file(workflow, store_url=store_url)

    assert result.status == "ok", result.stats()
    lines = summary.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "# Maison Lumière on Mastodon"
    assert "Period: 2026-11-16..2026-11-22, changes vs previous period (2026-11-09..2026-11-15)" in lines
    # 3 posts against 2; likes 12 + 5 (the video has no count) against 4 + 8;
    # interactions (likes + comments + shares) 23 against 16.
    # Columns labelled as in the console and HTML outputs, in the order the workflow computes them.
    overall = lines.index("## Overall")
    assert lines[overall + 2:overall + 5] == [
        "| ERR (reach) | Posts | Likes | Interactions |",
        "| ---: | ---: | ---: | ---: |",
        "| – | 3 (+50%) | 17 (+42%) | 23 (+44%) |",
    ]
    assert lines[overall + 6:overall + 9] == ["No value:", "", "- ERR (reach), overall: no post has reach data"]
    by_account = lines.index("## By account")
    assert lines[by_account + 2:by_account + 5] == [
        "| Platform | Account | Posts |", "| --- | --- | ---: |",
        "| mastodon | @maisonlumiere@mastodon.social | 3 (+50%) |"]
    by_format = lines.index("## By format")
    # The video is new this week: no percentage against 0, the difference instead.
    assert lines[by_format + 4:by_format + 7] == ["| image | 1 (+0%) |", "| text | 1 (+0%) |", "| video | 1 (+1) |"]
    # Ranked by likes: the video has no count, so two of this week's three posts are ranked.
    top = lines.index("## Top posts")
    assert lines[top + 2:] == [
        "1. 12 — mastodon / @maisonlumiere@mastodon.social, 2026-11-17, image: Fresh croissants at 7am & "
        "every day! Come early 🥐 #bakery <https://mastodon.social/@maisonlumiere/113500000000000002>",
        "2. 5 — mastodon / @maisonlumiere@mastodon.social, 2026-11-19, text: Thanks @julie for the lovely "
        "review: https://example.org/review <https://mastodon.social/@maisonlumiere/113500000000000003>",
    ]
    output = next(s for s in result.stages if s.plugin == "markdown_summary")
    assert output.note == f"wrote {summary}"
    assert not summary.with_name("summary.md.tmp").exists()


def test_options_choose_columns_and_leave_out_changes_and_top_posts(example_plugins, sample_outbox, tmp_path,
                                                                     store_url):
    options = 'metrics = ["total_likes", "posts_published", "follower_growth"]\nchanges = false\ntop_posts = false'
    workflow, summary = write_workflow(tmp_path, sample_outbox, options=options)

    assert run_workflow_file(workflow, store_url=store_url).status == "ok"

    lines = summary.read_text(encoding="utf-8").splitlines()
    assert "Period: 2026-11-16..2026-11-22" in lines
    overall = lines.index("## Overall")
    assert lines[overall + 2:overall + 5] == ["| Likes | Posts |", "| ---: | ---: |", "| 17 | 3 |"]
    by_format = lines.index("## By format")
    assert lines[by_format + 4:by_format + 7] == ["| image | 1 |", "| text | 1 |", "| video | 1 |"]
    assert "Not produced by this workflow: follower\\_growth." in lines
    assert "No value:" not in lines  # ERR, the only missing value, is not asked for
    assert "## Top posts" not in lines


def test_text_from_the_public_cannot_break_a_table(example_plugins, sample_outbox, tmp_path, store_url):
    workflow, summary = write_workflow(tmp_path, sample_outbox, account="=a|b <script>\n`x` *y*")

    assert run_workflow_file(workflow, store_url=store_url).status == "ok"

    lines = summary.read_text(encoding="utf-8").splitlines()
    escaped = r"\=a\|b \<script\> \`x\` \*y\*"
    row = next(line for line in lines if line.startswith("| mastodon"))
    assert row == rf"| mastodon | {escaped} | 3 (+50%) |"
    top = lines.index("## Top posts")
    assert lines[top + 2].startswith(rf"1. 12 — mastodon / {escaped}, 2026-11-17, image: ")


def test_dry_run_writes_nothing(example_plugins, sample_outbox, tmp_path, store_url):
    workflow, summary = write_workflow(tmp_path, sample_outbox)

    result = run_workflow_file(workflow, store_url=store_url, dry_run=True)

    assert result.status == "ok"
    assert not summary.exists()


def test_options_refuse_unknown_keys_and_document_every_field():
    with pytest.raises(pydantic.ValidationError, match="extra"):
        MarkdownSummaryOptions(pth="summary.md")
    for name, field in MarkdownSummaryOptions.model_fields.items():
        assert field.description and field.examples, name
