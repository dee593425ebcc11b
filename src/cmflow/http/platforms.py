"""What each platform's answers mean: throttling, expired tokens, missing scopes, usage headers.

Platforms disagree on how they say "slow down": Meta answers HTTP 400/403 with error codes 4,
17, 32, 613, 800xx; GA4 answers 429 ``RESOURCE_EXHAUSTED``; YouTube 403 ``quotaExceeded``; X,
Mastodon and Bluesky send ``*-reset`` headers in three formats. A :class:`Platform` bundles one
platform's rules (its classifier, how to renew its tokens, its API version and budget defaults)
so that sources only name the platform. Facts come from ``PLATFORMS.md`` (checked 2026-11).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, Callable, Literal, Mapping

from cmflow.http.errors import (ApiVersionExpired, AuthExpired, BadResponse, PermissionMissing, PlatformError,
                     RequestRejected)

if TYPE_CHECKING:
    import httpx  # in annotations only: a plugin declaring its Platform does not load the client


@dataclass
class ApiResponse:
    """One HTTP answer, read in full, and what a classifier needs to explain it."""

    status: int
    headers: httpx.Headers
    content: bytes
    request: str
    """``GET https://…``, redacted: how error messages name the request."""
    now: float
    """Epoch seconds (the kit's clock) when the answer arrived."""
    platform: "Platform"
    source: str | None = None
    api_version: str | None = None
    version_option: str = "api_version"
    scopes: tuple[str, ...] = ()
    """Scopes the source needs, named when a permission is missing."""
    url: str = field(default="", repr=False)
    """The URL as sent (it may hold a token: never show it, use :attr:`request`)."""
    _json: Any = field(default=None, repr=False)
    _is_json: bool = field(default=False, repr=False)
    _parsed: bool = field(default=False, repr=False)

    @property
    def json(self) -> Any:
        """The body parsed as JSON, or ``None`` when it is not JSON (see :attr:`is_json`)."""
        self._parse()
        return self._json

    @property
    def is_json(self) -> bool:
        self._parse()
        return self._is_json

    def _parse(self) -> None:
        if not self._parsed:
            self._parsed = True
            try:
                self._json, self._is_json = json.loads(self.content), True
            except ValueError:  # includes UnicodeDecodeError and an empty body
                self._json, self._is_json = None, False

    def details(self, code: str | int | None = None) -> dict[str, Any]:
        """Keyword arguments every :class:`PlatformError` of this answer takes."""
        return {"platform": self.platform.title, "source": self.source, "status": self.status, "code": code}

    def excerpt(self, limit: int = 200) -> str:
        """The first bytes of the body, for messages (redacted by the error classes)."""
        text = self.content[:limit].decode("utf-8", errors="replace")
        return text + ("…" if len(self.content) > limit else "")


@dataclass(frozen=True)
class RetryDecision:
    """What to do with an answer: use it, retry it (maybe after a given wait), or fail."""

    action: Literal["ok", "retry", "fail"]
    error: PlatformError | None = None
    reason: str = ""
    """For retries: what the platform said, for logs and the final error."""
    throttled: bool = False
    """For retries: a limit was hit (vs. an outage)."""
    wait: float | None = None
    """For retries: seconds the platform asked for; ``None`` means exponential backoff."""
    code: str | int | None = None


OK = RetryDecision("ok")
Classifier = Callable[["Platform", ApiResponse], RetryDecision | None]
"""A platform's own rules: a decision, or ``None`` to fall back on the HTTP status rules."""


@dataclass(frozen=True)
class Platform:
    """One platform's rules and defaults; see :data:`PLATFORMS`."""

    name: str
    title: str
    renew_hint: str = "Create a new token on the platform and update the environment variable the workflow names."
    scopes: tuple[str, ...] = ()
    """Scope and permission names the platform uses, recognised in its error messages."""
    api_version: str | None = None
    """The version cmflow pins (one place per platform); sources let a workflow override it."""
    version_header: str | None = None
    """Header that carries the version (LinkedIn); ``None`` when it sits in the path (Meta)."""
    default_headers: Mapping[str, str] = field(default_factory=dict)
    max_concurrency: int = 4
    requests_per_second: float | None = None
    """Sustained rate of the request budget's token bucket; ``None`` = only usage headers pace."""
    burst: int = 1
    near_limit: float = 90.0
    """Usage percentage (Meta usage headers) from which requests slow down."""
    near_limit_pause: float = 30.0
    """Seconds between requests while usage is at or above ``near_limit``."""
    classify: Classifier | None = None


# -- reading the headers -----------------------------------------------------------------------
MAX_HEADER_WAIT = 7 * 24 * 3600.0
"""The longest wait a header can ask for: "inf" or 1e400 from a broken proxy is not a plan."""


def _number(value: Any) -> float | None:
    """A finite number from a header or JSON value, else None ("inf", "x", 1e400 ...)."""
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def _moment(value: str) -> float | None:
    """Epoch seconds from an ISO 8601 time or an HTTP date (naive: UTC), else None."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def server_now(headers: httpx.Headers, now: float) -> float:
    """The time the answer was made, on the server's clock: its ``Date`` header (every HTTP
    server sends one), else ``now`` (the client's clock). An absolute time the server gives (a
    reset as epoch seconds or a date) is measured against it, so that the wait it means is the
    server's, however wrong the client's clock is."""
    date = headers.get("date")
    stamp = _moment(date.strip()) if date else None
    return now if stamp is None else stamp


def _timestamp(value: str, now: float, server: float | None = None) -> float | None:
    """A time on the client's clock (``now``) from a reset header: epoch seconds, delta seconds,
    ISO 8601 or HTTP date; an absolute one is turned into a wait from ``server`` (the answer's
    time on the server's clock, :func:`server_now`; None: ``now``)."""
    value = value.strip()
    server = now if server is None else server
    number = _number(value)
    if number is not None:
        when = now + (number - server) if number > 1e9 else now + number  # epoch seconds vs delta seconds
        return min(when, now + MAX_HEADER_WAIT)
    if value.lower() in ("inf", "+inf", "infinity", "nan", "-inf"):
        return None
    moment = _moment(value)
    return None if moment is None else min(now + (moment - server), now + MAX_HEADER_WAIT)


def retry_after(headers: httpx.Headers, now: float) -> float | None:
    """Seconds ``Retry-After`` asks for (it holds seconds or an HTTP date)."""
    value = headers.get("retry-after")
    if value is None:
        return None
    when = (_timestamp(value, now, server_now(headers, now)) if not value.strip().isdigit()
            else now + min(float(value), MAX_HEADER_WAIT))
    return None if when is None else max(0.0, when - now)


RATE_HEADERS = (
    ("x-rate-limit-limit", "x-rate-limit-remaining", "x-rate-limit-reset"),  # X: epoch seconds
    ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"),  # Mastodon: ISO time
    ("ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"),  # Bluesky: epoch seconds
)


@dataclass(frozen=True)
class RateWindow:
    """Limit, remaining and reset (epoch seconds) of a rate window, as the headers say."""

    limit: int | None
    remaining: int | None
    reset_at: float | None
    header: str


def rate_window(headers: httpx.Headers, now: float) -> RateWindow | None:
    for limit_name, remaining_name, reset_name in RATE_HEADERS:
        if remaining_name in headers or reset_name in headers:
            def number(name: str) -> int | None:
                value = _number(headers[name].split(",")[0]) if name in headers else None
                return None if value is None else int(value)

            reset = headers.get(reset_name)
            return RateWindow(number(limit_name), number(remaining_name),
                              _timestamp(reset, now, server_now(headers, now)) if reset else None, reset_name)
    return None


META_USAGE_HEADERS = ("x-app-usage", "x-page-usage", "x-business-use-case-usage")


@dataclass(frozen=True)
class MetaUsage:
    """The highest percentage of Meta's usage headers, and when access returns if blocked."""

    percent: float
    regain_in: float
    """Seconds from ``estimated_time_to_regain_access`` (given in minutes); 0 when not blocked."""


def meta_usage(headers: httpx.Headers) -> MetaUsage | None:
    """Meta's ``X-App-Usage`` / ``X-Page-Usage`` / ``X-Business-Use-Case-Usage`` (JSON strings).

    An absent header says nothing (it is not 0 %)."""
    entries: list[Mapping[str, Any]] = []
    for name in META_USAGE_HEADERS:
        if name not in headers:
            continue
        try:
            value = json.loads(headers[name])
        except ValueError:
            continue
        if name == "x-business-use-case-usage" and isinstance(value, dict):
            entries += [e for per_object in value.values() if isinstance(per_object, list)
                        for e in per_object if isinstance(e, dict)]
        elif isinstance(value, dict):
            entries.append(value)
    if not entries:
        return None
    percents = [n for e in entries for k in ("call_count", "total_time", "total_cputime")
                if (n := _number(e.get(k))) is not None]
    regain = max((_number(e.get("estimated_time_to_regain_access") or 0) or 0.0 for e in entries), default=0.0)
    return MetaUsage(max(percents, default=0.0), min(regain * 60, MAX_HEADER_WAIT))


def header_wait(answer: ApiResponse) -> float | None:
    """Seconds to wait before retrying, from whatever the answer's headers say."""
    after = retry_after(answer.headers, answer.now)
    if after is not None:
        return after
    usage = meta_usage(answer.headers)
    if usage and usage.regain_in > 0:
        return usage.regain_in
    window = rate_window(answer.headers, answer.now)
    if window and window.reset_at is not None and (window.remaining in (0, None) or answer.status == 429):
        return max(0.0, window.reset_at - answer.now)
    return None


@dataclass(frozen=True)
class Pace:
    """How the budget should slow down after an answer: hold until a time, then space requests."""

    hold_until: float | None = None
    interval: float | None = None
    """Seconds between request starts from now on, until ``until`` or a calmer answer."""
    until: float | None = None
    reason: str = ""
    calm: bool = False
    """The headers show the budget is far from its limit: stop spacing requests."""
    known_until: float | None = None
    """The headers tell the window's requests left until this time (its reset): until then
    they, not the static token bucket, decide the pace (a run may spend what others left)."""
    remaining: int | None = None
    """Requests left in the window, as the headers say (for monitoring: shared budgets keep it)."""
    limit: int | None = None
    window_reset: float | None = None
    """When the window of ``remaining`` ends (epoch seconds)."""
    used_percent: float | None = None
    """Meta's usage headers: the highest percentage used (for monitoring)."""


def pace_from_usage(answer: ApiResponse) -> Pace | None:
    """Slow down before the wall: what the headers say about the budget left, if anything."""
    platform, now = answer.platform, answer.now
    usage = meta_usage(answer.headers)
    if usage:
        if usage.regain_in > 0:
            return Pace(hold_until=now + usage.regain_in, reason=f"Meta usage blocked for {usage.regain_in / 60:g} min",
                        used_percent=usage.percent)
        if usage.percent >= platform.near_limit:
            pause = platform.near_limit_pause
            return Pace(hold_until=now + pause, interval=pause, reason=f"Meta usage at {usage.percent:g} %",
                        used_percent=usage.percent)
        return Pace(calm=True, used_percent=usage.percent)
    window = rate_window(answer.headers, now)
    if window and window.remaining is not None and window.reset_at is not None and window.reset_at > now:
        known = window.reset_at if window.limit else None
        told = {"remaining": window.remaining, "limit": window.limit, "window_reset": window.reset_at}
        if window.remaining <= 0:
            return Pace(hold_until=window.reset_at, reason=f"{window.header}: no requests left until the reset",
                        known_until=known, **told)
        if window.limit and window.remaining <= 0.1 * window.limit:
            interval = (window.reset_at - now) / window.remaining
            return Pace(hold_until=now + interval, interval=interval, until=window.reset_at,
                        reason=f"{window.remaining} of {window.limit} requests left", known_until=known, **told)
        return Pace(calm=True, known_until=known, **told)
    return None


# -- reading the bodies ------------------------------------------------------------------------
def error_message(body: Any) -> str:
    """The human part of an error body, whatever the platform's shape."""
    if not isinstance(body, dict):
        return ""
    error = body.get("error")
    if isinstance(error, dict):
        return str(error.get("message") or error.get("status") or error.get("code") or "")
    if isinstance(error, str):
        text = body.get("message") or body.get("error_description")
        return f"{error}: {text}" if text else error
    for key in ("message", "detail", "title"):
        if isinstance(body.get(key), str):
            return body[key]
    errors = body.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return str(errors[0].get("message") or errors[0].get("detail") or "")
    return ""


def _describe(answer: ApiResponse) -> str:
    message = error_message(answer.json) if answer.json is not None else answer.excerpt()
    return f"HTTP {answer.status}" + (f": {message}" if message else "")


def _missing_scope(platform: Platform, message: str) -> str | None:
    match = re.search(r"[Rr]equires? (?:the )?['\"`]?([\w.:]+)['\"`]? permission", message)
    if match:
        return match.group(1)
    return next((s for s in platform.scopes if re.search(rf"(?<![\w.]){re.escape(s)}(?![\w.])", message)), None)


def auth_expired(answer: ApiResponse, what: str, code: str | int | None = None) -> RetryDecision:
    return RetryDecision("fail", AuthExpired(
        f"the access token was refused ({what})", hint=f"To renew it: {answer.platform.renew_hint}",
        **answer.details(code)))


def permission_missing(answer: ApiResponse, what: str, code: str | int | None = None) -> RetryDecision:
    scope = _missing_scope(answer.platform, what)
    if scope:
        hint = f"Grant the `{scope}` permission to the app and create a new token with it"
    elif answer.scopes:
        hint = f"This source needs the token to carry: {', '.join(answer.scopes)}"
    else:
        hint = "Check the token's scopes and the account's role on the platform"
    return RetryDecision("fail", PermissionMissing(f"a permission is missing ({what})", scope=scope, hint=hint,
                                             **answer.details(code)))


def classify_http_status(platform: Platform, answer: ApiResponse) -> RetryDecision:
    """The rules every platform shares: 2xx ok, 401 token, 403 permission, 429/5xx retry."""
    status = answer.status
    if 200 <= status < 300:
        return OK
    if 300 <= status < 400:
        location = answer.headers.get("location", "?")
        return RetryDecision("fail", BadResponse(
            f"{answer.request} was redirected (HTTP {status}) to {location}",
            hint="cmflow does not follow redirects: set the source's base URL to the final address",
            **answer.details()))
    if status == 401:
        return auth_expired(answer, _describe(answer))
    if status == 403:
        return permission_missing(answer, _describe(answer))
    if status in (408, 429) or (status >= 500 and status != 501):
        return RetryDecision("retry", reason=_describe(answer), throttled=status == 429, wait=header_wait(answer))
    return RetryDecision("fail", RequestRejected(f"{answer.request} was refused ({_describe(answer)})",
                                           **answer.details()))


# -- the platforms' own rules ------------------------------------------------------------------
META_THROTTLING_CODES = frozenset({4, 17, 32, 613, 80000, 80001, 80002, 80003, 80004, 80005, 80006,
                                   80008, 80009, 80014})
"""Meta's "slow down" codes (app, user, Page, custom, business-use-case limits), sent with 400/403."""
META_TOKEN_SUBCODES = {458: "the app was removed", 459: "the user is checkpointed",
                       460: "the password changed", 463: "the token expired",
                       464: "the user is unconfirmed", 467: "the token is invalid"}


def classify_meta(platform: Platform, answer: ApiResponse) -> RetryDecision | None:
    error = answer.json.get("error") if isinstance(answer.json, dict) else None
    if not isinstance(error, dict) or answer.status < 400:
        return None
    code, subcode, message = error.get("code"), error.get("error_subcode"), str(error.get("message", ""))
    what = f"Meta error {code}" + (f", subcode {subcode}" if subcode else "") + f": {message}"
    if code in (190, 102):
        reason = META_TOKEN_SUBCODES.get(subcode)
        return auth_expired(answer, what + (f" ({reason})" if reason else ""), code)
    if code in META_THROTTLING_CODES:
        return RetryDecision("retry", reason=what, throttled=True, wait=header_wait(answer), code=code)
    if error.get("is_transient") or code in (1, 2):
        return RetryDecision("retry", reason=what, wait=header_wait(answer), code=code)
    if code == 10 or (isinstance(code, int) and 200 <= code <= 299):
        return permission_missing(answer, what, code)
    if code is None:  # not a Graph API error (a proxy's 429 or 502 ...): the plain HTTP rules
        return None
    hint = ("Code 100 also means a deprecated metric: check the metric names against the Graph API "
            "changelog" if code == 100 else "")
    return RetryDecision("fail", RequestRejected(f"{answer.request} was refused ({what})", hint=hint,
                                           **answer.details(code)))


def classify_linkedin(platform: Platform, answer: ApiResponse) -> RetryDecision | None:
    body = answer.json if isinstance(answer.json, dict) else {}
    code = body.get("code") or body.get("serviceErrorCode")
    if answer.status == 426 or code == "NONEXISTENT_VERSION":
        return RetryDecision("fail", ApiVersionExpired(
            f"LinkedIn no longer serves API version {answer.api_version or '?'} "
            f"({code or 'HTTP 426'}: {body.get('message', '')})",
            option=answer.version_option,
            hint=(f"Set the source option `{answer.version_option}` to an active version (YYYYMM; "
                  "LinkedIn serves each version for about a year: "
                  "https://learn.microsoft.com/linkedin/marketing/versioning)"),
            **answer.details(code)))
    if answer.status == 401:
        return auth_expired(answer, f"{code or 'HTTP 401'}: {body.get('message', '')}", code)
    return None


GOOGLE_DAILY_QUOTA = frozenset({"quotaExceeded", "dailyLimitExceeded"})
GOOGLE_SHORT_LIMITS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})


def next_pacific_midnight(now: float) -> float:
    """When YouTube's daily quota resets (midnight in Los Angeles)."""
    try:
        from zoneinfo import ZoneInfo

        zone: Any = ZoneInfo("America/Los_Angeles")
    except Exception:  # pragma: no cover - no time zone database
        zone = timezone(timedelta(hours=-8))
    local = datetime.fromtimestamp(now, zone)
    midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), zone)
    return midnight.timestamp()


def classify_google(platform: Platform, answer: ApiResponse) -> RetryDecision | None:
    body = answer.json if isinstance(answer.json, dict) else {}
    error = body.get("error")
    if isinstance(error, str) and error == "invalid_grant":  # oauth2.googleapis.com/token
        return auth_expired(answer, f"invalid_grant: {body.get('error_description', '')}", error)
    if not isinstance(error, dict):
        return None
    reasons = {e.get("reason") for e in error.get("errors", []) if isinstance(e, dict)}
    status, message = error.get("status"), str(error.get("message", ""))
    code = next(iter(reasons & (GOOGLE_DAILY_QUOTA | GOOGLE_SHORT_LIMITS)), None) or status
    what = f"{code or answer.status}: {re.sub(r'<[^>]+>', '', message)}"
    if reasons & GOOGLE_DAILY_QUOTA:
        return RetryDecision("retry", reason=what + " (the daily quota resets at midnight Pacific time)",
                       throttled=True, wait=next_pacific_midnight(answer.now) - answer.now, code=code)
    if reasons & GOOGLE_SHORT_LIMITS or status == "RESOURCE_EXHAUSTED":
        return RetryDecision("retry", reason=what, throttled=True, wait=header_wait(answer), code=code)
    if answer.status == 401 or status == "UNAUTHENTICATED":
        return auth_expired(answer, what, code)
    if answer.status == 403 or status == "PERMISSION_DENIED":
        return permission_missing(answer, what, code)
    return None


def classify_bluesky(platform: Platform, answer: ApiResponse) -> RetryDecision | None:
    body = answer.json if isinstance(answer.json, dict) else {}
    if body.get("error") in ("ExpiredToken", "InvalidToken", "AuthMissing"):
        return auth_expired(answer, error_message(body), body["error"])
    return None


def classify_tiktok(platform: Platform, answer: ApiResponse) -> RetryDecision | None:
    error = answer.json.get("error") if isinstance(answer.json, dict) else None
    if not isinstance(error, dict) or error.get("code") in (None, "ok"):
        return None
    code, what = error["code"], f"{error['code']}: {error.get('message', '')}"
    if code in ("access_token_invalid", "access_token_expired"):
        return auth_expired(answer, what, code)
    if code == "scope_not_authorized":
        return permission_missing(answer, what, code)
    if code in ("rate_limit_exceeded", "internal_error") or answer.status == 429 or answer.status >= 500:
        return RetryDecision("retry", reason=what, throttled=code == "rate_limit_exceeded",
                       wait=header_wait(answer), code=code)
    return RetryDecision("fail", RequestRejected(f"{answer.request} was refused ({what})", **answer.details(code)))


TRELLO_WINDOW = 10.0
"""Trello counts requests per token over 10-second windows and sends no header saying when the
window ends: a 429 waits one window."""


def classify_trello(platform: Platform, answer: ApiResponse) -> RetryDecision | None:
    """Trello's 429 (``{"error": "API_TOKEN_LIMIT_EXCEEDED", "message": "Rate limit exceeded"}``)
    has no ``Retry-After``: wait one 10-second window. Its 401s are plain text: ``invalid token``
    and ``invalid key`` are credentials, ``unauthorized permission requested`` a board the token
    cannot read."""
    if answer.status == 429:
        return RetryDecision("retry", reason=_describe(answer), throttled=True,
                             wait=header_wait(answer) or TRELLO_WINDOW)
    if answer.status == 401:
        text = (error_message(answer.json) if answer.is_json else answer.excerpt()).strip()
        if "permission" in text.lower():
            return RetryDecision("fail", PermissionMissing(
                f"a permission is missing (HTTP 401: {text})",
                hint="The token's member cannot read this board: add them to the board, or create the "
                     "token as a member of it", **answer.details()))
        return auth_expired(answer, f"HTTP 401: {text}" if text else "HTTP 401")
    return None


def classify_notion(platform: Platform, answer: ApiResponse) -> RetryDecision | None:
    """Notion's ``restricted_resource`` (HTTP 403) is an integration without the capability the
    request needs: say which setting gives it. Its other errors follow the HTTP status."""
    body = answer.json if isinstance(answer.json, dict) else {}
    if body.get("object") == "error" and body.get("code") == "restricted_resource":
        return RetryDecision("fail", PermissionMissing(
            f"a permission is missing (restricted_resource: {body.get('message', '')})",
            hint=("Give the integration the \"Read content\" capability at https://www.notion.so/my-integrations, "
                  "and share the database with it (its ... menu > Connections)"),
            **answer.details("restricted_resource")))
    return None


def classify(platform: Platform, answer: ApiResponse) -> RetryDecision:
    """The platform's own rules first, then the shared HTTP status rules."""
    if platform.classify is not None:
        decision = platform.classify(platform, answer)
        if decision is not None:
            return decision
    return classify_http_status(platform, answer)


META_SCOPES = ("instagram_business_basic", "instagram_business_manage_insights", "instagram_basic",
               "instagram_manage_insights", "pages_show_list", "pages_read_engagement",
               "pages_read_user_content", "read_insights")
GOOGLE_RENEW = ("Refresh the OAuth token at oauth2.googleapis.com/token; if the refresh token is refused "
                "(invalid_grant), consent again — apps in \"Testing\" get refresh tokens that last 7 days")

PLATFORMS: dict[str, Platform] = {p.name: p for p in (
    Platform("instagram", "Instagram", classify=classify_meta, api_version="v25.0", scopes=META_SCOPES,
             renew_hint=("Instagram Login tokens last 60 days: refresh with GET /refresh_access_token?"
                         "grant_type=ig_refresh_token before they expire, or log in again; Facebook Login: "
                         "get a new long-lived user token")),
    Platform("facebook", "Facebook", classify=classify_meta, api_version="v25.0", scopes=META_SCOPES,
             renew_hint=("Page tokens die when the password changes or the app is removed: get a new "
                         "long-lived user token and read the Page token from GET /me/accounts")),
    Platform("linkedin", "LinkedIn", classify=classify_linkedin, api_version="202611",
             version_header="LinkedIn-Version", default_headers={"X-Restli-Protocol-Version": "2.0.0"},
             scopes=("r_organization_social", "rw_organization_admin", "r_organization_admin"),
             renew_hint="LinkedIn tokens last 60 days: run the 3-legged OAuth flow again"),
    Platform("youtube", "YouTube", classify=classify_google, renew_hint=GOOGLE_RENEW,
             scopes=("youtube.readonly", "yt-analytics.readonly")),
    Platform("ga4", "Google Analytics", classify=classify_google, renew_hint=GOOGLE_RENEW,
             scopes=("analytics.readonly",), max_concurrency=4),
    Platform("x", "X", scopes=("tweet.read", "users.read", "offline.access"),
             renew_hint=("refresh the OAuth 2.0 user token (it lasts 2 hours; offline.access gives a refresh "
                         "token) or regenerate the app's Bearer token in the developer portal")),
    # Mastodon allows 300 requests per 5 minutes. Before the first answer: 0.9 of that on
    # average, in small bursts (10 + 0.9 x 300 < 300: never a 429 of cmflow's own making); then
    # the X-RateLimit headers govern: full speed while more than 10 % of the window is left.
    Platform("mastodon", "Mastodon", requests_per_second=0.9, burst=10,
             scopes=("read:statuses", "read:notifications", "read:search"),
             renew_hint="create a new access token in the instance's Preferences > Development"),
    # Bluesky: 3000 requests per 5 minutes, the same rule.
    Platform("bluesky", "Bluesky", classify=classify_bluesky, requests_per_second=9.0, burst=30,
             renew_hint=("call com.atproto.server.refreshSession with the refresh JWT (90 days), or log in "
                         "again with an app password")),
    Platform("tiktok", "TikTok", classify=classify_tiktok, scopes=("user.info.basic", "user.info.stats", "video.list"),
             renew_hint=("refresh with POST /v2/oauth/token/ grant_type=refresh_token (access tokens last "
                         "24 h, refresh tokens 365 days)")),
    # Trello: 100 requests per 10 s per token (300 per API key). 10 + 8 x 10 < 100.
    Platform("trello", "Trello", classify=classify_trello, requests_per_second=8.0, burst=10,
             renew_hint=("generate a new token with the \"Token\" link beside the API key of your Power-Up "
                         "at https://trello.com/power-ups/admin (a token made with an expiration stops "
                         "working at its end)")),
    # Asana: 150 requests a minute on free workspaces (1,500 on paid ones). 10 + 2 x 60 < 150.
    Platform("asana", "Asana", requests_per_second=2.0, burst=10,
             renew_hint=("create a new personal access token in Asana's developer console "
                         "(https://app.asana.com/0/my-apps)")),
    # Notion: an average of 3 requests a second per integration, some bursts allowed.
    Platform("notion", "Notion", classify=classify_notion, api_version="2022-06-28", version_header="Notion-Version",
             requests_per_second=2.5, burst=3,
             renew_hint=("copy the integration's secret again from https://www.notion.so/my-integrations "
                         "(and share the database with the integration: Connections)")),
)}


def get_platform(platform: str | Platform) -> Platform:
    """A known platform's rules, or the shared HTTP rules under a new name (for other APIs)."""
    if isinstance(platform, Platform):
        return platform
    return PLATFORMS.get(platform.lower()) or Platform(platform, platform)

