#!/usr/bin/env python3
"""What does the watch stage cost per mention?

Why: a listening workflow hands every mention its sources found (a search, alert feeds, a
monitoring tool's export of a year) to the watch stage, which folds each text (case, accents),
matches every brand's terms on word boundaries, drops the exclusions and merges the copies
across sources. It should not be what makes a run slow.

What it does: builds, from a fixed seed, N mention records shaped as the fetch stage hands them
over (conformed columns plus ``source_id``; texts of 4 to 12 words mixing the brands' names with
and without accents, hashtags, handles, the exclusion; one in 10 a copy of another from a second
source, by link or by author and text), and times, in one process, median of ``--runs``:

- **stage**: :func:`cmflow.stages.watch.watch` with a ``[listen]`` of a brand (3 terms) and a
  competitor, one exclusion;
- **per-text matcher**: the same labels from Python's ``re`` text by text (the stage's first
  implementation: ``folded_text`` then one compiled pattern per brand), the reference;
- **plain contains**: Polars ``str.contains`` of the same patterns on the raw texts, without
  folding or merging: the floor of any vectorised matcher.

It prints mentions per second and the ratios, and checks that the stage's labels are the
per-text matcher's (exit 1 otherwise).

Run: ``python benchmarks/watch_stage.py`` (``--records 200000 --runs 5``).
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass

import polars as pl

from timing import timed  # benchmarks/timing.py, beside this script
from cmflow import RecordTable
from cmflow.foundation.listening import Listen, WatchedBrand, folded_text, term_pattern
from cmflow.stages.fetch import Fetched
from cmflow.stages.watch import watch

WORDS = ("maison", "lumière", "Lumiere", "atelier", "nuit", "#MaisonLumiere", "@maisonlumiere.bsky.social",
         "super", "bûche", "du", "jour", "la", "MAISON", "LUMIÈRE", "Noël", "top", "#noel", "vs", "Atelier Nuit")
LISTEN = Listen((WatchedBrand("lumiere", "Maison Lumière", ("Maison Lumière", "#BougieLumiere", "@maisonlumiere")),
                 WatchedBrand("nuit", "Atelier Nuit", ("Atelier Nuit",))), ("lumière du jour",))


@dataclass
class _Workflow:
    listen: Listen


def mentions(count: int) -> pl.DataFrame:
    """``count`` mentions from a fixed seed; one in 10 repeats the one before it from a second
    source (the same link every other time, else the same author and text)."""
    frame = pl.DataFrame({"i": pl.int_range(0, count, eager=True)}).with_columns(
        (pl.col("i") * 2654435761 % 4294967296).alias("hash"))
    words = [(pl.col("hash") // len(WORDS) ** k % len(WORDS)).replace_strict(dict(enumerate(WORDS)),
                                                                           return_dtype=pl.String)
             for k in range(6)]
    copy = pl.col("i") % 10 == 9
    of = pl.when(copy).then(pl.col("i") - 1).otherwise(pl.col("i"))
    rows = frame.select(
        pl.lit("x").alias("platform"), pl.format("m{}", "i").alias("mention_id"),
        (pl.datetime(2026, 11, 16, time_zone="UTC") + pl.duration(seconds=of * 7)).alias("published_at"),
        pl.format("a{}", of).alias("author"),
        pl.concat_str([w.shift(0) for w in words[: 4]] + [pl.when(pl.col("hash") % 3 == 0).then(words[4])],
                      separator=" ", ignore_nulls=True).alias("_own"),
        pl.when(copy & (pl.col("i") % 20 == 19)).then(None).otherwise(pl.format("https://ex.org/p/{}", of)).alias("url"),
        pl.when(copy).then(pl.lit("copy")).otherwise(pl.lit("main")).alias("source_id"), copy.alias("_copy"))
    rows = rows.with_columns(pl.when(pl.col("_copy")).then(pl.col("_own").shift(1)).otherwise(pl.col("_own"))
                             .alias("text")).drop("_own", "_copy")
    sources = rows["source_id"]
    return RecordTable("mention", rows.drop("source_id")).conformed().with_columns(sources)


def per_text(texts: list[str | None]) -> list[list[str]]:
    """The labels, text by text, with Python's re (the stage's first implementation)."""
    patterns = [(b.id, re.compile(b.pattern)) for b in LISTEN.brands]
    return [[brand for brand, pattern in patterns if text and pattern.search(folded_text(text))] for text in texts]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    records = mentions(args.records)
    fetched = Fetched({"mention": records}, [], [])
    workflow = _Workflow(LISTEN)
    texts = records["text"].to_list()
    patterns = [term_pattern(b.terms) for b in LISTEN.brands]

    stage = timed(lambda: watch(workflow, fetched), args.runs)[0]
    python = timed(lambda: per_text(texts), args.runs)[0]
    plain = timed(lambda: [records["text"].str.contains(p) for p in patterns], args.runs)[0]

    watched = watch(workflow, fetched)
    print(f"{records.height:,} mentions, median of {args.runs} runs; the stage: {'; '.join(r.note for r in watched.reports)}")
    print(f"{'':<18} {'mentions/s':>12} {'seconds':>9} {'/ stage':>8}")
    for name, seconds in (("stage", stage), ("per-text matcher", python), ("plain contains", plain)):
        print(f"{name:<18} {records.height / seconds:>12,.0f} {seconds:>9.3f} {seconds / stage:>8.2f}")

    expected = per_text(texts)
    labelled = LISTEN.brands_named(records["text"]).to_list()
    if labelled != expected:
        wrong = sum(a != b for a, b in zip(labelled, expected))
        print(f"✗ the stage labels {wrong} texts otherwise than the per-text matcher", file=sys.stderr)
        return 1
    print("✓ the stage's labels are the per-text matcher's")
    return 0


if __name__ == "__main__":
    sys.exit(main())
