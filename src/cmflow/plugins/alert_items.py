"""The capability of a metric that can list the records behind its figure: an escalation (an
unanswered negative message past its wait, a burst of negative mentions) then names them in its
e-mail and chat messages instead of a bare count.

A metric subclasses :class:`ListsItems` beside :class:`cmflow.Metric`; the ``alert_items``
stage (:mod:`cmflow.stages.alert_items`) asks it for the records behind each announced alert on
one of its measurements and keeps those of the alert's series.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from cmflow.foundation.alerts import AlertItem

if TYPE_CHECKING:
    import polars as pl

    from cmflow.plugins.context import MetricInput

ITEM_COLUMNS: tuple[str, ...] = tuple(field.name for field in dataclasses.fields(AlertItem))
"""The columns :meth:`ListsItems.items` returns besides the records' dimensions: the fields of
:class:`~cmflow.AlertItem` (``at``, ``author``, ``platform``, ``text``, ``url``)."""


class ListsItems:
    """A metric that can list the records behind its current figure."""

    def items(self, data: "MetricInput", measurement: str) -> "pl.DataFrame | None":
        """The records behind ``measurement``'s figures of the current period (``data.periods[0]``),
        one row each: :data:`ITEM_COLUMNS` (``at`` in UTC; any may be null) and the records'
        dimension columns they have (``platform``, ``account``, ``client``, ``brands`` ...), which
        the stage selects the alert's series by. None when ``measurement`` lists no records."""
        raise NotImplementedError
