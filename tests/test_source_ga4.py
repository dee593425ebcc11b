"""The ``ga4`` source against a loopback server replaying the GA4 Data API's real answers.

Waits happen in virtual time; the fixtures (tests/fixtures/sources/ga4/) keep GA4's envelope:
string values, ``rowCount``, ``propertyQuota`` and Google's error bodies.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from cmflow.builtin.metrics import conversions
from cmflow.builtin.sources import ga4
from cmflow.builtin.sources.ga4 import Ga4Options, Ga4Source
from cmflow.plugins.context import FetchContext
from cmflow.foundation.errors import WorkflowInvalid
from cmflow.http import (AuthExpired, BadResponse, PermissionMissing, PlatformError, PlatformUnavailable,
                         RetryPolicy, make_client)
from cmflow.testing import (ReplayServer, Reply, load_replies, registered_plugin, replay_server,  # noqa: F401
                            run_workflow_file)
from cmflow.workflow import load_workflow
from source_helpers import client, error_texts, fetch_frames, log_texts, vtime  # noqa: F401 (fixtures)

if TYPE_CHECKING:
    import polars as pl

FIXTURES = Path(__file__).parent / "fixtures" / "sources" / "ga4"
TOKEN = "ya29.c0AfB_ga4-test-token-8e2d4a6b1c"
PROPERTY = "312345678"
REPORT = f"/v1beta/properties/{PROPERTY}:runReport"
WINDOW = (datetime(2026, 11, 8, tzinfo=timezone.utc), datetime(2026, 11, 23, tzinfo=timezone.utc))


def replies(name: str) -> list[Reply]:
    return load_replies(FIXTURES / name)


def make_source(server: ReplayServer, **options) -> Ga4Source:
    values = {"token": TOKEN, "property_id": PROPERTY, "base_url": server.url, "allow_private_network": True, **options}
    return Ga4Source(Ga4Options.model_validate(values), entry_id="ga4_shop")


def fetch(source: Ga4Source, client) -> tuple["pl.DataFrame", FetchContext]:
    frames, ctx = fetch_frames(source, client, WINDOW, [])
    assert list(frames) == ["traffic"]
    return frames["traffic"], ctx


# -- paging and mapping --------------------------------------------------------------------------
def test_the_report_is_paged_by_offset_until_row_count(replay_server, client, vtime):
    replay_server.add("POST", REPORT, *replies("report_pages.json"))

    traffic, ctx = fetch(make_source(replay_server, page_size=2), client)

    bodies = [request.json() for request in replay_server.requests]
    assert [(body["offset"], body["limit"]) for body in bodies] == [(0, 2), (2, 2), (4, 2)]
    assert traffic.height == 5
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in replay_server.requests)
    assert ctx.problems == [] and vtime.sleeps == []  # far from the quota: full speed


def test_the_request_asks_for_utm_dimensions_and_key_events_over_the_window(replay_server, client):
    replay_server.add("POST", REPORT, *replies("report_pages.json"))

    fetch(make_source(replay_server, page_size=2), client)

    body = replay_server.requests[0].json()
    assert body["dateRanges"] == [{"startDate": "2026-11-08", "endDate": "2026-11-22"}]
    assert [d["name"] for d in body["dimensions"]] == ["date", "sessionSource", "sessionMedium", "sessionCampaignName"]
    assert [m["name"] for m in body["metrics"]] == ["sessions", "totalUsers", "keyEvents", "totalRevenue"]
    assert body["returnPropertyQuota"] is True


def test_rows_map_to_traffic_records(replay_server, client):
    replay_server.add("POST", REPORT, *replies("report_pages.json"))

    traffic, _ = fetch(make_source(replay_server, page_size=2), client)

    rows = traffic.sort(["date", "sessions"], descending=[False, True]).select(
        "date", "source", "platform", "medium", "campaign", "content", "sessions", "users", "conversions",
        "revenue").to_dicts()
    # utm_source "ig" and "lnkd.in" are instagram and linkedin; a newsletter or (direct) is no platform.
    assert rows == [
        {"date": date(2026, 11, 18), "source": "ig", "platform": "instagram", "medium": "social",
         "campaign": "black_friday_teaser", "content": None, "sessions": 388, "users": 350, "conversions": 7,
         "revenue": 250.0},
        {"date": date(2026, 11, 18), "source": "newsletter", "platform": None, "medium": "email",
         "campaign": "nov_digest", "content": None, "sessions": 95, "users": 81, "conversions": 0, "revenue": 0.0},
        {"date": date(2026, 11, 19), "source": "(direct)", "platform": None, "medium": "(none)",
         "campaign": "(not set)", "content": None, "sessions": 900, "users": 702, "conversions": 14,
         "revenue": 1204.25},
        {"date": date(2026, 11, 19), "source": "instagram", "platform": "instagram", "medium": "social",
         "campaign": "black_friday_teaser", "content": None, "sessions": 412, "users": 371, "conversions": 9,
         "revenue": 318.5},
        {"date": date(2026, 11, 19), "source": "lnkd.in", "platform": "linkedin", "medium": "social",
         "campaign": "(not set)", "content": None, "sessions": 120, "users": 104, "conversions": 2,
         "revenue": 80.0},
    ]
    # revenue is in the property's currency, which the answer's metadata.currencyCode names
    assert traffic["currency"].unique().to_list() == ["EUR"]


def test_by_content_asks_for_utm_content_and_reads_platforms_from_referrers(replay_server, client):
    page = replies("report_content.json")[0]
    page.json["metricHeaders"][1] = {"name": "activeUsers", "type": "TYPE_INTEGER"}
    replay_server.add("POST", REPORT, page)

    traffic, _ = fetch(make_source(replay_server, by_content=True, users_metric="activeUsers"), client)

    body = replay_server.requests[0].json()
    assert [d["name"] for d in body["dimensions"]] == [
        "date", "sessionSource", "sessionMedium", "sessionCampaignName", "sessionManualAdContent"]
    assert [m["name"] for m in body["metrics"]] == ["sessions", "activeUsers", "keyEvents", "totalRevenue"]
    assert traffic["users"].sum() == 60 + 45 + 12 + 180


def test_content_rows_map_to_traffic_records_with_their_platform(replay_server, client):
    replay_server.add("POST", REPORT, *replies("report_content.json"))

    traffic, _ = fetch(make_source(replay_server, by_content=True), client)

    rows = traffic.sort("sessions").select("source", "platform", "content", "sessions", "users").rows()
    assert rows == [("t.co", "x", "bio_link", 12, 12),
                    ("m.facebook.com", "facebook", "reel_countdown", 48, 45),
                    ("l.instagram.com", "instagram", "(not set)", 64, 60),
                    ("google", None, "(not set)", 210, 180)]


def test_first_user_attribution_and_one_key_event(replay_server, client):
    page = replies("report_thresholded.json")[0]
    headers = page.json
    headers["dimensionHeaders"] = [{"name": n} for n in ("date", "firstUserSource", "firstUserMedium",
                                                         "firstUserCampaignName")]
    headers["metricHeaders"][1] = {"name": "keyEvents:purchase", "type": "TYPE_INTEGER"}
    replay_server.add("POST", REPORT, page)

    traffic, ctx = fetch(make_source(replay_server, attribution="first_user",
                                     conversions_metric="keyEvents:purchase"), client)

    body = replay_server.requests[0].json()
    assert [d["name"] for d in body["dimensions"]] == [
        "date", "firstUserSource", "firstUserMedium", "firstUserCampaignName"]
    assert [m["name"] for m in body["metrics"]] == ["sessions", "totalUsers", "keyEvents:purchase", "totalRevenue"]
    assert traffic["conversions"].sum() == 32
    # The report said it withheld rows with few users: the run says so.
    assert ctx.problems == ["GA4 withheld rows with few users (thresholding): totals may be lower than in "
                            "the GA4 interface"]


# -- retries and waits -------------------------------------------------------------------------
def test_a_429_resource_exhausted_with_retry_after_is_waited_in_virtual_time(replay_server, client, vtime):
    replay_server.add("POST", REPORT, *replies("error_429_tokens.json"), *replies("report_thresholded.json"))

    traffic, _ = fetch(make_source(replay_server), client)

    assert vtime.sleeps == [45]
    assert len(replay_server.requests) == 2 and traffic.height == 5


def test_a_500_then_success_backs_off_once(replay_server, client, vtime):
    replay_server.add("POST", REPORT, *replies("error_500.json"), *replies("report_thresholded.json"))

    traffic, _ = fetch(make_source(replay_server), client)

    [wait] = vtime.sleeps
    assert 1 <= wait <= 2 and traffic.height == 5


def test_property_tokens_at_95_percent_slow_the_next_pages(replay_server, client, vtime):
    """GA4 has no usage headers: the propertyQuota of each answer paces the next request."""
    replay_server.add("POST", REPORT, *replies("report_quota_95.json"))

    traffic, _ = fetch(make_source(replay_server, page_size=2), client)

    # 2,000 tokens left at 50 a request: 40 requests spread over the hour, one every 90 s;
    # then 1,800 left: one every 100 s; the third answer is far from the limit.
    assert vtime.sleeps == [90, 100]
    assert traffic.height == 5


def test_the_quota_tier_sets_what_counts_as_near_the_limit(replay_server, client, vtime):
    """199,000 day tokens left is 0.5 % used for a standard property, 90 % for a 360 one."""
    replay_server.add("POST", REPORT, *replies("report_pages.json"))

    fetch(make_source(replay_server, page_size=2, quota_tier="analytics_360"), client)

    # 199,000 left at 12 a request: 16,583 requests spread over the day.
    assert vtime.sleeps == [pytest.approx(86_400 / 16_583)] * 2


# -- errors a person can act on ------------------------------------------------------------------
def test_an_expired_token_names_the_source_the_code_and_how_to_renew(replay_server, client):
    replay_server.add("POST", REPORT, *replies("error_401_expired.json"), repeat=True)

    with pytest.raises(AuthExpired) as caught:
        fetch(make_source(replay_server), client)

    message = str(caught.value)
    assert message.startswith("source 'ga4_shop' (Google Analytics): the access token was refused (UNAUTHENTICATED")
    assert "To renew it: Refresh the OAuth token at oauth2.googleapis.com/token" in message
    assert TOKEN not in message and len(replay_server.requests) == 1


def test_a_missing_permission_names_the_scope(replay_server, client):
    replay_server.add("POST", REPORT, *replies("error_403_permission.json"))

    with pytest.raises(PermissionMissing) as caught:
        fetch(make_source(replay_server), client)

    message = str(caught.value)
    assert "source 'ga4_shop' (Google Analytics)" in message
    assert "User does not have sufficient permissions for this property" in message
    assert "This source needs the token to carry: https://www.googleapis.com/auth/analytics.readonly" in message


def test_malformed_json_shows_the_first_bytes_without_the_token(replay_server, client):
    body = '{"dimensionHeaders": [{"name": "date"}], "rows": [{"dimensionValues": [{"value": "2026' + \
        f' <!-- upstream reset; auth=Bearer {TOKEN} -->'
    replay_server.add("POST", REPORT, Reply(200, body=body, headers={"Content-Type": "application/json"}))

    with pytest.raises(BadResponse) as caught:
        fetch(make_source(replay_server), client)

    message = str(caught.value)
    assert "source 'ga4_shop' (Google Analytics)" in message and "is not JSON (application/json)" in message
    assert '{"dimensionHeaders": [{"name": "date"}]' in message
    assert TOKEN not in message


def test_an_empty_property_gives_no_records_and_no_error(replay_server, client):
    replay_server.add("POST", REPORT, *replies("report_empty.json"))

    traffic, ctx = fetch(make_source(replay_server), client)

    assert traffic.height == 0 and ctx.problems == []
    assert len(replay_server.requests) == 1


def test_pages_that_fall_short_of_row_count_are_a_clear_error(replay_server, client):
    replay_server.add("POST", REPORT, *replies("report_rows_missing.json"))
    with pytest.raises(BadResponse, match="source 'ga4_shop' \\(Google Analytics\\): runReport announced 5 rows "
                                          "\\(rowCount\\) but its pages held 2"):
        fetch(make_source(replay_server, page_size=2), client)


def test_rows_without_the_headers_asked_for_are_a_clear_error(replay_server, client):
    page = replies("report_thresholded.json")[0]
    page.json["metricHeaders"] = page.json["metricHeaders"][:2]
    replay_server.add("POST", REPORT, page)
    with pytest.raises(BadResponse, match="runReport answered rows without the header\\(s\\) totalUsers, totalRevenue"):
        fetch(make_source(replay_server), client)


def test_the_token_never_reaches_errors_or_logs(replay_server, vtime, caplog):
    caplog.set_level(logging.DEBUG)
    replay_server.add("POST", REPORT, *replies("error_500.json") * 3, *replies("error_401_expired.json"))
    texts, failures = [], []
    with make_client(clock=vtime.clock, sleep=vtime.sleep, retry=RetryPolicy(max_attempts=3)) as http:
        for _ in range(2):
            with pytest.raises(PlatformError) as caught:
                fetch(make_source(replay_server), http)
            failures.append(type(caught.value))
            texts += error_texts(caught.value)
    texts += log_texts(caplog)

    assert failures == [PlatformUnavailable, AuthExpired]
    assert any("ga4_shop" in text for text in texts)
    assert [text for text in texts if TOKEN in text] == []


# -- validation --------------------------------------------------------------------------------
@pytest.mark.parametrize("option, given, replacement", [
    ("conversions_metric", "conversions", "keyEvents"),
    ("conversions_metric", "conversions:purchase", "keyEvents:purchase"),
    ("sessions_metric", "sessionConversionRate", "sessionKeyEventRate"),
])
def test_a_deprecated_metric_is_refused_naming_its_replacement(replay_server, option, given, replacement):
    with pytest.raises(ValueError, match=f'write "{replacement}"'):
        make_source(replay_server, **{option: given})


def test_a_workflow_asking_for_conversions_fails_validation(tmp_path, monkeypatch):
    monkeypatch.setenv("GA4_TOKEN", TOKEN)
    path = tmp_path / "ga4.toml"
    path.write_text(f"""
[workflow]
name = "Traffic"

[[sources]]
plugin = "ga4"
property_id = "{PROPERTY}"
token = "${{env:GA4_TOKEN}}"
conversions_metric = "conversions"
""", encoding="utf-8")
    with registered_plugin(ga4), pytest.raises(WorkflowInvalid) as caught:
        load_workflow(path)
    [problem] = caught.value.problems
    assert problem.path == "sources[0].conversions_metric"
    assert "GA4 renamed `conversions` to `keyEvents`" in problem.message and 'write "keyEvents"' in problem.message


def test_a_token_written_in_the_file_is_refused(tmp_path):
    path = tmp_path / "ga4.toml"
    path.write_text(f'[workflow]\nname = "T"\n[[sources]]\nplugin = "ga4"\nproperty_id = "{PROPERTY}"\n'
                    f'token = "{TOKEN}"\n', encoding="utf-8")
    with registered_plugin(ga4), pytest.raises(WorkflowInvalid) as caught:
        load_workflow(path)
    assert "secrets may not be written in the workflow file" in str(caught.value)
    assert TOKEN not in str(caught.value)


# -- end to end ----------------------------------------------------------------------------------
def test_a_workflow_computes_a_conversion_rate_from_ga4(replay_server, tmp_path, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    replay_server.add("POST", REPORT, *replies("report_pages.json"))
    monkeypatch.setenv("GA4_TOKEN", TOKEN)
    path = tmp_path / "ga4.toml"
    path.write_text(f"""
[workflow]
name = "Traffic weekly"
period = "last_week"
as_of = "2026-11-24"

[[sources]]
id = "ga4_shop"
plugin = "ga4"
property_id = "{PROPERTY}"
token = "${{env:GA4_TOKEN}}"
page_size = 2
base_url = "{replay_server.url}"
allow_private_network = true

[[metrics]]
plugin = "conversion_rate"
by = ["overall"]
""", encoding="utf-8")

    with registered_plugin(ga4), registered_plugin(conversions):
        result = run_workflow_file(path, store_url=f"sqlite:///{tmp_path}/s.db")

    assert result.failed_stages == []
    assert replay_server.requests[0].json()["dateRanges"] == [{"startDate": "2026-11-08", "endDate": "2026-11-22"}]
    # 18-19 November: (9 + 2 + 14 + 7 + 0) key events over (412 + 120 + 900 + 388 + 95) sessions.
    assert result.value("conversion_rate") == pytest.approx(32 / 1915 * 100)
    assert all(TOKEN not in record.getMessage() for record in caplog.records)


# -- refresh tokens: what a scheduled workflow needs (access tokens last an hour) -----------------
REFRESH = "1//0g-refresh-token-5f3c2b"
CLIENT_SECRET = "GOCSPX-client-secret-9d1e"


def refreshing_source(server: ReplayServer, **options) -> Ga4Source:
    values = {"refresh_token": REFRESH, "client_id": "1234-abc.apps.googleusercontent.com",
              "client_secret": CLIENT_SECRET, "token_url": f"{server.url}/token", "property_id": PROPERTY,
              "base_url": server.url, "allow_private_network": True, **options}
    return Ga4Source(Ga4Options.model_validate(values), entry_id="ga4_shop")


def test_a_refresh_token_is_exchanged_for_a_fresh_access_token_at_each_run(replay_server, client):
    from urllib.parse import parse_qs

    fresh = "ya29.a0fresh-access-token-77aa"
    replay_server.add("POST", "/token", Reply(json={"access_token": fresh, "expires_in": 3599,
                                                    "scope": "https://www.googleapis.com/auth/analytics.readonly",
                                                    "token_type": "Bearer"}))
    replay_server.add("POST", REPORT, *replies("report_pages.json"))
    traffic, _ = fetch(refreshing_source(replay_server, page_size=2), client)
    exchange, *reports = replay_server.requests
    assert exchange.headers["content-type"] == "application/x-www-form-urlencoded"
    assert {k: v[0] for k, v in parse_qs(exchange.body.decode()).items()} == {
        "grant_type": "refresh_token", "refresh_token": REFRESH,
        "client_id": "1234-abc.apps.googleusercontent.com", "client_secret": CLIENT_SECRET}
    assert traffic.height == 5 and all(r.headers["authorization"] == f"Bearer {fresh}" for r in reports)


def test_a_revoked_refresh_token_says_how_to_authorise_again_and_shows_no_secret(replay_server, client):
    replay_server.add("POST", "/token", Reply(400, json={"error": "invalid_grant",
                                                         "error_description": "Token has been expired or revoked."}))
    with pytest.raises(AuthExpired) as caught:
        fetch(refreshing_source(replay_server), client)
    text = str(caught.value)
    assert "Google refused the refresh token" in text and "Authorise again" in text
    assert all(REFRESH not in t and CLIENT_SECRET not in t for t in error_texts(caught.value))
    assert [r.path for r in replay_server.requests] == ["/token"]  # no report asked without a token


@pytest.mark.parametrize("options, message", [
    ({}, "give token (an access token, for one hour), or refresh_token, client_id and client_secret"),
    ({"refresh_token": REFRESH, "client_id": "x"}, "client_secret missing"),
])
def test_a_google_source_needs_one_complete_way_to_authenticate(options, message):
    with pytest.raises(Exception) as caught:
        Ga4Options.model_validate({"property_id": PROPERTY, **options})
    assert message in str(caught.value)
