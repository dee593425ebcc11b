"""A real ``cmflow daemon`` process for tests: start it, read its JSON log, kill it; the workflows
it runs; a loopback feed that holds a run mid-fetch until the test opens its gate; and what the
store and the mail folder hold afterwards. Used by ``test_daemon_process.py`` and ``tests/faults/``.

The workflows read the bundled demo posts for a fixed week and run ``every minute``: a daemon
runs the slot of the current minute at once when it starts, so no test waits for a schedule. Their
``threshold`` trigger always fires on engagement_rate_by_reach, so a workflow's first run queues
exactly one e-mail and later runs none (the alert stays firing): every message counts.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable
from zoneinfo import ZoneInfo

import pytest

from cmflow.store import open_store
from cmflow_command import CMFLOW, cmflow_in_process

DEADLINE = 60.0
"""Seconds a wait for a log event may take before the test fails (a generous bound, not a check)."""
GATE_LIMIT = 45.0
"""Seconds the feed server holds a request at most, should a test never open its gate."""

# The demo's Meta export, mapped as in workflows/demo.toml.
META_SOURCE = """\
[[sources]]
id = "meta"
plugin = "csv"
path = "builtin:demo/meta_posts.csv"
record = "post"
datetime_format = "%m/%d/%Y %H:%M"
columns = { platform = "Platform", account = "Account", post_id = "Post ID", published_at = "Publish time", format = "Post type", text = "Description", url = "Permalink", reach = "Reach", impressions = "Views", likes = "Likes", comments = "Comments", shares = "Shares", saves = "Saves", clicks = "Link clicks", pillar = "Content pillar", campaign = "Campaign" }
values = { format = { "IG image" = "image", "IG carousel" = "carousel", "IG reel" = "reel", "Photo" = "image", "Video" = "video", "Link" = "link", "Text" = "text" } }
"""

ALWAYS_FIRES = """\
[[metrics]]
plugin = "engagement_rate_by_reach"
by = ["overall"]

[[triggers]]
id = "always"
plugin = "threshold"
metric = "engagement_rate_by_reach"
above = -1
"""
"""ERR overall and a threshold it always crosses: a workflow's first run queues exactly one
message, later runs none (the alert stays firing), so every message counts."""

FEED = """\
<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Lyon gourmand</title><link>https://lyon-gourmand.example/</link>
<description>Food news</description><language>fr-FR</language>
<item><title>Maison Lumière rouvre</title><link>https://lyon-gourmand.example/maison-lumiere/</link>
<guid>https://lyon-gourmand.example/maison-lumiere/</guid><pubDate>Wed, 18 Nov 2026 10:00:00 +0000</pubDate>
</item></channel></rss>
"""


def workflow_text(name: str, mail: Path, *, description: str = "", feed: str | None = None,
                  schedule: str = "every minute") -> str:
    """A daemon-ready workflow (no as_of, no [store]) whose threshold alert always fires."""
    rss = (f'\n[[sources]]\nid = "press"\nplugin = "rss"\nfeeds = ["{feed}"]\nallow_private_network = true\n'
           if feed else "")
    return f"""\
[workflow]
name = "{name}"
description = "{description}"
timezone = "Europe/Paris"
period = "2026-11-16..2026-11-22"
compare = []
schedule = "{schedule}"

{META_SOURCE}{rss}
{ALWAYS_FIRES}
[[outputs]]
plugin = "email"
transport = "file"
directory = "{mail / name}"
from_address = "cmflow <reports@example.org>"
to = ["social-team@example.org"]
"""


def smtp_workflow(name: str, port: int, *, extra: str = "", schedule: str | None = None,
                  feed: str | None = None) -> str:
    """A workflow whose always-firing alert is mailed to the SMTP server on ``port`` (nothing
    listening there: the run ends undelivered, the message stays pending): one run by hand, or
    with ``schedule`` a daemon's (its first run queues one message); ``feed`` adds an RSS source
    (e.g. the gated feed that holds the run); ``extra``: more lines of the e-mail output."""
    rss = (f'\n[[sources]]\nid = "press"\nplugin = "rss"\nfeeds = ["{feed}"]\nallow_private_network = true\n'
           if feed else "")
    scheduled = f'schedule = "{schedule}"\n' if schedule else ""
    return f"""\
[workflow]
name = "{name}"
timezone = "Europe/Paris"
period = "2026-11-16..2026-11-22"
compare = []
{scheduled}
{META_SOURCE}{rss}
{ALWAYS_FIRES}
[[outputs]]
plugin = "email"
from_address = "cmflow <reports@example.org>"
to = ["social-team@example.org"]
host = "127.0.0.1"
port = {port}
security = "none"
{extra}"""


def write(path: Path, text: str) -> None:
    """Replace a file at once, as editors save: the daemon never reads half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)


# -- the daemon process ----------------------------------------------------------------------------
class JsonLog:
    """A process's JSON log, read as it grows: each call parses only the lines written since the
    last (a wait polls a log of thousands of lines ten times a second); a half-written last line
    is read once it ends."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._read = 0
        self._entries: list[dict[str, Any]] = []

    def lines(self) -> list[dict[str, Any]]:
        """The JSON lines so far (tracebacks and a half-written last line skipped)."""
        with open(self.path, "rb") as file:
            file.seek(self._read)
            new = file.read()
        complete = new[:new.rfind(b"\n") + 1]
        self._read += len(complete)
        for line in complete.decode("utf-8", errors="replace").splitlines():
            if line.startswith("{"):
                try:
                    self._entries.append(json.loads(line))
                except json.JSONDecodeError:
                    pass
        return list(self._entries)


def poll_interval(began: float, shortest: float) -> float:
    """How long a wait sleeps after a check that began at ``began`` (``time.monotonic()``):
    ``shortest``, or as long as the check took, so that checking (a store opened, a log read)
    never takes more than half of the wait's time."""
    return max(shortest, time.monotonic() - began)


class DaemonProcess:
    """One ``cmflow daemon`` process (in a session of its own) and its JSON log lines."""

    def __init__(self, folder: Path, store_url: str, log: Path, cwd: Path, *options: str) -> None:
        self.log = log
        self._log = JsonLog(log)
        env = {**os.environ, "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}
        with open(log, "ab") as stderr:  # run processes inherit it: their lines land here too
            self.process = subprocess.Popen(
                [*CMFLOW, "daemon", str(folder), "--store", store_url, "--log-format", "json", *options],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr, cwd=cwd, env=env,
                start_new_session=True)

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def lines(self) -> list[dict[str, Any]]:
        """The JSON log lines so far (tracebacks and a half-written last line are skipped)."""
        return self._log.lines()

    def events(self, event: str, **fields: Any) -> list[dict[str, Any]]:
        return [e for e in self.lines() if e.get("event") == event
                and all(e.get(k) == v for k, v in fields.items())]

    def wait_for(self, event: str, *, dead_ok: bool = False, **fields: Any) -> dict[str, Any]:
        """The first log line with this event and these fields, once it is written."""
        return self.wait_until(lambda: next(iter(self.events(event, **fields)), None),
                               f"event {event!r} with {fields}", dead_ok=dead_ok)

    def wait_until(self, found: Callable[[], Any], what: str, *, dead_ok: bool = False) -> Any:
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline:
            began = time.monotonic()
            value = found()
            if value:
                return value
            if not dead_ok and not self.alive():
                pytest.fail(f"the daemon exited ({self.process.returncode}) before {what}:\n{self.tail()}")
            time.sleep(poll_interval(began, 0.1))
        pytest.fail(f"no {what} within {DEADLINE:.0f} s:\n{self.tail()}")

    def signal(self, number: int) -> None:
        self.process.send_signal(number)

    def wait_exit(self) -> int:
        try:
            return self.process.wait(timeout=DEADLINE)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the daemon did not exit within {DEADLINE:.0f} s:\n{self.tail()}")

    def kill_group(self) -> None:
        """SIGKILL the daemon's session: the daemon, its fork server and the runs under way."""
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


@pytest.fixture
def daemon_folder(tmp_path: Path) -> Path:
    """The watched folder, with settings that make reloads and busy retries quick."""
    folder = tmp_path / "workflows"
    folder.mkdir()
    (folder / "cmflow-daemon.toml").write_text('[daemon]\nreload_every = "1s"\nbusy_retry = "1s"\n',
                                               encoding="utf-8")
    return folder


@pytest.fixture
def start_daemon(tmp_path: Path, daemon_folder: Path, store_url: str):
    """``start_daemon(*options)`` starts a daemon on ``daemon_folder``; each gets its own log
    file. Whatever is still running at the end (a daemon, runs it left) is killed."""
    started: list[DaemonProcess] = []

    def start(*options: str) -> DaemonProcess:
        daemon = DaemonProcess(daemon_folder, store_url, tmp_path / f"daemon-{len(started) + 1}.log", tmp_path,
                               *options)
        started.append(daemon)
        return daemon

    yield start
    for daemon in started:
        daemon.kill_group()


# -- a feed that answers when the test says so -----------------------------------------------------
class GatedFeed(ThreadingHTTPServer):
    """A loopback RSS server that holds every request until :meth:`open_gate` (or GATE_LIMIT)."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _FeedHandler)
        self.gate = threading.Event()
        self.arrived = threading.Event()
        self.requests = 0
        self.url = f"http://127.0.0.1:{self.server_address[1]}/feed.xml"

    def open_gate(self) -> None:
        self.gate.set()

    def wait_for_request(self, daemon: DaemonProcess) -> None:
        daemon.wait_until(self.arrived.is_set, "a request to the feed")


class _FeedHandler(BaseHTTPRequestHandler):
    server: GatedFeed

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self.server.requests += 1
        self.server.arrived.set()
        self.server.gate.wait(GATE_LIMIT)
        body = FEED.encode("utf-8")
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:  # the run was killed while it waited
            pass

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def gated_feed():
    server = GatedFeed()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.open_gate()
    server.shutdown()
    server.server_close()


# -- reading the outcome ---------------------------------------------------------------------------
def runs_of(store_url: str, workflow: str) -> list:
    with open_store(store_url) as store:
        return store.runs(workflow, limit=100)


def run_locks(store_url: str) -> list[tuple]:
    """The workflows' run locks held in the store (workflow, owner). A live daemon's health check
    holds the ``cmflow-daemon`` lock for a moment at each check: not a workflow's, left out."""
    from store_rows import raw_rows

    from cmflow.daemon.settings import HEALTH_WORKFLOW_ID

    return [row for row in raw_rows(store_url, "SELECT workflow, owner FROM run_locks") if row[0] != HEALTH_WORKFLOW_ID]


def emails(mail: Path, workflow: str) -> list[Path]:
    return sorted((mail / workflow).glob("*.eml"))


def email_writes(daemons: list[DaemonProcess], workflow: str, mail: Path) -> list[dict[str, Any]]:
    """Log lines of the email output writing a message of this workflow (a rewrite of the same
    file would not change the count of .eml files; it shows here)."""
    folder = str(mail / workflow)
    return [e for d in daemons for e in d.lines()
            if e.get("logger") == "cmflow.outbox.email" and "written to" in e.get("message", "")
            and folder in e["message"]]


def status(folder: Path, store_url: str) -> str:
    """What ``cmflow status`` prints of the folder (run in this process: what it shows of the
    daemon process is read from the store and the process table, whoever asks)."""
    done = cmflow_in_process("status", folder, "--store", store_url, env={"COLUMNS": "250"})
    assert done.returncode == 0, done.stderr
    return done.stdout


def status_rows(output: str) -> dict[str, list[str]]:
    """The status table's rows by their first cell (workflow name, or file name when invalid)."""
    rows = {}
    for line in output.splitlines():
        if line.startswith("│"):
            cells = [cell.strip() for cell in line.strip("│").split("│")]
            rows[cells[0]] = cells
    return rows


def process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def parse_slot(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(timezone.utc)


def early_in_the_minute(latest_second: int = 45) -> None:
    """Wait for the next minute if this one is nearly over.

    A killed run's slot is owed again, but once the next minute's slot is due the default
    catch-up policy (``latest``) runs that one instead and records the interrupted one as
    superseded: a test that kills a run and expects its slot to run again after a restart
    must restart within the slot's minute.
    """
    second = datetime.now(timezone.utc).second
    if second > latest_second:
        time.sleep(60 - second + 0.5)


def daily_slot_this_minute(latest_second: int = 40) -> str:
    """A schedule whose one slot today is the current minute (after :func:`early_in_the_minute`):
    a daemon started now runs it at once, and no other slot comes due for a day.

    For the tests that kill or block a run and restart or wait: with ``every minute`` the whole
    test had to end within the slot's minute (a later slot would run too, or supersede it), which
    a loaded machine (tests in parallel) does not always allow; here only the daemon's start must.
    """
    early_in_the_minute(latest_second)
    return f"every day at {datetime.now(ZoneInfo('Europe/Paris')):%H:%M}"  # workflow_text's time zone
