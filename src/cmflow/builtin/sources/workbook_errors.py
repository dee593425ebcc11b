"""The cells of a workbook's sheet that hold no value but a spreadsheet error (``#DIV/0!``,
``#N/A``, ``#REF!`` ...) or a formula whose result was never stored (a workbook written by a
program and never opened in a spreadsheet).

fastexcel (calamine) reads both as empty cells, and an empty counter cell means "no value": a
``#DIV/0!`` in a count column would silently drop the figure. So :func:`error_cells` finds them
in the sheet's XML (.xlsx and .xlsm, the form every platform exports), and :mod:`workbooks` writes
each into its cell as text, where the checks every tabular source makes name the sheet, row and
column of the bad value. Other workbook forms (.xls, .ods) are read as the reader gives them.
"""

from __future__ import annotations

import io
import re
import zipfile
from posixpath import dirname, join, normpath
from typing import Optional
from xml.etree import ElementTree

UNCALCULATED = "={formula}"
"""How a formula without a stored result is written into its cell (the checks name it so)."""

_CELL = re.compile(rb'<(?:\w+:)?c\s([^>]*?)(?:/>|>(.*?)</(?:\w+:)?c>)', re.S)
_REF = re.compile(rb'\br="([A-Z]{1,3})([0-9]+)"')
_ERROR_TYPE = re.compile(rb'\bt="e"')
_STRING_TYPE = re.compile(rb'\bt="(?:str|s|inlineStr)"')
_VALUE = re.compile(rb'<(?:\w+:)?v>([^<]*)</(?:\w+:)?v>')
_FORMULA = re.compile(rb'<(?:\w+:)?f\b[^>]*?(?:/>|>([^<]*)</(?:\w+:)?f>)')
_RELS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_OFFICE_RELS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"


def error_cells(data: bytes, sheet: str) -> dict[tuple[int, int], str]:
    """(row, column) -> the text to read in that cell, counted from 0 as the reader counts them
    (rows from the sheet's row 1, columns from its first column holding a value), for every cell
    of ``sheet`` holding a spreadsheet error or a formula without a stored result; empty for a
    workbook that is not a zip of XML (.xls), or whose sheet cannot be found."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            part = _sheet_part(archive, sheet)
            if part is None:
                return {}
            xml = archive.read(part)
    except (zipfile.BadZipFile, KeyError, ElementTree.ParseError, OSError):
        return {}
    if b't="e"' not in xml and b"<f" not in xml and b":f" not in xml:
        return {}  # the common case: no formula and no error, nothing to scan
    found: dict[tuple[str, int], str] = {}
    for attributes, body in _marked_cells(xml):  # only cells holding an error or a formula
        ref = _REF.search(attributes)
        if ref is None or not body:  # a cell without a reference, or one holding only a style
            continue
        text = _problem(attributes, body, _VALUE.search(body))
        if text is not None:
            found[(ref.group(1).decode(), int(ref.group(2)))] = text
    if not found:
        return {}
    first_column = _first_column(xml, max(_column_index(letters.encode()) for letters, _ in found))
    placed = {(row - 1, _column_index(letters.encode()) - first_column): text
              for (letters, row), text in found.items()}
    return {cell: text for cell, text in placed.items() if cell[1] >= 0}  # left of what the reader reads




def _marked_cells(xml: bytes):
    """(attributes, body) of each cell holding ``t="e"`` or a formula, found from those marks
    by searches in C: a sheet of a million plain cells costs no Python loop."""
    seen = -1
    for mark in _marks(xml):
        if mark < seen:
            continue  # a second mark in a cell already read
        start = _cell_start(xml, mark)
        cell = _CELL.match(xml, start) if start >= 0 else None
        if cell is None or cell.end() <= mark:
            continue  # a mark outside any cell
        seen = cell.end()
        yield cell.group(1), cell.group(2)


def _marks(xml: bytes) -> list[int]:
    """Positions of ``t="e"`` and of formula elements (``<f>``, ``<f .../>``, ``<x:f>``), in order."""
    found = []
    for needle in (b't="e"', b"<f", b":f"):
        position = xml.find(needle)
        while position >= 0:
            after = xml[position + len(needle):position + len(needle) + 1]
            if needle == b't="e"' or after in (b">", b"/", b" ", b"\t", b"\n", b"\r"):
                found.append(position)
            position = xml.find(needle, position + 1)
    return sorted(found)


def _cell_start(xml: bytes, position: int) -> int:
    """Where the cell element around ``position`` opens (``<c `` or ``<x:c ``), or -1."""
    plain = max(xml.rfind(b"<c ", 0, position), xml.rfind(b"<c\t", 0, position), xml.rfind(b"<c\n", 0, position))
    prefixed = xml.rfind(b":c ", 0, position)
    if prefixed > plain:
        opening = xml.rfind(b"<", 0, prefixed)
        return opening if opening >= 0 and re.fullmatch(rb"<\w+", xml[opening:prefixed]) else plain
    return plain


def _first_column(xml: bytes, last: int) -> int:
    """The first column the reader (calamine) reads, counted from 0: the leftmost holding a cell
    that has a value (not an empty one), an inline string or an error; a formula never calculated
    does not count. Tried column by column from A, each a search in C, up to ``last`` (the
    rightmost cell found: if the reader starts further right, every one is left of it anyway)."""
    for column in range(last + 1):
        letters = _column_letters(column)
        pattern = re.compile(rb'<(?:\w+:)?c\s(?=[^>]*\br="' + letters + rb'[0-9]+")([^>]*?)(?:/>|>(.*?)</(?:\w+:)?c>)',
                             re.S)
        for attributes, body in (m.groups() for m in pattern.finditer(xml)):
            if _counts_for_reader(attributes, body or b"", _VALUE.search(body or b"")):
                return column
    return last + 1


def _column_letters(index: int) -> bytes:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters.encode()


def _counts_for_reader(attributes: bytes, body: bytes, value: Optional[re.Match]) -> bool:
    """Whether the reader (calamine) starts its columns at this cell's at the latest: a cell
    holding a value (not an empty one), an inline string or an error; a formula never
    calculated (no stored value) does not count."""
    return bool(value is not None and value.group(1).strip()) or b"<is>" in body or b":is>" in body \
        or _ERROR_TYPE.search(attributes) is not None


def _problem(attributes: bytes, body: bytes, value: Optional[re.Match]) -> Optional[str]:
    """The text a cell is read as when it holds an error or an uncalculated formula; else None."""
    if _ERROR_TYPE.search(attributes):
        return value.group(1).decode("utf-8", "replace").strip() if value else "#N/A"
    formula = _FORMULA.search(body)
    if formula is None or _STRING_TYPE.search(attributes):
        return None  # a formula returning text may return "" (an empty result, not a missing one)
    if value is None or not value.group(1).strip():
        written = (formula.group(1) or b"").decode("utf-8", "replace")
        return UNCALCULATED.format(formula=_unescaped(written) or "...")
    return None


def _unescaped(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&apos;", "'") \
        .replace("&amp;", "&")


def _column_index(letters: bytes) -> int:
    index = 0
    for letter in letters.decode():
        index = index * 26 + ord(letter) - ord("A") + 1
    return index - 1


def _sheet_part(archive: zipfile.ZipFile, sheet: str) -> Optional[str]:
    """The archive's path of the XML of the sheet called ``sheet``."""
    workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    targets = {r.get("Id"): r.get("Target", "") for r in rels.iter(f"{_RELS}Relationship")}
    for element in workbook.iter():
        if element.tag.rsplit("}", 1)[-1] == "sheet" and element.get("name") == sheet:
            target = targets.get(element.get(f"{_OFFICE_RELS}id") or "")
            if not target:
                return None
            return target.lstrip("/") if target.startswith("/") else normpath(join(dirname("xl/workbook.xml"), target))
    return None
