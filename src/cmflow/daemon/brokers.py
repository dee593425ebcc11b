"""The broker that carries runs to Celery workers (Redis): its URL, how it is shown, whether it
answers, and whether Celery is installed at all.

``[daemon] broker`` (or ``CMFLOW_BROKER``) names it for the daemon, ``cmflow worker --broker``
for a worker. Every problem here is a sentence fit for a one-screen error: what is wrong and
what to write or do instead. A password in the URL is masked wherever cmflow prints it.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from cmflow.foundation.secrets import mark_secret, redactor

BROKER_VARIABLE = "CMFLOW_BROKER"
"""The environment variable naming the broker when no setting or option does."""
SCHEMES = ("redis", "rediss")
EXAMPLE = "redis://127.0.0.1:6379/0 (or rediss://:PASSWORD@redis.example.org:6380/0 over TLS)"
CELERY_MISSING = "runs on Celery workers need Celery and redis-py: pip install 'cmflow[celery]'"
REACH_SECONDS = 5.0
"""How long a look at the broker waits for an answer before calling it unreachable."""


def broker_url_problem(url: str) -> str | None:
    """What is wrong with a broker URL that can be told without connecting; None when nothing is."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (a port that is not a number raises here)
    except ValueError as exc:
        return f"{display_broker_url(url)!r} is not a broker URL ({exc}); write one such as {EXAMPLE}"
    if parts.scheme not in SCHEMES:
        return (f"{display_broker_url(url)!r} is not a Redis URL; cmflow's broker is Redis: write one "
                f"such as {EXAMPLE}")
    if not parts.hostname:
        return f"{display_broker_url(url)!r} names no host; write one such as {EXAMPLE}"
    database = parts.path.strip("/")
    if database and not database.isdigit():
        return f"{display_broker_url(url)!r}: the database after the last / is a number (redis://HOST:6379/0)"
    return None


def display_broker_url(url: str) -> str:
    """The broker URL fit to print: its password masked."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        password = None
    if password:
        url = url.replace(f":{password}@", ":***@", 1)
    return redactor(url)


def hide_broker_password(url: str) -> None:
    """Mask the broker's password in every line cmflow logs from now on (Celery's too)."""
    try:
        password = urlsplit(url).password
    except ValueError:
        return
    if password:
        mark_secret(password)


def broker_from_environment() -> str | None:
    """``CMFLOW_BROKER``, when set."""
    return os.environ.get(BROKER_VARIABLE) or None


def celery_installed() -> bool:
    """Whether the ``celery`` extra is installed (Celery and redis-py)."""
    from importlib.util import find_spec

    return find_spec("celery") is not None and find_spec("redis") is not None


def broker_unreachable(url: str, seconds: float = REACH_SECONDS) -> str | None:
    """Why the broker does not answer a PING within ``seconds`` (refused, unknown host, wrong
    password); None when it answers."""
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=seconds, socket_timeout=seconds)
        try:
            client.ping()
        finally:
            client.close()
    except redis.AuthenticationError as exc:
        return f"the broker {display_broker_url(url)} refused the password: {redactor(str(exc))}"
    except (redis.RedisError, OSError) as exc:
        return (f"cannot reach the broker {display_broker_url(url)}: {redactor(str(exc)).rstrip('.') or type(exc).__name__}; "
                "is Redis running there, and is the URL right?")
    return None
