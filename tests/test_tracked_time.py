"""Durations as time trackers and spreadsheets write them, in hours (foundation/tracked_time),
and the tabular sources reading a time entry's ``hours`` in every one of those forms."""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

import pytest

from cmflow import DataFileError, FetchContext, Period
from cmflow.builtin.sources.csv_source import CsvSource
from cmflow.foundation.tracked_time import hours_of


@pytest.mark.parametrize("text, hours", [
    ("02:30:00", 2.5),          # Toggl's Duration, Clockify's Duration (h)
    ("2:30:00", 2.5),
    ("2:30", 2.5),
    ("0:45", 0.75),
    ("150:00:00", 150.0),       # a month's total: over 24 hours
    ("00:00:36", 0.01),         # 36 s
    ("2.5", 2.5),
    ("2,5", 2.5),               # decimal comma
    ("2.50", 2.5),              # Clockify's Duration (decimal)
    ("2h30", 2.5),
    ("2 h 30", 2.5),
    ("2h30m", 2.5),
    ("1h 05min", 1 + 5 / 60),   # 1.0833...
    ("1h05", 1 + 5 / 60),
    ("45 min", 0.75),
    ("90m", 1.5),
    ("1,5h", 1.5),
    ("3600s", 1.0),             # not 360 minutes and 0 seconds
    ("PT2H30M", 2.5),           # ISO 8601, Clockify's API
    ("PT1H30M", 1.5),
    ("PT45M", 0.75),
    ("PT1H0M36S", 1.01),
    ("P1DT2H", 26.0),
    ("\u00a02h30\u00a0", 2.5),  # a no-break space around it, as spreadsheets leave them
])
def test_every_form_trackers_write(text: str, hours: float) -> None:
    assert hours_of(text) == pytest.approx(hours)


@pytest.mark.parametrize("text", ["", "h", "PT", "P", "abc", "2 30", "1:75", "2:3", "30 kg", "2h30h", "n/a",
                                  "2h90", "1h 60min", "0h75", "5 min 90 s"])
def test_anything_else_is_refused_with_the_accepted_forms(text: str) -> None:
    with pytest.raises(ValueError) as info:
        hours_of(text)
    assert "is not a duration" in str(info.value)
    assert "02:30:00" in str(info.value) and "2h30" in str(info.value) and "PT2H30M" in str(info.value)


def test_a_negative_duration_is_refused() -> None:
    with pytest.raises(ValueError, match="negative duration"):
        hours_of("-1:00")


# -- the csv source reading hours ------------------------------------------------------------
def fetch_time_entries(directory: Path, **options):
    source = CsvSource(CsvSource.Options(record="time_entry", **options), entry_id="time")
    period = Period(date(2026, 11, 16), date(2026, 11, 22), "Europe/Paris", unit="week")
    ctx = FetchContext(period.start_utc, period.end_utc, [period], directory, logging.getLogger("test.time"), [])
    (table,) = list(source.fetch(ctx))
    return table.conformed()


def test_the_csv_source_reads_hours_in_every_form(tmp_path: Path) -> None:
    """A French sheet: BOM, `;`, CRLF, a quoted task with a line break, durations of every kind."""
    (tmp_path / "temps.csv").write_bytes(
        ("\ufeffdate;person;task;hours\r\n"
         "17/11/2026;Léa;Visuel Noël;02:30:00\r\n"
         "17/11/2026;Léa;\"Article\nblog\";2,5\r\n"
         "18/11/2026;Hugo;Reel;2h30\r\n"
         "18/11/2026;Hugo;Modération;1h 05min\r\n"
         "19/11/2026;Léa;Vidéo;PT1H30M\r\n"
         "19/11/2026;Hugo;Mois;150:00:00\r\n"
         "20/11/2026;Hugo;Stories;45 min\r\n").encode("utf-8"))
    frame = fetch_time_entries(tmp_path, path="temps.csv", delimiter=";", decimal=",", date_format="%d/%m/%Y")
    assert frame["hours"].to_list() == pytest.approx([2.5, 2.5, 2.5, 1 + 5 / 60, 1.5, 150.0, 0.75])
    assert frame["task"].to_list()[1] == "Article\nblog"
    # 2.5 * 3 + 1.0833 + 1.5 + 150 + 0.75 = 160.8333...
    assert sum(frame["hours"].to_list()) == pytest.approx(160 + 5 / 6)


def test_the_csv_source_reads_hours_02_30_00(tmp_path: Path) -> None:
    """The issue's case: Toggl's `02:30:00` was "not a number"."""
    (tmp_path / "time.csv").write_text("date,hours\n2026-11-17,02:30:00\n", encoding="utf-8")
    assert fetch_time_entries(tmp_path, path="time.csv")["hours"].to_list() == [2.5]


def test_a_bad_duration_names_the_file_line_and_column(tmp_path: Path) -> None:
    (tmp_path / "time.csv").write_text("date,task,Durée\n2026-11-17,Reel,2h30\n2026-11-18,Story,deux heures\n",
                                       encoding="utf-8")
    with pytest.raises(DataFileError) as info:
        fetch_time_entries(tmp_path, path="time.csv", columns={"hours": "Durée"})
    message = str(info.value)
    assert "time.csv" in message and "line 3" in message and '"Durée"' in message
    assert 'value "deux heures" is not a duration' in message and "02:30:00" in message
    assert "Traceback" not in message and len(message.splitlines()) <= 12


def test_a_negative_duration_is_a_bad_row_and_skip_leaves_it_out(tmp_path: Path) -> None:
    (tmp_path / "time.csv").write_text("date,hours\n2026-11-17,-1:00\n2026-11-18,1:00\n", encoding="utf-8")
    with pytest.raises(DataFileError, match="line 2.*negative duration"):
        fetch_time_entries(tmp_path, path="time.csv")
    assert fetch_time_entries(tmp_path, path="time.csv", on_error="skip")["hours"].to_list() == [1.0]


def test_the_xlsx_source_reads_duration_cells(tmp_path: Path) -> None:
    """A sheet's [h]:mm:ss cell holds a fraction of days (02:30:00 is 0.104166...): its hours, not
    0.104 hours and not an error; a plain number stays hours."""
    import openpyxl
    from datetime import time, timedelta

    from cmflow.builtin.sources.xlsx_source import XlsxSource

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["date", "hours"])
    sheet.append(["2026-11-17", time(2, 30)])
    sheet.append(["2026-11-18", timedelta(hours=26, minutes=15)])  # over a day: [h]:mm:ss
    sheet.append(["2026-11-19", 0.75])
    sheet.append(["2026-11-20", "1h 05min"])
    sheet["B2"].number_format = "hh:mm:ss"
    sheet["B3"].number_format = "[h]:mm:ss"
    book.save(tmp_path / "temps.xlsx")
    source = XlsxSource(XlsxSource.Options(path="temps.xlsx", record="time_entry"), entry_id="time")
    period = Period(date(2026, 11, 16), date(2026, 11, 22), "UTC", unit="week")
    ctx = FetchContext(period.start_utc, period.end_utc, [period], tmp_path, logging.getLogger("test.time"), [])
    (table,) = list(source.fetch(ctx))
    assert table.conformed()["hours"].to_list() == pytest.approx([2.5, 26.25, 0.75, 1 + 5 / 60])


def test_minutes_past_60_after_hours_are_refused_as_a_clocks_are_but_alone_they_are_minutes():
    """``2h90`` is refused as ``0:75`` is (a typo for 2h09? 3h30?), rather than read as 3.5 hours."""
    for typo in ("2h90", "0:75"):
        with pytest.raises(ValueError, match="minutes"):
            hours_of(typo)
    assert hours_of("90 min") == pytest.approx(1.5)  # minutes alone may be 60 or more
    assert hours_of("2h59") == pytest.approx(2 + 59 / 60)
    assert hours_of("PT2H90M") == pytest.approx(3.5)  # ISO 8601 allows it, and machines write it
