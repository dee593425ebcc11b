"""The listening section of a client's report: the share of voice of the brands it watches as a
chart, and the moderation list of its most negative comments (``most_negative``), in French and
English, text from the public escaped; run end to end through csv sources, the measure stage
and the ``report`` output, read back from the HTML.

The fixture: the week of 16-22 November 2026, against 9-15 November. Two clients:

- **Atelier Rose** (French, Instagram ``atelierrose``), competitor Concurrent Bleu. Mentions this
  week: Atelier Rose 3, Concurrent Bleu 1: shares 75 % and 25 %; the week before 1 and 1: 50 %
  and 50 %. Comments received this week, labelled by the export (no score: ranked by time, the
  earliest first): r1 on the 17th (hostile text and author), r2 on the 18th, r3
  on the 19th, r5 on the 20th (a formula), all negative; r4 positive, not listed. r2 and r5
  were left on post p2 (https://www.instagram.com/p/p2/), r1 and r3 on p1 (a ``javascript:``
  link: never a link).
- **Northwind** (English, Instagram ``northwind``), no competitor. Negative comments: n1 on the
  19th, n2 on the 20th.
"""

from __future__ import annotations

import csv
import html
import re
from pathlib import Path

import pytest

from cmflow.testing import run_workflow_file

NBSP = "\u00a0"

WORKFLOW = """
[workflow]
name = "Agence Exemple"
timezone = "Europe/Paris"
period = "last_week"
compare = ["previous_period"]
as_of = "2026-11-24"

[[sources]]
id = "mentions"
plugin = "csv"
path = "mentions.csv"
record = "mention"

[[sources]]
id = "comments"
plugin = "csv"
path = "comments.csv"
record = "conversation"

[[sources]]
id = "posts"
plugin = "csv"
path = "posts.csv"

[[clients]]
id = "atelier-rose"
name = "Atelier Rose"
language = "fr"
accounts = { atelierrose = "Atelier Rose" }

[[clients]]
id = "northwind"
name = "Northwind Cycles"
language = "en"
accounts = { northwind = "Northwind Cycles" }

[listen]

[listen.brand]
id = "atelier-rose"
name = "Atelier Rose"
terms = ["#atelierrose"]
client = "atelier-rose"

[[listen.brands]]
id = "northwind"
name = "Northwind Cycles"
terms = ["#northwind"]
client = "northwind"

[[listen.competitors]]
id = "concurrent-bleu"
name = "<b>Concurrent</b> Bleu"
terms = ["#concurrentbleu"]
client = "atelier-rose"

[[metrics]]
plugin = "mentions"
by = ["brand"]

[[metrics]]
plugin = "share_of_voice"
by = ["overall"]

[[metrics]]
plugin = "most_negative"
records = "conversation"
n = 5
by = ["client"]

[[outputs]]
plugin = "report"
path = "reports/{client}.{format}"
formats = ["html", "xlsx"]
"""

MENTIONS = [  # platform, mention_id, published_at, text
    ["instagram", "m1", "2026-11-17T09:00:00Z", "Superbe vitrine #atelierrose"],
    ["instagram", "m2", "2026-11-18T09:00:00Z", "Commande reçue #atelierrose"],
    ["instagram", "m3", "2026-11-19T09:00:00Z", "Toujours parfait #atelierrose"],
    ["instagram", "m4", "2026-11-20T09:00:00Z", "Nouvelle boutique #concurrentbleu"],
    ["instagram", "m5", "2026-11-10T09:00:00Z", "Vu en ville #atelierrose"],
    ["instagram", "m6", "2026-11-11T09:00:00Z", "Vu en ville #concurrentbleu"],
    ["instagram", "m7", "2026-11-18T09:00:00Z", "Great ride #northwind"],
]
COMMENTS = [  # platform, account, message_id, post_id, received_at, author, text, sentiment
    ["instagram", "atelierrose", "r3", "p1", "2026-11-19T10:00:00Z", "@c", "Un peu déçue du délai", "negative"],
    ["instagram", "atelierrose", "r1", "p1", "2026-11-17T10:00:00Z", "<img src=x onerror=alert(1)>",
     "<script>alert(1)</script> Colis jamais arrivé", "negative"],
    ["instagram", "atelierrose", "r2", "p2", "2026-11-18T10:00:00Z", "@b", "Taille trop petite", "negative"],
    ["instagram", "atelierrose", "r4", "p2", "2026-11-18T11:00:00Z", "@d", "J'adore", "positive"],
    ["instagram", "atelierrose", "r5", "p2", "2026-11-20T10:00:00Z", "@e", '=HYPERLINK("http://x","y")', "negative"],
    ["instagram", "northwind", "n2", "p9", "2026-11-20T10:00:00Z", "@y", "Slow shipping", "negative"],
    ["instagram", "northwind", "n1", "p9", "2026-11-19T10:00:00Z", "@x", "Broken frame, no reply", "negative"],
]


POSTS = [  # platform, account, post_id, published_at, url: the posts commented on
    ["instagram", "atelierrose", "p1", "2026-11-16T10:00:00Z", "javascript:alert(2)"],
    ["instagram", "atelierrose", "p2", "2026-11-16T12:00:00Z", "https://www.instagram.com/p/p2/"],
]


def write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("listening")
    write_csv(folder / "mentions.csv", ["platform", "mention_id", "published_at", "text"], MENTIONS)
    write_csv(folder / "comments.csv", ["platform", "account", "message_id", "post_id", "received_at", "author",
                                        "text", "sentiment"], COMMENTS)
    write_csv(folder / "posts.csv", ["platform", "account", "post_id", "published_at", "url"], POSTS)
    (folder / "agency.toml").write_text(WORKFLOW, encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CMFLOW_LOAD_PLUGINS", "")
        patch.chdir(folder)
        result = run_workflow_file(folder / "agency.toml", store_url=f"sqlite:///{folder / 'state.db'}")
    assert result.status == "ok", [f"{s.kind} {s.id}: {s.error}" for s in result.failed_stages]
    return folder / "reports"


def text_of(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def moderation_rows(page: str) -> list[list[str]]:
    """The moderation list's rows, each cell's text."""
    section = page.split('<h3 id="most-negative">', 1)[1].split("</table>", 1)[0]
    return [[text_of(cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.DOTALL)]
            for row in re.findall(r"<tr>(.*?)</tr>", section.split("<tbody>", 1)[1], re.DOTALL)]


def test_a_clients_report_lists_its_own_most_negative_comments_first(reports) -> None:
    page = (reports / "atelier-rose.html").read_text(encoding="utf-8")
    assert text_of(page.split('<h3 id="most-negative">', 1)[1].split("</h3>", 1)[0]) == \
        "Messages les plus négatifs, à traiter en priorité"
    assert "<h4>Commentaires reçus</h4>" in page and "<th>Reçu le</th>" in page
    # No score from an export's labels: the note says what "négatif" means.
    assert (f"Le sentiment va de −1 (le plus négatif) à +1 (le plus positif). «{NBSP}Négatif{NBSP}»{NBSP}: "
            "qualifié ainsi par les données, sans score.</p>") in page
    assert moderation_rows(page) == [
        ["1", "<script>alert(1)</script> Colis jamais arrivé", "<img src=x onerror=alert(1)>",
         "Atelier Rose · Instagram", "17 nov. 2026", "négatif"],
        ["2", "Taille trop petite", "@b", "Atelier Rose · Instagram", "18 nov. 2026", "négatif"],
        ["3", "Un peu déçue du délai", "@c", "Atelier Rose · Instagram", "19 nov. 2026", "négatif"],
        ["4", '=HYPERLINK("http://x","y")', "@e", "Atelier Rose · Instagram", "20 nov. 2026", "négatif"],
    ]
    # Escaped, never markup; a comment links to the post it was left on, when that is a plain https address.
    assert "<script>alert(1)" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Colis" in page and "javascript:" not in page
    assert '<a href="https://www.instagram.com/p/p2/" rel="noopener noreferrer nofollow">Taille trop petite</a>' in page
    # Northwind's comments are never in Atelier Rose's report.
    assert "Broken frame" not in page and "Slow shipping" not in page


def test_the_english_report_lists_its_clients_comments_in_english(reports) -> None:
    page = (reports / "northwind.html").read_text(encoding="utf-8")
    assert "Most negative messages, to answer or moderate first" in page
    assert "<h4>Comments received</h4>" in page and "<th>Received</th>" in page
    assert [row[:3] + row[5:] for row in moderation_rows(page)] == [
        ["1", "Broken frame, no reply", "@x", "negative"], ["2", "Slow shipping", "@y", "negative"]]
    assert "Colis" not in page


def test_the_share_of_voice_of_the_clients_brands_is_charted(reports) -> None:
    page = (reports / "atelier-rose.html").read_text(encoding="utf-8")
    chart = page.split('<div class="chart-title">Part de voix</div>', 1)[1].split("</svg>", 1)[0]
    assert 'aria-label="Part de chaque marque dans les mentions de toutes les marques suivies' in chart
    labels = [html.unescape(t) for t in re.findall(r"<text[^>]*>([^<]*)</text>", chart)]
    assert "Atelier Rose" in labels and "<b>Concurrent</b> Bleu" in labels  # escaped by Vega
    assert "<b>" not in chart
    assert f"75{NBSP}%" in labels and f"25{NBSP}%" in labels  # 3 and 1 of the 4 mentions
    assert "Cette période" in labels and "Période précédente" in labels
    assert "Northwind" not in chart


def test_one_brand_has_no_share_of_voice_chart(reports) -> None:
    """Northwind watches no competitor: a single bar at 100 % says nothing."""
    page = (reports / "northwind.html").read_text(encoding="utf-8")
    assert "Share of voice" not in page.split('id="brands"', 1)[-1].split("</table>", 1)[-1].split("<h", 1)[0]
    assert '<div class="chart-title">Share of voice</div>' not in page


def test_the_workbook_has_a_sheet_of_the_most_negative_comments_neutralised(reports) -> None:
    import openpyxl

    sheet = openpyxl.load_workbook(reports / "atelier-rose.xlsx")["Commentaires les plus négatifs"]
    rows = [[cell.value for cell in row] for row in sheet.iter_rows(min_row=3, values_only=False)]
    assert rows[0][:7] == ["#", "Texte", "Auteur", "Compte", "Réseau", "Reçu le", "Sentiment"]
    assert [row[:5] for row in rows[1:]] == [
        [1, "<script>alert(1)</script> Colis jamais arrivé", "<img src=x onerror=alert(1)>", "Atelier Rose",
         "Instagram"],
        [2, "Taille trop petite", "'@b", "Atelier Rose", "Instagram"],  # @ starts a formula: neutralised too
        [3, "Un peu déçue du délai", "'@c", "Atelier Rose", "Instagram"],
        [4, '\'=HYPERLINK("http://x","y")', "'@e", "Atelier Rose", "Instagram"],  # text, never a formula
    ]
    assert [row[6] for row in rows[1:]] == [None] * 4  # no score: an empty cell
    assert [row[7] for row in rows[1:]] == [None, "https://www.instagram.com/p/p2/", None,
                                           "https://www.instagram.com/p/p2/"]  # not javascript:
    assert "Broken frame" not in str(rows)
