"""Thumbnails of a report's top and flop posts: fetched when the report is written, inlined as
``data:`` URIs.

A report is one self-contained page under a Content-Security-Policy that allows images from
the page itself only (``img-src data:``), and the PDF is printed from the same page without
fetching anything: a post's ``thumbnail_url`` is never referenced, its image is fetched here
and put in the page.

The URL comes from a platform's answer or an export, so it is untrusted. It is fetched through
cmflow's HTTP kit, whose network guard refuses loopback, private, link-local and cloud metadata
addresses (unless the ``report`` output allows private networks), on every redirect hop; http(s)
only, a short timeout, at most :data:`MAX_THUMBNAIL_BYTES`, and only a JPEG, PNG, WebP or GIF
image, by its content type and by its first bytes (an SVG can carry script, an HTML page is not
an image). Anything else means no thumbnail for that post: a debug log line, never an error.
"""

from __future__ import annotations

import base64
import dataclasses
import logging
import threading
import time
from typing import TYPE_CHECKING, Any, Iterable

if TYPE_CHECKING:
    from cmflow.builtin.reports.document import ReportDocument

log = logging.getLogger(__name__)

IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp", "image/gif")
"""The image types a thumbnail may be (never SVG: it can carry script)."""
MAX_THUMBNAIL_BYTES = 1024 * 1024
"""The largest image inlined (1 MB); a larger answer is cut off and left out."""
TIMEOUT_SECONDS = 5.0
"""Seconds to connect, to wait for each piece of the answer, and for the whole answer."""
MAX_REDIRECTS = 3
"""Redirects followed (each hop through the network guard)."""
MAX_THUMBNAILS = 10
"""Images fetched for one report at most (its ranked posts, top first)."""
TOTAL_SECONDS = 20.0
"""Seconds one report spends fetching its images at most: past them, the rest are left out."""


def image_type(content: bytes) -> str | None:
    """The image type ``content`` starts like (``image/png`` ...), one of :data:`IMAGE_TYPES`, or None."""
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if content.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if content.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp"
    return None


class ThumbnailFetcher:
    """Fetches thumbnails as ``data:`` URIs, each URL once (the answer, or its absence, is kept).

    ``allow_private_network`` is the ``report`` output's option; ``network`` replaces the guard's
    rule (a ``cmflow.http.guard.NetworkPolicy``: tests allow one loopback port with it).
    """

    def __init__(self, *, allow_private_network: bool = False, network: Any = None,
                 timeout: float = TIMEOUT_SECONDS, max_bytes: int = MAX_THUMBNAIL_BYTES,
                 total_seconds: float = TOTAL_SECONDS) -> None:
        self.allow_private_network = allow_private_network
        self.network = network
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.total_seconds = total_seconds
        self.fetched: dict[str, str | None] = {}
        """The ``data:`` URI of each URL asked for (None: no thumbnail)."""
        self._lock = threading.Lock()

    def data_uris(self, urls: Iterable[str]) -> dict[str, str | None]:
        """The ``data:`` URI of each of ``urls`` (None where there is none), fetching those not
        fetched yet."""
        urls = list(dict.fromkeys(urls))
        with self._lock:  # two outputs of a run asking at once still fetch each image once
            self._fetch_missing([url for url in urls if url not in self.fetched])
        return {url: self.fetched[url] for url in urls}

    def _fetch_missing(self, missing: list[str]) -> None:
        """Fetch ``missing`` with one client of the HTTP kit: its guarded transport checks every
        connection, redirects included; no retry; the whole batch within ``total_seconds``."""
        if not missing:
            return
        from cmflow.http import RetryPolicy, make_client

        with make_client(connect_timeout=self.timeout, read_timeout=self.timeout, total_timeout=self.timeout,
                         max_response_mb=self.max_bytes / 1024 / 1024, follow_redirects=True,
                         retry=RetryPolicy(max_attempts=1), allow_private_network=self.allow_private_network,
                         network=self.network) as http:
            http.httpx.max_redirects = MAX_REDIRECTS
            deadline = time.monotonic() + self.total_seconds
            for url in missing:
                if time.monotonic() > deadline:
                    log.debug("no thumbnail: the report's %g s for its images are spent", self.total_seconds)
                    self.fetched[url] = None
                    continue
                self.fetched[url] = self._fetch(http, url)

    def _fetch(self, http: Any, url: str) -> str | None:
        from cmflow.http import redact, url_problem

        problem = url_problem(url)
        if problem is not None:
            log.debug("no thumbnail: the thumbnail_url %s", problem)
            return None
        from urllib.parse import urlsplit

        url = url.strip()
        host = urlsplit(url).hostname
        try:
            origin = urlsplit(url)._replace(path="", query="", fragment="").geturl()
            session = http.session("thumbnail", base_url=origin, source="report thumbnails")
            answer = session.request("GET", url, headers={"Accept": ", ".join(IMAGE_TYPES)})
        except Exception as exc:  # noqa: BLE001 (any failure means no thumbnail, never a failed report)
            log.debug(redact(f"no thumbnail from {host}: {exc}"))
            return None
        declared = answer.headers.get("content-type", "").split(";")[0].strip().lower()
        found = image_type(answer.content)
        if declared not in IMAGE_TYPES or found != declared:
            log.debug(redact(f"no thumbnail from {host}: the answer is {declared or 'of no type'}, "
                             f"its bytes {found or 'no image cmflow inlines'}"))
            return None
        return f"data:{found};base64,{base64.b64encode(answer.content).decode('ascii')}"


def run_fetcher(result: Any, *, allow_private_network: bool = False) -> ThumbnailFetcher:
    """The fetcher of one run and policy, keeping each image by its URL: the run's reports and
    e-mails, an output with a ``where`` among them, fetch each image once."""
    return result.memo.get(("thumbnails", allow_private_network),
                           lambda: ThumbnailFetcher(allow_private_network=allow_private_network))


def with_thumbnails(document: "ReportDocument", fetcher: ThumbnailFetcher,
                    limit: int = MAX_THUMBNAILS) -> "ReportDocument":
    """``document`` with its ranked posts' thumbnails as ``data:`` URIs, for the first ``limit``
    images (top posts first); the others, and those that could not be fetched, have none."""
    posts = [*document.top_posts, *document.flop_posts]
    urls = list(dict.fromkeys(p.thumbnail_url.strip() for p in posts if p.thumbnail_url and p.thumbnail_url.strip()))
    images = fetcher.data_uris(urls[:limit])

    def shown(post: Any) -> Any:
        image = images.get(post.thumbnail_url.strip()) if post.thumbnail_url else None
        return dataclasses.replace(post, thumbnail=image)

    return dataclasses.replace(document, top_posts=[shown(p) for p in document.top_posts],
                               flop_posts=[shown(p) for p in document.flop_posts])
