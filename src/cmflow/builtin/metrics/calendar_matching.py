"""Planned calendar items matched to the posts published for them, and the outcome of each.

The rules (docs/concepts.md, "Calendar adherence"):

1. Cancelled items are left out: a ``status`` standing for ``cancelled`` (``Annulé``,
   ``canceled`` ... as :func:`cmflow.status_of` reads it) or one of :attr:`MatchRules.cancelled`.
2. An item is matched to a post, by the first of these that finds one:
   its ``post_id`` (the post of that id, on the item's platform when it names one); its ``url``
   (the post's permalink, compared without scheme, ``www.``, query, fragment or trailing slash);
   else its platform (and account, when both have one) and time: a post published within
   ``window`` of ``planned_at``, either side.
3. Each item gets at most one post and each post at most one item, greedily: of all the
   candidate pairs, the pair matched first is the one found by the earlier rule (id, then
   url, then time), then the nearer in time, then the one whose formats agree (a format
   mismatch only breaks a tie), then the earlier planned item. Two posts for one slot: the
   nearer is the item's, the other is unplanned.
4. Outcomes: ``on_time`` (published no later than ``on_time_within`` after ``planned_at``;
   early is on time), ``late`` (with the delay, from ``planned_at``), ``missing`` (no post,
   and the item was due at the as-of time), ``not_due`` (no post yet, not due yet); a post
   matched to no item is unplanned.
5. A whole-day item: ``planned_at`` at 00:00 in the workflow's time zone (a calendar with dates
   and no times). A post published any time that local day is on time; it is due at the end
   of that day, and a later post is late by its delay from the end of the day.

Matching is columnar: the candidate pairs are one frame, and each round matches every pair
that is the best remaining one of both its item and its post (the same pairs a greedy pass
over the sorted pairs takes, in a few rounds rather than one Python step per post).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from cmflow import NONE_LABEL, status_of, whole_day_plan

if TYPE_CHECKING:
    import polars as pl

ON_TIME, LATE, MISSING, NOT_DUE = "on_time", "late", "missing", "not_due"
"""The outcomes of a planned item."""
BY_POST_ID, BY_URL, BY_TIME = "post_id", "url", "time"
"""How an item was matched (the ``matched_by`` column), in the order the rules are tried."""

_URL_PARTS = r"^(?:[A-Za-z][A-Za-z0-9+.-]*://)?(?:[Ww][Ww][Ww]\.)?([^/?#]*)([^?#]*)"


@dataclass(frozen=True)
class MatchRules:
    """What decides a match and an outcome."""

    window: timedelta
    """How far from ``planned_at`` (either side) a post may be published to be the item's."""
    on_time_within: timedelta
    """How late after ``planned_at`` a post is still on time (timed items)."""
    timezone: str
    """The workflow's time zone: an item at 00:00 there is planned for the whole day."""
    cancelled: tuple[str, ...] = ()
    """Other statuses that mean the content was dropped (``on hold``), besides ``cancelled``."""


@dataclass(frozen=True)
class CalendarMatch:
    """The outcome of each planned item, and which posts no item planned."""

    items: "pl.DataFrame"
    """One row per item not cancelled: ``item_id``, ``outcome``, ``delay_hours`` (late ones),
    ``matched_by``, the post's ``post_platform``/``post_account``/``post_id_matched``,
    ``due_at`` and ``reason`` (why a missing item is missing)."""
    unplanned: "pl.DataFrame"
    """The posts no item was matched to: ``platform``, ``account``, ``post_id`` (strings)."""


def normalised_url(column: str) -> "pl.Expr":
    """The address in ``column`` as matching compares it: host in lower case without ``www.``,
    then the path without its trailing slash; scheme, query and fragment dropped (null stays
    null). The path keeps its case: Instagram's ``/p/AbC/`` and ``/p/abc/`` are two posts."""
    import polars as pl

    parts = pl.col(column).cast(pl.String).str.strip_chars().str.extract_groups(_URL_PARTS)
    url = parts.struct.field("1").str.to_lowercase() + parts.struct.field("2").str.strip_chars_end("/")
    return pl.when(url.str.len_chars() > 0).then(url)


def _known(column: str) -> "pl.Expr":
    """``column`` as a string, null where the record has no value (``(none)`` included: the
    measure stage labels a missing format or pillar so)."""
    import polars as pl

    value = pl.col(column).cast(pl.String).str.strip_chars()
    return pl.when((value != NONE_LABEL) & (value != "")).then(value)


def not_cancelled(items: "pl.LazyFrame", also: tuple[str, ...] = ()) -> "pl.LazyFrame":
    """``items`` without the cancelled ones: a status standing for ``cancelled`` (read by
    :func:`cmflow.status_of`, once per distinct status) or one of ``also``."""
    import polars as pl

    if "status" not in items.collect_schema().names():
        return items
    status = pl.col("status").cast(pl.String)
    words = items.select(status.unique()).collect().to_series().drop_nulls().to_list()
    extra = {word: "cancelled" for word in also}
    dropped = [word for word in words if status_of(word, extra) == "cancelled"]
    return items.filter(~status.is_in(dropped).fill_null(False)) if dropped else items


def _items(items: "pl.DataFrame | pl.LazyFrame", rules: MatchRules) -> "pl.DataFrame":
    import polars as pl

    frame = items.lazy()
    names = frame.collect_schema().names()
    utc = pl.col("planned_at").dt.convert_time_zone("UTC")
    local = pl.col("planned_at").dt.convert_time_zone(rules.timezone)
    whole_day = whole_day_plan(pl.col("planned_at"), rules.timezone)
    day_end = (local.dt.truncate("1d").dt.offset_by("1d")).dt.convert_time_zone("UTC")
    chosen = not_cancelled(frame, rules.cancelled)
    return (chosen.select(
        pl.col("item_id").cast(pl.String), utc.alias("planned_at"),
        _known("platform").str.to_lowercase().alias("platform"),
        *[(_known(c) if c in names else pl.lit(None, dtype=pl.String)).alias(c)
          for c in ("account", "format", "post_id")],
        (normalised_url("url") if "url" in names else pl.lit(None, dtype=pl.String)).alias("_url"),
        whole_day.alias("whole_day"), day_end.alias("_day_end"))
        .unique("item_id", keep="last", maintain_order=True)
        .with_columns(
            pl.when("whole_day").then(pl.col("_day_end")).otherwise(pl.col("planned_at") + rules.on_time_within)
            .alias("due_at"),
            # A whole day is one slot: distances are counted from its start and its end.
            pl.when("whole_day").then(pl.col("_day_end")).otherwise(pl.col("planned_at")).alias("_slot_end"))
        .sort("planned_at", "item_id")  # the row index then breaks ties: the earlier planned, then by id
        .with_row_index("_item")
        .collect())


def _posts(posts: "pl.DataFrame | pl.LazyFrame") -> "pl.DataFrame":
    import polars as pl

    frame = posts.lazy()
    names = frame.collect_schema().names()
    return (frame.select(
        _known("platform").str.to_lowercase().alias("p_platform"),
        *[_known(c).alias(f"p_{c}") for c in ("account", "post_id")],
        pl.col("published_at").dt.convert_time_zone("UTC").alias("p_published_at"),
        (_known("format") if "format" in names else pl.lit(None, dtype=pl.String)).alias("p_format"),
        (normalised_url("url") if "url" in names else pl.lit(None, dtype=pl.String)).alias("p_url"))
        .unique(["p_platform", "p_account", "p_post_id"], keep="last", maintain_order=True)
        .sort("p_published_at", "p_platform", "p_account", "p_post_id")  # a stable order, whatever the sources'
        .with_row_index("_post")
        .collect())


def _candidates(items: "pl.DataFrame", posts: "pl.DataFrame", window: timedelta) -> "pl.DataFrame":
    """Every (item, post) pair a rule allows, with the rule's rank, the distance in time and
    whether the formats disagree."""
    import polars as pl

    same_platform = pl.col("platform").is_null() | (pl.col("platform") == pl.col("p_platform"))
    same_account = (pl.col("account").is_null() | pl.col("p_account").is_null()
                    | (pl.col("account") == pl.col("p_account")))
    by_id = (items.filter(pl.col("post_id").is_not_null())
             .join(posts, left_on="post_id", right_on="p_post_id", how="inner", coalesce=False)
             .filter(same_platform).with_columns(pl.lit(0).alias("_rule")))
    by_url = (items.filter(pl.col("_url").is_not_null())
              .join(posts, left_on="_url", right_on="p_url", how="inner", coalesce=False)
              .filter(same_platform & same_account).with_columns(pl.lit(1).alias("_rule")))
    # Time buckets as wide as the window: an item's reach, [planned - window, end + window],
    # spans a few of them, and each post sits in one: an equi-join on (platform, bucket) finds
    # every pair once, without pairing each item with every post of its platform.
    width = max(int(window.total_seconds()), 1)
    bucket = lambda instant: (instant.dt.epoch("s") // width)  # noqa: E731
    reach = pl.int_ranges(bucket(pl.col("planned_at") - window), bucket(pl.col("_slot_end") + window) + 1)
    reaching = items.filter(pl.col("platform").is_not_null()).with_columns(reach.alias("_bucket")).explode("_bucket")
    bucketed = posts.with_columns(bucket(pl.col("p_published_at")).alias("_bucket"))
    # An item naming its account meets that account's posts only (joined on it too: far fewer pairs).
    with_account = reaching.filter(pl.col("account").is_not_null()).join(
        bucketed.filter(pl.col("p_account").is_not_null()), left_on=["platform", "account", "_bucket"],
        right_on=["p_platform", "p_account", "_bucket"], how="inner", coalesce=False)
    any_account = reaching.filter(pl.col("account").is_null()).join(
        bucketed, left_on=["platform", "_bucket"], right_on=["p_platform", "_bucket"], how="inner", coalesce=False)
    without_account = reaching.filter(pl.col("account").is_not_null()).join(
        bucketed.filter(pl.col("p_account").is_null()), left_on=["platform", "_bucket"],
        right_on=["p_platform", "_bucket"], how="inner", coalesce=False)
    by_time = (pl.concat([with_account, any_account, without_account], how="diagonal_relaxed")
               .filter(same_account
                       & (pl.col("p_published_at") >= pl.col("planned_at") - window)
                       & (pl.col("p_published_at") <= pl.col("_slot_end") + window))
               .with_columns(pl.lit(2).alias("_rule")))
    pairs = pl.concat([by_id, by_url, by_time], how="diagonal_relaxed")
    before = (pl.col("planned_at") - pl.col("p_published_at")).dt.total_seconds()
    after = (pl.col("p_published_at") - pl.col("_slot_end")).dt.total_seconds()
    return pairs.select(
        "_item", "_post", "_rule",
        pl.max_horizontal(before, after, pl.lit(0)).alias("_distance"),
        (pl.col("format").is_not_null() & pl.col("p_format").is_not_null()
         & (pl.col("format") != pl.col("p_format"))).alias("_format_differs"))


def _greedy(pairs: "pl.DataFrame") -> "pl.DataFrame":
    """The pairs a greedy pass over ``pairs`` sorted by (rule, distance, format, planned time,
    item) takes, each item and post at most once: taken in rounds of the pairs that rank first
    for both their item and their post."""
    import polars as pl

    ranked = (pairs.sort(["_rule", "_distance", "_format_differs", "_item", "_post"])
              .with_row_index("_rank").select("_rank", "_item", "_post", "_rule"))
    taken = []
    while ranked.height:
        best = ranked.filter((pl.col("_rank") == pl.col("_rank").min().over("_item"))
                             & (pl.col("_rank") == pl.col("_rank").min().over("_post")))
        taken.append(best)
        ranked = ranked.filter(~pl.col("_item").is_in(best["_item"].implode())
                               & ~pl.col("_post").is_in(best["_post"].implode()))
    if not taken:
        return ranked.select("_item", "_post", "_rule")
    return pl.concat(taken).select("_item", "_post", "_rule")


def match_calendar(items: "pl.DataFrame | pl.LazyFrame", posts: "pl.DataFrame | pl.LazyFrame",
                   rules: MatchRules, as_of: datetime) -> CalendarMatch:
    """Match ``items`` (calendar items) to ``posts`` by :class:`MatchRules`, and judge each
    item at ``as_of`` (UTC)."""
    import polars as pl

    planned, published = _items(items, rules), _posts(posts)
    chosen = _greedy(_candidates(planned, published, rules.window))
    utc = pl.Datetime("us", "UTC")
    matched = (planned.join(chosen, on="_item", how="left")
               .join(published, on="_post", how="left"))
    late_by = (pl.col("p_published_at") - pl.col("_slot_end")).dt.total_seconds() / 3600
    found = pl.col("_post").is_not_null()
    due = pl.col("due_at") <= pl.lit(as_of, dtype=utc)
    outcome = (pl.when(found & (pl.col("p_published_at") <= pl.col("due_at"))).then(pl.lit(ON_TIME))
               .when(found).then(pl.lit(LATE))
               .when(due).then(pl.lit(MISSING))
               .otherwise(pl.lit(NOT_DUE)))
    window = _duration_words(rules.window)
    reason = (pl.when(pl.col("post_id").is_not_null())
              .then(pl.lit("its post ") + pl.col("post_id") + pl.lit(" is not among the posts read (deleted?)"))
              .otherwise(pl.lit(f"no post published within {window} of its planned time")))
    rule_names = pl.col("_rule").replace_strict({0: BY_POST_ID, 1: BY_URL, 2: BY_TIME}, default=None,
                                                return_dtype=pl.String)
    judged = matched.with_columns(outcome.alias("outcome")).select(
        "item_id", "outcome",
        pl.when(pl.col("outcome") == LATE).then(late_by).alias("delay_hours"),
        rule_names.alias("matched_by"),
        pl.col("p_platform").alias("post_platform"), pl.col("p_account").alias("post_account"),
        pl.col("p_post_id").alias("post_id_matched"), "due_at", "whole_day",
        pl.when(pl.col("outcome") == MISSING).then(reason).alias("reason"))
    unplanned = (published.filter(~pl.col("_post").is_in(chosen["_post"].implode()))
                 .select(pl.col("p_platform").alias("platform"), pl.col("p_account").alias("account"),
                         pl.col("p_post_id").alias("post_id")))
    return CalendarMatch(judged, unplanned)


def _duration_words(delta: timedelta) -> str:
    """``delta`` as a person writes it: ``3 days``, ``36 hours``, ``90 minutes``."""
    seconds = int(delta.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds % size == 0 and seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} seconds"
