"""``cmflow doctor``: will each source's credentials still work at the next run?

A scheduled run that fails on Monday morning because a token expired on Sunday is the most
common way a workflow breaks. Each source checks its own credentials
(:meth:`cmflow.Source.check_credentials`) with a few cheap requests through the run's HTTP kit
(the same sessions, budgets, retries and redaction as ``fetch``) and answers
:class:`CredentialCheck` rows: is the token valid, which scopes it has and lacks, when it
expires, how much of the platform's rate budget is left, and what to do. The rows and their
statuses are the plugin contract's (:mod:`cmflow.plugins.credentials`); this module runs the
checks of a whole workflow.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Callable, Iterable

from cmflow.plugins.credentials import CredentialCheck, Status, worst

if TYPE_CHECKING:
    from cmflow.http import HttpClient
    from cmflow.workflow import Entry, Workflow

MAX_PARALLEL_CHECKS = 8

log = logging.getLogger("cmflow.doctor")
log.addHandler(logging.NullHandler())  # what sources warn about is in their rows, not on stderr


# -- a whole workflow ---------------------------------------------------------------------------
def check_workflow(workflow: "Workflow", *, http: "HttpClient | Callable[[], HttpClient] | None" = None,
                   now: datetime | None = None, max_parallel: int = MAX_PARALLEL_CHECKS) -> list[CredentialCheck]:
    """Every source's :meth:`~cmflow.Source.check_credentials` rows, in the workflow's order.

    Sources are checked concurrently through one HTTP client (``http``, else one made here with
    a short retry budget, so that a throttled platform does not hold the doctor for 15
    minutes). One source raising never stops the others: its row says ``fail`` with the
    (redacted) error.
    """
    from cmflow.foundation import periods as periods_module
    from cmflow.plugins.context import FetchContext, SharedHttpClient
    from cmflow.http import RetryPolicy

    tz = workflow.settings.timezone
    today = workflow.settings.as_of or periods_module.today_in(tz, now)
    period = periods_module.parse_period(workflow.settings.period, tz, today)
    window_start, window_end = period.start_utc - timedelta(days=1), period.end_utc
    owned = None
    if http is None:
        owned = SharedHttpClient(retry=RetryPolicy(max_attempts=3, max_total_wait=60.0))
        client: Callable[[], Any] = owned
    else:
        client = http if callable(http) else (lambda: http)  # a SharedHttpClient, or a client

    def check(entry: "Entry") -> list[CredentialCheck]:
        ctx = FetchContext(window_start, window_end, [period], workflow.directory,
                           log.getChild(entry.id), [], client)
        try:
            rows = entry.plugin.check_credentials(ctx)
            return _conformed(rows, entry)
        except Exception as exc:
            log.debug("source %s: check_credentials failed", entry.id, exc_info=True)
            row = CredentialCheck(entry.id, entry.info.name)
            return [row.flag("fail", f"cmflow could not check this source: {type(exc).__name__}: {exc}")]

    try:
        if not workflow.sources:
            return []
        with ThreadPoolExecutor(max_workers=max(1, min(max_parallel, len(workflow.sources))),
                                thread_name_prefix="doctor") as pool:
            results = list(pool.map(check, workflow.sources))
    finally:
        if owned is not None:
            owned.close()
    return [row for rows in results for row in rows]


def _conformed(rows: Any, entry: "Entry") -> list[CredentialCheck]:
    """The rows a plugin returned, checked: a third-party plugin may return anything."""
    if isinstance(rows, CredentialCheck):
        rows = [rows]
    rows = list(rows or [])
    if not rows:
        return [CredentialCheck(entry.id, entry.info.name, message="check_credentials() returned no row",
                                checked=False)]
    for row in rows:
        if not isinstance(row, CredentialCheck):
            raise TypeError(f"check_credentials() must return CredentialCheck rows, got {type(row).__name__}")
        row.source, row.plugin = row.source or entry.id, row.plugin or entry.info.name
    return rows


def exit_status(rows: Iterable[CredentialCheck]) -> Status:
    """The worst status of the rows: ``fail`` makes ``cmflow doctor`` exit 1."""
    return worst(*(row.status for row in rows))
