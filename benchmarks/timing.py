"""Timing shared by the benchmarks: the median wall time of a call repeated, and the table of
figures measured in turn for this tree and a reference one."""

from __future__ import annotations

import statistics
import time
from typing import Callable, Sequence, TypeVar

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


def print_side_by_side(rounds: "dict[str, list[dict[str, float]]]", figures: "Sequence[tuple[str, str]]",
                       width: int = 38, decimals: int = 3) -> None:
    """One line per ``(key, label)`` of ``figures``: the median of each tree's rounds (``this``,
    then ``reference`` when measured) and, with a reference, the median of the ratios within a
    round (the rounds ran in turn, so a load on the machine weighs on both alike). Whole figures
    (counts) are printed without decimals."""
    names = list(rounds)
    print(f"\n{'':{width}}" + "".join(f"{name:>12}" for name in names) + ("       ratio" if len(names) > 1 else ""))
    for key, label in figures:
        medians = [statistics.median(r[key] for r in rounds[name]) for name in names]
        line = f"{label:{width}}" + "".join(f"{m:12.{decimals}f}" if m % 1 else f"{m:12.0f}" for m in medians)
        if len(names) > 1:
            ratios = [a[key] / b[key] for a, b in zip(rounds["this"], rounds["reference"]) if b[key]]
            line += f"{statistics.median(ratios):11.2f}x" if ratios else ""
        print(line)
