"""Which records a metric counts an account's figures from: its posts, or its daily activity.

Some accounts come with a list of posts (an API, Meta's post exports), others only with what
happened on the account each day (TikTok Studio's overview, LinkedIn's Metrics sheet:
``account_activity`` records). A metric with a ``view`` option reads

- ``"posts"``: posts only;
- ``"activity"``: daily account activity only;
- ``"auto"`` (the default): for each account, its posts if the run has post records of that
  account in any period (so a week without posts does not switch to activity), or a list of
  its posts, even an empty one (activity records marked ``posts_listed``: LinkedIn's content
  workbook with its ``All posts`` sheet), otherwise its activity records. An account is never
  counted twice.

A row grouping several accounts (overall, per platform) adds up each account's figures from its
own view, as a community manager compiling the exports by hand does, and a rate is the ratio of
those sums. Each measurement says which view it comes from in its ``basis`` column: ``posts``,
``activity`` or ``posts+activity`` (a group mixing both). Breakdowns by a post attribute
(format, pillar, campaign) read posts only: activity has no format.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Literal, Mapping, Sequence

from pydantic import Field

from cmflow import COUNTERS, Aggregate, Metric, PluginOptions, SharesAggregates

from cmflow.builtin.metrics.common import counters_text, no_post_counters

if TYPE_CHECKING:
    import polars as pl

    from cmflow import MetricInput

View = Literal["auto", "posts", "activity"]
POSTS, ACTIVITY, BOTH = "posts", "activity", "posts+activity"
VIEW_COUNTERS = (*COUNTERS, "profile_views")
"""The counters of view rows as the view metrics share them (:func:`view_aggregates`): every
post counter, and profile views (daily activity only); a column is only read where used."""
POST_ONLY_DIMENSIONS = frozenset({"format", "pillar", "campaign", "post_id"})
"""Breakdowns that only posts have: groups by them read posts only."""
ACCOUNT = ["platform", "account"]
BASIS_COLUMN = "_basis"
"""The column of a group's :func:`basis` in the rows of :func:`with_view_history`."""


class ViewOptions(PluginOptions):
    view: View = Field(
        "auto", description="Which records to count: posts, activity (daily account activity: "
        "TikTok Studio's overview, LinkedIn's Metrics sheet) or auto: for each account, its posts "
        "if the run has any, else its activity. Groups of accounts add up each account's figures "
        "from its own view.")


class ViewMetric(SharesAggregates, Metric):
    """A metric that reads posts or daily account activity, per account, as ``view`` says.

    Its groupings of the view rows are shared with the run's other view metrics
    (:func:`view_aggregates`): the posts are grouped once per run, not once per metric."""

    Options = ViewOptions
    needs = ()
    needs_any = ("post", "account_activity")
    # brand: the posts of the accounts a [listen] brand or competitor lists (the benchmark).
    groupings = (*Metric.groupings, "brand")

    def needed_records(self) -> list[tuple[str, ...]]:
        chosen = {"posts": ("post",), "activity": ("account_activity",)}.get(self.options.view, self.needs_any)
        return [(kind,) for kind in self.needs] + [tuple(chosen)]


def view_rows(data: "MetricInput", view: str, counters: Sequence[str]) -> "pl.LazyFrame":
    """Posts and activity records of the chosen view, as one frame: period, platform, account,
    the post breakdowns (empty for activity), ``counters`` (empty where a kind has no such
    field) and ``_post`` (true for a post, false for a day of activity)."""
    import polars as pl

    # A run without activity records (the usual case) reads its posts as it always has.
    with_activity = view == ACTIVITY or (view == "auto" and _has_rows(data.all_records["account_activity"]))
    frames = []
    if view != ACTIVITY:
        frames.append(_select(data.records["post"], True, counters, ("format", "pillar", "campaign")))
    if with_activity:
        activity = data.records["account_activity"]
        if view == "auto":
            # An account with posts in any period, or an (empty) list of them, is counted from its posts.
            listed = _listed_accounts(data.all_records["account_activity"])
            with_posts = pl.concat([data.all_records["post"].select(ACCOUNT), listed], how="vertical_relaxed").unique()
            if _has_rows(with_posts):
                frames.append(_list_markers(activity.join(listed, on=ACCOUNT, how="semi"), counters))
                activity = activity.join(with_posts, on=ACCOUNT, how="anti")
        frames.append(_select(activity, False, counters, ()))
    return frames[0] if len(frames) == 1 else pl.concat(frames, how="diagonal_relaxed")


def _listed_accounts(activity: "pl.LazyFrame") -> "pl.LazyFrame":
    """The accounts whose activity records say the export also held their list of posts."""
    import polars as pl

    if "posts_listed" not in activity.collect_schema().names():
        return activity.select(ACCOUNT).head(0)
    return activity.filter(pl.col("posts_listed") == 1).select(ACCOUNT).unique()


def _list_markers(activity: "pl.LazyFrame", counters: Sequence[str]) -> "pl.LazyFrame":
    """A row per period of an account whose post list is known, neither post nor activity
    (``_post`` empty, no counter): its groups exist in that period, with 0 posts, and add
    nothing to any counter."""
    import polars as pl

    return (activity.select("period", *ACCOUNT).unique()
            .with_columns(*[pl.lit(None, dtype=pl.Int64).alias(c) for c in counters],
                          pl.lit(None, dtype=pl.Boolean).alias("_post")))


def _has_rows(frame: "pl.LazyFrame") -> bool:
    import polars as pl

    return frame.select(pl.len()).collect().item() > 0


def _select(frame: "pl.LazyFrame", post: bool, counters: Sequence[str], breakdowns: Sequence[str]) -> "pl.LazyFrame":
    import polars as pl

    columns = frame.collect_schema().names()
    return frame.select(
        "period", *ACCOUNT, *[c for c in breakdowns if c in columns],
        *[pl.col(c) if c in columns else pl.lit(None, dtype=pl.Int64).alias(c) for c in counters],
        pl.lit(post).alias("_post"),
    )


def is_post() -> "pl.Expr":
    """True on the rows of a view frame that are posts (false: a day of account activity)."""
    import polars as pl

    return pl.col("_post")


def view_counts() -> list["pl.Expr"]:
    """Aggregations counting a group's rows of each view (add them to :func:`aggregate`'s)."""
    return [is_post().sum().alias("_from_posts"), (~is_post()).sum().alias("_from_activity")]


def for_dimensions(rows: "pl.LazyFrame", dims: Sequence[str]) -> "pl.LazyFrame":
    """The rows a group by ``dims`` reads: posts only when a dimension is a post attribute."""
    return rows.filter(is_post()) if POST_ONLY_DIMENSIONS & set(dims) else rows


def view_rows_of(data: "MetricInput", view: str) -> tuple[str, "pl.LazyFrame"]:
    """The view rows every view metric of ``view`` reads (:func:`view_rows` with
    :data:`VIEW_COUNTERS`), and their name as an :class:`cmflow.Aggregate` names rows."""
    return f"view_rows:{view}", view_rows(data, view, VIEW_COUNTERS)


def view_aggregates(data: "MetricInput", view: str, aggregations: Sequence["pl.Expr"],
                    columns: "Mapping[str, pl.Expr] | None" = None) -> dict[str, Aggregate]:
    """For each grouping set of ``data``, the view rows grouped by period and the set, every
    group in every period, with ``aggregations`` and the counts :func:`basis` and
    :func:`no_records_reason` read (``columns``: see :attr:`cmflow.Aggregate.columns`);
    :func:`from_view_aggregates` makes them one frame."""
    name, rows = view_rows_of(data, view)
    return {_by_name(dims): Aggregate(name, for_dimensions(rows, dims), tuple(dims),
                                      (*aggregations, *view_counts()), dict(columns or {}), every_period=True)
            for dims in data.grouping_sets}


def from_view_aggregates(data: "MetricInput", grouped: "Mapping[str, pl.DataFrame]") -> "pl.DataFrame":
    """The frames of :func:`view_aggregates`, each with :func:`with_view_history`, as one frame."""
    import polars as pl

    parts = [with_view_history(grouped[_by_name(dims)], dims) for dims in data.grouping_sets]
    return pl.concat(parts, how="diagonal_relaxed") if parts else pl.DataFrame()


def _by_name(dims: Sequence[str]) -> str:
    return "by:" + ",".join(dims)


def with_view_history(part: "pl.DataFrame", dims: Sequence[str]) -> "pl.DataFrame":
    """Add, to the rows of one grouping set, how many rows of each view the group has over
    every period (a week without records still says which view the series is counted from),
    and its :func:`basis`, computed once here for every expression reading it."""
    return part.with_columns(*_view_history_columns(tuple(dims)))


@functools.cache
def _view_history_columns(dims: tuple[str, ...]) -> tuple["pl.Expr", ...]:
    """:func:`with_view_history`'s columns for a grouping set: the same expressions every run,
    so built once per process (building a Polars expression costs more than running it on
    a small run's few groups)."""
    import polars as pl

    def ever(column: str) -> "pl.Expr":
        total = pl.col(column).fill_null(0).sum()
        return total.over(list(dims)) if dims else total

    def pick(posts: "pl.Expr", activity: "pl.Expr") -> "pl.Expr":
        return (pl.when(posts & activity).then(pl.lit(BOTH)).when(posts).then(pl.lit(POSTS))
                .when(activity).then(pl.lit(ACTIVITY)))

    now = pick(pl.col("_from_posts").fill_null(0) > 0, pl.col("_from_activity").fill_null(0) > 0)
    ever_posts, ever_activity = ever("_from_posts"), ever("_from_activity")
    return (ever_posts.alias("_ever_from_posts"), ever_activity.alias("_ever_from_activity"),
            pl.coalesce(now, pick(ever_posts > 0, ever_activity > 0)).alias(BASIS_COLUMN))


def basis() -> "pl.Expr":
    """``posts``, ``activity`` or ``posts+activity``: what the group's figures of the period come
    from (for a period without records: what the series' other periods come from); the column
    :func:`with_view_history` adds, so that the many expressions reading it (a reason per view)
    do not each compute it again."""
    import polars as pl

    return pl.col(BASIS_COLUMN)


@functools.cache
def by_basis(posts: str, activity: str, both: str) -> "pl.Expr":
    """One of three texts, as the row's :func:`basis` says (posts when unknown)."""
    import polars as pl

    return (pl.when(basis() == ACTIVITY).then(pl.lit(activity))
            .when(basis() == BOTH).then(pl.lit(both)).otherwise(pl.lit(posts)))


@functools.cache
def no_records_reason() -> "pl.Expr":
    """"no posts in this period" (or activity) when the group has no record in the period."""
    import polars as pl

    records = pl.col("_from_posts").fill_null(0) + pl.col("_from_activity").fill_null(0)
    return pl.when(records == 0).then(by_basis("no posts in this period", "no activity in this period",
                                               "no posts or activity in this period"))


@functools.cache
def no_counters_reason(*counters: str) -> "pl.Expr":
    """Why a sum of ``counters`` has no value when no record of the group reports any of them:
    ``no post reports likes, comments, shares or saves`` (or activity record, as :func:`basis` says)."""
    text = counters_text(*counters)
    return by_basis(no_post_counters(*counters), f"no activity record reports {text}",
                    f"no post or activity record reports {text}")
