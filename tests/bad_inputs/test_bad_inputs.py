"""The bad-input corpus: one folder per case, run by this one parametrised test.

Each folder under ``tests/bad_inputs/`` holds the files a user would have (a workflow, its data,
a .env …) and a ``case.toml`` saying what running cmflow on them must print::

    description = "A misspelt timezone in a CSV source"
    args = ["run", "workflow.toml"]       # the command line after `cmflow` (default shown)
    exit = 2                              # the exit code
    expect = ["workflow.toml", "sources[0].timezone", "Europe/Paris"]  # phrases, any order
    absent = ["pydantic"]                 # phrases that must not appear (besides the defaults)
    [env]                                 # environment variables for the run
    SMTP_PASSWORD = "s3cret"

The command runs in a copy of the folder (so relative paths work and nothing of the corpus is
changed) with a fresh state store: for ``cmflow run`` on the default store, a copy of an empty store
migrated once per session (creating one costs a run about 0.07 s of CPU and up to a second of disk
syncs; tests/test_store.py tests the creation itself); other commands find no store at all. Whatever the case, the output must fit one screen and hold
no traceback and no secret from ``[env]`` whose name says it is one. Adding a case needs no code.
"""

from __future__ import annotations

import logging
import os
import shutil
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from cmflow.cli import main
from cmflow.foundation.secrets import redactor
from cmflow.store import open_store

CORPUS = Path(__file__).resolve().parent
CASES = sorted(p.parent for p in CORPUS.glob("*/case.toml"))
ONE_SCREEN = 40
"""Lines of output a bad input may take at most."""
NEVER = ["Traceback", "site-packages", "pydantic_core", "For further information visit",
         "OperationalError", "OverflowError", "KeyError", "ValueError", "TypeError", "AttributeError",
         "UnicodeDecodeError", "IsADirectoryError", "PermissionError", "ComputeError"]
"""What a user must never see: a traceback or an exception class leaking from a library."""
SECRET_NAMES = ("PASSWORD", "TOKEN", "SECRET", "KEY")


def load_case(folder: Path) -> dict:
    with open(folder / "case.toml", "rb") as f:
        case = tomllib.load(f)
    unknown = set(case) - {"description", "args", "exit", "expect", "absent", "env"}
    assert not unknown, f"{folder.name}/case.toml: unknown keys {sorted(unknown)}"
    assert case.get("description"), f"{folder.name}/case.toml: say what the case is in `description`"
    assert case.get("expect"), f"{folder.name}/case.toml: list the phrases the error must hold in `expect`"
    return case


@pytest.fixture(scope="session")
def empty_store_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite store file as ``cmflow run`` creates it (migrated, nothing recorded), made once."""
    path = tmp_path_factory.mktemp("empty-store") / "state.db"
    open_store(f"sqlite:///{path}").close()
    assert not path.with_name("state.db-wal").exists()  # all of it in the file copied
    return path


def test_the_corpus_is_not_empty() -> None:
    assert len(CASES) >= 1


@pytest.mark.parametrize("folder", CASES, ids=[c.name for c in CASES])
def test_bad_input(folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, empty_store_file: Path) -> None:
    case = load_case(folder)
    args = case.get("args", ["run", "workflow.toml"])
    work = tmp_path / folder.name
    shutil.copytree(folder, work, symlinks=True)
    (work / "case.toml").unlink()
    monkeypatch.chdir(work)
    # Secrets an earlier case made known would be masked here too, hiding a leak of this one's.
    monkeypatch.setattr(redactor, "_secrets", set())
    # As in a fresh process: the command's logging setup writes to the output read below (log
    # lines and any logged traceback count as what the user sees).
    monkeypatch.setattr(logging.root, "handlers", [])
    env = {"COLUMNS": "200", "NO_COLOR": "1", **{k: str(v) for k, v in case.get("env", {}).items()}}
    if args[0] == "run" and "--store" not in args and "CMFLOW_STORE" not in env:
        # at the default store's path (conftest.py's CMFLOW_STORE); a workflow's own [store] url is left alone
        shutil.copy(empty_store_file, os.environ["CMFLOW_STORE"].removeprefix("sqlite:///"))
    result = CliRunner().invoke(main, args, env=env, prog_name="cmflow")
    output = result.output
    shown = f"--- output of cmflow {' '.join(args)} ---\n{output}"
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"{folder.name}: uncaught {type(result.exception).__name__}\n{shown}") from result.exception
    assert result.exit_code == case["exit"], f"{folder.name}: exit {result.exit_code}, expected {case['exit']}\n{shown}"
    for phrase in case["expect"]:
        assert phrase.lower() in output.lower(), f"{folder.name}: {phrase!r} missing\n{shown}"
    for phrase in [*NEVER, *case.get("absent", [])]:
        assert phrase not in output, f"{folder.name}: {phrase!r} must not be shown\n{shown}"
    for name, value in case.get("env", {}).items():
        if any(word in name.upper() for word in SECRET_NAMES):
            assert str(value) not in output, f"{folder.name}: the value of {name} leaked\n{shown}"
    assert len(output.splitlines()) <= ONE_SCREEN, f"{folder.name}: more than one screen\n{shown}"
