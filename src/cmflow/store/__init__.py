"""The state store: run history, measurement history and alert state.

:class:`Store` is the interface the rest of cmflow uses. :class:`cmflow.store.sql.SqlStore`
implements it with SQLAlchemy Core, so one implementation serves SQLite (the default: one
file, WAL) and, later, PostgreSQL for teams running several daemons.
"""

from __future__ import annotations

from cmflow.store.errors import StoreBusy, StoreError, StoreMissing
from cmflow.store.interface import (
    this_host,
    same_host,
    WorkflowBusy,
    SlotAlreadyHandled,
    LockOwner,
    RunRecord,
    MissedSlots,
    SourceCursor,
    CachedRecord,
    DaemonRecord,
    AlertState,
    OutboxClaim,
    OutboxMessage,
    QueuedMessage,
    Store,
    FINISHED_STATUSES,
    FAILED_STATUSES,
    PENDING,
    DELIVERED,
    DEAD,
)
from cmflow.store.urls import STORE_VARIABLE, default_store_url, display_url, store_url_problem

__all__ = [
    "this_host",
    "same_host",
    "WorkflowBusy",
    "SlotAlreadyHandled",
    "LockOwner",
    "RunRecord",
    "MissedSlots",
    "SourceCursor",
    "CachedRecord",
    "DaemonRecord",
    "AlertState",
    "OutboxClaim",
    "OutboxMessage",
    "QueuedMessage",
    "Store",
    "FINISHED_STATUSES",
    "FAILED_STATUSES",
    "PENDING",
    "DELIVERED",
    "DEAD",
    "StoreBusy",
    "StoreError",
    "StoreMissing",
    "STORE_VARIABLE",
    "default_store_url",
    "display_url",
    "store_url_problem",
    "open_store",
]


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
