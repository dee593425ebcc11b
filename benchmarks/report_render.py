#!/usr/bin/env python3
"""What do the demo's reports cost to render: HTML, PDF, XLSX and charts, each apart?

Why: the demo (``workflows/demo.toml``) is the main job and the test suite runs it, or runs like
it, dozens of times; its four PDFs, thirteen charts, two workbooks and the HTML pages were most
of its CPU (issues 15 and 16: 19 s of CPU for the run, 13 s of it the PDFs).

In a child process per round, the whole demo runs once, in the process, into a fresh folder and
SQLite store (reports and e-mails written, none sent), and the CPU time (``time.process_time``:
every thread of the process) is split by what was running:

- ``charts``: vl-convert's conversions (Vega-Lite to SVG or PNG, the logo's SVG to PNG);
- ``pdf``: WeasyPrint (parsing the HTML, laying out the pages, writing the PDF), the charts it
  draws included;
- ``html``: the report templates (``render_html``) and the ``html_report`` page, charts apart;
- ``xlsx``: the workbooks (their sheets built and written);
- ``document``: the report documents built from the run's figures (``build_document``);
- ``rest``: everything else (reading the exports, the metric stage, the store, the e-mails).

Each part is counted once: time spent in an inner part (a chart converted while the HTML is
rendered) is the inner part's.

With ``--reference-src DIR`` (another checkout's ``src``) or ``--reference-commit REV`` (this
repository's ``src`` at a commit, unpacked in a temporary folder), the same child runs in turn
with that code, rounds alternating which goes first, and the median of each round's ratios is
printed: CPU ratios measured side by side hold on a loaded machine, wall times do not.
``--keep DIR`` keeps each round's written reports (``DIR/this-1/reports``...) to look at.

Run: ``.venv/bin/python benchmarks/report_render.py --rounds 3 --reference-commit 8426acc``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from timing import child_figures, measured_in_turn, print_side_by_side  # benchmarks/timing.py

REPO = Path(__file__).resolve().parent.parent
PARTS = ("charts", "pdf", "html", "xlsx", "document", "rest")


class Clock:
    """CPU time by part, each second counted in the innermost part running."""

    def __init__(self) -> None:
        self.totals: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self.stack: list[list] = [["rest", time.process_time()]]

    def wrap(self, part: str, function):
        clock = self

        def timed(*args, **kwargs):
            now = time.process_time()
            outer = clock.stack[-1]
            clock.totals[outer[0]] += now - outer[1]
            clock.stack.append([part, now])
            clock.calls[part] += 1
            try:
                return function(*args, **kwargs)
            finally:
                now = time.process_time()
                inner = clock.stack.pop()
                clock.totals[inner[0]] += now - inner[1]
                clock.stack[-1][1] = now

        return timed

    def stop(self) -> None:
        now = time.process_time()
        self.totals[self.stack[-1][0]] += now - self.stack[-1][1]
        self.stack[-1][1] = now


def _patch(clock: Clock, owner, name: str, part: str) -> None:
    if hasattr(owner, name):
        setattr(owner, name, clock.wrap(part, getattr(owner, name)))


def child(keep: str | None) -> dict[str, float]:
    """One round in this interpreter (whichever cmflow its path finds)."""
    os.environ["CMFLOW_LOAD_PLUGINS"] = ""
    started = time.process_time()
    import vl_convert
    import weasyprint
    import weasyprint.document

    import cmflow.builtin.outputs.html_page as html_page
    import cmflow.builtin.reports.html as report_html
    import cmflow.builtin.reports.spreadsheets as spreadsheets
    import cmflow.builtin.reports.workbook as workbook
    import cmflow.builtin.reports.writing as writing
    from cmflow.testing import run_workflow_file

    imports = time.process_time() - started
    clock = Clock()
    for name in ("vegalite_to_svg", "vegalite_to_png", "svg_to_png"):
        _patch(clock, vl_convert, name, "charts")
    _patch(clock, weasyprint.HTML, "__init__", "pdf")
    _patch(clock, weasyprint.HTML, "render", "pdf")
    _patch(clock, weasyprint.HTML, "write_pdf", "pdf")
    _patch(clock, weasyprint.document.Document, "write_pdf", "pdf")
    _patch(clock, report_html, "render_html", "html")
    _patch(clock, html_page, "render_report", "html")
    _patch(clock, spreadsheets, "write_xlsx", "xlsx")
    _patch(clock, workbook, "document_sheets", "xlsx")
    _patch(clock, writing, "build_document", "document")

    import cmflow.runner as runner

    stages: dict[str, float] = defaultdict(float)
    timed_stage = runner._timed

    def stage_clock(*args, **kwargs):
        # named as runner._timed names it, after its entry point's module (a reference runner
        # from before that passes the name first)
        stage = args[0] if isinstance(args[0], str) else args[0].__module__.rpartition(".")[2]
        started = time.process_time()
        try:
            return timed_stage(*args, **kwargs)
        finally:
            stages[stage] += time.process_time() - started

    runner._timed = stage_clock
    work = Path(tempfile.mkdtemp(prefix="cmflow-report-render-"))
    shutil.copytree(REPO / "workflows", work / "workflows")
    os.chdir(work)
    started = time.process_time()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        run_workflow_file(work / "workflows" / "demo.toml", store_url=f"sqlite:///{work / 'state.db'}")
    run_cpu = time.process_time() - started
    clock.stop()
    pdfs = sorted((work / "reports").rglob("*.pdf"))
    figures = {"run": run_cpu, "imports": imports, **{part: clock.totals.get(part, 0.0) for part in PARTS},
               "pdf_files": len(pdfs), "pdf_bytes": sum(p.stat().st_size for p in pdfs),
               "charts_calls": clock.calls.get("charts", 0),
               **{f"stage {name}": cpu for name, cpu in stages.items() if cpu >= 0.05}}
    figures["reports"] = sum(figures[part] for part in PARTS if part != "rest")
    os.chdir(REPO)
    if keep:
        shutil.copytree(work / "reports", Path(keep) / "reports", dirs_exist_ok=True)
    shutil.rmtree(work, ignore_errors=True)
    return figures


def unpack_commit(commit: str) -> str:
    """This repository's ``src`` at ``commit``, in a temporary folder (removed at exit)."""
    folder = tempfile.mkdtemp(prefix="cmflow-report-render-reference-")
    archive = subprocess.run(["git", "-C", str(REPO), "archive", "--format=tar", commit, "src"],
                             check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    import atexit

    atexit.register(shutil.rmtree, folder, True)
    return str(Path(folder) / "src")


FIGURES = (("run", "demo run, CPU s"), ("reports", "  reports (the parts below but rest)"),
           ("pdf", "  pdf: WeasyPrint"), ("charts", "  charts: vl-convert"), ("html", "  html: templates"),
           ("xlsx", "  xlsx: workbooks"), ("document", "  document: figures"),
           ("rest", "  rest: sources, metrics, store, mail"), ("imports", "imports before the run, CPU s"),
           ("charts_calls", "vl-convert conversions"), ("pdf_files", "PDF files"),
           ("pdf_bytes", "PDF bytes"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--reference-src", metavar="DIR", help="Another checkout's src, measured in turn.")
    parser.add_argument("--reference-commit", metavar="REV", help="This repository's src at REV, measured in turn.")
    parser.add_argument("--keep", metavar="DIR", help="Keep each round's reports under DIR.")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        print(json.dumps(child(options.keep)))
        return 0
    reference = options.reference_src or (unpack_commit(options.reference_commit) if options.reference_commit else None)
    trees = [("this", None)] + ([("reference", reference)] if reference else [])

    def measure(name: str, src: str | None, number: int) -> dict[str, float]:
        keep = ["--keep", str(Path(options.keep) / f"{name}-{number + 1}")] if options.keep else []
        return child_figures(__file__, src, *keep)

    rounds = measured_in_turn(trees, options.rounds, measure,
                              lambda f: f"run={f['run']:.2f}s reports={f['reports']:.2f}s")
    print_side_by_side(rounds, FIGURES, width=40, decimals=2)
    stage_keys = sorted({key for name, _ in trees for r in rounds[name] for key in r if key.startswith("stage ")},
                        key=lambda key: -statistics.median(r.get(key, 0.0) for r in rounds["this"]))
    for key in stage_keys:  # inclusive: a stage's CPU, whatever part it was spent in
        medians = [statistics.median(r.get(key, 0.0) for r in rounds[name]) for name, _ in trees]
        print(f"{key + ', CPU s':40}" + "".join(f"{m:12.2f}" for m in medians))
    return 0


if __name__ == "__main__":
    sys.exit(main())
