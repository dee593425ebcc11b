#!/usr/bin/env python3
"""Does cmflow's metric stage hold an agency's year on one machine? Wall time, CPU and peak memory.

Why: DESIGN.md promises that "a run over a year of a thousand accounts fits on a laptop", and
the scale issue (16) sets the bar: weekly KPIs per account within 1.1x of the same KPIs
hand-written in Polars lazy at 1,000 accounts, within 1.2x at 10,000 with a peak memory within
1.1x of Polars', and a growth from 1,000 to 10,000 accounts no worse than the reference's.

What it does, for each size of ``--sizes`` (accounts):

1. Generates (once, cached as Parquet under ``--data-dir``/accounts-N) a synthetic agency data
   set from a fixed seed: N accounts on five platforms, about 1,500 posts per account from
   2025-01-03 to 2026-01-07 and 365 daily follower snapshots per account (2025-01-05 ..
   2026-01-04). Saves are not reported on LinkedIn and X, reach not on X, and 0.5 % of the
   follower counts are missing, so the "no value" paths run too. The random numbers come from
   SplitMix64 written as Polars expressions: vectorised, no numpy needed, the same on every
   machine. Account names are numbered per platform (brand-000 ... on each), unique at any N.
2. Runs each implementation in its own child process (``--impl cmflow``, ``--impl polars``,
   ``--impl duckdb``, interleaved, ``--runs`` times) so that the peak resident memory measured
   (``ru_maxrss`` of that child, via ``os.wait4``) is that implementation's alone. Each child
   loads the Parquet files into memory (timed as "load"), then computes the weekly KPIs per
   account for the 52 ISO weeks 2025-W02 .. 2026-W01 in Europe/Paris (timed as "metric stage",
   wall time and the process's CPU time over every thread), then writes its values for checking
   (not timed). Peak memory covers the interpreter, the libraries, the loaded data and the
   computation; data generation happens in the parent and is not in it.
3. Checks that cmflow agrees with both references on every (KPI, week, account) value, prints
   the max absolute and relative difference, and exits 1 if they differ beyond 1e-6 relative.

The KPIs (cmflow's built-in formulas, re-written in Polars and in SQL for the references):
engagement_rate_by_reach, engagement_rate_by_followers, engagement_rate_by_impressions,
follower_growth, follower_growth_pct, posts_published, total_interactions, total_reach,
total_impressions, ``by = ["account"]``.

It prints, last, one line per size: ``accounts=N cmflow=Xs polars=Ys duckdb=Zs cmflow/polars=R
peak_cmflow=AMB peak_polars=BMB`` (medians over the runs; R is the median of each run's ratio).

Run: ``python benchmarks/metrics_scale.py`` (1,000 accounts, one run), ``--sizes
1000,5000,10000 --runs 3`` for the issue's table (10,000 accounts take about 5 GB per child,
one child at a time), ``--profile`` for cmflow's time per stage and per metric. See
benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import polars as pl

SEED = 20250106
TIMEZONE = "Europe/Paris"
FIRST_WEEK_START = date(2025, 1, 6)  # Monday of ISO week 2025-W02
WEEKS = 52
POSTS_FROM = datetime(2025, 1, 3, tzinfo=timezone.utc)  # a few days either side of the weeks,
POSTS_TO = datetime(2026, 1, 8, tzinfo=timezone.utc)  # so some posts fall in no period
SNAPSHOTS_FROM = date(2025, 1, 5)  # the day before the first week: the growth baseline
SNAPSHOT_DAYS = 365
PLATFORMS = {"instagram": 0.30, "facebook": 0.25, "linkedin": 0.20, "tiktok": 0.15, "x": 0.10}
NO_SAVES = ("linkedin", "x")
NO_REACH = ("x",)
FORMATS = ("image", "video", "reel", "carousel", "text", "link")
PILLARS = ("product", "behind_the_scenes", "community", "education", "promotion")
KPIS = ("engagement_rate_by_reach", "engagement_rate_by_followers", "engagement_rate_by_impressions",
        "follower_growth", "follower_growth_pct", "posts_published", "total_interactions",
        "total_reach", "total_impressions")
IMPLEMENTATIONS = ("cmflow", "polars", "duckdb")
RELATIVE_TOLERANCE = 1e-6
TARGET_RATIO_SMALL = 1.1  # cmflow / Polars at 1,000 accounts
TARGET_RATIO_LARGE = 1.2  # ... and at 10,000
TARGET_MEMORY_RATIO = 1.1  # peak memory, cmflow / Polars, at 10,000

MASK64 = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15
MIX1 = 0xBF58476D1CE4E5B9
MIX2 = 0x94D049BB133111EB


# -- the data set -------------------------------------------------------------------------
def _splitmix64_int(value: int) -> int:
    """SplitMix64 of one Python int: derives a stream offset from (seed, stream)."""
    z = (value + GOLDEN) & MASK64
    z = ((z ^ (z >> 30)) * MIX1) & MASK64
    z = ((z ^ (z >> 27)) * MIX2) & MASK64
    return z ^ (z >> 31)


def uniform(index: "pl.Expr", stream: int, seed: int = SEED) -> "pl.Expr":
    """A float in [0, 1) per row: SplitMix64 of the row's index in its own stream.

    Polars' unsigned arithmetic wraps like the C original, and shifts are exact floor
    divisions by powers of two, so this is the published generator, vectorised.
    """
    import polars as pl

    def u64(value: int) -> pl.Expr:
        return pl.lit(value, dtype=pl.UInt64)

    offset = _splitmix64_int(seed * 1_000_003 + stream)
    z = index.cast(pl.UInt64) * u64(GOLDEN) + u64(offset)
    z = z.xor(z // u64(1 << 30)) * u64(MIX1)
    z = z.xor(z // u64(1 << 27)) * u64(MIX2)
    z = z.xor(z // u64(1 << 31))
    return (z // u64(1 << 11)).cast(pl.Float64) / float(1 << 53)


def _pick(u: "pl.Expr", choices: tuple[str, ...]) -> "pl.Expr":
    import polars as pl

    index = (u * len(choices)).floor().cast(pl.Int64)
    return pl.lit(pl.Series(choices)).gather(index)


def generate_accounts(n_accounts: int, posts_per_account_day: float) -> "pl.DataFrame":
    """One row per account: platform, name, audience size, posting rate and follower trend."""
    import polars as pl

    platforms: list[str] = []
    for name, share in PLATFORMS.items():
        platforms += [name] * round(share * n_accounts)
    platforms = (platforms + [next(iter(PLATFORMS))] * n_accounts)[:n_accounts]
    i = pl.int_range(pl.len())
    accounts = pl.DataFrame({"platform": platforms}).with_columns(
        # Brands are on several platforms under the same name: accounts are (platform, account).
        # Numbered per platform, so the same brand-007 is on several platforms; unique within one.
        pl.format("brand-{}", pl.int_range(pl.len()).over("platform").cast(pl.String).str.zfill(3))
        .alias("account"),
        (300 + (250_000 * uniform(i, 1) ** 3)).floor().cast(pl.Int64).alias("followers_start"),
        # Most accounts post a few times a day; a few post so rarely that some weeks are empty.
        (posts_per_account_day * 3 * uniform(i, 2) ** 2 + 0.02).alias("posts_per_day"),
        (-0.0003 + 0.0015 * uniform(i, 3)).alias("daily_growth"),
        (0.01 + 0.08 * uniform(i, 4)).alias("engagement"),
    )
    return accounts


def generate_posts(accounts: "pl.DataFrame") -> "pl.DataFrame":
    """About ``sum(posts_per_day) x 370`` posts, canonical ``post`` columns."""
    import polars as pl

    from cmflow.foundation.records import POST, conform

    span_seconds = int((POSTS_TO - POSTS_FROM).total_seconds())
    days = span_seconds / 86_400
    posts = (accounts.with_columns((pl.col("posts_per_day") * days).round().cast(pl.Int64).alias("n"))
             .select(pl.all().repeat_by("n").explode())
             .drop("n"))
    i = pl.int_range(pl.len())
    reach = (pl.col("followers_start") * (0.05 + 0.5 * uniform(i, 11))).floor().cast(pl.Int64) + 1
    likes = (pl.col("_reach") * pl.col("engagement") * (0.4 + 1.2 * uniform(i, 13))).floor().cast(pl.Int64)
    posts = posts.with_columns(_reach=reach).with_columns(
        pl.format("p{}", i).alias("post_id"),
        (pl.lit(POSTS_FROM) + pl.duration(seconds=(uniform(i, 10) * span_seconds).floor().cast(pl.Int64)))
        .alias("published_at"),
        _pick(uniform(i, 15), FORMATS).alias("format"),
        _pick(uniform(i, 16), PILLARS).alias("pillar"),
        pl.when(~pl.col("platform").is_in(NO_REACH)).then(pl.col("_reach")).alias("reach"),
        (pl.col("_reach") * (1.2 + 1.5 * uniform(i, 12))).floor().cast(pl.Int64).alias("impressions"),
        likes.alias("likes"),
    ).with_columns(
        (pl.col("likes") * 0.10 * uniform(i, 14)).floor().cast(pl.Int64).alias("comments"),
        (pl.col("likes") * 0.15 * uniform(i, 17)).floor().cast(pl.Int64).alias("shares"),
        pl.when(~pl.col("platform").is_in(NO_SAVES))
        .then((pl.col("likes") * 0.20 * uniform(i, 18)).floor().cast(pl.Int64)).alias("saves"),
    )
    return conform(POST, posts)


def generate_snapshots(accounts: "pl.DataFrame") -> "pl.DataFrame":
    """One follower count per account per day, a few of them missing."""
    import polars as pl

    from cmflow.foundation.records import ACCOUNT_SNAPSHOT, conform

    days = pl.DataFrame({"date": pl.date_range(SNAPSHOTS_FROM, SNAPSHOTS_FROM + timedelta(days=SNAPSHOT_DAYS - 1),
                                               eager=True)}).with_row_index("day")
    i = pl.int_range(pl.len())
    trend = pl.col("followers_start") * (1 + pl.col("daily_growth") * pl.col("day"))
    noise = pl.col("followers_start") * 0.002 * (uniform(i, 21) - 0.5)
    snapshots = accounts.join(days, how="cross").with_columns(
        pl.when(uniform(i, 22) >= 0.005).then((trend + noise).round().cast(pl.Int64)).alias("followers"))
    return conform(ACCOUNT_SNAPSHOT, snapshots)


def ensure_data(directory: Path, n_accounts: int, posts_per_account_day: float, regenerate: bool) -> dict[str, Any]:
    """Write the data set to ``directory`` unless it is there; return its description."""
    import polars as pl

    manifest_path = directory / "manifest.json"
    wanted = {"seed": SEED, "accounts": n_accounts, "posts_per_account_day": posts_per_account_day,
              "generator": 2}
    if manifest_path.exists() and not regenerate:
        manifest = json.loads(manifest_path.read_text())
        if all(manifest.get(k) == v for k, v in wanted.items()):
            return manifest
    directory.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    accounts = generate_accounts(n_accounts, posts_per_account_day)
    posts = generate_posts(accounts)
    snapshots = generate_snapshots(accounts)
    posts.write_parquet(directory / "posts.parquet")
    snapshots.write_parquet(directory / "snapshots.parquet")
    manifest = {**wanted, "posts": posts.height, "snapshots": snapshots.height,
                "generated_in_s": round(time.perf_counter() - started, 2)}
    manifest_path.write_text(json.dumps(manifest, indent=2))
    return manifest


def weekly_periods() -> list:
    """The 52 ISO weeks, Monday to Sunday in Europe/Paris, labelled ``2025-W02`` ..."""
    from cmflow.foundation.periods import Period

    periods = []
    for week in range(WEEKS):
        start = FIRST_WEEK_START + timedelta(weeks=week)
        year, number, _ = start.isocalendar()
        periods.append(Period(start, start + timedelta(days=6), TIMEZONE, label=f"{year}-W{number:02d}",
                              unit="week"))
    return periods


# -- implementations (each runs in its own child process) ---------------------------------
def run_cmflow(data_dir: Path, out: Path, profile: bool) -> dict[str, Any]:
    import polars as pl

    from cmflow.builtin.metrics.follower_growth import FollowerGrowth
    from cmflow.builtin.metrics.engagement import (EngagementRateByFollowers, EngagementRateByImpressions,
                                                    EngagementRateByReach)
    from cmflow.builtin.metrics.posts_published import PostsPublished
    from cmflow.builtin.metrics.totals import Totals
    from cmflow.stages.measure import MetricRequest, measure

    def plugin(cls: type, **options: Any) -> Any:
        return cls(cls.Options(**options), entry_id=cls.name)

    metrics = [plugin(EngagementRateByReach), plugin(EngagementRateByFollowers),
               plugin(EngagementRateByImpressions), plugin(FollowerGrowth), plugin(PostsPublished),
               plugin(Totals, counters=["interactions", "reach", "impressions"])]
    requests = [MetricRequest(m, ["account"], ["bench"], m.name) for m in metrics]
    periods = weekly_periods()
    timings: dict[str, float] = {}

    started = time.perf_counter()
    # What the fetch stage hands to the measure stage: one conformed frame per kind, with its source.
    records = {
        "post": pl.read_parquet(data_dir / "posts.parquet").with_columns(source_id=pl.lit("bench")),
        "account_snapshot": pl.read_parquet(data_dir / "snapshots.parquet").with_columns(source_id=pl.lit("bench")),
    }
    loaded, loaded_cpu = time.perf_counter(), time.process_time()
    rss_after_load = _current_rss()
    if profile:
        timings = profile_cmflow(requests, records, periods)
        computed, computed_cpu = time.perf_counter(), time.process_time()
        measurements = None
    else:
        measured = measure(requests, records, periods)
        measurements = measured.measurements
        computed, computed_cpu = time.perf_counter(), time.process_time()
        failed = [f"{s.id}: {s.error}" for s in measured.reports if not s.ok]
        if failed:
            raise SystemExit("cmflow metric failed: " + "; ".join(failed))
        (measurements.select("metric", "period", "platform", "account", "value")
         .write_parquet(out))
    return {"load_s": loaded - started, "compute_s": computed - loaded,
            "compute_cpu_s": computed_cpu - loaded_cpu, "rss_after_load": rss_after_load,
            "rows": None if measurements is None else measurements.height, "stages": timings}


def profile_cmflow(requests: list, records: dict, periods: list, repeats: int = 3) -> dict[str, float]:
    """The measure stage's steps timed one by one in CPU time (every thread: steadier than wall
    time on a shared machine), median of repeats.

    Mirrors cmflow.stages.measure.measure (same calls, same order); keep it in step.
    """
    import polars as pl

    from cmflow.plugins.context import MetricInput
    from cmflow.plugins.shared_aggregates import SharesAggregates, grouped_aggregates
    from cmflow.foundation.measurements import grouping_columns, standardise, with_series_key
    from cmflow.stages.measure import metric_input, metric_records, with_period_bounds

    laps: dict[str, list[float]] = {}
    for _ in range(repeats):
        mark = time.process_time()

        def lap(name: str) -> None:
            nonlocal mark
            now = time.process_time()
            laps.setdefault(name, []).append(now - mark)
            mark = now

        spelled = metric_records(records, None)
        lap("campaign spellings (metric_records)")
        base = metric_input(spelled, requests[0].source_ids, periods)
        lap("label periods (metric_input)")
        inputs = [MetricInput(base.records, base.all_records, base.periods, grouping_columns(request.by))
                  for request in requests]
        sharing = [(request.plugin, data) for request, data in zip(requests, inputs)
                   if isinstance(request.plugin, SharesAggregates)]
        grouped = grouped_aggregates([("run", plugin.aggregates(data)) for plugin, data in sharing],
                                     [p.label for p in periods])
        lap("group the shared aggregates (one plan)")
        frames = []
        for (plugin, data), frames_of_metric in zip(sharing, grouped):
            frames.append(plugin.from_aggregates(data, frames_of_metric))
            lap(f"derive {plugin.name}")
        for request, data in zip(requests, inputs):
            if not isinstance(request.plugin, SharesAggregates):
                frames.append(request.plugin.compute(data))
                lap(f"compute {request.plugin.name}")
        measurements = standardise(frames)
        lap("standardise")
        measurements = with_period_bounds(measurements, periods)
        lap("join period bounds")
        with_series_key(measurements)
        lap("with_series_key")
        del base, frames, measurements
    return {name: statistics.median(times) for name, times in laps.items()}


def duckdb_sql(periods: list) -> str:
    """The same KPIs in SQL: one statement, the formulas of cmflow's built-in metrics."""
    bounds = ",\n    ".join(
        f"('{p.label}', DATE '{p.start}', DATE '{p.end}', "
        f"TIMESTAMPTZ '{p.start_utc.isoformat()}', TIMESTAMPTZ '{p.end_utc.isoformat()}')"
        for p in periods)
    return f"""
CREATE TABLE kpis AS
WITH periods(period, start_date, end_date, start_utc, end_utc) AS (VALUES
    {bounds}),
labelled_posts AS (
    SELECT w.period, p.platform, p.account, p.reach, p.impressions,
           coalesce(p.likes, 0) + coalesce(p.comments, 0) + coalesce(p.shares, 0) AS lcs,
           coalesce(p.likes, 0) + coalesce(p.comments, 0) + coalesce(p.shares, 0)
               + coalesce(p.saves, 0) AS interactions
    FROM posts p JOIN periods w ON p.published_at >= w.start_utc AND p.published_at < w.end_utc),
post_kpis AS (
    SELECT period, platform, account, count(*) AS posts,
           sum(interactions) FILTER (WHERE reach > 0) AS err_num,
           sum(reach) FILTER (WHERE reach > 0) AS err_den, sum(reach) AS reach,
           sum(lcs) FILTER (WHERE impressions > 0) AS eri_num,
           sum(impressions) FILTER (WHERE impressions > 0) AS eri_den, sum(impressions) AS impressions,
           sum(interactions) AS interactions
    FROM labelled_posts GROUP BY period, platform, account),
labelled_snapshots AS (
    SELECT w.period, s.platform, s.account, s.date, s.followers
    FROM snapshots s JOIN periods w ON s.date BETWEEN w.start_date AND w.end_date
    WHERE s.followers IS NOT NULL),
audience AS (
    SELECT period, platform, account, count(*) AS snapshots, arg_min(followers, date) AS first_in_period,
           arg_max(followers, date) AS followers_end
    FROM labelled_snapshots GROUP BY period, platform, account),
eve AS (
    SELECT w.period, s.platform, s.account, s.followers AS eve
    FROM snapshots s JOIN periods w ON s.date = w.start_date - 1 WHERE s.followers IS NOT NULL),
accounts AS (
    SELECT DISTINCT platform, account FROM post_kpis
    UNION SELECT DISTINCT platform, account FROM audience),
grid AS (SELECT w.period, a.platform, a.account FROM periods w CROSS JOIN accounts a),
joined AS (
    SELECT g.period, g.platform, g.account, k.posts, k.err_num, k.err_den, k.reach, k.eri_num,
           k.eri_den, k.impressions, k.interactions, a.followers_end,
           a.followers_end - coalesce(e.eve, CASE WHEN a.snapshots > 1 THEN a.first_in_period END) AS growth,
           coalesce(e.eve, CASE WHEN a.snapshots > 1 THEN a.first_in_period END) AS followers_start
    FROM grid g
    LEFT JOIN post_kpis k USING (period, platform, account)
    LEFT JOIN audience a USING (period, platform, account)
    LEFT JOIN eve e USING (period, platform, account))
SELECT period, platform, account,
    CASE WHEN err_den > 0 THEN err_num / err_den * 100 END AS engagement_rate_by_reach,
    CASE WHEN posts > 0 AND followers_end > 0 THEN interactions / followers_end * 100 END
        AS engagement_rate_by_followers,
    CASE WHEN eri_den > 0 THEN eri_num / eri_den * 100 END AS engagement_rate_by_impressions,
    growth::DOUBLE AS follower_growth,
    CASE WHEN followers_start > 0 THEN growth / followers_start * 100 END AS follower_growth_pct,
    coalesce(posts, 0)::DOUBLE AS posts_published,
    interactions::DOUBLE AS total_interactions,
    reach::DOUBLE AS total_reach,
    impressions::DOUBLE AS total_impressions
FROM joined
"""


def polars_plan(posts: "pl.LazyFrame", snapshots: "pl.LazyFrame") -> "pl.LazyFrame":
    """The same KPIs hand-written in Polars lazy: one plan, the formulas of cmflow's built-in metrics.

    Written as a Polars user would write it for these weeks: each post's local date truncated
    to its Monday, the follower count of the day before a week found by shifting the date a
    day forward, every account in every week.
    """
    import polars as pl

    periods = weekly_periods()
    weeks = pl.LazyFrame({"week": [p.start for p in periods], "period": [p.label for p in periods]},
                         schema={"week": pl.Date, "period": pl.String})
    first, last = periods[0].start, periods[-1].start
    account = ["platform", "account"]

    def counted(column: str) -> "pl.Expr":  # a sum over no reported value is no value, not 0
        return pl.when(pl.col(column).count() > 0).then(pl.col(column).sum())

    lcs = pl.sum_horizontal(pl.col(c).fill_null(0) for c in ("likes", "comments", "shares"))
    post_kpis = (
        posts.select(*account, "reach", "impressions", _lcs=lcs,
                     _interactions=lcs + pl.col("saves").fill_null(0),
                     week=pl.col("published_at").dt.convert_time_zone(TIMEZONE).dt.date().dt.truncate("1w"))
        .filter(pl.col("week").is_between(first, last))
        .group_by("week", *account)
        .agg(pl.len().alias("posts"),
             pl.col("_interactions").filter(pl.col("reach") > 0).sum().alias("err_num"),
             pl.col("reach").filter(pl.col("reach") > 0).sum().alias("err_den"),
             counted("reach").alias("reach"),
             pl.col("_lcs").filter(pl.col("impressions") > 0).sum().alias("eri_num"),
             pl.col("impressions").filter(pl.col("impressions") > 0).sum().alias("eri_den"),
             counted("impressions").alias("impressions"),
             pl.col("_interactions").sum().alias("interactions")))
    counts = snapshots.filter(pl.col("followers").is_not_null()).select(*account, "date", "followers")
    audience = (counts.with_columns(week=pl.col("date").dt.truncate("1w"))
                .filter(pl.col("week").is_between(first, last))
                .group_by("week", *account)
                .agg(pl.len().alias("snapshots"),
                     pl.col("followers").sort_by("date").first().alias("first_in_period"),
                     pl.col("followers").sort_by("date").last().alias("followers_end")))
    eve = counts.select(*account, pl.col("followers").alias("eve"),
                        week=pl.col("date") + pl.duration(days=1))  # the day before the week's Monday
    accounts = pl.concat([post_kpis.select(account), audience.select(account)]).unique()
    start = pl.coalesce("eve", pl.when(pl.col("snapshots") > 1).then(pl.col("first_in_period")))
    growth = pl.col("followers_end") - pl.col("_start")

    def rate(numerator: "pl.Expr", denominator: "pl.Expr", condition: "pl.Expr") -> "pl.Expr":
        return pl.when(condition).then(numerator / denominator * 100)

    return (weeks.join(accounts, how="cross")
            .join(post_kpis, on=["week", *account], how="left")
            .join(audience, on=["week", *account], how="left")
            .join(eve, on=["week", *account], how="left")
            .with_columns(_start=start)
            .select("period", *account,
                    rate(pl.col("err_num"), pl.col("err_den"), pl.col("err_den") > 0)
                    .alias("engagement_rate_by_reach"),
                    rate(pl.col("interactions"), pl.col("followers_end"),
                         (pl.col("posts") > 0) & (pl.col("followers_end") > 0)).alias("engagement_rate_by_followers"),
                    rate(pl.col("eri_num"), pl.col("eri_den"), pl.col("eri_den") > 0)
                    .alias("engagement_rate_by_impressions"),
                    growth.cast(pl.Float64).alias("follower_growth"),
                    rate(growth, pl.col("_start"), pl.col("_start") > 0).alias("follower_growth_pct"),
                    pl.col("posts").fill_null(0).cast(pl.Float64).alias("posts_published"),
                    pl.col("interactions").cast(pl.Float64).alias("total_interactions"),
                    pl.col("reach").cast(pl.Float64).alias("total_reach"),
                    pl.col("impressions").cast(pl.Float64).alias("total_impressions")))


def run_polars(data_dir: Path, out: Path) -> dict[str, Any]:
    import polars as pl

    started = time.perf_counter()
    posts = pl.read_parquet(data_dir / "posts.parquet")
    snapshots = pl.read_parquet(data_dir / "snapshots.parquet")
    loaded, loaded_cpu = time.perf_counter(), time.process_time()
    rss_after_load = _current_rss()
    kpis = polars_plan(posts.lazy(), snapshots.lazy()).collect()
    computed, computed_cpu = time.perf_counter(), time.process_time()
    (kpis.unpivot(list(KPIS), index=["period", "platform", "account"], variable_name="metric")
     .write_parquet(out))
    return {"load_s": loaded - started, "compute_s": computed - loaded,
            "compute_cpu_s": computed_cpu - loaded_cpu, "rss_after_load": rss_after_load,
            "rows": kpis.height, "stages": {}}


def run_duckdb(data_dir: Path, out: Path) -> dict[str, Any]:
    import duckdb

    periods = weekly_periods()
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    started = time.perf_counter()
    connection.execute(f"CREATE TABLE posts AS SELECT * FROM read_parquet('{data_dir / 'posts.parquet'}')")
    connection.execute(f"CREATE TABLE snapshots AS SELECT * FROM read_parquet('{data_dir / 'snapshots.parquet'}')")
    loaded, loaded_cpu = time.perf_counter(), time.process_time()
    rss_after_load = _current_rss()
    connection.execute(duckdb_sql(periods))
    computed, computed_cpu = time.perf_counter(), time.process_time()
    rows = connection.execute("SELECT count(*) FROM kpis").fetchone()[0]
    kpi_columns = ", ".join(KPIS)
    connection.execute(f"""COPY (SELECT * FROM kpis UNPIVOT INCLUDE NULLS (value FOR metric IN ({kpi_columns})))
                           TO '{out}' (FORMAT parquet)""")
    return {"load_s": loaded - started, "compute_s": computed - loaded,
            "compute_cpu_s": computed_cpu - loaded_cpu, "rss_after_load": rss_after_load,
            "rows": rows, "stages": {}}


def _current_rss() -> int:
    """Resident memory of this process now, in bytes (0 where /proc is missing)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def child_main(args: argparse.Namespace) -> None:
    data_dir, out = Path(args.data_dir), Path(args.out)
    if args.impl == "cmflow":
        report = run_cmflow(data_dir, out, args.profile)
    else:
        report = (run_polars if args.impl == "polars" else run_duckdb)(data_dir, out)
    print(json.dumps(report))


# -- the parent: run, measure, check, print ------------------------------------------------
def run_child(impl: str, data_dir: Path, out: Path, profile: bool = False) -> dict[str, Any]:
    """Run one implementation in a fresh interpreter; add its wall time and peak RSS."""
    command = [sys.executable, __file__, "--impl", impl, "--data-dir", str(data_dir), "--out", str(out)]
    if profile:
        command.append("--profile")
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE)
    assert child.stdout is not None
    output = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)  # this child's own rusage, not every child's
    child.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    if child.returncode != 0:
        raise SystemExit(f"{impl} child failed with exit code {child.returncode}")
    report = json.loads(output.decode().strip().splitlines()[-1])
    # ru_maxrss is in KiB on Linux, in bytes on macOS.
    report["peak_rss"] = usage.ru_maxrss * (1 if sys.platform == "darwin" else 1024)
    report["process_s"] = wall
    return report


def compare(cmflow_out: Path, reference_out: Path) -> dict[str, Any]:
    """Every (KPI, week, account) value of cmflow against a reference's."""
    import polars as pl

    keys = ["metric", "period", "platform", "account"]
    ours = pl.read_parquet(cmflow_out).filter(pl.col("metric").is_in(KPIS))
    reference = pl.read_parquet(reference_out).select(*keys, pl.col("value").cast(pl.Float64))
    joined = ours.join(reference, on=keys, how="full", coalesce=True, suffix="_reference")
    value, expected = pl.col("value"), pl.col("value_reference")
    stats = joined.select(
        pl.len().alias("values"),
        (value.is_null() != expected.is_null()).sum().alias("null_mismatches"),
        value.is_null().sum().alias("no_value"),
        (value - expected).abs().max().alias("max_abs_diff"),
        ((value - expected).abs() / pl.max_horizontal(value.abs(), expected.abs(), pl.lit(1e-12)))
        .max().alias("max_rel_diff"),
    ).row(0, named=True)
    stats["rows_cmflow"], stats["rows_reference"] = ours.height, reference.height
    stats["per_metric"] = dict(ours.group_by("metric").len().sort("metric").iter_rows())
    if stats["null_mismatches"] or (stats["max_rel_diff"] or 0) > RELATIVE_TOLERANCE or \
            ours.height != reference.height:
        worst = (joined.with_columns(((value - expected).abs()).alias("diff"))
                 .filter((value.is_null() != expected.is_null()) | (pl.col("diff") > 0))
                 .sort("diff", descending=True, nulls_last=False).head(10))
        print(worst, file=sys.stderr)
        stats["agree"] = False
    else:
        stats["agree"] = True
    return stats


def _mb(value: float) -> str:
    return f"{value / 1024**2:,.0f} MB"


def measure_size(args: argparse.Namespace, n_accounts: int, tmp: Path) -> tuple[dict[str, Any], bool]:
    """Every implementation on the data set of ``n_accounts``, ``--runs`` times, interleaved:
    prints the table and the checks of this size; returns its summary and whether they agree."""
    data_dir = Path(args.data_dir) / f"accounts-{n_accounts}"
    manifest = ensure_data(data_dir, n_accounts, args.posts_per_account_day, args.regenerate)
    print(f"\ndata set: {manifest['accounts']:,} accounts, {manifest['posts']:,} posts, "
          f"{manifest['snapshots']:,} daily snapshots, {WEEKS} weekly periods ({data_dir})")
    results: dict[str, list[dict[str, Any]]] = {impl: [] for impl in IMPLEMENTATIONS}
    for _ in range(args.runs):
        for impl in IMPLEMENTATIONS:  # interleaved, so drift hits all alike
            results[impl].append(run_child(impl, data_dir, tmp / f"{impl}.parquet"))
    checks = {reference: compare(tmp / "cmflow.parquet", tmp / f"{reference}.parquet")
              for reference in ("polars", "duckdb")}
    profile = run_child("cmflow", data_dir, tmp / "profile.parquet", profile=True) if args.profile else None

    summary: dict[str, Any] = {
        impl: {key: statistics.median(r[key] for r in runs) for key in ("load_s", "compute_s", "compute_cpu_s", "process_s")}
        | {"peak_rss": statistics.median(r["peak_rss"] for r in runs),
           "rss_after_load": statistics.median(r["rss_after_load"] for r in runs)}
        for impl, runs in results.items()}
    # Ratios of one run's figures (measured side by side), then the median over runs.
    for reference in ("polars", "duckdb"):
        summary[f"ratio_{reference}"] = statistics.median(
            ours["compute_s"] / theirs["compute_s"] for ours, theirs in zip(results["cmflow"], results[reference]))
        summary[f"cpu_ratio_{reference}"] = statistics.median(
            ours["compute_cpu_s"] / theirs["compute_cpu_s"]
            for ours, theirs in zip(results["cmflow"], results[reference]))
        summary[f"memory_ratio_{reference}"] = statistics.median(
            ours["peak_rss"] / theirs["peak_rss"] for ours, theirs in zip(results["cmflow"], results[reference]))
    print(f"weekly KPIs per account, median of {args.runs} run(s), each in its own process")
    header = (f"{'':<24}{'load':>10}{'metric stage':>14}{'its CPU':>10}{'process':>10}{'RSS after load':>16}"
              f"{'peak RSS':>12}")
    print(header)
    print("-" * len(header))
    labels = {"cmflow": "cmflow", "polars": "Polars lazy reference", "duckdb": "DuckDB SQL reference"}
    for impl in IMPLEMENTATIONS:
        row = summary[impl]
        print(f"{labels[impl]:<24}{row['load_s']:>9.2f}s{row['compute_s']:>13.2f}s{row['compute_cpu_s']:>9.2f}s"
              f"{row['process_s']:>9.2f}s"
              f"{_mb(row['rss_after_load']):>16}{_mb(row['peak_rss']):>12}")
    for reference in ("polars", "duckdb"):
        print(f"{'cmflow / ' + reference:<24}{'':>10}{summary[f'ratio_{reference}']:>13.2f}x"
              f"{summary[f'cpu_ratio_{reference}']:>9.2f}x{'':>10}{'':>16}"
              f"{summary[f'memory_ratio_{reference}']:>11.2f}x")
    for reference, check in checks.items():
        print(f"values against {reference}: {check['values']:,} (KPI, week, account) values, "
              f"{check['no_value']:,} without a value; max abs diff {check['max_abs_diff']:.3g}, "
              f"max rel diff {check['max_rel_diff']:.3g}, null mismatches {check['null_mismatches']}")
    if profile:
        print(f"cmflow metric stage, step by step, CPU time, median of 3 in one process "
              f"({sum(profile['stages'].values()):.2f}s in all):")
        for name, seconds in profile["stages"].items():
            print(f"  {name:<45}{seconds:>7.2f}s")
    agree = True
    for reference, check in checks.items():
        if not check["agree"]:
            agree = False
            print(f"FAIL: cmflow and {reference} disagree at {n_accounts:,} accounts (rows {check['rows_cmflow']} "
                  f"vs {check['rows_reference']}, relative tolerance {RELATIVE_TOLERANCE:g}); worst rows above",
                  file=sys.stderr)
    return summary, agree


def parent_main(args: argparse.Namespace) -> int:
    sizes = [int(size) for size in args.sizes.split(",")]
    print(f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, polars {_version('polars')}, "
          f"duckdb {_version('duckdb')}")
    summaries, agree = {}, True
    with tempfile.TemporaryDirectory(prefix="cmflow-bench-") as tmp:
        for n_accounts in sizes:
            summaries[n_accounts], agreed = measure_size(args, n_accounts, Path(tmp))
            agree = agree and agreed
    print(f"\ntargets: metric stage within {TARGET_RATIO_SMALL:g}x of Polars at 1,000 accounts, "
          f"{TARGET_RATIO_LARGE:g}x at 10,000 with peak memory within {TARGET_MEMORY_RATIO:g}x; "
          "growth 1k -> 10k linear or better")
    if len(sizes) > 1:
        smallest, largest = min(sizes), max(sizes)
        print(f"growth {smallest:,} -> {largest:,} accounts (x{largest / smallest:g} the data): " + ", ".join(
            f"{impl} x{summaries[largest][impl]['compute_s'] / summaries[smallest][impl]['compute_s']:.1f}"
            for impl in IMPLEMENTATIONS))
    for n_accounts in sizes:
        summary = summaries[n_accounts]
        print(f"accounts={n_accounts} cmflow={summary['cmflow']['compute_s']:.2f}s "
              f"polars={summary['polars']['compute_s']:.2f}s duckdb={summary['duckdb']['compute_s']:.2f}s "
              f"cmflow/polars={summary['ratio_polars']:.2f} "
              f"peak_cmflow={summary['cmflow']['peak_rss'] / 1024**2:.0f}MB "
              f"peak_polars={summary['polars']['peak_rss'] / 1024**2:.0f}MB")
    return 0 if agree else 1


def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=str(Path(tempfile.gettempdir()) / "cmflow-bench-data"),
                        help="where the generated Parquet data sets are cached, one folder per size (default: %(default)s)")
    parser.add_argument("--sizes", default="1000",
                        help="accounts in each data set measured, comma-separated, e.g. 1000,5000,10000 "
                        "(default: %(default)s)")
    parser.add_argument("--posts-per-account-day", type=float, default=4.07,
                        help="mean posting rate; 4.07 gives about 1.5 million posts per 1,000 accounts")
    parser.add_argument("--runs", type=int, default=1, help="runs of each implementation; the median is shown")
    parser.add_argument("--regenerate", action="store_true", help="rebuild the data set even if cached")
    parser.add_argument("--profile", action="store_true", help="also time cmflow's metric stage step by step")
    parser.add_argument("--impl", choices=IMPLEMENTATIONS, help=argparse.SUPPRESS)  # child mode
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.impl:
        child_main(args)
        return 0
    return parent_main(args)


if __name__ == "__main__":
    sys.exit(main())
