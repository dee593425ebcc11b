"""The imports of a Python file, relative ones read as the absolute ones they are: what the
layer test (tests/test_layers.py) and the public API test (tests/test_public_api.py) read."""

from __future__ import annotations

import ast
from pathlib import Path


def package_of(path: Path) -> list[str]:
    """The dotted name of the package ``path`` sits in, in parts, counted from the ``src``
    folder above it (``src/cmflow/builtin/metrics/x.py``: ``cmflow.builtin.metrics``): what a
    relative import counts its dots from."""
    parts = path.parent.parts
    return list(parts[len(parts) - parts[::-1].index("src"):])


def imports_of(path: Path) -> list[tuple[int, str, str | None]]:
    """(line, module, name) of every import in ``path``; name is None for ``import module``. A
    relative import is read as the absolute one it is (``from ...stages import fetch`` in
    ``cmflow/builtin/metrics/`` imports ``cmflow.stages``), so that it cannot pass unseen."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.ImportFrom) and node.level:
            package = package_of(path)
            base = ".".join(package[:len(package) - node.level + 1] + ([node.module] if node.module else []))
            found += [(node.lineno, base, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            found += [(node.lineno, node.module, alias.name) for alias in node.names]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, alias.name, None) for alias in node.names]
    return found
