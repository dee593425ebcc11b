"""The page the ``html_report`` output writes, and the ``email`` output attaches to an alert
message (with the default options): the period's KPIs, a chart (drawn as the client reports'
are, :mod:`cmflow.builtin.reports.charts`), the alerts, the top posts, in one self-contained
HTML file (inline CSS and SVG, no script). Not a plugin module, so that both
outputs render it without importing each other (tests/test_layers.py)."""

from __future__ import annotations

import functools
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from pydantic import Field

from cmflow import HexColour, OutputPath, PluginOptions
from cmflow.builtin.reports.html import safe_url

if TYPE_CHECKING:
    from cmflow import RunResult

HEADLINE = ("engagement_rate_by_reach", "engagement_rate_by_followers", "engagement_rate_by_impressions",
            "followers", "follower_growth", "follower_growth_pct", "posts_published", "total_interactions",
            "total_reach")
CHART_DRAWN_WIDTH = 320
"""The chart's width in pixels: a 390 px phone shows the page's column about 326 px wide, so its
14 px labels show at their size; a desktop shows it at most 400 px wide (17.5 px labels)."""
PAGE_LANGUAGE = "en"
"""The page's language: its words are English; its periods and days are written by the report
output's formatter (:meth:`cmflow.builtin.reports.language.Language.period`), not as ISO ranges."""
SKIPPED_ROWS_SHOWN = 1000
"""Rows left out of a source (``on_error = "skip"``) the footer lists; beyond, a count."""


class HtmlReportOptions(PluginOptions):
    """Options of the ``html_report`` output."""

    path: OutputPath = Field(
        "reports/{workflow}-{period}.html",
        description="File to write, relative to the current directory (a relative path may not "
        "climb out of it with ..) or absolute. {workflow}, {period} (start..end) and {date} "
        "(today) are replaced, made safe for a file name.", examples=["reports/weekly-{period}.html"])
    title: str | None = Field(None, description="Report title. Default: the workflow's name.",
                              examples=["Weekly social report — Maison Lumière"])
    metrics: list[str] | None = Field(
        None, description="Measurements to show, in order. Default: every one produced.")
    chart_metric: str | None = Field(
        "engagement_rate_by_reach", description="Measurement charted per account against the "
        "comparison period (none if the workflow does not produce it).")
    accent_colour: HexColour = Field("#2563eb", description="Brand colour of headings and charts, as "
                               "#rrggbb.", examples=["#b45309"])
    show_warnings: bool = Field(
        True, description="List the run's warnings (figures in doubt) under the title: the page is "
        "the agency's own. false: for a page shown to someone else (they name files, workflow keys "
        "and accounts).", examples=[False])


def render_report(result: "RunResult", options: HtmlReportOptions) -> str:
    """The page of ``result``, as ``options`` ask: one self-contained HTML document."""
    from markupsafe import Markup

    from cmflow.builtin.reports.charts import SERIES_COLOURS, bar_chart
    from cmflow.builtin.reports.language import language
    from cmflow import format_value, kpi_tables, metric_label, ranked_items, ranked_posts

    words = language(PAGE_LANGUAGE)

    def period_label(period) -> str:
        """A period as the report output writes it (``Nov 16 – 22, 2026``), one formatter for both."""
        return words.period(period.start, period.end)

    tables = kpi_tables(result, options.metrics)
    overall = next((t for t in tables if not t.dimensions), None)
    cards = []
    if overall and overall.rows:
        row = overall.rows[0]
        ordered = [m for m in HEADLINE if m in row.cells] + [m for m, _ in overall.metrics if m not in HEADLINE]
        cards = [(m, row.cells[m]) for m in ordered[:6]]
    chart = None
    comparison = result.comparison_periods[0] if result.comparison_periods else None
    by_account = next((t for t in tables if t.dimensions == ["platform", "account"]), None)
    if options.chart_metric and by_account and any(m == options.chart_metric for m, _ in by_account.metrics):
        unit = dict(by_account.metrics)[options.chart_metric]
        rows = [r for r in by_account.rows if r.cells.get(options.chart_metric) is not None
                and (r.cells[options.chart_metric].value is not None
                     or r.cells[options.chart_metric].previous is not None)]
        categories = [" / ".join(r.labels) for r in rows]
        series = {period_label(result.period): [r.cells[options.chart_metric].value for r in rows]}
        colours = {period_label(result.period): options.accent_colour}
        if comparison:
            series[period_label(comparison)] = [r.cells[options.chart_metric].previous for r in rows]
            colours[period_label(comparison)] = SERIES_COLOURS[1]
        label = metric_label(options.chart_metric)
        drawn = bar_chart(categories, series, title=label, unit=unit, colours=colours,
                          description=f"{label} by account, {' against '.join(series)}")
        # Drawn as wide as a phone shows this page's column (about 326 px), its labels at 14 px.
        chart = (label, Markup(drawn.narrowed(CHART_DRAWN_WIDTH).svg(PAGE_LANGUAGE)))  # svg() escapes and checks it
    template = _environment().get_template("report.html.j2")
    return template.render(
        result=result, title=options.title or result.workflow.name, tables=tables, cards=cards,
        chart=chart, comparison=comparison, metric_label=metric_label, format_value=format_value,
        accent=options.accent_colour, period_label=period_label, day=words.date,
        warnings=result.warnings if options.show_warnings else [],
        top_posts=ranked_posts(result, "top_posts"), bottom_posts=ranked_posts(result, "bottom_posts"),
        negative_items=[(metric_label(metric), items) for metric in sorted(result.workflow.measurement_names())
                        if metric.startswith("most_negative_") and (items := ranked_items(result, metric))],
        sources=[s for s in result.stages if s.kind == "source"], skipped_shown=SKIPPED_ROWS_SHOWN,
        notes=[s for s in result.stages if s.kind == "trigger" and s.problems],
        generated_at=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    )


@functools.lru_cache(maxsize=1)
def _environment() -> Any:
    """The page's template environment, made once per process so that its template is compiled
    once, not at every render (Jinja2 still reloads it if its file changed)."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(loader=PackageLoader("cmflow", "templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True))
    env.filters["safe_url"] = safe_url
    return env
