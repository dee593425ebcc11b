"""Competitor benchmarking (issue 17): a ``[listen]`` brand and its competitor list their public
accounts; the Bluesky source reads both anonymously from the public AppView (fixtures in the
answers' real shapes: tests/fixtures/sources/bluesky for Maison Lumière, tests/fixtures/competitors
for Atelier Nuit); the metrics' ``brand`` rows set them side by side, and the competitor never
counts in the brand's or its client's own figures.

The week of 16-22 November 2026, by hand (interactions = likes + replies + reposts + bookmarks):

- Maison Lumière (3,150 followers): 3lbxa5 64+5+11+7 = 87, 3lbxa4 22+2+4+1 = 29,
  3lbxa3 30+1+6+3 = 40, 3lbxa2 9+0+2+5 = 16, 3lbxa1 6+1+0+0 = 7: 5 posts, 179 interactions,
  35.8 per post, ER by followers 179 / 3150 = 5.6825 %.
- Atelier Nuit (8,400 followers): 3lnuit3 120+10+20+10 = 160, 3lnuit2 40+4+6+0 = 50 (3lnuit1 is
  before the week): 2 posts, 210 interactions, 105 per post, ER 210 / 8400 = 2.5 %.
"""

from __future__ import annotations

import functools
from pathlib import Path

import polars as pl
import pytest

import cmflow.http
from cmflow.builtin.metrics import engagement, followers, posts_published, publishing_pace, totals
from cmflow.builtin.sources import bluesky
from cmflow.foundation.errors import WorkflowInvalid
from cmflow.testing import Reply, VirtualTime, load_replies, registered_plugin, replay_server, run_workflow_file  # noqa: F401
from cmflow.workflow import load_workflow

HERE = Path(__file__).parent
OWN = HERE / "fixtures" / "sources" / "bluesky"
COMPETITOR = HERE / "fixtures" / "competitors"
NUIT_DID = "did:plc:an7c2vq9x4k8m3p6r1t5w0zy"
LUMIERE_DID = "did:plc:ml4x7b2kq3jz5n6w8r9t0y1u"
PLUGINS = (bluesky, engagement, followers, posts_published, publishing_pace, totals)

WORKFLOW = """
[workflow]
name = "Benchmark"
timezone = "UTC"
period = "last_week"
as_of = "2026-11-23"
compare = []

[[clients]]
id = "lumiere"
name = "Maison Lumière"
accounts = ["maisonlumiere.bsky.social"]
language = "fr"

[listen.brand]
id = "lumiere"
name = "Maison Lumière"
client = "lumiere"
accounts = ["maisonlumiere.bsky.social"]

[[listen.competitors]]
id = "nuit"
name = "Atelier Nuit"
client = "lumiere"
accounts = ["ateliernuit.bsky.social"]

[[sources]]
id = "bsky"
plugin = "bluesky"
accounts = ["maisonlumiere.bsky.social", "ateliernuit.bsky.social"]
fetch = ["posts", "account_snapshots"]
base_url = "{url}"
allow_private_network = true

[[metrics]]
plugin = "posts_published"
by = ["overall", "brand", "client"]

[[metrics]]
plugin = "totals"
counters = ["interactions"]
by = ["overall", "brand", "client"]

[[metrics]]
plugin = "followers"
by = ["overall", "brand", "client"]

[[metrics]]
plugin = "engagement_rate_by_followers"
by = ["overall", "brand"]

[[metrics]]
plugin = "posting_frequency"
by = ["overall", "brand"]

[[metrics]]
plugin = "engagement_per_post"
by = ["overall", "brand"]
"""


def _registered():
    from contextlib import ExitStack

    stack = ExitStack()
    for module in PLUGINS:
        stack.enter_context(registered_plugin(module, package=module.__name__))
    return stack


def run(tmp_path: Path, server, monkeypatch, text: str = WORKFLOW):
    # The run's HTTP clock is 2026-11-24 09:00 UTC: a current follower count then stands for the
    # week's last day (Bluesky keeps no history of followers).
    vtime = VirtualTime()
    monkeypatch.setattr(cmflow.http, "make_client",
                        functools.partial(cmflow.http.make_client, clock=vtime.clock, sleep=vtime.sleep))
    server.add("GET", "/xrpc/app.bsky.actor.getProfile", *load_replies(OWN / "profile.json"),
               query={"actor": "maisonlumiere.bsky.social"})
    server.add("GET", "/xrpc/app.bsky.actor.getProfile", *load_replies(COMPETITOR / "bluesky_profile_ateliernuit.json"),
               query={"actor": "ateliernuit.bsky.social"})
    server.add("GET", "/xrpc/app.bsky.feed.getAuthorFeed", *load_replies(OWN / "feed_pages.json"),
               query={"actor": LUMIERE_DID})
    server.add("GET", "/xrpc/app.bsky.feed.getAuthorFeed", *load_replies(COMPETITOR / "bluesky_feed_ateliernuit.json"),
               query={"actor": NUIT_DID})
    path = tmp_path / "benchmark.toml"
    path.write_text(text.format(url=server.url), encoding="utf-8")
    with _registered():
        result = run_workflow_file(path, store_url=f"sqlite:///{tmp_path}/state.db")
    assert result.status == "ok", [s.error for s in result.failed_stages]
    return result


def current(result, metric: str, dimension: str) -> dict:
    rows = result.measurements.filter((pl.col("period") == "current") & (pl.col("metric") == metric))
    return {row[dimension]: row["value"] for row in rows.iter_rows(named=True)
            if all(row.get(d) is None for d in ("brand", "client") if d != dimension)}


def test_the_brand_and_its_competitor_side_by_side_from_public_profiles(replay_server, tmp_path, monkeypatch) -> None:
    result = run(tmp_path, replay_server, monkeypatch)

    assert current(result, "posts_published", "brand") == {None: 5, "lumiere": 5, "nuit": 2}
    assert current(result, "total_interactions", "brand") == {None: 179, "lumiere": 179, "nuit": 210}
    assert current(result, "followers", "brand") == {None: 3150, "lumiere": 3150, "nuit": 8400}
    assert current(result, "engagement_rate_by_followers", "brand") == pytest.approx(
        {None: 179 / 3150 * 100, "lumiere": 179 / 3150 * 100, "nuit": 2.5})
    assert current(result, "posting_frequency", "brand") == pytest.approx({None: 5.0, "lumiere": 5.0, "nuit": 2.0})
    assert current(result, "engagement_per_post", "brand") == pytest.approx({None: 35.8, "lumiere": 35.8, "nuit": 105.0})


def test_a_competitors_accounts_never_count_in_the_clients_figures(replay_server, tmp_path, monkeypatch) -> None:
    result = run(tmp_path, replay_server, monkeypatch)

    # The client's own figures are its account's: 5 posts, not 7; 3,150 followers, not 11,550.
    assert current(result, "posts_published", "client") == {None: 5, "lumiere": 5}
    assert current(result, "total_interactions", "client") == {None: 179, "lumiere": 179}
    assert current(result, "followers", "client") == {None: 3150, "lumiere": 3150}
    posts = result.records["post"]
    assert posts.filter(pl.col("account") == "ateliernuit.bsky.social")["brands"].to_list() == [["nuit"], ["nuit"]]
    assert posts.filter(pl.col("account") == "maisonlumiere.bsky.social")["brands"].to_list() == [["lumiere"]] * 5


# -- validation -----------------------------------------------------------------------------------
def _problems(tmp_path: Path, text: str) -> list[tuple[str, str]]:
    (tmp_path / "w.toml").write_text(text.format(url="https://public.api.bsky.app"), encoding="utf-8")
    with _registered(), pytest.raises(WorkflowInvalid) as caught:
        load_workflow(tmp_path / "w.toml")
    return [(p.path, p.message) for p in caught.value.problems]


def test_a_competitors_account_may_not_be_a_clients(tmp_path) -> None:
    text = WORKFLOW.replace('accounts = ["maisonlumiere.bsky.social"]\nlanguage',
                            'accounts = ["maisonlumiere.bsky.social", "ateliernuit.bsky.social"]\nlanguage')
    problems = _problems(tmp_path, text)
    assert [path for path, _ in problems] == ["listen.competitors[0].accounts[0]"]
    assert "belongs to client 'lumiere'" in problems[0][1] and "belong to no client" in problems[0][1]


def test_an_account_belongs_to_one_brand(tmp_path) -> None:
    text = WORKFLOW.replace('accounts = ["ateliernuit.bsky.social"]\n\n[[sources]]',
                            'accounts = ["ateliernuit.bsky.social", "maisonlumiere.bsky.social"]\n\n[[sources]]')
    problems = _problems(tmp_path, text)
    assert problems[0][0] == "listen.competitors[0].accounts[1]"
    assert "already listed by brand 'lumiere'" in problems[0][1]


def test_the_brands_account_must_be_its_own_clients(tmp_path) -> None:
    text = WORKFLOW.replace('language = "fr"\n', 'language = "fr"\n\n[[clients]]\nid = "autre"\nname = "Autre"\n'
                            'accounts = ["autre.bsky.social"]\nlanguage = "fr"\n', 1)
    text = text.replace('client = "lumiere"\naccounts = ["maisonlumiere.bsky.social"]',
                        'client = "autre"\naccounts = ["maisonlumiere.bsky.social"]')
    problems = _problems(tmp_path, text)
    assert [path for path, _ in problems] == ["listen.brand.accounts[0]"]
    assert "belongs to client 'lumiere'" in problems[0][1]


# -- the report -----------------------------------------------------------------------------------
def test_the_clients_report_shows_a_competitors_table_with_the_brand_first(replay_server, tmp_path, monkeypatch) -> None:
    import re

    from cmflow.builtin.reports.document import build_document
    from cmflow.builtin.reports.html import render_html
    from cmflow.presentation.language import language
    from cmflow.builtin.reports.scopes import ReportScope

    result = run(tmp_path, replay_server, monkeypatch)
    client = result.workflow.clients[0]
    scope = ReportScope(client=client, accounts=frozenset({("bluesky", "maisonlumiere.bsky.social")}))
    document = build_document(result, scope, title="Maison Lumière")

    assert [row.name for row in document.competitors] == ["Maison Lumière", "Atelier Nuit"]
    assert document.competitor_metrics == ["followers", "posting_frequency", "engagement_per_post",
                                           "engagement_rate_by_followers"]
    assert document.competitors[1].figures["engagement_per_post"].value == pytest.approx(105.0)
    page = render_html(document, language("fr"))
    table = page.split('<h3 id="competitors">Comptes publics des concurrents</h3>', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr><td>([^<]+)</td>", table)
    assert rows == ["Maison Lumière", "Atelier Nuit"]
    assert "8\u202f400" in table or "8 400" in table or "8\u00a0400" in table  # Atelier Nuit's followers


# -- Instagram Business Discovery -----------------------------------------------------------------
IG_USER = "17841405822304914"
DISCOVERY_FIELDS = ("business_discovery.username(ateliernuit){{username,followers_count,media_count,{edge}"
                    "{{id,caption,media_type,media_product_type,permalink,timestamp,like_count,comments_count}}}}")


def test_instagram_reads_a_competitors_public_posts_and_followers_through_business_discovery(replay_server) -> None:
    """Three pages of media (the third is wholly before the window: the paging stops there); 18008 hides its
    likes (no like_count): its likes are unknown, not 0. The follower count read on 24 November
    stands for the window's last day."""
    from datetime import date, datetime, timezone

    from cmflow import Period
    from cmflow.builtin.sources.instagram import Instagram
    from source_helpers import fetch_frames, virtual_client

    first, second, third = load_replies(COMPETITOR / "instagram_business_discovery_pages.json",
                                 rebase={"https://graph.facebook.com": replay_server.url})
    replay_server.add("GET", f"/v25.0/{IG_USER}", first, query={"fields": DISCOVERY_FIELDS.format(edge="media.limit(50)")})
    replay_server.add("GET", f"/v25.0/{IG_USER}", second,
                      query={"fields": DISCOVERY_FIELDS.format(edge="media.after(QVFIUkJE).limit(50)")})
    replay_server.add("GET", f"/v25.0/{IG_USER}", third,
                      query={"fields": DISCOVERY_FIELDS.format(edge="media.after(QVFIUkNE).limit(50)")})
    # The own account: its profile, and no media this week (no insights to read).
    replay_server.add("GET", f"/v25.0/{IG_USER}", *load_replies(OWN.parent / "instagram" / "profile.json"),
                      query={"fields": "id,username,followers_count"})
    replay_server.add("GET", f"/v25.0/{IG_USER}/media", Reply(200, json={"data": [], "paging": {}}))
    source = Instagram(Instagram.Options(accounts=[IG_USER], access_token="EAAGtestTOKEN0123456789secret",
                                         fetch=["posts", "account_snapshots"], account_metrics=[],
                                         public_accounts=["@ateliernuit"],
                                         base_url=replay_server.url, allow_private_network=True), entry_id="ig")
    window = (datetime(2026, 11, 15, tzinfo=timezone.utc), datetime(2026, 11, 23, tzinfo=timezone.utc))
    with virtual_client() as client:
        frames, _ = fetch_frames(source, client, window, [Period(date(2026, 11, 16), date(2026, 11, 22), "UTC")])
    frames = {kind: frame.filter(pl.col("account") == "ateliernuit") for kind, frame in frames.items()}
    posts = frames["post"].sort("published_at", descending=True).to_dicts()
    assert [(p["post_id"], p["account"], p["format"], p["likes"], p["comments"]) for p in posts] == [
        ("18011", "ateliernuit", "image", 310, 22), ("18010", "ateliernuit", "carousel", 150, 9),
        ("18009", "ateliernuit", "reel", 95, 4), ("18008", "ateliernuit", "image", None, 3)]
    assert posts[0]["reach"] is None and posts[0]["saves"] is None  # private to the account
    assert frames["account_snapshot"].select("account", "date", "followers").to_dicts() == [
        {"account": "ateliernuit", "date": date(2026, 11, 22), "followers": 12800}]
    assert len([r for r in replay_server.requests if 'business_discovery' in r.params.get('fields', '')]) == 3


def test_business_discovery_needs_facebook_login() -> None:
    import pydantic

    from cmflow.builtin.sources.instagram import Instagram

    with pytest.raises(pydantic.ValidationError, match="Business Discovery"):
        Instagram.Options(accounts=[IG_USER], access_token="x", login="instagram", public_accounts=["ateliernuit"])
    with pytest.raises(pydantic.ValidationError, match="is not an Instagram username"):
        Instagram.Options(accounts=[IG_USER], access_token="x", public_accounts=["atelier nuit"])


# -- YouTube channel statistics -------------------------------------------------------------------
YOUTUBE = HERE / "fixtures" / "sources" / "youtube"
NUIT_CHANNEL = "UCn8tB2vR6xQ1mK9pL4wZ7aJ"
YOUTUBE_WORKFLOW = """
[workflow]
name = "YouTube benchmark"
timezone = "UTC"
period = "last_week"
as_of = "2026-11-23"
compare = []

[listen.brand]
id = "lumiere"
name = "Maison Lumière"
accounts = ["@maisonlumiere"]

[[listen.competitors]]
id = "nuit"
name = "Atelier Nuit"
accounts = ["@ateliernuit"]

[[sources]]
id = "yt_own"
plugin = "youtube"
token = "${{env:YOUTUBE_TOKEN}}"
fetch = ["account_snapshots"]
base_url = "{url}"
analytics_base_url = "{url}"
allow_private_network = true

[[sources]]
id = "yt_nuit"
plugin = "youtube"
token = "${{env:YOUTUBE_TOKEN}}"
channel_id = "{nuit}"
fetch = ["account_snapshots"]
base_url = "{url}"
allow_private_network = true

[[metrics]]
plugin = "followers"
by = ["overall", "brand"]
"""


def test_a_youtube_competitors_subscribers_sit_beside_the_brands_followers(replay_server, tmp_path, monkeypatch) -> None:
    """The brand's own channel gives its followers through Analytics (12,400 on the 21st, the last
    day Analytics reports); the competitor's, through its public channels.list statistics read on
    24 November (31,700, for the 22nd). The overall row is the brand's alone."""
    from cmflow.builtin.sources import youtube

    vtime = VirtualTime()
    monkeypatch.setattr(cmflow.http, "make_client",
                        functools.partial(cmflow.http.make_client, clock=vtime.clock, sleep=vtime.sleep))
    monkeypatch.setenv("YOUTUBE_TOKEN", "ya29.a0AfB_byC-yt-test-token-5f3c9e1d7b")
    channels = "/youtube/v3/channels"
    replay_server.add("GET", channels, *load_replies(YOUTUBE / "channel.json"),
                      query={"part": "snippet,contentDetails,statistics", "mine": "true"})
    replay_server.add("GET", channels, *load_replies(YOUTUBE / "channel_competitor.json"), query={"id": NUIT_CHANNEL})
    replay_server.add("GET", channels, *load_replies(YOUTUBE / "channel_mine_id.json"),
                      query={"part": "id", "mine": "true"})
    replay_server.add("GET", "/v2/reports", *load_replies(YOUTUBE / "analytics_daily.json"))
    path = tmp_path / "youtube.toml"
    path.write_text(YOUTUBE_WORKFLOW.format(url=replay_server.url, nuit=NUIT_CHANNEL), encoding="utf-8")

    with registered_plugin(followers, package=followers.__name__), \
            registered_plugin(youtube, package=youtube.__name__):
        result = run_workflow_file(path, store_url=f"sqlite:///{tmp_path}/state.db")

    assert result.status == "ok", [s.error for s in result.failed_stages]
    assert current(result, "followers", "brand") == {None: 12400, "lumiere": 12400, "nuit": 31700}
    assert [r for r in replay_server.requests if r.path == "/v2/reports"][0].params["ids"] == "channel==MINE"
    assert replay_server.unmatched == []
