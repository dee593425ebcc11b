"""Headless Chromium for the tests that look at a report as its readers do: which requests the
page makes (a self-contained report makes none), how wide it lays out on a phone, and what it
looks like (tools/look_at_reports.py takes its screenshots here).

One browser serves the whole test session (starting Chromium costs seconds; a page costs tens
of milliseconds). It is driven through the DevTools protocol over a pipe (``--remote-debugging-pipe``:
no port, nothing to install). Every request it would send goes to a proxy on 127.0.0.1 that
answers 403, so a page can never reach the internet, only show that it tried: each page opens in
a browser context of its own (no cache or cookie shared between pages) whose proxy records what
the page asked for, while Chromium's own traffic (component updates, sign-in checks) goes to
another that records nothing, so that it is not counted against the page (the services that
would make requests from the page's context itself are switched off: ``_DISABLED_FEATURES``). Pages open in
a phone's or a desktop's viewport set by the protocol: a desktop window cannot be narrower than
500 px, a device metrics override can.

Needs the ``chromium`` command (Debian's ``chromium`` package; ``.ci/run`` installs it); the
tests that use it skip without it (``CHROMIUM is None``).
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import fcntl
import json
import os
import select
import shutil
import socketserver
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Iterator

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
"""The browser command, or None when none is installed."""

PAGE_TIMEOUT = 20.0
"""Seconds a page may take to load before the helpers give up with an error."""

SETTLE_SECONDS = 0.3
"""How long to keep listening after the load event for requests a page makes late (fonts,
lazy images, timers)."""

MAX_SCREENSHOT_HEIGHT = 16_000
"""Full-page screenshots stop at this height (px): Chromium cannot capture much taller."""


def requests_made_by(html_path: str | Path) -> list[str]:
    """Every request loading the page at ``html_path`` asked the network for, as the proxy saw
    each one (``GET http://host/path`` or ``CONNECT host:443``), in order, then the other local
    files it read (``GET file:///path``: they would be missing from a report sent by e-mail);
    empty for a page that is self-contained. Nothing reaches the network: the proxy answers
    every request 403."""
    browser = _browser()
    with browser.proxy.recording() as asked:
        with browser.page(1280, 900, watch_files=True) as page:
            page.load(html_path)
            page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")  # lazy images load
            time.sleep(SETTLE_SECONDS)
            local = page.files_read()
    return asked + [f"GET {url}" for url in local]


def page_width(html_path: str | Path, viewport_width: int) -> int:
    """The document's scroll width (px) when the page is laid out in a phone-like viewport
    ``viewport_width`` px wide: more than ``viewport_width`` means the reader scrolls sideways.
    The viewport is a mobile one, as on a phone: a page without a ``<meta name="viewport">``
    lays out 980 px wide."""
    with _browser().page(viewport_width, 844) as page:
        page.load(html_path)
        return int(page.evaluate("document.documentElement.scrollWidth"))


def boxes(html_path: str | Path, viewport_width: int, selector: str) -> list[tuple[int, int]]:
    """The (top, left) of every element matching ``selector``, in px from the page's top left,
    laid out ``viewport_width`` px wide as on a phone."""
    with _browser().page(viewport_width, 844) as page:
        page.load(html_path)
        return [tuple(box) for box in page.evaluate(
            "[...document.querySelectorAll(%s)].map(e => { const r = e.getBoundingClientRect();"
            " return [Math.round(r.top + window.scrollY), Math.round(r.left)]; })" % json.dumps(selector))]


def shown(html_path: str | Path, viewport_width: int, *selectors: str) -> tuple[list[list[bool]], int]:
    """For each selector, whether each element matching it is drawn (``checkVisibility``:
    false inside a closed ``<details>``), laid out ``viewport_width`` px wide; and the page's
    height in px."""
    with _browser().page(viewport_width, 844) as page:
        page.load(html_path)
        found = page.evaluate(
            "[%s.map(s => [...document.querySelectorAll(s)].map(e => e.checkVisibility())),"
            " document.documentElement.scrollHeight]" % json.dumps(list(selectors)))
        return found[0], found[1]


MIN_READABLE_PX = 12.0
"""The smallest size (CSS px) a chart's text may show at and still be read on a phone."""


def smallest_chart_text(html_path: str | Path, viewport_width: int) -> float | None:
    """The smallest size, in CSS px, a text of the page's inline SVG charts shows at when the
    page is laid out ``viewport_width`` px wide (its font size times the scale its SVG is
    shown at); None for a page without such a text."""
    with _browser().page(viewport_width, 844) as page:
        page.load(html_path)
        sizes = page.evaluate("""[...document.querySelectorAll('svg')].flatMap(svg => {
            const shown = svg.getBoundingClientRect().width, drawn = svg.viewBox.baseVal.width;
            if (!shown || !drawn) return [];
            return [...svg.querySelectorAll('text')].filter(text => text.textContent.trim())
                .map(text => parseFloat(getComputedStyle(text).fontSize) * shown / drawn); })""")
    return round(min(sizes), 1) if sizes else None


def split_across_lines(html_path: str | Path, viewport_width: int, selector: str) -> list[str]:
    """The first text of each element matching ``selector`` that the page, laid out
    ``viewport_width`` px wide, breaks over two lines or more (a change's arrow on one line and
    its figure on the next), as the element's whole text; empty when each keeps to one line."""
    with _browser().page(viewport_width, 900) as page:
        page.load(html_path)
        return page.evaluate("""[...document.querySelectorAll(%s)].filter(element => {
            const text = document.createTreeWalker(element, NodeFilter.SHOW_TEXT).nextNode();
            if (!text || !text.textContent.trim()) return false;
            const range = document.createRange();
            range.selectNodeContents(text);
            return new Set([...range.getClientRects()].map(rect => Math.round(rect.top))).size > 1;
        }).map(element => element.textContent.replace(/\\s+/g, ' ').trim())""" % json.dumps(selector))


def screenshot(html_path: str | Path, width: int, out_png: str | Path, height: int | None = None) -> Path:
    """Write a PNG of the page laid out ``width`` px wide to ``out_png`` and return its path.
    ``height`` is the picture's height in px; None takes the whole page (up to
    ``MAX_SCREENSHOT_HEIGHT``). Widths under 800 px are laid out as on a phone."""
    with _browser().page(width, height or 900) as page:
        page.load(html_path)
        full_width, full_height = page.evaluate(
            "[document.documentElement.scrollWidth,"
            " Math.max(document.documentElement.scrollHeight, document.body ? document.body.scrollHeight : 0)]")
        picture_height = min(height or full_height, MAX_SCREENSHOT_HEIGHT)
        png = page.screenshot(max(width, full_width), picture_height)
    out = Path(out_png)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(png)
    return out


_DISABLED_FEATURES = (
    "Translate", "OptimizationHints", "MediaRouter", "NetworkTimeServiceQuerying", "AutofillServerCommunication",
    "CertificateTransparencyComponentUpdater", "InterestFeedContentSuggestions",
    # Services Chromium starts for each profile, so for each page's browser context, whose
    # requests therefore go through that context's proxy, the one that records the page's
    # (Chromium 150: one to four `CONNECT www.google.com:443` per context, before any page
    # loads). A net-log (--log-net-log=FILE --net-log-capture-mode=Everything) names them:
    # - preconnects to the default search engine (https://www.google.com/, `is_preconnect`),
    #   made when a profile or tab starts: PreconnectToSearch;
    # - the omnibox's AI mode asking whether the profile may use it (GET
    #   https://www.google.com/async/folae?..., traffic annotation 109231476 "AIM
    #   eligibility"), sent when the profile starts: switching off either
    #   AimServerRequestOnStartupEnabled (that request) or AimEnabled (all of AI mode) was
    #   found to stop it; both are off, and AimServerRequestOnIdentityChangeEnabled (by its
    #   name, the same request when the signed-in account changes) too.
    # These switch the services off rather than filtering what the proxy records: the proxy
    # still writes down every request leaving a page's context, whatever its host
    # (test_browser_checks proves that a page's own https://www.google.com/ image is caught,
    # and that a context with no page asks for nothing, so a new service in a later Chromium
    # shows up there first). Names Chromium does not know are ignored.
    "PreconnectToSearch", "AimEnabled", "AimServerRequestOnStartupEnabled", "AimServerRequestOnIdentityChangeEnabled",
)
"""Chromium features turned off (``--disable-features``): each would make requests of its own."""


class BrowserError(RuntimeError):
    """Chromium could not do what a helper asked (it is missing, it died, a page did not load)."""


class _LoopbackServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


class RecordingProxy:
    """An HTTP proxy on 127.0.0.1 that writes down each request line it receives (CONNECT
    included) and answers 403 Forbidden to all of them: the browser's only way out."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._log: list[str] | None = None
        proxy = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                request_line = self.rfile.readline(65537).decode("latin-1").strip()
                if request_line:
                    method, _, rest = request_line.partition(" ")
                    target = rest.rsplit(" ", 1)[0] if " " in rest else rest
                    proxy._note(f"{method} {target}")
                self.wfile.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")

        self._server = _LoopbackServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="recording-proxy", daemon=True)
        self._thread.start()

    def _note(self, request: str) -> None:
        with self._lock:
            if self._log is not None:
                self._log.append(request)

    @contextlib.contextmanager
    def recording(self) -> Iterator[list[str]]:
        """A ``with`` block whose value is the list the requests received meanwhile go to."""
        with self._lock:
            self._log = log = []
        try:
            yield log
        finally:
            with self._lock:
                self._log = None

    def close(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()


class Browser:
    """One headless Chromium driven over ``--remote-debugging-pipe``, its traffic sent to a
    ``RecordingProxy``."""

    def __init__(self) -> None:
        if CHROMIUM is None:
            raise BrowserError("no chromium command: install Debian's `chromium` package (.ci/run does)")
        self.proxy = RecordingProxy()
        """Where the pages' requests go: each page's browser context is given this proxy."""
        self.background_proxy = RecordingProxy()
        """Where Chromium's own requests go (component updates, sign-in checks ...), refused
        and not recorded: they are not the page's."""
        self._profile = tempfile.mkdtemp(prefix="cmflow-chromium-")
        to_browser_read, self._to_browser = os.pipe()
        self._from_browser, from_browser_write = os.pipe()

        def wire_pipes() -> None:  # the protocol's pipe is the child's fds 3 (commands) and 4 (replies)
            commands, replies = (fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in (to_browser_read, from_browser_write))
            os.dup2(commands, 3)
            os.dup2(replies, 4)

        self._process = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe",
             f"--user-data-dir={self._profile}", "--hide-scrollbars", "--mute-audio", "--no-first-run",
             "--no-default-browser-check", "--enable-automation", "--disable-extensions", "--disable-sync",
             "--disable-default-apps", "--disable-background-networking", "--disable-component-update",
             "--disable-component-extensions-with-background-pages", "--disable-domain-reliability",
             "--disable-client-side-phishing-detection", "--disable-field-trial-config", "--disable-breakpad",
             "--metrics-recording-only", "--no-pings", "--password-store=basic", "--disable-dev-shm-usage",
             "--disable-features=" + ",".join(_DISABLED_FEATURES),
             f"--proxy-server=http://127.0.0.1:{self.background_proxy.port}", "--proxy-bypass-list=<-loopback>",
             "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            pass_fds=(3, 4), preexec_fn=wire_pipes)  # 3 and 4 as the child sees them
        os.close(to_browser_read)
        os.close(from_browser_write)
        self._buffer = b""
        self._events: list[dict] = []
        self._next_id = 0

    # -- the protocol ------------------------------------------------------------------------
    def send(self, method: str, params: dict | None = None, session: str | None = None,
             timeout: float = PAGE_TIMEOUT) -> dict:
        """Send one DevTools command and return its result; a protocol error raises BrowserError."""
        self._next_id += 1
        message: dict = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        try:
            os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        except BrokenPipeError:
            raise BrowserError("chromium has stopped") from None
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error'].get('message')}")
                return reply.get("result", {})
            if "method" in reply:
                self._events.append(reply)

    def wait_for(self, event: str, session: str, timeout: float = PAGE_TIMEOUT) -> dict:
        """Wait for the first ``event`` of ``session`` not yet seen, and return its parameters."""
        deadline = time.monotonic() + timeout
        while True:
            for index, seen in enumerate(self._events):
                if seen.get("method") == event and seen.get("sessionId") == session:
                    del self._events[index]
                    return seen.get("params", {})
            message = self._read(deadline)
            if "method" in message:
                self._events.append(message)

    def _read(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BrowserError("chromium did not answer in time")
            ready, _, _ = select.select([self._from_browser], [], [], left)
            if ready:
                chunk = os.read(self._from_browser, 1 << 20)
                if not chunk:
                    raise BrowserError("chromium has stopped")
                self._buffer += chunk
        message, _, self._buffer = self._buffer.partition(b"\0")
        return json.loads(message)

    def page(self, width: int, height: int, *, watch_files: bool = False) -> "Page":
        """A fresh tab in a browser context of its own, its viewport ``width`` × ``height`` px
        (a phone's below 800 px wide); use it in a ``with`` block. ``watch_files`` notes the
        requests it makes (for ``Page.files_read``)."""
        return Page(self, width, height, watch_files)

    def close(self) -> None:
        """Stop Chromium and the proxy, remove the profile folder."""
        try:
            self.send("Browser.close", timeout=5)
        except BrowserError:
            pass
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        os.close(self._to_browser)
        os.close(self._from_browser)
        self.proxy.close()
        self.background_proxy.close()
        shutil.rmtree(self._profile, ignore_errors=True)


class Page:
    """One tab (see ``Browser.page``)."""

    def __init__(self, browser: Browser, width: int, height: int, watch_files: bool = False) -> None:
        self.browser, self.width, self.height, self.watch_files = browser, width, height, watch_files
        self.url = ""

    def __enter__(self) -> "Page":
        send = self.browser.send
        self._context = send("Target.createBrowserContext", {
            "proxyServer": f"http://127.0.0.1:{self.browser.proxy.port}", "proxyBypassList": "<-loopback>",
        })["browserContextId"]
        target = send("Target.createTarget", {"url": "about:blank", "browserContextId": self._context})
        self.session = send("Target.attachToTarget", {"targetId": target["targetId"], "flatten": True})["sessionId"]
        send("Page.enable", session=self.session)
        if self.watch_files:
            send("Network.enable", session=self.session)
        send("Emulation.setDeviceMetricsOverride", {
            "width": self.width, "height": self.height, "deviceScaleFactor": 1, "mobile": self.width < 800,
        }, session=self.session)
        return self

    def __exit__(self, error_type, *exc) -> None:
        try:
            self.browser.send("Target.disposeBrowserContext", {"browserContextId": self._context})
        except BrowserError:
            if error_type is None:
                raise  # otherwise the error that ended the block is the one to see
        self.browser._events = [e for e in self.browser._events if e.get("sessionId") != self.session]

    def load(self, html_path: str | Path, settle: float = 0.0) -> None:
        """Open the file and wait for its load event (then ``settle`` seconds more)."""
        path = Path(html_path).resolve()
        if not path.is_file():
            raise BrowserError(f"{path}: no such file")
        self.url = path.as_uri()
        reply = self.browser.send("Page.navigate", {"url": self.url}, session=self.session)
        if reply.get("errorText"):
            raise BrowserError(f"{path}: {reply['errorText']}")
        self.browser.wait_for("Page.loadEventFired", self.session)
        if settle:
            time.sleep(settle)

    def files_read(self) -> list[str]:
        """The ``file:`` URLs the page asked for besides its own, in order (the page must have
        been opened with ``watch_files``)."""
        self.evaluate("0")  # takes in the events the browser has sent so far
        urls = [event["params"]["request"]["url"] for event in self.browser._events
                if event.get("sessionId") == self.session and event.get("method") == "Network.requestWillBeSent"]
        return [url for url in urls if url.startswith("file:") and url.split("#")[0] != self.url]

    def evaluate(self, expression: str):
        """The value of a JavaScript expression in the page (DevTools evaluates it whatever
        the page's Content-Security-Policy says)."""
        reply = self.browser.send("Runtime.evaluate", {"expression": expression, "returnByValue": True},
                                  session=self.session)
        if "exceptionDetails" in reply:
            raise BrowserError(f"{expression}: {reply['exceptionDetails'].get('text')}")
        return reply["result"].get("value")

    def screenshot(self, width: int, height: int) -> bytes:
        """A PNG of the page's top-left ``width`` × ``height`` px, beyond the viewport if need be."""
        reply = self.browser.send("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1},
        }, session=self.session, timeout=60)
        return base64.b64decode(reply["data"])


_shared: Browser | None = None


def _browser() -> Browser:
    """The session's browser, started on first use and stopped at exit."""
    global _shared
    if _shared is None or _shared._process.poll() is not None:
        _shared = Browser()
        atexit.register(_shared.close)
    return _shared
