"""The deliver stage: the outputs that deliver themselves (the terminal, files), then the outbox.

Takes the workflow, the run's result, the compose stage's reports, the store whose outbox to
send (None when the run writes nothing: no store, or a dry run), the run's clock, how to wait
between quick retries and the stop request; returns one report per output, in the workflow's
order: the notifiers' reports say what was delivered, what waits for a retry, and what a stop
(SIGTERM) left in the outbox.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Callable

from cmflow.delivery.outbox import dispatch, when_applies
from cmflow.foundation.secrets import redactor
from cmflow.foundation.stopping import StopRequest
from cmflow.plugins.context import DeliveryContext
from cmflow.plugins.kinds import Notifier
from cmflow.plugins.result import StageReport
from cmflow.stages.failures import failure, one_line
from cmflow.stages.output_filters import result_for
from cmflow.store import PENDING
from cmflow.workflow import load_workflow

if TYPE_CHECKING:
    from cmflow.plugins.result import RunResult
    from cmflow.store import Store
    from cmflow.workflow import Workflow

log = logging.getLogger("cmflow")


def deliver(workflow: "Workflow", result: "RunResult", composed: list[StageReport], outbox: "Store | None", *,
            now: datetime | None, sleep: "Callable[[float], None] | None", stop: StopRequest) -> list[StageReport]:
    """Deliver every output of the run: each gives its report, in the workflow's order."""
    reports = {report.id: report for report in _deliver_themselves(workflow, result)}
    sent = False
    if outbox is not None:
        composed, sent = _send_outbox(workflow, outbox, composed, now, sleep, stop)
    reports.update((report.id, report) for report in composed)
    ordered = [reports[entry.id] for entry in workflow.outputs]
    if not sent or not stop.is_set():
        return ordered
    left = Counter(m.output_id for m in outbox.outbox(status=PENDING, workflow=workflow.key, limit=1_000_000))
    return [replace(report, note="; ".join(filter(None, [report.note, (
        f"{stop.reason}: {left[report.id]} message(s) left in the outbox for the next run "
        "or `cmflow outbox flush`")]))) if left[report.id] else report for report in ordered]


def _deliver_themselves(workflow: "Workflow", whole: "RunResult") -> list[StageReport]:
    """Outputs that deliver themselves: the terminal, files; each sees what its where keeps."""
    reports = []
    for entry in workflow.outputs:
        if isinstance(entry.plugin, Notifier):
            continue
        result = result_for(entry, whole)
        report = StageReport("output", entry.id, entry.info.name)
        reports.append(report)
        if not when_applies(entry, result, result.notifications):
            report.note = f"skipped (when = {entry.common.when or entry.plugin.default_when!r})"
            continue
        if result.dry_run and entry.plugin.delivers_externally:
            report.note = "skipped (dry run)"
            continue
        ctx = DeliveryContext(workflow.directory, log.getChild(f"output.{entry.id}"), result.dry_run)
        try:
            report.note = entry.plugin.deliver(result, ctx)
        except Exception as exc:
            report.ok, report.error = False, failure("output", entry.id, exc)
    return reports


def _send_outbox(workflow: "Workflow", store: "Store", composed: list[StageReport], now: datetime | None,
                 sleep: "Callable[[float], None] | None", stop: StopRequest) -> tuple[list[StageReport], bool]:
    """Send this workflow's due messages (this run's, and earlier ones still waiting); on a
    ``stop`` request, finish the messages being sent and leave the rest in the outbox. Returns
    the notifiers' reports with what was sent, and whether the outbox could be sent at all."""
    clock = (lambda: now) if now is not None else None
    try:
        sent = dispatch(store, workflow=workflow, clock=clock, sleep=sleep or time.sleep, stop=stop.is_set,
                        load=load_workflow)
    except Exception as exc:  # the store itself: the messages stay queued
        error = redactor(one_line(exc))
        log.warning("could not send the outbox: %s", error)
        # The run is undelivered, and its history says why.
        return [replace(report, ok=False, error=f"the outbox could not be sent: {error}") for report in composed], False
    reports = []
    for report in composed:
        delivered, problems = sent.for_output(report.id)
        if delivered:
            notes = "; ".join(note for note in delivered if note)
            report = replace(report, note=f"{len(delivered)} message(s) delivered" + (f": {notes}" if notes else ""))
        if problems:
            report = replace(report, ok=False, error="; ".join(problems))
        reports.append(report)
    return reports, True
