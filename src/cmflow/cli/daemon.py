"""``cmflow daemon DIR``"""

from __future__ import annotations

import sys

import click

from cmflow.cli.common import ListenAddress

EPILOG = """\b
Signals:
  SIGTERM, SIGINT  stop taking runs, hand scheduling over to a daemon standing by, let
                   runs under way finish (stop_timeout), send the outbox, exit 0
  SIGHUP           read the folder again now
Exit codes: 0 stopped cleanly; 2 invalid settings or folder, or the metrics address
cannot be served; 1 the store cannot be opened.
"""


@click.command(epilog=EPILOG)
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=str))
@click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=str),
              help="Daemon settings file. Default: DIR/cmflow-daemon.toml if there is one.")
@click.option("--store", "store_option", metavar="URL",
              help="State store URL (default: [daemon] store, CMFLOW_STORE, or the user state file).")
@click.option("--max-parallel", type=click.IntRange(min=1), help="Runs at once (default: 4).")
@click.option("--log-format", type=click.Choice(["text", "json"]), help="Log lines as text or JSON objects.")
@click.option("--metrics-address", type=ListenAddress(),
              help="Serve Prometheus metrics here, e.g. 127.0.0.1:9464 (default: [daemon] metrics, else off).")
@click.option("-v", "--verbose", is_flag=True, help="Log details (secrets are redacted).")
def daemon(directory: str, config_file: str | None, store_option: str | None, max_parallel: int | None,
           log_format: str | None, metrics_address: str | None, verbose: bool) -> None:
    """Run every workflow in DIR on its schedule until stopped.

    Workflow files (*.toml, subfolders too) are picked up, reloaded and dropped as they are
    added, edited and removed. Missed slots are caught up per each workflow's catch_up policy.
    State (slots, runs, alerts, outbox) lives in the store; `cmflow status` shows health.
    Several daemons may share a store: one schedules, the others stand by and take over.
    """
    import logging
    from pathlib import Path

    from cmflow.foundation.errors import EXIT_INVALID, WorkflowInvalid
    from cmflow.daemon.service import Daemon
    from cmflow.daemon.logs import configure_logging
    from cmflow.daemon.observer import QuietObserver
    from cmflow.daemon.settings import load_daemon_settings
    from cmflow.daemon.settings_file import SETTINGS_FILE_NAME
    from cmflow.store import open_store
    from cmflow.cli.common import print_problems, saying_store_errors, store_url

    folder = Path(directory)
    if config_file is None and (folder / SETTINGS_FILE_NAME).is_file():
        config_file = str(folder / SETTINGS_FILE_NAME)
    try:
        settings = load_daemon_settings(config_file)
    except WorkflowInvalid as error:
        print_problems(error, config_file or "")
        sys.exit(EXIT_INVALID)
    settings.override(max_parallel_runs=max_parallel, log_format=log_format, store=store_option,
                      metrics=metrics_address)
    options = settings.daemon
    from cmflow.daemon.executors import broker_silence, executor_problem

    url = store_url(store_option, options.store)
    if problem := executor_problem(options, url):
        click.secho(f"✗ {config_file or 'settings'}: {problem}", fg="red", err=True)
        sys.exit(EXIT_INVALID)
    level = logging.DEBUG if verbose else logging.INFO
    configure_logging(options.log_format, level)
    if silence := broker_silence(options):  # it may come up later: said, not fatal
        logging.getLogger("cmflow.daemon").error(silence, extra={"event": "broker"})
    with saying_store_errors():
        open_store(url).close()  # fail now, clearly, rather than at the first run
        observer = _metrics(options.metrics, url, options.shared_budgets) if options.metrics else QuietObserver()
        Daemon(folder, settings, url, log_level=level, observer=observer).run_forever()


def _metrics(address: str, url: str, shared_budgets: str | None):
    """The daemon's metrics observer, its endpoint listening, reading the budgets shared in Redis
    (``[daemon] shared_budgets``, else ``CMFLOW_SHARED_BUDGETS``) when there are; a clear error
    and exit 2 when it cannot."""
    from cmflow.foundation.errors import EXIT_INVALID
    from cmflow.metrics.server import MetricsUnavailable

    try:
        from cmflow.metrics.daemon import serve_daemon_metrics

        from cmflow.metrics.budgets import shared_budgets_reader

        return serve_daemon_metrics(address, url, shared_budgets_reader(shared_budgets))
    except MetricsUnavailable as problem:
        click.secho(f"✗ {problem}", fg="red", err=True)
        sys.exit(EXIT_INVALID)
