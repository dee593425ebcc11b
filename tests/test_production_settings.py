"""The ``[production]`` section: rates, roles and budgets, validated at their key, and the
clients stage naming a time entry's client by the tracker's name."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from cmflow.foundation.errors import WorkflowInvalid
from cmflow.stages.clients import clients
from cmflow.stages.fetch import Fetched
from cmflow.workflow import load_workflow

HEAD = """
[workflow]
name = "Agency"
period = "last_week"

[[sources]]
plugin = "csv"
path = "posts.csv"

[[sources]]
plugin = "csv"
path = "time.csv"
id = "time"
record = "time_entry"

[[metrics]]
plugin = "engagement_rate_by_reach"

[[clients]]
id = "maison-lumiere"
name = "Maison Lumière"
language = "fr"
accounts = ["maisonlumiere"]
"""


def load(tmp_path: Path, text: str):
    (tmp_path / "time.csv").write_text("date,hours\n", encoding="utf-8")
    (tmp_path / "posts.csv").write_text("platform,account,post_id,published_at\n", encoding="utf-8")
    (tmp_path / "agency.toml").write_text(HEAD + text, encoding="utf-8")
    return load_workflow(tmp_path / "agency.toml")


def test_rates_roles_and_budgets_are_read(tmp_path) -> None:
    workflow = load(tmp_path, """
[production]
currency = "CHF"
default_rate = 40
rates = { "Léa Martin" = 55, designer = 45 }
roles = { "Hugo Petit" = "designer", "Léa Martin" = "designer" }
budgets = { soldes-hiver = 2500 }
""")
    production = workflow.production
    assert production.currency == "CHF"
    assert production.budgets == {"soldes-hiver": 2500}
    # Her own rate wins over her role's; his role's; a stranger's is the default.
    assert [production.rate_of(p) for p in ("Léa Martin", "Hugo Petit", "Zoé", None)] == [55, 45, 40, 40]


def test_a_campaign_is_named_whatever_its_spelling(tmp_path) -> None:
    production = load(tmp_path, """
[production]
budgets = { calendrier-avent = 250 }
campaigns = { calendrier-avent = "Calendrier de l'Avent" }
""").production
    # the tracker's "Calendrier Avent", the link's calendrier_avent: one campaign, one name; another as written
    assert [production.campaign_name(c) for c in ("calendrier-avent", "Calendrier Avent", "calendrier_avent", "noel")] \
        == ["Calendrier de l'Avent"] * 3 + ["noel"]


def test_time_is_priced_by_person_then_role_and_a_given_cost_wins(tmp_path) -> None:
    production = load(tmp_path, """
[production]
rates = { "Léa Martin" = 55, designer = 45 }
roles = { "Hugo Petit" = "designer" }
""").production
    entries = pl.DataFrame({"person": ["Léa Martin", "Hugo Petit", "Zoé", "Léa Martin"],
                            "hours": [2.0, 1.5, 3.0, 1.0], "cost": [None, None, None, 12.5]})
    # No default rate: Zoé's three hours have no cost (null), never a free 0.
    assert entries.select(production.priced_hours())["cost"].to_list() == [110.0, 67.5, None, 12.5]


def test_a_workflow_without_the_section_prices_nothing(tmp_path) -> None:
    production = load(tmp_path, "").production
    assert (production.currency, production.rates, production.budgets, production.default_rate) == ("EUR", {}, {}, None)


@pytest.mark.parametrize(("text", "path", "words"), [
    ('[production]\nroles = { "Hugo" = "designer" }\n', "production.roles", "does not price"),
    ('[production]\nrates = { "Léa" = -5 }\n', "production.rates.Léa", "must be at least 0"),
    ('[production]\ncurrency = "euros"\n', "production.currency", "expected form"),
    ('[production]\nbudget = { a = 1 }\n', "production.budget", "budgets"),
    ('[production]\ncampaigns = { noel-2026 = "Noël 2026", "Noël 2026" = "Noël" }\n', "production.campaigns.Noël 2026",
     "are the same campaign"),
    ('[production]\ncampaigns = { soldes = " " }\n', "production.campaigns.soldes", "empty name"),
    ('[production]\ncampaigns = { "(not set)" = "Aucune" }\n', "production.campaigns.(not set)", "no campaign"),
])
def test_each_mistake_is_said_at_its_key(tmp_path, text, path, words) -> None:
    with pytest.raises(WorkflowInvalid) as caught:
        load(tmp_path, text)
    found = [(p.path, f"{p.message} {p.hint}") for p in caught.value.problems]
    assert any(where == path and words in said for where, said in found), found


def test_a_time_entry_keeps_the_client_its_tracker_names(tmp_path) -> None:
    workflow = load(tmp_path, "")
    entries = pl.DataFrame({"date": [date(2026, 11, 2)] * 4, "hours": [1.0] * 4,
                            "account": ["maisonlumiere", None, None, None],
                            "client": ["Autre", "maison lumière ", "MAISON-LUMIERE", "Trailhead"]})
    labelled = clients(workflow, Fetched(records={"time_entry": entries}, reports=[], plans=[]))
    # The account's owner first; else the tracker's name, as the client's id when it is one of
    # theirs (name or id, any case); else as the tracker wrote it.
    assert labelled.records["time_entry"]["client"].to_list() == [
        "maison-lumiere", "maison-lumiere", "maison-lumiere", "Trailhead"]
