"""A real ``cmflow worker`` (its Celery app, its prefork pool) for ``test_celery_pool_processes.py``,
started as ``python celery_pool_worker.py FOLDER BROKER QUEUE RUNS_PER_PROCESS``: before the pool
forks, each run is set to record the state it finds in ``FOLDER/seen.jsonl`` and then change what
a plugin might (:mod:`process_changes`); a run of the workflow ``threaded`` also leaves a thread
running. One pool process (concurrency 1), JSON logs on stderr.
"""

from __future__ import annotations

import logging
import sys
import threading
from pathlib import Path

from process_changes import runs_that_change_the_process

from cmflow.daemon.celery_app import CeleryOptions
from cmflow.daemon.celery_worker import start_worker
from cmflow.daemon.logs import configure_logging


def leave_a_thread(workflow) -> None:
    if workflow.key == "threaded":
        threading.Thread(target=threading.Event().wait, name="left-behind", daemon=True).start()


def main(folder: str, broker: str, queue: str, runs_per_process: str) -> int:
    configure_logging("json", logging.INFO)
    runs_that_change_the_process(str(Path(folder) / "seen.jsonl"), folder, leave_a_thread)
    options = CeleryOptions(broker, queue, log_format="json", runs_per_process=int(runs_per_process))
    return start_worker(options, concurrency=1)


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
