"""Which part of a run one report covers: one client's accounts, or the whole workflow.

A workflow that declares ``[[clients]]`` measures each client's whole through the ``client``
breakdown (a metric's ``by = ["client"]``): a client's report reads those rows, and the rows of
its own accounts, never a figure that mixes two clients.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from cmflow import account_key

if TYPE_CHECKING:
    import polars as pl


@dataclass(frozen=True)
class ReportScope:
    """The reader's part of the run.

    ``client`` is the workflow's client the report is for (None: the whole workflow);
    ``accounts`` the ``(platform, account)`` pairs that are theirs; ``names`` what a reader
    calls each account (its display name), by pair or by account alone. Accounts are compared as
    the clients stage compares them (:func:`~cmflow.foundation.listening.account_key`: ``@Maison``
    is ``maison``)."""

    client: Any = None
    accounts: frozenset[tuple[str, str]] | None = None
    names: dict[Any, str] = field(default_factory=dict)

    def whole(self) -> dict[str, str]:
        """The dimensions of the scope's overall figures: the client's row, or the overall one."""
        return {"client": self.client.id} if self.client is not None else {}

    @cached_property
    def _account_keys(self) -> frozenset[tuple[str, str]]:
        return frozenset((platform, account_key(account)) for platform, account in self.accounts or ())

    @cached_property
    def _name_keys(self) -> dict[Any, str]:
        return {(key[0], account_key(key[1])) if isinstance(key, tuple) else account_key(key): name
                for key, name in self.names.items()}

    def holds_account(self, platform: str | None, account: str | None) -> bool:
        if self.accounts is None:
            return True
        if account is None:
            return False
        key = account_key(account)
        return (platform, key) in self._account_keys or ("*", key) in self._account_keys

    def may_hold(self, accounts: frozenset[str] | None) -> bool:
        """Whether records of ``accounts`` (None: accounts not known) may be the scope's: a
        source that failed makes the scope's report incomplete only then."""
        return self.accounts is None or accounts is None or any(self.holds_account("*", a) for a in accounts)

    def holds(self, dimensions: dict[str, Any]) -> bool:
        """Whether a series (its dimensions) belongs to the scope: a client's report holds its
        client's rows and its accounts' rows; the whole workflow's, the rows of no client."""
        client = dimensions.get("client")
        if self.client is None:
            return client is None
        if client is not None:
            return client == self.client.id
        if dimensions.get("account") is not None:
            return self.holds_account(dimensions.get("platform"), dimensions["account"])
        return False

    def holds_objective(self, result: Any) -> bool:
        """Whether an objective's result (:class:`cmflow.ObjectiveResult`) is the scope's: its
        client's, or one about the scope's series."""
        owner = result.objective.client
        if self.client is None:
            return True
        return owner == self.client.id or (owner is None and self.holds(result.dimensions))

    def account_name(self, platform: str, account: str) -> str:
        key = account_key(account)
        return self._name_keys.get((platform, key)) or self._name_keys.get(key) or account

    def series_name(self, dimensions: dict[str, Any], platform_name=str) -> str:
        """A series as a reader names it: the account's display name and its platform (named by
        ``platform_name``, a language's), else its platform or client."""
        if dimensions.get("account"):
            name = self.account_name(dimensions.get("platform") or "", dimensions["account"])
            return f"{name} · {platform_name(dimensions['platform'])}" if dimensions.get("platform") else name
        if dimensions.get("platform"):
            return platform_name(dimensions["platform"])
        if dimensions.get("client") and self.client is not None:
            return self.client.name
        return ""

    def record_filter(self) -> "pl.Expr":
        """Keeps the records (posts ...) of the scope's accounts."""
        import polars as pl

        from cmflow import normalised_authors

        if self.accounts is None:
            return pl.lit(True)
        pairs = [f"{p}\u0000{a}" for p, a in self._account_keys if p != "*"]
        anywhere = [a for p, a in self._account_keys if p == "*"]
        account = pl.col("account").cast(pl.String).map_batches(normalised_authors, return_dtype=pl.String)
        return (pl.concat_str(pl.col("platform"), pl.lit("\u0000"), account).is_in(pairs)
                | account.is_in(anywhere)).fill_null(False)

    def measurement_filter(self, columns: list[str]) -> "pl.Expr":
        """Keeps the measurement rows :meth:`holds` would."""
        import polars as pl

        if self.client is None:
            return pl.col("client").is_null() if "client" in columns else pl.lit(True)
        own = pl.col("client") == self.client.id if "client" in columns else pl.lit(False)
        no_client = pl.col("client").is_null() if "client" in columns else pl.lit(True)
        return own.fill_null(False) | (no_client & pl.col("account").is_not_null() & self.record_filter())


def whole_workflow_scope(workflow: Any) -> ReportScope:
    """The whole workflow's scope: every account, each named by its client's display name."""
    clients = getattr(workflow, "clients", None) or ()
    return ReportScope(None, None, {account: name for client in clients for account, name in client.accounts.items()})
