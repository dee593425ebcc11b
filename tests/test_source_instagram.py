"""The ``instagram`` source against a loopback server replaying the Graph API's real answers.

Waits happen in virtual time: the tests assert the waits themselves, never how long they took.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from cmflow import Period
from cmflow.builtin.sources import instagram
from cmflow.builtin.sources.instagram import Instagram
from cmflow.builtin.sources.meta_graph import pacific_midnight, unix_seconds
from cmflow.foundation.errors import WorkflowInvalid
from cmflow.http import AuthExpired, BadResponse, PermissionMissing
from cmflow.testing import (Reply, VirtualTime, load_replies, registered_plugin, replay_server,  # noqa: F401
                            run_workflow_file)
from cmflow.workflow import load_workflow
from source_helpers import error_texts, fetch_frames, log_texts, virtual_client

FIXTURES = Path(__file__).parent / "fixtures" / "sources" / "instagram"
IG_USER = "17841405822304914"
TOKEN = "IGQWRPa1ZAtestTOKEN0123456789secret"
UTC = timezone.utc
PERIOD = Period(date(2026, 11, 16), date(2026, 11, 22), "UTC", unit="week")
WINDOW_START, WINDOW_END = datetime(2026, 11, 15, tzinfo=UTC), datetime(2026, 11, 23, tzinfo=UTC)
MEDIA = f"/v25.0/{IG_USER}/media"
INSIGHTS = f"/v25.0/{IG_USER}/insights"
PAGE_CURSORS = ["QVFIUm9", "QVFIUnh", "QVFIUzQ"]
IN_WINDOW = ["17895695668004571", "17895695668004572", "17895695668004573", "17895695668004574"]


def replies(name: str, server) -> list[Reply]:
    return load_replies(FIXTURES / name, rebase={"https://graph.facebook.com": server.url})


def script_profile(server, *profile: Reply) -> None:
    server.add("GET", f"/v25.0/{IG_USER}", *(profile or replies("profile.json", server)))


def script_media(server, *, second_page: list[Reply] | None = None) -> None:
    """The four media pages: page 1 for the first request, the others by their `after` cursor."""
    first, second, third, fourth = replies("media_pages.json", server)
    server.add("GET", MEDIA, first)
    server.add("GET", MEDIA, *(second_page or [second]), query={"after": PAGE_CURSORS[0]})
    server.add("GET", MEDIA, third, query={"after": PAGE_CURSORS[1]})
    server.add("GET", MEDIA, fourth, query={"after": PAGE_CURSORS[2]})


def script_insights(server, **overrides: list[Reply]) -> None:
    for media_id, reply in zip(IN_WINDOW, replies("media_insights.json", server)):
        server.add("GET", f"/v25.0/{media_id}/insights", *overrides.get(media_id, [reply]))


def script_posts(server) -> None:
    script_profile(server)
    script_media(server)
    script_insights(server)


def fetch(server, vtime: VirtualTime | None = None, problems: list[str] | None = None,
          periods: list[Period] | None = None, window: tuple[datetime, datetime] = (WINDOW_START, WINDOW_END),
          **options: Any) -> dict[str, Any]:
    """Run the source's fetch() against the replay server; its canonical frames by kind."""
    source = Instagram(Instagram.Options(**{"accounts": [IG_USER], "access_token": TOKEN,
                                            "base_url": server.url, "allow_private_network": True, **options}), entry_id="ig_main")
    with virtual_client(vtime) as client:
        return fetch_frames(source, client, window, periods or [PERIOD], problems)[0]


def rows(frame) -> list[dict[str, Any]]:
    return frame.to_dicts()


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def requests_to(server, path: str) -> list:
    return [r for r in server.requests if r.path == path]


# -- field mapping ------------------------------------------------------------------------------
def test_posts_map_instagram_fields_to_canonical_ones(replay_server):
    script_posts(replay_server)
    problems: list[str] = []

    tables = fetch(replay_server, problems=problems, fetch=["posts"])

    assert set(tables) == {"post"}
    common = {"platform": "instagram", "account": "maisonlumiere", "clicks": None, "video_views": None,
              "pillar": None, "campaign": None, "link": None}
    media = {m["id"]: m for page in load_replies(FIXTURES / "media_pages.json") for m in page.json["data"]}
    assert rows(tables["post"]) == [
        # A reel's image is its cover (thumbnail_url); its media_url is the video file.
        {**common, "post_id": "17895695668004571", "published_at": at("2026-11-22T18:30:00"), "format": "reel",
         "text": "Behind the scenes of our winter collection \u2728 #maisonlumiere",
         "url": "https://www.instagram.com/reel/DA71xYz/", "likes": 310, "comments": 22, "shares": 41,
         "saves": 97, "reach": 3900, "impressions": 5120,
         "thumbnail_url": media["17895695668004571"]["thumbnail_url"]},
        {**common, "post_id": "17895695668004572", "published_at": at("2026-11-21T09:15:00"), "format": "image",
         "text": "Our new candle, hand-poured in Lyon", "url": "https://www.instagram.com/p/DA72xYz/",
         "likes": 120, "comments": 8, "shares": 5, "saves": 30, "reach": 1400, "impressions": 1800,
         "thumbnail_url": media["17895695668004572"]["media_url"]},
        # No `shares` item in its insights: no data, so empty, not 0. A carousel's media_url is its first image.
        {**common, "post_id": "17895695668004573", "published_at": at("2026-11-19T12:00:00"), "format": "carousel",
         "text": "5 ways to style the lounge for winter", "url": "https://www.instagram.com/p/DA73xYz/",
         "likes": 200, "comments": 14, "shares": None, "saves": 60, "reach": 2000, "impressions": 2400,
         "thumbnail_url": media["17895695668004573"]["media_url"]},
        # "(#10) Not enough viewers": no insights at all; likes and comments from the media's counters.
        {**common, "post_id": "17895695668004574", "published_at": at("2026-11-17T07:45:00"), "format": "image",
         "text": "Throwback to the atelier", "url": "https://www.instagram.com/p/DA74xYz/",
         "likes": 12, "comments": 1, "shares": None, "saves": None, "reach": None, "impressions": None,
         "thumbnail_url": media["17895695668004574"]["media_url"]},
    ]
    assert all(row["thumbnail_url"].startswith("https://scontent-cdg4-2.cdninstagram.com/v/") and ".jpg?" in
               row["thumbnail_url"] for row in rows(tables["post"]))
    assert problems == ["1 post(s) have no insights: too few viewers for Meta to show insights"]
    insight_request = requests_to(replay_server, "/v25.0/17895695668004571/insights")[0]
    assert insight_request.params["metric"] == "views,reach,likes,comments,shares,saved"
    assert insight_request.headers["authorization"] == f"Bearer {TOKEN}"
    assert "access_token" not in insight_request.params


def test_a_video_without_a_cover_has_no_thumbnail_rather_than_its_video_file():
    """Meta leaves ``thumbnail_url`` out of a video with copyrighted music (17895695668004575 of
    the fixture): its ``media_url`` is an .mp4, no image for a report."""
    media = {m["id"]: m for page in load_replies(FIXTURES / "media_pages.json") for m in page.json["data"]}
    video = media["17895695668004575"]
    assert video["media_type"] == "VIDEO" and ".mp4?" in video["media_url"] and "thumbnail_url" not in video
    assert instagram.media_thumbnail(video) is None
    assert instagram.media_thumbnail({**video, "thumbnail_url": "http://insecure.example/cover.jpg"}) is None


def test_a_metric_meta_refuses_for_a_format_is_dropped_for_that_format(replay_server):
    """Which metrics each media type offers changes with the type and the account (#100)."""
    script_profile(replay_server)
    script_media(replay_server)
    refused = Reply(400, json={"error": {"message": "(#100) The metric shares is not supported for this media type",
                                         "type": "OAuthException", "code": 100, "fbtrace_id": "AxY1"}})
    without_shares = Reply(json={"data": [
        {"name": "reach", "period": "lifetime", "values": [{"value": 1400}], "title": "Accounts reached",
         "id": "17895695668004572/insights/reach/lifetime"}]})
    script_insights(replay_server)
    for image in ("17895695668004572", "17895695668004574"):
        path = f"/v25.0/{image}/insights"
        replay_server.add("GET", path, refused, query={"metric": "views,reach,likes,comments,shares,saved"})
        replay_server.add("GET", path, without_shares, query={"metric": "views,reach,likes,comments,saved"})

    posts = fetch(replay_server, fetch=["posts"])["post"]

    by_id = {r["post_id"]: r for r in rows(posts)}
    assert by_id["17895695668004572"]["reach"] == 1400 and by_id["17895695668004572"]["shares"] is None
    assert by_id["17895695668004574"]["reach"] == 1400
    asked = {media_id: [r.params["metric"] for r in requests_to(replay_server, f"/v25.0/{media_id}/insights")]
             for media_id in IN_WINDOW}
    assert asked["17895695668004572"] == ["views,reach,likes,comments,shares,saved",
                                          "views,reach,likes,comments,saved"]
    assert asked["17895695668004574"][-1] == "views,reach,likes,comments,saved"
    assert asked["17895695668004571"] == ["views,reach,likes,comments,shares,saved"]  # reels still are asked


def test_stories_are_posts_of_format_story_without_the_metrics_stories_lack(replay_server):
    script_profile(replay_server)
    replay_server.add("GET", MEDIA, Reply(json={"data": []}))
    replay_server.add("GET", f"/v25.0/{IG_USER}/stories", Reply(json={"data": [
        {"id": "18034567890123456", "media_type": "IMAGE", "media_product_type": "STORY",
         "permalink": "https://instagram.com/stories/maisonlumiere/3500000000000000000/",
         "timestamp": "2026-11-22T08:00:00+0000"}]}))
    replay_server.add("GET", "/v25.0/18034567890123456/insights", Reply(json={"data": [
        {"name": "views", "period": "lifetime", "values": [{"value": 640}], "title": "Views"},
        {"name": "reach", "period": "lifetime", "values": [{"value": 512}], "title": "Accounts reached"},
        {"name": "shares", "period": "lifetime", "values": [{"value": 3}], "title": "Shares"}]}))

    (story,) = rows(fetch(replay_server, fetch=["posts"], include_stories=True)["post"])

    assert (story["format"], story["impressions"], story["reach"], story["shares"], story["saves"]) == (
        "story", 640, 512, 3, None)
    assert requests_to(replay_server, "/v25.0/18034567890123456/insights")[0].params["metric"] == "views,reach,shares"


# -- paging, waits and retries ------------------------------------------------------------------
def test_media_list_pages_until_a_page_is_wholly_older_than_the_window(replay_server):
    script_posts(replay_server)

    posts = fetch(replay_server, fetch=["posts"], page_size=2)["post"]

    media_requests = requests_to(replay_server, MEDIA)
    assert [r.params.get("after") for r in media_requests] == [None, *PAGE_CURSORS]  # page 4's next: not followed
    assert media_requests[0].params["limit"] == "2"
    assert media_requests[0].params["fields"] == ("id,caption,media_type,media_product_type,permalink,timestamp,"
                                                  "like_count,comments_count,media_url,thumbnail_url")
    # 570 was published after the window, 575 before it, 576/577 long before.
    assert posts["post_id"].to_list() == IN_WINDOW
    assert replay_server.unmatched == []


def test_429_with_retry_after_waits_that_long_then_goes_on(replay_server):
    second = replies("media_pages.json", replay_server)[1]
    script_profile(replay_server)
    # Meta itself throttles with 400/403 and codes (the kit's tests cover those); a 429 comes
    # from what stands in front of it, with a plain body.
    script_media(replay_server, second_page=[Reply(429, body="Too Many Requests", headers={
        "Retry-After": "30", "Content-Type": "text/plain"}), second])
    script_insights(replay_server)
    vtime = VirtualTime()

    posts = fetch(replay_server, vtime, fetch=["posts"])["post"]

    assert vtime.sleeps == [30]
    assert posts.height == 4
    assert [r.params.get("after") for r in requests_to(replay_server, MEDIA)] == [
        None, PAGE_CURSORS[0], PAGE_CURSORS[0], PAGE_CURSORS[1], PAGE_CURSORS[2]]


def test_500_then_success_is_retried_after_a_backoff(replay_server):
    insights = replies("media_insights.json", replay_server)
    script_profile(replay_server)
    script_media(replay_server)
    script_insights(replay_server, **{IN_WINDOW[0]: [Reply(500, json={"error": {
        "message": "An unknown error has occurred.", "type": "OAuthException", "code": 1, "is_transient": True,
        "fbtrace_id": "AbC"}}), insights[0]]})
    vtime = VirtualTime()

    posts = fetch(replay_server, vtime, fetch=["posts"])["post"]

    (wait,) = vtime.sleeps
    assert 1 <= wait <= 2  # the first backoff (1 s) plus up to 1 s of jitter
    assert rows(posts)[0]["reach"] == 3900
    assert len(requests_to(replay_server, f"/v25.0/{IN_WINDOW[0]}/insights")) == 2


def test_usage_at_95_percent_slows_the_next_requests_down(replay_server):
    profile = replies("profile.json", replay_server)[0]
    profile.headers = {"X-App-Usage": '{"call_count":95,"total_time":40,"total_cputime":38}'}
    script_profile(replay_server, profile)
    script_media(replay_server)  # every later answer reports 12 %: back to full speed
    script_insights(replay_server)
    vtime = VirtualTime()

    fetch(replay_server, vtime, fetch=["posts"])

    assert vtime.sleeps == [30]  # one pause before the request after the 95 % answer, then none


# -- errors a person can act on -----------------------------------------------------------------
def test_expired_token_names_the_source_the_meta_code_and_how_to_renew(replay_server):
    script_profile(replay_server, *load_replies(Path(__file__).parent / "fixtures" / "http" / "meta_error_190.json"))

    with pytest.raises(AuthExpired) as caught:
        fetch(replay_server)

    text = str(caught.value)
    assert "source 'ig_main' (Instagram)" in text
    assert "Meta error 190, subcode 463" in text and "the token expired" in text
    assert "refresh_access_token" in text
    assert TOKEN not in text
    assert len(replay_server.requests) == 1  # never retried


def test_missing_permission_names_the_scope(replay_server):
    script_profile(replay_server)
    script_media(replay_server)
    denied = Reply(403, json={"error": {
        "message": "(#10) This endpoint requires the 'instagram_manage_insights' permission.",
        "type": "OAuthException", "code": 10, "fbtrace_id": "AbC"}})
    script_insights(replay_server, **{media_id: [denied] for media_id in IN_WINDOW})

    with pytest.raises(PermissionMissing) as caught:
        fetch(replay_server, fetch=["posts"])

    assert caught.value.scope == "instagram_manage_insights"
    assert "source 'ig_main'" in str(caught.value)
    assert "Grant the `instagram_manage_insights` permission" in str(caught.value)


def test_malformed_json_is_a_clear_error_showing_the_first_bytes_redacted(replay_server):
    script_profile(replay_server)
    replay_server.add("GET", MEDIA, Reply(body=f"<!DOCTYPE html><html><body>Sorry, something went wrong "
                                               f"(access_token={TOKEN})</body></html>",
                                          headers={"Content-Type": "text/html"}))

    with pytest.raises(BadResponse) as caught:
        fetch(replay_server, fetch=["posts"])

    text = str(caught.value)
    assert "source 'ig_main'" in text and "not JSON (text/html)" in text
    assert "<!DOCTYPE html><html><body>Sorry, something went wrong" in text
    assert TOKEN not in text and "***" in text


def test_a_200_answer_without_the_data_list_is_refused(replay_server):
    script_profile(replay_server)
    replay_server.add("GET", MEDIA, Reply(json={"id": IG_USER}))

    with pytest.raises(BadResponse, match=r"source 'ig_main' \(Instagram\): .*media answered without the `data` "
                                          r"list the Graph API documents: \{\"id\": \"17841405822304914\"\}"):
        fetch(replay_server, fetch=["posts"])


def test_an_empty_account_gives_no_records_and_no_error(replay_server):
    script_profile(replay_server, Reply(json={"id": IG_USER, "username": "newbrand"}))
    replay_server.add("GET", MEDIA, Reply(json={"data": []}))
    replay_server.add("GET", INSIGHTS, Reply(json={"data": []}), repeat=True)
    problems: list[str] = []

    tables = fetch(replay_server, problems=problems, fetch=["posts", "account_snapshots", "conversations"])

    assert {kind: frame.height for kind, frame in tables.items()} == {
        "post": 0, "account_snapshot": 0, "conversation": 0}
    assert problems == []


def test_token_never_appears_in_errors_or_logs(replay_server, caplog):
    caplog.set_level(logging.DEBUG)
    expired = load_replies(Path(__file__).parent / "fixtures" / "http" / "meta_error_190.json")[0]
    texts: list[str] = []
    for reply in (expired, Reply(body=f"oops {TOKEN}"), Reply(503, body=f"down {TOKEN}")):
        replay_server.routes.clear()
        replay_server.add("GET", f"/v25.0/{IG_USER}", reply, repeat=True)
        with pytest.raises(Exception) as caught:
            fetch(replay_server)
        texts += error_texts(caught.value)
    texts += log_texts(caplog)

    assert any("***" in text for text in texts)
    assert [text for text in texts if TOKEN in text] == []


# -- account snapshots --------------------------------------------------------------------------
def script_account_insights(server) -> None:
    server.add("GET", INSIGHTS, *replies("account_reach.json", server), query={"metric": "reach"})
    for number, reply in enumerate(replies("account_views_by_day.json", server)):
        day = date(2026, 11, 15) + timedelta(days=number)
        since = str(unix_seconds(pacific_midnight(day)))
        server.add("GET", INSIGHTS, reply, query={"metric": "views", "since": since})


def test_daily_account_insights_become_snapshots(replay_server):
    script_profile(replay_server)
    script_account_insights(replay_server)

    tables = fetch(replay_server, fetch=["account_snapshots"])

    day = date(2026, 11, 15)
    base = {"platform": "instagram", "account": "maisonlumiere", "followers": None, "profile_views": None,
            "website_clicks": None}
    reach = [812, 954, 1103, 877, 1320, 1411, 990, 1265]
    views = [2210, 2530, 2980, None, 3310, 3655, 2790, 3020]  # no data on 11-18: empty, not 0
    assert rows(tables["account_snapshot"]) == [
        {**base, "date": day + timedelta(days=n), "reach": r, "impressions": v}
        for n, (r, v) in enumerate(zip(reach, views))]
    (series,) = [r for r in replay_server.requests if r.params.get("metric") == "reach"]
    assert series.params["period"] == "day"
    assert (int(series.params["since"]), int(series.params["until"])) == (
        unix_seconds(pacific_midnight(date(2026, 11, 15))), unix_seconds(pacific_midnight(date(2026, 11, 23))))
    view_requests = [r for r in replay_server.requests if r.params.get("metric") == "views"]
    assert {r.params["metric_type"] for r in view_requests} == {"total_value"}
    assert all(int(r.params["until"]) - int(r.params["since"]) in (86400, 90000, 82800) for r in view_requests)
    assert replay_server.unmatched == []


def test_account_insights_are_split_in_calls_of_at_most_30_days(replay_server):
    """A 45-day period and its baseline day: two calls, never more than 30 days apart."""
    script_profile(replay_server)
    replay_server.add("GET", INSIGHTS, Reply(json={"data": []}), repeat=True)
    period = Period(date(2026, 10, 1), date(2026, 11, 14), "UTC")

    window = (datetime(2026, 9, 30, tzinfo=UTC), datetime(2026, 11, 15, tzinfo=UTC))
    fetch(replay_server, periods=[period], window=window, fetch=["account_snapshots"], account_metrics=["reach"])

    spans = [(datetime.fromtimestamp(int(r.params["since"]), UTC), datetime.fromtimestamp(int(r.params["until"]), UTC))
             for r in requests_to(replay_server, INSIGHTS)]
    assert len(spans) == 2
    assert all(until - since <= timedelta(days=30) for since, until in spans)
    assert spans[0][0] == pacific_midnight(date(2026, 9, 30)) and spans[1][1] == pacific_midnight(date(2026, 11, 15))
    assert spans[0][1] == spans[1][0]  # no day left out, none asked twice


def test_the_follower_count_is_dated_the_day_it_was_read_when_that_day_is_in_the_window(replay_server):
    replay_server.add("GET", f"/v25.0/{IG_USER}", *replies("profile.json", replay_server), repeat=True)
    replay_server.add("GET", INSIGHTS, Reply(json={"data": []}), repeat=True)
    period = Period(date(2026, 11, 16), date(2026, 11, 30), "UTC")  # a period that includes today

    today = fetch(replay_server, VirtualTime(datetime(2026, 11, 24, 9, 0, tzinfo=UTC)), periods=[period],
                  window=(datetime(2026, 11, 15, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)),
                  fetch=["account_snapshots"], account_metrics=["reach"])["account_snapshot"]
    past = fetch(replay_server, fetch=["account_snapshots"], account_metrics=["reach"])["account_snapshot"]

    assert [(r["date"], r["followers"]) for r in rows(today)] == [(date(2026, 11, 24), 4210)]
    assert past.height == 0  # Instagram keeps no follower history: no count for a past day


# -- conversations ------------------------------------------------------------------------------
def test_comments_become_conversations_with_the_accounts_reply_time(replay_server):
    script_profile(replay_server)
    script_media(replay_server)
    first, second = replies("comments_reel_pages.json", replay_server)
    replay_server.add("GET", "/v25.0/17895695668004571/comments", first)
    replay_server.add("GET", "/v25.0/17895695668004571/comments", second, query={"after": "QVFIUa2"})
    replay_server.add("GET", "/v25.0/17858893269000004/replies", *replies("comments_more_replies.json", replay_server))
    replay_server.add("GET", "/v25.0/17895695668004575/comments",
                      *replies("comments_earlier_post.json", replay_server))
    for media_id in IN_WINDOW[1:]:
        replay_server.add("GET", f"/v25.0/{media_id}/comments", Reply(json={"data": []}))

    conversations = fetch(replay_server, fetch=["conversations"])["conversation"]

    base = {"platform": "instagram", "account": "maisonlumiere"}
    reel, reel_url = "17895695668004571", "https://www.instagram.com/reel/DA71xYz/"
    assert sorted(rows(conversations), key=lambda r: r["received_at"]) == [
        # Posted 11-14, before the window, within comments_lookback_days: its comment counts.
        {**base, "message_id": "17858893269000006", "received_at": at("2026-11-16T10:00:00"), "replied_at": None,
         "author": "late_fan", "text": "Do you ship to Belgium?", "post_id": "17895695668004575", "sentiment": None,
         "url": "https://www.instagram.com/p/DA75xYz/"},  # comments have no link of their own: the post's
        {**base, "message_id": "17858893269000001", "received_at": at("2026-11-22T19:02:11"),
         "replied_at": at("2026-11-22T20:15:00"), "author": "fan_anna", "text": "Where can I buy this?",
         "post_id": reel, "sentiment": None, "url": reel_url},
        {**base, "message_id": "17858893269000002", "received_at": at("2026-11-22T21:00:00"), "replied_at": None,
         "author": "troll_9", "text": '<script>alert(1)</script> =HYPERLINK("http://x.example") love it',
         "post_id": reel, "sentiment": None, "url": reel_url},
        # The account answered this thread on the second page of its replies, after the window.
        {**base, "message_id": "17858893269000004", "received_at": at("2026-11-22T22:10:00"),
         "replied_at": at("2026-11-23T07:00:00"), "author": "fan_dina", "text": "Beautiful", "post_id": reel, "sentiment": None, "url": reel_url},
        {**base, "message_id": "17858893269000104", "received_at": at("2026-11-22T22:30:00"),
         "replied_at": at("2026-11-23T07:00:00"), "author": "fan_bob", "text": "+1", "post_id": reel, "sentiment": None, "url": reel_url},
    ]  # the account's own comments are not conversations; 11-23 08:00 is after the window
    assert "replies{id,text,timestamp,username,from,parent_id}" in requests_to(
        replay_server, f"/v25.0/{reel}/comments")[0].params["fields"]
    assert requests_to(replay_server, f"/v25.0/{IN_WINDOW[0]}/insights") == []  # conversations only: no insights


# -- validation ---------------------------------------------------------------------------------
WORKFLOW = """\
[workflow]
name = "Instagram engagement"
period = "last_week"
as_of = "2026-11-24"
compare = []

[[sources]]
plugin = "instagram"
id = "ig_main"
accounts = ["17841405822304914"]
access_token = "${{env:IG_TOKEN}}"
base_url = "{base_url}"
allow_private_network = true
{extra}

[[metrics]]
plugin = "engagement_rate_by_reach"
by = ["overall"]
"""


def problems_of(tmp_path, monkeypatch, extra: str, token: str = "${env:IG_TOKEN}") -> list[str]:
    monkeypatch.setenv("IG_TOKEN", TOKEN)
    path = tmp_path / "instagram.toml"
    path.write_text(WORKFLOW.format(base_url="http://127.0.0.1:9", extra=extra).replace("${env:IG_TOKEN}", token),
                    encoding="utf-8")
    with registered_plugin(instagram), pytest.raises(WorkflowInvalid) as caught:
        load_workflow(path)
    return [str(p) for p in caught.value.problems]


@pytest.mark.parametrize("extra,where,expected", [
    ('media_metrics = ["views", "impressions"]', "sources[0].media_metrics",
     "Meta no longer serves the metric 'impressions': use `views`"),
    ('media_metrics = ["plays"]', "sources[0].media_metrics", "'plays': use `views`"),
    ('media_metrics = ["video_views"]', "sources[0].media_metrics",
     "'video_views': removed on 2025-01-08: use `views`"),
    ('account_metrics = ["impressions"]', "sources[0].account_metrics", "'impressions': use `views`"),
    ('account_metrics = ["website_clicks"]', "sources[0].account_metrics", "removed on 2025-01-08"),
    ('keywords = ["maison lumiere"]', "sources[0]", "Instagram offers apps no keyword search"),
    ('fetch = ["mentions"]', "sources[0].fetch[0]", "posts, account_snapshots, conversations"),
])
def test_deprecated_metrics_and_what_instagram_does_not_offer_are_refused(tmp_path, monkeypatch, extra, where,
                                                                          expected):
    problems = problems_of(tmp_path, monkeypatch, extra)
    assert len(problems) == 1 and f": {where}: " in problems[0] and expected in problems[0], problems


def test_accounts_are_numeric_ids_and_the_token_comes_from_the_environment(tmp_path, monkeypatch):
    problems = problems_of(tmp_path, monkeypatch, "", token="EAAB-pasted-token")
    assert any("sources[0].access_token: secrets may not be written in the workflow file" in p for p in problems)
    handle = tmp_path / "handle.toml"
    handle.write_text(WORKFLOW.format(base_url="http://127.0.0.1:9", extra="").replace(
        '["17841405822304914"]', '["@maisonlumiere"]'), encoding="utf-8")
    with registered_plugin(instagram), pytest.raises(WorkflowInvalid) as caught:
        load_workflow(handle)
    assert "not an Instagram account id: use the numeric IG user id" in str(caught.value.problems[0])


def test_produces_follows_the_fetch_option():
    options = {"accounts": [IG_USER], "access_token": TOKEN}
    assert Instagram(Instagram.Options(**options), entry_id="ig").produces() == {"post", "account_snapshot"}
    conversations_only = Instagram(Instagram.Options(**options, fetch=["conversations"]), entry_id="ig")
    assert conversations_only.produces() == {"conversation"}


# -- end to end ---------------------------------------------------------------------------------
def test_a_workflow_computes_the_engagement_rate_from_instagram(replay_server, tmp_path, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    script_posts(replay_server)
    monkeypatch.setenv("IG_TOKEN", TOKEN)
    path = tmp_path / "instagram.toml"
    threshold = '\n[[triggers]]\nplugin = "threshold"\nmetric = "engagement_rate_by_reach"\nbelow = 15.0\n'
    path.write_text(WORKFLOW.format(base_url=replay_server.url, allow_private_network=True, extra='fetch = ["posts"]') + threshold,
                    encoding="utf-8")

    with registered_plugin(instagram):
        result = run_workflow_file(path, store_url=f"sqlite:///{tmp_path}/s.db")

    assert result.status == "ok", [s.error for s in result.failed_stages]
    # (310+22+41+97) + (120+8+5+30) + (200+14+60) over 3900 + 1400 + 2000; the post without
    # reach (too few viewers) is left out of both sides.
    err = (470 + 163 + 274) / 7300 * 100
    assert result.value("engagement_rate_by_reach") == pytest.approx(err)  # 12.42 %
    assert [a.summary for a in result.alerts] == ["ERR (reach) is 12.42% overall, below 15.00%"]
    (stage,) = [s for s in result.stages if s.id == "ig_main"]
    assert stage.counts == {"post": 4}
    assert [r for r in caplog.records if TOKEN in r.getMessage()] == []
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in replay_server.requests)


def test_day_ranges_stay_within_30_times_24_hours_across_the_end_of_summer_time():
    from cmflow.builtin.sources.meta_graph import day_ranges

    days = [date(2026, 10, 14) + timedelta(days=n) for n in range(32)]  # summer time ends on 1 November
    ranges = day_ranges(days, 30)

    assert [(first, last) for first, last in ranges] == [(date(2026, 10, 14), date(2026, 11, 11)),
                                                         (date(2026, 11, 12), date(2026, 11, 14))]
    assert all(pacific_midnight(last + timedelta(days=1)) - pacific_midnight(first) <= timedelta(days=30)
               for first, last in ranges)
