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
- **through the executor**: ``LocalProcessPool(2, runs_per_process=N)``, two runs at once as
  the daemon starts them, for each N of ``--runs-per-process`` (default ``1,100``: a fresh
  process per run, the old way, against processes reused for up to 100 runs, the default of
  ``[daemon] runs_per_process``), one after the other in the same round: CPU per run of this
  process, of the fork server itself (its forks) and of the run processes (reaped by the fork
  server once they exit, which the pool's ``stop`` makes them do: its children's CPU), and
  runs per second. A reused process's start is counted in full against the round's runs.

Printed: the medians of ``--rounds`` rounds. With ``--reference-src DIR`` the same measurement
runs, in turn, round by round, with ``PYTHONPATH=DIR`` (another checkout's ``src``), and the
median ratios are printed. CPU figures hardly move with the load other processes put on the
machine; wall times and runs/s do.

Run: ``.venv/bin/python benchmarks/daemon_run_cost.py`` (about a minute),
``--reference-src /path/to/other/checkout/src`` (a checkout whose pool has no
``runs_per_process`` is measured with a process per run, whatever N).
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


def by_stage(runs: int) -> dict[str, float]:
    """The run in this process, ``runs`` times after a few to warm up: CPU per run of each stage
    the runner times (``stage:NAME``), of the rest (``stage:(outside the stages)``: loading the
    workflow, opening and closing the run, the store engine), and the SQL statements and Polars
    queries (``collect``, eager operations included) it sends, per run."""
    import sqlalchemy as sa

    import cmflow.runner as runner
    from timing import PolarsQueries  # benchmarks/timing.py, beside this script

    totals: dict[str, float] = {}
    timed = runner._timed

    def cpu_timed(*args, **kwargs):
        # named as runner._timed names it, after its entry point's module (a reference runner
        # from before that passes the name first)
        stage = args[0] if isinstance(args[0], str) else args[0].__module__.rpartition(".")[2]
        started = time.process_time()
        try:
            return timed(*args, **kwargs)
        finally:
            totals[f"stage:{stage}"] = totals.get(f"stage:{stage}", 0.0) + time.process_time() - started

    counted = {"statements": 0}
    def statement(*_):
        counted["statements"] += 1

    execute, request = _inline_runs(runs + 3)
    for _ in range(3):
        execute(request())
    runner._timed, queries = cpu_timed, PolarsQueries()
    sa.event.listen(sa.engine.Engine, "before_cursor_execute", statement)
    started = time.process_time()
    for _ in range(runs):
        assert execute(request()).status == "ok"
    whole = time.process_time() - started
    figures = {key: 1000 * value / runs for key, value in totals.items()}
    figures["stage:(outside the stages)"] = 1000 * (whole - sum(totals.values())) / runs
    figures["whole run"] = 1000 * whole / runs
    figures.update({"count:statements": counted["statements"] / runs, "count:collects": queries.total / runs})
    return figures


def _inline_runs(total: int):
    """``execute`` and a maker of requests for ``total`` workflow files (one per run) of the
    daemon_scale kind, each run with one SQLite store kept open, as a run process keeps it."""
    from daemon_scale import write_posts, write_workflows
    from cmflow.daemon.worker import RunRequest, execute

    work = Path(tempfile.mkdtemp(prefix="cmflow-run-cost-"))
    posts = work / "posts.csv"
    write_posts(posts, datetime.now(UTC))
    write_workflows(work / "workflows", total, ["every minute"], posts)
    url = f"sqlite:///{work / 'state.db'}"
    slot = datetime.now(UTC).replace(second=0, microsecond=0)
    numbers = iter(range(total))
    stores: dict = {}

    def request() -> RunRequest:
        file = work / "workflows" / f"bench-{next(numbers):04d}.toml"
        return RunRequest(str(file), file.stem, slot, url, timedelta(minutes=30), file.read_text(encoding="utf-8"))

    return (lambda run: execute(run, stores)), request


def measure(runs: int, modes: list[int]) -> dict[str, float]:
    """One round in this interpreter: the figures per run, in milliseconds (and runs/s); those
    of the executor once per ``runs_per_process`` in ``modes``, suffixed ``@N``."""
    import inspect
    from multiprocessing.connection import wait

    from daemon_scale import write_posts, write_workflows
    from cmflow.daemon.executor import LocalProcessPool
    from cmflow.daemon.worker import RunRequest, execute
    from cmflow.store import open_store

    work = Path(tempfile.mkdtemp(prefix="cmflow-run-cost-"))
    posts = work / "posts.csv"
    write_posts(posts, datetime.now(UTC))
    warm = 3
    total = (1 + len(modes)) * (runs + warm)
    write_workflows(work / "workflows", total, ["every minute"], posts)
    url = f"sqlite:///{work / 'state.db'}"
    held = open_store(url)
    held.runs(limit=1)
    slot = datetime.now(UTC).replace(second=0, microsecond=0)
    numbers = iter(range(total))
    reusable = "runs_per_process" in inspect.signature(LocalProcessPool).parameters

    def request() -> RunRequest:
        file = work / "workflows" / f"bench-{next(numbers):04d}.toml"
        return RunRequest(str(file), file.stem, slot, url, timedelta(minutes=30), file.read_text(encoding="utf-8"))

    def inline(count: int) -> tuple[float, float]:
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(count):
            assert execute(request()).status == "ok"
        return time.perf_counter() - wall, time.process_time() - cpu

    def pooled(pool: LocalProcessPool, count: int) -> float:
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

    def stopped(pool: LocalProcessPool) -> None:
        """Its processes exit and are reaped, so that their CPU is counted."""
        pool.stop(datetime.now(UTC) + timedelta(seconds=30), lambda: datetime.now(UTC))
        time.sleep(0.5)

    inline(warm)
    inline_wall, inline_cpu = inline(runs)
    per_run = 1000 / runs
    figures = {"inline_cpu": inline_cpu * per_run, "inline_wall": inline_wall * per_run}
    server = None
    for mode in modes:
        pool = LocalProcessPool(2, mode) if reusable else LocalProcessPool(2)
        pooled(pool, warm)  # starts the fork server
        stopped(pool)
        server = server or _fork_server()
        server_before, runs_before, caller_before = *_cpu(server), time.process_time()
        pool_wall = pooled(pool, runs)
        stopped(pool)
        server_after, runs_after, caller_after = *_cpu(server), time.process_time()
        figures.update({f"caller_cpu@{mode}": (caller_after - caller_before) * per_run,
                        f"server_cpu@{mode}": (server_after - server_before) * per_run,
                        f"runs_cpu@{mode}": (runs_after - runs_before) * per_run,
                        f"runs_per_second@{mode}": runs / pool_wall})
    held.close()
    return figures


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


def one_round(runs: int, modes: list[int], src: str | None, stages: bool = False) -> dict[str, float]:
    """A round in a fresh interpreter (``PYTHONPATH=src`` when given): a fork server per round."""
    env = {**os.environ, **({"PYTHONPATH": src} if src else {})}
    answer = subprocess.run([sys.executable, __file__, "--one-round", str(runs),
                             "--runs-per-process", ",".join(map(str, modes)) or "1", *(["--by-stage"] if stages else [])],
                            env=env, check=True, capture_output=True, text=True)
    return json.loads(answer.stdout.strip().splitlines()[-1])


FIGURES = [
    ("inline_cpu", "in this process: CPU per run", "ms"),
    ("inline_wall", "in this process: wall per run", "ms"),
    ("runs_cpu", "through the executor: CPU of the run processes", "ms"),
    ("server_cpu", "through the executor: CPU of the fork server (its forks)", "ms"),
    ("caller_cpu", "through the executor: CPU of the caller (the daemon's side)", "ms"),
    ("runs_per_second", "through the executor, 2 at once: runs/s", ""),
]


def report_by_stage(runs: int, rounds: int, src: str | None) -> None:
    """Print :func:`by_stage`'s medians over ``rounds`` rounds, with another checkout's beside."""
    measured: dict[str, list[dict[str, float]]] = {"this": [], "reference": []}
    loads = []
    for _ in range(rounds):
        if src:
            measured["reference"].append(one_round(runs, [], src, stages=True))
        measured["this"].append(one_round(runs, [], None, stages=True))
        loads.append(os.getloadavg()[0])
    print(f"One run of the daemon_scale workflow in a warm process, {runs} runs, median of {rounds} round(s); "
          f"load average {min(loads):.1f} to {max(loads):.1f} on {os.cpu_count()} cores\n")
    print("| per run | this checkout |" + (" reference | this / reference |" if src else ""))
    print("|---|---:|" + ("---:|---:|" if src else ""))
    keys = {key for figures in measured["this"] + measured["reference"] for key in figures}
    mine = {key: statistics.median(r.get(key, 0.0) for r in measured["this"]) for key in keys}
    shown = sorted(keys, key=lambda k: (k.startswith("count:"), k != "whole run", -mine[k]))
    for key in shown:
        unit = "" if key.startswith("count:") else " ms"
        if not key.startswith("count:") and max([mine[key], *(r.get(key, 0.0) for r in measured["reference"])]) < 0.5:
            continue  # the stages that have nothing to do in this workflow
        row = f"| {key.split(':', 1)[-1]} | {mine[key]:.1f}{unit} |"
        if src:
            theirs = statistics.median(r.get(key, 0.0) for r in measured["reference"])
            ratios = sorted(m.get(key, 0.0) / t[key] for m, t in zip(measured["this"], measured["reference"])
                            if t.get(key))
            row += f" {theirs:.1f}{unit} | x{statistics.median(ratios):.2f} |" if ratios else f" {theirs:.1f}{unit} | |"
        print(row)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30, help="Runs per way and round (default 30).")
    parser.add_argument("--rounds", type=int, default=3, help="Rounds; medians are printed (default 3).")
    parser.add_argument("--runs-per-process", default="1,100", metavar="N,M",
                        help="The executor's runs_per_process values measured, in turn (default 1,100).")
    parser.add_argument("--reference-src", metavar="DIR", help="Another checkout's src, measured in turn.")
    parser.add_argument("--by-stage", action="store_true",
                        help="Instead: the run in a warm process (its store kept open, as a run process keeps "
                             "it), CPU per stage, SQL statements and Polars queries per run; with "
                             "--reference-src, side by side.")
    parser.add_argument("--one-round", type=int, metavar="RUNS", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    modes = [int(n) for n in arguments.runs_per_process.split(",")]
    if arguments.one_round:
        print(json.dumps(by_stage(arguments.one_round) if arguments.by_stage else measure(arguments.one_round, modes)))
        return
    if arguments.by_stage:
        report_by_stage(arguments.runs, arguments.rounds, arguments.reference_src)
        return

    measured: dict[str, list[dict[str, float]]] = {"this": [], "reference": []}
    loads = []
    for _ in range(arguments.rounds):
        if arguments.reference_src:
            measured["reference"].append(one_round(arguments.runs, modes, arguments.reference_src))
        measured["this"].append(one_round(arguments.runs, modes, None))
        loads.append(os.getloadavg()[0])
    print(f"One run of the daemon_scale workflow, {arguments.runs} runs per way, median of {arguments.rounds} "
          f"round(s); load average {min(loads):.1f} to {max(loads):.1f} on {os.cpu_count()} cores\n")
    columns = [("this", None)] + ([("reference", None)] if measured["reference"] else [])
    keys = [(key, label, unit) for key, label, unit in FIGURES[:2]]
    keys += [(f"{key}@{mode}", f"{label}, runs_per_process={mode}", unit) for mode in modes
             for key, label, unit in FIGURES[2:]]
    header = "| per run | this checkout |" + (" reference | this / reference |" if len(columns) > 1 else "")
    print(header)
    print("|---|---:|" + ("---:|---:|" if len(columns) > 1 else ""))
    for key, label, unit in keys:
        mine = statistics.median(r[key] for r in measured["this"])
        row = f"| {label} | {mine:.1f}{' ' + unit if unit else ''} |"
        if len(columns) > 1:
            theirs = statistics.median(r[key] for r in measured["reference"])
            ratios = sorted(m[key] / t[key] for m, t in zip(measured["this"], measured["reference"]) if t[key])
            ratio = f"x{statistics.median(ratios):.2f}" if ratios else ""  # (a fork server idle in every round: 0 ticks)
            row += f" {theirs:.1f}{' ' + unit if unit else ''} | {ratio} |"
        print(row)
    print()
    totals = {}
    for mode in modes:
        totals[mode] = [r[f"runs_cpu@{mode}"] + r[f"server_cpu@{mode}"] + r[f"caller_cpu@{mode}"]
                        for r in measured["this"]]
        cpu = statistics.median(totals[mode])
        print(f"  runs_per_process={mode}: all together {cpu:.0f} ms of CPU per run through the executor: at most "
              f"{1000 * (os.cpu_count() or 1) / cpu:.0f} runs/s on {os.cpu_count()} idle cores")
    if len(modes) > 1:
        first, *others = modes
        for mode in others:
            ratios = [b / a for a, b in zip(totals[first], totals[mode]) if a]
            print(f"  runs_per_process={mode} / runs_per_process={first}, CPU per run through the executor, "
                  f"side by side in each round: x{statistics.median(ratios):.2f} "
                  f"({', '.join(f'{r:.2f}' for r in ratios)})")


if __name__ == "__main__":
    main()
