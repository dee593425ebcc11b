"""tools/look_at_reports.py: the pictures a person looks at before calling a report done, one set
per report file (HTML at two widths, each PDF page, each e-mail's HTML part)."""

from __future__ import annotations

import base64
import importlib.util
import shutil
from email.message import EmailMessage
from pathlib import Path

import pytest
from PIL import Image

from browser import CHROMIUM
from test_report_pdf import RED_PIXEL_PNG

from cmflow.builtin.reports.pdf import write_pdf

pytestmark = pytest.mark.skipif(CHROMIUM is None or not shutil.which("pdftoppm"),
                                reason="needs chromium and poppler-utils: .ci/run installs them")

TOOL = Path(__file__).resolve().parent.parent / "tools" / "look_at_reports.py"
VIEWPORT = '<meta name="viewport" content="width=device-width, initial-scale=1">'


def load_tool():
    """The tool as a module (it is a script, not part of the package)."""
    spec = importlib.util.spec_from_file_location("look_at_reports", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_report_file_becomes_pictures_and_what_looks_wrong_is_said(tmp_path, capsys) -> None:
    reports = tmp_path / "reports"
    (reports / "mail").mkdir(parents=True)
    (reports / "fine.html").write_text(f"<!doctype html><html><head>{VIEWPORT}</head><body><p>Bien</p></body></html>")
    (reports / "wide.html").write_text(
        f"<!doctype html><html><head>{VIEWPORT}</head><body style='margin:0'>"
        "<div style='width:700px'>trop large</div><img src='http://example.invalid/x.png'></body></html>")
    write_pdf("<p>page une</p><p style='break-before: page'>page deux</p>", reports / "rapport.pdf")
    mail = EmailMessage()
    mail["Subject"], mail["From"], mail["To"] = "Rapport", "cm@example.com", "client@example.com"
    mail.set_content("Rapport de novembre")
    mail.add_alternative('<p>Rapport de novembre</p><img src="cid:chart@cmflow" width="50" height="50">',
                         subtype="html")
    mail.get_payload()[1].add_related(base64.b64decode(RED_PIXEL_PNG), "image", "png", cid="<chart@cmflow>")
    mail.add_attachment(b"%PDF-1.7", maintype="application", subtype="pdf", filename="Rapport novembre.pdf")
    (reports / "mail" / "m1.eml").write_bytes(mail.as_bytes())
    out = tmp_path / "look"

    assert load_tool().main([str(reports), str(out)]) == 0

    assert sorted(p.name for p in out.iterdir()) == [
        "fine.html-1280.png", "fine.html-390.png", "mail__m1.eml-1280.png", "mail__m1.eml-390.png",
        "rapport.pdf-page-1.png", "rapport.pdf-page-2.png", "wide.html-1280.png", "wide.html-390.png"]
    assert Image.open(out / "fine.html-390.png").width == 390
    assert Image.open(out / "wide.html-390.png").width == 700  # the picture shows the sideways scroll
    mail_picture = Image.open(out / "mail__m1.eml-1280.png").convert("RGB")
    assert (255, 0, 0) in {colour for _, colour in mail_picture.getcolors(1 << 16)}  # the cid: image shows
    printed = capsys.readouterr().out
    assert printed == (
        "fine.html\n"
        "mail__m1.eml\n  attached: Rapport novembre.pdf\n"
        "rapport.pdf\n  2 page(s)\n"
        "wide.html\n  700 px wide on a 390 px phone: it scrolls sideways\n"
        "  asks for 1 thing(s) from outside itself: GET http://example.invalid/x.png\n"
        f"4 file(s) looked at; pictures in {out}\n")


def test_a_folder_that_is_not_there_is_said_plainly(tmp_path, capsys) -> None:
    assert load_tool().main([str(tmp_path / "nowhere"), str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err == (
        f"look_at_reports: {tmp_path / 'nowhere'} is not a folder: give the folder the reports were written to\n")
