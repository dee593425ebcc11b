"""The ``email`` output: alert notifications and reports by e-mail, over SMTP or to .eml files.

A notifier: cmflow asks it to compose one message per group of alert events (or per run, for a
report sent ``when = "always"``), keeps the message in the outbox and sends it until the
server takes it. The message is built by the standard library's :class:`EmailMessage`, whose
header registry refuses CR/LF in any header: text from the public (an alert summary quoting a
comment, an account name) can never add a header or a recipient.
"""

from __future__ import annotations

import functools
import re
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Literal, Union

from pydantic import Field, SecretStr, field_validator, model_validator

from cmflow import (DeliveryFailed, EmailAddress, InvalidOption, Message, Notifier, NotifierOptions, OutputFolder,
                    PositiveDuration, WholeNumber, hookimpl, parse_address)

if TYPE_CHECKING:
    from collections.abc import Iterable
    from email.message import EmailMessage
    from email.policy import EmailPolicy

    from cmflow import Alert, DeliveryContext, Notification, NotificationBatch, RunResult, SendContext

DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "none": 25}
DEFAULT_SUBJECT = "[cmflow] {{ title }}"
SUBJECT_VARIABLES = ("title", "workflow", "period", "firing", "resolved", "severity", "summary", "group")
"""What a subject template may use; docs/outputs/email.md says what each holds."""
MAX_SUBJECT_LENGTH = 250
SEVERITY_RANK = {"critical": 0, "warning": 1, "info": 2}
CONDITION_LABELS = {"no_data": "no data", "error": "source error"}
LINE_BREAKING = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
"""Every control character, newline and tab included: what a one-line text must not hold."""


# A pattern, compiled by re on first use: only a workflow that names a host needs it.
_HOST = (r"^[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?)*\.?$"
         r"|^\[?[0-9A-Fa-f:.]+\]?$")
IMPLICIT_TLS_PORT, SUBMISSION_PORT = 465, 587


class EmailOptions(NotifierOptions):
    to: list[EmailAddress] = Field(
        default_factory=lambda: [], description="Recipients: addresses such as \"ann@example.org\" or "
        "\"Ann Martin <ann@example.org>\". Required, unless `clients` sends each client's report to "
        "the client's `recipients`; then these get every client's report too.",
        examples=[["social-team@example.org"]])
    # A lambda, not list: pydantic reads the factory's signature, and reading a builtin's parses
    # its text signature with tokenize, whose patterns take ~2 ms to compile at start-up.
    cc: list[EmailAddress] = Field(default_factory=lambda: [], description="Copy recipients (Cc), written like `to`.",
                                   examples=[["manager@example.org"]])
    from_address: str = Field(
        description="Sender (From). With Gmail or Office 365, the account you log in with or an "
        "alias it may send as.", examples=["cmflow <reports@example.org>"])
    reply_to: str | None = Field(None, description="Where replies go (Reply-To), if not to the sender.",
                                 examples=["social-team@example.org"])
    subject: str = Field(
        DEFAULT_SUBJECT, description="Subject line, a Jinja2 template with "
        + ", ".join(f"{{{{ {name} }}}}" for name in SUBJECT_VARIABLES)
        + " (see docs/outputs/email.md). Line breaks are removed.",
        examples=["[{{ severity or 'report' }}] {{ workflow }}: {{ summary or title }}"])
    transport: Literal["smtp", "file"] = Field(
        "smtp", description="smtp: send through an SMTP server; file: write each message to an "
        ".eml file in `directory`, which a mail client opens (to try things out, or for another "
        "tool to pick up).")
    host: str = Field("localhost", description="SMTP server name (smtp transport).",
                      examples=["smtp.gmail.com"])
    port: WholeNumber | None = Field(None, ge=1, le=65535, description="SMTP server port. Default: 587 "
                                     "for starttls, 465 for ssl, 25 for none.", examples=[587])
    security: Literal["starttls", "ssl", "none"] = Field(
        "starttls", description="starttls: a plain connection upgraded to TLS (usually port 587); "
        "ssl: TLS from the start (port 465); none: no encryption, for a relay on this machine or "
        "a local test server.")
    username: str | None = Field(None, description="Login name, if the server wants one (often "
                                 "the full address).", examples=["reports@example.org"])
    password: SecretStr | None = Field(
        None, description="Password (for Gmail, an app password). Write "
        "password = \"${env:SMTP_PASSWORD}\" and set SMTP_PASSWORD in the environment or .env.")
    ca_file: str | None = Field(
        None, description="PEM file of the certificate authorities to trust instead of the "
        "system's, for a server with a private certificate; relative to the workflow file.",
        examples=["certs/company-ca.pem"])
    timeout: PositiveDuration = Field(
        timedelta(seconds=30), description="How long to wait for the server to accept the "
        "connection and to answer each command, e.g. \"30s\".", examples=["1m"])
    directory: OutputFolder = Field(
        "mail", description="Folder the .eml files go to (file transport), relative to the "
        "current directory (without ..) or absolute: one file per message, named after its key.",
        examples=["outbox/mail"])
    report: Literal["attach", "inline", "none"] = Field(
        "attach", description="The HTML report, as `html_report` renders it: attach: attached as "
        "report.html; inline: it is the message's HTML part; none: not sent. (Alert messages; a "
        "client's report e-mail attaches the formats in `attach`.)")
    clients: Union[Literal["each", "none"], list[str]] = Field(
        "none", description="each: one message per client of the workflow's [[clients]], with the "
        "client's report, in the client's language, to the client's `recipients` (and `to`, `cc`); "
        "a list of client ids: those clients only; none: the alert messages described above.",
        examples=["each", ["maison-lumiere"]])
    client_recipients: bool = Field(
        True, description="Send each client's report to the client's `recipients`; false: only to "
        "`to` and `cc` (to check the reports before the clients get them).")
    attach: list[Literal["pdf", "html", "xlsx", "csv", "json"]] = Field(
        ["pdf"], description="Formats of the report attached to a client's message, named like "
        "\"Maison Lumière - rapport réseaux sociaux - 16–22 nov. 2026.pdf\"; [] attaches none.",
        examples=[["pdf", "xlsx"]])
    incomplete: Literal["hold", "send"] = Field(
        "hold", description="A client's report the run could not complete (a source failed): hold: "
        "not sent (the alert e-mail says what failed; the next complete run of the period sends the "
        "report); send: sent, its subject and attachments marked incomplete.")
    send_once: bool = Field(
        True, description="Send each client's report once per period: a re-run of a period already "
        "sent (after a crash, by hand, or by a second scheduler) sends it again only if the report "
        "sent was incomplete and this one is complete (`cmflow resend` sends it again on purpose). "
        "false: every run sends it.")
    report_output: str | None = Field(
        None, description="The id of a `report` output whose settings (audience, title, headline "
        "metrics, commentary, templates, language) the clients' messages and attachments follow, so "
        "that the attachment is the report that output writes. Default: a client report with the "
        "`report` output's defaults.", examples=["client_reports"])

    @field_validator("from_address", "reply_to")
    @classmethod
    def _check_address(cls, value: str | None) -> str | None:
        return None if value is None else str(parse_address(value))

    @field_validator("subject")
    @classmethod
    def _check_subject(cls, value: str) -> str:
        from jinja2 import TemplateSyntaxError, meta

        try:
            parsed = _subject_environment().parse(value)
        except TemplateSyntaxError as exc:
            raise ValueError(f"the subject is not a valid template: {exc.message}") from None
        unknown = sorted(meta.find_undeclared_variables(parsed) - set(SUBJECT_VARIABLES))
        if unknown:
            raise ValueError(f"the subject uses {', '.join(unknown)}, which the subject does not "
                             f"know; known: {', '.join(SUBJECT_VARIABLES)}")
        return value

    @field_validator("host")
    @classmethod
    def _check_host(cls, value: str) -> str:
        value = value.strip()
        if "://" in value or "/" in value:
            raise ValueError(f"{value!r} is not a server name: write the name alone, e.g. "
                             "\"smtp.gmail.com\" (the port goes in `port`)")
        name, colon, port = value.rpartition(":")
        if colon and port.isdigit() and re.match(_HOST, name) and value.count(":") == 1:
            raise ValueError(f"{value!r}: write the port in `port` (port = {port}) and the "
                             f"server name alone (host = \"{name}\")")
        if not re.match(_HOST, value):
            raise ValueError(f"{value!r} is not a server name, e.g. \"smtp.gmail.com\"")
        return value

    @model_validator(mode="after")
    def _check_port_security(self) -> "EmailOptions":
        """The two well-known ports speak one way each: the other way waits for a timeout."""
        if self.transport != "smtp":
            return self
        if self.port == IMPLICIT_TLS_PORT and self.security == "starttls":
            raise InvalidOption("security", "port 465 speaks TLS from the start: set "
                                "security = \"ssl\" (or use port 587 with starttls)")
        if self.port == SUBMISSION_PORT and self.security == "ssl":
            raise InvalidOption("security", "port 587 starts in plain text and upgrades with "
                                "STARTTLS: set security = \"starttls\" (or use port 465 with ssl)")
        return self

    @model_validator(mode="after")
    def _check_recipients(self) -> "EmailOptions":
        if self.clients == "none" and not self.to:
            raise InvalidOption("to", "no recipient: give at least one address, e.g. "
                                "to = [\"social-team@example.org\"]")
        if self.clients != "none" and not self.client_recipients and not self.to:
            raise InvalidOption("to", "client_recipients = false sends the clients' reports only to `to`, "
                                "which is empty: give at least one address")
        if self.clients != "none" and self.group_by != ["workflow"]:
            raise InvalidOption("group_by", "a client's report goes out as one message per client and run: "
                                "remove group_by (it groups alert messages)")
        return self

    @model_validator(mode="after")
    def _check_login(self) -> "EmailOptions":
        if self.password is not None and not self.username:
            raise InvalidOption("username", "a password is set but no username: set username too")
        if self.username and self.password is None:
            raise InvalidOption("password", "a username is set but no password: write "
                             "password = \"${env:SMTP_PASSWORD}\" and set SMTP_PASSWORD")
        if self.transport == "smtp" and self.username and self.security == "none" \
                and not _is_loopback(self.host):
            raise InvalidOption("security", f"security = \"none\" would send the password to {self.host} "
                             "unencrypted: use \"starttls\" (port 587) or \"ssl\" (port 465)")
        return self


class Email(Notifier):
    """Sends each notification (alerts that started firing, are still firing and due a
    reminder, or resolved) as one e-mail: a plain-text and an HTML part listing the alerts
    with severity, value and where, the headline KPIs, and the HTML report attached or inline.
    With ``when = "always"`` and no alert event, the message is the run's report.

    With ``clients``, one message per client instead: the client's report in the client's
    language, to the client's recipients: the headline KPIs with their changes, the objectives'
    decisions and the alerts inline, a chart as a PNG image, and the report attached (PDF,
    XLSX ...) under a name that says whose and which period it is.

    Over SMTP (STARTTLS, SSL or plain, with login) or to .eml files that a mail client opens.
    Headers are built by Python's email package, which refuses CR/LF in them; text from the
    public is escaped in the HTML part. The Message-ID comes from the message's idempotency
    key, so a resent message is recognised as the same one. The password is read from the
    environment when the message is sent: the outbox never holds it.
    """

    name = "email"
    description = "Send alerts and reports by e-mail (SMTP with STARTTLS/SSL, or .eml files)."
    Options = EmailOptions

    def history_needed(self) -> int:
        """The earlier periods a client's report (its trend chart) shows; none for alert messages."""
        from cmflow.builtin.outputs.report_options import ReportOptions

        if self.options.clients == "none":
            return 0
        return max(ReportOptions().trend_periods - 1, 0)

    def check(self, workflow) -> list[tuple[str, str]]:
        options: EmailOptions = self.options
        if options.clients == "none":
            return []
        clients = list(getattr(workflow, "clients", []))
        known = [client.id for client in clients]
        problems: list[tuple[str, str]] = []
        if not clients:
            problems.append(("clients", "the workflow declares no [[clients]]: add them "
                             "(docs/workflow-file.md#clients), or remove `clients`"))
        if isinstance(options.clients, list):
            for index, client in enumerate(options.clients):
                if client not in known:
                    problems.append((f"clients[{index}]", f"no client {client!r} in the workflow's [[clients]]"
                                     + (f"; they are {', '.join(known)}" if known else "")))
            clients = [c for c in clients if c.id in options.clients]
        if not options.to:
            for client in clients:
                if options.client_recipients and not client.recipients:
                    problems.append(("to", f"client {client.id!r} has no recipients and `to` is empty: add "
                                     "recipients to the client's [[clients]] entry, or set `to`"))
        if options.report_output is None and clients:  # else the report output checks its own settings
            from cmflow.builtin.outputs.report_options import ReportOptions, client_breakdowns_missing

            problems += client_breakdowns_missing(workflow, ReportOptions())
        if options.report_output is not None:
            reports = [entry.id for entry in workflow.outputs if entry.plugin.name == "report"]
            if options.report_output not in reports:
                problems.append(("report_output", f"no `report` output has id {options.report_output!r}"
                                 + (f"; they are {', '.join(reports)}" if reports else
                                    "; the workflow has none: remove report_output")))
        return problems

    def compose(self, batch: NotificationBatch, ctx: DeliveryContext) -> Message | list[Message]:
        options: EmailOptions = self.options
        if options.clients != "none":
            return self._client_messages(batch, ctx)
        sender = parse_address(options.from_address)
        to = [parse_address(a) for a in options.to]
        cc = [parse_address(a) for a in options.cc]
        mail = self._new_message(render_subject(options.subject, batch), sender, to, cc, batch.result.started_at,
                                 batch.key)
        context = template_context(batch, options.report)
        mail.set_content(_render("email.txt.j2", context, html=False))
        report = render_report_for(batch.result) if options.report != "none" else None
        if options.report == "inline":
            mail.add_alternative(report, subtype="html")
        else:
            mail.add_alternative(_render("email.html.j2", context, html=True), subtype="html")
        if options.report == "attach":
            mail.add_attachment(report, subtype="html", filename="report.html")
        recipients = list(dict.fromkeys(a.addr_spec for a in to + cc))
        payload = {"eml": mail.as_string(), "from": sender.addr_spec, "to": recipients}
        return Message(f"email to {', '.join(recipients)}: {one_line(batch.title)}", payload,
                       key=batch.key)

    def _client_messages(self, batch: NotificationBatch, ctx: DeliveryContext) -> list[Message]:
        """One message per client asked for: the client's report, in the client's language."""
        from pathlib import Path
        from types import SimpleNamespace

        from cmflow.builtin.reports.mailing import (email_chart, email_facts, email_logo, fill_report_email,
                                                    render_attachments)
        from cmflow.builtin.reports.writing import report_scopes, scope_document

        options: EmailOptions = self.options
        result = batch.result
        directory = Path(result.workflow.directory)
        # A client's message never lists the run's warnings (files, keys, other clients' accounts).
        settings = self._report_settings(result.workflow).model_copy(update={"show_warnings": False})
        templates = directory / settings.templates if settings.templates else None
        sender = parse_address(options.from_address)
        messages = []
        for scope in report_scopes(result, SimpleNamespace(clients=options.clients)):
            client = scope.client
            if client is None or (self.entry_id in result.resend and not self._resent(result, client.id)):
                continue  # a resend sends only the clients it names
            to = [parse_address(a) for a in (client.recipients if options.client_recipients else ())] \
                + [parse_address(a) for a in options.to]
            cc = [parse_address(a) for a in options.cc]
            if not to:
                continue  # check() says so when the workflow is read
            document, lang = scope_document(result, settings, scope, directory)
            if not document.complete and options.incomplete == "hold":
                ctx.log.warning("%s: %s's report is incomplete: not sent (incomplete = \"hold\")",
                                self.entry_id, client.id)
                continue
            key = self._client_key(batch, client.id, document.complete)
            resent = self.entry_id in result.resend  # only the clients named are left
            facts = email_facts(document, lang, attached=list(options.attach), sender=sender.display_name,
                                updated=resent)
            mail = self._new_message(facts.subject, sender, to, cc, result.started_at, key)
            if resent and options.send_once:  # a reply to the report sent (its complete one: held ones never go)
                original = message_id(f"{self._once(result.workflow.key, result.period, True)}-{_safe_token(client.id)}")
                mail["In-Reply-To"] = original
                mail["References"] = original
            fill_report_email(mail, facts, chart=email_chart(document, lang), logo=email_logo(client.logo),
                              templates=templates,
                              accent=client.colour or settings.accent_colour,
                              attachments=render_attachments(document, result, scope, lang, settings, directory,
                                                             list(options.attach)))
            recipients = list(dict.fromkeys(a.addr_spec for a in to + cc))
            payload = {"eml": mail.as_string(), "from": sender.addr_spec, "to": recipients}
            messages.append(Message(f"email to {', '.join(recipients)}: {facts.subject}", payload, key=key,
                                    client=client.id))
        return messages

    def _new_message(self, subject: str, sender: Any, to: list, cc: list, date: Any, key: str) -> "EmailMessage":
        """A message with its headers: the alerts' or a client's report's."""
        from email.message import EmailMessage

        mail = EmailMessage(policy=mail_policy())
        mail["Subject"] = subject
        mail["From"] = sender
        mail["To"] = to
        if cc:
            mail["Cc"] = cc
        if self.options.reply_to:
            mail["Reply-To"] = parse_address(self.options.reply_to)
        mail["Date"] = date
        mail["Message-ID"] = message_id(key)
        mail["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to a robot
        return mail

    def _client_key(self, batch: NotificationBatch, client: str, complete: bool) -> str:
        """The idempotency key of a client's message: the run's batch key, or with `send_once`
        the workflow, this output, the period and whether the report is complete, so that the
        outbox, which keeps a key once, never queues a period's report twice."""
        if not self.options.send_once:
            return f"{batch.key}-{_safe_token(client)}"
        once = self._once(batch.result.workflow.key, batch.result.period, complete)
        if self._resent(batch.result, client):  # `cmflow resend`: a key of this run's, sent again
            once += f"-resend{batch.result.run_id if batch.result.run_id is not None else ''}"
        return f"{once}-{_safe_token(client)}"

    def _once(self, workflow_key: str, period: Any, complete: bool) -> str:
        """The part of a `send_once` key that names the workflow, this output, the period and
        whether the report is complete."""
        import hashlib
        import json

        marker = json.dumps([workflow_key, self.entry_id, str(period.start), str(period.end),
                             "complete" if complete else "incomplete"], ensure_ascii=False)
        return hashlib.sha256(marker.encode()).hexdigest()[:32]

    def resent_client(self, key: str, workflow_key: str, period: Any, clients: Iterable[str]) -> str | None:
        """The client among ``clients`` whose report for ``period`` the message of ``key`` sends
        again (a ``cmflow resend``'s), or None: ``cmflow resend`` refuses to queue a second copy
        while one waits in the outbox."""
        for complete in (True, False):
            found = re.fullmatch(re.escape(self._once(workflow_key, period, complete)) + r"-resend\d*-(.+)", key)
            if found:
                return next((c for c in clients if _safe_token(c) == found.group(1)), None)
        return None

    def _resent(self, result: Any, client: str) -> bool:
        """Whether this run sends ``client``'s report again on purpose (``cmflow resend``)."""
        if self.entry_id not in result.resend:
            return False
        clients = result.resend[self.entry_id]
        return clients is None or client in clients

    def _report_settings(self, workflow: Any) -> Any:
        """The options of the `report` output named by `report_output`, else a report's defaults."""
        from cmflow.builtin.outputs.report_options import ReportOptions

        name = self.options.report_output
        entry = next((e for e in workflow.outputs if e.id == name and e.plugin.name == "report"), None)
        return entry.plugin.options if entry is not None else ReportOptions()

    def send(self, message: Message, ctx: SendContext) -> str | None:
        if self.options.transport == "file":
            return self._write_file(message, ctx)
        return self._send_smtp(message, ctx)

    def _write_file(self, message: Message, ctx: SendContext) -> str:
        from pathlib import Path

        options: EmailOptions = self.options
        key = message.key or _key_of(message.payload["eml"])
        path = Path(options.directory).expanduser() / f"{_safe_token(key)}.eml"
        temporary = path.with_name(path.name + ".tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary.write_bytes(message.payload["eml"].encode("utf-8"))
            temporary.replace(path)  # a mail client never opens half a message
        except OSError as exc:
            raise DeliveryFailed(f"could not write {path}: {exc.strerror or exc}",
                                 retryable=not isinstance(exc, PermissionError)) from None
        ctx.log.info("email %s written to %s", key, path)
        return f"wrote {path}"

    def _send_smtp(self, message: Message, ctx: SendContext) -> str:
        import smtplib

        options: EmailOptions = self.options
        port = options.port or DEFAULT_PORTS[options.security]
        where = f"{options.host}:{port}"
        password = options.password.get_secret_value() if options.password else None
        timeout = options.timeout.total_seconds()
        envelope_from, recipients = message.payload["from"], message.payload["to"]
        tls = self._tls_context(ctx) if options.security != "none" else None
        try:
            if options.security == "ssl":
                client = smtplib.SMTP_SSL(options.host, port, timeout=timeout, context=tls)
            else:
                client = smtplib.SMTP(options.host, port, timeout=timeout)
            try:
                if options.security == "starttls":
                    client.starttls(context=tls)
                if options.username:
                    client.login(options.username, password)
                refused = client.sendmail(envelope_from, recipients,
                                          message.payload["eml"].encode("utf-8"))
            finally:
                _hang_up(client)
        except (smtplib.SMTPException, OSError) as exc:
            # from None: the failure says what to fix; the traceback adds nothing for a user.
            raise smtp_failure(exc, where, options, secret=password) from None
        note = f"sent via {where}"
        if refused:
            refusals = "; ".join(f"{address} ({_reply(code, text)})" for address, (code, text)
                                 in refused.items())
            ctx.log.warning("email %s: %s refused some recipients: %s", message.key, where,
                            _scrub(refusals, password))
            note += f", {len(recipients) - len(refused)} of {len(recipients)} recipients accepted"
        ctx.log.info("email %s %s to %d recipient(s)", message.key, note,
                     len(recipients) - len(refused))
        return note

    def _tls_context(self, ctx: SendContext) -> Any:
        import ssl
        from pathlib import Path

        ca_file = self.options.ca_file
        if ca_file is None:
            return ssl.create_default_context()
        path = Path(ca_file).expanduser()
        path = path if path.is_absolute() else ctx.workflow_dir / path
        try:
            return ssl.create_default_context(cafile=str(path))
        except (OSError, ssl.SSLError) as exc:
            problem = "does not exist" if isinstance(exc, FileNotFoundError) else \
                f"is not a PEM file of certificates ({getattr(exc, 'reason', None) or exc})"
            raise DeliveryFailed(f"ca_file {path} {problem}", retryable=False) from None


# -- headers ----------------------------------------------------------------------------------
def mail_policy() -> "EmailPolicy":
    """SMTP line endings, and 7-bit transfer encodings: the message is plain ASCII, which every
    server accepts and the outbox keeps as text."""
    from email.policy import SMTP

    return SMTP.clone(cte_type="7bit")


def message_id(key: str) -> str:
    """``<key@cmflow>``: the same batch is the same message, for the outbox and mail clients."""
    return f"<{_safe_token(key)}@cmflow>"


def render_subject(template: str, batch: NotificationBatch) -> str:
    """The subject on one line: a summary quoting a comment cannot break it into headers."""
    firing = sorted(batch.firing, key=_severity_rank)
    foremost = (firing or batch.resolved or [None])[0]
    text = _subject_environment().from_string(template).render(
        title=batch.title, workflow=batch.result.workflow.name, period=str(batch.period or ""),
        firing=len(batch.firing), resolved=len(batch.resolved),
        severity=firing[0].severity if firing else "",
        summary=foremost.summary if foremost else "", group=dict(batch.group))
    subject = one_line(text)
    if len(subject) > MAX_SUBJECT_LENGTH:
        subject = subject[:MAX_SUBJECT_LENGTH - 1].rstrip() + "…"
    return subject or one_line(batch.title)


def one_line(text: str) -> str:
    """Text with every control character, line breaks included, turned into a space."""
    return " ".join(LINE_BREAKING.sub(" ", text).split())


# -- rendering -------------------------------------------------------------------------------
def template_context(batch: NotificationBatch, report: str) -> dict[str, Any]:
    """What both templates show, as ready strings, so the text and HTML parts agree."""
    from zoneinfo import ZoneInfo

    from cmflow import kpi_tables

    result = batch.result
    zone = ZoneInfo(result.period.tz)
    ordered = sorted(batch.notifications, key=lambda n: (_severity_rank(n.alert), n.alert.summary))
    comparison = result.comparison_periods[0] if result.comparison_periods else None
    period_text = (f"{result.period.start:%a %d %b %Y} – {result.period.end:%a %d %b %Y} "
                   f"({result.period.tz})") if batch.period else ""
    if comparison and period_text:
        period_text += f", changes vs {comparison.start:%d %b} – {comparison.end:%d %b %Y}"
    return {
        "title": batch.title,
        "workflow": result.workflow.name,
        "period": period_text,
        "firing": [_item(n, zone, result) for n in ordered if n.event != "resolved"],
        "resolved": [_item(n, zone, result) for n in ordered if n.event == "resolved"],
        "headline": _headline(kpi_tables(result)),
        "failed_sources": [{"id": s.id, "plugin": s.plugin, "error": s.error or ""}
                           for s in result.failed_sources],
        "report": report,
        "run_id": result.run_id,
    }


def render_report_for(result: "RunResult") -> str:
    """The run's HTML report, exactly as the ``html_report`` output writes it."""
    from cmflow.builtin.outputs.html_page import HtmlReportOptions, render_report

    return render_report(result, HtmlReportOptions())


def _item(notification: "Notification", zone: Any, result: "RunResult") -> dict[str, Any]:
    """One alert of the message: its summary, details as short phrases, and the first records
    behind it (``items``: :class:`~.message_text.ListedItems`)."""
    from cmflow import format_value, metric_label
    from cmflow.builtin.outputs.alert_language import campaign_words, shown_dimensions
    from cmflow.builtin.outputs.message_text import listed_items

    alert = notification.alert
    # a titled planned item without its calendar id, a campaign by its name ([production] campaigns)
    where = ", ".join(f"{name}: {campaign_words(str(value), result.workflow) if name == 'campaign' else value}"
                      for name in shown_dimensions(alert.dimensions)
                      if (value := alert.dimensions[name]) is not None) or "overall"
    since = alert.active_since.astimezone(zone).strftime("%a %d %b %Y %H:%M") \
        if alert.active_since else ""
    notes = []
    if notification.event == "firing":
        notes.append("new")
    elif notification.event == "repeat":
        notes.append(f"still firing, reminder {notification.reminder}" if notification.reminder
                     else "still firing")
    if alert.condition in CONDITION_LABELS:
        notes.append(CONDITION_LABELS[alert.condition])
    value = format_value(alert.value, str(alert.details.get("unit", "")))
    details = [f"{metric_label(alert.metric)}: {value}", where]
    if since and notification.event != "resolved":
        details.append(f"since {since}")
    return {"event": notification.event, "severity": alert.severity, "summary": alert.summary,
            "details": details + notes, "items": listed_items(result, notification, str(zone))}


def _headline(tables: list[Any]) -> list[dict[str, str]]:
    """The overall KPIs the report shows as cards, in the same order."""
    from cmflow.builtin.outputs.html_page import HEADLINE
    from cmflow import metric_label

    overall = next((t for t in tables if not t.dimensions), None)
    if overall is None or not overall.rows:
        return []
    cells = overall.rows[0].cells
    ordered = [m for m in HEADLINE if m in cells] + [m for m, _ in overall.metrics if m not in HEADLINE]
    return [{"label": metric_label(m), "value": cells[m].text, "change": cells[m].change_text,
             "direction": cells[m].direction, "note": cells[m].change_text or cells[m].reason or "",
             "verdict": cells[m].verdict.status if cells[m].verdict else "", "verdict_label": cells[m].verdict_label,
             # where a figure not counted from posts alone comes from, in words
             "basis": cells[m].basis_text if cells[m].basis_tag else ""}
            for m in ordered[:6]]


def _render(name: str, context: dict[str, Any], *, html: bool) -> str:
    return _environment(html).get_template(name).render(context)


@functools.lru_cache(maxsize=2)
def _environment(html: bool) -> Any:
    """The built-in templates' environment, made once per process so that each template is
    compiled once (Jinja2 still reloads one whose file changed)."""
    from jinja2 import Environment, PackageLoader

    if html:
        return Environment(loader=PackageLoader("cmflow", "templates"), autoescape=True,
                           trim_blocks=True, lstrip_blocks=True)
    # Plain text is not escaped; a value is one line, so a summary cannot fake a paragraph.
    return Environment(loader=PackageLoader("cmflow", "templates"), autoescape=False,
                       trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
                       finalize=_plain_value)


def _plain_value(value: Any) -> str:
    return "" if value is None else LINE_BREAKING.sub(" ", str(value))


def _subject_environment() -> Any:
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    return SandboxedEnvironment(autoescape=False, undefined=StrictUndefined)


# -- sending ---------------------------------------------------------------------------------
def smtp_failure(exc: BaseException, where: str, options: EmailOptions, *,
                 secret: str | None) -> DeliveryFailed:
    """What went wrong, whether a later attempt may succeed, and what to fix if not.

    Temporary: the server unreachable, slow or gone mid-way, and 4xx replies. Permanent (5xx,
    refused login, TLS that cannot work): retrying cannot help until the workflow changes.
    """
    import smtplib
    import socket
    import ssl

    def failed(text: str, retryable: bool) -> DeliveryFailed:
        return DeliveryFailed(_scrub(text, secret), retryable=retryable)

    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        refusals = "; ".join(f"{address} ({_reply(code, text)})" for address, (code, text)
                             in exc.recipients.items())
        temporary = all(400 <= code < 500 for code in codes)
        return failed(f"{where} refused every recipient: {refusals}"
                      + ("" if temporary else "; check the addresses in `to` and `cc`"), temporary)
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return failed(f"{where} refused the login of {options.username} "
                      f"({_reply(exc.smtp_code, exc.smtp_error)}): check `username` and the "
                      "password in its environment variable (Gmail wants an app password; "
                      "Office 365 wants SMTP AUTH enabled for the mailbox)", _temporary(exc.smtp_code))
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return failed(f"{where} refused the sender {exc.sender} "
                      f"({_reply(exc.smtp_code, exc.smtp_error)}): set `from_address` to an "
                      "address the account may send as",
                      _temporary(exc.smtp_code))
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        what = str(exc).lower()
        hint = ("set security = \"ssl\" (port 465), or \"none\" for a local relay"
                if "starttls" in what else
                "the server offers no login on this connection: use security = \"starttls\" or "
                "\"ssl\", or remove `username`")
        return failed(f"{where}: {exc}; {hint}", False)
    if isinstance(exc, smtplib.SMTPServerDisconnected) and isinstance(exc.__context__, TimeoutError):
        # smtplib hangs up when a reply is late, and says "connection closed": the server was slow.
        return failed(f"{where} did not answer within {options.timeout.total_seconds():g} s (the message "
                      "may have reached it: it is sent again with the same Message-ID)", True)
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return failed(f"{where} closed the connection unexpectedly ({exc or 'no reason given'})", True)
    if isinstance(exc, smtplib.SMTPResponseException):
        return failed(f"{where} refused the message ({_reply(exc.smtp_code, exc.smtp_error)})",
                      _temporary(exc.smtp_code))
    if isinstance(exc, smtplib.SMTPException):
        return failed(f"{where}: {exc}", False)
    if isinstance(exc, ssl.SSLCertVerificationError):
        return failed(f"the certificate of {where} is not trusted ({exc.verify_message}): check "
                      "`host`, or set `ca_file` for a server with a private certificate", False)
    if isinstance(exc, ssl.SSLError):
        return failed(f"TLS with {where} failed ({exc.reason or exc}): security = \"ssl\" wants a "
                      "port that speaks TLS from the start (465); use \"starttls\" for 587", False)
    if isinstance(exc, socket.gaierror):
        return failed(f"could not find the SMTP server {options.host} ({exc.strerror}): "
                      "check `host`", True)
    if isinstance(exc, TimeoutError):
        return failed(f"{where} did not answer within {options.timeout.total_seconds():g} s", True)
    if isinstance(exc, ConnectionRefusedError):
        return failed(f"{where} refused the connection: is the server running and the port "
                      "right?", True)
    if isinstance(exc, OSError):
        return failed(f"could not talk to {where}: {exc.strerror or exc}", True)
    return failed(f"{where}: {exc}", False)


def _hang_up(client: Any) -> None:
    """QUIT, then close. Never raises: once the message is taken, a failing goodbye must not
    make the outbox send it again."""
    import smtplib

    try:
        client.quit()
    except (smtplib.SMTPException, OSError):
        client.close()


def _temporary(code: int) -> bool:
    """SMTP's own rule: a 4xx reply is a temporary failure, a 5xx one permanent."""
    return 400 <= code < 500


def _reply(code: int, text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    return one_line(f"{code} {text}")


def _scrub(text: str, secret: str | None) -> str:
    """No password in a message, even if a server were to echo it."""
    from cmflow.http import redact

    if secret:
        text = text.replace(secret, "***")
    return redact(text)


def _safe_token(key: str) -> str:
    """The key as a file name and a Message-ID's left part: letters, digits, dot, dash."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", key).strip(".-") or "message"


def _key_of(eml: str) -> str:
    """The key a message was composed with, from its Message-ID (for a message without key)."""
    match = re.search(r"^Message-ID:\s*<([^@>]+)@cmflow>", eml, re.MULTILINE | re.IGNORECASE)
    return match.group(1) if match else "message"


def _severity_rank(alert: "Alert") -> int:
    return SEVERITY_RANK.get(alert.severity, len(SEVERITY_RANK))


def _is_loopback(host: str) -> bool:
    import ipaddress

    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@hookimpl
def register_outputs(register):
    register(Email)
