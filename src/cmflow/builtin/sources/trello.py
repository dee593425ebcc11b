"""The ``trello`` source: an editorial calendar kept as a Trello board, as calendar items.

A card with a due date is a planned content: its list is its status (``Idées``, ``Validé``,
``Programmé``, ``Publié``), its custom fields say the platform, format, pillar, campaign and
the post's link (dropdowns give an option id, resolved through the board's custom fields), its
first member is its owner. The board's lists, custom fields, labels and members are read once
(``GET /1/boards/{board}/lists`` ...), then its cards page by page, newest first
(``GET /1/boards/{board}/cards?limit=…&before=<oldest id so far>``). Trello cannot filter cards
by due date: every card is read, those due in the window kept. Archived cards, and cards of
archived lists, are left out; cards without a due date are ideas, not plans, and are counted in
the run summary. Platform facts: docs/sources/trello.md.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Iterable

from pydantic import Field, SecretStr, field_validator

from cmflow import PluginOptions, RecordTable, Source, WebUrl, WholeNumber, hookimpl, platform_of
from cmflow.http import allow_private_network_option

from cmflow.builtin.sources.calendar_common import (DEFAULT_NAMES, CalendarFieldNames, calendar_format,
                                                    calendar_platforms, calendar_status, in_window,
                                                    names_list, resolve_field_names,
                                                    text_or_none)
from cmflow.builtin.sources.calendar_values import one_per_platform, pillars_option, plain, statuses_option
from cmflow.builtin.sources.platform_common import bad_answer, parse_instant
from cmflow.builtin.tool_addresses import trello_board

if TYPE_CHECKING:
    from cmflow import FetchContext
    from cmflow.http import ApiResponse, PageRequest, PlatformError, PlatformSession

PLATFORM = "trello"
CARD_FIELDS = "id,name,idList,idMembers,labels,due,closed,dateLastActivity,shortUrl,url"


class TrelloOptions(PluginOptions):
    board: str = Field(
        description="The board: its id (24 hexadecimal digits) or its short link, the 8 characters "
        "after /b/ in its address (https://trello.com/b/nC8QJJoZ/calendrier -> nC8QJJoZ).",
        examples=["nC8QJJoZ"])
    key: SecretStr = Field(
        description="The API key of your Trello Power-Up (https://trello.com/power-ups/admin). "
        "Write key = \"${env:TRELLO_KEY}\".", examples=["${env:TRELLO_KEY}"])
    token: SecretStr = Field(
        description="A token authorised with that key by a member of the board (read scope is "
        "enough). Write token = \"${env:TRELLO_TOKEN}\".", examples=["${env:TRELLO_TOKEN}"])
    field_names: CalendarFieldNames = Field(
        default_factory=CalendarFieldNames,
        description="Which custom field of the board holds which calendar field, when the defaults "
        "(Plateforme/Platform, Format, Pilier/Pillar, Campagne/Campaign, Compte/Account, Lien/Link, "
        "ID du post/Post ID) do not match. A name given here that the board lacks is an error "
        "listing the custom fields it has.", examples=[{"platform": "Réseau social", "pillar": "Thème"}])
    pillars: list[str] = pillars_option("labels", "A label naming a platform (Instagram, LinkedIn ...) always gives the "
                                   "platform of a card without a platform custom field.")
    statuses: dict[str, str] = statuses_option()
    page_size: WholeNumber = Field(500, ge=1, le=1000, description="Cards asked for per request (1 to 1,000).",
                                   examples=[1000])
    base_url: WebUrl = Field("https://api.trello.com", description="Trello's API address (a test "
                             "server's in tests).", examples=["https://api.trello.com"])
    allow_private_network: bool = allow_private_network_option("an API base URL")

    @field_validator("board")
    @classmethod
    def _board(cls, board: str) -> str:
        return trello_board(board)


@dataclass(frozen=True)
class BeforeOldest:
    """Trello's paging of a board's cards: ``limit`` cards, newest first; the next page is
    ``before`` the oldest card id seen (ids begin with their creation time). A page shorter than
    ``limit`` is the last (Trello honours any ``limit`` up to 1,000)."""

    page_size: int

    def first(self, request: "PageRequest") -> "PageRequest":
        return replace(request, params={**request.params, "limit": self.page_size})

    def next(self, request: "PageRequest", response: "ApiResponse", body: Any) -> "PageRequest | None":
        if not isinstance(body, list) or len(body) < self.page_size:
            return None
        ids = [card["id"] for card in body if isinstance(card, dict) and isinstance(card.get("id"), str)]
        return replace(request, params={**request.params, "before": min(ids)}) if ids else None


@dataclass(frozen=True)
class Board:
    """What a board says once for all its cards: list names, custom fields, members, labels."""

    lists: dict[str, dict[str, Any]]
    custom_fields: dict[str, dict[str, Any]]
    """Custom field id -> definition (``name``, ``type``, ``options``)."""
    members: dict[str, str]
    """Member id -> full name."""
    field_ids: dict[str, str]
    """Calendar field -> id of the custom field holding it."""
    pillar_labels: frozenset[str]
    """Folded names of the labels that are pillars."""


class TrelloSource(Source):
    """Reads an editorial calendar from a Trello board: each card with a due date is a calendar item.

    ``due`` -> planned_at (UTC), the card's list -> status (lower case), custom fields ->
    platform, format, pillar, campaign, account, url, post_id (dropdowns resolved to their
    option's text), first member -> owner, ``dateLastActivity`` -> updated_at, the card's name ->
    title. The card's own address is not the post's: only a custom field, or an attachment
    linking to a platform, gives the url. A card naming several platforms (labels) is one item
    per platform (``<card id>#<platform>``).
    """

    name = "trello"
    description = "Read an editorial calendar from a Trello board: cards with a due date as calendar items."
    Options = TrelloOptions
    record_kinds = ("calendar_item",)
    incremental = False  # plans move and get archived after the fact: each run reads the calendar as it
    # stands (the store would keep a copy of a plan that moved out of the window or was deleted)

    def fetch(self, ctx: "FetchContext") -> Iterable[RecordTable]:
        options: TrelloOptions = self.options
        trello = self._session(ctx)
        board = self._board(trello)
        rows: list[dict[str, Any]] = []
        ideas = 0
        path = f"/1/boards/{options.board}/cards"
        params = {"key": options.key.get_secret_value(), "fields": CARD_FIELDS, "customFieldItems": "true",
                  "attachments": "true", "attachment_fields": "name,url,isUpload"}
        for page in trello.pages(path, paging=BeforeOldest(options.page_size), params=params):
            if not isinstance(page, list) or not all(isinstance(c, dict) and c.get("id") for c in page):
                raise bad_answer(trello, f"GET {path}", "it is not a list of cards with ids",
                                 hint="Check the board option")
            for card in page:
                card_list = board.lists.get(str(card.get("idList")), {})
                if card.get("closed") or card_list.get("closed"):
                    continue  # archived, or on an archived list
                if not card.get("due"):
                    ideas += 1
                    continue
                planned_at = self._instant(trello, card, "due")
                if in_window(planned_at, ctx.window_start, ctx.window_end):
                    rows += self._items(trello, board, card, card_list, planned_at)
        if ideas:
            ctx.warn(f"{ideas} card{'s' if ideas > 1 else ''} of the Trello board "
                     f"{'have' if ideas > 1 else 'has'} no due date: ideas without a plan, not calendar items")
        yield RecordTable.from_rows("calendar_item", rows)

    def check_credentials(self, ctx: "FetchContext") -> list[Any]:
        """``GET /1/members/me`` (the token and key, whose member), then ``GET /1/boards/{board}``
        (the member can read the board). Trello sends no rate headers; tokens made with an
        expiration stop at its end, which the API does not tell here."""
        from cmflow import CredentialCheck
        from cmflow.http import PlatformError

        options: TrelloOptions = self.options
        trello = self._session(ctx)
        row = CredentialCheck.for_source(self, account=f"board {options.board}",
                                         budget="not reported by Trello (100 requests per 10 s per token)")
        row.expiry(None, trello.client.clock(), renew=trello.platform.renew_hint,
                   note="never, unless the token was made with an expiration")
        key = options.key.get_secret_value()
        try:
            me = trello.get_json("/1/members/me", params={"key": key, "fields": "fullName,username"})
            row.token_valid = True
            board = trello.get_json(f"/1/boards/{options.board}", params={"key": key, "fields": "name"})
            who = (me.get("fullName") or me.get("username")) if isinstance(me, dict) else None
            name = board.get("name") if isinstance(board, dict) else None
            row.account = f"{name or options.board}" + (f" (as {who})" if who else "")
        except PlatformError as exc:
            row.failed(exc, trello.client.clock())
        return [row]

    # -- the requests ----------------------------------------------------------------------------
    def _session(self, ctx: "FetchContext") -> "PlatformSession":
        from cmflow import mark_secret

        options: TrelloOptions = self.options
        mark_secret(options.key.get_secret_value())
        return ctx.http.session(PLATFORM, base_url=options.base_url, token=options.token.get_secret_value(),
                                token_param="token", source=self.entry_id,
                                allow_private_network=options.allow_private_network)

    def _board(self, trello: "PlatformSession") -> Board:
        options: TrelloOptions = self.options
        key = options.key.get_secret_value()
        base = f"/1/boards/{options.board}"
        lists = self._objects(trello, f"{base}/lists", {"key": key, "filter": "all", "fields": "name,closed"})
        fields = self._objects(trello, f"{base}/customFields", {"key": key})
        members = self._objects(trello, f"{base}/members", {"key": key, "fields": "fullName,username"})
        named = [str(f.get("name")) for f in fields if f.get("name")]
        found = resolve_field_names(options.field_names, DEFAULT_NAMES, named, missing=lambda field, name: self._error(
            f"the board has no custom field named {name!r} (field_names.{field}); its custom fields: "
            f"{names_list(named)}", hint=f"Set field_names.{field} to one of them, or leave it out to use "
            f"the defaults ({', '.join(DEFAULT_NAMES[field])})"))
        by_name = {str(f.get("name")): str(f["id"]) for f in fields if f.get("name")}
        pillar_labels: frozenset[str] = frozenset()
        if options.pillars:
            labels = self._objects(trello, f"{base}/labels", {"key": key, "fields": "name,color", "limit": 1000})
            label_names = [str(label.get("name")) for label in labels if label.get("name")]
            known = {plain(name) for name in label_names}
            for wanted in options.pillars:
                if plain(wanted) not in known:
                    raise self._error(f"the board has no label named {wanted!r} (pillars); its labels: "
                                      f"{names_list(label_names)}", hint="Write the labels as the board names them")
            pillar_labels = frozenset(plain(name) for name in options.pillars)
        return Board(lists={str(item["id"]): item for item in lists},
                     custom_fields={str(f["id"]): f for f in fields},
                     members={str(m["id"]): str(m.get("fullName") or m.get("username") or "") for m in members},
                     field_ids={field: by_name[name] for field, name in found.items()},
                     pillar_labels=pillar_labels)

    def _objects(self, trello: "PlatformSession", path: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        answer = trello.get_json(path, params=params)
        if not isinstance(answer, list) or not all(isinstance(item, dict) and item.get("id") for item in answer):
            raise bad_answer(trello, f"GET {path}", "it is not a list of objects with ids",
                             hint="Check the board option")
        return answer

    # -- mapping ---------------------------------------------------------------------------------
    def _items(self, trello: "PlatformSession", board: Board, card: dict[str, Any], card_list: dict[str, Any],
               planned_at: Any) -> list[dict[str, Any]]:
        values = self._custom_values(board, card)
        labels = [str(label.get("name") or "") for label in card.get("labels") or [] if isinstance(label, dict)]
        platforms = calendar_platforms([values.get("platform")]) if values.get("platform") else \
            calendar_platforms([name for name in labels if platform_of(name)])
        pillar = text_or_none(values.get("pillar")) or next(
            (name.strip() for name in labels if plain(name) in board.pillar_labels), None)
        members = [board.members.get(str(member)) for member in card.get("idMembers") or []]
        item = {
            "item_id": str(card["id"]), "planned_at": planned_at, "title": text_or_none(card.get("name")),
            "format": calendar_format(values.get("format")), "pillar": pillar,
            "campaign": text_or_none(values.get("campaign")), "account": text_or_none(values.get("account")),
            "status": calendar_status(card_list.get("name"), self.options.statuses),
            "owner": next((name for name in members if name), None),
            "post_id": text_or_none(values.get("post_id")),
            "url": text_or_none(values.get("url")) or self._post_link(card),
            "updated_at": self._instant(trello, card, "dateLastActivity") if card.get("dateLastActivity") else None,
        }
        return one_per_platform(item, platforms)

    def _custom_values(self, board: Board, card: dict[str, Any]) -> dict[str, Any]:
        """Calendar field -> the card's value of its custom field: a dropdown's option text, a
        text, a number, a date or a checkbox as written."""
        items = {str(i.get("idCustomField")): i for i in card.get("customFieldItems") or [] if isinstance(i, dict)}
        values: dict[str, Any] = {}
        for field, field_id in board.field_ids.items():
            item = items.get(field_id)
            if item is None:
                continue
            definition = board.custom_fields.get(field_id, {})
            if item.get("idValue"):
                option = next((o for o in definition.get("options") or []
                               if isinstance(o, dict) and o.get("id") == item["idValue"]), None)
                values[field] = (option or {}).get("value", {}).get("text")
            elif isinstance(item.get("value"), dict) and item["value"]:
                values[field] = str(next(iter(item["value"].values())))
        return values

    def _post_link(self, card: dict[str, Any]) -> str | None:
        """The first link attached to the card that points at a platform (not an uploaded file)."""
        for attachment in card.get("attachments") or []:
            if isinstance(attachment, dict) and not attachment.get("isUpload") and platform_of(attachment.get("url")):
                return str(attachment["url"])
        return None

    def _instant(self, trello: "PlatformSession", card: dict[str, Any], key: str) -> Any:
        try:
            return parse_instant(str(card[key]))
        except (KeyError, TypeError, ValueError):
            raise bad_answer(trello, f"GET /1/boards/{self.options.board}/cards",
                             f"card {card.get('id')!r} has an unreadable {key} ({card.get(key)!r})",
                             hint="Trello writes dates as 2026-11-20T10:00:00.000Z") from None

    def _error(self, message: str, *, hint: str = "") -> "PlatformError":
        from cmflow.http import PlatformError

        return PlatformError(message, platform="Trello", source=self.entry_id, hint=hint)


@hookimpl
def register_sources(register):
    register(TrelloSource)
