"""What a scrape of the daemon's outbox metrics costs the store, as its history grows.

The daemon's metrics read the outbox's depth from the store at scrape time
(``Store.outbox_depth``: one grouped count of the pending and dead messages, on the status
index). This fills a store with a long history of delivered messages and a few pending and dead
ones, then times that query against what a collector would do without it (list the pending
messages and count them in Python), and against the count of every row. It checks that the
figures agree and prints the times; it exits 1 only when they disagree.

    python benchmarks/outbox_depth.py                          # SQLite, in a temporary folder
    python benchmarks/outbox_depth.py --delivered 1000000
    python benchmarks/outbox_depth.py --store postgresql://user:pw@127.0.0.1:5432/empty_db
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from timing import timed  # noqa: E402

from cmflow.store import DEAD, DELIVERED, PENDING, open_store  # noqa: E402
from cmflow.store.tables import outbox  # noqa: E402


def fill(url: str, delivered: int, pending: int, dead: int) -> None:
    """Put this many messages of each status in the store's outbox, in batches."""
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    statuses = [DELIVERED] * delivered + [PENDING] * pending + [DEAD] * dead
    with open_store(url) as store:
        engine = store.engine
    for first in range(0, len(statuses), 20_000):
        rows = [dict(key=f"k{i}", workflow=f"workflow-{i % 500}", workflow_file="w.toml", output_id="mail",
                     plugin="email", summary="a message", payload={}, status=status, attempts=1,
                     created_at=start + timedelta(seconds=i), next_attempt_at=start + timedelta(seconds=i),
                     expires_at=start + timedelta(days=3))
                for i, status in enumerate(statuses[first:first + 20_000], start=first)]
        with engine.begin() as connection:
            connection.execute(outbox.insert(), rows)
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--delivered", type=int, default=200_000)
    parser.add_argument("--pending", type=int, default=1_000)
    parser.add_argument("--dead", type=int, default=50)
    parser.add_argument("--store", help="an empty store's URL (default: a SQLite file in a temporary folder)")
    parser.add_argument("--runs", type=int, default=7)
    options = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        url = options.store or f"sqlite:///{Path(folder) / 'state.db'}"
        fill(url, options.delivered, options.pending, options.dead)
        with open_store(url, read_only=True) as store:
            depth_time, depth = timed(store.outbox_depth, options.runs)
            listed_time, listed = timed(lambda: store.outbox(status=PENDING, limit=10**9), options.runs)
            with store.engine.connect() as connection:
                rows_time, rows = timed(lambda: connection.execute(
                    sa.select(sa.func.count()).select_from(outbox)).scalar(), options.runs)

    print(f"outbox: {options.delivered:,} delivered, {options.pending:,} pending, {options.dead:,} dead "
          f"({'PostgreSQL' if url.startswith('postgres') else 'SQLite'}; median of {options.runs})")
    print(f"  outbox_depth (what a scrape reads)       {depth_time * 1000:8.1f} ms")
    print(f"  list the pending messages and count them {listed_time * 1000:8.1f} ms  "
          f"x{listed_time / depth_time:.1f}")
    print(f"  count every row                          {rows_time * 1000:8.1f} ms  x{rows_time / depth_time:.1f}")
    print("  one reading serves 5 s of scrapes: at most one query per 5 s whatever the scrapers")
    agree = (depth.pending, depth.dead, rows) == (len(listed), options.dead,
                                                  options.delivered + options.pending + options.dead)
    if not agree:
        print(f"DISAGREE: depth {depth}, listed {len(listed)}, rows {rows}")
        sys.exit(1)


if __name__ == "__main__":
    main()
