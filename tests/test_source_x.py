"""The ``x`` source against a loopback server replaying the X API v2's answers, in virtual time."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pydantic
import pytest

from cmflow import Period
from cmflow.builtin.sources import x as x_module
from cmflow.builtin.sources.x import XOptions, XSource
from cmflow.http import AuthExpired, BadResponse, PermissionMissing, RequestRejected
from cmflow.testing import Reply, VirtualTime, load_replies, registered_plugin, replay_server, run_workflow_file  # noqa: F401
from source_helpers import error_texts, fetch_records, log_texts, virtual_client

FIXTURES = Path(__file__).parent / "fixtures" / "sources" / "x"
TOKEN = "AAAAAAAAAAAAAAAAAAAAAx-test-bearer-token-0123456789"
USERS = "/2/users/by"
TWEETS = "/2/users/2244994945/tweets"
MENTIONS = "/2/users/2244994945/mentions"
# The run of Tuesday 2026-11-24 (VirtualTime's clock) for last week, with a day of baseline.
WINDOW = (datetime(2026, 11, 15, tzinfo=timezone.utc), datetime(2026, 11, 23, tzinfo=timezone.utc))
LAST_WEEK = Period(date(2026, 11, 16), date(2026, 11, 22), "UTC")


def replies(name: str) -> list[Reply]:
    return load_replies(FIXTURES / name)


def fetch(server, vtime: VirtualTime | None = None, window=WINDOW, **options):
    """Run the source against the replay server; return its records by kind and its warnings."""
    settings = {"usernames": ["maisonlumiere"], "token": TOKEN, "base_url": server.url, "allow_private_network": True, **options}
    source = XSource(XOptions(**settings), entry_id="x_brand")
    with virtual_client(vtime) as client:
        return fetch_records(source, client, window, [LAST_WEEK])


def script_posts(server, *pages: Reply) -> None:
    server.add("GET", USERS, *replies("users_by.json"))
    server.add("GET", TWEETS, *(pages or replies("tweets_pages.json")))


# -- paging and mapping --------------------------------------------------------------------------
def test_three_pages_of_posts_map_to_canonical_fields(replay_server):
    script_posts(replay_server)

    records, problems = fetch(replay_server, fetch=["posts"])

    assert problems == [] and set(records) == {"post"}
    posts = records["post"]
    assert [p["post_id"] for p in posts] == [f"199100000000000000{n}" for n in (5, 4, 3, 2, 1)]
    video = posts[0]
    assert video == {
        "platform": "x", "account": "maisonlumiere", "post_id": "1991000000000000005",
        "published_at": datetime(2026, 11, 22, 18, 30, tzinfo=timezone.utc), "format": "video",
        "text": "Dans les coulisses de la collection d'hiver 🎬 https://t.co/vid5",
        "url": "https://x.com/maisonlumiere/status/1991000000000000005",
        "likes": 240, "comments": 7, "shares": 12, "saves": 18, "reach": None, "impressions": 15200,
        "clicks": None, "video_views": 4100, "thumbnail_url": None, "pillar": None, "campaign": None, "link": None}
    assert [p["format"] for p in posts] == ["video", "image", "carousel", "link", "text"]
    # The link post's target; its own photos and videos (x.com addresses) are no link.
    assert [p["link"] for p in posts] == [None, None, None, "https://www.maisonlumiere.example/blog/pain-d-epices", None]
    assert [p["shares"] for p in posts] == [12, 4, 2, 5, 1]  # retweet_count only
    long_post = posts[-1]
    assert long_post["text"].startswith("Merci à toutes") and len(long_post["text"]) > 280  # note_tweet
    assert long_post["impressions"] is None and long_post["saves"] == 2  # a key left out stays empty
    assert all(p["reach"] is None for p in posts)  # X reports no reach

    lookup, *pages = replay_server.requests
    assert lookup.params == {"usernames": "maisonlumiere", "user.fields": "public_metrics"}
    assert [r.params.get("pagination_token") for r in pages] == [
        None, "7140dibdnow9c7btw4539n0vybdnx1", "7140dibdnow9c7btw4539n0vybdnx2"]
    first = pages[0].params
    assert (first["start_time"], first["end_time"]) == ("2026-11-15T00:00:00Z", "2026-11-22T23:59:59Z")
    assert first["exclude"] == "retweets,replies" and first["max_results"] == "100"
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in replay_server.requests)


def test_quotes_and_replies_on_request(replay_server):
    script_posts(replay_server)
    records, _ = fetch(replay_server, fetch=["posts"], count_quotes_as_shares=True, include_replies=True)
    assert [p["shares"] for p in records["post"]] == [15, 4, 3, 7, 1]
    assert replay_server.requests[1].params["exclude"] == "retweets"


def test_follower_count_is_a_snapshot_of_the_windows_last_day(replay_server):
    replay_server.add("GET", USERS, *replies("users_by.json"))

    records, problems = fetch(replay_server, fetch=["account_snapshots"])

    assert records == {"account_snapshot": [{
        "platform": "x", "account": "maisonlumiere", "date": date(2026, 11, 22), "followers": 5120,
        "reach": None, "impressions": None, "profile_views": None, "website_clicks": None}]}
    assert problems == [] and len(replay_server.requests) == 1  # the lookup gives the counts


def test_a_two_part_fetch_reads_the_follower_count_once_in_its_latest_part(replay_server):
    """Last week asked in two parts around a cursor of 18-20 November (a run of Tuesday 24
    November): today's count is dated by the latest part only (22 November), never also by the
    first part's last day (17 November, within a week), and the accounts are looked up once."""
    import logging

    from cmflow import FetchContext

    replay_server.add("GET", USERS, *replies("users_by.json"), repeat=True)
    source = XSource(XOptions(usernames=["maisonlumiere"], token=TOKEN, base_url=replay_server.url,
                              allow_private_network=True, fetch=["account_snapshots"]), entry_id="x_brand")
    parts = [(WINDOW[0], datetime(2026, 11, 18, tzinfo=timezone.utc)), (datetime(2026, 11, 20, tzinfo=timezone.utc), WINDOW[1])]
    snapshots, problems = [], []
    with virtual_client() as client:
        for index, (start, end) in enumerate(parts):
            ctx = FetchContext(start, end, [LAST_WEEK], Path("."), logging.getLogger("test.x"), problems,
                               http_client=lambda: client, latest_segment=index == len(parts) - 1)
            snapshots += [row for table in source.fetch(ctx) for row in table.conformed().to_dicts()]
    assert [(row["date"], row["followers"]) for row in snapshots] == [(date(2026, 11, 22), 5120)]
    assert problems == [] and len(replay_server.requests) == 1


def test_no_follower_count_for_a_window_long_past(replay_server):
    replay_server.add("GET", USERS, *replies("users_by.json"))
    last_year = (datetime(2025, 11, 15, tzinfo=timezone.utc), datetime(2025, 11, 23, tzinfo=timezone.utc))

    records, problems = fetch(replay_server, window=last_year, fetch=["account_snapshots"])

    assert records == {"account_snapshot": []}
    assert problems == ["no account snapshot: X gives only the current follower count, which stands for "
                        "no day of a window that ended more than 7 days ago"]


def test_mentions_name_their_author_audience_and_engagement(replay_server):
    """A mention's own public_metrics are its likes, comments and shares (retweets; quotes too with
    count_quotes_as_shares, as for posts): 14, 1 and 2."""
    replay_server.add("GET", USERS, *replies("users_by.json"))
    replay_server.add("GET", MENTIONS, *replies("mentions_page.json"))

    records, _ = fetch(replay_server, fetch=["mentions"])

    assert records["mention"] == [
        {"platform": "x", "mention_id": "1991500000000000002",
         "published_at": datetime(2026, 11, 21, 20, 4, 11, tzinfo=timezone.utc), "author": "julie_bakes",
         "text": "@maisonlumiere la bûche était parfaite, merci !",
         "url": "https://x.com/julie_bakes/status/1991500000000000002", "reach": 1830,
         "likes": 14, "comments": 1, "shares": 2, "language": "fr", "sentiment": None},
        {"platform": "x", "mention_id": "1991500000000000001",
         "published_at": datetime(2026, 11, 17, 6, 30, tzinfo=timezone.utc), "author": "marc_lyon",
         "text": "@maisonlumiere 👏👏", "url": "https://x.com/marc_lyon/status/1991500000000000001",
         "reach": 97, "likes": 0, "comments": 0, "shares": 0, "language": None, "sentiment": None}]
    assert replay_server.requests[1].params["expansions"] == "author_id"
    assert "public_metrics" in replay_server.requests[1].params["tweet.fields"].split(",")


def test_produces_what_the_options_ask_for():
    source = XSource(XOptions(usernames=["@maisonlumiere"], token=TOKEN, fetch=["posts", "mentions"]),
                     entry_id="x")
    assert source.produces() == {"post", "mention"}
    assert source.options.usernames == ["maisonlumiere"]
    assert XSource(XOptions(usernames=["a"], token=TOKEN), entry_id="x").produces() == {"post", "account_snapshot"}


def test_empty_account_gives_no_records_and_no_error(replay_server):
    script_posts(replay_server, *replies("tweets_empty.json"))
    records, problems = fetch(replay_server, fetch=["posts"])
    assert records == {"post": []} and problems == []


# -- waits -------------------------------------------------------------------------------------
def test_429_waits_the_retry_after_in_virtual_time(replay_server):
    throttled = replies("error_429.json")[0]
    throttled.headers = {"Retry-After": "30"}  # an edge's 429: no window headers to wait for
    replay_server.add("GET", USERS, throttled, *replies("users_by.json"))
    replay_server.add("GET", TWEETS, *replies("tweets_empty.json"))
    vtime = VirtualTime()

    records, _ = fetch(replay_server, vtime, fetch=["posts"])

    assert records == {"post": []}
    assert vtime.sleeps == [30]
    assert [r.path for r in replay_server.requests] == [USERS, USERS, TWEETS]


def test_429_without_retry_after_waits_for_the_window_reset(replay_server):
    throttled = replies("error_429.json")[0]
    throttled.headers["x-rate-limit-reset"] = "1795510860"  # 09:01:00, a minute after the clock
    replay_server.add("GET", USERS, throttled, *replies("users_by.json"))
    vtime = VirtualTime()
    replay_server.clock = vtime.clock  # its Date headers: the time the resets are given against
    fetch(replay_server, vtime, fetch=["account_snapshots"])
    assert vtime.sleeps == [60]


def test_500_then_success_backs_off(replay_server):
    script_posts(replay_server, Reply(500, json={"title": "Internal Server Error", "type": "about:blank",
                                                 "status": 500, "detail": "Internal Server Error"}),
                 *replies("tweets_empty.json"))
    vtime = VirtualTime()
    records, _ = fetch(replay_server, vtime, fetch=["posts"])
    assert records == {"post": []}
    [wait] = vtime.sleeps
    assert 1 <= wait <= 2  # 1 s of backoff plus up to 1 s of jitter
    assert len(replay_server.requests) == 3


def test_five_percent_of_the_rate_window_left_spreads_the_requests(replay_server):
    """95 % of the 15-minute window used: the rest is spread evenly until the reset."""
    pages = replies("tweets_pages.json")
    for page, remaining in zip(pages, (45, 44, 43)):
        page.headers.update({"x-rate-limit-limit": "900", "x-rate-limit-remaining": str(remaining),
                             "x-rate-limit-reset": "1795511700"})  # 09:15:00
    users = replies("users_by.json")[0]
    users.headers.clear()
    script_posts(replay_server, *pages)
    vtime = VirtualTime()
    replay_server.clock = vtime.clock  # its Date headers: the time the resets are given against

    records, _ = fetch(replay_server, vtime, fetch=["posts"])

    assert len(records["post"]) == 5
    assert vtime.sleeps == [20.0, 20.0]  # 900 s / 45 requests left, then 880 s / 44


# -- errors a person can act on ------------------------------------------------------------------
def test_expired_token_names_the_source_the_code_and_how_to_renew(replay_server):
    replay_server.add("GET", USERS, *replies("error_401.json"), repeat=True)
    vtime = VirtualTime()
    with pytest.raises(AuthExpired) as caught:
        fetch(replay_server, vtime)
    message = str(caught.value)
    assert message.startswith("source 'x_brand' (X): the access token was refused (HTTP 401: Unauthorized)")
    assert "refresh the OAuth 2.0 user token" in message and "regenerate the app's Bearer token" in message
    assert caught.value.status == 401
    assert len(replay_server.requests) == 1 and vtime.sleeps == []  # never retried


def test_missing_permission_names_the_scopes(replay_server):
    replay_server.add("GET", USERS, *replies("users_by.json"))
    replay_server.add("GET", TWEETS, *replies("error_403_client_forbidden.json"))
    with pytest.raises(PermissionMissing) as caught:
        fetch(replay_server, fetch=["posts"])
    message = str(caught.value)
    assert "source 'x_brand' (X)" in message and "must use keys and tokens from a Twitter developer App" in message
    assert "This source needs the token to carry: tweet.read, users.read" in message


def test_malformed_json_shows_the_first_bytes_without_the_token(replay_server):
    body = f'{{"data":[{{"id":"1991000000000000005","text":"cut here; echo: Authorization: Bearer {TOKEN}'
    script_posts(replay_server, Reply(200, body=body, headers={"Content-Type": "application/json"}))
    with pytest.raises(BadResponse) as caught:
        fetch(replay_server, fetch=["posts"])
    message = str(caught.value)
    assert message.startswith("source 'x_brand' (X): GET ")
    assert "is not JSON" in message and '{"data":[{"id":"1991000000000000005"' in message
    assert TOKEN not in message and "Bearer ***" in message


def test_unknown_username_is_named(replay_server):
    replay_server.add("GET", USERS, *replies("users_by_not_found.json"))
    with pytest.raises(RequestRejected, match="X has no account named 'nobody_here'.*Check the usernames option"):
        fetch(replay_server, usernames=["maisonlumiere", "nobody_here"])


def test_errors_instead_of_data_are_a_clear_error_not_an_empty_account(replay_server):
    script_posts(replay_server, *replies("tweets_not_authorized.json"))
    with pytest.raises(RequestRejected) as caught:
        fetch(replay_server, fetch=["posts"])
    assert "not authorized to see the user with id: [2244994945]" in str(caught.value)
    assert caught.value.code == "not-authorized-for-resource"


def test_partial_data_is_refused(replay_server):
    page = replies("tweets_pages.json")[2]
    page.json["errors"] = [{"title": "Not Found Error", "detail": "Could not find media with id: [3_1].",
                            "type": "https://api.twitter.com/2/problems/resource-not-found"}]
    script_posts(replay_server, page)
    with pytest.raises(BadResponse, match="answered only part of the data, with errors: Could not find media"):
        fetch(replay_server, fetch=["posts"])


def test_the_token_never_reaches_errors_or_logs(replay_server, caplog):
    caplog.set_level(logging.DEBUG)
    replay_server.add("GET", USERS, Reply(503, body=f"upstream said Bearer {TOKEN}"),
                      *replies("error_401.json"))
    with pytest.raises(AuthExpired) as caught:
        fetch(replay_server)
    texts = error_texts(caught.value) + log_texts(caplog)
    assert any("retry 1 of 5" in text for text in texts)  # the retry was logged ...
    assert [t for t in texts if TOKEN in t] == []  # ... without the token


# -- validation ----------------------------------------------------------------------------------
@pytest.mark.parametrize("options, message", [
    ({"usernames": ["maison lumiere"]}, "is not an X username"),
    ({"usernames": []}, "usernames is empty: list the accounts to read"),
    ({"usernames": ["a"], "fetch": ["conversations"]}, "'posts', 'account_snapshots', 'mentions' or 'search'"),
    ({"usernames": ["a"], "search": ["Maison Lumière"]}, "fetch has no search"),
    ({"usernames": ["a"], "page_size": 500}, "less than or equal to 100"),
])
def test_options_are_validated(options, message):
    with pytest.raises(pydantic.ValidationError, match=message):
        XOptions(token=TOKEN, **options)


# -- end to end ----------------------------------------------------------------------------------
def test_workflow_computes_engagement_by_impressions_from_x(replay_server, tmp_path, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("X_BEARER_TOKEN", TOKEN)
    script_posts(replay_server)
    workflow = tmp_path / "x.toml"
    workflow.write_text(f"""
[workflow]
name = "X weekly"
timezone = "UTC"
period = "last_week"
as_of = "2026-11-24"

[[sources]]
id = "x_brand"
plugin = "x"
usernames = ["maisonlumiere"]
token = "${{env:X_BEARER_TOKEN}}"
fetch = ["posts"]
base_url = "{replay_server.url}"
allow_private_network = true

[[metrics]]
plugin = "engagement_rate_by_impressions"
by = ["overall"]
""", encoding="utf-8")

    with registered_plugin(x_module):
        result = run_workflow_file(workflow, store_url=f"sqlite:///{tmp_path}/s.db")

    assert result.status == "ok", [s.error for s in result.failed_stages]
    [row] = result.current("engagement_rate_by_impressions").to_dicts()
    # (likes + comments + shares) / impressions of the four posts with impressions; the fifth
    # has none and is left out of both sides.
    expected = (240 + 7 + 12 + 95 + 2 + 4 + 60 + 1 + 2 + 41 + 3 + 5) / (15200 + 5400 + 3100 + 2800) * 100
    assert row["value"] == pytest.approx(expected)
    assert replay_server.requests[1].params["start_time"] == "2026-11-08T00:00:00Z"  # the run's window
    assert [r.getMessage() for r in caplog.records if TOKEN in r.getMessage()] == []


def test_a_token_written_in_the_workflow_file_is_refused(tmp_path):
    from cmflow.foundation.errors import WorkflowInvalid
    from cmflow.workflow import load_workflow

    workflow = tmp_path / "x.toml"
    workflow.write_text(f"""
[workflow]
name = "X weekly"
period = "last_week"

[[sources]]
plugin = "x"
usernames = ["maisonlumiere"]
token = "{TOKEN}"

[[metrics]]
plugin = "engagement_rate_by_impressions"
""", encoding="utf-8")
    with registered_plugin(x_module), pytest.raises(WorkflowInvalid) as caught:
        load_workflow(workflow)
    assert "secrets may not be written in the workflow file" in str(caught.value)
    assert TOKEN not in str(caught.value)


# -- recent search -------------------------------------------------------------------------------
SEARCH = "/2/tweets/search/recent"


def test_the_search_finds_the_posts_of_the_last_7_days_as_mentions(replay_server):
    """Run at Monday 23 November 09:00 for 15-22 November: X's recent search takes a start_time
    within 7 days only, so it is asked from 16 November 09:05 (5 minutes inside), reposts left
    out by the query, the second page with next_token; no account is looked up."""
    replay_server.add("GET", SEARCH, *replies("search_recent_pages.json"))
    vtime = VirtualTime(datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc))

    records, _ = fetch(replay_server, vtime, usernames=[], fetch=["search"], search=["\"Maison Lumière\""])

    first, second = replay_server.requests
    assert first.path == second.path == SEARCH
    assert {k: first.params[k] for k in ("query", "start_time", "end_time", "max_results", "expansions")} == {
        "query": "\"Maison Lumière\" -is:retweet", "start_time": "2026-11-16T09:05:00Z",
        "end_time": "2026-11-22T23:59:59Z", "max_results": "100", "expansions": "author_id"}
    assert second.params["next_token"] == "b26v89c19zqg8o3fpzbkk7zd1pnvdvfs7idzs6ow5ytp"
    mentions = records["mention"]
    assert [(m["author"], m["reach"], m["likes"], m["language"]) for m in mentions] == [
        ("julie_bakes", 1830, 21, "fr"), ("lyongourmand", 12400, 80, "fr"), ("sam_l", 64, 2, "fr"),
        ("sam_l", 64, 5, "en"), ("lyongourmand", 12400, 33, "fr"), ("julie_bakes", 1830, 7, "fr")]
    assert mentions[0]["url"] == "https://x.com/julie_bakes/status/1992000000000000006"


def test_the_search_is_a_part_of_its_own_that_reaches_back_7_days():
    source = XSource(XOptions(token=TOKEN, usernames=["a", "b"], fetch=["posts", "search"], search=["lumière"]),
                     entry_id="x")
    parts = source.parts()
    assert [(p.options.usernames, p.options.fetch, p.options.search, p.reaches_back()) for p in parts] == [
        (["a"], ["posts"], [], None), (["b"], ["posts"], [], None),
        ([], ["search"], ["lumière"], timedelta(days=7) - timedelta(minutes=5))]  # what X is asked
    assert source.produces() == {"post", "mention"}


SEARCH_WORKFLOW = """
[workflow]
name = "X watch"
timezone = "UTC"
period = "last_week"
compare = []

[[sources]]
id = "x_search"
plugin = "x"
fetch = ["search"]
search = ["\\"Maison Lumière\\""]
token = "${{env:X_BEARER_TOKEN}}"
base_url = "{url}"
allow_private_network = true

[[metrics]]
plugin = "mentions"
by = ["overall"]
"""


def test_a_week_the_search_no_longer_covers_comes_from_the_store(replay_server, tmp_path, monkeypatch):
    """Run 1 (Monday 23 November, 09:00) finds the week's 6 posts from 16 November 09:05 on; the
    hours before are older than X searches, and said so (16 November: the 15th is the margin
    before the period). A week later, the same week again: X
    would refuse the start_time (error_400_start_time.json), so it is not asked; the store's 6
    are the figure, by hand 6, and the gap is said again."""
    from cmflow.builtin.metrics import conversation_counts
    from cmflow.stages.incremental import source_key
    from cmflow.store import open_store
    from cmflow.workflow import load_workflow

    monkeypatch.setenv("X_BEARER_TOKEN", TOKEN)
    replay_server.add("GET", SEARCH, *replies("search_recent_pages.json"), *replies("error_400_start_time.json"),
                      repeat=True)
    path = tmp_path / "watch.toml"
    path.write_text(SEARCH_WORKFLOW.format(url=replay_server.url), encoding="utf-8")
    store = f"sqlite:///{tmp_path}/state.db"
    gap = ("watch.toml: sources[0] (x_search): 2026-11-16 is older than the platform returns (6 days "
           "23 h 55 min back) and no earlier run fetched it: its records of those days are missing from the figures; "
           "run the workflow at least every 6 days 23 h 55 min so that the store keeps them")

    def mentions(now, period=None):
        with registered_plugin(x_module, package=x_module.__name__), \
                registered_plugin(conversation_counts, package=conversation_counts.__name__):
            result = run_workflow_file(path, store_url=store, now=now, period=period)
        assert not result.failed_stages, [s.error for s in result.failed_stages]
        [value] = [m["value"] for m in result.measurements.to_dicts() if m["metric"] == "mentions"]
        return value, result

    count, first = mentions(datetime(2026, 11, 23, 9, tzinfo=timezone.utc))
    assert (count, first.status, first.warnings) == (6, "warning", [gap])
    assert len(replay_server.requests) == 2
    asked = replay_server.requests[0].params
    assert (asked["start_time"], asked["end_time"]) == ("2026-11-16T09:05:00Z", "2026-11-23T08:59:49Z")  # to the second, inclusive
    with open_store(store) as opened:  # the cursor ends where X was asked to: the next run asks for the 10 s
        workflow = load_workflow(path)
        cursor = opened.source_cursor(source_key(workflow, workflow.sources[0]))
    assert (cursor.covered_from, cursor.covered_until) == (datetime(2026, 11, 16, 9, 5, tzinfo=timezone.utc),
                                                           datetime(2026, 11, 23, 8, 59, 50, tzinfo=timezone.utc))
    count, again = mentions(datetime(2026, 11, 30, 9, tzinfo=timezone.utc), "2026-11-16..2026-11-22")
    assert (count, again.status, again.warnings) == (6, "warning", [gap])
    assert len(replay_server.requests) == 2  # not asked: all of it is older than 7 days
    assert [s.note for s in again.stages if s.kind == "source"] == ["every record from the store (already fetched)"]


def test_a_week_fetched_before_the_cursor_moved_on_is_no_gap(replay_server, tmp_path, monkeypatch):
    """Run 1 (Monday 23 November) fetches the week of 16-22 November from 16 November 09:05 on.
    Run 2, two weeks later, fetches the week of 30 November (X answers none): the cursor, one
    span, moves there. The week of 16-22 November again: nothing can be asked, all comes from the
    store, and the warning names only the 16th (its hours before 09:05 no run fetched), not the
    days run 1 fetched (it named the whole week when it read the cursor alone)."""
    from cmflow.builtin.metrics import conversation_counts
    from cmflow.testing import Reply

    monkeypatch.setenv("X_BEARER_TOKEN", TOKEN)
    replay_server.add("GET", SEARCH, *replies("search_recent_pages.json"), Reply(json={"meta": {"result_count": 0}}))
    path = tmp_path / "watch.toml"
    path.write_text(SEARCH_WORKFLOW.format(url=replay_server.url), encoding="utf-8")

    def run(now, period=None):
        with registered_plugin(x_module, package=x_module.__name__), \
                registered_plugin(conversation_counts, package=conversation_counts.__name__):
            result = run_workflow_file(path, store_url=f"sqlite:///{tmp_path}/state.db", now=now, period=period)
        assert not result.failed_stages, [s.error for s in result.failed_stages]
        [value] = [m["value"] for m in result.measurements.to_dicts() if m["metric"] == "mentions"]
        return value, [w.split(" is older")[0] for w in result.warnings]

    assert run(datetime(2026, 11, 23, 9, tzinfo=timezone.utc)) == (6, ["watch.toml: sources[0] (x_search): 2026-11-16"])
    assert run(datetime(2026, 12, 7, 9, tzinfo=timezone.utc)) == (0, ["watch.toml: sources[0] (x_search): 2026-11-30"])
    assert len(replay_server.requests) == 3
    assert run(datetime(2026, 12, 7, 9, tzinfo=timezone.utc), "2026-11-16..2026-11-22") == (
        6, ["watch.toml: sources[0] (x_search): 2026-11-16"])
    assert len(replay_server.requests) == 3  # not asked: all of it is older than 7 days


def test_a_search_without_terms_searches_the_listen_terms(tmp_path, monkeypatch):
    from cmflow.workflow import load_workflow

    monkeypatch.setenv("X_BEARER_TOKEN", TOKEN)
    text = SEARCH_WORKFLOW.format(url="https://api.x.com").replace('search = ["\\"Maison Lumière\\""]\n', "")
    text = text.replace("[[sources]]", '[listen.brand]\nid = "lumiere"\nname = "Maison Lumière"\n'
                                       'terms = ["#MaisonLumiere"]\n\n[[sources]]', 1)
    (tmp_path / "watch.toml").write_text(text, encoding="utf-8")
    with registered_plugin(x_module, package=x_module.__name__):
        workflow = load_workflow(tmp_path / "watch.toml")
    assert workflow.sources[0].plugin.options.search == ["\"Maison Lumière\"", "#MaisonLumiere"]


def test_doctor_asks_nothing_of_a_search_alone(replay_server):
    from cmflow.plugins.context import FetchContext, SharedHttpClient

    source = XSource(XOptions(token=TOKEN, fetch=["search"], search=["lumière"], base_url=replay_server.url,
                              allow_private_network=True), entry_id="x_search")
    http = SharedHttpClient()
    try:
        [row] = source.check_credentials(FetchContext(*WINDOW, [LAST_WEEK], Path("."), logging.getLogger("t"), [], http))
    finally:
        http.close()
    assert (row.status, row.checked) == ("ok", False) and "X bills" in row.message
    assert replay_server.requests == []
