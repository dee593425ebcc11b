"""The ``teams`` output: alert notifications as Adaptive Cards, through a Teams workflow webhook.

What the chat outputs share is in :mod:`.chat` and :mod:`.webhook`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from cmflow import Message, hookimpl
from cmflow.builtin.outputs.chat import batch_language, facts, item_lines, more_text, subtitle
from cmflow.builtin.outputs.message_text import clean_text
from cmflow.builtin.outputs.webhook_notifier import (WebhookNotifier, WebhookTargetOptions, alert_lines, parse_url,
                                                   webhook_url_field)

if TYPE_CHECKING:
    from cmflow import DeliveryContext, NotificationBatch
    from cmflow.http import ApiResponse


TEAMS_MAX_ALERTS = 25
"""Containers shown: a Teams message must stay under about 28 KB."""
TEAMS_SUMMARY_LIMIT = 400
TEAMS_STYLE = {"critical": "attention", "warning": "warning", "info": "accent"}
ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"
RETIRED_CONNECTOR_HOSTS = ("webhook.office.com", "outlook.office.com", "outlook.office365.com")
"""Hosts of the Office 365 connectors' incoming webhooks, which Microsoft retired."""


def text_run(text: str, **style: Any) -> dict[str, Any]:
    """An Adaptive Card ``TextRun``: shown as written (no Markdown), unlike a ``TextBlock``."""
    return {"type": "TextRun", "text": text, **style}


def rich_text(*runs: dict[str, Any], **properties: Any) -> dict[str, Any]:
    return {"type": "RichTextBlock", "inlines": list(runs), **properties}


class TeamsOptions(WebhookTargetOptions):
    url: SecretStr = webhook_url_field(
        "The HTTP POST URL of the Teams workflow's \"When a Teams webhook request is received\" trigger",
        "TEAMS_WORKFLOW_URL")


class Teams(WebhookNotifier):
    """Posts each message to a Microsoft Teams channel or chat through a Workflows (Power
    Automate) webhook, as an Adaptive Card: the title, one container per alert coloured by
    severity, and the period. All text is in ``TextRun`` elements, which Teams shows as
    written (no Markdown), so alert text cannot plant a link."""

    name = "teams"
    description = "Post alert notifications to Microsoft Teams (Workflows webhook, Adaptive Card)."
    Options = TeamsOptions
    receiver = "Teams"

    def check(self, workflow: Any) -> list[str | tuple[str, str]]:
        problems = super().check(workflow)
        url = parse_url(self.options.url.get_secret_value())
        if url is not None and url.host.endswith(RETIRED_CONNECTOR_HOSTS):
            problems.append(("url", "this is an Office 365 connector URL, and Microsoft retired those "
                                    "connectors: create a Workflows webhook (\"When a Teams webhook request "
                                    "is received\") and use its URL"))
        return problems

    def compose(self, batch: NotificationBatch, ctx: DeliveryContext) -> Message:
        lines = alert_lines(batch, told=True)  # a French client's alert in French
        told_in = batch_language(lines)  # the shared lines too, when every alert is told in one
        shown = lines[:TEAMS_MAX_ALERTS]
        title = clean_text(batch.title)
        body: list[dict[str, Any]] = [
            rich_text(text_run(title, weight="Bolder", size="Large")),
            rich_text(text_run(subtitle(batch, told_in), isSubtle=True), spacing="None"),
        ]
        for line in shown:
            resolved = line.event == "resolved"
            style = "good" if resolved else TEAMS_STYLE.get(line.severity, "emphasis")
            body.append({"type": "Container", "style": style, "spacing": "Medium", "items": [
                rich_text(text_run(line.severity_text, weight="Bolder"), text_run(f" · {line.event_text}")),
                rich_text(text_run(clean_text(line.summary, TEAMS_SUMMARY_LIMIT))),
                rich_text(text_run(facts(line), isSubtle=True, size="Small"), spacing="Small"),
                *[rich_text(text_run(text, size="Small"), spacing="None") for text in item_lines(line)],
            ]})
        if len(lines) > len(shown):
            body.append(rich_text(text_run(more_text(len(lines) - len(shown), told_in), isSubtle=True)))
        card = {"$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard",
                "version": "1.4", "msteams": {"width": "Full"}, "body": body}
        payload = {"type": "message",
                   "attachments": [{"contentType": ADAPTIVE_CARD, "contentUrl": None, "content": card}]}
        return Message(summary=f"Teams: {clean_text(title, 200)}", payload={"body": payload}, key=batch.key)

    def explain(self, answer: "ApiResponse", text: str) -> str:
        if answer.status in (401, 403):
            return ("The workflow refused the request: check that its trigger lets anyone with the URL "
                    "post, or create a new workflow and update the environment variable")
        if answer.status in (404, 410):
            return ("The workflow or its trigger no longer exists: create a new one and update the "
                    "environment variable")
        return ""

    def delivered(self, answer: "ApiResponse", target: str) -> str:
        return f"accepted by {target} (HTTP {answer.status})"


@hookimpl
def register_outputs(register):
    register(Teams)
