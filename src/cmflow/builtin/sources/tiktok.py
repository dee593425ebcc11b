"""The ``tiktok`` source: a TikTok account's videos and follower count, from the Display API.

``POST /v2/video/list/`` pages by a cursor in the JSON body (a time in epoch milliseconds:
videos created before it), so the first request starts at the window's end and the reading
stops once videos are older than the window's start. ``GET /v2/user/info/`` gives the current
follower count only: it becomes one account snapshot.

Comments and mentions are not offered: the Display API has none, and the Research API that
has them is reserved to non-commercial academic research. Asking for them is refused when the
workflow is validated.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Iterable, Literal

from pydantic import Field, SecretStr, field_validator

from cmflow import PluginOptions, RecordTable, Source, WebUrl, WholeNumber, hookimpl
from cmflow.http import allow_private_network_option

from cmflow.builtin.sources import platform_common
from cmflow.builtin.sources.platform_common import dig, https_url, run_zone, window_dates

if TYPE_CHECKING:
    from cmflow import FetchContext
    from cmflow.http import PlatformSession

PLATFORM = "tiktok"
VIDEO_FIELDS = ("id,title,video_description,create_time,share_url,duration,cover_image_url,"
                "like_count,comment_count,share_count,view_count")
USER_FIELDS = "open_id,display_name,follower_count,following_count,likes_count,video_count"
VIDEO_SCOPES = ("video.list",)
USER_SCOPES = ("user.info.basic", "user.info.stats")
NOT_OFFERED = {
    "conversations": "comments", "comments": "comments", "mentions": "mentions",
}
NOT_OFFERED_WHY = (
    "TikTok does not offer {what} to commercial apps: the Display API has none, and the Research API "
    "that has them is only for non-commercial academic research. Remove {given!r} from fetch "
    "(posts and account_snapshots are available)")

Fetchable = Literal["posts", "account_snapshots"]
RECORD_KIND_OF = {"posts": "post", "account_snapshots": "account_snapshot"}


class TikTokOptions(PluginOptions):
    account: str = Field(
        description="Name given to the account's records. The token decides which account is read "
        "(a Display API token belongs to one TikTok user).", examples=["@maisonlumiere"])
    token: SecretStr = Field(
        description="A Display API user access token with video.list, user.info.basic and "
        "user.info.stats. Write token = \"${env:TIKTOK_TOKEN}\".", examples=["${env:TIKTOK_TOKEN}"])
    fetch: list[Fetchable] = Field(
        ["posts", "account_snapshots"], min_length=1,
        description="What to fetch: posts (the account's public videos with their counters) and/or "
        "account_snapshots (the follower count). TikTok offers no comments or mentions to "
        "commercial apps.", examples=[["posts"]])
    snapshot_date: Literal["yesterday", "today"] = Field(
        "yesterday",
        description="The day the follower count read at fetch time is filed under (TikTok gives no "
        "history): yesterday suits a run the morning after its period (every monday for last_week), "
        "today dates it the day it was read. Days use the workflow's time zone.",
        examples=["today"])
    page_size: WholeNumber = Field(
        20, ge=1, le=20, description="Videos asked for per request (TikTok's max_count, at most 20).",
        examples=[20])
    base_url: WebUrl = Field(
        "https://open.tiktokapis.com", description="Where the API lives (tests point it at a replay server).",
        examples=["https://open.tiktokapis.com"])
    allow_private_network: bool = allow_private_network_option("an API base URL")

    @field_validator("fetch", mode="before")
    @classmethod
    def _refuse_what_tiktok_does_not_offer(cls, value: Any) -> Any:
        for given in value if isinstance(value, list) else [value]:
            if isinstance(given, str) and given in NOT_OFFERED:
                raise ValueError(NOT_OFFERED_WHY.format(what=NOT_OFFERED[given], given=given))
        return value


class TikTok(Source):
    """Reads a TikTok account's public videos and its follower count (Display API).

    Videos become posts (format video): likes, comments, shares and views as TikTok counts them
    (``view_count`` fills both impressions and video_views). TikTok reports no reach, saves or
    clicks: those stay empty. The follower count is a snapshot of the moment of the fetch,
    filed under the day ``snapshot_date`` says, when that day is in the window.
    """

    name = "tiktok"
    reads_platform = "tiktok"
    description = "Fetch a TikTok account's videos and follower count (Display API; no comments)."
    Options = TikTokOptions
    record_kinds = ("post", "account_snapshot")
    incremental = True

    def produces(self) -> set[str]:
        return {RECORD_KIND_OF[what] for what in self.options.fetch}

    def fetch(self, ctx: FetchContext) -> Iterable[RecordTable]:
        options: TikTokOptions = self.options
        http = ctx.http

        def session(*scopes: str) -> "PlatformSession":  # one budget either way: same platform and token
            return http.session(PLATFORM, allow_private_network=options.allow_private_network,
                                base_url=options.base_url, token=options.token.get_secret_value(),
                                source=self.entry_id, scopes=scopes)

        if "posts" in options.fetch:
            yield RecordTable.from_rows("post", self._videos(session(*VIDEO_SCOPES), ctx))
        if "account_snapshots" in options.fetch:
            now = datetime.fromtimestamp(http.clock(), timezone.utc)
            yield RecordTable.from_rows("account_snapshot", self._snapshot(session(*USER_SCOPES), ctx, now))

    def check_credentials(self, ctx: FetchContext) -> list[Any]:
        """One cheap request per scope the fetch needs: a one-video list (video.list) and the
        user's follower count (user.info.basic, user.info.stats). TikTok reports no expiry and
        sends no rate headers."""
        from cmflow import CredentialCheck
        from cmflow.http import PermissionMissing, PlatformError, get_platform

        options: TikTokOptions = self.options
        http = ctx.http

        def session(*scopes: str) -> "PlatformSession":
            return http.session(PLATFORM, allow_private_network=options.allow_private_network,
                                base_url=options.base_url, token=options.token.get_secret_value(),
                                source=self.entry_id, scopes=scopes)

        probes = []
        if "posts" in options.fetch:
            videos = session(*VIDEO_SCOPES)
            probes.append((VIDEO_SCOPES, lambda: videos.post_json(
                "/v2/video/list/", {"max_count": 1}, params={"fields": "id,create_time"})))
        if "account_snapshots" in options.fetch:
            user = session(*USER_SCOPES)
            probes.append((USER_SCOPES, lambda: user.get_json(
                "/v2/user/info/", params={"fields": "open_id,display_name,follower_count"})))
        row = CredentialCheck.for_source(self, account=options.account,
                        budget="not reported by TikTok (600 requests a minute per endpoint)")
        row.expiry(None, http.clock(), renew=get_platform(PLATFORM).renew_hint, note="unknown")
        granted: list[str] = []
        try:
            for scopes, probe in probes:
                try:
                    answer = probe()
                except PermissionMissing as exc:
                    row.failed(exc)
                    row.scopes_missing += tuple(s for s in scopes if s not in row.scopes_missing)
                    row.flag("fail", f"Grant {' and '.join(scopes)}: send the account owner through TikTok's "
                                     "authorization again (docs/sources/tiktok.md, Permissions and tokens)")
                    continue
                row.token_valid = True
                granted += scopes
                name = dig(answer, "data", "user", "display_name")
                if isinstance(name, str) and name:
                    row.account = f"{options.account} ({name})"
        except PlatformError as exc:
            row.failed(exc, http.clock())
        row.scopes_granted = tuple(granted)
        if row.token_valid:
            row.note("TikTok access tokens last 24 hours: refresh them before each run")
        return [row]

    def _videos(self, tiktok: "PlatformSession", ctx: FetchContext) -> list[dict[str, Any]]:
        from cmflow.http import Cursor

        options: TikTokOptions = self.options
        start = ctx.window_start.timestamp()
        pages = tiktok.pages(
            "/v2/video/list/", method="POST", params={"fields": VIDEO_FIELDS},
            json={"max_count": options.page_size, "cursor": int(ctx.window_end.timestamp() * 1000)},
            paging=Cursor("data.cursor", "cursor", send_in="json", has_more="data.has_more"))
        rows = []
        for page in pages:
            videos = dig(page, "data", "videos")
            if not isinstance(videos, list):
                raise bad_answer(tiktok, "/v2/video/list/", "has no data.videos list")
            created = []
            for video in videos:
                row = video_row(options.account, video) if isinstance(video, dict) else None
                if row is None:
                    raise bad_answer(tiktok, "/v2/video/list/", "holds a video without id or create_time")
                created.append(row["published_at"].timestamp())
                if ctx.window_start <= row["published_at"] < ctx.window_end:
                    rows.append(row)
            if created and min(created) < start:  # newest first: the rest is older still
                break
        return rows

    def _snapshot(self, tiktok: "PlatformSession", ctx: FetchContext, now: datetime) -> list[dict[str, Any]]:
        zone = run_zone(ctx)
        day = now.astimezone(zone).date() - timedelta(days=1 if self.options.snapshot_date == "yesterday" else 0)
        first, last = window_dates(ctx, zone)
        if not first <= day <= last:
            return []  # a count of another day than the window's
        answer = tiktok.get_json("/v2/user/info/", params={"fields": USER_FIELDS})
        user = dig(answer, "data", "user")
        if not isinstance(user, dict):
            raise bad_answer(tiktok, "/v2/user/info/", "has no data.user object")
        return [{"platform": PLATFORM, "account": self.options.account, "date": day,
                 "followers": integer(user.get("follower_count"))}]


def video_row(account: str, video: dict[str, Any]) -> dict[str, Any] | None:
    """A canonical post from a Display API video; None without an id or a creation time."""
    created = video.get("create_time")
    if not video.get("id") or isinstance(created, bool) or not isinstance(created, (int, float)):
        return None
    views = integer(video.get("view_count"))
    return {"platform": PLATFORM, "account": account, "post_id": str(video["id"]),
            "published_at": datetime.fromtimestamp(created, timezone.utc), "format": "video",
            "text": video.get("video_description") or video.get("title") or None,
            "url": video.get("share_url"), "thumbnail_url": https_url(video.get("cover_image_url")),
            "likes": integer(video.get("like_count")),
            "comments": integer(video.get("comment_count")), "shares": integer(video.get("share_count")),
            "impressions": views, "video_views": views}


def integer(value: Any) -> int | None:
    """A counter as TikTok sent it; absent (or not a number) stays empty, never 0."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def bad_answer(session: "PlatformSession", path: str, what: str) -> Exception:
    """An answer that is not the documented shape."""
    return platform_common.bad_answer(session, path, what, hint="Report the answer if it persists")


@hookimpl
def register_sources(register):
    register(TikTok)
