"""Runs on Celery workers, with real processes: a ``cmflow daemon`` with ``executor = "celery"``,
two ``cmflow worker`` processes, Redis, and a SQLite store.

Faults: a worker killed with kill -9 (with its pool) mid-run, and Redis stopped for 30 s while a
run is under way and another slot comes due. Each is judged from outside: the store's run rows
per slot (none lost, none doubled), the e-mails the runs write, the requests the feed received,
and the processes still alive. The Redis that is stopped is a private one this file starts on a
free loopback port; the shared test server only carries queues named for one test.
"""

from __future__ import annotations

import time

import pytest

from celery_workers import OUTAGE, celery_settings, private_redis, runs_per_slot, start_worker  # noqa: F401
from daemon_process import (  # noqa: F401  (fixtures: daemon_folder, start_daemon, gated_feed)
    daemon_folder, daily_slot_this_minute, emails, gated_feed, parse_slot, run_locks, runs_of, start_daemon,
    workflow_text, write)
from shared_servers import unique_name

pytest.importorskip("celery")


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



def test_a_worker_killed_on_another_machine_frees_its_slot_within_the_run_lock_lease(
        tmp_path, daemon_folder, store_url, start_daemon, start_worker, gated_feed, redis_url, monkeypatch):
    """kill -9 of a worker running in a PID namespace of its own, as on another machine: its
    run's process cannot be judged from here, only its lock's lease (3 s) tells that it died.
    The visibility timeout is long (5 min), so Redis does not hand the message back during the
    test: the daemon, looking at the run every lease, finds its lock lapsed with its row still
    running, reports it interrupted, and sends the slot again, which the other worker completes.
    Before run locks had a heartbeat, the slot stayed busy until the lock's expiry (the run's
    timeout and 5 minutes). The run's timeout (2 min) is far off: no time limit interferes."""
    import subprocess
    from datetime import datetime, timezone

    import celery_workers

    elsewhere_command = ["unshare", "--pid", "--fork", "--mount-proc", "--kill-child"]
    if subprocess.run([*elsewhere_command, "true"], capture_output=True).returncode:
        pytest.skip("needs `unshare --pid --mount-proc` (root, or user namespaces) to run a worker as on "
                    "another host")
    mail = tmp_path / "mail"
    celery_settings(daemon_folder, redis_url, unique_name("cmflow_lease"), run_timeout="2m",
                    visibility_timeout="5m", extra='run_lock_lease = "3s"\n')
    with monkeypatch.context() as elsewhere:
        elsewhere.setattr(celery_workers, "CMFLOW", [*elsewhere_command, *celery_workers.CMFLOW])
        remote = start_worker("remote")
    remote.wait_until_ready()
    schedule = daily_slot_this_minute(latest_second=50)  # the daemon starts within the slot's minute
    write(daemon_folder / "held.toml", workflow_text("Held", mail, feed=gated_feed.url, schedule=schedule))
    daemon = start_daemon()
    started = daemon.wait_for("started", workflow="Held")
    label, slot = started["run"], parse_slot(started["slot"])
    gated_feed.wait_for_request(daemon)
    local = start_worker("local")  # started once the remote one holds the run: it cannot take it first
    local.wait_until_ready()
    remote.kill_group()
    killed_at = datetime.now(timezone.utc)
    gated_feed.open_gate()

    lost = daemon.wait_for("finished", workflow="Held", status="interrupted")
    assert "stopped renewing its lock (lease 3s)" in lost["message"], lost
    finished = daemon.wait_for("finished", workflow="Held", status="ok")
    assert finished["run"] == label
    history = runs_of(store_url, "Held")
    assert [(r.slot, r.status) for r in reversed(history)] == [(slot, "interrupted"), (slot, "ok")]
    rerun = history[0].started_at - killed_at
    print(f"slot run again {rerun.total_seconds():.1f} s after its worker was killed (run lock lease 3 s)")
    assert rerun.total_seconds() < 40  # the lease, a look every lease, busy_retry; not timeout + 5 min
    assert local.said(label, "succeeded"), local.tail()
    assert gated_feed.requests == 2
    assert len(emails(mail, "Held")) == 1
    assert run_locks(store_url) == []
    assert [e["status"] for e in daemon.events("finished")] == ["interrupted", "ok"]
