"""The ``html_report`` output as a phone shows it: its chart (the rate by account against the
comparison period) drawn by the report charts' library (Vega-Lite through vl-convert, not
hand-drawn SVG), account names escaped, its text readable on a 390 px phone, measured in
headless Chromium; its tables of posts and of negative comments scroll inside the page, which
never scrolls sideways."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from cmflow.testing import run_workflow_file

WORKFLOW = """
[workflow]
name = "Dashboard"
timezone = "Europe/Paris"
period = "last_week"
compare = ["previous_period"]
as_of = "2026-11-24"

[[sources]]
plugin = "csv"
path = "posts.csv"

[[sources]]
id = "comments"
plugin = "csv"
path = "comments.csv"
record = "conversation"

[[metrics]]
plugin = "top_posts"
rank_by = "engagement_rate_by_reach"
by = ["overall"]

[[metrics]]
plugin = "most_negative"
records = "conversation"
by = ["overall"]

[[metrics]]
plugin = "engagement_rate_by_reach"
by = ["overall", "account"]

[[triggers]]
plugin = "threshold"
metric = "engagement_rate_by_reach"
by = ["account"]
below = 3

[[outputs]]
plugin = "html_report"
path = "dashboard.html"

[[outputs]]
plugin = "html_report"
id = "tableau"
path = "tableau-de-bord.html"
language = "fr"
"""
# ERR by reach: likes / 1000 x 100, this week and the week before; every post has a long caption.
POSTS = [
    ["instagram", "lumiere", "a1", "2026-11-17T10:00:00Z", 50, 1000],      # 5 %
    ["instagram", "lumiere", "a0", "2026-11-10T10:00:00Z", 40, 1000],      # 4 %
    ["facebook", "<script>x</script>", "b1", "2026-11-18T10:00:00Z", 20, 1000],  # 2 %
    ["facebook", "<script>x</script>", "b0", "2026-11-11T10:00:00Z", 30, 1000],  # 3 %
]


CAPTION = "Notre nouvelle collection d'hiver arrive en boutique cette semaine avec des lampes en laiton " * 2


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("dashboard")
    with (folder / "posts.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["platform", "account", "post_id", "published_at", "likes", "reach", "text"])
        writer.writerows([[*post, CAPTION] for post in POSTS])
    with (folder / "comments.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["platform", "account", "message_id", "received_at", "author", "text", "sentiment"])
        writer.writerow(["instagram", "lumiere", "c1", "2026-11-18T09:00:00Z", "@fan.page", CAPTION, "negative"])
    (folder / "dashboard.toml").write_text(WORKFLOW, encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CMFLOW_LOAD_PLUGINS", "")
        patch.chdir(folder)
        result = run_workflow_file(folder / "dashboard.toml", store_url=f"sqlite:///{folder / 'state.db'}")
    assert result.status == "ok", [s.error for s in result.failed_stages]
    return folder / "dashboard.html"


def test_the_chart_is_vega_with_its_values_and_escaped_names(page) -> None:
    html = page.read_text(encoding="utf-8")
    chart = html.split('<div class="chart">', 1)[1].split("</svg>", 1)[0]
    assert 'class="marks"' in chart and 'role="img"' in chart  # Vega's SVG, described for screen readers
    assert ">5%</text>" in chart and ">4%</text>" in chart and ">2%</text>" in chart and ">3%</text>" in chart
    assert "&lt;script&gt;x&lt;/script&gt;" in chart and "<script" not in html


def test_the_charts_text_is_readable_on_a_phone(page) -> None:
    from browser import CHROMIUM, MIN_READABLE_PX, smallest_chart_text

    if CHROMIUM is None:
        pytest.skip("needs chromium: .ci/run installs it")
    assert smallest_chart_text(page, 390) >= MIN_READABLE_PX
    assert smallest_chart_text(page, 1280) <= 18  # not blown up on a desktop


def test_the_page_fits_a_phone(page) -> None:
    from browser import CHROMIUM, page_width

    if CHROMIUM is None:
        pytest.skip("needs chromium: .ci/run installs it")
    html = page.read_text(encoding="utf-8")
    assert "Top posts" in html and "@fan.page" in html and "@@" not in html  # the author once, as written
    assert page_width(page, 390) <= 390


def test_periods_and_days_read_as_the_report_output_writes_them_not_iso(page) -> None:
    """The title, the period line, the chart's legend and the posts' days: ``Nov 16 – 22, 2026``
    (Babel's English, the same formatter as the ``report`` output), never ``2026-11-16..2026-11-22``."""
    from cmflow.presentation.language import language

    html = page.read_text(encoding="utf-8")
    week, before = "Nov 16\u2009\u2013\u200922, 2026", "Nov 9\u2009\u2013\u200915, 2026"
    assert language("en").period(__import__("datetime").date(2026, 11, 16),
                                 __import__("datetime").date(2026, 11, 22)) == week
    assert f"<title>Dashboard — {week}</title>" in html
    assert f'<div class="meta"><span class="nowrap">{week}</span> (Europe/Paris) · <span class="nowrap">changes vs {before}</span></div>' in html
    legend = html.split('<div class="chart">', 1)[1].split("</svg>", 1)[0]
    assert f">{week}</text>" in legend and f">{before}</text>" in legend
    assert "<td>Nov 17, 2026</td>" in html  # the top post's day
    assert "..2026" not in html and "2026-11-1" not in html.split("<footer>")[0]


def visible_words(html: str) -> set[str]:
    """The words a reader sees on a page: its text and its charts' text, not its styles or tags."""
    from html.parser import HTMLParser

    words: set[str] = set()

    class Text(HTMLParser):
        hidden = 0

        def handle_starttag(self, tag, attrs):
            self.hidden += tag in ("style", "title")

        def handle_endtag(self, tag):
            self.hidden -= tag in ("style", "title")

        def handle_data(self, data):
            if not self.hidden:
                words.update(w.casefold() for w in __import__("re").findall(r"[^\W\d_]{3,}", data))

    Text().feed(html)
    return words


def test_a_french_page_has_no_english_word_of_the_catalogue(page) -> None:
    """``language = "fr"``: the page's headings, tables, alerts, chart and footer speak French
    through the client reports' catalogue (no word of an English message that French does not use
    too), and its figures and days are French (Babel)."""
    import re

    from cmflow.presentation.language import load_catalogue

    def words_of(catalogue: dict) -> set[str]:
        texts = [v for m in catalogue.values() for v in (m.values() if isinstance(m, dict) else [m])]
        return {w.casefold() for text in texts for w in re.findall(r"[^\W\d_]{3,}", re.sub(r"{\w+}", " ", text))}

    html = (page.parent / "tableau-de-bord.html").read_text(encoding="utf-8")
    data = CAPTION + " lumiere fan page script comments csv"  # the data the page shows: captions, accounts, authors, source ids
    english = words_of(load_catalogue("en")) - words_of(load_catalogue("fr")) - visible_words(data)
    assert visible_words(html) & english == set()
    assert '<html lang="fr">' in html and "Alertes" in html and "Taux d'engagement (portée)" in html
    headings = re.findall(r"<h2[^>]*>([^<]*)</h2>", html)  # written out: a catalogue gone English would pass above
    assert headings == ["Alertes", "Taux d&#39;engagement (portée) par compte", "Ensemble", "Par compte",
                        "Meilleures publications", "Commentaires les plus négatifs"]
    assert "16–22 nov. 2026".replace("–", "\u2009\u2013\u2009") in html or "16–22 nov. 2026" in html
    assert "2,00\u00a0%" in html  # the facebook account's ERR, in French
    assert "Aucune alerte" not in html and "&lt;script&gt;x&lt;/script&gt; · Facebook" in html  # its alert, named
