"""Real ``cmflow worker`` processes for tests, beside a real daemon (``tests/daemon_process.py``):
the daemon settings that send runs to them, a worker process and its JSON log, a private Redis a
test may stop and start, and the runs of a workflow per slot. Used by ``test_celery_workers.py``
and ``test_celery_run_limits.py``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from cmflow_command import CMFLOW
from daemon_process import DEADLINE, JsonLog, poll_interval, runs_of, write
from loopback_smtp import free_port

RUN_TIMEOUT = "10s"
VISIBILITY_TIMEOUT = "11s"
"""Just over the run timeout: a dead worker's run is delivered again within about 15 s."""
OUTAGE = 30.0
"""Seconds Redis stays stopped in the outage test."""


def celery_settings(folder: Path, broker: str, queue: str, run_timeout: str = RUN_TIMEOUT, extra: str = "",
                    visibility_timeout: str = VISIBILITY_TIMEOUT) -> None:
    """The settings file of daemons (and workers, given it with --config) sending runs to
    ``queue`` on ``broker``; ``extra``: more lines of its [daemon] table."""
    write(folder / "cmflow-daemon.toml", f"""\
[daemon]
reload_every = "1s"
busy_retry = "1s"
executor = "celery"
broker = "{broker}"
queue = "{queue}"
run_timeout = "{run_timeout}"
visibility_timeout = "{visibility_timeout}"
{extra}""")


class WorkerProcess:
    """One ``cmflow worker`` (in a session of its own, with its pool) and its JSON log lines."""

    def __init__(self, name: str, folder: Path, store_url: str, log: Path, cwd: Path,
                 metrics_port: int | None = None) -> None:
        self.name = name
        self.log = log
        self._log = JsonLog(log)
        metrics = ["--metrics-address", f"127.0.0.1:{metrics_port}"] if metrics_port else []
        env = {**os.environ, "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}
        with open(log, "ab") as stderr:
            self.process = subprocess.Popen(
                [*CMFLOW, "worker", "--config", str(folder / "cmflow-daemon.toml"), "--store", store_url,
                 "--concurrency", "1", "--log-format", "json", *metrics],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr, cwd=cwd, env=env,
                start_new_session=True)

    def alive(self) -> bool:
        return self.process.poll() is None

    def lines(self) -> list[dict[str, Any]]:
        return self._log.lines()

    def said(self, *words: str) -> bool:
        return any(all(word in entry.get("message", "") for word in words) for entry in self.lines())

    def wait_until_ready(self) -> None:
        deadline = time.monotonic() + DEADLINE
        while True:
            began = time.monotonic()
            if self.said("ready."):
                return
            if not self.alive():
                pytest.fail(f"worker {self.name} exited ({self.process.returncode}):\n{self.tail()}")
            if time.monotonic() > deadline:
                pytest.fail(f"worker {self.name} not ready within {DEADLINE:.0f} s:\n{self.tail()}")
            time.sleep(poll_interval(began, 0.1))

    def kill_group(self) -> None:
        """SIGKILL the worker's session: its main process, its pool and the run under way."""
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


@pytest.fixture
def start_worker(tmp_path: Path, daemon_folder: Path, store_url: str):
    started: list[WorkerProcess] = []

    def start(name: str, metrics_port: int | None = None) -> WorkerProcess:
        worker = WorkerProcess(name, daemon_folder, store_url, tmp_path / f"worker-{name}.log", tmp_path,
                               metrics_port)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.kill_group()


@pytest.fixture
def store_url(request, tmp_path: Path):
    """A SQLite file, or with ``indirect`` parametrisation "postgresql", a database of its own on
    the PostgreSQL test server (its URL has a password: workers are given it with --store)."""
    if getattr(request, "param", "sqlite") == "sqlite":
        yield f"sqlite:///{tmp_path / 'state.db'}"
        return
    from shared_servers import fresh_postgres_database

    url, drop = fresh_postgres_database()
    from cmflow.store import open_store

    open_store(url).close()  # migrated once here: a worker and the daemon starting together both would
    yield url
    drop()


class PrivateRedis:
    """A redis-server of this test's own on a free loopback port, appending every write to a
    file (as a production Redis would persist), so that a restart keeps its queues."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.folder.mkdir(exist_ok=True)
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder),
             "--appendonly", "yes", "--save", "", "--protected-mode", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + DEADLINE
        while subprocess.run(["redis-cli", "-p", str(self.port), "ping"], capture_output=True,
                             text=True).stdout.strip() != "PONG":
            assert self.process.poll() is None, "redis-server exited"
            assert time.monotonic() < deadline, "redis-server did not answer"
            time.sleep(0.1)

    def stop(self) -> None:
        """SIGTERM: Redis writes what it holds to its file and exits."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=DEADLINE)


@pytest.fixture
def private_redis(tmp_path: Path):
    if not any(os.access(os.path.join(p, "redis-server"), os.X_OK) for p in os.environ["PATH"].split(os.pathsep)):
        pytest.skip("needs redis-server on PATH to start a private Redis")
    redis = PrivateRedis(tmp_path / "redis")
    redis.start()
    yield redis
    if redis.process is not None and redis.process.poll() is None:
        redis.process.kill()
        redis.process.wait()


def runs_per_slot(store_url: str, workflow: str) -> dict[Any, list[str]]:
    """The statuses of a workflow's runs, by slot, oldest run first."""
    by_slot: dict[Any, list[str]] = {}
    for run in reversed(runs_of(store_url, workflow)):
        by_slot.setdefault(run.slot, []).append(run.status)
    return by_slot


def lock_owners(store_url: str) -> list[str]:
    """The owners (host:pid:token) of the workflows' run locks held in the store, whatever its
    database (:func:`daemon_process.run_locks`, the daemon's own health-check lock left out)."""
    from daemon_process import run_locks

    return [owner for _, owner in run_locks(store_url)]
