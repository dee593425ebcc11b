"""The daemon's health run (its health alerts, recorded as a run of the ``cmflow-daemon``
workflow) holds that workflow's run lock and is fenced by it, as a workflow run is: two daemons
that both think they schedule (one paused past its lease, then resumed) never both move the same
health alerts on, and a health run whose lock was taken over keeps nothing. On a real SQLite file
and the real PostgreSQL server."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from cmflow.daemon.health import advance_health
from cmflow.daemon.settings import HEALTH_WORKFLOW_ID, HealthOptions
from cmflow.store import open_store
from cmflow.testing import FakeClock
from store_rows import raw_rows
from test_daemon import health_settings, make_daemon, write_workflow
from test_run_lock_heartbeat import ELSEWHERE

LEASE = timedelta(seconds=3)
EVERYWHERE = pytest.mark.parametrize("store_url", ["sqlite", "postgresql"], indirect=True)


def failing_daemon(tmp_path, store_url):
    """A daemon whose one workflow fails at each hourly slot (its export is missing), health
    alerts at the third failure, its clock at the first slot."""
    write_workflow(tmp_path, "client", "every hour", source=str(tmp_path / "missing.csv"))
    clock = FakeClock(datetime(2026, 11, 24, 8, 0, 5, tzinfo=timezone.utc))
    return make_daemon(tmp_path, store_url, clock, settings_text=health_settings(failures=3, mail=tmp_path / "mail")), clock


@EVERYWHERE
def test_a_health_check_moves_nothing_while_another_daemons_health_run_holds_the_lock(tmp_path, store_url):
    daemon, clock = failing_daemon(tmp_path, store_url)
    with open_store(store_url) as store:
        store.acquire_run_lock(HEALTH_WORKFLOW_ID, ELSEWHERE, timedelta(hours=1))  # another daemon's health run
        for _ in range(3):
            daemon.tick()
            daemon.tick()
            clock.advance(hours=1)
        assert store.alerts(HEALTH_WORKFLOW_ID) == [] and store.outbox() == []
        assert store.runs(HEALTH_WORKFLOW_ID) == []
        store.release_run_lock(HEALTH_WORKFLOW_ID, ELSEWHERE)  # that run is done

        daemon.check_health()
        [alert] = store.alerts(HEALTH_WORKFLOW_ID)
        assert (alert.rule, alert.state) == ("workflow_failing", "firing")
        [queued] = store.outbox()
        assert queued.workflow == HEALTH_WORKFLOW_ID
        [run] = store.runs(HEALTH_WORKFLOW_ID)
        assert run.status == "ok"
        assert not store.run_lock_held(HEALTH_WORKFLOW_ID, "host-daemon#0")  # given back


class _TakenOverWhileAssessing:
    """The store, but while the health run reads the silences (after it took its lock, before it
    records), its lock lapses and another daemon takes it: as a daemon paused past its lease.
    (The silences read before the lock is taken, to see whether any alert moves at all, are
    left alone.)"""

    def __init__(self, store, url: str) -> None:
        self._store, self._url = store, url

    def __getattr__(self, name):
        return getattr(self._store, name)

    def silences(self, **kwargs):
        if raw_rows(self._url, "SELECT owner FROM run_locks WHERE workflow = ?", HEALTH_WORKFLOW_ID):
            raw_rows(self._url, "DELETE FROM run_locks WHERE workflow = ?", HEALTH_WORKFLOW_ID)
            self._store.acquire_run_lock(HEALTH_WORKFLOW_ID, ELSEWHERE, timedelta(hours=1))
        return self._store.silences(**kwargs)


@EVERYWHERE
def test_a_health_run_whose_lock_was_taken_over_keeps_nothing(tmp_path, store_url, caplog):
    daemon, clock = failing_daemon(tmp_path, store_url)
    for _ in range(3):
        daemon.tick()
        daemon.tick()
        clock.advance(hours=1)
    reports = list(daemon.health.values())
    with open_store(store_url) as store:
        before = store.alerts(HEALTH_WORKFLOW_ID), [m.key for m in store.outbox()]
        health_runs = store.runs(HEALTH_WORKFLOW_ID)
        assert reports and any(r.alerting for r in reports)
        raw_rows(store_url, "DELETE FROM alerts WHERE workflow = ?", HEALTH_WORKFLOW_ID)  # not announced yet
        raw_rows(store_url, "DELETE FROM outbox WHERE workflow = ?", HEALTH_WORKFLOW_ID)

        moved = advance_health(_TakenOverWhileAssessing(store, store_url), daemon.settings.health_workflow,
                               "cmflow-daemon.toml", reports, clock.now, HealthOptions(failures=3),
                               {"client"}, lease=LEASE)
        assert moved is None
        assert store.alerts(HEALTH_WORKFLOW_ID) == [] and store.outbox() == []  # nothing kept
        assert store.runs(HEALTH_WORKFLOW_ID) == health_runs  # refused at its start: no run recorded
        assert store.run_lock_held(HEALTH_WORKFLOW_ID, "host-daemon#0")  # the other daemon's lock, left alone
    assert before[0] and before[1]  # the daemon had recorded them itself, under its lock
    assert "health alerts not recorded: its run lock expired" in caplog.text
