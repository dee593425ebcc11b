"""Which language an alert is told in, and its summary in that language.

An alert about one client's series (its ``client`` dimension names the client, or its
``account`` is one the client lists) is told in the client's ``language`` (``[[clients]]``);
any other alert in English. The words are the reports' (:mod:`cmflow.builtin.reports.language`:
the message catalogues and Babel's number formats), never a second set.

A built-in trigger says its alerts again in a language (its ``told`` method, from the alert
and the trigger's own options); an alert whose trigger cannot (a third party's) keeps its
summary as the trigger wrote it. Text that comes from the data (titles, accounts, campaigns)
is never translated.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from cmflow import Alert
    from cmflow.builtin.reports.language import Language
    from cmflow.foundation.clients import Client
    from cmflow.workflow import Workflow

DEFAULT_LANGUAGE = "en"
"""The language of an alert that is no client's."""


class ToldTrigger(Protocol):
    """A trigger that can say its alerts in a language (the built-in ones)."""

    def told(self, alert: "Alert", lang: "Language", unit: str) -> str | None:
        """``alert``'s summary in ``lang``'s words (``unit``: its measurement's), or None to
        keep the summary as written."""


def alert_client(alert: "Alert", clients: "list[Client]") -> "Client | None":
    """The client whose series ``alert`` is about: the one its ``client`` dimension names, else
    the one listing its ``account``; None for an alert about no single client's series."""
    from cmflow.foundation.clients import client_of

    named = alert.dimensions.get("client")
    if named is not None:
        return next((client for client in clients if client.id == str(named)), None)
    account = alert.dimensions.get("account")
    return client_of(clients, str(account)) if account is not None else None


def alert_language(alert: "Alert", workflow: "Workflow") -> "Language":
    """The language ``alert`` is told in: its client's, else English."""
    from cmflow.builtin.reports.language import language

    client = alert_client(alert, list(getattr(workflow, "clients", [])))
    return language(client.language if client is not None else DEFAULT_LANGUAGE)


def told_summary(alert: "Alert", lang: "Language", workflow: "Workflow", unit: str) -> str:
    """``alert``'s summary in ``lang``: said again by its trigger when the trigger can, else
    (English, a third party's trigger, a trigger entry gone from the file) as written."""
    if lang.code == DEFAULT_LANGUAGE:
        return alert.summary
    entry = next((e for e in getattr(workflow, "triggers", []) if e.id == alert.rule), None)
    told = getattr(entry.plugin, "told", None) if entry is not None else None
    text = told(alert, lang, unit) if told is not None else None
    return text or alert.summary
