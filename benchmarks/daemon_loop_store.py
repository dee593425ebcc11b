#!/usr/bin/env python3
"""What does the daemon's own loop ask of the store, per run's end and per quiet pass?

Why: the daemon plans, starts and assesses every run from one loop; whatever it reads and
writes in the store per run is paid a thousand times when a thousand slots fall due, and
store writes queue behind the runs' own (SQLite has one writer). This benchmark counts the
statements the daemon's own store engine sends (SQLAlchemy's ``before_cursor_execute`` on a
real SQLite file), with no real runs: a recording executor records each slot's run as a
healthy run would (its own store, not counted), so that only the loop is measured.

A ``--workflows`` folder of workflows due every 15 minutes is ticked for ``--slots`` slots
(each tick 1 to 300 s after the last, at random, seed 7, as ``tests/test_daemon.py``'s
no-drift test does), then ticked 100 times with nothing due. Printed: statements per run's
end (heartbeats, lease renewals and transaction BEGINs apart), writes among them, BEGIN
IMMEDIATE (a write transaction) per run, statements per quiet tick, and the loop's CPU per
tick. With ``--reference-src DIR`` the same runs, in turn, with ``PYTHONPATH=DIR`` (another
checkout's ``src``), and the ratios are printed.

Run: ``.venv/bin/python benchmarks/daemon_loop_store.py`` (under a minute),
``--reference-src /path/to/other/checkout/src``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

UTC = timezone.utc
WORKFLOW = """[workflow]
name = "{name}"
timezone = "Europe/Paris"
period = "last_week"
schedule = "every 15 minutes"

[[sources]]
id = "meta"
plugin = "csv"
path = "builtin:demo/meta_posts.csv"
record = "post"
datetime_format = "%m/%d/%Y %H:%M"
columns = {{ platform = "Platform", account = "Account", post_id = "Post ID", published_at = "Publish time", reach = "Reach", impressions = "Views", likes = "Likes", comments = "Comments", shares = "Shares", saves = "Saves" }}

[[metrics]]
plugin = "engagement_rate_by_reach"
by = ["overall"]
"""


def measure(workflows: int, slots: int) -> dict[str, float]:
    """One measurement in this interpreter."""
    import sqlalchemy as sa

    from cmflow.daemon.executor import Executor
    from cmflow.daemon.service import Daemon
    from cmflow.daemon.settings import load_daemon_settings
    from cmflow.daemon.worker import RunOutcome
    from cmflow.store import open_store
    from cmflow.testing import FakeClock

    class Recording(Executor):
        """Each request recorded at once as a healthy run of its slot, in a store of its own."""

        def __init__(self, url: str) -> None:
            self.store, self.ended, self.runs = open_store(url), [], 0

        def free(self) -> int:
            return 2

        def submit(self, request) -> None:
            run_id = self.store.start_run(request.workflow_key, request.workflow_file, date(2026, 1, 1),
                                          date(2026, 1, 7), False, slot=request.slot)
            self.store.finish_run(run_id, status="ok", stats={"records": {"post": 24}}, error=None)
            self.ended.append(RunOutcome(request, "ok", run_id))
            self.runs += 1

        def poll(self, now):
            ended, self.ended = self.ended, []
            return ended

        def stop(self, deadline, clock):
            return self.poll(clock())

    folder = Path(tempfile.mkdtemp(prefix="cmflow-loop-store-"))
    for i in range(workflows):
        (folder / f"w{i}.toml").write_text(WORKFLOW.format(name=f"w{i}"), encoding="utf-8")
    settings = folder / "cmflow-daemon.toml"
    settings.write_text('[daemon]\nreload_every = "1w"\n', encoding="utf-8")
    url = f"sqlite:///{folder / 'state.db'}"
    start = datetime(2026, 10, 20, tzinfo=UTC)
    clock = FakeClock(start)
    executor = Recording(url)
    daemon = Daemon(folder, load_daemon_settings(settings), url, executor=executor, clock=clock)
    daemon.start()
    seen: list[str] = []
    sa.event.listen(daemon.store.engine, "before_cursor_execute",
                    lambda connection, cursor, sql, *rest: seen.append(" ".join(sql.split())))
    rng = random.Random(7)
    end = start + timedelta(minutes=15 * slots)
    ticks, cpu = 0, time.process_time()
    while clock.now < end:
        daemon.tick()
        ticks += 1
        clock.now = min(clock.now + timedelta(seconds=rng.uniform(1, 300)), end)
    daemon.tick()
    ticks += 1
    cpu = time.process_time() - cpu
    # Heartbeats (one per tick here: the fake clock moves minutes per tick) and lease renewals
    # are the loop's fixed work, counted apart from what each run's end costs, as are BEGINs.
    fixed = [s for s in seen if s.startswith(("UPDATE daemons", "UPDATE leases"))]
    runs_part = [s for s in seen if s != "BEGIN" and not s.startswith("UPDATE daemons") and not _lease(s)]
    immediate = sum(1 for s in runs_part if s == "BEGIN IMMEDIATE") - len(fixed)
    per_run = (len(runs_part) - len(fixed)) / executor.runs  # less the BEGIN IMMEDIATE of each fixed write
    writes = sum(1 for s in runs_part if s.startswith(("INSERT", "UPDATE", "DELETE")))
    clock.now += timedelta(seconds=11)  # the last runs' ends are assessed; then nothing is due
    daemon.tick()
    seen.clear()
    for _ in range(100):  # quiet: nothing due, nothing ended, no heartbeat or check due
        clock.now += timedelta(milliseconds=100)
        daemon.tick()
    quiet = len([s for s in seen if not _lease(s)]) / 100  # a renewal may fall due in real time
    daemon.shutdown()
    return dict(runs=executor.runs, ticks=ticks, statements_per_run=per_run, writes_per_run=writes / executor.runs,
                write_transactions_per_run=immediate / executor.runs, statements_per_quiet_tick=quiet,
                cpu_ms_per_tick=1000 * cpu / ticks)


def _lease(statement: str) -> bool:
    """Whether a statement is part of renewing the scheduling lease (timed by the real clock)."""
    return statement.startswith("UPDATE leases") or " FROM leases " in f"{statement} "


def run_elsewhere(src: str | None, workflows: int, slots: int) -> dict[str, float]:
    env = dict(os.environ)
    if src:
        env["PYTHONPATH"] = src
    answer = subprocess.run([sys.executable, __file__, "--one", "--workflows", str(workflows), "--slots", str(slots)],
                            env=env, check=True, capture_output=True, text=True)
    return json.loads(answer.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workflows", type=int, default=3)
    parser.add_argument("--slots", type=int, default=100, help="Slots of each workflow (15 minutes apart).")
    parser.add_argument("--reference-src", metavar="DIR", help="Another checkout's src, measured in turn.")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.one:
        print(json.dumps(measure(options.workflows, options.slots)))
        return
    print(f"load average {os.getloadavg()[0]:.1f}; {options.workflows} workflows x {options.slots} slots")
    this = run_elsewhere(None, options.workflows, options.slots)
    other = run_elsewhere(options.reference_src, options.workflows, options.slots) if options.reference_src else None
    for name, value in this.items():
        line = f"{name:28s} {value:10.2f}"
        if other is not None:
            ratio = f"x{value / other[name]:.2f}" if other[name] else "-"
            line += f"   reference {other[name]:10.2f}   {ratio}"
        print(line)


if __name__ == "__main__":
    main()
