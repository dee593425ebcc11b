"""The ``clockify`` source: a Clockify workspace's time entries, from its API v1.

Each user's entries of the window (``GET /api/v1/workspaces/{ws}/user/{user}/time-entries``
with ``hydrated=true``, which names the project, its client, the task and the tags), paged by
``page`` and ``page-size`` until a page comes back short. The users and their names come from
``GET /api/v1/workspaces/{ws}/users``. The API key goes in the ``X-Api-Key`` header. Durations
are ISO 8601 (``PT1H30M``). Platform facts: docs/sources/clockify.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable, Iterator

from pydantic import Field, SecretStr

from cmflow import RecordTable, Source, WebUrl, WholeNumber, hookimpl, hours_of
from cmflow.http import Platform, allow_private_network_option

from cmflow.builtin.sources.platform_common import parse_instant
from cmflow.builtin.sources.time_tracking import (TrackerOptions, entry_row, local_day_zone, running_timers_note,
                                                  tracker_credentials)

if TYPE_CHECKING:
    from cmflow import FetchContext
    from cmflow.http import PlatformSession

CLOCKIFY = Platform("clockify", "Clockify", requests_per_second=10.0, burst=10,
                    renew_hint="generate a new API key in Clockify's Profile settings > API")
"""Clockify limits requests per second per workspace: 10 a second stays well under it."""


class ClockifyOptions(TrackerOptions):
    workspace_id: str = Field(
        pattern=r"^[0-9a-f]{24}$", description="The workspace's id (24 hexadecimal characters: Workspace "
        "settings, in the address bar, or GET /api/v1/workspaces).", examples=["64a1f0c2e4b0d2a1b3c4d5e6"])
    api_key: SecretStr = Field(
        description="API key (Profile settings > API). The key of a workspace owner or admin reads every "
        "member's entries; a member's key only their own. Write api_key = \"${env:CLOCKIFY_API_KEY}\".",
        examples=["${env:CLOCKIFY_API_KEY}"])
    users: list[str] = Field(
        default_factory=list, description="Ids of the users whose entries are read; empty: every user of the "
        "workspace (needs an owner's or admin's key).", examples=[["64a1f0c2e4b0d2a1b3c4d5f7"]])
    base_url: WebUrl = Field("https://api.clockify.me", description="Clockify's API address (a regional "
                             "one for data kept in a region, e.g. https://euc1.clockify.me).",
                             examples=["https://euc1.clockify.me"])
    page_size: WholeNumber = Field(200, ge=1, le=5000, description="Entries asked for per request.", examples=[50])
    allow_private_network: bool = allow_private_network_option("an API base URL")


class ClockifySource(Source):
    """Reads a Clockify workspace's time entries, user by user.

    Each entry becomes one ``time_entry``: ``entry_id`` (Clockify's id), ``started_at`` (UTC),
    ``date`` (the start's day in the workflow's time zone), ``hours`` (from ``PT1H30M``),
    ``task`` (the description), ``person`` (the user's name), ``client`` (the project's client),
    ``task_type`` (the first tag, by default) and ``campaign`` (the project, by default),
    ``platform`` (the first tag, else the project, else the task, that names a platform: ``IG``,
    ``LinkedIn``; else empty), and ``cost`` (hours x the entry's billable rate, for billable entries with a rate above 0; else
    empty, and the workflow's rates price the time). A timer still running (no end) is left out
    and the run summary says so.
    """

    name = "clockify"
    description = "Read a Clockify workspace's time entries (API v1)."
    Options = ClockifyOptions
    record_kinds = ("time_entry",)
    window_only = True  # the API is asked for the run's days, not the whole history

    def fetch(self, ctx: FetchContext) -> Iterable[RecordTable]:
        options: ClockifyOptions = self.options
        clockify = self._session(ctx)
        workspace = f"/api/v1/workspaces/{options.workspace_id}"
        names = {user["id"]: user.get("name") for user in self._pages(clockify, f"{workspace}/users", {})}
        zone = local_day_zone(options, ctx)
        window = {"start": _instant(ctx.window_start), "end": _instant(ctx.window_end), "hydrated": "true"}
        rows, running = [], 0
        for user in options.users or list(names):
            for entry in self._pages(clockify, f"{workspace}/user/{user}/time-entries", window):
                interval = entry.get("timeInterval") or {}
                if not interval.get("end") or not interval.get("duration"):
                    running += 1
                    continue
                started_at = parse_instant(interval["start"])
                if not ctx.window_start <= started_at < ctx.window_end:
                    continue
                hours = hours_of(interval["duration"])
                project = entry.get("project") or {}
                rows.append(entry_row(
                    options, zone, entry_id=str(entry["id"]), started_at=started_at, hours=hours,
                    task=entry.get("description"), person=names.get(entry.get("userId") or user),
                    project=project.get("name"), client=project.get("clientName") or None,
                    tags=[t["name"] for t in entry.get("tags") or [] if isinstance(t, dict) and t.get("name")],
                    cost=_billable_cost(entry, hours), currency=_rate_currency(entry),
                    tracker_task=(entry.get("task") or {}).get("name") if isinstance(entry.get("task"), dict) else None))
        if running:
            ctx.warn(running_timers_note(f"clockify source {self.entry_id!r}", running))
        yield RecordTable.from_rows("time_entry", rows)

    def check_credentials(self, ctx: FetchContext) -> list[Any]:
        """``GET /api/v1/user`` (the key and whose it is) then ``GET /api/v1/workspaces/{id}``
        (the workspace it opens): what ``cmflow doctor`` shows."""
        return tracker_credentials(self, self._session(ctx), CLOCKIFY, me_path="/api/v1/user",
                                   workspaces_path="/api/v1/workspaces", owner_key="name",
                                   expiry_note="never (until deleted)")

    def _session(self, ctx: FetchContext) -> "PlatformSession":
        options: ClockifyOptions = self.options
        return ctx.http.session(CLOCKIFY, base_url=options.base_url, source=self.entry_id,
                                headers={"X-Api-Key": options.api_key.get_secret_value()},
                                allow_private_network=options.allow_private_network)

    def _pages(self, clockify: "PlatformSession", path: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """Every item of a paged list, page by page until one comes back short."""
        size = self.options.page_size
        for page in range(1, 100_000):
            items = clockify.get_json(path, params={**params, "page": page, "page-size": size})
            if not isinstance(items, list):
                from cmflow.http import BadResponse

                raise BadResponse(f"GET {path} answered no list", hint="check base_url and workspace_id",
                                  platform=CLOCKIFY.title, source=self.entry_id)
            yield from (item for item in items if isinstance(item, dict) and "id" in item)
            if len(items) < size:
                return


def _instant(moment: Any) -> str:
    """An instant as Clockify's query parameters take it (``2026-11-15T23:00:00Z``)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _billable_cost(entry: dict[str, Any], hours: float) -> float | None:
    """Hours x the billable rate (in cents) of a billable entry; None without one (0 included):
    the workflow's rates then price the time, never as free."""
    rate = entry.get("hourlyRate") or {}
    amount = rate.get("amount") if isinstance(rate, dict) else None
    if not entry.get("billable") or not isinstance(amount, (int, float)) or amount <= 0:
        return None
    return round(hours * amount / 100, 2)


def _rate_currency(entry: dict[str, Any]) -> str | None:
    """The currency of the entry's billable rate (``hourlyRate.currency``), upper case."""
    rate = entry.get("hourlyRate") or {}
    code = rate.get("currency") if isinstance(rate, dict) else None
    return code.strip().upper() if isinstance(code, str) and code.strip() else None


@hookimpl
def register_sources(register):
    register(ClockifySource)
