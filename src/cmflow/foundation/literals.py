"""Polars literals of instants, cached per process (the last 4,096).

``pl.lit(datetime)`` (and a comparison of a column with a Python ``datetime``, which makes one)
runs an eager Polars query to set the literal's time zone: about a third of a millisecond, more
than a small run's comparison itself. A run compares its records with the same few period bounds
many times, and a daemon's runs of one slot share them: :func:`instant_literal` makes each literal once
while it is among the last 4,096 asked for (a bounded cache: a daemon's long life keeps no more).
"""

from __future__ import annotations

import functools
from datetime import date, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import polars as pl


def instant_literal(value: "datetime | date") -> "pl.Expr":
    """``pl.lit(value)``, the same literal, made once per instant, time zone and fold; a date's
    (which needs no query) as it comes."""
    import polars as pl

    if not isinstance(value, datetime):
        return pl.lit(value)
    # Equal instants in two time zones are two literals (their dtypes differ): the zone is in the key.
    return _instant(value, None if value.tzinfo is None else str(value.tzinfo), value.fold)


@functools.lru_cache(maxsize=4096)
def _instant(value: datetime, zone: "str | None", fold: int) -> "pl.Expr":
    import polars as pl

    return pl.lit(value)
