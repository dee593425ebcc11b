"""``cmflow utm --calendar``: the UTM-tagged link of each calendar item a workflow plans in a
period, so that a community manager can paste them into the posts.

The workflow's calendar sources are fetched for the period (nothing is kept in the store), the
items planned in it are taken in order, and each gets a row: its link tagged with its platform
as ``utm_source`` and its campaign as ``utm_campaign``, or a note saying why there is none. A
cancelled item (whatever the calendar calls it: Annulé, cancelled ...) has no row; an item's own
link that points to a social platform is the post's permalink, not the page the post sends to,
so the default address is tagged instead. Values are written as :mod:`cmflow.foundation.utm_links`
writes them, the rule the ``untagged_links`` metric checks links against.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from cmflow.foundation.calendar_statuses import status_of
from cmflow.foundation.errors import UserFacingError
from cmflow.foundation.platform_names import platform_of
from cmflow.foundation.utm_links import tagged

if TYPE_CHECKING:
    from cmflow.foundation.periods import Period
    from cmflow.workflow import Workflow

CALENDAR_COLUMNS = ("item_id", "title", "platform", "planned_at", "campaign", "tagged_link", "note")
"""The columns of a calendar's links, in order: :attr:`CalendarLinks.rows` holds rows of these."""


class NoCalendarSource(UserFacingError):
    """The workflow has no source that reads calendar items."""


@dataclass
class CalendarLinks:
    """The tagged links of a period's calendar items, and what the sources said reading them."""

    rows: list[list[str]] = field(default_factory=list)
    """One row per item of the period that is not cancelled, in :data:`CALENDAR_COLUMNS` order."""
    failed: list[tuple[str, str]] = field(default_factory=list)
    """Sources that could not be read: (source id, error). When any did, ``rows`` is empty."""
    problems: list[tuple[str, str]] = field(default_factory=list)
    """Non-fatal problems the sources reported (skipped rows ...): (source id, problem)."""


def calendar_links(workflow: "Workflow", period: "Period", medium: str, default_url: str | None) -> CalendarLinks:
    """Fetch ``workflow``'s calendar sources for ``period`` and tag each item's link: its own
    link, or ``default_url`` when it has none (or its own is a post's permalink)."""
    items, failed, problems = calendar_items(workflow, period)
    if failed:
        return CalendarLinks(failed=failed, problems=problems)
    return CalendarLinks(rows=calendar_rows(items, workflow.settings.timezone, medium, default_url),
                         problems=problems)


def calendar_items(workflow: "Workflow", period: "Period") -> tuple[list[dict[str, Any]], list[tuple[str, str]],
                                                                    list[tuple[str, str]]]:
    """The calendar items of ``workflow``'s sources planned in ``period``, by planned time (its
    sources that make calendar items only, nothing kept in the store); the sources that failed,
    and the problems they reported."""
    import polars as pl

    from cmflow.stages.fetch import fetch

    sources = [entry for entry in workflow.sources if "calendar_item" in entry.plugin.produces()]
    if not sources:
        raise NoCalendarSource(f"{workflow.file}: no source of the workflow reads calendar items "
                               "(a [[sources]] entry with record = \"calendar_item\", or a calendar source)")
    fetched = fetch(replace(workflow, sources=sources), [period], None, datetime.now(timezone.utc))
    failed = [(report.id, str(report.error)) for report in fetched.reports if not report.ok]
    problems = [(report.id, problem) for report in fetched.reports for problem in report.problems]
    frame = fetched.records.get("calendar_item")
    if failed or frame is None:
        return [], failed, problems
    inside = (pl.col("planned_at") >= period.start_utc) & (pl.col("planned_at") < period.end_utc)
    return frame.filter(inside).sort("planned_at", "item_id").to_dicts(), failed, problems


def calendar_rows(items: list[dict[str, Any]], tz: str, medium: str, default_url: str | None) -> list[list[str]]:
    """One row per item (cancelled ones left out): its tagged link, or a note saying why there
    is none; the planned time in the workflow's time zone ``tz``."""
    from zoneinfo import ZoneInfo

    rows = []
    for item in items:
        if status_of(item.get("status")) == "cancelled":
            continue
        own = (item.get("url") or "").strip()
        # A link to a social platform is the post's permalink, not the page it sends to.
        link = own if own and platform_of(own) is None else default_url
        platform, campaign = item.get("platform") or "", item.get("campaign") or ""
        platform = platform_of(platform) or platform  # "IG" from a hand-kept sheet: instagram
        note, tagged_link = "", ""
        if not link:
            note = "no planned link: give one with --url"
        elif not platform:
            note = "no platform: utm_source unknown"
        elif not campaign:
            note = "no campaign: utm_campaign unknown"
        else:
            try:
                tagged_link = tagged(link, source=platform, medium=medium, campaign=campaign)
            except ValueError as error:
                note = str(error)
        planned = item["planned_at"].astimezone(ZoneInfo(tz)).isoformat(timespec="minutes")
        rows.append([item["item_id"], item.get("title") or "", platform, planned, campaign, tagged_link, note])
    return rows
