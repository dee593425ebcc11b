"""What the editorial-calendar sources (``trello``, ``asana``, ``notion``) share.

Each tool names things its own way (a Trello custom field, an Asana custom field, a Notion
property), and each team names them in its own language: ``Plateforme`` or ``Platform``,
``Pilier`` or ``Pillar``. :class:`CalendarFieldNames` is the option that says which name holds
which calendar field, with French and English defaults (the names of a calendar sheet's columns:
one table for every calendar source); :func:`resolve_field_names` finds them
among the names a board, project or database has, and refuses a name given explicitly that is
not there, listing those that are. The values then become a calendar item's: platforms as a
calendar sheet's cells (:func:`calendar_values.platforms_in`: ``IG + FB`` is two), formats through :func:`cmflow.format_of`, statuses through
:func:`cmflow.status_of` (the same words as a calendar sheet's), a date without a time as a
whole-day plan (:func:`cmflow.whole_day_instant`: midnight in the workflow's time zone).
"""

from __future__ import annotations

from datetime import date, datetime, tzinfo
from typing import Any, Iterable, Mapping, Optional

from pydantic import Field

from cmflow import PluginOptions, format_of, status_of, whole_day_instant

from cmflow.builtin.sources.calendar_values import CALENDAR_FIELD_NAMES, plain, platforms_in

DEFAULT_NAMES: dict[str, tuple[str, ...]] = {
    field: CALENDAR_FIELD_NAMES[field] for field in ("platform", "format", "pillar", "campaign", "account", "url", "post_id")}
"""The names looked for, in order, when the option names none (compared without letter case or
accents): those of a calendar sheet's columns (:data:`calendar_values.CALENDAR_FIELD_NAMES`,
the one table for every calendar source). The first one the tool has is used."""

class CalendarFieldNames(PluginOptions):
    """Which field of the tool holds which calendar field; unset ones use the defaults."""

    platform: Optional[str] = Field(
        None, description="The field holding the target platform (a name, an abbreviation such as IG or "
        "an address; a tool's multi-choice field may give several, one calendar item each). Default: the "
        "first of " + ", ".join(DEFAULT_NAMES["platform"]) + ".", examples=["Réseau social"])
    format: Optional[str] = Field(
        None, description="The field holding the planned format (Image, Vidéo, Reel, Carrousel, Story ...). "
        "Default: the first of " + ", ".join(DEFAULT_NAMES["format"]) + ".", examples=["Type"])
    pillar: Optional[str] = Field(
        None, description="The field holding the editorial pillar. Default: the first of "
        + ", ".join(DEFAULT_NAMES["pillar"]) + ".", examples=["Thème"])
    campaign: Optional[str] = Field(
        None, description="The field holding the campaign. Default: the first of "
        + ", ".join(DEFAULT_NAMES["campaign"]) + ".", examples=["Opération"])
    account: Optional[str] = Field(
        None, description="The field holding the target account. Default: the first of "
        + ", ".join(DEFAULT_NAMES["account"]) + ".", examples=["Marque"])
    url: Optional[str] = Field(
        None, description="The field holding the planned link or the published post's address. Default: "
        "the first of " + ", ".join(DEFAULT_NAMES["url"]) + ".", examples=["Permalien"])
    post_id: Optional[str] = Field(
        None, description="The field holding the published post's id. Default: the first of "
        + ", ".join(DEFAULT_NAMES["post_id"]) + ".", examples=["Id publication"])


def resolve_field_names(given: PluginOptions, defaults: Mapping[str, tuple[str, ...]], available: Iterable[str],
                        *, missing: Any) -> dict[str, str]:
    """Calendar field -> the tool's own name for it, for the fields the tool has.

    ``given`` is the source's names option (unset fields use ``defaults``); ``available`` the
    names the board, project or database has. A name given explicitly that is not there calls
    ``missing(field, name)``, which returns the exception to raise."""
    by_folded: dict[str, str] = {}
    for name in available:
        by_folded.setdefault(plain(name), name)
    found: dict[str, str] = {}
    for field, candidates in defaults.items():
        explicit = getattr(given, field, None)
        if explicit is not None:
            if plain(explicit) not in by_folded:
                raise missing(field, explicit)
            found[field] = by_folded[plain(explicit)]
            continue
        for candidate in candidates:
            if plain(candidate) in by_folded:
                found[field] = by_folded[plain(candidate)]
                break
    return found


def names_list(names: Iterable[str]) -> str:
    """``Campagne, Format, Lien`` (sorted, each once), or ``none`` for no name."""
    unique = sorted(set(names), key=plain)
    return ", ".join(unique) if unique else "none"


def calendar_platforms(values: Iterable[Any]) -> list[str]:
    """The platforms a field names (a multi-choice field: each of its values), each once, in
    order, read as a calendar sheet's cell (:func:`calendar_values.platforms_in`): ``IG`` is
    instagram, ``IG + FB`` instagram and facebook, ``Newsletter`` (no known platform) newsletter."""
    platforms: list[str] = []
    for value in values:
        if isinstance(value, str):
            platforms.extend(p for p in platforms_in(value) if p not in platforms)
    return platforms


def calendar_format(value: Any) -> str | None:
    """The post format a planned format names (``Vidéo`` -> video, ``Carrousel`` -> carousel); an
    unknown one in lower case, as written."""
    if not isinstance(value, str) or not value.strip():
        return None
    return format_of(value) or " ".join(value.strip().lower().split())


def calendar_status(value: Any, statuses: Mapping[str, str] | None = None) -> str | None:
    """A status as every calendar source reads it (:func:`cmflow.status_of`: the team's own
    ``statuses`` first, then ``Programmé`` is scheduled, an unknown word lower-cased); None when empty."""
    return status_of(value, dict(statuses or {})) if isinstance(value, str) else None


def text_or_none(value: Any) -> str | None:
    """A text value stripped, None when empty or not text."""
    if not isinstance(value, str):
        return None
    return value.strip() or None


def whole_day(day: date, zone: tzinfo) -> datetime:
    """A plan for a day without a time: midnight of that day in the workflow's time zone, in UTC
    (:func:`cmflow.whole_day_instant`, docs/concepts.md#calendar_item)."""
    return whole_day_instant(day, str(zone))


def in_window(instant: datetime, start: datetime, end: datetime) -> bool:
    """Whether ``instant`` falls in ``[start, end)``."""
    return start <= instant < end
