"""The ``json`` source: records from a JSON (or JSON Lines) export."""

from __future__ import annotations

import json
from typing import Any, Iterable

from pydantic import Field

from cmflow import FetchContext, InputPath, RecordTable, Source, hookimpl

from .tabular import DataFileError, TabularOptions, parse_records


class JsonOptions(TabularOptions):
    path: InputPath = Field(description="File to read: relative to the workflow file, absolute, or "
                      "builtin:demo/... for the bundled demo data.",
                      examples=["exports/followers.json"])
    items: str | None = Field(
        None, description="Dotted path to the array of records inside the document, e.g. "
        "\"data\" or \"report.rows\". Default: the document is the array (or one object per line).",
        examples=["data"])


class JsonSource(Source):
    """Reads records from a JSON array (or JSON Lines), mapping keys to canonical fields."""

    name = "json"
    description = "Read posts, account snapshots or other records from a JSON export."
    Options = JsonOptions
    record_kinds = ()

    def produces(self) -> set[str]:
        return {self.options.record}

    def fetch(self, ctx: FetchContext) -> Iterable[RecordTable]:
        import polars as pl

        options: JsonOptions = self.options
        path = ctx.resolve_path(options.path)
        if not path.is_file():
            raise DataFileError(f"{path}: file not found")
        text = path.read_text(encoding="utf-8-sig")
        items = _items(text, options.items, path)
        keys: dict[str, None] = {}
        for item in items:
            keys.update(dict.fromkeys(item))
        rows = {key: [_text(item.get(key)) for item in items] for key in keys}
        if not items:  # an export of a quiet period: no records, not an error
            yield RecordTable(options.record, pl.DataFrame(schema=options.record_kind().polars_schema()))
            return
        raw = pl.DataFrame(rows, schema={k: pl.String for k in keys})
        frame = parse_records(raw, options, ctx, path, "item", first_row=1)
        yield RecordTable(options.record, frame)

    def check_credentials(self, ctx: FetchContext) -> list[Any]:
        """The export exists, can be read and is UTF-8 (`validate` does not look at it)."""
        from cmflow.doctor import check_file

        return [check_file(self, ctx, self.options.path, encoding="utf-8-sig")]


def _items(text: str, dotted: str | None, path: Any) -> list[dict[str, Any]]:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        lines = [line for line in text.splitlines() if line.strip()]
        try:  # JSON Lines
            document = [json.loads(line) for line in lines]
        except json.JSONDecodeError:
            raise DataFileError(f"{path}: not valid JSON: {exc.msg} at line {exc.lineno}, "
                                f"column {exc.colno}") from None
    for part in (dotted.split(".") if dotted else []):
        if not isinstance(document, dict) or part not in document:
            raise DataFileError(f"{path}: no key {part!r} on the way to {dotted!r}")
        document = document[part]
    if not isinstance(document, list):
        raise DataFileError(f"{path}: expected an array of records" +
                            ("" if dotted else "; set `items` to the key that holds it"))
    for index, item in enumerate(document, start=1):
        if not isinstance(item, dict):
            raise DataFileError(f"{path}: item {index} is not an object")
    return document


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


@hookimpl
def register_sources(register):
    register(JsonSource)
