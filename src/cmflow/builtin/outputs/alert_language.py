"""Which language an alert is told in, and its summary in that language.

An alert about one client's series is told in the client's ``language`` (``[[clients]]``):
its ``client`` dimension names the client, or its ``account`` is one the client lists, or its
``brand`` is one of the client's brands or competitors (``[listen]``, their ``client``), or its
``campaign`` is the client's by the rule the clients stage labels traffic with (the one client
whose records name it). Any other alert is told in English. The words are the reports'
(:func:`cmflow.language`: the message catalogues and Babel's number formats),
never a second set.

A built-in trigger says its alerts again in a language (its ``told`` method, from the alert
and the trigger's own options); an alert whose trigger cannot (a third party's) keeps its
summary as the trigger wrote it, and so does an alert whose trigger's ``told`` fails (logged).
Text that comes from the data (titles, accounts, campaigns) is never translated.
"""

from __future__ import annotations

import inspect
import logging
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from cmflow import Alert, Client, Language
    from cmflow.builtin.reports.scopes import ReportScope

log = logging.getLogger("cmflow.output.tasks")

DEFAULT_LANGUAGE = "en"
"""The language of an alert that is no client's."""


@runtime_checkable
class ToldTrigger(Protocol):
    """A trigger that can say its alerts in a language: built-in only for now (its ``lang`` is
    the reports' :class:`cmflow.Language`; the protocol itself is not public API yet)."""

    def told(self, alert: "Alert", lang: "Language", unit: str, where: str | None = None) -> str | None:
        """``alert``'s summary in ``lang``'s words (``unit``: its measurement's), its series said
        ``where`` when given (a report's ``for Maison Lumière · Facebook``; else the
        dimensions' values as the data writes them), or None to keep the summary as written."""


def alert_client(alert: "Alert", clients: "list[Client]", listen: Any = None,
                 campaigns: "dict[str, str] | None" = None) -> "Client | None":
    """The client whose series ``alert`` is about: the one its ``client`` dimension names, else
    the one listing its ``account``, else the one its ``brand`` is watched for (``listen``), else
    the one its ``campaign`` belongs to (``campaigns``:
    :func:`~cmflow.foundation.clients.campaign_owners`); None for an alert about no single client's series."""
    from cmflow import campaign_key_of, client_of

    def named(client_id: str | None) -> "Client | None":
        return next((client for client in clients if client.id == client_id), None) if client_id else None

    dimensions = alert.dimensions
    if dimensions.get("client") is not None:
        return named(str(dimensions["client"]))
    if dimensions.get("account") is not None:
        return client_of(clients, str(dimensions["account"]))
    if dimensions.get("brand") is not None and listen is not None:
        brand = next((b for b in listen.brands if b.id == str(dimensions["brand"])), None)
        return named(brand.client if brand is not None else None)
    if dimensions.get("campaign") is not None and campaigns:
        return named(campaigns.get(campaign_key_of(str(dimensions["campaign"])) or ""))
    return None


def alert_language(alert: "Alert", workflow: Any, campaigns: "dict[str, str] | None" = None) -> "Language":
    """The language ``alert`` is told in: its client's (:func:`alert_client`; ``campaigns``, each
    campaign's client: :func:`~cmflow.foundation.clients.campaign_owners` of the run's records), else English."""
    from cmflow import language

    client = alert_client(alert, list(getattr(workflow, "clients", [])), getattr(workflow, "listen", None), campaigns)
    return language(client.language if client is not None else DEFAULT_LANGUAGE)


def campaign_clients(result: Any) -> dict[str, str]:
    """Each campaign's client in a run's records (:func:`~cmflow.foundation.clients.campaign_owners`),
    for :func:`alert_language`; empty for a workflow without clients. Computed once a batch."""
    from cmflow import campaign_owners

    return campaign_owners(result.records) if getattr(result.workflow, "clients", None) else {}


def client_summary(alert: "Alert", workflow: Any, unit: str, campaigns: "dict[str, str] | None" = None) -> str:
    """``alert``'s summary in its client's language (:func:`alert_language`, :func:`told_summary`):
    what a chat message shows of a French client's alert."""
    return told_summary(alert, alert_language(alert, workflow, campaigns), workflow, unit)


def told_summary(alert: "Alert", lang: "Language", workflow: Any, unit: str) -> str:
    """``alert``'s summary in ``lang``: said again by its trigger when the trigger can
    (:func:`said_summary`), else (English, a third party's trigger, a trigger entry gone from
    the file) as written."""
    if lang.code == DEFAULT_LANGUAGE:
        return alert.summary
    return said_summary(alert, lang, workflow, unit)


def said_summary(alert: "Alert", lang: "Language", workflow: Any, unit: str,
                 scope: "ReportScope | None" = None) -> str:
    """``alert`` as its trigger says it in ``lang``, English included, its series as the
    reports name it (:func:`alert_where`: display names,
    the format, pillar, brand, campaign or post it is cut by); as written when the trigger cannot.
    ``scope``: the whole workflow's (:func:`~cmflow.builtin.reports.scopes.whole_workflow_scope`),
    made once a batch by a caller saying many alerts; made here when not given."""
    if scope is None:
        from cmflow.builtin.reports.scopes import whole_workflow_scope

        scope = whole_workflow_scope(workflow)
    where = alert_where(alert.dimensions, scope, lang, workflow)
    series = series_words(alert.dimensions, scope, lang, workflow) if where is not None else None
    return trigger_told(alert, lang, workflow, unit, where=where, series=series) or alert.summary


def trigger_told(alert: "Alert", lang: "Language", workflow: Any, unit: str, where: str | None = None,
                 series: str | None = None) -> str | None:
    """``alert`` as its trigger says it in ``lang`` (what changed, against what), its series
    said ``where`` when given (``pour Maison Lumière · Instagram``), and named ``series``
    (``Maison Lumière · Instagram``, for a sentence that names it its own way); None when the
    trigger cannot (a third party's, an entry gone from the file, an alert read back without
    its details) or fails (logged). The one wording of an alert: the tasks' cards and the
    reports' points to watch both take it."""
    entry = next((e for e in getattr(workflow, "triggers", []) if e.id == alert.rule), None)
    if entry is None or not isinstance(entry.plugin, ToldTrigger):
        return None
    try:
        # each only when given and taken (named or ``**kwargs``): a third party's told(alert, lang, unit) predates them
        parameters = inspect.signature(entry.plugin.told).parameters
        anything = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
        given = {name: value for name, value in (("where", where), ("series", series))
                 if value is not None and (name in parameters or anything)}
        return entry.plugin.told(alert, lang, unit, **given)
    except Exception as exc:  # one trigger's bug must not fail every item of the output
        log.warning("trigger %s could not say alert %s in %s (%s: %s); its item keeps the summary as written",
                    alert.rule, alert.fingerprint[:12], lang.code, type(exc).__name__, exc)
        return None


NAMED_AS_WRITTEN = ("pillar", "campaign", "title", "owner", "utm_source", "utm_medium", "utm_campaign",
                    "utm_content", "utm_term", "sentiment")
"""Dimensions a series is named by as the data writes them (a planned post's owner, a link's UTM fields)."""

NAMED_DIMENSIONS = frozenset(("platform", "account", "client", "brand", "format", "language", "post_id", "item_id",
                              *NAMED_AS_WRITTEN))
"""Every dimension :func:`series_words` names in words; an alert cut by another keeps its trigger's wording."""


def unnamed_dimensions(dimensions: dict[str, Any]) -> list[str]:
    """The dimensions of a series :func:`series_words` has no words for (a third party's ``region``)."""
    return [name for name, value in dimensions.items() if value is not None and name not in NAMED_DIMENSIONS]


def series_words(dimensions: dict[str, Any], scope: "ReportScope", lang: "Language", workflow: Any = None) -> str:
    """A series as the report names it, every dimension it is cut by: the account's display name
    and platform (else the platform, else the client's display name), the brand's name, the
    format and language in words, the pillar, campaign, owner (of a series of many items), sentiment
    and UTM fields as written, a post (``Maison Lumière · Instagram · Carrousel · Noël · publication
    1789``), then any other dimension's value as written; a planned item first, by its title (else
    its id: ``L'atelier du dimanche · Maison Lumière · Instagram``); empty for the whole (an overall figure)."""
    brands = {b.id: b.name for b in getattr(getattr(workflow, "listen", None), "brands", None) or ()}
    named = [scope.series_name(dimensions, lang.platform)]
    if not named[0] and dimensions.get("client") is not None and not dimensions.get("account"):
        clients = {c.id: c.name for c in getattr(workflow, "clients", None) or ()}
        named[0] = clients.get(str(dimensions["client"]), str(dimensions["client"]))
    if dimensions.get("brand") is not None:
        named.append(brands.get(str(dimensions["brand"]), str(dimensions["brand"])))
    if dimensions.get("format") is not None:
        named.append(value_words("format", dimensions["format"], lang))
    if dimensions.get("language") is not None:
        named.append(language_words(str(dimensions["language"]), lang))
    item = dimensions.get("item_id") is not None or dimensions.get("title") is not None
    named += [value_words(name, dimensions[name], lang, workflow) for name in NAMED_AS_WRITTEN  # an item's owner: on its card
              if dimensions.get(name) is not None and not (item and name in ("owner", "title"))]
    if item:  # a planned item leads, named by its title when it has one (its id is a source's, often a hash)
        named.insert(0, str(dimensions["title"] if dimensions.get("title") is not None else dimensions["item_id"]))
    if dimensions.get("post_id") is not None:
        named.append(lang.text("alert_post", id=str(dimensions["post_id"])))
    named += [str(dimensions[name]) for name in unnamed_dimensions(dimensions)]
    return " · ".join(name for name in named if name)


def value_words(name: str, value: Any, lang: "Language", workflow: Any = None) -> str:
    """A dimension's value as a reader reads it: a platform or format in words, a campaign by
    its name (``[production] campaigns`` of ``workflow``, when given: ``Calendrier de l'Avent``),
    the breakdowns' ``(none)`` (:data:`~cmflow.NONE_LABEL`) as the catalogue says it (``Non
    renseigné``), the rest as written."""
    from cmflow import NONE_LABEL

    if value == NONE_LABEL:
        return lang.text("dimension_none")
    if name == "campaign" and workflow is not None:
        return campaign_words(str(value), workflow)
    named = {"platform": lang.platform, "format": lang.post_format}
    return named[name](str(value)) if name in named else str(value)


def shown_dimensions(dimensions: dict[str, Any]) -> list[str]:
    """The dimensions a reader is shown of a series, in its order: all but a planned item's id
    when it has a title (an id the calendar source derived, ``calendar_maison:0edcf7…``, means
    nothing to a client; the item stays found by its key, which never shows)."""
    titled = dimensions.get("title") is not None
    return [name for name, value in dimensions.items() if value is not None and not (titled and name == "item_id")]


def dimension_words(name: str, dimensions: dict[str, Any], scope: "ReportScope", lang: "Language",
                    workflow: Any = None) -> str:
    """One dimension's value as a reader reads it, as the reports name it: an account by its
    display name (``Maison Lumière``, not ``maisonlumiere``), a client and a campaign by their
    names, a platform and format in words (:func:`value_words`), the rest as written."""
    value = dimensions[name]
    if name == "account":
        return scope.account_name(str(dimensions.get("platform") or ""), str(value))
    if name == "client":
        clients = {c.id: c.name for c in getattr(workflow, "clients", None) or ()}
        return clients.get(str(value), str(value))
    return value_words(name, value, lang, workflow)


def campaign_words(campaign: str, workflow: Any) -> str:
    """What a reader calls ``campaign``: its name in the workflow's ``[production] campaigns``
    (:meth:`~cmflow.foundation.production.Production.campaign_name`), else as written."""
    production = getattr(workflow, "production", None)
    return production.campaign_name(campaign) if production is not None else campaign


def language_words(code: str, lang: "Language") -> str:
    """A language code in ``lang``'s words (``fr`` in French: ``Français``), by Babel's CLDR names; as written if unknown."""
    from babel import Locale, UnknownLocaleError

    try:
        name = Locale.parse(lang.code).languages.get(code.lower().replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        name = None
    return name[:1].upper() + name[1:] if name else code


def alert_where(dimensions: dict[str, Any], scope: "ReportScope", lang: "Language", workflow: Any = None) -> str | None:
    """``for <the series>`` (:func:`series_words`) in ``lang``, or its word for the whole; None
    when the series is cut by a dimension without words (:func:`unnamed_dimensions`): its
    trigger then says it as it writes it, never as the whole."""
    if unnamed_dimensions(dimensions):
        return None
    series = series_words(dimensions, scope, lang, workflow)
    return lang.text("alert_told_where", values=series) if series else lang.text("alert_told_overall")


def dimension_label(name: str, lang: "Language") -> str:
    """A dimension as a description names it: the reports' column (``Compte``), a task's word
    (``Titre``, the catalogue's ``[task_field]``), else the name in words (``Item id``, a third party's ``Shop``):
    the one naming of a dimension, for task cards, chat lines and the html_report alike."""
    from cmflow import MessageError

    for key in (f"column_{name}", f"task_field_{name}"):
        if lang.has(key):
            try:  # both tables hold plain words; a message needing values is no label
                return lang.text(key)
            except MessageError:
                continue
    return name.replace("_", " ").capitalize()
