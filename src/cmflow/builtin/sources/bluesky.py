"""The ``bluesky`` source: posts, follower counts and mentions of Bluesky accounts (AT Protocol).

Profiles (``app.bsky.actor.getProfile``, with the follower count) and author feeds
(``app.bsky.feed.getAuthorFeed``, newest first, paged with the body's ``cursor`` until the
window's start) are public: by default they are read anonymously from the public AppView. With
an app password the source logs in (``com.atproto.server.createSession``) and reads through the
account's PDS, which also serves the logged-in account's mentions
(``app.bsky.notification.listNotifications``) and the search of every public post
(``app.bsky.feed.searchPosts``, the ``search`` terms: listening). Waits, retries and errors are the HTTP kit's
(``cmflow.http``). Platform facts: docs/sources/bluesky.md.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from cmflow import PluginOptions, RecordTable, SearchesTerms, Source, WebUrl, WholeNumber, hookimpl
from cmflow.http import allow_private_network_option

from cmflow.builtin.sources.platform_common import current_count_day, distinct_handles, iso_language, parse_instant, shares

if TYPE_CHECKING:
    from cmflow import FetchContext
    from cmflow.http import PlatformError, PlatformSession

PUBLIC_APPVIEW = "https://public.api.bsky.app"
BLUESKY_PDS = "https://bsky.social"
RECORD_KIND_OF = {"posts": "post", "account_snapshots": "account_snapshot", "mentions": "mention", "search": "mention"}
ACTOR = re.compile(r"^(did:[a-z]+:[A-Za-z0-9._:%-]+|([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,})$")

Fetchable = Literal["posts", "account_snapshots", "mentions", "search"]


class BlueskyOptions(PluginOptions):
    accounts: list[str] = Field(
        min_length=1, description="The accounts to read, by handle (with or without the @) or DID.",
        examples=[["maisonlumiere.bsky.social", "did:plc:z72i7hdynmk6r22z27h6tvur"]])
    fetch: list[Fetchable] = Field(
        default_factory=lambda: ["posts", "account_snapshots"], min_length=1,
        description="What to read: posts (with their counters), account_snapshots (the current "
        "follower count), mentions (of the logged-in account: needs app_password) and search (the public "
        "posts holding the search terms, as mentions: needs app_password).",
        examples=[["posts", "account_snapshots", "mentions"], ["search"]])
    search: list[str] = Field(
        default_factory=list, description="What fetch = [\"search\"] looks for, one search per item "
        "(Bluesky's query syntax: words, \"a phrase\", #hashtag, from:handle, lang:fr). A post found by two "
        "searches is one mention. Empty in a workflow with [listen]: the [listen] brands' names and terms, "
        "a term of several words searched as a phrase.",
        examples=[["\"Maison Lumière\"", "#MaisonLumiere", "Atelier Nuit"]])
    app_password: SecretStr | None = Field(
        None, description="An app password (Settings > Privacy and security > App passwords) to log "
        "in with: requests then go through pds_url and count against the account's rate limit "
        "rather than the address's. Needed for mentions. Write app_password = "
        "\"${env:BLUESKY_APP_PASSWORD}\".", examples=["${env:BLUESKY_APP_PASSWORD}"])
    login: str | None = Field(
        None, description="Handle or DID to log in as with app_password. Default: the first account.",
        examples=["maisonlumiere.bsky.social"])
    include_replies: bool = Field(
        False, description="Also count the accounts' replies as posts. Reposts are never counted.",
        examples=[True])
    count_quotes_as_shares: bool = Field(
        False, description="Add quote posts (quoteCount) to shares, which otherwise count reposts "
        "(repostCount) only.", examples=[True])
    page_size: WholeNumber = Field(100, ge=1, le=100, description="Feed items asked for per request (1 to 100).",
                                   examples=[50])
    base_url: WebUrl = Field(
        PUBLIC_APPVIEW, description="The AppView read anonymously (without app_password).",
        examples=[PUBLIC_APPVIEW])
    pds_url: WebUrl = Field(
        BLUESKY_PDS, description="The PDS (personal data server) hosting the login account, used for "
        "everything once logged in with app_password.", examples=[BLUESKY_PDS])
    allow_private_network: bool = allow_private_network_option("an API base URL")

    @field_validator("accounts")
    @classmethod
    def _accounts(cls, accounts: list[str]) -> list[str]:
        return distinct_handles(accounts, ACTOR,
                                "{given!r} is neither a Bluesky handle (name.bsky.social) nor a DID")

    @field_validator("search")
    @classmethod
    def _search(cls, search: list[str]) -> list[str]:
        """Each query once, blanks collapsed: a query run twice finds the same posts twice."""
        return list(dict.fromkeys(query for query in (" ".join(q.split()) for q in search) if query))

    @model_validator(mode="after")
    def _mentions_need_a_login(self) -> "BlueskyOptions":
        if "mentions" in self.fetch and self.app_password is None:
            raise ValueError("mentions need a login: Bluesky gives an account's notifications only to that "
                             "account, and offers no anonymous search; set app_password (and login)")
        if "search" in self.fetch and self.app_password is None:
            raise ValueError("search needs a login: Bluesky's public AppView refuses anonymous searches (403 "
                             "since January 2025); set app_password (and login)")
        if self.search and "search" not in self.fetch:
            raise ValueError("search lists terms but fetch has no search: add \"search\" to fetch")
        return self


class BlueskySource(Source, SearchesTerms):
    """Reads the posts, follower counts and mentions of Bluesky accounts through the AT Protocol.

    Posts: ``likeCount`` -> likes, ``replyCount`` -> comments, ``repostCount`` -> shares,
    ``bookmarkCount`` -> saves; Bluesky reports no reach, impressions or views, which stay
    empty. The publication instant is the record's ``createdAt``; the format comes from the
    embed (video, image, carousel for several images, link for a link card or a link in the
    text), else text; an image post's first ``thumb`` is its thumbnail_url. Reposts and the
    pinned post's repeat are never posts. Mentions found by search carry the post's counters as
    a post does (likes, comments, shares); a notification gives none, and Bluesky no reach.

    Bluesky gives only the current follower count: it is dated the window's last day when the
    run happens in the 7 days after the window (periods end yesterday), today while the window
    is still open, and left out for older windows.
    """

    name = "bluesky"
    reads_platform = "bluesky"
    description = "Read posts, follower counts and mentions of Bluesky accounts (AT Protocol)."
    Options = BlueskyOptions
    record_kinds = ("post", "account_snapshot", "mention")
    incremental = True
    # searchPosts "may not be possible to paginate through all hits" (its lexicon): a search asked
    # again may give fewer of a week's posts than it gave before; older ones come from the store.
    shows_latest_only = frozenset({"mention"})
    per_account_option = "accounts"

    def produces(self) -> set[str]:
        return {RECORD_KIND_OF[what] for what in self.options.fetch}

    def needs_search_terms(self) -> bool:
        return "search" in self.options.fetch and not self.options.search

    def with_search_terms(self, terms) -> "BlueskySource":
        """One search per term; a term of several words is a phrase (``"Maison Lumière"``)."""
        queries = [f'"{term}"' if len(term.split()) > 1 and '"' not in term else term for term in terms]
        options = BlueskyOptions.model_validate(
            {**{name: getattr(self.options, name) for name in BlueskyOptions.model_fields}, "search": queries})
        return type(self)(options, entry_id=self.entry_id)

    def parts(self) -> list[Source]:
        """Split by account when reading anonymously; logged in (mentions, an app password),
        one part, so that the run logs in once (createSession allows 30 logins per 5 minutes)."""
        return [self] if self.options.app_password is not None else super().parts()

    def fetch(self, ctx: FetchContext) -> Iterable[RecordTable]:
        options: BlueskyOptions = self.options
        bluesky = self._session(ctx)
        wanted = set(options.fetch)
        profiles = [self._profile(bluesky, actor) for actor in options.accounts] if wanted - {"mentions", "search"} \
            else []
        if "posts" in wanted:
            rows = [row for profile in profiles for row in self._posts(bluesky, profile, ctx)]
            yield RecordTable.from_rows("post", rows)
        if "account_snapshots" in wanted:
            day = current_count_day(ctx, bluesky.client.clock(), "Bluesky")
            rows = [] if day is None else [
                {"platform": "bluesky", "account": profile["handle"], "date": day,
                 "followers": profile.get("followersCount")} for profile in profiles]
            yield RecordTable.from_rows("account_snapshot", rows)
        if wanted & {"mentions", "search"}:
            rows = list(self._mentions(bluesky, ctx)) if "mentions" in wanted else []
            if "search" in wanted:
                found = {row["mention_id"] for row in rows}
                for query in options.search:
                    for row in self._search(bluesky, query, ctx):
                        if row["mention_id"] not in found:  # found by an earlier search, or mentions
                            found.add(row["mention_id"])
                            rows.append(row)
            yield RecordTable.from_rows("mention", rows)

    def check_credentials(self, ctx: FetchContext) -> list[Any]:
        """With an app password: the login (createSession, as the run does) and
        ``com.atproto.server.getSession``; without: nothing to check but that the AppView
        answers. Then each account's profile, with the ``RateLimit-*`` headers."""
        from cmflow import CredentialCheck, RateBudget
        from cmflow.http import PlatformError, RequestRejected

        options: BlueskyOptions = self.options
        row = CredentialCheck.for_source(self, account=", ".join(options.accounts))
        budgets = []
        now = ctx.http.clock()
        try:
            bluesky = self._session(ctx)
            if options.app_password is not None:
                answer = bluesky.request("GET", "/xrpc/com.atproto.server.getSession")
                budgets.append(RateBudget.from_rate_headers(answer.headers, answer.now))
                session = answer.json if isinstance(answer.json, dict) else {}
                row.token_valid = True
                row.expiry(None, now, renew=bluesky.platform.renew_hint, note="each run")
                row.note(f"logged in as {session.get('handle') or options.login or options.accounts[0]}: cmflow logs "
                         "in at every run, and app passwords do not expire (until revoked)")
                if session.get("active") is False:
                    row.flag("fail", f"the account is not active ({session.get('status') or 'deactivated'}): "
                                     "reactivate it, or log in with another account")
            else:
                row.expiry(None, now, renew=bluesky.platform.renew_hint, note="—")
                row.note("no credentials: posts and follower counts are read anonymously from the public AppView")
            if set(options.fetch) - {"mentions", "search"}:
                handles = []
                for actor in options.accounts:
                    try:
                        answer = bluesky.request("GET", "/xrpc/app.bsky.actor.getProfile", params={"actor": actor})
                    except RequestRejected as exc:
                        if exc.status != 400 or "not found" not in exc.message.lower():
                            raise
                        row.flag("fail", f"Bluesky has no account {actor!r}: check the accounts option (a handle "
                                         "may have changed)")
                        handles.append(actor)
                        continue
                    budgets.append(RateBudget.from_rate_headers(answer.headers, answer.now))
                    handles.append(str((answer.json or {}).get("handle") or actor))
                row.account = ", ".join(handles)
        except PlatformError as exc:
            row.failed(exc, now)
        return [row.rate(*budgets)]

    # -- the requests ----------------------------------------------------------------------------
    def _session(self, ctx: FetchContext) -> "PlatformSession":
        """Anonymous on the public AppView, or logged in with the app password through the PDS."""
        from cmflow.http import AuthExpired, BadResponse
        from cmflow import mark_secret

        options: BlueskyOptions = self.options
        if options.app_password is None:
            return ctx.http.session("bluesky", allow_private_network=options.allow_private_network,
                                    base_url=options.base_url, source=self.entry_id)
        password = options.app_password.get_secret_value()
        mark_secret(password)  # also when the options were built in code rather than from ${env:...}
        pds = ctx.http.session("bluesky", allow_private_network=options.allow_private_network,
                               base_url=options.pds_url, source=self.entry_id)
        login = options.login or options.accounts[0]
        try:
            answer = pds.request("POST", "/xrpc/com.atproto.server.createSession",
                                 json={"identifier": login, "password": password})
        except AuthExpired as exc:
            said = exc.message.removeprefix("the access token was refused ")
            raise AuthExpired(f"the login of {login} was refused {said}", status=exc.status,
                              code=exc.code, platform="Bluesky", source=self.entry_id,
                              hint="Check login, or create a new app password in Bluesky's Settings > Privacy "
                              "and security > App passwords and update the environment variable the "
                              "workflow names") from None
        session = answer.json if isinstance(answer.json, dict) else {}
        for key in ("accessJwt", "refreshJwt"):
            if isinstance(session.get(key), str):
                mark_secret(session[key])
        if not isinstance(session.get("accessJwt"), str):
            # The body is not shown: it may hold tokens the redactor does not know.
            raise BadResponse(f"the login of {login} answered no accessJwt", platform="Bluesky",
                              source=self.entry_id, status=answer.status)
        return ctx.http.session("bluesky", allow_private_network=options.allow_private_network,
                                base_url=options.pds_url, token=session["accessJwt"],
                                source=self.entry_id, scopes=("transition:generic",))

    def _profile(self, bluesky: "PlatformSession", actor: str) -> dict[str, Any]:
        from cmflow.http import RequestRejected

        try:
            profile = bluesky.get_json("/xrpc/app.bsky.actor.getProfile", params={"actor": actor})
        except RequestRejected as exc:
            if exc.status != 400 or "not found" not in exc.message.lower():
                raise
            raise RequestRejected(f"Bluesky has no account {actor!r} (Profile not found)", status=400,
                                  code="InvalidRequest", platform="Bluesky", source=self.entry_id,
                                  hint="Check the accounts option (a handle may have changed)") from None
        if not isinstance(profile, dict) or not profile.get("did") or not profile.get("handle"):
            raise self._odd(f"app.bsky.actor.getProfile answered no did and handle for {actor!r}")
        return profile

    def _posts(self, bluesky: "PlatformSession", profile: dict[str, Any], ctx: FetchContext) -> Iterator[dict[str, Any]]:
        from cmflow.http import Cursor

        params = {"actor": profile["did"], "limit": self.options.page_size,
                  "filter": "posts_with_replies" if self.options.include_replies else "posts_no_replies"}
        path = "/xrpc/app.bsky.feed.getAuthorFeed"
        for page in bluesky.pages(path, paging=Cursor("cursor", "cursor"), params=params):
            items = self._items(page, "feed", path)
            oldest = None
            for item in items:
                post, reason = item.get("post"), item.get("reason")
                if not isinstance(post, dict) or not isinstance(post.get("uri"), str):
                    raise self._odd(f"{path} answered a feed item without a post uri")
                reason_type = str((reason or {}).get("$type", ""))
                if reason_type.endswith("#reasonPin"):
                    continue  # the pinned post, repeated on top of the feed
                if reason:  # a repost, placed in the feed by when it was reposted
                    oldest = self._instant(reason, "indexedAt", path)
                    continue
                published_at = self._instant(post.get("record") or {}, "createdAt", path)
                # The feed is ordered by the earlier of createdAt and indexedAt.
                oldest = min(published_at, self._instant(post, "indexedAt", path, default=published_at))
                if ctx.window_start <= published_at < ctx.window_end and \
                        (post.get("author") or {}).get("did") == profile["did"]:
                    yield self._post_row(post, profile["handle"], published_at)
            if oldest is not None and oldest < ctx.window_start:
                return

    def _mentions(self, bluesky: "PlatformSession", ctx: FetchContext) -> Iterator[dict[str, Any]]:
        from cmflow.http import Cursor

        path = "/xrpc/app.bsky.notification.listNotifications"
        params = {"reasons": "mention", "limit": self.options.page_size}
        for page in bluesky.pages(path, paging=Cursor("cursor", "cursor"), params=params):
            notifications = self._items(page, "notifications", path)
            for notification in notifications:
                record, author = notification.get("record") or {}, notification.get("author") or {}
                if notification.get("reason") != "mention":
                    continue
                if not isinstance(notification.get("uri"), str):
                    raise self._odd(f"{path} answered a mention without a uri")
                published_at = self._instant(record, "createdAt", path)
                if ctx.window_start <= published_at < ctx.window_end:
                    yield self._mention_row(notification["uri"], author, record, published_at)
            if notifications and self._instant(notifications[-1], "indexedAt", path) < ctx.window_start:
                return

    def _search(self, bluesky: "PlatformSession", query: str, ctx: FetchContext) -> Iterator[dict[str, Any]]:
        """The public posts ``query`` finds in the window (``since``/``until``), newest first,
        paged with the body's ``cursor`` until it is absent."""
        from cmflow.http import Cursor

        path = "/xrpc/app.bsky.feed.searchPosts"
        params = {"q": query, "sort": "latest", "limit": self.options.page_size,
                  "since": _instant_text(ctx.window_start), "until": _instant_text(ctx.window_end)}
        for page in bluesky.pages(path, paging=Cursor("cursor", "cursor"), params=params):
            for post in self._items(page, "posts", path):
                if not isinstance(post.get("uri"), str):
                    raise self._odd(f"{path} answered a post without a uri")
                record, author = post.get("record") or {}, post.get("author") or {}
                published_at = self._instant(record, "createdAt", path)
                if ctx.window_start <= published_at < ctx.window_end:
                    yield self._mention_row(post["uri"], author, record, published_at, post)

    def _mention_row(self, uri: str, author: dict[str, Any], record: dict[str, Any],
                     published_at: datetime, post: dict[str, Any] | None = None) -> dict[str, Any]:
        """A mention from a post's uri, author and record (a notification's or a search's); a
        search's post view also gives its counters (a notification has none: they stay empty)."""
        langs = record.get("langs") or [None]
        post = post or {}
        return {
            "platform": "bluesky", "mention_id": uri, "published_at": published_at,
            "author": author.get("handle"), "text": record.get("text"),
            "url": post_url(author.get("handle") or author.get("did"), uri),
            "likes": post.get("likeCount"), "comments": post.get("replyCount"),
            "shares": shares(post.get("repostCount"), post.get("quoteCount"),
                             count_quotes=self.options.count_quotes_as_shares) if post else None,
            "language": iso_language(langs[0]),
        }

    # -- mapping ---------------------------------------------------------------------------------
    def _post_row(self, post: dict[str, Any], handle: str, published_at: datetime) -> dict[str, Any]:
        shared = shares(post.get("repostCount"), post.get("quoteCount"),
                        count_quotes=self.options.count_quotes_as_shares)
        return {
            "platform": "bluesky", "account": handle, "post_id": post.get("uri"), "published_at": published_at,
            "format": post_format(post), "text": (post.get("record") or {}).get("text"),
            "url": post_url(handle, post.get("uri")), "thumbnail_url": post_thumbnail(post),
            "link": post_link(post),
            "likes": post.get("likeCount"), "comments": post.get("replyCount"), "shares": shared, "saves": post.get("bookmarkCount"),
        }

    def _instant(self, item: dict[str, Any], key: str, path: str, default: datetime | None = None) -> datetime:
        try:
            return parse_instant(item[key])
        except (KeyError, TypeError, ValueError):
            if default is not None:
                return default
            raise self._odd(f"{path} answered an item without a readable {key}") from None

    def _items(self, page: Any, key: str, path: str) -> list[dict[str, Any]]:
        items = page.get(key) if isinstance(page, dict) else None
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            raise self._odd(f"{path} answered no {key} list")
        return items

    def _odd(self, message: str) -> "PlatformError":
        from cmflow.http import BadResponse

        return BadResponse(message, platform="Bluesky", source=self.entry_id, status=200)


def _instant_text(instant: datetime) -> str:
    """An instant as searchPosts' since and until read it: ISO 8601 in UTC, ``Z``."""
    from datetime import timezone

    return instant.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def post_format(post: dict[str, Any]) -> str:
    """video, carousel (several images), image, link (a link card or a link in the text) or text."""
    embed = post.get("embed") or {}
    if str(embed.get("$type", "")).startswith("app.bsky.embed.recordWithMedia"):
        embed = embed.get("media") or {}  # a quote with media: the media decide
    kind = str(embed.get("$type", "")).split("#")[0]
    if kind == "app.bsky.embed.video":
        return "video"
    if kind == "app.bsky.embed.images":
        return "carousel" if len(embed.get("images") or []) > 1 else "image"
    if kind == "app.bsky.embed.external":
        return "link"
    facets = (post.get("record") or {}).get("facets") or []
    features = [f for facet in facets if isinstance(facet, dict) for f in facet.get("features") or []]
    if any(isinstance(f, dict) and f.get("$type") == "app.bsky.richtext.facet#link" for f in features):
        return "link"
    return "text"


def post_link(post: dict[str, Any]) -> str | None:
    """The address the post sends to: its link card's (``app.bsky.embed.external``, also as a
    quote's media), else the first link in its text (a ``#link`` facet); None without one."""
    embed = post.get("embed") or {}
    if str(embed.get("$type", "")).startswith("app.bsky.embed.recordWithMedia"):
        embed = embed.get("media") or {}
    if str(embed.get("$type", "")).split("#")[0] == "app.bsky.embed.external":
        uri = (embed.get("external") or {}).get("uri")
        if isinstance(uri, str) and uri:
            return uri
    facets = (post.get("record") or {}).get("facets") or []
    for facet in facets:
        for feature in (facet.get("features") or []) if isinstance(facet, dict) else []:
            if isinstance(feature, dict) and feature.get("$type") == "app.bsky.richtext.facet#link":
                uri = feature.get("uri")
                if isinstance(uri, str) and uri:
                    return uri
    return None


def post_thumbnail(post: dict[str, Any]) -> str | None:
    """The first image's ``thumb`` of an images embed (``app.bsky.embed.images#view``, also as a
    quote's media), or None: a video, a link card or a text post has none cmflow reads."""
    embed = post.get("embed") or {}
    if str(embed.get("$type", "")).startswith("app.bsky.embed.recordWithMedia"):
        embed = embed.get("media") or {}
    if str(embed.get("$type", "")).split("#")[0] != "app.bsky.embed.images":
        return None
    images = [image for image in embed.get("images") or [] if isinstance(image, dict)]
    thumb = images[0].get("thumb") if images else None
    return thumb if isinstance(thumb, str) and thumb.startswith("https://") else None


def post_url(handle: str | None, uri: Any) -> str | None:
    """``https://bsky.app/profile/<handle>/post/<rkey>`` from ``at://<did>/app.bsky.feed.post/<rkey>``."""
    if not isinstance(uri, str) or not handle:
        return None
    return f"https://bsky.app/profile/{handle}/post/{uri.rsplit('/', 1)[-1]}"


@hookimpl
def register_sources(register):
    register(BlueskySource)
