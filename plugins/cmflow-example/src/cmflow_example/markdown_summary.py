"""The ``markdown_summary`` output: the run's KPI tables as one Markdown file.

Built from ``RunResult.measurements`` and ``RunResult.comparisons`` only (cmflow's public
API), so it shows what any other output shows without importing cmflow internals.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pydantic import Field

from cmflow import DeliveryContext, Output, PluginOptions, RunResult, hookimpl

NOT_DIMENSIONS = {"period", "metric", "unit", "value", "reason", "rank", "period_start", "period_end",
                  "series_key", "ranked_within"}
"""Columns of a measurement frame that are not dimensions (see RunResult.measurements)."""
BREAKDOWN_ORDER = [(), ("platform",), ("platform", "account"), ("format",), ("pillar",), ("campaign",)]
NO_VALUE = "–"


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


class MarkdownSummary(Output):
    """Writes one Markdown table per breakdown (overall, by account, by format ...), metrics as
    columns, with the change against the first comparison period, and a note for every value
    that is missing and why. Rankings such as ``top_posts`` are left out.

    Text from the public (account names, pillars) is escaped so it cannot break the tables.
    """

    name = "markdown_summary"
    description = "Write the run's KPI tables, with changes, to a Markdown file."
    Options = MarkdownSummaryOptions

    def deliver(self, result: RunResult, ctx: DeliveryContext) -> str | None:
        options: MarkdownSummaryOptions = self.options
        path = Path(fill_path(options.path, result))
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(path.name + ".tmp")
        temporary.write_text(render_markdown(result, options), encoding="utf-8")
        temporary.replace(path)  # readers never see half a file
        return f"wrote {path}"


@dataclass
class _Table:
    dimensions: tuple[str, ...]
    rows: dict[tuple[str, ...], dict[str, dict[str, Any]]] = field(default_factory=dict)
    """Dimension values -> metric -> measurement row (with its comparison, if any)."""


def render_markdown(result: RunResult, options: MarkdownSummaryOptions) -> str:
    """The whole document."""
    import polars as pl

    comparison = result.comparison_periods[0] if result.comparison_periods and options.changes else None
    lines = [f"# {escape(options.title or result.workflow.name)}", "",
             f"Period: {result.period}" + (f", changes vs {comparison.label.replace('_', ' ')} "
                                            f"({comparison})" if comparison else ""), ""]
    frame = result.measurements
    if frame is not None and "rank" in frame.columns:
        frame = frame.filter(pl.col("rank").is_null())
    current = frame.filter(pl.col("period") == "current") if frame is not None else None
    if current is None or current.height == 0:
        return "\n".join([*lines, "No measurement this period.", ""])
    names = options.metrics or list(dict.fromkeys(current["metric"].to_list()))
    current = current.filter(pl.col("metric").is_in(names))
    units = dict(zip(current["metric"].to_list(), current["unit"].to_list()))
    changes = _changes(result, comparison.label) if comparison else {}
    dimensions = [c for c in current.columns if c not in NOT_DIMENSIONS and current[c].null_count() < current.height]

    tables: dict[tuple[str, ...], _Table] = {}
    for row in current.iter_rows(named=True):
        dims = tuple(d for d in dimensions if row[d] is not None)
        table = tables.setdefault(dims, _Table(dims))
        labels = tuple(str(row[d]) for d in dims)
        row["change"] = changes.get((row["metric"], row.get("series_key")))
        table.rows.setdefault(labels, {})[row["metric"]] = row

    def order(dims: tuple[str, ...]) -> tuple[int, int, tuple[str, ...]]:
        known = BREAKDOWN_ORDER.index(dims) if dims in BREAKDOWN_ORDER else len(BREAKDOWN_ORDER)
        return known, len(dims), dims

    for dims in sorted(tables, key=order):
        lines += _table_lines(tables[dims], [m for m in names if m in units], units)
    missing = [m for m in names if m not in units]
    if missing:
        lines += [f"Not produced by this workflow: {', '.join(escape(m) for m in missing)}.", ""]
    return "\n".join(lines)


def _table_lines(table: _Table, names: list[str], units: dict[str, str]) -> list[str]:
    present = [m for m in names if any(m in cells for cells in table.rows.values())]
    lines = [f"## {breakdown_title(table.dimensions)}", ""]
    lines.append("| " + " | ".join([*(d.capitalize() for d in table.dimensions), *present]) + " |")
    lines.append("|" + "|".join([*(" --- " for _ in table.dimensions), *(" ---: " for _ in present)]) + "|")
    notes = []
    for labels in sorted(table.rows):
        cells = table.rows[labels]
        texts = []
        for metric in present:
            row = cells.get(metric)
            if row is None:
                texts.append("")
                continue
            text = format_value(row["value"], units[metric])
            change = row["change"]
            if change is not None and row["value"] is not None:
                change_text = format_change(change["change"], change["change_pct"], units[metric])
                if change_text:
                    text += f" ({change_text})"
            if row["value"] is None and row.get("reason"):
                where = " / ".join(labels) or "overall"
                notes.append(f"- {escape(metric)} ({escape(where)}): {escape(row['reason'])}")
            texts.append(text)
        lines.append("| " + " | ".join([*(escape(label) for label in labels), *texts]) + " |")
    lines.append("")
    if notes:
        lines += ["No value:", "", *notes, ""]
    return lines


def _changes(result: RunResult, label: str) -> dict[tuple[str, str], dict[str, Any]]:
    import polars as pl

    comparisons = result.comparisons
    if comparisons is None or comparisons.height == 0 or "comparison" not in comparisons.columns:
        return {}
    return {(row["metric"], row["series_key"]): row
            for row in comparisons.filter(pl.col("comparison") == label).iter_rows(named=True)}


def breakdown_title(dimensions: tuple[str, ...]) -> str:
    if not dimensions:
        return "Overall"
    if dimensions == ("platform", "account"):
        return "By account"
    return "By " + " × ".join(dimensions)


def format_value(value: float | None, unit: str) -> str:
    """``12.34%`` for rates, ``1,234`` for whole numbers, two decimals otherwise."""
    if value is None:
        return NO_VALUE
    if unit == "%":
        return f"{value:.2f}%"
    if float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.2f}"


def format_change(change: float | None, change_pct: float | None, unit: str) -> str:
    """``+0.84 pt`` for rates (percentage points), ``+12%`` for counts; empty when unknown."""
    if change is None:
        return ""
    if unit == "%":
        return f"{change:+.2f} pt"
    if change_pct is None:  # the comparison value was 0
        return f"{change:+,.0f}"
    return f"{change_pct:+.0f}%"


# Enough to keep a cell one cell: no pipe, no HTML, no link, no code span, no emphasis run.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*\[\]<>|])")


def escape(text: Any) -> str:
    """Text from the public, safe in a Markdown table cell: no markup, no line break, no pipe."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def fill_path(template: str, result: RunResult) -> str:
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", result.workflow.name).strip("-").lower() or "workflow"
    return (template.replace("{workflow}", name).replace("{period}", str(result.period))
            .replace("{date}", datetime.now(timezone.utc).date().isoformat()))


@hookimpl
def register_outputs(register):
    register(MarkdownSummary)
