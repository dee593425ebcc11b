"""What a plugin might change in a process that serves several runs, for the tests of the local
run processes (``test_run_processes.py``) and of a Celery worker's pool processes
(``test_celery_pool_processes.py``): installed in the process before it serves, each run's
logging set-up records the state it finds, then the run changes that state.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from cmflow.foundation.secrets import redactor


def state_seen(seen: str) -> None:
    """Append what this process looks like now, as one JSON line (``pid`` included: the other
    keys are what a run must find as the first run found them)."""
    import json
    import logging

    mask = os.umask(0o077)
    os.umask(mask)
    state = {
        "alarm_left": signal.getitimer(signal.ITIMER_REAL)[0],
        "env": os.environ.get("CMFLOW_TEST_LEAK"), "tz": os.environ.get("TZ"), "tzname": list(time.tzname),
        "cwd": os.getcwd(), "secret": redactor("run-one-secret"),
        "sigalrm": repr(signal.getsignal(signal.SIGALRM)), "sigterm": repr(signal.getsignal(signal.SIGTERM)),
        "cmflow_level": logging.getLogger("cmflow").level,
        "plugin_handlers": len(logging.getLogger("cmflow.someplugin").handlers),
        "plugin_propagates": logging.getLogger("cmflow.someplugin").propagate,
        "disabled": logging.root.manager.disable, "umask": mask, "pid": os.getpid(),
    }
    with Path(seen).open("a", encoding="utf-8") as file:
        file.write(json.dumps(state) + "\n")


def change_the_process(folder: str) -> None:
    """What a run changes here: an environment variable, the time zone, the working folder, a
    secret learnt, the handlers of SIGALRM and SIGTERM, a logger's level, handlers and
    propagation, logging disabled, the umask."""
    import logging

    os.environ["CMFLOW_TEST_LEAK"] = "set by a run"
    os.environ["TZ"] = "America/New_York"
    time.tzset()
    (Path(folder) / "elsewhere").mkdir(exist_ok=True)
    os.chdir(Path(folder) / "elsewhere")
    redactor.add("run-one-secret")
    signal.signal(signal.SIGALRM, lambda *_: None)  # a plugin's own timeout helper
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    logging.getLogger("cmflow").setLevel(logging.CRITICAL)
    plugin_log = logging.getLogger("cmflow.someplugin")
    plugin_log.addHandler(logging.NullHandler())
    plugin_log.propagate = False
    logging.disable(logging.WARNING)
    os.umask(0)


def runs_that_change_the_process(seen: str, folder: str, before_run=None) -> None:
    """In the process that serves runs: each run's logging set-up first records the state it
    finds in ``seen`` (before its own deadline is set); each run then changes what a plugin
    might (:func:`change_the_process`), and calls ``before_run(workflow)`` if given."""
    import cmflow.daemon.logs
    import cmflow.runner

    real_run, real_logging = cmflow.runner.run_workflow, cmflow.daemon.logs.configure_logging

    def record_then_configure_logging(*args, **kwargs):
        state_seen(seen)
        return real_logging(*args, **kwargs)

    def change_then_run(workflow, *args, **kwargs):
        change_the_process(folder)
        if before_run is not None:
            before_run(workflow)
        return real_run(workflow, *args, **kwargs)

    cmflow.runner.run_workflow = change_then_run
    cmflow.daemon.logs.configure_logging = record_then_configure_logging
