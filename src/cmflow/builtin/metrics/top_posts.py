"""Top N / bottom N posts of the period by a post-level metric."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field

from cmflow import COUNTERS, Metric, PluginOptions, WholeNumber, hookimpl, measurement_rows, ratio

from cmflow.builtin.metrics.common import ENGAGEMENT_COUNTERS, IMPRESSION_COUNTERS, interactions, reporting_column

if TYPE_CHECKING:
    from cmflow import MetricInput

RANKABLE = ("engagement_rate_by_reach", "engagement_rate_by_impressions", "interactions", *COUNTERS)


class TopPostsOptions(PluginOptions):
    rank_by: Literal[RANKABLE] = Field(  # type: ignore[valid-type]
        "engagement_rate_by_reach", description="Post-level value to rank by: "
        "engagement_rate_by_reach, engagement_rate_by_impressions, interactions or a counter.")
    n: WholeNumber = Field(5, ge=1, le=100, description="How many posts to keep per group.")
    direction: Literal["top", "bottom"] = Field(
        "top", description="top: highest first (measurement top_posts); bottom: lowest first "
        "(measurement bottom_posts).")
    min_reach: WholeNumber = Field(0, ge=0, description="Leave out posts that reached fewer people, so a "
                                   "post seen by 12 people does not top an ERR ranking.", examples=[500])


class TopPosts(Metric):
    """Ranks the period's posts within each group; each kept post is a measurement with a rank.

    Rows carry ``post_id``, ``platform``, ``account``, ``rank`` (1 = best for ``top``, worst
    for ``bottom``) and ``ranked_within`` (``overall``, ``platform+account`` ...); posts without a value for ``rank_by`` are not ranked (a post that reports none of the counters an interaction-based ``rank_by`` adds up has none). Ties keep the earlier post.
    """

    name = "top_posts"
    default_polarity = "neutral"  # a ranking: its values are the ranked posts' figures
    description = "Top or bottom N posts of the period by ERR, interactions or any counter."
    Options = TopPostsOptions
    row_dimensions = ("platform", "account", "post_id")

    def produces(self) -> dict[str, str]:
        return {f"{self.options.direction}_posts": self._unit()}

    def _unit(self) -> str:
        return "%" if self.options.rank_by.startswith("engagement_rate") else "count"

    def compute(self, data: MetricInput):
        import polars as pl

        options: TopPostsOptions = self.options
        def reported(counters: tuple[str, ...], value: "pl.Expr") -> "pl.Expr":
            """``value`` for a post that reports one of ``counters`` at least; none for a post that
            reports none (nothing was measured: it is not ranked as 0)."""
            return pl.when(reporting_column(*counters)[1] == 1).then(value)

        values = {
            "engagement_rate_by_reach": reported(ENGAGEMENT_COUNTERS, ratio(interactions(*ENGAGEMENT_COUNTERS),
                                                                               pl.col("reach"))),
            "engagement_rate_by_impressions": reported(IMPRESSION_COUNTERS, ratio(interactions(*IMPRESSION_COUNTERS),
                                                                                     pl.col("impressions"))),
            "interactions": reported(ENGAGEMENT_COUNTERS, interactions(*ENGAGEMENT_COUNTERS)),
        }
        value = values.get(options.rank_by, pl.col(options.rank_by))
        posts = data.records["post"].with_columns(_value=value.cast(pl.Float64))
        if options.min_reach:
            posts = posts.filter(pl.col("reach").fill_null(0) >= options.min_reach)
        posts = posts.filter(pl.col("_value").is_not_null())
        descending = options.direction == "top"
        parts = []
        for dims in data.grouping_sets:
            group = ["period", *dims]
            ranked = (posts.sort(["_value", "published_at"], descending=[descending, False])
                      .with_columns(pl.int_range(1, pl.len() + 1).over(group).alias("rank"))
                      .filter(pl.col("rank") <= options.n)
                      .select(*group, *[c for c in ("platform", "account", "post_id") if c not in dims],
                              "_value", "rank", pl.lit("+".join(dims) or "overall").alias("ranked_within")))
            parts.append(ranked.collect())
        rows = pl.concat(parts, how="diagonal_relaxed")
        return measurement_rows(rows, metric=f"{options.direction}_posts", unit=self._unit(),
                                value=pl.col("_value"), extra_dimensions=["ranked_within"], basis="posts")


@hookimpl
def register_metrics(register):
    register(TopPosts)
