"""The series a source's records may be in: the one rule of the stages that take a figure's value
away for a source's sake (failed_sources: a source that could not be read; source_gaps: periods
a source's records do not cover).

A measurement row is a series (overall, a platform's, an account's, a client's ...) of one
metric. A source's records may be in it when the metric's ``where`` leaves some of them in (a
metric kept to Facebook has no row a YouTube table may hold, not even its overall row) and, for
each dimension the row has:

- **the source's accounts are known** (its options; for a failed source, its last run's
  records): the row's account is one of them (by
  :func:`~cmflow.foundation.listening.account_key`), its client owns one, its platform is one
  of the source's when those are known;
- **only its platforms are known** (an API asked through a token, an export whose format is
  set): the row's platform is one of them; any account and any client may be its, since one
  handle is often used on several platforms (a client read on Facebook may have its Instagram
  in the source);
- **neither is known** (a file gone at its first run): each value the row has is one the
  records of the sources that were read do not have, a platform and account compared as a pair
  (``f`` read on Facebook says nothing of ``f`` on Instagram), a client being one that lists an
  account of which nothing was read: the series of the records read are theirs.

The rows without a dimension (the overall row has none) are decided by the others.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Collection, Iterable, Mapping

from cmflow.foundation.listening import account_key, account_keys
from cmflow.foundation.measurements import NONE_LABEL
from cmflow.foundation.where_filters import values_of

if TYPE_CHECKING:
    import polars as pl

    from cmflow.foundation.clients import Client

ACCOUNT_KEY_COLUMN = "__account_key"
"""A measurement row's account key (:func:`with_account_keys`)."""

_PAIR = "\x1f"
"""Between a platform and an account key in one text (a pair of the records read)."""


@dataclass(frozen=True)
class RecordsRead:
    """What the records of the sources that were read hold: platforms, (platform, account key)
    pairs, account keys and clients, each "(none)" for a record without one."""

    platforms: frozenset[str]
    pairs: frozenset[str]
    accounts: frozenset[str]
    clients: frozenset[str]

    @classmethod
    def of(cls, frames: Iterable["pl.DataFrame"]) -> "RecordsRead":
        """The values of ``frames``: their distinct platform, account and client, once each."""
        import polars as pl

        found = []
        for frame in frames:
            columns = [c for c in ("platform", "account", "client") if c in frame.columns]
            if frame.height == 0 or not columns:
                continue
            distinct = frame.select(pl.col(c).cast(pl.String) for c in columns).unique()
            found.append(distinct.select(
                (pl.col("client").fill_null(NONE_LABEL) if "client" in columns else pl.lit(NONE_LABEL)).alias("client"),
                (pl.col("platform").str.to_lowercase() if "platform" in columns else pl.lit(None, pl.String))
                .fill_null(NONE_LABEL).alias("platform"),
                (account_keys(pl.col("account")) if "account" in columns else pl.lit(None, pl.String))
                .fill_null(NONE_LABEL).alias("account")))
        if not found:
            return cls(frozenset(), frozenset(), frozenset(), frozenset())
        every = pl.concat(found).unique()
        return cls(frozenset(every["platform"]), frozenset(every["platform"] + _PAIR + every["account"]),
                   frozenset(every["account"]), frozenset(every["client"]))


def with_account_keys(frame: "pl.DataFrame") -> "pl.DataFrame":
    """``frame`` (measurements) with :data:`ACCOUNT_KEY_COLUMN` when it has an ``account`` column:
    each distinct account folded once."""
    import polars as pl

    if "account" not in frame.columns:
        return frame
    account = pl.col("account").cast(pl.String)
    keys = frame.select(account.unique().drop_nulls().alias("account")).with_columns(
        account_keys(pl.col("account")).alias("key"))
    return frame.with_columns(account.replace_strict(keys["account"], keys["key"], default=None,
                                                     return_dtype=pl.String).alias(ACCOUNT_KEY_COLUMN))


def series_may_hold(clients: "Collection[Client]", platforms: Collection[str] | None,
                    accounts: Collection[str] | None, where: Mapping[str, object], dimensions: Collection[str],
                    read: RecordsRead | None = None) -> "pl.Expr":
    """The measurement rows whose series may hold the records of a source reading ``platforms``
    and ``accounts`` (None or empty platforms: not known), for a metric with ``where``; ``read``
    is what the other sources' records hold, for a source of which neither is known (None: any
    series may hold them). The rows need :data:`ACCOUNT_KEY_COLUMN` (:func:`with_account_keys`)
    when they have an account."""
    import polars as pl

    named = frozenset(p.lower() for p in platforms) if platforms else None
    keys = frozenset(account_key(a) for a in accounts) if accounts is not None else None
    owners = frozenset(c.id for c in clients if any(c.owns(a) for a in accounts)) if accounts is not None else None
    if not where_admits(where, named, keys, owners):
        return pl.lit(False)
    platform = pl.col("platform").cast(pl.String).str.to_lowercase()
    holds = pl.lit(True)
    for dimension in dimensions:
        if dimension == "platform" and named is not None:
            could = platform.is_in(sorted(named))
        elif dimension == "account" and keys is not None:
            could = pl.col(ACCOUNT_KEY_COLUMN).is_in(sorted(keys))
        elif dimension == "client" and owners is not None:
            could = pl.col("client").cast(pl.String).is_in(sorted(owners))
        elif named is not None or keys is not None or read is None:
            continue  # not known by this dimension: the others decide
        elif dimension == "platform":
            could = ~platform.is_in(sorted(read.platforms))
        elif dimension == "account" and "platform" in dimensions:
            pair = pl.concat_str([platform.fill_null(NONE_LABEL), pl.lit(_PAIR), pl.col(ACCOUNT_KEY_COLUMN)])
            unread = ~pl.col(ACCOUNT_KEY_COLUMN).is_in(sorted(read.accounts))
            could = pl.when(pl.col("platform").is_null()).then(unread).otherwise(~pair.is_in(sorted(read.pairs)))
        elif dimension == "account":
            could = ~pl.col(ACCOUNT_KEY_COLUMN).is_in(sorted(read.accounts))
        elif dimension == "client":  # one listing an account of which nothing was read, or never read
            unread = sorted(c.id for c in clients if any(account_key(a) not in read.accounts for a in c.accounts))
            client = pl.col("client").cast(pl.String)
            could = client.is_in(unread) | ~client.is_in(sorted(read.clients))
        else:
            continue
        holds = holds & (pl.col(dimension).is_null() | could.fill_null(True))
    return holds


def where_admits(where: Mapping[str, object], platforms: Collection[str] | None, accounts: Collection[str] | None,
                 clients: Collection[str] | None = None) -> bool:
    """Whether a metric's ``where`` leaves in some record of a source reading ``platforms``
    (lower case), ``accounts`` (their keys) and ``clients`` (None: not known)."""
    for key, known, keyed in (("platform", platforms, str.lower), ("account", accounts, account_key),
                              ("client", clients, str)):
        if key in where and known is not None and not {keyed(v) for v in values_of(where[key])} & known:
            return False
    return True
