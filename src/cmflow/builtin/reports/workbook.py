"""A report document as workbook sheets: the summary, the objectives, each platform's accounts,
the breakdowns and the ranked posts, one sheet each (see :mod:`cmflow.builtin.reports.spreadsheets`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cmflow.builtin.reports.document import Figure, ReportDocument
    from cmflow.builtin.reports.language import Language
    from cmflow.builtin.reports.spreadsheets import Cell, Column, Sheet


def document_sheets(document: "ReportDocument", lang: "Language") -> list["Sheet"]:
    from cmflow.builtin.reports.spreadsheets import Column, Sheet

    sheets = [_summary(document, lang)]
    if document.objectives:
        sheets.append(Sheet(lang.text("section_objectives"), lang.text("section_objectives"), [
            Column("objective", lang.text("column_objective"), "text"),
            Column("metric", lang.text("column_metric"), "text"),
            Column("value", lang.text("column_value"), "decimal"),
            Column("target", lang.text("column_target"), "decimal"),
            Column("progress", lang.text("column_progress"), "percent"),
            Column("verdict", lang.text("column_verdict"), "text"),
        ], [{"objective": o.objective.title or lang.text("goal_" + o.objective.goal),
             "metric": lang.metric_label(o.objective.metric), "value": _in_unit(o.value, o.unit),
             "target": _in_unit(o.target_value, o.unit),
             "progress": None if o.progress is None else o.progress * 100,
             "verdict": lang.text("verdict_" + (o.verdict or "none"))} for o in document.objectives]))
    for section in document.platforms:
        if not section.accounts:
            continue
        metrics = list(section.accounts[0].figures)
        sheets.append(Sheet(lang.platform(section.platform), lang.platform(section.platform),
                            [Column("account", lang.text("column_account"), "text"),
                             *_figure_columns(metrics, [row.figures for row in section.accounts], lang)],
                            [{"account": row.name, **_figure_values(row.figures)} for row in section.accounts]))
    for dimension, rows in document.breakdowns.items():
        if not rows:
            continue
        metrics = list(rows[0].figures)
        sheets.append(Sheet(lang.text("section_by_" + dimension), lang.text("section_by_" + dimension),
                            [Column(dimension, lang.text("column_" + dimension), "text"),
                             *_figure_columns(metrics, [r.figures for r in rows], lang)],
                            [{dimension: lang.text("dimension_none") if r.name == "(none)" else
                              lang.post_format(r.name) if dimension == "format" else r.name,
                              **_figure_values(r.figures)} for r in rows]))
    for key, posts in (("section_top_posts", document.top_posts), ("section_flop_posts", document.flop_posts)):
        if posts:
            sheets.append(Sheet(lang.text(key), lang.text(key), [
                Column("rank", "#", "integer"), Column("account", lang.text("column_account"), "text"),
                Column("platform", lang.text("column_platform"), "text"),
                Column("published", lang.text("column_published"), "date"),
                Column("format", lang.text("column_format"), "text"),
                Column("text", lang.text("column_post"), "text"), Column("url", lang.text("column_link"), "url"),
                Column("value", lang.metric_label("engagement_rate_by_reach"), "percent"),
            ], [{"rank": p.rank, "account": p.account_name, "platform": lang.platform(p.platform),
                 "published": p.published_at.date() if p.published_at else None,
                 "format": lang.post_format(p.format) if p.format else None, "text": p.text, "url": p.url,
                 "value": p.value} for p in posts]))
    return sheets


def _summary(document: "ReportDocument", lang: "Language") -> "Sheet":
    from cmflow.builtin.reports.spreadsheets import Column, Sheet

    columns = [Column("metric", lang.text("column_metric"), "text"), Column("value", lang.text("column_value"), "decimal")]
    for comparison in document.comparisons:
        columns.append(Column(f"previous_{comparison}", lang.text("column_" + comparison), "decimal"))
        columns.append(Column(f"change_pct_{comparison}", lang.text("column_change_pct"), "percent"))
    rows = []
    for figure in document.headline:
        row = {"metric": lang.metric_label(figure.metric), "value": _in_unit(figure.value, figure.unit)}
        for comparison in document.comparisons:
            change = figure.changes.get(comparison)
            row[f"previous_{comparison}"] = _in_unit(change.previous, figure.unit) if change else None
            row[f"change_pct_{comparison}"] = change.change_pct if change else None
        rows.append(row)
    title = document.title if document.complete else f"{document.title} ({lang.text('incomplete_title')})"
    return Sheet(lang.text("section_summary"), title, columns, rows)


def _in_unit(value: float | None, unit: str) -> "Cell | None":
    """A figure in the format of its unit, in a column of figures of several units: a rate as
    a percentage, a whole count without decimals, anything else with two."""
    from cmflow.builtin.reports.spreadsheets import Cell

    if value is None:
        return None
    if unit == "%":
        return Cell(value, "percent")
    return Cell(value, "integer" if float(value).is_integer() else "decimal")


def _figure_columns(metrics: list[str], rows: list[dict[str, "Figure"]], lang: "Language") -> list["Column"]:
    """A column per metric: rates as percentages, counts whole when every value is."""
    from cmflow.builtin.reports.spreadsheets import Column

    def kind(metric: str) -> str:
        figures = [row[metric] for row in rows if metric in row]
        if figures and figures[0].unit == "%":
            return "percent"
        whole = all(f.value is None or float(f.value).is_integer() for f in figures)
        return "integer" if whole else "decimal"

    return [Column(m, lang.metric_label(m), kind(m)) for m in metrics]


def _figure_values(figures: dict[str, "Figure"]) -> dict[str, float | None]:
    return {metric: figure.value for metric, figure in figures.items()}
