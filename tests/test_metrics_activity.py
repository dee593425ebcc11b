"""Metrics on daily account activity (``account_activity``), the ``view`` they count an account
from, and the audience metrics ``followers`` and ``followers_gained``.

Every case runs a real workflow on CSV files written in the shapes CMs download (TikTok Studio's
overview with dates without a year and a byte-order mark, LinkedIn's "New followers" sheet whose
"Total followers" column is a daily gain, US month-first dates), through the ``csv`` source with
``record = "account_activity"``, into a real SQLite store. The brands and figures are invented;
every expected value is worked out by hand in the comments.

The run's period is the week of Monday 16 to Sunday 22 November 2026 (``as_of`` Tuesday 24);
the previous period is 9 to 15 November.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from cmflow.store import open_store
from cmflow.testing import run_workflow_file
from cmflow.workflow import WorkflowInvalid, load_workflow

HEADER = """
[workflow]
name = "{name}"
timezone = "Europe/Paris"
period = "last_week"
as_of = "2026-11-24"
"""

# TikTok Studio -> Analytics -> Overview -> Download data: one row per day, no year, a BOM.
TIKTOK_OVERVIEW = "\ufeff" + """Date,Video Views,Profile Views,Likes,Comments,Shares
"November 9",1000,10,50,5,5
"November 12",1000,14,30,2,3
"November 16",1200,30,80,5,2
"November 17",800,20,40,3,1
"November 18",1500,45,120,10,6
"November 19",600,12,30,2,0
"November 20",900,25,60,4,3
"November 21",2000,50,150,12,8
"November 22",1000,18,70,6,2
"""
# Current week (16..22):  views 1200+800+1500+600+900+2000+1000 = 8000
#                         likes 80+40+120+30+60+150+70 = 550
#                         comments 5+3+10+2+4+12+6 = 42, shares 2+1+6+0+3+8+2 = 22
#                         profile views 30+20+45+12+25+50+18 = 200
# Previous week (9..15):  views 2000, likes 80, comments 7, shares 8
TIKTOK_SOURCE = """
[[sources]]
id = "tiktok"
plugin = "csv"
path = "overview.csv"
record = "account_activity"
date_format = "%B %d"
constants = { platform = "tiktok", account = "lumen.paris" }
columns = { date = "Date", impressions = "Video Views", profile_views = "Profile Views", likes = "Likes", comments = "Comments", shares = "Shares" }
"""

# Meta Business Suite-like post export for the Instagram account: two posts this week, none
# the week before.
INSTAGRAM_POSTS = """Post ID,Publish time,Likes,Comments,Shares,Saves,Reach,Views
ig-1,11/17/2026 10:00,100,10,5,5,2000,3000
ig-2,11/19/2026 18:30,50,5,0,5,1000,1500
"""
# Instagram, this week: likes 150, impressions 4500, reach 3000,
# ERR interactions (likes+comments+shares+saves) = 120 + 60 = 180,
# interactions by impressions (likes+comments+shares) = 115 + 55 = 170.
INSTAGRAM_SOURCE = """
[[sources]]
id = "instagram"
plugin = "csv"
path = "ig_posts.csv"
datetime_format = "%m/%d/%Y %H:%M"
constants = { platform = "instagram", account = "lumen.paris" }
columns = { post_id = "Post ID", published_at = "Publish time", likes = "Likes", comments = "Comments", shares = "Shares", saves = "Saves", reach = "Reach", impressions = "Views" }
"""

# Daily activity of the same Instagram account (as Meta's page overview gives it): with posts
# in the run, auto must ignore it; were it counted, total_likes would jump by 999s.
INSTAGRAM_ACTIVITY = """Date,Likes,Impressions
2026-11-10,999,9999
2026-11-17,999,9999
"""
INSTAGRAM_ACTIVITY_SOURCE = """
[[sources]]
id = "instagram_activity"
plugin = "csv"
path = "ig_activity.csv"
record = "account_activity"
date_format = "%Y-%m-%d"
constants = { platform = "instagram", account = "lumen.paris" }
columns = { date = "Date", likes = "Likes", impressions = "Impressions" }
"""


def write_case(folder: Path, name: str, sources: str, metrics: str, files: dict[str, str],
               outputs: str = "") -> Path:
    for file_name, text in files.items():
        (folder / file_name).write_text(text, encoding="utf-8")
    workflow = folder / "workflow.toml"
    workflow.write_text(HEADER.format(name=name) + sources + metrics + outputs, encoding="utf-8")
    return workflow


def run(workflow: Path, tmp_path: Path, **kwargs):
    result = run_workflow_file(workflow, store_url=f"sqlite:///{tmp_path / 'state.db'}", **kwargs)
    assert result.status == "ok", [s.error for s in result.stages if not s.ok]
    return result


def row(result, metric: str, period: str = "current", **dims: str) -> dict:
    frame = result.measurements.filter((pl.col("metric") == metric) & (pl.col("period") == period))
    for dim in ("platform", "account", "format"):
        frame = frame.filter(pl.col(dim) == dims[dim] if dim in dims else pl.col(dim).is_null())
    assert frame.height == 1, (metric, period, dims, frame)
    return frame.row(0, named=True)


def value(result, metric: str, period: str = "current", **dims: str) -> float | None:
    return row(result, metric, period, **dims)["value"]


TIKTOK = {"platform": "tiktok", "account": "lumen.paris"}
INSTAGRAM = {"platform": "instagram", "account": "lumen.paris"}


# -- an account known only from its daily activity -------------------------------------------
ACTIVITY_METRICS = """
[[metrics]]
plugin = "totals"
counters = ["likes", "comments", "impressions", "reach", "interactions", "profile_views"]

[[metrics]]
plugin = "engagement_rate_by_impressions"

[[metrics]]
plugin = "engagement_rate_by_reach"

[[metrics]]
plugin = "posts_published"
"""


@pytest.fixture
def activity_only(tmp_path: Path):
    workflow = write_case(tmp_path, "TikTok weekly", TIKTOK_SOURCE, ACTIVITY_METRICS,
                          {"overview.csv": TIKTOK_OVERVIEW},
                          f'\n[[outputs]]\nplugin = "html_report"\npath = "{tmp_path / "report.html"}"\n')
    return run(workflow, tmp_path), tmp_path


def test_totals_on_daily_activity_add_up_the_days(activity_only) -> None:
    result, _ = activity_only
    assert value(result, "total_likes") == 550          # 80+40+120+30+60+150+70
    assert value(result, "total_comments") == 42        # 5+3+10+2+4+12+6
    assert value(result, "total_impressions") == 8000   # 1200+800+1500+600+900+2000+1000
    assert value(result, "total_profile_views") == 200  # 30+20+45+12+25+50+18
    assert value(result, "total_interactions") == 614   # 550 + 42 + 22 shares (+ no saves)
    assert value(result, "total_likes", **TIKTOK) == 550
    assert value(result, "total_likes", "previous_period") == 80  # 50 + 30
    assert row(result, "total_likes")["basis"] == "activity"
    reach = row(result, "total_reach")
    assert reach["value"] is None and reach["reason"] == "no activity record reports reach"


def test_engagement_by_impressions_on_activity_is_a_ratio_of_sums(activity_only) -> None:
    result, _ = activity_only
    # (550 + 42 + 22) / 8000 x 100 = 614 / 8000 x 100 = 7.675 %. The mean of the seven daily
    # rates (87/1200, 44/800, 136/1500, 32/600, 67/900, 170/2000, 78/1000) would be 7.27 %.
    assert value(result, "engagement_rate_by_impressions") == pytest.approx(7.675)
    assert value(result, "engagement_rate_by_impressions", **TIKTOK) == pytest.approx(7.675)
    # Previous week: (80 + 7 + 8) / 2000 x 100 = 4.75 %.
    assert value(result, "engagement_rate_by_impressions", "previous_period") == pytest.approx(4.75)
    err = row(result, "engagement_rate_by_reach")
    assert err["value"] is None and err["reason"] == "no activity record has reach data"


def test_posts_published_is_no_value_for_an_activity_only_account(activity_only) -> None:
    result, _ = activity_only
    for period in ("current", "previous_period"):
        for dims in ({}, TIKTOK):
            published = row(result, "posts_published", period, **dims)
            assert published["value"] is None  # never 7 (one per day), never 0
            assert published["reason"] == "activity only: no post list"


def test_the_store_and_the_report_say_the_figures_come_from_activity(activity_only) -> None:
    result, tmp_path = activity_only
    with open_store(f"sqlite:///{tmp_path / 'state.db'}") as store:
        stored = store.measurement_history("TikTok weekly", ["total_likes", "posts_published"],
                                           [(result.period.start, result.period.end)])
    bases = {(r["metric"], r["series_key"]): r["basis"] for r in stored.iter_rows(named=True)}
    assert bases[("total_likes", "{}")] == "activity"
    assert bases[("posts_published", "{}")] == "posts"
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "from account activity in the period" in html
    assert '<span class="basis" title="from account activity in the period">activity</span>' in html


def test_the_email_headline_says_where_a_figure_comes_from(activity_only) -> None:
    from cmflow import NotificationBatch
    from cmflow.builtin.outputs.email import template_context

    result, _ = activity_only
    headline = template_context(NotificationBatch(result, [], {"workflow": "TikTok weekly"}, key="k"),
                                "none")["headline"]
    by_label = {kpi["label"]: kpi for kpi in headline}
    assert by_label["Likes"]["value"] == "550"
    assert by_label["Likes"]["basis"] == "from account activity in the period"
    assert by_label["Posts"]["basis"] == ""  # no value, counted from posts: nothing to add


def test_the_console_labels_activity_figures(tmp_path: Path, capsys) -> None:
    workflow = write_case(tmp_path, "TikTok console", TIKTOK_SOURCE,
                          '\n[[metrics]]\nplugin = "totals"\ncounters = ["likes"]\nby = ["overall"]\n',
                          {"overview.csv": TIKTOK_OVERVIEW},
                          '\n[[outputs]]\nplugin = "console"\nwidth = 120\n')
    run(workflow, tmp_path)
    out = capsys.readouterr().out
    assert "550 activity" in out
    assert "activity: from account activity in the period." in out


# -- one account with posts, another with activity only --------------------------------------
MIXED_METRICS = """
[[metrics]]
plugin = "totals"
counters = ["likes", "impressions", "saves"]
by = ["overall", "account", "format"]

[[metrics]]
plugin = "engagement_rate_by_impressions"

[[metrics]]
plugin = "engagement_rate_by_reach"

[[metrics]]
plugin = "posts_published"
"""


@pytest.fixture
def mixed(tmp_path: Path):
    workflow = write_case(tmp_path, "Lumen mixed", TIKTOK_SOURCE + INSTAGRAM_SOURCE + INSTAGRAM_ACTIVITY_SOURCE,
                          MIXED_METRICS, {"overview.csv": TIKTOK_OVERVIEW, "ig_posts.csv": INSTAGRAM_POSTS,
                                          "ig_activity.csv": INSTAGRAM_ACTIVITY},
                          f'\n[[outputs]]\nplugin = "html_report"\npath = "{tmp_path / "report.html"}"\n')
    return run(workflow, tmp_path), tmp_path


def test_a_mixed_overall_row_adds_each_account_from_its_own_view(mixed) -> None:
    result, _ = mixed
    # Instagram from its posts (its daily activity, 999 likes, is ignored), TikTok from activity.
    assert value(result, "total_likes", **INSTAGRAM) == 150   # 100 + 50
    assert value(result, "total_likes", **TIKTOK) == 550
    assert value(result, "total_likes") == 700                 # 150 + 550
    assert value(result, "total_impressions") == 12500         # 3000 + 1500 + 8000
    assert row(result, "total_likes", **INSTAGRAM)["basis"] == "posts"
    assert row(result, "total_likes", **TIKTOK)["basis"] == "activity"
    assert row(result, "total_likes")["basis"] == "posts+activity"
    # Saves: reported by the posts only; the overall total is Instagram's 5 + 5.
    assert value(result, "total_saves") == 10
    assert row(result, "total_saves", **TIKTOK)["reason"] == "no activity record reports saves"
    # (170 from Instagram's posts + 614 from TikTok's days) / (4500 + 8000) x 100 = 6.272 %
    assert value(result, "engagement_rate_by_impressions") == pytest.approx(784 / 12500 * 100)
    # Reach: TikTok reports none, so its days are left out of both sides: 180 / 3000 = 6 %.
    assert value(result, "engagement_rate_by_reach") == pytest.approx(6.0)
    assert value(result, "engagement_rate_by_reach", **INSTAGRAM) == pytest.approx(6.0)


def test_a_week_without_posts_does_not_switch_an_account_to_activity(mixed) -> None:
    result, _ = mixed
    # Instagram posted nothing from 9 to 15 November, but has a day of activity (999 likes)
    # then: it stays counted from its posts.
    previous = row(result, "total_likes", "previous_period", **INSTAGRAM)
    assert previous["value"] is None and previous["reason"] == "no posts in this period"
    assert previous["basis"] == "posts"
    assert value(result, "posts_published", "previous_period", **INSTAGRAM) == 0
    assert value(result, "total_likes", "previous_period") == 80  # TikTok's 50 + 30 only


def test_breakdowns_by_format_read_posts_only(mixed) -> None:
    result, _ = mixed
    formats = result.measurements.filter((pl.col("metric") == "total_likes") & (pl.col("period") == "current")
                                         & pl.col("format").is_not_null())
    # Both Instagram posts have no format: one "(none)" group, TikTok's days are not a format.
    assert formats.select("format", "value", "basis").rows() == [("(none)", 150.0, "posts")]


def test_posts_published_in_a_mixed_workflow(mixed) -> None:
    result, _ = mixed
    assert value(result, "posts_published", **INSTAGRAM) == 2
    assert row(result, "posts_published", **TIKTOK)["reason"] == "activity only: no post list"
    overall = row(result, "posts_published")
    assert overall["value"] is None  # 2 would leave TikTok's posts out without saying so
    assert overall["reason"].startswith("includes accounts known only from their activity")


def test_the_report_explains_a_mixed_row(mixed) -> None:
    _, tmp_path = mixed
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert ">posts + activity</span>" in html
    # the html_report speaks through the reports' catalogue (en.toml [basis]) since it has a language
    assert "posts + activity: from posts for the accounts with posts, from account activity for the others." in html


def test_view_posts_and_view_activity(tmp_path: Path) -> None:
    metrics = """
[[metrics]]
id = "from_posts"
plugin = "totals"
counters = ["likes"]
view = "posts"

[[metrics]]
id = "from_activity"
plugin = "engagement_rate_by_impressions"
view = "activity"

[[metrics]]
plugin = "posts_published"
view = "posts"
"""
    workflow = write_case(tmp_path, "Views", TIKTOK_SOURCE + INSTAGRAM_SOURCE + INSTAGRAM_ACTIVITY_SOURCE,
                          metrics, {"overview.csv": TIKTOK_OVERVIEW, "ig_posts.csv": INSTAGRAM_POSTS,
                                    "ig_activity.csv": INSTAGRAM_ACTIVITY})
    result = run(workflow, tmp_path)
    assert value(result, "total_likes") == 150  # Instagram's posts; TikTok has none
    assert row(result, "total_likes")["basis"] == "posts"
    # Activity of both accounts: Instagram (999 likes / 9999 impressions on the 17th) and TikTok.
    # (999 + 614) / (9999 + 8000) x 100
    assert value(result, "engagement_rate_by_impressions") == pytest.approx(1613 / 17999 * 100)
    assert value(result, "posts_published") == 2  # the posts of the accounts with a post list


def test_a_view_needs_its_records(tmp_path: Path) -> None:
    workflow = write_case(tmp_path, "Wrong view", TIKTOK_SOURCE,
                          '\n[[metrics]]\nplugin = "totals"\nview = "posts"\n', {"overview.csv": TIKTOK_OVERVIEW})
    with pytest.raises(WorkflowInvalid, match="needs post records but its sources provide account_activity"):
        load_workflow(workflow)
    snapshots_only = write_case(tmp_path, "No posts, no activity", SNAPSHOT_SOURCE,
                                '\n[[metrics]]\nplugin = "totals"\n', {"followers.csv": SNAPSHOTS})
    with pytest.raises(WorkflowInvalid, match="needs post or account_activity records but its sources "
                                              "provide account_snapshot"):
        load_workflow(snapshots_only)
    mean = write_case(tmp_path, "Mean of days", TIKTOK_SOURCE,
                      '\n[[metrics]]\nplugin = "engagement_rate_by_reach"\nview = "activity"\n'
                      'aggregate = "mean_of_posts"\n', {"overview.csv": TIKTOK_OVERVIEW})
    with pytest.raises(WorkflowInvalid, match="mean_of_posts"):
        load_workflow(mean)


def test_mean_of_posts_has_no_value_for_activity(tmp_path: Path) -> None:
    metrics = '\n[[metrics]]\nplugin = "engagement_rate_by_impressions"\naggregate = "mean_of_posts"\n'
    workflow = write_case(tmp_path, "Mean", TIKTOK_SOURCE + INSTAGRAM_SOURCE, metrics,
                          {"overview.csv": TIKTOK_OVERVIEW, "ig_posts.csv": INSTAGRAM_POSTS})
    result = run(workflow, tmp_path)
    # Instagram: mean of 115/3000 and 55/1500 = (3.8333 + 3.6667) / 2 = 3.75 %
    assert value(result, "engagement_rate_by_impressions", **INSTAGRAM) == pytest.approx(3.75)
    assert "no post list to average" in row(result, "engagement_rate_by_impressions", **TIKTOK)["reason"]
    overall = row(result, "engagement_rate_by_impressions")
    assert overall["value"] is None and "ratio_of_sums" in overall["reason"]


# -- audience and followers gained -----------------------------------------------------------
SNAPSHOTS = """Date,Platform,Account,Followers
2026-11-01,instagram,lumen.paris,11000
2026-11-15,tiktok,lumen.paris,5000
2026-11-20,instagram,lumen.paris,12000
"""
SNAPSHOT_SOURCE = """
[[sources]]
id = "audience"
plugin = "csv"
path = "followers.csv"
record = "account_snapshot"
date_format = "%Y-%m-%d"
columns = { date = "Date", platform = "Platform", account = "Account", followers = "Followers" }
"""
# LinkedIn page analytics -> Followers -> "New followers" sheet, saved as CSV: US dates, and a
# "Total followers" column that is the day's gain (sponsored + organic), not the audience.
LINKEDIN_NEW_FOLLOWERS = """Date,Sponsored followers,Organic followers,Auto-invited followers,Total followers
11/14/2026,0,9,0,9
11/16/2026,0,3,0,3
11/17/2026,1,4,0,5
11/18/2026,0,0,0,0
11/19/2026,0,2,0,2
11/20/2026,0,4,0,4
11/21/2026,0,1,0,1
11/22/2026,2,4,0,6
"""
LINKEDIN_SOURCE = """
[[sources]]
id = "linkedin_followers"
plugin = "csv"
path = "new_followers.csv"
record = "account_activity"
date_format = "%m/%d/%Y"
constants = { platform = "linkedin", account = "lumen-paris" }
columns = { date = "Date", followers_gained = "Total followers" }
"""
AUDIENCE_METRICS = """
[[metrics]]
plugin = "followers"

[[metrics]]
plugin = "followers_gained"

[[metrics]]
plugin = "follower_growth"
"""


def audience_run(tmp_path: Path, metrics: str = AUDIENCE_METRICS):
    workflow = write_case(tmp_path, "Audience", SNAPSHOT_SOURCE + LINKEDIN_SOURCE, metrics,
                          {"followers.csv": SNAPSHOTS, "new_followers.csv": LINKEDIN_NEW_FOLLOWERS})
    return run(workflow, tmp_path)


def test_followers_at_the_end_of_the_period(tmp_path: Path) -> None:
    result = audience_run(tmp_path)
    # TikTok: no count inside 16..22, the one of the 15th (the day before) is the audience.
    assert value(result, "followers", **TIKTOK) == 5000
    assert value(result, "followers", **INSTAGRAM) == 12000  # the 20th, last on or before the 22nd
    assert value(result, "followers") == 17000               # 5000 + 12000
    assert row(result, "followers")["basis"] is None         # from snapshots, neither view
    # Previous week (9..15): TikTok's count of the 15th; Instagram's latest is the 1st, older
    # than the day before that week (the 8th): no value, and so none for the sum.
    assert value(result, "followers", "previous_period", **TIKTOK) == 5000
    stale = row(result, "followers", "previous_period", **INSTAGRAM)
    assert stale["value"] is None
    assert stale["reason"] == "latest follower count is from 2026-11-01, before 2026-11-08: too old for this period"
    overall = row(result, "followers", "previous_period")
    assert overall["value"] is None and overall["reason"] == "no recent follower count for 1 of 2 accounts"
    # Compared like any metric: no previous value, so no change.
    comparison = result.comparisons.filter((pl.col("metric") == "followers") & (pl.col("series_key") == "{}"))
    assert comparison["previous_value"].to_list() == [None]


def test_followers_with_a_longer_max_age(tmp_path: Path) -> None:
    result = audience_run(tmp_path, '\n[[metrics]]\nplugin = "followers"\nmax_age_days = 31\n')
    # Instagram's count of the 1st is 14 days before the 15th: taken for the previous week.
    assert value(result, "followers", "previous_period", **INSTAGRAM) == 11000
    assert value(result, "followers", "previous_period") == 16000  # 11000 + 5000
    change = result.comparisons.filter((pl.col("metric") == "followers") & (pl.col("series_key") == "{}")
                                       & (pl.col("comparison") == "previous_period"))
    assert change["change"].to_list() == [1000.0]  # 17000 - 16000


def test_followers_gained_is_a_flow_not_the_audience(tmp_path: Path) -> None:
    result = audience_run(tmp_path)
    linkedin = {"platform": "linkedin", "account": "lumen-paris"}
    # LinkedIn's "Total followers" per day, 16..22: 3 + 5 + 0 + 2 + 4 + 1 + 6 = 21 gained.
    assert value(result, "followers_gained", **linkedin) == 21
    assert value(result, "followers_gained") == 21
    assert value(result, "followers_gained", "previous_period") == 9  # the 14th
    assert row(result, "followers_gained")["basis"] == "activity"
    lost = row(result, "followers_lost", **linkedin)
    assert lost["value"] is None and lost["reason"] == "no activity record reports followers_lost"
    # The gains are no audience: LinkedIn has no follower count, and the overall audience is
    # the snapshots' 17000, not 17021.
    followers = result.measurements.filter((pl.col("metric") == "followers") & (pl.col("platform") == "linkedin"))
    assert followers.height == 0
    assert value(result, "followers") == 17000
    # follower_growth stays net growth from snapshots: Instagram 12000 - 11000? No: its start is
    # the 15th's count or the first in the period; neither exists beyond the 20th alone.
    growth = row(result, "follower_growth", **INSTAGRAM)
    assert growth["value"] is None and growth["reason"] == "one follower count only: growth needs two days"


def test_followers_gained_and_lost_where_reported(tmp_path: Path) -> None:
    activity = """Date,New followers,Lost followers
2026-11-16,12,3
2026-11-18,8,
2026-11-21,5,4
"""
    source = """
[[sources]]
id = "tiktok_followers"
plugin = "csv"
path = "gains.csv"
record = "account_activity"
date_format = "%Y-%m-%d"
constants = { platform = "tiktok", account = "lumen.paris" }
columns = { date = "Date", followers_gained = "New followers", followers_lost = "Lost followers" }
"""
    workflow = write_case(tmp_path, "Gains", source, '\n[[metrics]]\nplugin = "followers_gained"\n',
                          {"gains.csv": activity})
    result = run(workflow, tmp_path)
    assert value(result, "followers_gained") == 25  # 12 + 8 + 5
    assert value(result, "followers_lost") == 7     # 3 + 4 (the 18th does not report it)
    previous = row(result, "followers_gained", "previous_period")  # before the file's first day
    assert previous["value"] is None and previous["reason"] == (
        "no record read reaches this period: the records read start on 2026-11-16 (daily activity records)")


def test_engagement_by_followers_counts_each_account_from_its_view(tmp_path: Path) -> None:
    workflow = write_case(tmp_path, "ER", TIKTOK_SOURCE + INSTAGRAM_SOURCE + SNAPSHOT_SOURCE,
                          '\n[[metrics]]\nplugin = "engagement_rate_by_followers"\n',
                          {"overview.csv": TIKTOK_OVERVIEW, "ig_posts.csv": INSTAGRAM_POSTS,
                           "followers.csv": SNAPSHOTS})
    result = run(workflow, tmp_path)
    # ER divides by the followers of the last snapshot in the period: Instagram's 12000 (the
    # 20th); TikTok has none inside the week (its count is of the 15th), so no ER for it.
    # Instagram: (likes + comments + shares + saves) of its posts = 180 / 12000 x 100 = 1.5 %
    assert value(result, "engagement_rate_by_followers", **INSTAGRAM) == pytest.approx(1.5)
    assert row(result, "engagement_rate_by_followers", **INSTAGRAM)["basis"] == "posts"
    tiktok = row(result, "engagement_rate_by_followers", **TIKTOK)
    assert tiktok["value"] is None and tiktok["reason"] == "no follower count for this period"
    assert tiktok["basis"] == "activity"
    # Overall: TikTok has interactions (614) but no follower count in the week: 180 / 12000
    # would be Instagram's rate passed off as both accounts', so there is no value.
    overall = row(result, "engagement_rate_by_followers")
    assert overall["value"] is None and overall["reason"].startswith("no follower count for 1 of the 2 accounts")
    assert overall["basis"] == "posts+activity"


def test_engagement_by_followers_on_activity(tmp_path: Path) -> None:
    snapshots = SNAPSHOTS + "2026-11-22,tiktok,lumen.paris,5200\n"
    workflow = write_case(tmp_path, "ER activity", TIKTOK_SOURCE + INSTAGRAM_SOURCE + SNAPSHOT_SOURCE,
                          '\n[[metrics]]\nplugin = "engagement_rate_by_followers"\n',
                          {"overview.csv": TIKTOK_OVERVIEW, "ig_posts.csv": INSTAGRAM_POSTS,
                           "followers.csv": snapshots})
    result = run(workflow, tmp_path)
    # TikTok: (550 + 42 + 22) / 5200 x 100 = 614 / 5200 x 100 = 11.8077 %
    assert value(result, "engagement_rate_by_followers", **TIKTOK) == pytest.approx(614 / 5200 * 100)
    # Overall: (180 + 614) / (12000 + 5200) x 100 = 794 / 17200 x 100 = 4.6163 %
    assert value(result, "engagement_rate_by_followers") == pytest.approx(794 / 17200 * 100)
