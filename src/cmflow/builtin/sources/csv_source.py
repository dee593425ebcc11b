"""The ``csv`` source: posts, snapshots or any record kind from a CSV export."""

from __future__ import annotations

from typing import Iterable

from pydantic import Field, field_validator

from cmflow import FetchContext, RecordTable, Source, TextEncoding, hookimpl

from .tabular import DataFileError, TabularOptions, parse_records


class CsvOptions(TabularOptions):
    delimiter: str = Field(",", description="Field separator, one character: \",\", \";\" (French "
                           "Excel exports), \"|\" or \"\\t\".", examples=[";"])
    encoding: TextEncoding = Field("utf-8", description="Text encoding of the file (a UTF-8 byte-order mark "
                          "is ignored).", examples=["latin-1"])

    @field_validator("delimiter")
    @classmethod
    def _one_ascii_character(cls, value: str) -> str:
        names = {";": "semicolon", ",": "comma", "\t": "tab", "|": "pipe"}
        if len(value) != 1 or not value.isascii() or value in "\"\r\n":
            named = {v: k for k, v in names.items()}.get(value.strip().lower())
            raise ValueError(f"{value!r} is not a field separator: write one character such as "
                             + (f"{named!r}" if named else "\",\", \";\", \"|\" or \"\\t\" (tab)"))
        return value


class CsvSource(Source):
    """Reads records from a CSV file, mapping its columns to canonical fields."""

    name = "csv"
    description = "Read posts, account snapshots or other records from a CSV export."
    Options = CsvOptions
    record_kinds = ()

    def produces(self) -> set[str]:
        return {self.options.record}

    def fetch(self, ctx: FetchContext) -> Iterable[RecordTable]:
        import polars as pl

        options: CsvOptions = self.options
        path = ctx.resolve_path(options.path)
        if not path.is_file():
            raise DataFileError(f"{path}: file not found")
        encoding = "utf-8-sig" if options.encoding.lower().replace("_", "-") in ("utf-8", "utf8") else options.encoding
        try:
            text = path.read_text(encoding=encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            raise DataFileError(f"{path}: cannot decode as {options.encoding}: {exc}; set encoding") from None
        import io

        try:
            raw = pl.read_csv(io.StringIO(text), separator=options.delimiter, infer_schema=False,
                              quote_char='"', truncate_ragged_lines=False)
        except pl.exceptions.PolarsError as exc:
            raise DataFileError(f"{path}: not a readable CSV file with delimiter "
                                f"{options.delimiter!r}: {str(exc).splitlines()[0]}") from None
        raw = raw.rename({c: c.strip() for c in raw.columns})
        frame = parse_records(raw, options, ctx, path, "row", first_row=2)
        yield RecordTable(options.record, frame)

    def check_credentials(self, ctx: FetchContext) -> list:
        """The export exists, can be read and decodes in ``encoding`` (`validate` does not look at it)."""
        from cmflow.doctor import check_file

        encoding = self.options.encoding
        utf8 = encoding.lower().replace("_", "-") in ("utf-8", "utf8")
        return [check_file(self, ctx, self.options.path, encoding="utf-8-sig" if utf8 else encoding)]


@hookimpl
def register_sources(register):
    register(CsvSource)
