"""A report as an e-mail: the summary and the decisions inline, a chart as a PNG the message
carries (``cid:``; mail clients do not show SVG), the report attached under a name a person
recognises (client, period, format), and a plain-text part saying the same facts.

:func:`email_facts` puts the document into words once, in the reader's language; the HTML part
(a sandboxed, autoescaped template with inline CSS that mail clients accept) and the plain-text
part both show those words, so the two never disagree. Text from the public (account names,
objective titles) is escaped in the HTML and kept on one line in the text.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cmflow import objective_figures
from cmflow.builtin.reports.alert_words import alert_sentence

if TYPE_CHECKING:
    from email.message import EmailMessage

    from cmflow import Language, RunResult
    from cmflow.builtin.reports.document import ReportDocument
    from cmflow.builtin.reports.scopes import ReportScope

ATTACHMENT_TYPES = {
    "pdf": ("application", "pdf"),
    "html": ("text", "html"),
    "xlsx": ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "csv": ("text", "csv"),
    "json": ("application", "json"),
}
"""The MIME type of each report format, as attached."""
CHARTS = ("by_account", "trend")
"""The chart an e-mail shows: the first of these the document has."""
CHART_WIDTH = 560
"""The widest a chart is shown, in CSS pixels: the message's 600 px less its margins."""
CHART_DRAWN_WIDTH = 320
"""The width, in CSS pixels, the e-mail's chart is drawn at: a 390 px phone's message column
(about 326 px) shows it at its own size, its labels at 14 px; a chart drawn as wide as the
report's (400 px) would shrink them to 11 px there."""
CHART_SCALE = 2
"""Pixels of the chart's PNG per CSS pixel: sharp on high-density screens."""
CHART_CID = "chart@cmflow"
"""The Content-ID of the chart image (``<img src="cid:chart@cmflow">``)."""
LOGO_CID = "logo@cmflow"
"""The Content-ID of the client's logo."""
LOGO_HEIGHT = 40
"""The height the logo is shown at, in CSS pixels."""
LOGO_TYPES = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".svg": "svg"}
UNSAFE_IN_FILE_NAME = re.compile(r'[\x00-\x1f\x7f-\x9f/\\:*?"<>|\u2028\u2029]+')
"""What a file name must not hold on any system a reader saves it to: control characters,
slashes, and what Windows refuses."""
ONE_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
TONE_COLOURS = {"good": "#15803d", "bad": "#b91c1c", "neutral": "#4b5563", "": "#4b5563"}
VERDICT_COLOURS = {"continue": "#15803d", "optimise": "#a16207", "change": "#c2410c", "stop": "#b91c1c",
                   "none": "#4b5563"}


@dataclass(frozen=True)
class Attachment:
    """A file attached to a report e-mail."""

    file_name: str
    maintype: str
    subtype: str
    data: bytes


@dataclass(frozen=True)
class EmailChart:
    """The chart of a report e-mail: a PNG image, the title above it and its alt text."""

    png: bytes
    title: str
    alt: str
    width: int = 560
    """The width to show it at, in CSS pixels: the chart's own (its PNG has twice the pixels, sharp
    on high-density screens), at most :data:`CHART_WIDTH`."""


@dataclass(frozen=True)
class EmailLogo:
    """The client's logo as a message carries it: PNG or JPEG (an SVG logo is converted, as
    mail clients do not show SVG)."""

    data: bytes
    subtype: str
    """png or jpeg."""


@dataclass(frozen=True)
class ChangeLine:
    """A headline figure's change against one comparison period, in words."""

    text: str
    """``+3,00 pt par rapport à la période précédente``."""
    tone: str
    """good, bad or neutral (by the metric's polarity); empty when there is nothing to judge."""
    mark: str = ""
    """▲, ▼ or ■: which way the figure went (:func:`~cmflow.builtin.reports.document.change_mark`)."""


@dataclass(frozen=True)
class FigureLine:
    """A headline KPI: its label, its value and its changes."""

    label: str
    value: str
    changes: list[ChangeLine] = field(default_factory=list)


@dataclass(frozen=True)
class DecisionLine:
    """An objective and its decision."""

    verdict: str
    """continue, optimise, change, stop, or none."""
    verdict_label: str
    title: str
    series: str
    """What the objective is judged on (``Maison Lumière · Instagram``); empty for the whole."""
    figures: str
    """``5,00 % pour une cible de 3,00 % (166,67 % de la cible)``; empty without a value."""
    help: str


@dataclass(frozen=True)
class EmailFacts:
    """What a report e-mail says, in its reader's language, as ready text."""

    language: str
    subject: str
    title: str
    period: str
    greeting: str
    intro: str
    incomplete: str
    """Why the report is incomplete (which platforms' data is missing), or empty."""
    incomplete_title: str
    figures_heading: str
    figures: list[FigureLine]
    decisions_heading: str
    decisions: list[DecisionLine]
    alerts_heading: str
    alerts: list[str]
    no_alert: str
    attached: str
    """``Vous trouverez le rapport complet en pièce jointe (PDF).``, or empty."""
    closing: str
    sender: str
    """Who signs the message (the agency or the workflow); may be empty."""
    line_pattern: str = "{label}: {value}"
    """How the language writes a label and its value on a line (``{label}\u00a0: {value}`` in French)."""

    def line(self, label: str, value: str) -> str:
        """``label`` and ``value`` on one line, punctuated as the language does."""
        return re.sub(r"\{(label|value)\}", lambda m: label if m.group(1) == "label" else value, self.line_pattern)


def email_facts(document: "ReportDocument", lang: "Language", *, attached: list[str], sender: str = "",
                updated: bool = False) -> EmailFacts:
    """The words of ``document``'s e-mail in ``lang``; ``attached`` lists the formats attached;
    ``updated``: the report is sent again after a fix (``cmflow resend``), as its subject says."""
    from cmflow.builtin.reports.document import change_mark
    from cmflow.builtin.reports.html import missing_sources

    t = lang.text
    name = document.scope.client.name if document.scope.client is not None else document.title
    period = lang.period(document.period_start, document.period_end)
    figures = []
    for figure in document.headline:
        changes = []
        for comparison in document.comparisons:
            change = figure.changes.get(comparison)
            if change is None or change.change is None:
                continue
            text = lang.change(change.change, figure.relative_change(change), figure.unit)
            if text:
                changes.append(ChangeLine(f"{text} {t('vs_' + comparison)}", figure.tone(comparison),
                                          change_mark(change, text)))
        value = lang.value(figure.value, figure.unit) if figure.value is not None else lang.reason(figure.reason)
        figures.append(FigureLine(lang.metric_label(figure.metric), value, changes))
    decisions = []
    for result in document.objectives:
        verdict = result.verdict or "none"
        decisions.append(DecisionLine(verdict, t(f"verdict_{verdict}"),
                                      one_line(result.objective.title or t(f"goal_{result.objective.goal}")),
                                      one_line(document.scope.series_name(result.dimensions, lang.platform)),
                                      objective_figures(result, lang), t(f"verdict_help_{verdict}")))
    alerts = []
    for alert in document.alerts:
        alerts.append(one_line(f"{t('alert_state_' + alert.wording)} · {alert_sentence(alert, document.scope, lang)}"))
    missing = missing_sources(document, lang)
    formats = lang.join([fmt.upper() for fmt in attached])
    return EmailFacts(
        language=lang.code,
        subject=one_line(t(("email_subject" if document.complete else "email_subject_incomplete")
                           + ("_updated" if updated else ""), client=name, period=period)),
        title=one_line(document.title), period=t("report_period", period=period),
        greeting=t("email_greeting"), intro=t("email_intro", period=period),
        incomplete="" if document.complete else t("incomplete_text", sources=missing),
        incomplete_title=t("incomplete_title"),
        figures_heading=t("email_key_figures"), figures=figures,
        decisions_heading=t("email_decisions"), decisions=decisions,
        alerts_heading=t("section_alerts"), alerts=alerts, no_alert=t("no_alert"),
        attached=t("email_attached", formats=formats) if attached else "",
        closing=t("email_closing"), sender=one_line(sender), line_pattern=lang.messages["email_line"],
    )


def plain_text(facts: EmailFacts) -> str:
    """The plain-text part: the same facts as the HTML one, a line each."""
    lines = [facts.greeting, "", facts.intro, ""]
    if facts.incomplete:
        lines += [facts.line(facts.incomplete_title, facts.incomplete), ""]
    if facts.figures:
        lines += [facts.figures_heading, _underline(facts.figures_heading)]
        for figure in facts.figures:
            changes = "".join(f" ({c.mark} {c.text})" if c.mark else f" ({c.text})" for c in figure.changes)
            lines.append(f"- {facts.line(figure.label, figure.value)}{changes}")
        lines.append("")
    if facts.decisions:
        lines += [facts.decisions_heading, _underline(facts.decisions_heading)]
        for decision in facts.decisions:
            lines.append("- " + facts.line(decision.verdict_label.upper(), decision.title)
                         + (f" ({decision.series})" if decision.series else ""))
            lines += [f"  {text}" for text in (decision.figures, decision.help) if text]
        lines.append("")
    lines += [facts.alerts_heading, _underline(facts.alerts_heading)]
    lines += [f"- {alert}" for alert in facts.alerts] or [facts.no_alert]
    lines.append("")
    if facts.attached:
        lines += [facts.attached, ""]
    lines.append(facts.closing)
    if facts.sender:
        lines.append(facts.sender)
    return "\n".join(lines) + "\n"


def email_html(facts: EmailFacts, *, accent: str = "#2563eb", chart: EmailChart | None = None,
               logo: EmailLogo | None = None, templates: Path | None = None) -> str:
    """The HTML part: one self-contained page of tables with inline CSS, readable at 390 px,
    showing ``chart`` as the image of Content-ID :data:`CHART_CID` and ``logo`` as that of
    :data:`LOGO_CID`. ``templates`` may hold an ``email.html.j2`` of the user's own."""
    from jinja2 import TemplateError

    from cmflow.builtin.reports.html import template_failure, template_environment

    try:
        return template_environment(templates).get_template("email.html.j2").render(
            facts=facts, accent=accent, chart_cid=CHART_CID if chart else None, chart=chart,
            logo_cid=LOGO_CID if logo else None, logo_height=LOGO_HEIGHT,
            tone_colours=TONE_COLOURS, verdict_colours=VERDICT_COLOURS)
    except TemplateError as exc:  # a user's own email.html.j2, most likely: its name and line
        raise template_failure(exc, templates) from None


def email_chart(document: "ReportDocument", lang: "Language") -> EmailChart | None:
    """The chart the e-mail shows (the first of :data:`CHARTS` the document has), as PNG; None
    when the document has none."""
    from cmflow.builtin.reports.report_charts import document_charts

    charts = document_charts(document, lang)
    chart = next((charts[name] for name in CHARTS if name in charts), None)
    if chart is None:
        return None
    png = chart.narrowed(CHART_DRAWN_WIDTH).png(lang.code, scale=CHART_SCALE)
    width = int.from_bytes(png[16:20], "big") // CHART_SCALE  # the PNG header's width (IHDR)
    return EmailChart(png, one_line(chart.title), one_line(chart.description), min(width, CHART_WIDTH))


def email_logo(path: Path | None) -> EmailLogo | None:
    """The client's logo file (PNG, JPEG, or SVG converted to PNG) as the message carries it;
    None without a logo, or with one that cannot be read (the message goes without it)."""
    import vl_convert

    kind = LOGO_TYPES.get(path.suffix.lower()) if path is not None else None
    if kind is None:
        return None
    try:
        data = path.read_bytes()
        if kind == "svg":
            return EmailLogo(vl_convert.svg_to_png(data.decode("utf-8"), scale=2), "png")
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return EmailLogo(data, kind)


def attachment_name(document: "ReportDocument", lang: "Language", fmt: str) -> str:
    """The name a reader sees: ``Maison Lumière - rapport réseaux sociaux - 16–22 nov. 2026.pdf``
    (``(incomplet)`` before the extension when data is missing), safe on any system."""
    name = document.scope.client.name if document.scope.client is not None else document.title
    stem = lang.text("email_file_name", client=name, period=lang.period(document.period_start, document.period_end))
    if not document.complete:
        stem += f" ({lang.text('email_file_incomplete')})"
    return f"{safe_file_name(stem)}.{fmt}"


def safe_file_name(text: str, *, longest: int = 120) -> str:
    """``text`` as a file name: no slash, no control character, nothing Windows refuses, no
    leading dot, every space a plain one (easier to type), at most ``longest`` characters (cut
    on a word)."""
    name = " ".join(UNSAFE_IN_FILE_NAME.sub(" ", text).split()).strip(" .")
    if len(name) > longest:
        name = name[:longest].rsplit(" ", 1)[0].rstrip(" .-–")
    return name or "report"


def render_attachments(document: "ReportDocument", result: "RunResult", scope: "ReportScope", lang: "Language",
                       options: Any, directory: Path, formats: list[str]) -> list[Attachment]:
    """The report in each of ``formats``, rendered in a temporary folder by the same writers as
    the ``report`` output's files (``options`` are a ``report`` output's), read back as bytes:
    the same rendering as that output's file, made once in the run."""
    from cmflow.builtin.reports.writing import write_report_file

    attachments = []
    with tempfile.TemporaryDirectory(prefix="cmflow-mail-") as folder:
        for fmt in formats:
            path = Path(folder) / f"report.{fmt}"
            write_report_file(fmt, document, result, scope, lang, options, directory, path)
            maintype, subtype = ATTACHMENT_TYPES[fmt]
            attachments.append(Attachment(attachment_name(document, lang, fmt), maintype, subtype, path.read_bytes()))
    return attachments


def fill_report_email(mail: "EmailMessage", facts: EmailFacts, *, attachments: list[Attachment],
                      chart: EmailChart | None = None, logo: EmailLogo | None = None, accent: str = "#2563eb",
                      templates: Path | None = None) -> None:
    """Give ``mail`` (its headers set) its parts: the plain text, the HTML with the logo and the
    chart as related images, and the attachments."""
    mail.set_content(plain_text(facts))
    html = email_html(facts, accent=accent, chart=chart, logo=logo, templates=templates)
    mail.add_alternative(html, subtype="html")
    html_part = mail.get_payload()[-1]
    if logo is not None:
        html_part.add_related(logo.data, maintype="image", subtype=logo.subtype, cid=f"<{LOGO_CID}>",
                              filename=f"logo.{'jpg' if logo.subtype == 'jpeg' else logo.subtype}", disposition="inline")
    if chart is not None:
        html_part.add_related(chart.png, maintype="image", subtype="png", cid=f"<{CHART_CID}>",
                              filename="chart.png", disposition="inline")
    for attachment in attachments:
        mail.add_attachment(attachment.data, maintype=attachment.maintype, subtype=attachment.subtype,
                            filename=attachment.file_name)


def one_line(text: str) -> str:
    """Text with every control character, line breaks included, turned into a space; no-break
    and thin spaces (French punctuation, Babel's ranges) are kept."""
    return re.sub(" {2,}", " ", ONE_LINE.sub(" ", text or "")).strip(" ")


def _underline(heading: str) -> str:
    return "-" * len(heading)
