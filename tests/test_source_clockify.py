"""The ``clockify`` source against a loopback server replaying Clockify's API v1
(tests/fixtures/clockify), in virtual time. Expected hours are worked out by hand from the fixtures."""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

import pydantic
import pytest

from cmflow import Period
from cmflow.builtin.sources.clockify import ClockifyOptions, ClockifySource
from cmflow.http import AuthExpired
from cmflow.testing import Reply, VirtualTime, load_replies, replay_server  # noqa: F401
from source_helpers import credential_rows, error_texts, fetch_period, loopback_source

FIXTURES = Path(__file__).parent / "fixtures" / "clockify"
KEY = "YzQ2ZGY4NTEtMjM0Ni00ZGFiLWI1ZjQtZjcwOTRjN2Y0ZTQy"
WS = "64a1f0c2e4b0d2a1b3c4d5e6"
CAMILLE, NOE = "64a1f0c2e4b0d2a1b3c4d5f7", "64a1f0c2e4b0d2a1b3c4d5f8"
WEEK = Period(date(2026, 11, 16), date(2026, 11, 22), "Europe/Paris", unit="week")


def script(server) -> None:
    server.add("GET", f"/api/v1/workspaces/{WS}/users", *load_replies(FIXTURES / "users.json"))
    server.add("GET", f"/api/v1/workspaces/{WS}/user/{CAMILLE}/time-entries",
               *load_replies(FIXTURES / "time_entries_camille.json"))
    server.add("GET", f"/api/v1/workspaces/{WS}/user/{NOE}/time-entries",
               *load_replies(FIXTURES / "time_entries_noe.json"), Reply(json=[]))


def source(server, **options) -> ClockifySource:
    return loopback_source(ClockifySource, server, "clockify", **{"workspace_id": WS, "api_key": KEY, "page_size": 2,
                                                                  **options})


def fetch(server, vtime: VirtualTime | None = None, **options):
    return fetch_period(source(server, **options), WEEK, vtime)


def test_every_users_entries_over_pages(replay_server) -> None:
    script(replay_server)
    records, problems = fetch(replay_server)
    entries = sorted(records["time_entry"], key=lambda r: r["started_at"])
    assert [e["entry_id"][-1] for e in entries] == ["1", "2", "3", "5"]
    # PT3H30M, PT1H20M, PT45M, PT2H
    assert [e["hours"] for e in entries] == pytest.approx([3.5, 4 / 3, 0.75, 2.0])
    assert sum(e["hours"] for e in entries) == pytest.approx(7 + 7 / 12)  # 7.5833...
    # 23:15 UTC on the 19th is 00:15 on the 20th in Paris
    assert entries[2]["started_at"] == datetime(2026, 11, 19, 23, 15, tzinfo=timezone.utc)
    assert [e["date"] for e in entries] == [date(2026, 11, 17), date(2026, 11, 18), date(2026, 11, 20),
                                            date(2026, 11, 21)]
    assert [e["person"] for e in entries] == ["Camille Roux", "Camille Roux", "Camille Roux", "Noé Petit"]
    assert [e["task_type"] for e in entries] == ["visual", "short video", None, "blog article"]
    assert [e["campaign"] for e in entries] == ["Noël 2026", "Lancement", None, "Noël 2026"]
    # Noé's entry has no tag naming a platform ("blog article") nor such a project, but its task is LinkedIn
    assert [e["platform"] for e in entries] == [None, None, None, "linkedin"]
    assert [e["client"] for e in entries] == ["Maison Lumen", "Atelier Nuit", None, "Maison Lumen"]
    assert entries[2]["task"] == "Stories\nsemaine 47"
    # billable at 45.00/h: 3.5 h -> 157.50; not billable, no rate, or a rate of 0: no cost
    assert [e["cost"] for e in entries] == [157.5, None, None, None]
    assert [e["currency"] for e in entries] == ["EUR", None, None, None]  # the rate's hourlyRate.currency
    assert problems == ["clockify source 'clockify': 1 timer(s) still running were left out (a running timer "
                        "is not an entry yet: its time counts once it is stopped)"]


def test_requests_key_window_and_pages(replay_server) -> None:
    script(replay_server)
    fetch(replay_server)
    assert all(r.headers["x-api-key"] == KEY for r in replay_server.requests)
    camille = [r.params for r in replay_server.requests if CAMILLE in r.path]
    assert [p["page"] for p in camille] == ["1", "2"]
    # the Paris week in UTC
    assert (camille[0]["start"], camille[0]["end"]) == ("2026-11-15T23:00:00Z", "2026-11-22T23:00:00Z")
    assert camille[0]["hydrated"] == "true" and camille[0]["page-size"] == "2"


def test_listed_users_only(replay_server) -> None:
    script(replay_server)
    records, _ = fetch(replay_server, users=[NOE], campaign_from="tags")
    (entry,) = records["time_entry"]
    assert (entry["person"], entry["hours"], entry["campaign"]) == ("Noé Petit", 2.0, "blog article")
    assert not [r for r in replay_server.requests if CAMILLE in r.path]


def test_a_refused_key_is_one_clear_error_without_the_key(replay_server) -> None:
    replay_server.add("GET", f"/api/v1/workspaces/{WS}/users", *load_replies(FIXTURES / "error_401.json"))
    with pytest.raises(AuthExpired) as info:
        fetch(replay_server)
    assert "Clockify" in str(info.value) and "Profile settings > API" in str(info.value)
    assert all(KEY not in text for text in error_texts(info.value))


def test_429_is_retried(replay_server) -> None:
    replay_server.add("GET", f"/api/v1/workspaces/{WS}/users", *load_replies(FIXTURES / "error_429.json"),
                      *load_replies(FIXTURES / "users.json"))
    replay_server.add("GET", f"/api/v1/workspaces/{WS}/user/{CAMILLE}/time-entries",
                      *load_replies(FIXTURES / "time_entries_camille.json"))
    replay_server.add("GET", f"/api/v1/workspaces/{WS}/user/{NOE}/time-entries",
                      *load_replies(FIXTURES / "time_entries_noe.json"), Reply(json=[]))
    vtime = VirtualTime()
    records, _ = fetch(replay_server, vtime)
    assert len(records["time_entry"]) == 4 and vtime.sleeps


def test_a_workspace_id_that_is_not_one_is_refused() -> None:
    with pytest.raises(pydantic.ValidationError, match="workspace_id"):
        ClockifyOptions(workspace_id="Maison Lumen", api_key=KEY)


def test_doctor_checks_the_key_and_the_workspace(replay_server) -> None:
    replay_server.add("GET", "/api/v1/user", Reply(json={"id": CAMILLE, "name": "Camille Roux",
                                                         "email": "camille@maisonlumen.test", "activeWorkspace": WS}))
    replay_server.add("GET", f"/api/v1/workspaces/{WS}", Reply(json={"id": WS, "name": "Maison Lumen"}))
    (row,) = credential_rows(source(replay_server), WEEK)
    assert (row.status, row.token_valid, row.account) == ("ok", True, f"Maison Lumen ({WS}), as Camille Roux")
