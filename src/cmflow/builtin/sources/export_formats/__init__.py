"""The exports cmflow knows by sight: each one a :class:`ExportFormat` (what identifies it, how
its columns map), one module per platform. A format is data, not code: adding one is adding an
entry to its platform's ``FORMATS`` and listing that module below."""

from __future__ import annotations

from cmflow.builtin.sources.export_formats.format import CompanionFile, ExportFormat
from cmflow.builtin.sources.export_formats import linkedin, meta, tiktok, time_trackers, web_traffic, x, youtube

KNOWN_FORMATS: tuple[ExportFormat, ...] = (*meta.FORMATS, *linkedin.FORMATS, *tiktok.FORMATS, *youtube.FORMATS,
                                            *x.FORMATS, *time_trackers.FORMATS, *web_traffic.FORMATS)
"""Every known format, in the order detection reports them."""

KNOWN_COMPANIONS: tuple[CompanionFile, ...] = (*youtube.COMPANIONS,)
"""Files that come in one download with a known export and are passed over, never read."""

__all__ = ["CompanionFile", "ExportFormat", "KNOWN_COMPANIONS", "KNOWN_FORMATS", "format_named"]


def format_named(name: str) -> ExportFormat:
    """The known format called ``name``; KeyError if there is none."""
    for known in KNOWN_FORMATS:
        if known.name == name:
            return known
    raise KeyError(name)
