"""The ``youtube`` source: a channel's videos, daily channel figures and comment threads.

Videos come from the YouTube Data API v3 (the channel's uploads playlist, then ``videos.list``
for their statistics), daily figures from the YouTube Analytics API (``reports``, one row per
day; owners only: another's channel, a competitor's, gives its public subscriber count from
``channels.list`` instead), comment threads from ``commentThreads.list``. The Data API is
priced in quota units (10,000 a day per Google Cloud project, 1 unit per list call here): the
source spends at most ``max_quota_units`` in a run, through the HTTP kit's unit budget.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Literal, Optional

from pydantic import Field, SecretStr, field_validator

from cmflow import PluginOptions, RecordTable, Source, WebUrl, WholeNumber, hookimpl

from cmflow.builtin.sources.google_api import (SCOPE_PREFIX, GoogleCredentials, access_token, as_int, require_list, require_object,
                         unexpected, window_days)
from cmflow.builtin.sources.platform_common import current_count_day, https_url, parse_instant

if TYPE_CHECKING:
    from cmflow import FetchContext
    from cmflow.http import PlatformSession

YOUTUBE_READONLY = SCOPE_PREFIX + "youtube.readonly"
YT_ANALYTICS_READONLY = SCOPE_PREFIX + "yt-analytics.readonly"
FETCHABLE = {"posts": "post", "account_snapshots": "account_snapshot", "conversations": "conversation"}
"""Values of the ``fetch`` option and the record kind each gives."""
YOUTUBE_BROADER_SCOPES = {
    YOUTUBE_READONLY: (SCOPE_PREFIX + "youtube", SCOPE_PREFIX + "youtube.force-ssl"),
    YT_ANALYTICS_READONLY: (SCOPE_PREFIX + "yt-analytics-monetary.readonly",),
}
"""Scopes that include the read-only ones the source asks for (``cmflow doctor`` accepts them)."""
DAILY_METRICS = ("views", "subscribersGained", "subscribersLost")
VIDEOS_PER_CALL = 50
"""``videos.list`` takes at most 50 ids."""

CHANNELS = "/youtube/v3/channels"
PLAYLIST_ITEMS = "/youtube/v3/playlistItems"
VIDEOS = "/youtube/v3/videos"
COMMENT_THREADS = "/youtube/v3/commentThreads"
COMMENTS = "/youtube/v3/comments"
REPORTS = "/v2/reports"


class YoutubeOptions(GoogleCredentials, PluginOptions):
    token: Optional[SecretStr] = Field(
        None, description="OAuth 2.0 access token of the Google account that owns or manages the "
        "channel, with the youtube.readonly and yt-analytics.readonly scopes. Write "
        "token = \"${env:YOUTUBE_TOKEN}\". Google access tokens last one hour: for scheduled runs "
        "give refresh_token, client_id and client_secret instead.", examples=["${env:YOUTUBE_TOKEN}"])
    channel_id: str | None = Field(
        None, pattern=r"^UC[A-Za-z0-9_-]{22}$",
        description="Id of the channel to read (UC followed by 22 characters). Default: the "
        "channel of the token's account. Daily figures need the token's own channel; another's "
        "(a competitor's) gives its videos and its public subscriber count.",
        examples=["UCx5kZ3pQ7mLw9RtYb2NcD4e"])
    account: str | None = Field(
        None, description="Account name given to the records. Default: the channel's handle "
        "(@name), else its id.", examples=["@maisonlumiere"])
    fetch: list[Literal["posts", "account_snapshots", "conversations"]] = Field(
        default_factory=lambda: ["posts", "account_snapshots"], min_length=1,
        description="What to fetch: posts (the channel's videos published in the period, with "
        "their statistics), account_snapshots (daily views and subscribers; for another's "
        "channel, its public subscriber count on the day of the run) and/or "
        "conversations (comment threads received, with when the channel answered).",
        examples=[["posts", "account_snapshots", "conversations"]])
    look_up_replies: bool = Field(
        True, description="For conversations: when a comment thread shows only some of its "
        "replies and none from the channel, read all of them (comments.list, 1 quota unit per "
        "thread) to find the channel's answer. Off: such threads count as unanswered.",
        examples=[False])
    max_quota_units: WholeNumber = Field(
        10_000, ge=1, description="Data API quota units this source may spend in one run (every "
        "call it makes costs 1 unit; Analytics reports are not counted in them). The project's "
        "10,000 units a day are shared by every workflow and app using it: lower this when "
        "several share it.", examples=[2000])
    base_url: WebUrl = Field(
        "https://www.googleapis.com", description="Where the YouTube Data API lives (its "
        "/youtube/v3 paths go under it). Change it only for a proxy or tests.",
        examples=["http://127.0.0.1:8080"])
    analytics_base_url: WebUrl = Field(
        "https://youtubeanalytics.googleapis.com", description="Where the YouTube Analytics API "
        "lives (its /v2/reports path goes under it). Change it only for a proxy or tests.",
        examples=["http://127.0.0.1:8080"])

    @field_validator("fetch")
    @classmethod
    def _each_once(cls, value: list[str]) -> list[str]:
        repeated = sorted({v for v in value if value.count(v) > 1})
        if repeated:
            raise ValueError(f"{', '.join(repeated)} listed more than once")
        return value


@dataclass(frozen=True)
class Channel:
    """What ``channels.list`` says about the channel, as the rest of the fetch needs it."""

    id: str
    account: str
    uploads_playlist: str | None
    video_count: int | None
    subscribers: int | None
    """Subscriber count now (rounded by YouTube to 3 significant figures); None when hidden."""
    subscribers_hidden: bool = False
    """Whether the channel hides its subscriber count (``hiddenSubscriberCount``)."""


class YoutubeSource(Source):
    """Reads one YouTube channel through the Data API v3 and the Analytics API.

    - **posts**: the videos of the channel's uploads playlist published in the period, with
      ``videos.list`` statistics: ``viewCount`` becomes video_views, ``likeCount`` likes,
      ``commentCount`` comments. A count the channel hides, or comments turned off, stay empty,
      never 0. The Data API reports no shares, saves, reach or impressions.
    - **account_snapshots**: one per day from the Analytics API (days in Pacific time): views
      become impressions, and followers are derived from the channel's subscriber count now
      minus the subscribers gained (net) after that day, so growth between two days is exact
      while the level carries YouTube's rounding. Analytics lags 2-3 days behind. For another's
      channel (``channel_id`` not the token's own: a competitor's), whose Analytics only its
      owners read, one snapshot on the run's day: followers are its public ``subscriberCount``
      (none when the channel hides it).
    - **conversations**: top-level comments received in the period on the channel's videos;
      replied_at is the channel's first reply.
    """

    name = "youtube"
    reads_platform = "youtube"
    description = "Fetch a YouTube channel's videos, daily views and subscribers, and comment threads."
    Options = YoutubeOptions
    record_kinds = ("post", "account_snapshot", "conversation")
    incremental = True
    sample_options = {"token": "${env:YOUTUBE_TOKEN}"}  # or refresh_token, client_id, client_secret

    def produces(self) -> set[str]:
        return {FETCHABLE[item] for item in self.options.fetch}

    def fetch(self, ctx: FetchContext) -> Iterable[RecordTable]:
        from cmflow.http import BudgetLimits, RateLimited

        options: YoutubeOptions = self.options
        token = access_token(ctx, options, "youtube", self.entry_id)
        data = ctx.http.session("youtube", allow_private_network=options.allow_private_network,
                                base_url=options.base_url, token=token, source=self.entry_id,
                                scopes=(YOUTUBE_READONLY,),
                                budget=BudgetLimits(unit_limit=options.max_quota_units))
        analytics = ctx.http.session("youtube", allow_private_network=options.allow_private_network,
                                     base_url=options.analytics_base_url, token=token,
                                     source=self.entry_id, scopes=(YT_ANALYTICS_READONLY,))
        try:
            return list(self._tables(ctx, data, analytics))
        except RateLimited as exc:
            limit, spent = data.budget.limits.unit_limit, data.budget.units_spent
            if exc.retry_at is not None or limit is None or spent < limit:
                raise
            raise RateLimited(exc.message, platform=exc.platform, source=exc.source, hint=(
                f"Raise the source option `max_quota_units` (now {limit}) if the project's daily "
                "quota allows, or fetch less in one run (a shorter period, no conversations)")) from None

    def check_credentials(self, ctx: FetchContext) -> list[Any]:
        """Google's tokeninfo (valid, scopes, expiry), then the channel (channels.list, 1 unit).
        With ``channel_id`` and account snapshots, the token's own channel id too (1 unit): the
        Analytics scope is needed for the token's own channel only. The Data API reports no
        quota left: the row says so."""
        from cmflow import CredentialCheck
        from cmflow.http import BudgetLimits, PlatformError

        from cmflow.builtin.sources.google_api import GOOGLE_TOKEN_LIFETIME, google_expiry, tokeninfo

        options: YoutubeOptions = self.options
        token = access_token(ctx, options, "youtube", self.entry_id)
        data = ctx.http.session("youtube", allow_private_network=options.allow_private_network,
                                base_url=options.base_url, token=token, source=self.entry_id,
                                scopes=(YOUTUBE_READONLY,),
                                budget=BudgetLimits(unit_limit=options.max_quota_units))
        row = CredentialCheck.for_source(self, account=options.account or options.channel_id or "the token's channel",
                        budget=f"YouTube quota: not reported by the API (10,000 units a day per project; this "
                               f"source spends at most {options.max_quota_units})")
        now = ctx.http.clock()
        try:
            info = tokeninfo(ctx, token, self.entry_id, options.allow_private_network)
            row.token_valid = True
            granted = str(info.get("scope") or "").split()
            reads_channels = bool({YOUTUBE_READONLY, *YOUTUBE_BROADER_SCOPES[YOUTUBE_READONLY]} & set(granted))
            daily = "account_snapshots" in options.fetch and (
                options.channel_id is None or not reads_channels or token_channel_id(data) == options.channel_id)
            required = [YOUTUBE_READONLY] + ([YT_ANALYTICS_READONLY] if daily else [])
            row.scopes(granted, required, covers=YOUTUBE_BROADER_SCOPES,
                       how="authorise again as the channel's account with that scope "
                           "(docs/sources/youtube.md, Permissions and tokens)")
            row.expiry(google_expiry(info, now), now, renew=data.platform.renew_hint,
                       lifetime=GOOGLE_TOKEN_LIFETIME)
            if YOUTUBE_READONLY not in row.scopes_missing:
                row.account = read_channel(data, options).account
        except PlatformError as exc:
            row.failed(exc, now)
        return [row]

    def _tables(self, ctx: FetchContext, data: "PlatformSession",
                analytics: "PlatformSession") -> Iterator[RecordTable]:
        options: YoutubeOptions = self.options
        channel = read_channel(data, options)
        if "posts" in options.fetch:
            yield RecordTable.from_rows("post", video_rows(ctx, data, channel))
        if "account_snapshots" in options.fetch:
            if options.channel_id is None or token_channel_id(data) == channel.id:
                rows = daily_rows(ctx, analytics, channel, options)
            else:  # another's channel: Analytics answers its owners only
                rows = public_snapshot_rows(ctx, data, channel)
            yield RecordTable.from_rows("account_snapshot", rows)
        if "conversations" in options.fetch:
            yield RecordTable.from_rows("conversation", comment_rows(ctx, data, channel, options))


def read_channel(session: "PlatformSession", options: YoutubeOptions) -> Channel:
    """The channel named by ``channel_id``, or the token's own (``mine=true``)."""
    params: dict[str, Any] = {"part": "snippet,contentDetails,statistics"}
    params.update({"id": options.channel_id} if options.channel_id else {"mine": "true"})
    body = require_object(session.get_json(CHANNELS, params=params), session, "channels.list")
    items = require_list(body, "items", session, "channels.list")
    if not items or not isinstance(items[0], dict) or not items[0].get("id"):
        whose = (f"no channel has the id {options.channel_id}" if options.channel_id
                 else "the token's Google account has no YouTube channel")
        raise unexpected(session, f"channels.list found no channel: {whose}",
                         hint="Check channel_id, or create the token while signed in as the account "
                         "(or brand account) that owns the channel")
    item = items[0]
    snippet = item.get("snippet") or {}
    statistics = item.get("statistics") or {}
    uploads = ((item.get("contentDetails") or {}).get("relatedPlaylists") or {}).get("uploads")
    hidden = statistics.get("hiddenSubscriberCount") is True
    return Channel(id=item["id"], account=options.account or snippet.get("customUrl") or item["id"],
                   uploads_playlist=uploads, video_count=as_int(statistics.get("videoCount")),
                   subscribers=None if hidden else as_int(statistics.get("subscriberCount")),
                   subscribers_hidden=hidden)


def token_channel_id(session: "PlatformSession") -> str | None:
    """The id of the token's own channel (``channels.list?part=id&mine=true``, 1 quota unit), or
    None when its Google account has none: what tells a channel of the token's account, whose
    daily figures Analytics gives, from another's (a competitor's)."""
    body = require_object(session.get_json(CHANNELS, params={"part": "id", "mine": "true"}), session,
                          "channels.list")
    items = require_list(body, "items", session, "channels.list")
    return items[0].get("id") if items and isinstance(items[0], dict) else None


def public_snapshot_rows(ctx: FetchContext, session: "PlatformSession", channel: Channel) -> list[dict[str, Any]]:
    """Another's channel (a competitor's): its public subscriber count from ``channels.list``
    statistics, as followers on the day the run reads it (YouTube gives no history of it to any
    but the owners), dated as Bluesky's and Instagram's public counts are. None when the channel
    hides its count or the window is too old for the count of now to stand for one of its days."""
    day = current_count_day(ctx, session.client.clock(), "YouTube")
    if day is None:
        return []
    if channel.subscribers_hidden or channel.subscribers is None:
        ctx.warn(f"no account snapshot for YouTube channel {channel.account}: it hides its subscriber "
                 "count (hiddenSubscriberCount), which only its owners can read")
        return []
    return [{"platform": "youtube", "account": channel.account, "date": day, "followers": channel.subscribers}]


def in_window(ctx: FetchContext, instant: datetime) -> bool:
    """Whether ``instant`` falls in the run's window ``[window_start, window_end)``."""
    return ctx.window_start <= instant < ctx.window_end


def video_rows(ctx: FetchContext, session: "PlatformSession", channel: Channel) -> list[dict[str, Any]]:
    """The channel's videos published in the window, as post rows."""
    from cmflow.http import PageToken

    if not channel.uploads_playlist or channel.video_count == 0:
        return []  # a channel without videos may have no readable uploads playlist
    video_ids: list[str] = []
    pages = session.pages(PLAYLIST_ITEMS, paging=PageToken(), params={
        "part": "contentDetails", "playlistId": channel.uploads_playlist, "maxResults": 50})
    for page in pages:
        items = require_list(require_object(page, session, "playlistItems.list"), "items", session,
                             "playlistItems.list")
        published = []
        for item in items:
            details = (item.get("contentDetails") or {}) if isinstance(item, dict) else {}
            if not details.get("videoId") or not details.get("videoPublishedAt"):
                continue  # a private or deleted video
            instant = parse_instant(details["videoPublishedAt"])
            published.append(instant)
            if in_window(ctx, instant):
                video_ids.append(details["videoId"])
        # The uploads playlist lists the newest first: a page wholly before the window ends it.
        if published and max(published) < ctx.window_start:
            break
    rows = []
    unique_ids = list(dict.fromkeys(video_ids))
    for start in range(0, len(unique_ids), VIDEOS_PER_CALL):
        batch = unique_ids[start:start + VIDEOS_PER_CALL]
        answer = session.get_json(VIDEOS, params={"part": "snippet,statistics", "id": ",".join(batch)})
        body = require_object(answer, session, "videos.list")
        for video in require_list(body, "items", session, "videos.list"):
            row = post_row(video, channel.account, session)
            if in_window(ctx, row["published_at"]):
                rows.append(row)
    return rows


def post_row(video: Any, account: str, session: "PlatformSession") -> dict[str, Any]:
    """One canonical post from a ``videos.list`` item (statistics are strings; absent stays None)."""
    try:
        snippet, statistics = video["snippet"], video.get("statistics") or {}
        video_id = video["id"]
        published_at = parse_instant(snippet["publishedAt"])
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise unexpected(session, f"videos.list answered a video without a readable {exc}") from None
    return {
        "platform": "youtube", "account": account, "post_id": video_id, "published_at": published_at,
        "format": "video", "text": snippet.get("title"), "url": f"https://www.youtube.com/watch?v={video_id}",
        "thumbnail_url": video_thumbnail(snippet),
        "likes": as_int(statistics.get("likeCount")), "comments": as_int(statistics.get("commentCount")),
        "video_views": as_int(statistics.get("viewCount")),
    }


THUMBNAIL_SIZES = ("medium", "high", "default")
"""The ``snippet.thumbnails`` sizes a report's small image takes, in order: ``medium`` (320 ×
180) is the video's own 16:9 frame; ``high`` and ``default`` are 4:3, with black bands."""


def video_thumbnail(snippet: dict[str, Any]) -> str | None:
    """The video's cover from ``snippet.thumbnails``, in the first of :data:`THUMBNAIL_SIZES` given."""
    thumbnails = snippet.get("thumbnails")
    for size in THUMBNAIL_SIZES if isinstance(thumbnails, dict) else ():
        if isinstance(thumbnails.get(size), dict) and (url := https_url(thumbnails[size].get("url"))):
            return url
    return None


def pacific_today(session: "PlatformSession") -> date:
    """Today in Los Angeles, where YouTube Analytics days begin and end."""
    from zoneinfo import ZoneInfo

    return datetime.fromtimestamp(session.client.clock(), ZoneInfo("America/Los_Angeles")).date()


def daily_rows(ctx: FetchContext, session: "PlatformSession", channel: Channel,
               options: YoutubeOptions) -> list[dict[str, Any]]:
    """One account snapshot per day of the window that YouTube Analytics reports."""
    first_day, last_day = window_days(ctx.window_start, ctx.window_end)
    # Read up to today: the gains after the window are what derives the follower counts in it.
    params = {"ids": f"channel=={options.channel_id}" if options.channel_id else "channel==MINE",
              "startDate": first_day.isoformat(), "endDate": max(last_day, pacific_today(session)).isoformat(),
              "metrics": ",".join(DAILY_METRICS), "dimensions": "day", "sort": "day"}
    body = require_object(session.get_json(REPORTS, params=params, cost=0), session, "reports.query")
    rows = require_list(body, "rows", session, "reports.query")
    if not rows:
        return []
    headers = [h.get("name") if isinstance(h, dict) else None
               for h in require_list(body, "columnHeaders", session, "reports.query")]
    missing = [name for name in ("day", *DAILY_METRICS) if name not in headers]
    if missing:
        raise unexpected(session, f"reports.query answered rows without the column(s) {', '.join(missing)}")
    column = {name: index for index, name in enumerate(headers)}
    try:
        days = sorted(((date.fromisoformat(row[column["day"]]), row) for row in rows), key=lambda pair: pair[0])
        snapshots, gained_after = [], 0
        for day, row in reversed(days):
            followers = None if channel.subscribers is None else channel.subscribers - gained_after
            gained = as_int(row[column["subscribersGained"]]) or 0
            gained_after += gained - (as_int(row[column["subscribersLost"]]) or 0)
            if first_day <= day <= last_day:
                snapshots.append({"platform": "youtube", "account": channel.account, "date": day,
                                  "followers": followers, "impressions": as_int(row[column["views"]])})
    except (IndexError, TypeError, ValueError) as exc:
        raise unexpected(session, f"reports.query answered a row that does not fit its columns ({exc})") from None
    return snapshots[::-1]


def comment_rows(ctx: FetchContext, session: "PlatformSession", channel: Channel,
                 options: YoutubeOptions) -> list[dict[str, Any]]:
    """Top-level comments received in the window on the channel, and the channel's first reply."""
    from cmflow.http import PageToken

    rows = []
    pages = session.pages(COMMENT_THREADS, paging=PageToken(), params={
        "part": "snippet,replies", "allThreadsRelatedToChannelId": channel.id, "order": "time",
        "maxResults": 100, "textFormat": "plainText"})
    for page in pages:
        threads = require_list(require_object(page, session, "commentThreads.list"), "items", session,
                               "commentThreads.list")
        received = []
        for thread in threads:
            row, author_channel = thread_row(thread, channel, session)
            received.append(row["received_at"])
            if author_channel == channel.id or not in_window(ctx, row["received_at"]):
                continue  # outside the window, or the channel's own comment (not received)
            shown = ((thread.get("replies") or {}).get("comments")) or []
            row["replied_at"] = first_reply_by(channel.id, shown, row["received_at"])
            total = as_int((thread.get("snippet") or {}).get("totalReplyCount")) or 0
            if row["replied_at"] is None and options.look_up_replies and total > len(shown):
                row["replied_at"] = first_reply_by(channel.id, all_replies(session, row["message_id"]),
                                                   row["received_at"])
            rows.append(row)
        # order=time lists the newest threads first: a page wholly before the window ends it.
        if received and max(received) < ctx.window_start:
            break
    return rows


def thread_row(thread: Any, channel: Channel, session: "PlatformSession") -> tuple[dict[str, Any], str | None]:
    """A conversation row from a comment thread, and the channel id of the comment's author."""
    try:
        comment = thread["snippet"]["topLevelComment"]
        snippet = comment["snippet"]
        received_at = parse_instant(snippet["publishedAt"])
        message_id = comment["id"]
    except (KeyError, TypeError, ValueError) as exc:
        raise unexpected(session, f"commentThreads.list answered a thread without a readable {exc}") from None
    row = {"platform": "youtube", "account": channel.account, "message_id": message_id,
           "received_at": received_at, "replied_at": None, "author": snippet.get("authorDisplayName"),
           "text": snippet.get("textOriginal", snippet.get("textDisplay")),
           "post_id": thread["snippet"].get("videoId"), "url": comment_url(thread["snippet"].get("videoId"), message_id)}
    return row, (snippet.get("authorChannelId") or {}).get("value")


def comment_url(video_id: Any, comment_id: Any) -> str | None:
    """The link YouTube gives a comment (its date's link: the video with the comment shown
    first, ``&lc=``); the API has no permalink field. None for a comment on the channel itself."""
    from urllib.parse import quote

    if not isinstance(video_id, str) or not video_id or not isinstance(comment_id, str) or not comment_id:
        return None
    return f"https://www.youtube.com/watch?v={quote(video_id, safe='')}&lc={quote(comment_id, safe='')}"


def first_reply_by(channel_id: str, replies: Iterable[Any], after: datetime) -> datetime | None:
    """When ``channel_id`` first replied (at or after ``after``), or None."""
    times = []
    for reply in replies:
        snippet = reply.get("snippet") if isinstance(reply, dict) else None
        if not isinstance(snippet, dict) or not snippet.get("publishedAt"):
            continue
        if (snippet.get("authorChannelId") or {}).get("value") == channel_id:
            instant = parse_instant(snippet["publishedAt"])
            if instant >= after:
                times.append(instant)
    return min(times, default=None)


def all_replies(session: "PlatformSession", thread_id: str) -> Iterator[Any]:
    """Every reply of a comment thread (``comments.list?parentId=``), page by page."""
    from cmflow.http import PageToken

    pages = session.pages(COMMENTS, paging=PageToken(), params={
        "part": "snippet", "parentId": thread_id, "maxResults": 100, "textFormat": "plainText"})
    for page in pages:
        yield from require_list(require_object(page, session, "comments.list"), "items", session, "comments.list")


@hookimpl
def register_sources(register):
    register(YoutubeSource)
