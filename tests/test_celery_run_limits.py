"""Runs on Celery workers that a worker stops or loses, with real processes: a run past its
timeout (the worker kills it at its time limit and records it ``timeout``), a run whose pool
process is killed alone (reported interrupted at once, sent again by the daemon), and a daemon
stopped while its run is on a worker (the run ends there, and the next daemon finds its slot
done). The helpers are in
``tests/celery_workers.py``: a daemon with ``executor = "celery"``, ``cmflow worker`` processes on
the shared Redis (a queue of the test's own), a SQLite store, a feed that holds a run mid-fetch.
"""

from __future__ import annotations

import os
import signal
import time

import pytest

from daemon_process import (  # noqa: F401  (fixtures: daemon_folder, start_daemon, gated_feed)
    daemon_folder, daily_slot_this_minute, emails, gated_feed, parse_slot, run_locks, runs_of, start_daemon,
    workflow_text, write)
from loopback_smtp import free_port
from shared_servers import unique_name
from celery_workers import celery_settings, lock_owners, runs_per_slot, start_worker, store_url  # noqa: F401  (fixtures)

pytest.importorskip("celery")


@pytest.mark.parametrize("dies", ["at once", "slowly"])
def test_a_run_past_its_timeout_is_stopped_by_its_worker_and_recorded_timeout(
        tmp_path, daemon_folder, store_url, start_daemon, start_worker, gated_feed, redis_url, monkeypatch, dies):
    """A run held on a feed past its timeout (6 s): the worker kills its pool process at the
    time limit and records the run ``timeout`` in the store (its lock dropped); the daemon
    hears ``timeout``, and the slot counts as run: it is not tried again. The worker's metrics
    count it ``timeout`` (its pool process, killed, could not).

    ``slowly``: the worker waits seconds for the killed process to die before it records the run
    (here: a worker in a PID namespace of its own whose /proc is the host's, so the killed pool
    process cannot be seen gone); Celery tells the daemon of the time limit first, so the run
    must be recorded before that, or the daemon finds its row running and runs the slot again."""
    celery_settings(daemon_folder, redis_url, unique_name("cmflow_timeout"), run_timeout="6s",
                    visibility_timeout="1m")  # not handed back while the worker waits for its killed process
    metrics_port = free_port()
    if dies == "slowly":
        import subprocess

        import celery_workers

        if subprocess.run(["unshare", "--pid", "--fork", "true"], capture_output=True).returncode:
            pytest.skip("needs `unshare --pid` (root, or user namespaces)")
        monkeypatch.setattr(celery_workers, "CMFLOW", ["unshare", "--pid", "--fork", "--kill-child",
                                                       *celery_workers.CMFLOW])
    worker = start_worker("a", metrics_port=metrics_port)
    worker.wait_until_ready()
    schedule = daily_slot_this_minute(latest_second=50)
    write(daemon_folder / "held.toml", workflow_text("Held", tmp_path / "mail", feed=gated_feed.url,
                                                     schedule=schedule))
    daemon = start_daemon()
    started = daemon.wait_for("started", workflow="Held")
    finished = daemon.wait_for("finished", workflow="Held")
    assert finished["status"] == "timeout", daemon.tail()
    assert "timeout of 6s" in finished["message"]
    daemon.wait_until(lambda: runs_of(store_url, "Held")[0].status != "running", "the run's row to be ended")
    assert runs_per_slot(store_url, "Held") == {parse_slot(started["slot"]): ["timeout"]}
    assert runs_of(store_url, "Held")[0].error == "stopped after its timeout of 6s"
    assert run_locks(store_url) == []
    assert gated_feed.requests == 1
    assert worker.alive()
    assert finished["settled"] is True, finished  # the daemon's word: the slot is not tried again
    assert len(daemon.events("started", workflow="Held")) == 1
    assert runs_per_slot(store_url, "Held") == {parse_slot(started["slot"]): ["timeout"]}
    served = worker_samples(metrics_port)
    assert {labels: v for (name, labels), v in served.items() if name == "cmflow_worker_runs_total" and v} == {
        (("status", "timeout"),): 1}
    assert served[("cmflow_worker_run_duration_seconds_count", ())] == 1
    assert served[("cmflow_worker_runs_in_flight", ())] == 0


def worker_samples(port: int) -> dict[tuple[str, tuple], float]:
    import httpx
    from prometheus_client.parser import text_string_to_metric_families

    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


@pytest.mark.parametrize("store_url", ["sqlite", "postgresql"], indirect=True)
def test_a_pool_process_killed_mid_run_is_reported_interrupted_and_its_slot_tried_again(
        tmp_path, daemon_folder, store_url, start_daemon, start_worker, gated_feed, redis_url):
    """kill -9 of the run's own process (the worker's pool process) alone, as when a run runs out
    of memory: the worker records the run interrupted and acknowledges its message (it does not
    come back by itself); the daemon hears ``interrupted`` at once and sends the slot again after
    busy_retry, and the slot completes once. The worker itself lives on, and its metrics count
    the killed run (from its main process) as well as the one that ended. On a SQLite file and on
    PostgreSQL (whose URL holds a password: it never travels through Redis)."""
    mail = tmp_path / "mail"
    celery_settings(daemon_folder, redis_url, unique_name("cmflow_pool"))
    schedule = daily_slot_this_minute(latest_second=50)
    metrics_port = free_port()
    worker = start_worker("a", metrics_port=metrics_port)
    write(daemon_folder / "held.toml", workflow_text("Held", mail, feed=gated_feed.url, schedule=schedule))
    daemon = start_daemon()
    started = daemon.wait_for("started", workflow="Held")
    gated_feed.wait_for_request(daemon)
    [owner] = lock_owners(store_url)
    run_pid = int(owner.split(":")[-2])  # host:pid:token of the process holding the run lock
    assert run_pid != worker.process.pid
    os.kill(run_pid, signal.SIGKILL)
    gated_feed.open_gate()

    daemon.wait_for("finished", workflow="Held", status="interrupted")
    daemon.wait_for("finished", workflow="Held", status="ok")
    history = runs_of(store_url, "Held")
    assert [(r.slot, r.status) for r in reversed(history)] == [(parse_slot(started["slot"]), "interrupted"),
                                                               (parse_slot(started["slot"]), "ok")]
    assert "the worker's process running it died" in history[1].error
    assert gated_feed.requests == 2
    assert len(emails(mail, "Held")) == 1
    assert lock_owners(store_url) == []
    assert worker.alive()
    assert [e["status"] for e in daemon.events("finished")] == ["interrupted", "ok"]  # heard at once
    assert len(daemon.events("started", workflow="Held")) == 2  # sent again by the daemon
    # The worker's metrics (cmflow worker --metrics-address), summed over its pool's processes:
    # the killed run counted by the main process, the other by its pool process.
    served = worker_samples(metrics_port)
    assert served[("cmflow_worker_runs_total", (("status", "ok"),))] == 1
    assert served[("cmflow_worker_runs_total", (("status", "interrupted"),))] == 1
    assert sum(v for (name, _), v in served.items() if name == "cmflow_worker_runs_total") == 2
    assert served[("cmflow_worker_run_duration_seconds_count", ())] == 2
    assert served[("cmflow_worker_runs_in_flight", ())] == 0


def test_a_daemon_stopped_leaves_its_run_to_the_worker_and_finds_the_slot_done(
        tmp_path, daemon_folder, store_url, start_daemon, start_worker, gated_feed, redis_url):
    """SIGTERM to the daemon while its run is on a worker: the daemon waits stop_timeout (1 s),
    reports the run interrupted and exits 0; the run goes on on its worker and records itself.
    A daemon started next finds the slot done and runs nothing: one run, one e-mail."""
    mail = tmp_path / "mail"
    celery_settings(daemon_folder, redis_url, unique_name("cmflow_stop"))
    with open(daemon_folder / "cmflow-daemon.toml", "a", encoding="utf-8") as settings:
        settings.write('stop_timeout = "1s"\n')
    schedule = daily_slot_this_minute(latest_second=50)
    worker = start_worker("a")
    write(daemon_folder / "held.toml", workflow_text("Held", mail, feed=gated_feed.url, schedule=schedule))
    first = start_daemon()
    started = first.wait_for("started", workflow="Held")
    gated_feed.wait_for_request(first)
    first.signal(signal.SIGTERM)
    assert first.wait_exit() == 0, first.tail()
    assert [e["status"] for e in first.events("finished", workflow="Held")] == ["interrupted"]
    gated_feed.open_gate()
    first.wait_until(lambda: runs_of(store_url, "Held")[0].status == "ok", "the run to end on its worker",
                     dead_ok=True)

    second = start_daemon()
    second.wait_for("scheduled", workflow="Held")
    time.sleep(2.0)  # reload_every and busy_retry are 1 s: a slot owed would have started by now
    assert second.events("started", workflow="Held") == []
    assert runs_per_slot(store_url, "Held") == {parse_slot(started["slot"]): ["ok"]}
    assert gated_feed.requests == 1
    assert len(emails(mail, "Held")) == 1
    assert worker.alive()


def test_a_pool_process_killed_after_its_commit_counts_as_run_and_is_not_sent_again(
        tmp_path, daemon_folder, store_url, start_daemon, start_worker, redis_url, monkeypatch):
    """kill -9 of the run's pool process while it delivers its webhook messages, after its results
    were committed: the worker records it interrupted, the daemon hears that its slot counts as
    run and never sends it again; the daemon's outbox pump delivers what the run had not sent."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent / "faults"))
    from outbox_helpers import HOOK_PATH, HOOK_VARIABLE, drill_workflow, slow_receiver, tally, wait_for

    receiver = slow_receiver(delay=1.0)
    try:
        monkeypatch.setenv(HOOK_VARIABLE, receiver.url + HOOK_PATH)  # the worker and the daemon read it
        celery_settings(daemon_folder, redis_url, unique_name("cmflow_commit"))
        schedule = daily_slot_this_minute(latest_second=50)
        worker = start_worker("a")
        text = drill_workflow(tmp_path, max_concurrency=1).read_text(encoding="utf-8")
        write(daemon_folder / "drill.toml", text.replace("compare = []\n", f'compare = []\nschedule = "{schedule}"\n'))
        daemon = start_daemon()
        started = daemon.wait_for("started", workflow="Fault drill")
        daemon.wait_until(lambda: len(receiver.requests) >= 1, "the run's first message")  # sent after the commit
        [owner] = lock_owners(store_url)
        run_pid = int(owner.split(":")[-2])
        assert run_pid != worker.process.pid
        os.kill(run_pid, signal.SIGKILL)

        ended = daemon.wait_for("finished", workflow="Fault drill", status="interrupted")
        assert "its slot counts as run" in ended["message"], ended
        assert ended["settled"] is True, ended  # the daemon's word: the slot is not sent again
        wait_for(lambda: len(tally(store_url, receiver).delivered) == 8, "the pump delivering the rest", 60)
        assert len(daemon.events("started", workflow="Fault drill")) == 1, daemon.tail()
        [run] = runs_of(store_url, "Fault drill")
        assert (run.slot, run.status, run.committed_at is not None) == (parse_slot(started["slot"]), "interrupted",
                                                                         True)
        assert "the worker's process running it died" in run.error and "counts as run" in run.error, run.error
        drill = tally(store_url, receiver)
        assert drill.lost == 0 and drill.duplicated <= 1, drill
        assert worker.alive()
    finally:
        receiver.stop()
