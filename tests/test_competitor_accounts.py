"""A competitor's accounts: every record of them is the competitor's (daily activity too, not only
posts and snapshots), and an account is recognised however the workflow spells it (case, blanks,
a leading @). Review 17, findings 1 and 2.

The week of 16-22 November 2026, by hand: Maison Lumière's TikTok account ``lum`` had 1,000
impressions, 50 likes and 5 comments (55 interactions); Atelier Nuit's ``nuit`` 90,000
impressions, 9,000 likes and 500 comments (9,500 interactions). The overall row is the brand's
alone: 55 interactions and 1,000 impressions, never 9,555.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from cmflow.foundation.listening import account_key, normalised_authors
from cmflow.testing import run_workflow_file
from cmflow.workflow import load_workflow
from cmflow.foundation.errors import WorkflowInvalid

WORKFLOW = """
[workflow]
name = "Benchmark"
timezone = "UTC"
period = "last_week"
as_of = "2026-11-23"
compare = []

[listen.brand]
id = "lumiere"
name = "Maison Lumière"
accounts = ["lum"]

[[listen.competitors]]
id = "nuit"
name = "Atelier Nuit"
accounts = [NUIT]

[[sources]]
id = "activity"
plugin = "json"
path = "activity.json"
record = "account_activity"

[[metrics]]
plugin = "totals"
counters = ["interactions", "impressions"]
by = ["overall", "brand"]
"""

ACTIVITY = [
    {"platform": "tiktok", "account": "lum", "date": "2026-11-17", "impressions": 1000, "likes": 50, "comments": 5},
    {"platform": "tiktok", "account": "nuit", "date": "2026-11-17", "impressions": 90000, "likes": 9000,
     "comments": 500},
]


def _run(tmp_path: Path, nuit: str):
    (tmp_path / "activity.json").write_text(json.dumps(ACTIVITY), encoding="utf-8")
    path = tmp_path / "workflow.toml"
    path.write_text(WORKFLOW.replace("NUIT", nuit), encoding="utf-8")
    return run_workflow_file(path, store_url=f"sqlite:///{tmp_path / 'state.db'}")


def _figures(result) -> dict[tuple[str, str | None], float]:
    rows = result.measurements.filter(pl.col("period") == "current")
    return {(r["metric"], r["brand"]): r["value"] for r in rows.iter_rows(named=True)}


@pytest.mark.parametrize("nuit", ['"nuit"', '"@Nuit"', '" nuit "', '"NUIT"'])
def test_a_competitors_daily_activity_counts_in_its_own_rows_only(tmp_path, nuit) -> None:
    result = _run(tmp_path, nuit)
    figures = _figures(result)
    assert figures[("total_interactions", None)] == 55  # the brand's alone, not 55 + 9,500
    assert figures[("total_impressions", None)] == 1000
    assert figures[("total_interactions", "lumiere")] == 55
    assert figures[("total_interactions", "nuit")] == 9500
    assert figures[("total_impressions", "nuit")] == 90000
    listen = next(r for r in result.stages if r.kind == "listen")
    assert listen.problems == []


def test_an_account_no_record_has_is_reported(tmp_path) -> None:
    result = _run(tmp_path, '"nuit", "@atelier-nuit"')
    listen = next(r for r in result.stages if r.kind == "listen")
    assert len(listen.problems) == 1
    assert "account '@atelier-nuit' of brand 'nuit' matched no record" in listen.problems[0]


def test_accounts_are_compared_without_case_blanks_or_at_sign() -> None:
    assert account_key(" @Nuit ") == "nuit"
    assert account_key("@AtelierNuit@Mastodon.social") == "ateliernuit@mastodon.social"
    assert normalised_authors(pl.Series([" @Nuit ", "nuit", None])).to_list() == ["nuit", "nuit", None]


def test_one_account_spelt_twice_is_listed_by_two_brands(tmp_path) -> None:
    path = tmp_path / "workflow.toml"
    path.write_text(WORKFLOW.replace("NUIT", '"@LUM"'), encoding="utf-8")
    with pytest.raises(WorkflowInvalid) as raised:
        load_workflow(path)
    problems = [(p.path, p.message) for p in raised.value.problems]
    assert problems[0][0] == "listen.competitors[0].accounts[0]"
    assert "already listed by brand 'lumiere'" in problems[0][1]


POSTS = [  # the brand's own Instagram post (insights: shares and saves) and a competitor's public one
    {"platform": "instagram", "account": "lum", "post_id": "1", "published_at": "2026-11-18T10:00:00Z",
     "likes": 100, "comments": 10, "shares": 50, "saves": 40},
    {"platform": "instagram", "account": "nuit", "post_id": "2", "published_at": "2026-11-18T11:00:00Z",
     "likes": 100, "comments": 10},
]


def test_brand_rows_count_only_the_counters_every_compared_brand_reports(tmp_path) -> None:
    # Identical posts: 100 likes + 10 comments each; the brand's own also has 50 shares and 40
    # saves (its insights), the competitor's public post none. Brand rows: 110 and 110, not 200
    # and 110. The overall row is the brand's own, every counter: 100 + 10 + 50 + 40 = 200.
    (tmp_path / "posts.json").write_text(json.dumps(POSTS), encoding="utf-8")
    text = WORKFLOW.replace("NUIT", '"nuit"').replace('path = "activity.json"\nrecord = "account_activity"',
                                                      'path = "posts.json"\nrecord = "post"')
    path = tmp_path / "workflow.toml"
    path.write_text(text, encoding="utf-8")
    figures = _figures(run_workflow_file(path, store_url=f"sqlite:///{tmp_path / 'state.db'}"))
    assert figures[("total_interactions", "lumiere")] == 110
    assert figures[("total_interactions", "nuit")] == 110
    assert figures[("total_interactions", None)] == 200


def test_unshared_counters_of_a_set_of_brands() -> None:
    from cmflow.foundation.listening import unshared_counters

    frame = pl.DataFrame({"brands": [["a"], ["b"], ["c"], []], "likes": [1, 2, 3, 4],
                          "shares": [5, None, 6, 7], "saves": [None, None, None, 1]})
    # a and b are compared: b never reports shares; c is alone in its set; no brand: ignored.
    assert unshared_counters(frame, ["likes", "shares", "saves"], [("a", "b"), ("c",)]) == {
        "a": ["shares"], "b": ["shares"]}


def test_the_competitors_table_says_which_counters_it_compares(tmp_path) -> None:
    from cmflow.builtin.reports.document import build_document
    from cmflow.builtin.reports.html import render_html
    from cmflow.presentation.language import language
    from cmflow.builtin.reports.scopes import ReportScope

    # One post each: engagement per post 100 + 10 = 110 for both (the brand's shares and saves left out).
    (tmp_path / "posts.json").write_text(json.dumps(POSTS), encoding="utf-8")
    text = WORKFLOW.replace("NUIT", '"nuit"').replace('path = "activity.json"\nrecord = "account_activity"',
                                                      'path = "posts.json"\nrecord = "post"')
    text = text.replace('plugin = "totals"\ncounters = ["interactions", "impressions"]', 'plugin = "engagement_per_post"')
    path = tmp_path / "workflow.toml"
    path.write_text(text, encoding="utf-8")
    result = run_workflow_file(path, store_url=f"sqlite:///{tmp_path / 'state.db'}")
    document = build_document(result, ReportScope(), title="Benchmark")

    # The measure stage says which counters it left out of the brands' rows; the report reads that.
    assert result.unshared_counters == {"lumiere": ("shares", "saves"), "nuit": ("shares", "saves")}
    assert [(row.name, row.figures["engagement_per_post"].value) for row in document.competitors] == [
        ("Maison Lumière", 110), ("Atelier Nuit", 110)]
    assert document.competitor_counters == ["likes", "comments"]
    english = render_html(document, language("en"))
    assert "Interactions in this table count only likes and comments" in english
    french = render_html(document, language("fr"))
    assert "ne comptent que les j&#39;aime et les commentaires" in french


RANKED = """
[[clients]]
id = "autre"
name = "Autre"
accounts = ["autre"]
language = "fr"

[[metrics]]
plugin = "suspicious_mentions"
by = ["overall", "brand"]
"""


def test_a_clients_report_never_lists_a_competitors_ranking(tmp_path) -> None:
    from cmflow.builtin.reports.document import build_document
    from cmflow.builtin.reports.scopes import ReportScope

    # The brand has no client; the competitor's client is "autre". @newbie names only Atelier
    # Nuit: the competitor's ranking lists them, the brand's does not. Autre's report shows
    # its own brand's rankings: it has none, so no list (was: the competitor's).
    mentions = [{"platform": "x", "mention_id": "1", "published_at": "2026-11-18T09:00:00Z", "author": "newbie",
                 "text": "Atelier Nuit vend des bougies ce week-end", "url": "https://x.com/n/1", "reach": 10}]
    (tmp_path / "mentions.json").write_text(json.dumps(mentions), encoding="utf-8")
    text = WORKFLOW.replace("accounts = [NUIT]", 'accounts = ["nuit"]\nclient = "autre"').replace(
        'path = "activity.json"\nrecord = "account_activity"', 'path = "mentions.json"\nrecord = "mention"')
    text = text.split("[[metrics]]")[0] + RANKED
    path = tmp_path / "workflow.toml"
    path.write_text(text, encoding="utf-8")
    result = run_workflow_file(path, store_url=f"sqlite:///{tmp_path / 'state.db'}")
    listed = result.measurements.filter((pl.col("metric") == "new_authors") & (pl.col("period") == "current"))
    assert set(zip(listed["brand"].to_list(), listed["author"].to_list())) == {(None, "newbie"), ("nuit", "newbie")}

    client = next(c for c in result.workflow.clients if c.id == "autre")
    document = build_document(result, ReportScope(client=client, accounts=frozenset({("x", "autre")})), title="Autre")
    assert document.new_authors == []
    assert [a["author"] for a in build_document(result, ReportScope(), title="All").new_authors] == ["newbie"]
