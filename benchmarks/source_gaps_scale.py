#!/usr/bin/env python3
"""Does the source_gaps stage grow linearly with the measurements, whatever the number of gaps?

Why: a first version blanked a period a source's records do not cover with one pass over the
measurements per gap (a when/then per gap, chained): 89 s at 2.5 M rows and 50 gaps. The stage
now merges the gaps by metric, period and source into a small table, joins it once, and works
out one condition per source (stages/source_gaps.py).

What it does, for each size of ``--sizes`` (measurement rows): builds a synthetic measurement
frame (10 metrics, 104 weekly periods, accounts on five platforms owned by 50 clients, one row per
metric, period and series: overall, platform, account, client), and a workflow of two sources:
an API source reaching back 7 days (X) with ``--gaps`` spans of days it could no longer return
(each one week: one period), and a Facebook export. Then times, in this process, each in turn:

- ``stage``: ``source_gaps`` as the run calls it (the X source's 50 gaps, its series only);
- ``per_gap``: the reference, the reverted way, one chained when/then per gap over every row.

It checks that both blank the same number of rows in X's series (the reference is given the same
rows to blank), and prints, last, one line per size: ``rows=N gaps=G stage_cpu=Xs per_gap_cpu=Ys
per_gap/stage=R``, then ``growth stage=A per_gap=B`` (CPU at the largest size over the smallest,
against the rows' growth): linear is the rows' ratio.

Run: ``python benchmarks/source_gaps_scale.py`` (250,000 and 2,500,000 rows, 50 gaps; about a
minute on a loaded machine); ``--sizes 100000 --gaps 10`` for a quick look. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import time
from datetime import date, timedelta
from types import SimpleNamespace


def measurements(rows: int):
    """About ``rows`` measurement rows: 10 metrics x 104 weeks x the series that many rows need."""
    import polars as pl

    metrics, weeks = 10, 104
    accounts = max(rows // (metrics * weeks) - 7, 1)  # beside the overall, 5 platform and 1 client rows
    platforms = ["x", "facebook", "instagram", "linkedin", "tiktok"]
    index = pl.int_range(0, accounts, eager=True)
    account_rows = pl.DataFrame({
        "platform": index.map_elements(lambda i: platforms[i % 5], return_dtype=pl.String),
        "account": index.map_elements(lambda i: f"brand-{i:06d}", return_dtype=pl.String),
        "client": pl.Series([None] * accounts, dtype=pl.String)})
    other_rows = pl.DataFrame({"platform": [None, *platforms, None],
                               "account": [None] * 7, "client": [None] * 6 + ["client-0"]},
                              schema={"platform": pl.String, "account": pl.String, "client": pl.String})
    dims = pl.concat([other_rows, account_rows])
    start = date(2025, 1, 6)
    periods = pl.DataFrame({"period_start": [start + timedelta(weeks=w) for w in range(weeks)],
                            "period_end": [start + timedelta(weeks=w, days=6) for w in range(weeks)],
                            "period": [f"week-{w}" for w in range(weeks)]})
    names = pl.DataFrame({"metric": [f"metric_{m}" for m in range(metrics)]})
    frame = names.join(periods, how="cross").join(dims, how="cross")
    return frame.with_columns(pl.lit("count").alias("unit"), (pl.int_range(0, pl.len()) % 7).cast(pl.Float64)
                              .alias("value"), pl.lit(None, dtype=pl.String).alias("reason"),
                              pl.lit(None, dtype=pl.String).alias("basis"))


def inputs(gaps: int):
    """The workflow, metric requests and fetch reports of the X search with ``gaps`` gaps."""
    from cmflow.foundation.clients import Client
    from cmflow.foundation.run_warnings import RunWarning
    from cmflow.plugins.result import StageReport

    start = date(2025, 1, 6)
    days = [(start + timedelta(weeks=2 * g), start + timedelta(weeks=2 * g, days=6)) for g in range(gaps)]
    warning = RunWarning("x: days older than the platform returns", "older_than_reach",
                         {"source": "x", "days": days, "reach": timedelta(days=7)})
    x = StageReport(kind="source", id="x", plugin="x", ok=True, warnings=[warning])
    x.platforms, x.accounts = ["x"], [f"brand-{i:06d}" for i in range(0, 400, 5)]
    facebook = StageReport(kind="source", id="facebook", plugin="csv", ok=True)
    plugin = lambda kinds: SimpleNamespace(produces=lambda: set(kinds))  # noqa: E731
    workflow = SimpleNamespace(sources=[SimpleNamespace(id="x", plugin=plugin({"post"})),
                                        SimpleNamespace(id="facebook", plugin=plugin({"post"}))],
                               clients=[Client("client-0", "Client 0", {"brand-000000": "Brand"})])
    requests = [SimpleNamespace(plugin=SimpleNamespace(needed_records=lambda: [("post",)],
                                                       produces=lambda m=m: [f"metric_{m}"]),
                                source_ids=["x", "facebook"], where={}) for m in range(10)]
    return workflow, requests, [x, facebook], days


def per_gap(frame, days, condition):
    """The reference: one chained when/then per gap over every row."""
    import polars as pl

    said = pl.lit(None, dtype=pl.String)
    for first, last in days:
        within = (pl.col("period_start") >= first) & (pl.col("period_end") <= last) & condition
        said = pl.when(within.fill_null(False)).then(pl.lit(f"gap {first}")).otherwise(said)
    return frame.with_columns(pl.when(said.is_not_null()).then(None).otherwise(pl.col("value")).alias("value"),
                              pl.coalesce(said, pl.col("reason")).alias("reason"))


def cpu(work) -> tuple[float, object]:
    before = time.process_time()
    answer = work()
    return time.process_time() - before, answer


def main() -> None:
    from cmflow.stages.source_gaps import source_gaps
    from cmflow.stages.source_series import series_may_hold, with_account_keys

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="250000,2500000", help="measurement rows, comma-separated")
    parser.add_argument("--gaps", type=int, default=50, help="spans of days the API source could not return")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    workflow, requests, reports, days = inputs(args.gaps)
    lines, growth = [], {}
    for size in sizes:
        frame = measurements(size)
        stage_cpu, blanked = cpu(lambda: source_gaps(workflow, requests, {}, [], frame, reports))
        condition = series_may_hold(workflow.clients, ["x"], reports[0].accounts, {},
                                    ["platform", "account", "client"])
        keyed = with_account_keys(frame)
        reference_cpu, reference = cpu(lambda: per_gap(keyed, days, condition))
        got, wanted = blanked["value"].null_count(), reference["value"].null_count()
        if got != wanted:
            raise SystemExit(f"rows={frame.height}: the stage blanked {got} rows, the reference {wanted}")
        growth[size] = (stage_cpu, reference_cpu, frame.height)
        lines.append(f"rows={frame.height} gaps={args.gaps} blanked={got} stage_cpu={stage_cpu:.2f}s "
                     f"per_gap_cpu={reference_cpu:.2f}s per_gap/stage={reference_cpu / stage_cpu:.1f}")
        del frame, blanked, reference, keyed
    print("\n".join(lines))
    if len(sizes) > 1:
        (s0, r0, n0), (s1, r1, n1) = growth[sizes[0]], growth[sizes[-1]]
        print(f"growth rows={n1 / n0:.1f}x stage={s1 / s0:.1f}x per_gap={r1 / r0:.1f}x")


if __name__ == "__main__":
    main()
