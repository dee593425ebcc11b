"""Runs on Celery workers that die by their own doing, and runs that could outlast the broker's
visibility timeout.

A run whose process dies each time it runs (out of memory, say): the worker records each death
``interrupted`` and acknowledges the message, so the daemon hears each one at once and tries the
slot a bounded number of times (as with the local executor), rather than the message coming back
to kill pool process after pool process for hours unheard. Real processes: a ``cmflow daemon``
with ``executor = "celery"``, a ``cmflow worker``, the shared Redis (a queue of the test's own), a
SQLite store; each try's pool process is killed with kill -9 while it waits on a feed.

A workflow whose own ``timeout`` is not shorter than the visibility timeout is refused when the
daemon loads it under the celery executor (a second worker would be handed a run still under way).
"""

from __future__ import annotations

import os
import signal
import time
from datetime import timedelta

import pytest

from celery_workers import celery_settings, lock_owners, runs_per_slot, start_worker  # noqa: F401  (fixture)
from daemon_process import (  # noqa: F401  (fixtures: daemon_folder, start_daemon, gated_feed)
    daemon_folder, daily_slot_this_minute, gated_feed, parse_slot, run_locks, start_daemon, workflow_text, write)
from shared_servers import unique_name

pytest.importorskip("celery")


@pytest.fixture
def store_url(tmp_path):
    return f"sqlite:///{tmp_path / 'state.db'}"


def test_a_run_that_kills_its_own_process_each_time_is_tried_a_few_times_then_given_up(
        tmp_path, daemon_folder, store_url, start_daemon, start_worker, gated_feed, redis_url):
    """Each try's pool process is killed mid-run: the daemon hears ``interrupted`` each time and
    sends the slot again after busy_retry, three tries in all, then records the slot missed. The
    worker received the run three times (not once per restored message, for ever); three feed
    requests, three interrupted rows, no lock left, and no fourth try."""
    from cmflow.daemon.service import UNRECORDED_ATTEMPTS

    celery_settings(daemon_folder, redis_url, unique_name("cmflow_dying"))
    worker = start_worker("a")
    write(daemon_folder / "held.toml", workflow_text("Held", tmp_path / "mail", feed=gated_feed.url,
                                                     schedule=daily_slot_this_minute(latest_second=45)))
    daemon = start_daemon()
    started = daemon.wait_for("started", workflow="Held")
    label, slot = started["run"], parse_slot(started["slot"])
    killed: set[int] = set()
    for attempt in range(1, UNRECORDED_ATTEMPTS + 1):
        daemon.wait_until(lambda: gated_feed.requests >= attempt, f"try {attempt} waiting on the feed")
        [owner] = daemon.wait_until(lambda: [o for o in lock_owners(store_url)
                                             if int(o.split(":")[-2]) not in killed], f"try {attempt}'s lock")
        pid = int(owner.split(":")[-2])  # host:pid:token: the pool process running the try
        assert pid != worker.process.pid
        os.kill(pid, signal.SIGKILL)
        killed.add(pid)
        daemon.wait_until(lambda: len(daemon.events("finished", workflow="Held")) >= attempt,
                          f"the daemon to hear try {attempt} end")

    daemon.wait_for("missed", workflow="Held")
    time.sleep(3.0)  # busy_retry is 1 s: a fourth try would have started by now
    assert [e["status"] for e in daemon.events("finished", workflow="Held")] == ["interrupted"] * UNRECORDED_ATTEMPTS
    assert len(daemon.events("started", workflow="Held")) == UNRECORDED_ATTEMPTS
    received = [e for e in worker.lines() if label in e.get("message", "") and "received" in e["message"]]
    assert len(received) == UNRECORDED_ATTEMPTS, worker.tail()
    assert gated_feed.requests == UNRECORDED_ATTEMPTS
    assert runs_per_slot(store_url, "Held") == {slot: ["interrupted"] * UNRECORDED_ATTEMPTS}
    assert run_locks(store_url) == []
    assert daemon.alive() and worker.alive()


def _catalog_problems(folder, timeout: str, visibility_timeout: timedelta | None) -> list:
    from cmflow.daemon.catalog import WorkflowCatalog

    text = workflow_text("Long", folder / "mail").replace('schedule = "every minute"',
                                                          f'schedule = "every minute"\ntimeout = "{timeout}"')
    write(folder / "workflows" / "long.toml", text)
    catalog = WorkflowCatalog(folder / "workflows", f"sqlite:///{folder / 'state.db'}", visibility_timeout)
    return [problem for problems in catalog.refresh().invalid.values() for problem in problems]


@pytest.mark.parametrize("timeout, refused", [("3h", True), ("2h", True), ("119m", False)])
def test_a_workflow_timeout_not_shorter_than_the_visibility_timeout_is_refused_under_celery(
        tmp_path, timeout, refused):
    problems = _catalog_problems(tmp_path, timeout, timedelta(hours=2))
    assert [p.path for p in problems] == (["workflow.timeout"] if refused else [])
    if refused:
        assert "visibility_timeout (2h)" in problems[0].message
        assert "raise [daemon] visibility_timeout" in problems[0].hint


def test_the_local_executor_takes_any_workflow_timeout(tmp_path):
    assert _catalog_problems(tmp_path, "3h", None) == []


def test_the_daemon_under_celery_refuses_a_workflow_that_could_outlast_the_visibility_timeout(tmp_path):
    """The daemon's own catalog gets the bound from its settings: the celery executor's
    visibility timeout; the local executor's catalog has none."""
    from cmflow.daemon.service import Daemon
    from cmflow.daemon.settings import DaemonOptions, DaemonSettings

    def catalog_bound(**daemon):
        settings = DaemonSettings(None, DaemonOptions.model_validate(daemon))
        return Daemon(tmp_path, settings, f"sqlite:///{tmp_path / 'state.db'}").catalog.visibility_timeout

    assert catalog_bound(executor="celery", broker="redis://127.0.0.1:1/0", visibility_timeout="3h") == \
        timedelta(hours=3)
    assert catalog_bound() is None


def test_cmflow_status_shows_such_a_workflow_invalid_as_the_daemon_would(tmp_path):
    from click.testing import CliRunner

    from cmflow.cli import main

    folder = tmp_path / "workflows"
    _catalog_problems(tmp_path, "3h", None)  # writes long.toml
    write(folder / "cmflow-daemon.toml", '[daemon]\nexecutor = "celery"\nbroker = "redis://127.0.0.1:1/0"\n'
                                         'visibility_timeout = "2h"\n')
    done = CliRunner().invoke(main, ["status", str(folder), "--store", f"sqlite:///{tmp_path / 'state.db'}"],
                              env={"COLUMNS": "250"})
    assert "invalid" in done.output and "workflow.timeout" in done.output, done.output
