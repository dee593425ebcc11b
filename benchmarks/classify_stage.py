#!/usr/bin/env python3
"""What does the classify stage cost on top of its classifier?

Why: the stage picks the records to label (those with a text and no sentiment), checks the
classifier's answer (one row per text, known sentiments, scores in [-1, 1]) and puts the labels
back on the records. That work should be small beside the classifier's own, whatever the model.

What it does: builds, from a fixed seed, N mention records shaped as the fetch stage hands them
over (conformed columns plus ``source_id``), a quarter of them with an export's sentiment and
some without text, and times, in one process, median of ``--runs``:

- **direct**: the classifier's ``classify`` on exactly the texts the stage hands it;
- **stage**: :func:`cmflow.stages.classify.classify` over the records (the same classifier).

for two classifiers: the built-in ``sentiment`` (whatever model ``SentimentModel.builtin()``
holds) and ``vectorised``, a classifier of three Polars expressions, so that the stage's own
work shows even where a model is fast. It prints texts per second and the ratio stage / direct
(1.00: the stage costs nothing), and checks that the stage's labels are the direct ones (exit 1
otherwise).

Run: ``python benchmarks/classify_stage.py`` (``--records 200000 --runs 5``).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from timing import timed  # benchmarks/timing.py, beside this script
from cmflow import Classifier, RecordTable
from cmflow.plugins.entries import ClassifierEntry
from cmflow.plugins.registry import get_registry
from cmflow.stages.classify import classify
from cmflow.stages.fetch import Fetched

WORDS = ("super", "merci", "nul", "déçu", "great", "awful", "the", "le", "colis", "delivery", "not", "pas",
         "vraiment", "love", "broken", "arrivé", "today", "aujourd'hui", "service", "top")


class Vectorised(Classifier):
    """Negative when a text holds 'nul' or 'awful', positive with 'super' or 'great'."""

    name = "vectorised"
    description = "Benchmark classifier: three Polars expressions."

    def classify(self, texts: pl.Series, languages: pl.Series | None) -> pl.DataFrame:
        text = pl.col("text")
        negative, positive = text.str.contains("nul|awful"), text.str.contains("super|great")
        return pl.DataFrame({"text": texts}).select(
            pl.when(negative).then(pl.lit("negative")).when(positive).then(pl.lit("positive"))
            .otherwise(pl.lit("neutral")).alias("sentiment"),
            pl.when(negative).then(-1.0).when(positive).then(1.0).otherwise(0.0).alias("score"),
            pl.lit(None, dtype=pl.String).alias("language"))


@dataclass
class _Entry:
    """What the stage reads of a workflow's classifier entry."""

    id: str
    plugin: Classifier
    info: object
    common: ClassifierEntry


@dataclass
class _Workflow:
    classifiers: list
    directory: Path = Path.cwd()


def mentions(count: int) -> pl.DataFrame:
    """``count`` mentions from a fixed seed: texts of 4 or 8 words (none for one in 50), a quarter
    of them with an export's sentiment."""
    frame = pl.DataFrame({"i": pl.int_range(0, count, eager=True)}).with_columns(
        (pl.col("i") * 2654435761 % 4294967296).alias("hash"))
    words = [(pl.col("hash") // len(WORDS) ** k % len(WORDS)).replace_strict(dict(enumerate(WORDS)),
                                                                           return_dtype=pl.String)
             for k in range(8)]
    rows = frame.select(
        pl.lit("x").alias("platform"), pl.format("m{}", "i").alias("mention_id"),
        (pl.datetime(2026, 11, 23, time_zone="UTC") + pl.duration(seconds=pl.col("i") % 86400)).alias("published_at"),
        pl.when(pl.col("i") % 50 == 0).then(None).when(pl.col("i") % 2 == 0)
        .then(pl.concat_str(words[:4], separator=" ")).otherwise(pl.concat_str(words, separator=" ")).alias("text"),
        pl.when(pl.col("i") % 4 == 0).then(pl.lit("negative")).alias("sentiment"))
    return RecordTable("mention", rows).conformed().with_columns(pl.lit("src").alias("source_id"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    records = mentions(args.records)
    todo = records.filter(pl.col("sentiment").is_null() & (pl.col("text").str.strip_chars() != "").fill_null(False))
    print(f"{records.height:,} mentions, {todo.height:,} to label (the rest: an export's sentiment, or no text); "
          f"median of {args.runs} runs")
    print(f"{'classifier':<12} {'direct texts/s':>15} {'stage texts/s':>15} {'stage / direct':>15}")
    failed = False
    info = get_registry().get("classifier", "sentiment")
    classifiers = [info.cls(info.cls.Options(), entry_id="sentiment"), Vectorised(Vectorised.Options(), entry_id="v")]
    for classifier in classifiers:
        classifier.prepare(Path.cwd())
        entry = _Entry(classifier.name, classifier, type("Info", (), {"name": classifier.name})(),
                       ClassifierEntry(plugin=classifier.name, records=["mention"]))
        workflow = _Workflow([entry])
        fetched = Fetched({"mention": records}, [], [])
        direct = timed(lambda: classifier.classify(todo["text"], None), args.runs)[0]
        staged = timed(lambda: classify(workflow, fetched), args.runs)[0]
        labelled = classify(workflow, fetched).records["mention"]
        expected = classifier.classify(todo["text"], None)["sentiment"].to_list()
        got = labelled.filter(pl.col("mention_id").is_in(todo["mention_id"].implode()))["sentiment"].to_list()
        if got != expected:
            print(f"  ✗ {classifier.name}: the stage's labels differ from the classifier's", file=sys.stderr)
            failed = True
        print(f"{classifier.name:<12} {todo.height / direct:>15,.0f} {todo.height / staged:>15,.0f} "
              f"{staged / direct:>15.2f}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
