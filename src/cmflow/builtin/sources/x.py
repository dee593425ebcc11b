"""The ``x`` source: posts, follower counts and mentions of X accounts, from the X API v2.

One request resolves the usernames to ids and gives their follower counts
(``GET /2/users/by``); each account's posts come from ``GET /2/users/:id/tweets`` and its
mentions from ``GET /2/users/:id/mentions``, both limited to the run's window with
``start_time``/``end_time`` and paged with ``meta.next_token``. The ``search`` terms go to
``GET /2/tweets/search/recent``, which covers the last 7 days only: the search is a part of its
own that says so (:meth:`XSource.reaches_back`), so older days come from the store. Waits,
retries and errors are the HTTP kit's (``cmflow.http``). Platform facts: docs/sources/x.md.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from cmflow import PluginOptions, RecordTable, SearchesTerms, Source, WebUrl, WholeNumber, hookimpl
from cmflow.http import allow_private_network_option

from cmflow.builtin.sources.platform_common import current_count_day, distinct_handles, iso_language, parse_instant, shares

if TYPE_CHECKING:
    from cmflow import FetchContext
    from cmflow.http import PlatformError, PlatformSession

X_API = "https://api.x.com"
RECORD_KIND_OF = {"posts": "post", "account_snapshots": "account_snapshot", "mentions": "mention", "search": "mention"}
SCOPES = ("tweet.read", "users.read")
TWEET_FIELDS = "created_at,public_metrics,attachments,entities,lang,note_tweet"
USERNAME = re.compile(r"^[A-Za-z0-9_]{1,15}$")
USERS_PER_LOOKUP = 100
END_TIME_MARGIN = timedelta(seconds=10)
"""X refuses an ``end_time`` less than 10 seconds before the request."""
RECENT_SEARCH_REACH = timedelta(days=7)
"""``GET /2/tweets/search/recent`` covers the last 7 days; an older ``start_time`` is refused (400)."""
START_TIME_MARGIN = timedelta(minutes=5)
"""The search's ``start_time`` stays this much inside the 7 days before the run's start (what the
run planned its fetch by): the request goes out a little later."""
SEARCH_PAGE_MIN = 10
"""The recent search takes ``max_results`` from 10 to 100."""

Fetchable = Literal["posts", "account_snapshots", "mentions", "search"]


class XOptions(PluginOptions):
    key_omits_default = frozenset({"search"})  # added with the search: the accounts keep their cursors
    usernames: list[str] = Field(
        default_factory=list, description="The accounts to read, by username (handle), with or without "
        "the @. One request resolves them to X's ids. Needed unless fetch is only search.",
        examples=[["maisonlumiere", "@trailhead"]])
    token: SecretStr = Field(
        description="Bearer token: the app's Bearer token (public data), or an OAuth 2.0 user token "
        "with the tweet.read and users.read scopes. Write token = \"${env:X_BEARER_TOKEN}\".",
        examples=["${env:X_BEARER_TOKEN}"])
    fetch: list[Fetchable] = Field(
        default_factory=lambda: ["posts", "account_snapshots"], min_length=1,
        description="What to read: posts (with their public counters), account_snapshots (the "
        "current follower count), mentions (posts by others that mention the account) and search (the "
        "posts of the last 7 days holding the search terms, as mentions: X's recent search).",
        examples=[["posts", "account_snapshots", "mentions"], ["search"]])
    search: list[str] = Field(
        default_factory=list, description="What fetch = [\"search\"] looks for, one search per item "
        "(X's query syntax: words, \"a phrase\", #hashtag, @handle, lang:fr; reposts are left out). A post "
        "found by two searches is one mention. Empty in a workflow with [listen]: the [listen] brands' names "
        "and terms, a term of several words searched as a phrase. X's recent search covers 7 days: run the "
        "workflow at least weekly, the store keeps what each run found.",
        examples=[["\"Maison Lumière\"", "#MaisonLumiere"]])
    include_replies: bool = Field(
        False, description="Also count the accounts' replies as posts. Reposts are never counted.",
        examples=[True])
    count_quotes_as_shares: bool = Field(
        False, description="Add quote posts (quote_count) to shares, which otherwise count reposts "
        "(retweet_count) only.", examples=[True])
    page_size: WholeNumber = Field(
        100, ge=5, le=100, description="Posts asked for per request (max_results, 5 to 100).",
        examples=[50])
    base_url: WebUrl = Field(
        X_API, description="Where the X API lives. Change it only for a proxy or a test server.",
        examples=["https://api.x.com"])
    allow_private_network: bool = allow_private_network_option("an API base URL")

    @field_validator("usernames")
    @classmethod
    def _usernames(cls, usernames: list[str]) -> list[str]:
        return distinct_handles(usernames, USERNAME,
                                "{given!r} is not an X username (1 to 15 letters, digits or _)")

    @field_validator("search")
    @classmethod
    def _search(cls, search: list[str]) -> list[str]:
        """Each query once, blanks collapsed: a query run twice finds the same posts twice."""
        return list(dict.fromkeys(query for query in (" ".join(q.split()) for q in search) if query))

    @model_validator(mode="after")
    def _what_is_read(self) -> "XOptions":
        if not self.usernames and set(self.fetch) - {"search"}:
            raise ValueError("usernames is empty: list the accounts to read (only a search needs none)")
        if self.search and "search" not in self.fetch:
            raise ValueError("search lists terms but fetch has no search: add \"search\" to fetch")
        return self


class XSource(Source, SearchesTerms):
    """Reads the posts, follower counts and mentions of X accounts through the X API v2.

    Posts: ``like_count`` -> likes, ``reply_count`` -> comments, ``retweet_count`` -> shares,
    ``bookmark_count`` -> saves, ``impression_count`` -> impressions, the media's
    ``view_count`` -> video_views. X reports no reach: it stays empty, so use
    engagement_rate_by_impressions rather than by reach. The format comes from the attached
    media (video, image, carousel for several photos), else link or text. Mentions: the
    author's ``followers_count`` -> reach, the tweet's own ``public_metrics`` as a post's
    (likes, comments, shares).

    X gives only the current follower count: it is dated the window's last day when the run
    happens in the 7 days after the window (periods end yesterday), today while the window is
    still open, and left out for older windows.

    The search (``GET /2/tweets/search/recent``) gives mentions as ``mentions`` does; it covers
    the last 7 days, so it is fetched as a part of its own that reaches back 7 days.
    """

    name = "x"
    reads_platform = "x"
    description = "Read posts, follower counts and mentions of X accounts, and search recent posts (X API v2)."
    Options = XOptions
    record_kinds = ("post", "account_snapshot", "mention")
    incremental = True
    lags_behind = END_TIME_MARGIN
    shows_latest_only = frozenset({"mention"})  # the 800 latest mentions; the search's last 7 days
    per_account_option = "usernames"

    def produces(self) -> set[str]:
        return {RECORD_KIND_OF[what] for what in self.options.fetch}

    def needs_search_terms(self) -> bool:
        return "search" in self.options.fetch and not self.options.search

    def with_search_terms(self, terms) -> "XSource":
        """One search per term; a term of several words is a phrase (``"Maison Lumière"``)."""
        queries = [f'"{term}"' if len(term.split()) > 1 and '"' not in term else term for term in terms]
        options = XOptions.model_validate(
            {**{name: getattr(self.options, name) for name in XOptions.model_fields}, "search": queries})
        return type(self)(options, entry_id=self.entry_id)

    def reaches_back(self) -> timedelta | None:
        """7 days less the margin the search's ``start_time`` keeps, for the search alone (X's
        recent search: what it is asked); the accounts' timelines go further."""
        return RECENT_SEARCH_REACH - START_TIME_MARGIN if set(self.options.fetch) == {"search"} else None

    def parts(self) -> list[Source]:
        """Each account on its own, and the search as one more part: it reaches back 7 days, the
        accounts' posts and mentions do not, so each keeps its own cursor."""
        options: XOptions = self.options
        if "search" not in options.fetch or set(options.fetch) == {"search"}:
            return super().parts()
        accounts = type(self)(options.model_copy(update={"fetch": [f for f in options.fetch if f != "search"],
                                                         "search": []}), entry_id=self.entry_id)
        search = type(self)(options.model_copy(update={"fetch": ["search"], "usernames": []}), entry_id=self.entry_id)
        return [*accounts.parts(), search]

    def fetch(self, ctx: FetchContext) -> Iterable[RecordTable]:
        options: XOptions = self.options
        x = ctx.http.session("x", allow_private_network=options.allow_private_network,
                             base_url=options.base_url, token=options.token.get_secret_value(),
                             source=self.entry_id, scopes=SCOPES)
        wanted = set(options.fetch)
        if not ctx.latest_segment:  # the follower count is read with the latest part of the window only
            wanted.discard("account_snapshots")
        users = self._users(x) if wanted - {"search"} else []
        if "posts" in wanted:
            rows = [row for user in users for row in self._posts(x, user, ctx)]
            yield RecordTable.from_rows("post", rows)
        if "account_snapshots" in wanted:
            day = current_count_day(ctx, x.client.clock(), "X")
            rows = [] if day is None else [
                {"platform": "x", "account": user["username"], "date": day,
                 "followers": (user.get("public_metrics") or {}).get("followers_count")} for user in users]
            yield RecordTable.from_rows("account_snapshot", rows)
        if wanted & {"mentions", "search"}:
            rows = [row for user in users for row in self._mentions(x, user, ctx)] if "mentions" in wanted else []
            found = {row["mention_id"] for row in rows}
            for query in options.search if "search" in wanted else []:
                for row in self._search(x, query, ctx):
                    if row["mention_id"] not in found:  # found by an earlier search, or a mention
                        found.add(row["mention_id"])
                        rows.append(row)
            yield RecordTable.from_rows("mention", rows)

    def check_credentials(self, ctx: FetchContext) -> list[Any]:
        """The run's first request (the accounts by username, ``GET /2/users/by``): it proves the
        token and the usernames, and its ``x-rate-limit-*`` headers give the budget left. X
        reports neither the scopes nor the expiry of a token."""
        from cmflow import CredentialCheck, RateBudget
        from cmflow.http import PlatformError

        options: XOptions = self.options
        if not options.usernames:  # a search alone: every request reads (and bills) posts
            return [CredentialCheck.for_source(
                self, status="ok", checked=False, expiry_note="—",
                message="not checked: a search alone has no account to look up, and each search request reads "
                        "(and X bills) posts; the run's first search proves the token")]
        x = ctx.http.session("x", allow_private_network=options.allow_private_network,
                             base_url=options.base_url, token=options.token.get_secret_value(),
                             source=self.entry_id, scopes=SCOPES)
        row = CredentialCheck.for_source(self, account=", ".join(f"@{name}" for name in options.usernames))
        row.expiry(None, x.client.clock(), renew=x.platform.renew_hint,
                   note="never (app Bearer token) or 2 h (user token)")
        budgets, found = [], set()
        try:
            for start in range(0, len(options.usernames), USERS_PER_LOOKUP):
                chunk = options.usernames[start:start + USERS_PER_LOOKUP]
                answer = x.request("GET", "/2/users/by", params={"usernames": ",".join(chunk)})
                budgets.append(RateBudget.from_rate_headers(answer.headers, answer.now))
                found |= {str(user.get("username", "")).lower()
                          for user in self._data(answer.json, "GET /2/users/by", partial_ok=True)}
            row.token_valid = True
            missing = [name for name in options.usernames if name.lower() not in found]
            if missing:
                row.flag("fail", f"X has no account named {', '.join(map(repr, missing))}: check the usernames "
                                 "option (an account may have been renamed or suspended)")
        except PlatformError as exc:
            row.failed(exc, x.client.clock())
        return [row.rate(*budgets)]

    # -- the requests ----------------------------------------------------------------------------
    def _users(self, x: "PlatformSession") -> list[dict[str, Any]]:
        """The accounts (id, username, public_metrics) in the order of the options."""
        found: dict[str, dict[str, Any]] = {}
        names = self.options.usernames
        for start in range(0, len(names), USERS_PER_LOOKUP):
            chunk = names[start:start + USERS_PER_LOOKUP]
            body = x.get_json("/2/users/by", params={"usernames": ",".join(chunk),
                                                    "user.fields": "public_metrics"})
            for user in self._data(body, "GET /2/users/by", partial_ok=True):
                found[str(user.get("username", "")).lower()] = user
        missing = [name for name in names if name.lower() not in found]
        if missing:
            raise self._refused(f"X has no account named {', '.join(map(repr, missing))}",
                                hint="Check the usernames option (an account may have been renamed or "
                                "suspended)", code="resource-not-found")
        return [found[name.lower()] for name in names]

    def _posts(self, x: "PlatformSession", user: dict[str, Any], ctx: FetchContext) -> Iterator[dict[str, Any]]:
        from cmflow.http import Cursor

        window = window_params(ctx, x.client.clock())
        if window is None:
            return
        params = {**window, "max_results": self.options.page_size, "tweet.fields": TWEET_FIELDS,
                  "expansions": "attachments.media_keys", "media.fields": "type,public_metrics",
                  "exclude": "retweets" if self.options.include_replies else "retweets,replies"}
        path = f"/2/users/{user['id']}/tweets"
        for page in x.pages(path, paging=Cursor("meta.next_token", "pagination_token"), params=params):
            tweets = self._data(page, f"GET {path}")
            media = {m.get("media_key"): m for m in included(page, "media")}
            for tweet in tweets:
                row = self._post_row(tweet, user["username"], media, path)
                if ctx.window_start <= row["published_at"] < ctx.window_end:
                    yield row

    def _mentions(self, x: "PlatformSession", user: dict[str, Any], ctx: FetchContext) -> Iterator[dict[str, Any]]:
        from cmflow.http import Cursor

        window = window_params(ctx, x.client.clock())
        if window is None:
            return
        params = {**window, "max_results": self.options.page_size,
                  "tweet.fields": "created_at,lang,author_id,note_tweet,public_metrics", "expansions": "author_id",
                  "user.fields": "username,public_metrics"}
        path = f"/2/users/{user['id']}/mentions"
        for page in x.pages(path, paging=Cursor("meta.next_token", "pagination_token"), params=params):
            yield from self._mention_rows(page, path, ctx)

    def _search(self, x: "PlatformSession", query: str, ctx: FetchContext) -> Iterator[dict[str, Any]]:
        """The posts of the window ``query`` finds (reposts left out), from X's recent search: its
        ``start_time`` never older than 7 days (X refuses one), paged with ``next_token``."""
        from cmflow.http import Cursor

        window = window_params(ctx, x.client.clock())
        if window is None:
            return
        started = ctx.as_of or datetime.fromtimestamp(x.client.clock(), timezone.utc)
        oldest = started - RECENT_SEARCH_REACH + START_TIME_MARGIN
        start = max(ctx.window_start, oldest)
        if start.strftime("%Y-%m-%dT%H:%M:%SZ") >= window["end_time"]:
            return
        params = {"query": f"{query} -is:retweet", **window, "start_time": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                  "max_results": max(SEARCH_PAGE_MIN, self.options.page_size),
                  "tweet.fields": "created_at,lang,author_id,note_tweet,public_metrics", "expansions": "author_id",
                  "user.fields": "username,public_metrics"}
        path = "/2/tweets/search/recent"
        for page in x.pages(path, paging=Cursor("meta.next_token", "next_token"), params=params):
            yield from self._mention_rows(page, path, ctx)

    def _mention_rows(self, page: Any, path: str, ctx: FetchContext) -> Iterator[dict[str, Any]]:
        """The mentions of one page of posts (a mentions timeline's or a search's) in the window:
        the author's ``followers_count`` -> reach, the post's counters as a post's."""
        tweets = self._data(page, f"GET {path}")
        authors = {u.get("id"): u for u in included(page, "users")}
        for tweet in tweets:
            author = authors.get(tweet.get("author_id")) or {}
            published_at = self._instant(tweet, path)
            if not ctx.window_start <= published_at < ctx.window_end:
                continue
            username = author.get("username")
            metrics = tweet.get("public_metrics") or {}
            yield {
                "platform": "x", "mention_id": str(tweet["id"]), "published_at": published_at,
                "author": username, "text": tweet_text(tweet), "url": status_url(username, tweet["id"]),
                "reach": (author.get("public_metrics") or {}).get("followers_count"),
                "likes": metrics.get("like_count"), "comments": metrics.get("reply_count"),
                "shares": shares(metrics.get("retweet_count"), metrics.get("quote_count"),
                                 count_quotes=self.options.count_quotes_as_shares),
                "language": iso_language(tweet.get("lang")),
            }

    # -- mapping ---------------------------------------------------------------------------------
    def _post_row(self, tweet: dict[str, Any], username: str, media: dict[Any, dict[str, Any]],
                  path: str) -> dict[str, Any]:
        metrics = tweet.get("public_metrics") or {}
        attached = [media.get(key) or {} for key in (tweet.get("attachments") or {}).get("media_keys", [])]
        shared = shares(metrics.get("retweet_count"), metrics.get("quote_count"),
                        count_quotes=self.options.count_quotes_as_shares)
        views = [m["public_metrics"]["view_count"] for m in attached
                 if isinstance((m.get("public_metrics") or {}).get("view_count"), int)]
        return {
            "platform": "x", "account": username, "post_id": str(tweet["id"]),
            "published_at": self._instant(tweet, path), "format": post_format(tweet, attached),
            "text": tweet_text(tweet), "url": status_url(username, tweet["id"]),
            "likes": metrics.get("like_count"), "comments": metrics.get("reply_count"), "shares": shared,
            "saves": metrics.get("bookmark_count"), "impressions": metrics.get("impression_count"),
            "video_views": sum(views) if views else None, "link": tweet_link(tweet),
        }

    def _instant(self, tweet: dict[str, Any], path: str) -> datetime:
        try:
            return parse_instant(tweet["created_at"])
        except (KeyError, TypeError, ValueError):
            raise self._odd(f"GET {path} answered a post without a readable created_at "
                            f"(id {tweet.get('id')!r})") from None

    def _data(self, body: Any, what: str, *, partial_ok: bool = False) -> list[dict[str, Any]]:
        """The ``data`` list of an answer; X's ``errors`` beside it are a clear error, since
        figures missing for some posts would pass for low ones."""
        if not isinstance(body, dict):
            raise self._odd(f"{what} answered JSON that is not an object")
        data, errors = body.get("data"), body.get("errors")
        if errors and not partial_ok:
            first = errors[0] if isinstance(errors[0], dict) else {}
            detail = "; ".join(str(e.get("detail") or e.get("title")) for e in errors[:3] if isinstance(e, dict))
            code = str(first.get("type", "")).rsplit("/", 1)[-1] or first.get("title")
            if data:
                raise self._odd(f"{what} answered only part of the data, with errors: {detail}", code=code)
            raise self._refused(f"{what} answered errors instead of data: {detail}", code=code)
        if data is None:
            return []  # X leaves data out when there is nothing (meta.result_count = 0)
        if not isinstance(data, list) or not all(isinstance(item, dict) and "id" in item for item in data):
            raise self._odd(f"{what} answered a data field that is not a list of objects with ids")
        return data

    def _odd(self, message: str, **details: Any) -> "PlatformError":
        from cmflow.http import BadResponse

        return BadResponse(message, platform="X", source=self.entry_id, status=200, **details)

    def _refused(self, message: str, **details: Any) -> "PlatformError":
        from cmflow.http import RequestRejected

        return RequestRejected(message, platform="X", source=self.entry_id, status=200, **details)


def included(page: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    """The expanded objects (``includes.media``, ``includes.users``) of a page."""
    items = (page.get("includes") or {}).get(kind) or []
    return [item for item in items if isinstance(item, dict)]


def window_params(ctx: FetchContext, now: float) -> dict[str, str] | None:
    """``start_time``/``end_time`` for the window (X takes both bounds inclusive, to the second,
    and an end at least 10 s in the past); ``None`` when the window has not started yet."""
    end = min(ctx.window_end - timedelta(seconds=1),
              datetime.fromtimestamp(now, timezone.utc) - END_TIME_MARGIN)
    if end <= ctx.window_start:
        return None
    return {"start_time": ctx.window_start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "end_time": end.strftime("%Y-%m-%dT%H:%M:%SZ")}


def post_format(tweet: dict[str, Any], media: list[dict[str, Any]]) -> str:
    """video, carousel (several photos), image, link (a link to another site) or text."""
    types = [m.get("type") for m in media]
    if any(t in ("video", "animated_gif") for t in types):
        return "video"
    photos = types.count("photo")
    if photos:
        return "carousel" if photos > 1 else "image"
    urls = (tweet.get("entities") or {}).get("urls") or []
    if any(isinstance(u, dict) and not is_x_url(u.get("expanded_url") or u.get("url") or "") for u in urls):
        return "link"
    return "text"


def tweet_link(tweet: dict[str, Any]) -> str | None:
    """The first address the tweet links to off X (``entities.urls``' expanded form, with its UTM
    tags); None when it links nowhere else (its own photos and videos are x.com addresses)."""
    for url in (tweet.get("entities") or {}).get("urls") or []:
        target = (url.get("unwound_url") or url.get("expanded_url") or url.get("url")) if isinstance(url, dict) else None
        if isinstance(target, str) and target and not is_x_url(target):
            return target
    return None


def is_x_url(url: str) -> bool:
    return re.match(r"^https?://(www\.|mobile\.)?(x|twitter)\.com/", url) is not None


def tweet_text(tweet: dict[str, Any]) -> str | None:
    """The whole text: long posts keep it in ``note_tweet``, ``text`` has the first 280 characters."""
    note = tweet.get("note_tweet")
    if isinstance(note, dict) and isinstance(note.get("text"), str):
        return note["text"]
    return tweet.get("text")


def status_url(username: str | None, tweet_id: Any) -> str:
    return f"https://x.com/{username}/status/{tweet_id}" if username else f"https://x.com/i/web/status/{tweet_id}"


@hookimpl
def register_sources(register):
    register(XSource)
