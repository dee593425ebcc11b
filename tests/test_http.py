"""The HTTP kit against a real loopback server replaying the platforms' real answers.

Waits happen in virtual time (``VirtualTime``): a one-hour back-off takes microseconds, and
the waits themselves are what the tests check.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import traceback
from datetime import datetime, timezone
from email.utils import format_datetime
from pathlib import Path

import httpx
import pytest

from cmflow.http import (ApiVersionExpired, AuthExpired, BadResponse, BudgetLimits, Cursor, LinkHeader,
                         NextUrl, OffsetLimit, PageToken, PermissionMissing, PlatformUnavailable, RateLimited,
                         RequestRejected, ResponseTooLarge, RetryPolicy, TooManyPages, make_client, redact)
from cmflow.http.pagination import parse_link_header
from cmflow.foundation.secrets import redactor
from cmflow.testing import ReplayServer, Reply, VirtualTime, load_replies, replay_server  # noqa: F401 (fixture)

FIXTURES = Path(__file__).parent / "fixtures" / "http"
IG_USER = "17841405822304914"
TOKEN = "EAAGm0PX4ZCpsBAKZBtoken1234567890secret"


def replies(name: str, server, *, base: str = "") -> list[Reply]:
    """The replies of a fixture file, recorded URLs under ``base`` moved to the replay server."""
    return load_replies(FIXTURES / name, rebase={base: server.url} if base else None)


@pytest.fixture
def vtime() -> VirtualTime:
    return VirtualTime()


@pytest.fixture
def http(vtime):
    # The replay server listens on loopback, which the network guard refuses by default.
    with make_client(clock=vtime.clock, sleep=vtime.sleep, allow_private_network=True) as client:
        yield client


# -- pagination --------------------------------------------------------------------------------
def test_meta_paging_next_follows_three_pages(replay_server, http):
    path = f"/v25.0/{IG_USER}/media"
    first, second, third = replies("meta_media_pages.json", replay_server, base="https://graph.facebook.com")
    replay_server.add("GET", path, first)
    replay_server.add("GET", path, second, query={"after": "QVFIUm9"})
    replay_server.add("GET", path, third, query={"after": "QVFIUnh"})
    instagram = http.session("instagram", base_url=replay_server.url, token=TOKEN, source="ig_main")

    pages = list(instagram.pages(path, paging=NextUrl(), params={"fields": "id,caption", "limit": 2}))

    assert [len(p["data"]) for p in pages] == [2, 2, 1]
    assert len({item["id"] for page in pages for item in page["data"]}) == 5
    assert [r.params.get("after") for r in replay_server.requests] == [None, "QVFIUm9", "QVFIUnh"]
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in replay_server.requests)
    assert replay_server.requests[0].params == {"fields": "id,caption", "limit": "2"}


def test_link_header_paging_follows_rel_next(replay_server, http):
    path = "/api/v1/accounts/1/statuses"
    first, second, third = replies("mastodon_statuses_pages.json", replay_server, base="https://mastodon.social")
    replay_server.add("GET", path, first)
    replay_server.add("GET", path, second, query={"max_id": "115600000000000005"})
    replay_server.add("GET", path, third, query={"max_id": "115600000000000003"})
    mastodon = http.session("mastodon", base_url=replay_server.url, token=TOKEN)

    pages = list(mastodon.pages(path, paging=LinkHeader(), params={"limit": 2, "exclude_reblogs": "true"}))

    assert [s["id"] for page in pages for s in page][-1] == "115600000000000001"
    assert [r.params.get("max_id") for r in replay_server.requests] == [
        None, "115600000000000005", "115600000000000003"]


def test_parse_link_header_reads_several_relations():
    links = parse_link_header('<https://i.example/a?max_id=7>; rel="next", <https://i.example/a?min_id=9>; rel="prev"')
    assert links == {"next": "https://i.example/a?max_id=7", "prev": "https://i.example/a?min_id=9"}


def test_body_cursor_paging_sends_the_cursor_back(replay_server, http):
    path = "/xrpc/app.bsky.feed.getAuthorFeed"
    replay_server.add("GET", path, *replies("bluesky_feed_pages.json", replay_server))
    bluesky = http.session("bluesky", base_url=replay_server.url)

    pages = list(bluesky.pages(path, paging=Cursor("cursor", "cursor"),
                               params={"actor": "brand.bsky.social", "limit": 2}))

    assert len(pages) == 3 and "cursor" not in pages[-1]
    assert [r.params.get("cursor") for r in replay_server.requests] == [
        None, "2026-11-19T10:00:00.000Z", "2026-11-17T10:00:00.000Z"]
    assert all(r.params["actor"] == "brand.bsky.social" for r in replay_server.requests)


def test_x_next_token_goes_back_as_pagination_token(replay_server, http):
    path = "/2/users/2244994945/tweets"
    replay_server.add("GET", path, *replies("x_tweets_pages.json", replay_server))
    x = http.session("x", base_url=replay_server.url, token=TOKEN)

    pages = list(x.pages(path, paging=Cursor("meta.next_token", "pagination_token")))

    assert sum(p["meta"]["result_count"] for p in pages) == 6
    assert [r.params.get("pagination_token") for r in replay_server.requests] == [
        None, "7140dibdnow9c7btw4539n0vybdnx1", "7140dibdnow9c7btw4539n0vybdnx2"]


def test_youtube_page_tokens(replay_server, http):
    path = "/youtube/v3/commentThreads"
    replay_server.add("GET", path, *replies("youtube_comment_threads_pages.json", replay_server))
    youtube = http.session("youtube", base_url=replay_server.url, token=TOKEN)

    pages = list(youtube.pages(path, paging=PageToken(), params={"videoId": "dQw4w9WgXcQ", "part": "snippet"}))

    assert sum(len(p["items"]) for p in pages) == 6
    assert [r.params.get("pageToken") for r in replay_server.requests] == [None, "QURTSl9p", "QURTSl9q"]


def test_linkedin_offset_paging_follows_its_next_links(replay_server, http):
    path = "/rest/posts"
    replay_server.add("GET", path, *replies("linkedin_posts_pages.json", replay_server))
    linkedin = http.session("linkedin", base_url=replay_server.url, token=TOKEN)

    paging = OffsetLimit("start", "count", page_size=2, items="elements", next_links="paging.links")
    pages = list(linkedin.pages(path, paging=paging,
                                params={"q": "author", "author": "urn:li:organization:2414183"}))

    assert [len(p["elements"]) for p in pages] == [2, 2, 1]
    assert [(r.params["start"], r.params["count"]) for r in replay_server.requests] == [
        ("0", "2"), ("2", "2"), ("4", "2")]
    # The versioned REST headers come from the platform's one place.
    assert replay_server.requests[0].headers["linkedin-version"] == "202611"
    assert replay_server.requests[0].headers["x-restli-protocol-version"] == "2.0.0"


def test_offset_paging_does_not_stop_at_a_page_capped_below_the_size_asked(replay_server, http):
    """Asked for 100, the platform sends 2 at a time: a short page is not the last one."""
    replay_server.add("GET", "/items", Reply(json={"elements": [1, 2]}), Reply(json={"elements": [3, 4]}),
                      Reply(json={"elements": [5]}), Reply(json={"elements": []}))
    session = http.session("other-api", base_url=replay_server.url)
    pages = list(session.pages("/items", paging=OffsetLimit(page_size=100)))
    assert [p["elements"] for p in pages] == [[1, 2], [3, 4], [5], []]
    assert [r.params["start"] for r in replay_server.requests] == ["0", "2", "4", "5"]


def test_ga4_offset_in_the_json_body_until_row_count(replay_server, http):
    path = "/v1beta/properties/123456:runReport"
    replay_server.add("POST", path, *replies("ga4_report_pages.json", replay_server))
    ga4 = http.session("ga4", base_url=replay_server.url, token=TOKEN)
    report = {"dateRanges": [{"startDate": "2026-11-18", "endDate": "2026-11-19"}],
              "dimensions": [{"name": "date"}, {"name": "sessionSourceMedium"}],
              "metrics": [{"name": "sessions"}, {"name": "keyEvents"}, {"name": "totalRevenue"}]}

    pages = list(ga4.pages(path, method="POST", json=report,
                           paging=OffsetLimit("offset", "limit", page_size=2, items="rows", total="rowCount",
                                              send_in="json")))

    assert sum(len(p["rows"]) for p in pages) == 5
    bodies = [r.json() for r in replay_server.requests]
    assert [(b["offset"], b["limit"]) for b in bodies] == [(0, 2), (2, 2), (4, 2)]
    assert all(b["metrics"] == report["metrics"] for b in bodies)


def test_tiktok_cursor_in_the_json_body_until_has_more_is_false(replay_server, http):
    path = "/v2/video/list/"
    replay_server.add("POST", path, *replies("tiktok_video_list_pages.json", replay_server))
    tiktok = http.session("tiktok", base_url=replay_server.url, token=TOKEN)

    pages = list(tiktok.pages(path, method="POST", json={"max_count": 2}, params={"fields": "id,like_count"},
                              paging=Cursor("data.cursor", "cursor", send_in="json", has_more="data.has_more")))

    assert len(pages) == 3
    assert [r.json().get("cursor") for r in replay_server.requests] == [None, 1731924000000, 1731751200000]


def test_max_pages_cap_raises_instead_of_looping(replay_server, http):
    path = "/xrpc/app.bsky.feed.getAuthorFeed"
    replay_server.add("GET", path, *replies("bluesky_feed_pages.json", replay_server))
    bluesky = http.session("bluesky", base_url=replay_server.url, source="bsky")

    with pytest.raises(TooManyPages, match="more than 2 pages"):
        list(bluesky.pages(path, paging=Cursor(), max_pages=2))
    assert len(replay_server.requests) == 2


def test_a_next_page_on_another_host_never_gets_the_token(replay_server, http):
    replay_server.add("GET", "/v25.0/1/media", Reply(json={"data": [], "paging": {
        "next": "https://attacker.example/v25.0/1/media?after=x"}}))
    facebook = http.session("facebook", base_url=replay_server.url, token=TOKEN)

    with pytest.raises(BadResponse, match="refusing to send the token to https://attacker.example"):
        list(facebook.pages("/v25.0/1/media", paging=NextUrl()))


# -- retries and waits ---------------------------------------------------------------------------
def test_429_with_retry_after_waits_the_given_seconds(replay_server, http, vtime):
    replay_server.add("GET", "/api/v1/accounts/1", Reply(429, json={"error": "Too many requests"},
                                                         headers={"Retry-After": "7"}),
                      Reply(json={"id": "1", "followers_count": 322930}))
    mastodon = http.session("mastodon", base_url=replay_server.url)

    assert mastodon.get_json("/api/v1/accounts/1")["followers_count"] == 322930
    assert vtime.sleeps == [7]
    assert len(replay_server.requests) == 2


def test_retry_after_as_an_http_date(replay_server, http, vtime):
    replay_server.add("GET", "/a", Reply(503, body="busy", headers={"Retry-After": "Tue, 24 Nov 2026 09:02:00 GMT"}),
                      Reply(json={"ok": True}))
    assert http.session("other-api", base_url=replay_server.url).get_json("/a") == {"ok": True}
    assert vtime.sleeps == [120]


def test_503_twice_then_200_backs_off_with_jitter(replay_server, http, vtime):
    replay_server.add("GET", "/2/users/me", Reply(503, body="Service Unavailable"), Reply(503, body="Service Unavailable"),
                      Reply(json={"data": {"id": "2244994945"}}))
    x = http.session("x", base_url=replay_server.url, token=TOKEN)

    assert x.get_json("/2/users/me") == {"data": {"id": "2244994945"}}
    first, second = vtime.sleeps
    assert 1 <= first <= 2 and 2 <= second <= 3  # 1 s then 2 s, plus up to 1 s of jitter


@pytest.mark.parametrize("index,code", list(enumerate([4, 17, 32, 613, 80001, 80002])), ids=lambda v: str(v))
def test_meta_throttling_codes_are_retried(replay_server, http, index, code):
    throttle = replies("meta_throttling_errors.json", replay_server)[index]
    assert throttle.json["error"]["code"] == code and throttle.status in (400, 403)
    replay_server.add("GET", f"/v25.0/{IG_USER}", throttle, Reply(json={"followers_count": 4210}))
    instagram = http.session("instagram", base_url=replay_server.url, token=TOKEN)

    assert instagram.get_json(f"/v25.0/{IG_USER}", params={"fields": "followers_count"}) == {"followers_count": 4210}
    assert len(replay_server.requests) == 2


@pytest.mark.parametrize("status", [429, 502])
def test_a_meta_shaped_error_without_a_code_follows_the_http_rules(replay_server, http, status):
    """A 429 or 5xx whose body has an `error` object but no Graph code (a proxy, an outage page)."""
    replay_server.add("GET", f"/v25.0/{IG_USER}", Reply(status, json={"error": {"message": "try later"}}),
                      Reply(json={"followers_count": 4210}))
    instagram = http.session("instagram", base_url=replay_server.url, token=TOKEN)
    assert instagram.get_json(f"/v25.0/{IG_USER}") == {"followers_count": 4210}
    assert len(replay_server.requests) == 2


def test_meta_business_use_case_wait_is_honoured(replay_server, http, vtime):
    throttle = replies("meta_throttling_errors.json", replay_server)[5]  # 80002, regain access in 1 minute
    replay_server.add("GET", f"/v25.0/{IG_USER}/media", throttle, Reply(json={"data": []}))
    instagram = http.session("instagram", base_url=replay_server.url, token=TOKEN)

    instagram.get_json(f"/v25.0/{IG_USER}/media")
    assert vtime.sleeps == [60]


def test_ga4_resource_exhausted_is_retried(replay_server, http):
    replay_server.add("POST", "/v1beta/properties/1:runReport", *replies("ga4_429.json", replay_server),
                      Reply(json={"rowCount": 0, "kind": "analyticsData#runReport"}))
    ga4 = http.session("ga4", base_url=replay_server.url, token=TOKEN)

    assert ga4.post_json("/v1beta/properties/1:runReport", {"limit": "10"})["rowCount"] == 0
    assert len(replay_server.requests) == 2


def test_read_timeout_is_retried(replay_server, vtime):
    replay_server.add("GET", "/slow", Reply(json={"late": True}, delay=1.5), Reply(json={"ok": True}))
    with make_client(read_timeout=0.25, clock=vtime.clock, sleep=vtime.sleep,
                     allow_private_network=True) as client:
        assert client.session("other-api", base_url=replay_server.url).get_json("/slow") == {"ok": True}
    assert len(vtime.sleeps) == 1


def test_max_total_wait_exceeded_is_a_clear_rate_limit_error(replay_server, vtime):
    """X says the window resets in 15 minutes; the workflow allows 10: fail now, say when to retry."""
    replay_server.add("GET", "/2/users/1/mentions", *replies("x_429.json", replay_server), repeat=True)
    with make_client(clock=vtime.clock, sleep=vtime.sleep, allow_private_network=True,
                     retry=RetryPolicy(max_total_wait=600)) as client:
        x = client.session("x", base_url=replay_server.url, token=TOKEN, source="x_brand")
        with pytest.raises(RateLimited) as caught:
            x.get_json("/2/users/1/mentions")

    message = str(caught.value)
    assert "source 'x_brand' (X)" in message and "rate limit is reached" in message
    assert "HTTP 429: Too Many Requests" in message
    assert "max_total_wait (10 min)" in message
    assert "Run again after 2026-11-24 09:15:00 UTC" in message
    assert caught.value.retry_at == datetime(2026, 11, 24, 9, 15, tzinfo=timezone.utc)
    assert vtime.sleeps == [] and len(replay_server.requests) == 1


def test_waits_add_up_to_the_maximum_then_stop(replay_server, vtime):
    replay_server.add("GET", "/a", Reply(429, headers={"Retry-After": "300"}, json={}), repeat=True)
    with make_client(clock=vtime.clock, sleep=vtime.sleep, allow_private_network=True,
                     retry=RetryPolicy(max_total_wait=700)) as client:
        with pytest.raises(RateLimited, match="cmflow waited 10 min and waiting 5 min more would pass max_total_wait"):
            client.session("other-api", base_url=replay_server.url).get_json("/a")
    assert vtime.sleeps == [300, 300]


def test_youtube_daily_quota_fails_at_once_naming_the_reset(replay_server, http, vtime):
    replay_server.add("GET", "/youtube/v3/videos", *replies("youtube_403_quota.json", replay_server))
    youtube = http.session("youtube", base_url=replay_server.url, token=TOKEN, source="yt")

    with pytest.raises(RateLimited) as caught:
        youtube.get_json("/youtube/v3/videos", params={"part": "statistics", "id": "dQw4w9WgXcQ"})

    assert "quotaExceeded" in str(caught.value) and "<a href" not in str(caught.value)
    # 09:00 UTC is 01:00 in Los Angeles: the quota returns at the next local midnight, 08:00 UTC.
    assert caught.value.retry_at == datetime(2026, 11, 25, 8, 0, tzinfo=timezone.utc)
    assert vtime.sleeps == [] and len(replay_server.requests) == 1


def test_unit_budget_refuses_what_would_overspend(replay_server, http):
    replay_server.add("GET", "/youtube/v3/search", Reply(json={"items": []}), repeat=True)
    youtube = http.session("youtube", base_url=replay_server.url, token=TOKEN,
                           budget=BudgetLimits(unit_limit=150))

    youtube.get_json("/youtube/v3/search", params={"q": "brand"}, cost=100)
    with pytest.raises(RateLimited, match="budget of 150 units is spent"):
        youtube.get_json("/youtube/v3/search", params={"q": "brand"}, cost=100)
    assert len(replay_server.requests) == 1


# -- slowing down before the wall --------------------------------------------------------------
def test_meta_usage_at_95_percent_slows_down(replay_server, http, vtime):
    replay_server.add("GET", f"/v25.0/{IG_USER}", *replies("meta_usage_95.json", replay_server))
    instagram = http.session("instagram", base_url=replay_server.url, token=TOKEN)

    for expected_sleeps in ([], [30], [30, 30], [30, 30]):  # 95 %, 96 %, then 20 %: back to full speed
        instagram.get_json(f"/v25.0/{IG_USER}", params={"fields": "followers_count"})
        assert vtime.sleeps == expected_sleeps


def test_x_no_requests_left_waits_for_the_reset(replay_server, http, vtime):
    replay_server.add("GET", "/2/users/me", *replies("x_remaining_zero.json", replay_server))
    x = http.session("x", base_url=replay_server.url, token=TOKEN)

    x.get_json("/2/users/me")
    x.get_json("/2/users/me")
    assert vtime.sleeps == [120]  # reset at 09:02:00, asked at 09:00:00


@pytest.mark.parametrize("skew", [-3600.0, 0.0, 3600.0])
@pytest.mark.parametrize("platform, header, reset", [
    ("x", "x-rate-limit-reset", lambda at: str(int(at))),  # epoch seconds
    ("bluesky", "ratelimit-reset", lambda at: str(int(at))),  # epoch seconds
    ("mastodon", "x-ratelimit-reset", lambda at: datetime.fromtimestamp(at, timezone.utc).isoformat()),  # ISO
    ("x", "retry-after", lambda at: format_datetime(datetime.fromtimestamp(at, timezone.utc), usegmt=True)),
])
def test_a_reset_given_as_a_time_is_read_on_the_servers_clock(replay_server, http, vtime, skew, platform, header,
                                                              reset):
    """The client's clock is an hour behind, right, or an hour ahead of the server's: a 429 whose
    reset is a time two minutes after the server's ``Date`` holds the budget two minutes, as the
    client measures them, not two minutes plus (or minus) the skew."""
    replay_server.clock = lambda: vtime.clock() + skew  # the server's Date headers
    told = reset(vtime.clock() + skew + 120)
    headers = {header: told} if header == "retry-after" else {header: told, header.replace("reset", "remaining"): "0"}
    replay_server.add("GET", "/limited", Reply(429, json={}, headers=headers), Reply(json={}))
    api = http.session(platform, base_url=replay_server.url, token=TOKEN)
    api.get_json("/limited")
    assert vtime.sleeps == [120]


def test_without_a_date_header_a_reset_time_is_read_on_the_clients_clock():
    from cmflow.http.platforms import rate_window, retry_after, server_now

    now = 1.8e9
    assert server_now(httpx.Headers({}), now) == now
    assert server_now(httpx.Headers({"date": "not a date"}), now) == now
    assert retry_after(httpx.Headers({"retry-after": format_datetime(datetime.fromtimestamp(now + 30, timezone.utc),
                                                                     usegmt=True)}), now) == 30
    assert rate_window(httpx.Headers({"x-rate-limit-reset": str(int(now) + 90)}), now).reset_at == now + 90
    told_an_hour_ahead = {"date": format_datetime(datetime.fromtimestamp(now + 3600, timezone.utc), usegmt=True)}
    assert rate_window(httpx.Headers({"x-rate-limit-reset": str(int(now) + 3690), **told_an_hour_ahead}),
                       now).reset_at == now + 90


def test_token_bucket_paces_requests(replay_server, http, vtime):
    replay_server.add("GET", "/a", Reply(json={}), repeat=True)
    api = http.session("other-api", base_url=replay_server.url, budget=BudgetLimits(requests_per_second=2))
    for _ in range(3):
        api.get_json("/a")
    assert vtime.sleeps == [0.5, 0.5]


def test_budget_limits_concurrency_across_sessions(replay_server):
    """Eight threads, two sessions of the same platform and token: never more than 2 in flight."""
    replay_server.add("GET", "/api/v1/timelines/home", Reply(json=[], delay=0.05), repeat=True)
    with make_client(allow_private_network=True) as client:
        sessions = [client.session("mastodon", base_url=replay_server.url, token=TOKEN,
                                   budget=BudgetLimits(max_concurrency=2)) for _ in range(2)]
        assert sessions[0].budget is sessions[1].budget
        errors: list[BaseException] = []

        def fetch(n: int) -> None:
            try:
                sessions[n % 2].get_json("/api/v1/timelines/home")
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=fetch, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert errors == []
    assert len(replay_server.requests) == 8
    assert replay_server.max_in_flight == 2  # the limit, and the limit reached (8 slow requests)
    assert sessions[0].budget.max_in_flight == 2


def test_another_token_has_its_own_budget(http):
    first = http.session("mastodon", base_url="https://mastodon.social", token="token-of-brand-a")
    second = http.session("mastodon", base_url="https://mastodon.social", token="token-of-brand-b")
    assert first.budget is not second.budget
    assert "token-of" not in first.budget.name


# -- errors a person can act on ----------------------------------------------------------------
def test_meta_190_is_auth_expired_with_how_to_renew_and_no_retry(replay_server, http):
    replay_server.add("GET", f"/v25.0/{IG_USER}/media", *replies("meta_error_190.json", replay_server), repeat=True)
    instagram = http.session("instagram", base_url=replay_server.url, token=TOKEN, source="ig_main")

    with pytest.raises(AuthExpired) as caught:
        instagram.get_json(f"/v25.0/{IG_USER}/media")

    message = str(caught.value)
    assert message.startswith("source 'ig_main' (Instagram): the access token was refused (Meta error 190, subcode 463")
    assert "the token expired" in message and "To renew it:" in message
    assert "/refresh_access_token?grant_type=ig_refresh_token" in message
    assert caught.value.code == 190 and caught.value.status == 400
    assert len(replay_server.requests) == 1


def test_linkedin_expired_token(replay_server, http):
    replay_server.add("GET", "/rest/posts", *replies("linkedin_401_expired.json", replay_server))
    linkedin = http.session("linkedin", base_url=replay_server.url, token=TOKEN)
    with pytest.raises(AuthExpired, match="EXPIRED_ACCESS_TOKEN.*3-legged OAuth"):
        linkedin.get_json("/rest/posts")


def test_linkedin_426_names_the_option_to_change(replay_server, http):
    replay_server.add("GET", "/rest/posts", *replies("linkedin_426.json", replay_server))
    linkedin = http.session("linkedin", base_url=replay_server.url, token=TOKEN, source="li_org",
                            api_version="20250401", version_option="linkedin_version")

    with pytest.raises(ApiVersionExpired) as caught:
        linkedin.get_json("/rest/posts", params={"q": "author"})

    assert replay_server.requests[0].headers["linkedin-version"] == "20250401"
    assert caught.value.option == "linkedin_version"
    message = str(caught.value)
    assert "LinkedIn no longer serves API version 20250401" in message
    assert "Set the source option `linkedin_version` to an active version" in message
    assert len(replay_server.requests) == 1


def test_missing_permission_names_the_scope(replay_server, http):
    replay_server.add("GET", "/v25.0/104857600000001/published_posts",
                      *replies("meta_error_10_permission.json", replay_server))
    facebook = http.session("facebook", base_url=replay_server.url, token=TOKEN, source="fb_page")

    with pytest.raises(PermissionMissing) as caught:
        facebook.get_json("/v25.0/104857600000001/published_posts")

    assert caught.value.scope == "pages_read_engagement"
    assert "Grant the `pages_read_engagement` permission" in str(caught.value)


def test_missing_permission_without_a_name_lists_what_the_source_needs(replay_server, http):
    replay_server.add("GET", "/v1beta/properties/1:runReport", Reply(403, json={"error": {
        "code": 403, "message": "User does not have sufficient permissions for this property.",
        "status": "PERMISSION_DENIED"}}))
    ga4 = http.session("ga4", base_url=replay_server.url, token=TOKEN, scopes=("analytics.readonly",))
    with pytest.raises(PermissionMissing, match="This source needs the token to carry: analytics.readonly"):
        ga4.get_json("/v1beta/properties/1:runReport")


def test_meta_code_100_is_refused_with_the_deprecation_hint(replay_server, http):
    replay_server.add("GET", f"/v25.0/{IG_USER}/insights", *replies("meta_error_100_deprecated.json", replay_server))
    instagram = http.session("instagram", base_url=replay_server.url, token=TOKEN)
    with pytest.raises(RequestRejected, match="Meta error 100.*deprecated metric"):
        instagram.get_json(f"/v25.0/{IG_USER}/insights", params={"metric": "impressions"})
    assert len(replay_server.requests) == 1


def test_garbage_body_is_a_bad_response_showing_the_first_bytes_redacted(replay_server, http):
    page = ("<html><head><title>502 Bad Gateway</title></head><body>upstream failed for "
            f"/v25.0/me?access_token={TOKEN}</body></html>" + " " * 500)
    replay_server.add("GET", "/v25.0/me", Reply(200, body=page, headers={"Content-Type": "text/html"}))
    facebook = http.session("facebook", base_url=replay_server.url, token=TOKEN, token_param="access_token")

    with pytest.raises(BadResponse) as caught:
        facebook.get_json("/v25.0/me")

    message = str(caught.value)
    assert "is not JSON (text/html)" in message and "<html><head><title>502 Bad Gateway" in message
    assert TOKEN not in message and "access_token=***" in message
    assert len(message) < 600  # the first bytes, not the whole page


def test_redirects_are_not_followed(replay_server, http):
    replay_server.add("GET", "/old", Reply(301, headers={"Location": "https://graph.facebook.com/new"}, body=""))
    with pytest.raises(BadResponse, match="redirected \\(HTTP 301\\) to https://graph.facebook.com/new"):
        http.session("facebook", base_url=replay_server.url).get_json("/old")


def test_oversized_response_is_aborted(replay_server, vtime):
    big = {"data": [{"id": str(n), "caption": "x" * 100} for n in range(20_000)]}  # about 2.5 MB
    replay_server.add("GET", "/with-length", Reply(json=big))
    replay_server.add("GET", "/streamed", Reply(json=big, content_length=False))
    with make_client(max_response_mb=1, clock=vtime.clock, sleep=vtime.sleep, allow_private_network=True
                     ) as client:
        api = client.session("instagram", base_url=replay_server.url, source="ig")
        for path in ("/with-length", "/streamed"):
            with pytest.raises(ResponseTooLarge, match="answered more than 1 MB \\(max_response_mb\\)"):
                api.get_json(path)
    assert [r.path for r in replay_server.requests] == ["/with-length", "/streamed"]  # never retried


def test_token_in_the_query_string_never_reaches_errors_or_logs(replay_server, vtime, caplog):
    """Meta wants ``access_token=`` in the URL; httpx logs URLs and puts them in exceptions."""
    caplog.set_level(logging.DEBUG)
    replay_server.add("GET", "/v25.0/me", Reply(503, body="down"), repeat=True)
    replay_server.add("GET", "/v25.0/expired", *replies("meta_error_190.json", replay_server))
    replay_server.add("GET", "/v25.0/garbage", Reply(body=f"oops access_token={TOKEN}"))
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        closed_port = closed.getsockname()[1]
    texts: list[str] = []
    with make_client(clock=vtime.clock, sleep=vtime.sleep, allow_private_network=True,
                     retry=RetryPolicy(max_attempts=3)) as client:
        facebook = client.session("facebook", base_url=replay_server.url, token=TOKEN,
                                  token_param="access_token", source="fb")
        unreachable = client.session("facebook", base_url=f"http://127.0.0.1:{closed_port}", token=TOKEN,
                                     token_param="access_token")
        calls = [lambda: facebook.get_json("/v25.0/me"), lambda: facebook.get_json("/v25.0/expired"),
                 lambda: facebook.get_json("/v25.0/garbage"), lambda: unreachable.get_json("/v25.0/me")]
        for call in calls:
            with pytest.raises(Exception) as caught:
                call()
            texts += [str(caught.value), repr(caught.value), *map(str, caught.value.args),
                      "".join(traceback.format_exception(caught.value))]
    texts += [record.getMessage() for record in caplog.records]

    assert replay_server.requests[0].params["access_token"] == TOKEN  # it was sent
    assert any("access_token=***" in text for text in texts)
    assert any(record.name == "httpx" for record in caplog.records)  # httpx's own request log
    assert [t for t in texts if TOKEN in t] == []
    assert isinstance(caught.value, PlatformUnavailable)


def test_redact_masks_query_tokens_json_tokens_and_authorization():
    redactor.add("registered-secret-value")
    text = ('GET https://graph.facebook.com/v25.0/me?fields=id&access_token=EAAB123&key=AIzaSy0 '
            'Authorization: Bearer abc.def.ghi {"access_token":"IGQVJ","token_type":"bearer"} '
            "{'refresh_token': 'r1//0g'} body: access_token=EAAC9; and registered-secret-value; "
            "Bearer authentication failed, monkey=ok")
    assert redact(text) == ('GET https://graph.facebook.com/v25.0/me?fields=id&access_token=***&key=*** '
                            'Authorization: Bearer *** {"access_token":"***","token_type":"bearer"} '
                            "{'refresh_token': '***'} body: access_token=***; and ***; "
                            "Bearer authentication failed, monkey=ok")


# -- the client itself -------------------------------------------------------------------------
def test_user_agent_names_cmflow_and_its_version(replay_server, http):
    from cmflow import __version__

    replay_server.add("GET", "/a", Reply(json={}))
    http.session("other-api", base_url=replay_server.url).get_json("/a")
    import httpx

    assert replay_server.requests[0].headers["user-agent"] == f"cmflow/{__version__} python-httpx/{httpx.__version__}"


def test_http2_needs_the_h2_package():
    from cmflow.http.client import http2_available

    if http2_available():
        pytest.skip("h2 is installed here")
    with pytest.raises(ImportError, match="pip install 'httpx\\[http2\\]'"):
        make_client(http2=True)


def test_replay_server_answers_unscripted_requests_with_a_clear_418(replay_server, http):
    replay_server.add("GET", "/scripted", Reply(json={}))
    with pytest.raises(RequestRejected, match="HTTP 418: replay server: no reply scripted for GET /nope"):
        http.session("other-api", base_url=replay_server.url).get_json("/nope", params={"a": "1"})
    assert [r.path for r in replay_server.unmatched] == ["/nope"]
    assert [r.path for r in replay_server.pending()] == ["/scripted"]


def test_fixtures_are_valid_replies_in_the_platforms_shapes():
    files = sorted(FIXTURES.glob("*.json"))
    assert len(files) >= 15
    for path in files:
        for reply in load_replies(path):
            content, headers = reply.payload()
            assert json.loads(content) is not None, path.name


def test_the_example_test_module_in_the_docs_passes():
    """docs/http.md shows a test module for a source; run its tests against a real server."""
    text = (Path(__file__).parent.parent / "docs" / "http.md").read_text(encoding="utf-8")
    block = text.split("```python\n# tests/test_my_source.py\n", 1)[1].split("```", 1)[0]
    namespace: dict[str, object] = {"__name__": "docs_test_my_source"}
    exec(compile(block, "docs/http.md:tests/test_my_source.py", "exec"), namespace)
    tests = {name: f for name, f in namespace.items() if name.startswith("test_") and callable(f)}
    assert len(tests) == 2
    for test in tests.values():
        with ReplayServer() as server:
            test(replay_server=server)


def test_a_token_with_url_special_characters_under_any_parameter_name_stays_hidden(
        replay_server, vtime, caplog):
    """In a URL the token travels percent-encoded (a+b/c= -> a%2Bb%2Fc%3D): hide that form too."""
    caplog.set_level(logging.DEBUG)
    token = "tok+en/with=specials|" + TOKEN
    replay_server.add("GET", "/api", Reply(503, body="down"), repeat=True)
    texts: list[str] = []
    with make_client(clock=vtime.clock, sleep=vtime.sleep, allow_private_network=True,
                     retry=RetryPolicy(max_attempts=2)) as client:
        session = client.session("other-api", base_url=replay_server.url, token=token, token_param="auth")
        with pytest.raises(Exception) as caught:
            session.get_json("/api")
        texts += [str(caught.value), "".join(traceback.format_exception(caught.value))]
    texts += [record.getMessage() for record in caplog.records]
    assert replay_server.requests[0].params["auth"] == token  # it was sent, encoded on the wire
    from urllib.parse import quote, quote_plus

    leaks = [t for t in texts if token in t or quote(token, safe="") in t or quote_plus(token) in t]
    assert leaks == []
    assert any("/api" in t for t in texts)


@pytest.mark.parametrize("value, expected", [
    ("inf", None), ("nan", None), ("1e400", None), ("-5", 0.0),
    ("99999999999999999999", 7 * 24 * 3600.0), ("120", 120.0)])
def test_absurd_retry_after_values_are_ignored_or_capped(value, expected):
    """A broken proxy's "inf" must not crash a run nor hold a platform's budget forever."""
    from cmflow.http.platforms import meta_usage, rate_window, retry_after

    assert retry_after(httpx.Headers({"retry-after": value}), 1.8e9) == expected
    window = rate_window(httpx.Headers({"ratelimit-reset": value, "ratelimit-remaining": value}), 1.8e9)
    assert window is not None and (window.reset_at is None or window.reset_at <= 1.8e9 + 7 * 24 * 3600)
    usage = meta_usage(httpx.Headers({"x-app-usage": json.dumps({"call_count": value})}))
    assert usage is not None and usage.percent == (0.0 if expected is None else float(value))


def test_once_the_rate_headers_are_known_they_set_the_pace_not_the_static_bucket(replay_server, http, vtime):
    """Mastodon: before any answer, 0.9 request/s in bursts of 10 (cmflow alone never reaches 300
    in 5 minutes). Headers saying 250 of 300 are left lift that bucket until the reset: 40 pages
    go at full speed; near the wall (25 left) the requests are spaced to the reset instead."""
    reset = "2026-11-24T09:05:00.000Z"  # five minutes after the virtual start

    def answer(remaining: int) -> Reply:
        return Reply(json=[], headers={"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": str(remaining),
                                       "X-RateLimit-Reset": reset})

    replay_server.add("GET", "/api/v1/timelines/home", *[answer(250 - i) for i in range(40)], answer(25), answer(24))
    mastodon = http.session("mastodon", base_url=replay_server.url, token=TOKEN)
    for _ in range(40):
        mastodon.get_json("/api/v1/timelines/home")
    assert vtime.sleeps == []  # the static bucket alone would have slept from the 11th request on
    mastodon.get_json("/api/v1/timelines/home")  # says 25 left: 10 % of 300 or less
    mastodon.get_json("/api/v1/timelines/home")
    assert len(vtime.sleeps) == 1 and vtime.sleeps[0] == pytest.approx(300 / 25)
