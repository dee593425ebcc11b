"""What an output with a ``where`` is shown of the run: the rows, alerts and records of the
dimensions it names (a stage helper of compose and deliver).

A measurement row is kept when each dimension of the ``where`` has one of the given values: a
row not broken down by that dimension (the overall row, which adds up every account) is left
out, as are records without that field. Alerts that say a rule could not be judged (no data, an
error) belong to no series: they are kept, so a failure is never hidden from an output.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from cmflow.foundation.alerts import VALUE
from cmflow.foundation.where_filters import dimensions_match, rows_condition

if TYPE_CHECKING:
    from cmflow.foundation.alerts import Alert
    from cmflow.plugins.result import RunResult
    from cmflow.workflow import Entry


def result_for(entry: "Entry", result: "RunResult") -> "RunResult":
    """``result`` as the output ``entry`` sees it: all of it, or what its ``where`` keeps."""
    where = getattr(entry.common, "where", None)
    if not where:
        return result

    def shown(alert: "Alert") -> bool:
        return alert.condition != VALUE or dimensions_match(where, alert.dimensions)

    measurements, comparisons = result.measurements, result.comparisons
    if measurements is not None and measurements.width:
        measurements = measurements.filter(rows_condition(where, measurements.columns))
        if comparisons is not None and comparisons.height and "series_key" in comparisons.columns:
            kept = measurements.select("series_key").unique()
            comparisons = comparisons.join(kept, on="series_key", how="semi")
    records = {kind: frame.filter(rows_condition(where, frame.columns)) for kind, frame in result.records.items()}
    return replace(
        result, measurements=measurements, comparisons=comparisons, records=records,
        alerts=[a for a in result.alerts if shown(a)], pending=[a for a in result.pending if shown(a)],
        resolved=[a for a in result.resolved if shown(a)],
        notifications=[n for n in result.notifications if shown(n.alert)],
        verdicts=[v for v in result.verdicts if dimensions_match(where, v.dimensions)],
        alert_changes=[a for a in result.alert_changes if shown(a)],
    )

