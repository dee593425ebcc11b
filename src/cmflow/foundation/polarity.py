"""Metric polarity: whether a measurement going up is good news, bad news or neither.

Followers and engagement rates are better higher (``up``); negative mentions, followers lost
or a response time are better lower (``down``); a count of posts published or of mentions says
nothing good or bad by itself (``neutral``). Reports colour and word a change by it (a rise in
negative mentions is not green), and objectives read it to know which side of a target is the
right one.
"""

from __future__ import annotations

from typing import Literal

Polarity = Literal["up", "down", "neutral"]
"""``up``: higher is better; ``down``: lower is better; ``neutral``: neither."""
POLARITIES: tuple[str, ...] = ("up", "down", "neutral")

Tone = Literal["good", "bad", "neutral"]
"""How a change reads for the reader, given its measurement's polarity."""


def change_tone(polarity: str, change: float | None) -> Tone | None:
    """Whether ``change`` (a difference or a relative change) is good or bad news for a
    measurement of ``polarity``: ``good``, ``bad``, ``neutral`` (no change, or a neutral
    measurement), or None when there is no change to judge."""
    if change is None:
        return None
    if change == 0 or polarity == "neutral":
        return "neutral"
    rising = change > 0
    return "good" if rising == (polarity == "up") else "bad"
