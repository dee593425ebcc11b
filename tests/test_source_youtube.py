"""The ``youtube`` source against a loopback server replaying YouTube's real answers.

Waits happen in virtual time; the fixtures (tests/fixtures/sources/youtube/) keep YouTube's
envelopes, string statistics and error bodies.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from cmflow.builtin.sources import youtube
from cmflow.builtin.sources.youtube import YoutubeOptions, YoutubeSource
from cmflow.plugins.context import FetchContext
from cmflow.http import (AuthExpired, BadResponse, PermissionMissing, PlatformError, PlatformUnavailable,
                         RateLimited, RetryPolicy, make_client)
from cmflow.testing import (ReplayServer, Reply, load_replies, registered_plugin, replay_server,  # noqa: F401
                            run_workflow_file)
from source_helpers import client, error_texts, fetch_frames, log_texts, vtime  # noqa: F401 (fixtures)

FIXTURES = Path(__file__).parent / "fixtures" / "sources" / "youtube"
HTTP_FIXTURES = Path(__file__).parent / "fixtures" / "http"
TOKEN = "ya29.a0AfB_byC-yt-test-token-5f3c9e1d7b"
CHANNEL = "UCx5kZ3pQ7mLw9RtYb2NcD4e"
WINDOW = (datetime(2026, 11, 8, tzinfo=timezone.utc), datetime(2026, 11, 23, tzinfo=timezone.utc))
UTC = timezone.utc

CHANNELS, PLAYLIST_ITEMS, VIDEOS = "/youtube/v3/channels", "/youtube/v3/playlistItems", "/youtube/v3/videos"
THREADS, COMMENTS, REPORTS = "/youtube/v3/commentThreads", "/youtube/v3/comments", "/v2/reports"


def replies(name: str) -> list[Reply]:
    return load_replies(FIXTURES / name)


def make_source(server: ReplayServer, **options) -> YoutubeSource:
    values = {"token": TOKEN, "base_url": server.url, "allow_private_network": True, "analytics_base_url": server.url, **options}
    return YoutubeSource(YoutubeOptions.model_validate(values), entry_id="yt_brand")


def fetch(source: YoutubeSource, client) -> tuple[dict, FetchContext]:
    return fetch_frames(source, client, WINDOW, [])


def script_posts(server: ReplayServer) -> None:
    server.add("GET", CHANNELS, *replies("channel.json"))
    server.add("GET", PLAYLIST_ITEMS, *replies("playlist_items_pages.json"))
    server.add("GET", VIDEOS, *replies("videos.json"))


def requests_to(server: ReplayServer, path: str):
    return [r for r in server.requests if r.path == path]


# -- posts -------------------------------------------------------------------------------------
def test_posts_page_through_the_uploads_playlist_and_stop_at_a_page_before_the_window(replay_server, client):
    script_posts(replay_server)

    tables, ctx = fetch(make_source(replay_server, fetch=["posts"]), client)

    assert list(tables) == ["post"]
    playlist = requests_to(replay_server, PLAYLIST_ITEMS)
    # Three pages; the third is wholly before the window, so its nextPageToken is not followed.
    assert [r.params.get("pageToken") for r in playlist] == [None, "EAAaBlBUOkNBSQ", "EAAaBlBUOkNBUQ"]
    assert playlist[0].params["playlistId"] == "UUx5kZ3pQ7mLw9RtYb2NcD4e"
    assert requests_to(replay_server, CHANNELS)[0].params["mine"] == "true"
    # One videos.list call for the four videos in the window (not the one of 2026-11-02).
    [videos] = requests_to(replay_server, VIDEOS)
    assert videos.params["id"] == "Ks-_Mh1QhMc,dQw4w9WgXcQ,9bZkp7q19f0,jNQXAC9IVRw"
    assert tables["post"].height == 4
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in replay_server.requests)
    assert replay_server.unmatched == [] and ctx.problems == []


def test_video_statistics_map_to_canonical_post_fields(replay_server, client):
    script_posts(replay_server)

    tables, _ = fetch(make_source(replay_server, fetch=["posts"]), client)

    posts = {row["post_id"]: row for row in tables["post"].iter_rows(named=True)}
    assert posts["Ks-_Mh1QhMc"] == {
        "platform": "youtube", "account": "@maisonlumiere", "post_id": "Ks-_Mh1QhMc",
        "published_at": datetime(2026, 11, 21, 17, 0, tzinfo=UTC), "format": "video",
        "text": "Atelier tour: how our lamps are made", "url": "https://www.youtube.com/watch?v=Ks-_Mh1QhMc",
        "likes": 88, "comments": 12, "shares": None, "saves": None, "reach": None, "impressions": None,
        "clicks": None, "video_views": 1520, "pillar": None, "campaign": None, "link": None,
        # snippet.thumbnails: medium, 320 x 180, the video's own 16:9 frame (high and default are 4:3, banded)
        "thumbnail_url": "https://i.ytimg.com/vi/Ks-_Mh1QhMc/mqdefault.jpg",
    }
    assert (posts["dQw4w9WgXcQ"]["likes"], posts["dQw4w9WgXcQ"]["comments"]) == (410, 37)
    # Hidden likes and comments turned off are "no data", not 0.
    assert posts["9bZkp7q19f0"]["likes"] is None and posts["9bZkp7q19f0"]["comments"] == 5
    assert posts["jNQXAC9IVRw"]["comments"] is None and posts["jNQXAC9IVRw"]["likes"] == 95


def test_account_option_and_channel_id_replace_the_handle_and_mine(replay_server, client):
    script_posts(replay_server)
    tables, _ = fetch(make_source(replay_server, fetch=["posts"], channel_id=CHANNEL, account="Maison Lumière"),
                      client)
    assert set(tables["post"]["account"]) == {"Maison Lumière"}
    assert requests_to(replay_server, CHANNELS)[0].params["id"] == CHANNEL
    assert "mine" not in requests_to(replay_server, CHANNELS)[0].params


# -- daily figures -------------------------------------------------------------------------------
def test_daily_figures_derive_followers_from_the_count_now_and_the_gains_since(replay_server, client):
    replay_server.add("GET", CHANNELS, *replies("channel.json"))
    replay_server.add("GET", REPORTS, *replies("analytics_daily.json"))
    source = make_source(replay_server, fetch=["account_snapshots"])

    tables, _ = fetch(source, client)

    [report] = requests_to(replay_server, REPORTS)
    assert report.params == {"ids": "channel==MINE", "startDate": "2026-11-08", "endDate": "2026-11-24",
                             "metrics": "views,subscribersGained,subscribersLost", "dimensions": "day",
                             "sort": "day"}
    snapshots = {row["date"]: row for row in tables["account_snapshot"].iter_rows(named=True)}
    assert sorted(snapshots) == [date(2026, 11, d) for d in range(8, 22)]  # Analytics lags: no 22nd
    # 12,400 subscribers now; on the 21st nothing is reported after it, on the 20th the 21st
    # gained 19 and lost 2, and so on back.
    assert snapshots[date(2026, 11, 21)] == {"platform": "youtube", "account": "@maisonlumiere",
                                             "date": date(2026, 11, 21), "followers": 12400, "reach": None,
                                             "impressions": 1544, "profile_views": None, "website_clicks": None}
    assert snapshots[date(2026, 11, 20)]["followers"] == 12383
    assert snapshots[date(2026, 11, 15)]["followers"] == 12297
    assert snapshots[date(2026, 11, 8)]["followers"] == 12227
    assert snapshots[date(2026, 11, 16)]["impressions"] == 4120
    # Analytics calls are not Data API quota: only channels.list was counted.
    assert source_units(client) == 1


def source_units(client) -> int:
    [budget] = [b for b in client.budgets._budgets.values() if b.name.startswith("YouTube")]
    return budget.units_spent


def test_hidden_subscriber_count_gives_no_followers(replay_server, client):
    channel = replies("channel.json")[0]
    channel.json["items"][0]["statistics"].update({"hiddenSubscriberCount": True})
    del channel.json["items"][0]["statistics"]["subscriberCount"]
    replay_server.add("GET", CHANNELS, channel)
    replay_server.add("GET", REPORTS, *replies("analytics_daily.json"))

    tables, _ = fetch(make_source(replay_server, fetch=["account_snapshots"]), client)

    assert tables["account_snapshot"].height == 14
    assert tables["account_snapshot"]["followers"].null_count() == 14


# -- another's channel (a competitor's) ------------------------------------------------------------
COMPETITOR = "UCn8tB2vR6xQ1mK9pL4wZ7aJ"


def script_channel_by_id(server: ReplayServer, channel: Reply, channel_id: str = COMPETITOR) -> None:
    """``channels.list`` answering ``channel`` for ``channel_id``, then the token's own channel id."""
    server.add("GET", CHANNELS, channel, query={"id": channel_id})
    server.add("GET", CHANNELS, *replies("channel_mine_id.json"), query={"part": "id", "mine": "true"})


def test_a_competitors_channel_gives_its_public_subscriber_count_on_the_runs_day(replay_server, client):
    """Analytics answers only a channel's owners: another's subscriber count comes from
    channels.list statistics, read on 24 November, and stands for the window's last day."""
    script_channel_by_id(replay_server, *replies("channel_competitor.json"))

    tables, ctx = fetch(make_source(replay_server, fetch=["account_snapshots"], channel_id=COMPETITOR), client)

    assert tables["account_snapshot"].to_dicts() == [
        {"platform": "youtube", "account": "@ateliernuit", "date": date(2026, 11, 22), "followers": 31700,
         "reach": None, "impressions": None, "profile_views": None, "website_clicks": None}]
    assert requests_to(replay_server, REPORTS) == []
    assert [r.params for r in requests_to(replay_server, CHANNELS)] == [
        {"part": "snippet,contentDetails,statistics", "id": COMPETITOR}, {"part": "id", "mine": "true"}]
    assert source_units(client) == 2 and replay_server.unmatched == [] and ctx.problems == []


def test_a_competitor_hiding_its_subscriber_count_gives_no_snapshot_and_says_why(replay_server, client):
    channel = replies("channel_competitor.json")[0]
    channel.json["items"][0]["statistics"].update({"hiddenSubscriberCount": True})
    del channel.json["items"][0]["statistics"]["subscriberCount"]
    script_channel_by_id(replay_server, channel)

    tables, ctx = fetch(make_source(replay_server, fetch=["account_snapshots"], channel_id=COMPETITOR), client)

    assert tables["account_snapshot"].height == 0
    assert ctx.problems == ["no account snapshot for YouTube channel @ateliernuit: it hides its subscriber count "
                            "(hiddenSubscriberCount), which only its owners can read"]


def test_the_tokens_own_channel_named_by_its_id_keeps_its_daily_figures(replay_server, client):
    script_channel_by_id(replay_server, *replies("channel.json"), CHANNEL)  # the token's own
    replay_server.add("GET", REPORTS, *replies("analytics_daily.json"))

    tables, _ = fetch(make_source(replay_server, fetch=["account_snapshots"], channel_id=CHANNEL), client)

    [report] = requests_to(replay_server, REPORTS)
    assert report.params["ids"] == f"channel=={CHANNEL}"
    assert tables["account_snapshot"].height == 14


# -- conversations ------------------------------------------------------------------------------
def test_comment_threads_become_conversations_with_the_channels_first_reply(replay_server, client):
    replay_server.add("GET", CHANNELS, *replies("channel.json"))
    replay_server.add("GET", THREADS, *replies("comment_threads_pages.json"))
    replay_server.add("GET", COMMENTS, *replies("comment_replies.json"))

    tables, _ = fetch(make_source(replay_server, fetch=["conversations"]), client)

    threads = requests_to(replay_server, THREADS)
    assert [r.params.get("pageToken") for r in threads] == [None, "QURTSl9pM2dGMEVMMQ", "QURTSl9pM2dGMEVMMg"]
    assert threads[0].params["allThreadsRelatedToChannelId"] == CHANNEL
    assert threads[0].params["order"] == "time" and threads[0].params["textFormat"] == "plainText"
    # Thread 2 shows 2 of its 4 replies, none from the channel: all of them are read.
    [lookup] = requests_to(replay_server, COMMENTS)
    assert lookup.params["parentId"] == "UgxClaireLampWhere4AaABAg"
    rows = sorted(tables["conversation"].iter_rows(named=True), key=lambda r: r["received_at"])
    assert [(r["message_id"], r["received_at"], r["replied_at"]) for r in rows] == [
        ("UgyMarcFormulaText4AaABAg", datetime(2026, 11, 18, 12, 0, tzinfo=UTC), None),
        ("UgxClaireLampWhere4AaABAg", datetime(2026, 11, 21, 17, 40, tzinfo=UTC),
         datetime(2026, 11, 22, 8, 10, tzinfo=UTC)),
        ("UgwFan1AtelierLight4AaABAg", datetime(2026, 11, 21, 18, 5, tzinfo=UTC),
         datetime(2026, 11, 21, 19, 35, tzinfo=UTC)),
    ]  # the channel's own comment (UgzOwnColourPoll...) is not a message received
    assert rows[0] == {"platform": "youtube", "account": "@maisonlumiere", "message_id": "UgyMarcFormulaText4AaABAg",
                       "received_at": datetime(2026, 11, 18, 12, 0, tzinfo=UTC), "replied_at": None,
                       "author": "@marc_d", "text": '=HYPERLINK("http://evil.example","free lamp")',
                       "post_id": "dQw4w9WgXcQ", "sentiment": None,
                       "url": "https://www.youtube.com/watch?v=dQw4w9WgXcQ&lc=UgyMarcFormulaText4AaABAg"}


def test_without_reply_look_up_a_partial_thread_counts_as_unanswered(replay_server, client):
    replay_server.add("GET", CHANNELS, *replies("channel.json"))
    replay_server.add("GET", THREADS, *replies("comment_threads_pages.json"))

    tables, _ = fetch(make_source(replay_server, fetch=["conversations"], look_up_replies=False), client)

    replied = dict(zip(tables["conversation"]["message_id"], tables["conversation"]["replied_at"]))
    assert replied["UgxClaireLampWhere4AaABAg"] is None
    assert requests_to(replay_server, COMMENTS) == []


# -- retries, quota and waits -------------------------------------------------------------------
def test_a_429_with_retry_after_is_waited_in_virtual_time(replay_server, client, vtime):
    replay_server.add("GET", CHANNELS, *replies("channel.json"))
    replay_server.add("GET", REPORTS, *replies("error_429_analytics.json"), *replies("analytics_daily.json"))

    tables, _ = fetch(make_source(replay_server, fetch=["account_snapshots"]), client)

    assert vtime.sleeps == [30]
    assert len(requests_to(replay_server, REPORTS)) == 2
    assert tables["account_snapshot"].height == 14


def test_a_500_then_success_backs_off_once(replay_server, client, vtime):
    replay_server.add("GET", CHANNELS, *replies("error_500.json"), *replies("channel.json"))
    replay_server.add("GET", REPORTS, *replies("analytics_daily.json"))

    tables, _ = fetch(make_source(replay_server, fetch=["account_snapshots"]), client)

    [wait] = vtime.sleeps
    assert 1 <= wait <= 2  # 1 s backoff plus up to 1 s of jitter
    assert len(requests_to(replay_server, CHANNELS)) == 2
    assert tables["account_snapshot"].height == 14


def test_daily_quota_exceeded_fails_at_once_saying_when_it_resets(replay_server, client, vtime):
    replay_server.add("GET", CHANNELS, *load_replies(HTTP_FIXTURES / "youtube_403_quota.json"))

    with pytest.raises(RateLimited) as caught:
        fetch(make_source(replay_server), client)

    message = str(caught.value)
    assert message.startswith("source 'yt_brand' (YouTube): the platform's rate limit is reached")
    assert "quotaExceeded" in message and "Run again after 2026-11-25 08:00:00 UTC" in message
    assert vtime.sleeps == [] and len(replay_server.requests) == 1


def test_the_unit_budget_stops_before_the_daily_quota_wall(replay_server, client, vtime):
    """YouTube sends no usage headers: the source counts its units and stops before the last
    one, naming the option, rather than let the project hit quotaExceeded."""
    script_posts(replay_server)

    with pytest.raises(RateLimited) as caught:
        fetch(make_source(replay_server, fetch=["posts"], max_quota_units=3), client)

    message = str(caught.value)
    assert "source 'yt_brand' (YouTube)" in message and "budget of 3 units is spent" in message
    assert "Raise the source option `max_quota_units` (now 3)" in message
    assert [r.path for r in replay_server.requests] == [CHANNELS, PLAYLIST_ITEMS, PLAYLIST_ITEMS]
    assert vtime.sleeps == []


# -- errors a person can act on ------------------------------------------------------------------
def test_an_expired_token_names_the_source_the_code_and_how_to_renew(replay_server, client):
    replay_server.add("GET", CHANNELS, *replies("error_401_expired.json"), repeat=True)

    with pytest.raises(AuthExpired) as caught:
        fetch(make_source(replay_server), client)

    message = str(caught.value)
    assert message.startswith("source 'yt_brand' (YouTube): the access token was refused (UNAUTHENTICATED")
    assert "oauth2.googleapis.com/token" in message and "invalid_grant" in message
    assert caught.value.status == 401 and TOKEN not in message
    assert len(replay_server.requests) == 1  # never retried


def test_a_missing_analytics_scope_is_named(replay_server, client):
    replay_server.add("GET", CHANNELS, *replies("channel.json"))
    replay_server.add("GET", REPORTS, *replies("error_403_analytics_scope.json"))

    with pytest.raises(PermissionMissing) as caught:
        fetch(make_source(replay_server, fetch=["account_snapshots"]), client)

    message = str(caught.value)
    assert "source 'yt_brand' (YouTube)" in message and "PERMISSION_DENIED" in message
    assert "https://www.googleapis.com/auth/yt-analytics.readonly" in message


def test_malformed_json_shows_the_first_bytes_without_the_token(replay_server, client):
    page = ("<!DOCTYPE html><html><body>Proxy error while fetching "
            f"/youtube/v3/channels?access_token={TOKEN}</body></html>" + " " * 400)
    replay_server.add("GET", CHANNELS, Reply(200, body=page, headers={"Content-Type": "text/html"}))

    with pytest.raises(BadResponse) as caught:
        fetch(make_source(replay_server), client)

    message = str(caught.value)
    assert "source 'yt_brand' (YouTube)" in message and "is not JSON (text/html)" in message
    assert "<!DOCTYPE html><html><body>Proxy error" in message
    assert TOKEN not in message and len(message) < 700


def test_an_empty_channel_gives_no_records_and_no_error(replay_server, client):
    channel, report, threads = replies("empty_channel.json")
    replay_server.add("GET", CHANNELS, channel)
    replay_server.add("GET", REPORTS, report)
    replay_server.add("GET", THREADS, threads)

    tables, ctx = fetch(make_source(replay_server, fetch=["posts", "account_snapshots", "conversations"]), client)

    assert {kind: frame.height for kind, frame in tables.items()} == {
        "post": 0, "account_snapshot": 0, "conversation": 0}
    assert requests_to(replay_server, PLAYLIST_ITEMS) == []  # no videos: no uploads to list
    assert ctx.problems == []


def test_an_account_without_a_channel_is_a_clear_error(replay_server, client):
    replay_server.add("GET", CHANNELS, *replies("channel_not_found.json"))
    with pytest.raises(BadResponse, match="source 'yt_brand' \\(YouTube\\): channels.list found no channel: "
                                          "the token's Google account has no YouTube channel"):
        fetch(make_source(replay_server), client)


def test_a_report_whose_rows_do_not_match_its_columns_is_a_clear_error(replay_server, client):
    report = replies("analytics_daily.json")[0]
    report.json["columnHeaders"] = report.json["columnHeaders"][:3]  # subscribersLost missing
    replay_server.add("GET", CHANNELS, *replies("channel.json"))
    replay_server.add("GET", REPORTS, report)
    with pytest.raises(BadResponse, match="reports.query answered rows without the column\\(s\\) subscribersLost"):
        fetch(make_source(replay_server, fetch=["account_snapshots"]), client)


def test_the_token_never_reaches_errors_or_logs(replay_server, vtime, caplog):
    caplog.set_level(logging.DEBUG)
    replay_server.add("GET", CHANNELS, *replies("error_500.json") * 3, *replies("channel.json"))
    replay_server.add("GET", REPORTS, *replies("error_401_expired.json"))
    texts: list[str] = []
    failures = []
    with make_client(clock=vtime.clock, sleep=vtime.sleep, retry=RetryPolicy(max_attempts=3)) as http:
        for _ in range(2):  # three 500s, then an expired token on the Analytics API
            with pytest.raises(PlatformError) as caught:
                fetch(make_source(replay_server, fetch=["account_snapshots"]), http)
            failures.append(type(caught.value))
            texts += error_texts(caught.value)
    texts += log_texts(caplog)

    assert failures == [PlatformUnavailable, AuthExpired]
    assert any("yt_brand" in text for text in texts)
    assert any(record.name == "cmflow.http" for record in caplog.records)  # the retries were logged
    assert [text for text in texts if TOKEN in text] == []


# -- options ----------------------------------------------------------------------------------
def test_the_record_kinds_follow_the_fetch_option(replay_server):
    assert make_source(replay_server).produces() == {"post", "account_snapshot"}
    assert make_source(replay_server, fetch=["conversations"]).produces() == {"conversation"}
    with pytest.raises(ValueError, match="posts listed more than once"):
        make_source(replay_server, fetch=["posts", "posts"])
    with pytest.raises(ValueError, match="channel_id"):
        make_source(replay_server, channel_id="maisonlumiere")


# -- end to end ----------------------------------------------------------------------------------
def test_a_workflow_computes_engagement_by_followers_from_youtube(replay_server, tmp_path, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    script_posts(replay_server)
    replay_server.add("GET", REPORTS, *replies("analytics_daily.json"))
    monkeypatch.setenv("YOUTUBE_TOKEN", TOKEN)
    workflow = tmp_path / "youtube.toml"
    workflow.write_text(f"""
[workflow]
name = "YouTube weekly"
period = "last_week"
as_of = "2026-11-24"

[[sources]]
id = "yt_brand"
plugin = "youtube"
token = "${{env:YOUTUBE_TOKEN}}"
base_url = "{replay_server.url}"
allow_private_network = true
analytics_base_url = "{replay_server.url}"

[[metrics]]
plugin = "engagement_rate_by_followers"
by = ["overall"]
""", encoding="utf-8")

    with registered_plugin(youtube):
        result = run_workflow_file(workflow, store_url=f"sqlite:///{tmp_path}/s.db")

    assert result.failed_stages == []
    # Week of 16-22 November: "Atelier tour" (88 likes + 12 comments) and "Black Friday preview"
    # (410 + 37) over 12,400 followers on the 21st, the last day Analytics reports.
    assert result.value("engagement_rate_by_followers") == pytest.approx(547 / 12400 * 100)
    previous = result.current("engagement_rate_by_followers")["previous_period.previous_value"][0]
    # Week before: 0 + 5 and 95 + 0 interactions over 12,297 followers on the 15th.
    assert previous == pytest.approx(100 / 12297 * 100)
    assert all(TOKEN not in record.getMessage() for record in caplog.records)
