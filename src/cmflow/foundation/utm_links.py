"""UTM-tagged links: building them the one consistent way, and reading the tags back.

Web analytics count ``Soldes-Hiver``, ``soldes-hiver`` and ``soldes hiver`` as three campaigns.
``cmflow utm`` therefore writes every tag value as a *slug* (:func:`utm_value`: lower case,
accents dropped, every run of other characters one ``-``), and the ``untagged_links`` metric
compares tags through the same function. Only :mod:`urllib.parse`: nothing here goes to the
network, so a short link (``bit.ly/...``) is never expanded.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

UTM_KEYS: tuple[str, ...] = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
"""The UTM parameters, in the order :func:`tagged` writes them."""
REQUIRED_UTM: tuple[str, ...] = ("utm_source", "utm_medium", "utm_campaign")
"""The tags a link needs for analytics to attribute its visits to a campaign."""

SHORTENERS: frozenset[str] = frozenset({
    "bit.ly", "bitly.com", "ow.ly", "buff.ly", "tinyurl.com", "goo.gl", "is.gd", "rebrand.ly",
    "t.ly", "cutt.ly", "shorturl.at", "tiny.cc", "lnkd.in", "t.co", "fb.me", "youtu.be", "pin.it",
    "dlvr.it", "ift.tt", "trib.al", "linktr.ee", "bl.ink", "s.id", "rb.gy",
})
"""Hosts of short links: their tags sit behind a redirect cmflow does not follow (no network),
so they cannot be checked."""

_NOT_SLUG = re.compile(r"[^a-z0-9]+")


class NotALink(ValueError):
    """A value that is no http(s) address."""


def utm_value(text: str) -> str:
    """``text`` as a UTM value: lower case, accents dropped, each run of other characters one
    ``-``, none at either end (``Soldes Hiver 2026!`` -> ``soldes-hiver-2026``); "" when
    nothing is left."""
    # Punctuation of any script (the typographic ’ of "d’hiver") separates, as ' does, before
    # accents are dropped with everything else that is not ASCII.
    spaced = "".join(c if c.isalnum() else " " for c in text)
    plain = unicodedata.normalize("NFKD", spaced).encode("ascii", "ignore").decode("ascii")
    return _NOT_SLUG.sub("-", plain.lower()).strip("-")


def http_address(url: str) -> str:
    """``url`` stripped, with ``https://`` added to a bare ``example.com/page``; raise
    :class:`NotALink` for anything that is no http(s) address."""
    text = url.strip()
    if re.match(r"(?i)^[a-z][a-z0-9+.-]*:(?!//|\d)", text):  # mailto:, tel:, javascript: (not host:port)
        raise NotALink(f"{url!r} is not a web address (write it like https://example.com/page)")
    if not re.match(r"(?i)^[a-z][a-z0-9+.-]*://", text):
        text = f"https://{text}"
    parts = urlsplit(text)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or "." not in parts.hostname:
        raise NotALink(f"{url!r} is not a web address (write it like https://example.com/page)")
    return text


def tagged(url: str, *, source: str, medium: str, campaign: str, content: str | None = None,
           term: str | None = None) -> str:
    """``url`` with UTM tags: the other query parameters kept in their order, any ``utm_*``
    already there replaced, the tags appended in :data:`UTM_KEYS` order, each value made a
    slug by :func:`utm_value`; the fragment (``#top``) stays last, a space in the path becomes
    ``%20``. Raise :class:`NotALink` for
    a value that is no address, ``ValueError`` for a tag with nothing left once slugged."""
    parts = urlsplit(http_address(url))
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k.lower() not in UTM_KEYS]
    tags = {"utm_source": source, "utm_medium": medium, "utm_campaign": campaign,
            "utm_term": term, "utm_content": content}
    added = []
    for key in UTM_KEYS:
        given = tags[key]
        if given is None:
            continue
        value = utm_value(given)
        if not value:
            raise ValueError(f"{key[4:]} {given!r} has no letter or digit to keep")
        added.append((key, value))
    path = quote(parts.path or "/", safe="/%:@!$&'()*+,;=-._~")  # a space written in the path: %20
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, urlencode(kept + added), parts.fragment))


def utm_tags(url: str) -> dict[str, str]:
    """The ``utm_*`` parameters of ``url`` as written (keys lower-cased; a blank one is
    kept as ""), the first of a repeated one."""
    tags: dict[str, str] = {}
    for key, value in parse_qsl(urlsplit(url).query, keep_blank_values=True):
        if key.lower() in UTM_KEYS:
            tags.setdefault(key.lower(), value.strip())
    return tags


def host_of(url: str) -> str:
    """The lower-case host of ``url`` without ``www.`` ("" when there is none)."""
    try:
        host = urlsplit(url if "://" in url else f"https://{url}").hostname or ""
    except ValueError:  # an invalid port or IPv6 literal
        return ""
    return host.removeprefix("www.")


def link_to_check(url: str) -> bool:
    """Whether the UTM tags of ``url`` can be checked: False for an address on a social platform
    (a permalink, a profile: no campaign traffic to attribute), for a short link (its tags sit
    behind a redirect that is not followed) and for anything without a host."""
    from cmflow.foundation.platform_names import platform_of

    host = host_of(url)
    return bool(host) and "." in host and host not in SHORTENERS and platform_of(host) is None

