"""The ``host:port`` a server of cmflow listens on (the metrics endpoint): one parser, so the
settings file and the command line accept the same forms and refuse the same mistakes."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

EXAMPLE = '"127.0.0.1:9464"'


@dataclass(frozen=True)
class ListenAddress:
    """Where to listen: an IP address (or ``localhost``) and a port (0: any free port)."""

    host: str
    port: int

    @property
    def loopback(self) -> bool:
        """Whether only this machine can connect."""
        return self.host == "localhost" or ipaddress.ip_address(self.host).is_loopback

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def parse_listen_address(text: str) -> ListenAddress:
    """``127.0.0.1:9464``, ``0.0.0.0:9464``, ``[::1]:9464`` or ``localhost:9464``; raise
    ValueError saying what is wrong and what to write."""
    raw = text.strip()
    host, colon, port_text = raw.rpartition(":")
    if not colon or not host:
        raise ValueError(f"{text!r} is not an address: write host:port, e.g. {EXAMPLE}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise ValueError(f"{text!r}: put an IPv6 address in brackets, e.g. \"[::1]:9464\"")
    if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ValueError(f"{text!r}: the port must be a number from 0 to 65535, e.g. {EXAMPLE}")
    if host != "localhost":
        try:
            host = str(ipaddress.ip_address(host))
        except ValueError:
            raise ValueError(f"{text!r}: the host must be an IP address of this machine (127.0.0.1 for this "
                             "machine only, 0.0.0.0 for every interface) or localhost") from None
    return ListenAddress(host, int(port_text))
