"""Processes on this host: whether one still runs, so that a lock or a claim whose holder is gone
(the store's run locks and outbox claims, the daemon's run processes) need not wait for its expiry."""

from __future__ import annotations

import os


def process_alive(pid: int) -> bool:
    """Whether a process with this id runs on this host (signal 0 checks without touching it):
    a lock or claim whose holder is gone need not wait for its expiry."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    try:  # Linux: a killed process not yet reaped by its parent (a zombie) runs no more
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return True
