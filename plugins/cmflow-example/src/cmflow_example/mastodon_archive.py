"""The ``mastodon_archive`` source: posts from a Mastodon account export, read offline.

Mastodon's "Request your archive" gives a ``.tar.gz`` (or ``.zip``) holding ``outbox.json``,
an ActivityPub ``OrderedCollection`` of the account's activities. Each ``Create`` activity
whose object is a status becomes one canonical ``post`` record.
"""

from __future__ import annotations

import json
import tarfile
import zipfile
from datetime import datetime, timezone
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Iterable
from urllib.parse import urlparse

from pydantic import Field

from cmflow import FetchContext, PluginOptions, RecordTable, Source, hookimpl

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
OUTBOX = "outbox.json"


class MastodonArchiveError(ValueError):
    """The export cannot be read: missing file, no outbox.json, not ActivityPub JSON."""


class MastodonArchiveOptions(PluginOptions):
    path: str = Field(
        description="The export: its outbox.json, the folder it was unpacked to, or the "
        "archive itself (.tar.gz or .zip). Relative to the workflow file.",
        examples=["exports/archive-20261124.tar.gz"])
    account: str | None = Field(
        None, description="Account name given to the posts. Default: @user@server, taken from "
        "the activities' actor.", examples=["@maisonlumiere@mastodon.social"])
    include_replies: bool = Field(
        False, description="Also count replies (statuses answering another status) as posts. "
        "Boosts and direct messages are never counted.", examples=[True])


class MastodonArchive(Source):
    """Reads the posts of a Mastodon account from its export, without any network access.

    Text is the status's HTML with the markup removed; the format is video when a video or
    audio is attached, image when an image is, text otherwise. Likes, shares (boosts) and
    comments (replies) are taken from the objects' ``likes``, ``shares`` and ``replies``
    collection counts when the export has them; Mastodon's own export usually does not, and
    the counters are then empty rather than 0. Mastodon reports no reach or impressions.
    """

    name = "mastodon_archive"
    description = "Read the posts of a Mastodon account from its export (outbox.json), offline."
    Options = MastodonArchiveOptions
    record_kinds = ("post",)

    def fetch(self, ctx: FetchContext) -> Iterable[RecordTable]:
        options: MastodonArchiveOptions = self.options
        document = read_outbox(ctx.resolve_path(options.path))
        items = document.get("orderedItems")
        if not isinstance(items, list):
            raise MastodonArchiveError("outbox.json has no orderedItems list: not an ActivityPub outbox")
        rows, malformed = [], 0
        for activity in items:
            try:
                row = post_row(activity, options)
            except (KeyError, TypeError, ValueError):
                malformed += 1
                continue
            if row is not None and ctx.window_start <= row["published_at"] < ctx.window_end:
                rows.append(row)
        if malformed:
            ctx.warn(f"skipped {malformed} malformed activit{'y' if malformed == 1 else 'ies'} in outbox.json")
        yield RecordTable.from_rows("post", rows)


def read_outbox(path: Path) -> dict[str, Any]:
    """The parsed outbox.json of a file, an unpacked export folder, or a .tar.gz/.zip archive."""
    if path.is_dir():
        path = path / OUTBOX
    if not path.is_file():
        raise MastodonArchiveError(f"{path}: file not found")
    name = path.name.lower()
    if name.endswith((".tar.gz", ".tgz", ".tar")):
        with tarfile.open(path) as archive:
            member = next((m for m in archive.getmembers() if m.isfile() and Path(m.name).name == OUTBOX), None)
            if member is None:
                raise MastodonArchiveError(f"{path}: the archive holds no {OUTBOX}")
            raw = archive.extractfile(member).read()  # type: ignore[union-attr]
    elif name.endswith(".zip"):
        with zipfile.ZipFile(path) as archive:
            member_name = next((n for n in archive.namelist() if Path(n).name == OUTBOX), None)
            if member_name is None:
                raise MastodonArchiveError(f"{path}: the archive holds no {OUTBOX}")
            raw = archive.read(member_name)
    else:
        raw = path.read_bytes()
    try:
        document = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MastodonArchiveError(f"{path}: {OUTBOX} is not valid JSON ({exc})") from None
    if not isinstance(document, dict):
        raise MastodonArchiveError(f"{path}: {OUTBOX} is not an ActivityPub collection")
    return document


def post_row(activity: dict[str, Any], options: MastodonArchiveOptions) -> dict[str, Any] | None:
    """One canonical post from a ``Create`` activity, or None for what is not a post."""
    status = activity.get("object")
    # Boosts (Announce) point at someone else's status by URL; other activities are not posts.
    if activity.get("type") != "Create" or not isinstance(status, dict):
        return None
    if is_direct(activity, status):
        return None
    if status.get("inReplyTo") and not options.include_replies:
        return None
    status_id = str(status["id"])
    return {
        "platform": "mastodon",
        "account": options.account or account_from_actor(activity.get("actor") or status.get("attributedTo")),
        "post_id": status_id.rstrip("/").rsplit("/", 1)[-1],
        "published_at": parse_instant(status.get("published") or activity["published"]),
        "format": post_format(status.get("attachment") or []),
        "text": html_to_text(status.get("content") or ""),
        "url": status.get("url") or status_id,
        "likes": collection_count(status.get("likes")),
        "shares": collection_count(status.get("shares")),
        "comments": collection_count(status.get("replies")),
    }


def parse_instant(text: str) -> datetime:
    """An ISO 8601 instant; one without an offset is taken as UTC, as ActivityPub intends."""
    instant = datetime.fromisoformat(text)
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=timezone.utc)


def is_direct(activity: dict[str, Any], status: dict[str, Any]) -> bool:
    """A direct message: addressed neither to the public nor to the author's followers."""
    audience = [*_as_list(status.get("to", activity.get("to"))), *_as_list(status.get("cc", activity.get("cc")))]
    return not any(a == PUBLIC or str(a).endswith("/followers") for a in audience)


def account_from_actor(actor: Any) -> str:
    """``https://mastodon.social/users/alice`` -> ``@alice@mastodon.social``."""
    if not isinstance(actor, str) or not actor:
        raise ValueError("no actor to name the account after; set the account option")
    url = urlparse(actor)
    return f"@{url.path.rstrip('/').rsplit('/', 1)[-1]}@{url.netloc}" if url.netloc else actor


def post_format(attachments: list[Any]) -> str:
    """video when a video or audio is attached, image when an image is, text otherwise."""
    media = [str(a.get("mediaType", "")) for a in attachments if isinstance(a, dict)]
    if any(m.startswith(("video/", "audio/")) for m in media):
        return "video"
    if any(m.startswith("image/") for m in media):
        return "image"
    return "text"


def collection_count(collection: Any) -> int | None:
    """``totalItems`` of an ActivityPub collection (or a bare number); None when not reported."""
    if isinstance(collection, dict):
        collection = collection.get("totalItems")
    if isinstance(collection, bool) or not isinstance(collection, int):
        return None
    return collection


def html_to_text(html: str) -> str:
    """A status's HTML as plain text: paragraphs and line breaks kept, tags dropped, entities decoded."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    lines = "".join(parser.parts).split("\n")
    text = "\n".join(line.strip() for line in lines)
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text.strip()


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "p":
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


@hookimpl
def register_sources(register):
    register(MastodonArchive)
