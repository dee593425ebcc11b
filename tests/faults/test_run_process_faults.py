"""A daemon's run process that serves several runs (``[daemon] runs_per_process``), killed with
SIGKILL mid-run: only the run under way is cut short; it is tried again once, in a fresh
process, and its slot completes once; what the process ran before is kept.

Judged from outside, as the other fault tests (``tests/daemon_process.py``): the daemon's JSON
log (runs started and finished per slot, and the process of each), the store's run rows and
locks, and the e-mails the runs write.
"""

from __future__ import annotations

import os
import signal
from collections import Counter

from daemon_process import (  # noqa: F401  (fixtures: daemon_folder, start_daemon, gated_feed)
    daemon_folder, daily_slot_this_minute, email_writes, emails, gated_feed, parse_slot, run_locks, runs_of,
    start_daemon, workflow_text, write)


def test_kill_9_of_a_warm_run_process_mid_run_retries_its_run_once(tmp_path, daemon_folder, store_url,
                                                                   start_daemon, gated_feed):
    """One run at a time: ``a-quick`` runs first (files in order, same slot), then ``b-slow``
    in the same process, held on its feed. That process is killed with SIGKILL. Proves: the
    slow run ends ``interrupted`` and is started once more, in another process, and completes
    (slot started twice, finished ok once, its e-mail written once); the quick run the killed
    process had served keeps its one ``ok`` row and e-mail; no row left running, no lock held."""
    mail = tmp_path / "mail"
    settings = daemon_folder / "cmflow-daemon.toml"
    settings.write_text(settings.read_text(encoding="utf-8") + "max_parallel_runs = 1\nruns_per_process = 100\n",
                        encoding="utf-8")
    schedule = daily_slot_this_minute()  # one slot each: nothing else comes due during the test
    write(daemon_folder / "a-quick.toml", workflow_text("Quick", mail, schedule=schedule))
    write(daemon_folder / "b-slow.toml", workflow_text("Slow", mail, feed=gated_feed.url, schedule=schedule))
    daemon = start_daemon()
    quick = daemon.wait_for("finished", workflow="Quick")
    gated_feed.wait_for_request(daemon)
    [(_, owner)] = run_locks(store_url)
    warm = int(owner.split(":")[1])  # host:pid:token
    assert quick["status"] == "ok" and quick["pid"] == warm, (quick, owner)  # the slow run is its second

    os.kill(warm, signal.SIGKILL)
    killed = daemon.wait_for("finished", workflow="Slow", status="interrupted")
    gated_feed.open_gate()  # the retry's fetch is answered
    done = daemon.wait_for("finished", workflow="Slow", status="ok")
    daemon.signal(signal.SIGTERM)
    assert daemon.wait_exit() == 0, daemon.tail()

    assert killed["pid"] == warm and "killed by signal 9" in killed["message"], killed
    assert done["pid"] != warm and done["run"] == killed["run"], done
    started = Counter(e["run"] for e in daemon.events("started"))
    finished = Counter((e["run"], e["status"]) for e in daemon.events("finished"))
    assert started == {quick["run"]: 1, killed["run"]: 2}, started
    assert finished == {(quick["run"], "ok"): 1, (killed["run"], "interrupted"): 1, (killed["run"], "ok"): 1}
    slot = parse_slot(daemon.events("started", workflow="Slow")[0]["slot"])
    assert [(r.slot, r.status) for r in reversed(runs_of(store_url, "Slow"))] == [(slot, "interrupted"), (slot, "ok")]
    assert [r.status for r in runs_of(store_url, "Quick")] == ["ok"]
    assert len(emails(mail, "Slow")) == 1 and len(email_writes([daemon], "Slow", mail)) == 1
    assert len(emails(mail, "Quick")) == 1
    assert run_locks(store_url) == []
