"""The ``discord`` output: alert notifications as Discord embeds, through a channel webhook.

The alert text is escaped for Discord's markdown, so that a summary quoting the public can
neither ping a channel nor plant a link. What the chat outputs share is in :mod:`.chat` and
:mod:`.webhook`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from cmflow import Message, hookimpl, metric_label
from cmflow.builtin.outputs.chat import batch_language, item_lines, more_text, subtitle
from cmflow.builtin.outputs.message_text import clean_text
from cmflow.builtin.outputs.webhook_notifier import (AlertLine, WebhookNotifier, WebhookTargetOptions, alert_lines,
                                                   webhook_url_field)

if TYPE_CHECKING:
    from cmflow import DeliveryContext, NotificationBatch
    from cmflow.http import ApiResponse


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
_DISCORD_URL = re.compile(r"(https?://[^\s<>\[\]\\`|*~\"]+)")
"""A link as Discord shows it (its own link wins over Markdown): left unescaped, or a backslash
would be part of it (``maison\\_lumiere``)."""


def discord_escape(text: str) -> str:
    """Discord Markdown escaped (bold, links, spoilers, code, headings, quotes, lists), and
    ``@everyone``/``@here`` broken by a zero-width space: shown as text, never a ping (the
    message also sets ``allowed_mentions`` to nobody)."""
    parts = _DISCORD_URL.split(text)  # links at odd places
    text = "".join(part if index % 2 else _DISCORD_INLINE.sub(r"\\\1", part) for index, part in enumerate(parts))
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
        lines = alert_lines(batch, told=True)  # a French client's alert in French
        told_in = batch_language(lines)  # the shared lines too, when every alert is told in one
        footer = discord_cut(discord_escape(subtitle(batch, told_in)), DISCORD_FOOTER)
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
            content += "\n" + more_text(len(lines) - len(embeds), told_in)
        body = {"content": discord_cut(content, DISCORD_CONTENT), "embeds": embeds,
                "allowed_mentions": {"parse": []}}
        return Message(summary=f"Discord: {clean_text(title, 200)}", payload={"body": body}, key=batch.key)

    @staticmethod
    def _embed(line: AlertLine) -> dict[str, Any]:
        resolved = line.event == "resolved"
        label = line.lang.metric_label(line.metric) if line.lang is not None else metric_label(line.metric)
        heading = f"{line.severity_text} · {line.event_text} · {label}"
        lang = line.lang  # a French client's alert in French; None: English
        fields = [{"name": lang.text("column_value") if lang else "Value", "value": discord_escape(line.value_text),
                   "inline": True}] if line.value is not None else []
        fields += [{"name": discord_cut(discord_escape(line.dimension_name(name)), DISCORD_FIELD_NAME),
                    "value": discord_cut(discord_escape(lang.platform(value) if lang and name == "platform" else value),
                                         DISCORD_FIELD_VALUE) or "–", "inline": True}
                   for name, value in line.dimensions.items()]
        fields.append({"name": lang.text("chat_rule_name") if lang else "Rule",
                       "value": discord_cut(discord_escape(line.rule), DISCORD_FIELD_VALUE), "inline": True})
        return {
            "title": discord_cut(discord_escape(clean_text(heading)), DISCORD_TITLE),
            "description": discord_cut("\n".join([discord_escape(clean_text(line.summary, 1500)),
                                                  *[discord_escape(text) for text in item_lines(line)]]),
                                       DISCORD_DESCRIPTION),
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
    register(Discord)
