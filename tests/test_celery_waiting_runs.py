"""Runs sent to Celery workers that wait in Redis because no worker takes them (all dead, or
none started yet): the daemon's metrics count them as waiting, not in flight, and measure a run's
start lateness when a worker starts it, not when it was sent. Real processes: a ``cmflow daemon``
with ``executor = "celery"`` serving its metrics, a ``cmflow worker`` started only after the run
has waited, the shared Redis (a queue of the test's own), a SQLite store.
"""

from __future__ import annotations

import re
import time
from datetime import datetime, timezone

import pytest

from celery_workers import celery_settings, runs_per_slot, start_worker  # noqa: F401  (fixture)
from daemon_process import (  # noqa: F401  (fixtures: daemon_folder, start_daemon)
    daemon_folder, daily_slot_this_minute, parse_slot, start_daemon, workflow_text, write)
from shared_servers import unique_name
from test_operator_metrics import scrape

pytest.importorskip("celery")


@pytest.fixture
def store_url(tmp_path):
    return f"sqlite:///{tmp_path / 'state.db'}"


def test_a_run_no_worker_takes_waits_and_is_late_from_its_real_start(
        tmp_path, daemon_folder, store_url, start_daemon, start_worker, redis_url):
    celery_settings(daemon_folder, redis_url, unique_name("cmflow_waiting"))
    write(daemon_folder / "fine.toml", workflow_text("Fine", tmp_path / "mail",
                                                     schedule=daily_slot_this_minute(latest_second=45)))
    daemon = start_daemon("--metrics-address", "127.0.0.1:0")
    url = re.search(r"http://\S+/metrics", daemon.wait_for("metrics")["message"]).group(0)
    sent = daemon.wait_for("started", workflow="Fine")  # sent to the queue; no worker runs
    waiting = daemon.wait_until(lambda: (lambda s: s if s[("cmflow_runs_waiting_for_a_worker", ())] == 1 else None)(
        scrape(url)), "the run counted as waiting")
    assert waiting[("cmflow_runs_in_flight", ())] == 0
    assert waiting[("cmflow_run_start_lateness_seconds_count", ())] == 0  # not started: no lateness yet

    time.sleep(3.0)  # the run waits in Redis
    worker_started_at = datetime.now(timezone.utc)
    start_worker("a").wait_until_ready()
    finished = daemon.wait_for("finished", workflow="Fine")
    assert finished["status"] == "ok", daemon.tail()
    done = scrape(url)
    assert done[("cmflow_runs_waiting_for_a_worker", ())] == 0
    assert done[("cmflow_runs_in_flight", ())] == 0
    assert done[("cmflow_run_start_lateness_seconds_count", ())] == 1
    # Late from its slot to when the worker started it, which came after the worker itself:
    # at least as late as that, and later than when the run was sent.
    slot = parse_slot(sent["slot"])
    assert done[("cmflow_run_start_lateness_seconds_sum", ())] >= (worker_started_at - slot).total_seconds()
    assert done[("cmflow_run_start_lateness_seconds_sum", ())] > sent["seconds"]
    assert runs_per_slot(store_url, "Fine") == {slot: ["ok"]}
