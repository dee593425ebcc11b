"""A :class:`RunRequest` and its :class:`RunOutcome` as plain JSON, for a broker to carry.

What travels is what a worker needs to run the slot and nothing secret: the workflow file's path
and validated content (secrets in it are ``${env:NAME}`` references, read on the worker), the
slot, the timeout, the id of the daemon's store, and the store's URL only when it holds no
credential at all (no password, in its user-info or its query). A store URL with one stays on
the machines: a worker then uses its own (``cmflow worker --store``).

A worker knows it writes to the daemon's store by the store's id
(:meth:`~cmflow.store.Store.identity`), never by comparing URLs: ``postgresql+psycopg://cmflow@db/cmflow``
and ``postgresql://cmflow:pw@db:5432/cmflow`` are the same store, and a relative SQLite path
names another file in another folder. A worker whose store has another id refuses the run.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from cmflow.daemon.worker import RunOutcome, RunRequest
from cmflow.foundation.urls import display_url, has_credentials


class WrongStore(RuntimeError):
    """The worker's store is not the daemon's, or the worker has none to use."""


def request_message(request: RunRequest) -> dict[str, Any]:
    """``request`` as JSON-ready values."""
    shown = display_url(request.store_url)
    return {
        "workflow_file": request.workflow_file,
        "workflow_key": request.workflow_key,
        "slot": request.slot.isoformat(),
        "timeout": request.timeout.total_seconds(),
        "workflow_text": request.workflow_text,
        "log_format": request.log_format,
        "log_level": request.log_level,
        "store": None if has_credentials(request.store_url) else request.store_url,
        "store_shown": shown,
        "store_identity": request.store_identity,
        "lock_lease": request.lock_lease.total_seconds(),
    }


def request_of(message: dict[str, Any], worker_store: str | None) -> RunRequest:
    """The request a message carries, run on ``worker_store`` (the worker's own, None: none
    given) or else on the daemon's store the message names; raises :class:`WrongStore`."""
    return RunRequest(
        workflow_file=message["workflow_file"],
        workflow_key=message["workflow_key"],
        slot=datetime.fromisoformat(message["slot"]),
        store_url=checked_store(message, store_of(message, worker_store)),
        timeout=timedelta(seconds=float(message["timeout"])),
        workflow_text=message.get("workflow_text"),
        log_format=message.get("log_format", "text"),
        log_level=int(message.get("log_level", logging.INFO)),
        store_identity=message.get("store_identity"),
        **({"lock_lease": timedelta(seconds=float(message["lock_lease"]))} if message.get("lock_lease") else {}),
    )


def store_of(message: dict[str, Any], worker_store: str | None) -> str:
    """The store a worker records a message's run in: its own, else the one the message names
    (see the module's docstring); not yet checked to be the daemon's (:func:`checked_store`)."""
    if worker_store is not None:
        return worker_store
    if message.get("store") is None:
        raise WrongStore(f"the daemon's store {message.get('store_shown')} has a password, which the broker "
                         "does not carry: start the worker with --store (or CMFLOW_STORE) naming it")
    return message["store"]


def checked_store(message: dict[str, Any], store_url: str) -> str:
    """``store_url`` when its store is the daemon's (the same id as the message's); raises
    :class:`WrongStore` naming both stores (passwords hidden) when it is another."""
    wanted = message.get("store_identity")
    if wanted is None:  # a message without an id (a test's, an older daemon's): nothing to compare
        return store_url
    found = store_identity(store_url)
    if found != wanted:
        raise WrongStore(f"this worker records runs in {display_url(store_url)} (store id {found}) but the "
                         f"daemon's store is {message.get('store_shown')} (store id {wanted}), another store: give "
                         "the worker the daemon's store (cmflow worker --store)")
    return store_url


_identities: dict[str, str] = {}
"""Store ids this process has read, by URL: a store's id never changes, so each is read once."""


def store_identity(store_url: str) -> str:
    """The id of the store at ``store_url`` (opened, and so created or upgraded, if need be)."""
    if store_url not in _identities:
        from cmflow.store import open_store

        with open_store(store_url) as store:
            _identities[store_url] = store.identity()
    return _identities[store_url]


def outcome_message(outcome: RunOutcome) -> dict[str, Any]:
    """``outcome`` as JSON-ready values (its request is not repeated: the daemon has it)."""
    return {"status": outcome.status, "run_id": outcome.run_id, "records": outcome.records,
            "error": outcome.error}


def outcome_of(request: RunRequest, message: dict[str, Any]) -> RunOutcome:
    """The outcome a worker sent back for ``request``. A run elsewhere has no local process:
    its ``pid`` is None (the daemon closes store rows only for processes of its own host)."""
    return RunOutcome(request, str(message["status"]), message.get("run_id"), int(message.get("records") or 0),
                      message.get("error"))
