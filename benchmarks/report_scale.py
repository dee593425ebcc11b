#!/usr/bin/env python3
"""How long does a monthly client report for 50 accounts with a year of history take to render,
in each format, and how large is each file?

Why: an agency sends its monthly reports on the first day of the month, one per client, and a
big client has dozens of accounts. Rendering (charts, the PDF's layout, the workbook) must stay
a small part of the run that measured the figures.

What it does:

1. Generates, once, from a fixed seed, a year and a month of posts (about three a week) and
   daily follower counts for ``--accounts`` accounts (50 by default) of one client, spread over
   five platforms, as CSV files the ``csv`` source reads.
2. Runs the monthly workflow (November 2026 against October and against November 2025, 12
   months of trend) once, with no output: the time that run takes (fetch, measure, compare,
   objectives) is the reference.
3. Renders the client's report from that run's result in each format (html, pdf, xlsx, csv,
   json), each ``--runs`` times, and prints the median time, the ratio to the reference run and
   the file's size.

Nothing is enforced: timings depend on the machine. The last lines read
``format=pdf seconds=1.234 ratio_to_run=0.56 size_kb=210``.

Run: ``python benchmarks/report_scale.py`` (``--accounts 200`` to scale, ``--runs 5``).
"""

from __future__ import annotations

import argparse
import csv
import random
import statistics
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

PLATFORMS = ("instagram", "facebook", "linkedin", "tiktok", "youtube")
FORMATS = ("image", "carousel", "video", "reel", "text")
START, END = date(2025, 10, 1), date(2026, 11, 30)


def generate(folder: Path, accounts: int, seed: int = 7) -> list[str]:
    """Write posts.csv and followers.csv into ``folder``; return the account ids."""
    rng = random.Random(seed)
    names = [f"brand-{i:03d}" for i in range(accounts)]
    with (folder / "posts.csv").open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["published_at", "platform", "account", "post_id", "format", "text", "url",
                         "likes", "comments", "shares", "saves", "reach", "impressions"])
        for index, account in enumerate(names):
            platform = PLATFORMS[index % len(PLATFORMS)]
            day, number = START, 0
            while day <= END:
                day += timedelta(days=rng.choice((1, 2, 3, 4)))
                number += 1
                reach = rng.randint(800, 20_000)
                likes = int(reach * rng.uniform(0.01, 0.08))
                writer.writerow([
                    f"{day.isoformat()} {rng.randint(7, 21):02d}:{rng.choice((0, 15, 30, 45)):02d}:00",
                    platform, account, f"{account}-{number}", rng.choice(FORMATS),
                    f"Post {number} of {account}, a caption with a comma, and more words",
                    f"https://example.org/{account}/{number}", likes, likes // 12, likes // 20, likes // 15,
                    reach, int(reach * rng.uniform(1.1, 1.8))])
    with (folder / "followers.csv").open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["date", "platform", "account", "followers"])
        for index, account in enumerate(names):
            platform, followers, day = PLATFORMS[index % len(PLATFORMS)], rng.randint(2_000, 80_000), START
            while day <= END:
                followers += rng.randint(-5, 40)
                writer.writerow([day.isoformat(), platform, account, followers])
                day += timedelta(days=1)
    return names


def workflow_text(accounts: list[str]) -> str:
    names = ", ".join(f'"{a}" = "Brand {a[-3:]}"' for a in accounts)
    by = '["client", ["client", "platform"], "account", ["client", "format"]]'
    return f'''
[workflow]
name = "Monthly report (benchmark)"
timezone = "Europe/Paris"
period = "2026-11-01..2026-11-30"
compare = ["previous_period", "same_period_last_year"]

[[clients]]
id = "big-client"
name = "Big Client"
language = "fr"
accounts = {{ {names} }}

[[sources]]
id = "posts"
plugin = "csv"
path = "posts.csv"
datetime_format = "%Y-%m-%d %H:%M:%S"

[[sources]]
id = "followers"
plugin = "csv"
path = "followers.csv"
record = "account_snapshot"

[[metrics]]
plugin = "engagement_rate_by_reach"
by = {by}

[[metrics]]
plugin = "followers"
by = ["client", ["client", "platform"], "account"]

[[metrics]]
plugin = "posts_published"
by = {by}

[[metrics]]
plugin = "totals"
counters = ["reach", "impressions", "interactions"]
by = {by}

[[metrics]]
plugin = "top_posts"
rank_by = "engagement_rate_by_reach"
n = 10
by = ["client"]
'''


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    from cmflow.builtin.outputs.report import ReportOptions
    from cmflow.builtin.reports.writing import write_reports
    from cmflow.testing import run_workflow_file

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        accounts = generate(folder, args.accounts)
        path = folder / "monthly.toml"
        path.write_text(workflow_text(accounts), encoding="utf-8")
        started = time.perf_counter()
        result = run_workflow_file(path, store_url=f"sqlite:///{folder / 'state.db'}",
                                   now=datetime(2026, 12, 1, 8, 0, tzinfo=timezone.utc))
        reference = time.perf_counter() - started
        failed = [s.id for s in result.stages if not s.ok]
        if failed:
            raise SystemExit(f"the benchmark's run failed: {failed}")
        print(f"accounts={args.accounts} posts={result.records['post'].height} run_seconds={reference:.3f} (reference)")
        lines = []
        for fmt in ("html", "pdf", "xlsx", "csv", "json"):
            options = ReportOptions(path=str(folder / "out" / "{client}.{format}"), formats=[fmt], trend_periods=12)
            times = []
            for _ in range(args.runs):
                began = time.perf_counter()
                [written] = write_reports(result, options, folder)
                times.append(time.perf_counter() - began)
            seconds = statistics.median(times)
            lines.append(f"format={fmt} seconds={seconds:.3f} ratio_to_run={seconds / reference:.2f} "
                         f"size_kb={written.stat().st_size / 1024:.0f}")
        print("\n".join(lines))


if __name__ == "__main__":
    main()
