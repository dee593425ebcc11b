"""The webhook and chat outputs (webhook, slack, teams, discord) against a real HTTP server on
loopback: each platform's body, escaping of text from the public, what each answer means for
the outbox (delivered, retry later, dead letter), the private-network guard, and the webhook
URL (a secret) kept out of every message, error and log line.

The alerts come from a real run of the bundled demo data (two ERR drops and a reach spike).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import logging
import re
import socket
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

import pytest

from cmflow import DeliveryContext, DeliveryFailed, Notification, NotificationBatch, SendContext, format_value
from cmflow.builtin.outputs import discord, slack, teams, webhook
from cmflow.builtin.outputs.discord import Discord
from cmflow.builtin.outputs.slack import Slack
from cmflow.builtin.outputs.teams import Teams
from cmflow.builtin.outputs.webhook import Webhook
from cmflow.foundation.errors import WorkflowInvalid
from cmflow.http import RetryPolicy, make_client
from cmflow.http.guard import address_kind
from cmflow.testing import Reply, ReplayServer, VirtualTime, registered_plugin, replay_server, run_workflow_file  # noqa: F401
from cmflow.workflow import load_workflow
from demo_scenario import demo_change_alerts

HERE = "/test-output-webhooks"
"""Test URLs are registered as secrets for the whole session: their paths are unique to this file."""
SECRET_PATH = "/services/T0CMFLOW/B0TEST/s3cr3t-w3bh00k-t0k3n"
HOSTILE = ("<script>alert(1)</script> <!channel> @everyone & [click here](https://evil.example) "
           "*now* <@123456>")
DISCORD_URL = "https://discord.com/api/webhooks/1/x"
PLUGINS = {"slack": Slack, "teams": Teams, "discord": Discord, "webhook": Webhook}


# -- a real run and its batch ------------------------------------------------------------------
def demo_without_outputs() -> str:
    return demo_change_alerts()


@pytest.fixture(scope="module")
def demo_result(tmp_path_factory):
    directory = tmp_path_factory.mktemp("demo")
    path = directory / "demo.toml"
    path.write_text(demo_without_outputs(), encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CMFLOW_LOAD_PLUGINS", "")
        result = run_workflow_file(path, store_url=f"sqlite:///{directory / 'state.db'}")
    assert result.status == "ok" and len(result.alerts) == 3
    return result


@pytest.fixture
def batch(demo_result) -> NotificationBatch:
    """The run's three alerts firing, plus one resolved (info) alert."""
    notifications = [Notification(alert, "firing") for alert in demo_result.alerts]
    resolved = dataclasses.replace(demo_result.alerts[-1], state="resolved",
                                   dimensions={"platform": "linkedin", "account": "maisonlumiere"})
    notifications.append(Notification(resolved, "resolved"))
    return NotificationBatch(demo_result, notifications, {"workflow": demo_result.workflow.name}, key="k1")


@pytest.fixture
def hostile_batch(demo_result) -> NotificationBatch:
    """One alert whose summary and account name quote hostile text from the public."""
    alert = dataclasses.replace(demo_result.alerts[0], summary=HOSTILE,
                                dimensions={"platform": "instagram", "account": "<!here> @here"})
    return NotificationBatch(demo_result, [Notification(alert, "firing")], {"workflow": "w"}, key="k2")


def many_alerts_batch(demo_result, count: int, summary_length: int = 100, **changes) -> NotificationBatch:
    template = demo_result.alerts[0]
    notifications = [Notification(dataclasses.replace(template, **{
        "summary": f"alert {i} " + "x" * summary_length,
        "dimensions": {"platform": "instagram", "account": f"account{i}"}, **changes}), "firing")
        for i in range(count)]
    return NotificationBatch(demo_result, notifications, {"workflow": "w"}, key="many")


@pytest.fixture
def delivery_context(tmp_path) -> DeliveryContext:
    return DeliveryContext(tmp_path, logging.getLogger("cmflow.test"))


@pytest.fixture
def send_context(tmp_path):
    ctx = SendContext(tmp_path, logging.getLogger("cmflow.test"), datetime.now(timezone.utc), attempt=1)
    yield ctx
    if ctx.http_client is not None:
        ctx.http_client.close()


def notifier(name: str, url: str, **options):
    cls = PLUGINS[name]
    options.setdefault("allow_private_network", True)
    return cls(cls.Options(url=url, **options), entry_id=name)


def body_of(message) -> dict:
    return message.payload["body"]


def all_strings(data) -> list[str]:
    if isinstance(data, str):
        return [data]
    if isinstance(data, dict):
        return [s for value in data.values() for s in all_strings(value)]
    if isinstance(data, list):
        return [s for value in data for s in all_strings(value)]
    return []


# -- Slack -------------------------------------------------------------------------------------
def test_slack_body_is_block_kit_with_a_section_per_alert(batch, delivery_context):
    message = notifier("slack", "https://hooks.slack.com/services/T/B/x").compose(batch, delivery_context)
    body = body_of(message)
    assert set(body) == {"text", "blocks"}
    assert body["text"] == batch.title == (
        "Weekly social KPIs (demo): 3 alerts firing, 1 resolved (2026-11-16..2026-11-22)")
    header, *sections, context = body["blocks"]
    assert header == {"type": "header", "text": {"type": "plain_text", "text": batch.title, "emoji": True}}
    assert context == {"type": "context", "elements": [
        {"type": "mrkdwn", "text": "Weekly social KPIs (demo) · 2026-11-16..2026-11-22"}]}
    assert [s["type"] for s in sections] == ["section"] * 4
    drop = next(a for a in batch.firing if a.dimensions == {"platform": "instagram"})
    assert sections[0]["text"] == {"type": "mrkdwn", "text": (
        f":large_orange_circle: *WARNING* · firing\n{drop.summary}\n"
        f"value {format_value(drop.value, '%')} · platform: instagram · rule err_drop")}
    # Most urgent first: warnings, then the info alert, then the resolved one.
    assert [s["text"]["text"].split("\n")[0] for s in sections] == [
        ":large_orange_circle: *WARNING* · firing", ":large_orange_circle: *WARNING* · firing",
        ":large_blue_circle: *INFO* · firing", ":white_check_mark: *INFO* · resolved"]
    assert "platform: linkedin · account: maisonlumiere" in sections[3]["text"]["text"]
    assert message.summary == f"Slack: {batch.title}"
    assert message.key == "k1"


def test_slack_escapes_mentions_links_and_html(hostile_batch, delivery_context):
    body = body_of(notifier("slack", "https://hooks.slack.com/services/T/B/x").compose(hostile_batch, delivery_context))
    section = body["blocks"][1]["text"]["text"]
    assert ("&lt;script&gt;alert(1)&lt;/script&gt; &lt;!channel&gt; @everyone &amp; "
            "[click here](https://evil.example) *now* &lt;@123456&gt;") in section
    assert "account: &lt;!here&gt; @here" in section
    for text in all_strings(body):
        assert "<!" not in text and "<script" not in text and "<@" not in text


def test_slack_stays_within_fifty_blocks(demo_result, delivery_context):
    body = body_of(notifier("slack", "https://hooks.slack.com/services/T/B/x").compose(
        many_alerts_batch(demo_result, 60, summary_length=5000), delivery_context))
    assert len(body["blocks"]) == 48  # header, 45 alerts, "and 15 more", context
    assert body["blocks"][-2]["text"]["text"] == "…and 15 more alerts not shown here"
    assert all(len(b["text"]["text"]) <= 3000 for b in body["blocks"] if b["type"] == "section")
    assert body["blocks"][1]["text"]["text"].split("\n")[1].endswith("x…")


# -- Teams -------------------------------------------------------------------------------------
def walk(element):
    yield element
    for key in ("body", "items", "inlines"):
        for child in element.get(key, []):
            yield from walk(child)


def test_teams_body_is_an_adaptive_card_in_a_message(batch, delivery_context):
    body = body_of(notifier("teams", "https://example.logic.azure.com/workflows/x").compose(batch, delivery_context))
    assert body["type"] == "message"
    [attachment] = body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert (card["type"], card["version"], card["$schema"]) == (
        "AdaptiveCard", "1.4", "http://adaptivecards.io/schemas/adaptive-card.json")
    title, subtitle, *containers = card["body"]
    assert title["inlines"][0]["text"] == batch.title
    assert subtitle["inlines"][0]["text"] == "Weekly social KPIs (demo) · 2026-11-16..2026-11-22"
    assert [c["style"] for c in containers] == ["warning", "warning", "accent", "good"]
    drop = next(a for a in batch.firing if a.dimensions == {"platform": "instagram"})
    heading, summary, facts = containers[0]["items"]
    assert [run["text"] for run in heading["inlines"]] == ["WARNING", " · firing"]
    assert summary["inlines"] == [{"type": "TextRun", "text": drop.summary}]
    assert facts["inlines"][0]["text"] == (
        f"value {format_value(drop.value, '%')} · platform: instagram · rule err_drop")
    # Every text is a TextRun (shown as written), never a TextBlock (Markdown).
    types = {element["type"] for element in walk(card)}
    assert types == {"AdaptiveCard", "RichTextBlock", "TextRun", "Container"}


def test_teams_shows_hostile_text_only_as_plain_text_runs(hostile_batch, delivery_context):
    card = body_of(notifier("teams", "https://example.logic.azure.com/workflows/x").compose(
        hostile_batch, delivery_context))["attachments"][0]["content"]
    runs = [e for e in walk(card) if e["type"] == "TextRun"]
    assert {"type": "TextRun", "text": HOSTILE} in runs
    assert not [e for e in walk(card) if e["type"] == "TextBlock"]


@pytest.fixture
def french_batch(demo_result) -> NotificationBatch:
    """The run's Instagram drop about Maison Lumière's account, a French client's (``[[clients]]``):
    the chat outputs say it in French."""
    from cmflow import Client

    maison = Client(id="maison", name="Maison Lumière", accounts={"maisonlumiere": "Maison Lumière"}, language="fr")
    result = dataclasses.replace(demo_result, workflow=dataclasses.replace(demo_result.workflow, clients=[maison]))
    drop = next(a for a in demo_result.alerts if a.dimensions == {"platform": "instagram"})
    alert = dataclasses.replace(drop, dimensions={"platform": "instagram", "account": "maisonlumiere"})
    return NotificationBatch(result, [Notification(alert, "firing")], {"workflow": "w"}, key="fr")


def test_teams_says_a_french_client_s_alert_in_french(french_batch, delivery_context):
    card = body_of(notifier("teams", "https://example.logic.azure.com/workflows/x").compose(
        french_batch, delivery_context))["attachments"][0]["content"]
    heading, summary, facts = card["body"][2]["items"]
    assert [run["text"] for run in heading["inlines"]] == ["À SURVEILLER", " · en cours"]
    assert summary["inlines"][0]["text"].startswith("Taux d'engagement (portée)")
    text = facts["inlines"][0]["text"]
    assert text.startswith("valeur 3,49\u00a0% · réseau\u00a0: Instagram · ") and text.endswith(" · règle err_drop")
    # the subtitle too: the period in French, not ISO
    assert card["body"][1]["inlines"][0]["text"] == "Weekly social KPIs (demo) · 16–22 nov. 2026"


def test_the_lines_a_chat_message_shares_are_in_its_alerts_language_when_they_share_one():
    """"…and N more", and the group in the subtitle, in French for a batch of French alerts;
    English when the alerts' languages differ (a batch mixing two clients)."""
    from types import SimpleNamespace

    from cmflow.builtin.outputs.chat import batch_language, more_text
    from cmflow.presentation.language import language

    french = language("fr")
    assert more_text(1, french) == "…et 1\u00a0autre alerte non affichée ici"
    assert more_text(15, french) == "…et 15\u00a0autres alertes non affichées ici"
    assert more_text(15) == "…and 15 more alerts not shown here"
    assert batch_language([SimpleNamespace(lang=french), SimpleNamespace(lang=french)]) is french
    assert batch_language([SimpleNamespace(lang=french), SimpleNamespace(lang=None)]) is None
    assert batch_language([]) is None


def test_a_chat_line_names_a_client_by_its_display_name(french_batch):
    """``client : Maison Lumière`` in the chat's facts, not its id (``maison``); the JSON keeps the id."""
    from cmflow.builtin.outputs.webhook_notifier import alert_lines

    [notification] = french_batch.notifications
    alert = dataclasses.replace(notification.alert, dimensions={"client": "maison"})
    batch = dataclasses.replace(french_batch, notifications=[Notification(alert, "firing")])
    [told] = alert_lines(batch, told=True)
    assert told.where == "client\u00a0: Maison Lumière"
    assert alert_lines(batch)[0].dimensions == {"client": "maison"}


# -- Discord -----------------------------------------------------------------------------------
def test_discord_body_is_content_and_an_embed_per_alert(batch, delivery_context):
    body = body_of(notifier("discord", DISCORD_URL).compose(batch, delivery_context))
    assert set(body) == {"content", "embeds", "allowed_mentions"}
    assert body["allowed_mentions"] == {"parse": []}
    assert body["content"] == batch.title
    assert len(body["embeds"]) == 4
    first = body["embeds"][0]
    drop = next(a for a in batch.firing if a.dimensions == {"platform": "instagram"})
    assert first == {
        "title": "WARNING · firing · ERR (reach)", "description": drop.summary, "color": 0xF29900,
        "fields": [{"name": "Value", "value": format_value(drop.value, "%"), "inline": True},
                   {"name": "platform", "value": "instagram", "inline": True},
                   {"name": "Rule", "value": "err\\_drop", "inline": True}]}
    assert [e["color"] for e in body["embeds"]] == [0xF29900, 0xF29900, 0x1A73E8, 0x188038]
    assert body["embeds"][-1]["footer"] == {"text": "Weekly social KPIs (demo) · 2026-11-16..2026-11-22"}


def test_discord_says_a_french_client_s_alert_in_french(french_batch, delivery_context):
    [embed] = body_of(notifier("discord", DISCORD_URL).compose(french_batch, delivery_context))["embeds"]
    assert embed["title"] == "À SURVEILLER · en cours · Taux d'engagement (portée)"
    assert embed["description"].startswith("Taux d'engagement (portée)")
    assert [field["name"] for field in embed["fields"]] == ["Valeur", "Réseau", "Compte", "Règle"]
    assert embed["fields"][1]["value"] == "Instagram"
    assert embed["footer"] == {"text": "Weekly social KPIs (demo) · 16–22 nov. 2026"}


def test_discord_escapes_markdown_and_cannot_ping(hostile_batch, delivery_context):
    body = body_of(notifier("discord", DISCORD_URL).compose(hostile_batch, delivery_context))
    description = body["embeds"][0]["description"]
    assert description == ("\\<script\\>alert(1)\\</script\\> \\<!channel\\> @\u200beveryone & "
                           "\\[click here\\](https://evil.example) \\*now\\* \\<@123456\\>")
    assert {"name": "account", "value": "\\<!here\\> @\u200bhere", "inline": True} in body["embeds"][0]["fields"]
    assert body["allowed_mentions"] == {"parse": []}
    for text in all_strings(body):
        assert "@everyone" not in text and "@here" not in text
        assert not re.search(r"(?<!\\)[\[\]<*]", text), text  # no markup left unescaped


def test_discord_keeps_within_its_limits_and_says_how_many_are_left_out(demo_result, delivery_context):
    bulky = many_alerts_batch(demo_result, 40, summary_length=1400)
    body = body_of(notifier("discord", DISCORD_URL).compose(bulky, delivery_context))
    embeds = body["embeds"]
    total = sum(len(e["title"]) + len(e["description"]) + sum(len(f["name"]) + len(f["value"]) for f in e["fields"])
                + len(e.get("footer", {}).get("text", "")) for e in embeds)
    assert total <= 6000 and len(embeds) == 3  # 3 summaries of ~1500 characters fit
    assert body["content"].endswith(f"\n…and {40 - len(embeds)} more alerts not shown here")
    many = many_alerts_batch(demo_result, 12, summary_length=10)
    embeds = body_of(notifier("discord", DISCORD_URL).compose(many, delivery_context))["embeds"]
    assert len(embeds) == 10
    wide = many_alerts_batch(demo_result, 1, dimensions={f"d{i}": "v" * 30 for i in range(40)})
    [embed] = body_of(notifier("discord", DISCORD_URL).compose(wide, delivery_context))["embeds"]
    assert len(embed["fields"]) == 25
    huge = many_alerts_batch(demo_result, 2, summary_length=5000, dimensions={f"d{i}": "v" * 2000 for i in range(9)})
    body = body_of(notifier("discord", DISCORD_URL).compose(huge, delivery_context))
    [embed] = body["embeds"]  # the first alert is shown, cut to fit; the second is left out
    assert discord.embed_size(embed) <= 6000 and len(embed["description"]) <= 4096 and len(embed["title"]) <= 256
    assert embed["fields"] and all(len(f["value"]) <= 1024 for f in embed["fields"])
    assert body["content"].endswith("\n…and 1 more alert not shown here")


# -- the generic webhook -----------------------------------------------------------------------
def test_webhook_default_body_is_the_batch_document(batch, delivery_context):
    body = body_of(notifier("webhook", "https://example.com/hook").compose(batch, delivery_context))
    assert set(body) == {"key", "workflow", "workflow_id", "period", "group", "title", "counts", "alerts"}
    assert body["key"] == "k1"
    assert body["period"] == {"start": "2026-11-16", "end": "2026-11-22", "timezone": "Europe/Paris"}
    assert body["counts"] == {"firing": 3, "resolved": 1}
    drop = next(a for a in batch.firing if a.dimensions == {"platform": "instagram"})
    assert body["alerts"][0] == {
        "fingerprint": drop.fingerprint, "event": "firing", "state": "firing", "rule": "err_drop",
        "metric": "engagement_rate_by_reach", "severity": "warning", "summary": drop.summary,
        "value": drop.value, "unit": "%", "dimensions": {"platform": "instagram"}, "condition": "value",
        "active_since": drop.active_since.isoformat(), "items": [], "more_items": 0,  # its metric lists none
        "listed_items": 0, "counted_items": None}
    assert body["alerts"][-1]["event"] == "resolved"
    assert json.loads(json.dumps(body)) == body


def test_webhook_template_writes_every_expression_as_json(hostile_batch, delivery_context, tmp_path):
    quoting = dataclasses.replace(hostile_batch.notifications[0].alert, summary='", "admin": true, "x": "')
    batch = NotificationBatch(hostile_batch.result, [Notification(quoting, "firing")], {"workflow": "w"}, key="k3")
    template = '{"text": {{ title }}, "first": {{ alerts[0].summary }}, "n": {{ alerts | length }}, "key": {{ key }}}'
    plugin = notifier("webhook", "https://example.com/hook", body_template=template)
    body = body_of(plugin.compose(batch, delivery_context))
    assert body == {"text": batch.title, "first": '", "admin": true, "x": "', "n": 1, "key": "k3"}

    (tmp_path / "body.json.j2").write_text(
        '[{% for alert in alerts %}{{ alert.fingerprint ~ ":" ~ alert.severity }}{% endfor %}]', encoding="utf-8")
    body = body_of(notifier("webhook", "https://example.com/hook", body_template="body.json.j2").compose(
        batch, delivery_context))
    assert body == [f"{quoting.fingerprint}:warning"]

    broken = notifier("webhook", "https://example.com/hook", body_template='{"text": "{{ title }}"}')
    with pytest.raises(ValueError, match="did not produce JSON"):
        broken.compose(batch, delivery_context)


# -- sending -----------------------------------------------------------------------------------
RECEIVER_OK = {
    "slack": Reply(200, body="ok", headers={"Content-Type": "text/plain"}),
    "teams": Reply(202),
    "discord": Reply(200, json={"id": "1180000000000000001", "content": "..."}),
    "webhook": Reply(204),
}
NOTES = {
    "slack": "posted to Slack (127.0.0.1)",
    "teams": "accepted by Teams (127.0.0.1) (HTTP 202)",
    "discord": "posted to Discord (127.0.0.1) (message 1180000000000000001)",
    "webhook": "delivered to webhook (127.0.0.1) (HTTP 204)",
}


@pytest.mark.parametrize("name", list(PLUGINS))
def test_each_output_posts_its_body_with_the_idempotency_key(name, batch, delivery_context, send_context,
                                                              replay_server):
    replay_server.add("POST", SECRET_PATH, RECEIVER_OK[name])
    plugin = notifier(name, replay_server.url + SECRET_PATH)
    message = plugin.compose(batch, delivery_context)
    assert plugin.send(message, send_context) == NOTES[name]
    [request] = replay_server.requests
    assert request.json() == body_of(message)
    assert request.headers["idempotency-key"] == "k1"
    assert request.headers["content-type"] == "application/json"
    assert request.params == ({"wait": "true"} if name == "discord" else {})


def test_webhook_sends_its_extra_headers_but_not_cmflow_s_own(batch, delivery_context, send_context, replay_server):
    replay_server.add("POST", HERE + "/hook", Reply(200))
    plugin = notifier("webhook", replay_server.url + HERE + "/hook", headers={"X-Source": "cmflow"})
    plugin.send(plugin.compose(batch, delivery_context), send_context)
    assert replay_server.requests[0].headers["x-source"] == "cmflow"
    for reserved in ("Idempotency-Key", "content-type", "Host"):
        with pytest.raises(ValueError, match="is set by cmflow"):
            Webhook.Options(url="https://example.com/hook", headers={reserved: "x"})


def test_a_503_is_retried_and_the_second_attempt_delivers(batch, delivery_context, send_context, replay_server):
    replay_server.add("POST", SECRET_PATH, Reply(503, body="upstream busy"), RECEIVER_OK["slack"])
    plugin = notifier("slack", replay_server.url + SECRET_PATH)
    message = plugin.compose(batch, delivery_context)
    with pytest.raises(DeliveryFailed) as failed:
        plugin.send(message, send_context)
    assert failed.value.retryable and failed.value.retry_after is None
    assert "HTTP 503: upstream busy" in str(failed.value)
    assert len(replay_server.requests) == 1  # one attempt per call: the outbox does the retrying
    assert plugin.send(message, send_context) == "posted to Slack (127.0.0.1)"
    first, second = replay_server.requests
    assert first.body == second.body and first.headers["idempotency-key"] == second.headers["idempotency-key"]


def test_a_429_hands_its_retry_after_to_the_outbox(batch, delivery_context, tmp_path, replay_server):
    """The wait goes to the outbox, and holds the next messages to the same receiver meanwhile
    (a batch sent concurrently does not hammer a receiver that asked for a pause)."""
    from cmflow.plugins.notifications import send_client_options

    clock = VirtualTime()
    replay_server.clock = clock.clock  # its Date headers: the time a Retry-After date is given against
    http = make_client(**send_client_options(), clock=clock.clock, sleep=clock.sleep)
    ctx = SendContext(tmp_path, logging.getLogger("cmflow.test"), datetime.now(timezone.utc), 1, http_client=http)
    replay_server.add("POST", HERE + "/slack", Reply(429, body="rate_limited", headers={"Retry-After": "30"}))
    other_host = ReplayServer().start()
    other_host.add("POST", HERE + "/discord", Reply(429, json={"message": "You are being rate limited.",
                                                        "retry_after": 1.5, "global": False},
                                             headers={"Retry-After": "2"}))
    slack = notifier("slack", replay_server.url + HERE + "/slack")
    discord = notifier("discord", other_host.url + HERE + "/discord")

    def refused(plugin) -> DeliveryFailed:
        with pytest.raises(DeliveryFailed) as failed:
            plugin.send(plugin.compose(batch, delivery_context), ctx)
        assert failed.value.retryable
        return failed.value

    first = refused(slack)
    assert "rate-limiting" in str(first) and first.retry_after == 30.0
    held = refused(slack)  # within the 30 s: not sent at all, and told when to try again
    assert held.retry_after == 30.0 and len(replay_server.requests) == 1
    clock.now += 31
    in_two_minutes = format_datetime(datetime.fromtimestamp(clock.now, timezone.utc) + timedelta(seconds=120),
                                     usegmt=True)
    replay_server.add("POST", HERE + "/slack", Reply(429, headers={"Retry-After": in_two_minutes}))
    assert refused(slack).retry_after == 120.0
    try:
        assert refused(discord).retry_after == 1.5  # another receiver: not held by Slack's wait
    finally:
        other_host.stop()
    http.close()
    assert len(replay_server.requests) == 2 and len(other_host.requests) == 1
    assert clock.sleeps == []  # nothing waited here: the outbox schedules the retry


@pytest.mark.parametrize("status, answer, expected", [
    (400, "invalid_payload", "refused the message (HTTP 400: invalid_payload). Slack could not read"),
    (404, "no_service", "refused the message (HTTP 404: no_service). The webhook was disabled or removed"),
    (410, "channel_is_archived", "(HTTP 410: channel_is_archived). The channel is archived"),
    (403, "action_prohibited", "(HTTP 403: action_prohibited). A workspace admin restricted"),
])
def test_a_4xx_is_not_retried_and_says_what_the_receiver_said(status, answer, expected, batch, delivery_context,
                                                               send_context, replay_server):
    replay_server.add("POST", SECRET_PATH, Reply(status, body=answer))
    plugin = notifier("slack", replay_server.url + SECRET_PATH)
    with pytest.raises(DeliveryFailed) as failed:
        plugin.send(plugin.compose(batch, delivery_context), send_context)
    assert not failed.value.retryable
    assert expected in str(failed.value)


def test_a_json_error_is_quoted_and_a_redirect_is_not_followed(batch, delivery_context, send_context, replay_server):
    replay_server.add("POST", HERE + "/discord", Reply(404, json={"message": "Unknown Webhook", "code": 10015}))
    replay_server.add("POST", HERE + "/moved", Reply(301, headers={"Location": "https://elsewhere.example/hook"}))
    discord = notifier("discord", replay_server.url + HERE + "/discord")
    moved = notifier("webhook", replay_server.url + HERE + "/moved")
    with pytest.raises(DeliveryFailed) as failed:
        discord.send(discord.compose(batch, delivery_context), send_context)
    assert not failed.value.retryable
    assert ("Discord (127.0.0.1) refused the message (HTTP 404: Unknown Webhook). "
            "The webhook was deleted") in str(failed.value)
    with pytest.raises(DeliveryFailed) as failed:
        moved.send(moved.compose(batch, delivery_context), send_context)
    assert not failed.value.retryable and "does not follow redirects" in str(failed.value)
    assert [r.path for r in replay_server.requests] == [HERE + "/discord", HERE + "/moved"]


def test_timeouts_and_refused_connections_are_retried(batch, delivery_context, send_context, replay_server):
    replay_server.add("POST", HERE + "/slow", Reply(200, body="ok", delay=2.0))
    slow = notifier("slack", replay_server.url + HERE + "/slow", timeout=0.2)
    with pytest.raises(DeliveryFailed) as failed:
        slow.send(slow.compose(batch, delivery_context), send_context)
    assert failed.value.retryable and "timed out" in str(failed.value)

    with socket.socket() as unused:  # a port nobody listens on
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    closed = notifier("teams", f"http://127.0.0.1:{port}{SECRET_PATH}")
    with pytest.raises(DeliveryFailed) as failed:
        closed.send(closed.compose(batch, delivery_context), send_context)
    assert failed.value.retryable and "could not be reached" in str(failed.value)


# -- the private-network guard -----------------------------------------------------------------
@pytest.mark.parametrize("name", list(PLUGINS))
def test_loopback_is_refused_at_send_time_without_the_opt_in(name, batch, delivery_context, send_context,
                                                             replay_server):
    replay_server.add("POST", SECRET_PATH, RECEIVER_OK[name])
    plugin = notifier(name, replay_server.url + SECRET_PATH, allow_private_network=False)
    with pytest.raises(DeliveryFailed) as failed:
        plugin.send(plugin.compose(batch, delivery_context), send_context)
    assert not failed.value.retryable
    assert "refused to connect to 127.0.0.1: 127.0.0.1 is a loopback address" in str(failed.value)
    assert "set allow_private_network = true on this output" in str(failed.value)
    assert replay_server.requests == []


@pytest.mark.parametrize("address, kind", [
    ("8.8.8.8", None), ("2606:4700:4700::1111", None), ("127.0.0.1", "loopback"), ("::1", "loopback"),
    ("10.1.2.3", "private"), ("172.16.0.1", "private"), ("192.168.1.10", "private"),
    ("169.254.169.254", "link-local"), ("fe80::1", "link-local"), ("fd12:3456::1", "unique-local"),
    ("224.0.0.251", "multicast"), ("ff02::1", "multicast"), ("0.0.0.0", "unspecified"),
    ("100.64.0.1", "reserved"), ("::ffff:127.0.0.1", "loopback"), ("64:ff9b::a00:1", "private"),
])
def test_address_kinds(address, kind):
    assert address_kind(ipaddress.ip_address(address)) == kind


def workflow_with_output(write_workflow, output: str) -> Path:
    return write_workflow(demo_without_outputs() + "\n[[outputs]]\n" + output)


@pytest.mark.parametrize("host", ["10.0.0.5", "192.168.1.10", "169.254.169.254", "[::1]", "[fd00::1]",
                                  "224.0.0.1", "localhost"])
def test_literal_private_addresses_are_refused_at_validation(host, write_workflow, monkeypatch):
    monkeypatch.setenv("CHAT_URL", f"https://{host}{SECRET_PATH}")
    path = workflow_with_output(write_workflow, 'plugin = "slack"\nurl = "${env:CHAT_URL}"\n')
    with registered_plugin(slack):
        with pytest.raises(WorkflowInvalid) as invalid:
            load_workflow(path)
        [problem] = invalid.value.problems
        assert problem.path == "outputs[0].url"
        assert "refuses private network targets unless the output sets allow_private_network = true" in problem.message
        assert SECRET_PATH not in str(invalid.value)

        path = workflow_with_output(write_workflow, 'plugin = "slack"\nurl = "${env:CHAT_URL}"\n'
                                                    'allow_private_network = true\n')
        assert load_workflow(path).outputs[0].plugin.options.allow_private_network is True


def test_the_url_must_be_a_secret_from_the_environment_and_https(write_workflow, monkeypatch):
    with registered_plugin(discord), registered_plugin(webhook):
        inline = workflow_with_output(write_workflow, f'plugin = "discord"\nurl = "https://discord.com{SECRET_PATH}"\n')
        with pytest.raises(WorkflowInvalid, match="secrets may not be written in the workflow file"):
            load_workflow(inline)
        monkeypatch.setenv("HOOK_URL", f"http://93.184.216.34{SECRET_PATH}")
        plain = workflow_with_output(write_workflow, 'plugin = "webhook"\nurl = "${env:HOOK_URL}"\n')
        with pytest.raises(WorkflowInvalid, match="use https://") as invalid:
            load_workflow(plain)
        assert SECRET_PATH not in str(invalid.value)
        monkeypatch.setenv("HOOK_URL", f"https://93.184.216.34{SECRET_PATH}")
        workflow = load_workflow(plain)
        assert workflow.outputs[0].plugin.options.url.get_secret_value() == f"https://93.184.216.34{SECRET_PATH}"


def test_teams_refuses_a_retired_office_365_connector_url(write_workflow, monkeypatch):
    monkeypatch.setenv("TEAMS_URL", "https://contoso.webhook.office.com/webhookb2/abc@def/IncomingWebhook/123/456")
    with registered_plugin(teams):
        path = workflow_with_output(write_workflow, 'plugin = "teams"\nurl = "${env:TEAMS_URL}"\n')
        with pytest.raises(WorkflowInvalid, match=r"outputs\[0\]\.url: this is an Office 365 connector URL"):
            load_workflow(path)
        monkeypatch.setenv("TEAMS_URL", "https://prod-12.westeurope.logic.azure.com:443/workflows/abc/triggers/"
                                        "manual/paths/invoke?api-version=2016-06-01&sig=xyz")
        assert load_workflow(path).outputs[0].plugin.name == "teams"


def test_a_broken_body_template_is_reported_at_validation(write_workflow, monkeypatch):
    monkeypatch.setenv("HOOK_URL", f"https://hooks.example.com{SECRET_PATH}")
    with registered_plugin(webhook):
        path = workflow_with_output(write_workflow, 'plugin = "webhook"\nurl = "${env:HOOK_URL}"\n'
                                                    'body_template = "{\\"text\\": {{ title }"\n')
        with pytest.raises(WorkflowInvalid, match=r"outputs\[0\]\.body_template: template syntax error"):
            load_workflow(path)
        path = workflow_with_output(write_workflow, 'plugin = "webhook"\nurl = "${env:HOOK_URL}"\n'
                                                    'body_template = "templates/missing.json.j2"\n')
        with pytest.raises(WorkflowInvalid, match="cannot read the template file"):
            load_workflow(path)


# -- the URL is a secret -----------------------------------------------------------------------
def test_the_url_never_appears_in_messages_errors_or_logs(batch, delivery_context, send_context, replay_server,
                                                           caplog):
    caplog.set_level(logging.DEBUG)
    url = replay_server.url + SECRET_PATH
    replay_server.add("POST", SECRET_PATH, Reply(200, body="ok"), Reply(400, body=f"bad request to {url}"),
                      Reply(503, json={"error": {"message": f"{SECRET_PATH} is down"}}), Reply(200, body="ok"))
    texts = []
    for name in ("slack", "teams", "discord", "webhook"):
        plugin = notifier(name, url)
        message = plugin.compose(batch, delivery_context)
        texts += [message.summary, json.dumps(message.payload)]
        try:
            texts.append(plugin.send(message, send_context) or "")
        except DeliveryFailed as exc:
            texts += [str(exc), repr(exc)]
    guarded = notifier("slack", url, allow_private_network=False)
    with pytest.raises(DeliveryFailed) as failed:
        guarded.send(guarded.compose(batch, delivery_context), send_context)
    texts.append(str(failed.value))
    assert any("HTTP 400: bad request to ***" in text for text in texts)  # the receiver echoed the URL
    assert any("HTTP 503: *** is down" in text for text in texts)
    assert len(replay_server.requests) == 4
    assert any("HTTP Request: POST" in record.getMessage() for record in caplog.records)  # httpx logged
    texts += [record.getMessage() for record in caplog.records]
    for text in texts:
        assert SECRET_PATH not in text and "s3cr3t-w3bh00k-t0k3n" not in text, text



# -- the items behind an escalation ---------------------------------------------------------------
def items_batch(demo_result, count: int) -> NotificationBatch:
    """One alert with ``count`` records behind it, the first quoting hostile text and a
    javascript: link, the second a real link."""
    from cmflow import AlertItem

    alert = demo_result.alerts[0]
    at = datetime(2026, 11, 20, 13, 5, tzinfo=timezone.utc)
    items = [AlertItem(at, "@everyone", "x", HOSTILE, "javascript:alert(1)"),
             AlertItem(at + timedelta(minutes=1), "julie", "bluesky", "Colis\njamais reçu", "https://bsky.app/p/1")]
    items += [AlertItem(at + timedelta(minutes=2 + i), f"u{i}", "x", "nul", None) for i in range(count - 2)]
    result = dataclasses.replace(demo_result, alert_items={alert.fingerprint: tuple(items)})
    return NotificationBatch(result, [Notification(alert, "firing")], {"workflow": "w"}, key="k3")


def test_chat_messages_list_the_items_escaped_with_and_n_more(demo_result, delivery_context):
    """Five items (Paris time: the demo's zone), one line each, then "…and 3 more"; the hostile
    one escaped for each platform, its javascript: link left out, the https one kept."""
    batch = items_batch(demo_result, 8)
    slack_text = body_of(notifier("slack", "https://hooks.slack.com/services/T/B/x").compose(
        batch, delivery_context))["blocks"][1]["text"]["text"]
    listed = slack_text.split("\n")[3:]
    assert listed[0] == ("• @everyone · x · 20 Nov 2026 14:05 CET · “&lt;script&gt;alert(1)&lt;/script&gt; &lt;!channel&gt; "
                         "@everyone &amp; [click here](https://evil.example) *now* &lt;@123456&gt;”")
    assert listed[1] == "• julie · bluesky · 20 Nov 2026 14:06 CET · “Colis jamais reçu” · https://bsky.app/p/1"
    assert len(listed) == 6 and listed[-1] == "…and 3 more"
    assert "javascript:" not in slack_text

    card = body_of(notifier("teams", "https://example.logic.azure.com/workflows/x").compose(
        batch, delivery_context))["attachments"][0]["content"]
    runs = [e["text"] for e in walk(card) if e["type"] == "TextRun"]
    assert "• julie · bluesky · 20 Nov 2026 14:06 CET · “Colis jamais reçu” · https://bsky.app/p/1" in runs
    assert "…and 3 more" in runs and not [e for e in walk(card) if e["type"] == "TextBlock"]

    body = body_of(notifier("discord", DISCORD_URL).compose(batch, delivery_context))
    description = body["embeds"][0]["description"].split("\n")
    assert description[1].startswith("• @\u200beveryone · x · 20 Nov 2026 14:05 CET · “\\<script\\>")
    assert description[-1] == "…and 3 more"
    for text in all_strings(body):
        assert "@everyone" not in text and "javascript:" not in text


def test_discord_keeps_a_link_with_an_underscore_a_link(demo_result, delivery_context):
    """An X handle with ``_`` is escaped in the text (no italics) but not in its link, which a
    backslash would break (Discord's links win over its Markdown)."""
    from cmflow import AlertItem

    alert = demo_result.alerts[0]
    item = AlertItem(datetime(2026, 11, 20, 13, 5, tzinfo=timezone.utc), "@maison_lumiere", "x", "_nul_",
                     "https://x.com/maison_lumiere/status/1_2")
    result = dataclasses.replace(demo_result, alert_items={alert.fingerprint: (item,)})
    batch = NotificationBatch(result, [Notification(alert, "firing")], {"workflow": "w"}, key="k4")
    body = body_of(notifier("discord", DISCORD_URL).compose(batch, delivery_context))
    line = body["embeds"][0]["description"].split("\n")[1]
    assert line == "• @maison\\_lumiere · x · 20 Nov 2026 14:05 CET · “\\_nul\\_” · https://x.com/maison_lumiere/status/1_2"


@pytest.mark.parametrize(("count", "last"), [(3, "3 listed of 8"), (7, "…and 2 more (7 listed of 8)"),
                                             (8, "…and 3 more")])
def test_a_message_says_when_it_lists_fewer_records_than_its_alert_counts(demo_result, delivery_context,
                                                                          count, last):
    """An alert counting 8 mentions with fewer listed (records its listing cannot tell apart)
    says so rather than let the list pass for all of them."""
    batch = items_batch(demo_result, count)
    [notification] = batch.notifications
    alert = dataclasses.replace(notification.alert, value=8.0, details={**notification.alert.details, "unit": "mentions"})
    items = batch.result.alert_items[notification.alert.fingerprint]
    result = dataclasses.replace(batch.result, alert_items={alert.fingerprint: items})
    batch = NotificationBatch(result, [Notification(alert, "firing")], {"workflow": "w"}, key="k5")
    slack_text = body_of(notifier("slack", "https://hooks.slack.com/services/T/B/x").compose(
        batch, delivery_context))["blocks"][1]["text"]["text"]
    assert slack_text.split("\n")[-1] == last


@pytest.mark.parametrize(("count", "counted"), [(3, 8), (7, 8), (8, None)])
def test_the_webhook_json_says_how_many_it_lists_of_how_many_the_alert_counts(
        demo_result, delivery_context, send_context, replay_server, count, counted):
    """What e-mail and chat say as "7 listed of 8", the receiver of the webhook's JSON reads as
    ``listed_items`` and ``counted_items`` (null when they agree), beside the 5 items and
    ``more_items``: posted to a receiver on loopback."""
    batch = items_batch(demo_result, count)
    [notification] = batch.notifications
    alert = dataclasses.replace(notification.alert, value=8.0, details={**notification.alert.details, "unit": "mentions"})
    items = batch.result.alert_items[notification.alert.fingerprint]
    result = dataclasses.replace(batch.result, alert_items={alert.fingerprint: items})
    batch = NotificationBatch(result, [Notification(alert, "firing")], {"workflow": "w"}, key="k6")
    replay_server.add("POST", HERE + "/listed", Reply(200, body="ok"))
    plugin = notifier("webhook", replay_server.url + HERE + "/listed")
    plugin.send(plugin.compose(batch, delivery_context), send_context)
    [sent] = replay_server.requests[0].json()["alerts"]
    assert (len(sent["items"]), sent["more_items"], sent["listed_items"], sent["counted_items"]) == (
        min(count, 5), max(0, count - 5), count, counted)
