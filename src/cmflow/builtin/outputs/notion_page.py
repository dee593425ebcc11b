"""The ``notion_page`` output: one page per alert in a Notion database, created once, its status
set to done when the alert resolves.

The page keeps its item key in a text property of the database (``key_property``, "cmflow key"
by default: add it to the database as a Text property); before creating, the database is queried
for a page whose property equals the key. Requests are made with the Notion API version 2022-06-28
(``/v1/databases/{id}/query``), which Notion keeps serving for integrations that pin it. What the
task outputs share is in :mod:`.work_items`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator

from cmflow import WebUrl, hookimpl
from cmflow.builtin.outputs.work_items import (DESCRIPTION_LIMIT, FoundItem, TaskNotifier, TaskOptions,
                                               assignees_field, base_url_field, due_date, labels_field,
                                               payload_text, secret_value)

if TYPE_CHECKING:
    from cmflow import SendContext
    from cmflow.http import PlatformSession

NOTION_API = "https://api.notion.com"


class NotionPageOptions(TaskOptions):
    api_path: ClassVar[str] = "/v1"

    token: SecretStr = Field(description="The integration's secret (notion.so/profile/integrations), from the "
                             "environment: \"${env:NAME}\". Share the database with the integration.",
                             examples=["${env:NOTION_TOKEN}"])
    database: str = Field(description="Id of the database the pages are created in (the 32 hexadecimal "
                          "digits in its address).", examples=["8a6d1e0c2b7f4e1a9c3d5e7f9a1b3c5d"], min_length=1)
    title_property: str = Field("Name", description="The database's title property.", examples=["Task"])
    key_property: str = Field(
        "cmflow key", description="A Text property of the database where each page keeps the key it is "
        "found again by (add it to the database; hide it from views if you like).", examples=["cmflow key"])
    status_property: str | None = Field(
        None, description="A Status (or Select) property set to done_status when the alert resolves. "
        "Default: none; the page gets a line saying the alert resolved.", examples=["Status"])
    status_type: Literal["status", "select"] = Field(
        "status", description="The kind of status_property: status or select.", examples=["select"])
    done_status: str = Field("Done", description="The value of status_property that means done.",
                             examples=["Terminé"])
    due_property: str | None = Field(None, description="A Date property that gets the due date (with due_in).",
                                     examples=["Due"])
    assignees_property: str | None = Field(
        None, validation_alias=AliasChoices("assignees_property", "assignee_property"),
        description="A Person property that gets assignees. `assignee_property` is an older name for it.",
        examples=["Assignee"])
    assignees: list[str] = assignees_field("Ids of the Notion users assigned (in assignees_property).",
                                           "c2f20311-9e54-4d11-8c79-7398424ae41e")
    labels_property: str | None = Field(
        None, validation_alias=AliasChoices("labels_property", "tags_property"),
        description="A Multi-select property that gets labels. `tags_property` is an older name for it.",
        examples=["Tags"])
    labels: list[str] = labels_field("Option names put in labels_property.", "design")
    base_url: WebUrl = base_url_field(NOTION_API, "Notion", "/v1")

    @field_validator("database")
    @classmethod
    def _database_id(cls, value: str) -> str:
        return database_id(value)


def database_id(value: str) -> str:
    """A database id as written in its address or with dashes; refused otherwise."""
    import re

    text = value.strip()
    if not re.fullmatch(r"[0-9a-fA-F]{32}|[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}", text):
        raise ValueError(f"{value!r} is not a Notion database id (32 hexadecimal digits, the part of the "
                         "database's address before ?v=)")
    return text


def rich_text(text: str) -> list[dict[str, Any]]:
    """Notion rich text holding ``text`` as written (never read as a mention or a link)."""
    return [{"type": "text", "text": {"content": text[:DESCRIPTION_LIMIT]}}]


def paragraph(text: str) -> dict[str, Any]:
    return {"object": "block", "type": "paragraph", "paragraph": {"rich_text": rich_text(text)}}


class NotionPage(TaskNotifier):
    """Creates one page per alert in a Notion database: the title from a template, the alert's
    summary, value and series as the page's text, and optionally a due date, assignees and tags.
    The page keeps its key in a text property, so a re-run or a retry never makes a second page;
    when the alert resolves its status property is set to done (or a line is added)."""

    name = "notion_page"
    description = "Create a page per alert in a Notion database (once), set to done when the alert resolves."
    Options = NotionPageOptions
    receiver = "Notion"
    item_noun = "page"

    def target(self) -> str:
        return self.options.database.replace("-", "")

    def session(self, ctx: "SendContext") -> "PlatformSession":
        options: NotionPageOptions = self.options
        return ctx.http.session("notion", base_url=self.api_address(), token=secret_value(options.token),
                                source=self.entry_id, allow_private_network=options.allow_private_network)

    def _call(self, session: "PlatformSession", method: str, path: str, json: Any = None) -> Any:
        return session.json_of(session.request(method, path, json=json, timeout=self.options.timeout))

    def find(self, session: "PlatformSession", key: str) -> FoundItem | None:
        options: NotionPageOptions = self.options
        body = self._call(session, "POST", f"/databases/{options.database}/query", json={
            "filter": {"property": options.key_property, "rich_text": {"equals": key}}, "page_size": 1})
        results = body.get("results") or []
        return self._found(results[0]) if results else None

    def _found(self, page: dict[str, Any]) -> FoundItem:
        options: NotionPageOptions = self.options
        closed = False
        if options.status_property:
            value = (page.get("properties") or {}).get(options.status_property) or {}
            chosen = value.get(options.status_type) or {}
            closed = isinstance(chosen, dict) and chosen.get("name") == options.done_status
        return FoundItem(str(page.get("id", "")), str(page.get("url") or page.get("id", "")), closed=closed)

    def create(self, session: "PlatformSession", payload: dict[str, Any], ctx: "SendContext") -> FoundItem:
        options: NotionPageOptions = self.options
        properties: dict[str, Any] = {
            options.title_property: {"title": rich_text(payload["title"])},
            options.key_property: {"rich_text": rich_text(payload["item_key"])},
        }
        if options.due_property and (due := due_date(payload)):
            properties[options.due_property] = {"date": {"start": due}}
        if options.assignees_property and options.assignees:
            properties[options.assignees_property] = {"people": [{"object": "user", "id": i} for i in options.assignees]}
        if options.labels_property and options.labels:
            properties[options.labels_property] = {"multi_select": [{"name": name} for name in options.labels]}
        page = self._call(session, "POST", "/pages", json={
            "parent": {"database_id": options.database}, "properties": properties,
            "children": [paragraph(line) for line in payload["description"]]})
        return self._found(page)

    def close(self, session: "PlatformSession", item: FoundItem, payload: dict[str, Any]) -> None:
        options: NotionPageOptions = self.options
        if options.status_property:
            self._call(session, "PATCH", f"/pages/{item.id}", json={"properties": {
                options.status_property: {options.status_type: {"name": options.done_status}}}})
        else:
            self._call(session, "PATCH", f"/blocks/{item.id}/children",
                       json={"children": [paragraph(payload_text(payload, "task_resolved", summary=payload["summary"]))]})


@hookimpl
def register_outputs(register):
    register(NotionPage)
