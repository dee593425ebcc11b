"""Calendar adherence, figures computed by hand, through the runner's measure stage.

The period is the week of Monday 30 November 2026 in Paris (UTC+1); the run counts as of
Saturday 5 December 12:00 UTC. Options: window 3d, on_time_within 2h. Times below in UTC.

item  platform   owner  planned               post                          outcome
i1    instagram  alice  Mon 30 09:00          p1 Mon 09:30                  on time (0.5 h after)
i2    instagram  alice  Tue 1 09:00           p2 Wed 2 09:00                late, 24 h (p1 is nearer, 23.5 h,
                                                                            but p1 is i1's at 0.5 h)
i3    facebook   bob    Wed 2 17:00, post_id fb-deleted (no such post, no facebook post near): missing
i4    x          bob    Thu 3 11:00           p4a 11:30, p4b 14:00          on time with p4a; p4b unplanned
i5    linkedin   alice  Fri 4 08:00           p5 03:30 New York (08:30)     on time (compared in UTC)
i6    tiktok     bob    Tue 1 11:00, cancelled                              left out
i7    instagram  alice  Sat 5, whole day      p7 Sat 5 10:00                on time (any time that day)
      (00:00 Paris = Fri 4 23:00)
i8    instagram  bob    Sun 6 17:00           none (p7 is 31 h before,      not due yet
                                              but i7's)
i9    linkedin   bob    Mon 30 08:00, url     p10 Tue 1 14:00, by its       late, 30 h
      www.linkedin.com/posts/acme-123/?trk=x  permalink (beyond the window)
      p9 instagram Thu 3 09:00: every item in reach has a nearer post: unplanned.

Due: on time i1 i4 i5 i7 (4), late i2 i9 (2), missing i3 (1): 4 / 7 = 57.142857 %.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from cmflow import Period, RecordTable
from cmflow.builtin.metrics.calendar_adherence import CalendarAdherence, LatePlannedPosts, MissingPlannedPosts
from cmflow.builtin.metrics.content_mix import ContentMix
from cmflow.builtin.metrics.calendar_matching import MatchRules, match_calendar
from cmflow.stages.measure import MetricRequest, measure as measure_stage

from test_metric_conversation_counts import values

UTC = timezone.utc
WEEK = Period(date(2026, 11, 30), date(2026, 12, 6), "Europe/Paris")
AS_OF = datetime(2026, 12, 5, 12, tzinfo=UTC)


def utc(day: int, hour: int, minute: int = 0, month: int = 12) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def item(item_id: str, platform: str, owner: str, planned: datetime, fmt: str | None, **extra: Any) -> dict[str, Any]:
    return {"item_id": item_id, "planned_at": planned, "platform": platform, "owner": owner, "format": fmt,
            "title": f"content {item_id}", "status": "scheduled", "pillar": "product", **extra}


def post(post_id: str, platform: str, published: datetime, fmt: str | None, **extra: Any) -> dict[str, Any]:
    return {"platform": platform, "account": "acme", "post_id": post_id, "published_at": published,
            "format": fmt, **extra}


ITEMS = [
    item("i1", "instagram", "alice", utc(30, 9, month=11), "reel"),
    item("i2", "instagram", "alice", utc(1, 9), "image"),
    item("i3", "facebook", "bob", utc(2, 17), "image", post_id="fb-deleted"),
    item("i4", "x", "bob", utc(3, 11), "text"),
    item("i5", "linkedin", "alice", utc(4, 8), "text"),
    item("i6", "tiktok", "bob", utc(1, 11), "video", status="Cancelled"),
    item("i7", "instagram", "alice", utc(4, 23), "carousel"),
    item("i8", "instagram", "bob", utc(6, 17), "reel"),
    item("i9", "linkedin", "bob", utc(30, 8, month=11), None, url="http://www.linkedin.com/posts/acme-123/?trk=x"),
]
POSTS = [
    post("p1", "instagram", utc(30, 9, 30, month=11), "reel"),
    post("p2", "instagram", utc(2, 9), "image"),
    post("p4a", "x", utc(3, 11, 30), "text"),
    post("p4b", "x", utc(3, 14), "text"),
    post("p5", "linkedin", datetime(2026, 12, 4, 3, 30, tzinfo=ZoneInfo("America/New_York")), "text"),
    post("p7", "instagram", utc(5, 10), "carousel"),
    post("p9", "instagram", utc(3, 9), "image"),
    post("p10", "linkedin", utc(1, 14), None, url="https://linkedin.com/posts/acme-123"),
]


def records(items: list[dict] = ITEMS, posts: list[dict] = POSTS) -> dict[str, pl.DataFrame]:
    return {kind: RecordTable.from_rows(kind, rows).conformed().with_columns(source_id=pl.lit("src"))
            for kind, rows in (("calendar_item", items), ("post", posts))}


def measure(metric: Any, by: list, as_of: datetime = AS_OF, **kwargs: Any) -> pl.DataFrame:
    measured = measure_stage([MetricRequest(metric, by, ["src"])], records(**kwargs), [WEEK], as_of=as_of)
    assert [(s.ok, s.error) for s in measured.reports] == [(True, None)]
    return measured.measurements


def of(frame: pl.DataFrame, metric: str) -> dict[tuple, float | None]:
    return values(frame.filter(pl.col("metric") == metric))


def adherence(**options: Any) -> CalendarAdherence:
    return CalendarAdherence(CalendarAdherence.Options(**{"window": "3d", "on_time_within": "2h", **options}),
                             entry_id="a")


def test_each_item_gets_its_outcome() -> None:
    rules = MatchRules(timedelta(days=3), timedelta(hours=2), "Europe/Paris")
    frames = records()
    match = match_calendar(frames["calendar_item"], frames["post"], rules, AS_OF)
    outcomes = {row["item_id"]: (row["outcome"], row["post_id_matched"], row["matched_by"],
                                 None if row["delay_hours"] is None else round(row["delay_hours"], 6))
                for row in match.items.iter_rows(named=True)}
    assert outcomes == {
        "i1": ("on_time", "p1", "time", None),
        "i2": ("late", "p2", "time", 24.0),
        "i3": ("missing", None, None, None),
        "i4": ("on_time", "p4a", "time", None),
        "i5": ("on_time", "p5", "time", None),
        "i7": ("on_time", "p7", "time", None),
        "i8": ("not_due", None, None, None),
        "i9": ("late", "p10", "url", 30.0),
    }
    assert sorted(match.unplanned["post_id"].to_list()) == ["p4b", "p9"]
    reason = match.items.filter(pl.col("item_id") == "i3")["reason"][0]
    assert reason == "its post fb-deleted is not among the posts read (deleted?)"


def test_an_item_naming_its_post_is_matched_by_that_id_however_far_from_its_time() -> None:
    """i3 names its post (fb-7), published Fri 4 21:00, 52 h after Wed 2 17:00: matched by that
    id, late by 52 h; fb-7 is neither another item's nor unplanned."""
    items = [{**row, "post_id": "fb-7"} if row["item_id"] == "i3" else row for row in ITEMS]
    posts = [*POSTS, post("fb-7", "facebook", utc(4, 21), "image")]
    rules = MatchRules(timedelta(days=3), timedelta(hours=2), "Europe/Paris")
    frames = records(items, posts)
    match = match_calendar(frames["calendar_item"], frames["post"], rules, AS_OF)
    [i3] = match.items.filter(pl.col("item_id") == "i3").iter_rows(named=True)
    assert (i3["outcome"], i3["post_id_matched"], i3["matched_by"], i3["delay_hours"]) == ("late", "fb-7", "post_id", 52.0)
    assert sorted(match.unplanned["post_id"].to_list()) == ["p4b", "p9"]


def test_adherence_rate_overall_per_platform_and_owner() -> None:
    frame = measure(adherence(), ["overall", "platform", "owner"])
    rate = of(frame, "calendar_adherence")
    assert rate[()] == pytest.approx(4 / 7 * 100)
    # instagram: i1 and i7 on time, i2 late, i8 not due yet: 2 / 3. linkedin: i5 on time, i9 late.
    assert rate[("instagram",)] == pytest.approx(200 / 3)
    assert rate[("facebook",)] == 0.0
    assert rate[("x",)] == 100.0
    assert rate[("linkedin",)] == 50.0
    assert ("tiktok",) not in rate  # only a cancelled item
    # alice: i1 i5 i7 on time, i2 late: 3 / 4; bob: i4 on time, i9 late, i3 missing (i8 not due): 1 / 3.
    assert rate[("alice",)] == 75.0
    assert rate[("bob",)] == pytest.approx(100 / 3)
    # Unplanned posts have no owner: their group has no item, hence no rate, with the reason.
    assert rate[("(none)",)] is None
    reasons = frame.filter((pl.col("metric") == "calendar_adherence") & (pl.col("owner") == "(none)"))["reason"]
    assert reasons.to_list() == ["no planned item in this period"]


def test_adherence_rate_per_pillar() -> None:
    """i1 (on time), i2 (late) and i3 (missing) are "promo": 1 / 3; the other items due are
    "product": i4, i5, i7 on time, i9 late: 3 / 4 (i8 not due yet, i6 cancelled)."""
    promo = {"i1", "i2", "i3"}
    items = [{**row, "pillar": "promo"} if row["item_id"] in promo else row for row in ITEMS]
    rate = of(measure(adherence(), ["pillar"], items=items), "calendar_adherence")
    assert rate == {("promo",): pytest.approx(100 / 3), ("product",): 75.0,
                    ("(none)",): None}  # the unplanned posts name no pillar: no item due, no rate


def test_late_missing_and_unplanned_counts() -> None:
    frame = measure(adherence(), ["overall", "platform"])
    assert of(frame, "posts_on_time")[()] == 4
    assert of(frame, "posts_late")[()] == 2
    assert of(frame, "late_delay_hours")[()] == pytest.approx((24 + 30) / 2)
    assert of(frame, "late_delay_hours")[("x",)] is None  # no late post on x: no value, not 0
    assert of(frame, "posts_missing") == {(): 1, ("instagram",): 0, ("facebook",): 1, ("x",): 0, ("linkedin",): 0}
    assert of(frame, "posts_unplanned") == {(): 2, ("instagram",): 1, ("facebook",): 0, ("x",): 1, ("linkedin",): 0}


def test_a_future_item_becomes_missing_once_due() -> None:
    # Monday 7 December 10:00 UTC: i8 (Sunday 17:00 + 2 h) is due and has no post.
    frame = measure(adherence(), ["overall"], as_of=utc(7, 10))
    assert of(frame, "calendar_adherence")[()] == 50.0  # 4 / 8
    assert of(frame, "posts_missing")[()] == 2


def test_no_item_due_yet_has_no_rate_and_says_why() -> None:
    frame = measure(adherence(), ["overall"], as_of=utc(29, 12, month=11), items=[ITEMS[0]], posts=[])
    row = frame.filter(pl.col("metric") == "calendar_adherence").row(0, named=True)
    assert (row["value"], row["reason"]) == (None, "no planned item was due yet in this period")


def test_tolerance_decides_on_time_or_late() -> None:
    # p1 is 30 minutes after i1: late with no tolerance, by 0.5 h.
    frame = measure(adherence(on_time_within="0s"), ["overall"], items=[ITEMS[0]], posts=[POSTS[0]])
    assert of(frame, "posts_late")[()] == 1
    assert of(frame, "late_delay_hours")[()] == 0.5


def test_whole_day_plan_published_the_next_day_is_late_from_the_end_of_the_day() -> None:
    # i7 planned for Saturday 5 (Paris); a post on Sunday 6 at 02:00 Paris (01:00 UTC) is 2 h late.
    frame = measure(adherence(), ["overall"], as_of=utc(7, 10), items=[ITEMS[6]],
                    posts=[post("p", "instagram", utc(6, 1), "carousel")])
    assert of(frame, "posts_late")[()] == 1
    assert of(frame, "late_delay_hours")[()] == 2.0


def test_two_posts_for_one_slot_nearest_wins_format_breaks_a_tie() -> None:
    # Both posts 1 h from the item: the one of the planned format is the item's.
    posts = [post("a", "instagram", utc(30, 8, month=11), "image"), post("b", "instagram", utc(30, 10, month=11), "reel")]
    frames = records(items=[ITEMS[0]], posts=posts)
    rules = MatchRules(timedelta(days=3), timedelta(hours=2), "Europe/Paris")
    match = match_calendar(frames["calendar_item"], frames["post"], rules, AS_OF)
    assert match.items["post_id_matched"].to_list() == ["b"]
    assert match.items["outcome"].to_list() == ["on_time"]
    assert match.unplanned["post_id"].to_list() == ["a"]


def test_missing_planned_posts_has_a_row_per_item_due_the_missing_ones_overdue() -> None:
    metric = MissingPlannedPosts(MissingPlannedPosts.Options(window="3d", on_time_within="2h"), entry_id="m")
    frame = measure(metric, ["overall"])
    rows = frame.filter(pl.col("period") == "current")
    # i3 (its post deleted) was due Wed 2 19:00 UTC (17:00 + 2 h): 65 hours before Sat 5 12:00;
    # the six items due and published have a row of 0, so that an alert on one resolves.
    assert {r["item_id"]: r["value"] for r in rows.iter_rows(named=True) if r["value"]} == {"i3": 65.0}
    assert rows.filter(pl.col("item_id") == "i3").select("title", "platform", "owner").to_dicts() == [
        {"title": "content i3", "platform": "facebook", "owner": "bob"}]
    assert rows.height == 7 and "why" not in rows.columns  # the identity of a series never changes


def test_late_planned_posts_has_a_row_per_late_item_with_its_delay() -> None:
    metric = LatePlannedPosts(LatePlannedPosts.Options(window="3d", on_time_within="2h"), entry_id="l")
    frame = measure(metric, ["overall"])
    rows = (frame.filter(pl.col("period") == "current").select("item_id", "title", "platform", "owner", "value")
            .sort("item_id"))
    # The delay runs from the planned time, as late_delay_hours counts it: i2 planned Tue 1
    # 09:00, published Wed 2 09:00: 24 h; i9 planned Mon 30 08:00, published Tue 1 14:00: 30 h.
    assert rows.to_dicts() == [
        {"item_id": "i2", "title": "content i2", "platform": "instagram", "owner": "alice", "value": 24.0},
        {"item_id": "i9", "title": "content i9", "platform": "linkedin", "owner": "bob", "value": 30.0}]


def test_planned_and_published_mix_of_formats() -> None:
    metric = ContentMix(ContentMix.Options(of=["format"]), entry_id="mix")
    frame = measure(metric, ["overall"])
    planned = {k[0]: v for k, v in of(frame, "planned_mix").items()}
    published = {k[0]: v for k, v in of(frame, "published_mix").items()}
    # Planned (i6 cancelled): reel i1 i8, image i2 i3, text i4 i5, carousel i7, none i9: of 8.
    assert planned == {"reel": 25.0, "image": 25.0, "text": 25.0, "carousel": 12.5, "(none)": 12.5}
    # Published: reel p1; image p2 p9; text p4a p4b p5; carousel p7; none p10: of 8.
    assert published == {"reel": 12.5, "image": 25.0, "text": 37.5, "carousel": 12.5, "(none)": 12.5}


def test_each_clients_adherence_from_its_own_items_and_posts() -> None:
    # The clients stage labels records by account; here i1, i2 and their posts p1, p2 are acme's.
    frames = records()
    labelled = {"calendar_item": frames["calendar_item"].with_columns(
                    client=pl.when(pl.col("item_id").is_in(["i1", "i2"])).then(pl.lit("acme"))),
                "post": frames["post"].with_columns(
                    client=pl.when(pl.col("post_id").is_in(["p1", "p2"])).then(pl.lit("acme")))}
    measured = measure_stage([MetricRequest(adherence(), ["client"], ["src"], clients=["acme"])], labelled, [WEEK],
                             as_of=AS_OF)
    rate = of(measured.measurements, "calendar_adherence")
    assert rate == {("acme",): 50.0}  # i1 on time, i2 late (24 h)


def test_a_pillar_planned_but_never_published_is_0_percent_published() -> None:
    metric = ContentMix(ContentMix.Options(of=["pillar"]), entry_id="mix")
    frame = measure(metric, ["overall", "platform"])
    planned, published = of(frame, "planned_mix"), of(frame, "published_mix")
    # Every item is of the "product" pillar; no post has a pillar.
    assert planned[("product",)] == 100.0 and planned[("(none)",)] == 0.0
    assert published[("product",)] == 0.0 and published[("(none)",)] == 100.0
    # x: i4 planned, p4a and p4b published; tiktok: only the cancelled i6, and no post: no row.
    assert planned[("x", "product")] == 100.0 and published[("x", "(none)")] == 100.0
    assert not any(key[0] == "tiktok" for key in planned)


def test_published_mix_only_of_what_the_calendar_plans() -> None:
    metric = ContentMix(ContentMix.Options(of=["format"]), entry_id="mix")
    # A tiktok reel (tiktok's only item, i6, is cancelled) and a youtube video (nothing planned
    # there): the calendar plans neither platform, so neither is in the published mix.
    posts = [*POSTS, post("pt", "tiktok", utc(2, 12), "reel"), post("py", " YouTube", utc(2, 13), "video")]
    frame = measure(metric, ["overall", "account"], posts=posts)
    published = of(frame, "published_mix")
    # As without them: reel p1; image p2 p9; text p4a p4b p5; carousel p7; none p10: of 8
    # (with them it would be of 10: reel 20 %, video 10 %).
    assert {k[0]: v for k, v in published.items() if len(k) == 1} == {
        "reel": 12.5, "image": 25.0, "text": 37.5, "carousel": 12.5, "(none)": 12.5}
    # By account: the items name no account, so acme's posts have nothing planned to be compared with.
    acme = frame.filter((pl.col("metric") == "published_mix") & (pl.col("account") == "acme"))
    assert acme.height and acme["value"].is_null().all()
    assert set(acme["reason"]) == {"no calendar item is planned here in this period: the published mix is "
                                   "compared only against a calendar"}
