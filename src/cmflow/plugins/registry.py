"""Plugin discovery: one path for built-in and third-party plugins.

Every plugin module, cmflow's own included, is listed in the ``cmflow`` entry-point group of
its distribution. An entry point named ``kind.name`` (``source.csv = "cmflow.builtin.sources.
csv_source"``) says which plugin its module registers, so :func:`get_registry` indexes the
entry points without importing anything, and a module is imported only when one of its plugins
is asked for: ``cmflow validate`` imports the plugins its file names, ``cmflow --help`` none.
A module whose entry point has any other name (one per module, as third-party packages may
declare them) says nothing of its plugins: it is imported whenever a name is not found among
the declared ones, or the whole list is needed (``cmflow plugins``, the schema, the docs).

Each module is isolated (one that fails to import or register is reported, the others load),
and a ``kind.name`` registered twice is refused, naming both packages; built-ins come first,
so a third party reusing a built-in name is the one refused. A module whose entry points name
its plugins must name them all: one it registers but does not name is refused and reported,
since it would be found only if that module happened to be imported first. Asking for a plugin
whose module failed raises :class:`PluginNotLoaded` with that module's problems.

``CMFLOW_LOAD_PLUGINS`` restricts third-party plugins to a comma-separated list of
distribution names (empty: none); cmflow's built-in plugins always load.
"""

from __future__ import annotations

import os
import re
import threading
import types
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Iterable, Iterator

import pluggy
from pydantic import BaseModel

from cmflow.foundation.names import closest
from cmflow.plugins import hookspecs
from cmflow.plugins.hookspecs import HOOK_OF_KIND
from cmflow.plugins.entries import ENTRY_MODELS, entry_keys
from cmflow.plugins.kinds import BASE_CLASS_OF_KIND, Plugin

ENTRY_POINT_GROUP = "cmflow"
BUILTIN_PACKAGE = "cmflow"
ALLOW_LIST_VARIABLE = "CMFLOW_LOAD_PLUGINS"
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


@dataclass(frozen=True)
class PluginModule:
    """A module of the ``cmflow`` entry-point group, known from its distribution's metadata alone."""

    target: str
    """The entry point's value: ``package.module`` (or ``package.module:object``)."""
    label: str
    """``package:entry-point`` (``package:module`` when several entry points name the module)."""
    package: str
    version: str
    entry_point: metadata.EntryPoint
    declares: frozenset[tuple[str, str]]
    """The (kind, name) of the plugins its entry points name; empty: unknown until it is imported."""


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


class PluginNotLoaded(UnknownPlugin):
    """A plugin its entry points declare, but whose module failed to import or register it.

    A kind of :class:`UnknownPlugin` (the plugin cannot be used), carrying why: ``problems`` are
    the module's, and ``hint`` says which package to repair.
    """

    def __init__(self, kind: str, name: str, module: PluginModule, problems: list[PluginProblem]) -> None:
        self.kind, self.name, self.suggestion = kind, name, None
        self.module, self.problems = module, problems
        why = "; ".join(problem.message for problem in problems)
        LookupError.__init__(self, f"{kind} plugin {name!r} could not be loaded: {why}")

    @property
    def hint(self) -> str:
        module = self.module
        return (f"from {module.package} {module.version}, module {module.target}: "
                f"fix or reinstall that package, or uninstall it")


@dataclass
class PluginRegistry:
    """Every plugin cmflow can use, by kind and name, and the problems met while loading.

    ``plugins`` holds the plugins imported so far; the methods below import the modules they
    need first, so that what they answer is as if every module had been imported.
    """

    plugins: dict[tuple[str, str], PluginInfo] = field(default_factory=dict)
    problems: list[PluginProblem] = field(default_factory=list)
    manager: pluggy.PluginManager = field(default_factory=lambda: make_plugin_manager())
    modules: list[PluginModule] = field(default_factory=list)
    """The entry-point modules, in the order they load (built-ins first)."""
    _imported: set[str] = field(default_factory=set, init=False, repr=False)
    """Targets of the modules imported (or that failed to import)."""
    _declared: dict[tuple[str, str], PluginModule] = field(default_factory=dict, init=False, repr=False)
    """The module owning each declared name."""
    _lock: threading.RLock = field(default_factory=threading.RLock, init=False, repr=False)

    def index(self, module: PluginModule) -> None:
        """Add an entry-point module without importing it; the first module to declare a name owns it."""
        self.modules.append(module)
        for key in module.declares:
            self._declared.setdefault(key, module)

    def get(self, kind: str, name: str) -> PluginInfo:
        """The plugin, importing the module that declares it (or, for a name no entry point
        declares, the modules that declare nothing); :class:`UnknownPlugin` if none has it."""
        key = (kind, name)
        if key not in self.plugins and (owner := self._declared.get(key)) is not None:
            self._load([owner])
            if key not in self.plugins and (problems := [p for p in self.problems if p.source == owner.label]):
                raise PluginNotLoaded(kind, name, owner, problems)
        if key not in self.plugins:
            self._load(m for m in self._pending() if not m.declares)
        try:
            return self.plugins[key]
        except KeyError:
            raise UnknownPlugin(kind, name, closest(name, self.names(kind))) from None

    def find(self, name: str) -> list[PluginInfo]:
        """All plugins called ``name``, of any kind."""
        self._load(m for m in self._pending() if not m.declares or name in {n for _, n in m.declares})
        return [info for (_, n), info in self.plugins.items() if n == name]

    def names(self, kind: str) -> list[str]:
        """The names of the plugins of a kind, from the entry points where they say them."""
        self._load(m for m in self._pending() if not m.declares)
        pending = {key for module in self._pending() for key in module.declares if self._declared[key] is module}
        return sorted(n for k, n in self.plugins.keys() | pending if k == kind)

    def of_kind(self, kind: str) -> list[PluginInfo]:
        """Every plugin of a kind, by name, importing only the modules whose entry points name one
        of that kind (and those that name nothing): ``cmflow inspect`` asks for the sources without
        importing the outputs, metrics and triggers (and the HTTP client some of them import)."""
        self._load(m for m in self._pending() if not m.declares or any(k == kind for k, _ in m.declares))
        return sorted((info for info in self.plugins.values() if info.kind == kind), key=lambda i: i.name)

    def load(self, target: str) -> None:
        """Import the entry-point module ``target`` now, if it is one not imported yet."""
        self._load(m for m in self._pending() if m.target == target)

    def load_all(self) -> None:
        """Import every entry-point module not imported yet."""
        self._load(self._pending())

    def __iter__(self) -> Iterator[PluginInfo]:
        self.load_all()
        return iter(sorted(self.plugins.values(), key=lambda i: (list(BASE_CLASS_OF_KIND).index(i.kind), i.name)))

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
                    added.append(self._add_class(_kind, cls, package, version, label))
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

    def _pending(self) -> list[PluginModule]:
        return [module for module in self.modules if module.target not in self._imported]

    def _load(self, modules: Iterable[PluginModule]) -> None:
        with self._lock:
            for module in list(modules):
                if module.target not in self._imported:
                    self._imported.add(module.target)
                    self._import(module)

    def _import(self, module: PluginModule) -> None:
        problems_before = len(self.problems)
        try:
            loaded = module.entry_point.load()
        except Exception as exc:
            self.problems.append(PluginProblem(module.label, module.package, module.version, _describe(exc)))
            return
        added = self.add_module(loaded, package=module.package, version=module.version, label=module.label)
        missing = module.declares - {(info.kind, info.name) for info in added}
        if missing and len(self.problems) == problems_before:
            said = ", ".join(f"{kind}.{name}" for kind, name in sorted(missing))
            self.problems.append(PluginProblem(module.label, module.package, module.version,
                                               f"its entry points name {said}, which {module.target} does not register"))
        if module.declares:
            self._refuse_undeclared(module, [info for info in added if (info.kind, info.name) not in module.declares])

    def _refuse_undeclared(self, module: PluginModule, undeclared: list[PluginInfo]) -> None:
        """Drop the plugins a module registers but its ``kind.name`` entry points do not name, and
        report them: such a plugin would be found only once another of the module's plugins had been
        asked for, so whether a workflow could use it would depend on what was imported before."""
        for info in undeclared:
            del self.plugins[(info.kind, info.name)]
        if undeclared:
            said = ", ".join(f"{info.kind}.{info.name}" for info in undeclared)
            lines = ", ".join(f'"{info.kind}.{info.name}" = "{module.target}"' for info in undeclared)
            self.problems.append(PluginProblem(
                module.label, module.package, module.version,
                f"{module.target} registers {said}, which its entry points do not name; "
                f"add {lines} to [project.entry-points.cmflow] in {module.package}'s pyproject.toml"))

    def _add_class(self, kind: str, cls: type, package: str, version: str, label: str) -> PluginInfo:
        base = BASE_CLASS_OF_KIND[kind]
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
        clash = entry_keys(ENTRY_MODELS[kind]) & set(options.model_fields)
        if clash:
            raise TypeError(f"{kind} plugin {name!r}: option name(s) {sorted(clash)} are reserved by cmflow")
        # The name's owner: registered already, or declared by another module not imported yet.
        declared = self._declared.get((kind, name))
        owner = self.plugins.get((kind, name)) or (declared if declared and declared.label != label else None)
        if owner is not None:
            raise ValueError(
                f"{kind} plugin {name!r} is registered twice: by {owner.package} {owner.version} "
                f"and by {package} {version}; uninstall one of them"
            )
        info = PluginInfo(kind, name, cls, package, version)
        self.plugins[(kind, name)] = info
        return info


class _PluginManager(pluggy.PluginManager):
    """pluggy's manager, quicker to register a module: pluggy looks at each of a plugin's
    attributes through :func:`inspect.getattr_static` (about two thirds of registering the
    ~30 modules ``cmflow validate`` loads for the demo); a module attribute of none of the types
    pluggy takes as a hook implementation (a class, a constant, an imported module: most of
    them) is passed over at once. pluggy decides the others as before."""

    def parse_hookimpl_opts(self, plugin: Any, name: str) -> Any:
        if isinstance(plugin, types.ModuleType) and not isinstance(plugin.__dict__.get(name), _HOOKABLE):
            return None
        return super().parse_hookimpl_opts(plugin, name)


_HOOKABLE = (types.FunctionType, staticmethod, classmethod, types.MethodType)
"""What pluggy takes as a hook implementation (``pluggy._manager._static_hook_attr``)."""


def make_plugin_manager() -> pluggy.PluginManager:
    manager = _PluginManager("cmflow")
    manager.add_hookspecs(hookspecs)
    return manager


_registry: PluginRegistry | None = None


def get_registry(*, reload: bool = False) -> PluginRegistry:
    """The process-wide registry, indexed from entry points on first use (no plugin imported yet)."""
    global _registry
    if _registry is None or reload:
        _registry = load_registry()
    return _registry


def load_registry(entry_points: list[metadata.EntryPoint] | None = None) -> PluginRegistry:
    """A new registry of every ``cmflow`` entry point allowed by ``CMFLOW_LOAD_PLUGINS``, indexed
    from the metadata; modules are imported when their plugins are asked for."""
    if entry_points is None:
        entry_points = list(metadata.entry_points(group=ENTRY_POINT_GROUP))
    registry = PluginRegistry()
    for module in plugin_modules(entry_points, _allow_list()):
        registry.index(module)
    return registry


def plugin_modules(entry_points: Iterable[metadata.EntryPoint], allowed: set[str] | None) -> list[PluginModule]:
    """The modules the entry points name, each once, built-ins first, with the plugins they declare."""
    origins: dict[int, tuple[str, str]] = {}  # reading a distribution's metadata parses a file
    named: dict[str, list[metadata.EntryPoint]] = {}
    for ep in entry_points:
        if id(ep.dist) not in origins:
            origins[id(ep.dist)] = _origin(ep.dist)
        package = origins[id(ep.dist)][0]
        if package != BUILTIN_PACKAGE and allowed is not None and package not in allowed:
            continue
        same_target = named.setdefault(ep.value, [])
        if same_target and same_target[0].dist is not ep.dist:  # the same distribution twice on sys.path
            continue
        same_target.append(ep)
    modules = []
    for target, eps in named.items():
        package, version = origins[id(eps[0].dist)]
        eps.sort(key=lambda e: e.name)
        label = f"{package}:{eps[0].name}" if len(eps) == 1 else f"{package}:{target}"
        declared = [_declared_plugin(ep.name) for ep in eps]
        declares = frozenset(d for d in declared if d is not None) if all(declared) else frozenset()
        modules.append(PluginModule(target, label, package, version, eps[0], declares))
    return sorted(modules, key=lambda m: (m.package != BUILTIN_PACKAGE, m.package, m.label))


def _declared_plugin(entry_point_name: str) -> tuple[str, str] | None:
    """``("source", "csv")`` for an entry point named ``source.csv``; None for any other name."""
    kind, dot, name = entry_point_name.partition(".")
    return (kind, name) if dot and kind in HOOK_OF_KIND and _NAME.match(name) else None


def _allow_list() -> set[str] | None:
    value = os.environ.get(ALLOW_LIST_VARIABLE)
    if value is None:
        return None
    return {part.strip() for part in value.split(",") if part.strip()}


def _origin(dist: metadata.Distribution | None) -> tuple[str, str]:
    """(package, version) of the distribution an entry point comes from.

    Read from the header lines of its metadata file: ``dist.metadata`` parses the whole file
    (the long description included) through the email package, a cost every command that
    loads a plugin would pay for two fields."""
    if dist is None:
        return "unknown", "?"
    fields: dict[str, str] = {}
    for line in (dist.read_text("METADATA") or dist.read_text("PKG-INFO") or "").splitlines():
        if not line.strip():
            break  # the end of the headers
        key, colon, value = line.partition(":")
        if colon and not line[0].isspace():  # not a folded continuation line
            fields.setdefault(key.strip().lower(), value.strip())
    return fields.get("name", "unknown"), fields.get("version", "?")


def _describe(exc: BaseException) -> str:
    import traceback  # only when a plugin fails: every command that loads one would pay for it

    frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    where = f" ({frame.filename}:{frame.lineno})" if frame else ""
    return f"{type(exc).__name__}: {exc}{where}"
