"""The ``json`` source: records from a JSON (or JSON Lines) export."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Iterable

from pydantic import Field

from cmflow import FetchContext, InputPath, RecordTable, Source, hookimpl

from .export_text import check_export, read_export
from .tabular import DataFileError, RowPlaces, TabularOptions, parse_records

PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
JSON_LINES_SUFFIXES = (".jsonl", ".ndjson")
"""Files read as JSON Lines whatever they hold: one line is one record, not the whole document."""


class JsonOptions(TabularOptions):
    path: InputPath = Field(description="File to read: relative to the workflow file, absolute, or "
                      "builtin:demo/... for the bundled demo data.",
                      examples=["exports/followers.json"])
    items: str | None = Field(
        None, description="Dotted path to the array of records inside the document, e.g. "
        "\"data\" or \"report.rows\". Default: the document is the array (or one object per line).",
        examples=["data"])


class JsonPlaces(RowPlaces):
    """Items by index in their array (``data[3]``) or, in JSON Lines, by line; cells by key."""

    def __init__(self, prefix: str, lines: list[int] | None, ambiguous: dict[str, str]) -> None:
        self.prefix = prefix
        self.lines = lines
        self.ambiguous = ambiguous

    def row(self, index: int) -> str:
        return f"line {self.lines[index]}" if self.lines else f"{self.prefix}[{index}]"

    def cell(self, index: int, column: str) -> str:
        if self.lines:
            return f'line {self.lines[index]}, key "{column}"'
        return f"{self.prefix}[{index}]" + key_path(column)

    def order(self, index: int) -> int:
        return self.lines[index] if self.lines else index


def key_path(key: str) -> str:
    """A key as a path after an item: ``.likes``, ``.public_metrics.like_count``, ``["Post ID"]``."""
    parts = key.split(".")
    if all(PLAIN_KEY.match(part) for part in parts):
        return "".join(f".{part}" for part in parts)
    return f"[{json.dumps(key)}]"


def with_nested_keys(item: dict[str, Any]) -> dict[str, Any]:
    """The item with each value inside a nested object also under its dotted path, so that
    `columns` can map ``likes = "public_metrics.like_count"`` (X, YouTube and Graph API shapes).
    A key of the item itself wins over a dotted path spelling the same."""
    flat: dict[str, Any] = {}

    def walk(value: dict[str, Any], prefix: str) -> None:
        for key, inner in value.items():
            flat.setdefault(f"{prefix}{key}", inner)
            if isinstance(inner, dict):
                walk(inner, f"{prefix}{key}.")

    walk(item, "")
    flat.update(item)
    return flat


class JsonSource(Source):
    """Reads records from a JSON array (or JSON Lines), mapping keys to canonical fields.

    Values are read as the `csv` source reads cells, with the same rules for counts, dates,
    duplicates and `on_error` (see [csv](csv.md)); messages name an item by its position and key
    path, e.g. `posts.json: data[3].likes: value "-3" is negative` (JSON Lines: by line).

    - A 0-byte or blank file is an error (a failed export must not look like a quiet week); an
      empty array `[]` is a period without records.
    - Invalid JSON is an error with its line and column; `NaN` and `Infinity` (JavaScript, not
      JSON) are refused with the position of the item holding them, and so is an item holding
      a key the source reads twice.
    - The document must be an array of objects, or hold one at `items`; otherwise the error
      says what it found (and, for an object, the keys that hold arrays). A file named
      `.jsonl` or `.ndjson` is JSON Lines, even with a single line.
    - A value inside a nested object is mapped by its dotted path, e.g. `likes =
      "public_metrics.like_count"` (X), `impressions = "statistics.viewCount"` (YouTube);
      errors name its full key path (`data[1].public_metrics.like_count`). A key of the item
      spelt with a dot wins over a nested path.
    """

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
        text = read_export(path, options.encoding)
        items, lines = _items(text, options.items, path)
        items = [_with_repeated(with_nested_keys(item), item) for item in items]
        prefix = options.items or ""
        keys: dict[str, None] = {}
        repeated: dict[str, str] = {}
        for index, item in enumerate(items):
            keys.update(dict.fromkeys(item))
            for key in getattr(item, "repeated", ()):
                where = f"line {lines[index]}" if lines else f"{prefix}[{index}]"
                repeated.setdefault(key, f"{where}: key \"{key}\" appears more than once in one object: "
                                         "cmflow cannot tell which value to read")
        rows = {key: [_text(item.get(key), path, lines[i] if lines else f"{prefix}[{i}]", key)
                      for i, item in enumerate(items)] for key in keys}
        raw = pl.DataFrame(rows, schema={k: pl.String for k in keys})
        places = JsonPlaces(prefix, lines, repeated)
        if not items:  # an export of a quiet period: no records, not an error
            yield RecordTable(options.record, pl.DataFrame(schema=options.record_kind().polars_schema()))
            return
        yield RecordTable(options.record, parse_records(raw, options, ctx, path, places))

    def check_credentials(self, ctx: FetchContext) -> list[Any]:
        """The export exists, is not empty and decodes in ``encoding`` (`validate` does not look at it)."""
        return [check_export(self, ctx, self.options.path, self.options.encoding)]


class _Object(dict):
    """A JSON object that remembers the keys it held more than once (``json`` keeps the last)."""

    repeated: tuple[str, ...] = ()


def _with_repeated(flat: dict[str, Any], item: dict[str, Any]) -> _Object:
    result = _Object(flat)
    result.repeated = getattr(item, "repeated", ())
    return result


def _object(pairs: list[tuple[str, Any]]) -> _Object:
    result = _Object(pairs)
    if len(result) < len(pairs):
        names = [key for key, _ in pairs]
        result.repeated = tuple(dict.fromkeys(k for k in names if names.count(k) > 1))
    return result


class _NotJson(float):
    """NaN or Infinity, which Python's ``json`` accepts and JSON does not."""

    token = ""


def _constant(token: str) -> _NotJson:
    value = _NotJson(token.replace("Infinity", "inf"))
    value.token = token
    return value


def _load(text: str) -> Any:
    return json.loads(text, object_pairs_hook=_object, parse_constant=_constant)


def _items(text: str, dotted: str | None, path: Path) -> tuple[list[dict[str, Any]], list[int] | None]:
    """The records of the document, and for JSON Lines the line each one is on."""
    lines: list[int] | None = None
    if path.suffix.lower() in JSON_LINES_SUFFIXES and not dotted:
        document, lines = _json_lines(text, path)  # one object per line, even a single line
    else:
        try:
            document = _load(text)
        except json.JSONDecodeError as exc:
            if exc.msg != "Extra data" or not text.lstrip().startswith("{"):
                raise DataFileError(f"{path}, line {exc.lineno}, column {exc.colno}: not valid JSON: "
                                    f"{exc.msg}") from None
            document, lines = _json_lines(text, path)  # several documents: JSON Lines
    trail = ""
    for part in (dotted.split(".") if dotted else []):
        if not isinstance(document, dict) or part not in document:
            found = _shape(document)
            raise DataFileError(f"{path}: no key {part!r} on the way to items = {dotted!r} "
                                f"({trail or 'the document'} is {found})")
        document = document[part]
        trail = f"{trail}.{part}" if trail else part
    if not isinstance(document, list):
        hint = ""
        if isinstance(document, dict):
            arrays = [k for k, v in document.items() if isinstance(v, list)]
            hint = (f"; set items = \"{(trail + '.') if trail else ''}{arrays[0]}\" (the key holding the array)"
                    if arrays else "; one record on its own? JSON Lines (one object per line) are read "
                    "from a file named .jsonl")
        raise DataFileError(f"{path}: expected an array of records at {trail or 'the top level'}, found "
                            f"{_shape(document)}" + (hint or ("" if dotted else "; set `items` to the key that holds it")))
    for index, item in enumerate(document):
        if not isinstance(item, dict):
            where = f"line {lines[index]}" if lines else f"{trail}[{index}]"
            raise DataFileError(f"{path}, {where}: a record must be an object {{...}}, found {_shape(item)}")
    return document, lines


def _json_lines(text: str, path: Path) -> tuple[list[Any], list[int]]:
    """JSON Lines: one document per line (blank lines skipped), and the line each is on."""
    documents, lines = [], []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            documents.append(_load(line))
        except json.JSONDecodeError as exc:
            raise DataFileError(f"{path}, line {number}, column {exc.colno}: not valid JSON "
                                f"(JSON Lines: one object per line): {exc.msg}") from None
        lines.append(number)
    return documents, lines


def _shape(value: Any) -> str:
    if isinstance(value, dict):
        keys = ", ".join(list(value)[:8]) + (" ..." if len(value) > 8 else "")
        return f"an object with keys {keys}" if value else "an empty object"
    if isinstance(value, list):
        return "an array"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return "a string"


def _text(value: Any, path: Path, where: Any, key: str) -> str | None:
    """A value as the text a CSV cell would hold; NaN and Infinity are refused where they are."""
    if value is None:
        return None
    if _holds_not_json(value):
        place = f"line {where}, key \"{key}\"" if isinstance(where, int) else f"{where}{key_path(key)}"
        raise DataFileError(f"{path}, {place}: NaN and Infinity are not JSON numbers (the exporting tool "
                            "wrote JavaScript): export again, or write null for \"no value\"")
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _holds_not_json(value: Any) -> bool:
    if isinstance(value, _NotJson):
        return True
    if isinstance(value, dict):
        return any(_holds_not_json(v) for v in value.values())
    if isinstance(value, list):
        return any(_holds_not_json(v) for v in value)
    return False


@hookimpl
def register_sources(register):
    register(JsonSource)
