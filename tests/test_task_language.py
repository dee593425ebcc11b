"""Tasks from events in the client's language: a French client's alert makes a French task (its
summary, value, labels and due date words), an English client's and an alert of no client's stay
English, a third party's trigger keeps its own summary, and the data's text stays as written.

The agency of tests/test_calendar_adherence_workflow.py: Maison Lumière (``fr``) misses m2, 140 h
past its time; Trailhead Outfitters (``en``) misses t1, 119 h; n1 (86 h) is for an account no
client lists. Clock: Monday 7 December 2026, 09:00 UTC; tasks due a day later (8 December, Paris).
"""

from __future__ import annotations

import types
from datetime import datetime, timezone
from pathlib import Path

import pytest

from cmflow import Alert, Trigger, hookimpl
from cmflow.testing import registered_plugin, replay_server, run_workflow_file  # noqa: F401 (a fixture)
from task_boards import TrelloBoard, wait_until_answered
from test_calendar_adherence_workflow import AGENCY_CALENDAR, AGENCY_POSTS, AGENCY_WORKFLOW

NBSP = "\u00a0"
THIN = "\u2009"  # Babel's thin spaces around the dash of a range of days
NNBSP = "\u202f"  # Babel's French thousands separator
NOW = datetime(2026, 12, 7, 9, tzinfo=timezone.utc)


def _agency(tmp_path: Path, outputs: str, workflow: str = AGENCY_WORKFLOW) -> Path:
    (tmp_path / "calendrier.csv").write_text(AGENCY_CALENDAR, encoding="utf-8")
    (tmp_path / "posts.csv").write_text(AGENCY_POSTS, encoding="utf-8")
    path = tmp_path / "agency.toml"
    path.write_text(workflow.replace("\n[[clients]]", outputs + "\n[[clients]]", 1), encoding="utf-8")
    return path


def _tasks(path: Path) -> dict[str, list[str]]:
    """Each task of a Markdown task list (its line without the key comment) and its details."""
    tasks: dict[str, list[str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("- ["):
            current = tasks.setdefault(line.split(" <!--")[0], [])
        elif line.startswith("  - "):
            current.append(line[4:])
    return tasks


def test_a_french_client_s_task_is_written_in_french_the_others_in_english(tmp_path: Path, monkeypatch) -> None:
    from cmflow.builtin.reports import scopes

    made = []  # the whole workflow's scope (every account's display name): made once a batch, not once an alert
    monkeypatch.setattr(scopes, "whole_workflow_scope", lambda w, made_by=scopes.whole_workflow_scope: (
        made.append(w), made_by(w))[1])
    path = _agency(tmp_path, f'\n[[outputs]]\nplugin = "task_list"\npath = "{tmp_path / "tasks.md"}"\n'
                             'title = "{summary}"\ndue_in = "1d"\n')
    result = run_workflow_file(path, store_url=f"sqlite:///{tmp_path / 'state.db'}", now=NOW)
    assert not result.failed_stages, [(r.id, r.error) for r in result.failed_stages]
    assert len(result.alerts) == 3 and len(made) == 1
    tasks = _tasks(tmp_path / "tasks.md")
    # what happened as a client says it (the value is how long ago the post was due, not hours
    # missing), then the post by its title, the account's display name and its platform
    french = (f"Publication prévue non publiée (prévue il y a 140{NBSP}h){NBSP}: Horaires des fêtes · Maison Lumière"
              " · Facebook")
    # a title keeps the summary's no-break spaces; the due date and the period in Babel's French
    shown = french.replace("(", "\\(").replace(")", "\\)")  # a task list's title is Markdown: escaped
    assert tasks[f"- [ ] {shown} (échéance le 8 déc. 2026)"] == [  # the summary is the title: not repeated
        # no item id (m2: the calendar's, kept in the hidden key), the client and account by their names
        f"En retard de{NBSP}: 140{NBSP}h", f"Titre{NBSP}: Horaires des fêtes",
        f"Réseau{NBSP}: Facebook", f"Compte{NBSP}: Maison Lumière", f"Responsable{NBSP}: Léa Martin",
        f"Client{NBSP}: Maison Lumière",
        "Levée par la règle missing-post \\(missing\\_planned\\_posts\\) du workflow Agency, "
        f"période 30 nov.{THIN}–{THIN}6 déc. 2026."]
    english = [task for task in tasks if "Trail tips" in task or "Portrait" in task]
    assert english == [
        # worded as the French ones: the metric's sentence, the series as the reports name it
        f"- [ ] Planned post not published \\(due 119{NBSP}h ago\\): Trail tips · Trailhead Outfitters · Instagram (due Dec 8, 2026)",
        f"- [ ] Planned post not published \\(due 86{NBSP}h ago\\): Portrait · atelier-inconnu · LinkedIn (due Dec 8, 2026)"]
    assert tasks[english[0]][:4] == [f"Overdue by: 119{NBSP}h", "Title: Trail tips", "Platform: Instagram",
                                     "Account: Trailhead Outfitters"]  # its display name, not trailhead.gear


def test_a_french_client_s_card_is_resolved_in_french(tmp_path: Path, monkeypatch) -> None:
    """Without a done list, a resolved alert's card gets a comment: in the client's language."""
    with TrelloBoard() as board:
        monkeypatch.setenv("TRELLO_KEY", board.key)
        monkeypatch.setenv("TRELLO_TOKEN", board.token)
        path = _agency(tmp_path, f"""
[[outputs]]
plugin = "trello_card"
key = "${{env:TRELLO_KEY}}"
token = "${{env:TRELLO_TOKEN}}"
board = "{board.board}"
list_id = "64b0000000000000000000a1"
title = "Publier ou reprogrammer : {{title}}"
base_url = "{board.url}"
allow_private_network = true
""")
        store = f"sqlite:///{tmp_path / 'state.db'}"
        run_workflow_file(path, store_url=store, now=NOW)
        (tmp_path / "posts.csv").write_text(AGENCY_POSTS + "facebook,Maison Lumière,p2,2026-12-01T15:00:00Z\r\n",
                                            encoding="utf-8")
        resolved = run_workflow_file(path, store_url=store, now=datetime(2026, 12, 7, 10, tzinfo=timezone.utc))
        wait_until_answered(board)
    assert [(n.event, n.alert.dimensions["item_id"]) for n in resolved.notifications] == [("resolved", "m2")]
    card = next(card for card in board.items if "Horaires" in card["name"])
    assert card["name"] == "Publier ou reprogrammer : Horaires des fêtes"  # the workflow's words, as written
    # a card's description is Markdown: its parentheses escaped
    said = f"Publication prévue non publiée \\(prévue il y a 140{NBSP}h\\){NBSP}: Horaires des fêtes · Maison Lumière · Facebook"
    assert card["desc"].startswith(said)
    [(_, comment)] = board.comments
    assert comment.startswith(f"Résolu{NBSP}: {said}")


class PlannedPostsLate(Trigger):
    """A third party's trigger: its summary is its own words, in no catalogue."""

    name = "planned_posts_late_words"
    description = "Alert on each missing planned post, in the trigger's own words."

    def evaluate(self, data):
        return [Alert(self.entry_id, row["metric"], {k: row[k] for k in ("client", "account", "item_id", "title")},
                      f"À publier d'urgence : {row['title']}", value=row["value"])
                for row in data.measurements.iter_rows(named=True) if row["value"]]


@hookimpl
def _register_planned_posts_late(register):
    register(PlannedPostsLate)


def test_a_third_party_trigger_s_summary_stays_as_written(tmp_path: Path) -> None:
    workflow = AGENCY_WORKFLOW.replace('plugin = "threshold"\nabove = 0\n', 'plugin = "planned_posts_late_words"\n')
    path = _agency(tmp_path, f'\n[[outputs]]\nplugin = "task_list"\npath = "{tmp_path / "tasks.md"}"\n', workflow)
    with registered_plugin(types.SimpleNamespace(register_triggers=_register_planned_posts_late,
                                                 __name__="planned_posts_late_words")):
        result = run_workflow_file(path, store_url=f"sqlite:///{tmp_path / 'state.db'}", now=NOW)
    assert not result.failed_stages, [(r.id, r.error) for r in result.failed_stages]
    tasks = _tasks(tmp_path / "tasks.md")
    [(task, details)] = [(task, details) for task, details in tasks.items() if "Horaires" in task]
    assert task == "- [ ] À publier d'urgence : Horaires des fêtes"
    # the value named as its metric's catalogue names it (how long ago the post was due), whoever's the trigger
    assert details[:2] == [f"En retard de{NBSP}: 140{NBSP}h", f"Titre{NBSP}: Horaires des fêtes"]


def test_a_planned_post_s_alert_says_how_long_ago_it_was_due_or_how_late_it_went_out() -> None:
    """A missing planned post's value is how long ago it was due, a late one's its delay: the
    alert says so (never "Missing planned posts: 59 h", read as 59 hours missing), in French and
    English, about the series as given or, without it, as the data writes it (title first, no id)."""
    from cmflow.presentation.language import language
    from cmflow.builtin.triggers.threshold import Threshold, ThresholdOptions

    threshold = Threshold.__new__(Threshold)
    threshold.options = ThresholdOptions(above=0)
    item = {"item_id": "calendar_maison:0edcf7eac614b19e", "title": "L'atelier du dimanche", "platform": "instagram",
            "account": "maisonlumiere", "owner": "Léa Martin", "client": "maison-lumiere"}
    missing = Alert("missing_post", "missing_planned_posts", item, "", value=59)
    late = Alert("late_post", "late_planned_posts", item, "", value=13.5)
    fr, en = language("fr"), language("en")
    series = "L'atelier du dimanche · Maison Lumière · Instagram"
    assert threshold.told(missing, fr, "h", series=series) == (
        f"Publication prévue non publiée (prévue il y a 59{NBSP}h){NBSP}: {series}")
    assert threshold.told(late, fr, "h", series=series) == (
        f"Publication prévue parue en retard (de 13,5{NBSP}h){NBSP}: {series}")
    assert threshold.told(missing, en, "h", series=series) == f"Planned post not published (due 59{NBSP}h ago): {series}"
    assert threshold.told(late, en, "h") == (
        f"Planned post published late (13.5{NBSP}h late): L'atelier du dimanche / instagram / maisonlumiere / Léa Martin")


def test_built_in_triggers_say_their_alerts_in_french() -> None:
    """What a French client's task says for the built-in triggers' alerts: the catalogue's words,
    Babel's numbers, the unit's words for counts, the series as the data writes it."""
    from cmflow.presentation.language import language
    from cmflow.builtin.triggers.change import Change, ChangeOptions
    from cmflow.builtin.triggers.target import Target, TargetOptions
    from cmflow.builtin.triggers.threshold import Threshold, ThresholdOptions

    fr = language("fr")
    change = Change.__new__(Change)
    change.options = ChangeOptions(drop_pct=25)
    dropped = Alert("err_drop", "engagement_rate_by_reach", {"platform": "facebook", "account": "Maison Lumière"},
                    "ERR (reach) dropped 34%", value=2.58,
                    details={"change_pct": -34.2, "previous_value": 3.92, "compared_to": "previous_period"})
    assert change.told(dropped, fr, "%") == (
        f"Taux d'engagement (portée) en baisse de 34{NBSP}%, -1,34{NBSP}pt pour facebook / Maison Lumière{NBSP}: "
        f"2,58{NBSP}% contre 3,92{NBSP}% (période précédente)")
    threshold = Threshold.__new__(Threshold)
    threshold.options = ThresholdOptions(below=2, above=10)
    waiting = Alert("waiting", "unanswered_negative", {"platform": "instagram", "account": "maisonlumiere"},
                    "Unanswered negative is 1 conversation", value=1)
    assert threshold.told(waiting, fr, "conversations") == (
        f"Messages négatifs en attente{NBSP}: 1 commentaire ou message pour instagram / maisonlumiere, "
        f"en dessous de 2 commentaires ou messages")
    target = Target.__new__(Target)
    target.options = TargetOptions(objective=3.0)
    off = Alert("err_objective", "engagement_rate_by_reach", {"platform": "facebook", "account": "Maison Lumière"},
                "ERR (reach) for facebook / Maison Lumière: 2.58%, off track", value=2.58,
                details={"status": "off_track", "objective": 3.0, "expected": 3.0, "direction": "at_least",
                         "kind": "level", "elapsed": 1.0, "gap_pct": 14.0})
    assert target.told(off, fr, "%") == (
        f"Taux d'engagement (portée) pour facebook / Maison Lumière{NBSP}: 2,58{NBSP}%, hors objectif "
        f"(objectif{NBSP}: au moins 3,00{NBSP}%, 14{NBSP}% en dessous)")
    over = Alert("over_budget", "budget_consumed", {}, "Budget consumed is 116.00%", value=116.0)
    assert threshold.told(over, fr, "%") == (
        f"Budget consommé{NBSP}: 116,00{NBSP}% sur l'ensemble, au-dessus de 10,00{NBSP}%")


class PlannedPostsDue(Trigger):
    """A third party's trigger whose series have dimensions named like the task messages."""

    name = "planned_posts_due_words"
    description = "Alert on each missing planned post, with its due day and who raised it."

    def evaluate(self, data):
        return [Alert(self.entry_id, row["metric"], {"account": row["account"], "item_id": row["item_id"],
                                                     "due": "2026-12-09", "resolved": "no", "raised_by": "Léa",
                                                     "raised_by_period": "w49"},
                      f"Late: {row['item_id']}", value=row["value"])
                for row in data.measurements.iter_rows(named=True) if row["value"]]


@hookimpl
def _register_planned_posts_due(register):
    register(PlannedPostsDue)


def test_a_dimension_named_like_a_task_message_is_a_plain_label(tmp_path: Path) -> None:
    """``due``, ``resolved``, ``raised_by`` are task messages with placeholders: a dimension of
    that name is labelled by its name in words, and every task is still written."""
    workflow = AGENCY_WORKFLOW.replace('plugin = "threshold"\nabove = 0\n', 'plugin = "planned_posts_due_words"\n')
    path = _agency(tmp_path, f'\n[[outputs]]\nplugin = "task_list"\npath = "{tmp_path / "tasks.md"}"\n', workflow)
    with registered_plugin(types.SimpleNamespace(register_triggers=_register_planned_posts_due,
                                                 __name__="planned_posts_due_words")):
        result = run_workflow_file(path, store_url=f"sqlite:///{tmp_path / 'state.db'}", now=NOW)
    assert not result.failed_stages, [(r.id, r.error) for r in result.failed_stages]
    tasks = _tasks(tmp_path / "tasks.md")
    assert sorted(tasks) == ["- [ ] Late: m2", "- [ ] Late: n1", "- [ ] Late: t1"]
    assert tasks["- [ ] Late: t1"][1:] == [
        "Item id: t1", "Account: Trailhead Outfitters", "Due: 2026-12-09", "Raised by: Léa",
        "Raised by period: w49", "Resolved: no",
        "Raised by rule missing-post \\(missing\\_planned\\_posts\\) of workflow Agency, "
        f"period Nov 30{THIN}–{THIN}Dec 6, 2026."]


def test_an_alert_about_a_client_s_brand_competitor_or_campaign_is_in_the_client_s_language() -> None:
    """A brand (own or competitor) is the client its ``[listen]`` entry names; a campaign the
    client whose records name it (the clients stage's rule, :func:`campaign_owners`): both French
    for Maison Lumière. A campaign two clients' records name, or none's, is English."""
    import polars as pl

    from cmflow.builtin.outputs.alert_language import alert_language
    from cmflow.foundation.clients import Client, campaign_owners
    from cmflow.foundation.listening import Listen, WatchedBrand

    clients = [Client("maison", "Maison Lumière", {"maisonlumiere": "Maison Lumière"}, language="fr"),
               Client("trailhead", "Trailhead", {"trailhead.gear": "Trailhead"}, language="en")]
    listen = Listen(brands=(WatchedBrand("lumiere", "Maison Lumière", ("lumière",), client="maison"),
                            WatchedBrand("trail", "Trailhead", ("trailhead",), client="trailhead"),
                            WatchedBrand("bougies-co", "Bougies & Co", ("bougies",), client="maison")), own=2)
    workflow = types.SimpleNamespace(clients=clients, listen=listen)
    records = {"time_entry": pl.DataFrame({"campaign": ["Calendrier Avent", "soldes", "soldes"],
                                           "client": ["maison", "maison", "trailhead"]}),
               "post": pl.DataFrame({"campaign": ["calendrier-avent"], "client": ["maison"]})}
    campaigns = campaign_owners(records)

    def code(**dimensions: str) -> str:
        return alert_language(Alert("r", "m", dimensions, "s", value=1.0), workflow, campaigns).code

    assert code(brand="lumiere") == "fr" and code(brand="bougies-co") == "fr" and code(brand="trail") == "en"
    assert code(campaign="calendrier-avent") == "fr" and code(campaign="Calendrier  avent") == "fr"
    assert code(campaign="soldes") == "en" and code(campaign="rentrée") == "en" and code(brand="unknown") == "en"


def test_every_built_in_unit_has_words_in_each_language() -> None:
    """A French summary never says ``people`` or ``posts/week``: every unit a built-in metric
    counts in (its class's, and those its rows give) has a ``count_*`` word in each catalogue."""
    from cmflow import shows_unit
    from cmflow.presentation.language import language
    from cmflow.plugins.registry import get_registry

    units = {getattr(info.cls, "unit", "") for info in get_registry().of_kind("metric") if info.package == "cmflow"}
    units |= {"links", "minutes", "posts", "comments", "mentions", "conversations"}  # units of rows
    counted = sorted(unit for unit in units if unit not in ("", "count", "currency") and not shows_unit(unit))
    assert {"people", "authors", "posts/week", "links"} <= set(counted)
    for code in ("fr", "en"):
        missing = [unit for unit in counted if not language(code).has(f"count_{unit}")]
        assert not missing, (code, missing)
    from cmflow.builtin.triggers.common import value_text

    assert value_text(2.5, "posts/week", language("fr")) == "2,50 publications par semaine"
    assert value_text(1, "people", language("fr")) == "1 personne"


class PlannedPostsLateBuggy(PlannedPostsLate):
    """A trigger whose ``told`` fails: its items keep its summary; the others are written."""

    name = "planned_posts_late_buggy"

    def told(self, alert, lang, unit):
        raise KeyError("unit")


@hookimpl
def _register_planned_posts_late_buggy(register):
    register(PlannedPostsLateBuggy)


def test_a_trigger_whose_told_fails_keeps_its_summary_and_the_output_writes_every_task(tmp_path: Path, caplog) -> None:
    from cmflow.builtin.outputs.alert_language import ToldTrigger
    from cmflow.builtin.triggers.threshold import Threshold

    assert isinstance(Threshold.__new__(Threshold), ToldTrigger)
    assert not isinstance(PlannedPostsLate.__new__(PlannedPostsLate), ToldTrigger)
    workflow = AGENCY_WORKFLOW.replace('plugin = "threshold"\nabove = 0\n', 'plugin = "planned_posts_late_buggy"\n')
    path = _agency(tmp_path, f'\n[[outputs]]\nplugin = "task_list"\npath = "{tmp_path / "tasks.md"}"\n', workflow)
    with registered_plugin(types.SimpleNamespace(register_triggers=_register_planned_posts_late_buggy,
                                                 __name__="planned_posts_late_buggy")):
        result = run_workflow_file(path, store_url=f"sqlite:///{tmp_path / 'state.db'}", now=NOW)
    assert not result.failed_stages, [(r.id, r.error) for r in result.failed_stages]
    tasks = _tasks(tmp_path / "tasks.md")
    assert "- [ ] À publier d'urgence : Horaires des fêtes" in tasks and len(tasks) == 3
    assert any("could not say alert" in r.getMessage() and "KeyError" in r.getMessage() for r in caplog.records)


def test_a_task_output_s_language_option_says_every_item_in_it(tmp_path: Path) -> None:
    """``language = "fr"`` makes every item French (an English client's, one of no client's);
    a language reports are not written in is refused at validate, at its key."""
    from cmflow.foundation.errors import WorkflowInvalid
    from cmflow.workflow import load_workflow

    path = _agency(tmp_path, f'\n[[outputs]]\nplugin = "task_list"\npath = "{tmp_path / "tasks.md"}"\n'
                             'language = "fr"\n')
    result = run_workflow_file(path, store_url=f"sqlite:///{tmp_path / 'state.db'}", now=NOW)
    assert not result.failed_stages, [(r.id, r.error) for r in result.failed_stages]
    tasks = _tasks(tmp_path / "tasks.md")
    assert sorted(task.split("\u00a0: ")[0] for task in tasks) == [
        "- [ ] Publication prévue non publiée \\(prévue il y a 119\u00a0h\\)",
        "- [ ] Publication prévue non publiée \\(prévue il y a 140\u00a0h\\)",
        "- [ ] Publication prévue non publiée \\(prévue il y a 86\u00a0h\\)"]
    path.write_text(path.read_text(encoding="utf-8").replace('language = "fr"\n', 'language = "de"\n', 1), encoding="utf-8")
    with pytest.raises(WorkflowInvalid) as refused:
        load_workflow(path)
    assert "outputs[0].language" in str(refused.value)
    assert "unknown language 'de': use one of en, fr" in str(refused.value)


def test_spike_and_anomaly_alerts_are_said_in_french() -> None:
    """The bad-buzz triggers in a French client's words: Babel's numbers and dates, the unit's
    words for counts, the periods before in words that agree (``les 4 jours précédents``, ``la
    semaine précédente``), a weekday's name; an alert stored without its details stays as written."""
    from datetime import date

    from cmflow import Period
    from cmflow.presentation.language import language
    from cmflow.builtin.triggers.anomaly import Anomaly, AnomalyOptions
    from cmflow.builtin.triggers.history import period_details
    from cmflow.builtin.triggers.spike import Spike, SpikeOptions

    fr = language("fr")
    spike = Spike.__new__(Spike)
    spike.options = SpikeOptions()
    day = period_details(Period(date(2026, 11, 20), date(2026, 11, 20), "Europe/Paris"))
    burst = Alert("spike_negative_mentions", "negative_mentions", {"brand": "lumiere"}, "Negative mentions spiked",
                  value=26.0, details={"count": 26.0, "baseline_mean": 2.0, "baseline_periods": 4, **day})
    assert spike.told(burst, fr, "mentions") == (
        f"Mentions négatives en forte hausse pour lumiere{NBSP}: 26 mentions le 20 nov. 2026, contre une "
        f"moyenne de 2 mentions sur les 4 jours précédents (×13,0)")
    week = period_details(Period(date(2026, 11, 16), date(2026, 11, 22), "Europe/Paris", unit="week"))
    first = Alert("spike_comments", "comments_received", {}, "Comments spiked", value=1234.0,
                  details={"baseline_mean": 0.0, "baseline_periods": 1, **week})
    assert spike.told(first, fr, "comments") == (
        f"Commentaires et messages reçus en forte hausse sur l'ensemble{NBSP}: 1{NNBSP}234 commentaires sur la "
        f"période 16–22 nov. 2026, contre 0 commentaire sur la semaine précédente")
    assert spike.told(Alert("s", "negative_mentions", {}, "as written", value=26.0), fr, "mentions") is None

    anomaly = Anomaly.__new__(Anomaly)
    anomaly.options = AnomalyOptions(baseline="same_weekday")
    monday = period_details(Period(date(2026, 11, 23), date(2026, 11, 23), "Europe/Paris"))
    low = Alert("reach_anomaly", "total_reach", {"platform": "instagram", "account": "maisonlumiere"}, "Reach low",
                value=812.0, details={"median": 4250.5, "z": -3.24, "baseline_points": 8,
                                      "baseline": "same_weekday", **monday})
    assert anomaly.told(low, fr, "count") == (
        f"Portée pour instagram / maisonlumiere{NBSP}: 812 le 23 nov. 2026, valeur inhabituellement "
        f"basse (médiane sur les 8 lundis précédents{NBSP}: 4{NNBSP}251, z{NBSP}={NBSP}-3,2)")
    months = period_details(Period(date(2026, 10, 1), date(2026, 10, 31), "Europe/Paris", unit="month"))
    high = Alert("er_anomaly", "engagement_rate_by_reach", {}, "ERR high", value=7.5,
                 details={"median": 3.1, "z": 4.04, "baseline_points": 6, "baseline": "previous_periods", **months})
    assert anomaly.told(high, fr, "%") == (
        f"Taux d'engagement (portée) sur l'ensemble{NBSP}: 7,50{NBSP}% sur la période octobre 2026, valeur "
        f"inhabituellement haute (médiane sur les 6 mois précédents{NBSP}: 3,10{NBSP}%, z{NBSP}={NBSP}+4,0)")


def test_a_french_client_s_bad_buzz_is_told_in_french_on_its_card_its_resolution_and_the_chat(
        tmp_path: Path, monkeypatch, replay_server) -> None:
    """The bad buzz of tests/test_bad_buzz.py, its mentions about Maison Lumière (``[listen]``, a
    French client's brand): the run of the 21st opens a French card and posts the French summary
    to Slack; the run of the 22nd (2 negative mentions) resolves it, and the card's comment and
    the chat say the resolved alert in French too, from the details kept in the store."""
    import json as json_module

    from cmflow.builtin.outputs.work_items import markdown_escape
    from cmflow.testing import Reply
    from test_bad_buzz import WORKFLOW, mentions

    rows = mentions()
    for row in rows:
        row["text"] += " @maisonlumiere"
    (tmp_path / "mentions.json").write_text(json_module.dumps(rows), encoding="utf-8")
    replay_server.add("POST", "/services/T/B/care", Reply(200, body="ok", headers={"Content-Type": "text/plain"}),
                      repeat=True)
    monkeypatch.setenv("CARE_SLACK", replay_server.url + "/services/T/B/care")
    workflow = WORKFLOW.replace('by = ["overall"]', 'by = ["brand"]') + """
[[clients]]
id = "maison"
name = "Maison Lumière"
language = "fr"
accounts = ["maisonlumiere"]

[listen.brand]
id = "lumiere"
name = "Maison Lumière"
terms = ["@maisonlumiere"]
client = "maison"

[[outputs]]
plugin = "slack"
url = "${env:CARE_SLACK}"
allow_private_network = true
"""
    with TrelloBoard() as board:
        monkeypatch.setenv("TRELLO_KEY", board.key)
        monkeypatch.setenv("TRELLO_TOKEN", board.token)
        workflow += f"""
[[outputs]]
plugin = "trello_card"
key = "${{env:TRELLO_KEY}}"
token = "${{env:TRELLO_TOKEN}}"
board = "{board.board}"
list_id = "64b0000000000000000000a1"
base_url = "{board.url}"
allow_private_network = true
"""
        store = f"sqlite:///{tmp_path / 'state.db'}"
        events = {}
        for as_of in ("2026-11-18", "2026-11-19", "2026-11-20", "2026-11-21", "2026-11-22"):
            (tmp_path / "buzz.toml").write_text(workflow.replace("{as_of}", as_of), encoding="utf-8")
            result = run_workflow_file(tmp_path / "buzz.toml", store_url=store)
            assert result.status == "ok", [s.error for s in result.failed_stages]
            events[as_of] = [n.event for n in result.notifications]
        wait_until_answered(board)
    assert events == {"2026-11-18": [], "2026-11-19": [], "2026-11-20": [], "2026-11-21": ["firing"],
                      "2026-11-22": ["resolved"]}
    said = (f"Mentions négatives en forte hausse pour Maison Lumière{NBSP}: 26 mentions le 20 nov. 2026, contre une "
            f"moyenne de 2 mentions sur les 4 jours précédents (×13,0)")
    [card] = board.items
    assert card["name"] == said and card["desc"].startswith(markdown_escape(said))  # Trello reads Markdown
    [(_, comment)] = board.comments
    assert comment.startswith(markdown_escape(f"Résolu{NBSP}: {said}"))
    firing, resolved = [request.json() for request in replay_server.requests]
    for body, event in ((firing, "en cours"), (resolved, "résolue")):
        [section, *_] = [block["text"]["text"] for block in body["blocks"] if block["type"] == "section"]
        head, summary, facts = section.splitlines()[:3]
        assert summary == said
        # the lines around the summary in French too: the level, the event, the value, the series, the rule
        assert head.endswith(f"* · {event}") and not any(word in head for word in ("WARNING", "INFO", "CRITICAL"))
        assert facts.startswith("valeur 26 · marque") and " · règle " in facts
        assert "value" not in facts and "rule" not in facts and "brand" not in facts


def test_an_alert_names_every_dimension_of_its_series_as_the_reports_do() -> None:
    """A report's point to watch and a task card say the series an alert is about as the report
    names it: the account's display name and platform, the format in words, the pillar, a post;
    a brand's alert names the brand (it is not "overall")."""
    from cmflow.builtin.outputs.alert_language import alert_where, series_words
    from cmflow.builtin.reports.alert_words import alert_sentence
    from cmflow.builtin.reports.document import AlertLine
    from cmflow.presentation.language import language
    from cmflow.builtin.reports.scopes import ReportScope
    from cmflow.foundation.listening import WatchedBrand

    fr, en = language("fr"), language("en")
    scope = ReportScope(None, None, {"maisonlumiere": "Maison Lumière"})
    workflow = types.SimpleNamespace(listen=types.SimpleNamespace(
        brands=[WatchedBrand("lumiere", "Maison Lumière", ("lumiere",))]), triggers=[])
    by_format = {"platform": "instagram", "account": "maisonlumiere", "format": "carousel", "pillar": "Noël"}
    assert series_words(by_format, scope, fr) == "Maison Lumière · Instagram · Carrousel · Noël"
    assert series_words({"platform": "instagram", "account": "maisonlumiere", "post_id": "1789"}, scope, en) == \
        "Maison Lumière · Instagram · post 1789"
    assert alert_where({"brand": "lumiere"}, scope, fr, workflow) == "pour Maison Lumière"
    assert alert_where({}, scope, en, workflow) == "overall"
    line = AlertLine("engagement_rate_by_reach", by_format, "warning", 2.5, "%", "firing", True, "up",
                     None, workflow)
    assert alert_sentence(line, scope, fr) == \
        f"Taux d'engagement (portée), Maison Lumière · Instagram · Carrousel · Noël{NBSP}: 2,50{NBSP}%"


def test_an_alert_cut_by_client_owner_utm_language_or_sentiment_names_it_never_the_whole() -> None:
    """Each row dimension of the production and traffic metrics is said: calendar_adherence by
    owner over a threshold gives two owners two titles (not both "overall"); a client by its
    display name, UTM fields and sentiment as written, a language in words; a dimension without
    words keeps the trigger's own wording, never "overall"."""
    from cmflow import Client
    from cmflow.builtin.outputs.alert_language import said_summary
    from cmflow.presentation.language import language
    from cmflow.builtin.triggers.threshold import Threshold, ThresholdOptions

    fr, en = language("fr"), language("en")
    threshold = Threshold.__new__(Threshold)
    threshold.options = ThresholdOptions(below=80)
    workflow = types.SimpleNamespace(
        triggers=[types.SimpleNamespace(id="adherence", plugin=threshold)], listen=None,
        clients=[Client(id="maison", name="Maison Lumière", accounts={"maisonlumiere": "Maison Lumière"})])

    def said(lang, **dimensions: str) -> str:
        alert = Alert("adherence", "calendar_adherence", dimensions, "as the trigger wrote it", value=50.0)
        return said_summary(alert, lang, workflow, "%")

    lea, marc = said(en, owner="Léa"), said(en, owner="Marc")
    assert lea != marc and "Léa" in lea and "Marc" in marc and "overall" not in lea
    assert "pour Léa" in said(fr, owner="Léa") and "l'ensemble" not in said(fr, owner="Léa")
    assert "pour Maison Lumière" in said(fr, client="maison")
    assert "for newsletter · email" in said(en, utm_source="newsletter", utm_medium="email")
    assert "pour Anglais" in said(fr, language="en") and "for French" in said(en, language="fr")
    assert "for negative" in said(en, sentiment="negative")
    region = said(en, region="north")
    assert "overall" not in region and "north" in region


def _chat_line(lang, **dimensions: str):
    """A chat output's line for a planned post's alert, told in ``lang`` (None: English)."""
    from cmflow.builtin.outputs.webhook_notifier import AlertLine

    return AlertLine(event="firing", reminder=0, severity="warning", summary="s", value=140.0, unit="h",
                     value_text="140 h", dimensions=dimensions, rule="missing-post", metric="missing_planned_posts",
                     fingerprint="f" * 40, condition="above", state="firing", active_since=None, lang=lang)


def test_french_chat_names_a_planned_post_s_dimensions_as_its_task_card_does() -> None:
    """One naming of a dimension (``dimension_label``) for the chat lines, the task cards and the
    html_report: a French chat line says ``titre``, ``identifiant``, not ``title``, ``item_id``."""
    from cmflow.presentation.language import language

    line = _chat_line(language("fr"), title="Horaires des fêtes", item_id="m2", platform="facebook")
    assert line.where == (f"titre{NBSP}: Horaires des fêtes · identifiant{NBSP}: m2 · réseau{NBSP}: Facebook")
    assert [line.dimension_name(name) for name in ("title", "item_id")] == ["Titre", "Identifiant"]  # Discord's fields
    assert _chat_line(None, title="Trail tips").where == "title: Trail tips"


def test_a_series_without_a_pillar_or_owner_is_named_by_the_catalogue_s_word_for_none() -> None:
    """The breakdowns' ``(none)`` (a post without a pillar, an item without an owner) reads as
    the client reports say it, in the html_report's rows and an alert's series alike."""
    from cmflow import NONE_LABEL
    from cmflow.builtin.outputs.alert_language import series_words
    from cmflow.builtin.outputs.html_page import _labels
    from cmflow.presentation.language import language
    from cmflow.builtin.reports.scopes import ReportScope

    fr, scope = language("fr"), ReportScope(None, None, {})
    assert _labels(["instagram", NONE_LABEL], ["platform", "pillar"], fr) == ["Instagram", "Non renseigné"]
    assert series_words({"owner": NONE_LABEL}, scope, fr) == "Non renseigné"
    assert series_words({"pillar": NONE_LABEL}, scope, language("en")) != NONE_LABEL


def test_a_trigger_whose_told_takes_keyword_arguments_is_given_where() -> None:
    """``told(self, alert, lang, unit, **options)`` takes ``where`` too: the series as the reports name it."""
    from cmflow.builtin.outputs.alert_language import trigger_told
    from cmflow.presentation.language import language

    class Told(Trigger):
        name = "told_with_kwargs"

        def evaluate(self, data):
            return []

        def told(self, alert, lang, unit, **options):
            return f"said {options.get('where')}"

    plugin = Told.__new__(Told)
    workflow = types.SimpleNamespace(triggers=[types.SimpleNamespace(id="r", plugin=plugin)])
    alert = Alert("r", "m", {"owner": "Léa"}, "as written", value=1.0)
    assert trigger_told(alert, language("en"), workflow, "", where="for Léa") == "said for Léa"
