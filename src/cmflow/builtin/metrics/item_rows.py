"""The records behind a metric's figure as an alert lists them (:class:`cmflow.ListsItems`):
what the built-in metrics that list items (negative mentions and comments, the response-time
backlog) share.

A module of helpers, not a plugin: plugins import it, never each other.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import polars as pl


def item_rows(frame: "pl.LazyFrame", time_field: str) -> "pl.DataFrame":
    """``frame``'s records as the items an alert lists (:class:`cmflow.ListsItems`): ``at`` (their
    ``time_field``), ``author``, ``platform``, ``text``, ``url`` (null where the kind has none) and
    their dimension columns, as text."""
    import polars as pl

    names = frame.collect_schema().names()
    dims = [c for c in ("account", "client", "brands", "post_id", "format", "pillar", "campaign")
            if c in names and c != "platform"]
    return frame.select(
        pl.col(time_field).alias("at"),
        *[(pl.col(c).cast(pl.String) if c in names else pl.lit(None, dtype=pl.String)).alias(c)
          for c in ("author", "platform", "text", "url")],
        *[pl.col(c) if c == "brands" else pl.col(c).cast(pl.String) for c in dims]).collect()
