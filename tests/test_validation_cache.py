"""``cmflow validate`` remembers a valid file (cmflow.validation_cache): a remembered answer is
exactly what a full validation prints, and any change of anything validate read means a full
validation again. One test per kind of input: each fails if that input is left out of the key.

The full validations run in this process (``cmflow_in_process``); the remembered answer is asked
of :func:`recall` (what ``cmflow.console`` prints), in the same process so that ``sys.path`` and
the interpreter are the same. One test starts a process: what a fresh process imports can only be
seen in one.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import subprocess
import sys
import time
import types
from datetime import datetime, timezone
from pathlib import Path

import pytest

import cmflow.cli.validate as validate_command
import cmflow.validation_cache as validation_cache
from cmflow.plugins import registry
from cmflow.validation_cache import cache_folder, recall
from cmflow_command import cmflow_in_process

WORKFLOW = """\
[workflow]
name = "Test ${env:VC_NAME}"
period = "last_week"
timezone = "TIMEZONE"

[[clients]]
id = "acme"
name = "Acme"
accounts = ["acme"]
language = "en"
logo = "logo.svg"

[[sources]]
id = "posts"
plugin = "csv"
path = "posts.csv"

[[metrics]]
plugin = "posts_published"
"""
"""A valid workflow that reads a variable, a logo an option names, and (for its source) posts.csv."""


@pytest.fixture
def folder(tmp_path, monkeypatch) -> Path:
    """A folder holding a valid workflow.toml and its logo; VC_NAME set."""
    monkeypatch.setenv("VC_NAME", "vc-value-81")
    (tmp_path / "workflow.toml").write_text(WORKFLOW.replace("TIMEZONE", "Europe/Paris"), encoding="utf-8")
    (tmp_path / "logo.svg").write_text("<svg/>", encoding="utf-8")
    aged(tmp_path / "workflow.toml", tmp_path / "logo.svg")
    return tmp_path


def aged(*paths: Path) -> None:
    """Modified a minute ago: a file modified within a timestamp tick of its reading is not remembered."""
    for path in paths:
        os.utime(path, (time.time() - 60,) * 2)


def validated(folder: Path, *options: str, file: str = "workflow.toml") -> subprocess.CompletedProcess:
    done = cmflow_in_process("validate", *options, file, cwd=folder)
    assert done.returncode == 0, done.stderr
    return done


def recalled(folder: Path, file: str = "workflow.toml") -> str | None:
    with contextlib.chdir(folder):
        return recall(file)


def entries() -> list[Path]:
    folder = Path(cache_folder())
    return sorted(folder.glob("*.json")) if folder.exists() else []


def test_a_valid_file_is_remembered_as_validate_printed_it(folder):
    done = validated(folder)

    assert done.stdout == "✓ workflow.toml: Test vc-value-81 (1 source, 1 metric, 0 triggers, 0 outputs)\n"
    assert recalled(folder) + "\n" == done.stdout
    assert len(entries()) == 1
    kept = json.loads(entries()[0].read_text())
    assert "vc-value-81" not in json.dumps({**kept, "line": ""})  # a variable's value is kept only as validate printed it
    assert "VC_NAME" in kept["inputs"]["variables"]


def test_no_cache_remembers_nothing_and_forgets_what_was(folder):
    validated(folder)
    assert len(entries()) == 1

    validated(folder, "--no-cache")

    assert entries() == [] and recalled(folder) is None


def test_a_file_found_invalid_is_forgotten(folder, monkeypatch):
    validated(folder)
    assert len(entries()) == 1
    monkeypatch.delenv("VC_NAME")

    assert cmflow_in_process("validate", "workflow.toml", cwd=folder).returncode == 2
    assert entries() == []


def test_problems_are_never_remembered(folder, monkeypatch):
    monkeypatch.delenv("VC_NAME")

    done = cmflow_in_process("validate", "workflow.toml", cwd=folder)

    assert done.returncode == 2 and "environment variable VC_NAME is not set" in done.stderr
    assert entries() == [] and recalled(folder) is None


def test_a_file_under_the_python_prefix_outside_its_libraries_is_watched(folder, monkeypatch):
    """With a system Python the prefix is /usr: /usr/local, /usr/src/app, /usr/share are not libraries."""
    monkeypatch.setattr(sys, "prefix", str(folder.parent))
    monkeypatch.setattr(sys, "base_prefix", str(folder.parent))
    validated(folder)
    assert recalled(folder) is not None

    (folder / "logo.svg").write_text("<svg>other</svg>", encoding="utf-8")

    assert recalled(folder) is None


def test_a_pipe_is_never_remembered(folder):
    """/dev/fd, stdin, a fifo or a process substitution can say something else the next time, with
    nothing on disk telling so: it is never remembered."""
    reading, writing = os.pipe()
    try:
        os.write(writing, (folder / "workflow.toml").read_bytes().replace(b'"logo.svg"', f'"{folder}/logo.svg"'.encode()))
        os.close(writing)
        done = validated(folder, file=f"/dev/fd/{reading}")
        assert done.stdout.startswith(f"✓ /dev/fd/{reading}: Test vc-value-81")
        assert entries() == [] and recalled(folder, f"/dev/fd/{reading}") is None
    finally:
        os.close(reading)


def test_a_file_modified_just_before_its_reading_is_not_remembered(folder):
    """Racy: it may change again within the same timestamp tick, unseen."""
    (folder / "logo.svg").write_text("<svg/>", encoding="utf-8")

    validated(folder)

    assert entries() == [] and recalled(folder) is None


def test_a_file_changed_between_its_reading_and_the_saving_is_not_remembered(folder):
    """The state kept is the one at the reading: a change before the saving is not taken for the
    state the answer was made from (the modification time put back, as a copy keeping times does)."""
    logo = folder / "logo.svg"
    with contextlib.chdir(folder), validation_cache.Recorder() as recorded:
        line, expires = validate_command._validated("workflow.toml")
        logo.write_text("<svg>changed</svg>", encoding="utf-8")
        aged(logo)
        validation_cache.remember("workflow.toml", line, recorded, expires)

    assert entries() == [] and recalled(folder) is None


@pytest.mark.parametrize("look", [
    pytest.param(lambda descriptor: os.stat("logo.svg", dir_fd=descriptor), id="stat relative to it"),
    pytest.param(os.listdir, id="folder listed by it"),
])
def test_a_look_through_a_folder_descriptor_is_not_remembered(folder, look):
    """os.stat(name, dir_fd=...) and os.listdir(descriptor) name no path the cache could look at again."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        with contextlib.chdir(folder), validation_cache.Recorder() as recorded:
            line, expires = validate_command._validated("workflow.toml")
            look(descriptor)
            validation_cache.remember("workflow.toml", line, recorded, expires)
    finally:
        os.close(descriptor)

    assert entries() == [] and recalled(folder) is None


def test_one_recorder_at_a_time_and_none_active_after_its_end():
    with validation_cache.Recorder() as recorded:
        with pytest.raises(RuntimeError, match="one at a time"), validation_cache.Recorder():
            pass
        assert recorded.active
    assert not recorded.active
    with validation_cache.Recorder():  # free again
        pass


def edit_keeping_size(folder: Path) -> None:
    path = folder / "workflow.toml"
    path.write_text(path.read_text().replace('"last_week"', '"this_week"'), encoding="utf-8")


FILE_CHANGES = {
    "the workflow file edited (same size)": edit_keeping_size,
    "a file an option names removed": lambda folder: (folder / "logo.svg").unlink(),
    "a file an option names rewritten": lambda folder: (folder / "logo.svg").write_text("<svg></svg>"),
    "the workflow file made unreadable": lambda folder: (folder / "workflow.toml").chmod(0),
    "a .env beside it created": lambda folder: (folder / ".env").write_text("OTHER=1\n"),
    "a file its source reads created": lambda folder: (folder / "posts.csv").write_text("date\n"),
}


@pytest.mark.parametrize("change", FILE_CHANGES.values(), ids=FILE_CHANGES.keys())
def test_any_file_validate_looked_at_changing_means_a_full_validation(folder, change):
    validated(folder)
    assert recalled(folder) is not None

    change(folder)

    assert recalled(folder) is None


def test_a_variable_validate_read_changing_means_a_full_validation(folder, monkeypatch):
    validated(folder)
    monkeypatch.setenv("UNRELATED_TO_VALIDATE", "x")  # one it never read: still remembered
    assert recalled(folder) is not None

    monkeypatch.setenv("VC_NAME", "two")

    assert recalled(folder) is None
    assert validated(folder).stdout.startswith("✓ workflow.toml: Test two ")


def test_a_variable_read_through_environb_is_watched_by_its_name(folder, monkeypatch):
    """os.environb shares os.environ's class: its names are bytes, kept as str."""
    with contextlib.chdir(folder), validation_cache.Recorder() as recorded:
        line, expires = validate_command._validated("workflow.toml")
        os.environb.get(b"VC_BYTES")
        validation_cache.remember("workflow.toml", line, recorded, expires)
    assert recalled(folder) is not None

    monkeypatch.setenv("VC_BYTES", "set")

    assert recalled(folder) is None


def test_a_variable_validate_found_unset_being_set_means_a_full_validation(folder, monkeypatch):
    monkeypatch.delenv("CMFLOW_LOAD_PLUGINS")  # the plugin allow-list: read, and unset
    monkeypatch.setattr(registry, "_registry", None)  # read once per process: in this one, now
    validated(folder)
    assert recalled(folder) is not None

    monkeypatch.setenv("CMFLOW_LOAD_PLUGINS", "")

    assert recalled(folder) is None


@pytest.mark.parametrize("installed", ["a plugin distribution installed", "cmflow upgraded",
                                       "cmflow reinstalled at the same version"])
def test_a_distribution_installed_or_upgraded_means_a_full_validation(folder, tmp_path_factory, monkeypatch,
                                                                      installed):
    site = tmp_path_factory.mktemp("site-packages")
    (site / "cmflow-1.0.dist-info").mkdir()
    monkeypatch.syspath_prepend(str(site))
    validated(folder)
    assert recalled(folder) is not None

    if installed == "cmflow reinstalled at the same version":  # pip removes the folder and makes it again
        (site / "cmflow-1.0.dist-info").rmdir()
        time.sleep(0.01)  # a later ctime even where the clock ticks coarsely
        (site / "cmflow-1.0.dist-info").mkdir()
    elif installed == "cmflow upgraded":
        (site / "cmflow-1.0.dist-info").rename(site / "cmflow-1.1.dist-info")
    else:
        (site / "cmflow_tiktok_ads-0.3.dist-info").mkdir()

    assert recalled(folder) is None


def test_a_loaded_module_outside_the_libraries_edited_means_a_full_validation(folder, tmp_path_factory,
                                                                              monkeypatch):
    """cmflow or a plugin installed editable: its source is not in site-packages."""
    source = tmp_path_factory.mktemp("editable") / "vc_editable_plugin.py"
    source.write_text("NAME = 'one'\n")
    spec = importlib.util.spec_from_file_location("vc_editable_plugin", source)
    monkeypatch.setitem(sys.modules, "vc_editable_plugin", importlib.util.module_from_spec(spec))
    validated(folder)
    assert recalled(folder) is not None

    source.write_text("NAME = 'two'\n")

    assert recalled(folder) is None


@pytest.mark.parametrize("attribute", ["version", "executable"])
def test_another_python_means_a_full_validation(folder, monkeypatch, attribute):
    validated(folder)
    assert recalled(folder) is not None

    monkeypatch.setattr(sys, attribute, getattr(sys, attribute) + "-other")

    assert recalled(folder) is None


def test_the_same_file_name_from_another_folder_or_written_otherwise_is_another_question(folder, tmp_path_factory):
    validated(folder)
    twin = tmp_path_factory.mktemp("twin")  # the same content, but another file
    for name in ("workflow.toml", "logo.svg"):
        (twin / name).write_bytes((folder / name).read_bytes())

    assert recalled(twin) is None
    assert recalled(folder, "./workflow.toml") is None  # validate says the file as it was given
    assert recalled(folder) is not None


def test_a_remembered_answer_expires_at_the_next_midnight_of_the_workflows_time_zone(folder, monkeypatch):
    """Without as_of, a period is checked against today in the workflow's time zone."""
    (folder / "workflow.toml").write_text(WORKFLOW.replace("TIMEZONE", "Asia/Tokyo"), encoding="utf-8")
    aged(folder / "workflow.toml")
    noon = datetime(2026, 12, 7, 12, 0, tzinfo=timezone.utc)  # 21:00 in Tokyo, whose day ends at 15:00 UTC
    monkeypatch.setattr(validate_command, "_utc_now", lambda: noon)
    validated(folder)
    tokyo_midnight = datetime(2026, 12, 7, 15, 0, tzinfo=timezone.utc).timestamp()

    monkeypatch.setattr(validation_cache, "time", types.SimpleNamespace(time=lambda: tokyo_midnight - 1))
    assert recalled(folder) is not None
    monkeypatch.setattr(validation_cache, "time", types.SimpleNamespace(time=lambda: tokyo_midnight))
    assert recalled(folder) is None


def test_a_corrupt_entry_means_a_full_validation_that_replaces_it(folder):
    first = validated(folder)
    entries()[0].write_text('{"format": 1, "truncat')

    assert recalled(folder) is None
    assert validated(folder).stdout == first.stdout
    assert recalled(folder) + "\n" == first.stdout


def test_a_cache_folder_that_cannot_be_written_changes_nothing_but_speed(folder, monkeypatch, tmp_path_factory):
    blocker = tmp_path_factory.mktemp("cache") / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("CMFLOW_CACHE_DIR", str(blocker / "cache"))  # under a file: never a folder

    done = validated(folder)

    assert done.stdout.startswith("✓ workflow.toml: Test vc-value-81") and recalled(folder) is None


def test_the_console_answers_from_the_cache_and_falls_back_to_a_full_validation(folder, monkeypatch, capsys):
    validated(folder)
    monkeypatch.chdir(folder)
    from cmflow.console import main

    for arguments in (["validate", "workflow.toml"], ["validate", "--no-cache", "workflow.toml"]):
        monkeypatch.setattr(sys, "argv", ["cmflow", *arguments])
        with pytest.raises(SystemExit) as ended:
            main()
        assert ended.value.code == 0
        assert capsys.readouterr().out == "✓ workflow.toml: Test vc-value-81 (1 source, 1 metric, 0 triggers, 0 outputs)\n"
    (folder / "logo.svg").unlink()
    monkeypatch.setattr(sys, "argv", ["cmflow", "validate", "workflow.toml"])
    with pytest.raises(SystemExit) as ended:
        main()
    assert ended.value.code == 2 and "logo.svg does not exist" in capsys.readouterr().err


@pytest.mark.parametrize("stdout", ["ascii", "no buffer"])
def test_the_console_prints_a_remembered_answer_wherever_click_would(folder, monkeypatch, stdout):
    """An encoding that cannot show the line gets it replaced; a stream without bytes, the full path."""
    import io

    from cmflow.console import main

    validated(folder)
    monkeypatch.chdir(folder)
    stream = io.TextIOWrapper(io.BytesIO(), encoding="ascii") if stdout == "ascii" else io.StringIO()
    monkeypatch.setattr(sys, "stdout", stream)
    monkeypatch.setattr(sys, "argv", ["cmflow", "validate", "workflow.toml"])
    with pytest.raises(SystemExit) as ended:
        main()

    assert ended.value.code == 0
    if stdout == "ascii":
        stream.flush()
        assert stream.buffer.getvalue().decode("ascii") == "? workflow.toml: Test vc-value-81 (1 source, 1 metric, 0 triggers, 0 outputs)\n"
    else:
        assert "workflow.toml: Test vc-value-81" in stream.getvalue()


def test_a_remembered_answer_imports_neither_click_nor_pydantic_nor_any_plugin(folder, tmp_path):
    """A process of its own: what a fresh process imports can only be seen in one. It is given this
    process's sys.path, which the key holds (the folders' names stand for what is installed)."""
    expected = validated(folder).stdout
    listing = tmp_path / "modules.json"
    script = (f"import atexit, json, sys; sys.path[:] = {sys.path!r}; "
              f"atexit.register(lambda: open({str(listing)!r}, 'w').write(json.dumps(sorted(sys.modules)))); "
              f"sys.argv[1:] = ['validate', 'workflow.toml']; from cmflow.console import main; main()")

    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, encoding="utf-8",
                          cwd=folder, timeout=60)

    assert (done.returncode, done.stdout, done.stderr) == (0, expected, "")
    loaded = json.loads(listing.read_text())
    assert [name for name in loaded if name.split(".")[0] in ("click", "pydantic", "pydantic_core")
            or name.startswith(("cmflow.builtin", "cmflow.cli", "cmflow.workflow", "cmflow.plugins"))] == []


def test_what_the_first_of_several_files_read_once_counts_for_the_next(folder, monkeypatch):
    """The plugins' allow-list is read once per process, while the first file is validated."""
    (folder / "second.toml").write_text((folder / "workflow.toml").read_text(), encoding="utf-8")
    aged(folder / "second.toml")
    monkeypatch.setattr(registry, "_registry", None)
    done = cmflow_in_process("validate", "workflow.toml", "second.toml", cwd=folder)
    assert done.returncode == 0 and recalled(folder, "second.toml") is not None

    monkeypatch.setenv("CMFLOW_LOAD_PLUGINS", "cmflow-other")

    assert recalled(folder, "second.toml") is None
