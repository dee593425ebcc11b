#!/usr/bin/env python3
"""What does reading a small table cost: ``tabular.parse_records`` on a few rows?

Why: at a few rows a Polars query costs its plan, not its rows, and the test suite reads small
CSV files thousands of times. Two tables, each parsed ``--repeats`` times in a child process
per round (CPU per parse, and the Polars queries one parse runs: ``LazyFrame.collect``, the
collects of eager operations, ``pl.collect_all``):

- ``three_rows``: a 3-row post export with decimal "," and thousands "." (one reach of
  "1.200", which the quick check does not pass: that row goes through every check);
- ``year_less``: TikTok's follower history, 60 days written "September 24" (a date without
  a year, whose year comes from the file's order).

With ``--reference-src DIR`` (another checkout's ``src``) the same child runs in turn with
``PYTHONPATH=DIR``, and the median of each round's ratio is printed (CPU ratios measured side by
side hold on a loaded machine; wall times do not).

Run: ``.venv/bin/python benchmarks/small_parse.py --rounds 3 --reference-src /path/to/other/src``.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from datetime import date, timedelta
from pathlib import Path

from timing import PolarsQueries, child_figures, measured_in_turn, print_side_by_side  # benchmarks/timing.py


def tables() -> dict[str, tuple]:
    import polars as pl

    from cmflow.builtin.sources.csv_source import CsvSource

    posts = pl.DataFrame({"platform": ["ig"] * 3, "account": ["a"] * 3, "post_id": ["p1", "p2", "p3"],
                          "published_at": ["2026-11-17 10:00"] * 3, "likes": ["1", "2", "3"],
                          "reach": ["10", "1.200", "30"]})
    days = [(date(2026, 9, 24) + timedelta(days=i)).strftime("%B %d").replace(" 0", " ") for i in range(60)]
    followers = pl.DataFrame({"Date": days, "Followers": [str(12000 + 10 * i) for i in range(60)]})
    return {
        "three_rows": (posts, CsvSource.Options(path="f.csv", datetime_format="%Y-%m-%d %H:%M", decimal=",",
                                                thousands=".")),
        "year_less": (followers, CsvSource.Options(path="followers.csv", record="account_snapshot",
                                                   date_format="%B %d",
                                                   constants={"platform": "tiktok", "account": "lumen.paris"},
                                                   columns={"date": "Date", "followers": "Followers"})),
    }


def child(repeats: int) -> dict[str, float]:
    """One round in this interpreter (whichever cmflow its path finds)."""
    from cmflow import FetchContext, Period
    from cmflow.builtin.sources import tabular

    queries = PolarsQueries()
    period = Period(date(2026, 11, 16), date(2026, 11, 22), "Europe/Paris", unit="week")
    ctx = FetchContext(period.start_utc, period.end_utc, [period], Path("."), logging.getLogger("bench"), [])
    figures = {}
    for name, (raw, options) in tables().items():
        def parse():
            return tabular.parse_records(raw, options, ctx, Path(options.path), tabular.RowPlaces())
        parse()  # warm: imports, time zones
        queries.reset()
        parse()
        figures[f"{name}_queries"] = queries.total
        started = time.process_time()
        for _ in range(repeats):
            parse()
        figures[f"{name}_cpu_ms"] = (time.process_time() - started) / repeats * 1000
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=20, help="Parses of each table per round.")
    parser.add_argument("--reference-src", metavar="DIR", help="Another checkout's src, measured in turn.")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        print(json.dumps(child(options.repeats)))
        return 0
    trees = [("this", None)] + ([("reference", options.reference_src)] if options.reference_src else [])
    rounds = measured_in_turn(trees, options.rounds,
                              lambda _, src, __: child_figures(__file__, src, "--repeats", str(options.repeats)))
    print_side_by_side(rounds, [(key, key) for key in rounds["this"][0]], width=24, decimals=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
