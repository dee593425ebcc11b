"""A merge of many records into the record store killed half-way (kill -9 of a real process):
the merge is one transaction, whatever its page cache (:func:`cmflow.store.sqlite.merge_cache`),
so the store keeps every record committed before and none of the merge cut short, its cursor
where it was, and takes the next merge whole. A real process: the fault is its death mid-write.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cmflow.store import open_store
from cmflow.store.interface import CachedRecord, SourceCursor

KEY = "bench/posts/0000000000000000"
START = datetime(2026, 1, 1, tzinfo=timezone.utc)
BIG = 20_000
"""Records of the merge that is killed: above MANY_ROWS (its own page cache) and in four batches."""
DEADLINE = 60.0

CHILD = """
import sys, time
from pathlib import Path
import sqlalchemy as sa
from test_record_merge_faults import merge
from cmflow.store import open_store

store = open_store(sys.argv[1])
batches = []

@sa.event.listens_for(store.engine, "before_cursor_execute")
def pause_after_two_batches(conn, cursor, statement, parameters, context, executemany):
    if executemany and "cached_records" in statement:
        batches.append(1)
        if len(batches) == 3:  # two batches of the merge written in its transaction
            Path(sys.argv[2]).write_text("half-way")
            time.sleep(60)

merge(store, 0, {BIG}, 2)
"""


def records(first: int, count: int, figures: int) -> list[CachedRecord]:
    return [CachedRecord("post", f"p{i}", START + timedelta(seconds=(i * 7919) % 31_000_000),
                         f'{{"post_id": "p{i}", "likes": {i * 31 + figures}}}') for i in range(first, first + count)]


def merge(store, first: int, count: int, figures: int) -> None:
    """``count`` records from ``first`` merged as a run's remember does, its cursor moved to their end."""
    until = START + timedelta(days=figures)
    store.remember_records(KEY, records(first, count, figures), SourceCursor(START, until, until), None)


def stored(url: str) -> tuple[int, datetime | None]:
    with open_store(url) as store:
        rows = store.cached_records(KEY, "post", START - timedelta(days=1), START + timedelta(days=400))
        cursor = store.source_cursor(KEY)
    return len(rows), None if cursor is None else cursor.covered_until


def test_a_merge_killed_half_way_leaves_what_was_committed_and_none_of_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    with open_store(url) as store:
        merge(store, BIG, 10, 1)  # committed before: kept
    before = stored(url)
    assert before == (10, START + timedelta(days=1))

    marker = tmp_path / "half-way"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")])}
    child = subprocess.Popen([sys.executable, "-c", CHILD.replace("{BIG}", str(BIG)), url, str(marker)], env=env,
                             stdin=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + DEADLINE
        while not marker.exists():
            assert child.poll() is None, child.stderr.read().decode()
            assert time.monotonic() < deadline, "the merge never got half-way"
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait()
    assert child.returncode == -signal.SIGKILL

    assert stored(url) == before  # none of the merge cut short, all that was committed
    with open_store(url) as store:
        merge(store, 0, BIG, 3)  # the next merge, whole
    assert stored(url) == (BIG + 10, START + timedelta(days=3))
