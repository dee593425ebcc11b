"""The ``asana`` source: an editorial calendar kept as an Asana project, as calendar items.

A task with a due date is a planned content: its section in the project is its status
(``Idées``, ``Validé``, ``Programmé``, ``Publié``), its custom fields say the platform, format,
pillar, campaign and the post's link, its assignee is its owner. The project's custom fields are
read first (``GET /api/1.0/projects/{gid}/custom_field_settings``) so that a name the workflow
gives and the project lacks is refused before anything else, then its tasks page by page
(``GET /api/1.0/projects/{gid}/tasks?opt_fields=…&limit=100``, then ``offset`` from
``next_page`` until it is null). Asana cannot filter a project's tasks by due date: every task is
read, those due in the window kept. Tasks without a due date are ideas, counted in the run
summary. Platform facts: docs/sources/asana.md.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any, Iterable, Optional

from pydantic import Field, SecretStr, field_validator

from cmflow import PluginOptions, RecordTable, Source, WebUrl, WholeNumber, hookimpl
from cmflow.http import allow_private_network_option

from cmflow.builtin.sources.calendar_common import (DEFAULT_NAMES, CalendarFieldNames, calendar_format,
                                                    calendar_platforms, calendar_status, in_window,
                                                    names_list, resolve_field_names,
                                                    text_or_none, whole_day)
from cmflow.builtin.sources.calendar_values import one_per_platform, plain, statuses_option
from cmflow.builtin.sources.platform_common import bad_answer, parse_instant, run_zone
from cmflow.builtin.tool_addresses import asana_gid

if TYPE_CHECKING:
    from cmflow import FetchContext
    from cmflow.http import PlatformError, PlatformSession

PLATFORM = "asana"
TASK_FIELDS = ",".join((
    "name", "due_on", "due_at", "completed", "completed_at", "assignee.name", "memberships.project.gid",
    "memberships.section.name", "custom_fields.name", "custom_fields.resource_subtype",
    "custom_fields.enum_value.name", "custom_fields.multi_enum_values.name", "custom_fields.text_value",
    "custom_fields.display_value", "permalink_url", "modified_at"))


class AsanaOptions(PluginOptions):
    project: str = Field(
        description="The project: its gid (the long number in its address), or its address "
        "(https://app.asana.com/0/1209876543210987/list).", examples=["1209876543210987"])
    token: SecretStr = Field(
        description="A personal access token of a member of the project (Asana's developer console, "
        "https://app.asana.com/0/my-apps). Write token = \"${env:ASANA_TOKEN}\".",
        examples=["${env:ASANA_TOKEN}"])
    field_names: CalendarFieldNames = Field(
        default_factory=CalendarFieldNames,
        description="Which custom field of the project holds which calendar field, when the defaults "
        "(Plateforme/Platform, Format, Pilier/Pillar, Campagne/Campaign, Compte/Account, Lien/Link, "
        "ID du post/Post ID) do not match. A name given here that the project lacks is an error "
        "listing the custom fields it has. A multi-choice platform field gives one item per platform.",
        examples=[{"platform": "Réseau social", "pillar": "Thème"}])
    status_field: Optional[str] = Field(
        None, description="The custom field holding the status, for projects that keep it in a field "
        "rather than in sections. Default: the task's section in the project (board columns).",
        examples=["Statut"])
    statuses: dict[str, str] = statuses_option()
    page_size: WholeNumber = Field(100, ge=1, le=100, description="Tasks asked for per request (1 to 100).",
                                   examples=[50])
    base_url: WebUrl = Field("https://app.asana.com", description="Asana's address (a test server's in "
                             "tests); requests go to /api/1.0 under it.", examples=["https://app.asana.com"])
    allow_private_network: bool = allow_private_network_option("an API base URL")

    @field_validator("project")
    @classmethod
    def _project(cls, project: str) -> str:
        return asana_gid(project, "project")


class AsanaSource(Source):
    """Reads an editorial calendar from an Asana project: each task with a due date is a calendar item.

    ``due_at`` -> planned_at (UTC); a task due on a day without a time (``due_on``) is a
    whole-day plan, planned at midnight of that day in the workflow's time zone. The task's
    section -> status (lower case), custom fields -> platform, format, pillar, campaign, account,
    url, post_id (enum options by name), assignee -> owner, ``modified_at`` -> updated_at, name
    -> title. The task's own permalink is not the post's: only a custom field gives the url.
    """

    name = "asana"
    description = "Read an editorial calendar from an Asana project: tasks with a due date as calendar items."
    Options = AsanaOptions
    record_kinds = ("calendar_item",)
    incremental = False  # plans move and get archived after the fact: each run reads the calendar as it
    # stands (the store would keep a copy of a plan that moved out of the window or was deleted)

    def fetch(self, ctx: "FetchContext") -> Iterable[RecordTable]:
        from cmflow.http import Cursor

        options: AsanaOptions = self.options
        asana = self._session(ctx)
        fields = self._field_names(asana)
        zone = run_zone(ctx)
        path = f"/api/1.0/projects/{options.project}/tasks"
        rows: list[dict[str, Any]] = []
        ideas = 0
        for page in asana.pages(path, paging=Cursor("next_page.offset", "offset"),
                                params={"opt_fields": TASK_FIELDS, "limit": options.page_size}):
            tasks = page.get("data") if isinstance(page, dict) else None
            if not isinstance(tasks, list) or not all(isinstance(t, dict) and t.get("gid") for t in tasks):
                raise bad_answer(asana, f"GET {path}", "it has no data list of tasks with gids",
                                 hint="Check the project option")
            for task in tasks:
                planned_at = self._planned_at(asana, task, zone)
                if planned_at is None:
                    ideas += 1
                elif in_window(planned_at, ctx.window_start, ctx.window_end):
                    rows += self._items(asana, task, fields, planned_at)
        if ideas:
            ctx.warn(f"{ideas} task{'s' if ideas > 1 else ''} of the Asana project "
                     f"{'have' if ideas > 1 else 'has'} no due date: ideas without a plan, not calendar items")
        yield RecordTable.from_rows("calendar_item", rows)

    def check_credentials(self, ctx: "FetchContext") -> list[Any]:
        """``GET /api/1.0/users/me`` (the token, whose user), then ``GET /api/1.0/projects/{gid}``
        (the user can see the project). Personal access tokens do not expire; Asana sends no
        rate headers until a 429."""
        from cmflow import CredentialCheck
        from cmflow.http import PlatformError

        options: AsanaOptions = self.options
        asana = self._session(ctx)
        row = CredentialCheck.for_source(self, account=f"project {options.project}",
                                         budget="not reported by Asana (150 requests a minute, 1,500 on paid plans)")
        row.expiry(None, asana.client.clock(), renew=asana.platform.renew_hint, note="never (until revoked)")
        try:
            me = asana.get_json("/api/1.0/users/me", params={"opt_fields": "name"})
            row.token_valid = True
            project = asana.get_json(f"/api/1.0/projects/{options.project}", params={"opt_fields": "name"})
            who = ((me.get("data") or {}).get("name") if isinstance(me, dict) else None)
            name = ((project.get("data") or {}).get("name") if isinstance(project, dict) else None)
            row.account = f"{name or options.project}" + (f" (as {who})" if who else "")
        except PlatformError as exc:
            row.failed(exc, asana.client.clock())
        return [row]

    # -- the requests ----------------------------------------------------------------------------
    def _session(self, ctx: "FetchContext") -> "PlatformSession":
        options: AsanaOptions = self.options
        return ctx.http.session(PLATFORM, base_url=options.base_url, token=options.token.get_secret_value(),
                                source=self.entry_id, allow_private_network=options.allow_private_network)

    def _field_names(self, asana: "PlatformSession") -> dict[str, str]:
        """Calendar field -> the project's custom field name holding it (and ``status`` when
        ``status_field`` names one)."""
        from cmflow.http import Cursor

        options: AsanaOptions = self.options
        path = f"/api/1.0/projects/{options.project}/custom_field_settings"
        named: list[str] = []
        for page in asana.pages(path, paging=Cursor("next_page.offset", "offset"),
                                params={"opt_fields": "custom_field.name", "limit": 100}):
            settings = page.get("data") if isinstance(page, dict) else None
            if not isinstance(settings, list):
                raise bad_answer(asana, f"GET {path}", "it has no data list", hint="Check the project option")
            named += [str(s["custom_field"]["name"]) for s in settings
                      if isinstance(s, dict) and isinstance(s.get("custom_field"), dict) and s["custom_field"].get("name")]

        def missing(field: str, name: str) -> "PlatformError":
            option = "status_field" if field == "status" else f"field_names.{field}"
            defaults = "" if field == "status" else f" ({', '.join(DEFAULT_NAMES[field])})"
            return self._error(f"the project has no custom field named {name!r} ({option}); its custom fields: "
                               f"{names_list(named)}", hint=f"Set {option} to one of them, or leave it out to "
                               f"use the defaults{defaults}")

        found = resolve_field_names(options.field_names, DEFAULT_NAMES, named, missing=missing)
        if options.status_field is not None:
            if plain(options.status_field) not in {plain(n) for n in named}:
                raise missing("status", options.status_field)
            found["status"] = next(n for n in named if plain(n) == plain(options.status_field))
        return found

    # -- mapping ---------------------------------------------------------------------------------
    def _planned_at(self, asana: "PlatformSession", task: dict[str, Any], zone: Any) -> Any:
        try:
            if task.get("due_at"):
                return parse_instant(str(task["due_at"]))
            if task.get("due_on"):
                return whole_day(date.fromisoformat(str(task["due_on"])), zone)
        except ValueError:
            raise bad_answer(asana, f"GET /api/1.0/projects/{self.options.project}/tasks",
                             f"task {task.get('gid')!r} has an unreadable due date "
                             f"({task.get('due_at') or task.get('due_on')!r})",
                             hint="Asana writes due_on as 2026-11-20 and due_at as 2026-11-20T09:00:00.000Z") from None
        return None

    def _items(self, asana: "PlatformSession", task: dict[str, Any], fields: dict[str, str],
               planned_at: Any) -> list[dict[str, Any]]:
        values = custom_values(task)
        named = {field: values.get(plain(name), []) for field, name in fields.items()}

        def first(field: str) -> str | None:
            return next((text for v in named.get(field, []) if (text := text_or_none(v))), None)

        section = next((m.get("section") for m in task.get("memberships") or []
                        if isinstance(m, dict) and str((m.get("project") or {}).get("gid")) == self.options.project),
                       None)
        status = first("status") if "status" in fields else (section or {}).get("name")
        assignee = task.get("assignee") if isinstance(task.get("assignee"), dict) else {}
        item = {
            "item_id": str(task["gid"]), "planned_at": planned_at, "title": text_or_none(task.get("name")),
            "format": calendar_format(first("format")), "pillar": first("pillar"), "campaign": first("campaign"),
            "account": first("account"), "status": calendar_status(status, self.options.statuses),
            "owner": text_or_none(assignee.get("name")), "post_id": first("post_id"), "url": first("url"),
            "updated_at": parse_instant(str(task["modified_at"])) if task.get("modified_at") else None,
        }
        return one_per_platform(item, calendar_platforms(named.get("platform", [])))

    def _error(self, message: str, *, hint: str = "") -> "PlatformError":
        from cmflow.http import PlatformError

        return PlatformError(message, platform="Asana", source=self.entry_id, hint=hint)


def custom_values(task: dict[str, Any]) -> dict[str, list[str]]:
    """Folded custom field name -> the task's values of it: an enum's option name, a multi-enum's
    option names, a text, else what Asana displays (numbers, dates, people)."""
    values: dict[str, list[str]] = {}
    for field in task.get("custom_fields") or []:
        if not isinstance(field, dict) or not field.get("name"):
            continue
        subtype = field.get("resource_subtype") or field.get("type")
        if subtype == "enum":
            found = [(field.get("enum_value") or {}).get("name")]
        elif subtype == "multi_enum":
            found = [v.get("name") for v in field.get("multi_enum_values") or [] if isinstance(v, dict)]
        elif subtype == "text":
            found = [field.get("text_value")]
        else:
            found = [field.get("display_value")]
        values[plain(str(field["name"]))] = [str(v) for v in found if v not in (None, "")]
    return values


@hookimpl
def register_sources(register):
    register(AsanaSource)
