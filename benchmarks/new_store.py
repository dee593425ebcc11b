#!/usr/bin/env python3
"""How much CPU does creating a new store cost (the first ``cmflow run``, every test's fresh store)?

What it does: in a child process per tree (this tree's ``src``, and with ``--baseline SRC`` another
tree's, e.g. main's from ``git archive``), after one untimed store, opens ``--stores`` new SQLite
stores in a temporary folder (each migrated from nothing to the latest version) and prints the CPU
time (user + system, this process) per store. The trees are run in turn for ``--rounds`` rounds, and
the ratio printed is the median of the rounds' ratios, so that a machine loaded by other work
weighs on both alike. No target is enforced: the figures are printed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"

CHILD = r"""
import sys, tempfile, time
from cmflow.store import open_store
folder = tempfile.mkdtemp()
open_store(f"sqlite:///{folder}/warm-up.db").close()
started = time.process_time()
for i in range(int(sys.argv[1])):
    open_store(f"sqlite:///{folder}/{i}.db").close()
print((time.process_time() - started) / int(sys.argv[1]))
"""


def per_store(src: Path, stores: int) -> float:
    env = {**os.environ, "PYTHONPATH": str(src)}
    done = subprocess.run([sys.executable, "-c", CHILD, str(stores)], env=env, capture_output=True, text=True,
                          check=True)
    return float(done.stdout.strip())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stores", type=int, default=20, help="new stores per round and tree (20)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds (3)")
    parser.add_argument("--baseline", type=Path, help="another tree's src folder, run in the same rounds")
    args = parser.parse_args(argv)
    mine, theirs = [], []
    for _ in range(args.rounds):
        mine.append(per_store(SRC, args.stores))
        if args.baseline:
            theirs.append(per_store(args.baseline, args.stores))
    print(f"new SQLite store: {statistics.median(mine) * 1000:.0f} ms CPU (median of {args.rounds} rounds "
          f"of {args.stores})")
    if args.baseline:
        ratio = statistics.median(m / t for m, t in zip(mine, theirs))
        print(f"baseline {args.baseline}: {statistics.median(theirs) * 1000:.0f} ms CPU; this tree / baseline "
              f"{ratio:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
