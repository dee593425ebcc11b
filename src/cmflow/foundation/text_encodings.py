"""What a text file's own bytes say of their encoding: a byte-order mark, or the NUL byte beside
every ASCII letter of UTF-16 written without one (Excel's "Unicode text").

The csv and json sources read an export this way before its declared encoding applies, and
``cmflow classify`` reads a CSV file the same way: one rule, so that a file one reads the other
reads too.
"""

from __future__ import annotations

import codecs

BYTE_ORDER_MARKS = (  # longest first: the UTF-32 LE mark starts with the UTF-16 LE one
    (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"),
)
"""Each byte-order mark and the codec that reads the text after it (dropping the mark)."""


def encoding_in_bytes(data: bytes) -> str | None:
    """The codec ``data`` (a file's bytes, from its start) names by itself: its byte-order mark's
    (:data:`BYTE_ORDER_MARKS`), or ``utf-16-le``/``utf-16-be`` for UTF-16 without a mark
    (:func:`unmarked_utf16`); None when they say nothing, and the declared encoding applies."""
    for mark, marked in BYTE_ORDER_MARKS:
        if data.startswith(mark):
            return marked
    return unmarked_utf16(data)


def unmarked_utf16(data: bytes) -> str | None:
    """UTF-16 without a byte-order mark (ASCII text then has a NUL byte beside every letter):
    its codec, else None."""
    if len(data) < 4 or len(data) % 2:
        return None
    if data[1] == 0 and data[3] == 0 and data[0] and data[2]:
        encoding = "utf-16-le"
    elif data[0] == 0 and data[2] == 0 and data[1] and data[3]:
        encoding = "utf-16-be"
    else:
        return None
    try:
        data.decode(encoding)
    except UnicodeDecodeError:
        return None
    return encoding
