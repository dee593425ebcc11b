"""The ``xlsx`` source: records from a sheet of a workbook (.xlsx, .xlsm, .xls, .ods), read by
:mod:`workbooks` and parsed by the same code as the ``csv`` source (:mod:`tabular`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable

from cmflow import RecordTable, Source, hookimpl

from cmflow.builtin.sources.tabular import DataFileError, parse_records
from cmflow.builtin.sources.workbooks import XlsxOptions, open_sheet, read_sheet

if TYPE_CHECKING:
    from cmflow import FetchContext


class XlsxSource(Source):
    """Reads records from one sheet of a workbook, mapping its columns to canonical fields.

    The mapping options, the checks on every value and row, `on_error` and the handling of
    duplicates are those of the `csv` source (see its page). What differs:

    - **The sheet**: `sheet` names it or gives its position from 1 (default: the first); an
      unknown name is an error listing the workbook's sheets.
    - **The header**: `header_row` gives its row; by default it is the first row (of the first
      50) holding a column for every field `columns` maps (one of them for a field mapped to a
      list of columns), so a notice sentence above the header (LinkedIn's exports) is skipped.
      Rows are named in messages as Excel numbers them (`sheet "All posts", row 7`); empty rows
      are ignored.
    - **Cells**: dates may be Excel dates or date-times, or text in `date_format` /
      `datetime_format`, even in one column. Numbers may be stored as numbers or as text, even
      in one column: text follows `decimal` and `thousands`; a cell stored as a number is read as
      that number whatever they say. An empty cell is no value. A cell holding a spreadsheet
      error (`#DIV/0!`, `#N/A`, `#REF!` ...) or a formula whose result the workbook does not hold
      (written by a program, never calculated) is a bad value naming its sheet, row and column,
      never read as empty (.xlsx and .xlsm; .xls and .ods cells are read as the reader gives them).
    - **The file**: a file that is not a workbook (a CSV file saved as .xlsx) or a damaged one
      is an error naming the file and what to do.
    """

    name = "xlsx"
    description = "Read posts, account snapshots or other records from a sheet of an Excel workbook."
    Options = XlsxOptions
    record_kinds = ()

    def produces(self) -> set[str]:
        return {self.options.record}

    def platforms(self) -> frozenset[str] | None:
        """The platform of ``constants``, when it gives one."""
        return self.options.constant_platforms()

    def fetch(self, ctx: FetchContext) -> Iterable[RecordTable]:
        options: XlsxOptions = self.options
        path = ctx.resolve_path(options.path)
        table = read_sheet(path, options)
        yield RecordTable(options.record, parse_records(table.frame, table.options, ctx, path, table.places))

    def check_credentials(self, ctx: FetchContext) -> list[Any]:
        """The workbook exists, opens and holds the sheet (`validate` does not look at it)."""
        from cmflow import CredentialCheck

        check = CredentialCheck.for_file(self, ctx, self.options.path)
        if check.status == "ok":
            try:
                open_sheet(ctx.resolve_path(self.options.path), self.options.sheet)
            except DataFileError as exc:
                return [check.flag("fail", str(exc))]
        return [check]


@hookimpl
def register_sources(register):
    register(XlsxSource)
