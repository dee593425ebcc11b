"""The ``rss`` source: entries of RSS and Atom feeds as mentions, for monitoring (veille).

Each feed is fetched through the HTTP kit (``ctx.http``: timeouts, retries, a bounded answer
size, redacted errors) and parsed with feedparser, which reads RSS 0.9x/1.0/2.0 and Atom,
their twenty-odd date formats and the malformed feeds found in the wild. Entries published in
the run's window become ``mention`` records, optionally only those naming a keyword.
"""

from __future__ import annotations

import calendar
import hashlib
import io
import re
from datetime import datetime, timezone
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Annotated, Any, Iterable
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, field_validator

from cmflow import PluginOptions, RecordTable, Source, hookimpl
from cmflow.http import allow_private_network_option, refused_url_problem, url_problem

if TYPE_CHECKING:
    from cmflow import FetchContext
    from cmflow.http import Platform

ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.8, */*;q=0.5"
RENEW_HINT = ("The feed asks for credentials: if its URL carries a key or token, get a new one from the site "
              "and update the environment variable that holds the URL")


def fetchable_url(text: str) -> str:
    """A feed URL cmflow can fetch (http or https, with a host); the error never quotes it."""
    problem = url_problem(text)
    if problem:
        raise ValueError(problem)
    return text.strip()


class RssOptions(PluginOptions):
    feeds: list[Annotated[str, AfterValidator(fetchable_url)]] = Field(
        min_length=1, description="Feed URLs (RSS or Atom). A URL that carries a key or token is a "
        "secret: write it as \"${env:NAME}\".",
        examples=[["https://blog.example.com/feed.xml", "https://www.youtube.com/feeds/videos.xml?channel_id=UCx"]])
    keywords: list[str] = Field(  # lambda, not list: pydantic reads a builtin's signature with tokenize (~2 ms)
        default_factory=lambda: [], description="Keep only the entries whose title or summary contains one "
        "of these words (case does not matter). Empty: every entry.", examples=[["Maison Lumière", "#lumierelyon"]])
    platform: str = Field(
        "rss", pattern=r"^[a-z0-9_]+$", description="Platform the mentions are counted under, e.g. "
        "\"press\" for news feeds or \"youtube\" for a channel's feed.", examples=["press"])
    include_summary: bool = Field(
        True, description="Add the entry's summary to its title in the mention's text.", examples=[False])
    allow_private_network: bool = allow_private_network_option("a feed")

    @field_validator("feeds")
    @classmethod
    def _feeds(cls, feeds: list[str]) -> list[str]:
        return list(dict.fromkeys(feeds))


class RssSource(Source):
    """Reads RSS 2.0, RSS 1.0 and Atom feeds and turns their entries into mentions.

    ``guid`` / ``id`` -> mention_id (else the link), ``pubDate`` / ``published`` (else
    ``updated``) -> published_at in UTC, ``author`` / ``dc:creator`` -> author, ``link`` -> url
    (http and https links only), the title (and summary) with any HTML removed -> text, the
    entry's or the feed's language -> language. Feeds give no audience: reach stays empty. An
    entry without a date cannot be placed in a period and is left out, with a warning; an entry
    two feeds share is counted once. A feed that is malformed but readable gives its entries
    and a warning; one that is not a feed at all is an error.
    """

    name = "rss"
    reads_platform = "rss"
    description = "Read RSS and Atom feeds as mentions, for monitoring (veille)."
    Options = RssOptions
    record_kinds = ("mention",)
    incremental = True
    shows_latest_only = frozenset({"mention"})  # a feed holds its latest entries only
    per_account_option = "feeds"

    def check(self, workflow: Any) -> list[str | tuple[str, str]]:
        """Feeds on a literal non-public address or ``localhost`` are refused before anything runs."""
        options: RssOptions = self.options
        if options.allow_private_network:
            return []
        return [(f"feeds[{index}]", problem) for index, feed in enumerate(options.feeds)
                if (problem := refused_url_problem(feed))]

    def fetch(self, ctx: FetchContext) -> Iterable[RecordTable]:
        options: RssOptions = self.options
        keywords = [k.casefold() for k in options.keywords if k.strip()]
        rows: dict[str, dict[str, Any]] = {}
        for url in options.feeds:
            feed = self._parse(ctx, url)
            undated = 0
            for entry in feed.entries:
                published_at = entry_instant(entry)
                if published_at is None:
                    undated += 1
                    continue
                if not ctx.window_start <= published_at < ctx.window_end:
                    continue
                title, summary = html_to_text(entry.get("title") or ""), html_to_text(entry.get("summary") or "")
                if keywords and not any(k in f"{title}\n{summary}".casefold() for k in keywords):
                    continue
                text = [title, summary] if options.include_summary and summary not in ("", title) else [title]
                mention_id = entry_id(entry, url)
                rows.setdefault(mention_id, {
                    "platform": options.platform, "mention_id": mention_id, "published_at": published_at,
                    "author": (entry.get("author_detail") or {}).get("name") or entry.get("author") or None,
                    "text": "\n\n".join(t for t in text if t) or None, "url": web_link(entry.get("link")),
                    "language": iso_language(entry.get("language") or feed.feed.get("language")),
                })
            if undated:
                ctx.warn(f"{redacted(url)}: left out {undated} entr{'y' if undated == 1 else 'ies'} without a date")
        yield RecordTable.from_rows("mention", rows.values())

    def check_credentials(self, ctx: FetchContext) -> list[Any]:
        """One row per feed: it answers (a key in its URL still works) and parses as RSS or Atom."""
        from cmflow import CredentialCheck
        from cmflow.http import PlatformError

        rows = []
        for url in self.options.feeds:
            row = CredentialCheck.for_source(self, account=redacted(url), expiry_note="—")
            before = len(ctx.problems)
            try:
                feed = self._parse(ctx, url)
                row.note(f"answers and parses ({feed.get('version') or 'feed'}, {len(feed.entries)} entries)")
                for problem in ctx.problems[before:]:
                    row.flag("warning", problem)
            except PlatformError as exc:
                row.failed(exc, ctx.http.clock())
            rows.append(row)
        return rows

    def _parse(self, ctx: FetchContext, url: str) -> Any:
        """The feed at ``url``, fetched through the kit and parsed by feedparser."""
        import feedparser

        from cmflow.http import BadResponse

        parts = urlsplit(url)
        session = ctx.http.session(feed_platform(), base_url=f"{parts.scheme}://{parts.netloc}", source=self.entry_id,
                                   allow_private_network=self.options.allow_private_network)
        answer = session.request("GET", url, headers={"Accept": ACCEPT})
        # A stream, never the bytes or the URL: given a string, feedparser would fetch or open it itself.
        feed = feedparser.parse(io.BytesIO(answer.content), response_headers={
            "content-location": url, "content-type": answer.headers.get("content-type", "application/xml")})
        if not feed.get("version"):
            shown = f": {answer.excerpt()!r}" if answer.content else " (an empty body)"
            problem = f" ({feed.bozo_exception})" if feed.get("bozo") else ""
            raise BadResponse(f"{answer.request} is not an RSS or Atom feed{problem}{shown}",
                              hint="Check the feed URL: a web page is not its feed",
                              platform="RSS/Atom", source=self.entry_id, status=answer.status)
        if feed.get("bozo") and not isinstance(feed.bozo_exception, benign_problems()):
            ctx.warn(f"{redacted(url)}: the feed is malformed ({feed.bozo_exception}); "
                     f"read {len(feed.entries)} entries anyway")
        return feed


def benign_problems() -> tuple[type[Exception], ...]:
    """feedparser's complaints about a feed that is read correctly anyway (a wrong declared
    encoding, a feed served as text/html): not worth a warning at every run."""
    import feedparser

    return (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)


def feed_platform() -> "Platform":
    """Feeds are sites of their own: the shared HTTP rules, one budget for all, and what a 401
    or 403 means for a feed (there are no tokens or scopes to name)."""
    from cmflow.http import Platform

    return Platform("rss", "RSS/Atom", renew_hint=RENEW_HINT, classify=classify_feed_refusal)


def classify_feed_refusal(platform: "Platform", answer: Any) -> Any:
    """401 and 403 with the feed's URL and what a person can do about it; other answers
    follow the shared HTTP rules."""
    from cmflow.http import AuthExpired, PermissionMissing, RetryDecision

    if answer.status == 401:
        return RetryDecision("fail", AuthExpired(f"{answer.request} asks for credentials (HTTP 401)",
                                           hint=RENEW_HINT, **answer.details()))
    if answer.status == 403:
        return RetryDecision("fail", PermissionMissing(
            f"{answer.request} refused access (HTTP 403)", **answer.details(),
            hint="Check that the feed is public and that a key in its URL is still valid; "
            "some sites refuse clients they do not know"))
    return None


def entry_instant(entry: Any) -> datetime | None:
    """When the entry was published (else last updated), in UTC; None when it has no readable date."""
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    if parsed is None:
        return None
    return datetime.fromtimestamp(calendar.timegm(parsed), timezone.utc)  # feedparser's times are UTC


def entry_id(entry: Any, feed_url: str) -> str:
    """The guid/id when it is a URL or URN (unique on its own), else made unique with the feed's URL;
    without one, the link, else a hash of the title and date."""
    guid = entry.get("id")
    if guid:
        return guid if ":" in guid else f"{feed_url}#{guid}"
    if entry.get("link"):
        return entry["link"]
    digest = hashlib.sha256(f"{entry.get('title')}|{entry.get('published') or entry.get('updated')}".encode())
    return f"{feed_url}#{digest.hexdigest()[:16]}"


def web_link(link: Any) -> str | None:
    """Only http(s) links: a ``javascript:`` link from a feed must never reach a report."""
    return link if isinstance(link, str) and urlsplit(link).scheme in ("http", "https") else None


def iso_language(tag: Any) -> str | None:
    """``fr`` from ``fr``/``fr-FR``; None when unknown."""
    if not isinstance(tag, str):
        return None
    primary = tag.split("-")[0].strip().lower()
    return primary if len(primary) == 2 else None


def redacted(text: str) -> str:
    """A feed URL for a warning, its key or token masked."""
    from cmflow.http import redact

    return redact(text)


def html_to_text(html: str) -> str:
    """Plain text from a title or summary that may hold HTML: tags, scripts and styles dropped,
    entities decoded, paragraphs kept, other whitespace collapsed."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    paragraphs = re.split(r"\n\s*\n", "".join(parser.parts))
    return "\n\n".join(p for p in (re.sub(r"\s+", " ", p).strip() for p in paragraphs) if p)


class _TextExtractor(HTMLParser):
    BLOCKS = frozenset({"p", "div", "li", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6", "br"})
    HIDDEN = frozenset({"script", "style", "template"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.HIDDEN:
            self._hidden += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.HIDDEN and self._hidden:
            self._hidden -= 1
        elif tag in self.BLOCKS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


@hookimpl
def register_sources(register):
    register(RssSource)
