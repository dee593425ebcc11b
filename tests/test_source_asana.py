"""The ``asana`` source against a loopback server replaying Asana's answers, in virtual time."""

from __future__ import annotations

import logging
from datetime import date, datetime, timezone
from pathlib import Path

import pydantic
import pytest

from cmflow import Period
from cmflow.builtin.sources.asana import AsanaOptions, AsanaSource
from cmflow.http import AuthExpired, PlatformError, RequestRejected
from cmflow.testing import Reply, VirtualTime, load_replies, replay_server  # noqa: F401
from source_helpers import by_item_id as by_id, credential_rows, error_texts, fetch_period, log_texts, loopback_source

FIXTURES = Path(__file__).parent / "fixtures" / "sources" / "asana"
TOKEN = "2/1200000000000101/1209999999999999:7c1e9a4f2b8d6e3a5c7f9b1d3e5a7c9f"
PROJECT = "1209876543210987"
TASKS = f"/api/1.0/projects/{PROJECT}/tasks"
SETTINGS = f"/api/1.0/projects/{PROJECT}/custom_field_settings"
WEEK = Period(date(2026, 11, 16), date(2026, 11, 22), "Europe/Paris")


def script_project(server, *tasks: Reply) -> None:
    server.add("GET", SETTINGS, *load_replies(FIXTURES / "custom_field_settings.json"))
    server.add("GET", TASKS, *(tasks or load_replies(FIXTURES / "tasks_pages.json")))


def source(server, **options) -> AsanaSource:
    return loopback_source(AsanaSource, server, "planning", **{"project": PROJECT, "token": TOKEN, "page_size": 2,
                                                               **options})


def fetch(server, vtime: VirtualTime | None = None, period: Period = WEEK, **options):
    return fetch_period(source(server, **options), period, vtime)


def test_tasks_are_read_page_by_page_following_next_page_offsets(replay_server):
    script_project(replay_server)

    records, problems = fetch(replay_server)

    tasks = [r for r in replay_server.requests if r.path == TASKS]
    assert [r.params.get("offset") for r in tasks] == [
        None, "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJib3JkZXJfcmFuayI6IjIifQ.kT3b5x",
        "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJib3JkZXJfcmFuayI6IjQifQ.q9Zr1m"]
    assert tasks[0].params["limit"] == "2"
    assert {"due_on", "due_at", "assignee.name", "memberships.section.name", "custom_fields.enum_value.name",
            "modified_at"} <= set(tasks[0].params["opt_fields"].split(","))
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in replay_server.requests)
    # 6 tasks: 2 without a due date, 1 due on 23 November; the portrait names two platforms.
    assert sorted(by_id(records["calendar_item"])) == [
        "1209876543214001", "1209876543214003#instagram", "1209876543214003#linkedin", "1209876543214004"]
    assert problems == ["2 tasks of the Asana project have no due date: ideas without a plan, not calendar items"]


def test_a_task_becomes_a_calendar_item_with_its_section_and_custom_fields(replay_server):
    script_project(replay_server)

    items = by_id(fetch(replay_server)[0]["calendar_item"])

    assert items["1209876543214001"] == {
        "item_id": "1209876543214001", "planned_at": datetime(2026, 11, 19, 10, 0, tzinfo=timezone.utc),
        "title": "Bûche : recette en carrousel", "platform": "instagram", "account": None,
        "format": "carousel", "pillar": "Recettes", "campaign": "Noël 2026",
        "status": "published",  # its section in this project, not "Backlog" in the other one
        "owner": "Hugo Bernard", "post_id": None, "url": "https://www.instagram.com/p/DCx7Lw2iA1b/",
        "updated_at": datetime(2026, 11, 19, 10, 4, 12, 481000, tzinfo=timezone.utc)}
    newsletter = items["1209876543214004"]
    # a channel that is no social platform is kept as written, in lower case; no assignee, no owner
    assert (newsletter["platform"], newsletter["format"], newsletter["owner"], newsletter["status"]) == (
        "newsletter", "video", None, "scheduled")


def test_a_day_without_a_time_is_planned_at_midnight_in_the_workflows_time_zone(replay_server):
    script_project(replay_server)

    items = by_id(fetch(replay_server)[0]["calendar_item"])

    # due_on 2026-11-16, no due_at: midnight in Paris (UTC+1 in November) is 23:00 UTC the day before
    portrait = items["1209876543214003#instagram"]
    assert portrait["planned_at"] == datetime(2026, 11, 15, 23, 0, tzinfo=timezone.utc)
    assert items["1209876543214003#linkedin"]["planned_at"] == portrait["planned_at"]
    assert (portrait["platform"], portrait["pillar"], portrait["status"]) == ("instagram", "Coulisses", "approved")


def test_in_new_york_the_same_day_starts_five_hours_after_utc(replay_server):
    script_project(replay_server)
    week = Period(date(2026, 11, 16), date(2026, 11, 22), "America/New_York")
    items = by_id(fetch(replay_server, period=week)[0]["calendar_item"])
    assert items["1209876543214003#linkedin"]["planned_at"] == datetime(2026, 11, 16, 5, 0, tzinfo=timezone.utc)


def test_status_from_a_custom_field_on_request(replay_server):
    script_project(replay_server)
    items = by_id(fetch(replay_server, status_field="statut")[0]["calendar_item"])
    assert items["1209876543214001"]["status"] == "published"  # "En ligne", a synonym of published
    assert items["1209876543214004"]["status"] is None  # no value in the field: no status, not the section


def test_a_field_name_the_project_lacks_is_an_error_listing_those_it_has(replay_server):
    script_project(replay_server)
    with pytest.raises(PlatformError) as caught:
        fetch(replay_server, field_names={"pillar": "Thème"})
    assert str(caught.value).startswith(
        "source 'planning' (Asana): the project has no custom field named 'Thème' (field_names.pillar); "
        "its custom fields: Campagne, Format, Heures estimées, Lien, Pilier, Plateforme, Statut. "
        "Set field_names.pillar to one of them")
    assert not any(r.path == TASKS for r in replay_server.requests)


def test_a_status_field_the_project_lacks_is_an_error(replay_server):
    script_project(replay_server)
    with pytest.raises(PlatformError, match=r"no custom field named 'État' \(status_field\)"):
        fetch(replay_server, status_field="État")


def test_429_waits_the_retry_after_in_virtual_time(replay_server):
    pages = load_replies(FIXTURES / "tasks_pages.json")
    script_project(replay_server, pages[0], *load_replies(FIXTURES / "error_429.json"), *pages[1:])
    vtime = VirtualTime()
    records, _ = fetch(replay_server, vtime)
    assert len(records["calendar_item"]) == 4
    assert vtime.sleeps == [12.0]


def test_invalid_token_is_one_clear_line_without_the_token(replay_server, caplog):
    caplog.set_level(logging.DEBUG)
    replay_server.add("GET", SETTINGS, *load_replies(FIXTURES / "error_401.json"), repeat=True)
    vtime = VirtualTime()
    with pytest.raises(AuthExpired) as caught:
        fetch(replay_server, vtime)
    message = str(caught.value)
    assert message.startswith("source 'planning' (Asana): the access token was refused (HTTP 401: Not Authorized)")
    assert "app.asana.com/0/my-apps" in message and "\n" not in message
    assert len(replay_server.requests) == 1 and vtime.sleeps == []
    assert [t for t in error_texts(caught.value) + log_texts(caplog) if TOKEN in t] == []


def test_an_unknown_project_is_refused_with_asanas_words(replay_server):
    replay_server.add("GET", SETTINGS, *load_replies(FIXTURES / "error_404_project.json"))
    with pytest.raises(RequestRejected, match=f"HTTP 404: project: Unknown object: {PROJECT}"):
        fetch(replay_server)


def test_an_unreadable_due_date_names_the_task(replay_server):
    pages = load_replies(FIXTURES / "tasks_pages.json")
    pages[0].json["data"][0]["due_at"] = "19/11/2026 11:00"
    script_project(replay_server, *pages)
    with pytest.raises(PlatformError, match=r"task '1209876543214001' has an unreadable due date \('19/11/2026 11:00'\)"):
        fetch(replay_server)


@pytest.mark.parametrize("given", [
    PROJECT, f"https://app.asana.com/0/{PROJECT}/list", f"https://app.asana.com/1/1200000000000001/project/{PROJECT}/board",
])
def test_the_project_is_its_gid_or_address(given):
    assert AsanaOptions(project=given, token=TOKEN).project == PROJECT


def test_options_are_validated():
    with pytest.raises(pydantic.ValidationError, match="is not an Asana project"):
        AsanaOptions(project="Calendrier éditorial", token=TOKEN)
    with pytest.raises(pydantic.ValidationError, match="less than or equal to 100"):
        AsanaOptions(project=PROJECT, token=TOKEN, page_size=500)


def doctor(server):
    return credential_rows(source(server), WEEK)


def test_doctor_names_the_project_and_the_user(replay_server):
    replay_server.add("GET", "/api/1.0/users/me", *load_replies(FIXTURES / "users_me.json"))
    replay_server.add("GET", f"/api/1.0/projects/{PROJECT}", *load_replies(FIXTURES / "project.json"))
    [row] = doctor(replay_server)
    assert row.status == "ok" and row.token_valid is True
    assert row.account == "Calendrier éditorial 2026 (as Camille Martin)"


def test_doctor_says_the_token_is_refused(replay_server):
    replay_server.add("GET", "/api/1.0/users/me", *load_replies(FIXTURES / "error_401.json"))
    [row] = doctor(replay_server)
    assert row.status == "fail" and row.token_valid is False
    assert "Not Authorized" in row.message and TOKEN not in row.message


def test_statuses_maps_the_teams_own_words_as_on_every_calendar_source(replay_server):
    """`statuses`, as a calendar sheet's: the section "Programmé" means approved for this team."""
    script_project(replay_server)

    items = by_id(fetch(replay_server, statuses={"programme": "approved"})[0]["calendar_item"])

    assert items["1209876543214004"]["status"] == "approved"
    assert items["1209876543214001"]["status"] == "published"  # "Publié", a built-in synonym, as before
