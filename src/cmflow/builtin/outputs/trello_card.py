"""The ``trello_card`` output: one Trello card per alert, created once, moved or commented when
the alert resolves.

The card's description ends with the line ``cmflow-key: <key>``; before creating, the board's
cards (archived ones too) are read and a card holding the key is taken as already created. A
resolution comment ends with ``cmflow-resolved: <key>``, looked for among the card's comments
before commenting, so a retry after a lost answer never comments twice.
Trello's search is not used for this: its index lags behind a card just created, which is the
very case the lookup is for (a retry after a lost answer). What the task outputs share is in
:mod:`.work_items`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import AliasChoices, Field, SecretStr, field_validator

from cmflow import WebUrl, hookimpl
from cmflow.builtin.outputs.work_items import (FoundItem, TaskNotifier, TaskOptions, assignees_field, base_url_field,
                                               description_text, has_key_line, labels_field, markdown_escape, payload_text,
                                               secret_value)
from cmflow.builtin.tool_addresses import trello_board

if TYPE_CHECKING:
    from cmflow import SendContext
    from cmflow.http import PlatformSession

TRELLO_API = "https://api.trello.com"
CARD_FIELDS = "id,desc,idList,closed,shortUrl"
RESOLVED_LINE = "cmflow-resolved: "
"""How a resolution comment ends: the line holding the card's key (``cmflow-resolved: 3f9c...``)."""
PAGE_SIZE = 1000
"""Cards per request of a board's cards (Trello's most); older ones are asked for with ``before``."""


class TrelloCardOptions(TaskOptions):
    api_path: ClassVar[str] = "/1"

    key: SecretStr = Field(validation_alias=AliasChoices("key", "api_key"),
                           description="The API key of your Trello Power-Up (https://trello.com/power-ups/admin), "
                           "as the trello source takes it. Write key = \"${env:TRELLO_KEY}\". `api_key` is an "
                           "older name for it.", examples=["${env:TRELLO_KEY}"])
    token: SecretStr = Field(description="A token authorised with that key by a member of the board, with "
                             "read and write access. Write token = \"${env:TRELLO_TOKEN}\".",
                             examples=["${env:TRELLO_TOKEN}"])
    board: str = Field(validation_alias=AliasChoices("board", "board_id"),
                       description="The board whose cards are searched for one already created: its address "
                       "(https://trello.com/b/nC8QJJoZ/calendrier), its short link (the 8 characters after /b/) "
                       "or its 24-digit id, as the trello source takes it. `board_id` is an older name for it.",
                       examples=["nC8QJJoZ"], min_length=1)
    list_id: str = Field(description="Id of the list of that board the cards are created in.",
                      examples=["5f1c0e8a9b2d3c4e5f6a7b8d"], min_length=1)
    done_list_id: str | None = Field(
        None, description="Id of the list a card is moved to when its alert resolves. Default: the card "
        "stays where it is and gets a comment saying the alert resolved.",
        examples=["5f1c0e8a9b2d3c4e5f6a7b8e"])
    assignees: list[str] = assignees_field("Ids of the board members the card is assigned to.",
                                           "5a0b1c2d3e4f5a6b7c8d9e0f", "members")
    labels: list[str] = labels_field("Ids of the board's labels put on the card.", "5f1c0e8a9b2d3c4e5f6a7b90")
    base_url: WebUrl = base_url_field(TRELLO_API, "Trello", "/1")

    @field_validator("board")
    @classmethod
    def _board(cls, value: str) -> str:
        return trello_board(value)

    @field_validator("list_id", "done_list_id")
    @classmethod
    def _trello_id(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[0-9a-f]{24}", value.strip()):
            raise ValueError(f"{value!r} is not a Trello list id (24 hexadecimal digits): read the board's lists "
                             "with GET /1/boards/<board>/lists and take the `id`, not the list's name")
        return value.strip() if value is not None else None


class TrelloCard(TaskNotifier):
    """Creates one Trello card per alert in a list of a board: the title from a template
    ("Design the visual: {title}"), a description with the alert's summary, value and series,
    a due date, assignees (board members) and labels. The card is found again by the key its description ends
    with, so a re-run or a retry never makes a second card. When the alert resolves, the card
    moves to ``done_list_id``, or gets a comment (once: a retry finds the comment by its key line)."""

    name = "trello_card"
    description = "Create a Trello card per alert (once), moved or commented when the alert resolves."
    Options = TrelloCardOptions
    receiver = "Trello"
    item_noun = "card"

    def target(self) -> str:
        return self.options.board  # the lookup reads the whole board: a card moved to another list is found

    def session(self, ctx: "SendContext") -> "PlatformSession":
        options: TrelloCardOptions = self.options
        secret_value(options.key)
        return ctx.http.session("trello", base_url=self.api_address(), token=secret_value(options.token),
                                token_param="token", source=self.entry_id,
                                allow_private_network=options.allow_private_network)

    def _call(self, session: "PlatformSession", method: str, path: str, *, params: dict[str, Any] | None = None,
              json: Any = None) -> Any:
        options: TrelloCardOptions = self.options
        answer = session.request(method, path, params={"key": options.key.get_secret_value(), **(params or {})},
                                 json=json, timeout=options.timeout)
        return session.json_of(answer)

    def find(self, session: "PlatformSession", key: str) -> FoundItem | None:
        options: TrelloCardOptions = self.options
        params: dict[str, Any] = {"filter": "all", "fields": CARD_FIELDS, "limit": PAGE_SIZE}
        while True:
            cards = self._call(session, "GET", f"/boards/{options.board}/cards", params=params)
            for card in cards if isinstance(cards, list) else []:
                if isinstance(card, dict) and has_key_line(card.get("desc"), key):
                    return FoundItem(str(card["id"]), str(card.get("shortUrl") or card["id"]),
                                     closed=bool(options.done_list_id) and card.get("idList") == options.done_list_id)
            if not isinstance(cards, list) or len(cards) < PAGE_SIZE:
                return None
            # Card ids start with their creation time: ask for the cards made before the oldest.
            params["before"] = min((str(c.get("id", "")) for c in cards), key=lambda i: i[:8])

    def create(self, session: "PlatformSession", payload: dict[str, Any], ctx: "SendContext") -> FoundItem:
        options: TrelloCardOptions = self.options
        card = {"idList": options.list_id, "name": payload["title"], "desc": description_text(payload, markdown_escape),
                "pos": "bottom"}
        if payload.get("due"):
            card["due"] = payload["due"]
        if options.assignees:
            card["idMembers"] = ",".join(options.assignees)
        if options.labels:
            card["idLabels"] = ",".join(options.labels)
        made = self._call(session, "POST", "/cards", json=card)
        return FoundItem(str(made.get("id", "")), str(made.get("shortUrl") or made.get("id", "")))

    def close(self, session: "PlatformSession", item: FoundItem, payload: dict[str, Any]) -> None:
        options: TrelloCardOptions = self.options
        if options.done_list_id:
            self._call(session, "PUT", f"/cards/{item.id}", json={"idList": options.done_list_id})
        else:
            text = f"{markdown_escape(payload_text(payload, 'task_resolved', summary=payload['summary']))}\n\n{RESOLVED_LINE}{payload['item_key']}"
            self._call(session, "POST", f"/cards/{item.id}/actions/comments", params={"text": text})

    def already_closed(self, session: "PlatformSession", item: FoundItem, payload: dict[str, Any]) -> bool:
        """In the done list; or, without one, commented as resolved already (the card's comments
        hold our ``cmflow-resolved`` line: a comment whose answer was lost was still written)."""
        if self.options.done_list_id:
            return item.closed
        comments = self._call(session, "GET", f"/cards/{item.id}/actions",
                              params={"filter": "commentCard", "limit": PAGE_SIZE})
        return any(isinstance(action, dict) and has_key_line(str((action.get("data") or {}).get("text") or ""),
                                                              payload["item_key"], RESOLVED_LINE)
                   for action in comments if isinstance(comments, list))


@hookimpl
def register_outputs(register):
    register(TrelloCard)
