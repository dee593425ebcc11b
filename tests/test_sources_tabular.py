"""The ``csv`` and ``json`` sources on real files: mapping, locale-formatted numbers and dates,
and errors that name the file, the row and the column.

Sources are called directly with a :class:`cmflow.FetchContext` built as the runner builds it;
one test at the end goes through a whole run to check problems reach the run's stage report.
"""

from __future__ import annotations

import json
import logging
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from cmflow import FetchContext, Period, RecordTable
from cmflow.builtin.sources.csv_source import CsvSource
from cmflow.builtin.sources.json_source import JsonSource
from cmflow.builtin.sources.tabular import DataFileError
from cmflow.testing import run_workflow_file

UTC = timezone.utc
HEADER = "platform,account,post_id,published_at,likes"


def fetch(source_class: type, directory: Path, *, workflow_tz: str = "UTC",
          problems: list[str] | None = None, **options: Any) -> pl.DataFrame:
    """Run one source's fetch() against files in ``directory``; return its canonical frame."""
    source = source_class(source_class.Options(**options), entry_id="src")
    period = Period(date(2026, 11, 16), date(2026, 11, 22), workflow_tz, unit="week")
    ctx = FetchContext(period.start_utc, period.end_utc, [period], directory,
                       logging.getLogger("cmflow.test"), problems if problems is not None else [])
    tables = list(source.fetch(ctx))
    assert len(tables) == 1 and isinstance(tables[0], RecordTable)
    assert tables[0].kind == options.get("record", "post")
    return tables[0].conformed()


def write(directory: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = directory / name
    path.write_bytes(text.encode(encoding))
    return path


def fetch_error(source_class: type, directory: Path, **options: Any) -> str:
    """The message of the DataFileError a fetch raises."""
    return str(fetch_failure(source_class, directory, **options))


def fetch_failure(source_class: type, directory: Path, **options: Any) -> DataFileError:
    """The DataFileError a fetch raises: its message and its details (a bad row each)."""
    with pytest.raises(DataFileError) as info:
        fetch(source_class, directory, **options)
    return info.value


# -- mapping ---------------------------------------------------------------------------------
def test_csv_maps_columns_constants_and_values(tmp_path: Path) -> None:
    write(tmp_path, "export.csv",
          "Page,Post ID,Publish time,Likes,Post type,reach,Ignored\n"
          "Brand,p1,2026-11-17T10:00:00Z,12,IG reel,300,x\n"
          "Brand,p2,2026-11-18T10:00:00Z,,Story,,y\n")
    frame = fetch(CsvSource, tmp_path, path="export.csv",
                  columns={"account": "Page", "post_id": "Post ID", "published_at": "Publish time",
                           "likes": "Likes", "format": "Post type"},
                  constants={"platform": "Instagram"},
                  values={"format": {"IG reel": "reel"}})
    assert frame.columns == list(RecordTable.from_rows("post", []).frame.columns)
    rows = frame.to_dicts()
    assert [r["post_id"] for r in rows] == ["p1", "p2"]
    assert [r["platform"] for r in rows] == ["instagram", "instagram"]  # constants are lower-cased too
    assert [r["format"] for r in rows] == ["reel", "Story"]  # unlisted values are kept
    assert [r["likes"] for r in rows] == [12, None]  # empty is missing, not 0
    assert [r["reach"] for r in rows] == [300, None]  # read from the column with the canonical name
    assert rows[0]["published_at"] == datetime(2026, 11, 17, 10, tzinfo=UTC)
    assert rows[0]["comments"] is None  # no column at all: missing


def test_platform_is_lower_cased_and_values_are_trimmed(tmp_path: Path) -> None:
    write(tmp_path, "posts.csv", f"{HEADER}\n Instagram , a ,1,2026-11-17T10:00:00Z, 7 \n"
                                 "FACEBOOK,b,2,2026-11-17T10:00:00Z,8\n")
    frame = fetch(CsvSource, tmp_path, path="posts.csv")
    assert frame["platform"].to_list() == ["instagram", "facebook"]
    assert frame["account"].to_list() == ["a", "b"]
    assert frame["likes"].to_list() == [7, 8]


def test_values_mapping_applies_before_platform_is_lower_cased(tmp_path: Path) -> None:
    write(tmp_path, "posts.csv", f"{HEADER}\nIG,a,1,2026-11-17T10:00:00Z,1\n")
    frame = fetch(CsvSource, tmp_path, path="posts.csv", values={"platform": {"IG": "Instagram"}})
    assert frame["platform"].to_list() == ["instagram"]


# -- date-times ------------------------------------------------------------------------------
@pytest.mark.parametrize("text, options, expected", [
    # Naive local times are in the source's time zone, then stored in UTC.
    ("2026-11-17 10:00", {"timezone": "Europe/Paris"}, datetime(2026, 11, 17, 9, 0)),
    ("2026-07-17 10:00", {"timezone": "Europe/Paris"}, datetime(2026, 7, 17, 8, 0)),  # summer time
    ("2026-11-17T10:00", {"timezone": "America/Montreal"}, datetime(2026, 11, 17, 15, 0)),
    ("2026-11-17T10:00:00", {}, datetime(2026, 11, 17, 10, 0)),
    ("2026-11-17", {"timezone": "Europe/Paris"}, datetime(2026, 11, 16, 23, 0)),  # local midnight
    # The earlier of two instants when the clock goes back (02:30 happens twice on 25 Oct).
    ("2026-10-25 02:30", {"timezone": "Europe/Paris"}, datetime(2026, 10, 25, 0, 30)),
    # An explicit offset wins over the time zone option.
    ("2026-11-17T10:00:00+02:00", {"timezone": "Europe/Paris"}, datetime(2026, 11, 17, 8, 0)),
    ("2026-11-17T10:00:00-05:00", {}, datetime(2026, 11, 17, 15, 0)),
    ("2026-11-17 10:00:00+0100", {}, datetime(2026, 11, 17, 9, 0)),
    ("2026-11-17T10:00:00Z", {"timezone": "Europe/Paris"}, datetime(2026, 11, 17, 10, 0)),
    ("2026-11-17T10:00:00.250Z", {}, datetime(2026, 11, 17, 10, 0, 0, 250000)),
    # Custom formats, tried in order.
    ("17/11/2026 10:00", {"timezone": "Europe/Paris", "datetime_format": "%d/%m/%Y %H:%M"},
     datetime(2026, 11, 17, 9, 0)),
    ("11/17/2026 10:00", {"datetime_format": ["%d/%m/%Y %H:%M", "%m/%d/%Y %H:%M"]},
     datetime(2026, 11, 17, 10, 0)),
])
def test_datetimes_are_parsed_to_utc(tmp_path: Path, text: str, options: dict, expected: datetime) -> None:
    write(tmp_path, "posts.csv", f"{HEADER}\ninstagram,a,1,\"{text}\",1\n")
    frame = fetch(CsvSource, tmp_path, path="posts.csv", **options)
    assert frame.schema["published_at"] == pl.Datetime("us", "UTC")
    assert frame["published_at"].to_list() == [expected.replace(tzinfo=UTC)]


def test_naive_datetimes_default_to_the_workflow_time_zone(tmp_path: Path) -> None:
    write(tmp_path, "posts.csv", f"{HEADER}\ninstagram,a,1,2026-11-17 10:00,1\n")
    paris = fetch(CsvSource, tmp_path, path="posts.csv", workflow_tz="Europe/Paris")
    tokyo = fetch(CsvSource, tmp_path, path="posts.csv", workflow_tz="Asia/Tokyo")
    assert paris["published_at"].to_list() == [datetime(2026, 11, 17, 9, 0, tzinfo=UTC)]
    assert tokyo["published_at"].to_list() == [datetime(2026, 11, 17, 1, 0, tzinfo=UTC)]


def test_dates_of_daily_records_with_a_custom_format(tmp_path: Path) -> None:
    write(tmp_path, "audience.csv", "platform,account,date,followers\n"
                                    "instagram,a,21/11/2026,1 200\ninstagram,a,22/11/2026,1 250\n")
    frame = fetch(CsvSource, tmp_path, path="audience.csv", record="account_snapshot",
                  date_format="%d/%m/%Y")
    assert frame["date"].to_list() == [date(2026, 11, 21), date(2026, 11, 22)]
    assert frame["followers"].to_list() == [1200, 1250]


# -- numbers ---------------------------------------------------------------------------------
@pytest.mark.parametrize("text, options, expected", [
    ("1234", {}, 1234),
    ("1 234", {}, 1234),                  # a plain space
    ("1\u00a0234", {}, 1234),             # non-breaking space (Excel, LinkedIn FR)
    ("1\u202f234", {}, 1234),             # narrow no-break space (French locale since 2017)
    ("1 234 567", {"thousands": " "}, 1234567),
    ("1.234", {"decimal": ",", "thousands": "."}, 1234),
    ("1,234", {"thousands": ","}, 1234),
    ("12,0", {"decimal": ","}, 12),
])
def test_counters_with_thousands_separators(tmp_path: Path, text: str, options: dict, expected: int) -> None:
    write(tmp_path, "posts.csv", f"{HEADER}\ninstagram,a,1,2026-11-17T10:00:00Z,\"{text}\"\n")
    frame = fetch(CsvSource, tmp_path, path="posts.csv", **options)
    assert frame["likes"].to_list() == [expected]


@pytest.mark.parametrize("hours, cost, options, expected", [
    ("1,5", "1 234,56", {"decimal": ","}, (1.5, 1234.56)),
    ("4,52 %", "1\u202f234,5", {"decimal": ","}, (4.52, 1234.5)),  # percent sign dropped
    ("4,52%", "1.234,5", {"decimal": ",", "thousands": "."}, (4.52, 1234.5)),
    ("2.25", "1,234.5", {"thousands": ","}, (2.25, 1234.5)),
])
def test_decimal_numbers_in_french_and_english_forms(tmp_path: Path, hours: str, cost: str,
                                                     options: dict, expected: tuple) -> None:
    write(tmp_path, "time.csv", f"date;hours;cost\n2026-11-17;{hours};{cost}\n")
    frame = fetch(CsvSource, tmp_path, path="time.csv", record="time_entry", delimiter=";", **options)
    assert (frame["hours"][0], frame["cost"][0]) == pytest.approx(expected)


# -- CSV dialect -----------------------------------------------------------------------------
def test_semicolon_delimiter_and_utf8_bom(tmp_path: Path) -> None:
    """French Excel writes ';' and a byte-order mark, which must not stick to the first header."""
    write(tmp_path, "fr.csv", "\ufeffplatform;account;post_id;published_at;likes;text\n"
                              "linkedin;Boulangerie Émile;1;2026-11-17T10:00:00Z;1 234;Crème brûlée, enfin\n",
          encoding="utf-8")
    frame = fetch(CsvSource, tmp_path, path="fr.csv", delimiter=";")
    row = frame.row(0, named=True)
    assert (row["platform"], row["account"], row["likes"]) == ("linkedin", "Boulangerie Émile", 1234)
    assert row["text"] == "Crème brûlée, enfin"


def test_quoted_fields_with_commas_quotes_and_newlines(tmp_path: Path) -> None:
    write(tmp_path, "posts.csv",
          "platform,account,post_id,published_at,likes,text\n"
          'instagram,a,1,2026-11-17T10:00:00Z,5,"Hello, world"\n'
          'instagram,a,2,2026-11-17T11:00:00Z,6,"She said ""bonjour"""\n'
          'instagram,a,3,2026-11-17T12:00:00Z,7,"line one\nline two"\n')
    frame = fetch(CsvSource, tmp_path, path="posts.csv")
    assert frame["text"].to_list() == ["Hello, world", 'She said "bonjour"', "line one\nline two"]
    assert frame["likes"].to_list() == [5, 6, 7]


def test_other_encodings_are_read_when_named(tmp_path: Path) -> None:
    write(tmp_path, "latin.csv", f"{HEADER},text\ninstagram,a,1,2026-11-17T10:00:00Z,1,Café\n",
          encoding="latin-1")
    assert fetch(CsvSource, tmp_path, path="latin.csv", encoding="latin-1")["text"].to_list() == ["Café"]
    message = fetch_error(CsvSource, tmp_path, path="latin.csv")
    assert "latin.csv" in message and "encoding" in message


# -- errors ----------------------------------------------------------------------------------
def test_missing_required_column_lists_the_files_columns(tmp_path: Path) -> None:
    write(tmp_path, "posts.csv", "Account,Post ID,Date\na,1,2026-11-17\n")
    message = fetch_error(CsvSource, tmp_path, path="posts.csv",
                          columns={"account": "Account", "post_id": "Post ID", "published_at": "Date"})
    assert str(tmp_path / "posts.csv") in message
    assert "'platform'" in message and "columns.platform" in message
    assert 'the header\'s columns: "Account", "Post ID", "Date"' in message


def test_mapped_column_not_in_the_file_suggests_the_closest(tmp_path: Path) -> None:
    write(tmp_path, "posts.csv", "platform,account,post_id,Publish Time,likes\n"
                                 "instagram,a,1,2026-11-17T10:00:00Z,1\n")
    message = fetch_error(CsvSource, tmp_path, path="posts.csv", columns={"published_at": "Publish time"})
    assert "posts.csv" in message
    assert "no column 'Publish time' (mapped to published_at in `columns`)" in message
    assert "did you mean 'Publish Time'?" in message


def test_mapped_column_with_nothing_close_lists_the_columns(tmp_path: Path) -> None:
    write(tmp_path, "posts.csv", f"{HEADER}\ninstagram,a,1,2026-11-17T10:00:00Z,1\n")
    message = fetch_error(CsvSource, tmp_path, path="posts.csv", columns={"reach": "Couverture"})
    assert "no column 'Couverture'" in message
    assert "the header's columns: " + ", ".join(f'"{c}"' for c in HEADER.split(",")) in message


def test_bad_date_names_file_row_and_column(tmp_path: Path) -> None:
    write(tmp_path, "posts.csv", "platform,account,post_id,Publish time,likes\n"
                                 "instagram,a,1,2026-11-17T10:00:00Z,1\n"
                                 "instagram,a,2,yesterday,2\n")
    message = fetch_error(CsvSource, tmp_path, path="posts.csv", columns={"published_at": "Publish time"})
    assert str(tmp_path / "posts.csv") in message
    assert 'line 3, post_id "2", column 4 "Publish time": value "yesterday" is not a date-time' in message
    assert 'on_error = "skip"' in message


def test_bad_date_in_a_custom_format_names_the_format(tmp_path: Path) -> None:
    write(tmp_path, "posts.csv", f"{HEADER}\ninstagram,a,1,2026-11-17 10:00,1\n")
    message = fetch_error(CsvSource, tmp_path, path="posts.csv", datetime_format="%d/%m/%Y %H:%M")
    assert 'line 2, post_id "1", column 4 "published_at"' in message and "%d/%m/%Y %H:%M" in message


def test_non_numeric_counter_names_row_column_and_value(tmp_path: Path) -> None:
    write(tmp_path, "posts.csv", "platform,account,post_id,published_at,Likes\n"
                                 "instagram,a,1,2026-11-17T10:00:00Z,12\n"
                                 "instagram,a,2,2026-11-17T10:00:00Z,12\n"
                                 "instagram,a,3,2026-11-17T10:00:00Z,douze\n")
    message = fetch_error(CsvSource, tmp_path, path="posts.csv", columns={"likes": "Likes"})
    assert 'line 4, post_id "3", column 5 "Likes": value "douze" is not a number' in message


def test_fractional_counter_is_an_error_not_a_silent_rounding(tmp_path: Path) -> None:
    """With decimal = ",", "1.234" is an undeclared thousands separator, not 1 like."""
    write(tmp_path, "posts.csv", "platform;account;post_id;published_at;Likes\n"
                                 "instagram;a;1;2026-11-17T10:00:00Z;12\n"
                                 "instagram;a;2;2026-11-17T10:00:00Z;1.234\n")
    message = fetch_error(CsvSource, tmp_path, path="posts.csv", delimiter=";", decimal=",",
                          columns={"likes": "Likes"})
    assert ('line 3, post_id "2", column 5 "Likes": value "1.234" looks like thousands written with \'.\': '
            'set thousands = "."') in message
    assert "thousands" in message


def test_column_mapping_must_name_fields_of_the_chosen_record_kind(tmp_path: Path) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match=r"not fields of post records: 'followers'"):
        CsvSource.Options(path="x.csv", record="post", columns={"followers": "Abonnés"})
    assert CsvSource.Options(path="x.csv", record="account_snapshot", columns={"followers": "Abonnés"})


def test_a_format_value_outside_the_canonical_list_is_pointed_out(tmp_path: Path) -> None:
    write(tmp_path, "posts.csv", f"{HEADER},format\ninstagram,a,1,2026-11-17T10:00:00Z,1,Image IG\n"
                                 "instagram,a,2,2026-11-17T11:00:00Z,1,reel\n")
    problems: list[str] = []
    frame = fetch(CsvSource, tmp_path, problems=problems, path="posts.csv")
    assert frame["format"].to_list() == ["Image IG", "reel"]  # kept, but said
    assert problems == ["posts.csv: format value(s) 'Image IG' are not one of image, video, reel, carousel, "
                        'text, link, story; map them with values.format = { "Image IG" = "..." }']


def test_an_empty_json_export_is_no_records_not_an_error(tmp_path: Path) -> None:
    write(tmp_path, "posts.json", "[]")
    frame = fetch(JsonSource, tmp_path, path="posts.json")
    assert frame.height == 0 and "published_at" in frame.columns


def test_empty_required_value_is_an_error(tmp_path: Path) -> None:
    write(tmp_path, "posts.csv", f"{HEADER}\ninstagram,,1,2026-11-17T10:00:00Z,1\n")
    assert 'line 2, post_id "1", column 2 "account": value is empty' in fetch_error(CsvSource, tmp_path, path="posts.csv")


def test_every_bad_row_is_listed_on_screen_up_to_twenty(tmp_path: Path) -> None:
    """Two rows of each of four problems: none fails like more than four others, so each is spelt out."""
    values = ["n/a", "-1", "1.5", "12%"] * 2
    rows = "".join(f"instagram,a,{i},2026-11-17T10:00:00Z,{value}\n" for i, value in enumerate(values))
    write(tmp_path, "posts.csv", f"{HEADER}\n{rows}")
    error = fetch_failure(CsvSource, tmp_path, path="posts.csv")
    message = str(error)
    assert "posts.csv: 8 bad rows (line 2, line 3, line 4 ...), each listed below; fix the file" in message
    assert len(message.splitlines()) == 1 and "column 5" not in message   # the history's short line
    assert len(error.details) == 8   # one line per row: place, post id, column, value, problem
    assert error.details[0].startswith('line 2, post_id "0", column 5 "likes": value "n/a" is not a number: ')
    assert error.details[7].startswith('line 9, post_id "7", column 5 "likes": value "12%" ')
    assert not (tmp_path / "bad-rows").exists()  # all on screen: no list file


def test_past_twenty_bad_rows_every_one_is_in_a_list_file_with_formulas_neutralised(tmp_path: Path) -> None:
    import csv

    rows = "".join(f"instagram,a,p{i},2026-11-17T10:00:00Z,{-i}\n" for i in range(1, 25))
    write(tmp_path, "posts.csv", f"{HEADER}\n{rows}instagram,a,p25,2026-11-17T10:00:00Z,=1+2\n"
                                 "instagram,a,ok,2026-11-17T10:00:00Z,4\nonly,three,fields\n")
    error = fetch_failure(CsvSource, tmp_path, path="posts.csv")
    message = str(error)
    listed = tmp_path / "bad-rows" / "posts.csv.bad-rows.csv"
    assert (f"posts.csv: 26 bad rows (line 2, line 3, line 4 ...), every one is listed in {listed}, the first ones "
            "below; fix the file") in message and len(message.splitlines()) == 1
    # 24 rows failing alike: the first in full, two by place and value, then a count; then the others
    assert error.details[0].startswith('line 2, post_id "p1", column 5 "likes": value "-1" is negative')
    assert list(error.details[1:4]) == ['line 3, post_id "p2": value "-2"', 'line 4, post_id "p3": value "-3"',
                                  "also lines 5\u201325 like these (21 more)"]
    assert error.details[4].startswith('line 26, post_id "p25", column 5 "likes": value "=1+2"')
    assert error.details[5].startswith("line 28: 3 fields") and len(error.details) == 6

    assert listed.read_bytes().startswith(b"\xef\xbb\xbf")  # Excel reads the accents of captions
    with listed.open(encoding="utf-8-sig", newline="") as handle:
        table = list(csv.reader(handle))
    assert table[0] == ["where", "record", "column", "value", "problem"]
    assert len(table) == 27
    assert table[1] == ["line 2", 'post_id "p1"', "likes", "'-1", "is negative: a count cannot be below 0"]
    assert table[24] == ["line 25", 'post_id "p24"', "likes", "'-24", "is negative: a count cannot be below 0"]
    assert table[25][:4] == ["line 26", 'post_id "p25"', "likes", "'=1+2"]  # never run as a formula
    assert table[26][:4] == ["line 28", "", "", ""] and "3 fields where the header" in table[26][4]
    write(tmp_path, "posts.csv", f"{HEADER}\ninstagram,a,ok,2026-11-17T10:00:00Z,4\n")  # the file fixed
    assert fetch(CsvSource, tmp_path, path="posts.csv")["likes"].to_list() == [4]
    assert not listed.exists()  # the list of the file before it was fixed is gone


def test_bad_rows_lists_of_two_exports_of_one_name_are_two_files(tmp_path: Path) -> None:
    from cmflow.builtin.sources.bad_rows import bad_rows_list_path

    assert bad_rows_list_path(tmp_path / "a" / "posts.csv", tmp_path) == tmp_path / "bad-rows/a/posts.csv.bad-rows.csv"
    assert bad_rows_list_path(tmp_path / "b" / "posts.csv", tmp_path) == tmp_path / "bad-rows/b/posts.csv.bad-rows.csv"
    outside = bad_rows_list_path(tmp_path.parent / "posts.csv", tmp_path)
    assert outside.parent == tmp_path / "bad-rows" and outside.name.startswith("posts.csv-")


def test_on_error_skip_leaves_bad_rows_out_and_reports_how_many(tmp_path: Path) -> None:
    write(tmp_path, "posts.csv", f"{HEADER}\n"
                                 "instagram,a,1,2026-11-17T10:00:00Z,1\n"
                                 "instagram,a,2,not a date,2\n"
                                 "instagram,a,3,2026-11-17T10:00:00Z,three\n"
                                 "instagram,a,4,2026-11-17T10:00:00Z,4\n")
    problems: list[str] = []
    frame = fetch(CsvSource, tmp_path, path="posts.csv", on_error="skip", problems=problems)
    assert frame["post_id"].to_list() == ["1", "4"]
    assert problems == ['posts.csv: 2 bad row(s) skipped (on_error = "skip")']


def test_missing_file_is_an_error_naming_it(tmp_path: Path) -> None:
    assert "nowhere.csv: file not found" in fetch_error(CsvSource, tmp_path, path="nowhere.csv")
    assert "nowhere.json: file not found" in fetch_error(JsonSource, tmp_path, path="nowhere.json")


# -- JSON ------------------------------------------------------------------------------------
POST_ITEMS = [
    {"platform": "Instagram", "account": "a", "post_id": 101, "published_at": "2026-11-17T10:00:00+01:00",
     "likes": 12, "reach": "1 500", "saves": None, "extra": {"nested": True}},
    {"platform": "facebook", "account": "b", "post_id": "102", "published_at": "2026-11-18 10:00",
     "likes": 3.0, "comments": 4},
]


def check_post_items(frame: pl.DataFrame) -> None:
    rows = frame.to_dicts()
    assert [r["post_id"] for r in rows] == ["101", "102"]
    assert [r["platform"] for r in rows] == ["instagram", "facebook"]
    assert [r["published_at"] for r in rows] == [datetime(2026, 11, 17, 9, tzinfo=UTC),
                                                 datetime(2026, 11, 18, 9, tzinfo=UTC)]  # naive: Paris
    assert [r["likes"] for r in rows] == [12, 3]
    assert [r["reach"] for r in rows] == [1500, None]
    assert [r["comments"] for r in rows] == [None, 4]  # a key absent from an item is missing
    assert [r["saves"] for r in rows] == [None, None]  # JSON null is missing


def test_json_top_level_array(tmp_path: Path) -> None:
    write(tmp_path, "posts.json", json.dumps(POST_ITEMS))
    check_post_items(fetch(JsonSource, tmp_path, path="posts.json", timezone="Europe/Paris"))


def test_json_items_at_a_dotted_path(tmp_path: Path) -> None:
    write(tmp_path, "report.json", json.dumps({"meta": {"page": 1}, "report": {"rows": POST_ITEMS}}))
    check_post_items(fetch(JsonSource, tmp_path, path="report.json", items="report.rows",
                           timezone="Europe/Paris"))


def test_json_lines(tmp_path: Path) -> None:
    write(tmp_path, "posts.jsonl", "\n".join(json.dumps(item) for item in POST_ITEMS) + "\n\n")
    check_post_items(fetch(JsonSource, tmp_path, path="posts.jsonl", timezone="Europe/Paris"))


def test_json_with_bom_and_mapping(tmp_path: Path) -> None:
    items = [{"Network": "LinkedIn", "Page": "p", "id": "1", "when": "17/11/2026 10:00", "Likes": "1\u202f234"}]
    write(tmp_path, "li.json", "\ufeff" + json.dumps(items, ensure_ascii=False))
    frame = fetch(JsonSource, tmp_path, path="li.json", datetime_format="%d/%m/%Y %H:%M",
                  columns={"platform": "Network", "account": "Page", "post_id": "id",
                           "published_at": "when", "likes": "Likes"})
    assert frame.select("platform", "account", "likes").row(0) == ("linkedin", "p", 1234)
    assert frame["published_at"][0] == datetime(2026, 11, 17, 10, tzinfo=UTC)


def test_invalid_json_error_gives_line_and_column(tmp_path: Path) -> None:
    write(tmp_path, "broken.json", '[{"platform": "x",\n  "account": }]')
    message = fetch_error(JsonSource, tmp_path, path="broken.json")
    assert "broken.json, line 2, column 14: not valid JSON" in message


@pytest.mark.parametrize("document, items, expected", [
    ({"data": {"rows": []}}, "data.row", "no key 'row' on the way to items = 'data.row' (data is an object with keys rows)"),
    ({"data": []}, None, 'found an object with keys data; set items = "data"'),
    ({"data": {"rows": {"a": 1}}}, "data.rows", "expected an array of records"),
    ([{"platform": "x"}, 3], None, "doc.json, [1]: a record must be an object {...}, found a number"),
])
def test_json_document_shape_errors(tmp_path: Path, document: Any, items: str | None, expected: str) -> None:
    write(tmp_path, "doc.json", json.dumps(document))
    assert expected in fetch_error(JsonSource, tmp_path, path="doc.json", items=items)


def test_json_bad_value_names_the_item_and_key(tmp_path: Path) -> None:
    items = [{"platform": "x", "account": "a", "post_id": "1", "published_at": "2026-11-17T10:00:00Z",
              "likes": "many"}]
    write(tmp_path, "posts.json", json.dumps(items))
    message = fetch_error(JsonSource, tmp_path, path="posts.json")
    assert "posts.json" in message and 'posts.json, [0].likes, post_id "1": value "many" is not a number' in message


# -- through a run ---------------------------------------------------------------------------
def test_skipped_rows_and_failures_reach_the_run_summary(tmp_path: Path, write_workflow, store_url: str) -> None:
    write(tmp_path, "good.csv", f"{HEADER}\ninstagram,a,1,2026-11-17T10:00:00Z,1\n"
                                "instagram,a,2,2026-11-17T10:00:00Z,lots\n")
    write(tmp_path, "bad.csv", f"{HEADER}\ninstagram,b,1,someday,1\n")
    path = write_workflow("""
[workflow]
name = "Sources"
period = "2026-11-16..2026-11-22"

[[sources]]
id = "good"
plugin = "csv"
path = "good.csv"
on_error = "skip"

[[sources]]
id = "bad"
plugin = "csv"
path = "bad.csv"

[[metrics]]
plugin = "posts_published"
by = ["overall"]
""")
    result = run_workflow_file(path, store_url=store_url, dry_run=True)
    stages = {s.id: s for s in result.stages if s.kind == "source"}
    assert stages["good"].ok and stages["good"].counts == {"post": 1}
    assert stages["good"].problems == ['good.csv: 1 bad row(s) skipped (on_error = "skip")']
    assert stages["good"].skipped == ['good.csv, line 3, post_id "2", column 5 "likes": value "lots" is not a number '
                                      "(for 1,234 or 4,5 set `thousands` or `decimal`)"]
    assert not stages["bad"].ok
    assert "bad.csv" in stages["bad"].error and 'line 2, post_id "1", column 4 "published_at"' in stages["bad"].error
    assert result.status == "failed"
    assert result.value("posts_published") == 1.0


# -- what the bad-input corpus cannot show -----------------------------------------------------
def test_a_post_twice_counts_once_and_the_warning_reaches_the_run(tmp_path: Path, write_workflow,
                                                                   store_url: str) -> None:
    """Two exports pasted together: the post is counted once, and the run's stage report says
    which lines held it (the run summary and the report footer print stage problems)."""
    write(tmp_path, "posts.csv", f"{HEADER}\ninstagram,a,1,2026-11-17T10:00:00Z,5\n"
                                 "instagram,a,2,2026-11-18T10:00:00Z,6\n"
                                 "instagram,a,1,2026-11-17T10:00:00Z,5\n")
    path = write_workflow("""
[workflow]
name = "Duplicates"
period = "2026-11-16..2026-11-22"

[[sources]]
id = "posts"
plugin = "csv"
path = "posts.csv"

[[metrics]]
plugin = "totals"
counters = ["likes"]
by = ["overall"]
""")
    result = run_workflow_file(path, store_url=store_url, dry_run=True)
    [stage] = [s for s in result.stages if s.kind == "source"]
    assert stage.ok and stage.counts == {"post": 2}
    assert stage.problems == ['posts.csv: 1 post record(s) appear more than once with the same values, counted '
                              'once: platform "instagram", account "a", post_id "1" on line 2 and line 4']
    assert result.value("total_likes") == 11.0  # not 16


def test_copies_that_disagree_are_both_skipped_and_listed(tmp_path: Path) -> None:
    write(tmp_path, "posts.csv", f"{HEADER},reach\ninstagram,a,1,2026-11-17T10:00:00Z,5,100\n"
                                 "instagram,a,2,2026-11-18T10:00:00Z,6,100\n"
                                 "instagram,a,1,2026-11-17T10:00:00Z,7,120\n")
    problems: list[str] = []
    source = CsvSource(CsvSource.Options(path="posts.csv", on_error="skip"), entry_id="src")
    period = Period(date(2026, 11, 16), date(2026, 11, 22), "UTC", unit="week")
    ctx = FetchContext(period.start_utc, period.end_utc, [period], tmp_path, logging.getLogger("t"), problems)
    [table] = list(source.fetch(ctx))
    assert table.frame["post_id"].to_list() == ["2"]
    # two rows left out, so two listed and counted: each copy names the other
    assert ctx.skipped == [
        'posts.csv, line 2: the same post (platform "instagram", account "a", post_id "1") as line 4 with '
        'different values (likes 5 vs 7, reach 100 vs 120): keep one of the rows',
        'posts.csv, line 4: the same post (platform "instagram", account "a", post_id "1") as line 2 with '
        'different values (likes 5 vs 7, reach 100 vs 120): keep one of the rows']
    assert "2 bad row(s) skipped" in problems[-1]


def test_skipped_rows_are_all_in_the_html_report_footer_and_ten_in_the_summary(
        tmp_path: Path, write_workflow, store_url: str) -> None:
    from click.testing import CliRunner

    from cmflow.cli import main

    rows = "".join(f"instagram,a,{i},2026-11-17T10:00:00Z,-{i}\n" for i in range(1, 16))
    write(tmp_path, "posts.csv", f"{HEADER}\n{rows}instagram,a,99,2026-11-17T10:00:00Z,4\n")
    path = write_workflow(f"""
[workflow]
name = "Skips"
period = "2026-11-16..2026-11-22"

[store]
url = "{store_url}"

[[sources]]
id = "posts"
plugin = "csv"
path = "posts.csv"
on_error = "skip"

[[metrics]]
plugin = "posts_published"
by = ["overall"]

[[outputs]]
plugin = "html_report"
path = "{tmp_path / 'report.html'}"
""")
    result = CliRunner().invoke(main, ["run", str(path)], env={"COLUMNS": "200", "NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    summary = result.output
    assert "15 bad row(s) skipped" in summary
    assert [n for n in range(2, 17) if f'posts.csv, line {n}, post_id "{n - 1}", column 5' in summary] == list(range(2, 12))
    assert "… and 5 more skipped rows" in summary
    report = (tmp_path / "report.html").read_text()
    for n in range(2, 17):  # every one, with its reason
        assert (f"posts.csv, line {n}, post_id &#34;{n - 1}&#34;, column 5 &#34;likes&#34;: value &#34;-{n - 1}&#34; "
                "is negative") in report


def test_utf16_without_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    (tmp_path / "posts.csv").write_bytes(f"{HEADER}\ninstagram,a,1,2026-11-17T10:00:00Z,7\n".encode("utf-16-le"))
    assert fetch(CsvSource, tmp_path, path="posts.csv")["likes"].to_list() == [7]


def test_a_byte_order_mark_wins_over_the_encoding_option(tmp_path: Path) -> None:
    write(tmp_path, "posts.csv", f"\ufeff{HEADER},text\ninstagram,a,1,2026-11-17T10:00:00Z,7,Crème\n")
    assert fetch(CsvSource, tmp_path, path="posts.csv", encoding="cp1252")["text"].to_list() == ["Crème"]


@pytest.mark.parametrize("text, expected", [
    ("November 18", date(2026, 11, 18)),
    ("December 30", date(2025, 12, 30)),  # after the run's window: the year before
    ("January 4", date(2026, 1, 4)),
])
def test_dates_without_a_year_take_the_latest_year_not_after_the_window(tmp_path: Path, text: str,
                                                                        expected: date) -> None:
    write(tmp_path, "overview.csv", f'"Date","Video Views"\n"{text}","1500"')  # TikTok: no final newline
    frame = fetch(CsvSource, tmp_path, path="overview.csv", record="account_snapshot", date_format="%B %d",
                  constants={"platform": "tiktok", "account": "a"},
                  columns={"date": "Date", "impressions": "Video Views"})
    assert frame["date"].to_list() == [expected]


def test_a_no_value_mark_can_be_mapped_to_empty(tmp_path: Path) -> None:
    write(tmp_path, "posts.csv", f"{HEADER}\ninstagram,a,1,2026-11-17T10:00:00Z,-\n")
    assert "values.likes" in fetch_error(CsvSource, tmp_path, path="posts.csv")
    frame = fetch(CsvSource, tmp_path, path="posts.csv", values={"likes": {"-": ""}})
    assert frame["likes"].to_list() == [None]


def test_an_unread_repeated_column_is_no_error(tmp_path: Path) -> None:
    """Meta's negative-feedback columns vary between exports; a repeated column nobody reads is harmless."""
    write(tmp_path, "posts.csv", f"{HEADER},Hide all,Hide all\ninstagram,a,1,2026-11-17T10:00:00Z,7,0,1\n")
    assert fetch(CsvSource, tmp_path, path="posts.csv")["likes"].to_list() == [7]


def test_a_json_export_in_the_declared_encoding(tmp_path: Path) -> None:
    items = [{"platform": "x", "account": "a", "post_id": "1", "published_at": "2026-11-17T10:00:00Z",
              "text": "Café"}]
    (tmp_path / "posts.json").write_bytes(json.dumps(items, ensure_ascii=False).encode("cp1252"))
    assert "cp1252" in fetch_error(JsonSource, tmp_path, path="posts.json")
    assert fetch(JsonSource, tmp_path, path="posts.json", encoding="cp1252")["text"].to_list() == ["Café"]


# -- a file of defective rows, totals worked out by hand --------------------------------------
DEFECTIVE = (f"{HEADER},comments,reach\n"
             "instagram,a,p1,2026-11-17T10:00:00Z,10,2,100\n"    # line 2: good
             "instagram,a,p2,2026-11-18T10:00:00Z,20,,200\n"     # line 3: p2, comments empty
             "instagram,a,p1,2026-11-17T10:00:00Z,10,2,100\n"    # line 4: p1 again, the same: counted once
             "instagram,a,p3,2026-11-19T10:00:00Z,-5,1,50\n"     # line 5: a negative count
             "instagram,a,p4,2026-11-20T10:00:00Z,7,,\n"         # line 6: comments and reach empty
             "instagram,a,p5,2026-11-20T11:00:00Z,n/a,1,10\n"    # line 7: not a number
             "instagram,a,p2,2026-11-18T10:00:00Z,21,,200\n")    # line 8: p2 again, other likes
DEFECTIVE_WORKFLOW = """
[workflow]
name = "Defective"
period = "2026-11-16..2026-11-22"

[[sources]]
id = "posts"
plugin = "csv"
path = "posts.csv"
{options}

[[metrics]]
plugin = "totals"
counters = ["likes", "comments", "reach"]
by = ["overall"]

[[metrics]]
plugin = "posts_published"
by = ["overall"]
"""


def test_a_defective_file_fails_listing_every_bad_row(tmp_path: Path) -> None:
    write(tmp_path, "posts.csv", DEFECTIVE)
    error = fetch_failure(CsvSource, tmp_path, path="posts.csv")
    message = str(error)
    assert len(message.splitlines()) == 1  # a failed source's error is one line in the run history
    assert message.split(": ", 1)[1] == ('4 bad rows (line 3, line 5, line 7 ...), each listed below; fix the file, '
                                         'or set on_error = "skip" to leave bad rows out (they are then listed in '
                                         'the run summary and the report)')
    rows = error.details
    # four rows cannot be used: both copies of p2 (they disagree), p3 and p5
    assert len(rows) == 4
    assert rows[0].startswith("line 3: the same post") and "as line 8" in rows[0] and "likes 20 vs 21" in rows[0]
    assert rows[1] == 'line 5, post_id "p3", column 5 "likes": value "-5" is negative: a count cannot be below 0'
    assert rows[2].startswith('line 7, post_id "p5", column 5 "likes": value "n/a" is not a number: ')
    assert rows[3].startswith("line 8: the same post") and "as line 3" in rows[3]
    assert rows[3].endswith("keep one of the rows")


def test_a_defective_file_failing_prints_one_row_per_line_and_keeps_a_short_line_in_history(
        tmp_path: Path, write_workflow, store_url: str) -> None:
    from click.testing import CliRunner

    from cmflow.cli import main

    write(tmp_path, "posts.csv", DEFECTIVE)
    path = write_workflow(DEFECTIVE_WORKFLOW.format(options=""))
    outcome = CliRunner().invoke(main, ["run", str(path), "--store", store_url])
    assert outcome.exit_code == 1
    lines = outcome.output.splitlines()
    [failed] = [n for n, line in enumerate(lines) if line.startswith("✗ source posts (csv): ")]
    assert lines[failed].endswith("posts.csv: 4 bad rows (line 3, line 5, line 7 ...), each listed below; fix the "
                                  'file, or set on_error = "skip" to leave bad rows out (they are then listed in the '
                                  "run summary and the report)")
    assert lines[failed + 1].startswith("      - line 3: the same post")
    assert lines[failed + 2] == ('      - line 5, post_id "p3", column 5 "likes": value "-5" is negative: a count '
                                 'cannot be below 0')
    assert lines[failed + 3].startswith('      - line 7, post_id "p5", column 5 "likes": value "n/a" is not a number')
    assert lines[failed + 4].startswith("      - line 8: the same post")
    from cmflow.store import open_store

    with open_store(store_url) as store:
        [run] = store.runs()
    assert run.status == "failed" and run.error.startswith("source posts: ")
    assert run.error.endswith("posts.csv: 4 bad rows (line 3, line 5, line 7 ...), each listed below; fix the file, "
                              'or set on_error = "skip" to leave bad rows out (they are then listed in the run '
                              "summary and the report)")   # the rows are the console's, not the history's


def test_a_single_bad_row_names_its_post_id(tmp_path: Path) -> None:
    """One bad row is spelt out in the message itself, and, as each row of a longer list, it says
    which post it holds (issue 14: line, post id, column, value, reason)."""
    write(tmp_path, "posts.csv", f"{HEADER}\ninstagram,a,p1,2026-11-17T10:00:00Z,10\n"
                                 "instagram,a,p7,2026-11-18T10:00:00Z,-7\n")
    message = fetch_error(CsvSource, tmp_path, path="posts.csv")
    assert message.startswith(f'{tmp_path / "posts.csv"}, line 3, post_id "p7", column 5 "likes": value "-7" is '
                              "negative: a count cannot be below 0; fix the file")


def test_a_defective_file_skipped_totals_the_accepted_rows(tmp_path: Path, write_workflow, store_url: str) -> None:
    write(tmp_path, "posts.csv", DEFECTIVE)
    path = write_workflow(DEFECTIVE_WORKFLOW.format(options='on_error = "skip"'))
    result = run_workflow_file(path, store_url=store_url, dry_run=True)
    [stage] = [s for s in result.stages if s.kind == "source"]
    assert stage.ok and stage.counts == {"post": 2}  # p1 (once) and p4
    assert [row.split(":")[0] for row in stage.skipped] == [
        "posts.csv, line 3", 'posts.csv, line 5, post_id "p3", column 5 "likes"',
        'posts.csv, line 7, post_id "p5", column 5 "likes"', "posts.csv, line 8"]
    assert 'posts.csv: 4 bad row(s) skipped (on_error = "skip")' in stage.problems
    assert any("appear more than once with the same values, counted once" in p and "line 2 and line 4" in p
               for p in stage.problems)
    assert result.value("posts_published") == 2.0
    assert result.value("total_likes") == 17.0  # 10 (p1) + 7 (p4)
    assert result.value("total_comments") == 2.0  # p4's empty cell is no value, not 0
    assert result.value("total_reach") == 100.0


def test_empty_zero_reads_empty_counter_cells_as_0_and_counts_them(tmp_path: Path) -> None:
    write(tmp_path, "posts.csv", DEFECTIVE)
    problems: list[str] = []
    frame = fetch(CsvSource, tmp_path, path="posts.csv", on_error="skip", empty="zero", problems=problems)
    assert frame.select("post_id", "comments", "reach").rows() == [("p1", 2, 100), ("p4", 0, 0)]
    # lines 3, 6 and 8 (comments) and 6 (reach): counted before p2's disagreeing copies are left out
    assert problems[0] == ('posts.csv: 4 empty counter cell(s) read as 0 (empty = "zero"): 3 in column '
                           '"comments", 1 in column "reach"')
    missing = fetch(CsvSource, tmp_path, path="posts.csv", on_error="skip")
    assert missing.select("post_id", "comments", "reach").rows() == [("p1", 2, 100), ("p4", None, None)]


def test_empty_zero_leaves_followers_and_counters_without_a_column_missing(tmp_path: Path) -> None:
    write(tmp_path, "followers.csv", "platform,account,date,followers,reach\n"
                                     "instagram,a,2026-11-17,,\ninstagram,a,2026-11-18,1200,40\n")
    problems: list[str] = []
    frame = fetch(CsvSource, tmp_path, path="followers.csv", record="account_snapshot", empty="zero",
                  problems=problems)
    assert frame.select("followers", "reach", "impressions").rows() == [(None, 0, None), (1200, 40, None)]
    assert problems == ['followers.csv: 1 empty counter cell(s) read as 0 (empty = "zero"): 1 in column '
                        '"reach"']


# -- JSON numbers and misspelt column lists ---------------------------------------------------
def test_a_json_number_is_a_number_whatever_thousands_says(tmp_path: Path) -> None:
    items = [{"platform": "x", "account": "a", "post_id": "1", "published_at": "2026-11-17T10:00:00Z",
              "likes": "6.342", "reach": 12345}]
    write(tmp_path, "posts.json", json.dumps(items))
    frame = fetch(JsonSource, tmp_path, path="posts.json", thousands=".", decimal=",")
    assert frame.select("likes", "reach").row(0) == (6342, 12345)  # a string: separators apply
    items[0]["reach"] = 12.345  # a JSON number: twelve and a bit, never 12345
    for name, text in (("posts.json", json.dumps(items)), ("posts.jsonl", json.dumps(items[0]))):
        write(tmp_path, name, text)
        message = fetch_error(JsonSource, tmp_path, path=name, thousands=".", decimal=",")
        assert 'reach, post_id "1": value "12,345" is not a whole number, so not a count' in message \
            or 'post_id "1", key "reach": value "12,345" is not a whole number, so not a count' in message


def test_a_json_decimal_number_reads_with_a_decimal_comma_declared(tmp_path: Path) -> None:
    items = [{"date": "2026-11-17", "task": "reel", "hours": 1.5}]
    write(tmp_path, "time.json", json.dumps(items))
    frame = fetch(JsonSource, tmp_path, path="time.json", record="time_entry", thousands=".", decimal=",")
    assert frame["hours"].to_list() == [1.5]


def test_a_misspelt_name_in_a_column_list_warns_with_the_header_name(tmp_path: Path) -> None:
    write(tmp_path, "posts.csv", f"{HEADER},Description,Title,Views\ninstagram,a,1,2026-11-17T10:00:00Z,5,,Hello,10\n")
    problems: list[str] = []
    frame = fetch(CsvSource, tmp_path, path="posts.csv", problems=problems,
                  columns={"text": ["Descripton", "Title"], "impressions": ["Impressions", "Views"]})
    assert frame["text"].to_list() == ["Hello"] and frame["impressions"].to_list() == [10]
    assert problems == ["posts.csv: column 'Descripton' (listed in columns.text) is not in the file, so text is "
                        "read from \"Title\" alone; did you mean 'Description'?"]  # Impressions: an older name


def test_empty_zero_reads_json_null_and_absent_counters_as_0(tmp_path: Path) -> None:
    items = [{"platform": "x", "account": "a", "post_id": "1", "published_at": "2026-11-17T10:00:00Z",
              "likes": 4, "saves": None},
             {"platform": "x", "account": "a", "post_id": "2", "published_at": "2026-11-18T10:00:00Z", "saves": 2}]
    write(tmp_path, "posts.json", json.dumps(items))
    problems: list[str] = []
    frame = fetch(JsonSource, tmp_path, path="posts.json", empty="zero", problems=problems)
    assert frame.select("likes", "saves", "reach").rows() == [(4, 0, None), (0, 2, None)]
    assert problems == ['posts.json: 2 empty counter cell(s) read as 0 (empty = "zero"): 1 in column "likes", '
                        '1 in column "saves"']


def test_text_not_in_its_encoding_is_told_before_a_row_problem_above_it(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Read line by line as it is decoded, the file still gets the message it got when decoded
    whole: its encoding first (here a quote error on line 2, a cp1252 byte on line 4, in a later
    block of the file)."""
    from cmflow.builtin.sources import export_text

    monkeypatch.setattr(export_text, "BLOCK_BYTES", 16)
    (tmp_path / "posts.csv").write_bytes(f'{HEADER}\ninstagram,a,1,"x"y,3\ninstagram,a,2,2026-11-17T10:00:00Z,4\n'
                                         "instagram,a,3,2026-11-17T10:00:00Z,5,Cr\xe8me\n".encode("cp1252"))
    message = fetch_error(CsvSource, tmp_path, path="posts.csv")
    assert "line 4" in message and 'set encoding = "cp1252"' in message


@pytest.mark.parametrize("post_id", ["1.84300E+18", "1,843e+18", "2E+15"])
def test_an_id_excel_rounded_to_scientific_notation_is_a_bad_value(tmp_path: Path, post_id: str) -> None:
    write(tmp_path, "export.csv", f"{HEADER}\nx,brand,1843000000000000101,2026-11-17,3\n"
                                  f'x,brand,"{post_id}",2026-11-18,5\n')
    message = fetch_error(CsvSource, tmp_path, path="export.csv")
    assert "line 3" in message and "post_id" in message
    assert "an id Excel rounded to scientific notation" in message
    assert "download the export again and do not save it from Excel" in message


def test_an_id_with_an_e_that_is_not_a_number_is_kept(tmp_path: Path) -> None:
    write(tmp_path, "export.csv", f"{HEADER}\nx,brand,1E+2abc,2026-11-17,3\nx,brand,E+18,2026-11-18,5\n")
    assert fetch(CsvSource, tmp_path, path="export.csv")["post_id"].to_list() == ["1E+2abc", "E+18"]


def test_a_bad_cell_read_into_two_fields_is_named_once(tmp_path: Path) -> None:
    """TikTok's `Video Views` fills both impressions and video_views: its bad value is one problem."""
    write(tmp_path, "overview.csv", 'Date,Video Views\n2026-11-17,"2 27"\n')
    message = fetch_error(CsvSource, tmp_path, path="overview.csv", record="account_activity",
                          constants={"platform": "tiktok", "account": "a"},
                          columns={"date": "Date", "impressions": "Video Views", "video_views": "Video Views"})
    assert message.count('column 2 "Video Views"') == 1, message


def test_rows_failing_alike_name_every_remaining_line_in_runs(tmp_path: Path) -> None:
    """Lines 2 to 41 negative but 12 and 22: the problem and advice once, then every other line
    in runs on one line, so a user fixing cells one by one sees where they all are."""
    rows = "".join(f"instagram,a,p{i},2026-11-17T10:00:00Z,{4 if i in (11, 21) else -i}\n" for i in range(1, 41))
    write(tmp_path, "posts.csv", f"{HEADER}\n{rows}")
    error = fetch_failure(CsvSource, tmp_path, path="posts.csv")
    assert list(error.details).count("also lines 5\u201311, 13\u201321, 23\u201341 like these (35 more)") == 1
    assert sum("is negative" in line for line in error.details) == 1
