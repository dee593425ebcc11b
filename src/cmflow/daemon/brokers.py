"""The broker that carries runs to Celery workers (Redis): its URL, how it is shown, whether it
answers, and whether Celery is installed at all.

``[daemon] broker`` (or ``CMFLOW_BROKER``) names it for the daemon, ``cmflow worker --broker``
for a worker. Every problem here is a sentence fit for a one-screen error: what is wrong and
what to write or do instead. A password in the URL is masked wherever cmflow prints it.
"""

from __future__ import annotations

import os
from cmflow.foundation.secrets import redactor
from cmflow.foundation.urls import REDIS_EXAMPLE, display_url, redis_url_problem

BROKER_VARIABLE = "CMFLOW_BROKER"
"""The environment variable naming the broker when no setting or option does."""
EXAMPLE = REDIS_EXAMPLE
CELERY_MISSING = "runs on Celery workers need Celery and redis-py: pip install 'cmflow[celery]'"
REACH_SECONDS = 5.0
"""How long a look at the broker waits for an answer before calling it unreachable."""


def broker_url_problem(url: str) -> str | None:
    """What is wrong with a broker URL that can be told without connecting; None when nothing is
    (the one check of a Redis URL, which the shared budgets use too)."""
    return redis_url_problem(url)


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
        return f"the broker {display_url(url)} refused the password: {redactor(str(exc))}"
    except (redis.RedisError, OSError) as exc:
        return (f"cannot reach the broker {display_url(url)}: {redactor(str(exc)).rstrip('.') or type(exc).__name__}; "
                "is Redis running there, and is the URL right?")
    return None
