"""Clients of an agency workflow (``[[clients]]``), and the polarity of each measurement."""

from __future__ import annotations

from pathlib import Path

import pytest

from cmflow import Client, account_display_name, accounts_of_no_client, change_tone, client_of
from cmflow.foundation.errors import WorkflowInvalid
from cmflow.workflow import load_workflow

HEAD = """
[workflow]
name = "Agency"
period = "last_week"
as_of = "2026-11-24"

[[sources]]
plugin = "csv"
path = "posts.csv"

[[metrics]]
plugin = "engagement_rate_by_reach"
"""

TWO_CLIENTS = """
[[clients]]
id = "maison-lumiere"
name = "Maison Lumière"
language = "fr"
logo = "logos/lumiere.svg"
colour = "#8A5A44"
recipients = ["Marie Dupont <marie@maisonlumiere.example>", "cm@agence.example"]
accounts = {maisonlumiere = "Maison Lumière", "MaisonLumiereParis" = "Maison Lumière Paris"}

[[clients]]
id = "trailhead"
name = "Trailhead Outfitters"
language = "en"
accounts = ["trailhead", "trailheadoutfitters"]
"""


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "agency.toml").write_text(HEAD + text, encoding="utf-8")
    return tmp_path / "agency.toml"


def problems(tmp_path: Path, text: str) -> list[tuple[str, str, str]]:
    with pytest.raises(WorkflowInvalid) as caught:
        load_workflow(write(tmp_path, text))
    return [(p.path, p.message, p.hint) for p in caught.value.problems]


def test_clients_are_read_with_their_accounts_and_display_names(tmp_path) -> None:
    (tmp_path / "logos").mkdir()
    (tmp_path / "logos" / "lumiere.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>", encoding="utf-8")
    workflow = load_workflow(write(tmp_path, TWO_CLIENTS))
    lumiere, trailhead = workflow.clients
    assert lumiere == Client("maison-lumiere", "Maison Lumière",
                             {"maisonlumiere": "Maison Lumière", "MaisonLumiereParis": "Maison Lumière Paris"},
                             "fr", tmp_path / "logos" / "lumiere.svg", "#8A5A44",
                             ("Marie Dupont <marie@maisonlumiere.example>", "cm@agence.example"))
    # a list of accounts: each shown under the client's name
    assert trailhead.accounts == {"trailhead": "Trailhead Outfitters", "trailheadoutfitters": "Trailhead Outfitters"}
    assert (trailhead.language, trailhead.logo, trailhead.colour, trailhead.recipients) == ("en", None, None, ())
    assert workflow.client("trailhead") is trailhead and workflow.client("nobody") is None

    clients = workflow.clients
    assert client_of(clients, "MaisonLumiereParis") is lumiere
    assert client_of(clients, "trailhead") is trailhead
    assert client_of(clients, "someone_else") is None and client_of(clients, None) is None
    assert account_display_name(clients, "MaisonLumiereParis") == "Maison Lumière Paris"
    assert account_display_name(clients, "trailheadoutfitters") == "Trailhead Outfitters"
    assert account_display_name(clients, "someone_else") == "someone_else"  # no client: its handle
    assert accounts_of_no_client(clients, ["trailhead", "zeta", None, "alpha", "zeta", "maisonlumiere"]) == \
        ["alpha", "zeta"]


def test_a_workflow_without_clients_has_none(tmp_path) -> None:
    assert load_workflow(write(tmp_path, "")).clients == []


def test_every_problem_of_a_client_is_said_at_its_key(tmp_path) -> None:
    found = problems(tmp_path, """
[[clients]]
id = "a"
name = "A"
language = "fr"
accounts = ["a1"]

[[clients]]
id = "b"
name = "B"
language = "fr"
logo = "logos/b.png"
accounts = ["b1"]

[[clients]]
id = "c"
name = "C"
language = "de"
logo = "logos/c.gif"
colour = "blue"
recipients = ["ok@example.org", "not an address"]
accounts = ["c1"]

[[clients]]
id = "d"
name = "D"
language = "en"
accounts = ["a1"]

[[clients]]
id = "a"
name = "A again"
language = "en"
accounts = ["z"]

[[clients]]
id = "e"
name = "E"
accounts = []
""")
    missing_logo = tmp_path / "logos" / "b.png"
    assert found == [
        ("clients[1].logo", f"{missing_logo} does not exist",
         "give the path of the logo file, relative to the workflow file"),
        ("clients[2].language", "unknown value 'de'", "did you mean 'en'? Choices: fr, en"),
        ("clients[2].logo", "'logos/c.gif' is not a .png, .jpg or .svg file: reports show one of those", ""),
        ("clients[2].colour", "'blue' is not a colour written #rrggbb, e.g. \"#2563eb\"", ""),
        ("clients[2].recipients[1]", "'not an address' is not an e-mail address: write e.g. \"ann@example.org\" "
         "or \"Ann Martin <ann@example.org>\"", ""),
        ("clients[3].accounts", "account 'a1' already belongs to client 'a'",
         "an account belongs to one client: remove it from one of them"),
        ("clients[4].id", "client id 'a' is already used", "give each client its own id"),
        ("clients[5].accounts", "must not be empty", "list at least one value"),
        ("clients[5].language", "required option is missing", ""),
    ]


def test_clients_must_be_an_array_of_tables(tmp_path) -> None:
    text = HEAD.replace("[workflow]", "clients = [1, 2]\n\n[workflow]")
    (tmp_path / "agency.toml").write_text(text, encoding="utf-8")
    with pytest.raises(WorkflowInvalid) as caught:
        load_workflow(tmp_path / "agency.toml")
    assert [(p.path, p.message) for p in caught.value.problems] == [
        ("clients", "must be an array of tables: write [[clients]] before each entry")]


# -- polarity -----------------------------------------------------------------------------------------

def test_every_built_in_measurement_has_its_polarity(tmp_path) -> None:
    (tmp_path / "all.toml").write_text("""
[workflow]
name = "Polarity"

[[sources]]
plugin = "csv"
path = "posts.csv"
record = "post"

[[sources]]
id = "snapshots"
plugin = "csv"
path = "snapshots.csv"
record = "account_snapshot"

[[sources]]
id = "mentions"
plugin = "csv"
path = "mentions.csv"
record = "mention"

[[metrics]]
plugin = "totals"
counters = ["likes", "reach"]

[[sources]]
id = "activity"
plugin = "csv"
path = "activity.csv"
record = "account_activity"

[[metrics]]
plugin = "followers_gained"
sources = ["activity"]

[[metrics]]
plugin = "followers"
sources = ["snapshots"]

[[metrics]]
plugin = "follower_growth"
sources = ["snapshots"]

[[metrics]]
plugin = "negative_mentions"
sources = ["mentions"]
by = ["overall"]

[[metrics]]
plugin = "mentions"
sources = ["mentions"]
by = ["overall"]

[[metrics]]
plugin = "posts_published"

[[metrics]]
plugin = "engagement_rate_by_impressions"
""", encoding="utf-8")
    workflow = load_workflow(tmp_path / "all.toml")
    assert {name: workflow.polarity_of(name) for name in workflow.measurement_names()} == {
        "total_likes": "up", "total_reach": "up",
        "followers_gained": "up", "followers_lost": "down",
        "followers": "up", "follower_growth": "up", "follower_growth_pct": "up",
        "negative_mentions": "down", "mentions": "neutral", "posts_published": "neutral",
        "engagement_rate_by_impressions": "up",
    }
    assert workflow.polarity_of("no_such_measurement") == "neutral"


@pytest.mark.parametrize(("polarity", "change", "tone"), [
    ("up", 12.0, "good"), ("up", -3.0, "bad"), ("down", 12.0, "bad"), ("down", -3.0, "good"),
    ("neutral", 12.0, "neutral"), ("up", 0.0, "neutral"), ("down", None, None),
])
def test_a_change_reads_good_or_bad_by_its_polarity(polarity, change, tone) -> None:
    assert change_tone(polarity, change) == tone
