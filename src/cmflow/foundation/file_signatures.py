"""What a file that is not text looks like, by the bytes it starts with (its "magic bytes").

A CM who gives cmflow an image, a PDF or a workbook where a text file is wanted (a CSV export, a
workflow) is told what the file is, rather than the encoding its bytes might be in: no encoding
turns a PNG into rows.
"""

from __future__ import annotations

SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"%PDF-", "a PDF document"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an Excel workbook (.xls)"),
    (b"PK\x03\x04", "a zip archive (an .xlsx workbook is one)"),
    (b"PK\x05\x06", "a zip archive (an .xlsx workbook is one)"),
    (b"\x1f\x8b", "a gzip archive"),
)
"""How common files that are not text start, and what to call them."""


def binary_file_kind(data: bytes) -> str | None:
    """What ``data`` (a file's bytes, or its first ones) is when it starts as a known binary file
    does (``"a PNG image"``), else None. A whole zip archive is looked into: an .xlsx or .ods
    workbook is named so. RIFF/WebP and ISO media (MP4, HEIC) are recognised too."""
    for magic, kind in SIGNATURES:
        if data.startswith(magic):
            return _workbook_in_zip(data) or kind if magic.startswith(b"PK") else kind
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "a WebP image"
    if data[4:8] == b"ftyp":
        return "a video or photo (MP4, MOV, HEIC)"
    return None


def is_workbook(kind: str | None) -> bool:
    """Whether a kind :func:`binary_file_kind` named is (or may be) a spreadsheet workbook."""
    return kind is not None and ("workbook" in kind)


def _workbook_in_zip(data: bytes) -> str | None:
    import io
    import zipfile

    try:
        entries = zipfile.ZipFile(io.BytesIO(data)).namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return None
    if "[Content_Types].xml" in entries or any(e.startswith("xl/") for e in entries):
        return "an Excel workbook (.xlsx)"
    return "an OpenDocument spreadsheet (.ods)" if "mimetype" in entries else None
