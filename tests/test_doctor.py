"""``cmflow doctor``: each built-in source checks its credentials against a loopback server
replaying the platforms' real answers (debug_token, tokeninfo, 401 bodies, usage headers), in
virtual time (2026-11-24 09:00 UTC); then the whole command, its table and its exit codes."""

from __future__ import annotations

import logging
import types
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from cmflow import FetchContext, Period, PluginOptions, Source, hookimpl
from cmflow.builtin.sources.bluesky import BlueskyOptions, BlueskySource
from cmflow.builtin.sources.csv_source import CsvOptions, CsvSource
from cmflow.builtin.sources.facebook_page import FacebookPage, FacebookPageOptions
from cmflow.builtin.sources.ga4 import Ga4Options, Ga4Source
from cmflow.builtin.sources.google_api import TOKENINFO_URL_VARIABLE
from cmflow.builtin.sources.instagram import Instagram, InstagramOptions
from cmflow.builtin.sources.json_source import JsonOptions, JsonSource
from cmflow.builtin.sources.linkedin_org import LinkedInOrg, LinkedInOrgOptions
from cmflow.builtin.sources.mastodon import MastodonOptions, MastodonSource
from cmflow.builtin.sources.rss import RssOptions, RssSource
from cmflow.builtin.sources.tiktok import TikTok, TikTokOptions
from cmflow.builtin.sources.x import XOptions, XSource
from cmflow.builtin.sources.youtube import YoutubeOptions, YoutubeSource
from cmflow.cli import main
from cmflow import CredentialCheck
from cmflow.doctor import check_workflow
from cmflow.foundation.errors import EXIT_INVALID, EXIT_OK, EXIT_RUN_FAILED
from cmflow.testing import Reply, VirtualTime, load_replies, registered_plugin, replay_server  # noqa: F401
from cmflow.workflow import load_workflow
from source_helpers import virtual_client

FIXTURES = Path(__file__).parent / "fixtures"
DOCTOR = FIXTURES / "doctor"
SOURCES = FIXTURES / "sources"
TOKEN = "EAAGm0PX4ZCpsBAdoctor-test-token-0123456789abcdef"
WINDOW = (datetime(2026, 11, 15, tzinfo=timezone.utc), datetime(2026, 11, 23, tzinfo=timezone.utc))
LAST_WEEK = Period(date(2026, 11, 16), date(2026, 11, 22), "UTC")
IG_ID, PAGE_ID, ORG_ID = "17841405822304914", "104857600000001", "2414183"
WIDE = {"COLUMNS": "250"}


def reply(name: str, folder: Path = DOCTOR) -> Reply:
    """The first reply of a fixture file."""
    return load_replies(folder / name)[0]


def check(source: Source, vtime: VirtualTime | None = None, problems: list[str] | None = None) -> CredentialCheck:
    """The source's only row, checked through a client in virtual time (as the doctor does)."""
    with virtual_client(vtime) as client:
        ctx = FetchContext(*WINDOW, [LAST_WEEK], Path("."), logging.getLogger("test.doctor"),
                           problems if problems is not None else [], http_client=lambda: client)
        rows = source.check_credentials(ctx)
    assert len(rows) == 1 and isinstance(rows[0], CredentialCheck)
    assert TOKEN not in repr(rows[0])
    return rows[0]


# -- Instagram --------------------------------------------------------------------------------
def instagram(server, **options) -> Instagram:
    settings = {"accounts": [IG_ID], "access_token": TOKEN, "base_url": server.url, "allow_private_network": True, **options}
    return Instagram(InstagramOptions(**settings), entry_id="ig_main")


def test_instagram_token_valid_for_weeks_is_ok(replay_server):
    replay_server.add("GET", "/v25.0/debug_token", reply("meta_debug_token_user.json"))
    replay_server.add("GET", f"/v25.0/{IG_ID}", reply("meta_ig_account.json"))

    row = check(instagram(replay_server))

    assert (row.status, row.token_valid, row.account) == ("ok", True, "@maisonlumiere")
    assert row.expires_at == datetime(2027, 1, 23, 9, 0, tzinfo=timezone.utc)
    assert {"instagram_basic", "instagram_manage_insights", "pages_read_engagement"} <= set(row.scopes_granted)
    assert row.scopes_missing == ()
    assert row.budget == "X-App-Usage 35 % used; X-Business-Use-Case-Usage 9 % used"
    debug, account = replay_server.requests
    assert debug.params == {"input_token": TOKEN}
    assert debug.headers["authorization"] == f"Bearer {TOKEN}"
    assert account.params == {"fields": "id,username"}


def test_instagram_token_expiring_in_three_days_is_a_warning(replay_server):
    replay_server.add("GET", "/v25.0/debug_token", reply("meta_debug_token_expiring.json"))
    replay_server.add("GET", f"/v25.0/{IG_ID}", reply("meta_ig_account.json"))

    row = check(instagram(replay_server))

    assert row.status == "warning" and row.token_valid is True
    assert row.expires_at == datetime(2026, 11, 27, 9, 0, tzinfo=timezone.utc)
    assert "The token expires in 3 days" in row.message
    assert "refresh_access_token" in row.message  # how to renew, from the platform's rules


def test_instagram_usage_at_95_percent_is_a_warning(replay_server):
    replay_server.add("GET", "/v25.0/debug_token", reply("meta_debug_token_user.json"))
    replay_server.add("GET", f"/v25.0/{IG_ID}", reply("meta_ig_account_usage_95.json"))

    row = check(instagram(replay_server))

    assert row.status == "warning"
    assert row.budget.startswith("X-App-Usage 95 % used")
    assert "95 % of the rate budget is used" in row.message


def test_instagram_expired_token_fails_with_meta_code_and_renewal(replay_server):
    replay_server.add("GET", "/v25.0/debug_token", reply("meta_error_190_expired.json"))

    row = check(instagram(replay_server))

    assert (row.status, row.token_valid) == ("fail", False)
    assert "Meta error 190, subcode 463" in row.message and "the token expired" in row.message
    assert "refresh_access_token" in row.message
    assert len(replay_server.requests) == 1  # never retried, accounts not asked


def test_instagram_declined_permission_fails_through_me_permissions(replay_server):
    """debug_token answers only the app's developers: /me/permissions tells the scopes."""
    replay_server.add("GET", "/v25.0/debug_token", reply("meta_error_100_debug_token.json"))
    replay_server.add("GET", "/v25.0/me/permissions", reply("meta_me_permissions.json"))
    replay_server.add("GET", f"/v25.0/{IG_ID}", reply("meta_ig_account.json"))

    row = check(instagram(replay_server))

    assert (row.status, row.token_valid) == ("fail", True)
    assert row.scopes_missing == ("instagram_manage_insights",)
    assert row.message.startswith("Missing scope instagram_manage_insights: log in again")
    assert (row.expires_at, row.expiry_note) == (None, "unknown")


def test_instagram_comments_need_their_permission(replay_server):
    replay_server.add("GET", "/v25.0/debug_token", reply("meta_debug_token_user.json"))
    replay_server.add("GET", f"/v25.0/{IG_ID}", reply("meta_ig_account.json"))

    row = check(instagram(replay_server, fetch=["posts", "conversations"]))

    assert row.status == "fail" and row.scopes_missing == ("instagram_manage_comments",)


# -- Facebook Pages ---------------------------------------------------------------------------
def facebook(server, **options) -> FacebookPage:
    settings = {"pages": [PAGE_ID], "access_token": TOKEN, "base_url": server.url, "allow_private_network": True, **options}
    return FacebookPage(FacebookPageOptions(**settings), entry_id="fb_page")


def test_facebook_page_token_without_expiry_is_ok(replay_server):
    replay_server.add("GET", "/v25.0/debug_token", reply("meta_debug_token_page_ok.json"))
    replay_server.add("GET", f"/v25.0/{PAGE_ID}", reply("meta_page.json"))

    row = check(facebook(replay_server, fetch=["posts", "conversations"]))

    assert (row.status, row.token_valid, row.account) == ("ok", True, "maisonlumiere.lyon")
    assert (row.expires_at, row.expiry_note) == (None, "never")
    assert row.budget == "X-Page-Usage 6 % used"  # the busiest of the answers' usage headers


def test_facebook_page_without_read_insights_fails(replay_server):
    replay_server.add("GET", "/v25.0/debug_token", reply("meta_debug_token_page.json"))
    replay_server.add("GET", f"/v25.0/{PAGE_ID}", reply("meta_page.json"))

    row = check(facebook(replay_server))

    assert row.status == "fail" and row.scopes_missing == ("read_insights",)
    assert "Missing scope read_insights" in row.message and "ANALYZE" in row.message


def test_facebook_page_token_invalidated_by_a_password_change_fails(replay_server):
    replay_server.add("GET", "/v25.0/debug_token", reply("error_190_password_changed.json", SOURCES / "facebook_page"))

    row = check(facebook(replay_server))

    assert (row.status, row.token_valid) == ("fail", False)
    assert "the password changed" in row.message and "GET /me/accounts" in row.message


def test_facebook_user_token_must_give_the_page_token(replay_server):
    replay_server.add("GET", "/v25.0/debug_token", reply("meta_debug_token_page_ok.json"))
    replay_server.add("GET", f"/v25.0/{PAGE_ID}", reply("meta_page.json"))  # no access_token in it

    row = check(facebook(replay_server, token_kind="user"))

    assert row.status == "fail" and "gave no Page token" in row.message
    assert replay_server.requests[1].params["fields"] == "id,name,username,access_token"


# -- LinkedIn ---------------------------------------------------------------------------------
def linkedin(server, **options) -> LinkedInOrg:
    settings = {"organization_ids": [ORG_ID], "token": TOKEN, "base_url": server.url, "allow_private_network": True, **options}
    return LinkedInOrg(LinkedInOrgOptions(**settings), entry_id="li_page")


NETWORK_SIZE = f"/rest/networkSizes/urn%3Ali%3Aorganization%3A{ORG_ID}"


def test_linkedin_token_with_both_scopes_is_ok(replay_server):
    replay_server.add("GET", "/rest/posts", reply("posts_pages.json", SOURCES / "linkedin_org"))
    replay_server.add("GET", NETWORK_SIZE, reply("network_size.json", SOURCES / "linkedin_org"))

    row = check(linkedin(replay_server))

    assert (row.status, row.token_valid) == ("ok", True)
    assert row.scopes_granted == ("r_organization_social", "rw_organization_admin")
    assert (row.expires_at, row.expiry_note) == (None, "unknown") and "60 days" in row.message
    assert row.budget.startswith("not reported by LinkedIn")
    posts, size = replay_server.requests
    assert posts.params["count"] == "1" and posts.headers["linkedin-version"] == "202611"
    assert size.params == {"edgeType": "COMPANY_FOLLOWED_BY_MEMBER"}


def test_linkedin_expired_token_fails(replay_server):
    replay_server.add("GET", "/rest/posts", reply("error_401_expired.json", SOURCES / "linkedin_org"))

    row = check(linkedin(replay_server))

    assert (row.status, row.token_valid) == ("fail", False)
    assert "EXPIRED_ACCESS_TOKEN" in row.message and "3-legged OAuth" in row.message
    assert len(replay_server.requests) == 1


def test_linkedin_missing_statistics_scope_fails_naming_it(replay_server):
    replay_server.add("GET", "/rest/posts", reply("posts_pages.json", SOURCES / "linkedin_org"))
    replay_server.add("GET", NETWORK_SIZE, reply("error_403_access_denied.json", SOURCES / "linkedin_org"))

    row = check(linkedin(replay_server))

    assert (row.status, row.token_valid) == ("fail", True)
    assert row.scopes_granted == ("r_organization_social",)
    assert row.scopes_missing == ("rw_organization_admin",)
    assert "ADMINISTRATOR" in row.message


def test_linkedin_retired_version_fails_naming_the_option(replay_server):
    replay_server.add("GET", "/rest/posts", reply("error_426_version.json", SOURCES / "linkedin_org"))

    row = check(linkedin(replay_server, fetch=["conversations"]))

    assert row.status == "fail" and "api_version" in row.message


# -- YouTube and GA4: Google's tokeninfo ------------------------------------------------------
@pytest.fixture
def tokeninfo(replay_server, monkeypatch):
    monkeypatch.setenv(TOKENINFO_URL_VARIABLE, f"{replay_server.url}/tokeninfo")
    return "/tokeninfo"


CHANNEL_ID = "UCx5kZ3pQ7mLw9RtYb2NcD4e"


def youtube(server, **options) -> YoutubeSource:
    settings = {"token": TOKEN, "base_url": server.url, "allow_private_network": True, "analytics_base_url": server.url, **options}
    return YoutubeSource(YoutubeOptions(**settings), entry_id="yt")


def test_youtube_token_with_both_scopes_is_ok(replay_server, tokeninfo):
    replay_server.add("GET", tokeninfo, reply("google_tokeninfo_youtube.json"))
    replay_server.add("GET", "/youtube/v3/channels", reply("channel.json", SOURCES / "youtube"))

    row = check(youtube(replay_server))

    assert (row.status, row.token_valid, row.account) == ("ok", True, "@maisonlumiere")
    assert row.expires_at == datetime(2026, 11, 24, 9, 59, 59, tzinfo=timezone.utc)
    assert "expires in 60 min" in row.message and "fresh one" in row.message  # one hour: said, not warned
    assert row.scopes_missing == ()
    assert row.budget.startswith("YouTube quota: not reported by the API")
    info, channel = replay_server.requests
    assert info.params == {"access_token": TOKEN} and "authorization" not in info.headers
    assert channel.params["mine"] == "true" and channel.headers["authorization"] == f"Bearer {TOKEN}"


def test_youtube_daily_figures_need_the_analytics_scope(replay_server, tokeninfo):
    replay_server.add("GET", tokeninfo, reply("google_tokeninfo_no_analytics.json"))
    replay_server.add("GET", "/youtube/v3/channels", reply("channel.json", SOURCES / "youtube"))

    row = check(youtube(replay_server, fetch=["posts", "account_snapshots"]))
    assert row.status == "fail"
    assert row.scopes_missing == ("https://www.googleapis.com/auth/yt-analytics.readonly",)

    replay_server.add("GET", tokeninfo, reply("google_tokeninfo_no_analytics.json"))
    replay_server.add("GET", "/youtube/v3/channels", reply("channel.json", SOURCES / "youtube"))
    assert check(youtube(replay_server, fetch=["posts", "conversations"])).status == "ok"


def test_a_youtube_competitors_channel_needs_no_analytics_scope(replay_server, tokeninfo):
    """Another's channel gives its public subscriber count: youtube.readonly is enough."""
    competitor = "UCn8tB2vR6xQ1mK9pL4wZ7aJ"
    replay_server.add("GET", tokeninfo, reply("google_tokeninfo_no_analytics.json"), repeat=True)
    replay_server.add("GET", "/youtube/v3/channels", reply("channel_mine_id.json", SOURCES / "youtube"),
                      query={"part": "id", "mine": "true"}, repeat=True)
    replay_server.add("GET", "/youtube/v3/channels", reply("channel_competitor.json", SOURCES / "youtube"),
                      query={"id": competitor})
    replay_server.add("GET", "/youtube/v3/channels", reply("channel.json", SOURCES / "youtube"),
                      query={"id": CHANNEL_ID})

    row = check(youtube(replay_server, channel_id=competitor, fetch=["posts", "account_snapshots"]))
    assert (row.status, row.account, row.scopes_missing) == ("ok", "@ateliernuit", ())
    # The token's own channel, named by its id, still needs the Analytics scope for its daily figures.
    row = check(youtube(replay_server, channel_id=CHANNEL_ID, fetch=["posts", "account_snapshots"]))
    assert row.status == "fail"
    assert row.scopes_missing == ("https://www.googleapis.com/auth/yt-analytics.readonly",)


def test_youtube_daily_quota_spent_fails_until_midnight_pacific(replay_server, tokeninfo):
    replay_server.add("GET", tokeninfo, reply("google_tokeninfo_youtube.json"))
    replay_server.add("GET", "/youtube/v3/channels", reply("youtube_403_quota.json", FIXTURES / "http"))
    vtime = VirtualTime()

    row = check(youtube(replay_server), vtime)

    assert (row.status, row.token_valid) == ("fail", True)
    assert "quotaExceeded" in row.message and "midnight Pacific" in row.message
    assert vtime.sleeps == []  # a wait past the run's patience is reported, not waited


def test_youtube_expired_token_fails_with_how_to_refresh(replay_server, tokeninfo):
    replay_server.add("GET", tokeninfo, reply("google_tokeninfo_invalid.json"))

    row = check(youtube(replay_server))

    assert (row.status, row.token_valid) == ("fail", False)
    assert "invalid_token" in row.message and "oauth2.googleapis.com/token" in row.message
    assert len(replay_server.requests) == 1


def ga4(server, **options) -> Ga4Source:
    settings = {"property_id": "312345678", "token": TOKEN, "base_url": server.url, "allow_private_network": True, **options}
    return Ga4Source(Ga4Options(**settings), entry_id="ga")


REPORT = "/v1beta/properties/312345678:runReport"


def test_ga4_token_and_property_role_are_ok(replay_server, tokeninfo):
    replay_server.add("GET", tokeninfo, reply("google_tokeninfo_ga4.json"))
    replay_server.add("POST", REPORT, reply("report_pages.json", SOURCES / "ga4"))

    row = check(ga4(replay_server))

    assert (row.status, row.token_valid) == ("ok", True)
    assert row.scopes_granted == ("https://www.googleapis.com/auth/analytics.readonly",)
    assert row.budget.startswith("GA4 tokensPer") and "% used" in row.budget
    body = replay_server.requests[1].json()
    assert body["limit"] == "1" and body["returnPropertyQuota"] is True
    assert [m["name"] for m in body["metrics"]] == ["sessions", "totalUsers", "keyEvents", "totalRevenue"]


def test_ga4_quota_at_95_percent_is_a_warning(replay_server, tokeninfo):
    replay_server.add("GET", tokeninfo, reply("google_tokeninfo_ga4.json"))
    replay_server.add("POST", REPORT, reply("report_quota_95.json", SOURCES / "ga4"))

    row = check(ga4(replay_server))

    assert row.status == "warning" and row.budget.startswith("GA4 tokensPerHour 95 % used")


def test_ga4_without_a_role_on_the_property_fails(replay_server, tokeninfo):
    replay_server.add("GET", tokeninfo, reply("google_tokeninfo_ga4.json"))
    replay_server.add("POST", REPORT, reply("error_403_permission.json", SOURCES / "ga4"))

    row = check(ga4(replay_server))

    assert (row.status, row.token_valid) == ("fail", True)
    assert "sufficient permissions for this property" in row.message


# -- TikTok -----------------------------------------------------------------------------------
def tiktok(server, **options) -> TikTok:
    settings = {"account": "@maisonlumiere", "token": TOKEN, "base_url": server.url, "allow_private_network": True, **options}
    return TikTok(TikTokOptions(**settings), entry_id="tt")


def test_tiktok_token_with_every_scope_is_ok(replay_server):
    replay_server.add("POST", "/v2/video/list/", reply("video_list_pages.json", SOURCES / "tiktok"))
    replay_server.add("GET", "/v2/user/info/", reply("user_info.json", SOURCES / "tiktok"))

    row = check(tiktok(replay_server))

    assert (row.status, row.token_valid) == ("ok", True)
    assert row.account == "@maisonlumiere (Maison Lumière)"
    assert row.scopes_granted == ("video.list", "user.info.basic", "user.info.stats")
    videos = replay_server.requests[0]
    assert videos.json() == {"max_count": 1} and videos.params["fields"] == "id,create_time"


def test_tiktok_scope_not_granted_fails(replay_server):
    replay_server.add("POST", "/v2/video/list/", reply("video_list_pages.json", SOURCES / "tiktok"))
    replay_server.add("GET", "/v2/user/info/", reply("error_401_scope.json", SOURCES / "tiktok"))

    row = check(tiktok(replay_server))

    assert (row.status, row.token_valid) == ("fail", True)
    assert row.scopes_granted == ("video.list",)
    assert row.scopes_missing == ("user.info.basic", "user.info.stats")


def test_tiktok_invalid_token_fails(replay_server):
    replay_server.add("POST", "/v2/video/list/", reply("error_401_token.json", SOURCES / "tiktok"))

    row = check(tiktok(replay_server))

    assert (row.status, row.token_valid) == ("fail", False)
    assert "access_token_invalid" in row.message and "refresh_token" in row.message


# -- X ----------------------------------------------------------------------------------------
def x(server, **options) -> XSource:
    settings = {"usernames": ["maisonlumiere"], "token": TOKEN, "base_url": server.url, "allow_private_network": True, **options}
    return XSource(XOptions(**settings), entry_id="x_brand")


def test_x_token_is_ok_with_its_rate_headers(replay_server):
    replay_server.clock = VirtualTime().clock  # its Date: the virtual time the check runs at
    replay_server.add("GET", "/2/users/by", reply("users_by.json", SOURCES / "x"))

    row = check(x(replay_server))

    assert (row.status, row.token_valid) == ("ok", True)
    assert row.budget == "x-rate-limit-remaining 899/900 (resets 09:15 UTC)"


def test_x_rate_budget_at_95_percent_is_a_warning(replay_server):
    replay_server.add("GET", "/2/users/by", reply("x_users_by_95.json"))

    row = check(x(replay_server))

    assert row.status == "warning" and row.budget.startswith("x-rate-limit-remaining 45/900")


def test_x_limit_reached_for_minutes_is_a_warning_for_hours_a_failure(replay_server, tmp_path, monkeypatch):
    """The doctor's own client gives up at once on a wait; whether the run will wait it out
    (900 s at most) decides between a warning and a failure."""
    import time

    monkeypatch.setenv("DOCTOR_X_TOKEN", TOKEN)
    workflow = tmp_path / "x.toml"
    workflow.write_text('[workflow]\nname = "X"\n[[sources]]\nid = "x_brand"\nplugin = "x"\n'
                        f'usernames = ["maisonlumiere"]\ntoken = "${{env:DOCTOR_X_TOKEN}}"\nbase_url = "{replay_server.url}"\nallow_private_network = true\n',
                        encoding="utf-8")
    for wait, status in ((300, "warning"), (3 * 3600, "fail")):
        limited = reply("error_429.json", SOURCES / "x")
        limited.headers["x-rate-limit-reset"] = str(int(time.time()) + wait)
        replay_server.add("GET", "/2/users/by", limited)
        row, = check_workflow(load_workflow(workflow))
        assert row.status == status, row
        assert "rate limit is reached" in row.message and row.budget == "exhausted"


def test_x_unauthorized_token_fails(replay_server):
    replay_server.add("GET", "/2/users/by", reply("error_401.json", SOURCES / "x"))

    row = check(x(replay_server))

    assert (row.status, row.token_valid) == ("fail", False)
    assert "Bearer token" in row.message


def test_x_unknown_username_fails(replay_server):
    replay_server.add("GET", "/2/users/by", reply("x_users_by_not_found.json"))

    row = check(x(replay_server, usernames=["maisonlumiere", "trailhead_gone"]))

    assert row.status == "fail" and "no account named 'trailhead_gone'" in row.message


# -- Mastodon ---------------------------------------------------------------------------------
def mastodon(server, **options) -> MastodonSource:
    settings = {"accounts": ["maisonlumiere"], "token": TOKEN, "base_url": server.url, "allow_private_network": True, **options}
    return MastodonSource(MastodonOptions(**settings), entry_id="masto")


def test_mastodon_read_token_is_ok(replay_server):
    replay_server.clock = VirtualTime().clock  # its Date: the virtual time the check runs at
    replay_server.add("GET", "/api/v1/apps/verify_credentials", reply("mastodon_app_read.json"))
    replay_server.add("GET", "/api/v1/accounts/lookup", reply("account_lookup.json", SOURCES / "mastodon"))

    row = check(mastodon(replay_server, fetch=["posts", "account_snapshots", "mentions"]))

    assert (row.status, row.token_valid, row.account) == ("ok", True, "@maisonlumiere@mastodon.social")
    assert row.scopes_granted == ("read",) and row.scopes_missing == ()
    assert row.budget == "x-ratelimit-remaining 287/300 (resets 09:05 UTC)"
    assert row.expiry_note == "never (until revoked)"


def test_mastodon_lookups_need_read_accounts(replay_server):
    """Mastodon's account lookup asks a token for read:accounts: read:statuses is not enough."""
    replay_server.add("GET", "/api/v1/apps/verify_credentials", reply("mastodon_app_statuses_only.json"))

    row = check(mastodon(replay_server))

    assert row.status == "fail" and row.scopes_missing == ("read:accounts",)
    assert "Preferences > Development" in row.message
    assert [r.path for r in replay_server.requests] == ["/api/v1/apps/verify_credentials"]
    # mentions alone need read:notifications only, which it has
    replay_server.add("GET", "/api/v1/apps/verify_credentials", reply("mastodon_app_statuses_only.json"))
    assert check(mastodon(replay_server, fetch=["mentions"])).status == "warning"  # 95 % of 300 used


def test_mastodon_revoked_token_fails(replay_server):
    replay_server.add("GET", "/api/v1/apps/verify_credentials", reply("error_401.json", SOURCES / "mastodon"))

    row = check(mastodon(replay_server))

    assert (row.status, row.token_valid) == ("fail", False)
    assert "The access token is invalid" in row.message and "Preferences > Development" in row.message


# -- Bluesky ----------------------------------------------------------------------------------
def bluesky(server, **options) -> BlueskySource:
    settings = {"accounts": ["maisonlumiere.bsky.social"], "base_url": server.url, "allow_private_network": True, "pds_url": server.url,
                **options}
    return BlueskySource(BlueskyOptions(**settings), entry_id="bsky")


def test_bluesky_login_and_session_are_ok(replay_server):
    replay_server.add("POST", "/xrpc/com.atproto.server.createSession", reply("create_session.json", SOURCES / "bluesky"))
    replay_server.add("GET", "/xrpc/com.atproto.server.getSession", reply("bluesky_get_session.json"))
    replay_server.add("GET", "/xrpc/app.bsky.actor.getProfile", reply("profile.json", SOURCES / "bluesky"))

    row = check(bluesky(replay_server, app_password=TOKEN))

    assert (row.status, row.token_valid, row.account) == ("ok", True, "maisonlumiere.bsky.social")
    assert row.expiry_note == "each run" and "logged in as maisonlumiere.bsky.social" in row.message
    assert row.budget.startswith("ratelimit-remaining 2997/3000")
    session = replay_server.requests[1]
    assert session.headers["authorization"].startswith("Bearer eyJ")  # the session's JWT, not the password


def test_bluesky_refused_app_password_fails(replay_server):
    replay_server.add("POST", "/xrpc/com.atproto.server.createSession",
                      reply("error_login_refused.json", SOURCES / "bluesky"))

    row = check(bluesky(replay_server, app_password=TOKEN))

    assert (row.status, row.token_valid) == ("fail", False)
    assert "Invalid identifier or password" in row.message and "App passwords" in row.message


def test_bluesky_without_credentials_has_nothing_to_renew(replay_server):
    replay_server.add("GET", "/xrpc/app.bsky.actor.getProfile", reply("profile.json", SOURCES / "bluesky"))

    row = check(bluesky(replay_server))

    assert (row.status, row.token_valid) == ("ok", None)
    assert "anonymously" in row.message


# -- RSS, CSV, JSON ---------------------------------------------------------------------------
def test_rss_one_row_per_feed(replay_server):
    replay_server.add("GET", "/feed.xml", reply("blog_rss2.json", SOURCES / "rss"))
    replay_server.add("GET", "/private.xml", reply("error_401.json", SOURCES / "rss"))
    replay_server.add("GET", "/", reply("not_a_feed.json", SOURCES / "rss"))
    feeds = [f"{replay_server.url}/feed.xml", f"{replay_server.url}/private.xml?key={TOKEN}", f"{replay_server.url}/"]
    source = RssSource(RssOptions(feeds=feeds, allow_private_network=True), entry_id="press")

    with virtual_client() as client:
        ctx = FetchContext(*WINDOW, [LAST_WEEK], Path("."), logging.getLogger("test"), [], http_client=lambda: client)
        ok, private, page = source.check_credentials(ctx)

    assert ok.status == "ok" and "answers and parses (rss20" in ok.message
    assert private.status == "fail" and "asks for credentials (HTTP 401)" in private.message
    assert TOKEN not in private.account and TOKEN not in private.message and "key=***" in private.account
    assert page.status == "fail" and "is not an RSS or Atom feed" in page.message


def test_rss_malformed_but_readable_feed_is_a_warning(replay_server):
    replay_server.add("GET", "/feed.xml", reply("malformed_feed.json", SOURCES / "rss"))
    source = RssSource(RssOptions(feeds=[f"{replay_server.url}/feed.xml"], allow_private_network=True), entry_id="blog")

    row = check(source)

    assert row.status == "warning" and "the feed is malformed" in row.message


def test_csv_pointing_to_a_missing_file_fails(tmp_path):
    source = CsvSource(CsvOptions(path="exports/posts.csv"), entry_id="posts")
    ctx = FetchContext(*WINDOW, [LAST_WEEK], tmp_path, logging.getLogger("test"), [])

    row, = source.check_credentials(ctx)

    assert row.status == "fail" and row.account == "exports/posts.csv"
    assert f"{tmp_path / 'exports' / 'posts.csv'}: file not found" in row.message

    (tmp_path / "exports").mkdir()
    (tmp_path / "exports" / "posts.csv").write_text("post_id,likes\n1,3\n", encoding="utf-8")
    row, = source.check_credentials(ctx)
    assert row.status == "ok" and row.message == "readable (18 bytes)."


def test_csv_in_another_encoding_than_declared_fails(tmp_path):
    (tmp_path / "posts.csv").write_bytes("post_id;texte\n1;Crème brûlée\n".encode("latin-1"))
    ctx = FetchContext(*WINDOW, [LAST_WEEK], tmp_path, logging.getLogger("test"), [])

    row, = CsvSource(CsvOptions(path="posts.csv", delimiter=";"), entry_id="posts").check_credentials(ctx)
    assert row.status == "fail" and "not UTF-8 text" in row.message and "encoding = \"cp1252\"" in row.message

    row, = CsvSource(CsvOptions(path="posts.csv", delimiter=";", encoding="latin-1"),
                     entry_id="posts").check_credentials(ctx)
    assert row.status == "ok"


def test_json_source_checks_its_file(tmp_path):
    ctx = FetchContext(*WINDOW, [LAST_WEEK], tmp_path, logging.getLogger("test"), [])
    source = JsonSource(JsonOptions(path="followers.json", record="account_snapshot"), entry_id="audience")
    assert source.check_credentials(ctx)[0].status == "fail"
    (tmp_path / "followers.json").write_text("[]", encoding="utf-8")
    assert source.check_credentials(ctx)[0].status == "ok"


# -- third-party plugins and isolation ----------------------------------------------------------
class _Options(PluginOptions):
    token: str = ""


class QuietSource(Source):
    name = "quiet_source"
    description = "A third-party source that defines no check_credentials."
    Options = _Options


class ExplodingCheckSource(Source):
    name = "exploding_check"
    description = "A third-party source whose check raises, with its token in the message."
    Options = _Options

    def check_credentials(self, ctx):
        raise RuntimeError(f"could not reach the API with token {self.options.token}")


@hookimpl
def _register(register):
    register(QuietSource)
    register(ExplodingCheckSource)


third_party = types.ModuleType("doctor_third_party")
third_party.register_sources = _register


@pytest.fixture
def with_third_party():
    with registered_plugin(third_party):
        yield


def test_plugin_without_check_says_not_checked_and_a_raising_one_does_not_stop_the_others(
        tmp_path, write_workflow, monkeypatch, with_third_party):
    monkeypatch.setenv("THIRD_PARTY_TOKEN", TOKEN)
    (tmp_path / "posts.csv").write_text("post_id\n1\n", encoding="utf-8")
    path = write_workflow('[workflow]\nname = "Mixed"\n'
                          '[[sources]]\nid = "quiet"\nplugin = "quiet_source"\n'
                          '[[sources]]\nid = "boom"\nplugin = "exploding_check"\ntoken = "${env:THIRD_PARTY_TOKEN}"\n'
                          '[[sources]]\nid = "posts"\nplugin = "csv"\npath = "posts.csv"\n')
    rows = check_workflow(load_workflow(path))

    assert [(r.source, r.plugin, r.status) for r in rows] == [
        ("quiet", "quiet_source", "ok"), ("boom", "exploding_check", "fail"), ("posts", "csv", "ok")]
    assert rows[0].checked is False and rows[0].message.startswith("not checked")
    assert "RuntimeError: could not reach the API with token ***" in rows[1].message
    assert all(TOKEN not in repr(r) for r in rows)


# -- the command --------------------------------------------------------------------------------
FACEBOOK_WORKFLOW = """\
[workflow]
name = "Doctor test"

[[sources]]
id = "fb_page"
plugin = "facebook_page"
pages = ["104857600000001"]
access_token = "${{env:DOCTOR_FB_TOKEN}}"
base_url = "{url}"
allow_private_network = true

[[sources]]
id = "posts"
plugin = "csv"
path = "{csv}"
"""


def doctor(path: Path):
    return CliRunner().invoke(main, ["doctor", str(path)], env=WIDE)


def test_cli_exits_0_when_everything_works(replay_server, tmp_path, write_workflow, monkeypatch):
    monkeypatch.setenv("DOCTOR_FB_TOKEN", TOKEN)
    (tmp_path / "posts.csv").write_text("post_id\n1\n", encoding="utf-8")
    replay_server.add("GET", "/v25.0/debug_token", reply("meta_debug_token_page_ok.json"))
    replay_server.add("GET", f"/v25.0/{PAGE_ID}", reply("meta_page.json"))
    path = write_workflow(FACEBOOK_WORKFLOW.format(url=replay_server.url, csv="posts.csv"))

    result = doctor(path)

    assert result.exit_code == EXIT_OK, result.output
    for heading in ("Source", "Plugin", "Account", "Status", "Expires", "Scopes", "Budget", "What to do"):
        assert heading in result.output
    assert "maisonlumiere.lyon" in result.output and "never" in result.output
    assert "2 ok, 0 warnings, 0 failing" in result.output
    assert TOKEN not in result.output


def test_cli_exits_1_when_a_source_will_fail_and_never_shows_the_token(replay_server, write_workflow, monkeypatch):
    monkeypatch.setenv("DOCTOR_FB_TOKEN", TOKEN)
    expired = reply("meta_error_190_expired.json")
    expired.json["error"]["message"] += f" (input_token={TOKEN}; token {TOKEN})"  # a platform that echoes it
    replay_server.add("GET", "/v25.0/debug_token", expired)
    path = write_workflow(FACEBOOK_WORKFLOW.format(url=replay_server.url, csv="missing.csv"))

    result = doctor(path)

    assert result.exit_code == EXIT_RUN_FAILED, result.output
    assert "Meta error 190, subcode 463" in result.output and "file not found" in result.output
    assert "0 ok, 0 warnings, 2 failing" in result.output
    assert TOKEN not in result.output and TOKEN[:20] not in result.output
    assert "***" in result.output
    assert replay_server.requests[0].params["input_token"] == TOKEN  # it was sent, only never shown


def test_cli_exits_2_on_an_invalid_workflow(write_workflow):
    path = write_workflow('[workflow]\nname = "Broken"\n[[sources]]\nplugin = "csvv"\npath = "a.csv"\n')

    result = doctor(path)

    assert result.exit_code == EXIT_INVALID
    assert "unknown source plugin 'csvv'" in result.output and "Credentials of" not in result.output
