"""A Celery worker's pool processes serve several runs as the local run processes do
(docs/daemon.md, "Runs on Celery workers"): what a run changed in its process is put back before
the next, Celery replaces a process after ``runs_per_process`` runs, and a process a run left
unfit (a thread still running, a run ``crashed``) leaves after that run.

One real worker (``tests/celery_pool_worker.py``: cmflow's worker code, a prefork pool of one
process) is started once for the module, on the Redis test server; runs are sent to it as the
daemon sends them (``cmflow.run`` tasks carrying a RunRequest) and their outcomes read back from
Redis. Each run records, before it starts, the state it finds and its pid; then it changes what a
plugin might. A run on a store that cannot be opened ends ``crashed``, which also starts each test
in a fresh pool process, whatever ran before.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from daemon_process import workflow_text, write
from shared_servers import REDIS_VARIABLE, server_url, unique_name

pytest.importorskip("celery")

TESTS = Path(__file__).resolve().parent
RUNS_PER_PROCESS = 3
DEADLINE = 60.0


class PoolWorker:
    """The module's worker, its folder and how to send it runs."""

    def __init__(self, folder: Path) -> None:
        from cmflow.daemon.celery_app import CeleryOptions, celery_app

        self.folder = folder
        self.broker = server_url(REDIS_VARIABLE, "a Redis server")
        self.queue = unique_name("cmflow_pool")
        self.log = folder / "worker.log"
        self.store_url = f"sqlite:///{folder / 'state.db'}"
        (folder / "a file").write_text("not a folder", encoding="utf-8")
        self.nowhere = f"sqlite:///{folder / 'a file' / 'state.db'}"  # cannot be created: the run crashes
        self.client = celery_app(CeleryOptions(self.broker, self.queue))
        self.minute = 0
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}
        with open(self.log, "wb") as stderr:
            self.process = subprocess.Popen(
                [sys.executable, str(TESTS / "celery_pool_worker.py"), str(folder), self.broker, self.queue,
                 str(RUNS_PER_PROCESS)], cwd=folder, env=env, stdin=subprocess.DEVNULL, stdout=stderr,
                stderr=stderr, start_new_session=True)

    def run(self, name: str, store_url: str | None = None) -> str:
        """Run the workflow ``name`` (written once) for the next slot; its outcome's status."""
        from cmflow.daemon.celery_app import TASK_NAME
        from cmflow.daemon.run_messages import request_message
        from cmflow.daemon.worker import RunRequest

        file = self.folder / "flows" / f"{name}.toml"
        if not file.exists():
            write(file, workflow_text(name, self.folder / "mail").replace(f'name = "{name}"',
                                                                          f'name = "{name}"\nid = "{name}"'))
        self.minute += 1
        slot = datetime(2026, 11, 23, 8, tzinfo=timezone.utc) + timedelta(minutes=self.minute)
        request = RunRequest(str(file), name, slot, store_url or self.store_url, timedelta(minutes=5),
                             file.read_text(encoding="utf-8"), log_format="json")
        sent = self.client.send_task(TASK_NAME, args=[request_message(request)], task_id=request.label,
                                     queue=self.queue)
        try:
            outcome = sent.get(timeout=DEADLINE)
        except Exception as exc:
            pytest.fail(f"{request.label}: {exc!r}\n{self.tail()}")
        sent.forget()  # the shared Redis keeps nothing of this test's
        return outcome["status"]

    def seen(self) -> list[dict]:
        """What each run found, in the order the runs started."""
        path = self.folder / "seen.jsonl"
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []

    def unacknowledged(self) -> int:
        """Messages of the queue a worker took and has not acknowledged (Redis would hand them
        to a worker again once their visibility timeout passed)."""
        import redis

        from cmflow.daemon.celery_app import key_prefix

        with redis.Redis.from_url(self.broker) as client:
            return client.hlen(f"{key_prefix(self.queue)}unacked")

    def tail(self) -> str:
        return "\n".join(self.log.read_text(encoding="utf-8", errors="replace").splitlines()[-30:])

    def stop(self) -> None:
        try:
            os.killpg(self.process.pid, 9)
        except ProcessLookupError:
            pass
        self.process.wait()


@pytest.fixture(scope="module")
def pool_worker(tmp_path_factory):
    worker = PoolWorker(tmp_path_factory.mktemp("pool"))
    try:
        yield worker
    finally:
        worker.stop()


def runs_since(worker: PoolWorker, before: int, count: int) -> list[dict]:
    deadline = time.monotonic() + DEADLINE
    while len(seen := worker.seen()[before:]) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(seen) == count, (seen, worker.tail())
    return seen


def test_a_pool_process_puts_back_what_a_run_changed_and_is_replaced_after_its_runs(pool_worker):
    """After a crashed run (its process leaves), three runs in one fresh pool process: each of
    the second and third finds the process as the first found it (environment, time zone,
    folder, secrets, signal handling, loggers, umask, no alarm left), though each run changed
    all of it; after runs_per_process (3) runs, Celery replaces the process."""
    before = len(pool_worker.seen())
    statuses = [pool_worker.run("Quick", pool_worker.nowhere)] + [pool_worker.run("Quick") for _ in range(4)]
    assert statuses == ["crashed", "ok", "ok", "ok", "ok"], pool_worker.tail()
    crashed, first, second, third, fourth = runs_since(pool_worker, before, 5)
    assert crashed["pid"] != first["pid"] == second["pid"] == third["pid"] != fourth["pid"]
    assert first["secret"] == "run-one-secret" and first["alarm_left"] == 0  # what a fresh process finds
    for later in (second, third):
        assert later == first, {key: (first[key], later[key]) for key in first if first[key] != later[key]}


def test_a_pool_process_a_run_left_a_thread_in_leaves_after_that_run(pool_worker):
    """A run that leaves a thread of its own running ends ``ok`` and its outcome comes back, but
    its process serves no other run (the thread might act during it): the next run is in a
    fresh process. A crashed run's process leaves too (the first run here)."""
    before = len(pool_worker.seen())
    statuses = [pool_worker.run("Quick", pool_worker.nowhere), pool_worker.run("Quick"),
                pool_worker.run("threaded"), pool_worker.run("Quick")]
    assert statuses == ["crashed", "ok", "ok", "ok"], pool_worker.tail()
    crashed, quick, threaded, after = runs_since(pool_worker, before, 4)
    assert crashed["pid"] != quick["pid"] == threaded["pid"] != after["pid"]
    assert pool_worker.process.poll() is None, pool_worker.tail()
    # The runs whose process left were acknowledged all the same (the worker's main process does
    # it just after the outcome is stored, which is when the test sees it):
    deadline = time.monotonic() + 10
    while pool_worker.unacknowledged() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert pool_worker.unacknowledged() == 0, pool_worker.tail()
