"""Request budgets kept in Redis, so that every process on every machine shares one.

:class:`SharedRequestBudget` behaves as :class:`~cmflow.http.budget.RequestBudget` does (the
same ``slot``, ``observe`` and ``hold``), with its state in Redis under
``<prefix>:<platform>:<token hash>``, so 50 workers on one Meta app keep within its limit as
one process does:

- the token bucket, holds and spacing are one hash, read and written by Lua scripts (atomic:
  two processes never book the same start); a hold or a spacing one process learns from an
  answer's headers paces every process;
- concurrency is a sorted set of leased slots (holder id, lease expiry in Redis's own time);
  a live holder renews its leases, so a process killed with ``kill -9`` frees its slots when
  their lease runs out (:data:`DEFAULT_LEASE`), never leaking one; a process waiting for a
  slot blocks on a wake-up list a release pushes to (at most :data:`SLOT_WAIT` at a time), so
  waiting workers do not poll Redis;
- time is Redis's own: the scripts read it when they run, so clocks that differ between
  machines, or a script retried after a Redis hiccup, never credit a request twice; the
  instants an answer tells (a hold's end, a window's reset) reach Redis as seconds from the
  process's now and are kept on Redis's clock, so a hold lasts as long whoever learnt it;
- units spent (YouTube quota units) are counted per UTC day for every process together (what
  :func:`shared_budget_snapshot` reports); the limit of a run (``unit_limit``) stays the run's.

The token is never in Redis, in logs or in errors: keys hold its hash
(:func:`~cmflow.http.budget.token_fingerprint`). Runs learn the Redis URL from
``CMFLOW_SHARED_BUDGETS`` (:data:`SHARED_BUDGETS_VARIABLE`); without it budgets stay in the
process. When Redis cannot be reached, requests wait for it (up to :data:`UNREACHABLE_WAIT`)
and then fail with :class:`BudgetStoreUnavailable`: a request the shared budget cannot count is
never sent, since sending it could pass the platform's limit for every worker at once.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any, Callable

from cmflow.foundation.secrets import redactor
from cmflow.foundation.urls import display_url, mark_url_secrets, redis_url_problem
from cmflow.http.budget import Budget, BudgetLimits, BudgetRegistries, WaitTooLong
from cmflow.http.errors import PlatformUnavailable
from cmflow.http.platforms import Pace, Platform

log = logging.getLogger("cmflow.http")

SHARED_BUDGETS_VARIABLE = "CMFLOW_SHARED_BUDGETS"
"""The Redis URL (``redis://[:password@]host:6379/0``) of the budgets every run shares; set by
the daemon from ``[daemon] shared_budgets``, or by hand for ``cmflow run`` and workers."""
PREFIX_VARIABLE = "CMFLOW_SHARED_BUDGETS_PREFIX"
"""Where the keys start (default :data:`DEFAULT_PREFIX`): several cmflow installs on one Redis
keep apart by giving each its own."""
DEFAULT_PREFIX = "cmflow:budget"
DEFAULT_LEASE = 15.0
"""Seconds a concurrency slot is leased for; a live holder renews it every third of that."""
UNREACHABLE_WAIT = 60.0
"""Seconds a request waits for an unreachable Redis before it fails (a restart rides through)."""
SLOT_WAIT = 0.5
"""Longest a process waiting for a concurrency slot blocks on Redis before it looks again (a
release wakes it at once; this bounds the wait for a lease that ran out)."""
STATE_TTL = 2 * 24 * 3600
"""A budget untouched this long (seconds) is forgotten by Redis."""


class BudgetStoreUnavailable(PlatformUnavailable):
    """The shared budgets' Redis cannot be reached (or refuses cmflow): no request is sent."""


def shared_budgets_url(value: str | None = None) -> str | None:
    """The Redis URL of the shared budgets: ``value``, else :data:`SHARED_BUDGETS_VARIABLE`, else
    None (budgets stay in the process). Raises ``ValueError`` (saying what to write) for a URL
    Redis does not take."""
    url = value if value is not None else os.environ.get(SHARED_BUDGETS_VARIABLE, "")
    url = url.strip()
    if not url:
        return None
    if problem := redis_url_problem(url):
        named = f"{SHARED_BUDGETS_VARIABLE}: " if value is None else ""
        raise ValueError(f"{named}{problem}, or leave it unset to keep budgets in each process")
    mark_url_secrets(url)
    return url


def shared_budgets_prefix() -> str:
    """The key prefix: :data:`PREFIX_VARIABLE`, else :data:`DEFAULT_PREFIX`."""
    return os.environ.get(PREFIX_VARIABLE, "").strip() or DEFAULT_PREFIX


def _redis_module() -> Any:
    try:
        import redis
    except ImportError:
        raise ImportError(f"{SHARED_BUDGETS_VARIABLE} is set, and shared request budgets need the redis "
                          "package: pip install 'cmflow[celery]' (or unset the variable to keep budgets "
                          "in each process)") from None
    return redis


# -- the scripts ---------------------------------------------------------------------------------
# Numbers cross the Lua boundary as strings: Redis would truncate a Lua number to an integer.
# Time is Redis's own (TIME), read when the script runs: a script retried after a Redis hiccup
# never books with a stale instant, and processes whose clocks differ never credit each other
# tokens. Only a test's virtual clock passes ARGV[1] (see SharedBudgetRegistry.script_clock).
# Instants from headers (a hold's end, a reset) travel as seconds from the caller's clock's now
# and are kept on Redis's: a machine whose clock is off holds every process as long as it should.
NOW = """
local function redis_now()
  if ARGV[1] ~= '' then return tonumber(ARGV[1]) end
  local t = redis.call('TIME')
  return tonumber(t[1]) + tonumber(t[2]) / 1000000
end
"""

RESERVE = NOW + """
local now, rate, burst, cost = redis_now(), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local stamp, day = string.format('%.6f', now), string.format('%d', math.floor(now / 86400))
local s = {}
local flat = redis.call('HGETALL', KEYS[1])
for i = 1, #flat, 2 do s[flat[i]] = flat[i + 1] end
local start, reason = now, ''
local hold = tonumber(s.hold_until or '0')
if hold > start then start, reason = hold, s.hold_reason or '' end
local interval = tonumber(s.spacing_interval or '')
if interval then
  local last_start = tonumber(s.last_start or '0')
  local until_ = tonumber(s.spacing_until or '')
  if until_ and now >= until_ then
    redis.call('HDEL', KEYS[1], 'spacing_interval', 'spacing_until', 'spacing_reason')
  elseif last_start + interval > start then
    start, reason = last_start + interval, s.spacing_reason or ''
  end
end
if rate > 0 and now >= tonumber(s.known_until or '0') then
  local tokens = tonumber(s.tokens or tostring(burst))
  local refilled = tonumber(s.refilled_at or stamp)
  tokens = math.min(burst, tokens + math.max(0, now - refilled) * rate) - 1
  redis.call('HSET', KEYS[1], 'tokens', string.format('%.6f', tokens), 'refilled_at', stamp)
  if tokens < 0 and now - tokens / rate > start then start, reason = now - tokens / rate, 'rate' end
end
if s.units_day ~= day then redis.call('HSET', KEYS[1], 'units_day', day, 'units_spent', '0') end
redis.call('HINCRBY', KEYS[1], 'units_spent', cost)
redis.call('HSET', KEYS[1], 'last_start', string.format('%.6f', start), 'max_concurrency', ARGV[5], 'rate', ARGV[2],
           'burst', ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[6])
return {string.format('%.6f', start - now), reason}
"""

OBSERVE = NOW + """
local clock = redis_now()
local now, burst = string.format('%.6f', clock), ARGV[7]
-- The instants an answer told (a hold's end, a window's reset) come as seconds from the caller's
-- now and are kept on Redis's clock, as every other time here: machines whose clocks differ agree.
local function instant(i)
  if ARGV[i] == '' then return '' end
  return string.format('%.6f', clock + tonumber(ARGV[i]))
end
local hold_until, spacing_until, known_until, window_reset = instant(3), instant(6), instant(8), instant(12)
if ARGV[2] == '1' then redis.call('HDEL', KEYS[1], 'spacing_interval', 'spacing_until', 'spacing_reason') end
if hold_until ~= '' and tonumber(hold_until) > tonumber(redis.call('HGET', KEYS[1], 'hold_until') or '0') then
  redis.call('HSET', KEYS[1], 'hold_until', hold_until, 'hold_reason', ARGV[4])
end
if ARGV[5] ~= '' then
  redis.call('HSET', KEYS[1], 'spacing_interval', ARGV[5], 'spacing_reason', ARGV[4])
  if spacing_until ~= '' then redis.call('HSET', KEYS[1], 'spacing_until', spacing_until)
  else redis.call('HDEL', KEYS[1], 'spacing_until') end
end
if known_until ~= '' and tonumber(known_until) > tonumber(redis.call('HGET', KEYS[1], 'known_until') or '0') then
  redis.call('HSET', KEYS[1], 'known_until', known_until, 'tokens', burst, 'refilled_at', now)
end
if ARGV[10] ~= '' then  -- what the headers say is left; an answer older than the one kept says more
  -- One window's reset, as two answers tell it, differs by the Date header's second and the way here.
  local reset, kept_reset = tonumber(window_reset), tonumber(redis.call('HGET', KEYS[1], 'window_reset') or '-1')
  local kept = tonumber(redis.call('HGET', KEYS[1], 'window_remaining') or '-1')
  local same_window = reset ~= nil and math.abs(reset - kept_reset) <= 2
  if not same_window or kept < 0 or tonumber(ARGV[10]) < kept then
    redis.call('HSET', KEYS[1], 'window_remaining', ARGV[10], 'window_limit', ARGV[11], 'window_reset', window_reset)
  end
end
if ARGV[13] ~= '' then redis.call('HSET', KEYS[1], 'used_percent', ARGV[13], 'used_at', now) end
redis.call('EXPIRE', KEYS[1], ARGV[9])
return 1
"""

ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%.6f', now))
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], string.format('%.6f', now + tonumber(ARGV[3])), ARGV[1])
  redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[3])) + 60)
  return 1
end
return 0
"""

RELEASE = """
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('RPUSH', KEYS[2], '1')  -- wakes one waiter (BLPOP); more wake-ups than slots are not kept
redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[2]) - 1)
redis.call('EXPIRE', KEYS[2], 60)
return 1
"""

RENEW = """
local t = redis.call('TIME')
local expiry = string.format('%.6f', tonumber(t[1]) + tonumber(t[2]) / 1000000 + tonumber(ARGV[1]))
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], 'XX', expiry, ARGV[i]) end
redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[1])) + 60)  -- a slot held for long keeps its set
return 1
"""


class SharedRequestBudget(Budget):
    """Concurrency, rate and pacing for one platform and token, shared through Redis.

    The same interface as :class:`~cmflow.http.budget.RequestBudget`; ``units_spent``,
    ``in_flight`` and ``max_in_flight`` count this process's requests."""

    def __init__(self, registry: "SharedBudgetRegistry", platform: str, fingerprint: str, title: str,
                 limits: BudgetLimits) -> None:
        super().__init__()
        self.name = f"{title} ({fingerprint}, shared)"
        self.title = title
        self.limits = limits
        self._registry = registry
        self._key = f"{registry.prefix}:{platform}:{fingerprint}"
        self.state_key, self.slots_key = f"{self._key}:state", f"{self._key}:slots"
        self.wake_key = f"{self._key}:wake"
        """A list a release pushes to: a process waiting for a slot blocks on it (BLPOP)."""

    def _take_slot(self) -> object:
        return self._registry.acquire(self)

    def _give_slot(self, holder: object) -> None:
        self._registry.release(self, holder)

    def _now(self) -> float:
        return self._registry.clock()

    def _pause(self, seconds: float) -> None:
        self._registry.sleep(seconds)

    def _reserve(self, cost: int) -> tuple[float, str]:
        """Book the next start in Redis's time; the wait is relative, so it holds on any clock."""
        rate = self.limits.requests_per_second or 0.0
        wait, reason = self._registry.run("reserve", self.title, keys=[self.state_key], args=[
            self._registry.script_now(), _number(rate), str(max(1, self.limits.burst)), str(cost),
            str(max(1, self.limits.max_concurrency)), str(STATE_TTL)])
        reason = reason.decode() if isinstance(reason, bytes) else str(reason)
        return float(wait), (f"{rate:g} requests/s" if reason == "rate" else reason)

    def observe(self, pace: Pace | None) -> None:
        """Apply what an answer's usage headers asked for to every later request, in every process.

        The pace's instants are on this process's clock; they go to Redis as seconds from its
        now, and the script keeps them on Redis's clock, so that a hold learnt on a machine
        whose clock is off lasts as long for every process."""
        if pace is None:
            return
        now = self._registry.clock()

        def from_now(instant: float | None) -> str:
            return "" if instant is None else _number(instant - now)

        self._registry.run("observe", self.title, keys=[self.state_key], args=[
            self._registry.script_now(), "1" if pace.calm else "", from_now(pace.hold_until), pace.reason,
            _number(pace.interval), from_now(pace.until), str(max(1, self.limits.burst)),
            from_now(pace.known_until), str(STATE_TTL), "" if pace.remaining is None else str(pace.remaining),
            "" if pace.limit is None else str(pace.limit), from_now(pace.window_reset), _number(pace.used_percent)])

    def hold(self, until: float, reason: str) -> None:
        """No request starts before ``until`` (epoch seconds), in any process."""
        self.observe(Pace(hold_until=until, reason=reason))


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.6f}"


class SharedBudgetRegistry(BudgetRegistries):
    """The budgets of one client, kept in Redis at ``url`` (the same interface as
    :class:`~cmflow.http.budget.BudgetRegistry`)."""

    def __init__(self, url: str, *, clock: Callable[[], float], sleep: Callable[[float], None],
                 prefix: str = DEFAULT_PREFIX, lease: float = DEFAULT_LEASE,
                 unreachable_wait: float = UNREACHABLE_WAIT,
                 script_clock: Callable[[], float] | None = None) -> None:
        redis = _redis_module()
        super().__init__()
        self.url, self.prefix, self.lease = url, prefix, lease
        self.clock, self.sleep = clock, sleep
        self.script_clock = script_clock
        """None (always, but in tests): the scripts read Redis's own time. A test in virtual time
        passes its clock, so that seconds it skips pass for the bookings too."""
        self.unreachable_wait = unreachable_wait
        self._errors = redis.exceptions
        self._redis = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self._scripts = {name: self._redis.register_script(text) for name, text in
                         (("reserve", RESERVE), ("observe", OBSERVE), ("acquire", ACQUIRE),
                                                             ("release", RELEASE), ("renew", RENEW))}
        self._held: dict[str, str] = {}
        """Slot holder id -> the sorted set it is in: the leases this process renews."""
        self._closed = threading.Event()
        self._renewer: threading.Thread | None = None

    def script_now(self) -> str:
        """The time argument of the scripts: empty, so that they read Redis's clock when they run."""
        return "" if self.script_clock is None else _number(self.script_clock())

    def _new_budget(self, platform: Platform, fingerprint: str, limits: BudgetLimits) -> SharedRequestBudget:
        return SharedRequestBudget(self, platform.name, fingerprint, platform.title, limits)

    # -- Redis, with waiting through an outage ---------------------------------------------------
    def run(self, script: str, platform: str, *, keys: list[str], args: list[str]) -> Any:
        """Run one of the scripts for a budget of ``platform`` (its title, for errors), waiting (up
        to ``unreachable_wait``) while Redis is unreachable."""
        return self._call(lambda: self._scripts[script](keys=keys, args=args), platform)

    def _call(self, action: Callable[[], Any], platform: str) -> Any:
        errors = self._errors
        deadline, pause = time.monotonic() + self.unreachable_wait, 0.2
        while True:
            try:
                return action()
            except (errors.AuthenticationError, errors.ResponseError) as exc:
                raise self._unavailable(f"refused cmflow ({type(exc).__name__}: {exc})",
                                        "Check the URL's password and that the server is Redis 6.2 or later",
                                        platform) from None
            except (errors.ConnectionError, errors.TimeoutError) as exc:
                if time.monotonic() + pause > deadline:
                    raise self._unavailable(f"cannot be reached ({type(exc).__name__}: {exc}) after "
                                            f"{self.unreachable_wait:g} s of trying",
                                            "Start Redis (or fix the URL) and run again; unset "
                                            f"{SHARED_BUDGETS_VARIABLE} to keep budgets in each process",
                                            platform) from None
                log.warning(redactor(f"the shared request budgets at {display_url(self.url)} cannot be "
                                     f"reached ({type(exc).__name__}); trying again in {pause:g} s"))
                time.sleep(pause)
                pause = min(pause * 2, 5.0)

    def _unavailable(self, what: str, hint: str, platform: str) -> BudgetStoreUnavailable:
        return BudgetStoreUnavailable(
            f"the shared request budgets at {display_url(self.url)} ({SHARED_BUDGETS_VARIABLE}) {what}; "
            "no request is sent that they cannot count", hint=hint, platform=platform)

    # -- leased concurrency slots --------------------------------------------------------------
    def acquire(self, budget: SharedRequestBudget) -> str:
        """Wait for a free slot of ``budget`` and lease it; return the holder id to release."""
        holder = f"{os.getpid()}:{uuid.uuid4().hex[:12]}"
        limit = str(max(1, budget.limits.max_concurrency))
        while not self.run("acquire", budget.title, keys=[budget.slots_key], args=[holder, limit, f"{self.lease:.3f}"]):
            # Block until a release wakes us, or SLOT_WAIT passes (a killed holder's lease runs out
            # in Redis's time, with no release to say so): one call per wake-up, not a poll.
            self._call(lambda: self._redis.blpop([budget.wake_key], timeout=SLOT_WAIT), budget.title)
        with self._lock:
            self._held[holder] = budget.slots_key
            if self._renewer is None:
                self._renewer = threading.Thread(target=self._renew_leases, name="cmflow-budget-leases", daemon=True)
                self._renewer.start()
        return holder

    def release(self, budget: SharedRequestBudget, holder: str) -> None:
        with self._lock:
            self._held.pop(holder, None)
        try:
            self._scripts["release"](keys=[budget.slots_key, budget.wake_key],
                                     args=[holder, str(max(1, budget.limits.max_concurrency))])
        except self._errors.RedisError as exc:  # the lease runs out by itself
            log.warning(redactor(f"could not release a request slot of {budget.name} ({type(exc).__name__}); "
                                 f"it frees itself within {self.lease:g} s"))

    def _renew_leases(self) -> None:
        while not self._closed.wait(self.lease / 3):
            with self._lock:
                by_key: dict[str, list[str]] = {}
                for holder, key in self._held.items():
                    by_key.setdefault(key, []).append(holder)
            for key, holders in by_key.items():
                try:
                    self._scripts["renew"](keys=[key], args=[f"{self.lease:.3f}", *holders])
                except self._errors.RedisError as exc:
                    log.warning(redactor(f"could not renew request slot leases ({type(exc).__name__})"))

    def close(self) -> None:
        self._closed.set()
        self._redis.close()


@dataclass(frozen=True)
class BudgetSnapshot:
    """One shared budget as Redis holds it now (for metrics and status pages)."""

    platform: str
    token_hash: str
    remaining: float | None
    """Requests left now: the platform's own count from its latest rate headers while their
    window lasts, else what the token bucket would let start; None when neither is known."""
    reset_at: float | None
    """Epoch seconds when a hold under way ends, else when the headers' window resets; None
    when neither is known."""
    slots_in_use: int
    max_concurrency: int | None
    units_spent_today: int
    """Units (e.g. YouTube quota units) spent by every process today (UTC)."""
    limit: int | None = None
    """The window's limit, as the headers say."""
    used_percent: float | None = None
    """Meta's usage headers: the highest percentage used, as last seen."""


def shared_budget_snapshot(redis_url: str, *, prefix: str = DEFAULT_PREFIX,
                           now: float | None = None) -> list[BudgetSnapshot]:
    """Every shared budget in Redis at ``redis_url``: what is left, and until when it is held.

    Read-only (a Prometheus gauge of "API budget left per platform" reads this). Its instants
    (``reset_at``) are on Redis's clock, as the budgets keep them; ``now`` (epoch seconds, on that
    clock) defaults to Redis's own time."""
    redis = _redis_module()
    client = redis.Redis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=5, decode_responses=True)
    try:
        seconds, microseconds = client.time()
        server_time = seconds + microseconds / 1e6  # the time slots, refills, holds and days are kept in
        now = server_time if now is None else now
        today = str(int(server_time // 86400))  # days since 1970 (UTC): the scripts' units_day
        found = []
        for key in sorted(client.scan_iter(match=f"{prefix}:*:state", count=500)):
            _, platform, fingerprint, _ = key.rsplit(":", 3)
            state = client.hgetall(key)
            slots = client.zcount(f"{prefix}:{platform}:{fingerprint}:slots", server_time, "+inf")
            rate, burst = float(state.get("rate") or 0), float(state.get("burst") or 1)
            remaining: float | None = None
            reset_at: float | None = None
            window_reset = float(state.get("window_reset") or 0)
            if window_reset > now and state.get("window_remaining"):
                remaining, reset_at = float(state["window_remaining"]), window_reset
            elif rate > 0 and now >= float(state.get("known_until") or 0):
                tokens = float(state.get("tokens", burst))
                elapsed = max(0.0, server_time - float(state.get("refilled_at") or server_time))
                remaining = max(0.0, min(burst, tokens + elapsed * rate))
            hold = float(state.get("hold_until") or 0)
            found.append(BudgetSnapshot(
                platform, fingerprint, remaining, hold if hold > now else reset_at, slots,
                int(state["max_concurrency"]) if state.get("max_concurrency") else None,
                int(state.get("units_spent") or 0) if state.get("units_day") == today else 0,
                int(state["window_limit"]) if state.get("window_limit") and reset_at else None,
                float(state["used_percent"]) if state.get("used_percent") else None))
        return found
    finally:
        client.close()
