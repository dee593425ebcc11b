"""Request budgets shared in Redis by every process (cmflow.http.shared_budget), with real processes.

A loopback API limits each token to 20 requests a second (a bucket of 8) and answers 429 beyond;
four processes fetch through the HTTP kit with the same token and a budget of 20 requests a
second. Sharing the budget in Redis, they keep within the limit as one process would (no 429);
each with its own budget, as before, the same load is refused. A process killed with ``kill -9``
while it holds a concurrency slot does not keep it, and no token is ever written to Redis.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from cmflow.http.platforms import Pace, get_platform
from loopback_smtp import free_port
from rate_limited_api import RateLimitedApi
from shared_servers import unique_name

redis = pytest.importorskip("redis")

CLIENT = Path(__file__).with_name("budget_client.py")
TOKEN = "tok-5ecret-shared-budget-0123456789"
PROCESSES, REQUESTS = 4, 25
LIMITS = {"max_concurrency": 2, "requests_per_second": 20.0, "burst": 5}
DEADLINE = 60.0


@pytest.fixture
def prefix(redis_url):
    """A key prefix of this test's own; its keys are deleted after."""
    name = unique_name("cmflow_budget_test")
    yield name
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(match=f"{name}:*"):
        client.delete(key)
    client.close()


def start_client(api: RateLimitedApi, count: int, *, shared: str | None, prefix: str, path: str = "/items",
                 limits: dict | None = None, lease: float | None = None, wait_for_go: bool = False,
                 clock_offset: float = 0.0) -> subprocess.Popen:
    env = {**os.environ, "BUDGET_LIMITS": json.dumps(limits or LIMITS), "CMFLOW_SHARED_BUDGETS_PREFIX": prefix,
           "BUDGET_CLOCK_OFFSET": str(clock_offset)}
    if wait_for_go:
        env["BUDGET_WAIT_FOR_GO"] = "1"
    env.pop("CMFLOW_SHARED_BUDGETS", None)
    if shared:
        env["CMFLOW_SHARED_BUDGETS"] = shared
    if lease is not None:
        env["BUDGET_LEASE"] = str(lease)
    return subprocess.Popen([sys.executable, str(CLIENT), api.url, TOKEN, str(count), path], env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen) -> dict:
    out, err = process.communicate(timeout=DEADLINE)
    assert process.returncode == 0, err[-2000:]
    return json.loads(out.strip().splitlines()[-1])


def run_load(redis_url: str | None, prefix: str,
             clock_offsets: tuple[float, ...] = (0.0,) * PROCESSES) -> tuple[RateLimitedApi, list[dict]]:
    with RateLimitedApi(rate=20.0, capacity=8, latency=0.02) as api:
        processes = [start_client(api, REQUESTS, shared=redis_url, prefix=prefix, wait_for_go=True,
                                  clock_offset=offset) for offset in clock_offsets]
        for process in processes:  # all set up (imports take seconds on a busy machine): then all at once
            assert process.stdout.readline().strip() == "ready", process.stderr.read()[-2000:]
        for process in processes:
            process.stdin.write("go\n")
            process.stdin.flush()
        results = [finish(process) for process in processes]
    return api, results


def test_processes_sharing_a_budget_stay_within_the_limit(redis_url, prefix):
    api, results = run_load(redis_url, prefix)

    assert [r["errors"] for r in results] == [[]] * PROCESSES
    assert sum(r["answers"] for r in results) == PROCESSES * REQUESTS
    assert api.throttled[TOKEN] == 0, f"{api.throttled[TOKEN]} requests were refused with 429"
    assert api.requests[TOKEN] == api.answered[TOKEN] == PROCESSES * REQUESTS  # none sent twice, none lost
    assert api.max_in_flight[TOKEN] <= LIMITS["max_concurrency"]  # all four processes together

    # The budget is in Redis under the token's hash, never the token itself.
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=f"{prefix}:*"))
    assert keys, "the budget left nothing in Redis: it was not shared"
    read = {b"hash": lambda key: client.hgetall(key).items(), b"zset": lambda key: client.zrange(key, 0, -1),
            b"list": lambda key: client.lrange(key, 0, -1)}  # state, slots, wake-ups
    for key in keys:
        stored = key + b"".join(b"".join(item) if isinstance(item, tuple) else item for item in
                                read[client.type(key)](key))
        assert TOKEN.encode() not in stored
    client.close()


def test_processes_whose_clocks_differ_still_share_one_limit(redis_url, prefix):
    """Two of the four machines' clocks are an hour off (one ahead, one behind). Refills are
    counted in Redis's time, so no process credits another an hour of tokens: still no 429."""
    api, results = run_load(redis_url, prefix, clock_offsets=(0.0, 3600.0, 0.0, -3600.0))

    assert [r["errors"] for r in results] == [[]] * PROCESSES
    assert api.requests[TOKEN] == api.answered[TOKEN] == PROCESSES * REQUESTS  # none sent twice, none lost
    assert api.throttled[TOKEN] == 0, f"{api.throttled[TOKEN]} requests were refused with 429"
    assert api.max_in_flight[TOKEN] <= LIMITS["max_concurrency"]


def test_processes_with_budgets_of_their_own_are_refused(prefix):
    """Today's per-process budgets under the same load: each process keeps 20/s, all four do not."""
    api, results = run_load(None, prefix)

    assert sum(r["answers"] for r in results) + sum(len(r["errors"]) for r in results) == PROCESSES * REQUESTS
    assert api.throttled[TOKEN] > 0


def test_a_killed_process_does_not_keep_its_slot(redis_url, prefix):
    limits = {"max_concurrency": 1}
    with RateLimitedApi(rate=100.0, capacity=100) as api:
        holder = start_client(api, 1, shared=redis_url, prefix=prefix, path="/hang", limits=limits, lease=1.0)
        deadline = time.monotonic() + DEADLINE
        while api.hung == 0:  # the request reached the server: its slot is held
            assert holder.poll() is None and time.monotonic() < deadline, "the holder never sent its request"
            time.sleep(0.05)
        client = redis.Redis.from_url(redis_url)
        (slots,) = [key for key in client.scan_iter(match=f"{prefix}:*:slots")]
        time.sleep(2.5)  # over two leases: a live holder renews its lease
        assert client.zcard(slots) == 1

        holder.send_signal(signal.SIGKILL)
        holder.wait()
        second = finish(start_client(api, 1, shared=redis_url, prefix=prefix, limits=limits, lease=1.0))

        assert second == {"answers": 1, "errors": []}
        assert api.answered[TOKEN] == 1 and api.hung == 1
        assert client.zcard(slots) == 0  # released after use
        client.close()


def test_an_unreachable_budget_store_sends_nothing_and_says_where_it_is():
    from cmflow.http import make_client
    from cmflow.http.shared_budget import BudgetStoreUnavailable

    with RateLimitedApi(rate=100.0, capacity=100) as api:
        url = f"redis://:hunter2-password@127.0.0.1:{free_port()}/0"
        with make_client(allow_private_network=True, shared_budgets=url) as client:
            client.budgets.unreachable_wait = 0.5
            session = client.session("loopback", base_url=api.url, token=TOKEN)
            with pytest.raises(BudgetStoreUnavailable) as raised:
                session.get_json("/items")
        assert api.requests[TOKEN] == 0
    message = str(raised.value)
    assert "hunter2-password" not in message and "***@127.0.0.1" in message
    assert message.startswith("loopback: the shared request budgets at redis://")
    assert "CMFLOW_SHARED_BUDGETS" in message and "no request is sent" in message


def test_a_url_that_is_not_redis_is_refused_with_what_to_write(monkeypatch):
    from cmflow.http import make_client

    monkeypatch.setenv("CMFLOW_SHARED_BUDGETS", "postgresql://cmflow:s3cret-pw@db/cmflow")
    with pytest.raises(ValueError) as raised:
        make_client()
    assert "s3cret-pw" not in str(raised.value)
    assert "is not a Redis URL; write one such as redis://" in str(raised.value)


def test_the_snapshot_tells_what_is_left_per_platform_and_token(redis_url, prefix):
    from cmflow.http import BudgetLimits, make_client
    from cmflow.http.shared_budget import shared_budget_snapshot

    with RateLimitedApi(rate=100.0, capacity=100) as api:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("CMFLOW_SHARED_BUDGETS_PREFIX", prefix)
            with make_client(allow_private_network=True, shared_budgets=redis_url) as client:
                session = client.session("loopback", base_url=api.url, token=TOKEN,
                                         budget=BudgetLimits(max_concurrency=3, requests_per_second=0.001, burst=5))
                for _ in range(3):
                    session.get_json("/items")
                session.budget.hold(time.time() + 600, "told to wait")

    (snapshot,) = shared_budget_snapshot(redis_url, prefix=prefix)
    assert snapshot.platform == "loopback" and TOKEN not in snapshot.token_hash
    assert 2.0 <= snapshot.remaining < 2.5  # 5 - 3 spent (it refills by one in 1,000 s)
    assert snapshot.reset_at is not None and snapshot.reset_at > time.time() + 500
    assert (snapshot.slots_in_use, snapshot.max_concurrency, snapshot.units_spent_today) == (0, 3, 3)


def test_the_daemon_setting_is_checked_and_handed_to_runs(tmp_path, monkeypatch, store_url):
    from cmflow.daemon.service import Daemon
    from cmflow.daemon.settings import load_daemon_settings
    from cmflow.foundation.errors import WorkflowInvalid

    settings_file = tmp_path / "cmflow-daemon.toml"
    settings_file.write_text('[daemon]\nshared_budgets = "http://:pw-in-url-123@redis:6379"\n')
    with pytest.raises(WorkflowInvalid) as raised:
        load_daemon_settings(settings_file)
    (problem,) = raised.value.problems
    assert problem.path == "daemon.shared_budgets" and "is not a Redis URL" in problem.message
    assert "pw-in-url-123" not in str(raised.value)

    settings_file.write_text('[daemon]\nshared_budgets = "redis://127.0.0.1:6379/3"\n')
    monkeypatch.setenv("CMFLOW_SHARED_BUDGETS", "")  # so that the test's end restores what was there
    Daemon(tmp_path, load_daemon_settings(settings_file), store_url)
    assert os.environ["CMFLOW_SHARED_BUDGETS"] == "redis://127.0.0.1:6379/3"


def start_private_redis(port: int) -> subprocess.Popen:
    """A Redis of this test's own (the shared test server is never stopped), ready to answer."""
    server = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                               "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + DEADLINE
    while True:
        try:
            redis.Redis(port=port, socket_connect_timeout=1).ping()
            return server
        except redis.ConnectionError:
            assert server.poll() is None and time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)


def test_a_request_waits_through_a_redis_restart_and_is_sent_once(prefix):
    """Redis stopped for a few seconds mid-run: the next request is not sent while it is gone,
    then goes out once when it is back; nothing fails."""
    from cmflow.http import make_client

    port = free_port()
    server = start_private_redis(port)
    sent_during_outage: list[int] = []
    try:
        with RateLimitedApi(rate=100.0, capacity=100) as api:
            with make_client(allow_private_network=True, shared_budgets=f"redis://127.0.0.1:{port}/0") as client:
                session = client.session("loopback", base_url=api.url, token=TOKEN)
                session.get_json("/items")
                server.terminate()
                server.wait()

                def restart() -> None:
                    nonlocal server
                    time.sleep(2.0)
                    sent_during_outage.append(api.requests[TOKEN] - 1)
                    server = start_private_redis(port)

                restarter = threading.Thread(target=restart)
                restarter.start()
                session.get_json("/items")
                restarter.join()
            assert sent_during_outage == [0]
            assert api.requests[TOKEN] == api.answered[TOKEN] == 2 and api.throttled[TOKEN] == 0
    finally:
        server.terminate()
        server.wait()


@pytest.mark.parametrize("shared", [True, False], ids=["shared", "per-process"])
def test_a_wait_one_process_is_told_holds_every_process(shared, redis_url, prefix, monkeypatch):
    """A 429 with Retry-After: 600 answered to one client holds the other client's requests too
    (two clients: two registries, as two processes have), only when the budget is shared."""
    from cmflow.http import RateLimited, RetryPolicy, make_client

    monkeypatch.setenv("CMFLOW_SHARED_BUDGETS_PREFIX", prefix)
    url = redis_url if shared else ""
    with RateLimitedApi(rate=100.0, capacity=100) as api:
        clients = [make_client(allow_private_network=True, shared_budgets=url,
                               retry=RetryPolicy(max_total_wait=5.0)) for _ in range(2)]
        first, second = (c.session("loopback", base_url=api.url, token=TOKEN) for c in clients)
        with pytest.raises(RateLimited):
            first.get_json("/refuse")
        if shared:
            with pytest.raises(RateLimited) as raised:
                second.get_json("/items")
            assert "/items not sent: HTTP 429: slow down; waiting 10 min" in str(raised.value)
            assert api.answered[TOKEN] == 0  # the second client sent nothing
        else:
            second.get_json("/items")
            assert api.answered[TOKEN] == 1
        for client in clients:
            client.close()
        assert api.throttled[TOKEN] == 1


@pytest.mark.parametrize("offset", [-3600.0, 3600.0], ids=["its clock an hour behind", "an hour ahead"])
def test_a_wait_a_machine_whose_clock_is_off_is_told_holds_every_process_as_long(offset, redis_url, prefix,
                                                                                 monkeypatch):
    """The 429 (Retry-After: 600) is answered to a client whose machine's clock is an hour off:
    the hold it shares is kept on Redis's clock, so the client with the right time is held the
    same ten minutes, neither not at all (the hold long over on its clock) nor seventy minutes."""
    from cmflow.http import RateLimited, RetryPolicy, make_client

    monkeypatch.setenv("CMFLOW_SHARED_BUDGETS_PREFIX", prefix)
    with RateLimitedApi(rate=100.0, capacity=100) as api:
        clients = [make_client(allow_private_network=True, shared_budgets=redis_url, clock=clock,
                               retry=RetryPolicy(max_total_wait=5.0))
                   for clock in (lambda: time.time() + offset, time.time)]
        skewed, right = (c.session("loopback", base_url=api.url, token=TOKEN) for c in clients)
        with pytest.raises(RateLimited):
            skewed.get_json("/refuse")
        with pytest.raises(RateLimited) as raised:
            right.get_json("/items")
        assert "/items not sent: HTTP 429: slow down; waiting 10 min" in str(raised.value)
        with pytest.raises(RateLimited) as raised:  # and the machine that learnt it, on its own clock
            skewed.get_json("/items")
        assert "/items not sent: HTTP 429: slow down; waiting 10 min" in str(raised.value)
        for client in clients:
            client.close()
        assert api.answered[TOKEN] == 0 and api.throttled[TOKEN] == 1


def step_through(budget, time_, steps) -> list[float]:
    """Run ``steps`` on a budget in virtual time: ``"request"`` (the wait it got), a number
    (seconds passing), or a function of now giving a Pace to observe."""
    waits = []
    for step in steps:
        if step == "request":
            with budget.slot(max_wait=1e9) as waited:
                waits.append(round(waited, 4))
        elif isinstance(step, (int, float)):
            time_.sleep(step)
        else:
            budget.observe(step(time_.clock()))
    return waits


SCENARIOS = {
    "bucket": (BUCKET := {"requests_per_second": 2.0, "burst": 3}, ["request"] * 6 + [10.0] + ["request"] * 4),
    "hold": ({}, ["request", lambda now: Pace(hold_until=now + 30, reason="reset"), "request", "request"]),
    "spacing until a time": ({}, ["request", lambda now: Pace(interval=5.0, until=now + 12, reason="near"),
                                  "request", "request", "request", "request", "request"]),
    "calm ends spacing": ({}, [lambda now: Pace(interval=5.0, reason="near"), "request", "request",
                               lambda now: Pace(calm=True), "request", "request"]),
    "headers stand the bucket aside": (BUCKET, ["request"] * 4 + [lambda now: Pace(calm=True, known_until=now + 20)]
                                       + ["request"] * 5 + [25.0] + ["request"] * 5),
}


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_a_shared_budget_books_what_a_process_budget_books(scenario, redis_url, prefix):
    """The same steps in virtual time give the same waits, kept in the process or in Redis."""
    from cmflow.http import BudgetLimits
    from cmflow.http.budget import RequestBudget
    from cmflow.http.replay import VirtualTime
    from cmflow.http.shared_budget import SharedBudgetRegistry

    limits, steps = SCENARIOS[scenario]
    limits = BudgetLimits(max_concurrency=2, **limits)
    local_time, shared_time = VirtualTime(), VirtualTime()
    local = RequestBudget("local", limits, clock=local_time.clock, sleep=local_time.sleep)
    # The scripts read Redis's time; here they take the virtual clock instead (script_clock),
    # so that the seconds a step skips pass for the bookings as they do in the process.
    registry = SharedBudgetRegistry(redis_url, clock=shared_time.clock, sleep=shared_time.sleep, prefix=prefix,
                                    script_clock=shared_time.clock)
    shared = registry.get(get_platform("loopback"), TOKEN, limits)
    try:
        expected = step_through(local, local_time, steps)
        assert step_through(shared, shared_time, steps) == expected
    finally:
        registry.close()
    assert any(expected), "a scenario where nothing waits tells nothing"


def test_the_snapshot_tells_what_the_platforms_headers_said_is_left(redis_url, prefix):
    """Answers arrive out of order across workers: of two answers in one window, the one with
    fewer requests left is the later one, and stays; Meta's percentage is kept as last seen."""
    from cmflow.http.shared_budget import SharedBudgetRegistry, shared_budget_snapshot

    now = time.time()
    registry = SharedBudgetRegistry(redis_url, clock=time.time, sleep=time.sleep, prefix=prefix)
    mastodon = registry.get(get_platform("mastodon"), TOKEN)
    mastodon.observe(Pace(calm=True, known_until=now + 100, remaining=42, limit=300, window_reset=now + 100))
    mastodon.observe(Pace(calm=True, known_until=now + 100, remaining=57, limit=300, window_reset=now + 100))
    registry.get(get_platform("instagram"), TOKEN).observe(Pace(calm=True, used_percent=64.0))
    registry.close()

    instagram, mastodon_left = shared_budget_snapshot(redis_url, prefix=prefix)
    assert (mastodon_left.platform, mastodon_left.remaining, mastodon_left.limit) == ("mastodon", 42, 300)
    # Kept on Redis's clock as an offset from the process's now: the script's own latency may
    # shift it by milliseconds (33 ms on a loaded machine), never by the second a header counts in.
    assert mastodon_left.reset_at == pytest.approx(now + 100, abs=1.0)
    assert (instagram.platform, instagram.used_percent, instagram.remaining) == ("instagram", 64.0, None)


def test_a_clock_off_by_an_hour_credits_no_tokens(redis_url, prefix):
    """Two registries (two machines) book in turn on one bucket of 1 request a second, one with
    its clock an hour behind. Booked in Redis's time, the n-th request waits n - 1 seconds, as on
    one machine; booked in each client's time, the hour between them refilled the bucket."""
    from cmflow.http import BudgetLimits
    from cmflow.http.shared_budget import SharedBudgetRegistry

    limits = BudgetLimits(max_concurrency=2, requests_per_second=1.0, burst=1)
    waits: list[float] = []
    registries = [SharedBudgetRegistry(redis_url, clock=lambda offset=offset: time.time() + offset,
                                       sleep=waits.append, prefix=prefix) for offset in (0.0, -3600.0)]
    try:
        budgets = [registry.get(get_platform("loopback"), TOKEN, limits) for registry in registries]
        for number in range(6):
            with budgets[number % 2].slot(max_wait=1e9):
                pass
    finally:
        for registry in registries:
            registry.close()
    assert len(waits) == 5  # every request but the first waited
    assert [round(wait) for wait in waits] == [1, 2, 3, 4, 5]


def redis_calls(client) -> int:
    """Commands cmflow sent to a Redis of the test's own (scripts and blocking pops)."""
    stats = client.info("commandstats")
    return sum(stats.get(f"cmdstat_{name}", {}).get("calls", 0) for name in ("evalsha", "eval", "blpop", "zrem"))


def test_waiting_for_a_slot_does_not_poll_redis():
    """Eight threads wait for the one slot another holds for 2 s: they block on a wake-up list
    instead of asking Redis every few milliseconds, and each gets the slot once it is free."""
    from cmflow.http import BudgetLimits
    from cmflow.http.shared_budget import SLOT_WAIT, SharedBudgetRegistry

    port = free_port()
    server = start_private_redis(port)
    waiters, hold = 8, 2.0
    try:
        counter = redis.Redis(port=port)
        registry = SharedBudgetRegistry(f"redis://127.0.0.1:{port}/0", clock=time.time, sleep=time.sleep)
        budget = registry.get(get_platform("loopback"), TOKEN, BudgetLimits(max_concurrency=1))
        held, got = threading.Event(), []

        def holder() -> None:
            with budget.slot(max_wait=1e9):
                held.set()
                time.sleep(hold)
            got.append("holder")

        def waiter(number: int) -> None:
            with budget.slot(max_wait=1e9):
                got.append(number)

        threads = [threading.Thread(target=holder)]
        threads[0].start()
        held.wait(DEADLINE)
        before = redis_calls(counter)
        threads += [threading.Thread(target=waiter, args=(n,)) for n in range(waiters)]
        for thread in threads[1:]:
            thread.start()
        for thread in threads:
            thread.join(DEADLINE)
        calls = redis_calls(counter) - before
        registry.close()
    finally:
        server.terminate()
        server.wait()

    assert sorted(got, key=str) == sorted([*range(waiters), "holder"], key=str)  # each once, none lost
    assert budget.max_in_flight == 1
    # Per waiter: a try, a blocking pop per SLOT_WAIT of the hold, a try when woken, a release,
    # plus the reserve; polling every 10-30 ms made it 100 calls a waiter over a 2 s hold.
    per_waiter = calls / waiters
    assert per_waiter <= 4 + hold / SLOT_WAIT + waiters, f"{calls} Redis calls for {waiters} waiters"


def test_a_booking_retried_after_a_redis_hiccup_is_made_at_the_retry(redis_url, prefix):
    """The first booking's call fails after a second (Redis gone for a moment) and is sent
    again; the bucket of 1 request a second is booked at the retry, so the next request still
    waits about a second. Booked with the instant taken before the hiccup, it went through at once."""
    from cmflow.http import BudgetLimits
    from cmflow.http.shared_budget import SharedBudgetRegistry

    waits: list[float] = []
    registry = SharedBudgetRegistry(redis_url, clock=time.time, sleep=waits.append, prefix=prefix)
    reserve, failed = registry._scripts["reserve"], []

    def hiccup(**arguments):
        if not failed:
            failed.append(arguments)
            time.sleep(1.0)
            raise redis.ConnectionError("connection reset by peer")
        return reserve(**arguments)

    registry._scripts["reserve"] = hiccup
    try:
        budget = registry.get(get_platform("loopback"), TOKEN, BudgetLimits(requests_per_second=1.0, burst=1))
        for _ in range(2):
            with budget.slot(max_wait=1e9):
                pass
    finally:
        registry.close()
    assert len(failed) == 1  # one call failed and was sent again
    assert [round(wait) for wait in waits] == [1]  # only the second request waited, a second
