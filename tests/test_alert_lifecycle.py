"""The alert lifecycle over successive daily runs against one real SQLite store.

Each run covers "yesterday": the test rewrites the export with that day's post and moves the
clock one day. The threshold rule fires when the day's reach is below 500.
"""

from __future__ import annotations

import csv
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from cmflow.foundation.silences import Silence
from cmflow.store import open_store
from cmflow.testing import run_workflow_file

DAY0 = date(2026, 11, 2)
LOW, HIGH = 300, 900


def workflow(tmp_path: Path, rule: str) -> Path:
    path = tmp_path / "daily.toml"
    path.write_text(f"""
[workflow]
name = "Daily reach"
timezone = "UTC"
period = "yesterday"

[[sources]]
id = "posts"
plugin = "csv"
path = "posts.csv"

[[metrics]]
plugin = "totals"
counters = ["reach"]
by = ["account"]

[[triggers]]
id = "reach_low"
plugin = "threshold"
metric = "total_reach"
below = 500
{rule}
""", encoding="utf-8")
    return path


class Days:
    """Runs the workflow day after day with the given reach (None: no post that day)."""

    def __init__(self, tmp_path: Path, rule: str = "") -> None:
        self.path = workflow(tmp_path, rule)
        self.posts = tmp_path / "posts.csv"
        self.store_url = f"sqlite:///{tmp_path / 'state.db'}"
        self.day = DAY0

    def run(self, reach: int | None):
        with self.posts.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["platform", "account", "post_id", "published_at", "likes", "reach"])
            if reach is not None:
                writer.writerow(["instagram", "a", f"p{self.day}", f"{self.day}T10:00:00Z", 5, reach])
        now = datetime.combine(self.day + timedelta(days=1), datetime.min.time(), timezone.utc) + timedelta(hours=9)
        result = run_workflow_file(self.path, store_url=self.store_url, now=now)
        self.day += timedelta(days=1)
        return result

    def sequence(self, reaches: list[int | None]) -> list[tuple[str, list[str]]]:
        """Per run: the value alert's state and the events announced."""
        out = []
        for reach in reaches:
            result = self.run(reach)
            assert result.status == "ok", [s.error for s in result.failed_stages]
            out.append((state_of(result), [n.event for n in result.notifications]))
        return out


def state_of(result) -> str:
    for name, alerts in (("firing", result.alerts), ("pending", result.pending), ("resolved", result.resolved)):
        if any(a.condition == "value" for a in alerts):
            return name
    return "-"


def test_for_waits_for_consecutive_runs_and_keep_firing_for_resolves_a_flapping_series_once(tmp_path):
    days = Days(tmp_path, "for = 2\nkeep_firing_for = 1")
    assert days.sequence([LOW, HIGH, LOW, LOW, LOW, HIGH, LOW, HIGH, HIGH, HIGH]) == [
        ("pending", []),             # once is not yet "for 2 runs"
        ("-", []),                   # the pending alert went away: never announced
        ("pending", []),
        ("firing", ["firing"]),      # second low run in a row: fires, announced once
        ("firing", []),
        ("firing", []),              # fine once: kept firing (keep_firing_for = 1)
        ("firing", []),              # low again: the same episode, nothing new to say
        ("firing", []),
        ("resolved", ["resolved"]),  # fine twice in a row: resolved, announced once
        ("-", []),
    ]


def test_repeat_every_reminds_a_still_firing_alert_no_more_often_than_asked(tmp_path):
    days = Days(tmp_path, 'repeat_every = "2d"')
    events = [events for _, events in days.sequence([LOW, LOW, LOW, LOW, LOW])]
    assert events == [["firing"], [], ["repeat"], [], ["repeat"]]
    with open_store(days.store_url) as store:
        [state] = store.alerts()
    assert state.reminders == 2 and state.state == "firing"


def test_no_data_is_an_alert_of_its_own_that_resolves_when_data_is_back(tmp_path):
    days = Days(tmp_path)
    first = days.run(HIGH)
    assert not first.alerts
    quiet = days.run(None)  # the export has no post for the day
    [no_data] = quiet.alerts
    assert no_data.condition == "no_data" and no_data.summary.startswith("no data: total_reach has no value")
    assert [n.event for n in quiet.notifications] == ["firing"]
    back = days.run(HIGH)
    assert [a.condition for a in back.resolved] == ["no_data"] and not back.alerts


def test_no_data_keep_leaves_the_rule_silent(tmp_path):
    days = Days(tmp_path, 'no_data = "keep"')
    days.run(LOW)
    quiet = days.run(None)
    assert [a.condition for a in quiet.alerts] == ["value"] and not quiet.notifications


def test_a_silenced_alert_still_fires_but_is_announced_only_after_its_silence(tmp_path):
    days = Days(tmp_path)
    with open_store(days.store_url) as store:
        store.add_silence(Silence("s1", {"rule": "reach_low", "account": "a"},
                                  datetime(2026, 11, 1, tzinfo=timezone.utc),
                                  datetime(2026, 11, 4, 12, tzinfo=timezone.utc), "campaign pause"))
    muted = days.run(LOW)  # runs on 3 November: silenced
    assert [a.silenced_by for a in muted.alerts] == ["s1"] and not muted.notifications
    still = days.run(LOW)  # 4 November 09:00: still silenced
    assert not still.notifications
    after = days.run(LOW)  # 5 November: the silence is over, the alert still fires: told once
    assert [n.event for n in after.notifications] == ["firing"]
    assert not days.run(LOW).notifications


def test_a_silence_on_another_account_does_not_mute(tmp_path):
    days = Days(tmp_path)
    with open_store(days.store_url) as store:
        store.add_silence(Silence("s2", {"account": "b*"}, datetime(2026, 11, 1, tzinfo=timezone.utc),
                                  datetime(2026, 12, 1, tzinfo=timezone.utc)))
    assert [n.event for n in days.run(LOW).notifications] == ["firing"]


def test_rerunning_with_nothing_changed_announces_nothing(tmp_path):
    days = Days(tmp_path)
    assert [n.event for n in days.run(LOW).notifications] == ["firing"]
    days.day -= timedelta(days=1)  # the same day again, as a restarted scheduler would
    again = days.run(LOW)
    assert again.alerts and not again.notifications


@pytest.mark.parametrize("value", ["0", "-1"])
def test_for_must_be_at_least_one(tmp_path, value):
    from cmflow.foundation.errors import WorkflowInvalid
    from cmflow.workflow import load_workflow

    with pytest.raises(WorkflowInvalid, match=r"triggers\[0\]\.for"):
        load_workflow(workflow(tmp_path, f"for = {value}"))


def test_repeat_every_must_be_a_duration(tmp_path):
    from cmflow.foundation.errors import WorkflowInvalid
    from cmflow.workflow import load_workflow

    with pytest.raises(WorkflowInvalid, match="not a duration"):
        load_workflow(workflow(tmp_path, 'repeat_every = "weekly"'))


def test_rerunning_the_same_period_is_not_one_more_run_towards_for(tmp_path):
    days = Days(tmp_path, "for = 2")
    assert state_of(days.run(LOW)) == "pending"
    days.day -= timedelta(days=1)
    rerun = days.run(LOW)  # the same day again (a manual re-run, a catch-up)
    assert state_of(rerun) == "pending" and rerun.pending[0].streak == 1
    fired = days.run(LOW)  # the next day: the second run in a row
    assert state_of(fired) == "firing" and [n.event for n in fired.notifications] == ["firing"]
