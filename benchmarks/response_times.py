#!/usr/bin/env python3
"""What does counting response times in business hours cost?

Why: the ``response_times`` metric counts each conversation's wait in the team's opening hours
(weekday ranges, public holidays, DST), which no single Polars expression does. cmflow builds
the open intervals once and places every instant on them with one as-of join
(:func:`cmflow.business_seconds`), so a year of an agency's messages should cost about what the
wall-clock figures cost, not a Python loop per message.

What it does: builds, from a fixed seed, N conversation records of 1,000 accounts over 2025
(received at any hour, 85 % answered after 1 minute to 3 days) shaped as the fetch stage hands
them over, and times, in one process, median of ``--runs``:

- **reference**: the wall-clock figures per account (median, 90th percentile, share within a 2h
  SLA, unanswered past it) written by hand in Polars;
- **wall**: :func:`cmflow.stages.measure.measure` with ``response_times`` and ``clock = "wall"``;
- **business**: the same with ``clock = "business"`` (Monday to Friday 09:00-12:30 and
  13:30-18:00 in Paris, French holidays);
- **loop**: :func:`cmflow.business_time_between` called per message, on a sample of 2,000
  (the per-message way), extrapolated to N.

It prints each time, the ratios wall / reference and business / wall, and checks that the
wall figures equal the reference's and that the business seconds of the sample equal the
loop's (exit 1 otherwise).

Run: ``python benchmarks/response_times.py`` (``--records 1000000 --runs 5``).
"""

from __future__ import annotations

import argparse
import sys
from datetime import date, datetime, timedelta, timezone

import polars as pl

from timing import timed  # benchmarks/timing.py, beside this script
from cmflow import Period, ServiceHours, business_seconds, business_time_between
from cmflow.builtin.metrics.response_times import ResponseTimes
from cmflow.stages.measure import MetricRequest, measure

UTC = pl.Datetime("us", "UTC")
YEAR = Period(date(2025, 1, 1), date(2025, 12, 31), "Europe/Paris")
AS_OF = datetime(2026, 1, 2, 9, tzinfo=timezone.utc)
HOURS = {"opening": {"mon-fri": ["09:00-12:30", "13:30-18:00"]}, "holidays": "FR"}


def conversations(n: int, seed: int = 7) -> pl.DataFrame:
    """N conversations from a fixed seed (integer mixing in Polars expressions, the same on every machine)."""
    index = pl.int_range(0, n, dtype=pl.Int64)

    def mixed(salt: int) -> pl.Expr:
        """A 32-bit mix of the row index (products stay under 2^63: no overflow)."""
        x = (index * 2654435761 + seed * 40503 + salt * 97) % (1 << 32)
        x = ((x.xor(x // (1 << 13))) * 1274126177) % (1 << 32)
        return (x.xor(x // (1 << 16)) * 2246822519) % (1 << 32)

    start = int(datetime(2025, 1, 1, tzinfo=timezone.utc).timestamp() * 1e6)
    year_us = 365 * 86400 * 10**6
    return pl.select(
        pl.lit("instagram").alias("platform"),
        ("acct" + (mixed(1) % 1000).cast(pl.String)).alias("account"),
        ("m" + index.cast(pl.String)).alias("message_id"),
        (pl.lit(start) + (mixed(2) * 8192 + mixed(5) % 8192) % year_us).cast(UTC).alias("received_at"),
        (mixed(3) % 100).alias("_answered"),
        (60 + mixed(4) % (3 * 86400)).alias("_delay_s"),
    ).with_columns(
        pl.when(pl.col("_answered") < 85)
        .then(pl.col("received_at") + pl.duration(seconds=pl.col("_delay_s"))).otherwise(None)
        .cast(UTC).alias("replied_at"),
        pl.lit("bench").alias("source_id"),
    ).drop("_answered", "_delay_s")


def reference(frame: pl.DataFrame, sla_s: float) -> pl.DataFrame:
    """The wall-clock figures per account, by hand in Polars."""
    as_of = pl.lit(AS_OF, dtype=UTC)
    answered = pl.col("replied_at").is_not_null() & (pl.col("replied_at") <= as_of)
    until = pl.when(answered).then(pl.col("replied_at")).otherwise(as_of)
    waited = (until - pl.col("received_at")).dt.total_microseconds() / 1e6
    in_year = pl.col("received_at").is_between(pl.lit(YEAR.start_utc, dtype=UTC), pl.lit(YEAR.end_utc, dtype=UTC),
                                               closed="left")  # received in 2025, Paris time
    rows = frame.filter(in_year & ~(answered & (pl.col("replied_at") < pl.col("received_at")))).with_columns(
        answered.alias("answered"), waited.alias("waited"))
    minutes = pl.when(pl.col("answered")).then(pl.col("waited") / 60)
    late = pl.col("waited") > sla_s
    # The backlog: whatever period they came in, received in the 14 days (the metric's default
    # `backlog`) up to the as-of time and still waiting past the SLA at it.
    backlog = frame.filter((pl.col("received_at") > pl.lit(AS_OF - timedelta(days=14), dtype=UTC))
                           & (pl.col("received_at") <= as_of) & ~answered & (waited > sla_s)
                           ).group_by("platform", "account").agg(pl.len().alias("_backlog"))
    return rows.group_by("platform", "account").agg(
        minutes.median().alias("wall_response_time_median"),
        minutes.quantile(0.9, interpolation="linear").alias("wall_response_time_p90"),
        ((pl.col("answered") & ~late).sum() / late.sum().add((pl.col("answered") & ~late).sum()) * 100)
        .alias("wall_answered_within_sla"),
    ).join(backlog, on=["platform", "account"], how="left").with_columns(
        pl.col("_backlog").fill_null(0).cast(pl.Float64).alias("wall_unanswered_over_sla")).drop("_backlog"
    ).unpivot(index=["platform", "account"], variable_name="metric").sort("metric", "account")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    frame = conversations(args.records)
    print(f"{frame.height:,} conversations of {frame['account'].n_unique():,} accounts over {YEAR}; "
          f"median of {args.runs} runs")

    def metric(clock: str) -> pl.DataFrame:
        plugin = ResponseTimes(ResponseTimes.Options(sla="2h", clock=clock, hours=HOURS), entry_id="bench")
        measured = measure([MetricRequest(plugin, ["account"], ["bench"])], {"conversation": frame}, [YEAR],
                           as_of=AS_OF)
        assert all(report.ok for report in measured.reports), [r.error for r in measured.reports]
        return measured.measurements

    t_ref, expected = timed(lambda: reference(frame, 7200.0), args.runs)
    t_wall, wall = timed(lambda: metric("wall"), args.runs)
    t_business, _ = timed(lambda: metric("business"), args.runs)

    sample = frame.head(2000)
    hours = ServiceHours(**HOURS)
    ends = sample.select(pl.coalesce(pl.when(pl.col("replied_at") <= AS_OF).then("replied_at"),
                                     pl.lit(AS_OF, dtype=UTC)).alias("end"))["end"]
    t_loop, looped = timed(lambda: [business_time_between(hours, "Europe/Paris", s, e).total_seconds()
                                    for s, e in zip(sample["received_at"], ends)], 1)
    vectorised = business_seconds(hours, "Europe/Paris", sample["received_at"], ends).to_list()
    t_loop_all = t_loop / sample.height * frame.height

    print(f"{'reference (wall clock, by hand in Polars)':<46} {t_ref:8.3f} s")
    print(f"{'response_times, clock = wall':<46} {t_wall:8.3f} s   {t_wall / t_ref:5.2f}x the reference")
    print(f"{'response_times, clock = business':<46} {t_business:8.3f} s   {t_business / t_wall:5.2f}x wall")
    print(f"{'business_time_between per message (sample)':<46} {t_loop_all:8.1f} s   "
          f"{t_loop_all / t_business:5.0f}x business (extrapolated from {sample.height:,})")

    got = wall.select("account", "metric", "value").sort("metric", "account")
    mismatch = got.join(expected, on=["account", "metric"], how="full", coalesce=True).filter(
        ((pl.col("value") - pl.col("value_right")).abs() > 1e-9) | (pl.col("value").is_null() != pl.col("value_right").is_null()))
    failures = []
    if got.height != expected.height or mismatch.height:
        failures.append(f"wall figures differ from the reference on {mismatch.height} rows")
    if any(abs(a - b) > 1e-6 for a, b in zip(vectorised, looped)):
        failures.append("business_seconds differs from business_time_between on the sample")
    for failure in failures:
        print("FAIL:", failure)
    print("check: wall figures equal the reference's; vectorised business seconds equal the loop's"
          if not failures else "")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
