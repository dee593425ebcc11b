"""What the ``csv`` and ``json`` sources share: options, column mapping and per-column parsing.

Exports from Meta Business Suite, LinkedIn or a spreadsheet name their columns their own way
and write numbers and dates in their locale. The file is first read as text, then each
canonical column is parsed in one vectorised pass. A value that cannot be what its field holds
(a count that is negative, fractional, a percentage, "n/a" or beyond 64 bits; a date that does
not parse or is out of range) is an error naming the file, the line and the column (or, with
``on_error = "skip"``, a row left out and listed). Only an empty cell means "no value". The same
record twice (e.g. one post id on two lines) counts once, and is an error when the copies
disagree.
"""

from __future__ import annotations

import functools
import operator
import re
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import reduce
from zoneinfo import ZoneInfo
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Literal, Optional, Union

from pydantic import ConfigDict, Field, PrivateAttr, field_validator, model_validator

from cmflow import (DataFileError, InputPath, POST_FORMATS, PluginOptions, RECORD_KINDS, RunWarning, StrftimeFormats,
                    TextEncoding, TimeZoneName, WholeNumber, instant_literal, read_sentiments)

from cmflow.builtin.sources.bad_rows import BadCell, BadRow, report_bad_rows

if TYPE_CHECKING:
    import polars as pl

    from cmflow import FetchContext

ISO_DATETIME_FORMATS = (
    "%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S%z",
    "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M", "%Y-%m-%d",
)
ISO_DATE_FORMATS = ("%Y-%m-%d",)
SPACES = r"[\s\u00a0\u202f]"
MAX_DUPLICATES_SHOWN = 5
DIRECTIVE = r"%(?:%|[-_0^#]?[:.]*[0-9]*[A-Za-z+])"
"""A strftime directive (%Y, %.f, %:z, %-d, %%), as chrono reads them."""
SIGNS = "[+\\-\u2212]"
"""The characters an offset's sign may be (chrono also reads the minus sign U+2212)."""
SWAP_SAMPLE = 500
"""Dates read with day and month swapped first, spread over the file: one that does not read so
settles the day/month question without reading the whole column a second time."""
EARLIEST_YEAR, LATEST_YEAR = 1990, 2199
"""Dates outside these years are placeholders (0000-00-00, Excel's 1899-12-30 or 1900-01-00,
the Unix 1970-01-01) or typos (20266), never a post or an audience figure."""
RENAMED_COLUMNS = {
    "views": ("Impressions",), "impressions": ("Views",),  # Meta, 2024-25
    "post title": ("Update title",), "update title": ("Post title",),  # LinkedIn
    "post link": ("Update link",), "update link": ("Post link",),
    "reposts": ("Shares",), "shares": ("Reposts",),
}
"""Columns platforms renamed between exports: the old name is the likely one in an older file."""
YEAR_DIRECTIVES = ("%Y", "%y", "%G", "%D", "%F", "%c", "%s", "%+")
TOTALS_LABEL = (r"(?i)^\s*(grand\s+|sub-?)?(totals?|sum|summary|average|mean|somme|total\s+g[ée]n[ée]ral|"
                r"totaux|moyenne|summe|gesamt|totale|suma|media)\s*:?\s*$")
"""What a spreadsheet or a tool writes in the first cells of a totals row at the end of a table."""
ROUNDED_ID = r"(?i)^\s*[0-9]([.,][0-9]+)?E\+[0-9]+\s*$"
"""An id Excel rounded to scientific notation (`1.84300E+18`) when the export was saved from it:
the digits that told posts apart are lost."""
ABBREVIATED_NUMBER = r"(?i)^\s*[+-]?[0-9]+(?:[.,][0-9]+)?[\s\u00a0\u202f]*(?:k|m|mio|md|bn|b|mil|mille)\.?\s*$"
"""A figure a dashboard rounded for display (`12,3 k`, `1.2M`, `3 Md`): copied into some exports
and spreadsheets, never the count itself."""
SPREADSHEET_ERROR = r"^#(?:DIV/0!|N/A|VALUE!|REF!|NAME\?|NUM!|NULL!|SPILL!|CALC!|GETTING_DATA|FIELD!|BLOCKED!|CONNECT!|BUSY!|UNKNOWN!)$"
"""An error value a spreadsheet writes where a formula failed (a workbook's error cell, or its
text in a CSV file saved from one): never a value, and never "no value" either."""
NO_VALUE_MARKS = ("-", "--", "–", "—", "n/a", "na", "null", "none", "nan", "#n/a", "?")
"""Marks some tools write for "no value": refused in number columns (only an empty cell is "no
value"), with a hint saying how to map them to empty."""


class Advice:
    """What a message about a bad value tells the user to set, in the options of the csv, json and
    xlsx sources. A source that reads files with other options (the export source, which maps each
    known format itself) hands a subclass wording advice it accepts (:meth:`MappingOptions.advised`)."""

    def separators(self) -> str:
        """For a number written with separators the options do not declare."""
        return "set `thousands` or `decimal`"

    def no_value_mark(self, field: str) -> str:
        """For a mark such as "n/a" where a number should be (``{value}`` is the value)."""
        return f"if the export writes a mark for it, map the mark to empty: values.{field} = {{ \"{{value}}\" = \"\" }}"

    def spreadsheet_error(self, field: str) -> str:
        """For a spreadsheet's error value (``#DIV/0!``) in a cell (``{value}`` is the value)."""
        return (f"fix the formula in the sheet; if the figure is unknown, map the error to empty: "
                f"values.{field} = {{ \"{{value}}\" = \"\" }}")

    def date_formats(self) -> str:
        """For a date that does not read in the declared formats."""
        return "set `date_format` for date fields, `datetime_format` for date-times"

    def day_month(self, option: str, swapped: str) -> str:
        """For dates whose day and month are the other way round (``swapped`` is the format that reads them)."""
        return f"set {option} = \"{swapped}\""

    def mapped_by(self, field: str) -> str:
        """Who maps a column the file lacks to ``field``: the workflow's `columns` here."""
        return f"mapped to {field} in `columns`"


class MappingOptions(PluginOptions):
    """The options of every tabular source (csv, json, xlsx): the file and how its columns map."""

    # Only the subclasses (csv, json, xlsx) validate options: the base's own validator would go unused.
    model_config = ConfigDict(defer_build=True)
    _advice: Advice = PrivateAttr(default_factory=Advice)

    path: InputPath = Field(description="File to read: relative to the workflow file, absolute, or "
                      "builtin:demo/... for the bundled demo data.",
                      examples=["exports/instagram-posts.csv"])
    record: Literal[tuple(RECORD_KINDS)] = Field(  # type: ignore[valid-type]
        "post", description="Record kind each row becomes: post, account_snapshot, account_activity, mention, "
        "conversation, calendar_item, time_entry or traffic.")
    columns: dict[str, Union[str, list[str]]] = Field(
        default_factory=dict,
        description="Canonical field -> column name in the file, or a list of column names: "
        "then each row takes the first of them that is not empty, and a listed column the file "
        "lacks is skipped, so an older and a newer export (impressions = [\"Views\", "
        "\"Impressions\"]) share a workflow; at least one must be in the file (Meta writes the caption in "
        "`Description`, and in `Title` a short label for reels and videos but the caption for photos "
        "and links, whose `Description` is empty: text = [\"Description\", \"Title\"]). Fields not listed are read from a column with the canonical name, "
        "if there is one.",
        examples=[{"published_at": "Publish time", "likes": "Likes", "text": ["Description", "Title"]}])
    constants: dict[str, str] = Field(
        default_factory=dict, description="Canonical field -> fixed value for every row, e.g. "
        "platform = \"linkedin\" for a file that has no platform column.",
        examples=[{"platform": "linkedin"}])
    values: dict[str, dict[str, str]] = Field(
        default_factory=dict, description="Canonical field -> {value in the file = canonical "
        "value}, e.g. format = {\"IG reel\" = \"reel\"}. Values not listed are kept.",
        examples=[{"format": {"IG reel": "reel", "IG image": "image"}}])
    datetime_format: Optional[StrftimeFormats] = Field(
        None, description="strftime format(s) of date-time columns, tried in order. "
        "Default: ISO 8601 forms.", examples=["%d/%m/%Y %H:%M"])
    date_format: Optional[StrftimeFormats] = Field(
        None, description="strftime format(s) of date columns. Default: YYYY-MM-DD.",
        examples=["%d/%m/%Y"])
    timezone: Optional[TimeZoneName] = Field(
        None, description="Time zone of date-times written without an offset. Default: the "
        "workflow's time zone.", examples=["Europe/Paris"])
    decimal: Literal[".", ","] = Field(".", description="Decimal separator of numbers: \".\" "
                                       "or \",\" (French exports write 4,52).")
    thousands: Union[str, list[str], None] = Field(
        None, description="Thousands separator(s) to remove from numbers, one character or a list "
        "of them when a column mixes several (such as [\".\", \"'\"]). Spaces are always read as "
        "thousands separators between groups of three digits, whatever this option says, so \" \" "
        "need not be listed: French tools writing both 6.342 and 6 143 need thousands = \".\" with "
        "decimal = \",\" (thousands and decimal must differ). The spaces are an ordinary space, a no-break space (U+00A0) or a narrow no-break space (U+202F) "
        "between groups of three digits (6 143 is 6143); spaces that do not split the digits in "
        "groups of three (120 80) are an error, not one number.",
        examples=[".", [".", "'"]])
    default_year: Optional[WholeNumber] = Field(
        None, ge=EARLIEST_YEAR, le=LATEST_YEAR,
        description="Year of dates written without one (TikTok Studio writes \"November 18\", read "
        "with date_format = \"%B %d\"). Without it, each date gets the latest year that puts it on or "
        "before the latest day the file can hold: today (the run's clock, in the workflow's time zone: "
        "no export holds a day after it is read), or 31 days after the run's as-of day (cmflow run "
        "--as-of, else today) or its period's last day, whichever is later, if that comes first (a "
        "workflow pinned to an as-of day after today is taken at its word). When the rows are in date order (oldest or "
        "newest first), the newest date is placed so and the year steps down at each turn of the "
        "year, so a file running from December into January gets both years right; a February 29 "
        "moves the whole run of years back to the latest that puts it in a leap year (its "
        "neighbours with it).",
        examples=[2026])
    empty: Literal["missing", "zero"] = Field(
        "missing", description="What an empty cell in a counter column (likes, reach, impressions, "
        "followers_gained ... every whole-number field but `followers`, an audience size) means: "
        "missing: no value, left out of totals and rates, never 0; zero: the export writes nothing "
        "for none, so the cell is read as 0, and a warning counts those cells per column. A counter "
        "with no column in the file stays missing either way.")
    on_error: Literal["fail", "skip"] = Field(
        "fail", description="fail: a bad value stops the source with an error naming the line "
        "and column; skip: bad rows are left out, and each is listed with its line and reason "
        "in the run summary and the report's footer.")

    def constant_platforms(self) -> frozenset[str] | None:
        """The platform ``constants`` gives every row (a LinkedIn export without a platform
        column), as the records write it (lower case); None when the rows name their own."""
        platform = (self.constants.get("platform") or "").strip().lower()
        return frozenset({platform}) if platform else None

    @field_validator("columns", "constants", "values")
    @classmethod
    def _canonical_fields(cls, value: dict, info) -> dict:  # type: ignore[no-untyped-def]
        """Keys must be fields of the chosen record kind (a `followers` column on posts is a slip)."""
        from cmflow import closest

        kind = RECORD_KINDS.get(info.data.get("record", ""))
        known = list(kind.field_names) if kind else sorted({f for k in RECORD_KINDS.values() for f in k.field_names})
        unknown = [k for k in value if k not in known]
        if unknown:
            hints = [f"{k!r}" + (f" (did you mean {closest(k, known)!r}?)" if closest(k, known) else "")
                     for k in unknown]
            what = f"fields of {kind.name} records" if kind else "canonical fields"
            raise ValueError(f"not {what}: {', '.join(hints)}; they are {', '.join(known)}")
        return value

    @field_validator("columns")
    @classmethod
    def _column_lists(cls, value: dict) -> dict:
        for name, columns in value.items():
            if isinstance(columns, list) and not columns:
                raise ValueError(f"columns.{name} is an empty list: name the column(s) to read "
                                 f"{name} from, e.g. {name} = [\"Description\", \"Title\"]")
        return value

    @field_validator("thousands")
    @classmethod
    def _one_character_separators(cls, value: Union[str, list[str], None]) -> Union[str, list[str], None]:
        for separator in as_list(value, ()):
            if len(separator) != 1 or separator.isalnum() or separator in "+-":
                raise ValueError(f"{separator!r} is not a thousands separator: each one is a single "
                                 "character that is not a digit, a letter or a sign, such as \".\", "
                                 "\",\", \"'\" or \" \" (a list for several: [\".\", \"'\"]; spaces "
                                 "between groups of three digits are always thousands separators "
                                 "and need not be listed)")
        if isinstance(value, list) and not value:
            raise ValueError("thousands is an empty list: leave it out for no separator (spaces are "
                             "always read as thousands separators)")
        return value

    @model_validator(mode="after")
    def _separators_differ(self) -> "MappingOptions":
        if self.decimal in as_list(self.thousands, ()):
            raise ValueError(f"thousands and decimal are both {self.decimal!r}: a number such as "
                             f"1{self.decimal}234 could be read two ways; set one of them to another "
                             "character")
        return self

    @model_validator(mode="after")
    def _default_year_used(self) -> "MappingOptions":
        if self.default_year is None:
            return self
        formats = as_list(self.date_format, ISO_DATE_FORMATS) + as_list(self.datetime_format, ISO_DATETIME_FORMATS)
        if all(_has_year(fmt) for fmt in formats):
            raise ValueError(f"default_year = {self.default_year} is never used: every date format has "
                             "a year; it is for dates written without one, read with a format such as "
                             "date_format = \"%B %d\" (\"November 18\"); remove default_year or set that "
                             "format")
        return self

    def record_kind(self) -> str:
        return RECORD_KINDS[self.record]

    @property
    def advice(self) -> Advice:
        """What messages about bad values tell the user to set (see :class:`Advice`)."""
        return self._advice

    def advised(self, advice: Advice) -> "MappingOptions":
        """These options, their messages worded by ``advice``."""
        copy = self.model_copy()
        copy._advice = advice
        return copy


class TabularOptions(MappingOptions):
    """The options of a text export (csv, json): the mapping and the text's encoding."""

    encoding: TextEncoding = Field("utf-8", description="Text encoding of the file. A byte-order mark "
                               "wins over it (UTF-8 or UTF-16, as Meta, TikTok and some tools write).",
                               examples=["cp1252"])


def _has_year(fmt: str) -> bool:
    return any(directive in fmt for directive in YEAR_DIRECTIVES)


def mapped_names(options: MappingOptions) -> list[str]:
    """Every column ``columns`` maps, each of a list too."""
    return [name for value in options.columns.values() for name in as_list(value, ())]


def thousands_separators(options: MappingOptions) -> list[str]:
    """The declared thousands separators besides spaces (which are always ones)."""
    return [s for s in as_list(options.thousands, ()) if s.strip()]


def column_name(name: str) -> str:
    """A column name as it is matched: without a stray byte-order mark or surrounding spaces, and
    with runs of spaces (non-breaking ones too, as spreadsheets leave them) as one space."""
    return " ".join(name.replace("\ufeff", "").split())


def as_list(value: Union[str, list[str], None], default: tuple[str, ...]) -> list[str]:
    if value is None:
        return list(default)
    return [value] if isinstance(value, str) else list(value)


class RowPlaces:
    """How a data file names its rows and cells in messages: ``line 7, column 5 "Likes"`` in
    a CSV file, ``[6].likes`` in a JSON array. Rows are numbered from 0 in the order read."""

    ambiguous: dict[str, str] = {}
    """Columns that cannot be read, and why (a name the header holds twice)."""

    def row(self, index: int) -> str:
        return f"item {index + 1}"

    def cell(self, index: int, column: str) -> str:
        return f"{self.row(index)}, {column!r}"

    def order(self, index: int) -> int:
        """Where the row is in the file, to list problems in file order."""
        return index


def parse_records(raw: "pl.DataFrame", options: MappingOptions, ctx: FetchContext, file: Path,
                  places: RowPlaces, bad_rows: Iterable[BadRow] = (), *,
                  unknown_formats: Optional[Callable[[list[str]], str]] = None,
                  columns: Optional[list[str]] = None) -> "pl.DataFrame":
    """Map and parse a frame of text columns into the canonical columns of ``options.record``:
    the whole table as one chunk of a :class:`RecordParser` (see there for the arguments).

    ``raw`` is handed over: the parser lets each text column go once it is parsed, so a caller
    that keeps no reference to it keeps no copy of the file's text beside the records."""
    parser = RecordParser(options, ctx, file, unknown_formats=unknown_formats)
    handed = [raw]
    del raw
    parser.add(handed, places, columns)
    return parser.finish(bad_rows)


class ChunkPlaces(RowPlaces):
    """The places of rows read a chunk at a time: row ``index`` of the whole table is the row
    ``index`` less its chunk's first row of the places given with that chunk."""

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.chunks: list[RowPlaces] = []
        self.ambiguous = {}

    def add(self, places: RowPlaces, first_row: int) -> None:
        self.starts.append(first_row)
        self.chunks.append(places)
        self.ambiguous = places.ambiguous

    def _local(self, index: int) -> tuple[RowPlaces, int]:
        import bisect

        chunk = bisect.bisect_right(self.starts, index) - 1
        return self.chunks[chunk], index - self.starts[chunk]

    def row(self, index: int) -> str:
        places, local = self._local(index)
        return places.row(local)

    def cell(self, index: int, column: str) -> str:
        places, local = self._local(index)
        return places.cell(local, column)

    def order(self, index: int) -> int:
        places, local = self._local(index)
        return places.order(local)


class RecordParser:
    """Map and parse text columns into the canonical columns of ``options.record``, a chunk of
    rows at a time (:meth:`add`), then check what spans chunks (:meth:`finish`).

    A reader hands each chunk of text over as it reads it, so that reading an export keeps one
    chunk of text at a time beside the typed records, not the whole file's text. What needs the
    whole file is gathered as the chunks go and settled at the end: the same record on two rows,
    day and month read the other way round, the warnings (each said once, in the same order as
    for a table parsed whole), the ERR warning, and the bad rows, reported (or left out, with
    ``on_error = "skip"``) once every row is read. Dates without a year and without
    ``default_year`` take their years from the file's date order, which only the whole column
    shows: such a table (and one whose mapping names a column the header lacks, which
    :meth:`finish` explains) is kept as text and parsed whole at the end.

    ``columns`` (given with each chunk) are every column of the file when a chunk holds only
    those read (see :func:`columns_read`), for the messages about a column missing or misspelt.
    ``unknown_formats`` words the warning for post formats that are none of cmflow's (given the
    values, shown ones first): by default it advises `values.format`, which a source without
    that option (the export source) replaces with advice its users can follow.

    Rows whose every value is plainly valid (digits in a count, a date read in range ...) are
    parsed in one cheap pass; only the others go through every check, so that a large export
    costs little more than reading it, while a bad value gets the same message.
    """

    def __init__(self, options: MappingOptions, ctx: FetchContext, file: Path, *,
                 unknown_formats: Optional[Callable[[list[str]], str]] = None) -> None:
        self.options, self.ctx, self.file = options, ctx, file
        self.unknown_formats = unknown_formats
        self.kind = options.record_kind()
        self.tz = options.timezone or (ctx.periods[0].tz if ctx.periods else "UTC")
        self.years = Years.of(ctx, options)
        self.whole = options.default_year is None and not all(
            _has_year(f) for f in _declared_formats(options, "date") + _declared_formats(options, "datetime"))
        self.places = ChunkPlaces()
        self.rows = 0
        self.columns: Optional[list[str]] = None
        self.sources: Optional[ColumnsRead] = None
        self.text: list["pl.DataFrame"] = []
        """Chunks kept as text, to be parsed whole at the end (see the class's docstring)."""
        self.parsed: list["pl.DataFrame"] = []
        self.bad: list[BadRow] = []
        self.empty_read_as_zero: dict[str, int] = {}
        self.unknown: set[str] = set()
        self.unknown_sentiments: Counter[str] = Counter()
        """Sentiment words that stand for no sentiment, with how many records have each."""
        self.orders: dict[str, DayMonthOrder] = {}
        self.hashes: list[Optional["pl.Series"]] = []
        """Each chunk's :func:`_identity_hashes`, for the records found twice."""
        self.odd: list[Optional["pl.DataFrame"]] = []
        """Each chunk's posts with more interactions than reach (:func:`_more_interactions_than_reach`)."""

    def add(self, handed: list["pl.DataFrame"], places: RowPlaces, columns: Optional[list[str]] = None) -> None:
        """Parse the chunk of text rows that ``handed`` holds (it is taken from the list, so that
        its text goes once parsed); ``places`` names its rows, counted from 0 in the chunk."""
        raw = handed.pop()
        self.places.add(places, self.rows)
        if self.columns is None:
            self.columns = list(raw.columns) if columns is None else columns
            if self.sources is None and not self.whole:
                try:
                    self._map(self.columns)
                except DataFileError:
                    self.whole = True  # said by finish, after a reader's own checks of the header
        if self.whole:
            self.text.append(raw)
            self.rows += raw.height
            return
        handed.append(raw)
        del raw
        self._parse(handed)

    def finish(self, bad_rows: Iterable[BadRow] = ()) -> "pl.DataFrame":
        """The records of every chunk, each once; bad rows (those of every chunk and ``bad_rows``,
        rows the reader could not even split into columns) stop the source, unless ``on_error =
        "skip"`` leaves them out."""
        import polars as pl

        if self.columns is None:  # a reader hands at least one chunk, empty for a header alone
            raise DataFileError(f"{self.file}: no table was read (not even a header)")
        if self.whole:  # the chunks' places already name the rows of the whole table
            text = pl.concat(self.text, rechunk=False) if len(self.text) > 1 else self.text[0]
            self.text, self.rows = [], 0
            self._map(self.columns)
            handed = [text]
            del text
            self._parse(handed)
        ctx, file, kind = self.ctx, self.file, self.kind
        _warn_listed_columns_misspelt(self.options, self.columns, ctx, file)
        read = [(f, n) for f, n in self.empty_read_as_zero.items() if n]
        if read:
            columns = self.sources.columns
            shown = ", ".join(f'{n} in column {_shown_columns(columns[f])}' + (f" ({f})" if columns[f] != f else "")
                              for f, n in read)
            ctx.warn(f"{file.name}: {sum(n for _, n in read)} empty counter cell(s) read as 0 (empty = \"zero\"): "
                     f"{shown}")
        if self.unknown:  # kept as they are, but "by format" would split reels from "IG reel"
            unknown = sorted(self.unknown)
            shown = ", ".join(repr(v) for v in unknown[:5]) + (" ..." if len(unknown) > 5 else "")
            ctx.warn(self.unknown_formats(unknown) if self.unknown_formats is not None else
                     f"{file.name}: format value(s) {shown} are not one of {', '.join(POST_FORMATS)}; "
                     f"map them with values.format = {{ \"{unknown[0]}\" = \"...\" }}")
        if self.unknown_sentiments:  # counted as not classified: never silently
            column = self.sources.columns.get("sentiment")  # else the word is the constants'
            ctx.warn(_unknown_sentiments_warning(file.name, f"column {_shown_columns(column)}" if column is not None
                                                else "constants.sentiment", self.unknown_sentiments))
        said = {order.field for order in self.orders.values() if order.settle(self.options, ctx, file)}
        parsed, self.parsed = self.parsed, []
        result = pl.concat(parsed, rechunk=False) if len(parsed) > 1 else parsed[0]
        del parsed
        if kind.time_field not in said and kind.name not in PLANNED_KINDS:
            _warn_dates_after_reading(result, kind, self.sources, self.places, ctx, file)
        _warn_leap_day_apart(result, kind, self.options, self.places, ctx, file)
        hashes = pl.concat(self.hashes) if self.hashes and self.hashes[0] is not None else None
        self.hashes = []
        result, duplicates, dropped = _one_row_per_record(result, kind, self.places, ctx, file, hashes)
        del hashes
        report_bad_rows([*bad_rows, *self.bad, *duplicates], file, self.options.on_error, ctx)
        if kind.name == "post" and self.odd and self.odd[0] is not None:
            odd = pl.concat(self.odd)
            odd = odd.filter(~pl.col("_row").is_in(dropped)) if dropped else odd
            _warn_more_interactions_than_reach(odd, [c for c in INTERACTIONS if c in result.columns], self.places,
                                               ctx, file)
        # one chunk per column, as a table read whole has: every later step reads them
        return result.drop("_row").rechunk()

    def _map(self, available: list[str]) -> None:
        """Which column each field is read from (an error for a missing one)."""
        columns = _mapped_columns(self.kind, self.options, available, self.file, self.places)
        self.sources = ColumnsRead(columns, {field: [] for field, column in columns.items()
                                             if isinstance(column, list)})

    def _parse(self, handed: list["pl.DataFrame"]) -> None:
        """Parse one chunk of text rows (taken from ``handed``): its records join :attr:`parsed`,
        its bad rows :attr:`bad`, and what spans chunks is gathered."""
        import polars as pl

        raw = handed.pop()
        options, ctx, file, kind, tz, years = self.options, self.ctx, self.file, self.kind, self.tz, self.years
        sources, places, first_row = self.sources, self.places, self.rows
        self.rows += raw.height
        edged = _with_edge_spaces(raw, [c for column in sources.columns.values() for c in as_list(column, ())])
        frame = raw.with_row_index("_row", offset=first_row).select(
            pl.col("_row"),
            *[pl.lit(options.constants[f.name]).alias(f.name) for f in kind.fields if f.name in options.constants],
            *[_first_filled(column, edged).alias(field) for field, column in sources.columns.items()])
        for field, chosen in sources.chosen.items():
            chosen.extend(raw.select(_column_filled(sources.columns[field])).to_series().to_list())
        del raw  # the columns read are in frame; a caller that handed the file's text over lets the rest go
        for name, mapping in options.values.items():
            if name in frame.columns:
                frame = frame.with_columns(pl.col(name).replace(mapping))
        if options.empty == "zero":
            frame = _empty_counters_as_zero(frame, kind, sources, self.empty_read_as_zero)
        if "platform" in frame.columns:
            frame = frame.with_columns(pl.col("platform").str.to_lowercase())
            if kind.name == "time_entry":  # a sheet's IG, Insta or linkedin.com: the platform traffic names
                frame = frame.with_columns(_platform_named(frame["platform"]).alias("platform"))
        if "format" in frame.columns and kind.name == "post":
            self.unknown.update(set(frame["format"].drop_nulls().unique().to_list()) - set(POST_FORMATS) - {""})
        if "sentiment" in frame.columns:  # Positif, NEGATIVE, neg: the sentiment they stand for
            sentiments, unknown = read_sentiments(frame["sentiment"].cast(pl.String))
            frame = frame.with_columns(sentiments.alias("sentiment"))
            self.unknown_sentiments.update(unknown)

        fields = [field for field in kind.fields if field.name in frame.columns]
        readings = {field.name: _read_times(frame[field.name], field.type, _declared_formats(options, field.type),
                                            tz, years)
                    for field in fields if field.type in ("date", "datetime")}
        for field in fields:
            if field.name in readings and field.name in sources:
                order = self.orders.setdefault(field.name, DayMonthOrder(field.name, field.name == kind.time_field))
                order.see(frame, readings[field.name], sources.of(field.name), options, tz, ctx, places)

        work = frame.with_columns(pl.Series(f"_read_{name}", values) for name, values in readings.items())
        valid = work.select(_plainly_valid(field, kind, options).alias(field.name) for field in fields) \
            if fields else pl.DataFrame()
        plain = reduce(operator.and_, valid.get_columns()) if fields else pl.repeat(True, work.height, eager=True)
        # a text column without an empty cell is kept as it is, not copied (a caption column is most of a file)
        texts = [c for c in frame.columns if c != "_row" and kind.field(c).type == "str"]
        filled = {c for c, empty in work.select((pl.col(c) == "").any().alias(c) for c in texts).row(0, named=True).items()
                  if not empty} if texts and frame.height else set()
        result = (work if plain.all() else work.filter(plain)).select(
            pl.col("_row"), *[pl.col(c) if c in filled else _plain_value(pl.col(c), kind.field(c), options).alias(c)
                              for c in frame.columns if c != "_row"])
        del readings
        if not plain.all():
            # only the fields some of these rows do not pass at a glance go through every check
            unsure = [field for field in fields if not valid[field.name].all()]
            checked, bad_values = _checked_rows(work.filter(~plain), kind, fields, sources, options, tz, ctx, places,
                                                unsure)
            result = pl.concat([result, checked]).sort("_row")
            self.bad += bad_values
        del work, valid
        self.hashes.append(_identity_hashes(result, kind))
        if kind.name == "post":
            self.odd.append(_more_interactions_than_reach(result))
        self.parsed.append(result)


def counter_fields(kind: Any) -> list[str]:
    """The fields ``empty = "zero"`` reads an empty cell of as 0: the kind's whole-number fields
    but ``followers``, an audience size (a day not collected is not an audience of none)."""
    return [f.name for f in kind.fields if f.type == "int" and f.name != "followers"]


def _empty_counters_as_zero(frame: "pl.DataFrame", kind: Any, sources: "ColumnsRead",
                            counted: dict[str, int]) -> "pl.DataFrame":
    """Empty cells of the counter columns read from the file, as "0" (``empty = "zero"``), each
    column's count added to ``counted`` (for the warning); a counter with no column stays missing."""
    import polars as pl

    fields = [f for f in counter_fields(kind) if f in sources and f in frame.columns]
    if not fields:
        return frame
    empty = lambda f: pl.col(f).is_null() | (pl.col(f).str.strip_chars() == "")  # noqa: E731
    counts = frame.select(empty(f).sum().alias(f) for f in fields).row(0, named=True)
    read = [f for f, n in counts.items() if n]
    for f in fields:
        counted[f] = counted.get(f, 0) + counts[f]
    if not read:
        return frame
    return frame.with_columns(pl.when(empty(f)).then(pl.lit("0")).otherwise(pl.col(f)).alias(f) for f in read)


def _unknown_sentiments_warning(file_name: str, place: str, unknown: Counter[str]) -> str:
    """The warning for sentiment words :func:`~cmflow.read_sentiments` did not know (kept as
    written: they count as not classified); ``place`` says where they were read: ``column
    "Tonalité"``, or ``constants.sentiment``."""
    shown = ", ".join(f'"{word}" ({count})' for word, count in unknown.most_common(5))
    more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
    first = unknown.most_common(1)[0][0]
    return (f"{file_name}: {sum(unknown.values())} sentiment value(s) of {place} are not "
            f"positive, neutral or negative (nor Positif, Négatif, Neutre ...), so they count as not "
            f"classified: {shown}{more}; map them with values.sentiment = {{ \"{first}\" = \"neutral\" }} "
            "(or positive, negative)")


def _shown_columns(column: Union[str, list[str]]) -> str:
    return f'"{column}"' if isinstance(column, str) else " / ".join(f'"{c}"' for c in column)


def _checked_rows(frame: "pl.DataFrame", kind: str, fields: list, sources: "ColumnsRead",
                  options: TabularOptions, tz: str, ctx: FetchContext,
                  places: RowPlaces, unsure: Optional[list] = None) -> tuple["pl.DataFrame", list[BadRow]]:
    """Rows of text put through every check of their fields: the parsed rows that pass, and a
    :class:`BadRow` for each that does not. Given ``unsure`` (the fields some row does not pass
    at a glance, :func:`_plainly_valid`), the other fields take their plain value unchecked:
    ``frame`` then holds the ``_read_`` columns of their dates (see :func:`_plain_value`)."""
    import polars as pl

    columns = [c for c in frame.columns if not c.startswith("_read_")]
    unsure_names = {field.name for field in (fields if unsure is None else unsure)}
    parsed: list[pl.Expr] = [pl.col("_row")]
    checks: list[tuple[str, pl.Expr, str]] = []
    years = Years.of(ctx, options)
    for field in fields:
        text = pl.col(field.name)
        if field.name not in unsure_names:
            parsed.append(_plain_value(text, field, options).alias(field.name))
            continue
        empty = text.is_null() | (text == "")
        if field.type == "int":
            value, field_checks = _count(text, options, field.name)
        elif _is_duration(field, kind):
            value, field_checks = _duration(text, options)
        elif field.type == "float":
            value, field_checks = _decimal(text, options, field.name)
        elif field.type == "datetime":
            value, field_checks = _datetime(text, options, tz, years)
        elif field.type == "date":
            value, field_checks = _date(text, options, years)
        else:
            value, field_checks = text, []
        if field.type != "str":  # a failed formula, or one never calculated, is no value of any type
            checks.append((field.name, ~empty & text.str.contains(SPREADSHEET_ERROR),
                           "is a spreadsheet error (a formula in the sheet failed), not a value: "
                           + options.advice.spreadsheet_error(field.name)))
            checks.append((field.name, ~empty & text.str.starts_with("="),
                           "is a formula whose result the file does not hold (written by a program and never "
                           "opened in a spreadsheet?): open it in a spreadsheet and save it, so that its "
                           "results are stored"))
        if _totals_checked(field, kind):
            checks.append((field.name, text.str.contains(TOTALS_LABEL),
                           "is a label of a totals row, not a record: counting it would count every "
                           "record twice; delete the row"))
        if _id_checked(field, kind):
            checks.append((field.name, text.str.contains(ROUNDED_ID),
                           "is an id Excel rounded to scientific notation (several posts then get one id): "
                           "download the export again and do not save it from Excel"))
        parsed.append(pl.when(empty).then(None).otherwise(value).alias(field.name))
        checks.extend((field.name, ~empty & flag, problem) for flag, problem in field_checks)
        if field.required:
            checks.append((field.name, empty, "is empty (this field is required)"))
    flag_names = [f"_bad_{i}" for i in range(len(checks))]
    result = frame.lazy().with_columns([flag.alias(name) for name, (_, flag, _) in zip(flag_names, checks)]) \
        .with_columns(parsed).select(*columns, *flag_names).collect()
    if not flag_names:
        return result, []
    any_bad = pl.any_horizontal(flag_names)
    bad = _describe_bad_rows(result.filter(any_bad), frame.select(columns), checks, sources, places, kind.identity)
    return result.filter(~any_bad).drop(flag_names), bad


def _totals_checked(field: Any, kind: str) -> bool:
    """Whether a totals row's label ("Total", "Summary" ...) is looked for in this field."""
    return field.name in kind.identity + (kind.time_field,) and field.name not in ("platform", "account")


def _id_checked(field: Any, kind: Any) -> bool:
    """Whether an id Excel rounded to scientific notation is looked for in this field: a text
    field of the record's identity (a post id), not its platform or account."""
    return field.type == "str" and field.name in kind.identity and field.name not in ("platform", "account")


def _plainly_valid(field: Any, kind: str, options: TabularOptions) -> "pl.Expr":
    """True where the field's value passes every check of :func:`_checked_rows` at a glance
    (digits in a count, a date that read in range, an empty optional value), so that the row
    can skip them. False does not mean bad: the row is then checked in full."""
    return _plainly_valid_with(field, kind, options.decimal)


@functools.cache
def _plainly_valid_with(field: Any, kind: str, decimal: str) -> "pl.Expr":
    """:func:`_plainly_valid` for the one option it reads: the same expression for every file
    and run, so built once per process (a small file's parse costs its expressions' building)."""
    import polars as pl

    text = pl.col(field.name)
    if field.type == "int":
        valid = text.str.contains(r"^[0-9]{1,18}$")
    elif field.type == "float":
        valid = text.str.contains(rf"^[0-9]{{1,15}}(?:{re.escape(decimal)}[0-9]{{1,15}})?$")
    elif field.type in ("date", "datetime"):
        value = pl.col(f"_read_{field.name}")
        valid = value.is_not_null() & value.dt.year().is_between(EARLIEST_YEAR, LATEST_YEAR)
    else:
        valid = pl.lit(True)
    if _totals_checked(field, kind):
        valid = valid & ~text.str.contains(TOTALS_LABEL)
    if _id_checked(field, kind):
        valid = valid & ~text.str.contains(ROUNDED_ID)
    return pl.when(text.is_null() | (text == "")).then(pl.lit(not field.required)).otherwise(valid)


def _plain_value(text: "pl.Expr", field: Any, options: TabularOptions) -> "pl.Expr":
    """The value of a field that :func:`_plainly_valid` passed: what the full parse gives it."""
    import polars as pl

    if field.type == "int":
        value = text.cast(pl.Int64, strict=False)
    elif field.type == "float":
        value = (text.str.replace(",", ".", literal=True) if options.decimal == "," else text) \
            .cast(pl.Float64, strict=False)
    elif field.type in ("date", "datetime"):
        value = pl.col(f"_read_{field.name}")
    else:
        value = text
    return pl.when(text.is_null() | (text == "")).then(None).otherwise(value)


INTERACTIONS = ("likes", "comments", "shares", "saves")


def _more_interactions_than_reach(posts: "pl.DataFrame") -> Optional["pl.DataFrame"]:
    """The posts (``_row``, ``reach``, ``_interactions``) with more likes, comments, shares and
    saves than accounts reached; None when the posts lack those columns. Taken a chunk at a
    time, as the chunk is parsed (arithmetic on a column made of many chunks costs more)."""
    import polars as pl

    counters = [c for c in INTERACTIONS if c in posts.columns]
    if "reach" not in posts.columns or not counters:
        return None
    return posts.select("_row", "reach", _interactions=pl.sum_horizontal([pl.col(c).fill_null(0) for c in counters])) \
        .filter((pl.col("reach") > 0) & (pl.col("_interactions") > pl.col("reach")))


def _warn_more_interactions_than_reach(odd: Optional["pl.DataFrame"], counters: list[str], places: RowPlaces,
                                       ctx: FetchContext, file: Path) -> None:
    """Posts with more likes, comments, shares and saves than accounts reached (``odd``, see
    :func:`_more_interactions_than_reach`): kept (reach is an estimate, and platforms count late
    interactions), but an ERR over 100 % is more often two columns swapped in `columns`, so say
    which rows."""
    if odd is None or odd.height == 0:
        return
    shown = "; ".join(f"{places.row(row['_row'])} ({row['_interactions']} vs reach {row['reach']})"
                      for row in odd.head(MAX_DUPLICATES_SHOWN).iter_rows(named=True))
    more = f"; and {odd.height - MAX_DUPLICATES_SHOWN} more" if odd.height > MAX_DUPLICATES_SHOWN else ""
    ctx.warn(f"{file.name}: {odd.height} post(s) have more interactions ({' + '.join(counters)}) than "
             f"reach, an engagement rate over 100 %: {shown}{more}; kept as they are, but check that "
             "`columns` maps reach and the counters to the right columns")


@dataclass(frozen=True)
class ColumnsRead:
    """Canonical field -> the column it is read from (a list when `columns` gives several), and
    for each list, the column each row's value came from (the first one not empty)."""

    columns: dict[str, Union[str, list[str]]]
    chosen: dict[str, list[str]]

    def __contains__(self, field: str) -> bool:
        return field in self.columns

    def of(self, field: str) -> "Callable[[int], str]":
        """The column row ``index``'s value of ``field`` was read from."""
        column = self.columns[field]
        return (lambda index: column) if isinstance(column, str) else self.chosen[field].__getitem__


def _with_edge_spaces(raw: "pl.DataFrame", columns: list[str]) -> set[str]:
    """The ``columns`` of ``raw`` where some value starts or ends with a space, which
    :func:`_first_filled` strips: the others are read as they are, not copied."""
    import polars as pl

    text = [c for c in dict.fromkeys(columns) if c in raw.columns and raw.schema[c] == pl.String]
    if not text or raw.height == 0:
        return set(columns)
    # where stripping changes the value, as _first_filled strips it (half a regular expression's CPU)
    found = raw.select((pl.col(c) != pl.col(c).str.strip_chars()).any().alias(c) for c in text).row(0, named=True)
    return {c for c in columns if found.get(c, True)}


def _first_filled(column: Union[str, list[str]], edged: Optional[set[str]] = None) -> "pl.Expr":
    """A column's text without surrounding spaces; of a list, the first one not empty. A column
    not in ``edged`` (no value with a space at its edges) is taken as it is."""
    import polars as pl

    if isinstance(column, str):
        if edged is not None and column not in edged:
            return pl.col(column).cast(pl.String)
        return pl.col(column).cast(pl.String).str.strip_chars()
    texts = [pl.col(c).cast(pl.String).str.strip_chars() for c in column]
    return pl.coalesce([pl.when(t != "").then(t) for t in texts] + [texts[0]])


def _column_filled(columns: list[str]) -> "pl.Expr":
    """For each row, the name of the first of ``columns`` not empty (the first one if none is)."""
    import polars as pl

    filled = [pl.when(pl.col(c).cast(pl.String).str.strip_chars() != "").then(pl.lit(c)) for c in columns]
    return pl.coalesce(filled + [pl.lit(columns[0])])


def columns_read(options: MappingOptions, available: list[str]) -> Optional[list[str]]:
    """The columns of a file whose header holds ``available`` that :func:`parse_records` reads
    with ``options``, so that a reader can keep those alone (an export's other columns would be
    held for nothing); None when the header lacks a column the options need, which
    :func:`parse_records` then explains."""
    try:
        sources = _mapped_columns(options.record_kind(), options, available, Path(), RowPlaces())
    except DataFileError:
        return None
    return list(dict.fromkeys(c for column in sources.values() for c in as_list(column, ())))


def _platform_named(values: "pl.Series") -> "pl.Series":
    """Each value as the platform it names (``ig`` -> ``instagram``; :func:`~cmflow.platform_of`,
    read once per distinct value), else as written (lower case)."""
    import polars as pl

    from cmflow import platform_of

    named = {v: platform_of(v) or v for v in values.drop_nulls().unique().to_list()}
    return values.replace_strict(named, default=None, return_dtype=pl.String) if named else values


def _mapped_columns(kind: str, options: TabularOptions, available: list[str], file: Path,
                    places: RowPlaces) -> dict[str, Union[str, list[str]]]:
    """Canonical field -> the file's column(s) it is read from; an error for a missing one."""
    sources: dict[str, Union[str, list[str]]] = {}
    for field in kind.fields:
        if field.name in options.constants:
            continue
        mapped = options.columns.get(field.name)
        if isinstance(mapped, list):
            sources[field.name] = _mapped_column_list(field, mapped, available, file, places, options._advice)
            continue
        column = _mapped_column(field, mapped, available, file, places, options._advice)
        if column is not None:
            sources[field.name] = column
    return sources


def _mapped_column_list(field: Any, columns: list[str], available: list[str], file: Path,
                        places: RowPlaces, advice: "Advice | None" = None) -> list[str]:
    """The columns of a list that the file has (an older and a newer export name the same figure
    differently, so one workflow reads both); an error when it has none of them."""
    present = [c for c in columns if c in available or column_name(c) in available]
    if not present:
        from cmflow import closest

        listed = ", ".join(repr(c) for c in columns)
        near = next((n for c in columns for n in [*RENAMED_COLUMNS.get(c.casefold(), ()), closest(c, available)]
                     if n and n in available and n not in columns), None)
        header = ", ".join(f'"{c}"' for c in available)
        raise DataFileError(
            f"{file}: none of the columns {listed} ({(advice or Advice()).mapped_by(field.name)}) is in the file"
            + (f"; did you mean {near!r}?" if near else "") + f"; the header's columns: {header}")
    return [_mapped_column(field, column, available, file, places, advice) for column in present]


def _warn_listed_columns_misspelt(options: MappingOptions, available: list[str], ctx: FetchContext,
                                  file: Path) -> None:
    """A column of a list in `columns` that the file lacks is skipped (an older export names the
    figure differently), but one whose name is a near miss of a header name that nothing maps
    ("Descripton" beside "Description") is more likely a typo: every row would silently read the
    other columns, so say which name was meant."""
    import difflib

    mapped = {column_name(c) for c in mapped_names(options)}
    for field, columns in options.columns.items():
        if not isinstance(columns, list):
            continue
        present = [c for c in columns if c in available or column_name(c) in available]
        if not present:
            continue  # none there: an error, raised by _mapped_column_list
        for column in columns:
            if column in present or any(r in present for r in RENAMED_COLUMNS.get(column.casefold(), ())):
                continue
            near = max(((difflib.SequenceMatcher(None, column.casefold(), name.casefold()).ratio(), name)
                        for name in available if name not in mapped), default=(0.0, ""))
            if near[0] >= 0.8:
                ctx.warn(f"{file.name}: column {column!r} (listed in columns.{field}) is not in the file, so "
                         f"{field} is read from {_shown_columns(present)} alone; did you mean {near[1]!r}?")


def _mapped_column(field: Any, column: Optional[str], available: list[str], file: Path,
                   places: RowPlaces, advice: "Advice | None" = None) -> Optional[str]:
    """The file's column a field is read from (``column`` as mapped, or None); an error for a missing one."""
    from cmflow import closest

    header = ", ".join(f'"{c}"' for c in available)
    if column is not None and column not in available and column_name(column) in available:
        column = column_name(column)
    if column is None and field.name in available:
        column = field.name
    if column is None:
        if field.required:
            near = closest(field.name, available)
            how = (f"columns.{field.name} = \"{near}\"" if near else
                   f"columns.{field.name} = \"<column name>\"")
            raise DataFileError(
                f"{file}: no column for the required field {field.name!r}; map it with {how}"
                + (f" (or constants.{field.name} = \"...\" for the whole file)" if field.name in
                   ("platform", "account") else "") + f"; the header's columns: {header}")
        return None
    if column in places.ambiguous:
        raise DataFileError(f"{file}, {places.ambiguous[column]}")
    if column not in available:
        near = next((n for n in RENAMED_COLUMNS.get(column.casefold(), ()) if n in available), None) \
            or closest(column, available)
        raise DataFileError(
            f"{file}: no column {column!r} ({(advice or Advice()).mapped_by(field.name)})"
            + (f"; did you mean {near!r}?" if near else "") + f"; the header's columns: {header}")
    return column


def _describe_bad_rows(bad_rows: "pl.DataFrame", text_frame: "pl.DataFrame",
                       checks: list[tuple[str, "pl.Expr", str]], sources: "ColumnsRead",
                       places: RowPlaces, identity: tuple[str, ...] = ()) -> list[BadRow]:
    """One :class:`BadRow` per row, naming each bad cell (its first problem) and its value."""
    if bad_rows.height == 0:
        return []
    originals = {row["_row"]: row for row in
                 text_frame.join(bad_rows.select("_row"), on="_row", how="semi").iter_rows(named=True)}
    described = []
    for flags in bad_rows.select("_row", *(f"_bad_{i}" for i in range(len(checks)))).iter_rows(named=True):
        index, seen, messages, cells = flags["_row"], set(), [], []
        for i, (field, _, problem) in enumerate(checks):
            if not flags[f"_bad_{i}"] or field in seen:
                continue
            seen.add(field)
            shown = originals[index].get(field)
            value = f'"{_shorten(shown)}"' if shown not in (None, "") else ""
            column = sources.of(field)(index) if field in sources else f"constants.{field}"
            where = places.cell(index, column) if field in sources else f"{places.row(index)}, {column}"
            problem = problem.replace('{value}', str(shown))
            message = f"{where}: value {value} {problem}".replace("value  ", "value ")
            if message in messages:  # one column read into two fields (TikTok's views): said once
                continue
            messages.append(message)
            cells.append(BadCell(column, "" if shown is None else str(shown), problem))
        described.append(BadRow(places.order(index), "; ".join(messages), places.row(index),
                                _record_named(originals[index], identity), tuple(cells)))
    return described


def _record_named(row: dict[str, Any], identity: tuple[str, ...]) -> str:
    """The record a row holds, by the fields that tell records apart other than platform and
    account (post_id "123", date "2026-11-18"): empty when the row has none of them."""
    named = [f for f in identity if f not in ("platform", "account")] or list(identity)
    return ", ".join(f'{f} "{_shorten(row[f])}"' for f in named if row.get(f) not in (None, ""))


def _identity_hashes(frame: "pl.DataFrame", kind: Any) -> Optional["pl.Series"]:
    """A hash of each row's identity (platform, account, post id ...), None for a kind without
    one: taken a chunk at a time as it is parsed, since hashing a long column of text made of
    many chunks costs more than the text."""
    import polars as pl

    identity = [c for c in kind.identity if c in frame.columns]
    if not identity:
        return None
    hashed = pl.col(identity[0]).hash(1)
    for seed, column in enumerate(identity[1:], start=2):
        hashed = hashed.xor(pl.col(column).hash(seed))
    return frame.select(hashed).to_series()


def _one_row_per_record(frame: "pl.DataFrame", kind: str, places: RowPlaces, ctx: FetchContext,
                        file: Path, hashes: Optional["pl.Series"] = None
                        ) -> tuple["pl.DataFrame", list[BadRow], list[int]]:
    """The same record on several rows (one post id twice): counted once with a warning when the
    copies agree; every copy a bad row, saying which values differ, when they do not. Also the
    rows left out. ``hashes`` are :func:`_identity_hashes` of ``frame``'s rows, if taken."""
    import polars as pl

    identity = [c for c in kind.identity if c in frame.columns]
    if not identity or frame.height < 2:
        return frame, [], []
    # rows whose identity hashes alike first (a column of integers), then those that are alike:
    # a struct of text per row for the whole file would cost more than the file
    if hashes is None:
        hashes = _identity_hashes(frame, kind)
    alike = _repeated_values(hashes)
    del hashes
    if not alike.any():
        return frame, [], []
    repeated = frame.filter(alike)
    repeated = repeated.filter(pl.struct(identity).is_duplicated())
    if repeated.height == 0:
        return frame, [], []
    compared = [c for c in frame.columns if c not in ("_row", *identity)]
    same, bad, dropped = [], [], set()
    for group in repeated.group_by(identity, maintain_order=True).agg(pl.all()).iter_rows(named=True):
        rows = group["_row"]
        record = ", ".join(f'{c} "{group[c]}"' for c in identity)
        where = " and ".join(places.row(r) for r in rows)
        differing = [c for c in compared if len(set(group[c])) > 1]
        if not differing:
            same.append(f"{record} on {where}")
            dropped.update(rows[1:])
            continue
        values = ", ".join(f"{c} " + " vs ".join(_shown_value(v) for v in group[c]) for c in differing)
        for row in rows:  # each copy is a row left out: counted and listed as one
            others = " and ".join(places.row(r) for r in rows if r != row)
            bad.append(BadRow(places.order(row), f"{places.row(row)}: the same {kind.name} ({record}) as "
                                                 f"{others} with different values ({values}): keep one of the rows",
                              places.row(row), _record_named(group, kind.identity)))
        dropped.update(rows)
    if same:
        listed = "; ".join(same[:MAX_DUPLICATES_SHOWN]) + (
            f"; and {len(same) - MAX_DUPLICATES_SHOWN} more" if len(same) > MAX_DUPLICATES_SHOWN else "")
        ctx.warn(f"{file.name}: {len(same)} {kind.name} record(s) appear more than once with the same "
                 f"values, counted once: {listed}")
    return frame.filter(~pl.col("_row").is_in(sorted(dropped))), bad, sorted(dropped)


SMALL_COLUMN = 10_000
"""Up to this many values, a column's repeated values are found with a hash table in one query
(:func:`_repeated_values`): the three queries of the sorted way cost more than the values."""


def _repeated_values(values: "pl.Series") -> "pl.Series":
    """True where a value of ``values`` (integers) is found more than once: from the sorted
    values (a hash table of every value would cost several times the column)."""
    import polars as pl

    if values.len() <= SMALL_COLUMN:
        return values.is_duplicated()  # one query: the hash table of a few values costs nothing
    ordered = values.sort()
    repeated = ordered.filter(ordered == ordered.shift(1)).unique()
    del ordered
    return values.is_in(repeated.implode()) if repeated.len() else pl.repeat(False, values.len(), eager=True)


def _shown_value(value: Any) -> str:
    if value is None:
        return "(empty)"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    return _shorten(value)


def _shorten(value: object, limit: int = 40) -> str:
    text = str(value).replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _formats(value: Union[str, list[str], None], default: tuple[str, ...]) -> str:
    formats = as_list(value, default)
    return "ISO 8601 (e.g. 2026-11-16T09:15)" if value is None and formats != ["%Y-%m-%d"] else " or ".join(formats)


def _misgrouped(text: "pl.Expr", options: TabularOptions) -> tuple["pl.Expr", str]:
    """A thousands separator (a space, or the declared `thousands`) that does not split the
    number in groups of three digits: "120 80" is two numbers in one cell, and "4.21" with
    thousands = "." a decimal point, not 421."""
    separators = SPACES[1:-1] + "".join(re.escape(s) for s in thousands_separators(options))
    group, decimal = f"[{separators}]+", re.escape(options.decimal)
    between_digits = text.str.contains(f"[0-9]{group}[0-9]")
    grouped = text.str.contains(f"^[+-]?[0-9]{{1,3}}(?:{group}[0-9]{{3}})+(?:{decimal}[0-9]*)?{SPACES}*%?$")
    return (between_digits & ~grouped,
            "has a thousands separator that does not split it in groups of three digits: two numbers "
            f"in one cell, or a decimal separator taken for a thousands one? ({options.advice.separators()})")


def _number_text(text: "pl.Expr", options: TabularOptions) -> "pl.Expr":
    """The number as Polars reads it: spaces (always thousands separators, see the `thousands`
    option) and the declared `thousands` separators removed, the `decimal` separator turned
    into a point."""
    cleaned = text.str.replace_all(SPACES, "").str.strip_suffix("%")
    for separator in thousands_separators(options):
        cleaned = cleaned.str.replace_all(separator, "", literal=True)
    if options.decimal == ",":
        cleaned = cleaned.str.replace(",", ".", literal=True)
    return cleaned


def _not_a_number(text: "pl.Expr", options: TabularOptions, field: str) -> list[tuple["pl.Expr", str]]:
    """Why a text is not a number: a "no value" mark, or anything else."""
    import polars as pl

    hint = (f" (for 1,234 or 4,5 {options.advice.separators()})"
            if options.thousands is None and options.decimal == "." else "")
    mark = text.str.to_lowercase().is_in(NO_VALUE_MARKS)
    return [(text.str.starts_with("{"), "is an object, not a number: map the number inside it with its "
                                        "dotted key path in `columns`, e.g. \"<key>.<inner key>\""),
            (mark, "is not a number: only an empty cell means \"no value\"; " + options.advice.no_value_mark(field)),
            (text.str.contains(ABBREVIATED_NUMBER), "is a rounded, abbreviated figure (k for thousands, M for "
                                                    "millions), not the count: the figure's last digits are lost; "
                                                    "export the full figures (the tool's raw or detailed export)"),
            (pl.lit(True), f"is not a number{hint}")]


def count_read(text: str, options: TabularOptions, field: str = "count") -> Optional[int]:
    """``text`` read as a counter of a file read with ``options`` (its thousands and decimal
    separators: ``4830.0``, ``6.030`` with thousands = "."), as the file's records are; None
    when it is not one."""
    import polars as pl

    value, problems = _count(pl.lit(text, dtype=pl.String), options, field)
    flagged = pl.any_horizontal([flag for flag, _ in problems]) if problems else pl.lit(False)
    got = pl.select(value.alias("value"), flagged.fill_null(False).alias("bad")).row(0, named=True)
    return None if got["bad"] or got["value"] is None else int(got["value"])


def _count(text: "pl.Expr", options: TabularOptions, field: str) -> tuple["pl.Expr", list[tuple["pl.Expr", str]]]:
    """A counter (likes, reach, followers ...): a whole number, 0 or more, that fits 64 bits."""
    import polars as pl

    cleaned = _number_text(text, options)
    dots = _stray_dot(text, options)
    dot_flag = pl.any_horizontal([flag for flag, _ in dots]) if dots else pl.lit(False)
    # a trailing ".0…" (after the decimal separator was turned into ".") is a decimal part;
    # a "." the file wrote with decimal = ",", or "12.000", is not (see _stray_dot)
    whole = cleaned.str.replace(r"\.0+$", "")
    is_integer = whole.str.contains(r"^[+-]?[0-9]+$") & ~dot_flag
    value = pl.when(is_integer).then(whole.cast(pl.Int64, strict=False))
    number = cleaned.cast(pl.Float64, strict=False)
    unparsed = number.is_null() & ~is_integer
    checks = [
        (text.str.contains(r"%\s*$"), "is a percentage, not a count (map a column of counts)"),
        *dots,
        _misgrouped(text, options),
        (cleaned.str.contains(r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)[eE][+-]?[0-9]+$"),
         "is in scientific notation: a count is written out in full (a spreadsheet shortened it: "
         "format the column as a number before saving)"),
        (number.is_not_null() & number.is_nan(), "is not a number (NaN)"),
        (number.is_not_null() & number.is_infinite(), "is infinite, not a count"),
        (is_integer & value.is_null(), "is too large for a count (beyond 64-bit integers)"),
        (number.is_not_null() & ~is_integer,
         "is not a whole number, so not a count" + (f" (a thousands separator? {options.advice.separators()})"
                                                     if options.thousands is None else "")),
        *[(unparsed & flag, problem) for flag, problem in _not_a_number(text, options, field)],
        (value < 0, "is negative: a count cannot be below 0"),
    ]
    return value, checks


def _stray_dot(text: "pl.Expr", options: TabularOptions, count: bool = True) -> list[tuple["pl.Expr", str]]:
    """A number that cannot be read safely: with `decimal = ","` a "." is never a decimal point,
    so unless `thousands` has it the cell is no number (a decimal too: "6.342" is 6 342 as often
    as 6.342); and a count "12.000" (1 to 3 digits, the decimal separator, three zeros) is as
    likely 12 000 written with a thousands separator, so it is not read as 12 (``count`` False,
    for a decimal, leaves that one out: 12,000 is then twelve)."""
    if "." in thousands_separators(options):
        return []
    stripped = text.str.replace_all(SPACES, "")
    for separator in thousands_separators(options):
        stripped = stripped.str.replace_all(separator, "", literal=True)
    thousands_like = stripped.str.contains(r"^[+-]?[0-9]{1,3}(?:\.[0-9]{3})+$")
    setting = "set thousands = \".\"" + (" and decimal = \",\"" if options.decimal == "." else "")
    looks = (thousands_like, f"looks like thousands written with '.': {setting}")
    if options.decimal == "," and not count:
        return [looks, (stripped.str.contains(".", literal=True),
                        "has a \".\", which is not the decimal separator here (decimal = \",\") nor "
                        "a declared thousands separator")]
    if not count:
        return []
    if options.decimal == ",":
        return [looks, (stripped.str.contains(r"^[+-]?[0-9]{1,3},000$"),
                        "could be a whole number with three zeros after the decimal comma, or "
                        "thousands written with ',': a count has no decimals; if ',' separates "
                        "thousands in this file, set thousands = \",\" and decimal = \".\""),
                (stripped.str.contains(".", literal=True),
                        "has a \".\", which is not the decimal separator here (decimal = \",\") nor "
                        "a declared thousands separator")]
    return [(stripped.str.contains(r"^[+-]?[0-9]{1,3}\.000$"), looks[1])]


def _decimal(text: "pl.Expr", options: TabularOptions, field: str) -> tuple["pl.Expr", list[tuple["pl.Expr", str]]]:
    """A decimal (hours, cost, revenue): a finite number; a trailing % is dropped."""
    import polars as pl

    value = _number_text(text, options).cast(pl.Float64, strict=False)
    checks = [_misgrouped(text, options), *_stray_dot(text, options, count=False),
              *[(value.is_null() & flag, problem) for flag, problem in _not_a_number(text, options, field)],
              (value.is_not_null() & ~value.is_finite(), "is not a finite number")]
    return value, checks


DURATION_FIELDS = {"time_entry": ("hours",)}
"""Fields read as time spent in any form trackers write (02:30:00, 2,5, 2h30, PT2H30M), not as
plain numbers (:mod:`cmflow.foundation.tracked_time`)."""


def _is_duration(field: Any, kind: Any) -> bool:
    return field.name in DURATION_FIELDS.get(kind.name, ())


def _duration(text: "pl.Expr", options: TabularOptions) -> tuple["pl.Expr", list[tuple["pl.Expr", str]]]:
    """Hours spent: a number as the file's `decimal` and `thousands` write it (1.234,5 with
    thousands = "."), else any form :func:`hours_of` reads (02:30:00, 2,5, 2h30, PT2H30M)."""
    import polars as pl

    from cmflow import DURATION_FORMS, hours_or_none

    number = _number_text(text, options).cast(pl.Float64, strict=False)
    number = pl.when(number.is_finite()).then(number)
    value = pl.coalesce(number, _workbook_duration(text),
                        text.map_elements(hours_or_none, return_dtype=pl.Float64, skip_nulls=True))
    misgrouped, problem = _misgrouped(text, options)
    return value, [(number.is_not_null() & misgrouped, problem),
                   (text.str.contains(r"^\s*[-\u2212]") | (value < 0),
                    f"is a negative duration: time spent is 0 or more (write it as {DURATION_FORMS})"),
                   (value.is_null(), f"is not a duration: write it as {DURATION_FORMS}")]


EXCEL_DAY_ZERO = datetime(1899, 12, 31)
"""A workbook's duration cell ([h]:mm:ss) holds a fraction of days, which the reader gives as a
date-time from this day (02:30:00 is 1899-12-31 02:30:00, 26:15:00 is 1900-01-01 02:15:00)."""


def _workbook_duration(text: "pl.Expr") -> "pl.Expr":
    """The hours of a workbook's duration cell, read as a date-time from :data:`EXCEL_DAY_ZERO`
    (up to 1900-02-28: Excel's calendar has a false 29 February 1900 after it); None otherwise."""
    import polars as pl

    moment = text.str.strptime(pl.Datetime("us"), "%Y-%m-%d %H:%M:%S%.f", strict=False)
    in_range = moment.is_between(pl.lit(EXCEL_DAY_ZERO), pl.lit(datetime(1900, 2, 28, 23, 59, 59)))
    return pl.when(in_range).then((moment - pl.lit(EXCEL_DAY_ZERO)).dt.total_microseconds() / 3_600_000_000)


def _datetime(text: "pl.Expr", options: TabularOptions, tz: str,
              years: "Years") -> tuple["pl.Expr", list[tuple["pl.Expr", str]]]:
    formats = as_list(options.datetime_format, ISO_DATETIME_FORMATS)
    value, local = _read_datetimes(text, formats, tz, years)
    expected = _formats(options.datetime_format, ISO_DATETIME_FORMATS)
    return value, [(value.is_null() & local.is_not_null(),
                    f"does not exist in {tz}: the clocks went forward that night (daylight saving "
                    "time), so the file's times are not in this time zone; set `timezone` to the "
                    "export's time zone"),
                   (value.is_null(), f"is not a date-time in the format {expected}"),
                   (~value.dt.year().is_between(EARLIEST_YEAR, LATEST_YEAR), _out_of_range(expected))]


def _read_datetimes(text: "pl.Expr", formats: list[str], tz: str,
                    years: "Years") -> tuple["pl.Expr", "pl.Expr"]:
    """The instants (UTC) ``text`` reads as in the first format that fits, and the local times
    read by the formats without an offset (to tell a time that does not exist in ``tz``, in the
    hour skipped when the clocks go forward, from one that does not parse)."""
    import polars as pl

    text = _datetime_text(text, formats)
    candidates, local = [], []
    for fmt in formats:
        instant, naive = _datetime_reading(text, fmt, tz, years)
        candidates.append(instant)
        if naive is not None:
            local.append(naive)
    return pl.coalesce(candidates), (pl.coalesce(local) if local else pl.lit(None))


def _datetime_text(text: "pl.Expr", formats: list[str]) -> "pl.Expr":
    """Date-time text as the formats read it: a trailing Z as +00:00, a.m./p.m. as AM/PM."""
    text = text.str.replace(r"Z$", "+00:00")
    if any("%p" in fmt for fmt in formats):  # "9:05 a.m." (Canada, Australia) is 9:05 AM
        text = text.str.replace(r"(?i)a\.\s?m\.$", "AM").str.replace(r"(?i)p\.\s?m\.$", "PM")
    return text


def _datetime_reading(text: "pl.Expr", fmt: str, tz: str,
                      years: "Years") -> tuple["pl.Expr", "pl.Expr | None"]:
    """The instant (UTC) one format reads, and for a format without an offset the local time."""
    import polars as pl

    if "%z" in fmt:
        return _strptime(text, fmt, pl.Datetime("us"), years.instant, years.default_year) \
            .dt.convert_time_zone("UTC"), None
    naive = _strptime(text, fmt, pl.Datetime("us"), years.instant.replace(tzinfo=None), years.default_year)
    return (naive.dt.replace_time_zone(tz, ambiguous="earliest", non_existent="null")
            .dt.convert_time_zone("UTC"), naive)


def _read_times(text: "pl.Series", kind: str, formats: list[str], tz: str,
                years: "Years") -> "pl.Series":
    """The dates (``kind`` "date") or instants ("datetime") a column of text reads as, each in
    the first of ``formats`` that fits: what :func:`_read_dates` and :func:`_read_datetimes`
    give, but each format is tried only on the values the ones before it left unread, and a
    format with an offset only on values with enough sign characters to hold one."""
    import polars as pl

    if kind == "datetime":
        prepared = _datetime_text(pl.col("text"), formats)
        read_one = lambda t, fmt: _datetime_reading(t, fmt, tz, years)[0]  # noqa: E731
        dtype = pl.Datetime("us", "UTC")
    else:
        prepared = pl.col("text")
        read_one = lambda t, fmt: _strptime(t, fmt, pl.Date, years.day, years.default_year)  # noqa: E731
        dtype = pl.Date
    column = result = None
    if formats and len(text) and _signs_needed(formats[0]):
        # Formats with an offset that no value has the signs for would read nothing: left out at
        # once (ISO date-times without an offset, the usual export), so that the first format
        # that can read them takes the one-query way below.
        most = text.to_frame("text").select(prepared.str.count_matches(SIGNS).max()).item() or 0
        formats = [fmt for fmt in formats if _signs_needed(fmt) <= most]
    if formats and len(text) and not _signs_needed(formats[0]):
        # the first format on every row, in one query with the check that every row is filled
        # (then nothing else needs reading when it reads them all: the usual column of dates)
        first = text.to_frame("text").select(
            prepared.alias("text"), read_one(prepared, formats[0]).alias("read"),
            (prepared.is_null() | (prepared == "")).any().alias("gaps"))
        column = first["text"]
        if not first["gaps"][0]:
            result = first["read"].rename("text")
            if not result.null_count():
                return result.rename(text.name)
            formats = formats[1:]  # the rows it left unread try the next ones
    if column is None:
        column = text.to_frame("text").select(prepared).to_series() if kind == "datetime" else text.rename("text")
    if result is None:
        result = pl.Series("text", [], dtype=dtype).extend_constant(None, len(column))
    filled = column.is_not_null() & (column != "")
    signs = None
    for fmt in formats:
        unread = filled & result.is_null()
        if not unread.any():
            break
        needed = _signs_needed(fmt)
        if needed:
            signs = column.str.count_matches(SIGNS) if signs is None else signs
            unread = unread & (signs >= needed)
        rows = unread.arg_true()
        if rows.len() == len(column):
            result = column.to_frame().select(read_one(pl.col("text"), fmt)).to_series()
        elif rows.len():
            read = column.gather(rows).to_frame().select(read_one(pl.col("text"), fmt)).to_series()
            result = result.scatter(rows, read)
    return result.rename(text.name)


def _signs_needed(fmt: str) -> int:
    """How many +, - or − a text must hold to read in ``fmt``: one per literal sign and one per
    offset (%z, %:z), which cannot be read without its sign; 0 (no filter) for a format without
    an offset, or with one that reads a bare Z (%#z, %+)."""
    directives = re.findall(DIRECTIVE, fmt)
    offsets = [d for d in directives if d.endswith("z")]
    if not offsets or any("#" in d for d in offsets) or "%+" in directives:
        return 0
    return len(offsets) + sum(c in "+-" for c in re.sub(DIRECTIVE, "", fmt))


def _date(text: "pl.Expr", options: TabularOptions,
          years: "Years") -> tuple["pl.Expr", list[tuple["pl.Expr", str]]]:
    formats = as_list(options.date_format, ISO_DATE_FORMATS)
    value = _read_dates(text, formats, years)
    expected = _formats(options.date_format, ISO_DATE_FORMATS)
    return value, [(value.is_null(), f"is not a date in the format {expected} ({options.advice.date_formats()})"),
                   (~value.dt.year().is_between(EARLIEST_YEAR, LATEST_YEAR), _out_of_range(expected))]


def _read_dates(text: "pl.Expr", formats: list[str], years: "Years") -> "pl.Expr":
    import polars as pl

    return pl.coalesce([_strptime(text, fmt, pl.Date, years.day, years.default_year) for fmt in formats])


def _day_month_swapped(formats: list[str]) -> list[str]:
    """The formats with day and month swapped (%d/%m/%Y for %m/%d/%Y), those that have both
    and whose swapped form is not declared as well."""
    swapped = [fmt.replace("%d", "\0").replace("%m", "%d").replace("\0", "%m")
               for fmt in formats if "%d" in fmt and "%m" in fmt]
    return [fmt for fmt in swapped if fmt not in formats]


def _declared_formats(options: TabularOptions, field_type: str) -> list[str]:
    """The formats a date (``field_type`` "date") or date-time ("datetime") column is read in."""
    if field_type == "datetime":
        return as_list(options.datetime_format, ISO_DATETIME_FORMATS)
    return as_list(options.date_format, ISO_DATE_FORMATS)


@dataclass
class DayMonthOrder:
    """What the rows read so far say of one date column's day/month order, chunk by chunk
    (:meth:`see`), settled once every row is read (:meth:`settle`).

    11/10/2026 reads both ways, so a wrong format goes unnoticed until a day after the 12th:
    a value that does not read in the declared format but does with day and month swapped is
    an error for the whole file (the rows before it may have been read swapped), whatever
    ``on_error`` says (unless other dates read only as declared: then those are bad rows).
    When every date reads both ways, dates that all fall outside the run's periods but would
    all fall inside them swapped get a warning (for the record's time field)."""

    field: str
    time_field: bool
    confirmed: bool = False
    """Some date reads only as declared: the file is in the declared order."""
    wrong: Optional[tuple[str, str]] = None
    """The first value that reads only swapped: its cell, as messages name it, and the value."""
    example: Optional[tuple[str, str]] = None
    """The first value that reads both ways, and its row."""
    column: Optional[str] = None
    """The column of the table's first row (for the warning)."""
    read: int = 0
    declared_inside: int = 0
    swapped_inside: int = 0
    declared_after: int = 0
    """Dates that, read as declared, fall after the latest day the file can hold (:func:`latest_possible`)."""
    swapped_after: int = 0
    formats: tuple[list[str], list[str], bool] = ([], [], False)
    """The declared formats, the swapped ones, and whether they read date-times."""

    def see(self, frame: "pl.DataFrame", declared: "pl.Series", column: Callable[[int], str],
            options: TabularOptions, tz: str, ctx: FetchContext, places: RowPlaces) -> None:
        """Take in a chunk: ``declared`` is its column as read in the declared formats, ``column``
        gives the file's column of a row (by its ``_row``)."""
        import polars as pl

        field = self.field
        is_datetime = options.record_kind().field(field).type == "datetime"
        field_type = "datetime" if is_datetime else "date"
        formats = _declared_formats(options, field_type)
        swapped_formats = _day_month_swapped(formats)
        self.formats = (formats, swapped_formats, is_datetime)
        if not swapped_formats or self.confirmed:
            return
        read_rows = declared.is_not_null().arg_true()
        every = max(1, read_rows.len() // SWAP_SAMPLE)
        sample = frame[field].gather(read_rows.gather_every(every))
        years = Years.of(ctx, options)
        swapped = _read_times(sample, field_type, swapped_formats, tz, years)
        if swapped.null_count():
            self.confirmed = True  # some dates read only as declared (the odd ones out are bad rows)
            return
        if every > 1 or read_rows.len() < frame.height:  # the sample is not the whole column: read it all
            swapped = _read_times(frame[field], field_type, swapped_formats, tz, years)
        # What the rest needs, in one query: a chunk's few rows cost a query's plan, not its rows.
        declared_read, swapped_read = pl.col("declared").is_not_null(), pl.col("swapped").is_not_null()
        inside = lambda c: _in_periods(pl.col(c), ctx, is_datetime)  # noqa: E731
        after = lambda c: pl.col(c) > instant_literal(latest_possible(ctx, is_datetime))  # noqa: E731

        def first(condition: "pl.Expr", name: str) -> list["pl.Expr"]:  # its row (never null: none found) and value
            return [pl.col("_row").filter(condition).first().alias(f"{name}_row"),
                    pl.col(field).filter(condition).first().alias(f"{name}_value")]

        seen = frame.select("_row", field, declared.alias("declared"), swapped.alias("swapped")).select(
            (declared_read & ~swapped_read).any().alias("declared_only"),
            *first(~declared_read & swapped_read, "wrong"), *first(declared_read & swapped_read, "both"),
            declared_read.sum().alias("read"),
            (declared_read & inside("declared")).sum().alias("declared_inside"),
            (declared_read & swapped_read & inside("swapped")).sum().alias("swapped_inside"),
            (declared_read & after("declared")).sum().alias("declared_after"),
            (declared_read & swapped_read & after("swapped")).sum().alias("swapped_after")).row(0, named=True)
        if seen["declared_only"]:
            self.confirmed = True
            return
        if self.column is None and frame.height:
            self.column = column(frame["_row"][0])
        if seen["wrong_row"] is not None and self.wrong is None:
            row = seen["wrong_row"]
            self.wrong = (places.cell(row, column(row)), seen["wrong_value"])
        if self.example is None and seen["both_row"] is not None:
            self.example = (seen["both_value"], places.row(seen["both_row"]))
        self.read += seen["read"]
        self.declared_inside += seen["declared_inside"]
        self.swapped_inside += seen["swapped_inside"]
        self.declared_after += seen["declared_after"]
        self.swapped_after += seen["swapped_after"]

    def settle(self, options: TabularOptions, ctx: FetchContext, file: Path) -> bool:
        """Every row seen: the error, or the warning, if the file's order is the other one
        (True when a warning said so)."""
        formats, swapped_formats, is_datetime = self.formats
        if self.confirmed or not swapped_formats:
            return False
        declared_shown, swapped_shown = " or ".join(formats), " or ".join(swapped_formats)
        option = "datetime_format" if is_datetime else "date_format"
        if self.wrong is not None:
            where, value = self.wrong
            example = f' (e.g. "{self.example[0]}" on {self.example[1]})' if self.example else ""
            raise DataFileError(
                f"{file}, {where}: value \"{value}\" does not read as {declared_shown} "
                f"but does as {swapped_shown}: day and month are the other way round in this file, so "
                f"dates that read both ways{example} would be wrong; {options.advice.day_month(option, swapped_formats[0])}")
        if not self.read:
            return False
        advice = options.advice.day_month(option, swapped_formats[0])
        planned = options.record_kind().name in PLANNED_KINDS  # dated ahead by nature: no sign of a wrong order
        if self.declared_after and not self.swapped_after and not planned:  # a warning of the run: figures likely wrong
            ctx.warn(RunWarning(
                f"{file.name}: {self.declared_after} date(s) in column \"{self.column}\" fall after the day the "
                f"file was read when read as {declared_shown}, none when read as {swapped_shown}: are day and "
                f"month the other way round (a file saved again by a spreadsheet writing the day first)? {advice}",
                "day_month_after_reading", {"file": file.name, "count": self.declared_after, "column": self.column,
                                            "advice": advice}))
            return True
        if self.time_field and _swapped_reading_fits_periods(self.declared_inside, self.swapped_inside):
            ctx.warn(RunWarning(  # a warning of the run: its figures likely leave the file out
                f"{file.name}: {self.declared_inside} of {self.read} date(s) in column \"{self.column}\" fall in the "
                f"run's periods when read as {declared_shown}, {self.swapped_inside} when read as {swapped_shown}: "
                f"are day and month the other way round (a file saved again by a spreadsheet writing the day "
                f"first)? {advice}",
                "day_month_outside_periods", {"file": file.name, "column": self.column, "read": self.read,
                                              "declared": self.declared_inside, "swapped": self.swapped_inside,
                                              "advice": advice}))
            return True
        return False


def _swapped_reading_fits_periods(declared_inside: int, swapped_inside: int) -> bool:
    """Whether dates that read both ways fit the run's periods so much better swapped that the
    declared order is likely wrong: none inside as declared and some swapped, or at least twice
    as many (and two more) swapped."""
    if declared_inside == 0:
        return swapped_inside > 0
    return swapped_inside >= 2 * declared_inside and swapped_inside - declared_inside >= 2


PLANNED_KINDS = ("calendar_item",)
"""Record kinds dated ahead by nature (a post planned for next week): a date after the day the
file was read is no sign of a wrong date in them."""
MAX_FUTURE_LINES = 3
"""Lines named in the warning about dates after the day the file was read; the rest are counted."""


def _warn_dates_after_reading(records: "pl.DataFrame", kind: Any, sources: Optional["ColumnsRead"],
                              places: RowPlaces, ctx: FetchContext, file: Path) -> None:
    """Warn of records dated after the latest day the file can hold (a day of slack for time
    zones): an export cannot hold a day after it was made, so such a date is a wrong one (day
    and month read the other way round, a wrong year, a mis-set clock), counted or left out of
    the periods without a word otherwise."""
    import polars as pl

    field = kind.time_field
    if field not in records.columns or not records.height:
        return
    is_datetime = kind.field(field).type == "datetime"
    latest, newest = latest_possible(ctx, is_datetime), records[field].max()  # the usual file: no query
    if newest is None or newest <= latest:
        return
    late = records.filter(pl.col(field) > pl.lit(latest)).sort("_row")
    day_read = reading_day(ctx)
    column = sources.columns.get(field) if sources is not None else None
    shown = []
    for row, value in late.select("_row", field).head(MAX_FUTURE_LINES).iter_rows():
        day = value.astimezone(ZoneInfo(ctx.periods[0].tz if ctx.periods else "UTC")).date() if is_datetime else value
        shown.append(f"{places.row(row)} ({day.isoformat()})")
    more = f" and {late.height - MAX_FUTURE_LINES} more" if late.height > MAX_FUTURE_LINES else ""
    where = f" in column {_shown_columns(column)}" if column is not None else ""
    ctx.warn(RunWarning(
        f"{file.name}: {late.height} record(s){where} dated after {day_read.isoformat()}, the latest day "
        f"the file can hold: {', '.join(shown)}{more}; an export holds no day after it was made: day and month "
        f"the other way round, a wrong year, or a clock set wrong where the file was written?",
        "dates_after_reading", {"file": file.name, "count": late.height, "day": day_read,
                                "lines": ", ".join(shown) + more}))


def _warn_leap_day_apart(records: "pl.DataFrame", kind: Any, options: TabularOptions, places: RowPlaces,
                         ctx: FetchContext, file: Path) -> None:
    """Warn of a February 29 written without a year that the per-date rule (a file in no date
    order) put in another year than every other record: rows of March 1, February 28 and
    February 29 are most likely one year's, split without a word otherwise."""
    import polars as pl

    field = kind.time_field
    if options.default_year is not None or field not in records.columns or not records.height:
        return
    field_type = kind.field(field).type
    if field_type not in ("date", "datetime") or all(_has_year(f) for f in _declared_formats(options, field_type)):
        return
    tz = ZoneInfo(ctx.periods[0].tz if ctx.periods else "UTC")
    day = pl.col(field).dt.convert_time_zone(str(tz)) if field_type == "datetime" else pl.col(field)
    dated = records.select("_row", day.dt.year().alias("year"),
                           ((day.dt.month() == 2) & (day.dt.day() == 29)).alias("leap_day")).drop_nulls()
    others = set(dated.filter(~pl.col("leap_day"))["year"].to_list())
    apart = dated.filter(pl.col("leap_day") & ~pl.col("year").is_in(list(others))).sort("_row")
    if not others or not apart.height:
        return
    row, year = apart.row(0)[:2]
    years = ", ".join(str(y) for y in sorted(others))
    ctx.warn(RunWarning(
        f"{file.name}: {places.row(row)}: February 29, written without a year in a file in no date order, is "
        f"read in {year} (the latest leap year), apart from every other row (read in {years}); a file of one "
        f"year that holds February 29 is a leap year's: set default_year = {year} on this source if it is that "
        f"year's (or the file's year)",
        "leap_day_apart", {"file": file.name, "line": places.row(row), "year": year, "years": years,
                           "setting": f"default_year = {year}"}))


def _in_periods(value: "pl.Expr", ctx: FetchContext, is_datetime: bool) -> "pl.Expr":
    """Whether dates (or instants) fall in one of the run's periods (the fetch window when the
    context has none: one built by hand). The window may reach further back than the periods (a
    metric's baseline), so it would take a date months before the period for one in it."""
    import polars as pl

    if not ctx.periods:
        bounds = [(ctx.window_start, ctx.window_end) if is_datetime else
                  (ctx.window_start.date(), ctx.window_end.date())]
    elif is_datetime:
        bounds = [(p.start_utc, p.end_utc) for p in ctx.periods]
    else:
        bounds = [(p.start, p.end + timedelta(days=1)) for p in ctx.periods]
    return pl.any_horizontal([value.is_between(instant_literal(start), instant_literal(end), closed="left")
                              for start, end in bounds])


FUTURE_SLACK = timedelta(days=1)
"""How far after the latest day a file can hold a date may fall before it is called impossible:
a day of time-zone slack (a post published late at night in a zone ahead of the workflow's)."""


def reading_day(ctx: FetchContext) -> date:
    """The latest day a file read in this run can hold, whatever its period: the later of the
    run's clock's day (in the workflow's time zone) and its as-of day. A report re-run with an
    earlier ``--as-of`` reads a file downloaded today, which may run up to today. Without a clock
    (a context built by hand) the later of the as-of day and the periods' last day."""
    tz = ZoneInfo(ctx.periods[0].tz if ctx.periods else "UTC")
    period_end = max((p.end for p in ctx.periods), default=(ctx.window_end - timedelta(microseconds=1)).date())
    if ctx.as_of is None:
        return max(period_end, ctx.as_of_day or period_end)
    today = (ctx.as_of - timedelta(microseconds=1)).astimezone(tz).date()
    return max(today, ctx.as_of_day or today)


def latest_possible(ctx: FetchContext, is_datetime: bool) -> "datetime | date":
    """The latest date (``is_datetime`` False) or instant a record dated with its year can bear
    without being impossible: the end of :func:`reading_day`, plus :data:`FUTURE_SLACK`. No
    export holds a day after the day it was made. (The nearer limit of :class:`Years` is for
    guessing the year of dates written without one, not a limit on what a file holds.)"""
    day = reading_day(ctx)
    if not is_datetime:
        return day + FUTURE_SLACK
    tz = ZoneInfo(ctx.periods[0].tz if ctx.periods else "UTC")
    return datetime.combine(day + timedelta(days=1), datetime.min.time(), tz).astimezone(ZoneInfo("UTC")) + FUTURE_SLACK


def _out_of_range(expected: str) -> str:
    return (f"is outside the years {EARLIEST_YEAR} to {LATEST_YEAR}: a placeholder date or a typo? "
            f"(expected format: {expected})")


@dataclass(frozen=True)
class Years:
    """How a date written without a year gets one: ``default_year`` when the workflow gives it,
    otherwise from the file's date order (see :func:`_years_from_file_order`), and in a file
    not in date order the latest year that puts the date on or before ``day`` (a date) or
    ``instant`` (a date-time).

    ``day`` is the latest day the file can hold: the run's clock's day in the workflow's time
    zone (no export holds a day after it is read), or 31 days after the later of the run's as-of
    day and its latest period's end when that is earlier (an export read long after its period
    still ends near it). So a December report re-run with ``--as-of`` after a download of
    December 28 to January 1 keeps January 1 in the new year. A workflow pinned to an as-of day
    after the clock (a golden case) is taken at its word: that day, not the clock's, is the
    limit then. Without a clock (a context built by hand) it is the later of the as-of day and
    the period's last day."""

    instant: datetime
    day: date
    default_year: Optional[int] = None

    REPORT_GRACE_DAYS = 31
    """How long after the as-of day or the period's end an export may still run on."""

    @classmethod
    def of(cls, ctx: FetchContext, options: Optional[TabularOptions]) -> "Years":
        from datetime import timedelta
        from zoneinfo import ZoneInfo

        tz = ZoneInfo(ctx.periods[0].tz if ctx.periods else "UTC")
        period_end = max((p.end for p in ctx.periods), default=(ctx.window_end - timedelta(microseconds=1)).date())
        if ctx.as_of is None:  # no clock: a context built by hand
            day = max(period_end, ctx.as_of_day or period_end)
        else:
            today = (ctx.as_of - timedelta(microseconds=1)).astimezone(tz).date()
            as_of_day = ctx.as_of_day or today
            # A workflow pinned to a day after the clock (a golden case) is taken at its word.
            day = min(max(today, as_of_day), max(as_of_day, period_end) + timedelta(days=cls.REPORT_GRACE_DAYS))
        day_end = datetime.combine(day + timedelta(days=1), datetime.min.time(), tz).astimezone(ZoneInfo("UTC"))
        return cls(day_end, day, options.default_year if options is not None else None)


def _strptime(text: "pl.Expr", fmt: str, dtype: Any, latest: Any, default_year: Optional[int] = None) -> "pl.Expr":
    """Parse with one format. A format without a year (TikTok writes "November 18") places each
    date in ``default_year`` if given, else in the latest year that does not put it after
    ``latest`` (see :class:`Years`); February 29 in the latest leap year that does not."""
    import polars as pl

    if _has_year(fmt):
        return text.str.strptime(dtype, fmt, strict=False)
    if default_year is not None:
        return (text + f" {default_year}").str.strptime(dtype, f"{fmt} %Y", strict=False)
    leap = next(y for y in range(latest.year, latest.year - 9, -1)
                if y % 4 == 0 and (y % 100 != 0 or y % 400 == 0) and (y < latest.year or (latest.month, latest.day) >= (2, 29)))
    this, last, leap_day = ((text + f" {year}").str.strptime(dtype, f"{fmt} %Y", strict=False)
                            for year in (latest.year, latest.year - 1, leap))
    one_by_one = pl.when(this.is_not_null() & (this <= latest)).then(this) \
        .when(last.is_not_null()).then(last).otherwise(leap_day)
    return pl.coalesce([_years_from_file_order(text, fmt, dtype, latest), one_by_one])


def _years_from_file_order(text: "pl.Expr", fmt: str, dtype: Any, latest: Any) -> "pl.Expr":
    """Dates without a year in a column in date order (oldest or newest first), each with its
    year: the newest row gets the latest year that puts it on or before ``latest``, and the year steps down at each turn of the year (December then January
    oldest first, January then December newest first). Null where the column is in no date order
    (each date then gets its year on its own) or a date does not exist in its year."""
    import polars as pl

    probe = (text + " 2000").str.strptime(dtype, f"{fmt} %Y", strict=False)  # 2000 has a February 29
    before = probe.forward_fill().shift(1)
    unknown = probe.is_null() | before.is_null()
    month, month_before = probe.dt.month(), before.dt.month()
    new_year = ((month_before == 12) & (month == 1)).fill_null(False)
    old_year = ((month_before == 1) & (month == 12)).fill_null(False)
    oldest_first = (unknown | (probe >= before) | new_year).all()
    newest_first = (unknown | (probe <= before) | old_year).all()
    limit = pl.lit(latest)

    def newest_year(newest: "pl.Expr") -> "pl.Expr":
        in_end_year = (newest + f" {latest.year}").str.strptime(dtype, f"{fmt} %Y", strict=False)
        return pl.when(in_end_year <= limit).then(pl.lit(latest.year)).otherwise(pl.lit(latest.year - 1))

    read = text.filter(probe.is_not_null())
    turns_after = new_year.cast(pl.Int32).sum() - new_year.cast(pl.Int32).cum_sum()
    turns_before = old_year.cast(pl.Int32).cum_sum()
    year = pl.when(oldest_first).then(newest_year(read.last()) - turns_after) \
        .when(newest_first).then(newest_year(read.first()) - turns_before)
    # A February 29 moves the whole run of years back to the latest one that has it in a leap
    # year: its neighbours in the file's order go with it (never 28 February and 1 March in one
    # year, the 29th two years before). None does: the file is in no year order (null).
    # The shift is the fewest years back that put every February 29 in a leap year: each row's
    # year names the shifts that suit it (a bit mask, looked up, as leap years repeat every 400
    # years), the masks of the leap days are and-ed, and the lowest bit left is the shift. Each
    # expression reads ``year`` once: a plan that repeated it per shift tried was 75 kB of text,
    # 100 ms to plan for a few rows.
    leap_day = ((probe.dt.month() == 2) & (probe.dt.day() == 29)).fill_null(False)
    suits = pl.when(leap_day).then((year % 400).replace_strict(_LEAP_SHIFTS, default=None, return_dtype=pl.Int32)) \
        .otherwise(pl.lit(ALL_SHIFTS, dtype=pl.Int32))
    shift = suits.bitwise_and().replace_strict(_FEWEST_YEARS_BACK, default=None, return_dtype=pl.Int32)
    year = year - shift
    return (text + " " + year.cast(pl.String)).str.strptime(dtype, f"{fmt} %Y", strict=False)


LEAP_SEARCH = 9
"""Years looked back for a leap year (there is one in every 8, across a century not leap)."""
ALL_SHIFTS = (1 << LEAP_SEARCH) - 1
"""The bit mask of every shift back tried: bit ``n`` stands for ``n`` years back."""


def _is_leap_year(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


_LEAP_SHIFTS = {y: sum(1 << back for back in range(LEAP_SEARCH) if _is_leap_year(y - back)) for y in range(400)}
"""A year modulo 400 -> the bit mask of the shifts back (0 to LEAP_SEARCH - 1) that land on a leap year."""
_FEWEST_YEARS_BACK = {mask: (mask & -mask).bit_length() - 1 for mask in range(1, ALL_SHIFTS + 1)}
"""A bit mask of shifts -> its smallest shift (a mask of none is missing: no year fits)."""
