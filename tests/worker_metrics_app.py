"""A Celery app for test_worker_metrics.py: started as a real prefork worker, it serves the
workers' metrics (cmflow.metrics.worker) and runs stand-in runs that end with the status asked,
or hold until the test opens a gate file.

Read from the environment, set by the test: the broker (``CMFLOW_TEST_REDIS``), the metrics
address, the file where the port served goes, and the folder where held runs write their pid.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from types import SimpleNamespace

from cmflow.metrics.worker import serve_worker_metrics, worker_metrics

# First, before Celery or anything imports prometheus-client, and before the pool forks.
_server = serve_worker_metrics(os.environ["CMFLOW_TEST_METRICS_ADDRESS"], os.environ["CMFLOW_TEST_METRICS_DIR"])
_folder = Path(os.environ["CMFLOW_TEST_WORKER_FOLDER"])
(_folder / "port.partial").write_text(str(_server.address.port), encoding="utf-8")
os.replace(_folder / "port.partial", _folder / "port")

from celery import Celery  # noqa: E402  (after the metrics are set up, as the docs say)

app = Celery("cmflow_metrics_test", broker=os.environ["CMFLOW_TEST_REDIS"])
app.conf.worker_prefetch_multiplier = 1
app.conf.broker_connection_retry_on_startup = True


@app.task(name="cmflow_test.stand_in_run")
def stand_in_run(status: str, hold: bool = False) -> str:
    """A run that ends ``status``; held, it writes its pid and waits for the gate file."""
    def run() -> SimpleNamespace:
        if hold:
            (_folder / f"held-{os.getpid()}").write_text("", encoding="utf-8")
            deadline = time.monotonic() + 45
            while not (_folder / "gate").exists() and time.monotonic() < deadline:
                time.sleep(0.05)
        return SimpleNamespace(status=status)

    return worker_metrics().measure(run).status
