#!/usr/bin/env python3
"""Scale-out: 2,000 workflows fetching from one rate-limited API, on 1, 2 and 4 worker processes.

Why: issue 19 takes cmflow past one machine. Runs spread over worker processes must go faster
with more workers while every worker together stays within each platform's limit per token,
which only a budget shared in Redis (cmflow.http.shared_budget) can promise.

What it does:

1. Writes ``--workflows`` (2,000) workflow files, one Mastodon account each (statuses and
   follower count, ``posts_published`` and ``totals``), the accounts grouped ``--per-token``
   (50) to an application token, as an agency has them.
2. Serves a Mastodon instance from a loopback HTTP server in this process: every answer waits
   ``--latency-ms`` (50) first; each token may make ``--limit`` (100) requests per fixed
   ``--window`` (10 s), told in ``X-RateLimit-*`` headers, and gets 429 beyond (counted).
   A run makes two requests (the account's lookup, one page of statuses).
3. For each worker count of ``--workers`` (1,2,4): a fresh SQLite store (``--store
   postgresql://USER:PASSWORD@HOST/DB``: a fresh database on that PostgreSQL server, dropped
   after), the budgets shared in a fresh Redis prefix (``--redis``, default
   ``CMFLOW_TEST_REDIS`` or redis://127.0.0.1:6379/0), and N worker processes, each warmed up
   (``cmflow.daemon.worker.warm_up``) and then running its share of the RunRequests through
   :func:`run_share` (``cmflow.daemon.worker.execute``, as the daemon's local executor does).
   ``--celery``: N real ``cmflow worker --concurrency 1`` processes instead, on a queue of their
   own with ``--redis`` as broker, every run sent by the daemon's ``CeleryExecutor`` and its
   outcome read back as the daemon does (:func:`run_on_celery`).
4. Prints, per worker count: runs per second, CPU seconds per run (the workers' own, and
   Redis's), the cores the workers kept busy (their CPU / wall time), requests and 429s as the server counted them, the most requests in flight per
   token, the store's size; then a projection, from the measured per-run cost, of the workers,
   cores, tokens and store size that serve 10,000 and 100,000 accounts (``--runs-per-day``,
   ``--retention-days``).

Checks (exit 1): a run that did not end ``ok``, or a 429 while budgets are shared. Times are
printed, never checked. ``--per-process-budgets`` runs the same load with budgets of each run's
own (cmflow before issue 19), to see the 429s the shared budgets avoid. ``--quick``: 80
workflows per worker count (240 runs: a run costs about 130 ms of CPU, so 200 per count would
take two minutes of CPU on their own), in under a minute on an idle 2-core machine.

Run: ``.venv/bin/python benchmarks/scale_out.py --quick [--celery] [--store postgresql://...]``
(see benchmarks/README.md). The second line printed says which mode the figures come from.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit

STATUSES_PER_ACCOUNT = 3
REQUESTS_PER_RUN = 2


# -- the API ---------------------------------------------------------------------------------------
class MastodonInstance:
    """A loopback Mastodon that limits each token to ``limit`` requests per fixed ``window``."""

    def __init__(self, *, latency: float, limit: int, window: float, now: datetime) -> None:
        self.latency, self.limit, self.window, self.now = latency, limit, window, now
        self.requests: Counter[str] = Counter()
        self.throttled: Counter[str] = Counter()
        self.max_in_flight: Counter[str] = Counter()
        self.peak_window: Counter[str] = Counter()
        """The most requests of one token answered within one window (the limit is ``limit``)."""
        self._in_flight: Counter[str] = Counter()
        self._windows: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()
        instance = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802
                instance.serve(self)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def reset_counts(self) -> None:
        with self._lock:
            for counter in (self.requests, self.throttled, self.max_in_flight, self.peak_window):
                counter.clear()

    def serve(self, request: BaseHTTPRequestHandler) -> None:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        now = time.time()
        with self._lock:
            self.requests[token] += 1
            start = now - now % self.window
            window_start, used = self._windows.get(token, (start, 0))
            if window_start != start:
                used = 0
            allowed = used < self.limit
            used += allowed
            self._windows[token] = (start, used)
            self.peak_window[token] = max(self.peak_window[token], used)
            if allowed:
                self._in_flight[token] += 1
                self.max_in_flight[token] = max(self.max_in_flight[token], self._in_flight[token])
            else:
                self.throttled[token] += 1
        reset = datetime.fromtimestamp(start + self.window, timezone.utc).isoformat().replace("+00:00", "Z")
        headers = {"X-RateLimit-Limit": str(self.limit), "X-RateLimit-Remaining": str(self.limit - used),
                   "X-RateLimit-Reset": reset}
        if not allowed:
            self.answer(request, 429, {"error": "Too many requests"}, headers)
            return
        try:
            time.sleep(self.latency)
            status, body = self.route(request.path)
        finally:
            with self._lock:
                self._in_flight[token] -= 1
        self.answer(request, status, body, headers)

    def route(self, target: str) -> tuple[int, Any]:
        parts = urlsplit(target)
        if parts.path == "/api/v1/accounts/lookup":
            name = parse_qs(parts.query).get("acct", [""])[0]
            return 200, account(name)
        if parts.path.startswith("/api/v1/accounts/") and parts.path.endswith("/statuses"):
            name = f"brand-{parts.path.split('/')[4]}"
            days = [*range(1, STATUSES_PER_ACCOUNT + 1), 40]  # the last one is older than the window
            return 200, [status(name, day, self.now - timedelta(days=day)) for day in days]
        return 404, {"error": "Record not found"}

    @staticmethod
    def answer(request: BaseHTTPRequestHandler, status_code: int, body: Any, headers: dict[str, str]) -> None:
        content = json.dumps(body).encode()
        request.send_response(status_code)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(content)))
        for name, value in headers.items():
            request.send_header(name, value)
        request.end_headers()
        request.wfile.write(content)


def account(name: str) -> dict[str, Any]:
    number = name.removeprefix("brand-")
    return {"id": number, "username": name, "acct": name, "url": f"https://mastodon.example/@{name}",
            "followers_count": 1000 + int(number or 0)}


def status(name: str, day: int, at: datetime) -> dict[str, Any]:
    return {"id": f"{name.removeprefix('brand-')}{day:03d}", "created_at": at.isoformat().replace("+00:00", "Z"),
            "content": f"<p>Post {day} of {name}</p>", "visibility": "public", "reblog": None,
            "favourites_count": 10 + day, "replies_count": day, "reblogs_count": 2, "media_attachments": [],
            "url": f"https://mastodon.example/@{name}/{day}", "language": "en"}


# -- workflows and workers -------------------------------------------------------------------------
WORKFLOW = """\
[workflow]
name = "brand-{number}"
id = "brand-{number}"
timezone = "UTC"
period = "7d"
schedule = "every hour"

[[sources]]
id = "mastodon"
plugin = "mastodon"
base_url = "{url}"
accounts = ["brand-{number}"]
token = "${{env:MASTODON_TOKEN_{token}}}"
allow_private_network = true

[[metrics]]
plugin = "posts_published"

[[metrics]]
plugin = "totals"
counters = ["likes", "comments", "shares"]
"""


def write_workflows(folder: Path, count: int, per_token: int, url: str) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for index in range(count):
        path = folder / f"brand-{index:05d}.toml"
        path.write_text(WORKFLOW.format(number=f"{index:05d}", token=index // per_token, url=url))
        files.append(path)
    return files


def run_share(requests: list) -> list:
    """One worker's share of the runs, one after another, as a daemon's local executor runs each
    (``--celery`` sends them to ``cmflow worker`` processes instead: :func:`run_on_celery`)."""
    from cmflow.daemon.worker import execute

    return [execute(request) for request in requests]


def worker_main(share_file: str) -> None:
    """A worker process: warm up, say so, wait for the go, run its share, report."""
    from cmflow.daemon.worker import RunRequest, warm_up

    share = json.loads(Path(share_file).read_text())
    requests = [RunRequest(r["file"], r["key"], datetime.fromisoformat(r["slot"]), r["store"],
                           timedelta(minutes=10)) for r in share]
    warm_up()
    print("ready", flush=True)
    sys.stdin.readline()  # the go
    cpu = time.process_time()
    outcomes = run_share(requests)
    print(json.dumps({"cpu": time.process_time() - cpu,
                      "statuses": Counter(o.status for o in outcomes),
                      "errors": [o.error for o in outcomes if o.status != "ok"][:3]}), flush=True)


def redis_cpu(client: Any) -> float:
    info = client.info("cpu")
    return float(info["used_cpu_sys"]) + float(info["used_cpu_user"])


class BenchStore:
    """The store of one worker count: a fresh SQLite file, or a fresh database on the
    PostgreSQL server of ``--store`` (created here, dropped after); its size in bytes."""

    def __init__(self, folder: Path, workers: int, server_url: str | None) -> None:
        self.folder, self.workers, self.engine = folder, workers, None
        if server_url is None:
            self.url = f"sqlite:///{folder / f'store-{workers}.db'}"
            return
        import sqlalchemy as sa

        admin_url = sa.make_url(server_url)
        if admin_url.drivername == "postgresql":
            admin_url = admin_url.set(drivername="postgresql+psycopg")
        self.name = f"cmflow_bench_{os.getpid()}_{workers}_{time.time_ns() % 10**9}"
        self.engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with self.engine.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{self.name}"'))
        self.url = admin_url.set(database=self.name).render_as_string(hide_password=False)

    def size(self) -> int:
        if self.engine is None:  # the SQLite file and its write-ahead log
            return sum(p.stat().st_size for p in self.folder.glob(f"store-{self.workers}.db*"))
        import sqlalchemy as sa

        with self.engine.connect() as connection:
            return int(connection.execute(sa.text("SELECT pg_database_size(:name)"), {"name": self.name}).scalar())

    def drop(self) -> None:
        if self.engine is not None:
            import sqlalchemy as sa

            with self.engine.connect() as connection:
                connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
            self.engine.dispose()


def tree_cpu(pid: int) -> float:
    """CPU seconds (user and system) of a live process and its live descendants, from /proc."""
    total, tick = 0.0, os.sysconf("SC_CLK_TCK")
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(child) for child in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            pass
    return total


def run_on_celery(workers: int, requests: list[dict[str, Any]], broker: str, env: dict[str, str],
                  folder: Path, go: Callable[[], None]) -> list[dict[str, Any]]:
    """Send every run through real ``cmflow worker`` processes (one run at a time each) by the
    daemon's :class:`~cmflow.daemon.celery_executor.CeleryExecutor`, on a queue of its own;
    each worker's report: its CPU from the go to the last outcome, and the outcomes."""
    import redis

    from cmflow.daemon.celery_app import CeleryOptions, key_prefix
    from cmflow.daemon.celery_executor import CeleryExecutor
    from cmflow.daemon.worker import RunRequest

    queue = f"bench-{os.getpid()}-{workers}-{time.time_ns() % 10**9}"
    command = [str(Path(sys.executable).with_name("cmflow")), "worker", "--broker", broker, "--queue", queue,
               "--concurrency", "1", "--log-format", "json"]
    logs = [folder / f"worker-{workers}-{index}.log" for index in range(workers)]
    processes = []
    for log in logs:
        with open(log, "wb") as stderr:  # the store: CMFLOW_STORE in env, no password on the command line
            processes.append(subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                              stderr=stderr, env=env, start_new_session=True))
    try:
        deadline = time.monotonic() + 120
        for process, log in zip(processes, logs):
            while "ready." not in log.read_text(errors="replace"):
                assert process.poll() is None and time.monotonic() < deadline, \
                    f"a worker did not start:\n{log.read_text(errors='replace')[-2000:]}"
                time.sleep(0.1)
        executor = CeleryExecutor(CeleryOptions(broker=broker, queue=queue), max_parallel=len(requests))
        runs = [RunRequest(r["file"], r["key"], datetime.fromisoformat(r["slot"]), r["store"],
                           timedelta(minutes=10)) for r in requests]
        cpu = [tree_cpu(process.pid) for process in processes]
        go()
        for run in runs:
            executor.submit(run)
        outcomes: list = []
        while len(outcomes) < len(runs):
            outcomes += executor.poll(datetime.now(timezone.utc))
            time.sleep(0.25)  # as a daemon's tick; 80 reads every 20 ms would be most of Redis's load
        cpu = [tree_cpu(process.pid) - before for process, before in zip(processes, cpu)]
    finally:
        for process in processes:
            process.terminate()  # SIGTERM: a warm shutdown of an idle worker
        for process in processes:
            process.wait(timeout=60)
        client = redis.Redis.from_url(broker)
        for key in client.scan_iter(match=f"{key_prefix(queue)}*"):
            client.delete(key)
        client.delete(queue)
        client.close()
    statuses = Counter(o.status for o in outcomes)
    reports = [{"cpu": used, "statuses": {}, "errors": []} for used in cpu]
    reports[0].update(statuses=statuses, errors=[o.error for o in outcomes if o.status != "ok"][:3])
    return reports


def run_on_processes(workers: int, requests: list[dict[str, Any]], env: dict[str, str], folder: Path,
                     go: Callable[[], None]) -> list[dict[str, Any]]:
    """Split the runs in ``workers`` shares, each run by a process of this script through
    :func:`run_share`; each worker's report."""
    processes = []
    for index in range(workers):
        share_file = folder / f"share-{workers}-{index}.json"
        share_file.write_text(json.dumps(requests[index::workers]))
        processes.append(subprocess.Popen([sys.executable, __file__, "--worker-of", str(share_file)],
                                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env))
    for process in processes:
        assert process.stdout.readline().strip() == "ready", "a worker did not start"
    go()
    for process in processes:
        process.stdin.write("go\n")
        process.stdin.flush()
    reports = [json.loads(process.stdout.readline()) for process in processes]
    for process in processes:
        process.wait()
    return reports


def measure(workers: int, files: list[Path], slot: datetime, folder: Path, api: MastodonInstance,
            redis_url: str | None, env: dict[str, str], args: argparse.Namespace) -> dict[str, Any]:
    """Run every workflow once on ``workers`` processes (or ``cmflow worker``s, ``--celery``);
    what it took."""
    import redis

    from cmflow.store import open_store

    store = BenchStore(folder, workers, args.store)
    with open_store(store.url):
        pass  # migrated once here, not raced by the workers
    empty_bytes = store.size()
    requests = [{"file": str(f), "key": f.stem, "slot": slot.isoformat(), "store": store.url} for f in files]
    prefix = f"cmflow:bench:{os.getpid()}:{workers}:{time.time_ns()}"
    child_env = {**env, "CMFLOW_SHARED_BUDGETS_PREFIX": prefix, "CMFLOW_STORE": store.url}
    child_env.pop("CMFLOW_SHARED_BUDGETS", None)
    if redis_url:
        child_env["CMFLOW_SHARED_BUDGETS"] = redis_url
    client = redis.Redis.from_url(redis_url) if redis_url else None  # the budgets' Redis, for its CPU
    started: list[float] = []
    redis_before: list[float] = []

    def go() -> None:  # every worker is ready: from here on it counts
        redis_before.append(redis_cpu(client) if client else 0.0)
        api.reset_counts()
        started.append(time.monotonic())

    try:
        if args.celery:
            reports = run_on_celery(workers, requests, args.redis, child_env, folder, go)
        else:
            reports = run_on_processes(workers, requests, child_env, folder, go)
        wall = time.monotonic() - started[0]
        redis_used = redis_cpu(client) - redis_before[0] if client else 0.0
        store_bytes = store.size()
    finally:
        store.drop()
    if client:
        for key in client.scan_iter(match=f"{prefix}:*"):
            client.delete(key)
        client.close()
    statuses = sum((Counter(r["statuses"]) for r in reports), Counter())
    return {"workers": workers, "runs": len(files), "wall": wall, "runs_per_s": len(files) / wall,
            "cpu": sum(r["cpu"] for r in reports), "redis_cpu": redis_used, "statuses": dict(statuses),
            "errors": [e for r in reports for e in r["errors"]][:3],
            "requests": sum(api.requests.values()), "throttled": sum(api.throttled.values()),
            "max_in_flight": max(api.max_in_flight.values(), default=0),
            "peak_window": max(api.peak_window.values(), default=0),
            "store_bytes": store_bytes, "empty_store_bytes": empty_bytes}


# -- the projection --------------------------------------------------------------------------------
def project(results: list[dict[str, Any]], args: argparse.Namespace) -> None:
    best = max(results, key=lambda r: r["runs_per_s"])
    one = min(results, key=lambda r: r["workers"])
    per_worker = one["runs_per_s"] / one["workers"]
    cpu_per_run = sum(r["cpu"] for r in results) / sum(r["runs"] for r in results)
    bytes_per_run = (best["store_bytes"] - best["empty_store_bytes"]) / best["runs"]
    token_rate = args.limit / args.window
    print(f"\nProjection: one run per account {args.runs_per_day:g} times a day, {REQUESTS_PER_RUN} requests a run, "
          f"{args.per_token} accounts per token, run history kept {args.retention_days} days.")
    print(f"From the measures: {per_worker:.2f} runs/s per worker process (the 1-worker run: each worker's "
          f"runs one after another), {cpu_per_run * 1000:.0f} ms CPU per run, "
          f"{bytes_per_run / 1024:.1f} KiB of store per run.")
    print(f"{'accounts':>10} {'runs/s':>8} {'workers':>8} {'cores':>6} {'req/s/token':>12} "
          f"{'token limit':>12} {'store':>10}")
    for accounts in (10_000, 100_000):
        runs_per_s = accounts * args.runs_per_day / 86400
        workers = math.ceil(runs_per_s / per_worker)
        cores = math.ceil(runs_per_s * cpu_per_run)
        per_token = args.per_token * args.runs_per_day * REQUESTS_PER_RUN / 86400
        store_gib = bytes_per_run * accounts * args.runs_per_day * args.retention_days / 2**30
        print(f"{accounts:>10,} {runs_per_s:>8.1f} {workers:>8} {cores:>6} {per_token:>12.3f} "
              f"{token_rate:>12.2f} {store_gib:>8.1f} GiB")
    print("Workers: runs wait on the API (latency) more than on CPU, so a host runs more worker processes "
          "than it has cores (the cores column is the CPU floor). Store: at these sizes and write rates, "
          "PostgreSQL (the [postgres] extra); SQLite is one host's store. The token limit column is this "
          "benchmark's; a platform's real one decides how many accounts a token can serve.")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workflows", type=int, default=2000)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--per-token", type=int, default=50, help="accounts per application token")
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--limit", type=int, default=100, help="requests per token per window")
    parser.add_argument("--window", type=float, default=10.0, help="seconds of a rate window")
    parser.add_argument("--redis", default=os.environ.get("CMFLOW_TEST_REDIS") or "redis://127.0.0.1:6379/0")
    parser.add_argument("--per-process-budgets", action="store_true",
                        help="budgets of each run's own (no Redis), as before issue 19")
    parser.add_argument("--runs-per-day", type=float, default=24.0)
    parser.add_argument("--retention-days", type=int, default=90)
    parser.add_argument("--quick", action="store_true", help="80 workflows per worker count")
    parser.add_argument("--celery", action="store_true",
                        help="send the runs through real `cmflow worker` processes (Celery, the --redis broker)")
    parser.add_argument("--store", help="a PostgreSQL server URL (postgresql://USER:PASSWORD@HOST/DB): each worker "
                                        "count gets a fresh database on it; default a SQLite file")
    parser.add_argument("--worker-of", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker_of:
        worker_main(args.worker_of)
        return 0
    if args.quick:
        args.workflows = min(args.workflows, 80)
    slot = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    api = MastodonInstance(latency=args.latency_ms / 1000, limit=args.limit, window=args.window, now=slot)
    redis_url = None if args.per_process_budgets else args.redis
    tokens = math.ceil(args.workflows / args.per_token)
    env = {**os.environ, **{f"MASTODON_TOKEN_{t}": f"bench-token-{t:04d}-{os.urandom(6).hex()}" for t in range(tokens)},
           "CMFLOW_LOAD_PLUGINS": ""}
    print(f"{args.workflows} workflows, {tokens} tokens, {args.latency_ms:g} ms latency, {args.limit} requests "
          f"per token per {args.window:g} s; budgets "
          f"{'per run (no Redis)' if redis_url is None else 'shared in Redis'}; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    from cmflow.store.urls import display_url

    runs_on = (f"cmflow worker processes (Celery, broker {display_url(args.redis)}), one run at a time each"
               if args.celery else "processes of this script calling cmflow.daemon.worker.execute")
    store = f"a fresh PostgreSQL database on {display_url(args.store)}" if args.store else "a fresh SQLite file"
    print(f"Runs on: {runs_on}; store: {store} per worker count")
    print(f"{'workers':>7} {'runs/s':>7} {'wall s':>7} {'CPU ms/run':>10} {'cores busy':>10} {'Redis ms/run':>12} {'requests':>8} "
          f"{'429s':>5} {'peak/window':>11} {'in flight':>9} {'store KiB':>9}  statuses")
    results, failed = [], False
    with tempfile.TemporaryDirectory(prefix="cmflow-scale-out-") as temporary:
        folder = Path(temporary)
        for workers in [int(w) for w in args.workers.split(",")]:
            files = write_workflows(folder / f"workflows-{workers}", args.workflows, args.per_token, api.url)
            result = measure(workers, files, slot, folder, api, redis_url, env, args)
            results.append(result)
            print(f"{workers:>7} {result['runs_per_s']:>7.1f} {result['wall']:>7.1f} "
                  f"{result['cpu'] / result['runs'] * 1000:>10.0f} {result['cpu'] / result['wall']:>10.2f} "
                  f"{result['redis_cpu'] / result['runs'] * 1000:>12.2f} "
                  f"{result['requests']:>8} {result['throttled']:>5} {result['peak_window']:>5}/{args.limit:<5} "
                  f"{result['max_in_flight']:>9} "
                  f"{result['store_bytes'] / 1024:>9.0f}  {result['statuses']}", flush=True)
            if set(result["statuses"]) != {"ok"}:
                failed = True
                print(f"   CHECK FAILED: runs that did not end ok: {result['errors']}")
            if redis_url and result["throttled"]:
                failed = True
                print("   CHECK FAILED: the API answered 429 while the budgets were shared")
    project(results, args)
    api.server.shutdown()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
