"""What cmflow hands to each plugin kind's method: the run's context, typed."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

from cmflow.foundation.production import Production
from cmflow.plugins.input_paths import resolve_input_path

if TYPE_CHECKING:
    import polars as pl

    from cmflow.foundation.alerts import Verdict
    from cmflow.http import HttpClient
    from cmflow.foundation.periods import Period


@dataclass(frozen=True)
class CountedRange:
    """A table whose counters cover an export's date range (YouTube Studio's: each video's views
    over the range), not each record's lifetime (:meth:`FetchContext.counts_over`)."""

    kind: str
    platform: str
    accounts: tuple[str, ...]
    """The table's accounts (empty: not known)."""
    first: date
    last: date
    counters: tuple[str, ...]
    """The counter fields the table carries: those it cannot tell for a record published
    outside the range."""


IN_RUN_SUMMARY = "in_run_summary"
"""Log-record attribute of a message the run summary shows too (a terminal need not print it twice)."""

@dataclass
class FetchContext:
    """Given to :meth:`Source.fetch`: what to fetch and where the workflow lives."""

    window_start: datetime
    """First instant (UTC) of the earliest period the run needs."""
    window_end: datetime
    """First instant (UTC) after the latest period the run needs."""
    periods: Sequence["Period"]
    """The run's periods: the current one first, then those it is compared with and the trend's."""
    workflow_dir: Path
    log: logging.Logger
    problems: list[str] = field(default_factory=list)
    """Non-fatal problems (e.g. skipped rows) the source reports; shown in the run summary."""
    http_client: Callable[[], Any] | None = field(default=None, repr=False)
    """Gives the run's shared HTTP client; use :attr:`http`."""
    skipped: list[str] = field(default_factory=list)
    """Rows of the source's input left out (``on_error = "skip"``), one line each saying where
    and why (see :meth:`skip`); listed in the run summary and the report."""
    as_of: datetime | None = None
    """The run's clock: the instant the run started (not ``cmflow run --as-of``, which is
    :attr:`as_of_day`); None in a context built by hand. No export holds a day after it is read,
    so a date written without a year is never placed after this instant's day in the workflow's
    time zone (see :attr:`as_of_day` for the year such a date gets)."""
    inputs: dict[str, list[str]] = field(default_factory=dict)
    """What the source read, by what it is (``meta_facebook_posts of Maison Lumen``), with the
    files it came from (see :meth:`read_input`); kept in the run history, so that the next run
    says when one is gone (a folder that lost a file)."""
    latest_segment: bool = True
    """Whether this is the latest part of the window the source is asked for in this run (an
    incremental source may be asked for two: before its cursor, and after it). A current value
    (today's follower count) is read in this part only: dated by another part's window, it would
    be a made-up point."""
    as_of_day: date | None = None
    """The day the run counts as today, in the workflow's time zone: ``cmflow run --as-of`` or the
    workflow's ``as_of`` as given, else today; None in a context built by hand. A date written
    without a year gets the latest year that puts it on or before the latest day the file can
    hold: the clock's day (:attr:`as_of`), or 31 days after this day or the run's latest period's
    end if that is earlier. (Added last, so that a context built positionally keeps working.)"""
    ranges: list[CountedRange] = field(default_factory=list)
    """Each table whose counters cover an export's date range rather than each record's lifetime
    (:meth:`counts_over`). (Added last, as :attr:`as_of_day`.)"""

    @property
    def http(self) -> "HttpClient":
        """The run's HTTP client (:mod:`cmflow.http`), shared by every source of the run, so
        that one request budget per platform and token holds across them. Created on first use
        and closed by cmflow when the sources are done."""
        if self.http_client is None:
            from cmflow.http import make_client

            client = make_client()  # a context built by hand (tests): a client of its own
            self.http_client = lambda: client
        return self.http_client()

    def resolve_path(self, value: str) -> Path:
        """Resolve a path option: relative to the workflow file, ``builtin:`` for bundled data."""
        return resolve_input_path(value, self.workflow_dir)

    def warn(self, message: str) -> None:
        """Say something of this fetch in the run summary: plain text is a note; a
        :class:`cmflow.RunWarning` is a warning of the run (it ends ``warning``, reports that list
        warnings show it, in their language when their catalogue has its code)."""
        self.problems.append(message)
        self.log.warning(message, extra={IN_RUN_SUMMARY: True})

    def read_input(self, what: str, path: str) -> None:
        """Record that the source read ``what`` (an export format and account) from ``path``: a
        later run of the workflow that no longer finds ``what`` says so, naming it and the path."""
        paths = self.inputs.setdefault(what, [])
        if path not in paths:
            paths.append(path)

    def counts_over(self, kind: str, platform: str, accounts: "Sequence[str]", first: date, last: date,
                    counters: "Sequence[str]") -> None:
        """Record that the ``counters`` of this source's ``kind`` records of ``platform`` and
        ``accounts`` cover ``first`` to ``last`` (the days of an export's range: YouTube Studio's
        table), not each record's lifetime: a record published outside the range has there its
        figures within the range, not to date. :mod:`cmflow.stages.source_gaps` gives no value
        to a figure that reads those counters of such a record, nor to any figure of a period
        after the range in the series the table may be in."""
        entry = CountedRange(kind, platform, tuple(sorted(accounts)), first, last, tuple(counters))
        if entry not in self.ranges:
            self.ranges.append(entry)

    def skip(self, row: str) -> None:
        """Record one row left out, e.g. ``posts.csv, line 7, column 5 "Likes": value "-3" is
        negative``. Say how many were left out with :meth:`warn` as well."""
        self.skipped.append(row)
        self.log.info("skipped %s", row)


class SharedHttpClient:
    """One :class:`cmflow.http.HttpClient` for a whole run, made on first use (a run without
    HTTP sources never imports the HTTP kit) and safe to ask for from the sources' threads."""

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._client: "HttpClient | None" = None
        self._lock = threading.Lock()

    def __call__(self) -> "HttpClient":
        with self._lock:
            if self._client is None:
                from cmflow.http import make_client

                self._client = make_client(**self._options)
            return self._client

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None


@dataclass
class MetricInput:
    """Given to :meth:`Metric.compute`: this metric's records, placed in periods.

    ``records[kind]`` holds the records of the metric's sources that fall in one of the run's
    periods, with a ``period`` column (a record in two periods appears twice);
    ``all_records[kind]`` holds everything the sources returned, unlabelled (for baselines
    such as the follower count the day before a period).

    ``period``, ``platform`` and ``account`` are ``pl.Categorical`` columns (grouped and joined
    by integer codes): compare them with strings freely, but cast a frame of your own to
    ``pl.Categorical`` (or these columns to ``pl.String``) before joining the two.
    """

    records: dict[str, "pl.LazyFrame"]
    all_records: dict[str, "pl.LazyFrame"]
    periods: Sequence["Period"]
    grouping_sets: list[tuple[str, ...]]
    as_of: datetime | None = None
    """The instant the run counts as now (``cmflow run --as-of``, else the clock), in UTC: what
    "still unanswered" and "older than the SLA" are judged at. None in an input built by hand."""
    brand_sets: Sequence[tuple[str, ...]] = ()
    """The ids of the brands the workflow's ``[listen]`` watches, in the sets compared with each
    other (the brands of each client, those of no client), the brand first: a listening metric
    gives each brand of a set it sees a row, 0 where it has no mention (none in an input built
    by hand)."""
    share_sets: Sequence[tuple[str, ...]] = ()
    """With several own brands (``[[listen.brands]]``), the brand ids one share of voice divides
    among: each client's own brand with that client's competitors; empty (one own brand, or an
    input built by hand): every watched brand of a period together."""
    production: Production = field(default_factory=Production)
    """The workflow's ``[production]`` section: hourly rates and campaign budgets, with
    :meth:`Production.priced_hours` to price time entries (empty in an input built by hand)."""
    watched_accounts: Sequence[str] = ()
    """The public accounts the ``[listen]`` brand and its competitors list (their ``accounts``):
    authors a ranking of the people talking about the brands leaves out (none in an input built
    by hand)."""


@dataclass
class TriggerInput:
    """Given to :meth:`Trigger.evaluate`.

    ``measurements`` holds every measurement of the run's current period; ``comparisons``
    the same rows with, per comparison period, ``previous_value``, ``change`` and ``change_pct``
    (``comparison`` says which period).
    """

    measurements: "pl.DataFrame"
    comparisons: "pl.DataFrame"
    period: "Period"
    history: "pl.DataFrame | None" = None
    """Measurements of the trigger's metric for the periods before the current one (as many as
    :meth:`Trigger.history_needed` asks), same columns as ``measurements``, ``period`` being
    ``history-1`` (the period just before) ... ``history-N``. Series the fetched records do
    not cover are filled from the store. Empty when the trigger asks for no history."""
    verdicts: list["Verdict"] = field(default_factory=list)
    """A trigger that judges KPIs against objectives appends :class:`cmflow.Verdict` here; the
    reports show them."""
    now: datetime | None = None
    notes: list[str] = field(default_factory=list)
    """What a person should know about this evaluation that is no alert (see :meth:`note`)."""

    def note(self, message: str) -> None:
        """Say something about this evaluation that is not an alert, e.g. "2 series not judged:
        not enough history yet". Shown with the trigger in the run summary and the report."""
        self.notes.append(message)


@dataclass
class DeliveryContext:
    """Given to :meth:`Output.deliver`: where the workflow lives, a logger, and whether this
    is a dry run (outputs that deliver externally are not called in one)."""

    workflow_dir: Path
    log: logging.Logger
    dry_run: bool = False
