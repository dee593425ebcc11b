"""What a file that is not text looks like, by the bytes it starts with (its "magic bytes").

A CM who gives cmflow an image, a PDF or a workbook where a text file is wanted (a CSV export, a
workflow) is told what the file is, rather than the encoding its bytes might be in: no encoding
turns a PNG into rows.
"""

from __future__ import annotations

XLSX_WORKBOOK = "an Excel workbook (.xlsx)"
XLS_WORKBOOK = "an Excel workbook (.xls)"
ODS_SPREADSHEET = "an OpenDocument spreadsheet (.ods)"
ZIP_ARCHIVE = "a zip archive"
"""A zip archive that holds no workbook (the zip of CSV files YouTube Studio exports)."""
WORKBOOK_KINDS = frozenset({XLSX_WORKBOOK, XLS_WORKBOOK, ODS_SPREADSHEET})
"""The kinds :func:`binary_file_kind` names that a spreadsheet opens and the xlsx source reads."""

SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"%PDF-", "a PDF document"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", XLS_WORKBOOK),
    (b"PK\x03\x04", "a zip archive (an .xlsx workbook is one)"),
    (b"PK\x05\x06", "a zip archive (an .xlsx workbook is one)"),
    (b"\x1f\x8b", "a gzip archive"),
)
"""How common files that are not text start, and what to call them (a zip archive's first bytes
alone do not say whether it is a workbook)."""


def binary_file_kind(data: bytes) -> str | None:
    """What ``data`` (a file's bytes, or its first ones) is when it starts as a known binary file
    does (``"a PNG image"``), else None. A whole zip archive is looked into (see
    :func:`zip_contents`). RIFF/WebP and ISO media (MP4, HEIC) are recognised too."""
    for magic, kind in SIGNATURES:
        if data.startswith(magic):
            return zip_contents(data)[0] or kind if magic.startswith(b"PK") else kind
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "a WebP image"
    if data[4:8] == b"ftyp":
        return "a video or photo (MP4, MOV, HEIC)"
    return None


def is_workbook(kind: str | None) -> bool:
    """Whether a kind :func:`binary_file_kind` named is a spreadsheet workbook (a zip archive of
    CSV files is not, though both are zip archives)."""
    return kind in WORKBOOK_KINDS


def zip_contents(data: bytes) -> tuple[str | None, list[str]]:
    """What the zip archive ``data`` is (:data:`XLSX_WORKBOOK`, :data:`ODS_SPREADSHEET`, or
    :data:`ZIP_ARCHIVE` for another, such as the zip of CSV files YouTube Studio exports; None
    when it cannot be opened: damaged, or only its first bytes) and the names of its entries."""
    import io
    import zipfile

    try:
        entries = zipfile.ZipFile(io.BytesIO(data)).namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return None, []
    if "[Content_Types].xml" in entries or any(e.startswith("xl/") for e in entries):
        return XLSX_WORKBOOK, entries
    return (ODS_SPREADSHEET if "mimetype" in entries else ZIP_ARCHIVE), entries


def zip_advice(entries: list[str], target: str, give: str = "set `path` to") -> str:
    """What a zip archive holds (its first entries) and what to do: unzip it, point `path` at
    `target` ("the CSV file inside"); ``give``: how to point at it where no `path` option names
    the file (``cmflow classify FILE``: "give")."""
    files = [e for e in entries if not e.endswith("/")]
    shown = ", ".join(f'"{e}"' for e in files[:5]) + (f" and {len(files) - 5} more" if len(files) > 5 else "")
    return f"it holds {shown or 'no file'}; unzip it and {give} {target}"
