"""The changed_filters stage: a source's ``where`` changed since the workflow's last run.

Figures an earlier run kept in the store fill the comparison and history periods this run's
records do not reach (an export holding only the latest week: see
:mod:`~cmflow.stages.stored_measurements`). Those figures were measured with the ``where`` of
their sources then: after ``where = { account = "alpha" }`` became ``{ account = "beta" }``, last
week's stored total is alpha's, and comparing beta's week with it would be a silent wrong
change. So each run keeps its sources' filters in the run history (``source_filters``), the
compare and evaluate stages leave out the stored figures of runs whose filters differ from this
run's (:func:`runs_measured_otherwise`: such a period has no value, as when nothing was kept),
and this stage says so once: a warning on each source whose ``where`` is not what the workflow's
last kept run had. The run after that compares with this one.

Runs recorded before the history kept filters are taken to have had this run's (nothing to
compare with): upgrading leaves every stored figure in use. A source without a ``where`` has
the empty filter, so adding or removing one is a change too. Records an incremental source keeps
in the store are not concerned: they are stored unfiltered, and every run filters them again.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from cmflow.foundation.run_warnings import RunWarning
from cmflow.stages.fetch import Fetched

if TYPE_CHECKING:
    from cmflow.store import RunRecord, Store
    from cmflow.workflow import Workflow

RUNS_LOOKED_AT = 500
"""How many earlier runs of the workflow are read for the filters their figures were measured with."""


def runs_measured_otherwise(workflow: "Workflow", store: "Store") -> frozenset[int]:
    """The earlier runs of the workflow whose sources had other filters than this run's: their
    stored figures are not this run's scope. A source that is new (or gone) is left out of the
    comparison: its id was not read then (or is not read now), and its figures are in series of their own."""
    current = workflow.source_filters()
    return frozenset(run.id for run in _kept_runs(workflow, store) if _differs(run, current))


def changed_filters(workflow: "Workflow", store: "Store | None", fetched: Fetched) -> Fetched:
    """``fetched`` with a warning on each source whose ``where`` differs from the last kept run's."""
    if store is None:
        return fetched
    last = next((run.stats["source_filters"] for run in _kept_runs(workflow, store)), None)
    if last is None:
        return fetched
    current = workflow.source_filters()
    entries = {entry.id: entry for entry in workflow.sources}
    reports = []
    for report in fetched.reports:
        entry = entries.get(report.id)
        if entry is None or report.id not in last or last[report.id] == current.get(report.id):
            reports.append(report)
            continue
        warning = RunWarning(
            f"{workflow.file.name}: {entry.path}.where is {_shown(current[report.id])}, and was "
            f"{_shown(last[report.id])} at the last run: the figures earlier runs kept were measured with "
            "the old filter, so they are not compared with this run's (a comparison or history period this "
            "run's records do not reach has no value); to compare, give the files of those periods too; "
            "this is said once", "filter_changed",
            {"file": workflow.file.name, "place": f"{entry.path}.where",
             "now": _shown(current[report.id], none="{ }"), "then": _shown(last[report.id], none="{ }")})
        reports.append(replace(report, warnings=[*report.warnings, warning]))
    return replace(fetched, reports=reports)


def _kept_runs(workflow: "Workflow", store: "Store") -> list["RunRecord"]:
    """The earlier runs that kept their figures and recorded their filters, newest first."""
    return [run for run in store.runs(workflow.key, limit=RUNS_LOOKED_AT)
            if not run.dry_run and isinstance(run.stats, dict) and isinstance(run.stats.get("source_filters"), dict)]


def _differs(run: "RunRecord", current: dict[str, dict[str, Any]]) -> bool:
    then = run.stats["source_filters"]
    return any(then[source] != current[source] for source in set(then) & set(current))


def _shown(where: dict[str, Any], none: str = "none") -> str:
    """A ``where`` as the workflow file writes it: ``{ account = "beta" }``, or ``none`` for no filter."""
    if not where:
        return none
    def value(v: Any) -> str:
        return "[" + ", ".join(f'"{x}"' for x in v) + "]" if isinstance(v, list) else f'"{v}"'
    return "{ " + ", ".join(f"{key} = {value(v)}" for key, v in where.items()) + " }"
