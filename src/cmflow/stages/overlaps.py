"""Records that several sources of one run read: counted once.

Two sources may hold the same record: overlapping monthly downloads pasted as two sources, a
platform's API and its export, LinkedIn's content and followers workbooks read apart (the same
account and day, each with its own columns). A record is told by its kind's ``identity``
(platform, account and post id; platform, account and day ...). The fetch stage says in each
later source's report how many of its records an earlier source also read; the measure stage
reads one copy of each, its cells taken from the first source (in the workflow's order) that
has them filled.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cmflow.foundation.records import RECORD_KINDS, merged_records

if TYPE_CHECKING:
    import polars as pl

    from cmflow.plugins.result import StageReport


def one_copy_per_record(kind_name: str, frame: "pl.DataFrame") -> "pl.DataFrame":
    """``frame`` (with a ``source_id`` column, sources in the workflow's order) with the records
    that several sources hold merged into one row (:func:`~cmflow.foundation.records.merged_records`:
    each cell from the first source that has it, the row's ``source_id`` the first source's).
    Records of one source only pass as they are."""
    if frame.height < 2 or frame["source_id"].n_unique() < 2:
        return frame
    return merged_records(kind_name, frame)


def note_overlaps(kind_name: str, frames: list[tuple[str, "pl.DataFrame"]],
                  reports: dict[str, "StageReport"]) -> None:
    """Say in each source's report how many of its ``kind_name`` records an earlier source
    (``frames``: source id and records, in the workflow's order) also read: each record shared is
    counted once, against the first source that read it (one pass over every source's keys, not
    a join per pair of sources)."""
    import polars as pl

    identity = list(RECORD_KINDS[kind_name].identity)
    if not identity or len(frames) < 2:
        return
    keys = pl.concat([frame.select(identity).unique().with_columns(pl.lit(order).alias("_order"))
                      for order, (_, frame) in enumerate(frames)])
    shared = keys.filter(pl.struct(identity).is_duplicated())
    if shared.height == 0:
        return
    first = pl.col("_order").min().over(identity)
    later = shared.with_columns(first.alias("_first")).filter(pl.col("_order") > pl.col("_first"))
    what = ", ".join(c.replace("_", " ") for c in identity)
    for order, earlier, count in later.group_by("_order", "_first").len().sort("_order", "_first").iter_rows():
        source_id, earlier_id = frames[order][0], frames[earlier][0]
        if source_id in reports:
            reports[source_id].problems.append(
                f"{count} {kind_name} record(s) are also read by source {earlier_id!r} (the same {what}): "
                "counted once, with the first source's values; read each export by one source "
                "(a folder or a glob for several downloads)")
