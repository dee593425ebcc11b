"""Runs on Celery workers, with real processes: a ``cmflow daemon`` with ``executor = "celery"``,
two ``cmflow worker`` processes, Redis, and a SQLite store.

Faults: a worker killed with kill -9 (with its pool) mid-run, and Redis stopped for 30 s while a
run is under way and another slot comes due. Each is judged from outside: the store's run rows
per slot (none lost, none doubled), the e-mails the runs write, the requests the feed received,
and the processes still alive. The Redis that is stopped is a private one this file starts on a
free loopback port; the shared test server only carries queues named for one test.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from cmflow.store import open_store
from cmflow_command import CMFLOW
from daemon_process import (  # noqa: F401  (fixtures: daemon_folder, start_daemon, gated_feed)
    DEADLINE, daemon_folder, daily_slot_this_minute, early_in_the_minute, email_writes, emails, gated_feed,
    parse_slot, run_locks, runs_of, start_daemon, workflow_text, write)
from loopback_smtp import free_port
from shared_servers import unique_name

pytest.importorskip("celery")

RUN_TIMEOUT = "10s"
VISIBILITY_TIMEOUT = "11s"
"""Just over the run timeout: a dead worker's run is delivered again within about 15 s."""
OUTAGE = 30.0
"""Seconds Redis stays stopped in the outage test."""


def celery_settings(folder: Path, broker: str, queue: str, run_timeout: str = RUN_TIMEOUT) -> None:
    write(folder / "cmflow-daemon.toml", f"""\
[daemon]
reload_every = "1s"
busy_retry = "1s"
executor = "celery"
broker = "{broker}"
queue = "{queue}"
run_timeout = "{run_timeout}"
visibility_timeout = "{VISIBILITY_TIMEOUT}"
""")


class WorkerProcess:
    """One ``cmflow worker`` (in a session of its own, with its pool) and its JSON log lines."""

    def __init__(self, name: str, folder: Path, store_url: str, log: Path, cwd: Path) -> None:
        self.name = name
        self.log = log
        env = {**os.environ, "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}
        with open(log, "ab") as stderr:
            self.process = subprocess.Popen(
                [*CMFLOW, "worker", "--config", str(folder / "cmflow-daemon.toml"), "--store", store_url,
                 "--concurrency", "1", "--log-format", "json"],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr, cwd=cwd, env=env,
                start_new_session=True)

    def alive(self) -> bool:
        return self.process.poll() is None

    def lines(self) -> list[dict[str, Any]]:
        entries = []
        for line in self.log.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("{"):
                try:
                    entries.append(json.loads(line))
                except json.JSONDecodeError:
                    pass
        return entries

    def said(self, *words: str) -> bool:
        return any(all(word in entry.get("message", "") for word in words) for entry in self.lines())

    def wait_until_ready(self) -> None:
        deadline = time.monotonic() + DEADLINE
        while not self.said("ready."):
            if not self.alive():
                pytest.fail(f"worker {self.name} exited ({self.process.returncode}):\n{self.tail()}")
            if time.monotonic() > deadline:
                pytest.fail(f"worker {self.name} not ready within {DEADLINE:.0f} s:\n{self.tail()}")
            time.sleep(0.1)

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

    def start(name: str) -> WorkerProcess:
        worker = WorkerProcess(name, daemon_folder, store_url, tmp_path / f"worker-{name}.log", tmp_path)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.kill_group()


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


def test_a_worker_killed_mid_run_has_its_run_completed_once_by_the_other(
        tmp_path, daemon_folder, store_url, start_daemon, start_worker, gated_feed, redis_url):
    """kill -9 of the worker (and its pool) running a slot, while the run waits on a feed: its
    message, never acknowledged, is delivered again to the other worker once the visibility
    timeout has passed; that run takes over the dead run's lock, ends its row (interrupted) and
    completes the slot. One finished run for the slot, one e-mail, two feed requests (one per
    try): none lost, none doubled."""
    mail = tmp_path / "mail"
    celery_settings(daemon_folder, redis_url, unique_name("cmflow_kill"))
    schedule = daily_slot_this_minute(latest_second=50)
    workers = [start_worker("a"), start_worker("b")]  # the run waits in the queue until one is ready
    write(daemon_folder / "held.toml", workflow_text("Held", mail, feed=gated_feed.url, schedule=schedule))
    daemon = start_daemon()
    for worker in workers:
        worker.wait_until_ready()
    started = daemon.wait_for("started", workflow="Held")
    label, slot = started["run"], parse_slot(started["slot"])
    gated_feed.wait_for_request(daemon)
    daemon.wait_until(lambda: any(w.said(label, "received") for w in workers), "a worker taking the run")
    killed, other = workers if workers[0].said(label, "received") else workers[::-1]
    killed.kill_group()
    assert runs_per_slot(store_url, "Held") == {slot: ["running"]}  # cut short, not recorded
    gated_feed.open_gate()

    finished = daemon.wait_for("finished", workflow="Held")
    assert finished["status"] == "ok", daemon.tail()
    assert other.said(label, "succeeded"), other.tail()
    assert runs_per_slot(store_url, "Held") == {slot: ["interrupted", "ok"]}  # the orphan row ended
    assert gated_feed.requests == 2
    sent = len([e for e in other.lines() if str(mail / "Held") in e.get("message", "") and "written to" in e["message"]])
    assert (sent, len(emails(mail, "Held"))) == (1, 1)
    assert run_locks(store_url) == []
    assert daemon.alive() and other.alive()
    assert [e["status"] for e in daemon.events("finished")] == ["ok"]  # reported once


def test_redis_stopped_for_30_s_loses_no_run_and_doubles_none(
        tmp_path, daemon_folder, store_url, start_daemon, start_worker, gated_feed, private_redis):
    """Redis stopped for 30 s while a run is under way on a worker: the run finishes meanwhile
    and its outcome reaches the daemon; a workflow added meanwhile has its slot kept in the
    daemon's queue (sending it fails) and run once Redis is back. Nothing crashes; each slot
    has one finished run and one e-mail."""
    mail = tmp_path / "mail"
    celery_settings(daemon_folder, private_redis.url, unique_name("cmflow_outage"))
    schedule = daily_slot_this_minute(latest_second=50)
    workers = [start_worker("a"), start_worker("b")]
    write(daemon_folder / "held.toml", workflow_text("Held", mail, feed=gated_feed.url, schedule=schedule))
    daemon = start_daemon()
    for worker in workers:
        worker.wait_until_ready()
    held = daemon.wait_for("started", workflow="Held")
    gated_feed.wait_for_request(daemon)

    private_redis.stop()
    stopped_at = time.monotonic()
    write(daemon_folder / "late.toml", workflow_text("Late", mail, schedule=daily_slot_this_minute(latest_second=55)))
    daemon.wait_for("broker")  # the run of Late could not be sent: Redis does not answer
    gated_feed.open_gate()  # Held's run finishes while Redis is down
    daemon.wait_until(lambda: runs_of(store_url, "Held")[0].status == "ok", "Held's run to finish")
    time.sleep(max(0.0, OUTAGE - (time.monotonic() - stopped_at)))
    assert daemon.alive() and all(w.alive() for w in workers)
    assert not daemon.events("started", workflow="Late")  # kept in the queue, not sent
    private_redis.start()

    late = daemon.wait_for("finished", workflow="Late")
    done = daemon.wait_for("finished", workflow="Held")
    assert (done["status"], late["status"]) == ("ok", "ok"), daemon.tail()
    assert done["run"] == held["run"]
    assert runs_per_slot(store_url, "Held") == {parse_slot(held["slot"]): ["ok"]}
    late_slots = runs_per_slot(store_url, "Late")
    assert list(late_slots.values()) == [["ok"]], late_slots
    assert gated_feed.requests == 1  # Held's run was not run a second time
    assert (len(emails(mail, "Held")), len(emails(mail, "Late"))) == (1, 1)
    assert run_locks(store_url) == []
    assert daemon.alive() and all(w.alive() for w in workers)
    assert [e["workflow"] for e in daemon.events("finished")].count("Held") == 1
    assert not [e for e in daemon.lines() if e.get("level") in ("error", "critical") and e.get("event") != "broker"]


def test_a_run_past_its_timeout_is_stopped_by_its_worker_and_recorded_timeout(
        tmp_path, daemon_folder, store_url, start_daemon, start_worker, gated_feed, redis_url):
    """A run held on a feed past its timeout (3 s): the worker kills its pool process at the
    time limit and records the run ``timeout`` in the store (its lock dropped); the daemon
    hears ``timeout``, and the slot counts as run: it is not tried again."""
    celery_settings(daemon_folder, redis_url, unique_name("cmflow_timeout"), run_timeout="3s")
    schedule = daily_slot_this_minute(latest_second=50)
    worker = start_worker("a")
    write(daemon_folder / "held.toml", workflow_text("Held", tmp_path / "mail", feed=gated_feed.url,
                                                     schedule=schedule))
    daemon = start_daemon()
    started = daemon.wait_for("started", workflow="Held")
    finished = daemon.wait_for("finished", workflow="Held")
    assert finished["status"] == "timeout", daemon.tail()
    assert "timeout of 3s" in finished["message"]
    daemon.wait_until(lambda: runs_of(store_url, "Held")[0].status != "running", "the run's row to be ended")
    assert runs_per_slot(store_url, "Held") == {parse_slot(started["slot"]): ["timeout"]}
    assert runs_of(store_url, "Held")[0].error == "stopped after its timeout of 3s"
    assert run_locks(store_url) == []
    assert gated_feed.requests == 1
    assert worker.alive()
    time.sleep(2.0)  # busy_retry is 1 s: a slot owed again would have started by now
    assert len(daemon.events("started", workflow="Held")) == 1
