#!/usr/bin/env python3
"""How much CPU does opening a store cost: a new one (the first ``cmflow run``, nearly every
test's fresh store) and an existing one (every command, every run process)?

What it does: in a child process per tree and round (this tree's ``src``, and with
``--reference-src DIR`` another tree's, e.g. main's from ``git archive``), with the store's
modules imported first, it measures the CPU time (user + system, this process) of

- ``first_new_ms``: the first new SQLite store the process opens (what a ``cmflow run`` pays on
  a new store: anything compiled once per process is in it);
- ``new_ms``: each of ``--stores`` further new SQLite stores, in a temporary folder;
- ``existing_ms``: opening each of those stores again (one already at the latest version);
- with ``--postgres``, on the server of ``$CMFLOW_TEST_POSTGRES`` (where this user may create
  databases: ``eval "$(bash .ci/services)"``; read from the environment, never put on a command
  line): ``postgres_new_ms``, this process's CPU to create a new
  store in each of ``--postgres-stores`` empty databases made for it (the server's CPU is not
  counted), and ``postgres_existing_ms`` to open each again.

The trees are run in turn (alternating order) for ``--rounds`` rounds, and the ratio printed is
the median of the rounds' ratios, so that a machine loaded by other work weighs on both alike.
No target is enforced: the figures are printed.

Run: ``.venv/bin/python benchmarks/new_store.py --rounds 5 --reference-src /tmp/base/src``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import uuid
from pathlib import Path

from timing import child_figures, measured_in_turn, print_side_by_side  # benchmarks/timing.py

FIGURES = [("first_new_ms", "first new SQLite store (ms CPU)"), ("new_ms", "new SQLite store (ms CPU)"),
           ("existing_ms", "existing SQLite store (ms CPU)")]
POSTGRES_FIGURES = [("postgres_new_ms", "new PostgreSQL store (ms CPU)"),
                    ("postgres_existing_ms", "existing PostgreSQL store (ms CPU)")]


def cpu_ms_each(urls: list[str]) -> float:
    """The CPU time (ms) per ``open_store(url).close()`` over ``urls``."""
    from cmflow.store import open_store

    started = time.process_time()
    for url in urls:
        open_store(url).close()
    return (time.process_time() - started) / len(urls) * 1000


def child(stores: int, postgres: bool, postgres_stores: int) -> dict[str, float]:
    """One round in this interpreter (whichever cmflow its path finds)."""
    import cmflow.store.sql  # noqa: F401  (imports are not what is measured)

    folder = Path(tempfile.mkdtemp())
    figures = {"first_new_ms": cpu_ms_each([f"sqlite:///{folder / 'first.db'}"])}
    urls = [f"sqlite:///{folder / f'{number}.db'}" for number in range(stores)]
    figures["new_ms"] = cpu_ms_each(urls)
    figures["existing_ms"] = cpu_ms_each(urls)
    if postgres:
        import os

        import sqlalchemy as sa

        admin = sa.create_engine(sa.make_url(os.environ["CMFLOW_TEST_POSTGRES"]).set(drivername="postgresql+psycopg"),
                                 isolation_level="AUTOCOMMIT")
        names = [f"cmflow_bench_{uuid.uuid4().hex[:12]}" for _ in range(postgres_stores)]
        try:
            with admin.connect() as connection:
                for name in names:
                    connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
            urls = [admin.url.set(database=name).render_as_string(hide_password=False) for name in names]
            figures["postgres_new_ms"] = cpu_ms_each(urls)
            figures["postgres_existing_ms"] = cpu_ms_each(urls)
        finally:
            with admin.connect() as connection:
                for name in names:
                    connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.dispose()
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds (3)")
    parser.add_argument("--stores", type=int, default=20, help="new SQLite stores per round and tree (20)")
    parser.add_argument("--postgres", action="store_true",
                        help="create stores on the PostgreSQL server of $CMFLOW_TEST_POSTGRES as well")
    parser.add_argument("--postgres-stores", type=int, default=3, help="new PostgreSQL stores per round (3)")
    parser.add_argument("--reference-src", metavar="DIR", help="another checkout's src, measured in turn")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        print(json.dumps(child(options.stores, options.postgres, options.postgres_stores)))
        return 0
    arguments = ["--stores", str(options.stores), "--postgres-stores", str(options.postgres_stores),
                 *(["--postgres"] if options.postgres else [])]
    trees = [("this", None)] + ([("reference", options.reference_src)] if options.reference_src else [])
    rounds = measured_in_turn(trees, options.rounds, lambda _, src, __: child_figures(__file__, src, *arguments),
                              say=lambda f: f"new {f['new_ms']:.1f} ms, existing {f['existing_ms']:.1f} ms")
    print_side_by_side(rounds, FIGURES + (POSTGRES_FIGURES if options.postgres else []), width=36, decimals=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
