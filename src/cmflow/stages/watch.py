"""The watch stage: the mentions of a workflow with a ``[listen]`` section are kept, labelled with
the brands they name, and merged across sources.

Takes the workflow and what the earlier stages made (:class:`~cmflow.stages.fetch.Fetched`);
returns :class:`Watched`: the records, the mentions of the watched sources changed as follows, and
the stage's report (how many were kept, dropped and merged). In order:

1. a mention holding one of ``listen.exclude`` is dropped; so is one whose language is known and
   not in ``listen.languages`` (compared by :func:`~cmflow.foundation.language_codes.language_code`:
   ``fr-FR`` is ``fr``, ``und`` is not known);
2. copies of one mention are merged: the same platform and id; else the same page (normalised
   URL: no scheme, ``www.``, tracking parameters or trailing slash, parameters sorted); else the same author with the
   same text (folded, links removed) published within ``listen.duplicate_window`` of the first
   copy. The copies become one row, each cell from the first copy (sources in the workflow's
   order) that has it filled;
3. each mention gets a ``brands`` column: the ids of the brands its text names (any copy's text),
   the own brands first, then the competitors. A mention naming none is dropped (a search also finds
   homonyms). A mention naming two brands is one mention, counted once for each brand it names
   (``by = ["brand"]``) and once in the overall figures.

Mentions of sources ``listen.sources`` leaves out pass unchanged, with no brand.

Where a brand lists its public ``accounts``, every record with an ``account`` (posts, account
snapshots, daily activity, conversations ...) gets a ``brands`` column too (the brand's id; empty
for every other account), whatever its source, fetched in this run or read from the store
(the fetch stage hands over both: an incremental source's older records too), accounts compared without case, accents, blanks
or a leading ``@``: the ``brand`` breakdown of posts_published, totals, engagement and followers
reads it, and the measure stage leaves the competitors' records out of every other row. An
account no record of the run has is reported ("account X of brand Y matched no record").
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from cmflow.foundation.language_codes import language_codes
from cmflow.foundation.listening import (BRANDS_COLUMN, Listen, account_key, labelled_by_account, normalised_authors,
                                         normalised_texts, normalised_urls)
from cmflow.foundation.records import merged_copies
from cmflow.plugins.result import StageReport

if TYPE_CHECKING:
    import polars as pl

    from cmflow.stages.fetch import Fetched
    from cmflow.workflow import Workflow

@dataclass(frozen=True)
class Watched:
    """What the watch stage made."""

    fetched_and_watched: "Fetched"
    """What it was handed, with the watched mentions kept, merged and labelled."""
    reports: list[StageReport]
    """How many mentions were kept, excluded, in another language, naming no brand, merged (one
    report); none for a workflow without ``[listen]``."""


def watch(workflow: "Workflow", fetched: "Fetched") -> Watched:
    """Keep, merge and label the mentions (see the module's docstring)."""
    import polars as pl

    listen = workflow.listen
    if listen is None:
        return Watched(fetched, [])
    report = StageReport("listen", "listen", "listen")
    fetched = _accounts_labelled(listen, fetched, report)
    mentions = fetched.records.get("mention")
    if mentions is not None and mentions.height == 0:  # no mention this run: still the column metrics read
        mentions = mentions.with_columns(pl.lit([], dtype=pl.List(pl.String)).alias(BRANDS_COLUMN))
        fetched = replace(fetched, records={**fetched.records, "mention": mentions})
    if mentions is None or mentions.height == 0:
        report.counts = {"mentions": 0, "excluded": 0, "other languages": 0, "naming no brand": 0,
                         "merged duplicates": 0}
        report.note = watch_note(report.counts)
        return Watched(fetched, [report])
    watched = pl.col("source_id").is_in(list(listen.sources)) if listen.sources else pl.lit(True)
    mine, others = mentions.filter(watched), mentions.filter(~watched)
    kept = _kept_merged_labelled(listen, mine, report)
    others = others.with_columns(pl.lit([], dtype=pl.List(pl.String)).alias(BRANDS_COLUMN))
    records = dict(fetched.records)
    records["mention"] = pl.concat([kept, others], how="vertical_relaxed")
    return Watched(replace(fetched, records=records), [report])


def _accounts_labelled(listen: Listen, fetched: "Fetched", report: StageReport) -> "Fetched":
    """Every record with an ``account`` given a ``brands`` column, where a brand lists accounts;
    ``report`` names each listed account no record of the run has (a misspelt handle would
    otherwise leave a competitor's records in the brand's figures)."""
    if not listen.brand_of_account:
        return fetched
    records = dict(fetched.records)
    seen: set[str] = set()
    for kind, frame in fetched.records.items():
        if labelled_by_account(kind, frame.columns):
            records[kind] = frame.with_columns(listen.brands_of_accounts(frame["account"]))
            seen.update(v for v in normalised_authors(frame["account"]).unique().to_list() if v is not None)
    if seen:  # no record with an account at all: the sources' reports say why
        for brand in listen.brands:
            for account in brand.accounts:
                if account_key(account) not in seen:
                    report.problems.append(f"account {account!r} of brand {brand.id!r} matched no record of this "
                                           "run: check its spelling in [listen] accounts against the records' account")
    return replace(fetched, records=records)



def _kept_merged_labelled(listen: Listen, frame: "pl.DataFrame", report: StageReport) -> "pl.DataFrame":
    """The watched mentions filtered (exclusions, languages), merged and labelled with their
    brands, those naming none dropped; ``report`` counts each step."""
    import polars as pl

    excluded = listen.excluded(frame["text"])
    language = frame.select(language_codes(pl.col("language"))).to_series()  # fr-FR: fr; und: not known
    other_language = (language.is_not_null() & ~language.is_in(list(listen.languages))).fill_null(False) \
        if listen.languages else pl.Series([False] * frame.height)
    frame = frame.filter(~excluded & ~other_language)
    frame = frame.with_columns(listen.brands_named(frame["text"]).alias(BRANDS_COLUMN))
    before = frame.height
    frame = _merged(frame, listen)
    merged = before - frame.height
    named = frame[BRANDS_COLUMN].list.len() > 0
    report.counts = {"mentions": int(named.sum()), "excluded": int(excluded.sum()),
                     "other languages": int((other_language & ~excluded).sum()),
                     "naming no brand": int((~named).sum()), "merged duplicates": merged}
    report.note = watch_note(report.counts)
    return frame.filter(named)


def watch_note(counts: dict[str, int]) -> str:
    """What the stage did, in words: ``8 mentions of the watched brands kept; left out: 1 excluded,
    1 in another language, 1 naming no brand; 3 copies merged``."""
    kept = f"{counts['mentions']} mention{'' if counts['mentions'] == 1 else 's'} of the watched brands kept"
    left = [f"{counts['excluded']} excluded" if counts["excluded"] else "",
            f"{counts['other languages']} in another language" if counts["other languages"] else "",
            f"{counts['naming no brand']} naming no brand" if counts["naming no brand"] else ""]
    left = [part for part in left if part]
    merged = counts["merged duplicates"]
    return kept + (f"; left out: {', '.join(left)}" if left else "") + \
        (f"; {merged} cop{'y' if merged == 1 else 'ies'} of a mention another source also found, merged" if merged else "")


def _merged(frame: "pl.DataFrame", listen: Listen) -> "pl.DataFrame":
    """One row per mention: the copies (same platform and id, same page, or same author and text
    within the window) merged, cells from the first copy that has them, brands of every copy.

    The keys are computed as columns; only the rows sharing one with another row (few) are
    walked in Python, in order, to join each to the first copy it matches."""
    import polars as pl

    keys = pl.DataFrame({"platform": frame["platform"], "mention_id": frame["mention_id"],
                         "page": normalised_urls(frame["url"]), "author": normalised_authors(frame["author"]),
                         "said": normalised_texts(frame["text"]), "published_at": frame["published_at"]})
    shares_a_key = keys.select(
        pl.struct("platform", "mention_id").is_duplicated()
        | (pl.col("page").is_not_null() & pl.col("page").is_duplicated())
        | (pl.col("author").is_not_null() & pl.col("said").is_not_null() & pl.struct("author", "said").is_duplicated())
    ).to_series()
    if not shares_a_key.any():
        return frame
    groups = list(range(frame.height))  # a row of its own is its own group
    group_of_id: dict[tuple, int] = {}
    group_of_page: dict[str, int] = {}
    posts_of: dict[tuple[str, str], list[int]] = {}  # the groups of an author's text
    first_time: dict[int, object] = {}  # when each group's first copy was published
    window = listen.duplicate_window
    candidates = keys.with_row_index("_row").filter(shares_a_key)
    for row, platform, mention_id, page, author, said, published in candidates.iter_rows():
        identity, words = (platform, mention_id), (author, said)
        group = group_of_id.get(identity)
        if group is None and page is not None:
            group = group_of_page.get(page)
        if group is None and author is not None and said is not None:
            group = next((g for g in posts_of.get(words, []) if first_time[g] is not None and published is not None
                          and abs(published - first_time[g]) <= window), None)
        if group is None:  # a new mention: its own group, timed by this first copy
            group, first_time[row] = row, published
        groups[row] = group
        group_of_id.setdefault(identity, group)
        if page is not None:
            group_of_page.setdefault(page, group)
        if author is not None and said is not None and group not in posts_of.setdefault(words, []):
            posts_of[words].append(group)
    copy_of = pl.Series("_copy_of", groups)
    copied = copy_of.is_duplicated()
    if not copied.any():
        return frame
    every_brand = pl.col(BRANDS_COLUMN).explode().drop_nulls().unique(maintain_order=True)
    merged = merged_copies(frame.with_columns(copy_of).filter(copied), ["_copy_of"],
                           otherwise={BRANDS_COLUMN: every_brand})
    alone = frame.with_columns(copy_of).filter(~copied)
    return pl.concat([alone, merged.select(alone.columns)]).sort("_copy_of").drop("_copy_of")
