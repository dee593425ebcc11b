"""The chat outputs: ``slack``, ``teams`` and ``discord``, each through its incoming webhook.

Each composes its platform's own message shape (Slack Block Kit, a Teams Adaptive Card, Discord
embeds) from the batch, within the platform's limits, with the alert text escaped for the
platform's markup so that a summary quoting the public can neither ping a channel nor plant a
link. Sending, the URL guard and what the answer means are shared (:mod:`.webhook`).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from cmflow import DeliveryContext, Message, NotificationBatch, hookimpl, metric_label

from cmflow.builtin.outputs.webhook import (AlertLine, WebhookNotifier, WebhookTargetOptions, alert_lines, clean_text,
                      parse_url, webhook_url_field)

if TYPE_CHECKING:
    from cmflow.http import ApiResponse

SUMMARY_LIMIT = 500
"""Characters of one alert summary shown; the rest is cut with an ellipsis."""


def subtitle(batch: NotificationBatch) -> str:
    """``Weekly social KPIs · 2026-11-16..2026-11-22`` (and the group, if it says more)."""
    extra = [f"{name}: {value}" for name, value in batch.group.items() if name != "workflow" and value]
    period = [str(batch.period)] if batch.period else []
    return clean_text(" · ".join([batch.result.workflow.name, *period, *extra]), 300)


def facts(line: AlertLine) -> str:
    """``value 3.49% · platform: instagram · rule err_drop``."""
    parts = [f"value {line.value_text}"] if line.value is not None else []
    if line.where:
        parts.append(line.where)
    parts.append(f"rule {line.rule}")
    return clean_text(" · ".join(parts), 400)


def more_text(hidden: int) -> str:
    return f"…and {hidden} more alert{'s' if hidden != 1 else ''} not shown here"


# -- Slack -------------------------------------------------------------------------------------
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
        lines = alert_lines(batch)
        shown = lines[:SLACK_MAX_ALERTS]
        title = clean_text(batch.title)
        blocks: list[dict[str, Any]] = [{"type": "header", "text": {
            "type": "plain_text", "text": clean_text(title, SLACK_HEADER_LIMIT), "emoji": True}}]
        for line in shown:
            emoji = (SLACK_RESOLVED_EMOJI if line.event == "resolved"
                     else SLACK_EMOJI.get(line.severity, ":white_circle:"))
            text = "\n".join([
                f"{emoji} *{slack_escape(line.severity.upper())}* · {slack_escape(line.event_text)}",
                slack_escape(clean_text(line.summary, SUMMARY_LIMIT)),
                slack_escape(facts(line))])
            blocks.append({"type": "section", "text": {"type": "mrkdwn",
                                                       "text": cut_escaped(text, SLACK_SECTION_LIMIT)}})
        if len(lines) > len(shown):
            blocks.append({"type": "section", "text": {"type": "mrkdwn",
                                                       "text": more_text(len(lines) - len(shown))}})
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn",
                                                        "text": slack_escape(subtitle(batch))}]})
        body = {"text": slack_escape(title), "blocks": blocks}
        return Message(summary=f"Slack: {clean_text(title, 200)}", payload={"body": body}, key=batch.key)

    def explain(self, answer: "ApiResponse", text: str) -> str:
        return SLACK_HINTS.get(text.strip(), "")

    def delivered(self, answer: "ApiResponse", target: str) -> str:
        return f"posted to {target}"


# -- Microsoft Teams ---------------------------------------------------------------------------
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
        lines = alert_lines(batch)
        shown = lines[:TEAMS_MAX_ALERTS]
        title = clean_text(batch.title)
        body: list[dict[str, Any]] = [
            rich_text(text_run(title, weight="Bolder", size="Large")),
            rich_text(text_run(subtitle(batch), isSubtle=True), spacing="None"),
        ]
        for line in shown:
            resolved = line.event == "resolved"
            style = "good" if resolved else TEAMS_STYLE.get(line.severity, "emphasis")
            body.append({"type": "Container", "style": style, "spacing": "Medium", "items": [
                rich_text(text_run(line.severity.upper(), weight="Bolder"), text_run(f" · {line.event_text}")),
                rich_text(text_run(clean_text(line.summary, TEAMS_SUMMARY_LIMIT))),
                rich_text(text_run(facts(line), isSubtle=True, size="Small"), spacing="Small"),
            ]})
        if len(lines) > len(shown):
            body.append(rich_text(text_run(more_text(len(lines) - len(shown)), isSubtle=True)))
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


# -- Discord -----------------------------------------------------------------------------------
DISCORD_MAX_EMBEDS = 10
DISCORD_MAX_FIELDS = 25
DISCORD_TOTAL = 6000
"""Characters of all embeds' titles, descriptions, field names and values and footers together."""
DISCORD_TITLE, DISCORD_DESCRIPTION, DISCORD_CONTENT = 256, 4096, 2000
DISCORD_FIELD_NAME, DISCORD_FIELD_VALUE, DISCORD_FOOTER = 256, 1024, 2048
DISCORD_COLOURS = {"critical": 0xD93025, "warning": 0xF29900, "info": 0x1A73E8}
DISCORD_RESOLVED_COLOUR = 0x188038
_DISCORD_INLINE = re.compile(r"([\\*_~`|\[\]<>])")
_DISCORD_BLOCK_START = re.compile(r"^(\s*)(?:(#{1,3}|-#?|\+)(?=\s)|(\d+)(?=\.\s))")
_DISCORD_MENTION = re.compile(r"@(everyone|here)", re.IGNORECASE)


def discord_escape(text: str) -> str:
    """Discord Markdown escaped (bold, links, spoilers, code, headings, quotes, lists), and
    ``@everyone``/``@here`` broken by a zero-width space: shown as text, never a ping (the
    message also sets ``allowed_mentions`` to nobody)."""
    text = _DISCORD_INLINE.sub(r"\\\1", text)
    text = _DISCORD_BLOCK_START.sub(_escape_block_start, text)
    return _DISCORD_MENTION.sub("@\u200b\\1", text)


def _escape_block_start(match: re.Match[str]) -> str:
    """A heading (``# ``), subtext (``-# ``) or list item (``- ``, ``1. ``) opening the text,
    shown as written."""
    indent, marker, number = match.group(1), match.group(2), match.group(3)
    if number is not None:
        return f"{indent}{number}\\"  # "1\\. " is no list item
    return f"{indent}\\{marker}"


def discord_cut(text: str, limit: int) -> str:
    """Escaped text cut to ``limit`` characters, never leaving a lone escaping backslash."""
    if len(text) <= limit:
        return text
    kept = text[:limit - 1]
    trailing = len(kept) - len(kept.rstrip("\\"))
    if trailing % 2:
        kept = kept[:-1]
    return kept + "…"


def embed_size(embed: dict[str, Any]) -> int:
    """What an embed counts towards Discord's 6000-character total."""
    size = len(embed.get("title", "")) + len(embed.get("description", ""))
    size += sum(len(f["name"]) + len(f["value"]) for f in embed.get("fields", []))
    return size + len(embed.get("footer", {}).get("text", ""))


def fit_embed(embed: dict[str, Any], room: int) -> dict[str, Any]:
    """The embed within ``room`` characters: fields dropped from the end, then the description cut."""
    embed = {**embed, "fields": list(embed["fields"])}
    while embed["fields"] and embed_size(embed) > room:
        embed["fields"].pop()
    excess = embed_size(embed) - room
    if excess > 0:
        embed["description"] = discord_cut(embed["description"], max(1, len(embed["description"]) - excess))
    return embed


class DiscordOptions(WebhookTargetOptions):
    url: SecretStr = webhook_url_field("The webhook URL (https://discord.com/api/webhooks/...)",
                                       "DISCORD_WEBHOOK_URL")


class Discord(WebhookNotifier):
    """Posts each message to a Discord channel through a webhook: the title as content and one
    embed per alert (colour by severity, summary, value and series as fields), within Discord's
    limits (10 embeds, 6000 characters) with an "and N more" line. Markdown is escaped and
    ``allowed_mentions`` is empty, so no alert text can ping ``@everyone``."""

    name = "discord"
    description = "Post alert notifications to a Discord channel (webhook, embeds)."
    Options = DiscordOptions
    receiver = "Discord"
    query = {"wait": "true"}  # Discord answers with the message it created (its id)

    def compose(self, batch: NotificationBatch, ctx: DeliveryContext) -> Message:
        lines = alert_lines(batch)
        footer = discord_cut(discord_escape(subtitle(batch)), DISCORD_FOOTER)
        budget = DISCORD_TOTAL - len(footer)
        embeds: list[dict[str, Any]] = []
        used = 0
        for line in lines:
            embed = self._embed(line)
            if not embeds:
                embed = fit_embed(embed, budget)  # the first alert is always shown, cut if need be
            if len(embeds) == DISCORD_MAX_EMBEDS or used + embed_size(embed) > budget:
                break
            embeds.append(embed)
            used += embed_size(embed)
        if embeds:
            embeds[-1]["footer"] = {"text": footer}
        title = clean_text(batch.title)
        content = discord_escape(title)
        if len(lines) > len(embeds):
            content += "\n" + more_text(len(lines) - len(embeds))
        body = {"content": discord_cut(content, DISCORD_CONTENT), "embeds": embeds,
                "allowed_mentions": {"parse": []}}
        return Message(summary=f"Discord: {clean_text(title, 200)}", payload={"body": body}, key=batch.key)

    @staticmethod
    def _embed(line: AlertLine) -> dict[str, Any]:
        resolved = line.event == "resolved"
        heading = f"{line.severity.upper()} · {line.event_text} · {metric_label(line.metric)}"
        fields = [{"name": "Value", "value": discord_escape(line.value_text), "inline": True}] \
            if line.value is not None else []
        fields += [{"name": discord_cut(discord_escape(name), DISCORD_FIELD_NAME),
                    "value": discord_cut(discord_escape(value), DISCORD_FIELD_VALUE) or "–", "inline": True}
                   for name, value in line.dimensions.items()]
        fields.append({"name": "Rule", "value": discord_cut(discord_escape(line.rule), DISCORD_FIELD_VALUE),
                       "inline": True})
        return {
            "title": discord_cut(discord_escape(clean_text(heading)), DISCORD_TITLE),
            "description": discord_cut(discord_escape(clean_text(line.summary, 1500)), DISCORD_DESCRIPTION),
            "color": DISCORD_RESOLVED_COLOUR if resolved else DISCORD_COLOURS.get(line.severity, 0x5F6368),
            "fields": fields[:DISCORD_MAX_FIELDS],
        }

    def retry_after(self, answer: "ApiResponse") -> float | None:
        # Discord's 429 body says how long, in seconds with milliseconds; the header rounds up.
        body = answer.json if answer.is_json else None
        if isinstance(body, dict) and isinstance(body.get("retry_after"), (int, float)) \
                and 0 <= body["retry_after"] < 7 * 24 * 3600:
            return float(body["retry_after"])
        return super().retry_after(answer)

    def explain(self, answer: "ApiResponse", text: str) -> str:
        if answer.status in (401, 404):
            return ("The webhook was deleted or its token is wrong: create a new one and update the "
                    "environment variable")
        if answer.status == 400:
            return "Discord refused the message's shape: please report it"
        return ""

    def delivered(self, answer: "ApiResponse", target: str) -> str:
        body = answer.json if answer.is_json else None
        message_id = body.get("id") if isinstance(body, dict) else None
        if isinstance(message_id, str) and message_id.isdigit():
            return f"posted to {target} (message {message_id})"
        return f"posted to {target}"


@hookimpl
def register_outputs(register):
    register(Slack)
    register(Teams)
    register(Discord)
