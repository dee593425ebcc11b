"""The clients stage: each record of an account a ``[[clients]]`` entry lists is labelled with
that client's id (a ``client`` column), so that metrics can measure each client's whole
(``by = ["client"]``, ``by = [["client", "platform"]]``) without mixing two clients' figures.

Accounts are compared as a ``[listen]`` brand's are (:func:`~cmflow.foundation.listening.account_key`:
without case, accents, surrounding blanks or a leading ``@``): a client listing ``"@Maison"`` owns
the records of ``maison``. Records of accounts no client lists get no label: their client
breakdown is ``(none)``. A record
that names its client itself (a time entry's ``client``, as the tracker calls it) keeps it, as
the id of the ``[[clients]]`` entry whose id or name it is, whatever the case.

Traffic has no account (a web analytics property counts visits, not posts): a traffic record
belongs to the client whose records name its campaign (utm_campaign), the client's time entries
or its accounts' posts and calendar items, campaigns compared by
:func:`~cmflow.foundation.campaign_names.campaign_key`. A campaign no client's records name, or
that two clients' records name, labels no client: its traffic counts in no client's figures.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import polars as pl

    from cmflow.stages.fetch import Fetched
    from cmflow.workflow import Workflow


def clients(workflow: "Workflow", fetched: "Fetched") -> "Fetched":
    """``fetched`` with a ``client`` column on every record frame that has accounts."""
    import polars as pl

    from cmflow.foundation.listening import account_key

    if not workflow.clients:
        return fetched
    owner = {account_key(account): client.id for client in workflow.clients for account in client.accounts}
    named = {name.strip().lower(): client.id for client in workflow.clients for name in (client.id, client.name)}
    labelled = {}
    for kind, frame in fetched.records.items():
        if "account" in frame.columns:
            label = pl.col("account").replace_strict(_owners(frame["account"], owner), default=None,
                                                     return_dtype=pl.String)
            if "client" in frame.columns:
                own = pl.col("client").cast(pl.String)
                label = pl.coalesce(label, own.str.strip_chars().str.to_lowercase()
                                    .replace_strict(named, default=own, return_dtype=pl.String))
            frame = frame.with_columns(label.alias("client"))
        labelled[kind] = frame
    if "traffic" in labelled and "campaign" in labelled["traffic"].columns:
        traffic = labelled["traffic"]
        labelled["traffic"] = traffic.with_columns(_client_of_campaigns(labelled, traffic).alias("client"))
    return replace(fetched, records=labelled)


def _owners(accounts: "pl.Series", owner: dict[str, str]) -> dict[str, str]:
    """Each account name of ``accounts`` whose :func:`~cmflow.foundation.listening.account_key`
    a client lists (``owner``), with that client's id; normalised once per distinct name, not
    once per record."""
    import polars as pl

    from cmflow.foundation.listening import normalised_authors

    names = accounts.cast(pl.String).drop_nulls().unique()
    owners = normalised_authors(names).replace_strict(owner, default=None, return_dtype=pl.String)
    return {name: client for name, client in zip(names.to_list(), owners.to_list()) if client is not None}


def _client_of_campaigns(records: dict[str, "pl.DataFrame"], traffic: "pl.DataFrame") -> "pl.Expr":
    """The client each traffic record's campaign belongs to
    (:func:`~cmflow.foundation.clients.campaign_owners`); null when
    none or several. Campaigns are keyed once per distinct name, not once per record."""
    import polars as pl

    from cmflow.foundation.campaign_names import campaign_key
    from cmflow.foundation.clients import campaign_owners

    owners = campaign_owners(records)
    if not owners:
        return pl.lit(None, dtype=pl.String)
    written = traffic.select(pl.col("campaign").cast(pl.String)).drop_nulls().unique()
    client_of = {campaign: owners[key]
                 for campaign, key in written.with_columns(campaign_key(pl.col("campaign")).alias("key")).iter_rows()
                 if key in owners}
    return pl.col("campaign").cast(pl.String).replace_strict(client_of, default=None, return_dtype=pl.String)
