"""Listening (veille): the brands a workflow watches, and how a mention's text is matched to them.

A workflow's ``[listen]`` section becomes a :class:`Listen`: the brand and its competitors (each a
:class:`WatchedBrand` with its terms), the exclusions and the languages. Terms match a text
case- and accent-insensitively, as whole words (``Lumière`` does not match ``Lumières``), and
every term also matches its hashtag and its @handle written in one word: ``Maison Lumière``
matches ``maison lumiere``, ``#MaisonLumiere`` and ``@maisonlumiere`` (``@maisonlumiere.bsky.social``
too). The watch stage (:mod:`cmflow.stages.watch`) applies it to the mentions of a run.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:  # polars is imported lazily: validating a workflow must stay fast.
    import polars as pl

NONSPACING_MARK = r"\p{Mn}"
"""What :func:`folded_text` drops after decomposing a text: accents, cedillas (Unicode's Mn)."""


def folded_text(text: str) -> str:
    """``text`` in lower case without accents (NFKD, non-spacing marks dropped, lower case):
    what terms and texts are compared as (``Lumière`` -> ``lumiere``). :func:`folded_texts`
    does the same to a column."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if unicodedata.category(c) != "Mn").lower()


def folded_texts(texts: "pl.Series") -> "pl.Series":
    """:func:`folded_text` of each text of a String column, vectorised."""
    return texts.str.normalize("NFKD").str.replace_all(NONSPACING_MARK, "").str.to_lowercase()


def term_pattern(terms: Iterable[str]) -> str | None:
    """One regular expression (in the syntax Python's ``re`` and Polars both read) matching any of
    ``terms`` in a :func:`folded_text` text, as a whole word (blanks inside a term match any run
    of blanks) or as a one-word hashtag or @handle; None for no term."""
    alternatives: list[str] = []
    for term in terms:
        words = folded_text(term).split()
        if not words:
            continue
        alternatives.append(r"\s+".join(re.escape(w) for w in words))
        compact = re.sub(r"[^\w]", "", "".join(words))
        if compact:
            alternatives.append(r"[#@]" + re.escape(compact))
    if not alternatives:
        return None
    # Whole words: no letter, digit or _ just before or after (Polars' regex has no lookbehind:
    # the character before is matched, which does not matter to "does the text hold it").
    return r"(?:^|\W)(?:" + "|".join(alternatives) + r")(?:\W|$)"


def _holds(pattern: str | None, texts: "pl.Series") -> "pl.Series":
    """Whether each folded text holds ``pattern``; False for none and for an empty text."""
    import polars as pl

    if pattern is None:
        return pl.Series([False] * texts.len(), dtype=pl.Boolean)
    return texts.str.contains(pattern).fill_null(False)


@dataclass(frozen=True)
class WatchedBrand:
    """An own brand or a competitor: its id (the ``brand`` breakdown of the metrics), its name and
    the terms that name it."""

    id: str
    name: str
    terms: tuple[str, ...]
    """The words that name it (the name itself, hashtags, handles, products); the name is one."""
    exclude: tuple[str, ...] = ()
    """Terms that make a mention not about this brand (it may still be about another)."""
    client: str | None = None
    """Id of the client whose reports show the brand's figures; None: the whole workflow's only."""
    accounts: tuple[str, ...] = ()
    """Its public accounts, as the sources' records name them (``account``; compared without case,
    accents, surrounding blanks or a leading ``@``): every record of those accounts (posts, account
    snapshots, daily activity ...) is labelled with the brand, for the benchmark of the brand and its
    competitors."""

    @property
    def pattern(self) -> str | None:
        """What a folded text holds when it names the brand (:func:`term_pattern` of its terms)."""
        return term_pattern(self.terms)

    @property
    def excluded_pattern(self) -> str | None:
        """What a folded text holds when it is not about the brand after all."""
        return term_pattern(self.exclude)

    def named_in(self, folded: "pl.Series") -> "pl.Series":
        """Whether each :func:`folded_texts` text names this brand (one of its terms, none of its exclusions)."""
        return _holds(self.pattern, folded) & ~_holds(self.excluded_pattern, folded)


@dataclass(frozen=True)
class Listen:
    """A workflow's ``[listen]`` section: what the watch stage keeps, labels and merges."""

    brands: tuple[WatchedBrand, ...]
    """The own brands first (``[listen.brand]``, then ``[[listen.brands]]``), then the competitors,
    in the file's order."""
    exclude: tuple[str, ...] = ()
    """Terms that drop a mention whatever brand it names ("lumière du jour")."""
    languages: tuple[str, ...] = ()
    """ISO 639-1 codes; empty: every language. A mention whose language is not known is kept."""
    sources: tuple[str, ...] = ()
    """Ids of the sources whose mentions are watched; empty: every source of mentions."""
    duplicate_window: timedelta = timedelta(hours=1)
    """Two mentions by one author with the same text this close in time are one."""
    own: int = 1
    """How many of :attr:`brands`, first, are the workflow's own brands (one per client): their
    records count in their client's figures; every other brand is a competitor."""

    @property
    def brand_ids(self) -> list[str]:
        return [b.id for b in self.brands]

    @property
    def own_brands(self) -> list[WatchedBrand]:
        """The workflow's own brands: ``[listen.brand]``, then each ``[[listen.brands]]`` entry."""
        return list(self.brands[:self.own])

    @property
    def competitor_ids(self) -> list[str]:
        """The competitors' ids (every brand but the own brands)."""
        return [b.id for b in self.brands[self.own:]]

    @property
    def search_terms(self) -> list[str]:
        """Every brand's terms (its name first), the own brands then the competitors, each once
        (compared as :func:`folded_text`, blanks inside collapsed: ``Maison  Lumière`` is
        ``Maison Lumière``): what a source that searches its platform searches when its entry
        gives no terms of its own."""
        terms: dict[str, str] = {}
        for brand in self.brands:
            for term in brand.terms:
                if written := " ".join(term.split()):
                    terms.setdefault(folded_text(written), written)
        return list(terms.values())

    def own_brand_of(self, client: str) -> WatchedBrand | None:
        """The own brand whose ``client`` is ``client``; None when the client has none."""
        return next((b for b in self.own_brands if b.client == client), None)

    @property
    def brand_of_account(self) -> dict[str, str]:
        """Each account a brand lists, as the workflow writes it, with the brand's id."""
        return {account: b.id for b in self.brands for account in b.accounts}

    @property
    def brand_of_account_key(self) -> dict[str, str]:
        """Each account a brand lists, as :func:`account_key` compares it (``" @Nuit "`` ->
        ``nuit``), with the brand's id."""
        return {account_key(account): brand for account, brand in self.brand_of_account.items()}

    def brands_of_accounts(self, accounts: "pl.Series") -> "pl.Series":
        """For each record's ``account``, the ids of the brand listing it (a list of one, or
        empty), compared as :func:`normalised_authors`, vectorised: the ``brands`` column the
        ``brand`` breakdown reads."""
        import polars as pl

        owners = self.brand_of_account_key
        brand = normalised_authors(accounts).replace_strict(owners, default=None, return_dtype=pl.String)
        return pl.select(pl.when(brand.is_not_null()).then(pl.concat_list(brand))
                         .otherwise(pl.lit([], dtype=pl.List(pl.String))).alias(BRANDS_COLUMN)).to_series()

    @property
    def brand_sets(self) -> list[tuple[str, ...]]:
        """The brand ids grouped into the sets compared with each other: the brands of each
        client (its own brand and its competitors), and those of no client, in the section's order."""
        sets: dict[str | None, list[str]] = {}
        for brand in self.brands:
            sets.setdefault(brand.client, []).append(brand.id)
        return [tuple(ids) for ids in sets.values()]

    @property
    def share_sets(self) -> list[tuple[str, ...]]:
        """The brand ids one share of voice divides among, with several own brands: each
        client's own brand with that client's competitors (:attr:`brand_sets`); empty with one
        own brand: every watched brand of a period together, as ever."""
        return self.brand_sets if self.own > 1 else []

    def brands_named(self, texts: "pl.Series") -> "pl.Series":
        """For each text, the ids of the brands it names, in the section's order (a list, empty
        for none or no text), vectorised: one regular expression per brand over the folded texts."""
        import polars as pl

        folded = folded_texts(texts.cast(pl.String))
        named = pl.DataFrame({b.id: b.named_in(folded) for b in self.brands})
        return named.select(pl.concat_list(pl.when(pl.col(b.id)).then(pl.lit(b.id)) for b in self.brands)
                            .list.drop_nulls().alias(BRANDS_COLUMN)).to_series()

    def excluded(self, texts: "pl.Series") -> "pl.Series":
        """Whether each text holds one of the section's exclusions."""
        import polars as pl

        return _holds(term_pattern(self.exclude), folded_texts(texts.cast(pl.String)))


BRANDS_COLUMN = "brands"
"""The column of a mention the watch stage adds: the ids of the watched brands it names; on a
record with an ``account`` (post, account snapshot, daily activity ...), the brand whose
``accounts`` list its account."""


def unshared_counters(frame: "pl.DataFrame", counters: Iterable[str],
                      brand_sets: Iterable[Iterable[str]]) -> dict[str, list[str]]:
    """For each brand of ``brand_sets`` (the brands compared with each other), the ``counters``
    of ``frame`` (records with a ``brands`` column) that one brand of its set reports and another
    with records never does, in ``counters``' order; brands whose set reports the same counters
    are left out. A competitor's public posts (Instagram's Business Discovery) have likes and
    comments but no shares or saves: set beside the brand's own posts, counting the brand's
    shares and saves would compare unlike figures."""
    import polars as pl

    present = [c for c in counters if c in frame.columns]
    if not present or BRANDS_COLUMN not in frame.columns or frame.height == 0:
        return {}
    reported = (frame.select(BRANDS_COLUMN, *present).explode(BRANDS_COLUMN).drop_nulls(BRANDS_COLUMN)
                .group_by(BRANDS_COLUMN).agg(pl.col(c).is_not_null().any() for c in present))
    by_brand = {row[BRANDS_COLUMN]: {c for c in present if row[c]} for row in reported.iter_rows(named=True)}
    unshared: dict[str, list[str]] = {}
    for brands in brand_sets:
        brands = list(brands)
        seen = [by_brand[b] for b in brands if b in by_brand]
        if len(seen) < 2:
            continue
        differing = set.union(*seen) - set.intersection(*seen)
        if differing:
            unshared.update({b: [c for c in present if c in differing] for b in brands})
    return unshared


def labelled_by_account(kind: str, columns: Iterable[str]) -> bool:
    """Whether records of ``kind`` with ``columns`` get their ``brands`` from their ``account``
    (every kind with an ``account`` column; a mention's come from its text)."""
    return kind != "mention" and "account" in columns


TRACKING_PARAMETER = r"(?i)^(utm_[a-z]+|fbclid|gclid|mc_[a-z]+|ref|ref_src|si)(=|$)"
"""A query parameter that tells where a click came from, not which page it is."""
SHARE_PARAMETER_HOSTS = ("x.com", "twitter.com", "mobile.twitter.com")
"""Hosts whose ``s`` parameter is the app a link was shared from (``?s=20``), not a search."""
SHARE_PARAMETER = r"(?i)^s(=|$)"


def normalised_urls(urls: "pl.Series") -> "pl.Series":
    """Each URL as two copies of one page are compared, vectorised: scheme, user, port and
    ``www.`` dropped, host in lower case, no fragment, no tracking parameters (``utm_*``,
    ``fbclid`` ...; a search's ``s`` is kept, X's share ``s`` dropped), the other parameters
    sorted, no trailing slash on the path; null for no URL
    (``http://WWW.Ex.org/a/?utm_source=x&id=3#top`` -> ``ex.org/a?id=3``)."""
    import polars as pl

    url = urls.cast(pl.String).str.strip_chars()
    frame = pl.DataFrame({"rest": url.str.replace(r"^[A-Za-z][A-Za-z0-9+.\-]*://", "")})
    host = (pl.col("rest").str.extract(r"^([^/?#]*)", 1).str.replace(r"^.*@", "").str.replace(r":\d*$", "")
            .str.to_lowercase().str.replace(r"^www\.", ""))
    parameters = pl.col("rest").str.extract(r"^[^?#]*\?([^#]*)", 1).str.split("&").list.eval(
        pl.element().filter((pl.element() != "") & ~pl.element().str.contains(TRACKING_PARAMETER)))
    parameters = pl.when(host.is_in(SHARE_PARAMETER_HOSTS)).then(
        parameters.list.eval(pl.element().filter(~pl.element().str.contains(SHARE_PARAMETER)))).otherwise(parameters)
    return frame.select(pl.when(pl.col("rest") != "").then(pl.concat_str(
        host,
        pl.col("rest").str.extract(r"^[^/?#]*([^?#]*)", 1).str.strip_chars_end("/"),
        parameters.list.sort().list.join("&")
        .pipe(lambda query: pl.when(query != "").then(pl.lit("?") + query).otherwise(pl.lit(""))),
        ignore_nulls=True))).to_series()


def normalised_authors(authors: "pl.Series") -> "pl.Series":
    """Author handles and account names as two sources (or a workflow and a source) may write
    them, vectorised: folded, without surrounding blanks or a leading ``@`` (``" @Nuit "`` ->
    ``nuit``); null for none. The rule a brand's and a client's ``accounts`` are matched to the
    records' ``account`` by; :func:`account_key` does the same to one name."""
    import polars as pl

    folded = folded_texts(authors.cast(pl.String).str.strip_chars()).str.strip_chars_start("@")
    return pl.select(pl.when(folded != "").then(folded)).to_series()


def account_key(account: str) -> str:
    """One account name as :func:`normalised_authors` compares it: folded, without surrounding
    blanks or a leading ``@`` (``" @Nuit "`` -> ``nuit``)."""
    return folded_text(account.strip()).lstrip("@")


def account_keys(accounts: "pl.Expr") -> "pl.Expr":
    """:func:`account_key` of each account of a String expression, vectorised."""
    return accounts.str.strip_chars().str.normalize("NFKD").str.replace_all(NONSPACING_MARK, "") \
        .str.to_lowercase().str.strip_chars_start("@")


def normalised_texts(texts: "pl.Series") -> "pl.Series":
    """Texts as two copies of one post are compared, vectorised: folded, links removed, blanks
    collapsed; null for no text."""
    import polars as pl

    said = folded_texts(texts.cast(pl.String)).str.replace_all(r"https?://\S+", " ") \
        .str.replace_all(r"\s+", " ").str.strip_chars()
    return pl.select(pl.when(said != "").then(said)).to_series()
