"""Listening metrics over the mentions a workflow's ``[listen]`` watches (the watch stage labels
each with the brands it names, its ``brands``): ``share_of_voice`` (each brand's part of all the
watched brands' mentions, or of their reach), ``mention_reach`` (the audience of the mentions) and
``top_hashtags`` (the period's most used hashtags). Formulas and a worked example are in
docs/concepts.md; the mention volume per brand is ``mentions`` with ``by = ["brand"]``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field

from cmflow import (BRANDS_COLUMN, Metric, PluginOptions, UserFacingError, WholeNumber, aggregate, folded_text,
                    hookimpl, measurement_rows, ratio)

if TYPE_CHECKING:
    import polars as pl

    from cmflow import MetricInput

class NoListenSection(UserFacingError):
    """A listening metric runs in a workflow whose mentions name no brand."""


def mentions_with_brands(data: "MetricInput", metric: str) -> "pl.LazyFrame":
    """The period-labelled mentions, which must carry ``brands`` (none when there are no
    mentions at all); else :class:`NoListenSection`."""
    import polars as pl

    frame = data.records["mention"]
    if BRANDS_COLUMN not in frame.collect_schema().names():
        if frame.select(pl.len()).collect().item() == 0:
            return frame.with_columns(pl.lit([], dtype=pl.List(pl.String)).alias(BRANDS_COLUMN))
        raise NoListenSection(f"{metric} compares the brands a [listen] section watches, and the workflow has "
                              "none: add [listen] with the brand and its competitors (docs/workflow-file.md)")
    return frame


def mention_per_brand(frame: "pl.LazyFrame") -> "pl.LazyFrame":
    """One row per mention and brand it names (a ``brand`` column); mentions naming none left out."""
    import polars as pl

    return frame.with_columns(pl.col(BRANDS_COLUMN).alias("brand")).explode("brand").filter(pl.col("brand").is_not_null())


class ShareOfVoiceOptions(PluginOptions):
    weight: Literal["mentions", "reach"] = Field(
        "mentions", description="mentions: each brand's mentions over all the watched brands' mentions "
        "(measurement share_of_voice); reach: the reach of its mentions over theirs, the mentions of unknown "
        "reach left out of both (share_of_voice_by_reach).")


class ShareOfVoice(Metric):
    """Each watched brand's share of the period's mentions of all the watched brands, in %.

    Every row is one brand's (``brand``); ``by = ["platform"]`` adds each platform's shares. A
    mention naming two brands counts once for each, so the shares of a period add up to 100.
    Every watched brand has a row, 0 % where it has no mention and the others have some: the
    brands of a client are compared with each other (the other brands of the client of one
    the mentions name), the brands of no client likewise. With several own brands
    (``[[listen.brands]]``), each share is of its set alone: a client's own brand and that
    client's competitors add up to 100. A period (or platform) where no watched brand (of the
    set) is mentioned has no value.
    """

    name = "share_of_voice"
    # Neither: a polarity is the measurement's, and a competitor's rows rising is the brand's falling.
    default_polarity = "neutral"
    description = "Share of voice: each watched brand's part of the mentions of all the brands watched, in %."
    Options = ShareOfVoiceOptions
    needs = ("mention",)
    groupings = ("overall", "platform")
    row_dimensions = ("brand",)
    unit = "%"

    def produces(self) -> dict[str, str]:
        return {self._measurement(): "%"}

    def _measurement(self) -> str:
        return "share_of_voice_by_reach" if self.options.weight == "reach" else "share_of_voice"

    def compute(self, data: MetricInput):
        import polars as pl

        by_reach = self.options.weight == "reach"
        mentions = mention_per_brand(mentions_with_brands(data, self.name))
        if by_reach:
            mentions = mentions.filter(pl.col("reach").is_not_null())
        weight = pl.col("reach").sum() if by_reach else pl.len()
        rows = aggregate(mentions, [("brand", *dims) for dims in data.grouping_sets],
                         [weight.cast(pl.Float64).alias("weight")], periods=[p.label for p in data.periods])
        seen = set(rows["brand"].drop_nulls().to_list()) if rows.height else set()
        compared = [brand for brands in data.brand_sets if seen.intersection(brands) for brand in brands]
        if compared:  # every brand of a set the mentions name has a row, 0 where none mentions it
            groups = rows.drop("brand", "weight").unique()
            watched = pl.DataFrame({"brand": compared}, schema={"brand": rows.schema["brand"]})
            rows = groups.join(watched, how="cross").join(rows, on=[*groups.columns, "brand"], how="full",
                                                            nulls_equal=True, coalesce=True)
        within = ["period", *[c for c in rows.columns if c not in ("period", "brand", "weight")]]
        if data.share_sets:  # several own brands: each client's own brand against its competitors
            share_set = {brand: str(index) for index, brands in enumerate(data.share_sets) for brand in brands}
            rows = rows.with_columns(pl.col("brand").cast(pl.String).replace_strict(share_set, default=None)
                                     .alias("_share_set"))
            within.append("_share_set")
        total = pl.col("weight").fill_null(0).sum().over(within, mapping_strategy="group_to_rows")
        what = "mention of known reach" if by_reach else "mention"
        return measurement_rows(  # keeps the dimensions only: _share_set is left out
            rows, metric=self._measurement(), unit="%",
            value=ratio(pl.col("weight").fill_null(0), total),
            reason=pl.when(total == 0).then(pl.lit(f"no {what} of a watched brand in this period")))


class MentionReach(Metric):
    """The reach of the period's mentions: the sum of their estimated audiences.

    Mentions whose reach is not known (most feeds give none) add nothing; a group none of whose
    mentions has a reach has no value, never 0. ``by = ["brand"]``: the reach of the mentions
    naming each brand.
    """

    name = "mention_reach"
    default_polarity = "neutral"  # a wide reach may be good or bad news
    description = "Reach of the mentions: the sum of their estimated audiences (where known)."
    needs = ("mention",)
    groupings = ("overall", "brand", "platform")
    unit = "people"

    def compute(self, data: MetricInput):
        import polars as pl

        rows = aggregate(data.records["mention"], data.grouping_sets,
                         [pl.col("reach").sum().alias("reach"), pl.col("reach").count().alias("known"),
                          pl.len().alias("mentions")], periods=[p.label for p in data.periods])
        unknown = pl.col("known").fill_null(0) == 0
        return measurement_rows(rows, metric=self.name, unit=self.unit,
                                value=pl.when(unknown).then(None).otherwise(pl.col("reach")),
                                reason=pl.when(pl.col("mentions").fill_null(0) == 0)
                                .then(pl.lit("no mention in this period"))
                                .when(unknown).then(pl.lit("no mention of the period has a known reach")))


LINK = r"(?i)\b(?:https?://|www\.)\S+"
"""A link in a text: its ``#fragment`` is no hashtag."""
HASHTAG = r"(?:^|[^\w/&])#\w+"
"""A hashtag with the character before it: none, or not a word character, ``/`` or ``&``
(``abc#1``, ``/p#top`` and the entity ``&#39;`` are not hashtags)."""


class TopHashtagsOptions(PluginOptions):
    n: WholeNumber = Field(10, ge=1, le=100, description="How many hashtags to keep per group.")


class TopHashtags(Metric):
    """The period's most used hashtags in mentions, ranked by the number of mentions holding them.

    Hashtags are told apart without case or accents (``#Lumière`` and ``#lumiere`` are one, shown
    folded: ``#lumiere``); a mention counts once per hashtag however often it repeats it. Rows
    carry ``hashtag``, ``rank`` (1 = most used; ties by name) and ``ranked_within``. Links are
    dropped first (a ``#fragment`` is no hashtag), and a ``#`` after a word character, ``/`` or
    ``&`` (an entity such as ``&#39;``) starts none.
    """

    name = "top_hashtags"
    default_polarity = "neutral"
    description = "The period's most used hashtags in mentions, ranked by the number of mentions holding them."
    Options = TopHashtagsOptions
    needs = ("mention",)
    groupings = ("overall", "brand", "platform")
    row_dimensions = ("hashtag",)
    unit = "mentions"

    def compute(self, data: MetricInput):
        import polars as pl

        mentions = data.records["mention"].with_row_index("_mention")
        tags = (pl.col("text").str.replace_all(LINK, " ").str.extract_all(HASHTAG)
                .list.eval(pl.element().str.replace(r"^[^#]+", "")))  # the character before the # dropped
        tagged = (mentions.with_columns(tags.alias("_tags"))
                  .explode("_tags").filter(pl.col("_tags").is_not_null()).collect())
        spellings = tagged["_tags"].unique().to_list()
        tagged = tagged.with_columns(pl.col("_tags").replace_strict({t: folded_text(t) for t in spellings},
                                                                    return_dtype=pl.String).alias("hashtag"))
        tagged = tagged.unique(subset=["_mention", "hashtag"])
        parts = []
        for dims in data.grouping_sets:
            group = ["period", *dims]
            counted = tagged.group_by([*group, "hashtag"]).agg(pl.len().alias("_count"))
            ranked = (counted.sort(["_count", "hashtag"], descending=[True, False])
                      .with_columns(pl.int_range(1, pl.len() + 1).over(group).alias("rank"))
                      .filter(pl.col("rank") <= self.options.n)
                      .with_columns(pl.lit("+".join(dims) or "overall").alias("ranked_within")))
            parts.append(ranked)
        rows = pl.concat(parts, how="diagonal_relaxed")
        if rows.height == 0:
            return rows
        return measurement_rows(rows, metric=self.name, unit=self.unit, value=pl.col("_count"),
                                extra_dimensions=["hashtag", "ranked_within"])


@hookimpl
def register_metrics(register):
    register(ShareOfVoice)
    register(MentionReach)
    register(TopHashtags)
