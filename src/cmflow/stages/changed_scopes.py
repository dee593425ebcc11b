"""The changed_scopes stage: the comparisons that have no value because the only figure kept for
their period was measured with other filters, told to the user.

Every stored figure keeps its scope (:mod:`cmflow.foundation.measurement_scopes`), and the
compare stage does not use one of another scope than its metric's now: that comparison has no
value, with the reason :data:`~cmflow.foundation.measurement_scopes.SCOPE_CHANGED_REASON` (a
period this run's records reach is measured again with the current filters, and compared). This
stage says so, in words:

- on the first run after a filter changed (its metrics' scopes differ from those the last kept
  run recorded in the run history), a warning naming each source ``where`` (or metric ``where``)
  that is new, and what was left uncompared; the run ends ``warning`` (exit code 5). The run
  after that compares with this one's scopes: said once;
- on every run where comparisons were left without a value for that reason (a same period last
  year kept under the old filter, for a year), a note counting them.

Takes the workflow, the store and the comparisons; returns one report of kind ``where`` when
there is something to say, else none. One store read (the latest runs' history), whatever the
number of metrics and triggers.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from cmflow.foundation.measurement_scopes import SCOPE_CHANGED_REASON
from cmflow.foundation.run_warnings import RunWarning
from cmflow.plugins.result import StageReport

if TYPE_CHECKING:
    import polars as pl

    from cmflow.store import Store
    from cmflow.workflow import Workflow

RUNS_LOOKED_AT = 20
"""How many earlier runs are read to find the last kept one (not a dry run) that recorded its
scopes. Only the warning's "said once" depends on it: which figures are compared is decided by
the scope each stored figure keeps, however old."""


def changed_scopes(workflow: "Workflow", store: "Store | None", comparisons: "pl.DataFrame | None"
                   ) -> list[StageReport]:
    """A ``where`` report: a warning when the filters changed since the last kept run, a note
    when comparisons have no value for a figure kept under other filters."""
    import polars as pl

    report = StageReport("where", "comparisons", "changed_scopes")
    hidden = comparisons.filter(pl.col("change_reason") == SCOPE_CHANGED_REASON) \
        if comparisons is not None and comparisons.height else None
    if hidden is not None and hidden.height:
        metrics = sorted(hidden["metric"].unique().to_list())
        periods = sorted(hidden["comparison"].unique().to_list())
        report.problems.append(
            f"{hidden.height} comparison(s) of {', '.join(metrics)} with {', '.join(periods)} have no value: "
            "the figure kept for that period was measured with another where; give this run the files of "
            "that period to measure it again with the current one")
    if store is not None:
        report.warnings.extend(_changed_since_last_run(workflow, store))
    return [report] if report.problems or report.warnings else []


def _changed_since_last_run(workflow: "Workflow", store: "Store") -> list[RunWarning]:
    """A warning when a measurement's scope differs from the one the last kept run recorded,
    naming each filter that is new (renaming a source alone is no change)."""
    last = next((run.stats for run in store.runs(workflow.key, limit=RUNS_LOOKED_AT)
                 if not run.dry_run and isinstance(run.stats, dict) and isinstance(run.stats.get("scopes"), dict)),
                None)
    if last is None:
        return []
    scopes = workflow.measurement_scopes()
    changed = sorted(m for m, scope in scopes.items() if m in last["scopes"] and last["scopes"][m] != scope)
    if not changed:
        return []
    then = {_key(f) for f in (last.get("source_filters") or {}).values()}
    now = workflow.source_filters()
    filters = [(entry.path, now[entry.id]) for entry in workflow.sources if _key(now[entry.id]) not in then]
    then_metrics, now_metrics = last.get("metric_filters") or {}, workflow.metric_filters()
    for entry in workflow.metrics:
        names = [m for m in entry.plugin.produces() if m in then_metrics]
        if any(_key(then_metrics[m]) != _key(now_metrics[m]) for m in names):
            filters.append((entry.path, now_metrics[names[0]]))
    places = [f"{path}.where is {_shown(where)}" for path, where in filters] or ["the sources its metrics read"]
    text = (f"{workflow.file.name}: the filters changed since the last run ({'; '.join(places)}): the figures "
            f"kept before were measured on other records, so those of {', '.join(changed)} the change concerns are not "
            "compared with them (an account's, a platform's or a client's row both filters keep still is); "
            "a period this run's files reach is measured again and compared; this is said once")
    # a report in another language says the places as the workflow file writes them (no English "is")
    values = {"file": workflow.file.name, "metrics": changed,
              "places": [f"{path}.where = {_shown(where, '{}')}" for path, where in filters]}
    return [RunWarning(text, "scope_changed" if filters else "scope_changed_unplaced", values)]


def _key(where: Any) -> str:
    return json.dumps(where, sort_keys=True, ensure_ascii=False)


def _shown(where: dict[str, list[str]], none: str = "none") -> str:
    """A normalised filter as a workflow writes one: ``{ account = "beta" }``, ``none`` (or
    ``none`` given) for none."""
    if not where:
        return none

    def value(values: list[str]) -> str:
        quoted = [json.dumps(v, ensure_ascii=False) for v in values]
        return quoted[0] if len(quoted) == 1 else "[" + ", ".join(quoted) + "]"

    return "{ " + ", ".join(f"{key} = {value(values)}" for key, values in where.items()) + " }"
