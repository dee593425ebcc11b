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
from cmflow.foundation.listening import BRANDS_COLUMN
from cmflow.stages.measure import SERIES_COLUMNS, MetricRequest, metric_input, metric_records, series_read

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
    producers = {metric: index for index, r in reversed(list(enumerate(requests))) for metric in r.plugin.produces()}
    wanted: dict[int, list["Alert"]] = {}
    seen = set()
    for notification in notifications:
        alert = notification.alert
        if notification.event == "resolved" or alert.condition != VALUE:
            continue  # "no data" and "error" alerts are about no record
        index, fingerprint = producers.get(alert.metric), alert.fingerprint  # the first entry producing it
        if index is not None and fingerprint not in seen:
            seen.add(fingerprint)
            wanted.setdefault(index, []).append(alert)
    if not wanted:
        return AlertItems({}, [])
    records = metric_records(records, workflow.production)
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
    measurement and reading (a brand's series read the competitors' records too), split once by
    each set of dimensions the alerts have, each alert's picked by its values."""
    base = metric_input(records, request.source_ids, all_periods, request.where, as_of)
    listed: dict[tuple[str, bool], "pl.DataFrame | None"] = {}
    split: dict[tuple[str, tuple[str, ...]], "dict[tuple[str, ...], pl.DataFrame] | None"] = {}
    found = {}
    for alert in alerts:
        names = tuple(sorted(name for name, value in alert.dimensions.items() if value is not None))
        of_brand = "brand" in names
        if (alert.metric, of_brand) not in listed:
            read = series_read(base, "brand" if of_brand else None, request.listen)
            listed[alert.metric, of_brand] = request.plugin.items(read, alert.metric)  # type: ignore[attr-defined]
        frame = listed[alert.metric, of_brand]
        if frame is None:
            continue
        if (alert.metric, names) not in split:
            split[alert.metric, names] = _by_series(frame, names)
        parts = split[alert.metric, names]
        if parts is None:  # the items cannot tell the series apart: no list, rather than a wrong one
            continue
        part = parts.get(tuple(str(alert.dimensions[name]) for name in names))
        rows = part.iter_rows(named=True) if part is not None else ()
        found[alert.fingerprint] = tuple(AlertItem(**{c: row.get(c) for c in ITEM_COLUMNS}) for row in rows)
    return found


def _by_series(frame: "pl.DataFrame", names: tuple[str, ...]) -> "dict[tuple[str, ...], pl.DataFrame] | None":
    """``frame``'s rows by their values of the dimensions ``names`` (as text; a mention naming
    two brands in each one's), as :func:`~cmflow.stages.measure.series_condition` selects a
    client's or a brand's; None when ``frame`` lacks one of the dimensions."""
    import polars as pl

    columns = [SERIES_COLUMNS.get(name, name) for name in names]
    if any(column not in frame.columns for column in columns):
        return None
    frame = frame.sort("at", nulls_last=True, maintain_order=True)  # each part oldest first
    if not names:
        return {(): frame}
    if BRANDS_COLUMN in columns:
        frame = frame.explode(BRANDS_COLUMN)  # a brand's series: the mentions naming it (series_condition)
    keys = frame.select(pl.col(c).cast(pl.String).alias(f"_{n}") for n, c in zip(names, columns))
    parts = pl.concat([frame, keys], how="horizontal").partition_by([f"_{n}" for n in names], as_dict=True,
                                                                   maintain_order=True)
    return {tuple(str(v) for v in key): part for key, part in parts.items()}
