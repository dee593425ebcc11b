#!/usr/bin/env python3
"""What the store calls one daemon run makes cost in CPU, against another checkout's.

Why: a run sends the same dozen store calls every time (latest period end, runs, lock, slot
handled, start, alert states, silences, commit, due messages, finish, release), each a few
statements; what SQLAlchemy spends building them, not what SQLite spends running them, was
most of it. This runs that sequence (as ``worker._warm_store_statements`` lists it) on one
SQLite file store kept open, ``--runs`` times after ten to warm up, each time for a new
workflow, and prints the CPU per sequence; with ``--reference-src DIR``, in turn with
``PYTHONPATH=DIR`` (another checkout's ``src``), ``--pairs`` times, and the ratios.

Run: ``.venv/bin/python benchmarks/run_store_calls.py --reference-src /path/to/other/src``
(about ten seconds on idle cores).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path


def one_measure(runs: int) -> float:
    """CPU milliseconds per sequence, in this interpreter."""
    from cmflow.store import LockOwner, RunLockHold, open_store

    now = datetime.now(timezone.utc)
    owner, lease = LockOwner.this_process(), timedelta(minutes=5)
    store = open_store(f"sqlite:///{Path(tempfile.mkdtemp(prefix='cmflow-store-calls-')) / 'state.db'}")

    def sequence(number: int) -> None:
        workflow = f"bench-{number:04d}"
        store.latest_period_end(workflow)
        store.runs(workflow, 1)
        store.acquire_run_lock(workflow, owner, lease)
        store.slot_handled(workflow, now)
        run_id = store.start_run(workflow, f"{workflow}.toml", date.today(), date.today(), False, slot=now,
                                 lock=RunLockHold(owner, lease))
        store.alert_states(workflow)
        store.silences(active_at=now)
        store.commit_run(run_id, workflow=workflow, measurements=None, alerts=[], messages=[], now=now)
        store.due_messages(now, workflow=workflow)
        store.finish_run(run_id, status="ok", stats={}, error=None)
        store.release_run_lock(workflow, owner)

    for number in range(10):
        sequence(number)
    started = time.process_time()
    for number in range(10, 10 + runs):
        sequence(number)
    cpu = time.process_time() - started
    store.close()
    return 1000 * cpu / runs


def measured(runs: int, src: str | None) -> float:
    env = {**os.environ, **({"PYTHONPATH": src} if src else {})}
    answer = subprocess.run([sys.executable, __file__, "--one", str(runs)], env=env, check=True,
                            capture_output=True, text=True)
    return float(answer.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=100, help="Sequences measured per process (default 100).")
    parser.add_argument("--pairs", type=int, default=3, help="Measurements of each checkout, in turn (default 3).")
    parser.add_argument("--reference-src", metavar="DIR", help="Another checkout's src, measured in turn.")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.one:
        print(one_measure(arguments.one))
        return
    this, reference = [], []
    for _ in range(arguments.pairs):
        if arguments.reference_src:
            reference.append(measured(arguments.runs, arguments.reference_src))
        this.append(measured(arguments.runs, None))
    print(f"A run's store calls on SQLite, {arguments.runs} per process, {arguments.pairs} process(es) each; "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"  this checkout: {statistics.median(this):.1f} ms of CPU per run ({', '.join(f'{v:.1f}' for v in this)})")
    if reference:
        ratios = [mine / theirs for mine, theirs in zip(this, reference)]
        print(f"  reference:     {statistics.median(reference):.1f} ms ({', '.join(f'{v:.1f}' for v in reference)})")
        print(f"  this / reference, in turn: x{statistics.median(ratios):.2f} ({', '.join(f'{r:.2f}' for r in ratios)})")


if __name__ == "__main__":
    main()
