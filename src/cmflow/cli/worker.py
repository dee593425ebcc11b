"""``cmflow worker``"""

from __future__ import annotations

import sys

import click

from cmflow.cli.common import ListenAddress

EPILOG = """\b
Signals:
  SIGTERM, SIGINT  take no new run, let the runs under way finish, exit 0 (a second one: at once;
                   their runs are then delivered to another worker)
Exit codes: 0 stopped cleanly; 2 invalid settings or options (no broker, no Celery); 1 the
broker does not answer or the store cannot be opened.
"""


@click.command(epilog=EPILOG)
@click.option("--broker", "broker_option", metavar="URL",
              help="Redis URL runs come through (default: [daemon] broker of --config, or CMFLOW_BROKER).")
@click.option("--config", "config_file", type=click.Path(exists=True, dir_okay=False, path_type=str),
              help="The daemon's settings file (cmflow-daemon.toml): its [daemon] broker, queue, "
                   "visibility_timeout, store, log_format, runs_per_process and max_memory_per_process_mb "
                   "are the worker's defaults.")
@click.option("--store", "store_option", metavar="URL",
              help="State store URL (default: [daemon] store of --config, CMFLOW_STORE, or the one each "
                   "run names when it holds no password).")
@click.option("--queue", metavar="NAME", help="The queue to take runs from (default: [daemon] queue, or cmflow).")
@click.option("--concurrency", type=click.IntRange(min=1), help="Runs at once (default: the number of CPUs).")
@click.option("--log-format", type=click.Choice(["text", "json"]), help="Log lines as text or JSON objects.")
@click.option("-v", "--verbose", is_flag=True, help="Log details (secrets are redacted).")
@click.option("--metrics-address", type=ListenAddress(),
              help="Serve the worker's Prometheus metrics on HOST:PORT (no authentication: keep it private).")
def worker(broker_option: str | None, config_file: str | None, store_option: str | None, queue: str | None,
           concurrency: int | None, log_format: str | None, metrics_address: str | None, verbose: bool) -> None:
    """Run workflows sent by a daemon with executor = "celery", on a Celery worker.

    Each run is one slot of one workflow, as the daemon would run it locally: the workflow
    file must be at the same path here (and its .env, its data files), and the store the
    same server database as the daemon's. Start as many workers, on as many machines, as
    the runs need.
    """
    import logging
    import os

    from cmflow.cli.common import print_problems, saying_store_errors
    from cmflow.daemon.brokers import (BROKER_VARIABLE, CELERY_MISSING, broker_from_environment, broker_unreachable,
                                       broker_url_problem, celery_installed)
    from cmflow.foundation.urls import mark_url_secrets
    from cmflow.daemon.settings import load_daemon_settings
    from cmflow.foundation.errors import EXIT_INVALID, EXIT_RUN_FAILED, WorkflowInvalid
    from cmflow.store import STORE_VARIABLE, open_store, store_url_problem

    try:
        options = load_daemon_settings(config_file).daemon
    except WorkflowInvalid as error:
        print_problems(error, config_file or "")
        sys.exit(EXIT_INVALID)
    broker = broker_option or options.broker or broker_from_environment()
    if broker is None:
        _fail(f"no broker: give --broker redis://HOST:6379/0, [daemon] broker in the --config file, or {BROKER_VARIABLE}",
              EXIT_INVALID)
    if problem := broker_url_problem(broker):
        _fail(f"--broker: {problem}" if broker_option else problem, EXIT_INVALID)
    if not celery_installed():
        _fail(f"cmflow worker: {CELERY_MISSING}", EXIT_INVALID)
    mark_url_secrets(broker)
    store = store_option or options.store or os.environ.get(STORE_VARIABLE) or None
    if store is not None:
        if problem := store_url_problem(store):
            _fail(f"--store: {problem}", EXIT_INVALID)
        with saying_store_errors():
            open_store(store).close()  # fail now, clearly, rather than at the first run
    if problem := broker_unreachable(broker):
        _fail(problem, EXIT_RUN_FAILED)
    if options.shared_budgets:  # the runs of this worker share the daemon's request budgets
        from cmflow.http.shared_budget import SHARED_BUDGETS_VARIABLE

        os.environ[SHARED_BUDGETS_VARIABLE] = options.shared_budgets
    if metrics_address:  # before Celery starts its pool: the children count into the same folder
        from cmflow.metrics.server import MetricsUnavailable
        from cmflow.metrics.worker import serve_worker_metrics

        try:
            serve_worker_metrics(metrics_address)
        except MetricsUnavailable as problem:
            _fail(f"--metrics-address: {problem}", EXIT_INVALID)

    from cmflow.daemon.celery_app import CeleryOptions
    from cmflow.daemon.celery_worker import start_worker
    from cmflow.daemon.logs import configure_logging

    level = logging.DEBUG if verbose else logging.INFO
    settings = CeleryOptions(broker, queue or options.queue, options.visibility_timeout, store,
                             log_format or options.log_format, options.runs_per_process,
                             options.max_memory_per_process_mb)
    configure_logging(settings.log_format, level)
    sys.exit(start_worker(settings, concurrency=concurrency, log_level=level))


def _fail(message: str, code: int) -> None:
    click.secho(f"✗ {message}", fg="red", err=True)
    sys.exit(code)
