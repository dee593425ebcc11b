"""Helpers for testing cmflow plugins: what cmflow's own tests use, public for plugin authors.

- :func:`registered_plugin`: register a plugin module (or any object with hook
  implementations) for the duration of a ``with`` block, then unregister it.
- :class:`FakeClock`: a controllable "now" for code that takes ``now=``.
- :func:`run_workflow_file`: validate and run a workflow file against a given store.
- :class:`ReplayServer` (and the ``replay_server`` pytest fixture), :class:`Reply`,
  :func:`load_replies`, :class:`VirtualTime`: replay platform answers from a loopback HTTP
  server, in virtual time (see ``docs/http.md``).
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

from cmflow.plugins.registry import PluginInfo, get_registry
# The replay HTTP server for sources (cmflow.http.replay), public here for plugin authors.
from cmflow.http.replay import (  # noqa: F401
    RecordedRequest, ReplayServer, Reply, VirtualTime, load_replies, replay_server,
)
from cmflow.plugins.result import RunResult

__all__ = ["registered_plugin", "FakeClock", "run_workflow_file",
           "ReplayServer", "Reply", "RecordedRequest", "VirtualTime", "load_replies", "replay_server"]


@contextmanager
def registered_plugin(module: Any, *, package: str = "test-plugin", version: str = "0") -> Iterator[list[PluginInfo]]:
    """Register ``module``'s plugins in the process registry; unregister them on exit.

    A module already registered (a built-in plugin, or one installed through its entry point)
    is left as it is, so a test can name the plugins it relies on either way.
    Raises ``RuntimeError`` if the module failed to register (the problem is in the message).
    """
    registry = get_registry()
    registry.load(getattr(module, "__name__", ""))  # an entry-point module not imported yet
    if registry.manager.is_registered(module):
        yield [info for info in registry.plugins.values() if info.cls.__module__ == getattr(module, "__name__", None)]
        return
    problems_before = len(registry.problems)
    added = registry.add_module(module, package=package, version=version)
    new_problems = registry.problems[problems_before:]
    if new_problems:
        del registry.problems[problems_before:]
        registry.remove(added, module)
        raise RuntimeError("; ".join(p.message for p in new_problems))
    try:
        yield added
    finally:
        registry.remove(added, module)


@dataclass
class FakeClock:
    """A clock that only moves when told to."""

    now: datetime = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def run_workflow_file(path: str | Path, *, store_url: str, dry_run: bool = False,
                      period: str | None = None, now: datetime | None = None) -> RunResult:
    """Validate and run a workflow file with the state in ``store_url`` (e.g. a tmp SQLite file)."""
    from cmflow.runner import run_workflow
    from cmflow.stages.run_periods import resolve_period
    from cmflow.store import open_store
    from cmflow.workflow import load_workflow

    workflow = load_workflow(path)
    with open_store(store_url) as store:
        return run_workflow(workflow, store=store, dry_run=dry_run, now=now,
                            period=resolve_period(workflow, period, now=now) if period else None)

