#!/usr/bin/env python3
"""How fast do the ``csv``, ``export`` and ``json`` sources read a large export, next to Polars alone?

Why: an agency reads a year of exports for hundreds of accounts, and every value of every row
is checked (counts, dates, duplicates, totals rows, day/month order ...) so that a bad value is
named by line and column. Those checks must cost little next to reading the file at all.

What it does:

1. Generates, once, from a fixed seed, two exports of ``--rows`` posts (200,000 by default):
   - ``meta-posts.csv``: a Meta Business Suite Instagram export as described in EXPORTS.md
     (UTF-8 with a byte-order mark, 18 columns, header names quoted where they hold a space,
     captions quoted because they hold commas, some with doubled quotes and some spanning
     several lines, ``Publish time`` month-first without seconds);
   - ``posts.json``: the same posts as a JSON array in the Graph API's shape (``timestamp``
     with an offset, ``like_count`` ...);
   - ``snapshots.json``: a year of daily follower counts for 200 accounts (73,000 items), a JSON
     array of flat objects as the json source documents them (``date``, ``username``,
     ``followers_count``), whatever ``--rows`` says.
2. Times, each in a fresh child process, median of ``--runs``:
   - **cmflow**: the ``csv`` (``json``) source's ``fetch`` through a :class:`cmflow.FetchContext`
     for the year, as a run calls it, with the column mapping a user writes; and the ``export``
     source's on the same CSV (kind ``export``), which recognises it as Meta's Instagram export
     and maps it by itself;
   - **reference**: the same reading in hand-written Polars (``pl.read_csv(infer_schema=False)``
     / ``pl.read_json``, casts to integers, ``str.strptime`` of the one format, the time zone,
     the ``Post type`` mapping), without any of cmflow's checks.
   The snapshots' read time is also set against its target of 0.2 s (agency-scale issue), and
   measured once more in one child, interleaved round by round with two plain readings of the
   same file, each without a check: Polars (``pl.read_json``, ``strptime``, casts) and orjson
   (``orjson.loads``, columns built from the items, the same ``strptime`` and casts). CPU time
   (``time.process_time``, every thread of the process) and wall time, median of ``--runs``
   rounds (at least 5): on a loaded machine the CPU figures and their ratios are the ones to read.
   "read" is the reading alone (inside the child, after Polars is imported and, for cmflow,
   after a first fetch of a small export of the same kind: imports and first calls, which a
   run pays once, not per file); "process" is the child's whole life, interpreter start-up
   and imports included; "peak RSS" is the child's ``ru_maxrss`` (via ``os.wait4``).
3. Measures the peak memory of reading the CSV export over its size, for the regular file
   (split by Polars a chunk at a time) and for a copy with a blank line in its middle (read
   line by line), each implementation's peak RSS (the ``csv`` source, the ``export`` source,
   ``polars.read_csv``) less its peak on a 1,000-post export of the same shape (what start-up
   costs), against the target of at most 3x.
4. Checks that both read the same posts (row count, sums of the counts, first and last instant)
   and exits 1 when they disagree. The targets (cmflow/reference at most 2x in read time and
   peak RSS) are printed, not enforced: timings depend on the machine.

Run: ``python benchmarks/export_read.py`` (``--runs 5`` for steadier medians, ``--rows`` to scale,
``--kinds snapshots`` for one export alone; the snapshots are read three times as often).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

SEED = 20261118
TIMEZONE = "Europe/Paris"
PERIOD = ("2026-01-01", "2026-12-31")
CSV_HEADER = ["Post ID", "Account ID", "Account username", "Account name", "Description", "Duration (sec)",
              "Publish time", "Permalink", "Post type", "Data comment", "Date", "Views", "Reach", "Likes",
              "Shares", "Follows", "Comments", "Saves"]
CSV_COLUMNS = {"post_id": "Post ID", "account": "Account username", "text": "Description",
               "published_at": "Publish time", "url": "Permalink", "format": "Post type",
               "impressions": "Views", "reach": "Reach", "likes": "Likes", "shares": "Shares",
               "comments": "Comments", "saves": "Saves"}
POST_TYPES = {"IG image": "image", "IG reel": "reel", "IG carousel": "carousel"}
CSV_DATETIME_FORMAT = "%m/%d/%Y %H:%M"
JSON_COLUMNS = {"post_id": "id", "account": "username", "text": "caption", "published_at": "timestamp",
                "url": "permalink", "format": "media_product_type", "impressions": "views", "reach": "reach",
                "likes": "like_count", "shares": "shares", "comments": "comments_count", "saves": "saved"}
JSON_DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%S%z"
COUNTS = ["impressions", "reach", "likes", "shares", "comments", "saves"]
SNAPSHOT_ACCOUNTS, SNAPSHOT_DAYS = 200, 365
SNAPSHOT_COLUMNS = {"date": "date", "account": "username", "followers": "followers_count"}
WARM_UP_ROWS = 1_000
"""Posts in the small exports: read before the clock starts, and the memory figures' floor."""
SNAPSHOT_TARGET = 0.2
"""Seconds to read the 73,000 snapshots (agency-scale issue)."""
TARGET = 2.0
CSV_KINDS = ("csv", "export")
"""The sources reading the CSV export (the reference reads it alike for both)."""
MEMORY_TARGET = 3.0
"""Peak memory of reading a CSV export, at most this many times its size."""


# -- the data ---------------------------------------------------------------------------------
def _caption(rng: random.Random, number: int) -> str:
    words = ["new", "drop", "today", "Paris", "launch", "thanks", "team", "behind the scenes", "🎉", "café"]
    text = " ".join(rng.choice(words) for _ in range(rng.randint(3, 14)))
    if number % 3 == 0:
        text += ", link in bio"
    if number % 17 == 0:
        text = f'She said ""{text}"", then left'  # doubled quotes inside the quoted caption
    if number % 29 == 0:
        text += "\n#paris #launch\n"  # a caption spanning several lines
    return text


def generate(data_dir: Path, rows: int, regenerate: bool) -> tuple[Path, Path]:
    """Write the CSV and JSON exports of ``rows`` posts, unless already there for this size."""
    csv_path, json_path = data_dir / f"meta-posts-{rows}.csv", data_dir / f"posts-{rows}.json"
    if csv_path.exists() and json_path.exists() and irregular_copy(csv_path).exists() \
            and snapshots_path(data_dir).exists() and not regenerate:
        return csv_path, json_path
    data_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(SEED)
    start = datetime(2026, 1, 1, 8, 0)
    step = (datetime(2026, 12, 31, 20, 0) - start) / rows
    header = ",".join(f'"{h}"' if " " in h else h for h in CSV_HEADER)
    lines, items = [header], []
    for number in range(rows):
        account = f"brand{number % 300}"
        published = (start + step * number).replace(tzinfo=timezone.utc)
        caption = _caption(rng, number)
        post_type = rng.choice(list(POST_TYPES))
        views, reach = rng.randint(100, 90_000), rng.randint(50, 60_000)
        likes, shares, comments, saves = (rng.randint(0, 900), rng.randint(0, 60), rng.randint(0, 120),
                                          rng.randint(0, 80))
        post_id = f"17900{number:012d}"
        url = f"https://www.instagram.com/p/C{number:09d}/"
        lines.append(",".join([post_id, f"178414{number % 300:011d}", account, f'"Brand {number % 300}"',
                               f'"{caption}"', "" if post_type != "IG reel" else str(rng.randint(5, 90)),
                               published.astimezone(ZoneInfo(TIMEZONE)).strftime(CSV_DATETIME_FORMAT), url, f'"{post_type}"', "", "Lifetime",
                               str(views), str(reach), str(likes), str(shares), "0", str(comments), str(saves)]))
        items.append({"id": post_id, "username": account, "caption": caption.replace('""', '"'),
                      "timestamp": published.strftime(JSON_DATETIME_FORMAT),
                      "permalink": url, "media_product_type": post_type, "views": views, "reach": reach,
                      "like_count": likes, "shares": shares, "comments_count": comments, "saved": saves})
    data = b"\xef\xbb\xbf" + ("\n".join(lines) + "\n").encode()
    csv_path.write_bytes(data)
    middle = data.index(b"\n", len(data) // 2) + 1
    irregular_copy(csv_path).write_bytes(data[:middle] + b"\n" + data[middle:])
    json_path.write_text(json.dumps(items, ensure_ascii=False, indent=1))
    write_snapshots(data_dir)
    return csv_path, json_path


def snapshots_path(data_dir: Path) -> Path:
    return data_dir / f"snapshots-{SNAPSHOT_ACCOUNTS * SNAPSHOT_DAYS}.json"


def write_snapshots(data_dir: Path) -> Path:
    """A year of daily follower counts for each account, as a JSON array of flat objects."""
    path = snapshots_path(data_dir)
    rng = random.Random(SEED)
    items = []
    for account in range(SNAPSHOT_ACCOUNTS):
        followers = rng.randint(500, 200_000)
        for day in range(SNAPSHOT_DAYS):
            followers += rng.randint(-40, 120)
            items.append({"date": (datetime(2026, 1, 1) + timedelta(days=day)).strftime("%Y-%m-%d"),
                          "username": f"brand{account}", "followers_count": followers})
    path.write_text(json.dumps(items, indent=1))
    return path


# -- the children -----------------------------------------------------------------------------
def _summary(frame: Any) -> dict[str, Any]:
    import polars as pl

    if "followers" in frame.columns:  # snapshots
        return frame.select(pl.len().alias("rows"), pl.col("followers").sum().alias("followers"),
                            pl.col("date").min().cast(pl.String).alias("first"),
                            pl.col("date").max().cast(pl.String).alias("last")).row(0, named=True)
    row = frame.select(pl.len().alias("rows"), *[pl.col(c).sum().alias(c) for c in COUNTS],
                       pl.col("published_at").min().cast(pl.String).alias("first"),
                       pl.col("published_at").max().cast(pl.String).alias("last")).row(0, named=True)
    return row


def run_cmflow(kind: str, path: Path) -> dict[str, Any]:
    import logging
    from datetime import date

    import polars  # noqa: F401  imported before the clock starts, as the reference does

    from cmflow import FetchContext, Period

    period = Period(date.fromisoformat(PERIOD[0]), date.fromisoformat(PERIOD[1]), TIMEZONE, unit="year")

    log = logging.getLogger("bench")
    log.addHandler(logging.NullHandler())  # the sources' notes (ERR over 100 %) are counted, not printed
    log.propagate = False

    def fetch(path: Path) -> tuple[Any, Any]:
        ctx = FetchContext(period.start_utc, period.end_utc, [period], path.parent, log, [])
        return list(_source(kind, path).fetch(ctx)), ctx

    fetch(warm_up_path(kind, path))  # what a run pays once, not per file: imports, first calls
    started = time.perf_counter()
    tables, ctx = fetch(path)
    elapsed = time.perf_counter() - started
    return {"read_s": elapsed, **_summary(tables[0].frame), "problems": len(ctx.problems)}


def warm_up_path(kind: str, path: Path) -> Path:
    """A small export of the same kind as ``path``, read before the clock starts."""
    if kind == "snapshots":
        small = path.with_name("snapshots-warm-up.json")
        small.write_text('[{"date": "2026-01-01", "username": "brand0", "followers_count": 1}]')
        return small
    return path.with_name(f"meta-posts-{WARM_UP_ROWS}.csv" if kind in CSV_KINDS else f"posts-{WARM_UP_ROWS}.json")


def _source(kind: str, path: Path) -> Any:
    from cmflow.builtin.sources.csv_source import CsvSource
    from cmflow.builtin.sources.export_source import ExportSource
    from cmflow.builtin.sources.json_source import JsonSource

    if kind == "export":  # recognised as Meta's Instagram export: no mapping to write
        source = ExportSource(ExportSource.Options(path=str(path), timezone=TIMEZONE), entry_id="bench")
    elif kind == "csv":
        source = CsvSource(CsvSource.Options(path=str(path), columns=CSV_COLUMNS, values={"format": POST_TYPES},
                                             constants={"platform": "instagram"},
                                             datetime_format=CSV_DATETIME_FORMAT), entry_id="bench")
    elif kind == "snapshots":
        source = JsonSource(JsonSource.Options(path=str(path), record="account_snapshot", columns=SNAPSHOT_COLUMNS,
                                               constants={"platform": "instagram"}), entry_id="bench")
    else:
        source = JsonSource(JsonSource.Options(path=str(path), columns=JSON_COLUMNS, values={"format": POST_TYPES},
                                               constants={"platform": "instagram"},
                                               datetime_format=JSON_DATETIME_FORMAT), entry_id="bench")
    return source


def run_reference(kind: str, path: Path) -> dict[str, Any]:
    import polars as pl

    started = time.perf_counter()
    if kind in CSV_KINDS:
        raw = pl.read_csv(path, infer_schema=False).select(
            *[pl.col(column).alias(field) for field, column in CSV_COLUMNS.items()])
        published = pl.col("published_at").str.strptime(pl.Datetime("us"), CSV_DATETIME_FORMAT) \
            .dt.replace_time_zone(TIMEZONE, ambiguous="earliest", non_existent="null").dt.convert_time_zone("UTC")
    elif kind == "snapshots":
        frame = pl.read_json(path).select(
            pl.col("date").str.strptime(pl.Date, "%Y-%m-%d"), pl.col("username").alias("account"),
            pl.lit("instagram").alias("platform"), pl.col("followers_count").cast(pl.Int64).alias("followers"))
        elapsed = time.perf_counter() - started
        return {"read_s": elapsed, **_summary(frame)}
    else:
        raw = pl.read_json(path).select(*[pl.col(column).alias(field) for field, column in JSON_COLUMNS.items()])
        published = pl.col("published_at").str.strptime(pl.Datetime("us"), JSON_DATETIME_FORMAT) \
            .dt.convert_time_zone("UTC")
    frame = raw.with_columns(pl.lit("instagram").alias("platform"), published,
                             pl.col("format").replace(POST_TYPES),
                             *[pl.col(c).cast(pl.Int64) for c in COUNTS])
    elapsed = time.perf_counter() - started
    return {"read_s": elapsed, **_summary(frame)}


def run_orjson(path: Path) -> Any:
    """The snapshots read with orjson (one dict per item), columns built from the items, then the
    same parsing and casts as :func:`run_reference`: no check."""
    import orjson
    import polars as pl

    items = orjson.loads(path.read_bytes())
    columns = {key: [item.get(key) for item in items] for key in ("date", "username", "followers_count")}
    return pl.DataFrame(columns, schema={"date": pl.String, "username": pl.String, "followers_count": pl.Int64}).select(
        pl.col("date").str.strptime(pl.Date, "%Y-%m-%d"), pl.col("username").alias("account"),
        pl.lit("instagram").alias("platform"), pl.col("followers_count").alias("followers"))


def run_snapshots_interleaved(path: Path, rounds: int) -> dict[str, Any]:
    """cmflow's json source, plain Polars and plain orjson reading the snapshots in turn, round
    after round in this one process: each one's median CPU and wall time per read, and whether
    the three read the same snapshots."""
    import logging
    from datetime import date

    import polars as pl

    from cmflow import FetchContext, Period

    period = Period(date.fromisoformat(PERIOD[0]), date.fromisoformat(PERIOD[1]), TIMEZONE, unit="year")
    log = logging.getLogger("bench")
    log.addHandler(logging.NullHandler())
    log.propagate = False

    def cmflow(path: Path) -> Any:
        ctx = FetchContext(period.start_utc, period.end_utc, [period], path.parent, log, [])
        return list(_source("snapshots", path).fetch(ctx))[0].frame

    def polars(path: Path) -> Any:
        return pl.read_json(path).select(
            pl.col("date").str.strptime(pl.Date, "%Y-%m-%d"), pl.col("username").alias("account"),
            pl.lit("instagram").alias("platform"), pl.col("followers_count").cast(pl.Int64).alias("followers"))

    readers = {"cmflow": cmflow, "polars": polars, "orjson": run_orjson}
    small = warm_up_path("snapshots", path)
    for read in readers.values():  # imports and first calls, paid once by a run
        read(small)
    summaries = {name: _summary(read(path)) for name, read in readers.items()}
    times: dict[str, dict[str, list[float]]] = {name: {"cpu": [], "wall": []} for name in readers}
    for _ in range(rounds):
        for name, read in readers.items():
            cpu, wall = time.process_time(), time.perf_counter()
            read(path)
            times[name]["cpu"].append(time.process_time() - cpu)
            times[name]["wall"].append(time.perf_counter() - wall)
    return {"medians": {name: {k: statistics.median(v) for k, v in t.items()} for name, t in times.items()},
            "summaries": summaries}


def child_main(args: argparse.Namespace) -> None:
    if args.impl == "interleaved":
        print(json.dumps(run_snapshots_interleaved(Path(args.path), args.runs)))
        return
    run = run_cmflow if args.impl == "cmflow" else run_reference
    print(json.dumps(run(args.kind, Path(args.path))))


# -- the parent -------------------------------------------------------------------------------
def run_child(impl: str, kind: str, path: Path) -> dict[str, Any]:
    """One implementation in a fresh interpreter, with its wall time and peak RSS."""
    command = [sys.executable, __file__, "--impl", impl, "--kind", kind, "--path", str(path)]
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, env={**os.environ, "CMFLOW_LOAD_PLUGINS": ""})
    assert child.stdout is not None
    output = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)  # this child's own rusage, not every child's
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{impl} {kind} child failed")
    report = json.loads(output.decode().strip().splitlines()[-1])
    report["peak_rss"] = usage.ru_maxrss * (1 if sys.platform == "darwin" else 1024)  # KiB on Linux
    report["process_s"] = wall
    return report


def median_of(runs: list[dict[str, Any]], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def parent_main(args: argparse.Namespace) -> int:
    import polars as pl

    data_dir = Path(args.data_dir)
    # In a child of its own: ru_maxrss survives exec, so a big parent would inflate every child's.
    command = [sys.executable, __file__, "--generate", "--rows", str(args.rows), "--data-dir", str(data_dir)]
    subprocess.run(command + (["--regenerate"] if args.regenerate else []), check=True)
    small = [sys.executable, __file__, "--generate", "--rows", str(WARM_UP_ROWS), "--data-dir", str(data_dir)]
    subprocess.run(small, check=True)
    csv_path, json_path = generate(data_dir, args.rows, regenerate=False)
    print(f"exports: {args.rows:,} posts; {csv_path.name} {csv_path.stat().st_size / 1e6:.1f} MB, "
          f"{json_path.name} {json_path.stat().st_size / 1e6:.1f} MB ({data_dir})")
    print(f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, polars {pl.__version__}; "
          f"median of {args.runs} run(s), each in a fresh process\n")
    print(f"{'export':<9} {'implementation':<10} {'read':>8} {'process':>9} {'peak RSS':>9}")
    failed = False
    ratios = []
    sizes = {}
    kinds = args.kinds.split(",")
    for kind, path in (("csv", csv_path), ("export", csv_path), ("json", json_path),
                       ("snapshots", snapshots_path(data_dir))):
        if kind not in kinds:
            continue
        results = {}
        for impl in ("cmflow", "reference"):
            # the snapshots take a fraction of a second: more runs steady their median on a loaded machine
            runs = [run_child(impl, kind, path) for _ in range(args.runs if kind != "snapshots" else 3 * args.runs)]
            results[impl] = runs
            print(f"{kind:<9} {impl:<10} {median_of(runs, 'read_s'):>7.2f}s {median_of(runs, 'process_s'):>8.2f}s "
                  f"{median_of(runs, 'peak_rss') / 2**20:>6.0f} MB")
        ours, reference = results["cmflow"][0], results["reference"][0]
        same = {k: (ours[k], reference[k]) for k in reference
                if k not in ("read_s", "process_s", "peak_rss") and ours[k] != reference[k]}
        if same:
            print(f"       the two readings DISAGREE: {same}")
            failed = True
        time_ratio = median_of(results["cmflow"], "read_s") / median_of(results["reference"], "read_s")
        rss_ratio = median_of(results["cmflow"], "peak_rss") / median_of(results["reference"], "peak_rss")
        process_ratio = median_of(results["cmflow"], "process_s") / median_of(results["reference"], "process_s")
        ratios.append((kind, time_ratio, process_ratio, rss_ratio))
        sizes[kind] = (median_of(results["cmflow"], "read_s"), median_of(results["reference"], "read_s"))
    print()
    for kind, time_ratio, process_ratio, rss_ratio in ratios:
        verdict = "meets" if time_ratio <= TARGET and rss_ratio <= TARGET else "MISSES"
        print(f"{kind}: cmflow/reference read time {time_ratio:.2f}x, process {process_ratio:.2f}x, "
              f"peak RSS {rss_ratio:.2f}x: {verdict} the target (at most {TARGET:g}x in read time and peak RSS)")
    if "snapshots" in sizes:
        ours, reference = sizes["snapshots"]
        print(f"snapshots ({SNAPSHOT_ACCOUNTS * SNAPSHOT_DAYS:,} items): cmflow {ours:.3f}s, reference {reference:.3f}s: "
              f"{'meets' if ours <= SNAPSHOT_TARGET else 'MISSES'} the target of {SNAPSHOT_TARGET:g}s "
              f"(a loaded machine reads slower: the reference says how loaded)")
        failed = not interleaved_report(snapshots_path(data_dir), max(5, args.runs)) or failed
    if set(CSV_KINDS) & set(kinds):
        memory_report(data_dir, csv_path, args.runs, [k for k in CSV_KINDS if k in kinds])
    return 1 if failed else 0


def interleaved_report(path: Path, rounds: int) -> bool:
    """The snapshots read by cmflow, plain Polars and plain orjson in turn in one child process
    (:func:`run_snapshots_interleaved`): CPU and wall time per read and the ratios; False when
    they read different snapshots."""
    command = [sys.executable, __file__, "--impl", "interleaved", "--kind", "snapshots", "--path", str(path),
               "--runs", str(rounds)]
    output = subprocess.run(command, check=True, stdout=subprocess.PIPE,
                            env={**os.environ, "CMFLOW_LOAD_PLUGINS": ""}).stdout
    report = json.loads(output.decode().strip().splitlines()[-1])
    medians, summaries = report["medians"], report["summaries"]
    load = os.getloadavg()[0]
    print(f"\nsnapshots, interleaved in one process, median of {rounds} rounds (load average {load:.1f}):")
    for name, median in medians.items():
        print(f"  {name:<7} CPU {median['cpu'] * 1e3:7.1f} ms  wall {median['wall'] * 1e3:7.1f} ms")
    ours = medians["cmflow"]
    print(f"  cmflow/polars CPU {ours['cpu'] / medians['polars']['cpu']:.2f}x, cmflow/orjson CPU "
          f"{ours['cpu'] / medians['orjson']['cpu']:.2f}x; cmflow's CPU {ours['cpu']:.3f}s "
          f"{'meets' if ours['cpu'] <= SNAPSHOT_TARGET else 'MISSES'} the target of {SNAPSHOT_TARGET:g}s")
    differing = {name: summary for name, summary in summaries.items() if summary != summaries["polars"]}
    if differing:
        print(f"  the readings DISAGREE: {summaries}")
    return not differing


def irregular_copy(path: Path) -> Path:
    """The export with a blank line in its middle (written by :func:`generate`): no longer
    regular, so the csv source reads it line by line (its other path), after the regular path
    gave up half-way."""
    return path.with_name(path.stem + "-irregular.csv")


def memory_report(data_dir: Path, csv_path: Path, runs: int, sources: list[str]) -> None:
    """Peak memory of reading the CSV export, over its size: each implementation's peak RSS in
    a fresh process, less its peak on a small export of the same shape (interpreter, imports
    and thread pools, which do not grow with the file), divided by the file's size. The parent
    never reads an export itself: a child's ru_maxrss starts at its parent's RSS. ``sources``:
    the cmflow sources measured (``csv``, ``export``), next to ``polars.read_csv``."""
    small_rows = WARM_UP_ROWS
    small, _ = generate(data_dir, small_rows, regenerate=False)
    cases = [("regular", csv_path, small), ("irregular", irregular_copy(csv_path), irregular_copy(small))]
    print(f"\npeak memory of reading the CSV, over its size (peak RSS less the peak on a {small_rows:,}-post "
          f"export; target: at most {MEMORY_TARGET:g}x)")
    for label, path, small_path in cases:
        size = path.stat().st_size - small_path.stat().st_size
        measured = {}
        for impl, kind in [*(("cmflow", source) for source in sources), ("reference", "csv")]:
            peak = statistics.median(run_child(impl, kind, path)["peak_rss"] for _ in range(runs))
            floor = statistics.median(run_child(impl, kind, small_path)["peak_rss"] for _ in range(runs))
            measured[kind if impl == "cmflow" else "reference"] = ((peak - floor) / size, peak, floor)
        reference = measured.pop("reference")[0]
        for source, (ours, peak, floor) in measured.items():
            verdict = "meets" if ours <= MEMORY_TARGET else "MISSES"
            print(f"csv ({label}), {source} source: {ours:.2f}x the file size ({peak / 2**20:.0f} MB peak less "
                  f"{floor / 2**20:.0f} MB, over {size / 2**20:.0f} MB), polars.read_csv {reference:.2f}x: "
                  f"{verdict} the target of {MEMORY_TARGET:g}x")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=200_000, help="posts in each export (default 200,000)")
    parser.add_argument("--runs", type=int, default=3, help="runs of each implementation (median shown)")
    parser.add_argument("--data-dir", default=os.path.join(tempfile.gettempdir(), "cmflow-bench-exports"),
                        help="where the exports are generated and kept")
    parser.add_argument("--regenerate", action="store_true", help="write the exports again")
    parser.add_argument("--kinds", default="csv,export,json,snapshots",
                        help="which sources and exports to read, comma-separated (default all: "
                             "csv,export,json,snapshots; csv and export read the same CSV)")
    parser.add_argument("--generate", action="store_true", help=argparse.SUPPRESS)  # child mode
    parser.add_argument("--impl", choices=("cmflow", "reference", "interleaved"), help=argparse.SUPPRESS)  # child mode
    parser.add_argument("--kind", choices=("csv", "export", "json", "snapshots"), help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate:
        generate(Path(args.data_dir), args.rows, args.regenerate)
        return 0
    if args.impl:
        child_main(args)
        return 0
    return parent_main(args)


if __name__ == "__main__":
    sys.exit(main())
