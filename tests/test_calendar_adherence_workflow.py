"""Calendar adherence in a whole run: a calendar and a post export read by csv sources, the
adherence per owner, and a threshold alert for each planned post missing at its time.

Week of Monday 30 November 2026, Paris; the run's clock Monday 7 December 09:00 UTC.
Calendar (Paris times, a French Google Sheets export): k1 Mon 10:00 instagram (alice), k2 Wed
18:00 linkedin (bob), k3 Fri 12:00 instagram (bob, whole day: "04/12/2026" with no time), k4
Sat 09:00 x (alice, cancelled). Posts: p1 Mon 10:45 Paris (on time, within 2 h), p3 Fri 20:00
Paris (k3's day: on time). k2 has no post: missing, due Wed 20:00 Paris (19:00 UTC), 110 hours
before the clock.
"""

from __future__ import annotations

import json

from datetime import datetime, timezone
from pathlib import Path

import pytest

from cmflow.builtin.reports.document import build_document
from cmflow.builtin.reports.scopes import ReportScope
from cmflow.foundation.errors import WorkflowInvalid
from cmflow.testing import run_workflow_file
from cmflow.workflow import load_workflow

CALENDAR = ("\ufeffID;Date;Réseau;Responsable;Titre;Statut\r\n"
            "k1;30/11/2026 10:00;Instagram;alice;Teaser soldes;planifié\r\n"
            "k2;02/12/2026 18:00;LinkedIn;bob;\"Article :\nbilan\";approuvé\r\n"
            "k3;04/12/2026;Instagram;bob;Carrousel;planifié\r\n"
            "k4;05/12/2026 09:00;X;alice;Fil;Annulé\r\n")
POSTS = ("platform,account,post_id,published_at\r\n"
         "instagram,acme,p1,2026-11-30T09:45:00Z\r\n"
         "instagram,acme,p3,2026-12-04T19:00:00Z\r\n")
WORKFLOW = """\
[workflow]
name = "Adherence"
timezone = "Europe/Paris"
period = "2026-11-30..2026-12-06"

[[sources]]
id = "calendar"
plugin = "csv"
path = "calendar.csv"
record = "calendar_item"
delimiter = ";"
datetime_format = ["%d/%m/%Y %H:%M", "%d/%m/%Y"]
columns = { item_id = "ID", planned_at = "Date", platform = "Réseau", owner = "Responsable", title = "Titre", status = "Statut" }
values = { platform = { Instagram = "instagram", LinkedIn = "linkedin", X = "x" } }

[[sources]]
id = "posts"
plugin = "csv"
path = "posts.csv"

[[metrics]]
plugin = "calendar_adherence"
by = ["overall", "owner"]

[[metrics]]
plugin = "missing_planned_posts"

[[triggers]]
id = "missing-post"
metric = "missing_planned_posts"
plugin = "threshold"
above = 0
"""


def test_adherence_per_owner_and_an_alert_per_missing_post(tmp_path: Path) -> None:
    (tmp_path / "calendar.csv").write_bytes(CALENDAR.encode("utf-8"))
    (tmp_path / "posts.csv").write_text(POSTS, encoding="utf-8")
    (tmp_path / "adherence.toml").write_text(WORKFLOW, encoding="utf-8")
    result = run_workflow_file(tmp_path / "adherence.toml", store_url=f"sqlite:///{tmp_path / 'state.db'}",
                               now=datetime(2026, 12, 7, 9, tzinfo=timezone.utc))
    assert not result.failed_stages, [(r.id, r.error) for r in result.failed_stages]
    current = result.measurements.filter(result.measurements["period"] == "current")
    rates = {row["owner"]: row["value"] for row in current.iter_rows(named=True)
             if row["metric"] == "calendar_adherence"}
    # alice: k1 on time (k4 cancelled) 1 / 1; bob: k3 on time, k2 missing: 1 / 2; overall 2 / 3.
    assert rates == {None: pytest.approx(200 / 3), "alice": 100.0, "bob": 50.0}
    assert [(a.rule, a.dimensions["item_id"], a.dimensions["title"], a.dimensions["owner"], a.value)
            for a in result.alerts] == [("missing-post", "k2", "Article : bilan", "bob", 110.0)]
    # The report's production section shows the whole's figures, not one owner's row.
    document = build_document(result, ReportScope(), title="Adherence")
    shown = {figure.metric: figure.value for figure in document.production}
    assert shown["calendar_adherence"] == pytest.approx(200 / 3)
    assert (shown["posts_late"], shown["posts_missing"], shown["posts_unplanned"]) == (0, 1, 0)


def test_the_missing_post_alert_resolves_once_the_post_is_published(tmp_path: Path) -> None:
    """k2 published late, on Thursday 3 December 08:00 UTC (within the 3-day window): the next
    run measures its row at 0 and the alert resolves, so that a task made from it can close."""
    (tmp_path / "calendar.csv").write_bytes(CALENDAR.encode("utf-8"))
    (tmp_path / "posts.csv").write_text(POSTS, encoding="utf-8")
    (tmp_path / "adherence.toml").write_text(WORKFLOW, encoding="utf-8")
    store = f"sqlite:///{tmp_path / 'state.db'}"
    first = run_workflow_file(tmp_path / "adherence.toml", store_url=store,
                              now=datetime(2026, 12, 7, 9, tzinfo=timezone.utc))
    assert [a.dimensions["item_id"] for a in first.alerts] == ["k2"]
    (tmp_path / "posts.csv").write_text(POSTS + "linkedin,acme,p2,2026-12-03T08:00:00Z\r\n", encoding="utf-8")
    second = run_workflow_file(tmp_path / "adherence.toml", store_url=store,
                               now=datetime(2026, 12, 7, 10, tzinfo=timezone.utc))
    assert second.alerts == []
    assert [(a.rule, a.dimensions["item_id"], a.state) for a in second.resolved] == [("missing-post", "k2", "resolved")]


def test_a_trigger_can_select_items_by_the_metrics_own_dimensions(tmp_path: Path) -> None:
    """`item_id` is no breakdown of cmflow's but a row dimension of missing_planned_posts: a
    trigger's where may name it (here: the one item that is not missing, so nothing fires), and a
    misspelt key is still refused with the metric's own dimensions among the suggestions."""
    (tmp_path / "calendar.csv").write_bytes(CALENDAR.encode("utf-8"))
    (tmp_path / "posts.csv").write_text(POSTS, encoding="utf-8")
    (tmp_path / "adherence.toml").write_text(WORKFLOW + 'where = { item_id = "k1" }\n', encoding="utf-8")
    result = run_workflow_file(tmp_path / "adherence.toml", store_url=f"sqlite:///{tmp_path / 'state.db'}",
                               now=datetime(2026, 12, 7, 9, tzinfo=timezone.utc))
    assert not result.failed_stages and result.alerts == []
    (tmp_path / "adherence.toml").write_text(WORKFLOW + 'where = { item_idd = "k1" }\n', encoding="utf-8")
    with pytest.raises(WorkflowInvalid) as caught:
        load_workflow(tmp_path / "adherence.toml")
    [problem] = caught.value.problems
    assert (problem.path, problem.hint) == ("triggers[0].where.item_idd", "did you mean 'item_id'?")


# An agency's calendar for two clients, as a Google Sheets download (title line, a week line,
# day-first dates, a "Compte" column): Maison's two accounts, Trailhead's one, and a post planned
# for an account no client lists. Week of Monday 30 November 2026, Paris; clock Monday 7 December
# 09:00 UTC. Posts: only m1's (Mon 10:30 Paris). Missing: m2 (Tue 12:00 Paris, due 14:00 Paris =
# 13:00 UTC Tue 1: 140 h), t1 (Wed 09:00 Paris, due 10:00 UTC Wed 2: 119 h), n1 (Thu 18:00 Paris,
# due 19:00 UTC Thu 3: 86 h).
AGENCY_CALENDAR = ("Calendrier éditorial — agence (décembre 2026),,,,,,\r\n"
                   "Date,Heure,Réseau,Compte,Responsable,Sujet,ID\r\n"
                   "SEMAINE 49,,,,,,\r\n"
                   "30/11/2026,10h00,Instagram,maisonlumiere,Léa Martin,Teaser de l'avent,m1\r\n"
                   "01/12/2026,12h00,Facebook,Maison Lumière,Léa Martin,Horaires des fêtes,m2\r\n"
                   "02/12/2026,09h00,Instagram,trailhead.gear,Owen Price,Trail tips,t1\r\n"
                   "03/12/2026,18h00,LinkedIn,atelier-inconnu,Zoé,Portrait,n1\r\n")
AGENCY_POSTS = ("platform,account,post_id,published_at\r\n"
                "instagram,maisonlumiere,p1,2026-11-30T09:30:00Z\r\n")
AGENCY_WORKFLOW = """\
[workflow]
name = "Agency"
timezone = "Europe/Paris"
period = "2026-11-30..2026-12-06"

[[sources]]
id = "calendar"
plugin = "calendar_sheet"
path = "calendrier.csv"

[[sources]]
id = "posts"
plugin = "csv"
path = "posts.csv"

[[metrics]]
plugin = "missing_planned_posts"
by = ["overall", "client"]

[[triggers]]
id = "missing-post"
metric = "missing_planned_posts"
plugin = "threshold"
above = 0

[[clients]]
id = "maison"
name = "Maison Lumière"
language = "fr"
accounts = ["maisonlumiere", "Maison Lumière"]

[[clients]]
id = "trailhead"
name = "Trailhead Outfitters"
language = "en"
accounts = ["trailhead.gear"]
"""


def test_each_missing_post_is_listed_once_under_its_own_client(tmp_path: Path) -> None:
    """With two clients and ``by = ["overall", "client"]``, each item is one row and one alert,
    labelled with the client whose account it is for (none for an account no client lists), not
    once in the overall series and again in its client's; each report lists its own."""
    (tmp_path / "calendrier.csv").write_text(AGENCY_CALENDAR, encoding="utf-8")
    (tmp_path / "posts.csv").write_text(AGENCY_POSTS, encoding="utf-8")
    (tmp_path / "agency.toml").write_text(AGENCY_WORKFLOW, encoding="utf-8")
    result = run_workflow_file(tmp_path / "agency.toml", store_url=f"sqlite:///{tmp_path / 'state.db'}",
                               now=datetime(2026, 12, 7, 9, tzinfo=timezone.utc))
    assert not result.failed_stages, [(r.id, r.error) for r in result.failed_stages]
    current = result.measurements.filter(result.measurements["period"] == "current")
    rows = sorted(((row["item_id"], row["client"], row["value"]) for row in current.iter_rows(named=True)
                   if row["metric"] == "missing_planned_posts"), key=repr)
    assert rows == [("m1", "maison", 0.0), ("m2", "maison", 140.0), ("n1", None, 86.0), ("t1", "trailhead", 119.0)]
    assert sorted(((a.dimensions["item_id"], a.dimensions.get("client"), a.value) for a in result.alerts),
                  key=repr) == [
        ("m2", "maison", 140.0), ("n1", None, 86.0), ("t1", "trailhead", 119.0)]
    workflow = result.workflow
    listed = {name: [p.title for p in build_document(result, scope, title="Agency").missing_posts]
              for name, scope in (("all", ReportScope(None, None)),
                                  *((c.id, ReportScope(c, frozenset(("*", a) for a in c.accounts)))
                                    for c in workflow.clients))}
    assert listed == {"all": ["Horaires des fêtes", "Trail tips", "Portrait"],
                      "maison": ["Horaires des fêtes"], "trailhead": ["Trail tips"]}


def test_a_trigger_can_watch_one_clients_planned_posts(tmp_path: Path) -> None:
    """Each row names its item's client whatever ``by`` says: a trigger's ``where`` on ``client``
    is accepted without a client breakdown, and watches that client's items only."""
    (tmp_path / "calendrier.csv").write_text(AGENCY_CALENDAR, encoding="utf-8")
    (tmp_path / "posts.csv").write_text(AGENCY_POSTS, encoding="utf-8")
    workflow = (AGENCY_WORKFLOW.replace('by = ["overall", "client"]\n', "")
                .replace('above = 0\n', 'above = 0\nwhere = { client = "trailhead" }\n'))
    (tmp_path / "agency.toml").write_text(workflow, encoding="utf-8")
    load_workflow(tmp_path / "agency.toml")
    result = run_workflow_file(tmp_path / "agency.toml", store_url=f"sqlite:///{tmp_path / 'state.db'}",
                               now=datetime(2026, 12, 7, 9, tzinfo=timezone.utc))
    assert [(a.dimensions["item_id"], a.dimensions["client"]) for a in result.alerts] == [("t1", "trailhead")]


def _add_the_overall_alerts_written_before(db: Path) -> None:
    """Add to the store the missing-post alerts the version before rows named their client wrote
    besides those of the client series when ``by`` holds ``client``: each item again, overall,
    without ``client`` in its dimensions and with its id made from those."""
    import sqlite3

    from cmflow.foundation.alerts import fingerprint

    with sqlite3.connect(db) as connection:
        connection.row_factory = sqlite3.Row
        for row in connection.execute("SELECT * FROM alerts WHERE rule = 'missing-post'").fetchall():
            dimensions = json.loads(row["dimensions"])
            if dimensions.pop("client", None) is None:
                continue
            old = {**dict(row), "dimensions": json.dumps(dimensions), "fingerprint": fingerprint(row["rule"], dimensions)}
            connection.execute(f"INSERT INTO alerts ({', '.join(old)}) VALUES ({', '.join('?' * len(old))})",
                               tuple(old.values()))


@pytest.mark.parametrize("by", ["", 'by = ["overall", "client"]\n'], ids=["default_by", "by_client"])
def test_an_upgrade_neither_announces_missing_posts_again_nor_leaves_alerts_firing(tmp_path: Path, by: str) -> None:
    """Alerts stored before rows named their client (by default ``by``: without ``client``; with
    ``client`` in ``by``: one without and one with) are the same missing posts: the next run
    announces nothing and adds no task; the duplicate resolves; a post published later resolves
    its alert, under the id first announced, and ticks its one task."""
    (tmp_path / "calendrier.csv").write_text(AGENCY_CALENDAR, encoding="utf-8")
    (tmp_path / "posts.csv").write_text(AGENCY_POSTS, encoding="utf-8")
    workflow = AGENCY_WORKFLOW.replace('by = ["overall", "client"]\n', by) + (
        f'\n[[outputs]]\nplugin = "task_list"\npath = "{tmp_path / "tasks.md"}"\ntitle = "{{title}}"\n')
    store, db = f"sqlite:///{tmp_path / 'state.db'}", tmp_path / "state.db"
    # What the version before stored and announced: rows without their client (a run without
    # clients makes the same rows), or, with ``client`` in ``by``, one alert per client series too.
    before = workflow if by else workflow[:workflow.index("[[clients]]")] + workflow[workflow.index("[[outputs]]"):]
    (tmp_path / "agency.toml").write_text(before, encoding="utf-8")
    first = run_workflow_file(tmp_path / "agency.toml", store_url=store, now=datetime(2026, 12, 7, 9, tzinfo=timezone.utc))
    assert len(first.notifications) == 3 and any("client" in a.dimensions for a in first.alerts) == bool(by)
    if by:
        _add_the_overall_alerts_written_before(db)
    (tmp_path / "agency.toml").write_text(workflow, encoding="utf-8")
    tasks = (tmp_path / "tasks.md").read_text(encoding="utf-8")

    second = run_workflow_file(tmp_path / "agency.toml", store_url=store, now=datetime(2026, 12, 7, 10, tzinfo=timezone.utc))
    assert not second.failed_stages, [(r.id, r.error) for r in second.failed_stages]
    assert second.notifications == []
    assert (tmp_path / "tasks.md").read_text(encoding="utf-8") == tasks
    assert sorted((a.dimensions["item_id"], a.dimensions.get("client"), a.is_new) for a in second.alerts) == [
        ("m2", "maison", False), ("n1", None, False), ("t1", "trailhead", False)]
    assert sorted(item for item, _ in _firing(db)) == ["m2", "n1", "t1"]

    (tmp_path / "posts.csv").write_text(AGENCY_POSTS + "facebook,Maison Lumière,p2,2026-12-01T15:00:00Z\r\n",
                                        encoding="utf-8")
    third = run_workflow_file(tmp_path / "agency.toml", store_url=store, now=datetime(2026, 12, 7, 11, tzinfo=timezone.utc))
    assert [(n.event, n.alert.dimensions["item_id"]) for n in third.notifications] == [("resolved", "m2")]
    assert sorted(item for item, _ in _firing(db)) == ["n1", "t1"]
    ticked = [line for line in (tmp_path / "tasks.md").read_text(encoding="utf-8").splitlines() if "[x]" in line]
    assert len(ticked) == 1 and "Horaires des fêtes" in ticked[0], ticked


@pytest.mark.parametrize("silenced", [False, True])
def test_the_cards_of_an_upgrade_s_duplicates_close_as_a_resolved_alert_s_do(tmp_path: Path, monkeypatch,
                                                                               silenced: bool) -> None:
    """The version before made a card for each missing post once per client series and once
    overall. After the upgrade the overall duplicates resolve without a word, and their cards
    move to the done list as any resolved alert's card does (docs/outputs/tasks.md); the cards of
    the alerts that go on stay open, and nothing is created. A silence on a duplicate keeps its
    card open, as it keeps a resolved alert's card."""
    from cmflow.builtin.outputs.work_items import item_key
    from cmflow.stages.lifecycle import alert_from_state
    from cmflow.store import open_store
    from task_boards import TrelloBoard, wait_until_answered

    (tmp_path / "calendrier.csv").write_text(AGENCY_CALENDAR, encoding="utf-8")
    (tmp_path / "posts.csv").write_text(AGENCY_POSTS, encoding="utf-8")
    store, db = f"sqlite:///{tmp_path / 'state.db'}", tmp_path / "state.db"
    with TrelloBoard() as board:
        monkeypatch.setenv("TRELLO_KEY", board.key)
        monkeypatch.setenv("TRELLO_TOKEN", board.token)
        (tmp_path / "agency.toml").write_text(AGENCY_WORKFLOW + f"""
[[outputs]]
plugin = "trello_card"
key = "${{env:TRELLO_KEY}}"
token = "${{env:TRELLO_TOKEN}}"
board = "{board.board}"
list_id = "64b0000000000000000000a1"
done_list_id = "64b0000000000000000000d0"
title = "{{title}}"
base_url = "{board.url}"
allow_private_network = true
""", encoding="utf-8")
        first = run_workflow_file(tmp_path / "agency.toml", store_url=store, now=datetime(2026, 12, 7, 9, tzinfo=timezone.utc))
        assert not first.failed_stages and len(board.items) == 3
        # The overall duplicates the version before stored, and the cards it made for them.
        _add_the_overall_alerts_written_before(db)
        workflow = load_workflow(tmp_path / "agency.toml")
        output = workflow.outputs[0].plugin
        with open_store(store) as opened:
            duplicates = [alert_from_state(state) for state in opened.alert_states(workflow.key).values()
                          if "client" not in state.dimensions and state.dimensions["item_id"] != "n1"]
        assert len(duplicates) == 2
        for number, alert in enumerate(duplicates, start=100):
            board.items.append({"id": f"65a{number:021x}", "name": alert.dimensions["title"], "closed": False,
                                "desc": f"Before the upgrade\n\ncmflow-key: {item_key(workflow.key, output.name, output.target(), alert)}",
                                "idList": "64b0000000000000000000a1", "url": f"https://trello.com/c/Old{number}"})

        if silenced:
            from cmflow.foundation.silences import Silence

            with open_store(store) as opened:
                opened.add_silence(Silence("s1", {"rule": "missing-post", "item_id": "t1"},
                                           datetime(2026, 12, 1, tzinfo=timezone.utc),
                                           datetime(2026, 12, 14, tzinfo=timezone.utc), "client on holiday"))
        second = run_workflow_file(tmp_path / "agency.toml", store_url=store, now=datetime(2026, 12, 7, 10, tzinfo=timezone.utc))
        wait_until_answered(board)
    assert not second.failed_stages, [(r.id, r.error) for r in second.failed_stages]
    assert second.notifications == []  # nothing is announced
    assert len(board.items) == 5 and board.posts("/1/cards") == 3  # nothing is created
    lists = sorted((card["name"], card["url"].startswith("https://trello.com/c/Old"), card["idList"][-2:])
                   for card in board.items)
    assert lists == [("Horaires des fêtes", False, "a1"), ("Horaires des fêtes", True, "d0"),
                     ("Portrait", False, "a1"), ("Trail tips", False, "a1"), ("Trail tips", True, "a1" if silenced else "d0")]


def _firing(db: Path) -> list[tuple[str, str]]:
    """(item_id, fingerprint) of the store's firing missing-post alerts."""
    import sqlite3

    with sqlite3.connect(db) as connection:
        return [(json.loads(dimensions)["item_id"], fp) for fp, dimensions in connection.execute(
            "SELECT fingerprint, dimensions FROM alerts WHERE rule = 'missing-post' AND state = 'firing'")]
