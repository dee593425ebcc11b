#!/usr/bin/env python3
"""What do the effort metrics cost on an agency's year of time tracking?

Why: ``average_task_time`` groups entries into tasks before averaging and ``production_cost``
prices every entry by its person's rate; both should cost about what the same figures cost
written by hand in Polars, not a pass per breakdown or a Python loop per entry.

What it does: builds, from a fixed seed, N time entries of 2025 (200 people with a rate each,
300 campaigns, 20,000 task descriptions, 5 % of entries without one) shaped as the fetch stage
hands them over, and times, in one process, median of ``--runs``, for the 12 months of 2025:

- **reference**: hours, average task time and cost per month and campaign, written by hand in
  Polars (one lazy query each, collected together);
- **cmflow**: :func:`cmflow.stages.measure.measure` with ``hours_spent``, ``average_task_time``
  and ``production_cost``, ``by = ["campaign"]``.

It prints both times and their ratio, and checks that every figure of cmflow equals the
reference's (exit 1 otherwise).

Run: ``python benchmarks/effort_metrics.py`` (``--entries 1000000 --runs 3``).
"""

from __future__ import annotations

import argparse
import sys
from calendar import monthrange
from datetime import date

import polars as pl

from timing import timed  # benchmarks/timing.py, beside this script
from cmflow import Period
from cmflow.builtin.metrics.effort import AverageTaskTime, HoursSpent, ProductionCost
from cmflow.foundation.production import Production
from cmflow.stages.measure import MetricRequest, measure

MONTHS = [Period(date(2025, m, 1), date(2025, m, monthrange(2025, m)[1]), "UTC", label=f"m{m:02d}")
          for m in range(1, 13)]
PEOPLE = [f"person-{i}" for i in range(200)]
PRODUCTION = Production(rates={person: 30 + i % 40 for i, person in enumerate(PEOPLE)})


def entries(n: int, seed: int = 11) -> pl.DataFrame:
    """N time entries from a fixed seed (integer mixing in Polars expressions, the same on every machine)."""
    index = pl.int_range(0, n, dtype=pl.Int64)

    def mixed(salt: int) -> pl.Expr:
        x = (index * 2654435761 + seed * 40503 + salt * 97) % (1 << 32)
        x = ((x.xor(x // (1 << 13))) * 1274126177) % (1 << 32)
        return (x.xor(x // (1 << 16)) * 2246822519) % (1 << 32)

    task = mixed(3) % 20_000
    return pl.select(
        (pl.lit(date(2025, 1, 1)) + pl.duration(days=mixed(1) % 365)).alias("date"),
        ((mixed(2) % 32 + 1) / 8).alias("hours"),  # 0.125 h to 4 h
        pl.when(mixed(4) % 20 > 0).then(pl.format("Task {}", task)).alias("task"),
        pl.lit(["blog article", "short video", "visual", "moderation"]).list.get(task % 4).alias("task_type"),
        pl.format("person-{}", mixed(5) % len(PEOPLE)).alias("person"),
        pl.format("campaign-{}", task % 300).alias("campaign"),
        pl.format("client-{}", task % 30).alias("client"),
        pl.lit(None, dtype=pl.Float64).alias("cost"),
        pl.lit("time").alias("source_id"),
    )


def reference(frame: pl.DataFrame) -> pl.DataFrame:
    """The three figures per month and campaign, by hand: (metric, period, campaign, value)."""
    bounds = pl.DataFrame({"period": [p.label for p in MONTHS], "start": [p.start for p in MONTHS],
                           "end": [p.end for p in MONTHS]})
    rates = pl.DataFrame({"person": list(PRODUCTION.rates), "rate": [float(r) for r in PRODUCTION.rates.values()]})
    lazy = (frame.lazy().join_where(bounds.lazy(), pl.col("date") >= pl.col("start"), pl.col("date") <= pl.col("end"))
            .with_columns(pl.col("campaign").fill_null("(none)")))
    hours = lazy.group_by("period", "campaign").agg(pl.col("hours").sum().alias("value"))
    cost = (lazy.join(rates.lazy(), on="person", how="left").group_by("period", "campaign")
            .agg((pl.col("hours") * pl.col("rate")).sum().alias("value")))
    untitled = pl.col("task").is_null()
    tasks = (lazy.with_columns(pl.when(untitled).then(pl.int_range(pl.len())).alias("_entry"),
                               pl.col("task").str.strip_chars().str.to_lowercase())
             .group_by("period", "task", "_entry", "task_type", "campaign", "client").agg(pl.col("hours").sum()))
    average = tasks.group_by("period", "campaign").agg((pl.col("hours").sum() / pl.len()).alias("value"))
    parts = pl.collect_all([hours, average, cost])
    return pl.concat([part.with_columns(pl.lit(name).alias("metric")) for name, part in
                      zip(("hours_spent", "average_task_time", "production_cost"), parts)]).select(
        "metric", "period", "campaign", "value")


def with_cmflow(frame: pl.DataFrame) -> pl.DataFrame:
    requests = [MetricRequest(cls(cls.Options(), entry_id=cls.name), ["campaign"], ["time"], production=PRODUCTION)
                for cls in (HoursSpent, AverageTaskTime, ProductionCost)]
    measured = measure(requests, {"time_entry": frame}, MONTHS)
    failed = [report.error for report in measured.reports if not report.ok]
    if failed:
        raise SystemExit(f"a metric failed: {failed}")
    return measured.measurements.filter(pl.col("value").is_not_null()).select("metric", "period", "campaign", "value")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=300_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    frame = entries(args.entries)
    reference_time, expected = timed(lambda: reference(frame), args.runs)
    cmflow_time, got = timed(lambda: with_cmflow(frame), args.runs)
    print(f"{args.entries:,} time entries, 12 months, by campaign, median of {args.runs}")
    print(f"  reference (hand-written Polars) {reference_time:8.3f} s")
    print(f"  cmflow (measure stage)          {cmflow_time:8.3f} s   x{cmflow_time / reference_time:.2f}")
    keys = ["metric", "period", "campaign"]
    joined = expected.join(got, on=keys, how="full", coalesce=True, suffix="_cmflow")
    wrong = joined.filter(((pl.col("value") - pl.col("value_cmflow")).abs() > 1e-6)
                          | pl.col("value").is_null() | pl.col("value_cmflow").is_null())
    if wrong.height:
        print(f"FAIL: {wrong.height} figures differ, e.g.\n{wrong.head(5)}")
        return 1
    print(f"  the {expected.height:,} figures agree")
    return 0


if __name__ == "__main__":
    sys.exit(main())
