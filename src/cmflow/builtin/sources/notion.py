"""The ``notion`` source: an editorial calendar kept as a Notion database, as calendar items.

Each page of the database with a publication date is a planned content; its properties, found by
name (French and English defaults, or the names the workflow gives), say its status, platform,
format, pillar, campaign, owner and link. The database is read first (``GET
/v1/databases/{id}``): its properties' names and types, so that a name the workflow gives and
the database lacks, or a date property that is no date, is refused before anything else. Then
``POST /v1/databases/{id}/query`` with a filter on the date property around the window, page by
page (``start_cursor`` from ``next_cursor`` while ``has_more``). Headers: ``Authorization:
Bearer`` and ``Notion-Version: 2022-06-28``. Platform facts: docs/sources/notion.md.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Iterable, Optional
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator

from cmflow import PluginOptions, RecordTable, Source, WebUrl, WholeNumber, hookimpl
from cmflow.http import allow_private_network_option

from cmflow.builtin.sources.calendar_common import (DEFAULT_NAMES, CalendarFieldNames, calendar_format,
                                                    calendar_platforms, calendar_status, in_window,
                                                    names_list, resolve_field_names,
                                                    text_or_none, whole_day)
from cmflow.builtin.sources.calendar_values import CALENDAR_FIELD_NAMES, one_per_platform, statuses_option
from cmflow.builtin.sources.platform_common import bad_answer, parse_instant, run_zone

if TYPE_CHECKING:
    from cmflow import FetchContext
    from cmflow.http import PlatformError, PlatformSession

PLATFORM = "notion"
NOTION_NAMES: dict[str, tuple[str, ...]] = {
    **DEFAULT_NAMES, **{field: CALENDAR_FIELD_NAMES[field] for field in ("date", "status", "owner")}}
"""The property names looked for, in order, when the option names none: a calendar sheet's
column names (:data:`calendar_values.CALENDAR_FIELD_NAMES`, one table for every calendar source)."""
TYPES_OF: dict[str, tuple[str, ...]] = {
    "date": ("date",),
    "status": ("status", "select", "rich_text", "formula"),
    "platform": ("select", "multi_select", "rich_text", "formula"),
    "owner": ("people", "select", "rich_text", "created_by"),
    "url": ("url", "rich_text", "formula"),
}
"""The property types a calendar field may have; the others accept select, multi_select,
rich_text, url, number and formula."""
OTHER_TYPES = ("select", "multi_select", "rich_text", "url", "number", "formula", "title")
DATABASE_ID = re.compile(r"([0-9a-f]{8})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{12})")


class NotionFieldNames(CalendarFieldNames):
    """Which property holds which calendar field; unset ones use the defaults."""

    date: Optional[str] = Field(
        None, description="The date property holding the planned publication (a day, or a day and a "
        "time). Default: the first of " + ", ".join(NOTION_NAMES["date"]) + ".", examples=["Publication"])
    status: Optional[str] = Field(
        None, description="The status or select property holding where the content stands. Default: the "
        "first of " + ", ".join(NOTION_NAMES["status"]) + ".", examples=["Avancement"])
    owner: Optional[str] = Field(
        None, description="The people property holding who is responsible (the first person named). "
        "Default: the first of " + ", ".join(NOTION_NAMES["owner"]) + ".", examples=["Rédacteur"])


class NotionOptions(PluginOptions):
    database: str = Field(
        description="The database: its id (32 hexadecimal digits, with or without dashes), or its "
        "address (https://www.notion.so/<workspace>/<id>?v=...). Share it with the integration "
        "(the database's ... menu > Connections).", examples=["3f2a9c1e7b4d4e8fa1c2d3e4f5a6b7c8"])
    token: SecretStr = Field(
        description="The internal integration secret (https://www.notion.so/my-integrations, \"Read "
        "content\" capability). Write token = \"${env:NOTION_TOKEN}\".", examples=["${env:NOTION_TOKEN}"])
    field_names: NotionFieldNames = Field(
        default_factory=NotionFieldNames,
        description="Which property of the database holds which calendar field, when the defaults "
        "(Date de publication/Date, Statut/Status, Plateforme/Platform, Format, Pilier/Pillar, "
        "Campagne/Campaign, Responsable/Owner, Lien/Link ...) do not match. The title property is "
        "the item's title. A name given here that the database lacks is an error listing its "
        "properties. A multi-select platform gives one calendar item per platform.",
        examples=[{"date": "Publication", "platform": "Réseaux"}])
    statuses: dict[str, str] = statuses_option()
    page_size: WholeNumber = Field(100, ge=1, le=100, description="Pages asked for per request (1 to 100).",
                                   examples=[50])
    api_version: str = Field("2022-06-28", description="The Notion-Version header: the API version the "
                             "answers' shapes follow.", examples=["2022-06-28"])
    base_url: WebUrl = Field("https://api.notion.com", description="Notion's API address (a test "
                             "server's in tests).", examples=["https://api.notion.com"])
    allow_private_network: bool = allow_private_network_option("an API base URL")

    @field_validator("database")
    @classmethod
    def _database(cls, database: str) -> str:
        found = DATABASE_ID.search(database.strip().lower().split("?")[0])
        if not found:
            raise ValueError(f"{database!r} is not a Notion database: give its id (32 hexadecimal digits), "
                             "or its address (https://www.notion.so/<workspace>/<id>?v=...)")
        return "-".join(found.groups())


class NotionSource(Source):
    """Reads an editorial calendar from a Notion database: each page with a date is a calendar item.

    The date property's start -> planned_at (UTC; a day without a time is a whole-day plan at
    midnight in the workflow's time zone; a time without an offset is read in the date's own
    ``time_zone``), the status -> status (lower case), the select/multi-select properties ->
    platform, format, pillar, campaign, account; the people property's first person -> owner;
    the url property -> url; ``last_edited_time`` -> updated_at; the title property -> title.
    """

    name = "notion"
    description = "Read an editorial calendar from a Notion database: pages with a date as calendar items."
    Options = NotionOptions
    record_kinds = ("calendar_item",)
    incremental = False  # plans move and get archived after the fact: each run reads the calendar as it
    # stands (the store would keep a copy of a plan that moved out of the window or was deleted)

    def fetch(self, ctx: "FetchContext") -> Iterable[RecordTable]:
        from cmflow.http import Cursor

        options: NotionOptions = self.options
        notion = self._session(ctx)
        properties = self._properties(notion)
        names = self._field_names(properties)
        zone = run_zone(ctx)
        date_name = names["date"]
        # Notion filters by whole days, read in its own time zone: a day more either side of the
        # window's UTC days, then the window exactly here.
        first = ctx.window_start.astimezone(timezone.utc).date() - timedelta(days=1)
        after_last = ctx.window_end.astimezone(timezone.utc).date() + timedelta(days=2)
        body = {"filter": {"and": [
            {"property": date_name, "date": {"on_or_after": first.isoformat()}},
            {"property": date_name, "date": {"before": after_last.isoformat()}},
        ]}, "sorts": [{"property": date_name, "direction": "ascending"}], "page_size": options.page_size}
        path = f"/v1/databases/{options.database}/query"
        rows: list[dict[str, Any]] = []
        for answer in notion.pages(path, method="POST", json=body,
                                   paging=Cursor("next_cursor", "start_cursor", send_in="json", has_more="has_more")):
            results = answer.get("results") if isinstance(answer, dict) else None
            if not isinstance(results, list) or not all(isinstance(p, dict) and p.get("id") for p in results):
                raise bad_answer(notion, f"POST {path}", "it has no results list of pages with ids",
                                 hint="Check the database option")
            for page in results:
                if page.get("archived") or page.get("in_trash") or page.get("object") != "page":
                    continue
                planned_at = self._planned_at(notion, page, date_name, zone)
                if planned_at is not None and in_window(planned_at, ctx.window_start, ctx.window_end):
                    rows += self._items(page, names, planned_at)
        yield RecordTable.from_rows("calendar_item", rows)

    def check_credentials(self, ctx: "FetchContext") -> list[Any]:
        """``GET /v1/users/me`` (the integration's bot and workspace), then ``GET
        /v1/databases/{id}`` (the database is shared with it). Internal integration secrets do not
        expire; Notion sends no rate headers until a 429."""
        from cmflow import CredentialCheck
        from cmflow.http import PlatformError

        options: NotionOptions = self.options
        notion = self._session(ctx)
        row = CredentialCheck.for_source(self, account=f"database {options.database}",
                                         budget="not reported by Notion (about 3 requests a second)")
        row.expiry(None, notion.client.clock(), renew=notion.platform.renew_hint, note="never (until revoked)")
        try:
            me = notion.get_json("/v1/users/me")
            row.token_valid = True
            database = notion.get_json(f"/v1/databases/{options.database}")
            bot = me.get("bot") if isinstance(me, dict) and isinstance(me.get("bot"), dict) else {}
            who = bot.get("workspace_name") or (me.get("name") if isinstance(me, dict) else None)
            title = plain_text(database.get("title")) if isinstance(database, dict) else None
            row.account = f"{title or options.database}" + (f" (workspace {who})" if who else "")
        except PlatformError as exc:
            row.failed(exc, notion.client.clock())
        return [row]

    # -- the requests ----------------------------------------------------------------------------
    def _session(self, ctx: "FetchContext") -> "PlatformSession":
        options: NotionOptions = self.options
        return ctx.http.session(PLATFORM, base_url=options.base_url, token=options.token.get_secret_value(),
                                source=self.entry_id, api_version=options.api_version,
                                allow_private_network=options.allow_private_network)

    def _properties(self, notion: "PlatformSession") -> dict[str, dict[str, Any]]:
        path = f"/v1/databases/{self.options.database}"
        database = notion.get_json(path)
        properties = database.get("properties") if isinstance(database, dict) else None
        if not isinstance(properties, dict) or not properties:
            raise bad_answer(notion, f"GET {path}", "it has no properties", hint="Check the database option")
        return {str(name): prop for name, prop in properties.items() if isinstance(prop, dict)}

    def _field_names(self, properties: dict[str, dict[str, Any]]) -> dict[str, str]:
        """Calendar field -> property name, the title property as ``title``; every one of a type
        that can hold it."""
        given: NotionFieldNames = self.options.field_names

        def missing(field: str, name: str) -> "PlatformError":
            return self._error(f"the database has no property named {name!r} (field_names.{field}); its "
                               f"properties: {names_list(properties)}",
                               hint=f"Set field_names.{field} to one of them, or leave it out to use the "
                                    f"defaults ({', '.join(NOTION_NAMES[field])})")

        found = resolve_field_names(given, NOTION_NAMES, properties, missing=missing)
        if "date" not in found:
            dates = [name for name, prop in properties.items() if prop.get("type") == "date"]
            raise self._error(f"the database has no date property named {', '.join(NOTION_NAMES['date'])}; its "
                              f"date properties: {names_list(dates)}",
                              hint="Set field_names.date to the property holding the planned publication")
        for field, name in found.items():
            kind = properties[name].get("type")
            allowed = TYPES_OF.get(field, OTHER_TYPES)
            if kind not in allowed:
                raise self._error(f"the property {name!r} (field_names.{field}) is a {kind} property, which "
                                  f"cannot hold the {field.replace('_', ' ')}: it must be "
                                  f"{' or '.join(allowed)}", hint=f"Set field_names.{field} to another property")
        title = next((name for name, prop in properties.items() if prop.get("type") == "title"), None)
        if title is not None:
            found["title"] = title
        return found

    # -- mapping ---------------------------------------------------------------------------------
    def _planned_at(self, notion: "PlatformSession", page: dict[str, Any], name: str, zone: Any) -> datetime | None:
        value = (page.get("properties") or {}).get(name) or {}
        when = value.get("date") if isinstance(value, dict) else None
        if not isinstance(when, dict) or not when.get("start"):
            return None
        start = str(when["start"])
        try:
            if len(start) == 10:
                return whole_day(date.fromisoformat(start), zone)
            instant = datetime.fromisoformat(start)
            if instant.tzinfo is None:
                instant = instant.replace(tzinfo=ZoneInfo(when["time_zone"]) if when.get("time_zone") else zone)
            return parse_instant(instant.isoformat())
        except (ValueError, ZoneInfoNotFoundError):
            raise bad_answer(notion, f"POST /v1/databases/{self.options.database}/query",
                             f"page {page.get('id')!r} has an unreadable {name!r} ({start!r}, time zone "
                             f"{when.get('time_zone')!r})", hint="Notion writes dates as 2026-11-20 or "
                             "2026-11-20T10:00:00.000+01:00") from None

    def _items(self, page: dict[str, Any], names: dict[str, str], planned_at: datetime) -> list[dict[str, Any]]:
        properties = page.get("properties") or {}

        def texts(field: str) -> list[str]:
            name = names.get(field)
            return property_texts(properties.get(name)) if name else []

        def first(field: str) -> str | None:
            return next((text for value in texts(field) if (text := text_or_none(value))), None)

        item = {
            "item_id": str(page["id"]), "planned_at": planned_at, "title": first("title"),
            "format": calendar_format(first("format")), "pillar": first("pillar"), "campaign": first("campaign"),
            "account": first("account"), "status": calendar_status(first("status"), self.options.statuses), "owner": first("owner"),
            "post_id": first("post_id"), "url": first("url"),
            "updated_at": parse_instant(str(page["last_edited_time"])) if page.get("last_edited_time") else None,
        }
        return one_per_platform(item, calendar_platforms(texts("platform")))

    def _error(self, message: str, *, hint: str = "") -> "PlatformError":
        from cmflow.http import PlatformError

        return PlatformError(message, platform="Notion", source=self.entry_id, hint=hint)


def plain_text(rich_text: Any) -> str | None:
    """The plain text of a rich text array (a title, a rich_text property); None when empty."""
    if not isinstance(rich_text, list):
        return None
    text = "".join(str(part.get("plain_text") or "") for part in rich_text if isinstance(part, dict))
    return text.strip() or None


def property_texts(prop: Any) -> list[str]:
    """The texts a page property holds, whatever its type: a select's or status's option name, a
    multi-select's option names, the people's names (a person the integration cannot see has
    none), a title's or rich text's plain text, a url, a number, a formula's result."""
    if not isinstance(prop, dict):
        return []
    kind = prop.get("type")
    value = prop.get(kind) if isinstance(kind, str) else None
    if kind in ("select", "status"):
        found = [value.get("name")] if isinstance(value, dict) else []
    elif kind == "multi_select":
        found = [option.get("name") for option in value or [] if isinstance(option, dict)]
    elif kind == "people":
        found = [person.get("name") for person in value or [] if isinstance(person, dict)]
    elif kind == "created_by":
        found = [value.get("name")] if isinstance(value, dict) else []
    elif kind in ("title", "rich_text"):
        found = [plain_text(value)]
    elif kind in ("url", "email", "phone_number"):
        found = [value]
    elif kind == "number":
        found = [None if not isinstance(value, (int, float)) else
                 str(int(value)) if float(value).is_integer() else str(value)]  # a post id keeps its digits
    elif kind == "formula" and isinstance(value, dict):
        result = value.get(value.get("type")) if isinstance(value.get("type"), str) else None
        found = [result if isinstance(result, str) else None]
    else:
        found = []
    return [str(text) for text in found if isinstance(text, (str, int, float)) and str(text).strip()]


@hookimpl
def register_sources(register):
    register(NotionSource)
