"""The ``instagram`` source: posts, daily account figures and comments of professional accounts.

Reads the Instagram Graph API (Facebook Login on graph.facebook.com, or Instagram Login on
graph.instagram.com): the media list and each post's lifetime insights become ``post``
records, the account's daily insights ``account_snapshot`` records, and comments
``conversation`` records. Facts and shapes: ``PLATFORMS.md`` and ``docs/sources/instagram.md``.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Iterable, Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from cmflow import FetchContext, PluginOptions, Source, WebUrl, WholeNumber, hookimpl
from cmflow.http import PermissionMissing, RequestRejected
from cmflow.http import allow_private_network_option

from cmflow.builtin.sources.meta_graph import (GRAPH_FACEBOOK, GRAPH_INSTAGRAM, KIND_OF_FETCH, Comment, Fetch, GraphReader,
                         api_version_field, check_metrics, comments_lookback_field, conversation_rows, count,
                         earliest_published, in_window, insight_counters, insight_days, no_repeats,
                         older_than, pacific_midnight, parallel_map, published_between, record_tables,
                         time_of, unix_seconds, unsupported_metric)
from cmflow.builtin.sources.platform_common import current_count_day, distinct_handles, https_url, run_zone

if TYPE_CHECKING:
    from cmflow import RecordTable
    from cmflow.http import PlatformSession  # the client (httpx, tenacity): imported when a run fetches

MEDIA_FIELDS = "id,caption,media_type,media_product_type,permalink,timestamp,like_count,comments_count"
"""A media item's own fields: asked of the account's own media, and of another account's through
Business Discovery, which gives these alone (no insights: no reach, saves or shares)."""
OWN_MEDIA_FIELDS = MEDIA_FIELDS + ",media_url,thumbnail_url"
"""The account's own media also give their image: ``media_url`` (an image's, a carousel's first),
``thumbnail_url`` (a video's or reel's cover; its ``media_url`` is the video file)."""
USERNAME = re.compile(r"^[A-Za-z0-9._]{1,30}$")
COMMENT_FIELDS = "id,text,timestamp,username,from,parent_id"

MEDIA_METRICS = {"views": "impressions", "reach": "reach", "likes": "likes", "comments": "comments",
                 "shares": "shares", "saved": "saves"}
"""Media insights cmflow reads, and the canonical ``post`` field each one fills."""
STORY_LACKS = frozenset({"likes", "comments", "saved"})
"""Story insights have no likes, comments or saves (Meta answers #100 if asked)."""
ACCOUNT_METRICS = {"reach": "reach", "views": "impressions"}
"""Daily account insights cmflow reads, and the ``account_snapshot`` field each one fills."""

_VIEWS = "use `views`, which replaced it (Instagram changelog, April 2025)"
DEPRECATED_MEDIA_METRICS = {
    "impressions": _VIEWS, "plays": _VIEWS, "clips_replays_count": _VIEWS,
    "ig_reels_aggregated_all_plays_count": _VIEWS,
    "video_views": "removed on 2025-01-08: use `views`",
    "engagement": "removed in v18 (December 2023): use `likes`, `comments`, `shares` and `saved`",
}
DEPRECATED_ACCOUNT_METRICS = {
    "impressions": _VIEWS,
    **{name: "removed on 2025-01-08 with no replacement in the API" for name in (
        "profile_views", "website_clicks", "email_contacts", "get_directions_clicks",
        "phone_call_clicks", "text_message_clicks")},
}
NOT_OFFERED = {
    "keywords": "Instagram offers apps no keyword search of posts",
    "search": "Instagram offers apps no keyword search of posts",
    "hashtags": "Instagram's hashtag search (ig_hashtag_search) gives 24 hours of top media for at most "
                "30 hashtags a week, without authors; cmflow does not read it",
}
MAX_DAYS_PER_CALL = 30
"""Account insights: ``(#100) There cannot be more than 30 days (2592000 s) between since and until``."""


class InstagramOptions(PluginOptions):
    accounts: list[str] = Field(
        min_length=1, description="Instagram professional account ids (the numeric IG user id, not the "
        "@handle). Facebook Login: GET /{page-id}?fields=instagram_business_account gives it.",
        examples=[["17841405822304914"]])
    access_token: SecretStr = Field(
        description="Access token, from the environment: access_token = \"${env:INSTAGRAM_TOKEN}\". "
        "A Facebook Login user token or an Instagram Login token (see login).",
        examples=["${env:INSTAGRAM_TOKEN}"])
    login: Literal["facebook", "instagram"] = Field(
        "facebook", description="How the token was made: facebook (Facebook Login for Business: the "
        "account is linked to a Page, API on graph.facebook.com) or instagram (Business Login for "
        "Instagram, API on graph.instagram.com). Decides the default base_url and the scopes named "
        "in errors.", examples=["instagram"])
    fetch: list[Fetch] = Field(
        ["posts", "account_snapshots"], min_length=1,
        description="What to fetch: posts (media and their insights), account_snapshots (daily "
        "account insights) and conversations (comments, with when the account answered).",
        examples=[["posts", "account_snapshots", "conversations"]])
    media_metrics: list[str] = Field(
        list(MEDIA_METRICS), description="Media insights to read: views (-> impressions), reach, "
        "likes, comments, shares, saved (-> saves). A deprecated name (impressions, plays, "
        "video_views ...) is refused with its replacement.", examples=[["views", "reach", "saved"]])
    account_metrics: list[str] = Field(
        list(ACCOUNT_METRICS), description="Daily account insights to read: reach and views "
        "(-> impressions). Instagram only totals views over a range, so views cost one request "
        "per day; reach comes as a daily series, 30 days per request.", examples=[["reach"]])
    public_accounts: list[str] = Field(
        default_factory=list, description="Usernames of other Instagram professional accounts (competitors) "
        "read through Business Discovery with the first account's token: their posts with likes and comments "
        "(no reach, saves or shares: Instagram keeps them private) and their follower count. Facebook Login "
        "only; list them as a [listen] competitor's accounts to benchmark them.",
        examples=[["ateliernuit", "boulangerie.dupain"]])
    include_stories: bool = Field(
        False, description="Also read stories as posts of format story. The API only lists stories "
        "still live (24 hours): earlier ones are missing, so a weekly count would be wrong.",
        examples=[True])
    comments_lookback_days: WholeNumber = comments_lookback_field()
    page_size: WholeNumber = Field(50, ge=1, le=100, description="Items per page of the media and comment "
                                   "lists (at most 100).", examples=[100])
    api_version: str | None = api_version_field()
    base_url: WebUrl | None = Field(
        None, description="API host, without the version. Default: https://graph.facebook.com "
        "(login = facebook) or https://graph.instagram.com (login = instagram).",
        examples=["https://graph.facebook.com"])
    allow_private_network: bool = allow_private_network_option("an API base URL")

    @model_validator(mode="before")
    @classmethod
    def _refuse_what_instagram_does_not_offer(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key, why in NOT_OFFERED.items():
                if key in data:
                    raise ValueError(f"`{key}`: {why}. Media the account is tagged in and @mentions "
                                     "come only through /tags and Meta webhooks, which cmflow does not "
                                     "read; monitor keywords with another source (rss, mastodon, bluesky)")
        return data

    @field_validator("accounts")
    @classmethod
    def _numeric_ids(cls, accounts: list[str]) -> list[str]:
        for account in accounts:
            if not account.isdigit():
                raise ValueError(f"{account!r} is not an Instagram account id: use the numeric IG user "
                                 "id (e.g. 17841405822304914), not the @handle")
        return accounts

    _no_repeats = field_validator("fetch")(no_repeats)

    @field_validator("public_accounts")
    @classmethod
    def _usernames(cls, usernames: list[str]) -> list[str]:
        return distinct_handles(usernames, USERNAME, "{given!r} is not an Instagram username (letters, digits, "
                                "periods and underscores, at most 30)")

    @model_validator(mode="after")
    def _discovery_needs_facebook_login(self) -> "InstagramOptions":
        if self.public_accounts and self.login != "facebook":
            raise ValueError("public_accounts are read through Business Discovery, which only the Instagram API "
                             "with Facebook Login offers: use login = \"facebook\" (a Facebook Login token)")
        return self

    @field_validator("media_metrics")
    @classmethod
    def _media_metrics(cls, names: list[str]) -> list[str]:
        return check_metrics(names, available=MEDIA_METRICS, deprecated=DEPRECATED_MEDIA_METRICS)

    @field_validator("account_metrics")
    @classmethod
    def _account_metrics(cls, names: list[str]) -> list[str]:
        return check_metrics(names, available=ACCOUNT_METRICS, deprecated=DEPRECATED_ACCOUNT_METRICS)


class Instagram(Source):
    """Posts with their insights, daily account reach and views, and comments, from the
    Instagram Graph API, for each account listed, over exactly the run's window."""

    name = "instagram"
    reads_platform = "instagram"
    description = "Fetch posts and insights, daily account figures and comments from the Instagram Graph API."
    Options = InstagramOptions
    record_kinds = ("post", "account_snapshot", "conversation")
    incremental = True
    per_account_option = "accounts"

    def produces(self) -> set[str]:
        return {KIND_OF_FETCH[f] for f in self.options.fetch}

    def _session(self, ctx: FetchContext) -> PlatformSession:
        """The Graph API session of this source's token, with the scopes its options need."""
        options: InstagramOptions = self.options
        facebook = options.login == "facebook"
        scopes = (("instagram_basic", "instagram_manage_insights", "pages_read_engagement") if facebook
                  else ("instagram_business_basic", "instagram_business_manage_insights"))
        if "conversations" in options.fetch:
            scopes += ("instagram_manage_comments",) if facebook else ("instagram_business_manage_comments",)
        return ctx.http.session(
            "instagram", base_url=options.base_url or (GRAPH_FACEBOOK if facebook else GRAPH_INSTAGRAM),
            allow_private_network=options.allow_private_network,
            token=options.access_token.get_secret_value(), source=self.entry_id,
            api_version=options.api_version, scopes=scopes)

    def part_options(self, index: int) -> dict[str, Any]:
        """The public accounts are read once, by the first account's part."""
        return {} if index == 0 else {"public_accounts": []}

    def fetch(self, ctx: FetchContext) -> Iterable[RecordTable]:
        options: InstagramOptions = self.options
        session = self._session(ctx)
        fetch = AccountFetch(GraphReader(session), options, ctx)
        public = [fetch.public_account(options.accounts[0], username) for username in options.public_accounts
                  if {"posts", "account_snapshots"} & set(options.fetch)]
        tables = record_tables(options.fetch, [*[fetch.account(account_id) for account_id in options.accounts],
                                               *public])
        fetch.report_skipped()
        yield from tables

    def check_credentials(self, ctx: FetchContext) -> list[Any]:
        """The token (debug_token: valid, scopes, expiry) and each account's answer, with the
        usage headers Meta sends (X-App-Usage, X-Business-Use-Case-Usage)."""
        from cmflow import CredentialCheck
        from cmflow.http import PlatformError

        from cmflow.builtin.sources.meta_graph import account_budget, check_meta_token

        options: InstagramOptions = self.options
        session = self._session(ctx)
        facebook, scopes = options.login == "facebook", session.scopes
        graph = GraphReader(session)
        row = CredentialCheck.for_source(self, account=", ".join(options.accounts))
        renew = session.platform.renew_hint
        budgets = []
        try:
            if facebook:
                budgets.append(check_meta_token(row, graph, options.access_token.get_secret_value(), required=scopes, renew=renew,
                                 how="log in again through Facebook Login for Business and grant it "
                                     "(docs/sources/instagram.md, Getting a token)"))
            else:
                me, budget = account_budget(graph, ["me"], "user_id,username")
                budgets.append(budget)
                row.token_valid = True
                row.expiry(None, session.client.clock(), renew=renew, note="unknown")
                row.note("Instagram Login tokens report neither scopes nor expiry: they last 60 days; refresh them "
                         "with GET /refresh_access_token?grant_type=ig_refresh_token before then")
            if row.token_valid is not False:
                names = []
                for account_id in options.accounts:
                    profile, budget = account_budget(graph, [account_id], "id,username")
                    budgets.append(budget)
                    names.append(f"@{profile['username']}" if profile.get("username") else account_id)
                row.account = ", ".join(names)
        except PlatformError as exc:
            row.failed(exc, session.client.clock())
        return [row.rate(*budgets)]


@dataclass
class AccountFetch:
    """The requests for one source's accounts, and what they skipped along the way."""

    graph: GraphReader
    options: InstagramOptions
    ctx: FetchContext
    unsupported: dict[str, set[str]] = field(default_factory=dict)
    """Metrics Meta refused for a post format, not asked again for that format."""
    skipped: dict[str, int] = field(default_factory=dict)
    """Why some posts have no insights (too few viewers ...), with how many."""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def account(self, account_id: str) -> dict[str, list[dict[str, Any]]]:
        """The rows of every kind asked for, for one account."""
        fetch, ctx = self.options.fetch, self.ctx
        profile = self.graph.get(account_id, params={"fields": "id,username,followers_count"})
        account = profile.get("username") or account_id
        rows: dict[str, list[dict[str, Any]]] = {}
        media: list[dict[str, Any]] = []
        if "posts" in fetch or "conversations" in fetch:
            media = self.media(account_id)
        if "posts" in fetch:
            posts = in_window(media, ctx)
            insights = parallel_map(self.media_insights, posts)
            rows["post"] = [post_row(m, i, account) for m, i in zip(posts, insights)]
        if "account_snapshots" in fetch:
            rows["account_snapshot"] = self.snapshots(account_id, account, profile)
        if "conversations" in fetch:
            rows["conversation"] = self.conversations(media, account, profile)
        return rows

    # -- posts ----------------------------------------------------------------------------------
    def media(self, account_id: str) -> list[dict[str, Any]]:
        """The account's media published from the earliest instant needed to the window's end.

        The list comes newest first; paging stops after the first page wholly older than
        needed (a pinned old post at the top of a page does not stop it)."""
        options, ctx = self.options, self.ctx
        earliest = earliest_published(ctx, options.fetch, options.comments_lookback_days)
        params = {"fields": OWN_MEDIA_FIELDS, "limit": options.page_size}
        found = list(self.graph.items(account_id, "media", params=params, stop=older_than(earliest, "timestamp")))
        if options.include_stories:
            found += self.graph.items(account_id, "stories", params=params)
        return published_between(found, "timestamp", earliest, ctx.window_end, ctx=ctx, what="media item(s)")

    def media_insights(self, media: dict[str, Any]) -> dict[str, Any]:
        """A post's lifetime insights; ``{}`` when Meta has none to give for it.

        Meta refuses (#100) a metric a media type does not offer, and which ones those are
        changes with the type and the account: the refused metric is dropped and the request
        repeated, and that format is not asked for it again."""
        post_format = media_format(media)
        while True:
            with self._lock:
                refused = set(self.unsupported.get(post_format or "", ()))
            metrics = [m for m in self.options.media_metrics if m not in refused
                       and not (post_format == "story" and m in STORY_LACKS)]
            if not metrics:
                return {}
            try:
                return self.graph.insights(media["id"], metrics=metrics)
            except PermissionMissing as exc:
                if "not enough viewers" not in exc.message.lower():
                    raise
                self._skip("too few viewers for Meta to show insights")
                return {}
            except RequestRejected as exc:
                text = exc.message.lower()
                if "2108006" in text or "before business account conversion" in text:
                    self._skip("posted before the account became a professional account")
                    return {}
                metric = unsupported_metric(exc.message)
                if exc.code != 100 or metric is None or metric not in metrics:
                    raise
                with self._lock:
                    self.unsupported.setdefault(post_format or "", set()).add(metric)
                self.ctx.log.info("Instagram offers no %s insight for %s posts; not asked again",
                                  metric, post_format or "these")

    def _skip(self, why: str) -> None:
        with self._lock:
            self.skipped[why] = self.skipped.get(why, 0) + 1

    def report_skipped(self) -> None:
        """Tell the run summary how many posts have no insights, and why."""
        for why, number in self.skipped.items():
            self.ctx.warn(f"{number} post(s) have no insights: {why}")

    # -- public accounts (Business Discovery) ---------------------------------------------------
    def public_account(self, viewer_id: str, username: str) -> dict[str, list[dict[str, Any]]]:
        """Another professional account's posts of the window (likes and comments) and follower
        count, through ``GET /{viewer_id}?fields=business_discovery.username(u){...}``; its media
        page on with ``media.after(cursor)`` until a page is wholly older than the window."""
        options, ctx = self.options, self.ctx
        media: list[dict[str, Any]] = []
        cursor, discovered = None, {}
        while True:
            edge = f"media.after({cursor}).limit({options.page_size})" if cursor else f"media.limit({options.page_size})"
            fields = f"business_discovery.username({username}){{username,followers_count,media_count,{edge}{{{MEDIA_FIELDS}}}}}"
            body = self.graph.get(viewer_id, params={"fields": fields})
            discovered = body.get("business_discovery")
            if not isinstance(discovered, dict):
                raise self.graph.bad(f"business_discovery of {username!r} answered without the account", body)
            page = discovered.get("media") if isinstance(discovered.get("media"), dict) else {}
            data = self.graph.data_of(page, f"business_discovery media of {username!r}") if page else []
            media += data
            paging = page.get("paging") if isinstance(page.get("paging"), dict) else {}
            cursor = (paging.get("cursors") or {}).get("after") if paging.get("next") else None
            if not cursor or older_than(ctx.window_start, "timestamp")(data):
                break
        account = str(discovered.get("username") or username)
        posts = in_window(published_between(media, "timestamp", ctx.window_start, ctx.window_end, ctx=ctx,
                                            what="media item(s)"), ctx)
        rows: dict[str, list[dict[str, Any]]] = {}
        if "posts" in options.fetch:
            rows["post"] = [post_row(m, {}, account) for m in posts]
        if "account_snapshots" in options.fetch:
            day = current_count_day(ctx, self.graph.session.client.clock(), "Instagram")
            followers = count(discovered.get("followers_count"))
            rows["account_snapshot"] = [] if day is None or followers is None else [
                {"platform": "instagram", "account": account, "date": day, "followers": followers}]
        return rows

    # -- account snapshots ----------------------------------------------------------------------
    def snapshots(self, account_id: str, account: str, profile: dict[str, Any]) -> list[dict[str, Any]]:
        """One row per day with a value: daily reach (a series, 30 days per request), daily
        views (a total per request, so one request per day), and the follower count on the day
        the run fetched it if that day is in the window (Instagram keeps no follower history)."""
        days = insight_days(self.ctx)
        metrics = self.options.account_metrics
        values: dict[date, dict[str, Any]] = {}
        if "reach" in metrics:
            values = self.graph.daily_insights_over(account_id, metrics=["reach"], days=days,
                                                    max_days=MAX_DAYS_PER_CALL)
        if "views" in metrics:
            def views_on(day: date) -> Any:
                return self.graph.insights(account_id, metrics=["views"], params={
                    "period": "day", "metric_type": "total_value",
                    "since": unix_seconds(pacific_midnight(day)),
                    "until": unix_seconds(pacific_midnight(day + timedelta(days=1)))}).get("views")

            for day, views in zip(days, parallel_map(views_on, days)):
                if views is not None:
                    values.setdefault(day, {})["views"] = views
        today = datetime.fromtimestamp(self.graph.session.client.clock(), run_zone(self.ctx)).date()
        followers = count(profile.get("followers_count"))
        if followers is not None and today in days:
            values.setdefault(today, {})["followers"] = followers
        return [{"platform": "instagram", "account": account, "date": day,
                 "followers": count(v.get("followers")), "reach": count(v.get("reach")),
                 "impressions": count(v.get("views"))} for day, v in sorted(values.items())]

    # -- conversations --------------------------------------------------------------------------
    def conversations(self, media: list[dict[str, Any]], account: str,
                      profile: dict[str, Any]) -> list[dict[str, Any]]:
        """Comments from the public received in the window, on the media that can hold them."""
        with_comments = [m for m in media if count(m.get("comments_count")) != 0]
        account_id, username = str(profile.get("id") or ""), str(profile.get("username") or "").lower()

        def comments_of(item: dict[str, Any]) -> list[dict[str, Any]]:
            comments = [comment(c, account_id, username) for c in self.thread(item["id"])]
            return conversation_rows([c for c in comments if c is not None], platform="instagram",
                                     account=account, post_id=item["id"], start=self.ctx.window_start,
                                     end=self.ctx.window_end, post_url=item.get("permalink"))

        return [row for rows in parallel_map(comments_of, with_comments) for row in rows]

    def thread(self, media_id: str) -> list[dict[str, Any]]:
        """Every comment of a post and every reply under them (more pages of replies included)."""
        fields = f"{COMMENT_FIELDS},replies{{{COMMENT_FIELDS}}}"
        found = []
        for top in self.graph.items(media_id, "comments", params={"fields": fields, "limit": self.options.page_size}):
            replies = top.pop("replies", None) or {}
            found.append(top)
            data = replies.get("data") if isinstance(replies, dict) else None
            found += [{"parent_id": top.get("id"), **r} for r in data or [] if isinstance(r, dict)]
            more = (replies.get("paging") or {}).get("next") if isinstance(replies, dict) else None
            if more:
                later = self.graph.items_at(more, f"{top.get('id')}/replies")
                found += [{"parent_id": top.get("id"), **r} for r in later]
        return found


def media_format(media: dict[str, Any]) -> str | None:
    """The canonical format: Meta's product type (story, reel) first, then the media type."""
    product, kind = media.get("media_product_type"), media.get("media_type")
    if product == "STORY":
        return "story"
    if product == "REELS":
        return "reel"
    return {"CAROUSEL_ALBUM": "carousel", "VIDEO": "video", "IMAGE": "image"}.get(kind)


def media_thumbnail(media: dict[str, Any]) -> str | None:
    """The image of a media item: a video's cover (``thumbnail_url``), else its ``media_url``
    unless that is a video file (a video without a cover: Meta leaves it out when the video has
    copyrighted music)."""
    if media.get("thumbnail_url"):
        return https_url(media["thumbnail_url"])
    return None if media.get("media_type") == "VIDEO" else https_url(media.get("media_url"))


def post_row(media: dict[str, Any], insights: dict[str, Any], account: str) -> dict[str, Any]:
    """A canonical post from a media item and its insights (likes and comments fall back on the
    media's own counters when the insight is missing)."""
    row: dict[str, Any] = {
        "platform": "instagram", "account": account, "post_id": str(media["id"]),
        "published_at": media["_published_at"], "format": media_format(media),
        "text": media.get("caption"), "url": media.get("permalink"), "thumbnail_url": media_thumbnail(media),
        "likes": count(media.get("like_count")), "comments": count(media.get("comments_count")),
    }
    return {**row, **insight_counters(insights, MEDIA_METRICS)}


def comment(item: dict[str, Any], account_id: str, username: str) -> Comment | None:
    """A comment or reply; None when it has no id or timestamp."""
    created_at = time_of(item, "timestamp")
    if created_at is None or not item.get("id"):
        return None
    comment_id = str(item["id"])
    author_from = item.get("from") if isinstance(item.get("from"), dict) else {}
    author = item.get("username") or author_from.get("username")
    by_account = (bool(account_id) and str(author_from.get("id", "")) == account_id) or \
        (bool(username) and str(author or "").lower() == username)
    parent = item.get("parent_id")
    return Comment(comment_id, str(parent) if parent else None, created_at, author, item.get("text"), by_account)


@hookimpl
def register_sources(register):
    register(Instagram)
