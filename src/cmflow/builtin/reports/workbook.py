"""A report document as workbook sheets: the summary, the objectives, each platform's accounts,
the breakdowns, the ranked posts, the listening section and the production section, one sheet
per table (see :mod:`cmflow.builtin.reports.spreadsheets`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    from cmflow import Language
    from cmflow.builtin.reports.document import Figure, PlannedPost, ReportDocument
    from cmflow.builtin.reports.spreadsheets import Cell, Column, Sheet


def document_sheets(document: "ReportDocument", lang: "Language") -> list["Sheet"]:
    from cmflow import objective_rule
    from cmflow.builtin.reports.spreadsheets import Column, Sheet

    sheets = [_summary(document, lang)]
    if (trend := _trend_sheet(document, lang)) is not None:
        sheets.append(trend)
    if document.objectives:
        sheets.append(Sheet(lang.text("section_objectives"), lang.text("section_objectives"), [
            Column("objective", lang.text("column_objective"), "text"),
            Column("metric", lang.text("column_metric"), "text"),
            Column("value", lang.text("column_value"), "decimal"),
            Column("target", lang.text("column_target"), "decimal"),
            Column("progress", lang.text("column_progress"), "percent"),
            Column("verdict", lang.text("column_verdict"), "text"),
            Column("rule", lang.text("column_rule"), "text"),
        ], [{"objective": o.objective.title or lang.text("goal_" + o.objective.goal),
             "metric": lang.metric_label(o.objective.metric), "value": _in_unit(o.value, o.unit),
             "target": _in_unit(o.target_value, o.unit),
             "progress": None if o.progress is None else o.progress * 100,
             "verdict": lang.text("verdict_" + (o.verdict or "none")),
             "rule": objective_rule(o, lang) or lang.reason(o.reason)} for o in document.objectives]))
    for section in document.platforms:
        if not section.accounts:
            continue
        metrics = list(section.accounts[0].figures)
        sheets.append(Sheet(lang.platform(section.platform), lang.platform(section.platform),
                            [Column("account", lang.text("column_account"), "text"),
                             *_figure_columns(metrics, [row.figures for row in section.accounts], lang)],
                            [{"account": row.name, **_figure_values(row.figures)} for row in section.accounts]))
    if (by_account := _rate_by_account_sheet(document, lang)) is not None:
        sheets.append(by_account)
    for dimension, rows in document.breakdowns.items():
        if not rows:
            continue
        metrics = list(rows[0].figures)
        sheets.append(Sheet(lang.text("section_by_" + dimension), lang.text("section_by_" + dimension),
                            [Column(dimension, lang.text("column_" + dimension), "text"),
                             *_figure_columns(metrics, [r.figures for r in rows], lang)],
                            [{dimension: _dimension_value(dimension, r.name, lang),
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
    sheets.extend(_listening_sheets(document, lang))
    sheets.extend(_production_sheets(document, lang))
    if document.left_out:
        sheets.append(_left_out_sheet(document, lang))
    return sheets


def _trend_sheet(document: "ReportDocument", lang: "Language") -> "Sheet | None":
    """The headline KPIs over the last periods, a row per period (its first day), a column per
    KPI with a trend, with native line charts of the KPI the HTML charts and of the followers
    (each in its own chart: a rate and a count share no axis); none without a trend."""
    from cmflow.builtin.reports.report_charts import followers_figure, trended_figure
    from cmflow.builtin.reports.spreadsheets import Column, Sheet, SheetChart

    figures = [f for f in document.headline if len(f.trend) > 1]
    if not figures:
        return None
    days = sorted({day for f in figures for day, _ in f.trend})
    columns = [Column("period", lang.text("column_period_start"), "date"),
               *_figure_columns([f.metric for f in figures], [{f.metric: f for f in figures}], lang)]
    by_day = {f.metric: dict(f.trend) for f in figures}
    rows = [{"period": day, **{f.metric: by_day[f.metric].get(day) for f in figures}} for day in days]
    charted = [f for f in (trended_figure(document), followers_figure(document)) if f is not None]
    charts = tuple(SheetChart("line", "period", (f.metric,), title=lang.text("chart_trend_title",
                                                                          metric=lang.metric_label(f.metric)))
                   for f in charted)
    return Sheet(lang.text("section_trend"), lang.text("section_trend"), columns, rows, charts)


def _rate_by_account_sheet(document: "ReportDocument", lang: "Language") -> "Sheet | None":
    """The rate by account of every platform, this period and the previous one, with the
    HTML's bars as a native column chart; only where the HTML draws them (two accounts at least)."""
    from cmflow.builtin.reports.report_charts import RATE_BY_ACCOUNT, rate_by_account_rows
    from cmflow.builtin.reports.spreadsheets import Column, Sheet, SheetChart

    rows = rate_by_account_rows(document)
    if len(rows) < 2:
        return None
    label = lang.metric_label(RATE_BY_ACCOUNT)
    # One label per bar, as the HTML's chart says it: a client's accounts often share a name.
    columns = [Column("account", lang.text("column_account"), "text"),
               Column("current", lang.text("chart_this_period"), "percent")]
    values = ["current"]
    if "previous_period" in document.comparisons:
        columns.append(Column("previous", lang.text("chart_previous_period"), "percent"))
        values.append("previous")
    table = []
    for platform, account in rows:
        figure = account.figures[RATE_BY_ACCOUNT]
        change = figure.changes.get("previous_period")
        table.append({"account": f"{account.name} · {lang.platform(platform)}", "current": figure.value,
                      "previous": change.previous if change else None})
    return Sheet(lang.text("section_accounts"), label, columns, table,
                 (SheetChart("column", "account", tuple(values), title=label),))


def _left_out_sheet(document: "ReportDocument", lang: "Language") -> "Sheet":
    """The rows the sources left out (``on_error = "skip"``): how many, for every reader; each
    row with its source, where and why, in an agency's own copy (``show_warnings``) only."""
    from cmflow.builtin.reports.spreadsheets import Column, Sheet

    counted = lang.text("left_out_text", n=document.left_out_count)
    listed = [{"source": source.source, "row": row} for source in document.left_out for row in source.rows]
    if not listed:
        return Sheet(lang.text("left_out_sheet"), counted, [Column("count", lang.text("left_out_sheet"), "integer")],
                     [{"count": document.left_out_count}])
    return Sheet(lang.text("left_out_sheet"), counted, [
        Column("source", lang.text("left_out_source_column"), "text"),
        Column("row", lang.text("left_out_row_column"), "text")], listed)


def _listening_sheets(document: "ReportDocument", lang: "Language") -> list["Sheet"]:
    """The listening section's tables, as the HTML shows them: its indicators, the brands
    watched, the competitors (with the note on the interaction counters compared, in the title
    line), the influencer candidates, the bursts of near-identical mentions, the authors with
    no history (times in the workflow's time zone, named in the headers) and the most negative
    messages (a sheet per list), each sheet only when the document has rows. Authors, texts and links are public text: every text cell is
    neutralised by the writer, and a link is a link only when the HTML would link it
    (:func:`~cmflow.builtin.reports.html.safe_url`), else it is left out as the HTML leaves it."""
    from cmflow.builtin.reports.spreadsheets import Column, Sheet

    sheets = []
    if document.listening:
        sheets.append(_indicators_sheet(lang.text("section_listening"), document.listening, lang))
    for key, rows, metrics in (("listening_brands", document.brands, document.brand_metrics),
                               ("listening_competitors", document.competitors, document.competitor_metrics)):
        if not rows:
            continue
        title = lang.text(key)
        if key == "listening_competitors" and document.competitor_counters:
            title += " · " + lang.text("listening_competitors_counters", counters=lang.join(
                [lang.text("listening_counter_" + c) for c in document.competitor_counters]))
        sheets.append(Sheet(lang.text(key), title, [
            Column("brand", lang.text("column_brand"), "text"),
            *_figure_columns(metrics, [r.figures for r in rows], lang)],
            [{"brand": r.name, **{m: r.figures[m].value for m in metrics if m in r.figures}} for r in rows]))
    if document.influencers:
        title = lang.text("listening_influencers")
        sheets.append(Sheet(title, title, [
            Column("author", lang.text("listening_author"), "text"),
            Column("score", lang.metric_label("influencer_score"), "decimal"),
            Column("mentions", lang.metric_label("influencer_mentions"), "integer"),
            Column("audience", lang.metric_label("influencer_audience"), "integer"),
            Column("engagement", lang.metric_label("influencer_engagement"), "integer"),
            Column("relevance", lang.metric_label("influencer_relevance"), "percent"),
            Column("example", lang.text("listening_example"), "url")],
            [{"author": r.get("author"), "score": r.get("value"), "mentions": r.get("mentions"),
              "audience": r.get("audience"), "engagement": r.get("engagement"), "relevance": r.get("relevance"),
              "example": _safe_link(r.get("example_url"))} for r in document.influencers]))
    zone = document.time_zone
    if document.bursts:
        sheets.append(Sheet(lang.text("listening_sheet_bursts"), lang.metric_label("coordinated_bursts"), [
            Column("authors", lang.text("listening_column_author_count"), "integer"),
            Column("start", lang.text("listening_column_start", zone=zone), "datetime"),
            Column("end", lang.text("listening_column_end", zone=zone), "datetime"),
            Column("text", lang.text("listening_column_text"), "text"),
            Column("names", lang.text("listening_column_authors"), "text"),
            Column("examples", lang.text("listening_column_examples"), "text")],
            [{"authors": b.get("value"), "start": b.get("burst_start_local"), "end": b.get("burst_end_local"),
              "text": b.get("burst_text"), "names": b.get("burst_authors"),
              "examples": _safe_links(b.get("example_urls"))} for b in document.bursts]))
    if document.new_authors:
        sheets.append(Sheet(lang.text("listening_sheet_new_authors"), lang.metric_label("new_authors"), [
            Column("author", lang.text("listening_author"), "text"),
            Column("first_seen", lang.text("listening_column_first_seen", zone=zone), "datetime"),
            Column("mentions", lang.metric_label("influencer_mentions"), "integer"),
            Column("audience", lang.metric_label("new_author_audience"), "integer"),
            Column("in_burst", lang.text("listening_column_in_burst"), "text"),
            Column("examples", lang.text("listening_column_examples"), "text")],
            [{"author": a.get("author"), "first_seen": a.get("first_seen_local"), "mentions": a.get("value"),
              "audience": a.get("audience"),
              "in_burst": None if a.get("in_burst") is None
              else lang.text("listening_yes" if a.get("in_burst") == "yes" else "listening_no"),
              "examples": _safe_links(a.get("example_urls"))} for a in document.new_authors]))
    for metric in dict.fromkeys(item.metric for item in document.most_negative):  # a sheet per list, in order
        label = lang.metric_label(metric)
        sheets.append(Sheet(label, label, [
            Column("rank", "#", "integer"), Column("text", lang.text("listening_column_text"), "text"),
            Column("author", lang.text("listening_author"), "text"),
            Column("account", lang.text("column_account"), "text"),
            Column("platform", lang.text("column_platform"), "text"),
            Column("date", lang.text("listening_column_received" if metric == "most_negative_comments"
                                     else "column_published"), "date"),
            Column("score", lang.text("listening_column_score"), "decimal"),
            Column("url", lang.text("column_link"), "url")],
            [{"rank": i.rank, "text": i.text, "author": i.author, "account": i.account_name,
              "platform": lang.platform(i.platform) if i.platform else None,
              "date": i.published_at.date() if i.published_at else None, "score": i.score,
              "url": _safe_link(i.url)} for i in document.most_negative if i.metric == metric]))
    return sheets


def _safe_link(url: str | None) -> str | None:
    """``url`` when the HTML links it (a plain http(s) address), else nothing."""
    from cmflow.builtin.reports.html import safe_url

    return safe_url(url)


def _safe_links(urls: str | None) -> str | None:
    """The space-separated ``urls`` the HTML links, one per line as text (a cell holds one link)."""
    links = [link for url in (urls or "").split() if (link := _safe_link(url))]
    return "\n".join(links) or None


def _indicators_sheet(title: str, figures: list, lang: "Language") -> "Sheet":
    """A section's indicators as a sheet: one row per figure, its metric and its value in its unit."""
    from cmflow.builtin.reports.spreadsheets import Column, Sheet

    return Sheet(title, title, [Column("metric", lang.text("column_metric"), "text"),
                                Column("value", lang.text("column_value"), "decimal")],
                 [{"metric": lang.metric_label(f.metric), "value": _in_unit(f.value, f.unit)} for f in figures])


def _production_sheets(document: "ReportDocument", lang: "Language") -> list["Sheet"]:
    """The production section's figures, as the HTML shows them: its indicators, the campaigns,
    the kinds of task, the missing and the late planned posts, the planned vs published mixes and the link
    problems, each sheet only when the run measured it for the report's scope."""
    from cmflow.builtin.reports.spreadsheets import Column, Sheet

    sheets = []
    if document.production:
        sheets.append(_indicators_sheet(lang.text("section_production"), document.production, lang))
    from cmflow import NONE_LABEL

    def platform_name(name: str) -> str:
        return lang.text("production_no_platform") if name == NONE_LABEL else lang.platform(name)

    for key, column, rows, metrics, shown in (
            ("production_campaigns", "campaign", document.campaigns, document.campaign_metrics, str),
            ("production_platforms", "platform", document.platform_returns, document.platform_return_metrics,
             platform_name),
            ("production_task_types", "task_type", document.task_types, document.task_metrics, str)):
        if rows:
            sheets.append(Sheet(lang.text(key), lang.text(key), [
                Column(column, lang.text("column_" + column), "text"),
                *_figure_columns(metrics, [r.figures for r in rows], lang)],
                [{column: shown(r.name), **{m: r.figures[m].value for m in metrics if m in r.figures}} for r in rows]))
    if document.missing_posts:
        sheets.append(_planned_posts_sheet(
            lang, "production_missing_posts", document.missing_posts, Column("why", lang.text("column_why"), "text"),
            lambda p: lang.text("production_why_deleted", post_id=p.deleted_post_id) if p.deleted_post_id
            else lang.text("production_why_not_published")))
    if document.late_posts:
        sheets.append(_planned_posts_sheet(
            lang, "production_late_posts", document.late_posts, Column("delay", lang.text("column_delay"), "decimal"),
            lambda p: p.delay_hours))
    for dimension, rows in document.mix.items():
        title = lang.text("production_mix_" + dimension)
        sheets.append(Sheet(title, title, [
            Column(dimension, lang.text("column_" + dimension), "text"),
            *[Column(m, lang.metric_label(m), "percent") for m in ("planned_mix", "published_mix")]],
            [{dimension: _dimension_value(dimension, r.name, lang),
              **{m: r.figures[m].value for m in ("planned_mix", "published_mix") if m in r.figures}} for r in rows]))
    if document.untagged_links:
        title = lang.text("production_untagged_links")
        sheets.append(Sheet(title, title, [
            Column("account", lang.text("column_account"), "text"),
            Column("platform", lang.text("column_platform"), "text"),
            Column("url", lang.text("column_link"), "url"),
            Column("problem", lang.text("column_why"), "text")],
            [{"account": link.account_name, "platform": lang.platform(link.platform) if link.platform else None,
              "url": link.url, "problem": "; ".join(lang.text(p.key, **p.values) if p.key else p.text
                                                    for p in link.problems)} for link in document.untagged_links]
            # The HTML's last line: the links not listed are counted, never silently dropped.
            + ([{"account": lang.text("production_untagged_more", n=document.untagged_more)}]
               if document.untagged_more else [])))
    return sheets


def _planned_posts_sheet(lang: "Language", key: str, posts: list["PlannedPost"], last: "Column",
                         last_value: "Callable[[PlannedPost], Any]") -> "Sheet":
    """The missing or the late planned posts (the section's ``key``): title, account, platform,
    owner and planned day of each, then the ``last`` column (why it is missing, how late)."""
    from cmflow.builtin.reports.spreadsheets import Column, Sheet

    title = lang.text(key)
    return Sheet(title, title, [
        Column("title", lang.text("column_planned_post"), "text"),
        Column("account", lang.text("column_account"), "text"),
        Column("platform", lang.text("column_platform"), "text"),
        Column("owner", lang.text("column_owner"), "text"),
        Column("planned_on", lang.text("column_planned_on"), "date"),
        last],
        [{"title": p.title, "account": p.account_name, "platform": lang.platform(p.platform) if p.platform else None,
          "owner": p.owner, "planned_on": p.planned_on, last.key: last_value(p)} for p in posts])


def _dimension_value(dimension: str, name: str, lang: "Language") -> str:
    """A breakdown's value as a reader reads it: "not given" for what records left empty
    (:data:`~cmflow.NONE_LABEL`), a format in words."""
    from cmflow import NONE_LABEL

    if name == NONE_LABEL:
        return lang.text("dimension_none")
    return lang.post_format(name) if dimension == "format" else name


def _summary(document: "ReportDocument", lang: "Language") -> "Sheet":
    from cmflow.builtin.reports.spreadsheets import Column, Sheet

    columns = [Column("metric", lang.text("column_metric"), "text"), Column("value", lang.text("column_value"), "decimal")]
    for comparison in document.comparisons:
        columns.append(Column(f"previous_{comparison}", lang.text("column_" + comparison), "decimal"))
        columns.append(Column(f"change_{comparison}", lang.text("column_change"), "percent"))
    rows = []
    for figure in document.headline:
        row = {"metric": lang.metric_label(figure.metric), "value": _in_unit(figure.value, figure.unit)}
        for comparison in document.comparisons:
            change = figure.changes.get(comparison)
            row[f"previous_{comparison}"] = _in_unit(change.previous, figure.unit) if change else None
            row[f"change_{comparison}"] = _change(change, figure.unit) if change else None
        rows.append(row)
    title = document.title if document.complete else f"{document.title} ({lang.text('incomplete_title')})"
    return Sheet(lang.text("section_summary"), title, columns, rows)


def _change(change: Any, unit: str) -> "Cell | None":
    """A change as the HTML report says it, by the same rule (:func:`~cmflow.presentation.numbers.change_basis`):
    a rate's in percentage points (``+0.82 pt``), another figure's in percent of the earlier
    value, or in its unit when that was 0."""
    from cmflow.builtin.reports.spreadsheets import Cell
    from cmflow import change_basis

    basis, amount = change_basis(change.change, change.change_pct, unit)
    if amount is None:
        return None
    return Cell(amount, "points") if basis == "points" else Cell(amount, "percent") if basis == "percent" \
        else _in_unit(amount, unit)


def _in_unit(value: float | None, unit: str) -> "Cell | None":
    """A figure in the format of its unit, in a column of figures of several units: a rate as
    a percentage, an amount in its currency, a whole count without decimals, anything else with two."""
    from cmflow.builtin.reports.spreadsheets import Cell

    from cmflow import is_currency

    if value is None:
        return None
    if unit == "%":
        return Cell(value, "percent")
    if is_currency(unit):
        return Cell(value, "amount", unit)
    return Cell(value, "integer" if float(value).is_integer() else "decimal")


def _figure_columns(metrics: list[str], rows: list[dict[str, "Figure"]], lang: "Language") -> list["Column"]:
    """A column per metric: rates as percentages, amounts in their currency (every row of a
    column with the same decimals: ``35,00 €`` under ``290,50 €``), counts whole when every value is."""
    from cmflow.builtin.reports.spreadsheets import Column
    from cmflow import is_currency

    def column(metric: str) -> "Column":
        figures = [row[metric] for row in rows if metric in row]
        unit = figures[0].unit if figures else ""
        if unit == "%":
            return Column(metric, lang.metric_label(metric), "percent")
        if is_currency(unit):
            return Column(metric, lang.metric_label(metric), "amount", unit)
        whole = all(f.value is None or float(f.value).is_integer() for f in figures)
        return Column(metric, lang.metric_label(metric), "integer" if whole else "decimal")

    return [column(m) for m in metrics]


def _figure_values(figures: dict[str, "Figure"]) -> dict[str, float | None]:
    return {metric: figure.value for metric, figure in figures.items()}
