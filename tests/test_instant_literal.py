"""``cmflow.instant_literal``: ``pl.lit`` of an instant, made once per process."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import polars as pl

from cmflow import instant_literal


def test_it_is_the_literal_pl_lit_makes_and_is_made_once() -> None:
    at = datetime(2026, 12, 8, 9, 30, tzinfo=timezone.utc)
    assert instant_literal(at).meta.eq(pl.lit(at))
    assert instant_literal(datetime(2026, 12, 8, 9, 30, tzinfo=timezone.utc)) is instant_literal(at)
    assert instant_literal(date(2026, 12, 8)).meta.eq(pl.lit(date(2026, 12, 8)))


def test_one_instant_in_two_time_zones_is_two_literals() -> None:
    """Equal datetimes (one instant) of two zones hash alike: the cache must not give the first's
    zone to the second (a comparison with a column of the other zone would then fail)."""
    utc = datetime(2026, 12, 8, 8, 0, tzinfo=timezone.utc)
    paris = utc.astimezone(ZoneInfo("Europe/Paris"))
    assert utc == paris
    assert pl.select(instant_literal(utc)).dtypes == [pl.Datetime("us", "UTC")]
    # made for UTC first: a column of Paris times is still compared with a Paris literal
    frame = pl.DataFrame({"at": [paris + timedelta(minutes=1)]})
    assert frame.select(pl.col("at") > instant_literal(paris)).item()
    assert pl.select(instant_literal(paris)).dtypes == pl.select(pl.lit(paris)).dtypes == [pl.Datetime("us", "Europe/Paris")]
