"""Fixtures for the example plugins' tests: only cmflow's public API (`cmflow`, `cmflow.testing`)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cmflow.testing import registered_plugin

import cmflow_example
from cmflow_example import markdown_summary, mastodon_archive


@pytest.fixture(autouse=True, scope="session")
def builtins_only():
    """Load cmflow's built-ins and no installed plugin, so that an installed copy of this
    package cannot clash with the one each test registers."""
    saved = os.environ.get("CMFLOW_LOAD_PLUGINS")
    os.environ["CMFLOW_LOAD_PLUGINS"] = ""
    yield
    if saved is None:
        del os.environ["CMFLOW_LOAD_PLUGINS"]
    else:
        os.environ["CMFLOW_LOAD_PLUGINS"] = saved


@pytest.fixture
def example_plugins():
    """Both example plugins registered for one test, as if the package were installed."""
    with registered_plugin(mastodon_archive, package="cmflow-example", version=cmflow_example.__version__), \
            registered_plugin(markdown_summary, package="cmflow-example", version=cmflow_example.__version__):
        yield


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'state.db'}"


@pytest.fixture
def sample_outbox() -> Path:
    return cmflow_example.sample_outbox()
