#!/usr/bin/env python3
"""How does the built-in sentiment model read a community manager's everyday texts?

Why: the public evaluation sets (``sentiment_eval.py``) are tweets about politics, climate and
television; a CM reads customer comments and mentions (orders, delivery, customer service,
product praise, questions, events). This development set, written for cmflow
(``benchmarks/data/sentiment/cm/``, see that folder's README), is what changes to the model's
fixed priors are checked on; it is never trained on.

Run: ``python benchmarks/sentiment_cm_dev.py [--model FILE] [--misses]``: accuracy and
macro-F1 per language, with ``--misses`` every text read wrong.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import polars as pl

from cmflow.builtin.sentiment.model import SentimentModel
from sentiment_eval import scores

DATA = Path(__file__).resolve().parent / "data" / "sentiment" / "cm"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, help="a model file (default: the built-in model)")
    parser.add_argument("--misses", action="store_true", help="list the texts read wrong")
    args = parser.parse_args()
    model = SentimentModel.from_path(args.model) if args.model else SentimentModel.builtin()
    for language in ("fr", "en"):
        frame = pl.read_csv(DATA / f"{language}.tsv", separator="\t", quote_char=None)
        labels = model.classify(frame["text"].to_list(), [language] * len(frame))
        result = scores(frame["label"].to_list(), labels["sentiment"].to_list())
        print(f"{language}: {len(frame)} texts, accuracy {result['accuracy']:.3f}, macro-F1 {result['macro_f1']:.3f}")
        if args.misses:
            for text, truth, got, score in zip(frame["text"], frame["label"], labels["sentiment"], labels["score"], strict=True):
                if truth != got:
                    print(f"   {truth:>8} -> {got:<8} {score:+.2f}  {text}")


if __name__ == "__main__":
    main()
