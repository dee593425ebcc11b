"""The markdown_summary output, end to end: sample export -> built-in metrics -> Markdown file."""

from __future__ import annotations

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

[[outputs]]
plugin = "markdown_summary"
path = "{summary}"
title = "Maison Lumière on Mastodon"
"""


def write_workflow(tmp_path: Path, outbox: Path, account: str = "") -> tuple[Path, Path]:
    summary = tmp_path / "reports" / "summary.md"
    path = tmp_path / "workflow.toml"
    path.write_text(WORKFLOW.format(outbox=outbox.as_posix(), summary=summary.as_posix(),
                                    account=f"account = {account!r}" if account else ""), encoding="utf-8")
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
    overall = lines.index("## Overall")
    assert lines[overall + 2:overall + 5] == [
        "| engagement_rate_by_reach | posts_published | total_likes | total_interactions |",
        "| ---: | ---: | ---: | ---: |",
        "| – | 3 (+50%) | 17 (+42%) | 23 (+44%) |",
    ]
    assert "- engagement_rate_by_reach (overall): no post has reach data" in lines
    by_account = lines.index("## By account")
    assert lines[by_account + 4] == "| mastodon | @maisonlumiere@mastodon.social | 3 (+50%) |"
    by_format = lines.index("## By format")
    # The video is new this week: no percentage against 0, the difference instead.
    assert lines[by_format + 4:by_format + 7] == ["| image | 1 (+0%) |", "| text | 1 (+0%) |", "| video | 1 (+1) |"]
    output = next(s for s in result.stages if s.plugin == "markdown_summary")
    assert output.note == f"wrote {summary}"


def test_text_from_the_public_cannot_break_a_table(example_plugins, sample_outbox, tmp_path, store_url):
    workflow, summary = write_workflow(tmp_path, sample_outbox, account="a|b <script>")

    assert run_workflow_file(workflow, store_url=store_url).status == "ok"

    row = next(line for line in summary.read_text(encoding="utf-8").splitlines() if line.startswith("| mastodon"))
    assert row == r"| mastodon | a\|b \<script\> | 3 (+50%) |"


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
