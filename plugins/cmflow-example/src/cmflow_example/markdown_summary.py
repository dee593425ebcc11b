"""The ``markdown_summary`` output: the run's KPI tables as one Markdown file.

Built with cmflow's public presentation helpers (``kpi_tables``, ``metric_label``,
``ranked_posts``, ``RunResult.output_path``), so it shows the same numbers, formatted the same
way, as the console and HTML outputs. This module only turns them into Markdown.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field

from cmflow import (DeliveryContext, Output, PluginOptions, RunResult, format_value, hookimpl, kpi_tables,
                    metric_label, ranked_posts)


class MarkdownSummaryOptions(PluginOptions):
    path: str = Field(
        "reports/{workflow}-{period}.md",
        description="File to write, relative to the current directory. {workflow}, {period} "
        "(start..end) and {date} (today) are replaced.", examples=["reports/mastodon-{period}.md"])
    title: str | None = Field(
        None, description="Heading of the document. Default: the workflow's name.",
        examples=["Weekly Mastodon KPIs"])
    metrics: list[str] | None = Field(
        None, description="Measurements to show as columns, in this order. Default: every one "
        "the workflow produces.", examples=[["posts_published", "total_likes"]])
    changes: bool = Field(
        True, description="Show each value's change against the workflow's first comparison "
        "period: percentage points for rates, percent for counts.", examples=[False])
    top_posts: bool = Field(
        True, description="Also list the top posts, if the workflow ranks them (metric "
        "top_posts).", examples=[False])


class MarkdownSummary(Output):
    """Writes one Markdown table per breakdown (overall, by account, by format ...), metrics as
    columns, with the change against the first comparison period, a note for every value that
    is missing and why, and the top posts as a list.

    Text from the public (account names, post text) is escaped so it cannot break the tables.
    In a dry run cmflow does not call it (``delivers_externally`` keeps its default, True).
    """

    name = "markdown_summary"
    description = "Write the run's KPI tables, with changes, to a Markdown file."
    Options = MarkdownSummaryOptions

    def deliver(self, result: RunResult, ctx: DeliveryContext) -> str | None:
        options: MarkdownSummaryOptions = self.options
        path = result.output_path(options.path)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(path.name + ".tmp")
        temporary.write_text(render_markdown(result, options), encoding="utf-8")
        temporary.replace(path)  # readers never see half a file
        return f"wrote {path}"


def render_markdown(result: RunResult, options: MarkdownSummaryOptions) -> str:
    """The whole document."""
    comparison = result.comparison_periods[0] if options.changes and result.comparison_periods else None
    lines = [f"# {escape(options.title or result.workflow.name)}", "",
             f"Period: {result.period}" + (f", changes vs {comparison.label.replace('_', ' ')} "
                                            f"({comparison})" if comparison else ""), ""]
    tables = kpi_tables(result, options.metrics)
    if not tables:
        lines += ["No measurement this period.", ""]
    for table in tables:
        lines += table_lines(table, with_changes=comparison is not None)
    shown = {metric for table in tables for metric, _unit in table.metrics}
    missing = [m for m in options.metrics or [] if m not in shown]
    if missing:
        lines += [f"Not produced by this workflow: {', '.join(escape(m) for m in missing)}.", ""]
    if options.top_posts:
        lines += top_posts_lines(ranked_posts(result, "top_posts"))
    return "\n".join(lines)


def table_lines(table: Any, with_changes: bool) -> list[str]:
    """One of ``kpi_tables``' tables: a heading, the table, and "No value:" notes saying why
    cells are empty."""
    lines = [f"## {escape(table.title)}", "",
             _row([*(d.capitalize() for d in table.dimensions), *(metric_label(m) for m, _unit in table.metrics)]),
             "|" + "|".join([*(" --- " for _ in table.dimensions), *(" ---: " for _ in table.metrics)]) + "|"]
    notes = []
    for row in table.rows:
        texts = []
        for metric, _unit in table.metrics:
            cell = row.cells.get(metric)
            if cell is None:  # this row's series does not have that metric
                texts.append("")
                continue
            text = cell.text
            if with_changes and cell.value is not None and cell.change_text:
                text += f" ({cell.change_text})"
            texts.append(text)
            if cell.value is None:
                where = " / ".join(str(label) for label in row.labels) or "overall"
                notes.append(f"- {escape(metric_label(metric))}, {escape(where)}: "
                             f"{escape(cell.reason or 'no reason given')}")
        lines.append(_row([*(str(label) for label in row.labels), *texts]))
    lines.append("")
    if notes:
        lines += ["No value:", "", *notes, ""]
    return lines


def top_posts_lines(posts: list[dict[str, Any]]) -> list[str]:
    """``1. 12 — mastodon / @account, 2026-11-17, image: the text <https://link>``"""
    if not posts:
        return []
    lines = ["## Top posts", ""]
    for post in posts:
        published = post["published_at"].strftime("%Y-%m-%d") if post.get("published_at") else "no date"
        text = " ".join((post.get("text") or "(no text)").split())
        text = text[:140] + ("…" if len(text) > 140 else "")
        line = (f"{post['rank']}. {format_value(post['value'], post['unit'])} — "
                f"{escape(post['platform'])} / {escape(post['account'])}, {published}, "
                f"{escape(post.get('format') or 'unknown format')}: {escape(text)}")
        url = post.get("url") or ""
        if _SAFE_URL.fullmatch(url):
            line += f" <{url}>"
        lines.append(line)
    return [*lines, ""]


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(escape(cell) for cell in cells) + " |"


# Enough to keep a cell one cell and text plain: no pipe, no HTML, no link, no code span, no
# emphasis or strikethrough run (a backslash makes any ASCII punctuation literal in Markdown).
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_~\[\]<>|])")
_SAFE_URL = re.compile(r"https?://[^\s<>\\`|]+")


def escape(text: Any) -> str:
    """Text from the public, safe in a Markdown table cell: one line, no markup, no pipe, and
    no leading ``=`` (a formula once the table is pasted into a spreadsheet)."""
    escaped = _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))
    return "\\" + escaped if escaped.startswith("=") else escaped



@hookimpl
def register_outputs(register):
    register(MarkdownSummary)
