"""The command line that starts ``cmflow`` in a process of its own, for real-process tests:
the console script beside this Python, or the same entry point through it."""

from __future__ import annotations

import sys
from pathlib import Path

CMFLOW_SCRIPT = Path(sys.executable).with_name("cmflow")
CMFLOW = [str(CMFLOW_SCRIPT)] if CMFLOW_SCRIPT.exists() else \
    [sys.executable, "-c", "from cmflow.cli import main; main()"]
