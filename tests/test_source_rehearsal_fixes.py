"""What the acceptance rehearsal of issue 14 found in the file sources, each on real-shaped files
made here: spreadsheet errors in count cells (read as empty, a silent wrong number), advice the
export source cannot follow, and a workbook's bad rows listed one sheet at a time."""

from __future__ import annotations

import logging
import re
from datetime import date, datetime, timezone
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from cmflow import DataFileError, FetchContext, Period
from cmflow.builtin.sources.csv_source import CsvSource
from cmflow.builtin.sources.export_source import ExportOptions, ExportSource, read_table
from cmflow.builtin.sources.xlsx_source import XlsxSource

EXPORTS = Path(__file__).parent / "fixtures" / "exports"
NOVEMBER = Period(date(2026, 11, 1), date(2026, 11, 30), "UTC", unit="month")


def context(directory: Path) -> FetchContext:
    return FetchContext(NOVEMBER.start_utc, NOVEMBER.end_utc, [NOVEMBER], directory, logging.getLogger("cmflow.test"),
                        [], as_of=datetime(2026, 12, 2, tzinfo=timezone.utc))


def fetch(source: object, directory: Path) -> dict[str, pl.DataFrame]:
    return {table.kind: table.conformed() for table in source.fetch(context(directory))}


def failure(source: object, directory: Path) -> DataFileError:
    with pytest.raises(DataFileError) as caught:
        fetch(source, directory)
    return caught.value


def lines(error: DataFileError) -> list[str]:
    """The bad rows an error lists: its details, or its message for a single row."""
    return list(error.details) or [str(error)]


# -- spreadsheet errors in count cells ------------------------------------------------------------
def posts_workbook(path: Path, likes: list[object]) -> Path:
    """A sheet of posts as a spreadsheet saves it, one like count per post: "#DIV/0!" and
    "#N/A" are written as error cells (openpyxl writes Excel's error codes so), "=..." as a
    formula whose result the file does not hold (written by a program, never calculated)."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Posts"
    sheet.append(["platform", "account", "post_id", "published_at", "likes", "reach"])
    for number, value in enumerate(likes, start=1):
        sheet.append(["instagram", "lumen", f"p{number}", f"2026-11-0{number}T10:00:00", value, 100])
    book.save(path)
    return path


def test_error_cells_in_a_count_column_are_bad_rows_naming_sheet_row_and_column(tmp_path: Path) -> None:
    """Without the fix the three cells read as empty: likes "no value", the run went on with
    12 likes as the total of four posts."""
    posts_workbook(tmp_path / "posts.xlsx", [12, "#DIV/0!", "#N/A", "=B2/0"])
    error = failure(XlsxSource(XlsxSource.Options(path="posts.xlsx"), entry_id="x"), tmp_path)
    assert "3 bad rows" in str(error)
    rows = lines(error)
    assert rows[0].startswith('sheet "Posts", row 3, post_id "p2", column "likes": value "#DIV/0!" is a spreadsheet '
                              "error (a formula in the sheet failed), not a value: fix the formula in the sheet")
    assert 'values.likes = { "#DIV/0!" = "" }' in rows[0]
    assert rows[1].startswith('sheet "Posts", row 4, post_id "p3", column "likes": value "#N/A" is a spreadsheet error')
    assert rows[2].startswith('sheet "Posts", row 5, post_id "p4", column "likes": value "=B2/0" is a formula whose '
                              "result the file does not hold")


def test_error_cells_skipped_leave_the_good_rows(tmp_path: Path) -> None:
    posts_workbook(tmp_path / "posts.xlsx", [12, "#VALUE!", 30])
    frame = fetch(XlsxSource(XlsxSource.Options(path="posts.xlsx", on_error="skip"), entry_id="x"), tmp_path)["post"]
    assert frame["post_id"].to_list() == ["p1", "p3"] and frame["likes"].to_list() == [12, 30]


def test_a_sheet_starting_further_right_places_the_error_in_its_cell(tmp_path: Path) -> None:
    """The reader's columns start at the sheet's first column holding a value (here C), not at A."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet["C1"], sheet["D1"], sheet["E1"] = "post_id", "published_at", "likes"
    sheet["C2"], sheet["D2"], sheet["E2"] = "p1", "2026-11-02", "#REF!"
    book.save(tmp_path / "posts.xlsx")
    options = XlsxSource.Options(path="posts.xlsx", constants={"platform": "instagram", "account": "lumen"})
    error = failure(XlsxSource(options, entry_id="x"), tmp_path)
    assert 'row 2, post_id "p1", column "likes": value "#REF!" is a spreadsheet error' in str(error)



def test_a_formula_never_calculated_left_of_the_data_does_not_shift_the_columns(tmp_path: Path) -> None:
    """The reader starts at column B (A holds only a formula with no stored value, which it does
    not count); the scan counted A, put the #DIV/0! of C into D (comments, which holds 3, so it
    was not written) and likes was read as empty: "no value", in silence."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet["B1"], sheet["C1"], sheet["D1"], sheet["E1"] = "post_id", "likes", "comments", "published_at"
    sheet["A2"], sheet["B2"], sheet["C2"], sheet["D2"], sheet["E2"] = "=C2*0", "p1", "#DIV/0!", 3, "2026-11-02"
    book.save(tmp_path / "posts.xlsx")
    options = XlsxSource.Options(path="posts.xlsx", constants={"platform": "instagram", "account": "lumen"})
    error = failure(XlsxSource(options, entry_id="x"), tmp_path)
    assert 'row 2, post_id "p1", column "likes": value "#DIV/0!" is a spreadsheet error' in str(error)

@pytest.mark.parametrize("value", ["#DIV/0!", "#N/A", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#NULL!"])
def test_a_spreadsheet_error_as_text_in_a_csv_file_has_its_own_hint(tmp_path: Path, value: str) -> None:
    """A CSV file saved from a spreadsheet writes the error as text: not "set thousands or
    decimal" (it was, for #DIV/0!), nor a "no value" mark (it was, for #N/A)."""
    (tmp_path / "posts.csv").write_text("platform,account,post_id,published_at,likes\n"
                                        f"instagram,lumen,p1,2026-11-02T10:00:00,{value}\n", encoding="utf-8")
    message = str(failure(CsvSource(CsvSource.Options(path="posts.csv"), entry_id="c"), tmp_path))
    assert f'line 2, post_id "p1", column 5 "likes": value "{value}" is a spreadsheet error' in message
    assert "thousands" not in message and "only an empty cell" not in message


def linkedin_workbook(path: Path) -> Path:
    """LinkedIn's content export with a spreadsheet's marks in both sheets: row 4 of Metrics has
    #DIV/0! for its impressions, row 3 of All posts #N/A for its likes (an edited download)."""
    book = openpyxl.load_workbook(EXPORTS / "linkedin-content.xlsx")
    metrics, posts = book["Metrics"], book["All posts"]
    header = [cell.value for cell in metrics[2]]
    metrics.cell(row=4, column=header.index("Impressions (total)") + 1, value="#DIV/0!")
    header = [cell.value for cell in posts[2]]
    posts.cell(row=3, column=header.index("Likes") + 1, value="#N/A")
    book.save(path)
    return path


def test_an_export_workbook_lists_the_bad_rows_of_every_sheet(tmp_path: Path) -> None:
    """on_error = "fail" on a workbook of two sheets: both sheets' bad rows, in sheet order (it
    stopped at the first sheet's). The advice names what the export source accepts."""
    linkedin_workbook(tmp_path / "linkedin.xlsx")
    error = failure(ExportSource(ExportSource.Options(path="linkedin.xlsx", account="lumen"), entry_id="e"), tmp_path)
    rows = lines(error)
    assert "2 bad rows" in str(error)
    assert rows[0].startswith('sheet "Metrics", row 4, date "11/17/2026", column "Impressions (total)": value '
                              '"#DIV/0!" is a spreadsheet error')
    assert rows[1].startswith('sheet "All posts", row 3, post_id "') and 'column "Likes": value "#N/A"' in rows[1]
    assert all('plugin = "csv" (or "xlsx")' in row for row in rows)


def test_inspect_reports_error_cells_as_problems(tmp_path: Path) -> None:
    from cmflow.builtin.sources.export_inspection import inspect_export

    answer = inspect_export(linkedin_workbook(tmp_path / "linkedin.xlsx"), read_table, ExportOptions,
                            now=datetime(2026, 12, 2, tzinfo=timezone.utc))
    problems = [p for table in answer.tables for p in table.problems]
    assert any('row 4' in p and '"#DIV/0!" is a spreadsheet error' in p for p in problems), problems
    assert any('row 3' in p and '"#N/A" is a spreadsheet error' in p for p in problems), problems


# -- the export source's advice, and Meta's export saved again day first --------------------------
def day_first(text: str) -> str:
    """Meta's month-first publish times (11/16/2026 09:05) as a spreadsheet saves them day first."""
    return re.sub(r'"(\d{2})/(\d{2})/(\d{4}) ', r'"\2/\1/\3 ', text)


def test_a_meta_export_saved_day_first_is_read_with_date_order(tmp_path: Path) -> None:
    original = (EXPORTS / "meta-facebook-posts.csv").read_text(encoding="utf-8-sig")
    (tmp_path / "fb.csv").write_text("\ufeff" + day_first(original), encoding="utf-8")
    message = str(failure(ExportSource(ExportSource.Options(path="fb.csv"), entry_id="e"), tmp_path))
    assert message.endswith('set date_order = "day_first" on this source')
    assert "datetime_format" not in message  # an option the export source refuses
    read = fetch(ExportSource(ExportSource.Options(path="fb.csv", date_order="day_first"), entry_id="e"), tmp_path)
    (tmp_path / "original").mkdir()
    (tmp_path / "original" / "fb.csv").write_text("\ufeff" + original, encoding="utf-8")
    expected = fetch(ExportSource(ExportSource.Options(path="original/fb.csv"), entry_id="e"), tmp_path)
    assert read["post"]["published_at"].to_list() == expected["post"]["published_at"].to_list()
    assert read["post"]["published_at"][0] == datetime(2026, 11, 16, 9, 5, tzinfo=timezone.utc)


def test_the_export_sources_advice_names_no_option_it_refuses(tmp_path: Path) -> None:
    """A mark and a number in another locale in a Meta export: the advice is the export source's
    (download it again, or the csv source with a mapping), never `values`, `thousands` or
    `decimal` set on this source, which refuses them."""
    original = (EXPORTS / "meta-facebook-posts.csv").read_text(encoding="utf-8-sig")
    edited = original.replace(",5200,3900,151,120,", ",5200,3900,151,n/a,", 1)
    assert edited != original
    (tmp_path / "fb.csv").write_text("\ufeff" + edited, encoding="utf-8")
    message = str(failure(ExportSource(ExportSource.Options(path="fb.csv"), entry_id="e"), tmp_path))
    assert 'value "n/a" is not a number' in message
    assert 'read it with plugin = "csv" (or "xlsx") and a `columns` mapping and values.likes' in message
    for option in ("thousands", "decimal", "values", "date_format", "datetime_format"):
        assert option not in ExportOptions.model_fields  # so the advice names them only with plugin = "csv"
    assert "if the export writes a mark for it" not in message  # the csv source's advice
