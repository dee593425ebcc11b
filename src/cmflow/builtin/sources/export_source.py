"""The ``export`` source: records from the exports platforms' analytics pages write, each file
recognised from its header or sheets (see :mod:`cmflow.builtin.sources.export_formats`).

A file, a folder or a glob: each file is identified (:func:`identify`), each of its known tables
is mapped with its format's preset and parsed by the same code as the ``csv`` and ``xlsx``
sources. Records of one format read from several files count once (the copy from the file with
the newest records wins); records of one kind from several formats for the same account and day
(LinkedIn's Metrics sheet and New followers sheet) are merged column by column.
"""

from __future__ import annotations

import glob
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Literal, Optional

from pydantic import Field

from cmflow import (COUNTERS, DataFileError, FileInspection, InspectsFiles, PluginOptions, RECORD_KINDS, RecordTable,
                    RunWarning, Source, TimeZoneName, WholeNumber, hookimpl, merged_records)

from cmflow.builtin.sources.bad_rows import BadRowsError, report_bad_rows
from cmflow.builtin.sources.export_detection import IdentifiedTable, identify
from cmflow.builtin.sources.export_formats import KNOWN_FORMATS, ExportFormat, format_named
from cmflow.builtin.sources.export_formats.format import joined_column
from cmflow.builtin.sources.table_ranges import range_unknown_note, table_range
from cmflow.builtin.sources.tabular import (EARLIEST_YEAR, LATEST_YEAR, Advice, MappingOptions, RecordParser,
                                            RowPlaces, parse_records)

if TYPE_CHECKING:
    from datetime import date

    import polars as pl

    from cmflow import FetchContext

GLOB_CHARACTERS = "*?["
BUNDLED = "builtin:"
"""A path starting so names exports cmflow ships (``builtin:demo/exports/...``, the demo's)."""
IGNORED_PREFIXES = (".", "~$")
"""Files in a folder that are not exports: hidden files (.DS_Store) and Excel's lock files (~$...)."""
YEARLESS = ("%B %d", "%d %B", "%b %d", "%d %b")
ACCOUNT_IN_LINKS = "\x00account in the post links"
"""The account read while reading a table whose records each name theirs in their link (X's post
exports without `account`): replaced by the handle in each link (:func:`account_from_links`)."""


class ExportOptions(PluginOptions):
    path: str = Field(
        description="An export file, a folder of exports, or a glob such as \"exports/tiktok-*.csv\" (exports "
        "arrive one per month): relative to the workflow file, or absolute. Every file must be of a known "
        "format; in a folder, hidden files and Excel's lock files (~$...) are passed over, and subfolders are "
        "not read (a glob such as \"exports/**/*.csv\" reads them). builtin:demo/exports/... names the demo's "
        "bundled exports.",
        examples=["exports/", "exports/tiktok-*.csv", "exports/linkedin-content.xlsx"])
    account: Optional[str] = Field(
        None, description="The account's handle, for exports that do not name it (LinkedIn, TikTok Studio, "
        "YouTube Studio, X's account overview): required when such a file is read. Exports that name it keep "
        "their own: Meta's (`Page name`, `Account username`), and X's post exports, whose post links hold the "
        "handle (used when `account` is not given). When every file read names its account and one names "
        "another, the run summary says so (use `where` to keep one account of such a file).",
        examples=["maison.lumen"])
    format: Optional[Literal[tuple(f.name for f in KNOWN_FORMATS)]] = Field(  # type: ignore[valid-type]
        None, description="Accept only this known format (see docs/exports.md) instead of recognising each "
        "file: a file of another format is then an error.", examples=["tiktok_overview"])
    timezone: Optional[TimeZoneName] = Field(
        None, description="Time zone of publish times and time trackers' start times written without an "
        "offset (every known export). Default: the workflow's time zone.", examples=["Europe/Paris"])
    default_year: Optional[WholeNumber] = Field(
        None, ge=EARLIEST_YEAR, le=LATEST_YEAR,
        description="Year of dates written without one (TikTok Studio's \"November 18\"). Without it, each "
        "date gets the latest year that puts it on or before today, or 31 days after the run's as-of day or "
        "its period's last day (whichever is later) if that comes first, stepping down a year at each turn of the year in a file in date order, as the csv "
        "source's default_year says.",
        examples=[2026])
    on_error: Literal["fail", "skip"] = Field(
        "fail", description="fail: a bad value stops the source with an error naming the file, line (or "
        "sheet and row) and column; skip: bad rows are left out, and each is listed in the run summary "
        "and the report's footer.")
    task_type_from: Literal["tags", "task", "project", "none"] = Field(
        "tags", description="Time trackers' exports (Toggl Track, Clockify): where a time entry's task type "
        "(blog article, short video ...) is read: tags (the first of the entry's tags), task, project, or "
        "none.", examples=["task"])
    campaign_from: Literal["project", "tags", "task", "client", "none"] = Field(
        "project", description="Time trackers' exports: where a time entry's campaign is read: project (the "
        "tracker's project), tags (the first tag), task, client, or none.", examples=["tags"])
    date_order: Optional[Literal["month_first", "day_first"]] = Field(
        None, description="The order of day and month in the file's dates. Clockify's exports write the order "
        "its user chose (11/03/2026 month first, Clockify's default, or 03/11/2026 day first); unset, it is told "
        "from the file (a day after the 12th settles it), else month first, with a warning in the run summary. "
        "Other formats write theirs (Meta's, LinkedIn's and X's month first): set it for an export opened and "
        "saved again in a spreadsheet that rewrote its dates day first (18/11/2026 09:05).",
        examples=["day_first"])


class ExportAdvice(Advice):
    """What a message about a bad value in a known export tells the user: the export source maps
    each format itself, so it names what this source accepts (`date_order`), else to download the
    export again or to read the file with the csv (or xlsx) source and a mapping of their own."""

    OTHER_SOURCE = 'read it with plugin = "csv" (or "xlsx") and a `columns` mapping'

    def separators(self) -> str:
        return ("export the file again as downloaded (a spreadsheet that saved it may have rewritten its "
                f"numbers), or {self.OTHER_SOURCE} with `thousands` and `decimal`")

    def no_value_mark(self, field: str) -> str:
        return ("the export writes an empty cell for none, so the file was edited: empty the cell or put the "
                f"figure back, or {self.OTHER_SOURCE} and values.{field} = {{ \"{{value}}\" = \"\" }}")

    def spreadsheet_error(self, field: str) -> str:
        return (f"fix the formula in the sheet or export the file again, or {self.OTHER_SOURCE} and "
                f"values.{field} = {{ \"{{value}}\" = \"\" }}")

    def date_formats(self) -> str:
        return ("the export writes its dates so: fix the cell or export the file again as downloaded (a "
                "spreadsheet that saved it may have rewritten its dates; if it wrote them day first, set "
                f"date_order = \"day_first\" on this source), or {self.OTHER_SOURCE} and `date_format`")

    def day_month(self, option: str, swapped: str) -> str:
        order = "day_first" if swapped.find("%d") < swapped.find("%m") else "month_first"
        return f'set date_order = "{order}" on this source'

    def mapped_by(self, field: str) -> str:
        return (f"the column this export's format reads {field} from: the file was edited, or it is another "
                f"export; export it again as downloaded, or {self.OTHER_SOURCE}")


EXPORT_ADVICE = ExportAdvice()


def in_order(formats: Iterable[str], order: Optional[str]) -> list[str]:
    """Date formats with day and month in ``order`` ("day_first" or "month_first"; None: as they are);
    ISO formats (a year first) stay as they are."""
    def reordered(fmt: str) -> str:
        if fmt.startswith("%Y") or "%d" not in fmt or "%m" not in fmt:
            return fmt
        day_first = fmt.find("%d") < fmt.find("%m")
        if order is None or day_first == (order == "day_first"):
            return fmt
        return fmt.replace("%d", "\0").replace("%m", "%d").replace("\0", "%m")
    return [reordered(f) for f in formats]


@dataclass
class ReadTable:
    """The records of one known table of one file."""

    path: Path
    table: IdentifiedTable
    frame: "pl.DataFrame"
    """Canonical columns of the table's record kind."""
    not_records: int = 0
    """Rows left out before reading because the format says they are not records (a Total row)."""
    rows: int = 0
    """Rows under the header that are not blank, as read (records, before any check of their values)."""
    left_out: "pl.DataFrame | None" = None
    """The rows left out as no records, as their text was read (a Total row: see
    :func:`note_total_row_difference`); None when there is none."""
    mapping: "MappingOptions | None" = None
    """The options the table's cells were read with (its number separators ...)."""

    @property
    def format(self) -> ExportFormat:
        return self.table.format


class ExportSource(Source, InspectsFiles):
    """Reads the exports of platforms' analytics pages, recognising each file by itself.

    Give it a file, a folder or a glob; each file's format is told from its header (a workbook's:
    from each sheet's), and the columns are mapped as that format needs, with its traps handled
    ([exports.md](../exports.md) lists the formats, the columns read and ignored, and the traps).

    - **Recognising**: a table is of a format when every one of the format's identifying column
      names is in one of its first 5 rows. A file of no known format is an error listing the
      known formats and the closest one, with the columns it lacks; in a folder too (never
      passed over in silence). `format` accepts one format only.
    - **The account**: read from the file where it names it (Meta's `Page name` or `Account
      username`; X's post exports, from each post's link, unless `account` is given); `account`
      names it for the others (LinkedIn, TikTok Studio, YouTube Studio, X's account overview), and
      such a file read without `account` is an error.
    - **Values**: checked as the csv and xlsx sources check them (errors name the file, the line or
      sheet and row, and the column; `on_error = "skip"` leaves bad rows out and lists them).
    - **Several files**: the files are ordered by their newest record (publish time or date), the
      newest first, ties by name; a record (same platform, account and post id or date) found in
      several files of one format is taken from the first, so overlapping monthly exports count each
      day and post once with their latest figures (YouTube Studio's table counts over the export's
      range: a video with other figures in two of its files is an error). Records of one kind from different formats for
      the same account and day (LinkedIn's Metrics and New followers sheets) are merged column by
      column: each figure comes from the format that has it.
    - **Companion files**: files that come in one download with a known export and hold its
      figures again (YouTube Studio's `Chart data.csv` and `Totals.csv` beside `Table data.csv`)
      are passed over with a note in the run summary, never read and never an error.
    - **Memory**: a CSV export is read from its path a block at a time, of each block only the
      columns its format reads are kept (Meta's Facebook export: 13 of 34), and each chunk of
      rows is parsed as it is read, as the csv source does (see there).
    - **Web traffic**: GA4's traffic acquisition downloads and neutral `utm_*` sheets become
      ``traffic`` records (no account: the platform is read from each row's source), read in the
      file's own locale (`;` or `,`, `1 234,50 €` or `€1,234.50`), GA4's `#` lines and totals row
      passed over.
    """

    name = "export"
    description = "Read the files platforms, time trackers and web analytics export, recognising each one."
    Options = ExportOptions
    record_kinds = ()

    def produces(self) -> set[str]:
        if self.options.format:
            return {format_named(self.options.format).record}
        return {f.record for f in KNOWN_FORMATS}

    def accounts(self) -> frozenset[str] | None:
        """The ``account`` option's, when set (its files are one account's)."""
        return frozenset({self.options.account}) if self.options.account else None

    def platforms(self) -> frozenset[str] | None:
        """The ``format`` option's platform, when set (every file is of that format)."""
        return frozenset({format_named(self.options.format).platform}) if self.options.format else None

    def fetch(self, ctx: FetchContext) -> Iterable[RecordTable]:
        files = export_files(self.options.path, ctx.workflow_dir)
        # The fetch stage conforms the records again and cleans their text then: not twice here.
        tables = [read for path in files for read in read_file(path, self.options, ctx, clean_text=False)]
        warn_if_account_unused(tables, self.options, ctx)
        note_table_ranges(tables, ctx)
        for read in tables:
            note_total_row_difference(read, ctx)
        for read in tables:
            for what in what_was_read(read):
                ctx.read_input(what, shown_path(read.path, ctx.workflow_dir))
        if not tables and files and all(identify(path, self.options.format).companion for path in files):
            raise DataFileError(f"{self.options.path}: " + "; ".join(
                identify(path, self.options.format).companion.note(path.name) for path in files)
                + ": point path at the export itself (YouTube Studio: Table data.csv, or the download's folder)")
        for kind, frame in combine(tables).items():
            yield RecordTable(kind, frame)

    inspect_order = 10

    @classmethod
    def inspect_file(cls, path: Path) -> FileInspection:
        """What ``cmflow inspect`` says of the file (see :mod:`export_inspection`)."""
        from cmflow.builtin.sources.export_inspection import inspect_export

        return inspect_export(path, read_table, ExportOptions)

    @classmethod
    def files_in(cls, folder: Path) -> list[Path]:
        """The files of ``folder`` the source reads when its path is the folder."""
        return export_files(str(folder), Path("."))

    @classmethod
    def source_entries(cls, answers: list[FileInspection]) -> list[str]:
        """One entry per format (a folder or a glob for several files of one), see :mod:`export_inspection`."""
        from cmflow.builtin.sources.export_inspection import source_entries

        return source_entries(answers, export_files)

    def check_credentials(self, ctx: FetchContext) -> list[Any]:
        """Every file the path names is there and of a known format (`validate` does not look)."""
        from cmflow import CredentialCheck

        check = CredentialCheck.for_source(self, account=self.options.path, expiry_note="—")
        try:
            files = export_files(self.options.path, ctx.workflow_dir)
            found = [identify(path, self.options.format) for path in files]
        except DataFileError as exc:
            return [check.flag("fail", str(exc))]
        unnamed = [i.path.name for i in found if not self.options.account
                   and not all(t.names_account for t in i.tables)]
        if unnamed:
            check.flag("fail", f"{', '.join(unnamed)} do(es) not name the account: set account = \"...\" "
                               "on this source")
        return [check.note(f"{len(found)} file(s): " + ", ".join(
            f"{i.path.name} ({', '.join(t.format.name for t in i.tables) or i.companion.name + ', passed over'})"
            for i in found))]


def export_files(value: str, base: Path) -> list[Path]:
    """The files ``value`` names: a file, the files of a folder, or those a glob matches (relative
    to ``base``, or bundled with cmflow for ``builtin:...``), sorted by name; an error naming the path when there are none."""
    if value.startswith(BUNDLED):  # the demo's exports, shipped with cmflow
        from importlib.resources import files

        path = Path(str(files("cmflow").joinpath("data", value.removeprefix(BUNDLED))))
    else:
        path = Path(value).expanduser()
        path = path if path.is_absolute() else base / path
    if any(c in value for c in GLOB_CHARACTERS):
        files = sorted(Path(p) for p in glob.glob(str(path), recursive=True) if Path(p).is_file())
        if not files:
            raise DataFileError(f"{path}: no file matches this pattern (path = {value!r}): check the folder "
                                "and the file names, or download the exports there")
        return files
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith(IGNORED_PREFIXES))
        if not files:
            raise DataFileError(f"{path} is an empty folder (path = {value!r}): download the exports there")
        return files
    if not path.exists():
        raise DataFileError(f"{path} does not exist (path = {value!r}): check the path (relative to the "
                            "workflow file) or download the export there")
    return [path]


def read_file(path: Path, options: ExportOptions, ctx: FetchContext, clean_text: bool = True) -> list[ReadTable]:
    """The records of each known table of the file at ``path`` (see :func:`read_table` for ``clean_text``)."""
    identified = identify(path, options.format)
    if identified.companion is not None:
        ctx.warn(identified.companion.note(path.name))
    tables, bad = [], []
    for number, table in enumerate(identified.tables):
        try:
            tables.append(read_table(path, table, options, ctx, clean_text))
        except BadRowsError as exc:  # read the other sheets too: every bad row of the file is listed at once
            bad += [replace(row, order=(number, row.order)) for row in exc.rows]
    if bad:
        report_bad_rows(bad, path, options.on_error, ctx)
    return with_posts_listed(tables)


def what_was_read(read: ReadTable) -> list[str]:
    """What a table holds, as the run history keeps it: its format and each account it names
    (``meta_facebook_posts of Maison Lumen``), or its format alone (no account: web traffic, or
    a file without rows)."""
    accounts = (sorted({str(a) for a in read.frame["account"].drop_nulls().unique().to_list()})
                if "account" in read.frame.columns else [])
    return [f"{read.format.name} of {account}" for account in accounts] or [read.format.name]


def shown_path(path: Path, base: Path) -> str:
    """``path`` from the workflow's folder when it is in it, else as it is."""
    try:
        return str(path.resolve().relative_to(base.resolve()))
    except (ValueError, OSError):
        return str(path)


def with_posts_listed(tables: list[ReadTable]) -> list[ReadTable]:
    """The tables of one file, its days of activity marked ``posts_listed`` when the file also
    holds a list of posts, even an empty one (LinkedIn's content workbook: ``Metrics`` and ``All
    posts``): the account is then counted from its posts, and a month without any is 0 posts
    published; a workbook without its ``All posts`` sheet has no post list."""
    import polars as pl

    if not any(t.table.record == "post" for t in tables):
        return tables
    for read in tables:
        if read.table.record == "account_activity":
            read.frame = read.frame.with_columns(pl.lit(1, dtype=pl.Int64).alias("posts_listed"))
    return tables


def read_table(path: Path, table: IdentifiedTable, options: ExportOptions, ctx: FetchContext,
               clean_text: bool = True) -> ReadTable:
    """The records of one known table of the file at ``path``, their text cleaned of control
    characters unless ``clean_text`` is False (the fetch stage cleans the records a source returns)."""
    if table.format.reader == "traffic":
        from cmflow.builtin.sources.traffic_exports import read_traffic_table

        frame, not_records, rows = read_traffic_table(path, table.format, table.header_row, options.on_error, ctx)
        return ReadTable(path, table, RecordTable(table.record, frame).conformed(), not_records, rows)
    mapping = mapping_options(path, table, options)
    warn_of_places_not_read(path, table.format, options, ctx)
    if table.sheet is None and not table.format.date_order_chosen_by_user:
        frame, height, not_records, left_out = _parsed_csv_table(path, table, mapping, ctx)
    else:  # a workbook's sheet, or dates whose day/month order the whole column tells (Clockify)
        header = None
        if table.sheet is None:
            raw, places, bad, header = _csv_table(path, table, ctx, kept=lambda names: columns_kept(
                table.format, mapping, names))
        else:
            from cmflow.builtin.sources.workbooks import read_sheet

            sheet = read_sheet(path, mapping)
            raw, places, bad, mapping = sheet.frame, sheet.places, [], sheet.options
        raw = with_joined_columns(raw, table.format)
        raw = with_platform_column(raw, table.format)
        if table.format.date_order_chosen_by_user:
            mapping = in_date_order(raw, path, mapping, table.format, options, ctx)
        height, left_out = raw.height, []
        raw, places = without_rows_not_records(raw, places, table.format, left_out)
        every = None if header is None else [*header, *(c for c in raw.columns if c not in header)]  # with made ones
        not_records = height - raw.height
        handed, raw = [raw], None  # parse_records holds the text alone, and lets each column go once parsed
        frame = parse_records(handed.pop(), mapping, ctx, path, places, bad, columns=every,
                              unknown_formats=lambda values: unknown_post_types(path, table.format, values))
    if table.format.id_pattern and "post_id" in frame.columns:
        import polars as pl

        frame = frame.with_columns(pl.col("post_id").str.extract(f"({table.format.id_pattern})", 1)
                                   .fill_null(pl.col("post_id")).alias("post_id"))
    if "account" in frame.columns and (frame["account"] == ACCOUNT_IN_LINKS).any():
        frame = account_from_links(path, frame, table.format)
    frame = first_listed_and_zero_missing(frame, table.format, options)
    return ReadTable(path, table, RecordTable(table.record, frame).conformed(clean_text), not_records, height,
                     _concatenated(left_out), mapping)


def _concatenated(frames: list["pl.DataFrame"]) -> "pl.DataFrame | None":
    import polars as pl

    return pl.concat(frames, how="diagonal_relaxed") if frames else None


def account_from_links(path: Path, frame: "pl.DataFrame", known: ExportFormat) -> "pl.DataFrame":
    """The records with their account taken from their post's link (X: the handle in
    `https://x.com/<handle>/status/<id>`); an error when a record's link names none."""
    import polars as pl

    handle = pl.col("url").str.extract(known.account_in_url or "", 1)
    frame = frame.with_columns(pl.when(pl.col("account") == ACCOUNT_IN_LINKS).then(handle)
                               .otherwise(pl.col("account")).alias("account"))
    unnamed = frame["account"].null_count()
    if unnamed:
        raise DataFileError(f"{path} ({known.title}): {unnamed} post(s) have no link naming the account, "
                            "where the account is read when the file has no account column: set account = "
                            "\"...\" on this source (the account's handle)")
    return frame


def unknown_post_types(path: Path, known: ExportFormat, values: list[str]) -> str:
    """The warning for post types the format does not map (a type the platform added since)."""
    column = known.columns.get("format", "format")
    column = column if isinstance(column, str) else column[0]
    shown = ", ".join(f'"{v}"' for v in values[:5]) + (" ..." if len(values) > 5 else "")
    mapped = ", ".join(f'"{k}"' for k in known.values.get("format", {}))
    return (f'{path.name}: "{column}" value(s) {shown} are post types cmflow\'s {known.name} format does not '
            f"know (it knows {mapped}): those posts are kept, with the type as written as their format, so a "
            f"metric by format shows them on rows of their own; this is a gap in cmflow's {known.name} format: "
            "please report the value to cmflow's maintainers (docs/exports.md lists the known types)")


def warn_if_account_unused(tables: list[ReadTable], options: ExportOptions, ctx: FetchContext) -> None:
    """Files that name their account keep it. When every file the source reads does (so `account`
    names nothing) and a file names another account than `account`, say so: the figures will be
    under the file's name. A source that also reads a file without an account (a brand's folder of
    Meta and TikTok exports) uses `account` for that file, and says nothing."""
    if not options.account or not tables or any(read.format.account_column is None for read in tables):
        return
    for read in tables:
        if "account" not in read.frame.columns:
            continue
        named = sorted(set(read.frame["account"].drop_nulls().to_list()))
        if not named or named == [options.account]:
            continue
        shown = ", ".join(f'"{a}"' for a in named[:5]) + (" ..." if len(named) > 5 else "")
        ctx.warn(f'{read.path.name} names its own account(s) in "{read.format.account_column}" ({shown}): '
                 f'account = "{options.account}" is not used for it (it names the account of exports that do '
                 "not, LinkedIn's, TikTok's, YouTube's and X's); remove it, or keep one account with "
                 "where = { account = ... }")


def note_table_ranges(tables: list[ReadTable], ctx: FetchContext) -> None:
    """Record the range of each table whose counters cover its export's date range (YouTube
    Studio's), with the counters it carries (:meth:`FetchContext.counts_over`): a video published
    before the range has there its views *within* the range, not to date, and no period after
    the range is in the table; the source_gaps stage gives no value to what they cannot tell.
    The range is read from the download's name (:func:`table_range`); a table whose range is
    unknown blanks nothing and is said once (its figures are taken as they are). A table whose
    range does not end with the run's period is said: its figures are that range's."""
    if not ctx.periods:
        return
    current = ctx.periods[0]
    for read in tables:
        if not read.format.counters_over_range or read.frame.height == 0:
            continue
        shown = shown_path(read.path, ctx.workflow_dir)
        counted = table_range(read.path)
        if counted is None:
            ctx.warn(RunWarning(range_unknown_note(shown, read.format.title), "export_range_unknown",
                                {"file": shown}))
            continue
        first, last = counted
        frame = read.frame
        carried = [c for c in COUNTERS if c in frame.columns and frame[c].null_count() < frame.height]
        accounts = frame["account"].drop_nulls().unique().to_list() if "account" in frame.columns else []
        ctx.counts_over(read.format.record, read.format.platform, accounts, first, last, carried)
        if last == current.end:  # a range reaching back further is the advised export
            continue
        ctx.warn(RunWarning(
            f"{shown}: {read.format.title} counts each video's figures over its export's range, "
            f"{first:%Y-%m-%d}..{last:%Y-%m-%d} (the download's name), which does not end with this run's period "
            f"{current.start:%Y-%m-%d}..{current.end:%Y-%m-%d}: its figures are that range's; export the table "
            "with a range ending on the period's last day, reaching back to the oldest video the report counts",
            "export_range_not_period",
            {"file": shown, "range": [(first, last)], "period": [(current.start, current.end)]}))


TOTAL_ROW_COUNTERS = ("video_views", "impressions", "likes", "comments", "shares")
"""The counters a table's Total row is compared on with the sum of its records."""


def note_total_row_difference(read: ReadTable, ctx: FetchContext) -> None:
    """A note when a table's totals row (YouTube Studio's `Total`, left out as no record) is not
    the sum of its records, as read (before any counter is left empty), its figures read with
    the table's own number options: Studio's Total counts the views of every video of the range,
    so it is more when the table lists fewer (past the rows Studio exports, rows left out as
    defective); less means rows listed twice or edited after the export. The figures stay the
    listed rows'. The row is the one the read left out, as decoded (UTF-8, UTF-16 ...): the file
    is not opened again."""
    from cmflow.builtin.sources.tabular import count_read

    total = read.left_out.row(0, named=True) if read.left_out is not None and read.left_out.height else None
    if total is None or read.mapping is None:
        return
    more, less = [], []
    for field in TOTAL_ROW_COUNTERS:
        named = read.format.columns.get(field)
        column = next((c for c in ([named] if isinstance(named, str) else named or ()) if c in total), None)
        if column is None or field not in read.frame.columns or total[column] is None:
            continue
        counted = count_read(str(total[column]), read.mapping, field)
        if counted is None:
            continue
        listed = int(read.frame[field].sum() or 0)
        said = f"{column} {counted:,} in it, {listed:,} over the {read.frame.height} rows read"
        if counted > listed:
            more.append(f"{said} ({counted - listed:,} more)")
        elif counted < listed:
            less.append(f"{said} ({listed - counted:,} less)")
    mark = str(total.get(next(iter(read.format.not_records))) or "").strip()
    if more:
        ctx.warn(f"{read.path.name}: the \"{mark}\" row counts more than its rows add up to: {'; '.join(more)}: "
                 "it counts every video of the range, and the table lists fewer (rows past those Studio exports, "
                 "rows left out as defective); the figures here are the rows read")
    if less:
        ctx.warn(f"{read.path.name}: the \"{mark}\" row counts less than its rows add up to: {'; '.join(less)}: "
                 "rows listed twice or changed after the export would do that; the figures here are the rows "
                 "read: check the file against YouTube Studio")


def with_joined_columns(raw: "pl.DataFrame", known: ExportFormat) -> "pl.DataFrame":
    """The table with a column for each pair the format reads together (`Start date` and `Start
    time`: "2026-11-17 09:00:00"), empty where either is; a workbook's date cell and time cell
    (which the reader writes "2026-11-17 00:00:00" and "1899-12-31 09:00:00") join the same way."""
    import polars as pl

    pairs = [pair for pair in known.joined.values() if set(pair) <= set(raw.columns)]
    if not pairs:
        return raw
    def joined(first: str, second: str) -> "pl.Expr":
        day, time = (pl.col(c).cast(pl.String).str.strip_chars() for c in (first, second))
        # a workbook's cells, as the reader writes them: a date cell at midnight, a time cell on Excel's day 0
        day = day.str.replace(r"^(\d{4}-\d{2}-\d{2}) 00:00:00(\.0+)?$", "$1")
        time = time.str.replace(r"^1899-12-3[01] (\d{2}:\d{2}:\d{2})(\.\d+)?$", "$1")
        return pl.when((day != "") & (time != "")).then(day + " " + time).otherwise(pl.lit("")) \
            .alias(joined_column((first, second)))
    return raw.with_columns(joined(*pair) for pair in pairs)


def platform_columns(known: ExportFormat, header: Iterable[str]) -> list[str]:
    """Time trackers: the columns an entry's platform is read from, in order: its tags, project,
    task, then description (those of the format the file has)."""
    present = set(header)
    places = [known.places[p] for p in ("tags", "project", "task") if p in known.places]
    description = known.columns.get("task") if known.places else None
    names = [*places, *([description] if isinstance(description, str) else [])]
    return [name for name in names if name in present]


def platform_column_name(columns: list[str]) -> str:
    """The name of the column of the platform an entry names, as messages show it."""
    return "platform named in " + ", ".join(columns)


def with_platform_column(raw: "pl.DataFrame", known: ExportFormat) -> "pl.DataFrame":
    """Time trackers: the table with a column of the platform each entry names (the first of its
    `Tags`, then its `Project`, `Task`, `Description`, that reads as one: ``IG``, ``LinkedIn``;
    :func:`~cmflow.builtin.sources.time_tracking.platform_named`), empty where none does."""
    import polars as pl

    from cmflow.builtin.sources.time_tracking import platform_named

    columns = platform_columns(known, raw.columns)
    if not columns:
        return raw
    tags = known.places.get("tags") if "tags" in known.list_places else None
    read: dict[tuple[Any, ...], Optional[str]] = {}
    for values in raw.select(pl.col(c).cast(pl.String) for c in columns).unique().rows():
        named = dict(zip(columns, values))
        listed = (named.pop(tags, None) or "").split(",") if tags in named else []
        read[values] = platform_named([t.strip() for t in listed], *named.values())
    platforms = [read[values] for values in raw.select(pl.col(c).cast(pl.String) for c in columns).rows()]
    return raw.with_columns(pl.Series(platform_column_name(columns), platforms, dtype=pl.String))


def warn_of_places_not_read(path: Path, known: ExportFormat, options: ExportOptions, ctx: FetchContext) -> None:
    """Time trackers: say when `task_type_from` or `campaign_from` names a place this format does
    not read (Clockify in French: its tags and task columns), rather than leave the field empty in silence."""
    from typing import get_args

    if not known.places:
        return
    for option, place in (("task_type_from", options.task_type_from), ("campaign_from", options.campaign_from)):
        if place != "none" and place not in known.places:
            allowed = get_args(ExportOptions.model_fields[option].annotation)
            readable = ", ".join(f'"{p}"' for p in allowed if p in known.places)
            ctx.warn(f'{path.name} ({known.title}): {option} = "{place}", but cmflow does not read that column '
                     f"in this export (docs/exports.md, {known.name}): no {option.removesuffix('_from')} is read; "
                     f'set {option} to one of {readable} or "none"')


def chosen_places(known: ExportFormat, options: ExportOptions) -> dict[str, str]:
    """Time trackers: field -> the place it is read from (`task_type_from`, `campaign_from`),
    for the places the format has."""
    if not known.places:
        return {}
    wanted = {"task_type": options.task_type_from, "campaign": options.campaign_from}
    return {field: place for field, place in wanted.items() if place in known.places}


def first_listed_and_zero_missing(frame: "pl.DataFrame", known: ExportFormat, options: ExportOptions
                                  ) -> "pl.DataFrame":
    """A field read from a list (Toggl's `Tags`: "blog, noël") keeps its first item; a 0 where the
    format says 0 is "not given" (a billable amount of 0) is no value."""
    import polars as pl

    listed = [field for field, place in chosen_places(known, options).items()
              if place in known.list_places and field in frame.columns]
    zero = [field for field in known.zero_is_missing if field in frame.columns]
    if not listed and not zero:
        return frame
    first = [pl.col(f).str.split(",").list.first().str.strip_chars().replace("", None).alias(f) for f in listed]
    missing = [pl.when(pl.col(f) != 0).then(pl.col(f)).alias(f) for f in zero]
    return frame.with_columns(*first, *missing)


def in_date_order(raw: "pl.DataFrame", path: Path, mapping: MappingOptions, known: ExportFormat,
                  options: ExportOptions, ctx: FetchContext) -> MappingOptions:
    """The mapping with the date formats in the file's day/month order (Clockify writes the one
    its user chose): `date_order` when given; else day first when a first number is over 12 and
    no second one is, month first otherwise (with a warning when no date settles it)."""
    import polars as pl

    column = known.columns.get("date")
    if not isinstance(column, str) or column not in raw.columns:
        return mapping
    order = options.date_order
    if order is None:
        parts = raw.select(pl.col(column).cast(pl.String).str.extract_groups(
            r"^\s*(\d{1,2})[/.-](\d{1,2})[/.-]\d{4}").alias("parts")).unnest("parts")
        if parts.width < 2 or parts.select(pl.all().is_not_null().any()).row(0) == (False, False):
            return mapping  # ISO dates, or none: nothing to choose
        first, second = (parts[c].cast(pl.Int32, strict=False) for c in parts.columns[:2])
        day_first = bool((first > 12).any()) and not bool((second > 12).any())
        order = "day_first" if day_first else "month_first"
        if not (first > 12).any() and not (second > 12).any():
            ctx.warn(f'{path.name}: every date in "{column}" reads both month first and day first '
                     f"(no day after the 12th): read month first, Clockify's default; if the export's "
                     f'user writes day first (03/11/2026 for 3 November), set date_order = "day_first" '
                     "on this source")
    if order == "month_first":
        return mapping
    def swapped(formats: tuple[str, ...]) -> list[str]:  # ISO dates (and a workbook's date cells) stay as they are
        return [f if f.startswith("%Y") else f.replace("%d", "\0").replace("%m", "%d").replace("\0", "%m")
                for f in formats]
    update: dict[str, Any] = {"date_format": swapped(known.date_format)}
    if known.datetime_format:
        update["datetime_format"] = swapped(known.datetime_format)
    return mapping.model_copy(update=update)


def amount_currency(column: Any) -> str | None:
    """The currency code an amount column's header names (``Amount (USD)`` -> ``USD``; the first
    of several present); None when it names none (``Amount ()``, ``Amount``)."""
    names = [column] if isinstance(column, str) else list(column or ())
    for name in names:
        match = re.search(r"\(([A-Za-z]{3})\)\s*$", name)
        if match:
            return match.group(1).upper()
    return None


def mapping_options(path: Path, table: IdentifiedTable, options: ExportOptions) -> MappingOptions:
    """The csv (or xlsx) source's options that read ``table``: its format's preset, the columns of
    optional fields the file lacks left out, the account, and the user's reading options."""
    known = table.format
    header = set(table.header)
    columns: dict[str, Any] = {}
    for name, value in known.columns.items():
        names = [value] if isinstance(value, str) else list(value)
        if name in known.optional:
            names = [n for n in names if n in header]
            if not names:
                continue
        columns[name] = names[0] if len(names) == 1 else names
    header_names = set(table.header)
    for field, pair in known.joined.items():
        if set(pair) <= header_names:
            columns[field] = joined_column(pair)
    for field, place in chosen_places(known, options).items():
        if known.places[place] in header_names:
            columns[field] = known.places[place]
    kind = RECORD_KINDS[known.record]
    if known.places:  # a time tracker: its platform (toggl) is not the one the time was for
        if named_in := platform_columns(known, header_names):
            columns["platform"] = platform_column_name(named_in)  # with_platform_column's
        constants = dict(known.constants)
    else:
        constants = {**known.constants, **({"platform": known.platform} if "platform" in kind.field_names else {})}
    if "currency" in kind.field_names and (code := amount_currency(columns.get("cost"))):
        constants["currency"] = code  # `Amount (USD)`: the file's amounts are in USD
    if "account" not in kind.field_names or (not kind.field("account").required and known.account_column is None):
        if options.account and "account" in kind.field_names:
            constants["account"] = options.account
    elif known.account_column is None and known.account_in_url and not options.account and table.names_account:
        constants["account"] = ACCOUNT_IN_LINKS  # each record's handle, from its link (account_from_links)
    elif known.account_column is None:
        if not options.account:
            raise DataFileError(f"{path} ({known.title}) does not name its account: set account = \"...\" "
                                "on this source (the account's handle, e.g. account = \"maison.lumen\"); "
                                "put each account's exports in a folder of their own")
        constants["account"] = options.account
    formats = list(known.date_format) + list(known.datetime_format)
    yearless = any(f in YEARLESS for f in formats)
    # Clockify's order is told from the file (in_date_order); other formats write theirs, unless re-saved
    order = None if known.date_order_chosen_by_user else options.date_order
    settings: dict[str, Any] = dict(
        path=str(path), record=known.record, columns=columns, constants=constants,
        values={k: dict(v) for k, v in known.values.items()},
        date_format=in_order(known.date_format, order) or None,
        datetime_format=in_order(known.datetime_format, order) or None,
        timezone=options.timezone, decimal="," if table.delimiter == ";" else known.decimal,
        thousands=None if table.delimiter == ";" else known.thousands,
        default_year=options.default_year if yearless else None, on_error=options.on_error)
    if table.sheet is None:
        from cmflow.builtin.sources.csv_tables import CsvOptions

        return CsvOptions(**settings, header_row=table.header_row, delimiter=table.delimiter).advised(EXPORT_ADVICE)
    from cmflow.builtin.sources.workbooks import XlsxOptions

    return XlsxOptions(**settings, sheet=table.sheet, header_row=table.header_row).advised(EXPORT_ADVICE)


class KeptRows(RowPlaces):
    """The places of the rows kept from a table, named as in the whole table."""

    def __init__(self, places: RowPlaces, kept: list[int]) -> None:
        self.places = places
        self.kept = kept
        self.ambiguous = places.ambiguous

    def row(self, index: int) -> str:
        return self.places.row(self.kept[index])

    def cell(self, index: int, column: str) -> str:
        return self.places.cell(self.kept[index], column)

    def order(self, index: int) -> int:
        return self.places.order(self.kept[index])


def without_rows_not_records(raw: "pl.DataFrame", places: RowPlaces, known: ExportFormat,
                             left_out: "list[pl.DataFrame] | None" = None) -> tuple["pl.DataFrame", RowPlaces]:
    """The table without the rows its format says are not records (``not_records``: YouTube
    Studio's `Total` row), the others' lines and rows named as before; the rows left out are
    added to ``left_out`` when given."""
    import polars as pl

    marks = [pl.col(column).str.strip_chars().is_in(list(values))
             for column, values in known.not_records.items() if column in raw.columns]
    if not marks:
        return raw, places
    drop = raw.select(pl.any_horizontal(marks).fill_null(False)).to_series()
    if not drop.any():
        return raw, places
    kept = [index for index, dropped in enumerate(drop.to_list()) if not dropped]
    if left_out is not None:
        left_out.append(raw.filter(drop))
    return raw.filter(~drop), KeptRows(places, kept)


def _csv_table(path: Path, table: IdentifiedTable, ctx: FetchContext, kept: Any = None
               ) -> tuple[Any, Any, Any, list[str]]:
    """The table's rows (of the columns ``kept`` chooses), their places, the bad rows and every
    column of the header (for messages about a missing one)."""
    from cmflow.builtin.sources.csv_tables import read_csv_file

    raw = read_csv_file(path, "utf-8", table.delimiter, table.header_row, kept, encoding_option=False)
    raw.warn_lines_set_aside(ctx, path)
    return raw.take_frame(), raw.places, raw.bad, raw.columns


class ChunkedTable:
    """A known table of a CSV export parsed a chunk of rows at a time, as the reader reads it
    (its :meth:`add` is the reader's ``consume``): each chunk gets the columns its format makes
    (`Start date` and `Start time` joined, a time tracker's platform), loses the rows that are
    no records (YouTube's `Total`), and is parsed; so only one chunk of the file's text is held
    at a time beside the records."""

    def __init__(self, path: Path, table: IdentifiedTable, mapping: MappingOptions, ctx: FetchContext) -> None:
        self.known = table.format
        self.parser = RecordParser(mapping, ctx, path,
                                   unknown_formats=lambda values: unknown_post_types(path, table.format, values))
        self.rows = 0
        """Rows under the header that are not blank, as read (see :attr:`ReadTable.rows`)."""
        self.not_records = 0
        self.left_out: list["pl.DataFrame"] = []
        """The rows left out as no records (see :attr:`ReadTable.left_out`)."""

    def add(self, handed: list["pl.DataFrame"], places: RowPlaces, names: list[str]) -> None:
        raw = with_platform_column(with_joined_columns(handed.pop(), self.known), self.known)
        height = raw.height
        raw, places = without_rows_not_records(raw, places, self.known, self.left_out)
        self.rows, self.not_records = self.rows + height, self.not_records + height - raw.height
        every = [*names, *(c for c in raw.columns if c not in names)]  # with the columns made
        handed.append(raw)
        del raw
        self.parser.add(handed, places, every)


def _parsed_csv_table(path: Path, table: IdentifiedTable, mapping: MappingOptions, ctx: FetchContext
                      ) -> tuple["pl.DataFrame", int, int, list["pl.DataFrame"]]:
    """The records of a known table of a CSV export, parsed a chunk at a time as it is read
    (:class:`ChunkedTable`); the rows read, the number left out as no records, and those rows."""
    from cmflow.builtin.sources.csv_tables import read_csv_file
    from cmflow.builtin.sources.steady_files import read_steadily

    kept = lambda names: columns_kept(table.format, mapping, names)  # noqa: E731

    def parsed() -> "tuple[ChunkedTable, Any]":  # afresh on each read (a file touched meanwhile is read again)
        chunks = ChunkedTable(path, table, mapping, ctx)
        return chunks, read_csv_file(path, "utf-8", table.delimiter, table.header_row, kept, chunks.add,
                                     encoding_option=False)

    chunks, raw = read_steadily(path, parsed)
    raw.warn_lines_set_aside(ctx, path)
    return chunks.parser.finish(raw.bad), chunks.rows, chunks.not_records, chunks.left_out


def columns_kept(known: ExportFormat, mapping: MappingOptions, names: list[str]) -> list[str] | None:
    """The columns of a CSV export (whose header holds ``names``) the source reads: those the
    mapping reads, those read together into one (`Start date` and `Start time`), those a time
    tracker's platform is read from, those marking rows that are no records (YouTube's `Total`).
    The others (Meta's click sub-columns, ad figures, negative feedback ...) are dropped a chunk
    at a time, as the csv source does; None (keep all) when the mapping lacks a column, which
    parse_records then explains."""
    from cmflow.builtin.sources.tabular import columns_read

    made = [joined_column(pair) for pair in known.joined.values() if set(pair) <= set(names)]
    if platform_columns(known, names):
        made.append(platform_column_name(platform_columns(known, names)))
    read = columns_read(mapping, [*names, *made])
    if read is None:
        return None
    wanted = {*read, *(c for pair in known.joined.values() for c in pair), *platform_columns(known, names),
              *known.not_records}
    return [name for name in names if name in wanted]


def combine(tables: list[ReadTable]) -> dict[str, "pl.DataFrame"]:
    """The records of every table, by kind: one copy of each record per format (the copy from the
    file with the newest records), then the formats of one kind merged column by column, in time
    order (the records of a single table in its file's order)."""
    import polars as pl

    newest: dict[Path, Any] = {}
    for read in tables:
        time = RECORD_KINDS[read.table.record].time_field
        if read.frame.height:
            latest = read.frame[time].max()
            latest = latest.date() if hasattr(latest, "date") else latest
            if newest.get(read.path) is None or latest > newest[read.path]:
                newest[read.path] = latest
    # Newest files first (ties: the name last in order first), so `unique(keep="first")` keeps their copy.
    ordered = sorted(tables, key=lambda r: (newest.get(r.path) is not None, newest.get(r.path) or 0, r.path.name),
                     reverse=True)
    _same_range_counters(ordered)
    by_kind: dict[str, dict[str, list["pl.DataFrame"]]] = {}
    for read in ordered:
        by_kind.setdefault(read.table.record, {}).setdefault(read.format.name, []).append(read.frame)
        read.frame = None  # handed over: each copy below lets the one before it go (a large export's records)
    combined = {}
    for kind_name in list(by_kind):
        kind, by_format = RECORD_KINDS[kind_name], by_kind.pop(kind_name)
        identity = list(kind.identity) or None  # none (time entries without an id): the whole row
        # One table of a format: its rows are unique already (parse_records counts a repeated record once).
        frames = [parts[0] if len(parts) == 1 else pl.concat(parts).unique(subset=identity, keep="first",
                                                                            maintain_order=True)
                  for parts in by_format.values()]
        one_table = len(by_format) == 1 and all(len(parts) == 1 for parts in by_format.values())
        del by_format
        # several formats of one kind (LinkedIn's Metrics and New followers): one record a day, both columns
        frame = frames[0] if len(frames) == 1 else (
            merged_records(kind_name, pl.concat(frames)) if identity else pl.concat(frames))
        del frames
        # one table keeps its file's order, as the csv source does (sorting copies every column)
        combined[kind_name] = frame if one_table or frame[kind.time_field].is_sorted() else frame.sort(
            kind.time_field, maintain_order=True)
    return combined


def _same_range_counters(tables: list[ReadTable]) -> None:
    """Refuse a record found with other figures in two files of a format whose counters cover
    the export's date range (YouTube Studio's table): a video's views in an October export and
    in a November one are two figures, neither more recent than the other, and cmflow cannot
    tell which range the report wants."""
    import polars as pl

    seen: dict[ExportFormat, list[ReadTable]] = {}
    for read in tables:
        if read.format.counters_over_range and read.frame.height:
            seen.setdefault(read.format, []).append(read)
    for known, reads in seen.items():
        identity = list(RECORD_KINDS[known.record].identity)
        for i, first in enumerate(reads):
            for second in reads[i + 1:]:
                both = first.frame.join(second.frame, on=identity, how="inner", suffix="_other")
                counters = [c for c in first.frame.columns if c not in identity and f"{c}_other" in both.columns
                            and first.frame.schema[c].is_integer()]
                differ = both.filter(pl.any_horizontal(pl.col(c).ne_missing(pl.col(f"{c}_other")) for c in counters))
                if differ.height:
                    record = differ.row(0, named=True)
                    named = next(c for c in identity if c not in ("platform", "account"))
                    shown = distinct_names(first.path, second.path)
                    raise DataFileError(
                        f"{shown[0]} and {shown[1]} both hold {known.platform} {named} "
                        f"{record[named]!r} with other figures ({differ.height} record(s) in all): "
                        f"{known.title} counts over the export's date range, so the two files are two "
                        "ranges and neither replaces the other; read the one export whose range is the "
                        "report's period (one source per export)")


def distinct_names(*paths: Path) -> list[str]:
    """Each path by its shortest ending that tells it from the others (``october/Table data.csv``
    and ``november/Table data.csv``: YouTube Studio names every download alike), its name alone
    when the names differ."""
    parts = [path.resolve().parts for path in paths]
    for length in range(1, max(len(p) for p in parts) + 1):
        endings = [str(Path(*p[-length:])) for p in parts]
        if len(set(endings)) == len(endings):
            return endings
    return [str(path) for path in paths]


@hookimpl
def register_sources(register):
    register(ExportSource)
