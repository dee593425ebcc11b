"""Several processes sharing one store, on SQLite and on PostgreSQL (``any_store_url``): four
``cmflow outbox flush`` processes drain one outbox at once, and four processes race for one
schedule slot of one workflow.

Claims are row locks that skip locked rows on PostgreSQL (``FOR UPDATE SKIP LOCKED``) and
write transactions that take the file's lock on SQLite. Counted: messages delivered (store),
received (receiver, by idempotency key), duplicated (must be 0: nothing crashed) and lost
(must be 0); runs of the slot (exactly one).
"""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import datetime, timezone
from textwrap import indent

from cmflow.store import open_store
from daemon_process import META_SOURCE
from start_gate import WAIT, StartGate

from outbox_helpers import HOOK_PATH, HOOK_VARIABLE, cmflow_env, drill_workflow, queue_messages, slow_receiver, start_cmflow, tally

PROCESSES = 4
MESSAGES = 200


def test_four_senders_drain_one_outbox_with_no_message_sent_twice_or_lost(tmp_path, monkeypatch, any_store_url):
    path = drill_workflow(tmp_path, max_concurrency=2)
    receiver = slow_receiver(delay=0.02)
    try:
        monkeypatch.setenv(HOOK_VARIABLE, receiver.url + HOOK_PATH)
        keys = queue_messages(any_store_url, path, "webhook", MESSAGES)
        env = cmflow_env(any_store_url, receiver)
        senders = [start_cmflow("outbox", "flush", env=env, cwd=tmp_path) for _ in range(PROCESSES)]
        outputs = [sender.communicate(timeout=120) for sender in senders]
        counts = tally(any_store_url, receiver)
    finally:
        receiver.stop()
    # 3: messages were left to the other senders, still sending when this one was done.
    assert {s.returncode for s in senders} <= {0, 3}, outputs
    said = [int(re.search(r"(\d+) delivered", out).group(1)) for out, _ in outputs]
    assert len(counts.queued) == MESSAGES and set(keys) == counts.queued
    assert (counts.sent, counts.duplicated, counts.lost) == (MESSAGES, 0, 0), str(counts)
    assert sum(said) == MESSAGES, said  # each message counted by the one process that sent it


RACER = f"""\
import sys
from datetime import datetime, timezone
from cmflow.runner import run_workflow
from cmflow.stages.run_periods import resolve_period
from cmflow.store import SlotAlreadyHandled, WorkflowBusy, open_store
from cmflow.workflow import load_workflow

url, file = sys.argv[1:3]
workflow = load_workflow(file)
slot = datetime(2026, 11, 23, 8, tzinfo=timezone.utc)
with open_store(url) as store:
{indent(WAIT, "    ")}    try:
        result = run_workflow(workflow, store=store, period=resolve_period(workflow, now=slot), slot=slot)
        print("ran", result.status)
    except WorkflowBusy:
        print("busy")
    except SlotAlreadyHandled:
        print("done")
"""

SLOT_WORKFLOW = f"""\
[workflow]
name = "Slot race"
timezone = "UTC"
period = "last_week"
schedule = "every monday at 08:00"

{META_SOURCE}
[[metrics]]
plugin = "engagement_rate_by_reach"
"""


def test_four_processes_racing_for_one_slot_run_it_exactly_once(tmp_path, any_store_url):
    path = tmp_path / "slot.toml"
    path.write_text(SLOT_WORKFLOW, encoding="utf-8")
    open_store(any_store_url).close()  # created and migrated: the race is for the slot alone
    gate = StartGate()
    racers = [subprocess.Popen([sys.executable, "-c", RACER, any_store_url, str(path), *gate.arguments],
                               pass_fds=gate.fds, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               cwd=tmp_path)
              for _ in range(PROCESSES)]
    gate.open_when_ready(PROCESSES)  # all start at once
    outputs = [racer.communicate(timeout=120) for racer in racers]
    assert [r.returncode for r in racers] == [0] * PROCESSES, outputs
    said = sorted(out.split()[0] for out, _ in outputs)
    assert said.count("ran") == 1 and set(said) <= {"ran", "busy", "done"}, outputs
    with open_store(any_store_url) as store:
        runs = store.runs(limit=100)
    assert [(run.slot, run.status) for run in runs] == [(datetime(2026, 11, 23, 8, tzinfo=timezone.utc), "ok")]
