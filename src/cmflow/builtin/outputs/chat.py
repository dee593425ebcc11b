"""What the chat outputs (``slack``, ``teams``, ``discord``: one module each) say alike.

Each composes its platform's own message shape (Slack Block Kit, a Teams Adaptive Card, Discord
embeds) from the batch, within the platform's limits, with the alert text escaped for the
platform's markup; the lines they share (the subtitle, an alert's facts, "and N more") are
here. Sending, the URL guard and what the answer means are shared too (:mod:`.webhook`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cmflow.builtin.outputs.alert_language import dimension_label
from cmflow.builtin.outputs.message_text import clean_text
from cmflow.builtin.outputs.webhook_notifier import AlertLine

if TYPE_CHECKING:
    from cmflow import Language, NotificationBatch

SUMMARY_LIMIT = 500
"""Characters of one alert summary shown; the rest is cut with an ellipsis."""


def batch_language(lines: "list[AlertLine]") -> "Language | None":
    """The language every line of a batch is told in (a French client's batch: French); None
    (English, the words as written) when they differ or are English."""
    codes = {line.lang.code if line.lang is not None else None for line in lines}
    return lines[0].lang if len(codes) == 1 and lines else None


def subtitle(batch: NotificationBatch, lang: "Language | None" = None) -> str:
    """``Weekly social KPIs · 2026-11-16..2026-11-22`` (and the group, if it says more); in
    ``lang`` when given (``KPI hebdo · 16–22 nov. 2026 · Client : maison-lumiere``)."""
    group = [(name, value) for name, value in batch.group.items() if name != "workflow" and value]
    period = batch.period
    if lang is None:
        extra = [f"{name}: {value}" for name, value in group]
        shown = [str(period)] if period else []
    else:
        extra = [lang.text("chat_dimension", name=dimension_label(name, lang),
                           value=lang.platform(value) if name == "platform" else value) for name, value in group]
        shown = [lang.period(period.start, period.end)] if period else []
    return clean_text(" · ".join([batch.result.workflow.name, *shown, *extra]), 300)


def facts(line: AlertLine) -> str:
    """``value 3.49% · platform: instagram · rule err_drop``; in the line's language
    (``valeur 3,49 % · réseau : Instagram · règle err_drop``)."""
    lang = line.lang
    parts = [] if line.value is None else [
        lang.text("chat_value", value=line.value_text) if lang is not None else f"value {line.value_text}"]
    if line.where:
        parts.append(line.where)
    parts.append(lang.text("chat_rule", rule=line.rule) if lang is not None else f"rule {line.rule}")
    return clean_text(" · ".join(parts), 400)


def item_lines(line: AlertLine) -> list[str]:
    """The records behind an alert, a line each (``• @julie · x · …``), then ``…and N more``;
    clean, not yet escaped for the platform's markup."""
    return [f"• {text}" for text in line.items] + ([line.more_text] if line.more_text else [])


def more_text(hidden: int, lang: "Language | None" = None) -> str:
    """``…and 3 more alerts not shown here``, in ``lang`` when given."""
    if lang is not None:
        return lang.text("chat_more", n=hidden)
    return f"…and {hidden} more alert{'s' if hidden != 1 else ''} not shown here"
