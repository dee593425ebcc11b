"""Timing shared by the benchmarks: the median wall time of a call repeated, the Polars queries a
process runs, and rounds measured in turn in child processes for this tree and a reference one
(another checkout's ``src``), with the table of their figures side by side."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from typing import Any, Callable, Sequence, TypeVar

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


class PolarsQueries:
    """Counts the Polars queries this process runs from now on, apart: ``LazyFrame.collect``, the
    collects of eager operations (``DataFrame.select``, ``filter`` ...) and ``pl.collect_all``
    calls; only while ``on`` (set it off to leave out a warm-up or the work around a stage)."""

    def __init__(self) -> None:
        import polars as pl

        self.counts = {"collect": 0, "eager": 0, "collect_all": 0}
        self.on = True
        for name, owner, attribute in (("collect", pl.LazyFrame, "collect"),
                                       ("eager", pl.LazyFrame, "_collect_eager"),  # (Polars 1.x and later)
                                       ("collect_all", pl, "collect_all")):
            if (original := getattr(owner, attribute, None)) is not None:
                setattr(owner, attribute, self._counted(name, original))

    def _counted(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            if self.on:
                self.counts[name] += 1
            return function(*args, **kwargs)
        return call

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def reset(self) -> None:
        self.counts = dict.fromkeys(self.counts, 0)


def child_figures(script: str, src: "str | None", *arguments: str) -> dict[str, float]:
    """Run ``script --child ARGUMENTS`` in a fresh interpreter, with ``src`` first on its path
    (another checkout's cmflow; None: this one): the figures it printed, as JSON, last."""
    env = dict(os.environ, **({"PYTHONPATH": src} if src else {}))
    out = subprocess.run([sys.executable, script, "--child", *arguments], env=env, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def measured_in_turn(trees: "Sequence[tuple[str, str | None]]", rounds: int,
                     measure: "Callable[[str, str | None, int], dict[str, float]]",
                     say: "Callable[[dict[str, float]], str] | None" = None) -> dict[str, list[dict[str, float]]]:
    """``measure(name, src, round_number)`` for each tree of ``trees`` (``("this", None)``, then
    maybe ``("reference", src)``), ``rounds`` times, in turn and in alternating order (a load on
    the machine weighs on both alike); each round said in a line with ``say`` of its figures."""
    figures: dict[str, list[dict[str, float]]] = {name: [] for name, _ in trees}
    for number in range(rounds):
        for name, src in (trees if number % 2 == 0 else list(trees)[::-1]):
            figures[name].append(measure(name, src, number))
        if say is not None:
            print(f"round {number + 1}: " + "  ".join(f"{name} {say(figures[name][-1])}" for name, _ in trees),
                  flush=True)
    return figures
