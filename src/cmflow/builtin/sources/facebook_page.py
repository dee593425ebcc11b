"""The ``facebook_page`` source: posts, daily Page figures and comments of Facebook Pages.

Reads the Graph API on graph.facebook.com with a Page token (or a user / system-user token
from which cmflow reads each Page's token): published posts and their lifetime insights become
``post`` records, the Page's daily insights ``account_snapshot`` records, and comments
``conversation`` records. Facts and shapes: ``PLATFORMS.md`` and ``docs/sources/facebook_page.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, Iterable, Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from cmflow import FetchContext, PluginOptions, Source, WebUrl, WholeNumber, hookimpl
from cmflow.http import allow_private_network_option

from cmflow.builtin.sources.meta_graph import (GRAPH_FACEBOOK, KIND_OF_FETCH, Comment, Fetch, GraphReader, api_version_field,
                         check_metrics, comments_lookback_field, conversation_rows, count, earliest_published,
                         in_window, insight_counters, insight_days, no_repeats, older_than, parallel_map,
                         published_between, record_tables, time_of, unix_seconds)
from cmflow.builtin.sources.platform_common import https_url

if TYPE_CHECKING:
    from cmflow import RecordTable

POST_FIELDS = ("id,message,created_time,permalink_url,full_picture,status_type,shares,"
               "reactions.summary(total_count).limit(0),comments.summary(true).limit(0),"
               "attachments{media_type,type}")
COMMENT_FIELDS = "id,message,created_time,from,parent{id},permalink_url"

POST_METRICS = {"post_media_view": "impressions", "post_total_media_view_unique": "reach",
                "post_clicks": "clicks", "post_video_views": "video_views"}
"""Post insights cmflow reads, and the canonical ``post`` field each one fills."""
VIDEO_ONLY = frozenset({"post_video_views"})
PAGE_METRICS = {"page_follows": "followers", "page_total_media_view_unique": "reach",
                "page_media_view": "impressions", "page_views_total": "profile_views"}
"""Daily Page insights cmflow reads, and the ``account_snapshot`` field each one fills."""

_REMOVED_2024 = "removed on 2024-03-14 with no replacement"
DEPRECATED_POST_METRICS = {
    "post_impressions": "use `post_media_view`, which replaced it (November 2025)",
    "post_impressions_unique": "use `post_total_media_view_unique`, which replaces it by June 2026 (v26)",
    **{f"post_impressions_{kind}": "Meta no longer splits views into organic and paid: use `post_media_view`"
       for kind in ("organic", "paid", "organic_unique", "paid_unique", "fan", "fan_unique", "viral", "nonviral")},
    "post_engaged_users": _REMOVED_2024 + ": use `post_clicks` and the posts' reaction, comment and share counts",
    "post_consumptions": _REMOVED_2024 + ": use `post_clicks`",
}
DEPRECATED_PAGE_METRICS = {
    "page_impressions": "use `page_media_view`, which replaced it (November 2025)",
    "page_impressions_unique": "use `page_total_media_view_unique`, which replaces it by June 2026 (v26)",
    "page_fans": "use `page_follows`, which replaced it (November 2025)",
    **{name: "use `page_follows` (cmflow reads each day's total)"
       for name in ("page_fan_adds", "page_fan_adds_unique", "page_fan_removes", "page_fan_removes_unique")},
    **{name: "removed by June 2026 (v26): use `page_media_view` or `page_total_media_view_unique`"
       for name in ("page_posts_impressions", "page_posts_impressions_unique", "page_posts_impressions_organic",
                    "page_posts_impressions_paid", "page_impressions_organic", "page_impressions_paid")},
    "page_video_views_unique": "removed by June 2026 (v26) with no replacement",
    "page_engaged_users": _REMOVED_2024,
    "page_consumptions": _REMOVED_2024,
}
NOT_OFFERED = ("keywords", "search")
MAX_DAYS_PER_CALL = 90
"""Page insights: at most 90 days between ``since`` and ``until``."""


class FacebookPageOptions(PluginOptions):
    pages: list[str] = Field(
        min_length=1, description="Facebook Page ids (numeric; the Page's About > Page transparency, "
        "or GET /me/accounts).", examples=[["104857600000001"]])
    access_token: SecretStr = Field(
        description="Access token, from the environment: access_token = \"${env:FACEBOOK_PAGE_TOKEN}\". "
        "A Page token (token_kind = \"page\") or a long-lived user or system-user token "
        "(token_kind = \"user\").", examples=["${env:FACEBOOK_PAGE_TOKEN}"])
    token_kind: Literal["page", "user"] = Field(
        "page", description="page: access_token is the Page's own token (one Page per source); "
        "user: a user or system-user token with the ANALYZE task on every Page listed, from which "
        "cmflow reads each Page's token (GET /{page-id}?fields=access_token).", examples=["user"])
    fetch: list[Fetch] = Field(
        ["posts", "account_snapshots"], min_length=1,
        description="What to fetch: posts (published posts and their insights), account_snapshots "
        "(daily Page insights) and conversations (comments, with when the Page answered).",
        examples=[["posts", "account_snapshots", "conversations"]])
    post_metrics: list[str] = Field(
        list(POST_METRICS), description="Post insights to read: post_media_view (-> impressions), "
        "post_total_media_view_unique (-> reach), post_clicks (-> clicks), post_video_views "
        "(-> video_views, video posts only). A deprecated name (post_impressions ...) is refused "
        "with its replacement.", examples=[["post_media_view", "post_total_media_view_unique"]])
    page_metrics: list[str] = Field(
        list(PAGE_METRICS), description="Daily Page insights to read: page_follows (-> followers), "
        "page_total_media_view_unique (-> reach), page_media_view (-> impressions), "
        "page_views_total (-> profile_views). A deprecated name (page_fans, page_impressions ...) "
        "is refused with its replacement.", examples=[["page_follows", "page_media_view"]])
    comments_lookback_days: WholeNumber = comments_lookback_field()
    page_size: WholeNumber = Field(100, ge=1, le=100, description="Items per page of the post and comment "
                                   "lists (at most 100).", examples=[25])
    api_version: str | None = api_version_field()
    base_url: WebUrl = Field(GRAPH_FACEBOOK, description="API host, without the version.",
                          examples=["https://graph.facebook.com"])
    allow_private_network: bool = allow_private_network_option("an API base URL")

    @model_validator(mode="before")
    @classmethod
    def _refuse_search(cls, data: Any) -> Any:
        if isinstance(data, dict) and any(key in data for key in NOT_OFFERED):
            raise ValueError("Facebook offers apps no search of public posts (Page Public Content Access "
                             "reads other Pages only and needs app review); monitor keywords with another "
                             "source (rss, mastodon, bluesky)")
        return data

    @field_validator("pages")
    @classmethod
    def _numeric_ids(cls, pages: list[str]) -> list[str]:
        for page in pages:
            if not page.isdigit():
                raise ValueError(f"{page!r} is not a Page id: use the numeric id (e.g. 104857600000001), "
                                 "not the Page's name or vanity URL")
        return pages

    _no_repeats = field_validator("fetch")(no_repeats)

    @field_validator("post_metrics")
    @classmethod
    def _post_metrics(cls, names: list[str]) -> list[str]:
        return check_metrics(names, available=POST_METRICS, deprecated=DEPRECATED_POST_METRICS)

    @field_validator("page_metrics")
    @classmethod
    def _page_metrics(cls, names: list[str]) -> list[str]:
        return check_metrics(names, available=PAGE_METRICS, deprecated=DEPRECATED_PAGE_METRICS)

    @model_validator(mode="after")
    def _one_page_per_page_token(self) -> FacebookPageOptions:
        if self.token_kind == "page" and len(self.pages) > 1:
            raise ValueError("a Page token opens one Page: list one page per source, or set "
                             "token_kind = \"user\" with a user or system-user token")
        return self


class FacebookPage(Source):
    """Published posts with their insights, daily Page followers, reach, views and visits, and
    comments, from the Graph API, for each Page listed, over exactly the run's window."""

    name = "facebook_page"
    reads_platform = "facebook"
    description = "Fetch posts and insights, daily Page figures and comments of Facebook Pages (Graph API)."
    Options = FacebookPageOptions
    record_kinds = ("post", "account_snapshot", "conversation")
    incremental = True
    per_account_option = "pages"

    def produces(self) -> set[str]:
        return {KIND_OF_FETCH[f] for f in self.options.fetch}

    def fetch(self, ctx: FetchContext) -> Iterable[RecordTable]:
        options: FacebookPageOptions = self.options
        scopes = ("pages_show_list", "pages_read_engagement", "read_insights")
        if "conversations" in options.fetch:
            scopes += ("pages_read_user_content",)
        token = options.access_token.get_secret_value()

        def session(page_token: str):
            return ctx.http.session("facebook", allow_private_network=options.allow_private_network,
                                    base_url=options.base_url, token=page_token,
                                    source=self.entry_id, api_version=options.api_version, scopes=scopes)

        def page_rows(page_id: str) -> dict[str, list[dict[str, Any]]]:
            graph = GraphReader(session(token))
            page = graph.get(page_id, params={
                "fields": "id,name,username" + (",access_token" if options.token_kind == "user" else "")})
            if options.token_kind == "user":
                if not page.get("access_token"):
                    raise graph.bad(f"{page_id} gave no Page token: the user needs a role with the ANALYZE "
                                    "task on the Page", {k: v for k, v in page.items() if k != "access_token"})
                graph = GraphReader(session(str(page.pop("access_token"))))
            return PageFetch(graph, options, ctx, page_id, page.get("username") or page_id).rows()

        yield from record_tables(options.fetch, [page_rows(page_id) for page_id in options.pages])

    def check_credentials(self, ctx: FetchContext) -> list[Any]:
        """The token (debug_token: valid, scopes, expiry), then each Page's answer (and, for a
        user token, that it gives the Page's token), with Meta's usage headers."""
        from cmflow import CredentialCheck
        from cmflow.http import PlatformError
        from cmflow import mark_secret

        from cmflow.builtin.sources.meta_graph import account_budget, check_meta_token

        options: FacebookPageOptions = self.options
        scopes = ("pages_show_list", "pages_read_engagement", "read_insights")
        if "conversations" in options.fetch:
            scopes += ("pages_read_user_content",)
        token = options.access_token.get_secret_value()
        session = ctx.http.session("facebook", allow_private_network=options.allow_private_network,
                                   base_url=options.base_url, token=token, source=self.entry_id,
                                   api_version=options.api_version, scopes=scopes)
        graph = GraphReader(session)
        row = CredentialCheck.for_source(self, account=", ".join(options.pages))
        budgets = []
        try:
            budgets.append(check_meta_token(
                row, graph, token, required=scopes, renew=session.platform.renew_hint,
                how="log in again as someone with the ANALYZE task on the Page, grant it, and read the "
                    "Page token again from GET /me/accounts (docs/sources/facebook_page.md, Getting a token)"))
            if row.token_valid is not False:
                names = []
                user_token = options.token_kind == "user"
                for page_id in options.pages:
                    page, budget = account_budget(graph, [page_id],
                                                  "id,name,username" + (",access_token" if user_token else ""))
                    budgets.append(budget)
                    if user_token:
                        if page.get("access_token"):
                            mark_secret(str(page.pop("access_token")))
                        else:
                            row.flag("fail", f"Page {page_id} gave no Page token: the user needs a role with the "
                                             "ANALYZE task on the Page")
                    names.append(str(page.get("username") or page.get("name") or page_id))
                row.account = ", ".join(names)
        except PlatformError as exc:
            row.failed(exc, session.client.clock())
        return [row.rate(*budgets)]


@dataclass
class PageFetch:
    """The requests for one Page."""

    graph: GraphReader
    options: FacebookPageOptions
    ctx: FetchContext
    page_id: str
    account: str

    def rows(self) -> dict[str, list[dict[str, Any]]]:
        """The rows of every kind asked for."""
        fetch, ctx = self.options.fetch, self.ctx
        rows: dict[str, list[dict[str, Any]]] = {}
        posts = self.posts() if "posts" in fetch or "conversations" in fetch else []
        if "posts" in fetch:
            published = in_window(posts, ctx)
            insights = parallel_map(self.post_insights, published)
            rows["post"] = [post_row(p, i, self.account) for p, i in zip(published, insights)]
        if "account_snapshots" in fetch:
            rows["account_snapshot"] = self.snapshots()
        if "conversations" in fetch:
            rows["conversation"] = self.conversations(posts)
        return rows

    def posts(self) -> list[dict[str, Any]]:
        """The Page's posts published from the earliest instant needed to the window's end."""
        options, ctx = self.options, self.ctx
        earliest = earliest_published(ctx, options.fetch, options.comments_lookback_days)
        params = {"fields": POST_FIELDS, "limit": options.page_size,
                  "since": unix_seconds(earliest), "until": unix_seconds(ctx.window_end)}
        items = self.graph.items(self.page_id, "published_posts", params=params,
                                 stop=older_than(earliest, "created_time"))
        return published_between(items, "created_time", earliest, ctx.window_end, ctx=ctx, what="post(s)")

    def post_insights(self, post: dict[str, Any]) -> dict[str, Any]:
        """A post's lifetime insights (video metrics only for videos); ``{}`` if none asked."""
        video = post_format(post) in ("video", "reel")
        metrics = [m for m in self.options.post_metrics if video or m not in VIDEO_ONLY]
        return self.graph.insights(post["id"], metrics=metrics) if metrics else {}

    def snapshots(self) -> list[dict[str, Any]]:
        """One row per day with a value, from daily Page insights, 90 days per request."""
        metrics = self.options.page_metrics
        values: dict[date, dict[str, Any]] = {}
        if metrics:
            values = self.graph.daily_insights_over(self.page_id, metrics=metrics, days=insight_days(self.ctx),
                                                    max_days=MAX_DAYS_PER_CALL)
        return [{"platform": "facebook", "account": self.account, "date": day,
                 **{PAGE_METRICS[m]: count(v.get(m)) for m in metrics}} for day, v in sorted(values.items())]

    def conversations(self, posts: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Comments from the public received in the window, on the posts that have comments."""
        with_comments = [p for p in posts if count(total(p.get("comments"))) != 0]

        def comments_of(post: dict[str, Any]) -> list[dict[str, Any]]:
            items = self.graph.items(post["id"], "comments", params={
                "fields": COMMENT_FIELDS, "filter": "stream", "order": "chronological",
                "limit": self.options.page_size})
            comments = [c for c in (comment(item, self.page_id) for item in items) if c is not None]
            return conversation_rows(comments, platform="facebook", account=self.account, post_id=post["id"],
                                     start=self.ctx.window_start, end=self.ctx.window_end,
                                     post_url=post.get("permalink_url"))

        return [row for rows in parallel_map(comments_of, with_comments) for row in rows]


def total(edge: Any) -> Any:
    """``summary.total_count`` of a ``reactions`` or ``comments`` edge; None when absent."""
    summary = edge.get("summary") if isinstance(edge, dict) else None
    return summary.get("total_count") if isinstance(summary, dict) else None


def post_format(post: dict[str, Any]) -> str | None:
    """The canonical format, from the first attachment, the permalink and the status type."""
    attachments = (post.get("attachments") or {}).get("data") or []
    first = attachments[0] if attachments and isinstance(attachments[0], dict) else {}
    media_type, kind = first.get("media_type") or "", first.get("type") or ""
    status = post.get("status_type") or ""
    if "/reel/" in str(post.get("permalink_url") or ""):
        return "reel"
    if kind == "album" or media_type == "album":
        return "carousel"
    if media_type == "video" or kind.startswith("video") or status == "added_video":
        return "video"
    if media_type == "photo" or kind == "photo" or status == "added_photos":
        return "image"
    if media_type == "link" or kind == "share" or status == "shared_story":
        return "link"
    if not attachments and status in ("mobile_status_update", "status_update", "wall_post", "created_note", ""):
        return "text"
    return None


def post_row(post: dict[str, Any], insights: dict[str, Any], account: str) -> dict[str, Any]:
    """A canonical post from a published post and its insights. Facebook leaves ``shares`` out
    when nobody shared: that stays empty, as every counter the platform does not report."""
    shares = post.get("shares")
    row: dict[str, Any] = {
        "platform": "facebook", "account": account, "post_id": str(post["id"]),
        "published_at": post["_published_at"], "format": post_format(post), "text": post.get("message"),
        "url": post.get("permalink_url"), "thumbnail_url": https_url(post.get("full_picture")),
        "likes": count(total(post.get("reactions"))),
        "comments": count(total(post.get("comments"))),
        "shares": count(shares.get("count")) if isinstance(shares, dict) else None,
    }
    return {**row, **insight_counters(insights, POST_METRICS)}


def comment(item: dict[str, Any], page_id: str) -> Comment | None:
    """A comment or reply of the stream; None when it has no id or created_time. ``from`` is
    only given with the Page's own token: without it, the author is empty."""
    created_at = time_of(item, "created_time")
    if created_at is None or not item.get("id"):
        return None
    author = item.get("from") if isinstance(item.get("from"), dict) else {}
    parent = item.get("parent") if isinstance(item.get("parent"), dict) else {}
    return Comment(str(item["id"]), str(parent["id"]) if parent.get("id") else None, created_at,
                   author.get("name"), item.get("message"), str(author.get("id", "")) == page_id,
                   item.get("permalink_url"))


@hookimpl
def register_sources(register):
    register(FacebookPage)
