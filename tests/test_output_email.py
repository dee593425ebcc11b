"""The email notifier against a real SMTP server on loopback (aiosmtpd, started by the tests):
what arrives is read back and checked, header by header and part by part."""

from __future__ import annotations

import json
import logging
import re
import shutil
import subprocess
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Iterator

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword
from pydantic import ValidationError

from loopback_smtp import Mailbox, Received, free_port  # noqa: F401  (smtp_server: a conftest fixture)
from cmflow import Alert, DeliveryContext, DeliveryFailed, Notification, NotificationBatch, SendContext
from cmflow.builtin.outputs import email as email_output
from cmflow.builtin.outputs.email import Email, EmailOptions
from cmflow.foundation.errors import WorkflowInvalid
from cmflow.plugins.registry import UnknownPlugin, get_registry
from cmflow.presentation.summary import format_value
from cmflow.testing import FakeClock, registered_plugin, run_workflow_file
from cmflow.workflow import load_workflow
from demo_scenario import demo_change_alerts, demo_scenario

REPO = Path(__file__).resolve().parent.parent
EMAIL_PAGE = REPO / "docs" / "outputs" / "email.md"
PERIOD = "2026-11-16..2026-11-22"
RUN_AT = datetime(2026, 11, 24, 8, 0, tzinfo=timezone.utc)
PASSWORD = "s3cret-Pa55word!"
LOGIN = "reports@example.org"


# -- a real SMTP server ----------------------------------------------------------------------
def accept_login(server, session, envelope, mechanism, auth_data) -> AuthResult:
    """Only LOGIN / PASSWORD get in."""
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == LOGIN.encode() \
        and auth_data.password == PASSWORD.encode()
    return AuthResult(success=ok, handled=False)  # handled=False: the server answers 535 itself


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (made by the openssl command, in milliseconds)."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True)
    return cert, key


def server_tls(certificate) -> "ssl.SSLContext":
    import ssl

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*map(str, certificate))
    return context


# -- a real run ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def result(tmp_path_factory):
    """The demo's run over its known week (:func:`demo_change_alerts`: its Meta export, the
    metrics and change rules of its three alerts; no output), with those three alerts firing."""
    directory = tmp_path_factory.mktemp("run")
    workflow = directory / "demo.toml"
    workflow.write_text(demo_change_alerts(), encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CMFLOW_LOAD_PLUGINS", "")
        run = run_workflow_file(workflow, store_url=f"sqlite:///{directory / 'state.db'}",
                                period=PERIOD, now=RUN_AT)
    assert run.status == "ok" and len(run.alerts) == 3
    return run


def options(**values) -> EmailOptions:
    return EmailOptions(**{"to": ["Ann Martin <ann@example.org>", "bob@example.org"],
                           "from_address": "cmflow <reports@example.org>", **values})


def batch(result, notifications=None, key="k1") -> NotificationBatch:
    if notifications is None:
        notifications = [Notification(alert, "firing") for alert in result.alerts]
    return NotificationBatch(result, notifications, {"workflow": result.workflow.name}, key=key)


def delivery_context() -> DeliveryContext:
    return DeliveryContext(REPO, logging.getLogger("cmflow.test.email"))


def send_context(attempt: int = 1) -> SendContext:
    return SendContext(REPO, logging.getLogger("cmflow.test.email"), FakeClock().now, attempt)


def smtp(port: int, **values) -> EmailOptions:
    return options(host="127.0.0.1", port=port, security="none", timeout="5s", **values)


def hostile_alert(summary: str) -> Alert:
    """A spike alert quoting a comment: text from the public."""
    return Alert("negative_comments", "total_comments", {"platform": "instagram", "account": "maisonlumiere"},
                 summary, severity="critical", value=42, details={"unit": "count"})


def parts(message: EmailMessage) -> tuple[str, str, list[EmailMessage]]:
    """The plain-text and HTML parts (with \\n line ends) and the attachments."""
    text = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    html = message.get_body(("html",)).get_content().replace("\r\n", "\n")
    return text, html, list(message.iter_attachments())


def subject(message: EmailMessage) -> str:
    """The subject as a mail client shows it. A subject that fits on a line of its own is folded
    to the line after "Subject:", and Python's parser keeps the fold's space; clients drop it."""
    return str(message["Subject"]).strip()


def err_text(result) -> str:
    """The overall ERR as every output formats it, from the run's own value."""
    return format_value(result.value("engagement_rate_by_reach"), "%")


# -- composing and sending over SMTP ---------------------------------------------------------
def test_the_message_arrives_with_its_headers_parts_and_report(result, smtp_server):
    mailbox, port = smtp_server()
    plugin = Email(smtp(port, cc=["manager@example.org"], reply_to="social@example.org"), entry_id="email")
    message = plugin.compose(batch(result), delivery_context())
    note = plugin.send(message, send_context())

    assert note == f"sent via 127.0.0.1:{port}"
    [arrived] = mailbox.received
    assert arrived.mail_from == "reports@example.org"
    assert arrived.rcpt_tos == ["ann@example.org", "bob@example.org", "manager@example.org"]
    mail = arrived.message
    assert subject(mail) == f"[cmflow] Weekly social KPIs (demo): 3 alerts firing ({PERIOD})"
    assert mail["From"] == "cmflow <reports@example.org>"
    assert mail["To"] == "Ann Martin <ann@example.org>, bob@example.org"
    assert mail["Cc"] == "manager@example.org"
    assert mail["Reply-To"] == "social@example.org"
    assert mail["Message-ID"] == "<k1@cmflow>"
    assert mail["Date"].datetime == RUN_AT
    assert mail.get_content_type() == "multipart/mixed"
    assert mail.get_body(("html", "plain")).get_content_type() == "text/html"

    text, html, attachments = parts(mail)
    for part in (text, html):
        for alert in result.alerts:
            assert alert.summary in part
        assert "trailhead.outfitters" in part
        assert err_text(result) in part  # the headline KPI
    assert "[WARNING] ERR (reach) dropped 45%" in text
    assert text.index("[WARNING]") < text.index("[INFO]")  # most severe first
    assert ">warning</span>" in html and ">info</span>" in html
    [report] = attachments
    assert report.get_filename() == "report.html" and report.get_content_type() == "text/html"
    assert report.get_content_disposition() == "attachment"
    report_html = report.get_content()
    assert "<h1>Weekly social KPIs (demo)</h1>" in report_html
    assert err_text(result) in report_html

    assert message.payload["to"] == arrived.rcpt_tos
    assert message.payload["from"] == "reports@example.org"
    assert message.key == "k1"
    assert message.summary == ("email to ann@example.org, bob@example.org, manager@example.org: "
                               f"Weekly social KPIs (demo): 3 alerts firing ({PERIOD})")
    assert json.loads(json.dumps(message.payload)) == message.payload  # what the outbox stores


def test_resolved_and_reminders_are_told_apart(result, smtp_server):
    mailbox, port = smtp_server()
    firing, reminded, resolved = result.alerts
    plugin = Email(smtp(port, subject="{{ firing }} firing, {{ resolved }} resolved: {{ summary }}"),
                   entry_id="email")
    plugin.send(plugin.compose(batch(result, [Notification(firing, "firing"),
                                              Notification(reminded, "repeat", reminder=2),
                                              Notification(resolved, "resolved")]), delivery_context()),
                send_context())
    mail = mailbox.received[0].message
    assert subject(mail) == f"2 firing, 1 resolved: {' '.join(firing.summary.split())}"  # one line, plain spaces
    text, html, _ = parts(mail)
    firing_section, resolved_section = text.split("RESOLVED (1)")
    assert "FIRING (2)" in firing_section and "still firing, reminder 2" in firing_section
    assert resolved.summary in resolved_section and resolved.summary not in firing_section
    assert "Resolved (1)" in html and ">resolved</span>" in html


def test_a_run_without_alert_events_is_a_report_email(result, smtp_server):
    mailbox, port = smtp_server()
    plugin = Email(smtp(port), entry_id="email")
    plugin.send(plugin.compose(batch(result, []), delivery_context()), send_context())
    mail = mailbox.received[0].message
    assert subject(mail) == f"[cmflow] Weekly social KPIs (demo): report ({PERIOD})"
    text, html, [report] = parts(mail)
    assert "this is the report of the run" in text and "FIRING" not in text
    assert f"ERR (reach): {err_text(result)}" in text
    assert err_text(result) in report.get_content()


def test_report_inline_or_left_out(result, smtp_server):
    mailbox, port = smtp_server()
    for report in ("inline", "none"):
        plugin = Email(smtp(port, report=report), entry_id="email")
        plugin.send(plugin.compose(batch(result, key=report), delivery_context()), send_context())
    inline, left_out = (r.message for r in mailbox.received)

    text, html, attachments = parts(inline)
    assert attachments == []
    assert "<h1>Weekly social KPIs (demo)</h1>" in html and 'class="cards"' in html  # the report itself
    assert result.alerts[0].summary in text

    text, html, attachments = parts(left_out)
    assert attachments == [] and 'class="cards"' not in html
    assert "report.html" not in text and result.alerts[0].summary in html


def test_public_text_is_escaped_in_html_and_cannot_add_a_header(result, smtp_server):
    mailbox, port = smtp_server()
    alert = hostile_alert("Spike in comments: <script>alert('x')</script>\r\nBcc: evil@example.net")
    plugin = Email(smtp(port, subject="[{{ severity }}] {{ summary }}"), entry_id="email")
    message = plugin.compose(batch(result, [Notification(alert, "firing")]), delivery_context())
    plugin.send(message, send_context())

    [arrived] = mailbox.received
    assert "evil@example.net" not in arrived.rcpt_tos
    headers = arrived.raw.split(b"\r\n\r\n", 1)[0]
    assert not re.search(rb"^bcc:", headers, re.IGNORECASE | re.MULTILINE)
    mail = arrived.message
    assert mail["Bcc"] is None
    assert subject(mail) == "[critical] Spike in comments: <script>alert('x')</script> Bcc: evil@example.net"
    text, html, [report] = parts(mail)
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert "<script" not in html.lower() and "<script" not in report.get_content().lower()
    # Plain text is not escaped, but the summary stays on its line.
    assert "- [CRITICAL] Spike in comments: <script>alert('x')</script> Bcc: evil@example.net\n" in text
    assert not re.search(r"^Bcc:", text, re.MULTILINE)


@pytest.mark.parametrize("field", ["to", "cc", "from_address", "reply_to"])
def test_addresses_with_line_breaks_or_junk_are_refused(field):
    value = ["ann@example.org\r\nBcc: evil@example.net"] if field in ("to", "cc") else \
        "ann@example.org\nBcc: evil@example.net"
    with pytest.raises(ValidationError, match="line break"):
        options(**{field: value})
    for junk in ("not an address", "ann@", "ann@example.org, bob@example.org"):
        with pytest.raises(ValidationError, match="not an e-mail address"):
            options(**{field: [junk] if field in ("to", "cc") else junk})


def test_subject_template_is_checked_when_the_workflow_is_validated():
    with pytest.raises(ValidationError, match="titel"):
        options(subject="{{ titel }}")
    with pytest.raises(ValidationError, match="not a valid template"):
        options(subject="{{ title ")
    assert options(subject="{{ workflow }} · {{ group.platform }}").subject


def test_login_over_smtp(result, smtp_server):
    mailbox, port = smtp_server(auth_require_tls=False, authenticator=accept_login)
    plugin = Email(smtp(port, username=LOGIN, password=PASSWORD), entry_id="email")
    plugin.send(plugin.compose(batch(result), delivery_context()), send_context())
    [arrived] = mailbox.received
    assert arrived.authenticated


def test_refused_login_is_not_retried_and_never_shows_the_password(result, smtp_server, caplog):
    _, port = smtp_server(auth_require_tls=False, authenticator=accept_login)
    wrong = PASSWORD + "-old"
    plugin = Email(smtp(port, username=LOGIN, password=wrong), entry_id="email")
    message = plugin.compose(batch(result), delivery_context())
    with caplog.at_level(logging.DEBUG), pytest.raises(DeliveryFailed) as failure:
        plugin.send(message, send_context())
    assert failure.value.retryable is False
    assert f"refused the login of {LOGIN} (535" in str(failure.value)
    assert "app password" in str(failure.value)
    for shown in (str(failure.value), repr(failure.value.args), caplog.text, json.dumps(message.payload),
                  message.summary):
        assert wrong not in shown and PASSWORD not in shown


def test_a_password_comes_from_the_environment_and_stays_out_of_everything(
        result, smtp_server, tmp_path, monkeypatch, caplog):
    mailbox, port = smtp_server(auth_require_tls=False, authenticator=accept_login)
    monkeypatch.setenv("CMFLOW_TEST_SMTP_PASSWORD", PASSWORD)
    workflow_text = demo_scenario() + f"""
[[outputs]]
plugin = "email"
to = ["ann@example.org"]
from_address = "reports@example.org"
host = "127.0.0.1"
port = {port}
security = "none"
username = "{LOGIN}"
password = "${{env:CMFLOW_TEST_SMTP_PASSWORD}}"
"""
    path = tmp_path / "workflow.toml"
    path.write_text(workflow_text, encoding="utf-8")
    with email_plugin():
        [entry] = load_workflow(path).outputs
        path.write_text(workflow_text.replace("${env:CMFLOW_TEST_SMTP_PASSWORD}", PASSWORD), encoding="utf-8")
        with pytest.raises(WorkflowInvalid, match="secrets may not be written in the workflow file") as invalid:
            load_workflow(path)
        assert PASSWORD not in str(invalid.value)
    plugin = entry.plugin
    with caplog.at_level(logging.DEBUG):
        message = plugin.compose(batch(result), delivery_context())
        note = plugin.send(message, send_context())
    assert mailbox.received[0].authenticated
    for shown in (json.dumps(message.payload), message.summary, note, caplog.text,
                  repr(plugin.options), plugin.options.model_dump_json()):
        assert PASSWORD not in shown


def test_starttls_with_login(result, smtp_server, certificate):
    mailbox, port = smtp_server(tls_context=server_tls(certificate), require_starttls=True,
                                authenticator=accept_login)  # login only once encrypted
    plugin = Email(options(host="127.0.0.1", port=port, security="starttls", ca_file=str(certificate[0]),
                           username=LOGIN, password=PASSWORD, timeout="5s"), entry_id="email")
    plugin.send(plugin.compose(batch(result), delivery_context()), send_context())
    [arrived] = mailbox.received
    assert arrived.tls and arrived.authenticated
    assert arrived.message["Message-ID"] == "<k1@cmflow>"


def test_ssl_from_the_first_byte(result, smtp_server, certificate):
    mailbox, port = smtp_server(ssl_context=server_tls(certificate))
    plugin = Email(options(host="127.0.0.1", port=port, security="ssl", ca_file=str(certificate[0]),
                           timeout="5s"), entry_id="email")
    plugin.send(plugin.compose(batch(result), delivery_context()), send_context())
    assert mailbox.received[0].tls


def test_an_untrusted_certificate_is_not_retried(result, smtp_server, certificate):
    _, port = smtp_server(tls_context=server_tls(certificate), require_starttls=True)
    plugin = Email(options(host="127.0.0.1", port=port, security="starttls", timeout="5s"), entry_id="email")
    with pytest.raises(DeliveryFailed, match="not trusted") as failure:
        plugin.send(plugin.compose(batch(result), delivery_context()), send_context())
    assert failure.value.retryable is False and "ca_file" in str(failure.value)


def test_a_server_without_starttls_is_not_retried(result, smtp_server):
    _, port = smtp_server()
    plugin = Email(options(host="127.0.0.1", port=port, security="starttls", timeout="5s"), entry_id="email")
    with pytest.raises(DeliveryFailed, match="STARTTLS") as failure:
        plugin.send(plugin.compose(batch(result), delivery_context()), send_context())
    assert failure.value.retryable is False and 'security = "ssl"' in str(failure.value)


# -- failures: what is retried and what is not -----------------------------------------------
def test_a_server_that_is_down_is_retried(result):
    port = free_port()  # nothing listens there
    plugin = Email(smtp(port), entry_id="email")
    with pytest.raises(DeliveryFailed, match="refused the connection") as failure:
        plugin.send(plugin.compose(batch(result), delivery_context()), send_context())
    assert failure.value.retryable is True


def test_a_temporary_refusal_is_retried_then_the_message_arrives(result, smtp_server):
    mailbox, port = smtp_server(Mailbox(data_reply="451 4.3.0 Mail server temporarily busy"))
    plugin = Email(smtp(port), entry_id="email")
    message = plugin.compose(batch(result), delivery_context())
    with pytest.raises(DeliveryFailed, match="451 4.3.0") as failure:
        plugin.send(message, send_context())
    assert failure.value.retryable is True and mailbox.received == []

    mailbox.data_reply = None  # the server recovers; the outbox sends the same message again
    plugin.send(message, send_context(attempt=2))
    assert [r.message["Message-ID"] for r in mailbox.received] == ["<k1@cmflow>"]


def test_every_recipient_refused_is_not_retried(result, smtp_server):
    _, port = smtp_server(Mailbox(refuse={"nobody@example.org": "550 5.1.1 No such user"}))
    plugin = Email(smtp(port, to=["nobody@example.org"]), entry_id="email")
    with pytest.raises(DeliveryFailed) as failure:
        plugin.send(plugin.compose(batch(result), delivery_context()), send_context())
    assert failure.value.retryable is False
    assert "nobody@example.org (550 5.1.1 No such user)" in str(failure.value)
    assert "`to` and `cc`" in str(failure.value)


def test_some_recipients_refused_is_sent_to_the_others(result, smtp_server, caplog):
    mailbox, port = smtp_server(Mailbox(refuse={"nobody@example.org": "550 5.1.1 No such user"}))
    plugin = Email(smtp(port, to=["ann@example.org", "nobody@example.org"]), entry_id="email")
    with caplog.at_level(logging.WARNING):
        note = plugin.send(plugin.compose(batch(result), delivery_context()), send_context())
    assert note.endswith("1 of 2 recipients accepted")
    assert mailbox.received[0].rcpt_tos == ["ann@example.org"]
    assert "nobody@example.org (550 5.1.1 No such user)" in caplog.text


def test_a_permanent_refusal_of_the_message_is_not_retried(result, smtp_server):
    _, port = smtp_server(Mailbox(data_reply="554 5.6.0 Message rejected"))
    plugin = Email(smtp(port), entry_id="email")
    with pytest.raises(DeliveryFailed, match="554 5.6.0") as failure:
        plugin.send(plugin.compose(batch(result), delivery_context()), send_context())
    assert failure.value.retryable is False


# -- the file transport ----------------------------------------------------------------------
def test_file_transport_writes_a_message_a_mail_client_opens(result, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # relative to the current directory, like html_report's path
    plugin = Email(options(transport="file", directory="outbox/mail"), entry_id="email")
    message = plugin.compose(batch(result, key="3f2a9c"), delivery_context())
    note = plugin.send(message, send_context())

    path = tmp_path / "outbox" / "mail" / "3f2a9c.eml"
    assert note == "wrote outbox/mail/3f2a9c.eml"
    assert [p.name for p in path.parent.iterdir()] == ["3f2a9c.eml"]  # no temporary file left
    mail = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
    assert mail["Message-ID"] == "<3f2a9c@cmflow>"
    assert mail["To"] == "Ann Martin <ann@example.org>, bob@example.org"
    text, html, [report] = parts(mail)
    assert result.alerts[0].summary in text and result.alerts[0].summary in html
    assert err_text(result) in report.get_content()

    plugin.send(message, send_context(attempt=2))  # a retry rewrites the same file
    assert [p.name for p in path.parent.iterdir()] == ["3f2a9c.eml"]


# -- options and docs ------------------------------------------------------------------------
def test_login_options_are_checked():
    with pytest.raises(ValidationError, match="no password"):
        options(username=LOGIN)
    with pytest.raises(ValidationError, match="no username"):
        options(password=PASSWORD)
    with pytest.raises(ValidationError, match="unencrypted"):
        options(host="smtp.example.org", security="none", username=LOGIN, password=PASSWORD)
    assert options(host="localhost", security="none", username=LOGIN, password=PASSWORD).username == LOGIN
    assert options(timeout="1m").timeout.total_seconds() == 60
    with pytest.raises(ValidationError):
        options(to=[])


def docs_output_examples() -> list[str]:
    text = EMAIL_PAGE.read_text(encoding="utf-8")
    return [m.group(1) for m in re.finditer(r"^```toml\n(.*?)^```$", text, re.MULTILINE | re.DOTALL)]


def test_the_docs_page_examples_validate(tmp_path, monkeypatch):
    examples = docs_output_examples()
    assert len(examples) >= 4
    head = demo_scenario()
    with email_plugin():
        for index, example in enumerate(examples):
            for name in re.findall(r"\$\{env:(\w+)\}", example):
                monkeypatch.setenv(name, f"value-of-{name}")
            path = tmp_path / f"example{index}.toml"
            path.write_text(head + example, encoding="utf-8")
            [entry] = load_workflow(path).outputs
            assert entry.info.name == "email"


@contextmanager
def email_plugin() -> Iterator[None]:
    """The email plugin in the registry: already there once installed through its entry point,
    registered for the block otherwise."""
    try:
        get_registry().get("output", "email")
    except UnknownPlugin:
        with registered_plugin(email_output):
            yield
    else:
        yield
