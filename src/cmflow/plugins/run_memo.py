"""What one run's outputs make once and share: the thumbnails a report fetches, a report
rendered for a client, an audience and a language (the ``report`` output writes the PDF the
``email`` output attaches).

A :class:`RunMemo` lives in the run's :class:`~cmflow.RunResult`. The view of the run an
output's ``where`` makes is a copy of that result holding the same memo, so the outputs share
it whatever they filter; it goes with the result when the run is over.
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Hashable, TypeVar

T = TypeVar("T")


class RunMemo:
    """Values made once per run, by key; thread-safe (two outputs asking for one key at once
    make it once: the second waits for the first)."""

    def __init__(self) -> None:
        self._values: dict[Hashable, Any] = {}
        self._locks: dict[Hashable, threading.Lock] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, make: Callable[[], T]) -> T:
        """The value kept under ``key``, made by ``make()`` the first time. A ``make`` that
        raises keeps nothing: the next caller tries again."""
        with self._lock:
            if key in self._values:
                return self._values[key]
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            with self._lock:
                if key in self._values:
                    return self._values[key]
            value = make()
            with self._lock:
                self._values[key] = value
            return value

    def __repr__(self) -> str:
        return f"RunMemo({len(self._values)} value(s))"
