"""Pagination styles a source declares instead of writing a loop.

=====================  ==============================================================================
Platform               Declaration
=====================  ==============================================================================
Meta (IG, Facebook)    ``NextUrl("paging.next")``
Mastodon               ``LinkHeader()``
Bluesky                ``Cursor("cursor", "cursor")``
X                      ``Cursor("meta.next_token", "pagination_token")``
TikTok (POST body)     ``Cursor("data.cursor", "cursor", send_in="json", has_more="data.has_more")``
YouTube                ``PageToken()`` (``nextPageToken`` -> ``pageToken``)
LinkedIn               ``OffsetLimit("start", "count", page_size=50, items="elements")``
GA4 runReport (POST)   ``OffsetLimit("offset", "limit", page_size=10000, items="rows", total="rowCount",
                       send_in="json")``
=====================  ==============================================================================

:meth:`cmflow.http.PlatformSession.pages` runs the loop: one request per page, a page is yielded
before the next is asked for (so a source that has seen enough stops the fetching by leaving
the ``for``), and ``max_pages`` bounds the loop.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol
from urllib.parse import urljoin

from cmflow.http.platforms import ApiResponse


@dataclass(frozen=True)
class PageRequest:
    """One page's request: ``url`` is a path under the base URL or an absolute URL."""

    method: str
    url: str
    params: dict[str, Any] = field(default_factory=dict)
    json: Any = None


class Paging(Protocol):
    """A pagination style: how the first request changes, and how to ask for the next page."""

    def first(self, request: PageRequest) -> PageRequest: ...

    def next(self, request: PageRequest, response: ApiResponse, body: Any) -> PageRequest | None:
        """The next page's request, or ``None`` after the last page."""
        ...


def dig(body: Any, path: str) -> Any:
    """``body["paging"]["next"]`` for ``"paging.next"``; ``None`` when any step is missing."""
    for key in path.split("."):
        if not isinstance(body, dict):
            return None
        body = body.get(key)
    return body


def _with(request: PageRequest, send_in: str, values: dict[str, Any]) -> PageRequest:
    if send_in == "json":
        return replace(request, json={**(request.json or {}), **values})
    return replace(request, params={**request.params, **values})


@dataclass(frozen=True)
class NextUrl:
    """The body holds the next page's full URL (Meta ``paging.next``); absent on the last page."""

    field: str = "paging.next"

    def first(self, request: PageRequest) -> PageRequest:
        return request

    def next(self, request: PageRequest, response: ApiResponse, body: Any) -> PageRequest | None:
        url = dig(body, self.field)
        if not isinstance(url, str) or not url:
            return None
        return PageRequest(request.method, urljoin(response.url, url), {}, request.json)


_LINK = re.compile(r"<([^>]*)>\s*((?:;\s*[^;,]*)*)")


def parse_link_header(value: str) -> dict[str, str]:
    """``{rel: url}`` from an RFC 8288 ``Link`` header."""
    links = {}
    for match in _LINK.finditer(value):
        rel = re.search(r"""rel\s*=\s*"?([^";]+)"?""", match.group(2))
        if rel:
            for name in rel.group(1).split():
                links.setdefault(name.lower(), match.group(1))
    return links


@dataclass(frozen=True)
class LinkHeader:
    """The ``Link`` header's ``rel="next"`` URL (Mastodon); absent on the last page."""

    rel: str = "next"

    def first(self, request: PageRequest) -> PageRequest:
        return request

    def next(self, request: PageRequest, response: ApiResponse, body: Any) -> PageRequest | None:
        url = parse_link_header(response.headers.get("link", "")).get(self.rel)
        if not url:
            return None
        return PageRequest(request.method, urljoin(response.url, url), {}, request.json)


@dataclass(frozen=True)
class Cursor:
    """A cursor in the body (``field``) sent back as ``param`` in the query or the JSON body.

    The last page has no cursor, an empty one, or ``has_more`` false (TikTok)."""

    field: str = "cursor"
    param: str = "cursor"
    send_in: Literal["query", "json"] = "query"
    has_more: str | None = None

    def first(self, request: PageRequest) -> PageRequest:
        return request

    def next(self, request: PageRequest, response: ApiResponse, body: Any) -> PageRequest | None:
        cursor = dig(body, self.field)
        if cursor in (None, "") or (self.has_more and not dig(body, self.has_more)):
            return None
        return _with(request, self.send_in, {self.param: cursor})


@dataclass(frozen=True)
class PageToken(Cursor):
    """Google's page tokens: ``nextPageToken`` in the body, ``pageToken`` in the query."""

    field: str = "nextPageToken"
    param: str = "pageToken"


@dataclass(frozen=True)
class OffsetLimit:
    """Offset and page size parameters (LinkedIn ``start/count``, GA4 ``offset/limit``).

    With ``total`` (e.g. GA4 ``rowCount``) it stops once that many items came; with
    ``next_links`` (LinkedIn ``paging.links``) when no link has ``rel = "next"``; otherwise only
    on an empty page. Never at the first short page: a platform may cap the page size below
    ``page_size`` (LinkedIn caps ``count``), and the rest would be dropped without a word."""

    offset: str = "start"
    limit: str = "count"
    page_size: int = 50
    items: str = "elements"
    total: str | None = None
    next_links: str | None = None
    send_in: Literal["query", "json"] = "query"

    def first(self, request: PageRequest) -> PageRequest:
        given = (request.json or {}) if self.send_in == "json" else request.params
        return _with(request, self.send_in, {self.offset: int(given.get(self.offset, 0)),
                                             self.limit: self.page_size})

    def next(self, request: PageRequest, response: ApiResponse, body: Any) -> PageRequest | None:
        items = dig(body, self.items)
        count = len(items) if isinstance(items, list) else 0
        sent = (request.json or {}) if self.send_in == "json" else request.params
        offset = int(sent.get(self.offset, 0)) + count
        total = dig(body, self.total) if self.total else None
        if count == 0 or (total is not None and offset >= int(total)):
            return None
        if self.next_links is not None:
            links = dig(body, self.next_links)
            if not any(isinstance(link, dict) and link.get("rel") == "next" for link in links or []):
                return None
        return _with(request, self.send_in, {self.offset: offset})
