#!/usr/bin/env python3
"""What does listing the items behind a run's alerts cost, against measuring?

Why: an escalation broken down by account (``unanswered_negative`` by account, a threshold
above 0) fires one alert per account with a negative message waiting; each e-mail or chat
message lists the conversations behind its alert. The alert_items stage that finds them first
rebuilt the metric's input and listed the items of the whole data set once per alert: 8.96 s
for 150 alerts over 100,000 conversations where measuring took 0.33 s, and twice as long for
twice the accounts. It now lists them once per metric entry and picks each alert's rows from
that one frame, so its cost should not grow with the number of alerts.

What it does: writes, from a fixed rule, N conversations over one week (one in 5 negative, one
in 7 never answered) spread over ``--accounts`` accounts (35 in a row each, in turn), and runs the workflow once per
``--runs`` (no store; a ``file`` e-mail output into a temporary folder, so that the stage runs),
reading each stage's time from the runner's debug log. It prints the alerts, the measure and
alert_items stages' median seconds and their ratio (alert_items / measure, both of the same
runs), for ``--accounts`` and for twice as many (the ratio should stay about the same).

Run: ``python benchmarks/alert_items.py`` (``--records 100000 --accounts 300 --runs 3``).
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import tempfile
from pathlib import Path

WORKFLOW = """
[workflow]
name = "Care desk"
timezone = "UTC"
period = "2026-11-16..2026-11-22"
as_of = "2026-11-23"
compare = []

[[sources]]
plugin = "json"
path = "conversations.json"
record = "conversation"

[[metrics]]
plugin = "unanswered_negative"
by = ["account"]
older_than = "1h"
clock = "wall"

[[triggers]]
plugin = "threshold"
metric = "unanswered_negative"
by = ["account"]
above = 0

[[outputs]]
plugin = "email"
transport = "file"
directory = "{mail}"
report = "none"
from_address = "cm@example.org"
to = ["care@example.org"]
"""


def conversations(count: int, accounts: int) -> list[dict]:
    """``count`` conversations received from Monday 16 November 2026, a few seconds apart."""
    seconds = 7 * 86400 // max(count, 1)
    rows = []
    for i in range(count):
        day, rest = divmod(i * seconds, 86400)
        at = f"2026-11-{16 + day:02d}T{rest // 3600:02d}:{rest % 3600 // 60:02d}:{rest % 60:02d}Z"
        rows.append({"platform": "instagram", "message_id": f"m{i}", "received_at": at,
                     "replied_at": None if i % 7 == 0 else at, "account": f"acct{(i // 35) % accounts}",
                     "author": f"u{i}", "text": "colis jamais reçu" if i % 5 == 0 else "merci !",
                     "sentiment": "negative" if i % 5 == 0 else "positive"})
    return rows


class StageTimes(logging.Handler):
    """The runner's ``stage NAME: S s`` debug lines, by stage."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.seconds: dict[str, list[float]] = {}

    def emit(self, record: logging.LogRecord) -> None:
        if record.msg == "stage %s: %.3f s":
            stage, seconds = record.args  # type: ignore[misc]
            self.seconds.setdefault(stage, []).append(seconds)


def measured(records: int, accounts: int, runs: int) -> tuple[int, float, float]:
    """The alerts of a run, and the median seconds of its measure and alert_items stages."""
    from cmflow.runner import run_workflow
    from cmflow.workflow import load_workflow

    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "conversations.json").write_text(json.dumps(conversations(records, accounts)),
                                                          encoding="utf-8")
        # The e-mails go into the temporary folder: a relative directory is the current one's.
        (Path(folder) / "care.toml").write_text(WORKFLOW.replace("{mail}", str(Path(folder) / "mail")),
                                                 encoding="utf-8")
        workflow = load_workflow(Path(folder) / "care.toml")
        times = StageTimes()
        logger = logging.getLogger("cmflow")
        logger.addHandler(times)
        level, logger.level = logger.level, logging.DEBUG
        try:
            for _ in range(runs):
                result = run_workflow(workflow, store=None)
        finally:
            logger.removeHandler(times)
            logger.setLevel(level)
        listed = sum(len(items) for items in result.alert_items.values())
        if len(result.alert_items) != len(result.alerts) or not listed:
            sys.exit(f"✗ {len(result.alerts)} alerts, {len(result.alert_items)} with items ({listed} items)")
    return (len(result.alerts), statistics.median(times.seconds["measure"]),
            statistics.median(times.seconds["alert_items"]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--accounts", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(f"{args.records:,} conversations, unanswered_negative by account, median of {args.runs} runs")
    print(f"{'accounts':>8} {'alerts':>7} {'measure s':>10} {'alert_items s':>14} {'/ measure':>10}")
    for accounts in (args.accounts, 2 * args.accounts):
        alerts, measure, items = measured(args.records, accounts, args.runs)
        print(f"{accounts:>8} {alerts:>7} {measure:>10.3f} {items:>14.3f} {items / measure:>10.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
