"""Several own brands (``[[listen.brands]]``): an agency watches each client's own brand beside
``[listen.brand]``, each with its ``client`` and ``accounts``, and each client's competitors
(``client`` says whose). An own brand is never a competitor: its records count in its client's
figures; the share of voice compares each client's own brand with that client's competitors.

The week of 16-22 November 2026, by hand. Mentions: Maison Lumière is named in m1 and m2,
Atelier Nuit in m2 and m3 (m2 names both): 2 and 2 of Maison Lumière's set of 4, 50 % each.
Trailhead is named in m4 and m5, Summit Supply in m5, m6 and m7: 2 and 3 of Trailhead's set of
5, 40 % and 60 %. (Over the four brands' 9 mentions they would be 22.2 %, 22.2 %, 22.2 % and
33.3 %: never.) Daily activity: Maison Lumière's ``lum`` 50 + 5 = 55 interactions, Trailhead's
``trail`` 180 + 20 = 200, Atelier Nuit's ``nuit`` 9,000 + 500 = 9,500. The whole workflow's
interactions are the two clients' own, 55 + 200 = 255; Trailhead's client row 200, its brand
row 200; the competitor's 9,500 count in its brand row only.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from cmflow.foundation.errors import WorkflowInvalid
from cmflow.testing import run_workflow_file
from cmflow.workflow import load_workflow

CLIENTS = """
[workflow]
name = "Agency"
timezone = "UTC"
period = "last_week"
as_of = "2026-11-23"
compare = []

[[clients]]
id = "lum"
name = "Maison Lumière"
language = "fr"
accounts = ["lum"]

[[clients]]
id = "trail"
name = "Trailhead Outfitters"
language = "en"
accounts = ["trail"]
"""

LISTEN = """
[listen.brand]
id = "lumiere"
name = "Maison Lumière"
client = "lum"
accounts = ["lum"]

[[listen.brands]]
id = "trailhead"
name = "Trailhead"
client = "trail"
accounts = ["trail"]

[[listen.competitors]]
id = "nuit"
name = "Atelier Nuit"
client = "lum"
accounts = ["nuit"]

[[listen.competitors]]
id = "summit"
name = "Summit Supply"
client = "trail"
"""

SOURCES_AND_METRICS = """
[[sources]]
id = "mentions"
plugin = "json"
path = "mentions.json"
record = "mention"

[[sources]]
id = "activity"
plugin = "json"
path = "activity.json"
record = "account_activity"

[[metrics]]
plugin = "share_of_voice"
by = ["overall"]

[[metrics]]
plugin = "mentions"
by = ["overall", "brand"]

[[metrics]]
plugin = "totals"
counters = ["interactions"]
by = ["overall", "client", "brand"]
"""

MENTIONS = [
    ("m1", "La bûche de Maison Lumière"),
    ("m2", "Maison Lumière ou Atelier Nuit ?"),
    ("m3", "Atelier Nuit ouvre une boutique"),
    ("m4", "My new Trailhead tent"),
    ("m5", "Trailhead or Summit Supply for a jacket?"),
    ("m6", "Summit Supply sale"),
    ("m7", "Summit Supply opens in Boulder"),
]

ACTIVITY = [
    {"platform": "instagram", "account": "lum", "date": "2026-11-17", "likes": 50, "comments": 5},
    {"platform": "instagram", "account": "trail", "date": "2026-11-17", "likes": 180, "comments": 20},
    {"platform": "instagram", "account": "nuit", "date": "2026-11-17", "likes": 9000, "comments": 500},
]


def _write(tmp_path: Path, listen: str = LISTEN) -> Path:
    mentions = [{"platform": "bluesky", "mention_id": mid, "published_at": f"2026-11-18T1{i}:00:00Z", "text": text}
                for i, (mid, text) in enumerate(MENTIONS)]
    (tmp_path / "mentions.json").write_text(json.dumps(mentions), encoding="utf-8")
    (tmp_path / "activity.json").write_text(json.dumps(ACTIVITY), encoding="utf-8")
    path = tmp_path / "workflow.toml"
    path.write_text(CLIENTS + listen + SOURCES_AND_METRICS, encoding="utf-8")
    return path


def _current(result, metric: str, **dimensions: str | None) -> dict:
    rows = result.measurements.filter((pl.col("period") == "current") & (pl.col("metric") == metric))
    found = {}
    for row in rows.iter_rows(named=True):
        key = tuple(row.get(d) for d in dimensions)
        found[key] = row["value"]
    return found


def test_each_clients_share_of_voice_is_its_own_brand_against_its_competitors(tmp_path) -> None:
    result = run_workflow_file(_write(tmp_path), store_url=f"sqlite:///{tmp_path / 'state.db'}")
    shares = {brand: value for (brand,), value in _current(result, "share_of_voice", brand=None).items()}
    assert shares == pytest.approx({"lumiere": 50.0, "nuit": 50.0, "trailhead": 40.0, "summit": 60.0})
    mentions = {brand: value for (brand,), value in _current(result, "mentions", brand=None).items()}
    assert mentions == {None: 7, "lumiere": 2, "nuit": 2, "trailhead": 2, "summit": 3}


def test_an_own_brands_records_count_in_its_clients_figures(tmp_path) -> None:
    result = run_workflow_file(_write(tmp_path), store_url=f"sqlite:///{tmp_path / 'state.db'}")
    totals = _current(result, "total_interactions", client=None, brand=None)
    assert totals[(None, None)] == 255  # both clients' own accounts, never the competitor's 9,500
    assert totals[("trail", None)] == 200
    assert totals[("lum", None)] == 55
    assert totals[(None, "trailhead")] == 200
    assert totals[(None, "lumiere")] == 55
    assert totals[(None, "nuit")] == 9500
    assert result.workflow.listen.competitor_ids == ["nuit", "summit"]
    assert [b.id for b in result.workflow.listen.own_brands] == ["lumiere", "trailhead"]
    assert result.workflow.listen.own_brand_of("trail").id == "trailhead"
    assert next(r for r in result.stages if r.kind == "listen").problems == []


def test_one_own_brand_keeps_dividing_among_every_brand(tmp_path) -> None:
    """Without [[listen.brands]] (Trailhead listed as a competitor, as before), the share of voice is
    of all the brands together, as ever: 2 / 9, 2 / 9, 2 / 9 and 3 / 9 (the competitor's client's
    accounts cannot be listed, so Trailhead's are none)."""
    listen = LISTEN.replace("[[listen.brands]]", "[[listen.competitors]]").replace('accounts = ["trail"]\n\n', "\n")
    result = run_workflow_file(_write(tmp_path, listen), store_url=f"sqlite:///{tmp_path / 'state.db'}")
    shares = {brand: value for (brand,), value in _current(result, "share_of_voice", brand=None).items()}
    assert shares == pytest.approx({"lumiere": 200 / 9, "nuit": 200 / 9, "trailhead": 200 / 9, "summit": 300 / 9})
    assert result.workflow.listen.share_sets == []


def _problems(tmp_path: Path, listen: str) -> list[tuple[str, str]]:
    with pytest.raises(WorkflowInvalid) as raised:
        load_workflow(_write(tmp_path, listen))
    return [(p.path, p.message) for p in raised.value.problems]


def test_two_own_brands_for_one_client_are_refused(tmp_path) -> None:
    listen = LISTEN.replace('client = "trail"\naccounts = ["trail"]', 'client = "lum"', 1)
    problems = _problems(tmp_path, listen)
    assert problems[0][0] == "listen.brands[0].client"
    assert "client 'lum' already has own brand 'lumiere'" in problems[0][1]


def test_an_own_brands_account_of_another_client_is_refused(tmp_path) -> None:
    listen = LISTEN.replace('accounts = ["trail"]', 'accounts = ["@LUM"]', 1).replace(
        'client = "lum"\naccounts = ["lum"]', 'client = "lum"', 1)
    problems = _problems(tmp_path, listen)
    assert problems == [("listen.brands[0].accounts[0]",
                         "account '@LUM' of brand 'trailhead' belongs to client 'lum', and the brand's client is 'trail'")]


def test_a_competitors_client_must_exist_and_have_an_own_brand(tmp_path) -> None:
    problems = _problems(tmp_path, LISTEN.replace('name = "Summit Supply"\nclient = "trail"',
                                                  'name = "Summit Supply"\nclient = "trial"'))
    assert [p for p, _ in problems] == ["listen.competitors[1].client"]
    assert "no [[clients]] entry has id 'trial'" in problems[0][1]


def test_several_own_brands_need_each_brand_to_name_its_client(tmp_path) -> None:
    listen = LISTEN.replace('client = "lum"\naccounts = ["nuit"]', 'accounts = ["nuit"]')
    problems = _problems(tmp_path, listen)
    assert [p for p, _ in problems] == ["listen.competitors[0].client"]
    assert "competitor 'nuit' names no client" in problems[0][1]


def test_a_competitor_of_a_client_without_own_brand_is_refused(tmp_path) -> None:
    listen = LISTEN.replace('[[listen.brands]]\nid = "trailhead"\nname = "Trailhead"\nclient = "trail"\naccounts = ["trail"]\n',
                            '[[listen.brands]]\nid = "trailhead"\nname = "Trailhead"\nclient = "lum"\n')
    problems = _problems(tmp_path, listen)
    paths = [p for p, _ in problems]
    assert "listen.brands[0].client" in paths  # lum's second own brand
    assert ("listen.competitors[1].client",
            "competitor 'summit' is client 'trail''s, and 'trail' has no own brand in [listen]") in problems
