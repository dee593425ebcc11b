"""The ``ga4`` source: sessions, key events and revenue by UTM source, medium and campaign.

One Google Analytics 4 Data API report (``properties/{id}:runReport``) per run, by day and by
the sessions' source, medium and campaign (the ``utm_*`` parameters of the links the community
manager shares), paged by offset until ``rowCount``. Each row becomes one ``traffic`` record.
GA4 prices reports in property tokens; the answers say how many are left (``propertyQuota``),
and the source slows down when few are, before GA4 answers 429.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Literal, Optional

from pydantic import Field, SecretStr, field_validator

from cmflow import PluginOptions, RecordTable, Source, WebUrl, WholeNumber, hookimpl

from cmflow.builtin.sources.google_api import (SCOPE_PREFIX, GoogleCredentials, access_token, as_float, as_int, require_list,
                         require_object, unexpected, window_days)
from cmflow.builtin.sources.traffic_exports import with_platforms

if TYPE_CHECKING:
    from cmflow.http import PlatformSession
    from cmflow import FetchContext
    from cmflow.http import Pace

ANALYTICS_READONLY = SCOPE_PREFIX + "analytics.readonly"
RENAMED_METRICS = {"conversions": "keyEvents", "sessionConversionRate": "sessionKeyEventRate",
                   "userConversionRate": "userKeyEventRate"}
"""GA4 renamed conversions to key events in March 2024; the old API names are deprecated."""
METRIC_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(:[A-Za-z0-9_ -]+)?$")
"""A Data API metric name, with an event after a colon for per-event metrics (keyEvents:purchase)."""
ATTRIBUTION_DIMENSIONS = {
    "session": ("sessionSource", "sessionMedium", "sessionCampaignName"),
    "first_user": ("firstUserSource", "firstUserMedium", "firstUserCampaignName"),
}
CONTENT_DIMENSIONS = {"session": "sessionManualAdContent", "first_user": "firstUserManualAdContent"}
"""The utm_content of the links (GA4's "manual ad content"), by attribution."""
QUOTA_LIMITS = {
    "standard": {"tokensPerDay": 200_000, "tokensPerHour": 40_000, "tokensPerProjectPerHour": 14_000},
    "analytics_360": {"tokensPerDay": 2_000_000, "tokensPerHour": 400_000, "tokensPerProjectPerHour": 140_000},
}
"""Property tokens GA4 grants (developers.google.com/analytics/devguides/reporting/data/v1/quotas)."""
QUOTA_WINDOW_SECONDS = {"tokensPerDay": 86_400, "tokensPerHour": 3_600, "tokensPerProjectPerHour": 3_600}


class Ga4Options(GoogleCredentials, PluginOptions):
    property_id: str = Field(
        pattern=r"^\d+$", description="The GA4 property's numeric id (Admin > Property details), "
        "not the G-XXXX measurement id.", examples=["312345678"])
    token: Optional[SecretStr] = Field(
        None, description="OAuth 2.0 access token of a user or service account with at least the "
        "Viewer role on the property, with the analytics.readonly scope. Write token = "
        "\"${env:GA4_TOKEN}\". Google access tokens last one hour: for scheduled runs give "
        "refresh_token, client_id and client_secret instead.", examples=["${env:GA4_TOKEN}"])
    attribution: Literal["session", "first_user"] = Field(
        "session", description="session: each session's own source, medium and campaign "
        "(sessionSource ...); first_user: those that first brought the user (firstUserSource ...).",
        examples=["first_user"])
    sessions_metric: str = Field(
        "sessions", description="GA4 metric that fills `sessions`.", examples=["totalUsers"])
    users_metric: str = Field(
        "totalUsers", description="GA4 metric that fills `users`: totalUsers (every user who logged "
        "an event, the `Total users` column of GA4's acquisition reports) or activeUsers (active "
        "users only, fewer).", examples=["activeUsers"])
    by_content: bool = Field(
        False, description="Also break the traffic down by utm_content (GA4's sessionManualAdContent, or "
        "firstUserManualAdContent with first_user attribution), to tell apart the links of one campaign "
        "(a post, a story, a bio link). Each content value multiplies the report's rows.",
        examples=[True])
    conversions_metric: str = Field(
        "keyEvents", description="GA4 metric that fills `conversions`: keyEvents (all key events) "
        "or keyEvents:EVENT_NAME for one of them. The old name `conversions` is refused.",
        examples=["keyEvents:purchase"])
    revenue_metric: str = Field(
        "totalRevenue", description="GA4 metric that fills `revenue`, in the property's currency.",
        examples=["purchaseRevenue"])
    page_size: WholeNumber = Field(
        10_000, ge=1, le=250_000, description="Rows per request (GA4 allows up to 250,000).",
        examples=[100_000])
    quota_tier: Literal["standard", "analytics_360"] = Field(
        "standard", description="The property's quota: standard (40,000 tokens an hour) or "
        "analytics_360 (ten times more). Requests slow down once 90 % of it is used.",
        examples=["analytics_360"])
    base_url: WebUrl = Field(
        "https://analyticsdata.googleapis.com", description="Where the GA4 Data API lives (its "
        "/v1beta paths go under it). Change it only for a proxy or tests.",
        examples=["http://127.0.0.1:8080"])

    @field_validator("sessions_metric", "users_metric", "conversions_metric", "revenue_metric")
    @classmethod
    def _current_metric_name(cls, value: str) -> str:
        base, colon, event = value.partition(":")
        if base in RENAMED_METRICS:
            replacement = RENAMED_METRICS[base] + colon + event
            raise ValueError(f"GA4 renamed `{base}` to `{RENAMED_METRICS[base]}` (March 2024) and "
                             f"deprecated the old name: write \"{replacement}\"")
        if not METRIC_NAME.match(value):
            raise ValueError(f"{value!r} is not a GA4 metric name (e.g. sessions, keyEvents, keyEvents:purchase)")
        return value


class Ga4Source(Source):
    """Reads a GA4 property's traffic by day and by UTM source, medium and campaign.

    Each report row becomes one ``traffic`` record: ``date`` (the property's time zone),
    ``source``, ``medium`` and ``campaign`` as GA4 writes them (``(direct)``, ``(none)``,
    ``(not set)`` included), ``platform`` read from the source (``ig``, ``l.instagram.com`` and
    ``instagram`` are instagram; empty for ``google`` or ``newsletter``), ``sessions``, ``users``
    (totalUsers), ``conversions`` (key events) and ``revenue`` (in the property's currency, which
    ``currency`` names: the answer's ``metadata.currencyCode``), and ``content`` (utm_content) when ``by_content`` asks for it. GA4 sends values as strings and leaves ``rows`` out when there are
    none; figures of the last 24-48 hours may still change. Thresholding, sampling and an
    ``(other)`` row are reported as warnings of the run.
    """

    name = "ga4"
    reads_platform = "ga4"
    description = "Fetch GA4 sessions, key events and revenue by UTM source, medium and campaign (Data API)."
    Options = Ga4Options
    record_kinds = ("traffic",)
    incremental = True
    sample_options = {"token": "${env:GA4_TOKEN}"}  # or refresh_token, client_id, client_secret

    def fetch(self, ctx: FetchContext) -> Iterable[RecordTable]:
        from cmflow.http import OffsetLimit

        options: Ga4Options = self.options
        session = ctx.http.session("ga4", allow_private_network=options.allow_private_network,
                                   base_url=options.base_url,
                                   token=access_token(ctx, options, "ga4", self.entry_id),
                                   source=self.entry_id, scopes=(ANALYTICS_READONLY,))
        first_day, last_day = window_days(ctx.window_start, ctx.window_end)
        dimensions = ("date", *ATTRIBUTION_DIMENSIONS[options.attribution])
        if options.by_content:
            dimensions += (CONTENT_DIMENSIONS[options.attribution],)
        metrics = report_metrics(options)
        report = {"dateRanges": [{"startDate": first_day.isoformat(), "endDate": last_day.isoformat()}],
                  "dimensions": [{"name": name} for name in dimensions],
                  "metrics": [{"name": name} for name in metrics],
                  "returnPropertyQuota": True}
        paging = OffsetLimit("offset", "limit", page_size=options.page_size, items="rows", total="rowCount",
                             send_in="json")
        rows: list[dict[str, Any]] = []
        row_count: int | None = None
        notes: set[str] = set()
        for page in session.pages(f"/v1beta/properties/{options.property_id}:runReport", method="POST",
                                  json=report, paging=paging):
            body = require_object(page, session, "runReport")
            session.budget.observe(quota_pace(body.get("propertyQuota"), options.quota_tier,
                                              now=session.client.clock(), near_limit=session.platform.near_limit))
            if "rowCount" in body:
                row_count = as_int(body["rowCount"])
            page_rows = require_list(body, "rows", session, "runReport")
            if page_rows:
                rows += traffic_rows(body, page_rows, dimensions, options, session)
            notes |= report_notes(body.get("metadata"))
        if row_count is not None and len(rows) < row_count:
            raise unexpected(session, f"runReport announced {row_count} rows (rowCount) but its pages held "
                             f"{len(rows)}", hint="The data may have changed while paging: run again")
        for note in sorted(notes):
            ctx.warn(note)
        return [RecordTable.from_rows("traffic", with_platforms(rows))]

    def check_credentials(self, ctx: FetchContext) -> list[Any]:
        """Google's tokeninfo (valid, scopes, expiry), then a one-row report of yesterday with
        the source's metrics: it proves the Viewer role on the property and the metric names,
        and answers the property's quota left (a few property tokens)."""
        from cmflow import CredentialCheck
        from cmflow.http import PlatformError

        from cmflow.builtin.sources.google_api import GOOGLE_TOKEN_LIFETIME, google_expiry, tokeninfo

        options: Ga4Options = self.options
        token = access_token(ctx, options, "ga4", self.entry_id)
        session = ctx.http.session("ga4", allow_private_network=options.allow_private_network,
                                   base_url=options.base_url, token=token, source=self.entry_id,
                                   scopes=(ANALYTICS_READONLY,))
        row = CredentialCheck.for_source(self, account=f"property {options.property_id}")
        now = ctx.http.clock()
        try:
            info = tokeninfo(ctx, token, self.entry_id, options.allow_private_network)
            row.token_valid = True
            row.scopes(str(info.get("scope") or "").split(), [ANALYTICS_READONLY],
                       covers={ANALYTICS_READONLY: (SCOPE_PREFIX + "analytics",)},
                       how="get a token with that scope (docs/sources/ga4.md, Permissions and tokens)")
            row.expiry(google_expiry(info, now), now, renew=session.platform.renew_hint,
                       lifetime=GOOGLE_TOKEN_LIFETIME)
            if not row.scopes_missing:
                metrics = report_metrics(options)
                body = require_object(session.post_json(
                    f"/v1beta/properties/{options.property_id}:runReport",
                    json={"dateRanges": [{"startDate": "yesterday", "endDate": "yesterday"}],
                          "dimensions": [{"name": "date"}], "metrics": [{"name": name} for name in metrics],
                          "limit": "1", "returnPropertyQuota": True}), session, "runReport")
                row.rate(*quota_budgets(body.get("propertyQuota"), options.quota_tier))
                if not row.budget:
                    row.budget = "GA4 quota: not reported in the answer"
        except PlatformError as exc:
            row.failed(exc, now)
        return [row]


def report_metrics(options: Ga4Options) -> tuple[str, ...]:
    """The GA4 metrics the report asks for, each once (sessions, users, key events, revenue)."""
    return tuple(dict.fromkeys((options.sessions_metric, options.users_metric, options.conversions_metric,
                                options.revenue_metric)))


def quota_budgets(quota: Any, tier: str) -> list[Any]:
    """The property's quotas as ``cmflow doctor`` shows them (``tokensPerHour 95 % used (2000
    left)``; the row keeps the busiest); none when the answer has no ``propertyQuota``."""
    from cmflow import RateBudget

    if not isinstance(quota, dict):
        return []
    return [RateBudget(f"GA4 {name} {used:.0f} % used ({remaining} left)", used,
                       QUOTA_WINDOW_SECONDS[name] if remaining <= 0 else 0.0)
            for name, _, remaining, used in quota_use(quota, tier)]


def quota_use(quota: dict[str, Any], tier: str) -> Iterator[tuple[str, dict[str, Any], int, float]]:
    """Each token quota a ``propertyQuota`` reports: name, its status, tokens left, % used."""
    for name, limit in QUOTA_LIMITS[tier].items():
        status = quota.get(name)
        remaining = as_int(status.get("remaining")) if isinstance(status, dict) else None
        if remaining is not None:
            yield name, status, remaining, 100.0 * (limit - remaining) / limit


def traffic_rows(body: dict[str, Any], page_rows: list[Any], dimensions: tuple[str, ...],
                 options: Ga4Options, session: "PlatformSession") -> list[dict[str, Any]]:
    """Traffic records from one page, reading each value by its header's name."""
    dimension_names = [h.get("name") if isinstance(h, dict) else None
                       for h in require_list(body, "dimensionHeaders", session, "runReport")]
    metric_names = [h.get("name") if isinstance(h, dict) else None
                    for h in require_list(body, "metricHeaders", session, "runReport")]
    wanted_metrics = report_metrics(options)
    missing = [n for n in dimensions if n not in dimension_names] + [n for n in wanted_metrics if n not in metric_names]
    if missing:
        raise unexpected(session, f"runReport answered rows without the header(s) {', '.join(dict.fromkeys(missing))}")
    dimension = {name: index for index, name in enumerate(dimension_names)}
    metric = {name: index for index, name in enumerate(metric_names)}
    source, medium, campaign = dimensions[1:4]
    content = dimensions[4] if len(dimensions) > 4 else None
    metadata = body.get("metadata") if isinstance(body.get("metadata"), dict) else {}
    code = metadata.get("currencyCode")  # the property's currency, that of revenue
    currency = code.strip().upper() if isinstance(code, str) and code.strip() else None
    records = []
    for row in page_rows:
        try:
            dims = [value.get("value") for value in row["dimensionValues"]]
            values = [value.get("value") for value in row["metricValues"]]
            records.append({
                "date": datetime.strptime(dims[dimension["date"]], "%Y%m%d").date(),
                "source": dims[dimension[source]], "medium": dims[dimension[medium]],
                "campaign": dims[dimension[campaign]],
                "content": dims[dimension[content]] if content else None,
                "sessions": as_int(values[metric[options.sessions_metric]]),
                "users": as_int(values[metric[options.users_metric]]),
                "conversions": as_int(values[metric[options.conversions_metric]]),
                "revenue": as_float(values[metric[options.revenue_metric]]),
            })
            records[-1]["currency"] = currency if records[-1]["revenue"] is not None else None
        except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
            raise unexpected(session, f"runReport answered a row that does not fit its headers "
                             f"({type(exc).__name__}: {exc})") from None
    return records


def report_notes(metadata: Any) -> set[str]:
    """What GA4 says about the figures' completeness, worded for the run summary."""
    if not isinstance(metadata, dict):
        return set()
    notes = set()
    if metadata.get("subjectToThresholding"):
        notes.add("GA4 withheld rows with few users (thresholding): totals may be lower than in the GA4 interface")
    if metadata.get("dataLossFromOtherRow"):
        notes.add("GA4 grouped some rows into \"(other)\": the property passed a cardinality limit")
    if metadata.get("samplingMetadatas"):
        notes.add("GA4 sampled this report: its figures are estimates")
    return notes


def quota_pace(quota: Any, tier: str, *, now: float, near_limit: float) -> "Pace | None":
    """How to pace the next requests from a ``propertyQuota``: once ``near_limit`` % of a token
    quota is used, spread the requests its remaining tokens allow over the quota's window."""
    from cmflow.http import Pace

    if not isinstance(quota, dict):
        return None  # not reported: says nothing
    slowest: tuple[float, str] | None = None
    for name, status, remaining, used in quota_use(quota, tier):
        if used < near_limit:
            continue
        per_request = max(1, as_int(status.get("consumed")) or 1)
        interval = QUOTA_WINDOW_SECONDS[name] / max(1, remaining // per_request)
        if slowest is None or interval > slowest[0]:
            slowest = (interval, f"GA4 {name} {used:.0f} % used ({remaining} tokens left)")
    if slowest is None:
        return Pace(calm=True)
    interval, reason = slowest
    return Pace(hold_until=now + interval, interval=interval, reason=reason)


@hookimpl
def register_sources(register):
    register(Ga4Source)
