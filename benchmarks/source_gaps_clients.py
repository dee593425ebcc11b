#!/usr/bin/env python3
"""Does the source_gaps stage grow linearly with an agency's clients, each with a YouTube table?

Why: the reverted redo measured the metrics again once per table scope (each client's YouTube
table): at 40 clients x 50,000 posts, 49 s of source_gaps against 1 s for the measure stage,
growing with clients squared. The stage now measures the metrics reading such tables once more
in all, with the counters the tables cannot tell set to a figure no export holds, and compares
by a join (stages/source_gaps.py).

What it does, for each number of clients of ``--clients``: writes an agency workflow (in a
temporary folder) with, per client, a Facebook page and a YouTube channel: one YouTube Studio
table per client (its folder names the run's week as its range; 20 videos published over the
last 200 days, most before the range) and one Facebook export of ``--posts-per-client`` posts
per client over 200 days; metrics totals (likes, shares), posts published, engagement rate by
reach, and an anomaly trigger over 26 weeks (so that 27 periods are measured). It runs the
workflow in this process (dry run, no store) and takes the CPU time of each stage (the run's
stages timed with ``time.process_time``, every thread of the process counted).

It prints, last, one line per size: ``clients=N posts=P measure_cpu=Xs source_gaps_cpu=Ys
source_gaps/measure=R``, then ``growth clients=C measure=A source_gaps=B`` (CPU at the largest
size over the smallest): linear is the clients' ratio, the posts growing with them.

Run: ``python benchmarks/source_gaps_clients.py`` (40 and 200 clients, 1,250 posts each: about
two minutes on a loaded machine); ``--clients 10 40`` for a quick look; ``--distinct-ranges`` for
a range of its own per client. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

HEADER = "Content,Video title,Video publish time,Duration,Views,Impressions,Likes,Shares,Comments added"


def write_agency(root: Path, clients: int, posts_per_client: int, distinct_ranges: bool = False) -> Path:
    """The workflow and its files; returns the workflow's path. With ``distinct_ranges``, each
    client's table has a range of its own (28 days ending 0 to 149 days before the period's
    end, the review's case): one row of the tables' join per client, and after-range gaps."""
    generator = random.Random(1)
    toml = ['[workflow]\nname = "Scale"\ntimezone = "UTC"\nperiod = "2026-11-16..2026-11-22"\n'
            'as_of = "2026-11-23"\ncompare = ["previous_period", "same_period_last_year"]\n']
    toml += [f'[[clients]]\nid = "c{c}"\nname = "Client {c}"\naccounts = ["c{c}fb", "c{c}yt"]\nlanguage = "en"\n'
             for c in range(clients)]
    for c in range(clients):
        last = datetime(2026, 11, 22) - timedelta(days=c % 150 if distinct_ranges else 0)
        first = last - timedelta(days=27) if distinct_ranges else datetime(2026, 11, 16)
        folder = root / f"yt{c}" / f"Content {first:%Y-%m-%d}_{last:%Y-%m-%d} Client {c}"
        folder.mkdir(parents=True)
        videos = []
        for i in range(20):
            day = datetime(2026, 11, 22) - timedelta(days=generator.randint(0, 200))
            figures = [generator.randint(10, 5000), generator.randint(100, 90000), generator.randint(0, 300),
                       generator.randint(0, 30), generator.randint(0, 20)]
            videos.append((f'v{c}x{i},Video {i},"{day:%b} {day.day}, {day.year}",100', figures))
        total = "Total,,,," + ",".join(str(sum(f[k] for _, f in videos)) for k in range(5))  # the rows' sums
        lines = [HEADER, total, *(f"{head},{','.join(map(str, f))}" for head, f in videos)]
        (folder / "Table data.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
        toml.append(f'[[sources]]\nid = "yt{c}"\nplugin = "export"\npath = "yt{c}/**/*.csv"\naccount = "c{c}yt"\n')
    start = datetime(2026, 11, 22, 12)
    with open(root / "fb.csv", "w", encoding="utf-8") as out:
        out.write("platform,account,post_id,published_at,likes,shares,reach\n")
        for i in range(clients * posts_per_client):
            published = start - timedelta(minutes=generator.randint(0, 60 * 24 * 200))
            out.write(f"facebook,c{generator.randrange(clients)}fb,p{i},{published:%Y-%m-%dT%H:%M:%SZ},"
                      f"{generator.randint(0, 50)},{generator.randint(0, 5)},{generator.randint(50, 5000)}\n")
    toml.append('[[sources]]\nid = "fb"\nplugin = "csv"\npath = "fb.csv"\n')
    toml.append('[[metrics]]\nplugin = "totals"\ncounters = ["likes", "shares"]\n'
                'by = ["overall", "platform", "account", "client"]\n\n'
                '[[metrics]]\nplugin = "posts_published"\nby = ["overall", "platform", "account", "client"]\n\n'
                '[[metrics]]\nplugin = "engagement_rate_by_reach"\nby = ["overall", "client"]\n\n'
                '[[triggers]]\nid = "anomaly"\nplugin = "anomaly"\nmetric = "total_likes"\n'
                'baseline = "previous_periods"\nperiods = 26\nby = ["overall", "client"]\n')
    (root / "workflow.toml").write_text("\n".join(toml), encoding="utf-8")
    return root / "workflow.toml"


def stage_cpu(workflow: Path) -> dict[str, float]:
    """CPU seconds of each stage of one dry run of ``workflow``."""
    from cmflow import runner
    from cmflow.testing import run_workflow_file

    spent: dict[str, float] = {}
    timed = runner._timed

    def counted(stage, run, *args, **kwargs):
        started = time.process_time()
        try:
            return timed(stage, run, *args, **kwargs)
        finally:
            spent[stage] = spent.get(stage, 0.0) + time.process_time() - started

    runner._timed = counted
    try:
        result = run_workflow_file(workflow, store_url=None, dry_run=True)
    finally:
        runner._timed = timed
    assert result.status != "failed", [s.error for s in result.stages if not s.ok]
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--clients", type=int, nargs="+", default=[40, 200])
    parser.add_argument("--posts-per-client", type=int, default=1250)
    parser.add_argument("--distinct-ranges", action="store_true",
                        help="each client's table with a range of its own (else every one the run's week)")
    options = parser.parse_args()
    figures = []
    for clients in options.clients:
        with tempfile.TemporaryDirectory() as folder:
            spent = stage_cpu(write_agency(Path(folder), clients, options.posts_per_client,
                                           options.distinct_ranges))
        figures.append((clients, spent["measure"], spent["source_gaps"]))
        measure, gaps = spent["measure"], spent["source_gaps"]
        print(f"clients={clients} posts={clients * options.posts_per_client} measure_cpu={measure:.2f}s "
              f"source_gaps_cpu={gaps:.2f}s source_gaps/measure={gaps / measure:.2f}", flush=True)
    (small, measure_small, gaps_small), (large, measure_large, gaps_large) = figures[0], figures[-1]
    print(f"growth clients={large / small:.1f} measure={measure_large / measure_small:.1f} "
          f"source_gaps={gaps_large / gaps_small:.1f}")


if __name__ == "__main__":
    main()
