"""The clients stage: each record of an account a ``[[clients]]`` entry lists is labelled with
that client's id (a ``client`` column), so that metrics can measure each client's whole
(``by = ["client"]``, ``by = [["client", "platform"]]``) without mixing two clients' figures.

Records of accounts no client lists get no label: their client breakdown is ``(none)``. A record
that names its client itself (a time entry's ``client``, as the tracker calls it) keeps it, as
the id of the ``[[clients]]`` entry whose id or name it is, whatever the case.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cmflow.stages.fetch import Fetched
    from cmflow.workflow import Workflow


def clients(workflow: "Workflow", fetched: "Fetched") -> "Fetched":
    """``fetched`` with a ``client`` column on every record frame that has accounts."""
    import polars as pl

    if not workflow.clients:
        return fetched
    owner = {account: client.id for client in workflow.clients for account in client.accounts}
    named = {name.strip().lower(): client.id for client in workflow.clients for name in (client.id, client.name)}
    labelled = {}
    for kind, frame in fetched.records.items():
        if "account" in frame.columns:
            label = pl.col("account").replace_strict(owner, default=None, return_dtype=pl.String)
            if "client" in frame.columns:
                own = pl.col("client").cast(pl.String)
                label = pl.coalesce(label, own.str.strip_chars().str.to_lowercase()
                                    .replace_strict(named, default=own, return_dtype=pl.String))
            frame = frame.with_columns(label.alias("client"))
        labelled[kind] = frame
    return replace(fetched, records=labelled)
