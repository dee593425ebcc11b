"""The network guard: cmflow connects only to public internet addresses unless a workflow says otherwise.

A URL in a workflow (a feed, a webhook, an API's base URL) is chosen by whoever writes the
workflow, so without a guard a workflow could make cmflow read or post to the services around the
machine it runs on: a cloud metadata endpoint (169.254.169.254), an admin page on the LAN, a
database on loopback. The guard refuses every address that is not on the public internet
(:func:`address_kind` says why), on the address actually connected to:

- the HTTP kit's transport (:class:`cmflow.http.transport.GuardedTransport`) resolves each host name itself, checks
  every address it resolves to, connects to a checked address (never resolving again, so a DNS
  server that answers differently the second time, "DNS rebinding", gains nothing) and checks the
  connected socket's peer address once more; TLS still verifies the host name (SNI);
- this happens for every new connection, so each redirect hop is checked too;
- at validation, :func:`host_problem` refuses what needs no DNS: a literal IP address in any
  form the system accepts (``127.1``, ``2130706433``, ``[::ffff:10.0.0.1]``), ``localhost`` and
  the cloud metadata names.

A workflow opts out per plugin with ``allow_private_network = true`` (a feed on the intranet, a
self-hosted chat server); the kit carries the choice on each request (:data:`POLICY_EXTENSION`).
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from typing import Callable

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]
"""``resolver(host, port)``: the IP addresses (as text) a host name stands for."""

from cmflow.http.options import PRIVATE_NETWORK_OPTION, allow_private_network_option  # noqa: E402,F401  (public here too)
POLICY_EXTENSION = "cmflow.network_policy"
"""The httpx request extension that carries a request's :class:`NetworkPolicy`."""

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})
METADATA_NAMES = frozenset({"metadata", "metadata.google.internal", "metadata.goog", "instance-data",
                            "instance-data.ec2.internal", "metadata.azure.internal"})
"""Names of cloud metadata services (they resolve to link-local addresses inside a cloud)."""

_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
_UNIQUE_LOCAL = ipaddress.ip_network("fc00::/7")


# -- what an address is ------------------------------------------------------------------------
def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (IPv4-mapped, NAT64, 6to4, Teredo, IPv4-compatible):
    reaching it may reach that IPv4 address, so it is judged as that address."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if any(address in network for network in _NAT64) or (
            address in _IPV4_COMPATIBLE and int(address) > 1):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    return None


def address_kind(address: IpAddress) -> str | None:
    """Why an address is not on the public internet (``"loopback"``, ``"private"`` …), or None."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id:
            address = ipaddress.IPv6Address(str(address).split("%")[0])
        embedded = embedded_ipv4(address)
        if embedded is not None:
            return address_kind(embedded)
    if address.is_unspecified:
        return "unspecified"
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_multicast:
        return "multicast"
    if isinstance(address, ipaddress.IPv6Address) and address in _UNIQUE_LOCAL:
        return "unique-local"
    if address.is_private:
        return "private"
    if address.is_reserved or not address.is_global:
        return "reserved"  # shared address space (100.64.0.0/10), documentation, broadcast, future use
    return None


def literal_address(host: str) -> IpAddress | None:
    """The IP address a host is written as, in any form the system accepts (``127.1``,
    ``0x7f000001``, ``[::1]``); None for a name. No DNS is asked."""
    host = host.strip("[]")
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:
        found = socket.getaddrinfo(host, None, flags=socket.AI_NUMERICHOST)
    except (OSError, UnicodeError, ValueError):
        return None
    return ipaddress.ip_address(str(found[0][4][0]).split("%")[0]) if found else None


def host_problem(host: str) -> str | None:
    """At validation, without DNS: why ``host`` is refused (a non-public literal address, a
    loopback or cloud metadata name), or None."""
    name = host.lower().rstrip(".")
    if name in LOOPBACK_NAMES or name.endswith(".localhost"):
        return f"{host} is a loopback name"
    if name in METADATA_NAMES:
        return f"{host} is a cloud metadata service"
    address = literal_address(host)
    reason = PUBLIC_ONLY.refusal(address, 0) if address is not None else None
    if reason is None:
        return None
    embedded = embedded_ipv4(address) if isinstance(address, ipaddress.IPv6Address) else None
    return f"{address}{f' ({embedded})' if embedded else ''} is {reason}"


def url_problem(text: str, schemes: tuple[str, ...] = ("https", "http")) -> str | None:
    """Why ``text`` is not a URL cmflow can fetch (not a URL, another scheme, no host), or None.
    The message never quotes the URL: it may hold a secret."""
    import httpx  # here, not above: a plugin's options import this module without needing the client

    try:
        url = httpx.URL(text.strip())
    except (httpx.InvalidURL, TypeError, ValueError):
        return "is not a URL (expected https://host/path)"
    if url.scheme not in schemes:
        shown = f"{url.scheme}://" if url.scheme else "a relative URL"
        return f"must be an {' or '.join(f'{s}://' for s in schemes)} URL, not {shown}"
    if not url.host:
        return "has no host name (expected https://host/path)"
    return None


def refused_url_problem(text: str) -> str | None:
    """At validation: why the guard will refuse ``text``'s host (see :func:`host_problem`), as a
    message that says what to do; None when only DNS can tell."""
    import httpx

    try:
        host = httpx.URL(text.strip()).host
    except (httpx.InvalidURL, TypeError, ValueError):
        return None
    problem = host_problem(host) if host else None
    if problem is None:
        return None
    return (f"cmflow refuses to connect to it: {problem}, and cmflow connects only to public internet "
            f"addresses. If you really mean this server (one on your own network), set "
            f"{PRIVATE_NETWORK_OPTION} = true on this plugin")


def is_metadata(address: IpAddress) -> bool:
    """The well-known address of a cloud's metadata service (AWS, GCP, Azure, Alibaba …)."""
    return str(address) in {"169.254.169.254", "fd00:ec2::254", "100.100.100.200", "169.254.170.2"}


def _a(word: str) -> str:
    return f"{'an' if word[0] in 'aeiou' else 'a'} {word}"


# -- the policy --------------------------------------------------------------------------------
@dataclass(frozen=True)
class NetworkPolicy:
    """Which addresses requests may connect to: public ones only, or any (``allow_private``).

    Subclass and override :meth:`refusal` for another rule (tests allow one loopback port)."""

    allow_private: bool = False

    def refusal(self, address: IpAddress, port: int) -> str | None:
        """Why connecting to ``address``:``port`` is refused (``"a private address"``), or None."""
        if self.allow_private:
            return None
        kind = address_kind(address)
        if kind is None:
            return None
        embedded = embedded_ipv4(address) if isinstance(address, ipaddress.IPv6Address) else None
        return _a(kind) + " address" + (" (a cloud metadata service)" if is_metadata(embedded or address) else "")


PUBLIC_ONLY = NetworkPolicy()
ANY_ADDRESS = NetworkPolicy(allow_private=True)


def network_policy(allow_private_network: bool) -> NetworkPolicy:
    """The policy of a plugin's ``allow_private_network`` option."""
    return ANY_ADDRESS if allow_private_network else PUBLIC_ONLY


class AddressRefused(Exception):
    """A connection the guard refused: ``host`` is or resolves to ``address``, which the policy refuses."""

    def __init__(self, host: str, address: IpAddress | str, reason: str) -> None:
        self.host, self.address, self.reason = host, address, reason
        resolved = f"{host} resolves to {address}, " if str(address) != host.strip("[]") else f"{address} is "
        super().__init__(f"refused to connect to {host}: {resolved}{reason}")


# -- connecting --------------------------------------------------------------------------------
def system_resolver(host: str, port: int) -> list[str]:
    """The addresses the operating system resolves ``host`` to (DNS, /etc/hosts …)."""
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(sockaddr[0]) for *_, sockaddr in found))
