"""The ``mastodon`` source against a loopback server replaying a Mastodon instance, in virtual time."""

from __future__ import annotations

import json
import logging
from datetime import date, datetime, timezone
from pathlib import Path

import pydantic
import pytest

from cmflow import Period
from cmflow.builtin.sources import mastodon as mastodon_module
from cmflow.builtin.sources.mastodon import MastodonOptions, MastodonSource
from cmflow.http import AuthExpired, BadResponse, PermissionMissing, RequestRejected
from cmflow.testing import Reply, VirtualTime, load_replies, registered_plugin, replay_server, run_workflow_file  # noqa: F401
from source_helpers import error_texts, fetch_records, log_texts, virtual_client

FIXTURES = Path(__file__).parent / "fixtures" / "sources" / "mastodon"
TOKEN = "ZA-Yj3aBD8U8Cm7lKUp-lm9O9BmDgdhHzDeqsY8tlL0"
LOOKUP = "/api/v1/accounts/lookup"
STATUSES = "/api/v1/accounts/109876543210987654/statuses"
NOTIFICATIONS = "/api/v1/notifications"
WINDOW = (datetime(2026, 11, 15, tzinfo=timezone.utc), datetime(2026, 11, 23, tzinfo=timezone.utc))
LAST_WEEK = Period(date(2026, 11, 16), date(2026, 11, 22), "UTC")


def replies(name: str, server) -> list[Reply]:
    """A fixture's replies, recorded mastodon.social URLs (Link headers) moved to the server."""
    return load_replies(FIXTURES / name, rebase={"https://mastodon.social/api": f"{server.url}/api"})


def fetch(server, vtime: VirtualTime | None = None, window=WINDOW, **options):
    settings = {"accounts": ["maisonlumiere"], "token": TOKEN, "base_url": server.url, "allow_private_network": True, **options}
    source = MastodonSource(MastodonOptions(**settings), entry_id="masto")
    with virtual_client(vtime) as client:
        return fetch_records(source, client, window, [LAST_WEEK])


def script_posts(server, *pages: Reply) -> None:
    server.add("GET", LOOKUP, *replies("account_lookup.json", server))
    server.add("GET", STATUSES, *(pages or replies("statuses_pages.json", server)))


def weekly_workflow(tmp_path: Path, server, counters: list[str], extra: str = "",
                    accounts: tuple[str, ...] = ("maisonlumiere",)) -> Path:
    """Last week's totals of @maisonlumiere's posts, as of 2026-11-24, from the replay server."""
    workflow = tmp_path / "mastodon.toml"
    workflow.write_text(f"""
[workflow]
name = "Mastodon weekly"
timezone = "UTC"
period = "last_week"
as_of = "2026-11-24"

[[sources]]
id = "masto"
plugin = "mastodon"
base_url = "{server.url}"
allow_private_network = true
accounts = {json.dumps(list(accounts))}
token = "${{env:MASTODON_TOKEN}}"
fetch = ["posts"]
page_size = 2
{extra}

[[metrics]]
plugin = "totals"
counters = {json.dumps(counters)}
by = ["account"]
""", encoding="utf-8")
    return workflow


# -- paging and mapping --------------------------------------------------------------------------
def test_link_header_pages_until_the_window_start(replay_server):
    script_posts(replay_server)

    records, problems = fetch(replay_server, fetch=["posts"], page_size=2)

    assert problems == []
    posts = records["post"]
    # The fifth status (2026-11-14) is before the window, and ends the paging: the third
    # page's next link is not followed.
    assert [p["post_id"] for p in posts] == [f"1156000000000000{n}0" for n in (6, 5, 4, 3, 2)]
    assert [r.params.get("max_id") for r in replay_server.requests[1:]] == [
        None, "115600000000000050", "115600000000000030"]
    first = replay_server.requests[1].params
    assert first == {"limit": "2", "exclude_reblogs": "true", "exclude_replies": "true"}
    assert replay_server.requests[0].params == {"acct": "maisonlumiere"}
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in replay_server.requests)


def test_statuses_map_to_canonical_posts(replay_server):
    script_posts(replay_server)

    posts = fetch(replay_server, fetch=["posts"])[0]["post"]

    assert posts[0] == {
        "platform": "mastodon", "account": "@maisonlumiere@mastodon.social", "post_id": "115600000000000060",
        "published_at": datetime(2026, 11, 22, 17, 0, tzinfo=timezone.utc), "format": "image",
        "text": "La bûche est de retour 🎄 & elle n'attend que vous",
        "url": "https://mastodon.social/@maisonlumiere/115600000000000060",
        "likes": 31, "comments": 4, "shares": 9, "saves": None, "reach": None, "impressions": None,
        "clicks": None, "video_views": None, "thumbnail_url": None, "pillar": None, "campaign": None, "link": None}
    assert [p["format"] for p in posts] == ["image", "video", "carousel", "link", "text"]
    assert [p["link"] for p in posts] == [None, None, None, "https://www.maisonlumiere.example/blog/pain-d-epices", None]
    assert posts[1]["text"] == "Le fournil à 5 h du matin.\nSon allumé 🔊"
    assert posts[3]["text"] == ("Notre recette de pain d'épices : "
                                "https://www.maisonlumiere.example/blog/pain-d-epices")
    assert [p["shares"] for p in posts] == [9, 3, 5, 2, 0]  # boosts only


def test_quotes_count_as_shares_and_replies_on_request(replay_server):
    script_posts(replay_server)
    posts = fetch(replay_server, fetch=["posts"], count_quotes_as_shares=True, include_replies=True)[0]["post"]
    assert [p["shares"] for p in posts] == [10, 3, 5, 4, 0]
    assert "exclude_replies" not in replay_server.requests[1].params


def test_follower_count_is_a_snapshot_of_the_windows_last_day(replay_server):
    replay_server.add("GET", LOOKUP, *replies("account_lookup.json", replay_server))
    records, problems = fetch(replay_server, fetch=["account_snapshots"])
    assert records["account_snapshot"] == [{
        "platform": "mastodon", "account": "@maisonlumiere@mastodon.social", "date": date(2026, 11, 22),
        "followers": 2480, "reach": None, "impressions": None, "profile_views": None, "website_clicks": None}]
    assert problems == [] and len(replay_server.requests) == 1


def test_mentions_are_public_mentions_from_the_notifications(replay_server):
    replay_server.add("GET", NOTIFICATIONS, *replies("notifications_mentions.json", replay_server))

    records, _ = fetch(replay_server, fetch=["mentions"])

    assert records == {"mention": [
        {"platform": "mastodon", "mention_id": "115600000000000904",
         "published_at": datetime(2026, 11, 21, 19, 0, tzinfo=timezone.utc), "author": "@julie@piaille.fr",
         "text": "@maisonlumiere la bûche était parfaite !", "url": "https://piaille.fr/@julie/115600000000000904",
         "reach": 1830, "likes": 1, "comments": 0, "shares": 0, "language": "fr", "sentiment": None},
        {"platform": "mastodon", "mention_id": "115600000000000903",
         "published_at": datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc), "author": "@marc@mastodon.social",
         "text": "@maisonlumiere ouvert dimanche ?", "url": "https://mastodon.social/@marc/115600000000000903",
         "reach": 97, "likes": 1, "comments": 0, "shares": 0, "language": "en", "sentiment": None}]}  # the direct message and the older mention are left out
    [request] = replay_server.requests  # the page reached back past the window: no next page
    assert request.query == {"types[]": ["mention"], "limit": ["80"]}


def test_produces_what_the_options_ask_for():
    source = MastodonSource(MastodonOptions(base_url="https://mastodon.social", accounts=["@maisonlumiere"],
                                            token=TOKEN, fetch=["mentions"]), entry_id="m")
    assert source.produces() == {"mention"} and source.options.accounts == ["maisonlumiere"]


def test_empty_account_gives_no_records_and_no_error(replay_server):
    script_posts(replay_server, *replies("statuses_empty.json", replay_server))
    records, problems = fetch(replay_server, fetch=["posts"])
    assert records == {"post": []} and problems == []


# -- waits -------------------------------------------------------------------------------------
def test_429_waits_the_retry_after_in_virtual_time(replay_server):
    replay_server.add("GET", LOOKUP, Reply(429, json={"error": "Too many requests"}, headers={"Retry-After": "30"}),
                      *replies("account_lookup.json", replay_server))
    vtime = VirtualTime()
    records, _ = fetch(replay_server, vtime, fetch=["account_snapshots"])
    assert records["account_snapshot"][0]["followers"] == 2480
    assert vtime.sleeps == [30]


def test_429_of_mastodon_waits_for_the_reset_it_names(replay_server):
    replay_server.add("GET", LOOKUP, *replies("error_429.json", replay_server),
                      *replies("account_lookup.json", replay_server))
    vtime = VirtualTime()
    replay_server.clock = vtime.clock  # its Date headers: the time the resets are given against
    fetch(replay_server, vtime, fetch=["account_snapshots"])
    assert vtime.sleeps == [60]  # X-RateLimit-Reset 09:01:00, asked at 09:00:00


def test_500_then_success_backs_off(replay_server):
    replay_server.add("GET", LOOKUP, Reply(500, body="<html><body>We're sorry, but something went wrong.</body></html>",
                                           headers={"Content-Type": "text/html"}),
                      *replies("account_lookup.json", replay_server))
    vtime = VirtualTime()
    fetch(replay_server, vtime, fetch=["account_snapshots"])
    [wait] = vtime.sleeps
    assert 1 <= wait <= 2


def test_five_percent_of_the_rate_limit_left_spreads_the_requests(replay_server):
    pages = replies("statuses_pages.json", replay_server)
    for page, remaining in zip(pages, (15, 14, 13)):  # of 300, reset at 09:05:00
        page.headers.update({"X-RateLimit-Remaining": str(remaining), "X-RateLimit-Reset": "2026-11-24T09:05:00Z"})
    script_posts(replay_server, *pages)
    vtime = VirtualTime()
    replay_server.clock = vtime.clock  # its Date headers: the time the resets are given against

    posts = fetch(replay_server, vtime, fetch=["posts"])[0]["post"]

    assert len(posts) == 5
    assert vtime.sleeps == [20.0, 20.0]  # 300 s / 15 requests left, then 280 s / 14


# -- errors a person can act on ------------------------------------------------------------------
def test_invalid_token_names_the_source_and_how_to_renew(replay_server):
    replay_server.add("GET", LOOKUP, *replies("error_401.json", replay_server), repeat=True)
    vtime = VirtualTime()
    with pytest.raises(AuthExpired) as caught:
        fetch(replay_server, vtime)
    message = str(caught.value)
    assert message.startswith("source 'masto' (Mastodon): the access token was refused "
                              "(HTTP 401: The access token is invalid)")
    assert "Preferences > Development" in message
    assert len(replay_server.requests) == 1 and vtime.sleeps == []


def test_missing_scope_is_named(replay_server):
    replay_server.add("GET", NOTIFICATIONS, *replies("error_403_scope.json", replay_server))
    with pytest.raises(PermissionMissing) as caught:
        fetch(replay_server, fetch=["mentions"])
    message = str(caught.value)
    assert "source 'masto' (Mastodon): a permission is missing (HTTP 403: This action is outside" in message
    assert "read:statuses, read:notifications" in message


def test_unknown_account_is_named(replay_server):
    replay_server.add("GET", LOOKUP, *replies("error_404.json", replay_server))
    with pytest.raises(RequestRejected, match=r"has no account named 'nobody'.*Check the accounts option"):
        fetch(replay_server, accounts=["nobody"])


def test_malformed_json_shows_the_first_bytes_without_the_token(replay_server):
    body = f'[{{"id":"115600000000000060","content":"<p>cut; debug: access_token={TOKEN}'
    script_posts(replay_server, Reply(200, body=body, headers={"Content-Type": "application/json"}))
    with pytest.raises(BadResponse) as caught:
        fetch(replay_server, fetch=["posts"])
    message = str(caught.value)
    assert message.startswith("source 'masto' (Mastodon): GET ") and "is not JSON" in message
    assert '[{"id":"115600000000000060"' in message
    assert TOKEN not in message and "access_token=***" in message


def test_an_error_object_instead_of_statuses_is_refused(replay_server):
    script_posts(replay_server, Reply(200, json={"error": "This method requires an authenticated user"}))
    with pytest.raises(BadResponse, match="answered something other than a list of objects with ids"):
        fetch(replay_server, fetch=["posts"])


def test_the_token_never_reaches_errors_or_logs(replay_server, caplog):
    caplog.set_level(logging.DEBUG)
    replay_server.add("GET", LOOKUP, Reply(502, body=f"bad gateway for Bearer {TOKEN}"),
                      *replies("error_401.json", replay_server))
    with pytest.raises(AuthExpired) as caught:
        fetch(replay_server)
    texts = error_texts(caught.value) + log_texts(caplog)
    assert any("retry 1 of 5" in text for text in texts)
    assert [t for t in texts if TOKEN in t] == []


@pytest.mark.parametrize("options, message", [
    ({"accounts": []}, "at least 1 item"),
    ({"accounts": ["maison lumiere"]}, "is not a Mastodon account name"),
    ({"accounts": ["a"], "page_size": 80}, "less than or equal to 40"),
    ({"accounts": ["a"], "fetch": ["conversations"]}, "'posts', 'account_snapshots', 'mentions' or 'hashtags'"),
])
def test_options_are_validated(options, message):
    with pytest.raises(pydantic.ValidationError, match=message):
        MastodonOptions(base_url="https://mastodon.social", token=TOKEN, **options)


# -- end to end ----------------------------------------------------------------------------------
def test_workflow_totals_the_interactions_of_mastodon_posts(replay_server, tmp_path, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("MASTODON_TOKEN", TOKEN)
    # The run's window starts on 2026-11-08 (the week before, for comparison, and a day): the
    # third page's next link is followed, to an empty page.
    script_posts(replay_server, *replies("statuses_pages.json", replay_server),
                 *replies("statuses_empty.json", replay_server))
    workflow = weekly_workflow(tmp_path, replay_server, counters=["likes", "shares"])

    with registered_plugin(mastodon_module):
        result = run_workflow_file(workflow, store_url=f"sqlite:///{tmp_path}/s.db")

    assert result.status == "ok", [s.error for s in result.failed_stages]
    likes = result.current("total_likes").to_dicts()
    # The five statuses of 2026-11-16..22: 31 + 12 + 20 + 8 + 5 favourites, 9 + 3 + 5 + 2 + 0 boosts.
    assert [(r["account"], r["value"]) for r in likes] == [("@maisonlumiere@mastodon.social", 76)]
    assert result.current("total_shares").to_dicts()[0]["value"] == 19
    assert [r.getMessage() for r in caplog.records if TOKEN in r.getMessage()] == []


def test_a_second_run_asks_the_instance_nothing_it_already_has(replay_server, tmp_path, monkeypatch):
    """Incremental fetching with a real platform source: run 1 pages through the window; run 2,
    the next day with a one-day look-back, needs nothing new and asks the instance nothing,
    yet reports the same figures, from the store."""
    monkeypatch.setenv("MASTODON_TOKEN", TOKEN)
    script_posts(replay_server, *replies("statuses_pages.json", replay_server),
                 *replies("statuses_empty.json", replay_server))
    workflow = weekly_workflow(tmp_path, replay_server, counters=["likes"], extra='look_back = "1d"')
    store = f"sqlite:///{tmp_path}/s.db"
    with registered_plugin(mastodon_module):
        first = run_workflow_file(workflow, store_url=store, now=datetime(2026, 11, 24, 9, tzinfo=timezone.utc))
        asked = len(replay_server.requests)
        second = run_workflow_file(workflow, store_url=store, now=datetime(2026, 11, 25, 9, tzinfo=timezone.utc))
    assert asked == 5 and len(replay_server.requests) == asked  # lookup + 4 pages, then nothing
    assert first.status == second.status == "ok"
    assert second.current("total_likes").to_dicts()[0]["value"] == first.current("total_likes").to_dicts()[0]["value"] == 76
    [stage] = [s for s in second.stages if s.kind == "source"]
    assert stage.note == "every record from the store (already fetched)"


def test_one_unknown_account_leaves_the_others_records_and_fails_the_source_saying_which(
        replay_server, tmp_path, monkeypatch):
    """Two accounts in one source: "ghost" is unknown to the instance. The run still counts
    maisonlumiere's posts; the source is failed (the figures are incomplete), naming the account."""
    monkeypatch.setenv("MASTODON_TOKEN", TOKEN)
    replay_server.add("GET", LOOKUP, *replies("account_lookup.json", replay_server), query={"acct": "maisonlumiere"})
    replay_server.add("GET", LOOKUP, *replies("error_404.json", replay_server), query={"acct": "ghost"})
    replay_server.add("GET", STATUSES, *replies("statuses_pages.json", replay_server),
                      *replies("statuses_empty.json", replay_server))
    workflow = weekly_workflow(tmp_path, replay_server, counters=["likes"], accounts=("maisonlumiere", "ghost"))
    with registered_plugin(mastodon_module):
        result = run_workflow_file(workflow, store_url=f"sqlite:///{tmp_path}/s.db")
    assert result.status == "failed"
    [source] = result.failed_sources
    assert source.error.startswith("ghost: ") and "has no account named 'ghost'" in source.error
    assert source.error.endswith("(1 of 2 accounts)")
    likes = result.current("total_likes").to_dicts()
    assert [(r["account"], r["value"]) for r in likes] == [("@maisonlumiere@mastodon.social", 76)]
