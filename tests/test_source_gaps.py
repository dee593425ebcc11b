"""A figure a source's records cannot tell has no value, in the series those records may be in
only; every other figure keeps its value (stages/source_gaps.py).

Run on Monday 23 November for 16-22 November, compared with 9-15 November. Beside each gap,
Onde's Facebook export: onde posted on 12 November (7 likes, 1 share, reach 200) and 18 November
(9 likes, 2 shares, reach 400); Atelier Lumen's Facebook page on 11 November (5 likes, reach 100).
Expected figures are worked out by hand in each test.
"""

from __future__ import annotations

import types
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from cmflow import Metric, RecordTable, Source, hookimpl
from cmflow.presentation.language import language
from cmflow.stages.uncovered_periods import UNCOVERED_REASON
from cmflow.testing import registered_plugin, run_workflow_file

FACEBOOK = ("platform,account,post_id,published_at,likes,shares,reach\n"
            "facebook,onde,p1,2026-11-12T10:00:00Z,7,1,200\nfacebook,onde,p2,2026-11-18T10:00:00Z,9,2,400\n"
            "facebook,atelierlumen,p3,2026-11-11T10:00:00Z,5,0,100\n")


def figures(result, period: str) -> dict[tuple, tuple]:
    rows = result.measurements.filter(result.measurements["period"] == period)
    return {(r["metric"], r["platform"], r["client"]): (r["value"], r["reason"]) for r in rows.iter_rows(named=True)
            if r.get("account") is None}


# -- an API that reaches 7 days back -----------------------------------------------------------
class RecentSearch(Source):
    """Posts from a search that, like X's recent search, returns the last 7 days only: one post
    of lumen on 18 November, 2 likes."""

    name = "recent_search_for_gaps_test"
    description = "A search API reaching back 7 days (a test's stand-in for X's recent search)."
    record_kinds = ("post",)
    incremental = True

    def reaches_back(self):
        return timedelta(days=7)

    def fetch(self, ctx):
        assert ctx.window_start >= ctx.as_of - timedelta(days=7)  # never asked for older days
        published = datetime(2026, 11, 18, 9, tzinfo=timezone.utc)
        rows = [{"platform": "x", "account": "lumen", "post_id": "x-1", "published_at": published, "likes": 2}] \
            if ctx.window_start <= published < ctx.window_end else []
        return [RecordTable.from_rows("post", rows)]


@hookimpl
def register_search(register):
    register(RecentSearch)


SEARCH_WORKFLOW = f"""
[workflow]
name = "Agency weekly"
timezone = "UTC"
period = "2026-11-16..2026-11-22"
compare = ["previous_period"]

[[clients]]
id = "lumen"
name = "Lumen"
accounts = ["lumen"]
language = "fr"

[[clients]]
id = "onde"
name = "Onde"
accounts = ["onde", "onde_x"]
language = "en"

[[sources]]
id = "search"
plugin = "{RecentSearch.name}"

[[sources]]
id = "onde"
plugin = "csv"
path = "onde.csv"

[[metrics]]
plugin = "posts_published"
by = ["overall", "platform", "client"]
"""


def test_a_period_older_than_an_api_source_reaches_has_no_value_in_the_series_it_may_hold(tmp_path, store_url):
    """The search found lumen's X post of the 18th; what it held on 9-15 November is not known,
    nor whose: onde_x, of which nothing was read, may have posted on X then. By hand:

        series           this week   previous week
        X                1           no value
        overall          2           no value
        client lumen     1           no value
        client onde      1           no value (onde_x on X), not Facebook's 1
        Facebook         1           1 (the post of the 12th: the export reaches it)
    """
    module = types.ModuleType("gaps_search_source")
    module.register_sources = register_search
    (tmp_path / "onde.csv").write_text(FACEBOOK.replace("facebook,atelierlumen,p3,2026-11-11T10:00:00Z,5,0,100\n", ""),
                                       encoding="utf-8")
    (tmp_path / "workflow.toml").write_text(SEARCH_WORKFLOW, encoding="utf-8")
    with registered_plugin(module):
        result = run_workflow_file(tmp_path / "workflow.toml", store_url=store_url,
                                   now=datetime(2026, 11, 23, 9, tzinfo=timezone.utc))
    assert [w.code for w in result.warnings] == ["older_than_reach"]
    said = (f"{UNCOVERED_REASON}: source search returns records 7 days back only, and no run fetched "
            "2026-11-09..2026-11-16 in time")
    current, previous = figures(result, "current"), figures(result, "previous_period")
    for series, now in (((None, None), 2), (("x", None), 1), ((None, "lumen"), 1), ((None, "onde"), 1)):
        assert current[("posts_published", *series)] == (now, None)
        assert previous[("posts_published", *series)] == (None, said), series
    assert previous[("posts_published", "facebook", None)] == (1, None)
    comparisons = result.comparisons.filter((result.comparisons["metric"] == "posts_published")
                                            & result.comparisons["platform"].is_null()
                                            & result.comparisons["client"].is_null())
    assert comparisons.row(0, named=True)["change_reason"] == "no value for the comparison period"
    assert language("fr").reason(said) == "Hors des jours couverts par les données lues"


# -- YouTube Studio's table: counters over its export's range ---------------------------------
TABLE = ("Content,Video title,Video publish time,Duration,Views,Likes,Shares\n"
         "Total,,,,{views},{likes},{shares}\n"
         "{rows}")

TABLE_WORKFLOW = """[workflow]
name = "Agency"
timezone = "UTC"
period = "2026-11-16..2026-11-22"
as_of = "2026-11-23"
compare = ["previous_period"]

[[clients]]
id = "lumen"
name = "Atelier Lumen"
accounts = ["atelierlumen"]
language = "en"

[[clients]]
id = "onde"
name = "Onde"
accounts = ["onde"]
language = "fr"

[[sources]]
id = "brand"
plugin = "export"
path = "exports/**/*.csv"
account = "atelierlumen"

[[sources]]
id = "onde"
plugin = "csv"
path = "onde.csv"

[[metrics]]
plugin = "totals"
counters = ["likes"]
by = ["overall", "platform", "client"]

[[metrics]]
plugin = "totals"
counters = ["shares"]
by = ["overall"]
where = { platform = "facebook" }

[[metrics]]
plugin = "posts_published"
by = ["overall", "platform", "client"]

[[metrics]]
plugin = "engagement_rate_by_reach"
by = ["overall"]
"""


def run_with_table(tmp_path: Path, download: str, videos: list[tuple[str, str, int, int, int]]):
    """The workflow with a YouTube table in the folder ``download`` of (id, day, views, likes, shares)."""
    folder = tmp_path / "exports" / download
    folder.mkdir(parents=True)
    rows = "".join(f'{v},Video {v},"{day}",60,{views},{likes},{shares}\n' for v, day, views, likes, shares in videos)
    (folder / "Table data.csv").write_text(TABLE.format(
        views=sum(v[2] for v in videos), likes=sum(v[3] for v in videos), shares=sum(v[4] for v in videos),
        rows=rows), encoding="utf-8")
    (tmp_path / "onde.csv").write_text(FACEBOOK, encoding="utf-8")
    (tmp_path / "workflow.toml").write_text(TABLE_WORKFLOW, encoding="utf-8")
    return run_workflow_file(tmp_path / "workflow.toml", store_url=None)


NOVEMBER = [("vid10", "Nov 10, 2026", 950, 40, 3), ("vid17", "Nov 17, 2026", 1480, 97, 12)]
"""A video published on 10 November (previous week) and one on 17 November (this week)."""

ONE_WEEK = "Content 2026-11-16_2026-11-22 Atelier Lumen"
THREE_WEEKS = "Content 2026-11-01_2026-11-22 Atelier Lumen"


def test_a_video_published_before_its_tables_range_counts_as_published_its_counters_have_no_value(tmp_path):
    """The table of 16-22 November: the video of the 10th has there its likes of 16-22 November,
    not its likes to date. It was published on the 10th all the same. By hand, previous week:

        posts published: YouTube 1, Lumen 2 (the video, the Facebook post of the 11th), overall 3
        likes: YouTube, Lumen and overall no value; Facebook 12 (7 + 5), Onde 7
        shares of Facebook (a where: no YouTube record in it): 1
        engagement by reach, overall: the posts with a reach, Facebook's (videos have none):
            (7 + 1 + 5 + 0) / (200 + 100) x 100 = 4.3333, as with a table covering the week
    This week: likes YouTube 97, overall 106 (97 + 9), posts 2."""
    result = run_with_table(tmp_path, ONE_WEEK, NOVEMBER)
    previous, current = figures(result, "previous_period"), figures(result, "current")
    for series, count in (((None, None), 3), (("youtube", None), 1), ((None, "lumen"), 2), (("facebook", None), 2)):
        assert previous[("posts_published", *series)] == (count, None), series
    for series in ((None, None), ("youtube", None), (None, "lumen")):
        value, reason = previous[("total_likes", *series)]
        assert value is None and reason.startswith(UNCOVERED_REASON) and "2026-11-16..2026-11-22" in reason, series
    assert previous[("total_likes", "facebook", None)] == (12, None)
    assert previous[("total_likes", None, "onde")] == (7, None)
    assert previous[("total_shares", None, None)] == (1, None)
    assert previous[("engagement_rate_by_reach", None, None)][0] == pytest.approx(4.3333, abs=1e-4)
    assert current[("total_likes", "youtube", None)] == (97, None)
    assert current[("total_likes", None, None)] == (106, None)
    assert current[("posts_published", None, None)] == (2, None)


def test_a_video_published_within_its_tables_range_keeps_its_figures_in_every_period(tmp_path):
    """The table of 1-22 November: the video of the 10th has its likes to the 22nd, as every
    source has a post's to the day it is read. Previous week by hand: likes YouTube 40, Lumen 45
    (40 + 5), overall 52 (40 + 7 + 5); posts 3."""
    result = run_with_table(tmp_path, THREE_WEEKS, NOVEMBER)
    previous = figures(result, "previous_period")
    assert previous[("total_likes", "youtube", None)] == (40, None)
    assert previous[("total_likes", None, "lumen")] == (45, None)
    assert previous[("total_likes", None, None)] == (52, None)
    assert previous[("posts_published", None, None)] == (3, None)


def test_a_period_after_a_tables_range_has_no_value_in_its_series_only(tmp_path):
    """October's table read for November: it cannot hold a video published in November, so
    neither week has a value in YouTube's, Lumen's or the overall rows (not 0, not Facebook's
    alone); Onde's and Facebook's keep theirs (previous week: posts 2, likes 12)."""
    result = run_with_table(tmp_path, "Content 2026-10-01_2026-10-31 Atelier Lumen",
                            [("oct20", "Oct 20, 2026", 700, 30, 2), ("oct28", "Oct 28, 2026", 300, 12, 1)])
    for period in ("current", "previous_period"):
        got = figures(result, period)
        for metric in ("posts_published", "total_likes"):
            for series in ((None, None), (None, "lumen")):
                value, reason = got[(metric, *series)]
                assert value is None and "2026-10-01..2026-10-31" in reason, (period, metric, series)
    previous = figures(result, "previous_period")
    assert previous[("posts_published", "facebook", None)] == (2, None)
    assert previous[("total_likes", "facebook", None)] == (12, None)
    assert previous[("total_likes", None, "onde")] == (7, None)


def test_a_table_whose_range_no_name_gives_blanks_nothing_and_is_said_once(tmp_path):
    """The table in a folder renamed "youtube": its range is unknown, so nothing is blanked (the
    figures are taken as they are, as a CM who exported the range they meant expects) and the
    run says once that the range is unknown and how to keep it. Previous week by hand, as with a
    table covering both weeks: likes YouTube 40, overall 52 (40 + 7 + 5); this week YouTube 97."""
    result = run_with_table(tmp_path, "youtube", NOVEMBER)
    previous, current = figures(result, "previous_period"), figures(result, "current")
    assert previous[("total_likes", "youtube", None)] == (40, None)
    assert previous[("total_likes", None, None)] == (52, None)
    assert current[("total_likes", "youtube", None)] == (97, None)
    said = [w for w in result.warnings if w.code == "export_range_unknown"]
    assert len(said) == 1 and "Content 2026-10-26_2026-11-22 and the channel's name" in str(said[0])


MONTHLY_HEADER = "Content,Video title,Video publish time,Duration,Views,Likes\n"
MONTHLY_TABLES = {
    "Content 2026-10-01_2026-10-31 Atelier Lumen": "Total,,,,4830,301\n"
    'a1,Repotting,"Oct 3, 2026",612,2950,188\na2,Herbs,"Oct 17, 2026",245,1480,97\na3,Tour,"Oct 29, 2026",58,400,16\n',
    "Content 2026-11-01_2026-11-30 Atelier Lumen": "Total,,,,5000,250\n"
    'a1,Repotting,"Oct 3, 2026",612,800,40\na2,Herbs,"Oct 17, 2026",245,600,30\na3,Tour,"Oct 29, 2026",58,900,30\n'
    'n1,November video,"Nov 5, 2026",300,2000,100\nn2,Late November video,"Nov 20, 2026",300,700,50\n',
}
MONTHLY_WORKFLOW = """[workflow]
name = "Monthly"
timezone = "UTC"
period = "2026-11-01..2026-11-30"
as_of = "2026-12-01"
compare = ["previous_period"]
""" + "".join(f"""
[[sources]]
id = "yt_{month}"
plugin = "export"
path = "exports/Content 2026-{number}-01_2026-{number}-{last} Atelier Lumen/Table data.csv"
account = "atelierlumen"
""" for month, number, last in (("oct", "10", "31"), ("nov", "11", "30"))) + """
[[metrics]]
plugin = "totals"
counters = ["video_views", "likes"]
by = ["overall"]

[[metrics]]
plugin = "posts_published"
by = ["overall"]
"""


def test_a_period_after_one_tables_range_that_another_table_reaches_keeps_its_figures(tmp_path):
    """October's and November's tables, two sources, run for November: October's cannot hold a
    video published in November, but November's does, so November is no gap. By hand, November:
    posts published 2 (5 and 20 November), views 2,000 + 700 = 2,700, likes 100 + 50 = 150.
    October (the previous period) has its posts (3) whatever the tables; its views and likes are
    read twice (a video in both tables is two ranges' figures), so they are not checked here."""
    for download, rows in MONTHLY_TABLES.items():
        (tmp_path / "exports" / download).mkdir(parents=True)
        (tmp_path / "exports" / download / "Table data.csv").write_text(MONTHLY_HEADER + rows, encoding="utf-8")
    (tmp_path / "workflow.toml").write_text(MONTHLY_WORKFLOW, encoding="utf-8")
    current = figures(run_workflow_file(tmp_path / "workflow.toml", store_url=None), "current")
    assert current[("posts_published", None, None)] == (2, None)
    assert current[("total_video_views", None, None)] == (2700, None)
    assert current[("total_likes", None, None)] == (150, None)


def test_the_current_period_is_checked_against_a_table_whose_range_starts_within_it(tmp_path):
    """The table of 20-22 November read for 16-22 November: the video of the 17th has there its
    likes of 20-22 November only, so this week's YouTube, Lumen and overall likes have no value;
    it was published on the 17th all the same (posts published: YouTube 1). Facebook keeps its
    likes (9, onde's post of the 18th)."""
    result = run_with_table(tmp_path, "Content 2026-11-20_2026-11-22 Atelier Lumen",
                            [("vid17", "Nov 17, 2026", 1480, 97, 12)])
    current = figures(result, "current")
    for series in ((None, None), ("youtube", None), (None, "lumen")):
        value, reason = current[("total_likes", *series)]
        assert value is None and "2026-11-20..2026-11-22" in reason, series
    assert current[("posts_published", "youtube", None)] == (1, None)
    assert current[("total_likes", "facebook", None)] == (9, None)


class ViewsPerVideoChecked(Metric):
    """Views per video, refusing a counter no video reaches (a column mapped wrongly): measured
    again with the counters a table cannot tell, it fails."""

    name = "views_per_video_checked_for_gaps_test"
    description = "Views per video, refusing implausible counters (a test's metric)."
    needs = ("post",)
    unit = "views"
    default_polarity = "up"

    def compute(self, data):
        import polars as pl

        posts = data.records["post"]
        posts = posts.collect() if isinstance(posts, pl.LazyFrame) else posts
        if posts.height and (posts["video_views"].fill_null(0) > 100_000_000).any():
            raise ValueError("a video with over 100 million views: check the column mapping")
        return pl.concat([posts.group_by(["period", *columns]).agg(pl.col("video_views").mean().cast(pl.Float64)
                                                                   .alias("value")).with_columns(
            pl.lit(self.name).alias("metric"), pl.lit(self.unit).alias("unit"), pl.lit(None, pl.String).alias("reason"))
            for columns in data.grouping_sets], how="diagonal_relaxed")


@hookimpl
def register_checked(register):
    register(ViewsPerVideoChecked)


def test_a_metric_that_fails_when_checked_against_a_tables_range_has_no_value_where_it_could_not_be(tmp_path):
    """The table of 16-22 November with the videos of the 10th and the 17th, and a metric that
    refuses the figure the check sets the untold counters to: last week's views per video (the
    video of the 10th, its views of 16-22 November only) has no value, with the reason; this
    week's is the video of the 17th's, 1,480 (the table's range covers the week)."""
    (tmp_path / "exports" / ONE_WEEK).mkdir(parents=True)
    rows = "".join(f'{v},Video {v},"{day}",60,{views},{likes},{shares}\n' for v, day, views, likes, shares in NOVEMBER)
    (tmp_path / "exports" / ONE_WEEK / "Table data.csv").write_text(
        TABLE.format(views=2430, likes=137, shares=15, rows=rows), encoding="utf-8")
    (tmp_path / "workflow.toml").write_text(TABLE_WORKFLOW.split("[[clients]]")[0] + f"""
[[sources]]
id = "brand"
plugin = "export"
path = "exports/**/*.csv"
account = "atelierlumen"

[[metrics]]
plugin = "{ViewsPerVideoChecked.name}"
by = ["overall"]
""", encoding="utf-8")
    module = types.ModuleType("gaps_checked_metric")
    module.register_metrics = register_checked
    with registered_plugin(module):
        result = run_workflow_file(tmp_path / "workflow.toml", store_url=None)
    name = ViewsPerVideoChecked.name
    assert figures(result, "current")[(name, None, None)] == (1480, None)
    value, reason = figures(result, "previous_period")[(name, None, None)]
    assert value is None and "could not be checked against the youtube table's range 2026-11-16..2026-11-22" in reason
