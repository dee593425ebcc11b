"""The state store: run history, measurement history and alert state.

:class:`Store` is the interface the rest of cmflow uses. :class:`cmflow.store.sql.SqlStore`
implements it with SQLAlchemy Core, so one implementation serves SQLite (the default: one
file, WAL) and, later, PostgreSQL for teams running several daemons.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cmflow.store.errors import StoreBusy, StoreError, StoreMissing, StoreUnreachable
from cmflow.store.urls import STORE_VARIABLE, default_store_url, display_url, store_url_problem

_INTERFACE = (
    "this_host", "same_host", "WorkflowBusy", "SlotAlreadyHandled", "LockOwner", "LockTenure", "RunLockHold", "RunLockLost", "RunRecord", "MissedSlots", "DeadRun",
    "SourceCursor", "CachedRecord", "DaemonRecord", "AlertState", "OutboxClaim", "OutboxMessage",
    "QueuedMessage", "OutboxDepth", "Lease", "LeaseAnswer", "LeaseHolder", "Store", "FINISHED_STATUSES", "SLOT_COUNTS_AS_RUN",
    "FAILED_STATUSES", "PENDING", "DELIVERED", "DEAD",
)
"""Names of :mod:`cmflow.store.interface`, imported on first use (PEP 562): checking a store URL
(``cmflow validate``) needs none of its dataclasses."""

__all__ = [
    *_INTERFACE,
    "StoreBusy",
    "StoreError",
    "StoreMissing",
    "StoreUnreachable",
    "STORE_VARIABLE",
    "default_store_url",
    "display_url",
    "store_url_problem",
    "open_store",
]


def __getattr__(name: str) -> Any:
    if name not in _INTERFACE:
        raise AttributeError(f"module 'cmflow.store' has no attribute {name!r}")
    from cmflow.store import interface

    value = globals()[name] = getattr(interface, name)
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


if TYPE_CHECKING:  # what type checkers and editors see
    from cmflow.store.interface import (DEAD, DELIVERED, FAILED_STATUSES, FINISHED_STATUSES, PENDING, AlertState,
                                        CachedRecord, DaemonRecord, DeadRun, Lease, LeaseAnswer, LeaseHolder, LockOwner,
                                        MissedSlots, OutboxClaim, OutboxDepth, OutboxMessage, QueuedMessage,
                                        LockTenure, RunLockHold, RunLockLost, RunRecord, SlotAlreadyHandled, SourceCursor, Store, WorkflowBusy, same_host,
                                        this_host)


def open_store(url: str | None = None, *, read_only: bool = False) -> Store:
    """Open the store at a SQLAlchemy URL, creating and migrating it as needed.

    ``read_only`` is for commands that only read: nothing is created or changed, a SQLite
    file that does not exist raises :class:`StoreMissing`, and one this user may not write
    is read all the same. Any failure raises a :class:`StoreError` that names the store and
    says what to do (:mod:`cmflow.store.errors`).
    """
    from cmflow.store.errors import explain
    from cmflow.store.sql import SqlStore

    url = url or default_store_url()
    try:
        return SqlStore(url, read_only=read_only)
    except Exception as error:
        explained = explain(error, url, opening=True)
        if explained is error:
            raise
        raise explained from error
