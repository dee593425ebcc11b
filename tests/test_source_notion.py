"""The ``notion`` source against a loopback server replaying Notion's answers, in virtual time."""

from __future__ import annotations

import logging
from datetime import date, datetime, timezone
from pathlib import Path

import pydantic
import pytest

from cmflow import Period
from cmflow.builtin.sources.notion import NotionOptions, NotionSource, property_texts
from cmflow.http import AuthExpired, PlatformError, RequestRejected
from cmflow.testing import Reply, VirtualTime, load_replies, replay_server  # noqa: F401
from source_helpers import by_item_id as by_id, credential_rows, error_texts, fetch_period, log_texts, loopback_source

FIXTURES = Path(__file__).parent / "fixtures" / "sources" / "notion"
TOKEN = "ntn_4Q2x9Lk7Vb3Nm8Jh5Gf1Dc6Sa0Zp2Yw9Xe4Rt7Uq3Io"
DATABASE = "3f2a9c1e-7b4d-4e8f-a1c2-d3e4f5a6b7c8"
QUERY = f"/v1/databases/{DATABASE}/query"
WEEK = Period(date(2026, 11, 16), date(2026, 11, 22), "Europe/Paris")
P = "1a2b3c4d-5e6f-4a7b-8c9d-00000000000"


def script_database(server, *pages: Reply, database: Reply | None = None) -> None:
    server.add("GET", f"/v1/databases/{DATABASE}", database or load_replies(FIXTURES / "database.json")[0])
    server.add("POST", QUERY, *(pages or load_replies(FIXTURES / "query_pages.json")))


def source(server, **options) -> NotionSource:
    return loopback_source(NotionSource, server, "notion_cal", **{"database": DATABASE, "token": TOKEN,
                                                                  "page_size": 2, **options})


def fetch(server, vtime: VirtualTime | None = None, **options):
    return fetch_period(source(server, **options), WEEK, vtime)


def test_the_query_filters_on_the_date_and_follows_the_cursor(replay_server):
    script_database(replay_server)

    records, problems = fetch(replay_server)

    queries = [r for r in replay_server.requests if r.path == QUERY]
    assert [q.json().get("start_cursor") for q in queries] == [None, f"{P}3", f"{P}5"]
    # The window is 15 Nov 23:00 to 22 Nov 23:00 UTC: a day more either side of its UTC days.
    assert queries[0].json() == {
        "filter": {"and": [{"property": "Date de publication", "date": {"on_or_after": "2026-11-14"}},
                           {"property": "Date de publication", "date": {"before": "2026-11-24"}}]},
        "sorts": [{"property": "Date de publication", "direction": "ascending"}], "page_size": 2}
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" and r.headers["notion-version"] == "2022-06-28"
               for r in replay_server.requests)
    # p1 names two platforms; p4 (15 Nov 22:30 UTC) and p5 (22 Nov 23:30 UTC) are outside the Paris week.
    assert sorted(by_id(records["calendar_item"])) == [f"{P}1#facebook", f"{P}1#instagram", f"{P}2", f"{P}3"]
    assert problems == []


def test_a_page_becomes_a_calendar_item_from_its_properties(replay_server):
    script_database(replay_server)

    items = by_id(fetch(replay_server)[0]["calendar_item"])

    assert items[f"{P}2"] == {
        "item_id": f"{P}2", "planned_at": datetime(2026, 11, 19, 10, 0, tzinfo=timezone.utc),  # 11:00+01:00
        "title": "Bûche : recette en carrousel", "platform": "instagram",  # the option "IG"
        "account": None, "format": "carousel", "pillar": "Recettes", "campaign": "Noël 2026",
        "status": "published", "owner": "Hugo Bernard",  # the first of two people
        "post_id": None, "url": "https://www.instagram.com/p/DCx7Lw2iA1b/",
        "updated_at": datetime(2026, 11, 19, 10, 5, tzinfo=timezone.utc)}
    offers = items[f"{P}3"]
    assert (offers["platform"], offers["status"], offers["format"], offers["owner"], offers["pillar"]) == (
        "linkedin", "scheduled", "video", None, None)
    assert offers["planned_at"] == datetime(2026, 11, 21, 17, 0, tzinfo=timezone.utc)  # its start, not its end


def test_a_date_without_a_time_is_a_whole_day_plan_and_a_multi_select_one_item_per_platform(replay_server):
    script_database(replay_server)

    items = by_id(fetch(replay_server)[0]["calendar_item"])

    instagram, facebook = items[f"{P}1#instagram"], items[f"{P}1#facebook"]
    assert instagram["planned_at"] == facebook["planned_at"] == datetime(2026, 11, 15, 23, 0, tzinfo=timezone.utc)
    assert (instagram["platform"], facebook["platform"]) == ("instagram", "facebook")
    assert instagram["status"] == "approved" and instagram["owner"] == "Camille Martin"


def test_a_time_without_an_offset_is_read_in_the_dates_own_time_zone(replay_server):
    pages = load_replies(FIXTURES / "query_pages.json")
    pages[1].json["results"][0]["properties"]["Date de publication"]["date"] = {
        "start": "2026-11-21T12:00:00.000", "end": None, "time_zone": "America/New_York"}
    script_database(replay_server, *pages)
    items = by_id(fetch(replay_server)[0]["calendar_item"])
    assert items[f"{P}3"]["planned_at"] == datetime(2026, 11, 21, 17, 0, tzinfo=timezone.utc)  # noon EST = 17:00 UTC


def test_english_property_names_are_found_by_default(replay_server):
    database = load_replies(FIXTURES / "database.json")[0]
    renames = {"Date de publication": "Publish date", "Statut": "Status", "Plateforme": "Platform",
               "Pilier": "Pillar", "Responsable": "Owner"}
    database.json["properties"] = {renames.get(k, k): {**v, "name": renames.get(k, k)}
                                   for k, v in database.json["properties"].items()}
    pages = load_replies(FIXTURES / "query_pages.json")
    for page in (p for reply in pages for p in reply.json["results"]):
        page["properties"] = {renames.get(k, k): v for k, v in page["properties"].items()}
    script_database(replay_server, *pages, database=database)

    items = by_id(fetch(replay_server)[0]["calendar_item"])

    assert items[f"{P}2"]["pillar"] == "Recettes" and items[f"{P}2"]["owner"] == "Hugo Bernard"
    assert replay_server.requests[1].json()["filter"]["and"][0]["property"] == "Publish date"


def test_a_property_name_the_database_lacks_is_an_error_listing_its_properties(replay_server):
    script_database(replay_server)
    with pytest.raises(PlatformError) as caught:
        fetch(replay_server, field_names={"date": "Publication"})
    assert str(caught.value).startswith(
        "source 'notion_cal' (Notion): the database has no property named 'Publication' (field_names.date); "
        "its properties: Campagne, Date de publication, Dernière modification, Format, Lien, Notes, Pilier, "
        "Plateforme, Responsable, Statut, Titre. Set field_names.date to one of them")
    assert not any(r.path == QUERY for r in replay_server.requests)


def test_a_property_of_the_wrong_type_is_refused(replay_server):
    script_database(replay_server)
    with pytest.raises(PlatformError, match=r"the property 'Notes' \(field_names.date\) is a rich_text property, "
                                            r"which cannot hold the date: it must be date"):
        fetch(replay_server, field_names={"date": "notes"})


def test_429_waits_the_retry_after_in_virtual_time(replay_server):
    pages = load_replies(FIXTURES / "query_pages.json")
    script_database(replay_server, pages[0], *load_replies(FIXTURES / "error_429.json"), *pages[1:])
    vtime = VirtualTime()
    records, _ = fetch(replay_server, vtime)
    assert len(records["calendar_item"]) == 4
    assert vtime.sleeps == [2.0]
    assert replay_server.requests[2].json()["start_cursor"] == replay_server.requests[3].json()["start_cursor"] == f"{P}3"


def test_invalid_token_is_one_clear_line_without_the_token(replay_server, caplog):
    caplog.set_level(logging.DEBUG)
    replay_server.add("GET", f"/v1/databases/{DATABASE}", *load_replies(FIXTURES / "error_401.json"), repeat=True)
    vtime = VirtualTime()
    with pytest.raises(AuthExpired) as caught:
        fetch(replay_server, vtime)
    message = str(caught.value)
    assert message.startswith("source 'notion_cal' (Notion): the access token was refused "
                              "(HTTP 401: API token is invalid.)")
    assert "my-integrations" in message and "\n" not in message
    assert len(replay_server.requests) == 1 and vtime.sleeps == []
    assert [t for t in error_texts(caught.value) + log_texts(caplog) if TOKEN in t] == []


def test_a_database_not_shared_with_the_integration_says_so(replay_server):
    replay_server.add("GET", f"/v1/databases/{DATABASE}", *load_replies(FIXTURES / "error_404_database.json"))
    with pytest.raises(RequestRejected, match="Make sure the relevant pages and databases are shared with your integration"):
        fetch(replay_server)


def test_archived_pages_are_left_out(replay_server):
    pages = load_replies(FIXTURES / "query_pages.json")
    pages[0].json["results"][1]["in_trash"] = True
    script_database(replay_server, *pages)
    assert f"{P}2" not in by_id(fetch(replay_server)[0]["calendar_item"])


@pytest.mark.parametrize("prop, texts", [
    ({"type": "select", "select": None}, []),
    ({"type": "status", "status": {"id": "x", "name": "Publié", "color": "green"}}, ["Publié"]),
    ({"type": "multi_select", "multi_select": [{"name": "IG"}, {"name": "LinkedIn"}]}, ["IG", "LinkedIn"]),
    ({"type": "people", "people": [{"object": "user", "id": "u1"}, {"object": "user", "id": "u2", "name": "Léa"}]}, ["Léa"]),
    ({"type": "rich_text", "rich_text": [{"plain_text": "Noël "}, {"plain_text": "2026"}]}, ["Noël 2026"]),
    ({"type": "number", "number": 3.0}, ["3"]),
    ({"type": "formula", "formula": {"type": "string", "string": "Instagram"}}, ["Instagram"]),
    ({"type": "url", "url": None}, []),
])
def test_property_values_of_every_type(prop, texts):
    assert property_texts(prop) == texts


@pytest.mark.parametrize("given", [
    DATABASE, DATABASE.replace("-", ""),
    "https://www.notion.so/maisonlumiere/3f2a9c1e7b4d4e8fa1c2d3e4f5a6b7c8?v=0a1b2c3d4e5f4a6b8c7d9e0f1a2b3c4d",
    "https://www.notion.so/Calendrier-editorial-3f2a9c1e7b4d4e8fa1c2d3e4f5a6b7c8",
])
def test_the_database_is_its_id_or_address(given):
    assert NotionOptions(database=given, token=TOKEN).database == DATABASE


def test_options_are_validated():
    with pytest.raises(pydantic.ValidationError, match="is not a Notion database"):
        NotionOptions(database="Calendrier", token=TOKEN)
    with pytest.raises(pydantic.ValidationError, match="less than or equal to 100"):
        NotionOptions(database=DATABASE, token=TOKEN, page_size=200)


def doctor(server):
    return credential_rows(source(server), WEEK)


def test_doctor_names_the_database_and_the_workspace(replay_server):
    replay_server.add("GET", "/v1/users/me", *load_replies(FIXTURES / "users_me.json"))
    script_database(replay_server)
    [row] = doctor(replay_server)
    assert row.status == "ok" and row.token_valid is True
    assert row.account == "Calendrier éditorial (workspace Maison Lumière)"


def test_doctor_says_the_token_is_refused(replay_server):
    replay_server.add("GET", "/v1/users/me", *load_replies(FIXTURES / "error_401.json"))
    [row] = doctor(replay_server)
    assert row.status == "fail" and row.token_valid is False
    assert "API token is invalid." in row.message and TOKEN not in row.message


def test_doctor_says_which_capability_the_integration_lacks(replay_server):
    replay_server.add("GET", "/v1/users/me", *load_replies(FIXTURES / "users_me.json"))
    replay_server.add("GET", f"/v1/databases/{DATABASE}", *load_replies(FIXTURES / "error_403_capability.json"))
    [row] = doctor(replay_server)
    assert row.status == "fail" and row.token_valid is True
    assert row.message.startswith("a permission is missing (restricted_resource: "
                                  "Insufficient permissions for this endpoint.). Give the integration the "
                                  "\"Read content\" capability")


def test_a_numeric_post_id_keeps_every_digit():
    assert property_texts({"type": "number", "number": 17841405822304914}) == ["17841405822304914"]
    assert property_texts({"type": "number", "number": 2.5}) == ["2.5"]


def test_a_workflow_reads_the_database_with_names_from_its_file(replay_server, tmp_path, monkeypatch):
    """The TOML path: field_names as a table, the secret from the environment, the week in Paris."""
    from cmflow.builtin.sources import notion as notion_module
    from cmflow.testing import registered_plugin, run_workflow_file

    monkeypatch.setenv("NOTION_TOKEN", TOKEN)
    replay_server.add("GET", f"/v1/databases/{DATABASE}", *load_replies(FIXTURES / "database.json"))
    replay_server.add("POST", QUERY, *load_replies(FIXTURES / "query_pages.json"))
    workflow = tmp_path / "notion.toml"
    workflow.write_text(f"""
[workflow]
name = "Calendrier Notion"
timezone = "Europe/Paris"
period = "last_week"
as_of = "2026-11-24"
compare = []

[[sources]]
plugin = "notion"
database = "https://www.notion.so/maisonlumiere/3f2a9c1e7b4d4e8fa1c2d3e4f5a6b7c8?v=0a1b2c3d4e5f4a6b8c7d9e0f1a2b3c4d"
token = "${{env:NOTION_TOKEN}}"
field_names = {{ owner = "Responsable", date = "date de publication" }}
base_url = "{replay_server.url}"
allow_private_network = true
""", encoding="utf-8")
    with registered_plugin(notion_module):
        result = run_workflow_file(workflow, store_url=f"sqlite:///{tmp_path}/s.db",
                                   now=datetime(2026, 11, 24, 8, tzinfo=timezone.utc))
    assert result.status == "ok"
    # The run reads a day before the week too (for baselines): the galette teaser, 15 Nov 23:30 in Paris.
    items = result.records["calendar_item"].sort("planned_at", "item_id")
    assert items["item_id"].to_list() == [f"{P}4", f"{P}1#facebook", f"{P}1#instagram", f"{P}2", f"{P}3"]
    assert items["owner"].to_list() == [None, "Camille Martin", "Camille Martin", "Hugo Bernard", None]
    assert replay_server.requests[1].json()["filter"]["and"][0] == {
        "property": "Date de publication", "date": {"on_or_after": "2026-11-13"}}


def test_statuses_maps_the_teams_own_words_as_on_every_calendar_source(replay_server):
    """`statuses`, as a calendar sheet's: the status " Programmé " means approved for this team."""
    script_database(replay_server)

    items = by_id(fetch(replay_server, statuses={"Programmé": "approved"})[0]["calendar_item"])

    assert items[f"{P}3"]["status"] == "approved"
    assert items[f"{P}2"]["status"] == "published"
