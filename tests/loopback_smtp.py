"""A real SMTP server on loopback for tests (aiosmtpd): what arrives is kept and can be read back.

The ``smtp_server`` fixture (tests/conftest.py) starts one per call on a free port.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    authenticated: bool
    tls: bool

    @property
    def message(self) -> EmailMessage:
        return BytesParser(policy=policy.default).parsebytes(self.raw)


@dataclass
class Mailbox:
    """An aiosmtpd handler that keeps what arrives; it can refuse recipients or the message."""

    received: list[Received] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)
    """Recipient address -> the reply to RCPT TO (e.g. ``550 5.1.1 No such user``)."""
    data_reply: str | None = None
    """A reply to DATA instead of taking the message (e.g. ``451 4.3.0 Try again later``)."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.data_reply:
            return self.data_reply
        encrypted = server.transport.get_extra_info("ssl_object") is not None
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.content,
                                      bool(session.authenticated), encrypted))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
