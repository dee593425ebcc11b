"""The daemon's own settings file: limits, logging, and where health alerts go.

``cmflow daemon DIR`` reads ``DIR/cmflow-daemon.toml`` when it exists (or the file ``--config``
names); every setting has a default, so the file is optional. Its ``[[outputs]]`` are notifier
outputs written exactly as in a workflow; the daemon's health alerts (a workflow failing again
and again, or its data gone stale) go out through them, with the same lifecycle, outbox and
silences as any alert. See ``docs/daemon.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from cmflow.daemon.settings_file import is_daemon_settings
from cmflow.foundation.alerts import SEVERITIES
from cmflow.foundation.durations import Duration, PositiveDuration, format_duration
from cmflow.foundation.errors import Problem, WorkflowInvalid
from cmflow.foundation.text_files import read_toml
from cmflow.plugins.option_types import Number, WholeNumber
from cmflow.workflow import DAEMON_WORKFLOW_ID, load_workflow

if TYPE_CHECKING:
    from cmflow.workflow import Workflow

HEALTH_WORKFLOW_ID = DAEMON_WORKFLOW_ID
"""The key health alerts are kept under in the store (``cmflow alerts --workflow cmflow-daemon``);
no workflow may take it."""
_TABLES = ("daemon", "health", "outputs")
RUNS_PER_PROCESS = 100
"""``[daemon] runs_per_process`` by default: see docs/daemon.md ("Run processes") for the measure."""
MAX_MEMORY_PER_PROCESS_MB = 512.0
"""``[daemon] max_memory_per_process_mb`` by default."""
SHORTEST_LEASE, LONGEST_LEASE = timedelta(seconds=3), timedelta(minutes=10)
"""Bounds of ``[daemon] lease`` and ``run_lock_lease``: renewed every third of it through the store, a lease much
shorter is lost to a busy store; much longer, and a standby waits that long to take over."""


class DaemonOptions(BaseModel):
    """The ``[daemon]`` table."""

    model_config = ConfigDict(extra="forbid")

    max_parallel_runs: WholeNumber = Field(4, ge=1, description="Runs under way at once, all workflows together.")
    run_timeout: PositiveDuration = Field(timedelta(minutes=30), description="A run taking longer is stopped "
                                  "and recorded as timed out; a workflow's own `timeout` wins.")
    stop_timeout: Duration = Field(timedelta(minutes=2), description="On SIGTERM/SIGINT, how long "
                                   "runs under way may take to finish before they are stopped.")
    reload_every: PositiveDuration = Field(timedelta(seconds=5), description="How often the folder is "
                                   "checked for added, changed and removed workflow files.")
    busy_retry: PositiveDuration = Field(timedelta(seconds=30), description="When a run is refused because "
                                 "the workflow is already running elsewhere (a `cmflow run` by hand), "
                                 "how long until the slot is tried again.")
    store: Optional[str] = Field(None, description="State store URL (`--store` overrides it). "
                                 "Default: CMFLOW_STORE, or the user state file.")
    log_format: Literal["text", "json"] = Field("text", description="text, or json: one object per line.")
    shared_budgets: Optional[str] = Field(None, description="Redis URL of the request budgets every run "
                                          "shares (redis://HOST:6379/0), so that all workers together keep "
                                          "within each platform's limits; the daemon hands it to its runs as "
                                          "CMFLOW_SHARED_BUDGETS. Default: that variable, or budgets per run.")
    # Operator metrics (docs/metrics.md): off unless an address is given.
    metrics: Optional[str] = Field(None, description="Serve Prometheus metrics on this host:port "
                                   "(e.g. \"127.0.0.1:9464\"); no authentication: keep it on a private "
                                   "network. `--metrics-address` overrides it. Default: off.")

    @field_validator("metrics")
    @classmethod
    def _a_listen_address(cls, value: str | None) -> str | None:
        from cmflow.foundation.listen_addresses import parse_listen_address

        return None if value is None else str(parse_listen_address(value))

    # Runs on Celery workers (docs/daemon.md, "Runs on Celery workers").
    executor: Literal["local", "celery"] = Field("local", description="Where runs happen: `local`, in "
                                                 "processes of this machine; `celery`, on `cmflow worker` "
                                                 "processes reached through the Redis `broker`.")
    # Processes that serve several runs: the local executor's, a Celery worker's pool (docs/daemon.md, "Runs").
    runs_per_process: WholeNumber = Field(
        RUNS_PER_PROCESS, ge=1, description="How many runs a run process (or a `cmflow worker`'s pool process, "
        "read from its --config) serves, one after the other, before it is replaced by a fresh one; 1: a fresh "
        "process per run.")
    max_memory_per_process_mb: Number = Field(MAX_MEMORY_PER_PROCESS_MB, gt=0, description="A run process (or "
                                              "a `cmflow worker`'s pool process) whose resident memory is above "
                                              "this many MiB after a run is replaced before the next run.")
    broker: Optional[str] = Field(None, description="The Redis URL runs go through with `executor = \"celery\"` "
                                  "(`redis://HOST:6379/0`). Default: CMFLOW_BROKER.")
    queue: str = Field("cmflow", min_length=1, pattern=r"^[A-Za-z0-9_.-]+$",
                       description="The queue runs are sent to; workers take them with `cmflow worker --queue`.")
    visibility_timeout: PositiveDuration = Field(timedelta(hours=2), description="A run's message not acknowledged "
                                                 "this long after a worker took it (the worker died) is handed "
                                                 "to another worker. Longer than any run's timeout.")

    lease: PositiveDuration = Field(timedelta(seconds=15), description="Several daemons may share a store: "
                                    "one schedules, holding a lease in the store that it renews every third of "
                                    "this; the others stand by and take over when it expires (at once when its "
                                    "holder was on the same host and its process is gone).")
    run_lock_lease: PositiveDuration = Field(timedelta(seconds=30), description="A run holds its workflow's "
                                             "lock in the store for this long, renewed every third of it while "
                                             "it runs: a run whose process or machine dies lets its workflow "
                                             "go within it, wherever it ran.")

    @field_validator("broker")
    @classmethod
    def _a_broker_url(cls, value: str | None) -> str | None:
        from cmflow.daemon.brokers import broker_url_problem

        if value is not None and (problem := broker_url_problem(value)):
            raise ValueError(problem)
        return value

    @model_validator(mode="after")
    def _visibility_past_the_timeout(self) -> "DaemonOptions":
        if self.executor == "celery" and self.visibility_timeout <= self.run_timeout:
            raise ValueError(f"visibility_timeout ({format_duration(self.visibility_timeout)}) must be longer than "
                             f"run_timeout ({format_duration(self.run_timeout)}), or a run still under way would be "
                             "handed to a second worker")
        return self

    @field_validator("lease", "run_lock_lease")
    @classmethod
    def _a_lease_long_enough_to_renew(cls, value: timedelta, info: ValidationInfo) -> timedelta:
        if not SHORTEST_LEASE <= value <= LONGEST_LEASE:
            waits = ("a standby waits that long to take over); the default, 15s, means a takeover within 20 s"
                     if info.field_name == "lease" else
                     "a dead run's workflow waits that long to run again); the default is 30s")
            raise ValueError(f"must be from {SHORTEST_LEASE.total_seconds():.0f}s (renewed every third of it, "
                             f"through the store) to {LONGEST_LEASE.total_seconds() / 60:.0f}m ({waits}")
        return value

    @field_validator("store")
    @classmethod
    def _a_database_url(cls, value: str | None) -> str | None:
        from cmflow.store.urls import store_url_problem

        if value is not None and (problem := store_url_problem(value)):
            raise ValueError(problem)
        return value

    @field_validator("shared_budgets")
    @classmethod
    def _a_redis_url(cls, value: str | None) -> str | None:
        from cmflow.http.shared_budget import shared_budgets_url

        return None if value is None else shared_budgets_url(value)


class HealthOptions(BaseModel):
    """The ``[health]`` table: when a workflow counts as unhealthy."""

    model_config = ConfigDict(extra="forbid")

    failures: WholeNumber = Field(3, ge=1, description="Consecutive failed runs (failed, crashed, timed out; an "
                                  "interrupted run, stopped by a restart, does not count) that raise a health alert.")
    stale_after: Number = Field(2.0, gt=0, description="Without a successful fetch for this many "
                                "of its slots (rounded up), a workflow's data is stale and raises a health alert.")
    check_every: PositiveDuration = Field(timedelta(minutes=5), description="How often health is assessed "
                                  "(also after every run).")
    severity: Literal[SEVERITIES] = Field(  # type: ignore[valid-type]
        "warning", description="Severity of health alerts.")


@dataclass
class DaemonSettings:
    """Everything in the settings file, validated; ``health_workflow`` holds its outputs."""

    file: Path | None
    daemon: DaemonOptions = field(default_factory=DaemonOptions)
    health: HealthOptions = field(default_factory=HealthOptions)
    health_workflow: "Workflow | None" = None
    """A workflow with the ``[[outputs]]`` health alerts go to; None when there are none."""
    overrides: dict[str, Any] = field(default_factory=dict)
    """``[daemon]`` values given on the command line: they win over the file's, at every reload."""

    def override(self, **values: Any) -> None:
        """Apply command-line values (None: not given) over the file's ``[daemon]`` table."""
        self.overrides.update({name: value for name, value in values.items() if value is not None})
        self.daemon = self.effective(self.daemon)

    def effective(self, options: DaemonOptions) -> DaemonOptions:
        """``options`` (as read from the file) with the command-line overrides applied."""
        return options.model_copy(update=self.overrides) if self.overrides else options


def load_daemon_settings(path: str | Path | None) -> DaemonSettings:
    """Read and validate a settings file (None: all defaults); raise WorkflowInvalid listing problems."""
    if path is None:
        return DaemonSettings(None)
    file = Path(path).resolve()  # kept with queued messages: found again from any directory
    document = read_toml(file)
    problems: list[Problem] = []
    for key in document:
        if key not in _TABLES:
            from cmflow.foundation.names import closest

            suggestion = closest(key, list(_TABLES))
            problems.append(Problem(str(file), key, f"unknown section {key!r}",
                                    f"did you mean {suggestion!r}?" if suggestion else
                                    f"sections are {', '.join(_TABLES)}"))
    daemon = _model(DaemonOptions, document.get("daemon", {}), "daemon", file, problems)
    health = _model(HealthOptions, document.get("health", {}), "health", file, problems)
    health_workflow = None
    outputs = document.get("outputs", [])
    if isinstance(outputs, list):  # a health e-mail has no run report to attach, unless asked
        outputs = [{"report": "none", **o} if isinstance(o, dict) and o.get("plugin") == "email" else o
                   for o in outputs]
    if outputs:
        from cmflow.plugins.kinds import Notifier
        from cmflow.workflow import outputs_only_workflow

        try:
            health_workflow = outputs_only_workflow(
                file, {"name": "cmflow daemon health", "id": HEALTH_WORKFLOW_ID}, outputs)
        except WorkflowInvalid as exc:
            problems.extend(exc.problems)
        else:
            for entry in health_workflow.outputs:
                if not isinstance(entry.plugin, Notifier):
                    problems.append(Problem(str(file), f"{entry.path}.plugin",
                                            f"{entry.plugin.name!r} is not a notifier",
                                            "health alerts go to notifiers: email, slack, teams, discord, webhook"))
    if problems:
        raise WorkflowInvalid(problems)
    return DaemonSettings(file, daemon, health, health_workflow)


def _model(model: type[BaseModel], raw: Any, path: str, file: Path, problems: list[Problem]) -> Any:
    if not isinstance(raw, dict):
        problems.append(Problem(str(file), path, "must be a table"))
        return model()
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        from cmflow.plugins.option_errors import explain, key_path

        for error in explain(exc, list(model.model_fields)):
            message = error.message.replace("unknown option", "unknown setting")
            hint = error.hint.replace("known options", "settings")
            problems.append(Problem(str(file), key_path(error.location, path), message, hint))
        return model()


def outputs_workflow_of(file: str) -> "Workflow":
    """The workflow a queued message's output is in, read from the file the message names: a
    workflow file, or a daemon settings file (whose ``[[outputs]]`` send health alerts). The
    daemon and ``cmflow outbox`` hand it to the outbox, which knows workflow files only."""
    if is_daemon_settings(file):
        health = load_daemon_settings(file).health_workflow
        if health is None:
            raise LookupError("the daemon settings have no [[outputs]] any more")
        return health
    return load_workflow(file)
