"""The ``slack`` output: alert notifications as Slack Block Kit messages, through an incoming webhook.

The alert text is escaped for Slack's markup, so that a summary quoting the public can neither
ping a channel nor plant a link. What the chat outputs share is in :mod:`.chat` and :mod:`.webhook`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from cmflow import Message, hookimpl
from cmflow.builtin.outputs.chat import SUMMARY_LIMIT, batch_language, facts, item_lines, more_text, subtitle
from cmflow.builtin.outputs.message_text import clean_text
from cmflow.builtin.outputs.webhook_notifier import (WebhookNotifier, WebhookTargetOptions, alert_lines,
                                                   webhook_url_field)

if TYPE_CHECKING:
    from cmflow import DeliveryContext, NotificationBatch
    from cmflow.http import ApiResponse


SLACK_MAX_ALERTS = 45
"""Sections shown: a message has at most 50 blocks (header, context and "and N more" besides)."""
SLACK_SECTION_LIMIT = 3000
SLACK_HEADER_LIMIT = 150
SLACK_EMOJI = {"critical": ":red_circle:", "warning": ":large_orange_circle:", "info": ":large_blue_circle:"}
SLACK_RESOLVED_EMOJI = ":white_check_mark:"
SLACK_HINTS = {
    "no_service": "The webhook was disabled or removed: create a new incoming webhook and update "
                  "the environment variable that holds its URL",
    "no_team": "The Slack workspace is gone or the webhook is invalid: create a new incoming webhook",
    "team_disabled": "The Slack workspace is disabled",
    "invalid_token": "The webhook was revoked: create a new incoming webhook",
    "channel_not_found": "The channel was deleted, or the app was removed from it",
    "channel_is_archived": "The channel is archived: unarchive it or create a webhook for another channel",
    "action_prohibited": "A workspace admin restricted posting to this channel",
    "posting_to_general_channel_denied": "Only admins may post to this channel",
    "invalid_payload": "Slack could not read the message cmflow built: please report it",
}


def slack_escape(text: str) -> str:
    """Slack's mrkdwn escaping: ``&``, ``<`` and ``>`` become entities, so ``<!channel>`` or a
    ``<url|label>`` link in an alert is shown as text, never acted on."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def cut_escaped(text: str, limit: int) -> str:
    """Escaped text cut to ``limit`` characters without splitting an entity such as ``&amp;``."""
    if len(text) <= limit:
        return text
    kept = text[:limit - 1]
    entity_start = kept.rfind("&")
    if entity_start > kept.rfind(";"):
        kept = kept[:entity_start]
    return kept + "…"


class SlackOptions(WebhookTargetOptions):
    url: SecretStr = webhook_url_field("The incoming webhook URL (https://hooks.slack.com/services/...)",
                                       "SLACK_WEBHOOK_URL")


class Slack(WebhookNotifier):
    """Posts each message to a Slack channel through an incoming webhook: a header, one section
    per alert (severity emoji, summary, value and series) and the period, with a plain-text
    fallback for notifications. Alert text is escaped, so ``<!channel>`` in a summary is shown,
    not sent to everyone."""

    name = "slack"
    description = "Post alert notifications to a Slack channel (incoming webhook, Block Kit)."
    Options = SlackOptions
    receiver = "Slack"

    def compose(self, batch: NotificationBatch, ctx: DeliveryContext) -> Message:
        lines = alert_lines(batch, told=True)  # a French client's alert in French
        told_in = batch_language(lines)  # the shared lines too, when every alert is told in one
        shown = lines[:SLACK_MAX_ALERTS]
        title = clean_text(batch.title)
        blocks: list[dict[str, Any]] = [{"type": "header", "text": {
            "type": "plain_text", "text": clean_text(title, SLACK_HEADER_LIMIT), "emoji": True}}]
        for line in shown:
            emoji = (SLACK_RESOLVED_EMOJI if line.event == "resolved"
                     else SLACK_EMOJI.get(line.severity, ":white_circle:"))
            text = "\n".join([
                f"{emoji} *{slack_escape(line.severity_text)}* · {slack_escape(line.event_text)}",
                slack_escape(clean_text(line.summary, SUMMARY_LIMIT)),
                slack_escape(facts(line)),
                *[slack_escape(text) for text in item_lines(line)]])
            blocks.append({"type": "section", "text": {"type": "mrkdwn",
                                                       "text": cut_escaped(text, SLACK_SECTION_LIMIT)}})
        if len(lines) > len(shown):
            blocks.append({"type": "section", "text": {"type": "mrkdwn",
                                                       "text": more_text(len(lines) - len(shown), told_in)}})
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn",
                                                        "text": slack_escape(subtitle(batch, told_in))}]})
        body = {"text": slack_escape(title), "blocks": blocks}
        return Message(summary=f"Slack: {clean_text(title, 200)}", payload={"body": body}, key=batch.key)

    def explain(self, answer: "ApiResponse", text: str) -> str:
        return SLACK_HINTS.get(text.strip(), "")

    def delivered(self, answer: "ApiResponse", target: str) -> str:
        return f"posted to {target}"


@hookimpl
def register_outputs(register):
    register(Slack)
