"""How a report and its e-mail put an alert into words (one wording for both, and the same as
the tasks' cards): its trigger says what happened, against what (``Taux d'engagement (portée)
pour Maison Lumière · Facebook : 2,58 %, en retard (objectif au moins 3,00 %, 14 % en
dessous)``), with the series named as the report names it, by display names, never handles."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cmflow import Language
    from cmflow.builtin.reports.document import AlertLine
    from cmflow.builtin.reports.scopes import ReportScope


def alert_sentence(line: "AlertLine", scope: "ReportScope", lang: "Language") -> str:
    """``line``'s alert as its trigger says it in ``lang``, about the series as ``scope`` names
    it (:func:`series_words`: display names, never handles; the format, pillar, campaign or post
    it is cut by); when the trigger cannot say it (a third party's, an alert read back without
    its details), the metric, the series and the value. A resolved alert is told by that neutral
    line too: its trigger's words say its condition holds ("au-dessus de 100,00 %") beside
    "back to normal"."""
    from cmflow.builtin.outputs.alert_language import alert_where, series_words, trigger_told

    series = series_words(line.dimensions, scope, lang, line.workflow)
    value = lang.value(line.value, line.unit)
    if line.alert is not None and line.state != "resolved":
        where = alert_where(line.dimensions, scope, lang, line.workflow)
        told = trigger_told(line.alert, lang, line.workflow, line.unit, where=where,
                            series=series if where is not None else None)
        if told:
            return told
    if series:
        return lang.text("alert_summary", metric=lang.metric_label(line.metric), series=series, value=value)
    return lang.text("alert_summary_overall", metric=lang.metric_label(line.metric), value=value)
