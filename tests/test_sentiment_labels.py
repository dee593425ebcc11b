"""An export's sentiment words: a French monitoring export's ``Positif``/``Négatif``/``Neutre`` are
read as the sentiments they stand for, and a word that is none (``Mitigé``) is never dropped
silently: the source warns, naming the file, the column and the words, counted.

Fixture ``fixtures/listening/mentions_fr_tonalite.csv`` (a French tool's shape: byte-order mark,
``;``, CRLF, day-first dates, thousands with a space), seven mentions of the week of 16 November
2026: Positif, Négatif, Neutre, Mitigé, ``NEGATIVE `` (capitals, a trailing blank), Mitigé and an
empty cell. Classified: 4 (1 positive, 2 negative, 1 neutral); the two Mitigé and the empty one
are not classified. Shares: negative 2/4 = 50 %, positive 25 %, neutral 25 %.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cmflow import sentiment_of
from cmflow.testing import run_workflow_file

FIXTURE = Path(__file__).parent / "fixtures" / "listening" / "mentions_fr_tonalite.csv"
WORKFLOW = '''
[workflow]
name = "Veille"
timezone = "Europe/Paris"

[[sources]]
id = "veille"
plugin = "csv"
path = "mentions.csv"
record = "mention"
delimiter = ";"
thousands = " "
datetime_format = "%d/%m/%Y %H:%M"
constants = { platform = "web" }
columns = { mention_id = "ID", published_at = "Date", author = "Auteur", text = "Contenu", sentiment = "Tonalité", reach = "Audience" }
{values}

[listen.brand]
id = "lumen"
name = "Maison Lumen"

[[metrics]]
plugin = "sentiment_share"
'''


@pytest.mark.parametrize("word, sentiment", [
    ("Positif", "positive"), ("POSITIVE", "positive"), ("positives", "positive"), ("pos", "positive"),
    ("Négatif", "negative"), ("négative", "negative"), ("NEGATIF", "negative"), ("neg", "negative"),
    ("Neutre", "neutral"), (" neutral ", "neutral"), ("Mitigé", None), ("", None), (None, None),
    ("-", None), ("N/A", None), ("non classé", None),
])
def test_a_sentiment_word_stands_for_its_sentiment_whatever_its_case_accents_and_language(word, sentiment):
    assert sentiment_of(word) == sentiment


def run(tmp_path, write_workflow, store_url, values: str = ""):
    shutil.copy(FIXTURE, tmp_path / "mentions.csv")
    path = write_workflow(WORKFLOW.replace("{values}", values))
    return run_workflow_file(path, store_url=store_url, period="2026-11-16..2026-11-22")


def shares(result) -> dict[str, float]:
    return {name: round(result.current(name)["value"].item(), 2)
            for name in ("negative_mentions_share", "neutral_mentions_share", "positive_mentions_share")}


def source_warnings(result) -> list[str]:
    """What the source's summary lines say under it (``!``), about sentiments."""
    [report] = [s for s in result.stages if s.kind == "source" and s.id == "veille"]
    return [p for p in report.problems if "sentiment" in p]


def test_french_labels_are_read_and_unknown_words_are_warned_of_with_file_column_and_counts(
        tmp_path, write_workflow, store_url):
    result = run(tmp_path, write_workflow, store_url)
    assert shares(result) == {"negative_mentions_share": 50.0, "neutral_mentions_share": 25.0,
                              "positive_mentions_share": 25.0}
    [warning] = source_warnings(result)
    assert warning.startswith('mentions.csv: 2 sentiment value(s) of column "Tonalité" are not positive, '
                              "neutral or negative")
    assert '"Mitigé" (2)' in warning
    assert 'values.sentiment = { "Mitigé" = "neutral" } (or positive, negative)' in warning


def test_a_workflows_own_mapping_reads_the_unknown_word_and_silences_the_warning(
        tmp_path, write_workflow, store_url):
    result = run(tmp_path, write_workflow, store_url, values='values = { sentiment = { "Mitigé" = "neutral" } }')
    assert shares(result) == {"negative_mentions_share": 33.33, "neutral_mentions_share": 50.0,
                              "positive_mentions_share": 16.67}
    assert source_warnings(result) == []


def test_the_words_a_tool_writes_for_no_sentiment_are_read_as_empty_cells_without_a_warning(
        tmp_path, write_workflow, store_url):
    """``-``, ``N/A`` and ``Non classé`` are how tools say "no sentiment": the mentions count as
    not classified, as the empty cell does, and only the real unknown word is warned of."""
    text = FIXTURE.read_text(encoding="utf-8-sig")
    text = text.replace("Maison Lumen ;;150", "Maison Lumen ;N/A;150").replace(";Mitigé;300", ";Non classé;300")
    text = text.replace("Maison Lumen, bof;NEGATIVE ;", "Maison Lumen, bof;-;")
    path = write_workflow(WORKFLOW.replace("{values}", ""))
    (tmp_path / "mentions.csv").write_text(text, encoding="utf-8-sig")
    result = run_workflow_file(path, store_url=store_url, period="2026-11-16..2026-11-22")
    assert shares(result) == {"negative_mentions_share": 33.33, "neutral_mentions_share": 33.33,
                              "positive_mentions_share": 33.33}
    [warning] = source_warnings(result)
    assert '1 sentiment value(s) of column "Tonalité"' in warning
    assert '"Mitigé" (1);' in warning
    [sentiments] = [set(result.records["mention"]["sentiment"].to_list())]
    assert sentiments == {"positive", "negative", "neutral", "Mitigé", None}
