"""The ``toggl`` source against a loopback server replaying Toggl Track's Reports API v3 and API v9
(tests/fixtures/toggl), in virtual time. Expected hours are worked out by hand from the fixtures."""

from __future__ import annotations

import base64
from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from cmflow import Period
from cmflow.builtin.sources.toggl import TogglSource
from cmflow.http import AuthExpired, RateLimited
from cmflow.testing import Reply, VirtualTime, load_replies, replay_server  # noqa: F401
from source_helpers import credential_rows, error_texts, fetch_period, loopback_source

FIXTURES = Path(__file__).parent / "fixtures" / "toggl"
TOKEN = "1971800d4d82861d8f2c1651fea4d212"
WORKSPACE = "/api/v9/workspaces/1234567"
REPORT = "/reports/api/v3/workspace/1234567/search/time_entries"
WEEK = Period(date(2026, 11, 16), date(2026, 11, 22), "Europe/Paris", unit="week")


def script(server, report: str = "report_pages.json") -> None:
    server.add("GET", f"{WORKSPACE}/projects", *load_replies(FIXTURES / "projects.json"))
    server.add("GET", f"{WORKSPACE}/clients", *load_replies(FIXTURES / "clients.json"))
    server.add("GET", f"{WORKSPACE}/tags", *load_replies(FIXTURES / "tags.json"))
    server.add("POST", REPORT, *load_replies(FIXTURES / report))


def source(server, **options) -> TogglSource:
    return loopback_source(TogglSource, server, "toggl", **{"workspace_id": 1234567, "token": TOKEN, "page_size": 2,
                                                            **options})


def fetch(server, vtime: VirtualTime | None = None, **options):
    return fetch_period(source(server, **options), WEEK, vtime)


def test_time_entries_over_two_pages(replay_server) -> None:
    script(replay_server)
    records, problems = fetch(replay_server)
    entries = sorted(records["time_entry"], key=lambda r: r["started_at"])
    assert [e["entry_id"] for e in entries] == ["4100000001", "4100000002", "4100000003", "4100000004"]
    # seconds / 3600: 9000 -> 2.5, 15300 -> 4.25, 3600 -> 1, 2700 -> 0.75
    assert [e["hours"] for e in entries] == [2.5, 4.25, 1.0, 0.75]
    assert sum(e["hours"] for e in entries) == 8.5
    # 00:15 in Paris on the 20th is 23:15 UTC on the 19th: the day is the local one
    assert entries[3]["started_at"] == datetime(2026, 11, 19, 23, 15, tzinfo=timezone.utc)
    assert [e["date"] for e in entries] == [date(2026, 11, 17), date(2026, 11, 18), date(2026, 11, 19),
                                            date(2026, 11, 20)]
    assert [e["task_type"] for e in entries] == ["visual", "blog article", "short video", "short video"]
    assert [e["campaign"] for e in entries] == ["Noël 2026", "Noël 2026", "Lancement", "Lancement"]
    # the first tag naming a platform: the reel's tags are "short video", "IG"; the others name none
    assert [e["platform"] for e in entries] == [None, None, "instagram", "instagram"]
    assert [e["client"] for e in entries] == ["Maison Lumen", "Maison Lumen", "Atelier Nuit", "Atelier Nuit"]
    assert [e["person"] for e in entries] == ["Léa Martin", "Léa Martin", "Hugo Bernard", "Hugo Bernard"]
    # 11250 cents billed for the first; 0 is no cost; a row of two entries has no amount of each
    assert [e["cost"] for e in entries] == [112.5, None, None, None]
    # the report row's currency is the cost's; an entry without a cost has none to carry
    assert [e["currency"] for e in entries] == ["EUR", None, None, None]
    # the running timer (negative seconds, no stop) is left out, and said
    assert problems == ["toggl source 'toggl': 1 timer(s) still running were left out (a running timer is not "
                        "an entry yet: its time counts once it is stopped)"]


def test_requests_basic_auth_dates_and_next_page_fields(replay_server) -> None:
    script(replay_server)
    fetch(replay_server)
    posts = [r for r in replay_server.requests if r.method == "POST"]
    assert len(posts) == 2
    expected = "Basic " + base64.b64encode(f"{TOKEN}:api_token".encode()).decode()
    assert all(r.headers["authorization"] == expected for r in replay_server.requests)
    first, second = posts[0].json(), posts[1].json()
    # the week in Paris, a day more on each side (the tracker's zone may differ); entries are then
    # kept by their start within the window
    assert (first["start_date"], first["end_date"], first["page_size"]) == ("2026-11-15", "2026-11-23", 2)
    assert "first_id" not in first
    assert (second["first_id"], second["first_row_number"], second["first_timestamp"]) == (4100000003, 3, 1763587800)


def test_options_choose_task_type_and_campaign(replay_server) -> None:
    script(replay_server)
    records, _ = fetch(replay_server, task_type_from="project", campaign_from="client")
    entries = sorted(records["time_entry"], key=lambda r: r["started_at"])
    assert [e["task_type"] for e in entries] == ["Noël 2026", "Noël 2026", "Lancement", "Lancement"]
    assert [e["campaign"] for e in entries] == ["Maison Lumen", "Maison Lumen", "Atelier Nuit", "Atelier Nuit"]


def test_a_refused_token_is_one_clear_error_without_the_token(replay_server) -> None:
    replay_server.add("GET", f"{WORKSPACE}/projects", *load_replies(FIXTURES / "error_401.json"))
    with pytest.raises(AuthExpired) as info:
        fetch(replay_server)
    message = str(info.value)
    assert "Toggl Track" in message and "Profile settings" in message
    basic = base64.b64encode(f"{TOKEN}:api_token".encode()).decode()
    assert all(TOKEN not in text and basic not in text for text in error_texts(info.value))


def test_429_and_the_hourly_quota_are_waited_for(replay_server) -> None:
    replay_server.add("GET", f"{WORKSPACE}/projects", *load_replies(FIXTURES / "error_429.json"),
                      *load_replies(FIXTURES / "projects.json"))
    replay_server.add("GET", f"{WORKSPACE}/clients", *load_replies(FIXTURES / "clients.json"))
    replay_server.add("GET", f"{WORKSPACE}/tags", *load_replies(FIXTURES / "error_402_quota.json"),
                      *load_replies(FIXTURES / "tags.json"))
    replay_server.add("POST", REPORT, *load_replies(FIXTURES / "report_pages.json"))
    vtime = VirtualTime()
    records, _ = fetch(replay_server, vtime)
    assert sum(e["hours"] for e in records["time_entry"]) == 8.5
    assert sum(vtime.sleeps) >= 2 + 840  # Retry-After: 2, then X-Toggl-Quota-Resets-In: 840


def test_the_quota_still_used_up_after_the_waits_is_an_error(replay_server) -> None:
    replay_server.add("GET", f"{WORKSPACE}/projects", *load_replies(FIXTURES / "error_402_quota.json"), repeat=True)
    with pytest.raises(RateLimited):
        fetch(replay_server)


def test_a_run_reads_the_token_from_the_environment_and_never_shows_it(replay_server, tmp_path, monkeypatch,
                                                                       caplog) -> None:
    from cmflow.builtin.sources import toggl as toggl_module
    from cmflow.testing import registered_plugin, run_workflow_file

    monkeypatch.setenv("TOGGL_API_TOKEN", TOKEN)
    script(replay_server)
    workflow = tmp_path / "effort.toml"
    workflow.write_text(f"""
[workflow]
name = "Effort"
timezone = "Europe/Paris"
period = "last_week"
as_of = "2026-11-24"

[production]
currency = "EUR"
rates = {{ "Léa Martin" = 50.0, "Hugo Bernard" = 40.0 }}

[[sources]]
id = "time"
plugin = "toggl"
workspace_id = 1234567
token = "${{env:TOGGL_API_TOKEN}}"
base_url = "{replay_server.url}"
allow_private_network = true
page_size = 2
""", encoding="utf-8")
    with registered_plugin(toggl_module):
        result = run_workflow_file(workflow, store_url=f"sqlite:///{tmp_path}/s.db", dry_run=True)
    assert result.status == "ok", [s.error for s in result.failed_stages]
    entries = result.records["time_entry"]
    assert entries["hours"].sum() == 8.5
    assert [m for m in (r.getMessage() for r in caplog.records) if TOKEN in m] == []
    # Priced by the workflow's rates where Toggl gives no amount: 112.50 (Toggl's own) + 4.25 h x 50
    # + (1 + 0.75) h x 40 = 112.5 + 212.5 + 70 = 395
    from cmflow.foundation.production import Production

    rates = Production(rates={"Léa Martin": 50.0, "Hugo Bernard": 40.0})
    assert entries.select(rates.priced_hours())["cost"].sum() == 395.0


def test_doctor_checks_the_token_and_the_workspace(replay_server) -> None:
    replay_server.add("GET", "/api/v9/me", Reply(json={"id": 9001, "email": "lea@maisonlumen.test",
                                                       "fullname": "Léa Martin", "default_workspace_id": 1234567}))
    replay_server.add("GET", WORKSPACE, Reply(json={"id": 1234567, "name": "Maison Lumen Studio"}))
    toggl = source(replay_server)
    (row,) = credential_rows(toggl, WEEK)
    assert (row.status, row.token_valid) == ("ok", True)
    assert row.account == "Maison Lumen Studio (1234567), as Léa Martin"
    replay_server.add("GET", "/api/v9/me", *load_replies(FIXTURES / "error_401.json"))
    (row,) = credential_rows(toggl, WEEK)
    assert row.status == "fail" and TOKEN not in row.message
