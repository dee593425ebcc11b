"""Tasks from events: the ``calendar_items`` metric, and the ``trello_card``, ``asana_task`` and
``notion_page`` outputs against loopback stand-ins of the three APIs (tests/task_boards.py) that
answer in the platforms' shapes and remember what was created.

The calendar: last week in Paris is 9 to 15 November 2026 (the run counts as of Monday 16th,
09:00 UTC). A French export (byte-order mark, `;`, local times) of five items:

  c1  Tue 10 Nov  instagram  Approuvé  in the period, approved
  c2  Thu 12 Nov  tiktok     approved  in the period, approved
  c3  Fri 13 Nov  linkedin   Idée      in the period, not approved
  c4  Sat 14 Nov  instagram  Publié    in the period, not approved
  c5  Fri 20 Nov  instagram  Approuvé  after the period: not counted

so 2 approved items (instagram 1, tiktok 1, linkedin 0), and 2 design cards, once.
"""

from __future__ import annotations

import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

import polars as pl
import pytest

from cmflow import DeliveryFailed, RecordTable, SendContext, Source, hookimpl
from cmflow.builtin.outputs.asana_task import AsanaTask
from cmflow.builtin.outputs.notion_page import NotionPage
from cmflow.builtin.outputs.trello_card import TrelloCard
from cmflow.delivery.outbox import dispatch
from cmflow.foundation.errors import WorkflowInvalid
from cmflow.http import make_client
from cmflow.plugins.notifications import send_client_options
from cmflow.store import DEAD, DELIVERED, PENDING, open_store
from cmflow.testing import Reply, registered_plugin, run_workflow_file
from cmflow.workflow import load_workflow
from cmflow_command import CMFLOW, cmflow_in_process
from task_boards import AsanaWorkspace, NotionDatabase, TrelloBoard, wait_until_answered

NOW = datetime(2026, 11, 16, 9, tzinfo=timezone.utc)
CALENDAR = ("\ufeffID;Titre;Prévu le;Réseau;Compte;Statut;Responsable\r\n"
            "c1;Carrousel soldes d'hiver;10/11/2026 09:00;instagram;maison.lune;Approuvé;Léa\r\n"
            "c2;\"Vidéo coulisses\n(atelier)\";12/11/2026 18:30;tiktok;maison.lune;approved;Marc\r\n"
            "c3;Post recrutement;13/11/2026 12:00;linkedin;maison-lune;Idée;Léa\r\n"
            "c4;Reel nouveautés;14/11/2026 10:00;instagram;maison.lune;Publié;Marc\r\n"
            "c5;Story hors période;20/11/2026 10:00;instagram;maison.lune;Approuvé;Léa\r\n")
WORKFLOW = """
[workflow]
name = "Editorial desk"
timezone = "Europe/Paris"
period = "last_week"

[[sources]]
id = "calendar"
plugin = "csv"
path = "calendar.csv"
record = "calendar_item"
delimiter = ";"
datetime_format = "%d/%m/%Y %H:%M"
columns = { item_id = "ID", title = "Titre", planned_at = "Prévu le", platform = "Réseau", account = "Compte", status = "Statut", owner = "Responsable" }

[[metrics]]
plugin = "calendar_items"
status = ["approved", "Approuvé"]
measurement = "approved_items"
by = ["overall", "platform"]

[[triggers]]
id = "approved"
plugin = "threshold"
metric = "approved_items_each"
above = 0
severity = "info"
{outputs}"""


def trello_output(board: TrelloBoard, **extra: str) -> str:
    lines = "\n".join(f"{name} = {value}" for name, value in extra.items())
    return f"""
[[outputs]]
plugin = "trello_card"
key = "${{env:TRELLO_KEY}}"
token = "${{env:TRELLO_TOKEN}}"
board = "{board.board}"
list_id = "64b0000000000000000000a1"
done_list_id = "64b0000000000000000000d0"
title = "Design the visual: {{title}}"
due_in = "2d"
base_url = "{board.url}"
allow_private_network = true
{lines}
"""


def write(tmp_path, outputs: str = "", calendar: str = CALENDAR):
    (tmp_path / "calendar.csv").write_text(calendar, encoding="utf-8", newline="")
    path = tmp_path / "desk.toml"
    path.write_text(WORKFLOW.replace("{outputs}", outputs), encoding="utf-8")
    return path


@pytest.fixture
def trello(monkeypatch):
    with TrelloBoard() as board:
        monkeypatch.setenv("TRELLO_KEY", board.key)
        monkeypatch.setenv("TRELLO_TOKEN", board.token)
        yield board
        wait_until_answered(board)


def current(result, metric: str) -> list[dict]:
    rows = result.measurements.filter((pl.col("period") == "current") & (pl.col("metric") == metric))
    return rows.to_dicts()


# -- the metric --------------------------------------------------------------------------------
def test_calendar_items_counts_the_period_s_items_in_the_status_and_lists_each(tmp_path, store_url):
    result = run_workflow_file(write(tmp_path), store_url=store_url, now=NOW)
    assert result.status == "ok", [s.error for s in result.failed_stages]
    counts = {row["platform"]: row["value"] for row in current(result, "approved_items")}
    assert counts == {None: 2.0, "instagram": 1.0, "tiktok": 1.0, "linkedin": 0.0}
    each = {row["item_id"]: (row["value"], row["title"], row["platform"]) for row in current(result, "approved_items_each")}
    assert each == {"c1": (1.0, "Carrousel soldes d'hiver", "instagram"),
                    "c2": (1.0, "Vidéo coulisses\n(atelier)", "tiktok"),
                    "c3": (0.0, "Post recrutement", "linkedin"), "c4": (0.0, "Reel nouveautés", "instagram")}
    assert sorted(a.dimensions["item_id"] for a in result.alerts) == ["c1", "c2"]


def test_calendar_items_takes_one_status_written_alone(tmp_path, store_url):
    """status = "Approuvé" is a one-status list: c1 only (c2 says "approved", another word)."""
    path = write(tmp_path)
    path.write_text(path.read_text(encoding="utf-8").replace('status = ["approved", "Approuvé"]',
                                                             'status = "Approuvé"'), encoding="utf-8")
    result = run_workflow_file(path, store_url=store_url, now=NOW)
    assert result.status == "ok", [s.error for s in result.failed_stages]
    counts = {row["platform"]: row["value"] for row in current(result, "approved_items")}
    assert counts == {None: 1.0, "instagram": 1.0, "tiktok": 0.0, "linkedin": 0.0}


@pytest.mark.parametrize("written", ["", "status = []\n"])
def test_calendar_items_without_a_status_says_what_to_write(tmp_path, written):
    path = write(tmp_path)
    path.write_text(path.read_text(encoding="utf-8").replace('status = ["approved", "Approuvé"]\n', written),
                    encoding="utf-8")
    with pytest.raises(WorkflowInvalid) as caught:
        load_workflow(path)
    assert 'metrics[0].status: list the statuses to count, e.g. status = ["approved"]' in str(caught.value)


def test_calendar_items_ahead_counts_the_items_planned_after_the_period(tmp_path, store_url):
    path = write(tmp_path)
    path.write_text(path.read_text(encoding="utf-8").replace('measurement = "approved_items"',
                                                             'measurement = "approved_items"\nahead = "7d"'),
                    encoding="utf-8")
    result = run_workflow_file(path, store_url=store_url, now=NOW)
    assert result.status == "ok", [s.error for s in result.failed_stages]
    # c5 (Fri 20 Nov, approved) is within 7 days after Sunday 15th: 3 approved, 2 on instagram.
    counts = {row["platform"]: row["value"] for row in current(result, "approved_items")}
    assert counts == {None: 3.0, "instagram": 2.0, "tiktok": 1.0, "linkedin": 0.0}
    assert sorted(a.dimensions["item_id"] for a in result.alerts) == ["c1", "c2", "c5"]


def test_an_alert_s_events_share_its_item_key_and_a_new_episode_has_its_own(tmp_path, store_url, trello):
    import dataclasses

    from cmflow import DeliveryContext, Notification, NotificationBatch

    result = run_workflow_file(write(tmp_path, trello_output(trello)), store_url=store_url, now=NOW, dry_run=True)
    alert = next(a for a in result.alerts if a.dimensions["item_id"] == "c1")
    later = dataclasses.replace(alert, active_since=alert.active_since + timedelta(days=30))
    events = [Notification(alert, "firing"), Notification(alert, "repeat", 1), Notification(alert, "resolved"),
              Notification(later, "firing")]
    plugin = result.workflow.outputs[0].plugin
    messages = plugin.compose(NotificationBatch(result, events, {"workflow": "w"}, key="batch"),
                              DeliveryContext(tmp_path, logging.getLogger("test")))
    assert [m.payload["action"] for m in messages] == ["open", "open", "close", "open"]
    keys = [m.payload["item_key"] for m in messages]
    assert keys[0] == keys[1] == keys[2] != keys[3]  # one card per episode of the alert
    assert len({m.key for m in messages}) == 4  # each event its own outbox message
    assert messages[2].summary == "Trello: close card \"Design the visual: Carrousel soldes d'hiver\""


class WindowedCalendar(Source):
    """A calendar source that, like the API ones, hands over only the items in its fetch window."""

    name = "windowed_calendar"
    description = "Test: calendar items within the fetch window."
    record_kinds = ("calendar_item",)
    windows: list = []

    def fetch(self, ctx):
        WindowedCalendar.windows.append((ctx.window_start, ctx.window_end))
        plans = [("c1", datetime(2026, 11, 10, 8, tzinfo=timezone.utc)),   # in the period
                 ("c5", datetime(2026, 11, 20, 9, tzinfo=timezone.utc)),   # 5 days after it
                 ("c9", datetime(2026, 12, 1, 9, tzinfo=timezone.utc))]    # 16 days after it
        yield RecordTable.from_rows("calendar_item", [
            {"item_id": item, "planned_at": planned, "title": item, "platform": "instagram", "status": "approved"}
            for item, planned in plans if ctx.window_start <= planned < ctx.window_end])


@hookimpl
def register_sources(register):
    register(WindowedCalendar)


@pytest.mark.parametrize(("ahead", "counted", "window_end"), [
    ("", ["c1"], datetime(2026, 11, 15, 23, tzinfo=timezone.utc)),          # the end of Sunday 15th in Paris
    ('ahead = "7d"', ["c1", "c5"], datetime(2026, 11, 22, 23, tzinfo=timezone.utc)),
])
def test_ahead_extends_the_fetch_window_of_api_sources(tmp_path, store_url, ahead, counted, window_end):
    path = tmp_path / "ahead.toml"
    path.write_text(f"""
[workflow]
name = "Plans"
timezone = "Europe/Paris"
period = "last_week"

[[sources]]
id = "plans"
plugin = "windowed_calendar"

[[metrics]]
plugin = "calendar_items"
status = ["approved"]
{ahead}
""", encoding="utf-8")
    WindowedCalendar.windows = []
    with registered_plugin(sys.modules[__name__]):
        result = run_workflow_file(path, store_url=store_url, now=NOW)
    assert result.status == "ok", [s.error for s in result.failed_stages]
    assert WindowedCalendar.windows[0][1] == window_end
    assert sorted(row["item_id"] for row in current(result, "calendar_items_each")) == counted


# -- Trello: a real run, twice, then a resolution -----------------------------------------------
def test_a_run_creates_one_card_per_approved_item_and_a_rerun_none(tmp_path, store_url, trello):
    path = write(tmp_path, trello_output(trello))
    first = run_workflow_file(path, store_url=store_url, now=NOW)
    assert first.status == "ok", [s.error for s in first.failed_stages]
    assert trello.posts("/1/cards") == 2 and len(trello.items) == 2
    by_title = {card["name"]: card for card in trello.items}
    assert set(by_title) == {"Design the visual: Carrousel soldes d'hiver",
                             "Design the visual: Vidéo coulisses (atelier)"}
    card = by_title["Design the visual: Carrousel soldes d'hiver"]
    assert card["idList"] == "64b0000000000000000000a1"
    assert card["due"] == "2026-11-18T10:00:00+01:00"  # the run's time + 2 days, in Paris
    lines = card["desc"].splitlines()
    # the item named by its title first; its id (c1, the calendar's) only in the hidden key
    assert lines[:5] == ["Approved items each: 1 item for Carrousel soldes d'hiver · maison.lune · Instagram",
                         "Value: 1", "Title: Carrousel soldes d'hiver", "Platform: Instagram", "Account: maison.lune"]
    assert lines[-1].startswith("cmflow-key: ") and len(lines[-1]) == len("cmflow-key: ") + 32
    # Every request carried the key and token in the query (Trello's way), never in a body.
    assert all(r.params["token"] == trello.token for r in trello.requests)

    posted = len(trello.requests)
    second = run_workflow_file(path, store_url=store_url, now=NOW + timedelta(minutes=1))
    assert second.status == "ok"
    # Still approved: the alerts keep firing, announced once: no request at all, no card.
    assert trello.posts("/1/cards") == 2 and len(trello.requests) == posted and trello.duplicated == 0

    # c2 moves on to "Planifié": its alert resolves and its card goes to the done list.
    moved = CALENDAR.replace(";approved;Marc", ";Planifié;Marc")
    write(tmp_path, trello_output(trello), calendar=moved)
    third = run_workflow_file(path, store_url=store_url, now=NOW + timedelta(minutes=2))
    assert third.status == "ok"
    assert [(r.method, r.path) for r in trello.requests[posted:]] == [
        ("GET", f"/1/boards/{trello.board}/cards"), ("PUT", f"/1/cards/{by_title['Design the visual: Vidéo coulisses (atelier)']['id']}")]
    assert {c["name"]: c["idList"] for c in trello.items}["Design the visual: Vidéo coulisses (atelier)"] == \
        "64b0000000000000000000d0"
    assert trello.posts("/1/cards") == 2 and trello.duplicated == 0


def test_a_card_whose_answer_was_lost_is_found_not_created_again(tmp_path, store_url, trello):
    """The API takes the create, and its answer never reaches cmflow (the client gave up): the
    message stays in the outbox; its retry finds the card by its key and creates nothing."""
    trello.lose_answers = 2
    path = write(tmp_path, trello_output(trello, timeout="0.3"))
    result = run_workflow_file(path, store_url=store_url, now=NOW)
    assert len(trello.items) == 2 and trello.posts("/1/cards") == 2
    with open_store(store_url) as store:
        waiting = store.outbox(status=PENDING, limit=100)
        assert len(waiting) == 2 and all("timed out" in (m.last_error or "") for m in waiting)
        wait_until_answered(trello)
        later = datetime.now(timezone.utc) + timedelta(hours=1)
        report = dispatch(store, workflow=result.workflow, clock=lambda: later, load=load_workflow)
        assert len(report.delivered) == 2
        assert sorted(report.notes.values()) == sorted(
            f"Trello card already created: {c['shortUrl']}" for c in trello.items)
        assert len(store.outbox(status=DELIVERED, limit=100)) == 2
    # sent 2, received 2 (both creates taken), duplicated 0, lost 0.
    assert trello.posts("/1/cards") == 2 and trello.duplicated == 0 and len(trello.items) == 2


def test_a_sender_killed_after_the_create_makes_no_second_card(tmp_path, trello):
    """``cmflow run`` is SIGKILLed while Trello holds the answer to a create it has taken: the
    message is still pending in the outbox; ``cmflow outbox flush`` sends it again, and the lookup
    finds the card. Sent 2 (+1 again), received 2, duplicated 0, lost 0."""
    trello.lose_answers, trello.answer_delay = 1, 20.0
    path = write(tmp_path, trello_output(trello, timeout="60"))
    store = f"sqlite:///{tmp_path / 'state.db'}"
    run = subprocess.Popen([*CMFLOW, "run", str(path), "--as-of", "2026-11-16", "--store", store],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while trello.posts("/1/cards") < 1 and time.monotonic() < deadline and run.poll() is None:
            time.sleep(0.05)
        assert trello.posts("/1/cards") == 1, "the run never created its first card"
    finally:
        os.kill(run.pid, signal.SIGKILL)
        run.wait()
    assert len(trello.items) == 1  # taken by Trello, never acknowledged to the outbox
    with open_store(store) as state:
        assert len(state.outbox(status=PENDING, limit=100)) == 2
    flush = cmflow_in_process("outbox", "flush", "--store", store)  # the killed run is the process this test needs
    assert flush.returncode == 0, flush.stdout + flush.stderr
    assert trello.posts("/1/cards") == 2 and len(trello.items) == 2 and trello.duplicated == 0
    with open_store(store) as state:
        delivered = state.outbox(status=DELIVERED, limit=100)
    assert len(delivered) == 2
    assert any((m.note or "").startswith("Trello card already created: ") for m in delivered)


def test_a_receiver_down_is_retried_later_and_nothing_is_lost(tmp_path, store_url, trello):
    with socket.socket() as spare:  # a port nobody listens on
        spare.bind(("127.0.0.1", 0))
        down = f"http://127.0.0.1:{spare.getsockname()[1]}"
    outputs = trello_output(trello).replace(f'base_url = "{trello.url}"', f'base_url = "{down}"')
    path = write(tmp_path, outputs)
    result = run_workflow_file(path, store_url=store_url, now=NOW)
    with open_store(store_url) as store:
        assert len(store.outbox(status=PENDING, limit=100)) == 2
    path.write_text(path.read_text(encoding="utf-8").replace(down, trello.url), encoding="utf-8")
    with open_store(store_url) as store:
        later = datetime.now(timezone.utc) + timedelta(hours=1)
        report = dispatch(store, workflow=None, clock=lambda: later, load=load_workflow, only_workflow=False)
        assert len(report.delivered) == 2 and not report.dead
    assert len(trello.items) == 2 and trello.duplicated == 0
    assert result.workflow.key


def test_a_refused_token_is_dead_lettered_with_the_receiver_s_words(tmp_path, store_url, trello, monkeypatch):
    monkeypatch.setenv("TRELLO_TOKEN", "ATTA-revoked-token-feedfacefeedfacefeedface")
    result = run_workflow_file(write(tmp_path, trello_output(trello)), store_url=store_url, now=NOW)
    with open_store(store_url) as store:
        dead = store.outbox(status=DEAD, limit=100)
    assert len(dead) == 2 and trello.items == []
    for message in dead:
        assert "invalid token" in message.last_error
        assert "feedface" not in message.last_error and trello.key not in message.last_error
    assert result.workflow.key


# -- Asana: an unanswered negative comment becomes a moderation task --------------------------
CONVERSATIONS = ("\ufeffID du message;Reçu le;Répondu le;Compte;Message;Sentiment\r\n"
                 "i1;09/11/2026 10:00;09/11/2026 10:40;maison.lune;Livrez-vous à Lyon ?;neutral\r\n"
                 "i4;13/11/2026 16:00;;maison.lune;\"Colis jamais reçu,\nscandale\";negative\r\n")
CARE = """
[workflow]
name = "Care desk"
timezone = "Europe/Paris"
period = "last_week"

[[sources]]
id = "instagram"
plugin = "csv"
path = "messages.csv"
record = "conversation"
delimiter = ";"
datetime_format = "%d/%m/%Y %H:%M"
constants = { platform = "instagram" }
columns = { message_id = "ID du message", received_at = "Reçu le", replied_at = "Répondu le", account = "Compte", text = "Message", sentiment = "Sentiment" }

[[metrics]]
plugin = "unanswered_negative"
by = ["account"]
older_than = "1h"

[[triggers]]
id = "negative_waiting"
plugin = "threshold"
metric = "unanswered_negative"
by = ["account"]
above = 0
severity = "critical"

[[outputs]]
plugin = "asana_task"
token = "${env:ASANA_TOKEN}"
project = "https://app.asana.com/0/1204567890123456/list"
section = "1204567890123460"
assignees = ["moderation@example.com"]
find_by = "external"
title = "Moderate {account} on {platform}: {summary}"
due_in = "4h"
base_url = "{api}"
allow_private_network = true
"""


def test_an_unanswered_negative_comment_creates_one_moderation_task(tmp_path, store_url, monkeypatch):
    with AsanaWorkspace() as asana:
        monkeypatch.setenv("ASANA_TOKEN", asana.token)
        (tmp_path / "messages.csv").write_text(CONVERSATIONS, encoding="utf-8", newline="")
        path = tmp_path / "care.toml"
        path.write_text(CARE.replace("{api}", asana.url), encoding="utf-8")
        first = run_workflow_file(path, store_url=store_url, now=NOW)
        assert first.status == "ok", [s.error for s in first.failed_stages]
        assert [(r.method, r.path.split(":")[0]) for r in asana.requests] == [
            ("GET", "/api/1.0/tasks/external"), ("POST", "/api/1.0/tasks")]
        [task] = asana.items
        assert task["name"] == ("Moderate maison.lune on instagram: Negative messages waiting: 1 conversation for "
                                "maison.lune · Instagram")
        created = asana.requests[1].json()["data"]
        assert created["memberships"] == [{"project": "1204567890123456", "section": "1204567890123460"}]
        assert created["assignee"] == "moderation@example.com" and created["due_on"] == "2026-11-16"
        assert created["external"]["gid"] == asana.requests[0].path.split("external:")[1]

        # The same run again (a retry of the whole run): the message is the same, already delivered.
        again = run_workflow_file(path, store_url=store_url, now=NOW)
        assert again.status == "ok" and asana.posts("/tasks") == 1 and asana.duplicated == 0

        # The comment is answered: the alert resolves, the task is completed.
        answered = CONVERSATIONS.replace("13/11/2026 16:00;;", "13/11/2026 16:00;16/11/2026 08:00;")
        (tmp_path / "messages.csv").write_text(answered, encoding="utf-8", newline="")
        run_workflow_file(path, store_url=store_url, now=NOW + timedelta(days=7))
        assert asana.items[0]["completed"] is True and asana.posts("/tasks") == 1


# -- each output's requests, one message at a time --------------------------------------------
@pytest.fixture
def send_context(tmp_path):
    client = make_client(**send_client_options())
    yield SendContext(tmp_path, logging.getLogger("cmflow.test"), datetime.now(timezone.utc), attempt=1,
                      http_client=client)
    client.close()


def message_for(plugin, key: str = "0f" * 16, action: str = "open"):
    from cmflow import Message

    return Message("test", {"action": action, "item_key": key, "title": "Moderate: a comment",
                            "description": ["Unanswered negative is 1", "Account: maison.lune"],
                            "summary": "Unanswered negative is 1", "due": "2026-11-17T09:00:00+00:00"}, key="m1")


def notion_plugin(database: NotionDatabase, **options):
    return NotionPage(NotionPage.Options(token=database.token, database=database.database, api_url=database.url + "/v1",
                                         allow_private_network=True, **options), entry_id="notion")


def test_notion_page_is_created_once_and_set_to_done(send_context):
    with NotionDatabase() as notion:
        plugin = notion_plugin(notion, status_property="Status", due_property="Due", tags_property="Tags",
                               labels=["moderation"])
        note = plugin.send(message_for(plugin), send_context)
        [page] = notion.items
        assert note == f"created Notion page {page['url']}"
        assert page["properties"] == {
            "Name": {"title": [{"type": "text", "text": {"content": "Moderate: a comment"}}]},
            "cmflow key": {"rich_text": [{"type": "text", "text": {"content": "0f" * 16}}]},
            "Due": {"date": {"start": "2026-11-17"}}, "Tags": {"multi_select": [{"name": "moderation"}]}}
        assert plugin.send(message_for(plugin), send_context) == f"Notion page already created: {page['url']}"
        assert notion.posts("/pages") == 1 and notion.posts("/query") == 2
        closed = plugin.send(message_for(plugin, action="close"), send_context)
        assert closed == f"closed Notion page {page['url']}"
        assert page["properties"]["Status"] == {"status": {"name": "Done"}}
        assert plugin.send(message_for(plugin, action="close"), send_context).endswith("already closed")


def test_notion_429_hands_its_retry_after_to_the_outbox(send_context):
    with NotionDatabase() as notion:
        notion.add("POST", f"/v1/databases/{notion.database}/query", Reply(
            429, json={"object": "error", "status": 429, "code": "rate_limited",
                       "message": "You have been rate limited. Please try again in a few minutes."},
            headers={"Retry-After": "7"}))
        plugin = notion_plugin(notion)
        with pytest.raises(DeliveryFailed) as caught:
            plugin.send(message_for(plugin), send_context)
        assert caught.value.retryable and 6.5 <= caught.value.retry_after <= 7.0
        assert "rate limited" in str(caught.value) and notion.items == []
        # A 401 is not retried, and its words are kept; the secret is not.
        notion.add("POST", f"/v1/databases/{notion.database}/query", Reply(
            401, json={"object": "error", "status": 401, "code": "unauthorized", "message": "API token is invalid."}))
        with pytest.raises(DeliveryFailed) as refused:
            plugin.send(message_for(plugin), send_context)
        assert not refused.value.retryable and "API token is invalid." in str(refused.value)
        assert notion.token not in str(refused.value)


def test_asana_says_when_its_integration_id_was_not_kept(send_context):
    with AsanaWorkspace() as asana:
        asana.keeps_external = False  # a personal access token
        plugin = AsanaTask(AsanaTask.Options(token=asana.token, project="1204567890123456", find_by="external",
                                             api_url=asana.url + "/api/1.0", allow_private_network=True), entry_id="a")
        note = plugin.send(message_for(plugin), send_context)
        [task] = asana.items
    assert note == (f"created Asana task {task['permalink_url']}; Asana did not keep its integration id (a "
                    "personal access token cannot set it): set find_by = \"notes\" on this output")
    assert task["notes"].endswith(f"cmflow-key: {'0f' * 16}")  # found by notes once switched


def test_asana_by_notes_creates_once_and_finds_its_own_task(send_context):
    with AsanaWorkspace() as asana:
        plugin = AsanaTask(AsanaTask.Options(token=asana.token, project="1204567890123456",
                                             api_url=asana.url + "/api/1.0", allow_private_network=True), entry_id="a")
        asana.add("GET", "/api/1.0/projects/1204567890123456/tasks", Reply(json={"data": [], "next_page": None}))
        first = plugin.send(message_for(plugin), send_context)
        [task] = asana.items
        asana.add("GET", "/api/1.0/projects/1204567890123456/tasks",
                  Reply(json={"data": [AsanaWorkspace.shown(task)], "next_page": None}))
        second = plugin.send(message_for(plugin), send_context)
    assert first == f"created Asana task {task['permalink_url']}" and "external" not in asana.requests[1].json()["data"]
    assert second == f"Asana task already created: {task['permalink_url']}" and asana.posts("/tasks") == 1


def test_trello_reads_a_big_board_page_by_page_for_the_card(send_context):
    """Trello gives at most 1000 cards a request, newest first; older ones come with ``before``
    (the oldest card id seen): the card with the key is on the second page."""
    with TrelloBoard() as board:
        newest = [{"id": f"65{1999 - i:06x}0000000000000000", "desc": "a card of the team", "idList": "l",
                   "closed": False, "shortUrl": f"https://trello.com/c/n{i}"} for i in range(1000)]
        ours = {"id": "64f0000a0000000000000000", "desc": f"Moderate\n\ncmflow-key: {'0f' * 16}", "idList": "l",
                "closed": True, "shortUrl": "https://trello.com/c/Ours0001"}
        path = f"/1/boards/{board.board}/cards"
        board.add("GET", path, Reply(json=newest), Reply(json=[ours]))
        plugin = TrelloCard(TrelloCard.Options(api_key=board.key, token=board.token, board_id=board.board,
                                               list_id="64b0000000000000000000a1", api_url=board.url + "/1",
                                               allow_private_network=True),
                            entry_id="t")
        note = plugin.send(message_for(plugin), send_context)
    assert note == "Trello card already created: https://trello.com/c/Ours0001"
    first, second = board.requests
    assert (first.params["filter"], first.params["limit"], "before" not in first.params) == ("all", "1000", True)
    assert second.params["before"] == f"65{1000:06x}0000000000000000" and board.posts("/cards") == 0


def test_trello_comments_a_resolution_once_when_its_answer_was_lost(send_context):
    """Without a done list, a resolved alert's card gets a comment. Trello takes the comment and
    its answer is lost (the client gave up): the retry finds our comment by its key line among
    the card's comments and writes none; a later resolution of the same card says so too."""
    with TrelloBoard() as board:
        plugin = TrelloCard(TrelloCard.Options(api_key=board.key, token=board.token, board_id=board.board,
                                               list_id="64b0000000000000000000a1", api_url=board.url + "/1",
                                               allow_private_network=True, timeout=0.3), entry_id="t")
        plugin.send(message_for(plugin), send_context)
        [card] = board.items
        board.lose_answers = 1
        with pytest.raises(DeliveryFailed) as lost:
            plugin.send(message_for(plugin, action="close"), send_context)
        assert lost.value.retryable and "timed out" in str(lost.value)
        wait_until_answered(board)
        assert len(board.comments) == 1  # Trello took it
        retried = plugin.send(message_for(plugin, action="close"), send_context)
        again = plugin.send(message_for(plugin, action="close"), send_context)
    assert retried == again == f"Trello card {card['shortUrl']} already closed"
    assert board.comments == [(card["id"], f"Resolved: Unanswered negative is 1\n\ncmflow-resolved: {'0f' * 16}")]
    assert board.posts("/actions/comments") == 1


def test_trello_shows_untrusted_text_as_written_not_as_links(send_context):
    with TrelloBoard() as board:
        plugin = TrelloCard(TrelloCard.Options(api_key=board.key, token=board.token, board_id=board.board,
                                               list_id="64b0000000000000000000a1", api_url=board.url + "/1",
                                               allow_private_network=True), entry_id="t")
        message = message_for(plugin)
        message.payload["description"] = ["Title: [click here](https://evil.example) *now* <b>x</b>"]
        plugin.send(message, send_context)
        [card] = board.items
    assert card["desc"] == ("Title: \\[click here\\]\\(https://evil.example\\) \\*now\\* \\<b\\>x\\</b\\>\n\n"
                            f"cmflow-key: {'0f' * 16}")
    assert card["name"] == "Moderate: a comment" and board.key not in card["desc"]


def test_asana_find_by_notes_reads_the_project_s_tasks(send_context):
    with AsanaWorkspace() as asana:
        key = "ab" * 16
        asana.add("GET", "/api/1.0/projects/1204567890123456/tasks", Reply(json={
            "data": [{"gid": "1", "notes": "other", "completed": False, "permalink_url": "https://app.asana.com/0/0/1"}],
            "next_page": {"offset": "eyJ0eXAiOiJKV1Qi", "path": "/projects/1204567890123456/tasks?limit=100&offset=eyJ0eXAiOiJKV1Qi",
                          "uri": "https://app.asana.com/api/1.0/projects/1204567890123456/tasks?limit=100&offset=eyJ0eXAiOiJKV1Qi"}}),
            Reply(json={"data": [{"gid": "2", "notes": f"Moderate\n\ncmflow-key: {key}", "completed": False,
                                  "permalink_url": "https://app.asana.com/0/0/2"}], "next_page": None}))
        plugin = AsanaTask(AsanaTask.Options(token=asana.token, project="1204567890123456", find_by="notes",
                                             api_url=asana.url + "/api/1.0", allow_private_network=True), entry_id="a")
        assert plugin.send(message_for(plugin, key=key), send_context) == \
            "Asana task already created: https://app.asana.com/0/0/2"
        assert [r.params.get("offset") for r in asana.requests] == [None, "eyJ0eXAiOiJKV1Qi"]
        assert asana.posts("/tasks") == 0


# -- task_list: the same tasks in a file a CM opens offline -------------------------------------
def task_list_output(path: str, title: str = "Design the visual: {title}", **extra: str) -> str:
    lines = "\n".join(f"{name} = {value}" for name, value in extra.items())
    return f"""
[[outputs]]
plugin = "task_list"
path = "{path}"
title = "{title}"
due_in = "2d"
{lines}
"""


def test_a_task_list_gets_one_task_per_approved_item_once_and_ticks_it_when_resolved(tmp_path, store_url, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a task list's path is relative to where cmflow runs
    path = write(tmp_path, task_list_output("tasks/a-faire.md"))
    first = run_workflow_file(path, store_url=store_url, now=NOW)
    assert first.status == "ok", [s.error for s in first.failed_stages]
    tasks = tmp_path / "tasks" / "a-faire.md"
    lines = tasks.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "# Tasks (cmflow)"
    opened = [line for line in lines if line.startswith("- [")]
    assert [line.split(" <!--")[0] for line in opened] == [
        "- [ ] Design the visual: Carrousel soldes d'hiver (due Nov 18, 2026)",
        "- [ ] Design the visual: Vidéo coulisses \\(atelier\\) (due Nov 18, 2026)"]
    assert all(re.search(r"<!-- cmflow-key: [0-9a-f]{32} -->$", line) for line in opened)
    assert "  - Title: Carrousel soldes d'hiver" in lines  # the details, a list under the task
    # The CM adds a line of their own; a re-run (the alerts still firing) writes nothing.
    tasks.write_text(tasks.read_text(encoding="utf-8") + "- [ ] Call the photographer\n", encoding="utf-8")
    tasks.chmod(0o644)
    mode = tasks.stat().st_mode & 0o777
    before = tasks.read_text(encoding="utf-8")
    assert run_workflow_file(path, store_url=store_url, now=NOW + timedelta(minutes=1)).status == "ok"
    assert tasks.read_text(encoding="utf-8") == before
    # c2 moves on: its alert resolves and its task is ticked; the rest stays as it was.
    write(tmp_path, task_list_output("tasks/a-faire.md"), calendar=CALENDAR.replace(";approved;Marc", ";Planifié;Marc"))
    assert run_workflow_file(path, store_url=store_url, now=NOW + timedelta(minutes=2)).status == "ok"
    after = tasks.read_text(encoding="utf-8")
    assert after == before.replace("- [ ] Design the visual: Vidéo", "- [x] Design the visual: Vidéo")
    assert oct(tasks.stat().st_mode & 0o777) == oct(mode)  # rewritten, not made private
    with open_store(store_url) as store:
        assert len(store.outbox(status=DELIVERED, limit=100)) == 3 and not store.outbox(status=PENDING, limit=100)


def test_a_csv_task_list_is_safe_to_open_in_a_spreadsheet(tmp_path, store_url, monkeypatch):
    """A title from the calendar that starts like a formula is written so that it stays text; the
    `;` list opens in columns in French Excel; a resolution marks the row done with its time."""
    monkeypatch.chdir(tmp_path)  # a task list's path is relative to where cmflow runs
    import csv

    hostile = CALENDAR.replace("Carrousel soldes d'hiver", "=HYPERLINK(\"https://evil.example\")")
    path = write(tmp_path, task_list_output("taches.csv", "{title}", delimiter='";"'), calendar=hostile)
    assert run_workflow_file(path, store_url=store_url, now=NOW).status == "ok"
    table = tmp_path / "taches.csv"
    assert table.read_bytes().startswith(b"\xef\xbb\xbfstatus;title;due;details;opened;closed;key\r\n")
    rows = list(csv.DictReader(table.open(encoding="utf-8-sig", newline=""), delimiter=";"))
    assert [(r["status"], r["title"], r["due"], r["opened"], r["closed"]) for r in rows] == [
        ("open", "'=HYPERLINK(\"https://evil.example\")", "2026-11-18", "2026-11-16T09:00:00+00:00", ""),
        ("open", "Vidéo coulisses (atelier)", "2026-11-18", "2026-11-16T09:00:00+00:00", "")]
    assert "Platform: Instagram" in rows[0]["details"] and rows[0]["details"].startswith("Approved items each: 1 item")
    write(tmp_path, task_list_output("taches.csv", "{title}", delimiter='";"'),
          calendar=hostile.replace(";approved;Marc", ";Planifié;Marc"))
    assert run_workflow_file(path, store_url=store_url, now=NOW + timedelta(hours=1)).status == "ok"
    rows = list(csv.DictReader(table.open(encoding="utf-8-sig", newline=""), delimiter=";"))
    assert [(r["status"], r["closed"]) for r in rows] == [("open", ""), ("done", "2026-11-16T10:00:00+00:00")]
    assert len({r["key"] for r in rows}) == 2


def test_a_task_list_that_cannot_be_written_is_retried_later_naming_the_file(tmp_path, store_url, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a task list's path is relative to where cmflow runs
    (tmp_path / "tasks").write_text("a file where the folder should be", encoding="utf-8")
    path = write(tmp_path, task_list_output("tasks/a-faire.md"))
    result = run_workflow_file(path, store_url=store_url, now=NOW)
    assert result.status == "undelivered"
    with open_store(store_url) as store:
        waiting = store.outbox(status=PENDING, limit=100)
    assert len(waiting) == 2
    assert all(f"task list {tmp_path / 'tasks' / 'a-faire.md'}: cannot be written" in m.last_error for m in waiting)


def test_rules_choose_which_alerts_make_tasks(tmp_path, store_url, monkeypatch):
    """A second trigger (the item count of the week) makes no task when `rules` names the first only;
    a rule naming no trigger is refused at validate with the closest id."""
    monkeypatch.chdir(tmp_path)  # a task list's path is relative to where cmflow runs
    second = """
[[triggers]]
id = "busy_week"
plugin = "threshold"
metric = "approved_items"
above = 0
severity = "info"
"""
    path = write(tmp_path, second + task_list_output("tasks.md", rules='["approved"]'))
    assert run_workflow_file(path, store_url=store_url, now=NOW).status == "ok"
    text = (tmp_path / "tasks.md").read_text(encoding="utf-8")
    assert text.count("- [ ] ") == 2 and "Approved items is" not in text
    write(tmp_path, second + task_list_output("tasks.md", rules='["aproved"]'))
    with pytest.raises(WorkflowInvalid) as refused:
        load_workflow(path)
    assert "rules" in str(refused.value) and "did you mean 'approved'?" in str(refused.value)


# -- validation --------------------------------------------------------------------------------
@pytest.mark.parametrize(("title", "expected"), [
    ("Design {title.__class__}", "is not a name"),
    ("Design {title!r}", "without !conversion"),
    ("Design {title", "is not a title template"),
])
def test_a_title_template_reading_attributes_is_refused(tmp_path, trello, title, expected):
    with pytest.raises(WorkflowInvalid) as caught:
        load_workflow(write(tmp_path, trello_output(trello).replace("Design the visual: {title}", title)))
    assert "outputs[0].title" in str(caught.value) and expected in str(caught.value)


def test_a_list_name_where_its_id_belongs_is_refused_at_its_key(tmp_path, trello):
    with pytest.raises(WorkflowInvalid) as caught:
        load_workflow(write(tmp_path, trello_output(trello).replace('list_id = "64b0000000000000000000a1"',
                                                                    'list_id = "To design"')))
    assert "outputs[0].list_id" in str(caught.value) and "'To design' is not a Trello list id" in str(caught.value)


def test_an_api_address_that_is_no_web_address_is_refused(tmp_path, trello):
    with pytest.raises(WorkflowInvalid) as caught:
        load_workflow(write(tmp_path, trello_output(trello).replace(f'base_url = "{trello.url}"',
                                                                    'base_url = "api.trello.com"')))
    assert "outputs[0].base_url" in str(caught.value)


def test_a_private_api_address_needs_the_opt_in(tmp_path, trello):
    with pytest.raises(WorkflowInvalid) as caught:
        load_workflow(write(tmp_path, trello_output(trello).replace("allow_private_network = true", "")))
    assert "outputs[0].base_url" in str(caught.value) and "allow_private_network" in str(caught.value)


# -- option names: the sources' words, the older ones still read --------------------------------
OLDER_TRELLO = """
[[outputs]]
plugin = "trello_card"
api_key = "${{env:TRELLO_KEY}}"
token = "${{env:TRELLO_TOKEN}}"
board_id = "{board}"
list_id = "64b0000000000000000000a1"
members = ["5a0b1c2d3e4f5a6b7c8d9e0f"]
labels = ["5f1c0e8a9b2d3c4e5f6a7b90"]
api_url = "{url}/1"
allow_private_network = true
"""


def test_trello_card_takes_the_trello_source_s_words_and_still_reads_the_older_ones(tmp_path, trello, store_url):
    """key, board and base_url as the trello source writes them; api_key, board_id, members and
    api_url (with the API's /1) are read as before: a card per approved item (c1, c2), assigned
    to the member, every request under /1 of the address."""
    older = OLDER_TRELLO.format(board=trello.board, url=trello.url)
    [entry] = load_workflow(write(tmp_path, older)).outputs
    options = entry.plugin.options
    assert (options.board, options.base_url, options.assignees) == (
        trello.board, trello.url, ["5a0b1c2d3e4f5a6b7c8d9e0f"])
    assert options.key.get_secret_value() == trello.key
    result = run_workflow_file(write(tmp_path, older), store_url=store_url, now=NOW)
    assert result.status == "ok", [s.error for s in result.failed_stages]
    assert trello.posts("/cards") == 2  # c1 and c2, the two approved items
    assert {tuple(card["idMembers"]) for card in trello.items} == {("5a0b1c2d3e4f5a6b7c8d9e0f",)}
    assert all(r.path.startswith("/1/") for r in trello.requests)


def test_trello_card_takes_a_board_address_as_the_trello_source_does():
    options = TrelloCard.Options(key="k", token="t", board="https://trello.com/b/nC8QJJoZ/calendrier",
                                 list_id="64b0000000000000000000a1")
    assert options.board == "nC8QJJoZ" and options.base_url == "https://api.trello.com"
    with pytest.raises(ValueError, match="'Calendrier' is not a Trello board id"):
        TrelloCard.Options(key="k", token="t", board="Calendrier", list_id="64b0000000000000000000a1")


def test_asana_task_takes_a_project_address_and_the_older_names(tmp_path):
    options = AsanaTask.Options(token="t", project="https://app.asana.com/0/1204567890123456/list",
                                assignee="moderation@example.com", tags=["1204567890123470"],
                                api_url="https://app.asana.com/api/1.0")
    assert (options.project, options.assignees, options.labels, options.base_url) == (
        "1204567890123456", ["moderation@example.com"], ["1204567890123470"], "https://app.asana.com")
    plugin = AsanaTask(options, entry_id="a")
    assert plugin.api_address() == "https://app.asana.com/api/1.0"
    with pytest.raises(ValueError, match="Asana assigns a task to one person, not 2"):
        AsanaTask.Options(token="t", project="1204567890123456", assignees=["a@example.com", "b@example.com"])
    with pytest.raises(ValueError, match="is not an Asana project"):
        AsanaTask.Options(token="t", project="Moderation")


def test_notion_page_reads_the_older_property_names(send_context):
    with NotionDatabase() as notion:
        plugin = NotionPage(NotionPage.Options(
            token=notion.token, database=notion.database, api_url=notion.url + "/v1", allow_private_network=True,
            assignee_property="Owner", assignees=["c2f20311-9e54-4d11-8c79-7398424ae41e"]), entry_id="notion")
        assert plugin.options.assignees_property == "Owner" and plugin.options.base_url == notion.url
        plugin.send(message_for(plugin), send_context)
        [page] = notion.items
    assert page["properties"]["Owner"] == {"people": [{"object": "user", "id": "c2f20311-9e54-4d11-8c79-7398424ae41e"}]}


@pytest.mark.parametrize("output", ["trello_card", "asana_task", "notion_page"])
def test_group_by_on_a_task_output_is_refused_at_its_key(tmp_path, trello, output):
    """A task output makes one item per alert: a group_by would be silently ignored, so it is an error."""
    outputs = {"trello_card": trello_output(trello),
               "asana_task": '\n[[outputs]]\nplugin = "asana_task"\ntoken = "t"\nproject = "1204567890123456"\n',
               "notion_page": '\n[[outputs]]\nplugin = "notion_page"\ntoken = "t"\n'
                              'database = "8a6d1e0c2b7f4e1a9c3d5e7f9a1b3c5d"\n'}[output]
    with pytest.raises(WorkflowInvalid) as caught:
        load_workflow(write(tmp_path, outputs + 'group_by = ["workflow", "platform"]\n'))
    message = str(caught.value)
    assert "outputs[0].group_by" in message and "one item per alert" in message and "remove group_by" in message


def test_a_key_written_in_the_file_under_its_older_name_is_refused_at_that_name(tmp_path, trello):
    older = OLDER_TRELLO.format(board=trello.board, url=trello.url).replace('"${env:TRELLO_KEY}"', '"0123abcd"')
    with pytest.raises(WorkflowInvalid) as caught:
        load_workflow(write(tmp_path, older))
    assert "outputs[0].api_key: secrets may not be written" in str(caught.value)
    assert "0123abcd" not in str(caught.value)
