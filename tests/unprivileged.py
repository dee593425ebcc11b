"""Running a command as a user without write access, for tests of file modes.

Root ignores file modes, so when the tests run as root (as CI does) the command runs as
``nobody``, through util-linux's setpriv; otherwise as the current user, for whom the modes
already hold. The folders such a user works in must be enterable by it: pytest's own
temporary folders are private to root, :func:`open_folder` is not.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest
from cmflow_command import CMFLOW



@dataclass(frozen=True)
class Unprivileged:
    """A user without write access to the store: ``nobody`` when the tests run as root."""

    uid: int
    gid: int

    @property
    def prefix(self) -> list[str]:
        """What runs a command as this user (util-linux's setpriv, or a sudo-less ``su``-like
        switch done by Python's own ``subprocess`` where setpriv is missing)."""
        if self.uid == os.geteuid():
            return []
        if shutil.which("setpriv"):
            return ["setpriv", f"--reuid={self.uid}", f"--regid={self.gid}", "--clear-groups"]
        return [sys.executable, "-c", "import os, sys; os.setgroups([]); os.setgid(int(sys.argv[2])); "
                "os.setuid(int(sys.argv[1])); os.execvp(sys.argv[3], sys.argv[3:])", str(self.uid), str(self.gid)]


@pytest.fixture(scope="session")
def unprivileged() -> Unprivileged:
    """The user to run commands as, probed once a session (the probe starts cmflow as that user)."""
    if os.geteuid() != 0:
        return Unprivileged(os.getuid(), os.getgid())  # file modes already hold for this user
    import pwd

    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("running as root, and there is no 'nobody' user to read the store as")
    user = Unprivileged(nobody.pw_uid, nobody.pw_gid)
    probe = subprocess.run([*user.prefix, *CMFLOW, "--version"], capture_output=True, text=True, timeout=60)
    if probe.returncode != 0:
        pytest.skip(f"'nobody' cannot run this Python and cmflow (installed where only root may read?): "
                    f"{probe.stderr.strip()[:200]}")
    return user


@pytest.fixture
def open_folder() -> Iterator[Path]:
    """A folder every user may enter (pytest's own temporary folders are private to root)."""
    folder = Path(tempfile.mkdtemp(prefix="cmflow-store-faults-"))
    folder.chmod(0o755)
    yield folder
    for path in [folder, *folder.rglob("*")]:
        if path.is_dir():
            path.chmod(0o755)
    shutil.rmtree(folder)


