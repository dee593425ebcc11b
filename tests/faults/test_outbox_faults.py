"""Outbox delivery under faults, with real processes: ``cmflow run`` killed with SIGKILL in the
middle of delivering a batch of webhook messages to a slow loopback receiver, then the next
``cmflow outbox flush`` or ``cmflow run`` (in the test's process: the killed run is the fault);
and two ``cmflow outbox flush`` processes at once with no crash.

Each test counts what was sent (marked delivered in the store), received (requests at the
receiver, by idempotency key), duplicated (a key received more than once) and lost (queued, never
received or never marked delivered), and asserts cmflow's promise: nothing lost, at most one
duplicate per message that was in flight when its sender was killed, none without a crash.
"""

from __future__ import annotations

import os
import re
import signal

import pytest
from click.testing import CliRunner

from cmflow.cli import main
from cmflow.store import PENDING, open_store

from cmflow_command import cmflow_in_process
from outbox_helpers import (
    HOOK_VARIABLE, cmflow_env, drill_workflow, queue_messages, slow_receiver, start_cmflow, tally, wait_for,
)

MESSAGES = 8
"""What the drill workflow's first run queues (one per account and format of the demo's posts)."""


@pytest.fixture
def receiver():
    server = slow_receiver(delay=0.3)
    yield server
    server.stop()


@pytest.mark.parametrize("next_command", ["outbox flush", "run"])
def test_a_run_killed_mid_delivery_leaves_the_rest_to_the_very_next_command(tmp_path, receiver, next_command):
    path = drill_workflow(tmp_path, max_concurrency=2)
    store_url = f"sqlite:///{tmp_path / 'state.db'}"
    env = cmflow_env(store_url, receiver)
    run = start_cmflow("run", str(path), env=env, cwd=tmp_path)
    try:
        wait_for(lambda: len(receiver.requests) >= 3 or run.poll() is not None, "the run's third message")
        assert run.poll() is None, f"the run ended before it could be killed:\n{run.communicate()[1]}"
        os.kill(run.pid, signal.SIGKILL)
    finally:
        run.kill()
        run.communicate()
    assert run.returncode == -signal.SIGKILL

    with open_store(store_url) as store:
        left = store.outbox(status=PENDING)
    in_flight = [m for m in left if m.claim is not None and m.claim.pid == run.pid]
    assert len(left) + len(tally(store_url, receiver).delivered) == MESSAGES
    assert in_flight and len(left) < MESSAGES  # killed mid-delivery: some sent, some claimed, some not yet
    assert all(not m.claim.live for m in in_flight)  # its process is gone: the claims hold nothing

    listing = CliRunner().invoke(main, ["outbox", "--store", store_url], env={"COLUMNS": "250"})
    assert f"process {run.pid} on" in listing.output and "sender gone" in listing.output  # who held them

    args = ["outbox", "flush", "--store", store_url] if next_command == "outbox flush" else \
        ["run", str(path), "--store", store_url]
    after = cmflow_in_process(*args, env=env, cwd=tmp_path)
    out, err = after.stdout, after.stderr
    assert after.returncode == 0, out + err

    counts = tally(store_url, receiver)
    assert counts.lost == 0, counts
    assert counts.duplicated <= len(in_flight), counts
    assert max(counts.received.values()) <= 2, counts  # at most one duplicate per message
    assert len(counts.queued) == MESSAGES, counts
    if next_command == "outbox flush":
        assert f"{len(left)} delivered, 0 to retry later, 0 dead-lettered" in out


def test_two_flushes_at_once_against_a_slow_receiver_send_every_message_once(tmp_path, receiver, monkeypatch):
    """No crash, no duplicate: each message is claimed by one flush as it is sent, and the other
    never sends a message in flight, however long the batch takes."""
    path = drill_workflow(tmp_path, max_concurrency=2)
    store_url = f"sqlite:///{tmp_path / 'state.db'}"
    env = cmflow_env(store_url, receiver)
    monkeypatch.setenv(HOOK_VARIABLE, env[HOOK_VARIABLE])
    keys = queue_messages(store_url, path, "webhook", MESSAGES)
    flushes = [start_cmflow("outbox", "flush", "--store", store_url, env=env, cwd=tmp_path) for _ in range(2)]
    outputs = [flush.communicate(timeout=120) for flush in flushes]

    counts = tally(store_url, receiver)
    assert set(keys) == counts.queued
    assert (counts.lost, counts.duplicated, counts.sent) == (0, 0, MESSAGES), counts
    delivered = [int(re.search(r"(\d+) delivered", out).group(1)) for out, _ in outputs]
    assert sum(delivered) == MESSAGES, outputs
    for flush, (out, err) in zip(flushes, outputs):
        # A flush that ends while the other still sends says so and exits 3; else 0.
        assert flush.returncode in (0, 3), out + err
        if flush.returncode == 3:
            assert "being sent now by process" in err, err
