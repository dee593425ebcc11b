"""Thumbnails of top and flop posts: fetched through the network guard from a real loopback
server when the report is written, checked (type, first bytes, size, time), inlined as ``data:``
URIs; anything else leaves the post without an image and the report is still written."""

from __future__ import annotations

import base64
import csv
import html
import io
import ipaddress
import os
import re
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from PIL import Image

from cmflow.builtin.reports.thumbnails import ThumbnailFetcher, image_type
from cmflow.http.guard import NetworkPolicy
from cmflow.testing import run_workflow_file


def image_bytes(fmt: str, colour: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 3), colour).save(buffer, format=fmt)
    return buffer.getvalue()


PNG = image_bytes("PNG", "red")
JPEG = image_bytes("JPEG", "blue")
GIF = image_bytes("GIF", "green")
WEBP = image_bytes("WEBP", "white")
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
PAGE = b"<!doctype html><html><body><script>alert(2)</script></body></html>"
BIG = PNG + b"\0" * (1024 * 1024)  # a PNG's first bytes, then past the 1 MB cap


class ImageServer:
    """A real HTTP server on 127.0.0.1 serving ``routes`` (path -> (status, headers, body, delay))
    and counting the requests it received per path."""

    def __init__(self, routes: dict[str, tuple[int, dict[str, str], bytes, float]]):
        self.routes = routes
        self.requests: list[str] = []
        lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                with lock:
                    server.requests.append(self.path)
                status, headers, body, delay = server.routes.get(self.path, (404, {}, b"", 0.0))
                time.sleep(delay)
                try:
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (the timeout test)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def count(self, path: str) -> int:
        return self.requests.count(path)


def image(kind: str, body: bytes) -> tuple[int, dict[str, str], bytes, float]:
    return 200, {"Content-Type": kind}, body, 0.0


ROUTES = {
    "/a.png": image("image/png", PNG),
    "/b.jpg": image("image/jpeg; charset=binary", JPEG),
    "/c.gif": image("image/gif", GIF),
    "/d.webp": image("image/webp", WEBP),
    "/evil.svg": image("image/svg+xml", SVG),
    "/page.html": image("text/html", PAGE),
    "/lying.png": image("image/png", PAGE),  # says PNG, is HTML
    "/svg-as-png.png": image("image/png", SVG),
    "/jpeg-said-png.png": image("image/png", JPEG),  # the type and the bytes disagree
    "/big.png": image("image/png", BIG),
    "/slow.png": (200, {"Content-Type": "image/png"}, PNG, 2.5),
    "/gone.png": (404, {"Content-Type": "text/plain"}, b"not found", 0.0),
    "/to-metadata": (302, {"Location": "http://169.254.169.254/latest/meta-data/"}, b"", 0.0),
    "/to-private": (302, {"Location": "http://10.0.0.1/a.png"}, b"", 0.0),
    "/to-file": (302, {"Location": "file:///etc/passwd"}, b"", 0.0),
    "/to-a": (302, {"Location": "/a.png"}, b"", 0.0),
}


@pytest.fixture
def server():
    images = ImageServer(dict(ROUTES))
    yield images
    images.close()


@dataclass(frozen=True)
class OnlyPort(NetworkPolicy):
    """The test server's loopback port, and no other address: it stands in for a public CDN."""

    port: int = 0

    def refusal(self, address, port):
        if address == ipaddress.ip_address("127.0.0.1") and port == self.port:
            return None
        return "not the test server"


def data_uri(kind: str, body: bytes) -> str:
    return f"data:{kind};base64,{base64.b64encode(body).decode('ascii')}"


# -- the fetcher -----------------------------------------------------------------------------
def test_image_types_are_told_by_their_first_bytes():
    assert [image_type(b) for b in (PNG, JPEG, GIF, WEBP, SVG, PAGE, b"", b"RIFF\0\0\0\0WAVE")] == [
        "image/png", "image/jpeg", "image/gif", "image/webp", None, None, None, None]


def test_only_real_small_quick_images_are_inlined(server):
    fetcher = ThumbnailFetcher(network=OnlyPort(port=server.port), timeout=1.0)
    urls = {path: server.url + path for path in ROUTES}

    found = fetcher.data_uris(urls.values())

    # /slow.png is a real PNG that comes after 2.5 s: had the fetcher waited past its 1 s
    # timeout it would be inlined, so its absence shows it was given up (no wall-clock bound,
    # which a loaded machine broke).
    inlined = {path for path, url in urls.items() if found[url]}
    assert inlined == {"/a.png", "/b.jpg", "/c.gif", "/d.webp", "/to-a"}
    assert found[urls["/a.png"]] == data_uri("image/png", PNG)
    assert found[urls["/b.jpg"]] == data_uri("image/jpeg", JPEG)
    assert found[urls["/c.gif"]] == data_uri("image/gif", GIF)
    assert found[urls["/d.webp"]] == data_uri("image/webp", WEBP)
    assert found[urls["/to-a"]] == data_uri("image/png", PNG)  # a redirect to an allowed address
    # Each URL asked once (the redirect's target too).
    assert sorted(server.requests) == sorted([*ROUTES, "/a.png"])


def test_a_redirect_inside_the_network_is_refused_by_the_guard(server):
    refused = []

    class Recording(OnlyPort):
        def refusal(self, address, port):
            answer = super().refusal(address, port)
            if answer:
                refused.append(str(address))
            return answer

    fetcher = ThumbnailFetcher(network=Recording(port=server.port), timeout=1.0)
    found = fetcher.data_uris([server.url + "/to-metadata", server.url + "/to-private", server.url + "/to-file"])

    assert list(found.values()) == [None, None, None]
    assert server.requests == ["/to-metadata", "/to-private", "/to-file"]
    # Refused by the guard before connecting (not timed out): the policy was asked and said no.
    assert refused == ["169.254.169.254", "10.0.0.1"]


def test_redirects_are_followed_three_times_at_most(server):
    server.routes.update({"/loop": (302, {"Location": "/loop"}, b"", 0.0),
                          "/hop1": (302, {"Location": "/hop2"}, b"", 0.0),
                          "/hop2": (302, {"Location": "/hop3"}, b"", 0.0),
                          "/hop3": (302, {"Location": "/a.png"}, b"", 0.0)})
    fetcher = ThumbnailFetcher(network=OnlyPort(port=server.port), timeout=1.0)

    found = fetcher.data_uris([server.url + "/loop", server.url + "/hop1"])

    assert found == {server.url + "/loop": None, server.url + "/hop1": data_uri("image/png", PNG)}
    assert server.requests == ["/loop"] * 4 + ["/hop1", "/hop2", "/hop3", "/a.png"]


def test_the_guard_refuses_loopback_unless_private_networks_are_allowed(server):
    refused = ThumbnailFetcher(timeout=1.0).data_uris([server.url + "/a.png"])
    assert refused == {server.url + "/a.png": None}
    assert server.requests == []  # never connected

    allowed = ThumbnailFetcher(allow_private_network=True, timeout=1.0).data_uris([server.url + "/a.png"])
    assert allowed == {server.url + "/a.png": data_uri("image/png", PNG)}
    assert server.requests == ["/a.png"]


def test_urls_that_are_not_http_are_not_fetched(server):
    fetcher = ThumbnailFetcher(network=OnlyPort(port=server.port), timeout=1.0)

    found = fetcher.data_uris(["file:///etc/passwd", "javascript:alert(1)", "data:image/png;base64,AAAA",
                               "ftp://example.org/a.png", "not a url"])

    assert set(found.values()) == {None}
    assert server.requests == []


def test_past_the_reports_time_for_images_the_rest_are_left_out(server):
    fetcher = ThumbnailFetcher(network=OnlyPort(port=server.port), timeout=1.0, total_seconds=0.5)

    found = fetcher.data_uris([server.url + "/slow.png", server.url + "/a.png", server.url + "/b.jpg"])

    assert list(found.values()) == [None, None, None]
    assert server.requests == ["/slow.png"]


def test_a_report_fetches_ten_images_at_most_top_posts_first(server):
    from datetime import date, datetime, timezone

    from cmflow.builtin.reports.document import RankedPost, ReportDocument
    from cmflow.builtin.reports.scopes import ReportScope
    from cmflow.builtin.reports.thumbnails import with_thumbnails

    for number in range(12):
        server.routes[f"/{number}.png"] = image("image/png", PNG)

    def post(rank: int, path: str) -> RankedPost:
        return RankedPost(rank, "instagram", "lumiere", "Lumière", None, "image", f"post {path}", None, 1.0, "%",
                          thumbnail_url=f"  {server.url}/{path}  ")

    document = ReportDocument(
        title="t", scope=ReportScope(None, None, {}), period_start=date(2026, 11, 16), period_end=date(2026, 11, 22),
        comparisons={}, headline=[], objectives=[], platforms=[], breakdowns={},
        top_posts=[post(rank, f"{rank - 1}.png") for rank in range(1, 9)],
        flop_posts=[post(1, "11.png"), post(2, "0.png"), post(3, "8.png"), post(4, "9.png"), post(5, "10.png")],
        insights=[], posting_times=[], alerts=[], missing=[], generated_at=datetime.now(timezone.utc))

    shown = with_thumbnails(document, ThumbnailFetcher(network=OnlyPort(port=server.port), timeout=1.0))

    assert [p.thumbnail is not None for p in shown.top_posts] == [True] * 8
    # Distinct images in order: 0..7 (top), then 11, 8 (flop; 0 again is no new image): ten.
    assert [p.thumbnail is not None for p in shown.flop_posts] == [True, True, True, False, False]
    assert server.requests == [f"/{n}.png" for n in (0, 1, 2, 3, 4, 5, 6, 7, 11, 8)]
    assert shown.top_posts[0].thumbnail == data_uri("image/png", PNG)


def test_each_url_is_fetched_once_per_fetcher(server):
    fetcher = ThumbnailFetcher(network=OnlyPort(port=server.port), timeout=1.0)

    first = fetcher.data_uris([server.url + "/a.png", server.url + "/gone.png"])
    second = fetcher.data_uris([server.url + "/a.png", server.url + "/gone.png"])

    assert first == second == {server.url + "/a.png": data_uri("image/png", PNG), server.url + "/gone.png": None}
    assert server.requests == ["/a.png", "/gone.png"]


# -- a real run --------------------------------------------------------------------------------
WORKFLOW = """
[workflow]
name = "Thumbnails"
timezone = "Europe/Paris"
period = "last_week"
as_of = "2026-11-24"

[[sources]]
id = "posts"
plugin = "csv"
path = "posts.csv"
columns = {{ thumbnail_url = "Image" }}

[[metrics]]
plugin = "engagement_rate_by_reach"
by = ["overall"]

[[metrics]]
plugin = "top_posts"
rank_by = "engagement_rate_by_reach"
n = 4
by = ["overall"]

[[metrics]]
id = "bottom_posts"
plugin = "top_posts"
direction = "bottom"
rank_by = "engagement_rate_by_reach"
n = 3
by = ["overall"]

[[outputs]]
plugin = "report"
path = "reports/{{client}}.{{format}}"
formats = ["html", "pdf"]
{options}
"""
# ERR by reach = likes / 1000 x 100: 9, 8, 7, 6, 5, 4, 3 %. Top 4: p1..p4; flop 3: p7, p6, p5.
POSTS = [
    ("p1", "Red lamp <b>", 90, "/a.png"),
    ("p2", "Blue lamp", 80, "/b.jpg"),
    ("p3", "Scripted lamp", 70, "/evil.svg"),
    ("p4", "Page lamp", 60, "/page.html"),
    ("p5", "Big lamp", 50, "/big.png"),
    ("p6", "Plain lamp", 40, ""),
    ("p7", "Lamp again", 30, "/a.png"),  # the same image as p1: fetched once
]


CLIENT_WORKFLOW = """
[workflow]
name = "Thumbnails"
timezone = "Europe/Paris"
period = "last_week"
as_of = "2026-11-24"

[[clients]]
id = "lumiere"
name = "Maison Lumière"
language = "en"
recipients = ["marie@lumiere.example"]
accounts = ["lumiere"]

[[sources]]
id = "posts"
plugin = "csv"
path = "posts.csv"
columns = {{ thumbnail_url = "Image" }}

[[metrics]]
plugin = "engagement_rate_by_reach"
by = ["client"]

[[metrics]]
plugin = "top_posts"
rank_by = "engagement_rate_by_reach"
n = 4
by = ["client"]

[[metrics]]
id = "bottom_posts"
plugin = "top_posts"
direction = "bottom"
rank_by = "engagement_rate_by_reach"
n = 3
by = ["client"]

[[outputs]]
id = "client_report"
plugin = "report"
path = "reports/{{client}}.{{format}}"
formats = ["html", "pdf"]
{options}

[[outputs]]
plugin = "email"
transport = "file"
directory = "mail"
when = "always"
from_address = "Agence <reports@agency.example>"
clients = "each"
report_output = "client_report"
attach = ["html"]
"""


def run(folder: Path, server: ImageServer, options: str, workflow_text: str = WORKFLOW):
    with (folder / "posts.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["platform", "account", "post_id", "published_at", "format", "text", "url", "Image",
                         "likes", "reach"])
        for day, (post_id, text, likes, path) in enumerate(POSTS, start=16):
            writer.writerow(["instagram", "lumiere", post_id, f"2026-11-{day}T10:00:00Z", "image", text,
                             f"https://instagram.com/p/{post_id}", server.url + path if path else "", likes, 1000])
    workflow = folder / "thumbnails.toml"
    workflow.write_text(workflow_text.format(options=options), encoding="utf-8")
    before = os.getcwd()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CMFLOW_LOAD_PLUGINS", "")
        os.chdir(folder)
        try:
            result = run_workflow_file(workflow, store_url=f"sqlite:///{folder / 'store.db'}")
        finally:
            os.chdir(before)
    assert result.failed_stages == [], [stage.error for stage in result.failed_stages]
    return (folder / "reports" / ("all.html" if workflow_text is WORKFLOW else "lumiere.html")).read_text(
        encoding="utf-8")


def thumbnails(page: str) -> dict[str, str | None]:
    """Each post row's text (the link's) -> its thumbnail's src, or None."""
    shown = {}
    for cell in re.findall(r'<td class="post-text"[^>]*>(.*?)</td>', page, re.DOTALL):
        text = html.unescape(re.search(r"<a [^>]*>(.*?)</a>", cell, re.DOTALL).group(1))
        img = re.search(r'<img class="thumb" src="([^"]*)" alt="([^"]*)" width="56" height="56">', cell)
        if img:
            assert html.unescape(img.group(2)) == text  # alt text: the excerpt
        shown[text] = img.group(1) if img else None
    return shown


def test_a_report_inlines_the_ranked_posts_images_it_could_check(tmp_path, server):
    page = run(tmp_path, server, "allow_private_network = true  # the test server is on loopback")

    assert thumbnails(page) == {
        "Red lamp <b>": data_uri("image/png", PNG), "Blue lamp": data_uri("image/jpeg", JPEG),
        "Scripted lamp": None, "Page lamp": None,  # top 4
        "Lamp again": data_uri("image/png", PNG), "Plain lamp": None, "Big lamp": None,  # flop 3
    }
    # Ranked posts only, each image once for the HTML and the PDF together.
    assert sorted(server.requests) == ["/a.png", "/b.jpg", "/big.png", "/evil.svg", "/page.html"]
    assert server.url not in page and "127.0.0.1" not in page  # no URL of an image in the page
    assert 'alt="Red lamp &lt;b&gt;"' in page  # the excerpt, escaped
    assert pdf_images(tmp_path / "reports" / "all.pdf") == [("4", "3", "image"), ("4", "3", "jpeg"), ("4", "3", "image")]


def pdf_images(path: Path) -> list[tuple[str, str, str]]:
    """The images drawn in a PDF (width, height, encoding), by poppler's pdfimages, in page order."""
    import shutil
    import subprocess

    if shutil.which("pdfimages") is None:
        pytest.skip("needs poppler-utils (pdfimages): .ci/run installs it")
    listing = subprocess.run(["pdfimages", "-list", str(path)], capture_output=True, text=True, check=True).stdout
    return [(row.split()[3], row.split()[4], row.split()[8]) for row in listing.splitlines()[2:]]


def test_the_report_and_the_clients_email_share_the_runs_images(tmp_path, server):
    import email
    import email.policy

    page = run(tmp_path, server, "allow_private_network = true", CLIENT_WORKFLOW)

    [path] = (tmp_path / "mail").glob("*.eml")
    mail = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    [attached] = [part for part in mail.iter_attachments() if part.get_filename().endswith(".html")]
    assert thumbnails(attached.get_content()) == thumbnails(page) == {
        "Red lamp <b>": data_uri("image/png", PNG), "Blue lamp": data_uri("image/jpeg", JPEG),
        "Scripted lamp": None, "Page lamp": None,
        "Lamp again": data_uri("image/png", PNG), "Plain lamp": None, "Big lamp": None,
    }
    # The message's own body shows no posts, so no thumbnail either.
    assert "Red lamp" not in mail.get_body(("html",)).get_content()
    # The HTML, the PDF and the e-mail's attachment: each image fetched once in the run.
    assert sorted(server.requests) == ["/a.png", "/b.jpg", "/big.png", "/evil.svg", "/page.html"]


def test_without_private_networks_the_guard_refuses_the_loopback_server(tmp_path, server):
    page = run(tmp_path, server, "")

    assert set(thumbnails(page).values()) == {None}
    assert server.requests == []


def test_thumbnails_off_makes_no_request(tmp_path, server):
    page = run(tmp_path, server, "allow_private_network = true\nthumbnails = false")

    assert set(thumbnails(page).values()) == {None} and len(thumbnails(page)) == 7
    assert server.requests == []


def test_the_management_one_pager_shows_no_posts_and_fetches_nothing(tmp_path, server):
    page = run(tmp_path, server, 'allow_private_network = true\naudience = "management"')

    assert thumbnails(page) == {} and "data:image/png" not in page
    assert server.requests == []


def test_the_page_with_thumbnails_makes_no_request(tmp_path, server):
    from browser import CHROMIUM, requests_made_by

    if CHROMIUM is None:
        pytest.skip("needs chromium: .ci/run installs it")
    run(tmp_path, server, "allow_private_network = true")
    server.requests.clear()

    assert requests_made_by(tmp_path / "reports" / "all.html") == []
    assert server.requests == []


def test_an_output_with_its_own_where_fetches_no_image_again(tmp_path, server):
    """A second report output keeping one account (its own view of the run) shows the same
    images, fetched once in the run: they are kept by URL, not by the view of the run."""
    page = run(tmp_path, server, """allow_private_network = true

[[outputs]]
id = "kept"
plugin = "report"
path = "kept/{client}.{format}"
formats = ["html"]
allow_private_network = true
where = { account = "lumiere" }""")

    kept = (tmp_path / "kept" / "all.html").read_text(encoding="utf-8")
    assert thumbnails(kept) == thumbnails(page) and thumbnails(kept)["Red lamp <b>"] == data_uri("image/png", PNG)
    assert sorted(server.requests) == ["/a.png", "/b.jpg", "/big.png", "/evil.svg", "/page.html"]
