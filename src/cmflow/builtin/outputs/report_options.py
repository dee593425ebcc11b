"""The ``report`` output's options, and the checks of them the ``email`` output shares: an
e-mail with ``clients`` sends the report that output writes (its settings, or these defaults).
Not a plugin module, so that two outputs read them without importing each other (tests/test_layers.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Union

from pydantic import Field, field_validator

from cmflow import HexColour, PluginOptions, ReportPath, WholeNumber

FORMATS = ("html", "pdf", "xlsx", "csv", "json")


class ReportOptions(PluginOptions):
    """Options of the ``report`` output (and of the reports a client's e-mail attaches)."""

    path: ReportPath = Field(
        "reports/{client}-{period}.{format}",
        description="Files to write, one per client and format: {client} (the client's id, `all` "
        "without clients), {format}, {audience}, {language}, {workflow}, {period} and {date} are "
        "replaced. A run that could not read every source writes `.incomplete` before the "
        "extension, so it never replaces the last complete report.",
        examples=["reports/{client}/{period}-{audience}.{format}"])
    formats: list[Literal["html", "pdf", "xlsx", "csv", "json"]] = Field(
        ["html"], min_length=1, description="Formats to write: html (one self-contained page), pdf "
        "(printed from the same page), xlsx (one sheet per table), csv and json (the measurements).")
    audience: Literal["client", "management", "marketing"] = Field(
        "client", description="Who reads it: client (branded, their figures, no internal wording), "
        "management (one page: objectives, decisions, headline KPIs) or marketing (every section).")
    language: str | None = Field(
        None, description="Language of the report (en, fr). Default: each client's language, else English.",
        examples=["fr"])
    clients: Union[Literal["each", "none"], list[str]] = Field(
        "each", description="each: one report per client the workflow declares; none: one report "
        "for the whole workflow; or a list of client ids.")
    title: str | None = Field(None, description="Report title. Default: the workflow's name.")
    show_warnings: bool = Field(
        False, description="List the run's warnings (figures in doubt: a `where` value no record has "
        "had, an export gone since the last run) under the title, in a block \"Check before sending\": "
        "for the agency's own reports. They name files, workflow keys and other clients' accounts, so "
        "never a report for a client; a client's e-mail never attaches them, whatever this says.",
        examples=[True])
    metrics: list[str] | None = Field(
        None, description="Headline KPIs, in order. Default: followers, their growth, engagement "
        "rates, reach, impressions, interactions and posts, those the run measures.")
    commentary: str | None = Field(
        None, description="A Markdown file of the CM's commentary, relative to the workflow file; "
        "{client} and {period} are replaced. A missing file means no commentary this time; a missing "
        "folder is said in the run summary (a misspelt path).",
        examples=["commentary/{client}-{period}.md"])
    templates: str | None = Field(
        None, description="A folder of your own Jinja2 templates (client.html.j2, management.html.j2, "
        "marketing.html.j2, or one extending builtin/base.html.j2), relative to the workflow file.")
    trend_periods: WholeNumber = Field(8, ge=0, le=52,
                                       description="Periods shown in the trend charts, the current one included.")
    accent_colour: HexColour = Field("#2563eb", description="Accent colour when the client has none.")
    thumbnails: bool = Field(
        True, description="Show an image beside each top and flop post that has a thumbnail_url: it is "
        "fetched when the report is written (at most 10 per report, 1 MB each, JPEG, PNG, WebP or GIF) "
        "and put in the file itself. False: cmflow makes no request for them, the posts show no image.",
        examples=[False])
    # Written here rather than with cmflow.http's allow_private_network_option: importing the
    # HTTP kit (httpx) would slow down every `cmflow validate` of a workflow with a report.
    allow_private_network: bool = Field(
        False, description="Allow a thumbnail whose host is or resolves to a loopback, private, "
        "link-local, unique-local, multicast or cloud metadata address (a server on your own network). "
        "Off by default, so that a workflow cannot reach services inside the network cmflow runs in.",
        examples=[True])


    @field_validator("commentary")
    @classmethod
    def _commentary_inside(cls, value: str | None) -> str | None:
        return _inside_workflow_folder(value, ("client", "period", "workflow", "date"))

    @field_validator("templates")
    @classmethod
    def _templates_inside(cls, value: str | None) -> str | None:
        return _inside_workflow_folder(value, ())


def _inside_workflow_folder(value: str | None, placeholders: tuple[str, ...]) -> str | None:
    """A file the report reads, named relative to the workflow file and inside its folder: a
    report must not carry any file of the machine into a client's hands."""
    import string

    if value is None:
        return value
    path = Path(value)
    if path.is_absolute() or ".." in path.parts:
        raise ValueError(f"{value!r}: give a path relative to the workflow file, inside its folder "
                         "(no absolute path, no ..)")
    try:
        names = [name for _, name, _, _ in string.Formatter().parse(value) if name is not None]
    except ValueError as error:
        raise ValueError(f"{value!r}: {error}") from None
    for name in names:
        if name not in placeholders:
            allowed = ", ".join("{" + p + "}" for p in placeholders) or "none"
            raise ValueError(f"unknown placeholder {{{name}}} (placeholders here: {allowed})")
    return value


def client_breakdowns_missing(workflow, options: ReportOptions) -> list[tuple[str, str]]:
    """A report per client reads each client's whole (``by = ["client"]``): a headline KPI
    measured without it would show nothing, or worse, be taken from a figure of every client."""
    from cmflow.builtin.reports.headline import HEADLINE_METRICS

    produced = workflow.measurement_names()
    wanted = options.metrics or [m for m in HEADLINE_METRICS if m in produced]
    lacking = [m for m in wanted if m in produced and ("client",) not in workflow.breakdowns_of(m)]
    if not lacking:
        return []
    return [("clients", f"a report per client shows each client's own figures, but {', '.join(lacking)} "
             f"{'is' if len(lacking) == 1 else 'are'} not measured by client: add \"client\" (and "
             "[\"client\", \"platform\"]) to the `by` of the metric producing "
             f"{'it' if len(lacking) == 1 else 'them'}, or set clients = \"none\"")]
