"""The post format a name stands for: ``Carrousel``, ``Réel``, ``Reels``, ``Visuel`` and ``Photo``
are ``carousel``, ``reel``, ``reel``, ``image`` and ``image``.

Editorial calendars write formats as people say them, in French or English, singular or
plural, with or without accents; posts carry one of :data:`FORMATS` (the canonical values of a
post's ``format``), so a planned item and its published post compare by this name. Read once
per distinct value: call :func:`format_of` on a column's unique values, not on each row.
"""

from __future__ import annotations

import unicodedata

FORMATS: tuple[str, ...] = ("image", "video", "reel", "carousel", "text", "link", "story")
"""The canonical formats (the same as :data:`cmflow.POST_FORMATS`)."""

_NAMES: dict[str, str] = {
    # image
    "image": "image", "images": "image", "photo": "image", "photos": "image", "visuel": "image",
    "visuels": "image", "visual": "image", "picture": "image", "post image": "image", "single image": "image",
    "illustration": "image", "infographie": "image", "infographic": "image", "ig image": "image",
    # video
    # YouTube Shorts and TikTok videos are posts of format video (as the youtube and tiktok sources read them)
    "video": "video", "videos": "video", "film": "video", "clip": "video", "live": "video",
    "short": "video", "shorts": "video", "video courte": "video", "short video": "video",
    # reel: Instagram and Facebook Reels
    "reel": "reel", "reels": "reel", "ig reel": "reel", "fb reel": "reel",
    # carousel
    "carousel": "carousel", "carrousel": "carousel", "carousels": "carousel", "carrousels": "carousel",
    "album": "carousel", "diaporama": "carousel", "ig carousel": "carousel", "document": "carousel",
    # text
    "text": "text", "texte": "text", "textes": "text", "post texte": "text", "text post": "text",
    "thread": "text", "tweet": "text",
    # link
    "link": "link", "links": "link", "lien": "link", "liens": "link", "article": "link",
    "partage de lien": "link", "link post": "link",
    # story
    "story": "story", "stories": "story", "storys": "story", "ig story": "story",
}


def format_of(value: str | None) -> str | None:
    """The canonical format ``value`` names (in French or English, any case, with or without
    accents), or None when it names none (``Newsletter``, ``Podcast``)."""
    if value is None:
        return None
    text = " ".join(_without_accents(value).casefold().replace("_", " ").split())
    return _NAMES.get(text)


def _without_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
