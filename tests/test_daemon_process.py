"""``cmflow daemon`` as a real process: runs, hot reload, SIGTERM, kill -9 and restart, status.

Each test starts ``cmflow daemon DIR --store sqlite:///... --log-format json`` with a folder of
workflows written in its temporary directory, reads the daemon's JSON log lines from a file, and
checks the state store, the .eml files the ``email`` output writes and ``cmflow status``.

The workflows read the bundled demo posts for a fixed week and run ``every minute``: a daemon
runs the slot of the current minute at once when it starts, so no test waits for a schedule. Their
``threshold`` trigger always fires on engagement_rate_by_reach, so a workflow's first run queues
exactly one e-mail and later runs none (the alert stays firing): every message counts.

A run is kept "under way" by an ``rss`` source whose feed is served on loopback by a server that
holds the request until the test opens its gate: the test signals the daemon while the run is
provably mid-fetch, with no sleep and no timing assumption. Nothing asserts a duration; waits poll
the log with a generous deadline.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable

import pytest

from cmflow.store import open_store

CMFLOW_SCRIPT = Path(sys.executable).with_name("cmflow")
CMFLOW = [str(CMFLOW_SCRIPT)] if CMFLOW_SCRIPT.exists() else \
    [sys.executable, "-c", "from cmflow.cli import main; main()"]
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

FEED = """\
<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Lyon gourmand</title><link>https://lyon-gourmand.example/</link>
<description>Food news</description><language>fr-FR</language>
<item><title>Maison Lumière rouvre</title><link>https://lyon-gourmand.example/maison-lumiere/</link>
<guid>https://lyon-gourmand.example/maison-lumiere/</guid><pubDate>Wed, 18 Nov 2026 10:00:00 +0000</pubDate>
</item></channel></rss>
"""


def workflow_text(name: str, mail: Path, *, description: str = "", feed: str | None = None) -> str:
    """A daemon-ready workflow (no as_of, no [store]) whose threshold alert always fires."""
    rss = f'\n[[sources]]\nid = "press"\nplugin = "rss"\nfeeds = ["{feed}"]\nallow_private_network = true\n' if feed else ""
    return f"""\
[workflow]
name = "{name}"
description = "{description}"
timezone = "Europe/Paris"
period = "2026-11-16..2026-11-22"
compare = []
schedule = "every minute"

{META_SOURCE}{rss}
[[metrics]]
plugin = "engagement_rate_by_reach"
by = ["overall"]

[[triggers]]
id = "always"
plugin = "threshold"
metric = "engagement_rate_by_reach"
above = -1

[[outputs]]
plugin = "email"
transport = "file"
directory = "{mail / name}"
from_address = "cmflow <reports@example.org>"
to = ["social-team@example.org"]
"""


def write(path: Path, text: str) -> None:
    """Replace a file at once, as editors save: the daemon never reads half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)


# -- the daemon process ----------------------------------------------------------------------------
class DaemonProcess:
    """One ``cmflow daemon`` process (in a session of its own) and its JSON log lines."""

    def __init__(self, folder: Path, store_url: str, log: Path, cwd: Path, *options: str) -> None:
        self.log = log
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
        entries = []
        for line in self.log.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("{"):
                try:
                    entries.append(json.loads(line))
                except json.JSONDecodeError:
                    pass
        return entries

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
            value = found()
            if value:
                return value
            if not dead_ok and not self.alive():
                pytest.fail(f"the daemon exited ({self.process.returncode}) before {what}:\n{self.tail()}")
            time.sleep(0.1)
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
    connection = sqlite3.connect(store_url.removeprefix("sqlite:///"))
    try:
        return connection.execute("SELECT workflow, owner FROM run_locks").fetchall()
    finally:
        connection.close()


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
    done = subprocess.run([*CMFLOW, "status", str(folder), "--store", store_url], capture_output=True,
                          text=True, env={**os.environ, "COLUMNS": "250"}, timeout=DEADLINE)
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


# -- the tests -------------------------------------------------------------------------------------
def test_runs_every_workflow_and_picks_up_edits_invalid_files_and_removals(
        tmp_path, daemon_folder, store_url, start_daemon):
    mail = tmp_path / "mail"
    alpha, beta = daemon_folder / "alpha.toml", daemon_folder / "beta.toml"
    write(alpha, workflow_text("Alpha", mail))
    write(beta, workflow_text("Beta", mail))
    daemon = start_daemon()

    daemon.wait_for("daemon_started")
    for name in ("Alpha", "Beta"):
        started = daemon.wait_for("started", workflow=name)
        finished = daemon.wait_for("finished", workflow=name)
        assert finished["status"] == "ok", daemon.tail()
        assert finished["run"] == started["run"]
        recorded = [r for r in runs_of(store_url, name) if r.id == finished["run_id"]]
        assert [(r.status, r.slot) for r in recorded] == [("ok", parse_slot(started["slot"]))]
        assert len(emails(mail, name)) == 1

    write(alpha, workflow_text("Alpha", mail, description="Now with a description."))
    reloaded = daemon.wait_for("reloaded", workflow="Alpha")
    assert reloaded["file"] == str(alpha.resolve())

    write(beta, workflow_text("Beta", mail).replace('name = "Beta"', 'name = "Beta'))  # broken TOML
    invalid = daemon.wait_for("invalid", file=str(beta.resolve()))
    assert invalid["level"] == "error"
    assert "previous version keeps running" in invalid["message"]
    time.sleep(1.5)  # one more look at the folder: the broken file is reported once, not each time
    assert daemon.alive(), daemon.tail()
    assert len(daemon.events("invalid")) == 1
    rows = status_rows(status(daemon_folder, store_url))
    assert rows["beta.toml"][1] == "invalid", rows

    alpha.unlink()
    removed = daemon.wait_for("removed", workflow="Alpha")
    assert removed["file"] == str(alpha.resolve())
    assert daemon.alive(), daemon.tail()
    rows = status_rows(status(daemon_folder, store_url))
    assert "Alpha" not in rows and "beta.toml" in rows, rows

    daemon.signal(signal.SIGTERM)
    assert daemon.wait_exit() == 0, daemon.tail()


def test_an_invalid_edit_leaves_the_validated_version_running(tmp_path, daemon_folder, store_url, start_daemon,
                                                              gated_feed):
    """A run that starts after its file was broken runs the version the daemon validated.

    With one run at a time, Alpha's run (held by the feed) keeps Beta's queued; Beta's file is
    broken meanwhile; when Beta's run starts, it must not read the broken file.
    """
    mail = tmp_path / "mail"
    write(daemon_folder / "alpha.toml", workflow_text("Alpha", mail, feed=gated_feed.url))
    beta = daemon_folder / "beta.toml"
    write(beta, workflow_text("Beta", mail))
    daemon = start_daemon("--max-parallel", "1")
    daemon.wait_for("started", workflow="Alpha")
    gated_feed.wait_for_request(daemon)
    assert not daemon.events("started", workflow="Beta")  # queued behind Alpha

    write(beta, "[workflow\nname = 'Beta'\n")
    daemon.wait_for("invalid", file=str(beta.resolve()))
    gated_feed.open_gate()

    assert daemon.wait_for("finished", workflow="Alpha")["status"] == "ok", daemon.tail()
    finished = daemon.wait_for("finished", workflow="Beta")
    assert finished["status"] == "ok", daemon.tail()
    [run] = runs_of(store_url, "Beta")
    assert (run.id, run.status) == (finished["run_id"], "ok")
    assert len(emails(mail, "Beta")) == 1
    daemon.signal(signal.SIGTERM)
    assert daemon.wait_exit() == 0, daemon.tail()


def test_sigterm_exits_0_and_leaves_the_store_clean(tmp_path, daemon_folder, store_url, start_daemon):
    mail = tmp_path / "mail"
    write(daemon_folder / "alpha.toml", workflow_text("Alpha", mail))
    daemon = start_daemon()
    assert daemon.wait_for("finished", workflow="Alpha")["status"] == "ok", daemon.tail()
    with open_store(store_url) as store:
        [record] = store.daemons()
        assert (record.pid, record.stopped_at) == (daemon.pid, None)

    daemon.signal(signal.SIGTERM)

    assert daemon.wait_exit() == 0, daemon.tail()
    assert daemon.events("daemon_stopped"), daemon.tail()
    with open_store(store_url) as store:
        [record] = store.daemons()
        assert record.stopped_at is not None
        assert [r for r in store.runs(limit=100) if r.status == "running"] == []
        assert store.outbox(status="pending") == []
    assert run_locks(store_url) == []


def test_kill_9_of_the_daemon_mid_run_then_restart(tmp_path, daemon_folder, store_url, start_daemon,
                                                   gated_feed):
    """kill -9 of the daemon process alone while a run waits on its feed, then a restart.

    The run's own process survives its daemon (an orphan) and still holds the workflow's run
    lock. Proves: the restarted daemon does not start a second run of the workflow while the
    orphan's is under way (its attempt is refused as busy, and no run row is added); the orphan
    finishes the slot (ok, in history, once); the alert's e-mail is written once; and in the end
    no run is left running and no lock is held.
    """
    mail = tmp_path / "mail"
    write(daemon_folder / "slow.toml", workflow_text("Slow", mail, feed=gated_feed.url))
    first = start_daemon()
    started = first.wait_for("started", workflow="Slow")
    slot = parse_slot(started["slot"])
    gated_feed.wait_for_request(first)
    [under_way] = runs_of(store_url, "Slow")
    assert (under_way.status, under_way.slot) == ("running", slot)

    os.kill(first.pid, signal.SIGKILL)
    assert first.wait_exit() == -signal.SIGKILL
    assert not first.events("finished")

    second = start_daemon()
    busy = second.wait_for("finished", workflow="Slow", status="busy")
    assert [r.id for r in runs_of(store_url, "Slow")] == [under_way.id]  # the refused attempt left no row
    gated_feed.open_gate()  # the orphan's fetch completes
    second.wait_until(lambda: runs_of(store_url, "Slow")[-1].status != "running", "the orphan's run to end")
    # The slot the restarted daemon tried is now handled (or, in a new minute, runs once the lock is free).
    if busy["run"] != started["run"]:
        second.wait_for("finished", workflow="Slow", run=busy["run"], status="ok")

    second.signal(signal.SIGTERM)
    assert second.wait_exit() == 0, second.tail()
    history = runs_of(store_url, "Slow")
    assert [(r.id, r.status) for r in history if r.slot == slot] == [(under_way.id, "ok")], history
    assert [r for r in history if r.status == "running"] == []
    assert len(emails(mail, "Slow")) == 1
    assert len(email_writes([first, second], "Slow", mail)) == 1
    with open_store(store_url) as store:
        assert [(m.status, m.attempts) for m in store.outbox(workflow="Slow")] == [("delivered", 1)]
    assert run_locks(store_url) == []


def test_kill_9_of_daemon_and_run_mid_run_then_restart(tmp_path, daemon_folder, store_url, start_daemon,
                                                       gated_feed):
    """kill -9 of the daemon's whole process group (daemon, fork server, run) mid-run, as an
    OOM kill or a power cut would, then a restart.

    The killed run's row is left ``running`` and its lock names a dead process. Proves: the
    restarted daemon closes that row as ``interrupted`` (event ``recovered``), the slot is owed
    again and runs to ``ok`` (no lost run), the alert's e-mail is written exactly once (the
    killed run had queued nothing: no duplicate), and no lock or running row is left.
    """
    mail = tmp_path / "mail"
    write(daemon_folder / "slow.toml", workflow_text("Slow", mail, feed=gated_feed.url))
    early_in_the_minute()
    first = start_daemon()
    started = first.wait_for("started", workflow="Slow")
    slot = parse_slot(started["slot"])
    gated_feed.wait_for_request(first)
    [killed] = runs_of(store_url, "Slow")
    assert killed.status == "running"
    [(_, owner)] = run_locks(store_url)
    run_pid = int(owner.split(":")[1])  # host:pid:token

    first.kill_group()
    gated_feed.open_gate()
    # As after a reboot, or systemd's restart (which waits for the whole unit to be gone): the
    # killed run's process no longer exists when the daemon starts again.
    first.wait_until(lambda: not process_exists(run_pid), f"process {run_pid} to be gone", dead_ok=True)
    assert runs_of(store_url, "Slow")[0].status == "running"  # as the kill left it

    second = start_daemon()
    second.wait_for("recovered", workflow="Slow")
    finished = second.wait_for("finished", workflow="Slow", run=started["run"])
    assert finished["status"] == "ok", second.tail()

    second.signal(signal.SIGTERM)
    assert second.wait_exit() == 0, second.tail()
    history = {r.id: r for r in runs_of(store_url, "Slow")}
    assert history[killed.id].status == "interrupted"
    assert history[finished["run_id"]].status == "ok" and history[finished["run_id"]].slot == slot
    assert [r for r in history.values() if r.status == "running"] == []
    assert len(emails(mail, "Slow")) == 1
    assert len(email_writes([first, second], "Slow", mail)) == 1
    assert run_locks(store_url) == []


def test_sigterm_lets_the_run_under_way_finish(tmp_path, daemon_folder, store_url, start_daemon, gated_feed):
    mail = tmp_path / "mail"
    write(daemon_folder / "slow.toml", workflow_text("Slow", mail, feed=gated_feed.url))
    daemon = start_daemon()
    started = daemon.wait_for("started", workflow="Slow")
    gated_feed.wait_for_request(daemon)

    daemon.signal(signal.SIGTERM)
    daemon.wait_for("stopping")
    time.sleep(2)  # the run stays under way a while: the daemon waits for it, it does not cut it short
    assert daemon.alive(), daemon.tail()
    assert not daemon.events("finished")
    gated_feed.open_gate()

    assert daemon.wait_exit() == 0, daemon.tail()
    names = [e.get("event") for e in daemon.lines() if e.get("event") in ("finished", "daemon_stopped")]
    assert names == ["finished", "daemon_stopped"]
    finished = daemon.events("finished")[0]
    assert (finished["run"], finished["status"]) == (started["run"], "ok")
    [run] = runs_of(store_url, "Slow")
    assert (run.id, run.status, run.slot) == (finished["run_id"], "ok", parse_slot(started["slot"]))
    assert len(emails(mail, "Slow")) == 1
    assert run_locks(store_url) == []


def test_status_shows_each_workflow_and_whether_the_daemon_runs(tmp_path, daemon_folder, store_url,
                                                                 start_daemon):
    mail = tmp_path / "mail"
    write(daemon_folder / "alpha.toml", workflow_text("Alpha", mail))
    write(daemon_folder / "team" / "beta.toml", workflow_text("Beta", mail))  # subfolders too
    daemon = start_daemon()
    for name in ("Alpha", "Beta"):
        assert daemon.wait_for("finished", workflow=name)["status"] == "ok", daemon.tail()

    running = status(daemon_folder, store_url)
    header = running.splitlines()[0]
    assert "running" in header and "not running" not in header and f"process {daemon.pid}" in header
    rows = status_rows(running)
    for name in ("Alpha", "Beta"):
        assert rows[name][1] == "ok", running
        assert rows[name][2] == "every minute"
        assert rows[name][3].endswith(" ok")  # last run: its slot and status

    daemon.signal(signal.SIGTERM)
    assert daemon.wait_exit() == 0, daemon.tail()
    stopped = status(daemon_folder, store_url)
    assert "not running: stopped" in stopped.splitlines()[0]
    assert {status_rows(stopped)[name][1] for name in ("Alpha", "Beta")} == {"ok"}
