"""Shared fixtures. Tests never touch the user's state file or depend on stray plugins."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DEMO_WORKFLOW = REPO / "workflows" / "demo.toml"


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path_factory, monkeypatch):
    """Every test gets its own default store and validation cache, and an allow-list that loads
    built-ins only."""
    state = tmp_path_factory.mktemp("state")
    monkeypatch.setenv("CMFLOW_STORE", f"sqlite:///{state / 'state.db'}")
    monkeypatch.setenv("CMFLOW_LOAD_PLUGINS", "")
    monkeypatch.setenv("XDG_STATE_HOME", str(state))
    monkeypatch.setenv("CMFLOW_CACHE_DIR", str(state / "cache"))  # validate's cache, never the user's
    monkeypatch.delenv("CMFLOW_SHARED_BUDGETS", raising=False)  # budgets in Redis only where a test asks


@pytest.fixture
def store_url(request, tmp_path) -> str:
    """A fresh SQLite state file for one test; a test whose fixtures build on this one may run on
    PostgreSQL too with ``@pytest.mark.parametrize("store_url", ["sqlite", "postgresql"],
    indirect=True)`` (see ``any_store_url`` for tests that take the store URL themselves)."""
    if getattr(request, "param", "sqlite") == "postgresql":
        return request.getfixturevalue("postgres_url")
    return f"sqlite:///{tmp_path / 'state.db'}"


@pytest.fixture
def postgres_url() -> str:
    """A database of its own on the PostgreSQL test server (``CMFLOW_TEST_POSTGRES``), dropped
    after the test; skips (fails in CI) without a server. See tests/shared_servers.py."""
    from shared_servers import fresh_postgres_database

    url, drop = fresh_postgres_database()
    yield url
    drop()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_store_url(request, tmp_path) -> str:
    """A fresh, empty state store of each kind in turn: a SQLite file, then a database of its own
    on the PostgreSQL test server (see ``postgres_url``). Tests of the Store interface take this
    one, so one suite runs on both; tests about SQLite files take ``store_url``."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def redis_url() -> str:
    """The Redis test server's URL (``CMFLOW_TEST_REDIS``); skips (fails in CI) without one.
    Tests share the server: name keys and queues with :func:`shared_servers.unique_name`."""
    from shared_servers import REDIS_VARIABLE, server_url

    return server_url(REDIS_VARIABLE, "a Redis server")


@pytest.fixture
def write_workflow(tmp_path):
    """Write a workflow file from text and return its path."""

    def write(text: str, name: str = "workflow.toml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture
def smtp_server():
    """Start a real SMTP server on a free loopback port: ``smtp_server(mailbox=None, **aiosmtpd
    options)`` returns ``(mailbox, port)``; ``mailbox.received`` holds what arrived."""
    from aiosmtpd.controller import Controller  # the test extra: a real SMTP server on loopback

    from loopback_smtp import Mailbox, free_port

    controllers = []

    def start(mailbox: "Mailbox | None" = None, **options):
        mailbox = mailbox or Mailbox()
        port = free_port()
        controller = Controller(mailbox, hostname="127.0.0.1", port=port, **options)
        controller.start()
        controllers.append(controller)
        return mailbox, port

    yield start
    for controller in controllers:
        controller.stop()


REPORT_TOOLS = ("pdftoppm", "pdftotext", "chromium")
"""What the report tests read PDFs and open pages with. On a developer's machine a test that
needs a missing one skips; in CI (.ci/run installs them all) a missing one stops the run, so a
failed install can never pass for a green run of fewer tests."""


def pytest_configure(config: pytest.Config) -> None:
    """Write cmflow's bytecode (and the test helpers') once, before any worker starts.

    An editable install leaves ``src/`` without ``.pyc`` files, and where
    ``PYTHONDONTWRITEBYTECODE`` is set (as on the CI machines) no process writes them: every
    ``cmflow`` process a test starts, and every worker, would compile each module it imports
    from source again (about half a second of CPU per process). Python still reads bytecode
    written beforehand; ``compileall`` writes only what is missing or stale."""
    if hasattr(config, "workerinput"):  # a pytest-xdist worker: the controller did it
        return
    import compileall

    import cmflow

    for folder in (Path(cmflow.__file__).resolve().parent, REPO / "tests"):
        compileall.compile_dir(folder, quiet=2)
    if config.getoption("numprocesses", None):  # workers to come: they read what is written here
        _rewrite_test_modules_once(config)


_REWRITING_CONFIG = None
"""The controller's config, for the processes that rewrite test modules (forked: they share it)."""


def _rewrite_test_modules_once(config: pytest.Config) -> None:
    """Rewrite the test modules' asserts once, before the pytest-xdist workers start.

    Every worker collects every test module, and pytest rewrites a module's asserts as it
    imports it (parsing and compiling it again): about 18 s of CPU per worker for this suite,
    paid by each of the four workers on a fresh clone, and on every run where
    ``PYTHONDONTWRITEBYTECODE`` is set. Pytest keeps a rewritten module in ``__pycache__``
    (checked against the source's hash) and reads it back whatever that variable says, so the
    controller writes the missing ones once, on both cores, and every worker reads them. This
    uses pytest's own rewriting functions, which are not public API: if they change, the
    workers rewrite as before, only slower."""
    global _REWRITING_CONFIG
    try:
        from _pytest.assertion.rewrite import PYC_TAIL, _read_pyc, assertstate_key, get_cache_dir

        if assertstate_key not in config.stash:  # --assert=plain: nothing is rewritten
            return
        stale = [path for path in sorted((REPO / "tests").rglob("*.py"))
                 if (path.name.startswith("test_") or path.name == "conftest.py")
                 and _read_pyc(path, get_cache_dir(path) / (path.name[:-3] + PYC_TAIL)) is None]
        if not stale:
            return
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        _REWRITING_CONFIG = config
        with ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("fork")) as pool:
            list(pool.map(_rewrite_test_module, stale, chunksize=8))
    except Exception:  # pytest's internals moved: the workers rewrite the modules themselves
        return
    finally:
        _REWRITING_CONFIG = None


def _rewrite_test_module(path: Path) -> None:
    from _pytest.assertion.rewrite import PYC_TAIL, _rewrite_test, _write_pyc, assertstate_key, get_cache_dir, \
        try_makedirs

    cache = get_cache_dir(path)
    if try_makedirs(cache):
        source_hash, code = _rewrite_test(path, _REWRITING_CONFIG)
        _write_pyc(_REWRITING_CONFIG.stash[assertstate_key], code, source_hash, cache / (path.name[:-3] + PYC_TAIL))


def pytest_sessionstart(session: pytest.Session) -> None:
    if os.environ.get("CI"):
        missing = [tool for tool in REPORT_TOOLS if not shutil.which(tool)]
        if missing:
            raise pytest.UsageError(f"CI lacks {', '.join(missing)}: .ci/run installs poppler-utils and chromium")
