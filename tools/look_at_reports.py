"""Pictures of the reports as their readers see them, for a person to look at before calling a
report done (docs/reports.md, "Looking at the reports").

    python tools/look_at_reports.py reports/ /tmp/look

For every file under FOLDER (sub-folders included), writes PNG files into OUT:

- ``NAME.html``: ``NAME.html-1280.png`` and ``NAME.html-390.png``, the whole page on a desktop
  and on a phone (headless Chromium), and says on the terminal when the page is wider than the
  phone or asks for anything from outside itself;
- ``NAME.pdf``: ``NAME.pdf-page-1.png`` ... one per page (pdftoppm, 80 dpi);
- ``NAME.eml``: ``NAME.eml-1280.png`` and ``NAME.eml-390.png``, its HTML part with the images
  it carries (``cid:``) shown as a mail client shows them (fitted to the phone's width as a mail
  app does), and the list of its attachments.

A file under a sub-folder is named by its path, ``/`` written ``__``. Needs ``chromium`` and
``poppler-utils`` (``.ci/run`` installs both); uses the tests' browser helpers (tests/browser.py).
"""

from __future__ import annotations

import argparse
import base64
import email
import email.policy
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

import browser  # noqa: E402  (tests/browser.py: the same checks the tests make)

WIDTHS = (1280, 390)
PHONE_VIEWPORT = '<meta name="viewport" content="width=device-width, initial-scale=1">'
PDF_DPI = 80


def picture_name(folder: Path, path: Path) -> str:
    """The stem of a file's pictures: its path under ``folder``, ``/`` written ``__``."""
    return path.relative_to(folder).as_posix().replace("/", "__")


def look_at_html(html: Path, name: str, out: Path) -> list[str]:
    """Screenshots of a page at each width; what a reader would notice, as lines to print."""
    notes = []
    for width in WIDTHS:
        browser.screenshot(html, width, out / f"{name}-{width}.png")
    phone_width = browser.page_width(html, 390)
    if phone_width > 390:
        notes.append(f"{phone_width} px wide on a 390 px phone: it scrolls sideways")
    asked = browser.requests_made_by(html)
    if asked:
        notes.append(f"asks for {len(asked)} thing(s) from outside itself: {', '.join(asked[:3])}")
    return notes


def look_at_pdf(pdf: Path, name: str, out: Path) -> list[str]:
    """One PNG per page of a PDF."""
    subprocess.run(["pdftoppm", "-png", "-r", str(PDF_DPI), str(pdf), str(out / f"{name}-page")], check=True)
    pages = sum(1 for picture in out.iterdir() if picture.name.startswith(f"{name}-page-"))
    return [f"{pages} page(s)"]


def look_at_email(eml: Path, name: str, out: Path) -> list[str]:
    """Screenshots of an e-mail's HTML part, its ``cid:`` images inlined; its attachments listed."""
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    attachments = [part.get_filename() or part.get_content_type() for part in message.iter_attachments()]
    notes = [f"attached: {', '.join(attachments) if attachments else 'nothing'}"]
    body = message.get_body(preferencelist=("html",))
    if body is None:
        return [*notes, "no HTML part"]
    html = body.get_content()
    for part in message.walk():
        content_id = (part.get("Content-ID") or "").strip("<> ")
        if content_id and part.get_content_maintype() == "image":
            data = base64.b64encode(part.get_payload(decode=True)).decode()
            html = html.replace(f"cid:{content_id}", f"data:{part.get_content_type()};base64,{data}")
    if "name=\"viewport\"" not in html and "name=viewport" not in html:  # a mail app fits the mail to the phone
        head = re.search(r"<head[^>]*>", html, re.IGNORECASE)
        at = head.end() if head else 0
        html = html[:at] + PHONE_VIEWPORT + html[at:]
    with tempfile.TemporaryDirectory() as scratch:
        page = Path(scratch) / "mail.html"
        page.write_text(html, encoding="utf-8")
        notes += look_at_html(page, name, out)
    return notes


LOOKERS = {".html": look_at_html, ".htm": look_at_html, ".pdf": look_at_pdf, ".eml": look_at_email}


def main(argv: list[str] | None = None) -> int:
    """Write the pictures; print what was made and what looks wrong. Exit 2 on bad arguments or
    a missing tool."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, help="where the reports are (searched with its sub-folders)")
    parser.add_argument("out", type=Path, help="where to write the PNG files (created if need be)")
    arguments = parser.parse_args(argv)
    folder, out = arguments.folder, arguments.out
    if not folder.is_dir():
        print(f"look_at_reports: {folder} is not a folder: give the folder the reports were written to",
              file=sys.stderr)
        return 2
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in LOOKERS and p.is_file()
                   and out.resolve() not in p.resolve().parents)
    needs = {"chromium": browser.CHROMIUM, "pdftoppm (poppler-utils)": shutil.which("pdftoppm")}
    missing = [tool for tool, found in needs.items() if not found]
    if missing:
        print(f"look_at_reports: needs {' and '.join(missing)}: sudo apt-get install chromium poppler-utils",
              file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)
    for path in files:
        name = picture_name(folder, path)
        try:
            notes = LOOKERS[path.suffix.lower()](path, name, out)
        except (browser.BrowserError, subprocess.CalledProcessError, OSError, ValueError) as error:
            notes = [f"could not be looked at: {error}"]
        print(name)
        for note in notes:
            print(f"  {note}")
    print(f"{len(files)} file(s) looked at; pictures in {out}" if files else f"no .html, .pdf or .eml file under {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
