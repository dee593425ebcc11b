"""URLs that may carry credentials (a store's, a broker's, the shared budgets' Redis): how one
is shown with its secrets hidden, which secrets it holds, and what is wrong with a Redis one.

A URL holds a credential in two places: the password of its user-info (``scheme://user:PASSWORD@host``)
and a query key drivers read as one (libpq and psycopg take ``?password=`` and
``?sslpassword=``, redis-py ``?password=``). Every place cmflow prints or sends a URL goes
through here, so that both are hidden alike.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, unquote, urlsplit

from cmflow.foundation.secrets import MASK, redactor

CREDENTIAL_KEYS = frozenset({"password", "sslpassword", "passwd", "pwd", "secret", "token"})
"""Query keys whose value is a credential (compared without regard to case)."""

_CREDENTIAL_QUERY = re.compile(r"([?&;](?:" + "|".join(sorted(CREDENTIAL_KEYS)) + r")=)[^&;#\s]*", re.IGNORECASE)
_USER_INFO_PASSWORD = re.compile(r"(://[^:/@\s]*):[^\s]*@(?=[^@\s]*$)")
_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]*[^\s'\"<>.,:;)!?]")
"""A URL in a sentence: punctuation right after it ends the sentence, not the URL."""


def display_url(url: str) -> str:
    """``url`` fit to print: the user-info password and credential query values as ``***``,
    and any known secret redacted. Works on malformed URLs too."""
    shown = url
    try:
        netloc = urlsplit(url).netloc
    except ValueError:  # a malformed port or bracket: mask by pattern
        netloc = None
    if netloc is not None:
        user_info, at, host = netloc.rpartition("@")
        if at and ":" in user_info:
            user = user_info.split(":", 1)[0]
            shown = url.replace(f"//{netloc}", f"//{user}:{MASK}@{host}", 1)
    else:
        shown = _USER_INFO_PASSWORD.sub(rf"\1:{MASK}@", url)
    if "://" not in url:  # not a URL at all (postgresql//u:pw@db): whatever may be a user and password goes
        shown = re.sub(r"[^/@\s]+@", f"{MASK}@", shown)
    return redactor(_CREDENTIAL_QUERY.sub(rf"\1{MASK}", shown))


def display_urls_in(text: str) -> str:
    """``text`` (an error message, a log line) with every URL in it shown as :func:`display_url` does."""
    return redactor(_URL_IN_TEXT.sub(lambda match: display_url(match.group(0)), text))


def url_credentials(url: str) -> list[str]:
    """The credentials ``url`` holds: its user-info password and credential query values
    (decoded), empty when it holds none."""
    found: list[str] = []
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        parts, password = None, None
        if match := re.search(r"://[^:/@\s]*:([^\s]*)@", url):
            password = match.group(1)
    if password:
        found.append(unquote(password))
    query = parts.query if parts is not None else url.partition("?")[2]
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key.lower() in CREDENTIAL_KEYS and value:
            found.append(value)
    return found


def has_credentials(url: str) -> bool:
    """Whether ``url`` holds a password or another credential (see :func:`url_credentials`)."""
    return bool(url_credentials(url))


def mark_url_secrets(url: str) -> None:
    """Mask the credentials of ``url`` in everything cmflow prints from now on (logs, errors;
    Celery's and other libraries' lines too)."""
    for credential in url_credentials(url):
        redactor.add(credential)


REDIS_SCHEMES = ("redis", "rediss")
REDIS_EXAMPLE = "redis://127.0.0.1:6379/0 (redis://:PASSWORD@HOST:6379/0 with a password, rediss:// over TLS)"


def redis_url_problem(url: str) -> str | None:
    """What is wrong with a Redis URL (the broker's, the shared budgets') that can be told
    without connecting; None when nothing is. Celery's broker and redis-py both take
    ``redis://`` and ``rediss://``; a socket path (``unix://``) is not one Celery takes, so it
    is refused for both."""
    shown = display_url(url)
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (a port that is not a number raises here)
    except ValueError as exc:
        return f"{shown!r} is not a Redis URL ({exc}); write one such as {REDIS_EXAMPLE}"
    if parts.scheme not in REDIS_SCHEMES:
        return f"{shown!r} is not a Redis URL; write one such as {REDIS_EXAMPLE}"
    if not parts.hostname:
        return f"{shown!r} names no host; write one such as {REDIS_EXAMPLE}"
    database = parts.path.strip("/")
    if database and not database.isdigit():
        return f"{shown!r}: the database after the last / is a number (redis://HOST:6379/0)"
    return None
