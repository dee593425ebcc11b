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
from datetime import datetime, timedelta, timezone

import polars as pl
import pytest

from cmflow import PluginOptions, RecordTable, Source, hookimpl
from cmflow.stages.incremental import source_key
from cmflow.store import open_store
from cmflow.testing import registered_plugin, run_workflow_file
from cmflow.workflow import load_workflow

UTC = timezone.utc


class Platform:
    """The platform's state: posts with their likes now, and the follower count now."""

    def __init__(self) -> None:
        self.posts: dict[str, tuple[datetime, int]] = {}
        self.followers = 1000
        self.asked: list[tuple[datetime, datetime]] = []
        self.today = datetime(2026, 11, 23, tzinfo=UTC).date()


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
        yield RecordTable.from_rows("post", [
            {"platform": "fake", "account": self.options.account, "post_id": post_id, "published_at": at,
             "likes": likes, "comments": 0, "shares": 0, "saves": 0, "reach": 1000}
            for post_id, (at, likes) in PLATFORM.posts.items() if ctx.window_start <= at < ctx.window_end])
        yield RecordTable.from_rows("account_snapshot", [
            {"platform": "fake", "account": self.options.account, "date": PLATFORM.today,
             "followers": PLATFORM.followers}])


@hookimpl
def _register(register):
    register(FakePlatformSource)


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


def test_a_back_fill_before_the_cursor_is_fetched_whole(tmp_path, any_store_url):
    path = write(tmp_path, 'look_back = "1d"')
    PLATFORM.posts = {"a": (at(3), 4), "b": (at(17), 10)}
    run_workflow_file(path, store_url=any_store_url, now=at(23, 9))
    PLATFORM.asked.clear()
    older = run_workflow_file(path, store_url=any_store_url, now=at(23, 9), period="2026-11-02..2026-11-08")
    assert PLATFORM.asked == [(datetime(2026, 10, 25, tzinfo=UTC), at(9, 0))]
    assert likes_by_post(older) == {"a": 4}
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
