"""Credentials in URLs (a store's, the broker's, the shared budgets'): hidden wherever cmflow
prints one, whether in the user-info or the query (``?password=``), and never sent through Redis."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner

from cmflow.cli import main
from cmflow.foundation.errors import EXIT_INVALID
from cmflow.foundation.urls import display_url, display_urls_in, has_credentials, redis_url_problem, url_credentials


@pytest.mark.parametrize("url, shown", [
    ("postgresql://u@127.0.0.1:1/db?password=qsecret4", "postgresql://u@127.0.0.1:1/db?password=***"),
    ("postgresql://u:pw-one@db/cmflow?sslmode=require&sslpassword=key-secret",
     "postgresql://u:***@db/cmflow?sslmode=require&sslpassword=***"),
    ("redis://127.0.0.1:6379/0?PASSWORD=rsecret9", "redis://127.0.0.1:6379/0?PASSWORD=***"),
    ("rediss://:p%40ss-word@redis.example.org:6380/0", "rediss://:***@redis.example.org:6380/0"),
    ("redis://u:pa@ss@host:99999999999/0", "redis://u:***@host:99999999999/0"),  # malformed port
    ("postgresql://u:pw@[::1/db", "postgresql://u:***@[::1/db"),  # malformed host
    ("sqlite:////var/lib/cmflow/state.db?timeout=30", "sqlite:////var/lib/cmflow/state.db?timeout=30"),
])
def test_a_url_is_shown_without_its_credentials(url, shown):
    assert display_url(url) == shown


def test_the_credentials_of_a_url_are_found_where_drivers_read_them():
    assert url_credentials("postgresql://u:p%40ss@db/x?password=two&sslpassword=three&sslmode=require") == [
        "p@ss", "two", "three"]
    assert not has_credentials("postgresql+psycopg://cmflow@db:5432/cmflow?sslmode=require")
    assert not has_credentials("sqlite:////var/lib/cmflow/state.db")
    assert has_credentials("redis://127.0.0.1:6379/0?password=x-secret")


def test_urls_inside_a_message_are_shown_without_their_credentials():
    said = display_urls_in("cannot reach redis://:pw-in-info@10.0.0.1:6379/0?password=pw-in-query: refused")
    assert "pw-in-info" not in said and "pw-in-query" not in said
    assert said == "cannot reach redis://:***@10.0.0.1:6379/0?password=***: refused"


def test_the_metrics_log_hides_a_password_in_a_query():
    from cmflow.metrics.server import said

    line = said(ConnectionError("Error connecting to redis://10.0.0.1:6379/0?password=msecret7"))
    assert "msecret7" not in line and "password=***" in line


def test_a_store_password_in_the_query_never_travels_through_redis():
    from cmflow.daemon.run_messages import WrongStore, request_message, request_of
    from cmflow.daemon.worker import RunRequest

    url = "postgresql://cmflow@db.internal/cmflow?password=qsecret4"
    sent = RunRequest("/srv/flows/weekly.toml", "weekly", datetime(2026, 11, 23, 8, tzinfo=timezone.utc), url,
                      timedelta(minutes=30), '[workflow]\nname = "weekly"\n')
    message = request_message(sent)
    assert "qsecret4" not in repr(message)
    assert message["store"] is None and message["store_shown"] == "postgresql://cmflow@db.internal/cmflow?password=***"
    with pytest.raises(WrongStore, match="start the worker with --store"):
        request_of(message, None)


def test_a_store_url_without_credentials_travels_as_it_is():
    from cmflow.daemon.run_messages import request_message
    from cmflow.daemon.worker import RunRequest

    url = "postgresql+psycopg://cmflow@db.internal:5432/cmflow?sslmode=require"
    sent = RunRequest("/srv/flows/weekly.toml", "weekly", datetime(2026, 11, 23, 8, tzinfo=timezone.utc), url,
                      timedelta(minutes=30))
    assert request_message(sent)["store"] == url


def test_the_daemon_never_prints_a_store_password_given_in_the_query(tmp_path):
    (tmp_path / "cmflow-daemon.toml").write_text(
        '[daemon]\nstore = "postgresql://u@127.0.0.1:1/db?password=qsecret4"\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["daemon", str(tmp_path)])
    assert result.exit_code != 0
    assert "127.0.0.1" in result.output  # the store is named ...
    assert "qsecret4" not in result.output  # ... without its password
    assert "Traceback" not in result.output


@pytest.mark.parametrize("url", ["unix:///var/run/redis.sock", "amqp://guest:gsecret5@mq//", "redis://", "redis://h/x"])
def test_the_broker_and_the_shared_budgets_take_the_same_redis_urls(url):
    from cmflow.daemon.brokers import broker_url_problem
    from cmflow.http.shared_budget import shared_budgets_url

    problem = redis_url_problem(url)
    assert problem is not None and broker_url_problem(url) == problem
    with pytest.raises(ValueError) as refused:
        shared_budgets_url(url)
    assert problem in str(refused.value)
    assert "gsecret5" not in problem


def test_a_redis_url_both_take():
    from cmflow.daemon.brokers import broker_url_problem
    from cmflow.foundation.secrets import redactor
    from cmflow.http.shared_budget import shared_budgets_url

    url = "redis://127.0.0.1:6379/3?password=bsecret6"
    assert broker_url_problem(url) is None and shared_budgets_url(url) == url
    assert redactor("said bsecret6") == "said ***"  # taking it marks its password secret


def test_a_worker_with_an_unreachable_broker_hides_a_query_password(tmp_path):
    result = CliRunner().invoke(main, ["worker", "--broker", "redis://127.0.0.1:1/0?password=wsecret8",
                                       "--store", f"sqlite:///{tmp_path / 's.db'}"])
    assert result.exit_code != 0
    assert "wsecret8" not in result.output and "Traceback" not in result.output


def test_celery_and_the_shared_budgets_keep_their_redis_keys_apart():
    pytest.importorskip("celery")
    from cmflow.daemon.celery_app import key_prefix
    from cmflow.http.shared_budget import DEFAULT_PREFIX

    budget_keys = DEFAULT_PREFIX + ":"
    for queue in ("budget", "cmflow", "budget:x"):
        assert not key_prefix(queue).startswith(budget_keys)
        assert not budget_keys.startswith(key_prefix(queue))


def test_what_may_be_a_password_in_a_text_that_is_not_a_url_is_hidden():
    assert display_url("postgresql//cm:s3cretpw@db.example/cmflow") == "postgresql//***@db.example/cmflow"
