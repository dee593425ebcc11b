"""Plugin discovery: one path for built-in and third-party plugins.

Every plugin module, cmflow's own included, is listed in the ``cmflow`` entry-point group of
its distribution. :func:`get_registry` imports them on first use only (``cmflow --help`` never
does), isolates each one (a module that fails to import or register is reported, the others
load), and refuses a ``kind.name`` registered twice, naming both packages.

``CMFLOW_LOAD_PLUGINS`` restricts third-party plugins to a comma-separated list of
distribution names (empty: none); cmflow's built-in plugins always load.
"""

from __future__ import annotations

import os
import re
import traceback
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Iterator

import pluggy
from pydantic import BaseModel

from cmflow.foundation.names import closest
from cmflow.plugins import hookspecs
from cmflow.plugins.kinds import KINDS, Plugin

ENTRY_POINT_GROUP = "cmflow"
BUILTIN_PACKAGE = "cmflow"
ALLOW_LIST_VARIABLE = "CMFLOW_LOAD_PLUGINS"
HOOK_OF_KIND = {
    "source": "register_sources",
    "metric": "register_metrics",
    "trigger": "register_triggers",
    "output": "register_outputs",
}
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class PluginInfo:
    """A registered plugin class and where it came from."""

    kind: str
    name: str
    cls: type[Plugin]
    package: str
    version: str

    @property
    def description(self) -> str:
        return self.cls.description

    @property
    def builtin(self) -> bool:
        return self.package == BUILTIN_PACKAGE


@dataclass(frozen=True)
class PluginProblem:
    """A plugin module that could not be imported or registered."""

    source: str
    """``package:entry-point`` or ``package:module``."""
    package: str
    version: str
    message: str


class UnknownPlugin(LookupError):
    def __init__(self, kind: str, name: str, suggestion: str | None) -> None:
        self.kind, self.name, self.suggestion = kind, name, suggestion
        hint = f"; did you mean {suggestion!r}?" if suggestion else ""
        super().__init__(f"unknown {kind} plugin {name!r}{hint}")


@dataclass
class PluginRegistry:
    """Every plugin cmflow can use, by kind and name, and the problems met while loading."""

    plugins: dict[tuple[str, str], PluginInfo] = field(default_factory=dict)
    problems: list[PluginProblem] = field(default_factory=list)
    manager: pluggy.PluginManager = field(default_factory=lambda: make_plugin_manager())

    def get(self, kind: str, name: str) -> PluginInfo:
        try:
            return self.plugins[(kind, name)]
        except KeyError:
            raise UnknownPlugin(kind, name, closest(name, self.names(kind))) from None

    def find(self, name: str) -> list[PluginInfo]:
        """All plugins called ``name``, of any kind."""
        return [info for (_, n), info in self.plugins.items() if n == name]

    def names(self, kind: str) -> list[str]:
        return sorted(n for k, n in self.plugins if k == kind)

    def __iter__(self) -> Iterator[PluginInfo]:
        return iter(sorted(self.plugins.values(), key=lambda i: (list(KINDS).index(i.kind), i.name)))

    def add_module(self, module: Any, *, package: str, version: str, label: str | None = None) -> list[PluginInfo]:
        """Register a plugin module (or any object with hook implementations); return what it added."""
        label = label or f"{package}:{getattr(module, '__name__', module)}"
        try:
            self.manager.register(module, name=label)
        except Exception as exc:  # a malformed hookimpl
            self.problems.append(PluginProblem(label, package, version, _describe(exc)))
            return []
        added: list[PluginInfo] = []
        for kind, hook_name in HOOK_OF_KIND.items():
            for impl in getattr(self.manager.hook, hook_name).get_hookimpls():
                if impl.plugin is not module:
                    continue
                # Call each implementation on its own: pluggy would stop at the first exception.
                def register(cls: type, _kind: str = kind) -> None:
                    added.append(self._add_class(_kind, cls, package, version))
                try:
                    impl.function(register=register)
                except Exception as exc:
                    self.problems.append(PluginProblem(label, package, version, _describe(exc)))
        return added

    def remove(self, infos: list[PluginInfo], module: Any) -> None:
        """Undo :meth:`add_module` (used by :func:`cmflow.testing.registered_plugin`)."""
        for info in infos:
            self.plugins.pop((info.kind, info.name), None)
        if self.manager.is_registered(module):
            self.manager.unregister(module)

    def _add_class(self, kind: str, cls: type, package: str, version: str) -> PluginInfo:
        base = KINDS[kind]
        if not (isinstance(cls, type) and issubclass(cls, base)):
            raise TypeError(f"{cls!r} handed to {HOOK_OF_KIND[kind]} is not a cmflow.{base.__name__}")
        name = getattr(cls, "name", None)
        if not isinstance(name, str) or not _NAME.match(name):
            raise TypeError(f"{cls.__name__}.name must be lower_snake_case text, got {name!r}")
        if not isinstance(getattr(cls, "description", None), str) or not cls.description.strip():
            raise TypeError(f"{kind} plugin {name!r} has no one-line description")
        options = getattr(cls, "Options", None)
        if not (isinstance(options, type) and issubclass(options, BaseModel)):
            raise TypeError(f"{kind} plugin {name!r}: Options must be a pydantic model")
        from cmflow.workflow import ENTRY_MODELS, entry_keys  # the keys every entry of the kind has

        clash = entry_keys(ENTRY_MODELS[kind]) & set(options.model_fields)
        if clash:
            raise TypeError(f"{kind} plugin {name!r}: option name(s) {sorted(clash)} are reserved by cmflow")
        existing = self.plugins.get((kind, name))
        if existing is not None:
            raise ValueError(
                f"{kind} plugin {name!r} is registered twice: by {existing.package} {existing.version} "
                f"and by {package} {version}; uninstall one of them"
            )
        info = PluginInfo(kind, name, cls, package, version)
        self.plugins[(kind, name)] = info
        return info


def make_plugin_manager() -> pluggy.PluginManager:
    manager = pluggy.PluginManager("cmflow")
    manager.add_hookspecs(hookspecs)
    return manager


_registry: PluginRegistry | None = None


def get_registry(*, reload: bool = False) -> PluginRegistry:
    """The process-wide registry, loaded from entry points on first use."""
    global _registry
    if _registry is None or reload:
        _registry = load_registry()
    return _registry


def load_registry(entry_points: list[metadata.EntryPoint] | None = None) -> PluginRegistry:
    """Import every ``cmflow`` entry point (allowed by ``CMFLOW_LOAD_PLUGINS``) into a new registry."""
    registry = PluginRegistry()
    if entry_points is None:
        entry_points = list(metadata.entry_points(group=ENTRY_POINT_GROUP))
    allowed = _allow_list()
    seen_modules: set[str] = set()
    # Built-ins first, so that a third party reusing a built-in name is the one refused.
    for ep in sorted(entry_points, key=lambda e: (_package(e) != BUILTIN_PACKAGE, _package(e), e.name)):
        package, version = _package(ep), _version(ep)
        if package != BUILTIN_PACKAGE and allowed is not None and package not in allowed:
            continue
        if ep.value in seen_modules:  # the same distribution found twice on sys.path
            continue
        seen_modules.add(ep.value)
        label = f"{package}:{ep.name}"
        try:
            module = ep.load()
        except Exception as exc:
            registry.problems.append(PluginProblem(label, package, version, _describe(exc)))
            continue
        registry.add_module(module, package=package, version=version, label=label)
    return registry


def _allow_list() -> set[str] | None:
    value = os.environ.get(ALLOW_LIST_VARIABLE)
    if value is None:
        return None
    return {part.strip() for part in value.split(",") if part.strip()}


def _package(ep: metadata.EntryPoint) -> str:
    dist = getattr(ep, "dist", None)
    return dist.metadata["Name"] if dist is not None else "unknown"


def _version(ep: metadata.EntryPoint) -> str:
    dist = getattr(ep, "dist", None)
    return dist.version if dist is not None else "?"


def _describe(exc: BaseException) -> str:
    frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    where = f" ({frame.filename}:{frame.lineno})" if frame else ""
    return f"{type(exc).__name__}: {exc}{where}"

