"""The ``csv`` source: posts, snapshots or any record kind from a CSV export (read by
:mod:`csv_tables`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable

from cmflow import RecordTable, Source, hookimpl

from cmflow.builtin.sources.csv_tables import CsvOptions, check_header, past_excel_separator, read_csv_file
from cmflow.builtin.sources.export_text import check_export
from cmflow.builtin.sources.steady_files import read_steadily
from cmflow.builtin.sources.tabular import RecordParser, columns_read

if TYPE_CHECKING:
    from cmflow import FetchContext


class CsvSource(Source):
    """Reads records from a CSV file, mapping its columns to canonical fields.

    What the file must hold, and what cmflow does otherwise:

    - **The file**: a 0-byte or blank file is an error (a failed export must not look like a
      quiet week); a header line without rows is a period without records. A byte-order mark
      (UTF-8 or UTF-16) decides the encoding; otherwise `encoding` does, and text that is not
      in it is an error naming the line and the encoding it looks like (e.g. cp1252).
    - **The header**: every mapped column must be in it (the error lists the header's columns,
      with the closest name); a column the source reads may not appear twice. Names are
      matched without surrounding spaces or a stray byte-order mark, with no-break spaces as
      spaces. `header_row` says which line holds it (2 for LinkedIn exports saved as CSV,
      whose first line is a notice); the lines above it are skipped as lines, whatever they
      hold (a stray quote in a notice too). A first line `sep=;`, the separator directive
      Excel writes and reads, is passed over by itself, as Excel writes it again when the sheet
      held it as a cell: padded with the separator (`sep=;;;;`), quoted (`"sep=;";;;`), after a
      byte-order mark (the header is then on line 2; a `sep=` line whose separator, the
      padding's, else the one it names, is not `delimiter` is an error saying which to set). When the
      mapped columns are on a later line, the error says which. A field mapped to a list of columns (`text = ["Description", "Title"]`)
      takes, on each row, the first of them that is not empty, and an error about its value
      names the column it came from.
    - **Lines that are not records**: a line repeating the header (exports pasted one after
      the other) and a line of prose describing the columns right under the header (older
      Meta exports) are skipped with a warning; neither holds a figure. A totals row
      ("Total", "Summary", "Total général" ... in the post id or date column) is a bad row:
      counting it would count every post twice.
    - **Rows**: errors name the physical line a row starts on (a quoted caption may span
      several lines) and the column by number and name. A row with more or fewer fields than
      the header is a bad row (empty trailing fields, as some spreadsheets add, are allowed);
      blank lines are ignored.
    - **Values**: only an empty cell means "no value" (an empty counter is left out of totals
      and rates, never 0; with `empty = "zero"` the empty cells of counter columns, every
      whole-number field but `followers`, are read as 0 and a warning counts them per column);
      `-`, `n/a` or `—` in a number column
      are bad values (map them to empty with `values`, e.g. `values.reach = { "-" = "" }`).
      Counts (likes, reach, followers ...) are whole numbers from 0 to 2^63 − 1, written out
      in full: negative, fractional, percentage, scientific (`1E+30`), NaN or infinite values
      are bad. Spaces between groups of three digits (ordinary, no-break U+00A0 or narrow
      no-break U+202F) are always thousands separators; `thousands` names the others, one or
      a list (`thousands = "."` with `decimal = ","` when a French column mixes `6 143` and
      `6.342`: spaces need not be listed). A separator that
      does not split the digits in groups of three is bad (`120 80` is two numbers, `4.21`
      with `thousands = "."` a decimal). With `decimal = ","`, a `.` that `thousands` does not
      list makes a count or a decimal (revenue, cost) bad: `6.342` is as often 6 342 as 6.342. Dates must fall in the years 1990 to 2199; a format
      without a year (`%B %d`, TikTok's `November 18` or `October 1`) takes `default_year`,
      or else the latest year that puts it on or before the latest day the file can hold:
      today (no export holds a day after it is read), or 31 days after the later of the run's
      as-of day (`--as-of`, else today) and its period's last day, if that comes first; a
      December report re-run on January 2 with `--as-of` December 31 keeps a file's January 1
      in the new year. When
      the rows are in date order (oldest or newest first), the newest date is placed so and the
      year steps down at each turn of the year, so December 30 to January 2 read in January are
      2026-12-30 to 2027-01-02. A February 29 takes its neighbours with it: the whole run of
      years steps back to the latest one that puts the 29th in a leap year (February 28, 29
      and March 1 in order, read in 2026, are all in 2024, never the 29th alone); in a file in
      no date order each date gets its own year, February 29 the latest leap year.
      A time entry's `hours` is a number as `decimal` and `thousands` say, or a duration in
      any form trackers and sheets write (`02:30:00`, `150:00:00`, `2,5`, `2h30`, `1h 05min`,
      `45 min`, `PT2H30M`); anything else, or a negative duration, is bad.
      A date that does not read in the declared format but does with day and month swapped (`18/11` read as `%m/%d`) fails the
      whole file, even with `on_error = "skip"`, since the dates before it that read both ways
      (`05/11`) would be wrong; when every date reads both ways and only the swapped reading
      puts them in the run's periods, or the declared reading puts some after the day the file
      was read and the swapped one none (a file French Excel saved again, days all 12 or less:
      `12/11` read as December 11 on December 7), a warning says so and names the option to
      set (the run ends `warning`). A record dated after the latest day the file can hold (above; a day of slack for
      time zones) is a warning naming the file, its lines and dates (day and month swapped, a
      wrong year?); plans (`calendar_item`) are dated ahead and are not. A local time skipped when the clocks
      go forward is an error saying the file is in another time zone; `a.m.`/`p.m.` read as
      AM/PM with `%p`.
    - **Plausibility**: posts with more interactions than reach (an ERR over 100 %) are kept,
      with a warning naming their lines (two columns swapped in `columns`?).
    - **Duplicates**: the same record twice (a post id on two lines) counts once, with a
      warning naming both lines; when the copies' values differ, both are bad rows, and the
      message says which values differ.
    - A bad row stops the source (`on_error = "fail"`, the default) with an error listing
      every bad row (line, record, column, value, reason): one per line under the error in the run summary, up to twenty;
      rows failing the same way as more than three others (every date of a column in a form
      no format reads) are one group: the first in full, two more by line and value, then
      "also lines 5–11, 13–41 like these" (every other line), the reason and its advice said once. Past twenty, or when
      a group counts rows, all of them are in `bad-rows/<export path>.bad-rows.csv` beside the workflow file,
      which the message names (values that would run as spreadsheet formulas start with an
      apostrophe). With `on_error = "skip"` bad rows are left out and the figures are those
      of the rows kept: every skipped row is listed with its line and reason in the run
      summary (the first ten; `cmflow run -v` prints all) and in the HTML report's footer.
    - **A file rewritten while it is read** (a download or a sync still writing it): its size
      and modification time are compared before and after the read; on a change (a sync
      client or an antivirus may only touch it) the file is given up to a second to stand
      still and read once more, and a change again is an error naming the file ("it changed
      while cmflow read it ...; run again when it is complete"), never figures from two
      versions of it (the `xlsx`, `export` and `calendar_sheet` sources do the same).
    - **Memory**: the file is read from its path a block at a time, never whole; a regular
      file is split by Polars a chunk of rows at a time, and from the first chunk that is not
      regular (a blank line, a ragged row) on, line by line, each row read once; of each chunk
      only the columns the mapping reads are kept once its rows are checked, and the chunk is
      parsed then, so that only one chunk of text is held beside the records (what spans
      chunks, a repeated record or day and month the other way round, is settled at the end):
      reading an export peaks at about 2.5 to 2.8 times its size (Polars' own read_csv: about 3).
    """

    name = "csv"
    description = "Read posts, account snapshots or other records from a CSV export."
    Options = CsvOptions
    record_kinds = ()

    def produces(self) -> set[str]:
        return {self.options.record}

    def platforms(self) -> frozenset[str] | None:
        """The platform of ``constants``, when it gives one."""
        return self.options.constant_platforms()

    def fetch(self, ctx: FetchContext) -> Iterable[RecordTable]:
        options: CsvOptions = self.options
        path = ctx.resolve_path(options.path)
        kept = lambda names: columns_read(options, names)  # noqa: E731  the columns the mapping reads
        header_row = past_excel_separator(path, options.encoding, options.delimiter, options.header_row)
        # each chunk of text is parsed as it is read: the file's text is never all held beside the records
        def parsed() -> "tuple[RecordParser, Any]":  # afresh on each read (a file touched meanwhile is read again)
            parser = RecordParser(options, ctx, path)
            return parser, read_csv_file(path, options.encoding, options.delimiter, header_row, kept, parser.add)

        parser, table = read_steadily(path, parsed)
        check_header(table, options, path)
        table.warn_lines_set_aside(ctx, path)
        yield RecordTable(options.record, parser.finish(table.bad))

    def check_credentials(self, ctx: FetchContext) -> list[Any]:
        """The export exists, is not empty and decodes in ``encoding`` (`validate` does not look at it)."""
        return [check_export(self, ctx, self.options.path, self.options.encoding)]


@hookimpl
def register_sources(register):
    register(CsvSource)
