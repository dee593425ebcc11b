#!/usr/bin/env python3
"""How well does the ``anomaly`` trigger find spikes and dips, and how often does it cry wolf?

Why: a trigger that pages on noise is muted within a week, one that misses a bad buzz is
useless. This script measures both on synthetic daily series whose anomalies are known.

What it does:

1. Generates, from a fixed seed, daily series with a weekly cycle (weekdays busy, weekends
   30-40% quieter) and noise, for four kinds of accounts: a large account's reach (20,000 a day,
   8% noise), mentions of a mid-sized brand (Poisson, 40 a day), comments on a small account
   (Poisson, 3 a day) and an engagement rate (3.5% +- 0.25 pt). 10 series of each kind, 56 days
   of warm-up (the 8 weeks the default baseline reads) then 90 evaluated days.
2. Injects, in each series, 3 spikes (x2 to x3) and 3 dips (x0.3 to x0.5) on known days of
   the 90, at least 4 days apart. They stay in the data afterwards, as real ones would, and
   so enter the baseline of later days.
3. Evaluates the trigger day by day, every series at once, building the trigger's input as
   the runner does (``current`` and ``history-1`` .. ``history-56``): thresholds 3.0 to 5.0,
   the previous 14 days as baseline instead of the same weekday, and the defaults with a
   minimum change that suits the kind (``min_change`` / ``min_change_pct``). An alert on an
   injected day is a hit, any other alert a false alert.
4. Prints, per kind of series: recall of spikes and of dips, and false alerts per series per
   90 days. Figures are printed, not checked: this is a tool for choosing defaults.

Run: ``python benchmarks/anomaly_eval.py`` (``--seed`` for another draw, ``--series`` per kind).
"""

from __future__ import annotations

import argparse
import math
import random
import time
from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl

from cmflow import Period, TriggerInput
from cmflow.builtin.triggers.anomaly import Anomaly
from cmflow.foundation.measurements import with_series_key

WARM_UP = 56
EVALUATED = 90
FIRST_DAY = date(2026, 1, 5)  # a Monday
WEEKLY_PROFILE = (1.0, 1.05, 1.1, 1.05, 1.0, 0.7, 0.6)
SPIKES, DIPS = 3, 3


@dataclass(frozen=True)
class Kind:
    """A kind of series: how its daily values are drawn."""

    name: str
    metric: str
    unit: str
    level: float
    noise: str  # "relative" (gaussian, sd = spread x value), "poisson" or "absolute" (sd = spread)
    spread: float = 0.0
    guard: tuple[str, dict] = ("", {})
    """A minimum change that suits this kind of series, as a workflow would set it."""

    def draw(self, rng: random.Random, expected: float) -> float:
        if self.noise == "poisson":
            return float(poisson(rng, expected))
        if self.noise == "relative":
            return max(0.0, expected * (1 + rng.gauss(0, self.spread)))
        return max(0.0, expected + rng.gauss(0, self.spread))


KINDS = (
    Kind("large account reach", "total_reach", "count", 20_000, "relative", 0.08,
         ("min_change_pct 30", {"min_change_pct": 30})),
    Kind("brand mentions (~40/day)", "mentions", "mentions", 40, "poisson",
         guard=("min_change 15", {"min_change": 15})),
    Kind("small account comments (~3/day)", "total_comments", "count", 3, "poisson",
         guard=("min_change 5", {"min_change": 5})),
    Kind("engagement rate (~3.5%)", "engagement_rate_by_reach", "%", 3.5, "absolute", 0.25,
         ("min_change 1 (pt)", {"min_change": 1})),
)

SETTINGS = (
    ("same_weekday, threshold 3.0", {"threshold": 3.0}),
    ("same_weekday, threshold 3.5 (default)", {}),
    ("same_weekday, threshold 4.0", {"threshold": 4.0}),
    ("same_weekday, threshold 5.0", {"threshold": 5.0}),
    ("previous 14 days, threshold 3.5", {"baseline": "previous_periods", "periods": 14}),
)
"""Each kind is also evaluated with the defaults plus its own ``guard``."""


def poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method: fine for the small means drawn here."""
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def generate(kind: Kind, series: int, rng: random.Random) -> tuple[pl.DataFrame, set[tuple[str, int, str]]]:
    """Daily values of ``series`` accounts (columns account, day, value) and the injected
    anomalies as (account, day index, "spike" | "dip")."""
    rows, injected = [], set()
    days = WARM_UP + EVALUATED
    for number in range(series):
        account = f"{kind.name.split()[0]}-{number:02d}"
        level = kind.level * rng.uniform(0.7, 1.3)
        chosen: list[int] = []
        while len(chosen) < SPIKES + DIPS:
            day = rng.randrange(WARM_UP, days)
            if all(abs(day - other) >= 4 for other in chosen):
                chosen.append(day)
        effect = {day: ("spike", rng.uniform(2.0, 3.0)) for day in chosen[:SPIKES]}
        effect |= {day: ("dip", rng.uniform(0.3, 0.5)) for day in chosen[SPIKES:]}
        for day in range(days):
            expected = level * WEEKLY_PROFILE[(FIRST_DAY + timedelta(days=day)).weekday()]
            if day in effect:
                expected *= effect[day][1]
                injected.add((account, day, effect[day][0]))
            rows.append({"account": account, "day": day, "value": kind.draw(rng, expected)})
    frame = pl.DataFrame(rows).with_columns(
        pl.lit(kind.metric).alias("metric"), pl.lit(kind.unit).alias("unit"),
        pl.lit(None, dtype=pl.String).alias("reason"), pl.lit("instagram").alias("platform"))
    keys = with_series_key(frame.select("platform", "account").unique())  # not by day
    return frame.join(keys, on=["platform", "account"]), injected


def evaluate(trigger: Anomaly, frame: pl.DataFrame) -> set[tuple[str, int]]:
    """(account, day index) of every alert, evaluating each of the 90 days in turn."""
    needed = trigger.history_needed()
    alerts = set()
    for day in range(WARM_UP, WARM_UP + EVALUATED):
        back = pl.lit(day) - pl.col("day")
        window = frame.filter((pl.col("day") <= day) & (pl.col("day") >= day - needed)).with_columns(
            pl.when(back == 0).then(pl.lit("current"))
            .otherwise(pl.format("history-{}", back)).alias("period")).drop("day")
        today = FIRST_DAY + timedelta(days=day)
        data = TriggerInput(window.filter(pl.col("period") == "current"), window.head(0),
                            Period(today, today, "UTC"),
                            history=window.filter(pl.col("period") != "current"))
        alerts |= {(alert.dimensions["account"], day) for alert in trigger.evaluate(data)}
    return alerts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--series", type=int, default=10, help="series per kind (default 10)")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    started = time.perf_counter()
    print(f"{args.series} series per kind, {EVALUATED} days evaluated after {WARM_UP} days of "
          f"warm-up; {SPIKES} spikes (x2-x3) and {DIPS} dips (x0.3-x0.5) injected per series; "
          f"seed {args.seed}\n")
    evaluations = 0
    for kind in KINDS:
        frame, injected = generate(kind, args.series, rng)
        spikes = {(a, d) for a, d, what in injected if what == "spike"}
        dips = {(a, d) for a, d, what in injected if what == "dip"}
        print(f"## {kind.name} ({kind.metric})")
        print(f"{'setting':<40} {'spikes found':>13} {'dips found':>11} {'false alerts / series / 90 d':>30}")
        guarded = (f"same_weekday, 3.5, {kind.guard[0]}", kind.guard[1])
        for label, options in (*SETTINGS, guarded):
            alerts = evaluate(Anomaly(Anomaly.Options(**options), entry_id="eval"), frame)
            evaluations += EVALUATED
            false = len(alerts - spikes - dips)
            print(f"{label:<40} {len(alerts & spikes) / len(spikes):>12.0%} "
                  f"{len(alerts & dips) / len(dips):>11.0%} "
                  f"{false / args.series * 90 / EVALUATED:>30.2f}")
        print()
    print(f"{evaluations} trigger evaluations of {args.series} series each in "
          f"{time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
