"""Two ways to run a ``cmflow`` command line in a test, both answering a
:class:`subprocess.CompletedProcess` (``returncode``, ``stdout``, ``stderr``):

- :func:`cmflow_process` starts it in a process of its own (``CMFLOW``: the console script beside
  this Python, or the same entry point through it), for what only a process shows: its exit status
  as the shell sees it, a traceback or nothing, bytes on a real pipe.
- :func:`cmflow_in_process` invokes the same ``cmflow.cli.main`` command through click's
  ``CliRunner`` in the test's process: the same code, without the second of start-up (importing
  polars, pydantic, the plugins' entry points) that each process pays.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

CMFLOW_SCRIPT = Path(sys.executable).with_name("cmflow")
CMFLOW = [str(CMFLOW_SCRIPT)] if CMFLOW_SCRIPT.exists() else \
    [sys.executable, "-c", "from cmflow.cli import main; main()"]


def cmflow_process(*args: str | Path, cwd: Path | None = None, env: Mapping[str, str] | None = None,
                   timeout: float = 120) -> subprocess.CompletedProcess:
    """``cmflow ARGS...`` in a process of its own (``env`` replaces the whole environment)."""
    return subprocess.run([*CMFLOW, *map(str, args)], capture_output=True, text=True, encoding="utf-8",
                          timeout=timeout, cwd=cwd, env=env)


def cmflow_in_process(*args: str | Path, cwd: Path | None = None,
                      env: Mapping[str, str | None] | None = None) -> subprocess.CompletedProcess:
    """``cmflow ARGS...`` run by click's ``CliRunner`` in this process, from ``cwd`` if given
    (``env`` is added to this process's environment for the call; None removes a variable).
    An exception the command lets escape is raised here, where a process would print a traceback."""
    from click.testing import CliRunner

    from cmflow.cli import main

    arguments = [str(arg) for arg in args]
    with contextlib.chdir(cwd) if cwd is not None else contextlib.nullcontext():
        result = CliRunner().invoke(main, arguments, env=env, catch_exceptions=False, prog_name="cmflow")
    return subprocess.CompletedProcess(["cmflow", *arguments], result.exit_code, result.stdout, result.stderr)
