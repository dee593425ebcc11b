"""The ``asana_task`` output: one Asana task per alert, created once, completed when the alert
resolves.

The task is found again by its item key, kept in one of two places (option ``find_by``): by
default the last line of the task's notes (``cmflow-key: <key>``, any token), found by reading the
project's tasks; or, with ``find_by = "external"``, Asana's own integration id
(``external: {"gid": key}``, read back with ``GET /tasks/external:<key>``, 404 when there is
none), which needs an OAuth app's token since external data belongs to an app. What the task outputs share is
in :mod:`.work_items`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator

from cmflow import WebUrl, hookimpl
from cmflow.builtin.outputs.work_items import (FoundItem, TaskNotifier, TaskOptions, base_url_field,
                                               description_text, due_date, has_key_line, labels_field,
                                               secret_value)
from cmflow.builtin.tool_addresses import asana_gid

if TYPE_CHECKING:
    from cmflow import SendContext
    from cmflow.http import PlatformSession

ASANA_API = "https://app.asana.com"
TASK_FIELDS = "gid,permalink_url,completed,notes,external"
PAGE_SIZE = 100
"""Tasks per page of a project's tasks (Asana's most)."""


class AsanaTaskOptions(TaskOptions):
    api_path: ClassVar[str] = "/api/1.0"

    token: SecretStr = Field(description="An Asana access token (a personal access token, or an OAuth app's "
                             "for find_by = \"external\"). Write token = \"${env:ASANA_TOKEN}\".",
                             examples=["${env:ASANA_TOKEN}"])
    project: str = Field(description="The project the tasks are created in: its gid (the long number in its "
                         "address), or its address (https://app.asana.com/0/1204567890123456/list), as the asana "
                         "source takes it.", examples=["1204567890123456"], min_length=1)
    section: str | None = Field(None, description="Gid of the project's section the tasks go to. Default: "
                                "the project's first section.", examples=["1204567890123460"])
    assignees: list[str] = Field(
        default_factory=list, validation_alias=AliasChoices("assignees", "assignee"),
        description="Who the task is assigned to (Asana takes one person): a user's gid or e-mail address, or "
        "\"me\" (the token's user). `assignee` (one name, not a list) is an older name for it.",
        examples=[["design@example.com"]])
    labels: list[str] = labels_field("Gids of the tags put on the task (Asana calls labels tags).",
                                     "1204567890123470", "tags")
    find_by: Literal["notes", "external"] = Field(
        "notes", description="Where the task keeps the key it is found again by: notes (the last line of "
        "the task's notes; any token; the project's tasks are read to find it, a request per 100 tasks) "
        "or external (Asana's integration id, `external.gid`: one request to find it, but only an OAuth "
        "app's token may set and read it).", examples=["external"])
    base_url: WebUrl = base_url_field(ASANA_API, "Asana", "/api/1.0")

    @field_validator("project")
    @classmethod
    def _project(cls, value: str) -> str:
        return asana_gid(value, "project")

    @field_validator("section")
    @classmethod
    def _section(cls, value: str | None) -> str | None:
        return asana_gid(value, "section") if value is not None else None

    @field_validator("assignees", mode="before")
    @classmethod
    def _one_name(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [value]
        if isinstance(value, list) and len(value) > 1:
            raise ValueError(f"Asana assigns a task to one person, not {len(value)}: keep one of "
                             f"{', '.join(map(str, value))}")
        return value


class AsanaTask(TaskNotifier):
    """Creates one Asana task per alert in a project (and section): the name from a template
    ("Moderate: {summary}"), notes with the alert's summary, value and series, a due date, an
    assignee and tags. The task keeps its key in the last line of its notes (or, with
    ``find_by = "external"``, as its integration id), so a re-run or a retry never makes a second
    task; it is marked completed when the alert resolves."""

    name = "asana_task"
    description = "Create an Asana task per alert (once), completed when the alert resolves."
    Options = AsanaTaskOptions
    receiver = "Asana"
    item_noun = "task"

    def target(self) -> str:
        return self.options.project

    def session(self, ctx: "SendContext") -> "PlatformSession":
        options: AsanaTaskOptions = self.options
        return ctx.http.session("asana", base_url=self.api_address(), token=secret_value(options.token),
                                source=self.entry_id, allow_private_network=options.allow_private_network)

    def _call(self, session: "PlatformSession", method: str, path: str, *, params: dict[str, Any] | None = None,
              json: Any = None) -> Any:
        answer = session.request(method, path, params=params, json=json, timeout=self.options.timeout)
        return session.json_of(answer)

    def find(self, session: "PlatformSession", key: str) -> FoundItem | None:
        from cmflow.http import RequestRejected

        options: AsanaTaskOptions = self.options
        if options.find_by == "external":
            try:
                body = self._call(session, "GET", f"/tasks/external:{key}", params={"opt_fields": TASK_FIELDS})
            except RequestRejected as exc:
                if exc.status == 404:  # no task has that external id
                    return None
                raise
            return _found(body.get("data") or {})
        params: dict[str, Any] = {"opt_fields": TASK_FIELDS, "limit": PAGE_SIZE}
        while True:
            body = self._call(session, "GET", f"/projects/{options.project}/tasks", params=params)
            for task in body.get("data") or []:
                if isinstance(task, dict) and has_key_line(task.get("notes"), key):
                    return _found(task)
            offset = (body.get("next_page") or {}).get("offset")
            if not offset:
                return None
            params["offset"] = offset

    def create(self, session: "PlatformSession", payload: dict[str, Any], ctx: "SendContext") -> FoundItem:
        options: AsanaTaskOptions = self.options
        task: dict[str, Any] = {"name": payload["title"], "notes": description_text(payload)}
        if options.section:
            task["memberships"] = [{"project": options.project, "section": options.section}]
        else:
            task["projects"] = [options.project]
        if options.assignees:
            task["assignee"] = options.assignees[0]
        if due := due_date(payload):
            task["due_on"] = due
        if options.labels:
            task["tags"] = list(options.labels)
        if options.find_by == "external":
            task["external"] = {"gid": payload["item_key"]}
        body = self._call(session, "POST", "/tasks", params={"opt_fields": TASK_FIELDS}, json={"data": task})
        made = _found(body.get("data") or {})
        if options.find_by == "external" and ((body.get("data") or {}).get("external") or {}).get("gid") != \
                payload["item_key"]:
            # Created, but Asana did not keep the integration id: it could not be found again.
            return FoundItem(made.id, made.url, note="; Asana did not keep its integration id (a personal "
                             "access token cannot set it): set find_by = \"notes\" on this output")
        return made

    def close(self, session: "PlatformSession", item: FoundItem, payload: dict[str, Any]) -> None:
        self._call(session, "PUT", f"/tasks/{item.id}", json={"data": {"completed": True}})


def _found(task: dict[str, Any]) -> FoundItem:
    gid = str(task.get("gid", ""))
    return FoundItem(gid, str(task.get("permalink_url") or gid), closed=bool(task.get("completed")))


@hookimpl
def register_outputs(register):
    register(AsanaTask)
