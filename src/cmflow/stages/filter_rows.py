"""The filter_rows stage: each source's ``where`` keeps the records it names.

Takes the workflow and what the fetch stage made; returns :class:`~cmflow.stages.fetch.Fetched`
with the records a source's ``where`` leaves out removed, and each such source's report saying
how many it kept (``where kept 40 of 96 post records``), and which records a key does not apply
to (traffic has no account: they pass unfiltered); a value that matches nothing is the
where_misses stage's business. The sources themselves return every
record of their input: one agency-wide export can then feed a workflow per client. What an
incremental source keeps in the store is what it fetched, whatever the ``where``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from cmflow.foundation.records import RECORD_KINDS
from cmflow.foundation.where_filters import record_condition, unfiltered_keys
from cmflow.stages.fetch import Fetched

if TYPE_CHECKING:
    from cmflow.workflow import Workflow


def filter_rows(workflow: "Workflow", fetched: Fetched) -> Fetched:
    """The fetched records that the ``where`` of their source keeps."""
    import polars as pl

    filtered = [entry for entry in workflow.sources if entry.common.where]
    if not filtered:
        return fetched
    records = dict(fetched.records)
    reports = {report.id: report for report in fetched.reports}
    timezone = workflow.settings.timezone
    for entry in filtered:
        report = reports.get(entry.id)
        counts, kept_notes, problems = dict(report.counts) if report is not None else {}, [], []
        for kind_name in sorted(records):
            frame = records[kind_name]
            if frame.height == 0:
                continue
            own = pl.col("source_id") == entry.id
            before = frame.filter(own).height
            if before == 0:
                continue
            kind = RECORD_KINDS[kind_name]
            passing = unfiltered_keys(entry.common.where, kind)
            if passing:  # traffic has no account: the where does not apply to it, and the summary says so
                kept_notes.append(f"where.{', where.'.join(passing)} does not apply to {kind.counted(before)} "
                                  "(no such field): all kept")
            if len(passing) == len(entry.common.where):
                counts[kind_name] = before
                continue
            keep = record_condition(entry.common.where, kind, timezone)
            frame = frame.filter(~own | keep.fill_null(False))
            after = before - (records[kind_name].height - frame.height)
            records[kind_name] = frame
            kept_notes.append(f"where kept {after} of {RECORD_KINDS[kind_name].counted(before)}")
            if after == 0:
                problems.append(f"{entry.path}.where kept none of its {RECORD_KINDS[kind_name].counted(before)}: "
                                "check its values (and days) against the file")
            counts[kind_name] = after
        if report is not None and kept_notes:
            reports[entry.id] = replace(report, counts=counts, problems=[*report.problems, *problems],
                                        note="; ".join(filter(None, [report.note, *kept_notes])))
    return replace(fetched, records=records, reports=[reports[r.id] for r in fetched.reports])
