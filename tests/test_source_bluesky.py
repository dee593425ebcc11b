"""The ``bluesky`` source against a loopback server replaying the AT Protocol's answers, in virtual time."""

from __future__ import annotations

import json
import logging
from datetime import date, datetime, timezone
from pathlib import Path

import pydantic
import pytest

from cmflow import Period
from cmflow.builtin.sources import bluesky as bluesky_module
from cmflow.builtin.sources.bluesky import BlueskyOptions, BlueskySource
from cmflow.http import AuthExpired, BadResponse, PermissionMissing, RequestRejected
from cmflow.testing import Reply, VirtualTime, load_replies, registered_plugin, replay_server, run_workflow_file  # noqa: F401
from source_helpers import error_texts, fetch_records, log_texts, virtual_client

FIXTURES = Path(__file__).parent / "fixtures" / "sources" / "bluesky"
APP_PASSWORD = "abcd-efgh-ijkl-mnop"
DID = "did:plc:ml4x7b2kq3jz5n6w8r9t0y1u"
PROFILE = "/xrpc/app.bsky.actor.getProfile"
FEED = "/xrpc/app.bsky.feed.getAuthorFeed"
NOTIFICATIONS = "/xrpc/app.bsky.notification.listNotifications"
LOGIN = "/xrpc/com.atproto.server.createSession"
WINDOW = (datetime(2026, 11, 15, tzinfo=timezone.utc), datetime(2026, 11, 23, tzinfo=timezone.utc))
LAST_WEEK = Period(date(2026, 11, 16), date(2026, 11, 22), "UTC")
ACCESS_JWT = json.loads((FIXTURES / "create_session.json").read_text(encoding="utf-8"))["json"]["accessJwt"]


def replies(name: str) -> list[Reply]:
    return load_replies(FIXTURES / name)


def fetch(server, vtime: VirtualTime | None = None, window=WINDOW, **options):
    settings = {"accounts": ["maisonlumiere.bsky.social"], "base_url": server.url, "allow_private_network": True, "pds_url": server.url, **options}
    source = BlueskySource(BlueskyOptions(**settings), entry_id="bsky")
    with virtual_client(vtime) as client:
        return fetch_records(source, client, window, [LAST_WEEK])


def script_posts(server, *pages: Reply) -> None:
    server.add("GET", PROFILE, *replies("profile.json"))
    server.add("GET", FEED, *(pages or replies("feed_pages.json")))


# -- paging and mapping --------------------------------------------------------------------------
def test_cursor_pages_until_the_window_start(replay_server):
    script_posts(replay_server)

    records, problems = fetch(replay_server, fetch=["posts"])

    assert problems == []
    # Not posts: the pinned post's repeat, the repost, and 2026-11-14's post (before the window,
    # it ends the paging: the third page's cursor is not followed).
    assert [p["post_id"].rsplit("/", 1)[-1] for p in records["post"]] == [
        "3lbxa5", "3lbxa4", "3lbxa3", "3lbxa2", "3lbxa1"]
    profile, *pages = replay_server.requests
    assert profile.params == {"actor": "maisonlumiere.bsky.social"}
    assert [r.params.get("cursor") for r in pages] == [None, "2026-11-20T09:30:00.000Z", "2026-11-18T07:45:00.000Z"]
    assert pages[0].params == {"actor": DID, "limit": "100", "filter": "posts_no_replies"}
    assert all("authorization" not in r.headers for r in replay_server.requests)  # the public AppView


def test_feed_posts_map_to_canonical_posts(replay_server):
    script_posts(replay_server)

    posts = fetch(replay_server, fetch=["posts"])[0]["post"]

    assert posts[0] == {
        "platform": "bluesky", "account": "maisonlumiere.bsky.social",
        "post_id": f"at://{DID}/app.bsky.feed.post/3lbxa5",
        "published_at": datetime(2026, 11, 22, 16, 0, tzinfo=timezone.utc), "format": "image",
        "text": "La bûche est de retour 🎄",
        "url": "https://bsky.app/profile/maisonlumiere.bsky.social/post/3lbxa5",
        "thumbnail_url": f"https://cdn.bsky.app/img/feed_thumbnail/plain/{DID}/bafkreiimg0@jpeg",
        "likes": 64, "comments": 5, "shares": 11, "saves": 7, "reach": None, "impressions": None,
        "clicks": None, "video_views": None, "pillar": None, "campaign": None, "link": None}
    assert [p["format"] for p in posts] == ["image", "video", "carousel", "link", "link"]
    # A link card's address, else the first link written in the text.
    assert [p["link"] for p in posts] == [None, None, None, "https://www.maisonlumiere.example/blog/pain-d-epices",
                                          "https://maisonlumiere.example"]
    assert [p["shares"] for p in posts] == [11, 4, 6, 2, 0]
    # The images embed's first thumb (the carousel's too); a video, a link card, a text: none.
    assert [p["thumbnail_url"] for p in posts] == [
        f"https://cdn.bsky.app/img/feed_thumbnail/plain/{DID}/bafkreiimg0@jpeg", None,
        f"https://cdn.bsky.app/img/feed_thumbnail/plain/{DID}/bafkreiimg0@jpeg", None, None]


def test_quotes_and_replies_on_request(replay_server):
    script_posts(replay_server)
    posts = fetch(replay_server, fetch=["posts"], count_quotes_as_shares=True, include_replies=True)[0]["post"]
    assert [p["shares"] for p in posts] == [13, 4, 7, 5, 0]
    assert replay_server.requests[1].params["filter"] == "posts_with_replies"


def test_follower_count_is_a_snapshot_of_the_windows_last_day(replay_server):
    replay_server.add("GET", PROFILE, *replies("profile.json"))
    records, problems = fetch(replay_server, fetch=["account_snapshots"])
    assert records["account_snapshot"] == [{
        "platform": "bluesky", "account": "maisonlumiere.bsky.social", "date": date(2026, 11, 22),
        "followers": 3150, "reach": None, "impressions": None, "profile_views": None, "website_clicks": None}]
    assert problems == [] and len(replay_server.requests) == 1


def test_logged_in_the_source_reads_mentions_through_the_pds(replay_server):
    replay_server.add("POST", LOGIN, *replies("create_session.json"))
    replay_server.add("GET", NOTIFICATIONS, *replies("notifications_mentions.json"))

    records, _ = fetch(replay_server, fetch=["mentions"], app_password=APP_PASSWORD)

    assert records == {"mention": [
        {"platform": "bluesky", "mention_id": "at://did:plc:julie5k2m9x3v7q1w8e4r6t0/app.bsky.feed.post/3lbyj2",
         "published_at": datetime(2026, 11, 21, 19, 0, tzinfo=timezone.utc), "author": "julie.bsky.social",
         "text": "@maisonlumiere.bsky.social la bûche était parfaite !",
         "url": "https://bsky.app/profile/julie.bsky.social/post/3lbyj2", "reach": None,
         "likes": None, "comments": None, "shares": None, "language": "fr", "sentiment": None},  # a notification has no counters
        {"platform": "bluesky", "mention_id": "at://did:plc:marc2p8q4w6e1r3t5y7u9i0o/app.bsky.feed.post/3lbym1",
         "published_at": datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc), "author": "marc.lyon.social",
         "text": "@maisonlumiere.bsky.social open on Sunday?",
         "url": "https://bsky.app/profile/marc.lyon.social/post/3lbym1", "reach": None,
         "likes": None, "comments": None, "shares": None, "language": "en", "sentiment": None}]}
    login, notifications = replay_server.requests  # no next page: the last mention is older than the window
    assert login.json() == {"identifier": "maisonlumiere.bsky.social", "password": APP_PASSWORD}
    assert notifications.headers["authorization"] == f"Bearer {ACCESS_JWT}"
    assert notifications.params == {"reasons": "mention", "limit": "100"}


def test_mentions_without_a_login_are_refused_at_validation():
    with pytest.raises(pydantic.ValidationError, match="mentions need a login: .* set app_password"):
        BlueskyOptions(accounts=["maisonlumiere.bsky.social"], fetch=["posts", "mentions"])


def test_produces_what_the_options_ask_for():
    options = BlueskyOptions(accounts=["@maisonlumiere.bsky.social", DID], fetch=["posts"])
    assert BlueskySource(options, entry_id="b").produces() == {"post"}
    assert options.accounts == ["maisonlumiere.bsky.social", DID]


def test_empty_account_gives_no_records_and_no_error(replay_server):
    script_posts(replay_server, *replies("feed_empty.json"))
    records, problems = fetch(replay_server, fetch=["posts"])
    assert records == {"post": []} and problems == []


# -- waits -------------------------------------------------------------------------------------
def test_429_waits_the_retry_after_in_virtual_time(replay_server):
    replay_server.add("GET", PROFILE, Reply(429, json={"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
                                            headers={"Retry-After": "30"}), *replies("profile.json"))
    vtime = VirtualTime()
    records, _ = fetch(replay_server, vtime, fetch=["account_snapshots"])
    assert records["account_snapshot"][0]["followers"] == 3150
    assert vtime.sleeps == [30]


def test_429_of_bluesky_waits_for_the_reset_it_names(replay_server):
    replay_server.add("GET", PROFILE, *replies("error_429.json"), *replies("profile.json"))
    vtime = VirtualTime()
    replay_server.clock = vtime.clock  # its Date headers: the time the resets are given against
    fetch(replay_server, vtime, fetch=["account_snapshots"])
    assert vtime.sleeps == [60]  # RateLimit-Reset 09:01:00, asked at 09:00:00


def test_500_then_success_backs_off(replay_server):
    script_posts(replay_server, Reply(500, json={"error": "InternalServerError", "message": "Internal Server Error"}),
                 *replies("feed_empty.json"))
    vtime = VirtualTime()
    records, _ = fetch(replay_server, vtime, fetch=["posts"])
    assert records == {"post": []}
    [wait] = vtime.sleeps
    assert 1 <= wait <= 2


def test_five_percent_of_the_rate_limit_left_spreads_the_requests(replay_server):
    pages = replies("feed_pages.json")
    for page, remaining in zip(pages, (150, 149, 148)):  # of 3000, reset at 09:05:00
        page.headers["RateLimit-Remaining"] = str(remaining)
    script_posts(replay_server, *pages)
    vtime = VirtualTime()
    replay_server.clock = vtime.clock  # its Date headers: the time the resets are given against

    posts = fetch(replay_server, vtime, fetch=["posts"])[0]["post"]

    assert len(posts) == 5
    assert vtime.sleeps == [2.0, 2.0]  # 300 s / 150 requests left, then 298 s / 149


# -- errors a person can act on ------------------------------------------------------------------
def test_expired_token_names_the_source_the_code_and_how_to_renew(replay_server):
    replay_server.add("POST", LOGIN, *replies("create_session.json"))
    replay_server.add("GET", PROFILE, *replies("error_expired_token.json"), repeat=True)
    vtime = VirtualTime()
    with pytest.raises(AuthExpired) as caught:
        fetch(replay_server, vtime, app_password=APP_PASSWORD)
    message = str(caught.value)
    assert message.startswith("source 'bsky' (Bluesky): the access token was refused "
                              "(ExpiredToken: Token has expired)")
    assert "com.atproto.server.refreshSession" in message and caught.value.code == "ExpiredToken"
    assert len(replay_server.requests) == 2 and vtime.sleeps == []


def test_a_refused_app_password_says_where_to_make_a_new_one(replay_server):
    replay_server.add("POST", LOGIN, *replies("error_login_refused.json"))
    with pytest.raises(AuthExpired) as caught:
        fetch(replay_server, app_password=APP_PASSWORD, login="brand.bsky.social")
    message = str(caught.value)
    assert message.startswith("source 'bsky' (Bluesky): the login of brand.bsky.social was refused "
                              "(HTTP 401: AuthenticationRequired: Invalid identifier or password)")
    assert "Settings > Privacy and security > App passwords" in message
    assert APP_PASSWORD not in message


def test_missing_permission_names_the_scope(replay_server):
    replay_server.add("POST", LOGIN, *replies("create_session.json"))
    replay_server.add("GET", NOTIFICATIONS, *replies("error_403.json"))
    with pytest.raises(PermissionMissing) as caught:
        fetch(replay_server, fetch=["mentions"], app_password=APP_PASSWORD)
    assert "source 'bsky' (Bluesky): a permission is missing (HTTP 403: Forbidden: Forbidden)" in str(caught.value)
    assert "This source needs the token to carry: transition:generic" in str(caught.value)


def test_unknown_account_is_named(replay_server):
    replay_server.add("GET", PROFILE, *replies("error_profile_not_found.json"))
    with pytest.raises(RequestRejected, match=r"Bluesky has no account 'nobody.bsky.social' .*Check the accounts"):
        fetch(replay_server, accounts=["nobody.bsky.social"])


def test_malformed_json_shows_the_first_bytes_without_secrets(replay_server):
    replay_server.add("POST", LOGIN, *replies("create_session.json"))
    body = f'{{"feed":[{{"post":{{"uri":"at://{DID}/app.bsky.feed.post/3lbxa5","echo":"Bearer {ACCESS_JWT}'
    script_posts(replay_server, Reply(200, body=body, headers={"Content-Type": "application/json"}))
    with pytest.raises(BadResponse) as caught:
        fetch(replay_server, fetch=["posts"], app_password=APP_PASSWORD)
    message = str(caught.value)
    assert message.startswith("source 'bsky' (Bluesky): GET ") and "is not JSON" in message
    assert '{"feed":[{"post":{"uri":"at://did:plc:' in message
    assert ACCESS_JWT not in message


def test_a_login_answer_without_a_token_is_refused_without_showing_it(replay_server):
    refresh = "eyJ0eXAiOiJyZWZyZXNoK2p3dCJ9.only-refresh.sig"
    replay_server.add("POST", LOGIN, Reply(json={"did": DID, "refreshJwt": refresh}))
    with pytest.raises(BadResponse, match="answered no accessJwt") as caught:
        fetch(replay_server, app_password=APP_PASSWORD)
    assert refresh not in str(caught.value)


def test_secrets_never_reach_errors_or_logs(replay_server, caplog):
    caplog.set_level(logging.DEBUG)
    replay_server.add("POST", LOGIN, *replies("create_session.json"))
    replay_server.add("GET", PROFILE, Reply(503, body=f"upstream: Bearer {ACCESS_JWT}, login with {APP_PASSWORD}"),
                      *replies("error_expired_token.json"))
    with pytest.raises(AuthExpired) as caught:
        fetch(replay_server, app_password=APP_PASSWORD)
    texts = error_texts(caught.value) + log_texts(caplog)
    assert any("retry 1 of 5" in text for text in texts)
    assert [t for t in texts if ACCESS_JWT in t or APP_PASSWORD in t] == []


@pytest.mark.parametrize("options, message", [
    ({"accounts": []}, "at least 1 item"),
    ({"accounts": ["maison lumiere"]}, "neither a Bluesky handle"),
    ({"accounts": ["a.bsky.social"], "page_size": 101}, "less than or equal to 100"),
])
def test_options_are_validated(options, message):
    with pytest.raises(pydantic.ValidationError, match=message):
        BlueskyOptions(**options)


# -- end to end ----------------------------------------------------------------------------------
def test_workflow_totals_bluesky_likes_and_saves(replay_server, tmp_path, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("BLUESKY_APP_PASSWORD", APP_PASSWORD)
    replay_server.add("POST", LOGIN, *replies("create_session.json"))
    # The run's window starts on 2026-11-08: the third page's cursor is followed, to an empty page.
    script_posts(replay_server, *replies("feed_pages.json"), *replies("feed_empty.json"))
    workflow = tmp_path / "bluesky.toml"
    workflow.write_text(f"""
[workflow]
name = "Bluesky weekly"
timezone = "UTC"
period = "last_week"
as_of = "2026-11-24"

[[sources]]
id = "bsky"
plugin = "bluesky"
accounts = ["maisonlumiere.bsky.social"]
app_password = "${{env:BLUESKY_APP_PASSWORD}}"
fetch = ["posts"]
base_url = "{replay_server.url}"
allow_private_network = true
pds_url = "{replay_server.url}"

[[metrics]]
plugin = "totals"
counters = ["likes", "saves"]
by = ["overall"]
""", encoding="utf-8")

    with registered_plugin(bluesky_module):
        result = run_workflow_file(workflow, store_url=f"sqlite:///{tmp_path}/s.db")

    assert result.status == "ok", [s.error for s in result.failed_stages]
    # The five posts of 2026-11-16..22 (not the repost, the pinned post or 2026-11-14's post).
    assert result.current("total_likes").to_dicts()[0]["value"] == 64 + 22 + 30 + 9 + 6
    assert result.current("total_saves").to_dicts()[0]["value"] == 7 + 1 + 3 + 5 + 0
    texts = [r.getMessage() for r in caplog.records]
    assert [t for t in texts if APP_PASSWORD in t or ACCESS_JWT in t] == []
