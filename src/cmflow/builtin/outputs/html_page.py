"""The page the ``html_report`` output writes, and the ``email`` output attaches to an alert
message (with the default options): the period's KPIs, a chart (drawn as the client reports'
are, :mod:`cmflow.builtin.reports.charts`), the alerts, the top posts, in one self-contained
HTML file (inline CSS and SVG, no script). Not a plugin module, so that both
outputs render it without importing each other (tests/test_layers.py)."""

from __future__ import annotations

import functools
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from pydantic import Field, field_validator

from cmflow import HexColour, OutputPath, PluginOptions

if TYPE_CHECKING:
    from cmflow import RunResult
    from cmflow.builtin.reports.scopes import ReportScope

HEADLINE = ("engagement_rate_by_reach", "engagement_rate_by_followers", "engagement_rate_by_impressions",
            "followers", "follower_growth", "follower_growth_pct", "posts_published", "total_interactions",
            "total_reach")
CHART_DRAWN_WIDTH = 320
"""The chart's width in pixels: a 390 px phone shows the page's column about 326 px wide, so its
14 px labels show at their size; a desktop shows it at most 400 px wide (17.5 px labels)."""
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
    language: str = Field(
        "en", description="Language of the page (en, fr): its words, figures, dates and the alerts' "
        "sentences, through the client reports' message catalogue.", examples=["fr"])

    @field_validator("language")
    @classmethod
    def _known_language(cls, code: str) -> str:
        from cmflow.builtin.reports.language import language

        language(code)  # an unknown language is refused with the ones there are
        return code

    show_warnings: bool = Field(
        True, description="List the run's warnings (figures in doubt) under the title: the page is "
        "the agency's own. false: for a page shown to someone else (they name files, workflow keys "
        "and accounts).", examples=[False])


def render_report(result: "RunResult", options: HtmlReportOptions) -> str:
    """The page of ``result``, as ``options`` ask: one self-contained HTML document."""
    from markupsafe import Markup

    from cmflow.builtin.outputs.alert_language import dimension_label
    from cmflow.builtin.reports.charts import SERIES_COLOURS, bar_chart
    from cmflow.builtin.reports.language import language
    from cmflow.builtin.reports.scopes import whole_workflow_scope
    from cmflow import kpi_tables, ranked_items, ranked_posts

    lang = language(options.language)

    def period_label(period) -> str:
        """A period as the report output writes it (``16–22 nov. 2026``), one formatter for both."""
        return lang.period(period.start, period.end)

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
        categories = [" / ".join(_labels(r.labels, by_account.dimensions, lang)) for r in rows]
        series = {period_label(result.period): [r.cells[options.chart_metric].value for r in rows]}
        colours = {period_label(result.period): options.accent_colour}
        if comparison:
            series[period_label(comparison)] = [r.cells[options.chart_metric].previous for r in rows]
            colours[period_label(comparison)] = SERIES_COLOURS[1]
        label = lang.metric_label(options.chart_metric)
        periods = (lang.text("page_chart_against", current=period_label(result.period),
                             previous=period_label(comparison)) if comparison else period_label(result.period))
        drawn = bar_chart(categories, series, title=label, unit=unit, colours=colours,
                          description=lang.text("page_chart_description", metric=label, periods=periods),
                          no_data_text=lang.text("no_data"))
        # Drawn as wide as a phone shows this page's column (about 326 px), its labels at 14 px.
        chart = (label, Markup(drawn.narrowed(CHART_DRAWN_WIDTH).svg(lang.code)))  # svg() escapes and checks it
    template, now = _environment().get_template("report.html.j2"), datetime.now(timezone.utc)
    scope = whole_workflow_scope(result.workflow)  # every account's display name, once a page
    return template.render(
        result=result, title=options.title or result.workflow.name, tables=tables, cards=cards,
        chart=chart, comparison=comparison, lang=lang, accent=options.accent_colour, period_label=period_label,
        day=lang.date, table_title=lambda table: _table_title(table, lang),
        labels=lambda table, row: _labels(row.labels, table.dimensions, lang),
        dimension=lambda name: dimension_label(name, lang),
        basis_notes=lambda table: _basis_notes(table, lang), alerts=_alert_lines(result, lang, scope),
        verdicts=[_verdict_line(v, result, lang, scope) for v in result.verdicts],
        warnings=[lang.run_warning(w) for w in result.warnings] if options.show_warnings else [],
        top_posts=ranked_posts(result, "top_posts"), bottom_posts=ranked_posts(result, "bottom_posts"),
        negative_items=[(metric, lang.metric_label(metric), items) for metric in sorted(result.workflow.measurement_names())
                        if metric.startswith("most_negative_") and (items := ranked_items(result, metric))],
        sources=[s for s in result.stages if s.kind == "source"], skipped_shown=SKIPPED_ROWS_SHOWN,
        notes=[s for s in result.stages if s.kind == "trigger" and s.problems],
        generated_at=f"{lang.date(now)}, {now:%H:%M} UTC",
    )


TABLE_TITLES = {(): "page_overall", ("platform",): "section_platforms", ("platform", "account"): "section_accounts",
                ("format",): "section_by_format", ("pillar",): "section_by_pillar",
                ("campaign",): "section_by_campaign"}
"""The messages naming a KPI table by its breakdown; another is "By" its dimensions' names."""


def _table_title(table, lang) -> str:
    from cmflow.builtin.outputs.alert_language import dimension_label

    key = TABLE_TITLES.get(tuple(table.dimensions))
    if key:
        return lang.text(key)
    names = [dimension_label(d, lang).lower() for d in table.dimensions]
    return lang.text("page_by", dimensions=" × ".join(names))


def _labels(labels: list, dimensions: list[str], lang) -> list[str]:
    """A row's labels as a reader reads them (:func:`~.alert_language.value_words`): platforms
    and formats in words, ``(none)`` as the catalogue says it, the rest as written."""
    from cmflow.builtin.outputs.alert_language import value_words

    return [value_words(d, v, lang) if v is not None else str(v) for d, v in zip(dimensions, labels)]


def _basis_notes(table, lang) -> list[str]:
    """Where the table's figures come from (:attr:`KpiTable.basis_notes`), in the page's language."""
    bases = {c.basis for r in table.rows for c in r.cells.values() if c.basis}
    notes = [f"{lang.text('basis_tag_' + b.replace('+', '_'))}: {lang.text('basis_' + b.replace('+', '_'))}."
             for b in ("activity", "posts+activity") if b in bases]
    if "posts" in bases:
        notes.append(lang.text("page_figures_note"))
    return notes


def _alert_lines(result: "RunResult", lang, scope: "ReportScope") -> list[tuple[str, Any]]:
    """Each alert of the period (firing, pending, resolved) as the client reports say it, in
    the page's language, about the series as the report names it (display names)."""
    from cmflow.builtin.reports.alert_words import alert_sentence
    from cmflow.builtin.reports.document import alert_lines
    return [(alert_sentence(line, scope, lang), line) for line in alert_lines(result, None)]


def _verdict_line(verdict, result: "RunResult", lang, scope: "ReportScope") -> tuple[str, Any]:
    """An objective's verdict in the page's language: the KPI, its series as the alerts name it
    (:func:`~.alert_language.series_words`; ``scope``: the whole workflow's, made once a page), value and objective."""
    from cmflow.builtin.outputs.alert_language import series_words

    unit = result.workflow.measurement_names().get(verdict.metric, "")
    series = series_words(verdict.dimensions, scope, lang, result.workflow)
    values = {"metric": lang.metric_label(verdict.metric), "value": lang.value(verdict.value, unit),
              "objective": lang.value(verdict.objective, unit)}
    line = (lang.text("page_verdict_line", series=series, **values) if series
            else lang.text("page_verdict_line_overall", **values))
    return line, verdict


@functools.lru_cache(maxsize=1)
def _environment() -> Any:
    """The page's template environment, made once per process so that its template is compiled
    once, not at every render (Jinja2 still reloads it if its file changed)."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    from cmflow.builtin.reports.html import safe_url

    env = Environment(loader=PackageLoader("cmflow", "templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True))
    env.filters["safe_url"] = safe_url
    return env
