"""The ``webhook`` output: alert notifications POSTed as JSON to any URL.

What it shares with the chat outputs (the URL option, the sending, the answers) is in
:mod:`.webhook_notifier`.
"""


from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import Field, field_validator

from cmflow import Message, UserFacingError, hookimpl
from cmflow.builtin.outputs.message_text import clean_text
from cmflow.builtin.outputs.webhook_notifier import WebhookNotifier, WebhookTargetOptions, batch_document

if TYPE_CHECKING:
    from cmflow import DeliveryContext, NotificationBatch


# -- the generic webhook -----------------------------------------------------------------------
RESERVED_HEADERS = frozenset({"host", "content-length", "content-type", "transfer-encoding",
                              "connection", "idempotency-key"})


class WebhookOptions(WebhookTargetOptions):
    headers: dict[str, str] = Field(
        default_factory=dict, description="Extra HTTP headers of the POST (e.g. an API version). "
        "A value that is a credential must come from ${env:NAME} (then it is redacted like every "
        "secret). Content-Type and Idempotency-Key are set by cmflow.",
        examples=[{"X-Source": "cmflow"}])
    body_template: str | None = Field(
        None, description="The JSON body, as a Jinja template: inline (text starting with { or [) "
        "or the path of a template file relative to the workflow file. Every {{ expression }} is "
        "written as JSON (a string comes out quoted and escaped), so alert text cannot break the "
        "body. Default: cmflow's batch document (see docs/outputs/webhooks.md).",
        examples=['{"text": {{ title }}, "alerts": {{ alerts | length }}, "key": {{ key }}}'])

    @field_validator("headers")
    @classmethod
    def _no_reserved_headers(cls, value: dict[str, str]) -> dict[str, str]:
        for name, header_value in value.items():
            if name.lower() in RESERVED_HEADERS:
                raise ValueError(f"header {name!r} is set by cmflow")
            if not re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+", name):
                raise ValueError(f"{name!r} is not a valid header name")
            if any(c in header_value for c in "\r\n\0"):
                raise ValueError(f"the value of header {name!r} has a line break")
        return value


class Webhook(WebhookNotifier):
    """POSTs each message as JSON to any URL: by default cmflow's batch document (workflow,
    period, group, alerts with fingerprint, event, severity, summary, value and dimensions,
    and the idempotency key), or the body a Jinja template builds from it.

    Every request carries an ``Idempotency-Key`` header; 429, 5xx and timeouts are retried
    through the outbox, other 4xx answers are dead-lettered.
    """

    name = "webhook"
    description = "POST alert notifications as JSON (cmflow's document or your template) to a URL."
    Options = WebhookOptions
    receiver = "webhook"

    def check(self, workflow: Any) -> list[str | tuple[str, str]]:
        problems = super().check(workflow)
        options: WebhookOptions = self.options
        if options.body_template is not None:
            try:
                source = template_source(options.body_template, workflow.directory)
            except UserFacingError as exc:  # a missing file, a folder, text that is not UTF-8
                problems.append(("body_template", f"cannot read the template file {exc}"))
            else:
                inline = source is options.body_template
                where = "the template" if inline else f"the template file {options.body_template}"
                problem = template_problem(source, where, options.group_by)
                if problem:
                    problems.append(("body_template", problem))
        return problems

    def compose(self, batch: NotificationBatch, ctx: DeliveryContext) -> Message:
        options: WebhookOptions = self.options
        document = batch_document(batch)
        if options.body_template is None:
            body: Any = document
        else:
            body = render_json_template(template_source(options.body_template, ctx.workflow_dir), document)
        return Message(summary=f"webhook: {clean_text(batch.title, 200)}", payload={"body": body},
                       key=batch.key)

    def headers(self, message: Message) -> dict[str, str]:
        options: WebhookOptions = self.options
        return {**options.headers, **super().headers(message)}


def template_source(value: str, directory: Path) -> str:
    """An inline template (starts with ``{`` or ``[``), or the file it names."""
    if value.lstrip().startswith(("{", "[")):
        return value
    from cmflow import read_input_file

    return read_input_file(value, directory)


def sample_document(group_by: list[str]) -> dict[str, Any]:
    """A batch document of one firing alert, every key filled: what a template is tried on at
    validate, so an unknown variable or a body that is not JSON is found before any alert."""
    dimensions = {"platform": "instagram", "account": "maisonlumiere"}
    return {
        "key": "0123456789abcdef", "workflow": "Weekly KPIs", "workflow_id": "weekly-kpis",
        "period": {"start": "2026-11-16", "end": "2026-11-22", "timezone": "UTC"},
        "group": {name: dimensions.get(name, name) for name in group_by},
        "title": "Weekly KPIs: 1 alert firing (2026-11-16..2026-11-22)",
        "counts": {"firing": 1, "resolved": 0},
        "alerts": [{"fingerprint": "3f9c2a1b7d4e5f60", "event": "firing", "state": "firing",
                    "rule": "err_low", "metric": "engagement_rate_by_reach", "severity": "warning",
                    "summary": "ERR (reach) is 1.80% for instagram / maisonlumiere, below 2.00%",
                    "value": 1.8, "unit": "%", "dimensions": dimensions, "condition": "value",
                    "active_since": "2026-11-24T09:00:00+00:00"}],
    }


def template_problem(source: str, where: str, group_by: list[str]) -> str | None:
    """What is wrong with a body template, said with its line: a syntax error, a variable the
    batch document does not have, or a body that is not JSON once rendered."""
    from jinja2 import TemplateSyntaxError, meta

    from cmflow import closest

    try:
        parsed = template_environment().parse(source)
    except TemplateSyntaxError as exc:
        return f"template syntax error on line {exc.lineno} of {where}: {exc.message}"
    document = sample_document(group_by)
    known = [*document, "batch"]
    for name in sorted(meta.find_undeclared_variables(parsed) - set(known)):
        suggestion = closest(name, known)
        line = next((i for i, text in enumerate(source.splitlines(), 1) if name in text), None)
        return (f"{where} uses {name!r}{f' (line {line})' if line else ''}, which a message does not "
                f"have; " + (f"did you mean {suggestion!r}? " if suggestion else "")
                + f"Variables: {', '.join(known)}")
    try:
        render_json_template(source, document)
    except ValueError as exc:
        return f"{exc} (tried on a sample alert)"
    return None


def template_environment() -> Any:
    """A sandboxed Jinja environment whose every ``{{ expression }}`` is written as JSON."""
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment
    from markupsafe import Markup

    def as_json(value: Any) -> Any:
        if isinstance(value, Markup):  # already JSON: the output of | tojson
            return value
        return json.dumps(value, ensure_ascii=False, default=str)

    return SandboxedEnvironment(autoescape=False, undefined=StrictUndefined, finalize=as_json,
                                keep_trailing_newline=True)


def render_json_template(source: str, document: dict[str, Any]) -> Any:
    """Render a body template with the batch document's keys (and ``batch``, all of it)."""
    from jinja2 import TemplateError, UndefinedError

    try:
        text = template_environment().from_string(source).render(**document, batch=document)
    except UndefinedError as exc:  # "'dict object' has no attribute 'sumary'" says it all
        raise ValueError(f"the webhook body template failed: {exc}") from None
    except TemplateError as exc:
        raise ValueError(f"the webhook body template failed: {type(exc).__name__}: {exc}") from None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ValueError(f"the webhook body template did not produce JSON ({exc}); "
                         f"write values as {{{{ name }}}}, without quotes around them") from None


@hookimpl
def register_outputs(register):
    register(Webhook)
