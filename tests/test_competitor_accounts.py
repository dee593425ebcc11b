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

from cmflow.foundation.listening import account_key, normalised_accounts
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
    assert normalised_accounts(pl.Series([" @Nuit ", "nuit", None])).to_list() == ["nuit", "nuit", None]


def test_one_account_spelt_twice_is_listed_by_two_brands(tmp_path) -> None:
    path = tmp_path / "workflow.toml"
    path.write_text(WORKFLOW.replace("NUIT", '"@LUM"'), encoding="utf-8")
    with pytest.raises(WorkflowInvalid) as raised:
        load_workflow(path)
    problems = [(p.path, p.message) for p in raised.value.problems]
    assert problems[0][0] == "listen.competitors[0].accounts[0]"
    assert "already listed by brand 'lumiere'" in problems[0][1]
