"""What every webhook-style notifier shares (the generic ``webhook`` output and the chat outputs).

Every webhook-style notifier (``webhook``, and the chat outputs ``slack``, ``teams`` and
``discord``, one module each) POSTs one JSON body per message through the HTTP kit, one attempt
per call (the outbox retries), and tells the outbox what the answer means: 2xx delivered; 429,
5xx, timeouts and refused connections worth another try (after ``Retry-After`` when given); any
other 4xx a message that will never be taken, dead-lettered with the receiver's own words.

Webhook URLs are secrets (whoever holds one can post): they come from ``${env:NAME}``, are
registered with the redactor, are read from the options only when sending, and never appear in
a message, a summary, an error or a log line. By default a URL whose host is (or resolves to) a
private, loopback, link-local, unique-local, multicast or metadata address is refused by the HTTP
kit's network guard (:mod:`cmflow.http.guard`, on the address actually connected to), so a
workflow cannot be used to reach services inside the network cmflow runs in.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import ConfigDict, Field, SecretStr, field_validator

from cmflow import DeliveryFailed, Message, Notifier, NotifierOptions, Number, WholeNumber, format_value
from cmflow.builtin.outputs.message_text import ITEMS_SHOWN, clean_text, listed_items
from cmflow.http import allow_private_network_option, host_problem

if TYPE_CHECKING:
    import httpx

    from cmflow import DeliveryContext, NotificationBatch, SendContext
    from cmflow.http import ApiResponse, Platform, PlatformError


# -- options -----------------------------------------------------------------------------------
def webhook_url_field(what: str, variable: str) -> Any:
    """The ``url`` option, described for one receiver."""
    return Field(description=f"{what}. It is a secret (anyone holding it can post): write "
                 f"\"${{env:NAME}}\" and set NAME in the environment or the .env file beside the workflow.",
                 examples=[f"${{env:{variable}}}"])


class WebhookTargetOptions(NotifierOptions):
    """Options every webhook-style notifier has: where to post, and how carefully."""

    model_config = ConfigDict(hide_input_in_errors=True)  # an invalid URL is still a secret

    url: SecretStr = webhook_url_field("The URL to POST to", "WEBHOOK_URL")
    allow_private_network: bool = allow_private_network_option("a URL")
    timeout: Number = Field(
        10.0, gt=0, le=300, description="Seconds to wait for the receiver to accept the "
        "connection, and then for each part of its answer; a timeout is retried later.",
        examples=[30])
    max_concurrency: WholeNumber = Field(
        4, ge=1, le=8, description="Messages sent to the receiver's host at once (outputs posting to "
        "the same host share the smallest value). Messages start oldest first; 1 sends them one "
        "after another, each once the one before it is done.", examples=[1])

    @field_validator("url")
    @classmethod
    def _usable_url(cls, value: SecretStr) -> SecretStr:
        # Messages here never quote the URL: it is a secret.
        text = value.get_secret_value().strip()
        if text.startswith("$") or "{env:" in text.lower():  # a reference the workflow loader reports
            raise ValueError("is not a URL: its ${env:NAME} reference could not be read")
        remember_secret_url(text)
        url = parse_url(text)
        if url is None:
            raise ValueError("is not a URL (expected https://host/path)")
        if url.scheme not in ("https", "http"):
            raise ValueError(f"must be an https:// URL, not {url.scheme or 'a relative'}://")
        if not url.host:
            raise ValueError("has no host name")
        return SecretStr(text)


def parse_url(text: str) -> "httpx.URL | None":
    import httpx

    try:
        return httpx.URL(text)
    except (httpx.InvalidURL, TypeError, ValueError):
        return None


def remember_secret_url(text: str) -> None:
    """Tell the redactor about a webhook URL, in every form it may be printed in.

    Values read through ``${env:NAME}`` are known already; options built in Python (tests, the
    library API) and the forms the HTTP kit prints (normalised, with the path alone) are not.
    """
    from cmflow import mark_secret

    mark_secret(text)
    url = parse_url(text)
    if url is not None:
        mark_secret(str(url))
        path_and_query = url.raw_path.decode("ascii", errors="replace")
        if len(path_and_query) >= 16:  # a short path such as /hook is no secret, and is common
            mark_secret(path_and_query)


# -- what every message shows ------------------------------------------------------------------
SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}


@dataclass(frozen=True)
class AlertLine:
    """One alert event as webhook and chat messages show it: clean text, not yet escaped."""

    event: str
    """firing, repeat (a reminder) or resolved."""
    reminder: int
    severity: str
    summary: str
    value: float | None
    unit: str
    value_text: str
    """The value formatted as every output shows it (``3.49%``, ``8,932``), ``–`` without one."""
    dimensions: dict[str, str]
    rule: str
    metric: str
    fingerprint: str
    condition: str
    state: str
    active_since: str | None
    items: tuple[str, ...] = ()
    """The first records behind it (an escalation's unanswered messages, a bad buzz's negative
    mentions) as clean lines (:func:`~.message_text.listed_items`), not yet escaped."""
    more_items: int = 0
    """How many more records are behind it than :attr:`items` lists."""
    more_text: str = ""
    """``…and 21 more``, and ``(26 listed of 28)`` when the records listed are fewer than it counts."""
    listed_items: int = 0
    """How many records are behind it in all: :attr:`items` and :attr:`more_items`."""
    counted_items: int | None = None
    """The alert's value when it counts records (conversations, mentions ...) and the records
    listed are not as many (one the listing cannot tell apart); None when they agree."""
    lang: Any = field(default=None, compare=False, repr=False)
    """The reports' :class:`cmflow.Language` a chat message says the
    alert in (its client's, not English); None: English, as the words below are written."""

    @property
    def event_text(self) -> str:
        """``firing``, ``still firing (reminder 2)``, ``resolved`` (``toujours en cours (rappel 2)`` ...)."""
        if self.lang is not None:
            if self.event == "repeat":
                return (self.lang.text("chat_still_firing_reminder", n=self.reminder) if self.reminder
                        else self.lang.text("chat_still_firing"))
            return self.lang.text("chat_" + self.event) if self.lang.has("chat_" + self.event) else self.event
        if self.event == "repeat":
            return f"still firing (reminder {self.reminder})" if self.reminder else "still firing"
        return self.event

    @property
    def severity_text(self) -> str:
        """``WARNING`` (``À SURVEILLER``): the level a chat message heads the alert with."""
        key = "severity_" + self.severity
        return (self.lang.text(key) if self.lang is not None and self.lang.has(key) else self.severity).upper()

    @property
    def where(self) -> str:
        """``platform: instagram · account: maison`` (empty for an overall series); in its
        language, ``réseau : Instagram · compte : maison``."""
        if self.lang is not None:
            return " · ".join(self.lang.text("chat_dimension", name=self.dimension_name(name).lower(),
                                             value=self.lang.platform(value) if name == "platform" else value)
                              for name, value in self.dimensions.items())
        return " · ".join(f"{name}: {value}" for name, value in self.dimensions.items())

    def dimension_name(self, name: str) -> str:
        """A dimension's name in the line's language (``Réseau``, ``Titre``:
        :func:`~.alert_language.dimension_label`); as written in English."""
        from cmflow.builtin.outputs.alert_language import dimension_label

        return dimension_label(name, self.lang) if self.lang is not None else name


def alert_lines(batch: NotificationBatch, told: bool = False) -> list[AlertLine]:
    """The batch's alert events, most urgent first: firing by severity, then resolved. ``told``:
    each summary in its alert's client's language (:func:`~.alert_language.client_summary`: the
    chat outputs), else as the trigger wrote it (the webhook's JSON)."""
    from cmflow.builtin.outputs.alert_language import (DEFAULT_LANGUAGE, alert_language, campaign_clients,
                                                       campaign_words, shown_dimensions, told_summary)

    def shown(alert: Any) -> list[str]:  # a told line leaves out a titled planned item's id, as its task does
        return shown_dimensions(alert.dimensions)


    units = batch.result.workflow.measurement_names()
    campaigns = campaign_clients(batch.result) if told else {}
    # a told line names a client and a campaign as its reports do (``Maison Lumière``), the JSON by their ids
    client_names = {c.id: c.name for c in getattr(batch.result.workflow, "clients", None) or ()} if told else {}
    lines = []
    for notification in batch.notifications:
        alert = notification.alert
        unit = str(alert.details.get("unit") or units.get(alert.metric, ""))
        lang = alert_language(alert, batch.result.workflow, campaigns) if told else None
        summary = told_summary(alert, lang, batch.result.workflow, unit) if lang is not None else alert.summary
        if lang is not None and lang.code == DEFAULT_LANGUAGE:
            lang = None  # English: the words as written
        value = alert.value if alert.value is not None and math.isfinite(alert.value) else None
        listed = listed_items(batch.result, notification, batch.result.period.tz)
        lines.append(AlertLine(
            event=notification.event, reminder=notification.reminder,
            severity=str(alert.severity), summary=clean_text(summary), value=value, unit=unit,
            value_text=lang.value(value, unit) if lang is not None else format_value(value, unit),
            dimensions={clean_text(k): clean_text(client_names.get(v, v) if k == "client" else
                                                  campaign_words(v, batch.result.workflow) if told and k == "campaign"
                                                  else v)
                        for k, v in alert.dimensions.items() if v is not None and (not told or k in shown(alert))},
            rule=alert.rule, metric=alert.metric, fingerprint=alert.fingerprint,
            condition=str(alert.condition), state=str(alert.state),
            active_since=alert.active_since.isoformat() if alert.active_since else None,
            items=listed.lines, more_items=listed.more, more_text=listed.more_text,
            listed_items=len(listed.texts) + listed.more, counted_items=listed.counted, lang=lang))
    return sorted(lines, key=lambda line: (line.event == "resolved", SEVERITY_ORDER.get(line.severity, 3)))


def _items_document(result: Any, line: AlertLine) -> list[dict[str, Any]]:
    """The first records behind an alert as JSON: ``at`` (ISO 8601, UTC), ``author``,
    ``platform``, ``text`` (clean, cut), ``url`` (http(s) only)."""
    from cmflow.builtin.reports.html import safe_url

    if not line.items:
        return []
    return [{"at": item.at.isoformat() if item.at else None, "author": item.author, "platform": item.platform,
             "text": clean_text(item.text, 500) if item.text else None, "url": safe_url(item.url)}
            for item in result.alert_items.get(line.fingerprint, ())[:ITEMS_SHOWN]]


def batch_document(batch: NotificationBatch) -> dict[str, Any]:
    """The batch as JSON data: the ``webhook`` output's default body, and what its templates see."""
    result = batch.result
    lines = alert_lines(batch)
    return {
        "key": batch.key,
        "workflow": result.workflow.name,
        "workflow_id": result.workflow.key,
        "period": {"start": result.period.start.isoformat(), "end": result.period.end.isoformat(),
                   "timezone": result.period.tz} if batch.period else None,
        "group": dict(batch.group),
        "title": clean_text(batch.title),
        "counts": {"firing": sum(1 for line in lines if line.event != "resolved"),
                   "resolved": sum(1 for line in lines if line.event == "resolved")},
        "alerts": [{
            "fingerprint": line.fingerprint, "event": line.event, "state": line.state,
            "rule": line.rule, "metric": line.metric, "severity": line.severity,
            "summary": line.summary, "value": line.value, "unit": line.unit,
            "dimensions": line.dimensions, "condition": line.condition,
            "active_since": line.active_since,
            "items": _items_document(result, line), "more_items": line.more_items,
            "listed_items": line.listed_items, "counted_items": line.counted_items,
        } for line in lines],
    }


# -- sending -----------------------------------------------------------------------------------
def read_every_answer(platform: "Platform", answer: "ApiResponse") -> Any:
    """A platform rule that hands every answer back: webhook notifiers judge answers themselves,
    since the outbox needs :class:`DeliveryFailed` (retryable or not), not a platform error."""
    from cmflow.http import RetryDecision

    return RetryDecision("ok")


CHAT_SERVICE_HOSTS: dict[str, tuple[str, str]] = {
    "hooks.slack.com": ("Slack", "slack"), "discord.com": ("Discord", "discord"),
    "discordapp.com": ("Discord", "discord"), "logic.azure.com": ("Teams", "teams"),
    "powerplatform.com": ("Teams", "teams"),
}
"""Where each chat service's incoming-webhook URLs live (host suffix → service, plugin): each
expects its own message format, so a URL of one given to another output would only be refused."""


def chat_service_of(host: str) -> tuple[str, str] | None:
    """(service, plugin) of a chat service's webhook host, or None."""
    host = host.lower().rstrip(".")
    return next((service for suffix, service in CHAT_SERVICE_HOSTS.items()
                 if host == suffix or host.endswith("." + suffix)), None)


class WebhookNotifier(Notifier):
    """What every webhook-style notifier shares: the URL guard, one POST, the answer's meaning.

    A subclass says who the receiver is (:attr:`receiver`), composes the JSON body into
    ``message.payload["body"]``, and may read its receiver's answers more closely
    (:meth:`retry_after`, :meth:`explain`, :meth:`delivered`).
    """

    Options: ClassVar[type[WebhookTargetOptions]] = WebhookTargetOptions
    receiver: ClassVar[str] = "webhook"
    """Who receives the messages, as error messages name it (``Slack``)."""
    query: ClassVar[dict[str, str]] = {}
    """Query parameters added to the URL when sending (Discord's ``wait=true``)."""

    def check(self, workflow: Any) -> list[str | tuple[str, str]]:
        options: WebhookTargetOptions = self.options
        url = parse_url(options.url.get_secret_value())
        if url is None or options.allow_private_network:
            return []
        service = chat_service_of(url.host)
        if service and service[1] != self.name and not getattr(options, "body_template", None):
            return [("url", f"this is a {service[0]} webhook URL, and {service[0]} expects its own "
                            f"message format: use plugin = \"{service[1]}\""
                            + (" (or write a body_template)" if self.name == "webhook" else ""))]
        problem = host_problem(url.host)
        if problem:
            return [("url", f"{problem}: cmflow refuses to connect to it, and refuses private network "
                            f"targets unless the output sets allow_private_network = true")]
        if url.scheme == "http":
            return [("url", "a plain http:// URL would send the webhook's secret unencrypted over the "
                            "internet: use https://, or set allow_private_network = true for a "
                            "receiver on your own network")]
        return []

    def lane(self) -> tuple[str, int]:
        """One lane per receiver host: a batch goes out ``max_concurrency`` messages at a time."""
        options: WebhookTargetOptions = self.options
        url = parse_url(options.url.get_secret_value())
        if url is None:
            return super().lane()
        return f"http:{receiver_origin(url)}", options.max_concurrency

    def headers(self, message: Message) -> dict[str, str]:
        """Headers of the POST; the idempotency key lets receivers drop a retried duplicate."""
        return {"Idempotency-Key": message.key} if message.key else {}

    def send(self, message: Message, ctx: SendContext) -> str | None:
        options: WebhookTargetOptions = self.options
        secret_url = options.url.get_secret_value()
        remember_secret_url(secret_url)
        url = parse_url(secret_url)
        if url is None:  # options built without validation (model_construct)
            raise DeliveryFailed(f"{self.receiver}: the webhook URL is not a URL", retryable=False)
        target = f"{self.receiver} ({url.host})"
        from cmflow.http import AddressNotAllowed, BudgetLimits, PlatformError

        # One request budget per receiver host (whichever output posts there): a wait it asks
        # for holds every message to it.
        session = ctx.http.session(self.platform(url), base_url=f"{url.scheme}://{url.netloc.decode('ascii')}",
                                   budget=BudgetLimits(max_concurrency=options.max_concurrency),
                                   allow_private_network=options.allow_private_network)
        try:
            answer = session.request("POST", str(url), params=self.query or None, json=message.payload["body"],
                                     headers=self.headers(message), timeout=options.timeout)
        except AddressNotAllowed as exc:
            raise DeliveryFailed(f"{self.receiver}: {exc.message}. If the receiver is on your own network, "
                                 f"set allow_private_network = true on this output", retryable=False) from None
        except PlatformError as exc:
            if exc.status is not None and 200 <= exc.status < 300:
                # Taken (2xx), but the answer could not be read (too large): do not send it twice.
                return f"delivered to {target} (HTTP {exc.status}; its answer was not read)"
            raise self._not_sent(exc, target, url, session.client.clock()) from None
        try:
            return self._judge(answer, target, url)
        except DeliveryFailed as failed:
            if failed.retryable and failed.retry_after:
                session.budget.hold(answer.now + failed.retry_after, f"{target} asked to wait")
            raise

    @classmethod
    def platform(cls, url: "httpx.URL") -> "Platform":
        """The HTTP kit's rules for this receiver's host: every answer comes back to :meth:`send`."""
        from cmflow.http import Platform

        return Platform(f"webhook {receiver_origin(url)}", f"{cls.receiver} webhook",
                        classify=read_every_answer,
                        renew_hint="Create a new webhook and update the environment variable.")

    # -- reading the answer -------------------------------------------------------------------
    def retry_after(self, answer: "ApiResponse") -> float | None:
        """Seconds the receiver asks to wait (``Retry-After``: seconds or an HTTP date)."""
        from cmflow.http import retry_after

        return retry_after(answer.headers, answer.now)

    def explain(self, answer: "ApiResponse", text: str) -> str:
        """A hint for a refused message, from the receiver's answer ``text``; empty if none."""
        return ""

    def delivered(self, answer: "ApiResponse", target: str) -> str:
        """The note for the run summary once the receiver took the message."""
        return f"delivered to {target} (HTTP {answer.status})"

    def _judge(self, answer: "ApiResponse", target: str, url: "httpx.URL") -> str:
        status = answer.status
        if 200 <= status < 300:
            return self.delivered(answer, target)
        text = answer_text(answer, url)
        said = f"HTTP {status}" + (f": {text}" if text else "")
        if status == 429:
            wait = self.retry_after(answer)
            raise DeliveryFailed(f"{target} is rate-limiting ({said})", retryable=True, retry_after=wait)
        if status in (408, 425) or (status >= 500 and status != 501):
            raise DeliveryFailed(f"{target} failed to take the message ({said})", retryable=True,
                                 retry_after=self.retry_after(answer))
        if 300 <= status < 400:
            raise DeliveryFailed(f"{target} answered with a redirect ({said}): cmflow does not follow "
                                 "redirects for webhooks; set the URL to the final address", retryable=False)
        hint = self.explain(answer, text)
        raise DeliveryFailed(f"{target} refused the message ({said})" + (f". {hint}" if hint else ""),
                             retryable=False)

    def _not_sent(self, exc: "PlatformError", target: str, url: "httpx.URL", now: float) -> DeliveryFailed:
        """No usable answer: a timeout or a refused connection is worth another try, and so is a
        message held back by the receiver's wait (asked for by an answer to another message)."""
        from cmflow.http import BadResponse, PlatformUnavailable, RateLimited

        reason = re.sub(r"^[A-Z]+ \S+\s*", "", scrub(exc.message, url)).replace(" (tried 1 times)", "")
        retryable = isinstance(exc, (PlatformUnavailable, RateLimited, BadResponse))
        retry_at = exc.retry_at if isinstance(exc, RateLimited) else None
        wait = max(0.0, retry_at.timestamp() - now) if retry_at is not None else None
        return DeliveryFailed(f"{target} could not be reached: {reason}", retryable=retryable, retry_after=wait)


def receiver_origin(url: "httpx.URL") -> str:
    """``https://hooks.slack.com:443``: the receiver's host, no secret path."""
    return f"{url.scheme}://{url.host}:{url.port or (443 if url.scheme == 'https' else 80)}"


def answer_text(answer: "ApiResponse", url: "httpx.URL", limit: int = 200) -> str:
    """The receiver's own words: the message of a JSON error, else the first bytes; redacted."""
    from cmflow.http import error_message

    text = error_message(answer.json) if answer.is_json else ""
    if not text:
        text = answer.excerpt(limit)
    return clean_text(scrub(text, url), limit)


def scrub(text: str, url: "httpx.URL") -> str:
    """``text`` with the webhook URL (every form of it) and every known secret masked."""
    from cmflow.http import redact

    for form in sorted({str(url), url.raw_path.decode("ascii", errors="replace"),
                        str(url.copy_with(query=None))}, key=len, reverse=True):
        if len(form) > 1:
            text = text.replace(form, "***")
    return redact(text)
