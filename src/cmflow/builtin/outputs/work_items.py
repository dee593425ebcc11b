"""What the task outputs (``trello_card``, ``asana_task``, ``notion_page``, ``task_list``) share:
one work item per alert, created once, closed when the alert resolves.

Each alert event a run announces becomes one message of its own (a task is about one thing, so
a task output has no ``group_by``: it is refused at validate), queued in the durable outbox. The
message carries the alert's **item key**, stable for one firing episode of one alert on one
board, project or database (workflow, plugin, target, fingerprint, episode). Sending looks the
item up by that key first, where the platform keeps it in the item (the last line of a Trello
card's description or of an Asana task's notes, or an Asana task's ``external`` id with
``find_by = "external"``, a Notion page's property, a task list's line): found, nothing is created ("already
created"); not found, the item is created with the key in it. A sender killed between the create and the outbox's acknowledgement,
or an answer lost on the way back, therefore never makes a second item: the retry finds the first.

A resolved alert closes its item (each output says how: a list, ``completed``, a status); a
reminder (``repeat_every``) only checks the item is there. ``rules`` keeps the items to the
alerts of some triggers. Nothing here is about calendars: any metric whose rows carry an item's
dimensions (``title``, ``url`` ...) gives one task per item.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import string
from dataclasses import dataclass
from datetime import datetime, timezone
from zoneinfo import ZoneInfo
from typing import TYPE_CHECKING, Any, Callable, ClassVar

from pydantic import AliasChoices, ConfigDict, Field, field_validator

from cmflow import DeliveryFailed, Duration, Message, Notifier, NotifierOptions, mark_secret
from cmflow.http import allow_private_network_option  # the option alone: no HTTP library (quick validate)

if TYPE_CHECKING:
    from cmflow import Alert, DeliveryContext, Notification, NotificationBatch, SendContext
    from cmflow.builtin.reports.language import Language
    from cmflow.builtin.reports.scopes import ReportScope
    from cmflow.http import PlatformError, PlatformSession

KEY_LINE = "cmflow-key: "
"""How an item's description ends: the line that holds its key (``cmflow-key: 3f9c...``)."""
TITLE_LIMIT = 250
DESCRIPTION_LIMIT = 2000
"""Notion's limit for one rich-text object; the others take more, none needs more."""
ALERT_FIELDS = ("summary", "metric", "rule", "severity", "value")
"""Placeholders a title template may use besides the alert's dimensions."""


# -- options -----------------------------------------------------------------------------------
def title_template_field(default: str) -> Any:
    """The ``title`` option of a task output."""
    return Field(default, description="The item's title, with {placeholders} filled from the alert: "
                 "{summary}, {metric}, {rule}, {severity}, {value}, or any dimension of its series "
                 "({title}, {item_id}, {platform}, {account}, {owner}, {url} ...). A placeholder the alert "
                 "does not have is left empty.", examples=["Design the visual: {title}"])


class WorkItemOptions(NotifierOptions):
    """Options every task output has: what each item says, and which alerts make one."""

    group_by: list[str] = Field(
        default_factory=lambda: ["workflow"], description="Not an option of task outputs: each makes one "
        "item per alert (a task is about one thing); setting it is an error.", examples=[["workflow"]])
    title: str = title_template_field("{summary}")
    due_in: Duration | None = Field(
        None, description="Give the item a due date this long after the run that raised the alert "
        "(e.g. \"1d\", \"4h\"). Default: no due date.", examples=["1d"])
    close_on_resolve: bool = Field(
        True, description="When the alert resolves (its item left the status, the comment was "
        "answered), close the item. Needs send_resolved = true (the default).", examples=[False])
    rules: list[str] = Field(
        default_factory=list, description="Make items only for the alerts of these triggers (their ids), "
        "so that an engagement alert does not become a design task. Default: every alert of the workflow.",
        examples=[["approved"]])
    language: str | None = Field(
        None, description="Language of the items' words (en, fr): summaries, details, due dates. Default: "
        "each client's language (the client an alert is about), else English.", examples=["fr"])

    @field_validator("group_by", mode="before")
    @classmethod
    def _known_labels(cls, value: Any) -> list[str]:  # replaces NotifierOptions' check of the labels
        raise ValueError("a task output makes one item per alert, so it groups nothing: remove group_by "
                         "(to send one message per group of alerts, use email, slack, teams, discord or webhook)")

    @field_validator("title")
    @classmethod
    def _simple_placeholders(cls, value: str) -> str:
        return check_title_template(value)


class TaskOptions(WorkItemOptions):
    """Options every task output speaking a platform's API has, besides where the items go."""

    model_config = ConfigDict(hide_input_in_errors=True)  # a token is a secret even when invalid

    api_path: ClassVar[str] = ""
    """The API's path under ``base_url`` (``/1`` for Trello): each output sets it."""

    allow_private_network: bool = allow_private_network_option("an API address")
    timeout: float = Field(
        15.0, gt=0, le=300, description="Seconds to wait for the API to accept the connection, and then "
        "for each part of its answer; a timeout is retried later (the lookup first, so never twice).",
        examples=[30])

    @field_validator("base_url", check_fields=False)
    @classmethod
    def _without_api_path(cls, value: str) -> str:
        # ``api_url``, the older name, held the address with the API's path (…/1, …/api/1.0, …/v1)
        value = value.rstrip("/")
        return value[:-len(cls.api_path)] if cls.api_path and value.endswith(cls.api_path) else value


def check_title_template(template: str) -> str:
    """A title template whose placeholders are plain names: ``{title}``, not ``{title.__class__}``
    (a template reading attributes could show what it should not)."""
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ValueError(f"is not a title template ({exc}); write a literal brace as {{{{ or }}}}") from None
    for _, name, spec, conversion in parts:
        if name is None:
            continue
        if not name.isidentifier():
            raise ValueError(f"placeholder {{{name}}} is not a name: write {{title}}, {{summary}}, {{platform}} ...")
        if conversion or spec:
            raise ValueError(f"placeholder {{{name}}}: write it plainly, without !conversion or :format")
    return template


def base_url_field(default: str, what: str, api_path: str) -> Any:
    """The ``base_url`` option: the platform's API address, as its calendar source takes it
    (changed for a proxy or a test server); ``api_url``, its older name, is accepted too."""
    return Field(default, validation_alias=AliasChoices("base_url", "api_url"),
                 description=f"{what}'s API address, as the {what.lower()} source takes it; requests go to "
                 f"{api_path} under it. Change it only for a proxy or a test server (a private address also "
                 f"needs allow_private_network = true). `api_url` is an older name for it.", examples=[default])


def rules_problems(options: Any, workflow: Any) -> list[str | tuple[str, str]]:
    """A ``rules`` entry naming no trigger of the workflow (a typo would make no item, silently)."""
    from cmflow import closest

    ids = [entry.id for entry in getattr(workflow, "triggers", [])]
    problems: list[str | tuple[str, str]] = []
    for rule in options.rules:
        if rule not in ids:
            near = closest(rule, ids)
            problems.append(("rules", f"no trigger has id {rule!r}" + (f"; did you mean {near!r}?" if near else "")
                             + (f" (the triggers: {', '.join(ids)})" if ids else " (the workflow has no trigger)")))
    return problems


def base_url_problems(options: Any) -> list[str | tuple[str, str]]:
    """What the network guard would refuse about ``base_url``, said at validate."""
    import httpx

    from cmflow.http import host_problem

    url = httpx.URL(options.base_url)
    if options.allow_private_network:
        return []
    problem = host_problem(url.host)
    if problem:
        return [("base_url", f"{problem}: cmflow refuses to connect to it, and refuses private network "
                             "targets unless the output sets allow_private_network = true")]
    if url.scheme == "http":
        return [("base_url", "a plain http:// address would send the token unencrypted: use https://")]
    return []


def assignees_field(description: str, example: str, *older: str) -> Any:
    """The ``assignees`` option: who the item is assigned to (one word for the three outputs)."""
    also = f" `{older[0]}` is an older name for it." if older else ""
    return Field(default_factory=list, validation_alias=AliasChoices("assignees", *older),
                 description=description + also, examples=[[example]])


def labels_field(description: str, example: str, *older: str) -> Any:
    """The ``labels`` option: what the item is labelled or tagged with (one word for the three outputs)."""
    also = f" `{older[0]}` is an older name for it." if older else ""
    return Field(default_factory=list, validation_alias=AliasChoices("labels", *older),
                 description=description + also, examples=[[example]])


# -- composing: one message per alert event ----------------------------------------------------
def item_key(workflow_key: str, plugin: str, target: str, alert: "Alert") -> str:
    """The key an item is found by: one per firing episode of one alert on one target, the same
    on every retry and every run (a reminder, the resolution), new when the alert fires anew."""
    payload = json.dumps([workflow_key, plugin, target, alert.fingerprint, alert.episode],
                         ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


def alert_values(alert: "Alert", unit: str, lang: "Language | None" = None, summary: str | None = None) -> dict[str, str]:
    """What a title template and a description can show of an alert: its fields and dimensions,
    as clean one-line text (dimensions come from the data: untrusted); the value in ``lang``'s
    format and ``summary`` (the alert's told in ``lang``) when given."""
    from cmflow import format_value  # the presentation layer: a run needs it, validate does not
    from cmflow.builtin.outputs.message_text import clean_text

    value = alert.value if alert.value is not None and math.isfinite(alert.value) else None
    shown = "" if value is None else lang.value(value, unit) if lang is not None else format_value(value, unit)
    values = {clean_text(name): clean_text(text) for name, text in alert.dimensions.items() if text is not None}
    values.update(summary=clean_text(alert.summary if summary is None else summary), metric=alert.metric,
                  rule=alert.rule, severity=str(alert.severity), value=shown)
    return values


def render_title(template: str, values: dict[str, str]) -> str:
    """The template filled in (a placeholder the alert lacks left empty), on one line, cut to a
    length every platform takes."""
    from cmflow.builtin.outputs.message_text import clean_text

    text = "".join(literal + (values.get(name, "") if name is not None else "")
                   for literal, name, _, _ in string.Formatter().parse(template))
    return clean_text(one_line(text), TITLE_LIMIT) or clean_text(values.get("summary", ""), TITLE_LIMIT)


ASCII_BLANKS = re.compile(r"[ \t\n\r\f\v]+")


def one_line(text: str) -> str:
    """``text`` with each run of ASCII blanks one space, none at the ends; a no-break space
    (French typography: ``Valeur\u00a0: 140\u00a0h``) is kept."""
    return ASCII_BLANKS.sub(" ", text).strip(" ")


DESCRIBED_FIRST = ("title", "item_id", "platform", "account", "owner", "campaign", "format", "pillar", "url")


def describe(alert: "Alert", values: dict[str, str], batch: "NotificationBatch", lang: "Language") -> list[str]:
    """The item's description, as lines in ``lang``: the summary, the value, the series (``Compte\u00a0:
    Maison Lumière``: the names of dimensions as the reports' columns say them, where they have one;
    a platform as its brand writes it), where it comes from (the period in ``lang``'s words)."""
    from cmflow.builtin.outputs.alert_language import dimension_label
    from cmflow.builtin.outputs.message_text import clean_text

    lines = [values["summary"]]
    if values["value"]:
        lines.append(lang.text("task_value", value=values["value"]))
    dimensions = [name for name in DESCRIBED_FIRST if name in alert.dimensions]
    dimensions += sorted(name for name in alert.dimensions if name not in DESCRIBED_FIRST)
    lines += [lang.text("task_line", label=dimension_label(clean_text(name), lang),
                        value=lang.platform(values[name]) if name == "platform" else values[clean_text(name)])
              for name in dimensions if alert.dimensions[name] is not None]
    workflow = clean_text(batch.result.workflow.name)
    period = batch.period
    lines.append(lang.text("task_raised_by_period", rule=alert.rule, metric=alert.metric, workflow=workflow,
                           period=lang.period(period.start, period.end)) if period else
                 lang.text("task_raised_by", rule=alert.rule, metric=alert.metric, workflow=workflow))
    return lines


@dataclass(frozen=True)
class FoundItem:
    """An item the lookup found, or the create made."""

    id: str
    url: str
    closed: bool = False
    note: str = ""
    """Something the run summary should say about it (a warning)."""


class TaskNotifier(Notifier):
    """A notifier whose messages are work items: what the task outputs share.

    A subclass names the receiver (:attr:`receiver`), where its items go (:meth:`target`), and
    speaks its API: :meth:`session`, :meth:`find`, :meth:`create` and :meth:`close`.
    """

    Options: ClassVar[type[TaskOptions]] = TaskOptions
    receiver: ClassVar[str] = ""
    """The platform, as messages name it (``Trello``)."""
    item_noun: ClassVar[str] = "item"
    closes_superseded: ClassVar[bool] = True
    """An alert resolved without a word (a duplicate an upgrade left) closes its item all the same."""

    def target(self) -> str:
        """Where the items go (a list, a project, a database id): part of the item key."""
        raise NotImplementedError

    def check(self, workflow: Any) -> list[str | tuple[str, str]]:
        from cmflow.builtin.reports.languages import language_problems

        return [*rules_problems(self.options, workflow), *language_problems(self.options.language),
                *base_url_problems(self.options)]

    def lane(self) -> tuple[str, int]:
        """One item at a time per target: a lookup and its create are never interleaved with
        another message's for the same target."""
        return f"{self.name}:{self.target()}", 1

    # -- compose ----------------------------------------------------------------------------
    def compose(self, batch: "NotificationBatch", ctx: "DeliveryContext") -> list[Message]:
        """One message per alert event of the batch, keyed by the batch's key and the event."""
        from cmflow.builtin.outputs.alert_language import campaign_clients
        from cmflow.builtin.reports.scopes import whole_workflow_scope

        options: TaskOptions = self.options
        units = batch.result.workflow.measurement_names()
        # each campaign's client (an alert about a campaign is told in its client's language), once a batch
        campaigns = campaign_clients(batch.result)
        scope = whole_workflow_scope(batch.result.workflow)  # every account's display name, once a batch
        messages = []
        for notification in batch.notifications:
            if notification.event == "resolved" and not options.close_on_resolve:
                continue
            if options.rules and notification.alert.rule not in options.rules:
                continue
            messages.append(self.compose_one(batch, notification, units, campaigns, scope))
        return messages

    def compose_one(self, batch: "NotificationBatch", notification: "Notification",
                    units: dict[str, str], campaigns: dict[str, str] | None = None,
                    scope: "ReportScope | None" = None) -> Message:
        """The message of one alert event: what to do (open or close), the item's key and text."""
        from cmflow.builtin.outputs.alert_language import alert_language, said_summary
        from cmflow.builtin.outputs.message_text import clean_text

        options: TaskOptions = self.options
        alert = notification.alert
        workflow = batch.result.workflow
        unit = str(alert.details.get("unit") or units.get(alert.metric, ""))
        if options.language is not None:  # the output's language, for every item
            from cmflow.builtin.reports.language import language

            lang = language(options.language)
        else:
            lang = alert_language(alert, workflow, campaigns)  # a client's alert in the client's language
        values = alert_values(alert, unit, lang, said_summary(alert, lang, workflow, unit, scope))
        title = render_title(options.title, values)
        action = "close" if notification.event == "resolved" else "open"
        due = None
        if options.due_in is not None:  # in the workflow's time zone: its date is the local day
            zone = ZoneInfo(batch.result.period.tz) if batch.period else timezone.utc
            due = (batch.result.started_at + options.due_in).astimezone(zone).isoformat()
        payload = {
            "action": action,
            "item_key": item_key(batch.result.workflow.key, self.name, self.target(), alert),
            "title": title,
            "description": describe(alert, values, batch, lang),
            "summary": values["summary"],
            "due": due,
            "language": lang.tag,
        }
        event_key = hashlib.sha256(f"{batch.key}:{notification.id}".encode()).hexdigest()[:32]
        verb = "close" if action == "close" else "create"
        return Message(summary=f"{self.receiver}: {verb} {self.item_noun} \"{clean_text(title, 120)}\"",
                       payload=payload, key=event_key)

    # -- send -------------------------------------------------------------------------------
    def send(self, message: Message, ctx: "SendContext") -> str | None:
        """Look the item up by its key; create it if it is not there, close it on resolution."""
        from cmflow.http import AddressNotAllowed, PlatformError

        payload = message.payload
        key = payload["item_key"]
        try:
            session = self.session(ctx)
            found = self.find(session, key)
            if payload["action"] == "close":
                if found is None:
                    return f"no {self.receiver} {self.item_noun} to close (none has key {key[:12]}…)"
                if self.already_closed(session, found, payload):
                    return f"{self.receiver} {self.item_noun} {found.url} already closed"
                self.close(session, found, payload)
                return f"closed {self.receiver} {self.item_noun} {found.url}"
            if found is not None:
                return f"{self.receiver} {self.item_noun} already created: {found.url}"
            created = self.create(session, payload, ctx)
            return f"created {self.receiver} {self.item_noun} {created.url}{created.note}"
        except AddressNotAllowed as exc:
            raise DeliveryFailed(f"{self.receiver}: {exc.message}. If the API is on your own network, set "
                                 "allow_private_network = true on this output", retryable=False) from None
        except PlatformError as exc:
            now = datetime.fromtimestamp(ctx.http.clock(), timezone.utc)  # the clock retry_at is on
            raise delivery_failure(self.receiver, exc, now) from None

    def session(self, ctx: "SendContext") -> "PlatformSession":
        """A session of the HTTP kit for this output's API, with its credentials."""
        raise NotImplementedError

    def api_address(self) -> str:
        """Where requests go: ``base_url`` and the API's path (``https://api.trello.com/1``)."""
        return self.options.base_url + self.Options.api_path

    def find(self, session: "PlatformSession", key: str) -> FoundItem | None:
        """The item whose stored key is ``key``, or None."""
        raise NotImplementedError

    def create(self, session: "PlatformSession", payload: dict[str, Any], ctx: "SendContext") -> FoundItem:
        """Create the item, with ``payload["item_key"]`` stored where :meth:`find` looks."""
        raise NotImplementedError

    def close(self, session: "PlatformSession", item: FoundItem, payload: dict[str, Any]) -> None:
        """Mark the item done: its alert resolved."""
        raise NotImplementedError

    def already_closed(self, session: "PlatformSession", item: FoundItem, payload: dict[str, Any]) -> bool:
        """Whether the item is already marked done for this resolution (a retry of a close whose
        answer was lost must not close it twice): by default, what :meth:`find` saw."""
        return item.closed


MARKDOWN_SPECIALS = re.compile(r"([\\`*_\[\]()<>#!~|])")


def markdown_escape(text: str) -> str:
    """Text shown as written where it is read as Markdown (a Trello card's description, a task
    list): a title or an account name holding ``[click](https://…)`` shows those characters, not a link."""
    return MARKDOWN_SPECIALS.sub(r"\\\1", text)


def description_text(payload: dict[str, Any], escape: Callable[[str], str] = lambda line: line) -> str:
    """The description lines (each through ``escape``, for a platform that reads Markdown), then
    the key line (how Trello and Asana find the item again)."""
    text = "\n".join(escape(line) for line in payload["description"])
    return f"{text[:DESCRIPTION_LIMIT]}\n\n{KEY_LINE}{payload['item_key']}"


def has_key_line(text: str | None, key: str, prefix: str = KEY_LINE) -> bool:
    """Whether a description (or a comment) holds ``key`` on a line of its own, after ``prefix``."""
    return any(line.strip() == f"{prefix}{key}" for line in (text or "").splitlines())


def payload_text(payload: dict[str, Any], key: str, **values: Any) -> str:
    """Catalogue message ``key`` in the language of the payload's alert (English for a message
    queued before payloads said theirs): ``Résolu : …``, ``échéance le 2026-11-18``."""
    from cmflow.builtin.reports.language import language

    return language(payload.get("language") or "en").text(key, **values)


def due_date(payload: dict[str, Any]) -> str | None:
    """The due date (``2026-11-25``) of a payload's due instant, the workflow's local day, if it has one."""
    return payload["due"][:10] if payload.get("due") else None


def delivery_failure(receiver: str, exc: "PlatformError", now: datetime) -> DeliveryFailed:
    """What an API error means for the outbox: try again later (timeouts, 429, 5xx, an unreadable
    answer: the lookup makes the retry safe), or never (a refused token, a missing permission, a
    refused request), with the platform's own words and what to do."""
    from cmflow.http import BadResponse, PlatformUnavailable, RateLimited

    retryable = isinstance(exc, (PlatformUnavailable, RateLimited, BadResponse))
    retry_after = None
    if isinstance(exc, RateLimited) and exc.retry_at is not None:
        retry_after = max(0.0, (exc.retry_at - now).total_seconds())
    from cmflow.http import RequestRejected

    hint = exc.hint or ("Check the ids and names in this output's options" if isinstance(exc, RequestRejected) else "")
    text = exc.message.replace(" (tried 1 times)", "") + (f". {hint}" if hint else "")
    return DeliveryFailed(f"{receiver}: {text}", retryable=retryable, retry_after=retry_after)


def secret_value(secret: Any) -> str:
    """A SecretStr option's value, registered with the redactor (options built in Python too)."""
    value = secret.get_secret_value()
    mark_secret(value)
    return value
