"""What the daemon tells whoever watches its loop (the operator metrics, :mod:`cmflow.metrics`):
runs started and ended, and a way to read its queue at any time.

The loop calls one observer at a few fixed points instead of knowing what is measured; a
watcher that wants more (a lease, a new gauge) reads the daemon through :class:`WatchedDaemon`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from cmflow.daemon.worker import RunOutcome, RunRequest


class WatchedDaemon(Protocol):
    """What an observer may read of the daemon, from any thread, at any time."""

    scheduling: bool
    """Whether this daemon schedules runs (a standby daemon does not)."""

    def queued_slots(self) -> int:
        """Slots due and waiting for a free run."""

    def runs_in_flight(self) -> int:
        """Runs under way: handed to the executor, started, and not ended yet."""

    def runs_waiting_for_a_worker(self) -> int:
        """Runs handed to the executor that no worker has started yet (0 with local runs)."""


class DaemonObserver(Protocol):
    """Told by the daemon's loop what happens; every method returns at once and never raises."""

    def watching(self, daemon: WatchedDaemon) -> None:
        """The daemon started (its store is open): from now on ``daemon`` may be read."""

    def run_started(self, request: "RunRequest", late: float) -> None:
        """A run started, ``late`` seconds after its slot: as it was handed to the executor, or,
        for runs on workers, once a worker started it."""

    def run_ended(self, outcome: "RunOutcome") -> None:
        """A run ended (or was refused, or could not start): ``outcome.status`` says how."""

    def stopped(self) -> None:
        """The daemon stopped."""


class QuietObserver:
    """The observer of a daemon nobody watches: does nothing."""

    def watching(self, daemon: WatchedDaemon) -> None:
        pass

    def run_started(self, request: "RunRequest", late: float) -> None:
        pass

    def run_ended(self, outcome: "RunOutcome") -> None:
        pass

    def stopped(self) -> None:
        pass
