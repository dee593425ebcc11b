"""The package's layers, and a check that imports point down only.

A module may import modules of its own layer and of the layers below it, never above; and no
group of modules may import each other in a circle. Every import counts: at the top of a
module, inside a function (deferred for start-up speed) or for type checkers only, because
each says that one module knows the other. ``docs/architecture.md`` draws the same layers.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import pytest
from python_imports import imports_of

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "cmflow"

LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("foundation", ("cmflow.foundation",)),
    ("HTTP kit", ("cmflow.http",)),
    ("state store", ("cmflow.store",)),
    ("plugin system", ("cmflow.plugins",)),
    ("presentation", ("cmflow.presentation",)),
    ("workflow file", ("cmflow.workflow", "cmflow.workflow_schema")),
    ("delivery", ("cmflow.delivery",)),
    ("stages", ("cmflow.stages",)),
    ("runner", ("cmflow.runner", "cmflow.doctor", "cmflow.classify_file", "cmflow.calendar_links")),
    ("operator metrics", ("cmflow.metrics",)),
    ("daemon", ("cmflow.daemon",)),
    ("public API", ("cmflow", "cmflow.testing")),
    ("CLI", ("cmflow.cli", "cmflow.console", "cmflow.validation_cache")),
    ("built-in plugins", ("cmflow.builtin",)),
]
"""Bottom to top: each entry names its layer and the modules (or packages) it holds."""


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in PACKAGE.rglob("*.py")}


def layer_of(module: str) -> int:
    """The index of the layer holding ``module``: the one whose prefix matches it longest (the
    package ``cmflow`` itself holds only its ``__init__``, so a new top-level module must be
    given a layer)."""
    best, best_length = None, -1
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            inside = module == prefix or (prefix != "cmflow" and module.startswith(prefix + "."))
            if inside and len(prefix) > best_length:
                best, best_length = index, len(prefix)
    assert best is not None, f"{module} is in no layer: add it to LAYERS"
    return best


def imported_modules(module: str) -> dict[str, int]:
    """The cmflow modules ``module`` imports, each with the line of its first import."""
    found: dict[str, int] = {}
    for line, base, name in imports_of(MODULES[module]):
        name = f"{base}.{name}" if name is not None and f"{base}.{name}" in MODULES else base
        while name and name not in MODULES:
            name = name.rpartition(".")[0]
        if name and name != module:
            found.setdefault(name, line)
    return found


@functools.cache
def import_graph() -> dict[str, dict[str, int]]:
    """Every module's cmflow imports, parsed once, when a test first asks (not at collection: every
    pytest-xdist worker collects this file, one runs it)."""
    return {module: imported_modules(module) for module in MODULES}


def test_every_module_is_in_a_layer():
    for module in MODULES:
        layer_of(module)


def upward_imports(graph: dict[str, dict[str, int]]) -> list[str]:
    """Each import of ``graph`` that points from a module to a higher layer, said in a line."""
    return sorted(
        f"{module}:{line}: {module} ({LAYERS[layer_of(module)][0]}) imports {target} ({LAYERS[layer_of(target)][0]})"
        for module, targets in graph.items()
        for target, line in targets.items()
        if layer_of(target) > layer_of(module))


def test_imports_point_down_only():
    upward = upward_imports(import_graph())
    assert not upward, "imports that point up a layer:\n" + "\n".join(upward)


def cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(graph[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(graph[child])))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    found.append(sorted(group))
    return found


def test_no_import_cycles():
    assert not cycles(import_graph()), "modules that import each other in a circle:\n" + "\n".join(
        " -> ".join(group) for group in cycles(import_graph()))


@pytest.mark.parametrize("graph, expected", [
    ({"a": {"b": 1}, "b": {"c": 1}, "c": {}}, []),
    ({"a": {"b": 1}, "b": {"c": 1}, "c": {"a": 1}, "d": {"a": 1}}, [["a", "b", "c"]]),
])
def test_the_cycle_finder_finds_cycles(graph, expected):
    assert cycles(graph) == expected


def test_the_layer_check_sees_an_upward_import():
    graph = {"cmflow.foundation.records": {"cmflow.runner": 12}, "cmflow.runner": {"cmflow.foundation.records": 3}}
    assert upward_imports(graph) == [
        "cmflow.foundation.records:12: cmflow.foundation.records (foundation) imports cmflow.runner (runner)"]
    assert "cmflow.foundation.periods" in import_graph()["cmflow.stages.run_periods"]


def test_a_module_outside_every_layer_is_refused():
    with pytest.raises(AssertionError, match="cmflow.reports is in no layer"):
        layer_of("cmflow.reports")
    assert LAYERS[layer_of("cmflow")][0] == "public API"


ARCHITECTURE = PACKAGE.parents[1] / "docs" / "architecture.md"


def run_stages() -> list[str]:
    """The stages runner.py calls, in its order: ``_timed(fetch.fetch, ...)`` calls the entry
    point ``fetch`` of the module ``cmflow.stages.fetch``."""
    source = MODULES["cmflow.runner"].read_text(encoding="utf-8")
    called = re.findall(r'_timed\((\w+)\.(\w+),', source)
    assert called and all(module == entry and f"cmflow.stages.{entry}" in MODULES for module, entry in called)
    return [entry for _, entry in called]


def test_the_architecture_page_names_every_layer():
    page = ARCHITECTURE.read_text(encoding="utf-8")
    for name, _ in LAYERS:
        assert f"| {name} |" in page, f"docs/architecture.md has no row for the {name} layer"


def test_the_runner_calls_the_stages_in_the_documented_order():
    page = ARCHITECTURE.read_text(encoding="utf-8")
    documented = [line.split("|")[1].strip() for line in page.splitlines()
                  if line.startswith("| ") and "| `stages." in line]
    assert documented == run_stages()


def test_the_store_facade_lists_the_interface_exactly() -> None:
    """``cmflow.store`` loads its interface's names on first use from a list: a name added to
    ``store/interface.py`` but not to the list would be missing from the facade."""
    import inspect

    import cmflow.store as facade
    from cmflow.store import interface

    defined_there = {name for name, value in vars(interface).items()
                     if not name.startswith("_") and getattr(value, "__module__", interface.__name__) == interface.__name__
                     and (inspect.isclass(value) or inspect.isfunction(value) or name.isupper()) and name != "TYPE_CHECKING"}
    assert set(facade._INTERFACE) == defined_there
    for name in facade._INTERFACE:
        assert getattr(facade, name) is getattr(interface, name)


def _is_plugin_module(module: str) -> bool:
    """Whether ``module`` registers plugins (has a ``@hookimpl``), rather than holding helpers."""
    return "@hookimpl" in MODULES[module].read_text(encoding="utf-8")


def test_metric_plugins_import_no_other_plugin_module():
    """A built-in metric reads the public API and shared helper modules (metrics/common.py,
    metrics/sentiment_tallies.py ...), never another metric plugin's module (STYLE.md)."""
    plugins = [m for m in MODULES if m.startswith("cmflow.builtin.metrics.") and _is_plugin_module(m)]
    assert "cmflow.builtin.metrics.response_times" in plugins
    wrong = [f"{module} imports {other} (line {line})" for module in plugins
             for other, line in import_graph()[module].items() if other in plugins]
    assert wrong == []


def test_output_plugins_import_no_other_output_plugin_module():
    """A built-in output reads the public API and shared helper modules (outputs/work_items.py,
    outputs/webhook_notifier.py, outputs/message_text.py ...), never another output plugin's
    module: what two outputs share lives in a helper module, not in one of them."""
    plugins = [m for m in MODULES if m.startswith("cmflow.builtin.outputs.") and _is_plugin_module(m)]
    assert {"cmflow.builtin.outputs.webhook", "cmflow.builtin.outputs.trello_card"} <= set(plugins)
    assert "cmflow.builtin.outputs.work_items" not in plugins
    # email sends the report outputs' documents: their options and the HTML page live in helper
    # modules (outputs/report_options.py, outputs/html_page.py) the three outputs import.
    assert {"cmflow.builtin.outputs.report_options", "cmflow.builtin.outputs.html_page"} <= set(
        import_graph()["cmflow.builtin.outputs.email"])
    wrong = [f"{module} imports {other} (line {line})" for module in plugins
             for other, line in import_graph()[module].items() if other in plugins]
    assert wrong == []


def test_source_plugins_import_no_other_source_plugin_module():
    """A built-in source reads the public API and shared helper modules (sources/tabular.py,
    sources/csv_tables.py, sources/workbooks.py, sources/calendar_values.py ...), never another
    source plugin's module: the ``export`` source reads CSV files and workbooks through the
    helpers the ``csv`` and ``xlsx`` sources use, not through those sources."""
    plugins = [m for m in MODULES if m.startswith("cmflow.builtin.sources.") and _is_plugin_module(m)]
    assert {"cmflow.builtin.sources.csv_source", "cmflow.builtin.sources.calendar_sheet"} <= set(plugins)
    wrong = [f"{module} imports {other} (line {line})" for module in plugins
             for other, line in import_graph()[module].items() if other in plugins]
    assert wrong == []
