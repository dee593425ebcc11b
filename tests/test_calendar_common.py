"""What the calendar sources share: platform, format and status values as teams write them."""

from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from cmflow.builtin.sources.calendar_common import (CalendarFieldNames, calendar_format, calendar_platforms,
                                                    calendar_status, one_per_platform, resolve_field_names,
                                                    whole_day, DEFAULT_NAMES)


@pytest.mark.parametrize("values, platforms", [
    (["IG"], ["instagram"]),
    (["Insta", "instagram", "FB"], ["instagram", "facebook"]),
    (["Instagram, Facebook"], ["instagram", "facebook"]),
    (["IG; LinkedIn"], ["instagram", "linkedin"]),
    (["X/Twitter"], ["x"]),  # one name, not two
    ([" Newsletter "], ["newsletter"]),
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
