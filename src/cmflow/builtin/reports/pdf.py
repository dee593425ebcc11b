"""The HTML report printed to PDF with WeasyPrint: the same document as the HTML file, laid out
on A4 pages by CSS paged media (``@page``), with a cover, a running header (from page 2: page 1
opens with the title) and "page N / M".

The report's templates include ``PRINT_CSS`` (the page layout, the same in every language) and
``page_margin_css(...)`` (the running header and footer, in the report's words) in their
``<style>``, as they are (``|safe`` in an autoescaping template: neither holds a ``<``, ``>`` or
``&``, and the quotes of CSS strings must stay quotes). Both apply to print only (``@media
print``: WeasyPrint lays out for print, browsers when printing), so the HTML on screen is
unchanged. The templates mark up, for print:

- ``class="cover"``: the cover, a page of its own with no header, footer or page number
  (it still counts as page 1 of M);
- ``class="page-break-before"``: a section that starts on a new page;
- ``class="keep-together"``: a block not split across two pages (a chart with its caption);
- ``class="landscape"``: a block printed on landscape pages of its own (a table too wide for
  a portrait page: nothing shrinks a table to fit, and it would run past the page's edge);
- ``class="screen-only"``: what paper has no use for (links to other formats, navigation);
- ``class="fixed-columns"``: a table whose columns take the widths its ``<colgroup>`` (or its
  first row) sets, the others sharing what is left: the fixed table layout, which does not
  measure every word of every cell first (a quarter of a report's printing time with the
  automatic layout).

Table rows, figures, images and SVG charts are never split; headings stay with what follows
them; a table's header row is repeated on every page it runs to; images and charts shrink to
the page's width. The PDF fetches nothing: only ``data:`` URLs (what a self-contained report
has) are read; any other URL in the HTML is refused, logged, and left out.
"""

from __future__ import annotations

import logging
from pathlib import Path

from cmflow import UserFacingError
from cmflow.builtin.reports.files import replace_atomically

LOGGER = logging.getLogger("cmflow.reports.pdf")

PANGO_PACKAGES = "libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core fonts-noto-color-emoji"
"""Debian's packages the PDF needs from the system: Pango (WeasyPrint draws text with it) and
fonts with accents and emoji."""

PRINT_CSS = """\
@media print {
  @page { size: A4; margin: 22mm 16mm 20mm 16mm; font-family: "DejaVu Sans", "Liberation Sans", sans-serif; }
  @page cover { margin: 16mm; }
  @page landscape { size: A4 landscape; }
  html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  .cover { page: cover; break-after: page; }
  .page-break-before { break-before: page; }
  .landscape { page: landscape; break-before: page; break-after: page; }
  .screen-only { display: none !important; }
  h1, h2, h3, h4, h5, h6, caption, figcaption { break-after: avoid; break-inside: avoid; }
  p, li { orphans: 3; widows: 3; }
  tr, td, th, img, svg, figure, .keep-together { break-inside: avoid; }
  thead { display: table-header-group; }
  tfoot { display: table-footer-group; }
  table { max-width: 100%; }
  table.fixed-columns { table-layout: fixed; width: 100%; }
  th, td { overflow-wrap: break-word; }
  img, svg, canvas, video, figure { max-width: 100% !important; height: auto; }
  * { overflow: visible !important; }
  svg { overflow: hidden !important; }
  a { color: inherit; text-decoration: none; }
}
"""
"""The print layout of a report, language-free: A4 with margins, the cover on a page of its own,
wide blocks on landscape pages, no row, figure or chart split across pages, headings kept with
what follows, header rows repeated, images and charts fitted to the page width, scrolling boxes
unfolded (paper cannot scroll). Include it with ``page_margin_css(...)`` after the report's own
CSS."""


def page_margin_css(*, title: str, client: str, page_word: str = "Page", of_word: str = "/") -> str:
    """The CSS of every page's margins but the cover's, in the report's language: the report's
    ``title`` at the top left and the ``client``'s name at the top right, and
    "``page_word`` N ``of_word`` M" centred at the bottom (``page_word="page", of_word="sur"``
    prints "page 3 sur 12"). The first page has no such header: it opens with the title itself
    (a cover, or a one-pager's masthead). The texts are escaped: any text is safe here."""
    header_title, header_client = _css_string(title), _css_string(client)
    footer = f'{_css_string(page_word + " ")} counter(page) {_css_string(" " + of_word + " ")} counter(pages)'
    margin_text = "font-size: 8pt; color: #555;"
    return (
        "@media print {\n"
        f"  @page {{ @top-left {{ content: {header_title}; {margin_text} }}"
        f" @top-right {{ content: {header_client}; {margin_text} }}"
        f" @bottom-center {{ content: {footer}; {margin_text} }} }}\n"
        "  @page cover { @top-left { content: none; } @top-right { content: none; }"
        " @bottom-center { content: none; } }\n"
        "  @page :first { @top-left { content: none; } @top-right { content: none; } }\n"
        "}\n"
    )


def write_pdf(html: str, path: str | Path, *, base_url: str | None = None) -> None:
    """Print the report ``html`` to a PDF file at ``path``, replacing it only once the new one
    is whole (readers never see half a file). ``base_url`` resolves the document's relative
    links; nothing is fetched but ``data:`` URLs. Raises ``UserFacingError`` (what, which file,
    what to do) when Pango is missing or the file cannot be written."""
    target = Path(path)
    try:
        import weasyprint  # deferred: it loads Pango, which `cmflow --help` has no need of
    except OSError as error:  # WeasyPrint is there, the system library it opens is not
        raise UserFacingError(
            f"cannot write the PDF report {target}: WeasyPrint needs the Pango library from the system "
            f"({error}). On Debian or Ubuntu, install it with: "
            f"sudo apt-get install {PANGO_PACKAGES}") from None
    except ImportError as error:
        raise UserFacingError(
            f"cannot write the PDF report {target}: the weasyprint package is missing ({error}). "
            "Install cmflow again with its dependencies: pip install cmflow (or pip install -e . "
            "in its folder).") from None
    fetcher = _inline_data_only(weasyprint)
    # WeasyPrint logs each CSS rule it ignores (the page's rules for phones): nothing a reader of
    # cmflow's output can act on.
    css_logger = logging.getLogger("weasyprint")
    level = css_logger.level
    css_logger.setLevel(logging.ERROR)
    try:
        pdf = weasyprint.HTML(string=html, base_url=base_url, url_fetcher=fetcher).write_pdf()
    finally:
        css_logger.setLevel(level)
    if fetcher.refused:
        LOGGER.warning("%s: left out %d resource(s) the report would have fetched from outside it: %s",
                       target, len(fetcher.refused), ", ".join(sorted(set(fetcher.refused))[:5]))
    try:
        replace_atomically(target, lambda temporary: temporary.write_bytes(pdf))
    except OSError as error:
        raise UserFacingError(
            f"cannot write the PDF report {target}: {error.strerror or error}. "
            "Check that its folder can be written to and has room, or choose another path.") from None


def _inline_data_only(weasyprint):
    """A WeasyPrint URL fetcher that reads ``data:`` URLs and refuses every other one (http,
    https, file ...), noting each in its ``refused`` list."""

    class InlineDataOnly(weasyprint.urls.URLFetcher):
        def __init__(self) -> None:
            super().__init__(allowed_protocols={"data"}, allow_redirects=False)
            self.refused: list[str] = []

        def fetch(self, url, headers=None):
            if not url.lower().startswith("data:"):
                self.refused.append(url)
                raise ValueError(f"a report fetches nothing from outside it: {url}")
            return super().fetch(url, headers)

    return InlineDataOnly()


def _css_string(text: str) -> str:
    """``text`` as a double-quoted CSS string, every character that could end the string, the
    rule or the ``<style>`` element escaped."""
    escaped = []
    for character in text:
        if character.isalnum() or character in " .,:;!?()/_-–—+#%€£’«»":
            escaped.append(character)
        elif ord(character) < 0x20 or ord(character) == 0x7F:
            escaped.append(" ")
        else:
            escaped.append(f"\\{ord(character):x} ")
    return '"' + "".join(escaped) + '"'
