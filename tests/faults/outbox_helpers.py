"""What the outbox fault tests share: a workflow that sends several webhook messages, a slow
loopback receiver that records every request with its idempotency key, messages queued straight
in a real store, ``cmflow`` as a real process, and the tally of what was sent, received,
duplicated and lost."""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

from cmflow.store import DELIVERED, QueuedMessage, open_store
from cmflow.testing import ReplayServer, Reply
from cmflow.workflow import load_workflow
from daemon_process import META_SOURCE, poll_interval
from cmflow_command import CMFLOW

HOOK_PATH = "/hooks/fault-drill-7c2e9b1d4a60"
HOOK_VARIABLE = "FAULT_HOOK_URL"
DEADLINE = 90.0
"""Seconds a wait may take before the test fails (a generous bound on a loaded machine, not a check)."""

WORKFLOW = f"""\
[workflow]
name = "Fault drill"
timezone = "Europe/Paris"
period = "2026-11-16..2026-11-22"
compare = []

{META_SOURCE}
[[metrics]]
plugin = "engagement_rate_by_reach"
by = ["account", "format"]

# Always fires, once per account and format: every run of a fresh store queues one message
# per series (eight with the demo's posts), and later runs none (the alerts stay firing).
[[triggers]]
id = "always"
plugin = "threshold"
metric = "engagement_rate_by_reach"
above = -1

[[outputs]]
plugin = "webhook"
url = "${{env:{{variable}}}}"
allow_private_network = true
group_by = ["account", "format"]
max_concurrency = {{max_concurrency}}
"""


def drill_workflow(directory: Path, *, max_concurrency: int = 2) -> Path:
    """A workflow whose first run sends eight webhook messages to ``$FAULT_HOOK_URL``."""
    path = directory / "drill.toml"
    text = WORKFLOW.replace("{variable}", HOOK_VARIABLE).replace("{max_concurrency}", str(max_concurrency))
    path.write_text(text, encoding="utf-8")
    return path


def slow_receiver(delay: float, port: int = 0) -> ReplayServer:
    """A started webhook receiver on 127.0.0.1 (on ``port``, or a free one) that takes every POST
    after ``delay`` seconds and records it (with its Idempotency-Key header) as soon as it arrives."""
    server = ReplayServer(port=port).start()
    server.add("POST", HOOK_PATH, Reply(200, json={"ok": True}, delay=delay), repeat=True)
    return server


def cmflow_env(store_url: str, receiver: ReplayServer) -> dict[str, str]:
    return {**os.environ, "CMFLOW_STORE": store_url, HOOK_VARIABLE: receiver.url + HOOK_PATH}


def start_cmflow(*args: str, env: dict[str, str], cwd: Path) -> subprocess.Popen:
    """``cmflow ARGS`` as a process of its own, its output kept for the test's messages."""
    return subprocess.Popen([*CMFLOW, *args], env=env, cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def queue_messages(store_url: str, workflow_file: Path, output_id: str, count: int) -> list[str]:
    """Queue ``count`` messages for one output of a workflow, as a run does (in the store, due
    now, not sent); return their idempotency keys."""
    workflow = load_workflow(workflow_file)
    drill = uuid.uuid4().hex[:12]
    expires = datetime.now(timezone.utc) + timedelta(days=1)
    messages = [QueuedMessage(f"drill-{drill}-{n:03d}", str(workflow.file), output_id, "webhook",
                              f"fault drill message {n}", {"body": {"drill": drill, "n": n}}, expires)
                for n in range(count)]
    with open_store(store_url) as store:
        run_id = store.start_run(workflow.key, str(workflow.file), date(2026, 11, 16), date(2026, 11, 22), False)
        store.commit_run(run_id, workflow=workflow.key, measurements=None, alerts=[], messages=messages)
        store.finish_run(run_id, status="ok", stats={}, error=None)
    return [m.key for m in messages]


def wait_for(condition: Callable[[], bool], what: str, deadline: float = DEADLINE) -> None:
    """Poll ``condition`` until it holds; fail the test naming ``what`` if it never does. A
    costly condition (one that opens the store) is checked less often than a cheap one."""
    give_up = time.monotonic() + deadline
    while True:
        began = time.monotonic()
        if condition():
            return
        if time.monotonic() > give_up:
            raise AssertionError(f"gave up waiting for {what} after {deadline:.0f} s")
        time.sleep(poll_interval(began, 0.02))


@dataclass(frozen=True)
class Tally:
    """What a fault drill did to the messages of one store and one receiver."""

    queued: frozenset[str]
    """Idempotency keys of every message in the outbox."""
    delivered: frozenset[str]
    """Keys the store marks delivered."""
    received: Counter
    """Requests the receiver got, by idempotency key."""

    @property
    def sent(self) -> int:
        return len(self.delivered)

    @property
    def duplicated(self) -> int:
        """Requests beyond the first for one key."""
        return sum(count - 1 for count in self.received.values())

    @property
    def lost(self) -> int:
        """Messages the receiver never got, or that the store does not know as delivered."""
        return len(self.queued - set(self.received)) + len(self.queued - self.delivered)

    def __str__(self) -> str:
        return (f"queued {len(self.queued)}, sent {self.sent}, received {sum(self.received.values())}, "
                f"duplicated {self.duplicated}, lost {self.lost}")


def tally(store_url: str, receiver: ReplayServer) -> Tally:
    with open_store(store_url) as store:
        messages = store.outbox(status=None, limit=10_000)
    received = Counter(r.headers.get("idempotency-key") for r in receiver.requests if r.path == HOOK_PATH)
    return Tally(frozenset(m.key for m in messages), frozenset(m.key for m in messages if m.status == DELIVERED),
                 received)
