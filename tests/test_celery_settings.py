"""Runs on Celery workers, the parts that need no worker: the ``[daemon]`` settings that choose
the celery executor, the one-screen errors of ``cmflow worker`` and ``cmflow daemon``, what a run's
message carries through Redis (never a store password), and a daemon whose Redis does not answer
(a real closed loopback port): its slot stays queued, and is not given up however long it waits;
the outcome of a run sent before is read from the store's run history.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from cmflow.cli import main
from cmflow.daemon.settings import load_daemon_settings
from cmflow.daemon.worker import RunRequest
from cmflow.foundation.errors import EXIT_INVALID, EXIT_RUN_FAILED, WorkflowInvalid
from cmflow.store import open_store
from cmflow.testing import FakeClock
from loopback_smtp import free_port

pytest.importorskip("celery")


def settings_problems(tmp_path: Path, text: str) -> list[str]:
    file = tmp_path / "cmflow-daemon.toml"
    file.write_text(text, encoding="utf-8")
    with pytest.raises(WorkflowInvalid) as error:
        load_daemon_settings(file)
    return [str(problem) for problem in error.value.problems]


def test_the_celery_settings_default_to_the_local_executor(tmp_path):
    options = load_daemon_settings(None).daemon
    assert (options.executor, options.broker, options.queue, options.visibility_timeout) == (
        "local", None, "cmflow", timedelta(hours=2))


@pytest.mark.parametrize("text, expected", [
    ('executor = "kubernetes"', "daemon.executor"),
    ('broker = "amqp://guest:s3cret-pass@mq/"', "'amqp://guest:***@mq/' is not a Redis URL"),
    ('broker = "redis://127.0.0.1:6379/zero"', "the database after the last / is a number"),
    ('queue = "runs for client A"', "daemon.queue"),
    ('executor = "celery"\nrun_timeout = "3h"', "visibility_timeout (2h) must be longer than run_timeout (3h)"),
])
def test_bad_celery_settings_are_refused_with_their_key(tmp_path, text, expected):
    problems = settings_problems(tmp_path, f"[daemon]\n{text}\n")
    assert any(expected in problem for problem in problems), problems
    assert not any("s3cret-pass" in problem for problem in problems)


def test_a_long_run_timeout_is_fine_for_the_local_executor(tmp_path):
    file = tmp_path / "cmflow-daemon.toml"
    file.write_text('[daemon]\nrun_timeout = "3h"\n', encoding="utf-8")
    assert load_daemon_settings(file).daemon.run_timeout == timedelta(hours=3)


def test_worker_without_a_broker_says_where_to_give_one(monkeypatch):
    monkeypatch.delenv("CMFLOW_BROKER", raising=False)
    result = CliRunner().invoke(main, ["worker"])
    assert result.exit_code == EXIT_INVALID
    assert "no broker: give --broker" in result.output and "CMFLOW_BROKER" in result.output
    assert "Traceback" not in result.output


def test_worker_with_a_broker_that_is_not_redis(monkeypatch):
    result = CliRunner().invoke(main, ["worker", "--broker", "amqp://guest:s3cret-pass@mq//"])
    assert result.exit_code == EXIT_INVALID
    assert "--broker: 'amqp://guest:***@mq//' is not a Redis URL" in result.output
    assert "s3cret-pass" not in result.output


def test_worker_with_an_unreachable_broker_says_so_without_its_password(tmp_path):
    broker = f"redis://:s3cret-pass@127.0.0.1:{free_port()}/0"  # a closed loopback port
    result = CliRunner().invoke(main, ["worker", "--broker", broker, "--store", f"sqlite:///{tmp_path / 's.db'}"])
    assert result.exit_code == EXIT_RUN_FAILED
    assert "cannot reach the broker redis://:***@127.0.0.1:" in result.output
    assert "is Redis running there" in result.output
    assert "s3cret-pass" not in result.output and "Traceback" not in result.output


def test_worker_reads_its_broker_from_the_daemon_settings(tmp_path):
    settings = tmp_path / "cmflow-daemon.toml"
    settings.write_text(f'[daemon]\nbroker = "redis://127.0.0.1:{free_port()}/0"\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["worker", "--config", str(settings), "--store", f"sqlite:///{tmp_path / 's.db'}"])
    assert result.exit_code == EXIT_RUN_FAILED
    assert "cannot reach the broker redis://127.0.0.1:" in result.output


def test_daemon_with_the_celery_executor_and_no_broker_does_not_start(tmp_path, monkeypatch):
    monkeypatch.delenv("CMFLOW_BROKER", raising=False)
    (tmp_path / "cmflow-daemon.toml").write_text('[daemon]\nexecutor = "celery"\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["daemon", str(tmp_path)])
    assert result.exit_code == EXIT_INVALID
    assert 'executor = "celery" needs a broker' in result.output
    assert "Traceback" not in result.output


# -- what travels through Redis --------------------------------------------------------------------
def request(store_url: str) -> RunRequest:
    return RunRequest("/srv/flows/weekly.toml", "weekly", datetime(2026, 11, 23, 8, tzinfo=timezone.utc),
                      store_url, timedelta(minutes=30), '[workflow]\nname = "weekly"\n')


def test_a_request_travels_as_json_and_comes_back_the_same():
    import json

    from cmflow.daemon.run_messages import outcome_message, outcome_of, request_message, request_of
    from cmflow.daemon.worker import RunOutcome

    sent = request("sqlite:////var/lib/cmflow/state.db")
    message = json.loads(json.dumps(request_message(sent)))
    assert request_of(message, None) == sent
    outcome = RunOutcome(sent, "ok", 7, 141, None, pid=4242)
    back = outcome_of(sent, json.loads(json.dumps(outcome_message(outcome))))
    assert back == RunOutcome(sent, "ok", 7, 141, None, pid=None)  # not a process of the daemon's host


def test_a_store_password_never_travels_through_redis():
    from cmflow.daemon.run_messages import WrongStore, request_message, request_of

    url = "postgresql+psycopg://cmflow:s3cret-pass@db.internal/cmflow"
    message = request_message(request(url))
    assert "s3cret-pass" not in repr(message)
    assert message["store"] is None and message["store_shown"] == "postgresql+psycopg://cmflow:***@db.internal/cmflow"
    with pytest.raises(WrongStore, match="start the worker with --store"):
        request_of(message, None)
    assert request_of(message, url).store_url == url  # the worker's own store (whether it is the
    # daemon's is told by the stores' ids: tests/test_store_identity.py)


# -- Redis does not answer -------------------------------------------------------------------------
def test_a_slot_waits_in_the_daemon_queue_while_redis_does_not_answer(tmp_path, store_url, caplog):
    """Sending fails again and again: the slot stays queued (never given up as missed, never
    recorded as a run), and the outage is logged once."""
    from cmflow.daemon.celery_app import CeleryOptions
    from cmflow.daemon.celery_executor import CeleryExecutor
    from cmflow.daemon.executor import ExecutorUnavailable
    from cmflow.daemon.service import UNRECORDED_ATTEMPTS, Daemon

    (tmp_path / "daily.toml").write_text(
        '[workflow]\nname = "daily"\ntimezone = "UTC"\nperiod = "last_week"\nschedule = "every day at 09:00"\n\n'
        '[[sources]]\nplugin = "csv"\npath = "builtin:demo/meta_posts.csv"\nrecord = "post"\n', encoding="utf-8")
    executor = CeleryExecutor(CeleryOptions(f"redis://127.0.0.1:{free_port()}/0", "unanswered"), 2)
    clock = FakeClock(datetime(2026, 11, 24, 9, 0, 5, tzinfo=timezone.utc))
    daemon = Daemon(tmp_path, load_daemon_settings(None), store_url, executor=executor, clock=clock)
    daemon.start()
    with caplog.at_level(logging.DEBUG, logger="cmflow.daemon"):
        for _ in range(UNRECORDED_ATTEMPTS + 2):
            executor._unavailable_until = 0.0  # no wait between tries here
            daemon.tick()
            clock.advance(minutes=1)
    assert list(daemon.queue) == [("daily", datetime(2026, 11, 24, 9, tzinfo=timezone.utc))]
    assert daemon.running == {}
    assert executor.free() == 0  # it waits a few seconds before it offers room again
    with open_store(store_url) as store:
        assert store.runs("daily") == []
        assert store.last_handled_slot("daily") is None  # not given up
    outage = [r for r in caplog.records if "does not answer" in r.getMessage()]
    assert len(outage) == 1, [r.getMessage() for r in outage]
    waits = [r for r in caplog.records if r.getMessage().startswith("daily@2026-11-24T09:00Z waits")]
    assert len(waits) == UNRECORDED_ATTEMPTS + 2
    with pytest.raises(ExecutorUnavailable, match="could not send"):
        executor.submit(daemon._request(daemon.catalog.by_key("daily"), clock.now))
    daemon.request_stop()
    daemon.shutdown()


def test_daemon_with_a_bad_broker_in_the_environment_does_not_start(tmp_path, monkeypatch):
    monkeypatch.setenv("CMFLOW_BROKER", "amqp://guest:s3cret-pass@mq//")
    (tmp_path / "cmflow-daemon.toml").write_text('[daemon]\nexecutor = "celery"\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["daemon", str(tmp_path)])
    assert result.exit_code == EXIT_INVALID
    assert "CMFLOW_BROKER: 'amqp://guest:***@mq//' is not a Redis URL" in result.output
    assert "s3cret-pass" not in result.output


def test_an_outcome_redis_cannot_give_is_read_from_the_run_history(tmp_path, store_url):
    """Redis does not answer (a closed port) while a run sent before has ended on its worker: the
    executor reads how it ended from the store's run history for its slot; a run whose outcome
    never comes at all is reported interrupted once overdue, and its slot is owed again."""
    from cmflow.daemon.celery_app import CeleryOptions
    from cmflow.daemon.celery_executor import CeleryExecutor, _InFlight

    executor = CeleryExecutor(CeleryOptions(f"redis://127.0.0.1:{free_port()}/0", "unanswered"), 2)
    ended = request(store_url)
    lost = RunRequest(ended.workflow_file, "other", ended.slot, store_url, ended.timeout, ended.workflow_text)
    with open_store(store_url) as store:
        run_id = store.start_run("weekly", ended.workflow_file, ended.slot.date(), ended.slot.date(), False,
                                 slot=ended.slot)
        store.finish_run(run_id, status="failed", stats={"records": {"post": 12}}, error="source meta: gone")
    executor._in_flight = {r.label: _InFlight(r, sent_at=0.0) for r in (ended, lost)}  # sent long ago
    gives_up = executor.gives_up_after(lost).total_seconds()
    executor._in_flight[lost.label].sent_at = time.monotonic() - gives_up + 60  # not overdue yet

    outcomes = executor.poll(datetime.now(timezone.utc))
    assert [(o.request.workflow_key, o.status, o.run_id, o.records, o.error) for o in outcomes] == [
        ("weekly", "failed", run_id, 12, "source meta: gone")]
    assert list(executor._in_flight) == [lost.label]  # nothing in the store for it: still waited for
    executor._in_flight[lost.label].sent_at -= 120  # now overdue
    [overdue] = executor.poll(datetime.now(timezone.utc))
    assert (overdue.request, overdue.status, overdue.ran) == (lost, "interrupted", False)
    assert "no outcome from the workers within" in overdue.error
    assert executor.free() == 2
