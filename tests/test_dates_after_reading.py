"""Dates no export can hold: a day after the file was read (day and month swapped by a
spreadsheet that saved the file again, a wrong year), and February 29 in a year without one.

The files are in the shapes the platforms and spreadsheets write (Meta's Facebook posts export as
French Excel saves it again: `;`, CRLF, a caption over two lines, `Publish time` day first; TikTok
Studio's overview with dates without a year). Each test reads through the source's own entry point
with a run's context whose clock is 2026-12-07.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import polars as pl

from cmflow import FetchContext, Period
from cmflow.builtin.sources.csv_source import CsvSource
from cmflow.builtin.sources.export_source import ExportSource

CLOCK = datetime(2026, 12, 7, 9, 0, tzinfo=timezone.utc)
NOVEMBER = Period(date(2026, 11, 1), date(2026, 11, 30), "Europe/Paris", unit="month")
OCTOBER = Period(date(2026, 10, 1), date(2026, 10, 31), "Europe/Paris", label="previous_period", unit="month")


def fetch(source: Any, directory: Path, periods: list[Period], *, as_of_day: date | None = None,
          window_start: datetime | None = None) -> tuple[pl.DataFrame, list[str]]:
    """The records and the run-summary lines of one fetch, as the fetch stage makes its context
    (the window reaching further back than the periods, as a metric's baseline makes it)."""
    problems: list[str] = []
    ctx = FetchContext(window_start or min(p.start_utc for p in periods), max(p.end_utc for p in periods),
                       periods, directory, logging.getLogger("cmflow.test"), problems, as_of=CLOCK,
                       as_of_day=as_of_day or date(2026, 12, 7))
    (table,) = list(source.fetch(ctx))
    return table.conformed(), problems


# Meta's Facebook posts export, re-saved by French Excel: every day is 12 or less, so month first
# (Meta's own order) reads 3 March, 11 May and 11 December: four days after the file was read.
META_HEADER = ("Post ID;Page ID;Page name;Title;Description;Duration (sec);Publish time;Caption type;Permalink;"
               "Is crosspost;Is share;Post type;Languages;Custom labels;Funded content status;Data comment;Date;"
               "Views;Reach;Reactions, Comments and Shares;Reactions;Comments;Shares;Total clicks\r\n")
META_ROWS = [("10022330", "03/11/2026 10:00", "2652", "2352", "194", "153", "27", "14"),
             ("10122331", "05/11/2026 10:00", "2650", "2350", "190", "150", "26", "14"),
             ("10222332", "12/11/2026 10:00", "1551", "1277", "93", "71", "14", "8")]


def meta_resaved(directory: Path) -> Path:
    lines = [f'{pid};998877;Lumen Paris;Café été;"Légende {i}\r\nsur deux lignes";;{when};;'
             f"https://www.facebook.com/x/{i};No;No;Photos;;;;;Lifetime;{views};{reach};{sum_};{r};{c};{s};3\r\n"
             for i, (pid, when, views, reach, sum_, r, c, s) in enumerate(META_ROWS)]
    path = directory / "facebook-posts.csv"
    path.write_bytes(("\ufeff" + META_HEADER + "".join(lines)).encode("utf-8"))
    return path


def test_a_day_first_resave_whose_month_first_reading_is_after_the_reading_day_is_pointed_out(tmp_path: Path) -> None:
    """The month-first reading has 11 May in the trend's history (a period of the run), so "none
    in the periods" did not hold; its 11 December is after the day the file was read: the warning
    names the order to set, and is said once (not again as a record dated after that day)."""
    meta_resaved(tmp_path)
    history = [NOVEMBER.history(7)[-1], Period(date(2026, 5, 1), date(2026, 5, 31), "Europe/Paris", unit="month")]
    source = ExportSource(ExportSource.Options(path="facebook-posts.csv"), entry_id="x")
    frame, problems = fetch(source, tmp_path, [NOVEMBER, OCTOBER, *history],
                            window_start=datetime(2026, 3, 30, 22, tzinfo=timezone.utc))
    assert frame.height == 3
    swapped = [p for p in problems if "other way round" in p]
    assert len(swapped) == 1, problems
    assert 'column "Publish time"' in swapped[0] and "1 date(s)" in swapped[0]
    assert 'date_order = "day_first"' in swapped[0]
    assert not [p for p in problems if "the latest day the file can hold" in p]
    assert getattr(swapped[0], "code", None) == "day_month_after_reading"  # the run ends `warning`


def test_read_day_first_the_same_file_has_no_warning_and_its_figures(tmp_path: Path) -> None:
    meta_resaved(tmp_path)
    source = ExportSource(ExportSource.Options(path="facebook-posts.csv", date_order="day_first"), entry_id="x")
    frame, problems = fetch(source, tmp_path, [NOVEMBER, OCTOBER])
    assert not [p for p in problems if "other way round" in p or "can hold" in p], problems
    assert frame["reach"].sum() == 2352 + 2350 + 1277
    assert sorted(d.day for d in frame["published_at"].to_list()) == [3, 5, 12]


POSTS = ("post_id,platform,account,published_at,likes,reach\n"
         "p1,instagram,lumen,2026-11-03 10:00,10,500\n"
         "p2,instagram,lumen,2027-11-10 10:00,20,600\n"
         "p3,instagram,lumen,2026-12-08 23:30,5,100\n")


def test_records_dated_after_the_day_the_file_was_read_are_a_warning_naming_lines(tmp_path: Path) -> None:
    """p2 is eleven months ahead (a wrong year); p3 is the next day late at night, within the day
    of slack for time zones, and not named."""
    (tmp_path / "posts.csv").write_text(POSTS)
    source = CsvSource(CsvSource.Options(path="posts.csv", datetime_format="%Y-%m-%d %H:%M"), entry_id="p")
    frame, problems = fetch(source, tmp_path, [NOVEMBER])
    assert frame.height == 3
    (late,) = [p for p in problems if "can hold" in p]
    assert late.startswith('posts.csv: 1 record(s) in column "published_at" dated after 2026-12-07')
    assert "line 3 (2027-11-10)" in late and "line 4" not in late
    assert "a wrong year" in late and getattr(late, "code", None) == "dates_after_reading"


def test_a_run_dated_later_with_as_of_takes_the_as_of_day_as_the_reading_day(tmp_path: Path) -> None:
    (tmp_path / "posts.csv").write_text(POSTS)
    source = CsvSource(CsvSource.Options(path="posts.csv", datetime_format="%Y-%m-%d %H:%M"), entry_id="p")
    _, problems = fetch(source, tmp_path, [NOVEMBER], as_of_day=date(2027, 12, 1))
    assert not [p for p in problems if "can hold" in p], problems


def test_planned_calendar_items_may_be_dated_ahead(tmp_path: Path) -> None:
    (tmp_path / "plan.csv").write_text("item_id,planned_at,title,platform\nc1,2027-01-15 10:00,Soldes,instagram\n")
    source = CsvSource(CsvSource.Options(path="plan.csv", record="calendar_item", datetime_format="%Y-%m-%d %H:%M"),
                       entry_id="c")
    frame, problems = fetch(source, tmp_path, [NOVEMBER])
    assert frame.height == 1 and not problems


# TikTok Studio's overview: dates without a year, oldest first.
TIKTOK = ('\ufeff"Date","Video Views","Profile Views","Likes","Comments","Shares"\n'
          '"February 28","10","1","1","0","0"\n"February 29","11","1","1","0","0"\n"March 1","12","1","1","0","0"\n')


def test_february_29_takes_its_neighbours_in_date_order_to_the_leap_year(tmp_path: Path) -> None:
    """Read on 2026-12-07, the three days in order are one run: 2026 has no February 29, so all
    three are in 2024 (never 28 February and 1 March in 2026 with the 29th in 2024)."""
    (tmp_path / "Overview.csv").write_text(TIKTOK, encoding="utf-8")
    source = ExportSource(ExportSource.Options(path="Overview.csv", account="lumen"), entry_id="t")
    spring = Period(date(2026, 2, 1), date(2026, 3, 31), "Europe/Paris")
    frame, _ = fetch(source, tmp_path, [spring])
    days = dict(zip(frame["date"].to_list(), frame["video_views"].to_list()))
    assert days == {date(2024, 2, 28): 10, date(2024, 2, 29): 11, date(2024, 3, 1): 12}


def test_february_29_across_a_new_year_keeps_the_years_in_step(tmp_path: Path) -> None:
    """December 30 .. March 1 read on 2026-12-07 would be 2025-26; the 29th needs 2024, so the run
    of days is 2023-12-30 .. 2024-03-01."""
    text = TIKTOK.replace('"February 28"', '"December 30","1","1","1","0","0"\n"January 2"')
    (tmp_path / "Overview.csv").write_text(text, encoding="utf-8")
    source = ExportSource(ExportSource.Options(path="Overview.csv", account="lumen"), entry_id="t")
    frame, _ = fetch(source, tmp_path, [Period(date(2024, 1, 1), date(2024, 3, 31), "Europe/Paris")])
    assert sorted(frame["date"].to_list()) == [date(2023, 12, 30), date(2024, 1, 2), date(2024, 2, 29),
                                               date(2024, 3, 1)]


def excel_overview(directory: Path, written: str) -> None:
    """TikTok's overview as US Excel saves it again: no quotes, CRLF, dates October 20 to
    November 28 written ``written`` (a strftime format)."""
    from datetime import timedelta

    days = [date(2026, 10, 20) + timedelta(days=i) for i in range(40)]
    rows = [f"{day.strftime(written).lstrip('0')},{100 + i},3,10,1,2" for i, day in enumerate(days)]
    text = "Date,Video Views,Profile Views,Likes,Comments,Shares\r\n" + "\r\n".join(rows) + "\r\n"
    (directory / "Overview.csv").write_bytes(text.encode("utf-8"))


def test_excel_d_mmm_dates_of_a_resaved_overview_read_with_the_years_inferred(tmp_path: Path) -> None:
    """`18-Nov` (Excel's d-mmm) reads as TikTok's `November 18` does: read on 2026-12-07, 2026."""
    excel_overview(tmp_path, "%d-%b")
    source = ExportSource(ExportSource.Options(path="Overview.csv", account="lumen"), entry_id="t")
    frame, problems = fetch(source, tmp_path, [NOVEMBER])
    assert frame.height == 40 and not problems
    assert min(frame["date"]) == date(2026, 10, 20) and max(frame["date"]) == date(2026, 11, 28)
    november = frame.filter(pl.col("date") >= date(2026, 11, 1))
    assert november["video_views"].sum() == sum(100 + i for i in range(12, 40))


def test_many_rows_failing_alike_take_a_few_lines_and_the_advice_once(tmp_path: Path) -> None:
    """40 dates in a form no format reads (`20/Oct`): the first row in full, two more by place and
    value, then a count; the advice once, every row in the list file."""
    import pytest

    from cmflow import DataFileError

    excel_overview(tmp_path, "%d/%b")
    source = ExportSource(ExportSource.Options(path="Overview.csv", account="lumen"), entry_id="t")
    with pytest.raises(DataFileError) as info:
        fetch(source, tmp_path, [NOVEMBER])
    details = list(info.value.details)
    assert details[0].startswith('line 2, date "20/Oct", column 1 "Date": value "20/Oct" is not a date')
    assert details[1:] == ['line 3, date "21/Oct": value "21/Oct"', 'line 4, date "22/Oct": value "22/Oct"',
                           "also lines 5\u201341 like these (37 more)"]
    assert "every one is listed in" in str(info.value)
    assert (tmp_path / "bad-rows" / "Overview.csv.bad-rows.csv").read_text("utf-8-sig").count("\n") == 41


def test_a_period_that_starts_after_the_runs_today_is_a_warning(tmp_path: Path, write_workflow, store_url: str) -> None:
    """November 2027 run on 2026-12-07: a warning naming the period and the day; November 2026 none."""
    from cmflow.testing import run_workflow_file

    (tmp_path / "posts.csv").write_text(POSTS)
    workflow = write_workflow(f"""
[workflow]
name = "Ahead"
timezone = "Europe/Paris"
period = "2027-11-01..2027-11-30"

[[sources]]
id = "p"
plugin = "csv"
path = "posts.csv"
datetime_format = "%Y-%m-%d %H:%M"
""")
    result = run_workflow_file(workflow, store_url=store_url, dry_run=True, now=CLOCK)
    ahead = [w for w in result.warnings if getattr(w, "code", None) == "period_after_as_of"]
    assert len(ahead) == 1 and "the period 2027-11-01..2027-11-30 starts after 2026-12-07" in ahead[0]
    result = run_workflow_file(workflow, store_url=store_url, dry_run=True, now=CLOCK, period="2026-11-01..2026-11-30")
    assert not [w for w in result.warnings if getattr(w, "code", None) == "period_after_as_of"]


def test_a_re_run_with_an_earlier_as_of_takes_a_file_downloaded_today_as_it_is(tmp_path: Path) -> None:
    """October re-run on 2026-12-07 with ``--as-of 2026-11-01``: the file was downloaded today and
    runs to December 6 with its years written out; the 31-day cap of guessing years (December 2)
    is no limit on what a file holds, so no date is impossible."""
    rows = "".join(f"p{d},instagram,lumen,2026-{m:02d}-{d:02d} 10:00,1,10\n" for m, d in ((10, 3), (11, 20), (12, 6)))
    (tmp_path / "posts.csv").write_text("post_id,platform,account,published_at,likes,reach\n" + rows)
    source = CsvSource(CsvSource.Options(path="posts.csv", datetime_format="%Y-%m-%d %H:%M"), entry_id="p")
    frame, problems = fetch(source, tmp_path, [OCTOBER], as_of_day=date(2026, 11, 1))
    assert frame.height == 3 and not problems, problems


def test_a_calendar_planned_ahead_month_first_with_days_up_to_12_has_no_day_month_warning(tmp_path: Path) -> None:
    """December planned on December 7, month first as declared, every day 12 or less: the items
    after the reading day are planned, not a sign that day and month are swapped (the advice to
    read them day first would put them in January to November)."""
    rows = "".join(f"c{d},12/{d:02d}/2026 10:00,Advent {d},instagram\n" for d in (1, 4, 8, 9, 10, 11))
    (tmp_path / "plan.csv").write_text("item_id,planned_at,title,platform\n" + rows)
    source = CsvSource(CsvSource.Options(path="plan.csv", record="calendar_item", datetime_format="%m/%d/%Y %H:%M"),
                       entry_id="c")
    december = Period(date(2026, 12, 1), date(2026, 12, 31), "America/New_York", unit="month")
    frame, problems = fetch(source, tmp_path, [december])
    assert frame.height == 6 and not problems, problems
    assert sorted(d.day for d in frame["planned_at"].to_list()) == [1, 4, 8, 9, 10, 11]


AMBIGUOUS_FR = [("10022330", "03/10/2026 10:00"), ("10022331", "08/10/2026 10:00"), ("10022332", "05/11/2026 10:00"),
                ("10022333", "09/11/2026 10:00"), ("10022334", "02/12/2026 10:00")]


def test_a_day_first_resave_with_no_day_after_the_12th_or_the_reading_day_is_a_warning(tmp_path: Path) -> None:
    """Posts of October 3 and 8, November 5 and 9, December 2, re-saved day first: month first
    none is in November or October (and none after the reading day), day first four are: a
    warning of the run, not 0 posts without a word."""
    rows = [(pid, when, "2652", "2352", "194", "153", "27", "14") for pid, when in AMBIGUOUS_FR]
    lines = [f'{pid};998877;Lumen Paris;Café;"Légende {i}\r\nsur deux lignes";;{when};;'
             f"https://www.facebook.com/x/{i};No;No;Photos;;;;;Lifetime;{v};{r};{t};{a};{c};{s};3\r\n"
             for i, (pid, when, v, r, t, a, c, s) in enumerate(rows)]
    (tmp_path / "facebook-posts.csv").write_bytes(("\ufeff" + META_HEADER + "".join(lines)).encode("utf-8"))
    source = ExportSource(ExportSource.Options(path="facebook-posts.csv"), entry_id="x")
    _, problems = fetch(source, tmp_path, [NOVEMBER, OCTOBER])
    (swapped,) = [p for p in problems if "other way round" in p]
    assert getattr(swapped, "code", None) == "day_month_outside_periods"  # the run ends `warning`
    assert '0 of 5 date(s) in column "Publish time"' in swapped and "4 when read as" in swapped
    assert 'date_order = "day_first"' in swapped


def test_february_29_apart_from_its_neighbours_in_a_file_in_no_date_order_is_a_warning(tmp_path: Path) -> None:
    """March 1, February 28, February 29: in no date order, each date takes its year on its own,
    the 29th 2024 and the others 2026; the warning names its line and default_year."""
    rows = '"March 1","12","1","1","0","0"\n"February 28","10","1","1","0","0"\n"February 29","11","1","1","0","0"\n'
    (tmp_path / "Overview.csv").write_text(TIKTOK.split("\n")[0] + "\n" + rows, encoding="utf-8")
    source = ExportSource(ExportSource.Options(path="Overview.csv", account="lumen"), entry_id="t")
    frame, problems = fetch(source, tmp_path, [Period(date(2026, 2, 1), date(2026, 3, 31), "Europe/Paris")])
    assert frame.height == 3
    (apart,) = [p for p in problems if "February 29" in p]
    assert "line 4" in apart and "read in 2024" in apart and "default_year = 2024" in apart
    assert getattr(apart, "code", None) == "leap_day_apart"


def test_february_29_with_a_default_year_or_in_date_order_is_no_warning(tmp_path: Path) -> None:
    (tmp_path / "Overview.csv").write_text(TIKTOK, encoding="utf-8")
    source = ExportSource(ExportSource.Options(path="Overview.csv", account="lumen"), entry_id="t")
    _, problems = fetch(source, tmp_path, [Period(date(2024, 2, 1), date(2024, 3, 31), "Europe/Paris")])
    assert not [p for p in problems if "February 29" in p], problems


AHEAD = """
[workflow]
name = "Ahead"
timezone = "Europe/Paris"
period = "2026-11-01..2026-11-30"
{as_of}

[[sources]]
id = "p"
plugin = "csv"
path = "posts.csv"
datetime_format = "%Y-%m-%d %H:%M"
"""


def test_an_as_of_day_far_after_the_clock_is_a_warning(tmp_path: Path, write_workflow, store_url: str) -> None:
    """--as-of 2027-01-20 on a clock of 2026-12-07: a warning naming both days; the next day is
    slack, and a workflow pinned to a later as_of (a golden case) is taken at its word."""
    from cmflow.runner import run_workflow
    from cmflow.store import open_store
    from cmflow.workflow import load_workflow

    (tmp_path / "posts.csv").write_text(POSTS)

    def warned(as_of: date | None, pinned: str = "") -> list[str]:
        workflow = load_workflow(write_workflow(AHEAD.format(as_of=pinned)))
        with open_store(store_url) as store:
            result = run_workflow(workflow, store=store, dry_run=True, now=CLOCK, as_of=as_of)
        return [w for w in result.warnings if getattr(w, "code", None) == "as_of_after_clock"]

    (ahead,) = warned(date(2027, 1, 20))
    assert "the as-of day 2027-01-20 is after 2026-12-07" in ahead
    assert not warned(date(2026, 12, 8))
    assert not warned(None, 'as_of = "2027-01-20"')


def test_a_period_in_the_future_is_no_past_period(tmp_path: Path, write_workflow, store_url: str) -> None:
    """December 2027 stored by mistake, then November 2027 run on 2026-12-07: a period ahead is
    no back-fill (no "(A past period ...)"); November 2026 is one."""
    from cmflow.testing import run_workflow_file

    (tmp_path / "posts.csv").write_text(POSTS)
    workflow = write_workflow(AHEAD.format(as_of=""))
    run_workflow_file(workflow, store_url=store_url, now=CLOCK, period="2027-12-01..2027-12-31")
    assert not run_workflow_file(workflow, store_url=store_url, dry_run=True, now=CLOCK,
                                 period="2027-11-01..2027-11-30").past_period
    assert run_workflow_file(workflow, store_url=store_url, dry_run=True, now=CLOCK,
                             period="2026-11-01..2026-11-30").past_period
