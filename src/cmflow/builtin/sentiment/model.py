"""The built-in sentiment model: a linear model per language over the features of
:mod:`cmflow.builtin.sentiment.text_features` (three weights per feature, one per class, however
``tools/train_sentiment.py`` fitted them), applied with a Polars join.

A model file is gzip-compressed JSON written by ``tools/train_sentiment.py``::

    {"format": "cmflow-sentiment/1",
     "classes": ["negative", "neutral", "positive"],
     "languages": {"fr": {"intercept": [b_neg, b_neu, b_pos],
                          "features": ["tres bien", ...],
                          "weights": [[w_neg, ...], [w_neu, ...], [w_pos, ...]]},
                   "en": {...}},
     "training": {...}}            # provenance: data sources, sizes, hyper-parameters, CV scores

A text's class scores are the intercept plus the sum of its features' weights (a feature met
twice counts twice; a word's character n-grams are summed once per distinct word of the batch,
then added for each of its occurrences); its probabilities are their softmax; ``sentiment`` is the most probable
class and ``score`` is P(positive) - P(negative), in [-1, 1]. A text whose language is unknown
(or neither French nor English) gets the mean of both languages' probabilities, and a null
``language``. A text bearing a sarcasm marker (:mod:`cmflow.builtin.sentiment.sarcasm`) is
labelled negative by ``classify``, its positive probability counted as negative.
"""

from __future__ import annotations

import functools
import gzip
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import orjson
import polars as pl

from cmflow import DataFileError
from cmflow.builtin.sentiment.language import LANGUAGES, detect_language
from cmflow.builtin.sentiment.sarcasm import sarcasm_marked
from cmflow.builtin.sentiment.text_features import features_and_words, tokens_and_flags, word_char_grams

__all__ = ["SentimentModel", "detect_language", "MODEL_FORMAT", "CLASSES"]

MODEL_FORMAT = "cmflow-sentiment/1"
CLASSES = ("negative", "neutral", "positive")
BUILTIN_MODEL_FILE = "sentiment-model.json.gz"
"""The shipped model, package data of ``cmflow.builtin.sentiment``."""

_WEIGHTS = [f"w_{name}" for name in CLASSES]
_OUTPUT_SCHEMA = {"sentiment": pl.Utf8, "score": pl.Float64, "language": pl.Utf8}


@dataclass(frozen=True, eq=False)
class SentimentModel:
    """A trained sentiment model for French and English: ``classify`` labels texts."""

    weights: pl.DataFrame
    """One row per (language, feature): ``language``, ``feature``, ``w_negative``,
    ``w_neutral``, ``w_positive`` (Float64)."""
    intercepts: dict[str, tuple[float, float, float]]
    """Per language, the intercept of each class, in :data:`CLASSES` order."""
    training: dict[str, Any] = field(default_factory=dict)
    """What the training script recorded: data sources, sizes, hyper-parameters, scores."""

    @classmethod
    @functools.cache
    def builtin(cls) -> SentimentModel:
        """The model shipped with cmflow, read once per process (no network)."""
        resource = resources.files("cmflow.builtin.sentiment") / BUILTIN_MODEL_FILE
        with resources.as_file(resource) as path:
            return cls.from_path(path)

    @classmethod
    def from_path(cls, path: Path) -> SentimentModel:
        """The model in ``path``, a file written by ``tools/train_sentiment.py``. Raises
        :class:`cmflow.DataFileError` naming the file when it is missing or not such a model."""
        path = Path(path)
        try:
            document = orjson.loads(gzip.decompress(path.read_bytes()))  # 3x faster than json
        except FileNotFoundError:
            raise DataFileError(f"{path}: no such sentiment model file (write one with tools/train_sentiment.py)") from None
        except (OSError, EOFError, orjson.JSONDecodeError) as error:
            raise DataFileError(
                f"{path}: not a sentiment model file ({error}); write one with tools/train_sentiment.py"
            ) from None
        return cls.from_document(document, source=str(path))

    @classmethod
    def from_document(cls, document: Any, source: str = "<model>") -> SentimentModel:
        """The model a parsed model file holds (see the module docstring for its layout)."""
        if not isinstance(document, dict) or document.get("format") != MODEL_FORMAT:
            found = document.get("format") if isinstance(document, dict) else type(document).__name__
            raise DataFileError(
                f"{source}: format is {found!r}, expected {MODEL_FORMAT!r} (write the model with tools/train_sentiment.py)"
            )
        if tuple(document.get("classes", ())) != CLASSES:
            raise DataFileError(f"{source}: classes must be {list(CLASSES)}, found {document.get('classes')!r}")
        languages = document.get("languages")
        if not isinstance(languages, dict) or set(languages) != set(LANGUAGES):
            found = sorted(languages) if isinstance(languages, dict) else languages
            raise DataFileError(f"{source}: languages must be {list(LANGUAGES)}, found {found!r}")
        frames, intercepts = [], {}
        for language in LANGUAGES:
            part = languages[language]
            try:
                intercept = tuple(float(value) for value in part["intercept"])
                columns = {"feature": pl.Series(part["features"], dtype=pl.Utf8)}
                for name, values in zip(_WEIGHTS, part["weights"], strict=True):
                    columns[name] = pl.Series(values, dtype=pl.Float64)
                frame = pl.DataFrame(columns)
            except (KeyError, TypeError, ValueError, pl.exceptions.PolarsError) as error:
                raise DataFileError(f"{source}: languages.{language} is malformed ({error})") from None
            if len(intercept) != len(CLASSES):
                raise DataFileError(f"{source}: languages.{language}.intercept needs {len(CLASSES)} numbers")
            intercepts[language] = intercept
            frames.append(frame.with_columns(language=pl.lit(language)))
        weights = pl.concat(frames).select("language", "feature", *_WEIGHTS)
        return cls(weights=weights, intercepts=intercepts, training=document.get("training", {}))

    @functools.cached_property
    def _tables(self) -> dict[str, pl.DataFrame]:
        """Each language's weights: ``feature`` and the three class weights."""
        return {
            language: self.weights.filter(pl.col("language") == language).drop("language")
            for language in LANGUAGES
        }

    def to_document(self) -> dict[str, Any]:
        """The model as a model file's JSON document (``from_document``'s inverse)."""
        languages = {}
        for language in LANGUAGES:
            table = self._tables[language]
            languages[language] = {
                "intercept": list(self.intercepts[language]),
                "features": table["feature"].to_list(),
                "weights": [table[name].to_list() for name in _WEIGHTS],
            }
        return {"format": MODEL_FORMAT, "classes": list(CLASSES), "languages": languages, "training": self.training}

    def save(self, path: Path, compresslevel: int = 9) -> None:
        """Write the model to ``path`` as a model file (gzip-compressed JSON). The bundled file
        is written at the smallest size (level 9: about 7 s for the built-in model); a quicker
        ``compresslevel`` (1: 0.2 s, a file a quarter larger) reads back the same."""
        payload = json.dumps(self.to_document(), ensure_ascii=False, separators=(",", ":"))
        # no time stamp and no file name in the gzip header: the same model, the same bytes
        Path(path).write_bytes(gzip.compress(payload.encode("utf-8"), compresslevel=compresslevel, mtime=0))

    def probabilities(
        self,
        texts: Sequence[str | None],
        languages: Sequence[str | None],
        tokenised: tuple[pl.DataFrame, pl.DataFrame] | None = None,
    ) -> pl.DataFrame:
        """One row per text: ``p_negative``, ``p_neutral``, ``p_positive`` under the model of the
        given language ("fr" or "en"; None: the mean of both). Null for a null or empty text.
        ``tokenised``: the texts' ``tokens_and_flags``, if already computed."""
        count = len(texts)
        chosen = pl.DataFrame({"language": pl.Series(languages, dtype=pl.Utf8)}).with_row_index("row")
        features, words = features_and_words(texts, tokenised)
        grams = word_char_grams(words["token"].unique())
        per_language = []
        for language in LANGUAGES:
            # only the texts of this language, and those of no known language, are scored by it
            rows = chosen.filter(pl.col("language").eq(language) | pl.col("language").is_null()).select("row")
            table = self._tables[language]
            per_word = grams.join(table, on="feature", how="inner").group_by("word").agg(pl.col(_WEIGHTS).sum())
            sums = (
                pl.concat(
                    [
                        features.join(rows, on="row", how="semi")
                        .join(table, on="feature", how="inner")
                        .select("row", *_WEIGHTS),
                        words.join(rows, on="row", how="semi")
                        .join(per_word, left_on="token", right_on="word", how="inner")
                        .select("row", *_WEIGHTS),
                    ]
                )
                .group_by("row")
                .agg(pl.col(_WEIGHTS).sum())
            )
            logits = (
                pl.DataFrame({"row": pl.int_range(count, eager=True, dtype=pl.UInt32)})
                .join(sums, on="row", how="left")
                .select(
                    (pl.col(w).fill_null(0.0) + bias).alias(w)
                    for w, bias in zip(_WEIGHTS, self.intercepts[language], strict=True)
                )
            )
            top = pl.max_horizontal(_WEIGHTS)
            exps = logits.select((pl.col(w) - top).exp() for w in _WEIGHTS)
            total = pl.sum_horizontal(_WEIGHTS)
            per_language.append(exps.select((pl.col(w) / total).alias(f"p_{w[2:]}") for w in _WEIGHTS))
        fr, en = per_language
        has_text = pl.Series("has_text", texts, dtype=pl.Utf8).str.strip_chars().str.len_chars().fill_null(0) > 0
        return chosen.with_columns(has_text=has_text).select(
            pl.when(~pl.col("has_text"))
            .then(None)
            .when(pl.col("language") == "fr")
            .then(fr[name])
            .when(pl.col("language") == "en")
            .then(en[name])
            .otherwise((fr[name] + en[name]) / 2)
            .alias(name)
            for name in (f"p_{c}" for c in CLASSES)
        )

    def classify(self, texts: Sequence[str | None], languages: Sequence[str | None] | None = None,
                 sarcasm: bool = True) -> pl.DataFrame:
        """One row per text, in order: ``sentiment`` ("negative", "neutral" or "positive"; null
        for a null or empty text), ``score`` (Float64 in [-1, 1], P(positive) - P(negative)) and
        ``language`` ("fr", "en", or null when unknown, another language, or no text). ``languages`` gives
        each text's language ("fr", "en", or None to detect it); by default all are detected.
        ``sarcasm``: apply the sarcasm markers' rule (:mod:`cmflow.builtin.sentiment.sarcasm`);
        False gives the model's labels alone."""
        texts = list(texts)
        tokenised = tokens_and_flags(texts)  # once, for the language and for the features
        if languages is None:
            languages = detect_language(texts, tokenised[0])
        else:
            languages = list(languages)
            if len(languages) != len(texts):
                raise ValueError(f"{len(languages)} languages for {len(texts)} texts: give one per text")
            unknown = sorted({str(code) for code in languages if code is not None and code not in LANGUAGES})
            if unknown:
                raise ValueError(
                    f"unknown language code(s) {', '.join(map(repr, unknown))}: use "
                    f"{' or '.join(map(repr, LANGUAGES))}, or None to detect the language"
                )
            if any(code is None for code in languages):
                detected = detect_language(texts, tokenised[0])
                languages = [code if code is not None else found for code, found in zip(languages, detected, strict=True)]
        if not texts:
            return pl.DataFrame(schema=_OUTPUT_SCHEMA)
        probabilities = self.probabilities(texts, languages, tokenised)
        p = [pl.col(f"p_{c}") for c in CLASSES]
        # A text bearing a sarcasm marker (cmflow.builtin.sentiment.sarcasm) is negative: its
        # positive words are the irony, so their probability counts as negative.
        sarcastic = pl.lit(sarcasm_marked(texts) if sarcasm else pl.repeat(False, len(texts), eager=True))
        probabilities = probabilities.with_columns(
            pl.when(sarcastic).then(p[0] + p[2]).otherwise(p[0]).alias("p_negative"),
            pl.when(sarcastic).then(0.0).otherwise(p[2]).alias("p_positive"),
        )
        best = pl.max_horizontal(p)
        return probabilities.select(
            sentiment=pl.when(p[1].is_null())
            .then(None)
            .when(sarcastic)
            .then(pl.lit(CLASSES[0]))
            .when(p[1] == best)  # a tie goes to neutral
            .then(pl.lit(CLASSES[1]))
            .when(p[0] == best)
            .then(pl.lit(CLASSES[0]))
            .when(p[2] == best)
            .then(pl.lit(CLASSES[2])),
            score=(p[2] - p[0]).clip(-1.0, 1.0),
            language=pl.when(p[1].is_not_null()).then(pl.Series("language", languages, dtype=pl.Utf8)),
        ).cast(_OUTPUT_SCHEMA)
