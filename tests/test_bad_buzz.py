"""A synthetic bad buzz (issue 17): mentions without any sentiment column, labelled by the built-in
``sentiment`` classifier, counted by ``negative_mentions`` and watched by the real ``spike``
trigger, one run a day as the daemon would run them, into one store.

Every day from 15 to 21 November 2026 brings 2 negative and 3 positive mentions; on Friday 20
November, from 14:00 UTC, 24 more negative ones (a delivery fiasco). The run of each morning
measures the day before (``period = "yesterday"``) against the 4 days before it (mean 2):

- the runs of 18, 19 and 20 November (measuring 17, 18, 19): 2 negative mentions, no alert;
- the run of 21 November (measuring the 20th, the burst's day): 2 + 24 = 26 >= 10 and >= 2 x 2:
  the alert fires, within one period of the burst and not before.
"""

from __future__ import annotations

import json
from contextlib import ExitStack
from datetime import datetime, timedelta, timezone

from cmflow.builtin.classifiers import sentiment as sentiment_classifier
from cmflow.builtin.metrics import conversation_counts
from cmflow.builtin.sources import json_source
from cmflow.builtin.triggers import spike
from cmflow.testing import registered_plugin, run_workflow_file

NEGATIVE = ["Je suis très déçu, le service client est nul.", "This is the worst delivery ever, I hate it."]
POSITIVE = ["Super produit, merci à toute l'équipe, c'est génial !", "I love this shop, the staff is amazing, thanks!",
            "Génial, j'adore, merci !"]
BURST = ["Commande jamais arrivée, service client nul, je suis très déçu.",
         "Worst delivery ever, my order never came, I hate this shop."]

WORKFLOW = """
[workflow]
name = "Bad buzz"
timezone = "UTC"
period = "yesterday"
as_of = "{as_of}"
compare = []

[[sources]]
plugin = "json"
path = "mentions.json"
record = "mention"

[[classifiers]]
plugin = "sentiment"
records = ["mention"]

[[metrics]]
plugin = "negative_mentions"
by = ["overall"]

[[triggers]]
plugin = "spike"
metric = "negative_mentions"
baseline_periods = 4
"""


def mentions() -> list[dict]:
    rows = []
    for day in range(15, 22):
        start = datetime(2026, 11, day, 8, tzinfo=timezone.utc)
        for i, text in enumerate(NEGATIVE + POSITIVE):
            rows.append({"platform": "x", "mention_id": f"{day}-{i}", "author": f"user{i}",
                         "published_at": (start + timedelta(hours=i)).isoformat(), "text": text})
    burst_start = datetime(2026, 11, 20, 14, tzinfo=timezone.utc)
    for i in range(24):
        rows.append({"platform": "x", "mention_id": f"burst-{i}", "author": f"angry{i}",
                     "published_at": (burst_start + timedelta(minutes=5 * i)).isoformat(), "text": BURST[i % 2]})
    return rows


def test_the_spike_fires_on_classified_negative_mentions_on_the_bursts_day_and_not_before(tmp_path) -> None:
    (tmp_path / "mentions.json").write_text(json.dumps(mentions()), encoding="utf-8")
    store = f"sqlite:///{tmp_path}/state.db"
    fired = {}
    with ExitStack() as stack:
        for module in (json_source, sentiment_classifier, conversation_counts, spike):
            stack.enter_context(registered_plugin(module, package=module.__name__))
        for as_of in ("2026-11-18", "2026-11-19", "2026-11-20", "2026-11-21"):
            (tmp_path / "buzz.toml").write_text(WORKFLOW.format(as_of=as_of), encoding="utf-8")
            result = run_workflow_file(tmp_path / "buzz.toml", store_url=store)
            assert result.status == "ok", [s.error for s in result.failed_stages]
            fired[as_of] = [a.summary for a in result.alerts if a.rule == "spike_negative_mentions"]
    assert fired == {
        "2026-11-18": [], "2026-11-19": [], "2026-11-20": [],
        "2026-11-21": ["Negative mentions spiked overall: 26 mentions on 2026-11-20 vs an average of 2 mentions over the "
                       "previous 4 days (x13.0)"]}
