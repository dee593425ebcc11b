"""A loopback API that enforces a rate limit per token, as platforms do, and counts what it saw.

Each token (``Authorization: Bearer``) has a token bucket on the server: ``rate`` requests a
second, ``capacity`` at once; a request beyond it is answered 429 with ``Retry-After: 1`` and
counted as throttled. Every answer waits ``latency`` seconds first; the server also counts, per
token, the requests it saw, those answered, and the most in flight at once. ``/hang`` holds a
request until :meth:`RateLimitedApi.release_hung` (or 30 s); ``/refuse`` answers 429 with
``Retry-After: 600``. Used by
``tests/test_shared_budgets.py`` and ``benchmarks/scale_out.py``.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class _Bucket:
    tokens: float
    refilled_at: float


class RateLimitedApi:
    """Start with ``with RateLimitedApi(rate=20, capacity=5) as api: api.url ...``."""

    def __init__(self, *, rate: float, capacity: float, latency: float = 0.0) -> None:
        self.rate, self.capacity, self.latency = rate, capacity, latency
        self.requests: Counter[str] = Counter()
        """Requests seen per token (answered or throttled)."""
        self.throttled: Counter[str] = Counter()
        self.answered: Counter[str] = Counter()
        self.max_in_flight: Counter[str] = Counter()
        self.hung = 0
        self._in_flight: Counter[str] = Counter()
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()
        self._release = threading.Event()
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                api._serve(self)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="rate-limited-api", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> "RateLimitedApi":
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()

    def release_hung(self) -> None:
        self._release.set()

    def _admit(self, token: str) -> bool:
        now = time.monotonic()
        with self._lock:
            self.requests[token] += 1
            bucket = self._buckets.setdefault(token, _Bucket(self.capacity, now))
            bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.refilled_at) * self.rate)
            bucket.refilled_at = now
            if bucket.tokens < 1:
                self.throttled[token] += 1
                return False
            bucket.tokens -= 1
            self._in_flight[token] += 1
            self.max_in_flight[token] = max(self.max_in_flight[token], self._in_flight[token])
            return True

    def _serve(self, request: BaseHTTPRequestHandler) -> None:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip() or "anonymous"
        if request.path.startswith("/hang"):
            with self._lock:
                self.hung += 1
            self._release.wait(30)
            self._answer(request, 200, {"hung": True})
            return
        if request.path.startswith("/refuse"):  # a platform telling the token to wait ten minutes
            with self._lock:
                self.requests[token] += 1
                self.throttled[token] += 1
            self._answer(request, 429, {"error": "slow down"}, {"Retry-After": "600"})
            return
        if not self._admit(token):
            self._answer(request, 429, {"error": "rate limit exceeded"}, {"Retry-After": "1"})
            return
        try:
            if self.latency:
                time.sleep(self.latency)
            with self._lock:
                self.answered[token] += 1
        finally:
            with self._lock:
                self._in_flight[token] -= 1
        self._answer(request, 200, {"data": [{"id": request.path}]})

    @staticmethod
    def _answer(request: BaseHTTPRequestHandler, status: int, body: object,
                headers: dict[str, str] | None = None) -> None:
        content = json.dumps(body).encode()
        try:
            request.send_response(status)
            request.send_header("Content-Type", "application/json")
            request.send_header("Content-Length", str(len(content)))
            for name, value in (headers or {}).items():
                request.send_header(name, value)
            request.end_headers()
            request.wfile.write(content)
        except OSError:  # the client is gone (killed)
            pass
