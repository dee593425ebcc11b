"""``cmflow run`` and ``cmflow outbox flush`` under faults: stopped with SIGTERM or killed with
SIGKILL mid-delivery, a webhook receiver that is down and comes back, an SMTP server slower than
the output's timeout, and two runs of one workflow started at once. A command the fault is done
to (a signal, a kill, a race of two) is a real process; the commands after it, and those that
only meet a receiver's fault, run in the test's process (:func:`cmflow_in_process`: an
exception they let escape is raised there, where a process would print a traceback).

Every test counts from the receivers' own records (requests by idempotency key, e-mails by
Message-ID) and from the store: sent (marked delivered), received, duplicated (one key received
twice) and lost (queued, never received or never marked delivered).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from dataclasses import dataclass, field

import pytest
from click.testing import CliRunner

from cmflow.cli import main
from cmflow.store import PENDING, open_store

from cmflow_command import cmflow_in_process

from daemon_process import (  # noqa: F401  (fixture: gated_feed)
    emails, gated_feed, run_locks, runs_of, smtp_workflow, workflow_text, write)
from loopback_smtp import Mailbox, free_port
from outbox_helpers import (
    HOOK_PATH, HOOK_VARIABLE, cmflow_env, drill_workflow, queue_messages, slow_receiver, start_cmflow, tally,
    wait_for,
)

MESSAGES = 8
"""What the drill workflow's first run queues (one per account and format of the demo's posts)."""
DEADLINE = 60


def finish(process: subprocess.Popen) -> tuple[str, str]:
    """Wait for a cmflow process to end (killing it if it never does); its stdout and stderr."""
    try:
        return process.communicate(timeout=DEADLINE)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        raise AssertionError(f"cmflow did not end within {DEADLINE} s:\n{out}{err}") from None


def listing(store_url: str) -> str:
    """What ``cmflow outbox`` shows."""
    return CliRunner().invoke(main, ["outbox", "--store", store_url], env={"COLUMNS": "250"}).output


@pytest.fixture
def receiver():
    server = slow_receiver(delay=0.5)
    yield server
    server.stop()


# -- SIGTERM of a run mid-delivery -------------------------------------------------------------------
def test_sigterm_mid_delivery_finishes_the_messages_in_flight_and_records_the_run_interrupted(tmp_path, receiver):
    """What systemd does when it stops a timer's service: SIGTERM. The run finishes the messages
    it is sending (recorded delivered: none is sent twice), starts no other, gives back its claims
    and its lock, records itself interrupted with the reason, and exits 143. The next flush sends
    the rest: none lost, none duplicated."""
    path = drill_workflow(tmp_path, max_concurrency=2)
    store_url = f"sqlite:///{tmp_path / 'state.db'}"
    env = cmflow_env(store_url, receiver)
    run = start_cmflow("run", str(path), env=env, cwd=tmp_path)
    wait_for(lambda: len(receiver.requests) >= 3 or run.poll() is not None, "the run's third message")
    assert run.poll() is None, f"the run ended before it could be stopped:\n{finish(run)[1]}"
    run.send_signal(signal.SIGTERM)
    _, err = finish(run)
    assert run.returncode == 143, err
    assert "stopped by SIGTERM" in err and "cmflow outbox flush" in err, err
    assert "Traceback" not in err

    stopped = tally(store_url, receiver)
    assert set(stopped.received) == stopped.delivered, stopped  # every message received is recorded
    assert stopped.duplicated == 0 and 3 <= stopped.sent < MESSAGES, stopped
    with open_store(store_url) as store:
        left = store.outbox(status=PENDING)
    assert len(left) == MESSAGES - stopped.sent
    assert all(m.claim is None for m in left), [m.claim for m in left]  # claims given back
    assert run_locks(store_url) == []  # and the run lock
    [history] = runs_of(store_url, "Fault drill")
    assert history.status == "interrupted"
    assert "stopped by SIGTERM while delivering" in history.error

    flush = cmflow_in_process("outbox", "flush", "--store", store_url, env=env, cwd=tmp_path)
    out, err = flush.stdout, flush.stderr
    assert flush.returncode == 0, out + err
    assert f"{len(left)} delivered, 0 to retry later, 0 dead-lettered" in out
    counts = tally(store_url, receiver)
    assert (counts.lost, counts.duplicated, counts.sent) == (0, 0, MESSAGES), counts


def test_sigterm_before_the_results_are_kept_delivers_nothing_and_the_next_run_does_it_all(
        tmp_path, receiver, gated_feed):
    """SIGTERM while the run waits on a source: nothing committed, nothing sent, the run recorded
    interrupted; the next run queues and sends every message once."""
    path = drill_workflow(tmp_path)
    path.write_text(path.read_text(encoding="utf-8") + f'\n[[sources]]\nid = "press"\nplugin = "rss"\n'
                    f'feeds = ["{gated_feed.url}"]\nallow_private_network = true\n', encoding="utf-8")
    store_url = f"sqlite:///{tmp_path / 'state.db'}"
    env = {**cmflow_env(store_url, receiver), "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"}
    run = start_cmflow("run", str(path), env=env, cwd=tmp_path)
    wait_for(lambda: gated_feed.arrived.is_set() or run.poll() is not None, "the run's request to the feed")
    run.send_signal(signal.SIGTERM)
    gated_feed.open_gate()
    _, err = finish(run)
    assert run.returncode == 143, err
    assert "stopped by SIGTERM before the run's results were kept: nothing was delivered" in err, err
    assert receiver.requests == []
    [history] = runs_of(store_url, "Fault drill")
    assert history.status == "interrupted" and "stopped by SIGTERM" in history.error
    assert run_locks(store_url) == []

    again = cmflow_in_process("run", str(path), env=env, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    counts = tally(store_url, receiver)
    assert (counts.lost, counts.duplicated, counts.sent) == (0, 0, MESSAGES), counts


# -- kill -9 of a flush ---------------------------------------------------------------------------------
def test_a_flush_killed_mid_send_leaves_the_rest_to_the_next_flush(tmp_path, receiver, monkeypatch):
    path = drill_workflow(tmp_path, max_concurrency=2)
    store_url = f"sqlite:///{tmp_path / 'state.db'}"
    env = cmflow_env(store_url, receiver)
    monkeypatch.setenv(HOOK_VARIABLE, env[HOOK_VARIABLE])
    keys = queue_messages(store_url, path, "webhook", MESSAGES)
    flush = start_cmflow("outbox", "flush", "--store", store_url, env=env, cwd=tmp_path)
    wait_for(lambda: len(receiver.requests) >= 3 or flush.poll() is not None, "the flush's third message")
    assert flush.poll() is None, f"the flush ended before it could be killed:\n{finish(flush)}"
    os.kill(flush.pid, signal.SIGKILL)
    finish(flush)
    assert flush.returncode == -signal.SIGKILL

    with open_store(store_url) as store:
        left = store.outbox(status=PENDING)
    in_flight = [m for m in left if m.claim is not None and m.claim.pid == flush.pid]
    assert in_flight and all(not m.claim.live for m in in_flight)  # its process is gone: free to send

    again = cmflow_in_process("outbox", "flush", "--store", store_url, env=env, cwd=tmp_path)
    out, err = again.stdout, again.stderr
    assert again.returncode == 0, out + err
    assert f"{len(left)} delivered, 0 to retry later, 0 dead-lettered" in out
    counts = tally(store_url, receiver)
    assert counts.queued == set(keys), counts
    assert counts.lost == 0, counts
    assert counts.duplicated <= len(in_flight), counts
    assert max(counts.received.values()) <= 2, counts


# -- a receiver down, then back ------------------------------------------------------------------------
def test_a_receiver_down_during_the_run_gets_each_message_once_when_it_is_back(tmp_path):
    path = drill_workflow(tmp_path, max_concurrency=4)
    store_url = f"sqlite:///{tmp_path / 'state.db'}"
    port = free_port()  # nothing listens there yet: connection refused
    env = {**os.environ, "CMFLOW_STORE": store_url, HOOK_VARIABLE: f"http://127.0.0.1:{port}{HOOK_PATH}"}
    run = cmflow_in_process("run", str(path), env=env, cwd=tmp_path)
    err = run.stderr
    assert run.returncode == 3, err
    assert "refused" in err and "kept in the outbox" in err, err
    with open_store(store_url) as store:
        waiting = store.outbox(status=PENDING)
    assert len(waiting) == MESSAGES
    assert all(m.attempts >= 1 and m.next_attempt_at > m.created_at and "refused" in m.last_error
               for m in waiting), waiting
    shown = listing(store_url)
    assert shown.count("pending") == MESSAGES and "refused" in shown, shown

    receiver = slow_receiver(delay=0, port=port)  # the receiver is back, where it was
    try:
        early = cmflow_in_process("outbox", "flush", "--store", store_url, env=env, cwd=tmp_path)
        out, err = early.stdout, early.stderr
        assert early.returncode == 3, out + err  # not due yet: nothing sent, said when
        assert "0 delivered" in out and f"{MESSAGES} message(s) still waiting" in err and "due at" in err, err
        assert receiver.requests == []

        now = cmflow_in_process("outbox", "flush", "--now", "--store", store_url, env=env, cwd=tmp_path)
        out, err = now.stdout, now.stderr
        assert now.returncode == 0, out + err
        assert f"{MESSAGES} delivered, 0 to retry later" in out
        counts = tally(store_url, receiver)
    finally:
        receiver.stop()
    assert (counts.lost, counts.duplicated, counts.sent) == (0, 0, MESSAGES), counts
    assert "Nothing waiting" in listing(store_url)


# -- an SMTP server slower than the timeout ------------------------------------------------------------


@dataclass
class SlowMailbox(Mailbox):
    """Takes each message's DATA, then sits on it for ``delay`` seconds and refuses it (a server
    stuck on its disk); the Message-IDs it was offered are kept."""

    delay: float = 0.0
    offered: list[str] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope):
        from email import message_from_bytes

        self.offered.append(message_from_bytes(envelope.content)["Message-ID"])
        if self.delay:
            await asyncio.sleep(self.delay)
            return "451 4.3.0 Too late"
        return await super().handle_DATA(server, session, envelope)


def test_a_smtp_server_past_the_timeout_keeps_the_message_and_a_later_flush_sends_it_once(tmp_path,
                                                                                          smtp_server):
    mailbox = SlowMailbox(delay=4.0)
    _, port = smtp_server(mailbox)
    (tmp_path / "workflow.toml").write_text(smtp_workflow("Slow mail", port, extra='timeout = "1s"\n'),
                                           encoding="utf-8")
    store_url = f"sqlite:///{tmp_path / 'state.db'}"
    env = {**os.environ, "CMFLOW_STORE": store_url}
    run = cmflow_in_process("run", "workflow.toml", env=env, cwd=tmp_path)
    err = run.stderr
    assert run.returncode == 3, err
    assert f"127.0.0.1:{port} did not answer within 1 s" in err and "kept in the outbox" in err, err
    assert "Traceback" not in err
    assert mailbox.received == [] and len(mailbox.offered) == 1
    with open_store(store_url) as store:
        [kept] = store.outbox(status=PENDING)
    assert "did not answer within 1 s" in kept.last_error

    mailbox.delay = 0.0  # the server is fast again
    flush = cmflow_in_process("outbox", "flush", "--now", "--store", store_url, env=env, cwd=tmp_path)
    out, err = flush.stdout, flush.stderr
    assert flush.returncode == 0, out + err
    assert "1 delivered" in out
    [received] = mailbox.received
    assert received.message["Message-ID"] == mailbox.offered[0]  # the same message, a receiver can tell
    assert received.message["Message-ID"].startswith(f"<{kept.key}")
    with open_store(store_url) as store:
        assert [m.status for m in store.outbox(status=None)] == ["delivered"]


# -- two runs at once ----------------------------------------------------------------------------------
def test_two_runs_of_one_workflow_started_at_once_run_once(tmp_path, gated_feed):
    """By hand, no daemon: one run takes the workflow's lock (and waits on the feed); the other is
    refused at once, exit 4, saying who runs it. One run recorded, one e-mail."""
    mail = tmp_path / "mail"
    path = tmp_path / "twice.toml"
    write(path, workflow_text("Twice", mail, feed=gated_feed.url))
    store_url = f"sqlite:///{tmp_path / 'state.db'}"
    env = {**os.environ, "CMFLOW_STORE": store_url, "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"}
    runs = [start_cmflow("run", str(path), env=env, cwd=tmp_path) for _ in range(2)]
    try:
        wait_for(lambda: any(r.poll() is not None for r in runs), "one of the two runs to end")
        [refused] = [r for r in runs if r.poll() is not None]
        [running] = [r for r in runs if r is not refused]
        _, err = finish(refused)
        assert refused.returncode == 4, err
        assert "'Twice' is already running (process" in err and f"process {running.pid} on" in err, err
        assert "try again when it is done" in err
    finally:
        gated_feed.open_gate()
    _, err = finish(running)
    assert running.returncode == 0, err
    assert gated_feed.requests == 1  # the refused run fetched nothing
    assert [r.status for r in runs_of(store_url, "Twice")] == ["ok"]
    assert len(emails(mail, "Twice")) == 1
    assert run_locks(store_url) == []
