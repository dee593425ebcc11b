"""A file rewritten while a source reads it (a download or a sync still writing) is an error
naming the file, never a silent mix of two versions or a cut row blamed on the file's quoting.

The writer is a real second process (the fault needs one: another writer of the file), started
before the read and writing the whole time the source reads: each test waits for its first write,
reads through the source's own entry point, then stops it.
"""

from __future__ import annotations

import logging
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from cmflow import DataFileError, FetchContext, Period
from cmflow.builtin.sources.csv_source import CsvSource
from cmflow.builtin.sources.xlsx_source import XlsxSource

HEADER = "post_id,platform,account,published_at,likes,reach\n"
ROW = "p{i},instagram,lumen,2026-11-{day:02d} 10:00,{likes},{reach}\n"
APPENDING = """
import sys, time
path = sys.argv[1]
with open(path, "a", encoding="utf-8") as out:
    i = 0
    while True:
        out.write(f"late{i},instagram,lumen,2026-11-20 10:00,1,10\\n")
        out.flush()
        if i == 0:
            print("writing", flush=True)
        i += 1
        time.sleep(0.001)
"""
REWRITING = """
import sys
path, data = sys.argv[1], open(sys.argv[1], "rb").read()
first = True
while True:
    with open(path, "wb") as out:  # truncated, then written again: as a sync client replaces a file
        out.write(data[: len(data) // 2])
        out.flush()
        out.write(data[len(data) // 2:])
    if first:
        print("writing", flush=True)
        first = False
"""
TRUNCATED_THEN_WRITTEN = """
import sys, time
path, data = sys.argv[1], open(sys.argv[1], "rb").read()
open(path, "wb").close()  # truncated: as a sync client or a spreadsheet starts replacing the file
print("writing", flush=True)
time.sleep(0.1)
with open(path, "wb") as out:
    out.write(data)
time.sleep(60)
"""
TOUCHING = """
import os, sys, time
path = sys.argv[1]
print("writing", flush=True)
time.sleep(0.02)
status = os.stat(path)
os.utime(path, ns=(status.st_atime_ns, status.st_mtime_ns + 1_000_000_000))  # as a sync client or antivirus does
time.sleep(60)
"""


def context(directory: Path) -> FetchContext:
    period = Period(date(2026, 11, 1), date(2026, 11, 30), "UTC", unit="month")
    return FetchContext(period.start_utc, period.end_utc, [period], directory, logging.getLogger("cmflow.test"), [])


def while_written(script: str, path: Path, read) -> DataFileError | None:
    """Run ``read()`` while a second process runs ``script`` on ``path``; the error it raised, if any."""
    writer = subprocess.Popen([sys.executable, "-c", script, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "writing"
        try:
            read()
        except DataFileError as exc:
            return exc
        return None
    finally:
        writer.kill()
        writer.wait()


@pytest.mark.parametrize("attempt", range(2))
def test_a_csv_export_appended_to_while_read_is_an_error(tmp_path: Path, attempt: int) -> None:
    """40,000 posts (about 2 MB): the read takes far longer than the writer's millisecond between lines."""
    rows = "".join(ROW.format(i=i, day=1 + i % 28, likes=i % 50, reach=100 + i % 900) for i in range(40_000))
    (tmp_path / "posts.csv").write_text(HEADER + rows, encoding="utf-8")
    source = CsvSource(CsvSource.Options(path="posts.csv", datetime_format="%Y-%m-%d %H:%M"), entry_id="p")
    error = while_written(APPENDING, tmp_path / "posts.csv", lambda: list(source.fetch(context(tmp_path))))
    assert error is not None, "read to the end without noticing the writer"
    message = str(error)
    assert message.startswith(f"{tmp_path / 'posts.csv'}: it changed while cmflow read it (")
    assert "a download or a sync still writing it? run again when it is complete" in message


def test_a_workbook_saved_over_while_read_is_an_error(tmp_path: Path) -> None:
    """5,000 posts: the writer truncates the workbook and writes it again without a pause."""
    import xlsxwriter

    book = xlsxwriter.Workbook(str(tmp_path / "posts.xlsx"))
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, ["post_id", "platform", "account", "published_at", "likes", "reach"])
    for i in range(1, 5_001):
        sheet.write_row(i, 0, [f"p{i}", "instagram", "lumen", "2026-11-17 10:00", i % 50, 100 + i % 900])
    book.close()
    source = XlsxSource(XlsxSource.Options(path="posts.xlsx", datetime_format="%Y-%m-%d %H:%M"), entry_id="x")
    error = while_written(REWRITING, tmp_path / "posts.xlsx", lambda: list(source.fetch(context(tmp_path))))
    assert error is not None, "read to the end without noticing the writer"
    assert "it changed while cmflow read it" in str(error) and str(tmp_path / "posts.xlsx") in str(error)


def test_a_json_export_saved_over_while_read_is_an_error(tmp_path: Path) -> None:
    """5,000 posts as a JSON array: the writer truncates it and writes it again without a pause."""
    import json

    from cmflow.builtin.sources.json_source import JsonSource

    items = [{"post_id": f"p{i}", "platform": "instagram", "account": "lumen", "published_at": "2026-11-17 10:00",
              "likes": i % 50, "reach": 100 + i % 900} for i in range(5_000)]
    (tmp_path / "posts.json").write_text(json.dumps(items), encoding="utf-8")
    source = JsonSource(JsonSource.Options(path="posts.json", datetime_format="%Y-%m-%d %H:%M"), entry_id="j")
    error = while_written(REWRITING, tmp_path / "posts.json", lambda: list(source.fetch(context(tmp_path))))
    assert error is not None, "read to the end without noticing the writer"
    assert "it changed while cmflow read it" in str(error) and str(tmp_path / "posts.json") in str(error)


def test_an_ics_calendar_saved_over_while_read_is_an_error(tmp_path: Path) -> None:
    """A calendar of 5,000 events: the writer truncates it and writes it again without a pause."""
    from cmflow.builtin.sources.ics import IcsSource

    events = "".join(f"BEGIN:VEVENT\r\nUID:e{i}@agency\r\nDTSTART:20261117T100000Z\r\nSUMMARY:Post {i}\r\n"
                     "END:VEVENT\r\n" for i in range(5_000))
    (tmp_path / "plan.ics").write_text(f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\n{events}"
                                       "END:VCALENDAR\r\n", encoding="utf-8")
    source = IcsSource(IcsSource.Options(path="plan.ics"), entry_id="c")
    error = while_written(REWRITING, tmp_path / "plan.ics", lambda: list(source.fetch(context(tmp_path))))
    assert error is not None, "read to the end without noticing the writer"
    assert "it changed while cmflow read it" in str(error) and str(tmp_path / "plan.ics") in str(error)


def test_a_file_left_alone_reads_as_before(tmp_path: Path) -> None:
    (tmp_path / "posts.csv").write_text(HEADER + ROW.format(i=1, day=3, likes=4, reach=50), encoding="utf-8")
    source = CsvSource(CsvSource.Options(path="posts.csv", datetime_format="%Y-%m-%d %H:%M"), entry_id="p")
    (table,) = list(source.fetch(context(tmp_path)))
    assert table.conformed()["likes"].to_list() == [4]


def test_a_csv_export_only_touched_while_read_is_read_again(tmp_path: Path) -> None:
    """A second process moves the modification time once, 20 ms into a read of 40,000 posts
    (a sync client, an antivirus): the file settles, is read again whole, and no error."""
    rows = "".join(ROW.format(i=i, day=1 + i % 28, likes=1, reach=100) for i in range(40_000))
    (tmp_path / "posts.csv").write_text(HEADER + rows, encoding="utf-8")
    source = CsvSource(CsvSource.Options(path="posts.csv", datetime_format="%Y-%m-%d %H:%M"), entry_id="p")
    tables: list = []
    error = while_written(TOUCHING, tmp_path / "posts.csv", lambda: tables.extend(source.fetch(context(tmp_path))))
    assert error is None, str(error)
    assert tables[0].conformed()["likes"].sum() == 40_000


def test_an_export_empty_for_a_moment_is_read_once_written(tmp_path: Path) -> None:
    """A second process truncates the file, then writes it whole 100 ms later (the read, its
    imports warmed by a first read, takes a few ms): the read that found it empty waits for it to
    stand still and reads it, rather than calling the export empty."""
    rows = "".join(ROW.format(i=i, day=1 + i % 28, likes=1, reach=100) for i in range(500))
    (tmp_path / "posts.csv").write_text(HEADER + rows, encoding="utf-8")
    source = CsvSource(CsvSource.Options(path="posts.csv", datetime_format="%Y-%m-%d %H:%M"), entry_id="p")
    assert len(list(source.fetch(context(tmp_path)))) == 1  # imports warmed
    tables: list = []
    error = while_written(TRUNCATED_THEN_WRITTEN, tmp_path / "posts.csv",
                          lambda: tables.extend(source.fetch(context(tmp_path))))
    assert error is None, str(error)
    assert tables[0].conformed()["likes"].sum() == 500
