"""Influencer candidates (issue 17) through a whole run: a French monitoring export (BOM, ``;``,
CRLF, a quoted newline, "1 200" reach, Paris time, Positif/Négatif/Neutre) read by the csv source,
watched by ``[listen]``, ranked by ``influencer_candidates``.

The week of 16-22 November 2026, by hand (score = relevance × (log10(1 + audience) + log10(1 + mentions))):

- julie.bsky.social (written twice ``@Julie.bsky.social``): 3 mentions, audience max(1200, 1250,
  1250) = 1250, 2 relevant (the third is negative): 2/3 × (log10 1251 + log10 4)
  = 2/3 × (3.097257 + 0.602060) = 2.466211; example: her most read relevant mention, bs-2.
- marc@piaille.fr: 1 mention naming both brands, neutral, audience 90: log10 91 + log10 2 = 2.260071.
- presse lyon: 1 mention, no sentiment (not negative), audience 25,000: log10 25001 + log10 2 = 4.698987.
- troll_ly: 1 negative mention: relevance 0, not ranked. ateliernuit.bsky.social: the competitor's
  own account (its ``accounts``), left out. @lea.cm: ``exclude_authors``, left out.

Ranked: presse lyon, julie, marc. For Atelier Nuit alone (``by = ["brand"]``): marc only.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from cmflow.builtin.metrics import influencer_candidates as influencers
from cmflow.builtin.sources import csv_source
from cmflow.testing import registered_plugin, run_workflow_file

EXPORT = Path(__file__).parent / "fixtures" / "influencers" / "mentions_fr.csv"

WORKFLOW = """
[workflow]
name = "Influence"
timezone = "Europe/Paris"
period = "last_week"
as_of = "2026-11-23"
compare = []

[listen.brand]
id = "lumiere"
name = "Maison Lumière"
accounts = ["maisonlumiere.bsky.social"]

[[listen.competitors]]
id = "nuit"
name = "Atelier Nuit"
accounts = ["ateliernuit.bsky.social"]

[[sources]]
id = "veille"
plugin = "csv"
path = "{export}"
record = "mention"
delimiter = ";"
datetime_format = "%d/%m/%Y %H:%M"
timezone = "Europe/Paris"
thousands = " "
columns = {{mention_id = "Identifiant", platform = "Réseau", published_at = "Date", author = "Auteur", text = "Texte", url = "Lien", reach = "Portée", sentiment = "Sentiment"}}
values = {{sentiment = {{"Positif" = "positive", "Négatif" = "negative", "Neutre" = "neutral"}}}}

[[metrics]]
plugin = "influencer_candidates"
exclude_authors = ["@Lea.CM"]
by = ["overall", "brand"]
"""


def run(tmp_path: Path, text: str = WORKFLOW):
    path = tmp_path / "influence.toml"
    path.write_text(text.format(export=EXPORT), encoding="utf-8")
    with registered_plugin(csv_source, package=csv_source.__name__), \
            registered_plugin(influencers, package=influencers.__name__):
        result = run_workflow_file(path, store_url=f"sqlite:///{tmp_path}/state.db")
    assert result.status == "ok", [s.error for s in result.failed_stages]
    return result


def ranking(result, metric: str, brand: str | None = None) -> list[tuple]:
    rows = result.measurements.filter((pl.col("period") == "current") & (pl.col("metric") == metric))
    rows = rows.filter(pl.col("brand").is_null() if brand is None else pl.col("brand") == brand)
    return [(row["rank"], row["author"], row["value"], row["example_url"]) for row in rows.sort("rank").iter_rows(named=True)]


def test_authors_ranked_by_reach_activity_and_relevance_with_the_evidence(tmp_path) -> None:
    result = run(tmp_path)

    scores = ranking(result, "influencer_score")
    assert [(rank, author) for rank, author, _, _ in scores] == [
        (1, "presse lyon"), (2, "julie.bsky.social"), (3, "marc@piaille.fr")]
    assert [value for _, _, value, _ in scores] == pytest.approx([4.698987, 2.466211, 2.260071], abs=1e-6)
    assert scores[1][3] == "https://bsky.app/profile/julie.bsky.social/post/3m2"
    assert [v for _, _, v, _ in ranking(result, "influencer_mentions")] == [1, 3, 1]
    assert [v for _, _, v, _ in ranking(result, "influencer_audience")] == [25000, 1250, 90]
    assert [v for _, _, v, _ in ranking(result, "influencer_relevance")] == pytest.approx([100, 200 / 3, 100])


def test_a_competitors_ranking_reads_the_mentions_naming_it(tmp_path) -> None:
    result = run(tmp_path)

    assert [(rank, author) for rank, author, _, _ in ranking(result, "influencer_score", "nuit")] == [
        (1, "marc@piaille.fr")]
    assert [author for _, author, _, _ in ranking(result, "influencer_score", "lumiere")] == [
        "presse lyon", "julie.bsky.social", "marc@piaille.fr"]


def test_min_mentions_keeps_the_regular_authors(tmp_path) -> None:
    result = run(tmp_path, WORKFLOW.replace('exclude_authors = ["@Lea.CM"]',
                                            'exclude_authors = ["@Lea.CM"]\nmin_mentions = 2'))

    assert [(rank, author) for rank, author, _, _ in ranking(result, "influencer_score")] == [(1, "julie.bsky.social")]


def test_the_report_lists_the_candidates_with_their_evidence(tmp_path) -> None:
    from cmflow.builtin.reports.document import build_document
    from cmflow.builtin.reports.html import render_html
    from cmflow.presentation.language import language
    from cmflow.builtin.reports.scopes import ReportScope

    document = build_document(run(tmp_path), ReportScope(), title="Influence")

    assert [(c["author"], c["mentions"], c["audience"]) for c in document.influencers] == [
        ("presse lyon", 1, 25000), ("julie.bsky.social", 3, 1250), ("marc@piaille.fr", 1, 90)]
    section = render_html(document, language("fr")).split('<h3 id="influencers">Influenceurs potentiels</h3>', 1)[1]
    section = section.split("</table>", 1)[0]
    assert section.index("presse lyon") < section.index("julie.bsky.social") < section.index("marc@piaille.fr")
    assert 'href="https://bsky.app/profile/julie.bsky.social/post/3m2"' in section


def test_an_untrusted_example_link_is_never_clickable(tmp_path) -> None:
    """Mention texts and links are public text: a ``javascript:`` link and markup in a handle are shown
    inert."""
    from cmflow.builtin.reports.document import build_document
    from cmflow.builtin.reports.html import render_html
    from cmflow.presentation.language import language
    from cmflow.builtin.reports.scopes import ReportScope

    hostile = EXPORT.read_text(encoding="utf-8-sig").replace(
        "https://www.presse-lyon.example/maison-lumiere", "javascript:alert(1)").replace(
        "Presse Lyon", "<b>Presse</b> Lyon")
    (tmp_path / "hostile.csv").write_text(hostile, encoding="utf-8-sig", newline="")
    path = str(tmp_path / "hostile.csv").replace("\\", "/")
    result = run(tmp_path, WORKFLOW.replace("{export}", path))
    section = render_html(build_document(result, ReportScope(), title="Influence"), language("en"))
    section = section.split('<h3 id="influencers">', 1)[1].split("</table>", 1)[0]
    assert "javascript:" not in section
    assert "<b>presse</b>" not in section and "&lt;b&gt;presse&lt;/b&gt; lyon" in section


ENGAGEMENT = Path(__file__).parent / "fixtures" / "influencers" / "mentions_engagement_fr.csv"


def test_the_engagement_of_an_authors_mentions_adds_to_the_score(tmp_path) -> None:
    """The same export with the monitoring tool's J'aime / Commentaires / Partages columns mapped
    onto the mentions' likes, comments and shares. By hand, engagement = the sum over the
    author's mentions (the negative one too: relevance already weighs it):

    - julie: (400 + 30 + 20) + (100 + 10 + 0) + (5 + 10 + 1) = 576:
      2/3 × (log10 1251 + log10 4 + log10 577) = 2/3 × (3.097257 + 0.602060 + 2.761176) = 4.306995;
    - marc: 0 + 2 + 0 = 2: log10 91 + log10 2 + log10 3 = 2.737193;
    - presse lyon: empty cells, engagement unknown, adds 0: 4.698987 as before.
    """
    text = WORKFLOW.replace("{export}", str(ENGAGEMENT).replace("\\", "/")).replace(
        'sentiment = "Sentiment"}}', 'sentiment = "Sentiment", likes = "J\'aime", comments = "Commentaires", '
        'shares = "Partages"}}')
    result = run(tmp_path, text)

    scores = ranking(result, "influencer_score")
    assert [author for _, author, _, _ in scores] == ["presse lyon", "julie.bsky.social", "marc@piaille.fr"]
    assert [value for _, _, value, _ in scores] == pytest.approx([4.698987, 4.306995, 2.737193], abs=1e-6)
    engagement = result.measurements.filter((pl.col("period") == "current") & pl.col("brand").is_null()
                                            & (pl.col("metric") == "influencer_engagement")).sort("rank")
    assert engagement.select("author", "value", "unit", "reason").rows() == [
        ("presse lyon", None, "interactions", "no mention of the author carries likes, comments or shares"),
        ("julie.bsky.social", 576, "interactions", None), ("marc@piaille.fr", 2, "interactions", None)]
    from cmflow.builtin.reports.document import build_document
    from cmflow.builtin.reports.html import render_html
    from cmflow.presentation.language import language
    from cmflow.builtin.reports.scopes import ReportScope

    section = render_html(build_document(result, ReportScope(), title="Influence"), language("en"))
    section = section.split('<h3 id="influencers">', 1)[1].split("</table>", 1)[0]
    assert "<th class=\"num\">Interactions on their mentions</th>" in section
    assert '<td class="num">576</td>' in section
