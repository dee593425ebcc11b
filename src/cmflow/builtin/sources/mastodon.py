"""The ``mastodon`` source: statuses, follower counts and mentions of Mastodon accounts.

Accounts are looked up on their home instance (``GET /api/v1/accounts/lookup``, which also
gives the follower count), their statuses read newest first from
``GET /api/v1/accounts/:id/statuses`` following the ``Link`` header until the window's start,
the mentions of the token's own account from ``GET /api/v1/notifications``, and the public
statuses of hashtags from ``GET /api/v1/timelines/tag/:hashtag`` (listening), as mentions. Waits,
retries and errors are the HTTP kit's (``cmflow.http``). Platform facts: docs/sources/mastodon.md.
"""

from __future__ import annotations

from datetime import datetime
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Literal
from urllib.parse import urlparse

from pydantic import Field, SecretStr, field_validator, model_validator

from cmflow import PluginOptions, RecordTable, SearchesTerms, Source, WebUrl, WholeNumber, hookimpl
from cmflow.http import allow_private_network_option

from cmflow.builtin.sources.platform_common import current_count_day, iso_language, parse_instant, shares

if TYPE_CHECKING:
    from cmflow import FetchContext
    from cmflow.http import PlatformError, PlatformSession

RECORD_KIND_OF = {"posts": "post", "account_snapshots": "account_snapshot", "mentions": "mention",
                  "hashtags": "mention"}
PUBLIC_VISIBILITY = ("public", "unlisted")

Fetchable = Literal["posts", "account_snapshots", "mentions", "hashtags"]


class MastodonOptions(PluginOptions):
    base_url: WebUrl = Field(
        description="The accounts' home instance: Mastodon has no central API, each server "
        "serves its own accounts.", examples=["https://mastodon.social"])
    accounts: list[str] = Field(
        min_length=1, description="The accounts to read, by username on that instance (with or "
        "without the @).", examples=[["maisonlumiere"]])
    token: SecretStr = Field(
        description="Access token of an application created in the instance's Preferences > "
        "Development, with the read:accounts and read:statuses scopes (and read:notifications for "
        "mentions), or simply read. "
        "Write token = \"${env:MASTODON_TOKEN}\".", examples=["${env:MASTODON_TOKEN}"])
    fetch: list[Fetchable] = Field(
        default_factory=lambda: ["posts", "account_snapshots"], min_length=1,
        description="What to read: posts (statuses with their counters), account_snapshots (the "
        "current follower count), mentions (public statuses mentioning the token's own "
        "account, from its notifications) and hashtags (the public statuses of the hashtags option, "
        "as mentions).", examples=[["posts", "account_snapshots", "mentions"], ["hashtags"]])
    hashtags: list[str] = Field(
        default_factory=list, description="What fetch = [\"hashtags\"] reads: the hashtags' timelines on "
        "the instance (the public statuses it knows of, its own and those its users follow), with or "
        "without the #. A status of two hashtags is one mention. Empty in a workflow with [listen]: the [listen] "
        "brands' names and terms written as hashtags (Maison Lumière: MaisonLumière; one timeline for hashtags "
        "differing in accents or case only; @handles left out).",
        examples=[["MaisonLumiere", "AtelierNuit"]])
    include_replies: bool = Field(
        False, description="Also count replies to other people as posts. Boosts are never counted; "
        "Mastodon keeps an account's replies to itself (threads) either way.", examples=[True])
    count_quotes_as_shares: bool = Field(
        False, description="Add quotes (quotes_count, Mastodon 4.5 and later) to shares, which "
        "otherwise count boosts (reblogs_count) only.", examples=[True])
    page_size: WholeNumber = Field(40, ge=1, le=40, description="Statuses asked for per request (1 to 40).",
                                   examples=[20])
    allow_private_network: bool = allow_private_network_option("an API base URL")

    @field_validator("accounts")
    @classmethod
    def _accounts(cls, accounts: list[str]) -> list[str]:
        names = []
        for given in accounts:
            name = given.strip().removeprefix("@")
            if not name or " " in name:
                raise ValueError(f"{given!r} is not a Mastodon account name")
            if name not in names:
                names.append(name)
        return names

    @field_validator("hashtags")
    @classmethod
    def _hashtags(cls, hashtags: list[str]) -> list[str]:
        names = []
        for given in hashtags:
            name = given.strip().removeprefix("#")
            if not name or not all(c.isalnum() or c == "_" for c in name):
                raise ValueError(f"{given!r} is not a hashtag (letters, digits and _ only)")
            if name.casefold() not in [n.casefold() for n in names]:
                names.append(name)
        return names

    @model_validator(mode="after")
    def _hashtags_to_read(self) -> "MastodonOptions":
        if self.hashtags and "hashtags" not in self.fetch:
            raise ValueError("hashtags lists some but fetch has no hashtags: add \"hashtags\" to fetch")
        return self


class MastodonSource(Source, SearchesTerms):
    """Reads the statuses, follower counts and mentions of Mastodon accounts from their instance.

    Statuses: ``favourites_count`` -> likes, ``replies_count`` -> comments, ``reblogs_count``
    -> shares; Mastodon reports no reach, impressions or saves, which stay empty. The text is
    the status's HTML with the markup removed; the format comes from the attachments (video,
    image, carousel for several images), else link (a preview card) or text. Boosts and direct
    messages are never posts. Accounts are named ``@user@instance``. Mentions: the author's
    ``followers_count`` -> reach, the status's counters as a post's (likes, comments, shares).

    Mastodon gives only the current follower count: it is dated the window's last day when the
    run happens in the 7 days after the window (periods end yesterday), today while the window
    is still open, and left out for older windows.
    """

    name = "mastodon"
    reads_platform = "mastodon"
    description = "Read statuses, follower counts and mentions of Mastodon accounts (any instance)."
    Options = MastodonOptions
    record_kinds = ("post", "account_snapshot", "mention")
    incremental = True
    # An instance keeps remote statuses for its content cache retention only (an admin setting;
    # Vacuum::StatusesVacuum deletes older ones, their notifications with them): a hashtag's
    # timeline and the mentions show the latest of them, older ones come from the store.
    shows_latest_only = frozenset({"mention"})
    per_account_option = "accounts"

    def produces(self) -> set[str]:
        return {RECORD_KIND_OF[what] for what in self.options.fetch}

    search_option = "hashtags"

    def needs_search_terms(self) -> bool:
        return "hashtags" in self.options.fetch and not self.options.hashtags

    def with_search_terms(self, terms) -> "MastodonSource":
        """Each term as the hashtag it is written as in one word (``Maison Lumière`` ->
        ``MaisonLumière``, ``#MaisonLumiere`` -> ``MaisonLumiere``); @handles are no hashtags."""
        from cmflow import folded_text

        tags: dict[str, str] = {}  # one timeline per hashtag, accents and case aside
        for term in terms:
            tag = "".join(c for c in term if c.isalnum() or c == "_") if not term.startswith("@") else ""
            if tag:
                tags.setdefault(folded_text(tag), tag)
        if not tags:
            raise ValueError("no [listen] term is a hashtag")
        options = MastodonOptions.model_validate(
            {**{name: getattr(self.options, name) for name in MastodonOptions.model_fields},
             "hashtags": list(tags.values())})
        return type(self)(options, entry_id=self.entry_id)

    def parts(self) -> list[Source]:
        """Split by account, unless only mentions and hashtags are fetched (they are the token's own
        and the instance's)."""
        return [self] if set(self.options.fetch) <= {"mentions", "hashtags"} else super().parts()

    def part_options(self, index: int) -> dict[str, Any]:
        """The token's mentions and the hashtags are fetched once, with the first account."""
        return {} if index == 0 else {"fetch": [f for f in self.options.fetch if f not in ("mentions", "hashtags")],
                                      "hashtags": []}

    def fetch(self, ctx: FetchContext) -> Iterable[RecordTable]:
        options: MastodonOptions = self.options
        # A lookup with a token needs read:accounts (Mastodon's LookupController).
        scopes = ("read:accounts", "read:statuses", "read:notifications") if "mentions" in options.fetch \
            else ("read:accounts", "read:statuses")
        mastodon = ctx.http.session("mastodon", allow_private_network=options.allow_private_network,
                                    base_url=options.base_url, source=self.entry_id,
                                    token=options.token.get_secret_value(), scopes=scopes)
        wanted = set(options.fetch)
        accounts = [self._lookup(mastodon, name) for name in options.accounts] \
            if wanted - {"mentions", "hashtags"} else []
        if "posts" in wanted:
            rows = [row for account in accounts for row in self._posts(mastodon, account, ctx)]
            yield RecordTable.from_rows("post", rows)
        if "account_snapshots" in wanted:
            day = current_count_day(ctx, mastodon.client.clock(), "Mastodon")
            rows = [] if day is None else [
                {"platform": "mastodon", "account": handle(account, options.base_url), "date": day,
                 "followers": account.get("followers_count")} for account in accounts]
            yield RecordTable.from_rows("account_snapshot", rows)
        if wanted & {"mentions", "hashtags"}:
            rows = list(self._mentions(mastodon, ctx)) if "mentions" in wanted else []
            found = {row["mention_id"] for row in rows}
            for hashtag in options.hashtags if "hashtags" in wanted else ():
                for row in self._tagged(mastodon, hashtag, ctx):
                    if row["mention_id"] not in found:  # a status of two hashtags, or mentioning the account
                        found.add(row["mention_id"])
                        rows.append(row)
            yield RecordTable.from_rows("mention", rows)

    def check_credentials(self, ctx: FetchContext) -> list[Any]:
        """``GET /api/v1/apps/verify_credentials`` (the token, and its scopes from Mastodon 4.3),
        then each account's lookup, with the ``X-RateLimit-*`` headers. Looking an account up
        with a token needs ``read:accounts`` (Mastodon's LookupController), statuses
        ``read:statuses``, mentions ``read:notifications``; ``read`` covers them all."""
        from cmflow import CredentialCheck, RateBudget
        from cmflow.http import PermissionMissing, PlatformError

        options: MastodonOptions = self.options
        wanted = set(options.fetch)
        required = (["read:statuses"] if wanted & {"posts", "hashtags"} else []) + \
            (["read:accounts"] if wanted - {"mentions", "hashtags"} else []) + \
            (["read:notifications"] if "mentions" in wanted else [])
        mastodon = ctx.http.session("mastodon", allow_private_network=options.allow_private_network,
                                    base_url=options.base_url, source=self.entry_id,
                                    token=options.token.get_secret_value(), scopes=tuple(required))
        row = CredentialCheck.for_source(self, account=", ".join(f"@{name}" for name in options.accounts))
        row.expiry(None, mastodon.client.clock(), renew=mastodon.platform.renew_hint,
                   note="never (until revoked)")
        budgets = []
        try:
            try:
                answer = mastodon.request("GET", "/api/v1/apps/verify_credentials")
            except PermissionMissing:  # before 4.3 this asked for the `read` scope
                row.token_valid = True
                row.note("the instance does not tell the token's scopes to a token without `read`")
            else:
                budgets.append(RateBudget.from_rate_headers(answer.headers, answer.now))
                row.token_valid = True
                app = answer.json if isinstance(answer.json, dict) else {}
                if isinstance(app.get("scopes"), list):
                    row.scopes([str(s) for s in app["scopes"]], required,
                               covers={scope: ("read",) for scope in required},
                               how="create a token with it in the instance's Preferences > Development "
                                   "(docs/sources/mastodon.md, Getting a token)")
                else:
                    row.note("the instance does not report the token's scopes (Mastodon before 4.3)")
            if wanted - {"mentions", "hashtags"} and not row.scopes_missing:
                names = []
                for name in options.accounts:
                    account = self._lookup(mastodon, name)
                    names.append(handle(account, options.base_url))
                row.account = ", ".join(names)
        except PlatformError as exc:
            row.failed(exc, mastodon.client.clock())
        return [row.rate(*budgets)]

    # -- the requests ----------------------------------------------------------------------------
    def _lookup(self, mastodon: "PlatformSession", name: str) -> dict[str, Any]:
        from cmflow.http import RequestRejected

        try:
            account = mastodon.get_json("/api/v1/accounts/lookup", params={"acct": name})
        except RequestRejected as exc:
            if exc.status != 404:
                raise
            raise RequestRejected(f"{self.options.base_url} has no account named {name!r}",
                                  hint="Check the accounts option: give the username on this instance",
                                  platform="Mastodon", source=self.entry_id, status=404) from None
        if not isinstance(account, dict) or not account.get("id"):
            raise self._odd(f"GET /api/v1/accounts/lookup?acct={name} answered no account id")
        return account

    def _posts(self, mastodon: "PlatformSession", account: dict[str, Any], ctx: FetchContext) -> Iterator[dict[str, Any]]:
        from cmflow.http import LinkHeader

        params: dict[str, Any] = {"limit": self.options.page_size, "exclude_reblogs": "true"}
        if not self.options.include_replies:
            params["exclude_replies"] = "true"
        path = f"/api/v1/accounts/{account['id']}/statuses"
        name = handle(account, self.options.base_url)
        for page in mastodon.pages(path, paging=LinkHeader(), params=params):
            statuses = self._list(page, f"GET {path}")
            for status in statuses:
                published_at = self._instant(status, path)
                if (ctx.window_start <= published_at < ctx.window_end and status.get("reblog") is None
                        and status.get("visibility") != "direct"):
                    yield self._post_row(status, name, published_at)
            # Newest first: once a page reaches back past the window, the rest is older still.
            if not statuses or self._instant(statuses[-1], path) < ctx.window_start:
                return

    def _mentions(self, mastodon: "PlatformSession", ctx: FetchContext) -> Iterator[dict[str, Any]]:
        from cmflow.http import LinkHeader

        path = "/api/v1/notifications"
        params = {"types[]": "mention", "limit": 80}
        for page in mastodon.pages(path, paging=LinkHeader(), params=params):
            notifications = self._list(page, f"GET {path}")
            for notification in notifications:
                status, author = notification.get("status"), notification.get("account") or {}
                if notification.get("type") != "mention" or not isinstance(status, dict):
                    continue
                published_at = self._instant(status, path)
                if (ctx.window_start <= published_at < ctx.window_end
                        and status.get("visibility") in PUBLIC_VISIBILITY):
                    yield self._mention_row(status, author, published_at)
            if not notifications or self._instant(notifications[-1], path) < ctx.window_start:
                return

    def _tagged(self, mastodon: "PlatformSession", hashtag: str, ctx: FetchContext) -> Iterator[dict[str, Any]]:
        """The public statuses of ``hashtag``'s timeline in the window, newest first, following
        the ``Link`` header until a page reaches back past the window's start. Boosts are left out."""
        from urllib.parse import quote

        from cmflow.http import LinkHeader

        path = f"/api/v1/timelines/tag/{quote(hashtag)}"
        for page in mastodon.pages(path, paging=LinkHeader(), params={"limit": self.options.page_size}):
            statuses = self._list(page, f"GET {path}")
            for status in statuses:
                published_at = self._instant(status, path)
                if (ctx.window_start <= published_at < ctx.window_end and status.get("reblog") is None
                        and status.get("visibility") in PUBLIC_VISIBILITY):
                    yield self._mention_row(status, status.get("account") or {}, published_at)
            if not statuses or self._instant(statuses[-1], path) < ctx.window_start:
                return

    def _mention_row(self, status: dict[str, Any], author: dict[str, Any], published_at: datetime) -> dict[str, Any]:
        """A mention from a status and its author (a notification's, a timeline's): the author's
        follower count is its reach, the status's counters as a post's (likes, comments, shares)."""
        return {
            "platform": "mastodon", "mention_id": str(status["id"]), "published_at": published_at,
            "author": handle(author, self.options.base_url) if author.get("acct") else None,
            "text": html_to_text(status.get("content") or ""), "url": status.get("url") or status.get("uri"),
            "reach": author.get("followers_count"),
            "likes": status.get("favourites_count"), "comments": status.get("replies_count"),
            "shares": shares(status.get("reblogs_count"), status.get("quotes_count"),
                             count_quotes=self.options.count_quotes_as_shares),
            "language": iso_language(status.get("language")),
        }

    # -- mapping ---------------------------------------------------------------------------------
    def _post_row(self, status: dict[str, Any], account: str, published_at: datetime) -> dict[str, Any]:
        shared = shares(status.get("reblogs_count"), status.get("quotes_count"),
                        count_quotes=self.options.count_quotes_as_shares)
        return {
            "platform": "mastodon", "account": account, "post_id": str(status["id"]),
            "published_at": published_at, "format": post_format(status),
            "text": html_to_text(status.get("content") or ""), "url": status.get("url") or status.get("uri"),
            "likes": status.get("favourites_count"), "comments": status.get("replies_count"), "shares": shared,
            "link": (status.get("card") or {}).get("url") or None,
        }

    def _instant(self, item: dict[str, Any], path: str) -> datetime:
        try:
            return parse_instant(item["created_at"])
        except (KeyError, TypeError, ValueError):
            raise self._odd(f"GET {path} answered an item without a readable created_at "
                            f"(id {item.get('id')!r})") from None

    def _list(self, page: Any, what: str) -> list[dict[str, Any]]:
        if not isinstance(page, list) or not all(isinstance(item, dict) and "id" in item for item in page):
            raise self._odd(f"{what} answered something other than a list of objects with ids")
        return page

    def _odd(self, message: str) -> "PlatformError":
        from cmflow.http import BadResponse

        return BadResponse(message, platform="Mastodon", source=self.entry_id, status=200)


def handle(account: dict[str, Any], base_url: str) -> str:
    """``@user@instance``: a local ``acct`` is just ``user``, so the instance comes from its URL."""
    acct = str(account.get("acct") or account.get("username"))
    if "@" in acct:
        return f"@{acct}"
    host = urlparse(str(account.get("url") or "")).netloc or urlparse(base_url).netloc
    return f"@{acct}@{host}"


def post_format(status: dict[str, Any]) -> str:
    """video (video, gifv or audio), carousel (several images), image, link (a preview card) or text."""
    types = [m.get("type") for m in status.get("media_attachments") or [] if isinstance(m, dict)]
    if any(t in ("video", "gifv", "audio") for t in types):
        return "video"
    images = types.count("image")
    if images:
        return "carousel" if images > 1 else "image"
    return "link" if status.get("card") else "text"


def html_to_text(html: str) -> str:
    """A status's HTML as plain text: paragraphs and line breaks kept, tags dropped, entities decoded."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    text = "\n".join(line.strip() for line in "".join(parser.parts).split("\n"))
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


@hookimpl
def register_sources(register):
    register(MastodonSource)
