"""The browser checks (tests/browser.py) themselves, on small pages: each check is shown to catch
what it is for (a request leaving the page, a page wider than a phone) and to pass a page that is
fine, so that a report passing them means something."""

from __future__ import annotations

import base64
import io
import time
from pathlib import Path

import pytest
from PIL import Image

from browser import CHROMIUM, BrowserError, _browser, page_width, requests_made_by, screenshot

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs chromium: .ci/run installs it")

HEAD = '<!doctype html><html><head><meta charset="utf-8">' \
       '<meta name="viewport" content="width=device-width, initial-scale=1">'
STRICT_CSP = ('<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
              'style-src \'unsafe-inline\'; img-src data:">')
DOT_PNG = base64.b64encode(bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108020000009077"
    "53de0000000c4944415408d763f8cfc0000003010100c9fe92ef0000000049454e44ae426082")).decode()


def page(tmp_path: Path, body: str, head: str = HEAD, style: str = "body { margin: 0 }") -> Path:
    """Write a small HTML page and return its path."""
    path = tmp_path / f"page-{time.monotonic_ns()}.html"
    path.write_text(f"{head}<style>{style}</style></head><body>{body}</body></html>", encoding="utf-8")
    return path


def test_an_image_from_elsewhere_is_caught(tmp_path) -> None:
    html = page(tmp_path, '<p>Rapport</p><img src="http://example.invalid/a.png" alt="">')
    assert requests_made_by(html) == ["GET http://example.invalid/a.png"]


def test_an_image_from_the_search_engine_chromium_itself_talks_to_is_caught(tmp_path) -> None:
    # Chromium's own requests to www.google.com are switched off (browser._DISABLED_FEATURES),
    # not filtered out: a page's request there is still recorded, once.
    html = page(tmp_path, '<p>Rapport</p><img src="https://www.google.com/x.png" alt="">')
    assert requests_made_by(html) == ["CONNECT www.google.com:443"]


def test_a_browser_context_without_a_page_asks_for_nothing() -> None:
    # What a context asks for before any page loads is Chromium's own (a service started for
    # each profile) and would be counted against every page: when this fails, find the service
    # in a net-log and switch it off in browser._DISABLED_FEATURES.
    browser = _browser()
    with browser.proxy.recording() as asked:
        with browser.page(1280, 900, watch_files=True):
            time.sleep(1.5)
    assert asked == []


def test_a_css_url_over_https_is_caught(tmp_path) -> None:
    html = page(tmp_path, "<div class=banner>Rapport</div>",
                style=".banner { height: 50px; background: url(https://cdn.example.invalid/b.png) }")
    assert requests_made_by(html) == ["CONNECT cdn.example.invalid:443"]


def test_a_lazy_image_far_down_the_page_is_caught(tmp_path) -> None:
    html = page(tmp_path, '<div style="height: 5000px">Rapport</div>'
                          '<img loading="lazy" src="http://example.invalid/late.png" alt="" width="10" height="10">')
    assert requests_made_by(html) == ["GET http://example.invalid/late.png"]


def test_a_file_next_to_the_page_is_caught(tmp_path) -> None:
    (tmp_path / "logo.png").write_bytes(base64.b64decode(DOT_PNG))
    html = page(tmp_path, '<img src="logo.png" alt="logo">')
    assert requests_made_by(html) == [f"GET {(tmp_path / 'logo.png').as_uri()}"]


def test_a_page_of_inline_data_only_is_clean(tmp_path) -> None:
    html = page(tmp_path, f'<h1>Réactions 🚀</h1><img src="data:image/png;base64,{DOT_PNG}" alt="">'
                          '<svg width="40" height="40"><rect width="40" height="40" fill="#2a6f97"/></svg>',
                style=f"body {{ margin: 0; background: url(data:image/png;base64,{DOT_PNG}) }}")
    assert requests_made_by(html) == []


def test_a_strict_content_security_policy_stops_the_request_before_it_leaves(tmp_path) -> None:
    html = page(tmp_path, '<img src="http://example.invalid/a.png" alt="">', head=HEAD + STRICT_CSP)
    assert requests_made_by(html) == []


def test_a_table_wider_than_a_phone_is_measured(tmp_path) -> None:
    wide = page(tmp_path, "<table><tr>" + "<td>Publication du 16 novembre</td>" * 4 + "</tr></table>",
                style="body { margin: 0 } table { border-collapse: collapse } "
                      "td { width: 200px; min-width: 200px; padding: 0; white-space: nowrap }")
    assert page_width(wide, 390) == 800  # four 200 px cells


def test_a_page_that_wraps_fits_a_phone_and_a_desktop(tmp_path) -> None:
    fitting = page(tmp_path, "<p>" + "Publication du 16 novembre, " * 40 + "</p>"
                   "<div style='overflow-x: auto'><table><tr>" + "<td>colonne</td>" * 30 + "</tr></table></div>",
                   head=HEAD + STRICT_CSP)
    assert page_width(fitting, 390) == 390  # the wide table scrolls inside its own box
    assert page_width(fitting, 1280) == 1280


def test_a_page_without_a_viewport_lays_out_as_a_phone_does_980_px_wide(tmp_path) -> None:
    html = page(tmp_path, "<p>texte</p>", head='<!doctype html><html><head><meta charset="utf-8">')
    assert page_width(html, 390) == 980


def test_a_screenshot_takes_the_whole_page_at_the_width_asked(tmp_path) -> None:
    html = page(tmp_path, '<div style="height: 1500px; background: #ff0000"></div>'
                          '<div style="height: 100px; background: #0000ff"></div>', head=HEAD + STRICT_CSP)
    out = screenshot(html, 390, tmp_path / "shots" / "phone.png")
    picture = Image.open(io.BytesIO(out.read_bytes())).convert("RGB")
    assert picture.size == (390, 1600)
    assert picture.getpixel((10, 10)) == (255, 0, 0) and picture.getpixel((380, 1590)) == (0, 0, 255)
    top = Image.open(screenshot(html, 1280, tmp_path / "top.png", height=300))
    assert top.size == (1280, 300)


def test_a_page_that_is_not_there_is_an_error_naming_it(tmp_path) -> None:
    with pytest.raises(BrowserError, match=f"^{tmp_path / 'missing.html'}: no such file$"):
        page_width(tmp_path / "missing.html", 390)
    assert page_width(page(tmp_path, "<p>ensuite</p>"), 390) == 390  # the browser serves on
