"""The ``console`` output: the run's KPIs and alerts as tables in the terminal."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from cmflow import Output, PluginOptions, WholeNumber, hookimpl

if TYPE_CHECKING:
    from cmflow import DeliveryContext, RunResult


class ConsoleOptions(PluginOptions):
    metrics: list[str] | None = Field(
        None, description="Measurements to show as columns, in order. Default: every one the "
        "workflow produces.", examples=[["engagement_rate_by_reach", "follower_growth"]])
    top_posts: bool = Field(True, description="Also list the top and bottom posts, if computed.")
    most_negative: bool = Field(True, description="Also list the most negative mentions, comments or "
                                "posts, if computed (most_negative): a moderation list.")
    width: WholeNumber | None = Field(None, ge=60, description="Table width in characters. Default: the "
                                      "terminal's (140 when the output is not a terminal).", examples=[120])


class Console(Output):
    """Prints one table per breakdown (overall, per account ...) with the change vs the first
    comparison period, the alerts, the ranked posts and the most negative items. Under each
    table, why a figure shown as "–" has no value (``– Production cost: time tracker amounts
    are in USD …``), each figure and reason once."""

    name = "console"
    description = "Print KPI tables, changes and alerts in the terminal."
    Options = ConsoleOptions
    delivers_externally = False

    def check(self, workflow) -> list[tuple[str, str]]:
        return workflow.unknown_measurements({f"metrics[{i}]": name
                                              for i, name in enumerate(self.options.metrics or [])})

    def deliver(self, result: RunResult, ctx: DeliveryContext) -> str | None:
        from cmflow import kpi_tables, metric_label, ranked_items, ranked_posts
        from cmflow import table_console

        options: ConsoleOptions = self.options
        console = table_console(options.width)
        versus = result.comparison_periods[0] if result.comparison_periods else None
        console.print(f"[bold]{_escape(result.workflow.name)}[/bold] — {result.period}"
                      + (f"  (changes vs {versus})" if versus else ""))
        for stage in result.failed_sources:
            console.print(f"[bold red]! Incomplete: source {_escape(stage.id)} failed "
                          f"({_escape(_first_sentence(stage.error or ''))}); its records are left out.[/bold red]")
        for table in kpi_tables(result, options.metrics):
            console.print(_rich_table(table, metric_label))
            for note in table.basis_notes:  # where the figures come from: posts or daily activity
                console.print(f"[dim]{_escape(note)}[/dim]")
            for note in _no_value_notes(table, metric_label):  # why a "–" is one
                console.print(f"[dim]{_escape(note)}[/dim]")
        if options.top_posts:
            for metric, title in (("top_posts", "Top posts"), ("bottom_posts", "Bottom posts")):
                posts = ranked_posts(result, metric)
                if posts:
                    console.print(_posts_table(title, posts))
        if options.most_negative:
            for metric in sorted(m for m in result.workflow.measurement_names() if m.startswith("most_negative_")):
                items = ranked_items(result, metric)
                if items:
                    console.print(_items_table(metric_label(metric), items))
        return None


def _rich_table(table, metric_label):
    from rich.table import Table

    rich_table = Table(title=table.title, title_justify="left", header_style="bold")
    for dim in table.dimensions:
        rich_table.add_column(dim.capitalize(), overflow="fold")
    for metric, _unit in table.metrics:
        rich_table.add_column(metric_label(metric), justify="right")
    for row in table.rows:
        cells = []
        for metric, _unit in table.metrics:
            cell = row.cells.get(metric)
            if cell is None:
                cells.append("")
                continue
            text = _escape(cell.text)
            if cell.basis_tag:
                text += f" [dim]{_escape(cell.basis_tag)}[/dim]"
            if cell.change_text:
                colour = {"up": "green", "down": "red"}.get(cell.direction, "dim")
                text += f" [{colour}]{_escape(cell.change_text)}[/{colour}]"
            cells.append(text)
        labels = [_escape(str(label)) for label in row.labels]
        if row.alerting and labels:
            labels[0] = f"[bold yellow]! {labels[0]}[/bold yellow]"
        rich_table.add_row(*labels, *cells)
    return rich_table


NO_VALUE_NOTES = 5
"""Reasons listed under a table at most (one per figure and reason)."""


def _no_value_notes(table, metric_label) -> list[str]:
    """Why the table's figures without a value have none, each (figure, reason) once:
    ``– Production cost: time tracker amounts are in USD …``; the rows' labels where several."""
    reasons: dict[tuple[str, str], list[str]] = {}
    for row in table.rows:
        for metric, _unit in table.metrics:
            cell = row.cells.get(metric)
            if cell is not None and cell.value is None and cell.reason:
                reasons.setdefault((metric, cell.reason), []).append(" ".join(str(label) for label in row.labels))
    notes = []
    for (metric, reason), labels in list(reasons.items())[:NO_VALUE_NOTES]:
        named = [label for label in labels if label]
        where = f" ({', '.join(named[:3])}{' …' if len(named) > 3 else ''})" if named and len(table.rows) > 1 else ""
        notes.append(f"– {metric_label(metric)}{where}: {reason}")
    if len(reasons) > NO_VALUE_NOTES:
        notes.append(f"… and {len(reasons) - NO_VALUE_NOTES} more figure(s) without a value (see the report CSV's reason)")
    return notes


def _posts_table(title, posts):
    from rich.table import Table

    from cmflow import format_value

    table = Table(title=title, title_justify="left", header_style="bold")
    for column in ("#", "Account", "Date", "Format", "Value", "Post"):
        table.add_column(column, overflow="fold")
    for post in posts:
        published = post["published_at"].strftime("%Y-%m-%d") if post.get("published_at") else ""
        text = (post.get("text") or "").replace("\n", " ")
        table.add_row(str(post["rank"]), _escape(f"{post['platform']} / {post['account']}"), published,
                      _escape(post.get("format") or ""), format_value(post["value"], post["unit"]),
                      _escape(text[:60] + ("…" if len(text) > 60 else "")))
    return table


def _items_table(title, items):
    """The most negative mentions or comments: who, when, the score and the text."""
    from rich.table import Table

    table = Table(title=title, title_justify="left", header_style="bold")
    for column in ("#", "From", "Date", "Score", "Text"):
        table.add_column(column, overflow="fold")
    for item in items:
        where = " / ".join(str(item[c]) for c in ("platform", "account") if item.get(c))
        author = f" @{item['author']}" if item.get("author") else ""
        published = item["published_at"].strftime("%Y-%m-%d %H:%M") if item.get("published_at") else ""
        text = (item.get("text") or "").replace("\n", " ")
        score = f"{item['value']:+.2f}" if item["value"] is not None else "—"
        table.add_row(str(item["rank"]), _escape(where + author), published, score,
                      _escape(text[:80] + ("…" if len(text) > 80 else "")))
    return table


def _escape(text: str) -> str:
    """Rich markup is interpreted: text from the public must not be."""
    from rich.markup import escape

    return escape(text)


@hookimpl
def register_outputs(register):
    register(Console)


def _first_sentence(error: str) -> str:
    """An error's first part (up to its first "; "), for the headline: the run summary prints it
    whole (the list of known formats, the advice) once, under the failed source."""
    first, _, rest = error.partition("; ")
    return first + (" …" if rest and not first.endswith("...") else "")
