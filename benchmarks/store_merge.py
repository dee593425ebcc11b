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

It prints, per size, each step's CPU time per record (microseconds; ``time.process_time`` of
the process, plus, on PostgreSQL, the CPU the server's backends of the benchmark's database
spent, read from ``/proc``), then its wall time per record, and, last, each step's growth of
the CPU time per record from the smallest size to each larger one: about 1.0 is linear; well
above it, something grows faster than the data (an index missing, a read of every stored row
per merge, a Python loop ...). On a machine shared with other jobs the wall time grows with
the load, the CPU time much less: read the CPU growth. It checks that the store holds 1.5 N
records and that the merged window holds the newest figures, and exits 1 otherwise.

Stores: a new SQLite file per run (``sqlite``; ``sqlite-2mib``: the same, its merges with
SQLite's default 2,000 KiB page cache instead of :data:`cmflow.store.sqlite.MERGE_CACHE_KIB`, as
merges ran before it, to measure both side by side in one run), and, when ``CMFLOW_TEST_POSTGRES`` is set (``eval "$(bash
.ci/services)"``) or ``--postgres URL`` given, a new database per run on that PostgreSQL server
(created and dropped here).

Run: ``python benchmarks/store_merge.py`` (``--sizes 10000,100000`` for a quick look,
``--runs 3`` for the median of several runs, ``--stores sqlite`` for one store).
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
SQLITE_DEFAULT_CACHE_KIB = 2000
"""SQLite's own page cache (``PRAGMA cache_size=-2000``), that merges had before ``merge_cache``."""


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


class Clock:
    """Wall and CPU time of one step: this process's CPU, and on PostgreSQL the CPU of the
    server's backends serving the benchmark's database (the server runs on this machine)."""

    def __init__(self, admin_url: str | None, database: str | None) -> None:
        self.admin, self.database = None, database
        if admin_url is not None:
            import sqlalchemy as sa

            self.admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")

    def _server_cpu(self) -> dict[int, float]:
        if self.admin is None:
            return {}
        import sqlalchemy as sa

        with self.admin.connect() as connection:
            pids = connection.execute(sa.text("SELECT pid FROM pg_stat_activity WHERE datname = :name"),
                                      {"name": self.database}).scalars().all()
        ticks = os.sysconf("SC_CLK_TCK")
        cpu = {}
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:  # gone, or not on this machine
                continue
            cpu[pid] = (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
        return cpu

    def time(self, step: Any) -> tuple[Any, dict[str, float]]:
        """Run ``step()``: what it returned, and its wall, client CPU and server CPU seconds."""
        server = self._server_cpu()
        wall, cpu = time.perf_counter(), time.process_time()
        result = step()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        after = self._server_cpu()
        server_cpu = sum(seconds - server.get(pid, 0.0) for pid, seconds in after.items())
        return result, {"wall": wall, "cpu": cpu, "server_cpu": server_cpu}


def run_size(size: int, url: str, admin_url: str | None, database: str | None) -> dict[str, Any]:
    """The four steps for ``size`` posts in a new store at ``url``: wall and CPU seconds per
    step, and the checks."""
    import polars as pl

    from cmflow.stages.incremental import FetchPlan, remember, with_stored
    from cmflow.store import open_store

    store = open_store(url)
    clock = Clock(admin_url, database)
    key = "bench/posts/0000000000000000"
    now = WINDOW[1]
    timings = {}

    first = posts(0, size, figures=1)
    plan = FetchPlan(key, WINDOW[0], WINDOW[1], [WINDOW], None, {"post": first})
    _, timings["new"] = clock.time(lambda: remember(store, plan, now, None))

    half = size // 2
    second = pl.concat([posts(half, half, figures=2), posts(size, size - half, figures=2)])
    plan = FetchPlan(key, WINDOW[0], WINDOW[1], [WINDOW], store.source_cursor(key), {"post": second})
    _, timings["overlap"] = clock.time(lambda: remember(store, plan, now, None))

    fetched = posts(size - size // 10, size // 10, figures=3)  # the newest tenth, fetched again
    plan = FetchPlan(key, WINDOW[0], WINDOW[1], [(WINDOW[1] - timedelta(days=28), WINDOW[1])], store.source_cursor(key),
                     latest_only=frozenset({"post"}))
    window, timings["read back"] = clock.time(lambda: with_stored(store, plan, "post", fetched))

    again = FetchPlan(key, WINDOW[0], WINDOW[1], [WINDOW], store.source_cursor(key))
    trusted, timings["asked again"] = clock.time(lambda: with_stored(store, again, "post", fetched))
    store.engine.dispose()  # the database can be dropped

    expected = size + (size - half)
    likes = dict(zip(*window.select("post_id", "likes").get_columns()))
    checks = {"records": window.height == expected,
              "newest figures": (likes[f"p{size - 1}"] == ((size - 1) * 31 + 3) % 5000
                                 and likes[f"p{half}"] == (half * 31 + 2) % 5000
                                 and likes["p0"] == 1 % 5000),
              "asked again is the fetch": trusted is not None and trusted.height == fetched.height}
    return {"size": size, "seconds": timings, "checks": checks}


class Stores:
    """A new, empty store per run: a SQLite file in ``directory``, or a database of its own on
    the PostgreSQL server at ``server_url`` (created here, dropped after the run)."""

    def __init__(self, kind: str, directory: Path, server_url: str | None) -> None:
        self.kind, self.directory, self.admin_url = kind, directory, None
        if kind == "postgresql":
            import sqlalchemy as sa

            admin = sa.make_url(server_url)
            if admin.drivername == "postgresql":
                admin = admin.set(drivername="postgresql+psycopg")
            self.admin_url = admin.render_as_string(hide_password=False)
            self.engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")

    def new(self, size: int) -> tuple[str, str | None]:
        """A new store's URL, and its database's name (None for a SQLite file)."""
        if self.kind.startswith("sqlite"):
            return f"sqlite:///{self.directory / f'store-{size}.db'}", None
        import sqlalchemy as sa

        name = f"cmflow_bench_merge_{os.getpid()}_{size}_{time.time_ns() % 10**9}"
        with self.engine.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        return sa.make_url(self.admin_url).set(database=name).render_as_string(hide_password=False), name

    def drop(self, size: int, database: str | None) -> None:
        if database is None:
            for name in self.directory.glob(f"store-{size}.db*"):
                name.unlink()
            return
        import sqlalchemy as sa

        with self.engine.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))


def measure(stores: Stores, sizes: list[int], runs: int) -> tuple[dict[int, dict[str, dict[str, float]]], bool]:
    """Each size ``runs`` times, each run in a fresh process with a new store: the median, per
    step, of the CPU (client and server) and wall microseconds per record; and whether a check
    failed."""
    per_record: dict[int, dict[str, dict[str, float]]] = {}
    failed = False
    for size in sizes:
        reports = []
        for _ in range(runs):
            url, database = stores.new(size)
            try:
                command = [sys.executable, __file__, "--child", str(size), "--url", url]
                if database is not None:
                    command += ["--admin-url", stores.admin_url, "--database", database]
                if stores.kind == "sqlite-2mib":
                    command += ["--merge-cache-kib", str(SQLITE_DEFAULT_CACHE_KIB)]
                output = subprocess.run(command, check=True, stdout=subprocess.PIPE,
                                        env={**os.environ, "CMFLOW_LOAD_PLUGINS": ""}).stdout
            finally:
                stores.drop(size, database)
            reports.append(json.loads(output.decode().strip().splitlines()[-1]))
        records = {"new": size, "overlap": size, "read back": size + (size - size // 2),
                   "asked again": size + (size - size // 2)}
        per_record[size] = {
            step: {"cpu": statistics.median(r["seconds"][step]["cpu"] + r["seconds"][step]["server_cpu"]
                                            for r in reports) / records[step] * 1e6,
                   "wall": statistics.median(r["seconds"][step]["wall"] for r in reports) / records[step] * 1e6}
            for step in STEPS}
        bad = sorted({name for r in reports for name, ok in r["checks"].items() if not ok})
        failed = failed or bool(bad)
        print(f"{stores.kind:<10} {size:>10,}  "
              + "  ".join(f"{per_record[size][step]['cpu']:>9.2f} / {per_record[size][step]['wall']:>8.2f}"
                          for step in STEPS)
              + f"   load {os.getloadavg()[0]:.1f}" + (f"   WRONG: {', '.join(bad)}" if bad else ""), flush=True)
    return per_record, failed


def parent_main(args: argparse.Namespace) -> int:
    sizes = [int(s) for s in args.sizes.split(",")]
    server_url = args.postgres or os.environ.get("CMFLOW_TEST_POSTGRES")
    kinds = [k for k in args.stores.split(",") if k.startswith("sqlite") or server_url]
    print(f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, load average "
          f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}; median of {args.runs} run(s), each size in a "
          f"fresh process with a new store ({', '.join(kinds)})\n")
    print(f"{'store':<10} {'posts':>10}  " + "  ".join(f"{step:>20}" for step in STEPS)
          + "   (microseconds per record: CPU / wall)")
    failed = False
    with tempfile.TemporaryDirectory(prefix="cmflow-store-merge-") as directory:
        results = {}
        for kind in kinds:
            results[kind], kind_failed = measure(Stores(kind, Path(directory), server_url), sizes, args.runs)
            failed = failed or kind_failed
    print()
    smallest, largest = sizes[0], sizes[-1]
    for kind, per_record in results.items():
        for size in sizes:
            rows = size + (size - size // 2)
            again, back = (per_record[size][step]["cpu"] * rows / 1e6 for step in ("asked again", "read back"))
            print(f"{kind}, {size:,} posts: a window asked again takes {again:.4f} s of CPU, one read back from "
                  f"the store {back:.2f} s ({again / back:.4f}x)")
        for size in sizes[1:]:
            growth = {step: per_record[size][step]["cpu"] / per_record[smallest][step]["cpu"] for step in STEPS}
            # asked again reads no store (microseconds, whatever the size): shown, not judged
            merges = [ratio for step, ratio in growth.items() if step != "asked again"]
            verdict = "linear" if max(merges) <= args.linear else "GROWS FASTER than the data"
            print(f"{kind}: CPU per record at {size:,} over {smallest:,}: "
                  + ", ".join(f"{step} {ratio:.2f}x" for step, ratio in growth.items())
                  + (f": {verdict} (linear: at most {args.linear:g}x)" if size == largest else ""))
    return 1 if failed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000,1000000", help="posts per size, comma-separated")
    parser.add_argument("--runs", type=int, default=1, help="runs of each size (median shown)")
    parser.add_argument("--linear", type=float, default=1.5,
                        help="growth of the time per record still called linear (default 1.5x)")
    parser.add_argument("--stores", default="sqlite,postgresql",
                        help="stores measured, comma-separated: sqlite, sqlite-2mib (merges with SQLite's "
                             "default cache, as before), postgresql (default sqlite,postgresql; postgresql only "
                             "with a server: CMFLOW_TEST_POSTGRES or --postgres)")
    parser.add_argument("--postgres", help="a PostgreSQL server URL (postgresql://USER:PASSWORD@HOST/DB); default "
                                           "CMFLOW_TEST_POSTGRES")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)  # child mode: one size
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--admin-url", help=argparse.SUPPRESS)
    parser.add_argument("--database", help=argparse.SUPPRESS)
    parser.add_argument("--merge-cache-kib", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.merge_cache_kib:
        import cmflow.store.sqlite

        cmflow.store.sqlite.MERGE_CACHE_KIB = args.merge_cache_kib
    if args.child:
        print(json.dumps(run_size(args.child, args.url, args.admin_url, args.database)))
        return 0
    return parent_main(args)


if __name__ == "__main__":
    sys.exit(main())
