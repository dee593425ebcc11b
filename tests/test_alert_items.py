"""The alert_items stage (issue 17's review): each metric entry lists its items once whatever
the number of its alerts, the items are read as the measure stage reads the records (one
spelling per campaign), nothing is listed when no message will be composed, and a listing that
fails is reported in the run's stages."""

from __future__ import annotations

import json

from cmflow.builtin.metrics.response_times import UnansweredNegative
from cmflow.store import open_store
from cmflow.testing import run_workflow_file

CARE = """
[workflow]
name = "Care desk"
timezone = "UTC"
period = "2026-11-16..2026-11-22"
as_of = "2026-11-23"
compare = []

[[sources]]
plugin = "json"
path = "conversations.json"
record = "conversation"

[[metrics]]
plugin = "unanswered_negative"
by = ["account"]
older_than = "1h"
clock = "wall"

[[triggers]]
plugin = "threshold"
metric = "unanswered_negative"
by = ["account"]
above = 0
"""

MAIL = """
[[outputs]]
plugin = "email"
transport = "file"
directory = "{directory}"
report = "none"
from_address = "cm@example.org"
to = ["care@example.org"]
"""


def care_desk(tmp_path, outputs: str = "") -> None:
    """Three accounts, each with negative messages never answered (a: 1, b: 2, c: 3) and a
    positive one; a fourth account whose negative message was answered."""
    rows = []
    for n, account in enumerate(("a", "b", "c"), start=1):
        rows += [{"platform": "instagram", "account": account, "message_id": f"{account}{i}", "author": f"@{account}{i}",
                  "received_at": f"2026-11-2{i}T09:00:00Z", "replied_at": None, "text": "colis jamais reçu",
                  "sentiment": "negative"} for i in range(n)]
        rows.append({"platform": "instagram", "account": account, "message_id": f"{account}+", "author": "@fan",
                     "received_at": "2026-11-20T09:00:00Z", "replied_at": None, "text": "merci", "sentiment": "positive"})
    rows.append({"platform": "instagram", "account": "d", "message_id": "d0", "author": "@d0",
                 "received_at": "2026-11-20T09:00:00Z", "replied_at": "2026-11-20T09:30:00Z", "text": "nul",
                 "sentiment": "negative"})
    (tmp_path / "conversations.json").write_text(json.dumps(rows), encoding="utf-8")
    (tmp_path / "care.toml").write_text(CARE + outputs, encoding="utf-8")


def counted_listings(monkeypatch) -> list[str]:
    """The measurements UnansweredNegative.items is asked for, call by call (the real method runs)."""
    calls: list[str] = []
    real = UnansweredNegative.items

    def items(self, data, measurement):
        calls.append(measurement)
        return real(self, data, measurement)

    monkeypatch.setattr(UnansweredNegative, "items", items)
    return calls


def test_a_metric_lists_its_items_once_for_all_its_alerts(tmp_path, monkeypatch) -> None:
    """Three alerts (one per account), one listing: each alert's items picked from it."""
    calls = counted_listings(monkeypatch)
    care_desk(tmp_path, MAIL.format(directory=tmp_path / "mail"))
    result = run_workflow_file(tmp_path / "care.toml", store_url=f"sqlite:///{tmp_path}/state.db")
    assert result.status == "ok", [s.error for s in result.failed_stages]
    listed = {alert.dimensions["account"]: [item.author for item in result.alert_items[alert.fingerprint]]
              for alert in result.alerts}
    assert listed == {"a": ["@a0"], "b": ["@b0", "@b1"], "c": ["@c0", "@c1", "@c2"]}
    assert calls == ["unanswered_negative"]


def test_nothing_is_listed_without_a_message_to_list_it_in(tmp_path, monkeypatch) -> None:
    """No notifier output, or a dry run (which composes no message): the alerts fire, no listing."""
    calls = counted_listings(monkeypatch)
    care_desk(tmp_path)
    result = run_workflow_file(tmp_path / "care.toml", store_url=f"sqlite:///{tmp_path}/state.db")
    assert len(result.alerts) == 3 and result.alert_items == {}
    care_desk(tmp_path, MAIL.format(directory=tmp_path / "mail"))
    result = run_workflow_file(tmp_path / "care.toml", store_url=f"sqlite:///{tmp_path}/state.db", dry_run=True)
    assert len(result.alerts) == 3 and result.alert_items == {}
    assert calls == [] and not (tmp_path / "mail").exists()


def test_a_listing_that_fails_is_reported_and_the_alerts_still_sent(tmp_path, monkeypatch) -> None:
    def broken(self, data, measurement):
        raise ValueError("the backlog cannot be read")

    monkeypatch.setattr(UnansweredNegative, "items", broken)
    care_desk(tmp_path, MAIL.format(directory=tmp_path / "mail"))
    result = run_workflow_file(tmp_path / "care.toml", store_url=f"sqlite:///{tmp_path}/state.db")
    [report] = [s for s in result.stages if s.kind == "alert_items"]
    assert (report.id, report.ok, report.problems) == ("unanswered_negative", True, [
        "the items behind 3 alert(s) on unanswered_negative could not be listed (their messages are sent "
        "without them): ValueError: the backlog cannot be read"])
    assert result.alert_items == {} and len(list((tmp_path / "mail").iterdir())) == 1
    assert result.status == "ok"
    with open_store(f"sqlite:///{tmp_path}/state.db") as store:
        [run] = store.runs("Care desk", 5)
    assert (run.status, run.error) == ("ok", f"alert_items unanswered_negative: {report.problems[0]}")


CAMPAIGNS = """
[workflow]
name = "Campaigns"
timezone = "UTC"
period = "2026-11-20..2026-11-20"
compare = []

[[sources]]
plugin = "json"
path = "posts.json"
record = "post"

[[classifiers]]
plugin = "sentiment"
records = ["post"]

[[metrics]]
plugin = "sentiment_counts"
records = "post"
by = ["campaign"]

[[triggers]]
plugin = "threshold"
metric = "negative_posts"
by = ["campaign"]
above = 0
"""


def test_an_alert_lists_the_records_of_every_spelling_of_its_campaign(tmp_path) -> None:
    """"Noël 2026" and "noel-2026" are one campaign for the measure stage (3 negative posts):
    its alert lists the three, not only the two written as its label."""
    rows = [{"platform": "instagram", "account": "maison", "post_id": f"p{i}", "campaign": campaign,
             "published_at": f"2026-11-20T0{i}:00:00Z",
             "text": "Je suis très déçu, le service client est nul."}
            for i, campaign in enumerate(["Noël 2026", "Noël 2026", "noel-2026"])]
    (tmp_path / "posts.json").write_text(json.dumps(rows), encoding="utf-8")
    (tmp_path / "w.toml").write_text(CAMPAIGNS + MAIL.format(directory=tmp_path / "mail"), encoding="utf-8")
    result = run_workflow_file(tmp_path / "w.toml", store_url=f"sqlite:///{tmp_path}/state.db")
    assert result.status == "ok", [s.error for s in result.failed_stages]
    [alert] = result.alerts
    assert (alert.dimensions, alert.value) == ({"campaign": "Noël 2026"}, 3)
    assert [item.at.hour for item in result.alert_items[alert.fingerprint]] == [0, 1, 2]
