"""The platform a name, an abbreviation or a web address stands for: ``IG``, ``Insta``,
``instagram.com`` and ``l.instagram.com`` are all ``instagram``.

Editorial calendars name platforms as people write them, and ``utm_source`` values as whoever
tagged the link chose; both become the lower-case platform names posts carry, so that a planned
item meets its published post and a visit its platform. Read once per distinct value: call
:func:`platform_of` on a column's unique values, not on each row.
"""

from __future__ import annotations

import re

PLATFORMS: tuple[str, ...] = (
    "instagram", "facebook", "linkedin", "x", "tiktok", "youtube", "pinterest", "threads",
    "bluesky", "mastodon", "snapchat",
)
"""Platform names as posts carry them (lower case)."""

_NAMES: dict[str, str] = {
    "ig": "instagram", "insta": "instagram", "instagram": "instagram", "instagr.am": "instagram",
    "fb": "facebook", "facebook": "facebook", "meta": "facebook", "fb.me": "facebook",
    "li": "linkedin", "linkedin": "linkedin", "lnkd.in": "linkedin",
    "x": "x", "twitter": "x", "tw": "x", "t.co": "x", "x (twitter)": "x", "twitter/x": "x", "x/twitter": "x",
    "tiktok": "tiktok", "tik tok": "tiktok", "tt": "tiktok",
    "youtube": "youtube", "yt": "youtube", "youtu.be": "youtube", "youtube shorts": "youtube",
    "pinterest": "pinterest", "pin.it": "pinterest",
    "threads": "threads", "threads.net": "threads",
    "bluesky": "bluesky", "bsky": "bluesky", "bsky.app": "bluesky",
    "mastodon": "mastodon",
    "snapchat": "snapchat", "snap": "snapchat",
}
_DOMAINS: dict[str, str] = {
    "instagram.com": "instagram", "facebook.com": "facebook", "fb.com": "facebook", "linkedin.com": "linkedin",
    "twitter.com": "x", "x.com": "x", "tiktok.com": "tiktok", "youtube.com": "youtube",
    "pinterest.com": "pinterest", "threads.net": "threads", "bsky.app": "bluesky", "snapchat.com": "snapchat",
}
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://")


def platform_of(value: str | None) -> str | None:
    """The platform ``value`` names (a name, an abbreviation, a domain or an address on it), in
    lower case; None when it names none (``newsletter``, ``google``, ``(direct)``)."""
    if value is None:
        return None
    text = " ".join(value.strip().lower().split())
    if text in _NAMES:
        return _NAMES[text]
    host = _SCHEME.sub("", text).split("/", 1)[0].split(":", 1)[0]
    if host in _NAMES and "." in host:
        return _NAMES[host]
    labels = host.split(".")
    for start in range(len(labels) - 1):  # m.facebook.com, l.instagram.com, www.linkedin.com
        domain = ".".join(labels[start:])
        if domain in _DOMAINS:
            return _DOMAINS[domain]
    return None
