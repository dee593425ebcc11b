"""Timing shared by the in-process benchmarks: the median wall time of a call repeated."""

from __future__ import annotations

import statistics
import time
from typing import Callable, TypeVar

T = TypeVar("T")


def timed(function: Callable[[], T], runs: int) -> tuple[float, T]:
    """Call ``function`` ``runs`` times: the median of its wall times in seconds, and what the
    last call returned."""
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result
