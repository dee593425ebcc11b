"""The folder a daemon watches: which workflow files it holds, valid and scheduled, and what
changed since the last look.

Every ``*.toml`` under the folder is a workflow, except the daemon's settings file and files in
hidden folders. A file is read again only when it (or the ``.env`` beside it) changed. An edit
that breaks a file is reported once and the previous valid version keeps running; a removed file
stops being scheduled (a run under way finishes). Besides validation, the daemon refuses what
would make a workflow misbehave under it: a pinned ``as_of`` (its period would never move), a
``[store]`` other than the daemon's, two files with the same workflow id, and, with runs on Celery
workers, a ``timeout`` as long as the broker's visibility timeout (a run still under way would be
handed to a second worker).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from cmflow.foundation.durations import format_duration
from cmflow.foundation.errors import Problem, WorkflowInvalid
from cmflow.foundation.schedules import ScheduleSet, parse_schedules
from cmflow.foundation.text_files import read_text
from cmflow.workflow import Workflow, load_workflow
from cmflow.daemon.settings_file import is_daemon_settings


@dataclass
class ScheduledWorkflow:
    """A valid workflow file as the daemon runs it."""

    file: Path
    workflow: Workflow
    timetable: ScheduleSet | None
    """None: the workflow has no schedule and only runs by hand."""
    signature: tuple
    text: str
    """The content validated: what its runs run, even if the file is broken since."""

    @property
    def key(self) -> str:
        return self.workflow.key

    @property
    def tz(self) -> str:
        return self.workflow.settings.timezone

    def timeout(self, default: timedelta) -> timedelta:
        return self.workflow.settings.timeout or default


@dataclass
class CatalogChanges:
    """What one look at the folder found."""

    added: list[ScheduledWorkflow] = field(default_factory=list)
    changed: list[ScheduledWorkflow] = field(default_factory=list)
    removed: list[ScheduledWorkflow] = field(default_factory=list)
    invalid: dict[Path, list[Problem]] = field(default_factory=dict)
    """Files found invalid at this look (newly, or after an edit); a valid version may keep running."""

    def __bool__(self) -> bool:
        return bool(self.added or self.changed or self.removed or self.invalid)


class WorkflowCatalog:
    """The workflows of one folder, kept up to date by :meth:`refresh`."""

    def __init__(self, directory: Path, store_url: str, visibility_timeout: timedelta | None = None) -> None:
        self.directory = directory
        self.store_url = store_url
        self.visibility_timeout = visibility_timeout
        """With runs on Celery workers: a run's timeout must be shorter (None: no such bound)."""
        self.by_file: dict[Path, ScheduledWorkflow] = {}
        self.problems: dict[Path, list[Problem]] = {}
        """Files whose current content is invalid (their previous valid version may still run)."""
        self._seen: dict[Path, tuple] = {}
        self._keys: dict[str, ScheduledWorkflow] | None = None
        """by_key's index, rebuilt after each refresh (None while a refresh is under way)."""

    @classmethod
    def for_daemon(cls, directory: Path, store_url: str, options) -> "WorkflowCatalog":
        """The catalog a daemon with these ``[daemon]`` options keeps (what ``cmflow status``
        shows too): under ``executor = "celery"``, bounded by its visibility timeout."""
        bound = options.visibility_timeout if options.executor == "celery" else None
        return cls(directory, store_url, visibility_timeout=bound)

    @property
    def workflows(self) -> list[ScheduledWorkflow]:
        """By file path."""
        return [self.by_file[path] for path in sorted(self.by_file)]

    def by_key(self, key: str) -> ScheduledWorkflow | None:
        return next((s for s in self.by_file.values() if s.key == key), None) \
            if self._keys is None else self._keys.get(key)

    def refresh(self) -> CatalogChanges:
        """Look at the folder again; load what is new or changed."""
        changes = CatalogChanges()
        self._keys = None
        found = {path: file_signature(path) for path in self._files()}
        for path in [p for p in self.by_file if p not in found]:
            changes.removed.append(self.by_file.pop(path))
        if changes.removed or any(self._seen.get(p) != s for p, s in found.items()):
            for path, problems in self.problems.items():  # the other file with its id may be gone
                if any(p.path == "workflow.id" for p in problems):
                    self._seen.pop(path, None)
        for path in [p for p in self._seen if p not in found]:
            del self._seen[path]
            self.problems.pop(path, None)
        for path, signature in found.items():
            if self._seen.get(path) == signature:
                continue
            self._seen[path] = signature
            try:
                loaded = self._load(path, signature)
            except WorkflowInvalid as exc:
                self.problems[path] = list(exc.problems)
                changes.invalid[path] = list(exc.problems)
                continue
            self.problems.pop(path, None)
            (changes.changed if path in self.by_file else changes.added).append(loaded)
            self.by_file[path] = loaded
        self._keys = {s.key: s for s in self.by_file.values()}
        return changes

    def _files(self) -> list[Path]:
        files = []
        for path in sorted(self.directory.rglob("*.toml")):
            relative = path.relative_to(self.directory)
            if any(part.startswith(".") for part in relative.parts) or is_daemon_settings(path):
                continue
            if path.is_file():
                files.append(path.resolve())
        return files

    def _load(self, path: Path, signature: tuple) -> ScheduledWorkflow:
        text = read_text(path)
        workflow = load_workflow(path, text=text)
        problems = []
        settings = workflow.settings
        if settings.as_of is not None:
            problems.append(Problem(str(path), "workflow.as_of", "as_of pins the period, so every "
                                    "scheduled run would report the same days",
                                    "remove as_of: under the daemon each run reports the period "
                                    "of its slot"))
        if workflow.store.url is not None and _same_store(workflow.store.url) != _same_store(self.store_url):
            from cmflow.store import display_url

            problems.append(Problem(str(path), "store.url", f"the daemon keeps its state in "
                                    f"{display_url(self.store_url)}, not {display_url(workflow.store.url)}",
                                    "remove [store] (or give the daemon this store with --store); "
                                    "run one daemon per store"))
        other = self.by_key(workflow.key)
        if other is not None and other.file != path:
            problems.append(Problem(str(path), "workflow.id", f"{other.file.name} already has the "
                                    f"workflow id {workflow.key!r}: they would share run history and alerts",
                                    "give each workflow its own id"))
        if (self.visibility_timeout is not None and settings.timeout is not None
                and settings.timeout >= self.visibility_timeout):
            problems.append(Problem(str(path), "workflow.timeout", f"a run may take {format_duration(settings.timeout)}, "
                                    f"but the broker hands a run to a second worker after the daemon's "
                                    f"visibility_timeout ({format_duration(self.visibility_timeout)}), while the "
                                    "first still runs it",
                                    "lower timeout, or raise [daemon] visibility_timeout above it (the same on "
                                    "the daemon and every worker)"))
        if problems:
            raise WorkflowInvalid(problems)
        timetable = parse_schedules(settings.schedule) if settings.schedule else None
        return ScheduledWorkflow(path, workflow, timetable, signature, text)


def file_signature(path: Path) -> tuple:
    """What changes when the file or the ``.env`` beside it is edited, replaced or touched."""
    parts = []
    for candidate in (path, path.parent / ".env"):
        try:
            stat = candidate.stat()
        except FileNotFoundError:
            parts.append(None)
        else:
            parts.append((stat.st_mtime_ns, stat.st_size, stat.st_ino))
    return tuple(parts)


def _same_store(url: str) -> str:
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        return "sqlite:///" + str(Path(url.removeprefix("sqlite:///")).expanduser().resolve())
    return url
