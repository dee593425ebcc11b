#!/usr/bin/env python3
"""Train the built-in sentiment model (``src/cmflow/builtin/sentiment/sentiment-model.json.gz``)
from public labelled data, and write the evaluation sets of ``benchmarks/sentiment_eval.py``.

Needs the ``train`` extra (scikit-learn): ``pip install -e '.[train]'``. cmflow itself applies
the model with its own code (``cmflow.builtin.sentiment.model``), without scikit-learn.

Data: git clones of the public repositories below, at the commits named, each in
``SOURCES_DIR/owner+name`` (a clone, or a folder holding a clone called ``repo``)::

    git clone https://github.com/cardiffnlp/xlm-t SOURCES_DIR/cardiffnlp+xlm-t
    git -C SOURCES_DIR/cardiffnlp+xlm-t checkout 874214d64d96599eb869a033c22ec2cc57d19256
    ... likewise for every repository of REPOSITORIES

Files are read with ``git show COMMIT:PATH``, so the checkout does not matter, the commit does.

What is trained on (``TRAINING``):

- English: SemEval 2013-2016 Task 4 subtask A tweets (the data TweetEval's sentiment train and
  validation splits were drawn from) and XLM-T's English train split.
- French: XLM-T's French train split (DEFT 2015 tweets); as extra examples with smaller
  weights, the Allociné television-series reviews (positive/negative) of Dong & de Melo, and the
  training tweets of DEFT 2017's task 1 (French tweets about politics, 2011-2012, labelled
  objective / positive / negative / mixed by IRIT and LIMSI; objective is read as neutral, a
  mixed tweet is left out, being neither of the three classes). DEFT 2017's files say they are
  "Copyright IRIT, LIMSI, CNRS (Farah Benamara, Jihen Karoui, Véronique Moriceau, Isabelle
  Robba), governed by the CeCILL licence" (CeCILL V1.1: use, modification and redistribution
  allowed); they are read from the copy of the shared task's train file in
  ``sam0enna/deft2017`` (``data_train/task1-train.csv``, licence header included). Its test
  file is not read.

What is never trained on: the evaluation sets (XLM-T's French and English *validation* splits,
written to ``benchmarks/data/sentiment/``), and any text of the *test* splits of TweetEval,
XLM-T and SemEval 2017 (``HELD_OUT``): every training text whose normalised form (the model's
normalisation, letters and digits only) equals one of theirs is dropped before training.

Model selection (the kind of linear model, ``METHOD``; C of the logistic regression; the weights
of the extra French data) is cross-validation inside the training data (``--grid``), scored by macro-F1 on the primary set's
held-out folds (tweets only); the values it chose are the defaults (``C_GRID``,
``EXTRA_WEIGHT``). The evaluation sets played no part in choosing them: the French extra weights
are the largest of the grid within ``EXTRA_TOLERANCE`` of the best cross-validated score, a rule
applied to the training tweets' folds only. Fixed seed: the same data give the same file.

Fixed priors, set in advance and not tuned on any evaluation text: emoji of a plain tone
(``POSITIVE_EMOJI``, ``NEGATIVE_EMOJI``), which the training tweets lack, and common negated
words (``NEGATED_NEGATIVE``, ``NEGATED_NEUTRAL``, ``NEGATED_POSITIVE``: "not bad", "pas mal",
"pas terrible", "not good", "pas top"), which the training data have too few of for the model
to learn that negation turns them around.

    python tools/train_sentiment.py SOURCES_DIR                 # train, write the model
    python tools/train_sentiment.py SOURCES_DIR --grid          # search the hyper-parameters first
    python tools/train_sentiment.py SOURCES_DIR --grid --language fr   # French's search only
    python tools/train_sentiment.py SOURCES_DIR --eval-sets     # (re)write the evaluation sets
    python tools/train_sentiment.py SOURCES_DIR --function-words   # the language detector's French words
    python tools/train_sentiment.py SOURCES_DIR --out FILE      # write the model elsewhere
    python tools/train_sentiment.py SOURCES_DIR --check         # rebuild, compare with the shipped file
    python tools/train_sentiment.py - --lexicon-prior-on MODEL --out FILE   # add the polar lexicon prior

The French recipe (DEFT 2017's tweets at weight 1, the polar lexicon and question priors of
``with_lexicon_prior``, words in ``tools/sentiment_lexicon.py``) is the candidate the protocol of
docs/sentiment-model.md ("How the French model is chosen") chose on development data only
(``tools/sentiment_french_selection.py``), never on the evaluation set.
"""

from __future__ import annotations

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    # One BLAS thread: these fits are small, and threads fighting over a busy machine's cores
    # made one fit 40 times slower.
    os.environ.setdefault(_variable, "1")

import argparse  # noqa: E402  (after the thread settings, which must precede numpy's import)
import itertools
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from cmflow.builtin.sentiment.model import CLASSES, SentimentModel
from cmflow.builtin.sentiment.text_features import PRAISE_BY_SUFFICIENCY, all_features, normalised_text, word_char_grams

REPO = Path(__file__).resolve().parent.parent
MODEL_FILE = REPO / "src" / "cmflow" / "builtin" / "sentiment" / "sentiment-model.json.gz"
EVAL_DIR = REPO / "benchmarks" / "data" / "sentiment"
SEED = 17
FOLDS = {"fr": 5, "en": 3}
"""Cross-validation folds: 5 of the 1,800 French tweets, 3 of the 50,000 English ones (enough
texts per fold, a third of the fitting time)."""
C_GRID = {"fr": (0.3,), "en": (0.3,)}
"""The inverse regularisation strength of each language's logistic regression(s). Chosen by the
cross-validation below over a wider grid (``--grid --language fr``), French, 5 folds, CV
macro-F1 of the naive-Bayes-scaled model (:data:`METHOD`), extra weight 0 / 0.1 / 0.25: C=0.1:
0.623 / 0.616 / 0.610; C=0.3: 0.626 / 0.616 / 0.603; C=1: 0.624 / 0.607 / 0.600 (the
multinomial regression before it, C=0.1: 0.610 / 0.602). English: C=0.3, not searched with
these features (a 2-fold CV gave 0.627 macro-F1 on the SemEval distribution, mostly neutral);
each English fit takes minutes on a small machine, so the default run fits these values only,
and ``--grid`` runs the search."""
WIDE_C_GRID = {"fr": (0.1, 0.3, 1.0), "en": (0.1, 0.3, 1.0)}
METHOD = {"fr": "nb-ovr", "en": "multinomial"}
"""The model fitted for each language (see :func:`fit`). French: naive-Bayes-scaled
one-vs-rest logistic regressions (:class:`NaiveBayesLogistic`), chosen by cross-validation on
the French training tweets alone (no extra data, balanced classes). One 5-fold split, C=0.1:
the multinomial regression 0.609 macro-F1, plain one-vs-rest 0.614, naive-Bayes-scaled
one-vs-rest 0.624; 5 folds repeated twice: multinomial (C=0.1) 0.613, naive-Bayes-scaled C=0.3
0.629, C=1 0.625. Scaling the multinomial regression's character n-grams, words or pairs of
words by 0.5 or 2 (a per-group regularisation), or dropping the pairs, moved it by less than
0.005. English: the multinomial regression, not searched again (each English fit takes
minutes)."""
NB_ALPHA = 1.0
"""The smoothing of the naive Bayes ratios (the weighted count added to every feature on each
side): 1, which the repeated cross-validation above preferred to 0.5 (0.629 against 0.622)."""
EXTRA_WEIGHT = {"allocine": 0.1, "deft2017": 1.0}
"""The weight of each extra French source against the primary tweets (``allocine``: the
reviews; ``deft2017``: DEFT 2017's political tweets, whose classes are balanced within the
source first): the largest of the grid whose CV score is within :data:`EXTRA_TOLERANCE` of the
best, DEFT 2017's weight first, then the reviews' (see the grid above, before DEFT 2017: 0.616
at 0.1 is within 0.01 of the best 0.626, 0.610 at 0.25 is not). DEFT 2017's weight was searched
alone (``--grid-source deft2017``: C=0.3, reviews at 0.1), 5 folds of the primary tweets, CV
macro-F1 at 0 / 0.25 / 0.5 / 1: 0.616 / 0.616 / 0.620 / 0.614, so 1 (within 0.01 of 0.620:
:data:`DEFT2017_WEIGHT`). Chosen on the training tweets' cross-validation folds alone: the
evaluation sets of ``benchmarks/`` played no part. Whether DEFT 2017 is in the shipped model
at all was then chosen by the protocol of docs/sentiment-model.md ("How the French model is
chosen": candidates B and D have it; D won), not by the evaluation set, on which an earlier
session had turned it down."""
DEFT2017_WEIGHT = 1.0
"""DEFT 2017's weight as the cross-validation chose it (above): the shipped one, and what
``--with-deft2017`` and ``sentiment_french_selection.py`` use."""
EXTRA_WEIGHT_GRID = {"allocine": (0.0, 0.1, 0.25), "deft2017": (0.0, 0.25, 0.5, 1.0)}
EXTRA_SOURCES = ("deft2017", "allocine")
"""The extra French sources, in the order the selection rule prefers a larger weight."""
EXTRA_TOLERANCE = 0.01
"""The extra data (French reviews) get the largest weight whose CV macro-F1 is within this of
the best: they widen the vocabulary beyond the climate tweets of the primary set (déçu, nul,
génial), a gain the cross-validation on those tweets alone cannot see."""
MIN_COUNT = {"fr": 1, "en": 2}
"""A feature must occur in at least this many training texts to get a weight: every feature of
the 1,800 French tweets counts; of the 50,000 English ones, those seen twice (the model file
stays a few MB)."""

REPOSITORIES = {
    "xlmt": ("cardiffnlp/xlm-t", "874214d64d96599eb869a033c22ec2cc57d19256"),
    "tweeteval": ("cardiffnlp/tweeteval", "4fbd22cd78421f05b1ecdb4fc5725bc7a7bd8f66"),
    "semeval": (
        "rsd16/SemEval2017-Task-4-Subtask-A-Classification-Sentiment-Analysis",
        "68bb1f6d869805bdc15fa5ee4dcc8fdbda3fb205",
    ),
    "allocine": ("Akram-ch/TP_NLP_2023", "92b67ece2b8cc39bf2eb1c17253b53138599199e"),
    "deft2017": ("sam0enna/deft2017", "18378cb5ac3309eb91377fe7692e69864039cffc"),
}
SEMEVAL_TRAINING = [
    f"Subtask_A/twitter-{name}-A.txt"
    for name in (
        "2013train", "2013dev", "2013test", "2014test", "2014sarcasm", "2015train", "2015test",
        "2016train", "2016dev", "2016devtest", "2016test",
    )
]
ALLOCINE = [f"2-python_data_analysis/fr/{split}.tsv" for split in ("train", "dev", "test")]
DEFT2017 = "data_train/task1-train.csv"
DEFT2017_LABELS = {"objective": "neutral", "negative": "negative", "positive": "positive"}
"""DEFT 2017 task 1's classes as ours: an objective tweet states no opinion (neutral); a mixed
one (both) is none of the three and is left out."""
XLMT_LABELS = dict(enumerate(CLASSES))  # XLM-T and TweetEval: 0 negative, 1 neutral, 2 positive


POSITIVE_EMOJI = "😀 😃 😄 😁 😆 😊 ☺ 🙂 😇 🥰 😍 🤩 😘 😗 😚 😙 😋 😎 🤗 👍 👏 🙌 💪 🎉 🥳 ✨ 🌟 ⭐ 💯 ❤ 🧡 💛 💚 💙 💜 🤍 💕 💖 💗 💓 💞 💘 😻 🙏 ✅ 👌 🤝 🏆 🥇"
NEGATIVE_EMOJI = "😠 😡 🤬 😤 😒 🙄 😞 😔 😟 😕 🙁 ☹ 😣 😖 😫 😩 😢 😭 😰 😨 😱 🤮 🤢 💩 👎 💔 😑"
"""Emoji whose tone is plain from their Unicode name and common use (laughter, fire and the
like, whose tone depends on the text, are left out). The training tweets have almost none
(the SemEval files lost them), so the model cannot learn them: each gets a fixed prior."""
EMOJI_PRIOR = 1.5
"""How much one emoji of the lists above adds to its class's logit against the two others
(about what a clear sentiment word weighs in the trained model, with its n-grams): set a
priori, not tuned on any evaluation text."""


NEGATED_NEGATIVE = {
    "en": "bad terrible awful horrible wrong worst sad disappointed disappointing disappoint disappoints annoying boring ugly",
    "fr": "mal nul nulle mauvais mauvaise horrible affreux triste decu decue decevant decevez decoit decevra ennuyeux moche",
}
"""Common negative words which, negated, read as neutral to positive ("not bad", "pas mal",
"pas nul", "never disappoint", "vous ne décevez jamais"): their negated feature (``not_bad``)
gets a fixed prior toward ``positive``. The verb forms (``disappoint``, ``decevez``) were added
with the DEFT 2017 retraining, before measuring it, after a review found "You guys never
disappoint" read negative: the praise of a brand that "never disappoints" is common in a
community manager's mentions."""
NEGATED_NEUTRAL = {"en": "", "fr": "terrible"}
"""Words which, negated, read as neither: French "terrible" is colloquially "great", so "pas
terrible" is "not great", a mild disappointment, not the "not awful" of a negated negative word:
its prior goes toward ``neutral``."""
NEGATED_POSITIVE = {
    "en": "good great happy nice fine love like perfect excellent amazing awesome satisfied recommend",
    "fr": "bien bon bonne top genial geniale content contente super parfait aime recommande",
}
"""Common positive words which, negated, read as negative ("not good", "pas bien", "pas top")."""
NEGATION_PRIOR = EMOJI_PRIOR
"""How far the phrase of a negated word of the lists above (``NEGATION_PHRASE``: "pas mal")
reads toward its class, in logits against the two others, everything else the phrase holds
cancelled (see :func:`with_negation_prior`): the emoji prior's strength, set a priori like it,
not tuned on any evaluation text."""
NEGATION_PHRASE = {"fr": "pas", "en": "not"}
"""Each language's plain negator, the phrase a negation prior is set on ("pas mal", "not bad").
The phrase's other features are cancelled, not only the word's character n-grams: the French
one-vs-rest model's intercepts lean to neutral and its negator "pas" leans negative, enough
to outweigh a prior that cancelled the n-grams alone ("pas mal" read neutral)."""


PRAISE_PHRASE = {"en": "can't do enough"}
"""The plainest English praise by a negated ability and "enough" ("I can't recommend them
enough": :data:`cmflow.builtin.sentiment.text_features.PRAISE_BY_SUFFICIENCY`; "do" the most
colourless verb to fill it): the phrase whose features the construction's prior cancels, as
:data:`NEGATION_PHRASE` for a negated word."""


SHIP_LEXICON_PRIOR = True
"""Whether the shipped model has the polar lexicon and question priors (:func:`with_lexicon_prior`):
as the protocol of docs/sentiment-model.md ("How the French model is chosen") chose,
``tools/sentiment_french_selection.py``."""
LEXICON_PRIOR = EMOJI_PRIOR
"""How far each word of the polar lexicon (``tools/sentiment_lexicon.py``) alone reads toward
its class, in logits against the two others: the emoji prior's strength, set a priori."""
QUESTION_PRIOR = 1.0
"""How far a question mark alone reads toward neutral (less than a polar word, so that a
question bearing one reads as that word's class: "Pourquoi c'est si nul ?")."""
QUESTION_PRIOR_LANGUAGES = ("fr",)
"""The languages whose ``?`` gets the question prior: French, whose training tweets made it a
negative mark; English's was learnt from 50,000 tweets of every topic."""


@dataclass
class Texts:
    """Labelled texts, whether each is of the primary set, and its source (``primary``, or a
    key of :data:`EXTRA_WEIGHT`)."""

    text: list[str]
    label: list[str]
    primary: list[bool]
    source: list[str]


def git_show(sources: Path, key: str, path: str) -> str:
    """The text of ``path`` at the pinned commit of repository ``key``."""
    name, commit = REPOSITORIES[key]
    folder = sources / name.replace("/", "+")
    if (folder / "repo").exists():
        folder = folder / "repo"
    try:
        result = subprocess.run(
            ["git", "-C", str(folder), "show", f"{commit}:{path}"],
            capture_output=True, check=True,
        )
    except (subprocess.CalledProcessError, FileNotFoundError) as error:
        detail = getattr(error, "stderr", b"") or b""
        sys.exit(
            f"cannot read {name}@{commit[:12]}:{path} from {folder}: {detail.decode().strip() or error}\n"
            f"clone https://github.com/{name} into {folder} (with that commit)"
        )
    return result.stdout.decode("utf-8")


def xlmt_split(sources: Path, language: str, split: str) -> tuple[list[str], list[str]]:
    """XLM-T's sentiment ``split`` of ``language`` ("french", "english"): texts and labels."""
    texts = git_show(sources, "xlmt", f"data/sentiment/{language}/{split}_text.txt").splitlines()
    labels = git_show(sources, "xlmt", f"data/sentiment/{language}/{split}_labels.txt").splitlines()
    assert len(texts) == len(labels), (language, split)
    return [t.strip() for t in texts], [XLMT_LABELS[int(label)] for label in labels]


_UNICODE_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")


def semeval_file(text: str) -> tuple[list[str], list[str]]:
    """A SemEval subtask A file (``id<TAB>label<TAB>text``): texts and labels."""
    texts, labels = [], []
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) < 3 or parts[1] not in CLASSES:
            continue
        body = _UNICODE_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), "\t".join(parts[2:]))
        texts.append(body.strip().strip('"'))
        labels.append(parts[1])
    return texts, labels


def allocine_file(text: str) -> tuple[list[str], list[str]]:
    """An Allociné file (``label<TAB>review``, 1 positive, 0 negative): texts and labels."""
    texts, labels = [], []
    for line in text.splitlines():
        label, _, review = line.partition("\t")
        if label in ("0", "1") and review.strip():
            texts.append(review.strip())
            labels.append("positive" if label == "1" else "negative")
    return texts, labels


def deft2017_file(text: str) -> tuple[list[str], list[str]]:
    """DEFT 2017's task 1 train file (a licence header of ``//`` lines, then
    ``id<TAB>tweet<TAB>class``): texts and labels, mixed tweets left out."""
    texts, labels = [], []
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) < 3 or not parts[0].strip().isdigit() or parts[-1].strip() not in DEFT2017_LABELS:
            continue
        texts.append("\t".join(parts[1:-1]).strip())
        labels.append(DEFT2017_LABELS[parts[-1].strip()])
    return texts, labels


def dedup_keys(texts: list[str]) -> list[str]:
    """Each text normalised as the model sees it, letters and digits only: equal keys are the
    same tweet (XLM-T's copies have "@user" and "http" where the originals had names and URLs)."""
    frame = pl.DataFrame({"text": pl.Series(texts, dtype=pl.Utf8)})
    return (
        frame.select(normalised_text(pl.col("text")).str.replace_all(r"[^\p{L}\p{N}]", ""))
        .to_series()
        .to_list()
    )


def held_out_keys(sources: Path) -> set[str]:
    """The keys of every text never to train on: the evaluation sets and the test splits."""
    texts: list[str] = []
    for language in ("french", "english"):
        for split in ("val", "test"):
            texts += xlmt_split(sources, language, split)[0]
    texts += git_show(sources, "tweeteval", "datasets/sentiment/test_text.txt").splitlines()
    return {key for key in dedup_keys(texts) if key}


def training_sets(sources: Path) -> dict[str, Texts]:
    """Per language, the training texts: deduplicated, and without any held-out text."""
    held_out = held_out_keys(sources)
    english_texts, english_labels = xlmt_split(sources, "english", "train")
    for path in SEMEVAL_TRAINING:
        texts, labels = semeval_file(git_show(sources, "semeval", path))
        english_texts += texts
        english_labels += labels
    french_texts, french_labels = xlmt_split(sources, "french", "train")
    french_sources = ["primary"] * len(french_texts)
    extra_files = [("allocine", path, allocine_file) for path in ALLOCINE] + [("deft2017", DEFT2017, deft2017_file)]
    for key, path, reader in extra_files:
        texts, labels = reader(git_show(sources, key, path))
        french_texts += texts
        french_labels += labels
        french_sources += [key] * len(texts)
    sets = {}
    for language, texts, labels, origins in (
        ("en", english_texts, english_labels, ["primary"] * len(english_texts)),
        ("fr", french_texts, french_labels, french_sources),
    ):
        kept, seen, dropped = Texts([], [], [], []), set(), 0
        for text, label, origin, key in zip(texts, labels, origins, dedup_keys(texts), strict=True):
            if not key or key in seen:
                continue
            seen.add(key)
            if key in held_out:
                dropped += 1
                continue
            kept.text.append(text)
            kept.label.append(label)
            kept.primary.append(origin == "primary")
            kept.source.append(origin)
        extra = {name: kept.source.count(name) for name in EXTRA_WEIGHT if name in kept.source}
        print(f"{language}: {len(kept.text)} training texts ({sum(kept.primary)} primary, extra {extra}), "
              f"{dropped} dropped as held out", flush=True)
        sets[language] = kept
    return sets


def feature_lists(texts: list[str]) -> list[list[str]]:
    """Each text's features (cmflow's own featuriser, so training and use agree)."""
    grouped = all_features(texts).group_by("row").agg("feature")
    found = dict(grouped.iter_rows())
    return [found.get(row, []) for row in range(len(texts))]


def fit(features: list[list[str]], labels: list[str], weights: list[float], c: float, min_count: int, method: str = "multinomial"):
    """A vectoriser and a linear model fitted on ``features``: the multinomial logistic
    regression, or :class:`NaiveBayesLogistic` (``method`` "nb-ovr")."""
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression

    vectoriser = CountVectorizer(analyzer=lambda features: features, min_df=min_count, lowercase=False)
    matrix = vectoriser.fit_transform(features)
    if method == "nb-ovr":
        model = NaiveBayesLogistic(c).fit(matrix, labels, weights)
    else:
        model = LogisticRegression(C=c, max_iter=3000, random_state=SEED)
        model.fit(matrix, labels, sample_weight=weights)
    return vectoriser, model


class NaiveBayesLogistic:
    """One-vs-rest logistic regressions over naive-Bayes-scaled features (the NBSVM of Wang &
    Manning, "Baselines and Bigrams", ACL 2012, with a logistic loss): for each class, every
    feature count is multiplied by the log-ratio of how often (in how many texts, weighted) the
    feature occurs in that class against the others, smoothed by :data:`NB_ALPHA`; a binary
    logistic regression (classes balanced) is fitted on those. Each class's weight for a
    feature is then its ratio times its coefficient, so the result is a linear model of the raw
    counts, the shape cmflow applies (``coef_``, ``intercept_``, ``classes_`` as scikit-learn's):
    the class with the highest logit wins."""

    def __init__(self, c: float):
        self.c = c
        self.classes_ = list(CLASSES)

    def fit(self, matrix, labels: list[str], weights: list[float]) -> NaiveBayesLogistic:
        import numpy as np
        import scipy.sparse as sparse
        from sklearn.linear_model import LogisticRegression

        labels_array, weights_array = np.asarray(labels), np.asarray(weights, dtype=float)
        present = (matrix > 0).astype(float)
        coefficients, intercepts = [], []
        for name in self.classes_:
            inside = labels_array == name
            p = NB_ALPHA + np.asarray(present[inside].T @ weights_array[inside]).ravel()
            q = NB_ALPHA + np.asarray(present[~inside].T @ weights_array[~inside]).ravel()
            ratio = np.log((p / p.sum()) / (q / q.sum()))
            total, in_weight = weights_array.sum(), weights_array[inside].sum()
            balanced = weights_array * np.where(inside, total / (2 * in_weight), total / (2 * (total - in_weight)))
            binary = LogisticRegression(C=self.c, max_iter=3000, random_state=SEED)
            binary.fit(matrix @ sparse.diags(ratio), inside, sample_weight=balanced)
            coefficients.append(binary.coef_[0] * ratio)
            intercepts.append(binary.intercept_[0])
        self.coef_, self.intercept_ = np.vstack(coefficients), np.asarray(intercepts)
        return self

    def predict(self, matrix) -> list[str]:
        import numpy as np

        logits = matrix @ self.coef_.T + self.intercept_
        return [self.classes_[i] for i in np.argmax(logits, axis=1)]


def sample_weights(data: Texts, extra_weights: dict[str, float], rows: list[int]) -> list[float]:
    """Balanced class weights (so each class counts as much in the primary set), times the
    source's weight of ``extra_weights`` for the extra data. The reviews take the primary set's
    class weights (they have two classes); DEFT 2017's tweets are balanced within their source
    (they have the three, in other proportions)."""
    def balanced(labels: list[str]) -> dict[str, float]:
        return {c: len(labels) / (len(CLASSES) * max(1, labels.count(c))) for c in CLASSES}

    per_class = balanced([data.label[r] for r in rows if data.primary[r]])
    deft = balanced([data.label[r] for r in rows if data.source[r] == "deft2017"])
    weights = []
    for r in rows:
        source = data.source[r]
        if source == "primary":
            weights.append(per_class[data.label[r]])
        elif source == "deft2017":
            weights.append(deft[data.label[r]] * extra_weights.get(source, 0.0))
        else:
            weights.append(per_class[data.label[r]] * extra_weights.get(source, 0.0))
    return weights


def cross_validated(
    data: Texts, features: list[list[str]], language: str, wide: bool, only: str | None = None
) -> tuple[float, dict[str, float], dict]:
    """The (C, extra weights) chosen by mean macro-F1 over the primary set's folds: the largest
    extra weights within :data:`EXTRA_TOLERANCE` of the best score (DEFT 2017's first, then the
    reviews', :data:`EXTRA_SOURCES`), with the best C for them. ``only``: search that extra
    source's weight alone, C and the other weights at their defaults (a search of one
    coordinate: each French fit of the whole grid takes a minute on a small machine)."""
    from sklearn.metrics import f1_score
    from sklearn.model_selection import StratifiedKFold

    primary = [r for r, p in enumerate(data.primary) if p]
    present = [name for name in EXTRA_SOURCES if name in data.source]
    if only:
        grid = [(c, {**{name: EXTRA_WEIGHT[name] for name in present}, only: w}) for c in C_GRID[language] for w in EXTRA_WEIGHT_GRID[only]]
    elif wide:
        choices = [EXTRA_WEIGHT_GRID[name] for name in present]
        grid = [(c, dict(zip(present, weights, strict=True))) for c in WIDE_C_GRID[language] for weights in itertools.product(*choices)]
    else:
        grid = [(c, {name: EXTRA_WEIGHT[name] for name in present}) for c in C_GRID[language]]
    if len(grid) == 1:
        return grid[0][0], grid[0][1], {"cv_macro_f1": None, "grid": {}}
    folds = list(StratifiedKFold(FOLDS[language], shuffle=True, random_state=SEED).split(primary, [data.label[r] for r in primary]))
    scores = []
    for c, extra_weights in grid:
        fold_scores = []
        extra = [r for r, source in enumerate(data.source) if extra_weights.get(source, 0.0) > 0]
        for train_index, test_index in folds:
            train = [primary[i] for i in train_index] + extra
            test = [primary[i] for i in test_index]
            vectoriser, model = fit(
                [features[r] for r in train], [data.label[r] for r in train],
                sample_weights(data, extra_weights, train), c, MIN_COUNT[language], METHOD[language],
            )
            predicted = model.predict(vectoriser.transform([features[r] for r in test]))
            fold_scores.append(f1_score([data.label[r] for r in test], predicted, average="macro"))
        score = sum(fold_scores) / len(fold_scores)
        scores.append((c, extra_weights, score))
        print(f"  {language} C={c} extra weights {extra_weights}: CV macro-F1 {score:.3f}", flush=True)
    best = max(score for _, _, score in scores)
    c, extra_weights, chosen = max(
        (item for item in scores if item[2] >= best - EXTRA_TOLERANCE),
        key=lambda item: (*(item[1][name] for name in present), item[2]),
    )
    # the largest extra weights within the tolerance, then the best C for them
    return c, extra_weights, {
        "cv_macro_f1": round(chosen, 4),
        "grid": {f"C={c_},{','.join(f'{k}={v}' for k, v in w.items())}": round(v_, 4) for c_, w, v_ in scores},
    }


def train(sources: Path, wide: bool = False, languages: tuple[str, ...] = ("fr", "en"), only: str | None = None) -> SentimentModel:
    """Select hyper-parameters by cross-validation, then fit each language on all its data."""
    sets = training_sets(sources)
    rows, intercepts, training = [], {}, {"seed": SEED, "folds": FOLDS, "min_count": MIN_COUNT,
                                          "repositories": {k: {"repo": r, "commit": c} for k, (r, c) in REPOSITORIES.items()}}
    for language in languages:
        data = sets[language]
        features = feature_lists(data.text)
        started = time.perf_counter()
        c, extra_weights, report = cross_validated(data, features, language, wide, only if language == "fr" else None)
        everything = [r for r, source in enumerate(data.source) if source == "primary" or extra_weights.get(source, 0.0) > 0]
        vectoriser, model = fit(
            [features[r] for r in everything], [data.label[r] for r in everything],
            sample_weights(data, extra_weights, everything), c, MIN_COUNT[language], METHOD[language],
        )
        order = [list(model.classes_).index(name) for name in CLASSES]
        coefficients = model.coef_[order]
        centred = coefficients - coefficients.mean(axis=0)  # softmax is unchanged; smaller numbers
        for feature, column in vectoriser.vocabulary_.items():
            weights = [round(float(w), 4) for w in centred[:, column]]
            if any(weights):
                rows.append((language, feature, *weights))
        bias = model.intercept_[order]
        intercepts[language] = tuple(round(float(b - bias.mean()), 4) for b in bias)
        training[language] = {
            "texts": len(everything), "primary_texts": sum(data.primary), "method": METHOD[language],
            **({"nb_alpha": NB_ALPHA} if METHOD[language] == "nb-ovr" else {}), "C": c,
            "extra_weights": extra_weights, "features": len(vectoriser.vocabulary_), **report,
        }  # no timing in the file: the same data give the same bytes
        print(f"{language}: C={c}, extra weights {extra_weights}, {len(vectoriser.vocabulary_)} features, "
              f"CV macro-F1 {report['cv_macro_f1']}, {time.perf_counter() - started:.0f} s", flush=True)
    weights = pl.DataFrame(
        sorted(rows), schema=["language", "feature", "w_negative", "w_neutral", "w_positive"], orient="row"
    )
    return SentimentModel(weights=weights, intercepts=intercepts, training=training)


def with_emoji_prior(model: SentimentModel) -> SentimentModel:
    """``model`` with :data:`EMOJI_PRIOR` added to the weights of each emoji of the lists, in
    both languages (centred: +2/3 of it to the emoji's class, -1/3 to each other class)."""
    high, low = round(2 * EMOJI_PRIOR / 3, 4), round(-EMOJI_PRIOR / 3, 4)
    prior = [
        (language, emoji, *(high if name == tone else low for name in CLASSES))
        for language in model.intercepts
        for tone, emoji_list in (("positive", POSITIVE_EMOJI), ("negative", NEGATIVE_EMOJI))
        for emoji in emoji_list.split()
    ]
    columns = ["language", "feature", "w_negative", "w_neutral", "w_positive"]
    weights = (
        pl.concat([model.weights, pl.DataFrame(prior, schema=model.weights.schema, orient="row")])
        .group_by("language", "feature")
        .agg(pl.col(columns[2:]).sum().round(4))
        .sort("language", "feature")
    )
    training = {**model.training, "emoji_prior": EMOJI_PRIOR}
    return SentimentModel(weights=weights, intercepts=model.intercepts, training=training)


def negated_word_tones() -> list[tuple[str, str, str]]:
    """(language, word, the class its negation reads as) for every word of the negation lists."""
    return [
        (language, word, tone)
        for tone, lists in (("positive", NEGATED_NEGATIVE), ("neutral", NEGATED_NEUTRAL), ("negative", NEGATED_POSITIVE))
        for language, words in lists.items()
        for word in words.split()
    ]


def phrase_prior(model: SentimentModel, language: str, phrase: str, feature: str, tone: str, strength: float) -> tuple:
    """The weights row of ``feature`` that makes ``phrase`` alone read ``strength`` logits toward
    ``tone`` against the two other classes, and nothing else: what the phrase's other features
    (character n-grams, neighbouring pairs, the feature's own trained weights) and the
    intercepts add is cancelled (centred, as :func:`with_emoji_prior`). Added to the trained
    weights, it replaces them."""
    return phrase_priors(model, [(language, phrase, feature, tone)], strength)[0]


def phrase_priors(model: SentimentModel, phrases: list[tuple[str, str, str, str]], strength: float) -> list[tuple]:
    """:func:`phrase_prior` of each (language, phrase, feature, tone), in order: the phrases'
    features found in one pass (one at a time took some 40 Polars queries per phrase, 3 s for
    the lexicon's 158 words)."""
    columns = ["w_negative", "w_neutral", "w_positive"]
    found = all_features([phrase for _, phrase, _, _ in phrases]).join(
        pl.DataFrame({"row": pl.Series(range(len(phrases)), dtype=pl.UInt32),
                      "language": [language for language, _, _, _ in phrases]}), on="row")
    sums = {
        row: values
        for row, *values in found.join(model.weights, on=["language", "feature"], how="inner")
        .group_by("row").agg(pl.col(columns).sum()).iter_rows()
    }
    high, low = 2 * strength / 3, -strength / 3
    rows = []
    for row, (language, _, feature, tone) in enumerate(phrases):
        logits = [value + bias for value, bias in zip(sums.get(row, [0.0] * len(columns)),
                                                      model.intercepts[language], strict=True)]
        centre = sum(logits) / len(logits)
        prior = [high if name == tone else low for name in CLASSES]
        rows.append((language, feature, *(round(p - (o - centre), 4) for p, o in zip(prior, logits, strict=True))))
    return rows


def with_rows_added(model: SentimentModel, rows: list[tuple], recorded: dict) -> SentimentModel:
    """``model`` with ``rows`` (language, feature, three weights) added to its weights."""
    columns = ["w_negative", "w_neutral", "w_positive"]
    weights = (
        pl.concat([model.weights, pl.DataFrame(rows, schema=model.weights.schema, orient="row")])
        .group_by("language", "feature")
        .agg(pl.col(columns).sum().round(4))
        .sort("language", "feature")
    )
    return SentimentModel(weights=weights, intercepts=model.intercepts, training={**model.training, **recorded})


def with_lexicon_prior(model: SentimentModel) -> SentimentModel:
    """``model`` with fixed weights for the plainly polar everyday words of
    :mod:`sentiment_lexicon` (``POLAR_WORDS``): each word alone reads :data:`LEXICON_PRIOR`
    toward its class (:func:`phrase_prior`), whatever the training tweets about climate and
    energy made of it (``beau``, ``jolie`` and ``trop`` leaned negative there); and a question
    mark alone reads :data:`QUESTION_PRIOR` toward neutral (in the climate tweets a question
    was mostly a reproach, in a CM's comments it is mostly a question). Set from the lists and
    the trained weights alone, before any evaluation."""
    from sentiment_lexicon import POLAR_WORDS

    rows = phrase_priors(model, [
        (language, word, word, tone)
        for language, tones in POLAR_WORDS.items()
        if language in model.intercepts
        for tone, words in tones.items()
        for word in words.split()
    ], LEXICON_PRIOR)
    rows += phrase_priors(model, [(language, "?", "?", "neutral")
                                  for language in QUESTION_PRIOR_LANGUAGES if language in model.intercepts],
                          QUESTION_PRIOR)
    return with_rows_added(model, rows, {"lexicon_prior": LEXICON_PRIOR, "question_prior": QUESTION_PRIOR})


def with_negation_prior(model: SentimentModel) -> SentimentModel:
    """``model`` with fixed weights for the negated words of the lists (``not_bad``,
    ``not_mal``, ``not_bien``): each negated feature gets the weights that make the phrase of
    the language's plain negator and the word (:data:`NEGATION_PHRASE`: "pas mal", "not bad")
    read :data:`NEGATION_PRIOR` toward the class the negation reads as, and nothing else
    (centred, as :func:`with_emoji_prior`): what the phrase's other features (the word's
    character n-grams, which are not negation-aware and carry the word's own tone, the
    negator's, the pair of words) and the intercepts add is cancelled. Computed from the trained
    weights and the lists alone, set before any evaluation."""
    columns = ["w_negative", "w_neutral", "w_positive"]
    high, low = 2 * NEGATION_PRIOR / 3, -NEGATION_PRIOR / 3
    rows = []
    for language, word, tone in negated_word_tones():
        if language not in model.intercepts:  # a run fitting one language (``--language fr``)
            continue
        table = model.weights.filter(pl.col("language") == language)
        phrase = all_features([f"{NEGATION_PHRASE[language]} {word}"]).join(table, on="feature", how="inner")
        logits = [float(phrase[name].sum()) + bias for name, bias in zip(columns, model.intercepts[language], strict=True)]
        centre = sum(logits) / len(logits)
        prior = [high if name == tone else low for name in CLASSES]
        rows.append((language, f"not_{word}", *(round(p - (o - centre), 4) for p, o in zip(prior, logits, strict=True))))
    weights = (
        pl.concat([model.weights, pl.DataFrame(rows, schema=model.weights.schema, orient="row")])
        .group_by("language", "feature")
        .agg(pl.col(columns).sum().round(4))
        .sort("language", "feature")
    )
    training = {**model.training, "negation_prior": NEGATION_PRIOR}
    return SentimentModel(weights=weights, intercepts=model.intercepts, training=training)


def with_praise_prior(model: SentimentModel) -> SentimentModel:
    """``model`` with a fixed weight for the feature of praise by a negated ability and
    "enough" (``_cant_enough_``): set so that the construction's fixed words
    (:data:`PRAISE_PHRASE`, "can't do enough", which has it) read :data:`NEGATION_PRIOR` toward
    positive, what its words, their pairs and n-grams, the feature's trained weight and the
    intercepts add cancelled (:func:`phrase_prior`); the words between ("recommend them") add their own tone, no longer
    negated. Set from the trained weights alone, before any evaluation."""
    rows = [
        phrase_prior(model, language, phrase, PRAISE_BY_SUFFICIENCY, "positive", NEGATION_PRIOR)
        for language, phrase in PRAISE_PHRASE.items()
        if language in model.intercepts
    ]
    return with_rows_added(model, rows, {"praise_prior": NEGATION_PRIOR})


def write_eval_sets(sources: Path) -> None:
    """Write XLM-T's French and English validation splits as ``label<TAB>text`` files."""
    EVAL_DIR.mkdir(parents=True, exist_ok=True)
    for language, code in (("french", "fr"), ("english", "en")):
        texts, labels = xlmt_split(sources, language, "val")
        lines = [f"{label}\t{' '.join(text.split())}" for text, label in zip(texts, labels, strict=True)]
        (EVAL_DIR / f"{code}.tsv").write_text("label\ttext\n" + "\n".join(lines) + "\n", encoding="utf-8")
        print(f"wrote {EVAL_DIR / f'{code}.tsv'}: {len(lines)} texts")


def rebuild_check(model: SentimentModel, shipped: Path) -> bool:
    """Whether ``model`` is the ``shipped`` file: the same bytes once saved, else the same JSON
    document (every weight to the bit); prints what differs."""
    import gzip
    import json
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        rebuilt = Path(folder) / "rebuilt.json.gz"
        model.save(rebuilt)
        if rebuilt.read_bytes() == shipped.read_bytes():
            print(f"rebuild check: the same bytes as {shipped} ({shipped.stat().st_size:,} bytes)")
            return True
        new, old = (json.loads(gzip.decompress(path.read_bytes())) for path in (rebuilt, shipped))
    if new == old:
        print(f"rebuild check: the same model as {shipped} (every weight to the bit), other bytes")
        return True
    for language in sorted(set(new["languages"]) | set(old["languages"])):
        a, b = new["languages"].get(language, {}), old["languages"].get(language, {})
        rows = [dict(zip(part.get("features", []), zip(*part.get("weights", [[]] * 3), strict=True), strict=True))
                for part in (a, b)]
        differing = sum(rows[0].get(f) != rows[1].get(f) for f in set(rows[0]) | set(rows[1]))
        print(f"rebuild check: {language}: {differing} of {len(rows[1])} features differ; intercepts "
              f"{a.get('intercept')} (rebuilt) / {b.get('intercept')} (shipped)")
    if new["training"] != old["training"]:
        print(f"rebuild check: training records differ: {new['training']} (rebuilt) / {old['training']} (shipped)")
    return False


FUNCTION_WORD_RANKS = 100
"""How many words of highest document frequency each French training source contributes to
:func:`french_function_words`."""


def french_function_words(sources: Path) -> list[str]:
    """The words among the :data:`FUNCTION_WORD_RANKS` of highest document frequency (lower
    case, accents stripped, letters only) in both French training sources, XLM-T's French train
    split and the Allociné reviews, in the tweets' order: words frequent in both are function
    words, not either source's topic (ecologie, serie). What
    ``cmflow.builtin.sentiment.language.FUNCTION_WORDS["fr"]`` holds (``--function-words``)."""
    from cmflow.builtin.sentiment.text_features import text_tokens

    reviews = [text for path in ALLOCINE for text in allocine_file(git_show(sources, "allocine", path))[0]]

    def most_frequent(texts: list[str]) -> list[str]:
        words = text_tokens(texts).filter(pl.col("token").str.contains(r"^[a-z]+$")).unique(["row", "token"])
        ranked = words.group_by("token").len().sort(["len", "token"], descending=[True, False])
        return ranked.head(FUNCTION_WORD_RANKS)["token"].to_list()

    in_reviews = set(most_frequent(reviews))
    return [word for word in most_frequent(xlmt_split(sources, "french", "train")[0]) if word in in_reviews]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sources", type=Path, help="folder holding the clones (owner+name)")
    parser.add_argument("--out", type=Path, default=MODEL_FILE, help="where to write the model")
    parser.add_argument("--eval-sets", action="store_true", help="write the evaluation sets instead")
    parser.add_argument("--check", action="store_true",
                        help="rebuild the shipped model and compare it with the file (--out, default the shipped one); exit 1 if it differs")
    parser.add_argument("--function-words", action="store_true",
                        help="print the French function words of the language detector (from the training texts) instead")
    parser.add_argument("--grid", action="store_true", help="search C and the extra weights by cross-validation")
    parser.add_argument(
        "--with-deft2017", action="store_true",
        help="fit French with DEFT 2017's tweets at the weight the cross-validation chose (the shipped default since the protocol chose it)",
    )
    parser.add_argument(
        "--grid-source", choices=EXTRA_SOURCES, metavar="SOURCE",
        help="search only this extra French source's weight (deft2017, allocine), the rest at their defaults",
    )
    parser.add_argument(
        "--language", choices=("fr", "en"), action="append",
        help="fit only this language (repeatable; default both): a --grid search of one language, with --out elsewhere",
    )
    parser.add_argument(
        "--lexicon-prior-on", type=Path, metavar="MODEL",
        help="add only the lexicon prior to MODEL, a file trained before it existed (SOURCES unused)",
    )
    args = parser.parse_args()
    if args.eval_sets:
        write_eval_sets(args.sources)
        return
    if args.function_words:
        from cmflow.builtin.sentiment.language import FUNCTION_WORDS

        words = french_function_words(args.sources)
        listed = set(FUNCTION_WORDS["fr"].split())
        print(" ".join(words))
        print(f"{len(words)} words; not in the detector's French list: {' '.join(w for w in words if w not in listed) or 'none'}")
        return
    languages = tuple(args.language or ("fr", "en"))
    if args.with_deft2017:
        EXTRA_WEIGHT["deft2017"] = DEFT2017_WEIGHT
    if args.lexicon_prior_on:
        model = with_lexicon_prior(SentimentModel.from_path(args.lexicon_prior_on))
        model.save(args.out)
        print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB)")
        return
    model = with_praise_prior(with_negation_prior(with_emoji_prior(train(args.sources, wide=args.grid, languages=languages, only=args.grid_source))))
    if SHIP_LEXICON_PRIOR:
        model = with_lexicon_prior(model)
    if set(languages) != {"fr", "en"}:
        print("one language fitted: no model written (the model file holds both)")
        return
    if args.check:
        sys.exit(0 if rebuild_check(model, args.out) else 1)
    model.save(args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
