"""The objectives stage: every ``[[objectives]]`` entry judged on the run's figures.

Takes the workflow (its objectives, and the polarity of each measurement), the measurements,
the comparisons and the reports of the stages before (a failed source or metric means no
verdict, never a verdict on partial figures); returns one
:class:`~cmflow.foundation.objectives.ObjectiveResult` per objective and series, in the order
of the workflow file. The arithmetic (progress, the verdict ladder) is in
:mod:`cmflow.foundation.objectives`; this stage finds the figures.
"""

from __future__ import annotations

from itertools import product
from typing import TYPE_CHECKING, Any, Sequence

from cmflow.foundation.measurements import dimension_columns, row_dimensions
from cmflow.foundation.names import closest
from cmflow.foundation.objectives import Objective, ObjectiveResult, judge
from cmflow.foundation.periods import CURRENT
from cmflow.foundation.where_filters import compared, rows_condition, values_of
from cmflow.stages.failures import upstream_failure

if TYPE_CHECKING:
    import polars as pl

    from cmflow.plugins.result import StageReport
    from cmflow.workflow import Workflow


def objectives(workflow: "Workflow", measurements: "pl.DataFrame", comparisons: "pl.DataFrame",
               upstream: "Sequence[StageReport]" = ()) -> list[ObjectiveResult]:
    """Every objective of the workflow on each series it names: figures, progress and verdict,
    or why there is no verdict."""
    import polars as pl

    if not workflow.objectives:
        return []
    failed = {(s.kind, s.id): s for s in upstream if not s.ok}
    current = measurements.filter((pl.col("period") == CURRENT) & pl.col("rank").is_null())
    units = workflow.measurement_names()
    results: list[ObjectiveResult] = []
    for objective in workflow.objectives:
        polarity = workflow.polarity_of(objective.metric)
        unit = units.get(objective.metric, "")
        rows = current.filter(pl.col("metric") == objective.metric)
        failure = upstream_failure(workflow, failed, objective.metric)
        for wanted in _series_wanted(objective):
            matched = _coarsest(rows.filter(rows_condition(wanted, rows.columns))) if wanted else \
                rows.filter(pl.col("series_key") == "{}")
            if failure is not None or matched.height == 0:
                reason = failure or _unmatched(objective, wanted, rows)
                results.append(judge(objective, dict(wanted), unit, polarity, None, reason=reason))
                continue
            for row in matched.sort("series_key").iter_rows(named=True):
                results.append(_judged(objective, row, unit, polarity, comparisons))
    return results


def _series_wanted(objective: Objective) -> list[dict[str, str]]:
    """One selection per combination of the ``where`` values ({} for the overall series)."""
    keys = list(objective.where)
    return [dict(zip(keys, combination)) for combination in product(*(values_of(objective.where[k]) for k in keys))]


def _coarsest(rows: "pl.DataFrame") -> "pl.DataFrame":
    """The rows split by the fewest dimensions: {account = "x"} means the account's series, not
    its series by format as well."""
    import polars as pl

    if rows.height == 0:
        return rows
    split = pl.sum_horizontal([pl.col(c).is_not_null().cast(pl.Int32) for c in dimension_columns(rows)])
    counted = rows.with_columns(split.alias("_split"))
    return counted.filter(pl.col("_split") == pl.col("_split").min()).drop("_split")


def _judged(objective: Objective, row: dict[str, Any], unit: str, polarity: str,
            comparisons: "pl.DataFrame") -> ObjectiveResult:
    """One series: its value (and for a change target its comparison) judged."""
    import polars as pl

    dimensions = row_dimensions(row)
    value, reason = row["value"], row.get("reason")
    if objective.target is not None or value is None:
        return judge(objective, dimensions, row["unit"] or unit, polarity, value, reason=reason)
    compared = comparisons.filter((pl.col("metric") == objective.metric) & (pl.col("comparison") == objective.against)
                                  & (pl.col("series_key") == row["series_key"])) if comparisons.height else comparisons
    if compared.height == 0:
        return judge(objective, dimensions, row["unit"] or unit, polarity, value,
                     reason=f"no value for the comparison period ({objective.against})")
    (before,) = compared.select("previous_value", "change_pct", "change_reason").iter_rows(named=True)
    return judge(objective, dimensions, row["unit"] or unit, polarity, value, baseline=before["previous_value"],
                 change_pct=before["change_pct"], reason=before["change_reason"])


def _unmatched(objective: Objective, wanted: dict[str, str], rows: "pl.DataFrame") -> str:
    """Why no series of the objective's metric matches ``wanted``, with the closest value measured."""
    if rows.height == 0:
        return f"no {objective.metric} measured this period"
    if not wanted:
        return f"{objective.metric} has no overall series this period"
    for key, value in wanted.items():
        present = sorted({str(v) for v in rows[key].drop_nulls().to_list()}) if key in rows.columns else []
        if compared(key, value) not in {compared(key, v) for v in present}:
            suggestion = closest(value, present)
            return (f"no series of {objective.metric} has {key} = {value!r} this period" +
                    (f"; did you mean {suggestion!r}?" if suggestion else ""))
    return f"no series of {objective.metric} matches " + ", ".join(f"{k} = {v!r}" for k, v in wanted.items())
