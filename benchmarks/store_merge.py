#!/usr/bin/env python3
"""Does merging a source's records into the record store stay linear in the number of records?

Why: an incremental source (an API) keeps its records in the store, run after run: a run
writes what it fetched (new records, and recent ones fetched again with newer figures) and
reads the rest of its window back. An agency's store holds millions of records; the cost per
record must not grow with them.

What it does, for each size (10,000, 100,000 and 1,000,000 posts by default; ``--sizes``), in
a fresh child process with a new SQLite store file (the store a run opens, WAL and all):

1. **new**: :func:`cmflow.stages.incremental.remember` of N posts the store does not hold
   (the records encoded, then upserted in the ``cached_records`` table, and the cursor moved);
2. **overlap**: ``remember`` of N more posts, half of them the same posts with new figures
   (the upsert replaces them) and half new ones;
3. **read back**: :func:`cmflow.stages.incremental.with_stored` over the whole window with
   N/10 posts just fetched, for a kind the platform shows only the latest of
   (``shows_latest_only``): the 1.5 N stored rows read back and merged with them, the newest
   figures winning;
4. **asked again**: ``with_stored`` when the source was asked for the whole window again (the
   common case: a window within ``look_back``): the fetch is trusted and the store not read.
   The last line prints its time over read back's, measured side by side.

It prints, per size, each step's time per record (microseconds) and, last, each step's growth
of the time per record from the smallest size to each larger one: about 1.0 is linear; well
above it, something grows faster than the data (an index missing, a sort per row ...). It
checks that the store holds 1.5 N records and that the merged window holds the newest figures,
and exits 1 otherwise. Timings depend on the machine: compare the growth ratios, measured in
the same run.

Run: ``python benchmarks/store_merge.py`` (``--sizes 10000,100000`` for a quick look,
``--runs 3`` for the median of several runs).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

WINDOW = (datetime(2026, 1, 1, tzinfo=timezone.utc), datetime(2027, 1, 1, tzinfo=timezone.utc))
STEPS = ("new", "overlap", "read back", "asked again")


def posts(first: int, count: int, figures: int) -> Any:
    """``count`` canonical posts numbered from ``first``, spread over the window; ``figures``
    makes their counts differ from one write to the next."""
    import polars as pl

    from cmflow.foundation.records import POST, conform

    i = pl.int_range(first, first + count, eager=True)
    span = int((WINDOW[1] - WINDOW[0]).total_seconds()) - 1
    frame = pl.DataFrame({"_i": i}).select(
        pl.lit("instagram").alias("platform"),
        pl.format("brand{}", pl.col("_i") % 300).alias("account"),
        pl.format("p{}", pl.col("_i")).alias("post_id"),
        (pl.lit(WINDOW[0]) + pl.duration(seconds=(pl.col("_i") * 7919) % span)).alias("published_at"),
        pl.lit("image").alias("format"),
        pl.format("caption of post {}, with a few words as captions have", pl.col("_i")).alias("text"),
        ((pl.col("_i") * 31 + figures) % 5000).alias("likes"),
        ((pl.col("_i") * 17 + figures) % 90_000 + 5000).alias("reach"),
        ((pl.col("_i") * 13 + figures) % 200).alias("comments"))
    return conform(POST, frame)


def run_size(size: int, directory: Path) -> dict[str, Any]:
    """The three steps for ``size`` posts in a new store: seconds per step and the checks."""
    import polars as pl

    from cmflow.stages.incremental import FetchPlan, remember, with_stored
    from cmflow.store import open_store

    store = open_store(f"sqlite:///{directory / f'store-{size}.db'}")
    key = "bench/posts/0000000000000000"
    now = WINDOW[1]
    timings = {}

    first = posts(0, size, figures=1)
    plan = FetchPlan(key, WINDOW[0], WINDOW[1], [WINDOW], None, {"post": first})
    started = time.perf_counter()
    remember(store, plan, now, None)
    timings["new"] = time.perf_counter() - started

    half = size // 2
    second = pl.concat([posts(half, half, figures=2), posts(size, size - half, figures=2)])
    plan = FetchPlan(key, WINDOW[0], WINDOW[1], [WINDOW], store.source_cursor(key), {"post": second})
    started = time.perf_counter()
    remember(store, plan, now, None)
    timings["overlap"] = time.perf_counter() - started

    fetched = posts(size - size // 10, size // 10, figures=3)  # the newest tenth, fetched again
    plan = FetchPlan(key, WINDOW[0], WINDOW[1], [(WINDOW[1] - timedelta(days=28), WINDOW[1])], store.source_cursor(key),
                     latest_only=frozenset({"post"}))
    started = time.perf_counter()
    window = with_stored(store, plan, "post", fetched)
    timings["read back"] = time.perf_counter() - started

    again = FetchPlan(key, WINDOW[0], WINDOW[1], [WINDOW], store.source_cursor(key))
    started = time.perf_counter()
    trusted = with_stored(store, again, "post", fetched)
    timings["asked again"] = time.perf_counter() - started

    expected = size + (size - half)
    likes = dict(zip(*window.select("post_id", "likes").get_columns()))
    checks = {"records": window.height == expected,
              "newest figures": (likes[f"p{size - 1}"] == ((size - 1) * 31 + 3) % 5000
                                 and likes[f"p{half}"] == (half * 31 + 2) % 5000
                                 and likes["p0"] == 1 % 5000),
              "asked again is the fetch": trusted is not None and trusted.height == fetched.height}
    return {"size": size, "seconds": timings, "checks": checks}


def parent_main(args: argparse.Namespace) -> int:
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}; median of {args.runs} run(s), "
          "each size in a fresh process with a new SQLite store\n")
    print(f"{'posts':>10}  " + "  ".join(f"{step:>16}" for step in STEPS) + "   (microseconds per record)")
    per_record: dict[int, dict[str, float]] = {}
    failed = False
    with tempfile.TemporaryDirectory(prefix="cmflow-store-merge-") as directory:
        for size in sizes:
            runs = []
            for _ in range(args.runs):
                command = [sys.executable, __file__, "--child", str(size), "--directory", directory]
                output = subprocess.run(command, check=True, stdout=subprocess.PIPE,
                                        env={**os.environ, "CMFLOW_LOAD_PLUGINS": ""}).stdout
                runs.append(json.loads(output.decode().strip().splitlines()[-1]))
                for name in Path(directory).glob(f"store-{size}.db*"):
                    name.unlink()
            records = {"new": size, "overlap": size, "read back": size + (size - size // 2),
                       "asked again": size + (size - size // 2)}
            per_record[size] = {step: statistics.median(r["seconds"][step] for r in runs) / records[step] * 1e6
                                for step in STEPS}
            bad = sorted({name for r in runs for name, ok in r["checks"].items() if not ok})
            failed = failed or bool(bad)
            print(f"{size:>10,}  " + "  ".join(f"{per_record[size][step]:>14.2f}us" for step in STEPS)
                  + (f"   WRONG: {', '.join(bad)}" if bad else ""))
    smallest = sizes[0]
    print()
    for size in sizes:
        rows = size + (size - size // 2)
        again, back = (per_record[size][step] * rows / 1e6 for step in ("asked again", "read back"))
        print(f"{size:,} posts: a window asked again takes {again:.4f} s, one read back from the store "
              f"{back:.2f} s ({again / back:.4f}x)")
    for size in sizes[1:]:
        growth = {step: per_record[size][step] / per_record[smallest][step] for step in STEPS}
        verdict = "linear" if max(growth.values()) <= args.linear else "GROWS FASTER than the data"
        print(f"time per record at {size:,} over {smallest:,}: "
              + ", ".join(f"{step} {ratio:.2f}x" for step, ratio in growth.items())
              + f": {verdict} (linear: at most {args.linear:g}x)")
    return 1 if failed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000,1000000", help="posts per size, comma-separated")
    parser.add_argument("--runs", type=int, default=1, help="runs of each size (median shown)")
    parser.add_argument("--linear", type=float, default=1.5,
                        help="growth of the time per record still called linear (default 1.5x)")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)  # child mode: one size
    parser.add_argument("--directory", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_size(args.child, Path(args.directory))))
        return 0
    return parent_main(args)


if __name__ == "__main__":
    sys.exit(main())
