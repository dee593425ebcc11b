"""Response times in a real run: a French CSV export with a byte-order mark and a JSON export
of conversations, a workflow with business hours and French holidays, a real SQLite store,
threshold triggers on an SLA breach and on an unanswered negative message, and the escalation
posted to a chat (Slack) receiver on loopback.

Last week in Paris is 9 to 15 November 2026 (the run counts as of Monday 16th, 10:00 Paris,
09:00 UTC); Wednesday 11 November (Armistice) is closed. Hours Monday to Friday 09:00-18:00.

instagram (CSV, Paris local times)
  i1 Mon 9 Nov 10:00 -> 10:40              40 business minutes
  i2 Tue 10 Nov 17:00 -> Thu 12 Nov 09:50  60 + (11th closed) + 50 = 110
  i3 Fri 13 Nov 17:30 -> Mon 16 Nov 09:45  30 + 45 = 75 (the reply is before the as-of time)
  i4 Fri 13 Nov 16:00, unanswered, negative: 2h on Friday + 1h on Monday = 3h > 2h: breached
  i5 Sat 14 Nov 12:00, unanswered, neutral: 1h on Monday: inside its SLA
facebook (JSON, UTC instants)
  f1 Thu 12 Nov 09:00 UTC (10:00 Paris) -> 13:00 UTC (14:00)   240: breached
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from datetime import datetime, timezone

import polars as pl
import pytest

from cmflow.foundation.errors import WorkflowInvalid
from cmflow.testing import Reply, replay_server, run_workflow_file  # noqa: F401
from cmflow.workflow import load_workflow

NOW = datetime(2026, 11, 16, 9, tzinfo=timezone.utc)
I4_LINK = "https://www.instagram.com/p/DA75xYz/"
"""i4 is a comment: the export links to the post it is under (a direct message has no link)."""
CSV = ("\ufeffID du message;Reçu le;Répondu le;Compte;Message;Sentiment;Lien\n"
       "i1;09/11/2026 10:00;09/11/2026 10:40;maison.lune;Bonjour, livrez-vous à Lyon ?;neutral;\n"
       "i2;10/11/2026 17:00;12/11/2026 09:50;maison.lune;Merci !;positive;\n"
       "i3;13/11/2026 17:30;16/11/2026 09:45;maison.lune;Taille 38 dispo ?;neutral;\n"
       f"i4;13/11/2026 16:00;;maison.lune;\"Colis jamais reçu, <b>scandale</b> & aucun retour\";negative;{I4_LINK}\n"
       "i5;14/11/2026 12:00;;maison.lune;Joli !;neutral;\n")
JSON = [{"id": "f1", "page": "Maison Lune", "created": "2026-11-12T09:00:00Z", "answered": "2026-11-12T13:00:00Z",
         "message": "Où est ma commande ?", "sentiment": "negative"}]
WORKFLOW = """
[workflow]
name = "Care desk"
timezone = "Europe/Paris"
period = "last_week"

[[sources]]
id = "instagram"
plugin = "csv"
path = "instagram-messages.csv"
record = "conversation"
delimiter = ";"
datetime_format = "%d/%m/%Y %H:%M"
constants = { platform = "instagram" }
columns = { message_id = "ID du message", received_at = "Reçu le", replied_at = "Répondu le", account = "Compte", text = "Message", sentiment = "Sentiment", url = "Lien" }

[[sources]]
id = "facebook"
plugin = "json"
path = "facebook-messages.json"
record = "conversation"
constants = { platform = "facebook" }
columns = { message_id = "id", received_at = "created", replied_at = "answered", account = "page", text = "message", sentiment = "sentiment" }

[[metrics]]
plugin = "response_times"
by = ["overall", "platform"]
sla = "2h"
hours = { opening = { mon-fri = ["09:00-18:00"] }, holidays = "FR" }

[[metrics]]
plugin = "unanswered_negative"
by = ["account"]
older_than = "1h"
hours = { holidays = "FR" }

[[triggers]]
id = "sla_breach"
plugin = "threshold"
metric = "unanswered_over_sla"
by = ["platform"]
above = 0

[[triggers]]
id = "negative_waiting"
plugin = "threshold"
metric = "unanswered_negative"
by = ["account"]
above = 0
severity = "critical"
{outputs}"""


def write(tmp_path, outputs: str = "", **replace: str):
    (tmp_path / "instagram-messages.csv").write_text(CSV, encoding="utf-8")
    (tmp_path / "facebook-messages.json").write_text(json.dumps(JSON), encoding="utf-8")
    text = WORKFLOW.replace("{outputs}", outputs)
    for old, new in replace.items():
        text = text.replace(old, new)
    path = tmp_path / "care.toml"
    path.write_text(text, encoding="utf-8")
    return path


def figures(result, metric: str, key: str = "platform") -> dict:
    rows = result.measurements.filter((pl.col("period") == "current") & (pl.col("metric") == metric))
    return {row[key]: row["value"] for row in rows.iter_rows(named=True)}


def test_a_run_measures_response_times_and_fires_on_breaches(tmp_path, store_url):
    result = run_workflow_file(write(tmp_path), store_url=store_url, now=NOW)
    assert result.status == "ok", [s.error for s in result.failed_stages]
    assert str(result.period) == "2026-11-09..2026-11-15"
    # instagram: 40, 75, 110 -> median 75, p90 at rank 1.8: 75 + 0.8 x 35 = 103; overall with
    # facebook's 240: 40, 75, 110, 240 -> median 92.5, p90 at rank 2.7: 110 + 0.7 x 130 = 201.
    assert figures(result, "response_time_median") == {None: 92.5, "instagram": 75.0, "facebook": 240.0}
    assert figures(result, "response_time_p90") == pytest.approx({None: 201.0, "instagram": 103.0, "facebook": 240.0})
    # met: i1 i2 i3; breached: i4 (unanswered 3h), f1 (240); i5 is inside its SLA.
    assert figures(result, "answered_within_sla") == pytest.approx({None: 60.0, "instagram": 75.0, "facebook": 0.0})
    assert figures(result, "unanswered_over_sla") == {None: 1.0, "instagram": 1.0, "facebook": 0.0}
    # Unanswered and negative for 1h or more: i4 (the account of the CSV); "Maison Lune" answered.
    assert figures(result, "unanswered_negative", "account") == {"maison.lune": 1.0, "Maison Lune": 0.0}
    fired = sorted((a.rule, a.dimensions, a.severity, a.summary) for a in result.alerts)
    assert fired == [
        ("negative_waiting", {"platform": "instagram", "account": "maison.lune"}, "critical",
         "Unanswered negative is 1 conversation for instagram / maison.lune, above 0 conversations"),
        ("sla_breach", {"platform": "instagram"}, "warning",
         "Unanswered past SLA is 1 conversation for instagram, above 0 conversations")]

    from datetime import date

    from cmflow.store import open_store

    with open_store(store_url) as store:  # kept in the SQLite file: the next run compares with them
        kept = store.measurement_history(result.workflow.key, ["response_time_median", "unanswered_negative"],
                                         [(date(2026, 11, 9), date(2026, 11, 15))])
        states = {(s.rule, s.state) for s in store.alerts(result.workflow.key)}
    assert sorted(kept.filter(pl.col("metric") == "response_time_median")["value"].to_list()) == [75.0, 92.5, 240.0]
    assert states == {("negative_waiting", "firing"), ("sla_breach", "firing")}


def test_the_escalation_is_posted_to_the_team_chat(tmp_path, store_url, replay_server, monkeypatch):
    replay_server.add("POST", "/services/T/B/care", Reply(200, body="ok", headers={"Content-Type": "text/plain"}))
    monkeypatch.setenv("CARE_SLACK", replay_server.url + "/services/T/B/care")
    outputs = """
[[outputs]]
plugin = "slack"
url = "${env:CARE_SLACK}"
allow_private_network = true
"""
    result = run_workflow_file(write(tmp_path, outputs), store_url=store_url, now=NOW)
    assert result.status == "ok", [s.error for s in result.failed_stages]
    [request] = replay_server.requests
    body = request.json()
    assert body["text"] == "Care desk: 2 alerts firing (2026-11-09..2026-11-15)"
    sections = [block["text"]["text"] for block in body["blocks"] if block["type"] == "section"]
    # Each escalation lists the message waiting (i4): platform, reception in Paris time, the
    # excerpt escaped for Slack (its markup shown, not acted on), and its link.
    waiting = ("• instagram · 13 Nov 2026 16:00 CET · “Colis jamais reçu, &lt;b&gt;scandale&lt;/b&gt; &amp; aucun retour” · "
               + I4_LINK)
    assert sections == [
        ":red_circle: *CRITICAL* · firing\nUnanswered negative is 1 conversation for instagram / maison.lune, "
        "above 0 conversations\nvalue 1 · platform: instagram · account: maison.lune · rule negative_waiting\n"
        + waiting,
        ":large_orange_circle: *WARNING* · firing\nUnanswered past SLA is 1 conversation for instagram, above 0 "
        "conversations\nvalue 1 · platform: instagram · rule sla_breach\n" + waiting]


def test_the_webhook_json_gives_the_items_behind_each_escalation(tmp_path, store_url, replay_server, monkeypatch):
    replay_server.add("POST", "/hooks/care", Reply(200, body="ok", headers={"Content-Type": "text/plain"}))
    monkeypatch.setenv("CARE_HOOK", replay_server.url + "/hooks/care")
    outputs = '\n[[outputs]]\nplugin = "webhook"\nurl = "${env:CARE_HOOK}"\nallow_private_network = true\n'
    result = run_workflow_file(write(tmp_path, outputs), store_url=store_url, now=NOW)
    assert result.status == "ok", [s.error for s in result.failed_stages]
    [request] = replay_server.requests
    alerts = {alert["rule"]: alert for alert in request.json()["alerts"]}
    i4 = {"at": "2026-11-13T15:00:00+00:00", "author": None, "platform": "instagram",
          "text": "Colis jamais reçu, <b>scandale</b> & aucun retour", "url": I4_LINK}  # JSON: the receiver escapes
    assert (alerts["negative_waiting"]["items"], alerts["negative_waiting"]["more_items"]) == ([i4], 0)
    assert (alerts["sla_breach"]["items"], alerts["sla_breach"]["more_items"]) == ([i4], 0)


@pytest.mark.parametrize(("old", "new", "message"), [
    ('hours = { holidays = "FR" }', 'hours = { holidays = "FX" }', "metrics[1].hours.holidays"),
    ('mon-fri = ["09:00-18:00"]', 'mon-fri = ["18:00-09:00"]', "metrics[0].hours.opening"),
    ('sla = "2h"', 'sla = "2 hours"', "metrics[0].sla"),
    ('sla = "2h"', 'sla = "0m"', "metrics[0].sla"),
])
def test_bad_hours_are_refused_at_their_key_path(tmp_path, old, new, message):
    with pytest.raises(WorkflowInvalid) as caught:
        load_workflow(write(tmp_path, **{old: new}))
    assert message in str(caught.value)


CLIENTS = """
[[clients]]
id = "lune"
name = "Maison Lune"
accounts = ["maison.lune"]
language = "fr"

[[metrics]]"""


@pytest.mark.parametrize(("hours", "message"), [
    ('client_hours = { soleil = { timezone = "America/Montreal" } }',
     "metrics[0].client_hours.soleil: no [[clients]] entry has id 'soleil' (the workflow's clients: 'lune')"),
    ('client_hours = { lune = { timezone = "America/Montreal" } }\nclock = "wall"',
     'metrics[0].client_hours: counts business hours, but clock is "wall"'),
    ('client_hours = { lune = { opening = { mon-fri = ["18:00-09:00"] } } }', "metrics[0].client_hours.lune.opening"),
])
def test_client_hours_are_checked_at_their_key_path(tmp_path, hours, message):
    path = write(tmp_path, **{'sla = "2h"': f'sla = "2h"\n{hours}'})
    path.write_text(path.read_text(encoding="utf-8").replace("[[metrics]]", CLIENTS, 1), encoding="utf-8")
    with pytest.raises(WorkflowInvalid) as caught:
        load_workflow(path)
    assert message in str(caught.value)


def test_a_broken_clients_table_is_the_only_problem_client_hours_give(tmp_path):
    """The client ``soleil`` fails (no name): its problem is said, not a second one saying no
    [[clients]] entry has its id."""
    path = write(tmp_path, **{'sla = "2h"': 'sla = "2h"\nclient_hours = { soleil = { timezone = "America/Montreal" } }'})
    broken = CLIENTS.replace('id = "lune"\nname = "Maison Lune"', 'id = "soleil"')
    path.write_text(path.read_text(encoding="utf-8").replace("[[metrics]]", broken, 1), encoding="utf-8")
    with pytest.raises(WorkflowInvalid) as caught:
        load_workflow(path)
    assert "clients[0]" in str(caught.value)
    assert "no [[clients]] entry" not in str(caught.value)


def test_client_hours_of_a_declared_client_are_valid(tmp_path):
    path = write(tmp_path, **{'sla = "2h"': 'sla = "2h"\nclient_hours = { lune = { timezone = "America/Montreal" } }'})
    path.write_text(path.read_text(encoding="utf-8").replace("[[metrics]]", CLIENTS, 1), encoding="utf-8")
    [metric, _] = load_workflow(path).metrics
    assert metric.plugin.options.client_hours["lune"].timezone == "America/Montreal"


def test_the_report_shows_response_times_under_social_listening(tmp_path, store_url, monkeypatch):
    outputs = """
[[outputs]]
plugin = "report"
path = "care.{format}"
formats = ["html"]
language = "en"
metrics = ["response_time_p90"]
"""
    path = write(tmp_path, outputs)
    monkeypatch.chdir(tmp_path)  # output paths are relative to the current directory
    result = run_workflow_file(path, store_url=store_url, now=NOW)
    assert result.status == "ok", [s.error for s in result.failed_stages]
    page = (tmp_path / "care.html").read_text(encoding="utf-8")
    section = page.split('<h2 id="listening">Social listening</h2>', 1)[1].split("</section>", 1)[0]
    cards = re.findall(r'<div class="name">([^<]+)</div>\s*<span class="value">([^<]+)</span>', section)
    assert cards == [("First response time, median (min)", "92.50"), ("Answered within the SLA", "60.00%"),
                     ("Unanswered past the SLA", "1")]


def test_cmflow_run_as_of_judges_at_the_end_of_that_day(tmp_path, store_url):
    """A back-fill of 9..15 November run with ``--as-of 2026-11-15`` is judged at the end of Sunday
    15th in Paris (Monday 16th 00:00): i3's reply (Monday 09:45) is not known yet. i3 has waited
    Friday 17:30-18:00 = 30 min, inside its SLA; i4 (Friday 16:00) exactly 2h = the SLA, not past it.
    Answered: i1 40, i2 110, f1 240 -> overall median 110 (92.5 with i3's 75); met i1 i2,
    breached f1 -> 2 / 3; nothing unanswered past the SLA."""
    from click.testing import CliRunner

    from cmflow.cli import main
    from cmflow.store import open_store

    path = write(tmp_path, **{'period = "last_week"': 'period = "2026-11-09..2026-11-15"'})
    outcome = CliRunner().invoke(main, ["run", str(path), "--as-of", "2026-11-15", "--store", store_url],
                                 catch_exceptions=False)
    assert outcome.exit_code == 0, outcome.output
    with open_store(store_url) as store:
        workflow = load_workflow(path)
        kept = store.measurement_history(workflow.key, ["response_time_median", "answered_within_sla",
                                                        "unanswered_over_sla"],
                                         [(datetime(2026, 11, 9).date(), datetime(2026, 11, 15).date())])
    values = {(row["metric"], row["platform"]): row["value"] for row in kept.iter_rows(named=True)}
    assert values[("response_time_median", None)] == 110.0
    assert values[("answered_within_sla", None)] == pytest.approx(200 / 3)
    assert values[("answered_within_sla", "instagram")] == 100.0
    assert values[("unanswered_over_sla", None)] == 0.0
    assert values[("unanswered_over_sla", "instagram")] == 0.0


def test_the_doc_s_escalation_keeps_firing_until_the_message_is_answered(tmp_path, store_url):
    """docs/response-times.md's workflow (period "yesterday", every day at 10:00, SLA 2h, open
    09:00-12:30 and 13:30-18:00 on weekdays) over two runs. A negative message on Tuesday 1
    December 2026 at 17:30 Paris, never answered. Run Wednesday 10:00: it has waited 30 + 60 = 90
    business minutes: inside the SLA, past the hour of ``older_than``. Run Thursday 10:00: the
    period is Wednesday, but the message still waits: 30 + 3.5h + 4.5h + 60 = 570 minutes, past
    the SLA: both alerts fire (before, it fell out of the period and the escalation resolved)."""
    doc = (Path(__file__).parent.parent / "docs" / "response-times.md").read_text(encoding="utf-8")
    workflow = doc.split("```toml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "exports").mkdir()
    (tmp_path / "exports" / "messages.csv").write_text(
        "ID;Received;Replied;Account;Message;Sentiment\n"
        "m1;01/12/2026 17:30;;maison.lune;Toujours rien reçu;negative\n", encoding="utf-8")
    path = tmp_path / "care.toml"
    path.write_text(workflow, encoding="utf-8")

    first = run_workflow_file(path, store_url=store_url, now=datetime(2026, 12, 2, 9, tzinfo=timezone.utc))
    assert first.status == "ok", [s.error for s in first.failed_stages]
    assert str(first.period) == "2026-12-01..2026-12-01"
    assert figures(first, "unanswered_over_sla", "account") == {None: 0.0, "maison.lune": 0.0}
    assert sorted((a.rule, a.is_new) for a in first.alerts) == [("negative_waiting", True)]

    second = run_workflow_file(path, store_url=store_url, now=datetime(2026, 12, 3, 9, tzinfo=timezone.utc))
    assert second.status == "ok", [s.error for s in second.failed_stages]
    assert str(second.period) == "2026-12-02..2026-12-02"
    assert figures(second, "unanswered_over_sla", "account") == {None: 1.0, "maison.lune": 1.0}
    assert figures(second, "unanswered_negative", "account") == {"maison.lune": 1.0}
    assert sorted((a.rule, a.is_new) for a in second.alerts) == [("negative_waiting", False), ("sla_breach", True)]
    assert second.resolved == []
