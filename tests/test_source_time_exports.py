"""Toggl Track's and Clockify's detailed-report CSV exports, read by the ``export`` source into
time entries (tests/fixtures/toggl, tests/fixtures/clockify: invented people and figures, in the
shapes the trackers write). Expected figures are worked out by hand from the fixture rows."""

from __future__ import annotations

import logging
import shutil
from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from cmflow import DataFileError, FetchContext, Period
from cmflow.builtin.sources.export_detection import identify
from cmflow.builtin.sources.export_source import ExportOptions, ExportSource

FIXTURES = Path(__file__).parent / "fixtures"
TOGGL = FIXTURES / "toggl" / "toggl-detailed-2026-11.csv"
CLOCKIFY_FR = FIXTURES / "clockify" / "clockify-detailed-fr.csv"
CLOCKIFY_US = FIXTURES / "clockify" / "clockify-detailed-us.csv"
CLOCKIFY_IN_FRENCH = FIXTURES / "clockify" / "clockify-detailed-fr-langue.csv"
CLOCKIFY_XLSX = FIXTURES / "clockify" / "clockify-detailed.xlsx"
CLOCKIFY_IN_FRENCH_XLSX = FIXTURES / "clockify" / "clockify-detailed-fr.xlsx"


def read(path: Path, problems: list[str] | None = None, **options):
    """The time entries the export source reads from ``path`` (a month in Europe/Paris)."""
    source = ExportSource(ExportOptions(path=str(path), **options), entry_id="time")
    period = Period(date(2026, 11, 1), date(2026, 11, 30), "Europe/Paris", unit="month")
    ctx = FetchContext(period.start_utc, period.end_utc, [period], path.parent, logging.getLogger("test.time"),
                       problems if problems is not None else [])
    tables = {table.kind: table.conformed() for table in source.fetch(ctx)}
    assert list(tables) == ["time_entry"]
    return tables["time_entry"].sort("date", maintain_order=True)


def test_files_are_recognised_by_their_header() -> None:
    assert [t.format.name for t in identify(TOGGL).tables] == ["toggl_detailed"]
    assert [t.format.name for t in identify(CLOCKIFY_US).tables] == ["clockify_detailed"]
    (table,) = identify(CLOCKIFY_FR).tables  # saved again by French Excel: ';'
    assert (table.format.name, table.delimiter) == ("clockify_detailed", ";")


def test_toggl_detailed_report() -> None:
    frame = read(TOGGL)
    assert frame["date"].to_list() == [date(2026, 11, 17), date(2026, 11, 18), date(2026, 11, 19),
                                       date(2026, 11, 20)]  # the start's day, also across midnight
    assert frame["hours"].to_list() == [2.5, 4.25, 1.75, 0.75]  # 02:30:00, 04:15:00, 01:45:00, 00:45:00
    assert sum(frame["hours"]) == 9.25
    assert frame["task_type"].to_list() == ["visual", "blog article", "short video", None]  # first tag
    assert frame["campaign"].to_list() == ["Noël 2026", "Noël 2026", "Lancement", "Interne"]  # project
    assert frame["client"].to_list() == ["Maison Lumen", "Maison Lumen", "Atelier Nuit", None]
    assert frame["person"].to_list() == ["Léa Martin", "Léa Martin", "Hugo Bernard", "Hugo Bernard"]
    assert frame["task"].to_list()[1] == 'Article blog\n"La bûche"'
    # Amount (EUR): 112.50 is the cost; 0.00 and empty leave the cost to the workflow's rates
    assert frame["cost"].to_list() == [112.5, None, None, None]
    assert frame["entry_id"].null_count() == 4  # the export has no ids
    # Start date + Start time, in the workflow's time zone (Paris, UTC+1 in November)
    assert frame["started_at"].to_list() == [datetime(2026, 11, 17, 8, 0, tzinfo=timezone.utc),
                                             datetime(2026, 11, 18, 13, 0, tzinfo=timezone.utc),
                                             datetime(2026, 11, 19, 21, 30, tzinfo=timezone.utc),
                                             datetime(2026, 11, 20, 7, 0, tzinfo=timezone.utc)]


def test_task_type_and_campaign_from_other_places() -> None:
    frame = read(TOGGL, task_type_from="task", campaign_from="tags")
    assert frame["task_type"].to_list() == ["Visuels", None, "Montage", None]
    assert frame["campaign"].to_list() == ["visual", "blog article", "short video", None]


def test_clockify_saved_by_french_excel_bom_semicolons_decimal_commas_day_first() -> None:
    problems: list[str] = []
    frame = read(CLOCKIFY_FR, problems)
    # 17/11/2026 can only be day first: 03/11/2026 is then 3 November, not 11 March
    assert frame["date"].to_list() == [date(2026, 11, 3), date(2026, 11, 17), date(2026, 11, 18)]
    # Duration (h) is exact: 00:45:00, 03:30:00, 01:20:00 (Duration (decimal) says 1,33)
    assert frame["hours"].to_list() == pytest.approx([0.75, 3.5, 4 / 3])
    # Billable Amount (EUR) 30,00 and 157,50; 0,00 is no cost (priced by the workflow's rates)
    assert frame["cost"].to_list() == [30.0, 157.5, None]
    assert frame["task_type"].to_list() == [None, "visual", "short video"]
    assert frame["task"].to_list() == ["Stories\nsemaine 47", "Shooting bûche", "Script reel; v2"]
    assert frame["client"].to_list() == ["Atelier Nuit", "Maison Lumen", "Atelier Nuit"]
    # Start Date + Start Time (24-hour, day first): 10:00, 09:00, 14:00 in Paris
    assert [t.hour for t in frame["started_at"]] == [9, 8, 13]
    assert problems == []


def test_clockify_us_dates_month_first() -> None:
    frame = read(CLOCKIFY_US)
    assert frame["date"].to_list() == [date(2026, 11, 3), date(2026, 11, 18)]  # 11/18 settles it
    assert frame["hours"].to_list() == [3.5, 2.1]  # 03:30:00, 02:06:00
    assert frame["cost"].to_list() == [157.5, 94.5]  # Billable Amount (USD)
    # 09:00 AM and 02:00 PM in Paris
    assert frame["started_at"].to_list() == [datetime(2026, 11, 3, 8, 0, tzinfo=timezone.utc),
                                             datetime(2026, 11, 18, 13, 0, tzinfo=timezone.utc)]


def test_clockify_dates_that_read_both_ways(tmp_path: Path) -> None:
    text = CLOCKIFY_US.read_text(encoding="utf-8").replace("11/18/2026", "11/10/2026")
    (tmp_path / "clockify.csv").write_text(text, encoding="utf-8")
    problems: list[str] = []
    assert read(tmp_path / "clockify.csv", problems)["date"].to_list() == [date(2026, 11, 3), date(2026, 11, 10)]
    assert len(problems) == 1 and 'set date_order = "day_first"' in problems[0]
    # told: 11/03/2026 is 11 March, 11/10/2026 is 11 October (outside the month)
    frame = read(tmp_path / "clockify.csv", [], date_order="day_first")
    assert frame["date"].to_list() == [date(2026, 3, 11), date(2026, 10, 11)]


def test_a_bad_duration_names_the_file_line_and_column(tmp_path: Path) -> None:
    text = TOGGL.read_text(encoding="utf-8-sig").replace(",01:45:00,", ",1 h 3/4,")
    (tmp_path / "toggl.csv").write_text(text, encoding="utf-8")
    with pytest.raises(DataFileError) as info:
        read(tmp_path / "toggl.csv")
    message = str(info.value)
    # the header is line 1; the second entry spans lines 3-4 (a line break in its description)
    assert "toggl.csv" in message and "line 5" in message and '"Duration"' in message
    assert 'value "1 h 3/4" is not a duration' in message and "02:30:00" in message
    assert len(message.splitlines()) <= 12


def test_two_overlapping_downloads_count_each_entry_once(tmp_path: Path) -> None:
    folder = tmp_path / "toggl"
    folder.mkdir()
    shutil.copy(TOGGL, folder / "toggl-a.csv")
    shutil.copy(TOGGL, folder / "toggl-b.csv")
    assert sum(read(folder)["hours"]) == 9.25


def test_toggl_platform_read_from_the_tags_then_project_then_task(tmp_path: Path) -> None:
    """The platform an entry was spent for: the first tag naming one ("visual" names none, "IG"
    is Instagram), else the project, else the task; none is empty, never guessed."""
    export = tmp_path / "toggl-platforms.csv"
    export.write_bytes(
        "\ufeffUser,Email,Client,Project,Task,Description,Billable,Start date,Start time,End date,End time,"
        "Duration,Tags,Amount (EUR)\r\n"
        'Léa Martin,lea@x.test,Maison Lumen,Noël 2026,Visuels,Carrousel,Yes,2026-11-17,09:00:00,2026-11-17,'
        '11:00:00,02:00:00,"visual, IG, LinkedIn",\r\n'
        "Léa Martin,lea@x.test,Maison Lumen,LinkedIn,,Post,No,2026-11-18,09:00:00,2026-11-18,10:00:00,"
        "01:00:00,blog article,\r\n"
        "Hugo Bernard,hugo@x.test,Maison Lumen,Noël 2026,TikTok,Montage,No,2026-11-19,09:00:00,2026-11-19,"
        "10:00:00,01:00:00,,\r\n"
        'Hugo Bernard,hugo@x.test,Maison Lumen,Noël 2026,,"Reel for IG",No,2026-11-20,09:00:00,2026-11-20,'
        "12:00:00,03:00:00,short video,\r\n".encode())
    frame = read(export)
    assert frame["platform"].to_list() == ["instagram", "linkedin", "tiktok", None]
    assert frame["task_type"].to_list() == ["visual", "blog article", None, "short video"]  # unchanged


def test_fixture_entries_name_no_platform_and_the_tracker_is_not_one() -> None:
    assert read(TOGGL)["platform"].to_list() == [None, None, None, None]  # "toggl" is not the platform


def test_clockify_in_french_names_its_columns_in_french() -> None:
    """Clockify writes its export's header in its user's language: the French one is read as the
    English one, but for the columns whose French names are not established (tags, task,
    amounts), which are not read (the workflow's rates price the time)."""
    (table,) = identify(CLOCKIFY_IN_FRENCH).tables
    assert table.format.name == "clockify_detailed_fr"
    problems: list[str] = []
    assert read(CLOCKIFY_IN_FRENCH, problems)["task_type"].to_list() == [None, None, None]  # tags: not read
    assert len(problems) == 1 and 'task_type_from = "tags", but cmflow does not read that column' in problems[0]
    assert problems[0].endswith('set task_type_from to one of "project" or "none"')  # only values it takes
    frame = read(CLOCKIFY_IN_FRENCH, task_type_from="project")
    assert frame["date"].to_list() == [date(2026, 11, 3), date(2026, 11, 17), date(2026, 11, 18)]  # 11/17 settles it
    assert frame["hours"].to_list() == [2.5, 0.75, 1.33]  # Durée (décimal)
    assert sum(frame["hours"]) == pytest.approx(4.58)
    assert frame["person"].to_list() == ["Camille Roux", "Camille Roux", "Noé Garnier"]
    assert frame["campaign"].to_list() == ["Noël 2026", "IG", "Lancement"]  # Projet
    assert frame["task_type"].to_list() == ["Noël 2026", "IG", "Lancement"]
    assert frame["task"].to_list()[0] == "Shooting bûche, lumière"
    assert frame["cost"].to_list() == [None, None, None]  # no amount read: priced by [production]
    assert frame["platform"].to_list() == [None, "instagram", None]  # the project IG names Instagram
    # Date de début + Heure de début (24-hour) in Paris
    assert frame["started_at"].to_list() == [datetime(2026, 11, 3, 8, 0, tzinfo=timezone.utc),
                                             datetime(2026, 11, 17, 13, 0, tzinfo=timezone.utc),
                                             datetime(2026, 11, 18, 9, 0, tzinfo=timezone.utc)]


def test_clockify_excel_export_with_typed_and_text_cells() -> None:
    """The first entry's cells are typed (an Excel date, a time of day, a [h]:mm:ss duration of
    over a day), the second's are text as the CSV writes them (tests/fixtures/exports/make.py)."""
    export = CLOCKIFY_XLSX
    (table,) = identify(export).tables
    assert (table.format.name, table.sheet, table.header_row) == ("clockify_detailed_xlsx", "Detailed report", 1)
    problems: list[str] = []
    frame = read(export, problems)
    assert frame["date"].to_list() == [date(2026, 11, 3), date(2026, 11, 18)]
    assert frame["hours"].to_list() == pytest.approx([26.25, 2.1])  # 26:15:00 as a duration cell; "02:06:00"
    assert frame["cost"].to_list() == [1050.0, None]  # 0.00 is no cost
    assert frame["currency"].to_list()[0] == "EUR"
    assert frame["task_type"].to_list() == ["short video", "short video"]
    assert frame["platform"].to_list() == ["instagram", None]  # its second tag names Instagram
    # the date cell and the time cell joined (09:00 in Paris), and "11/18/2026" + "02:00 PM"
    assert frame["started_at"].to_list() == [datetime(2026, 11, 3, 8, 0, tzinfo=timezone.utc),
                                             datetime(2026, 11, 18, 13, 0, tzinfo=timezone.utc)]
    assert problems == []


def test_clockify_in_french_saved_as_excel() -> None:
    (table,) = identify(CLOCKIFY_IN_FRENCH_XLSX).tables
    assert (table.format.name, table.sheet) == ("clockify_detailed_fr_xlsx", "Rapport détaillé")
    frame = read(CLOCKIFY_IN_FRENCH_XLSX)
    assert frame["date"].to_list() == [date(2026, 11, 3), date(2026, 11, 17)]
    assert frame["hours"].to_list() == [2.5, 0.75]  # a number cell, and "0,75" as text
    assert frame["campaign"].to_list() == ["Noël 2026", "IG"]
    assert frame["platform"].to_list() == [None, "instagram"]
    assert [t.hour for t in frame["started_at"]] == [8, 13]  # 09:00 and 14:00 in Paris
