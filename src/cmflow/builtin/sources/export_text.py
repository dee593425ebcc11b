"""An export file's bytes as text, for the ``csv`` and ``json`` sources.

The file must be there, be a file and hold something: a 0-byte or blank export is what a
failed download leaves, and must not look like a quiet week. A byte-order mark says the
encoding (Meta and TikTok write UTF-8 with one; some tools write UTF-16), otherwise the
``encoding`` option does. Text that is not in that encoding is an error naming the line, with
the encoding it looks like; a file that starts as an image, a PDF or an archive does is named
so (no encoding turns it into rows).
"""

from __future__ import annotations

import codecs
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Iterator

from cmflow import (BYTE_ORDER_MARKS, DataFileError, binary_file_kind, encoding_in_bytes, is_workbook, unmarked_utf16,
                    zip_advice, zip_contents)

if TYPE_CHECKING:
    from cmflow import CredentialCheck, FetchContext, Source


LIKELY_ENCODINGS = (
    ("utf-8", "UTF-8"),
    ("cp1252", "cp1252 (Windows Western European, what Excel writes on Windows)"),
    ("mac_roman", "mac_roman (Excel for Mac)"),
)
"""Encodings to suggest when a file does not decode as declared, most likely first; latin-1
decodes anything, so it is the last resort rather than a guess."""
WORKBOOK_MAGIC = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")
"""How a workbook starts: a zip archive (.xlsx, .xlsm, .ods) or an OLE2 compound file (.xls)."""
BLOCK_BYTES = 1 << 20
"""How much of an export :func:`plain_utf8_blocks` reads at a time."""


def is_utf8(encoding: str) -> bool:
    return codecs.lookup(encoding).name in ("utf-8", "utf-8-sig")


def read_export(path: Path, encoding: str, reader: str = "csv", encoding_option: bool = True) -> str:
    """The text of an export, decoded; raise :class:`DataFileError` saying what to do. `reader`
    ("csv" or "json") is the source reading it, for the advice on a workbook or a zip archive;
    `encoding_option` False for a source without an `encoding` option (the export source)."""
    data = read_export_bytes(path)
    if data.startswith(WORKBOOK_MAGIC):
        kind, entries = binary_kind(data)
        if kind == "zip":
            raise DataFileError(f"{path} is a zip archive, not {reader.upper()} text: "
                                + zip_advice(entries, f"the {reader.upper()} file inside"))
        if kind is None:
            raise DataFileError(f"{path} is a zip archive (a workbook or zipped exports) that cannot be opened, "
                                "not text: the file is damaged; export it again")
        raise DataFileError(f"{path} looks like {kind}, not text: read it with plugin = \"xlsx\" (and `sheet` "
                            "to choose a sheet)" + (", or save it as CSV UTF-8" if reader == "csv" else ""))
    if kind := binary_file_kind(data[:16]):  # no encoding turns an image into rows
        raise DataFileError(f"{path} is not a text file: its first bytes are those of {kind}; give the {reader.upper()} "
                            "export itself (download it again from the platform)")
    declared = encoding
    encoding = encoding_in_bytes(data) or ("utf-8-sig" if is_utf8(encoding) else encoding)
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise DataFileError(decode_problem(path, data, declared, exc, encoding_option)) from None
    if not text.strip(" \t\r\n\ufeff"):
        what = "0 bytes" if not data else f"{len(data)} bytes, only blanks or a byte-order mark"
        raise DataFileError(f"{path} is empty ({what}): a failed or interrupted export looks like this, "
                            "not a quiet period (a period without posts still has a header line); "
                            "export it again")
    if "\x00" in text:
        if not looks_damaged(text):
            shown = "UTF-8" if is_utf8(encoding) else encoding
            raise DataFileError(f"{path}, line 1: holds NUL characters from its start, so it is not {shown} "
                                "text: a UTF-16 file without a byte-order mark? set encoding = \"utf-16\", "
                                "or save it again as CSV UTF-8")
        raise damaged_by_nul(path, text)
    # A byte-order mark starting a later line is a second file's (exports joined with `cat`).
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\n\ufeff", "\n")


def looks_damaged(text: str) -> bool:
    """Whether the NUL characters of ``text`` (decoded as the file's encoding) are damage (an
    interrupted copy leaves a stray byte, or a tail of zeros where the rest never arrived) rather
    than another encoding: text in UTF-16 or UTF-32 read as UTF-8 has NULs from its first
    character on, beside every letter of a header."""
    return text.find("\x00") > 1 or not text.strip("\x00\ufeff")


def nul_place(text: str) -> tuple[int, int]:
    """The line and column of the first NUL character of ``text``, both counted from 1, the
    column in characters (as every "line L, column C" of an export's text): one count for the
    csv source and the export source's recognising."""
    first = text.index("\x00")
    return text.count("\n", 0, first) + 1, first - (text.rfind("\n", 0, first) + 1) + 1


def damaged_by_nul(path: Path, text: str, what: str = "the file", cell: str = "",
                   whole: bool = True) -> DataFileError:
    """The error for an export holding a NUL byte, which no export writes: where the first is
    (in the cell of the column named ``cell``, when known), that ``what`` is damaged, and to
    download it again. A file of nothing but NULs, or whose NULs run to its end (a copy whose
    last bytes never arrived), says so; ``whole`` is False when ``text`` is only the file's head."""
    if whole and not text.strip("\x00\ufeff"):
        return DataFileError(f"{path} holds only NUL bytes (byte 0), no text: {what} is damaged (a copy "
                             "or download that never completed); export it again")
    text = text.removeprefix("\ufeff")
    line, column = nul_place(text)
    where = f"line {line}, column {column}" + (f' (in "{cell}")' if cell else "")
    if not text[text.index("\x00"):].strip("\x00\r\n") and (whole or _zeros_to_end(path)):
        return DataFileError(f"{path}, {where}: holds only NUL bytes (byte 0) from there to its end, which no "
                             f"export writes: {what} was cut short (an interrupted copy or download); "
                             "export it again")
    return DataFileError(f"{path}, {where}: holds a NUL character (byte 0), which no export writes: "
                         f"{what} is damaged (an interrupted copy or download?); export it again")


def _zeros_to_end(path: Path) -> bool:
    """Whether the bytes of ``path`` from its first NUL byte to its end are NULs and line breaks
    (a tail of zeros), read a block at a time."""
    with path.open("rb") as handle:
        seen = False
        while block := handle.read(BLOCK_BYTES):
            if not seen and b"\x00" in block:
                block, seen = block[block.index(b"\x00"):], True
            if seen and block.strip(b"\x00\r\n"):
                return False
    return seen


def export_lines(path: Path, encoding: str, reader: str = "csv",
                 block_bytes: int | None = None, encoding_option: bool = True) -> Iterator[str]:
    """The lines of :func:`read_export`'s text (each with its line break), decoded a block at a
    time so that the whole text is never held: a caption with an emoji makes Python hold every
    character of a text in four bytes. Anything :func:`read_export` refuses (a workbook, text
    not in the encoding, NUL characters, an empty file) is refused with its message: then, and
    for UTF-16 without a byte-order mark, the file is read whole by :func:`read_export`."""
    data = read_export_bytes_head(path)
    encoding_used = _streamed_encoding(data, encoding)
    if encoding_used is None:
        yield from text_lines(read_export(path, encoding, reader, encoding_option))
        return
    block_bytes = block_bytes or BLOCK_BYTES
    decoder = codecs.getincrementaldecoder(encoding_used)()
    carry, emitted, filled = "", False, False
    with path.open("rb") as handle:
        while True:
            block = handle.read(block_bytes)
            at_line_start = emitted and not carry
            try:
                text = carry + decoder.decode(block, final=not block)
            except UnicodeDecodeError:
                read_export(path, encoding, reader, encoding_option)  # raises, naming the line and column
                raise
            if "\x00" in text:
                read_export(path, encoding, reader)  # raises, saying what the NULs mean
                raise DataFileError(f"{path} holds NUL characters: export it again")
            carry = ""
            if block and text.endswith("\r"):  # its LF may start the next block
                text, carry = text[:-1], "\r"
            text = text.replace("\r\n", "\n").replace("\r", "\n")
            if at_line_start and text.startswith("\ufeff"):
                text = text[1:]  # a second file's mark (exports joined with `cat`)
            text = text.replace("\n\ufeff", "\n")
            if block:  # the last line may go on in the next block
                end = text.rfind("\n")
                text, carry = text[:end + 1], text[end + 1:] + carry
            if text:
                filled = filled or bool(text.strip(" \t\n\ufeff"))
                emitted = True
                yield from text_lines(text)
            if not block:
                break
    if not filled:
        read_export(path, encoding, reader)  # raises: the file is empty


def text_lines(text: str) -> Iterator[str]:
    """The lines of ``text``, each with its line break, one at a time (no copy of the text)."""
    start = 0
    while (end := text.find("\n", start)) >= 0:
        yield text[start:end + 1]
        start = end + 1
    if start < len(text):
        yield text[start:]


@contextmanager
def readable(path: Path) -> Iterator[None]:
    """Turn the errors of opening and reading the export at ``path`` into a
    :class:`DataFileError` saying what to do: a folder, a missing or an unreadable file."""
    if path.is_dir():
        raise DataFileError(f"{path} is a folder, not a file: set `path` to the export file in it")
    try:
        yield
    except FileNotFoundError:
        raise DataFileError(f"{path}: file not found; check the source's `path` (a relative path "
                            "starts at the workflow file's folder)") from None
    except PermissionError:
        raise DataFileError(f"{path} cannot be read: permission denied") from None
    except OSError as exc:
        raise DataFileError(f"{path} cannot be read: {exc.strerror or exc}") from None


def read_export_bytes_head(path: Path, size: int = 8) -> bytes:
    """The first bytes of the export; raise :class:`DataFileError` as :func:`read_export_bytes` does."""
    with readable(path):
        with path.open("rb") as handle:
            return handle.read(size)


def _streamed_encoding(head: bytes, encoding: str) -> str | None:
    """The codec :func:`read_export` would decode a file starting with ``head`` in, when it can
    be decoded block by block; None for a workbook or a file too short or unusual to tell
    (UTF-16 without a byte-order mark, which is told from the whole file)."""
    if head.startswith(WORKBOOK_MAGIC) or len(head) < 4:
        return None
    for mark, marked in BYTE_ORDER_MARKS:
        if head.startswith(mark):
            return marked
    if (head[1] == 0 and head[3] == 0) or (head[0] == 0 and head[2] == 0):
        return None
    return "utf-8-sig" if is_utf8(encoding) else encoding


def check_export(source: "Source", ctx: "FetchContext", value: str, encoding: str,
                 reader: str = "csv") -> "CredentialCheck":
    """For `cmflow doctor`: the export is there, readable, not empty and decodes as a run reads it."""
    from cmflow import CredentialCheck

    check = CredentialCheck.for_file(source, ctx, value)
    if check.status == "ok":
        try:
            read_export(ctx.resolve_path(value), encoding, reader)
        except DataFileError as exc:
            return check.flag("fail", str(exc))
    return check


def binary_kind(data: bytes) -> tuple[str | None, list[str]]:
    """What a file starting as a workbook is ("an Excel workbook (.xlsx)", "an Excel workbook
    (.xls)", "an OpenDocument spreadsheet (.ods)", "zip" for another zip archive, such as the zip
    of CSV files YouTube Studio exports, None for a damaged zip), and a zip's entries."""
    if not data.startswith(b"PK"):
        return binary_file_kind(data), []
    kind, entries = zip_contents(data)
    return ("zip" if kind is not None and not is_workbook(kind) else kind), entries


def read_export_bytes(path: Path) -> bytes:
    """The export's bytes; raise :class:`DataFileError` for a folder, a missing or unreadable file."""
    with readable(path):
        return path.read_bytes()


def plain_utf8_bytes(path: Path, encoding: str) -> bytes | None:
    """The export's bytes without a UTF-8 byte-order mark when it is plainly UTF-8 text (declared
    or marked so, no NUL byte, not blank), for a reader that works on bytes; None for any other
    export (another encoding, UTF-16, damaged or empty), which :func:`read_export` then reads or
    explains. Line endings are left as they are."""
    data = read_export_bytes(path)
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    elif any(data.startswith(mark) for mark, _ in BYTE_ORDER_MARKS) or not is_utf8(encoding) \
            or unmarked_utf16(data):
        return None
    if b"\0" in data or not data.strip(b" \t\r\n"):  # damaged, or empty: explained there
        return None
    return data


class NotPlainText(Exception):
    """Raised while reading :func:`plain_utf8_blocks` when a block holds a NUL byte: the export is
    damaged or not UTF-8, for :func:`read_export` to explain."""


def plain_utf8_blocks(path: Path, encoding: str, block_bytes: int = BLOCK_BYTES) -> Iterator[bytes] | None:
    """The export's bytes as :func:`plain_utf8_bytes` gives them, but read lazily, a block of
    about ``block_bytes`` at a time, so that a reader never holds the whole file: without the
    byte-order mark, line endings as :func:`read_export` leaves them (CRLF and CR as LF) and a
    second file's mark at the start of a line dropped; a block never ends between the CR and
    LF of a line end, nor inside such a mark. None when the export is plainly not UTF-8 text
    from its first bytes (another encoding declared or marked, UTF-16, a workbook, missing);
    iterating raises :class:`NotPlainText` at a NUL byte."""
    if path.is_dir():
        return None
    try:
        handle = path.open("rb")
    except OSError:
        return None
    head = handle.read(8)
    handle.seek(0)
    if head.startswith(codecs.BOM_UTF8):
        handle.seek(len(codecs.BOM_UTF8))
    elif head.startswith(WORKBOOK_MAGIC) or any(head.startswith(mark) for mark, _ in BYTE_ORDER_MARKS) \
            or not is_utf8(encoding) or (len(head) >= 4 and (head[1] == head[3] == 0 or head[0] == head[2] == 0)):
        handle.close()
        return None
    return _blocks(handle, block_bytes)


def _blocks(handle: "BinaryIO", block_bytes: int) -> Iterator[bytes]:
    with handle:
        after_line_end = False
        while block := handle.read(block_bytes):
            while (block.endswith((b"\r", b"\n\xef", b"\n\xef\xbb"))
                   or (after_line_end and block in (b"\xef", b"\xef\xbb"))) and (more := handle.read(1)):
                block += more  # a CR LF or a mark split between two blocks
            if b"\0" in block:
                raise NotPlainText
            if b"\r" in block:
                block = block.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
            if after_line_end and block.startswith(codecs.BOM_UTF8):
                block = block[len(codecs.BOM_UTF8):]
            block = block.replace(b"\n" + codecs.BOM_UTF8, b"\n")  # a second file's mark (exports joined with cat)
            after_line_end = block.endswith(b"\n")
            yield block


def _decodes(data: bytes, encoding: str) -> bool:
    try:
        data.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def decode_problem(path: Path, data: bytes, encoding: str, exc: UnicodeDecodeError,
                   encoding_option: bool = True) -> str:
    """Where the bytes of ``data`` (a file's, from its start) stop being ``encoding`` text, and the
    encoding they look like: the error a reader raises."""
    line = data.count(b"\n", 0, exc.start) + 1
    column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
    declared = "UTF-8" if is_utf8(encoding) else encoding
    guess = next((label for name, label in LIKELY_ENCODINGS
                  if codecs.lookup(name).name != codecs.lookup(encoding).name and _decodes(data, name)), None)
    bad = data[exc.start:exc.start + 1].hex()
    advice = (f"it looks like {guess}: set encoding = \"{guess.split()[0]}\"" if guess else
              "set `encoding` to the one the file was saved in (e.g. \"cp1252\" or \"latin-1\")")
    if not encoding_option:
        return (f"{path}, line {line}, column {column}: not {declared} text (byte 0x{bad})"
                + (f"; it looks like {guess}" if guess else "") + ": the export source reads UTF-8 only, as "
                "platforms write their exports: download the export again (or save it as CSV UTF-8), or read "
                "it with plugin = \"csv\" and encoding = \"" + (guess.split()[0] if guess else "cp1252") + '"')
    return (f"{path}, line {line}, column {column}: not {declared} text (byte 0x{bad}); {advice}, "
            "or save the file again as CSV UTF-8")
