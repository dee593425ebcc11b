"""A PostgreSQL server of a test's own, for fault tests that stop or restart it (the shared test
server is never stopped): a new cluster made with ``initdb`` in a temporary folder, served by
``pg_ctl`` on a free loopback port, run as user ``postgres`` when the tests run as root."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from loopback_smtp import free_port


def _bin_dir() -> Path | None:
    """Debian keeps the server programs per version (what is on PATH may be its wrapper)."""
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parts[-3]))
    if versions:
        return versions[-1].parent
    found = shutil.which("pg_ctl")
    return Path(found).parent if found else None


class PrivatePostgres:
    """One cluster: :meth:`start`, :meth:`stop`, :meth:`restart`, :meth:`remove`; ``url`` names
    its ``cmflow`` database (psycopg 3 driver, a superuser trusted on 127.0.0.1 only)."""

    def __init__(self) -> None:
        self.bin = _bin_dir()
        if self.bin is None:
            pytest.skip("needs PostgreSQL's server programs (initdb, pg_ctl): apt-get install postgresql")
        self.as_root = os.geteuid() == 0
        self.folder = Path(tempfile.mkdtemp(prefix="cmflow-private-pg-"))
        self.data = self.folder / "data"
        self.port = free_port()
        if self.as_root:
            shutil.chown(self.folder, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "cmflow", "--auth=trust", "--no-sync", "-E", "UTF8")
        with open(self.data / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write(f"\nlisten_addresses = '127.0.0.1'\nport = {self.port}\n"
                       f"unix_socket_directories = '{self.folder}'\nfsync = off\n")
        self.url = f"postgresql://cmflow@127.0.0.1:{self.port}/cmflow"

    def _run(self, program: str, *args: str) -> None:
        command = [str(self.bin / program), *args]
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, text=True, timeout=120)

    def start(self) -> "PrivatePostgres":
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.folder / "log"), "-w", "-t", "60", "start")
        return self

    def create_database(self) -> None:
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "cmflow", "cmflow")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop")

    def restart(self) -> None:
        """A fast restart: every connection is cut, and the server is back when this returns."""
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.folder / "log"), "-m", "fast", "-w", "-t", "60",
                  "restart")

    def remove(self) -> None:
        try:
            self.stop()
        except subprocess.CalledProcessError:
            pass  # not running
        shutil.rmtree(self.folder, ignore_errors=True)
