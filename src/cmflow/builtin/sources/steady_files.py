"""A file rewritten while cmflow reads it: told, never read as a mix of two versions.

A download still being written, a sync client replacing the export, a spreadsheet saving over
it: the rows read before the change come from one version and those after from another, and
the figures are a silent mix (or a cut row is blamed on the file's quoting). The file's size and
modification time (in nanoseconds) are taken before and after each whole read. On a change
(a sync client or an antivirus may only touch the file) :func:`read_steadily` waits, briefly,
until size and time stand still and reads once more; a change again, or a file that does not
settle, is an error naming the file and saying to run again when it is complete, and wins over
an error the read itself raised (a row cut mid-line by the rewrite is no fault of the export).
"""

from __future__ import annotations

import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, Optional, TypeVar

from cmflow import DataFileError

T = TypeVar("T")

SETTLE_POLL = 0.1
"""Seconds between two looks at a file that changed while read, waiting for it to stand still."""
SETTLE_LIMIT = 1.0
"""Seconds a file that changed while read is given to stand still before the change is an error."""
SETTLE_LOOKS = 3
"""Looks :data:`SETTLE_POLL` apart that must agree for a file to stand still (a writer slowed by
a busy machine may pause for one)."""


def stamp(path: Path) -> Optional[tuple[int, int]]:
    """The file's size and modification time in nanoseconds; None when it cannot be looked at
    (missing: the reader's own error says so)."""
    try:
        status = os.stat(path)
    except OSError:
        return None
    return status.st_size, status.st_mtime_ns


class ChangedWhileRead(DataFileError):
    """The file changed between the start and the end of a read of it."""


def changed_error(path: Path, before: Optional[tuple[int, int]], after: Optional[tuple[int, int]]) -> ChangedWhileRead:
    if after is None:
        how = "it was removed"
    elif before is not None and before[0] != after[0]:
        how = f"{before[0]:,} bytes, then {after[0]:,}"
    else:
        how = "its modification time moved"
    return ChangedWhileRead(f"{path}: it changed while cmflow read it ({how}): a download or a sync still "
                            "writing it? run again when it is complete")


@contextmanager
def unchanged_while_read(path: Path) -> Iterator[None]:
    """Read ``path`` within this block: a :class:`ChangedWhileRead` error when its size or
    modification time differ at the end from the start (raised instead of the read's own error
    too, which a rewrite may have caused)."""
    before = stamp(path)
    try:
        yield
    except DataFileError:
        after = stamp(path)
        if before is not None and after != before:
            raise changed_error(path, before, after) from None
        raise
    after = stamp(path)
    if before is not None and after != before:
        raise changed_error(path, before, after)


def _settled(path: Path) -> Optional[tuple[int, int]]:
    """The file's stamp once :data:`SETTLE_LOOKS` looks :data:`SETTLE_POLL` apart agree, within
    :data:`SETTLE_LIMIT`; None when it keeps changing (or is gone)."""
    last, agreeing = stamp(path), 1
    deadline = time.monotonic() + SETTLE_LIMIT
    while time.monotonic() < deadline:
        time.sleep(SETTLE_POLL)
        now = stamp(path)
        agreeing = agreeing + 1 if now is not None and now == last else 1
        if agreeing >= SETTLE_LOOKS:
            return now
        last = now
    return None


RECENT = 2.0
"""Seconds since its last modification within which a file that failed to read may still be
being written (a writer that has just truncated it, or written half of it)."""
SECOND_LOOK = 0.02
"""Seconds before a second look at a recently modified file that failed to read."""


def _second_look(path: Path, before: tuple[int, int]) -> Optional[tuple[int, int]]:
    """The stamp of ``path`` a moment after a failed read whose stamps agreed: unchanged when the
    file was last modified more than :data:`RECENT` seconds ago (its error is the file's);
    otherwise looked at again after :data:`SECOND_LOOK`, or, for an empty file (a writer that has
    just truncated it), once it stands still."""
    size, modified = before
    if time.time_ns() - modified > RECENT * 1e9:
        return before
    if size == 0:
        settled = _settled(path)
        return settled if settled is not None else stamp(path)
    time.sleep(SECOND_LOOK)
    return stamp(path)


def read_steadily(path: Path, read: "Callable[[], T]") -> T:
    """``read()`` of ``path``, done again once if the file changed meanwhile: a touch (only the
    modification time moved) or a finished download is read whole the second time. A change
    during the second read too, or a file that does not stand still, is :class:`ChangedWhileRead`.
    ``read`` must start afresh each time (nothing kept from the first attempt)."""
    before = stamp(path)
    first: Optional[DataFileError] = None
    try:
        result = read()
    except DataFileError as exc:
        after = stamp(path)
        if before is not None and after == before:
            after = _second_look(path, before)
        if before is None or after == before:
            raise
        first = exc
    else:
        after = stamp(path)
        if before is None or after == before:
            return result
    settled = _settled(path)
    if settled is None:
        raise changed_error(path, before, stamp(path))
    with unchanged_while_read(path):
        try:
            return read()
        except DataFileError as exc:  # the same error both times is the file's; another, the change's
            if first is not None and str(first) == str(exc):
                raise
            raise changed_error(path, before, settled) from None
