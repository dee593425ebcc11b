"""Processes that take one step at the same moment: each, its imports done, says it is ready and
blocks at a gate, which the test opens once all are ready. A pipe is the gate: closing its one
writing end wakes every reader at once, where a polled file kept each process spinning (a
sleep of half a millisecond at a time) for as long as the slowest took to start.

The process's script holds the lines of :data:`WAIT` where it is to wait (they read the pipes'
ends from its last two arguments); the test starts and lets go the processes so::

    gate = StartGate()
    processes = [subprocess.Popen([..., *gate.arguments], pass_fds=gate.fds) for _ in range(4)]
    gate.open_when_ready(len(processes))
"""

from __future__ import annotations

import os
import select
import time

WAIT = ("import os as _os, sys as _sys\n"
        "_os.write(int(_sys.argv[-2]), b'.')\n"
        "_os.read(int(_sys.argv[-1]), 1)\n")
"""What a process runs to say it is ready and wait for the gate (its last two arguments: the ends)."""


class StartGate:
    """The two pipes: processes write one byte each to the first when ready; the test closes
    the second's writing end to let them all go."""

    def __init__(self) -> None:
        self._ready_read, self._ready_write = os.pipe()
        self._gate_read, self._gate_write = os.pipe()

    @property
    def fds(self) -> tuple[int, int]:
        """The ends a process inherits (``pass_fds``)."""
        return self._ready_write, self._gate_read

    @property
    def arguments(self) -> list[str]:
        """The last two arguments of each process: the ends it uses."""
        return [str(self._ready_write), str(self._gate_read)]

    def open_when_ready(self, count: int, deadline: float = 60.0) -> None:
        """Wait until ``count`` processes said they are ready (at most ``deadline`` seconds: a
        process that failed first says why in its output), then let them all go; the test's
        copies of the ends are closed."""
        os.close(self._ready_write)
        os.close(self._gate_read)
        ready, give_up = 0, time.monotonic() + deadline
        try:
            while ready < count:
                waiting = give_up - time.monotonic()
                if waiting <= 0 or not select.select([self._ready_read], [], [], waiting)[0]:
                    break
                said = os.read(self._ready_read, count)
                if not said:  # every process has ended
                    break
                ready += len(said)
        finally:
            os.close(self._gate_write)
            os.close(self._ready_read)
