"""A takeover under the Celery executor, with real processes: two ``cmflow daemon`` processes with
``executor = "celery"`` sharing one PostgreSQL store and a Redis queue, and ``cmflow worker``
processes. The scheduling daemon is killed with kill -9 while one run is under way on a worker
and another waits for it in Redis; the daemon standing by takes over within the lease's bound,
sends what the store says is owed (the same slots again: their messages meet the first ones in
the queue) and no slot is lost or run twice.

Judged from outside: the store's run rows per slot, the e-mails a loopback SMTP server received
(matched to the outbox by Message-ID), the feed's requests and the daemons' JSON logs.
"""

from __future__ import annotations

import os
import signal
from datetime import datetime, timezone

import pytest

from celery_workers import celery_settings, start_worker, store_url  # noqa: F401  (fixtures)
from daemon_process import (  # noqa: F401  (fixtures: daemon_folder, start_daemon, gated_feed)
    daemon_folder, daily_slot_this_minute, gated_feed, parse_slot, runs_of, smtp_workflow, start_daemon, write)
from shared_servers import unique_name
from test_standby_daemon import TAKEOVER_BOUND, assert_each_slot_once, logged_at

pytest.importorskip("celery")

LEASE = 'lease = "3s"\n'


@pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize("workers", [1, 2])
def test_kill_9_of_the_scheduler_under_celery_the_standby_takes_over_with_no_slot_lost_or_run_twice(
        tmp_path, daemon_folder, store_url, start_daemon, start_worker, gated_feed, redis_url, smtp_server,
        workers):
    """A sends Slow (held on the feed, running on a worker) and then Steady. With one worker,
    Steady waits for it in Redis; with two, it runs. kill -9 of A: B takes over, finds both slots
    unfinished in the store and sends them again (with two workers Steady may already have finished,
    and then nothing of it is owed). Each slot ends with one finished run and one e-mail: the copies
    B sent find the slot busy (Slow, while its first run goes on) or done."""
    mailbox, port = smtp_server()
    # The held run must not reach its timeout while the test waits on a loaded machine: with 10 s,
    # its time limit could stop it before the gate opens, which is another test.
    celery_settings(daemon_folder, redis_url, unique_name("cmflow_takeover"), run_timeout="2m",
                    visibility_timeout="3m", extra=LEASE)
    pool = [start_worker(name) for name in "ab"[:workers]]
    for worker in pool:
        worker.wait_until_ready()
    # Each file is written in the minute of its one slot (a daemon owes a new workflow's slot for
    # a minute at most), so that a slow start on a loaded machine cannot leave it unowed.
    write(daemon_folder / "slow.toml", smtp_workflow("Slow", port, schedule=daily_slot_this_minute(latest_second=45),
                                                     feed=gated_feed.url))
    a = start_daemon()
    a.wait_for("leading")
    slow = a.wait_for("started", workflow="Slow")
    b = start_daemon()
    b.wait_for("standing_by")
    gated_feed.wait_for_request(a)
    steady_schedule = daily_slot_this_minute(latest_second=50)
    write(daemon_folder / "steady.toml", smtp_workflow("Steady", port, schedule=steady_schedule))
    steady = a.wait_for("started", workflow="Steady")  # sent: on the second worker, or waiting in Redis
    assert b.events("started") == []

    os.kill(a.pid, signal.SIGKILL)
    killed_at = datetime.now(timezone.utc)
    a.wait_exit()
    took = b.wait_for("leading")
    takeover = logged_at(took) - killed_at
    print(f"takeover under celery after kill -9: {takeover.total_seconds():.1f} s")
    assert takeover < TAKEOVER_BOUND
    b.wait_for("started", workflow="Slow")  # owed again: its run has not finished
    gated_feed.open_gate()

    for label, workflow in ((slow["run"], "Slow"), (steady["run"], "Steady")):
        def ended(label=label, workflow=workflow):
            if [e for e in b.events("finished", run=label) if e["status"] != "busy"]:
                return True
            # With two workers Steady may finish on its worker before A is killed: the store then
            # owes B nothing, B sends no copy, and the slot's one ok row is its end.
            return not b.events("started", run=label) and [r.status for r in runs_of(store_url, workflow)] == ["ok"]

        b.wait_until(ended, f"the end of {label}")
        heard = [e["status"] for e in b.events("finished", run=label)]
        assert heard or not b.events("started", run=label)  # a copy B sent is heard to its end
        assert heard in ([], ["ok"], ["done"]) or (set(heard[:-1]) == {"busy"} and heard[-1] in ("ok", "done")), heard
    b.wait_until(lambda: all(r.status != "running" for w in ("Slow", "Steady") for r in runs_of(store_url, w)),
                 "the copies of the runs to end")
    b.signal(signal.SIGTERM)
    assert b.wait_exit() == 0, b.tail()
    assert [r.status for r in runs_of(store_url, "Slow")] == ["ok"]
    assert [(r.slot, r.status) for r in runs_of(store_url, "Steady")] == [(parse_slot(steady["slot"]), "ok")]
    assert gated_feed.requests == 1
    assert_each_slot_once(store_url, mailbox, b)
    assert all(worker.alive() for worker in pool)
    for worker in pool:
        assert "Traceback" not in worker.log.read_text(), worker.tail()
