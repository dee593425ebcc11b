"""The network guard (cmflow.http.guard): every URL cmflow fetches for a workflow reaches public
internet addresses only, unless the workflow allows private networks, checked on the address
actually connected to. Real loopback servers; names resolved by an injected resolver, so no
traffic ever goes to a non-loopback address."""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from cmflow import FetchContext, Period
from cmflow.builtin.sources import rss as rss_module
from cmflow.builtin.sources.rss import RssOptions, RssSource
from cmflow.foundation.errors import WorkflowInvalid
from cmflow.http import AddressNotAllowed, PlatformUnavailable, RetryPolicy, make_client
from cmflow.http.guard import NetworkPolicy, address_kind, host_problem
from cmflow.testing import ReplayServer, Reply, registered_plugin, replay_server  # noqa: F401 (fixture)
from cmflow.workflow import load_workflow

FEED = """<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
<item><guid>https://x.example/1</guid><title>Maison Lumi\u00e8re</title>
<pubDate>Thu, 19 Nov 2026 10:00:00 GMT</pubDate></item></channel></rss>"""
WINDOW = (datetime(2026, 11, 16, tzinfo=timezone.utc), datetime(2026, 11, 23, tzinfo=timezone.utc))
LAST_WEEK = Period(date(2026, 11, 16), date(2026, 11, 22), "UTC")
ONE_ATTEMPT = RetryPolicy(max_attempts=1)


# -- what each address is ----------------------------------------------------------------------
@pytest.mark.parametrize("address, kind", [
    ("8.8.8.8", None), ("2606:4700:4700::1111", None), ("2002:0808:0808::1", None),  # 6to4 of a public one
    ("127.0.0.1", "loopback"), ("127.255.0.9", "loopback"), ("::1", "loopback"),
    ("10.0.0.5", "private"), ("172.16.0.1", "private"), ("192.168.1.10", "private"),
    ("169.254.169.254", "link-local"), ("169.254.0.1", "link-local"), ("fe80::1", "link-local"),
    ("fe80::1%2", "link-local"), ("fd00:ec2::254", "unique-local"), ("fd12:3456::1", "unique-local"),
    ("224.0.0.251", "multicast"), ("ff02::1", "multicast"),
    ("0.0.0.0", "unspecified"), ("::", "unspecified"),
    ("100.64.0.1", "reserved"), ("100.100.100.200", "reserved"), ("255.255.255.255", "private"),
    ("::ffff:127.0.0.1", "loopback"), ("::ffff:169.254.169.254", "link-local"),
    ("64:ff9b::a00:1", "private"), ("64:ff9b::7f00:1", "loopback"), ("64:ff9b:1::a9fe:a9fe", "link-local"),
    ("2002:7f00:1::", "loopback"), ("2002:a00:5::1", "private"), ("::7f00:1", "loopback"),
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "private"),  # Teredo, to 192.0.2.45 (documentation)
])
def test_every_address_class_is_named(address, kind):
    assert address_kind(ipaddress.ip_address(address)) == kind


@pytest.mark.parametrize("host, said", [
    ("localhost", "loopback name"), ("LOCALHOST.", "loopback name"), ("app.localhost", "loopback name"),
    ("metadata.google.internal", "cloud metadata"), ("169.254.169.254", "(a cloud metadata service)"),
    ("127.1", "127.0.0.1 is a loopback"), ("2130706433", "127.0.0.1 is a loopback"),
    ("0x7f000001", "127.0.0.1 is a loopback"), ("[::1]", "::1 is a loopback"), ("0.0.0.0", "unspecified"),
    ("[::ffff:10.0.0.5]", "a private address"),
])
def test_validation_refuses_what_needs_no_dns(host, said):
    assert said in host_problem(host)


@pytest.mark.parametrize("host", ["example.com", "8.8.8.8", "feeds.example.org", "[2606:4700::1]"])
def test_validation_leaves_public_hosts_and_names_to_the_connection(host):
    assert host_problem(host) is None


# -- a real loopback server --------------------------------------------------------------------
def test_a_loopback_server_is_refused_by_default_and_reached_when_allowed(replay_server):
    replay_server.add("GET", "/a", Reply(json={"ok": True}), repeat=True)
    with make_client(retry=ONE_ATTEMPT) as http:
        with pytest.raises(AddressNotAllowed) as refused:
            http.session("other-api", base_url=replay_server.url).get_json("/a")
        assert "refused to connect to 127.0.0.1: 127.0.0.1 is a loopback address" in str(refused.value)
        assert "allow_private_network = true" in str(refused.value)
        assert replay_server.requests == []  # nothing was sent

        allowed = http.session("other-api", base_url=replay_server.url, allow_private_network=True)
        assert allowed.get_json("/a") == {"ok": True}
        # The allowed session's open connection is not reused by a guarded one.
        with pytest.raises(AddressNotAllowed):
            http.session("other-api", base_url=replay_server.url).get_json("/a")
    assert len(replay_server.requests) == 1


def test_a_refusal_is_never_retried(replay_server):
    sleeps: list[float] = []
    with make_client(sleep=sleeps.append) as http:
        with pytest.raises(AddressNotAllowed):
            http.session("other-api", base_url=replay_server.url).get_json("/a")
    assert sleeps == []


# -- redirects: every hop is checked -----------------------------------------------------------
@dataclass(frozen=True)
class OnlyPort(NetworkPolicy):
    """Loopback on one port only: stands in for "a public server" that redirects inside."""

    port: int = 0

    def refusal(self, address, port):
        if address == ipaddress.ip_address("127.0.0.1") and port == self.port:
            return None
        return "not the allowed test server"


def test_a_redirect_to_a_refused_address_is_refused():
    with ReplayServer() as allowed, ReplayServer() as inside:
        inside.add("GET", "/latest/meta-data", Reply(body="secret-role"), repeat=True)
        allowed.add("GET", "/feed", Reply(302, headers={"Location": f"{inside.url}/latest/meta-data"}))
        with make_client(network=OnlyPort(port=int(allowed.url.rsplit(":", 1)[1])), follow_redirects=True,
                         retry=ONE_ATTEMPT) as http:
            with pytest.raises(AddressNotAllowed, match="not the allowed test server"):
                http.session("other-api", base_url=allowed.url).request("GET", "/feed")
        assert [r.path for r in allowed.requests] == ["/feed"]  # the first hop was allowed and sent
        assert inside.requests == []  # the second never left


# -- DNS: the check is on the address connected to ---------------------------------------------
class RebindingResolver:
    """A DNS server under an attacker's control: a public address for the first lookup, then
    loopback (where the test server listens)."""

    def __init__(self, *answers: list[str]) -> None:
        self.answers = list(answers)
        self.lookups: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.lookups.append(host)
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


def test_a_name_resolving_to_loopback_is_refused_at_connect_time(replay_server):
    port = replay_server.url.rsplit(":", 1)[1]
    resolver = RebindingResolver(["127.0.0.1"])
    with make_client(resolver=resolver, retry=ONE_ATTEMPT) as http:
        with pytest.raises(AddressNotAllowed, match="feeds.example.org resolves to 127.0.0.1, a loopback address"):
            http.session("other-api", base_url=f"http://feeds.example.org:{port}").get_json("/a")
    assert resolver.lookups == ["feeds.example.org"] and replay_server.requests == []


def test_a_name_with_one_private_address_among_public_ones_is_refused(replay_server):
    port = replay_server.url.rsplit(":", 1)[1]
    with make_client(resolver=RebindingResolver(["93.184.216.34", "10.0.0.5"]), retry=ONE_ATTEMPT) as http:
        with pytest.raises(AddressNotAllowed, match="resolves to 10.0.0.5, a private address"):
            http.session("other-api", base_url=f"http://mixed.example.org:{port}").get_json("/a")


def test_dns_rebinding_gains_nothing(replay_server):
    """The name is resolved once per connection, by the guard, and the connection goes to the
    address it checked: a lookup made elsewhere beforehand (public) changes nothing."""
    port = replay_server.url.rsplit(":", 1)[1]
    resolver = RebindingResolver(["93.184.216.34"], ["127.0.0.1"])
    assert resolver("rebind.example.org", int(port)) == ["93.184.216.34"]  # a check before the request
    with make_client(resolver=resolver, retry=ONE_ATTEMPT) as http:
        with pytest.raises(AddressNotAllowed, match="rebind.example.org resolves to 127.0.0.1"):
            http.session("other-api", base_url=f"http://rebind.example.org:{port}").get_json("/a")
    assert replay_server.requests == []


def test_the_peer_address_of_the_socket_is_checked_too(replay_server):
    """A policy that allows the address the guard resolved but not the one the socket reached
    (as if the connect went elsewhere) is refused after connecting, before any byte is sent."""

    @dataclass(frozen=True)
    class AllowOnceThenRefuse(NetworkPolicy):
        calls: list = None  # type: ignore[assignment]

        def refusal(self, address, port):
            self.calls.append(str(address))
            return None if len(self.calls) == 1 else "the peer is not what was checked"

        __hash__ = object.__hash__

    policy = AllowOnceThenRefuse(calls=[])
    with make_client(network=policy, retry=ONE_ATTEMPT) as http:
        with pytest.raises(AddressNotAllowed, match="the peer is not what was checked"):
            http.session("other-api", base_url=replay_server.url).get_json("/a")
    assert policy.calls == ["127.0.0.1", "127.0.0.1"] and replay_server.requests == []


def test_a_name_that_does_not_resolve_is_worth_another_try():
    def no_such_host(host, port):
        raise OSError(-2, "Name or service not known")

    with make_client(resolver=no_such_host, retry=ONE_ATTEMPT) as http:
        with pytest.raises(PlatformUnavailable, match="does not resolve"):
            http.session("other-api", base_url="https://nowhere.example.org").get_json("/a")


# -- the rss source ----------------------------------------------------------------------------
def fetch_feed(url: str, client, **options):
    source = RssSource(RssOptions(feeds=[url], **options), entry_id="press")
    ctx = FetchContext(*WINDOW, [LAST_WEEK], Path("."), logging.getLogger("test.guard"), http_client=lambda: client)
    return [table.conformed().to_dicts() for table in source.fetch(ctx)]


def test_an_rss_feed_on_a_name_resolving_inside_is_refused_unless_allowed(replay_server):
    replay_server.add("GET", "/feed.xml", Reply(body=FEED, headers={"Content-Type": "application/rss+xml"}),
                      repeat=True)
    url = f"http://intranet.example.org:{replay_server.url.rsplit(':', 1)[1]}/feed.xml"
    with make_client(resolver=RebindingResolver(["127.0.0.1"]), retry=ONE_ATTEMPT) as http:
        with pytest.raises(AddressNotAllowed) as refused:
            fetch_feed(url, http)
        assert str(refused.value).startswith("source 'press' (RSS/Atom): refused to connect to intranet.example.org")
        assert replay_server.requests == []
        [mentions] = fetch_feed(url, http, allow_private_network=True)
    assert [m["mention_id"] for m in mentions] == ["https://x.example/1"]


def workflow(tmp_path: Path, source: str) -> Path:
    path = tmp_path / "veille.toml"
    path.write_text('[workflow]\nname = "Veille"\ntimezone = "UTC"\nperiod = "last_week"\n\n'
                    f'[[sources]]\nid = "press"\nplugin = "rss"\n{source}\n'
                    '[[metrics]]\nplugin = "mentions"\nby = ["platform"]\n\n'
                    '[[outputs]]\nplugin = "console"\n', encoding="utf-8")
    return path


@pytest.mark.parametrize("feed", ["http://169.254.169.254/latest/meta-data", "http://localhost:8080/feed",
                                  "http://[::1]/", "http://10.0.0.5/feed", "https://127.1/feed"])
def test_a_literal_private_feed_is_refused_at_validation(feed, tmp_path):
    with registered_plugin(rss_module):
        with pytest.raises(WorkflowInvalid) as invalid:
            load_workflow(workflow(tmp_path, f'feeds = ["https://blog.example.com/feed", "{feed}"]'))
        [problem] = invalid.value.problems
        assert problem.path == "sources[0].feeds[1]"
        assert "cmflow refuses to connect to it" in problem.message
        assert "set allow_private_network = true" in problem.message
        allowed = load_workflow(workflow(tmp_path, f'feeds = ["{feed}"]\nallow_private_network = true'))
        assert allowed.sources[0].plugin.options.allow_private_network is True


# -- through a proxy the environment names ---------------------------------------------------------
class ForwardProxy:
    """A loopback HTTP proxy that answers every request itself and records the URL asked for."""

    def __init__(self) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        asked = self.asked = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                asked.append(self.path)  # a proxy is asked for the absolute URL
                body = b'{"via": "proxy"}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def forward_proxy():
    proxy = ForwardProxy()
    yield proxy
    proxy.close()


def test_requests_go_through_the_proxy_the_environment_names(forward_proxy, monkeypatch):
    """Behind an agency's proxy: the proxy connects, after the guard checked what the name resolves to."""
    monkeypatch.setenv("HTTP_PROXY", forward_proxy.url)
    resolver = RebindingResolver(["93.184.216.34"])
    with make_client(resolver=resolver, retry=ONE_ATTEMPT) as http:
        answer = http.session("other-api", base_url="http://feeds.example.org").get_json("/a")
    assert answer == {"via": "proxy"} and forward_proxy.asked == ["http://feeds.example.org/a"]
    assert resolver.lookups == ["feeds.example.org"]


def test_behind_a_proxy_a_name_resolving_inside_is_still_refused(forward_proxy, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", forward_proxy.url)
    with make_client(resolver=RebindingResolver(["10.0.0.5"]), retry=ONE_ATTEMPT) as http:
        with pytest.raises(AddressNotAllowed, match="intranet.example.org resolves to 10.0.0.5, a private address"):
            http.session("other-api", base_url="http://intranet.example.org").get_json("/a")
    with make_client(retry=ONE_ATTEMPT) as http:  # a literal address: no lookup at all
        with pytest.raises(AddressNotAllowed, match="169.254.169.254 is a link-local address"):
            http.session("other-api", base_url="http://169.254.169.254").get_json("/latest/meta-data")
    assert forward_proxy.asked == []


def test_no_proxy_hosts_are_reached_directly():
    import httpx

    from cmflow.http.transport import GuardedTransport

    transport = GuardedTransport(proxies={"https": "proxy.agency.example:3128", "no": "intranet.example,.corp"})
    assert transport.proxy_for(httpx.URL("https://api.example.org/x")) == "http://proxy.agency.example:3128"
    assert transport.proxy_for(httpx.URL("https://intranet.example/x")) is None
    assert transport.proxy_for(httpx.URL("https://wiki.corp/x")) is None
    assert transport.proxy_for(httpx.URL("http://api.example.org/x")) is None  # no proxy named for http
