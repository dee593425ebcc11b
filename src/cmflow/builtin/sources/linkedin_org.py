"""The ``linkedin_org`` source: a LinkedIn Page's posts, their statistics, daily audience and comments.

LinkedIn's Community Management API (``https://api.linkedin.com/rest/``) is versioned by the
``LinkedIn-Version`` header (pinned in :mod:`cmflow.http.platforms`, overridable with the
``api_version`` option) and speaks Rest.li 2.0: statistics queries carry values such as
``List(urn%3Ali%3Ashare%3A1,...)`` and ``(timeRange:(start:...,end:...),timeGranularityType:DAY)``
whose parentheses and commas must reach LinkedIn as written, so those queries are built here,
URNs percent-encoded, and never re-encoded by httpx.

LinkedIn keeps statistics for a rolling 12 months: older days and posts are left out (with a
warning), never requested, so a long window does not fail.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Literal
from urllib.parse import quote, urljoin

from pydantic import Field, SecretStr, field_validator

from cmflow import PluginOptions, RecordTable, Source, WebUrl, WholeNumber, hookimpl
from cmflow.http import allow_private_network_option

from cmflow.builtin.sources import platform_common
from cmflow.builtin.sources.platform_common import dig

if TYPE_CHECKING:
    from cmflow import FetchContext
    from cmflow.http import ApiResponse, PageRequest, PlatformSession

PLATFORM = "linkedin"
ORGANIZATION_URN = "urn:li:organization:"
STATISTICS_DAYS = 365
"""LinkedIn serves statistics over a rolling 12-month window; a day more would be refused."""
DAYS_PER_STATISTICS_CALL = 90
"""Daily statistics are asked for at most this many days at a time, so one answer stays small."""
POSTS_PER_STATISTICS_CALL = 20
"""Share statistics for this many posts per request (the URNs travel in the URL)."""
POST_SCOPE = "r_organization_social"
STATISTICS_SCOPE = "rw_organization_admin"
FORMAT_OF_MEDIA = {"image": "image", "video": "video", "document": "carousel"}
"""``content.media.id`` URN type -> canonical format (a document post is LinkedIn's carousel)."""

Fetchable = Literal["posts", "account_snapshots", "conversations"]
RECORD_KIND_OF = {"posts": "post", "account_snapshots": "account_snapshot", "conversations": "conversation"}


class LinkedInOrgOptions(PluginOptions):
    organization_ids: list[str] = Field(
        min_length=1, description="The LinkedIn Pages (organizations) to read: their numeric ids or "
        "URNs. The token's member must be an ADMINISTRATOR of each.",
        examples=[["2414183"], ["urn:li:organization:2414183"]])
    token: SecretStr = Field(
        description="A 3-legged OAuth member token with r_organization_social and "
        "rw_organization_admin. Write token = \"${env:LINKEDIN_TOKEN}\".",
        examples=["${env:LINKEDIN_TOKEN}"])
    fetch: list[Fetchable] = Field(
        ["posts", "account_snapshots"], min_length=1,
        description="What to fetch: posts (with their lifetime statistics), account_snapshots (daily "
        "followers, impressions and page views) and/or conversations (comments on the window's "
        "posts, with when the Page answered).",
        examples=[["posts", "account_snapshots", "conversations"]])
    api_version: str | None = Field(
        None, pattern=r"^\d{6}(\.\d{2})?$",
        description="LinkedIn-Version header (YYYYMM). Default: the version cmflow pins. LinkedIn "
        "serves each version for about a year, then answers 426: set an active one here.",
        examples=["202611"])
    page_size: WholeNumber = Field(
        50, ge=1, le=100, description="Posts and comments asked for per request (LinkedIn allows "
        "up to 100 and may send fewer).", examples=[100])
    base_url: WebUrl = Field(
        "https://api.linkedin.com", description="Where the API lives (tests point it at a replay server).",
        examples=["https://api.linkedin.com"])
    allow_private_network: bool = allow_private_network_option("an API base URL")

    @field_validator("organization_ids")
    @classmethod
    def _numeric_ids(cls, values: list[str]) -> list[str]:
        ids = []
        for value in values:
            number = value.strip().removeprefix(ORGANIZATION_URN)
            if not number.isdigit():
                raise ValueError(f"{value!r} is not an organization id: give its number (e.g. \"2414183\", "
                                 "from the Page admin URL linkedin.com/company/2414183/admin) or its URN")
            ids.append(number)
        return list(dict.fromkeys(ids))


class LinkedInOrg(Source):
    """Reads LinkedIn Pages: posts with their statistics, daily audience and comments.

    Posts come from ``/rest/posts`` (newest change first, read until the window's start),
    with their lifetime counters from ``organizationalEntityShareStatistics``. Daily snapshots
    combine follower gains, the Page's posts' daily impressions and page views; the follower
    count of a past day is today's total (``networkSizes``) minus the gains reported since.
    Conversations are the comments on the window's posts, answered when the Page replied.
    LinkedIn reports no saves and no video views here: those stay empty.
    """

    name = "linkedin_org"
    reads_platform = "linkedin"
    description = "Fetch LinkedIn Page posts, share and follower statistics, and comments."
    Options = LinkedInOrgOptions
    record_kinds = ("post", "account_snapshot", "conversation")
    incremental = True
    per_account_option = "organization_ids"

    def produces(self) -> set[str]:
        return {RECORD_KIND_OF[what] for what in self.options.fetch}

    def fetch(self, ctx: FetchContext) -> Iterable[RecordTable]:
        options: LinkedInOrgOptions = self.options
        http = ctx.http
        token = options.token.get_secret_value()

        def session(scope: str) -> "PlatformSession":
            return http.session(PLATFORM, allow_private_network=options.allow_private_network,
                                base_url=options.base_url, token=token, source=self.entry_id,
                                api_version=options.api_version, scopes=(scope,))

        reader = LinkedInReader(session(POST_SCOPE), session(STATISTICS_SCOPE), ctx,
                                today=datetime.fromtimestamp(http.clock(), timezone.utc).date(),
                                page_size=options.page_size)
        posts, snapshots, conversations = [], [], []
        for organization in options.organization_ids:
            wanted_posts = reader.posts(organization) if {"posts", "conversations"} & set(options.fetch) else []
            if "posts" in options.fetch:
                posts += reader.with_statistics(organization, wanted_posts)
            if "account_snapshots" in options.fetch:
                snapshots += reader.snapshots(organization)
            if "conversations" in options.fetch:
                conversations += reader.conversations(organization, wanted_posts)
        if reader.clamped_before:
            ctx.warn(f"LinkedIn keeps statistics for 12 months: nothing before {reader.clamped_before} "
                     "was asked for (those days and posts have no statistics)")
        for what, rows in (("posts", posts), ("account_snapshots", snapshots), ("conversations", conversations)):
            if what in options.fetch:
                yield RecordTable.from_rows(RECORD_KIND_OF[what], rows)

    def check_credentials(self, ctx: FetchContext) -> list[Any]:
        """One cheap request per Page and scope the fetch needs: a post (r_organization_social,
        for posts and conversations) and the follower count (rw_organization_admin, for
        statistics). LinkedIn reports no expiry or scopes without the app's client secret, and
        sends no rate headers."""
        from cmflow import CredentialCheck
        from cmflow.http import PermissionMissing, PlatformError

        options: LinkedInOrgOptions = self.options
        token = options.token.get_secret_value()

        def session(scope: str) -> "PlatformSession":
            return ctx.http.session(PLATFORM, allow_private_network=options.allow_private_network,
                                    base_url=options.base_url, token=token, source=self.entry_id,
                                    api_version=options.api_version, scopes=(scope,))

        content, statistics = session(POST_SCOPE), session(STATISTICS_SCOPE)
        probes = []
        if {"posts", "conversations"} & set(options.fetch):
            probes.append((POST_SCOPE, lambda org: content.get_json("/rest/posts", params={
                "q": "author", "author": organization_urn(org), "count": 1, "sortBy": "LAST_MODIFIED"})))
        if {"posts", "account_snapshots"} & set(options.fetch):
            probes.append((STATISTICS_SCOPE, lambda org: statistics.get_json(
                f"/rest/networkSizes/{encode(organization_urn(org))}", params={"edgeType": "COMPANY_FOLLOWED_BY_MEMBER"})))
        row = CredentialCheck.for_source(self, account=", ".join(options.organization_ids),
                        budget="not reported by LinkedIn (daily limits: Developer Portal > Analytics)")
        renew = content.platform.renew_hint
        row.expiry(None, content.client.clock(), renew=renew, note="unknown")
        granted: list[str] = []
        try:
            for scope, probe in probes:
                for organization in options.organization_ids:
                    try:
                        probe(organization)
                    except PermissionMissing as exc:
                        row.failed(exc)
                        row.scopes_missing = tuple(dict.fromkeys(row.scopes_missing + (scope,)))
                        row.flag("fail", f"The token needs {scope} and its member the ADMINISTRATOR role on "
                                         f"organization {organization}: run the 3-legged OAuth flow again as a Page "
                                         "administrator (docs/sources/linkedin_org.md, Permissions and tokens)")
                        break
                else:
                    granted.append(scope)
                row.token_valid = True
        except PlatformError as exc:
            row.failed(exc, content.client.clock())
        row.scopes_granted = tuple(granted)
        if row.token_valid:
            row.note("LinkedIn reports no expiry to apps without the client secret: member tokens last 60 days, "
                     "renew them before then")
        return [row]


class LinkedInReader:
    """The requests of one fetch, for one token: posts, statistics and comments of each Page."""

    def __init__(self, content: "PlatformSession", statistics: "PlatformSession", ctx: FetchContext, *,
                 today: date, page_size: int) -> None:
        self.content, self.statistics, self.ctx = content, statistics, ctx
        self.today, self.page_size = today, page_size
        self.earliest_day = today - timedelta(days=STATISTICS_DAYS - 1)
        self.clamped_before: date | None = None
        """Set when part of the window is older than LinkedIn's 12 months of statistics."""

    # -- posts -------------------------------------------------------------------------------
    def posts(self, organization: str) -> list[dict[str, Any]]:
        """The Page's published posts of the window, as canonical rows without counters yet."""
        from cmflow.http import OffsetLimit

        start_ms = epoch_ms(self.ctx.window_start)
        pages = self.content.pages("/rest/posts", paging=OffsetLimit(
            "start", "count", page_size=self.page_size, items="elements", next_links="paging.links"),
            params={"q": "author", "author": organization_urn(organization), "sortBy": "LAST_MODIFIED"})
        rows: list[dict[str, Any]] = []
        for page in pages:
            elements = elements_of(page, self.content, "/rest/posts")
            for post in elements:
                row = post_row(organization, post)
                if row is not None and self.ctx.window_start <= row["published_at"] < self.ctx.window_end:
                    rows.append(row)
            # Newest change first: a post last changed before the window was published before it,
            # and so was every post after it.
            if elements and (elements[-1].get("lastModifiedAt") or 0) < start_ms:
                break
        return rows

    def with_statistics(self, organization: str, posts: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """``posts`` with their lifetime counters (organic only: LinkedIn leaves ads out)."""
        recent = [p for p in posts if p["published_at"].date() >= self.earliest_day]
        if len(recent) < len(posts):
            self.clamped_before = self.earliest_day
        found: dict[str, dict[str, Any]] = {}
        for urns, parameter in ((urns_of(recent, "urn:li:share:"), "shares"),
                                (urns_of(recent, "urn:li:ugcPost:"), "ugcPosts")):
            for batch in chunks(urns, POSTS_PER_STATISTICS_CALL):
                query = (f"q=organizationalEntity&organizationalEntity={encode(organization_urn(organization))}"
                         f"&{parameter}=List({','.join(encode(u) for u in batch)})")
                for element in self._statistics("/rest/organizationalEntityShareStatistics", query):
                    urn = element.get("share") or element.get("ugcPost")
                    if isinstance(urn, str) and isinstance(element.get("totalShareStatistics"), dict):
                        found[urn] = element["totalShareStatistics"]
        missing = [p["post_id"] for p in recent if p["post_id"] not in found]
        if missing:
            self.ctx.warn(f"LinkedIn sent no statistics for {len(missing)} post(s) of organization "
                          f"{organization} (e.g. {missing[0]}): their counters are empty")
        return [{**post, **share_counters(found.get(post["post_id"]))} for post in posts]

    # -- daily snapshots ---------------------------------------------------------------------
    def snapshots(self, organization: str) -> list[dict[str, Any]]:
        """One row per UTC day of the window that LinkedIn's statistics cover."""
        first, last = self._days()
        if first > last:
            return []
        urn = encode(organization_urn(organization))
        impressions: dict[date, dict[str, Any]] = {}
        page_views: dict[date, Any] = {}
        for start, end in day_ranges(first, last):
            intervals = time_intervals(start, end)
            for element in self._statistics("/rest/organizationalEntityShareStatistics",
                                            f"q=organizationalEntity&organizationalEntity={urn}&timeIntervals={intervals}"):
                if (day := element_day(element)) is not None:
                    impressions[day] = element.get("totalShareStatistics") or {}
            for element in self._statistics("/rest/organizationPageStatistics",
                                            f"q=organization&organization={urn}&timeIntervals={intervals}"):
                if (day := element_day(element)) is not None:
                    page_views[day] = dig(element, "totalPageStatistics", "views", "allPageViews", "pageViews")
        followers = self._followers_by_day(organization, first)
        rows = []
        for day in days_between(first, last):
            shares = impressions.get(day, {})
            rows.append({"platform": PLATFORM, "account": organization, "date": day,
                         "followers": followers.get(day), "impressions": shares.get("impressionCount"),
                         "reach": shares.get("uniqueImpressionsCount"), "profile_views": page_views.get(day)})
        return rows

    def _followers_by_day(self, organization: str, first: date) -> dict[date, int]:
        """Each day's closing follower count, counted back from today's total.

        LinkedIn gives the total only for now (``networkSizes``) and daily gains in the
        statistics: the count at the end of day D is the total minus the gains of D+1 ..
        yesterday (today's, not reported yet, are taken as none)."""
        total = self.statistics.get_json(f"/rest/networkSizes/{encode(organization_urn(organization))}",
                                         params={"edgeType": "COMPANY_FOLLOWED_BY_MEMBER"})
        if not isinstance(total, dict) or not isinstance(total.get("firstDegreeSize"), int):
            raise bad_answer(self.statistics, "/rest/networkSizes", "has no firstDegreeSize (the follower count)")
        yesterday = self.today - timedelta(days=1)
        gains: dict[date, int] = {}
        urn = encode(organization_urn(organization))
        for start, end in day_ranges(first, yesterday):
            query = f"q=organizationalEntity&organizationalEntity={urn}&timeIntervals={time_intervals(start, end)}"
            for element in self._statistics("/rest/organizationalEntityFollowerStatistics", query):
                day, gain = element_day(element), element.get("followerGains")
                if day is not None and isinstance(gain, dict):
                    gains[day] = (gain.get("organicFollowerGain") or 0) + (gain.get("paidFollowerGain") or 0)
        counts, running = {}, total["firstDegreeSize"]
        for day in reversed(list(days_between(first, yesterday))):
            counts[day] = running
            running -= gains.get(day, 0)
        return counts

    def _days(self) -> tuple[date, date]:
        """The window's UTC days that LinkedIn's statistics cover: within 12 months, before today."""
        first = self.ctx.window_start.astimezone(timezone.utc).date()
        last = (self.ctx.window_end.astimezone(timezone.utc) - timedelta(microseconds=1)).date()
        if first < self.earliest_day:
            self.clamped_before = first = self.earliest_day
        return first, min(last, self.today - timedelta(days=1))

    def _statistics(self, path: str, query: str) -> Iterator[dict[str, Any]]:
        """The elements of a statistics finder, every page (its Rest.li query sent as written)."""
        for page in self.statistics.pages(f"{path}?{query}", paging=NextLink()):
            yield from elements_of(page, self.statistics, path)

    # -- conversations -----------------------------------------------------------------------
    def conversations(self, organization: str, posts: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Comments others wrote on the window's posts, with the Page's first answer, if any."""
        page_urn = organization_urn(organization)
        rows = []
        for post in posts:
            for comment in self._comments(post["post_id"]):
                author = comment.get("actor")
                received = from_ms(dig(comment, "created", "time"))
                if author == page_urn or received is None:
                    continue  # the Page's own comments are not received
                has_replies = dig(comment, "commentsSummary", "aggregatedTotalComments") != 0  # absent: look
                replies = self._comments(comment.get("commentUrn") or "") if has_replies else []
                answers = [from_ms(dig(r, "created", "time")) for r in replies if r.get("actor") == page_urn]
                answers = [a for a in answers if a is not None and a >= received]
                rows.append({"platform": PLATFORM, "account": organization,
                             "message_id": str(comment.get("commentUrn") or comment.get("id")),
                             "received_at": received, "replied_at": min(answers, default=None),
                             "author": author, "text": dig(comment, "message", "text"),
                             "post_id": post["post_id"], "url": post.get("url")})
        return rows

    def _comments(self, urn: str) -> list[dict[str, Any]]:
        from cmflow.http import OffsetLimit

        if not urn:
            return []
        path = f"/rest/socialActions/{encode(urn)}/comments"
        pages = self.content.pages(path, paging=OffsetLimit(
            "start", "count", page_size=self.page_size, items="elements", next_links="paging.links"))
        return [comment for page in pages for comment in elements_of(page, self.content, path)]


@dataclass(frozen=True)
class NextLink:
    """LinkedIn's ``paging.links`` entry with ``rel = "next"``, followed exactly as LinkedIn wrote it.

    The kit's ``OffsetLimit`` adds ``start``/``count`` as parameters, which makes httpx re-encode the
    whole query, Rest.li parentheses included; statistics finders keep their query verbatim."""

    def first(self, request: "PageRequest") -> "PageRequest":
        return request

    def next(self, request: "PageRequest", response: "ApiResponse", body: Any) -> "PageRequest | None":
        from cmflow.http import PageRequest

        links = dig(body, "paging", "links")
        href = next((link.get("href") for link in links or [] if isinstance(link, dict)
                     and link.get("rel") == "next" and isinstance(link.get("href"), str)), None)
        return PageRequest(request.method, urljoin(response.url, href), {}, request.json) if href else None


# -- mapping LinkedIn's answers ----------------------------------------------------------------
def post_row(organization: str, post: dict[str, Any]) -> dict[str, Any] | None:
    """A canonical post (without counters) from a ``/rest/posts`` element; None for drafts."""
    if post.get("lifecycleState", "PUBLISHED") != "PUBLISHED" or not isinstance(post.get("id"), str):
        return None
    published = from_ms(post.get("publishedAt") or post.get("createdAt"))
    if published is None:
        return None
    return {"platform": PLATFORM, "account": organization, "post_id": post["id"], "published_at": published,
            "format": post_format(post), "text": plain_text(post.get("commentary")),
            "url": f"https://www.linkedin.com/feed/update/{post['id']}/", "link": article_link(post)}


def article_link(post: dict[str, Any]) -> str | None:
    """The address an article post shares (``content.article.source``); None for other posts."""
    source = dig(post.get("content"), "article", "source")
    return source if isinstance(source, str) and source else None


def post_format(post: dict[str, Any]) -> str:
    """image, video, carousel (documents and multi-image posts), link (articles) or text."""
    content = post.get("content")
    if not isinstance(content, dict):
        return "text"
    media = dig(content, "media", "id")
    if isinstance(media, str):
        kind = media.split(":")[2] if media.count(":") >= 3 else ""
        return FORMAT_OF_MEDIA.get(kind, "image")
    if "multiImage" in content or "carousel" in content:
        return "carousel"
    if "article" in content:
        return "link"
    return "text"  # polls, celebrations


def share_counters(statistics: dict[str, Any] | None) -> dict[str, Any]:
    """Canonical counters from ``totalShareStatistics``; an absent figure stays empty, never 0."""
    statistics = statistics or {}
    return {"likes": statistics.get("likeCount"), "comments": statistics.get("commentCount"),
            "shares": statistics.get("shareCount"), "clicks": statistics.get("clickCount"),
            "impressions": statistics.get("impressionCount"), "reach": statistics.get("uniqueImpressionsCount")}


_HASHTAG = re.compile(r"\{hashtag\|\\?#\|([^}]*)\}")
_MENTION = re.compile(r"@\[([^\]]*)\]\(urn:li:[^)]*\)")
_ESCAPED = re.compile(r"\\([|{}@\[\]()<>#\\*_~])")


def plain_text(commentary: Any) -> str | None:
    """LinkedIn's "little text" as plain text: ``{hashtag|\\#|tag}`` -> ``#tag``, mentions by
    name, backslash escapes removed."""
    if not isinstance(commentary, str):
        return None
    text = _HASHTAG.sub(lambda m: "#" + m.group(1), commentary)
    text = _MENTION.sub(lambda m: "@" + unescape(m.group(1)), text)
    return unescape(text)


def unescape(text: str) -> str:
    return _ESCAPED.sub(r"\1", text)


def elements_of(page: Any, session: "PlatformSession", path: str) -> list[dict[str, Any]]:
    """A finder answer's ``elements``; an answer without them is an error, not an empty Page."""
    elements = page.get("elements") if isinstance(page, dict) else None
    if not isinstance(elements, list):
        raise bad_answer(session, path, "has no `elements` list")
    return [e for e in elements if isinstance(e, dict)]


def bad_answer(session: "PlatformSession", path: str, what: str) -> Exception:
    """An answer that is not the documented shape: most often a retired API version."""
    return platform_common.bad_answer(
        session, path, what, hint="Check the API version (api_version) and report the answer if it persists")


def organization_urn(organization: str) -> str:
    return f"{ORGANIZATION_URN}{organization}"


def encode(urn: str) -> str:
    """A URN as Rest.li 2.0 wants it inside a URL: every reserved character percent-encoded."""
    return quote(urn, safe="")


def urns_of(posts: list[dict[str, Any]], prefix: str) -> list[str]:
    return [p["post_id"] for p in posts if p["post_id"].startswith(prefix)]


def chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def from_ms(value: Any) -> datetime | None:
    """LinkedIn's epoch milliseconds as a UTC instant."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return datetime.fromtimestamp(value / 1000, timezone.utc)


def day_start_ms(day: date) -> int:
    return epoch_ms(datetime.combine(day, time(), timezone.utc))


def time_intervals(first: date, last: date) -> str:
    """Rest.li ``timeIntervals`` for the UTC days ``first`` .. ``last``, one element per day."""
    return (f"(timeRange:(start:{day_start_ms(first)},end:{day_start_ms(last + timedelta(days=1))}),"
            "timeGranularityType:DAY)")


def day_ranges(first: date, last: date) -> Iterator[tuple[date, date]]:
    """``first`` .. ``last`` split into ranges of at most ``DAYS_PER_STATISTICS_CALL`` days."""
    while first <= last:
        end = min(last, first + timedelta(days=DAYS_PER_STATISTICS_CALL - 1))
        yield first, end
        first = end + timedelta(days=1)


def days_between(first: date, last: date) -> Iterator[date]:
    for offset in range((last - first).days + 1):
        yield first + timedelta(days=offset)


def element_day(element: dict[str, Any]) -> date | None:
    """The UTC day a daily statistics element describes (its ``timeRange.start``)."""
    start = from_ms(dig(element, "timeRange", "start"))
    return start.date() if start else None


@hookimpl
def register_sources(register):
    register(LinkedInOrg)
