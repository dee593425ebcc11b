#!/usr/bin/env python3
"""How does ``cmflow daemon`` hold up with 1,000 workflows on fast schedules?

Why: the daemon is meant to run every workflow of an agency, for months, on a small server.
What costs it nothing per workflow when nothing is due (idle CPU), what it holds in memory,
and how late runs start once hundreds of slots fall on the same minute are what decide whether
one daemon is enough. The figures are printed, never asserted: they depend on the machine.

What it does, with the real daemon in a process of its own (``cmflow daemon DIR --store
sqlite:///... --log-format json``), each phase on a fresh folder and store in a temporary
directory:

1. **Idle**: N workflows (default 1,000) scheduled once a day, at an hour twelve hours from
   now, so nothing is due. Times start-up (launch to the ``daemon_started`` log line), waits
   for the first pass (catch-up and health of every workflow) to settle, then measures the
   daemon's CPU time (utime + stime of all its threads, from ``/proc``) over ``--idle-seconds``.
   Then N workflows due once now (once a day, at this minute): once every run has ended and
   been assessed, the daemon's CPU over ``--idle-seconds`` again (it must be as idle as before).
2. **All at once**: N workflows on the same once-a-day schedule, at the first minute boundary
   at least 20 s after launch: nothing is owed at start-up, then N slots fall due at the same
   instant. Lateness p50/p99/max of their runs, runs per second from the slot to the last
   run's end and in the busiest 10 s. ``--runs-per-process 1,100`` runs it twice per round,
   this cmflow both times, with ``[daemon] runs_per_process`` 1 (the reference) then 100.
   The tree's CPU counts live run processes as well as reaped ones, so processes that outlive
   the drain (waiting for their next run) are counted.
3. **Fast**: N workflows scheduled ``every minute``, ``every 5 minutes`` and ``every 15
   minutes`` in turn (``--schedule`` to change the mix), each reading a six-post CSV file
   (one ``csv`` source, one metric, no outputs), for ``--seconds`` after start-up, then SIGTERM.
   Unless ``--no-align``, the launch is timed (with the idle phase's start-up time) so that
   start-up ends 10 s before a minute boundary: the window (90 s by default) then holds the
   start-up burst (the slot due now of every "every minute" workflow) and two minute
   boundaries, the second 20 s before the stop.

Figures, from the daemon's JSON log lines (read as they arrive) and ``/proc`` (sampled every
0.2 s; psutil is not needed):

- **Lateness**: the ``seconds`` field of each ``started`` line (seconds from the slot to the
  run being handed to the executor), p50/p99/max, per slot of the window (the slots due at
  start-up fell before the daemon ran: their delay counts from start-up), with the slots owed
  (from :mod:`cmflow.foundation.schedules`) against the runs started, then summed for the slots
  due at start-up and for those of a boundary; runs finished by status and per
  second in the busiest 10 s; what the store recorded as missed (superseded under the default
  ``latest`` catch-up policy).
- **Memory**: peak RSS of the daemon alone (its ``VmHWM``) and the peak sum of RSS and of PSS
  (proportional set size, from ``smaps_rollup``: shared pages counted once) over the daemon and
  its descendants: the fork server and one process per run. Runs forked from the warm fork
  server share most of their pages with it, so the RSS sum overstates what they cost; PSS
  does not. Runs shorter than the sampling period may be missed at their peak.
- **CPU**: the daemon's own CPU as a share of one core, idle and during the fast window, and
  the whole tree's (runs included) during the window.
- The warnings and errors the daemon and its runs logged, counted by event.

Run: ``.venv/bin/python benchmarks/daemon_scale.py`` (about five minutes), ``--quick`` (100
workflows, 20 s, no alignment: about two minutes), ``--max-parallel 4``; ``--skip-idle``,
``--skip-at-once``, ``--skip-fast`` leave a phase out; ``--cmflow COMMAND`` benchmarks another
cmflow (another checkout's venv, a patched build).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

UTC = timezone.utc
FAST_SCHEDULES = ("every minute", "every 5 minutes", "every 15 minutes")
SAMPLE_EVERY = 0.2
ALIGN_LEAD = 10.0
"""Seconds between the end of start-up and the next minute boundary when the launch is aligned."""
AT_ONCE_LEAD = 20.0
"""All-at-once phase: the shared slot is the first minute boundary at least this long after launch."""
ASSESS_ENDED_EVERY = 10.0
"""As cmflow.daemon.service.ASSESS_ENDED_EVERY: ended runs are assessed together this often."""
ON_TIME = timedelta(minutes=1)
"""As cmflow.foundation.schedules.ON_TIME: at start-up, a never-run workflow's slot this recent is due."""
TICKS = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024
POST_COLUMNS = "platform,account,post_id,published_at,reach,impressions,likes,comments,shares,saves"


# -- the folder of workflows -------------------------------------------------------------------
def write_posts(path: Path, now: datetime) -> None:
    """Six Instagram posts over the six days before ``now``, in canonical columns."""
    rows = [POST_COLUMNS]
    for day in range(1, 7):
        published = (now - timedelta(days=day)).strftime("%Y-%m-%dT%H:%M:%S")
        rows.append(f"instagram,bench,p{day},{published},{900 + 100 * day},{1400 + 120 * day},"
                    f"{30 + day},{day},2,3")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")


def write_workflows(folder: Path, count: int, schedules: list[str], posts: Path) -> dict[str, str]:
    """``count`` workflow files in ``folder``, schedules taken in turn; return key -> schedule."""
    folder.mkdir(parents=True)
    keys = {}
    for number in range(count):
        key = f"bench-{number:04d}"
        schedule = schedules[number % len(schedules)]
        keys[key] = schedule
        (folder / f"{key}.toml").write_text(f"""\
[workflow]
name = "Daemon benchmark {number:04d}"
id = "{key}"
timezone = "UTC"
period = "7d"
compare = []
schedule = "{schedule}"

[[sources]]
plugin = "csv"
path = "{posts}"

[[metrics]]
plugin = "engagement_rate_by_reach"
""", encoding="utf-8")
    return keys


# -- /proc -------------------------------------------------------------------------------------
def descendants(root: int) -> list[int]:
    """``root`` and every live process below it (by parent pid, from /proc/*/stat)."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            stat = _read(f"/proc/{entry.name}/stat")
            if stat:
                parent = int(stat.rsplit(")", 1)[1].split()[1])
                children.setdefault(parent, []).append(int(entry.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def cpu_seconds(pid: int, with_children: bool = False) -> float:
    """utime + stime of ``pid`` (all its threads), plus those of its reaped children if asked."""
    stat = _read(f"/proc/{pid}/stat")
    if not stat:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()  # fields[0] is the state, the 3rd field of stat
    ticks = int(fields[11]) + int(fields[12]) + (int(fields[13]) + int(fields[14]) if with_children else 0)
    return ticks / TICKS


def status_kb(pid: int, name: str) -> int:
    """A ``kB`` line of /proc/<pid>/status (VmRSS, VmHWM), 0 once the process is gone."""
    for line in _read(f"/proc/{pid}/status").splitlines():
        if line.startswith(name + ":"):
            return int(line.split()[1])
    return 0


def pss_kb(pid: int) -> int:
    for line in _read(f"/proc/{pid}/smaps_rollup").splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as file:
            return file.read()
    except OSError:
        return ""


# -- one daemon --------------------------------------------------------------------------------
@dataclass
class Sample:
    at: float
    processes: int
    daemon_rss_kb: int
    tree_rss_kb: int
    tree_pss_kb: int


@dataclass
class DaemonProcess:
    """``cmflow daemon`` in a process of its own: its log lines and /proc samples, as they come."""

    command: list[str]
    folder: Path
    store: Path
    max_parallel: int
    events: list[tuple[float, dict]] = field(default_factory=list)
    other_lines: list[str] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    daemon_hwm_kb: int = 0

    def start(self) -> None:
        self.launched = time.monotonic()
        self.process = subprocess.Popen(
            [*self.command, "daemon", str(self.folder), "--store", f"sqlite:///{self.store}",
             "--log-format", "json", "--max-parallel", str(self.max_parallel)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, bufsize=1)
        self._stop_sampling = threading.Event()
        self._reader = threading.Thread(target=self._read_logs, daemon=True)
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._reader.start()
        self._sampler.start()

    def wait_for(self, event: str, timeout: float) -> float:
        """Monotonic time at which the first ``event`` line arrived."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for at, entry in list(self.events):
                if entry.get("event") == event:
                    return at
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        self.process.kill()
        raise SystemExit(f"no {event!r} line from the daemon (exit code {self.process.poll()}):\n"
                         + "\n".join(self.other_lines[-20:]))

    def stop(self, timeout: float = 300) -> tuple[int, float]:
        """SIGTERM; return the exit code and the seconds the daemon took to exit."""
        self.daemon_hwm_kb = status_kb(self.process.pid, "VmHWM")
        sent = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout)
        took = time.monotonic() - sent
        self._stop_sampling.set()
        self._reader.join(10)
        self._sampler.join(10)
        return code, took

    def cpu(self, with_tree: bool = False) -> float:
        """CPU seconds of the daemon so far, or of the whole tree (reaped runs included)."""
        if not with_tree:
            return cpu_seconds(self.process.pid)
        return sum(cpu_seconds(pid, with_children=True) for pid in descendants(self.process.pid))

    def events_named(self, name: str) -> list[tuple[float, dict]]:
        return [(at, entry) for at, entry in self.events if entry.get("event") == name]

    def _read_logs(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            at = time.monotonic()
            try:
                entry = json.loads(line)
            except ValueError:
                self.other_lines.append(line.rstrip("\n"))
                continue
            if isinstance(entry, dict):
                self.events.append((at, entry))

    def _sample(self) -> None:
        root = self.process.pid
        while not self._stop_sampling.wait(SAMPLE_EVERY):
            tree = descendants(root)
            self.samples.append(Sample(time.monotonic(), len(tree), status_kb(root, "VmRSS"),
                                       sum(status_kb(pid, "VmRSS") for pid in tree),
                                       sum(pss_kb(pid) for pid in tree)))


def cmflow_command() -> list[str]:
    """The ``cmflow`` console script beside this interpreter, or the same entry point through it."""
    script = Path(sys.executable).parent / "cmflow"
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from cmflow.cli import main; sys.argv[0] = 'cmflow'; sys.exit(main())"]


# -- phases ------------------------------------------------------------------------------------
@dataclass
class IdleResult:
    startup: float
    settle: float
    cpu_percent: float
    window: float
    rss_mb: float
    exit_code: int
    stop_seconds: float


def idle_phase(command: list[str], work: Path, count: int, max_parallel: int, seconds: float, posts: Path) -> IdleResult:
    hour = (datetime.now(UTC) + timedelta(hours=12)).hour
    write_workflows(work / "idle", count, [f"every day at {hour:02d}:00"], posts)
    daemon = DaemonProcess(command, work / "idle", work / "idle.db", max_parallel)
    daemon.start()
    started = daemon.wait_for("daemon_started", 600)
    # The first pass (catch-up and health of every workflow) follows start-up: wait for a
    # second with less than a fifth of a core used.
    previous, at = daemon.cpu(), time.monotonic()
    while time.monotonic() - started < 300:
        time.sleep(1.0)
        now_cpu, now = daemon.cpu(), time.monotonic()
        if (now_cpu - previous) / (now - at) < 0.2:
            break
        previous, at = now_cpu, now
    settled = time.monotonic()
    cpu_before = daemon.cpu()
    time.sleep(seconds)
    window = time.monotonic() - settled
    used = daemon.cpu() - cpu_before
    rss = status_kb(daemon.process.pid, "VmRSS")
    code, took = daemon.stop()
    return IdleResult(started - daemon.launched, settled - started, 100 * used / window, window,
                      rss / 1024, code, took)


@dataclass
class AfterRunsResult:
    runs: int
    cpu_percent: float
    window: float


def after_runs_phase(command: list[str], work: Path, count: int, max_parallel: int, seconds: float,
                     posts: Path) -> AfterRunsResult:
    """N workflows due once now (once a day, at this very minute), then not for a day: the
    daemon's CPU once the last run has ended and been assessed (a loop that spun until the next
    run ended would show here as a whole core)."""
    if datetime.now(UTC).second > 30:  # start-up must see this minute's slot as due
        time.sleep(60.5 - datetime.now(UTC).second)
    at = datetime.now(UTC)
    write_workflows(work / "after", count, [f"every day at {at:%H:%M}"], posts)
    daemon = DaemonProcess(command, work / "after", work / "after.db", max_parallel)
    daemon.start()
    daemon.wait_for("daemon_started", 600)
    deadline = time.monotonic() + 600
    while len(daemon.events_named("finished")) < count and time.monotonic() < deadline:
        time.sleep(0.2)
    runs = len(daemon.events_named("finished"))
    time.sleep(ASSESS_ENDED_EVERY + 1.0)  # the ended runs are assessed; that step's next turn passes
    cpu_before, measured = daemon.cpu(), time.monotonic()
    time.sleep(seconds)
    window = time.monotonic() - measured
    used = daemon.cpu() - cpu_before
    daemon.stop()
    return AfterRunsResult(runs, 100 * used / window, window)


def align_launch(expected_startup: float) -> None:
    """Sleep so that a start-up of ``expected_startup`` seconds ends ALIGN_LEAD s before a minute."""
    now = time.time()
    launch = (now // 60 + 1) * 60 - ALIGN_LEAD - expected_startup
    while launch < now + 1:
        launch += 60
    print(f"  (waiting {launch - now:.0f} s to align start-up on a minute boundary)", flush=True)
    time.sleep(launch - now)


def fast_phase(command: list[str], work: Path, count: int, max_parallel: int, seconds: float, schedules: list[str],
               posts: Path, expected_startup: float | None) -> None:
    keys = write_workflows(work / "fast", count, schedules, posts)
    if expected_startup is not None:
        align_launch(expected_startup)
    daemon = DaemonProcess(command, work / "fast", work / "fast.db", max_parallel)
    daemon.start()
    started = daemon.wait_for("daemon_started", 600)
    cpu_daemon, cpu_tree = daemon.cpu(), daemon.cpu(with_tree=True)
    time.sleep(max(0.0, started + seconds - time.monotonic()))
    window = time.monotonic() - started
    cpu_daemon, cpu_tree = daemon.cpu() - cpu_daemon, daemon.cpu(with_tree=True) - cpu_tree
    stopped_wall = datetime.now(UTC)
    code, took = daemon.stop()

    started_wall = datetime.fromisoformat(daemon.events_named("daemon_started")[0][1]["time"])
    print(f"\nFast phase: {count} workflows ({', '.join(schedules)} in turn), --max-parallel "
          f"{max_parallel}, {window:.0f} s after start-up, {_boundaries(started_wall, stopped_wall)} "
          f"minute boundaries in the window")
    print(f"  start-up (launch to daemon_started): {started - daemon.launched:.1f} s; "
          f"stop (SIGTERM to exit): {took:.1f} s, exit code {code}")

    starts = daemon.events_named("started")
    owed = owed_slots(keys, started_wall, stopped_wall)
    by_slot: dict[datetime | None, list[float]] = {}
    for _, entry in starts:
        slot = _slot(entry)
        if slot <= started_wall:  # fell before the daemon ran: the delay counts from start-up
            by_slot.setdefault(None, []).append(
                (datetime.fromisoformat(entry["time"]) - started_wall).total_seconds())
        else:
            by_slot.setdefault(slot, []).append(entry["seconds"])
    print("\n| slot | owed | runs started | delay p50 | p99 | max |")
    print("|---|---:|---:|---:|---:|---:|")
    for slot, count in owed.items():
        label = ("due at start-up (delay from start-up)" if slot is None else
                 f"{slot:%H:%M} UTC, start-up + {(slot - started_wall).total_seconds():.0f} s (lateness)")
        values = by_slot.get(slot, [])
        print(f"| {label} | {count} | {len(values)} | {_seconds(percentile(values, 50))} | "
              f"{_seconds(percentile(values, 99))} | {_seconds(max(values, default=None))} |")
    boundary = [value for slot, values in by_slot.items() if slot is not None for value in values]
    for label, values, owed_count in (
            ("due at start-up (delay from start-up)", by_slot.get(None, []), owed[None]),
            ("of a boundary in the window (lateness)", boundary,
             sum(n for slot, n in owed.items() if slot is not None))):
        print(f"  slots {label}: {len(values)} of {owed_count} started, p50 {_seconds(percentile(values, 50))}, "
              f"p99 {_seconds(percentile(values, 99))}, max {_seconds(max(values, default=None))}")
    slots = [slot for slot in owed if slot is not None]
    if slots:
        print(f"  (the stop came {(stopped_wall - slots[-1]).total_seconds():.0f} s after the last slot; "
              f"a slot still queued then is owed but has no delay)")

    finished = daemon.events_named("finished")
    statuses = Counter(entry.get("status") for _, entry in finished)
    print(f"\n  runs finished: {len(finished)} ({', '.join(f'{n} {s}' for s, n in statuses.most_common())})")
    durations = run_durations(starts, finished)
    if durations:
        print(f"  run wall time as the daemon saw it (start to finish line): p50 "
              f"{_seconds(percentile(durations, 50))}, p99 {_seconds(percentile(durations, 99))}")
    if finished:
        print(f"  throughput: {busiest(finished, 10.0) / 10.0:.1f} runs finished/s in the busiest 10 s")
    for reason, slots in missed_in_store(work / "fast.db"):
        print(f"  recorded as missed: {slots} slot(s): {reason}")

    peak = max(daemon.samples, key=lambda s: s.tree_pss_kb, default=None)
    print("\n| memory | peak |")
    print("|---|---:|")
    print(f"| daemon RSS (VmHWM) | {daemon.daemon_hwm_kb / 1024:.0f} MB |")
    print(f"| daemon + children, sum of RSS | {max((s.tree_rss_kb for s in daemon.samples), default=0) / 1024:.0f} MB |")
    print(f"| daemon + children, sum of PSS | {(peak.tree_pss_kb if peak else 0) / 1024:.0f} MB |")
    print(f"| processes in the tree | {max((s.processes for s in daemon.samples), default=0)} |")
    print(f"\n  CPU during the window: daemon {100 * cpu_daemon / window:.0f} % of one core; "
          f"daemon and runs {100 * cpu_tree / window:.0f} % of one core "
          f"({os.cpu_count()} cores on this machine)")
    report_problems(daemon)


@dataclass
class AtOnceResult:
    count: int
    started: list[float]
    """Lateness of each run started (slot to the run handed to the executor), seconds."""
    finished: int
    statuses: Counter
    drain_seconds: float | None
    """From the slot to the last run's ``finished`` line."""
    busiest_10s: int
    cpu_daemon_percent: float
    cpu_per_run: float | None
    """CPU seconds of the daemon, its fork server and the runs, per run finished: unlike wall
    times, it hardly moves with the load other processes put on the machine."""


def at_once_phase(command: list[str], work: Path, count: int, max_parallel: int, posts: Path,
                  runs_per_process: int | None = None) -> AtOnceResult:
    """N workflows on the same once-a-day schedule, at a minute boundary AT_ONCE_LEAD s or more
    after the daemon is up: nothing is owed at start-up, then N slots fall due at the same
    instant. Lateness of each, and how fast the daemon drains them. With ``runs_per_process``,
    the daemon's settings file sets ``[daemon] runs_per_process``."""
    slot = (datetime.now(UTC) + timedelta(seconds=AT_ONCE_LEAD)).replace(second=0, microsecond=0) \
        + timedelta(minutes=1)
    folder = Path(tempfile.mkdtemp(prefix="at_once-", dir=work))  # fresh for each round
    write_workflows(folder / "workflows", count, [f"every day at {slot:%H:%M}"], posts)
    if runs_per_process is not None:
        (folder / "workflows" / "cmflow-daemon.toml").write_text(
            f"[daemon]\nruns_per_process = {runs_per_process}\n", encoding="utf-8")
    daemon = DaemonProcess(command, folder / "workflows", folder / "state.db", max_parallel)
    daemon.start()
    daemon.wait_for("daemon_started", 600)
    if datetime.now(UTC) >= slot:
        daemon.stop()
        raise SystemExit(f"the daemon took too long to start: {slot:%H:%M:%S} passed before it was up")
    wait = (slot - datetime.now(UTC)).total_seconds()
    cpu_before, tree_before = daemon.cpu(), daemon.cpu(with_tree=True)
    deadline = time.monotonic() + wait + 600
    while len(daemon.events_named("finished")) < count and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(0.5)  # the fork server reaps the last runs: their CPU counts in its children's
    cpu_used, tree_used = daemon.cpu() - cpu_before, daemon.cpu(with_tree=True) - tree_before
    daemon.stop()
    starts = [entry for _, entry in daemon.events_named("started") if _slot(entry) == slot]
    report_problems(daemon)
    label = f"@{slot:%Y-%m-%dT%H:%MZ}"  # a finished line names its run, workflow@slot
    finished = [(at, entry) for at, entry in daemon.events_named("finished")
                if str(entry.get("run", "")).endswith(label)]
    last = max((datetime.fromisoformat(entry["time"]) for _, entry in finished), default=None)
    busy = (last - slot).total_seconds() if last else None
    return AtOnceResult(count, [entry["seconds"] for entry in starts], len(finished),
                        Counter(entry.get("status") for _, entry in finished), busy,
                        busiest(finished, 10.0), 100 * cpu_used / max(busy or 0.0, 1.0),
                        tree_used / len(finished) if finished else None)


@dataclass
class AtOnceRound:
    command: str
    """``benchmarked`` or ``reference`` (compared with it)."""
    result: AtOnceResult
    label: str = ""
    """What the row is called (default: ``command``)."""

    @property
    def rate(self) -> float | None:
        """Runs finished per second, from the slot to the last one's end."""
        busy = self.result.drain_seconds
        return self.result.finished / busy if busy else None

    @property
    def p99(self) -> float | None:
        return percentile(self.result.started, 99)


def report_at_once(rounds: list[AtOnceRound], count: int, max_parallel: int) -> None:
    """A row per round; with a reference, the median ratios of the rounds."""
    print(f"\nAll at once: {count} workflows on one once-a-day schedule, the same slot, "
          f"--max-parallel {max_parallel}")
    print("\n| cmflow | slots due at once | runs started | lateness p50 | p99 | max "
          "| runs/s (slot to last finish) | runs/s (busiest 10 s) | runs finished | daemon CPU draining "
          "| CPU per run, daemon and runs |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for run in rounds:
        result, values = run.result, run.result.started
        rate = "-" if run.rate is None else f"{run.rate:.1f}"
        print(f"| {run.label or run.command} | {result.count} | {len(values)} | {_seconds(percentile(values, 50))} | "
              f"{_seconds(run.p99)} | {_seconds(max(values, default=None))} | {rate} | "
              f"{result.busiest_10s / 10.0:.1f} | {', '.join(f'{n} {s}' for s, n in result.statuses.most_common())} | "
              f"{result.cpu_daemon_percent:.0f} % | {_milliseconds(result.cpu_per_run)} |")
    subjects = [run for run in rounds if run.command == "benchmarked"]
    references = [run for run in rounds if run.command == "reference"]
    pairs = list(zip(references, subjects))
    if pairs and all(r.result.cpu_per_run and s.result.cpu_per_run for r, s in pairs):
        cpu = sorted(s.result.cpu_per_run / r.result.cpu_per_run for r, s in pairs)
        print(f"  CPU per run, benchmarked / reference, median of {len(pairs)} round(s): x{cpu[len(cpu) // 2]:.2f} "
              f"(each round: {', '.join(f'{r:.2f}' for r in cpu)})")
    cpus = sorted(run.result.cpu_per_run for run in subjects if run.result.cpu_per_run)
    if cpus:
        print(f"  at that CPU per run ({_milliseconds(cpus[len(cpus) // 2])}, median), {os.cpu_count()} idle cores "
              f"would finish at most {os.cpu_count() / cpus[len(cpus) // 2]:.0f} runs/s")
    if pairs and all(r.rate and s.rate and r.p99 and s.p99 for r, s in pairs):
        rates = sorted(s.rate / r.rate for r, s in pairs)
        lateness = sorted(s.p99 / r.p99 for r, s in pairs)
        print(f"  benchmarked / reference, median of {len(pairs)} round(s) run in turn: runs/s x"
              f"{rates[len(rates) // 2]:.2f} (each round: {', '.join(f'{r:.2f}' for r in rates)}); lateness p99 x"
              f"{lateness[len(lateness) // 2]:.2f} (each round: {', '.join(f'{r:.2f}' for r in lateness)})")


def owed_slots(keys: dict[str, str], started: datetime, stopped: datetime) -> dict[datetime | None, int]:
    """Slots owed, oldest first: None for those due at start-up (a never-run workflow's slot at
    most ON_TIME old, as cmflow.foundation.schedules.catch_up decides), then each slot in the window."""
    from cmflow.foundation.schedules import parse_schedules, slots_between

    timetables = {text: parse_schedules(text) for text in set(keys.values())}
    owed: Counter[datetime | None] = Counter()
    for schedule in keys.values():
        owed[None] += bool(slots_between(timetables[schedule], started - ON_TIME, started, "UTC"))
        owed.update(slots_between(timetables[schedule], started, stopped, "UTC"))
    return {None: owed.pop(None), **dict(sorted(owed.items()))}


def busiest(events: list[tuple[float, dict]], seconds: float) -> int:
    """The most events within ``seconds`` of each other."""
    times = sorted(at for at, _ in events)
    first, most = 0, 0
    for last, at in enumerate(times):
        while at - times[first] > seconds:
            first += 1
        most = max(most, last - first + 1)
    return most


def run_durations(starts: list[tuple[float, dict]], finished: list[tuple[float, dict]]) -> list[float]:
    started_at = {entry.get("run"): at for at, entry in starts}
    return [at - started_at[entry["run"]] for at, entry in finished if entry.get("run") in started_at]


def missed_in_store(store: Path) -> list[tuple[str, int]]:
    with sqlite3.connect(store) as connection:
        return connection.execute("SELECT reason, SUM(count) FROM missed_slots GROUP BY reason "
                                  "ORDER BY 2 DESC").fetchall()


def report_problems(daemon: DaemonProcess) -> None:
    """Warnings and errors the daemon and its runs logged, counted by event, with one example."""
    problems: Counter[tuple[str, str]] = Counter()
    examples = {}
    for _, entry in daemon.events:
        if entry.get("level") in ("warning", "error", "critical"):
            kind = (entry["level"], entry.get("event") or entry.get("logger", ""))
            problems[kind] += 1
            examples.setdefault(kind, entry.get("message", ""))
    if daemon.other_lines:
        problems[("not JSON", "")] = len(daemon.other_lines)
        examples[("not JSON", "")] = daemon.other_lines[0]
    if problems:
        print("\n  warnings and errors logged:")
    for (level, event), count in problems.most_common():
        print(f"  {count} x {level} {event}, e.g. {examples[(level, event)][:100]!r}")


# -- figures -----------------------------------------------------------------------------------
def percentile(values: list[float], rank: float) -> float | None:
    """Nearest-rank percentile; None without values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(rank / 100 * len(ordered)) - 1)]


def _milliseconds(value: float | None) -> str:
    return "-" if value is None else f"{1000 * value:.0f} ms"


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} s"


def _slot(entry: dict) -> datetime:
    return datetime.fromisoformat(entry["slot"])


def _boundaries(start: datetime, end: datetime) -> int:
    return int(end.timestamp() // 60 - start.timestamp() // 60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workflows", type=int, default=1000, help="Workflow files (default 1000).")
    parser.add_argument("--seconds", type=float, default=90, help="Fast phase: seconds after start-up (default 90).")
    parser.add_argument("--idle-seconds", type=float, default=20, help="Idle phase: seconds measured (default 20).")
    parser.add_argument("--max-parallel", type=int, default=2, help="The daemon's --max-parallel (default 2).")
    parser.add_argument("--schedule", action="append", dest="schedules",
                        help="A fast schedule; repeat for a mix (default: every minute, every 5 minutes, every 15 minutes).")
    parser.add_argument("--no-align", action="store_true", help="Launch the fast phase at once.")
    parser.add_argument("--skip-idle", action="store_true", help="Skip the idle phase.")
    parser.add_argument("--skip-at-once", action="store_true", help="Skip the all-at-once phase.")
    parser.add_argument("--skip-fast", action="store_true", help="Skip the fast phase.")
    parser.add_argument("--cmflow", metavar="COMMAND",
                        help="The cmflow command to benchmark (default: the one beside this Python).")
    parser.add_argument("--reference", metavar="COMMAND",
                        help="All-at-once phase: run this cmflow too, in turn, and print the ratios.")
    parser.add_argument("--rounds", type=int, default=1,
                        help="All-at-once phase: rounds (each cmflow once per round; default 1).")
    parser.add_argument("--runs-per-process", metavar="N,M",
                        help="All at once: the daemon's [daemon] runs_per_process, N as the reference and M "
                             "benchmarked, in turn each round (this cmflow both times).")
    parser.add_argument("--quick", action="store_true", help="100 workflows, 20 s, 10 s idle, no alignment.")
    arguments = parser.parse_args()
    if arguments.quick:
        arguments.workflows, arguments.seconds, arguments.idle_seconds = 100, 20, 10
        arguments.no_align = True
    schedules = arguments.schedules or list(FAST_SCHEDULES)
    command = [arguments.cmflow] if arguments.cmflow else cmflow_command()

    with tempfile.TemporaryDirectory(prefix="cmflow-daemon-bench-") as temporary:
        work = Path(temporary)
        posts = work / "posts.csv"
        write_posts(posts, datetime.now(UTC))
        expected_startup = None
        if not arguments.skip_idle:
            idle = idle_phase(command, work, arguments.workflows, arguments.max_parallel, arguments.idle_seconds, posts)
            expected_startup = idle.startup
            print(f"Idle phase: {arguments.workflows} workflows, none due (once a day)")
            print("\n| idle | |")
            print("|---|---:|")
            print(f"| start-up (launch to daemon_started) | {idle.startup:.1f} s |")
            print(f"| first pass (catch-up and health of every workflow) | {idle.settle:.1f} s |")
            print(f"| daemon CPU over {idle.window:.0f} s idle | {idle.cpu_percent:.1f} % of one core |")
            print(f"| daemon RSS | {idle.rss_mb:.0f} MB |")
            print(f"| stop (SIGTERM to exit) | {idle.stop_seconds:.1f} s, exit code {idle.exit_code} |")
            after = after_runs_phase(command, work, arguments.workflows, arguments.max_parallel,
                                     arguments.idle_seconds, posts)
            print(f"| daemon CPU over {after.window:.0f} s after the last of {after.runs} runs ended "
                  f"| {after.cpu_percent:.1f} % of one core |")
        if not arguments.skip_at_once:
            rounds = []
            modes = [int(n) for n in arguments.runs_per_process.split(",")] if arguments.runs_per_process else []
            for _ in range(arguments.rounds):
                if len(modes) == 2:
                    for role, mode in zip(("reference", "benchmarked"), modes):
                        rounds.append(AtOnceRound(role, at_once_phase(
                            command, work, arguments.workflows, arguments.max_parallel, posts, mode),
                            f"runs_per_process={mode}"))
                    continue
                if arguments.reference:
                    rounds.append(AtOnceRound("reference", at_once_phase(
                        [arguments.reference], work, arguments.workflows, arguments.max_parallel, posts)))
                rounds.append(AtOnceRound("benchmarked", at_once_phase(
                    command, work, arguments.workflows, arguments.max_parallel, posts)))
            report_at_once(rounds, arguments.workflows, arguments.max_parallel)
        if not arguments.skip_fast:
            fast_phase(command, work, arguments.workflows, arguments.max_parallel, arguments.seconds, schedules, posts,
                       None if arguments.no_align or expected_startup is None else expected_startup)


if __name__ == "__main__":
    main()
