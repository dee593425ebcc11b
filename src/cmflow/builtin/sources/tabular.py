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

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Literal, Optional, Union

from pydantic import Field, field_validator, model_validator

from cmflow import InputPath, PluginOptions, StrftimeFormats, TextEncoding, TimeZoneName
from cmflow.context import FetchContext
from cmflow.errors import DataFileError
from cmflow.records import POST_FORMATS, RECORD_KINDS, RecordKind

if TYPE_CHECKING:
    import polars as pl

ISO_DATETIME_FORMATS = (
    "%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S%z",
    "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M", "%Y-%m-%d",
)
ISO_DATE_FORMATS = ("%Y-%m-%d",)
SPACES = r"[\s\u00a0\u202f]"
MAX_ERRORS_SHOWN = 5
"""Bad rows an error message spells out (the rest are counted)."""
MAX_DUPLICATES_SHOWN = 5
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
NO_VALUE_MARKS = ("-", "--", "–", "—", "n/a", "na", "null", "none", "nan", "#n/a", "?")
"""Marks some tools write for "no value": refused in number columns (only an empty cell is "no
value"), with a hint saying how to map them to empty."""


class TabularOptions(PluginOptions):
    path: InputPath = Field(description="File to read: relative to the workflow file, absolute, or "
                      "builtin:demo/... for the bundled demo data.",
                      examples=["exports/instagram-posts.csv"])
    record: Literal[tuple(RECORD_KINDS)] = Field(  # type: ignore[valid-type]
        "post", description="Record kind each row becomes: post, account_snapshot, mention, "
        "conversation, calendar_item, time_entry or traffic.")
    columns: dict[str, str] = Field(
        default_factory=dict,
        description="Canonical field -> column name in the file. Fields not listed are read "
        "from a column with the canonical name, if there is one.",
        examples=[{"published_at": "Publish time", "likes": "Likes"}])
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
    thousands: str | None = Field(None, description="Thousands separator to remove from numbers, "
                                  "e.g. \" \" (any space, including non-breaking), \".\" or \",\".",
                                  examples=[" "])
    on_error: Literal["fail", "skip"] = Field(
        "fail", description="fail: a bad value stops the source with an error naming the line "
        "and column; skip: bad rows are left out, and each is listed with its line and reason "
        "in the run summary and the report's footer.")
    encoding: TextEncoding = Field("utf-8", description="Text encoding of the file. A byte-order mark "
                               "wins over it (UTF-8 or UTF-16, as Meta, TikTok and some tools write).",
                               examples=["cp1252"])

    @field_validator("columns", "constants", "values")
    @classmethod
    def _canonical_fields(cls, value: dict, info) -> dict:  # type: ignore[no-untyped-def]
        """Keys must be fields of the chosen record kind (a `followers` column on posts is a slip)."""
        from cmflow.plugins import closest

        kind = RECORD_KINDS.get(info.data.get("record", ""))
        known = list(kind.field_names) if kind else sorted({f for k in RECORD_KINDS.values() for f in k.field_names})
        unknown = [k for k in value if k not in known]
        if unknown:
            hints = [f"{k!r}" + (f" (did you mean {closest(k, known)!r}?)" if closest(k, known) else "")
                     for k in unknown]
            what = f"fields of {kind.name} records" if kind else "canonical fields"
            raise ValueError(f"not {what}: {', '.join(hints)}; they are {', '.join(known)}")
        return value

    @model_validator(mode="after")
    def _separators_differ(self) -> "TabularOptions":
        if self.thousands is not None and self.thousands.strip() and self.thousands == self.decimal:
            raise ValueError(f"thousands and decimal are both {self.decimal!r}: a number such as "
                             f"1{self.decimal}234 could be read two ways; set one of them to another "
                             "character")
        return self

    def record_kind(self) -> RecordKind:
        return RECORD_KINDS[self.record]


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


@dataclass(frozen=True)
class BadRow:
    """A row that cannot be used: where it is in the file (to sort by) and what is wrong."""

    order: int
    message: str


def parse_records(raw: "pl.DataFrame", options: TabularOptions, ctx: FetchContext, file: Path,
                  places: RowPlaces, bad_rows: Iterable[BadRow] = ()) -> "pl.DataFrame":
    """Map and parse a frame of text columns into the canonical columns of ``options.record``.

    ``places`` names the rows and cells in messages; ``bad_rows`` are rows the reader could
    not even split into columns (reported with the others). Raises :class:`DataFileError` on a
    bad row unless ``on_error = "skip"``.
    """
    import polars as pl

    kind = options.record_kind()
    tz = options.timezone or (ctx.periods[0].tz if ctx.periods else "UTC")
    sources = _mapped_columns(kind, options, list(raw.columns), file, places)
    frame = raw.with_row_index("_row").select(
        pl.col("_row"),
        *[pl.lit(options.constants[f.name]).alias(f.name) for f in kind.fields if f.name in options.constants],
        *[pl.col(column).cast(pl.String).str.strip_chars().alias(field) for field, column in sources.items()])
    for name, mapping in options.values.items():
        if name in frame.columns:
            frame = frame.with_columns(pl.col(name).replace(mapping))
    if "platform" in frame.columns:
        frame = frame.with_columns(pl.col("platform").str.to_lowercase())
    if "format" in frame.columns and kind.name == "post":
        unknown = sorted(set(frame["format"].drop_nulls().unique().to_list()) - set(POST_FORMATS) - {""})
        if unknown:  # kept as they are, but "by format" would split reels from "IG reel"
            shown = ", ".join(repr(v) for v in unknown[:5]) + (" ..." if len(unknown) > 5 else "")
            ctx.warn(f"{file.name}: format value(s) {shown} are not one of {', '.join(POST_FORMATS)}; "
                     f"map them with values.format = {{ \"{unknown[0]}\" = \"...\" }}")

    parsed: list[pl.Expr] = [pl.col("_row")]
    checks: list[tuple[str, pl.Expr, str]] = []
    for field in kind.fields:
        if field.name not in frame.columns:
            continue
        text = pl.col(field.name)
        empty = text.is_null() | (text == "")
        if field.type == "int":
            value, field_checks = _count(text, options, field.name)
        elif field.type == "float":
            value, field_checks = _decimal(text, options, field.name)
        elif field.type == "datetime":
            value, field_checks = _datetime(text, options, tz, ctx.window_end)
        elif field.type == "date":
            value, field_checks = _date(text, options, ctx.window_end)
        else:
            value, field_checks = text, []
        parsed.append(pl.when(empty).then(None).otherwise(value).alias(field.name))
        checks.extend((field.name, ~empty & flag, problem) for flag, problem in field_checks)
        if field.required:
            checks.append((field.name, empty, "is empty (this field is required)"))
    flag_names = [f"_bad_{i}" for i in range(len(checks))]
    result = frame.with_columns([flag.alias(name) for name, (_, flag, _) in zip(flag_names, checks)]) \
        .with_columns(parsed)
    bad = list(bad_rows)
    if flag_names:
        any_bad = pl.any_horizontal(flag_names)
        bad += _describe_bad_rows(result.filter(any_bad), frame, checks, sources, places)
        result = result.filter(~any_bad).drop(flag_names)
    result, duplicates = _one_row_per_record(result, kind, places, ctx, file)
    bad += duplicates
    if bad:
        _report_bad_rows(bad, file, options, ctx)
    return result.drop("_row")


def _mapped_columns(kind: RecordKind, options: TabularOptions, available: list[str], file: Path,
                    places: RowPlaces) -> dict[str, str]:
    """Canonical field -> the file's column it is read from; an error for a missing one."""
    from cmflow.plugins import closest

    header = ", ".join(f'"{c}"' for c in available)
    sources: dict[str, str] = {}
    for field in kind.fields:
        if field.name in options.constants:
            continue
        column = options.columns.get(field.name)
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
            continue
        if column in places.ambiguous:
            raise DataFileError(f"{file}, {places.ambiguous[column]}")
        if column not in available:
            near = next((n for n in RENAMED_COLUMNS.get(column.casefold(), ()) if n in available), None) \
                or closest(column, available)
            raise DataFileError(
                f"{file}: no column {column!r} (mapped to {field.name} in `columns`)"
                + (f"; did you mean {near!r}?" if near else "") + f"; the header's columns: {header}")
        sources[field.name] = column
    return sources


def _describe_bad_rows(bad_rows: "pl.DataFrame", text_frame: "pl.DataFrame",
                       checks: list[tuple[str, "pl.Expr", str]], sources: dict[str, str],
                       places: RowPlaces) -> list[BadRow]:
    """One :class:`BadRow` per row, naming each bad cell (its first problem) and its value."""
    if bad_rows.height == 0:
        return []
    originals = {row["_row"]: row for row in
                 text_frame.join(bad_rows.select("_row"), on="_row", how="semi").iter_rows(named=True)}
    described = []
    for flags in bad_rows.select("_row", *(f"_bad_{i}" for i in range(len(checks)))).iter_rows(named=True):
        index, seen, messages = flags["_row"], set(), []
        for i, (field, _, problem) in enumerate(checks):
            if not flags[f"_bad_{i}"] or field in seen:
                continue
            seen.add(field)
            shown = originals[index].get(field)
            value = f'"{_shorten(shown)}"' if shown not in (None, "") else ""
            where = places.cell(index, sources[field]) if field in sources else \
                f"{places.row(index)}, constants.{field}"
            messages.append(f"{where}: value {value} {problem.replace('{value}', str(shown))}"
                            .replace("value  ", "value "))
        described.append(BadRow(places.order(index), "; ".join(messages)))
    return described


def _one_row_per_record(frame: "pl.DataFrame", kind: RecordKind, places: RowPlaces, ctx: FetchContext,
                        file: Path) -> tuple["pl.DataFrame", list[BadRow]]:
    """The same record on several rows (one post id twice): counted once with a warning when the
    copies agree; every copy a bad row, saying which values differ, when they do not."""
    import polars as pl

    identity = [c for c in kind.identity if c in frame.columns]
    if not identity or frame.height < 2:
        return frame, []
    repeated = frame.filter(pl.struct(identity).is_duplicated())
    if repeated.height == 0:
        return frame, []
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
        values = "; ".join(f"{c} " + " vs ".join(_shown_value(v) for v in group[c]) for c in differing)
        bad.append(BadRow(places.order(rows[0]), f"{where}: the same {kind.name} ({record}) with "
                                                 f"different values: {values}; keep one of the rows"))
        dropped.update(rows)
    if same:
        listed = "; ".join(same[:MAX_DUPLICATES_SHOWN]) + (
            f"; and {len(same) - MAX_DUPLICATES_SHOWN} more" if len(same) > MAX_DUPLICATES_SHOWN else "")
        ctx.warn(f"{file.name}: {len(same)} {kind.name} record(s) appear more than once with the same "
                 f"values, counted once: {listed}")
    return frame.filter(~pl.col("_row").is_in(sorted(dropped))), bad


def _shown_value(value: Any) -> str:
    if value is None:
        return "(empty)"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    return _shorten(value)


def _report_bad_rows(bad: list[BadRow], file: Path, options: TabularOptions, ctx: FetchContext) -> None:
    bad.sort(key=lambda b: b.order)
    if options.on_error == "fail":
        shown = [b.message for b in bad[:MAX_ERRORS_SHOWN]]
        more = f" (and {len(bad) - len(shown)} more bad rows)" if len(bad) > len(shown) else ""
        raise DataFileError(f"{file}, " + "; ".join(shown) + more +
                            "; fix the file, or set on_error = \"skip\" to leave bad rows out")
    for row in bad:
        ctx.skip(f"{file.name}, {row.message}")
    ctx.warn(f"{file.name}: {len(bad)} bad row(s) skipped (on_error = \"skip\")")


def _shorten(value: object, limit: int = 40) -> str:
    text = str(value).replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _formats(value: Union[str, list[str], None], default: tuple[str, ...]) -> str:
    formats = as_list(value, default)
    return "ISO 8601 (e.g. 2026-11-16T09:15)" if value is None and formats != ["%Y-%m-%d"] else " or ".join(formats)


def _number_text(text: "pl.Expr", options: TabularOptions) -> "pl.Expr":
    """The number as Polars reads it: spaces (thousands in French) and `thousands` removed,
    the `decimal` separator turned into a point."""
    cleaned = text.str.replace_all(SPACES, "").str.strip_suffix("%")
    if options.thousands and options.thousands.strip():
        cleaned = cleaned.str.replace_all(options.thousands, "", literal=True)
    if options.decimal == ",":
        cleaned = cleaned.str.replace(",", ".", literal=True)
    return cleaned


def _not_a_number(text: "pl.Expr", options: TabularOptions, field: str) -> list[tuple["pl.Expr", str]]:
    """Why a text is not a number: a "no value" mark, or anything else."""
    import polars as pl

    hint = (" (for 1,234 or 4,5 set `thousands` or `decimal`)"
            if options.thousands is None and options.decimal == "." else "")
    mark = text.str.to_lowercase().is_in(NO_VALUE_MARKS)
    return [(mark, "is not a number: only an empty cell means \"no value\"; if the export writes "
                   f"a mark for it, map the mark to empty: values.{field} = {{ \"{{value}}\" = \"\" }}"),
            (pl.lit(True), f"is not a number{hint}")]


def _count(text: "pl.Expr", options: TabularOptions, field: str) -> tuple["pl.Expr", list[tuple["pl.Expr", str]]]:
    """A counter (likes, reach, followers ...): a whole number, 0 or more, that fits 64 bits."""
    import polars as pl

    cleaned = _number_text(text, options)
    whole = cleaned.str.replace(r"\.0+$", "")
    is_integer = whole.str.contains(r"^[+-]?\d+$")
    value = pl.when(is_integer).then(whole.cast(pl.Int64, strict=False))
    number = cleaned.cast(pl.Float64, strict=False)
    unparsed = number.is_null() & ~is_integer
    checks = [
        (text.str.contains(r"%\s*$"), "is a percentage, not a count (map a column of counts)"),
        (cleaned.str.contains(r"^[+-]?(\d+\.?\d*|\.\d+)[eE][+-]?\d+$"),
         "is in scientific notation: a count is written out in full (a spreadsheet shortened it: "
         "format the column as a number before saving)"),
        (number.is_not_null() & number.is_nan(), "is not a number (NaN)"),
        (number.is_not_null() & number.is_infinite(), "is infinite, not a count"),
        (is_integer & value.is_null(), "is too large for a count (beyond 64-bit integers)"),
        (number.is_not_null() & ~is_integer,
         "is not a whole number, so not a count" + (" (a thousands separator? set `thousands` or "
                                                     "`decimal`)" if options.thousands is None else "")),
        *[(unparsed & flag, problem) for flag, problem in _not_a_number(text, options, field)],
        (value < 0, "is negative: a count cannot be"),
    ]
    return value, checks


def _decimal(text: "pl.Expr", options: TabularOptions, field: str) -> tuple["pl.Expr", list[tuple["pl.Expr", str]]]:
    """A decimal (hours, cost, revenue): a finite number; a trailing % is dropped."""
    import polars as pl

    value = _number_text(text, options).cast(pl.Float64, strict=False)
    checks = [*[(value.is_null() & flag, problem) for flag, problem in _not_a_number(text, options, field)],
              (value.is_not_null() & ~value.is_finite(), "is not a finite number")]
    return value, checks


def _datetime(text: "pl.Expr", options: TabularOptions, tz: str,
              window_end: datetime) -> tuple["pl.Expr", list[tuple["pl.Expr", str]]]:
    import polars as pl

    formats = as_list(options.datetime_format, ISO_DATETIME_FORMATS)
    text = text.str.replace(r"Z$", "+00:00")
    candidates = []
    for fmt in formats:
        if "%z" in fmt:
            candidates.append(_strptime(text, fmt, pl.Datetime("us"), window_end).dt.convert_time_zone("UTC"))
        else:
            candidates.append(_strptime(text, fmt, pl.Datetime("us"), window_end.replace(tzinfo=None))
                              .dt.replace_time_zone(tz, ambiguous="earliest", non_existent="null")
                              .dt.convert_time_zone("UTC"))
    value = pl.coalesce(candidates)
    expected = _formats(options.datetime_format, ISO_DATETIME_FORMATS)
    return value, [(value.is_null(), f"is not a date-time in the format {expected}"),
                   (~value.dt.year().is_between(EARLIEST_YEAR, LATEST_YEAR), _out_of_range(expected))]


def _date(text: "pl.Expr", options: TabularOptions,
          window_end: datetime) -> tuple["pl.Expr", list[tuple["pl.Expr", str]]]:
    import polars as pl

    formats = as_list(options.date_format, ISO_DATE_FORMATS)
    value = pl.coalesce([_strptime(text, fmt, pl.Date, window_end.date()) for fmt in formats])
    expected = _formats(options.date_format, ISO_DATE_FORMATS)
    return value, [(value.is_null(), f"is not a date in the format {expected} (set `date_format` for "
                                     "date fields, `datetime_format` for date-times)"),
                   (~value.dt.year().is_between(EARLIEST_YEAR, LATEST_YEAR), _out_of_range(expected))]


def _out_of_range(expected: str) -> str:
    return (f"is outside the years {EARLIEST_YEAR} to {LATEST_YEAR}: a placeholder date or a typo? "
            f"(expected format: {expected})")


def _strptime(text: "pl.Expr", fmt: str, dtype: Any, latest: Any) -> "pl.Expr":
    """Parse with one format. A format without a year (TikTok writes "November 18") places each
    date in the latest year that does not put it after ``latest``, the end of the run's window."""
    import polars as pl

    if any(directive in fmt for directive in YEAR_DIRECTIVES):
        return text.str.strptime(dtype, fmt, strict=False)
    this_year, last_year = (text + f" {year}" for year in (latest.year, latest.year - 1))
    this, last = (t.str.strptime(dtype, f"{fmt} %Y", strict=False) for t in (this_year, last_year))
    return pl.when(this.is_not_null() & (this <= latest)).then(this).otherwise(last)
