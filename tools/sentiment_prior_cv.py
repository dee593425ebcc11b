#!/usr/bin/env python3
"""Cross-validate the fixed priors of ``train_sentiment.py`` on the French training tweets.

Why: a prior is set in advance, but whether it costs the model on its own domain is measured
inside the training data, never on the evaluation sets: each of 5 folds (repeated with two seeds)
is fitted as ``train_sentiment.py`` fits French, the shipped priors (emoji, negation) added,
then each variant of the lexicon and question priors (``with_lexicon_prior``), and scored by
macro-F1 on the fold's held-out tweets. Prints the running means after each fold.

Run (from ``tools/``, the ``train`` extra installed): ``python sentiment_prior_cv.py SOURCES_DIR``.
Variant names: "lex" the lexicon at 1.5 with ``?``'s trained weights cancelled (question prior
0), "lex+q1" lexicon 1.5 and ``?`` 1.0 toward neutral, "q1" the question prior alone,
"lex1+q0" the lexicon at 1.0 alone.
"""
import sys; sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent))
from pathlib import Path
import polars as pl
import train_sentiment as T
from cmflow.builtin.sentiment.model import SentimentModel, CLASSES
from sklearn.model_selection import StratifiedKFold
from sklearn.metrics import f1_score

sources = Path(sys.argv[1])
data = T.training_sets(sources)["fr"]
features = T.feature_lists(data.text)
builtin = SentimentModel.builtin()
en_w = builtin.weights.filter(pl.col("language") == "en")
primary = [r for r, p in enumerate(data.primary) if p]
extra = [r for r, source in enumerate(data.source) if T.EXTRA_WEIGHT.get(source, 0.0) > 0]  # the shipped extra sources
variants = {}
def model_of(vec, m):
    order = [list(m.classes_).index(n) for n in CLASSES]
    co = m.coef_[order]; co = co - co.mean(axis=0)
    rows = [("fr", f, *[round(float(w), 4) for w in co[:, c]]) for f, c in vec.vocabulary_.items()]
    w = pl.concat([pl.DataFrame(rows, schema=builtin.weights.schema, orient="row"), en_w])
    b = m.intercept_[order]
    return SentimentModel(weights=w, intercepts={"fr": tuple(float(x - b.mean()) for x in b), "en": builtin.intercepts["en"]})
import itertools
results = {}
for repeat in (T.SEED, T.SEED + 1):
    folds = StratifiedKFold(5, shuffle=True, random_state=repeat).split(primary, [data.label[r] for r in primary])
    for tr, te in folds:
        train = [primary[i] for i in tr] + extra
        test = [primary[i] for i in te]
        vec, m = T.fit([features[r] for r in train], [data.label[r] for r in train], T.sample_weights(data, T.EXTRA_WEIGHT, train), T.C_GRID["fr"][0], 1, "nb-ovr")
        base = T.with_negation_prior(T.with_emoji_prior(model_of(vec, m)))
        texts = [data.text[r] for r in test]; truth = [data.label[r] for r in test]
        for name, qp, lp in [("base", None, None), ("lex", 0.0, 1.5), ("lex+q1", 1.0, 1.5), ("q1", 1.0, 0.0), ("lex1+q0", 0, 1.0)]:
            if qp is None:
                mod = base
            else:
                T.QUESTION_PRIOR = qp; T.LEXICON_PRIOR = lp
                mod = base
                import sentiment_lexicon as L
                saved = L.POLAR_WORDS
                if lp == 0.0: L.POLAR_WORDS = {}
                if qp == 0: 
                    langs = T.QUESTION_PRIOR_LANGUAGES; T.QUESTION_PRIOR_LANGUAGES = ()
                mod = T.with_lexicon_prior(base)
                L.POLAR_WORDS = saved
                if qp == 0: T.QUESTION_PRIOR_LANGUAGES = langs
            pred = mod.classify(texts, ["fr"] * len(texts))["sentiment"].to_list()
            results.setdefault(name, []).append(f1_score(truth, pred, average="macro"))
        print({k: round(sum(v) / len(v), 4) for k, v in results.items()}, flush=True)
