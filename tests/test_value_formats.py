"""One way to write each unit, in every output and language (cmflow.presentation.numbers).

A figure in hours, a rate, an amount or a count reads the same in the terminal, an alert's
summary, its e-mail, its chat and webhook messages, the task made from it and the reports, in
the reader's locale: ``54 h`` beside ``100 h`` (never ``54.0 h`` or ``54.00``), ``€236.67`` /
``236,67 €`` (never ``236.67 EUR``).

The run: week of Monday 16 November 2026 (Paris), clock Monday 23 November 12:00 UTC, items due
2 h after their planned time (UTC):
a1 instagram Thu 19 06:00, nothing published: due 08:00, missing for 100 h;
a2 facebook  Sat 21 03:30, nothing published: due 05:30, missing for 54.5 h;
a3 linkedin  Tue 17 09:00, published 12:00: late by 3 h.
"""

from __future__ import annotations

import email
import json
from datetime import datetime, timezone
from email import policy
from pathlib import Path

import pytest

from cmflow import format_change, format_number, format_percent, format_value, shows_unit
from cmflow.testing import Reply, run_workflow_file

NBSP = "\u00a0"
CALENDAR = ("item_id,planned_at,title,platform,account,owner\r\n"
            "a1,2026-11-19T06:00:00Z,Teaser,instagram,acme,Léa\r\n"
            "a2,2026-11-21T03:30:00Z,Vitrine,facebook,acme,Léa\r\n"
            "a3,2026-11-17T09:00:00Z,Portrait,linkedin,acme,Hugo\r\n")
POSTS = ("platform,account,post_id,published_at\r\n"
         "linkedin,acme,p3,2026-11-17T12:00:00Z\r\n")
SLACK_PATH = "/services/T0CMFLOW/B0TEST/s3cr3t-f0rmats"
WORKFLOW = """\
[workflow]
name = "Formats"
timezone = "Europe/Paris"
period = "2026-11-16..2026-11-22"

[[sources]]
id = "calendar"
plugin = "csv"
path = "calendar.csv"
record = "calendar_item"

[[sources]]
id = "posts"
plugin = "csv"
path = "posts.csv"

[[metrics]]
plugin = "missing_planned_posts"

[[metrics]]
plugin = "late_planned_posts"

[[triggers]]
id = "missing"
plugin = "threshold"
metric = "missing_planned_posts"
above = 0

[[outputs]]
plugin = "task_list"
path = "tasks.md"
title = "{{summary}}"

[[outputs]]
plugin = "email"
transport = "file"
directory = "mail"
from_address = "cmflow <reports@example.org>"
to = ["team@example.org"]

[[outputs]]
plugin = "webhook"
url = "${{env:FORMATS_WEBHOOK}}"
allow_private_network = true

[[outputs]]
plugin = "slack"
url = "${{env:FORMATS_SLACK}}"
allow_private_network = true

[[outputs]]
id = "rapport"
plugin = "report"
path = "reports/{{language}}.{{format}}"
formats = ["html"]
language = "fr"

[[outputs]]
id = "report"
plugin = "report"
path = "reports/{{language}}.{{format}}"
formats = ["html"]
language = "en"
"""


@pytest.mark.parametrize(("code", "written"), [
    ("en", ["54\u00a0h", "100\u00a0h", "54.5\u00a0h", "3\u00a0h", "3.12%", "116.00%", "€236.67", "6,143", "6.57"]),
    ("fr", ["54\u00a0h", "100\u00a0h", "54,5\u00a0h", "3\u00a0h", "3,12\u00a0%", "116,00\u00a0%", "236,67\u00a0€",
            "6\u202f143", "6,57"]),
])
def test_one_rule_per_unit_in_each_language(code: str, written: list[str]) -> None:
    values = [(54.0, "h"), (100.0, "h"), (54.5, "h"), (3.0, "h"), (3.1249, "%"), (116, "%"), (236.666, "EUR"),
              (6143, "posts"), (6.5712, "minutes")]
    assert [format_value(value, unit, code) for value, unit in values] == written
    assert format_value(None, "h", code) == format_value(float("nan"), "%", code) == "–"
    assert format_value(-0.001, "%", code) == format_percent(0, locale=code)  # never "-0.00%"
    assert format_number(1234.5, 1, code) == {"en": "1,234.5", "fr": "1\u202f234,5"}[code]
    assert [shows_unit(u) for u in ("%", "EUR", "h", "posts", "")] == [True, True, True, False, False]


@pytest.mark.parametrize(("code", "written"), [
    ("en", ["-1.79\u00a0pt", "±0.00\u00a0pt", "+12%", "-4.5%", "+3", "", "34%"]),
    ("fr", ["-1,79\u00a0pt", "±0,00\u00a0pt", "+12\u00a0%", "-4,5\u00a0%", "+3", "", "34\u00a0%"]),
])
def test_one_rule_for_changes_in_each_language(code: str, written: list[str]) -> None:
    """A rate's change in points with two decimals; another figure's in percent, one decimal
    under 10%; as a figure when the earlier value was 0; a trigger's sentence says the
    direction itself and writes the size alone."""
    assert [format_change(-1.79, -30.0, "%", code), format_change(0.001, None, "%", code),
            format_change(640, 12.0, "posts", code), format_change(-9, -4.46, "posts", code),
            format_change(3, None, "posts", code), format_change(None, None, "posts", code),
            format_change(None, -34.2, "", code, signed=False)] == written


@pytest.mark.parametrize(("code", "written"), [
    ("en", ["0.05\u00a0h", "0.33\u00a0h", "0.005\u00a0h", "0\u00a0h", "-0.05\u00a0h", "2.3\u00a0h", "-2.3\u00a0h",
            "1\u00a0h", "2.68", "3.13%", "€0.13"]),
    ("fr", ["0,05\u00a0h", "0,33\u00a0h", "0,005\u00a0h", "0\u00a0h", "-0,05\u00a0h", "2,3\u00a0h", "-2,3\u00a0h",
            "1\u00a0h", "2,68", "3,13\u00a0%", "0,13\u00a0€"]),
])
def test_small_hours_keep_two_digits_and_halves_round_up(code: str, written: list[str]) -> None:
    """Under an hour, two significant digits (3 minutes are not "0 h"), to the thousandth of an
    hour (1.4 s and float noise are 0 h); a half rounds away from zero, as a reader rounds, from
    the figure's decimal form (2.675 is 2.68 although its binary value is a little less)."""
    assert [format_value(0.05, "h", code), format_value(1 / 3, "h", code), format_value(0.0051, "h", code),
            format_value(0.0004, "h", code), format_value(-0.05, "h", code), format_value(2.25, "h", code),
            format_value(-2.25, "h", code), format_value(0.999, "h", code), format_number(2.675, 2, code),
            format_percent(3.125, locale=code), format_value(0.125, "EUR", code)] == written


@pytest.mark.parametrize(("code", "written"), [
    ("en", ["+€236.67", "-€236.67", "+2.5\u00a0h", "+0.05\u00a0h", "+3", "±€0.00"]),
    ("fr", ["+236,67\u00a0€", "-236,67\u00a0€", "+2,5\u00a0h", "+0,05\u00a0h", "+3", "±0,00\u00a0€"]),
])
def test_a_change_from_nothing_is_the_figure_by_its_units_rule(code: str, written: list[str]) -> None:
    """Against an earlier 0 (no percent), the change is written as the value is, signed: an
    amount with its currency and decimals, hours as hours."""
    assert [format_change(236.666, None, "EUR", code), format_change(-236.666, None, "EUR", code),
            format_change(2.5, None, "h", code), format_change(0.05, None, "h", code),
            format_change(3, None, "posts", code), format_change(0.001, None, "EUR", code)] == written


@pytest.mark.parametrize("code", ["en", "fr", "de", "en-GB", "de-CH", "ja", "ar", "hi"])
def test_amounts_are_written_as_babel_writes_them(code: str) -> None:
    """The pattern made once per locale and currency writes what Babel's format_currency writes
    (symbol, its place, the currency's decimals: none for JPY, three for KWD), ties aside."""
    from babel import Locale
    from babel.numbers import format_currency

    babel = Locale.parse(code.replace("-", "_"))
    for currency in ("EUR", "USD", "JPY", "CHF", "KWD"):
        for value in (236.67, -236.666, 0, 1234567.891, 0.4):
            assert format_value(value, currency, code) == format_currency(value, currency, locale=babel), (currency, value)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """The run of WORKFLOW with every output, its folder and what the replay server received."""
    from cmflow.http.replay import ReplayServer

    folder = tmp_path_factory.mktemp("formats")
    (folder / "calendar.csv").write_text(CALENDAR, encoding="utf-8")
    (folder / "posts.csv").write_text(POSTS, encoding="utf-8")
    with ReplayServer() as server, pytest.MonkeyPatch.context() as patch:
        server.add("POST", "/hook", Reply(204))
        server.add("POST", SLACK_PATH, Reply(200, body="ok", headers={"Content-Type": "text/plain"}))
        (folder / "formats.toml").write_text(WORKFLOW.format(), encoding="utf-8")
        patch.setenv("FORMATS_WEBHOOK", server.url + "/hook")
        patch.setenv("FORMATS_SLACK", server.url + SLACK_PATH)
        patch.setenv("CMFLOW_LOAD_PLUGINS", "")
        patch.chdir(folder)
        result = run_workflow_file(folder / "formats.toml", store_url=f"sqlite:///{folder / 'state.db'}",
                                   now=datetime(2026, 11, 23, 12, tzinfo=timezone.utc))
        requests = {request.path: request for request in server.requests}
    assert result.status == "ok", [f"{s.kind} {s.id}: {s.error}" for s in result.failed_stages]
    return result, folder, requests


def test_the_alert_summaries_write_hours_as_the_tables_do(run) -> None:
    result, _, _ = run
    assert sorted(a.summary for a in result.alerts) == [
        # the metric's sentence (the value is how long ago the post was due), the post by its
        # title, not its calendar id (a1)
        f"Planned post not published (due 100{NBSP}h ago): Teaser / instagram / acme / Léa",
        f"Planned post not published (due 54.5{NBSP}h ago): Vitrine / facebook / acme / Léa"]


def test_tasks_email_chat_and_webhook_write_the_same_values(run) -> None:
    _, folder, requests = run
    tasks = (folder / "tasks.md").read_text(encoding="utf-8")
    # A title is one line; its no-break spaces stay (only line breaks and other ASCII blanks are
    # collapsed), as in the details.
    # the task's title words the alert as the reports do (its series by the names they use)
    assert f"- [ ] Planned post not published \\(due 54.5{NBSP}h ago\\): Vitrine · acme · Facebook" in tasks
    assert tasks.count("due 54.5") == 1  # the summary is the title: not again below it
    assert f"  - Overdue by: 54.5{NBSP}h\n" in tasks and f"  - Overdue by: 100{NBSP}h\n" in tasks
    [path] = (folder / "mail").glob("*.eml")
    message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    text = message.get_body(("plain",)).get_content()
    assert f"Missing planned posts: 54.5{NBSP}h |" in text and f"Missing planned posts: 100{NBSP}h |" in text
    assert "title: Vitrine" in text and "item_id" not in text  # the post by its title, not its calendar id
    hook = json.loads(requests["/hook"].body)
    assert sorted(alert["summary"].split(": ")[0] for alert in hook["alerts"]) == [
        f"Planned post not published (due 100{NBSP}h ago)", f"Planned post not published (due 54.5{NBSP}h ago)"]
    slack = json.loads(requests[SLACK_PATH].body)
    facts = [block["text"]["text"] for block in slack["blocks"] if block.get("type") == "section"]
    assert any(f"value 54.5{NBSP}h · " in fact for fact in facts), facts
    assert any(f"value 100{NBSP}h · " in fact for fact in facts), facts
    # a planned post is named by its title; its calendar id (a1, a2) stays out of the message
    assert any("title: Vitrine" in fact for fact in facts) and not any("item_id" in fact for fact in facts), facts


@pytest.mark.parametrize(("language", "overdue", "late"), [
    ("fr", f"54,5{NBSP}h", f"3{NBSP}h"), ("en", f"54.5{NBSP}h", f"3{NBSP}h")])
def test_reports_write_them_in_their_language(run, language: str, overdue: str, late: str) -> None:
    _, folder, _ = run
    page = (folder / "reports" / f"{language}.html").read_text(encoding="utf-8")
    alerts = page.split('<h2 id="alerts">', 1)[1].split("</ul>", 1)[0]
    assert overdue in alerts and f"100{NBSP}h" in alerts
    late_posts = page.split('id="late-posts"', 1)[1].split("</table>", 1)[0]
    assert f">{late}<" in late_posts
