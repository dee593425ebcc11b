"""Stopping ``cmflow run`` and ``cmflow outbox flush`` cleanly on SIGTERM or Ctrl-C.

systemd (stopping a timer's service), Docker and ``kill`` send SIGTERM, then SIGKILL a while
later. A command that dies on the spot leaves its run marked ``running`` and, worse, may have
handed a receiver a message it never recorded as delivered (sent again later: a duplicate).
So the first SIGTERM or Ctrl-C only asks to stop: a run stops at its next step; messages being
sent are finished and recorded, no new one is started, the claims and the run lock are given
back, and the run is recorded as interrupted, with the signal as its reason. A second signal
stops at once (what is promised after ``kill -9`` holds then).
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Iterator

STOPPING_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class StopRequest:
    """Set by a signal; read by the run and the outbox between their steps."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.signal: signal.Signals | None = None
        self._because: str | None = None

    def set(self, number: int) -> None:
        self.signal = signal.Signals(number)
        self._event.set()

    def stop_because(self, reason: str) -> None:
        """Ask the run to stop for ``reason``, not a signal (its run lock was lost, say)."""
        self._because = reason
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()

    @property
    def reason(self) -> str:
        """``stopped by SIGTERM``: why the command stopped, for its history and its output."""
        if self._because is not None and self.signal is None:
            return self._because
        return f"stopped by {self.signal.name if self.signal else 'request'}"

    @property
    def exit_code(self) -> int:
        """143 for SIGTERM, 130 for Ctrl-C: 128 + the signal's number, as shells report it."""
        from cmflow.foundation.errors import EXIT_SIGINT, EXIT_SIGTERM

        return EXIT_SIGINT if self.signal == signal.SIGINT else EXIT_SIGTERM

    def check(self) -> None:
        """Raise :class:`RunStopped` if a stop was asked for."""
        if self.is_set():
            raise RunStopped(self.reason)


class RunStopped(Exception):
    """The run stopped before its results were committed, because a signal asked it to."""


@contextmanager
def stop_on_signals() -> Iterator[StopRequest]:
    """For the ``with`` block, SIGTERM and SIGINT set the yielded :class:`StopRequest` instead of
    ending the process; a second one does what it did before (SIGTERM ends the process, Ctrl-C
    raises KeyboardInterrupt). Outside the main thread (no signals there), nothing changes."""
    request = StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield request
        return
    previous = {number: signal.getsignal(number) for number in STOPPING_SIGNALS}

    def asked_to_stop(number: int, frame: object) -> None:
        request.set(number)
        signal.signal(number, previous[number])  # the next one acts at once

    for number in STOPPING_SIGNALS:
        signal.signal(number, asked_to_stop)
    try:
        yield request
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
