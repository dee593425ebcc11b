"""The HTTP kit every platform source builds on (public: plugin authors import it too).

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

from cmflow.http.budget import BudgetLimits, RequestBudget
from cmflow.http.client import HttpClient, PlatformSession, http2_available, make_client, user_agent
from cmflow.http.errors import (AddressNotAllowed, ApiVersionExpired, AuthExpired, BadResponse, PermissionMissing,
                     PlatformError, PlatformUnavailable, RateLimited, RequestRejected, ResponseTooLarge,
                     TooManyPages)
from cmflow.http.guard import (ANY_ADDRESS, PRIVATE_NETWORK_OPTION, PUBLIC_ONLY, NetworkPolicy, allow_private_network_option,
                    host_problem, network_policy, refused_url_problem, url_problem)
from cmflow.http.pagination import Cursor, LinkHeader, NextUrl, OffsetLimit, PageRequest, PageToken, Paging
from cmflow.http.platforms import PLATFORMS, ApiResponse, Platform, Verdict, get_platform
from cmflow.http.redaction import redact
from cmflow.http.retry import RetryPolicy

__all__ = [
    "make_client", "HttpClient", "PlatformSession", "ApiResponse", "RetryPolicy", "BudgetLimits",
    "RequestBudget", "user_agent", "http2_available", "redact",
    # errors
    "PlatformError", "AuthExpired", "PermissionMissing", "RateLimited", "ApiVersionExpired",
    "BadResponse", "ResponseTooLarge", "RequestRejected", "PlatformUnavailable", "TooManyPages",
    "AddressNotAllowed",
    # the network guard
    "NetworkPolicy", "PUBLIC_ONLY", "ANY_ADDRESS", "network_policy", "host_problem", "PRIVATE_NETWORK_OPTION",
    "url_problem", "refused_url_problem", "allow_private_network_option",
    # pagination
    "Paging", "PageRequest", "NextUrl", "LinkHeader", "Cursor", "PageToken", "OffsetLimit",
    # platforms
    "Platform", "PLATFORMS", "Verdict", "get_platform",
]
