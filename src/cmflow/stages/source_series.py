"""The series a source's records may hold: the one rule the stages that take a figure's value
away for a source's sake share (failed_sources: a source that could not be read;
source_gaps: days or periods a source's records do not cover).

A measurement row is a series (overall, a platform's, an account's, a client's ...) of one
metric. A source's records may be in it when, for each dimension the row has:

- **platform**: the source's platforms (its class or options, else its records: its report's
  :attr:`~cmflow.plugins.result.StageReport.platforms`) include it; when nothing names them and
  nothing names its accounts either, any platform the records of the sources that were read do
  not have (Facebook's rows are the Facebook export's that was read);
- **account**: the source's accounts (its report's ``accounts``) include it (by
  :func:`~cmflow.foundation.listening.account_key`); when they are not known, any account of a
  platform the source may hold (above), or, its platforms not known either, any account the
  records read do not have;
- **client**: the client owns one of the source's accounts; when they are not known, a client
  that may own one of its accounts: one listing an account the records read do not have, or, the
  source's platforms known, one whose records read include one of those platforms (a second
  Instagram source of a client). A client whose every account the records read hold on other
  platforms is another client's series, and keeps its figure (give the source its ``accounts``
  or a ``where`` naming them to be sure of a client using one handle everywhere);
- and the metric's ``where`` (its ``platform``, ``account`` and ``client``) leaves some of those
  in: a metric kept to Facebook has no row a YouTube table may hold, not even its overall row.

The rows without the dimension (the overall row has none) are decided by the others.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Collection, Iterable, Mapping

from cmflow.foundation.listening import account_key, account_keys
from cmflow.foundation.measurements import NONE_LABEL
from cmflow.foundation.where_filters import values_of

if TYPE_CHECKING:
    import polars as pl

    from cmflow.foundation.clients import Client

ACCOUNT_KEY_COLUMN = "__account_key"
"""The account's key of a measurement row (:func:`with_account_keys`), worked out once a stage."""

_PAIR = "\x1f"
"""Between a platform and an account key in one text (a pair seen in the records read)."""


@dataclass(frozen=True)
class RecordsRead:
    """What the records of the sources that were read hold (of the kinds a metric reads): the
    platforms, account keys and (platform, account key) pairs, for a source whose accounts
    nothing names."""

    platforms: frozenset[str] = frozenset()
    accounts: frozenset[str] = frozenset()
    pairs: frozenset[tuple[str, str]] = field(default_factory=frozenset)

    @classmethod
    def of(cls, frames: Iterable["pl.DataFrame"]) -> "RecordsRead":
        """The values of ``frames`` (one pass each: their distinct platform and account pairs)."""
        import polars as pl

        pairs: set[tuple[str, str]] = set()
        platforms: set[str] = set()
        for frame in frames:
            if frame.height == 0 or not {"platform", "account"} & set(frame.columns):
                continue
            platform = (pl.col("platform").cast(pl.String).str.to_lowercase() if "platform" in frame.columns
                        else pl.lit(None, dtype=pl.String))
            account = (account_keys(pl.col("account").cast(pl.String)) if "account" in frame.columns
                       else pl.lit(None, dtype=pl.String))
            columns = [c for c in ("platform", "account") if c in frame.columns]
            distinct = frame.select(columns).unique()  # folded once per distinct pair, not per record
            for p, a in distinct.select(platform.alias("p"), account.alias("a")).unique().iter_rows():
                # a record without one is in the rows "(none)"
                pairs.add((NONE_LABEL if p is None else p, NONE_LABEL if a is None else a))
                platforms.add(NONE_LABEL if p is None else p)
        return cls(frozenset(platforms), frozenset(a for _, a in pairs), frozenset(pairs))


def with_account_keys(frame: "pl.DataFrame") -> "pl.DataFrame":
    """``frame`` with :data:`ACCOUNT_KEY_COLUMN` when it has an ``account`` column (the rule
    compares accounts by their key)."""
    import polars as pl

    if "account" not in frame.columns:
        return frame
    account = pl.col("account").cast(pl.String)
    distinct = frame.select(account.unique().drop_nulls().alias("account"))  # folded once per account
    keys = distinct.with_columns(account_keys(pl.col("account")).alias("key"))
    return frame.with_columns(account.replace_strict(keys["account"], keys["key"], default=None,
                                                     return_dtype=pl.String).alias(ACCOUNT_KEY_COLUMN))


def series_may_hold(clients: "Collection[Client]", platforms: Collection[str] | None,
                    accounts: Collection[str] | None, where: Mapping[str, object], dimensions: Collection[str],
                    read: RecordsRead | None = None) -> "pl.Expr":
    """The measurement rows whose series may hold the records of a source reading
    ``platforms`` and ``accounts`` (None or no platform: not known), for a metric with
    ``where``; ``read`` is what the records of the sources that were read hold (for what is not
    known; None: any). The rows need :data:`ACCOUNT_KEY_COLUMN` when they have an account."""
    import polars as pl

    scope = _Scope.of(clients, platforms, accounts, read)
    if not scope.meets(where):
        return pl.lit(False)
    holds = pl.lit(True)
    for dimension in dimensions:
        if dimension == "platform" and scope.platforms is not None:
            could = pl.col("platform").cast(pl.String).str.to_lowercase().is_in(sorted(scope.platforms))
        elif dimension == "platform" and scope.platforms_not is not None:
            could = ~pl.col("platform").cast(pl.String).str.to_lowercase().is_in(sorted(scope.platforms_not))
        elif dimension == "account" and scope.accounts is not None:
            could = pl.col(ACCOUNT_KEY_COLUMN).is_in(sorted(scope.accounts))
        elif dimension == "account" and scope.accounts_not is not None:
            could = ~pl.col(ACCOUNT_KEY_COLUMN).is_in(sorted(scope.accounts_not))
        elif dimension == "client" and scope.clients is not None:
            could = pl.col("client").cast(pl.String).is_in(sorted(scope.clients))
        else:  # not known by this dimension: the others decide
            continue
        holds = holds & (pl.col(dimension).is_null() | could.fill_null(True))
    return holds


@dataclass(frozen=True)
class _Scope:
    """The values of each dimension a source's records may have: a set (those), a set "not"
    (any but those), or neither (any)."""

    platforms: frozenset[str] | None = None
    platforms_not: frozenset[str] | None = None
    accounts: frozenset[str] | None = None
    accounts_not: frozenset[str] | None = None
    clients: frozenset[str] | None = None

    @classmethod
    def of(cls, clients: "Collection[Client]", platforms: Collection[str] | None,
           accounts: Collection[str] | None, read: RecordsRead | None) -> "_Scope":
        named = frozenset(p.lower() for p in platforms) if platforms else None
        if accounts is not None:
            keys = frozenset(account_key(a) for a in accounts)
            owners = frozenset(c.id for c in clients if any(c.owns(a) for a in accounts))
            return cls(platforms=named, accounts=keys, clients=owners)
        if read is None:
            return cls(platforms=named)
        if named is not None:  # any account of its platforms: a client with one there, or one not read
            present = {a for p, a in read.pairs if p in named}
            owners = frozenset(c.id for c in clients
                               if any(k in present or k not in read.accounts for k in _keys(c)))
            return cls(platforms=named, clients=owners)
        owners = frozenset(c.id for c in clients if any(k not in read.accounts for k in _keys(c)))
        return cls(platforms_not=read.platforms, accounts_not=read.accounts, clients=owners)

    def meets(self, where: Mapping[str, object]) -> bool:
        """Whether the metric's ``where`` leaves in some value this scope may have."""
        for key, named, excluded, keyed in (("platform", self.platforms, self.platforms_not, str.lower),
                                            ("account", self.accounts, self.accounts_not, account_key),
                                            ("client", self.clients, None, str)):
            if key not in where:
                continue
            values = {keyed(v) for v in values_of(where[key])}  # type: ignore[arg-type]
            if named is not None and not values & named:
                return False
            if excluded is not None and values <= excluded:
                return False
        return True


def _keys(client: "Client") -> list[str]:
    return [account_key(a) for a in client.accounts]
