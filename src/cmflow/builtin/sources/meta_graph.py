"""What the ``instagram`` and ``facebook_page`` sources share: Meta's Graph API.

Both APIs put the version in the path (``/v25.0/...``), answer lists as ``{"data": [...],
"paging": {"next": URL}}``, insights as ``{"data": [{"name", "period", "values" or
"total_value"}]}`` with daily values dated by an ``end_time`` at Pacific midnight, and
deprecate metrics by name. Throttling, expired tokens and missing permissions are the HTTP
kit's business (:mod:`cmflow.http`); this module turns the Graph's shapes into plain values,
refuses 200 answers that are not the documented shape, and names deprecated metrics at
validation.
"""

from __future__ import annotations

import re
import threading
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Literal, Mapping, Sequence, TypeVar
from zoneinfo import ZoneInfo

from pydantic import Field

from cmflow import RecordTable
from cmflow.http import BadResponse, NextUrl

from cmflow.builtin.sources.platform_common import https_url, parse_instant, run_zone, window_dates

if TYPE_CHECKING:
    from cmflow import FetchContext
    from cmflow.http import PlatformSession  # the client (httpx, tenacity): imported when a run fetches

GRAPH_FACEBOOK = "https://graph.facebook.com"
GRAPH_INSTAGRAM = "https://graph.instagram.com"
PACIFIC = ZoneInfo("America/Los_Angeles")
"""Meta counts insight days in Pacific time: a day's value ends at the next Pacific midnight."""
API_VERSION_PATTERN = r"^v\d+\.\d+$"
MAX_PARALLEL = 4
"""Requests one source keeps in flight (per-post insights); the platform budget caps it too."""

Fetch = Literal["posts", "account_snapshots", "conversations"]
KIND_OF_FETCH = {"posts": "post", "account_snapshots": "account_snapshot", "conversations": "conversation"}
"""Values of the ``fetch`` option and the record kind each gives."""

T = TypeVar("T")
R = TypeVar("R")


# -- time ---------------------------------------------------------------------------------------
def unix_seconds(moment: datetime) -> int:
    """What the Graph's ``since`` and ``until`` parameters take."""
    return int(moment.timestamp())


def pacific_midnight(day: date) -> datetime:
    """The instant a Meta insights day starts."""
    return datetime.combine(day, time(), PACIFIC).astimezone(timezone.utc)


def day_of_end_time(end_time: str) -> date:
    """The day a daily insight value describes: its ``end_time`` is the midnight (Pacific,
    07:00 or 08:00 UTC) that ends that day, so the day is the one just before it."""
    return (parse_instant(end_time) - timedelta(seconds=1)).astimezone(PACIFIC).date()


def insight_days(ctx: FetchContext) -> list[date]:
    """The account days to ask daily insights for: every day of the run's periods and the day
    before each (the baseline of growth metrics), kept inside the fetch window."""
    first, last = window_dates(ctx, run_zone(ctx))
    window = {first + timedelta(days=n) for n in range((last - first).days + 1)}
    if not ctx.periods:
        return sorted(window)
    wanted = {p.start - timedelta(days=1) + timedelta(days=n) for p in ctx.periods for n in range(p.days + 1)}
    return sorted(window & wanted)


def day_ranges(days: Sequence[date], max_days: int) -> list[tuple[date, date]]:
    """Runs of consecutive days (first, last) whose ``since``/``until`` (Pacific midnights) are at
    most ``max_days`` x 24 h apart: the Graph refuses more (30 days on Instagram, 90 on Pages),
    and a run over the end of summer time is an hour longer than its days."""
    ranges: list[tuple[date, date]] = []
    longest = timedelta(days=max_days)
    for day in sorted(set(days)):
        follows = bool(ranges) and day == ranges[-1][1] + timedelta(days=1)
        if follows and pacific_midnight(day + timedelta(days=1)) - pacific_midnight(ranges[-1][0]) <= longest:
            ranges[-1] = (ranges[-1][0], day)
        else:
            ranges.append((day, day))
    return ranges


# -- options ------------------------------------------------------------------------------------
def check_metrics(names: list[str], *, available: Iterable[str], deprecated: Mapping[str, str]) -> list[str]:
    """Validate metric names: a deprecated one says what replaced it, an unknown one lists the
    names cmflow maps. Used by the sources' pydantic validators."""
    available = list(available)
    for name in names:
        if name in deprecated:
            raise ValueError(f"Meta no longer serves the metric {name!r}: {deprecated[name]}")
        if name not in available:
            raise ValueError(f"unknown metric {name!r}; available: {', '.join(available)}")
    if len(set(names)) != len(names):
        raise ValueError("a metric is listed twice")
    return names


def no_repeats(fetch: list[str]) -> list[str]:
    """Refuse a kind listed twice in ``fetch`` (a pydantic field validator)."""
    if len(set(fetch)) != len(fetch):
        raise ValueError("a kind is listed twice")
    return fetch


def comments_lookback_field() -> Any:
    """The ``comments_lookback_days`` option, the same on both sources."""
    return Field(
        7, ge=0, le=90, description="Comments received in the window are looked for on the posts "
        "published in the window and this many days before it (comments arrive after their post).",
        examples=[28])


def api_version_field() -> Any:
    """The ``api_version`` option, the same on both sources."""
    return Field(
        None, pattern=API_VERSION_PATTERN, description="Graph API version, e.g. \"v25.0\". Default: "
        "the version cmflow pins for Meta. Set it when Meta retires that version.", examples=["v26.0"])


def earliest_published(ctx: FetchContext, fetch: Sequence[str], comments_lookback_days: int) -> datetime:
    """The earliest publication instant a fetch needs: the window's start, or
    ``comments_lookback_days`` before it when conversations are fetched (comments arrive after
    their post)."""
    if "conversations" in fetch:
        return ctx.window_start - timedelta(days=comments_lookback_days)
    return ctx.window_start


def published_between(items: Iterable[dict[str, Any]], key: str, start: datetime, end: datetime, *,
                      ctx: FetchContext, what: str) -> list[dict[str, Any]]:
    """The items published (``item[key]``) in ``[start, end)``, each with ``_published_at``; the
    run is told how many ``what`` (e.g. "post(s)") had no id or no readable time."""
    published, malformed = [], 0
    for item in items:
        published_at = time_of(item, key)
        if published_at is None or not item.get("id"):
            malformed += 1
        elif start <= published_at < end:
            published.append({**item, "_published_at": published_at})
    if malformed:
        ctx.warn(f"skipped {malformed} {what} without an id or a readable {key}")
    return published


def in_window(posts: Iterable[dict[str, Any]], ctx: FetchContext) -> list[dict[str, Any]]:
    """The posts of :func:`published_between` published in the run's window."""
    return [p for p in posts if ctx.window_start <= p["_published_at"] < ctx.window_end]


def insight_counters(insights: Mapping[str, Any], canonical_of: Mapping[str, str]) -> dict[str, int]:
    """``{canonical field: count}`` of the insights a post has (an absent one is left out, not 0)."""
    counters = {}
    for metric, canonical in canonical_of.items():
        value = count(insights.get(metric))
        if value is not None:
            counters[canonical] = value
    return counters


def record_tables(fetch: Sequence[str],
                  rows_per_account: Iterable[dict[str, list[dict[str, Any]]]]) -> list[RecordTable]:
    """One table per kind asked for in ``fetch``, with the rows of every account together."""
    rows: dict[str, list[dict[str, Any]]] = {KIND_OF_FETCH[f]: [] for f in fetch}
    for account_rows in rows_per_account:
        for kind, kind_rows in account_rows.items():
            rows[kind] += kind_rows
    return [RecordTable.from_rows(kind, kind_rows) for kind, kind_rows in rows.items()]


# -- reading the Graph's answers ----------------------------------------------------------------
@dataclass
class GraphReader:
    """One source's reads of the Graph API: paths under the version, answers checked."""

    session: PlatformSession

    def path(self, *parts: str) -> str:
        """``/v25.0/{parts}``: Meta versions its API in the path."""
        return "/" + "/".join([self.session.api_version or "", *parts])

    def get(self, *parts: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The JSON object at ``/{version}/{parts}``."""
        return self.checked(self.session.get_json(self.path(*parts), params=params), "/".join(parts))

    def items(self, *parts: str, params: Mapping[str, Any] | None = None,
              stop: Callable[[list[dict[str, Any]]], bool] | None = None) -> Iterator[dict[str, Any]]:
        """Every item of a paged list (``paging.next``); ``stop(page_items)`` true ends the paging
        after that page (lists come newest first: stop once a page is older than needed)."""
        yield from self.items_at(self.path(*parts), "/".join(parts), params=params, stop=stop)

    def items_at(self, path_or_url: str, what: str, *, params: Mapping[str, Any] | None = None,
                 stop: Callable[[list[dict[str, Any]]], bool] | None = None) -> Iterator[dict[str, Any]]:
        """:meth:`items` from a path or a ``paging.next`` URL the Graph gave."""
        for page in self.session.pages(path_or_url, paging=NextUrl(), params=params):
            data = self.data_of(self.checked(page, what), what)
            yield from data
            if stop is not None and stop(data):
                return

    def data_of(self, body: dict[str, Any], what: str) -> list[dict[str, Any]]:
        """The ``data`` list of a list or insights answer; a clear error if it has none."""
        data = body.get("data")
        if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
            raise self.bad(f"{what} answered without the `data` list the Graph API documents", body)
        return data

    def checked(self, body: Any, what: str) -> dict[str, Any]:
        """The body, if it is a JSON object without an ``error`` (the Graph sometimes answers
        HTTP 200 with one)."""
        if not isinstance(body, dict):
            raise self.bad(f"{what} answered with JSON that is not an object", body)
        error = body.get("error")
        if error is not None:
            message = error.get("message") if isinstance(error, dict) else error
            raise self.bad(f"{what} answered HTTP 200 with an error: {message}", body)
        return body

    def bad(self, message: str, body: Any) -> BadResponse:
        """A :class:`BadResponse` naming the source, with the start of the body (redacted)."""
        import json

        shown = json.dumps(body, ensure_ascii=False)
        shown = shown[:200] + ("…" if len(shown) > 200 else "")
        return BadResponse(f"{message}: {shown}", platform=self.session.platform.title,
                           source=self.session.source)

    def insights(self, *parts: str, metrics: Sequence[str],
                 params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """``{metric: value}`` of a lifetime or total-value insights answer. A metric the Graph
        leaves out (no data yet, too few viewers) is absent from the result, never 0."""
        body = self.get(*parts, "insights", params={"metric": ",".join(metrics), **(params or {})})
        return lifetime_values(self.data_of(body, "/".join([*parts, "insights"])))

    def daily_insights(self, *parts: str, metrics: Sequence[str], first: date, last: date,
                       params: Mapping[str, Any] | None = None) -> dict[date, dict[str, Any]]:
        """``{day: {metric: value}}`` of daily (``period=day``) time series from ``first`` to
        ``last`` (Pacific days, both included). One request: the caller keeps within the
        platform's window. The answer's ``paging`` leads to the neighbouring time ranges and is
        deliberately not followed."""
        body = self.get(*parts, "insights", params={
            "metric": ",".join(metrics), "period": "day",
            "since": unix_seconds(pacific_midnight(first)),
            "until": unix_seconds(pacific_midnight(last + timedelta(days=1))), **(params or {})})
        days: dict[date, dict[str, Any]] = {}
        for item in self.data_of(body, "/".join([*parts, "insights"])):
            for point in item.get("values") or []:
                if not isinstance(point, dict) or "value" not in point or not point.get("end_time"):
                    continue
                day = day_of_end_time(point["end_time"])
                if first <= day <= last and point["value"] is not None:
                    days.setdefault(day, {})[item.get("name")] = point["value"]
        return days

    def daily_insights_over(self, *parts: str, metrics: Sequence[str], days: Sequence[date],
                            max_days: int) -> dict[date, dict[str, Any]]:
        """:meth:`daily_insights` over ``days``, in as few requests as :func:`day_ranges` allows."""
        values: dict[date, dict[str, Any]] = {}
        for first, last in day_ranges(days, max_days):
            for day, daily in self.daily_insights(*parts, metrics=metrics, first=first, last=last).items():
                values.setdefault(day, {}).update(daily)
        return values


def time_of(item: dict[str, Any], key: str) -> datetime | None:
    """``item[key]`` as a UTC datetime; None when absent or unreadable."""
    try:
        return parse_instant(item[key])  # the Graph writes 2026-11-20T10:00:00+0000
    except (KeyError, TypeError, ValueError):
        return None


def older_than(earliest: datetime, key: str) -> Callable[[list[dict[str, Any]]], bool]:
    """A ``stop`` for :meth:`GraphReader.items` on a newest-first list: true for a page wholly
    older than ``earliest`` (a pinned old post at the top of a page does not stop the paging)."""
    def stop(page: list[dict[str, Any]]) -> bool:
        times = [t for t in (time_of(item, key) for item in page) if t is not None]
        return not times or max(times) < earliest

    return stop


def lifetime_values(data: list[dict[str, Any]]) -> dict[str, Any]:
    """``{name: value}`` from insight items holding ``values[0].value`` or ``total_value.value``."""
    values: dict[str, Any] = {}
    for item in data:
        name = item.get("name")
        total = item.get("total_value")
        if isinstance(total, dict) and total.get("value") is not None:
            values[name] = total["value"]
            continue
        points = item.get("values")
        if isinstance(points, list) and points and isinstance(points[-1], dict) \
                and points[-1].get("value") is not None:
            values[name] = points[-1]["value"]
    return values


def count(value: Any) -> int | None:
    """A counter as an int; None for what is absent or not a number (no data is not 0)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def parallel_map(function: Callable[[T], R], items: Sequence[T], *, workers: int = MAX_PARALLEL) -> list[R]:
    """``[function(item) for item in items]`` with up to ``workers`` calls at once, in order.

    The first failure is raised once the calls in flight are done; calls not started are
    cancelled, so an expired token costs a handful of requests, not one per post."""
    if len(items) <= 1 or workers <= 1:
        return [function(item) for item in items]
    failed = threading.Event()

    def guarded(item: T) -> R:
        if failed.is_set():
            raise _Cancelled
        try:
            return function(item)
        except BaseException:
            failed.set()
            raise

    with ThreadPoolExecutor(max_workers=min(workers, len(items)), thread_name_prefix="graph") as pool:
        futures = [pool.submit(guarded, item) for item in items]
        done, _ = wait(futures, return_when=FIRST_EXCEPTION)
        errors = [f.exception() for f in futures if f.done() and f.exception() is not None
                  and not isinstance(f.exception(), _Cancelled)]
        if errors:
            for future in futures:
                future.cancel()
            raise errors[0]
        return [f.result() for f in futures]


class _Cancelled(Exception):
    """A call skipped because another one failed first."""


# -- comments as conversations ------------------------------------------------------------------
@dataclass(frozen=True)
class Comment:
    """One comment or reply under a post, as both platforms give it."""

    comment_id: str
    parent_id: str | None
    created_at: datetime
    author: str | None
    text: str | None
    by_account: bool
    """Written by the account itself (its replies answer the thread)."""
    url: str | None = None
    """Its own link, where the platform gives one (Facebook's ``permalink_url``)."""


def conversation_rows(comments: Sequence[Comment], *, platform: str, account: str, post_id: str,
                      start: datetime, end: datetime, post_url: str | None = None) -> list[dict[str, Any]]:
    """One ``conversation`` row per comment from the public received in ``[start, end)``.

    ``replied_at`` is the first reply of the account in the same thread (the top-level comment
    and its replies) at or after the comment; empty when the account has not answered. ``url`` is
    the comment's own link, else ``post_url`` (the post it is under)."""
    by_id = {c.comment_id: c for c in comments}

    def thread_of(comment: Comment) -> str:
        seen = set()
        while comment.parent_id and comment.parent_id in by_id and comment.comment_id not in seen:
            seen.add(comment.comment_id)
            comment = by_id[comment.parent_id]
        return comment.parent_id or comment.comment_id

    answers: dict[str, list[datetime]] = {}
    for comment in comments:
        if comment.by_account:
            answers.setdefault(thread_of(comment), []).append(comment.created_at)
    rows = []
    for comment in comments:
        if comment.by_account or not start <= comment.created_at < end:
            continue
        replied = [t for t in answers.get(thread_of(comment), []) if t >= comment.created_at]
        rows.append({"platform": platform, "account": account, "message_id": comment.comment_id,
                     "received_at": comment.created_at, "replied_at": min(replied) if replied else None,
                     "author": comment.author, "text": comment.text, "post_id": post_id,
                     "url": https_url(comment.url) or https_url(post_url)})
    return rows


UNSUPPORTED_METRIC = re.compile(r"does not support the (\w+) metric|metric (\w+) is not supported", re.IGNORECASE)


def unsupported_metric(message: str) -> str | None:
    """The metric a Graph error #100 says this object does not offer ("The Media Insights API
    does not support the views metric for this media product type"), if it names one."""
    match = UNSUPPORTED_METRIC.search(message)
    return (match.group(1) or match.group(2)) if match else None


# -- cmflow doctor ------------------------------------------------------------------------------
def check_meta_token(row: Any, graph: GraphReader, token: str, *, required: Sequence[str], how: str,
                     renew: str) -> Any:
    """Fill ``row`` (a :class:`cmflow.CredentialCheck`) with what Meta says of ``token``:
    valid or not, its scopes against ``required``, when it and its data access expire.

    ``GET /debug_token?input_token=`` answers all of it, but only to an app token or a token of
    one of the app's developers; other tokens fall back on ``GET /me/permissions`` (scopes, no
    expiry). Returns the rate budget (:class:`cmflow.RateBudget`) the answer's usage headers
    report, if any. An invalid token raises :class:`~cmflow.http.AuthExpired` (Meta code 190)
    like any request."""
    from cmflow import RateBudget
    from cmflow.http import PermissionMissing, RequestRejected

    session = graph.session
    now = session.client.clock()
    try:
        answer = session.request("GET", graph.path("debug_token"), params={"input_token": token})
    except (RequestRejected, PermissionMissing):
        return _meta_permissions(row, graph, required=required, how=how, renew=renew)
    budget = RateBudget.from_meta_headers(answer.headers)
    data = graph.checked(answer.json, "debug_token").get("data")
    if not isinstance(data, dict):
        raise graph.bad("debug_token answered without the `data` object Meta documents", answer.json)
    if not data.get("is_valid"):
        error = data.get("error") if isinstance(data.get("error"), dict) else {}
        row.token_valid = False
        row.flag("fail", f"Meta says the token is not valid ({error.get('message') or 'is_valid: false'}): {renew}")
        return budget
    row.token_valid = True
    row.scopes([str(s) for s in data.get("scopes") or []], required, how=how)
    expires = epoch(data.get("expires_at"))
    row.expiry(expires, now, renew=renew, note="never" if str(data.get("expires_at")) == "0" else "unknown")
    data_access = epoch(data.get("data_access_expires_at"))
    if data_access is not None and (expires is None or data_access < expires):
        left = data_access.timestamp() - now
        renew_access = ("the person who made the token must log in to the app again (Meta renews data "
                        "access for 90 days at each login), or use a system user token")
        if left <= 0:
            row.flag("fail", f"The token's data access expired on {data_access:%Y-%m-%d}: {renew_access}")
        elif left < 7 * 86400:
            row.flag("warning", f"The token's data access expires on {data_access:%Y-%m-%d}: {renew_access}")
    return budget


def _meta_permissions(row: Any, graph: GraphReader, *, required: Sequence[str], how: str, renew: str) -> Any:
    """The scopes from ``GET /me/permissions`` when ``debug_token`` is refused (no expiry there)."""
    from cmflow import RateBudget
    from cmflow.http import PermissionMissing, RequestRejected

    session = graph.session
    try:
        answer = session.request("GET", graph.path("me", "permissions"))
    except (RequestRejected, PermissionMissing):  # a Page token has no permissions edge
        row.token_valid = None
        row.expiry(None, session.client.clock(), renew=renew, note="unknown")
        row.note("Meta reports this token's scopes and expiry only to the app's developers (debug_token)")
        return None
    permissions = graph.data_of(graph.checked(answer.json, "me/permissions"), "me/permissions")
    row.token_valid = True
    row.scopes([str(p.get("permission")) for p in permissions if p.get("status") == "granted"], required, how=how)
    row.expiry(None, session.client.clock(), renew=renew, note="unknown")
    row.note("Meta reports the expiry only to the app's developers (debug_token)")
    return RateBudget.from_meta_headers(answer.headers)


def account_budget(graph: GraphReader, parts: Sequence[str], fields: str) -> tuple[dict[str, Any], Any]:
    """The object at ``parts`` with ``fields`` (one cheap request), and the rate budget its usage
    headers report (``None`` when it sends none)."""
    from cmflow import RateBudget

    answer = graph.session.request("GET", graph.path(*parts), params={"fields": fields})
    return graph.checked(answer.json, "/".join(parts)), RateBudget.from_meta_headers(answer.headers)


def epoch(value: Any) -> datetime | None:
    """A UTC datetime from epoch seconds (a number or a digit string); None for 0 or nothing."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return datetime.fromtimestamp(number, timezone.utc) if number > 0 else None
