"""Suspicious activity in the period's mentions (``suspicious_mentions``): bursts of near-identical
texts from many authors, and authors with no history, each with its evidence, never a bare label.
The heuristics and a worked example are in docs/concepts.md ("Suspicious activity").
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from pydantic import Field

from cmflow import (Metric, Number, PluginOptions, PositiveDuration, WholeNumber, hookimpl, measurement_rows,
                    normalised_authors, normalised_texts)

if TYPE_CHECKING:
    import polars as pl

    from cmflow import MetricInput

WORD = re.compile(r"\w+")
SHINGLE_WORDS = 3
"""A text is compared as the set of its runs of 3 consecutive words (shingles)."""
EXAMPLES = 3
"""How many example URLs a row carries."""
SHOWN_AUTHORS = 10
"""How many author handles a burst's row names."""


class SuspiciousMentionsOptions(PluginOptions):
    similarity: Number = Field(0.8, gt=0, le=1, description="Two texts are near-identical when the Jaccard "
                               "similarity of their 3-word shingles (folded, links and punctuation dropped) is at "
                               "least this.", examples=[0.9])
    window: PositiveDuration = Field(timedelta(hours=1), description="How far apart two consecutive mentions of a "
                                     "burst may be, and the span its authors are counted in (e.g. \"1h\", \"30m\").",
                                     examples=["30m"])
    min_authors: WholeNumber = Field(5, ge=2, description="Fewest distinct authors of near-identical texts within the "
                                     "window that make a burst.", examples=[8])
    min_words: WholeNumber = Field(5, ge=1, description="Texts shorter than this (in words) are never compared: "
                                   "\"Maison Lumière ❤️\" from many people is no campaign.", examples=[6])
    new_author_max_audience: WholeNumber = Field(
        50, ge=0, description="An author first seen this period is listed when their known audience (largest "
        "reach of their mentions) is at most this, or when they took part in a burst.", examples=[100])
    n: WholeNumber = Field(10, ge=1, le=100, description="How many bursts and how many new authors to keep per group.")


def shingles(text: str) -> frozenset[str]:
    """The 3-word shingles of a normalised text (the text itself when it has fewer words)."""
    words = WORD.findall(text)
    if len(words) < SHINGLE_WORDS:
        return frozenset([" ".join(words)])
    return frozenset(" ".join(words[i:i + SHINGLE_WORDS]) for i in range(len(words) - SHINGLE_WORDS + 1))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    """|a ∩ b| / |a ∪ b|; 0 for two empty sets."""
    union = len(a | b)
    return len(a & b) / union if union else 0.0


def similar_families(sets: list[frozenset[str]], similarity: float) -> list[int]:
    """For distinct shingle sets, the family of each (the index of its family's first set): two
    sets whose Jaccard similarity is at least ``similarity`` are in one family, and families
    chain. Exact, without comparing every pair: two sets that similar share one of the rarest
    ``|s| - ceil(similarity × |s|) + 1`` shingles of each (the prefix filter of the AllPairs
    algorithm), so only sets sharing a prefix shingle are compared."""
    parent = list(range(len(sets)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    frequency = Counter(shingle for s in sets for shingle in s)
    index: dict[str, list[int]] = defaultdict(list)
    for i, shingle_set in enumerate(sets):
        rarest_first = sorted(shingle_set, key=lambda shingle: (frequency[shingle], shingle))
        prefix = rarest_first[:len(rarest_first) - math.ceil(similarity * len(rarest_first) - 1e-9) + 1]
        candidates = {j for shingle in prefix for j in index[shingle]}
        for j in candidates:
            if root(i) != root(j) and jaccard(shingle_set, sets[j]) >= similarity:
                a, b = root(i), root(j)
                parent[max(a, b)] = min(a, b)
        for shingle in prefix:
            index[shingle].append(i)
    return [root(i) for i in range(len(sets))]


def near_identical_groups(times: list[datetime], texts: list[frozenset[str]], window: timedelta,
                          similarity: float) -> list[int]:
    """For mentions sorted by time, the group of each (the index of its group's first mention):
    the mentions of one family of near-identical texts (:func:`similar_families`), split where
    two consecutive ones are more than ``window`` apart. Identical texts are compared once."""
    distinct: dict[frozenset[str], int] = {}
    text_of = [distinct.setdefault(text, len(distinct)) for text in texts]
    family_of = similar_families(list(distinct), similarity)
    groups: list[int] = []
    current: dict[int, tuple[int, datetime]] = {}  # family -> (its group's first mention, its last time)
    for i, (time, text) in enumerate(zip(times, text_of)):
        family = family_of[text]
        group = current.get(family)
        first = group[0] if group is not None and time - group[1] <= window else i
        current[family] = (first, time)
        groups.append(first)
    return groups


def densest_window(times: list[datetime], authors: list[str], window: timedelta) -> tuple[int, int]:
    """The first and last index (in time order) of the window holding the most distinct authors
    (the earliest such window), counted while sliding it: one pass."""
    counts: Counter[str] = Counter()
    best, best_count, end = (0, 0), 0, -1
    for start in range(len(times)):
        while end + 1 < len(times) and times[end + 1] - times[start] <= window:
            end += 1
            counts[authors[end]] += 1
        if len(counts) > best_count:
            best, best_count = (start, end), len(counts)
        counts[authors[start]] -= 1
        if not counts[authors[start]]:
            del counts[authors[start]]
    return best


class SuspiciousMentions(Metric):
    """Suspicious activity in the period's mentions, with the evidence of each finding.

    **Bursts** (``coordinated_bursts``): texts are folded (case, accents), links and punctuation
    dropped, and cut into 3-word shingles; two texts whose shingles have a Jaccard similarity of
    at least ``similarity`` (0.8) are near-identical, and chains of them form a family. A
    family's mentions, in time order, form a group until two consecutive ones are more than
    ``window`` apart. A group holding, within one ``window``, at least ``min_authors`` (5)
    distinct authors is a burst. Texts under ``min_words`` words are not compared. A row per
    burst: its value is the number of distinct authors in its densest window; it carries
    ``burst_text`` (the window's first text), ``burst_start`` and ``burst_end`` (UTC),
    ``burst_authors`` (up to 10 handles of the densest window; they are the ``in_burst`` authors) and ``example_urls`` (up to 3), ranked by authors.

    **Authors with no history** (``new_authors``): an author whose first mention in the run's
    records (every period fetched: ``compare`` reaches further back) falls in this period, and
    whose known audience (the largest ``reach`` of their mentions) is at most
    ``new_author_max_audience`` or who took part in a burst. A row per author: its value is
    their mentions in the period; it carries ``author``, ``first_seen`` (their first mention in the
    run's records, on any platform: an author new this period is new in every platform row it
    has), ``in_burst`` (yes/no: one of a burst's densest-window authors)
    and ``example_urls``; ``new_author_audience`` rows give the audience (none: unknown).
    """

    name = "suspicious_mentions"
    default_polarity = "down"
    description = "Suspicious activity: bursts of near-identical mentions from many authors, and authors with no history."
    Options = SuspiciousMentionsOptions
    needs = ("mention",)
    groupings = ("overall", "brand", "platform")
    row_dimensions = ("author",)
    unit = "authors"

    def produces(self) -> dict[str, str]:
        return {"coordinated_bursts": "authors", "new_authors": "mentions", "new_author_audience": "people"}

    def compute(self, data: "MetricInput"):
        import polars as pl

        frame = data.records["mention"].collect()
        frame = frame.with_columns(normalised_authors(frame["author"]).alias("_author"),
                                   normalised_texts(frame["text"]).alias("_said")).filter(pl.col("_author").is_not_null())
        every = data.all_records["mention"].select("author", "published_at").collect()
        first_ever = (every.with_columns(normalised_authors(every["author"]).alias("_author"))
                      .group_by("_author").agg(pl.col("published_at").min().alias("_first_ever")))
        period_start = {p.label: p.start_utc for p in data.periods}
        bursts, newcomers = [], []
        for dims in data.grouping_sets:
            group = ["period", *[str(d) for d in dims]]
            for keys, rows in frame.partition_by(group, as_dict=True, maintain_order=True).items():
                labels = dict(zip(group, keys))
                found, members = self._bursts(rows.sort("published_at"))
                ranked_within = "+".join(dims) or "overall"
                for rank, burst in enumerate(found[:self.options.n], start=1):
                    bursts.append({**labels, **burst, "rank": rank, "ranked_within": ranked_within})
                for rank, author in enumerate(self._new_authors(rows, first_ever, members,
                                                                             period_start[str(labels["period"])])[:self.options.n], start=1):
                    newcomers.append({**labels, **author, "rank": rank, "ranked_within": ranked_within})
        parts = []
        schema = {c: frame.schema[c] for c in ("period", "platform") if c in frame.columns}
        if bursts:
            rows = pl.DataFrame(bursts).with_columns(*[pl.col(c).cast(t) for c, t in schema.items()
                                                       if c in bursts[0]])
            parts.append(measurement_rows(rows, metric="coordinated_bursts", unit="authors", value=pl.col("_authors"),
                                          extra_dimensions=["ranked_within", "burst_text", "burst_start", "burst_end",
                                                            "burst_authors", "example_urls"]))
        if newcomers:
            rows = pl.DataFrame(newcomers).with_columns(*[pl.col(c).cast(t) for c, t in schema.items()
                                                          if c in newcomers[0]])
            extra = ["ranked_within", "author", "first_seen", "in_burst", "example_urls"]
            parts.append(measurement_rows(rows, metric="new_authors", unit="mentions", value=pl.col("_mentions"),
                                          extra_dimensions=extra))
            parts.append(measurement_rows(rows, metric="new_author_audience", unit="people", value=pl.col("_audience"),
                                          reason=pl.lit("no mention of the author has a known reach"),
                                          extra_dimensions=extra))
        return pl.concat(parts, how="diagonal_relaxed") if parts else pl.DataFrame()

    def _bursts(self, rows: "pl.DataFrame") -> tuple[list[dict], set[str]]:
        """The bursts among one group's mentions (sorted by time), most authors first, and the
        authors taking part in one."""
        import polars as pl

        options: SuspiciousMentionsOptions = self.options
        long_enough = [said is not None and len(WORD.findall(said)) >= options.min_words for said in rows["_said"]]
        compared = rows.filter(pl.Series(long_enough, dtype=pl.Boolean))
        times, authors = compared["published_at"].to_list(), compared["_author"].to_list()
        texts = [shingles(said) for said in compared["_said"]]
        groups = near_identical_groups(times, texts, options.window, options.similarity)
        found, members = [], set()
        indices_of: dict[int, list[int]] = defaultdict(list)
        for i, group in enumerate(groups):
            indices_of[group].append(i)
        for indices in indices_of.values():
            if len({authors[i] for i in indices}) < options.min_authors:
                continue
            start, end = densest_window([times[i] for i in indices], [authors[i] for i in indices], options.window)
            inside = indices[start:end + 1]
            distinct = list(dict.fromkeys(authors[i] for i in inside))
            if len(distinct) < options.min_authors:
                continue
            members.update(distinct)  # those of the counted window, not the whole chained group
            urls = [u for u in (compared["url"][i] for i in inside) if u]
            found.append({"_authors": len(distinct), "burst_text": str(compared["text"][inside[0]])[:280],
                          "burst_start": _utc(times[inside[0]]), "burst_end": _utc(times[inside[-1]]),
                          "burst_authors": ", ".join(distinct[:SHOWN_AUTHORS]),
                          "example_urls": " ".join(urls[:EXAMPLES]), "_at": times[inside[0]]})
        found.sort(key=lambda b: (-b["_authors"], b["_at"]))
        for burst in found:
            del burst["_at"]
        return found, members

    def _new_authors(self, rows: "pl.DataFrame", first_ever: "pl.DataFrame", in_burst: set[str],
                     period_start: datetime) -> list[dict]:
        """The authors of one group's mentions whose first mention anywhere (``first_ever``:
        every source, every platform) is on or after ``period_start``, with a small (or
        unknown, in a burst) audience, most mentions first, then the earliest."""
        import polars as pl

        authors = (rows.sort("published_at").group_by("_author", maintain_order=True).agg(
            pl.len().alias("_mentions"), pl.col("published_at").min().alias("_first"),
            pl.col("reach").max().alias("_audience"), pl.col("url").drop_nulls().head(EXAMPLES).alias("_urls"))
            .join(first_ever, on="_author", how="left"))
        limit = self.options.new_author_max_audience
        listed = []
        for author in authors.sort(["_mentions", "_first"], descending=[True, False]).iter_rows(named=True):
            first_seen = author["_first_ever"] if author["_first_ever"] is not None else author["_first"]
            if first_seen < period_start:
                continue  # seen before this period (on this platform or another)
            small = author["_audience"] is not None and author["_audience"] <= limit
            if not (small or author["_author"] in in_burst):
                continue
            listed.append({"author": author["_author"], "_mentions": author["_mentions"],
                           "_audience": author["_audience"], "first_seen": _utc(first_seen),
                           "in_burst": "yes" if author["_author"] in in_burst else "no",
                           "example_urls": " ".join(author["_urls"])})
        return listed


def _utc(instant: datetime) -> str:
    """An instant as ``2026-11-20T20:00:00Z``."""
    return instant.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@hookimpl
def register_metrics(register):
    register(SuspiciousMentions)
