"""The HTTP kit every platform source builds on (public: plugin authors import it too, the
names in ``__all__``; the modules behind them may move between releases).

::

    from cmflow.http import make_client, NextUrl

    with make_client() as http:
        instagram = http.session("instagram", base_url="https://graph.facebook.com/v25.0",
                                 token=token, source="ig_main")
        for page in instagram.pages("/17841405822304914/media", paging=NextUrl()):
            ...

See ``docs/http.md``: the client, the network guard, the errors, the pagination styles and the
replay server.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cmflow.http.budget import BudgetLimits
    from cmflow.http.client import HttpClient, PlatformSession, make_client, user_agent
    from cmflow.http.errors import (AddressNotAllowed, ApiVersionExpired, AuthExpired, BadResponse, PermissionMissing,
                                    PlatformError, PlatformUnavailable, RateLimited, RequestRejected, ResponseTooLarge,
                                    TooManyPages)
    from cmflow.http.guard import host_problem, refused_url_problem, url_problem
    from cmflow.http.options import allow_private_network_option
    from cmflow.http.pagination import Cursor, LinkHeader, NextUrl, OffsetLimit, PageRequest, PageToken, Paging
    from cmflow.http.platforms import ApiResponse, Pace, Platform, RetryDecision, error_message, get_platform, retry_after
    from cmflow.http.redaction import redact
    from cmflow.http.retry import RetryPolicy

_MODULE_OF = {
    "BudgetLimits": "budget",
    **dict.fromkeys(("HttpClient", "PlatformSession", "make_client", "user_agent"), "client"),
    **dict.fromkeys(("AddressNotAllowed", "ApiVersionExpired", "AuthExpired", "BadResponse", "PermissionMissing",
                     "PlatformError", "PlatformUnavailable", "RateLimited", "RequestRejected", "ResponseTooLarge",
                     "TooManyPages"), "errors"),
    "allow_private_network_option": "options",
    **dict.fromkeys(("host_problem", "refused_url_problem", "url_problem"), "guard"),
    **dict.fromkeys(("Cursor", "LinkHeader", "NextUrl", "OffsetLimit", "PageRequest", "PageToken", "Paging"),
                    "pagination"),
    **dict.fromkeys(("ApiResponse", "Pace", "Platform", "RetryDecision", "error_message", "get_platform",
                     "retry_after"), "platforms"),
    "redact": "redaction",
    "RetryPolicy": "retry",
}
"""Where each public name lives: imported on first use, so that a plugin whose options only need
the network guard (a file source that may also read a URL) does not load httpx when a workflow
is merely validated."""


def __getattr__(name: str):
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'cmflow.http' has no attribute {name!r}")
    value = getattr(import_module(f"cmflow.http.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_MODULE_OF])


__all__ = [
    # the client
    "make_client", "HttpClient", "PlatformSession", "ApiResponse", "RetryPolicy", "BudgetLimits", "user_agent",
    "redact",
    # errors
    "PlatformError", "AuthExpired", "PermissionMissing", "RateLimited", "ApiVersionExpired",
    "BadResponse", "ResponseTooLarge", "RequestRejected", "PlatformUnavailable", "TooManyPages",
    "AddressNotAllowed",
    # the network guard, for a plugin whose options name a host
    "allow_private_network_option", "url_problem", "refused_url_problem", "host_problem",
    # pagination
    "Paging", "PageRequest", "NextUrl", "LinkHeader", "Cursor", "PageToken", "OffsetLimit",
    # platforms: their rules, and what a platform's own rule (classify) answers
    "Platform", "get_platform", "RetryDecision", "Pace", "retry_after", "error_message",
]
