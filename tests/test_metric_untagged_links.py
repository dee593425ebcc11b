"""The UTM checker (``untagged_links``) on a small set of posts, problems listed by hand.

u1 instagram "Soldes Hiver"  link ?utm_source=instagram&utm_medium=social&utm_campaign=soldes-hiver   fine
u2 instagram "Soldes Hiver"  link ?utm_source=facebook&utm_medium=social&utm_campaign=Soldes-Hiver
                             -> utm_source names facebook; "Soldes-Hiver" beside u1's "soldes-hiver"
u3 facebook                  text: shop.example.com/new (no tag at all: 3 problems), a bit.ly short
                             link and the brand's Instagram profile (neither checked)
u4 linkedin "noel"           link ?utm_source=LI&utm_medium=social&utm_campaign=ete -> not its campaign
u5 x                         no link: nothing to check
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

import polars as pl

from cmflow import Period, RecordTable
from cmflow.builtin.metrics.untagged_links import UntaggedLinks, link_problems
from cmflow.stages.measure import MetricRequest, measure as measure_stage

from test_metric_conversation_counts import values

WEEK = Period(date(2026, 11, 30), date(2026, 12, 6), "Europe/Paris")
SHOP = "https://shop.example.com"


def post(post_id: str, platform: str, **extra: Any) -> dict[str, Any]:
    return {"platform": platform, "account": "acme", "post_id": post_id,
            "published_at": datetime(2026, 12, 2, 10, tzinfo=timezone.utc), **extra}


POSTS = [
    post("u1", "instagram", campaign="Soldes Hiver",
         link=f"{SHOP}/soldes?utm_source=instagram&utm_medium=social&utm_campaign=soldes-hiver"),
    post("u2", "instagram", campaign="Soldes Hiver",
         link=f"{SHOP}/p?utm_source=facebook&utm_medium=social&utm_campaign=Soldes-Hiver"),
    post("u3", "facebook", text="Nouveautés ici : https://shop.example.com/new. Et https://bit.ly/abc "
         "ou https://www.instagram.com/acme"),
    post("u4", "linkedin", campaign="noel", link=f"{SHOP}/?utm_source=LI&utm_medium=social&utm_campaign=ete"),
    post("u5", "x", text="Bonne semaine !"),
]


def measure(by: list) -> pl.DataFrame:
    frame = RecordTable.from_rows("post", POSTS).conformed().with_columns(source_id=pl.lit("src"))
    metric = UntaggedLinks(UntaggedLinks.Options(), entry_id="utm")
    measured = measure_stage([MetricRequest(metric, by, ["src"])], {"post": frame}, [WEEK],
                             as_of=datetime(2026, 12, 7, tzinfo=timezone.utc))
    assert [(s.ok, s.error) for s in measured.reports] == [(True, None)]
    return measured.measurements


def test_each_problem_is_a_row_naming_the_post_and_the_link() -> None:
    frame = measure(["overall"])
    listed = frame.filter(pl.col("metric") == "untagged_links")
    rows = listed.select("post_id", "url", "problem", "value").sort("post_id", "problem")
    assert rows.rows() == [
        ("u2", f"{SHOP}/p?utm_source=facebook&utm_medium=social&utm_campaign=Soldes-Hiver",
         "utm_campaign 'Soldes-Hiver' is one of several spellings: Soldes-Hiver, soldes-hiver", 1.0),
        ("u2", f"{SHOP}/p?utm_source=facebook&utm_medium=social&utm_campaign=Soldes-Hiver",
         "utm_source 'facebook' does not name instagram", 1.0),
        ("u3", f"{SHOP}/new", "no utm_campaign", 1.0),
        ("u3", f"{SHOP}/new", "no utm_medium", 1.0),
        ("u3", f"{SHOP}/new", "no utm_source", 1.0),
        ("u4", f"{SHOP}/?utm_source=LI&utm_medium=social&utm_campaign=ete",
         "utm_campaign 'ete' is not the post's campaign 'noel'", 1.0),
    ]
    # The same problems as a code and its values, for a report to word in its language.
    assert sorted(listed.select("post_id", "problem_code", "problem_value", "problem_expected").rows()) == [
        ("u2", "spellings", "Soldes-Hiver", "Soldes-Hiver, soldes-hiver"),
        ("u2", "wrong_source", "facebook", "instagram"),
        ("u3", "no_tag", "utm_campaign", None), ("u3", "no_tag", "utm_medium", None),
        ("u3", "no_tag", "utm_source", None),
        ("u4", "wrong_campaign", "ete", "noel"),
    ]


def test_posts_untagged_are_counted_per_platform() -> None:
    frame = measure(["overall", "platform"])
    counts = values(frame.filter(pl.col("metric") == "posts_untagged"))
    assert counts == {(): 3, ("instagram",): 1, ("facebook",): 1, ("linkedin",): 1, ("x",): 0}


def test_links_not_checked() -> None:
    assert link_problems("https://bit.ly/abc", "x", None) is None  # a short link: tags behind a redirect
    assert link_problems("https://lnkd.in/abc", "linkedin", None) is None
    assert link_problems("https://www.instagram.com/p/Cx1/", "instagram", None) is None  # the platform itself
    assert link_problems("https://l.facebook.com/l.php?u=x", "facebook", None) is None
    assert link_problems("https://[broken/page", "x", None) is None  # no host to tell: not checked, no crash
    assert [p.sentence for p in link_problems("shop.example.com/a?utm_source=x&utm_medium=social", "x", None)] == [
        "no utm_campaign"]
    assert link_problems(f"{SHOP}/?utm_source=ig&utm_medium=social&utm_campaign=ete", "instagram", "Été") == []
