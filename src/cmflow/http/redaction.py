"""Keeping tokens out of every message: URLs, headers, bodies and log records.

Platforms want tokens in places that end up in text: ``Authorization`` headers, query strings
(Meta's ``access_token=``, YouTube's ``key=``, and the ``paging.next`` URLs Meta builds with the
token inside) and token responses. :func:`redact` masks all of them, then applies the process-wide
:data:`cmflow.foundation.secrets.redactor` (every ``${env:NAME}`` value and every token given to the kit).
"""

from __future__ import annotations

import logging
import re

from cmflow.foundation.log_redaction import RedactingFilter
from cmflow.foundation.secrets import MASK, redactor

SECRET_JSON_KEYS = (
    "access_token", "refresh_token", "id_token", "token", "api_key", "client_secret",
    "password", "accessJwt", "refreshJwt",
)
"""JSON keys whose string value is a secret (token responses, session bodies)."""
SECRET_PARAMETERS = (
    *SECRET_JSON_KEYS, "key", "apikey", "appsecret_proof", "secret", "signature", "sig", "code",
    "input_token",
)
"""Query parameters whose value is a secret (``key`` is YouTube's API key, ``code`` OAuth's,
``input_token`` the token Meta's ``debug_token`` inspects)."""


def _alternatives(names: tuple[str, ...]) -> str:
    return "|".join(re.escape(name) for name in names)


_QUERY_VALUE = re.compile(rf"(?i)((?<![\w.-])(?:{_alternatives(SECRET_PARAMETERS)})=)[^&#\s'\"<>:;,)]*")
_JSON_VALUE = re.compile(  # JSON, and Python reprs of dicts
    rf"(?i)([\"'](?:{_alternatives(SECRET_JSON_KEYS)})[\"']\s*:\s*[\"'])[^\"']*")
_AUTHORIZATION = re.compile(  # a credential has a digit or a symbol, unlike "Bearer authentication"
    r"\b(Bearer|bearer|Basic|OAuth)\s+(?=[A-Za-z._~+/=-]*[0-9._~+/=-])[A-Za-z0-9._~+/=-]{8,}")


_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/?#@\s'\"<>]+@")
"""Credentials written in a URL (``https://user:password@host/``)."""


def redact(text: str) -> str:
    """``text`` with credentials in URLs, tokens in query strings, JSON bodies and auth headers,
    and every known secret, replaced by ``***``."""
    text = _USERINFO.sub(rf"\g<1>{MASK}@", text)
    text = _QUERY_VALUE.sub(rf"\g<1>{MASK}", text)
    text = _JSON_VALUE.sub(rf"\g<1>{MASK}", text)
    text = _AUTHORIZATION.sub(rf"\g<1> {MASK}", text)
    return redactor(text)


_FILTER = RedactingFilter(redact)  # cmflow.foundation.log_redaction's filter, with URL-aware redaction


def install_log_redaction() -> None:
    """Redact the loggers HTTP URLs and headers go through (idempotent)."""
    # A logger's filters only see records created on that very logger, so list the children.
    for name in ("httpx", "httpcore.connection", "httpcore.http11", "httpcore.http2",
                 "httpcore.proxy", "cmflow.http"):
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
