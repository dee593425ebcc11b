"""parse_records' shortcuts give what its full checks give.

Rows whose values are plainly valid skip the per-value checks (``tabular._plainly_valid``); only
the columns where some value has a space at an edge are stripped; date formats are tried only on
the values still unread; the day/month check samples a large column. Each shortcut is compared
here with the full work, on generated tables full of odd values, odd dates and odd separators.
(Split from tests/test_export_fast_paths.py, which compares the csv and json readers' shortcuts:
together they took over a minute on one test worker.)
"""

from __future__ import annotations

import logging
import random
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from cmflow import FetchContext, Period
from cmflow.builtin.sources import tabular
from cmflow.builtin.sources.csv_source import CsvSource
from cmflow.foundation.errors import DataFileError

NUMBERS = ["0", "7", "007", "+5", "-3", "1 234", "1\u00a0234", "12 34", "4.5", "4,5", "4.0", "1e3", "1E+30",
           "nan", "inf", "-", "n/a", "45%", "", "99999999999999999999", "999999999999999999", "١٢", "12.000",
           "Total", '{"a": 1}']
DATETIMES = ["2026-11-17T10:00:00Z", "2026-11-17T10:00:00", "2026-11-17 10:00", "2026-03-29T02:30:00",
             "2026-10-25T02:30:00", "17/11/2026 10:00", "11/17/2026 10:00", "05/11/2026 10:00",
             "2026-11-17T10:00:00.123+01:00", "2026-11-17T10:00:00\u221201:00", "2026-11-17T10:00:00 +01:00",
             "+2026-11-17T10:00:00+01:00", "0000-01-01", "", "Total", "November 18", "9:05 a.m.", "2026-02-30"]
FORMATS = [None, ["%d/%m/%Y %H:%M"], ["%m/%d/%Y %H:%M", "%Y-%m-%dT%H:%M:%S"], ["%B %d"],
           ["%d/%m/%Y %H:%M%z", "%Y-%m-%d %H:%M:%S%:z"], ["%Y-%m-%dT%H:%M:%S%#z"], ["%d/%m/%Y %I:%M %p"]]


def parsed(raw: pl.DataFrame, options, checked_in_full: bool, monkeypatch: pytest.MonkeyPatch):
    """parse_records' frame, warnings and skipped rows (or error), every row checked in full if asked."""
    with monkeypatch.context() as patch:
        if checked_in_full:
            patch.setattr(tabular, "_plainly_valid", lambda *args: pl.lit(False))
        period = Period(date(2026, 11, 16), date(2026, 11, 22), "Europe/Paris", unit="week")
        ctx = FetchContext(period.start_utc, period.end_utc, [period], Path("."), logging.getLogger("t"), [])
        try:
            frame = tabular.parse_records(raw, options, ctx, Path("f.csv"), tabular.RowPlaces())
        except DataFileError as exc:
            return ("error", str(exc), ctx.problems)
        return (frame.rows(), frame.schema, ctx.problems, ctx.skipped)


def test_plainly_valid_rows_parse_as_the_full_checks_parse_them(monkeypatch: pytest.MonkeyPatch) -> None:
    # 40 tables, not 80: of six faults put by hand into tabular._plainly_valid, these tables catch
    # two (totals labels let through: tables 6, 7 and 60; an empty required value let through: 6,
    # 12, 25, 26, 37 and 47), both within the first 40; the odd-value and odd-date tests below catch
    # those two and a year out of range; 19-digit counts, either decimal mark and rounded ids let
    # through are caught by the three tests after them, one each.
    rng = random.Random(7)
    for _ in range(40):
        rows = rng.randint(1, 8)
        thousands, decimal = rng.choice([None, " ", ".", ","]), rng.choice([".", ","])
        options = CsvSource.Options(path="f.csv", on_error=rng.choice(["fail", "skip"]),
                                    datetime_format=rng.choice(FORMATS), decimal=decimal,
                                    thousands=None if thousands == decimal else thousands)
        likely = rng.sample(DATETIMES, 3)
        raw = pl.DataFrame({
            "platform": ["ig"] * rows, "account": ["a"] * rows,
            "post_id": [rng.choice(["p1", "p2", "p3", "Total", ""]) for _ in range(rows)],
            "published_at": [rng.choice(DATETIMES if rng.random() < 0.3 else likely) for _ in range(rows)],
            "likes": [rng.choice(NUMBERS if rng.random() < 0.4 else NUMBERS[:3]) for _ in range(rows)],
            "reach": [rng.choice(NUMBERS if rng.random() < 0.4 else NUMBERS[:3]) for _ in range(rows)]})
        assert parsed(raw, options, False, monkeypatch) == parsed(raw, options, True, monkeypatch), raw.rows()


@pytest.mark.parametrize("separators", [(None, "."), (" ", ","), (".", ","), (",", "."), ([".", " "], ","),
                                        (["'", ","], ".")])
def test_each_odd_value_alone_in_a_plain_row_parses_as_the_full_checks_parse_it(
        separators: tuple, monkeypatch: pytest.MonkeyPatch) -> None:
    """One odd value per row, every other value plainly valid, so the odd one alone decides
    whether the row skips the checks; ``skip`` lists every bad row, so nothing hides."""
    thousands, decimal = separators
    odd = [(column, value) for column in ("likes", "reach") for value in NUMBERS] + \
        [("post_id", label) for label in ("Total", "Grand total:", "Summary", "Total général")]
    raw = pl.DataFrame({"platform": "ig", "account": "a",
                        "post_id": [v if c == "post_id" else f"p{i}" for i, (c, v) in enumerate(odd)],
                        "published_at": "2026-11-17T10:00:00Z",
                        "likes": [v if c == "likes" else "3" for c, v in odd],
                        "reach": [v if c == "reach" else "9" for c, v in odd]})
    options = CsvSource.Options(path="f.csv", on_error="skip", thousands=thousands, decimal=decimal)
    assert parsed(raw, options, False, monkeypatch) == parsed(raw, options, True, monkeypatch)


@pytest.mark.parametrize("formats", FORMATS, ids=str)
def test_each_odd_date_alone_in_a_plain_row_parses_as_the_full_checks_parse_it(
        formats: list[str] | None, monkeypatch: pytest.MonkeyPatch) -> None:
    values = DATETIMES + ["Sum", "2026-11-17"]
    raw = pl.DataFrame({"platform": "ig", "account": "a", "post_id": [f"p{i}" for i in range(len(values))],
                        "published_at": values, "likes": "3"})
    options = CsvSource.Options(path="f.csv", on_error="skip", datetime_format=formats)
    assert parsed(raw, options, False, monkeypatch) == parsed(raw, options, True, monkeypatch)


COUNTS_AT_THE_EDGE = ["999999999999999999", "1000000000000000000", "9223372036854775807", "9223372036854775808",
                      "9999999999999999999", "10000000000000000000", "0009223372036854775807"]
"""Counts beside the largest whole number a count holds (2^63 - 1 = 9223372036854775807): 18, 19
and 20 digits, the largest and one more, and zeros in front."""


def test_counts_of_19_digits_alone_in_a_plain_row_parse_as_the_full_checks_parse_them(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A count of 19 digits may pass 2^63 - 1, which the plain cast would make an empty cell:
    the full checks must see it (and keep the largest count that fits)."""
    raw = pl.DataFrame({"platform": "ig", "account": "a", "post_id": [f"p{i}" for i in range(len(COUNTS_AT_THE_EDGE))],
                        "published_at": "2026-11-17T10:00:00Z", "likes": COUNTS_AT_THE_EDGE})
    options = CsvSource.Options(path="f.csv", on_error="skip")
    plain = parsed(raw, options, False, monkeypatch)
    assert plain == parsed(raw, options, True, monkeypatch)
    names = plain[1].names()
    kept = {row[names.index("post_id")]: row[names.index("likes")] for row in plain[0]}
    assert kept == {"p0": 999999999999999999, "p1": 1000000000000000000, "p2": 9223372036854775807,
                    "p6": 9223372036854775807}  # p3, p4 and p5 pass 2^63 - 1: bad rows, listed
    assert len(plain[3]) == 3


@pytest.mark.parametrize("decimal", [".", ","])
def test_a_figure_with_the_other_decimal_mark_is_checked_in_full(decimal: str,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A decimal field (traffic's revenue) written with the mark `decimal` does not name ("4,5"
    when it says "."): a thousands separator or a bad value, never read plainly as 4.5."""
    values = ["4.5", "4,5", "12", "0.25", "0,25", "1.234", "1,234", "1.234,5", "1,234.5"]
    raw = pl.DataFrame({"date": "2026-11-17", "source": "ig", "medium": "social",
                        "campaign": [f"c{i}" for i in range(len(values))], "revenue": values})
    options = CsvSource.Options(path="f.csv", record="traffic", on_error="skip", decimal=decimal)
    plain = parsed(raw, options, False, monkeypatch)
    assert plain == parsed(raw, options, True, monkeypatch)
    read = {row[plain[1].names().index("campaign")]: row[plain[1].names().index("revenue")] for row in plain[0]}
    assert read["c0" if decimal == "." else "c1"] == 4.5 and read["c2"] == 12.0
    assert ("c1" if decimal == "." else "c0") not in read  # the other mark: a bad row, listed


def test_an_id_excel_rounded_alone_in_a_plain_row_is_checked_in_full(monkeypatch: pytest.MonkeyPatch) -> None:
    """A post id Excel wrote in scientific notation (1.84300E+18) is a bad row, in a row whose
    every other value is plain too."""
    ids = ["1.84300E+18", "1,84300E+18", "1E+18", "1.843e+18", "184300000000000000", "p9"]
    raw = pl.DataFrame({"platform": "ig", "account": "a", "post_id": ids,
                        "published_at": "2026-11-17T10:00:00Z", "likes": "3"})
    options = CsvSource.Options(path="f.csv", on_error="skip")
    plain = parsed(raw, options, False, monkeypatch)
    assert plain == parsed(raw, options, True, monkeypatch)
    kept = [row[plain[1].names().index("post_id")] for row in plain[0]]
    assert kept == ["184300000000000000", "p9"]
    assert len(plain[3]) == 4 and all("scientific notation" in row for row in plain[3])


EDGE_CHARACTERS = [" ", "\t", "\n", "\r", "\x0b", "\x0c", "\x1c", "\x85", "\u00a0", "\u1680", "\u2009", "\u202f",
                   "\u2028", "\u3000", "\u200b", "\u180e", "\ufeff", "x"]
"""Characters at a value's edge: Unicode spaces (stripped), and characters Python or some
readers take for spaces that Unicode does not (zero-width space, byte-order mark ...)."""


@pytest.mark.parametrize("edge", EDGE_CHARACTERS, ids=repr)
def test_columns_without_spaces_at_their_edges_read_as_stripped_columns(
        edge: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """parse_records strips only the columns where some value has a space at an edge
    (``_with_edge_spaces``): what it gives must be what stripping every column gives."""
    raw = pl.DataFrame({"platform": "ig", "account": [f"{edge}a", f"b{edge}", "c"], "post_id": ["p1", "p2", f"{edge}p3"],
                        "published_at": ["2026-11-17T10:00:00Z", f"2026-11-18T10:00:00Z{edge}", "2026-11-19T10:00:00Z"],
                        "likes": [f"{edge}3", "4", f"5{edge}"]})
    options = CsvSource.Options(path="f.csv", on_error="skip")
    shortcut = parsed(raw, options, False, monkeypatch)
    with monkeypatch.context() as patch:
        patch.setattr(tabular, "_with_edge_spaces", lambda raw, columns: set(columns))
        assert parsed(raw, options, False, monkeypatch) == shortcut


def test_formats_tried_in_turn_read_as_the_first_format_that_fits() -> None:
    text = pl.Series("t", DATETIMES * 3)
    years = tabular.Years(Period(date(2026, 11, 16), date(2026, 11, 22), "UTC").end_utc, date(2026, 11, 22))
    for formats in [list(tabular.ISO_DATETIME_FORMATS)] + [f for f in FORMATS if f]:
        everything_at_once = text.to_frame().select(
            tabular._read_datetimes(pl.col("t"), formats, "Europe/Paris", years)[0]).to_series()
        in_turn = tabular._read_times(text, "datetime", formats, "Europe/Paris", years)
        assert in_turn.equals(everything_at_once, check_names=False, null_equal=True), formats


@pytest.mark.parametrize("late_day", [13, None])
def test_the_day_month_check_samples_a_large_column_without_missing_a_swapped_date(
        late_day: int | None, monkeypatch: pytest.MonkeyPatch) -> None:
    """5,000 dates that read both ways, and (or not) one late in the file that reads only
    swapped: the sample must not settle the question either way."""
    dates = [f"{1 + i % 12:02d}/{1 + i % 12:02d}/2026 10:{i % 60:02d}" for i in range(5000)]
    if late_day:
        dates[4321] = f"{late_day}/11/2026 10:00"
    raw = pl.DataFrame({"platform": ["ig"] * 5000, "account": ["a"] * 5000,
                        "post_id": [f"p{i}" for i in range(5000)], "published_at": dates})
    options = CsvSource.Options(path="f.csv", datetime_format="%m/%d/%Y %H:%M")
    result = parsed(raw, options, False, monkeypatch)
    if late_day:
        assert result[0] == "error" and "item 4322" in result[1] and "%d/%m/%Y %H:%M" in result[1]
    else:
        assert result[0] != "error"
