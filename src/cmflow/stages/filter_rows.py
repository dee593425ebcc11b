"""The filter_rows stage: each source's ``where`` keeps the records it names.

Takes the workflow and what the fetch stage made; returns :class:`~cmflow.stages.fetch.Fetched`
with the records a source's ``where`` leaves out removed, and each such source's report saying
how many it kept (``where kept 40 of 96 post records``). A record without a field the ``where``
names cannot match it and is left out, as one whose field is empty is: when the source fetched
such records (an agency folder's traffic has no account), its report warns how many and what to
do, and the run ends ``warning``. A value that matches nothing is the where_misses stage's
business. The sources themselves return every record of their input: one agency-wide export can
then feed a workflow per client. What an incremental source keeps in the store is what it
fetched, whatever the ``where``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Sequence

from cmflow.foundation.records import RECORD_KINDS, RecordKind
from cmflow.foundation.run_warnings import RunWarning
from cmflow.foundation.where_filters import missing_keys, record_condition
from cmflow.stages.fetch import Fetched

if TYPE_CHECKING:
    from cmflow.workflow import Entry, Workflow


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
        counts, kept_notes, problems, warnings = dict(report.counts) if report is not None else {}, [], [], []
        for kind_name in sorted(records):
            frame = records[kind_name]
            if frame.height == 0:
                continue
            own = pl.col("source_id") == entry.id
            before = frame.filter(own).height
            if before == 0:
                continue
            kind = RECORD_KINDS[kind_name]
            missing = missing_keys(entry.common.where, kind)
            if missing:  # traffic has no account: none can match, so none is kept, and the run warns
                records[kind_name] = frame.filter(~own)
                kept_notes.append(f"where left out {kind.counted(before)}: no {' or '.join(missing)}")
                warnings.append(left_out_warning(workflow, entry, kind, missing, before))
                counts[kind_name] = 0
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
                                        warnings=[*report.warnings, *warnings],
                                        note="; ".join(filter(None, [report.note, *kept_notes])))
    return replace(fetched, records=records, reports=[reports[r.id] for r in fetched.reports])


def left_out_warning(workflow: "Workflow", entry: "Entry", kind: RecordKind, missing: Sequence[str],
                     count: int) -> RunWarning:
    """The warning for ``count`` records of ``kind`` a source fetched and its ``where`` left out
    because ``kind`` has none of the ``missing`` fields (traffic has no account)."""
    fields = " or ".join(missing)
    places = ", ".join(f"{entry.path}.where.{key}" for key in missing)
    records = kind.nouns[1] if kind.nouns[0] else f"{kind.name} records"
    return RunWarning(
        f"{workflow.file.name}: {places}: {kind.counted(count)} {'has' if count == 1 else 'have'} no {fields}, so the "
        f"where left {'it' if count == 1 else 'them'} out of the figures; give the client's {records} a source of "
        f"its own (a path to those files only, without where.{missing[0]})",
        "where_field_missing", {"file": workflow.file.name, "place": places, "kind": kind.name, "n": count,
                                "fields": list(missing)})
