"""The PDF report (cmflow.builtin.reports.pdf): a realistic report printed by WeasyPrint, then read
back with poppler's tools as a reader's PDF viewer would: its pages (pdftoppm), its text and where
each word sits (pdftotext), its images (pdfimages). And the PDF never fetches anything."""

from __future__ import annotations

import base64
import http.server
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from cmflow import UserFacingError
from cmflow.builtin.reports.pdf import PRINT_CSS, page_margin_css, write_pdf

pytestmark = pytest.mark.skipif(not (shutil.which("pdftoppm") and shutil.which("pdftotext")),
                                reason="needs poppler-utils (pdftoppm, pdftotext): .ci/run installs them")

A4_WIDTH_PT, A4_HEIGHT_PT = 595.28, 841.89
# 16 mm of right margin, in points
RIGHT_MARGIN_EDGE_PT = A4_WIDTH_PT - 16 / 25.4 * 72

RED_PIXEL_PNG = base64.b64encode(bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108020000009077"
    "53de0000000c4944415408d763f8cfc0000003010100c9fe92ef0000000049454e44ae426082")).decode()

ROWS = 60


def sample_report(*, title: str = "Rapport mensuel", client: str = "Maison Lumière") -> str:
    """A report as the templates write one: a cover, headings, a long table (rows of two lines, every
    ninth of ten lines, so that some would straddle a page break), an
    SVG chart wider than the page, a data: image, French accents and an emoji."""
    rows = "\n".join(
        f"<tr><td>Publication n° {n}<br>{'suite<br>' * (8 if n % 9 == 0 else 0)}ligne B {n}</td><td>carrousel</td><td>{n * 37} réactions</td>"
        f"<td>{n / 10:.1f} %</td></tr>" for n in range(1, ROWS + 1))
    bars = "".join(f'<rect x="{40 + i * 100}" y="{300 - i * 20}" width="60" height="{i * 20}" fill="#2a6f97"/>'
                   for i in range(1, 12))
    return f"""<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: "DejaVu Sans", sans-serif; font-size: 10pt; color: #222; }}
.cover h1 {{ font-size: 28pt; margin-top: 60mm; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ border: 1px solid #bbb; padding: 4px 6px; text-align: left; }}
th {{ background: #eef; }}
.table-scroll {{ overflow-x: auto; }}
{PRINT_CSS}
{page_margin_css(title=title, client=client, page_word="Page", of_word="sur")}
</style></head>
<body>
<section class="cover">
  <h1>{title}</h1>
  <p class="client">{client} · novembre 2026 🚀</p>
  <img alt="logo" src="data:image/png;base64,{RED_PIXEL_PNG}" style="width:40mm;height:40mm">
</section>
<h2>Synthèse</h2>
<p>Les réactions ont progressé de 12,5 % : l'été indien a porté les créations vidéo. Décision : continuer. 👍</p>
<figure class="keep-together">
  <svg xmlns="http://www.w3.org/2000/svg" width="1200" height="320" viewBox="0 0 1200 320">
    {bars}
    <text x="1150" y="315" font-size="18" text-anchor="end">bord-droit</text>
  </svg>
  <figcaption>Réactions par semaine</figcaption>
</figure>
<h2 class="page-break-before">Publications</h2>
<div class="table-scroll"><table>
<thead><tr><th>Publication</th><th>Format</th><th>Réactions</th><th>Taux</th></tr></thead>
<tbody>
{rows}
</tbody></table></div>
<section class="landscape">
<h2>Par compte</h2>
<table><thead><tr>{"".join(f"<th>Indicateur {i}</th>" for i in range(1, 10))}</tr></thead>
<tbody><tr>{"".join(f"<td>{i * 1234} abonnés</td>" for i in range(1, 9))}<td>dernière</td></tr></tbody></table>
</section>
<h2>Commentaire</h2>
<p>Fin du rapport, écrit à la main.</p>
</body></html>"""


def pdf_text(pdf: Path, page: int | None = None) -> str:
    """The text pdftotext reads from the PDF (or from one page of it), in reading order."""
    pages = ["-f", str(page), "-l", str(page)] if page else []
    return subprocess.run(["pdftotext", "-layout", *pages, str(pdf), "-"], check=True,
                          capture_output=True, text=True).stdout


def page_count(pdf: Path, tmp_path: Path) -> int:
    """How many PNG pages pdftoppm renders from the PDF (and checks each is a real picture)."""
    out = tmp_path / "pages"
    out.mkdir(exist_ok=True)
    subprocess.run(["pdftoppm", "-png", "-r", "30", str(pdf), str(out / "page")], check=True)
    pictures = sorted(out.glob("page-*.png"))
    for picture in pictures:
        assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return len(pictures)


@pytest.fixture(scope="module")
def printed(tmp_path_factory) -> Path:
    """The sample report printed once for the tests that read it."""
    pdf = tmp_path_factory.mktemp("pdf") / "rapport.pdf"
    write_pdf(sample_report(), pdf)
    return pdf


def test_the_report_prints_on_several_a4_pages_each_numbered_but_the_cover(printed, tmp_path) -> None:
    pages = page_count(printed, tmp_path)
    assert pages >= 4  # cover, summary, and sixty two-line rows on two pages or more
    info = subprocess.run(["pdfinfo", str(printed)], capture_output=True, text=True, check=True).stdout
    width, height = map(float, re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", info).groups())
    assert (round(width), round(height)) == (round(A4_WIDTH_PT), round(A4_HEIGHT_PT))
    cover = pdf_text(printed, 1)
    assert "Rapport mensuel" in cover and "Maison Lumière · novembre 2026" in cover
    assert "Page 1" not in cover and "sur" not in cover  # no header, no footer on the cover
    for page in range(2, pages + 1):
        text = pdf_text(printed, page)
        assert f"Page {page} sur {pages}" in text
        first_line = text.strip().splitlines()[0]
        assert "Rapport mensuel" in first_line and "Maison Lumière" in first_line


def test_accents_and_emoji_reach_the_pdf_as_text(printed) -> None:
    text = pdf_text(printed)
    assert "Synthèse" in text and "l'été indien a porté les créations" in text
    assert "🚀" in text and "👍" in text


def test_the_table_header_repeats_and_no_row_is_split_across_pages(printed, tmp_path) -> None:
    pages = page_count(printed, tmp_path)
    where = {}
    table_pages = []
    for page in range(1, pages + 1):
        text = pdf_text(printed, page)
        if "Publication n°" in text:
            table_pages.append(page)
            assert re.search(r"Publication\s+Format\s+Réactions\s+Taux", text), f"page {page} has no header row"
        for line_a in re.findall(r"Publication n° (\d+)", text):
            where.setdefault(("A", int(line_a)), page)
        for line_b in re.findall(r"ligne B (\d+)", text):
            where.setdefault(("B", int(line_b)), page)
    assert len(table_pages) >= 2  # the table does run over a page break
    assert table_pages[0] > 2  # and starts on a page of its own (page-break-before)
    for n in range(1, ROWS + 1):
        assert where[("A", n)] == where[("B", n)], f"row {n} split across pages"


def test_a_chart_wider_than_the_page_is_shrunk_to_fit(printed) -> None:
    bbox = subprocess.run(["pdftotext", "-bbox", "-f", "2", "-l", "2", str(printed), "-"],
                          capture_output=True, text=True, check=True).stdout
    label = re.search(r'<word xMin="([\d.]+)" yMin="[\d.]+" xMax="([\d.]+)" yMax="[\d.]+">bord-droit</word>', bbox)
    assert label, "the chart's last label is not on page 2"
    # drawn at 1150 of 1200 px (862 pt at 96 dpi, beyond the page) it must now sit inside the margins
    assert float(label.group(2)) <= RIGHT_MARGIN_EDGE_PT + 1


def page_sizes(pdf: Path) -> list[tuple[int, int]]:
    """Each page's width and height in points, rounded."""
    info = subprocess.run(["pdfinfo", "-f", "1", "-l", "999", str(pdf)], capture_output=True, text=True,
                          check=True).stdout
    return [(round(float(w)), round(float(h))) for w, h in re.findall(r"Page\s+\d+ size:\s+([\d.]+) x ([\d.]+)", info)]


def test_a_wide_table_marked_landscape_gets_landscape_pages_of_its_own(printed, tmp_path) -> None:
    sizes = page_sizes(printed)
    landscape = [page for page, size in enumerate(sizes, 1) if size == (842, 595)]
    assert len(landscape) == 1 and len(sizes) == page_count(printed, tmp_path)
    assert all(size == (595, 842) for page, size in enumerate(sizes, 1) if page not in landscape)
    page = landscape[0]
    text = pdf_text(printed, page)
    assert "Par compte" in text and text.count("Indicateur") == 9 and f"Page {page} sur {len(sizes)}" in text
    assert "Commentaire" not in text and "Publication n°" not in text  # alone on its page
    bbox = subprocess.run(["pdftotext", "-bbox", "-f", str(page), "-l", str(page), str(printed), "-"],
                          capture_output=True, text=True, check=True).stdout
    # nine columns of at least "Indicateur" (about 70 pt each) do not fit the 504 pt of a portrait
    # page's width; on a landscape page the last one sits inside the right margin
    last = re.search(r'xMax="([\d.]+)" yMax="[\d.]+">dernière</word>', bbox)
    assert last and float(last.group(1)) <= 842 - 16 / 25.4 * 72 + 1


def test_title_and_client_are_escaped_in_the_page_margins(tmp_path) -> None:
    hostile = '"; } body { display: none } </style><script>x</script> \\'
    css = page_margin_css(title=hostile, client="Ça & là", page_word="p.", of_word="/")
    assert not {"<", ">", "&"} & set(css + PRINT_CSS)  # safe as they are inside <style>
    assert "display: none" in css  # kept as text ...
    assert css.count('"') == 8  # ... inside its own strings: 2 quotes × 4 strings, none from the text
    pdf = tmp_path / "hostile.pdf"
    write_pdf(sample_report(title="Rapport", client="Ça & là").replace(
        page_margin_css(title="Rapport", client="Ça & là", page_word="Page", of_word="sur"), css), pdf)
    page_two = pdf_text(pdf, 2)
    assert "</style><script>x</script>" in page_two and "Ça & là" in page_two and "p. 2 /" in page_two


class CountingServer:
    """An HTTP server on 127.0.0.1 that counts the requests it gets (and serves a PNG to each)."""

    def __init__(self) -> None:
        self.hits: list[str] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.hits.append(self.path)
                body = base64.b64decode(RED_PIXEL_PNG)
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def image_count(pdf: Path) -> int:
    """How many images the PDF holds (pdfimages -list: two header lines, then one per image)."""
    listing = subprocess.run(["pdfimages", "-list", str(pdf)], capture_output=True, text=True, check=True).stdout
    return len(listing.strip().splitlines()) - 2


def test_the_pdf_reads_data_urls_and_fetches_nothing_else(tmp_path, caplog) -> None:
    server = CountingServer()
    try:
        # the server does answer: a fetch would succeed and draw a second image
        import urllib.request
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/probe.png") as response:
            assert response.status == 200
        assert server.hits == ["/probe.png"]
        server.hits.clear()
        (tmp_path / "local.png").write_bytes(base64.b64decode(RED_PIXEL_PNG))
        base = f"http://127.0.0.1:{server.port}"
        html = f"""<!doctype html><html><head><meta charset="utf-8">
<link rel="stylesheet" href="{base}/style.css">
<style>@import url("{base}/imported.css"); body {{ background: url({base}/bg.png); }}
@font-face {{ font-family: Remote; src: url({base}/font.woff2); }} p {{ font-family: Remote, sans-serif; }}</style>
</head><body><p>Données</p>
<img src="{base}/x.png" style="width:20mm"><img src="local.png" style="width:20mm">
<img src="file://{tmp_path}/local.png" style="width:20mm">
<img src="data:image/png;base64,{RED_PIXEL_PNG}" style="width:20mm">
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="50" height="50">
<image href="{base}/in-svg.png" width="50" height="50"/></svg>
</body></html>"""
        pdf = tmp_path / "report.pdf"
        with caplog.at_level("WARNING", logger="cmflow.reports.pdf"):
            write_pdf(html, pdf, base_url=str(tmp_path) + "/")
        assert server.hits == []
        assert image_count(pdf) == 1  # the data: image only; not the served one, not the local files
        assert "left out" in caplog.text and f"{base}/x.png" in caplog.text
    finally:
        server.close()


def test_a_new_pdf_replaces_the_old_one_whole_and_leaves_no_temporary_file(tmp_path) -> None:
    pdf = tmp_path / "out" / "report.pdf"
    write_pdf("<p>première version</p>", pdf)
    write_pdf("<p>deuxième version</p>", pdf)
    assert "deuxième version" in pdf_text(pdf)
    assert sorted(p.name for p in pdf.parent.iterdir()) == ["report.pdf"]


def test_a_pdf_that_cannot_be_written_says_which_file_and_what_to_do(tmp_path) -> None:
    blocker = tmp_path / "reports"
    blocker.write_text("a file where the folder should be")
    with pytest.raises(UserFacingError) as caught:
        write_pdf("<p>rapport</p>", blocker / "report.pdf")
    message = str(caught.value)
    assert message.startswith(f"cannot write the PDF report {blocker / 'report.pdf'}: ")
    assert "choose another path" in message and "Traceback" not in message
    assert blocker.read_text() == "a file where the folder should be"


def test_a_machine_without_pango_is_told_which_packages_to_install(tmp_path, monkeypatch) -> None:
    # WeasyPrint opens Pango when it is imported; without it, cffi raises OSError
    fake = tmp_path / "site" / "weasyprint"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text(
        "raise OSError(\"cannot load library 'libpango-1.0-0': libpango-1.0-0: cannot open shared object file\")")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    for name in [name for name in sys.modules if name == "weasyprint" or name.startswith("weasyprint.")]:
        monkeypatch.delitem(sys.modules, name)
    with pytest.raises(UserFacingError) as caught:
        write_pdf("<p>rapport</p>", tmp_path / "report.pdf")
    assert str(caught.value) == (
        f"cannot write the PDF report {tmp_path / 'report.pdf'}: WeasyPrint needs the Pango library from the "
        "system (cannot load library 'libpango-1.0-0': libpango-1.0-0: cannot open shared object file). "
        "On Debian or Ubuntu, install it with: sudo apt-get install libpango-1.0-0 libpangoft2-1.0-0 "
        "fonts-dejavu-core fonts-noto-color-emoji")
    assert not (tmp_path / "report.pdf").exists()


def words_in_top_margin(pdf: Path, page: int) -> list[str]:
    """The words pdftotext finds in the top margin of ``page`` (above the 22 mm of PRINT_CSS):
    the running header, if any."""
    bbox = subprocess.run(["pdftotext", "-bbox", "-f", str(page), "-l", str(page), str(pdf), "-"],
                          capture_output=True, text=True, check=True).stdout
    top_margin = 22 / 25.4 * 72
    return [word for y_max, word in re.findall(r'yMax="([\d.]+)">([^<]*)</word>', bbox) if float(y_max) < top_margin]


def test_a_report_without_cover_opens_with_its_title_not_the_running_header(tmp_path) -> None:
    # a one-pager's first page has the title in its masthead: the header would say it twice
    margins = page_margin_css(title="Synthèse direction", client="Maison Lumière", page_word="Page", of_word="sur")
    pdf = tmp_path / "one-pager.pdf"
    write_pdf(f"""<!doctype html><html lang="fr"><head><meta charset="utf-8"><style>{PRINT_CSS}{margins}</style></head>
<body><header class="masthead"><h1>Synthèse direction</h1><p>Maison Lumière</p></header><p>Décisions</p>
<p class="page-break-before">Suite</p></body></html>""", pdf)
    assert words_in_top_margin(pdf, 1) == []
    assert "Page 1 sur 2" in pdf_text(pdf, 1)  # the page number stays
    assert " ".join(words_in_top_margin(pdf, 2)) == "Synthèse direction Maison Lumière"
    assert "Page 2 sur 2" in pdf_text(pdf, 2)


def test_a_fixed_columns_table_takes_its_colgroups_widths_and_shares_the_rest(tmp_path) -> None:
    # the automatic layout would measure the cells and give the long text nearly all the width
    long_text = "un texte très long qui occuperait toute la largeur " * 6
    pdf = tmp_path / "columns.pdf"
    write_pdf(f"""<!doctype html><html lang="fr"><head><meta charset="utf-8"><style>{PRINT_CSS}
body {{ margin: 0; }} table {{ border-collapse: collapse; }} td {{ padding: 0; font-size: 8pt; }}
col.rank {{ width: 10%; }}</style></head>
<body><table class="fixed-columns"><colgroup><col class="rank"></colgroup>
<tr><td>1</td><td>{long_text}</td><td>22 nov. 2026</td></tr></table></body></html>""", pdf)
    bbox = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    x_min = {}  # where each word first appears
    for x, word in re.findall(r'<word xMin="([\d.]+)"[^>]*>([^<]*)</word>', bbox):
        x_min.setdefault(word, float(x))
    left, width = 16 / 25.4 * 72, A4_WIDTH_PT - 2 * 16 / 25.4 * 72
    assert x_min["un"] == pytest.approx(left + 0.10 * width, abs=1)  # the text column starts after 10 %
    assert x_min["22"] == pytest.approx(left + 0.55 * width, abs=1)  # the two others share the 90 % left


REPORT_CHART_CSS = ".chart svg { width: 100%; height: auto; max-width: 100%; } .chart { max-width: 560px; }"
"""How the report templates size a chart (templates/base.html.j2)."""


@pytest.mark.parametrize("layout", [
    "{svg}",  # as drawn, at the top of the page
    "<style>" + REPORT_CHART_CSS + "</style><p style='margin-top:90mm'>Meilleurs moments</p><div class='chart'>{svg}</div>",
    "<p style='margin-top:90mm'>Meilleurs moments</p><div style='width:110mm'>{svg}</div>",
])
def test_a_heat_maps_colour_bar_prints_under_its_labels(layout, tmp_path) -> None:
    """The heat map's legend is a gradient bar with its values under it; WeasyPrint placed such a
    gradient (Vega gives it in fractions of the bar) off the bar, which printed white under "0 %"."""
    from PIL import Image

    from cmflow.builtin.reports.charts import heatmap

    chart = heatmap([(0, 18, 5.0), (3, 11, 3.0), (5, 9, 8.0)], title="Taux d'engagement", unit="%",
                    weekday_names=["lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim."])
    pdf = tmp_path / "heat.pdf"
    write_pdf(f"<style>{PRINT_CSS}</style>" + layout.replace("{svg}", chart.svg("fr")), pdf)
    dpi = 60
    subprocess.run(["pdftoppm", "-r", str(dpi), "-png", "-singlefile", str(pdf), str(tmp_path / "page")], check=True)
    page = Image.open(tmp_path / "page.png").convert("RGB")
    bbox = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    first = re.search(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="[\d.]+" yMax="[\d.]+">0[^<\d]*%</word>', bbox)
    last = re.findall(r'<word xMin="[\d.]+" yMin="[\d.]+" xMax="([\d.]+)" yMax="[\d.]+">8[^<\d]*%</word>', bbox)
    assert first and last, "the legend's labels 0 % ... 8 % are not in the PDF"
    left, top, right = (float(value) * dpi / 72 for value in (first.group(1), first.group(2), last[-1]))
    # the bar: the few pixel rows just above the labels, from the first label to the last
    strip = [page.getpixel((x, y)) for x in range(int(left) + 2, int(right) - 2)
             for y in range(int(top) - 8, int(top) - 2)]
    coloured = [pixel for pixel in strip if pixel[2] - pixel[0] > 25]  # blue, as the scale runs
    assert len(coloured) > 0.8 * len(strip), f"{len(coloured)} of {len(strip)} pixels of the colour bar are coloured"
    assert max(p[0] for p in coloured) - min(p[0] for p in coloured) > 80  # light to dark: a gradient
