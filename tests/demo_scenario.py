"""The demo workflow as the output and outbox tests use it: its sources, metrics and change rules,
which fire three alerts over its known week, without its outputs and without its ERR objective
(whose verdicts and alerts the demo's own tests cover)."""

from __future__ import annotations

from pathlib import Path

DEMO_WORKFLOW = Path(__file__).resolve().parent.parent / "workflows" / "demo.toml"


def demo_scenario(outputs: str = "") -> str:
    """The demo's text up to its outputs, less the objective rule, then ``outputs``."""
    text = DEMO_WORKFLOW.read_text(encoding="utf-8")
    head = text[:text.index("[[outputs]]")]
    objective, next_rule = head.index("# The objective agreed"), head.index("# A post going viral")
    return head[:objective] + head[next_rule:] + outputs
