"""A separate process holding a lock on a SQLite store until the test lets go: ``BEGIN
EXCLUSIVE`` (a writer's lock: WAL readers go on) or, with ``locking_mode=EXCLUSIVE``, a lock that
keeps readers out too. Used by the store and daemon fault tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest

DEADLINE = 60.0
"""Seconds a locker may take to let go before the test fails (a generous bound, not a check)."""

LOCKER = """\
import sqlite3, sys
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
if sys.argv[2] == "readers-too":
    connection.execute("PRAGMA locking_mode=EXCLUSIVE")
connection.execute("BEGIN EXCLUSIVE")
connection.execute("UPDATE runs SET id = id WHERE 0")  # takes the write lock for real
print("locked", flush=True)
sys.stdin.readline()
connection.execute("COMMIT")
connection.close()
print("released", flush=True)
"""


class Locker:
    """A separate process holding a lock on a SQLite file until :meth:`release`."""

    def __init__(self, path: Path, kind: str = "writers") -> None:
        self.process = subprocess.Popen([sys.executable, "-c", LOCKER, str(path), kind], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True)
        assert self.process.stdout.readline().strip() == "locked"

    def release(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.write("go\n")
            self.process.stdin.flush()
            assert self.process.stdout.readline().strip() == "released"
        self.process.wait(DEADLINE)


@pytest.fixture
def locker() -> Iterator:
    """``locker(path, kind)`` starts a :class:`Locker`; every one is released at the end."""
    started: list[Locker] = []

    def start(path: Path, kind: str = "writers") -> Locker:
        started.append(Locker(path, kind))
        return started[-1]

    yield start
    for one in started:
        one.release()
