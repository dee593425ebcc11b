"""The run's HTTP client and the per-platform sessions sources make requests through.

One :class:`HttpClient` per run (:func:`make_client`) owns the httpx connection pool, the
request budgets, the retry policy and the clock; every source asks it for a
:class:`PlatformSession` (its platform, base URL and token), whose ``get_json``, ``post_json`` and
``pages`` do the waiting, retrying, size checking, classifying and redacting.
"""

from __future__ import annotations

import importlib.util
import itertools
import json as jsonlib
import logging
import time
from datetime import datetime, timezone
from typing import Any, Callable, Iterator, Mapping

import httpx

from cmflow.foundation.secrets import redactor
from cmflow.http.budget import Budget, BudgetLimits, BudgetRegistries, BudgetRegistry, WaitTooLong
from cmflow.http.errors import (AddressNotAllowed, BadResponse, PlatformError, PlatformUnavailable, RateLimited,
                     RequestRejected, ResponseTooLarge, TooManyPages, format_duration, format_time)
from cmflow.http.guard import (POLICY_EXTENSION, PRIVATE_NETWORK_OPTION, AddressRefused, NetworkPolicy, Resolver,
                               network_policy)
from cmflow.http.transport import GuardedTransport
from cmflow.http.pagination import PageRequest, Paging
from cmflow.http.platforms import ApiResponse, Platform, classify, get_platform, pace_from_usage
from cmflow.http.redaction import install_log_redaction, redact
from cmflow.http.retry import CallState, RetryPolicy, Transient, call_with_retries

log = logging.getLogger("cmflow.http")

def user_agent() -> str:
    """``cmflow/<version> python-httpx/<version>``: platform operators see who sends the requests.

    (A project URL belongs here once the project has a public home.)
    """
    import httpx

    from cmflow.foundation.version import cmflow_version

    return f"cmflow/{cmflow_version()} python-httpx/{httpx.__version__}"


def http2_available() -> bool:
    """HTTP/2 needs the optional ``h2`` package (``pip install 'httpx[http2]'``)."""
    return importlib.util.find_spec("h2") is not None


class HttpClient:
    """The run's HTTP kit: one httpx client, the request budgets, the retry policy and the clock."""

    def __init__(self, client: httpx.Client, *, retry: RetryPolicy, max_response_bytes: int,
                 total_timeout: float | None, clock: Callable[[], float], sleep: Callable[[float], None],
                 network: NetworkPolicy | None = None, budgets: BudgetRegistries | None = None) -> None:
        self.httpx = client
        """The underlying httpx client (requests made on it directly skip retries and checks, not
        the network guard)."""
        self.network = network
        """The network policy of sessions that set none (None: the transport's own default)."""
        self.retry = retry
        self.max_response_bytes = max_response_bytes
        self.total_timeout = total_timeout
        self.clock, self.sleep = clock, sleep
        self.budgets: BudgetRegistries = budgets or BudgetRegistry(clock=clock, sleep=sleep)
        """The request budgets, one per platform and token: in the process, or shared in Redis."""

    def session(self, platform: str | Platform, *, base_url: str, token: str | None = None,
                token_param: str | None = None, source: str | None = None,
                headers: Mapping[str, str] | None = None, api_version: str | None = None,
                version_option: str = "api_version", scopes: tuple[str, ...] = (),
                budget: BudgetLimits | None = None, retry: RetryPolicy | None = None,
                allow_private_network: bool | None = None) -> PlatformSession:
        """A session for one source's requests to one platform with one token.

        ``token`` goes in an ``Authorization: Bearer`` header, or in the query parameter
        ``token_param`` (Meta's ``access_token``, YouTube's ``key``). ``budget`` sets the limits
        of the platform+token budget if this is its first session; later sessions share it.
        ``allow_private_network`` is the plugin's option of that name (None: the client's policy,
        public addresses only unless :func:`make_client` was told otherwise).
        """
        network = self.network if allow_private_network is None else network_policy(allow_private_network)
        return PlatformSession(self, get_platform(platform), base_url=base_url, token=token,
                               token_param=token_param, source=source, headers=headers,
                               api_version=api_version, version_option=version_option, scopes=scopes,
                               budget=budget, retry=retry, network=network)

    def close(self) -> None:
        self.httpx.close()
        self.budgets.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def make_client(*, connect_timeout: float = 10.0, read_timeout: float = 30.0,
                total_timeout: float | None = 120.0, max_connections: int = 20,
                max_keepalive_connections: int = 10, max_response_mb: float = 20.0,
                http2: bool | None = None, follow_redirects: bool = False,
                retry: RetryPolicy | None = None, clock: Callable[[], float] = time.time,
                sleep: Callable[[float], None] = time.sleep, user_agent_header: str | None = None,
                transport: httpx.BaseTransport | None = None, allow_private_network: bool = False,
                network: NetworkPolicy | None = None, resolver: Resolver | None = None,
                shared_budgets: str | None = None) -> HttpClient:
    """The run's HTTP client; create one per run and share it between sources.

    ``read_timeout`` bounds each wait for bytes, ``total_timeout`` one whole response.
    ``http2=None`` uses HTTP/2 when the ``h2`` package is installed. ``clock`` (epoch seconds)
    and ``sleep`` are injectable so that tests wait in virtual time.

    Every connection goes through the network guard (:mod:`cmflow.http.guard`): public
    addresses only, unless a session allows private ones or ``allow_private_network`` makes that
    the default; ``network`` replaces the rule itself and ``resolver`` the name lookup
    (tests). A ``transport`` given here replaces the guarded one (and the guard with it).

    ``shared_budgets`` is the Redis URL of request budgets shared by every process
    (:mod:`cmflow.http.shared_budget`); None reads ``CMFLOW_SHARED_BUDGETS``, and without it
    (or with ``""``) the budgets stay in this client.
    """
    if http2 is None:
        http2 = http2_available()
    elif http2 and not http2_available():
        raise ImportError("HTTP/2 needs the h2 package: pip install 'httpx[http2]'")
    install_log_redaction()
    limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_keepalive_connections)
    default_policy = network or network_policy(allow_private_network)
    if transport is None:
        transport = GuardedTransport(default=default_policy, resolver=resolver, limits=limits, http2=http2)
    client = httpx.Client(
        timeout=httpx.Timeout(read_timeout, connect=connect_timeout), limits=limits,
        headers={"User-Agent": user_agent_header or user_agent()},
        follow_redirects=follow_redirects, http2=http2, transport=transport)
    return HttpClient(client, retry=retry or RetryPolicy(), max_response_bytes=int(max_response_mb * 1024 * 1024),
                      total_timeout=total_timeout, clock=clock, sleep=sleep, network=default_policy,
                      budgets=_budget_registry(shared_budgets, clock=clock, sleep=sleep))


def _budget_registry(shared_budgets: str | None, *, clock: Callable[[], float],
                     sleep: Callable[[float], None]) -> BudgetRegistries:
    """Budgets in Redis when a URL is given (or ``CMFLOW_SHARED_BUDGETS`` is set), else in the client."""
    from cmflow.http.shared_budget import SharedBudgetRegistry, shared_budgets_prefix, shared_budgets_url

    url = shared_budgets_url(shared_budgets)
    if url is None:
        return BudgetRegistry(clock=clock, sleep=sleep)
    return SharedBudgetRegistry(url, clock=clock, sleep=sleep, prefix=shared_budgets_prefix())



def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return url.scheme, url.host, url.port


class PlatformSession:
    """One source's requests to one platform: budget, retries, checks and errors included."""

    def __init__(self, client: HttpClient, platform: Platform, *, base_url: str, token: str | None,
                 token_param: str | None, source: str | None, headers: Mapping[str, str] | None,
                 api_version: str | None, version_option: str, scopes: tuple[str, ...],
                 budget: BudgetLimits | None, retry: RetryPolicy | None, network: NetworkPolicy | None = None) -> None:
        if token:
            redactor.add(token)  # tokens obtained at run time (refreshes) are secrets too
        self.client = client
        self.platform = platform
        self.source = source
        self.base_url = base_url.rstrip("/")
        self.api_version = api_version or platform.api_version
        self.version_option = version_option
        self.scopes = scopes
        self.retry = retry or client.retry
        self.network = network
        """Where this session's requests may connect (:mod:`cmflow.http.guard`)."""
        self._token, self._token_param = token, token_param
        self._headers = dict(platform.default_headers)
        if platform.version_header and self.api_version:
            self._headers[platform.version_header] = self.api_version
        if token and not token_param:
            self._headers["Authorization"] = f"Bearer {token}"
        self._headers.update(headers or {})
        self.budget: Budget = client.budgets.get(platform, token, budget)

    # -- the calls a source makes --------------------------------------------------------------
    def get_json(self, path: str, *, params: Mapping[str, Any] | None = None, **options: Any) -> Any:
        """GET ``path`` (under the base URL, or absolute on the same host) and return its JSON."""
        return self.json_of(self.request("GET", path, params=params, **options))

    def post_json(self, path: str, json: Any = None, *, params: Mapping[str, Any] | None = None,
                  **options: Any) -> Any:
        """POST ``json`` to ``path`` and return the answer's JSON."""
        return self.json_of(self.request("POST", path, params=params, json=json, **options))

    def pages(self, path: str, *, paging: Paging, params: Mapping[str, Any] | None = None,
              json: Any = None, method: str = "GET", max_pages: int = 1000, cost: int = 1) -> Iterator[Any]:
        """Every page's JSON, one request per page, in the declared :mod:`pagination <cmflow.http.pagination>` style.

        Raises :class:`TooManyPages` rather than ask for page ``max_pages + 1``; stops (with a
        warning) if the platform hands back a next page it already gave."""
        request = paging.first(PageRequest(method.upper(), path, dict(params or {}), json))
        seen: set[str] = set()
        for number in itertools.count(1):
            response = self.request(request.method, request.url, params=request.params,
                                    json=request.json, cost=cost)
            body = self.json_of(response)
            yield body
            following = paging.next(request, response, body)
            if following is None:
                return
            if number >= max_pages:
                raise TooManyPages(f"{self._describe(method, path, params)} has more than {max_pages} pages",
                                   hint="Narrow the request (a shorter window) or raise max_pages",
                                   **self._details())
            fingerprint = jsonlib.dumps([following.url, following.params, following.json], sort_keys=True,
                                        default=str)
            if fingerprint in seen:
                log.warning(redact(f"{self._label()}: the platform gave page {number + 1} of "
                                   f"{self._describe(method, path, params)} twice; stopping there"))
                return
            seen.add(fingerprint)
            request = following

    def request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
                json: Any = None, headers: Mapping[str, str] | None = None, cost: int = 1,
                timeout: float | None = None, form: Mapping[str, str] | None = None) -> ApiResponse:
        """Send one request with retries; return the successful answer or raise a
        :class:`~cmflow.http.errors.PlatformError`.

        ``cost`` is what the request spends of a unit budget (YouTube quota units); ``timeout``
        (seconds) replaces the client's connect and read timeouts for this request; ``form`` is
        sent form-encoded instead of ``json`` (OAuth token endpoints)."""
        url = self.url_for(path)
        if self._token and self._token_param and self._token_param not in url.params:
            url = url.copy_merge_params({self._token_param: self._token})
        if params:
            url = url.copy_merge_params(params)
        method = method.upper()
        described = redact(f"{method} {url}")
        state = CallState(log_retry=lambda exc, wait, attempt: log.info(redact(
            f"{self._label()}: {exc.reason}; retry {attempt} of {self.retry.max_attempts - 1} "
            f"in {format_duration(wait)}")))

        def attempt(state: CallState) -> ApiResponse:
            return self._attempt(state, method, url, json, headers, cost, described, timeout, form)

        try:
            return call_with_retries(attempt, policy=self.retry, state=state, sleep=self.client.sleep)
        except Transient as exc:
            raise self._give_up(exc, state, described) from None

    def url_for(self, path: str) -> httpx.URL:
        """``path`` under the base URL; an absolute URL must point at the base URL's host,
        since the token goes with it."""
        if path.startswith(("http://", "https://")):
            url = httpx.URL(path)
            if _origin(url) != _origin(httpx.URL(self.base_url)):
                raise BadResponse(f"refusing to send the token to {url.scheme}://{url.host} (a URL the "
                                  f"platform gave, e.g. a next page), outside {self.base_url}",
                                  **self._details())
            return url
        return httpx.URL(f"{self.base_url}/{path.lstrip('/')}")

    def json_of(self, response: ApiResponse) -> Any:
        """The answer's JSON, or a :class:`BadResponse` showing its first bytes."""
        if not response.is_json:
            kind = response.headers.get("content-type", "no content type")
            shown = f": {response.excerpt()!r}" if response.content else " (an empty body)"
            raise BadResponse(f"{response.request} answered HTTP {response.status} with something that "
                              f"is not JSON ({kind}){shown}", **response.details())
        return response.json

    # -- one attempt ---------------------------------------------------------------------------
    def _attempt(self, state: CallState, method: str, url: httpx.URL, json: Any,
                 headers: Mapping[str, str] | None, cost: int, described: str,
                 timeout: float | None = None, form: Mapping[str, str] | None = None) -> ApiResponse:
        try:
            with self.budget.slot(max_wait=self.retry.max_total_wait - state.waited, cost=cost) as waited:
                state.waited += waited
                response = self._send(method, url, json, headers, described, timeout, form)
        except WaitTooLong as exc:
            raise self._wait_too_long(exc, state, described) from None
        self.budget.observe(pace_from_usage(response))
        decision = classify(self.platform, response)
        if decision.action == "ok":
            return response
        if decision.action == "retry":
            if decision.wait:
                self.budget.hold(response.now + decision.wait, decision.reason)
            raise Transient(f"{described}: {decision.reason}", throttled=decision.throttled, wait=decision.wait,
                            status=response.status, code=decision.code)
        assert decision.error is not None
        raise decision.error

    def _send(self, method: str, url: httpx.URL, json: Any, headers: Mapping[str, str] | None,
              described: str, timeout: float | None = None, form: Mapping[str, str] | None = None) -> ApiResponse:
        http = self.client.httpx
        request = http.build_request(method, url, json=json, data=form,
                                     headers={**self._headers, **(headers or {})},
                                     timeout=httpx.USE_CLIENT_DEFAULT if timeout is None else timeout,
                                     extensions={POLICY_EXTENSION: self.network} if self.network is not None else None)
        started = time.monotonic()
        try:
            response = http.send(request, stream=True)
            try:
                content = self._read(response, described, started)
            finally:
                response.close()
        except httpx.TimeoutException as exc:
            raise Transient(f"{described} timed out ({type(exc).__name__})") from None
        except AddressRefused as exc:
            raise AddressNotAllowed(
                str(exc), hint=f"cmflow connects only to public internet addresses; if this server is meant "
                f"(one on your own network), set {PRIVATE_NETWORK_OPTION} = true in this plugin's options",
                **self._details()) from None
        except httpx.UnsupportedProtocol as exc:
            raise RequestRejected(f"{described}: {exc}", **self._details()) from None
        except httpx.TransportError as exc:
            raise Transient(f"{described} failed ({type(exc).__name__}: {redact(str(exc))})") from None
        except httpx.HTTPError as exc:  # e.g. a body that does not decode
            raise BadResponse(f"{described} could not be read ({type(exc).__name__}: {exc})",
                              **self._details()) from None
        return ApiResponse(status=response.status_code, headers=response.headers, content=content,
                           request=described, now=self.client.clock(), platform=self.platform,
                           source=self.source, api_version=self.api_version,
                           version_option=self.version_option, scopes=self.scopes, url=str(url))

    def _read(self, response: httpx.Response, described: str, started: float) -> bytes:
        """The body, stopping as soon as it passes ``max_response_bytes`` or ``total_timeout``."""
        limit = self.client.max_response_bytes

        def too_large() -> ResponseTooLarge:
            return ResponseTooLarge(
                f"{described} answered more than {limit / 1024 / 1024:g} MB (max_response_mb); "
                "reading stopped there",
                hint="Ask for less per request (fewer fields, a smaller page size) or raise max_response_mb",
                **self._details(status=response.status_code))

        length = response.headers.get("content-length", "")
        if length.isdigit() and int(length) > limit:
            raise too_large()
        chunks, size = [], 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > limit:
                raise too_large()
            total = self.client.total_timeout
            if total is not None and time.monotonic() - started > total:
                raise httpx.ReadTimeout(f"the whole response took more than {total:g} s")
            chunks.append(chunk)
        return b"".join(chunks)

    # -- messages ------------------------------------------------------------------------------
    def _label(self) -> str:
        return f"source '{self.source}' ({self.platform.title})" if self.source else self.platform.title

    def _details(self, **extra: Any) -> dict[str, Any]:
        return {"platform": self.platform.title, "source": self.source, **extra}

    def _describe(self, method: str, path: str, params: Mapping[str, Any] | None) -> str:
        url = self.url_for(path).copy_merge_params(dict(params or {}))
        return redact(f"{method.upper()} {url}")

    def _wait_too_long(self, exc: WaitTooLong, state: CallState, described: str) -> PlatformError:
        if exc.retry_at is None:  # a unit budget, not a time
            return RateLimited(f"{described} not sent: {exc.reason}",
                               hint="Raise the unit limit or fetch less in one run", **self._details())
        return RateLimited(
            f"{described} not sent: {exc.reason}; waiting {format_duration(exc.wait)} for it would pass "
            f"max_total_wait ({format_duration(self.retry.max_total_wait)})",
            retry_at=_datetime(exc.retry_at), hint=f"Run again after {format_time(exc.retry_at)}",
            **self._details())

    def _give_up(self, exc: Transient, state: CallState, described: str) -> PlatformError:
        details = self._details(status=exc.status, code=exc.code)
        retry_at = self.client.clock() + state.next_wait if exc.wait is not None else None
        if state.gave_up_because == "wait":
            waited = f"cmflow waited {format_duration(state.waited)} and " if state.waited else ""
            what = (f"{exc.reason}; {waited}waiting {format_duration(state.next_wait)} more would pass "
                    f"max_total_wait ({format_duration(self.retry.max_total_wait)})")
        else:
            what = f"{exc.reason} (tried {state.attempts} times)"
        if exc.throttled:
            when = f"after {format_time(retry_at)}" if retry_at is not None else "later"
            return RateLimited(f"the platform's rate limit is reached: {what}",
                               retry_at=_datetime(retry_at) if retry_at is not None else None,
                               hint=f"Run again {when}", **details)
        return PlatformUnavailable(what, hint="The platform is failing or slow: run again later", **details)


def _datetime(epoch_seconds: float) -> datetime:
    return datetime.fromtimestamp(epoch_seconds, timezone.utc)

