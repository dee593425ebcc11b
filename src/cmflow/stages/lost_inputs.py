"""The lost_inputs stage: what a source read at the workflow's last run and no longer finds.

A source reading a folder or a glob of exports reads what is there: when Meta's Facebook export
is removed from ``exports/meta/`` while the Instagram one stays, the run would go on with
Instagram only, and the Facebook figures would vanish from the report without a word. Sources
record what they read (:meth:`~cmflow.plugins.context.FetchContext.read_input`: an export format
and account, with its files), the run history keeps it, and this stage compares each source's
with the latest earlier run that kept one: each format (or account) gone is a warning naming it,
the files it came from and the source's path, and the run ends ``warning``. The run after that
compares with this one: the warning is said once, whether the file was removed on purpose or not.

Takes the workflow, the store and what the fetch stage made; returns it with the warnings added
to the sources' reports. A source that failed is left alone (its error says enough), and so is a
run without a store. A dry run compares too, and keeps nothing: the next run compares with the
last run that was kept.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from cmflow.foundation.run_warnings import RunWarning
from cmflow.stages.fetch import Fetched

if TYPE_CHECKING:
    from cmflow.store import Store
    from cmflow.workflow import Workflow

RUNS_LOOKED_AT = 20
"""How many earlier runs are read to find the last one that kept what each source read."""


def lost_inputs(workflow: "Workflow", store: "Store | None", fetched: Fetched) -> Fetched:
    """``fetched`` with a warning on each source that no longer finds a format or account it read last time."""
    reading = {report.id for report in fetched.reports if report.ok and report.inputs}
    if store is None or not reading:
        return fetched
    earlier = [run.stats.get("inputs") or {} for run in store.runs(workflow.key, limit=RUNS_LOOKED_AT)
               if isinstance(run.stats, dict) and not run.dry_run]
    entries = {entry.id: entry for entry in workflow.sources}
    reports = []
    for report in fetched.reports:
        last = next((inputs[report.id] for inputs in earlier if report.id in inputs), None)
        entry = entries.get(report.id)
        if report.id not in reading or not last or entry is None:
            reports.append(report)
            continue
        path = getattr(entry.plugin.options, "path", None)
        gone = [RunWarning(f"{workflow.file.name}: {entry.path}: {what}, read last time from {', '.join(files)}, is "
                           f"not there this time" + (f" (path = {path!r})" if path else "") + ": its figures are left "
                           "out of this run; put the export back, or if it was removed on purpose, this is said once",
                           "input_gone_from_path" if path else "input_gone",
                           {"file": workflow.file.name, "place": entry.path, "what": what, "files": list(files),
                            **({"path": str(path)} if path else {})})
                for what, files in last.items() if what not in report.inputs]
        reports.append(replace(report, warnings=[*report.warnings, *gone]) if gone else report)
    return replace(fetched, reports=reports)
