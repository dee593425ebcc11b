"""The HTTP endpoint Prometheus scrapes: prometheus-client's own server, in a thread."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cmflow.foundation.listen_addresses import ListenAddress, parse_listen_address

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

INSTALL_HINT = "install the metrics extra: pip install 'cmflow[metrics]'"


def said(error: BaseException) -> str:
    """An error as one line for the log: secrets masked, passwords in URLs too."""
    from cmflow.foundation.urls import display_urls_in

    return display_urls_in(f"{type(error).__name__}: {error}")


class MetricsUnavailable(RuntimeError):
    """The endpoint cannot be served; the message says why and what to do."""


def require_prometheus_client() -> None:
    """Raise :class:`MetricsUnavailable` when prometheus-client is not installed."""
    try:
        import prometheus_client  # noqa: F401
    except ImportError:
        raise MetricsUnavailable(f"metrics need the prometheus-client package: {INSTALL_HINT}") from None


class MetricsServer:
    """A running endpoint: ``address`` is where it listens (its real port when 0 was asked)."""

    def __init__(self, registry: "CollectorRegistry", address: str | ListenAddress) -> None:
        require_prometheus_client()
        from prometheus_client import start_http_server

        wanted = parse_listen_address(address) if isinstance(address, str) else address
        try:
            self._server, self._thread = start_http_server(wanted.port, wanted.host, registry)
        except OSError as exc:
            raise MetricsUnavailable(f"cannot serve metrics on {wanted}: {exc.strerror or exc}; choose another "
                                     "address ([daemon] metrics, --metrics-address) or stop what uses it") from None
        self.address = ListenAddress(wanted.host, self._server.server_address[1])

    @property
    def url(self) -> str:
        """The URL to scrape."""
        return f"http://{self.address}/metrics"

    def close(self) -> None:
        """Stop listening."""
        self._server.shutdown()
        self._server.server_close()
