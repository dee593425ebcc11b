"""The workers' metrics in a real Celery worker (prefork pool, Redis broker): runs counted by
status in the pool's children and served by the main process, a run in flight while it runs,
and a child killed with SIGKILL mid-run: its run leaves the in-flight gauge, the runs it counted
before stay counted, and its replacement counts on. Counts are read with prometheus-client's
parser and compared with the tasks sent.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from shared_servers import unique_name

TESTS = Path(__file__).resolve().parent
DEADLINE = 60.0


def samples(port: int) -> dict[tuple[str, tuple], float]:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def runs(found: dict) -> dict[str, float]:
    return {dict(labels)["status"]: value for (name, labels), value in found.items()
            if name == "cmflow_worker_runs_total" and value}


def wait_until(check, what: str, worker: subprocess.Popen, log: Path):
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        if worker.poll() is not None:
            pytest.fail(f"the worker exited ({worker.returncode}) before {what}:\n{log.read_text()[-3000:]}")
        time.sleep(0.1)
    pytest.fail(f"no {what} within {DEADLINE:.0f} s:\n{log.read_text()[-3000:]}")


def test_a_prefork_worker_serves_the_runs_of_its_children_and_forgets_a_killed_one_in_flight(
        tmp_path, redis_url):
    from celery import Celery

    queue = unique_name("cmflow_metrics")
    log = tmp_path / "worker.log"
    env = {**os.environ, "CMFLOW_TEST_REDIS": redis_url, "CMFLOW_TEST_METRICS_ADDRESS": "127.0.0.1:0",
           "CMFLOW_TEST_METRICS_DIR": str(tmp_path / "multiprocess"), "CMFLOW_TEST_WORKER_FOLDER": str(tmp_path),
           "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with open(log, "wb") as output:
        worker = subprocess.Popen([sys.executable, "-m", "celery", "-A", "worker_metrics_app", "worker",
                                   "--pool", "prefork", "--concurrency", "2", "--queues", queue,
                                   "--loglevel", "warning", "--without-gossip", "--without-mingle",
                                   "--without-heartbeat"],
                                  cwd=tmp_path, env=env, stdout=output, stderr=subprocess.STDOUT,
                                  start_new_session=True)
    client = Celery("cmflow_metrics_test", broker=redis_url)
    try:
        port = int(wait_until(lambda: (tmp_path / "port").exists() and (tmp_path / "port").read_text(),
                              "the metrics port", worker, log))
        assert samples(port).get(("cmflow_worker_runs_in_flight", ())) == 0
        sent = ["ok", "ok", "failed", "undelivered"]
        for status in sent:
            client.send_task("cmflow_test.stand_in_run", args=[status], queue=queue)
        client.send_task("cmflow_test.stand_in_run", args=["ok", True], queue=queue)

        held = wait_until(lambda: list(tmp_path.glob("held-*")), "the held run", worker, log)
        found = wait_until(lambda: (lambda s: s if sum(runs(s).values()) == len(sent) else None)(samples(port)),
                           "the runs counted", worker, log)
        assert runs(found) == {"ok": 2, "failed": 1, "undelivered": 1}
        assert found[("cmflow_worker_runs_in_flight", ())] == 1
        assert found[("cmflow_worker_run_duration_seconds_count", ())] == len(sent)

        child = int(held[0].name.removeprefix("held-"))
        assert child != worker.pid  # a pool child ran it, not the main process
        os.kill(child, signal.SIGKILL)
        after = wait_until(lambda: (lambda s: s if s[("cmflow_worker_runs_in_flight", ())] == 0 else None)(
            samples(port)), "the killed run out of flight", worker, log)
        assert runs(after) == {"ok": 2, "failed": 1, "undelivered": 1}  # the killed run ended no way

        (tmp_path / "gate").write_text("", encoding="utf-8")
        client.send_task("cmflow_test.stand_in_run", args=["ok"], queue=queue)  # a replacement child counts
        final = wait_until(lambda: (lambda s: s if runs(s).get("ok") == 3 else None)(samples(port)),
                           "the run after the kill", worker, log)
        assert runs(final) == {"ok": 3, "failed": 1, "undelivered": 1}
        assert final[("cmflow_worker_runs_in_flight", ())] == 0
        assert final[("cmflow_worker_run_duration_seconds_count", ())] == len(sent) + 1
    finally:
        try:
            os.killpg(worker.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        worker.wait()
        with client.connection_for_write() as connection:  # the queue and its leftovers
            connection.default_channel.queue_delete(queue)
