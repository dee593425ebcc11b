#!/usr/bin/env python3
"""What does the metric stage cost on a small workflow: the demo's 33 metrics over its two weeks?

Why: at a demo's few hundred records, a Polars query costs its plan (building, optimising,
dispatching), not its rows, and the test suite runs the demo dozens of times. Large workflows
have their own benchmark (``metrics_scale.py``); this one counts the queries of a small one.

In a child process per round, the quick demo of the tests (``tests/demo_scenario.py``:
``demo_without_client_reports``, the demo without its client reports and e-mails) runs once,
in the process, into a fresh SQLite store (CPU of the whole run; ``--full``: the whole demo,
``workflows/demo.toml``, reports and e-mails written, none sent), then its measure stage runs
again ``--repeats`` times on the same records (warm CPU, median). Polars queries are counted
during the run's measure stage: ``LazyFrame.collect``, the collects of eager operations
(``DataFrame.filter``, ``select`` ...) and ``pl.collect_all`` calls.

With ``--reference-src DIR`` (another checkout's ``src``), the same child runs in turn with
``PYTHONPATH=DIR``, round by round, and the median of each round's ratios is printed: CPU
ratios measured side by side hold on a loaded machine, wall times do not.

Run: ``.venv/bin/python benchmarks/small_workflow.py --rounds 5``,
``--reference-src /path/to/other/checkout/src``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from timing import PolarsQueries, child_figures, measured_in_turn, print_side_by_side  # benchmarks/timing.py

REPO = Path(__file__).resolve().parent.parent
PERIOD = "2026-11-16..2026-11-22"


def child(repeats: int, full: bool) -> dict[str, float]:
    """One round in this interpreter (whichever cmflow its path finds)."""
    sys.path.insert(0, str(REPO / "tests"))
    os.environ["CMFLOW_LOAD_PLUGINS"] = ""
    import cmflow.runner as runner
    from cmflow.testing import run_workflow_file
    from demo_scenario import demo_without_client_reports

    queries = PolarsQueries()
    queries.on = False  # the measure stage's only
    measure, seen = runner.measure, {}

    def measured(*args, **kwargs):
        queries.on, started = True, time.process_time()
        try:
            return measure(*args, **kwargs)
        finally:
            seen["cpu"], queries.on, seen["call"] = time.process_time() - started, False, (args, kwargs)

    runner.measure = measured
    work = Path(tempfile.mkdtemp(prefix="cmflow-small-workflow-"))
    os.chdir(work)
    demo = REPO / "workflows" / "demo.toml"  # its logos and commentary beside it; what it writes goes to work
    if not full:
        demo = work / "demo.toml"
        demo.write_text(demo_without_client_reports(), encoding="utf-8")
    started = time.process_time()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        run_workflow_file(demo, store_url=f"sqlite:///{work / 'state.db'}", period=PERIOD)
    run_cpu = time.process_time() - started
    args, kwargs = seen["call"]
    warm = []
    for _ in range(repeats):
        started = time.process_time()
        measure(*args, **kwargs)
        warm.append(time.process_time() - started)
    os.chdir(REPO)
    shutil.rmtree(work, ignore_errors=True)
    return {"run_cpu": run_cpu, "measure_cpu": seen["cpu"], "warm_measure_cpu": statistics.median(warm),
            "queries": queries.total, **queries.counts}


FIGURES = (("run_cpu", "demo run, CPU s"), ("measure_cpu", "its measure stage, CPU s"),
           ("warm_measure_cpu", "measure stage again (warm), CPU s"), ("queries", "Polars queries in the stage"),
           ("collect", "  LazyFrame.collect"), ("eager", "  eager operations' collects"),
           ("collect_all", "  collect_all"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=5, help="Warm measure stages per round.")
    parser.add_argument("--reference-src", metavar="DIR", help="Another checkout's src, measured in turn.")
    parser.add_argument("--full", action="store_true", help="The whole demo (its reports, PDFs and e-mails too).")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        print(json.dumps(child(options.repeats, options.full)))
        return 0
    trees = [("this", None)] + ([("reference", options.reference_src)] if options.reference_src else [])
    arguments = ["--repeats", str(options.repeats), *(["--full"] if options.full else [])]
    rounds = measured_in_turn(trees, options.rounds, lambda _, src, __: child_figures(__file__, src, *arguments),
                              lambda f: f"measure={f['measure_cpu']:.3f}s warm={f['warm_measure_cpu']:.3f}s"
                                        f" run={f['run_cpu']:.2f}s")
    print_side_by_side(rounds, FIGURES)
    return 0


if __name__ == "__main__":
    sys.exit(main())
