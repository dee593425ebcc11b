"""The network guard's transport: every connection the HTTP kit opens goes through it.

:class:`GuardedTransport` (an httpx transport) hands each request's host to a
:class:`GuardedBackend` (an httpcore network backend) that resolves it, checks every address
against the request's :class:`~cmflow.http.guard.NetworkPolicy` and connects to a checked one
(see :mod:`cmflow.http.guard`). Apart from the guard's rules so that checking a URL at validation
does not import httpx.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from typing import Any, Iterable

import httpcore
import httpx

from cmflow.http.guard import (POLICY_EXTENSION, PUBLIC_ONLY, AddressRefused, IpAddress, NetworkPolicy, Resolver,
                               system_resolver)


class GuardedBackend(httpcore.NetworkBackend):
    """httpcore's network backend, connecting only to addresses the policy allows.

    It resolves the host itself, refuses the host if any address is refused (a name that
    points inside the network is refused even if it also points outside), connects to a
    checked address, and checks the connected socket's peer address again.
    """

    def __init__(self, policy: NetworkPolicy, resolver: Resolver | None = None) -> None:
        self.policy = policy
        self.resolver = resolver or system_resolver
        self._backend = httpcore.SyncBackend()

    def checked_addresses(self, host: str, port: int) -> list[IpAddress]:
        """What ``host`` resolves to, every address allowed; :class:`AddressRefused` otherwise."""
        addresses = self._resolve(host, port)
        for address in addresses:
            reason = self.policy.refusal(address, port)
            if reason:
                raise AddressRefused(host, address, reason)
        return addresses

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        addresses = self.checked_addresses(host, port)
        failure: Exception | None = None
        for address in addresses:
            try:
                stream = self._backend.connect_tcp(str(address), port, timeout=timeout, local_address=local_address,
                                                   socket_options=socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
                continue
            self._check_peer(stream, host, port)
            return stream
        assert failure is not None
        raise failure

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        raise AddressRefused(path, path, "a local socket")

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)

    def _resolve(self, host: str, port: int) -> list[IpAddress]:
        try:
            found = self.resolver(host, port)
        except (OSError, UnicodeError) as exc:
            raise httpcore.ConnectError(f"the host name {host} does not resolve ({exc})") from None
        addresses = []
        for text in found:
            try:
                addresses.append(ipaddress.ip_address(str(text).split("%")[0]))
            except ValueError:
                raise AddressRefused(host, text, "not an IP address") from None
        if not addresses:
            raise httpcore.ConnectError(f"the host name {host} resolves to no address")
        return addresses

    def _check_peer(self, stream: httpcore.NetworkStream, host: str, port: int) -> None:
        """The address the socket is connected to, checked: what was connected is what was allowed."""
        sock = stream.get_extra_info("socket")
        peer = ipaddress.ip_address(str(sock.getpeername()[0]).split("%")[0])
        reason = self.policy.refusal(peer, port)
        if reason:
            stream.close()
            raise AddressRefused(host, peer, reason)


class GuardedTransport(httpx.BaseTransport):
    """An httpx transport whose every connection goes through a :class:`GuardedBackend`.

    Each request names its policy in the :data:`POLICY_EXTENSION` extension (``default`` when it
    does not); each policy has a connection pool of its own, so a connection opened for a
    workflow that allows private networks is never reused for one that does not. Redirects
    followed by the client are new requests with the same extensions: every hop is checked.

    Where the environment names a proxy for a URL (``HTTPS_PROXY``, ``HTTP_PROXY``,
    ``ALL_PROXY``, less ``NO_PROXY``, as curl reads them), the request goes through it: the
    target's name is resolved and checked here first, and the proxy (the operator's choice)
    makes the connection. The proxy resolves the name again, so behind a proxy the check is on
    the name's addresses, not on the connected socket.
    """

    def __init__(self, *, default: NetworkPolicy = PUBLIC_ONLY, resolver: Resolver | None = None,
                 proxies: dict[str, str] | None = None, **transport_options: Any) -> None:
        import urllib.request

        self.default = default
        self.resolver = resolver
        self.proxies = urllib.request.getproxies_environment() if proxies is None else proxies
        """Proxy URL by scheme (and ``no``: hosts reached directly), from the environment by default."""
        self._options = transport_options
        self._transports: dict[NetworkPolicy, httpx.HTTPTransport] = {}
        self._proxied: dict[str, httpx.HTTPTransport] = {}
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        policy = request.extensions.get(POLICY_EXTENSION, self.default)
        proxy = self.proxy_for(request.url)
        if proxy is None:
            return self.transport_for(policy).handle_request(request)
        port = request.url.port or (443 if request.url.scheme == "https" else 80)
        GuardedBackend(policy, self.resolver).checked_addresses(request.url.host, port)
        with self._lock:
            transport = self._proxied.get(proxy)
            if transport is None:
                transport = self._proxied[proxy] = httpx.HTTPTransport(proxy=proxy, **self._options)
        return transport.handle_request(request)

    def proxy_for(self, url: httpx.URL) -> str | None:
        """The proxy the environment names for ``url``, or None to connect directly."""
        import urllib.request

        proxy = self.proxies.get(url.scheme) or self.proxies.get("all")
        if not proxy:
            return None
        bypass = self.proxies.get("no", "")
        if bypass and urllib.request.proxy_bypass_environment(url.host, {"no": bypass}):
            return None
        return proxy if "://" in proxy else f"http://{proxy}"

    def transport_for(self, policy: NetworkPolicy) -> httpx.HTTPTransport:
        """The httpx transport (and connection pool) of one policy."""
        with self._lock:
            transport = self._transports.get(policy)
            if transport is None:
                transport = httpx.HTTPTransport(**self._options)
                pool = transport._pool  # httpx offers no public way to give its pool a network backend
                if not hasattr(pool, "_network_backend"):
                    raise RuntimeError("this httpcore version hides the network backend: the network guard "
                                       "cannot be installed")
                pool._network_backend = GuardedBackend(policy, self.resolver)
                self._transports[policy] = transport
            return transport

    def close(self) -> None:
        with self._lock:
            for transport in [*self._transports.values(), *self._proxied.values()]:
                transport.close()
            self._transports.clear()
            self._proxied.clear()
