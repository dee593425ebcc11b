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


def test_series_key_makes_categorical_dimensions_strings_once_per_combination() -> None:
    """Categorical dimensions (as metrics read them from records) come back as strings, with the
    keys their string values give; a dimension null on every row stays, as strings."""
    strings = pl.DataFrame({"metric": ["m"] * 4, "value": [1.0, 2.0, 3.0, 4.0],
                            "platform": ["x", "y", "x", None], "account": ["a", "b", "a", None],
                            "format": [None, None, None, None]},
                           schema_overrides={"format": pl.String})
    coded = strings.with_columns(pl.col("platform", "account").cast(pl.Categorical))
    keyed = with_series_key(coded)
    assert keyed.schema["platform"] == pl.String and keyed.schema["account"] == pl.String
    assert keyed.schema["format"] == pl.String
    assert keyed.columns == ["metric", "value", "platform", "account", "format", "series_key"]
    assert keyed["series_key"].to_list() == [
        '{"account":"a","platform":"x"}', '{"account":"b","platform":"y"}', '{"account":"a","platform":"x"}', "{}"]
    assert keyed.equals(with_series_key(strings))


def test_metrics_read_categorical_keys_and_the_stage_returns_strings() -> None:
    """A metric reads period, platform and account as Categorical (grouped by integer codes);
    the measurements the stage returns have them as strings, with each period's bounds."""
    from cmflow import Metric, MetricInput, aggregate, measurement_rows
    from cmflow.foundation.records import POST, conform
    from cmflow.stages.measure import MetricRequest, measure

    seen: dict[str, pl.DataType] = {}

    class Counted(Metric):
        name = "counted"
        unit = "posts"

        def compute(self, data: MetricInput) -> pl.DataFrame:
            posts = data.records["post"]
            seen.update({c: posts.collect_schema()[c] for c in ("period", "platform", "account")})
            rows = aggregate(posts, data.grouping_sets, [pl.len().alias("n")], periods=[p.label for p in data.periods])
            return measurement_rows(rows, metric="counted", unit="posts", value=pl.col("n").fill_null(0))

    periods = weekly_periods(6)
    at = [periods[0].start_utc, periods[0].start_utc + timedelta(days=1), periods[5].start_utc]
    posts = conform(POST, pl.DataFrame({"platform": ["x", "x", "y"], "account": ["a", "a", "b"],
                                        "post_id": ["1", "2", "3"], "published_at": at}))
    metric = Counted(Counted.Options(), entry_id="counted")
    measured = measure([MetricRequest(metric, ["account"], ["s"], "counted")],
                       {"post": posts.with_columns(source_id=pl.lit("s"))}, periods)
    assert seen == {"period": pl.Categorical, "platform": pl.Categorical, "account": pl.Categorical}
    frame = measured.measurements
    assert all(frame.schema[c] == pl.String for c in ("period", "platform", "account", "series_key"))
    rows = {(r["period"], r["platform"], r["account"]): (r["value"], r["period_start"])
            for r in frame.iter_rows(named=True)}
    assert len(rows) == 12  # two accounts in each of six weeks, posting or not
    assert rows[("w0", "x", "a")] == (2.0, periods[0].start)
    assert rows[("w5", "y", "b")] == (1.0, periods[5].start)
    assert rows[("w3", "x", "a")] == (0.0, periods[3].start)
