#!/usr/bin/env python3
"""How close does a run's fetch get to what the platforms allow? 200 accounts, a year of history.

Why: DESIGN.md says "sources fetch concurrently within each platform's rate limits" and an
agency's run reads hundreds of accounts. The fetch issue sets the bar: within 1.2x of the lower
bound set by latency, the allowed concurrency and the rate limits; no 429 caused by cmflow
itself; peak memory flat in the number of pages.

What it does:

1. Generates an agency (fixed seed): by default 200 accounts on Mastodon (30 %), X (25 %),
   Bluesky (25 %) and Instagram (20 %), each posting at its own rate for the months asked plus
   a month more, up to today 00:00 UTC. Tokens are laid out as an agency has them: one token
   per Mastodon account (the brand's own application token), one X app Bearer token for all X
   accounts, Bluesky read anonymously from the public AppView (one budget per address), and
   one Facebook Login (system user) token per 20 Instagram accounts.
2. Serves the platforms from a loopback HTTP server in this process, generating each page on
   the fly in the platform's shape (Mastodon ``Link`` paging, X ``meta.next_token`` with
   ``start_time``/``end_time``, Bluesky body ``cursor``, Meta ``paging.next`` and per-post
   insights). Every response waits ``--latency-ms`` (50) first. Each platform's rate limit is
   enforced per token the way the platform does it, with its headers: Mastodon 300 requests
   per 5 minutes per account (``X-RateLimit-*``, ISO reset), X 1,500 per 15 minutes for
   ``/2/users/:id/tweets`` and 300 for ``/2/users/by`` per app token (``x-rate-limit-*``),
   Bluesky 3,000 per 5 minutes per address (``RateLimit-*``), Instagram 4,800 calls per 24 h
   per Instagram account (``X-Business-Use-Case-Usage`` percentages, Meta error 80002 over
   it). The run starts ``--window-left`` seconds (20) before the fixed windows end, with
   ``--window-used`` (80 %) of them already spent by the accounts' other clients, so that the
   X app token must wait for a reset (real windows last 5 to 15 minutes: a benchmark cannot
   wait for one from its start). Every 429 / throttling answer is counted.
3. Runs one workflow holding the 200 sources (one account each, brand by brand; Instagram
   fetches posts: the media list and each post's insights) through
   ``cmflow.runner.run_workflow`` in a child process: the real fetch path, one shared HTTP
   client, as ``cmflow run`` does. Peak memory is that child's ``ru_maxrss`` (``os.wait4``).
   Run A covers ``--months`` (12) and is the one timed against the targets; runs B and C cover
   ``--memory-months`` (3), C with the sources' page sizes divided by four: the same posts in
   about 3.3x the pages, so that memory is compared against pages alone (more months also
   means more records, which a run keeps).
4. Prints the time from the first request to the last answer, as the server saw them, against
   the lower bound: for each budget of the kit (platform and token), the largest of its
   requests x latency / the concurrency it allows (``max_concurrency``), its longest chain of
   dependent pages x latency, and the time its rate windows impose; budgets run in parallel,
   so the bound is the largest of them. Also requests made against the fewest needed, every
   429 / throttling answer (and whether the token had had any answer before: if so, the kit
   knew the headers), when each shared budget started and finished, and peak RSS.
   Exits 1 when a check fails: posts fetched differ from the posts published in the window, a
   source failed, a request matched no endpoint, or the server saw more requests of one token
   in flight than its budget allows.

Run: ``.venv/bin/python benchmarks/fetch_scale.py`` (``--quick`` for a smoke run). See
benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import base64
import bisect
import json
import math
import os
import random
import resource
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

SEED = 20261124
TARGET_RATIO = 1.2
FLAT_MEMORY = 0.05
"""Peak RSS may grow this much (a share) from B to C, the same posts in 4x the pages."""
SHARES = {"mastodon": 0.30, "x": 0.25, "bluesky": 0.25, "instagram": 0.20}
POSTS_PER_DAY = {"mastodon": 1.0, "x": 2.5, "bluesky": 1.0, "instagram": 0.5}
"""Mean posting rate per platform; each account gets 0.25x to 1.75x of it."""
PAGE_SIZE = {"mastodon": 40, "x": 100, "bluesky": 100, "instagram": 50}
"""The sources' default page sizes (the benchmark sets no page_size option)."""
INSTAGRAM_ACCOUNTS_PER_TOKEN = 20
EXTRA_HISTORY_DAYS = 31
"""Posts older than the window exist, so that paging must stop on time rather than run out."""

# Rate limits as the platforms document them (PLATFORMS.md): (limit, window seconds).
MASTODON_LIMIT = (300, 300)  # per account token
BLUESKY_LIMIT = (3000, 300)  # per address, anonymous AppView
X_LIMITS = {"users_by": (300, 900), "tweets": (1500, 900)}  # per app token and endpoint
INSTAGRAM_BUC = (4800, 86400)  # per Instagram account: 4,800 x impressions (taken as 1) per 24 h


# -- the agency ----------------------------------------------------------------------------------
@dataclass
class Account:
    platform: str
    number: int
    """Index among the accounts of its platform."""
    token: str | None
    """Its token's value; None for anonymous reads (Bluesky)."""
    token_env: str | None
    times: list[int]
    """Publication instants, epoch seconds, newest first (all distinct)."""

    @property
    def name(self) -> str:
        return f"brand_{self.number:03d}"


def generate_agency(n_accounts: int, days: int, today: date) -> list[Account]:
    """The accounts, their tokens and their posts' times; the same for the same arguments."""
    counts = {p: int(share * n_accounts) for p, share in SHARES.items()}
    counts["mastodon"] += n_accounts - sum(counts.values())
    midnight = int(datetime.combine(today, datetime.min.time(), timezone.utc).timestamp())
    oldest = midnight - (days + 1 + EXTRA_HISTORY_DAYS) * 86400
    accounts = []
    for platform, count in counts.items():
        for number in range(count):
            rng = random.Random(f"{SEED}-{platform}-{number}")
            rate = POSTS_PER_DAY[platform] * (0.25 + 1.5 * rng.random())
            times, moment = [], midnight - rng.randrange(60, 3600)
            while moment >= oldest:
                times.append(moment)
                moment -= max(60, int(rng.expovariate(rate / 86400)))
            if platform == "mastodon":
                token = f"mastodon-token-{number:03d}"
            elif platform == "x":
                token = "x-app-bearer-token"
            elif platform == "instagram":
                token = f"meta-system-user-token-{number // INSTAGRAM_ACCOUNTS_PER_TOKEN:02d}"
            else:
                token = None
            env = None if token is None else "FETCH_SCALE_" + token.upper().replace("-", "_")
            accounts.append(Account(platform, number, token, env, times))
    return accounts


def interleaved(accounts: list[Account]) -> list[Account]:
    """Brand by brand (brand 0 on every platform, then brand 1 ...), as an agency lists them."""
    return sorted(accounts, key=lambda a: (a.number, list(SHARES).index(a.platform)))


# -- identifiers the server hands out and reads back ---------------------------------------------
def mastodon_account_id(number: int) -> str:
    return str(109_000_000_000_000_000 + number)


def mastodon_status_id(account: Account, index: int) -> int:
    return (account.times[index] * 1000) << 16 | account.number  # Mastodon's time-ordered ids


def x_user_id(number: int) -> str:
    return str(4_000_000_000 + number)


def bluesky_did(number: int) -> str:
    return f"did:plc:fetchscale{number:06d}benchmark"


def instagram_account_id(number: int) -> str:
    return str(17_841_400_000_000_000 + number)


def instagram_media_id(account: Account, index: int) -> str:
    return f"18{account.number:05d}{index:08d}"


def opaque(index: int) -> str:
    return base64.urlsafe_b64encode(f"i{index}".encode()).decode().rstrip("=")


def from_opaque(token: str) -> int:
    return int(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()[1:])


def iso(epoch: int, meta: bool = False) -> str:
    moment = datetime.fromtimestamp(epoch, timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S+0000") if meta else moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def counters(account: Account, index: int) -> list[int]:
    """Eight deterministic small numbers for one post."""
    stream = list(SHARES).index(account.platform)
    rng = random.Random(((SEED * 7 + stream) * 10_000_019 + account.number) * 100_003 + index)
    return [rng.randrange(0, 400) for _ in range(8)]


# -- rate windows ----------------------------------------------------------------------------------
class Window:
    """A fixed rate window of one budget key, anchored at the run's first request: the first
    ends ``left`` seconds after it with ``used`` already spent, later ones hold ``limit`` each."""

    def __init__(self, limit: int, seconds: float, left: float, used: float, rolling: bool = False) -> None:
        self.limit, self.seconds = limit, seconds
        self.left, self.used_share, self.rolling = left, used, rolling
        self.end = 0.0
        self.used = 0
        self.started = False

    def take(self, now: float, anchor: float) -> tuple[bool, int, float]:
        """Count one request: (allowed, remaining, reset epoch)."""
        if not self.started:
            self.started = True
            if self.rolling:  # a 24-hour budget: nothing spent, no reset in view
                self.end = anchor + self.seconds
            else:
                self.end = math.ceil(anchor + self.left)  # epoch-second headers: whole seconds
                self.used = round(self.used_share * self.limit)
        while now >= self.end:
            self.end += self.seconds
            self.used = 0
        if self.used >= self.limit:
            return False, 0, self.end
        self.used += 1
        return True, self.limit - self.used, self.end


@dataclass
class KeyStats:
    """What the server saw of one budget key (platform and token, X also by endpoint)."""

    requests: int = 0
    throttled: int = 0
    throttled_blind: int = 0
    """Throttled before this key had answered anything (the client could not know)."""
    answered: int = 0
    first_request: float = 0.0
    last_answer: float = 0.0
    in_flight: int = 0
    max_in_flight: int = 0


# -- the server ---------------------------------------------------------------------------------
class PlatformServer:
    """Mastodon, X, Bluesky and Instagram on one loopback port, pages generated on request."""

    def __init__(self, accounts: list[Account], latency: float, window_left: float, window_used: float) -> None:
        self.latency = latency
        self.window_left, self.window_used = window_left, window_used
        self.by_platform: dict[str, dict[int, Account]] = {}
        for account in accounts:
            self.by_platform.setdefault(account.platform, {})[account.number] = account
        self.mastodon_by_name = {a.name: a for a in self.by_platform.get("mastodon", {}).values()}
        self.x_by_name = {a.name.lower(): a for a in self.by_platform.get("x", {}).values()}
        self.lock = threading.Lock()
        self.windows: dict[tuple, Window] = {}
        self.stats: dict[tuple, KeyStats] = {}
        self.token_stats: dict[tuple, KeyStats] = {}
        """Per platform and token (what the kit's budget is keyed on): in-flight counts."""
        self.anchor: float | None = None
        self.first_request = self.last_answer = 0.0
        self.unmatched: list[str] = []
        self.counted = threading.local()
        """``key``: the rate key the request this thread is answering was counted under."""
        handler = _handler_for(self)
        self.httpd = _Server(("127.0.0.1", 0), handler)
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> PlatformServer:
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    # -- per request --------------------------------------------------------------------------
    def serve(self, method: str, target: str, headers: dict[str, str], client: str) -> tuple[int, dict[str, str], bytes]:
        parts = urlsplit(target)
        params = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        authorization = headers.get("authorization", "")
        token = authorization.removeprefix("Bearer ") if authorization.startswith("Bearer ") else None
        path = parts.path
        if path.startswith("/api/v1/"):
            return self._mastodon(path, params, token)
        if path.startswith("/2/"):
            return self._x(path, params, token)
        if path.startswith("/xrpc/"):
            return self._bluesky(path, params, token or f"address {client}")
        if path.startswith("/v25.0/"):
            return self._instagram(path, params, token)
        return self._unmatched(method, target)

    def _unmatched(self, method: str, target: str) -> tuple[int, dict[str, str], bytes]:
        with self.lock:
            self.unmatched.append(f"{method} {target}")
        return 404, {"Content-Type": "application/json"}, b'{"error":"no such endpoint in the benchmark"}'

    def _count(self, key: tuple, window: Window) -> tuple[bool, int, float]:
        """Take one request from ``key``'s window; count it and any refusal."""
        with self.lock:
            now = time.time()
            if self.anchor is None:
                self.anchor = self.first_request = now
            allowed, remaining, reset = window.take(now, self.anchor)
            stats = self.stats.setdefault(key, KeyStats())
            self.counted.key = key
            stats.requests += 1
            if not allowed:
                stats.throttled += 1
                if stats.answered == 0:
                    stats.throttled_blind += 1
            return allowed, remaining, reset

    def window(self, key: tuple, limit: tuple[int, int], rolling: bool = False) -> Window:
        with self.lock:
            if key not in self.windows:
                self.windows[key] = Window(*limit, self.window_left, self.window_used, rolling)
            return self.windows[key]

    def answered_key(self, key: tuple) -> None:
        with self.lock:
            stats = self.stats.setdefault(key, KeyStats())
            stats.answered += 1
            self.last_answer = stats.last_answer = time.time()

    def enter(self, key: tuple) -> None:
        with self.lock:
            stats = self.token_stats.setdefault(key, KeyStats())
            stats.first_request = stats.first_request or time.time()
            stats.in_flight += 1
            stats.max_in_flight = max(stats.max_in_flight, stats.in_flight)

    def leave(self, key: tuple) -> None:
        with self.lock:
            stats = self.token_stats[key]
            stats.in_flight -= 1
            stats.last_answer = time.time()

    # -- Mastodon -------------------------------------------------------------------------------
    def _mastodon(self, path: str, params: dict[str, str], token: str | None) -> tuple[int, dict, Any]:
        key = ("mastodon", token)
        allowed, remaining, reset = self._count(key, self.window(key, MASTODON_LIMIT))
        reset_text = datetime.fromtimestamp(reset, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        headers = {"X-RateLimit-Limit": str(MASTODON_LIMIT[0]), "X-RateLimit-Remaining": str(remaining),
                   "X-RateLimit-Reset": reset_text}
        if not allowed:
            return 429, headers, {"error": "Too many requests"}
        if path == "/api/v1/accounts/lookup":
            account = self.mastodon_by_name.get(params.get("acct", ""))
            if account is None:
                return 404, headers, {"error": "Record not found"}
            return 200, headers, self._mastodon_account(account)
        parts = path.split("/")  # /api/v1/accounts/:id/statuses
        if len(parts) == 6 and parts[3] == "accounts" and parts[5] == "statuses":
            account = self.by_platform["mastodon"].get(int(parts[4]) - int(mastodon_account_id(0)))
            if account is None:
                return 404, headers, {"error": "Record not found"}
            size = min(40, int(params.get("limit", 20)))
            first = 0
            if "max_id" in params:
                cut = int(params["max_id"])
                first = bisect.bisect_left(range(len(account.times)), True,
                                           key=lambda i: mastodon_status_id(account, i) < cut)
            page = [self._status(account, i) for i in range(first, min(first + size, len(account.times)))]
            if page:
                query = {k: v for k, v in params.items() if k not in ("max_id", "min_id")}
                base = f"{self.url}/api/v1/accounts/{parts[4]}/statuses"
                headers["Link"] = (f'<{base}?{urlencode({**query, "max_id": page[-1]["id"]})}>; rel="next", '
                                   f'<{base}?{urlencode({**query, "min_id": page[0]["id"]})}>; rel="prev"')
            return 200, headers, page
        return self._unmatched("GET", path)

    def _mastodon_account(self, account: Account) -> dict[str, Any]:
        return {"id": mastodon_account_id(account.number), "username": account.name, "acct": account.name,
                "display_name": f"Brand {account.number}", "url": f"https://mastodon.example/@{account.name}",
                "followers_count": 1000 + 37 * account.number, "following_count": 120,
                "statuses_count": len(account.times)}

    def _status(self, account: Account, index: int) -> dict[str, Any]:
        status_id = str(mastodon_status_id(account, index))
        c = counters(account, index)
        media = [{"id": f"{status_id}1", "type": "image", "url": "https://files.example/a.png"}] * (c[0] % 3)
        return {"id": status_id, "created_at": iso(account.times[index]), "in_reply_to_id": None,
                "in_reply_to_account_id": None, "sensitive": False, "spoiler_text": "", "visibility": "public",
                "language": "en", "uri": f"https://mastodon.example/users/{account.name}/statuses/{status_id}",
                "url": f"https://mastodon.example/@{account.name}/{status_id}", "replies_count": c[1] % 20,
                "reblogs_count": c[2] % 50, "favourites_count": c[3], "quotes_count": c[4] % 5, "edited_at": None,
                "content": f"<p>Post {index} of {account.name}: news, offers &amp; behind the scenes</p>",
                "reblog": None, "account": self._mastodon_account(account), "media_attachments": media,
                "mentions": [], "tags": [], "card": None}

    # -- X ------------------------------------------------------------------------------------------
    def _x(self, path: str, params: dict[str, str], token: str | None) -> tuple[int, dict, Any]:
        endpoint = "users_by" if path == "/2/users/by" else "tweets"
        key = ("x", token, endpoint)
        limit = X_LIMITS[endpoint]
        allowed, remaining, reset = self._count(key, self.window(key, limit))
        headers = {"x-rate-limit-limit": str(limit[0]), "x-rate-limit-remaining": str(remaining),
                   "x-rate-limit-reset": str(int(reset))}
        if not allowed:
            headers["Content-Type"] = "application/problem+json"
            return 429, headers, {"title": "Too Many Requests", "detail": "Too Many Requests",
                                  "type": "about:blank", "status": 429}
        if endpoint == "users_by":
            users = [self.x_by_name.get(name.lower()) for name in params.get("usernames", "").split(",")]
            return 200, headers, {"data": [
                {"id": x_user_id(u.number), "name": f"Brand {u.number}", "username": u.name,
                 "public_metrics": {"followers_count": 5000 + u.number, "following_count": 200,
                                    "tweet_count": len(u.times), "listed_count": 4}} for u in users if u]}
        parts = path.split("/")  # /2/users/:id/tweets
        if len(parts) != 5 or parts[4] != "tweets":
            return self._unmatched("GET", path)
        account = self.by_platform["x"].get(int(parts[3]) - 4_000_000_000)
        if account is None:
            return 404, headers, {"title": "Not Found Error", "status": 404}
        start = int(datetime.fromisoformat(params["start_time"].replace("Z", "+00:00")).timestamp())
        end = int(datetime.fromisoformat(params["end_time"].replace("Z", "+00:00")).timestamp())
        times = account.times  # newest first: the window is [first, stop)
        first = bisect.bisect_left(times, -end, key=lambda t: -t)
        stop = bisect.bisect_right(times, -start, key=lambda t: -t)
        offset = first + (from_opaque(params["pagination_token"]) if "pagination_token" in params else 0)
        size = int(params.get("max_results", 10))
        indices = range(offset, min(offset + size, stop))
        if not indices:
            return 200, headers, {"meta": {"result_count": 0}}
        tweets, media = [], []
        for i in indices:
            c = counters(account, i)
            tweet_id = str(((times[i] * 1000 - 1288834974657) << 22) | account.number)
            tweet = {"id": tweet_id, "text": f"Post {i} of {account.name}: news and offers https://t.co/x{i}",
                     "created_at": iso(times[i]), "edit_history_tweet_ids": [tweet_id], "lang": "en",
                     "public_metrics": {"retweet_count": c[0] % 40, "reply_count": c[1] % 20, "like_count": c[2],
                                        "quote_count": c[3] % 5, "bookmark_count": c[4] % 30,
                                        "impression_count": 20 * c[5] + 100},
                     "entities": {"urls": [{"start": 40, "end": 63, "url": f"https://t.co/x{i}",
                                            "expanded_url": f"https://brand.example/{i}"}]}}
            if c[6] % 3 == 0:
                key_ = f"3_{tweet_id}"
                tweet["attachments"] = {"media_keys": [key_]}
                media.append({"media_key": key_, "type": "photo"})
            tweets.append(tweet)
        body: dict[str, Any] = {"data": tweets, "meta": {"result_count": len(tweets), "newest_id": tweets[0]["id"],
                                                         "oldest_id": tweets[-1]["id"]}}
        if media:
            body["includes"] = {"media": media}
        if indices.stop < stop:
            body["meta"]["next_token"] = opaque(indices.stop - first)
        return 200, headers, body

    # -- Bluesky ------------------------------------------------------------------------------------
    def _bluesky(self, path: str, params: dict[str, str], who: str) -> tuple[int, dict, Any]:
        key = ("bluesky", who)
        allowed, remaining, reset = self._count(key, self.window(key, BLUESKY_LIMIT))
        headers = {"RateLimit-Limit": str(BLUESKY_LIMIT[0]), "RateLimit-Remaining": str(remaining),
                   "RateLimit-Reset": str(int(reset)), "RateLimit-Policy": f"{BLUESKY_LIMIT[0]};w={BLUESKY_LIMIT[1]}"}
        if not allowed:
            return 429, headers, {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"}
        accounts = self.by_platform["bluesky"]
        if path == "/xrpc/app.bsky.actor.getProfile":
            number = bluesky_number(params.get("actor", ""))
            account = accounts.get(number)
            if account is None:
                return 400, headers, {"error": "InvalidRequest", "message": "Profile not found"}
            return 200, headers, {"did": bluesky_did(number), "handle": bluesky_handle(number),
                                  "displayName": f"Brand {number}", "followersCount": 3000 + number,
                                  "followsCount": 210, "postsCount": len(account.times)}
        if path == "/xrpc/app.bsky.feed.getAuthorFeed":
            did = params.get("actor", "")
            account = accounts.get(int(did.removeprefix("did:plc:fetchscale")[:6])) if did.startswith("did:plc:fetchscale") else None
            if account is None:
                return 400, headers, {"error": "InvalidRequest", "message": "Profile not found"}
            first = 0
            if "cursor" in params:
                cut = int(datetime.fromisoformat(params["cursor"].replace("Z", "+00:00")).timestamp())
                first = bisect.bisect_right(account.times, -cut, key=lambda t: -t)
            size = min(100, int(params.get("limit", 50)))
            indices = range(first, min(first + size, len(account.times)))
            feed = []
            for i in indices:
                c = counters(account, i)
                created = iso(account.times[i])
                feed.append({"post": {
                    "uri": f"at://{bluesky_did(account.number)}/app.bsky.feed.post/3l{account.times[i]:x}",
                    "cid": f"bafyrei{account.number:04d}{i:06d}",
                    "author": {"did": bluesky_did(account.number), "handle": bluesky_handle(account.number),
                               "displayName": f"Brand {account.number}"},
                    "record": {"$type": "app.bsky.feed.post", "text": f"Post {i} of brand {account.number}",
                               "createdAt": created, "langs": ["en"]},
                    "replyCount": c[0] % 20, "repostCount": c[1] % 40, "likeCount": c[2], "quoteCount": c[3] % 5,
                    "bookmarkCount": c[4] % 10, "indexedAt": created, "labels": []}})
            body: dict[str, Any] = {"feed": feed}
            if indices and indices.stop < len(account.times):
                body["cursor"] = iso(account.times[indices.stop - 1])
            return 200, headers, body
        return self._unmatched("GET", path)

    # -- Instagram (Graph API, Facebook Login) -----------------------------------------------------
    def _instagram(self, path: str, params: dict[str, str], token: str | None) -> tuple[int, dict, Any]:
        parts = path.split("/")[2:]  # /v25.0/{id}[/media|/insights]
        object_id = parts[0]
        accounts = self.by_platform["instagram"]
        if object_id.startswith("18") and len(object_id) == 15:  # a media id
            account, index = accounts.get(int(object_id[2:7])), int(object_id[7:])
        else:
            account, index = accounts.get(int(object_id) - 17_841_400_000_000_000), None
        if account is None:
            return 400, {}, {"error": {"message": "Unsupported get request.", "type": "GraphMethodException",
                                       "code": 100, "fbtrace_id": "Abench"}}
        owner = instagram_account_id(account.number)
        key = ("instagram", owner)
        window = self.window(key, INSTAGRAM_BUC, rolling=True)
        allowed, remaining, reset = self._count(key, window)
        percent = round(100 * (INSTAGRAM_BUC[0] - remaining) / INSTAGRAM_BUC[0])
        regain = 0 if allowed else math.ceil((reset - time.time()) / 60)
        headers = {"X-Business-Use-Case-Usage": json.dumps({owner: [{
            "type": "instagram", "call_count": percent, "total_cputime": percent // 2, "total_time": percent // 2,
            "estimated_time_to_regain_access": regain}]})}
        if not allowed:
            return 400, headers, {"error": {
                "message": "(#80002) There have been too many calls to this Instagram account. Wait a bit and try again.",
                "type": "OAuthException", "code": 80002, "fbtrace_id": "Abench"}}
        if len(parts) == 1 and index is None:
            return 200, headers, {"id": owner, "username": account.name, "followers_count": 4000 + account.number}
        if parts[1:] == ["media"] and index is None:
            size = min(100, int(params.get("limit", 25)))
            first = from_opaque(params["after"]) if "after" in params else 0
            indices = range(first, min(first + size, len(account.times)))
            data = []
            for i in indices:
                c = counters(account, i)
                media_id = instagram_media_id(account, i)
                kind = ("IMAGE", "FEED") if c[0] % 3 == 0 else ("VIDEO", "REELS") if c[0] % 3 == 1 else ("CAROUSEL_ALBUM", "FEED")
                data.append({"id": media_id, "caption": f"Post {i} of {account.name} #brand", "media_type": kind[0],
                             "media_product_type": kind[1], "permalink": f"https://www.instagram.com/p/B{media_id}/",
                             "timestamp": iso(account.times[i], meta=True), "like_count": c[1],
                             "comments_count": c[2] % 30})
            body: dict[str, Any] = {"data": data}
            if indices:
                paging: dict[str, Any] = {"cursors": {"before": opaque(first), "after": opaque(indices.stop)}}
                if indices.stop < len(account.times):
                    query = {**{k: v for k, v in params.items() if k != "after"}, "after": opaque(indices.stop)}
                    paging["next"] = f"{self.url}/v25.0/{object_id}/media?{urlencode(query)}"
                body["paging"] = paging
            return 200, headers, body
        if parts[1:] == ["insights"] and index is not None:
            c = counters(account, index)
            values = {"views": 50 * c[3] + 200, "reach": 30 * c[3] + 100, "likes": c[1], "comments": c[2] % 30,
                      "shares": c[4] % 25, "saved": c[5] % 40}
            names = params.get("metric", "").split(",")
            return 200, headers, {"data": [
                {"name": name, "period": "lifetime", "values": [{"value": values[name]}], "title": name.title(),
                 "description": f"{name} of the media.", "id": f"{object_id}/insights/{name}/lifetime"}
                for name in names if name in values]}
        return self._unmatched("GET", path)


def bluesky_handle(number: int) -> str:
    return f"brand-{number:03d}.bsky.social"


def bluesky_number(handle: str) -> int:
    name = handle.split(".")[0]
    return int(name.removeprefix("brand-")) if name.startswith("brand-") and name[6:].isdigit() else -1


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # the run opens up to 20 connections at once


def _handler_for(server: PlatformServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = 30
        disable_nagle_algorithm = True

        def do_GET(self) -> None:
            headers = {k.lower(): v for k, v in self.headers.items()}
            length = int(headers.get("content-length") or 0)
            if length:
                self.rfile.read(length)
            authorization = headers.get("authorization", "")
            platform = {"api": "mastodon", "2": "x", "xrpc": "bluesky", "v25.0": "instagram"}.get(
                self.path.split("/")[1], "?")
            token_key = (platform, authorization.removeprefix("Bearer ") or f"address {self.client_address[0]}")
            # In flight from the request's arrival to the answer's first byte: the client cannot
            # send a request in the same slot before then, so this never counts more than it has.
            server.enter(token_key)
            server.counted.key = None
            try:
                status, reply_headers, body = server.serve(self.command, self.path, headers, self.client_address[0])
                content = body if isinstance(body, bytes) else json.dumps(body).encode()
                time.sleep(server.latency)  # the injected latency, on every answer
                reply_headers.setdefault("Content-Type", "application/json; charset=utf-8")
                reply_headers["Content-Length"] = str(len(content))
                head = f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n" + "".join(
                    f"{name}: {value}\r\n" for name, value in reply_headers.items()) + "\r\n"
            finally:
                server.leave(token_key)
            # One send: headers and body written apart would wait for the client's delayed ACK
            # (Nagle's algorithm), adding about 40 ms to every answer.
            self.wfile.write(head.encode("latin-1") + content)
            if server.counted.key is not None:
                server.answered_key(server.counted.key)

        do_POST = do_GET

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


# -- what a run needs at least, and the time it cannot beat ---------------------------------------
@dataclass
class FetchWindow:
    start: int
    end: int
    """Epoch seconds: the fetch window [start, end) of a run over ``days`` days ending yesterday."""


def fetch_window(days: int, today: date) -> FetchWindow:
    """As the runner computes it: the period's first day, one day earlier for baselines, to today."""
    start = datetime.combine(today - timedelta(days=days + 1), datetime.min.time(), timezone.utc)
    end = datetime.combine(today, datetime.min.time(), timezone.utc)
    return FetchWindow(int(start.timestamp()), int(end.timestamp()))


def page_sizes(divisor: int) -> dict[str, int]:
    """The sources' default page sizes divided by ``divisor`` (X asks for 5 at least)."""
    return {p: max(5 if p == "x" else 1, size // divisor) for p, size in PAGE_SIZE.items()}


@dataclass
class Needs:
    """The fewest requests one account's records take, split by what they are."""

    lookups: int
    pages: int
    insights: int = 0
    records: int = 0

    @property
    def total(self) -> int:
        return self.lookups + self.pages + self.insights

    @property
    def chain(self) -> int:
        """Requests that depend on the one before (a cursor), so cannot overlap."""
        return self.lookups + self.pages + (1 if self.insights else 0)


def needs(account: Account, window: FetchWindow, sizes: dict[str, int]) -> Needs:
    """Newest first, a client must read until it has seen one post older than the window
    (Mastodon, Bluesky, Instagram); X filters by time, so its pages hold only the window."""
    times = account.times
    newer = bisect.bisect_right(times, -window.start, key=lambda t: -t)  # posts at or after the start
    inside = newer - bisect.bisect_left(times, -(window.end - 1), key=lambda t: -t)
    size = sizes[account.platform]
    if account.platform == "x":
        return Needs(1, max(1, math.ceil(inside / size)), records=inside)
    pages = newer // size + 1 if newer < len(times) else max(1, math.ceil(newer / size))
    if account.platform == "instagram":
        return Needs(1, pages, insights=inside, records=inside)
    return Needs(1, pages, records=inside)


@dataclass
class Budget:
    """One platform budget of the kit (platform and token): what it must carry."""

    label: str
    platform: str
    token: str | None
    accounts: int = 0
    requests: int = 0
    chain: int = 0
    windows: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    """Per rate window over these requests: (requests, limit, window seconds)."""


def budgets(accounts: list[Account], need: dict[int, Needs]) -> list[Budget]:
    found: dict[tuple, Budget] = {}
    for account in accounts:
        n = need[id(account)]
        label = {"mastodon": f"Mastodon, token of @{account.name}", "x": "X, app Bearer token",
                 "bluesky": "Bluesky, anonymous (one address)",
                 "instagram": f"Instagram, token {(account.token or '')[-2:]}"}[account.platform]
        budget = found.setdefault((account.platform, account.token), Budget(label, account.platform, account.token))
        budget.accounts += 1
        budget.requests += n.total
        budget.chain = max(budget.chain, n.chain)
        if account.platform == "x":  # X counts each endpoint apart
            for what, requests in (("users_by", n.lookups), ("tweets", n.pages)):
                before = budget.windows.get(what, (0,))[0]
                budget.windows[what] = (before + requests, *X_LIMITS[what])
        elif account.platform in ("mastodon", "bluesky"):
            budget.windows["all"] = (budget.requests, *(MASTODON_LIMIT if account.platform == "mastodon" else BLUESKY_LIMIT))
        # Instagram: 4,800 calls per account per 24 h never binds here.
    return list(found.values())


def concurrency_of(platform: str) -> int:
    """Requests in flight the kit allows one budget (its platform default, BudgetLimits)."""
    from cmflow.http.platforms import PLATFORMS

    return PLATFORMS[platform].max_concurrency


def budget_bound(budget: Budget, latency: float, left: float, used: float) -> tuple[float, str]:
    """The least time this budget's requests take, and what sets it."""
    allowed = concurrency_of(budget.platform)
    candidates = [(math.ceil(budget.requests / allowed) * latency, f"{budget.requests:,} requests / {allowed} in flight"),
                  (budget.chain * latency, f"a chain of {budget.chain} pages")]
    for what, (requests, limit, seconds) in budget.windows.items():
        first = limit - round(used * limit)
        if requests > first:
            later = math.ceil((requests - first) / limit)
            last = requests - first - (later - 1) * limit
            wait = left + (later - 1) * seconds + math.ceil(last / allowed) * latency
            candidates.append((wait, f"{requests:,} requests, {first:,} left before the reset at +{left:g} s"
                                     + (f" ({what})" if what != "all" else "")))
    return max(candidates)


# -- the workflow and the child ------------------------------------------------------------------
def write_workflow(directory: Path, accounts: list[Account], url: str, days: int, today: date,
                   sizes: dict[str, int]) -> Path:
    lines = ["[workflow]", 'name = "fetch scale benchmark"', 'timezone = "UTC"', f'period = "{days}d"', "compare = []",
             f'as_of = "{today.isoformat()}"', ""]
    for account in interleaved(accounts):
        lines += ["[[sources]]", f'id = "{account.platform}_{account.number:03d}"', f'plugin = "{account.platform}"',
                  f'base_url = "{url}"']
        if account.platform == "mastodon":
            lines += [f'accounts = ["{account.name}"]', f'token = "${{env:{account.token_env}}}"']
        elif account.platform == "x":
            lines += [f'usernames = ["{account.name}"]', f'token = "${{env:{account.token_env}}}"']
        elif account.platform == "bluesky":
            lines += [f'accounts = ["{bluesky_handle(account.number)}"]']
        else:
            lines += [f'accounts = ["{instagram_account_id(account.number)}"]',
                      f'access_token = "${{env:{account.token_env}}}"', 'fetch = ["posts"]']
        if sizes[account.platform] != PAGE_SIZE[account.platform]:
            lines.append(f"page_size = {sizes[account.platform]}")
        lines.append("")
    lines += ["[[metrics]]", 'plugin = "posts_published"', 'by = ["platform"]', ""]
    path = directory / "agency.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _hwm() -> int:
    """This process's peak resident memory so far, in bytes (0 where /proc is missing)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def child_main(workflow_path: str) -> None:
    """Run the workflow once (dry run, no store) and print what came back as JSON."""
    import logging

    started = time.perf_counter()
    retries: dict[str, int] = {}

    class CountRetries(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            message = record.getMessage()
            if "; retry " in message:
                reason = message.split(": ", 1)[-1].split("; retry")[0]
                reason = reason.split(": HTTP ")[-1][:60] if "HTTP " in reason else reason[-60:]
                retries[reason] = retries.get(reason, 0) + 1

    http_log = logging.getLogger("cmflow.http")
    http_log.setLevel(logging.INFO)
    http_log.addHandler(CountRetries())
    from cmflow.foundation.records import RecordTable
    from cmflow.runner import run_workflow
    from cmflow.workflow import load_workflow

    # Read (not change) the peak memory when the runner starts conforming the tables the
    # sources returned: every source is done then, and the runner's own copies not yet made.
    fetched = {"peak": 0}
    conformed = RecordTable.conformed

    def conformed_noting_peak(self: RecordTable):
        if not fetched["peak"]:
            fetched["peak"] = _hwm()
        return conformed(self)

    RecordTable.conformed = conformed_noting_peak  # type: ignore[method-assign]
    workflow = load_workflow(workflow_path)
    loaded = time.perf_counter()
    result = run_workflow(workflow, store=None, dry_run=True)
    finished = time.perf_counter()
    posts = result.records.get("post")
    by_platform = dict(posts.group_by("platform").len().iter_rows()) if posts is not None else {}
    print(json.dumps({
        "status": result.status, "failed": [f"{s.id}: {s.error}" for s in result.failed_sources],
        "posts": by_platform, "records_bytes": sum(f.estimated_size() for f in result.records.values()),
        "load_s": loaded - started, "run_s": finished - loaded, "retries": retries,
        "fetched_peak": fetched["peak"],
    }))


def run_child(workflow: Path, accounts: list[Account]) -> dict[str, Any]:
    env = {**os.environ}
    for account in accounts:
        if account.token_env:
            env[account.token_env] = account.token or ""
    command = [sys.executable, __file__, "--child", str(workflow)]
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, env=env)
    assert child.stdout is not None
    output = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)  # this child's own rusage
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"the run's process failed with exit code {code}")
    report = json.loads(output.decode().strip().splitlines()[-1])
    report["process_s"] = time.perf_counter() - started
    # ru_maxrss is in KiB on Linux, in bytes on macOS.
    report["peak_rss"] = usage.ru_maxrss * (1 if sys.platform == "darwin" else 1024)
    report["cpu_s"] = usage.ru_utime + usage.ru_stime
    return report


# -- one run --------------------------------------------------------------------------------------
@dataclass
class Outcome:
    label: str
    months: float
    divisor: int
    posts_expected: dict[str, int]
    child: dict[str, Any]
    actual_s: float
    bound_s: float
    bound_reason: str
    rows: list[tuple[str, int, int, float, str]]
    """Per platform: name, accounts, budgets, bound seconds, what sets it."""
    made: dict[str, int]
    minimum: dict[str, int]
    throttled: dict[str, tuple[int, int]]
    finished: dict[str, float]
    """Seconds from the first request to each platform's last answer."""
    over_concurrency: list[str]
    unmatched: list[str]
    server_cpu_s: float
    shared: list[tuple[str, int, int, float, float, float]]
    """Budgets of several accounts: label, accounts, requests, bound, first request, last answer."""
    pages: int
    records: int


def run_once(args: argparse.Namespace, months: float, divisor: int, today: date, label: str) -> Outcome:
    days = round(months * 365 / 12)
    sizes = page_sizes(divisor)
    accounts = generate_agency(args.accounts, days, today)
    window = fetch_window(days, today)
    need = {id(a): needs(a, window, sizes) for a in accounts}
    expected: dict[str, int] = {}
    minimum: dict[str, int] = {}
    for account in accounts:
        expected[account.platform] = expected.get(account.platform, 0) + need[id(account)].records
        minimum[account.platform] = minimum.get(account.platform, 0) + need[id(account)].total
    latency = args.latency_ms / 1000
    pages = sum(n.pages for n in need.values())
    print(f"{label}: {len(accounts)} accounts, {months:g} months ({days} days), {pages:,} pages, "
          f"{sum(minimum.values()):,} requests at least ...", flush=True)
    server = PlatformServer(accounts, latency, args.window_left, args.window_used).start()
    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    try:
        with tempfile.TemporaryDirectory(prefix="cmflow-fetch-bench-") as tmp:
            child = run_child(write_workflow(Path(tmp), accounts, server.url, days, today, sizes), accounts)
    finally:
        server.stop()
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)

    rows, bound, reason, shared = [], 0.0, "", []
    worst: dict[str, tuple[float, str]] = {}
    count: dict[str, int] = {}
    for budget in budgets(accounts, need):
        seconds, why = budget_bound(budget, latency, args.window_left, args.window_used)
        if budget.accounts > 1:
            seen = server.token_stats.get((budget.platform, budget.token or "address 127.0.0.1"), KeyStats())
            shared.append((budget.label, budget.accounts, budget.requests, seconds,
                           seen.first_request - server.first_request, seen.last_answer - server.first_request))
        count[budget.platform] = count.get(budget.platform, 0) + 1
        if seconds > worst.get(budget.platform, (-1.0, ""))[0]:
            worst[budget.platform] = (seconds, f"{budget.label}: {why}")
        if seconds > bound:
            bound, reason = seconds, f"{budget.label}: {why}"
    for platform in SHARES:
        if platform in worst:
            rows.append((platform, sum(a.platform == platform for a in accounts), count[platform], *worst[platform]))

    made: dict[str, int] = {}
    throttled: dict[str, tuple[int, int]] = {}
    finished: dict[str, float] = {}
    for key, stats in server.stats.items():
        made[key[0]] = made.get(key[0], 0) + stats.requests
        total, blind = throttled.get(key[0], (0, 0))
        throttled[key[0]] = (total + stats.throttled, blind + stats.throttled_blind)
        finished[key[0]] = max(finished.get(key[0], 0.0), stats.last_answer - server.first_request)
    over = [f"{platform} token {token[:24]}: {stats.max_in_flight} requests in flight, its budget allows "
            f"{concurrency_of(platform)}" for (platform, token), stats in server.token_stats.items()
            if platform in SHARES and stats.max_in_flight > concurrency_of(platform)]
    return Outcome(label, months, divisor, expected, child, server.last_answer - server.first_request, bound, reason,
                   rows, made, minimum, throttled, finished, over, server.unmatched,
                   (cpu_after.ru_utime + cpu_after.ru_stime) - (cpu_before.ru_utime + cpu_before.ru_stime),
                   shared, pages, sum(expected.values()))


# -- printing ---------------------------------------------------------------------------------------
def _mb(value: float) -> str:
    return f"{value / 1024**2:,.0f} MB"


def report(outcome: Outcome) -> list[str]:
    """Print one run's tables; return the failed checks."""
    from cmflow.stages.fetch import MAX_PARALLEL_SOURCES

    child = outcome.child
    failures = []
    pages = "" if outcome.divisor == 1 else f", page sizes / {outcome.divisor}"
    print(f"\n{outcome.label} ({outcome.months:g} months{pages}):\n")
    print("| platform | accounts | budgets | requests made | minimum | throttled | of them blind "
          "| posts fetched / in window | bound | set by | last answer |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|")
    for platform, accounts, tokens, seconds, why in outcome.rows:
        throttled, blind = outcome.throttled.get(platform, (0, 0))
        got, wanted = child["posts"].get(platform, 0), outcome.posts_expected.get(platform, 0)
        print(f"| {platform} | {accounts} | {tokens} | {outcome.made.get(platform, 0):,} | "
              f"{outcome.minimum.get(platform, 0):,} | {throttled} | {blind} | {got:,} / {wanted:,} | "
              f"{seconds:.1f} s | {why} | {outcome.finished.get(platform, 0):.1f} s |")
        if got != wanted:
            failures.append(f"{outcome.label}, {platform}: {got} posts fetched, {wanted} published in the window")
    made, minimum = sum(outcome.made.values()), sum(outcome.minimum.values())
    throttled = sum(t for t, _ in outcome.throttled.values())
    blind = sum(b for _, b in outcome.throttled.values())
    ratio = outcome.actual_s / outcome.bound_s if outcome.bound_s else float("inf")
    print(f"\n  fetch (first request to last answer, at the server): {outcome.actual_s:.1f} s; lower bound "
          f"{outcome.bound_s:.1f} s ({outcome.bound_reason}): {ratio:.2f}x")
    print(f"\n  | budget of several accounts | accounts | requests | bound | first request | last answer |\n"
          f"  |---|---:|---:|---:|---:|---:|")
    for label, n, requests, bound, first, last in outcome.shared:
        print(f"  | {label} | {n} | {requests:,} | {bound:.1f} s | {max(0.0, first):.1f} s | {last:.1f} s |")
    print(f"  (the fetch stage fetches {MAX_PARALLEL_SOURCES} sources at once, in the workflow's order: "
          "cmflow.stages.fetch.MAX_PARALLEL_SOURCES)\n")
    print(f"  requests: {made:,} made, {minimum:,} at least ({made - minimum:+,}); {outcome.pages:,} pages; "
          f"throttling answers: {throttled} ({blind} before the token had any answer)")
    if child["retries"]:
        print("  retries cmflow logged: " + ", ".join(f"{n} x {why!r}" for why, n in child["retries"].items()))
    print(f"  run's process: {child['process_s']:.1f} s (workflow load {child['load_s']:.1f} s), CPU "
          f"{child['cpu_s']:.1f} s; the server's CPU {outcome.server_cpu_s:.1f} s")
    print(f"  memory: peak RSS {_mb(child['peak_rss'])}, when the sources were done {_mb(child['fetched_peak'])}; "
          f"{outcome.records:,} posts, {_mb(child['records_bytes'])} as the run's record frames")
    if child["status"] == "failed" or child["failed"]:
        failures += [f"{outcome.label}, source {f}" for f in child["failed"][:5]] or [f"{outcome.label}: run failed"]
    if outcome.unmatched:
        failures.append(f"{outcome.label}: {len(outcome.unmatched)} request(s) matched no endpoint, "
                        f"e.g. {outcome.unmatched[0]}")
    failures += [f"{outcome.label}: {o}" for o in outcome.over_concurrency]
    return failures


def parent_main(args: argparse.Namespace) -> int:
    from importlib.metadata import version

    today = datetime.now(timezone.utc).date()
    print(f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, httpx {version('httpx')}; "
          f"{args.latency_ms:g} ms per answer; rate windows end {args.window_left:g} s after the first request, "
          f"{args.window_used:.0%} used\n")
    main = run_once(args, args.months, 1, today, "A, timing")
    memory: list[Outcome] = []
    if args.memory_months:
        memory = [run_once(args, args.memory_months, 1, today, "B, memory"),
                  run_once(args, args.memory_months, 4, today, "C, memory, 4x smaller pages")]
    failures = []
    for outcome in (main, *memory):
        failures += report(outcome)

    ratio = main.actual_s / main.bound_s
    by_cmflow = sum(t - b for t, b in main.throttled.values())
    print(f"\ntargets: within {TARGET_RATIO:g}x of the bound: {'met' if ratio <= TARGET_RATIO else 'not met'} "
          f"({ratio:.2f}x); no 429 caused by cmflow: {'met' if by_cmflow == 0 else 'not met'} ({by_cmflow})")
    if memory:
        b, c = memory
        growth = c.child["peak_rss"] - b.child["peak_rss"]
        flat = growth <= FLAT_MEMORY * b.child["peak_rss"]
        print(f"  peak memory flat in the number of pages (B against C: the same {b.records:,} posts in "
              f"{b.pages:,} and {c.pages:,} pages): {'met' if flat else 'not met'} "
              f"({_mb(b.child['peak_rss'])} -> {_mb(c.child['peak_rss'])}, {growth / 1024**2:+.0f} MB)")
        print(f"  with the records (B against A: {b.records:,} -> {main.records:,} posts, {b.pages:,} -> "
              f"{main.pages:,} pages): peak RSS {_mb(b.child['peak_rss'])} -> {_mb(main.child['peak_rss'])}, "
              f"record frames {_mb(b.child['records_bytes'])} -> {_mb(main.child['records_bytes'])}")
    sys.stdout.flush()
    for failure in failures:
        print(f"FAIL: {failure}", file=sys.stderr)
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=200, help="accounts in all (default: %(default)s)")
    parser.add_argument("--months", type=float, default=12, help="history of the timed run A (default: %(default)s)")
    parser.add_argument("--memory-months", type=float, default=3,
                        help="history of the memory runs B and C, the same posts in 4x more pages in C; "
                             "0 to skip them (default: %(default)s)")
    parser.add_argument("--latency-ms", type=float, default=50, help="latency of every answer (default: %(default)s)")
    parser.add_argument("--window-left", type=float, default=20,
                        help="seconds from the first request to the end of the current rate windows (default: %(default)s)")
    parser.add_argument("--window-used", type=float, default=0.8,
                        help="share of the current windows already used by other clients (default: %(default)s)")
    parser.add_argument("--quick", action="store_true", help="20 accounts, 2 months, memory runs over 1 month")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child_main(args.child)
        return 0
    if args.quick:
        args.accounts, args.months, args.memory_months = 20, 2, min(args.memory_months, 1)
    return parent_main(args)


if __name__ == "__main__":
    sys.exit(main())
