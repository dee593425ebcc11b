"""Listening (issue 17, Watch) through whole runs: a ``[listen]`` section, an RSS alert feed, a
Bluesky search and a CSV export holding overlapping mentions of a brand and its competitor, into a
real SQLite store.

The week of 16-22 November 2026 as the sources give it (fixtures in tests/fixtures/listening):

- Bluesky search, "Maison Lumière": B1 Julie (#MaisonLumiere, #noel), B2 Marc (maison lumiere ou
  @ateliernuit: both brands, #noel), B3 Ana (en, #Lyon), B4 Kai (in German: dropped);
  "Atelier Nuit": B5 Tom (#Noël) and B2 again (one mention).
- Alert feed: R1 the reopening article, R2 an article naming both, R3 "lumière du jour"
  (excluded), R4 Julie's Bluesky post (B1's link: merged), R5 "Les lumières de Noël" (no brand).
- Export: C1 Lea on X (reach 1200), C2 the reopening article again (its link with www. and a
  utm parameter: merged with R1, reach 5000), C3 Marc's post (same author and text 20 minutes
  later, no link: merged with B2, reach 300), C4 on X naming @AtelierNuit (reach 800).

Kept: B1, B2, B3, B5, R1, R2, C1, C4 (8 mentions; 1 excluded, 1 in another language, 1 naming
no brand, 3 merged copies). Maison Lumière: B1 B2 B3 R1 R2 C1 = 6; Atelier Nuit: B2 B5 R2 C4 = 4.
"""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl
import pytest

from cmflow.builtin.metrics import conversation_counts, listening, sentiment
from cmflow.builtin.sources import bluesky, csv_source, json_source, rss
from cmflow.foundation.errors import WorkflowInvalid
from cmflow.testing import load_replies, registered_plugin, replay_server, run_workflow_file  # noqa: F401
from cmflow.workflow import load_workflow

FIXTURES = Path(__file__).parent / "fixtures" / "listening"
SESSION = Path(__file__).parent / "fixtures" / "sources" / "bluesky" / "create_session.json"
SEARCH = "/xrpc/app.bsky.feed.searchPosts"

LISTEN = """
[listen]
exclude = ["lumière du jour"]
languages = ["fr", "en"]

[listen.brand]
id = "lumiere"
name = "Maison Lumière"
terms = ["#MaisonLumiere", "@maisonlumiere"]

[[listen.competitors]]
id = "nuit"
name = "Atelier Nuit"
"""

WORKFLOW = """
[workflow]
name = "Veille"
timezone = "UTC"
period = "last_week"
as_of = "2026-11-23"
compare = []
{listen}
[[sources]]
id = "bsky"
plugin = "bluesky"
accounts = ["maisonlumiere.bsky.social"]
fetch = ["search"]
search = ["Maison Lumière", "Atelier Nuit"]
app_password = "${{env:BLUESKY_APP_PASSWORD}}"
base_url = "{url}"
pds_url = "{url}"
allow_private_network = true

[[sources]]
id = "alerts"
plugin = "rss"
feeds = ["{url}/alerts.xml"]
platform = "press"
allow_private_network = true

[[sources]]
id = "export"
plugin = "csv"
path = "{export}"
record = "mention"
datetime_format = "%Y-%m-%d %H:%M"
timezone = "UTC"
columns = {{mention_id = "ID", platform = "Network", published_at = "Date", author = "Author", text = "Mention", url = "Link", reach = "Reach", language = "Language"}}
{metrics}
"""

METRICS = """
[[metrics]]
plugin = "mentions"
by = ["overall", "brand", "platform", ["brand", "platform"]]

[[metrics]]
plugin = "share_of_voice"
by = ["overall", "platform"]

[[metrics]]
id = "sov_reach"
plugin = "share_of_voice"
weight = "reach"
by = ["overall"]

[[metrics]]
plugin = "mention_reach"
by = ["overall", "brand"]

[[metrics]]
plugin = "top_hashtags"
n = 3
by = ["overall"]
"""

PLUGINS = (bluesky, rss, csv_source, json_source, conversation_counts, listening, sentiment)


def run(tmp_path: Path, server, monkeypatch, listen: str = LISTEN, metrics: str = METRICS):
    monkeypatch.setenv("BLUESKY_APP_PASSWORD", "abcd-efgh-ijkl-mnop")
    server.add("POST", "/xrpc/com.atproto.server.createSession", *load_replies(SESSION))
    server.add("GET", SEARCH, *load_replies(FIXTURES / "bluesky_search_brand.json"), query={"q": "Maison Lumière"})
    server.add("GET", SEARCH, *load_replies(FIXTURES / "bluesky_search_competitor.json"), query={"q": "Atelier Nuit"})
    server.add("GET", "/alerts.xml", *load_replies(FIXTURES / "alerts_rss.json"))
    path = tmp_path / "veille.toml"
    path.write_text(WORKFLOW.format(listen=listen, url=server.url, export=FIXTURES / "mentions_export.csv",
                                    metrics=metrics), encoding="utf-8")
    with _registered(PLUGINS):
        return run_workflow_file(path, store_url=f"sqlite:///{tmp_path}/state.db")


def _registered(modules):
    from contextlib import ExitStack

    stack = ExitStack()
    for module in modules:
        stack.enter_context(registered_plugin(module, package=module.__name__))
    return stack


def current(result, metric: str, *dimensions: str) -> dict:
    rows = result.measurements.filter((pl.col("period") == "current") & (pl.col("metric") == metric))
    return {tuple(row[d] for d in dimensions): row["value"] for row in rows.iter_rows(named=True)}


def test_the_watch_stage_keeps_labels_and_merges_the_mentions_of_three_sources(replay_server, tmp_path,
                                                                              monkeypatch) -> None:
    result = run(tmp_path, replay_server, monkeypatch)

    assert result.status == "ok", [s.error for s in result.failed_stages]
    [report] = [s for s in result.stages if s.kind == "listen"]
    assert report.counts == {"mentions": 8, "excluded": 1, "other languages": 1, "naming no brand": 1,
                             "merged duplicates": 3}
    assert report.note == ("8 mentions of the watched brands kept; left out: 1 excluded, 1 in another language, "
                           "1 naming no brand; 3 copies of a mention another source also found, merged")
    mentions = result.records["mention"].sort("published_at")
    assert [(m["platform"], m["author"], m["brands"], m["reach"]) for m in mentions.iter_rows(named=True)] == [
        ("bluesky", "ana.bsky.social", ["lumiere"], None),  # B3, 17 Nov
        ("x", "@Lea_L", ["lumiere"], 1200),  # C1, 18 Nov
        ("press", "Marc", ["lumiere", "nuit"], None),  # R2, 19 Nov 07:00
        ("x", "@nuit_fan", ["nuit"], 800),  # C4
        ("bluesky", "marc.lyon.social", ["lumiere", "nuit"], 300),  # B2 + C3: the export's reach
        ("press", "Julie Martin", ["lumiere"], 5000),  # R1 + C2
        ("bluesky", "julie.bsky.social", ["lumiere"], None),  # B1 + R4: the first source's copy
        ("bluesky", "tom.bsky.social", ["nuit"], None),  # B5
    ]
    # A search's post views carry their counters (likeCount, replyCount, repostCount); the export
    # and the feed give none. B2 + C3 keeps the first copy's: Bluesky's.
    assert [(m["author"], m["likes"], m["comments"], m["shares"]) for m in mentions.iter_rows(named=True)
            if m["author"] in ("ana.bsky.social", "@Lea_L", "marc.lyon.social", "Julie Martin")] == [
        ("ana.bsky.social", 4, 0, 1), ("@Lea_L", None, None, None), ("marc.lyon.social", 4, 0, 1),
        ("Julie Martin", None, None, None)]
    searches = [r.params for r in replay_server.requests if r.path == SEARCH]  # the window: a day of margin
    assert searches == [
        {"q": "Maison Lumière", "sort": "latest", "limit": "100", "since": "2026-11-15T00:00:00Z",
         "until": "2026-11-23T00:00:00Z"},
        {"q": "Maison Lumière", "sort": "latest", "limit": "100", "since": "2026-11-15T00:00:00Z",
         "until": "2026-11-23T00:00:00Z", "cursor": "2"},
        {"q": "Atelier Nuit", "sort": "latest", "limit": "100", "since": "2026-11-15T00:00:00Z",
         "until": "2026-11-23T00:00:00Z"}]


def test_volume_share_of_voice_reach_and_hashtags_by_hand(replay_server, tmp_path, monkeypatch) -> None:
    result = run(tmp_path, replay_server, monkeypatch)

    assert result.status == "ok", [s.error for s in result.failed_stages]
    # A mention naming both brands (B2, R2) is one mention overall, one for each brand.
    assert current(result, "mentions", "brand", "platform") == {
        (None, None): 8, ("lumiere", None): 6, ("nuit", None): 4,
        (None, "bluesky"): 4, (None, "press"): 2, (None, "x"): 2,
        ("lumiere", "bluesky"): 3, ("lumiere", "press"): 2, ("lumiere", "x"): 1,
        ("nuit", "bluesky"): 2, ("nuit", "press"): 1, ("nuit", "x"): 1}
    # 6 / (6 + 4) and 4 / 10; per platform: Bluesky 3 and 2, the press 2 and 1, X 1 and 1.
    assert current(result, "share_of_voice", "brand", "platform") == pytest.approx({
        ("lumiere", None): 60.0, ("nuit", None): 40.0,
        ("lumiere", "bluesky"): 60.0, ("nuit", "bluesky"): 40.0,
        ("lumiere", "press"): 200 / 3, ("nuit", "press"): 100 / 3,
        ("lumiere", "x"): 50.0, ("nuit", "x"): 50.0})
    # Reach known for B2 (300, both brands), R1 (5000), C1 (1200) and C4 (800):
    # Maison Lumière 300 + 5000 + 1200 = 6500, Atelier Nuit 300 + 800 = 1100, of 7600.
    assert current(result, "share_of_voice_by_reach", "brand") == pytest.approx({
        ("lumiere",): 6500 / 7600 * 100, ("nuit",): 1100 / 7600 * 100})
    assert current(result, "mention_reach", "brand") == {(None,): 7300, ("lumiere",): 6500, ("nuit",): 1100}
    # #noel: B1, B2, B5 (#Noël) and C1 (#Noel); #maisonlumiere: B1 and C1; #lyon: B3.
    assert current(result, "top_hashtags", "rank", "hashtag") == {
        (1, "#noel"): 4, (2, "#maisonlumiere"): 2, (3, "#lyon"): 1}


def test_a_watched_brand_never_mentioned_has_a_share_of_voice_of_0(replay_server, tmp_path, monkeypatch) -> None:
    """A third brand no mention names: mentions by brand gives it 0, and so does share_of_voice,
    overall and on each platform (the shares of the others unchanged: 6 / 10 and 4 / 10 ...)."""
    listen = LISTEN + '\n[[listen.competitors]]\nid = "soleil"\nname = "Studio Soleil Levant"\n'
    result = run(tmp_path, replay_server, monkeypatch, listen=listen)
    assert result.status == "ok", [s.error for s in result.failed_stages]
    assert current(result, "mentions", "brand")[("soleil",)] == 0
    assert current(result, "share_of_voice", "brand", "platform") == pytest.approx({
        ("lumiere", None): 60.0, ("nuit", None): 40.0, ("soleil", None): 0.0,
        ("lumiere", "bluesky"): 60.0, ("nuit", "bluesky"): 40.0, ("soleil", "bluesky"): 0.0,
        ("lumiere", "press"): 200 / 3, ("nuit", "press"): 100 / 3, ("soleil", "press"): 0.0,
        ("lumiere", "x"): 50.0, ("nuit", "x"): 50.0, ("soleil", "x"): 0.0})
    assert current(result, "share_of_voice_by_reach", "brand") == pytest.approx({
        ("lumiere",): 6500 / 7600 * 100, ("nuit",): 1100 / 7600 * 100, ("soleil",): 0.0})


def test_share_of_voice_is_kept_in_the_store(replay_server, tmp_path, monkeypatch) -> None:
    from cmflow.store import open_store

    result = run(tmp_path, replay_server, monkeypatch)
    with open_store(f"sqlite:///{tmp_path}/state.db") as store:
        stored = store.measurement_history(result.workflow.key, ["share_of_voice"],
                                           [(result.period.start, result.period.end)])
    overall = stored.filter(pl.col("platform").is_null()).sort("brand")
    assert overall.select("brand", "value").rows() == [("lumiere", 60.0), ("nuit", 40.0)]


SENTIMENT_EXPORT = [
    {"platform": "x", "mention_id": "1", "published_at": "2026-11-17T10:00:00Z", "text": "Maison Lumière, parfait",
     "sentiment": "positive"},
    {"platform": "x", "mention_id": "2", "published_at": "2026-11-17T11:00:00Z",
     "text": "Maison Lumière et Atelier Nuit : bof", "sentiment": "negative"},
    {"platform": "x", "mention_id": "3", "published_at": "2026-11-18T11:00:00Z", "text": "ATELIER NUIT top",
     "sentiment": "positive"},
    {"platform": "x", "mention_id": "4", "published_at": "2026-11-18T12:00:00Z", "text": "atelier nuit, super",
     "sentiment": "positive"},
]


def test_a_week_without_mentions_has_no_share_of_voice_and_no_failure(tmp_path) -> None:
    (tmp_path / "export.json").write_text("[]", encoding="utf-8")
    (tmp_path / "w.toml").write_text(f"""
[workflow]
name = "Quiet"
timezone = "UTC"
period = "last_week"
as_of = "2026-11-23"
compare = []
{LISTEN}
[[sources]]
id = "export"
plugin = "json"
path = "export.json"
record = "mention"

[[metrics]]
plugin = "mentions"
by = ["overall", "brand"]

[[metrics]]
plugin = "share_of_voice"
by = ["overall"]
""", encoding="utf-8")
    with _registered(PLUGINS):
        result = run_workflow_file(tmp_path / "w.toml", store_url=f"sqlite:///{tmp_path}/s.db")
    assert result.status == "ok", [s.error for s in result.failed_stages]
    assert current(result, "mentions", "brand") == {(None,): 0, ("lumiere",): 0, ("nuit",): 0}
    assert current(result, "share_of_voice", "brand") == {}
    [report] = [s for s in result.stages if s.kind == "listen"]
    assert report.note == "0 mentions of the watched brands kept"


def test_net_sentiment_per_brand(tmp_path) -> None:
    """Net sentiment = (positive - negative) / classified x 100. Maison Lumière: mentions 1 (+)
    and 2 (-): 0 %; Atelier Nuit: 2 (-), 3 (+), 4 (+): (2 - 1) / 3 = 33.3 %; overall, mention 2
    once: (3 - 1) / 4 = 50 %."""
    import json

    (tmp_path / "export.json").write_text(json.dumps(SENTIMENT_EXPORT), encoding="utf-8")
    (tmp_path / "w.toml").write_text(f"""
[workflow]
name = "Sentiment"
timezone = "UTC"
period = "last_week"
as_of = "2026-11-23"
compare = []
{LISTEN}
[[sources]]
id = "export"
plugin = "json"
path = "export.json"
record = "mention"

[[metrics]]
plugin = "net_sentiment"
records = "mention"
by = ["overall", "brand"]
""", encoding="utf-8")
    with _registered(PLUGINS):
        result = run_workflow_file(tmp_path / "w.toml", store_url=f"sqlite:///{tmp_path}/s.db")
    assert result.status == "ok", [s.error for s in result.failed_stages]
    assert current(result, "net_sentiment_mentions", "brand") == pytest.approx({
        (None,): 50.0, ("lumiere",): 0.0, ("nuit",): 100 / 3})


# -- validation -----------------------------------------------------------------------------------
def _invalid(tmp_path: Path, text: str) -> list[tuple[str, str]]:
    (tmp_path / "w.toml").write_text(text, encoding="utf-8")
    with _registered(PLUGINS), pytest.raises(WorkflowInvalid) as caught:
        load_workflow(tmp_path / "w.toml")
    return [(p.path, p.message) for p in caught.value.problems]


BASE = """
[workflow]
name = "V"

[[sources]]
id = "export"
plugin = "json"
path = "export.json"
record = "mention"
"""


def test_listen_problems_name_their_key_paths(tmp_path) -> None:
    (tmp_path / "export.json").write_text("[]", encoding="utf-8")
    problems = _invalid(tmp_path, BASE + """
[listen]
languages = ["french"]
exclude = ["   "]

[listen.brand]
id = "lumiere"
name = "Maison Lumière"
tems = ["#x"]

[[listen.competitors]]
id = "nuit"
name = "#"
""")
    assert problems == [
        ("listen.brand.tems", "unknown option 'tems'"),
        ("listen.competitors[0].name", "'#' has no letter or digit: it would match nothing"),
        ("listen.exclude[0]", "'   ' has no letter or digit: it would match nothing"),
        ("listen.languages[0]", "'french' is not a two-letter ISO 639-1 code in lower case (fr, en, de ...)")]


def test_listen_brand_ids_are_distinct_and_its_sources_exist(tmp_path) -> None:
    (tmp_path / "export.json").write_text("[]", encoding="utf-8")
    problems = _invalid(tmp_path, BASE + """
[listen]
sources = ["exprot"]

[listen.brand]
id = "lumiere"
name = "Maison Lumière"

[[listen.competitors]]
id = "lumiere"
name = "Lumière & Co"
""")
    assert problems == [("listen.competitors[0].id", "brand id 'lumiere' is already used"),
                        ("listen.sources[0]", "no source has id 'exprot'")]


def test_a_brands_client_must_be_one_of_the_workflows_clients(tmp_path) -> None:
    (tmp_path / "export.json").write_text("[]", encoding="utf-8")
    problems = _invalid(tmp_path, BASE + """
[[clients]]
id = "maison-lumiere"
name = "Maison Lumière"
language = "fr"
accounts = ["maisonlumiere"]

[listen.brand]
id = "lumiere"
name = "Maison Lumière"
client = "maison-lumiere"

[[listen.competitors]]
id = "nuit"
name = "Atelier Nuit"
client = "maison-lumier"
""")
    assert problems == [("listen.competitors[0].client",
                         "no [[clients]] entry has id 'maison-lumier'")]


def test_a_brand_breakdown_without_listen_is_refused(tmp_path) -> None:
    (tmp_path / "export.json").write_text("[]", encoding="utf-8")
    problems = _invalid(tmp_path, BASE + """
[[metrics]]
plugin = "mentions"
by = ["brand"]

[[metrics]]
plugin = "share_of_voice"
by = ["overall"]
""")
    assert problems == [
        ("metrics[0].by[0]", "a brand breakdown needs the brands a [listen] section watches, and the workflow has none"),
        ("metrics[1]", "metric 'share_of_voice' compares the brands a [listen] section watches, and the workflow "
                       "has none")]


# -- terms and merging, piece by piece -----------------------------------------------------------
def _listen(**keys):
    from cmflow.foundation.listening import Listen, WatchedBrand

    brands = (WatchedBrand("lumiere", "Maison Lumière", ("Maison Lumière", "#BougieLumiere"), ("lumière noire",)),
              WatchedBrand("nuit", "Atelier Nuit", ("Atelier Nuit",)))
    return Listen(brands, **keys)


@pytest.mark.parametrize(("text", "brands"), [
    ("J'adore MAISON LUMIERE !", ["lumiere"]),  # case and accents
    ("maison\n  lumière", ["lumiere"]),  # blanks inside a term
    ("#MaisonLumiere", ["lumiere"]),  # the name as a hashtag
    ("merci @maisonlumiere.bsky.social", ["lumiere"]),  # ... and as a handle
    ("@bougielumiere", ["lumiere"]),  # a hashtag term matches its handle too
    ("bougielumiere", []),  # but not a bare word
    ("maisons lumières", []),  # whole words only
    ("#MaisonLumiereShop", []),
    ("xMaison Lumière", []),
    ("Maison Lumière vs atelier nuit", ["lumiere", "nuit"]),
    ("Atelier Nuit et Maison Lumière", ["lumiere", "nuit"]),  # the brand first, whatever the text's order
    ("Maison Lumière, lumière noire", []),  # the brand's own exclusion
    ("Maison Lumière, lumière noire, Atelier Nuit", ["nuit"]),  # ... which leaves the other brand
    ("", []),
])
def test_terms_match_without_case_or_accents_on_word_boundaries(text, brands) -> None:
    assert _listen().brands_named(pl.Series([text, None])).to_list() == [brands, []]


def test_exclusions_match_like_terms() -> None:
    listen = _listen(exclude=("lumière du jour",))
    assert listen.excluded(pl.Series(["Profitez de la LUMIERE DU JOUR", "lumière du jourdain", None])).to_list() == [
        True, False, False]


def test_normalised_urls_drop_what_two_copies_of_a_page_differ_by() -> None:
    from cmflow.foundation.listening import normalised_urls

    assert normalised_urls(pl.Series([
        "http://WWW.Example.org/a/b/?utm_source=x&id=3&fbclid=y#top", "https://example.org/a/b",
        "https://user@Example.org:8443/A?utm_medium=email", "example.org/a/b/", "  ", None,
        "https://x.com/Lea_L/status/1001?t=abc&s=20", "https://blog.fr/?s=lumiere", "https://blog.fr/?s=nuit",
        "https://ex.org/p?b=2&a=1&utm_source=x"])).to_list() == [
        "example.org/a/b?id=3", "example.org/a/b", "example.org/A", "example.org/a/b", None, None,
        # s is kept (a WordPress search: two searches are two pages), but for X's share s=20;
        # the parameters sorted.
        "x.com/Lea_L/status/1001?t=abc", "blog.fr?s=lumiere", "blog.fr?s=nuit", "ex.org/p?a=1&b=2"]


def _watched(rows: list[dict], window_hours: float = 1, languages: tuple[str, ...] = ()):
    from datetime import datetime, timedelta, timezone

    from cmflow.foundation.records import RecordTable
    from cmflow.stages.fetch import Fetched
    from cmflow.stages.watch import watch

    frames = []
    for source_id, row in rows:
        row = {"published_at": datetime(2026, 11, 20, 12, tzinfo=timezone.utc), **row}
        frames.append(RecordTable.from_rows("mention", [row]).conformed()
                      .with_columns(pl.lit(source_id).alias("source_id")))
    listen = _listen(duplicate_window=timedelta(hours=window_hours), languages=languages)
    workflow = type("W", (), {"listen": listen})()
    watched = watch(workflow, Fetched({"mention": pl.concat(frames)}, [], []))
    [report] = watched.reports
    return watched.fetched_and_watched.records["mention"], report.counts


def test_same_author_and_text_merge_within_the_window_only() -> None:
    from datetime import datetime, timezone

    text = "Maison Lumière 👍 https://t.co/abc"
    later = {"published_at": datetime(2026, 11, 20, 13, 0, 1, tzinfo=timezone.utc)}  # 1 h and 1 s later
    mentions, counts = _watched([
        ("a", {"platform": "x", "mention_id": "1", "author": "@Lea", "text": text}),
        ("b", {"platform": "x", "mention_id": "2", "author": "lea", "text": "maison  lumiere 👍", "reach": 40}),
        ("b", {"platform": "x", "mention_id": "3", "author": "lea", "text": text, **later}),
    ])
    assert mentions.select("mention_id", "reach", "source_id").rows() == [("1", 40, "a"), ("3", None, "b")]
    assert counts["merged duplicates"] == 1


def test_languages_are_compared_by_their_primary_subtag_and_und_is_not_known() -> None:
    """With languages fr and en: fr-FR and EN_gb are kept, und (undetermined) is kept as not
    known, de-DE is dropped (before, "und" read as "un": dropped)."""
    mentions, counts = _watched([
        ("a", {"platform": "x", "mention_id": str(i), "author": f"a{i}", "text": "Maison Lumière", "language": code})
        for i, code in enumerate(["fr-FR", "EN_gb", "und", "de-DE"])], languages=("fr", "en"))
    assert mentions["mention_id"].to_list() == ["0", "1", "2"]
    assert counts["other languages"] == 1


def test_the_duplicate_window_counts_from_the_first_copy_not_the_last() -> None:
    """Copies at 12:00, 12:50 and 13:40 with a 1 h window: the second is 50 min from the first,
    merged; the third is 100 min from the first (50 from the second): a mention of its own."""
    from datetime import datetime, timezone

    def at(hour: int, minute: int) -> dict:
        return {"published_at": datetime(2026, 11, 20, hour, minute, tzinfo=timezone.utc)}

    mentions, counts = _watched([
        ("a", {"platform": "x", "mention_id": "1", "author": "lea", "text": "Maison Lumière", **at(12, 0)}),
        ("b", {"platform": "x", "mention_id": "2", "author": "lea", "text": "Maison Lumière", **at(12, 50)}),
        ("b", {"platform": "x", "mention_id": "3", "author": "lea", "text": "Maison Lumière", **at(13, 40)}),
    ])
    assert mentions["mention_id"].to_list() == ["1", "3"]
    assert counts["merged duplicates"] == 1


def test_a_mention_whose_copies_name_different_brands_names_both() -> None:
    mentions, counts = _watched([
        ("feed", {"platform": "press", "mention_id": "a1", "text": "Maison Lumière", "url": "https://ex.org/p"}),
        ("export", {"platform": "web", "mention_id": "w1", "text": "Atelier Nuit", "url": "http://ex.org/p/"}),
    ])
    assert mentions.select("mention_id", "brands").rows() == [("a1", ["lumiere", "nuit"])]
    assert counts == {"mentions": 1, "excluded": 0, "other languages": 0, "naming no brand": 0,
                      "merged duplicates": 1}


def test_search_needs_a_login_and_terms_in_fetch() -> None:
    import pydantic

    from cmflow.builtin.sources.bluesky import BlueskyOptions

    with pytest.raises(pydantic.ValidationError, match="search needs a login"):
        BlueskyOptions(accounts=["maisonlumiere.bsky.social"], fetch=["search"], search=["x"])
    with pytest.raises(pydantic.ValidationError, match="search lists terms but fetch has no search"):
        BlueskyOptions(accounts=["maisonlumiere.bsky.social"], fetch=["posts"], search=["x"])


SEARCH_ONLY = """
[workflow]
name = "Veille"
{listen}
[[sources]]
id = "bsky"
plugin = "bluesky"
accounts = ["maisonlumiere.bsky.social"]
fetch = ["search"]
app_password = "${{env:BLUESKY_APP_PASSWORD}}"

[[sources]]
id = "masto"
plugin = "mastodon"
base_url = "https://mastodon.social"
accounts = ["maisonlumiere"]
token = "${{env:MASTODON_TOKEN}}"
fetch = ["hashtags"]
"""


def test_a_search_without_terms_searches_the_listen_terms(tmp_path, monkeypatch) -> None:
    """Bluesky: one search per [listen] term, a name of several words as a phrase. Mastodon: each
    term as a hashtag, one timeline for #MaisonLumiere and Maison Lumière (accents aside), no
    @handle."""
    monkeypatch.setenv("BLUESKY_APP_PASSWORD", "abcd-efgh-ijkl-mnop")
    monkeypatch.setenv("MASTODON_TOKEN", "t0k3n")
    (tmp_path / "w.toml").write_text(SEARCH_ONLY.format(listen=LISTEN), encoding="utf-8")
    workflow = load_workflow(tmp_path / "w.toml")
    bsky, masto = workflow.sources
    assert bsky.plugin.options.search == ['"Maison Lumière"', "#MaisonLumiere", "@maisonlumiere", '"Atelier Nuit"']
    assert masto.plugin.options.hashtags == ["MaisonLumière", "AtelierNuit"]
    assert (bsky.plugin.entry_id, masto.plugin.entry_id) == ("bsky", "masto")


def test_a_search_without_terms_and_without_listen_is_refused_at_its_option(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("BLUESKY_APP_PASSWORD", "abcd-efgh-ijkl-mnop")
    monkeypatch.setenv("MASTODON_TOKEN", "t0k3n")
    (tmp_path / "w.toml").write_text(SEARCH_ONLY.format(listen=""), encoding="utf-8")
    with pytest.raises(WorkflowInvalid) as raised:
        load_workflow(tmp_path / "w.toml")
    assert [(p.path, p.message) for p in raised.value.problems] == [
        ("sources[0].search", "bluesky is asked to search but has no terms, and the workflow has no [listen] "
                              "section whose terms it would search"),
        ("sources[1].hashtags", "mastodon is asked to search but has no terms, and the workflow has no [listen] "
                                "section whose terms it would search")]
    text = SEARCH_ONLY.format(listen=LISTEN.replace("[listen]\n", '[listen]\nsources = ["masto"]\n'))
    (tmp_path / "w.toml").write_text(text, encoding="utf-8")
    with pytest.raises(WorkflowInvalid) as raised:
        load_workflow(tmp_path / "w.toml")
    [problem] = raised.value.problems
    assert problem.path == "sources[0].search" and "listen.sources leaves 'bsky' out" in problem.message


def test_a_run_searches_bluesky_for_the_listen_names(replay_server, tmp_path, monkeypatch) -> None:
    """The run's requests: the brand's and the competitor's names as phrases, no search = [...]."""
    monkeypatch.setenv("BLUESKY_APP_PASSWORD", "abcd-efgh-ijkl-mnop")
    replay_server.add("POST", "/xrpc/com.atproto.server.createSession", *load_replies(SESSION))
    replay_server.add("GET", SEARCH, *load_replies(FIXTURES / "bluesky_search_brand.json"),
                      query={"q": '"Maison Lumière"'})
    replay_server.add("GET", SEARCH, *load_replies(FIXTURES / "bluesky_search_competitor.json"),
                      query={"q": '"Atelier Nuit"'})
    listen = LISTEN.replace('terms = ["#MaisonLumiere", "@maisonlumiere"]\n', "")
    text = WORKFLOW.format(listen=listen, url=replay_server.url, export=FIXTURES / "mentions_export.csv",
                           metrics=METRICS).replace('search = ["Maison Lumière", "Atelier Nuit"]\n', "")
    (tmp_path / "veille.toml").write_text(text, encoding="utf-8")
    replay_server.add("GET", "/alerts.xml", *load_replies(FIXTURES / "alerts_rss.json"))
    with _registered(PLUGINS):
        result = run_workflow_file(tmp_path / "veille.toml", store_url=f"sqlite:///{tmp_path}/state.db")
    assert result.status == "ok", [s.error for s in result.failed_stages]
    assert [r.params["q"] for r in replay_server.requests if r.path == SEARCH] == [
        '"Maison Lumière"', '"Maison Lumière"', '"Atelier Nuit"']  # the brand's answer has two pages
    assert result.records["mention"].filter(pl.col("source_id") == "bsky").height > 0


def test_mastodon_hashtag_timelines_become_mentions(replay_server) -> None:
    from datetime import date, datetime, timezone

    from cmflow import Period
    from cmflow.builtin.sources.mastodon import MastodonOptions, MastodonSource
    from source_helpers import fetch_records, virtual_client

    path = "/api/v1/timelines/tag/MaisonLumiere"
    replay_server.add("GET", path, *load_replies(FIXTURES / "mastodon_tag_pages.json",
                                                 rebase={"https://mastodon.social/api": f"{replay_server.url}/api"}))
    options = MastodonOptions(base_url=replay_server.url, accounts=["maisonlumiere"], token="t0k3n",
                              fetch=["hashtags"], hashtags=["#MaisonLumiere", "maisonlumiere"],
                              allow_private_network=True)
    window = (datetime(2026, 11, 15, tzinfo=timezone.utc), datetime(2026, 11, 23, tzinfo=timezone.utc))
    with virtual_client(None) as client:
        records, problems = fetch_records(MastodonSource(options, entry_id="masto"), client, window,
                                          [Period(date(2026, 11, 16), date(2026, 11, 22), "UTC")])

    assert problems == [] and options.hashtags == ["MaisonLumiere"]  # one timeline: case aside, one hashtag
    assert [(m["mention_id"], m["author"], m["text"], m["url"], m["reach"], m["language"])
            for m in records["mention"]] == [
        ("115610000000000090", "@chloe@piaille.fr", "Déjà fan de la nouvelle bougie #MaisonLumiere",
         "https://piaille.fr/@chloe/115610000000000001", 412, "fr"),
        ("115610000000000070", "@sam@mastodon.online", "#maisonlumiere vs Atelier Nuit : le match des bûches",
         "https://mastodon.online/@sam/115610000000000002", 1260, "fr")]
    # favourites_count, replies_count and reblogs_count, as a status's
    assert [(m["likes"], m["comments"], m["shares"]) for m in records["mention"]] == [(3, 0, 1), (3, 0, 1)]
    first, second = [r for r in replay_server.requests if r.path == path]
    assert first.params == {"limit": "40"} and second.params == {"limit": "40", "max_id": "115610000000000080"}


def test_mastodon_hashtags_and_fetch_go_together() -> None:
    import pydantic

    from cmflow.builtin.sources.mastodon import MastodonOptions

    common = {"base_url": "https://mastodon.social", "accounts": ["maisonlumiere"], "token": "t"}
    with pytest.raises(pydantic.ValidationError, match="hashtags lists some but fetch has no hashtags"):
        MastodonOptions(**common, hashtags=["x"])
    with pytest.raises(pydantic.ValidationError, match="'#bad tag' is not a hashtag"):
        MastodonOptions(**common, fetch=["hashtags"], hashtags=["#bad tag"])


def test_a_rule_watches_a_competitors_share_of_voice(replay_server, tmp_path, monkeypatch) -> None:
    """Atelier Nuit's 40 % is above 35: the rule on its series fires, not the brand's (60 %
    also is, but the rule's where leaves it out), nor the platforms' (its by: each brand's whole;
    every row of share_of_voice is a brand's, so `by = ["overall"]` would watch none)."""
    from cmflow.builtin.triggers import threshold

    PLUGINS_WITH_TRIGGER = (*PLUGINS, threshold)
    monkeypatch.setattr(sys.modules[__name__], "PLUGINS", PLUGINS_WITH_TRIGGER)
    result = run(tmp_path, replay_server, monkeypatch, metrics=METRICS + """
[[triggers]]
plugin = "threshold"
metric = "share_of_voice"
where = { brand = "nuit" }
by = ["brand"]
above = 35
""")
    assert result.status == "ok", [s.error for s in result.failed_stages]
    assert [(a.metric, a.dimensions, a.value) for a in result.alerts] == [("share_of_voice", {"brand": "nuit"}, 40.0)]


def test_the_json_schema_knows_listen() -> None:
    """The [listen] example of docs/workflow-file.md is valid for editors; a misspelt key is not."""
    import re
    import tomllib

    import jsonschema

    from cmflow.plugins.registry import get_registry
    from cmflow.workflow_schema import workflow_schema

    page = (Path(__file__).parent.parent / "docs" / "workflow-file.md").read_text(encoding="utf-8")
    (example,) = [b for b in re.findall(r"^```toml\n(.*?)^```$", page, re.MULTILINE | re.DOTALL) if "[listen]" in b]
    validator = jsonschema.Draft202012Validator(workflow_schema(get_registry()))
    document = tomllib.loads(example)
    assert [e.message for e in validator.iter_errors(document)] == []
    document["listen"]["brand"]["tems"] = ["#x"]
    document["listen"]["duplicate_window"] = "1h"
    assert [e.message for e in validator.iter_errors(document)] == [
        "Additional properties are not allowed ('tems' was unexpected)"]


def test_top_hashtags_leave_out_link_fragments_entities_and_words_with_a_hash() -> None:
    """Tags: m1 #noel (the link's #frag, www.x.org/#top and the entity &#39; are not tags),
    m2 #Noël and #lyon (``#lyon`` after a comma), m3 #lyon at the start (c#sharp is not one)."""
    from datetime import date, datetime, timezone

    from cmflow import Period, RecordTable
    from cmflow.builtin.metrics.listening import TopHashtags
    from cmflow.stages.measure import MetricRequest, measure

    week = Period(date(2026, 11, 16), date(2026, 11, 22), "UTC")
    texts = ["Vu sur https://x.org/p#frag et www.x.org/#top, l&#39;atelier #noel",
             "Bientôt #Noël,#lyon", "#lyon et c#sharp"]
    rows = [{"platform": "x", "mention_id": f"m{i}", "published_at": datetime(2026, 11, 17, i, tzinfo=timezone.utc),
             "text": text} for i, text in enumerate(texts, 1)]
    frame = RecordTable.from_rows("mention", rows).conformed().with_columns(source_id=pl.lit("src"))
    metric = TopHashtags(TopHashtags.Options(), entry_id="tags")
    measured = measure([MetricRequest(metric, ["overall"], ["src"])], {"mention": frame}, [week])
    assert [(s.ok, s.error) for s in measured.reports] == [(True, None)]
    ranked = measured.measurements.filter(pl.col("period") == "current").sort("rank")
    assert ranked.select("rank", "hashtag", "value").rows() == [(1, "#lyon", 2.0), (2, "#noel", 2.0)]


def test_a_term_written_with_two_blanks_is_searched_once() -> None:
    """The default searches: "Maison  Lumière" (two blanks) is the name "Maison Lumière", one
    search; Bluesky's options, validated as Mastodon's are, run each query once."""
    from cmflow.builtin.sources.bluesky import BlueskyOptions, BlueskySource
    from cmflow.foundation.listening import Listen, WatchedBrand

    listen = Listen((WatchedBrand("lumiere", "Maison Lumière", ("Maison Lumière", "Maison  Lumière ", "#MaisonLumiere")),))
    assert listen.search_terms == ["Maison Lumière", "#MaisonLumiere"]
    source = BlueskySource(BlueskyOptions(accounts=["maisonlumiere.bsky.social"], fetch=["search"],
                                          app_password="abcd-efgh-ijkl-mnop"), entry_id="bsky")
    searched = source.with_search_terms(["Maison Lumière", '"Maison Lumière"', "#MaisonLumiere"])
    assert searched.options.search == ['"Maison Lumière"', "#MaisonLumiere"]
    assert searched.options.app_password.get_secret_value() == "abcd-efgh-ijkl-mnop"
