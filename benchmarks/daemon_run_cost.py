#!/usr/bin/env python3
"""What does one daemon run cost, in a process of its own, against the same run in a warm process?

Why: with ``--max-parallel 2`` on two cores, the daemon finishes at most 2 / (CPU per run) runs a
second, whatever its loop does. A run forked from the daemon's warm fork server costs what the
run does (load the workflow, open the store, fetch, measure, record) plus what its process
costs (the fork, a first use of everything in a new process, the exit). This benchmark splits
the two, with the real executor and worker: no daemon loop, no schedule.

Each of N workflow files (the ``daemon_scale.py`` workflow: one six-post CSV source, one
metric, no outputs) runs once for the same slot against one SQLite store (a connection held
open, as the daemon's is):

- **in this process**: ``cmflow.daemon.worker.execute(request)``, one after the other, after a
  few runs to warm up: CPU and wall per run;
- **through the executor**: ``LocalProcessPool(2)``, two runs at once as the daemon starts
  them: CPU per run of this process, of the fork server itself (its forks) and of the runs
  (reaped by the fork server: its children's CPU), and runs per second.

Printed: the medians of ``--rounds`` rounds. With ``--reference-src DIR`` the same measurement
runs, in turn, round by round, with ``PYTHONPATH=DIR`` (another checkout's ``src``), and the
median ratios are printed. CPU figures hardly move with the load other processes put on the
machine; wall times and runs/s do.

Run: ``.venv/bin/python benchmarks/daemon_run_cost.py`` (about a minute),
``--reference-src /path/to/other/checkout/src``.
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

sys.path.insert(0, str(Path(__file__).parent))
UTC = timezone.utc
TICKS = os.sysconf("SC_CLK_TCK")


def measure(runs: int) -> dict[str, float]:
    """One round in this interpreter: the figures per run, in milliseconds (and runs/s)."""
    from multiprocessing.connection import wait

    from daemon_scale import write_posts, write_workflows
    from cmflow.daemon.executor import LocalProcessPool
    from cmflow.daemon.worker import RunRequest, execute
    from cmflow.store import open_store

    work = Path(tempfile.mkdtemp(prefix="cmflow-run-cost-"))
    posts = work / "posts.csv"
    write_posts(posts, datetime.now(UTC))
    warm = 3
    write_workflows(work / "workflows", 2 * (runs + warm), ["every minute"], posts)
    url = f"sqlite:///{work / 'state.db'}"
    held = open_store(url)
    held.runs(limit=1)
    slot = datetime.now(UTC).replace(second=0, microsecond=0)
    numbers = iter(range(2 * (runs + warm)))

    def request() -> RunRequest:
        file = work / "workflows" / f"bench-{next(numbers):04d}.toml"
        return RunRequest(str(file), file.stem, slot, url, timedelta(minutes=30), file.read_text(encoding="utf-8"))

    def inline(count: int) -> tuple[float, float]:
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(count):
            assert execute(request()).status == "ok"
        return time.perf_counter() - wall, time.process_time() - cpu

    pool = LocalProcessPool(2)

    def pooled(count: int) -> float:
        started, waiting, ended = time.perf_counter(), count, 0
        while ended < count:
            while waiting and pool.free() > 0:
                pool.submit(request())
                waiting -= 1
            wait(pool.waitables(), timeout=1.0)
            for outcome in pool.poll(datetime.now(UTC)):
                assert outcome.status == "ok", outcome
                ended += 1
        return time.perf_counter() - started

    inline(warm)
    inline_wall, inline_cpu = inline(runs)
    pooled(warm)  # starts the fork server
    time.sleep(0.5)
    server = _fork_server()
    server_before, runs_before, caller_before = *_cpu(server), time.process_time()
    pool_wall = pooled(runs)
    time.sleep(0.5)  # the fork server reaps the last runs
    server_after, runs_after, caller_after = *_cpu(server), time.process_time()
    held.close()
    per_run = 1000 / runs
    return {"inline_cpu": inline_cpu * per_run, "inline_wall": inline_wall * per_run,
            "caller_cpu": (caller_after - caller_before) * per_run,
            "server_cpu": (server_after - server_before) * per_run,
            "runs_cpu": (runs_after - runs_before) * per_run, "runs_per_second": runs / pool_wall}


def _fork_server() -> int:
    """The multiprocessing fork server among this process's children."""
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                parent = Path(f"/proc/{entry.name}/stat").read_text().rsplit(")", 1)[1].split()[1]
                command = Path(f"/proc/{entry.name}/cmdline").read_bytes()
            except OSError:
                continue
            if int(parent) == os.getpid() and b"forkserver" in command:
                return int(entry.name)
    raise SystemExit("no fork server found among this process's children")


def _cpu(pid: int) -> tuple[float, float]:
    """CPU seconds of ``pid`` itself, and of its reaped children."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS, (int(fields[13]) + int(fields[14])) / TICKS


def one_round(runs: int, src: str | None) -> dict[str, float]:
    """A round in a fresh interpreter (``PYTHONPATH=src`` when given): a fork server per round."""
    env = {**os.environ, **({"PYTHONPATH": src} if src else {})}
    answer = subprocess.run([sys.executable, __file__, "--one-round", str(runs)], env=env, check=True,
                            capture_output=True, text=True)
    return json.loads(answer.stdout.strip().splitlines()[-1])


FIGURES = [
    ("inline_cpu", "in this process: CPU per run", "ms"),
    ("inline_wall", "in this process: wall per run", "ms"),
    ("runs_cpu", "through the executor: CPU of the run's process", "ms"),
    ("server_cpu", "through the executor: CPU of the fork server (its fork)", "ms"),
    ("caller_cpu", "through the executor: CPU of the caller (the daemon's side)", "ms"),
    ("runs_per_second", "through the executor, 2 at once: runs/s", ""),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30, help="Runs per way and round (default 30).")
    parser.add_argument("--rounds", type=int, default=3, help="Rounds; medians are printed (default 3).")
    parser.add_argument("--reference-src", metavar="DIR", help="Another checkout's src, measured in turn.")
    parser.add_argument("--one-round", type=int, metavar="RUNS", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.one_round:
        print(json.dumps(measure(arguments.one_round)))
        return

    measured: dict[str, list[dict[str, float]]] = {"this": [], "reference": []}
    for _ in range(arguments.rounds):
        if arguments.reference_src:
            measured["reference"].append(one_round(arguments.runs, arguments.reference_src))
        measured["this"].append(one_round(arguments.runs, None))
    load = os.getloadavg()[0]
    print(f"One run of the daemon_scale workflow, {arguments.runs} runs per way, median of {arguments.rounds} "
          f"round(s); load average {load:.1f} on {os.cpu_count()} cores\n")
    reference = bool(measured["reference"])
    print("| per run | this checkout |" + (" reference | this / reference |" if reference else ""))
    print("|---|---:|" + ("---:|---:|" if reference else ""))
    for key, label, unit in FIGURES:
        mine = statistics.median(r[key] for r in measured["this"])
        row = f"| {label} | {mine:.1f}{' ' + unit if unit else ''} |"
        if reference:
            theirs = statistics.median(r[key] for r in measured["reference"])
            ratios = sorted(m[key] / t[key] for m, t in zip(measured["this"], measured["reference"]) if t[key])
            row += f" {theirs:.1f}{' ' + unit if unit else ''} | x{statistics.median(ratios):.2f} |"
        print(row)
    cpu = statistics.median(r["runs_cpu"] + r["server_cpu"] + r["caller_cpu"] for r in measured["this"])
    print(f"\n  all together {cpu:.0f} ms of CPU per run through the executor: at most "
          f"{1000 * (os.cpu_count() or 1) / cpu:.0f} runs/s on {os.cpu_count()} idle cores")


if __name__ == "__main__":
    main()
