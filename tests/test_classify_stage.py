"""The classify stage through whole runs: ``[[classifiers]]`` label mentions and comments (French
and English) where their source gave no sentiment, the metrics then count them.

Runs read real files (JSON and CSV exports written to tmp_path) into a real SQLite store. Exact
scores come from ``keywords``, a classifier defined here; the built-in ``sentiment`` classifier
is asked only for labels a French or English reader would not argue with.
"""

from __future__ import annotations

import json
import re
import types
from contextlib import contextmanager
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from cmflow import Classifier, PluginOptions, hookimpl
from cmflow.cli import main
from cmflow.foundation.errors import WorkflowInvalid
from cmflow.testing import registered_plugin, run_workflow_file
from cmflow.workflow import load_workflow

CALLS: list[tuple[list, list | None]] = []
"""What the ``keywords`` classifier was handed: (texts, languages) per call."""


class KeywordsOptions(PluginOptions):
    fail: bool = False
    wrong_rows: bool = False


class Keywords(Classifier):
    """'bad' in a text: negative, -0.5; 'good': positive, 0.75; else neutral, 0. Language: the
    one given, else 'en' when the text has 'the', else null."""

    name = "keywords"
    description = "Test classifier by keywords."
    Options = KeywordsOptions

    def classify(self, texts: pl.Series, languages: pl.Series | None) -> pl.DataFrame:
        CALLS.append((texts.to_list(), None if languages is None else languages.to_list()))
        if self.options.fail:
            raise RuntimeError("model exploded")
        rows = []
        for index, text in enumerate(texts.to_list()):
            given = languages[index] if languages is not None else None
            language = given or ("en" if " the " in f" {text.lower()} " else None)
            if "bad" in text.lower():
                rows.append(("negative", -0.5, language))
            elif "good" in text.lower():
                rows.append(("positive", 0.75, language))
            else:
                rows.append(("neutral", 0.0, language))
        if self.options.wrong_rows:
            rows = rows[:-1]
        return pl.DataFrame(rows, schema={"sentiment": pl.String, "score": pl.Float64, "language": pl.String},
                            orient="row")


@hookimpl
def _register(register):
    register(Keywords)


KEYWORDS = types.SimpleNamespace(register_classifiers=_register)

MENTIONS = [  # Monday 23 November 2026, the period of the workflows below
    {"platform": "mastodon", "mention_id": "m1", "published_at": "2026-11-23T08:00:00Z", "author": "julie",
     "text": "Franchement bad, le colis est arrivé ouvert", "language": "fr", "reach": 1830},
    {"platform": "bluesky", "mention_id": "m2", "published_at": "2026-11-23T09:30:00Z", "author": "tom",
     "text": "the new scent is good", "reach": 97},
    {"platform": "x", "mention_id": "m3", "published_at": "2026-11-23T10:00:00Z", "author": "ana",
     "text": "bad bad bad", "sentiment": "Positive"},  # the export's label wins
    {"platform": "x", "mention_id": "m4", "published_at": "2026-11-23T11:00:00Z", "author": "lea",
     "text": "   "},  # no text to read
    {"platform": "x", "mention_id": "m5", "published_at": "2026-11-23T12:00:00Z", "author": "sam",
     "text": "Vu en vitrine ce matin"},
]
COMMENTS = [
    {"platform": "instagram", "account": "maisonlumen", "message_id": "c1", "post_id": "p1",
     "received_at": "2026-11-23T08:10:00Z", "author": "marc", "text": "bad service, the parcel never came"},
    {"platform": "instagram", "account": "maisonlumen", "message_id": "c2", "post_id": "p1",
     "received_at": "2026-11-23T08:20:00Z", "author": "zoe", "text": "Très good, merci !"},
]

WORKFLOW = """
[workflow]
name = "Listening"
period = "yesterday"
as_of = "2026-11-24"

[[sources]]
id = "veille"
plugin = "json"
path = "mentions.json"
record = "mention"

[[sources]]
id = "comments"
plugin = "json"
path = "comments.json"
record = "conversation"
{classifiers}
[[metrics]]
plugin = "negative_mentions"
by = ["overall", "platform"]

[[metrics]]
plugin = "negative_comments"
by = ["overall"]
"""


@contextmanager
def keywords_registered():
    with registered_plugin(KEYWORDS, package="test-keywords"):
        yield


def run(tmp_path: Path, store_url: str, classifiers: str, mentions: list[dict] = MENTIONS,
        comments: list[dict] = COMMENTS, after: str = ""):
    (tmp_path / "mentions.json").write_text(json.dumps(mentions), encoding="utf-8")
    (tmp_path / "comments.json").write_text(json.dumps(comments), encoding="utf-8")
    (tmp_path / "listening.toml").write_text(WORKFLOW.format(classifiers=classifiers) + after, encoding="utf-8")
    CALLS.clear()
    with keywords_registered():
        return run_workflow_file(tmp_path / "listening.toml", store_url=store_url)


def current(result, metric: str) -> dict[str | None, tuple[float | None, str | None]]:
    rows = result.measurements.filter((pl.col("period") == "current") & (pl.col("metric") == metric))
    return {row["platform"]: (row["value"], row["reason"]) for row in rows.iter_rows(named=True)}


def test_the_stage_labels_texts_without_sentiment_and_leaves_the_rest_of_the_records_as_they_were(
        tmp_path, store_url) -> None:
    result = run(tmp_path, store_url, '\n[[classifiers]]\nplugin = "keywords"\n')
    assert result.status == "ok", [s.error for s in result.failed_stages]
    # Handed only the texts to label (m3 has the export's sentiment, m4 no text), with the
    # languages the source knows: the mentions, then the comments (no language column: None).
    assert CALLS == [
        (["Franchement bad, le colis est arrivé ouvert", "the new scent is good", "Vu en vitrine ce matin"],
         ["fr", None, None]),
        (["bad service, the parcel never came", "Très good, merci !"], None)]
    mentions = result.records["mention"].sort("mention_id")
    assert mentions.select("mention_id", "sentiment", "sentiment_score", "language").rows() == [
        ("m1", "negative", -0.5, "fr"),
        ("m2", "positive", 0.75, "en"),
        ("m3", "positive", None, None),  # the export's own ("Positive", read as positive), without a score
        ("m4", None, None, None),
        ("m5", "neutral", 0.0, None)]
    assert mentions.select("mention_id", "author", "reach", "text").rows() == [
        (m["mention_id"], m["author"], m.get("reach"), m["text"].strip() or None) for m in MENTIONS]  # blank: none
    comments = result.records["conversation"].sort("message_id")
    assert comments.select("message_id", "sentiment", "sentiment_score", "language", "post_id").rows() == [
        ("c1", "negative", -0.5, "en", "p1"), ("c2", "positive", 0.75, None, "p1")]
    [report] = [s for s in result.stages if s.kind == "classifier"]
    assert (report.id, report.plugin, report.ok, report.counts) == ("keywords", "keywords", True,
                                                                    {"mention": 3, "conversation": 2})
    # negative_mentions reads the labels: m1 (mastodon); m3 is positive by its export.
    assert current(result, "negative_mentions") == {
        None: (1.0, None), "mastodon": (1.0, None), "bluesky": (0.0, None), "x": (0.0, None)}
    assert current(result, "negative_comments") == {None: (1.0, None)}


def test_without_a_classifier_negative_mentions_of_unlabelled_mentions_have_no_value(tmp_path, store_url) -> None:
    """The same export and no [[classifiers]]: no figure, a reason, never 0 (x has m3's label)."""
    result = run(tmp_path, store_url, "")
    reason = ("no mention of the period has a sentiment: add a [[classifiers]] entry, or map the export's "
              "sentiment column")
    assert current(result, "negative_mentions") == {
        None: (0.0, None), "mastodon": (None, reason), "bluesky": (None, reason), "x": (0.0, None)}
    assert "sentiment_score" not in result.records["mention"].columns


def test_records_and_sources_choose_what_a_classifier_labels_and_the_first_entry_wins(tmp_path, store_url) -> None:
    result = run(tmp_path, store_url, """
[[classifiers]]
id = "comments_only"
plugin = "keywords"
records = ["conversation"]
sources = ["comments"]

[[classifiers]]
id = "everything"
plugin = "keywords"
records = ["mention", "conversation"]
""")
    assert result.status == "ok", [s.error for s in result.failed_stages]
    assert [(s.id, s.counts) for s in result.stages if s.kind == "classifier"] == [
        ("comments_only", {"conversation": 2}), ("everything", {"mention": 3, "conversation": 0})]
    assert len(CALLS) == 2 and CALLS[0][0] == [c["text"] for c in COMMENTS]


def test_the_builtin_sentiment_classifier_reads_french_and_english(tmp_path, store_url) -> None:
    mentions = [
        {"platform": "x", "mention_id": "fr-neg", "published_at": "2026-11-23T08:00:00Z",
         "text": "Je suis très déçu, le service client est nul."},
        {"platform": "x", "mention_id": "fr-pos", "published_at": "2026-11-23T08:05:00Z",
         "text": "Super produit, merci à toute l'équipe, c'est génial !"},
        {"platform": "x", "mention_id": "en-neg", "published_at": "2026-11-23T08:10:00Z",
         "text": "This is the worst delivery ever, I hate it."},
        {"platform": "x", "mention_id": "en-pos", "published_at": "2026-11-23T08:15:00Z",
         "text": "I love this shop, the staff is amazing, thanks!"},
        {"platform": "x", "mention_id": "de", "published_at": "2026-11-23T08:20:00Z", "language": "de",
         "text": "Das ist wirklich schlecht."},  # its source says German: left unlabelled
    ]
    result = run(tmp_path, store_url, '\n[[classifiers]]\nplugin = "sentiment"\nrecords = ["mention"]\n',
                 mentions=mentions)
    assert result.status == "ok", [s.error for s in result.failed_stages]
    labelled = result.records["mention"].sort("published_at")
    assert labelled.select("mention_id", "sentiment", "language").rows() == [
        ("fr-neg", "negative", "fr"), ("fr-pos", "positive", "fr"), ("en-neg", "negative", "en"),
        ("en-pos", "positive", "en"), ("de", None, "de")]
    scores = dict(labelled.select("mention_id", "sentiment_score").rows())
    assert scores["fr-neg"] < 0 < scores["fr-pos"] and scores["en-neg"] < 0 < scores["en-pos"]
    assert scores["de"] is None
    assert current(result, "negative_mentions") == {None: (2.0, None), "x": (2.0, None)}


def test_a_classifier_that_raises_fails_the_run_naming_it_and_labels_nothing(tmp_path, store_url) -> None:
    result = run(tmp_path, store_url, '\n[[classifiers]]\nplugin = "keywords"\nfail = true\n')
    assert result.status == "failed"
    [report] = result.failed_stages
    assert (report.kind, report.id, report.error) == ("classifier", "keywords", "RuntimeError: model exploded")
    assert report.counts == {}
    assert result.records["mention"]["sentiment"].to_list() == [None, None, "positive", None, None]
    # What the terminal says: one line naming it, no traceback.
    (tmp_path / "listening.toml").write_text(WORKFLOW.format(classifiers='\n[[classifiers]]\nplugin = "keywords"\n'
                                                             'fail = true\n'), encoding="utf-8")
    with keywords_registered():
        shown = CliRunner().invoke(main, ["run", str(tmp_path / "listening.toml"), "--dry-run"])
    assert shown.exit_code == 1
    assert "✗ classifier keywords (keywords) failed: RuntimeError: model exploded" in shown.output
    assert "Traceback" not in shown.output


def test_rules_on_sentiment_say_the_classifier_failed_and_rules_on_plain_counts_go_on(tmp_path, store_url) -> None:
    triggers = """
[[metrics]]
plugin = "mentions"
by = ["overall"]

[[triggers]]
plugin = "threshold"
metric = "negative_mentions"
above = 0

[[triggers]]
plugin = "threshold"
metric = "mentions"
above = 4
"""
    result = run(tmp_path, store_url, '\n[[classifiers]]\nplugin = "keywords"\nfail = true\n', after=triggers)
    assert sorted(a.summary for a in result.alerts) == [
        "Mentions is 5 mentions overall, above 4 mentions",
        "threshold_negative_mentions cannot be evaluated: classifier keywords failed: RuntimeError: model exploded"]


def test_a_classifier_answering_the_wrong_number_of_rows_fails_the_run(tmp_path, store_url) -> None:
    result = run(tmp_path, store_url, '\n[[classifiers]]\nplugin = "keywords"\nwrong_rows = true\n')
    [report] = result.failed_stages
    assert report.error == "it returned 2 rows for 3 texts"
    assert result.records["mention"]["sentiment"].to_list() == [None, None, "positive", None, None]


def test_a_missing_model_file_fails_the_sentiment_classifier_with_what_to_do(tmp_path, store_url) -> None:
    result = run(tmp_path, store_url, '\n[[classifiers]]\nplugin = "sentiment"\nmodel_path = "models/brand.bin"\n')
    [report] = result.failed_stages
    assert report.error == (f"model file {tmp_path / 'models' / 'brand.bin'} not found: write it with the "
                            "training script, or remove model_path to use the model shipped with cmflow")


def test_a_model_file_that_is_no_model_fails_the_sentiment_classifier_naming_it(tmp_path, store_url) -> None:
    (tmp_path / "brand.bin").write_bytes(b"\x00\x01 not a model \xff")
    result = run(tmp_path, store_url, '\n[[classifiers]]\nplugin = "sentiment"\nmodel_path = "brand.bin"\n')
    [report] = result.failed_stages
    assert report.error.startswith(f"model file {tmp_path / 'brand.bin'} cannot be read as a sentiment model (")


@pytest.mark.parametrize(("entry", "expected"), [
    ('plugin = "keywords"\nrecords = ["mention", "post"]',
     "classifiers[0].records[1]: no source it reads provides post records (they provide conversation, mention)"),
    ('plugin = "keywords"\nrecords = ["conversation"]\nsources = ["veille"]',
     "classifiers[0].records[0]: no source it reads provides conversation records (they provide mention)"),
    ('plugin = "keywords"\nsources = ["comment"]', "classifiers[0].sources[0]: no source has id 'comment' "
                                                   "(did you mean 'comments'?)"),
    ('plugin = "keyword"', "classifiers[0].plugin: unknown classifier plugin 'keyword' (did you mean 'keywords'?)"),
    ('plugin = "negative_mentions"', "classifiers[0].plugin: unknown classifier plugin 'negative_mentions' "
                                     "('negative_mentions' is a metric plugin, not a classifier plugin)"),
    ('plugin = "sentiment"\nlanguages = ["de"]', "classifiers[0].languages[0]"),
    ('plugin = "keywords"\nrecords = ["posts"]', "classifiers[0].records[0]"),
])
def test_classifier_entries_are_checked_with_their_key_paths(tmp_path, entry, expected) -> None:
    (tmp_path / "mentions.json").write_text("[]", encoding="utf-8")
    (tmp_path / "comments.json").write_text("[]", encoding="utf-8")
    path = tmp_path / "listening.toml"
    path.write_text(WORKFLOW.format(classifiers=f"\n[[classifiers]]\n{entry}\n"), encoding="utf-8")
    with keywords_registered(), pytest.raises(WorkflowInvalid) as raised:
        load_workflow(path)
    problems = [str(p).removeprefix(f"{path}: ") for p in raised.value.problems]
    assert len(problems) == 1 and problems[0].startswith(expected), problems


def test_without_records_a_classifier_labels_the_mentions_and_comments_its_sources_provide(tmp_path) -> None:
    """The usual listening workflow has mentions only: the default labels them, not a refused
    `records[1]` (conversation) the user never wrote; sources of neither are refused at `records`."""
    (tmp_path / "mentions.json").write_text("[]", encoding="utf-8")
    only_mentions = WORKFLOW.split("[[sources]]\nid = \"comments\"")[0] + "{classifiers}\n[[metrics]]\nplugin = \"negative_mentions\"\n"
    path = tmp_path / "listening.toml"
    path.write_text(only_mentions.format(classifiers='\n[[classifiers]]\nplugin = "sentiment"\nlanguages = ["fr"]\n'),
                    encoding="utf-8")
    [entry] = load_workflow(path).classifiers
    assert entry.common.records == ["mention"]
    path.write_text(only_mentions.replace('record = "mention"', 'record = "post"').replace("negative_mentions", "totals")
                    .format(classifiers='\n[[classifiers]]\nplugin = "sentiment"\n'), encoding="utf-8")
    with pytest.raises(WorkflowInvalid) as raised:
        load_workflow(path)
    [problem] = raised.value.problems
    assert problem.path == "classifiers[0].records"
    assert problem.message.startswith("no source it reads provides mention or conversation records")
    assert problem.hint.startswith('write records = ["post"]')


def test_a_valid_classifier_entry_is_counted_by_validate(tmp_path) -> None:
    (tmp_path / "mentions.json").write_text("[]", encoding="utf-8")
    (tmp_path / "comments.json").write_text("[]", encoding="utf-8")
    path = tmp_path / "listening.toml"
    path.write_text(WORKFLOW.format(classifiers='\n[[classifiers]]\nplugin = "sentiment"\n'), encoding="utf-8")
    shown = CliRunner().invoke(main, ["validate", str(path)])
    assert shown.exit_code == 0
    assert shown.output == f"✓ {path}: Listening (2 sources, 1 classifier, 2 metrics, 0 triggers, 0 outputs)\n"


def test_one_language_reads_every_text_in_it_but_not_those_a_source_says_are_in_another(tmp_path, store_url) -> None:
    mentions = [
        {"platform": "x", "mention_id": "a", "published_at": "2026-11-23T08:00:00Z",
         "text": "Service client nul, je suis déçu"},
        {"platform": "mastodon", "mention_id": "b", "published_at": "2026-11-23T08:05:00Z", "language": "en",
         "text": "Awful service, I hate it"},
    ]
    result = run(tmp_path, store_url, '\n[[classifiers]]\nplugin = "sentiment"\nrecords = ["mention"]\n'
                                      'languages = ["fr"]\n', mentions=mentions)
    labelled = result.records["mention"].sort("mention_id")
    assert labelled.select("mention_id", "sentiment", "language").rows() == [("a", "negative", "fr"), ("b", None, "en")]
    assert labelled["sentiment_score"][1] is None


def test_the_most_negative_items_are_listed_with_who_when_and_what(tmp_path, store_url) -> None:
    from cmflow import ranked_items

    rankings = """
[[metrics]]
plugin = "most_negative"
records = "mention"
by = ["overall"]

[[metrics]]
plugin = "most_negative"
id = "worst_comments"
records = "conversation"
by = ["overall"]

[[outputs]]
plugin = "console"
width = 160
"""
    result = run(tmp_path, store_url, '\n[[classifiers]]\nplugin = "keywords"\n', after=rankings)
    assert result.status == "ok", [s.error for s in result.failed_stages]
    [mention] = ranked_items(result, "most_negative_mentions")
    assert {k: mention[k] for k in ("rank", "platform", "mention_id", "author", "value", "url", "reach")} == {
        "rank": 1, "platform": "mastodon", "mention_id": "m1", "author": "julie", "value": -0.5, "url": None,
        "reach": 1830}
    assert mention["published_at"].isoformat() == "2026-11-23T08:00:00+00:00"
    [comment] = ranked_items(result, "most_negative_comments")
    assert (comment["account"], comment["post_id"], comment["message_id"], comment["author"]) == (
        "maisonlumen", "p1", "c1", "marc")
    with keywords_registered():
        shown = CliRunner().invoke(main, ["run", str(tmp_path / "listening.toml"), "--dry-run"])
    lines = [" ".join(line.split()) for line in shown.output.splitlines()]
    assert "Most negative mentions" in lines and "Most negative comments" in lines
    assert "│ 1 │ mastodon @julie │ 2026-11-23 08:00 │ -0.50 │ Franchement bad, le colis est arrivé ouvert │" in lines
    assert "│ 1 │ instagram / maisonlumen @marc │ 2026-11-23 08:10 │ -0.50 │ bad service, the parcel never came │" \
        in lines


def test_the_html_report_lists_the_most_negative_items_escaped(tmp_path, store_url) -> None:
    mentions = [*MENTIONS, {"platform": "x", "mention_id": "m9", "published_at": "2026-11-23T13:00:00Z",
                            "author": "<b>troll</b>", "url": "javascript:alert(1)",
                            "text": "bad <script>alert('x')</script>"}]
    report = tmp_path / "report.html"
    after = f"""
[[metrics]]
plugin = "most_negative"
records = "mention"
by = ["overall"]

[[outputs]]
plugin = "html_report"
path = "{report.as_posix()}"
"""
    result = run(tmp_path, store_url, '\n[[classifiers]]\nplugin = "keywords"\n', mentions=mentions, after=after)
    assert result.status == "ok", [s.error for s in result.failed_stages]
    html = report.read_text(encoding="utf-8")
    section = html[html.index('<h2 id="most-negative-mentions">'):html.index("<footer>")]
    rows = [" ".join(re.sub(r"<[^>]+>", " ", row).split()) for row in section.split("<tr>")[2:]]
    # m1 then m9 (a tie at −0.5: the larger reach first; m9 has none)
    assert rows == ["1 Mastodon @julie Nov 23, 2026, 08:00 -0.50 Franchement bad, le colis est arrivé ouvert",
                    "2 X (Twitter) @&lt;b&gt;troll&lt;/b&gt; Nov 23, 2026, 13:00 -0.50 "
                    "bad &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"]
    assert "javascript:" not in section and "<script>" not in html


def test_the_report_says_how_many_of_the_texts_handed_were_labelled(tmp_path, store_url) -> None:
    mentions = [
        {"platform": "x", "mention_id": "fr", "published_at": "2026-11-23T08:00:00Z", "language": "fr-FR",
         "text": "Service client nul, je suis déçu"},
        {"platform": "x", "mention_id": "de", "published_at": "2026-11-23T08:05:00Z", "language": "de",
         "text": "Das ist wirklich schlecht."},
        {"platform": "x", "mention_id": "ok", "published_at": "2026-11-23T08:10:00Z", "text": "ok"},
    ]
    result = run(tmp_path, store_url, '\n[[classifiers]]\nplugin = "sentiment"\nrecords = ["mention", "conversation"]\n',
                 mentions=mentions)
    assert result.status == "ok", [s.error for s in result.failed_stages]
    [report] = [s for s in result.stages if s.kind == "classifier"]
    assert report.counts == {"mention": 2, "conversation": 2}
    assert report.note == "labelled 2 of 3 mentions (1 in another or unknown language), 2 conversations"
    shown = CliRunner().invoke(main, ["run", str(tmp_path / "listening.toml"), "--store", store_url])
    assert "✓ classifier sentiment (sentiment): labelled 2 of 3 mentions (1 in another or unknown language), " \
           "2 conversations\n" in shown.stderr, shown.output
    labelled = result.records["mention"].sort("published_at")
    assert labelled.select("mention_id", "sentiment", "language").rows() == [
        ("fr", "negative", "fr-FR"), ("de", None, "de"), ("ok", "neutral", None)]


class _Answers(Classifier):
    """Answers the languages it is built with, for every text: neutral, 0."""

    name = "answers"
    description = "Test classifier answering set languages."
    Options = PluginOptions

    def __init__(self, languages: list) -> None:
        self.languages = languages

    def classify(self, texts: pl.Series, languages: pl.Series | None) -> pl.DataFrame:
        return pl.DataFrame({"sentiment": ["neutral"] * texts.len(), "score": [0.0] * texts.len(),
                             "language": self.languages})


def test_a_classifiers_languages_are_made_primary_subtags_and_anything_else_is_refused() -> None:
    from cmflow.stages.classify import ClassifierAnswerInvalid, labels

    texts = pl.Series(["a", "b", "c", "d"])
    answer = labels(_Answers(["fr-FR", "EN", "und", None]), texts, None)
    assert answer["language"].to_list() == ["fr", "en", None, None]
    with pytest.raises(ClassifierAnswerInvalid, match=r"^it returned the language '1'; a language is two "
                                                      r"lower-case letters \(ISO 639-1: fr, en\) or null$"):
        labels(_Answers([1, 2, 3, 4]), texts, None)
    with pytest.raises(ClassifierAnswerInvalid, match="the language 'fra'"):
        labels(_Answers(["fr", "fra", None, None]), texts, None)


@pytest.mark.parametrize(("entry", "expected"), [
    ({}, "negative"),  # the model shipped with cmflow: the sarcasm rules on
    ({"sarcasm": False}, "positive"),
    ({"model_path": "own.json.gz"}, "positive"),  # the user's own model: off unless asked
    ({"model_path": "own.json.gz", "sarcasm": True}, "negative"),
])
def test_the_sentiment_classifier_applies_the_sarcasm_rules_to_its_own_model_unless_told(
        tmp_path, entry, expected) -> None:
    from importlib import resources

    from cmflow.builtin.classifiers.sentiment import Sentiment
    from cmflow.builtin.sentiment.model import BUILTIN_MODEL_FILE

    # the same weights, read as a user's file: the shipped file's bytes (saving the model again at
    # the shipped compression took 7-8 s of CPU per parameter)
    shipped = resources.files("cmflow.builtin.sentiment") / BUILTIN_MODEL_FILE
    (tmp_path / "own.json.gz").write_bytes(shipped.read_bytes())
    classifier = Sentiment(Sentiment.Options(**entry), entry_id="sentiment")
    classifier.prepare(tmp_path)
    text = "Oh great, my flight got cancelled again. Just what I needed, love it"  # the words read positive
    answer = classifier.classify(pl.Series([text]), pl.Series(["en"]))
    assert answer["sentiment"].to_list() == [expected]


def test_a_text_of_unknown_language_is_read_in_the_language_the_workflow_declares(tmp_path, store_url) -> None:
    """A French client's comments and a French-only [listen]'s mentions: a text no function word
    places ("Nul.", "Super 😍") is read in French, as `languages = ["fr"]` would; a text the
    model places (English) or the source places keeps its language; another client's (English)
    unknown text is read in English."""
    from cmflow.builtin.sentiment.model import SentimentModel

    comments = [
        {"platform": "instagram", "account": "maisonlumen", "message_id": f"c{i}", "post_id": "p1",
         "received_at": f"2026-11-23T08:{10 + i}:00Z", "author": "marc", "text": text}
        for i, text in enumerate(["Nul.", "Super 😍", "the parcel never came, awful"])
    ] + [{"platform": "instagram", "account": "trailhead", "message_id": "t1", "post_id": "p2",
          "received_at": "2026-11-23T09:00:00Z", "author": "kim", "text": "Nul."}]
    mentions = [
        {"platform": "x", "mention_id": "m1", "published_at": "2026-11-23T08:00:00Z", "author": "ana",
         "text": "Lumen : deception totale"},
        {"platform": "x", "mention_id": "m2", "published_at": "2026-11-23T08:05:00Z", "author": "tom",
         "text": "Lumen bof", "language": "de"},
    ]
    after = ('\n[[clients]]\nid = "lumen"\nname = "Maison Lumen"\nlanguage = "fr"\naccounts = ["maisonlumen"]\n'
             '\n[[clients]]\nid = "trail"\nname = "Trailhead"\nlanguage = "en"\naccounts = ["trailhead"]\n'
             '\n[listen]\nlanguages = ["fr"]\n\n[listen.brand]\nid = "lumen"\nname = "Lumen"\n')
    result = run(tmp_path, store_url, '\n[[classifiers]]\nplugin = "sentiment"\n', mentions=mentions,
                 comments=comments, after=after)
    assert result.status == "ok", [s.error for s in result.failed_stages]
    model = SentimentModel.builtin()
    labelled = result.records["conversation"].sort("message_id")
    assert labelled.select("message_id", "language").rows() == [("c0", "fr"), ("c1", "fr"), ("c2", "en"), ("t1", "en")]
    french = model.classify(["Nul.", "Super 😍"], ["fr", "fr"])
    assert labelled["sentiment"].to_list()[:2] == french["sentiment"].to_list()
    assert labelled["sentiment_score"].to_list()[:2] == pytest.approx(french["score"].to_list(), abs=1e-12)
    assert labelled["sentiment_score"][3] == pytest.approx(model.classify(["Nul."], ["en"])["score"][0], abs=1e-12)
    mentions_read = result.records["mention"].sort("mention_id")
    assert mentions_read.select("mention_id", "language").rows() == [("m1", "fr")]  # m2: German, left out by [listen]
    assert mentions_read["sentiment_score"][0] == pytest.approx(
        model.classify(["Lumen : deception totale"], ["fr"])["score"][0], abs=1e-12)
