"""How a stage reports an entry (a source, metric, trigger or output) that raised: one redacted
line for the run's summary and history, the traceback in the debug log."""

from __future__ import annotations

import logging
import traceback
from typing import TYPE_CHECKING, Mapping

from cmflow.foundation.errors import UserFacingError
from cmflow.foundation.secrets import redactor

if TYPE_CHECKING:
    from cmflow.plugins.result import StageReport
    from cmflow.workflow import Workflow

log = logging.getLogger("cmflow")


def one_line(exc: BaseException) -> str:
    """The error as one line: its class and first line, or only the line when it was written for
    the user (:class:`~cmflow.foundation.errors.UserFacingError`)."""
    text = str(exc).strip().splitlines()
    if text and isinstance(exc, UserFacingError):  # written for the user: no class name
        return text[0]
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def failure(kind: str, entry_id: str, exc: BaseException) -> str:
    """What to report of an entry that raised ``exc`` (call it in the ``except`` block: the
    traceback being handled goes to the debug log)."""
    log.debug("%s %s failed:\n%s", kind, entry_id, redactor(traceback.format_exc()))
    return redactor(one_line(exc))


def failure_details(exc: BaseException) -> list[str]:
    """The lines an error gives to show under it, one thing each (a
    :class:`~cmflow.foundation.errors.DataFileError`'s bad rows), redacted; none for others."""
    return [redactor(" ".join(detail.split())) for detail in getattr(exc, "details", ()) if isinstance(detail, str)]


def upstream_failure(workflow: "Workflow", failed: Mapping[tuple[str, str], "StageReport"], metric: str) -> str | None:
    """Why figures of ``metric`` cannot be trusted this run: a metric producing it, a classifier
    labelling the kinds such a metric reads the sentiment of, or a source such a metric reads
    records of the kinds it needs from, failed (``failed``: the failed reports by (kind, id)).
    None if none did."""
    sources = {s.id: s for s in workflow.sources}
    for entry in workflow.metrics:
        if metric not in entry.plugin.produces():
            continue
        if stage := failed.get(("metric", entry.id)):
            return f"metric {entry.id} failed: {stage.error}"
        read = {kind for group in entry.plugin.needed_records() for kind in group}
        if entry.plugin.reads_sentiment:  # records a failed classifier should have labelled
            for classifier in workflow.classifiers:
                stage = failed.get(("classifier", classifier.id))
                if stage is not None and read & set(classifier.common.records):
                    return f"classifier {classifier.id} failed: {stage.error}"
        for source_id in entry.common.sources or list(sources):
            source = sources.get(source_id)
            if source is not None and read and not (set(source.plugin.produces()) & read):
                continue  # a failed list of posts takes nothing from a metric of follower counts
            if stage := failed.get(("source", source_id)):
                return f"source {source_id} failed: {stage.error}"
    return None
