"""The ``tiktok`` source against a loopback server replaying TikTok's recorded answers.

Waits happen in virtual time (``VirtualTime``, 2026-11-24 09:00 UTC). The window is
2026-11-16..23 (UTC), so that "yesterday" (2026-11-23), the default day of the follower
snapshot, falls in it.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pydantic
import pytest

from cmflow import Period
from cmflow.builtin.sources import tiktok
from cmflow.builtin.sources.tiktok import TikTok, TikTokOptions
from cmflow.foundation.errors import WorkflowInvalid
from cmflow.http import AuthExpired, BadResponse, PermissionMissing
from cmflow.testing import Reply, load_replies, registered_plugin, replay_server  # noqa: F401
from cmflow.testing import run_workflow_file
from cmflow.workflow import load_workflow
from source_helpers import (client, error_texts, fetch_records, log_texts, period_window,  # noqa: F401 (fixtures)
                            vtime)

FIXTURES = Path(__file__).parent / "fixtures" / "sources" / "tiktok"
TOKEN = "act.example-tiktok-user-token-for-tests!4471"
VIDEO_LIST = "/v2/video/list/"
USER_INFO = "/v2/user/info/"
WINDOW = Period(date(2026, 11, 16), date(2026, 11, 23), "UTC")


def replies(name: str) -> list[Reply]:
    return load_replies(FIXTURES / name)


def fetch(client, server, *, period: Period = WINDOW, **options) -> tuple[dict[str, list[dict]], list[str]]:
    """Run the source as the runner does; return its records by kind and its warnings."""
    options.setdefault("page_size", 2)
    source = TikTok(TikTokOptions(account="@maisonlumiere", token=TOKEN, base_url=server.url, allow_private_network=True, **options),
                    entry_id="tt_brand")
    return fetch_records(source, client, period_window(period), [period])


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


# -- pagination ----------------------------------------------------------------------------------
def test_videos_are_read_over_three_pages_until_the_window_start(replay_server, client):
    replay_server.add("POST", VIDEO_LIST, *replies("video_list_pages.json"))

    records, problems = fetch(client, replay_server, fetch=["posts"])

    bodies = [r.json() for r in replay_server.requests]
    # The reading starts at the window's end and follows the cursor; the third page holds a video
    # older than the window, so the fourth page TikTok offers (has_more) is not asked for.
    assert [b["cursor"] for b in bodies] == [ms(datetime(2026, 11, 24, tzinfo=timezone.utc)),
                                             ms(datetime(2026, 11, 21, 7, 30, tzinfo=timezone.utc)),
                                             ms(datetime(2026, 11, 18, 16, 45, tzinfo=timezone.utc))]
    assert {b["max_count"] for b in bodies} == {2}
    assert {r.params["fields"] for r in replay_server.requests} == {
        "id,title,video_description,create_time,share_url,duration,cover_image_url,like_count,comment_count,"
        "share_count,view_count"}
    assert {r.headers["authorization"] for r in replay_server.requests} == {f"Bearer {TOKEN}"}
    assert [p["post_id"] for p in records["post"]] == [
        "7440000000000000001", "7440000000000000002", "7440000000000000003", "7440000000000000004",
        "7440000000000000005"]
    assert problems == [] and replay_server.unmatched == []


def test_field_mapping_on_a_realistic_page(replay_server, client):
    replay_server.add("POST", VIDEO_LIST, *replies("video_list_pages.json"))

    posts = {p["post_id"]: p for p in fetch(client, replay_server, fetch=["posts"])[0]["post"]}

    assert posts["7440000000000000001"] == {
        "platform": "tiktok", "account": "@maisonlumiere", "post_id": "7440000000000000001",
        "published_at": datetime(2026, 11, 22, 18, 0, tzinfo=timezone.utc), "format": "video",
        "text": "How we laminate 81 layers #bakery #croissant",
        "url": "https://www.tiktok.com/@maisonlumiere/video/7440000000000000001?utm_campaign=tt4d_open_api"
               "&utm_source=awxxxxxxxxxx",
        "likes": 1200, "comments": 45, "shares": 30, "saves": None, "reach": None, "impressions": 25000,
        "clicks": None, "video_views": 25000, "pillar": None, "campaign": None, "link": None,
        "thumbnail_url": "https://p16-sign-va.tiktokcdn.com/tos-maliva-p-0068/o4AbCdEfGh~tplv-noop.image"
                         "?x-expires=1795456800&x-signature=aBcD1234%3D"}
    assert posts["7440000000000000002"]["thumbnail_url"] is None  # no cover given
    # Public text is kept as written (outputs escape it); an absent counter stays empty, not 0.
    assert posts["7440000000000000002"]["text"] == "Morning bake ☀️ <script>alert(1)</script>"
    assert posts["7440000000000000004"]["shares"] is None and posts["7440000000000000004"]["comments"] == 20
    assert posts["7440000000000000003"]["shares"] == 0


def test_follower_count_is_a_snapshot_of_yesterday_by_default(replay_server, client):
    replay_server.add("GET", USER_INFO, *replies("user_info.json"))

    records, _ = fetch(client, replay_server, fetch=["account_snapshots"])

    assert records["account_snapshot"] == [{
        "platform": "tiktok", "account": "@maisonlumiere", "date": date(2026, 11, 23), "followers": 12840,
        "reach": None, "impressions": None, "profile_views": None, "website_clicks": None}]
    assert replay_server.requests[0].params["fields"] == (
        "open_id,display_name,follower_count,following_count,likes_count,video_count")


def test_a_snapshot_of_a_day_outside_the_window_is_not_fetched(replay_server, client):
    """Read on 2026-11-24, the count is no figure of last week's days: nothing is asked for."""
    last_week = Period(date(2026, 11, 16), date(2026, 11, 22), "UTC", unit="week")

    records, _ = fetch(client, replay_server, period=last_week, fetch=["account_snapshots"])
    assert records == {"account_snapshot": []} and replay_server.requests == []

    replay_server.add("GET", USER_INFO, *replies("user_info.json"))
    today = Period(date(2026, 11, 24), date(2026, 11, 24), "Europe/Paris")
    records, _ = fetch(client, replay_server, period=today, fetch=["account_snapshots"], snapshot_date="today")
    assert [(s["date"], s["followers"]) for s in records["account_snapshot"]] == [(date(2026, 11, 24), 12840)]


# -- retries and slowing down ------------------------------------------------------------------
def test_429_with_retry_after_is_waited_in_virtual_time(replay_server, client, vtime):
    first, *rest = replies("video_list_pages.json")
    replay_server.add("POST", VIDEO_LIST, *replies("error_429.json"), first, *rest)

    records, _ = fetch(client, replay_server, fetch=["posts"])

    assert len(records["post"]) == 5
    assert vtime.sleeps == [20]
    assert replay_server.requests[0].json() == replay_server.requests[1].json()  # the same page again


def test_500_then_success_backs_off_once(replay_server, client, vtime):
    replay_server.add("GET", USER_INFO, *replies("error_500.json"), *replies("user_info.json"))

    records, _ = fetch(client, replay_server, fetch=["account_snapshots"])

    assert records["account_snapshot"][0]["followers"] == 12840
    assert len(vtime.sleeps) == 1 and 1 <= vtime.sleeps[0] <= 2  # 1 s plus up to 1 s of jitter


def test_usage_headers_at_95_percent_slow_the_source_down(replay_server, client, vtime):
    """TikTok documents no rate headers (600 requests a minute, 429 past it); when an answer
    carries them, 5 requests left of 100 for the next 60 s spread the rest: one every 12 s."""
    first, *rest = replies("video_list_pages.json")
    first.headers.update({"RateLimit-Limit": "100", "RateLimit-Remaining": "5", "RateLimit-Reset": "60"})
    replay_server.add("POST", VIDEO_LIST, first, *rest)
    replay_server.add("GET", USER_INFO, *replies("user_info.json"))

    fetch(client, replay_server)

    assert vtime.sleeps == [12, 12, 12]  # pages 2 and 3, then the user's counts


# -- errors a person can act on ----------------------------------------------------------------
def test_expired_token_names_the_source_the_code_and_how_to_renew(replay_server, client, caplog):
    caplog.set_level(logging.DEBUG)
    replay_server.add("POST", VIDEO_LIST, *replies("error_401_token.json"), repeat=True)

    with pytest.raises(AuthExpired) as caught:
        fetch(client, replay_server)

    message = str(caught.value)
    assert message.startswith("source 'tt_brand' (TikTok): the access token was refused (access_token_invalid: "
                              "The access token is invalid")
    assert "refresh with POST /v2/oauth/token/ grant_type=refresh_token" in message
    assert caught.value.code == "access_token_invalid" and len(replay_server.requests) == 1
    assert_token_hidden(caught.value, caplog)


def test_missing_permission_names_the_scope(replay_server, client, caplog):
    caplog.set_level(logging.DEBUG)
    replay_server.add("GET", USER_INFO, *replies("error_401_scope.json"))

    with pytest.raises(PermissionMissing) as caught:
        fetch(client, replay_server, fetch=["account_snapshots"])

    message = str(caught.value)
    assert message.startswith("source 'tt_brand' (TikTok): a permission is missing (scope_not_authorized")
    assert "This source needs the token to carry: user.info.basic, user.info.stats" in message
    assert_token_hidden(caught.value, caplog)


def test_malformed_json_is_a_clear_error_showing_the_first_bytes(replay_server, client, caplog):
    caplog.set_level(logging.DEBUG)
    replay_server.add("POST", VIDEO_LIST, Reply(200, body=f'{{"data": {{"videos": [{{"id": "7440", "access_token": "{TOKEN}"',
                                                headers={"Content-Type": "application/json"}))

    with pytest.raises(BadResponse) as caught:
        fetch(client, replay_server)

    message = str(caught.value)
    assert message.startswith("source 'tt_brand' (TikTok): POST ")
    assert "is not JSON (application/json): '{\"data\": {\"videos\": [{\"id\": \"7440\", \"access_token\": \"***\"" in message
    assert_token_hidden(caught.value, caplog)


def test_a_200_without_videos_is_an_error_not_an_empty_account(replay_server, client):
    replay_server.add("POST", VIDEO_LIST, *replies("video_list_partial.json"))

    with pytest.raises(BadResponse, match=r"^source 'tt_brand' \(TikTok\): /v2/video/list/ answered HTTP 200 "
                                          r"but has no data.videos list"):
        fetch(client, replay_server)


def test_an_account_without_videos_gives_no_records_and_no_error(replay_server, client):
    replay_server.add("POST", VIDEO_LIST, *replies("video_list_empty.json"))

    records, problems = fetch(client, replay_server, fetch=["posts"])

    assert records == {"post": []} and problems == [] and len(replay_server.requests) == 1


def assert_token_hidden(error: BaseException, caplog) -> None:
    texts = error_texts(error) + log_texts(caplog)
    assert [t for t in texts if TOKEN in t] == []


# -- validation --------------------------------------------------------------------------------
@pytest.mark.parametrize("asked, what", [("conversations", "comments"), ("comments", "comments"),
                                         ("mentions", "mentions")])
def test_comments_and_mentions_are_refused_at_validation(asked, what):
    with pytest.raises(pydantic.ValidationError) as caught:
        TikTokOptions(account="@maisonlumiere", token=TOKEN, fetch=["posts", asked])
    assert (f"TikTok does not offer {what} to commercial apps: the Display API has none, and the Research "
            "API that has them is only for non-commercial academic research. "
            f"Remove '{asked}' from fetch") in str(caught.value)


def test_the_workflow_file_points_at_the_refused_option(tmp_path, monkeypatch):
    monkeypatch.setenv("TIKTOK_TOKEN", TOKEN)
    path = tmp_path / "tiktok.toml"
    path.write_text('[workflow]\nname = "TikTok"\n\n[[sources]]\nid = "tt"\nplugin = "tiktok"\n'
                    'account = "@maisonlumiere"\ntoken = "${env:TIKTOK_TOKEN}"\nfetch = ["posts", "conversations"]\n',
                    encoding="utf-8")
    with registered_plugin(tiktok), pytest.raises(WorkflowInvalid) as caught:
        load_workflow(path)
    [problem] = caught.value.problems
    assert problem.path == "sources[0].fetch"
    assert problem.message.startswith("TikTok does not offer comments to commercial apps")


def test_options_document_every_field_and_the_kinds_follow_fetch():
    for name, field in TikTokOptions.model_fields.items():
        assert field.description and field.examples, name
    with pytest.raises(pydantic.ValidationError, match="page_size"):
        TikTokOptions(account="@a", token=TOKEN, page_size=21)
    source = TikTok(TikTokOptions(account="@a", token=TOKEN, fetch=["posts"]), entry_id="tt")
    assert source.produces() == {"post"}
    assert TikTok(TikTokOptions(account="@a", token=TOKEN), entry_id="tt").produces() == {"post", "account_snapshot"}


# -- a whole run -------------------------------------------------------------------------------
def shifted(value, offset_s: int):
    """Recorded epoch-second instants (and the ms cursors) moved by ``offset_s`` seconds."""
    if isinstance(value, dict):
        moved = {}
        for key, item in value.items():
            if key == "create_time" and isinstance(item, int):
                moved[key] = item + offset_s
            elif key == "cursor" and isinstance(item, int) and item:
                moved[key] = item + offset_s * 1000
            else:
                moved[key] = shifted(item, offset_s)
        return moved
    if isinstance(value, list):
        return [shifted(v, offset_s) for v in value]
    return value


def test_end_to_end_run_computes_engagement_rate_by_followers(replay_server, tmp_path, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    # The run uses the real clock: the recorded days move to the same place before today.
    today = datetime.now(timezone.utc).date()
    days = (today - date(2026, 11, 24)).days
    replay_server.add("POST", VIDEO_LIST, *[Reply(json=shifted(r.json, days * 86400))
                                            for r in replies("video_list_pages.json")])
    replay_server.add("GET", USER_INFO, *replies("user_info.json"))
    monkeypatch.setenv("TIKTOK_TOKEN", TOKEN)
    workflow = tmp_path / "tiktok.toml"
    workflow.write_text(f"""
[workflow]
name = "TikTok weekly"
period = "{today - timedelta(days=8)}..{today - timedelta(days=1)}"
compare = []

[[sources]]
id = "tt_brand"
plugin = "tiktok"
account = "@maisonlumiere"
token = "${{env:TIKTOK_TOKEN}}"
base_url = "{replay_server.url}"
allow_private_network = true
page_size = 2

[[metrics]]
plugin = "engagement_rate_by_followers"
by = ["overall"]
""", encoding="utf-8")

    with registered_plugin(tiktok):
        result = run_workflow_file(workflow, store_url=f"sqlite:///{tmp_path}/s.db")

    assert result.failed_stages == []
    er = result.measurements.filter(metric="engagement_rate_by_followers", period="current")
    # Five videos in the period: likes + comments + shares (TikTok has no saves) =
    # (1200+45+30) + (300+12+4) + (150+8+0) + (90+20) + (500+25+11) = 2395, over the 12,840
    # followers read at the run and filed under yesterday, the period's last day.
    assert er["value"].to_list() == [pytest.approx(2395 / 12840 * 100)]
    assert TOKEN not in " ".join(r.getMessage() for r in caplog.records)
