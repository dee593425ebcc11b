#!/usr/bin/env python3
"""How long does cmflow take to start, and what does ``cmflow --help`` import?

Why: a CLI that takes a second to print its help is one people stop trusting (llm's ``--help``
went from 1.3 s to 10.7 s through eager plugin imports, llm #732). cmflow imports its
subcommands, plugins and heavy libraries only when a command needs them; this checks it.

What it does:

1. Times, as the median of N runs each in a fresh process (``subprocess`` + ``perf_counter``),
   ``python -c pass`` (the interpreter alone), ``cmflow --help`` and
   ``cmflow validate workflows/demo.toml``, all with this interpreter, and prints each one's
   overhead over the bare interpreter, and whether validate met its target (under 150 ms,
   printed, not enforced: timings depend on the machine). Beside them, the floor any validate
   pays for its libraries (importing click, entry-point metadata and pydantic, and building one
   model), so that cmflow's own share shows apart from theirs.
2. Runs both cmflow commands under ``python -X importtime`` and lists the heaviest top-level
   packages each imports (import time summed per package, one run, so indicative). importtime
   does not see modules loaded through ``importlib.import_module`` (subcommands, plugins), only
   what those import with ``import`` statements.
3. Fails (exit 1) if, when ``cmflow --help`` exits, ``sys.modules`` holds polars, sqlalchemy,
   rich, jinja2 or any plugin module (cmflow's built-ins and every module of the ``cmflow``
   entry-point group); or if ``cmflow validate`` imports a plugin module other than those of
   the plugins the demo names (found from the entry points' ``kind.name``, without importing).

Bytecode: the children write and read .pyc files under a temporary PYTHONPYCACHEPREFIX (the
untimed warm-up run fills it), so the figures are those of an installed cmflow even where
PYTHONDONTWRITEBYTECODE is set, and the source tree is left untouched.

Plugins: by default only cmflow's built-in plugins load (``CMFLOW_LOAD_PLUGINS=""``), so the
figures do not depend on what else is installed; ``--all-plugins`` loads every installed one.

Run: ``python benchmarks/startup.py`` (``--runs 30`` for steadier medians).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEMO_WORKFLOW = REPO / "workflows" / "demo.toml"
FORBIDDEN_FOR_HELP = ("polars", "sqlalchemy", "rich", "jinja2")
VALIDATE_TARGET = 0.150
"""Seconds ``cmflow validate workflows/demo.toml`` should take (median, warm cache)."""
SECTION_KINDS = {"sources": "source", "classifiers": "classifier", "metrics": "metric", "triggers": "trigger",
                 "outputs": "output"}
# Runs the CLI exactly as the ``cmflow`` console script does, under any interpreter flags.
CLI = "import sys; from cmflow.cli import main; sys.argv[0] = 'cmflow'; sys.exit(main())"


LIBRARY_FLOOR = ("import click, importlib.metadata, pydantic\n"
                 "class Options(pydantic.BaseModel):\n    path: str = ''\n"
                 "Options.model_validate({'path': 'x'})")
"""What any validate costs before cmflow's own code: the CLI library, entry-point metadata and one
pydantic model built and used (pydantic compiles its schema machinery on the first model)."""
FLOOR = "libraries' floor (click, pydantic)"


def cmflow_command(*arguments: str, python_flags: tuple[str, ...] = ()) -> list[str]:
    return [sys.executable, *python_flags, "-c", CLI, *arguments]


def time_command(command: list[str], runs: int, env: dict[str, str]) -> list[float]:
    """Wall times of ``runs`` fresh processes, after one untimed warm-up (disk cache, .pyc)."""
    times = []
    for run in range(runs + 1):
        started = time.perf_counter()
        completed = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=REPO)
        elapsed = time.perf_counter() - started
        if completed.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed ({completed.returncode}):\n"
                             f"{completed.stderr.decode(errors='replace')}")
        if run:
            times.append(elapsed)
    return times


@dataclass
class Imported:
    """One module in a ``-X importtime`` report."""

    name: str
    own_us: int
    cumulative_us: int
    parent: str | None
    """The module whose import imported this one first (None: the command itself)."""


def imported_modules(arguments: tuple[str, ...], env: dict[str, str]) -> dict[str, Imported]:
    """Modules one cmflow command imports, with their import times and first importer."""
    completed = subprocess.run(cmflow_command(*arguments, python_flags=("-X", "importtime")),
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=REPO)
    modules: dict[str, Imported] = {}
    waiting: list[tuple[int, Imported]] = []  # reported before their parent (post-order)
    for line in completed.stderr.decode(errors="replace").splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        own, cumulative, raw_name = line.removeprefix("import time:").split("|")
        depth = (len(raw_name) - len(raw_name.lstrip(" ")) - 1) // 2
        module = Imported(raw_name.strip(), int(own), int(cumulative), None)
        while waiting and waiting[-1][0] > depth:
            waiting.pop()[1].parent = module.name
        waiting.append((depth, module))
        modules[module.name] = module
    return modules


def heaviest_packages(modules: dict[str, Imported], top: int) -> list[tuple[str, float, int]]:
    """Top-level packages by the import time of all their modules: (package, ms, modules)."""
    own_time: dict[str, int] = defaultdict(int)
    count: dict[str, int] = defaultdict(int)
    for module in modules.values():
        package = module.name.split(".")[0]
        own_time[package] += module.own_us
        count[package] += 1
    ranked = sorted(own_time.items(), key=lambda item: item[1], reverse=True)[:top]
    return [(package, microseconds / 1000, count[package]) for package, microseconds in ranked]


def heaviest_dependencies(modules: dict[str, Imported], top: int) -> list[tuple[str, float, str]]:
    """What cmflow's own modules pull in, per top-level package: (package, ms, importers).

    The time of a module imported by cmflow includes everything that module imports (its
    cumulative time), so this is what not importing it would save.
    """
    cumulative: dict[str, int] = defaultdict(int)
    importers: dict[str, set[str]] = defaultdict(set)
    names: dict[str, set[str]] = defaultdict(set)
    for module in modules.values():
        if not _is_cmflow(module.name) and module.parent and _is_cmflow(module.parent):
            package = module.name.split(".")[0]
            cumulative[package] += module.cumulative_us
            importers[package].add(module.parent)
            names[package].add(module.name)
    ranked = sorted(cumulative.items(), key=lambda item: item[1], reverse=True)[:top]
    # A package reached through one module only is named by it (importlib.metadata, not importlib).
    return [(next(iter(names[package])) if len(names[package]) == 1 else package, microseconds / 1000,
             ", ".join(sorted(importers[package]))) for package, microseconds in ranked]


def _is_cmflow(name: str) -> bool:
    return name == "cmflow" or name.startswith("cmflow.")


def plugin_modules() -> set[str]:
    """Every module registered in the ``cmflow`` entry-point group, cmflow's own included."""
    from importlib.metadata import entry_points

    return {ep.value.split(":")[0] for ep in entry_points(group="cmflow")}


def named_plugin_modules(workflow: Path) -> set[str]:
    """The modules of the plugins a workflow names, from the entry points named ``kind.name``."""
    from importlib.metadata import entry_points

    module_of = {ep.name: ep.value.split(":")[0] for ep in entry_points(group="cmflow")}
    document = tomllib.loads(workflow.read_text(encoding="utf-8"))
    return {module_of[f"{kind}.{entry['plugin']}"] for section, kind in SECTION_KINDS.items()
            for entry in document.get(section, [])}


def loaded_modules(arguments: tuple[str, ...], env: dict[str, str]) -> list[str]:
    """Every module in ``sys.modules`` when a cmflow command exits.

    This, not ``-X importtime``, decides what a command imports: importtime does not see
    modules loaded through ``importlib.import_module`` (how plugins and subcommands load).
    """
    with tempfile.TemporaryDirectory(prefix="cmflow-startup-") as tmp:
        listing = Path(tmp) / "modules.txt"
        record = (f"import atexit, sys; atexit.register(lambda: open({str(listing)!r}, 'w')"
                  f".write(chr(10).join(sorted(sys.modules)))); ")
        subprocess.run([sys.executable, "-c", record + CLI, *arguments], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, env=env, cwd=REPO)
        return listing.read_text().splitlines()


def forbidden_imports(modules: list[str]) -> list[str]:
    plugins = plugin_modules()
    return sorted(name for name in modules
                  if name.split(".")[0] in FORBIDDEN_FOR_HELP or name in plugins
                  or name.startswith("cmflow.builtin"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20, help="timed runs per command (default: %(default)s)")
    parser.add_argument("--all-plugins", action="store_true",
                        help="load every installed plugin, not only cmflow's built-ins")
    parser.add_argument("--top", type=int, default=8, help="heaviest packages to list per command")
    args = parser.parse_args(argv)

    env = dict(os.environ)
    # Measure what a user sees: bytecode cached (the warm-up run writes it), even where the
    # shell sets PYTHONDONTWRITEBYTECODE; cached outside the source tree, so nothing is left there.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(Path(tempfile.gettempdir()) / "cmflow-bench-pycache")
    if not args.all_plugins:
        env["CMFLOW_LOAD_PLUGINS"] = ""
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "libraries' floor (click, pydantic)": [sys.executable, "-c", LIBRARY_FLOOR],
        "cmflow --help": cmflow_command("--help"),
        "cmflow validate workflows/demo.toml": cmflow_command("validate", str(DEMO_WORKFLOW)),
    }
    print(f"interpreter: {sys.executable} (Python {sys.version.split()[0]}), {os.cpu_count()} CPUs, "
          f"{args.runs} runs each, plugins: {'all installed' if args.all_plugins else 'built-ins only'}")
    medians = {}
    header = f"{'command':<38}{'median':>10}{'min':>10}{'max':>10}{'overhead':>11}"
    print(header)
    print("-" * len(header))
    for label, command in commands.items():
        times = time_command(command, args.runs, env)
        medians[label] = statistics.median(times)
        overhead = medians[label] - medians["python -c pass"]
        print(f"{label:<38}{medians[label] * 1000:>8.0f}ms{min(times) * 1000:>8.0f}ms"
              f"{max(times) * 1000:>8.0f}ms{overhead * 1000:>+9.0f}ms")
    validate = medians["cmflow validate workflows/demo.toml"]
    print(f"\ntarget: cmflow validate under {VALIDATE_TARGET * 1000:.0f} ms: "
          f"{'met' if validate < VALIDATE_TARGET else 'missed'} ({validate * 1000:.0f} ms, "
          f"{(validate - medians['python -c pass']) * 1000:+.0f} ms over python -c pass, "
          f"{(validate - medians[FLOOR]) * 1000:+.0f} ms over what its libraries alone take)")

    failed = False
    for label, arguments in (("cmflow --help", ("--help",)),
                             ("cmflow validate workflows/demo.toml", ("validate", str(DEMO_WORKFLOW)))):
        loaded = loaded_modules(arguments, env)
        heavy = [package for package in FORBIDDEN_FOR_HELP if package in loaded]
        print(f"\n{label}: {len(loaded)} modules loaded; of {', '.join(FORBIDDEN_FOR_HELP)}: "
              f"{', '.join(heavy) or 'none'}")
        if label == "cmflow --help":
            bad = forbidden_imports(loaded)
            if bad:
                failed = True
                print(f"FAIL: cmflow --help imports {', '.join(bad)}", file=sys.stderr)
            else:
                print("  no plugin module loaded")
        else:
            named = named_plugin_modules(DEMO_WORKFLOW)
            plugins = sorted(set(loaded) & plugin_modules())
            if set(plugins) != named:
                failed = True
                print(f"FAIL: cmflow validate imports plugin modules {', '.join(sorted(set(plugins) - named))} "
                      f"the workflow does not name", file=sys.stderr)
            print(f"  plugin modules loaded: {len(plugins)} of {len(plugin_modules())} (those the workflow names)")
        timings = imported_modules(arguments, env)
        print("  heaviest packages (-X importtime, one run, summed over their modules):")
        for package, milliseconds, count in heaviest_packages(timings, args.top):
            print(f"    {package:<24}{milliseconds:>7.1f}ms  ({count} modules)")
        print("  what cmflow's modules import (each with everything it imports in turn):")
        for package, milliseconds, importers in heaviest_dependencies(timings, args.top):
            print(f"    {package:<24}{milliseconds:>7.1f}ms  (imported by {importers})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
