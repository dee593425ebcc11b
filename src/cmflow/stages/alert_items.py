"""The alert_items stage: the records behind each alert the run announces, for the messages of
an escalation (the negative messages still unanswered, the negative mentions of a bad buzz).

Takes the workflow, the records (as the metrics read them), the run's notifications, periods and
as-of instant; returns the items by alert fingerprint (:attr:`cmflow.RunResult.alert_items`),
oldest first. An alert gets items when the metric entry producing its measurement lists them
(:class:`cmflow.ListsItems`) and its series can be told from the records: the items are those
of the series' client or brand (as the measure stage reads them) and of its other dimensions
(platform, account ...). A resolved alert, a "no data" or "error" one, or one on a dimension
the records lack, gets none.
A metric whose listing fails is logged and gives none: the alert is still sent, as before.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from cmflow.foundation.alerts import VALUE, AlertItem
from cmflow.plugins.alert_items import ITEM_COLUMNS, ListsItems
from cmflow.stages.measure import MetricRequest, series_input

if TYPE_CHECKING:
    import polars as pl

    from cmflow.foundation.alerts import Notification
    from cmflow.foundation.periods import Period
    from cmflow.workflow import Workflow

log = logging.getLogger("cmflow")
SELECTED_BY_MEASURE = ("client", "brand")
"""Dimensions :func:`~cmflow.stages.measure.series_input` selects by."""


def alert_items(workflow: "Workflow", records: dict[str, "pl.DataFrame"], notifications: list["Notification"],
                all_periods: list["Period"], as_of: datetime | None = None) -> dict[str, tuple[AlertItem, ...]]:
    """The records behind each announced alert (see the module's docstring)."""
    requests = [r for r in MetricRequest.of(workflow) if isinstance(r.plugin, ListsItems)]
    found: dict[str, tuple[AlertItem, ...]] = {}
    for notification in notifications:
        alert = notification.alert
        if notification.event == "resolved" or alert.condition != VALUE or alert.fingerprint in found:
            continue  # "no data" and "error" alerts are about no record
        request = next((r for r in requests if alert.metric in r.plugin.produces()), None)
        if request is None:
            continue
        try:
            items = _items_of(request, alert.metric, alert.dimensions, records, all_periods, as_of)
        except Exception:  # the alert is worth sending without its list
            log.warning("the items behind alert %s (%s) could not be listed", alert.rule, alert.metric, exc_info=True)
            continue
        if items is not None:
            found[alert.fingerprint] = items
    return found


def _items_of(request: MetricRequest, measurement: str, dimensions: dict, records: dict[str, "pl.DataFrame"],
              all_periods: list["Period"], as_of: datetime | None) -> tuple[AlertItem, ...] | None:
    import polars as pl

    data = series_input(request, records, all_periods, dimensions, as_of=as_of)
    frame = request.plugin.items(data, measurement)  # type: ignore[attr-defined]
    if frame is None:
        return None
    for name, value in dimensions.items():
        if value is None or name in SELECTED_BY_MEASURE:
            continue
        if name not in frame.columns:  # a series the records cannot tell apart: no list, rather than a wrong one
            return None
        frame = frame.filter(pl.col(name).cast(pl.String) == str(value))
    frame = frame.sort("at", nulls_last=True)
    return tuple(AlertItem(**{c: row.get(c) for c in ITEM_COLUMNS}) for row in frame.iter_rows(named=True))
