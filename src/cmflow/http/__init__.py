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

from cmflow.http.budget import BudgetLimits
from cmflow.http.client import HttpClient, PlatformSession, make_client, user_agent
from cmflow.http.errors import (AddressNotAllowed, ApiVersionExpired, AuthExpired, BadResponse, PermissionMissing,
                                PlatformError, PlatformUnavailable, RateLimited, RequestRejected, ResponseTooLarge,
                                TooManyPages)
from cmflow.http.guard import allow_private_network_option, host_problem, refused_url_problem, url_problem
from cmflow.http.pagination import Cursor, LinkHeader, NextUrl, OffsetLimit, PageRequest, PageToken, Paging
from cmflow.http.platforms import ApiResponse, Pace, Platform, RetryDecision, error_message, get_platform, retry_after
from cmflow.http.redaction import redact
from cmflow.http.retry import RetryPolicy

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
