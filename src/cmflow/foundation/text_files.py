"""Reading the text files a user writes (workflow files, daemon settings, .env files).

Editors save these in many ways: a UTF-8 byte-order mark (Windows Notepad) is accepted and
dropped, so line and column numbers count from the first visible character; anything that is
not UTF-8 is refused by name, with the line and column of the first byte that is not, rather
than a decoding traceback. A folder, a missing file or one that cannot be read gets its own
message.
"""

from __future__ import annotations

import codecs
import re
import sys
from pathlib import Path
from typing import Any

from cmflow.foundation.errors import Problem, WorkflowInvalid
from cmflow.foundation.file_signatures import binary_file_kind, is_workbook

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

_UTF16_MARKS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_TOML_POSITION = r"\s*\(at (?:line (\d+), column (\d+)|end of document)\)"
"""A pattern, compiled by re on first use: only a TOML syntax error needs it."""


def read_text(path: Path, shown: str | None = None) -> str:
    """The content of a user's text file, decoded as UTF-8 (a leading byte-order mark is dropped).

    Raise :class:`WorkflowInvalid` with one problem naming the file (as ``shown``, default the
    path) when it is missing, a folder, unreadable or not UTF-8.
    """
    name = shown or str(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise _invalid(name, "file not found", _missing_hint(path)) from None
    except IsADirectoryError:
        raise _invalid(name, "is a folder, not a file", "give the path of a file inside it") from None
    except PermissionError:
        raise _invalid(name, "cannot be read: permission denied",
                       "check the file's permissions (chmod u+r) or run cmflow as its owner") from None
    except OSError as exc:
        raise _invalid(name, f"cannot be read: {exc.strerror or exc}") from None
    return decode_utf8(data, name)


def decode_utf8(data: bytes, name: str) -> str:
    """``data`` decoded as UTF-8 without its byte-order mark, or a problem saying where it is not UTF-8."""
    if data.startswith(_UTF16_MARKS):
        raise _invalid(name, "is UTF-16 text, not UTF-8", "save it as UTF-8: in Notepad, Save as, "
                       "Encoding UTF-8")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if kind := binary_file_kind(data):  # not text at all: say what it is
            raise _invalid(name, f"is not a text file: its first bytes are those of {kind}",
                           _not_text_hint(name, kind)) from None
        offset = exc.start
        line_start = data.rfind(b"\n", 0, offset) + 1
        line = data.count(b"\n", 0, offset) + 1
        prefix = data[line_start:offset]
        if line == 1 and prefix.startswith(codecs.BOM_UTF8):
            prefix = prefix[len(codecs.BOM_UTF8):]
        column = len(prefix.decode("utf-8", errors="replace")) + 1
        raise WorkflowInvalid([Problem(
            name, "", f"is not UTF-8 text (byte 0x{data[offset]:02X} at line {line}, column {column})",
            "save it as UTF-8: in most editors, Save as, Encoding UTF-8", line=line, column=column,
        )]) from None


def _not_text_hint(name: str, kind: str) -> str:
    """What to give instead of a file that is not text, where cmflow reads the files a user
    writes: a workflow, its .env file, a template."""
    if is_workbook(kind):
        return ("give the workflow's .toml file; a workbook is data, read by a source of the workflow: "
                f'[[sources]] plugin = "xlsx", path = "{Path(name).name}"')
    return "give the text file meant: a .toml workflow, a .env file or a template"


def read_toml(path: Path, shown: str | None = None, text: str | None = None) -> dict[str, Any]:
    """A TOML file's tables; a syntax error is a problem with its line and column.

    ``text``: the content, if it was read earlier.
    """
    name = shown or str(path)
    if text is None:
        text = read_text(path, name)
    try:
        return tomllib.loads(text.removeprefix("\ufeff"))
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        position = re.search(_TOML_POSITION, message)
        line = column = None
        if position and position.group(1):
            line, column = int(position.group(1)), int(position.group(2))
        message = re.sub(_TOML_POSITION, "", message).strip()
        if line == 1 and _looks_like_data(path, text):
            raise WorkflowInvalid([Problem(
                name, "", f"this looks like a data file, not a workflow (TOML syntax error: {message})",
                'give the workflow\'s .toml file; a data file is read by a source in it: [[sources]] '
                f'plugin = "csv", path = "{path.name}"', line=line, column=column)]) from None
        raise WorkflowInvalid([Problem(name, "", f"TOML syntax error: {message}",
                                       _toml_hint(message), line=line, column=column)]) from None


def _looks_like_data(path: Path, text: str) -> bool:
    """Whether a file that is not TOML from its first line is a CSV file: named so, or a first
    line of several separated names and no ``=`` nor ``[``."""
    first = text.removeprefix("\ufeff").split("\n", 1)[0]
    if path.suffix.lower() in (".csv", ".tsv"):
        return True
    return "=" not in first and not first.lstrip().startswith("[") and \
        max(first.count(","), first.count(";"), first.count("\t")) >= 2


def _toml_hint(message: str) -> str:
    if "Cannot overwrite a value" in message or "Cannot declare" in message:
        return "a key or table is written twice: keep one (an array of tables is written [[name]])"
    if "Illegal character '\\n'" in message or "Unclosed" in message or "Unterminated" in message:
        return "a string or bracket is not closed: add the closing quote or bracket"
    if "Invalid value" in message:
        return 'strings need quotes: key = "text"'
    return ""


def _missing_hint(path: Path) -> str:
    if not path.parent.exists():
        return f"the folder {path.parent} does not exist either"
    if path.suffix != ".toml" and path.with_suffix(".toml").is_file():
        return f"did you mean {path.with_suffix('.toml')}?"
    return ""


def _invalid(name: str, message: str, hint: str = "") -> WorkflowInvalid:
    return WorkflowInvalid([Problem(name, "", message, hint)])
