"""The UTM checker: published posts whose links lack consistent UTM tags (``untagged_links``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from cmflow import (NONE_LABEL, REQUIRED_UTM, Metric, PluginOptions, aggregate, hookimpl, link_to_check,
                    measurement_rows, platform_of, utm_tags, utm_value)

if TYPE_CHECKING:
    import polars as pl

    from cmflow import MetricInput

LINK_PATTERN = r"(?i)\bhttps?://[^\s<>\"'`]+"
"""An address written in a post's text (trailing punctuation is dropped after)."""


PROBLEM_SENTENCES = {
    "no_tag": "no {value}",
    "wrong_source": "utm_source {value!r} does not name {expected}",
    "wrong_campaign": "utm_campaign {value!r} is not the post's campaign {expected!r}",
    "spellings": "utm_campaign {value!r} is one of several spellings: {expected}",
}
"""A link problem's code (the ``problem_code`` of a row) and its English sentence (the row's
``problem``, for alerts and the console), with its ``problem_value`` and ``problem_expected``."""


class LinkProblem(NamedTuple):
    """One UTM problem of a link: its code (a key of :data:`PROBLEM_SENTENCES`), the value at
    fault (the missing tag, the ``utm_source`` or ``utm_campaign`` given) and what was expected
    (the post's platform or campaign, the other spellings; None for a missing tag)."""

    code: str
    value: str
    expected: str | None = None

    @property
    def sentence(self) -> str:
        """The problem in English."""
        return PROBLEM_SENTENCES[self.code].format(value=self.value, expected=self.expected)


def link_problems(url: str, platform: str | None, campaign: str | None) -> list[LinkProblem] | None:
    """What is wrong with the UTM tags of ``url`` in a post of ``platform`` and ``campaign``:
    a list of problems (empty: nothing), or None for a link that is not checked (an address on
    a social platform, a short link whose tags sit behind a redirect, no address at all)."""
    if not link_to_check(url):
        return None
    tags = utm_tags(url)
    problems = [LinkProblem("no_tag", key) for key in REQUIRED_UTM if not tags.get(key)]
    source = tags.get("utm_source")
    if source and platform and platform_of(source) != platform:
        problems.append(LinkProblem("wrong_source", source, platform))
    given = tags.get("utm_campaign")
    if given and campaign and utm_value(given) != utm_value(campaign):
        problems.append(LinkProblem("wrong_campaign", given, campaign))
    return problems


class UntaggedLinks(Metric):
    """Published posts whose links lack UTM tags or carry inconsistent ones.

    The links of a post are its ``link`` and the http(s) addresses in its ``text``. A link to a
    social platform (the post's own permalink, a profile) and a short link (bit.ly, lnkd.in,
    t.co ...: cmflow does not follow redirects) are not checked. A checked link's problems:
    ``no utm_source`` / ``no utm_medium`` / ``no utm_campaign``; a ``utm_source`` that does not
    name the post's platform (``ig``, ``Instagram`` and ``instagram.com`` all name instagram);
    a ``utm_campaign`` that is not the post's ``campaign`` (compared as ``cmflow utm`` writes
    them: lower case, accents dropped, other characters ``-``); and, among the period's links,
    one campaign written several ways (``Soldes-Hiver`` beside ``soldes-hiver``: analytics count
    two campaigns), each spelling that is not the one ``cmflow utm`` writes.

    ``untagged_links``: one row per link problem, value 1, with the ``platform``, ``account``,
    ``post_id``, ``url`` and the problem (whatever ``by`` says): its ``problem_code``
    (``no_tag``, ``wrong_source``, ``wrong_campaign``, ``spellings``), ``problem_value`` (the
    missing tag, the source or campaign given), ``problem_expected`` (the post's platform or
    campaign, the other spellings) and ``problem``, the same in an English sentence (for alerts
    and the console; a report words the code in its language); ``posts_untagged``: the number
    of posts with at least one problem, per breakdown (0 where every link is tagged).
    """

    name = "untagged_links"
    description = "Published posts whose links lack utm_source, utm_medium or utm_campaign, or carry inconsistent ones."
    Options = PluginOptions
    needs = ("post",)
    groupings = ("overall", "client", "platform", "account", "format", "pillar", "campaign")
    row_dimensions = ("platform", "account", "post_id", "url", "problem", "problem_code", "problem_value",
                      "problem_expected")
    default_polarity = "down"

    def produces(self) -> dict[str, str]:
        return {"untagged_links": "links", "posts_untagged": "posts"}

    def compute(self, data: "MetricInput"):
        import polars as pl

        dims = sorted({d for group in data.grouping_sets for d in group})
        posts = data.records["post"]
        names = posts.collect_schema().names()
        text = lambda c: pl.col(c).cast(pl.String) if c in names else pl.lit(None, dtype=pl.String)  # noqa: E731
        keys = ["platform", "account", "post_id"]
        frame = posts.select(
            "period", *[pl.col(k).cast(pl.String) for k in keys],
            *[pl.col(d).cast(pl.String).fill_null(NONE_LABEL).alias(f"_by_{d}") for d in dims if d not in keys],
            text("campaign").alias("_campaign"),
            pl.concat_list(text("link").str.strip_chars(),
                           text("text").str.extract_all(LINK_PATTERN).fill_null([])).alias("url"),
        ).collect()
        links = (frame.explode("url")
                 .with_columns(pl.col("url").str.strip_chars_end(".,;:!?)]}»"))
                 .filter(pl.col("url").is_not_null() & (pl.col("url") != ""))
                 .unique(["period", *keys, "url"], maintain_order=True))
        problems = self._problems(links)
        renamed = {f"_by_{d}": d for d in dims if d not in keys}
        flagged = frame.select("period", *keys).join(
            problems.select("period", *keys).unique().with_columns(pl.lit(1).alias("_untagged")),
            on=["period", *keys], how="left", nulls_equal=True)
        per_post = frame.rename(renamed).with_columns(flagged["_untagged"].fill_null(0))
        counts = aggregate(per_post, data.grouping_sets, [pl.col("_untagged").sum().alias("_count")],
                           periods=[p.label for p in data.periods])
        rows = problems.rename(renamed).drop("_campaign", strict=False)
        problem_columns = ["problem", "problem_code", "problem_value", "problem_expected"]
        listed = measurement_rows(rows.select("period", *keys, "url", *problem_columns), metric="untagged_links",
                                  unit="links", value=pl.lit(1), extra_dimensions=["url", *problem_columns]) \
            if rows.height else pl.DataFrame()
        return pl.concat([listed, measurement_rows(counts, metric="posts_untagged", unit="posts",
                                                   value=pl.col("_count").fill_null(0))], how="diagonal_relaxed")

    @staticmethod
    def _problems(links: "pl.DataFrame") -> "pl.DataFrame":
        """One row per (post, link, problem); each distinct link of a platform and campaign is
        parsed once."""
        import polars as pl

        distinct = links.select("url", "platform", "_campaign").unique()
        checked = [link_problems(url, platform, campaign if campaign != NONE_LABEL else None)
                   for url, platform, campaign in distinct.iter_rows()]
        spelled = [utm_tags(url).get("utm_campaign") or None if found is not None else None
                   for (url, _, _), found in zip(distinct.iter_rows(), checked)]
        problem_type = pl.Struct({"problem_code": pl.String, "problem_value": pl.String, "problem_expected": pl.String})
        found = distinct.with_columns(
            pl.Series("problem", [[{"problem_code": p.code, "problem_value": p.value, "problem_expected": p.expected}
                                   for p in found or []] for found in checked], dtype=pl.List(problem_type)),
            pl.Series("_spelling", spelled, dtype=pl.String),
            pl.Series("_slug", [utm_value(s) if s else None for s in spelled], dtype=pl.String))
        rows = links.join(found, on=["url", "platform", "_campaign"], how="left", nulls_equal=True)
        # One campaign written several ways among the period's links: each spelling but cmflow utm's.
        spellings = (rows.filter(pl.col("_spelling").is_not_null())
                     .group_by("period", "_slug").agg(pl.col("_spelling").unique().sort().alias("_variants")))
        rows = rows.join(spellings, on=["period", "_slug"], how="left", nulls_equal=False)
        variant = (pl.col("_variants").list.len() > 1) & (pl.col("_spelling") != pl.col("_slug"))
        spelling = pl.struct(pl.lit("spellings").alias("problem_code"), pl.col("_spelling").alias("problem_value"),
                             pl.col("_variants").list.join(", ").alias("problem_expected"))
        rows = rows.with_columns(
            pl.when(variant.fill_null(False))
            .then(pl.col("problem").list.concat(pl.concat_list(spelling)))
            .otherwise(pl.col("problem")).alias("problem"))
        rows = (rows.explode("problem").filter(pl.col("problem").is_not_null()).drop("_spelling", "_slug", "_variants")
                .unnest("problem"))
        sentences = [LinkProblem(*problem).sentence for problem in
                     rows.select("problem_code", "problem_value", "problem_expected").iter_rows()]
        return rows.with_columns(pl.Series("problem", sentences, dtype=pl.String))


@hookimpl
def register_metrics(register):
    register(UntaggedLinks)
