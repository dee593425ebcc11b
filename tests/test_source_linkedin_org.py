"""The ``linkedin_org`` source against a loopback server replaying LinkedIn's recorded answers.

Waits happen in virtual time (``VirtualTime``, 2026-11-24 09:00 UTC), so the retries and
slow-downs are asserted as the waits themselves. The reporting week is 2026-11-16..22 (UTC).
"""

from __future__ import annotations

import json
import logging
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import httpx
import pydantic
import pytest

from cmflow import Period
from cmflow.builtin.sources import linkedin_org
from cmflow.builtin.sources.linkedin_org import LinkedInOrg, LinkedInOrgOptions
from cmflow.http import ApiVersionExpired, AuthExpired, BadResponse, PermissionMissing, make_client
from cmflow.testing import Reply, load_replies, registered_plugin, replay_server  # noqa: F401
from cmflow.testing import run_workflow_file
from source_helpers import (client, error_texts, fetch_records, log_texts, period_window,  # noqa: F401 (fixtures)
                            vtime)

FIXTURES = Path(__file__).parent / "fixtures" / "sources" / "linkedin_org"
TOKEN = "AQXdSP_W41-linkedin-member-token-for-tests-8c1f0e"
ORG = "2414183"
WEEK = Period(date(2026, 11, 16), date(2026, 11, 22), "UTC", unit="week")
SHARE_STATS = "/rest/organizationalEntityShareStatistics"
FOLLOWER_STATS = "/rest/organizationalEntityFollowerStatistics"
PAGE_STATS = "/rest/organizationPageStatistics"
NETWORK_SIZE = "/rest/networkSizes/urn%3Ali%3Aorganization%3A2414183"
POST_A, POST_B = "urn:li:share:7265000000000000001", "urn:li:ugcPost:7264000000000000002"
POST_C, POST_I, POST_E = ("urn:li:share:7263000000000000003", "urn:li:share:7262500000000000007",
                          "urn:li:share:7262000000000000005")


def replies(name: str) -> list[Reply]:
    return load_replies(FIXTURES / name)


def day_ms(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=timezone.utc).timestamp() * 1000)


def intervals(first: date, last: date) -> str:
    """The Rest.li timeIntervals value LinkedIn expects for the UTC days first..last."""
    return (f"(timeRange:(start:{day_ms(first)},end:{day_ms(last + timedelta(days=1))}),"
            "timeGranularityType:DAY)")


def comments_path(urn: str) -> str:
    from urllib.parse import quote

    return f"/rest/socialActions/{quote(urn, safe='')}/comments"


def fetch(client, server, *, period: Period = WEEK, **options) -> tuple[dict[str, list[dict]], list[str]]:
    """Run the source as the runner does, over ``period``; return its records by kind and its warnings."""
    source = LinkedInOrg(LinkedInOrgOptions(organization_ids=[ORG], token=TOKEN, base_url=server.url, allow_private_network=True, **options),
                         entry_id="li_brand")
    return fetch_records(source, client, period_window(period), [period])


def script_posts(server, *, first_page: list[Reply] | None = None) -> None:
    pages = replies("posts_pages.json")
    server.add("GET", "/rest/posts", *(first_page or []), *pages)


def script_post_statistics(server) -> None:
    share_stats, ugc_stats = replies("share_statistics.json")
    server.add("GET", SHARE_STATS, share_stats, query={"shares": f"List({POST_A},{POST_C},{POST_I},{POST_E})"})
    server.add("GET", SHARE_STATS, ugc_stats, query={"ugcPosts": f"List({POST_B})"})


def script_daily_statistics(server) -> None:
    week = intervals(date(2026, 11, 16), date(2026, 11, 22))
    server.add("GET", SHARE_STATS, *replies("share_statistics_daily.json"), query={"timeIntervals": week})
    server.add("GET", PAGE_STATS, *replies("page_statistics.json"), query={"timeIntervals": week})
    # Follower counts are counted back from today's total: gains up to yesterday (2026-11-23).
    server.add("GET", FOLLOWER_STATS, *replies("follower_statistics.json"),
               query={"timeIntervals": intervals(date(2026, 11, 16), date(2026, 11, 23))})
    server.add("GET", NETWORK_SIZE, *replies("network_size.json"))


# -- pagination and the versioned REST headers -------------------------------------------------
def test_posts_are_read_over_three_pages_until_the_window_start(replay_server, client):
    script_posts(replay_server)
    script_post_statistics(replay_server)

    records, problems = fetch(client, replay_server, fetch=["posts"], page_size=3)

    posts_requests = [r for r in replay_server.requests if r.path == "/rest/posts"]
    # The third page's last post was changed before the window: LinkedIn's fourth page is not asked for.
    assert [(r.params["start"], r.params["count"]) for r in posts_requests] == [("0", "3"), ("3", "3"), ("6", "3")]
    assert {(r.params["q"], r.params["author"], r.params["sortBy"]) for r in posts_requests} == {
        ("author", "urn:li:organization:2414183", "LAST_MODIFIED")}
    for request in replay_server.requests:
        assert request.headers["linkedin-version"] == "202611"
        assert request.headers["x-restli-protocol-version"] == "2.0.0"
        assert request.headers["authorization"] == f"Bearer {TOKEN}"
    # Drafts, and posts published before the window (even when edited in it), are left out.
    assert [p["post_id"] for p in records["post"]] == [POST_A, POST_B, POST_C, POST_I, POST_E]
    assert problems == [] and replay_server.unmatched == []


def test_field_mapping_on_a_realistic_page(replay_server, client):
    script_posts(replay_server)
    script_post_statistics(replay_server)

    posts = {p["post_id"]: p for p in fetch(client, replay_server, fetch=["posts"], page_size=3)[0]["post"]}

    assert posts[POST_A] == {
        "platform": "linkedin", "account": ORG, "post_id": POST_A,
        "published_at": datetime(2026, 11, 22, 10, 0, tzinfo=timezone.utc), "format": "image",
        "text": "We're hiring in Lyon! #jobs Thanks @Acme Partners (again)",
        "url": f"https://www.linkedin.com/feed/update/{POST_A}/",
        "likes": 10, "comments": 3, "shares": 2, "saves": None, "reach": 800, "impressions": 1200,
        "clicks": 21, "video_views": None, "thumbnail_url": None, "pillar": None, "campaign": None, "link": None}
    assert {urn: p["format"] for urn, p in posts.items()} == {
        POST_A: "image", POST_B: "video", POST_C: "carousel", POST_I: "text", POST_E: "link"}
    assert {urn: p["link"] for urn, p in posts.items() if p["link"]} == {POST_E: "https://example.com/blog/first-year"}
    assert (posts[POST_B]["likes"], posts[POST_B]["shares"], posts[POST_B]["reach"]) == (90, 8, 2000)
    # LinkedIn left uniqueImpressionsCount out for this post: no reach, not a reach of 0.
    assert posts[POST_E]["reach"] is None and posts[POST_E]["impressions"] == 500
    assert posts[POST_I]["reach"] == 0 and posts[POST_I]["likes"] == 0


def test_statistics_queries_reach_linkedin_in_restli_syntax(replay_server, vtime):
    """Parentheses and commas stay as written, URNs inside them are percent-encoded."""
    sent: list[str] = []

    class RecordingTransport(httpx.HTTPTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            sent.append(request.url.raw_path.decode())
            return super().handle_request(request)

    script_posts(replay_server)
    script_post_statistics(replay_server)
    script_daily_statistics(replay_server)
    with make_client(clock=vtime.clock, sleep=vtime.sleep, transport=RecordingTransport()) as http:
        fetch(http, replay_server, fetch=["posts", "account_snapshots"], page_size=3)

    assert (f"{SHARE_STATS}?q=organizationalEntity&organizationalEntity=urn%3Ali%3Aorganization%3A2414183"
            "&shares=List(urn%3Ali%3Ashare%3A7265000000000000001,urn%3Ali%3Ashare%3A7263000000000000003,"
            "urn%3Ali%3Ashare%3A7262500000000000007,urn%3Ali%3Ashare%3A7262000000000000005)") in sent
    assert (f"{PAGE_STATS}?q=organization&organization=urn%3Ali%3Aorganization%3A2414183&timeIntervals="
            "(timeRange:(start:1794787200000,end:1795392000000),timeGranularityType:DAY)") in sent
    assert "/rest/posts?q=author&author=urn%3Ali%3Aorganization%3A2414183&sortBy=LAST_MODIFIED&start=0&count=3" in sent


# -- daily snapshots and the 12-month window ---------------------------------------------------
def test_daily_snapshots_count_followers_back_from_todays_total(replay_server, client):
    script_daily_statistics(replay_server)

    records, problems = fetch(client, replay_server, fetch=["account_snapshots"])

    snapshots = records["account_snapshot"]
    assert [s["date"] for s in snapshots] == [date(2026, 11, 16) + timedelta(days=n) for n in range(7)]
    # 4420 today; daily gains 11-16..11-23 are 3, 5, 0, 2, 7, 1, 4, 6 (11-22: 3 organic + 1 paid).
    assert [s["followers"] for s in snapshots] == [4395, 4400, 4400, 4402, 4409, 4410, 4414]
    # LinkedIn sent no element for 2026-11-20: no impressions that day, not 0.
    assert [s["impressions"] for s in snapshots] == [400, 500, 600, 700, None, 900, 1000]
    assert [s["profile_views"] for s in snapshots] == [30, 31, 32, 33, 34, 35, 36]
    assert {s["reach"] for s in snapshots} == {None}  # time-bound answers carry no unique impressions
    assert {(s["platform"], s["account"], s["website_clicks"]) for s in snapshots} == {("linkedin", ORG, None)}
    assert problems == []


def test_the_rolling_12_months_are_respected_by_clamping_and_splitting(replay_server, client):
    """A window reaching back past LinkedIn's 12 months of statistics is cut, not refused."""
    old_post = {"paging": {"start": 0, "count": 50, "links": []}, "elements": [{
        "id": "urn:li:share:7250000000000000099", "author": "urn:li:organization:2414183", "commentary": "Autumn",
        "lifecycleState": "PUBLISHED", "createdAt": 1760518800000, "publishedAt": 1760518800000,
        "lastModifiedAt": 1760518800000, "visibility": "PUBLIC"}]}  # 2025-10-15 09:00 UTC
    replay_server.add("GET", "/rest/posts", Reply(json=old_post))
    empty = Reply(json={"paging": {"start": 0, "count": 10, "links": []}, "elements": []})
    for path in (SHARE_STATS, PAGE_STATS, FOLLOWER_STATS):
        replay_server.add("GET", path, empty, repeat=True)
    replay_server.add("GET", NETWORK_SIZE, *replies("network_size.json"))
    last_quarter = Period(date(2025, 10, 1), date(2025, 12, 31), "UTC", unit="quarter")

    records, problems = fetch(client, replay_server, period=last_quarter)

    # Today is 2026-11-24: statistics reach back to 2025-11-25. The post of 2025-10-15 keeps empty
    # counters and its statistics are never asked for.
    assert [(p["post_id"], p["likes"], p["reach"]) for p in records["post"]] == [
        ("urn:li:share:7250000000000000099", None, None)]
    asked = {path: [r.params.get("timeIntervals") for r in replay_server.requests if r.path == path]
             for path in (SHARE_STATS, PAGE_STATS, FOLLOWER_STATS)}
    assert asked[SHARE_STATS] == asked[PAGE_STATS] == [intervals(date(2025, 11, 25), date(2025, 12, 31))]
    # Followers are counted back from today: 364 days of gains, at most 90 days per request.
    assert asked[FOLLOWER_STATS] == [
        intervals(date(2025, 11, 25), date(2026, 2, 22)), intervals(date(2026, 2, 23), date(2026, 5, 23)),
        intervals(date(2026, 5, 24), date(2026, 8, 21)), intervals(date(2026, 8, 22), date(2026, 11, 19)),
        intervals(date(2026, 11, 20), date(2026, 11, 23))]
    snapshots = records["account_snapshot"]
    assert (snapshots[0]["date"], snapshots[-1]["date"], len(snapshots)) == (date(2025, 11, 25), date(2025, 12, 31), 37)
    assert problems == ["LinkedIn keeps statistics for 12 months: nothing before 2025-11-25 was asked for "
                        "(those days and posts have no statistics)"]


# -- conversations -----------------------------------------------------------------------------
def test_comments_become_conversations_answered_when_the_page_replied(replay_server, client):
    script_posts(replay_server)
    comments, answers, nobody = replies("comments.json")
    replay_server.add("GET", comments_path(POST_A), comments)
    replay_server.add("GET", comments_path("urn:li:comment:(urn:li:activity:7265000000000000100,7265000000000000555)"),
                      answers)
    for urn in (POST_B, POST_C, POST_I, POST_E):
        replay_server.add("GET", comments_path(urn), nobody)

    records, _ = fetch(client, replay_server, fetch=["conversations"], page_size=3)

    assert "post" not in records
    assert records["conversation"] == [
        {"platform": "linkedin", "account": ORG,
         "message_id": "urn:li:comment:(urn:li:activity:7265000000000000100,7265000000000000555)",
         "received_at": datetime(2026, 11, 22, 11, 0, tzinfo=timezone.utc),
         "replied_at": datetime(2026, 11, 22, 13, 15, tzinfo=timezone.utc),
         "author": "urn:li:person:AbC123", "text": "Congrats! Is the role open to <b>remote</b>?", "post_id": POST_A, "sentiment": None,
         "url": f"https://www.linkedin.com/feed/update/{POST_A}/"},  # comments have no link of their own
        {"platform": "linkedin", "account": ORG,
         "message_id": "urn:li:comment:(urn:li:activity:7265000000000000100,7265000000000000556)",
         "received_at": datetime(2026, 11, 22, 12, 30, tzinfo=timezone.utc), "replied_at": None,
         "author": "urn:li:person:XyZ789", "text": '=HYPERLINK("http://evil.example","apply here")',
         "post_id": POST_A, "sentiment": None, "url": f"https://www.linkedin.com/feed/update/{POST_A}/"}]
    # Replies are asked for only where LinkedIn counts some (not for the unanswered comment).
    assert sum("socialActions" in r.path for r in replay_server.requests) == 6
    assert replay_server.unmatched == []


# -- retries and slowing down ------------------------------------------------------------------
def test_429_with_retry_after_is_waited_in_virtual_time(replay_server, client, vtime):
    script_posts(replay_server, first_page=replies("error_429.json"))
    script_post_statistics(replay_server)

    records, _ = fetch(client, replay_server, fetch=["posts"], page_size=3)

    assert len(records["post"]) == 5
    assert vtime.sleeps == [30]
    assert [r.params["start"] for r in replay_server.requests if r.path == "/rest/posts"] == ["0", "0", "3", "6"]


def test_500_then_success_backs_off_once(replay_server, client, vtime):
    script_posts(replay_server, first_page=replies("error_500.json"))
    script_post_statistics(replay_server)

    records, _ = fetch(client, replay_server, fetch=["posts"], page_size=3)

    assert len(records["post"]) == 5
    assert len(vtime.sleeps) == 1 and 1 <= vtime.sleeps[0] <= 2  # 1 s plus up to 1 s of jitter


def test_usage_headers_at_95_percent_slow_the_source_down(replay_server, client, vtime):
    """LinkedIn documents no rate headers; when an answer carries them (a gateway, a future
    LinkedIn), 5 requests left of 100 for the next 60 s spread the rest: one every 12 s."""
    first, *rest = replies("posts_pages.json")
    first.headers.update({"RateLimit-Limit": "100", "RateLimit-Remaining": "5", "RateLimit-Reset": "60"})
    replay_server.add("GET", "/rest/posts", first, *rest)
    script_post_statistics(replay_server)

    fetch(client, replay_server, fetch=["posts"], page_size=3)

    # Pages 2 and 3, then the two statistics requests, each 12 s after the one before.
    assert vtime.sleeps == [12, 12, 12, 12]


# -- errors a person can act on ----------------------------------------------------------------
def test_expired_token_names_the_source_the_code_and_how_to_renew(replay_server, client, caplog):
    caplog.set_level(logging.DEBUG)
    replay_server.add("GET", "/rest/posts", *replies("error_401_expired.json"), repeat=True)

    with pytest.raises(AuthExpired) as caught:
        fetch(client, replay_server, fetch=["posts"])

    message = str(caught.value)
    assert message.startswith("source 'li_brand' (LinkedIn): the access token was refused (EXPIRED_ACCESS_TOKEN")
    assert "LinkedIn tokens last 60 days: run the 3-legged OAuth flow again" in message
    assert len(replay_server.requests) == 1  # never retried
    assert_token_hidden(caught.value, caplog)


def test_missing_permission_names_the_scope(replay_server, client, caplog):
    caplog.set_level(logging.DEBUG)
    replay_server.add("GET", SHARE_STATS, *replies("error_403_access_denied.json"))

    with pytest.raises(PermissionMissing) as caught:
        fetch(client, replay_server, fetch=["account_snapshots"])

    message = str(caught.value)
    assert message.startswith("source 'li_brand' (LinkedIn): a permission is missing (HTTP 403: Not enough "
                              "permissions to access")
    assert "This source needs the token to carry: rw_organization_admin" in message
    assert_token_hidden(caught.value, caplog)


def test_expired_api_version_names_the_option_to_change(replay_server, client, caplog):
    replay_server.add("GET", "/rest/posts", *replies("error_426_version.json"))

    with pytest.raises(ApiVersionExpired) as caught:
        fetch(client, replay_server, fetch=["posts"], api_version="202501")

    assert replay_server.requests[0].headers["linkedin-version"] == "202501"
    assert caught.value.option == "api_version"
    message = str(caught.value)
    assert message.startswith("source 'li_brand' (LinkedIn): LinkedIn no longer serves API version 202501")
    assert "Set the source option `api_version` to an active version" in message
    assert_token_hidden(caught.value, caplog)


def test_malformed_json_is_a_clear_error_showing_the_first_bytes(replay_server, client, caplog):
    caplog.set_level(logging.DEBUG)
    page = f"<html><body>Bad gateway for /rest/posts?oauth2_access_token={TOKEN}</body></html>"
    replay_server.add("GET", "/rest/posts", Reply(200, body=page, headers={"Content-Type": "text/html"}))

    with pytest.raises(BadResponse) as caught:
        fetch(client, replay_server, fetch=["posts"])

    message = str(caught.value)
    assert message.startswith("source 'li_brand' (LinkedIn): GET ")
    assert "is not JSON (text/html): '<html><body>Bad gateway for /rest/posts?oauth2_access_token=***" in message
    assert_token_hidden(caught.value, caplog)


def test_a_200_without_elements_is_an_error_not_an_empty_page(replay_server, client):
    replay_server.add("GET", "/rest/posts", Reply(json={"paging": {"start": 0, "count": 50, "links": []}}))

    with pytest.raises(BadResponse, match=r"^source 'li_brand' \(LinkedIn\): /rest/posts answered HTTP 200 "
                                          r"but has no `elements` list"):
        fetch(client, replay_server, fetch=["posts"])


def test_a_page_that_never_posted_gives_no_records_and_no_error(replay_server, client):
    replay_server.add("GET", "/rest/posts", *replies("posts_empty.json"))

    records, problems = fetch(client, replay_server, fetch=["posts", "conversations"])

    assert records == {"post": [], "conversation": []}
    assert problems == [] and len(replay_server.requests) == 1


def assert_token_hidden(error: BaseException, caplog) -> None:
    texts = error_texts(error) + log_texts(caplog)
    assert [t for t in texts if TOKEN in t] == []


# -- options -----------------------------------------------------------------------------------
def test_options_accept_ids_or_urns_and_say_what_is_wrong():
    options = LinkedInOrgOptions(organization_ids=["2414183", "urn:li:organization:2414183", "1000"], token=TOKEN)
    assert options.organization_ids == ["2414183", "1000"]
    with pytest.raises(pydantic.ValidationError, match="'acme-corp' is not an organization id"):
        LinkedInOrgOptions(organization_ids=["acme-corp"], token=TOKEN)
    with pytest.raises(pydantic.ValidationError, match="api_version"):
        LinkedInOrgOptions(organization_ids=[ORG], token=TOKEN, api_version="2026-11")
    with pytest.raises(pydantic.ValidationError, match="fetch"):
        LinkedInOrgOptions(organization_ids=[ORG], token=TOKEN, fetch=["mentions"])
    for name, field in LinkedInOrgOptions.model_fields.items():
        assert field.description and field.examples, name


def test_record_kinds_follow_the_fetch_option():
    def source(*fetch: str) -> LinkedInOrg:
        chosen = {"fetch": list(fetch)} if fetch else {}
        return LinkedInOrg(LinkedInOrgOptions(organization_ids=[ORG], token=TOKEN, **chosen), entry_id="li")

    assert source().produces() == {"post", "account_snapshot"}
    assert source("conversations").produces() == {"conversation"}
    assert set(LinkedInOrg.record_kinds) == {"post", "account_snapshot", "conversation"}


# -- a whole run -------------------------------------------------------------------------------
def shifted(value, offset_ms: int):
    """Recorded epoch-ms instants moved by ``offset_ms`` (a run over the week before today)."""
    if isinstance(value, dict):
        return {k: (v + offset_ms if k in ("createdAt", "publishedAt", "lastModifiedAt", "time", "start", "end")
                    and isinstance(v, int) else shifted(v, offset_ms)) for k, v in value.items()}
    if isinstance(value, list):
        return [shifted(v, offset_ms) for v in value]
    return value


def test_end_to_end_run_computes_engagement_rate_by_reach(replay_server, tmp_path, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    # The run uses the real clock; the recorded week is moved to the same place before today.
    days = (datetime.now(timezone.utc).date() - date(2026, 11, 24)).days
    offset = days * 86_400_000
    replay_server.add("GET", "/rest/posts", *[Reply(json=shifted(r.json, offset)) for r in replies("posts_pages.json")])
    script_post_statistics(replay_server)
    monkeypatch.setenv("LINKEDIN_TOKEN", TOKEN)
    start, end = date(2026, 11, 16) + timedelta(days=days), date(2026, 11, 22) + timedelta(days=days)
    workflow = tmp_path / "linkedin.toml"
    workflow.write_text(f"""
[workflow]
name = "LinkedIn weekly"
period = "{start}..{end}"
compare = []

[[sources]]
id = "li_brand"
plugin = "linkedin_org"
organization_ids = ["{ORG}"]
token = "${{env:LINKEDIN_TOKEN}}"
base_url = "{replay_server.url}"
allow_private_network = true
fetch = ["posts"]
page_size = 3

[[metrics]]
plugin = "engagement_rate_by_reach"
by = ["overall"]
""", encoding="utf-8")

    with registered_plugin(linkedin_org):
        result = run_workflow_file(workflow, store_url=f"sqlite:///{tmp_path}/s.db")

    assert result.failed_stages == []
    err = result.measurements.filter(metric="engagement_rate_by_reach", period="current")
    # Posts with a reach: A 10+3+2 over 800, B 90+12+8 over 2000, C 40+4+5 over 1500; the poll
    # (reach 0) and the article (no reach) are left out of both sides. 174 / 4300 x 100.
    assert err["value"].to_list() == [pytest.approx(174 / 4300 * 100)]
    assert result.records["post"].height == 5
    stored = json.dumps([r.getMessage() for r in caplog.records])
    assert TOKEN not in stored
