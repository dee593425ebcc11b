"""The date range of an export that counts over one (YouTube Studio's tables), as its download
names it: shared by the export source (which records it for the source_gaps stage) and ``cmflow
inspect`` (which says when no name gives it)."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

RANGE_IN_NAME = re.compile(r"(\d{4}-\d{2}-\d{2})_(\d{4}-\d{2}-\d{2})")
"""The date range YouTube Studio writes in its download's name (``Content 2026-11-01_2026-11-30 Atelier Lumen``)."""


def table_range(path: Path) -> "tuple[date, date] | None":
    """The date range of a table counting over its export's range, as its download names it
    (its folder's name, else the file's: ``Content 2026-11-01_2026-11-30 Atelier Lumen``); None
    when neither names one."""
    for name in (path.parent.name, path.name):
        found = RANGE_IN_NAME.search(name)
        if found:
            try:
                return date.fromisoformat(found[1]), date.fromisoformat(found[2])
            except ValueError:
                continue
    return None


def range_unknown_note(shown: str, title: str) -> str:
    """What is said of a table counting over its export's range whose range no name gives."""
    return (f"{shown}: {title} counts each video's figures over its export's range, and neither the file's "
            "name nor its folder's gives that range: the figures are taken as they are, so those of videos "
            "published before the range may be the range's only; keep the folder's name as YouTube Studio "
            "writes it (Content 2026-10-26_2026-11-22 and the channel's name)")
