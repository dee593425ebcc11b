"""Shared fixtures. Tests never touch the user's state file or depend on stray plugins."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DEMO_WORKFLOW = REPO / "workflows" / "demo.toml"


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path_factory, monkeypatch):
    """Every test gets its own default store and an allow-list that loads built-ins only."""
    state = tmp_path_factory.mktemp("state")
    monkeypatch.setenv("CMFLOW_STORE", f"sqlite:///{state / 'state.db'}")
    monkeypatch.setenv("CMFLOW_LOAD_PLUGINS", "")
    monkeypatch.setenv("XDG_STATE_HOME", str(state))


@pytest.fixture
def store_url(tmp_path) -> str:
    """A fresh SQLite state file for one test."""
    return f"sqlite:///{tmp_path / 'state.db'}"


@pytest.fixture
def write_workflow(tmp_path):
    """Write a workflow file from text and return its path."""

    def write(text: str, name: str = "workflow.toml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write
