"""Named leases in the store (the scheduling daemon's): one holder at a time, renewed by it,
taken over once it expires or at once when its process is gone, given back on a clean stop.

Every test runs on a SQLite file and on a real PostgreSQL server (``postgres_url``: skipped
without ``CMFLOW_TEST_POSTGRES``, a failure in CI).
"""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import timedelta

import pytest

from cmflow.store import LeaseHolder, open_store, this_host
from cmflow.store.tables import leases

NAME = "scheduling"
MINUTE = timedelta(minutes=1)
ELSEWHERE = "other-machine#0badf00d"
"""A host that is not this process space: its holders' processes cannot be judged from here."""


@pytest.fixture
def store(any_store_url):
    with open_store(any_store_url) as opened:
        yield opened


def a_dead_pid() -> int:
    """The id of a process of this host that has ended."""
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    return int(done.stdout)


def test_the_first_caller_takes_the_lease_and_another_is_told_who_holds_it(store):
    first, second = LeaseHolder.this_process("daemon-a"), LeaseHolder("daemon-b", ELSEWHERE, 4242)
    taken = store.acquire_lease(NAME, first, MINUTE)
    assert (taken.held, taken.lease.holder, taken.replaced) == (True, "daemon-a", None)
    refused = store.acquire_lease(NAME, second, MINUTE)
    assert refused.held is False
    assert (refused.lease.holder, refused.lease.host, refused.lease.pid) == ("daemon-a", this_host(), first.pid)
    assert refused.lease.live
    assert store.lease(NAME).holder == "daemon-a"


def test_the_holder_renews_its_lease(store):
    holder = LeaseHolder.this_process("daemon-a")
    taken = store.acquire_lease(NAME, holder, MINUTE).lease
    renewed = store.acquire_lease(NAME, holder, MINUTE * 10)
    assert renewed.held and renewed.replaced is None
    assert renewed.lease.acquired_at == taken.acquired_at
    assert renewed.lease.renewed_at >= taken.renewed_at
    assert renewed.lease.expires_at > taken.expires_at + MINUTE * 8
    assert store.lease(NAME).expires_at == renewed.lease.expires_at


def test_an_expired_lease_is_taken_over_and_says_whose_it_was(store):
    gone, standby = LeaseHolder("daemon-a", ELSEWHERE, 4242), LeaseHolder.this_process("daemon-b")
    store.acquire_lease(NAME, gone, timedelta(0))  # expires as it is taken: a holder that stopped renewing
    assert store.lease(NAME).live is False
    answer = store.acquire_lease(NAME, standby, MINUTE)
    assert answer.held and answer.lease.holder == "daemon-b"
    assert (answer.replaced.holder, answer.replaced.host, answer.replaced.live) == ("daemon-a", ELSEWHERE, False)
    assert answer.lease.acquired_at >= answer.replaced.expires_at


def test_a_holder_whose_process_died_on_this_host_loses_the_lease_at_once(store):
    dead = LeaseHolder("daemon-a", this_host(), a_dead_pid())
    store.acquire_lease(NAME, dead, MINUTE * 60)
    answer = store.acquire_lease(NAME, LeaseHolder.this_process("daemon-b"), MINUTE)
    assert answer.held and answer.replaced.holder == "daemon-a"


def test_a_holder_on_another_host_keeps_the_lease_until_it_expires(store):
    """Its process id means nothing here (the same number may be another process, or none):
    only the lease's time can tell that it is gone."""
    store.acquire_lease(NAME, LeaseHolder("daemon-a", ELSEWHERE, a_dead_pid()), MINUTE * 60)
    answer = store.acquire_lease(NAME, LeaseHolder.this_process("daemon-b"), MINUTE)
    assert not answer.held and answer.lease.holder == "daemon-a"


def test_only_the_holder_gives_the_lease_back_and_then_it_is_free(store):
    holder, other = LeaseHolder.this_process("daemon-a"), LeaseHolder.this_process("daemon-b")
    store.acquire_lease(NAME, holder, MINUTE * 60)
    assert store.release_lease(NAME, other) is False
    assert store.lease(NAME).holder == "daemon-a"
    assert store.release_lease(NAME, holder) is True
    assert store.lease(NAME) is None
    answer = store.acquire_lease(NAME, other, MINUTE)
    assert answer.held and answer.replaced is None


def test_a_holder_that_lost_its_lease_cannot_renew_it(store):
    """A paused leader wakes up after another took over: its renewal is refused."""
    paused, standby = LeaseHolder.this_process("daemon-a"), LeaseHolder.this_process("daemon-b")
    store.acquire_lease(NAME, paused, timedelta(0))
    assert store.acquire_lease(NAME, standby, MINUTE).held
    late = store.acquire_lease(NAME, paused, MINUTE)
    assert not late.held and late.lease.holder == "daemon-b"
    assert store.release_lease(NAME, paused) is False  # nor give back what it no longer holds


def test_callers_racing_for_a_free_or_expired_lease_never_both_get_it(any_store_url):
    """Eight callers, each with a connection of its own, ask at the same instant, over rounds
    where the lease is new and rounds where it has expired: exactly one holds it each time."""
    callers = 8
    stores = [open_store(any_store_url) for _ in range(callers)]
    try:
        held_per_round = []
        for round_number in range(6):
            name = f"race-{round_number // 2}"  # rounds 0, 2, 4: a new lease; 1, 3, 5: an expired one
            if round_number % 2:  # the previous round's winner, gone: its lease is over
                with stores[0].engine.begin() as connection:
                    connection.execute(leases.update().where(leases.c.name == name).values(
                        holder="gone", host=ELSEWHERE, pid=1, expires_at=leases.c.renewed_at))
            barrier = threading.Barrier(callers)
            answers = [None] * callers

            def ask(index: int) -> None:
                barrier.wait()
                answers[index] = stores[index].acquire_lease(name, LeaseHolder.this_process(f"caller-{index}"),
                                                             MINUTE)

            threads = [threading.Thread(target=ask, args=(i,)) for i in range(callers)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            winners = [a.lease.holder for a in answers if a.held]
            held_per_round.append(len(winners))
            assert {a.lease.holder for a in answers} == set(winners)  # the losers were told who won
            assert stores[0].lease(name).holder == winners[0]
        assert held_per_round == [1] * 6
    finally:
        for opened in stores:
            opened.close()
