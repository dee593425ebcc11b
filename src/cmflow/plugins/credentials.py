"""What a source's credentials check returns: :class:`CredentialCheck` rows for ``cmflow doctor``.

A source answers, from a few cheap requests through the run's HTTP kit, one row per token,
account or file: is the token valid, which scopes it has and lacks, when it expires, how much
of the platform's rate budget is left (:class:`RateBudget`), and what to do. The rows are part
of the plugin contract (:meth:`cmflow.Source.check_credentials`); ``cmflow doctor`` (one layer
up) runs the checks and shows the table.

Statuses: ``fail`` means the run will fail (an invalid or expired token, a missing scope, a
missing file); ``warning`` that it will fail soon (a token expiring within
:data:`EXPIRY_WARNING`, a rate budget more than :data:`BUDGET_WARNING` % used).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Literal, Mapping, Protocol

if TYPE_CHECKING:
    import httpx

    from cmflow.plugins.context import FetchContext

Status = Literal["ok", "warning", "fail"]
STATUSES: tuple[Status, ...] = ("ok", "warning", "fail")
"""From best to worst."""
EXPIRY_WARNING = timedelta(days=7)
"""A token that expires sooner than this is a warning: renew it before the next runs."""
BUDGET_WARNING = 80.0
"""A rate budget used above this percentage is a warning: the run may be slowed or refused."""
RUN_MAX_WAIT = 900.0
"""Seconds a run waits for a platform's limit at most (``RetryPolicy.max_total_wait``): a limit
that lifts sooner only slows the run down."""


class CheckedSource(Protocol):
    """What a row reads of the source it checks: a :class:`cmflow.Source` (``kinds`` builds on
    this module, so it is described here rather than imported)."""

    name: str
    entry_id: str


NOT_CHECKED = "not checked: the plugin has nothing to check (it defines no check_credentials)"


def _redact(text: str) -> str:
    from cmflow.http import redact

    return redact(text)


@dataclass
class CredentialCheck:
    """What ``cmflow doctor`` shows for one source's credentials (one row of its table).

    A source returns one row per token, account or file it checks. ``expires_at`` is ``None``
    when the token does not expire or its expiry is unknown (``expiry_note`` says which).
    Every text is redacted: a token never reaches the table.
    """

    source: str
    """The workflow entry's id."""
    plugin: str
    status: Status = "ok"
    account: str = ""
    """The account(s), Page(s), feed or file the credentials open."""
    token_valid: bool | None = None
    """``None``: nothing to validate (a file, a public feed) or not known."""
    scopes_granted: tuple[str, ...] = ()
    scopes_missing: tuple[str, ...] = ()
    expires_at: datetime | None = None
    expiry_note: str = ""
    """Shown instead of a date when ``expires_at`` is None: "never", "unknown", "each run" …"""
    budget: str = ""
    """What is left of the platform's rate budget, in the platform's terms, e.g.
    ``X-App-Usage 34 % used`` or ``x-rate-limit-remaining 12/15``."""
    message: str = ""
    """What to do about it (or what was checked, when all is well)."""
    checked: bool = True
    """False for a plugin that has nothing to check."""
    _said: list[tuple[Status, str]] = field(default_factory=list, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}, not {self.status!r}")
        self.account, self.budget = _redact(self.account), _redact(self.budget)
        self.message = _redact(self.message)
        if self.message:
            self._said = [(self.status, self.message)]

    @classmethod
    def for_source(cls, source: CheckedSource, **fields: Any) -> CredentialCheck:
        """A row for ``source`` (its entry id and plugin name filled in)."""
        return cls(source=source.entry_id, plugin=source.name, **fields)

    @classmethod
    def for_file(cls, source: CheckedSource, ctx: "FetchContext", value: str, *,
                 encoding: str | None = None) -> CredentialCheck:
        """Whether the file a source reads (its ``path`` option, ``value``) exists and can be read
        (and, given ``encoding``, decoded)."""
        return _check_file(source, ctx, value, encoding)

    # -- building a row step by step --------------------------------------------------------
    def flag(self, status: Status, message: str = "") -> CredentialCheck:
        """Raise the status to ``status`` (never lower it) and add ``message`` to what to do."""
        self.status = worst(self.status, status)
        message = _redact(message.strip())
        if message and message not in (said for _, said in self._said):
            self._said.append((status, message))
            # what makes the run fail first, then what only warns, then what informs
            ordered = sorted(self._said, key=lambda item: -STATUSES.index(item[0]))
            self.message = " ".join(_sentence(said) for _, said in ordered)
        return self

    def note(self, message: str) -> CredentialCheck:
        """Add information that changes nothing to the status."""
        return self.flag("ok", message)

    def expiry(self, expires_at: datetime | None, now: float, *, renew: str, note: str = "",
               lifetime: timedelta | None = None) -> CredentialCheck:
        """Record when the token expires: expired is a failure, within :data:`EXPIRY_WARNING`
        a warning, each with ``renew`` (how to get a new one).

        ``lifetime``: how long the platform's tokens last when shorter than that (Google's
        access tokens: one hour). Such tokens are meant to be fetched afresh before each run, so
        a near expiry is said, not warned about."""
        self.expires_at = expires_at
        if expires_at is None:
            self.expiry_note = note or self.expiry_note or "unknown"
            return self
        left = expires_at.timestamp() - now
        if left <= 0:
            return self.flag("fail", f"The token expired on {expires_at:%Y-%m-%d %H:%M} UTC: {renew}")
        if lifetime is not None and lifetime < EXPIRY_WARNING:
            return self.note(f"The token expires in {format_left(left)}, as every token of this platform "
                             f"(they last {format_left(lifetime.total_seconds())}): the job that starts cmflow "
                             "must put a fresh one in the environment before each run")
        if left < EXPIRY_WARNING.total_seconds():
            return self.flag("warning", f"The token expires in {format_left(left)}: {renew}")
        return self

    def scopes(self, granted: Iterable[str], required: Iterable[str], *, how: str,
               covers: Mapping[str, Iterable[str]] | None = None) -> CredentialCheck:
        """Compare the scopes granted with those the source's options need: a missing one is
        a failure, with ``how`` (how to grant it). ``covers`` maps a required scope to broader
        ones that include it (Mastodon ``read`` covers ``read:statuses``)."""
        granted = tuple(dict.fromkeys(granted))
        missing = tuple(scope for scope in dict.fromkeys(required)
                        if scope not in granted and not set((covers or {}).get(scope, ())) & set(granted))
        self.scopes_granted, self.scopes_missing = granted, tuple(dict.fromkeys(self.scopes_missing + missing))
        if missing:
            names = ", ".join(short_scope(scope) for scope in missing)
            self.flag("fail", f"Missing scope{'s' if len(missing) > 1 else ''} {names}: {how}")
        return self

    def rate(self, *budgets: RateBudget | None) -> CredentialCheck:
        """Record what is left of the rate budget (the busiest of ``budgets``, one per answer;
        None for an answer that said nothing): nearly spent is a warning, spent beyond what a
        run waits for a failure."""
        budget = busiest(*budgets)
        if budget is None:
            return self
        self.budget = _redact(budget.text)
        if budget.blocked_for > RUN_MAX_WAIT:
            return self.flag("fail", f"The rate limit is reached for {format_left(budget.blocked_for)}: "
                                     "run again after it resets")
        if budget.blocked_for > 0:
            return self.flag("warning", f"The rate limit is reached for {format_left(budget.blocked_for)}: "
                                        "the run will wait for it")
        if budget.used_percent is not None and budget.used_percent > BUDGET_WARNING:
            return self.flag("warning", f"{budget.used_percent:.0f} % of the rate budget is used: the run may "
                                        "be slowed down or refused; run it later or fetch less")
        return self

    def failed(self, error: BaseException, now: float | None = None) -> CredentialCheck:
        """Record a refusal of the kit (:class:`cmflow.http.PlatformError`) or any other error."""
        from cmflow.http import (ApiVersionExpired, AuthExpired, PermissionMissing, PlatformError,
                           PlatformUnavailable, RateLimited)

        if not isinstance(error, PlatformError):
            return self.flag("fail", f"{type(error).__name__}: {error}")
        said = error.message + (f". {error.hint}" if error.hint else "")
        if isinstance(error, AuthExpired):
            self.token_valid = False
            return self.flag("fail", said)
        if isinstance(error, PermissionMissing):
            if self.token_valid is None:
                self.token_valid = True  # refused a permission, so it was recognised
            if error.scope and error.scope not in self.scopes_missing:
                self.scopes_missing += (error.scope,)
            return self.flag("fail", said)
        if isinstance(error, RateLimited):
            self.budget = self.budget or "exhausted"
            wait = (error.retry_at.timestamp() - now) if error.retry_at is not None and now is not None else None
            if wait is not None and wait <= RUN_MAX_WAIT:
                return self.flag("warning", f"{said} (the run will wait for it)")
            return self.flag("fail", said)
        if isinstance(error, ApiVersionExpired):
            return self.flag("fail", said)
        if isinstance(error, PlatformUnavailable):
            return self.flag("fail", f"The platform did not answer: {said}")
        return self.flag("fail", said)


def _sentence(text: str) -> str:
    return text if text.endswith((".", "!", "?")) else text + "."


def worst(*statuses: Status) -> Status:
    """The worst of ``statuses`` (``ok`` < ``warning`` < ``fail``)."""
    return max(statuses, key=STATUSES.index, default="ok")


def not_checked(source: CheckedSource, message: str = NOT_CHECKED) -> CredentialCheck:
    """The row of a source with nothing to check (the default of :meth:`Source.check_credentials`)."""
    return CredentialCheck.for_source(source, status="ok", message=message, checked=False, expiry_note="—")


def short_scope(scope: str) -> str:
    """A scope as a table shows it: Google's URL scopes without their common prefix."""
    return scope.removeprefix("https://www.googleapis.com/auth/")


def format_left(seconds: float) -> str:
    """``3 days``, ``5 h``, ``12 min``: how long until an expiry or a reset."""
    if seconds >= 2 * 86400:
        return f"{seconds / 86400:.0f} days"
    if seconds >= 2 * 3600:
        return f"{seconds / 3600:.0f} h"
    return f"{max(1, round(seconds / 60))} min"


# -- rate budgets, from the answers' headers ----------------------------------------------------
@dataclass(frozen=True)
class RateBudget:
    """What an answer's headers say about the platform's rate budget (a row's ``budget``).

    Build it from the headers a platform sends (:meth:`from_rate_headers`,
    :meth:`from_meta_headers`) or directly, from what the platform's answer body says."""

    text: str
    """As the table shows it, in the platform's terms: ``x-rate-limit-remaining 12/15``."""
    used_percent: float | None = None
    blocked_for: float = 0.0
    """Seconds until requests are accepted again; 0 when not blocked."""

    @classmethod
    def from_rate_headers(cls, headers: "httpx.Headers", now: float) -> RateBudget | None:
        """X ``x-rate-limit-*``, Mastodon ``X-RateLimit-*``, Bluesky ``RateLimit-*``: requests
        left in the window; None when the answer has none."""
        from cmflow.http.platforms import rate_window

        window = rate_window(headers, now)
        if window is None or window.remaining is None:
            return None
        name = window.header.removesuffix("-reset") + "-remaining"
        text = f"{name} {window.remaining}" + (f"/{window.limit}" if window.limit else "")
        if window.reset_at is not None:
            text += f" (resets {datetime.fromtimestamp(window.reset_at, timezone.utc):%H:%M} UTC)"
        used = 100.0 * (window.limit - window.remaining) / window.limit if window.limit else None
        blocked = max(0.0, window.reset_at - now) if window.remaining == 0 and window.reset_at else 0.0
        return cls(text, used, blocked)

    @classmethod
    def from_meta_headers(cls, headers: "httpx.Headers") -> RateBudget | None:
        """Meta's ``X-App-Usage``, ``X-Page-Usage`` and ``X-Business-Use-Case-Usage``
        (percentages); None when the answer has none (an absent header is not 0 %)."""
        import httpx

        from cmflow.http.platforms import META_USAGE_HEADERS, meta_usage

        parts, highest, blocked = [], None, 0.0
        for name in META_USAGE_HEADERS:
            if name not in headers:
                continue
            usage = meta_usage(httpx.Headers({name: headers[name]}))
            if usage is None:
                continue
            title = "-".join(word.capitalize() for word in name.split("-"))
            parts.append(f"{title} {usage.percent:.0f} % used")
            highest = usage.percent if highest is None else max(highest, usage.percent)
            blocked = max(blocked, usage.regain_in)
        if not parts:
            return None
        return cls("; ".join(parts), highest, blocked)


def busiest(*budgets: RateBudget | None) -> RateBudget | None:
    """The budget nearest its limit among several answers' (blocked first, then most used)."""
    known = [b for b in budgets if b is not None]
    return max(known, key=lambda b: (b.blocked_for, b.used_percent or 0.0), default=None)


# -- files ----------------------------------------------------------------------------------------
def _check_file(source: CheckedSource, ctx: "FetchContext", value: str, encoding: str | None) -> CredentialCheck:
    import codecs

    path = ctx.resolve_path(value)
    row = CredentialCheck.for_source(source, account=value, expiry_note="—")
    if not path.exists():
        return row.flag("fail", f"{path}: file not found. Check the source's `path` option (relative paths "
                                "start at the workflow file's folder), or put the export there")
    if not path.is_file():
        return row.flag("fail", f"{path} is a folder, not a file: set `path` to the export file")
    try:
        with path.open("rb") as stream:
            head = stream.read(64 * 1024)
    except OSError as exc:
        return row.flag("fail", f"{path} cannot be read ({exc.strerror or exc}): check its permissions")
    if not head:
        return row.flag("warning", f"{path} is empty: the run will have no records from it")
    if encoding:
        try:
            codecs.getincrementaldecoder(encoding)().decode(head, final=False)
        except LookupError:
            return row.flag("fail", f"unknown encoding {encoding!r}: fix the source's `encoding` option")
        except UnicodeDecodeError as exc:
            return row.flag("fail", f"{path} is not {encoding} text ({exc.reason} at byte {exc.start}): "
                                    "set the source's `encoding` option")
    return row.note(f"readable ({_size(path)})")


def _size(path: Path) -> str:
    size = path.stat().st_size
    return f"{size} bytes" if size < 1024 else f"{size / 1024:.0f} KiB" if size < 1024 ** 2 else \
        f"{size / 1024 ** 2:.1f} MiB"
