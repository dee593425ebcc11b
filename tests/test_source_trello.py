"""The ``trello`` source against a loopback server replaying Trello's answers, in virtual time."""

from __future__ import annotations

import logging
from datetime import date, datetime, timezone
from pathlib import Path

import pydantic
import pytest

from cmflow import Period
from cmflow.builtin.sources.trello import TrelloOptions, TrelloSource
from cmflow.http import AuthExpired, PermissionMissing, PlatformError, RequestRejected
from cmflow.testing import Reply, VirtualTime, load_replies, replay_server  # noqa: F401
from source_helpers import by_item_id as by_id, credential_rows, error_texts, fetch_period, log_texts, loopback_source

FIXTURES = Path(__file__).parent / "fixtures" / "sources" / "trello"
KEY = "3f9a1c5e7b2d4f6a8c0e1b3d5f7a9c2e"
TOKEN = "ATTA9c2e4f6a8b0d1f3a5c7e9b2d4f6a8c0e1b3d5f7a9c2e4f6a8b0d1f3a5c7e9b2d4f6A1B2C3D4"
BOARD = "nC8QJJoZ"
BASE = f"/1/boards/{BOARD}"
WEEK = Period(date(2026, 11, 16), date(2026, 11, 22), "Europe/Paris")


def script_board(server, *cards: Reply, labels: bool = False) -> None:
    server.add("GET", f"{BASE}/lists", *load_replies(FIXTURES / "lists.json"))
    server.add("GET", f"{BASE}/customFields", *load_replies(FIXTURES / "custom_fields.json"))
    server.add("GET", f"{BASE}/members", *load_replies(FIXTURES / "members.json"))
    if labels:
        server.add("GET", f"{BASE}/labels", *load_replies(FIXTURES / "labels.json"))
    server.add("GET", f"{BASE}/cards", *(cards or load_replies(FIXTURES / "cards_pages.json")))


def source(server, **options) -> TrelloSource:
    return loopback_source(TrelloSource, server, "calendrier", **{"board": BOARD, "key": KEY, "token": TOKEN,
                                                                  "page_size": 3, **options})


def fetch(server, vtime: VirtualTime | None = None, **options):
    return fetch_period(source(server, **options), WEEK, vtime)


# -- paging and mapping --------------------------------------------------------------------------
def test_cards_are_read_over_three_pages_before_the_oldest_card_of_each(replay_server):
    script_board(replay_server)

    records, problems = fetch(replay_server)

    cards = [r for r in replay_server.requests if r.path.endswith("/cards")]
    assert [r.params.get("before") for r in cards] == [None, "6a3e07f00b3d4a0012f4f007", "6a3e04f00b3d4a0012f4f004"]
    first = cards[0].params
    assert first["limit"] == "3" and first["customFieldItems"] == "true" and first["attachments"] == "true"
    assert set(first["fields"].split(",")) >= {"due", "idList", "idMembers", "labels", "dateLastActivity", "closed"}
    # key and token in the query of every request, as Trello wants them
    assert all(r.params["key"] == KEY and r.params["token"] == TOKEN for r in replay_server.requests)
    # 8 cards: 2 without due date (ideas), 1 archived, 1 on an archived list, 1 before the week;
    # the portrait card names two platforms (labels): one item each.
    assert sorted(by_id(records["calendar_item"])) == [
        "6a3e06f00b3d4a0012f4f006#facebook", "6a3e06f00b3d4a0012f4f006#instagram",
        "6a3e07f00b3d4a0012f4f007", "6a3e09f00b3d4a0012f4f009"]
    assert problems == ["2 cards of the Trello board have no due date: ideas without a plan, not calendar items"]


def test_a_card_becomes_a_calendar_item_with_its_custom_fields(replay_server):
    script_board(replay_server)

    items = by_id(fetch(replay_server)[0]["calendar_item"])

    assert items["6a3e07f00b3d4a0012f4f007"] == {
        "item_id": "6a3e07f00b3d4a0012f4f007", "planned_at": datetime(2026, 11, 19, 10, 0, tzinfo=timezone.utc),
        "title": "Bûche : la recette en carrousel",
        "platform": "instagram",  # the dropdown option "IG"
        "account": None, "format": "carousel", "pillar": "Recettes", "campaign": "Noël 2026",
        "status": "published", "owner": "Hugo Bernard",  # the first of its two members
        "post_id": None, "url": "https://www.instagram.com/p/DCx7Lw2iA1b/",
        "updated_at": datetime(2026, 11, 19, 10, 7, 55, 902000, tzinfo=timezone.utc)}
    teaser = items["6a3e09f00b3d4a0012f4f009"]
    assert (teaser["status"], teaser["format"], teaser["pillar"], teaser["owner"]) == (
        "scheduled", "reel", "Promo", "Camille Martin")  # list " Programmé ": scheduled (status_of)
    # The card's own address is not the post's: no link custom field, no platform attachment.
    assert teaser["url"] is None


def test_labels_give_platforms_and_pillars_and_an_attachment_the_post_link(replay_server):
    script_board(replay_server, labels=True)

    items = by_id(fetch(replay_server, pillar_labels=["coulisses"])[0]["calendar_item"])

    instagram, facebook = items["6a3e06f00b3d4a0012f4f006#instagram"], items["6a3e06f00b3d4a0012f4f006#facebook"]
    assert (instagram["platform"], facebook["platform"]) == ("instagram", "facebook")
    assert instagram["pillar"] == facebook["pillar"] == "Coulisses"
    assert instagram["format"] == "image" and instagram["status"] == "approved"
    # the uploaded photo and the brief's link are not posts; the Facebook link is
    assert instagram["url"] == "https://www.facebook.com/maisonlumiere/posts/pfbid02Hk7"
    assert instagram["planned_at"] == datetime(2026, 11, 17, 8, 30, tzinfo=timezone.utc)


def test_without_pillar_labels_a_label_is_no_pillar(replay_server):
    script_board(replay_server)
    items = by_id(fetch(replay_server)[0]["calendar_item"])
    assert items["6a3e06f00b3d4a0012f4f006#instagram"]["pillar"] is None


def test_the_week_is_counted_in_the_workflows_time_zone(replay_server):
    """Europe/Paris: the week 16-22 November runs from 15 Nov 23:00 UTC to 22 Nov 23:00 UTC.
    A card due 22 Nov 23:30 UTC is already 23 Nov in Paris; one due 15 Nov 23:30 UTC is 16 Nov."""
    pages = load_replies(FIXTURES / "cards_pages.json")
    last = pages[2].json
    last[0]["due"] = "2026-11-22T23:30:00.000Z"  # Monday 00:30 in Paris: next week
    last[1]["due"] = "2026-11-15T23:30:00.000Z"  # Monday 00:30 in Paris: this week
    script_board(replay_server, *pages)
    items = by_id(fetch(replay_server)[0]["calendar_item"])
    assert "6a3e02f00b3d4a0012f4f002" in items and "6a3e03f00b3d4a0012f4f003" not in items


def test_a_field_name_the_board_lacks_is_an_error_listing_those_it_has(replay_server):
    script_board(replay_server)
    with pytest.raises(PlatformError) as caught:
        fetch(replay_server, field_names={"platform": "Réseau social"})
    message = str(caught.value)
    assert message.startswith("source 'calendrier' (Trello): the board has no custom field named "
                              "'Réseau social' (field_names.platform); its custom fields: "
                              "Budget (€), Campagne, Format, Lien, Pilier, Plateforme. Set field_names.platform")
    assert not any(r.path.endswith("/cards") for r in replay_server.requests)


def test_field_names_are_matched_without_case_or_accents(replay_server):
    script_board(replay_server)
    items = by_id(fetch(replay_server, field_names={"pillar": "PILIER", "platform": "plateforme"})[0]["calendar_item"])
    assert items["6a3e07f00b3d4a0012f4f007"]["pillar"] == "Recettes"


def test_a_pillar_label_the_board_lacks_is_an_error_listing_its_labels(replay_server):
    script_board(replay_server, labels=True)
    with pytest.raises(PlatformError, match=r"no label named 'Recettes' \(pillars\); its labels: "
                                            r"Coulisses, Facebook, Instagram, Urgent"):
        fetch(replay_server, pillar_labels=["Recettes"])


# -- waits and errors ----------------------------------------------------------------------------
def test_429_waits_one_ten_second_window_then_reads_on(replay_server):
    pages = load_replies(FIXTURES / "cards_pages.json")
    script_board(replay_server, pages[0], *load_replies(FIXTURES / "error_429.json"), *pages[1:])
    vtime = VirtualTime()
    records, _ = fetch(replay_server, vtime)
    assert len(records["calendar_item"]) == 4
    assert vtime.sleeps == [10.0]


def test_invalid_token_is_one_clear_line_without_the_secrets(replay_server, caplog):
    caplog.set_level(logging.DEBUG)
    replay_server.add("GET", f"{BASE}/lists", *load_replies(FIXTURES / "error_401_token.json"), repeat=True)
    vtime = VirtualTime()
    with pytest.raises(AuthExpired) as caught:
        fetch(replay_server, vtime)
    message = str(caught.value)
    assert message.startswith("source 'calendrier' (Trello): the access token was refused (HTTP 401: invalid token)")
    assert "power-ups/admin" in message and "\n" not in message
    assert len(replay_server.requests) == 1 and vtime.sleeps == []
    texts = error_texts(caught.value) + log_texts(caplog)
    assert [t for t in texts if TOKEN in t or KEY in t] == []


def test_a_board_the_member_cannot_read_is_a_permission_error(replay_server):
    replay_server.add("GET", f"{BASE}/lists", *load_replies(FIXTURES / "error_401_permission.json"))
    with pytest.raises(PermissionMissing, match="unauthorized permission requested.*add them to the board"):
        fetch(replay_server)


def test_an_unknown_board_is_refused_by_name(replay_server):
    replay_server.add("GET", f"{BASE}/lists", *load_replies(FIXTURES / "error_404_board.json"))
    with pytest.raises(RequestRejected) as caught:
        fetch(replay_server)
    assert "HTTP 404: The requested resource was not found." in str(caught.value)
    assert KEY not in str(caught.value) and "key=***" in str(caught.value)


def test_an_unreadable_due_date_names_the_card(replay_server):
    pages = load_replies(FIXTURES / "cards_pages.json")
    pages[0].json[0]["due"] = "21/11/2026"
    script_board(replay_server, *pages)
    with pytest.raises(PlatformError, match=r"card '6a3e09f00b3d4a0012f4f009' has an unreadable due \('21/11/2026'\)"):
        fetch(replay_server)


@pytest.mark.parametrize("board, expected", [
    ("https://trello.com/b/nC8QJJoZ/calendrier-editorial", "nC8QJJoZ"),
    (" nC8QJJoZ ", "nC8QJJoZ"),
    ("6a1c2f0e8b3d4a0012f4e901", "6a1c2f0e8b3d4a0012f4e901"),
])
def test_the_board_is_its_short_link_or_id(board, expected):
    assert TrelloOptions(board=board, key=KEY, token=TOKEN).board == expected


def test_options_are_validated():
    with pytest.raises(pydantic.ValidationError, match="is not a Trello board id"):
        TrelloOptions(board="Calendrier éditorial", key=KEY, token=TOKEN)
    with pytest.raises(pydantic.ValidationError, match="less than or equal to 1000"):
        TrelloOptions(board=BOARD, key=KEY, token=TOKEN, page_size=5000)
    with pytest.raises(pydantic.ValidationError, match="Extra inputs"):
        TrelloOptions(board=BOARD, key=KEY, token=TOKEN, field_names={"plateforme": "Réseau"})


# -- cmflow doctor -------------------------------------------------------------------------------
def doctor(server):
    return credential_rows(source(server), WEEK)


def test_doctor_names_the_board_and_the_member(replay_server):
    replay_server.add("GET", "/1/members/me", *load_replies(FIXTURES / "members_me.json"))
    replay_server.add("GET", BASE, *load_replies(FIXTURES / "board.json"))
    [row] = doctor(replay_server)
    assert row.status == "ok" and row.token_valid is True
    assert row.account == "Calendrier éditorial Maison Lumière (as Camille Martin)"


def test_doctor_says_the_token_is_refused(replay_server):
    replay_server.add("GET", "/1/members/me", *load_replies(FIXTURES / "error_401_token.json"))
    [row] = doctor(replay_server)
    assert row.status == "fail" and row.token_valid is False
    assert "invalid token" in row.message and TOKEN not in row.message and KEY not in row.message


# -- end to end ----------------------------------------------------------------------------------
def test_each_run_reads_the_board_as_it_stands_now(replay_server, tmp_path, monkeypatch):
    """Two runs over the same week with a store, the second a month later (the report made
    again): in between the Advent teaser moved to the next week and the yule-log card was
    archived. The second run lists neither, where a stored copy of the first run's plans would
    (an incremental source a month on reads that week from the store): calendar sources are
    read whole at every run."""
    from cmflow.builtin.sources import trello as trello_module
    from cmflow.testing import registered_plugin, run_workflow_file

    monkeypatch.setenv("TRELLO_KEY", KEY)
    monkeypatch.setenv("TRELLO_TOKEN", TOKEN)
    for name, path in (("lists", "lists"), ("custom_fields", "customFields"), ("members", "members")):
        replay_server.add("GET", f"{BASE}/{path}", *load_replies(FIXTURES / f"{name}.json"), repeat=True)
    later = load_replies(FIXTURES / "cards_pages.json")
    later[0].json[0]["due"] = "2026-11-28T17:00:00.000Z"
    later[0].json[2]["closed"] = True
    replay_server.add("GET", f"{BASE}/cards", *load_replies(FIXTURES / "cards_pages.json"), *later)
    workflow = tmp_path / "calendrier.toml"
    workflow.write_text(f"""
[workflow]
name = "Calendrier"
timezone = "Europe/Paris"
period = "last_week"
as_of = "2026-11-24"

[[sources]]
id = "calendrier"
plugin = "trello"
board = "https://trello.com/b/{BOARD}/calendrier-editorial"
key = "${{env:TRELLO_KEY}}"
token = "${{env:TRELLO_TOKEN}}"
field_names = {{ platform = "Plateforme", pillar = "Pilier" }}
base_url = "{replay_server.url}"
allow_private_network = true
page_size = 3
""", encoding="utf-8")
    store = f"sqlite:///{tmp_path}/s.db"
    with registered_plugin(trello_module):
        first = run_workflow_file(workflow, store_url=store, now=datetime(2026, 11, 24, 8, tzinfo=timezone.utc))
        second = run_workflow_file(workflow, store_url=store, now=datetime(2026, 12, 28, 8, tzinfo=timezone.utc))

    assert first.status == second.status == "ok"
    # The run reads last week and the week before (its comparison): the 10 November teaser too.
    assert sorted(first.records["calendar_item"]["item_id"]) == [
        "6a3e03f00b3d4a0012f4f003", "6a3e06f00b3d4a0012f4f006#facebook", "6a3e06f00b3d4a0012f4f006#instagram",
        "6a3e07f00b3d4a0012f4f007", "6a3e09f00b3d4a0012f4f009"]
    assert sorted(second.records["calendar_item"]["item_id"]) == [
        "6a3e03f00b3d4a0012f4f003", "6a3e06f00b3d4a0012f4f006#facebook", "6a3e06f00b3d4a0012f4f006#instagram"]
    assert len([r for r in replay_server.requests if r.path.endswith("/cards")]) == 6  # 3 pages, twice


def test_statuses_maps_the_teams_own_words_as_on_every_calendar_source(replay_server):
    """`statuses`, as a calendar sheet's: the team's list " Programmé " means approved here
    (matched without case or accents), instead of the built-in scheduled."""
    script_board(replay_server, labels=True)

    items = by_id(fetch(replay_server, statuses={"PROGRAMME": "approved"}, pillars=["coulisses"])[0]["calendar_item"])

    assert items["6a3e09f00b3d4a0012f4f009"]["status"] == "approved"
    assert items["6a3e07f00b3d4a0012f4f007"]["status"] == "published"  # other words as before
    assert items["6a3e06f00b3d4a0012f4f006#instagram"]["pillar"] == "Coulisses"  # `pillars`, as the ics source names it
