"""The result of one run: what outputs receive and what the CLI summarises."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from cmflow.foundation.alerts import Alert, AlertItem, Notification, Verdict
from cmflow.foundation.clients import Client
from cmflow.foundation.objectives import Objective, ObjectiveResult
from cmflow.foundation.polarity import Polarity
from cmflow.plugins.run_memo import RunMemo

if TYPE_CHECKING:
    import polars as pl

    from cmflow.plugins.context import CountedRange

    from cmflow.foundation.periods import Period

REMEMBERED_ACCOUNTS = 1000
"""The most accounts the run history keeps for one source (:attr:`StageReport.accounts`): a
source reading more is remembered as null (not known) and, when it fails without saying whose
records it reads, is everyone's."""


class RunWorkflow(Protocol):
    """What outputs see of the workflow being run: a ``cmflow.workflow.Workflow``, described
    here by the parts a plugin reads, because the workflow file's layer sits above this one."""

    file: Path
    settings: Any
    """The ``[workflow]`` table, validated: ``name``, ``timezone``, ``period``, ``compare`` ..."""
    sources: list[Any]
    """The workflow's source entries (none for the daemon's health outputs)."""
    clients: list[Client]
    """The ``[[clients]]`` entries: their accounts and display names, language, branding,
    recipients (see :func:`cmflow.client_of`)."""
    objectives: list[Objective]
    """The ``[[objectives]]`` entries; ``RunResult.objectives`` holds their results."""

    @property
    def name(self) -> str: ...

    @property
    def key(self) -> str:
        """What the store files the workflow's history and alerts under."""

    @property
    def directory(self) -> Path: ...

    def measurement_names(self) -> dict[str, str]:
        """Every measurement the workflow's metrics produce, with its unit."""

    def polarity_of(self, measurement: str) -> Polarity:
        """Whether ``measurement`` is better higher (``up``), lower (``down``) or neither
        (``neutral``): reports colour and word its changes by it."""

    def client(self, client_id: str) -> Client | None:
        """The client of that id, or None."""

    def breakdowns_of(self, measurement: str) -> list[tuple[str, ...]]:
        """The dimension sets ``measurement`` is measured by, from its metric entries' ``by``."""

    def source_accounts(self, source_id: str) -> frozenset[str] | None:
        """The accounts a source reads, when its options say so (:meth:`cmflow.Source.accounts`)."""

    def measurement_scopes(self, without: tuple[str, ...] = ()) -> dict[str, str]:
        """Each measurement's scope: a hash of the filters its figures are measured with."""

    def row_scopes(self) -> dict[tuple[str, ...], dict[str, str]]:
        """Each measurement's scope for each shape of row (with or without account, platform)."""

    def source_filters(self) -> dict[str, dict[str, list[str]]]:
        """Each source's effective filter by id, normalised."""

    def metric_filters(self) -> dict[str, dict[str, list[str]]]:
        """The ``where`` of the metric producing each measurement, normalised."""


@dataclass
class StageReport:
    """How one workflow entry (a source, metric, trigger or output) fared."""

    kind: str
    id: str
    plugin: str
    ok: bool = True
    error: str | None = None
    problems: list[str] = field(default_factory=list)
    """Non-fatal problems, e.g. "skipped 3 bad rows"."""
    warnings: list[str] = field(default_factory=list)
    """Problems that put the figures in doubt without failing the entry (a ``where`` value never
    seen, :mod:`cmflow.stages.where_misses`): the run ends ``warning``."""
    skipped: list[str] = field(default_factory=list)
    """For sources: every input row left out (``on_error = "skip"``), with where and why."""
    details: list[str] = field(default_factory=list)
    """For a failed entry: lines that go under its error, one thing each (every bad row of an
    export: place, record, column, value, problem), printed one per line by the run summary;
    the run history keeps ``error`` alone."""
    counts: dict[str, int] = field(default_factory=dict)
    inputs: dict[str, list[str]] = field(default_factory=dict)
    """For sources: what they read (an export format and account) and the files it came from
    (:meth:`~cmflow.plugins.context.FetchContext.read_input`); kept in the run history."""
    note: str | None = None
    """For outputs: what was delivered (a file path ...)."""
    platforms: list[str] = field(default_factory=list)
    """For sources: the platforms whose data it reads: as its class or options say, else those of
    the records it returned; for one that failed without saying, those it returned at its last
    run the store remembers (an incomplete report names them, not "an exported file")."""
    accounts: list[str] | None = None
    """For sources: the accounts whose records it reads, as its options say (its ``account``,
    its ``where``), else those of the records it returned; for one that failed without saying,
    those its records had at its last run the store remembers; None when not known. A failed
    source makes incomplete the reports of the clients owning these accounts, every report
    when they are not known."""
    ranges: list["CountedRange"] = field(default_factory=list)
    """For sources: each table whose counters cover an export's date range rather than each
    record's lifetime (:meth:`~cmflow.plugins.context.FetchContext.counts_over`)."""


@dataclass
class RunResult:
    """Everything one run produced.

    ``measurements`` has one row per metric, period and series, with ``period`` (the label:
    ``current``, ``previous_period`` ...), ``period_start``/``period_end``, ``series_key`` and
    the dimension columns. ``comparisons`` has one row per current measurement and comparison
    period, with ``comparison``, ``previous_value``, ``change`` (difference, in the metric's
    unit; percentage points for rates) and ``change_pct`` (relative change in %), and
    ``change_reason`` when a change has no value.
    """

    workflow: RunWorkflow
    period: "Period"
    comparison_periods: list["Period"]
    started_at: datetime
    dry_run: bool
    run_id: int | None = None
    records: dict[str, "pl.DataFrame"] = field(default_factory=dict)
    measurements: "pl.DataFrame | None" = None
    comparisons: "pl.DataFrame | None" = None
    alerts: list[Alert] = field(default_factory=list)
    """Alerts firing now (``is_new`` tells which started at this run)."""
    resolved: list[Alert] = field(default_factory=list)
    """Alerts that resolved at this run."""
    pending: list[Alert] = field(default_factory=list)
    """Alerts whose condition holds but not yet for their rule's ``for`` runs."""
    notifications: list[Notification] = field(default_factory=list)
    """Alert events announced at this run (started firing, reminder due, resolved), silenced
    ones left out; notifier outputs send them."""
    alert_items: dict[str, tuple[AlertItem, ...]] = field(default_factory=dict)
    """The records behind each announced alert, by its fingerprint, oldest first, where its
    metric lists them (:class:`cmflow.ListsItems`): the messages an escalation lists."""
    verdicts: list["Verdict"] = field(default_factory=list)
    """KPIs judged against objectives (``target`` triggers): on track, at risk, off track, for alerts."""
    objectives: list[ObjectiveResult] = field(default_factory=list)
    """The workflow's ``[[objectives]]`` judged at this run: one result per objective and series,
    with its figures, progress and verdict (continue, optimise, change, stop) or why there is none."""
    alert_changes: list[Alert] = field(default_factory=list)
    """Every alert whose stored state this run changes."""
    all_periods: list["Period"] = field(default_factory=list)
    """Every period measured: current, comparisons, then the history triggers asked for."""
    unshared_counters: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Brand -> the counters its ``brand`` rows leave out because another brand of its set never
    reports them (the measure stage's :attr:`~cmflow.stages.measure.Measured.unshared_counters`)."""
    stages: list[StageReport] = field(default_factory=list)
    finished_at: datetime | None = None
    past_period: bool = False
    """The run covered a period older than the latest one recorded (a back-fill): its alerts
    are reported but the alert state in the store is left as it is."""
    stopped: str | None = None
    """Why the run stopped before sending all its messages (``stopped by SIGTERM``), if it did:
    the rest wait in the outbox."""
    resend: dict[str, frozenset[str] | None] = field(default_factory=dict)
    """Outputs whose once-a-period messages (a client's report e-mail, ``send_once``) this run
    sends again on purpose (``cmflow resend``), by output id: the client ids named, or None for
    every client. Their new messages get keys of their own, so the outbox queues them again."""
    resent: dict[str, list[str]] = field(default_factory=dict)
    """What this run queued again of :attr:`resend`, by output id: the ids of the clients whose
    report was queued (set by the compose stage; empty when a resend queued nothing)."""
    memo: RunMemo = field(default_factory=RunMemo, repr=False, compare=False)
    """What the run's outputs make once and share (thumbnails, rendered reports): the same memo
    in every view of the run an output's ``where`` makes (:mod:`cmflow.plugins.run_memo`)."""

    @property
    def failed_stages(self) -> list[StageReport]:
        return [s for s in self.stages if not s.ok]

    @property
    def failed_sources(self) -> list[StageReport]:
        """Sources that failed: the run's figures leave their records out."""
        return [s for s in self.failed_stages if s.kind == "source"]

    @property
    def status(self) -> str:
        """ok, warning (everything ran, but an entry's figures are in doubt: a ``where`` value
        never seen), failed (a source, metric or trigger failed), undelivered (an output failed)
        or interrupted (stopped by a signal while delivering)."""
        if self.stopped:
            return "interrupted"
        if any(s.kind != "output" for s in self.failed_stages):
            return "failed"
        if self.failed_stages:
            return "undelivered"
        if self.warnings:
            return "warning"
        return "ok"

    @property
    def warnings(self) -> list[str]:
        """Every stage's warnings (see :attr:`StageReport.warnings`), in the stages' order."""
        return [warning for stage in self.stages for warning in stage.warnings]

    def current(self, metric: str) -> "pl.DataFrame":
        """Current-period measurements of one metric, with their comparisons (wide)."""
        import polars as pl

        frame = self.measurements
        if frame is None or frame.height == 0:
            return pl.DataFrame()
        rows = frame.filter((pl.col("metric") == metric) & (pl.col("period") == "current"))
        if self.comparisons is None or self.comparisons.height == 0:
            return rows
        for period in self.comparison_periods:
            label = period.label
            compared = self.comparisons.filter(
                (pl.col("metric") == metric) & (pl.col("comparison") == label)
            ).select("series_key", *[pl.col(c).alias(f"{label}.{c}") for c in
                                      ("previous_value", "change", "change_pct", "change_reason")])
            rows = rows.join(compared, on="series_key", how="left")
        return rows

    def value(self, metric: str, **dimensions: Any) -> float | None:
        """The current value of one series (dimensions not given must be empty)."""
        from cmflow.foundation.measurements import dimension_columns
        import polars as pl

        rows = self.current(metric)
        if rows.height == 0:
            return None
        for column in dimension_columns(self.measurements):
            wanted = dimensions.get(column)
            rows = rows.filter(pl.col(column).is_null() if wanted is None else pl.col(column) == wanted)
        return rows["value"][0] if rows.height else None

    def output_path(self, template: str, **values: str) -> "Path":
        """A file path from an output's template: {workflow}, {period} and {date} are replaced.

        {workflow} becomes a file-name-safe form of the workflow's name, {period} the current
        period (``2026-11-16..2026-11-22``), {date} today's date (UTC); what they put in never
        holds ``/`` or ``..`` (see :mod:`cmflow.plugins.output_paths`). ``values`` fill an output's
        own placeholders (a report's {client}, {format} ...) the same safe way. Raise ValueError if
        the path is an existing folder.
        """
        from cmflow.plugins.output_paths import fill_path_template

        today = datetime.now(timezone.utc).date().isoformat()
        return fill_path_template(template, {"workflow": self.workflow.name, "period": str(self.period),
                                             "date": today, **values})

    def stats(self) -> dict[str, Any]:
        """Counts kept in run history."""
        return {
            "records": {kind: frame.height for kind, frame in self.records.items()},
            "measurements": 0 if self.measurements is None else self.measurements.height,
            "alerts_firing": len(self.alerts),
            "alerts_new": sum(1 for a in self.alerts if a.is_new),
            "alerts_resolved": len(self.resolved),
            "alerts_pending": len(self.pending),
            "notifications": len(self.notifications),
            "failed": [f"{s.kind} {s.id}: {s.error}" for s in self.failed_stages],
            "source_platforms": {s.id: s.platforms for s in self.stages
                                 if s.kind == "source" and s.ok and s.platforms},
            # Every source read: null when its accounts are not known or too many to keep, so that
            # the next run that fails never takes an older, shorter list for all it reads.
            "source_accounts": {s.id: s.accounts if s.accounts and len(s.accounts) <= REMEMBERED_ACCOUNTS
                                else None for s in self.stages if s.kind == "source" and s.ok},
            "warnings": self.warnings,
            **({"resent": {output: sorted(clients) for output, clients in self.resent.items() if clients}}
               if any(self.resent.values()) else {}),
            "inputs": {s.id: s.inputs for s in self.stages if s.kind == "source" and s.ok and s.inputs},
            # Each objective's decision with the rule that gave it (or why there is none).
            **({"objectives": [{"id": o.objective.id, "dimensions": {k: str(v) for k, v in o.dimensions.items()},
                                "progress": o.progress, "verdict": o.verdict, "rule": o.rule or None,
                                "reason": None if o.verdict else o.reason} for o in self.objectives]}
               if self.objectives else {}),
            # The filters the figures it kept were measured with (stages/changed_scopes.py: said
            # once when they change); a run that kept none (a source failed) says nothing.
            **({} if self.failed_sources else {
                "scopes": self.workflow.measurement_scopes(),
                "source_filters": self.workflow.source_filters(),
                "metric_filters": self.workflow.metric_filters()}),
        }
