"""Plugins are known from their entry points and imported only when used.

cmflow's entry points are named ``kind.name``, one per plugin, so the registry knows every
built-in plugin without importing its module; these tests keep that metadata honest (each module
registers exactly the plugins its entry points name) and check that ``cmflow validate`` imports
the plugin modules its file names and no other.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest

from cmflow.plugins.registry import BUILTIN_PACKAGE, ENTRY_POINT_GROUP, UnknownPlugin, get_registry, load_registry
from cmflow.workflow import load_workflow

REPO = Path(__file__).resolve().parent.parent
DEMO_WORKFLOW = REPO / "workflows" / "demo.toml"

HEAVY_LIBRARIES = ("polars", "numpy", "pyarrow", "sqlalchemy", "httpx", "jinja2", "rich", "babel", "holidays",
                   "dateutil")
"""What a run needs and checking a workflow file does not (holidays: validation reads its country
codes from its registry's source; importing it costs about a tenth of `cmflow validate`)."""
RUN_MODULES = ("cmflow.runner", "cmflow.stages", "cmflow.delivery", "cmflow.presentation", "cmflow.http.client",
               "cmflow.store.sql", "cmflow.builtin.reports.document", "cmflow.presentation.language",
               "cmflow.builtin.reports.charts", "cmflow.builtin.reports.pdf", "cmflow.builtin.reports.workbook")
"""cmflow's run machinery: the stages, delivery, the HTTP kit's client, the store's SQL, the
report document and its charts, language (Babel), PDF and workbook."""


def builtin_entry_points() -> dict[str, str]:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["entry-points"]["cmflow"]


def test_each_builtin_module_registers_exactly_the_plugins_its_entry_points_name():
    declared: dict[str, set[str]] = {}
    for name, target in builtin_entry_points().items():
        declared.setdefault(target, set()).add(name)
    registry = get_registry(reload=True)
    registry.load_all()

    registered: dict[str, set[str]] = {}
    for info in registry:
        registered.setdefault(info.cls.__module__, set()).add(f"{info.kind}.{info.name}")
    assert registered == declared
    assert registry.problems == []


def test_the_installed_metadata_is_the_one_in_pyproject():
    """An editable install made before pyproject.toml changed still lists the old entry points:
    reinstall (pip install -e .) when this fails."""
    installed = {ep.name: ep.value for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)
                 if ep.dist is not None and ep.dist.metadata["Name"] == BUILTIN_PACKAGE}
    assert installed == builtin_entry_points()


def test_names_and_suggestions_come_without_importing_any_plugin():
    registry = load_registry()

    assert "posts_published" in registry.names("metric") and "slack" in registry.names("output")
    assert registry.plugins == {} and registry.problems == []
    with pytest.raises(UnknownPlugin, match="did you mean 'posts_published'"):
        registry.get("metric", "post_published")
    assert registry.plugins == {}


def test_asking_for_a_plugin_imports_its_module_only():
    registry = load_registry()

    info = registry.get("metric", "engagement_rate_by_reach")

    assert info.cls.__module__ == builtin_entry_points()["metric.engagement_rate_by_reach"]
    assert {i.cls.__module__ for i in registry.plugins.values()} == {info.cls.__module__}
    assert {(i.kind, i.name) for i in registry.plugins.values()} == {  # the rest of its module
        ("metric", "engagement_rate_by_reach"), ("metric", "engagement_rate_by_followers"),
        ("metric", "engagement_rate_by_impressions")}


def test_validate_imports_only_the_plugin_modules_its_file_names(tmp_path):
    listing = tmp_path / "modules.json"
    record = (f"import atexit, json, sys; atexit.register(lambda: open({str(listing)!r}, 'w')"
              f".write(json.dumps(sorted(sys.modules)))); ")
    checked = subprocess.run([sys.executable, "-c", record + "from cmflow.cli import main; main()",
                              "validate", str(DEMO_WORKFLOW)], capture_output=True, text=True, cwd=REPO)
    assert checked.returncode == 0, checked.stderr
    loaded = set(json.loads(listing.read_text()))

    workflow = load_workflow(DEMO_WORKFLOW)
    named = {entry.info.cls.__module__ for kind in ("source", "classifier", "metric", "trigger", "output")
             for entry in workflow.entries(kind)}
    plugin_modules = set(builtin_entry_points().values())
    assert loaded & plugin_modules == named
    assert [library for library in HEAVY_LIBRARIES if library in loaded] == []
    run_machinery = [name for name in loaded
                     if name in RUN_MODULES or name.startswith(tuple(f"{module}." for module in RUN_MODULES))]
    assert sorted(run_machinery) == []


# -- what each command imports -----------------------------------------------------------------
TINY_WORKFLOW = """\
[workflow]
name = "tiny"
timezone = "Europe/Paris"
period = "last_week"
as_of = "2026-11-24"

[store]
url = "sqlite:///state.db"

[[sources]]
id = "meta"
plugin = "export"
path = "builtin:demo/exports/*/*-posts.csv"

[[metrics]]
plugin = "posts_published"
"""
"""A workflow with a store and no output: one file source, one metric."""
HTTP_CLIENT = ("httpx", "httpcore", "tenacity", "cmflow.http.client", "cmflow.http.transport")
"""The HTTP kit's client: only a command that makes a request (a platform source, an output) needs it."""
DOCUMENT_LIBRARIES = ("jinja2", "babel", "weasyprint", "openpyxl", "xlsxwriter", "fastexcel", "numpy", "pyarrow")
"""What rendering a report (HTML, PDF, workbook, charts) needs."""
COMMANDS = {
    # command (run in a folder holding workflow.toml after one run), modules it must not import
    "inspect": (("inspect", str(REPO / "tests" / "fixtures" / "exports" / "meta-facebook-posts.csv")),
                (*HTTP_CLIENT, *DOCUMENT_LIBRARIES, "rich", "sqlalchemy", "cmflow.store.sql",
                 "cmflow.builtin.outputs", "cmflow.builtin.metrics", "cmflow.builtin.triggers")),
    "run": (("run", "workflow.toml"), (*HTTP_CLIENT, *DOCUMENT_LIBRARIES, "rich")),
    "history": (("history", "workflow.toml"), (*HTTP_CLIENT, *DOCUMENT_LIBRARIES, "polars")),
    "outbox flush": (("outbox", "flush", "--store", "sqlite:///state.db"),
                     (*HTTP_CLIENT, *DOCUMENT_LIBRARIES, "polars", "rich", "cmflow.builtin")),
}
"""Each command's forbidden modules: a module named, or any module under it (``cmflow.builtin``:
every plugin module). A start-up cost that comes back (an import moved to a module's top, a
plugin module importing the client for an annotation) fails here, naming what imported it."""


def modules_loaded(arguments: tuple[str, ...], cwd: Path, listing: Path) -> set[str]:
    """``sys.modules`` when ``cmflow ARGUMENTS`` exits (the command must succeed)."""
    record = (f"import atexit, json, sys; atexit.register(lambda: open({str(listing)!r}, 'w')"
              f".write(json.dumps(sorted(sys.modules)))); ")
    done = subprocess.run([sys.executable, "-c", record + "from cmflow.cli import main; main()", *arguments],
                          capture_output=True, text=True, cwd=cwd)
    assert done.returncode == 0, done.stdout + done.stderr
    return set(json.loads(listing.read_text()))


@pytest.fixture(scope="module")
def tiny_workflow(tmp_path_factory) -> Path:
    """A folder with workflow.toml, run once (so that history has a run to show): in this
    process, whose modules no test reads (each command's test starts a process of its own)."""
    from cmflow_command import cmflow_in_process

    folder = tmp_path_factory.mktemp("tiny")
    (folder / "workflow.toml").write_text(TINY_WORKFLOW, encoding="utf-8")
    done = cmflow_in_process("run", "workflow.toml", cwd=folder, env={"CMFLOW_LOAD_PLUGINS": ""})
    assert done.returncode == 0, done.stdout + done.stderr
    return folder


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_command_imports_none_of_what_it_does_not_use(command, tiny_workflow, tmp_path):
    arguments, forbidden = COMMANDS[command]
    loaded = modules_loaded(arguments, tiny_workflow, tmp_path / "modules.json")

    assert sorted(name for name in loaded if name in forbidden or name.startswith(tuple(f"{f}." for f in forbidden))) == []


def test_asking_for_one_kind_imports_only_the_modules_that_declare_that_kind():
    registry = load_registry()

    sources = registry.of_kind("source")

    declares_source = {target for name, target in builtin_entry_points().items() if name.startswith("source.")}
    assert {info.cls.__module__ for info in registry.plugins.values()} == declares_source
    assert [info.name for info in sources] == sorted(name.removeprefix("source.")
                                                     for name in builtin_entry_points() if name.startswith("source."))
