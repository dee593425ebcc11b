"""Measurement helpers: period labelling (both strategies), grouping sets, series keys."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import polars as pl

from cmflow.foundation.measurements import grouping_columns, label_periods, with_series_key
from cmflow.foundation.periods import Period


def weekly_periods(count: int) -> list[Period]:
    first = date(2026, 1, 5)  # a Monday
    return [Period(first + timedelta(weeks=i), first + timedelta(weeks=i, days=6), "Europe/Paris",
                   label=f"w{i}", unit="week") for i in range(count)]


def by_filters(frame: pl.DataFrame, column: str, periods: list[Period], by_date: bool) -> pl.DataFrame:
    """The obvious implementation: one filter per period."""
    parts = []
    for p in periods:
        col = pl.col(column)
        inside = (col >= p.start) & (col <= p.end) if by_date else (col >= p.start_utc) & (col < p.end_utc)
        parts.append(frame.filter(inside).with_columns(pl.lit(p.label).alias("period")))
    return pl.concat(parts)


def test_many_periods_label_rows_like_one_filter_per_period() -> None:
    """More than four disjoint periods take the binary-search path: same rows, same labels."""
    periods = weekly_periods(8)
    bounds = [p.start_utc for p in periods] + [p.end_utc for p in periods]
    instants = ([b for b in bounds] + [b - timedelta(microseconds=1) for b in bounds]
                + [periods[0].start_utc + timedelta(hours=7 * h) for h in range(200)] + [None])
    frame = pl.DataFrame({"id": range(len(instants)), "t": instants},
                         schema={"id": pl.Int64, "t": pl.Datetime("us", "UTC")})
    fast = label_periods(frame, "t", periods, by_date=False).collect().sort("id", "period")
    slow = by_filters(frame, "t", periods, by_date=False).sort("id", "period")
    assert fast.height > 100
    assert fast.equals(slow)


def test_many_periods_by_date_include_both_end_days() -> None:
    periods = weekly_periods(6)
    days = [periods[0].start - timedelta(days=1) + timedelta(days=i) for i in range(6 * 7 + 3)]
    frame = pl.DataFrame({"d": days + [None]}, schema={"d": pl.Date})
    fast = label_periods(frame, "d", periods, by_date=True).collect().sort("d")
    assert fast.height == 6 * 7  # the day before and the days after are in no period
    assert fast.equals(by_filters(frame, "d", periods, by_date=True).sort("d"))


def test_overlapping_periods_give_a_row_once_per_period() -> None:
    a = Period(date(2026, 1, 1), date(2026, 1, 10), "UTC", label="a")
    b = Period(date(2026, 1, 5), date(2026, 1, 20), "UTC", label="b")
    frame = pl.DataFrame({"t": [datetime(2026, 1, 7, tzinfo=timezone.utc)]})
    labels = label_periods(frame, "t", [a, b], by_date=False).collect()["period"].to_list()
    assert sorted(labels) == ["a", "b"]


def test_grouping_columns_expand_account_and_deduplicate() -> None:
    assert grouping_columns(["overall", "account", ["platform", "format"], "platform"]) == [
        (), ("platform", "account"), ("platform", "format"), ("platform",)]


def test_series_key_is_canonical_json_of_non_null_dimensions() -> None:
    frame = pl.DataFrame({"metric": ["m", "m"], "value": [1.0, 2.0], "account": ['a"b', None],
                          "platform": ["x", None]})
    keys = with_series_key(frame)["series_key"].to_list()
    assert keys == ['{"account":"a\\"b","platform":"x"}', "{}"]
