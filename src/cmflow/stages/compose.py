"""The compose stage: the messages of the notifier outputs, to queue with the run's state.

Takes the workflow and the run's result so far (its alerts and notifications); returns
:class:`Composed`: the messages, and one report per notifier output (what was queued, or why
nothing was). The deliver stage sends them once the record stage has queued them (and corrected
the reports for the messages an earlier run of the period had queued already).

A ``cmflow resend`` run (:attr:`~cmflow.RunResult.resend`) composes only the outputs it names,
whatever their ``when``: the others (a Slack post, a webhook, an alerts e-mail with
``when = "always"``) already sent this period's messages, and a resend must not post them again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cmflow.delivery.outbox import compose_messages, notifications_for, when_applies
from cmflow.plugins.context import DeliveryContext
from cmflow.plugins.kinds import Notifier
from cmflow.plugins.result import StageReport
from cmflow.stages.failures import failure
from cmflow.stages.output_filters import result_for

if TYPE_CHECKING:
    from cmflow.plugins.result import RunResult
    from cmflow.store import QueuedMessage
    from cmflow.workflow import Workflow

log = logging.getLogger("cmflow")


@dataclass(frozen=True)
class Composed:
    """What the compose stage made."""

    messages: list["QueuedMessage"]
    reports: list[StageReport]
    """One per notifier output, in the workflow's order."""
    resent: dict[str, list[str]]
    """For a ``cmflow resend``: the clients whose report each output named queued again."""


def compose(workflow: "Workflow", result: "RunResult") -> Composed:
    """Each notifier output's messages for the run's notifications, when its ``when`` applies
    (none in a dry run)."""
    queued, reports = [], []
    resent: dict[str, list[str]] = {}
    whole = result
    for entry in workflow.outputs:
        if not isinstance(entry.plugin, Notifier):
            continue
        result = result_for(entry, whole)  # what its where keeps
        report = StageReport("output", entry.id, entry.info.name)
        reports.append(report)
        if whole.resend and entry.id not in whole.resend:
            report.note = f"not sent again (cmflow resend --output {', '.join(whole.resend)})"
            continue
        if not when_applies(entry, result, notifications_for(entry, result)):
            report.note = f"nothing to send (when = {entry.common.when or entry.plugin.default_when!r})"
            continue
        if result.dry_run:
            report.note = "skipped (dry run)"
            continue
        ctx = DeliveryContext(workflow.directory, log.getChild(f"output.{entry.id}"), result.dry_run)
        try:
            messages = compose_messages(workflow, entry, result, ctx)
        except Exception as exc:
            report.ok, report.error = False, failure("output", entry.id, exc)
            continue
        if entry.id in whole.resend:
            resent[entry.id] = sorted({m.client for m in messages if m.client is not None})
        report.counts["messages"] = len(messages)
        report.note = f"{len(messages)} message(s) queued"
        queued.extend(messages)
    return Composed(queued, reports, resent)

