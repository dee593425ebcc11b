"""Metrics that share their aggregates (:class:`cmflow.SharesAggregates`): the measure stage groups
the rows several metrics read once per run, and every figure is the one each metric computes alone.

The records are built with :meth:`cmflow.RecordTable.from_rows` and measured by the measure stage,
as in tests/test_metrics.py; the periods are the week of Monday 16 November 2026 and the one before.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timezone
from typing import Any

import polars as pl
import pytest

from cmflow import Aggregate, Metric, Period, RecordTable, SharesAggregates, measurement_rows
from cmflow.builtin.metrics.engagement import (EngagementRateByFollowers, EngagementRateByImpressions,
                                               EngagementRateByReach)
from cmflow.builtin.metrics.follower_growth import FollowerGrowth
from cmflow.builtin.metrics.posts_published import PostsPublished
from cmflow.builtin.metrics.totals import Totals
from cmflow.builtin.metrics.views import view_rows_of
from cmflow.plugins.shared_aggregates import grouped_aggregates
from cmflow.stages.measure import MetricRequest, measure, metric_input

UTC = timezone.utc
CURRENT = Period(date(2026, 11, 16), date(2026, 11, 22), "UTC", unit="week")
PERIODS = [CURRENT, CURRENT.comparison("previous_period")]
BY = ["overall", "account", "format", "client", ["client", "platform"]]


def post(post_id: str, account: str, client: str | None, day: int, platform: str = "instagram",
         **counters: Any) -> dict[str, Any]:
    return {"platform": platform, "account": account, "post_id": post_id, "client": client,
            "published_at": datetime(2026, 11, day, 10, tzinfo=UTC), **counters}


def agency_records() -> dict[str, pl.DataFrame]:
    """Two clients' accounts (lumen on two platforms, verde), an account of no client, a TikTok
    account known only from its daily activity, and daily follower counts: every path of the view
    metrics (posts, activity, mixed groups, a post without reach, a client's own rows)."""
    posts = [
        post("l1", "lumen", "lumen", 17, likes=30, comments=5, shares=2, saves=3, reach=1000, impressions=1500,
             format="image"),
        post("l2", "lumen", "lumen", 18, likes=10, comments=1, reach=500, impressions=800, format="video"),
        post("l3", "lumen", "lumen", 10, platform="facebook", likes=4, comments=1, shares=1, reach=0,
             impressions=100, format="image"),
        post("v1", "verde", "verde", 19, likes=100, comments=20, shares=5, saves=10, reach=2000, impressions=2500,
             format="reel"),
        post("v2", "verde", "verde", 12, likes=7, impressions=90, format="reel"),  # no reach reported
        post("n1", "nobody", None, 20, likes=50, comments=4, reach=900, impressions=1200, format="image"),
    ]
    snapshots = [{"platform": platform, "account": account, "client": client, "date": date(2026, 11, day),
                  "followers": followers + day * step}
                 for platform, account, client, followers, step in (("instagram", "lumen", "lumen", 5000, 10),
                                                                    ("facebook", "lumen", "lumen", 900, -1),
                                                                    ("instagram", "verde", "verde", 20000, 25),
                                                                    ("tiktok", "verde.tt", "verde", 3000, 40))
                 for day in range(8, 23)]
    activity = [{"platform": "tiktok", "account": "verde.tt", "client": "verde", "date": date(2026, 11, day),
                 "impressions": 1000 + day, "likes": 40 + day, "comments": 3, "shares": 1, "profile_views": 9}
                for day in range(9, 23)]
    frames = {kind: RecordTable.from_rows(kind, rows).conformed() for kind, rows in
              (("post", posts), ("account_snapshot", snapshots), ("account_activity", activity))}
    # The clients stage labels every record of a client's accounts.
    clients = {("instagram", "lumen"): "lumen", ("facebook", "lumen"): "lumen", ("instagram", "verde"): "verde",
               ("tiktok", "verde.tt"): "verde"}
    labels = pl.DataFrame({"platform": [p for p, _ in clients], "account": [a for _, a in clients],
                           "client": list(clients.values())})
    return {kind: frame.drop("client", strict=False).join(labels, on=["platform", "account"], how="left")
            .with_columns(source_id=pl.lit("export")) for kind, frame in frames.items()}


def plugin(cls: type, **options: Any) -> Metric:
    return cls(cls.Options(**options), entry_id=cls.name + "".join(f"_{v}" for v in options.values()))


def sharing_metrics() -> list[Metric]:
    return [plugin(EngagementRateByReach), plugin(EngagementRateByImpressions, aggregate="mean_of_posts",
                                                   view="posts"),
            plugin(EngagementRateByFollowers), plugin(FollowerGrowth), plugin(PostsPublished),
            plugin(PostsPublished, view="activity"), plugin(Totals, counters=["interactions", "reach", "profile_views"])]


def request(metric: Metric) -> MetricRequest:
    # Activity has no format: a breakdown by format reads posts.
    by = BY if "format" in metric.groupings and getattr(metric.options, "view", "") != "activity" else \
        [b for b in BY if b != "format"]
    return MetricRequest(metric, by, ["export"], metric.entry_id, clients=["lumen", "verde", "quiet"])


def sorted_rows(frame: pl.DataFrame) -> pl.DataFrame:
    """Rows in one order whatever the order made (two entries of posts_published: one series each)."""
    return frame.sort(frame.columns, nulls_last=True)


def test_metrics_measured_together_give_the_figures_each_gives_alone() -> None:
    """Grouped together, over every client's records, the plain rows and the activity of an
    account without posts, each metric's figures (values, reasons, bases) are those it gives
    measured by itself: sharing never mixes two clients' rows, two views or two breakdowns."""
    records = agency_records()
    metrics = sharing_metrics()
    together = measure([request(m) for m in metrics], records, PERIODS)
    assert [(r.id, r.ok, r.error) for r in together.reports] == [(m.entry_id, True, None) for m in metrics]
    alone = pl.concat([measure([request(m)], records, PERIODS).measurements for m in metrics])
    assert together.measurements.height == alone.height > 250
    assert sorted_rows(together.measurements).equals(sorted_rows(alone))
    # and the figures are a client's own: lumen's ERR this week is (30+5+2+3 + 10+1) / (1000+500)
    err = together.measurements.filter((pl.col("metric") == "engagement_rate_by_reach")
                                       & (pl.col("period") == "current") & (pl.col("client") == "lumen")
                                       & pl.col("platform").is_null())
    assert err["value"].to_list() == [pytest.approx(51 / 1500 * 100)]


def test_a_metric_computed_alone_gives_what_the_measure_stage_gives() -> None:
    """``compute`` of a sharing metric (a test, a plugin author's own use) groups its aggregates
    for itself: the same rows as the measure stage's."""
    records = agency_records()
    data = metric_input(records, ["export"], PERIODS)
    for metric in sharing_metrics():
        alone = metric.compute(replace(data, grouping_sets=[("platform", "account"), ()]))
        staged = measure([MetricRequest(metric, ["account", "overall"], ["export"])], records, PERIODS).measurements
        columns = ["metric", "period", "platform", "account", "value", "reason"]
        expected = staged.select(columns).sort(columns[:4], nulls_last=True)
        got = alone.with_columns(pl.col(c).cast(pl.String) for c in ("period", "platform", "account")) \
            .select(columns).sort(columns[:4], nulls_last=True)
        assert got.equals(expected), metric.entry_id


def counted(frame: pl.LazyFrame, reads: list[str], name: str) -> pl.LazyFrame:
    """``frame``, noting in ``reads`` each time a plan reads it."""
    return frame.map_batches(lambda rows: (reads.append(name), rows)[1], schema=frame.collect_schema())


def posts_frame() -> pl.LazyFrame:
    return pl.LazyFrame({"period": ["current", "current", "previous_period"], "account": ["a", "b", "a"],
                         "likes": [1, 2, 4], "reach": [10, 20, 40]})


def test_two_metrics_naming_the_same_rows_read_them_once() -> None:
    """Aggregates with the same rows name and ``by`` are one group-by: the second metric's frame of
    the same rows is not read at all, and an aggregation both ask (two names, one expression) is
    one column computed once, handed to each under its own name."""
    reads: list[str] = []
    first = Aggregate("posts", counted(posts_frame(), reads, "first"), ("account",),
                      (pl.col("likes").sum().alias("likes"), pl.col("reach").sum().alias("reach")))
    second = Aggregate("posts", counted(posts_frame(), reads, "second"), ("account",),
                       (pl.col("reach").sum().alias("total_reach"), pl.len().alias("posts")))
    (mine,), (theirs,) = (r.values() for r in grouped_aggregates([("run", {"m": first}), ("run", {"m": second})],
                                                                  ["current", "previous_period"]))
    assert reads == ["first"]
    assert mine.sort("period", "account").rows() == [("current", "a", 1, 10), ("current", "b", 2, 20),
                                                      ("previous_period", "a", 4, 40)]
    assert theirs.columns == ["period", "account", "total_reach", "posts"]
    assert theirs.sort("period", "account")["total_reach"].to_list() == [10, 20, 40]


def test_rows_of_two_scopes_or_two_names_are_grouped_apart() -> None:
    """The same rows name in two scopes (two clients' records), or a column name two metrics give
    two expressions, are grouped apart: each metric gets its own figures."""
    reads: list[str] = []
    doubled = Aggregate("posts", counted(posts_frame(), reads, "doubled"), (),
                        (pl.col("_x").sum().alias("x"),), {"_x": pl.col("likes") * 2})
    tripled = Aggregate("posts", counted(posts_frame(), reads, "tripled"), (),
                        (pl.col("_x").sum().alias("x"),), {"_x": pl.col("likes") * 3})
    other = Aggregate("posts", counted(posts_frame().filter(pl.col("account") == "b"), reads, "client b"), (),
                      (pl.col("likes").sum().alias("x"),), every_period=True)
    results = grouped_aggregates([("run", {"m": doubled}), ("run", {"m": tripled}), ("client b", {"m": other})],
                                 ["current", "previous_period"])
    values = [dict(r["m"].select("period", "x").iter_rows()) for r in results]
    assert values == [{"current": 6, "previous_period": 8}, {"current": 9, "previous_period": 12},
                      {"current": 2, "previous_period": None}]  # every period: b has none the week before
    assert sorted(reads) == ["client b", "doubled", "tripled"]


class _BrokenShare(SharesAggregates, Metric):
    """Sums a counter no post has: its plan fails when collected."""

    name = "broken_share"
    description = "A sharing metric whose aggregation names a column the posts do not have."

    def aggregates(self, data):
        return {"all": Aggregate("view_rows:auto", data.records["post"], (),
                                 (pl.col("no_such_counter").sum().alias("n"),))}

    def from_aggregates(self, data, grouped):
        return measurement_rows(grouped["all"], metric=self.name, unit="", value=pl.col("n"))


def test_a_sharing_metric_that_fails_is_reported_and_the_others_are_computed() -> None:
    """One plan groups every sharing metric's aggregates; when it fails, each metric's are grouped
    alone, so the failure is reported on the metric that caused it, not on its neighbours."""
    records = agency_records()
    broken = _BrokenShare(_BrokenShare.Options(), entry_id="broken")
    err = plugin(EngagementRateByReach)
    measured = measure([MetricRequest(err, ["overall"], ["export"], "err"),
                        MetricRequest(broken, ["overall"], ["export"], "broken")], records, PERIODS)
    (ok, failed) = measured.reports
    assert (ok.id, ok.ok, ok.counts) == ("err", True, {"measurements": 2})
    assert (failed.id, failed.ok) == ("broken", False)
    assert "no_such_counter" in failed.error
    assert measured.measurements["metric"].unique().to_list() == ["engagement_rate_by_reach"]


def test_two_frames_of_one_rows_name_are_grouped_apart_when_they_read_differently() -> None:
    """A metric that names its rows as another does but filters them (the Facebook posts, named
    "posts" as all the posts are) gets its own rows' figures: frames of one name are one group-by
    only when their plans are the same."""
    facebook = Aggregate("posts", posts_frame().filter(pl.col("account") == "b"), (), (pl.len().alias("n"),))
    every = Aggregate("posts", posts_frame(), (), (pl.len().alias("n"),))
    same = Aggregate("posts", posts_frame(), (), (pl.len().alias("count"),))
    results = grouped_aggregates([("run", {"m": facebook}), ("run", {"m": every}), ("run", {"m": same})],
                                 ["current", "previous_period"])
    assert [dict(r["m"].select("period", pl.nth(1)).iter_rows()) for r in results] == [
        {"current": 1}, {"current": 2, "previous_period": 1}, {"current": 2, "previous_period": 1}]


class _SharingMetric(SharesAggregates, Metric):
    """A sharing metric of the rows the built-in engagement rates read (``view = "auto"``) whose
    aggregates a test sets."""

    name = "sharing_metric"
    description = "Sums what a test asks of the view rows."
    asked: dict[str, Aggregate] = {}

    def aggregates(self, data):
        name, rows = view_rows_of(data, "auto")
        return {key: replace(aggregate, rows=name, frame=rows) for key, aggregate in self.asked.items()}

    def from_aggregates(self, data, grouped):
        (frame,) = grouped.values()
        return measurement_rows(frame, metric=self.name, unit="", value=pl.col(frame.columns[-1]))


def sharing_metric(entry_id: str, aggregate: Aggregate) -> Metric:
    cls = type(f"_{entry_id}", (_SharingMetric,), {"name": entry_id, "asked": {"all": aggregate}})
    return cls(cls.Options(), entry_id=entry_id)


def test_a_column_added_under_a_name_the_rows_have_is_refused_naming_the_metric() -> None:
    """``columns`` that would replace a column of the rows (the reach, for every metric grouped
    with it, the built-in ERR's too) is refused, its message naming the metric and the column;
    the other metrics' figures are those they give alone."""
    records = agency_records()
    err = plugin(EngagementRateByReach)
    filled = sharing_metric("filled_reach", Aggregate("view_rows:auto", pl.LazyFrame(), (), (
        pl.col("reach").sum().alias("reach"),), {"reach": pl.col("reach").fill_null(1_000_000)}))
    together = measure([MetricRequest(err, ["overall"], ["export"], "err"),
                        MetricRequest(filled, ["overall"], ["export"], "filled")], records, PERIODS)
    (ok, refused) = together.reports
    assert (ok.ok, refused.ok) == (True, False)
    assert refused.error.startswith("metric filled_reach: aggregate 'all'")
    assert "'reach' is already a column of the rows" in refused.error
    alone = measure([MetricRequest(err, ["overall"], ["export"], "err")], records, PERIODS)
    assert together.measurements.equals(alone.measurements)


def test_an_aggregation_reading_a_column_another_metric_adds_is_grouped_apart() -> None:
    """An aggregate reading a column it does not add (a misspelt name) fails as it does alone:
    it never reads a column another aggregate added before grouping."""
    adds = Aggregate("posts", posts_frame(), (), (pl.col("_x").sum().alias("x"),), {"_x": pl.col("likes") * 2})
    reads = Aggregate("posts", posts_frame(), (), (pl.col("_x").sum().alias("x"),))
    with pytest.raises(pl.exceptions.ColumnNotFoundError):
        grouped_aggregates([("run", {"m": adds}), ("run", {"m": reads})], ["current", "previous_period"])
    # and the other way round: a column added after an aggregate that reads that name
    with pytest.raises(pl.exceptions.ColumnNotFoundError):
        grouped_aggregates([("run", {"m": reads}), ("run", {"m": adds})], ["current", "previous_period"])


def test_names_inside_an_aggregation_are_kept_and_tell_two_aggregations_apart() -> None:
    """Only an aggregation's own name is set aside when two metrics' are compared: the fields
    of a struct keep their names, and two structs differing by a field's name are two columns."""
    def pair(first: str) -> pl.Expr:
        return pl.struct(pl.col("likes").sum().alias(first), pl.col("reach").sum().alias("den"))

    one = Aggregate("posts", posts_frame(), (), (pair("num").alias("ratio"),))
    other = Aggregate("posts", posts_frame(), (), (pair("top").alias("ratio"), pair("num").alias("again")))
    mine, theirs = (r["m"] for r in grouped_aggregates([("run", {"m": one}), ("run", {"m": other})],
                                                         ["current", "previous_period"]))
    assert mine.schema["ratio"].fields[0].name == "num"
    assert [f.name for f in theirs.schema["ratio"].fields] == ["top", "den"]
    assert [f.name for f in theirs.schema["again"].fields] == ["num", "den"]
    assert mine.sort("period")["ratio"].to_list() == [{"num": 3, "den": 30}, {"num": 4, "den": 40}]


def test_an_aggregation_of_several_columns_is_refused_naming_the_metric() -> None:
    """``pl.col("likes", "reach").sum()`` is two columns: refused with a message naming the metric,
    saying to write one expression per column, not a Polars error."""
    records = agency_records()
    several = sharing_metric("several", Aggregate("view_rows:auto", pl.LazyFrame(), (),
                                                  (pl.col("likes", "reach").sum(),)))
    (report,) = measure([MetricRequest(several, ["overall"], ["export"], "several")], records, PERIODS).reports
    assert not report.ok
    assert report.error.startswith("metric several: aggregate 'all'")
    assert "one expression per column" in report.error


def test_the_capability_put_after_metric_is_refused_when_the_class_is_written() -> None:
    """``class M(Metric, SharesAggregates)`` would compute with ``Metric.compute`` (which raises)
    wherever the metric is computed by itself: the class statement says to put the capability first."""
    with pytest.raises(TypeError,
                       match=r"put SharesAggregates before Metric \(class _Wrong\(SharesAggregates, Metric\)"):
        class _Wrong(Metric, SharesAggregates):
            name = "wrong"


BRAND_WORKFLOW = """
[workflow]
name = "Brands"
timezone = "UTC"
period = "last_week"
as_of = "2026-11-23"
compare = ["previous_period"]

[[clients]]
id = "lumiere"
name = "Lumiere"
language = "fr"
accounts = ["lum", "lum.tt"]

[[clients]]
id = "verde"
name = "Verde"
language = "en"
accounts = ["verde"]

[listen.brand]
id = "lumiere"
name = "Maison Lumiere"
accounts = ["lum"]

[[listen.competitors]]
id = "nuit"
name = "Atelier Nuit"
accounts = ["nuit"]

[[sources]]
id = "posts"
plugin = "json"
path = "posts.json"
record = "post"

[[sources]]
id = "snaps"
plugin = "json"
path = "snaps.json"
record = "account_snapshot"

[[sources]]
id = "activity"
plugin = "json"
path = "activity.json"
record = "account_activity"
"""

BRAND_METRICS = {
    "err_ig": 'plugin = "engagement_rate_by_reach"\nby = ["overall", "account", "client", "brand", "format"]\n'
              'where = { platform = "instagram" }',
    "eri": 'plugin = "engagement_rate_by_impressions"\naggregate = "mean_of_posts"\n'
           'by = ["overall", "account", "client", "brand", "format"]',
    "erf": 'plugin = "engagement_rate_by_followers"\nby = ["overall", "account", "client", "brand"]\n'
           'where = { platform = "facebook" }',
    "growth": 'plugin = "follower_growth"\nby = ["overall", "account", "client", "brand"]',
    "pp_act": 'plugin = "posts_published"\nview = "activity"\nby = ["overall", "account", "client"]',
    "tot": 'plugin = "totals"\ncounters = ["interactions", "reach", "shares", "profile_views"]\n'
           'by = ["overall", "account", "client", "brand"]\nwhere = { platform = "instagram" }',
}


def brand_files(folder) -> None:
    """Posts of the brand, a competitor, a client and an account of no one (a null reach, a
    Facebook post, a competitor without shares), daily follower counts and a TikTok account's activity."""
    import json

    def post_of(i: int, account: str, day: int, platform: str = "instagram", **counters: Any) -> dict[str, Any]:
        return {"platform": platform, "account": account, "post_id": str(i),
                "published_at": f"2026-11-{day:02d}T10:00:00Z", **counters}

    posts = [post_of(1, "lum", 17, likes=30, comments=5, shares=2, saves=3, reach=1000, impressions=1500,
                     format="image"),
             post_of(2, "lum", 18, likes=10, comments=1, reach=None, impressions=800, format="video"),
             post_of(3, "lum", 10, "facebook", likes=4, comments=1, shares=1, reach=0, impressions=100, format="image"),
             post_of(8, "lum", 19, "facebook", likes=9, comments=2, shares=1, reach=300, impressions=400,
                     format="image"),
             post_of(4, "verde", 19, likes=100, comments=20, shares=5, saves=10, reach=2000, format="reel"),
             post_of(5, "nuit", 18, likes=100, comments=10, reach=5000, format="image"),
             post_of(6, "other", 20, likes=50, comments=4, reach=900, impressions=1200, format="image")]
    snaps = [{"platform": platform, "account": account, "date": f"2026-11-{day:02d}", "followers": base + day * step}
             for account, platform, base, step, days in (("lum", "instagram", 5000, 10, range(9, 23)),
                                                         ("verde", "instagram", 20000, 25, range(17, 23)),
                                                         ("nuit", "instagram", 8000, 5, range(8, 23)),
                                                         ("lum", "facebook", 900, -1, [22]))
             for day in days]
    activity = [{"platform": "tiktok", "account": "lum.tt", "date": f"2026-11-{day:02d}", "impressions": 1000 + day,
                 "likes": 40 + day, "comments": 3, "shares": 1, "profile_views": 9, "reach": None if day % 3 else 700}
                for day in range(16, 23)]
    for name, rows in (("posts", posts), ("snaps", snaps), ("activity", activity)):
        (folder / f"{name}.json").write_text(json.dumps(rows))


def workflow_measurements(folder, metrics: dict[str, str]) -> pl.DataFrame:
    from cmflow.testing import run_workflow_file

    entries = "".join(f'\n[[metrics]]\nid = "{entry}"\n{body}\n' for entry, body in metrics.items())
    (folder / "workflow.toml").write_text(BRAND_WORKFLOW + entries)
    result = run_workflow_file(folder / "workflow.toml", store_url=f"sqlite:///{folder}/state.db")
    assert [(s.id, s.error) for s in result.stages if not s.ok] == []
    frame = result.measurements.drop([c for c in result.measurements.columns if c.startswith("_")])
    return sorted_rows(frame.select(sorted(frame.columns)))


def test_brand_and_competitor_series_and_two_wheres_shared_give_each_metric_s_own_figures(tmp_path) -> None:
    """A workflow listening to a brand and a competitor, with metrics of two ``where``s over the
    same sources: measured together, every figure is the one the metric's entry gives in a
    workflow of its own (sharing never mixes a brand's series, a competitor's or two ``where``s)."""
    brand_files(tmp_path)
    together = workflow_measurements(tmp_path, BRAND_METRICS)
    alone = []
    for entry, body in BRAND_METRICS.items():
        (tmp_path / entry).mkdir()
        brand_files(tmp_path / entry)
        alone.append(workflow_measurements(tmp_path / entry, {entry: body}))
    alone_frame = sorted_rows(pl.concat(alone, how="diagonal_relaxed").select(together.columns))
    assert together.height == alone_frame.height > 100
    assert together.equals(alone_frame)
    assert set(together.filter(pl.col("brand").is_not_null())["brand"].unique()) >= {"lumiere", "nuit"}


def test_a_small_run_read_from_memory_gives_what_its_lazy_plans_give(tmp_path, monkeypatch) -> None:
    """A small run's frames are computed once (``settled``: the labelled records, each client's
    and brand's series, the records without the competitors'); every figure, of every series,
    is the one the lazy plans of a large run give: a brand, its competitor, counters a competitor
    does not report, two ``where``s, and the agency's clients, their views and breakdowns."""
    import cmflow.stages.measure as stage

    settled, real_settled = [], stage.settled

    def counted(*frames):
        settled.append(len(frames))
        return real_settled(*frames)

    monkeypatch.setattr(stage, "settled", counted)
    brand_files(tmp_path)
    in_memory = workflow_measurements(tmp_path, BRAND_METRICS)
    records, metrics = agency_records(), sharing_metrics()
    clients = measure([request(m) for m in metrics], records, PERIODS).measurements
    assert len(settled) > 3  # the records of each reading, and each series' (checked: the test is not vacuous)
    monkeypatch.setattr(stage, "SETTLED_ROWS", -1)  # as a run of more records than that: never settled
    settled.clear()
    (tmp_path / "lazy").mkdir()
    brand_files(tmp_path / "lazy")
    lazy = workflow_measurements(tmp_path / "lazy", BRAND_METRICS)
    lazy_clients = measure([request(m) for m in metrics], records, PERIODS).measurements
    assert settled == []
    assert in_memory.height > 100 and in_memory.equals(lazy)
    assert clients.height > 250 and sorted_rows(clients).equals(sorted_rows(lazy_clients))
