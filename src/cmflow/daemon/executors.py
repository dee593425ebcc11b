"""The executor the daemon's ``[daemon]`` settings choose: ``local`` (a process of this machine per
run, :class:`~cmflow.daemon.executor.LocalProcessPool`) or ``celery`` (runs on Celery workers,
:class:`~cmflow.daemon.celery_executor.CeleryExecutor`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cmflow.daemon.executor import Executor, LocalProcessPool

if TYPE_CHECKING:
    from cmflow.daemon.settings import DaemonOptions


def executor_problem(options: "DaemonOptions") -> str | None:
    """Why the executor the ``[daemon]`` settings choose cannot be made here; None when it can."""
    from cmflow.daemon.brokers import BROKER_VARIABLE, CELERY_MISSING, broker_from_environment, celery_installed

    if options.executor != "celery":
        return None
    if not celery_installed():
        return f'[daemon] executor = "celery": {CELERY_MISSING}'
    if not (options.broker or broker_from_environment()):
        return (f'[daemon] executor = "celery" needs a broker: set [daemon] broker = "redis://HOST:6379/0" '
                f"(or {BROKER_VARIABLE})")
    return None


def executor_for(options: "DaemonOptions") -> Executor:
    """The executor the ``[daemon]`` settings choose (check :func:`executor_problem` first)."""
    if options.executor == "celery":
        from cmflow.daemon.brokers import broker_from_environment, hide_broker_password
        from cmflow.daemon.celery_app import CeleryOptions
        from cmflow.daemon.celery_executor import CeleryExecutor

        broker = options.broker or broker_from_environment()
        assert broker is not None, "executor_problem() tells this first"
        hide_broker_password(broker)
        return CeleryExecutor(CeleryOptions(broker, options.queue, options.visibility_timeout),
                              options.max_parallel_runs)
    return LocalProcessPool(options.max_parallel_runs)
