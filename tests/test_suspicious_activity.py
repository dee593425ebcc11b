"""Suspicious activity (issue 17) through a whole run: mentions (tests/fixtures/suspicious) read by
the json source, watched by ``[listen]``, examined by ``suspicious_mentions``.

The week of 16-22 November 2026 (Paris), by hand. A = "Maison Lumière vend des bûches périmées,
boycott total ce Noël": 10 words, 8 shingles of 3 words.

- 20 Nov, 20:00-20:45 UTC: a1 A, a2 A + "!!" (punctuation: same shingles), a3 "@ami " + A (9 shingles,
  8 shared: Jaccard 8/9 = 0.89), a4 A + a link (links dropped), a5 A in capitals (folded), a6 A:
  6 distinct authors within the hour, a burst of 6.
- a8 at 20:50: "... ce week-end" (9 shingles, 7 shared with A: 7/10 = 0.7 < 0.8): not part of it.
- a7 at 23:30: A again, but 2 h 45 after the last copy (window 1 h): not part of it.
- 18 Nov: five authors write "Maison Lumière ❤️": 2 words, under min_words (5): no burst.

Authors with no history (first seen this week; audience ≤ 50, or in a burst): a1 (3), a2 (0),
a3 (12), a4 (unknown audience, in the burst), a5 (2), a8 (7), a7 (1), by first mention. Not listed:
a6 (a mention on 12 November, in the previous week), b1-b5 (audience 500), c1 (unknown audience,
in no burst).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from cmflow.builtin.metrics import suspicious_mentions as suspicious_activity
from cmflow.builtin.metrics.suspicious_mentions import densest_window, jaccard, near_identical_groups, shingles
from cmflow.builtin.sources import json_source
from cmflow.testing import registered_plugin, run_workflow_file

MENTIONS = Path(__file__).parent / "fixtures" / "suspicious" / "mentions.json"
A = "maison lumiere vend des buches perimees, boycott total ce noel"

WORKFLOW = """
[workflow]
name = "Vigilance"
timezone = "Europe/Paris"
period = "last_week"
as_of = "2026-11-23"
compare = ["previous_period"]

[listen.brand]
id = "lumiere"
name = "Maison Lumière"

[[sources]]
id = "veille"
plugin = "json"
path = "{mentions}"
record = "mention"

[[metrics]]
plugin = "suspicious_mentions"
{options}
by = ["overall", "platform"]
"""


def run(tmp_path: Path, options: str = ""):
    path = tmp_path / "vigilance.toml"
    path.write_text(WORKFLOW.format(mentions=MENTIONS, options=options), encoding="utf-8")
    with registered_plugin(json_source, package=json_source.__name__), \
            registered_plugin(suspicious_activity, package=suspicious_activity.__name__):
        result = run_workflow_file(path, store_url=f"sqlite:///{tmp_path}/state.db")
    assert result.status == "ok", [s.error for s in result.failed_stages]
    return result


def rows(result, metric: str, overall: bool = True) -> list[dict]:
    frame = result.measurements.filter((pl.col("period") == "current") & (pl.col("metric") == metric))
    frame = frame.filter(pl.col("platform").is_null() if overall else pl.col("platform").is_not_null())
    return frame.sort("rank").to_dicts()


def test_a_burst_of_near_identical_texts_from_six_authors_with_its_evidence(tmp_path) -> None:
    result = run(tmp_path)

    [burst] = rows(result, "coordinated_bursts")
    assert burst["value"] == 6
    assert burst["rank"] == 1
    assert burst["burst_text"] == "Maison Lumière vend des bûches périmées, boycott total ce Noël"
    assert (burst["burst_start"], burst["burst_end"]) == ("2026-11-20T20:00:00Z", "2026-11-20T20:45:00Z")
    assert burst["burst_authors"] == "a1_lyon, a2_lyon, a3_lyon, a4_lyon, a5_lyon, a6_real"
    assert burst["example_urls"].split() == [f"https://x.com/a{i}_lyon/status/{i}" for i in (1, 2, 3)]
    [on_x] = rows(result, "coordinated_bursts", overall=False)
    assert (on_x["platform"], on_x["value"]) == ("x", 6)


def test_authors_with_no_history_and_a_small_audience_or_a_part_in_a_burst(tmp_path) -> None:
    result = run(tmp_path)

    listed = rows(result, "new_authors")
    assert [(r["author"], r["in_burst"]) for r in listed] == [
        ("a1_lyon", "yes"), ("a2_lyon", "yes"), ("a3_lyon", "yes"), ("a4_lyon", "yes"), ("a5_lyon", "yes"),
        ("a8_lyon", "no"), ("a7_lyon", "no")]
    assert [r["value"] for r in listed] == [1] * 7
    assert listed[0]["first_seen"] == "2026-11-20T20:00:00Z"
    assert listed[0]["example_urls"] == "https://x.com/a1_lyon/status/1"
    audience = rows(result, "new_author_audience")
    assert [r["value"] for r in audience] == [3, 0, 12, None, 2, 7, 1]
    assert audience[3]["reason"] == "no mention of the author has a known reach"


def test_a_stricter_similarity_and_more_authors_find_no_burst(tmp_path) -> None:
    result = run(tmp_path, "similarity = 0.95\nmin_authors = 6")
    # a3's text (0.89) no longer joins: 5 authors in the hour, under 6.
    assert rows(result, "coordinated_bursts") == []


# -- the pieces, by hand --------------------------------------------------------------------------
def test_jaccard_of_three_word_shingles() -> None:
    a = shingles("maison lumiere vend des buches perimees boycott total ce noel")
    assert len(a) == 8
    assert jaccard(a, shingles("ami maison lumiere vend des buches perimees boycott total ce noel")) == pytest.approx(8 / 9)
    assert jaccard(a, shingles("maison lumiere vend des buches perimees boycott total ce week end")) == pytest.approx(0.7)
    assert shingles("trop bien") == frozenset({"trop bien"})


def test_groups_chain_within_the_window_and_the_densest_window_counts_authors() -> None:
    from datetime import datetime, timedelta

    at = [datetime(2026, 11, 20, 20, m) for m in (0, 10, 50)] + [datetime(2026, 11, 20, 23, 0)]
    same = shingles("un deux trois quatre cinq")
    groups = near_identical_groups(at, [same] * 4, timedelta(hours=1), 0.8)
    assert groups == [0, 0, 0, 3]  # 20:50 joins through 20:10; 23:00 is too late
    assert densest_window(at[:3], ["x", "y", "x"], timedelta(minutes=45)) == (0, 1)


def test_the_report_lists_the_burst_and_the_new_authors_with_their_evidence(tmp_path) -> None:
    from cmflow.builtin.reports.document import build_document
    from cmflow.builtin.reports.html import render_html
    from cmflow.presentation.language import language
    from cmflow.builtin.reports.scopes import ReportScope

    document = build_document(run(tmp_path), ReportScope(), title="Vigilance")

    assert [(b["value"], b["burst_start"]) for b in document.bursts] == [(6, "2026-11-20T20:00:00Z")]
    assert [(a["author"], a["audience"]) for a in document.new_authors] == [
        ("a1_lyon", 3), ("a2_lyon", 0), ("a3_lyon", 12), ("a4_lyon", None), ("a5_lyon", 2)]  # the first 5
    section = render_html(document, language("en")).split('<h3 id="suspicious">Suspicious activity</h3>', 1)[1]
    # Shown in the workflow's time zone: 20:00 UTC is 21:00 in Paris (UTC+1 in November).
    assert "6 authors posted near-identical texts between Nov 20, 2026 21:00 and Nov 20, 2026 21:45 " \
           "(Europe/Paris):" in section
    assert "a1_lyon, first seen Nov 20, 2026 21:00 (Europe/Paris), 1 mention(s) this period (took part in a burst)" \
        in section
    french = render_html(document, language("fr")).split('<h3 id="suspicious">', 1)[1]
    assert "entre le 20 nov. 2026 21:00 et le 20 nov. 2026 21:45 (Europe/Paris)" in french
    assert "2026-11-20T20:00:00Z" not in french
    assert 'href="https://x.com/a1_lyon/status/1"' in section


def test_the_prefix_filter_finds_every_similar_pair_comparing_all_pairs_finds() -> None:
    """similar_families against a brute force over every pair, on 60 texts made of overlapping
    runs of 12 words out of a 40-word vocabulary (some near-identical, most not)."""
    from cmflow.builtin.metrics.suspicious_mentions import similar_families

    vocabulary = [f"w{i}" for i in range(40)]
    texts = [" ".join(vocabulary[(k * 7) % 29:(k * 7) % 29 + 12] + ([f"x{k}"] if k % 3 else []))
             for k in range(60)]
    sets = list(dict.fromkeys(shingles(t) for t in texts))
    for similarity in (0.5, 0.8, 0.9):
        parent = list(range(len(sets)))

        def root(i: int) -> int:
            while parent[i] != i:
                i = parent[i]
            return i

        for i in range(len(sets)):
            for j in range(i):
                if jaccard(sets[i], sets[j]) >= similarity:
                    parent[max(root(i), root(j))] = min(root(i), root(j))
        assert similar_families(sets, similarity) == [root(i) for i in range(len(sets))]


def _run_on(tmp_path: Path, mentions: list[dict], options: str = ""):
    """A run of the workflow over ``mentions`` (written to a JSON file)."""
    import json

    path = tmp_path / "mentions.json"
    path.write_text(json.dumps(mentions), encoding="utf-8")
    workflow = tmp_path / "vigilance.toml"
    workflow.write_text(WORKFLOW.format(mentions=path, options=options), encoding="utf-8")
    result = run_workflow_file(workflow, store_url=f"sqlite:///{tmp_path}/state.db")
    assert result.status == "ok", [s.error for s in result.failed_stages]
    return result


def test_an_author_new_this_week_is_new_on_every_platform_it_wrote_on(tmp_path) -> None:
    # @newbie first on X on 17 November, then on Bluesky on 19 November (the week of 16-22):
    # new overall, on X and on Bluesky, first seen 17 November 09:00 UTC wherever listed.
    mentions = [
        {"platform": "x", "mention_id": "1", "published_at": "2026-11-17T09:00:00Z", "author": "@newbie",
         "text": "Maison Lumière super pain aujourd'hui vraiment", "url": "https://x.com/a/1", "reach": 10},
        {"platform": "bluesky", "mention_id": "2", "published_at": "2026-11-19T09:00:00Z", "author": "newbie",
         "text": "Maison Lumière encore une fois très bon", "url": "https://bsky.app/b/2", "reach": 10}]
    result = _run_on(tmp_path, mentions)
    listed = result.measurements.filter((pl.col("period") == "current") & (pl.col("metric") == "new_authors"))
    found = {(r["platform"], r["author"], r["first_seen"], r["value"]) for r in listed.to_dicts()}
    assert found == {(None, "newbie", "2026-11-17T09:00:00Z", 2), ("x", "newbie", "2026-11-17T09:00:00Z", 1),
                     ("bluesky", "newbie", "2026-11-17T09:00:00Z", 1)}


def test_only_the_authors_of_the_counted_window_took_part_in_a_burst(tmp_path) -> None:
    # p1-p5 write A at 10:00, 10:10 ... 10:40 UTC on 18 November: 5 authors within the hour, a
    # burst of 5. q1 writes A at 11:30, 50 min after p5: chained to the group (window 1 h) but
    # outside its densest window (10:00-10:40); q1 is new with an audience of 10: listed, not in the burst.
    times = ["10:00", "10:10", "10:20", "10:30", "10:40", "11:30"]
    authors = ["p1", "p2", "p3", "p4", "p5", "q1"]
    mentions = [{"platform": "x", "mention_id": str(i), "published_at": f"2026-11-18T{t}:00Z", "author": a,
                 "text": A, "url": f"https://x.com/{a}/status/{i}", "reach": 10}
                for i, (t, a) in enumerate(zip(times, authors))]
    result = _run_on(tmp_path, mentions, "min_authors = 5")
    [burst] = rows(result, "coordinated_bursts")
    assert (burst["value"], burst["burst_authors"]) == (5, "p1, p2, p3, p4, p5")
    in_burst = {r["author"]: r["in_burst"] for r in rows(result, "new_authors")}
    assert in_burst == {"p1": "yes", "p2": "yes", "p3": "yes", "p4": "yes", "p5": "yes", "q1": "no"}
