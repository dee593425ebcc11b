"""What the time trackers' sources (``toggl``, ``clockify`` and their CSV exports) share: the
options that say where a time entry's task type and campaign come from, the platform an entry
names (:func:`platform_named`), the ``time_entry`` row of one entry, and the credential check
``cmflow doctor`` shows."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Iterable, Literal, Optional
from zoneinfo import ZoneInfo

from pydantic import Field

from cmflow import PluginOptions, TimeZoneName, platform_of

if TYPE_CHECKING:
    from cmflow import FetchContext, Source
    from cmflow.http import Platform, PlatformSession

Place = Literal["tags", "project", "client", "none"]


class TrackerOptions(PluginOptions):
    """The options of a time tracker's API source that say how its entries map."""

    task_type_from: Literal["tags", "project", "none"] = Field(
        "tags", description="Where a time entry's task type (blog article, short video ...) is read: tags "
        "(the first of the entry's tags, in the order the tracker gives them), project, or none.",
        examples=["project"])
    campaign_from: Place = Field(
        "project", description="Where a time entry's campaign is read: project (the tracker's project), "
        "tags (the first tag), client, or none.", examples=["tags"])
    timezone: Optional[TimeZoneName] = Field(
        None, description="Time zone of the entries' local day (`date`). Default: the workflow's time zone.",
        examples=["Europe/Paris"])


def local_day_zone(options: TrackerOptions, ctx: "FetchContext") -> ZoneInfo:
    """The zone whose calendar gives an entry its day."""
    return ZoneInfo(options.timezone or (ctx.periods[0].tz if ctx.periods else "UTC"))


def placed(place: str, *, tags: list[str], project: Optional[str], client: Optional[str]) -> Optional[str]:
    """The value of ``place`` for one entry (the first tag for ``tags``)."""
    if place == "tags":
        return tags[0] if tags else None
    return {"project": project, "client": client}.get(place)


def platform_named(tags: Iterable[Optional[str]], project: Optional[str], *tasks: Optional[str]) -> Optional[str]:
    """The platform an entry was spent for: the first of its tags (in the tracker's order), then
    its project, then its task (the tracker's task, then the description), that
    :func:`~cmflow.platform_of` reads as a platform (``IG``, ``Instagram``, ``LinkedIn``); None
    when none names one (never guessed from other words: ``Reel for IG`` names none)."""
    for value in (*tags, project, *tasks):
        if value and (platform := platform_of(value)):
            return platform
    return None


def entry_row(options: TrackerOptions, zone: ZoneInfo, *, entry_id: str, started_at: datetime, hours: float,
              task: Optional[str], person: Optional[str], project: Optional[str], client: Optional[str],
              tags: list[str], cost: Optional[float] = None, currency: Optional[str] = None,
              tracker_task: Optional[str] = None) -> dict[str, Any]:
    """One ``time_entry`` row: its day is the start's local day in ``zone``; ``currency`` is the
    code the tracker gives its amounts in (``cost``'s); its platform is the one its tags, project,
    ``tracker_task`` (the tracker's task, Clockify's) or ``task`` name (:func:`platform_named`)."""
    return {
        "entry_id": entry_id, "date": started_at.astimezone(zone).date(), "started_at": started_at,
        "hours": hours, "task": task or None, "person": person,
        "task_type": placed(options.task_type_from, tags=tags, project=project, client=client),
        "campaign": placed(options.campaign_from, tags=tags, project=project, client=client),
        "client": client, "platform": platform_named(tags, project, tracker_task, task),
        "cost": cost, "currency": currency if cost is not None and currency else None,
    }


def running_timers_note(tracker: str, count: int) -> str:
    """The run summary's line for timers still running, left out."""
    return (f"{tracker}: {count} timer(s) still running were left out (a running timer is not an entry yet: "
            "its time counts once it is stopped)")


def tracker_credentials(source: "Source", session: "PlatformSession", platform: "Platform", *, me_path: str,
                        workspaces_path: str, owner_key: str, expiry_note: str) -> list[Any]:
    """What ``cmflow doctor`` shows for a tracker: ``GET me_path`` (the token, and whose it is:
    its ``owner_key``) then ``GET workspaces_path/{id}`` (the workspace it opens, by name)."""
    from cmflow import CredentialCheck
    from cmflow.http import PlatformError

    workspace_id = source.options.workspace_id
    row = CredentialCheck.for_source(source, account=f"workspace {workspace_id}")
    row.expiry(None, session.client.clock(), renew=platform.renew_hint, note=expiry_note)
    try:
        me = session.get_json(me_path)
        row.token_valid = True
        workspace = session.get_json(f"{workspaces_path}/{workspace_id}")
        name = workspace.get("name") if isinstance(workspace, dict) else None
        owner = me.get(owner_key) if isinstance(me, dict) else None
        row.account = f"{name or 'workspace'} ({workspace_id})" + (f", as {owner}" if owner else "")
    except PlatformError as exc:
        row.failed(exc, session.client.clock())
    return [row]
