"""The classify stage: the ``[[classifiers]]`` of a workflow label the texts of the records.

Takes the workflow and what the earlier stages made (:class:`~cmflow.stages.fetch.Fetched`);
returns :class:`Classified`: the records, each frame of a kind a classifier entry names with the
columns ``sentiment``, ``sentiment_score`` and ``language`` (added where the kind has none), and
one report per classifier entry. A record is labelled when it has a text and no sentiment yet:
a sentiment an export carries wins, and so does the first of two entries labelling one kind.
A record's own ``language`` (a platform's, a source's) is handed to the classifier and kept;
the classifier's fills it where there was none. A text whose language neither the record nor
the classifier can tell is read in the language the workflow declares for it, when it declares
one (:func:`declared_languages`: ``[listen] languages`` of one code for mentions, else the
language of the client whose account the record is of): the classifier is asked again for those
texts with that language, and its answer kept where it labels them. Everything else of the
records is unchanged.

A classifier that raises, or answers in another shape than :meth:`cmflow.Classifier.classify`
says, labels nothing: its report fails with one line naming it, and the run fails.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from cmflow.foundation.errors import UserFacingError
from cmflow.foundation.language_codes import language_codes
from cmflow.foundation.records import CLASSIFICATION_COLUMNS, SENTIMENTS
from cmflow.plugins.result import StageReport
from cmflow.stages.failures import failure

if TYPE_CHECKING:
    import polars as pl

    from cmflow.plugins.kinds import Classifier
    from cmflow.stages.fetch import Fetched
    from cmflow.workflow import Entry, Workflow

LABEL_COLUMNS: tuple[str, ...] = ("sentiment", "score", "language")
"""The columns of the frame a classifier returns (:meth:`cmflow.Classifier.classify`), and those
``cmflow classify`` writes."""
LANGUAGE_PATTERN = r"^[a-z]{2}$"
"""A language a classifier answers, once made its primary subtag (``fr-FR`` -> ``fr``): two
lower-case letters (ISO 639-1), or null."""


class ClassifierAnswerInvalid(UserFacingError, ValueError):
    """A classifier returned something else than one row of labels per text."""


@dataclass(frozen=True)
class Classified:
    """What the classify stage made."""

    records: dict[str, "pl.DataFrame"]
    """The records by kind; the kinds a classifier entry names carry :data:`CLASSIFICATION_COLUMNS`."""
    reports: list[StageReport]
    """One per classifier entry, in the workflow's order: how many records of each kind it labelled."""


def classify(workflow: "Workflow", fetched: "Fetched") -> Classified:
    """Label the records the workflow's classifier entries name (see the module's docstring)."""
    records = dict(fetched.records)
    reports = []
    for entry in workflow.classifiers:
        report = StageReport("classifier", entry.id, entry.info.name)
        try:
            entry.plugin.prepare(workflow.directory)
            read: dict[str, int] = {}
            labelled = {kind: _labelled(entry, kind, records[kind], report, read,
                                        declared_languages(workflow, kind, records[kind]))
                        for kind in entry.common.records if kind in records}
        except Exception as exc:  # labels nothing: a half-labelled run would count half the texts
            report.ok, report.error = False, failure("classifier", entry.id, exc)
            report.counts = {}
        else:
            records.update(labelled)
            report.note = labelled_note(report.counts, read)
        reports.append(report)
    return Classified(records, reports)


def with_classification_columns(frame: "pl.DataFrame") -> "pl.DataFrame":
    """``frame`` with the columns a classifier fills, empty where it had none (posts have no
    ``sentiment``, conversations no ``language``)."""
    import polars as pl

    types = {"sentiment": pl.String, "sentiment_score": pl.Float64, "language": pl.String}
    missing = [pl.lit(None, dtype=types[c]).alias(c) for c in CLASSIFICATION_COLUMNS if c not in frame.columns]
    return frame.with_columns(missing) if missing else frame


def declared_languages(workflow: "Workflow", kind: str, frame: "pl.DataFrame") -> "pl.Series | None":
    """The language the workflow declares for each record of ``frame`` (of ``kind``), or None
    where it declares none: for mentions, the one language of ``[listen] languages`` when it
    lists exactly one; else the ``language`` of the client (``[[clients]]``) that owns the
    record's ``account``. None when the workflow declares none for any record."""
    import polars as pl

    from cmflow.foundation.clients import client_of

    if kind == "mention" and workflow.listen is not None and len(workflow.listen.languages) == 1:
        return pl.Series("declared", [workflow.listen.languages[0]] * frame.height, dtype=pl.String)
    if not workflow.clients or "account" not in frame.columns:
        return None
    accounts = frame["account"].cast(pl.String)
    languages = {account: getattr(client_of(workflow.clients, account), "language", None)
                 for account in accounts.unique().to_list()}
    if not any(languages.values()):
        return None
    return accounts.replace_strict(languages, default=None, return_dtype=pl.String).alias("declared")


def labels(classifier: "Classifier", texts: "pl.Series", languages: "pl.Series | None") -> "pl.DataFrame":
    """What ``classifier`` says of ``texts``, checked: one row per text with ``sentiment`` (one
    of :data:`~cmflow.foundation.records.SENTIMENTS` or null), ``score`` (in [-1, 1] or null) and
    ``language``; :class:`ClassifierAnswerInvalid` saying what is wrong otherwise."""
    import polars as pl

    answer = classifier.classify(texts, languages)
    if not isinstance(answer, pl.DataFrame):
        raise ClassifierAnswerInvalid(f"it returned {type(answer).__name__}, not a polars DataFrame")
    missing = [c for c in LABEL_COLUMNS if c not in answer.columns]
    if missing:
        raise ClassifierAnswerInvalid(f"it returned no column {', '.join(missing)} "
                                      f"(it returned {', '.join(answer.columns) or 'none'})")
    if answer.height != texts.len():
        raise ClassifierAnswerInvalid(f"it returned {answer.height} rows for {texts.len()} texts")
    try:
        answer = answer.select(pl.col("sentiment").cast(pl.String), pl.col("score").cast(pl.Float64),
                               language_codes(pl.col("language").cast(pl.String)).alias("language"))
    except pl.exceptions.PolarsError as exc:
        raise ClassifierAnswerInvalid(f"it returned columns of the wrong type: {exc}") from None
    odd = answer.filter(pl.col("language").is_not_null() & ~pl.col("language").str.contains(LANGUAGE_PATTERN))
    if odd.height:
        raise ClassifierAnswerInvalid(f"it returned the language {odd['language'][0]!r}; a language is two "
                                      "lower-case letters (ISO 639-1: fr, en) or null")
    unknown = answer.filter(pl.col("sentiment").is_not_null() & ~pl.col("sentiment").is_in(SENTIMENTS))
    if unknown.height:
        raise ClassifierAnswerInvalid(f"it returned the sentiment {unknown['sentiment'][0]!r}; "
                                      f"a sentiment is one of {', '.join(SENTIMENTS)} (or null)")
    outside = answer.filter((pl.col("score").abs() > 1) | pl.col("score").is_nan())
    if outside.height:
        raise ClassifierAnswerInvalid(f"it returned the score {outside['score'][0]}; a score lies in [-1, 1]")
    return answer


def labelled_note(labelled: dict[str, int], read: dict[str, int]) -> str:
    """What a classifier entry's report says: per kind, how many of the texts handed to it it
    labelled (``labelled 2 of 3 mentions (1 in another or unknown language), 2 conversations``)."""
    from cmflow.foundation.records import RECORD_KINDS

    parts = []
    for kind, count in read.items():
        counted = RECORD_KINDS[kind].counted(count) if kind in RECORD_KINDS else f"{kind}: {count}"
        left = count - labelled[kind]
        parts.append(f"{labelled[kind]} of {counted} ({left} in another or unknown language)" if left else counted)
    return "labelled " + (", ".join(parts) or "nothing")


def _labelled(entry: "Entry", kind: str, frame: "pl.DataFrame", report: StageReport,
              read: dict[str, int], declared: "pl.Series | None" = None) -> "pl.DataFrame":
    """The records of ``frame`` (of ``kind``) with the classification columns, labelled where
    they are of the entry's sources and have a text and no sentiment; ``read[kind]``: how many
    texts the classifier was handed. ``declared``: each record's declared language
    (:func:`declared_languages`), for the texts whose language cannot be told."""
    import polars as pl

    frame = with_classification_columns(frame)
    wanted = pl.col("sentiment").is_null() & (pl.col("text").str.strip_chars() != "").fill_null(False)
    if entry.common.sources:
        wanted = wanted & pl.col("source_id").is_in(entry.common.sources)
    declared = declared if declared is not None else pl.Series("declared", [None] * frame.height, dtype=pl.String)
    todo = frame.with_row_index("_row").with_columns(declared.alias("_declared")).filter(wanted) \
        .select("_row", "text", "language", "_declared")
    report.counts[kind], read[kind] = 0, todo.height
    if todo.height == 0:
        return frame
    known = todo["language"] if todo["language"].null_count() < todo.height else None
    answer = _read_in_declared_language(entry.plugin, todo, labels(entry.plugin, todo["text"], known))
    report.counts[kind] = int(answer["sentiment"].is_not_null().sum())
    rows, language = todo["_row"], todo["language"].fill_null(answer["language"])
    return frame.with_columns(frame["sentiment"].clone().scatter(rows, answer["sentiment"]),
                              frame["sentiment_score"].clone().scatter(rows, answer["score"]),
                              frame["language"].clone().scatter(rows, language))


def _read_in_declared_language(classifier: "Classifier", todo: "pl.DataFrame",
                               answer: "pl.DataFrame") -> "pl.DataFrame":
    """``answer`` with the texts of ``todo`` whose language neither the record nor the classifier
    told, and which have a declared language (``_declared``), read again in that language: the
    classifier's second answer replaces the first where it labels the text (a classifier that
    does not read the declared language keeps its first answer)."""
    unknown = todo["language"].is_null() & answer["language"].is_null() & todo["_declared"].is_not_null()
    if not unknown.any():
        return answer
    rows = unknown.arg_true()
    again = labels(classifier, todo["text"].gather(rows), todo["_declared"].gather(rows))
    taken = again["sentiment"].is_not_null()
    rows, again = rows.filter(taken), again.filter(taken)
    return answer.with_columns(answer[column].clone().scatter(rows, again[column]) for column in LABEL_COLUMNS)
