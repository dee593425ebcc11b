"""Which daemon schedules, when several share a store (the same workflows on two machines).

The daemon holding the store's ``scheduling`` lease plans slots, starts runs, assesses health and
sends the outbox; the others **stand by**: they watch the files and the settings as usual (so
``cmflow status`` shows them valid) and start nothing. The holder renews its lease every third
of ``[daemon] lease`` (15 s). A standby looks as often, and takes the lease once it has expired,
or at once when its holder ran on the same host and its process is gone; it then catches up from
the store as a restarted daemon does. A holder that cannot renew in time (a paused machine, a
store out of reach) stops scheduling when its lease runs out, as its own clock measures from
before it last asked, and stands by: a standby may take over from then on.

What keeps a slot from running twice across a takeover is not the lease but the run lock and the
slot check every run makes under it (``docs/daemon.md``): a run the old leader left under way holds
its workflow's lock, so the new leader's attempt is ``busy`` until it ends, and then ``done``.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Callable, Sequence

from cmflow.foundation.secrets import redactor

if TYPE_CHECKING:
    from cmflow.store import DaemonRecord, Lease, LeaseHolder, Store

log = logging.getLogger("cmflow.daemon")

SCHEDULING_LEASE = "scheduling"
"""The lease's name in the store: one per store, whatever folder its daemons watch."""
RETRY_AFTER_TROUBLE = 1.0
"""Seconds before asking again when the store could not be asked (its lease may run out meanwhile)."""
HUNG_AFTER = 120.0
"""Seconds without a sign of life from the daemon's loop after which its lease is no longer
renewed: a loop stuck for good must not keep the others standing by for ever."""


def elapsed_seconds() -> float:
    """Seconds on a clock that never jumps and, on Linux, also counts time the machine was
    suspended: a lease's end measured on it is never later than the store's."""
    return time.clock_gettime(time.CLOCK_BOOTTIME) if hasattr(time, "CLOCK_BOOTTIME") else time.monotonic()


@dataclass(frozen=True)
class RoleChange:
    """This daemon started or stopped scheduling."""

    leading: bool
    """The new role: True, this daemon schedules; False, it stands by."""
    other: "Lease | None"
    """Starting: the lease it took over (None: nobody held one). Stopping: the new holder's lease
    (None: its own ran out before it could be renewed, or it gave it back)."""


class Leadership:
    """This daemon's hold on the scheduling lease. The store is asked every third of the lease,
    by a thread of its own once :meth:`keep_in_background` started it (a loop busy for seconds,
    starting the fork server or assessing a thousand workflows, must not lose the lease), else by
    :meth:`update`. :meth:`update`, called by the daemon's loop, reports each change of role;
    :meth:`holds` says whether the daemon may start a run now."""

    def __init__(self, store: "Store", holder: "LeaseHolder", duration: timedelta,
                 elapsed: Callable[[], float] = elapsed_seconds) -> None:
        self.store = store
        self.holder = holder
        self.duration = duration
        self.elapsed = elapsed
        self.leading: bool | None = None
        """The role as last reported by :meth:`update` (None: not yet)."""
        self.seen: "Lease | None" = None
        """The lease as this daemon last read it: who schedules."""
        self._taken_from: tuple["Lease | None", bool] = (None, False)
        """The lease the last take replaced (or saw given back: True), for the log."""
        self._held_until: float | None = None
        self._next_ask = elapsed()
        self._pulse = elapsed()
        self._keeper: threading.Thread | None = None
        self._stopping = threading.Event()

    @property
    def ask_every(self) -> float:
        """Seconds between renewals (leading) or looks (standing by): a third of the lease."""
        return self.duration.total_seconds() / 3

    def holds(self) -> bool:
        """Whether this daemon holds the lease now: renewed less than a lease ago, measured from
        before it asked."""
        held_until = self._held_until
        return held_until is not None and self.elapsed() < held_until

    def seconds_until_due(self) -> float:
        """Seconds until :meth:`update` has something to do: notice the lease run out, or ask
        (when no thread asks; one that does wakes the loop when the lease is taken)."""
        due = [] if self._keeper is not None else [self._next_ask]
        held_until = self._held_until
        if self.leading and held_until is not None:
            due.append(held_until)
        return max(0.0, min(due, default=HUNG_AFTER) - self.elapsed())

    def update(self) -> RoleChange | None:
        """Report the change of role since the last call, if any (the first call always reports
        one); ask the store first when due and no thread does. The store failing to answer is
        logged; a lease held is kept until it runs out."""
        self._pulse = self.elapsed()
        if self._keeper is None and self.elapsed() >= self._next_ask:
            self._ask()
        leading = self.holds()
        if leading == self.leading:
            return None
        was_leading, self.leading = self.leading, leading
        if leading:
            other, handed_over = self._taken_from
            _log_taking_over(other, handed_over, self.seen)
            return RoleChange(True, other)
        other = self.seen if self.seen is not None and self.seen.holder != self.holder.id else None
        if other is not None:
            log.warning("standing by: daemon %s on %s schedules (its lease renewed %s)", other.holder, other.host,
                        _utc(other.renewed_at), extra={"event": "standing_by", "daemon": other.holder,
                                                       "host": other.host})
        elif was_leading:
            log.error("standing by: the scheduling lease could not be renewed within %.0f s; runs under way "
                      "finish, none starts until it is held again", self.duration.total_seconds(),
                      extra={"event": "standing_by"})
        else:
            log.warning("standing by until the scheduling lease can be read", extra={"event": "standing_by"})
        return RoleChange(False, other)

    def keep_in_background(self, changed: Callable[[], None]) -> None:
        """From now on, ask the store in a thread of its own, calling ``changed`` (which wakes the
        daemon's loop) when the lease is taken or lost. The thread stops renewing when the loop
        has not called :meth:`update` for :data:`HUNG_AFTER`: a hung daemon lets its lease expire."""

        def keep() -> None:
            said_hung = False
            while not self._stopping.wait(max(0.0, self._next_ask - self.elapsed())):
                hung = self.elapsed() - self._pulse
                if hung > HUNG_AFTER:
                    if not said_hung:
                        log.error("the daemon's loop has not moved for %.0f s: the scheduling lease is left to "
                                  "expire, so that a daemon standing by takes over", hung, extra={"event": "error"})
                    said_hung = True
                    self._next_ask = self.elapsed() + self.ask_every
                    continue
                said_hung = False
                held = self.holds()
                self._ask()
                if self.holds() != held:
                    changed()

        self._keeper = threading.Thread(target=keep, name="cmflow-lease", daemon=True)
        self._keeper.start()

    def release(self) -> bool:
        """Stop asking, and give the lease back (a clean stop) so that a standby takes over at
        once; True when this daemon held it."""
        self._stopping.set()
        if self._keeper is not None:
            self._keeper.join()
        self._held_until, self.leading = None, False
        return self.store.release_lease(SCHEDULING_LEASE, self.holder)

    def _ask(self) -> None:
        asked = self.elapsed()
        self._next_ask = asked + RETRY_AFTER_TROUBLE
        try:
            answer = self.store.acquire_lease(SCHEDULING_LEASE, self.holder, self.duration)
        except Exception as exc:
            if self.holds():
                log.error("could not renew the scheduling lease: %s; this daemon stops scheduling in %.0f s "
                          "unless it is renewed by then", redactor(str(exc)), self._held_until - asked,
                          extra={"event": "error"})
            else:
                log.error("could not read the scheduling lease: %s", redactor(str(exc)), extra={"event": "error"})
            return
        if answer.held and not self.holds():  # taken (or renewed after running out): from whom?
            before = self.seen
            handed_over = answer.replaced is None and before is not None and before.holder != self.holder.id
            self._taken_from = (before, True) if handed_over else (answer.replaced, False)
        self.seen = answer.lease
        self._held_until = asked + self.duration.total_seconds() if answer.held else None
        self._next_ask = asked + self.ask_every


def _log_taking_over(other: "Lease | None", handed_over: bool, taken: "Lease | None") -> None:
    if other is None:
        log.info("scheduling: no other daemon holds the lease", extra={"event": "leading"})
        return
    fields = {"event": "leading", "daemon": other.holder, "host": other.host}
    if handed_over:
        log.info("taking over scheduling from daemon %s on %s, which handed it over", other.holder, other.host,
                 extra=fields)
    elif taken is not None and other.expires_at > taken.acquired_at:
        log.warning("taking over scheduling from daemon %s on %s, whose process %d is gone", other.holder,
                    other.host, other.pid, extra=fields)
    else:
        log.warning("taking over scheduling from daemon %s on %s, whose lease expired at %s", other.holder,
                    other.host, _utc(other.expires_at), extra=fields)


@dataclass(frozen=True)
class DaemonRole:
    """A daemon of ``cmflow status``: running or not, and whether it schedules."""

    daemon: "DaemonRecord"
    role: str
    """``schedules``, ``stands by``, or ``stopped`` / ``not responding``."""


def daemon_roles(daemons: Sequence["DaemonRecord"], lease: "Lease | None", now: datetime,
                 silent_after: timedelta) -> list[DaemonRole]:
    """Each daemon's role, from the store's daemon heartbeats and the scheduling lease: the one
    holding a live lease schedules; the others running stand by."""
    holder = lease.holder if lease is not None and lease.live else None
    roles = []
    for daemon in daemons:
        if daemon.stopped_at is not None:
            role = "stopped"
        elif now - daemon.heartbeat_at > silent_after and daemon.id != holder:
            role = "not responding"
        else:
            role = "schedules" if daemon.id == holder else "stands by"
        roles.append(DaemonRole(daemon, role))
    return roles


def _utc(instant: datetime) -> str:
    return instant.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
