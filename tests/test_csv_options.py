"""The csv source's options for exports as they come: `header_row`, several `thousands`
separators and the rule for spaces, dates without a year (`default_year`, or the year inferred
from the run's period), and a field read from the first non-empty of several columns.

Fixtures are in the platforms' shapes (byte-order marks, quoted line breaks, decimal commas,
CRLF); every expected figure is worked out by hand and written here.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import polars as pl
import pydantic
import pytest

from cmflow import FetchContext, Period
from cmflow.builtin.sources.csv_source import CsvSource
from cmflow.builtin.sources.csv_tables import _read_any, read_regular_csv
from cmflow.builtin.sources.export_text import read_export
from cmflow.builtin.sources.tabular import DataFileError

BOM = "\ufeff"
NNBSP, NBSP = "\u202f", "\u00a0"


def fetch(directory: Path, period: Period | None = None, **options: Any) -> pl.DataFrame:
    source = CsvSource(CsvSource.Options(**options), entry_id="src")
    period = period or Period(date(2026, 11, 16), date(2026, 11, 22), "Europe/Paris", unit="week")
    ctx = FetchContext(period.start_utc, period.end_utc, [period], directory, logging.getLogger("cmflow.test"), [])
    (table,) = list(source.fetch(ctx))
    return table.conformed()


def fetch_error(directory: Path, period: Period | None = None, **options: Any) -> str:
    """The error a fetch raises, with its details (the bad rows, one per line) under it."""
    with pytest.raises(DataFileError) as info:
        fetch(directory, period, **options)
    return "\n".join([str(info.value), *info.value.details])


def write(directory: Path, name: str, text: str) -> None:
    (directory / name).write_bytes(text.encode("utf-8"))


# -- header_row --------------------------------------------------------------------------------
LINKEDIN = (BOM + 'All posts "Maison Lumen, page analytics, 11/01/2026 - 11/22/2026\n'
            "Post title,Post link,Created date,Impressions,Likes\n"
            '"Lancement\nde la collection",https://lnkd.in/p1,11/18/2026,"1,204",31\n'
            "Atelier,https://lnkd.in/p2,11/19/2026,880,12\n")
LINKEDIN_MAPPING = dict(path="all-posts.csv", header_row=2, datetime_format="%m/%d/%Y", thousands=",",
                        constants={"platform": "linkedin", "account": "maison-lumen"},
                        columns={"post_id": "Post link", "text": "Post title", "published_at": "Created date",
                                 "impressions": "Impressions", "likes": "Likes"})


def test_header_row_skips_the_lines_above_whatever_they_hold(tmp_path: Path) -> None:
    """The notice line holds an unclosed quote: it is skipped as a line, not read as CSV."""
    write(tmp_path, "all-posts.csv", LINKEDIN)
    frame = fetch(tmp_path, **LINKEDIN_MAPPING)
    assert frame["post_id"].to_list() == ["https://lnkd.in/p1", "https://lnkd.in/p2"]
    assert frame["text"].to_list() == ["Lancement\nde la collection", "Atelier"]
    assert frame["impressions"].to_list() == [1204, 880]
    assert frame["likes"].to_list() == [31, 12]


def test_header_line_is_the_older_name_of_header_row(tmp_path: Path) -> None:
    write(tmp_path, "all-posts.csv", LINKEDIN)
    options = {**LINKEDIN_MAPPING, "header_line": 2}
    del options["header_row"]
    assert fetch(tmp_path, **options)["likes"].to_list() == [31, 12]


def test_a_bad_value_under_a_later_header_names_its_physical_line(tmp_path: Path) -> None:
    """Line 1 notice, line 2 header, lines 3-4 a caption over two lines, line 5 post p2, line 6 the bad row."""
    write(tmp_path, "all-posts.csv", LINKEDIN + "Portes ouvertes,https://lnkd.in/p3,11/20/2026,n/a,4\n")
    message = fetch_error(tmp_path, **LINKEDIN_MAPPING)
    assert 'line 6, post_id "https://lnkd.in/p3", column 4 "Impressions": value "n/a"' in message


@pytest.mark.parametrize("start, kind", [(b"\x89PNG\r\n\x1a\n", "a PNG image"), (b"\xff\xd8\xff\xe0", "a JPEG image"),
                                         (b"%PDF-1.7\n", "a PDF document")])
def test_an_image_or_a_pdf_is_not_read_as_text_in_another_encoding(tmp_path: Path, start, kind) -> None:
    """No encoding turns a PNG into rows: "set encoding = mac_roman" was the advice."""
    path = tmp_path / "export.csv"
    path.write_bytes(start + bytes(range(128, 256)))
    with pytest.raises(DataFileError) as caught:
        read_export(path, "utf-8")
    assert f"{path} is not a text file: its first bytes are those of {kind}" in str(caught.value)
    assert "encoding" not in str(caught.value)


def test_the_fast_reader_and_the_exact_one_agree_on_a_notice_with_a_stray_quote(tmp_path: Path) -> None:
    write(tmp_path, "all-posts.csv", LINKEDIN.replace('"Lancement\nde la collection"', "Lancement"))
    path = tmp_path / "all-posts.csv"
    fast = read_regular_csv(path, "utf-8", ",", 2)
    exact = _read_any(read_export(path, "utf-8"), ",", path, 2)
    assert fast is not None
    assert fast.frame.rows() == exact.frame.rows() == [
        ("Lancement", "https://lnkd.in/p1", "11/18/2026", "1,204", "31"),
        ("Atelier", "https://lnkd.in/p2", "11/19/2026", "880", "12")]
    assert list(fast.places.lines) == list(exact.places.lines) == [3, 4]


# -- thousands and spaces ----------------------------------------------------------------------
FRENCH = ("Compte;ID;Date de publication;Impressions;Portée;Légende\r\n"
          f'maison;f1;18/11/2026 09:05;6{NNBSP}143;5{NNBSP}002;"Nouvelle\ncollection"\r\n'
          f"maison;f2;19/11/2026 10:30;6{NBSP}143;4 210;Atelier\r\n"
          "maison;f3;20/11/2026 18:00;6.342;980;Coulisses\r\n"
          "maison;f4;21/11/2026 12:00;1.204.587;12;Vente\r\n")
FRENCH_MAPPING = dict(path="fr.csv", delimiter=";", decimal=",", datetime_format="%d/%m/%Y %H:%M",
                      constants={"platform": "instagram"},
                      columns={"account": "Compte", "post_id": "ID", "published_at": "Date de publication",
                               "impressions": "Impressions", "reach": "Portée", "text": "Légende"})


@pytest.mark.parametrize("thousands", [".", ["."], [".", " "], [" ", "."], [".", "\u202f", "\u00a0"]])
def test_spaces_of_every_kind_and_a_dot_in_one_column(tmp_path: Path, thousands: Any) -> None:
    write(tmp_path, "fr.csv", BOM + FRENCH)
    frame = fetch(tmp_path, thousands=thousands, **FRENCH_MAPPING)
    assert frame["impressions"].to_list() == [6143, 6143, 6342, 1204587]
    assert frame["reach"].to_list() == [5002, 4210, 980, 12]
    assert frame["text"].to_list() == ["Nouvelle\ncollection", "Atelier", "Coulisses", "Vente"]


def test_spaces_are_thousands_separators_without_the_option(tmp_path: Path) -> None:
    write(tmp_path, "fr.csv", BOM + FRENCH.replace("6.342", "6 342").replace("1.204.587", f"1{NNBSP}204{NBSP}587"))
    frame = fetch(tmp_path, **FRENCH_MAPPING)
    assert frame["impressions"].to_list() == [6143, 6143, 6342, 1204587]


def test_a_dot_not_declared_is_no_thousands_separator(tmp_path: Path) -> None:
    write(tmp_path, "fr.csv", BOM + FRENCH)
    message = fetch_error(tmp_path, thousands=" ", **FRENCH_MAPPING)
    assert 'line 5, post_id "f3", column 4 "Impressions": value "6.342"' in message  # line 1 header, 2-3 f1, 4 f2


def test_spaces_not_in_groups_of_three_are_an_error(tmp_path: Path) -> None:
    write(tmp_path, "fr.csv", BOM + FRENCH.replace(f"6{NBSP}143", f"61{NBSP}43"))
    message = fetch_error(tmp_path, thousands=[".", " "], **FRENCH_MAPPING)
    assert 'line 4, post_id "f2", column 4 "Impressions": value "61' in message  # the caption's line break: row 2 is line 4
    assert "groups of three" in message


GOLDEN = (BOM + "Date;ID;Texte;Impressions\r\n"
          f'18/11/2026 09:05;g1;"Ligne 1\nLigne 2";6{NNBSP}143\r\n'
          "19/11/2026 10:00;g2;Simple;12.000\r\n"
          "20/11/2026 10:00;g3;x;1 500\r\n"
          "21/11/2026 10:00;g4;y;5.000\r\n")
GOLDEN_MAPPING = dict(path="golden.csv", delimiter=";", decimal=",", datetime_format="%d/%m/%Y %H:%M",
                      constants={"platform": "facebook", "account": "maison"},
                      columns={"published_at": "Date", "post_id": "ID", "text": "Texte",
                               "impressions": "Impressions"})


def test_twelve_thousand_with_a_dot_is_never_read_as_twelve(tmp_path: Path) -> None:
    """With decimal = "," and no `thousands`, "12.000" and "5.000" are errors, not 12 and 5."""
    write(tmp_path, "golden.csv", GOLDEN)
    message = fetch_error(tmp_path, **GOLDEN_MAPPING)
    # line 1 header, lines 2-3 g1 (a quoted line break), line 4 g2, line 5 g3, line 6 g4
    assert ('line 4, post_id "g2", column 4 "Impressions": value "12.000" looks like thousands written with \'.\': '
            'set thousands = "."') in message
    assert 'line 6, post_id "g4", column 4 "Impressions": value "5.000" looks like thousands' in message
    assert "line 5" not in message


def test_twelve_thousand_with_a_dot_declared_adds_up(tmp_path: Path) -> None:
    """6 143 + 12 000 + 1 500 + 5 000 = 24 643."""
    write(tmp_path, "golden.csv", GOLDEN)
    frame = fetch(tmp_path, thousands=".", **GOLDEN_MAPPING)
    assert frame["impressions"].to_list() == [6143, 12000, 1500, 5000]
    assert frame["impressions"].sum() == 24643


@pytest.mark.parametrize("value, expected", [
    ("12.000", 'looks like thousands written with \'.\': set thousands = "." and decimal = ","'),
    ("4.5", "is not a whole number"),
])
def test_a_point_decimal_never_drops_three_zeros(tmp_path: Path, value: str, expected: str) -> None:
    write(tmp_path, "golden.csv", GOLDEN.replace("12.000", value).replace("5.000", "5"))
    message = fetch_error(tmp_path, **{**GOLDEN_MAPPING, "decimal": "."})
    assert f'line 4, post_id "g2", column 4 "Impressions": value "{value}" ' in message
    assert expected in message


def test_a_comma_decimal_never_drops_three_zeros(tmp_path: Path) -> None:
    write(tmp_path, "golden.csv", GOLDEN.replace("12.000", "12,000").replace("5.000", "5,0"))
    message = fetch_error(tmp_path, **GOLDEN_MAPPING)
    assert 'line 4, post_id "g2", column 4 "Impressions": value "12,000" could be a whole number' in message
    assert 'set thousands = "," and decimal = "."' in message
    assert "line 6" not in message  # 5,0 is 5


def test_a_point_decimal_still_reads_12_0_as_twelve(tmp_path: Path) -> None:
    write(tmp_path, "golden.csv", GOLDEN.replace("12.000", "12.0").replace("5.000", "1234.000"))
    frame = fetch(tmp_path, **{**GOLDEN_MAPPING, "decimal": "."})
    assert frame["impressions"].to_list() == [6143, 12, 1500, 1234]


def test_a_decimal_comma_with_thousands_of_both_kinds(tmp_path: Path) -> None:
    """Hours of a time entry: 1.234,5 and 1 234,5 are 1234.5; 7,61 is 7.61."""
    write(tmp_path, "hours.csv", BOM + "date;person;project;hours\r\n"
          "17/11/2026;Léa;Lumen;1.234,5\r\n"
          f"18/11/2026;Léa;Lumen;1{NNBSP}234,5\r\n"
          "19/11/2026;Léa;Lumen;7,61\r\n")
    frame = fetch(tmp_path, path="hours.csv", record="time_entry", delimiter=";", decimal=",",
                  thousands=["."], date_format="%d/%m/%Y")
    assert frame["hours"].to_list() == [1234.5, 1234.5, 7.61]


@pytest.mark.parametrize("thousands, decimal, expected", [
    ([".", ","], ",", "thousands and decimal are both ','"),
    (". ", ",", "is not a thousands separator"),
    (["0"], ".", "is not a thousands separator"),
    ([], ".", "thousands is an empty list"),
])
def test_misused_thousands_are_refused(thousands: Any, decimal: str, expected: str) -> None:
    with pytest.raises(pydantic.ValidationError) as info:
        CsvSource.Options(path="f.csv", thousands=thousands, decimal=decimal)
    assert expected in str(info.value)


# -- dates without a year ----------------------------------------------------------------------
def tiktok_followers(days: list[str]) -> str:
    """TikTok Studio's follower history: BOM, every field quoted, no trailing newline."""
    rows = [f'"{day}","{12000 + 10 * i}","10"' for i, day in enumerate(days)]
    return BOM + '"Date","Followers","Difference in followers from previous day"\n' + "\n".join(rows)


TIKTOK = dict(path="followers.csv", record="account_snapshot", date_format="%B %d",
              constants={"platform": "tiktok", "account": "lumen.paris"},
              columns={"date": "Date", "followers": "Followers"})
AS_OF_2027_01_05 = Period(date(2026, 12, 28), date(2027, 1, 3), "Europe/Paris", unit="week")
"""The run's period with as_of = 2027-01-05 and period = last_week."""


NOVEMBER_2026 = Period(date(2026, 11, 1), date(2026, 11, 30), "Europe/Paris", unit="month")


def tiktok_dates_and_problems(directory: Path, period: Period) -> tuple[list[date], list[str]]:
    """The dates followers.csv reads as (mapped as TIKTOK) in a run for ``period``, and the warnings."""
    source = CsvSource(CsvSource.Options(**TIKTOK), entry_id="src")
    problems: list[str] = []
    ctx = FetchContext(period.start_utc, period.end_utc, [period], directory, logging.getLogger("cmflow.test"), problems)
    (table,) = list(source.fetch(ctx))
    return table.conformed()["date"].to_list(), problems


@pytest.mark.parametrize("period", [AS_OF_2027_01_05, Period(date(2026, 12, 30), date(2027, 1, 5), "Europe/Paris")])
def test_a_file_across_new_year_takes_both_years(tmp_path: Path, period: Period) -> None:
    write(tmp_path, "followers.csv", tiktok_followers(["December 30", "December 31", "January 1", "January 2"]))
    frame = fetch(tmp_path, period, **TIKTOK)
    assert frame["date"].to_list() == [date(2026, 12, 30), date(2026, 12, 31), date(2027, 1, 1), date(2027, 1, 2)]
    assert frame["followers"].to_list() == [12000, 12010, 12020, 12030]


def test_unpadded_days_and_a_date_after_the_period_end(tmp_path: Path) -> None:
    """The period ends on 2026-11-22 and the file, in date order, on November 23 (the day before
    the download, the run's as-of day 2026-11-24): that is 2026-11-23, and so every row is 2026's."""
    write(tmp_path, "followers.csv", tiktok_followers(["October 1", "November 9", "November 22", "November 23"]))
    week = Period(date(2026, 11, 16), date(2026, 11, 22), "Europe/Paris", unit="week")
    dates, _ = tiktok_dates_as_of(tmp_path, week, datetime(2026, 11, 24, 8, tzinfo=timezone.utc))
    assert dates == [date(2026, 10, 1), date(2026, 11, 9), date(2026, 11, 22), date(2026, 11, 23)]


AS_OF_2027_01_26 = Period(date(2027, 1, 18), date(2027, 1, 24), "Europe/Paris", unit="week")
"""The run's period with as_of = 2027-01-26 and period = last_week."""


@pytest.mark.parametrize("newest_first", [False, True])
def test_a_file_across_new_year_read_in_late_january(tmp_path: Path, newest_first: bool) -> None:
    days = ["December 30", "December 31", "January 1", "January 2"]
    expected = [date(2026, 12, 30), date(2026, 12, 31), date(2027, 1, 1), date(2027, 1, 2)]
    if newest_first:
        days, expected = days[::-1], expected[::-1]
    write(tmp_path, "followers.csv", tiktok_followers(days))
    frame = fetch(tmp_path, AS_OF_2027_01_26, **TIKTOK)
    assert frame["date"].to_list() == expected


def test_a_weekly_run_on_a_file_ending_the_day_after_the_period(tmp_path: Path) -> None:
    """as_of = 2026-11-24, last_week (November 16-22); TikTok's file runs September 29 to
    November 23: every row is 2026's, and no warning."""
    days = ["September 29", "September 30", "October 1", "October 31", "November 1", "November 22", "November 23"]
    write(tmp_path, "followers.csv", tiktok_followers(days))
    dates, problems = tiktok_dates_as_of(tmp_path, Period(date(2026, 11, 16), date(2026, 11, 22), "Europe/Paris",
                                                          unit="week"), datetime(2026, 11, 24, 8, tzinfo=timezone.utc))
    assert dates == [
        date(2026, 9, 29), date(2026, 9, 30), date(2026, 10, 1), date(2026, 10, 31), date(2026, 11, 1),
        date(2026, 11, 22), date(2026, 11, 23)]
    assert problems == []


def tiktok_dates_as_of(directory: Path, period: Period, as_of: datetime,
                       as_of_day: date | None = None) -> tuple[list[date], list[str]]:
    """The dates followers.csv reads as in a run for ``period`` run at ``as_of`` (the clock),
    with ``--as-of as_of_day`` if given."""
    source = CsvSource(CsvSource.Options(**TIKTOK), entry_id="src")
    problems: list[str] = []
    ctx = FetchContext(period.start_utc, period.end_utc, [period], directory, logging.getLogger("cmflow.test"),
                       problems, as_of=as_of, as_of_day=as_of_day)
    (table,) = list(source.fetch(ctx))
    return table.conformed()["date"].to_list(), problems


def test_a_past_period_read_today_places_this_years_dates_in_this_year(tmp_path: Path) -> None:
    """A report on January 2026 run on 2026-12-06 over a file of late November: the dates are
    2026's (no later than today), and so outside the period; anchored on January's end, they
    would have been 2025's and counted in nothing, silently."""
    write(tmp_path, "followers.csv", tiktok_followers(["November 28", "November 29", "December 5"]))
    january = Period(date(2026, 1, 1), date(2026, 1, 31), "Europe/Paris", unit="month")
    dates, _ = tiktok_dates_as_of(tmp_path, january, datetime(2026, 12, 6, 8, tzinfo=timezone.utc))
    assert dates == [date(2026, 11, 28), date(2026, 11, 29), date(2026, 12, 5)]


def test_no_date_is_placed_after_the_as_of_day(tmp_path: Path) -> None:
    """Run on 2026-12-06 for November 2026: a December 20 in the file cannot be this year's
    (it has not happened yet): it is 2025's, as is the whole file in date order before it."""
    write(tmp_path, "followers.csv", tiktok_followers(["December 19", "December 20"]))
    dates, _ = tiktok_dates_as_of(tmp_path, NOVEMBER_2026, datetime(2026, 12, 6, 8, tzinfo=timezone.utc))
    assert dates == [date(2025, 12, 19), date(2025, 12, 20)]
    unsorted = tiktok_followers(["December 20", "November 2", "December 1"])
    write(tmp_path, "followers.csv", unsorted)
    dates, _ = tiktok_dates_as_of(tmp_path, NOVEMBER_2026, datetime(2026, 12, 6, 8, tzinfo=timezone.utc))
    assert dates == [date(2025, 12, 20), date(2026, 11, 2), date(2026, 12, 1)]


def test_an_as_of_before_the_periods_end_does_not_hide_the_period(tmp_path: Path) -> None:
    """--as-of earlier than the period's last day (a run looking ahead, re-run on December 2
    over a file read then): the period's own dates stay in its year."""
    write(tmp_path, "followers.csv", tiktok_followers(["November 29", "November 30"]))
    dates, _ = tiktok_dates_as_of(tmp_path, NOVEMBER_2026, datetime(2026, 12, 2, 8, tzinfo=timezone.utc),
                                  as_of_day=date(2026, 11, 15))
    assert dates == [date(2026, 11, 29), date(2026, 11, 30)]


DECEMBER_2026 = Period(date(2026, 12, 1), date(2026, 12, 31), "Europe/Paris", unit="month")


def test_a_december_report_re_run_after_the_download_keeps_the_new_year(tmp_path: Path) -> None:
    """Downloaded 2027-01-02 (December 28 to January 1), run with --as-of 2026-12-31 for December:
    the file can hold days up to the clock's, so January 1 is 2027's and December 2026's. Anchored
    on the as-of day, every December row was 2025's and the report counted nothing, silently."""
    write(tmp_path, "followers.csv", tiktok_followers(["December 28", "December 29", "December 30",
                                                       "December 31", "January 1"]))
    dates, _ = tiktok_dates_as_of(tmp_path, DECEMBER_2026, datetime(2027, 1, 2, 9, tzinfo=timezone.utc),
                                  as_of_day=date(2026, 12, 31))
    assert dates == [date(2026, 12, 28), date(2026, 12, 29), date(2026, 12, 30), date(2026, 12, 31),
                     date(2027, 1, 1)]
    unsorted = tiktok_followers(["December 28", "December 30", "December 29", "January 1"])  # in no order
    write(tmp_path, "followers.csv", unsorted)
    dates, _ = tiktok_dates_as_of(tmp_path, DECEMBER_2026, datetime(2027, 1, 2, 9, tzinfo=timezone.utc),
                                  as_of_day=date(2026, 12, 31))
    assert dates == [date(2026, 12, 28), date(2026, 12, 30), date(2026, 12, 29), date(2027, 1, 1)]


def test_a_file_read_today_holds_no_later_day_than_today(tmp_path: Path) -> None:
    """Run on 2026-12-07 with --as-of 2026-12-20 for December over a file of November 20 to
    January 5: read today, it cannot hold January 5 2027 (31 days after December would allow
    it): it runs from 2025-11-20 to 2026-01-05."""
    write(tmp_path, "followers.csv", tiktok_followers(["November 20", "December 31", "January 1", "January 5"]))
    clock = datetime(2026, 12, 7, 9, tzinfo=timezone.utc)
    dates, _ = tiktok_dates_as_of(tmp_path, DECEMBER_2026, clock, as_of_day=date(2026, 12, 20))
    assert dates == [date(2025, 11, 20), date(2025, 12, 31), date(2026, 1, 1), date(2026, 1, 5)]
    write(tmp_path, "followers.csv", tiktok_followers(["November 20", "December 2", "November 25", "January 5"]))
    dates, _ = tiktok_dates_as_of(tmp_path, DECEMBER_2026, clock, as_of_day=date(2026, 12, 20))  # in no order
    assert dates == [date(2026, 11, 20), date(2026, 12, 2), date(2026, 11, 25), date(2026, 1, 5)]


def test_february_29_goes_to_the_latest_leap_year(tmp_path: Path) -> None:
    """In date order the three days are one run, all in the leap year (never the 29th two years
    before its neighbours); in no order, each date gets its own year."""
    write(tmp_path, "followers.csv", tiktok_followers(["February 28", "February 29", "March 1"]))
    frame = fetch(tmp_path, AS_OF_2027_01_05, **TIKTOK)
    assert frame["date"].to_list() == [date(2024, 2, 28), date(2024, 2, 29), date(2024, 3, 1)]
    write(tmp_path, "followers.csv", tiktok_followers(["February 28", "March 1", "February 29"]))
    frame = fetch(tmp_path, AS_OF_2027_01_05, **TIKTOK)
    assert frame["date"].to_list() == [date(2026, 2, 28), date(2026, 3, 1), date(2024, 2, 29)]


def test_february_29_skips_a_century_year_that_is_not_leap() -> None:
    """Read in early 2101, a run of dates in date order with a February 29 goes back to 2096:
    2100 is no leap year (divisible by 100, not by 400)."""
    from cmflow.builtin.sources.tabular import _years_from_file_order

    frame = pl.DataFrame({"text": ["February 28", "February 29", "March 1"]})
    read = frame.select(_years_from_file_order(pl.col("text"), "%B %d", pl.Date, date(2101, 1, 5))).to_series()
    assert read.to_list() == [date(2096, 2, 28), date(2096, 2, 29), date(2096, 3, 1)]


def test_the_plan_of_a_date_without_a_year_stays_small() -> None:
    """The expression that reads a date without a year names the year it infers once per use:
    one that repeated it for each year tried back to a leap year was 75 kB of plan, 100 ms to
    plan for a few rows (the test suite reads TikTok's year-less files dozens of times)."""
    from cmflow.builtin.sources.tabular import _strptime

    expression = _strptime(pl.col("text"), "%B %d", pl.Date, date(2026, 12, 7))
    assert len(str(expression)) < 15_000


def test_default_year_gives_the_year(tmp_path: Path) -> None:
    write(tmp_path, "followers.csv", tiktok_followers(["December 30", "December 31", "January 1"]))
    frame = fetch(tmp_path, AS_OF_2027_01_05, default_year=2026, **TIKTOK)
    assert frame["date"].to_list() == [date(2026, 12, 30), date(2026, 12, 31), date(2026, 1, 1)]


def test_day_first_dates_without_a_year(tmp_path: Path) -> None:
    write(tmp_path, "followers.csv", tiktok_followers(["28 May", "1 June"]))
    frame = fetch(tmp_path, **{**TIKTOK, "date_format": "%d %B"})
    assert frame["date"].to_list() == [date(2026, 5, 28), date(2026, 6, 1)]


def test_a_date_that_does_not_read_names_its_line_and_column(tmp_path: Path) -> None:
    write(tmp_path, "followers.csv", tiktok_followers(["November 18", "Nov. 19th", "November 20"]))
    message = fetch_error(tmp_path, **TIKTOK)
    assert 'followers.csv, line 3, date "Nov. 19th", column 1 "Date": value "Nov. 19th" is not a date in the format %B %d' in message


def test_default_year_with_formats_that_all_have_a_year_is_refused() -> None:
    with pytest.raises(pydantic.ValidationError) as info:
        CsvSource.Options(path="f.csv", date_format="%d/%m/%Y", default_year=2026)
    assert "default_year = 2026 is never used" in str(info.value)


# -- a field from the first non-empty of several columns ------------------------------------------
META = (BOM + "Post ID,Page name,Title,Description,Publish time,Post type,Views,Impressions,"
        '"Reactions, Comments and Shares",Reactions\n'
        '101,Maison Lumen,"La collection d\'hiver, enfin",,11/18/2026 09:05,Photos,1520,,40,32\n'
        '102,Maison Lumen,Reel atelier,"Dans l\'atelier\navec Léa",11/19/2026 18:30,Reels,2210,,61,50\n'
        '103,Maison Lumen,,"Un lien, une histoire",11/20/2026 12:00,Links,,930,9,7\n')
META_MAPPING = dict(path="facebook.csv", datetime_format="%m/%d/%Y %H:%M", timezone="UTC",
                    constants={"platform": "facebook"},
                    columns={"post_id": "Post ID", "account": "Page name", "text": ["Title", "Description"],
                             "published_at": "Publish time", "impressions": ["Views", "Impressions"],
                             "likes": "Reactions"})


def test_the_first_non_empty_column_wins(tmp_path: Path) -> None:
    """The reel's Title is a label, so the caption comes first only if listed first: the
    workflow decides; here Title wins when filled (posts 101 and 102), Description otherwise."""
    write(tmp_path, "facebook.csv", META)
    frame = fetch(tmp_path, **META_MAPPING)
    assert frame["text"].to_list() == ["La collection d'hiver, enfin", "Reel atelier", "Un lien, une histoire"]
    assert frame["impressions"].to_list() == [1520, 2210, 930]
    assert frame["likes"].to_list() == [32, 50, 7]


def test_the_order_of_the_list_decides(tmp_path: Path) -> None:
    write(tmp_path, "facebook.csv", META)
    frame = fetch(tmp_path, **{**META_MAPPING, "columns": {**META_MAPPING["columns"], "text": ["Description", "Title"]}})
    assert frame["text"].to_list() == ["La collection d'hiver, enfin", "Dans l'atelier\navec Léa", "Un lien, une histoire"]


def test_a_bad_value_names_the_column_it_was_read_from(tmp_path: Path) -> None:
    """Post 103 has no Views: its impressions come from column 8, "Impressions" (line 5: the
    reel's caption takes lines 3 and 4)."""
    write(tmp_path, "facebook.csv", META.replace(",,930,", ",,n/a,"))
    message = fetch_error(tmp_path, **META_MAPPING)
    assert 'line 5, post_id "103", column 8 "Impressions": value "n/a"' in message


def test_old_and_new_headers_share_a_workflow(tmp_path: Path) -> None:
    """impressions = ["Views", "Impressions"]: an old export has only "Impressions", a new one only
    "Views"; each reads with the same mapping."""
    old = (BOM + "Post ID,Page name,Title,Description,Publish time,Impressions,Reactions\n"
           "101,Maison Lumen,Hiver,,11/18/2026 09:05,1520,32\n"
           "102,Maison Lumen,Atelier,,11/19/2026 18:30,2210,50\n")
    new = old.replace(",Impressions,", ",Views,")
    for name, text in (("old.csv", old), ("new.csv", new)):
        write(tmp_path, name, text)
        frame = fetch(tmp_path, **{**META_MAPPING, "path": name})
        assert frame["impressions"].to_list() == [1520, 2210]
        assert frame["likes"].to_list() == [32, 50]


def test_a_list_of_columns_none_of_which_is_in_the_file(tmp_path: Path) -> None:
    write(tmp_path, "facebook.csv", META)
    message = fetch_error(tmp_path, **{**META_MAPPING, "columns": {**META_MAPPING["columns"],
                                                                  "text": ["Titel", "Descripton"]}})
    assert ("none of the columns 'Titel', 'Descripton' (mapped to text in `columns`) is in the file; "
            "did you mean 'Title'?") in message


def test_no_did_you_mean_for_a_column_already_in_the_list(tmp_path: Path) -> None:
    write(tmp_path, "facebook.csv", META.replace("Views,Impressions,", "Vues,Impr,"))
    message = fetch_error(tmp_path, **{**META_MAPPING, "columns": {**META_MAPPING["columns"],
                                                                  "impressions": ["Views", "Impressions"]}})
    assert "none of the columns 'Views', 'Impressions' (mapped to impressions in `columns`)" in message
    assert "did you mean 'Views'" not in message and "did you mean 'Impressions'" not in message


def test_an_empty_list_of_columns_is_refused() -> None:
    with pytest.raises(pydantic.ValidationError) as info:
        CsvSource.Options(path="f.csv", columns={"text": []})
    assert "columns.text is an empty list" in str(info.value)


def test_json_items_take_the_first_non_empty_key_too(tmp_path: Path) -> None:
    """The json source shares the mapping: item 2 has no `message`, so its text is its
    `description`; its bad count is named by the key it was read from ([1].plays)."""
    from cmflow.builtin.sources.json_source import JsonSource

    items = ('[{"id": "a1", "created_time": "2026-11-17T09:00:00+0000", "message": "Photo du jour", "description": "", "views": 120, "plays": null},\n'
             ' {"id": "a2", "created_time": "2026-11-18T18:30:00+0000", "message": "", "description": "Reel: l\'atelier", "views": null, "plays": "n/a"}]')
    write(tmp_path, "posts.json", BOM + items)
    options = dict(path="posts.json", constants={"platform": "facebook", "account": "lumen"},
                   columns={"post_id": "id", "published_at": "created_time", "text": ["message", "description"], "impressions": ["views", "plays"]})
    source = JsonSource(JsonSource.Options(**options), entry_id="src")
    period = Period(date(2026, 11, 16), date(2026, 11, 22), "UTC")
    ctx = FetchContext(period.start_utc, period.end_utc, [period], tmp_path, logging.getLogger("cmflow.test"), [])
    with pytest.raises(DataFileError) as info:
        list(source.fetch(ctx))
    assert 'posts.json, [1].plays, post_id "a2": value "n/a"' in str(info.value)
    write(tmp_path, "posts.json", BOM + items.replace('"n/a"', "340"))
    (table,) = list(source.fetch(ctx))
    frame = table.conformed()
    assert frame["text"].to_list() == ["Photo du jour", "Reel: l'atelier"]
    assert frame["impressions"].to_list() == [120, 340]


def test_dates_just_after_the_period_in_a_file_out_of_order_are_this_years(tmp_path: Path) -> None:
    """A monthly run for November 2026 on 2026-12-03, on a file not in date order that runs to
    December 2: each date gets the latest year that puts it on or before the as-of day, so
    December 1 and 2 are 2026's, and nothing needs saying."""
    write(tmp_path, "followers.csv", tiktok_followers(["December 1", "November 29", "November 30", "December 2"]))
    dates, problems = tiktok_dates_as_of(tmp_path, NOVEMBER_2026, datetime(2026, 12, 3, 8, tzinfo=timezone.utc))
    assert dates == [date(2026, 12, 1), date(2026, 11, 29), date(2026, 11, 30), date(2026, 12, 2)]
    assert problems == []


def test_dates_just_after_the_period_in_date_order_are_this_years(tmp_path: Path) -> None:
    write(tmp_path, "followers.csv", tiktok_followers(["November 29", "November 30", "December 1", "December 2"]))
    dates, problems = tiktok_dates_as_of(tmp_path, NOVEMBER_2026, datetime(2026, 12, 3, 8, tzinfo=timezone.utc))
    assert dates == [date(2026, 11, 29), date(2026, 11, 30), date(2026, 12, 1), date(2026, 12, 2)]
    assert problems == []


def test_no_date_without_a_year_lands_after_the_period_and_the_as_of_day(tmp_path: Path) -> None:
    """The acceptance rehearsal's case: a run for December 2026 as of 2026-12-20, on a file in date
    order from November 20 to January 5. January 5 cannot be 2027's (after both the as-of day and
    the period's end): the file is 2025-11-20 to 2026-01-05. (A 31-day grace after the period's
    end once put it in 2027, and the whole file a year late.)"""
    write(tmp_path, "followers.csv", tiktok_followers(["November 20", "December 31", "January 1", "January 5"]))
    december = Period(date(2026, 12, 1), date(2026, 12, 31), "UTC", unit="month")
    dates, _ = tiktok_dates_as_of(tmp_path, december, datetime(2026, 12, 21, 0, tzinfo=timezone.utc))
    assert dates == [date(2025, 11, 20), date(2025, 12, 31), date(2026, 1, 1), date(2026, 1, 5)]
    # without an as-of (a context built by hand), on or before the period's last day: the same
    dates, _ = tiktok_dates_and_problems(tmp_path, december)
    assert dates == [date(2025, 11, 20), date(2025, 12, 31), date(2026, 1, 1), date(2026, 1, 5)]


def test_the_as_of_day_is_the_workflows_day_not_utcs(tmp_path: Path) -> None:
    """--as-of 2026-12-05 in New York: the run's as-of instant is midnight after it there,
    05:00 UTC on December 6; a December 6 in the file is still tomorrow, so 2025's."""
    write(tmp_path, "followers.csv", tiktok_followers(["December 6"]))
    november = Period(date(2026, 11, 1), date(2026, 11, 30), "America/New_York", unit="month")
    dates, _ = tiktok_dates_as_of(tmp_path, november, datetime(2026, 12, 6, 5, tzinfo=timezone.utc))
    assert dates == [date(2025, 12, 6)]


def test_excel_sep_line_naming_another_separator_says_which_to_set(tmp_path) -> None:
    """Excel's `sep=,` directive on line 1 with `delimiter = ";"`: an error naming the line and
    the separator to set, not a header of one column."""
    import logging
    from datetime import date

    from cmflow import FetchContext, Period
    from cmflow.builtin.sources.csv_source import CsvSource
    from cmflow.foundation.errors import DataFileError

    path = tmp_path / "posts.csv"
    path.write_text("sep=,\nid,when,likes\np1,2026-11-18,3\n", encoding="utf-8")
    period = Period(date(2026, 11, 16), date(2026, 11, 22), "Europe/Paris", unit="week")
    ctx = FetchContext(period.start_utc, period.end_utc, [period], tmp_path, logging.getLogger("t"), [])
    source = CsvSource(CsvSource.Options(path=str(path), delimiter=";", columns={"post_id": "id", "published_at": "when"},
                                         constants={"platform": "instagram", "account": "a"}), entry_id="s")
    with pytest.raises(DataFileError) as raised:
        list(source.fetch(ctx))
    assert str(raised.value) == (f'{path}, line 1: "sep=,", as Excel writes it, says the fields are separated by '
                                 "',', not ';'; set delimiter = \",\"")


@pytest.mark.parametrize("value", ["12,3 k", "1,2M", "3\u202fk", "45K"])
def test_a_rounded_abbreviated_count_is_named_so(tmp_path, value: str) -> None:
    """A dashboard's display figure pasted into an export (`12,3 k`) is not the count: the error
    says what it is and what to export instead, not merely "not a number"."""
    from cmflow.builtin.sources.csv_source import CsvSource
    from cmflow.foundation.errors import DataFileError

    path = tmp_path / "posts.csv"
    path.write_text(f'id;when;likes\np1;2026-11-18;"{value}"\n', encoding="utf-8")
    period = Period(date(2026, 11, 16), date(2026, 11, 22), "Europe/Paris", unit="week")
    ctx = FetchContext(period.start_utc, period.end_utc, [period], tmp_path, logging.getLogger("t"), [])
    source = CsvSource(CsvSource.Options(path=str(path), delimiter=";", decimal=",",
                                         columns={"post_id": "id", "published_at": "when", "likes": "likes"},
                                         constants={"platform": "instagram", "account": "a"}), entry_id="s")
    with pytest.raises(DataFileError) as raised:
        list(source.fetch(ctx))
    assert (f'line 2, post_id "p1", column 3 "likes": value "{value}" is a rounded, abbreviated figure (k for thousands, M for '
            "millions), not the count") in str(raised.value)


@pytest.mark.parametrize("first_line", ["sep=;", "sep=;;;;", '"sep=;"', '"sep=;";;;', "SEP=;;;;;;;;;"],
                         ids=["plain", "padded", "quoted", "quoted-padded", "upper-padded"])
@pytest.mark.parametrize("mark", ["", "\ufeff"], ids=["no-mark", "mark"])
def test_excel_sep_line_padded_or_quoted_is_passed_over(tmp_path: Path, first_line: str, mark: str) -> None:
    """Excel saving a sheet whose cell A1 holds `sep=;` as CSV pads that line with the separator
    to the sheet's width (`sep=;;;;`), and quotes the cell since it holds the separator
    (`"sep=;";;;`): still the directive, not the header (before, the header was taken from
    line 1 and no mapped column was found)."""
    import logging
    from datetime import date

    from cmflow import FetchContext, Period
    from cmflow.builtin.sources.csv_source import CsvSource

    path = tmp_path / "posts.csv"
    path.write_bytes((mark + first_line + "\r\nid;when;likes;reach;note\r\np1;2026-11-18;3;40;\r\n"
                      "p2;2026-11-19;5;60;x\r\n").encode("utf-8"))
    period = Period(date(2026, 11, 16), date(2026, 11, 22), "Europe/Paris", unit="week")
    ctx = FetchContext(period.start_utc, period.end_utc, [period], tmp_path, logging.getLogger("t"), [])
    source = CsvSource(CsvSource.Options(path=str(path), delimiter=";", date_format="%Y-%m-%d",
                                         columns={"post_id": "id", "published_at": "when", "likes": "likes",
                                                  "reach": "reach"},
                                         constants={"platform": "instagram", "account": "a"}), entry_id="s")
    (table,) = list(source.fetch(ctx))
    assert table.frame["post_id"].to_list() == ["p1", "p2"]
    assert table.frame["likes"].to_list() == [3, 5]
    assert table.frame["reach"].to_list() == [40, 60]


def test_excel_sep_line_padded_with_another_separator_names_the_padding_one(tmp_path: Path) -> None:
    """`sep=,` padded with `;` is a cell Excel saved again with `;` between fields: the file is
    `;`-separated, and the error says to set that."""
    import logging
    from datetime import date

    from cmflow import FetchContext, Period
    from cmflow.builtin.sources.csv_source import CsvSource
    from cmflow.foundation.errors import DataFileError

    path = tmp_path / "posts.csv"
    path.write_text("sep=,;;\nid;when;likes\np1;2026-11-18;3\n", encoding="utf-8")
    period = Period(date(2026, 11, 16), date(2026, 11, 22), "Europe/Paris", unit="week")
    ctx = FetchContext(period.start_utc, period.end_utc, [period], tmp_path, logging.getLogger("t"), [])
    source = CsvSource(CsvSource.Options(path=str(path), delimiter=",", columns={"post_id": "id", "published_at": "when"},
                                         constants={"platform": "instagram", "account": "a"}), entry_id="s")
    with pytest.raises(DataFileError) as raised:
        list(source.fetch(ctx))
    assert str(raised.value) == (f'{path}, line 1: "sep=,;;", as Excel writes it, says the fields are separated by '
                                 "';', not ','; set delimiter = \";\"")
