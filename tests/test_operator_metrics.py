"""The operator metrics (docs/metrics.md): a real ``cmflow daemon`` serving Prometheus metrics on
a loopback port, scraped with httpx and read with prometheus-client's own text parser, its counts
checked against what the store says; the errors of a bad or busy address; the outbox's depth as
the store reports it.

The workers' endpoint, in a real Celery worker, is in test_worker_metrics.py.
"""

from __future__ import annotations

import re
import socket
import subprocess
import time
from collections import Counter
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from cmflow_command import CMFLOW
from daemon_process import (  # noqa: F401  (fixtures: daemon_folder, start_daemon)
    daemon_folder, daily_slot_this_minute, runs_of, smtp_workflow, start_daemon, workflow_text, write)
from loopback_smtp import free_port
from cmflow.store import PENDING, open_store


def scrape(url: str) -> dict[tuple[str, tuple], float]:
    """Every sample of the endpoint, by (name, sorted labels)."""
    answer = httpx.get(url, timeout=10)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(answer.text) for sample in family.samples}


def test_the_daemon_serves_runs_queue_and_outbox_as_the_store_records_them(
        tmp_path, daemon_folder, store_url, start_daemon):
    schedule = daily_slot_this_minute()  # one slot each, now: no other run comes while we look
    write(daemon_folder / "fine.toml", workflow_text("Fine", tmp_path / "mail", schedule=schedule))
    write(daemon_folder / "unsent.toml", smtp_workflow("Unsent", free_port(), schedule=schedule))
    daemon = start_daemon("--metrics-address", "127.0.0.1:0")

    served = daemon.wait_for("metrics")
    url = re.search(r"http://\S+/metrics", served["message"]).group(0)
    assert url.startswith("http://127.0.0.1:") and not url.endswith(":0/metrics")
    for name in ("Fine", "Unsent"):
        daemon.wait_for("finished", workflow=name)
    samples = scrape(url)

    with open_store(store_url) as store:
        recorded = Counter(run.status for name in ("Fine", "Unsent") for run in store.runs(name, limit=100))
        pending = store.outbox(status=PENDING)
    assert recorded == {"ok": 1, "undelivered": 1}, daemon.tail()
    served_runs = {dict(labels)["status"]: value for (name, labels), value in samples.items()
                   if name == "cmflow_runs_total"}
    assert {status: count for status, count in served_runs.items() if count} == recorded
    assert served_runs["failed"] == 0  # the usual statuses are there from the start
    assert samples[("cmflow_run_start_lateness_seconds_count", ())] == 2

    assert len(pending) == 1 and pending[0].workflow == "Unsent"
    assert samples[("cmflow_outbox_messages", (("status", "pending"),))] == 1
    assert samples[("cmflow_outbox_messages", (("status", "dead"),))] == 0
    age = samples[("cmflow_outbox_oldest_pending_age_seconds", ())]
    assert 0 < age <= (datetime.now(timezone.utc) - pending[0].created_at).total_seconds()
    assert samples[("cmflow_store_up", ())] == 1

    assert samples[("cmflow_runs_in_flight", ())] == 0
    assert samples[("cmflow_slots_queued", ())] == 0
    assert samples[("cmflow_daemon_up", ())] == 1
    assert samples[("cmflow_daemon_scheduling", ())] == 1
    assert not [name for name, _ in samples if name.startswith("cmflow_api_budget")]  # none wired yet
    assert not [labels for (_, labels) in samples if any(k in ("workflow", "file") for k, _ in labels)]


def daemon_command(folder, store_url, *options):
    return subprocess.run([*CMFLOW, "daemon", str(folder), "--store", store_url, *options],
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("written, said", [
    ('"9464"', "is not an address: write host:port"),
    ('"metrics.example.org:9464"', "the host must be an IP address of this machine"),
    ('"127.0.0.1:99999"', "the port must be a number from 0 to 65535"),
    ('"::1:9464"', "put an IPv6 address in brackets"),
    ("9464", "must be a string in quotes"),
])
def test_a_bad_metrics_setting_is_one_clear_error(daemon_folder, store_url, written, said):
    settings = daemon_folder / "cmflow-daemon.toml"
    settings.write_text(f"[daemon]\nmetrics = {written}\n", encoding="utf-8")
    done = daemon_command(daemon_folder, store_url)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and len(done.stderr.splitlines()) <= 6, done.stderr
    assert str(settings) in done.stderr and "daemon.metrics" in done.stderr and said in done.stderr, done.stderr


def test_a_bad_or_busy_metrics_address_on_the_command_line_is_one_clear_error(daemon_folder, store_url):
    done = daemon_command(daemon_folder, store_url, "--metrics-address", "0.0.0.0")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "--metrics-address" in done.stderr and "is not an address" in done.stderr, done.stderr

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = daemon_command(daemon_folder, store_url, "--metrics-address", f"127.0.0.1:{port}")
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert f"cannot serve metrics on 127.0.0.1:{port}: Address already in use" in done.stderr, done.stderr
    assert len(done.stderr.splitlines()) == 1, done.stderr


@pytest.mark.parametrize("server", ["sqlite", "postgresql"])
def test_outbox_depth_counts_pending_and_dead_messages_and_the_oldest_pending(server, store_url, request):
    store_url = store_url if server == "sqlite" else request.getfixturevalue("postgres_url")
    from cmflow.store import QueuedMessage

    start = datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc)
    with open_store(store_url) as store:
        assert store.outbox_depth().pending == 0 and store.outbox_depth().oldest_pending is None
        for minute, key in enumerate(("a", "b", "c", "d")):
            run = store.start_run("w", "w.toml", start.date(), start.date(), False)
            message = QueuedMessage(key, "w.toml", "mail", "email", f"message {key}", {}, start + timedelta(days=3))
            store.commit_run(run, workflow="w", measurements=None, alerts=[], messages=[message],
                             now=start + timedelta(minutes=minute))
        ids = {m.key: m.id for m in store.outbox()}
        store.record_attempt(ids["a"], now=start, status="delivered", attempts=1, error=None)
        store.record_attempt(ids["b"], now=start, status="dead", attempts=3, error="refused")
        depth = store.outbox_depth()
    assert (depth.pending, depth.dead) == (2, 1)
    assert depth.oldest_pending == start + timedelta(minutes=2)  # c; a was delivered, b is dead


def test_api_budgets_show_the_tightest_budget_of_each_platform_and_never_a_token(caplog):
    from prometheus_client import CollectorRegistry, generate_latest

    from cmflow.metrics.budgets import BudgetCollector

    reset = datetime(2026, 12, 7, 4, 0, tzinfo=timezone.utc)
    budgets = [("instagram", 180.0, None), ("instagram", 12.0, reset), ("youtube", None, reset.timestamp()),
               ("x", 40.0, reset.timestamp())]
    registry = CollectorRegistry()
    registry.register(BudgetCollector(lambda: iter(budgets), cache_seconds=0))
    text = generate_latest(registry).decode()
    found = {(s.name, tuple(sorted(s.labels.items()))): s.value
             for family in text_string_to_metric_families(text) for s in family.samples}
    assert found == {
        ("cmflow_api_budget_remaining", (("platform", "instagram"),)): 12.0,
        ("cmflow_api_budget_remaining", (("platform", "x"),)): 40.0,
        ("cmflow_api_budget_reset_timestamp_seconds", (("platform", "instagram"),)): reset.timestamp(),
        ("cmflow_api_budget_reset_timestamp_seconds", (("platform", "x"),)): reset.timestamp(),
        ("cmflow_api_budgets", (("platform", "instagram"),)): 2,
        ("cmflow_api_budgets", (("platform", "x"),)): 1,
        ("cmflow_api_budgets", (("platform", "youtube"),)): 1,  # paced by headers: no count to show
    }

    def unreachable():
        raise ConnectionError("Error connecting to redis://:s3cret@127.0.0.1:1/0")

    failing = CollectorRegistry()
    failing.register(BudgetCollector(unreachable))
    assert "cmflow_api_budget" not in generate_latest(failing).decode()  # no samples, no failed scrape
    generate_latest(failing)
    said = [r.getMessage() for r in caplog.records if r.name == "cmflow.metrics"]
    assert said == ["metrics: cannot read the API budgets: ConnectionError: Error connecting to "
                    "redis://:***@127.0.0.1:1/0"]  # once per outage, the password hidden


def test_the_daemon_reads_the_budgets_its_runs_share_in_redis(redis_url, monkeypatch):
    """Budgets booked in Redis by one worker's run are what the daemon's metrics serve."""
    from prometheus_client import CollectorRegistry, generate_latest

    from cmflow.http.platforms import Pace, get_platform
    from cmflow.http.shared_budget import SharedBudgetRegistry
    from cmflow.metrics.budgets import BudgetCollector, no_budgets, shared_budgets_reader
    from shared_servers import unique_name

    monkeypatch.delenv("CMFLOW_SHARED_BUDGETS", raising=False)
    assert shared_budgets_reader(None) is no_budgets  # the runs share none: nothing to read
    prefix = unique_name("cmflow:budget-metrics")
    monkeypatch.setenv("CMFLOW_SHARED_BUDGETS_PREFIX", prefix)
    now = time.time()
    runs = SharedBudgetRegistry(redis_url, clock=time.time, sleep=time.sleep, prefix=prefix)
    runs.get(get_platform("mastodon"), "token-of-the-app").observe(
        Pace(calm=True, known_until=now + 100, remaining=42, limit=300, window_reset=now + 100))
    runs.close()

    registry = CollectorRegistry()
    registry.register(BudgetCollector(shared_budgets_reader(redis_url), cache_seconds=0))
    text = generate_latest(registry).decode()
    found = {(s.name, tuple(sorted(s.labels.items()))): s.value
             for family in text_string_to_metric_families(text) for s in family.samples}
    assert found[("cmflow_api_budget_remaining", (("platform", "mastodon"),))] == 42.0
    assert found[("cmflow_api_budgets", (("platform", "mastodon"),))] == 1
    assert "token-of-the-app" not in text


def test_a_store_that_does_not_answer_is_served_as_down_and_said_once(tmp_path, caplog):
    from prometheus_client import CollectorRegistry, generate_latest

    from cmflow.metrics.outbox import OutboxCollector

    registry = CollectorRegistry()
    registry.register(OutboxCollector(f"sqlite:///{tmp_path / 'gone' / 'state.db'}", cache_seconds=0))
    for _ in range(3):
        text = generate_latest(registry).decode()
        assert "cmflow_store_up 0.0" in text and "cmflow_outbox" not in text
    said = [r.getMessage() for r in caplog.records if r.name == "cmflow.metrics"]
    assert len(said) == 1 and said[0].startswith("metrics: cannot read the outbox: "), said


def test_a_daemon_without_metrics_never_imports_prometheus_client():
    """Off by default, and then free: the daemon's start imports neither the library nor cmflow.metrics."""
    import sys as _sys

    script = ("import sys; from cmflow.cli.daemon import daemon; import cmflow.daemon.service; "
              "from cmflow.daemon.settings import load_daemon_settings; load_daemon_settings(None); "
              "print(sorted(m for m in sys.modules if m.startswith(('prometheus_client', 'cmflow.metrics'))))")
    done = subprocess.run([_sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize("text, host, port, loopback", [
    ("127.0.0.1:9464", "127.0.0.1", 9464, True),
    (" localhost:0 ", "localhost", 0, True),
    ("0.0.0.0:9464", "0.0.0.0", 9464, False),
    ("[::1]:9464", "::1", 9464, True),
    ("10.0.0.7:9100", "10.0.0.7", 9100, False),
])
def test_listen_addresses_in_every_form_they_are_written(text, host, port, loopback):
    from cmflow.foundation.listen_addresses import parse_listen_address

    address = parse_listen_address(text)
    assert (address.host, address.port, address.loopback) == (host, port, loopback)
    assert parse_listen_address(str(address)) == address


def test_one_reading_of_the_store_and_of_the_budgets_serves_scrapes_for_a_few_seconds(store_url):
    from prometheus_client import CollectorRegistry, generate_latest

    from cmflow.metrics.budgets import BudgetCollector
    from cmflow.metrics.outbox import OutboxCollector
    from cmflow.store import QueuedMessage

    def queue_one(key: str) -> None:
        start = datetime.now(timezone.utc)
        with open_store(store_url) as store:
            run = store.start_run("w", "w.toml", start.date(), start.date(), False)
            store.commit_run(run, workflow="w", measurements=None, alerts=[], now=start, messages=[
                QueuedMessage(key, "w.toml", "mail", "email", key, {}, start + timedelta(days=1))])

    readings = []

    def budgets():
        readings.append(1)
        return [("instagram", 100.0 - len(readings), None)]

    queue_one("first")
    cached, fresh = CollectorRegistry(), CollectorRegistry()
    cached.register(OutboxCollector(store_url, cache_seconds=3600))
    cached.register(BudgetCollector(budgets, cache_seconds=3600))
    fresh.register(OutboxCollector(store_url, cache_seconds=0))
    assert 'cmflow_outbox_messages{status="pending"} 1.0' in generate_latest(cached).decode()
    queue_one("second")
    text = generate_latest(cached).decode()
    assert 'cmflow_outbox_messages{status="pending"} 1.0' in text  # the first reading still
    assert 'cmflow_api_budget_remaining{platform="instagram"} 99.0' in text and len(readings) == 1
    assert 'cmflow_outbox_messages{status="pending"} 2.0' in generate_latest(fresh).decode()
