"""The local executor's run processes, each serving several runs (``[daemon] runs_per_process``).

Real processes forked from the real fork server run real workflows (the demo posts, one CSV
source) against a SQLite file; a run is held mid-fetch by a loopback feed that answers when the
test opens its gate, so a process is killed or timed out while provably under way. Counted per
run: its outcome, the process that ran it (the outcome's pid, which is also the pid its run lock
named) and its row in the store. The daemon-level faults (a warm process killed with SIGKILL,
its slot retried once and completed once) are in ``tests/faults/test_run_process_faults.py``.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from datetime import datetime, timedelta, timezone
from multiprocessing.connection import wait
from pathlib import Path

import pytest

from daemon_process import gated_feed, runs_of, workflow_text, write  # noqa: F401  (fixture: gated_feed)
from process_changes import runs_that_change_the_process
from cmflow.daemon.executor import LocalProcessPool
from cmflow.daemon.worker import ProcessBaseline, RunOutcome, RunRequest
from cmflow.foundation.secrets import redactor
from cmflow.workflow import load_workflow

UTC = timezone.utc
DEADLINE = 60.0


def request_for(file: Path, store_url: str, minute: int, timeout: timedelta = timedelta(minutes=5)) -> RunRequest:
    text = file.read_text(encoding="utf-8")
    key = load_workflow(file, text=text).key
    slot = datetime(2026, 11, 23, 8, minute, tzinfo=UTC)
    return RunRequest(str(file), key, slot, store_url, timeout, text)


def next_outcome(pool: LocalProcessPool) -> RunOutcome:
    """The next run to end (the test fails after DEADLINE)."""
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        wait(pool.waitables(), timeout=0.2)
        ended = pool.poll(datetime.now(UTC))
        if ended:
            [outcome] = ended
            return outcome
    pytest.fail(f"no run ended within {DEADLINE:.0f} s")


def run_in_turn(pool: LocalProcessPool, requests: list[RunRequest]) -> list[RunOutcome]:
    outcomes = []
    for request in requests:
        pool.submit(request)
        outcomes.append(next_outcome(pool))
    return outcomes


def stop(pool: LocalProcessPool) -> None:
    pool.stop(datetime.now(UTC) + timedelta(seconds=10), lambda: datetime.now(UTC))


def gone(pid: int) -> bool:
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def quick(tmp_path: Path) -> Path:
    file = tmp_path / "flows" / "quick.toml"
    write(file, workflow_text("Quick", tmp_path / "mail"))
    return file


@pytest.mark.parametrize("store_url", ["sqlite", "postgresql"], indirect=True)
def test_a_run_process_serves_its_runs_then_is_replaced(tmp_path, store_url, quick):
    pool = LocalProcessPool(1, runs_per_process=3)
    try:
        outcomes = run_in_turn(pool, [request_for(quick, store_url, minute) for minute in range(5)])
    finally:
        stop(pool)
    assert [o.status for o in outcomes] == ["ok"] * 5, outcomes
    pids = [o.pid for o in outcomes]
    assert pids[0] == pids[1] == pids[2] != pids[3] == pids[4], pids
    assert all(gone(pid) for pid in set(pids))  # the pool's stop closed the idle one
    history = runs_of(store_url, "Quick")
    assert sorted((r.slot.minute, r.status) for r in history) == [(m, "ok") for m in range(5)]


def test_one_run_per_process_is_a_fresh_process_per_run(tmp_path, store_url, quick):
    pool = LocalProcessPool(1, runs_per_process=1)
    try:
        outcomes = run_in_turn(pool, [request_for(quick, store_url, minute) for minute in range(3)])
    finally:
        stop(pool)
    assert [o.status for o in outcomes] == ["ok"] * 3
    assert len({o.pid for o in outcomes}) == 3


def test_a_process_above_its_memory_limit_after_a_run_is_replaced(tmp_path, store_url, quick):
    pool = LocalProcessPool(1, runs_per_process=100, max_memory_mb=1)  # every process holds more
    try:
        outcomes = run_in_turn(pool, [request_for(quick, store_url, minute) for minute in range(3)])
    finally:
        stop(pool)
    assert [o.status for o in outcomes] == ["ok"] * 3
    assert len({o.pid for o in outcomes}) == 3


def test_a_failed_run_leaves_its_process_serving_a_crashed_one_has_it_replaced(tmp_path, store_url, quick):
    """A source that cannot read its file fails the run as runs fail (recorded ``failed``): the
    process goes on. A store the run cannot open crashes it: that process is retired, since the
    daemon closes a crashed run's row by its process id."""
    broken = tmp_path / "flows" / "broken.toml"
    write(broken, workflow_text("Broken", tmp_path / "mail").replace("builtin:demo/meta_posts.csv",
                                                                    str(tmp_path / "no such file.csv")))
    (tmp_path / "a file").write_text("not a folder")
    nowhere = f"sqlite:///{tmp_path / 'a file' / 'state.db'}"  # cannot be created
    pool = LocalProcessPool(1, runs_per_process=100)
    try:
        outcomes = run_in_turn(pool, [request_for(quick, store_url, 0), request_for(broken, store_url, 0),
                                      request_for(quick, store_url, 1), request_for(quick, nowhere, 2),
                                      request_for(quick, store_url, 3)])
    finally:
        stop(pool)
    assert [o.status for o in outcomes] == ["ok", "failed", "ok", "crashed", "ok"], outcomes
    pids = [o.pid for o in outcomes]
    assert pids[0] == pids[1] == pids[2] == pids[3] != pids[4], pids


def test_kill_9_of_a_warm_process_mid_run_loses_only_that_run(tmp_path, store_url, quick, gated_feed):
    """A process that already served a run is killed while its second run waits on its feed:
    that run ends ``interrupted`` (the daemon tries its slot again), the first run's result is
    kept, and the next run goes to a fresh process."""
    slow = tmp_path / "flows" / "slow.toml"
    write(slow, workflow_text("Slow", tmp_path / "mail", feed=gated_feed.url))
    pool = LocalProcessPool(1, runs_per_process=100)
    try:
        [first] = run_in_turn(pool, [request_for(quick, store_url, 0)])
        pool.submit(request_for(slow, store_url, 0))
        deadline = time.monotonic() + DEADLINE
        while not gated_feed.arrived.is_set() and time.monotonic() < deadline:
            time.sleep(0.05)
        [under_way] = runs_of(store_url, "Slow")
        assert under_way.status == "running"
        os.kill(first.pid, signal.SIGKILL)
        killed = next_outcome(pool)
        gated_feed.open_gate()
        [after] = run_in_turn(pool, [request_for(quick, store_url, 1)])
    finally:
        stop(pool)
    assert first.status == "ok"
    assert (killed.status, killed.pid) == ("interrupted", first.pid), killed
    assert "killed by signal 9" in killed.error
    assert after.status == "ok" and after.pid != first.pid
    assert sorted((r.slot.minute, r.status) for r in runs_of(store_url, "Quick")) == [(0, "ok"), (1, "ok")]


def test_a_run_over_its_timeout_in_a_warm_process_is_stopped_and_its_process_replaced(tmp_path, store_url, quick,
                                                                                   gated_feed):
    slow = tmp_path / "flows" / "slow.toml"
    write(slow, workflow_text("Slow", tmp_path / "mail", feed=gated_feed.url))
    pool = LocalProcessPool(1, runs_per_process=100)
    try:
        [first] = run_in_turn(pool, [request_for(quick, store_url, 0)])
        [late] = run_in_turn(pool, [request_for(slow, store_url, 0, timeout=timedelta(seconds=2))])
        gone_in_time = gone(first.pid)
        [after] = run_in_turn(pool, [request_for(quick, store_url, 1)])
    finally:
        stop(pool)
    assert (late.status, late.pid, late.error) == ("timeout", first.pid, "stopped after its timeout of 2s")
    assert gone_in_time
    assert after.status == "ok" and after.pid != first.pid


def test_stopping_the_pool_ends_its_idle_processes(tmp_path, store_url, quick):
    pool = LocalProcessPool(2, runs_per_process=100)
    try:
        outcomes = run_in_turn(pool, [request_for(quick, store_url, 0)])
    finally:
        stop(pool)
    assert gone(outcomes[0].pid)


def test_a_run_process_idle_longer_than_its_lifetime_is_retired(tmp_path, store_url, quick):
    """After a burst, the processes it needed do not wait for ever: one idle for longer than
    ``idle_lifetime`` is retired at the next poll, and the next run starts in a fresh one; one
    that waited less serves it."""
    pool = LocalProcessPool(1, runs_per_process=100, idle_lifetime=1.0)
    try:
        first, second = run_in_turn(pool, [request_for(quick, store_url, minute) for minute in range(2)])
        assert second.pid == first.pid  # it waited less than its lifetime
        time.sleep(1.5)
        pool.poll(datetime.now(UTC))
        assert gone(first.pid)
        [third] = run_in_turn(pool, [request_for(quick, store_url, 2)])
    finally:
        stop(pool)
    assert [o.status for o in (first, second, third)] == ["ok"] * 3
    assert third.pid != first.pid


def test_what_a_run_changes_in_its_process_is_put_back_before_the_next(tmp_path, monkeypatch):
    """What :func:`cmflow.daemon.worker.serve_runs` undoes after each run, in this process: an
    environment variable set or removed, the working folder, the secrets learnt; a thread the run
    left running cannot be undone, so the process says it must be retired."""
    monkeypatch.setenv("CMFLOW_TEST_KEPT", "kept")
    monkeypatch.chdir(tmp_path)
    baseline = ProcessBaseline()
    os.environ["CMFLOW_TEST_ADDED"] = "a run's"
    del os.environ["CMFLOW_TEST_KEPT"]
    (tmp_path / "elsewhere").mkdir()
    os.chdir(tmp_path / "elsewhere")
    redactor.add("a-secret-of-the-last-run")
    assert baseline.restore() is None
    assert os.environ.get("CMFLOW_TEST_KEPT") == "kept" and "CMFLOW_TEST_ADDED" not in os.environ
    assert Path.cwd() == tmp_path
    assert redactor("a-secret-of-the-last-run") == "a-secret-of-the-last-run"

    leaving = threading.Event()
    left = threading.Thread(target=leaving.wait, name="left-behind", daemon=True)
    left.start()
    try:
        assert baseline.restore() == "the run left 1 thread(s) running (left-behind)"
    finally:
        leaving.set()
        left.join()


def _serve_runs_without(parents_end, connection, installer=None, installer_args=()) -> None:
    """The run process: it closes its copy of the test's end (so that the test closing its own is
    an end of file here, as in the pool), installs what the test changes in it, then serves."""
    from cmflow.daemon.worker import serve_runs

    parents_end.close()
    if installer is not None:
        installer(*installer_args)
    serve_runs(connection, 100, None)


def _serve_in_a_real_process(requests: list[RunRequest], installer=None, installer_args=()) -> list[RunOutcome]:
    """Run ``requests`` one after the other through :func:`cmflow.daemon.worker.serve_runs` in
    one real process, started afresh (spawned: a fork of a pytest worker whose Polars threads are
    running can deadlock in the child), ``installer(*installer_args)`` called in it first."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    mine, theirs = context.Pipe(duplex=True)
    process = context.Process(target=_serve_runs_without, args=(mine, theirs, installer, installer_args),
                              name="cmflow-run-test")
    process.start()
    theirs.close()
    outcomes = []
    try:
        for request in requests:
            mine.send(request)
            assert mine.poll(DEADLINE), "the run process answered nothing"
            served = mine.recv()
            assert served.retiring is None or request is requests[-1], served
            outcomes.append(served.outcome)
    finally:
        mine.close()  # it exits on it
        process.join(DEADLINE)
        if process.is_alive():
            process.kill()
            process.join()
    assert process.exitcode == 0
    assert len({o.pid for o in outcomes}) == 1
    return outcomes


def test_a_run_in_a_reused_process_does_not_see_what_the_run_before_it_changed(tmp_path, store_url, quick):
    """Run 1 changes what a plugin might (an environment variable, the time zone, the working
    folder, a secret learnt, the handlers of SIGALRM and SIGTERM, a logger's level and handlers,
    logging disabled, the umask); run 2, in the same real process, is recorded as it starts
    (before its own deadline is set) and finds the process as run 1 found it, its alarm cleared."""
    import json

    seen = tmp_path / "seen.jsonl"
    outcomes = _serve_in_a_real_process([request_for(quick, store_url, minute) for minute in range(2)],
                                        runs_that_change_the_process, (str(seen), str(tmp_path)))
    assert [o.status for o in outcomes] == ["ok", "ok"], outcomes
    first, second = (json.loads(line) for line in seen.read_text(encoding="utf-8").splitlines())
    assert first["secret"] == "run-one-secret" and first["alarm_left"] == 0  # what a fresh process finds
    assert second == first, {key: (first[key], second[key]) for key in first if first[key] != second[key]}


def _second_run_fails_naming(store_url: str) -> None:
    """In the run process: run 1 is real, run 2 raises an error that names the store's URL."""
    import cmflow.runner

    real_run, runs = cmflow.runner.run_workflow, []

    def run_once_then_fail_naming_the_store(*args, **kwargs):
        runs.append(1)
        if len(runs) == 1:
            return real_run(*args, **kwargs)
        raise RuntimeError(f"could not reach {store_url}")

    cmflow.runner.run_workflow = run_once_then_fail_naming_the_store


@pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)
def test_a_kept_store_urls_password_stays_masked_in_the_next_runs_errors(tmp_path, store_url, quick):
    """The process keeps its PostgreSQL engine from run to run and forgets each run's secrets:
    the store URL's password must still be masked in what run 2 reports."""
    from sqlalchemy.engine import make_url

    password = make_url(store_url).password
    assert password, "the PostgreSQL test server's URL has no password to mask"
    outcomes = _serve_in_a_real_process([request_for(quick, store_url, minute) for minute in range(2)],
                                        _second_run_fails_naming, (store_url,))
    assert [o.status for o in outcomes] == ["ok", "crashed"], outcomes
    assert "could not reach" in outcomes[1].error and password not in outcomes[1].error, outcomes[1].error
