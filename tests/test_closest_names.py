"""The "did you mean" of every message about a misspelt name."""

from __future__ import annotations

import pytest

from cmflow.foundation.names import closest

SOURCES = ["asana", "bluesky", "calendar_sheet", "clockify", "csv", "export", "ga4", "ics", "json", "notion",
           "rss", "toggl", "trello", "x", "xlsx"]


@pytest.mark.parametrize(("typed", "meant"), [
    ("cvs", "csv"),  # two letters swapped: one slip, though "ics" shares as many letters
    ("cs", "csv"), ("csvv", "csv"), ("togl", "toggl"), ("trelo", "trello"), ("notoin", "notion"),
    ("calendar_shet", "calendar_sheet"), ("exprot", "export"),
])
def test_one_slip_away_is_suggested(typed, meant) -> None:
    assert closest(typed, SOURCES) == meant


def test_nothing_close_suggests_nothing() -> None:
    assert closest("qqqq", SOURCES) is None
