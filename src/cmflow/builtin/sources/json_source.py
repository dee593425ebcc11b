"""The ``json`` source: records from a JSON (or JSON Lines) export."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from itertools import chain
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from pydantic import Field

from cmflow import InputPath, RecordTable, Source, hookimpl

from cmflow.builtin.sources.export_text import check_export, plain_utf8_bytes, read_export
from cmflow.builtin.sources.steady_files import read_steadily
from cmflow.builtin.sources.tabular import DataFileError, RowPlaces, TabularOptions, parse_records

if TYPE_CHECKING:
    import polars as pl

    from cmflow import FetchContext

PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
ASCII_ESCAPE = re.compile(rb"\\u00[2-7][0-9a-fA-F]")
"""A printable ASCII character written as an escape (``\\u003a`` for a colon): such a file is not
counted by :func:`read_json_columns`, which counts characters in the bytes."""
SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
SURROGATE_PAIR = re.compile(rb"\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}")
ESCAPE = re.compile(rb"\\u[0-9a-fA-F]{4}")
COUNTED = b'":{[.eEula'
"""The characters :func:`read_json_columns` counts outside strings in the bytes: the letters
tell null (u, l, l), true (u, e), false (a, l, e) and exponents (e, E) apart."""
NOT_COUNTED = bytes(sorted(set(range(256)) - set(COUNTED)))
SMALL_ITEM_BYTES = 160
"""Bytes per item (``{``) up to which :func:`read_plain_json` has Polars parse the document into
columns: small items (a day's follower count) cost orjson a Python object per value, while
long strings (captions) Polars' reader parses slower than orjson (290,000 posts of 390 bytes:
twice the time)."""
ARRAY = re.compile(rb"\s*\[")
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
    - A JSON number is a number: `thousands` and `decimal` apply only to numbers written as
      strings (`"6.342"` with `thousands = "."` is 6342), never to a JSON number (`12.345` is
      twelve and a bit, so no count: a bad value, not 12345).
    """

    name = "json"
    description = "Read posts, account snapshots or other records from a JSON export."
    Options = JsonOptions
    record_kinds = ()

    def produces(self) -> set[str]:
        return {self.options.record}

    def platforms(self) -> frozenset[str] | None:
        """The platform of ``constants``, when it gives one."""
        return self.options.constant_platforms()

    def fetch(self, ctx: FetchContext) -> Iterable[RecordTable]:
        import polars as pl

        options: JsonOptions = self.options
        path = ctx.resolve_path(options.path)
        table = read_steadily(path, lambda: (  # a file rewritten meanwhile is read again, or an error
            read_plain_json(path, options.encoding, options.items, options.decimal)
            or read_json_text(read_export(path, options.encoding, "json"), options.items, path, options.decimal)))
        if not table.records:  # an export of a quiet period: no records, not an error
            yield RecordTable(options.record, pl.DataFrame(schema=options.record_kind().polars_schema()))
            return
        yield RecordTable(options.record, parse_records(table.frame, options, ctx, path, table.places))

    def check_credentials(self, ctx: FetchContext) -> list[Any]:
        """The export exists, is not empty and decodes in ``encoding`` (`validate` does not look at it)."""
        return [check_export(self, ctx, self.options.path, self.options.encoding, "json")]


@dataclass
class JsonTable:
    """The records of a JSON export as text columns (one per key and dotted path), and how
    messages name them."""

    frame: "pl.DataFrame"
    places: JsonPlaces
    records: int


def read_json_text(text: str, dotted: str | None, path: Path, decimal: str = ".") -> JsonTable:
    """The records of a JSON (or JSON Lines) document, item by item: every check, with the
    position of the item and key each problem is at. A JSON number with a fraction is written
    with ``decimal`` (the `decimal` option), so that the shared parser reads it as the number it
    is: thousands separators apply only to numbers written as strings (12.345 is twelve and a
    bit, even with thousands = ".")."""
    import polars as pl

    items, lines = _items(text, dotted, path)
    items = [_with_repeated(with_nested_keys(item), item) for item in items]
    prefix = dotted or ""
    keys: dict[str, None] = {}
    repeated: dict[str, str] = {}
    for index, item in enumerate(items):
        keys.update(dict.fromkeys(item))
        for key in getattr(item, "repeated", ()):
            where = f"line {lines[index]}" if lines else f"{prefix}[{index}]"
            repeated.setdefault(key, f"{where}: key \"{key}\" appears more than once in one object: "
                                     "cmflow cannot tell which value to read")
    rows = {key: [_text(item.get(key), path, lines[i] if lines else f"{prefix}[{i}]", key, decimal)
                  for i, item in enumerate(items)] for key in keys}
    raw = pl.DataFrame(rows, schema={k: pl.String for k in keys})
    return JsonTable(raw, JsonPlaces(prefix, lines, repeated), len(items))


def read_plain_json(path: Path, encoding: str, dotted: str | None, decimal: str = ".") -> JsonTable | None:
    """The table :func:`read_json_text` gives for the export at ``path``, built a column at a time
    when the export is plainly valid: UTF-8, one JSON document (not JSON Lines) without NaN or
    Infinity, an array of objects where ``dotted`` says, and no object holding a key twice. None
    for any other export, which :func:`read_export` and :func:`read_json_text` then read (and
    explain) item by item. Both give the same table for a plain export."""
    import polars as pl

    if path.suffix.lower() in JSON_LINES_SUFFIXES and not dotted:
        return None
    import orjson

    data = plain_utf8_bytes(path, encoding)
    if data is None or (b"\\" in data and (b"\\u003a" in data or b"\\u003A" in data)):  # an escaped colon:
        return None  # see _no_repeated_keys (a lone backslash is looked for first: one memchr, not two searches)
    if dotted is None and len(data) <= SMALL_ITEM_BYTES * max(1, data.count(b"{")) \
            and (table := read_json_columns(data)) is not None:
        return table
    try:  # orjson refuses NaN, Infinity, numbers beyond a double and bad UTF-8, as JSON does
        document = orjson.loads(data)
    except orjson.JSONDecodeError:  # explained there, with the position
        return None
    outside, items = _split_items(document, dotted)
    if items is None or not set(map(type, items)) <= {dict}:
        return None
    columns = _columns(items)
    types = {key: set(map(type, values)) for key, values in columns.items()}
    texts = [_text_column(key, values, types[key], decimal) for key, values in columns.items()]
    if not _no_repeated_keys(data, outside, items, columns, types, texts):
        return None
    if any(dict in kinds for kinds in types.values()):  # nested objects: their dotted paths too
        columns = _columns([with_nested_keys(item) for item in items])
        texts = [_text_column(key, values, set(map(type, values)), decimal) for key, values in columns.items()]
    return JsonTable(pl.DataFrame(texts), JsonPlaces(dotted or "", None, {}), len(items))


def read_json_columns(data: bytes) -> JsonTable | None:
    """The table :func:`read_json_text` gives for a JSON array of flat objects (UTF-8 ``data``),
    parsed by Polars straight into columns, without a Python object per value (a year of daily
    follower counts for 200 accounts is 73,000 items); None for any document it cannot vouch
    for, which :func:`read_plain_json` then reads item by item.

    Polars' reader is strict JSON (NaN, trailing commas, bad escapes are refused), but it reads
    differently from Python's ``json`` what is not one type per key: a number in a text column
    becomes text, ``true`` in a column of numbers 1, a fraction in one of whole numbers is
    truncated, and the first of a key written twice wins. So the document is vouched for by
    counting, in its bytes, what lies outside strings (what the strings read hold, keys
    included, is taken off): a colon and two quotes per value read, so that a key written twice
    leaves one more; two more quotes per string value; a ``{`` per item and one ``[`` (no nested
    object or array); no ``null`` (a key written twice, once null, would not show); as many
    ``true`` and ``false`` as values in true/false columns; and no ``.`` nor exponent (no number
    with a fraction). The only letters outside strings are those of null, true, false and
    exponents, so single characters are counted (``u``, ``l``, ``a``, ``e``), not words. Each
    column must be text, whole numbers in 64 bits or true/false.
    Printable ASCII written as ``\\u`` escapes (which the count would not see), unpaired
    surrogates (which Polars reads as NUL), and ``\\u`` escapes beside an escaped backslash
    (which would be counted as escapes) are not vouched for."""
    import polars as pl

    if not ARRAY.match(data):
        return None
    escaped = b"\\" in data and b"\\u" in data  # a byte is found at memory speed, two bytes not
    if escaped and (b"\\\\" in data or ASCII_ESCAPE.search(data)  # after an escaped backslash, u00e9 is text
                    or len(SURROGATE_ESCAPE.findall(data)) != 2 * len(SURROGATE_PAIR.findall(data))):
        return None
    try:
        frame = pl.read_json(data)
    except (pl.exceptions.PolarsError, ValueError):
        return None
    if frame.height == 0 or frame.width == 0 or any('"' in key or "\\" in key for key in frame.columns) \
            or not all(dtype in (pl.String, pl.Int64, pl.Boolean) for dtype in frame.dtypes):
        return None
    texts = [c for c, dtype in frame.schema.items() if dtype == pl.String]
    filled = frame.select(pl.col(c).is_not_null().sum() for c in frame.columns).row(0, named=True)
    inside = "".join(frame.select(pl.col(c).str.join("") for c in texts).row(0)).encode() if texts else b""
    inside = inside.translate(None, NOT_COUNTED)
    escapes = b"".join(ESCAPE.findall(data)) if escaped else b""  # their u and hexadecimal digits
    in_data = byte_counts(data, COUNTED)
    outside = {chr(c): in_data[c] - inside.count(c) - escapes.count(c)
               - sum(key.encode().count(c) * filled[key] for key in frame.columns) for c in COUNTED}
    falses = outside["a"]
    nulls, remainder = divmod(outside["l"] - falses, 2)
    trues = outside["u"] - nulls
    exponents = outside["e"] + outside["E"] - trues - falses  # one e in each of true and false
    pairs = sum(filled.values())
    strings = sum(filled[c] for c in texts)
    booleans = sum(filled[c] for c, dtype in frame.schema.items() if dtype == pl.Boolean)
    if (outside[":"], outside['"'], outside["{"], outside["["], nulls, remainder, trues + falses, outside["."],
            exponents) != (pairs, 2 * (pairs + strings), frame.height, 1, 0, 0, booleans, 0, 0):
        return None
    first = {key: re.search(b'"' + re.escape(key.encode()) + rb'"\s*:', data) for key in frame.columns}
    if not all(first.values()):  # a key written with escapes
        return None
    keys = sorted(frame.columns, key=lambda k: first[k].start())  # in the order they first appear, as item by item
    columns = frame.select(pl.col(c) if c in texts else pl.col(c).cast(pl.String) for c in keys)
    return JsonTable(columns, JsonPlaces("", None, {}), frame.height)


def byte_counts(data: bytes, wanted: bytes) -> dict[int, int]:
    """How many times each byte of ``wanted`` occurs in ``data``, counted by Polars in one
    vectorised pass (``bytes.count`` walks the data once per byte, a byte at a time: two to
    three times the CPU for the ten bytes :func:`read_json_columns` counts)."""
    import polars as pl

    values = pl.Series("b", [data], dtype=pl.Binary).cast(pl.List(pl.UInt8)).explode()
    counts = values.to_frame().select((pl.col("b") == byte).sum().alias(str(byte)) for byte in wanted).row(0)
    return dict(zip(wanted, counts))


def _columns(items: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """Each key's values, item by item (None where an item does not have it), keys in the order
    they first appear."""
    keys = dict.fromkeys(chain.from_iterable(items))
    if sum(map(len, items)) == len(keys) * len(items):  # every item has every key
        return {key: list(map(itemgetter(key), items)) for key in keys}
    return {key: [item.get(key) for item in items] for key in keys}


def _split_items(document: Any, dotted: str | None) -> tuple[Any, list[Any] | None]:
    """The document with its array of records taken out (for counting what else it holds), and
    that array; None for the array when it is not where ``dotted`` says."""
    if not dotted:
        return None, document if isinstance(document, list) else None
    parents, value = [], document
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return None, None
        parents.append((value, part))
        value = value[part]
    if not isinstance(value, list):
        return None, None
    parent, part = parents[-1]
    rest = {key: (None if key == part else inner) for key, inner in parent.items()}
    for above, key in reversed(parents[:-1]):
        rest = {k: (rest if k == key else inner) for k, inner in above.items()}
    return rest, value


def _no_repeated_keys(data: bytes, outside: Any, items: list[dict[str, Any]],
                      columns: dict[str, list[Any]], types: dict[str, set[type]],
                      texts: list["pl.Series"]) -> bool:
    """Whether the parsed document is what :func:`read_json_text` reads: no object held a key
    twice (a JSON parser keeps the last value without a word), and no whole number was read as
    a float (orjson reads one beyond 64 bits so; Python's ``json`` keeps it whole).

    Every colon of the text outside strings separates a key from its value, so the text's
    colons are the keys read plus the colons inside strings; a key read twice leaves one more
    colon than the parsed document accounts for. (A colon escaped as \\u003a would be counted
    the other way: the plain path leaves such files.) ``types`` are the types of each column's
    values, ``texts`` the columns as text, where the colons of plain strings are counted at once."""
    pairs, colons, big = _tally(outside)
    pairs += sum(map(len, items))
    if any(":" in key for key in columns):
        colons += sum(key.count(":") for item in items for key in item)
    for (key, values), text in zip(columns.items(), texts):
        if types[key] <= {str, type(None)}:
            colons += text.str.count_matches(":", literal=True).sum()
        elif types[key] & {str, dict, list, float}:
            for value in values:
                inner_pairs, inner_colons, inner_big = _tally(value)
                pairs, colons, big = pairs + inner_pairs, colons + inner_colons, big or inner_big
    return not big and data.count(b":") == pairs + colons


def _tally(value: Any) -> tuple[int, int, bool]:
    """Key-value pairs in ``value`` and its nested objects, colons in its keys and strings, and
    whether it holds a float that may have been a whole number beyond 64 bits."""
    if isinstance(value, str):
        return 0, value.count(":"), False
    if isinstance(value, float):
        return 0, 0, abs(value) >= 2.0 ** 63
    if not isinstance(value, (dict, list)):
        return 0, 0, False
    pairs = len(value) if isinstance(value, dict) else 0
    colons = sum(key.count(":") for key in value) if isinstance(value, dict) else 0
    big = False
    for inner in (value.values() if isinstance(value, dict) else value):
        inner_pairs, inner_colons, inner_big = _tally(inner)
        pairs, colons, big = pairs + inner_pairs, colons + inner_colons, big or inner_big
    return pairs, colons, big


def _text_column(key: str, values: list[Any], types: set[type], decimal: str = ".") -> "pl.Series":
    """A column of values (of ``types``) as :func:`_text` writes them (no NaN or Infinity: the
    plain path has none)."""
    import polars as pl

    types = types - {type(None)}
    if types <= {str}:
        return pl.Series(key, values, dtype=pl.String)
    if types == {int}:
        try:
            return pl.Series(key, values, dtype=pl.Int64).cast(pl.String)
        except (TypeError, OverflowError):  # beyond 64 bits: written out below
            pass
    if types <= {str, int, float} and (decimal == "." or float not in types):
        return pl.Series(key, [value if value is None else str(value) for value in values], dtype=pl.String)
    return pl.Series(key, [_cell_text(value, decimal) for value in values], dtype=pl.String)


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


def _text(value: Any, path: Path, where: Any, key: str, decimal: str = ".") -> str | None:
    """A value as the text a CSV cell would hold; NaN and Infinity are refused where they are."""
    if value is None:
        return None
    if _holds_not_json(value):
        place = f"line {where}, key \"{key}\"" if isinstance(where, int) else f"{where}{key_path(key)}"
        raise DataFileError(f"{path}, {place}: NaN and Infinity are not JSON numbers (the exporting tool "
                            "wrote JavaScript): export again, or write null for \"no value\"")
    return _cell_text(value, decimal)


def _cell_text(value: Any, decimal: str = ".") -> str | None:
    """A JSON value as a CSV cell would hold it: true/false, an object or array as JSON, a
    number with a fraction with ``decimal`` as its separator (it holds no thousands separator)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and decimal != ".":
        return str(value).replace(".", decimal)
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
