"""The PostgreSQL and Redis servers some tests need, found from the environment.

``bash .ci/services`` starts both on loopback and prints the variables (``CMFLOW_TEST_POSTGRES``,
``CMFLOW_TEST_REDIS``). Without them, the tests that need a server skip and say which variable to
set; with ``CMFLOW_TEST_REQUIRE_SERVICES=1`` (``.ci/run`` sets it) such a skip is a failure, so
CI always runs them.
"""

from __future__ import annotations

import os
import uuid

import pytest

POSTGRES_VARIABLE = "CMFLOW_TEST_POSTGRES"
REDIS_VARIABLE = "CMFLOW_TEST_REDIS"
REQUIRE_VARIABLE = "CMFLOW_TEST_REQUIRE_SERVICES"


def server_url(variable: str, what: str) -> str:
    """The URL in ``variable``, or a skip (a failure under ``CMFLOW_TEST_REQUIRE_SERVICES``)."""
    url = os.environ.get(variable)
    if url:
        return url
    reason = (f"needs {what}: set {variable} (eval \"$(sudo bash .ci/services)\" starts one on loopback "
              "and prints it)")
    if os.environ.get(REQUIRE_VARIABLE):
        pytest.fail(f"{reason}; {REQUIRE_VARIABLE} is set, so this cannot be skipped")
    pytest.skip(reason)


def unique_name(prefix: str) -> str:
    """A name no other test (or xdist worker) uses at the same time."""
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


def fresh_postgres_database() -> "tuple[str, callable]":
    """Create a database of its own on the test server: its SQLAlchemy URL (the psycopg 3
    driver) and a function that drops it."""
    import sqlalchemy as sa

    admin_url = sa.make_url(server_url(POSTGRES_VARIABLE, "a PostgreSQL server")).set(
        drivername="postgresql+psycopg")
    name = unique_name("cmflow_test")
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return admin_url.set(database=name).render_as_string(hide_password=False), drop
