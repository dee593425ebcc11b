"""A real HTTP server on loopback that replays scripted platform answers, for tests.

Sources take a base URL; point it at :attr:`ReplayServer.url` and script what each endpoint
answers (status, headers, JSON or raw bytes, an optional delay). The server records every
request it receives, so a test can check the paging parameters, headers and the number of
retries, and counts the requests in flight at once, so a test can check concurrency limits.
Public through :mod:`cmflow.testing` (``ReplayServer``, ``Reply``, the ``replay_server`` fixture).
"""

from __future__ import annotations

import json as jsonlib
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator, Mapping
from urllib.parse import parse_qs, urlsplit

_NO_JSON = object()


@dataclass
class Reply:
    """One scripted answer: ``json`` (serialised) or ``body`` (bytes or text), with headers."""

    status: int = 200
    json: Any = _NO_JSON
    body: bytes | str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    """Seconds the server waits before answering (real time: latency for benchmarks, timeouts)."""
    content_length: bool = True
    """``False`` sends the body without ``Content-Length`` (read until the connection closes)."""

    def payload(self) -> tuple[bytes, dict[str, str]]:
        headers = dict(self.headers)
        if self.json is not _NO_JSON:
            content = jsonlib.dumps(self.json).encode()
            if not any(name.lower() == "content-type" for name in headers):
                headers["Content-Type"] = "application/json; charset=utf-8"
        elif isinstance(self.body, str):
            content = self.body.encode()
        else:
            content = self.body or b""
        return content, headers

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Reply:
        """A reply from a fixture's dict: ``status``, ``headers``, ``json`` or ``body``, ``delay``
        (a ``note`` says where the shape comes from and is ignored)."""
        unknown = set(data) - {"status", "headers", "json", "body", "delay", "note"}
        if unknown:
            raise ValueError(f"unknown keys in a replay fixture: {', '.join(sorted(unknown))}")
        return cls(status=data.get("status", 200), json=data.get("json", _NO_JSON), body=data.get("body"),
                   headers=dict(data.get("headers", {})), delay=data.get("delay", 0.0))


def rebase_urls(data: Any, bases: Mapping[str, str]) -> Any:
    """``data`` with every string starting with a key of ``bases`` moved to its value:
    recorded ``https://graph.facebook.com/...`` next-page URLs then lead to the replay server."""
    if isinstance(data, str):
        for old, new in bases.items():
            data = data.replace(old, new)
        return data
    if isinstance(data, list):
        return [rebase_urls(item, bases) for item in data]
    if isinstance(data, dict):
        return {key: rebase_urls(value, bases) for key, value in data.items()}
    return data


def load_replies(path: str | Path, *, rebase: Mapping[str, str] | None = None) -> list[Reply]:
    """The replies of a JSON fixture file (one reply object, or a list of them)."""
    data = jsonlib.loads(Path(path).read_text(encoding="utf-8"))
    if rebase:
        data = rebase_urls(data, rebase)
    return [Reply.from_dict(item) for item in (data if isinstance(data, list) else [data])]


@dataclass(frozen=True)
class RecordedRequest:
    """A request the server received."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    """Header names in lower case."""
    body: bytes

    @property
    def params(self) -> dict[str, str]:
        """The query, first value of each parameter."""
        return {name: values[0] for name, values in self.query.items()}

    def json(self) -> Any:
        return jsonlib.loads(self.body)


@dataclass
class Route:
    """Scripted replies for one method and path (and query parameters, if given)."""

    method: str
    path: str
    query: dict[str, str]
    replies: list[Reply]
    repeat: bool = False
    """Keep giving the last reply once the others are used."""
    served: int = 0

    def matches(self, method: str, path: str, query: dict[str, list[str]]) -> bool:
        return (self.method == method and self.path == path
                and all(query.get(name, [None])[0] == value for name, value in self.query.items()))

    @property
    def exhausted(self) -> bool:
        return self.served >= len(self.replies) and not self.repeat

    def next_reply(self) -> Reply:
        reply = self.replies[min(self.served, len(self.replies) - 1)]
        self.served += 1
        return reply


class ReplayServer:
    """A threaded HTTP server on 127.0.0.1 (a free port, or ``port``) serving scripted replies.

    Use it as a context manager (or the ``replay_server`` pytest fixture)::

        with ReplayServer() as server:
            server.add("GET", "/v25.0/17841405822304914/media", Reply(json={"data": []}))
            ...  # point the source's base_url at server.url
            assert server.requests[0].params["fields"] == "id,caption"

    A request no route answers gets HTTP 418 with a message naming it, and is listed in
    :attr:`unmatched`. Every answer has a ``Date`` header, as a real server's, from :attr:`clock`
    (the real time by default; the ``replay_server`` fixture gives it ``vtime``'s clock when the
    test uses that fixture too): the client reads the resets the replies give against it.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.clock = time.time
        """Epoch seconds: the server's clock, which its ``Date`` headers show (a reply's own
        ``Date`` header wins, e.g. a server whose clock is off)."""
        self.routes: list[Route] = []
        self.requests: list[RecordedRequest] = []
        self.unmatched: list[RecordedRequest] = []
        self.in_flight = 0
        self.max_in_flight = 0
        """Most requests the server was answering at once."""
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, port), _handler_for(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``: the base URL to give the source."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def add(self, method: str, path: str, *replies: Reply, query: Mapping[str, str] | None = None,
            repeat: bool = False) -> Route:
        """Script ``replies`` (served in order) for ``method path``; ``query`` narrows the match to
        requests with those parameter values (the most specific route wins)."""
        if not replies:
            raise ValueError("add() needs at least one reply")
        route = Route(method.upper(), path, dict(query or {}), list(replies), repeat)
        with self._lock:
            self.routes.append(route)
        return route

    def pending(self) -> list[Route]:
        """Routes with replies nobody asked for yet."""
        return [r for r in self.routes if r.served < len(r.replies)]

    def start(self) -> ReplayServer:
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        name="replay-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> ReplayServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _answer(self, request: RecordedRequest) -> Reply:
        with self._lock:
            self.requests.append(request)
            candidates = [r for r in self.routes
                          if r.matches(request.method, request.path, request.query) and not r.exhausted]
            if not candidates:
                self.unmatched.append(request)
                scripted = ", ".join(f"{r.method} {r.path}" for r in self.routes) or "nothing"
                return Reply(418, json={"error": f"replay server: no reply scripted for {request.method} "
                                                 f"{request.path} {request.params} (scripted: {scripted})"})
            route = max(candidates, key=lambda r: len(r.query))  # max keeps the first of equals
            return route.next_reply()


def _handler_for(server: ReplayServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def date_time_string(self, timestamp: float | None = None) -> str:
            """The ``Date`` header send_response adds: the server's clock, or a reply's own Date."""
            told = getattr(self, "_reply_date", None)
            return told if told is not None else super().date_time_string(server.clock())
        timeout = 10  # idle keep-alive connections close on their own
        # Headers and body go out in two writes: without TCP_NODELAY the body waits for the
        # client's delayed ACK (about 40 ms), which would swamp Reply.delay in benchmarks.
        disable_nagle_algorithm = True

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            recorded = RecordedRequest(self.command, parts.path, parse_qs(parts.query, keep_blank_values=True),
                                       {k.lower(): v for k, v in self.headers.items()}, body)
            with server._lock:
                server.in_flight += 1
                server.max_in_flight = max(server.max_in_flight, server.in_flight)
            try:
                reply = server._answer(recorded)
                if reply.delay:
                    time.sleep(reply.delay)
                content, headers = reply.payload()
                self._reply_date = next((v for k, v in headers.items() if k.lower() == "date"), None)
                self.send_response(reply.status)
                for name, value in headers.items():
                    if name.lower() != "date":
                        self.send_header(name, value)
                if reply.content_length:
                    self.send_header("Content-Length", str(len(content)))
                else:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(content)
            except (BrokenPipeError, ConnectionResetError):  # the client stopped reading (size cap)
                self.close_connection = True
            finally:
                with server._lock:
                    server.in_flight -= 1

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve

        def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read server.requests
            pass

    return Handler


class VirtualTime:
    """A clock and a sleep for ``make_client(clock=..., sleep=...)``: sleeping moves the clock
    at once, so a test of a one-hour back-off takes microseconds. ``sleeps`` lists every wait."""

    def __init__(self, start: datetime = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)) -> None:
        self.now = start.timestamp()
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def clock(self) -> float:
        """Epoch seconds."""
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.now += seconds


try:
    import pytest
except ImportError:  # pragma: no cover - the server works without pytest
    replay_server = None
else:
    @pytest.fixture
    def replay_server(request) -> Iterator[ReplayServer]:
        """A started :class:`ReplayServer`, stopped after the test; in a test that also uses a
        ``vtime`` fixture (a :class:`VirtualTime`), its ``Date`` headers follow that clock, as
        the client's do."""
        with ReplayServer() as server:
            if "vtime" in request.fixturenames:
                server.clock = request.getfixturevalue("vtime").clock
            yield server
