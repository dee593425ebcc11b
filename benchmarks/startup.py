#!/usr/bin/env python3
"""How long does cmflow take to start, and what does ``cmflow --help`` import?

Why: a CLI that takes a second to print its help is one people stop trusting (llm's ``--help``
went from 1.3 s to 10.7 s through eager plugin imports, llm #732). cmflow imports its
subcommands, plugins and heavy libraries only when a command needs them; this checks it.

What it does:

1. Times, in fresh processes run in turn (one round runs each command once, ``--runs`` rounds
   after an untimed warm-up), ``python -c pass`` (the interpreter alone), ``python -c 'import
   click, pydantic'`` (the two libraries' import: pydantic's is lazy, so its models' machinery is
   not in it), the libraries' floor (importing click, entry-point metadata and pydantic, and
   building and using one model: what any validate pays before cmflow's own code),
   ``cmflow --help``, ``cmflow validate workflows/demo.toml`` twice: on a warm validation cache
   (the warm-up round fills it; the target is this one) and with the cache emptied before each
   run (a full validation that remembers its answer), and the commands the tests start
   most often: ``cmflow inspect`` (one export), ``cmflow run``, ``cmflow history`` and ``cmflow
   outbox flush`` on a tiny workflow (one export source, one metric, a SQLite store in a temporary
   folder). With ``--baseline SRC`` each cmflow command is also run with another tree's ``src``
   first on ``PYTHONPATH`` (main's, from ``git archive``), in the same rounds, and the ratios of
   this tree's CPU time to the baseline's are printed. Each run's CPU time (user +
   system, from ``os.wait4``) and wall time are taken; the figures are medians, and each
   command's ratios to ``python -c pass`` and to the floors are the medians of the ratios within
   a round, so that a machine loaded by other work shows in every command of a round alike. CPU
   time is the steadier figure on a shared machine; the target (validate under 150 ms, median
   CPU time, on a warm cache) is printed last, not enforced, with the cold figure beside it.
2. Runs both cmflow commands under ``python -X importtime`` and lists the heaviest top-level
   packages each imports (import time summed per package, one run, so indicative). importtime
   does not see modules loaded through ``importlib.import_module`` (subcommands, plugins), only
   what those import with ``import`` statements.
3. Fails (exit 1) if, when ``cmflow --help`` exits, ``sys.modules`` holds polars, sqlalchemy,
   rich, jinja2 or any plugin module (cmflow's built-ins and every module of the ``cmflow``
   entry-point group); or if ``cmflow validate --no-cache`` (a full validation) imports a plugin
   module other than those of the plugins the demo names (found from the entry points'
   ``kind.name``, without importing). Says what validate loads on a warm cache.

The validation cache lives in a temporary folder (``CMFLOW_CACHE_DIR``), never the user's.

Bytecode: the children write and read .pyc files under a temporary PYTHONPYCACHEPREFIX (the
untimed warm-up run fills it), so the figures are those of an installed cmflow even where
PYTHONDONTWRITEBYTECODE is set, and the source tree is left untouched.

Plugins: by default only cmflow's built-in plugins load (``CMFLOW_LOAD_PLUGINS=""``), so the
figures do not depend on what else is installed; ``--all-plugins`` loads every installed one.

Run: ``python benchmarks/startup.py`` (``--runs 40`` for steadier medians on a loaded machine;
``--breakdown`` to see where validate's CPU time goes: imports, pydantic models, dataclasses).
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEMO_WORKFLOW = REPO / "workflows" / "demo.toml"
FORBIDDEN_FOR_HELP = ("polars", "sqlalchemy", "rich", "jinja2")
VALIDATE_TARGET = 0.150
"""Seconds ``cmflow validate workflows/demo.toml`` should take (median, warm cache)."""
SECTION_KINDS = {"sources": "source", "classifiers": "classifier", "metrics": "metric", "triggers": "trigger",
                 "outputs": "output"}
# Runs the CLI exactly as the ``cmflow`` console script does, under any interpreter flags.
CLI = ("import sys\ntry:\n    from cmflow.console import main\n"
       "except ImportError:  # a tree from before the validation cache (--baseline)\n    from cmflow.cli import main\n"
       "sys.argv[0] = 'cmflow'; sys.exit(main())")


LIBRARY_FLOOR = ("import click, importlib.metadata, pydantic\n"
                 "class Options(pydantic.BaseModel):\n    path: str = ''\n"
                 "Options.model_validate({'path': 'x'})")
"""What any validate costs before cmflow's own code: the CLI library, entry-point metadata and one
pydantic model built and used (pydantic compiles its schema machinery on the first model)."""
FLOOR = "libraries' floor (click, pydantic)"
PASS = "python -c pass"
IMPORTS = "import click, pydantic"
VALIDATE = "cmflow validate workflows/demo.toml"
"""On a warm cache: the untimed warm-up round validates in full and remembers the answer."""
VALIDATE_COLD = "cmflow validate demo, cache empty"
"""Its cache folder is removed before each run: a full validation that remembers its answer."""
INSPECTED_EXPORT = REPO / "tests" / "fixtures" / "exports" / "meta-facebook-posts.csv"
TINY_WORKFLOW = """\
[workflow]
name = "tiny"
timezone = "Europe/Paris"
period = "last_week"
as_of = "2026-11-24"

[store]
url = "{store}"

[[sources]]
id = "meta"
plugin = "export"
path = "builtin:demo/exports/*/*-posts.csv"

[[metrics]]
plugin = "posts_published"
"""
"""The tiny workflow ``run``, ``history`` and ``outbox flush`` are timed on: one export source, one
metric, a SQLite store (written in a temporary folder; the untimed warm-up run makes its first run)."""


def other_commands(folder: Path) -> dict[str, list[str]]:
    """The commands the tests start most often, beside validate: inspect, run, history, outbox flush."""
    store = f"sqlite:///{folder / 'state.db'}"
    workflow = folder / "tiny.toml"
    workflow.write_text(TINY_WORKFLOW.format(store=store), encoding="utf-8")
    return {"cmflow inspect meta-facebook-posts.csv": cmflow_command("inspect", str(INSPECTED_EXPORT)),
            "cmflow run (tiny workflow)": cmflow_command("run", str(workflow)),
            "cmflow history (tiny workflow)": cmflow_command("history", str(workflow)),
            "cmflow outbox flush": cmflow_command("outbox", "flush", "--store", store)}

BREAKDOWN = r"""
import time

started = time.process_time()
import dataclasses, json, sys
from collections import defaultdict

clock = time.process_time
totals, counts = defaultdict(float), defaultdict(int)
totals["interpreter start-up"] = started
totals["importing other modules"] = clock() - started  # these, which validate imports too
stack = [["validating, and the rest", clock()]]
LIBRARY = {"click": "importing click", "pydantic": "importing pydantic", "pydantic_core": "importing pydantic",
           "annotated_types": "importing pydantic", "typing_extensions": "importing pydantic",
           "typing_inspection": "importing pydantic", "cmflow": "running cmflow's modules (their own code)"}


def timed(category_of, function):
    def wrapper(*args, **kwargs):
        category = category_of(*args)
        if category is None:
            return function(*args, **kwargs)
        now = clock()
        totals[stack[-1][0]] += now - stack[-1][1]
        stack.append([category, now])
        counts[category] += 1
        try:
            return function(*args, **kwargs)
        finally:
            now = clock()
            totals[category] += now - stack.pop()[1]
            stack[-1][1] = now
    return wrapper


def cmflow_class(cls, category):
    return category if cls.__module__.partition(".")[0] == "cmflow" else None


import importlib._bootstrap_external as external

external._LoaderBasics.exec_module = timed(
    lambda loader, module: LIBRARY.get(module.__name__.partition(".")[0], "importing other modules"),
    external._LoaderBasics.exec_module)
dataclasses._process_class = timed(lambda cls, *rest: cmflow_class(cls, "creating cmflow's dataclasses"),
                                   dataclasses._process_class)
# Imported here (not as a library's import), and timed as pydantic's import.
now = clock()
import pydantic._internal._model_construction as construction
totals["importing pydantic"] += clock() - now
stack[-1][1] = clock()
new_model = construction.ModelMetaclass.__new__
construction.ModelMetaclass.__new__ = staticmethod(timed(
    lambda metaclass, name, bases, namespace, *rest, **options:
        "building cmflow's pydantic models" if namespace.get("__module__", "").startswith("cmflow") else None,
    new_model))


def report():
    totals[stack[0][0]] += clock() - stack[0][1]
    print(json.dumps({"seconds": totals, "counts": counts}))


import atexit
atexit.register(report)
from cmflow.cli import main
sys.argv[0] = "cmflow"
sys.exit(main())
"""
"""Runs validate with CPU time (``process_time``) counted apart, exclusive of what runs inside, for:
module bodies (cmflow's, pydantic's, click's, others'), cmflow's dataclasses and cmflow's pydantic
models being made, and the rest (the validation itself); printed as JSON at exit."""


def cmflow_command(*arguments: str, python_flags: tuple[str, ...] = ()) -> list[str]:
    return [sys.executable, *python_flags, "-c", CLI, *arguments]


@dataclass
class Timing:
    """CPU (user + system) and wall seconds of each timed run of one command, in round order."""

    cpu: list[float] = field(default_factory=list)
    wall: list[float] = field(default_factory=list)


def time_commands(commands: dict[str, list[str]], runs: int, env: dict[str, str],
                  envs: dict[str, dict[str, str]] | None = None,
                  emptied: dict[str, Path] | None = None) -> dict[str, Timing]:
    """Run every command once per round, ``runs`` rounds after an untimed warm-up (disk cache, .pyc);
    ``envs`` gives some commands an environment of their own (the baseline's ``PYTHONPATH``), and
    ``emptied`` a folder removed before each of their runs (an empty validation cache)."""
    timings = {label: Timing() for label in commands}
    for round_ in range(runs + 1):
        for label, command in commands.items():
            if label in (emptied or {}):
                shutil.rmtree(emptied[label], ignore_errors=True)
            started = time.perf_counter()
            process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                       env=(envs or {}).get(label, env), cwd=REPO)
            stderr = process.stderr.read()  # drained before waiting: a full pipe would block the child
            _, status, usage = os.wait4(process.pid, 0)
            elapsed = time.perf_counter() - started
            process.returncode = os.waitstatus_to_exitcode(status)
            if process.returncode != 0:
                raise SystemExit(f"{' '.join(command)} failed ({process.returncode}):\n"
                                 f"{stderr.decode(errors='replace')}")
            if round_:
                timings[label].cpu.append(usage.ru_utime + usage.ru_stime)
                timings[label].wall.append(elapsed)
    return timings


def median_ratio(numerator: list[float], denominator: list[float]) -> float:
    """The median of the ratios of runs made in the same round."""
    return statistics.median(n / d for n, d in zip(numerator, denominator))


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


def print_breakdown(runs: int, env: dict[str, str]) -> None:
    """Where validate's CPU time goes (medians of ``runs`` runs; the counting costs some time too)."""
    seconds: dict[str, list[float]] = defaultdict(list)
    counts: dict[str, list[int]] = defaultdict(list)
    for _ in range(runs):
        completed = subprocess.run([sys.executable, "-c", BREAKDOWN, "validate", str(DEMO_WORKFLOW)],
                                   capture_output=True, text=True, env=env, cwd=REPO)
        report = json.loads(completed.stdout.strip().splitlines()[-1])
        for category, value in report["seconds"].items():
            seconds[category].append(value)
            counts[category].append(report["counts"].get(category, 0))
    total = statistics.median(sum(run) for run in zip(*seconds.values()))
    print(f"\nwhere cmflow validate's CPU time goes (median of {runs} runs, {total * 1000:.0f} ms counted; "
          f"each part exclusive of those inside it):")
    for category, values in sorted(seconds.items(), key=lambda item: -statistics.median(item[1])):
        count = statistics.median(counts[category])
        print(f"  {category:<46}{statistics.median(values) * 1000:>7.0f} ms"
              f"{statistics.median(values) / total:>6.0%}" + (f"  ({count:.0f})" if count else ""))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20, help="timed runs per command (default: %(default)s)")
    parser.add_argument("--all-plugins", action="store_true",
                        help="load every installed plugin, not only cmflow's built-ins")
    parser.add_argument("--top", type=int, default=8, help="heaviest packages to list per command")
    parser.add_argument("--baseline", type=Path, metavar="SRC",
                        help="also time each cmflow command with SRC (another cmflow's src folder, e.g. main's "
                             "from git archive) first on PYTHONPATH, in the same rounds, and print the ratios")
    parser.add_argument("--validate-only", action="store_true",
                        help="time the interpreter, the floors, --help and validate only, not inspect, run, history "
                             "and outbox flush (a 20-round run with --baseline in minutes on a loaded machine)")
    parser.add_argument("--breakdown", type=int, nargs="?", const=5, default=0, metavar="RUNS",
                        help="where validate's CPU time goes, medians of RUNS runs (default 5)")
    args = parser.parse_args(argv)

    env = dict(os.environ)
    # Measure what a user sees: bytecode cached (the warm-up run writes it), even where the
    # shell sets PYTHONDONTWRITEBYTECODE; cached outside the source tree, so nothing is left there.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(Path(tempfile.gettempdir()) / "cmflow-bench-pycache")
    if not args.all_plugins:
        env["CMFLOW_LOAD_PLUGINS"] = ""
    folder = Path(tempfile.mkdtemp(prefix="cmflow-startup-"))
    atexit.register(shutil.rmtree, folder, True)
    env["CMFLOW_CACHE_DIR"] = str(folder / "cache")  # validate's cache: the warm-up round fills it
    commands = {
        PASS: [sys.executable, "-c", "pass"],
        IMPORTS: [sys.executable, "-c", "import click, pydantic"],
        FLOOR: [sys.executable, "-c", LIBRARY_FLOOR],
        "cmflow --help": cmflow_command("--help"),
        VALIDATE: cmflow_command("validate", str(DEMO_WORKFLOW)),
        VALIDATE_COLD: cmflow_command("validate", str(DEMO_WORKFLOW)),
    }
    cold_cache = folder / "cold-cache"
    envs: dict[str, dict[str, str]] = {VALIDATE_COLD: {**env, "CMFLOW_CACHE_DIR": str(cold_cache)}}
    emptied = {VALIDATE_COLD: cold_cache}
    if not args.validate_only:
        commands.update(other_commands(folder))
    if args.baseline:
        baseline_env = {**env, "PYTHONPATH": os.pathsep.join(filter(None, (str(args.baseline.resolve()),
                                                                              env.get("PYTHONPATH"))))}
        for label in [label for label in commands if label.startswith("cmflow ")]:
            commands[f"{label} [baseline]"] = commands[label]
            # A validation cache of its own: the trees' answers for the same file share an entry
            # name, and each would evict the other's (their modules differ), warm runs going cold.
            cache = folder / ("baseline-cold-cache" if label in emptied else "baseline-cache")
            envs[f"{label} [baseline]"] = {**envs.get(label, {}), **baseline_env, "CMFLOW_CACHE_DIR": str(cache)}
            if label in emptied:
                emptied[f"{label} [baseline]"] = cache
    print(f"interpreter: {sys.executable} (Python {sys.version.split()[0]}), {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}, {args.runs} rounds, plugins: "
          f"{'all installed' if args.all_plugins else 'built-ins only'}")
    timings = time_commands(commands, args.runs, env, envs, emptied)
    print(f"\nCPU time (user + system), median; ratios: medians of the ratios within a round\n")
    header = f"{'command':<38}{'CPU':>8}{'wall':>8}{'/ pass':>9}{'/ imports':>11}{'/ floor':>9}"
    print(header)
    print("-" * len(header))
    for label, timing in timings.items():
        print(f"{label:<38}{statistics.median(timing.cpu) * 1000:>6.0f}ms{statistics.median(timing.wall) * 1000:>6.0f}ms"
              + "".join(f"{median_ratio(timing.cpu, timings[reference].cpu):>{width}.2f}x"
                        for reference, width in ((PASS, 8), (IMPORTS, 10), (FLOOR, 8))))
    if args.baseline:
        print(f"\nthis tree / baseline ({args.baseline}), CPU, median of the ratios within a round:\n")
        for label in [label for label in commands if f"{label} [baseline]" in commands]:
            this, before = timings[label], timings[f"{label} [baseline]"]
            print(f"{label:<38}{statistics.median(before.cpu) * 1000:>6.0f}ms ->{statistics.median(this.cpu) * 1000:>6.0f}ms"
                  f"{median_ratio(this.cpu, before.cpu):>8.2f}x")
    print(f"\n/ pass: python -c pass; / imports: python -c 'import click, pydantic' (pydantic's import is lazy:\n"
          f"its models' machinery loads with the first model); / floor: the {FLOOR}.")
    if args.breakdown:
        print_breakdown(args.breakdown, {**env, "CMFLOW_CACHE_DIR": str(cold_cache)})

    failed = False
    for label, arguments in (("cmflow --help", ("--help",)),
                             ("cmflow validate workflows/demo.toml --no-cache (in full)",
                              ("validate", "--no-cache", str(DEMO_WORKFLOW)))):
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
        imports = imported_modules(arguments, env)
        print("  heaviest packages (-X importtime, one run, summed over their modules):")
        for package, milliseconds, count in heaviest_packages(imports, args.top):
            print(f"    {package:<24}{milliseconds:>7.1f}ms  ({count} modules)")
        print("  what cmflow's modules import (each with everything it imports in turn):")
        for package, milliseconds, importers in heaviest_dependencies(imports, args.top):
            print(f"    {package:<24}{milliseconds:>7.1f}ms  (imported by {importers})")
    loaded_modules(("validate", str(DEMO_WORKFLOW)), env)  # remembers again what --no-cache above forgot
    warm = loaded_modules(("validate", str(DEMO_WORKFLOW)), env)
    heavy = sorted({name.split(".")[0] for name in warm} & {"click", "pydantic", *FORBIDDEN_FOR_HELP})
    plugins = sorted(set(warm) & plugin_modules())
    print(f"\ncmflow validate workflows/demo.toml on a warm cache: {len(warm)} modules loaded; "
          f"click, pydantic or heavier: {', '.join(heavy) or 'none'}; plugin modules: {len(plugins)}")
    print_target(timings)
    return 1 if failed else 0


def print_target(timings: dict[str, Timing]) -> None:
    """Last, so nobody misses it: whether validate met its target on a warm cache, and cold."""
    warm, cold, floor, bare = timings[VALIDATE], timings[VALIDATE_COLD], timings[FLOOR], timings[PASS]
    cpu = statistics.median(warm.cpu)
    print(f"\ntarget: cmflow validate workflows/demo.toml under {VALIDATE_TARGET * 1000:.0f} ms of CPU on a warm cache "
          f"(median of {len(warm.cpu)}): {'met' if cpu < VALIDATE_TARGET else 'missed'}, {cpu * 1000:.0f} ms "
          f"({median_ratio(warm.cpu, bare.cpu):.2f}x python -c pass, {statistics.median(bare.cpu) * 1000:.0f} ms, "
          f"in the same rounds)")
    print(f"        cold, cache empty (a full validation, remembered): {statistics.median(cold.cpu) * 1000:.0f} ms "
          f"({median_ratio(cold.cpu, bare.cpu):.2f}x python -c pass, {median_ratio(cold.cpu, floor.cpu):.2f}x the "
          f"libraries' floor, {statistics.median(c - f for c, f in zip(cold.cpu, floor.cpu)) * 1000:+.0f} ms over it): "
          f"{'met' if statistics.median(cold.cpu) < VALIDATE_TARGET else 'missed'}")


if __name__ == "__main__":
    sys.exit(main())
