"""A small workflow firing three alerts at its first run, for the tests of what happens to alerts
once fired (queued, delivered, retried, grouped), not of what the demo computes (tests/test_demo.py
covers that): the demo's Meta posts and its two change rules over its known week, two
``err_drop`` warnings and one ``reach_spike`` info, the very alerts the whole demo
(:func:`demo_scenario.demo_scenario`) fires, since those rules read only the Meta exports; its run
costs a fifteenth of the demo's (0.4 s of CPU against 5.7 s).
"""

from __future__ import annotations

DEMO_ALERTS = """\
[workflow]
name = "Weekly social KPIs (demo)"
timezone = "Europe/Paris"
period = "last_week"
compare = ["previous_period"]
as_of = "2026-11-24"

[[sources]]
id = "meta"
plugin = "export"
path = "builtin:demo/exports/*/*-posts.csv"

[[metrics]]
plugin = "engagement_rate_by_reach"
by = ["overall", "platform", "account"]
where = { platform = ["instagram", "facebook"] }

[[metrics]]
plugin = "totals"
counters = ["reach"]
by = ["overall", "platform", "account"]

[[triggers]]
id = "err_drop"
plugin = "change"
metric = "engagement_rate_by_reach"
drop_pct = 25
where = { platform = ["instagram", "facebook"] }
by = ["overall", "platform", "account"]
severity = "warning"

[[triggers]]
id = "reach_spike"
plugin = "change"
metric = "total_reach"
rise_pct = 50
min_base = 1000
by = ["overall", "platform", "account"]
severity = "info"
"""


def demo_alerts(outputs: str = "") -> str:
    """The small workflow firing the demo's three alerts, then ``outputs``."""
    return DEMO_ALERTS + outputs
