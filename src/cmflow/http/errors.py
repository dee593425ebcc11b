"""Errors a person can act on, raised by the HTTP kit for every platform.

Each says which source and platform failed, the platform's own error code, and what to do
next; every message is redacted (:func:`cmflow.http.redaction.redact`) when it is built and
again when it is shown, so tokens never reach logs, reports or the state store.
"""

from __future__ import annotations

from datetime import datetime, timezone

from cmflow.http.redaction import redact


class PlatformError(Exception):
    """A platform answered in a way the source cannot use. Subclasses say why."""

    def __init__(self, message: str, *, platform: str = "", source: str | None = None,
                 status: int | None = None, code: str | int | None = None, hint: str = "") -> None:
        self.platform = platform
        self.source = source
        self.status = status
        """The HTTP status, when there was a response."""
        self.code = code
        """The platform's own error code (Meta ``190``, LinkedIn ``NONEXISTENT_VERSION`` ...)."""
        self.message = redact(message)
        self.hint = redact(hint)
        super().__init__(self._text())

    def _text(self) -> str:
        who = f"source '{self.source}' ({self.platform})" if self.source else self.platform
        text = f"{who}: {self.message}" if who else self.message
        if self.hint:
            text += f". {self.hint}"
        return text

    def __str__(self) -> str:
        return redact(self._text())  # secrets registered after construction are masked too


class AuthExpired(PlatformError):
    """The token expired, was revoked or is invalid: a person must renew it."""


class PermissionMissing(PlatformError):
    """The token works but lacks a permission (scope) or role."""

    def __init__(self, message: str, *, scope: str | None = None, **details) -> None:
        self.scope = scope
        """The missing scope, when the platform's answer names it."""
        super().__init__(message, **details)


class RateLimited(PlatformError):
    """The platform's limit is reached and waiting more would pass ``max_total_wait``."""

    def __init__(self, message: str, *, retry_at: datetime | None = None, **details) -> None:
        self.retry_at = retry_at
        """When the platform says requests will be accepted again, if it says."""
        super().__init__(message, **details)


class ApiVersionExpired(PlatformError):
    """The pinned API version is no longer served (LinkedIn 426 ``NONEXISTENT_VERSION``)."""

    def __init__(self, message: str, *, option: str, **details) -> None:
        self.option = option
        """The source option that sets the version."""
        super().__init__(message, **details)


class BadResponse(PlatformError):
    """The answer is not what the API documents (not JSON, redirected, unreadable)."""


class ResponseTooLarge(BadResponse):
    """The body passed the client's ``max_response_bytes``; reading stopped there."""


class RequestRejected(PlatformError):
    """The platform refused the request itself (bad parameter, deprecated metric, not found)."""


class PlatformUnavailable(PlatformError):
    """Timeouts, connection errors or server errors that outlasted the retries."""


class AddressNotAllowed(PlatformError):
    """The network guard refused the connection: the host is or resolves to a loopback, private,
    link-local, metadata or other non-public address, and the plugin does not allow private
    networks (:mod:`cmflow.http.guard`). Never retried: a person must decide."""


class TooManyPages(PlatformError):
    """Pagination reached its ``max_pages`` safety cap."""


def format_time(epoch_seconds: float) -> str:
    """A UTC time people read in an error message."""
    return datetime.fromtimestamp(epoch_seconds, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def format_duration(seconds: float) -> str:
    """``95`` -> ``1 min 35 s``; ``7200`` -> ``2 h``."""
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours} h" if hours else "", f"{minutes} min" if minutes else "", f"{secs} s" if secs else ""]
    return " ".join(p for p in parts if p) or "0 s"
