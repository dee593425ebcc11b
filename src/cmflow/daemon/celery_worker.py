"""A Celery worker with cmflow's task set, as ``cmflow worker`` starts it.

It imports every plugin before its pool processes are forked (each run starts warm), logs
through cmflow's own handlers (text or JSON, secrets redacted) rather than Celery's, and takes
runs one at a time per pool process, so that a run it holds is a run it runs.
"""

from __future__ import annotations

import logging
import os
import socket

from cmflow.foundation.urls import display_url
from cmflow.daemon.celery_app import CeleryOptions, celery_app

log = logging.getLogger("cmflow.worker")


def start_worker(options: CeleryOptions, *, concurrency: int | None = None, log_level: int = logging.INFO) -> int:
    """Run a worker until it is stopped (SIGTERM: warm shutdown); return its exit code."""
    from celery.signals import setup_logging, worker_process_init

    from cmflow.daemon.celery_app import PoolProcess
    from cmflow.daemon.worker import warm_up

    setup_logging.connect(_keep_cmflow_logging, weak=False)  # Celery leaves logging alone
    worker_process_init.connect(PoolProcess.started, weak=False)  # its pool processes reset between runs
    warm_up()
    app = celery_app(options, worker=True)
    app.conf.worker_redirect_stdouts = False
    name = f"cmflow-{os.getpid()}@{socket.gethostname()}"
    log.info("worker %s taking runs from queue %s of %s", name, options.queue, display_url(options.broker),
             extra={"event": "worker_started"})
    worker = app.Worker(hostname=name, queues=[options.queue], concurrency=concurrency or os.cpu_count() or 1,
                        pool="prefork", loglevel=log_level, without_gossip=True, without_mingle=True,
                        quiet=True)
    worker.start()
    return worker.exitcode or 0


def _keep_cmflow_logging(**_: object) -> None:
    """A receiver of Celery's setup_logging signal: with one, Celery configures no logging."""
