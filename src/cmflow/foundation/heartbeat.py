"""A heartbeat: a call made every few seconds from a thread of its own while a ``with`` block runs.

What a process holds in the store for a while (a run lock, claims on outbox messages) is held
with a short lease that its holder renews this way, so that a holder that dies (kill -9, its
machine gone) lets go within the lease, wherever it ran.
"""

from __future__ import annotations

import threading
from typing import Callable


class Heartbeat:
    """Calls ``beat`` every ``every`` seconds, from entering the ``with`` block until leaving it.
    ``beat`` must not raise (it logs what went wrong); it runs in a daemon thread."""

    def __init__(self, beat: Callable[[], None], every: float, name: str) -> None:
        self._beat, self._every = beat, every
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def __enter__(self) -> "Heartbeat":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopped.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stopped.wait(self._every):
            self._beat()
