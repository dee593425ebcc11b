"""What the ``csv`` and ``json`` sources share: options, column mapping and per-column parsing.

Exports from Meta Business Suite, LinkedIn or a spreadsheet name their columns their own way
and write numbers and dates in their locale. The file is first read as text, then each
canonical column is parsed in one vectorised pass; a value that does not parse is an error
naming the file, the row and the column (or, with ``on_error = "skip"``, a skipped row).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal, Optional, Union

from pydantic import Field, field_validator, model_validator

from cmflow import InputPath, PluginOptions, StrftimeFormats, TimeZoneName
from cmflow.context import FetchContext
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


class DataFileError(ValueError):
    """A data file whose content does not fit the mapping: says file, row and column."""


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
        "fail", description="fail: a bad value stops the source with an error naming the row "
        "and column; skip: bad rows are left out and counted in the run summary.")

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


def parse_records(raw: "pl.DataFrame", options: TabularOptions, ctx: FetchContext, file: Path,
                  row_label: str, first_row: int) -> "pl.DataFrame":
    """Map and parse a frame of text columns into the canonical columns of ``options.record``.

    ``row_label`` and ``first_row`` say how rows are named in errors ("row 2" for the first
    data line of a CSV file under its header, "item 1" for the first object of a JSON array).
    """
    import polars as pl

    from cmflow.plugins import closest

    kind = options.record_kind()
    tz = options.timezone or (ctx.periods[0].tz if ctx.periods else "UTC")
    available = raw.columns
    frame = raw.with_row_index("_row", offset=first_row)
    selected: list[pl.Expr] = [pl.col("_row")]
    sources: dict[str, str] = {}
    for field in kind.fields:
        if field.name in options.constants:
            selected.append(pl.lit(options.constants[field.name]).alias(field.name))
            continue
        column = options.columns.get(field.name)
        if column is None and field.name in available:
            column = field.name
        if column is None:
            if field.required:
                raise DataFileError(
                    f"{file}: no column for required field {field.name!r}; map it with "
                    f"columns.{field.name} = \"<column name>\" (columns in the file: "
                    f"{', '.join(available)})")
            continue
        if column not in available:
            suggestion = closest(column, available)
            raise DataFileError(
                f"{file}: column {column!r} (mapped to {field.name}) is not in the file"
                + (f"; did you mean {suggestion!r}?" if suggestion else
                   f"; columns in the file: {', '.join(available)}"))
        sources[field.name] = column
        selected.append(pl.col(column).cast(pl.String).str.strip_chars().alias(field.name))
    frame = frame.select(selected)
    for name, mapping in options.values.items():
        if name in frame.columns:
            frame = frame.with_columns(pl.col(name).replace(mapping))
    if "platform" in frame.columns:
        frame = frame.with_columns(pl.col("platform").str.to_lowercase())
    if "format" in frame.columns and kind.name == "post":
        unknown = sorted(set(frame["format"].drop_nulls().unique().to_list()) - set(POST_FORMATS))
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
        if field.type in ("int", "float"):
            value = _parse_number(text, options)
            problem = ("is not a number (for 1 234 or 4,5 set `thousands` or `decimal`)"
                       if options.thousands is None and options.decimal == "." else "is not a number")
            if field.type == "int":
                # A counter is whole: "1.234" with decimal = "," is a thousands separator the
                # options do not declare, not 1.234 likes rounded to 1.
                fractional = value.is_not_null() & (value != value.round(0))
                checks.append((field.name, ~empty & fractional,
                               "is not a whole number (set `thousands` or `decimal`?)"))
                value = pl.when(fractional).then(None).otherwise(value).cast(pl.Int64)
        elif field.type == "datetime":
            value = _parse_datetime(text, as_list(options.datetime_format, ISO_DATETIME_FORMATS), tz)
            problem = f"is not a date-time in the format {_formats(options.datetime_format, ISO_DATETIME_FORMATS)}"
        elif field.type == "date":
            value = _parse_date(text, as_list(options.date_format, ISO_DATE_FORMATS))
            problem = (f"is not a date in the format {_formats(options.date_format, ISO_DATE_FORMATS)} "
                       "(set `date_format` for date fields, `datetime_format` for date-times)")
        else:
            parsed.append(pl.when(empty).then(None).otherwise(text).alias(field.name))
            if field.required:
                checks.append((field.name, empty, "is empty"))
            continue
        parsed.append(pl.when(empty).then(None).otherwise(value).alias(field.name))
        checks.append((field.name, ~empty & value.is_null(), problem))
        if field.required:
            checks.append((field.name, empty, "is empty"))
    bad_flags = [flag.alias(f"_bad_{i}") for i, (_, flag, _) in enumerate(checks)]
    result = frame.with_columns(bad_flags).with_columns(parsed)
    flag_names = [f"_bad_{i}" for i in range(len(checks))]
    if not flag_names:
        return result.drop("_row")
    any_bad = pl.any_horizontal(flag_names)
    bad_rows = result.filter(any_bad)
    if bad_rows.height:
        messages = _describe_bad_rows(bad_rows, frame, checks, sources, row_label)
        if options.on_error == "fail":
            more = f" (and {bad_rows.height - len(messages)} more bad rows)" if bad_rows.height > len(messages) else ""
            raise DataFileError(f"{file}: " + "; ".join(messages) + more +
                                "; fix the file or set on_error = \"skip\"")
        ctx.warn(f"{file.name}: skipped {bad_rows.height} bad row(s), e.g. {messages[0]}")
        result = result.filter(~any_bad)
    return result.drop("_row", *flag_names)


def _describe_bad_rows(bad_rows: "pl.DataFrame", text_frame: "pl.DataFrame",
                       checks: list[tuple[str, "pl.Expr", str]], sources: dict[str, str],
                       row_label: str) -> list[str]:
    import polars as pl

    messages = []
    originals = text_frame.join(bad_rows.select("_row").head(MAX_ERRORS_SHOWN), on="_row", how="semi")
    flags = bad_rows.head(MAX_ERRORS_SHOWN)
    for row_flags, original in zip(flags.iter_rows(named=True), originals.iter_rows(named=True)):
        for i, (field, _, problem) in enumerate(checks):
            if row_flags[f"_bad_{i}"]:
                column = sources.get(field, field)
                shown = original.get(field)
                value = f" {_shorten(shown)!r}" if shown not in (None, "") else ""
                messages.append(f"{row_label} {row_flags['_row']}, column {column!r}: value{value} {problem}")
                break
    return messages or [f"{row_label} {bad_rows['_row'][0]}: bad value"]


def _shorten(value: object, limit: int = 40) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _formats(value: Union[str, list[str], None], default: tuple[str, ...]) -> str:
    formats = as_list(value, default)
    return "ISO 8601 (e.g. 2026-11-16T09:15)" if value is None and formats != ["%Y-%m-%d"] else " or ".join(formats)


def _parse_number(text: "pl.Expr", options: TabularOptions) -> "pl.Expr":
    import polars as pl

    cleaned = text.str.replace_all(SPACES, "").str.strip_suffix("%")
    if options.thousands and options.thousands.strip():
        cleaned = cleaned.str.replace_all(options.thousands, "", literal=True)
    if options.decimal == ",":
        cleaned = cleaned.str.replace(",", ".", literal=True)
    return cleaned.cast(pl.Float64, strict=False)


def _parse_datetime(text: "pl.Expr", formats: list[str], tz: str) -> "pl.Expr":
    import polars as pl

    text = text.str.replace(r"Z$", "+00:00")
    candidates = []
    for fmt in formats:
        parsed = text.str.strptime(pl.Datetime("us"), fmt, strict=False)
        if "%z" in fmt:
            candidates.append(parsed.dt.convert_time_zone("UTC"))
        else:
            candidates.append(parsed.dt.replace_time_zone(tz, ambiguous="earliest", non_existent="null")
                              .dt.convert_time_zone("UTC"))
    return pl.coalesce(candidates)


def _parse_date(text: "pl.Expr", formats: list[str]) -> "pl.Expr":
    import polars as pl

    return pl.coalesce([text.str.strptime(pl.Date, fmt, strict=False) for fmt in formats])
