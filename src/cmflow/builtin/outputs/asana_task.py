"""The ``asana_task`` output: one Asana task per alert, created once, completed when the alert
resolves.

The task is found again by its item key, kept in one of two places (option ``find_by``):
Asana's own integration id (``external: {"gid": key}``, read back with
``GET /tasks/external:<key>``, 404 when there is none), which needs an OAuth app's token since
external data belongs to an app; or, with a personal access token, the last line of the task's
notes (``cmflow-key: <key>``), found by reading the project's tasks. What the task outputs share is
in :mod:`.work_items`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, SecretStr, field_validator

from cmflow import WebUrl, hookimpl
from cmflow.builtin.outputs.work_items import (FoundItem, TaskNotifier, TaskOptions, api_url_field,
                                               description_text, due_date, has_key_line, secret_value)

if TYPE_CHECKING:
    from cmflow import SendContext
    from cmflow.http import PlatformSession

ASANA_API = "https://app.asana.com/api/1.0"
TASK_FIELDS = "gid,permalink_url,completed,notes,external"
PAGE_SIZE = 100
"""Tasks per page of a project's tasks (Asana's most)."""


class AsanaTaskOptions(TaskOptions):
    token: SecretStr = Field(description="An Asana access token (an OAuth app's, or a personal access "
                             "token with find_by = \"notes\"), from the environment: \"${env:NAME}\".",
                             examples=["${env:ASANA_TOKEN}"])
    project: str = Field(description="Gid of the project the tasks are created in (the number in the "
                         "project's address).", examples=["1204567890123456"], min_length=1)
    section: str | None = Field(None, description="Gid of the project's section the tasks go to. Default: "
                                "the project's first section.", examples=["1204567890123460"])
    assignee: str | None = Field(None, description="Who the task is assigned to: a user's gid or e-mail "
                                 "address, or \"me\" (the token's user).", examples=["design@example.com"])
    tags: list[str] = Field(default_factory=list, description="Gids of the tags put on the task.",
                            examples=[["1204567890123470"]])
    find_by: Literal["notes", "external"] = Field(
        "notes", description="Where the task keeps the key it is found again by: notes (the last line of "
        "the task's notes; any token; the project's tasks are read to find it, a request per 100 tasks) "
        "or external (Asana's integration id, `external.gid`: one request to find it, but only an OAuth "
        "app's token may set and read it).", examples=["external"])
    api_url: WebUrl = api_url_field(ASANA_API, "Asana")


    @field_validator("project", "section")
    @classmethod
    def _gid(cls, value: str | None) -> str | None:
        if value is not None and not value.strip().isdigit():
            raise ValueError(f"{value!r} is not an Asana gid (a number such as 1204567890123456): take it from "
                             "the project's address, not the project's name")
        return value.strip() if value is not None else None


class AsanaTask(TaskNotifier):
    """Creates one Asana task per alert in a project (and section): the name from a template
    ("Moderate: {summary}"), notes with the alert's summary, value and series, a due date, an
    assignee and tags. The task keeps its key as its integration id (or in its notes), so a
    re-run or a retry never makes a second task; it is marked completed when the alert resolves."""

    name = "asana_task"
    description = "Create an Asana task per alert (once), completed when the alert resolves."
    Options = AsanaTaskOptions
    receiver = "Asana"
    item_noun = "task"

    def target(self) -> str:
        return self.options.project

    def session(self, ctx: "SendContext") -> "PlatformSession":
        options: AsanaTaskOptions = self.options
        return ctx.http.session("asana", base_url=options.api_url, token=secret_value(options.token),
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
        if options.assignee:
            task["assignee"] = options.assignee
        if due := due_date(payload):
            task["due_on"] = due
        if options.tags:
            task["tags"] = list(options.tags)
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
