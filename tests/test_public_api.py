"""The public boundary a plugin author can rely on: ``cmflow``, ``cmflow.http`` and
``cmflow.testing``, each through its ``__all__``.

The built-in plugins are written the way a third party's would be: they import only public
names (a built-in may import its own package, ``cmflow.builtin``), so anything they need is
public, documented and kept. Every public name resolves and is documented.
"""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest
from python_imports import imports_of

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
PUBLIC_MODULES = {  # each public module, and the pages that document its names
    "cmflow": (DOCS / "writing-plugins.md",),
    "cmflow.http": (DOCS / "http.md",),
    "cmflow.testing": (DOCS / "writing-plugins.md", DOCS / "http.md"),
}
PLUGIN_FOLDERS = (REPO / "src" / "cmflow" / "builtin", REPO / "plugins" / "cmflow-example" / "src")
OWN_PACKAGES = ("cmflow.builtin", "cmflow_example")


def public_api_section(page: str) -> str:
    """The page's "## The public API" section where it has one (a name used further down the
    page is not thereby listed as public), else the whole page."""
    start = page.find("\n## The public API\n")
    if start < 0:
        return page
    end = page.find("\n## ", start + 1)
    return page[start:end if end > 0 else None]


def public_names(module: str) -> set[str]:
    return set(importlib.import_module(module).__all__)


def private_imports(path: Path) -> list[str]:
    """What ``path`` imports from cmflow that is not public API, as ``file:line: what``."""
    problems = []
    for line, module, name in imports_of(path):
        if module != "cmflow" and not module.startswith("cmflow."):
            continue
        if module.startswith(OWN_PACKAGES):
            continue
        where = f"{path.relative_to(REPO)}:{line}"
        if module not in PUBLIC_MODULES:
            shown = f"{module}.{name}" if name else module
            problems.append(f"{where}: {shown} is not in a public module (use {', '.join(PUBLIC_MODULES)})")
        elif name is not None and name not in public_names(module):
            problems.append(f"{where}: {module}.{name} is not in {module}.__all__")
    return problems


def plugin_files() -> list[Path]:
    return sorted(path for folder in PLUGIN_FOLDERS for path in folder.rglob("*.py"))


def test_plugin_files_are_found() -> None:
    names = {path.name for path in plugin_files()}
    assert {"engagement.py", "instagram.py", "mastodon_archive.py"} <= names


def test_built_in_and_example_plugins_import_only_public_names() -> None:
    problems = [problem for path in plugin_files() for problem in private_imports(path)]
    assert not problems, "plugins import private names:\n" + "\n".join(problems)


def test_the_check_finds_a_private_import(tmp_path: Path) -> None:
    module = tmp_path / "src" / "cmflow" / "builtin" / "metrics" / "plugin.py"
    module.parent.mkdir(parents=True)
    module.write_text("import cmflow.runner\nfrom cmflow import hookimpl\nfrom cmflow import _PUBLIC\n"
                      "from cmflow.foundation.measurements import ratio\nfrom cmflow.http import redact\n"
                      "from ...stages.fetch import fetch\nfrom ... import closest\nfrom ... import _PUBLIC\n"
                      "from .common import helper\nfrom .. import tool_addresses\n")
    global REPO
    saved, REPO = REPO, tmp_path
    try:
        problems = private_imports(module)
    finally:
        REPO = saved
    assert [problem.split(":")[1] for problem in problems] == ["1", "3", "4", "6", "8"]
    assert "cmflow.stages.fetch.fetch is not in a public module" in problems[3]


@pytest.mark.parametrize("module", sorted(PUBLIC_MODULES))
def test_every_public_name_resolves_and_is_documented(module: str) -> None:
    imported = importlib.import_module(module)
    assert hasattr(imported, "__all__"), f"{module} has no __all__"
    pages = PUBLIC_MODULES[module]
    documented = "\n".join(public_api_section(page.read_text(encoding="utf-8")) for page in pages)
    for name in imported.__all__:
        assert not name.startswith("_") or name == "__version__", f"{module}.{name} is private"
        assert getattr(imported, name) is not None, f"{module}.{name} does not resolve"
        assert re.search(rf"`(?:{re.escape(module)}\.)?{re.escape(name)}[`(.\[]", documented), (
            f"{module}.{name} is public but {' or '.join(page.name for page in pages)} does not document it")


def test_cmflow_lists_each_public_name_once() -> None:
    import cmflow

    assert len(cmflow.__all__) == len(set(cmflow.__all__))
    assert sorted(dir(cmflow)) == sorted(cmflow.__all__)


def test_type_checkers_see_every_public_name_where_it_is_loaded_from() -> None:
    """The TYPE_CHECKING imports of cmflow/__init__.py mirror its lazy ``_PUBLIC`` map."""
    import cmflow

    tree = ast.parse((REPO / "src" / "cmflow" / "__init__.py").read_text(encoding="utf-8"))
    block = next(node for node in tree.body
                 if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING")
    seen = {alias.name: node.module.removeprefix("cmflow.") for node in ast.walk(block)
            if isinstance(node, ast.ImportFrom) for alias in node.names}
    assert seen == cmflow._PUBLIC


def test_fetch_context_keeps_its_released_field_order() -> None:
    """A third party may build a FetchContext positionally: fields released before stay where
    they were, and a new field is added at the end (as_of_day was once inserted before inputs)."""
    import dataclasses

    from cmflow import FetchContext

    released = ["window_start", "window_end", "periods", "workflow_dir", "log", "problems", "http_client",
                "skipped", "as_of", "inputs", "latest_segment"]
    fields = [f.name for f in dataclasses.fields(FetchContext)]
    assert fields[:len(released)] == released
