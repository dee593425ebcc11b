"""The state store locked by another process, or readable only: real processes, counted.

A *locker* is a separate Python process that opens the store's SQLite file and holds
``BEGIN EXCLUSIVE`` (a writer's lock: WAL readers go on) or, with ``locking_mode=EXCLUSIVE``, a
lock that keeps readers out too, until the test tells it to let go. The commands it refuses run
in the test's process (:func:`cmflow`, click's runner: the lock is the other process's), except
the run stopped mid-delivery, a process of its own whose output is read as it comes. The stores
wait ``?timeout=1`` s for a lock (a URL setting users have too), so a refused command ends quickly.

The read-only store is read by an unprivileged user (root ignores file modes): the commands
run as ``nobody`` (any uid without write access would do), in one process of that user's
(:func:`cmflow_as`), and the test then checks, as the owner, that not a byte of the store changed.

What is counted: the runs, measurements and outbox messages in the store before and after,
the messages the loopback SMTP server received, and what each command printed (a clear
sentence naming the store, never a traceback). Waits poll with a generous deadline; nothing
asserts a duration.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import queue
import shutil
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from cmflow_command import CMFLOW
from daemon_process import smtp_workflow
from loopback_smtp import Mailbox
from store_locker import locker  # noqa: F401  (fixture)
from unprivileged import Unprivileged, open_folder, unprivileged  # noqa: F401  (fixtures)

DEADLINE = 60.0
"""Seconds a wait may take before the test fails (a generous bound, not a check)."""
BUSY = "busy (locked by another process) after 1 s"
NEVER = ("Traceback", "OperationalError", "DatabaseError", "sqlalche.me", "the run crashed")
READING_COMMANDS = (["history"], ["alerts", "--all"], ["outbox", "--status", "all"], ["silence"])


# -- processes --------------------------------------------------------------------------------------
class Lines:
    """The standard error of a running process, line by line, as it comes."""

    def __init__(self, process: subprocess.Popen) -> None:
        self.process, self.lines, self._new = process, [], queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stderr:
            self.lines.append(line)
            self._new.put(line)
        self._new.put(None)

    def wait_for(self, phrase: str) -> str:
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline:
            try:
                line = self._new.get(timeout=deadline - time.monotonic())
            except queue.Empty:
                break
            if line is None:
                break
            if phrase in line:
                return line
        raise AssertionError(f"{phrase!r} never came; the process said:\n{self.text}")

    @property
    def text(self) -> str:
        return "".join(self.lines)


def cmflow(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """Run one cmflow command to its end in this process, from ``cwd``; its output (standard
    output and error, as a terminal shows them) in ``.stdout``. An exception it lets escape is
    raised here, where a process would print a traceback."""
    from click.testing import CliRunner

    from cmflow.cli import main

    with contextlib.chdir(cwd):
        result = CliRunner().invoke(main, args, env=_settings(cwd), catch_exceptions=False, prog_name="cmflow")
    return subprocess.CompletedProcess(["cmflow", *args], result.exit_code, result.output)


_COMMANDS_IN_ONE_PROCESS = """\
import json, sys, traceback
from click.testing import CliRunner
from cmflow.cli import main
answers = []
for args in json.loads(sys.argv[1]):
    result = CliRunner().invoke(main, args, prog_name="cmflow")
    output = result.output
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        output += "".join(traceback.format_exception(result.exception))
    answers.append([result.exit_code, output])
print(json.dumps(answers))
"""


def cmflow_as(user: Unprivileged, *commands: list[str], cwd: Path) -> list[subprocess.CompletedProcess]:
    """Run cmflow commands one after the other as ``user``, in one process of that user's (what
    makes the store read-only to them; a process each would add only its start-up); each one's
    output in ``.stdout``, with the traceback of an exception it let escape."""
    process = subprocess.run([*user.prefix, sys.executable, "-c", _COMMANDS_IN_ONE_PROCESS, json.dumps(commands)],
                             cwd=cwd, env=_environment(cwd), stdin=subprocess.DEVNULL, capture_output=True,
                             text=True, timeout=DEADLINE)
    assert process.returncode == 0, process.stdout + process.stderr
    return [subprocess.CompletedProcess(["cmflow", *args], code, output)
            for args, (code, output) in zip(commands, json.loads(process.stdout), strict=True)]


def _settings(home: Path) -> dict[str, str]:
    return {"HOME": str(home), "XDG_STATE_HOME": str(home / "state"), "COLUMNS": "250",
            "NO_COLOR": "1", "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}


def _environment(home: Path) -> dict[str, str]:
    return {**os.environ, **_settings(home)}


def assert_clear(result: subprocess.CompletedProcess, *phrases: str) -> None:
    for phrase in NEVER:
        assert phrase not in result.stdout, result.stdout
    for phrase in phrases:
        assert phrase in result.stdout, result.stdout


# -- the store, counted -------------------------------------------------------------------------------
def counts(path: Path) -> dict[str, object]:
    """What the store holds, read directly with sqlite3."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {
            "runs": connection.execute("SELECT id, status FROM runs ORDER BY id").fetchall(),
            "measurements": connection.execute("SELECT count(*) FROM measurements").fetchone()[0],
            "outbox": connection.execute("SELECT id, status FROM outbox ORDER BY id").fetchall(),
            "alerts": connection.execute("SELECT count(*) FROM alerts").fetchone()[0],
        }
    finally:
        connection.close()


@dataclass
class GatedMailbox(Mailbox):
    """A loopback SMTP server's handler that holds each message at DATA until its gate opens."""

    arrived: threading.Event = field(default_factory=threading.Event)
    gate: threading.Event = field(default_factory=threading.Event)

    async def handle_DATA(self, server, session, envelope):
        self.arrived.set()
        deadline = time.monotonic() + DEADLINE
        while not self.gate.is_set() and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def workspace(tmp_path: Path, smtp_server) -> tuple[Path, Path, GatedMailbox]:
    """A folder with the workflow (mailing the loopback server) and a store where it ran once."""
    mailbox = GatedMailbox()
    mailbox.gate.set()
    _, port = smtp_server(mailbox)
    (tmp_path / "workflow.toml").write_text(smtp_workflow("Store faults", port), encoding="utf-8")
    store = tmp_path / "state.db"
    first = cmflow("run", "workflow.toml", "--store", f"sqlite:///{store}", cwd=tmp_path)
    assert first.returncode == 0, first.stdout
    assert len(mailbox.received) == 1
    return tmp_path, store, mailbox


# -- a store locked by another process -------------------------------------------------------------------
def test_a_run_refused_by_a_locked_store_says_busy_runs_nothing_and_loses_nothing(workspace, locker) -> None:
    folder, store, mailbox = workspace
    before = counts(store)
    held = locker(store)
    run = cmflow("run", "workflow.toml", "--store", f"sqlite:///{store}?timeout=1", cwd=folder)
    assert run.returncode == 1
    assert_clear(run, BUSY, str(store), "?timeout=SECONDS")
    # A WAL store: the writer's lock does not keep readers out.
    history = cmflow("history", "--store", f"sqlite:///{store}?timeout=1", cwd=folder)
    assert history.returncode == 0, history.stdout
    assert "Store faults" in history.stdout and " ok " in history.stdout
    held.release()
    assert counts(store) == before  # no run row left "running", nothing half-written
    assert len(mailbox.received) == 1  # the refused run sent nothing


def test_reading_commands_on_a_store_locked_against_readers_say_busy(workspace, locker) -> None:
    folder, store, _ = workspace
    before = counts(store)
    url = f"sqlite:///{store}?timeout=1"
    held = locker(store, "readers-too")
    for args in [*READING_COMMANDS, ["status", str(folder)]]:
        result = cmflow(*args, "--store", url, cwd=folder)
        assert result.returncode == 1, (args, result.stdout)
        assert_clear(result, BUSY, f"sqlite:///{store}")
    held.release()
    assert counts(store) == before


def test_a_run_whose_store_locks_mid_delivery_keeps_the_cause_in_its_history(workspace, locker) -> None:
    """The lock is taken while the run is provably sending (the SMTP server holds the message):
    recording the delivery then fails. The run ends undelivered, saying why, the message stays
    queued (sent again later: at most one duplicate, never lost) and `cmflow history` keeps the
    cause once the lock is gone."""
    folder, _, mailbox = workspace
    store = folder / "fresh.db"  # the workflow's first run there: its alert is new, one message
    mailbox.arrived.clear()
    mailbox.gate.clear()
    url = f"sqlite:///{store}?timeout=1"
    run = subprocess.Popen([*CMFLOW, "run", "workflow.toml", "--store", url],
                           cwd=folder, env=_environment(folder), stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lines = Lines(run)
    try:
        assert mailbox.arrived.wait(DEADLINE), lines.text
        held = locker(store)
        mailbox.gate.set()  # the server takes the message; the run now waits for the store
        lines.wait_for("busy (locked by another process)")
        held.release()
        assert run.wait(DEADLINE) == 3, lines.text
    finally:
        if run.poll() is None:
            run.kill()
    output = subprocess.CompletedProcess(run.args, run.returncode, lines.text)
    assert_clear(output, BUSY, "output email")
    assert len(mailbox.received) == 2  # the first run's message, and this one's, once
    after = counts(store)
    assert [status for _, status in after["runs"]] == ["undelivered"]
    assert [status for _, status in after["outbox"]] == ["pending"]  # kept, to be sent again
    history = cmflow("history", "--store", url, cwd=folder)
    assert history.returncode == 0
    assert_clear(history, "undelivered")
    # The error column wraps where the store's path (a tmp folder's, of any length) puts it.
    assert "busy (locked by another process)" in " ".join(history.stdout.replace("│", " ").split())


# -- a read-only store, read by an unprivileged user ---------------------------------------------------------
def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def files(folder: Path) -> dict[str, str]:
    """The folder's files and their digests; of a -shm file (an index readers may mark, rebuilt
    from the -wal file) only its presence."""
    return {path.name: "" if path.name.endswith("-shm") else digest(path)
            for path in folder.iterdir() if path.is_file()}


@pytest.mark.parametrize("writer_open", [False, True], ids=["at-rest", "while-a-writer-holds-it-open"])
def test_a_read_only_store_serves_every_reading_command_and_is_left_untouched(
        workspace, open_folder: Path, unprivileged: Unprivileged, writer_open: bool) -> None:
    """At rest, the store is one file (no -wal, no -shm) in a folder the reader may not write:
    SQLite cannot set up WAL reading there, so the file is read as it is. While its owner holds
    it open with changes still in the -wal file, the reader sees them through the -shm file."""
    folder, source, _ = workspace
    shutil.copy(folder / "workflow.toml", open_folder / "workflow.toml")
    store = open_folder / "state.db"
    copy = sqlite3.connect(source)
    copy.execute(f"VACUUM INTO '{store}'")
    copy.close()
    copy = sqlite3.connect(store)
    copy.execute("PRAGMA journal_mode=WAL")  # as cmflow keeps it
    copy.close()
    owner = None
    if writer_open:  # the owner's connection: a run row that lives in the -wal file only
        owner = sqlite3.connect(store, isolation_level=None)
        owner.execute("PRAGMA journal_mode=WAL")
        owner.execute("PRAGMA wal_autocheckpoint=0")
        owner.execute("INSERT INTO runs (workflow, workflow_file, status, started_at, period_start, period_end, "
                      "dry_run, stats) VALUES ('Only in the WAL', 'x.toml', 'ok', '2026-11-23 08:00:00', "
                      "'2026-11-16', '2026-11-22', 0, '{}')")
    try:
        for path in open_folder.iterdir():
            path.chmod(0o444 if path.is_file() else 0o555)
        open_folder.chmod(0o555)
        rows = counts(store)
        before = files(open_folder)
        url = f"sqlite:///{store}"
        reading = [*READING_COMMANDS, ["status", str(open_folder)]]
        *results, alerts, run = cmflow_as(unprivileged, *([*args, "--store", url] for args in reading),
                                          ["alerts", "--store", url], ["run", "workflow.toml", "--store", url],
                                          cwd=open_folder)
        for args, result in zip(reading, results):
            assert result.returncode == 0, (args, result.stdout)
            assert_clear(result)
        [history] = [result for args, result in zip(reading, results) if args == ["history"]]
        assert "Store faults" in history.stdout
        assert ("Only in the WAL" in history.stdout) is writer_open
        assert "firing" in alerts.stdout
        assert run.returncode == 1
        assert_clear(run, "cannot write to the state store", "read-only for this user", "need no write access")
        assert files(open_folder) == before  # no file created, none changed
        assert counts(store) == rows
    finally:
        if owner is not None:
            owner.close()


def test_an_older_read_only_store_is_not_migrated_but_said_so(open_folder: Path, unprivileged: Unprivileged) -> None:
    from cmflow.store.migrations import LATEST_VERSION
    from cmflow.store.sql import SqlStore

    store = open_folder / "state.db"
    SqlStore(f"sqlite:///{store}", migrate_to=LATEST_VERSION - 1).close()
    store.chmod(0o444)
    open_folder.chmod(0o555)
    before = digest(store)
    [result] = cmflow_as(unprivileged, ["history", "--store", f"sqlite:///{store}"], cwd=open_folder)
    assert result.returncode == 1
    assert_clear(result, f"schema version {LATEST_VERSION - 1}, older than this cmflow", "as the store's owner")
    assert digest(store) == before
    assert stat.S_IMODE(store.stat().st_mode) == 0o444
