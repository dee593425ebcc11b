"""Objectives and their verdicts: how far a business goal is reached, and what to do about it.

An objective (``[[objectives]]`` in a workflow) ties a goal (grow the fanbase, raise
interactions ...) to a measurement and a target: a value to reach (``target``; for a measurement
that is better lower, a value not to exceed) or a change against a comparison period
(``target_change_pct``, relative, in %). Its **progress** says how far the target is reached
(1.0: exactly; more: beyond it) and the **verdict ladder** turns progress into a decision:

========= ================= =========================================
verdict   default threshold meaning
========= ================= =========================================
continue  progress >= 1.0   success: keep doing what works
optimise  progress >= 0.8   moderate success: adjust the details
change    progress >= 0.5   moderate failure: change the approach
stop      below             clear failure: stop or pivot
========= ================= =========================================

Progress, precisely (docs/objectives.md has worked examples):

- a level target to reach (``at_least``): ``value / target`` (target > 0); a value of 0 or
  below gives 0 or a negative progress: stop;
- a level target not to exceed (``at_most``, target >= 0): ``target / value`` for a value above
  0; a value of 0 (no negative mention at all) never exceeds the target, and counts as
  reached: 1.0;
- a change target: ``achieved change % / target change %``, the achieved change being the
  relative change against the comparison period (``change_pct`` of the run's comparisons). The
  target's sign is the good direction (+10 for a rise, -20 for a fall), so a change the wrong
  way gives a negative progress: stop. A comparison value of 0 or none gives no relative
  change: no verdict, with the reason.

Progress is rounded to 10 decimals before it meets the thresholds, so that 2.4 / 3 counts as
the 0.8 it means. No value (no posts, a failed source, no series matching the objective's
``where``) means no verdict, and the result says why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Any, Literal, Mapping

GOALS: dict[str, str] = {
    "grow_fanbase": "Grow the fanbase (followers, subscribers)",
    "raise_interactions": "Raise interactions (likes, comments, shares, engagement rate)",
    "increase_reach": "Increase reach and visibility (reach, impressions, views)",
    "generate_site_visits": "Generate visits to the website (clicks, sessions)",
    "increase_conversions": "Increase conversions (sign-ups, sales, leads)",
    "promote_event": "Promote an event (reach, registrations, mentions around it)",
    "protect_reputation": "Protect the reputation (negative mentions and comments)",
    "improve_response_time": "Improve customer care (response time, unanswered messages)",
    "publish_regularly": "Publish regularly (posts published against the plan)",
}
"""The goals an objective may pursue (``goal``), from the community managers' own list, with
what each means."""

Direction = Literal["at_least", "at_most"]
"""``at_least``: the measurement should reach the target; ``at_most``: stay under it."""
VERDICTS: tuple[str, ...] = ("continue", "optimise", "change", "stop")
"""The ladder's decisions, best first."""
PROGRESS_DECIMALS = 10
THRESHOLD_DECIMALS = 4
"""Decimals of a ladder threshold shown as a percentage at most (0.123456 shows as 12.3456%)."""


@dataclass(frozen=True)
class Ladder:
    """The lowest progress of each verdict but the last: below ``change`` is ``stop``."""

    continue_: float = 1.0
    optimise: float = 0.8
    change: float = 0.5

    def thresholds(self) -> list[tuple[str, float]]:
        """(verdict, lowest progress) best first, ``stop`` excluded."""
        return [("continue", self.continue_), ("optimise", self.optimise), ("change", self.change)]

    def problem(self) -> str | None:
        """What is wrong with these thresholds, if anything: each must be below the one before."""
        pairs = self.thresholds()
        for (better, high), (worse, low) in zip(pairs, pairs[1:]):
            if not low < high:
                return (f"{worse} ({low:g}) must be below {better} ({high:g}): the thresholds go "
                        "down from continue to optimise to change")
        return None


@dataclass(frozen=True)
class Objective:
    """One validated ``[[objectives]]`` entry (see docs/objectives.md)."""

    id: str
    goal: str
    metric: str
    direction: Direction
    target: float | None = None
    """The value to reach (``at_least``) or not to exceed (``at_most``), in the metric's unit."""
    target_change_pct: float | None = None
    """Or: the relative change to achieve against ``against``, in % (+10, -20)."""
    against: str | None = None
    """``previous_period`` or ``same_period_last_year``, for a change target."""
    title: str = ""
    where: Mapping[str, str | list[str]] = field(default_factory=dict)
    """The series judged, by dimensions: ``{}`` the overall series; an objective with a client
    and no ``where`` in the file judges the client's whole, ``{"client": <its id>}``."""
    client: str | None = None
    horizon: date | None = None
    ladder: Ladder = field(default_factory=Ladder)

    @property
    def kind(self) -> Literal["level", "change"]:
        """``level`` for a ``target`` value, ``change`` for a ``target_change_pct``."""
        return "level" if self.target is not None else "change"


@dataclass(frozen=True)
class ObjectiveResult:
    """One objective judged on one series at this run: the figures, the progress, the verdict
    and the rule that gave it, or why there is none.

    An objective whose ``where`` lists several values (or matches several series) has one result
    per series, each with its ``dimensions``.
    """

    objective: Objective
    dimensions: dict[str, Any]
    """The series judged (``{"platform": "instagram", "account": "maisonlumiere"}``; {} overall)."""
    unit: str
    polarity: str
    """The measurement's polarity (up, down, neutral): whether higher is better."""
    value: float | None
    """The measurement this period."""
    baseline: float | None = None
    """For a change target: the value of the comparison period."""
    change_pct: float | None = None
    """For a change target: the relative change achieved against the baseline, in %."""
    progress: float | None = None
    """How far the target is reached (1.0: exactly); None when there is no verdict."""
    verdict: str | None = None
    """continue, optimise, change or stop; None when there is no data to judge."""
    threshold: float | None = None
    """The ladder threshold crossed: the lowest progress of the verdict (for ``stop``, the
    ``change`` threshold it fell below)."""
    rule: str = ""
    """The rule that produced the verdict, in words (``progress 0.85 >= 0.8: optimise``)."""
    reason: str | None = None
    """Why there is no verdict (no value this period, comparison value is 0 ...)."""

    def progress_percent(self) -> tuple[float, int] | None:
        """The progress as a percentage to show, with its decimals: whole percent (``(167.0, 0)``)
        unless that would read across a threshold of the ladder, then one decimal, floored if need
        be (0.4967 is ``(49.7, 1)``, never 50, which the ladder calls change); None without one."""
        if self.progress is None:
            return None
        ladder = getattr(self.objective, "ladder", None) or Ladder()
        return _shown_percent(self.progress, [lowest for _, lowest in ladder.thresholds()])

    def threshold_percent(self) -> tuple[float, int] | None:
        """The ladder threshold crossed as a percentage to show, with the decimals it has
        (``(80.0, 0)``; ``optimise = 0.875`` is ``(87.5, 1)``, never 88); None without one."""
        return None if self.threshold is None else _threshold_percent(self.threshold)

    @property
    def target_value(self) -> float | None:
        """The level to reach or not to exceed: the target, or the baseline moved by the target
        change (None without a baseline)."""
        objective = self.objective
        if objective.target is not None:
            return objective.target
        if self.baseline is None or objective.target_change_pct is None:
            return None
        return self.baseline + abs(self.baseline) * objective.target_change_pct / 100


def level_progress(value: float, target: float, direction: Direction) -> float:
    """Progress of a level target: ``value / target`` to reach it, ``target / value`` not to
    exceed it (a value of 0 or below never exceeds a target >= 0: 1.0)."""
    if direction == "at_least":
        return _rounded(value / target)
    if value <= 0:  # the target (>= 0, checked at validate) is kept
        return 1.0
    return _rounded(target / value)


def change_progress(change_pct: float, target_change_pct: float) -> float:
    """Progress of a change target: the change achieved over the change wanted (both in %)."""
    return _rounded(change_pct / target_change_pct)


def verdict_of(progress: float, ladder: Ladder) -> tuple[str, float, str]:
    """The verdict of ``progress`` on ``ladder``, the threshold crossed, and the rule in words."""
    for verdict, lowest in ladder.thresholds():
        if progress >= lowest:
            return verdict, lowest, f"progress {_exact(progress)} >= {lowest:g}: {verdict}"
    return "stop", ladder.change, f"progress {_exact(progress)} < {ladder.change:g}: stop"


def _shown_percent(progress: float, thresholds: "tuple[float, ...] | list[float]" = ()) -> tuple[float, int]:
    """A progress as a percentage to show and its decimals: whole percent (``(167.0, 0)``) unless
    that would read across one of the ``thresholds`` (the ladder's, shown with their own decimals:
    :func:`_threshold_percent`): then more decimals, up to the thresholds' own (one at least),
    floored if need be, so 0.4967 shows as 49.7, never 50, which the ladder calls change, and
    0.8744 under a threshold of 0.8745 as 87.44."""
    exact = Decimal(str(progress)) * 100
    limits = [Decimal(str(_threshold_percent(t)[0])) for t in thresholds]
    most = max([_threshold_percent(t)[1] for t in thresholds] + [1])
    for decimals in range(most + 1):
        shown = exact.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
        if not any(shown >= limit > exact or exact >= limit > shown for limit in limits):
            return float(shown), decimals
    return float(exact.quantize(Decimal(1).scaleb(-most), rounding=ROUND_FLOOR)), most


def _threshold_percent(threshold: float) -> tuple[float, int]:
    """A ladder threshold as a percentage and the decimals it has (0.875: ``(87.5, 1)``), at most
    :data:`THRESHOLD_DECIMALS`."""
    exact = (Decimal(str(threshold)) * 100).quantize(Decimal(1).scaleb(-THRESHOLD_DECIMALS), rounding=ROUND_HALF_UP)
    decimals = max(0, -exact.normalize().as_tuple().exponent)
    return float(exact), decimals


def _exact(progress: float) -> str:
    """A progress as it met the thresholds (10 decimals at most): ``:g``'s six digits would
    show 0.4999999 as 0.5, across the threshold it is below."""
    return f"{progress:.{PROGRESS_DECIMALS}f}".rstrip("0").rstrip(".")


def judge(objective: Objective, dimensions: dict[str, Any], unit: str, polarity: str, value: float | None,
          *, baseline: float | None = None, change_pct: float | None = None,
          reason: str | None = None) -> ObjectiveResult:
    """One objective on one series: the progress and verdict from the figures, or no verdict
    with the reason (``reason``: why the value or the change is missing, if known)."""
    result = ObjectiveResult(objective, dimensions, unit, polarity, value, baseline, change_pct)
    if value is None:
        return _no_verdict(result, reason or "no value this period")
    if objective.target is not None:
        progress = level_progress(value, objective.target, objective.direction)
    else:
        if change_pct is None:
            return _no_verdict(result, reason or ("no value for the comparison period" if baseline is None
                                                  else "comparison value is 0"))
        progress = change_progress(change_pct, objective.target_change_pct)
    verdict, threshold, rule = verdict_of(progress, objective.ladder)
    return ObjectiveResult(objective, dimensions, unit, polarity, value, baseline, change_pct,
                           progress, verdict, threshold, rule)


def _no_verdict(result: ObjectiveResult, reason: str) -> ObjectiveResult:
    from dataclasses import replace

    return replace(result, reason=reason)


def _rounded(progress: float) -> float:
    return round(progress, PROGRESS_DECIMALS)
