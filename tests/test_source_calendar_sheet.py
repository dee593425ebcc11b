"""The ``calendar_sheet`` source on editorial calendars as agencies keep them: a French Google
Sheets calendar saved as CSV by French Excel (byte-order mark, ``;``, CRLF, a title line above
the header, a title spanning two lines, section rows, a date without a year, date and time in
two columns), and an English workbook (Excel dates, time cells, a date-time in one cell, a date
typed as text). The workflow's time zone is Europe/Paris, whose clocks go back on 25 October
2026 (UTC+2 before, UTC+1 after): every expected instant below is worked out by hand.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
from datetime import date, datetime, time, timezone
from pathlib import Path
from typing import Any

import pytest

from cmflow import DataFileError, FetchContext, Period
from cmflow.builtin.sources import calendar_sheet
from cmflow.builtin.sources.calendar_sheet import CalendarSheetSource
from cmflow.builtin.sources.calendar_values import NotADate, nearest_year, read_date, read_time
from cmflow.foundation.calendar_statuses import status_of
from cmflow.foundation.errors import WorkflowInvalid
from cmflow.foundation.format_names import format_of
from cmflow.foundation.planned_days import is_whole_day, whole_day_instant
from cmflow.testing import registered_plugin
from cmflow.workflow import load_workflow

FIXTURES = Path(__file__).parent / "fixtures" / "calendar"
FRENCH = "calendrier-google-sheets-fr.csv"
UTC = timezone.utc
TWO_WEEKS = Period(date(2026, 10, 19), date(2026, 11, 1), "Europe/Paris")
"""Monday 19 October to Sunday 1 November 2026, across the night the clocks go back."""


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def fetch(directory: Path, period: Period = TWO_WEEKS, **options: Any) -> tuple[list[dict[str, Any]], list[str]]:
    source = CalendarSheetSource(CalendarSheetSource.Options(**options), entry_id="cal")
    ctx = FetchContext(period.start_utc, period.end_utc, [period], directory, logging.getLogger("test.calendar"))
    [table] = list(source.fetch(ctx))
    assert table.kind == "calendar_item"
    return table.conformed().to_dicts(), ctx.problems


def hashed_id(day: str, platform: str, title: str) -> str:
    """The documented id of a row without an ID column, computed here independently."""
    return "cal:" + hashlib.sha256(f"{day}|{platform}|{title}".encode()).hexdigest()[:16]


# -- the French CSV export ------------------------------------------------------------------------
def test_french_calendar_rows_become_items_in_utc_across_the_clock_change():
    items, problems = fetch(FIXTURES, path=FRENCH)

    by_title = {(i["title"], i["platform"]): i for i in items}
    assert len(items) == 6  # 5 planned rows, one of them on two platforms
    launch = by_title[("Les coulisses de l'atelier", "instagram")]
    # 20/10/2026 10h in Paris, summer time (UTC+2): 08:00 UTC.
    assert launch == {
        "item_id": hashed_id("2026-10-20", "instagram", "les coulisses de l'atelier"),
        "planned_at": utc(2026, 10, 20, 8, 0), "title": "Les coulisses de l'atelier", "platform": "instagram",
        "account": None, "format": "carousel", "pillar": "Savoir-faire", "campaign": "Automne",
        "status": "published", "owner": "Camille", "post_id": None,
        "url": "https://www.instagram.com/p/C9xYz1AbCdE/", "updated_at": None}
    # "22/10" has no year: the run's window is in 2026. 18h30 summer time: 16:30 UTC. "Insta + FB"
    # is one item per platform, and the title's line break (a quoted cell over two lines) is a space.
    teaser_ig, teaser_fb = by_title[("Nouvelle collection (teaser)", "instagram")], \
        by_title[("Nouvelle collection (teaser)", "facebook")]
    assert teaser_ig["planned_at"] == teaser_fb["planned_at"] == utc(2026, 10, 22, 16, 30)
    base = hashed_id("2026-10-22", "instagram+facebook", "nouvelle collection (teaser)")
    assert (teaser_ig["item_id"], teaser_fb["item_id"]) == (f"{base}#instagram", f"{base}#facebook")
    assert (teaser_ig["format"], teaser_ig["status"]) == ("reel", "scheduled")
    # 24/10 without a time: the whole day, planned at its 00:00 in Paris (UTC+2): 22:00 UTC the day before.
    portrait = by_title[("Portrait d'artisane", "linkedin")]
    assert portrait["planned_at"] == utc(2026, 10, 23, 22, 0)
    assert is_whole_day(portrait["planned_at"], "Europe/Paris")
    assert (portrait["format"], portrait["status"], portrait["campaign"]) == ("text", "approved", None)
    # After the clocks went back (UTC+1): 27/10 10h30 is 09:30 UTC, 31/10 9:30 AM is 08:30 UTC.
    poll = by_title[("Sondage matières", "instagram")]
    assert (poll["planned_at"], poll["format"], poll["status"]) == (utc(2026, 10, 27, 9, 30), "story", "idea")
    night = by_title[("Atelier by night", "tiktok")]
    assert (night["planned_at"], night["format"], night["status"]) == (utc(2026, 10, 31, 8, 30), "video", "cancelled")
    assert not is_whole_day(night["planned_at"], "Europe/Paris")

    # The rows that are no plan are skipped, and said, by line (line 6 and 7 are one row).
    assert problems == [
        f"{FRENCH}: 2 section title(s) skipped (one filled cell, no date): line 4, line 9",
        f"{FRENCH}: 1 dated row(s) with nothing planned skipped (only the date filled): line 11",
        f"{FRENCH}: 1 row(s) without a date skipped (ideas not planned yet?): line 13",
    ]


def test_a_date_without_a_year_is_placed_near_the_period_reported_on_not_the_one_compared(tmp_path):
    (tmp_path / "c.csv").write_text("Date;Titre\n22/10;Teaser\n", encoding="utf-8")
    last_year = Period(date(2025, 10, 20), date(2025, 11, 2), "Europe/Paris")  # compare = ["previous_year"]
    source = CalendarSheetSource(CalendarSheetSource.Options(path="c.csv"), entry_id="cal")
    ctx = FetchContext(last_year.start_utc, TWO_WEEKS.end_utc, [TWO_WEEKS, last_year], tmp_path,
                       logging.getLogger("t"))
    [table] = list(source.fetch(ctx))
    # 22 October 2026 (in the period reported on), not 2025: 00:00 Paris summer time, 22:00 UTC the day before.
    assert table.conformed()["planned_at"].to_list() == [utc(2026, 10, 21, 22, 0)]


def test_ids_do_not_move_when_a_row_is_inserted_above(tmp_path):
    before, _ = fetch(FIXTURES, path=FRENCH)
    text = (FIXTURES / FRENCH).read_bytes().decode("utf-8-sig")
    lines = text.split("\r\n")
    lines.insert(3, "19/10/2026;lundi;9h;LinkedIn;Texte;Produits;;Idée;Léa;Nouveau post inséré;")
    (tmp_path / FRENCH).write_bytes(("\ufeff" + "\r\n".join(lines)).encode())

    after, _ = fetch(tmp_path, path=FRENCH)

    assert len(after) == len(before) + 1
    assert {i["item_id"] for i in before} < {i["item_id"] for i in after}


def test_two_rows_with_one_date_platform_and_title_get_numbered_ids(tmp_path):
    (tmp_path / "c.csv").write_text("Date;Réseau;Titre\n20/10/2026 10:00;IG;Story du jour\n"
                                    "20/10/2026 18:00;IG;Story du jour\n20/10/2026 21:00;Insta;Story  du JOUR\n",
                                    encoding="utf-8")
    items, problems = fetch(tmp_path, path="c.csv")
    base = hashed_id("2026-10-20", "instagram", "story du jour")
    assert [(i["item_id"], i["planned_at"]) for i in items] == [(base, utc(2026, 10, 20, 8)),
                                                                (f"{base}-2", utc(2026, 10, 20, 16)),
                                                                (f"{base}-3", utc(2026, 10, 20, 19))]
    assert any("ids end in -2, -3" in p and "line 3, line 4" in p for p in problems)


def test_an_id_column_gives_the_ids_and_a_repeated_id_is_a_bad_row(tmp_path):
    (tmp_path / "c.csv").write_text("ID,Date,Platform,Title\nA-1,2026-10-20,Instagram,One\n"
                                    "A-2,2026-10-21,Instagram,Two\nA-1,2026-10-22,Instagram,Three\n", encoding="utf-8")
    with pytest.raises(DataFileError) as caught:
        fetch(tmp_path, path="c.csv")
    assert 'line 4, item_id "A-1": ID "A-1" is also on line 2' in str(caught.value)

    items, _ = fetch(tmp_path, path="c.csv", on_error="skip")
    assert [i["item_id"] for i in items] == ["A-1", "A-2"]


# -- the English workbook -------------------------------------------------------------------------
def english_workbook(path: Path) -> Path:
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Content calendar"
    sheet.append(["Editorial calendar, Q4 2026"])
    sheet.append([])
    sheet.append(["ID", "Publish date", "Time", "Channel", "Content type", "Pillar", "Campaign", "Status",
                  "Assignee", "Title", "Link"])
    sheet.append(["CAL-101", date(2026, 10, 23), time(10, 0), "Instagram", "Carousel", "Craft", "Autumn",
                  "Scheduled", "Camille", "Workshop tour", None])
    sheet.append(["CAL-102", datetime(2026, 10, 26, 17, 45), None, "LinkedIn", "Text", "Employer brand", None,
                  "Approved", "Hugo", "Meet the makers", None])
    sheet.append(["CAL-103", "Nov 2, 2026", "9:30 PM", "YouTube Shorts", "Shorts", "Craft", "Autumn", "Idea",
                  "Léa", "Ten seconds of glazing", None])
    sheet.append(["CAL-104", date(2026, 10, 28), None, "X", "Link", "Products", "Autumn", "Posted", "Camille",
                  "Shop the collection", "https://x.com/maisonlumiere/status/1850000000000000001"])
    sheet.append(["CAL-105", 46320, "14:00", "Facebook", "Photo", "Products", None, "Draft",
                  "Hugo", "Serial date typed as a number", None])
    book.save(path)
    return path


def test_english_workbook_with_excel_dates_and_times(tmp_path):
    english_workbook(tmp_path / "calendar.xlsx")

    items, problems = fetch(tmp_path, path="calendar.xlsx")

    assert problems == []
    assert [(i["item_id"], i["planned_at"], i["platform"], i["format"], i["status"]) for i in items] == [
        # 23 Oct 10:00, summer time: 08:00 UTC (a date cell and a time cell).
        ("CAL-101", utc(2026, 10, 23, 8, 0), "instagram", "carousel", "scheduled"),
        # 26 Oct 17:45 in one date-time cell, winter time: 16:45 UTC.
        ("CAL-102", utc(2026, 10, 26, 16, 45), "linkedin", "text", "approved"),
        # "Nov 2, 2026" typed as text, "9:30 PM": 21:30 winter time, 20:30 UTC. Shorts are videos, as
        # the youtube source reads them.
        ("CAL-103", utc(2026, 11, 2, 20, 30), "youtube", "video", "idea"),
        # A date cell without a time: the whole day 28 Oct, from 00:00 Paris (UTC+1), 23:00 UTC the day before.
        ("CAL-104", utc(2026, 10, 27, 23, 0), "x", "link", "published"),
        # 46320 days after 1899-12-30 is 2026-10-25, the day the clocks go back: 14:00 is UTC+1, 13:00 UTC.
        ("CAL-105", utc(2026, 10, 25, 13, 0), "facebook", "image", "draft"),
    ]
    assert items[3]["url"] == "https://x.com/maisonlumiere/status/1850000000000000001"
    assert (items[0]["owner"], items[0]["pillar"], items[0]["campaign"]) == ("Camille", "Craft", "Autumn")


# -- finding the columns --------------------------------------------------------------------------
def test_no_date_column_is_one_error_listing_the_header(tmp_path):
    (tmp_path / "c.csv").write_text("Planning;;\nQuand;Réseau;Titre\nlundi;IG;Un post\n", encoding="utf-8")

    with pytest.raises(DataFileError) as caught:
        fetch(tmp_path, path="c.csv")

    message = str(caught.value)
    assert 'found no date column ("Date", "Date de publication"' in message
    assert 'the header (line 2) holds "Quand", "Réseau", "Titre"' in message
    assert 'field_names.date = "<its name>"' in message
    assert "Traceback" not in message


def test_a_legend_naming_the_date_above_the_header_is_not_the_header(tmp_path):
    (tmp_path / "c.csv").write_text("Date :;01/10/2026;\nClient :;Maison Lumière;\n\nDate;Réseau;Titre\n"
                                    "20/10/2026;IG;Un post\n", encoding="utf-8")
    items, _ = fetch(tmp_path, path="c.csv")
    assert [(i["planned_at"], i["platform"], i["title"]) for i in items] == [
        (utc(2026, 10, 19, 22), "instagram", "Un post")]


def test_header_row_counts_lines_of_the_file_blank_ones_too(tmp_path):
    (tmp_path / "c.csv").write_text("Planning\n\nDate;Titre\n\n20/10/2026;Un post\n", encoding="utf-8")
    items, _ = fetch(tmp_path, path="c.csv", header_row=3)
    assert [i["title"] for i in items] == ["Un post"]
    with pytest.raises(DataFileError, match=r"c\.csv, line 2 \(header_row = 2\): is blank"):
        fetch(tmp_path, path="c.csv", header_row=2)
    with pytest.raises(DataFileError, match=r'c\.csv, line 1: the header holds no date column; it holds "Planning"'):
        fetch(tmp_path, path="c.csv", header_row=1)


def test_columns_maps_a_header_cmflow_does_not_know(tmp_path):
    (tmp_path / "c.csv").write_text("Quand;Sur;Post;CM\n12 nov. 2026 à 10h;Insta;Un post;Léa\n", encoding="utf-8")

    items, _ = fetch(tmp_path, path="c.csv", field_names={"date": "Quand", "platform": "Sur", "title": "Post",
                                                          "owner": "CM"})

    # 12 November, winter time: 09:00 UTC.
    assert [(i["planned_at"], i["platform"], i["title"], i["owner"]) for i in items] == [
        (utc(2026, 11, 12, 9, 0), "instagram", "Un post", "Léa")]


def test_a_mapped_column_missing_from_the_header_names_the_closest(tmp_path):
    (tmp_path / "c.csv").write_text("Date;Responsible\n12/11/2026;Léa\n", encoding="utf-8")
    with pytest.raises(DataFileError) as caught:
        fetch(tmp_path, path="c.csv", field_names={"owner": "Responsable"})
    assert 'no column "Responsable" (field_names.owner)' in str(caught.value)
    assert 'did you mean "Responsible"?' in str(caught.value)


# -- bad rows -------------------------------------------------------------------------------------
BAD = ("Date;Heure;Réseau;Titre\n"
       "32/10/2026;10h;IG;Jour qui n'existe pas\n"
       "mardi 22 octobre 2026;;IG;Mauvais jour de semaine\n"
       "29/03/2026;02h30;IG;Heure sautée\n"
       "20/10/2026;25h;IG;Heure impossible\n"
       "21/10/2026;9h;IG;Bonne ligne\n")


def test_rows_whose_date_or_time_cannot_be_read_name_line_and_column(tmp_path):
    (tmp_path / "c.csv").write_text(BAD, encoding="utf-8")

    with pytest.raises(DataFileError) as caught:
        fetch(tmp_path, path="c.csv")

    message = str(caught.value)
    assert "4 bad rows (line 2, line 3, line 4 ...), each listed below" in message
    message = "\n".join(caught.value.details)   # one bad row per line
    assert len(caught.value.details) == 4
    assert 'line 2, column 1 "Date": "32/10/2026" is no day of the calendar (day 32 of month 10 2026)' in message
    assert ('line 3, column 1 "Date": "mardi 22 octobre 2026" names a Tuesday, but 2026-10-22 is a Thursday'
            in message)
    assert 'line 4, column 2 "Heure": "02h30" 2026-03-29 02:30 does not exist in Europe/Paris' in message
    assert 'line 5, column 2 "Heure": "25h" is no time of day' in message


def test_a_us_sheet_read_day_first_fails_whole_even_when_skipping_bad_rows(tmp_path):
    (tmp_path / "c.csv").write_text("Date,Title\n11/05/2026,Reads both ways\n11/18/2026,Month first only\n",
                                    encoding="utf-8")
    with pytest.raises(DataFileError) as caught:
        fetch(tmp_path, path="c.csv", on_error="skip")
    assert ('line 3, column 1 "Date": "11/18/2026" does not read day first, so day and month are the other way '
            "round") in str(caught.value) and 'set date_order = "month_first"' in str(caught.value)

    items, _ = fetch(tmp_path, path="c.csv", date_order="month_first")
    # 5 November and 18 November 2026, whole days: 00:00 Paris (UTC+1) is 23:00 UTC the day before.
    assert [i["planned_at"] for i in items] == [utc(2026, 11, 4, 23), utc(2026, 11, 17, 23)]


def test_on_error_skip_keeps_the_good_rows_and_lists_the_bad(tmp_path):
    (tmp_path / "c.csv").write_text(BAD, encoding="utf-8")
    source = CalendarSheetSource(CalendarSheetSource.Options(path="c.csv", on_error="skip"), entry_id="cal")
    ctx = FetchContext(TWO_WEEKS.start_utc, TWO_WEEKS.end_utc, [TWO_WEEKS], tmp_path, logging.getLogger("t"))

    [table] = list(source.fetch(ctx))

    assert [(r["title"], r["planned_at"]) for r in table.conformed().to_dicts()] == [
        ("Bonne ligne", utc(2026, 10, 21, 7, 0))]
    assert len(ctx.skipped) == 4 and ctx.skipped[0].startswith("c.csv, line 2")


def test_a_workbook_saved_as_csv_and_a_csv_named_xlsx_are_both_read(tmp_path):
    english_workbook(tmp_path / "calendar.csv")  # a workbook, whatever its name says
    items, _ = fetch(tmp_path, path="calendar.csv")
    assert [i["item_id"] for i in items][:2] == ["CAL-101", "CAL-102"]


# -- the values people type -----------------------------------------------------------------------
@pytest.mark.parametrize("text, expected", [
    ("12/11/2026", (12, 11, 2026, None)),
    ("12/11/26", (12, 11, 2026, None)),
    ("2026-11-12", (12, 11, 2026, None)),
    ("12 nov. 2026", (12, 11, 2026, None)),
    ("12 Novembre", (12, 11, None, None)),
    ("jeudi 12 novembre", (12, 11, None, None)),
    ("1er décembre 2026", (1, 12, 2026, None)),
    ("Nov 12, 2026", (12, 11, 2026, None)),
    ("Thursday, November 12", (12, 11, None, None)),
    ("12/11/2026 10h30", (12, 11, 2026, time(10, 30))),
    ("2026-11-12T18:05:00", (12, 11, 2026, time(18, 5))),
    ("12 nov. à 9h", (12, 11, None, time(9, 0))),
    ("mar. 10 nov. 2026", (10, 11, 2026, None)),
    ("jeu. 12/11", (12, 11, None, None)),
    ("Jeudi 12/11/2026 10h", (12, 11, 2026, time(10))),
    ("12.11.2026", (12, 11, 2026, None)),
    ("2026/11/12", (12, 11, 2026, None)),
    ("November 12, 2026 10:00 AM", (12, 11, 2026, time(10))),
    ("Tuesday, November 10 at 9:30 PM", (10, 11, None, time(21, 30))),
    ("mar. 20 oct. 2026 18:05", (20, 10, 2026, time(18, 5))),
])
def test_dates_in_the_forms_people_type(text, expected):
    written = read_date(text)
    assert (written.day, written.month, written.year, written.time) == expected


def test_an_instant_written_with_its_offset_is_that_instant(tmp_path):
    (tmp_path / "c.csv").write_text("Date,Title\n2026-10-27T10:00:00+05:30,A\n2026-10-27T10:00:00Z,B\n"
                                    "2026-10-27 10:00,C\n", encoding="utf-8")
    items, _ = fetch(tmp_path, path="c.csv")
    # 10:00 at +05:30 is 04:30 UTC; 10:00Z is 10:00 UTC; 10:00 without an offset is Paris time (UTC+1): 09:00.
    assert [(i["title"], i["planned_at"]) for i in items] == [
        ("A", utc(2026, 10, 27, 4, 30)), ("B", utc(2026, 10, 27, 10, 0)), ("C", utc(2026, 10, 27, 9, 0))]


def test_month_first_reads_us_dates_and_a_wrong_order_says_so():
    assert (read_date("11/12/2026", month_first=True).month, read_date("11/12/2026", month_first=True).day) == (11, 12)
    with pytest.raises(NotADate, match='set date_order = "month_first"'):
        read_date("11/18/2026")
    with pytest.raises(NotADate, match="names a Friday, but 2026-11-12 is a Thursday"):
        read_date("ven. 12/11/2026")


@pytest.mark.parametrize("text, expected", [
    ("10:00", time(10)), ("10h", time(10)), ("10h30", time(10, 30)), ("10 h 30", time(10, 30)),
    ("9:30 AM", time(9, 30)), ("9:30 pm", time(21, 30)), ("12 PM", time(12)), ("12:15 a.m.", time(0, 15)),
    ("18:05:00", time(18, 5)), ("0.4375", time(10, 30)), ("1899-12-31 10:00:00", time(10)), ("10", time(10)),
    ("10h-11h", time(10)), ("9:00 to 9:30", time(9)), ("14h30 – 15h", time(14, 30)), ("10 am to 11 am", time(10)),
])
def test_times_in_the_forms_people_type(text, expected):
    assert read_time(text) == expected


def test_a_date_without_a_year_takes_the_year_nearest_the_window():
    december = (date(2026, 12, 21), date(2026, 12, 27))
    assert nearest_year(1, 3, december) == 2027  # 7 days after the window, not 352 before it
    assert nearest_year(12, 1, december) == 2026
    assert nearest_year(12, 24, december) == 2026  # inside the window
    january = (date(2027, 1, 4), date(2027, 1, 10))
    assert nearest_year(12, 30, january) == 2026
    # A weekday settles it: 12 November is a Thursday in 2026, a Friday in 2027, a Wednesday in 2025.
    assert nearest_year(11, 12, (date(2027, 1, 4), date(2027, 1, 10)), weekday=4) == 2027
    with pytest.raises(NotADate, match="no Monday"):
        nearest_year(11, 12, december, weekday=0)


def test_formats_statuses_and_whole_day_plans():
    assert [format_of(v) for v in ("Carrousel", "Réel", "Reels", "Vidéo", "Stories", "Visuel", "Photo", "Texte",
                                   "Lien", "Newsletter")] == \
        ["carousel", "reel", "reel", "video", "story", "image", "image", "text", "link", None]
    assert [status_of(v) for v in ("Publié", "Validée", "Approuvé", "À faire", "Idée", "Programmé", "Annulé",
                                   "  En relecture ", "")] == \
        ["published", "approved", "approved", "idea", "idea", "scheduled", "cancelled", "en relecture", None]
    assert status_of("Go client", {"go client": "approved"}) == "approved"
    # Local midnight: 24 Oct 2026 in Paris is 22:00 UTC on the 23rd; 26 Oct (winter) 23:00 UTC on the 25th.
    assert whole_day_instant(date(2026, 10, 24), "Europe/Paris") == utc(2026, 10, 23, 22)
    assert whole_day_instant(date(2026, 10, 26), "Europe/Paris") == utc(2026, 10, 25, 23)


def test_statuses_option_adds_the_teams_words(tmp_path):
    (tmp_path / "c.csv").write_text("Date;Statut;Titre\n20/10/2026;En attente client;A\n", encoding="utf-8")
    items, _ = fetch(tmp_path, path="c.csv", statuses={"En attente CLIENT": "idea"})
    assert items[0]["status"] == "idea"


# -- in a workflow --------------------------------------------------------------------------------
def test_a_workflow_validates_and_an_unknown_column_field_is_named(tmp_path):
    shutil.copy(FIXTURES / FRENCH, tmp_path / FRENCH)
    path = tmp_path / "w.toml"
    path.write_text(f'[workflow]\nname = "Cal"\ntimezone = "Europe/Paris"\n[[sources]]\nplugin = "calendar_sheet"\n'
                    f'path = "{FRENCH}"\ncolumns = {{ dates = "Date de publication" }}\n', encoding="utf-8")
    with registered_plugin(calendar_sheet), pytest.raises(WorkflowInvalid) as caught:
        load_workflow(path)
    assert "did you mean 'date'?" in str(caught.value)


def test_a_row_without_a_time_is_midnight_in_the_workflows_zone_whatever_the_sheets_timezone(tmp_path):
    """A sheet kept in New York time for a Paris workflow: its timed rows are New York times, but
    a row without a time plans the day, at 00:00 Paris, where calendar adherence looks for it."""
    (tmp_path / "cal.csv").write_text("Date;Heure;Réseau;Titre\n26/10/2026;;Instagram;Whole day\n"
                                      "26/10/2026;10:00;Instagram;Timed\n", encoding="utf-8")
    items, _ = fetch(tmp_path, path="cal.csv", timezone="America/New_York")
    planned = {i["title"]: i["planned_at"] for i in items}
    # 26 October 2026 00:00 in Paris (UTC+1 after the clocks went back on the 25th) is 25 Oct 23:00 UTC,
    # not 26 Oct 04:00 UTC (00:00 in New York, still on UTC-4 until 1 November).
    assert planned["Whole day"] == utc(2026, 10, 25, 23, 0)
    assert is_whole_day(planned["Whole day"], "Europe/Paris")
    assert planned["Timed"] == utc(2026, 10, 26, 14, 0)  # 10:00 in New York (UTC-4)


def test_random_bytes_named_xlsx_are_no_readable_workbook_not_a_text_encoding_problem(tmp_path):
    import random

    (tmp_path / "cal.xlsx").write_bytes(random.Random(18).randbytes(300))
    with pytest.raises(DataFileError) as raised:
        fetch(tmp_path, path="cal.xlsx")
    assert "cal.xlsx is not a readable workbook" in str(raised.value)
    assert "encoding" not in str(raised.value) and "UTF-8" not in str(raised.value)
    # A French CSV saved by Excel in cp1252 under a workbook's name is still read, as CSV.
    (tmp_path / "cal.xlsx").write_bytes("Date;Réseau;Titre\n03/11/2026;Instagram;Coulisses de l'été\n"
                                        .encode("cp1252"))
    items, _ = fetch(tmp_path, path="cal.xlsx", encoding="cp1252")
    assert [(i["platform"], i["title"]) for i in items] == [("instagram", "Coulisses de l'été")]


US_SHEET = "Jour J,Sur,Post\n11/05/2026,Insta,Reads both ways\n11/18/2026,LinkedIn,Month first only\n"


@pytest.mark.parametrize("names", [
    'field_names = { date = "Jour J", platform = "Sur", title = "Post" }\ndate_order = "month_first"',
    'columns = { date = "Jour J", platform = "Sur", title = "Post" }\nmonth_first = true',  # the older names
])
def test_the_calendar_sources_option_names_and_the_older_ones_read_alike(tmp_path, names):
    """`field_names` as on the trello, asana and notion sources, `date_order` as on the export
    source; `columns` and `month_first`, the sheet's first names, still read the same."""
    (tmp_path / "c.csv").write_text(US_SHEET, encoding="utf-8")
    path = tmp_path / "w.toml"
    path.write_text(f'[workflow]\nname = "Cal"\ntimezone = "Europe/Paris"\n[[sources]]\nplugin = "calendar_sheet"\n'
                    f'path = "c.csv"\n{names}\n', encoding="utf-8")
    with registered_plugin(calendar_sheet):
        [entry] = load_workflow(path).sources
    assert (entry.plugin.options.field_names, entry.plugin.options.date_order) == (
        {"date": "Jour J", "platform": "Sur", "title": "Post"}, "month_first")
    items, _ = fetch(tmp_path, **entry.plugin.options.model_dump())
    # 5 and 18 November 2026 (month first), whole days: 00:00 Paris is 23:00 UTC the day before.
    assert [(i["planned_at"], i["platform"], i["title"]) for i in items] == [
        (utc(2026, 11, 4, 23), "instagram", "Reads both ways"), (utc(2026, 11, 17, 23), "linkedin", "Month first only")]


@pytest.mark.parametrize("names, message", [
    ('field_names = { date = "Jour J" }\ncolumns = { date = "Jour J" }',
     "sources[0].columns: columns is another name for field_names: keep field_names only"),
    ('date_order = "month_first"\nmonth_first = true',
     "sources[0].month_first: month_first is another name for date_order: keep date_order only"),
    ('month_first = "yes"', "sources[0].month_first: month_first is true or false, not 'yes'"),
    ("date_order = true", "sources[0].date_order: must be one of day_first, month_first (got true)"),
])
def test_an_option_given_under_both_names_is_refused(tmp_path, names, message):
    (tmp_path / "c.csv").write_text(US_SHEET, encoding="utf-8")
    path = tmp_path / "w.toml"
    path.write_text(f'[workflow]\nname = "Cal"\n[[sources]]\nplugin = "calendar_sheet"\npath = "c.csv"\n{names}\n',
                    encoding="utf-8")
    with registered_plugin(calendar_sheet), pytest.raises(WorkflowInvalid) as caught:
        load_workflow(path)
    assert message in str(caught.value)
