"""The demo workflow as the output and outbox tests use it: its sources, metrics and change rules,
which fire three alerts over its known week, without its outputs and without its ERR objective
(whose verdicts and alerts the demo's own tests cover)."""

from __future__ import annotations

import re
from pathlib import Path

DEMO_WORKFLOW = Path(__file__).resolve().parent.parent / "workflows" / "demo.toml"


def demo_scenario(outputs: str = "") -> str:
    """The demo's text up to its outputs, less the objective rule, the budget rule (the last
    before the outputs) and the ``brand`` breakdowns (the [listen] section they need comes after
    the outputs), then ``outputs``."""
    text = DEMO_WORKFLOW.read_text(encoding="utf-8")
    head = text[:text.index("[[outputs]]")].replace(', "brand"]', "]")
    head = head[:head.index("# A campaign whose spend passed its budget.")]
    objective, next_rule = head.index("# The objective agreed"), head.index("# A post going viral")
    return head[:objective] + head[next_rule:] + outputs


def demo_change_alerts(outputs: str = "") -> str:
    """:func:`demo_scenario` less what its change rules do not read: its [workflow], its Meta
    export (both brands' Instagram and Facebook posts), the ERR and the totals the rules watch
    (the ERR of those two platforms, all the export has) and the rules, then ``outputs``: the
    same three alerts (two ERR drops, a reach spike) from a tenth of the run, for the tests of
    what outputs make of alerts."""
    blocks = re.split(r"(?=^\[)", demo_scenario(), flags=re.MULTILINE)
    kept = [block for block in blocks if block.startswith(("[workflow]", "[store]", "[[triggers]]"))
            or 'id = "meta"' in block or block.startswith(('[[metrics]]\nplugin = "engagement_rate_by_reach"',
                                                           '[[metrics]]\nplugin = "totals"'))]
    assert len(kept) == 7, kept
    return "".join(kept).replace('where = { platform = ["instagram", "facebook", "linkedin", "youtube", "x"] }\n',
                                 "", 1) + outputs


def demo_without_client_reports() -> str:
    """The whole demo but its client reports and every e-mail (seconds of charts and PDFs a run:
    the alerts' e-mail draws the report's charts too, starting a chart engine per process), and
    its clients' logo lines (a copy elsewhere has no logos/ beside it): for the tests of what
    happens around runs (alerts remembered, history, exit codes, the dashboard page, the task
    list), not of the reports and e-mails, which tests/test_demo.py, test_report_*.py and
    test_output_email.py cover."""
    text = re.sub(r"^logo = .*\n", "", DEMO_WORKFLOW.read_text(encoding="utf-8"), flags=re.MULTILINE)
    blocks = re.split(r"(?=^\[\[)", text, flags=re.MULTILINE)
    return "".join(b for b in blocks if not (b.startswith("[[outputs]]")
                                              and ('plugin = "report"' in b or 'plugin = "email"' in b)))
