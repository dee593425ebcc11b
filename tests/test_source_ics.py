"""The ``ics`` source on calendars as Google Calendar and Outlook export them (CRLF, lines folded
at 75 octets, escaped commas, VTIMEZONE blocks, Outlook's Windows zone name, a weekly series with
an excluded and a moved occurrence, all-day events), from a file and from a secret address
served by the loopback replay server. The workflow's time zone is Europe/Paris, whose clocks go
back on 25 October 2026: every expected instant below is worked out by hand.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import pydantic
import pytest

from cmflow import DataFileError, FetchContext, Period
from cmflow.builtin.sources import ics
from cmflow.builtin.sources.ics import IcsOptions, IcsSource
from cmflow.foundation.errors import WorkflowInvalid
from cmflow.foundation.planned_days import is_whole_day
from cmflow.http import AuthExpired, make_client
from cmflow.testing import Reply, VirtualTime, registered_plugin, replay_server, run_workflow_file  # noqa: F401
from cmflow.workflow import load_workflow

from source_helpers import error_texts

FIXTURES = Path(__file__).parent / "fixtures" / "calendar"
GOOGLE, OUTLOOK = "google-calendar-export.ics", "outlook-export.ics"
UTC = timezone.utc
TWO_WEEKS = Period(date(2026, 10, 19), date(2026, 11, 1), "Europe/Paris")
SERIES = "3v8k2q7m1n5p9r4s6t0w2x8y4z@google.com"
SECRET_PATH = "/calendar/ical/maison.lumiere%40gmail.com/private-8f2b6c1d9e0a4f7b3c5d/basic.ics"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def fetch(directory: Path = FIXTURES, client: Any = None, **options: Any) -> tuple[list[dict[str, Any]], FetchContext]:
    source = IcsSource(IcsOptions(**options), entry_id="cal")
    ctx = FetchContext(TWO_WEEKS.start_utc, TWO_WEEKS.end_utc, [TWO_WEEKS], directory, logging.getLogger("test.ics"),
                       http_client=(lambda: client) if client else None)
    [table] = list(source.fetch(ctx))
    assert table.kind == "calendar_item"
    return sorted(table.conformed().to_dicts(), key=lambda i: (i["planned_at"], i["item_id"])), ctx


GOOGLE_ITEMS = [
    # The series (Tuesdays and Thursdays 10:00 Paris from 15 Oct): the 20th in summer time (UTC+2) ...
    (f"{SERIES}/20261020T080000Z", utc(2026, 10, 20, 8, 0), "Story atelier", "instagram", "story", "confirmed"),
    # ... the 22nd is an EXDATE; a single event in UTC, on two platforms, its status from the description ...
    ("0c4f1a9e6b2d8h3j5k7l9m1n3p@google.com#facebook", utc(2026, 10, 23, 16, 0), "Lancement collection, teaser",
     "facebook", "reel", "approved"),
    ("0c4f1a9e6b2d8h3j5k7l9m1n3p@google.com#instagram", utc(2026, 10, 23, 16, 0), "Lancement collection, teaser",
     "instagram", "reel", "approved"),
    # ... an all-day event on Monday 26 Oct: 00:00 Paris in winter time (UTC+1) is 23:00 UTC on the 25th ...
    ("5b7d9f1h3j5l7n9p1r3t5v7x9z@google.com", utc(2026, 10, 25, 23, 0), "Portrait d'artisane", "linkedin", "text",
     "confirmed"),
    # ... the series' 27th in winter time: 10:00 is 09:00 UTC ...
    (f"{SERIES}/20261027T090000Z", utc(2026, 10, 27, 9, 0), "Story atelier", "instagram", "story", "confirmed"),
    # ... a cancelled event (STATUS wins over the description's "Programmé") ...
    ("9a1c3e5g7i9k1m3o5q7s9u1w3y@google.com", utc(2026, 10, 28, 17, 0), "Atelier by night", "tiktok", None,
     "cancelled"),
    # ... and the 29th's occurrence moved to Friday 30th 11:00 (10:00 UTC), keeping its original start in its id.
    (f"{SERIES}/20261029T090000Z", utc(2026, 10, 30, 10, 0), "Story atelier (déplacée)", "instagram", "story",
     "confirmed"),
]


def test_google_export_events_and_occurrences_become_items():
    items, ctx = fetch(path=GOOGLE)

    assert [(i["item_id"], i["planned_at"], i["title"], i["platform"], i["format"], i["status"]) for i in items] \
        == GOOGLE_ITEMS  # 20 November (outside the window) is not read
    assert ctx.problems == []
    launch = items[2]
    # The link was folded over two lines of the file; "Campagne :" written with a space before the colon.
    assert (launch["url"], launch["campaign"], launch["updated_at"]) == (
        "https://www.instagram.com/reel/C9aBcDeFgHi/", "Automne", utc(2026, 10, 19, 7, 15))
    story = items[0]
    assert (story["pillar"], story["owner"], story["updated_at"]) == ("Savoir-faire", "Léa Martin",
                                                                     utc(2026, 10, 12, 9, 15))
    assert is_whole_day(items[3]["planned_at"], "Europe/Paris")
    assert not is_whole_day(items[0]["planned_at"], "Europe/Paris")


def test_outlook_export_with_windows_zone_categories_and_organizer():
    items, ctx = fetch(path=OUTLOOK, pillars=["Savoir-Faire"])

    assert ctx.problems == []
    assert [(i["planned_at"], i["title"], i["platform"], i["format"], i["pillar"], i["campaign"], i["status"],
             i["owner"]) for i in items] == [
        # 12:00 "Romance Standard Time" (Paris, summer time): 10:00 UTC. Categories give the platform,
        # the format, the pillar (one of `pillars`, as the workflow writes it) and the status ("Validé").
        (utc(2026, 10, 21, 10, 0), "Visite de l'atelier, épisode 2", "instagram", "carousel", "Savoir-Faire", None,
         "approved", "Camille Durand"),
        # All day on Thursday 29 October, winter time: 23:00 UTC on the 28th. "Responsable :" in the
        # description wins over the organizer; TENTATIVE is kept as written.
        (utc(2026, 10, 28, 23, 0), "Interview fondatrice", "linkedin", "video", None, "Automne", "tentative",
         "Hugo Petit"),
    ]
    assert items[0]["item_id"].startswith("040000008200E00074C5B7101A82E008")


def test_a_floating_time_is_in_the_workflows_zone_and_constants_fill_in(tmp_path):
    (tmp_path / "c.ics").write_text("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Test//EN\r\nBEGIN:VEVENT\r\n"
                                    "UID:f1\r\nDTSTAMP:20261001T000000Z\r\nDTSTART:20261027T183000\r\n"
                                    "SUMMARY:Floating\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n", encoding="utf-8")
    items, _ = fetch(tmp_path, path="c.ics", constants={"platform": "Insta", "account": "maisonlumiere"})
    # 18:30 in Paris after the clocks went back: 17:30 UTC.
    assert [(i["item_id"], i["planned_at"], i["platform"], i["account"]) for i in items] == [
        ("f1", utc(2026, 10, 27, 17, 30), "instagram", "maisonlumiere")]


# -- broken files ---------------------------------------------------------------------------------
def test_a_file_that_is_no_calendar_names_its_first_line(tmp_path):
    (tmp_path / "c.ics").write_text("<!DOCTYPE html><html><head><title>Google Agenda</title>", encoding="utf-8")
    with pytest.raises(DataFileError) as caught:
        fetch(tmp_path, path="c.ics")
    message = str(caught.value)
    assert "c.ics, line 1: is not an iCalendar file" in message and "this is a web page" in message


def test_an_event_without_dtstart_is_a_bad_row_naming_its_line(tmp_path):
    text = (FIXTURES / GOOGLE).read_bytes().decode("utf-8")
    broken = text.replace("DTSTART:20261028T170000Z\r\n", "")  # the cancelled event's start
    (tmp_path / "c.ics").write_text(broken, encoding="utf-8", newline="")
    UID = "9a1c3e5g7i9k1m3o5q7s9u1w3y@google.com"
    begin = broken.split("\r\n").index(f"UID:{UID}") - 3 + 1  # its BEGIN:VEVENT

    with pytest.raises(DataFileError) as caught:
        fetch(tmp_path, path="c.ics")
    # The bad row names its line and the event's UID (its record id), as every source's bad rows do.
    assert str(caught.value).startswith(f"{tmp_path / 'c.ics'}, line {begin}, UID \"{UID}\": the event \"Atelier by "
                                        "night\" has no DTSTART")

    items, ctx = fetch(tmp_path, path="c.ics", on_error="skip")
    assert len(items) == len(GOOGLE_ITEMS) - 1
    assert ctx.skipped == [f"c.ics, line {begin}, UID \"{UID}\": the event \"Atelier by night\" has no DTSTART "
                           "(start): the event cannot be placed in time"]


def test_a_dtstart_that_is_no_date_names_its_line(tmp_path):
    (tmp_path / "c.ics").write_text("BEGIN:VCALENDAR\nVERSION:2.0\nBEGIN:VEVENT\nUID:x\nSUMMARY:Typo\n"
                                    "DTSTART:2026-10-27\nEND:VEVENT\nEND:VCALENDAR\n", encoding="utf-8")
    with pytest.raises(DataFileError, match=r"c\.ics, line 6, UID \"x\": the event \"Typo\" has 'DTSTART:2026-10-27', which is "
                                            r"not a date"):
        fetch(tmp_path, path="c.ics")


def test_a_google_export_zip_says_to_unzip_it(tmp_path):
    import zipfile

    with zipfile.ZipFile(tmp_path / "export.ics", "w") as archive:
        archive.write(FIXTURES / GOOGLE, "maison.lumiere@gmail.com.ics")
    with pytest.raises(DataFileError) as caught:
        fetch(tmp_path, path="export.ics")
    assert 'is a zip archive, not an iCalendar file: it holds "maison.lumiere@gmail.com.ics"; unzip it' \
        in str(caught.value)


def test_a_line_that_is_no_property_is_said(tmp_path):
    (tmp_path / "c.ics").write_text("BEGIN:VCALENDAR\nVERSION:2.0\nBEGIN:VEVENT\nUID:x\nDTSTART:20261027T100000Z\n"
                                    "SUMMARY Portrait d'artisane\nEND:VEVENT\nEND:VCALENDAR\n", encoding="utf-8")
    items, ctx = fetch(tmp_path, path="c.ics")
    assert [(i["item_id"], i["title"]) for i in items] == [("x", None)]
    assert ctx.problems == ["c.ics, line 6: \"SUMMARY Portrait d'artisane\" is no property (NAME:value), ignored: the "
                            "event it belongs to may lack its title or another field; export the calendar again"]


def test_a_cut_file_names_the_block_never_closed(tmp_path):
    text = (FIXTURES / OUTLOOK).read_bytes().decode("utf-8")
    (tmp_path / "c.ics").write_text(text[:text.index("END:VEVENT")], encoding="utf-8", newline="")
    # Lines 1-5 the calendar's properties, 6-20 the VTIMEZONE block, 21 the first BEGIN:VEVENT.
    with pytest.raises(DataFileError, match=r"line 21: BEGIN:VEVENT is never closed"):
        fetch(tmp_path, path="c.ics")


# -- from a secret address ------------------------------------------------------------------------
def serve(server: Any, *replies: Reply) -> str:
    server.add("GET", SECRET_PATH, *replies)
    return server.url + SECRET_PATH


def test_a_published_calendar_is_fetched_through_the_http_kit(replay_server):
    url = serve(replay_server, Reply(body=(FIXTURES / GOOGLE).read_bytes(),
                                     headers={"Content-Type": "text/calendar; charset=UTF-8"}))
    vtime = VirtualTime()
    with make_client(clock=vtime.clock, sleep=vtime.sleep) as client:
        items, _ = fetch(client=client, url=url, allow_private_network=True)

    assert [(i["item_id"], i["planned_at"]) for i in items] == [(i[0], i[1]) for i in GOOGLE_ITEMS]
    [request] = replay_server.requests
    assert request.path == SECRET_PATH and "text/calendar" in request.headers["accept"]


def test_a_reset_secret_address_says_what_to_do_and_never_shows_it(replay_server):
    url = serve(replay_server, Reply(status=404, body="Not Found", headers={"Content-Type": "text/html"}))
    vtime = VirtualTime()
    with make_client(clock=vtime.clock, sleep=vtime.sleep) as client, pytest.raises(AuthExpired) as caught:
        fetch(client=client, url=url, allow_private_network=True)  # not marked by a test: the option masks it

    assert "secret address was reset" in str(caught.value) and "Secret address in iCal format" in str(caught.value)
    assert not any("private-8f2b6c1d9e0a4f7b3c5d" in text for text in error_texts(caught.value))


def test_a_web_page_instead_of_the_calendar_is_an_error_naming_the_host(replay_server):
    url = serve(replay_server, Reply(body="<!doctype html><html>Sign in</html>", headers={"Content-Type": "text/html"}))
    vtime = VirtualTime()
    with make_client(clock=vtime.clock, sleep=vtime.sleep) as client, pytest.raises(DataFileError) as caught:
        fetch(client=client, url=url, allow_private_network=True)
    assert str(caught.value).startswith("calendar at 127.0.0.1, line 1: is not an iCalendar file")
    assert "private-8f2b" not in str(caught.value)


def test_url_options_webcal_is_https_and_http_needs_the_private_network_option():
    assert IcsOptions(url="webcal://calendar.example.com/a.ics").url.get_secret_value() == \
        "https://calendar.example.com/a.ics"
    with pytest.raises(pydantic.ValidationError, match="must be https:// or webcal://"):
        IcsOptions(url="http://calendar.example.com/a.ics")
    with pytest.raises(pydantic.ValidationError, match="give the calendar's path"):
        IcsOptions(path="a.ics", url="https://calendar.example.com/a.ics")


def test_an_address_on_the_local_network_is_refused_unless_allowed():
    source = IcsSource(IcsOptions(url="https://127.0.0.1:8443/calendar.ics"), entry_id="cal")
    [(key, problem)] = source.check(None)
    assert key == "url" and "allow_private_network = true" in problem
    allowed = IcsSource(IcsOptions(url="https://127.0.0.1:8443/calendar.ics", allow_private_network=True),
                        entry_id="cal")
    assert allowed.check(None) == []


def test_a_workflow_reads_the_address_from_the_environment(tmp_path, replay_server, store_url, monkeypatch):
    url = serve(replay_server, Reply(body=(FIXTURES / OUTLOOK).read_bytes(), headers={"Content-Type": "text/calendar"}))
    monkeypatch.setenv("EDITORIAL_ICS", url)
    path = tmp_path / "w.toml"
    path.write_text('[workflow]\nname = "Cal"\ntimezone = "Europe/Paris"\nperiod = "2026-10-19..2026-11-01"\n'
                    '[[sources]]\nplugin = "ics"\nid = "agenda"\nurl = "${env:EDITORIAL_ICS}"\n'
                    'allow_private_network = true\n', encoding="utf-8")
    with registered_plugin(ics):
        result = run_workflow_file(path, store_url=store_url, dry_run=True)
    planned = sorted(result.records["calendar_item"]["planned_at"].to_list())
    assert planned == [utc(2026, 10, 21, 10, 0), utc(2026, 10, 28, 23, 0)]


def test_a_url_written_in_the_workflow_file_is_refused(tmp_path):
    secret = "https://calendar.google.com" + SECRET_PATH
    path = tmp_path / "w.toml"
    path.write_text(f'[workflow]\nname = "Cal"\n[[sources]]\nplugin = "ics"\nurl = "{secret}"\n', encoding="utf-8")
    with registered_plugin(ics), pytest.raises(WorkflowInvalid) as caught:
        load_workflow(path)
    assert "secrets may not be written in the workflow file" in str(caught.value)
    assert "private-8f2b" not in str(caught.value)


def test_an_all_day_event_is_midnight_in_the_workflows_zone_whatever_the_calendars_timezone(tmp_path):
    """A calendar whose floating times are New York's (`timezone`), read by a Paris workflow: its
    all-day event plans the day at 00:00 Paris, where calendar adherence looks for it."""
    (tmp_path / "cal.ics").write_text(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Test//EN\r\n"
        "BEGIN:VEVENT\r\nUID:day@test\r\nDTSTART;VALUE=DATE:20261026\r\nSUMMARY:Whole day\r\nEND:VEVENT\r\n"
        "BEGIN:VEVENT\r\nUID:timed@test\r\nDTSTART:20261026T100000\r\nSUMMARY:Timed\r\nEND:VEVENT\r\n"
        "END:VCALENDAR\r\n", encoding="utf-8")
    items, _ = fetch(tmp_path, path="cal.ics", timezone="America/New_York")
    planned = {i["title"]: i["planned_at"] for i in items}
    # 26 Oct 2026 00:00 Paris (UTC+1) is 25 Oct 23:00 UTC; 00:00 New York (UTC-4) would be 26 Oct 04:00 UTC.
    assert planned["Whole day"] == utc(2026, 10, 25, 23, 0)
    assert is_whole_day(planned["Whole day"], "Europe/Paris")
    assert planned["Timed"] == utc(2026, 10, 26, 14, 0)  # a floating 10:00, read in New York


def test_statuses_maps_the_teams_own_words_as_on_every_calendar_source(tmp_path):
    """`statuses`, as a calendar sheet's: "En attente client" (a description's line or a category)
    means idea, and a team word in the categories is read as a status, not ignored."""
    (tmp_path / "cal.ics").write_text(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"
        "BEGIN:VEVENT\r\nUID:a@test\r\nDTSTART:20261026T090000Z\r\nSUMMARY:Lined\r\n"
        "DESCRIPTION:Statut: En attente client\r\nEND:VEVENT\r\n"
        "BEGIN:VEVENT\r\nUID:b@test\r\nDTSTART:20261027T090000Z\r\nSUMMARY:Categorised\r\n"
        "CATEGORIES:Go,Savoir-faire\r\nEND:VEVENT\r\n"
        "BEGIN:VEVENT\r\nUID:c@test\r\nDTSTART:20261028T090000Z\r\nSUMMARY:Plain\r\nSTATUS:CONFIRMED\r\nEND:VEVENT\r\n"
        "END:VCALENDAR\r\n", encoding="utf-8")
    items, _ = fetch(tmp_path, path="cal.ics", statuses={"en attente client": "idea", "GO": "approved"},
                     pillar_labels=["Savoir-faire"])  # Trello's name for `pillars`, accepted too
    by_title = {i["title"]: i for i in items}
    assert by_title["Lined"]["status"] == "idea"
    assert (by_title["Categorised"]["status"], by_title["Categorised"]["pillar"]) == ("approved", "Savoir-faire")
    assert by_title["Plain"]["status"] == "confirmed"
