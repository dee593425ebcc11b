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


def test_the_bad_buzz_e_mail_lists_the_negative_mentions_with_and_n_more(tmp_path) -> None:
    """The alert of the 21st lists the day's 26 negative mentions, oldest first: the first 5
    (the two daily ones at 08:00 and 09:00, then the burst's from 14:00), then "and 21 more".
    Public text stays text: an author written as markup is escaped in the HTML part, a
    javascript: link is never a link, and a link of the burst is."""
    import email
    from email import policy

    from cmflow.builtin.outputs import email as email_output

    rows = mentions()
    for row in rows:
        if row["mention_id"] == "burst-0":
            row.update(author="<b>angry0</b>", url="https://x.com/angry0/status/1")
        if row["mention_id"] == "burst-1":
            row["url"] = "javascript:alert(1)"
    (tmp_path / "mentions.json").write_text(json.dumps(rows), encoding="utf-8")
    outputs = f'\n[[outputs]]\nplugin = "email"\ntransport = "file"\ndirectory = "{tmp_path / "mail"}"\nreport = "none"\n' \
              'from_address = "cm@example.org"\nto = ["care@example.org"]\n'
    with ExitStack() as stack:
        for module in (json_source, sentiment_classifier, conversation_counts, spike, email_output):
            stack.enter_context(registered_plugin(module, package=module.__name__))
        for as_of in ("2026-11-18", "2026-11-19", "2026-11-20", "2026-11-21"):
            (tmp_path / "buzz.toml").write_text(WORKFLOW.format(as_of=as_of) + outputs, encoding="utf-8")
            result = run_workflow_file(tmp_path / "buzz.toml", store_url=f"sqlite:///{tmp_path}/state.db")
            assert result.status == "ok", [s.error for s in result.failed_stages]

    [alert] = result.alerts
    assert len(result.alert_items[alert.fingerprint]) == 26
    [path] = (tmp_path / "mail").iterdir()
    message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    text = message.get_body(("plain",)).get_content()
    listed = [line.strip() for line in text.splitlines() if line.startswith("    ")]
    assert listed == [
        "* user0 · x · 20 Nov 2026 08:00 UTC · “Je suis très déçu, le service client est nul.”",
        "* user1 · x · 20 Nov 2026 09:00 UTC · “This is the worst delivery ever, I hate it.”",
        "* <b>angry0</b> · x · 20 Nov 2026 14:00 UTC · “Commande jamais arrivée, service client nul, je suis très "
        "déçu.” · https://x.com/angry0/status/1",
        "* angry1 · x · 20 Nov 2026 14:05 UTC · “Worst delivery ever, my order never came, I hate this shop.”",
        "* angry2 · x · 20 Nov 2026 14:10 UTC · “Commande jamais arrivée, service client nul, je suis très déçu.”",
        "…and 21 more"]
    html = message.get_body(("html",)).get_content()
    assert "&lt;b&gt;angry0&lt;/b&gt;" in html and "<b>angry0</b>" not in html
    assert '<a href="https://x.com/angry0/status/1"' in html and "javascript:" not in html
    # One link, its address as its text (not the address, then "open" to the same one).
    assert html.count("https://x.com/angry0/status/1") == 2 and ">open</a>" not in html
    assert ('· <a href="https://x.com/angry0/status/1" rel="noopener noreferrer nofollow">'
            'https://x.com/angry0/status/1</a>') in html
    assert "…and 21 more" in html


BRANDS = """
[workflow]
name = "Veille"
timezone = "UTC"
period = "2026-11-20..2026-11-20"
compare = []

[listen.brand]
id = "lumiere"
name = "Maison Lumière"

[[listen.competitors]]
id = "nuit"
name = "Atelier Nuit"

[[sources]]
plugin = "json"
path = "mentions.json"
record = "mention"

[[metrics]]
plugin = "negative_mentions"
by = ["brand", "platform"]

[[triggers]]
id = "negative"
plugin = "threshold"
metric = "negative_mentions"
by = ["brand", "platform"]
above = 0
"""


MAIL = """
[[outputs]]
plugin = "email"
transport = "file"
directory = "{directory}"
report = "none"
from_address = "cm@example.org"
to = ["care@example.org"]
"""
"""A notifier output: the alerts' items are listed for its messages."""


def test_a_brands_alert_lists_the_negative_mentions_naming_it_on_its_platform(tmp_path) -> None:
    """By brand: Atelier Nuit's alert lists the negative mention naming it (n1) and the one
    naming both (b1), not Maison Lumière's own (l1) nor a positive one (n2); by platform: x's
    negative mentions (l1 and b1; n1 is on Bluesky), of every brand."""
    from cmflow.builtin.triggers import threshold

    rows = [{"platform": "bluesky", "mention_id": "n1", "author": "a", "published_at": "2026-11-20T09:00:00Z",
             "text": "Atelier Nuit, quelle déception", "sentiment": "negative"},
            {"platform": "x", "mention_id": "l1", "author": "b", "published_at": "2026-11-20T10:00:00Z",
             "text": "Maison Lumière en retard", "sentiment": "negative"},
            {"platform": "x", "mention_id": "b1", "author": "c", "published_at": "2026-11-20T11:00:00Z",
             "text": "Maison Lumière et Atelier Nuit : bof", "sentiment": "negative"},
            {"platform": "x", "mention_id": "n2", "author": "d", "published_at": "2026-11-20T12:00:00Z",
             "text": "Atelier Nuit c'est top", "sentiment": "positive"}]
    (tmp_path / "mentions.json").write_text(json.dumps(rows), encoding="utf-8")
    from cmflow.builtin.outputs import email as email_output

    (tmp_path / "veille.toml").write_text(BRANDS + MAIL.format(directory=tmp_path / "mail"), encoding="utf-8")
    with ExitStack() as stack:
        for module in (json_source, conversation_counts, threshold, email_output):
            stack.enter_context(registered_plugin(module, package=module.__name__))
        result = run_workflow_file(tmp_path / "veille.toml", store_url=f"sqlite:///{tmp_path}/state.db")
    assert result.status == "ok", [s.error for s in result.failed_stages]
    listed = {tuple(sorted((k, v) for k, v in alert.dimensions.items() if v is not None)):
              [item.author for item in result.alert_items[alert.fingerprint]] for alert in result.alerts}
    assert listed == {(("brand", "nuit"),): ["a", "c"], (("brand", "lumiere"),): ["b", "c"],
                      (("platform", "x"),): ["b", "c"], (("platform", "bluesky"),): ["a"]}
