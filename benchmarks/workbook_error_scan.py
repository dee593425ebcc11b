#!/usr/bin/env python3
"""What does looking for spreadsheet errors cost, against reading the sheet?

Why: a sheet holding one formula anywhere (``=1+1``) made the error scan of
:mod:`cmflow.builtin.sources.workbook_errors` parse every cell in Python and hold them all:
on 150,000 rows by 8 columns, 14.8 s and +265 MiB where fastexcel read the sheet in 1.4 s. The
scan now visits only the cells marked as errors or formulas, and finds the reader's first
column with searches in C, so it should cost a fraction of the read.

What it does: writes (openpyxl, write-only) a sheet of ``--rows`` rows by 8 columns with one
formula ``=1+1`` and one ``#DIV/0!``, then times, ``--runs`` times each, fastexcel reading it and
:func:`error_cells` scanning it, CPU seconds of this process (the machine may be shared), and
prints both medians, their ratio (scan / read), and the scan's peak of Python memory
(tracemalloc).

Run: ``python benchmarks/workbook_error_scan.py`` (``--rows 150000 --runs 3``).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import tracemalloc
from pathlib import Path


def write_sheet(path: Path, rows: int) -> None:
    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("Posts")
    sheet.append(["post_id", "account", "likes", "comments", "shares", "reach", "views", "saves"])
    for number in range(rows):
        likes = "=1+1" if number == rows // 2 else ("#DIV/0!" if number == rows // 3 else number % 97)
        sheet.append([f"p{number}", "lumen", likes, number % 13, number % 7, number % 1009, number % 2003, 3])
    book.save(path)


def cpu(action) -> float:
    start = time.process_time()
    action()
    return time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=150_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    import fastexcel

    from cmflow.builtin.sources.workbook_errors import error_cells

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "posts.xlsx"
        write_sheet(path, args.rows)
        data = path.read_bytes()
        reads = [cpu(lambda: fastexcel.read_excel(data).load_sheet("Posts").to_polars()) for _ in range(args.runs)]
        scans = [cpu(lambda: error_cells(data, "Posts")) for _ in range(args.runs)]
        found = error_cells(data, "Posts")
        tracemalloc.start()
        error_cells(data, "Posts")
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    read, scan = statistics.median(reads), statistics.median(scans)
    print(f"{args.rows} rows x 8 columns, cells found: {sorted(found.items())}")
    print(f"fastexcel read: {read:.3f} s CPU; error scan: {scan:.3f} s CPU; scan / read = {scan / read:.2f}")
    print(f"error scan peak Python memory: {peak / 2**20:.1f} MiB (the sheet's XML is held once)")


if __name__ == "__main__":
    main()
