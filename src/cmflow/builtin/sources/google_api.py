"""What the Google sources (``youtube``, ``ga4``) share: Google's JSON conventions and checks.

Google APIs send 64-bit integers as strings (YouTube ``"viewCount": "1520"``, GA4
``metricValues``) and leave a key out when there is no data (a hidden like count, a report with no
``rows``); their RFC 3339 instants are read by :func:`.platform_common.parse_instant`. The kit
(``cmflow.http``, platforms ``youtube`` and ``ga4``) already explains Google's error bodies; this
module reads the successful ones and turns a 200 answer that lacks what the API documents into an
error naming the source.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Optional

from pydantic import BaseModel, Field, SecretStr, model_validator

from cmflow import WebUrl
from cmflow.http import allow_private_network_option

if TYPE_CHECKING:
    from cmflow import FetchContext
    from cmflow.http import BadResponse, PlatformSession

SCOPE_PREFIX = "https://www.googleapis.com/auth/"
"""Google scopes are URLs; error messages and docs name them in full."""
TOKEN_URL = "https://oauth2.googleapis.com/token"


class GoogleCredentials(BaseModel):
    """How a Google source authenticates: an access token (it lasts an hour: fine for a run by
    hand), or a refresh token with its OAuth client, exchanged for a fresh access token at each
    run (what a scheduled workflow needs)."""

    token: Optional[SecretStr] = Field(
        None, description="OAuth 2.0 access token. Google access tokens last one hour: for a "
        "scheduled workflow give refresh_token, client_id and client_secret instead. Write "
        "token = \"${env:GOOGLE_TOKEN}\".", examples=["${env:GOOGLE_TOKEN}"])
    refresh_token: Optional[SecretStr] = Field(
        None, description="OAuth 2.0 refresh token (from the consent flow, with access_type=offline): "
        "exchanged for an access token at each run.", examples=["${env:GOOGLE_REFRESH_TOKEN}"])
    client_id: Optional[str] = Field(
        None, description="OAuth client id the refresh token was issued to (Google Cloud console, "
        "APIs & Services > Credentials).", examples=["1234-abc.apps.googleusercontent.com"])
    client_secret: Optional[SecretStr] = Field(
        None, description="That OAuth client's secret.", examples=["${env:GOOGLE_CLIENT_SECRET}"])
    token_url: WebUrl = Field(
        TOKEN_URL, description="Google's OAuth token endpoint. Change it only for tests.",
        examples=["http://127.0.0.1:8080/token"])
    allow_private_network: bool = allow_private_network_option("an API base URL or token endpoint")

    @model_validator(mode="after")
    def _one_way_to_authenticate(self) -> "GoogleCredentials":
        refresh = (self.refresh_token, self.client_id, self.client_secret)
        if self.token is None and not any(refresh):
            raise ValueError("give token (an access token, for one hour), or refresh_token, client_id "
                             "and client_secret (for scheduled runs)")
        if any(refresh) and not all(refresh):
            missing = [name for name, value in zip(("refresh_token", "client_id", "client_secret"), refresh)
                       if not value]
            raise ValueError(f"a refresh token needs refresh_token, client_id and client_secret: "
                             f"{', '.join(missing)} missing")
        return self


def access_token(ctx: "FetchContext", options: GoogleCredentials, platform: str, source: str) -> str:
    """The access token for this run: the one given, or a fresh one for the refresh token."""
    from cmflow.http import AuthExpired, PlatformError

    if options.refresh_token is None:
        assert options.token is not None
        return options.token.get_secret_value()
    assert options.client_secret is not None and options.client_id is not None
    session = ctx.http.session(platform, base_url=options.token_url, source=source,
                               allow_private_network=options.allow_private_network)
    form = {"grant_type": "refresh_token", "refresh_token": options.refresh_token.get_secret_value(),
            "client_id": options.client_id, "client_secret": options.client_secret.get_secret_value()}
    try:
        body = session.json_of(session.request("POST", options.token_url, form=form))
    except PlatformError as exc:
        if exc.status in (400, 401):
            raise AuthExpired(
                f"Google refused the refresh token ({exc.message})", platform=exc.platform, source=source,
                status=exc.status, code="invalid_grant",
                hint="Authorise again to get a new refresh token (docs/sources: Permissions and tokens). "
                "A refresh token expires after 6 months unused, when the user revokes access, and "
                "after 7 days for an OAuth app still in Testing status") from None
        raise
    token = body.get("access_token") if isinstance(body, dict) else None
    if not isinstance(token, str) or not token:
        raise unexpected(session, "the token endpoint answered without an access_token")
    return token  # a secret from here on: every session given it registers it with the redactor


def as_int(value: Any) -> int | None:
    """An integer from Google's string or number; ``None`` (no data) for an absent value.

    ``"9.0"`` becomes 9; a fractional value is rounded (GA4 may send counts as floats)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    number = float(value)
    return int(number) if number.is_integer() else round(number)


def as_float(value: Any) -> float | None:
    """A float from Google's string or number; ``None`` for an absent value."""
    if value is None or isinstance(value, bool):
        return None
    return float(value)


def window_days(window_start: datetime, window_end: datetime) -> tuple[date, date]:
    """The first and last calendar day (inclusive) touched by ``[window_start, window_end)``.

    Google reports days in the account's own time zone (Pacific time for YouTube Analytics,
    the property's time zone for GA4); taking every UTC day the window touches covers them, a
    day more at an edge at worst, which the run's periods then leave out."""
    last = window_end - timedelta(microseconds=1)
    return window_start.date(), max(window_start.date(), last.date())


def unexpected(session: "PlatformSession", message: str, hint: str = "") -> "BadResponse":
    """A :class:`~cmflow.http.BadResponse` for a 200 answer the API does not document."""
    from cmflow.http import BadResponse

    return BadResponse(message, hint=hint, platform=session.platform.title, source=session.source)


def require_object(body: Any, session: "PlatformSession", what: str) -> dict[str, Any]:
    """``body`` if it is a JSON object, else an error saying what was expected and what came."""
    if not isinstance(body, dict):
        shown = repr(body)[:120]
        raise unexpected(session, f"{what} answered {type(body).__name__} JSON ({shown}), not an object")
    return body


def require_list(body: dict[str, Any], key: str, session: "PlatformSession", what: str) -> list[Any]:
    """``body[key]`` as a list: absent means empty (Google leaves empty lists out); anything but a
    list is an error."""
    value = body.get(key, [])
    if not isinstance(value, list):
        raise unexpected(session, f"{what} answered `{key}` as {type(value).__name__}, not a list")
    return value


# -- cmflow doctor ------------------------------------------------------------------------------
TOKENINFO_URL = "https://oauth2.googleapis.com/tokeninfo"
"""Google's token introspection: the scopes of an access token and when it expires."""
TOKENINFO_URL_VARIABLE = "CMFLOW_GOOGLE_TOKENINFO_URL"
GOOGLE_TOKEN_LIFETIME = timedelta(hours=1)
"""Google OAuth access tokens last one hour: a fresh one is needed for every run."""
"""Where ``cmflow doctor`` asks instead (a proxy, or a replay server in tests)."""


def tokeninfo(ctx: Any, token: str, source: str, allow_private_network: bool = False) -> dict[str, Any]:
    """What Google's tokeninfo endpoint says of an access token: ``scope`` (space-separated
    URLs), ``exp`` (epoch seconds), ``expires_in`` … An invalid or expired token raises
    :class:`~cmflow.http.AuthExpired` with how to get a new one."""
    import os
    from urllib.parse import urlsplit

    from cmflow.http import Platform, get_platform

    url = urlsplit(os.environ.get(TOKENINFO_URL_VARIABLE) or TOKENINFO_URL)
    renew = get_platform("youtube").renew_hint  # Google's, the same for every Google platform
    platform = Platform("google_oauth", "Google", renew_hint=renew, classify=_classify_tokeninfo)
    session = ctx.http.session(platform, base_url=f"{url.scheme}://{url.netloc}", token=token,
                               token_param="access_token", source=source, allow_private_network=allow_private_network)
    return require_object(session.get_json(url.path or "/"), session, "tokeninfo")


def _classify_tokeninfo(platform: Any, answer: Any) -> Any:
    """tokeninfo answers 400 ``{"error": "invalid_token", "error_description": "Invalid Value"}``
    for a token that expired, was revoked or never existed."""
    from cmflow.http import AuthExpired, RetryDecision

    body = answer.json if isinstance(answer.json, dict) else {}
    if answer.status in (400, 401) and ("error" in body or "error_description" in body):
        said = body.get("error_description") or body.get("error")
        return RetryDecision("fail", AuthExpired(f"Google does not know this access token ({body.get('error') or 'invalid'}: "
                                           f"{said}): it expired, was revoked or is not an access token",
                                           hint=platform.renew_hint, **answer.details(body.get("error"))))
    return None


def google_expiry(info: dict[str, Any], now: float) -> datetime | None:
    """When the token expires: tokeninfo's ``exp``, else now + ``expires_in``."""
    from datetime import timezone

    for value, base in ((info.get("exp"), 0.0), (info.get("expires_in"), now)):
        try:
            seconds = float(value) + base
        except (TypeError, ValueError):
            continue
        return datetime.fromtimestamp(seconds, timezone.utc)
    return None
