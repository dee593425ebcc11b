"""Incremental fetching: what a run asks an API source for, what it reads from the store, and
when the cursor moves (only after the outputs were delivered).

The source is a third-party-style plugin over an in-memory "platform" whose posts' likes keep
growing and which, like X or Mastodon, only gives today's follower count; the store is a real
SQLite file and, in turn, a real PostgreSQL database (``any_store_url``).
``test_a_real_platform_source_...`` does the same with the Mastodon source against
the loopback replay server.
"""

from __future__ import annotations

import types
from pathlib import Path
from datetime import datetime, timedelta, timezone

import polars as pl
import pytest

from cmflow import PluginOptions, RecordTable, Source, hookimpl
from cmflow.presentation.language import language
from cmflow.stages.incremental import source_key
from cmflow.store import open_store
from cmflow.testing import registered_plugin, replay_server, run_workflow_file  # noqa: F401 (a fixture)
from cmflow.workflow import load_workflow

UTC = timezone.utc


class Platform:
    """The platform's state: posts with their likes now, and the follower count now."""

    def __init__(self) -> None:
        self.posts: dict[str, tuple[datetime, int]] = {}
        self.followers = 1000
        self.asked: list[tuple[datetime, datetime]] = []
        self.today = datetime(2026, 11, 23, tzinfo=UTC).date()
        self.handle: str | None = None
        """The account's name on the platform now, if it was renamed."""
        self.comments: dict[str, datetime] = {}
        """Unanswered comments by id, with when they came."""
        self.warning: str | None = None
        """What the source says at each call, if anything."""


PLATFORM = Platform()


class FakePlatformSource(Source):
    """Posts published in the window, with their likes as of now; today's follower count."""

    name = "fake_platform"
    description = "An API source for tests."
    record_kinds = ("post", "account_snapshot")
    incremental = True

    class Options(PluginOptions):
        account: str = "brand"

    def fetch(self, ctx):
        PLATFORM.asked.append((ctx.window_start, ctx.window_end))
        if PLATFORM.warning:
            ctx.warn(PLATFORM.warning)
        yield RecordTable.from_rows("post", [
            {"platform": "fake", "account": PLATFORM.handle or self.options.account, "post_id": post_id, "published_at": at,
             "likes": likes, "comments": 0, "shares": 0, "saves": 0, "reach": 1000}
            for post_id, (at, likes) in PLATFORM.posts.items() if ctx.window_start <= at < ctx.window_end])
        yield RecordTable.from_rows("account_snapshot", [
            {"platform": "fake", "account": self.options.account, "date": PLATFORM.today,
             "followers": PLATFORM.followers}])


class FakeRecentSearch(FakePlatformSource):
    """A search that, like X's recent search, returns the last 7 days only and refuses an
    older start (X answers 400 "'start_time' must be on or after ...")."""

    name = "fake_recent_search"
    description = "A search API for tests that reaches back 7 days."
    record_kinds = ("post",)

    def reaches_back(self):
        return timedelta(days=7)

    def fetch(self, ctx):
        if ctx.window_start < ctx.as_of - timedelta(days=7):
            raise ValueError(f"'start_time' must be on or after {ctx.as_of - timedelta(days=7):%Y-%m-%dT%H:%MZ}")
        for table in super().fetch(ctx):
            if table.kind == "post":
                yield table


class FakeInbox(FakePlatformSource):
    """The comments the brand received in the window (``PLATFORM.comments``), none answered."""

    name = "fake_inbox"
    description = "An inbox API for tests."
    record_kinds = ("conversation",)

    def fetch(self, ctx):
        PLATFORM.asked.append((ctx.window_start, ctx.window_end))
        yield RecordTable.from_rows("conversation", [
            {"platform": "fake", "account": self.options.account, "message_id": message_id, "received_at": at,
             "text": "still waiting"} for message_id, at in PLATFORM.comments.items()
            if ctx.window_start <= at < ctx.window_end])


@hookimpl
def _register(register):
    register(FakePlatformSource)
    register(FakeRecentSearch)
    register(FakeInbox)


WORKFLOW = """
[workflow]
name = "Incremental"
timezone = "UTC"
period = "last_week"

[[sources]]
id = "api"
plugin = "fake_platform"
{source_extra}

[[metrics]]
plugin = "totals"
counters = ["likes"]
by = ["overall"]
{outputs}
"""


@pytest.fixture(autouse=True)
def platform():
    global PLATFORM
    PLATFORM = Platform()
    with registered_plugin(types.SimpleNamespace(register_sources=_register)):
        yield PLATFORM


def write(tmp_path, source_extra: str = "", outputs: str = ""):
    path = tmp_path / "incremental.toml"
    path.write_text(WORKFLOW.format(source_extra=source_extra, outputs=outputs), encoding="utf-8")
    return path


def at(day: int, hour: int = 12) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=UTC)


def likes_by_post(result) -> dict[str, int]:
    posts = result.records["post"]
    assert posts["post_id"].n_unique() == posts.height  # never a post twice
    return dict(zip(posts["post_id"], posts["likes"]))


def test_a_second_run_fetches_only_what_the_store_lacks_and_the_newest_counters_win(tmp_path, any_store_url):
    """Run 1 (Mon 23) fetches its whole window. Run 2 (Mon 30, look_back 3 days) asks the
    platform only from the end of what run 1 covered; the week before comes from the store."""
    path = write(tmp_path, 'look_back = "3d"')
    PLATFORM.posts = {"a": (at(10), 5), "b": (at(17), 10), "c": (at(20), 20)}
    first = run_workflow_file(path, store_url=any_store_url, now=at(23, 9))
    assert first.status == "ok" and PLATFORM.asked == [(at(8, 0), at(23, 0))]  # a day of margin

    PLATFORM.posts.update({"c": (at(20), 25), "d": (at(25), 7)})  # c gained likes; d is new
    PLATFORM.asked.clear()
    second = run_workflow_file(path, store_url=any_store_url, now=at(30, 9))
    assert second.status == "ok"
    assert PLATFORM.asked == [(at(23, 0), at(30, 0))]  # the cursor's end: after run 1's window
    assert likes_by_post(second) == {"b": 10, "c": 20, "d": 7}  # b and c from the store, as stored
    [stage] = [s for s in second.stages if s.kind == "source"]
    assert stage.note == "fetched from 2026-11-23 00:00 UTC, earlier records from the store"


def test_recent_records_are_fetched_again_over_the_look_back_window(tmp_path, any_store_url):
    path = write(tmp_path)  # look_back 28 days: last week is read again, with its new counters
    PLATFORM.posts = {"b": (at(17), 10), "c": (at(20), 20)}
    run_workflow_file(path, store_url=any_store_url, now=at(23, 9))
    PLATFORM.posts.update({"c": (at(20), 25), "d": (at(25), 7)})
    PLATFORM.asked.clear()
    second = run_workflow_file(path, store_url=any_store_url, now=at(30, 9))
    assert PLATFORM.asked == [(at(15, 0), at(30, 0))]  # the whole window is within 28 days
    assert likes_by_post(second) == {"b": 10, "c": 25, "d": 7}  # the newest figures win
    previous = second.measurements.filter((pl.col("period") == "previous_period") & (pl.col("metric") == "total_likes"))
    assert previous["value"].to_list() == [35.0]  # last week's total, with c's new likes


def test_a_post_deleted_on_the_platform_leaves_the_figures_where_the_source_was_asked_again(tmp_path, any_store_url):
    """Run 2 asks for the whole window again (it is within look_back): c was deleted on the
    platform, so it is no longer in the figures, though the store keeps run 1's copy."""
    path = write(tmp_path)
    PLATFORM.posts = {"b": (at(17), 10), "c": (at(20), 20)}
    run_workflow_file(path, store_url=any_store_url, now=at(23, 9))
    del PLATFORM.posts["c"]
    second = run_workflow_file(path, store_url=any_store_url, now=at(24, 9))
    assert likes_by_post(second) == {"b": 10}


def test_a_renamed_account_counts_its_posts_once(tmp_path, any_store_url):
    """The account is renamed between the runs (an Instagram username, a YouTube handle): run 2
    asks for the whole window again and gets b and c under the new name only."""
    path = write(tmp_path)
    PLATFORM.posts = {"b": (at(17), 10), "c": (at(20), 20)}
    run_workflow_file(path, store_url=any_store_url, now=at(23, 9))
    PLATFORM.handle = "brand_renamed"
    second = run_workflow_file(path, store_url=any_store_url, now=at(24, 9))
    assert likes_by_post(second) == {"b": 10, "c": 20}
    assert second.records["post"]["account"].unique().to_list() == ["brand_renamed"]


def test_a_run_whose_outputs_failed_does_not_move_the_cursor(tmp_path, any_store_url):
    """The report cannot be written (its folder is a file): the run is undelivered, so the next
    run fetches the same window again instead of trusting what it had."""
    (tmp_path / "blocked").write_text("a file, not a folder", encoding="utf-8")
    failing = f'[[outputs]]\nplugin = "html_report"\npath = "{tmp_path / "blocked" / "report.html"}"\n'
    path = write(tmp_path, 'look_back = "1d"', failing)
    PLATFORM.posts = {"b": (at(17), 10)}
    first = run_workflow_file(path, store_url=any_store_url, now=at(23, 9))
    assert first.status == "undelivered"
    workflow = load_workflow(path)
    with open_store(any_store_url) as store:
        assert store.source_cursor(source_key(workflow, workflow.sources[0])) is None
    PLATFORM.asked.clear()
    run_workflow_file(path, store_url=any_store_url, now=at(24, 9))
    assert PLATFORM.asked == [(at(8, 0), at(23, 0))]  # the whole window, again


def test_todays_follower_counts_build_up_into_a_history(tmp_path, any_store_url):
    """The platform only tells today's count; daily runs keep each day's, so last week's
    follower figures exist at the end of it."""
    path = write(tmp_path, 'look_back = "1d"')
    for day, followers in ((16, 1000), (17, 1010), (18, 1030)):
        PLATFORM.today, PLATFORM.followers = at(day).date(), followers
        result = run_workflow_file(path, store_url=any_store_url, now=at(day, 9), period="2026-11-16..2026-11-22")
        assert result.status == "ok"
    snapshots = result.records["account_snapshot"].sort("date")
    assert list(zip(snapshots["date"].cast(str), snapshots["followers"])) == [
        ("2026-11-16", 1000), ("2026-11-17", 1010), ("2026-11-18", 1030)]


def test_another_option_is_another_cursor_and_a_dry_run_writes_none(tmp_path, any_store_url):
    path = write(tmp_path, 'look_back = "1d"')
    PLATFORM.posts = {"b": (at(17), 10)}
    run_workflow_file(path, store_url=any_store_url, now=at(23, 9), dry_run=True)
    workflow = load_workflow(path)
    with open_store(any_store_url) as store:
        assert store.source_cursor(source_key(workflow, workflow.sources[0])) is None  # a dry run keeps nothing
    run_workflow_file(path, store_url=any_store_url, now=at(23, 9))
    path.write_text(path.read_text(encoding="utf-8").replace('look_back = "1d"', 'look_back = "1d"\naccount = "other"'),
                    encoding="utf-8")
    PLATFORM.asked.clear()
    run_workflow_file(path, store_url=any_store_url, now=at(24, 9))
    assert PLATFORM.asked == [(at(8, 0), at(23, 0))]  # another account: nothing in the store for it


def test_a_back_fill_fetches_only_what_is_before_the_cursor(tmp_path, any_store_url):
    """Run 1 covers 8-23 November (last week and the week before, a day of margin). A back-fill
    of 2-8 November (window 25 October - 9 November) asks for what is before the cursor only;
    its last day comes from the store."""
    path = write(tmp_path, 'look_back = "1d"')
    PLATFORM.posts = {"a": (at(3), 4), "e": (at(8, 18), 3), "b": (at(17), 10)}
    run_workflow_file(path, store_url=any_store_url, now=at(23, 9))
    PLATFORM.asked.clear()
    PLATFORM.posts["e"] = (at(8, 18), 300)  # not asked again: the store's 3 stand
    older = run_workflow_file(path, store_url=any_store_url, now=at(23, 9), period="2026-11-02..2026-11-08")
    assert PLATFORM.asked == [(datetime(2026, 10, 25, tzinfo=UTC), at(8, 0))]
    assert likes_by_post(older) == {"a": 4, "e": 3}
    [stage] = [s for s in older.stages if s.kind == "source"]
    assert stage.note == "fetched 2026-10-25 00:00 to 2026-11-08 00:00 UTC, the rest from the store"
    with open_store(any_store_url) as store:  # the cursor now spans both windows, joined
        workflow = load_workflow(path)
        cursor = store.source_cursor(source_key(workflow, workflow.sources[0]))
    assert (cursor.covered_from, cursor.covered_until) == (datetime(2026, 10, 25, tzinfo=UTC), at(23, 0))


def test_look_back_on_a_file_source_is_refused(tmp_path):
    from cmflow.foundation.errors import WorkflowInvalid

    (tmp_path / "w.toml").write_text('[workflow]\nname = "W"\n\n[[sources]]\nplugin = "csv"\npath = "posts.csv"\n'
                                     'look_back = "7d"\n', encoding="utf-8")
    with pytest.raises(WorkflowInvalid) as caught:
        load_workflow(tmp_path / "w.toml")
    [problem] = caught.value.problems
    assert (problem.path, problem.message) == ("sources[0].look_back",
                                               "csv reads its input whole at every run: look_back does not apply")


def test_records_read_from_the_store_are_labelled_by_a_brands_accounts(tmp_path, any_store_url):
    """Run 2 fetches only from the 23rd; last week's posts b and c (17th, 20th) come from the
    store. Every post is of the brand's account (listed as " @Brand "), so the brand's rows
    count them all, like the overall rows: 10 + 20 the week before, 7 this week."""
    listen = '[listen.brand]\nid = "ours"\nname = "Ours"\naccounts = [" @Brand "]\n\n[[sources]]'
    path = write(tmp_path, 'look_back = "3d"')
    path.write_text(path.read_text(encoding="utf-8").replace("[[sources]]", listen)
                    .replace('by = ["overall"]', 'by = ["overall", "brand"]'), encoding="utf-8")
    PLATFORM.posts = {"b": (at(17), 10), "c": (at(20), 20)}
    run_workflow_file(path, store_url=any_store_url, now=at(23, 9))
    PLATFORM.posts["d"] = (at(25), 7)
    PLATFORM.asked.clear()
    second = run_workflow_file(path, store_url=any_store_url, now=at(30, 9))
    assert PLATFORM.asked == [(at(23, 0), at(30, 0))]  # b and c are not fetched again
    likes = second.measurements.filter(pl.col("metric") == "total_likes")
    assert {(r["period"], r["brand"]): r["value"] for r in likes.iter_rows(named=True)} == {
        ("current", None): 7.0, ("current", "ours"): 7.0,
        ("previous_period", None): 30.0, ("previous_period", "ours"): 30.0}
    listen_stage = next(s for s in second.stages if s.kind == "listen")
    assert listen_stage.problems == []  # the store's records name the account: it matched


FEEDS = Path(__file__).parent / "fixtures" / "listening"
FEED_WORKFLOW = """
[workflow]
name = "Alert feed"
timezone = "UTC"
period = "last_week"
compare = []

[[sources]]
id = "alerts"
plugin = "rss"
feeds = ["{url}/alerts.xml"]
platform = "press"
allow_private_network = true

[[metrics]]
plugin = "mentions"
by = ["overall"]
"""


def test_a_feed_that_moved_on_keeps_what_the_store_had(tmp_path, replay_server, any_store_url):
    """An alert feed holds only its latest entries. Run 1 (Mon 23 November) reads the week of
    16-22 November: 5 articles. A week later the feed holds 3 new ones and only one of the 5
    (alerts_rss_later.json). Last week again: the 5, from the store (the feed is asked again, being
    within look_back, but no longer has 4 of them). 16-29 November, a window starting before the
    cursor: the same 5 and the 3 new ones, by hand 8."""
    from cmflow.builtin.sources import rss
    from cmflow.builtin.metrics import conversation_counts
    from cmflow.testing import load_replies

    replay_server.add("GET", "/alerts.xml", *load_replies(FEEDS / "alerts_rss.json"),
                      *load_replies(FEEDS / "alerts_rss_later.json"), repeat=True)
    path = tmp_path / "feed.toml"
    path.write_text(FEED_WORKFLOW.format(url=replay_server.url), encoding="utf-8")

    def mentions(now, period=None):
        with registered_plugin(rss, package=rss.__name__), \
                registered_plugin(conversation_counts, package=conversation_counts.__name__):
            result = run_workflow_file(path, store_url=any_store_url, now=now, period=period)
        assert result.status == "ok", [s.error for s in result.failed_stages]
        [value] = result.measurements.filter((pl.col("metric") == "mentions") & (pl.col("period") == "current"))["value"]
        return value, result

    assert mentions(at(23, 9))[0] == 5  # alert-101 .. alert-105
    again, result = mentions(at(30, 9), "2026-11-16..2026-11-22")
    assert again == 5
    assert sorted(m.rsplit("#", 1)[1] for m in result.records["mention"]["mention_id"]) == [
        f"alert-10{n}" for n in range(1, 6)]
    two_weeks, result = mentions(at(30, 9), "2026-11-16..2026-11-29")
    assert two_weeks == 8
    assert [s.note for s in result.stages if s.kind == "source"] == [None]  # all asked again (look_back), and the store read


SEARCH_WORKFLOWS = {
    "mastodon": """
[[sources]]
id = "masto"
plugin = "mastodon"
base_url = "{url}"
accounts = ["maisonlumiere"]
token = "${{env:MASTODON_TOKEN}}"
fetch = ["hashtags"]
hashtags = ["MaisonLumiere"]
allow_private_network = true
""",
    "bluesky": """
[[sources]]
id = "bsky"
plugin = "bluesky"
accounts = ["maisonlumiere.bsky.social"]
fetch = ["search"]
search = ["Maison Lumière"]
app_password = "${{env:BLUESKY_APP_PASSWORD}}"
base_url = "{url}"
pds_url = "{url}"
allow_private_network = true
"""}


@pytest.mark.parametrize("platform_name", ["mastodon", "bluesky"])
def test_a_search_that_no_longer_gives_older_mentions_keeps_what_the_store_had(tmp_path, replay_server, any_store_url,
                                                                               platform_name, monkeypatch):
    """Mastodon's hashtag timeline holds what the instance still keeps: its content cache
    retention deletes remote statuses after a while (Vacuum::StatusesVacuum). Bluesky's search
    does not page through every hit. Run 1 (Mon 23 November) reads the week of 16-22 November;
    a week later the same week again (within look_back, so asked again) gets fewer of them:
    what run 1 read stays in the figures, from the store (Source.shows_latest_only)."""
    from cmflow.builtin.metrics import conversation_counts
    from cmflow.builtin.sources import bluesky, mastodon
    from cmflow.testing import load_replies

    monkeypatch.setenv("MASTODON_TOKEN", "t0k3n")
    monkeypatch.setenv("BLUESKY_APP_PASSWORD", "abcd-efgh-ijkl-mnop")
    if platform_name == "mastodon":
        rebase = {"https://mastodon.social/api": f"{replay_server.url}/api"}
        replay_server.add("GET", "/api/v1/timelines/tag/MaisonLumiere",
                          *load_replies(FEEDS / "mastodon_tag_pages.json", rebase=rebase),
                          *load_replies(FEEDS / "mastodon_tag_after_retention.json"))
        first_week = ["115610000000000070", "115610000000000090"]  # the boost of the 21st left out
    else:
        replay_server.add("POST", "/xrpc/com.atproto.server.createSession",
                          *load_replies(FEEDS.parent / "sources" / "bluesky" / "create_session.json"), repeat=True)
        replay_server.add("GET", "/xrpc/app.bsky.feed.searchPosts", *load_replies(FEEDS / "bluesky_search_brand.json"),
                          *load_replies(FEEDS / "bluesky_search_brand_later.json"))
        first_week = [f"at://did:plc:{post}" for post in (
            "ana7h3j5k8l2m4n6b9v1c0x/app.bsky.feed.post/3lbwa1", "julie5k2m9x3v7q1w8e4r6t0/app.bsky.feed.post/3lbyj2",
            "kai4g6h8j0k2l4m6n8b0v2c/app.bsky.feed.post/3lbwc4", "marc2p8q4w6e1r3t5y7u9i0o/app.bsky.feed.post/3lbym7")]
    path = tmp_path / "search.toml"
    path.write_text(FEED_WORKFLOW.split("[[sources]]")[0] + SEARCH_WORKFLOWS[platform_name].format(url=replay_server.url)
                    + FEED_WORKFLOW.split("allow_private_network = true\n")[1], encoding="utf-8")

    def mention_ids(now, period=None):
        module = mastodon if platform_name == "mastodon" else bluesky
        with registered_plugin(module, package=module.__name__), \
                registered_plugin(conversation_counts, package=conversation_counts.__name__):
            result = run_workflow_file(path, store_url=any_store_url, now=now, period=period)
        assert result.status == "ok", [s.error for s in result.failed_stages]
        return sorted(result.records["mention"]["mention_id"])

    assert mention_ids(at(23, 9)) == first_week
    assert mention_ids(at(30, 9), "2026-11-16..2026-11-22") == first_week
    assert not [r for r in replay_server.routes if r.served < len(r.replies)]  # the later answer was the one read


def test_a_window_older_than_the_platform_returns_comes_from_the_store_and_its_gap_is_said(tmp_path, any_store_url):
    """The search returns 7 days. Run 1 (Mon 23, 09:00) for 15-23 November (last week, a day of
    margin) is refused before 16 November 09:00, so asks from there, and on up to now: d (Monday
    08:00) is kept for next week's run, which could no longer ask for it. The morning of the 16th
    nobody fetched in time is a warning (the 15th is the margin, in no period). A week later, the week of 16-22 November again:
    nothing to ask (all older than 7 days), b and c from the store, the same warning. Next week's
    run (23-29 November): d from the store, and no gap: run 1 asked up to Monday 09:00."""
    path = write(tmp_path, "")
    path.write_text(path.read_text(encoding="utf-8").replace('plugin = "fake_platform"', 'plugin = "fake_recent_search"')
                    .replace("[workflow]", "[workflow]\ncompare = []"), encoding="utf-8")
    PLATFORM.posts = {"a": (at(16, 6), 1), "b": (at(17), 10), "c": (at(20), 20), "d": (at(23, 8), 4)}
    first = run_workflow_file(path, store_url=any_store_url, now=at(23, 9))
    assert first.status == "warning" and PLATFORM.asked == [(at(16, 9), at(23, 9))]
    assert likes_by_post(first) == {"b": 10, "c": 20}  # d is after the window: not this run's
    assert first.warnings == ["incremental.toml: sources[0] (api): 2026-11-16 is older than the platform "
                              "returns (7 days back) and no earlier run fetched it: its records of those days are "
                              "missing from the figures; run the workflow at least every 7 days so that the store "
                              "keeps them"]
    assert language("fr").run_warning(first.warnings[0]) == (  # in a French report, dates by Babel
        "incremental.toml: sources[0] (api)\u00a0: la plateforme ne remonte qu'à 7\u00a0jours en arrière et aucune "
        "exécution précédente n'a récupéré 16 nov. 2026\u00a0: les données de ces jours manquent dans les chiffres. "
        "Lancez le workflow avec au plus 7\u00a0jours d'intervalle pour que l'historique les conserve.")
    assert language("en").run_warning(first.warnings[0]) == first.warnings[0]
    PLATFORM.asked.clear()
    again = run_workflow_file(path, store_url=any_store_url, now=at(30, 9), period="2026-11-16..2026-11-22")
    assert PLATFORM.asked == []  # never asked for what it cannot return
    assert likes_by_post(again) == {"b": 10, "c": 20}  # the hand count of what was fetched in time
    assert [s.note for s in again.stages if s.kind == "source"] == ["every record from the store (already fetched)"]
    assert again.warnings == first.warnings  # a is lost: said again, never a silent zero
    weekly = run_workflow_file(path, store_url=any_store_url, now=at(30, 9))
    assert PLATFORM.asked == [(at(23, 9), at(30, 9))]
    assert (weekly.status, weekly.warnings, likes_by_post(weekly)) == ("ok", [], {"d": 4})


X_WORKFLOW_BEFORE_SEARCH = """
[workflow]
name = "X brand"
timezone = "Europe/Paris"

[[sources]]
id = "x"
plugin = "x"
usernames = ["maisonlumiere", "trailhead"]
token = "${env:X_BEARER_TOKEN}"

[[metrics]]
plugin = "totals"
counters = ["likes"]
"""


def test_an_option_added_since_leaves_the_keys_of_a_source_written_before(tmp_path, monkeypatch):
    """X gained its ``search`` option after this workflow was written: its keys, computed before
    (on d9b1980^1), are unchanged, so upgrading keeps each account's cursor and follower history."""
    monkeypatch.setenv("X_BEARER_TOKEN", "a-token")
    path = tmp_path / "x.toml"
    path.write_text(X_WORKFLOW_BEFORE_SEARCH, encoding="utf-8")
    workflow = load_workflow(path)
    [entry] = workflow.sources
    assert [source_key(workflow, entry, part) for part in entry.plugin.parts()] == [
        "X brand/x/68beac6d504b2ef8", "X brand/x/fed94c54bd3d59d4"]
    assert source_key(workflow, entry) == "X brand/x/f832c60917b56ccf"
    searching = path.read_text(encoding="utf-8").replace('token =', 'fetch = ["posts", "search"]\nsearch = ["lumiere"]\ntoken =')
    path.write_text(searching, encoding="utf-8")
    workflow = load_workflow(path)
    assert source_key(workflow, workflow.sources[0]) != "X brand/x/f832c60917b56ccf"  # a search is another source


def test_the_gap_warning_names_the_days_of_the_periods_in_the_workflows_time_zone(tmp_path, any_store_url):
    """In Tokyo (UTC+9) last week starts 15 November 15:00 UTC; the search reaches back to 16
    November 09:00 UTC, 18:00 in Tokyo: the days missing are the 16th, Tokyo's, not UTC's 15th
    and 16th, nor the margin day before the period."""
    path = write(tmp_path, "")
    path.write_text(path.read_text(encoding="utf-8").replace('plugin = "fake_platform"', 'plugin = "fake_recent_search"')
                    .replace('timezone = "UTC"', 'timezone = "Asia/Tokyo"')
                    .replace("[workflow]", "[workflow]\ncompare = []"), encoding="utf-8")
    result = run_workflow_file(path, store_url=any_store_url, now=at(23, 9))
    [warning] = result.warnings
    assert warning.startswith("incremental.toml: sources[0] (api): 2026-11-16 is older than the platform returns")


def test_a_warning_the_source_gives_at_each_call_is_said_once(tmp_path, any_store_url):
    """Run 2's window (November) is asked in two parts, before run 1's cursor and after it: the
    source says the same thing at both calls, and the run summary says it once."""
    path = write(tmp_path, 'look_back = "1d"')
    run_workflow_file(path, store_url=any_store_url, now=at(23, 9))
    PLATFORM.asked.clear()
    PLATFORM.warning = "the platform gives no reach"
    second = run_workflow_file(path, store_url=any_store_url, now=at(30, 9), period="2026-11-01..2026-11-29")
    assert len(PLATFORM.asked) == 2
    [stage] = [s for s in second.stages if s.kind == "source"]
    assert stage.problems == ["the platform gives no reach"]


def test_a_comment_deleted_on_the_platform_leaves_the_reply_backlog(tmp_path, any_store_url):
    """An unanswered comment deleted on the platform (spam the moderators removed) is no longer
    waiting for a reply once the source is asked again: it would otherwise breach the SLA for good."""
    path = write(tmp_path)
    from cmflow.builtin.metrics import conversation_counts

    path.write_text(path.read_text(encoding="utf-8").replace('plugin = "fake_platform"', 'plugin = "fake_inbox"')
                    .replace('plugin = "totals"\ncounters = ["likes"]', 'plugin = "comments_received"'), encoding="utf-8")
    PLATFORM.comments = {"m1": at(18), "m2": at(20)}
    with registered_plugin(conversation_counts, package=conversation_counts.__name__):
        first = run_workflow_file(path, store_url=any_store_url, now=at(23, 9))
        assert sorted(first.records["conversation"]["message_id"]) == ["m1", "m2"]
        del PLATFORM.comments["m1"]
        second = run_workflow_file(path, store_url=any_store_url, now=at(24, 9))
    assert second.records["conversation"]["message_id"].to_list() == ["m2"]


def test_hourly_runs_keep_one_fetched_span_row_per_separate_span_and_the_gap_stays_right(tmp_path):
    """A day of hourly runs of the 7-day search, then one run after 10 days without: the store
    keeps one fetched_span row per separate span (the hourly spans join), not one per run, and a
    week over both names only the days no run fetched. A source that reaches back without limit
    keeps none (nothing reads them)."""
    import sqlite3

    store = tmp_path / "state.db"

    def span_rows() -> list[str]:
        with sqlite3.connect(store) as connection:
            return [key for (key,) in connection.execute(
                "SELECT record_key FROM cached_records WHERE kind = 'fetched_span' ORDER BY at")]

    path = write(tmp_path, "")
    path.write_text(path.read_text(encoding="utf-8").replace('plugin = "fake_platform"', 'plugin = "fake_recent_search"')
                    .replace("[workflow]", "[workflow]\ncompare = []"), encoding="utf-8")
    PLATFORM.posts = {"b": (at(17), 10), "e": (at(28), 5)}
    for hour in range(24):
        run_workflow_file(path, store_url=f"sqlite:///{store}", now=at(23, 9) + timedelta(hours=hour))
    assert span_rows() == [f"{at(16, 9).isoformat()}/{at(24, 8).isoformat()}"]
    later = run_workflow_file(path, store_url=f"sqlite:///{store}", now=datetime(2026, 12, 4, 9, tzinfo=UTC),
                              period="2026-11-16..2026-11-29")
    assert span_rows() == [f"{at(16, 9).isoformat()}/{at(24, 8).isoformat()}",
                           f"{at(27, 9).isoformat()}/{datetime(2026, 12, 4, 9, tzinfo=UTC).isoformat()}"]
    assert likes_by_post(later) == {"b": 10, "e": 5}
    assert [w.split(" is older")[0] for w in later.warnings] == ["incremental.toml: sources[0] (api): 2026-11-16, 2026-11-24..2026-11-27"]
    (tmp_path / "unlimited").mkdir()
    run_workflow_file(write(tmp_path / "unlimited"), store_url=f"sqlite:///{tmp_path}/unlimited.db", now=at(23, 9))
    with sqlite3.connect(tmp_path / "unlimited.db") as connection:
        assert connection.execute("SELECT count(*) FROM cached_records WHERE kind = 'fetched_span'").fetchone() == (0,)
