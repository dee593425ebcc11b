"""Clients of an agency workflow: who owns which accounts, how to name them, how to brand and
send their reports.

A workflow's ``[[clients]]`` entries become :class:`Client` objects (``workflow.clients``). An
account belongs to at most one client; reports name it by its display name ("Maison Lumière")
rather than its handle, and an account no client lists still shows, under its handle. Accounts
are compared as :func:`~cmflow.foundation.listening.account_key` does (``"@Maison "`` is ``maison``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Mapping, Sequence

from cmflow.foundation.listening import account_key

if TYPE_CHECKING:
    import polars as pl

LANGUAGES: tuple[str, ...] = ("fr", "en")
"""The languages reports are written in."""


@dataclass(frozen=True)
class Client:
    """One client: display name, accounts, language, branding and recipients."""

    id: str
    name: str
    """The client's name as its reports show it ("Maison Lumière")."""
    accounts: Mapping[str, str] = field(default_factory=dict)
    """Each account id (handle, page name) of the client, with its display name."""
    language: str = "en"
    """``fr`` or ``en``: the language of the client's reports, and of the tasks its alerts make."""
    logo: Path | None = None
    """The logo file (PNG, JPEG or SVG), resolved against the workflow's folder."""
    colour: str | None = None
    """The brand colour, ``#rrggbb``."""
    recipients: tuple[str, ...] = ()
    """E-mail addresses the client's reports go to."""

    @cached_property
    def _listed(self) -> dict[str, str]:
        """Each account's :func:`account_key`, with the account as the workflow lists it."""
        return {account_key(account): account for account in self.accounts}

    def owns(self, account: str | None) -> bool:
        """Whether ``account`` is one of the client's (compared by :func:`account_key`)."""
        return account is not None and account_key(account) in self._listed

    def display_name(self, account: str) -> str:
        """The name the reports show for ``account`` (its handle if the client does not list it)."""
        listed = self._listed.get(account_key(account))
        return self.accounts[listed] if listed is not None else account


def client_of(clients: Iterable[Client], account: str | None) -> Client | None:
    """The client ``account`` belongs to, or None."""
    return next((client for client in clients if client.owns(account)), None)


def accounts_of_no_client(clients: Sequence[Client], accounts: Iterable[str | None]) -> list[str]:
    """The accounts (of a run's records or measurements) no client lists, sorted, each once."""
    return sorted({a for a in accounts if a is not None and client_of(clients, a) is None})


def account_display_name(clients: Iterable[Client], account: str) -> str:
    """The name reports show for ``account``: its client's display name for it, else the handle."""
    client = client_of(clients, account)
    return client.display_name(account) if client else account


def campaign_owners(records: dict[str, "pl.DataFrame"]) -> dict[str, str]:
    """Each campaign's client, by :func:`~cmflow.foundation.campaign_names.campaign_key`: the one
    client whose records (time entries, posts, calendar items; not traffic) name that campaign.
    A campaign that no client's records or several clients' name has none, and so has one that an
    unlabelled record names too (a time entry with no client may be another client's spend: generic
    names such as ``black-friday`` or ``soldes`` recur across an agency's clients)."""
    import polars as pl

    from cmflow.foundation.campaign_names import campaign_key

    named = [frame.select(pl.col("campaign").cast(pl.String),
                          (pl.col("client") if "client" in frame.columns else pl.lit(None)).cast(pl.String).alias("client"))
             .unique()
             for kind, frame in records.items() if kind != "traffic" and "campaign" in frame.columns]
    if not named:
        return {}
    pairs = (pl.concat(named).filter(pl.col("campaign").is_not_null())
             .select(campaign_key(pl.col("campaign")).alias("key"), "client")
             .filter(pl.col("key").is_not_null()).unique())
    owners = pairs.group_by("key").agg(pl.col("client").first(), pl.len().alias("clients"))
    return dict(owners.filter((pl.col("clients") == 1) & pl.col("client").is_not_null())
                .select("key", "client").iter_rows())
