"""The daemon's timetable: the ``schedule`` library's job registry, wrapped so that its weak
spots never reach the user.

``schedule`` keeps the jobs and runs the due ones (:meth:`SlotScheduler.run_pending`); on its
own it computes a job's next run from when the last one *ended* (so it drifts), compares naive
local times (so daylight-saving changes and time zones are only partly right) and forgets
everything on restart. Here each :class:`SlotJob` takes its next run from the workflow's
schedule (:mod:`cmflow.foundation.schedules`: slots in the workflow's IANA zone, never from when a run
ended), on an injectable clock, and its job function decides from the store what is owed
(the last handled slot is persisted, so catch-up after downtime is the store's, not memory's).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable, Protocol

import schedule

UTC = timezone.utc


class Clock(Protocol):
    """Where the daemon reads the time; tests pass one that only moves when told to."""

    def __call__(self) -> datetime: ...


def system_clock() -> datetime:
    """Now, in UTC."""
    return datetime.now(UTC)


class SlotScheduler(schedule.Scheduler):
    """A ``schedule.Scheduler`` on an injectable clock, whose jobs are :class:`SlotJob`."""

    def __init__(self, clock: Clock = system_clock) -> None:
        super().__init__()
        self.clock = clock

    def add(self, tag: str, due: datetime, job_func: Callable[["SlotJob"], datetime | None]) -> "SlotJob":
        """A job tagged ``tag`` (the workflow's key), due at ``due``.

        When due, ``job_func(job)`` runs and returns when the job is due next (the workflow's
        next slot, or sooner to retry); None cancels the job.
        """
        job = SlotJob(self, due, job_func)
        job.tag(tag)
        self.jobs.append(job)
        return job

    def run_pending(self, between: Callable[[], None] | None = None, every: int = 16) -> None:  # type: ignore[override]
        """Run the due jobs, the longest due first; call ``between()`` after every ``every`` of
        them, so that a caller planning a thousand due workflows can start runs meanwhile."""
        for done, job in enumerate(sorted(job for job in self.jobs if job.should_run), start=1):
            self._run_job(job)
            if between is not None and done % every == 0:
                between()

    def earliest_due(self) -> datetime | None:
        """When the longest-due job fell due; None when no job is due."""
        return min((job.next_run for job in self.jobs if job.should_run), default=None)

    def job(self, tag: str) -> "SlotJob | None":
        """The job tagged ``tag``, if any."""
        return next(iter(self.get_jobs(tag)), None)

    @property
    def idle_seconds(self) -> float | None:  # type: ignore[override]
        """Seconds until the next job is due (negative when one is late); None without jobs."""
        if not self.jobs:
            return None
        return (min(job.next_run for job in self.jobs) - self.clock()).total_seconds()


class SlotJob(schedule.Job):
    """A job whose next run is set by its function, from the workflow's schedule, in UTC."""

    def __init__(self, scheduler: SlotScheduler, due: datetime, job_func: Callable[["SlotJob"], datetime | None]) -> None:
        super().__init__(interval=1, scheduler=scheduler)
        self.clock = scheduler.clock
        self.next_run = due  # aware UTC, unlike schedule's naive local times
        self.job_func = job_func  # type: ignore[assignment]
        self.unit = "slots"

    @property
    def should_run(self) -> bool:
        return self.clock() >= self.next_run

    def due_now(self) -> None:
        """Make the job due at once (a run ended, a file changed, a retry)."""
        self.next_run = self.clock()

    def due_by(self, instant: datetime) -> None:
        """Make the job due at ``instant`` at the latest."""
        self.next_run = min(self.next_run, instant)

    def run(self):  # type: ignore[override]
        """Run the job function; reschedule at the instant it returns, or cancel."""
        next_run = self.job_func(self)  # type: ignore[misc]
        self.last_run = self.clock()
        if next_run is None:
            return schedule.CancelJob
        self.next_run = next_run
        return None

    def __repr__(self) -> str:
        return f"SlotJob({sorted(self.tags)}, next_run={self.next_run.isoformat()})"

    def __str__(self) -> str:
        return repr(self)

