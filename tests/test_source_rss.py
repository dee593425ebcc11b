"""The ``rss`` source against a loopback server serving real-world RSS and Atom feeds."""

from __future__ import annotations

import logging
import traceback
from datetime import date, datetime, timezone
from pathlib import Path

import pydantic
import pytest

from cmflow import FetchContext, Period
from cmflow.builtin.metrics import conversation_counts
from cmflow.builtin.sources import rss as rss_module
from cmflow.builtin.sources.rss import RssOptions, RssSource, html_to_text
from cmflow.http import AuthExpired, BadResponse, PermissionMissing, make_client
from cmflow.testing import Reply, VirtualTime, load_replies, registered_plugin, replay_server, run_workflow_file  # noqa: F401

FIXTURES = Path(__file__).parent / "fixtures" / "sources" / "rss"
WINDOW = (datetime(2026, 11, 15, tzinfo=timezone.utc), datetime(2026, 11, 23, tzinfo=timezone.utc))
LAST_WEEK = Period(date(2026, 11, 16), date(2026, 11, 22), "UTC")
BLOG, NEWS = "/feed/", "/atom.xml"
ARTICLE = "https://lyon-gourmand.example/2026/11/21/maison-lumiere-rouvre/"


def replies(name: str) -> list[Reply]:
    return load_replies(FIXTURES / name)


def fetch(server, paths=(BLOG,), vtime: VirtualTime | None = None, **options):
    vtime = vtime or VirtualTime()
    source = RssSource(RssOptions(feeds=[server.url + p for p in paths], allow_private_network=True, **options),
                       entry_id="veille")
    with make_client(clock=vtime.clock, sleep=vtime.sleep) as client:
        ctx = FetchContext(*WINDOW, [LAST_WEEK], Path("."), logging.getLogger("test.rss"),
                           http_client=lambda: client)
        tables = list(source.fetch(ctx))
    assert [t.kind for t in tables] == ["mention"]
    return tables[0].conformed().to_dicts(), ctx.problems


# -- parsing ---------------------------------------------------------------------------------------
def test_rss2_items_become_mentions(replay_server):
    replay_server.add("GET", BLOG, *replies("blog_rss2.json"))

    mentions, problems = fetch(replay_server)

    assert mentions == [
        {"platform": "rss", "mention_id": ARTICLE,
         "published_at": datetime(2026, 11, 21, 17, 30, tzinfo=timezone.utc), "author": "Julie Martin",
         "text": "Maison Lumière rouvre sa boutique & son salon de thé\n\n"
                 "Après trois mois de travaux, Maison Lumière rouvre.\n\nLa bûche « Lumière » est déjà là.",
         "url": ARTICLE, "reach": None, "likes": None, "comments": None, "shares": None, "language": "fr", "sentiment": None},
        {"platform": "rss", "mention_id": f"{replay_server.url}{BLOG}#4812",  # a bare guid, made unique
         "published_at": datetime(2026, 11, 19, 7, 0, tzinfo=timezone.utc), "author": "Marc",
         "text": "Les meilleures bûches de Noël 2026\n\nNotre sélection : Pâtisserie Bellecour, "
                 "La Croix-Rousse Gourmande…",
         "url": "https://lyon-gourmand.example/?p=4812", "reach": None, "likes": None, "comments": None, "shares": None, "language": "fr", "sentiment": None},
        {"platform": "rss", "mention_id": f"{replay_server.url}{BLOG}#4815",
         "published_at": datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc), "author": None,
         "text": "Agenda : marché de Noël\n\nMaison Lumière y tiendra un stand.",
         "url": None, "reach": None, "likes": None, "comments": None, "shares": None, "language": "fr", "sentiment": None}]  # the javascript: link is dropped
    # 2026-11-02 is before the window; the undated draft cannot be placed in a period.
    assert problems == [f"{replay_server.url}{BLOG}: left out 1 entry without a date"]
    assert replay_server.requests[0].headers["accept"].startswith("application/rss+xml")


def test_atom_entries_become_mentions(replay_server):
    replay_server.add("GET", NEWS, *replies("news_atom.json"))

    mentions, problems = fetch(replay_server, paths=(NEWS,), include_summary=False)

    assert problems == []
    assert [(m["mention_id"], m["published_at"], m["author"], m["text"], m["url"], m["language"])
            for m in mentions] == [
        ("tag:foodnews.example,2026:entry-91", datetime(2026, 11, 20, 7, 15, tzinfo=timezone.utc), "Ana Costa",
         'Maison Lumière wins the "Best Yule Log" award', "https://foodnews.example/2026/11/award", "en"),
        ("tag:foodnews.example,2026:entry-90", datetime(2026, 11, 17, 16, 0, tzinfo=timezone.utc), None,
         "Lyon's markets this weekend", "https://foodnews.example/2026/11/markets", "en"),  # updated only
        (ARTICLE, datetime(2026, 11, 21, 17, 30, tzinfo=timezone.utc), None, "Maison Lumière rouvre (repris)",
         ARTICLE, "en")]


def test_an_entry_in_two_feeds_counts_once_and_keywords_filter(replay_server):
    replay_server.add("GET", BLOG, *replies("blog_rss2.json"))
    replay_server.add("GET", NEWS, *replies("news_atom.json"))

    mentions, _ = fetch(replay_server, paths=(BLOG, NEWS), keywords=["MAISON LUMIÈRE"])

    assert [m["mention_id"] for m in mentions] == [
        ARTICLE, f"{replay_server.url}{BLOG}#4815", "tag:foodnews.example,2026:entry-91"]
    assert mentions[0]["author"] == "Julie Martin"  # the first feed's copy


def test_html_in_titles_is_stripped_never_kept():
    assert html_to_text('Maison <b>Lumière</b> &amp; <script>alert("x")</script><style>p{}</style>co') == \
        "Maison Lumière & co"
    assert html_to_text("<p>one</p>\n<p>two &lt;3</p>") == "one\n\ntwo <3"


def test_a_malformed_but_readable_feed_gives_its_entries_and_a_warning(replay_server):
    replay_server.add("GET", BLOG, *replies("malformed_feed.json"))

    mentions, problems = fetch(replay_server)

    assert [(m["mention_id"], m["text"]) for m in mentions] == [
        ("https://petit-blog.example/croissants",
         "Croissants & café chez Maison Lumière\n\nUn & de trop, et pas de fermeture")]
    [problem] = problems
    assert problem.startswith(f"{replay_server.url}{BLOG}: the feed is malformed (") and "read 1 entries anyway" in problem


def test_a_page_that_is_not_a_feed_is_a_clear_error(replay_server):
    replay_server.add("GET", BLOG, *replies("not_a_feed.json"))
    with pytest.raises(BadResponse) as caught:
        fetch(replay_server)
    message = str(caught.value)
    assert message.startswith(f"source 'veille' (RSS/Atom): GET {replay_server.url}{BLOG} is not an RSS or Atom feed")
    assert "<!DOCTYPE html><html lang=" in message and "a web page is not its feed" in message


def test_an_empty_feed_gives_no_mentions_and_no_error(replay_server):
    replay_server.add("GET", BLOG, *replies("empty_feed.json"))
    assert fetch(replay_server) == ([], [])


# -- waits and errors ----------------------------------------------------------------------------
def test_500_then_success(replay_server):
    replay_server.add("GET", BLOG, Reply(500, body="<h1>Internal Server Error</h1>", headers={"Content-Type": "text/html"}),
                      *replies("blog_rss2.json"))
    vtime = VirtualTime()
    mentions, _ = fetch(replay_server, vtime=vtime)
    assert len(mentions) == 3
    [wait] = vtime.sleeps
    assert 1 <= wait <= 2


def test_429_waits_the_retry_after(replay_server):
    replay_server.add("GET", BLOG, Reply(429, body="Too Many Requests", headers={"Retry-After": "120"}),
                      *replies("blog_rss2.json"))
    vtime = VirtualTime()
    fetch(replay_server, vtime=vtime)
    assert vtime.sleeps == [120]


def test_a_feed_asking_for_credentials_says_what_to_renew(replay_server):
    replay_server.add("GET", BLOG, *replies("error_401.json"))
    vtime = VirtualTime()
    with pytest.raises(AuthExpired) as caught:
        fetch(replay_server, vtime=vtime)
    assert str(caught.value) == (
        f"source 'veille' (RSS/Atom): GET {replay_server.url}{BLOG} asks for credentials (HTTP 401). "
        "The feed asks for credentials: if its URL carries a key or token, get a new one from the site "
        "and update the environment variable that holds the URL")
    assert vtime.sleeps == [] and len(replay_server.requests) == 1


def test_a_refused_feed_says_what_to_check(replay_server):
    replay_server.add("GET", BLOG, *replies("error_403.json"))
    with pytest.raises(PermissionMissing, match=r"refused access \(HTTP 403\)\. Check that the feed is public"):
        fetch(replay_server)


@pytest.mark.parametrize("options, message", [
    ({"feeds": []}, "at least 1 item"),
    ({"feeds": ["file:///etc/passwd"]}, "must be an https:// or http:// URL, not file://"),
    ({"feeds": ["https://blog.example/feed"], "platform": "Press"}, "should match pattern"),
])
def test_options_are_validated(options, message):
    with pytest.raises(pydantic.ValidationError, match=message):
        RssOptions(**options)


# -- end to end ----------------------------------------------------------------------------------
def write_workflow(tmp_path: Path, feeds: str) -> Path:
    path = tmp_path / "veille.toml"
    path.write_text(f"""
[workflow]
name = "Veille"
timezone = "UTC"
period = "last_week"
as_of = "2026-11-24"

[[sources]]
id = "veille"
plugin = "rss"
feeds = {feeds}
allow_private_network = true
keywords = ["Maison Lumière"]
platform = "press"

[[metrics]]
plugin = "mentions"
by = ["overall"]
""", encoding="utf-8")
    return path


def test_workflow_counts_the_mentions_of_the_week(replay_server, tmp_path, monkeypatch, caplog):
    """The private feed's URL holds a key: it comes from the environment and never shows."""
    caplog.set_level(logging.DEBUG)
    key = "k3y-0f-a-pr1vate-alert-feed"
    monkeypatch.setenv("ALERTS_FEED", f"{replay_server.url}/alerts/{key}/rss")
    replay_server.add("GET", f"/alerts/{key}/rss", *replies("blog_rss2.json"))
    replay_server.add("GET", NEWS, *replies("news_atom.json"))
    workflow = write_workflow(tmp_path, f'["${{env:ALERTS_FEED}}", "{replay_server.url}{NEWS}"]')

    with registered_plugin(rss_module), registered_plugin(conversation_counts, package="conversation_counts"):
        result = run_workflow_file(workflow, store_url=f"sqlite:///{tmp_path}/s.db")

    assert result.status == "ok", [s.error for s in result.failed_stages]
    [row] = result.current("mentions").to_dicts()
    # Naming Maison Lumière in 2026-11-16..22: the reopening (in both feeds, counted once),
    # the market stand, the award. Not the TV item of 2026-11-02 nor the Yule log ranking.
    assert row["value"] == 3
    texts = [r.getMessage() for r in caplog.records] + [p for s in result.stages for p in s.problems]
    assert any("***: left out 1 entry without a date" in t for t in texts)
    assert [t for t in texts if key in t] == []


def test_a_failing_feed_fails_the_source_without_showing_its_key(replay_server, tmp_path, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    key = "k3y-0f-a-revoked-alert-feed"
    monkeypatch.setenv("ALERTS_FEED", f"{replay_server.url}/alerts/{key}/rss")
    replay_server.add("GET", f"/alerts/{key}/rss", *replies("error_401.json"))
    workflow = write_workflow(tmp_path, '["${env:ALERTS_FEED}"]')

    with registered_plugin(rss_module), registered_plugin(conversation_counts, package="conversation_counts"):
        result = run_workflow_file(workflow, store_url=f"sqlite:///{tmp_path}/s.db")

    [failed] = result.failed_sources
    assert failed.id == "veille" and "asks for credentials (HTTP 401)" in failed.error
    texts = [failed.error, *(r.getMessage() for r in caplog.records),
             *("".join(traceback.format_exception(r.exc_info[1])) for r in caplog.records if r.exc_info)]
    assert [t for t in texts if key in t] == []
