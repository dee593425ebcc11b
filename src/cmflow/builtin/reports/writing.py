"""Writing a ``report`` output's files: a document per reader, rendered in each format asked.

Every file is written to a temporary name and moved into place, so a reader never sees half a
report; a run that could not read every source writes under an ``.incomplete`` name and leaves
the last complete report where it is.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from cmflow.builtin.reports.document import ReportDocument, build_document, measurement_frame
from cmflow.builtin.reports.scopes import ReportScope, whole_workflow_scope

if TYPE_CHECKING:
    from cmflow import RunResult

WHOLE = "all"
"""{client} of a report for the whole workflow."""


def report_scopes(result: "RunResult", options: Any) -> list[ReportScope]:
    """One scope per client the options ask for, or the whole workflow's."""
    clients = list(result.workflow.clients)
    if not clients or options.clients == "none":
        return [whole_workflow_scope(result.workflow)]
    names = whole_workflow_scope(result.workflow).names
    if isinstance(options.clients, list):
        clients = [c for c in clients if c.id in options.clients]
    return [ReportScope(client, frozenset(("*", account) for account in client.accounts), names)
            for client in clients]


def write_reports(result: "RunResult", options: Any, directory: Path) -> list[Path]:
    """Write every file of the output; return their paths."""
    written: list[Path] = []
    for scope in report_scopes(result, options):
        client = scope.client
        document, lang = scope_document(result, options, scope, directory)
        for fmt in options.formats:
            path = result.output_path(options.path, client=client.id if client else WHOLE, format=fmt,
                                      audience=options.audience, language=lang.code)
            incomplete = incomplete_path(path)
            if not document.complete:
                path = incomplete
            write_report_file(fmt, document, result, scope, lang, options, directory, path)
            if document.complete:  # an earlier run's incomplete report is out of date now
                incomplete.unlink(missing_ok=True)
            written.append(path)
    return written


def commentary_folders_missing(result: "RunResult", options: Any, directory: Path) -> list[Path]:
    """The folders the ``commentary`` files of this run's scopes would be in that do not exist:
    a missing file is a period without commentary, a missing folder a misspelt path."""
    if not getattr(options, "commentary", None):
        return []
    folders = {(directory / result.output_path(options.commentary, client=scope.client.id if scope.client else WHOLE)
                ).parent for scope in report_scopes(result, options)}
    return sorted(folder for folder in folders if not folder.is_dir())


def write_report_file(fmt: str, document: ReportDocument, result: "RunResult", scope: ReportScope, lang: Any,
                      options: Any, directory: Path, path: Path) -> None:
    """Write the report in ``fmt`` at ``path``, replacing the file whole. An HTML, PDF or XLSX
    report is rendered once per run for the same document, options and language: the ``email``
    output attaches the PDF the ``report`` output writes, printed once."""
    if fmt not in RENDERED_ONCE:
        WRITERS[fmt](document, result, scope, lang, options, directory, path)
        return
    rendered_here = []

    def render() -> bytes:
        WRITERS[fmt](document, result, scope, lang, options, directory, path)  # each replaces its file whole
        rendered_here.append(path)
        return path.read_bytes()

    data = result.memo.get(("report", fmt, lang.code, _fingerprint(document, options)), render)
    if not rendered_here:
        from cmflow.builtin.reports.files import replace_atomically

        replace_atomically(path, lambda temporary: temporary.write_bytes(data))


def _fingerprint(document: ReportDocument, options: Any) -> str:
    """What tells two renderings of a report apart: its document (but the moment it was
    built) and its output's options."""
    import dataclasses
    import hashlib

    content = repr((dataclasses.replace(document, generated_at=None), options))
    return hashlib.sha256(content.encode("utf-8", "surrogatepass")).hexdigest()


def incomplete_path(path: Path) -> Path:
    """Where the report of a run that could not read every source goes: ``.incomplete`` before
    the extension, beside the last complete one, which it never replaces."""
    return path.with_name(f"{path.stem}.incomplete{path.suffix}")


def scope_document(result: "RunResult", options: Any, scope: ReportScope, directory: Path) -> tuple[ReportDocument, Any]:
    """The document of one scope as a ``report`` output's ``options`` make it (title, headline
    metrics, the CM's commentary read from ``directory``), and the language it is written in:
    the options', else the client's, else English."""
    from cmflow import language
    from cmflow.builtin.reports.commentary import read_commentary

    client = scope.client
    lang = language(options.language or getattr(client, "language", None) or "en")
    commentary = None
    if options.commentary:
        commentary = read_commentary(directory / result.output_path(
            options.commentary, client=client.id if client else WHOLE))
    title, warnings = _title(result, options, scope, lang), getattr(options, "show_warnings", False)
    # The management one-pager shows no posts (unless a template of the user's own adds them).
    shows_posts = getattr(options, "audience", "client") != "management" or getattr(options, "templates", None)
    thumbnails = bool(getattr(options, "thumbnails", False) and shows_posts)
    private = getattr(options, "allow_private_network", False)

    def make() -> tuple["RunResult", ReportDocument]:
        document = build_document(result, scope, title=title, metrics=options.metrics, commentary=commentary,
                                  run_warnings=warnings)
        if thumbnails:
            from cmflow.builtin.reports.thumbnails import run_fetcher, with_thumbnails

            document = with_thumbnails(document, run_fetcher(result, allow_private_network=private))
        return result, document

    # Built once per run for the same reader and settings: the client's e-mail and its report
    # output show the same document. The key holds the result's id and the value the result
    # itself, so a view of the run (an output's `where`) never gets another view's document.
    key = ("document", id(result), client.id if client else None, scope.accounts, lang.code, title,
           tuple(options.metrics or ()),
           commentary, warnings, thumbnails, private)
    held, document = result.memo.get(key, make)
    if held is not result:  # cannot happen while the memo holds the result; never trust an id alone
        document = make()[1]
    return document, lang


def _title(result: "RunResult", options: Any, scope: ReportScope, lang: Any) -> str:
    if options.title:
        return options.title
    if scope.client is not None:
        return lang.text("report_title_client", client=scope.client.name)
    return result.workflow.name


def _html(document: ReportDocument, result: "RunResult", scope: ReportScope, lang: Any,
          options: Any, directory: Path, *, print_css: str = "") -> str:
    from cmflow.builtin.reports.html import Branding, ChartView, render_html
    from cmflow.builtin.reports.report_charts import document_charts

    client = scope.client
    logo = getattr(client, "logo", None)
    branding = Branding(accent=getattr(client, "colour", None) or options.accent_colour,
                        logo=Path(logo) if logo else None)
    templates = directory / options.templates if options.templates else None
    charts = {name: ChartView(chart.title, chart.svg(lang.code) if not print_css else _svg_image(chart, lang))
              for name, chart in document_charts(document, lang).items()}
    return render_html(document, lang, audience=options.audience, branding=branding, templates=templates,
                       charts=charts, print_css=print_css)


def _svg_image(chart: Any, lang: Any) -> str:
    """The chart as an ``<img>`` of SVG: WeasyPrint sizes an image by its own proportions, where
    an inline ``<svg>`` scaled to the page's width can be given a wrong height."""
    import base64
    from html import escape

    import re

    # The inline SVG's own style (scale to the container) would make WeasyPrint lose its proportions.
    svg = re.sub(r'^(<svg[^>]*?) style="[^"]*"', r"\1", chart.svg(lang.code), count=1)
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return f'<img class="chart-image" alt="{escape(chart.description)}" src="data:image/svg+xml;base64,{data}">'


def _write_html(document, result, scope, lang, options, directory, path: Path) -> None:
    from cmflow.builtin.reports.files import replace_atomically

    html = _html(document, result, scope, lang, options, directory)
    replace_atomically(path, lambda temporary: temporary.write_text(html, encoding="utf-8"))


def _write_pdf(document, result, scope, lang, options, directory, path: Path) -> None:
    from cmflow.builtin.reports.pdf import PRINT_CSS, page_margin_css, write_pdf

    page_word, of_word, _ = lang.text_parts("page_of")
    css = PRINT_CSS + page_margin_css(title=document.title, client=scope.client.name if scope.client else "",
                                      page_word=page_word.strip(), of_word=of_word.strip())
    write_pdf(_html(document, result, scope, lang, options, directory, print_css=css), path)


def _write_xlsx(document, result, scope, lang, options, directory, path: Path) -> None:
    from cmflow.builtin.reports.workbook import document_sheets
    from cmflow.builtin.reports.spreadsheets import write_xlsx

    write_xlsx(document_sheets(document, lang), path, title=document.title, locale=lang.code)


def _write_csv(document, result, scope, lang, options, directory, path: Path) -> None:
    from cmflow.builtin.reports.spreadsheets import write_measurements_csv

    write_measurements_csv(measurement_frame(result, scope), path, comparisons=_comparisons(result, scope),
                           metric_labels=lang.metric_label)


def _write_json(document, result, scope, lang, options, directory, path: Path) -> None:
    from cmflow.builtin.reports.spreadsheets import write_measurements_json

    write_measurements_json(measurement_frame(result, scope), path, comparisons=_comparisons(result, scope),
                            metric_labels=lang.metric_label)


def _comparisons(result: "RunResult", scope: ReportScope):
    frame = result.comparisons
    if frame is None or scope.client is None:
        return frame
    return frame.filter(scope.measurement_filter(frame.columns))


RENDERED_ONCE = ("html", "pdf", "xlsx")
"""The formats of the document rendered once per run (the data files are written from the
measurements, and quickly)."""
WRITERS = {"html": _write_html, "pdf": _write_pdf, "xlsx": _write_xlsx, "csv": _write_csv, "json": _write_json}
