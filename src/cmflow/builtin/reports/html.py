"""A report document as one self-contained HTML page, in the reader's language.

Templates are Jinja2 in a sandboxed environment with autoescape on: a folder of the user's own
templates is searched first, so any built-in template (``client.html.j2``,
``management.html.j2``, ``marketing.html.j2``, or a block of ``base.html.j2``) can be replaced or
extended with ``{% extends "builtin/base.html.j2" %}``. Charts are inline SVG, images ``data:``
URIs, and a Content-Security-Policy forbids the page any request.
"""

from __future__ import annotations

import base64
import functools
import mimetypes
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cmflow import Language
    from cmflow.builtin.reports.document import ReportDocument

AUDIENCES = ("client", "management", "marketing")
FILE_SOURCES = frozenset({"csv", "json", "xlsx", "export"})
"""Sources of files a CM downloads: a client's report calls a failed one "an exported file"
(the file's records, which would say which platform, could not be read)."""
SHOWN_RUN_WARNINGS = 5
"""The run's warnings a report lists; beyond, a count (``cmflow history`` has them all)."""
SHOWN_LEFT_OUT_ROWS = 20
"""The rows left out of a source an agency's own report lists; beyond, a count (``cmflow run -v``
prints them all)."""
TEMPLATES = ("base.html.j2", *(f"{audience}.html.j2" for audience in AUDIENCES))
"""The built-in templates, each reachable as ``builtin/<name>`` from a user's own."""
CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:"
"""No script, no request: styles and images only from the page itself."""


@dataclass(frozen=True)
class ChartView:
    """A chart as a template shows it: its title, and its markup (inline SVG, or an image)."""

    title: str
    markup: str


@dataclass(frozen=True)
class Branding:
    """How a report looks for its client: a name, a logo (inlined) and an accent colour."""

    accent: str = "#2563eb"
    logo: Path | None = None
    agency: str | None = None

    def logo_data_uri(self) -> str | None:
        if self.logo is None or not self.logo.is_file():
            return None
        kind = mimetypes.guess_type(self.logo.name)[0] or "application/octet-stream"
        if kind not in ("image/png", "image/jpeg", "image/svg+xml", "image/gif", "image/webp"):
            return None
        return f"data:{kind};base64,{base64.b64encode(self.logo.read_bytes()).decode('ascii')}"


def template_environment(folder: Path | None = None):
    """The sandboxed Jinja2 environment of reports: ``folder``'s templates first, then the
    built-in ones (also reachable as ``builtin/<name>`` to extend them).

    One environment per folder and per state of its files, so that a template is compiled once
    per process (a run renders up to a dozen documents from the same few templates) and an
    edit, or a template added to override a built-in one, is seen by the next render."""
    return _environment(folder, _file_states(folder))


def _file_states(folder: Path | None) -> tuple[tuple[str, int], ...]:
    """Each file under ``folder`` with its modification time (none for no folder)."""
    states = []
    for path in Path(folder).rglob("*") if folder is not None else ():
        try:
            states.append((str(path), path.stat().st_mtime_ns))
        except OSError:  # removed meanwhile
            continue
    return tuple(sorted(states))


@functools.lru_cache(maxsize=8)
def _environment(folder: Path | None, files: tuple) -> object:
    """:func:`template_environment` for one state of ``folder``'s ``files`` (the cache key)."""
    from jinja2 import ChoiceLoader, FileSystemLoader, PackageLoader, PrefixLoader, select_autoescape
    from jinja2.sandbox import SandboxedEnvironment

    builtin = PackageLoader("cmflow.builtin.reports", "templates")
    loaders = ([FileSystemLoader(str(folder))] if folder else []) + [builtin]
    env = SandboxedEnvironment(loader=ChoiceLoader([*loaders, PrefixLoader({"builtin": builtin})]),
                               autoescape=select_autoescape(default=True, default_for_string=True),
                               trim_blocks=True, lstrip_blocks=True)
    env.filters["safe_url"] = safe_url
    return env


def render_html(document: "ReportDocument", language: "Language", *, audience: str = "client",
                branding: Branding | None = None, templates: Path | None = None,
                charts: dict[str, ChartView] | None = None, print_css: str = "") -> str:
    """The report page of ``document`` for ``audience``, in ``language``. A template that
    fails (a user's own, most likely) raises a UserFacingError naming it and its line."""
    from jinja2 import TemplateError

    env = template_environment(templates)
    branding = branding or Branding()
    try:
        return _render(env, document, language, audience=audience, branding=branding, charts=charts,
                       print_css=print_css)
    except TemplateError as exc:
        raise template_failure(exc, templates) from None


def _render(env, document: "ReportDocument", language: "Language", *, audience: str, branding: Branding,
            charts: dict[str, ChartView] | None, print_css: str) -> str:
    from markupsafe import Markup

    from cmflow import objective_figures, objective_rule
    from cmflow.builtin.reports.alert_words import alert_sentence
    from cmflow.builtin.reports.document import change_mark

    from cmflow import NONE_LABEL
    from cmflow.builtin.reports.commentary import commentary_html

    template = env.get_template(f"{audience}.html.j2")
    return template.render(
        doc=document, t=language.text, lang=language, audience=audience, accent=branding.accent,
        objective_figures=lambda result: objective_figures(result, language),
        objective_rule=lambda result: objective_rule(result, language), change_mark=change_mark,
        alert_sentence=lambda line: alert_sentence(line, document.scope, language),
        cover_page=audience != "management",  # the one-pager has no cover page in print
        objectives_first=audience == "management",  # a decision-maker reads the decisions first
        logo=branding.logo_data_uri(), agency=branding.agency, csp=CONTENT_SECURITY_POLICY,
        charts={name: ChartView(view.title, Markup(view.markup)) for name, view in (charts or {}).items()},
        commentary=Markup(commentary_html(document.commentary)) if document.commentary else None,
        print_css=Markup(print_css),
        missing_platforms=missing_sources(document, language),
        shown_warnings=SHOWN_RUN_WARNINGS,
        shown_left_out=SHOWN_LEFT_OUT_ROWS,
        none_label=NONE_LABEL,  # what records left empty, as breakdowns name it
    )


def missing_sources(document: "ReportDocument", language: "Language") -> str:
    """What a reader is told the report lacks: the platforms whose data could not be read
    (``Instagram et Facebook``; ``un fichier d'export`` for a file whose platform is not known),
    never a source's id or path."""
    names = []
    for source in document.missing:
        if source.platforms:
            names += [language.platform(p) for p in source.platforms]
        else:
            names.append(language.text("report_incomplete_file") if source.plugin in FILE_SOURCES
                         else language.platform(source.plugin))
    return language.join(list(dict.fromkeys(names)))


def template_failure(exc: Exception, folder: Path | None) -> Exception:
    """A Jinja2 error of a report template as the CM reads it: which template and line, what
    is wrong (a syntax error, a missing template, something the sandbox forbids such as
    ``''.__class__``), and what to do; never a traceback."""
    from jinja2 import TemplateNotFound, TemplateSyntaxError
    from jinja2.exceptions import SecurityError

    from cmflow import UserFacingError

    where, line = getattr(exc, "filename", None), getattr(exc, "lineno", None)
    if not isinstance(exc, TemplateSyntaxError):
        trace = exc.__traceback__
        while trace is not None:  # Jinja2 maps the frames of a template to its file and line
            if trace.tb_frame.f_code.co_filename.endswith(".j2"):
                where, line = trace.tb_frame.f_code.co_filename, trace.tb_lineno
            trace = trace.tb_next
    name = Path(where).name if where else "a report template"
    if where and folder is not None and Path(where).resolve().is_relative_to(Path(folder).resolve()):
        name = str(Path(where).resolve().relative_to(Path(folder).resolve()))
    place = f"{name}, line {line}" if line else name
    message = (getattr(exc, "message", None) or str(exc) or type(exc).__name__).rstrip(".")
    if isinstance(exc, TemplateNotFound):
        message = f"no template named {exc.name!r} (the built-in ones are builtin/{', builtin/'.join(TEMPLATES)})"
    elif isinstance(exc, SecurityError):
        message += " (report templates run in a sandbox: they show the report's values, nothing else)"
    todo = (f"correct it in your templates folder ({folder}, the report output's `templates` option), or remove "
            "the template to use the built-in one" if folder is not None else "report it: a built-in template failed")
    return UserFacingError(f"report template {place}: {message}: {todo}")


def safe_url(url: str | None) -> str | None:
    """Only http(s) links: a ``javascript:`` URL from a caption export must never be clickable."""
    if url and re.match(r"^https?://[^\s\"'<>]+$", url.strip(), re.IGNORECASE):
        return url.strip()
    return None
