"""Influencer candidates: the authors of the period's mentions ranked by a documented score of
reach, engagement, activity on the topic and relevance (``influencer_candidates``), with the evidence behind
each rank. The score and a worked example are in docs/concepts.md ("Influencer candidates").
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from pydantic import Field

from cmflow import BRANDS_COLUMN, Metric, PluginOptions, WholeNumber, hookimpl, measurement_rows, normalised_authors

if TYPE_CHECKING:
    import polars as pl

    from cmflow import MetricInput

EVIDENCE = {"influencer_mentions": "mentions", "influencer_audience": "people", "influencer_engagement": "interactions",
            "influencer_relevance": "%"}
"""The measurements that carry a candidate's evidence, beside its score, with their units."""


class InfluencerCandidatesOptions(PluginOptions):
    n: WholeNumber = Field(10, ge=1, le=100, description="How many authors to keep per group.", examples=[5])
    min_mentions: WholeNumber = Field(1, ge=1, examples=[2],
                                      description="Fewest mentions of the period an author needs to be ranked.")
    exclude_authors: list[str] = Field(
        default_factory=list, description="Handles never ranked (the brand's team, agencies), compared without "
        "case, accents or a leading @; the accounts [listen] brands list are always left out.",
        examples=[["@lea.cm", "maisonlumiere"]])


class InfluencerCandidates(Metric):
    """The authors of the period's mentions of the watched brands, ranked as influencer candidates.

    For each author (handle compared without case, accents or a leading ``@``), over the
    period's mentions: ``mentions`` (how many), ``audience`` (the largest known ``reach`` of
    their mentions: sources give the author's followers there; unknown: no value),
    ``engagement`` (the interactions their mentions drew: the sum of the known ``likes``,
    ``comments`` and ``shares`` of their mentions, which X, Bluesky search, Mastodon and exports
    with such columns give; none known: no value), and ``relevance`` = their mentions naming a
    watched brand that are not negative / all their mentions × 100 (a mention without sentiment
    counts as not negative; without ``[listen]`` every mention is on the topic). Then::

        score = relevance / 100 × (log10(1 + audience) + log10(1 + mentions) + log10(1 + engagement))

    An unknown audience or engagement adds 0. Authors with a score of 0 (every mention negative) are not
    ranked, nor the accounts the ``[listen]`` brands list, nor ``exclude_authors``. Rows are
    ranked by score, then audience, then handle; each carries ``author``, ``rank``,
    ``ranked_within`` and ``example_url`` (their most read relevant mention), with the score as
    ``influencer_score`` and the evidence as ``influencer_mentions``, ``influencer_audience``,
    ``influencer_engagement`` and ``influencer_relevance`` rows of the same author and rank.
    """

    name = "influencer_candidates"
    default_polarity = "neutral"  # a ranking: its values are the authors' scores
    description = "Authors of the period's mentions ranked by reach, engagement, activity and relevance, with the evidence."
    Options = InfluencerCandidatesOptions
    needs = ("mention",)
    groupings = ("overall", "brand", "platform")
    row_dimensions = ("author",)
    unit = "score"

    def produces(self) -> dict[str, str]:
        return {"influencer_score": "score", **EVIDENCE}

    def compute(self, data: "MetricInput"):
        import polars as pl

        options: InfluencerCandidatesOptions = self.options
        frame = data.records["mention"].collect()
        left_out = set(normalised_authors(pl.Series([*data.watched_accounts, *options.exclude_authors],
                                                    dtype=pl.String)).drop_nulls().to_list())
        names = frame.columns
        negative = (pl.col("sentiment").str.strip_chars().str.to_lowercase() == "negative").fill_null(False) \
            if "sentiment" in names else pl.lit(False)
        on_topic = (pl.col(BRANDS_COLUMN).list.len() > 0) if BRANDS_COLUMN in names else pl.lit(True)
        counters = [pl.col(c) for c in ("likes", "comments", "shares") if c in names]
        interactions = (pl.when(pl.any_horizontal(c.is_not_null() for c in counters))
                        .then(pl.sum_horizontal(counters)) if counters else pl.lit(None)).cast(pl.Int64)
        mentions = frame.with_columns(normalised_authors(frame["author"]).alias("author_handle")).filter(
            pl.col("author_handle").is_not_null() & ~pl.col("author_handle").is_in(list(left_out))
        ).with_columns((on_topic & ~negative).alias("_relevant"), interactions.alias("_interactions"))
        parts = []
        for dims in data.grouping_sets:
            group = ["period", *[str(d) for d in dims]]
            example = (pl.col("url").filter(pl.col("_relevant") & pl.col("url").is_not_null())
                       .sort_by(pl.col("reach").filter(pl.col("_relevant") & pl.col("url").is_not_null())
                                .fill_null(-1), descending=True).first())
            authors = mentions.group_by([*group, "author_handle"]).agg(
                pl.len().alias("_mentions"), pl.col("reach").max().alias("_audience"),
                pl.when(pl.col("_interactions").is_not_null().any()).then(pl.col("_interactions").sum())
                .alias("_engagement"),
                pl.col("_relevant").sum().alias("_relevant"), example.alias("example_url"))
            scored = authors.with_columns(
                (pl.col("_relevant") / pl.col("_mentions") * 100).alias("_relevance")).with_columns(
                (pl.col("_relevance") / 100 * (pl.col("_audience").cast(pl.Float64).log1p().fill_null(0)
                                               + pl.col("_mentions").cast(pl.Float64).log1p()
                                               + pl.col("_engagement").cast(pl.Float64).log1p().fill_null(0))
                 / math.log(10))
                .alias("_score"))
            ranked = (scored.filter((pl.col("_mentions") >= options.min_mentions) & (pl.col("_score") > 0))
                      .sort(["_score", "_audience", "author_handle"], descending=[True, True, False], nulls_last=True)
                      .with_columns(pl.int_range(1, pl.len() + 1).over(group).alias("rank"))
                      .filter(pl.col("rank") <= options.n)
                      .with_columns(pl.lit("+".join(dims) or "overall").alias("ranked_within"),
                                    pl.col("author_handle").alias("author")))
            parts.append(ranked)
        rows = pl.concat(parts, how="diagonal_relaxed") if parts else pl.DataFrame()
        if rows.height == 0:
            return rows
        extra = ["author", "ranked_within", "example_url"]
        evidence = {"influencer_mentions": pl.col("_mentions"), "influencer_audience": pl.col("_audience"),
                    "influencer_engagement": pl.col("_engagement"), "influencer_relevance": pl.col("_relevance")}
        unknown = {"influencer_audience": "no mention of the author has a known reach",
                   "influencer_engagement": "no mention of the author carries likes, comments or shares"}
        return pl.concat([
            measurement_rows(rows, metric="influencer_score", unit="score", value=pl.col("_score"),
                             extra_dimensions=extra),
            *[measurement_rows(rows, metric=metric, unit=EVIDENCE[metric], value=value, extra_dimensions=extra,
                               reason=pl.lit(unknown.get(metric)))
              for metric, value in evidence.items()]], how="diagonal_relaxed")


@hookimpl
def register_metrics(register):
    register(InfluencerCandidates)
