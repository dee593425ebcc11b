"""What the calendar sources share: platform, format and status values as teams write them."""

from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from cmflow.builtin.sources.calendar_common import (CalendarFieldNames, calendar_format, calendar_platforms,
                                                    calendar_status, resolve_field_names, whole_day, DEFAULT_NAMES)
from cmflow.builtin.sources.calendar_values import one_per_platform


@pytest.mark.parametrize("values, platforms", [
    (["IG"], ["instagram"]),
    (["Insta", "instagram", "FB"], ["instagram", "facebook"]),
    (["Instagram, Facebook"], ["instagram", "facebook"]),
    (["IG; LinkedIn"], ["instagram", "linkedin"]),
    (["X/Twitter"], ["x"]),  # one name, not two
    (["IG + FB"], ["instagram", "facebook"]),  # as a calendar sheet reads it, not one platform "ig + fb"
    (["Instagram et LinkedIn"], ["instagram", "linkedin"]),
    (["Instagram\nFacebook"], ["instagram", "facebook"]),  # a cell with one platform a line
    ([" Newsletter "], ["newsletter"]),
    (["Instagram, Newsletter"], ["instagram, newsletter"]),  # a part names no platform: kept whole, as in a sheet
    ([None, "", "  "], []),
])
def test_platforms_as_teams_write_them(values, platforms):
    assert calendar_platforms(values) == platforms


@pytest.mark.parametrize("written, fmt", [
    ("Vidéo", "video"), ("VIDEO", "video"), ("Carrousel", "carousel"), ("Reel", "reel"), ("Visuel", "image"),
    (" Story ", "story"), ("Podcast", "podcast"), ("", None), (None, None),
])
def test_formats_as_teams_write_them(written, fmt):
    assert calendar_format(written) == fmt


def test_statuses_are_lower_case_and_trimmed():
    assert calendar_status("  Programmé ") == "scheduled"  # as a calendar sheet reads it (status_of)
    assert calendar_status("En  attente") == "en attente"
    assert calendar_status("   ") is None


def test_a_whole_day_plan_is_local_midnight():
    assert whole_day(date(2026, 7, 14), ZoneInfo("Europe/Paris")) == datetime(2026, 7, 13, 22, 0, tzinfo=timezone.utc)
    assert whole_day(date(2026, 11, 16), ZoneInfo("Europe/Paris")) == datetime(2026, 11, 15, 23, 0, tzinfo=timezone.utc)


def test_one_item_per_platform_each_with_its_own_id():
    item = {"item_id": "abc", "title": "Portrait"}
    assert one_per_platform(item, []) == [{"item_id": "abc", "title": "Portrait", "platform": None}]
    assert one_per_platform(item, ["instagram"]) == [{"item_id": "abc", "title": "Portrait", "platform": "instagram"}]
    assert [i["item_id"] for i in one_per_platform(item, ["instagram", "facebook"])] == ["abc#instagram", "abc#facebook"]


def test_names_are_found_without_case_or_accents_and_a_given_one_must_exist():
    found = resolve_field_names(CalendarFieldNames(), DEFAULT_NAMES, ["PLATEFORME", "Thematique", "lien"],
                                missing=lambda field, name: ValueError(field))
    assert found == {"platform": "PLATEFORME", "pillar": "Thematique", "url": "lien"}
    with pytest.raises(ValueError, match="campaign"):
        resolve_field_names(CalendarFieldNames(campaign="Opération"), DEFAULT_NAMES, ["Plateforme"],
                            missing=lambda field, name: ValueError(field))


@pytest.mark.parametrize("cell, platforms", [
    ("IG + FB", ["instagram", "facebook"]), ("Insta / TikTok", ["instagram", "tiktok"]), ("LinkedIn", ["linkedin"]),
    ("Newsletter", ["newsletter"]), ("Google  Business", ["google business"]),
])
def test_every_calendar_source_reads_a_platform_cell_alike(tmp_path, cell, platforms):
    """A calendar sheet's cell, an event's labelled line and a Trello/Asana/Notion field: one reading."""
    import logging

    from cmflow import FetchContext, Period
    from cmflow.builtin.sources.calendar_sheet import CalendarSheetSource
    from cmflow.builtin.sources.ics import IcsOptions, IcsSource

    period = Period(date(2026, 11, 2), date(2026, 11, 8), "Europe/Paris")

    def fetched(source: object) -> list[str]:
        ctx = FetchContext(period.start_utc, period.end_utc, [period], tmp_path, logging.getLogger("test.platforms"))
        [table] = list(source.fetch(ctx))  # type: ignore[attr-defined]
        return [row["platform"] for row in table.conformed().to_dicts()]

    (tmp_path / "cal.csv").write_text(f'Date;Réseau;Titre\n03/11/2026;"{cell}";Post\n', encoding="utf-8")
    (tmp_path / "cal.ics").write_text(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:p@test\r\nDTSTART;VALUE=DATE:20261103\r\n"
        f"SUMMARY:Post\r\nDESCRIPTION:Plateforme: {cell}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n", encoding="utf-8")
    assert calendar_platforms([cell]) == platforms
    assert fetched(CalendarSheetSource(CalendarSheetSource.Options(path="cal.csv"), entry_id="cal")) == platforms
    assert fetched(IcsSource(IcsOptions(path="cal.ics"), entry_id="cal")) == platforms


def test_api_calendars_know_the_names_a_calendar_sheets_columns_go_by():
    """One table of names for every calendar source: what a sheet's header knows ("Réseaux sociaux",
    "Rubrique", "Opération"), a Trello, Asana or Notion field of that name is too."""
    from cmflow.builtin.sources.calendar_values import field_of_label
    from cmflow.builtin.sources.notion import NOTION_NAMES

    named = ["Réseaux sociaux", "Rubrique", "Opération", "Type de post", "Handle"]
    found = resolve_field_names(CalendarFieldNames(), DEFAULT_NAMES, named, missing=lambda field, name: ValueError(field))
    assert found == {"platform": "Réseaux sociaux", "pillar": "Rubrique", "campaign": "Opération",
                     "format": "Type de post", "account": "Handle"}
    assert [field_of_label(name) for name in named] == ["platform", "pillar", "campaign", "format", "account"]
    notion = resolve_field_names(CalendarFieldNames(), NOTION_NAMES, ["Date de parution", "Avancement", "Rédactrice"],
                                 missing=lambda field, name: ValueError(field))
    assert notion == {"date": "Date de parution", "status": "Avancement", "owner": "Rédactrice"}
