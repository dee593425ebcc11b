"""The alert_items stage: the records behind each alert the run announces, for the messages of
an escalation (the negative messages still unanswered, the negative mentions of a bad buzz).

Takes the workflow, the records (as the measure stage had them), the run's notifications,
periods and as-of instant; returns :class:`AlertItems`: the items by alert fingerprint
(:attr:`cmflow.RunResult.alert_items`), oldest first, and a report per metric whose listing
failed. An alert gets items when the metric entry producing its measurement lists them
(:class:`cmflow.ListsItems`) and its series can be told from the items: those of the series'
client or brand, read as the measure stage reads them (:func:`~cmflow.stages.measure.series_read`,
:func:`~cmflow.stages.measure.series_condition`), and of its other dimensions (platform,
account ...). A resolved alert, a "no data" or "error" one, or one on a dimension the records
lack, gets none.

Each metric entry lists its items once, whatever the number of its alerts: each alert's are
then picked from that one frame by its dimensions. Nothing is listed when no message will be
composed (no notifier output, or a dry run: see :func:`cmflow.stages.compose.compose`).
A metric whose listing fails is reported (the run's stages, its history); its alerts are still
sent, without their list.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from cmflow.foundation.alerts import VALUE, AlertItem
from cmflow.plugins.alert_items import ITEM_COLUMNS, ListsItems
from cmflow.plugins.kinds import Notifier
from cmflow.plugins.result import StageReport
from cmflow.stages.failures import failure
from cmflow.stages.measure import (
    SERIES_COLUMNS, MetricRequest, metric_input, metric_records, series_condition, series_read,
)

if TYPE_CHECKING:
    import polars as pl

    from cmflow.foundation.alerts import Alert, Notification
    from cmflow.foundation.periods import Period
    from cmflow.workflow import Workflow

@dataclass(frozen=True)
class AlertItems:
    """What the alert_items stage made."""

    items: dict[str, tuple[AlertItem, ...]]
    """The records behind each alert, by fingerprint, oldest first."""
    reports: list[StageReport]
    """One per metric entry whose listing failed."""


def alert_items(workflow: "Workflow", records: dict[str, "pl.DataFrame"], notifications: list["Notification"],
                all_periods: list["Period"], as_of: datetime | None = None, *,
                dry_run: bool = False) -> AlertItems:
    """The records behind each announced alert (see the module's docstring)."""
    if dry_run or not any(isinstance(entry.plugin, Notifier) for entry in workflow.outputs):
        return AlertItems({}, [])  # no message lists them
    requests = [r for r in MetricRequest.of(workflow) if isinstance(r.plugin, ListsItems)]
    wanted: dict[int, list["Alert"]] = {}
    for notification in notifications:
        alert = notification.alert
        if notification.event == "resolved" or alert.condition != VALUE:
            continue  # "no data" and "error" alerts are about no record
        index = next((i for i, r in enumerate(requests) if alert.metric in r.plugin.produces()), None)
        if index is not None and all(a.fingerprint != alert.fingerprint for a in wanted.get(index, ())):
            wanted.setdefault(index, []).append(alert)
    if not wanted:
        return AlertItems({}, [])
    records = metric_records(requests, records)
    found: dict[str, tuple[AlertItem, ...]] = {}
    reports = []
    for index, alerts in wanted.items():
        request = requests[index]
        try:
            found.update(_listed(request, alerts, records, all_periods, as_of))
        except Exception as exc:  # the alerts are worth sending without their list
            report = StageReport("alert_items", request.entry_id or request.plugin.name, request.plugin.name)
            report.problems.append(f"the items behind {len(alerts)} alert(s) on "
                                   f"{', '.join(sorted({a.metric for a in alerts}))} could not be listed "
                                   f"(their messages are sent without them): {failure('alert_items', report.id, exc)}")
            reports.append(report)
    return AlertItems(found, reports)


def _listed(request: MetricRequest, alerts: list["Alert"], records: dict[str, "pl.DataFrame"],
            all_periods: list["Period"], as_of: datetime | None) -> dict[str, tuple[AlertItem, ...]]:
    """The items of each of ``alerts`` (all on ``request``'s metric): its items listed once per
    measurement and reading (a brand's series read the competitors' records too), each alert's
    picked by its series and dimensions."""
    base = metric_input(records, request.source_ids, all_periods, request.where, as_of)
    frames: dict[tuple[str, str | None], "pl.DataFrame | None"] = {}
    found = {}
    for alert in alerts:
        label = next((name for name in SERIES_COLUMNS if alert.dimensions.get(name) is not None), None)
        key = (alert.metric, "brand" if label == "brand" else None)
        if key not in frames:
            read = series_read(base, label, request.listen)
            frames[key] = request.plugin.items(read, alert.metric)  # type: ignore[attr-defined]
        frame = frames[key]
        if frame is not None and (items := _of_series(frame, alert.dimensions)) is not None:
            found[alert.fingerprint] = items
    return found


def _of_series(frame: "pl.DataFrame", dimensions: dict) -> tuple[AlertItem, ...] | None:
    """The rows of ``frame`` in the series of ``dimensions``, oldest first; None when the items
    cannot tell the series apart (a dimension they lack): no list, rather than a wrong one."""
    import polars as pl

    conditions = []
    for name, value in dimensions.items():
        if value is None:
            continue
        column = SERIES_COLUMNS.get(name, name)
        if column not in frame.columns:
            return None
        conditions.append(series_condition(name, str(value)) if name in SERIES_COLUMNS
                          else pl.col(name).cast(pl.String) == str(value))
    picked = frame.filter(*conditions) if conditions else frame
    picked = picked.sort("at", nulls_last=True)
    return tuple(AlertItem(**{c: row.get(c) for c in ITEM_COLUMNS}) for row in picked.iter_rows(named=True))
