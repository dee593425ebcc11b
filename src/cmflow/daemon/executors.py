"""The executor the daemon's ``[daemon]`` settings choose: ``local`` (processes of this machine,
each serving ``runs_per_process`` runs, :class:`~cmflow.daemon.executor.LocalProcessPool`) or ``celery`` (runs on Celery workers,
:class:`~cmflow.daemon.celery_executor.CeleryExecutor`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from cmflow.daemon.executor import Executor, LocalProcessPool

if TYPE_CHECKING:
    from cmflow.daemon.settings import DaemonOptions


def executor_problem(options: "DaemonOptions", store_url: str | None = None) -> str | None:
    """Why the executor the ``[daemon]`` settings choose cannot be made here, with the store at
    ``store_url`` (default: ``[daemon] store``); None when it can."""
    from cmflow.daemon.brokers import (BROKER_VARIABLE, CELERY_MISSING, broker_from_environment, broker_url_problem,
                                       celery_installed)

    if options.executor != "celery":
        return None
    if not celery_installed():
        return f'[daemon] executor = "celery": {CELERY_MISSING}'
    broker = options.broker or broker_from_environment()
    if not broker:
        return (f'[daemon] executor = "celery" needs a broker: set [daemon] broker = "redis://HOST:6379/0" '
                f"(or {BROKER_VARIABLE})")
    if options.broker is None and (problem := broker_url_problem(broker)):
        return f"{BROKER_VARIABLE}: {problem}"
    return relative_store_problem(store_url or options.store)


def relative_store_problem(store_url: str | None) -> str | None:
    """With Celery workers, a SQLite store named relative to the current folder would be another
    file for a worker started in another folder: refused, saying what to write instead."""
    from cmflow.store.urls import relative_sqlite_path

    if store_url is None or (path := relative_sqlite_path(store_url)) is None:
        return None
    absolute = Path(path).absolute()
    return (f'[daemon] executor = "celery": the store sqlite:///{path} is a path relative to the current '
            f"folder, which a worker started elsewhere reads as another file; write its absolute path "
            f"(sqlite:///{absolute}, four slashes) in [daemon] store, --store or CMFLOW_STORE")


def broker_silence(options: "DaemonOptions") -> str | None:
    """With ``executor = "celery"``: why its broker does not answer now (the daemon starts all
    the same, and sends runs once it does); None when it answers, or for the local executor."""
    from cmflow.daemon.brokers import broker_from_environment, broker_unreachable

    if options.executor != "celery":
        return None
    problem = broker_unreachable(options.broker or broker_from_environment() or "")
    return f"{problem} Runs wait in the daemon's queue until it answers." if problem else None


def executor_for(options: "DaemonOptions") -> Executor:
    """The executor the ``[daemon]`` settings choose (check :func:`executor_problem` first)."""
    if options.executor == "celery":
        from cmflow.daemon.brokers import broker_from_environment
        from cmflow.daemon.celery_app import CeleryOptions
        from cmflow.daemon.celery_executor import CeleryExecutor
        from cmflow.foundation.urls import mark_url_secrets

        broker = options.broker or broker_from_environment()
        assert broker is not None, "executor_problem() tells this first"
        mark_url_secrets(broker)
        return CeleryExecutor(CeleryOptions(broker, options.queue, options.visibility_timeout),
                              options.max_parallel_runs)
    return LocalProcessPool(options.max_parallel_runs, options.runs_per_process, options.max_memory_per_process_mb)
