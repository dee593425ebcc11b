"""The ``toggl`` source: a Toggl Track workspace's time entries, from the Reports API v3.

The detailed report (``POST /reports/api/v3/workspace/{id}/search/time_entries``) holds every
member's entries of the workspace (the v9 ``/me/time_entries`` holds only the token owner's, an
agency needs the team's): one request per page, the next page named by the ``X-Next-ID``,
``X-Next-Row-Number`` and ``X-Next-Timestamp`` headers. Project, client and tag names come from
``GET /api/v9/workspaces/{id}/projects``, ``/clients`` and ``/tags``. HTTP basic auth with the
API token as user name and ``api_token`` as password. Platform facts: docs/sources/toggl.md.
"""

from __future__ import annotations

import base64
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Iterable, Iterator

from pydantic import Field, SecretStr

from cmflow import RecordTable, Source, WebUrl, WholeNumber, hookimpl
from cmflow.http import Platform, allow_private_network_option

from cmflow.builtin.sources.platform_common import parse_instant
from cmflow.builtin.sources.time_tracking import (TrackerOptions, entry_row, local_day_zone, running_timers_note,
                                                  tracker_credentials)

if TYPE_CHECKING:
    from cmflow import FetchContext
    from cmflow.http import PlatformSession

QUOTA_RESET_HEADER = "X-Toggl-Quota-Resets-In"
"""Seconds until the hourly quota of a 402 answer is renewed."""


def quota_reached(platform: Platform, answer: Any) -> Any:
    """Toggl's hourly request quota (402 with ``X-Toggl-Quota-Resets-In``): wait and retry, as
    for a 429; anything else: the shared HTTP status rules."""
    from cmflow.http import RetryDecision

    if answer.status != 402:
        return None
    wait = answer.headers.get(QUOTA_RESET_HEADER, "")
    return RetryDecision("retry", reason=f"HTTP 402: the workspace's hourly API quota is used up", throttled=True,
                         wait=float(wait) if wait.isdigit() else None, code=402)


TOGGL = Platform("toggl", "Toggl Track", requests_per_second=1.0, burst=2, classify=quota_reached,
                 renew_hint="copy the API token again from Toggl Track's Profile settings (it changes when reset)")
"""Toggl asks for about one request per second per token; 429 beyond, and 402 when the
workspace's hourly quota is used up."""
NEXT_PAGE_HEADERS = {"first_id": "X-Next-ID", "first_row_number": "X-Next-Row-Number",
                     "first_timestamp": "X-Next-Timestamp"}
"""The request body's fields for the next page, and the answer's headers that give them."""


class TogglOptions(TrackerOptions):
    workspace_id: int = Field(
        description="The workspace's numeric id (in Toggl Track's URLs: track.toggl.com/reports/.../"
        "workspace/1234567, or GET /api/v9/me).", examples=[1234567])
    token: SecretStr = Field(
        description="API token of a workspace admin (Profile settings > API Token); a member's token reads "
        "only what Toggl shows that member. Write token = \"${env:TOGGL_API_TOKEN}\".",
        examples=["${env:TOGGL_API_TOKEN}"])
    base_url: WebUrl = Field("https://api.track.toggl.com", description="Toggl Track's API address.",
                             examples=["https://api.track.toggl.com"])
    page_size: WholeNumber = Field(50, ge=1, le=1000, description="Rows asked for per page of the detailed report.",
                                   examples=[50])
    allow_private_network: bool = allow_private_network_option("an API base URL")


class TogglSource(Source):
    """Reads a Toggl Track workspace's time entries (every member's) from the detailed report.

    Each time entry becomes one ``time_entry``: ``entry_id`` (Toggl's id), ``started_at`` (UTC),
    ``date`` (the start's day in the workflow's time zone), ``hours`` (``seconds`` / 3600),
    ``task`` (the description), ``person`` (the member's name), ``client`` (the project's
    client's name), ``task_type`` (first tag, by default) and ``campaign`` (the project, by
    default), ``platform`` (the first tag, else the project, else the description, that names a
    platform: ``IG``, ``Instagram``, ``LinkedIn``; else empty), and ``cost`` (the billable amount when Toggl gives one above 0, with its
    ``currency``; else empty, and the workflow's rates price the time). A timer still running (negative seconds, no stop) is
    not an entry yet: it is left out and the run summary says so.
    """

    name = "toggl"
    description = "Read a Toggl Track workspace's time entries (Reports API v3 detailed report)."
    Options = TogglOptions
    record_kinds = ("time_entry",)
    window_only = True  # the API is asked for the run's days, not the whole history

    def fetch(self, ctx: FetchContext) -> Iterable[RecordTable]:
        options: TogglOptions = self.options
        toggl = self._session(ctx)
        workspace = f"/api/v9/workspaces/{options.workspace_id}"
        projects = {p["id"]: p for p in self._listed(toggl, f"{workspace}/projects", paged=True)}
        clients = {c["id"]: c.get("name") for c in self._listed(toggl, f"{workspace}/clients")}
        tags = {t["id"]: t.get("name") for t in self._listed(toggl, f"{workspace}/tags")}
        zone = local_day_zone(options, ctx)
        rows, running = [], 0
        for group in self._report(toggl, ctx):
            project = projects.get(group.get("project_id")) or {}
            tag_names = [tags[t] for t in group.get("tag_ids") or [] if tags.get(t)]
            for entry in group.get("time_entries") or []:
                seconds = entry.get("seconds")
                if not isinstance(seconds, (int, float)) or seconds < 0 or not entry.get("stop"):
                    running += 1
                    continue
                started_at = parse_instant(entry["start"])
                if not ctx.window_start <= started_at < ctx.window_end:
                    continue
                rows.append(entry_row(
                    options, zone, entry_id=str(entry["id"]), started_at=started_at, hours=seconds / 3600,
                    task=group.get("description"), person=group.get("username"), project=project.get("name"),
                    client=clients.get(project.get("client_id")), tags=tag_names,
                    cost=_billable_amount(group, len(group.get("time_entries") or [])),
                    currency=_code(group.get("currency"))))
        if running:
            ctx.warn(running_timers_note(f"toggl source {self.entry_id!r}", running))
        yield RecordTable.from_rows("time_entry", rows)

    def check_credentials(self, ctx: FetchContext) -> list[Any]:
        """``GET /api/v9/me`` (the token) then ``GET /api/v9/workspaces/{id}`` (the workspace it
        opens): what ``cmflow doctor`` shows."""
        return tracker_credentials(self, self._session(ctx), TOGGL, me_path="/api/v9/me",
                                   workspaces_path="/api/v9/workspaces", owner_key="fullname",
                                   expiry_note="never (until reset)")

    def _session(self, ctx: FetchContext) -> "PlatformSession":
        token = self.options.token.get_secret_value()
        basic = base64.b64encode(f"{token}:api_token".encode()).decode("ascii")
        return ctx.http.session(TOGGL, base_url=self.options.base_url, source=self.entry_id,
                                headers={"Authorization": f"Basic {basic}"},
                                allow_private_network=self.options.allow_private_network)

    def _report(self, toggl: "PlatformSession", ctx: FetchContext) -> Iterator[dict[str, Any]]:
        """Every row of the detailed report over the window's days, page by page."""
        zone = local_day_zone(self.options, ctx)
        first = ctx.window_start.astimezone(zone).date() - timedelta(days=1)  # the tracker's own zone may differ
        last = (ctx.window_end - timedelta(microseconds=1)).astimezone(zone).date() + timedelta(days=1)
        path = f"/reports/api/v3/workspace/{self.options.workspace_id}/search/time_entries"
        body: dict[str, Any] = {"start_date": first.isoformat(), "end_date": last.isoformat(),
                                "page_size": self.options.page_size, "order_by": "date", "order_dir": "asc"}
        for _ in range(10_000):
            answer = toggl.request("POST", path, json=body)
            rows = toggl.json_of(answer)
            if not isinstance(rows, list):
                raise _odd(toggl, f"POST {path} answered no list of rows")
            yield from (row for row in rows if isinstance(row, dict))
            following = {field: answer.headers.get(header) for field, header in NEXT_PAGE_HEADERS.items()}
            if not (following["first_id"] or following["first_row_number"]) or not rows:
                return
            body = {**body, **{field: int(value) for field, value in following.items() if value and value.isdigit()}}
        raise _odd(toggl, f"POST {path} gave more than 10,000 pages: shorten the period")

    def _listed(self, toggl: "PlatformSession", path: str, paged: bool = False) -> list[dict[str, Any]]:
        """A workspace's projects, clients or tags (projects come 200 a page)."""
        found: list[dict[str, Any]] = []
        for page in range(1, 1000 if paged else 2):
            answer = toggl.get_json(path, params={"page": page, "per_page": 200} if paged else None)
            items = [item for item in answer or [] if isinstance(item, dict) and "id" in item] \
                if isinstance(answer, list) else None
            if items is None:
                raise _odd(toggl, f"GET {path} answered no list")
            found += items
            if not paged or len(items) < 200:
                break
        return found


def _billable_amount(group: dict[str, Any], entries: int) -> float | None:
    """The billable amount of one entry of a report row (the row's share when it groups several),
    or None when there is none or it is 0 (not billable, no rate): the workflow's rates then
    price the time."""
    cents = group.get("billable_amount_in_cents")
    if not isinstance(cents, (int, float)) or cents <= 0 or entries != 1:
        return None
    return cents / 100


def _code(value: Any) -> str | None:
    """A currency code as Toggl writes it (``EUR``), upper case; None when absent."""
    return value.strip().upper() if isinstance(value, str) and value.strip() else None


def _odd(toggl: "PlatformSession", message: str) -> Exception:
    from cmflow.http import BadResponse

    return BadResponse(message, hint="Toggl's answer is not the documented one: check base_url",
                       platform=toggl.platform.title, source=toggl.source)


@hookimpl
def register_sources(register):
    register(TogglSource)
