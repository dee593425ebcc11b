"""A :class:`RunRequest` and its :class:`RunOutcome` as plain JSON, for a broker to carry.

What travels is what a worker needs to run the slot and nothing secret: the workflow file's path
and validated content (secrets in it are ``${env:NAME}`` references, read on the worker), the
slot, the timeout, and the store's URL only when it holds no password. A store URL with a
password stays on the machines: a worker then uses its own (``cmflow worker --store``), and the
message carries the URL with its password masked, so that a worker given another store refuses
the run instead of recording it in the wrong place.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from cmflow.daemon.worker import RunOutcome, RunRequest
from cmflow.store.urls import display_url


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
        "store": request.store_url if shown == request.store_url else None,
        "store_shown": shown,
    }


def request_of(message: dict[str, Any], worker_store: str | None) -> RunRequest:
    """The request a message carries, run on ``worker_store`` (the worker's own, None: none
    given) or else on the daemon's store the message names; raises :class:`WrongStore`."""
    return RunRequest(
        workflow_file=message["workflow_file"],
        workflow_key=message["workflow_key"],
        slot=datetime.fromisoformat(message["slot"]),
        store_url=store_of(message, worker_store),
        timeout=timedelta(seconds=float(message["timeout"])),
        workflow_text=message.get("workflow_text"),
        log_format=message.get("log_format", "text"),
        log_level=int(message.get("log_level", logging.INFO)),
    )


def store_of(message: dict[str, Any], worker_store: str | None) -> str:
    """The store a worker records a message's run in (see the module's docstring)."""
    wanted = message.get("store_shown")
    if worker_store is not None:
        if wanted is not None and display_url(worker_store) != wanted:
            raise WrongStore(f"this worker records runs in {display_url(worker_store)} but the daemon's store is "
                             f"{wanted}: give the worker the daemon's store (cmflow worker --store)")
        return worker_store
    if message.get("store") is None:
        raise WrongStore(f"the daemon's store {wanted} has a password, which the broker does not carry: "
                         "start the worker with --store (or CMFLOW_STORE) naming it")
    return message["store"]


def outcome_message(outcome: RunOutcome) -> dict[str, Any]:
    """``outcome`` as JSON-ready values (its request is not repeated: the daemon has it)."""
    return {"status": outcome.status, "run_id": outcome.run_id, "records": outcome.records,
            "error": outcome.error}


def outcome_of(request: RunRequest, message: dict[str, Any]) -> RunOutcome:
    """The outcome a worker sent back for ``request``. A run elsewhere has no local process:
    its ``pid`` is None (the daemon closes store rows only for processes of its own host)."""
    return RunOutcome(request, str(message["status"]), message.get("run_id"), int(message.get("records") or 0),
                      message.get("error"))
