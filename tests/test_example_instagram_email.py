"""workflows/examples/instagram-er-email.toml end to end: the Instagram source against the replay
server, ERR, the threshold, and the e-mail arriving at a real SMTP server on loopback.

The test points the example at the loopback servers and lowers nothing but what the recorded
week needs: its ERR is 12.4 %, so the threshold is raised above it, and the alert must fire at
the first run (``for = 1``) since the recording holds one week.
"""

from __future__ import annotations

from pathlib import Path

from cmflow.testing import FakeClock, replay_server, run_workflow_file  # noqa: F401 (a fixture)
from test_source_instagram import IG_USER, TOKEN, script_posts

EXAMPLE = Path(__file__).resolve().parent.parent / "workflows" / "examples" / "instagram-er-email.toml"


def pointed_at(text: str, *, api: str, smtp_port: int) -> str:
    replaced = {
        'fetch = ["posts"]': f'fetch = ["posts"]\nbase_url = "{api}"\nallow_private_network = true',
        'host = "smtp.example.org"': 'host = "127.0.0.1"',
        "port = 587": f"port = {smtp_port}",
        'security = "starttls"': 'security = "none"',
        "below = 2.0": "below = 15.0",
        "for = 2 ": "for = 1 ",
        'compare = ["previous_period"]': "compare = []",
    }
    for old, new in replaced.items():
        assert old in text, old
        text = text.replace(old, new)
    return text


def test_the_instagram_err_email_example_sends_the_alert_with_the_report(
        replay_server, smtp_server, tmp_path, monkeypatch):
    from loopback_smtp import Mailbox
    from aiosmtpd.smtp import AuthResult, LoginPassword

    def login(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data.password == b"app-password"
        return AuthResult(success=ok, handled=False)

    mailbox, port = smtp_server(Mailbox(), authenticator=login, auth_require_tls=False)
    script_posts(replay_server)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("IG_ACCESS_TOKEN", TOKEN)
    monkeypatch.setenv("SMTP_USERNAME", "ig-watch-bot@example.net")  # env values are redacted process-wide
    monkeypatch.setenv("SMTP_PASSWORD", "app-password")
    text = EXAMPLE.read_text(encoding="utf-8")
    assert f'accounts = ["{IG_USER}"]' in text
    path = tmp_path / "instagram-er-email.toml"
    path.write_text(pointed_at(text, api=replay_server.url, smtp_port=port), encoding="utf-8")
    store = f"sqlite:///{tmp_path / 'state.db'}"

    first = run_workflow_file(path, store_url=store, now=FakeClock().now)
    assert first.status == "ok", [s.error for s in first.failed_stages]
    assert [a.summary for a in first.alerts] == ["ERR (reach) is 12.42% for instagram / maisonlumiere, below 15.00%"]
    [mail] = mailbox.received
    message = mail.message
    assert mail.rcpt_tos == ["social-team@example.org"] and mail.authenticated
    assert message["Subject"].strip() == \
        "[cmflow] Instagram engagement watch: 1 alert firing (2026-11-16..2026-11-22)"
    text_part = message.get_body(("plain",)).get_content()
    assert "ERR (reach) is 12.42% for instagram / maisonlumiere, below 15.00%" in text_part
    [attachment] = [p for p in message.iter_attachments() if p.get_filename() == "report.html"]
    assert "12.42%" in attachment.get_content()
    assert "app-password" not in mail.raw.decode() and TOKEN not in mail.raw.decode()

    script_posts(replay_server)  # the platform answers the same again
    again = run_workflow_file(path, store_url=store, now=FakeClock().now)  # nothing changed
    assert again.alerts and not again.notifications and len(mailbox.received) == 1
