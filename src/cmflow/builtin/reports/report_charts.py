"""The charts of a report document: the headline KPIs' trend, a rate by account against the
comparison period, the watched brands' share of voice, and the best times to post (see
:mod:`cmflow.builtin.reports.charts`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cmflow import Language
    from cmflow.builtin.reports.charts import Chart
    from cmflow.builtin.reports.document import Figure, ReportDocument, SeriesFigures

TREND_METRICS = ("engagement_rate_by_reach", "engagement_rate_by_followers", "total_reach")
"""The first of these with a trend in the summary is charted over the last periods (and the
followers, in a chart of their own)."""
RATE_BY_ACCOUNT = "engagement_rate_by_reach"
SHARE_OF_VOICE = "share_of_voice"
"""Charted per watched brand (``by = ["brand"]``) when two brands at least have a figure."""
MIN_POSTS_PER_CELL = 1


def document_charts(document: "ReportDocument", lang: "Language") -> dict[str, "Chart"]:
    """The charts ``document`` shows, by the name its templates use: ``trend``, ``followers``,
    ``by_account``, ``share_of_voice`` and ``posting_times`` (each only when there is something
    to draw)."""
    from cmflow.builtin.reports.charts import bar_chart, heatmap, trend_chart

    charts: dict[str, Chart] = {}
    trended = trended_figure(document)
    if trended is not None:
        title = lang.text("chart_trend_title", metric=lang.metric_label(trended.metric))
        charts["trend"] = trend_chart({lang.metric_label(trended.metric): list(trended.trend)}, title=title,
                                      unit=trended.unit, description=title, no_data_text=lang.text("no_data"))
    followers = followers_figure(document)
    if followers is not None:
        title = lang.text("section_followers_over_time")
        charts["followers"] = trend_chart({lang.metric_label("followers"): list(followers.trend)}, title=title,
                                          unit=followers.unit, description=title, no_data_text=lang.text("no_data"))
    rows = rate_by_account_rows(document)
    if len(rows) > 1:
        label = lang.metric_label(RATE_BY_ACCOUNT)
        categories = [f"{account.name} · {lang.platform(platform)}" for platform, account in rows]
        series = {lang.text("chart_this_period"): [a.figures[RATE_BY_ACCOUNT].value for _, a in rows]}
        if "previous_period" in document.comparisons:
            series[lang.text("chart_previous_period")] = [
                (a.figures[RATE_BY_ACCOUNT].changes.get("previous_period") or _NO_CHANGE).previous for _, a in rows]
        charts["by_account"] = bar_chart(categories, series, title=label, unit="%", description=label,
                                         no_data_text=lang.text("no_data"))
    voices = [row for row in document.brands if SHARE_OF_VOICE in row.figures
              and _has_value(row.figures[SHARE_OF_VOICE])]
    if len(voices) > 1:
        label = lang.metric_label(SHARE_OF_VOICE)
        series = {lang.text("chart_this_period"): [row.figures[SHARE_OF_VOICE].value for row in voices]}
        if "previous_period" in document.comparisons:
            series[lang.text("chart_previous_period")] = [
                (row.figures[SHARE_OF_VOICE].changes.get("previous_period") or _NO_CHANGE).previous for row in voices]
        charts["share_of_voice"] = bar_chart([row.name for row in voices], series, title=label, unit="%",
                                             description=lang.text("chart_share_of_voice_description"),
                                             no_data_text=lang.text("no_data"))
    cells = [(cell.weekday, cell.hour, cell.value) for cell in document.posting_times if cell.posts >= MIN_POSTS_PER_CELL]
    if len(cells) > 1:
        title = lang.text("chart_posting_times_title", metric=lang.metric_label(RATE_BY_ACCOUNT))
        charts["posting_times"] = heatmap(cells, title=title, unit="%", description=title,
                                          no_data_text=lang.text("no_data"),
                                          weekday_names=[lang.weekday(i) for i in range(7)],
                                          hour_names=[lang.hour(h) for h in range(24)])
    return charts


def trended_figure(document: "ReportDocument") -> "Figure | None":
    """The headline KPI whose trend the report charts: the first of :data:`TREND_METRICS`
    with a trend of two periods at least (the HTML's chart and the workbook's)."""
    return next((f for m in TREND_METRICS for f in document.headline if f.metric == m and len(f.trend) > 1), None)


def followers_figure(document: "ReportDocument") -> "Figure | None":
    """The followers' headline figure, when it has a trend to chart."""
    return next((f for f in document.headline if f.metric == "followers" and len(f.trend) > 1), None)


def rate_by_account_rows(document: "ReportDocument") -> list[tuple[str, "SeriesFigures"]]:
    """(platform, account) of every account with a :data:`RATE_BY_ACCOUNT` worth a bar, in the
    report's order: the bars of the rate by account (the HTML's chart and the workbook's)."""
    return [(section.platform, account) for section in document.platforms for account in section.accounts
            if RATE_BY_ACCOUNT in account.figures and _has_value(account.figures[RATE_BY_ACCOUNT])]


def _has_value(figure) -> bool:
    """A figure with a value now or in the previous period: worth a bar."""
    previous = figure.changes.get("previous_period")
    return figure.value is not None or (previous is not None and previous.previous is not None)


class _NoChange:
    previous = None


_NO_CHANGE = _NoChange()
