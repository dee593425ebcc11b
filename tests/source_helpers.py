"""What the platform sources' tests share: a source pointed at a loopback replay server, and
running its fetch() (or its credential check) as the runner does.

A plain module (like ``loopback_smtp``): the tests import it. The HTTP client runs in virtual
time, so waits are asserted, never slept.
"""

from __future__ import annotations

import logging
import traceback
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator, Sequence

import pytest

from cmflow import FetchContext, Period, Source
from cmflow.http import make_client
from cmflow.testing import VirtualTime


@contextmanager
def virtual_client(vtime: VirtualTime | None = None, **settings: Any) -> Iterator[Any]:
    """An HTTP client whose clock and sleep are ``vtime``'s (a fresh VirtualTime by default)."""
    vtime = vtime or VirtualTime()
    with make_client(clock=vtime.clock, sleep=vtime.sleep, **settings) as client:
        yield client


@pytest.fixture
def vtime() -> VirtualTime:
    """A virtual clock (2026-11-24 09:00 UTC); import it into a test module to use it."""
    return VirtualTime()


@pytest.fixture
def client(vtime):
    """An HTTP client in ``vtime``; import it into a test module (with ``vtime``) to use it."""
    with virtual_client(vtime) as http:
        yield http


def fetch_frames(source: Source, client: Any, window: tuple[datetime, datetime], periods: Sequence[Period],
                 problems: list[str] | None = None) -> tuple[dict[str, Any], FetchContext]:
    """Run ``source.fetch`` over ``window`` through ``client``: its canonical frames by kind, and
    the context (whose ``problems`` are the run's warnings)."""
    ctx = FetchContext(*window, list(periods), Path("."), logging.getLogger(f"test.{source.name}"),
                       problems if problems is not None else [], http_client=lambda: client)
    return {table.kind: table.conformed() for table in source.fetch(ctx)}, ctx


def fetch_records(source: Source, client: Any, window: tuple[datetime, datetime],
                  periods: Sequence[Period]) -> tuple[dict[str, list[dict[str, Any]]], list[str]]:
    """:func:`fetch_frames` as rows: the records by kind, and the run's warnings."""
    frames, ctx = fetch_frames(source, client, window, periods)
    return {kind: frame.to_dicts() for kind, frame in frames.items()}, ctx.problems


def period_window(period: Period) -> tuple[datetime, datetime]:
    """The fetch window of a run over ``period`` alone."""
    return period.start_utc, period.end_utc


def error_texts(error: BaseException) -> list[str]:
    """Every form in which a person or a log may see an error: message, repr and traceback."""
    return [str(error), repr(error), "".join(traceback.format_exception(error))]


def log_texts(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The messages the run logged (``caplog``'s records)."""
    return [record.getMessage() for record in caplog.records]


def loopback_source(source_class: type[Source], server: Any, entry_id: str, **settings: Any) -> Source:
    """A ``source_class`` reading the loopback replay ``server`` (its ``base_url``, with private
    addresses allowed), with its other options from ``settings``."""
    return source_class(source_class.Options(base_url=server.url, allow_private_network=True, **settings),
                        entry_id=entry_id)


def fetch_period(source: Source, period: Period, vtime: VirtualTime | None = None
                 ) -> tuple[dict[str, list[dict[str, Any]]], list[str]]:
    """:func:`fetch_records` over ``period`` alone, through a fresh client in ``vtime``."""
    with virtual_client(vtime) as client:
        return fetch_records(source, client, period_window(period), [period])


def credential_rows(source: Source, period: Period) -> list[Any]:
    """What ``cmflow doctor`` shows for ``source`` (its ``check_credentials``), through a fresh
    virtual client."""
    with virtual_client() as client:
        ctx = FetchContext(*period_window(period), [period], Path("."), logging.getLogger(f"test.{source.name}"), [],
                           http_client=lambda: client)
        return source.check_credentials(ctx)


def by_item_id(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Calendar items by their ``item_id``."""
    return {item["item_id"]: item for item in items}
