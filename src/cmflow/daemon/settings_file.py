"""Which file is the daemon's settings file: told by its name alone, so that ``cmflow validate``
and the daemon's folder watch recognise one without building the settings' models."""

from __future__ import annotations

from pathlib import Path

SETTINGS_FILE_NAME = "cmflow-daemon.toml"
"""The settings file the daemon looks for in its folder; never read as a workflow."""


def is_daemon_settings(path: str | Path) -> bool:
    """Whether a file is a daemon settings file (by its name)."""
    return Path(path).name == SETTINGS_FILE_NAME
