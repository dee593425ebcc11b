"""Durable delivery: notifications queued with the alert state, sent until a real receiver on
loopback takes them, dead-lettered when it refuses, never lost when it is down, never sent twice.

The workflow fires the demo's three alerts at its first run (demo_scenario.demo_change_alerts: its
Meta posts and change rules, not the whole demo) with a webhook output pointing at a replay server, and an
email output pointing at an SMTP port nobody listens on yet.
"""

from __future__ import annotations

import re
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from cmflow.delivery.outbox import dispatch
from cmflow.store import open_store
from cmflow.testing import Reply, replay_server, run_workflow_file  # noqa: F401 (a fixture)
from cmflow.workflow import load_workflow
from demo_scenario import demo_change_alerts
from loopback_smtp import free_port

HOOK = "/hooks/test-outbox-3f1c9a7e"
RUN_AT = datetime(2026, 11, 24, 8, 0, tzinfo=timezone.utc)


def demo_with(outputs: str) -> str:
    return demo_change_alerts(outputs)


WEBHOOK = """
[[outputs]]
plugin = "webhook"
url = "${env:TEST_HOOK_URL}"
allow_private_network = true
"""


@pytest.fixture
def demo(tmp_path, monkeypatch, replay_server):
    """The demo's alerts with a webhook to the replay server; returns (workflow path, store url)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TEST_HOOK_URL", f"{replay_server.url}{HOOK}")
    path = tmp_path / "demo.toml"
    path.write_text(demo_with(WEBHOOK), encoding="utf-8")
    return path, f"sqlite:///{tmp_path / 'state.db'}"


@pytest.fixture
def any_demo(demo, any_store_url):
    """The demo's alerts with a store of each kind in turn (SQLite, then PostgreSQL)."""
    return demo[0], any_store_url


def posts(server) -> list:
    return [r for r in server.requests if r.method == "POST" and r.path == HOOK]


def test_a_receiver_down_for_a_while_gets_every_message_exactly_once(any_demo, replay_server):
    path, store_url = any_demo
    replay_server.add("POST", HOOK, Reply(503, headers={"Retry-After": "120"}, json={"error": "busy"}),
                      Reply(503, headers={"Retry-After": "120"}, json={"error": "busy"}),
                      Reply(200, json={"ok": True}))
    result = run_workflow_file(path, store_url=store_url, now=RUN_AT)
    assert result.status == "undelivered"  # computed and queued, not yet taken
    [stage] = [s for s in result.stages if s.id == "webhook"]
    assert "retrying at 2026-11-24 08:02" in stage.error

    workflow = load_workflow(path)
    with open_store(store_url) as store:
        [pending] = store.outbox(status="pending")
        assert pending.attempts == 1 and pending.next_attempt_at == RUN_AT + timedelta(seconds=120)
        early = dispatch(store, workflow=workflow, clock=lambda: RUN_AT + timedelta(seconds=60), load=load_workflow)
        assert not early.delivered and not early.retrying  # not due yet: no request
        assert len(posts(replay_server)) == 1
        second = dispatch(store, workflow=workflow, clock=lambda: RUN_AT + timedelta(minutes=2), load=load_workflow)
        assert len(second.retrying) == 1
        third = dispatch(store, workflow=workflow, clock=lambda: RUN_AT + timedelta(minutes=5), load=load_workflow)
        assert len(third.delivered) == 1
        assert store.outbox(status="pending") == [] and store.outbox(status="dead") == []
        [delivered] = store.outbox(status="delivered")
        assert delivered.attempts == 3
        later = dispatch(store, workflow=workflow, clock=lambda: RUN_AT + timedelta(hours=1), load=load_workflow)
        assert later.delivered == []

    sent = posts(replay_server)
    assert len(sent) == 3  # two refused, one taken: the receiver holds the message once
    assert len({r.headers["idempotency-key"] for r in sent}) == 1  # the same message each time
    body = sent[-1].json()
    assert len(body["alerts"]) == 3 and body["key"] == sent[-1].headers["idempotency-key"]


def test_a_short_retry_after_is_retried_within_the_run(demo, replay_server):
    path, store_url = demo
    replay_server.add("POST", HOOK, Reply(503, headers={"Retry-After": "1"}), Reply(200, json={}))
    waits: list[float] = []
    from cmflow.runner import run_workflow

    workflow = load_workflow(path)
    with open_store(store_url) as store:
        result = run_workflow(workflow, store=store, now=RUN_AT, sleep=waits.append)
        assert result.status == "ok" and waits == [1.0]
        assert [(m.status, m.attempts) for m in store.outbox(status=None)] == [("delivered", 2)]


def test_a_refusal_is_tried_once_then_dead_lettered_and_can_be_retried(demo, replay_server):
    path, store_url = demo
    replay_server.add("POST", HOOK, Reply(400, body="invalid_payload"))
    result = run_workflow_file(path, store_url=store_url, now=RUN_AT)
    assert result.status == "undelivered"
    with open_store(store_url) as store:
        [dead] = store.outbox(status="dead")
    assert dead.attempts == 1 and "400" in dead.last_error and "invalid_payload" in dead.last_error
    assert len(posts(replay_server)) == 1

    replay_server.add("POST", HOOK, Reply(200, json={}))
    from click.testing import CliRunner

    from cmflow.cli import main

    listing = CliRunner().invoke(main, ["outbox", "--store", store_url], env={"COLUMNS": "200"})
    assert listing.exit_code == 0 and "dead" in listing.output and "invalid_payload" in listing.output
    retried = CliRunner().invoke(main, ["outbox", "retry", str(dead.id), "--store", store_url])
    assert retried.exit_code == 0, retried.output
    assert "1 message(s) back in the queue" in retried.output and "1 delivered" in retried.output
    assert len(posts(replay_server)) == 2


def test_a_retried_message_gets_its_outputs_max_age_again(demo, replay_server):
    """An output keeping messages 3 days: re-queued, its message has 3 more days, not a fixed day;
    a message whose workflow file is gone gets a day, and sending it says why."""
    from cmflow.delivery.outbox import requeue_dead

    path, store_url = demo
    path.write_text(path.read_text(encoding="utf-8").replace('plugin = "webhook"', 'plugin = "webhook"\nmax_age = "3d"'),
                    encoding="utf-8")
    replay_server.add("POST", HOOK, Reply(400, body="invalid_payload"))
    run_workflow_file(path, store_url=store_url, now=RUN_AT)
    later = RUN_AT + timedelta(days=5)
    with open_store(store_url) as store:
        [dead] = store.outbox(status="dead")
        assert requeue_dead(store, [dead.id], later, load=load_workflow) == 1
        [again] = store.outbox(status="pending")
        assert (again.id, again.expires_at) == (dead.id, later + timedelta(days=3))
        store.record_attempt(dead.id, now=later, status="dead", attempts=2, error="refused again")
        path.unlink()
        assert requeue_dead(store, None, later, load=load_workflow) == 1
        [again] = store.outbox(status="pending")
    assert again.expires_at == later + timedelta(hours=24)


def test_an_smtp_server_that_is_down_leaves_the_message_queued_not_lost(tmp_path, monkeypatch, smtp_server):
    monkeypatch.chdir(tmp_path)
    port = free_port()  # nothing listens there yet
    path = tmp_path / "demo.toml"
    path.write_text(demo_with(f"""
[[outputs]]
plugin = "email"
to = ["team@example.org"]
from_address = "reports@example.org"
host = "127.0.0.1"
port = {port}
security = "none"
"""), encoding="utf-8")
    store_url = f"sqlite:///{tmp_path / 'state.db'}"
    result = run_workflow_file(path, store_url=store_url, now=RUN_AT)
    assert result.status == "undelivered"
    with open_store(store_url) as store:
        [queued] = store.outbox(status="pending")
    assert queued.payload["to"] == ["team@example.org"]

    from aiosmtpd.controller import Controller
    from loopback_smtp import Mailbox

    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with open_store(store_url) as store:
            sent = dispatch(store, only_workflow=False, clock=lambda: queued.next_attempt_at, load=load_workflow)
            assert len(sent.delivered) == 1 and store.outbox(status="pending") == []
    finally:
        controller.stop()
    [received] = mailbox.received
    assert received.message["Message-ID"] == f"<{queued.key}@cmflow>"
    assert "3 alerts firing" in received.message["Subject"]


def test_a_restart_with_nothing_changed_sends_nothing(demo, replay_server):
    """`cmflow run`, then `cmflow run` again in a new process on the same store: one message in
    all. The first run is this test's (its process's memory is not the second's: the restart is
    the second process); the second is a process of its own."""
    from click.testing import CliRunner

    from cmflow.cli import main

    path, store_url = demo
    replay_server.add("POST", HOOK, Reply(200, json={}), repeat=True)
    first = CliRunner().invoke(main, ["run", str(path), "--store", store_url], catch_exceptions=False)
    assert first.exit_code == 0, first.output
    assert len(posts(replay_server)) == 1
    env = {**os.environ, "CMFLOW_STORE": store_url}
    done = subprocess.run([sys.executable, "-c", "from cmflow.cli import main; main()", "run", str(path),
                           "--store", store_url],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert len(posts(replay_server)) == 1
    assert "nothing to send" in done.stderr
    with open_store(store_url) as store:
        assert [m.status for m in store.outbox(status=None)] == ["delivered"]
        assert len([a for a in store.alerts() if a.state == "firing"]) == 3


def test_group_by_splits_a_runs_alerts_into_one_message_per_group(tmp_path, monkeypatch, replay_server):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TEST_HOOK_URL", f"{replay_server.url}{HOOK}")
    path = tmp_path / "demo.toml"
    path.write_text(demo_with(WEBHOOK + 'group_by = ["workflow", "severity"]\n'), encoding="utf-8")
    replay_server.add("POST", HOOK, Reply(200, json={}), repeat=True)
    result = run_workflow_file(path, store_url=f"sqlite:///{tmp_path / 'state.db'}", now=RUN_AT)
    assert result.status == "ok"
    bodies = sorted((r.json()["group"]["severity"], len(r.json()["alerts"])) for r in posts(replay_server))
    assert bodies == [("info", 1), ("warning", 2)]  # three alerts, two severities: two messages


def test_silence_commands_add_list_and_end(any_store_url):
    from click.testing import CliRunner

    from cmflow.cli import main

    store_url = any_store_url
    runner = CliRunner()
    added = runner.invoke(main, ["silence", "add", "rule=err_drop", "account=maison*", "--for", "3d",
                                 "-c", "campaign pause", "--store", store_url])
    assert added.exit_code == 0, added.output
    silence_id = added.output.split()[1].rstrip(":")
    with open_store(store_url) as store:
        [silence] = store.silences(active_at=datetime.now(timezone.utc))
    assert silence.id == silence_id and silence.matchers == {"rule": "err_drop", "account": "maison*"}
    assert timedelta(days=2, hours=23) < silence.ends_at - silence.created_at <= timedelta(days=3)
    listed = runner.invoke(main, ["silence", "--store", store_url], env={"COLUMNS": "200"})
    assert "active" in listed.output and "campaign pause" in listed.output
    bad = runner.invoke(main, ["silence", "add", "nonsense", "--for", "1d", "--store", store_url])
    assert bad.exit_code == 2 and "label=value" in bad.output
    both = runner.invoke(main, ["silence", "add", "rule=x", "--store", store_url])
    assert both.exit_code == 2 and "--for" in both.output
    ended = runner.invoke(main, ["silence", "end", silence_id[:6], "--store", store_url])
    assert ended.exit_code == 0
    with open_store(store_url) as store:
        assert store.silences(active_at=datetime.now(timezone.utc)) == []


# -- claims: one sender at a time, and only while it lives -------------------------------------
def dead_pid() -> int:
    """The id of a process that ran here and is gone."""
    return int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True).stdout)


def queued(store_url: str, path: Path, count: int) -> list[int]:
    from faults.outbox_helpers import queue_messages

    queue_messages(store_url, path, "webhook", count)
    with open_store(store_url) as store:
        return [m.id for m in store.outbox(status="pending")]


def test_a_message_is_claimed_by_one_live_sender_at_a_time(any_demo):
    from cmflow.store import LockOwner, this_host

    path, store_url = any_demo
    first, second = queued(store_url, path, 2)
    now = datetime.now(timezone.utc)
    sender, other = LockOwner.this_process(), LockOwner.this_process()
    with open_store(store_url) as store:
        assert [m.id for m in store.due_messages(now)] == [first, second]
        claimed = store.claim_message(first, sender, now=now, lease=timedelta(minutes=2))
        assert claimed.id == first and claimed.claim.live and claimed.claim.pid == os.getpid()
        assert claimed.claim.host == this_host()
        assert store.claim_message(first, other, now=now, lease=timedelta(minutes=2)) is None
        assert [m.id for m in store.due_messages(now)] == [second]  # in flight: not due to anyone else
        assert store.claim_message(first, sender, now=now, lease=timedelta(minutes=2)) is not None  # its own
        store.record_attempt(first, now=now, status="delivered", attempts=1)
        [delivered] = store.outbox(status="delivered")
        assert delivered.claim is None  # recorded: released
        assert store.claim_message(first, other, now=now, lease=timedelta(minutes=2)) is None  # done
        assert store.claim_message(second, other, now=now - timedelta(days=2), lease=timedelta(minutes=2)) is None


def test_a_claim_is_free_when_its_sender_is_gone_and_from_another_host_when_it_expires(any_demo):
    from cmflow.store import LockOwner, this_host
    from store_rows import raw_rows

    path, store_url = any_demo
    killed, zombie, remote, old, expired = queued(store_url, path, 5)
    child = subprocess.Popen([sys.executable, "-c", "pass"])  # exits; not reaped, it stays a zombie
    stat = Path(f"/proc/{child.pid}/stat")
    while stat.exists() and stat.read_bytes().rsplit(b")", 1)[1].split()[0] != b"Z":
        pass
    here = this_host()
    holders = {killed: LockOwner(here, dead_pid(), "killed"), zombie: LockOwner(here, child.pid, "zombie"),
               remote: LockOwner(f"{here.split('#')[0]}#00000000", os.getpid(), "other container"),
               expired: LockOwner("elsewhere", 42, "remote, expired")}
    now = datetime.now(timezone.utc)
    with open_store(store_url) as store:
        for message_id, holder in holders.items():
            lease = timedelta(seconds=-1) if message_id == expired else timedelta(minutes=2)
            assert store.claim_message(message_id, holder, now=now, lease=lease) is not None
    # A claim taken before claims had holders (schema v7): it stands until its time is up.
    raw_rows(store_url, "UPDATE outbox SET claimed_until = ? WHERE id = ?", now + timedelta(minutes=5), old)
    child.wait()
    me = LockOwner.this_process()
    with open_store(store_url) as store:
        assert {m.id for m in store.due_messages(now)} == {killed, zombie, expired}
        for message_id in (remote, old):
            assert store.claim_message(message_id, me, now=now, lease=timedelta(minutes=2)) is None
        for message_id in (killed, zombie, expired):
            assert store.claim_message(message_id, me, now=now, lease=timedelta(minutes=2)) is not None


def test_claims_are_renewed_while_sending_and_released_when_the_sender_stops(any_demo):
    from cmflow.store import LockOwner

    path, store_url = any_demo
    first, second = queued(store_url, path, 2)
    now = datetime.now(timezone.utc)
    sender, other = LockOwner.this_process(), LockOwner.this_process()
    with open_store(store_url) as store:
        for message_id in (first, second):
            store.claim_message(message_id, sender, now=now, lease=timedelta(seconds=-1))  # out of time...
        assert store.renew_claims(sender, timedelta(minutes=2)) == 2  # ...but its sender still beats
        assert store.claim_message(first, other, now=now, lease=timedelta(minutes=2)) is None
        assert store.release_claims(other) == 0 and store.release_claims(sender) == 2
        assert all(m.claim is None for m in store.outbox(status="pending"))
        assert store.claim_message(first, other, now=now, lease=timedelta(minutes=2)) is not None


def test_claims_are_given_back_when_the_dispatch_fails_before_sending(any_demo, monkeypatch):
    """A dispatch that claimed messages and failed before its claim heartbeat ran (no thread left
    to start it) gives them back at once: a warm run process lives on, so its claims would
    otherwise look live to every other sender until their lease ran out."""
    from cmflow.delivery import outbox

    path, store_url = any_demo
    queued(store_url, path, 2)

    def no_thread_left(self):
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(outbox._ClaimHeartbeat, "__enter__", no_thread_left)
    with open_store(store_url) as store:
        with pytest.raises(RuntimeError, match="new thread"):
            dispatch(store, only_workflow=False, load=load_workflow)
        assert [m.claim for m in store.outbox(status="pending")] == [None, None]


def test_a_sender_whose_claim_lapsed_never_undoes_what_the_one_that_took_over_recorded(any_demo):
    """A claim can lapse with no crash (the sender paused, its store busy past the lease): the
    message is taken over, and the late sender's record must not overwrite the new holder's."""
    from cmflow.store import LockOwner

    path, store_url = any_demo
    retried, delivered = queued(store_url, path, 2)
    now = datetime.now(timezone.utc)
    late, taker = LockOwner.this_process(), LockOwner.this_process()
    expired = timedelta(seconds=-1)
    with open_store(store_url) as store:
        for message_id in (retried, delivered):
            store.claim_message(message_id, late, now=now, lease=expired)
            assert store.claim_message(message_id, taker, now=now, lease=timedelta(minutes=2)) is not None
        # The late sender failed: its retry or dead letter is not the holder's call any more.
        assert not store.record_attempt(retried, now=now, status="pending", attempts=1, error="timed out",
                                        next_attempt_at=now + timedelta(hours=1), claimer=late)
        assert not store.record_attempt(retried, now=now, status="dead", attempts=1, error="refused", claimer=late)
        [still] = [m for m in store.outbox(status="pending") if m.id == retried]
        assert still.claim is not None and still.claim.live and still.attempts == 0
        assert store.claim_message(retried, late, now=now, lease=timedelta(minutes=2)) is None  # the taker's
        # The taker delivered; the late sender's own failure then changes nothing.
        assert store.record_attempt(delivered, now=now, status="delivered", attempts=1, claimer=taker)
        assert not store.record_attempt(delivered, now=now, status="pending", attempts=1, error="timed out",
                                        next_attempt_at=now + timedelta(hours=1), claimer=late)
        # A late delivery is a fact all the same: recorded while the message is still pending.
        assert store.record_attempt(retried, now=now, status="delivered", attempts=1, claimer=late)
        assert {m.id for m in store.outbox(status="delivered")} == {retried, delivered}


def test_a_send_that_outlasts_the_lease_is_not_sent_again_by_a_concurrent_dispatch(demo, replay_server):
    """The original fault: a batch longer than the claim let a concurrent flush send messages
    still in flight. Here one send takes longer than the lease; the sender's heartbeat keeps it."""
    import threading
    import time

    path, store_url = demo
    replay_server.add("POST", HOOK, Reply(200, json={}, delay=1.5), repeat=True)
    [message_id] = queued(store_url, path, 1)
    lease = timedelta(seconds=0.6)
    reports = {}

    def flush(name: str) -> None:
        with open_store(store_url) as store:
            reports[name] = dispatch(store, only_workflow=False, lease=lease, load=load_workflow)

    first = threading.Thread(target=flush, args=("first",))
    first.start()
    deadline = time.monotonic() + 30
    while not posts(replay_server) and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(lease.total_seconds() + 0.2)  # the claim would have expired without its renewals
    flush("second")
    first.join()
    assert [m.id for m in reports["first"].delivered] == [message_id]
    assert reports["second"].delivered == [] and len(posts(replay_server)) == 1


# -- a batch to one receiver goes out concurrently, within its limit --------------------------
@pytest.mark.parametrize("width", [1, 3])
def test_a_batch_to_one_receiver_is_sent_max_concurrency_at_a_time(any_demo, replay_server, width):
    path, store_url = any_demo
    path.write_text(path.read_text(encoding="utf-8").replace(
        'plugin = "webhook"', f'plugin = "webhook"\nmax_concurrency = {width}'), encoding="utf-8")
    replay_server.add("POST", HOOK, Reply(200, json={}, delay=0.3), repeat=True)
    ids = queued(store_url, path, 6)
    with open_store(store_url) as store:
        report = dispatch(store, only_workflow=False, load=load_workflow)
        assert sorted(m.id for m in report.delivered) == ids
        assert all(m.claim is None for m in store.outbox(status="delivered"))
    assert replay_server.max_in_flight == width
    arrived = [r.json()["n"] for r in posts(replay_server)]
    if width == 1:
        assert arrived == sorted(arrived)  # one after another, oldest first


def test_flush_says_what_is_still_waiting_and_exits_3(demo, replay_server):
    from click.testing import CliRunner

    from cmflow.cli import main

    path, store_url = demo
    replay_server.add("POST", HOOK, Reply(503, headers={"Retry-After": "600"}), Reply(200, json={}))
    queued(store_url, path, 2)
    flushed = CliRunner().invoke(main, ["outbox", "flush", "--store", store_url])
    assert flushed.exit_code == 3, flushed.output
    assert "1 delivered, 1 to retry later, 0 dead-lettered" in flushed.output
    assert re.search(r"1 message\(s\) still waiting in the outbox; the next is due at \S+ \S+ UTC "
                     r"\(in (9|10) min", flushed.output)
    again = CliRunner().invoke(main, ["outbox", "flush", "--store", store_url])
    assert again.exit_code == 3 and "0 delivered, 0 to retry later" in again.output
    assert "1 message(s) still waiting" in again.output  # nothing was due: still not silent
    assert len(posts(replay_server)) == 2
